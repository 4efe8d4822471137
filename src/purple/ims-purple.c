/* ims-purple: the libpurple driver.  The only place a libpurple type is seen.
 *
 * The traps (README "Why libpurple") and where they are handled:
 *  - certificate prompts: ims-purple-ui.c answers every request with Reject;
 *  - private CAs: ims_purple_setup_cas() before purple_core_init();
 *  - GStreamer: its plugin path points nowhere before init;
 *  - logging: the /purple/logging prefs off after prefs load;
 *  - passwords: remember-password off, set again before every connect;
 *  - state dir: private 0700, accounts looked up before being created;
 *  - duplicate status callbacks: the store publishes only real changes;
 *  - XEP-0319 idle and per-resource presence: read from the raw stanza
 *    (ims-xmpp-stanza.c) in the jabber-receiving-xmlnode signal;
 *  - no automatic reconnect: the core reconnects with backoff.
 */
#define G_LOG_DOMAIN "ims-purple"

#include "ims-purple-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ims-fs.h"
#include "ims-text.h"
#include "ims-xmpp-stanza.h"

G_DEFINE_QUARK (ims-purple-error-quark, ims_purple_error)


ImsPurple *ims_purple_self;

ImsDriver *
ims_purple_driver (ImsPurplePeer *pp)
{
  return &pp->owner->parent;
}

ImsPurplePeer *
ims_purple_peer_for (PurpleAccount *account)
{
  ImsPurple *self = ims_purple_self;
  return self && account ? g_hash_table_lookup (self->by_account, account) : NULL;
}

ImsPurplePeer *
ims_purple_peer_for_gc (PurpleConnection *gc)
{
  return gc ? ims_purple_peer_for (purple_connection_get_account (gc)) : NULL;
}

/* The core's full id for a libpurple buddy name: XMPP names are JIDs; the
 * names of other networks (an IRC nick) get the account's domain, as the
 * ids in the store have. */
char *
ims_purple_full_id (ImsPurplePeer *pp, const char *name)
{
  g_autofree char *bare = ims_xmpp_bare (name);
  if (pp->xmpp || strchr (bare, '@') || pp->acct->domain == NULL)
    return g_steal_pointer (&bare);
  return g_strdup_printf ("%s@%s", bare, pp->acct->domain);
}

/* The libpurple name for a full id: the inverse of ims_purple_full_id. */
static char *
ims_purple_name (ImsPurplePeer *pp, const char *id)
{
  const char *at = strrchr (id, '@');
  if (!pp->xmpp && at && pp->acct->domain && g_str_equal (at + 1, pp->acct->domain))
    return g_strndup (id, at - id);
  return g_strdup (id);
}

void
ims_purple_set_own_status (ImsPurplePeer *pp)
{
  const char *id = pp->busy ? (pp->xmpp ? "dnd" : "unavailable") : "available";
  const char *msg = pp->busy ? pp->busy_message : pp->acct->statusmessage;
  if (purple_account_get_status (pp->account, id) == NULL)
    id = pp->busy ? "away" : "available";
  if (msg)
    purple_account_set_status (pp->account, id, TRUE, "message", msg, NULL);
  else
    purple_account_set_status (pp->account, id, TRUE, NULL);
}

/* ---- driver ops ---- */

static const char *
ims_purple_prpl_for (const char *type, char **why)
{
  const char *id;
  if (ims_network_names (&ims_xmpp_network, type))
    id = "prpl-jabber";
  else if (g_str_has_prefix (type, "prpl-"))
    id = type;
  else
    id = NULL;
  g_autofree char *guess = id ? NULL : g_strdup_printf ("prpl-%s", type);
  PurplePlugin *plugin = purple_find_prpl (id ? id : guess);
  if (plugin == NULL)
    {
      *why = g_strdup_printf ("no libpurple plugin '%s' on this machine for type=%s",
                              id ? id : guess, type);
      return NULL;
    }
  return purple_plugin_get_id (plugin);
}

static gboolean
ims_purple_supports (ImsDriver *driver, const char *type, char **why)
{
  return ims_purple_prpl_for (type, why) != NULL;
}

static void
ims_purple_configure (ImsPurplePeer *pp)
{
  const ImsAccount *c = pp->acct;
  PurpleAccount *a = pp->account;
  purple_account_set_remember_password (a, FALSE);
  if (pp->xmpp)
    {
      purple_account_set_string (a, "connect_server", c->host ? c->host : "");
      purple_account_set_int (a, "port", c->port ? c->port : ims_xmpp_network.default_port);
      purple_account_set_string (a, "connection_security",
                                 c->tls == IMS_TLS_REQUIRED ? "require_tls" : "opportunistic_tls");
      purple_account_set_bool (a, "auth_plain_in_clear", c->tls == IMS_TLS_OFF);
      purple_account_set_string (a, "ft_proxies", "");
    }
  else
    {
      if (c->port)
        purple_account_set_int (a, "port", c->port);
      if (g_str_equal (pp->prpl, "prpl-irc"))
        purple_account_set_bool (a, "ssl", c->tls != IMS_TLS_OFF);
    }
  ims_purple_set_own_status (pp);
}

static void
ims_purple_peer_free (ImsPurplePeer *pp)
{
  ims_purple_stop_ping (pp);
  g_clear_handle_id (&pp->roster_id, g_source_remove);
  g_clear_pointer (&pp->roster, g_hash_table_unref);
  g_free (pp->name);
  g_free (pp->busy_message);
  g_free (pp->prpl);
  g_free (pp);
}

static void
ims_purple_start (ImsDriver *driver, const ImsAccount *acct)
{
  ImsPurple *self = (ImsPurple *) driver;
  g_autofree char *why = NULL;
  const char *prpl = ims_purple_prpl_for (acct->type, &why);
  g_return_if_fail (prpl != NULL);

  ImsPurplePeer *pp = g_new0 (ImsPurplePeer, 1);
  pp->owner = self;
  pp->acct = acct;
  pp->name = g_strdup (acct->peer);
  pp->prpl = g_strdup (prpl);
  pp->xmpp = g_str_equal (prpl, "prpl-jabber");

  /* Account name: XMPP user@domain/resource; others the id as configured. */
  g_autofree char *account_name = pp->xmpp
                                      ? g_strdup_printf ("%s/%s", acct->id, acct->resource)
                                      : g_strdup (acct->id);
  pp->account = purple_accounts_find (account_name, prpl);
  if (pp->account == NULL)
    {
      pp->account = purple_account_new (account_name, prpl);
      purple_accounts_add (pp->account);
    }
  g_hash_table_insert (self->peers, pp->name, pp);
  g_hash_table_insert (self->by_account, pp->account, pp);
  if (acct->secret)
    g_ptr_array_add (self->ui.secrets, g_strdup (acct->secret));
  ims_purple_configure (pp);
}

static void
ims_purple_connect (ImsDriver *driver, const char *name)
{
  ImsPurple *self = (ImsPurple *) driver;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  if (pp == NULL || !purple_account_is_disconnected (pp->account))
    return;
  /* remember-password is off, so libpurple wiped it at the last disconnect. */
  purple_account_set_password (pp->account, pp->acct->secret ? pp->acct->secret : "");
  if (pp->xmpp)
    {
      g_clear_handle_id (&pp->login_timeout_id, g_source_remove);
      pp->login_timeout_id = g_timeout_add_seconds (MAX (30, 3 * pp->acct->pingtimeout),
                                                    ims_purple_on_login_timeout, pp);
    }
  if (!purple_account_get_enabled (pp->account, IMS_PURPLE_UI))
    purple_account_set_enabled (pp->account, IMS_PURPLE_UI, TRUE);
  else
    purple_account_connect (pp->account);
}

static void
ims_purple_stop (ImsDriver *driver, const char *name)
{
  ImsPurple *self = (ImsPurple *) driver;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  if (pp == NULL)
    return;
  g_hash_table_remove (self->by_account, pp->account);
  /* Deleting the account also drops it from accounts.xml and blist.xml, so a
   * changed peer starts from a clean slate; the server roster stays. */
  purple_accounts_delete (pp->account);
  pp->account = NULL;
  g_hash_table_remove (self->peers, name);
}

static void
ims_purple_subscribe (ImsDriver *driver, const char *peer, const char *id)
{
  ImsPurple *self = (ImsPurple *) driver;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, peer);
  if (pp == NULL || !purple_account_is_connected (pp->account))
    return;
  g_autofree char *name = ims_purple_name (pp, id);
  PurpleBuddy *b = purple_find_buddy (pp->account, name);
  if (b == NULL)
    {
      PurpleGroup *group = purple_find_group (IMS_PURPLE_GROUP);
      if (group == NULL)
        {
          group = purple_group_new (IMS_PURPLE_GROUP);
          purple_blist_add_group (group, NULL);
        }
      b = purple_buddy_new (pp->account, name, NULL);
      purple_blist_add_buddy (b, NULL, group, NULL);
    }
  /* XMPP: a roster add and a subscription request; others: watch it. */
  purple_account_add_buddy (pp->account, b);
  if (!pp->xmpp)
    {
      ims_driver_subscription (ims_purple_driver (pp), pp->name, id, IMS_SUB_BOTH);
      ims_purple_on_buddy_changed (b, NULL);
    }
}

static void
ims_purple_unsubscribe (ImsDriver *driver, const char *name, const char *id)
{
  ImsPurple *self = (ImsPurple *) driver;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  g_autofree char *pname = pp ? ims_purple_name (pp, id) : NULL;
  PurpleBuddy *b = pp ? purple_find_buddy (pp->account, pname) : NULL;
  if (b == NULL)
    return;
  if (purple_account_is_connected (pp->account))
    purple_account_remove_buddy (pp->account, b, purple_buddy_get_group (b));
  purple_blist_remove_buddy (b);
}

static gboolean
ims_purple_send (ImsDriver *driver, const char *name, const char *to, const char *text,
                 GError **error)
{
  ImsPurple *self = (ImsPurple *) driver;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  PurpleConnection *gc = pp ? purple_account_get_connection (pp->account) : NULL;
  if (gc == NULL || !PURPLE_CONNECTION_IS_CONNECTED (gc))
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_NOTCONNECTED, "%s is not connected",
                   name);
      return FALSE;
    }
  /* prpl-jabber reads the text as HTML: escape it so '<' and '&' arrive as typed.
   * It also expects a conversation to exist; a short-lived one, so nothing
   * accumulates per recipient. */
  g_autofree char *html = g_markup_escape_text (text, -1);
  g_autofree char *who = ims_purple_name (pp, to);
  PurpleConversation *conv =
      purple_find_conversation_with_account (PURPLE_CONV_TYPE_IM, who, pp->account);
  gboolean temporary = conv == NULL;
  if (temporary)
    conv = purple_conversation_new (PURPLE_CONV_TYPE_IM, pp->account, who);
  int r = serv_send_im (gc, who, html, 0);
  if (temporary)
    purple_conversation_destroy (conv);
  if (r < 0)
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_SEND, "sending failed (%d)", r);
      return FALSE;
    }
  return TRUE;
}

static void
ims_purple_set_own (ImsDriver *driver, const char *name, gboolean busy, const char *message)
{
  ImsPurple *self = (ImsPurple *) driver;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  if (pp == NULL)
    return;
  pp->busy = busy;
  g_free (pp->busy_message);
  pp->busy_message = g_strdup (message);
  ims_purple_set_own_status (pp);
}

static void
ims_purple_set_debug (ImsDriver *driver, int level)
{
  ImsPurple *self = (ImsPurple *) driver;
  self->ui.debug = level;
  purple_debug_set_verbose (level >= 2);
}

static void
ims_purple_free (ImsDriver *driver)
{
  ImsPurple *self = (ImsPurple *) driver;
  GHashTableIter it;
  gpointer v;
  /* Logging out is not a connection loss: no reports from the signals. */
  g_hash_table_remove_all (self->by_account);
  g_hash_table_iter_init (&it, self->peers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      ImsPurplePeer *pp = v;
      g_message ("%s: logging out", pp->name);
      if (!purple_account_is_disconnected (pp->account))
        purple_account_disconnect (pp->account);
      /* Keep the account (no password stored) so the next start reuses it. */
      purple_account_set_enabled (pp->account, IMS_PURPLE_UI, FALSE);
    }
  purple_signals_disconnect_by_handle (self);
  purple_core_quit ();
  ims_purple_ui_uninstall ();
  g_hash_table_unref (self->peers);
  g_hash_table_unref (self->by_account);
  g_ptr_array_unref (self->ui.secrets);
  ims_purple_self = NULL;
  g_free (self);
}

static const ImsDriverOps ims_purple_ops = {
  .name = "libpurple",
  .supports = ims_purple_supports,
  .start = ims_purple_start,
  .connect = ims_purple_connect,
  .stop = ims_purple_stop,
  .subscribe = ims_purple_subscribe,
  .unsubscribe = ims_purple_unsubscribe,
  .set_own = ims_purple_set_own,
  .send = ims_purple_send,
  .set_debug = ims_purple_set_debug,
  .free = ims_purple_free,
};

/* libpurple reads CAs only from directories, for every account at once (so
 * one peer's cafile is trusted for all: the README says so); a cafile is
 * copied into a private one. */
static gboolean
ims_purple_setup_cas (const ImsDriverSetup *setup, const char *userdir, GError **error)
{
  g_autofree char *cadir = g_build_filename (userdir, "ca", NULL);
  if (g_mkdir_with_parents (cadir, 0700) != 0)
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_INIT, "cannot create %s: %s", cadir,
                   g_strerror (errno));
      return FALSE;
    }
  g_autoptr (GDir) d = g_dir_open (cadir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)))
    {
      g_autofree char *old = g_build_filename (cadir, n, NULL);
      g_unlink (old);
    }
  for (guint i = 0; i < setup->accounts->len; i++)
    {
      const ImsAccount *a = setup->accounts->pdata[i];
      if (a->cadir)
        purple_certificate_add_ca_search_path (a->cadir);
      if (a->cafile)
        {
          g_autofree char *text = NULL;
          gsize len;
          g_autoptr (GError) err = NULL;
          if (!g_file_get_contents (a->cafile, &text, &len, &err))
            {
              g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_INIT, "[%s] cafile: %s",
                           a->peer, err->message);
              return FALSE;
            }
          g_autofree char *name = g_strdup_printf ("%s.pem", a->peer);
          g_autofree char *dst = g_build_filename (cadir, name, NULL);
          if (!g_file_set_contents_full (dst, text, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                         error))
            return FALSE;
        }
    }
  purple_certificate_add_ca_search_path (cadir);
  return TRUE;
}

static void
ims_purple_free_partial (ImsPurple *self)
{
  ims_purple_ui_uninstall ();
  ims_purple_self = NULL;
  g_hash_table_unref (self->peers);
  g_hash_table_unref (self->by_account);
  g_ptr_array_unref (self->ui.secrets);
  g_free (self);
}

static ImsDriver *
ims_purple_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  g_return_val_if_fail (ims_purple_self == NULL, NULL);
  g_autofree char *userdir = g_build_filename (setup->statedir, "purple", NULL);
  if (!ims_fs_private_dir (userdir, error))
    return NULL;

  /* Debian's libpurple starts GStreamer in purple_core_init (+60 MB). */
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "/nonexistent", TRUE);
  g_setenv ("GST_PLUGIN_PATH_1_0", "/nonexistent", TRUE);
  g_setenv ("GST_REGISTRY_1_0", "/nonexistent", TRUE);

  ImsPurple *self = g_new0 (ImsPurple, 1);
  self->parent.ops = &ims_purple_ops;
  self->parent.core = core;
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) ims_purple_peer_free);
  self->by_account = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->ui.secrets = g_ptr_array_new_with_free_func (g_free);
  ims_purple_self = self;

  purple_util_set_user_dir (userdir);
  ims_purple_ui_install (&self->ui);
  if (!ims_purple_setup_cas (setup, userdir, error))
    {
      ims_purple_free_partial (self);
      return NULL;
    }
  if (!purple_core_init (IMS_PURPLE_UI))
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_INIT, "libpurple failed to start");
      ims_purple_free_partial (self);
      return NULL;
    }
  purple_set_blist (purple_blist_new ());
  purple_blist_load ();
  purple_prefs_load ();
  purple_prefs_set_bool ("/purple/logging/log_ims", FALSE);
  purple_prefs_set_bool ("/purple/logging/log_chats", FALSE);
  purple_prefs_set_bool ("/purple/logging/log_system", FALSE);
  purple_prefs_set_string ("/purple/away/idle_reporting", "none");
  purple_prefs_set_bool ("/purple/away/away_when_idle", FALSE);
  /* Talk to the configured server and nothing else: no UPnP/NAT-PMP
   * discovery, no public-IP guessing, and a STUN address that needs no SRV
   * lookup (prpl-jabber looks one up after login when none is set). */
  purple_prefs_set_bool ("/purple/network/map_ports", FALSE);
  purple_prefs_set_bool ("/purple/network/auto_ip", FALSE);
  purple_prefs_set_string ("/purple/network/stun_server", "127.0.0.1");
  purple_prefs_set_string ("/purple/network/turn_server", "");
  purple_network_set_stun_server ("127.0.0.1");

  /* Accounts left enabled by an earlier run must not log in by themselves. */
  for (GList *l = purple_accounts_get_all (); l; l = l->next)
    purple_account_set_enabled (l->data, IMS_PURPLE_UI, FALSE);

  ims_purple_connect_signals (self);
  return &self->parent;
}

static const char *const xmpp_types[] = { "jabber", "xmpp", NULL };
static const char *const xmpp_keys[] = { "cafile", "cadir", "resource", "pinginterval",
                                         "pingtimeout", NULL };

/* XMPP through libpurple's prpl-jabber. */
const ImsNetwork ims_xmpp_network = {
  .name = "XMPP",
  .driver = "libpurple",
  .types = xmpp_types,
  .summary = "XMPP (Jabber) through libpurple: Prosody, ejabberd and any other server",
  .keys = xmpp_keys,
  .default_host = NULL, /* the username's domain (libpurple looks up its SRV record) */
  .default_port = 5222,
  .bare_ids = FALSE,
  .cleartext = NULL,
  .pong = TRUE,
  .max_message = 0,
  .show_words = "available chat away xa dnd",
  .new_driver = ims_purple_driver_new,
};

/* Whatever else a libpurple plugin on this machine serves (type=irc,
 * type=prpl-...): decided when the peer starts. */
const ImsNetwork ims_purple_network = {
  .name = "libpurple",
  .driver = "libpurple",
  .types = NULL,
  .summary = "any other libpurple protocol installed here (irc, simple, ...; or prpl-<id>)",
  .keys = NULL,
  .default_host = NULL,
  .default_port = 0,
  .bare_ids = FALSE,
  .cleartext = NULL,
  .pong = FALSE,
  .max_message = 0,
  .show_words = "the plugin's status ids",
  .new_driver = ims_purple_driver_new,
};
