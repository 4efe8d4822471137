/* ims-core: the driver set, peer lifecycle, reconnects, subscriptions and the
 * reload diff.  Drivers report up through the ims_core_* functions declared
 * in ims-driver.h; everything they report reaches the store from here.
 */
#define G_LOG_DOMAIN "ims-core"

#include "ims-core.h"

#include <gio/gio.h>
#include <string.h>

#include "ims-backoff.h"
#include "ims-rate.h"
#include "ims-text.h"

G_DEFINE_QUARK (ims-core-error-quark, ims_core_error)

#define PROBE_INTERVAL_S 2
#define LOG_ID_MAX 256
#define STRANGER_LOGS_PER_MINUTE 5
#define MESSAGES_PER_MINUTE 20 /* from one sender, before the rest are dropped */

typedef struct _CorePeer CorePeer;

/* Owned by the async connect; cp is cleared when the peer no longer wants
 * the answer, so the callback never touches a freed peer. */
typedef struct {
  CorePeer *cp;
  GCancellable *cancel;
} Probe;

struct _CorePeer {
  ImsCore *core;
  ImsPeerConfig *cfg;
  ImsAccount account;   /* points into cfg, id and domain */
  char *id;
  char *domain;
  const ImsNetwork *net; /* its descriptor; NULL when no network serves the type */
  ImsDriver *driver;    /* NULL: not logged in by any driver (unregistered, unsupported) */
  ImsBackoff backoff;
  guint reconnect_id;
  guint probe_id;       /* while waiting to reconnect: is the server back? */
  Probe *probe;
  gboolean aligned;     /* subscriptions asked for since this login */
  gboolean busy;
  char *busy_message;
  gint64 stranger_minute;    /* the minute stranger_logs counts in */
  guint stranger_logs;
  guint stranger_quiet;      /* not logged in that minute */
  ImsRate *senders;          /* the last minute's messages per sender */
};

struct _ImsCore {
  ImsPresenceStore *store;
  ImsCoreHooks hooks;
  const ImsConfig *config;              /* the running one: borrowed, replaced by apply */
  const ImsNetwork *const *networks;    /* the registry */
  GPtrArray *drivers;   /* ImsDriver*, one per constructor, in registry order */
  GHashTable *driver_of; /* const ImsNetwork* -> ImsDriver* */
  GHashTable *peers;    /* name -> CorePeer */
  int debug;
};

static void ims_core_start_peer (ImsCore *core, const ImsPeerConfig *cfg);

/* ---- accounts ---- */

static void
ims_core_account_fill (CorePeer *cp)
{
  g_clear_pointer (&cp->id, g_free);
  g_clear_pointer (&cp->domain, g_free);
  cp->net = ims_network_find (cp->core->networks, cp->cfg->type);
  ims_config_peer_account (cp->core->config, cp->cfg, &cp->account, &cp->id, &cp->domain);
}

static CorePeer *
ims_core_peer_new (ImsCore *core, const ImsPeerConfig *cfg)
{
  CorePeer *cp = g_new0 (CorePeer, 1);
  cp->core = core;
  cp->cfg = ims_peer_config_copy (cfg);
  ims_core_account_fill (cp);
  return cp;
}

static void
ims_core_stop_probe (CorePeer *cp)
{
  g_clear_handle_id (&cp->probe_id, g_source_remove);
  if (cp->probe)
    {
      cp->probe->cp = NULL;
      g_cancellable_cancel (cp->probe->cancel);
      cp->probe = NULL;
    }
}

static void
ims_core_peer_free (CorePeer *cp)
{
  g_clear_handle_id (&cp->reconnect_id, g_source_remove);
  ims_core_stop_probe (cp);
  if (cp->driver)
    cp->driver->ops->stop (cp->driver, cp->cfg->name);
  ims_peer_config_free (cp->cfg);
  g_clear_pointer (&cp->senders, ims_rate_free);
  g_free (cp->id);
  g_free (cp->domain);
  g_free (cp->busy_message);
  g_free (cp);
}

static CorePeer *
ims_core_peer (ImsCore *core, const char *name)
{
  return name ? g_hash_table_lookup (core->peers, name) : NULL;
}

/* A peer a driver serves and reports about. */
static CorePeer *
ims_core_live_peer (ImsCore *core, const char *name)
{
  CorePeer *cp = ims_core_peer (core, name);
  return cp && cp->driver ? cp : NULL;
}

/* ---- reconnects ---- */

static gboolean
on_core_reconnect (gpointer data)
{
  CorePeer *cp = data;
  cp->reconnect_id = 0;
  ims_core_stop_probe (cp);
  g_info ("%s: reconnecting", cp->cfg->name);
  ims_presence_store_set_peer_state (cp->core->store, cp->cfg->name, IMS_PEER_CONNECTING, NULL);
  cp->driver->ops->connect (cp->driver, cp->cfg->name);
  return G_SOURCE_REMOVE;
}

static void
probe_cb (GObject *src, GAsyncResult *res, gpointer data)
{
  Probe *probe = data;
  CorePeer *cp = probe->cp;
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (src), res, NULL);
  g_object_unref (probe->cancel);
  g_free (probe);
  if (conn)
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  if (cp == NULL)
    return;
  cp->probe = NULL;
  if (conn == NULL || cp->reconnect_id == 0)
    return;
  g_info ("%s: the server accepts connections again; reconnecting now", cp->cfg->name);
  g_clear_handle_id (&cp->reconnect_id, g_source_remove);
  cp->reconnect_id = g_idle_add (on_core_reconnect, cp);
}

/* The backoff spaces out logins; a bare TCP connect every 2 s costs the
 * server nothing and ends the wait as soon as it is back. */
static gboolean
on_core_probe (gpointer data)
{
  CorePeer *cp = data;
  const char *host = ims_core_peer_host (cp->core, cp->cfg->name);
  int port = ims_core_peer_port (cp->core, cp->cfg->name);
  if (host == NULL || port == 0 || cp->probe != NULL)
    return G_SOURCE_CONTINUE;
  cp->probe = g_new0 (Probe, 1);
  cp->probe->cp = cp;
  cp->probe->cancel = g_cancellable_new ();
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PROBE_INTERVAL_S);
  g_socket_client_connect_to_host_async (client, host, port, cp->probe->cancel, probe_cb,
                                         cp->probe);
  return G_SOURCE_CONTINUE;
}

static void
ims_core_schedule_reconnect (CorePeer *cp)
{
  if (cp->reconnect_id)
    return;
  if (cp->probe_id == 0)
    cp->probe_id = g_timeout_add_seconds (PROBE_INTERVAL_S, on_core_probe, cp);
  guint ms = ims_backoff_next_ms (&cp->backoff);
  g_info ("%s: next connection attempt in %u ms", cp->cfg->name, ms);
  cp->reconnect_id = g_timeout_add (ms, on_core_reconnect, cp);
}

/* ---- reports from drivers ---- */

void
ims_core_logged_in (ImsCore *core, const char *peer)
{
  CorePeer *cp = ims_core_live_peer (core, peer);
  if (cp == NULL)
    return;
  ims_backoff_reset (&cp->backoff);
  g_clear_handle_id (&cp->reconnect_id, g_source_remove);
  ims_core_stop_probe (cp);
  cp->aligned = FALSE;
  g_message ("%s: logged in as %s", peer, cp->id);
  ims_presence_store_set_peer_state (core->store, peer, IMS_PEER_REGISTERED, NULL);
}

void
ims_core_disconnected (ImsCore *core, const char *peer, const char *reason, gboolean fatal)
{
  CorePeer *cp = ims_core_live_peer (core, peer);
  if (cp == NULL)
    return;
  ImsPeerState state = ims_presence_store_get_peer_state (core->store, peer, NULL);
  /* A second report of the same loss (libpurple's signed-off after its
   * connection-error) changes nothing; a failed login stays failed. */
  if (!fatal && (state == IMS_PEER_FAILED || cp->reconnect_id))
    return;
  g_autofree char *safe = ims_text_for_log (reason ? reason : "connection lost", 200);
  if (fatal)
    {
      /* A wrong password or a rejected certificate will not fix itself:
       * retrying would only hammer the server.  `imctl reload` tries again. */
      g_warning ("%s: login failed: %s (not retrying; fix im.conf and reload)", peer, safe);
      g_clear_handle_id (&cp->reconnect_id, g_source_remove);
      ims_core_stop_probe (cp);
      ims_presence_store_set_peer_state (core->store, peer, IMS_PEER_FAILED, safe);
      return;
    }
  g_warning ("%s: connection error: %s", peer, safe);
  ims_presence_store_set_peer_state (core->store, peer, IMS_PEER_CONNECTING, safe);
  ims_core_schedule_reconnect (cp);
}

/* Asks for every watched buddy not yet seen: once per login, after the
 * roster arrived (asking on every roster push would send N requests per
 * push, N^2 for N buddies).  Entries the config does not name are left
 * alone. */
static void
ims_core_align (CorePeer *cp)
{
  ImsCore *core = cp->core;
  if (cp->aligned)
    return;
  cp->aligned = TRUE;
  g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (core->store, cp->cfg->name);
  for (guint i = 0; i < buddies->len; i++)
    {
      const char *id = buddies->pdata[i];
      ImsAnswer a;
      ims_presence_store_lookup (core->store, cp->cfg->name, id, &a);
      ImsSubscription sub = a.subscription;
      ims_answer_clear (&a);
      if (sub == IMS_SUB_BOTH)
        continue;
      g_info ("%s: asking %s for presence subscription", cp->cfg->name, id);
      if (sub == IMS_SUB_NONE)
        ims_presence_store_set_subscription (core->store, cp->cfg->name, id, IMS_SUB_PENDING);
      cp->driver->ops->subscribe (cp->driver, cp->cfg->name, id);
    }
}

void
ims_core_roster (ImsCore *core, const char *peer, GHashTable *items)
{
  CorePeer *cp = ims_core_live_peer (core, peer);
  if (cp == NULL)
    return;
  g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (core->store, peer);
  for (guint i = 0; i < buddies->len && items; i++)
    {
      gpointer v = NULL;
      ImsSubscription sub = g_hash_table_lookup_extended (items, buddies->pdata[i], NULL, &v)
                                ? (ImsSubscription) GPOINTER_TO_INT (v)
                                : IMS_SUB_NONE;
      ims_presence_store_set_subscription (core->store, peer, buddies->pdata[i], sub);
    }
  ims_core_align (cp);
  ims_presence_store_set_roster_ready (core->store, peer);
}

void
ims_core_subscription (ImsCore *core, const char *peer, const char *buddy, ImsSubscription sub)
{
  if (ims_core_live_peer (core, peer))
    ims_presence_store_set_subscription (core->store, peer, buddy, sub);
}

void
ims_core_presence (ImsCore *core, const char *peer, const char *buddy, const char *resource,
                   const ImsResourcePresence *presence)
{
  if (ims_core_live_peer (core, peer) == NULL)
    return;
  if (presence == NULL)
    ims_presence_store_remove_resource (core->store, peer, buddy, resource ? resource : "");
  else if (ims_presence_store_get_peer_state (core->store, peer, NULL) == IMS_PEER_REGISTERED)
    ims_presence_store_update_resource (core->store, peer, buddy, resource ? resource : "",
                                        presence);
}

gboolean
ims_core_authorize (ImsCore *core, const char *peer, const char *buddy)
{
  /* Only a buddy the config names, whatever state the peer is in; strangers
   * never. */
  g_autofree char *id = g_utf8_strdown (buddy, -1); /* exact: never completed with a domain */
  gboolean watched = ims_presence_store_is_watched (core->store, peer, id);
  g_autofree char *safe = ims_text_for_log (buddy, LOG_ID_MAX);
  if (watched)
    g_info ("%s: approved subscription request from %s", peer, safe);
  else
    ims_core_log_stranger (core, peer, "subscription request (denied)", buddy);
  return watched;
}

static gboolean
ims_core_list_has (GPtrArray *list, const char *id, gboolean patterns)
{
  for (guint i = 0; list && i < list->len; i++)
    {
      const char *item = list->pdata[i];
      if (g_ascii_strcasecmp (item, "any") == 0 || g_ascii_strcasecmp (item, id) == 0)
        return TRUE;
      if (patterns)
        {
          g_autofree char *low = g_utf8_strdown (item, -1);
          if (g_pattern_match_simple (low, id))
            return TRUE;
        }
    }
  return FALSE;
}

gboolean
ims_core_watches (ImsCore *core, const char *peer, const char *id)
{
  g_autofree char *low = id ? g_utf8_strdown (id, -1) : NULL;
  return ims_presence_store_is_watched (core->store, peer, low);
}

gboolean
ims_core_accepts (ImsCore *core, const char *peer, const char *from)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL || from == NULL)
    return FALSE;
  g_autofree char *id = g_utf8_strdown (from, -1);
  if (cp->cfg->acceptfrom->len)
    return ims_core_list_has (cp->cfg->acceptfrom, id, FALSE);
  return ims_presence_store_is_watched (core->store, peer, id)
         || ims_core_list_has (cp->cfg->dialallow, id, FALSE);
}

gboolean
ims_core_may_send_to (ImsCore *core, const char *peer, const char *to)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL || to == NULL)
    return FALSE;
  g_autofree char *id = g_utf8_strdown (to, -1);
  if (cp->cfg->sendallow->len)
    return ims_core_list_has (cp->cfg->sendallow, id, TRUE);
  return ims_presence_store_is_watched (core->store, peer, id);
}

void
ims_core_log_stranger (ImsCore *core, const char *peer, const char *what, const char *from)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL)
    return;
  gint64 minute = g_get_monotonic_time () / (60 * G_USEC_PER_SEC);
  if (minute != cp->stranger_minute)
    {
      if (cp->stranger_quiet)
        g_message ("%s: %u more from strangers in the last minute, not logged one by one", peer,
                   cp->stranger_quiet);
      cp->stranger_minute = minute;
      cp->stranger_logs = cp->stranger_quiet = 0;
    }
  if (cp->stranger_logs >= STRANGER_LOGS_PER_MINUTE)
    {
      cp->stranger_quiet++;
      return;
    }
  cp->stranger_logs++;
  g_autofree char *safe = ims_text_for_log (from, LOG_ID_MAX);
  g_message ("%s: ignored a %s from %s (not a buddy it accepts)%s", peer, what, safe,
             cp->stranger_logs == STRANGER_LOGS_PER_MINUTE ? "; more this minute are counted"
                                                           : "");
}

/* At most MESSAGES_PER_MINUTE from one sender reach the daemon. */
static gboolean
ims_core_sender_ok (CorePeer *cp, const char *from)
{
  if (cp->senders == NULL)
    cp->senders = ims_rate_new (60);
  return ims_rate_allow (cp->senders, from, MESSAGES_PER_MINUTE);
}

void
ims_core_message (ImsCore *core, const char *peer, const char *from, const char *text)
{
  CorePeer *cp = ims_core_live_peer (core, peer);
  if (cp == NULL || core->hooks.message == NULL)
    return;
  if (!ims_core_accepts (core, peer, from))
    {
      ims_core_log_stranger (core, peer, "message", from);
      return;
    }
  if (!ims_core_sender_ok (cp, from))
    {
      ims_core_log_stranger (core, peer, "message over the rate limit", from);
      return;
    }
  core->hooks.message (core->hooks.user_data, peer, from, text);
}

/* ---- peers ---- */

/* The driver of @cp's network, if it can serve the type here. */
static ImsDriver *
ims_core_route (CorePeer *cp, char **why)
{
  ImsDriver *d = cp->net ? g_hash_table_lookup (cp->core->driver_of, cp->net) : NULL;
  if (d == NULL)
    {
      g_autofree char *words = ims_network_type_words (cp->core->networks, ", ");
      *why = g_strdup_printf ("no driver for type=%s (known: %s)", cp->cfg->type, words);
      return NULL;
    }
  if (d->ops->supports && !d->ops->supports (d, cp->cfg->type, why))
    {
      if (*why == NULL)
        *why = g_strdup_printf ("no driver for type=%s", cp->cfg->type);
      return NULL;
    }
  return d;
}

static void
ims_core_start_peer (ImsCore *core, const ImsPeerConfig *cfg)
{
  CorePeer *cp = ims_core_peer_new (core, cfg);
  g_hash_table_insert (core->peers, cp->cfg->name, cp);
  ims_presence_store_add_peer (core->store, cfg->name, cp->id, cp->domain);
  ims_presence_store_set_watched (core->store, cfg->name, cfg->subscribe, cfg->remote);

  g_autofree char *why = NULL;
  ImsDriver *driver = NULL;
  if (core->hooks.allowed && !core->hooks.allowed (core->hooks.user_data, cfg, &why))
    {
      g_message ("%s: staying logged out: %s", cfg->name, why);
      ims_presence_store_set_peer_state (core->store, cfg->name, IMS_PEER_UNREGISTERED, why);
    }
  else if ((driver = ims_core_route (cp, &why)) == NULL)
    {
      g_warning ("%s: unsupported: %s", cfg->name, why);
      ims_presence_store_set_peer_state (core->store, cfg->name, IMS_PEER_UNSUPPORTED, why);
    }
  else
    {
      cp->driver = driver;
      driver->ops->start (driver, &cp->account);
      g_message ("%s: logging in as %s (%s)", cfg->name, cp->id, driver->ops->name);
      ims_presence_store_set_peer_state (core->store, cfg->name, IMS_PEER_CONNECTING, NULL);
      driver->ops->connect (driver, cfg->name);
    }
  if (core->hooks.peer_added)
    core->hooks.peer_added (core->hooks.user_data, cfg);
}

static void
ims_core_stop_peer (ImsCore *core, const char *name)
{
  CorePeer *cp = ims_core_peer (core, name);
  if (cp && cp->driver)
    g_message ("%s: logging out", name);
  g_hash_table_remove (core->peers, name); /* the driver's stop runs here */
  ims_presence_store_remove_peer (core->store, name);
}

/* Only live keys changed: take the new config, and follow a new subscribe
 * list with subscriptions asked for and dropped, without a new login. */
static void
ims_core_update_peer (ImsCore *core, CorePeer *cp, const ImsPeerConfig *fresh)
{
  const char *name = fresh->name;
  /* Copies: set_watched frees the ids of buddies no longer watched. */
  g_autoptr (GPtrArray) listed = ims_presence_store_list_buddies (core->store, name);
  g_autoptr (GPtrArray) before = g_ptr_array_copy (listed, (GCopyFunc) g_strdup, NULL);
  g_ptr_array_set_free_func (before, g_free);
  ims_presence_store_set_watched (core->store, name, fresh->subscribe, fresh->remote);
  g_autoptr (GPtrArray) after = ims_presence_store_list_buddies (core->store, name);

  ImsPeerConfig *old = cp->cfg;
  cp->cfg = ims_peer_config_copy (fresh);
  g_hash_table_steal (core->peers, name);
  g_hash_table_insert (core->peers, cp->cfg->name, cp);
  ims_core_account_fill (cp);
  ims_peer_config_free (old);

  gboolean online = cp->driver && cp->aligned
                    && ims_presence_store_get_peer_state (core->store, name, NULL)
                           == IMS_PEER_REGISTERED;
  for (guint i = 0; i < before->len && cp->driver; i++)
    if (!g_ptr_array_find_with_equal_func (after, before->pdata[i], g_str_equal, NULL))
      {
        g_info ("%s: no longer watching %s", name, (const char *) before->pdata[i]);
        cp->driver->ops->unsubscribe (cp->driver, name, before->pdata[i]);
      }
  if (online)
    {
      cp->aligned = FALSE;
      ims_core_align (cp);
    }
}

void
ims_core_apply (ImsCore *core, const ImsConfig *config, ImsCoreChanges *changes)
{
  core->config = config;
  ImsCoreChanges n = { 0 };
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free); /* copies: stop frees names */
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, core->peers);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (ims_config_find_peer (config, k) == NULL)
      g_ptr_array_add (gone, g_strdup (k));
  /* Stop in the store's order so logs read in file order. */
  g_autoptr (GPtrArray) order = ims_presence_store_list_peers (core->store);
  for (guint i = 0; i < order->len; i++)
    if (g_ptr_array_find_with_equal_func (gone, order->pdata[i], g_str_equal, NULL))
      {
        g_autofree char *name = g_strdup (order->pdata[i]);
        ims_core_stop_peer (core, name);
        n.removed++;
      }

  for (guint i = 0; i < config->peers->len; i++)
    {
      const ImsPeerConfig *p = config->peers->pdata[i];
      CorePeer *cp = ims_core_peer (core, p->name);
      if (cp == NULL)
        {
          ims_core_start_peer (core, p);
          n.added++;
          continue;
        }
      switch (ims_peer_config_diff (cp->cfg, p))
        {
        case IMS_PEER_SAME:
          n.kept++;
          break;
        case IMS_PEER_LIVE:
          ims_core_update_peer (core, cp, p);
          n.live++;
          break;
        case IMS_PEER_LOGIN:
          ims_core_stop_peer (core, p->name);
          ims_core_start_peer (core, p);
          n.changed++;
          break;
        }
    }
  if (changes)
    *changes = n;
}

void
ims_core_recheck (ImsCore *core, const char *peer)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL)
    return;
  g_autofree char *why = NULL;
  gboolean allowed = core->hooks.allowed == NULL
                     || core->hooks.allowed (core->hooks.user_data, cp->cfg, &why);
  gboolean out = ims_presence_store_get_peer_state (core->store, peer, NULL)
                 == IMS_PEER_UNREGISTERED;
  if (allowed == out)
    {
      g_autoptr (ImsPeerConfig) cfg = ims_peer_config_copy (cp->cfg);
      ims_core_stop_peer (core, peer);
      ims_core_start_peer (core, cfg);
    }
  else if (!allowed)
    ims_presence_store_set_peer_state (core->store, peer, IMS_PEER_UNREGISTERED, why);
}

/* ---- calls from the front ends ---- */

gboolean
ims_core_send (ImsCore *core, const char *peer, const char *to, const char *text, GError **error)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL)
    {
      g_set_error (error, IMS_CORE_ERROR, IMS_CORE_ERROR_NOPEER, "no peer %s", peer);
      return FALSE;
    }
  if (cp->driver == NULL
      || ims_presence_store_get_peer_state (core->store, peer, NULL) != IMS_PEER_REGISTERED)
    {
      g_set_error (error, IMS_CORE_ERROR, IMS_CORE_ERROR_NOTCONNECTED, "%s is not connected",
                   peer);
      return FALSE;
    }
  return cp->driver->ops->send (cp->driver, peer, to, text, error);
}

void
ims_core_set_own (ImsCore *core, const char *peer, gboolean busy, const char *message)
{
  CorePeer *cp = ims_core_live_peer (core, peer);
  if (cp == NULL || (cp->busy == busy && g_strcmp0 (cp->busy_message, message) == 0))
    return;
  cp->busy = busy;
  g_free (cp->busy_message);
  cp->busy_message = g_strdup (message);
  g_info ("%s: own status now %s", peer, busy ? "busy" : "available");
  cp->driver->ops->set_own (cp->driver, peer, busy, message);
}

void
ims_core_phone (ImsCore *core, const char *peer, const char *exten, const ImsPhoneState *state)
{
  CorePeer *cp = ims_core_live_peer (core, peer);
  if (cp && cp->driver && cp->driver->ops->phone)
    cp->driver->ops->phone (cp->driver, peer, exten, state);
}

void
ims_core_set_debug (ImsCore *core, int level)
{
  core->debug = level;
  for (guint i = 0; i < core->drivers->len; i++)
    {
      ImsDriver *d = core->drivers->pdata[i];
      d->ops->set_debug (d, level);
    }
}

const char *
ims_core_peer_host (ImsCore *core, const char *peer)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL)
    return NULL;
  return cp->account.host ? cp->account.host : cp->domain;
}

int
ims_core_peer_port (ImsCore *core, const char *peer)
{
  CorePeer *cp = ims_core_peer (core, peer);
  if (cp == NULL)
    return 0;
  return cp->account.port ? cp->account.port : cp->net ? cp->net->default_port : 0;
}

/* ---- life ---- */

static const ImsDriverHost ims_core_host = {
  .logged_in = ims_core_logged_in,
  .disconnected = ims_core_disconnected,
  .roster = ims_core_roster,
  .subscription = ims_core_subscription,
  .presence = ims_core_presence,
  .authorize = ims_core_authorize,
  .watches = ims_core_watches,
  .accepts = ims_core_accepts,
  .log_stranger = ims_core_log_stranger,
  .message = ims_core_message,
};

ImsCore *
ims_core_new (ImsPresenceStore *store, const ImsConfig *config, const ImsCoreHooks *hooks,
              GError **error)
{
  ImsCore *core = g_new0 (ImsCore, 1);
  core->store = store;
  core->config = config;
  core->networks = config->networks;
  core->driver_of = g_hash_table_new (NULL, NULL);
  if (hooks)
    core->hooks = *hooks;
  core->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) ims_core_peer_free);
  core->drivers = g_ptr_array_new ();

  /* The drivers see every account before any logs in (libpurple must know
   * the CAs before it starts). */
  g_autoptr (GPtrArray) peers = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_core_peer_free);
  g_autoptr (GPtrArray) accounts = g_ptr_array_new ();
  for (guint i = 0; i < config->peers->len; i++)
    {
      CorePeer *cp = ims_core_peer_new (core, config->peers->pdata[i]);
      g_ptr_array_add (peers, cp);
      g_ptr_array_add (accounts, &cp->account);
    }
  ImsDriverSetup setup = { .statedir = config->statedir, .accounts = accounts };
  /* One driver per constructor: descriptors that name the same one (XMPP
   * and the other libpurple protocols) share it. */
  for (const ImsNetwork *const *n = core->networks; n && *n; n++)
    {
      ImsDriver *d = NULL;
      for (const ImsNetwork *const *m = core->networks; m < n && d == NULL; m++)
        if ((*m)->new_driver == (*n)->new_driver)
          d = g_hash_table_lookup (core->driver_of, *m);
      if (d == NULL)
        {
          d = (*n)->new_driver (core, &setup, error);
          if (d == NULL)
            {
              g_prefix_error (error, "%s: ", (*n)->name);
              ims_core_free (core);
              return NULL;
            }
          d->core = core;
          d->host = &ims_core_host;
          g_ptr_array_add (core->drivers, d);
        }
      g_hash_table_insert (core->driver_of, (gpointer) *n, d);
    }
  return core;
}

void
ims_core_free (ImsCore *core)
{
  if (core == NULL)
    return;
  /* The drivers log every peer out as they are freed; a driver's stop here
   * would forget its accounts (libpurple deletes them) for nothing. */
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, core->peers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    ((CorePeer *) v)->driver = NULL;
  g_hash_table_remove_all (core->peers);
  g_hash_table_unref (core->peers);
  for (guint i = core->drivers->len; i-- > 0;)
    {
      ImsDriver *d = core->drivers->pdata[i];
      d->ops->free (d);
    }
  g_ptr_array_unref (core->drivers);
  g_hash_table_unref (core->driver_of);
  g_free (core);
}
