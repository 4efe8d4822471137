/* ims-xmpp-stanza: presence (show, priority, status, XEP-0319 and XEP-0256
 * idle), roster items and XEP-0199 pings, read from libpurple's xmlnode.
 */
#define G_LOG_DOMAIN "ims-xmpp"

#include "ims-xmpp-stanza.h"

#include <string.h>

static gboolean
ims_xmpp_part_valid (const char *p, gsize len)
{
  if (len > IMS_XMPP_MAX_JID_PART || !g_utf8_validate (p, len, NULL))
    return FALSE;
  for (const char *q = p; q < p + len; q = g_utf8_next_char (q))
    {
      gunichar c = g_utf8_get_char (q);
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029)
        return FALSE;
    }
  return TRUE;
}

gboolean
ims_xmpp_jid_valid (const char *jid)
{
  if (jid == NULL || *jid == '\0')
    return FALSE;
  const char *slash = strchr (jid, '/');
  const char *end = slash ? slash : jid + strlen (jid);
  const char *at = memchr (jid, '@', end - jid);
  const char *domain = at ? at + 1 : jid;
  if ((at && (at == jid || !ims_xmpp_part_valid (jid, at - jid))) || end == domain
      || !ims_xmpp_part_valid (domain, end - domain))
    return FALSE;
  return slash == NULL || (slash[1] != '\0' && ims_xmpp_part_valid (slash + 1, strlen (slash + 1)));
}

char *
ims_xmpp_bare (const char *jid)
{
  const char *slash = strchr (jid, '/');
  g_autofree char *bare = slash ? g_strndup (jid, slash - jid) : g_strdup (jid);
  return g_utf8_strdown (bare, -1);
}

static ImsShow
ims_xmpp_parse_show (const char *show)
{
  static const struct { const char *word; ImsShow show; } shows[] = {
    { "chat", IMS_SHOW_CHAT }, { "away", IMS_SHOW_AWAY }, { "xa", IMS_SHOW_XA },
    { "dnd", IMS_SHOW_DND },
  };
  for (gsize i = 0; show && i < G_N_ELEMENTS (shows); i++)
    if (g_str_equal (show, shows[i].word))
      return shows[i].show;
  return IMS_SHOW_AVAILABLE;
}

/* XEP-0319 <idle since=...>, else XEP-0256 <query xmlns='jabber:iq:last' seconds=.../>. */
static gint64
ims_xmpp_parse_idle (xmlnode *presence, gint64 now)
{
  xmlnode *idle = xmlnode_get_child_with_namespace (presence, "idle", "urn:xmpp:idle:1");
  if (idle)
    {
      const char *since = xmlnode_get_attrib (idle, "since");
      g_autoptr (GDateTime) dt = since ? g_date_time_new_from_iso8601 (since, NULL) : NULL;
      if (dt)
        return MAX (1, MIN (g_date_time_to_unix (dt), now));
    }
  xmlnode *last = xmlnode_get_child_with_namespace (presence, "query", "jabber:iq:last");
  if (last)
    {
      const char *secs = xmlnode_get_attrib (last, "seconds");
      guint64 n = 0;
      if (secs && g_ascii_string_to_unsigned (secs, 10, 1, G_MAXINT32, &n, NULL))
        return MAX (1, now - (gint64) n);
    }
  return 0;
}

static char *
ims_xmpp_child_text (xmlnode *node, const char *name)
{
  xmlnode *n = xmlnode_get_child (node, name);
  char *text = n ? xmlnode_get_data (n) : NULL;
  if (text && strlen (text) > IMS_XMPP_MAX_STATUS)
    text[IMS_XMPP_MAX_STATUS] = '\0';
  return text;
}

gboolean
ims_xmpp_parse_presence (xmlnode *node, gint64 now, ImsXmppPresence *out)
{
  memset (out, 0, sizeof *out);
  if (node == NULL || node->name == NULL || !g_str_equal (node->name, "presence"))
    return FALSE;
  const char *from = xmlnode_get_attrib (node, "from");
  if (from == NULL || *from == '\0')
    return FALSE;
  const char *type = xmlnode_get_attrib (node, "type");
  const char *slash = strchr (from, '/');
  out->bare = ims_xmpp_bare (from);
  out->resource = g_strdup (slash ? slash + 1 : "");
  if (type == NULL)
    out->kind = IMS_XMPP_PRESENCE_AVAILABLE;
  else if (g_str_equal (type, "unavailable") || g_str_equal (type, "error"))
    out->kind = IMS_XMPP_PRESENCE_GONE;
  else if (g_str_equal (type, "unsubscribed"))
    out->kind = IMS_XMPP_PRESENCE_UNSUBSCRIBED;
  else
    out->kind = IMS_XMPP_PRESENCE_OTHER;
  if (out->kind != IMS_XMPP_PRESENCE_AVAILABLE)
    return TRUE;

  g_autofree char *show = ims_xmpp_child_text (node, "show");
  g_autofree char *prio = ims_xmpp_child_text (node, "priority");
  if (show)
    g_strstrip (show);
  out->show = ims_xmpp_parse_show (show);
  out->word = g_strdup (ims_show_to_string (out->show));
  gint64 p = 0;
  if (prio && !g_ascii_string_to_signed (g_strstrip (prio), 10, -128, 127, &p, NULL))
    p = 0;
  out->priority = (int) p;
  out->status = ims_xmpp_child_text (node, "status");
  out->idle_since = ims_xmpp_parse_idle (node, now);
  return TRUE;
}

void
ims_xmpp_presence_clear (ImsXmppPresence *pr)
{
  g_clear_pointer (&pr->bare, g_free);
  g_clear_pointer (&pr->resource, g_free);
  g_clear_pointer (&pr->word, g_free);
  g_clear_pointer (&pr->status, g_free);
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
