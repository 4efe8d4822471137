/* ims-xml: an XMPP stream read with expat into one small tree per stanza.
 *
 * The stream's root element is reported once with its attributes; each
 * child of the root (a stanza) is built into an ImsXmlNode tree and handed
 * over whole; the end of the root ends the stream.  What XMPP forbids is an
 * error (a DTD, entity declarations, processing instructions, comments),
 * and so is every input past its limit: bytes in one stanza, depth,
 * attributes per element, elements per stanza.  The parser never holds more
 * than one stanza (and one chunk of input) in memory.
 *
 * Names are namespace-qualified by expat: an element's ns and name are
 * separate; attributes without a prefix (all XMPP needs) are found by their
 * plain name.  Pure: bytes in, trees out; fuzzed by tests/fuzz/fuzz-xmpp.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ImsXmlNode ImsXmlNode;

struct _ImsXmlNode {
  char *ns;             /* "" when none */
  char *name;
  char **attrs;         /* name, value, name, value, ..., NULL (prefixed ones as "ns name") */
  GPtrArray *children;  /* ImsXmlNode*, in order */
  GString *text;        /* the character data directly inside, concatenated */
  ImsXmlNode *parent;   /* NULL for a stanza */
};

typedef struct {
  gsize max_stanza;     /* bytes of one stanza (or of the stream header) */
  guint max_depth;      /* elements nested in a stanza, the stanza itself 1 */
  guint max_attrs;      /* attributes on one element */
  guint max_elements;   /* elements in one stanza */
} ImsXmlLimits;

/* 64 KiB, depth 16, 32 attributes, 1,024 elements. */
extern const ImsXmlLimits ims_xml_default_limits;

typedef struct {
  /* <stream:stream ...> (or any root): @root has its attributes, no
   * children.  Borrowed. */
  void (*stream_open) (gpointer user_data, const ImsXmlNode *root);
  /* One whole stanza (transfer full: free it with ims_xml_node_free). */
  void (*stanza) (gpointer user_data, ImsXmlNode *stanza);
  /* </stream:stream>. */
  void (*stream_close) (gpointer user_data);
} ImsXmlFuncs;

typedef struct _ImsXmlStream ImsXmlStream;

ImsXmlStream *ims_xml_stream_new (const ImsXmlLimits *limits, const ImsXmlFuncs *funcs,
                                  gpointer user_data);
/* Parses @len more bytes; the callbacks run from inside.  FALSE with @error
 * (G_MARKUP_ERROR_PARSE, or G_MARKUP_ERROR_INVALID_CONTENT for a limit or a
 * forbidden construct, the message saying which) when the stream is broken:
 * nothing more may be fed.  A callback may free the stream only through
 * ims_xml_stream_free after feeding returns. */
gboolean ims_xml_stream_feed (ImsXmlStream *self, const char *data, gsize len, GError **error);
void ims_xml_stream_free (ImsXmlStream *self);

void ims_xml_node_free (ImsXmlNode *node);

/* The value of attribute @name (unprefixed), NULL when absent. */
const char *ims_xml_attr (const ImsXmlNode *node, const char *name);
/* The first child named @name in namespace @ns; @ns NULL means the node's
 * own namespace (the stanza's children usually share it). */
ImsXmlNode *ims_xml_child (const ImsXmlNode *node, const char *ns, const char *name);
/* The character data directly inside (never NULL). */
const char *ims_xml_text (const ImsXmlNode *node);

/* A node with a copy of @ns, @name and @attrs (NULL-terminated pairs), no
 * children: for building trees from another parser's (libpurple's). */
ImsXmlNode *ims_xml_node_new (const char *ns, const char *name, const char *const *attrs);
/* Appends @child (transfer full) to @parent. */
void ims_xml_node_add (ImsXmlNode *parent, ImsXmlNode *child);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsXmlNode, ims_xml_node_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsXmlStream, ims_xml_stream_free)

G_END_DECLS
