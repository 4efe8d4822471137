/* ims-xml: see the header. */
#define G_LOG_DOMAIN "ims-xmpp"

#include "ims-xml.h"

#include <expat.h>
#include <string.h>

#define NS_SEP ' ' /* expat refuses it inside a namespace name (since 2.4.5) */

const ImsXmlLimits ims_xml_default_limits = { 65536, 16, 32, 1024 };

struct _ImsXmlStream {
  XML_Parser parser;
  ImsXmlLimits limits;
  ImsXmlFuncs funcs;
  gpointer user_data;
  guint depth;           /* 0 before the root, 1 inside it, 2+ inside a stanza */
  ImsXmlNode *stanza;    /* being built */
  ImsXmlNode *current;
  guint elements;        /* in this stanza */
  gint64 fed;            /* bytes fed so far */
  gint64 mark;           /* where the stanza (or the gap before it) began */
  GError *error;         /* a limit or a forbidden construct */
};

static void
ims_xml_split (const char *qname, char **ns, char **name)
{
  const char *sep = strchr (qname, NS_SEP);
  *ns = sep ? g_strndup (qname, sep - qname) : g_strdup ("");
  *name = g_strdup (sep ? sep + 1 : qname);
}

ImsXmlNode *
ims_xml_node_new (const char *ns, const char *name, const char *const *attrs)
{
  ImsXmlNode *n = g_new0 (ImsXmlNode, 1);
  n->ns = g_strdup (ns ? ns : "");
  n->name = g_strdup (name);
  n->attrs = g_strdupv ((char **) (attrs ? attrs : (const char *const[]) { NULL }));
  n->text = g_string_new (NULL);
  return n;
}

void
ims_xml_node_add (ImsXmlNode *parent, ImsXmlNode *child)
{
  if (parent->children == NULL)
    parent->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_xml_node_free);
  child->parent = parent;
  g_ptr_array_add (parent->children, child);
}

void
ims_xml_node_free (ImsXmlNode *node)
{
  if (node == NULL)
    return;
  g_free (node->ns);
  g_free (node->name);
  g_strfreev (node->attrs);
  if (node->children)
    g_ptr_array_unref (node->children);
  g_string_free (node->text, TRUE);
  g_free (node);
}

const char *
ims_xml_attr (const ImsXmlNode *node, const char *name)
{
  for (char **a = node->attrs; a && a[0] && a[1]; a += 2)
    if (g_str_equal (a[0], name))
      return a[1];
  return NULL;
}

ImsXmlNode *
ims_xml_child (const ImsXmlNode *node, const char *ns, const char *name)
{
  if (node->children == NULL)
    return NULL;
  for (guint i = 0; i < node->children->len; i++)
    {
      ImsXmlNode *c = node->children->pdata[i];
      if (g_str_equal (c->name, name) && g_str_equal (c->ns, ns ? ns : node->ns))
        return c;
    }
  return NULL;
}

const char *
ims_xml_text (const ImsXmlNode *node)
{
  return node->text->str;
}

/* ---- the parser ---- */

static void
ims_xml_stop (ImsXmlStream *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
ims_xml_stop (ImsXmlStream *self, const char *format, ...)
{
  if (self->error == NULL)
    {
      va_list ap;
      va_start (ap, format);
      g_autofree char *msg = g_strdup_vprintf (format, ap);
      va_end (ap);
      self->error = g_error_new_literal (G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, msg);
    }
  XML_StopParser (self->parser, XML_FALSE);
}

static gboolean
ims_xml_within_stanza_limit (ImsXmlStream *self)
{
  /* Where the event (a tag, a run of text) ends. */
  gint64 at = XML_GetCurrentByteIndex (self->parser) + XML_GetCurrentByteCount (self->parser);
  if (at - self->mark > (gint64) self->limits.max_stanza)
    {
      ims_xml_stop (self, "a stanza longer than %" G_GSIZE_FORMAT " bytes", self->limits.max_stanza);
      return FALSE;
    }
  return TRUE;
}

static void XMLCALL
on_xml_start (void *data, const XML_Char *qname, const XML_Char **atts)
{
  ImsXmlStream *self = data;
  if (self->error || !ims_xml_within_stanza_limit (self))
    return;
  guint n = 0;
  while (atts[2 * n])
    n++;
  if (n > self->limits.max_attrs)
    {
      ims_xml_stop (self, "an element with more than %u attributes", self->limits.max_attrs);
      return;
    }
  if (self->depth > self->limits.max_depth)
    {
      ims_xml_stop (self, "elements nested deeper than %u", self->limits.max_depth);
      return;
    }
  if (self->depth >= 1 && ++self->elements > self->limits.max_elements)
    {
      ims_xml_stop (self, "a stanza of more than %u elements", self->limits.max_elements);
      return;
    }
  g_autofree char *ns = NULL, *name = NULL;
  ims_xml_split (qname, &ns, &name);
  ImsXmlNode *node = ims_xml_node_new (ns, name, (const char *const *) atts);
  self->depth++;
  if (self->depth == 1)
    {
      self->mark = XML_GetCurrentByteIndex (self->parser) + XML_GetCurrentByteCount (self->parser);
      if (self->funcs.stream_open)
        self->funcs.stream_open (self->user_data, node);
      ims_xml_node_free (node);
      return;
    }
  if (self->depth == 2)
    {
      self->stanza = node;
      self->elements = 1;
    }
  else
    ims_xml_node_add (self->current, node);
  self->current = node;
}

static void XMLCALL
on_xml_end (void *data, const XML_Char *qname)
{
  ImsXmlStream *self = data;
  (void) qname;
  if (self->error || !ims_xml_within_stanza_limit (self))
    return;
  self->depth--;
  if (self->depth == 0)
    {
      if (self->funcs.stream_close)
        self->funcs.stream_close (self->user_data);
      return;
    }
  ImsXmlNode *done = self->current;
  self->current = done->parent;
  if (self->depth == 1)
    {
      self->stanza = NULL;
      self->current = NULL;
      self->mark = XML_GetCurrentByteIndex (self->parser) + XML_GetCurrentByteCount (self->parser);
      if (self->funcs.stanza)
        self->funcs.stanza (self->user_data, done);
      else
        ims_xml_node_free (done);
    }
}

static void XMLCALL
on_xml_text (void *data, const XML_Char *s, int len)
{
  ImsXmlStream *self = data;
  if (self->error || !ims_xml_within_stanza_limit (self))
    return;
  if (self->current) /* text between stanzas (whitespace) is dropped */
    g_string_append_len (self->current->text, s, len);
}

static void XMLCALL
on_xml_doctype (void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                int internal)
{
  (void) name, (void) sysid, (void) pubid, (void) internal;
  ims_xml_stop (data, "a document type declaration (XMPP forbids them)");
}

static void XMLCALL
on_xml_entity (void *data, const XML_Char *name, int is_param, const XML_Char *value, int len,
               const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
               const XML_Char *notation)
{
  (void) name, (void) is_param, (void) value, (void) len, (void) base, (void) sysid, (void) pubid,
      (void) notation;
  ims_xml_stop (data, "an entity declaration (XMPP forbids them)");
}

static void XMLCALL
on_xml_pi (void *data, const XML_Char *target, const XML_Char *pi)
{
  (void) target, (void) pi;
  ims_xml_stop (data, "a processing instruction (XMPP forbids them)");
}

static void XMLCALL
on_xml_comment (void *data, const XML_Char *text)
{
  (void) text;
  ims_xml_stop (data, "a comment (XMPP forbids them)");
}

ImsXmlStream *
ims_xml_stream_new (const ImsXmlLimits *limits, const ImsXmlFuncs *funcs, gpointer user_data)
{
  ImsXmlStream *self = g_new0 (ImsXmlStream, 1);
  self->parser = XML_ParserCreateNS ("UTF-8", NS_SEP);
  g_assert (self->parser != NULL);
  self->limits = limits ? *limits : ims_xml_default_limits;
  self->funcs = *funcs;
  self->user_data = user_data;
  XML_SetUserData (self->parser, self);
  XML_SetElementHandler (self->parser, on_xml_start, on_xml_end);
  XML_SetCharacterDataHandler (self->parser, on_xml_text);
  XML_SetStartDoctypeDeclHandler (self->parser, on_xml_doctype);
  XML_SetEntityDeclHandler (self->parser, on_xml_entity);
  XML_SetProcessingInstructionHandler (self->parser, on_xml_pi);
  XML_SetCommentHandler (self->parser, on_xml_comment);
  return self;
}

gboolean
ims_xml_stream_feed (ImsXmlStream *self, const char *data, gsize len, GError **error)
{
  if (self->error)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }
  while (len > 0)
    {
      /* In pieces expat's int can hold. */
      int n = (int) MIN (len, (gsize) (1 << 20));
      self->fed += n;
      enum XML_Status st = XML_Parse (self->parser, data, n, XML_FALSE);
      if (st == XML_STATUS_ERROR && self->error == NULL)
        self->error = g_error_new (G_MARKUP_ERROR, G_MARKUP_ERROR_PARSE,
                                   "not well-formed XML at line %lu, column %lu: %s",
                                   (unsigned long) XML_GetCurrentLineNumber (self->parser),
                                   (unsigned long) XML_GetCurrentColumnNumber (self->parser),
                                   XML_ErrorString (XML_GetErrorCode (self->parser)));
      /* What expat holds unparsed counts too: a start tag that never ends
       * is as long as a stanza that never does. */
      if (self->error == NULL && self->fed - self->mark > (gint64) self->limits.max_stanza)
        self->error = g_error_new (G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                                   "a stanza longer than %" G_GSIZE_FORMAT " bytes",
                                   self->limits.max_stanza);
      if (self->error)
        {
          ims_xml_node_free (self->stanza);
          self->stanza = self->current = NULL;
          g_propagate_error (error, g_error_copy (self->error));
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

void
ims_xml_stream_free (ImsXmlStream *self)
{
  if (self == NULL)
    return;
  XML_ParserFree (self->parser);
  ims_xml_node_free (self->stanza);
  g_clear_error (&self->error);
  g_free (self);
}
