/* ims-xmpp-stanza: presence (show, priority, status, XEP-0319 and XEP-0256
 * idle), roster items and XEP-0199 pings, read from libpurple's xmlnode.
 */
#define G_LOG_DOMAIN "ims-xmpp"

#include "ims-xmpp-stanza.h"

#include <string.h>

/* libpurple's tree as an ImsXmlNode tree, for the shared readers.  What
 * libpurple parsed is already bounded; depth is cut at 32 all the same. */
static ImsXmlNode *
ims_xmpp_node_convert (xmlnode *node, int depth)
{
  GPtrArray *attrs = g_ptr_array_new ();
  for (xmlnode *c = node->child; c; c = c->next)
    if (c->type == XMLNODE_TYPE_ATTRIB && c->name)
      {
        g_ptr_array_add (attrs, c->name);
        g_ptr_array_add (attrs, c->data ? c->data : "");
      }
  g_ptr_array_add (attrs, NULL);
  ImsXmlNode *x = ims_xml_node_new (xmlnode_get_namespace (node), node->name ? node->name : "",
                                    (const char *const *) attrs->pdata);
  g_ptr_array_free (attrs, TRUE);
  for (xmlnode *c = node->child; c; c = c->next)
    if (c->type == XMLNODE_TYPE_TAG && depth < 32)
      ims_xml_node_add (x, ims_xmpp_node_convert (c, depth + 1));
    else if (c->type == XMLNODE_TYPE_DATA && c->data)
      g_string_append_len (x->text, c->data, c->data_sz);
  return x;
}

ImsXmlNode *
ims_xmpp_node_from_purple (xmlnode *node)
{
  return node ? ims_xmpp_node_convert (node, 1) : NULL;
}

/* RFC 6121 2.1.2.5: "to"/"both" means we see their presence. */
static ImsSubscription
ims_xmpp_roster_sub (const char *subscription, const char *ask)
{
  if (g_strcmp0 (subscription, "to") == 0 || g_strcmp0 (subscription, "both") == 0)
    return IMS_SUB_BOTH;
  if (g_strcmp0 (subscription, "remove") != 0 && g_strcmp0 (ask, "subscribe") == 0)
    return IMS_SUB_PENDING;
  return IMS_SUB_NONE;
}

GHashTable *
ims_xmpp_parse_roster (xmlnode *query)
{
  GHashTable *items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (xmlnode *item = query ? xmlnode_get_child (query, "item") : NULL; item;
       item = xmlnode_get_next_twin (item))
    {
      const char *jid = xmlnode_get_attrib (item, "jid");
      if (jid == NULL || *jid == '\0')
        continue;
      ImsSubscription sub = ims_xmpp_roster_sub (xmlnode_get_attrib (item, "subscription"),
                                                 xmlnode_get_attrib (item, "ask"));
      g_hash_table_insert (items, ims_xmpp_bare (jid), GINT_TO_POINTER (sub));
    }
  return items;
}

/* @from is absent, or names exactly @who (a bare JID or a domain). */
static gboolean
ims_xmpp_from_is (xmlnode *node, const char *who)
{
  const char *from = xmlnode_get_attrib (node, "from");
  if (from == NULL)
    return TRUE;
  if (who == NULL)
    return FALSE;
  g_autofree char *a = g_utf8_strdown (from, -1);
  g_autofree char *b = g_utf8_strdown (who, -1);
  return g_str_equal (a, b);
}

xmlnode *
ims_xmpp_roster_query (xmlnode *node, const char *own, gboolean *full)
{
  if (node == NULL || node->name == NULL || !g_str_equal (node->name, "iq"))
    return NULL;
  if (!ims_xmpp_from_is (node, own))
    return NULL;
  const char *type = xmlnode_get_attrib (node, "type");
  *full = g_strcmp0 (type, "result") == 0;
  if (!*full && g_strcmp0 (type, "set") != 0)
    return NULL;
  return xmlnode_get_child_with_namespace (node, "query", "jabber:iq:roster");
}

char *
ims_xmpp_ping (const char *id, const char *server)
{
  g_autofree char *to = g_markup_escape_text (server, -1);
  return g_strdup_printf ("<iq type='get' id='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>", id,
                          to);
}

gboolean
ims_xmpp_is_ping_answer (xmlnode *node, const char *id, const char *server)
{
  return id && node && node->name && g_str_equal (node->name, "iq")
         && g_strcmp0 (xmlnode_get_attrib (node, "id"), id) == 0
         && ims_xmpp_from_is (node, server);
}

char *
ims_xmpp_presence_to (const char *to, const char *type)
{
  g_autofree char *t = g_markup_escape_text (to, -1);
  return g_strdup_printf ("<presence to='%s' type='%s'/>", t, type);
}
