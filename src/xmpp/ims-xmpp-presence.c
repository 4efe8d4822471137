/* ims-xmpp-presence: see the header. */
#define G_LOG_DOMAIN "ims-xmpp"

#include "ims-xmpp-presence.h"

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

gboolean
ims_xmpp_in_domain (const char *jid, const char *domain)
{
  const char *at = jid ? strrchr (jid, '@') : NULL;
  return at && at != jid && domain && g_ascii_strcasecmp (at + 1, domain) == 0;
}

char *
ims_xmpp_escape_text (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text ? text : "", -1);
  for (char *q = valid; *q; q++)
    if ((guchar) *q < 0x20 && *q != '\t' && *q != '\n' && *q != '\r')
      *q = ' ';
  return g_markup_escape_text (valid, -1);
}

ImsResourcePresence
ims_xmpp_presence_resource (const ImsXmppPresence *pr)
{
  return (ImsResourcePresence){
    .show = pr->show,
    .word = pr->word,
    .priority = pr->priority,
    .text = pr->status,
    .idle_since = pr->idle_since,
  };
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
ims_xmpp_parse_idle (const ImsXmlNode *presence, gint64 now)
{
  ImsXmlNode *idle = ims_xml_child (presence, "urn:xmpp:idle:1", "idle");
  if (idle)
    {
      const char *since = ims_xml_attr (idle, "since");
      g_autoptr (GDateTime) dt = since ? g_date_time_new_from_iso8601 (since, NULL) : NULL;
      if (dt)
        return MAX (1, MIN (g_date_time_to_unix (dt), now));
    }
  ImsXmlNode *last = ims_xml_child (presence, "jabber:iq:last", "query");
  if (last)
    {
      const char *secs = ims_xml_attr (last, "seconds");
      guint64 n = 0;
      if (secs && g_ascii_string_to_unsigned (secs, 10, 1, G_MAXINT32, &n, NULL))
        return MAX (1, now - (gint64) n);
    }
  return 0;
}

/* The text of child @name in the stanza's namespace, at most
 * IMS_XMPP_MAX_STATUS bytes cut at a character boundary; NULL when absent
 * or empty. */
static char *
ims_xmpp_child_text (const ImsXmlNode *node, const char *name)
{
  ImsXmlNode *n = ims_xml_child (node, NULL, name);
  const char *text = n ? ims_xml_text (n) : NULL;
  if (text == NULL || *text == '\0')
    return NULL;
  gsize len = strlen (text);
  if (len > IMS_XMPP_MAX_STATUS)
    len = g_utf8_find_prev_char (text, text + IMS_XMPP_MAX_STATUS + 1) - text;
  return g_strndup (text, len);
}

gboolean
ims_xmpp_parse_presence (const ImsXmlNode *node, gint64 now, ImsXmppPresence *out)
{
  memset (out, 0, sizeof *out);
  if (node == NULL || !g_str_equal (node->name, "presence"))
    return FALSE;
  const char *from = ims_xml_attr (node, "from");
  if (from == NULL || *from == '\0')
    return FALSE;
  const char *type = ims_xml_attr (node, "type");
  out->type = g_strdup (type);
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
  g_clear_pointer (&pr->type, g_free);
  g_clear_pointer (&pr->word, g_free);
  g_clear_pointer (&pr->status, g_free);
}
