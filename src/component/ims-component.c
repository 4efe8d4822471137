/* ims-component: the XMPP component driver (XEP-0114, with XEP-0356
 * privileges).  A state machine on the main loop over src/xmpp: open the
 * stream, answer the handshake, wait for the server to say what the
 * component may see, then take the presence of the domain's users as
 * buddies (those the peer watches), with no roster item and no
 * subscription request anywhere.  IMs go out from the component's JID;
 * IMs to it from the domain's users go to the host (UserEvents, dialling).
 * Keepalives are XEP-0199 pings to the server.
 */
#define G_LOG_DOMAIN "ims-component"

#include "ims-component.h"

#include <string.h>

#include "ims-frame-conn.h"
#include "ims-native.h"
#include "ims-text.h"
#include "ims-xml.h"
#include "ims-xmpp-component.h"
#include "ims-xmpp-presence.h"

/* How long the server has, after the handshake, to say what we may see:
 * Prosody and ejabberd say it at once or never. */
#define PRIVILEGE_WAIT_S 3

typedef enum { STAGE_STREAM, STAGE_HANDSHAKE, STAGE_PRIVILEGE, STAGE_ONLINE } Stage;

typedef struct {
  ImsNativePeer base;
  ImsFrameConn *conn;
  ImsXmlStream *xml;
  Stage stage;
  char *jid;                 /* the component's own JID, lowercased */
  ImsXmppPrivileges priv;
  /* Does the server send every current presence after its announcement,
   * and the unavailable it sends for a client that drops?  Prosody's
   * mod_privilege (privilege:2) does; ejabberd 23.01's (privilege:1)
   * forwards only what users send, and answers no probe from us. */
  gboolean snapshot;
  guint privilege_id;
  guint ping_seq;
  char *ping_id;             /* the ping awaiting its answer */
  /* A failure found inside the XML reader's callbacks, acted on once the
   * reader has returned (failing frees the reader). */
  char *failure;
  gboolean failure_fatal;
  /* publish: the context's hints, exten -> Asterisk's state text, and who
   * of the domain watches each, exten -> set of bare JIDs. */
  GHashTable *phones;
  GHashTable *watchers;
  /* Subscriptions that came before Asterisk listed any phone: exten -> set
   * of bare JIDs, answered when the phone appears (at most MAX_WAITING). */
  GHashTable *waiting;
} CompPeer;

#define MAX_WAITING 1000

/* Where the phones' watchers are kept across restarts (the daemon's
 * statedir; one driver per daemon). */
static char *ims_component_statedir;

#define MAX_PHONES 10000
#define MAX_WATCHERS_PER_PHONE 1000

static void ims_component_fail (CompPeer *c, gboolean fatal, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
ims_component_fail (CompPeer *c, gboolean fatal, const char *format, ...)
{
  if (c->failure)
    return;
  va_list ap;
  va_start (ap, format);
  c->failure = g_strdup_vprintf (format, ap);
  va_end (ap);
  c->failure_fatal = fatal;
}

static void
ims_component_send (CompPeer *c, const char *xml)
{
  if (ims_native_debug (&c->base) >= 2)
    {
      g_autofree char *safe = ims_text_for_log (xml, 512);
      g_message ("%s: SEND %s", c->base.name, safe);
    }
  ims_frame_conn_send (c->conn, xml, strlen (xml));
}

static void
ims_component_disconnect (ImsNativePeer *p)
{
  CompPeer *c = (CompPeer *) p;
  g_clear_handle_id (&c->privilege_id, g_source_remove);
  g_clear_pointer (&c->conn, ims_frame_conn_free);
  g_clear_pointer (&c->xml, ims_xml_stream_free);
  g_clear_pointer (&c->ping_id, g_free);
  g_clear_pointer (&c->failure, g_free);
  c->stage = STAGE_STREAM;
  c->snapshot = FALSE;
  memset (&c->priv, 0, sizeof c->priv);
}

static void
ims_component_finalize (ImsNativePeer *p)
{
  CompPeer *c = (CompPeer *) p;
  g_free (c->jid);
  g_clear_pointer (&c->phones, g_hash_table_unref);
  g_clear_pointer (&c->watchers, g_hash_table_unref);
  g_clear_pointer (&c->waiting, g_hash_table_unref);
}

/* ---- phones: the publish context's hints as contacts <exten>@<component> ---- */

/* What a hint's state shows: idle is available; in use, ringing and on
 * hold are dnd with words; unavailable (or gone) is offline. */
static char *
ims_component_phone_presence (CompPeer *c, const char *exten, const char *to)
{
  const char *state = c->phones ? g_hash_table_lookup (c->phones, exten) : NULL;
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (to, -1);
  const char *show = NULL, *words = NULL;
  if (state == NULL || g_ascii_strcasecmp (state, "Unavailable") == 0
      || g_ascii_strcasecmp (state, "Unknown") == 0 || g_ascii_strcasecmp (state, "Removed") == 0)
    return g_strdup_printf ("<presence type='unavailable' from='%s@%s' to='%s'/>", exten, me, t);
  if (g_ascii_strcasecmp (state, "Idle") != 0)
    {
      show = "dnd";
      words = strstr (state, "Hold") ? "on hold"
              : g_ascii_strcasecmp (state, "Ringing") == 0 ? "ringing"
                                                            : "on the phone";
    }
  return show ? g_strdup_printf ("<presence from='%s@%s' to='%s'><show>%s</show><status>%s</status>"
                                 "</presence>", exten, me, t, show, words)
              : g_strdup_printf ("<presence from='%s@%s' to='%s'/>", exten, me, t);
}

/* The watchers, one "exten<TAB>jid" line each, in statedir: a user who
 * subscribed sees the phones again after a restart without asking again. */
static char *
ims_component_watchers_path (CompPeer *c)
{
  if (ims_component_statedir == NULL)
    return NULL;
  g_autofree char *safe = g_uri_escape_string (c->base.name, NULL, FALSE);
  g_autofree char *name = g_strdup_printf ("component-%s.watchers", safe);
  return g_build_filename (ims_component_statedir, name, NULL);
}

static void
ims_component_save_watchers (CompPeer *c)
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

static void
ims_component_phone_tables (CompPeer *c);

static void
ims_component_load_watchers (CompPeer *c)
{
  g_autofree char *path = ims_component_watchers_path (c);
  g_autofree char *text = NULL;
  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return;
  ims_component_phone_tables (c);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *tab = strchr (*l, '\t');
      if (tab == NULL)
        continue;
      *tab = '\0';
      const char *exten = *l, *jid = tab + 1;
      if (*exten == '\0' || strlen (exten) > 32 || !ims_xmpp_jid_valid (jid))
        continue;
      GHashTable *w = g_hash_table_lookup (c->watchers, exten);
      if (w == NULL)
        {
          if (g_hash_table_size (c->watchers) >= MAX_PHONES)
            continue;
          w = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (c->watchers, g_strdup (exten), w);
        }
      if (g_hash_table_size (w) < MAX_WATCHERS_PER_PHONE)
        g_hash_table_add (w, g_strdup (jid));
    }
}

static void
ims_component_tell_watchers (CompPeer *c, const char *exten)
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

static void
ims_component_phone_tables (CompPeer *c)
{
  if (c->phones)
    return;
  c->phones = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  c->watchers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_hash_table_unref);
}

static void
ims_component_approve (CompPeer *c, const char *exten, const char *bare)
{
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (bare, -1);
  g_autofree char *e = g_markup_escape_text (exten, -1);
  g_autofree char *yes = g_strdup_printf ("<presence type='subscribed' from='%s@%s' to='%s'/>", e,
                                          me, t);
  ims_component_send (c, yes);
}

static void
ims_component_phone (ImsNativePeer *p, const char *exten, const char *state)
{
  CompPeer *c = (CompPeer *) p;
  ims_component_phone_tables (c);
  const char *old = g_hash_table_lookup (c->phones, exten);
  if (g_strcmp0 (old, state) == 0)
    return;
  if (old == NULL && g_hash_table_size (c->phones) >= MAX_PHONES)
    return;
  g_hash_table_insert (c->phones, g_strdup (exten), g_strdup (state));
  /* Asked for before Asterisk listed it (both come at login): approved now. */
  GHashTable *waiting = c->waiting ? g_hash_table_lookup (c->waiting, exten) : NULL;
  if (old == NULL && waiting && c->stage == STAGE_ONLINE)
    {
      GHashTableIter it;
      gpointer jid;
      g_hash_table_iter_init (&it, waiting);
      while (g_hash_table_iter_next (&it, &jid, NULL))
        ims_component_approve (c, exten, jid);
    }
  if (waiting)
    {
      GHashTable *w = g_hash_table_lookup (c->watchers, exten);
      if (w == NULL)
        {
          w = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (c->watchers, g_strdup (exten), w);
        }
      GHashTableIter it;
      gpointer jid;
      g_hash_table_iter_init (&it, waiting);
      while (g_hash_table_iter_next (&it, &jid, NULL))
        if (g_hash_table_size (w) < MAX_WATCHERS_PER_PHONE)
          g_hash_table_add (w, g_strdup (jid));
      g_hash_table_remove (c->waiting, exten);
      ims_component_save_watchers (c);
    }
  ims_component_tell_watchers (c, exten);
}

/* A presence stanza to one of our phones: subscriptions from the domain's
 * users are approved at once (and get the state), everyone else's denied;
 * probes are answered.  TRUE when @stanza was for a phone. */
static gboolean
ims_component_phone_stanza (CompPeer *c, const ImsXmlNode *stanza)
{
  const char *to = ims_xml_attr (stanza, "to");
  const char *from = ims_xml_attr (stanza, "from");
  const char *at = to ? strchr (to, '@') : NULL;
  if (at == NULL || g_ascii_strcasecmp (at + 1, c->jid) != 0)
    return FALSE; /* to the component itself, or not ours */
  if (from == NULL || !ims_xmpp_jid_valid (from))
    return TRUE;
  ims_component_phone_tables (c);
  g_autofree char *exten = g_ascii_strdown (to, at - to);
  g_autofree char *bare = ims_xmpp_bare (from);
  const char *dom = strrchr (bare, '@');
  gboolean ours = dom && c->base.acct->domain && g_ascii_strcasecmp (dom + 1, c->base.acct->domain) == 0;
  gboolean known = g_hash_table_contains (c->phones, exten);
  const char *type = ims_xml_attr (stanza, "type");
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (bare, -1);
  g_autofree char *e = g_markup_escape_text (exten, -1);
  GHashTable *w = g_hash_table_lookup (c->watchers, exten);
  if (g_strcmp0 (type, "subscribe") == 0 || g_strcmp0 (type, "probe") == 0)
    {
      if (ours && !known && g_hash_table_size (c->phones) == 0)
        {
          /* Nothing listed yet (AMI is logging in, or down): answer when
           * the phone appears. */
          if (c->waiting == NULL)
            c->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) g_hash_table_unref);
          GHashTable *q = g_hash_table_lookup (c->waiting, exten);
          if (q == NULL && g_hash_table_size (c->waiting) < MAX_WAITING)
            {
              q = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
              g_hash_table_insert (c->waiting, g_strdup (exten), q);
            }
          if (q && g_hash_table_size (q) < MAX_WATCHERS_PER_PHONE)
            g_hash_table_add (q, g_strdup (bare));
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
      if (w == NULL)
        {
          w = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (c->watchers, g_strdup (exten), w);
        }
      if (!g_hash_table_contains (w, bare) && g_hash_table_size (w) < MAX_WATCHERS_PER_PHONE)
        {
          g_hash_table_add (w, g_strdup (bare));
          ims_component_save_watchers (c);
        }
      if (g_strcmp0 (type, "subscribe") == 0)
        ims_component_approve (c, exten, bare);
      g_autofree char *now = ims_component_phone_presence (c, exten, bare);
      ims_component_send (c, now);
    }
  else if (g_strcmp0 (type, "unsubscribe") == 0)
    {
      if (w && g_hash_table_remove (w, bare))
        ims_component_save_watchers (c);
      g_autofree char *bye = g_strdup_printf (
          "<presence type='unsubscribed' from='%s@%s' to='%s'/>", e, me, t);
      ims_component_send (c, bye);
    }
  return TRUE;
}

/* ---- what the server says ---- */

static gboolean
on_privilege_timeout (gpointer data)
{
  CompPeer *c = data;
  c->privilege_id = 0;
  ims_native_fail (&c->base, TRUE,
                   "the server granted no presence privilege (XEP-0356 managed_entity on %s)",
                   c->base.acct->domain ? c->base.acct->domain : "the users' domain");
  return G_SOURCE_REMOVE;
}

static void
ims_component_privileges (CompPeer *c, const ImsXmppPrivileges *pv)
{
  c->priv = *pv;
  if (c->stage != STAGE_PRIVILEGE)
    return; /* a later announcement: kept, no new login */
  g_clear_handle_id (&c->privilege_id, g_source_remove);
  if (pv->presence != IMS_XMPP_PERM_MANAGED_ENTITY)
    {
      ims_component_fail (c, TRUE,
                          "the server granted presence \"%s\", not \"managed_entity\" (XEP-0356)",
                          pv->presence == IMS_XMPP_PERM_ROSTER ? "roster" : "none");
      return;
    }
  g_message ("%s: the server grants every presence of %s (urn:xmpp:privilege:%d)", c->base.name,
             c->base.acct->domain, pv->version);
  c->stage = STAGE_ONLINE;
  c->snapshot = pv->version >= 2;
  if (!c->snapshot)
    g_warning ("%s: this server forwards only the presences users send (ejabberd's "
               "mod_privilege): a user online before now is unknown (PENDING) until they change, "
               "and one whose client drops without saying unavailable stays as last seen",
               c->base.name);
  ims_native_logged_in (&c->base);
  /* No server-side list: the host subscribes to each watched buddy, and
   * the privilege already covers them all. */
  ims_driver_roster (c->base.driver, c->base.name, NULL);
  /* The phones' watchers, as they were before a reconnect. */
  GHashTableIter it;
  gpointer exten;
  if (c->watchers)
    {
      g_hash_table_iter_init (&it, c->watchers);
      while (g_hash_table_iter_next (&it, &exten, NULL))
        ims_component_tell_watchers (c, exten);
    }
}

static void
ims_component_presence (CompPeer *c, const ImsXmlNode *stanza)
{
  if (c->stage == STAGE_ONLINE && ims_component_phone_stanza (c, stanza))
    return;
  ImsXmppPresence pr;
  if (!ims_xmpp_parse_presence (stanza, g_get_real_time () / G_USEC_PER_SEC, &pr))
    return;
  ImsDriver *drv = c->base.driver;
  const char *at = strrchr (pr.bare, '@');
  /* Every user of every host the server has comes: ours only, watched only. */
  if (c->stage == STAGE_ONLINE && at && c->base.acct->domain
      && g_ascii_strcasecmp (at + 1, c->base.acct->domain) == 0
      && ims_driver_watches (drv, c->base.name, pr.bare))
    {
      if (pr.kind == IMS_XMPP_PRESENCE_AVAILABLE)
        {
          ImsResourcePresence rp = {
            .show = pr.show,
            .word = pr.word,
            .priority = pr.priority,
            .text = pr.status,
            .idle_since = pr.idle_since,
          };
          ims_driver_presence (drv, c->base.name, pr.bare, pr.resource, &rp);
        }
      else if (pr.kind == IMS_XMPP_PRESENCE_GONE)
        ims_driver_presence (drv, c->base.name, pr.bare, pr.resource, NULL);
    }
  ims_xmpp_presence_clear (&pr);
}

/* An IM to the component from a user of the domain: to the host, which
 * takes it only from accepted senders (UserEvents, click-to-dial). */
static void
ims_component_message (CompPeer *c, const ImsXmlNode *stanza)
{
  const char *type = ims_xml_attr (stanza, "type");
  const char *from = ims_xml_attr (stanza, "from");
  ImsXmlNode *body = ims_xml_child (stanza, NULL, "body");
  if (c->stage != STAGE_ONLINE || body == NULL || from == NULL || !ims_xmpp_jid_valid (from)
      || (type && !g_str_equal (type, "chat") && !g_str_equal (type, "normal")))
    return;
  g_autofree char *bare = ims_xmpp_bare (from);
  const char *at = strrchr (bare, '@');
  if (at == NULL || c->base.acct->domain == NULL
      || g_ascii_strcasecmp (at + 1, c->base.acct->domain) != 0)
    {
      ims_driver_log_stranger (c->base.driver, c->base.name, "message from another domain", bare);
      return;
    }
  ims_driver_message (c->base.driver, c->base.name, bare, ims_xml_text (body));
}

static void
ims_component_iq (CompPeer *c, const ImsXmlNode *stanza)
{
  const char *type = ims_xml_attr (stanza, "type");
  const char *id = ims_xml_attr (stanza, "id");
  if (c->ping_id && id && g_str_equal (id, c->ping_id)
      && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0))
    {
      g_clear_pointer (&c->ping_id, g_free);
      ims_native_pong (&c->base);
      return;
    }
  const char *from = ims_xml_attr (stanza, "from");
  if (from == NULL || id == NULL
      || (g_strcmp0 (type, "get") != 0 && g_strcmp0 (type, "set") != 0))
    return; /* answers to nothing we asked, and errors: dropped */
  g_autofree char *f = g_markup_escape_text (from, -1);
  g_autofree char *i = g_markup_escape_text (id, -1);
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  ImsXmlNode *q = stanza->children && stanza->children->len == 1 ? stanza->children->pdata[0] : NULL;
  const char *body = NULL;
  if (q && g_str_equal (type, "get") && g_str_equal (q->ns, "urn:xmpp:ping"))
    body = ""; /* XEP-0199: a result is the answer */
  else if (q && g_str_equal (type, "get") && g_str_equal (q->name, "query")
           && g_str_equal (q->ns, "http://jabber.org/protocol/disco#info")
           && ims_xml_attr (q, "node") == NULL)
    body = "<query xmlns='http://jabber.org/protocol/disco#info'>"
           "<identity category='component' type='presence' name='imstatus'/>"
           "<feature var='http://jabber.org/protocol/disco#info'/>"
           "<feature var='http://jabber.org/protocol/disco#items'/>"
           "<feature var='urn:xmpp:ping'/></query>";
  g_autofree char *items = NULL;
  if (q && g_str_equal (type, "get") && g_str_equal (q->name, "query")
      && g_str_equal (q->ns, "http://jabber.org/protocol/disco#items"))
    {
      /* The published phones, one item each. */
      GString *b = g_string_new ("<query xmlns='http://jabber.org/protocol/disco#items'>");
      GHashTableIter it;
      gpointer exten;
      if (c->phones)
        {
          g_hash_table_iter_init (&it, c->phones);
          while (g_hash_table_iter_next (&it, &exten, NULL))
            {
              g_autofree char *e = g_markup_escape_text (exten, -1);
              g_string_append_printf (b, "<item jid='%s@%s' name='%s'/>", e, me, e);
            }
        }
      g_string_append (b, "</query>");
      items = g_string_free (b, FALSE);
      body = items;
    }
  g_autofree char *answer =
      body ? g_strdup_printf ("<iq type='result' from='%s' to='%s' id='%s'>%s</iq>", me, f, i, body)
           /* Nobody here answers that: say so (RFC 6120 8.4), not silence. */
           : g_strdup_printf ("<iq type='error' from='%s' to='%s' id='%s'><error type='cancel'>"
                              "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                              "</error></iq>",
                              me, f, i);
  ims_component_send (c, answer);
}

static void
on_xml_open (gpointer data, const ImsXmlNode *root)
{
  CompPeer *c = data;
  if (c->failure)
    return;
  const char *id = ims_xml_attr (root, "id");
  if (c->stage != STAGE_STREAM || !g_str_equal (root->name, "stream")
      || !g_str_equal (root->ns, IMS_XMPP_NS_STREAMS) || id == NULL || *id == '\0')
    {
      ims_component_fail (c, FALSE, "the server opened no component stream");
      return;
    }
  g_autofree char *digest = ims_xmpp_component_handshake (id, c->base.acct->secret
                                                                  ? c->base.acct->secret
                                                                  : "");
  g_autofree char *hs = g_strdup_printf ("<handshake>%s</handshake>", digest);
  c->stage = STAGE_HANDSHAKE;
  ims_component_send (c, hs);
}

static void
on_xml_stanza (gpointer data, ImsXmlNode *stanza)
{
  g_autoptr (ImsXmlNode) s = stanza;
  CompPeer *c = data;
  if (c->failure)
    return;
  if (ims_native_debug (&c->base) >= 2)
    {
      g_autofree char *name = ims_text_for_log (s->name, 64);
      g_message ("%s: RECV <%s>", c->base.name, name);
    }
  if (g_str_equal (s->ns, IMS_XMPP_NS_STREAMS) && g_str_equal (s->name, "error"))
    {
      /* The condition is the child's name (RFC 6120 4.9.3). */
      const char *cond = s->children && s->children->len
                             ? ((ImsXmlNode *) s->children->pdata[0])->name
                             : "undefined-condition";
      g_autofree char *safe = ims_text_for_log (cond, 64);
      if (g_str_equal (cond, "not-authorized"))
        ims_component_fail (c, TRUE, "the server refused the component's secret (not-authorized)");
      else
        ims_component_fail (c, FALSE, "the server ended the stream: %s", safe);
      return;
    }
  if (!g_str_equal (s->ns, IMS_XMPP_NS_COMPONENT))
    return;
  if (c->stage == STAGE_HANDSHAKE)
    {
      if (!g_str_equal (s->name, "handshake"))
        return;
      c->stage = STAGE_PRIVILEGE;
      c->privilege_id = g_timeout_add_seconds (PRIVILEGE_WAIT_S, on_privilege_timeout, c);
      return;
    }
  ImsXmppPrivileges pv;
  if (g_str_equal (s->name, "message")
      && ims_xmpp_parse_privileges (s, c->base.acct->domain, &pv))
    ims_component_privileges (c, &pv);
  else if (g_str_equal (s->name, "message"))
    ims_component_message (c, s);
  else if (g_str_equal (s->name, "presence"))
    ims_component_presence (c, s);
  else if (g_str_equal (s->name, "iq"))
    ims_component_iq (c, s);
}

static void
on_xml_close (gpointer data)
{
  ims_component_fail (data, FALSE, "the server closed the stream");
}

static const ImsXmlFuncs ims_component_xml_funcs = { on_xml_open, on_xml_stanza, on_xml_close };

/* ---- the connection ---- */

/* A stream has no frames: whatever arrived goes to the XML reader. */
static gssize
ims_component_framer (const guint8 *buf, gsize len, GError **error)
{
  (void) buf, (void) error;
  return (gssize) len;
}

static void
on_conn_connected (ImsFrameConn *conn, gpointer data)
{
  CompPeer *c = data;
  (void) conn;
  c->xml = ims_xml_stream_new (NULL, &ims_component_xml_funcs, c);
  g_autofree char *open = ims_xmpp_component_open (c->jid);
  ims_component_send (c, open);
}

static void
on_conn_frame (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer data)
{
  CompPeer *c = data;
  (void) conn;
  g_autoptr (GError) error = NULL;
  if (c->xml && !ims_xml_stream_feed (c->xml, (const char *) frame, len, &error))
    ims_component_fail (c, FALSE, "the server's stream: %s", error->message);
  if (c->failure)
    {
      g_autofree char *why = g_steal_pointer (&c->failure);
      ims_native_fail (&c->base, c->failure_fatal, "%s", why);
    }
}

static void
on_conn_closed (ImsFrameConn *conn, const GError *error, gpointer data)
{
  (void) conn;
  ims_native_fail (&((CompPeer *) data)->base, FALSE, "%s", error->message);
}

static const ImsFrameConnFuncs ims_component_conn_funcs = { on_conn_connected, on_conn_frame,
                                                            on_conn_closed };

static void
ims_component_connect (ImsNativePeer *p)
{
  CompPeer *c = (CompPeer *) p;
  g_free (c->jid);
  c->jid = g_utf8_strdown (p->acct->username, -1);
  if (c->watchers == NULL)
    ims_component_load_watchers (c);
  c->stage = STAGE_STREAM;
  c->conn = ims_frame_conn_new (ims_native_host (p), ims_native_port (p),
                                IMS_NATIVE_CONNECT_TIMEOUT_S, G_MAXSSIZE, ims_component_framer,
                                &ims_component_conn_funcs, c);
}

static void
ims_component_ping (ImsNativePeer *p)
{
  CompPeer *c = (CompPeer *) p;
  g_free (c->ping_id);
  c->ping_id = g_strdup_printf ("imsping%u", ++c->ping_seq);
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *to = g_markup_escape_text (p->acct->domain ? p->acct->domain : "", -1);
  g_autofree char *ping = g_strdup_printf (
      "<iq type='get' id='%s' from='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>", c->ping_id,
      me, to);
  ims_component_send (c, ping);
}

static void
ims_component_subscribe (ImsNativePeer *p, const char *buddy)
{
  CompPeer *c = (CompPeer *) p;
  /* managed_entity covers every user of the domain: nothing to ask.  Where
   * the server sent everyone's presence, one not sent is offline (both, no
   * presence); elsewhere it stays pending until its first presence. */
  const char *at = strrchr (buddy, '@');
  if (c->stage == STAGE_ONLINE && at && p->acct->domain
      && g_ascii_strcasecmp (at + 1, p->acct->domain) == 0)
    {
      if (c->snapshot)
        ims_driver_subscription (p->driver, p->name, buddy, IMS_SUB_BOTH);
    }
  else
    ims_driver_log_stranger (p->driver, p->name, "buddy outside the component's domain", buddy);
}

static void
ims_component_unsubscribe (ImsNativePeer *p, const char *buddy)
{
  (void) p, (void) buddy; /* nothing was asked */
}

static void
ims_component_own_changed (ImsNativePeer *p)
{
  (void) p; /* the component's own presence: with the phones (publish), not yet */
}

static gboolean
ims_component_send_im (ImsNativePeer *p, const char *to, const char *text, GError **error)
{
  CompPeer *c = (CompPeer *) p;
  if (!ims_xmpp_jid_valid (to))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a JID");
      return FALSE;
    }
  /* XML 1.0 has no place for most control characters: one would end the
   * stream.  Tabs and newlines stay; the rest become spaces. */
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  for (char *q = valid; *q; q++)
    if ((guchar) *q < 0x20 && *q != '\t' && *q != '\n' && *q != '\r')
      *q = ' ';
  g_autofree char *body = g_markup_escape_text (valid, -1);
  g_autofree char *t = g_markup_escape_text (to, -1);
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *msg = g_strdup_printf (
      "<message type='chat' from='%s' to='%s'><body>%s</body></message>", me, t, body);
  ims_component_send (c, msg);
  return TRUE;
}

/* ---- the network ---- */

static ImsDriver *ims_component_driver_new (ImsCore *core, const ImsDriverSetup *setup,
                                            GError **error);

static void
ims_component_check_account (const ImsAccount *a, GPtrArray *errors, GPtrArray *warnings)
{
  (void) warnings;
  if (a->username && strchr (a->username, '@'))
    g_ptr_array_add (errors, g_strdup_printf (
                                 "username = %s: a component's JID is a domain, like "
                                 "phones.example.org",
                                 a->username));
  if (a->domain == NULL || !ims_xmpp_jid_valid (a->domain) || strchr (a->domain, '@')
      || strchr (a->domain, '/'))
    g_ptr_array_add (errors, g_strdup ("a component needs domain = the domain of the users it "
                                       "sees, like example.org"));
  if (a->secret == NULL || *a->secret == '\0')
    g_ptr_array_add (errors, g_strdup ("a component needs secret = the component's shared "
                                       "secret on the server"));
}

static const char *const ims_component_types[] = { "component", NULL };
static const char *const ims_component_keys[] = { "domain", "publish", "pinginterval", "pingtimeout", NULL };

/* The XMPP component as the registry and the docs see it. */
const ImsNetwork ims_component_network = {
  .name = "XMPP component",
  .driver = "component",
  .types = ims_component_types,
  .summary = "an XMPP component (XEP-0114) privileged to see every user of a domain "
             "(XEP-0356 presence managed_entity): no robot account, no roster",
  .keys = ims_component_keys,
  .default_host = NULL, /* the users' domain: the server is usually theirs */
  .default_port = IMS_XMPP_COMPONENT_PORT,
  .bare_ids = TRUE,     /* its own id is the component's JID as written */
  .whole_domain = TRUE, /* the privilege covers every user of domain */
  .id_valid = ims_xmpp_jid_valid,
  .id_rule = "a buddy is a JID (each part at most 1023 bytes of UTF-8, no control characters)",
  .cleartext = "presence and IMs travel in clear on the component port (the secret does not: "
               "the handshake is a digest); keep it on loopback or a trusted network",
  .pong = TRUE,
  .max_message = 0,
  .show_words = "available chat away xa dnd",
  .check_account = ims_component_check_account,
  .new_driver = ims_component_driver_new,
};

static const ImsNativeProto ims_component_proto = {
  .network = &ims_component_network,
  .peer_size = sizeof (CompPeer),
  .login_timeout_s = 30,
  .connect = ims_component_connect,
  .keepalive = ims_component_ping,
  .disconnect = ims_component_disconnect,
  .subscribe = ims_component_subscribe,
  .unsubscribe = ims_component_unsubscribe,
  .own_changed = ims_component_own_changed,
  .send = ims_component_send_im,
  .phone = ims_component_phone,
  .finalize = ims_component_finalize,
};

static ImsDriver *
ims_component_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  (void) error;
  g_free (ims_component_statedir);
  ims_component_statedir = g_strdup (setup ? setup->statedir : NULL);
  return ims_native_driver_new (core, &ims_component_proto);
}
