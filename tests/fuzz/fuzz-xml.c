/* libFuzzer harness for ims-xml, the expat stream reader the XMPP component
 * reads its server with: any bytes, fed in pieces the input chooses, with
 * small limits.  Every stanza that comes out keeps within them, and reads
 * as a presence and as a privilege announcement without harm; once the
 * stream is broken it stays broken. */
#include "ims-xml.h"
#include "ims-xmpp-component.h"
#include "ims-xmpp-presence.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const ImsXmlLimits limits = { 2048, 6, 8, 64 };

static guint
check_tree (const ImsXmlNode *n, guint depth)
{
  g_assert (depth <= limits.max_depth);
  g_assert (g_strv_length (n->attrs) <= 2 * limits.max_attrs);
  g_assert (n->text->len <= limits.max_stanza);
  (void) ims_xml_attr (n, "from");
  (void) ims_xml_child (n, NULL, "show");
  guint count = 1;
  for (guint i = 0; n->children && i < n->children->len; i++)
    {
      ImsXmlNode *c = n->children->pdata[i];
      g_assert (c->parent == n);
      count += check_tree (c, depth + 1);
    }
  return count;
}

static void
on_open (gpointer data, const ImsXmlNode *root)
{
  (void) data;
  (void) ims_xml_attr (root, "id");
}

static void
on_stanza (gpointer data, ImsXmlNode *stanza)
{
  (void) data;
  g_assert (stanza->parent == NULL);
  g_assert (check_tree (stanza, 1) <= limits.max_elements);
  ImsXmppPresence pr;
  if (ims_xmpp_parse_presence (stanza, 1800000000, &pr))
    {
      g_assert (pr.bare != NULL && pr.resource != NULL);
      g_assert (pr.status == NULL || (strlen (pr.status) <= IMS_XMPP_MAX_STATUS
                                      && g_utf8_validate (pr.status, -1, NULL)));
      g_assert (pr.idle_since >= 0 && pr.idle_since <= 1800000000);
      ims_xmpp_presence_clear (&pr);
    }
  ImsXmppPrivileges pv;
  if (ims_xmpp_parse_privileges (stanza, "localhost", &pv))
    g_assert (pv.version == 1 || pv.version == 2);
  ims_xml_node_free (stanza);
}

static void
on_close (gpointer data)
{
  (void) data;
}

static const ImsXmlFuncs funcs = { on_open, on_stanza, on_close };

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  /* The first byte picks the piece size: 1..256 bytes. */
  gsize piece = (gsize) data[0] + 1;
  data++, size--;
  ImsXmlStream *x = ims_xml_stream_new (&limits, &funcs, NULL);
  gboolean broken = FALSE;
  for (gsize off = 0; off < size; off += piece)
    {
      GError *error = NULL;
      gboolean ok = ims_xml_stream_feed (x, (const char *) data + off, MIN (piece, size - off), &error);
      g_assert (ok == (error == NULL));
      g_assert (!(broken && ok));
      broken = !ok;
      g_clear_error (&error);
    }
  ims_xml_stream_free (x);
  return 0;
}
