/* ims-purple: libpurple below the presence store.
 *
 * The traps (DESIGN.md "Why libpurple") and where they are handled:
 *  - certificate prompts: ims_purple_request_action() always picks Reject;
 *  - private CAs: ims_purple_setup_cas() before purple_core_init();
 *  - GStreamer: its plugin path points nowhere before init;
 *  - logging: the /purple/logging prefs off after prefs load;
 *  - passwords: remember-password off, set again before every connect;
 *  - state dir: private 0700, accounts looked up before being created;
 *  - duplicate status callbacks: the store publishes only real changes;
 *  - XEP-0319 idle and per-resource presence: read from the raw stanza in the
 *    jabber-receiving-xmlnode signal;
 *  - no automatic reconnect: ims_purple_schedule_reconnect() with backoff.
 */
#define G_LOG_DOMAIN "ims-xmpp"

#include "ims-purple.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <purple.h>
#include <string.h>

G_DEFINE_QUARK (ims-purple-error-quark, ims_purple_error)

#define IMS_PURPLE_UI "imstatusd"
#define BACKOFF_MIN 1
#define BACKOFF_MAX 60
#define PROBE_INTERVAL_S 2
#define MAX_MESSAGE 65536

typedef struct _ImsPurple ImsPurple;

typedef struct {
  ImsPurple *owner;
  ImsPeerConfig *cfg;
  char *prpl;          /* protocol plugin id */
  char *bare;          /* own bare id, lowercased */
  char *domain;        /* for buddies given without '@' */
  PurpleAccount *account;
  guint reconnect_id;
  guint probe_id;           /* while waiting to reconnect: is the server back? */
  struct _ProbeCtx *probe;  /* the TCP probe in flight, if any */
  guint align_id;
  guint ping_id;            /* every pinginterval while logged in */
  guint ping_timeout_id;    /* an XEP-0199 ping is unanswered */
  guint login_timeout_id;   /* connecting, not yet logged in */
  char *ping_iq_id;
  guint ping_seq;
  guint backoff;
  gboolean xmpp;
  gboolean aligned;         /* the roster was brought in line since this login */
  gboolean busy;            /* the phone is in use: show dnd with busy_message */
  char *busy_message;
} ImsPurplePeer;

struct _ImsPurple {
  ImsAdapter parent;
  ImsPresenceStore *store;
  ImsMessageFunc on_message;
  gpointer user_data;
  GHashTable *peers;      /* name -> ImsPurplePeer */
  GHashTable *by_account; /* PurpleAccount* -> ImsPurplePeer (borrowed) */
  GPtrArray *secrets;     /* for redaction */
  GRegex *redact_re;
  int debug;
};

/* libpurple's UI ops carry no user data; there is only one instance. */
static ImsPurple *ims_purple_self;

/* ---- text safety ---- */

char *
ims_purple_redact (const char *text, GPtrArray *secrets)
{
  static GRegex *re;
  if (g_once_init_enter (&re))
    {
      GRegex *r = g_regex_new ("(<(auth|response|challenge|success|password|digest)\\b[^>]*>)"
                               "[^<]*(</\\2>)",
                               G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&re, r);
    }
  g_autofree char *out = g_regex_replace (re, text, -1, 0, "\\1[redacted]\\3", 0, NULL);
  if (out == NULL)
    out = g_strdup (text);
  for (guint i = 0; secrets && i < secrets->len; i++)
    {
      const char *sec = secrets->pdata[i];
      if (sec == NULL || *sec == '\0')
        continue;
      g_auto (GStrv) parts = g_strsplit (out, sec, -1);
      g_free (out);
      out = g_strjoinv ("********", parts);
    }
  return g_steal_pointer (&out);
}

/* ---- event loop glue (libpurple's nullclient pattern) ---- */

typedef struct {
  PurpleInputFunction function;
  gpointer data;
} IoClosure;

static gboolean
ims_purple_io_invoke (GIOChannel *source, GIOCondition cond, gpointer data)
{
  IoClosure *c = data;
  int pc = 0;
  if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    pc |= PURPLE_INPUT_READ;
  if (cond & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    pc |= PURPLE_INPUT_WRITE;
  c->function (c->data, g_io_channel_unix_get_fd (source), pc);
  return TRUE;
}

static guint
ims_purple_input_add (gint fd, PurpleInputCondition cond, PurpleInputFunction function,
                      gpointer data)
{
  IoClosure *c = g_new0 (IoClosure, 1);
  int gc = 0;
  c->function = function;
  c->data = data;
  if (cond & PURPLE_INPUT_READ)
    gc |= G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (cond & PURPLE_INPUT_WRITE)
    gc |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
  GIOChannel *ch = g_io_channel_unix_new (fd);
  guint id = g_io_add_watch_full (ch, G_PRIORITY_DEFAULT, gc, ims_purple_io_invoke, c, g_free);
  g_io_channel_unref (ch);
  return id;
}

static PurpleEventLoopUiOps ims_purple_eventloop_ops = {
  .timeout_add = g_timeout_add,
  .timeout_remove = g_source_remove,
  .input_add = ims_purple_input_add,
  .input_remove = g_source_remove,
  .timeout_add_seconds = g_timeout_add_seconds,
};

/* ---- debug output, always redacted ---- */

static gboolean
ims_purple_debug_enabled (PurpleDebugLevel level, const char *category)
{
  ImsPurple *self = ims_purple_self;
  if (self == NULL)
    return FALSE;
  return self->debug > 0 || level >= PURPLE_DEBUG_ERROR;
}

static void
ims_purple_debug_print (PurpleDebugLevel level, const char *category, const char *arg)
{
  ImsPurple *self = ims_purple_self;
  if (self == NULL || arg == NULL)
    return;
  gboolean raw = g_str_has_prefix (arg, "Recv") || g_str_has_prefix (arg, "Sending");
  if (raw && self->debug < 2)
    return;
  g_autofree char *red = ims_purple_redact (arg, self->secrets);
  g_autofree char *safe = ims_text_for_log (g_strchomp (red), 16384);
  if (level >= PURPLE_DEBUG_ERROR && self->debug == 0)
    g_debug ("libpurple %s: %s", category ? category : "-", safe);
  else
    g_message ("libpurple %s: %s", category ? category : "-", safe);
}

static PurpleDebugUiOps ims_purple_debug_ops = {
  .print = ims_purple_debug_print,
  .is_enabled = ims_purple_debug_enabled,
};

/* ---- requests: fail closed ---- */

typedef struct {
  PurpleRequestActionCb cb;
  gpointer user_data;
  int index;
  guint idle_id;
} PendingAction;

static gboolean
ims_purple_action_fire (gpointer data)
{
  PendingAction *pa = data;
  pa->idle_id = 0;
  /* The callback may close the request, which frees @pa: take what we need. */
  PurpleRequestActionCb cb = pa->cb;
  gpointer ud = pa->user_data;
  int index = pa->index;
  purple_request_close (PURPLE_REQUEST_ACTION, pa);
  if (cb)
    cb (ud, index);
  return G_SOURCE_REMOVE;
}

static gboolean
ims_purple_is_refusal (const char *label)
{
  static const char *const no[] = { "reject", "no", "cancel", "deny" };
  g_autoptr (GString) l = g_string_new (NULL);
  for (const char *p = label; p && *p; p++)
    if (*p != '_')
      g_string_append_c (l, g_ascii_tolower (*p));
  for (gsize i = 0; i < G_N_ELEMENTS (no); i++)
    if (g_str_equal (l->str, no[i]))
      return TRUE;
  return FALSE;
}

/* Certificate and plaintext prompts come here: answer the refusing choice, on
 * the next main loop turn (libpurple is still inside its call). */
static void *
ims_purple_request_action (const char *title, const char *primary, const char *secondary,
                           int default_action, PurpleAccount *account, const char *who,
                           PurpleConversation *conv, void *user_data, size_t action_count,
                           va_list actions)
{
  PendingAction *pa = g_new0 (PendingAction, 1);
  pa->user_data = user_data;
  pa->index = -1;
  for (size_t i = 0; i < action_count; i++)
    {
      const char *label = va_arg (actions, const char *);
      GCallback cb = va_arg (actions, GCallback);
      if (pa->index < 0 && ims_purple_is_refusal (label))
        {
          pa->index = (int) i;
          pa->cb = (PurpleRequestActionCb) cb;
        }
    }
  g_autofree char *p = ims_text_for_log (primary, 512);
  g_autofree char *s = ims_text_for_log (secondary, 1024);
  if (pa->index < 0)
    {
      g_warning ("libpurple asked \"%s\" with no refusing answer; leaving it unanswered", p);
      return pa;
    }
  g_message ("libpurple asked \"%s\" (%s): answered no", p, s);
  pa->idle_id = g_idle_add (ims_purple_action_fire, pa);
  return pa;
}

static void
ims_purple_close_request (PurpleRequestType type, void *ui_handle)
{
  if (type == PURPLE_REQUEST_ACTION && ui_handle)
    {
      PendingAction *pa = ui_handle;
      g_clear_handle_id (&pa->idle_id, g_source_remove);
      g_free (pa);
    }
}

static PurpleRequestUiOps ims_purple_request_ops = {
  .request_action = ims_purple_request_action,
  .close_request = ims_purple_close_request,
};

static void
ims_purple_ui_prefs_init (void)
{
  purple_prefs_add_none ("/imstatusd");
}

static PurpleCoreUiOps ims_purple_core_ops = {
  .ui_prefs_init = ims_purple_ui_prefs_init,
};

/* ---- peers ---- */

static ImsPurplePeer *
ims_purple_peer_for (PurpleAccount *account)
{
  ImsPurple *self = ims_purple_self;
  return self && account ? g_hash_table_lookup (self->by_account, account) : NULL;
}

static ImsPurplePeer *
ims_purple_peer_for_gc (PurpleConnection *gc)
{
  return gc ? ims_purple_peer_for (purple_connection_get_account (gc)) : NULL;
}

/* "user@domain/resource" -> "user@domain", lowercased. */
static char *
ims_purple_bare (const char *jid)
{
  const char *slash = strchr (jid, '/');
  g_autofree char *bare = slash ? g_strndup (jid, slash - jid) : g_strdup (jid);
  return g_utf8_strdown (bare, -1);
}

static void
ims_purple_set_own_status (ImsPurplePeer *pp)
{
  const char *id = pp->busy ? (pp->xmpp ? "dnd" : "unavailable") : "available";
  const char *msg = pp->busy ? pp->busy_message : pp->cfg->statusmessage;
  if (purple_account_get_status (pp->account, id) == NULL)
    id = pp->busy ? "away" : "available";
  if (msg)
    purple_account_set_status (pp->account, id, TRUE, "message", msg, NULL);
  else
    purple_account_set_status (pp->account, id, TRUE, NULL);
}

static gboolean on_purple_login_timeout (gpointer data);

static void
ims_purple_connect (ImsPurplePeer *pp)
{
  /* remember-password is off, so libpurple wiped it at the last disconnect. */
  purple_account_set_password (pp->account, pp->cfg->secret ? pp->cfg->secret : "");
  ims_presence_store_set_peer_state (pp->owner->store, pp->cfg->name, IMS_PEER_CONNECTING, NULL);
  if (pp->xmpp)
    {
      g_clear_handle_id (&pp->login_timeout_id, g_source_remove);
      pp->login_timeout_id = g_timeout_add_seconds (MAX (30, 3 * pp->cfg->pingtimeout),
                                                    on_purple_login_timeout, pp);
    }
  if (!purple_account_get_enabled (pp->account, IMS_PURPLE_UI))
    purple_account_set_enabled (pp->account, IMS_PURPLE_UI, TRUE);
  else
    purple_account_connect (pp->account);
}

/* Owned by the async connect; pp is cleared when the peer no longer wants
 * the answer, so the callback never touches a freed peer. */
typedef struct _ProbeCtx {
  ImsPurplePeer *pp;
  GCancellable *cancel;
} ProbeCtx;

static void
ims_purple_stop_probe (ImsPurplePeer *pp)
{
  g_clear_handle_id (&pp->probe_id, g_source_remove);
  if (pp->probe)
    {
      pp->probe->pp = NULL;
      g_cancellable_cancel (pp->probe->cancel);
      pp->probe = NULL;
    }
}

static void
ims_purple_stop_ping (ImsPurplePeer *pp)
{
  g_clear_handle_id (&pp->ping_id, g_source_remove);
  g_clear_handle_id (&pp->ping_timeout_id, g_source_remove);
  g_clear_handle_id (&pp->login_timeout_id, g_source_remove);
  g_clear_pointer (&pp->ping_iq_id, g_free);
}

/* Raises a network error on the connection, so the usual error path logs
 * it, marks buddies unknown and reconnects. */
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
                                          pp->cfg->pingtimeout);
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
  if (info->send_raw == NULL)
    return G_SOURCE_CONTINUE;
  g_free (pp->ping_iq_id);
  pp->ping_iq_id = g_strdup_printf ("imsping%u", ++pp->ping_seq);
  g_autofree char *iq = g_strdup_printf ("<iq type='get' id='%s' to='%s'>"
                                         "<ping xmlns='urn:xmpp:ping'/></iq>",
                                         pp->ping_iq_id, pp->domain);
  info->send_raw (gc, iq, strlen (iq));
  pp->ping_timeout_id = g_timeout_add_seconds (pp->cfg->pingtimeout, on_purple_ping_timeout, pp);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_purple_login_timeout (gpointer data)
{
  ImsPurplePeer *pp = data;
  pp->login_timeout_id = 0;
  ims_purple_network_error (pp, "login did not finish in time");
  return G_SOURCE_REMOVE;
}

static gboolean
ims_purple_reconnect_cb (gpointer data)
{
  ImsPurplePeer *pp = data;
  pp->reconnect_id = 0;
  ims_purple_stop_probe (pp);
  if (purple_account_is_disconnected (pp->account))
    {
      g_info ("%s: reconnecting", pp->cfg->name);
      ims_purple_connect (pp);
    }
  return G_SOURCE_REMOVE;
}

static void
on_purple_probe_done (GObject *src, GAsyncResult *res, gpointer data)
{
  ProbeCtx *ctx = data;
  ImsPurplePeer *pp = ctx->pp;
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (src), res, NULL);
  g_object_unref (ctx->cancel);
  g_free (ctx);
  if (conn)
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  if (pp == NULL)
    return;
  pp->probe = NULL;
  if (conn == NULL || pp->reconnect_id == 0)
    return;
  g_info ("%s: the server accepts connections again; reconnecting now", pp->cfg->name);
  g_clear_handle_id (&pp->reconnect_id, g_source_remove);
  pp->reconnect_id = g_idle_add (ims_purple_reconnect_cb, pp);
}

/* The backoff spaces out logins; a bare TCP connect every 2 s costs the
 * server nothing and ends the wait as soon as it is back. */
static gboolean
on_purple_probe (gpointer data)
{
  ImsPurplePeer *pp = data;
  const char *host = pp->cfg->host ? pp->cfg->host : pp->domain;
  if (host == NULL || pp->probe != NULL)
    return G_SOURCE_CONTINUE;
  pp->probe = g_new0 (ProbeCtx, 1);
  pp->probe->pp = pp;
  pp->probe->cancel = g_cancellable_new ();
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PROBE_INTERVAL_S);
  g_socket_client_connect_to_host_async (client, host, pp->cfg->port ? pp->cfg->port : 5222,
                                         pp->probe->cancel, on_purple_probe_done, pp->probe);
  return G_SOURCE_CONTINUE;
}

/* 1 s doubling to 60 s, with +-25 % jitter so many peers do not return in step. */
static void
ims_purple_schedule_reconnect (ImsPurplePeer *pp)
{
  if (pp->reconnect_id)
    return;
  if (pp->probe_id == 0 && pp->xmpp)
    pp->probe_id = g_timeout_add_seconds (PROBE_INTERVAL_S, on_purple_probe, pp);
  pp->backoff = pp->backoff ? MIN (pp->backoff * 2, BACKOFF_MAX) : BACKOFF_MIN;
  guint ms = pp->backoff * 1000;
  ms = ms * 3 / 4 + g_random_int_range (0, ms / 2 + 1);
  g_info ("%s: next connection attempt in %u ms", pp->cfg->name, ms);
  pp->reconnect_id = g_timeout_add (ms, ims_purple_reconnect_cb, pp);
}

static void
ims_purple_peer_free (ImsPurplePeer *pp)
{
  g_clear_handle_id (&pp->reconnect_id, g_source_remove);
  g_clear_handle_id (&pp->align_id, g_source_remove);
  ims_purple_stop_probe (pp);
  ims_purple_stop_ping (pp);
  ims_peer_config_free (pp->cfg);
  g_free (pp->busy_message);
  g_free (pp->prpl);
  g_free (pp->bare);
  g_free (pp->domain);
  g_free (pp);
}

/* Brings the roster in line with `subscribe`: adds what is missing and asks
 * for subscription where we do not yet see the buddy.  Entries the config
 * does not name are left alone. */
static gboolean
ims_purple_align_roster_cb (gpointer data)
{
  ImsPurplePeer *pp = data;
  pp->align_id = 0;
  if (!purple_account_is_connected (pp->account) || pp->aligned)
    return G_SOURCE_REMOVE;
  /* Once per login, after the roster arrived: asking again on every roster
   * push would send N subscription requests per push (N^2 for N buddies). */
  pp->aligned = TRUE;
  ims_presence_store_set_roster_ready (pp->owner->store, pp->cfg->name);

  PurpleGroup *group = purple_find_group ("imstatus");
  g_autoptr (GPtrArray) buddies =
      ims_presence_store_list_buddies (pp->owner->store, pp->cfg->name);
  for (guint i = 0; i < buddies->len; i++)
    {
      const char *id = buddies->pdata[i];
      ImsAnswer a;
      ims_presence_store_lookup (pp->owner->store, pp->cfg->name, id, &a);
      ImsSubscription sub = a.subscription;
      ims_answer_clear (&a);
      PurpleBuddy *b = purple_find_buddy (pp->account, id);
      if (b != NULL && (sub == IMS_SUB_BOTH || !pp->xmpp))
        continue;
      if (b == NULL)
        {
          if (group == NULL)
            {
              group = purple_group_new ("imstatus");
              purple_blist_add_group (group, NULL);
            }
          b = purple_buddy_new (pp->account, id, NULL);
          purple_blist_add_buddy (b, NULL, group, NULL);
        }
      g_info ("%s: asking %s for presence subscription", pp->cfg->name, id);
      purple_account_add_buddy (pp->account, b);
      if (sub == IMS_SUB_NONE)
        ims_presence_store_set_subscription (pp->owner->store, pp->cfg->name, id,
                                             IMS_SUB_PENDING);
    }
  if (!pp->xmpp)
    for (guint i = 0; i < buddies->len; i++)
      ims_presence_store_set_subscription (pp->owner->store, pp->cfg->name, buddies->pdata[i],
                                           IMS_SUB_BOTH);
  return G_SOURCE_REMOVE;
}

static void
ims_purple_schedule_align (ImsPurplePeer *pp)
{
  if (pp->align_id == 0)
    pp->align_id = g_idle_add (ims_purple_align_roster_cb, pp);
}

/* ---- connection signals ---- */

static void
on_purple_signed_on (PurpleConnection *gc, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL)
    return;
  pp->backoff = 0;
  pp->aligned = FALSE;
  ims_purple_stop_ping (pp);
  if (pp->xmpp)
    pp->ping_id = g_timeout_add_seconds (pp->cfg->pinginterval, on_purple_ping, pp);
  g_message ("%s: logged in as %s", pp->cfg->name, pp->bare);
  ims_presence_store_set_peer_state (pp->owner->store, pp->cfg->name, IMS_PEER_REGISTERED, NULL);
  ims_purple_set_own_status (pp);
  if (!pp->xmpp)
    ims_purple_schedule_align (pp);
}

static void
on_purple_connection_error (PurpleConnection *gc, PurpleConnectionError err, const char *desc,
                            gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL)
    return;
  ims_purple_stop_ping (pp);
  g_autofree char *safe = ims_text_for_log (desc ? desc : "unknown error", 200);
  g_autofree char *reason = NULL;
  if (err >= PURPLE_CONNECTION_ERROR_CERT_NOT_PROVIDED && err <= PURPLE_CONNECTION_ERROR_CERT_OTHER_ERROR)
    reason = g_strdup_printf ("TLS certificate rejected: %s", safe);
  else if (err == PURPLE_CONNECTION_ERROR_ENCRYPTION_ERROR
           || err == PURPLE_CONNECTION_ERROR_NO_SSL_SUPPORT)
    reason = g_strdup_printf ("TLS: %s", safe);
  else
    reason = g_strdup (safe);

  if (purple_connection_error_is_fatal (err))
    {
      /* A wrong password or a rejected certificate will not fix itself:
       * retrying would only hammer the server.  `imctl reload` tries again. */
      g_warning ("%s: login failed: %s (not retrying; fix im.conf and reload)", pp->cfg->name,
                 reason);
      ims_presence_store_set_peer_state (pp->owner->store, pp->cfg->name, IMS_PEER_FAILED,
                                         reason);
      return;
    }
  g_warning ("%s: connection error: %s", pp->cfg->name, reason);
  ims_presence_store_set_peer_state (pp->owner->store, pp->cfg->name, IMS_PEER_CONNECTING, reason);
  ims_purple_schedule_reconnect (pp);
}

static void
on_purple_signed_off (PurpleConnection *gc, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL)
    return;
  ImsPeerState st = ims_presence_store_get_peer_state (pp->owner->store, pp->cfg->name, NULL);
  if (st == IMS_PEER_REGISTERED)
    {
      ims_presence_store_set_peer_state (pp->owner->store, pp->cfg->name, IMS_PEER_CONNECTING,
                                         "signed off");
      ims_purple_schedule_reconnect (pp);
    }
}

/* ---- XMPP stanzas ---- */

static ImsShow
ims_purple_parse_show (const char *show)
{
  if (show == NULL)
    return IMS_SHOW_AVAILABLE;
  if (g_str_equal (show, "chat"))
    return IMS_SHOW_CHAT;
  if (g_str_equal (show, "away"))
    return IMS_SHOW_AWAY;
  if (g_str_equal (show, "xa"))
    return IMS_SHOW_XA;
  if (g_str_equal (show, "dnd"))
    return IMS_SHOW_DND;
  return IMS_SHOW_AVAILABLE;
}

/* XEP-0319 <idle since=...>, else XEP-0256 <query xmlns='jabber:iq:last' seconds=.../>. */
static gint64
ims_purple_parse_idle (xmlnode *presence)
{
  xmlnode *idle = xmlnode_get_child_with_namespace (presence, "idle", "urn:xmpp:idle:1");
  if (idle)
    {
      const char *since = xmlnode_get_attrib (idle, "since");
      g_autoptr (GDateTime) dt = since ? g_date_time_new_from_iso8601 (since, NULL) : NULL;
      if (dt)
        {
          gint64 t = g_date_time_to_unix (dt);
          gint64 now = g_get_real_time () / G_USEC_PER_SEC;
          return MAX (1, MIN (t, now));
        }
    }
  xmlnode *last = xmlnode_get_child_with_namespace (presence, "query", "jabber:iq:last");
  if (last)
    {
      const char *secs = xmlnode_get_attrib (last, "seconds");
      guint64 n = 0;
      if (secs && g_ascii_string_to_unsigned (secs, 10, 1, G_MAXINT32, &n, NULL))
        return g_get_real_time () / G_USEC_PER_SEC - (gint64) n;
    }
  return 0;
}

static void
ims_purple_on_presence (ImsPurplePeer *pp, xmlnode *node)
{
  const char *from = xmlnode_get_attrib (node, "from");
  const char *type = xmlnode_get_attrib (node, "type");
  if (from == NULL)
    return;
  g_autofree char *bare = ims_purple_bare (from);
  const char *slash = strchr (from, '/');
  const char *resource = slash ? slash + 1 : "";
  const char *name = pp->cfg->name;
  ImsPresenceStore *store = pp->owner->store;

  if (g_str_equal (bare, pp->bare))
    return; /* our own other resources */
  if (type == NULL)
    {
      xmlnode *n;
      g_autofree char *show = (n = xmlnode_get_child (node, "show")) ? xmlnode_get_data (n) : NULL;
      g_autofree char *status = (n = xmlnode_get_child (node, "status")) ? xmlnode_get_data (n) : NULL;
      g_autofree char *prio = (n = xmlnode_get_child (node, "priority")) ? xmlnode_get_data (n) : NULL;
      gint64 p = 0;
      if (prio)
        {
          g_strstrip (prio);
          if (!g_ascii_string_to_signed (prio, 10, -128, 127, &p, NULL))
            p = 0;
        }
      ImsResourcePresence pr = {
        .show = ims_purple_parse_show (show ? g_strstrip (show) : NULL),
        .priority = (int) p,
        .text = status,
        .idle_since = ims_purple_parse_idle (node),
      };
      if (ims_presence_store_get_peer_state (store, name, NULL) == IMS_PEER_REGISTERED)
        ims_presence_store_update_resource (store, name, bare, resource, &pr);
    }
  else if (g_str_equal (type, "unavailable") || g_str_equal (type, "error"))
    ims_presence_store_remove_resource (store, name, bare, resource);
  else if (g_str_equal (type, "unsubscribed"))
    ims_presence_store_set_subscription (store, name, bare, IMS_SUB_NONE);
}

static ImsSubscription
ims_purple_roster_sub (const char *subscription, const char *ask)
{
  if (g_strcmp0 (subscription, "to") == 0 || g_strcmp0 (subscription, "both") == 0)
    return IMS_SUB_BOTH;
  if (g_strcmp0 (ask, "subscribe") == 0)
    return IMS_SUB_PENDING;
  return IMS_SUB_NONE;
}

static void
ims_purple_on_roster (ImsPurplePeer *pp, xmlnode *query, gboolean full)
{
  ImsPresenceStore *store = pp->owner->store;
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (xmlnode *item = xmlnode_get_child (query, "item"); item; item = xmlnode_get_next_twin (item))
    {
      const char *jid = xmlnode_get_attrib (item, "jid");
      if (jid == NULL)
        continue;
      char *bare = ims_purple_bare (jid);
      const char *subscription = xmlnode_get_attrib (item, "subscription");
      ImsSubscription sub = g_strcmp0 (subscription, "remove") == 0
                                ? IMS_SUB_NONE
                                : ims_purple_roster_sub (subscription, xmlnode_get_attrib (item, "ask"));
      ims_presence_store_set_subscription (store, pp->cfg->name, bare, sub);
      g_hash_table_add (listed, bare);
    }
  if (full)
    {
      g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (store, pp->cfg->name);
      for (guint i = 0; i < buddies->len; i++)
        if (!g_hash_table_contains (listed, buddies->pdata[i]))
          ims_presence_store_set_subscription (store, pp->cfg->name, buddies->pdata[i],
                                               IMS_SUB_NONE);
      ims_purple_schedule_align (pp);
    }
}

/* Sees every stanza before prpl-jabber does. */
static void
on_jabber_receiving_xmlnode (PurpleConnection *gc, xmlnode **packet, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for_gc (gc);
  if (pp == NULL || packet == NULL || *packet == NULL)
    return;
  xmlnode *node = *packet;
  if (pp->ping_iq_id && g_str_equal (node->name, "iq")
      && g_strcmp0 (xmlnode_get_attrib (node, "id"), pp->ping_iq_id) == 0)
    {
      /* Answered (a result, or an error from a server without XEP-0199:
       * either way it is alive).  Drop it: prpl-jabber did not ask. */
      g_clear_handle_id (&pp->ping_timeout_id, g_source_remove);
      xmlnode_free (node);
      *packet = NULL;
      return;
    }
  if (g_str_equal (node->name, "presence"))
    ims_purple_on_presence (pp, node);
  else if (g_str_equal (node->name, "iq"))
    {
      const char *type = xmlnode_get_attrib (node, "type");
      xmlnode *q = xmlnode_get_child_with_namespace (node, "query", "jabber:iq:roster");
      if (q && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "set") == 0))
        ims_purple_on_roster (pp, q, g_strcmp0 (type, "result") == 0);
    }
}

/* Subscription requests: approve the buddies we watch, deny and log others. */
static int
on_purple_authorization_requested (PurpleAccount *account, const char *user, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for (account);
  if (pp == NULL)
    return PURPLE_ACCOUNT_RESPONSE_PASS;
  g_autofree char *bare = ims_purple_bare (user);
  ImsAnswer a;
  ims_presence_store_lookup (pp->owner->store, pp->cfg->name, bare, &a);
  gboolean watched = a.result != IMS_RESULT_NOTSUBSCRIBED && a.result != IMS_RESULT_NOPEER;
  ims_answer_clear (&a);
  g_autofree char *safe = ims_text_for_log (bare, 256);
  if (watched)
    {
      g_info ("%s: approved subscription request from %s", pp->cfg->name, safe);
      return PURPLE_ACCOUNT_RESPONSE_ACCEPT;
    }
  g_message ("%s: denied subscription request from %s (not in subscribe=)", pp->cfg->name, safe);
  return PURPLE_ACCOUNT_RESPONSE_DENY;
}

static gboolean
on_purple_receiving_im (PurpleAccount *account, char **sender, char **message,
                        PurpleConversation *conv, PurpleMessageFlags *flags, gpointer data)
{
  ImsPurplePeer *pp = ims_purple_peer_for (account);
  if (pp == NULL || sender == NULL || *sender == NULL || message == NULL || *message == NULL)
    return FALSE;
  g_autofree char *bare = ims_purple_bare (*sender);
  /* prpl-jabber hands us HTML; the body text is what the sender typed. */
  g_autofree char *text = purple_markup_strip_html (*message);
  g_autofree char *plain = purple_unescape_html (text);
  if (strlen (plain) > MAX_MESSAGE)
    plain[MAX_MESSAGE] = '\0';
  g_autofree char *s1 = ims_text_for_log (bare, 256);
  g_autofree char *red = ims_purple_redact (plain, pp->owner->secrets);
  g_autofree char *s2 = ims_text_for_log (red, 200);
  g_info ("%s: IM from %s: %s", pp->cfg->name, s1, s2);
  if (pp->owner->on_message)
    pp->owner->on_message (pp->cfg->name, bare, plain, pp->owner->user_data);
  return TRUE; /* handled: no conversation is created, nothing is logged */
}

/* Buddy presence for drivers other than XMPP (IRC, SIMPLE, ...), one
 * resource per buddy. */
static void
ims_purple_generic_presence (PurpleBuddy *buddy)
{
  PurpleAccount *account = purple_buddy_get_account (buddy);
  ImsPurplePeer *pp = ims_purple_peer_for (account);
  if (pp == NULL || pp->xmpp)
    return;
  g_autofree char *bare = ims_purple_bare (purple_buddy_get_name (buddy));
  PurplePresence *presence = purple_buddy_get_presence (buddy);
  if (!purple_presence_is_online (presence))
    {
      ims_presence_store_remove_resource (pp->owner->store, pp->cfg->name, bare, "");
      return;
    }
  PurpleStatus *status = purple_presence_get_active_status (presence);
  PurpleStatusPrimitive prim = purple_status_type_get_primitive (purple_status_get_type (status));
  ImsShow show = IMS_SHOW_AVAILABLE;
  if (prim == PURPLE_STATUS_AWAY)
    show = IMS_SHOW_AWAY;
  else if (prim == PURPLE_STATUS_EXTENDED_AWAY)
    show = IMS_SHOW_XA;
  else if (prim == PURPLE_STATUS_UNAVAILABLE)
    show = IMS_SHOW_DND;
  time_t idle = purple_presence_is_idle (presence) ? purple_presence_get_idle_time (presence) : 0;
  ImsResourcePresence pr = {
    .show = show,
    .priority = 0,
    .text = purple_status_get_attr_string (status, "message"),
    .idle_since = idle > 0 ? (gint64) idle : 0,
  };
  ims_presence_store_update_resource (pp->owner->store, pp->cfg->name, bare, "", &pr);
}

static void
on_purple_buddy_changed (PurpleBuddy *buddy, gpointer data)
{
  ims_purple_generic_presence (buddy);
}

/* ---- adapter ops ---- */

static const char *
ims_purple_prpl_for (const char *type, char **why)
{
  static const struct { const char *type; const char *why; } gone[] = {
    { "aim", "AIM (OSCAR) has no driver: AOL closed the service in 2017 and Debian's libpurple "
             "has no prpl-aim" },
    { "icq", "ICQ (OSCAR) has no driver in Debian's libpurple" },
    { "yahoo", "Yahoo (YMSG) has no driver yet; a native one is planned" },
    { "msn", "MSN (MSNP) has no driver yet; a native one is planned" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (gone); i++)
    if (g_ascii_strcasecmp (type, gone[i].type) == 0)
      {
        *why = g_strdup (gone[i].why);
        return NULL;
      }
  const char *id;
  if (g_ascii_strcasecmp (type, "jabber") == 0 || g_ascii_strcasecmp (type, "xmpp") == 0)
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
ims_purple_supports (ImsAdapter *adapter, const char *type, char **why)
{
  return ims_purple_prpl_for (type, why) != NULL;
}

static void
ims_purple_configure (ImsPurplePeer *pp)
{
  ImsPeerConfig *c = pp->cfg;
  PurpleAccount *a = pp->account;
  purple_account_set_remember_password (a, FALSE);
  if (pp->xmpp)
    {
      purple_account_set_string (a, "connect_server", c->host ? c->host : "");
      purple_account_set_int (a, "port", c->port ? c->port : 5222);
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
ims_purple_peer_start (ImsAdapter *adapter, const ImsPeerConfig *cfg)
{
  ImsPurple *self = (ImsPurple *) adapter;
  g_autofree char *why = NULL;
  const char *prpl = ims_purple_prpl_for (cfg->type, &why);
  ImsPurplePeer *pp = g_new0 (ImsPurplePeer, 1);

  g_return_if_fail (prpl != NULL);
  pp->owner = self;
  pp->cfg = ims_peer_config_copy (cfg);
  pp->prpl = g_strdup (prpl);
  pp->xmpp = g_str_equal (prpl, "prpl-jabber");

  /* Account name: XMPP user@domain/resource, IRC nick@server; a username
   * without '@' takes the host, as the seed's `username=pinkys-asterisk`. */
  g_autofree char *base = strchr (cfg->username, '@') || cfg->host == NULL
                              ? g_strdup (cfg->username)
                              : g_strdup_printf ("%s@%s", cfg->username, cfg->host);
  pp->bare = ims_purple_bare (base);
  const char *at = strchr (pp->bare, '@');
  pp->domain = at ? g_strdup (at + 1) : NULL;
  g_autofree char *account_name =
      pp->xmpp ? g_strdup_printf ("%s/%s", pp->bare, cfg->resource ? cfg->resource : "imstatus")
               : g_strdup (base);

  pp->account = purple_accounts_find (account_name, prpl);
  if (pp->account == NULL)
    {
      pp->account = purple_account_new (account_name, prpl);
      purple_accounts_add (pp->account);
    }
  g_hash_table_insert (self->peers, pp->cfg->name, pp);
  g_hash_table_insert (self->by_account, pp->account, pp);
  if (cfg->secret)
    g_ptr_array_add (self->secrets, g_strdup (cfg->secret));
  if (cfg->dialsecret)
    g_ptr_array_add (self->secrets, g_strdup (cfg->dialsecret));

  ims_presence_store_add_peer (self->store, cfg->name, pp->bare, pp->domain);
  ims_presence_store_set_watched (self->store, cfg->name, cfg->subscribe);
  ims_purple_configure (pp);
  g_message ("%s: logging in as %s (%s)", cfg->name, pp->bare, prpl);
  ims_purple_connect (pp);
}

static void
ims_purple_peer_stop (ImsAdapter *adapter, const char *name)
{
  ImsPurple *self = (ImsPurple *) adapter;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  if (pp == NULL)
    return;
  g_message ("%s: logging out", name);
  g_hash_table_remove (self->by_account, pp->account);
  /* Deleting the account also drops it from accounts.xml and blist.xml, so a
   * changed peer starts from a clean slate; the server roster stays. */
  purple_accounts_delete (pp->account);
  pp->account = NULL;
  ims_presence_store_remove_peer (self->store, name);
  g_hash_table_remove (self->peers, name);
}

static gboolean
ims_purple_send (ImsAdapter *adapter, const char *name, const char *to, const char *text,
                 GError **error)
{
  ImsPurple *self = (ImsPurple *) adapter;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  if (pp == NULL)
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_NOPEER, "no peer %s", name);
      return FALSE;
    }
  PurpleConnection *gc = purple_account_get_connection (pp->account);
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
  PurpleConversation *conv =
      purple_find_conversation_with_account (PURPLE_CONV_TYPE_IM, to, pp->account);
  gboolean temporary = conv == NULL;
  if (temporary)
    conv = purple_conversation_new (PURPLE_CONV_TYPE_IM, pp->account, to);
  int r = serv_send_im (gc, to, html, 0);
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
ims_purple_set_busy (ImsAdapter *adapter, const char *name, gboolean busy, const char *message)
{
  ImsPurple *self = (ImsPurple *) adapter;
  ImsPurplePeer *pp = g_hash_table_lookup (self->peers, name);
  if (pp == NULL || (pp->busy == busy && g_strcmp0 (pp->busy_message, message) == 0))
    return;
  pp->busy = busy;
  g_free (pp->busy_message);
  pp->busy_message = g_strdup (message);
  g_info ("%s: own status now %s", name, busy ? "busy" : "available");
  ims_purple_set_own_status (pp);
}

static void
ims_purple_set_debug (ImsAdapter *adapter, int level)
{
  ImsPurple *self = (ImsPurple *) adapter;
  self->debug = level;
  purple_debug_set_verbose (level >= 2);
}

static void
ims_purple_free (ImsAdapter *adapter)
{
  ImsPurple *self = (ImsPurple *) adapter;
  GHashTableIter it;
  gpointer v;
  /* Logging out is not a connection loss: no reconnects from the signals. */
  g_hash_table_remove_all (self->by_account);
  g_hash_table_iter_init (&it, self->peers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      ImsPurplePeer *pp = v;
      g_message ("%s: logging out", pp->cfg->name);
      if (!purple_account_is_disconnected (pp->account))
        purple_account_disconnect (pp->account);
      /* Keep the account (no password stored) so the next start reuses it. */
      purple_account_set_enabled (pp->account, IMS_PURPLE_UI, FALSE);
    }
  g_hash_table_remove_all (self->by_account);
  purple_signals_disconnect_by_handle (self);
  purple_core_quit ();
  g_hash_table_unref (self->peers);
  g_hash_table_unref (self->by_account);
  g_ptr_array_unref (self->secrets);
  ims_purple_self = NULL;
  g_free (self);
}

static const ImsAdapterOps ims_purple_ops = {
  .supports = ims_purple_supports,
  .peer_start = ims_purple_peer_start,
  .peer_stop = ims_purple_peer_stop,
  .send = ims_purple_send,
  .set_busy = ims_purple_set_busy,
  .set_debug = ims_purple_set_debug,
  .free = ims_purple_free,
};

/* libpurple reads CAs only from directories; a cafile is linked into a
 * private one. */
static gboolean
ims_purple_setup_cas (const ImsConfig *config, const char *userdir, GError **error)
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
  for (guint i = 0; i < config->peers->len; i++)
    {
      const ImsPeerConfig *p = config->peers->pdata[i];
      if (p->cadir)
        purple_certificate_add_ca_search_path (p->cadir);
      if (p->cafile)
        {
          g_autofree char *text = NULL;
          gsize len;
          g_autoptr (GError) err = NULL;
          if (!g_file_get_contents (p->cafile, &text, &len, &err))
            {
              g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_INIT, "%s:%u: cafile: %s",
                           p->file, p->line, err->message);
              return FALSE;
            }
          g_autofree char *name = g_strdup_printf ("%s.pem", p->name);
          g_autofree char *dst = g_build_filename (cadir, name, NULL);
          if (!g_file_set_contents_full (dst, text, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                         error))
            return FALSE;
        }
    }
  purple_certificate_add_ca_search_path (cadir);
  return TRUE;
}

ImsAdapter *
ims_purple_new (ImsPresenceStore *store, const ImsConfig *config, ImsMessageFunc on_message,
                gpointer user_data, GError **error)
{
  g_return_val_if_fail (ims_purple_self == NULL, NULL);
  g_autofree char *userdir = g_build_filename (config->statedir, "purple", NULL);
  if (g_mkdir_with_parents (userdir, 0700) != 0 || g_chmod (userdir, 0700) != 0)
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_INIT, "cannot create %s: %s",
                   userdir, g_strerror (errno));
      return NULL;
    }

  /* Debian's libpurple starts GStreamer in purple_core_init (+60 MB). */
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "/nonexistent", TRUE);
  g_setenv ("GST_PLUGIN_PATH_1_0", "/nonexistent", TRUE);
  g_setenv ("GST_REGISTRY_1_0", "/nonexistent", TRUE);

  ImsPurple *self = g_new0 (ImsPurple, 1);
  self->parent.ops = &ims_purple_ops;
  self->store = store;
  self->on_message = on_message;
  self->user_data = user_data;
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) ims_purple_peer_free);
  self->by_account = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->secrets = g_ptr_array_new_with_free_func (g_free);
  ims_purple_self = self;

  purple_util_set_user_dir (userdir);
  purple_debug_set_enabled (FALSE); /* TRUE would print unredacted to stdout */
  purple_debug_set_ui_ops (&ims_purple_debug_ops);
  purple_core_set_ui_ops (&ims_purple_core_ops);
  purple_eventloop_set_ui_ops (&ims_purple_eventloop_ops);
  purple_request_set_ui_ops (&ims_purple_request_ops);
  if (!ims_purple_setup_cas (config, userdir, error))
    {
      ims_purple_self = NULL;
      g_hash_table_unref (self->peers);
      g_hash_table_unref (self->by_account);
      g_ptr_array_unref (self->secrets);
      g_free (self);
      return NULL;
    }
  if (!purple_core_init (IMS_PURPLE_UI))
    {
      g_set_error (error, IMS_PURPLE_ERROR, IMS_PURPLE_ERROR_INIT, "libpurple failed to start");
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
                         PURPLE_CALLBACK (on_purple_buddy_changed), NULL);
  purple_signal_connect (blist, "buddy-signed-on", self, PURPLE_CALLBACK (on_purple_buddy_changed),
                         NULL);
  purple_signal_connect (blist, "buddy-signed-off", self,
                         PURPLE_CALLBACK (on_purple_buddy_changed), NULL);
  PurplePlugin *jabber = purple_find_prpl ("prpl-jabber");
  if (jabber)
    purple_signal_connect (jabber, "jabber-receiving-xmlnode", self,
                           PURPLE_CALLBACK (on_jabber_receiving_xmlnode), NULL);
  return &self->parent;
}
