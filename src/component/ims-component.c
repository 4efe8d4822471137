/* ims-component: the XMPP component driver (XEP-0114, with XEP-0356
 * privileges).  A state machine on the main loop over src/xmpp: open the
 * stream, answer the handshake, wait for the server to say what the
 * component may see, then take the presence of the domain's users as
 * buddies (those the peer watches), with no roster item and no
 * subscription request anywhere.  IMs go out from the component's JID;
 * IMs to it from the domain's users go to the host (UserEvents, dialling).
 * Keepalives are XEP-0199 pings to the server.  The phones it publishes
 * are ims-component-phones.c; the other PBXes' it mirrors,
 * ims-component-remote.c.
 */
#define G_LOG_DOMAIN "ims-component"

#include "ims-component.h"

#include <string.h>

#include "ims-component-private.h"
#include "ims-text.h"
#include "ims-xmpp-presence.h"

/* How long the server has, after the handshake, to say what we may see:
 * Prosody and ejabberd say it at once or never. */
#define PRIVILEGE_WAIT_S 3

void
ims_component_fail (ImsCompPeer *c, gboolean fatal, const char *format, ...)
{
  if (c->failure)
    return;
  va_list ap;
  va_start (ap, format);
  c->failure = g_strdup_vprintf (format, ap);
  va_end (ap);
  c->failure_fatal = fatal;
}

void
ims_component_send (ImsCompPeer *c, const char *xml)
{
  if (ims_native_debug (&c->base) >= 2)
    {
      g_autofree char *safe = ims_text_for_log (xml, 512);
      g_message ("%s: SEND %s", c->base.name, safe);
    }
  ims_frame_conn_send (c->conn, xml, strlen (xml));
}

void
ims_component_send_iq (ImsCompPeer *c, const char *type, const char *id, const char *to,
                       const char *body)
{
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  g_autofree char *t = g_markup_escape_text (to, -1);
  g_autofree char *i = g_markup_escape_text (id, -1);
  g_autofree char *iq = g_strdup_printf ("<iq type='%s' from='%s' to='%s' id='%s'>%s</iq>", type,
                                         me, t, i, body);
  ims_component_send (c, iq);
}

static void
ims_component_disconnect (ImsNativePeer *p)
{
  ImsCompPeer *c = (ImsCompPeer *) p;
  g_clear_handle_id (&c->privilege_id, g_source_remove);
  g_clear_pointer (&c->conn, ims_frame_conn_free);
  g_clear_pointer (&c->xml, ims_xml_stream_free);
  g_clear_pointer (&c->ping_id, g_free);
  g_clear_pointer (&c->failure, g_free);
  c->stage = STAGE_STREAM;
  c->snapshot = FALSE;
  memset (&c->priv, 0, sizeof c->priv);
  ims_component_remotes_reset (c);
}

static void
ims_component_finalize (ImsNativePeer *p)
{
  ImsCompPeer *c = (ImsCompPeer *) p;
  g_free (c->jid);
  ims_component_phones_free (c);
  ims_component_remotes_free (c);
}

/* ---- what the server says ---- */

static gboolean
on_privilege_timeout (gpointer data)
{
  ImsCompPeer *c = data;
  c->privilege_id = 0;
  ims_native_fail (&c->base, TRUE,
                   "the server granted no presence privilege (XEP-0356 managed_entity on %s)",
                   c->base.acct->domain ? c->base.acct->domain : "the users' domain");
  return G_SOURCE_REMOVE;
}

static void
ims_component_privileges (ImsCompPeer *c, const ImsXmppPrivileges *pv)
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
  /* The phones' watchers, as they were before a reconnect; the other
   * PBXes' phones, asked for anew. */
  ims_component_phones_online (c);
  ims_component_remotes_online (c);
}

static void
ims_component_presence (ImsCompPeer *c, const ImsXmlNode *stanza)
{
  if (c->stage != STAGE_ONLINE || ims_component_phone_stanza (c, stanza)
      || ims_component_remote_presence (c, stanza))
    return;
  ImsXmppPresence pr;
  if (!ims_xmpp_parse_presence (stanza, g_get_real_time () / G_USEC_PER_SEC, &pr))
    return;
  ImsDriver *drv = c->base.driver;
  /* Every user of every host the server has comes: ours only, watched only. */
  if (ims_xmpp_in_domain (pr.bare, c->base.acct->domain)
      && ims_driver_watches (drv, c->base.name, pr.bare))
    {
      if (pr.kind == IMS_XMPP_PRESENCE_AVAILABLE)
        {
          ImsResourcePresence rp = ims_xmpp_presence_resource (&pr);
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
ims_component_message (ImsCompPeer *c, const ImsXmlNode *stanza)
{
  const char *type = ims_xml_attr (stanza, "type");
  const char *from = ims_xml_attr (stanza, "from");
  ImsXmlNode *body = ims_xml_child (stanza, NULL, "body");
  if (c->stage != STAGE_ONLINE || body == NULL || from == NULL || !ims_xmpp_jid_valid (from)
      || (type && !g_str_equal (type, "chat") && !g_str_equal (type, "normal")))
    return;
  g_autofree char *bare = ims_xmpp_bare (from);
  if (!ims_xmpp_in_domain (bare, c->base.acct->domain))
    {
      ims_driver_log_stranger (c->base.driver, c->base.name, "message from another domain", bare);
      return;
    }
  /* "call" sent to one of our phones: a request to ring the sender's own
   * phone and connect it there (the host decides, for a person). */
  const char *to = ims_xml_attr (stanza, "to");
  const char *at = to ? strchr (to, '@') : NULL;
  g_autofree char *word = g_strstrip (g_strdup (ims_xml_text (body)));
  if (at && g_ascii_strcasecmp (at + 1, c->jid) == 0 && g_ascii_strcasecmp (word, "call") == 0
      && at - to <= 32)
    {
      g_autofree char *exten = g_ascii_strdown (to, at - to);
      g_autofree char *call = g_strdup_printf ("call %s", exten);
      ims_driver_message (c->base.driver, c->base.name, bare, call);
      return;
    }
  ims_driver_message (c->base.driver, c->base.name, bare, ims_xml_text (body));
}

static void
ims_component_iq (ImsCompPeer *c, const ImsXmlNode *stanza)
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
  if (ims_component_remote_iq (c, stanza))
    return;
  const char *from = ims_xml_attr (stanza, "from");
  if (from == NULL || id == NULL
      || (g_strcmp0 (type, "get") != 0 && g_strcmp0 (type, "set") != 0))
    return; /* answers to nothing we asked, and errors: dropped */
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
      ims_component_phone_items (c, b);
      g_string_append (b, "</query>");
      items = g_string_free (b, FALSE);
      body = items;
    }
  if (body)
    ims_component_send_iq (c, "result", id, from, body);
  else /* nobody here answers that: say so (RFC 6120 8.4), not silence */
    ims_component_send_iq (c, "error", id, from,
                           "<error type='cancel'><service-unavailable "
                           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");
}

static void
on_xml_open (gpointer data, const ImsXmlNode *root)
{
  ImsCompPeer *c = data;
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
  ImsCompPeer *c = data;
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
  ImsCompPeer *c = data;
  (void) conn;
  c->xml = ims_xml_stream_new (NULL, &ims_component_xml_funcs, c);
  g_autofree char *open = ims_xmpp_component_open (c->jid);
  ims_component_send (c, open);
}

static void
on_conn_frame (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer data)
{
  ImsCompPeer *c = data;
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
  ims_native_fail (&((ImsCompPeer *) data)->base, FALSE, "%s", error->message);
}

static const ImsFrameConnFuncs ims_component_conn_funcs = { on_conn_connected, on_conn_frame,
                                                            on_conn_closed };

static void
ims_component_connect (ImsNativePeer *p)
{
  ImsCompPeer *c = (ImsCompPeer *) p;
  g_free (c->jid);
  c->jid = g_utf8_strdown (p->acct->username, -1);
  c->stage = STAGE_STREAM;
  c->conn = ims_frame_conn_new (ims_native_host (p), ims_native_port (p),
                                IMS_NATIVE_CONNECT_TIMEOUT_S, G_MAXSSIZE, ims_component_framer,
                                &ims_component_conn_funcs, c);
}

static void
ims_component_ping (ImsNativePeer *p)
{
  ImsCompPeer *c = (ImsCompPeer *) p;
  g_free (c->ping_id);
  c->ping_id = g_strdup_printf ("imsping%u", ++c->ping_seq);
  ims_component_send_iq (c, "get", c->ping_id, p->acct->domain ? p->acct->domain : "",
                         "<ping xmlns='urn:xmpp:ping'/>");
  ims_component_remotes_ping (c);
}

static void
ims_component_subscribe (ImsNativePeer *p, const char *buddy)
{
  ImsCompPeer *c = (ImsCompPeer *) p;
  /* managed_entity covers every user of the domain: nothing to ask.  Where
   * the server sent everyone's presence, one not sent is offline (both, no
   * presence); elsewhere it stays pending until its first presence.  A
   * remote's phone is asked for when the remote lists it. */
  if (c->stage == STAGE_ONLINE && ims_xmpp_in_domain (buddy, p->acct->domain))
    {
      if (c->snapshot)
        ims_driver_subscription (p->driver, p->name, buddy, IMS_SUB_BOTH);
    }
  else if (!ims_component_is_remote (c, strrchr (buddy, '@') ? strrchr (buddy, '@') + 1 : NULL))
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
  ImsCompPeer *c = (ImsCompPeer *) p;
  if (!ims_xmpp_jid_valid (to))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a JID");
      return FALSE;
    }
  g_autofree char *body = ims_xmpp_escape_text (text);
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
  for (guint i = 0; a->remote && i < a->remote->len; i++)
    {
      const char *r = a->remote->pdata[i];
      if (!ims_xmpp_jid_valid (r) || strchr (r, '@') || strchr (r, '/'))
        g_ptr_array_add (errors, g_strdup_printf ("remote = %s: another PBX's component is a "
                                                  "domain, like phones-b.example.org", r));
      else if (a->username && g_ascii_strcasecmp (r, a->username) == 0)
        g_ptr_array_add (errors, g_strdup_printf ("remote = %s: that is this component itself", r));
    }
  if (a->secret == NULL || *a->secret == '\0')
    g_ptr_array_add (errors, g_strdup ("a component needs secret = the component's shared "
                                       "secret on the server"));
}

static const char *const ims_component_types[] = { "component", NULL };
static const char *const ims_component_keys[] = { "domain",       "publish",     "remote",
                                                   "pinginterval", "pingtimeout", NULL };

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
  .peer_size = sizeof (ImsCompPeer),
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
  ims_component_phones_set_statedir (setup ? setup->statedir : NULL);
  return ims_native_driver_new (core, &ims_component_proto);
}
