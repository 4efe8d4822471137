/* ims-purple-signals: what libpurple tells the driver, handed to the core:
 * logins and connection errors, XMPP stanzas read raw (per-resource
 * presence, XEP-0319 idle, roster pushes, the XEP-0199 keepalive),
 * subscription requests, IMs and buddy changes.
 */
#define G_LOG_DOMAIN "ims-purple"

#include "ims-purple-private.h"

#include <string.h>

#include "ims-text.h"
#include "ims-xmpp-stanza.h"

/* ---- XMPP keepalive ---- */

void
ims_purple_stop_ping (ImsPurplePeer *pp)
{
  g_clear_handle_id (&pp->ping_id, g_source_remove);
  g_clear_handle_id (&pp->ping_timeout_id, g_source_remove);
  g_clear_handle_id (&pp->login_timeout_id, g_source_remove);
  g_clear_pointer (&pp->ping_iq_id, g_free);
}

/* Raises a network error on the connection, so the usual error path reports
 * it and the core reconnects. */
static void
ims_purple_network_error (ImsPurplePeer *pp, const char *why)
{
  PurpleConnection *gc = purple_account_get_connection (pp->account);
  ims_purple_stop_ping (pp);
  if (gc)
    purple_connection_error_reason (gc, PURPLE_CONNECTION_ERROR_NETWORK_ERROR, why);
}

static gboolean
on_purple_ping_timeout (gpointer data)
{
  ImsPurplePeer *pp = data;
  pp->ping_timeout_id = 0;
  g_autofree char *why = g_strdup_printf ("no answer to an XMPP ping within %d s",
                                          pp->acct->pingtimeout);
  ims_purple_network_error (pp, why);
  return G_SOURCE_REMOVE;
}

/* XEP-0199 to our own server: a server that stops answering without
 * closing TCP (frozen, or a dead NAT path) is found within
 * pinginterval + pingtimeout seconds. */
static gboolean
on_purple_ping (gpointer data)
{
  ImsPurplePeer *pp = data;
  PurpleConnection *gc = purple_account_get_connection (pp->account);
  if (gc == NULL || !PURPLE_CONNECTION_IS_CONNECTED (gc) || pp->ping_timeout_id)
    return G_SOURCE_CONTINUE;
  PurplePluginProtocolInfo *info = PURPLE_PLUGIN_PROTOCOL_INFO (purple_connection_get_prpl (gc));
  if (info->send_raw == NULL || pp->acct->domain == NULL)
    return G_SOURCE_CONTINUE;
  g_free (pp->ping_iq_id);
  /* Not guessable: a stranger must not be able to answer for the server. */
  pp->ping_iq_id = g_strdup_printf ("imsping%u-%08x", ++pp->ping_seq, g_random_int ());
  g_autofree char *iq = ims_xmpp_ping (pp->ping_iq_id, pp->acct->domain);
  info->send_raw (gc, iq, strlen (iq));
  pp->ping_timeout_id = g_timeout_add_seconds (pp->acct->pingtimeout, on_purple_ping_timeout, pp);
  return G_SOURCE_CONTINUE;
}

gboolean
ims_purple_on_login_timeout (gpointer data)
{
  ImsPurplePeer *pp = data;
  pp->login_timeout_id = 0;
  ims_purple_network_error (pp, "login did not finish in time");
  return G_SOURCE_REMOVE;
}

/* ---- connection signals ---- */

static void
on_purple_signed_on (PurpleConnection *gc, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL)
    return;
  ims_purple_stop_ping (pp);
  if (pp->xmpp)
    pp->ping_id = g_timeout_add_seconds (pp->acct->pinginterval, on_purple_ping, pp);
  ims_driver_logged_in (ims_purple_driver (pp), pp->name);
  ims_purple_set_own_status (pp);
  /* Other protocols have no server roster to wait for. */
  if (!pp->xmpp)
    ims_driver_roster (ims_purple_driver (pp), pp->name, NULL);
}

static void
on_purple_connection_error (PurpleConnection *gc, PurpleConnectionError err, const char *desc,
                            gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL)
    return;
  ims_purple_stop_ping (pp);
  const char *d = desc ? desc : "unknown error";
  g_autofree char *reason = NULL;
  if (err >= PURPLE_CONNECTION_ERROR_CERT_NOT_PROVIDED
      && err <= PURPLE_CONNECTION_ERROR_CERT_OTHER_ERROR)
    reason = g_strdup_printf ("TLS certificate rejected: %s", d);
  else if (err == PURPLE_CONNECTION_ERROR_ENCRYPTION_ERROR
           || err == PURPLE_CONNECTION_ERROR_NO_SSL_SUPPORT)
    reason = g_strdup_printf ("TLS: %s", d);
  else
    reason = g_strdup (d);
  ims_driver_disconnected (ims_purple_driver (pp), pp->name, reason,
                         purple_connection_error_is_fatal (err));
}

static void
on_purple_signed_off (PurpleConnection *gc, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL)
    return;
  ims_purple_stop_ping (pp);
  /* After connection-error this repeats what the core already knows; the
   * core ignores a second report while it waits to reconnect. */
  ims_driver_disconnected (ims_purple_driver (pp), pp->name, "signed off", FALSE);
}

/* ---- XMPP stanzas ---- */

static void
ims_purple_on_presence (ImsPurplePeer *pp, xmlnode *node)
{
  ImsXmppPresence pr;
  g_autoptr (ImsXmlNode) x = ims_xmpp_node_from_purple (node);
  if (!ims_xmpp_parse_presence (x, g_get_real_time () / G_USEC_PER_SEC, &pr))
    return;
  ImsDriver *drv = ims_purple_driver (pp);
  if (g_str_equal (pr.bare, pp->acct->id))
    ; /* our own other resources */
  else if (pr.kind == IMS_XMPP_PRESENCE_AVAILABLE)
    {
      ImsResourcePresence rp = ims_xmpp_presence_resource (&pr);
      ims_driver_presence (drv, pp->name, pr.bare, pr.resource, &rp);
    }
  else if (pr.kind == IMS_XMPP_PRESENCE_GONE)
    ims_driver_presence (drv, pp->name, pr.bare, pr.resource, NULL);
  else if (pr.kind == IMS_XMPP_PRESENCE_UNSUBSCRIBED)
    ims_driver_subscription (drv, pp->name, pr.bare, IMS_SUB_NONE);
  ims_xmpp_presence_clear (&pr);
}

static gboolean
ims_purple_roster_cb (gpointer data)
{
  ImsPurplePeer *pp = data;
  pp->roster_id = 0;
  g_autoptr (GHashTable) items = g_steal_pointer (&pp->roster);
  ims_driver_roster (ims_purple_driver (pp), pp->name, items);
  return G_SOURCE_REMOVE;
}

static void
ims_purple_on_roster (ImsPurplePeer *pp, xmlnode *query, gboolean full)
{
  g_autoptr (GHashTable) items = ims_xmpp_parse_roster (query);
  if (full)
    {
      /* Reported on the next turn, after prpl-jabber has read it too, so
       * the core's subscribe calls find the buddies in the buddy list. */
      g_clear_pointer (&pp->roster, g_hash_table_unref);
      pp->roster = g_steal_pointer (&items);
      if (pp->roster_id == 0)
        pp->roster_id = g_idle_add (ims_purple_roster_cb, pp);
      return;
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, items);
  while (g_hash_table_iter_next (&it, &k, &v))
    ims_driver_subscription (ims_purple_driver (pp), pp->name, k, GPOINTER_TO_INT (v));
}

static void
ims_purple_send_raw (ImsPurplePeer *pp, const char *xml)
{
  PurpleConnection *gc = purple_account_get_connection (pp->account);
  PurplePluginProtocolInfo *info =
      gc ? PURPLE_PLUGIN_PROTOCOL_INFO (purple_connection_get_prpl (gc)) : NULL;
  if (info && info->send_raw)
    info->send_raw (gc, xml, strlen (xml));
}

/* Strangers never reach prpl-jabber: it keeps a record for every JID that
 * sends presence or a message, so 10,000 strangers would be 10,000 records.
 * Buddies' presence, the account's own, and messages from those the core
 * accepts pass; a stranger's subscription request is denied here. */
static gboolean
ims_purple_stranger_stanza (ImsPurplePeer *pp, xmlnode *node)
{
  const char *from = xmlnode_get_attrib (node, "from");
  if (from == NULL)
    return FALSE; /* from the server itself */
  g_autofree char *bare = ims_xmpp_bare (from);
  ImsDriver *drv = ims_purple_driver (pp);
  if (g_str_equal (bare, pp->acct->id) || g_strcmp0 (bare, pp->acct->domain) == 0)
    return FALSE;
  if (g_str_equal (node->name, "message"))
    {
      if (ims_driver_accepts (drv, pp->name, bare))
        return FALSE;
      ims_driver_log_stranger (drv, pp->name, "message", bare);
      return TRUE;
    }
  if (!g_str_equal (node->name, "presence") || ims_driver_watches (drv, pp->name, bare))
    return FALSE;
  if (g_strcmp0 (xmlnode_get_attrib (node, "type"), "subscribe") == 0)
    {
      ims_driver_log_stranger (drv, pp->name, "subscription request (denied)", bare);
      g_autofree char *deny = ims_xmpp_presence_to (bare, "unsubscribed");
      ims_purple_send_raw (pp, deny);
    }
  return TRUE;
}

/* Sees every stanza before prpl-jabber does. */
static void
on_jabber_receiving_xmlnode (PurpleConnection *gc, xmlnode **packet, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL || packet == NULL || *packet == NULL)
    return;
  xmlnode *node = *packet;
  if (ims_xmpp_is_ping_answer (node, pp->ping_iq_id, pp->acct->domain))
    {
      /* Answered (a result, or an error from a server without XEP-0199:
       * either way it is alive).  Drop it: prpl-jabber did not ask. */
      g_clear_handle_id (&pp->ping_timeout_id, g_source_remove);
      xmlnode_free (node);
      *packet = NULL;
      return;
    }
  const char *sender = xmlnode_get_attrib (node, "from");
  if (sender && !ims_xmpp_jid_valid (sender))
    {
      /* Only a hostile server (or a man in the middle) sends these. */
      ims_driver_log_stranger (ims_purple_driver (pp), pp->name, "stanza with a malformed address",
                             sender);
      xmlnode_free (node);
      *packet = NULL;
      return;
    }
  if (node->name && ims_purple_stranger_stanza (pp, node))
    {
      xmlnode_free (node);
      *packet = NULL;
      return;
    }
  gboolean full = FALSE;
  xmlnode *query;
  if (g_str_equal (node->name, "presence"))
    ims_purple_on_presence (pp, node);
  else if ((query = ims_xmpp_roster_query (node, pp->acct->id, &full)) != NULL)
    ims_purple_on_roster (pp, query, full);
  else if (xmlnode_get_child_with_namespace (node, "query", "jabber:iq:roster"))
    {
      /* A roster iq from anyone but the account: ignored, and kept from
       * prpl-jabber too, which would apply it. */
      const char *from = xmlnode_get_attrib (node, "from");
      ims_driver_log_stranger (ims_purple_driver (pp), pp->name, "roster push", from ? from : "?");
      xmlnode_free (node);
      *packet = NULL;
    }
}

/* Subscription requests: the core decides. */
static int
on_purple_authorization_requested (PurpleAccount *account, const char *user, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for (account);
  if (pp == NULL || user == NULL)
    return PURPLE_ACCOUNT_RESPONSE_PASS;
  g_autofree char *bare = ims_purple_full_id (pp, user);
  return ims_driver_authorize (ims_purple_driver (pp), pp->name, bare)
             ? PURPLE_ACCOUNT_RESPONSE_ACCEPT
             : PURPLE_ACCOUNT_RESPONSE_DENY;
}

static gboolean
on_purple_receiving_im (PurpleAccount *account, char **sender, char **message,
                        PurpleConversation *conv, PurpleMessageFlags *flags, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for (account);
  if (pp == NULL || sender == NULL || *sender == NULL || message == NULL || *message == NULL)
    return FALSE;
  g_autofree char *bare = ims_purple_full_id (pp, *sender);
  /* libpurple hands us HTML; the body text is what the sender typed. */
  g_autofree char *text = purple_markup_strip_html (*message);
  g_autofree char *plain = purple_unescape_html (text);
  if (strlen (plain) > IMS_PURPLE_MAX_MESSAGE)
    plain[IMS_PURPLE_MAX_MESSAGE] = '\0';
  g_autofree char *s1 = ims_text_for_log (bare, 256);
  g_autofree char *red = ims_purple_redact (plain, pp->owner->ui.secrets);
  g_autofree char *s2 = ims_text_for_log (red, 200);
  g_info ("%s: IM from %s: %s", pp->name, s1, s2);
  ims_driver_message (ims_purple_driver (pp), pp->name, bare, plain);
  return TRUE; /* handled: no conversation is created, nothing is logged */
}

/* Buddy presence for protocols other than XMPP (IRC, SIMPLE, ...), one
 * resource per buddy. */
void
ims_purple_on_buddy_changed (PurpleBuddy *buddy, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for (purple_buddy_get_account (buddy));
  if (pp == NULL || pp->xmpp)
    return;
  g_autofree char *bare = ims_purple_full_id (pp, purple_buddy_get_name (buddy));
  PurplePresence *presence = purple_buddy_get_presence (buddy);
  if (!purple_presence_is_online (presence))
    {
      ims_driver_presence (ims_purple_driver (pp), pp->name, bare, "", NULL);
      return;
    }
  PurpleStatus *status = purple_presence_get_active_status (presence);
  PurpleStatusPrimitive prim = purple_status_type_get_primitive (purple_status_get_type (status));
  ImsShow show = prim == PURPLE_STATUS_AWAY            ? IMS_SHOW_AWAY
                 : prim == PURPLE_STATUS_EXTENDED_AWAY ? IMS_SHOW_XA
                 : prim == PURPLE_STATUS_UNAVAILABLE   ? IMS_SHOW_DND
                                                       : IMS_SHOW_AVAILABLE;
  time_t idle = purple_presence_is_idle (presence) ? purple_presence_get_idle_time (presence) : 0;
  ImsResourcePresence pr = {
    .show = show,
    .word = purple_status_get_id (status),
    .text = purple_status_get_attr_string (status, "message"),
    .idle_since = idle > 0 ? (gint64) idle : 0,
  };
  ims_driver_presence (ims_purple_driver (pp), pp->name, bare, "", &pr);
}

/* ---- wiring ---- */

void
ims_purple_connect_signals (ImsPurple *self)
{
  void *conn = purple_connections_get_handle ();
  purple_signal_connect (conn, "signed-on", self, PURPLE_CALLBACK (on_purple_signed_on), NULL);
  purple_signal_connect (conn, "signed-off", self, PURPLE_CALLBACK (on_purple_signed_off), NULL);
  purple_signal_connect (conn, "connection-error", self,
                         PURPLE_CALLBACK (on_purple_connection_error), NULL);
  purple_signal_connect (purple_accounts_get_handle (), "account-authorization-requested", self,
                         PURPLE_CALLBACK (on_purple_authorization_requested), NULL);
  purple_signal_connect (purple_conversations_get_handle (), "receiving-im-msg", self,
                         PURPLE_CALLBACK (on_purple_receiving_im), NULL);
  void *blist = purple_blist_get_handle ();
  purple_signal_connect (blist, "buddy-status-changed", self,
                         PURPLE_CALLBACK (ims_purple_on_buddy_changed), NULL);
  purple_signal_connect (blist, "buddy-signed-on", self, PURPLE_CALLBACK (ims_purple_on_buddy_changed),
                         NULL);
  purple_signal_connect (blist, "buddy-signed-off", self,
                         PURPLE_CALLBACK (ims_purple_on_buddy_changed), NULL);
  PurplePlugin *jabber = purple_find_prpl ("prpl-jabber");
  if (jabber)
    purple_signal_connect (jabber, "jabber-receiving-xmlnode", self,
                           PURPLE_CALLBACK (on_jabber_receiving_xmlnode), NULL);
}
