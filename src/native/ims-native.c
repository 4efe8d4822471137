/* ims-native: see the header. */
#define G_LOG_DOMAIN "ims-native"

#include "ims-native.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
  ImsDriver base;
  ImsDriverOps ops; /* the shared ops, named after the network (for logs) */
  const ImsNativeProto *proto;
  GHashTable *peers; /* name -> ImsNativePeer* */
  int debug;
} ImsNative;

static ImsNativePeer *
ims_native_peer (ImsDriver *d, const char *peer)
{
  return g_hash_table_lookup (((ImsNative *) d)->peers, peer);
}

int
ims_native_debug (ImsNativePeer *p)
{
  return ((ImsNative *) p->driver)->debug;
}

const char *
ims_native_host (ImsNativePeer *p)
{
  return p->acct->host; /* the configured host, else the descriptor's (config fills it) */
}

int
ims_native_port (ImsNativePeer *p)
{
  return p->acct->port ? p->acct->port : p->proto->network->default_port;
}

const char *
ims_native_own_text (ImsNativePeer *p)
{
  if (p->busy)
    return p->busy_message ? p->busy_message : "";
  return p->acct->statusmessage;
}

/* ---- the timers every native network needs, once ---- */

static void
ims_native_stop_timers (ImsNativePeer *p)
{
  g_clear_handle_id (&p->login_timeout_id, g_source_remove);
  g_clear_handle_id (&p->keepalive_id, g_source_remove);
  g_clear_handle_id (&p->pong_timeout_id, g_source_remove);
}

static gboolean
on_native_login_timeout (gpointer data)
{
  ImsNativePeer *p = data;
  p->login_timeout_id = 0;
  ims_native_fail (p, FALSE, "no answer from the %s server during login",
                   p->proto->network->name);
  return G_SOURCE_REMOVE;
}

static gboolean
on_native_pong_timeout (gpointer data)
{
  ImsNativePeer *p = data;
  p->pong_timeout_id = 0;
  ims_native_fail (p, FALSE, "no answer to a ping in %d s", p->acct->pingtimeout);
  return G_SOURCE_REMOVE;
}

static gboolean
on_native_keepalive (gpointer data)
{
  ImsNativePeer *p = data;
  p->proto->keepalive (p);
  /* Only networks that answer can be caught not answering. */
  if (p->proto->network->pong && p->pong_timeout_id == 0 && p->acct->pingtimeout > 0)
    p->pong_timeout_id = g_timeout_add_seconds ((guint) p->acct->pingtimeout,
                                                on_native_pong_timeout, p);
  return G_SOURCE_CONTINUE;
}

void
ims_native_pong (ImsNativePeer *p)
{
  g_clear_handle_id (&p->pong_timeout_id, g_source_remove);
}

void
ims_native_logged_in (ImsNativePeer *p)
{
  if (p->online)
    return;
  p->online = TRUE;
  g_clear_handle_id (&p->login_timeout_id, g_source_remove);
  if (p->proto->keepalive)
    p->keepalive_id = g_timeout_add_seconds ((guint) MAX (p->acct->pinginterval, 1),
                                             on_native_keepalive, p);
  ims_driver_logged_in (p->driver, p->name);
}

void
ims_native_fail (ImsNativePeer *p, gboolean fatal, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *reason = g_strdup_vprintf (format, ap);
  va_end (ap);
  p->online = FALSE;
  ims_native_stop_timers (p);
  p->proto->disconnect (p);
  ims_driver_disconnected (p->driver, p->name, reason, fatal);
}

static void
ims_native_peer_free (ImsNativePeer *p)
{
  ims_native_stop_timers (p);
  p->proto->disconnect (p);
  if (p->proto->finalize)
    p->proto->finalize (p);
  g_free (p->name);
  g_free (p->busy_message);
  g_free (p);
}

static void
ims_native_start (ImsDriver *d, const ImsAccount *account)
{
  ImsNative *n = (ImsNative *) d;
  ImsNativePeer *p = g_malloc0 (n->proto->peer_size);
  p->driver = d;
  p->proto = n->proto;
  p->acct = account;
  p->name = g_strdup (account->peer);
  g_hash_table_replace (n->peers, p->name, p);
}

static void
ims_native_connect (ImsDriver *d, const char *peer)
{
  ImsNativePeer *p = ims_native_peer (d, peer);
  if (p == NULL)
    return;
  p->online = FALSE;
  ims_native_stop_timers (p);
  p->proto->disconnect (p);
  guint login_s = p->proto->login_timeout_s ? p->proto->login_timeout_s : IMS_NATIVE_LOGIN_TIMEOUT_S;
  p->login_timeout_id = g_timeout_add_seconds (login_s, on_native_login_timeout, p);
  p->proto->connect (p);
}

static void
ims_native_stop (ImsDriver *d, const char *peer)
{
  g_hash_table_remove (((ImsNative *) d)->peers, peer);
}

static void
ims_native_subscribe (ImsDriver *d, const char *peer, const char *buddy)
{
  ImsNativePeer *p = ims_native_peer (d, peer);
  if (p && p->online)
    p->proto->subscribe (p, buddy);
}

static void
ims_native_unsubscribe (ImsDriver *d, const char *peer, const char *buddy)
{
  ImsNativePeer *p = ims_native_peer (d, peer);
  if (p && p->online)
    p->proto->unsubscribe (p, buddy);
}

static void
ims_native_set_own (ImsDriver *d, const char *peer, gboolean busy, const char *message)
{
  ImsNativePeer *p = ims_native_peer (d, peer);
  if (p == NULL)
    return;
  if (p->busy == busy && g_strcmp0 (p->busy_message, message) == 0)
    return;
  p->busy = busy;
  g_free (p->busy_message);
  p->busy_message = g_strdup (message);
  if (p->online)
    p->proto->own_changed (p);
}

static gboolean
ims_native_send (ImsDriver *d, const char *peer, const char *to, const char *text, GError **error)
{
  ImsNativePeer *p = ims_native_peer (d, peer);
  if (p == NULL || !p->online)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s is not logged in", peer);
      return FALSE;
    }
  return p->proto->send (p, to, text, error);
}

static void
ims_native_phone (ImsDriver *d, const char *peer, const char *exten, const ImsPhoneState *state)
{
  ImsNativePeer *p = ims_native_peer (d, peer);
  if (p && p->proto->phone)
    p->proto->phone (p, exten, state);
}

static void
ims_native_set_debug (ImsDriver *d, int level)
{
  ((ImsNative *) d)->debug = level;
}

static void
ims_native_free (ImsDriver *d)
{
  ImsNative *n = (ImsNative *) d;
  g_hash_table_destroy (n->peers);
  g_free (n);
}

static const ImsDriverOps ims_native_ops = {
  .name = "native",
  .start = ims_native_start,
  .connect = ims_native_connect,
  .stop = ims_native_stop,
  .subscribe = ims_native_subscribe,
  .unsubscribe = ims_native_unsubscribe,
  .set_own = ims_native_set_own,
  .send = ims_native_send,
  .phone = ims_native_phone,
  .set_debug = ims_native_set_debug,
  .free = ims_native_free,
};

ImsDriver *
ims_native_driver_new (ImsCore *core, const ImsNativeProto *proto)
{
  ImsNative *n = g_new0 (ImsNative, 1);
  n->ops = ims_native_ops;
  n->ops.name = proto->network->driver;
  n->base.ops = &n->ops;
  n->base.core = core;
  n->proto = proto;
  n->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                    (GDestroyNotify) ims_native_peer_free);
  return &n->base;
}
