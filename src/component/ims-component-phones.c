/* ims-component-phones: publish = <context>.  Every hint of the context is
 * a contact <exten>@<component>; users of the domain (and the components
 * named in remote) who subscribe are approved at once and hear the phone's
 * state, anyone else is denied; who watches which phone is kept in the
 * daemon's statedir across restarts.
 */
#define G_LOG_DOMAIN "ims-component"

#include "ims-component-private.h"

#include <string.h>

#include "ims-xmpp-presence.h"

typedef struct {
  char *state;    /* Asterisk's StatusText */
  char *presence; /* the hint's presence state, NULL: none */
  char *message;
  gboolean dnd;   /* her person's do not disturb */
} Phone;

static void
ims_phone_free (Phone *ph)
{
  g_free (ph->state);
  g_free (ph->presence);
  g_free (ph->message);
  g_free (ph);
}

static char *ims_component_statedir;

void
ims_component_phones_set_statedir (const char *statedir)
{
  g_free (ims_component_statedir);
  ims_component_statedir = g_strdup (statedir);
}

gboolean
ims_component_phone_show (const ImsPhoneState *ps, const char **show, char **status)
{
  const char *state = ps ? ps->state : NULL;
  *show = NULL;
  *status = NULL;
  if (state == NULL || g_ascii_strcasecmp (state, "Unavailable") == 0
      || g_ascii_strcasecmp (state, "Unknown") == 0 || g_ascii_strcasecmp (state, "Removed") == 0
      || g_ascii_strcasecmp (state, "Deactivated") == 0)
    return FALSE;
  const char *message = ps->message && *ps->message ? ps->message : NULL;
  if (g_ascii_strcasecmp (state, "Idle") != 0)
    {
      /* The phone first: whatever the presence says, she is on it. */
      const char *words = strstr (state, "Hold") ? "on hold"
                          : g_ascii_strcasecmp (state, "Ringing") == 0 ? "ringing"
                                                                        : "on the phone";
      *show = "dnd";
      *status = message ? g_strdup_printf ("%s (%s)", words, message) : g_strdup (words);
      return TRUE;
    }
  /* Idle: her do not disturb first, then the hint's presence state
   * (CustomPresence). */
  if (ps->dnd)
    {
      *show = "dnd";
      *status = message ? g_strdup_printf ("do not disturb (%s)", message)
                        : g_strdup ("do not disturb");
      return TRUE;
    }
  static const struct { const char *presence, *show; } shows[] = {
    { "away", "away" }, { "xa", "xa" }, { "unavailable", "xa" }, { "chat", "chat" },
    { "dnd", "dnd" },
  };
  for (gsize i = 0; ps->presence && i < G_N_ELEMENTS (shows); i++)
    if (g_ascii_strcasecmp (ps->presence, shows[i].presence) == 0)
      *show = shows[i].show;
  *status = g_strdup (message);
  return TRUE;
}

static char *
ims_component_phone_presence (ImsCompPeer *c, const char *exten, const char *to)
{
  Phone *ph = c->phones ? g_hash_table_lookup (c->phones, exten) : NULL;
  ImsPhoneState ps = { ph ? ph->state : NULL, ph ? ph->presence : NULL, ph ? ph->message : NULL,
                       ph && ph->dnd };
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (to, -1);
  g_autofree char *e = g_markup_escape_text (exten, -1);
  const char *show;
  g_autofree char *status = NULL;
  if (!ims_component_phone_show (&ps, &show, &status))
    return g_strdup_printf ("<presence type='unavailable' from='%s@%s' to='%s'/>", e, me, t);
  GString *x = g_string_new (NULL);
  g_string_append_printf (x, "<presence from='%s@%s' to='%s'>", e, me, t);
  if (show)
    g_string_append_printf (x, "<show>%s</show>", show);
  if (status)
    {
      g_autofree char *s = ims_xmpp_escape_text (status);
      g_string_append_printf (x, "<status>%s</status>", s);
    }
  g_string_append (x, "</presence>");
  return g_string_free (x, FALSE);
}

/* ---- who watches which phone ---- */

/* The watchers, one "exten<TAB>jid" line each, in statedir: a user who
 * subscribed sees the phones again after a restart without asking again. */
static char *
ims_component_watchers_path (ImsCompPeer *c)
{
  if (ims_component_statedir == NULL)
    return NULL;
  g_autofree char *safe = g_uri_escape_string (c->base.name, NULL, FALSE);
  g_autofree char *name = g_strdup_printf ("component-%s.watchers", safe);
  return g_build_filename (ims_component_statedir, name, NULL);
}

static void
ims_component_save_watchers (ImsCompPeer *c)
{
  g_autofree char *path = ims_component_watchers_path (c);
  if (path == NULL || c->watchers == NULL)
    return;
  g_autoptr (GString) out = g_string_new (NULL);
  GHashTableIter it, jt;
  gpointer exten, set, jid;
  g_hash_table_iter_init (&it, c->watchers);
  while (g_hash_table_iter_next (&it, &exten, &set))
    {
      g_hash_table_iter_init (&jt, set);
      while (g_hash_table_iter_next (&jt, &jid, NULL))
        g_string_append_printf (out, "%s\t%s\n", (char *) exten, (char *) jid);
    }
  g_autoptr (GError) err = NULL;
  if (!g_file_set_contents_full (path, out->str, out->len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &err))
    g_warning ("%s: cannot keep the phones' watchers: %s", c->base.name, err->message);
}

static GHashTable *
ims_component_jid_set (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
ims_component_phone_tables (ImsCompPeer *c)
{
  if (c->phones)
    return;
  c->phones = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) ims_phone_free);
  c->watchers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_hash_table_unref);
}

/* @jid watches @exten from now on, within the limits; TRUE when that is new. */
static gboolean
ims_component_watch (ImsCompPeer *c, const char *exten, const char *jid)
{
  GHashTable *w = g_hash_table_lookup (c->watchers, exten);
  if (w == NULL)
    {
      if (g_hash_table_size (c->watchers) >= IMS_COMP_MAX_PHONES)
        return FALSE;
      w = ims_component_jid_set ();
      g_hash_table_insert (c->watchers, g_strdup (exten), w);
    }
  if (g_hash_table_contains (w, jid) || g_hash_table_size (w) >= IMS_COMP_MAX_WATCHERS_PER_PHONE)
    return FALSE;
  g_hash_table_add (w, g_strdup (jid));
  return TRUE;
}

static void
ims_component_load_watchers (ImsCompPeer *c)
{
  g_autofree char *path = ims_component_watchers_path (c);
  g_autofree char *text = NULL;
  ims_component_phone_tables (c);
  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *tab = strchr (*l, '\t');
      if (tab == NULL)
        continue;
      *tab = '\0';
      const char *exten = *l, *jid = tab + 1;
      if (*exten != '\0' && strlen (exten) <= 32 && ims_xmpp_jid_valid (jid))
        ims_component_watch (c, exten, jid);
    }
}

static void
ims_component_tell_watchers (ImsCompPeer *c, const char *exten)
{
  GHashTable *w = c->watchers ? g_hash_table_lookup (c->watchers, exten) : NULL;
  if (w == NULL || c->stage != STAGE_ONLINE)
    return;
  GHashTableIter it;
  gpointer jid;
  g_hash_table_iter_init (&it, w);
  while (g_hash_table_iter_next (&it, &jid, NULL))
    {
      g_autofree char *x = ims_component_phone_presence (c, exten, jid);
      ims_component_send (c, x);
    }
}

void
ims_component_phones_online (ImsCompPeer *c)
{
  if (c->watchers == NULL)
    ims_component_load_watchers (c);
  GHashTableIter it;
  gpointer exten;
  g_hash_table_iter_init (&it, c->watchers);
  while (g_hash_table_iter_next (&it, &exten, NULL))
    ims_component_tell_watchers (c, exten);
}

static void
ims_component_approve (ImsCompPeer *c, const char *exten, const char *bare)
{
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (bare, -1);
  g_autofree char *e = g_markup_escape_text (exten, -1);
  g_autofree char *yes = g_strdup_printf ("<presence type='subscribed' from='%s@%s' to='%s'/>", e,
                                          me, t);
  ims_component_send (c, yes);
}

void
ims_component_phone (ImsNativePeer *p, const char *exten, const ImsPhoneState *state)
{
  ImsCompPeer *c = (ImsCompPeer *) p;
  if (c->watchers == NULL)
    ims_component_load_watchers (c);
  Phone *old = g_hash_table_lookup (c->phones, exten);
  if (old && g_strcmp0 (old->state, state->state) == 0
      && g_strcmp0 (old->presence, state->presence) == 0
      && g_strcmp0 (old->message, state->message) == 0 && old->dnd == state->dnd)
    return;
  if (old == NULL && g_hash_table_size (c->phones) >= IMS_COMP_MAX_PHONES)
    return;
  gboolean is_new = old == NULL;
  Phone *ph = g_new0 (Phone, 1);
  ph->state = g_strdup (state->state);
  ph->presence = g_strdup (state->presence);
  ph->message = g_strdup (state->message);
  ph->dnd = state->dnd;
  g_hash_table_insert (c->phones, g_strdup (exten), ph);
  /* Asked for before Asterisk listed it (both come at login): approved now. */
  GHashTable *waiting = c->waiting ? g_hash_table_lookup (c->waiting, exten) : NULL;
  if (waiting)
    {
      GHashTableIter it;
      gpointer jid;
      g_hash_table_iter_init (&it, waiting);
      while (g_hash_table_iter_next (&it, &jid, NULL))
        {
          if (is_new && c->stage == STAGE_ONLINE)
            ims_component_approve (c, exten, jid);
          ims_component_watch (c, exten, jid);
        }
      g_hash_table_remove (c->waiting, exten);
      ims_component_save_watchers (c);
    }
  ims_component_tell_watchers (c, exten);
}

void
ims_component_phone_items (ImsCompPeer *c, GString *out)
{
  if (c->phones == NULL)
    return;
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  GHashTableIter it;
  gpointer exten;
  g_hash_table_iter_init (&it, c->phones);
  while (g_hash_table_iter_next (&it, &exten, NULL))
    {
      g_autofree char *e = g_markup_escape_text (exten, -1);
      g_string_append_printf (out, "<item jid='%s@%s' name='%s'/>", e, me, e);
    }
}

/* May @bare see our phones: a user of the domain, or a component we name in
 * remote (another PBX, which mirrors them)? */
static gboolean
ims_component_may_watch (ImsCompPeer *c, const char *bare)
{
  return ims_xmpp_in_domain (bare, c->base.acct->domain) || ims_component_is_remote (c, bare);
}

/* Holds a subscription that came before Asterisk listed any phone (AMI is
 * logging in, or down), to be answered when the phone appears. */
static void
ims_component_wait (ImsCompPeer *c, const char *exten, const char *bare)
{
  if (c->waiting == NULL)
    c->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_hash_table_unref);
  GHashTable *q = g_hash_table_lookup (c->waiting, exten);
  if (q == NULL && g_hash_table_size (c->waiting) < IMS_COMP_MAX_WAITING)
    {
      q = ims_component_jid_set ();
      g_hash_table_insert (c->waiting, g_strdup (exten), q);
    }
  if (q && g_hash_table_size (q) < IMS_COMP_MAX_WATCHERS_PER_PHONE)
    g_hash_table_add (q, g_strdup (bare));
}

gboolean
ims_component_phone_stanza (ImsCompPeer *c, const ImsXmlNode *stanza)
{
  const char *to = ims_xml_attr (stanza, "to");
  const char *from = ims_xml_attr (stanza, "from");
  const char *at = to ? strchr (to, '@') : NULL;
  if (at == NULL || g_ascii_strcasecmp (at + 1, c->jid) != 0)
    return FALSE; /* to the component itself, or not ours */
  if (from == NULL || !ims_xmpp_jid_valid (from))
    return TRUE;
  if (c->watchers == NULL)
    ims_component_load_watchers (c);
  g_autofree char *exten = g_ascii_strdown (to, at - to);
  g_autofree char *bare = ims_xmpp_bare (from);
  gboolean ours = ims_component_may_watch (c, bare);
  gboolean known = g_hash_table_contains (c->phones, exten);
  const char *type = ims_xml_attr (stanza, "type");
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (bare, -1);
  g_autofree char *e = g_markup_escape_text (exten, -1);
  if (g_strcmp0 (type, "subscribe") == 0 || g_strcmp0 (type, "probe") == 0)
    {
      if (ours && !known && g_hash_table_size (c->phones) == 0)
        {
          ims_component_wait (c, exten, bare);
          return TRUE;
        }
      if (!ours || !known)
        {
          if (g_strcmp0 (type, "subscribe") == 0)
            {
              ims_driver_log_stranger (c->base.driver, c->base.name,
                                       "subscription to a phone (denied)", bare);
              g_autofree char *no = g_strdup_printf (
                  "<presence type='unsubscribed' from='%s@%s' to='%s'/>", e, me, t);
              ims_component_send (c, no);
            }
          return TRUE;
        }
      if (ims_component_watch (c, exten, bare))
        ims_component_save_watchers (c);
      if (g_strcmp0 (type, "subscribe") == 0)
        ims_component_approve (c, exten, bare);
      g_autofree char *now = ims_component_phone_presence (c, exten, bare);
      ims_component_send (c, now);
    }
  else if (g_strcmp0 (type, "unsubscribe") == 0)
    {
      GHashTable *w = g_hash_table_lookup (c->watchers, exten);
      if (w && g_hash_table_remove (w, bare))
        ims_component_save_watchers (c);
      g_autofree char *bye = g_strdup_printf (
          "<presence type='unsubscribed' from='%s@%s' to='%s'/>", e, me, t);
      ims_component_send (c, bye);
    }
  return TRUE;
}

void
ims_component_phones_free (ImsCompPeer *c)
{
  g_clear_pointer (&c->phones, g_hash_table_unref);
  g_clear_pointer (&c->watchers, g_hash_table_unref);
  g_clear_pointer (&c->waiting, g_hash_table_unref);
}
