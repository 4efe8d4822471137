/* libFuzzer harness for what imstatusd reads from XMPP stanzas itself:
 * presence (show, priority, status, idle), roster items and ping answers. */
#include "ims-xmpp-stanza.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* libpurple registers every xmlnode for D-Bus; without its id tables (the
 * daemon gets them from purple_core_init) each node logs a CRITICAL.  From
 * libpurple's dbus-server.h, declared here: that header wants D-Bus's own. */
void purple_dbus_init_ids (void);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean ids;
  if (!ids)
    {
      purple_dbus_init_ids ();
      ids = TRUE;
    }
  if (size > 65536)
    return 0;
  g_autofree char *text = g_strndup ((const char *) data, size);
  xmlnode *node = xmlnode_from_str (text, -1);
  if (node == NULL)
    return 0;
  ImsXmppPresence pr;
  g_autoptr (ImsXmlNode) x = ims_xmpp_node_from_purple (node);
  if (ims_xmpp_parse_presence (x, 1800000000, &pr))
    {
      g_assert (pr.bare != NULL && pr.resource != NULL);
      g_assert (pr.kind != IMS_XMPP_PRESENCE_AVAILABLE || pr.word != NULL);
      g_assert (pr.status == NULL || strlen (pr.status) <= IMS_XMPP_MAX_STATUS);
      g_assert (pr.priority >= -128 && pr.priority <= 127);
      g_assert (pr.idle_since >= 0 && pr.idle_since <= 1800000000);
      ims_xmpp_presence_clear (&pr);
    }
  gboolean full;
  xmlnode *q = ims_xmpp_roster_query (node, "robot@example.org", &full);
  GHashTable *items = ims_xmpp_parse_roster (q);
  g_hash_table_unref (items);
  ims_xmpp_is_ping_answer (node, "imsping1", "example.org");
  const char *from = xmlnode_get_attrib (node, "from");
  if (from && ims_xmpp_jid_valid (from))
    {
      g_autofree char *bare = ims_xmpp_bare (from);
      g_assert (g_utf8_validate (bare, -1, NULL));
    }
  xmlnode_free (node);
  return 0;
}
