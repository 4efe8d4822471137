/* ims-ami-client: connect, read the greeting, Login with only the event
 * classes we use (call: DeviceStateChange, OriginateResponse; system:
 * Shutdown), then DeviceStateList so the device states are whole again after
 * every (re)connection.  Asterisk sends no event when a state is set to what
 * it already was, and events may arrive in any order between responses.
 */
#define G_LOG_DOMAIN "ims-ami"

#include "ims-ami-client.h"

#include <gio/gio.h>
#include <string.h>

#include "ims-backoff.h"
#include "ims-line-conn.h"
#include "ims-presence-store.h"

#define CONNECT_TIMEOUT_S 10

typedef struct {
  ImsAmiReplyFunc func;
  ImsAmiReplyFunc item; /* a list's events before wait_event, NULL: none */
  gpointer user_data;
  char *wait_event;
  gboolean queued; /* the Response came; now waiting for wait_event */
} Pending;

struct _ImsAmiClient {
  char *host;
  int port;
  char *user;
  char *secret;
  gboolean tls;
  GTlsDatabase *ca;    /* amicafile, NULL = the system's */
  GSocketClient *client; /* while connecting */
  char *ca_error;      /* amicafile could not be read: never connect */
  ImsAmiHooks hooks;
  ImsAmiState state;
  ImsLineConn *lc;
  GCancellable *connecting;
  ImsAmiParser parser;
  gboolean logged_in;
  char *list_id;       /* the DeviceStateList in progress */
  GHashTable *pending; /* ActionID -> Pending */
  guint seq;
  ImsBackoff backoff;
  guint retry_id;
};

static void ims_ami_connect (ImsAmiClient *c);

static void
ims_ami_pending_free (Pending *p)
{
  g_free (p->wait_event);
  g_free (p);
}

static void
ims_ami_set_state (ImsAmiClient *c, ImsAmiState st, const char *reason)
{
  if (c->state == st)
    return;
  c->state = st;
  if (c->hooks.state)
    c->hooks.state (st, reason, c->hooks.user_data);
}

static void
ims_ami_fail_pending (ImsAmiClient *c)
{
  GHashTableIter it;
  gpointer v;
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_ami_pending_free);
  g_hash_table_iter_init (&it, c->pending);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      g_ptr_array_add (all, v);
      g_hash_table_iter_steal (&it);
    }
  for (guint i = 0; i < all->len; i++)
    {
      Pending *p = all->pdata[i];
      if (p->func)
        p->func (NULL, p->user_data);
    }
}

static gboolean
on_ami_retry (gpointer data)
{
  ImsAmiClient *c = data;
  c->retry_id = 0;
  ims_ami_connect (c);
  return G_SOURCE_REMOVE;
}

static void
ims_ami_schedule_retry (ImsAmiClient *c)
{
  if (c->retry_id || c->state == IMS_AMI_AUTHFAIL)
    return;
  c->retry_id = g_timeout_add (ims_backoff_next_ms (&c->backoff), on_ami_retry, c);
}

static void
ims_ami_write (ImsAmiClient *c, const char *data)
{
  if (c->lc)
    ims_line_conn_write (c->lc, data, strlen (data));
}

static void
ims_ami_send_raw (ImsAmiClient *c, const char *action, const char *id, const char *const *headers)
{
  g_autofree char *a = ims_ami_action (action, id, headers, NULL);
  if (a)
    ims_ami_write (c, a);
}

/* The answer to our Challenge: Login with Key = md5(challenge + secret), so
 * the secret itself never crosses the wire (ami-B11).  No fallback to a
 * plain Secret: whatever answers on amiport must prove it knows the secret
 * by accepting the key, and a server that cannot is refused. */
static void
ims_ami_login (ImsAmiClient *c, const ImsAmiMessage *m)
{
  const char *response = ims_ami_message_get (m, "Response");
  const char *challenge = ims_ami_message_get (m, "Challenge");
  if (g_ascii_strcasecmp (response, "Success") != 0 || challenge == NULL || *challenge == '\0'
      || strlen (challenge) > 64)
    {
      const char *why = ims_ami_message_get (m, "Message");
      g_autofree char *w = ims_text_for_log (why ? why : "no challenge", 200);
      g_warning ("AMI at %s:%d refused the MD5 challenge login (%s); not sending the secret in "
                 "clear. Not retrying until reload",
                 c->host, c->port, w);
      ims_ami_set_state (c, IMS_AMI_AUTHFAIL, w);
      ims_line_conn_close (c->lc);
      return;
    }
  g_autoptr (GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (md5, (const guchar *) challenge, strlen (challenge));
  g_checksum_update (md5, (const guchar *) c->secret, strlen (c->secret));
  /* Only the events we act on: call (DeviceStateChange, OriginateResponse)
   * and system (Shutdown). */
  const char *h[] = { "AuthType", "MD5", "Username", c->user, "Key", g_checksum_get_string (md5),
                      "Events", "call,system", NULL };
  g_autoptr (GError) err = NULL;
  g_autofree char *login = ims_ami_action ("Login", "ims-login", h, &err);
  if (login == NULL)
    {
      g_warning ("AMI: %s", err->message);
      ims_ami_set_state (c, IMS_AMI_AUTHFAIL, "bad amiuser");
      ims_line_conn_close (c->lc);
      return;
    }
  ims_line_conn_write (c->lc, login, strlen (login));
}

static void
ims_ami_on_message (ImsAmiClient *c, ImsAmiMessage *m)
{
  const char *response = ims_ami_message_get (m, "Response");
  const char *event = ims_ami_message_get (m, "Event");
  const char *id = ims_ami_message_get (m, "ActionID");

  if (!c->logged_in)
    {
      if (response && g_strcmp0 (id, "ims-challenge") == 0)
        {
          ims_ami_login (c, m);
          return;
        }
      if (response && g_strcmp0 (id, "ims-login") == 0)
        {
          if (g_ascii_strcasecmp (response, "Success") != 0)
            {
              const char *why = ims_ami_message_get (m, "Message");
              g_autofree char *w = ims_text_for_log (why ? why : "refused", 200);
              g_warning ("AMI login as '%s' at %s:%d failed: %s. Not retrying: fix amiuser/amisecret "
                         "in im.conf and reload",
                         c->user, c->host, c->port, w);
              ims_ami_set_state (c, IMS_AMI_AUTHFAIL, w);
              ims_line_conn_close (c->lc);
              return;
            }
          c->logged_in = TRUE;
          ims_backoff_reset (&c->backoff);
          g_free (c->list_id);
          c->list_id = g_strdup_printf ("ims-devstate-%u", ++c->seq);
          ims_ami_send_raw (c, "DeviceStateList", c->list_id, NULL);
        }
      return;
    }
  if (event)
    {
      if (g_ascii_strcasecmp (event, "DeviceStateChange") == 0)
        {
          const char *dev = ims_ami_message_get (m, "Device");
          const char *st = ims_ami_message_get (m, "State");
          if (dev && st && c->hooks.device)
            c->hooks.device (dev, st, c->hooks.user_data);
          return;
        }
      if (g_ascii_strcasecmp (event, "DeviceStateListComplete") == 0 && c->list_id
          && g_strcmp0 (id, c->list_id) == 0)
        {
          g_message ("AMI: logged in to %s:%d as %s; device states in sync", c->host, c->port,
                     c->user);
          ims_ami_set_state (c, IMS_AMI_UP, NULL);
          /* The hints too, for whoever publishes them: every one now, and
           * ExtensionStatus events after. */
          if (c->hooks.extension)
            {
              g_autofree char *xid = g_strdup_printf ("ims-extstate-%u", ++c->seq);
              ims_ami_send_raw (c, "ExtensionStateList", xid, NULL);
            }
          return;
        }
      if (g_ascii_strcasecmp (event, "ExtensionStatus") == 0)
        {
          const char *ctx = ims_ami_message_get (m, "Context");
          const char *ext = ims_ami_message_get (m, "Exten");
          const char *st = ims_ami_message_get (m, "StatusText");
          const char *hint = ims_ami_message_get (m, "Hint");
          if (ctx && ext && st && c->hooks.extension)
            c->hooks.extension (ctx, ext, st, hint ? hint : "", c->hooks.user_data);
          return;
        }
      if (g_ascii_strcasecmp (event, "ExtensionStateListComplete") == 0 && c->hooks.presence
          && id && g_str_has_prefix (id, "ims-extstate-"))
        {
          /* The hints are known: now what their presence states say. */
          g_autofree char *pid = g_strdup_printf ("ims-presstate-%u", ++c->seq);
          ims_ami_send_raw (c, "PresenceStateList", pid, NULL);
          return;
        }
      if (g_ascii_strcasecmp (event, "PresenceStateChange") == 0)
        {
          const char *who = ims_ami_message_get (m, "Presentity");
          const char *st = ims_ami_message_get (m, "Status");
          const char *msg = ims_ami_message_get (m, "Message");
          if (who && st && c->hooks.presence)
            c->hooks.presence (who, st, msg ? msg : "", c->hooks.user_data);
          return;
        }
      if (g_ascii_strcasecmp (event, "Shutdown") == 0)
        {
          const char *how = ims_ami_message_get (m, "Shutdown");
          g_autofree char *safe = ims_text_for_log (how ? how : "?", 64);
          g_warning ("AMI: Asterisk is shutting down (%s); reconnecting when it is back", safe);
          return;
        }
      Pending *p = id ? g_hash_table_lookup (c->pending, id) : NULL;
      if (p && p->wait_event && g_ascii_strcasecmp (event, p->wait_event) == 0)
        {
          g_hash_table_steal (c->pending, id);
          if (p->func)
            p->func (m, p->user_data);
          ims_ami_pending_free (p);
        }
      else if (p && p->item)
        p->item (m, p->user_data); /* one of a list's items */
      return;
    }
  if (response && id)
    {
      Pending *p = g_hash_table_lookup (c->pending, id);
      if (p == NULL)
        return;
      if (p->wait_event && g_ascii_strcasecmp (response, "Success") == 0)
        {
          p->queued = TRUE; /* the event with the outcome comes later */
          return;
        }
      g_hash_table_steal (c->pending, id);
      if (p->func)
        p->func (m, p->user_data);
      ims_ami_pending_free (p);
    }
}

static void
on_ami_line (ImsLineConn *lc, ImsLineEvent ev, const char *line, gsize len, gpointer data)
{
  ImsAmiClient *c = data;
  if (ev == IMS_LINE_EVENT_CLOSED)
    {
      if (c == NULL)
        return;
      if (c->lc == lc)
        {
          c->lc = NULL;
          c->logged_in = FALSE;
          ims_ami_parser_clear (&c->parser);
          ims_ami_fail_pending (c);
          if (c->state != IMS_AMI_AUTHFAIL)
            {
              ims_ami_set_state (c, IMS_AMI_DOWN, "connection closed");
              ims_ami_schedule_retry (c);
            }
        }
      return;
    }
  if (ev == IMS_LINE_EVENT_TOO_LONG)
    {
      g_warning ("AMI: line longer than %d bytes; reconnecting", IMS_AMI_MAX_LINE);
      return;
    }
  if (ev != IMS_LINE_EVENT_LINE)
    return;
  gboolean ok = TRUE;
  g_autoptr (GError) err = NULL;
  gboolean greeted = c->parser.greeted;
  g_autoptr (ImsAmiMessage) m = ims_ami_parser_feed (&c->parser, line, len, &ok, &err);
  if (!ok)
    {
      g_warning ("AMI %s:%d: %s; reconnecting", c->host, c->port, err->message);
      ims_line_conn_close (lc);
      return;
    }
  if (!greeted && c->parser.greeted)
    {
      const char *h[] = { "AuthType", "MD5", NULL };
      g_autofree char *challenge = ims_ami_action ("Challenge", "ims-challenge", h, NULL);
      ims_line_conn_write (lc, challenge, strlen (challenge));
      return;
    }
  if (m)
    ims_ami_on_message (c, m);
}

static void
on_ami_connected (GObject *src, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (src), res, &err);
  if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the client is gone */
  ImsAmiClient *c = data;
  g_clear_object (&c->connecting);
  if (c->client)
    g_signal_handlers_disconnect_by_data (c->client, c);
  g_clear_object (&c->client);
  if (conn == NULL)
    {
      if (g_error_matches (err, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
          || err->domain == G_TLS_ERROR)
        g_warning ("AMI: TLS to %s:%d failed: %s", c->host, c->port, err->message);
      else
        g_info ("AMI: cannot connect to %s:%d: %s", c->host, c->port, err->message);
      ims_ami_set_state (c, IMS_AMI_DOWN, err->message);
      ims_ami_schedule_retry (c);
      return;
    }
  ims_ami_parser_init (&c->parser);
  c->lc = ims_line_conn_new (conn, IMS_AMI_MAX_LINE + 2, 0, on_ami_line, c);
}

/* Trust amicafile for this connection only. */
static void
on_ami_client_event (GSocketClient *client, GSocketClientEvent event,
                     GSocketConnectable *connectable, GIOStream *connection, gpointer data)
{
  ImsAmiClient *c = data;
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && c->ca && G_IS_TLS_CONNECTION (connection))
    g_tls_connection_set_database (G_TLS_CONNECTION (connection), c->ca);
}

static void
ims_ami_connect (ImsAmiClient *c)
{
  if (c->lc || c->connecting)
    return;
  if (c->ca_error)
    {
      ims_ami_set_state (c, IMS_AMI_AUTHFAIL, c->ca_error);
      return;
    }
  c->connecting = g_cancellable_new ();
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT_S);
  if (c->tls)
    {
      g_socket_client_set_tls (client, TRUE);
      g_signal_connect (client, "event", G_CALLBACK (on_ami_client_event), c);
      c->client = g_object_ref (client);
    }
  g_socket_client_connect_to_host_async (client, c->host, c->port, c->connecting,
                                         on_ami_connected, c);
}

ImsAmiClient *
ims_ami_client_new (const char *host, int port, const char *user, const char *secret,
                    gboolean tls, const char *cafile, const ImsAmiHooks *hooks)
{
  ImsAmiClient *c = g_new0 (ImsAmiClient, 1);
  c->tls = tls;
  if (tls && cafile)
    {
      g_autoptr (GError) err = NULL;
      c->ca = g_tls_file_database_new (cafile, &err);
      if (c->ca == NULL)
        {
          c->ca_error = g_strdup_printf ("amicafile %s: %s", cafile, err->message);
          g_warning ("AMI: %s; not connecting until reload", c->ca_error);
        }
    }
  c->host = g_strdup (host);
  c->port = port;
  c->user = g_strdup (user);
  c->secret = g_strdup (secret);
  c->hooks = *hooks;
  c->state = IMS_AMI_DOWN;
  c->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) ims_ami_pending_free);
  ims_ami_connect (c);
  return c;
}

ImsAmiState
ims_ami_client_state (ImsAmiClient *c)
{
  return c->state;
}

gboolean
ims_ami_client_send (ImsAmiClient *c, const char *action, const char *const *headers,
                     const char *wait_event, ImsAmiReplyFunc func, gpointer user_data,
                     GError **error)
{
  return ims_ami_client_send_list (c, action, headers, wait_event, NULL, func, user_data, error);
}

gboolean
ims_ami_client_send_list (ImsAmiClient *c, const char *action, const char *const *headers,
                          const char *complete_event, ImsAmiReplyFunc item, ImsAmiReplyFunc func,
                          gpointer user_data, GError **error)
{
  const char *wait_event = complete_event;
  if (c->state != IMS_AMI_UP || c->lc == NULL)
    {
      g_set_error (error, IMS_AMI_ERROR, IMS_AMI_ERROR_PROTOCOL, "not logged in to Asterisk");
      return FALSE;
    }
  g_autofree char *id = g_strdup_printf ("ims-%u", ++c->seq);
  g_autofree char *text = ims_ami_action (action, id, headers, error);
  if (text == NULL)
    return FALSE;
  Pending *p = g_new0 (Pending, 1);
  p->func = func;
  p->item = item;
  p->user_data = user_data;
  p->wait_event = g_strdup (wait_event);
  g_hash_table_insert (c->pending, g_steal_pointer (&id), p);
  ims_ami_write (c, text);
  return TRUE;
}

void
ims_ami_client_free (ImsAmiClient *c)
{
  if (c == NULL)
    return;
  g_clear_handle_id (&c->retry_id, g_source_remove);
  if (c->connecting)
    g_cancellable_cancel (c->connecting);
  g_clear_object (&c->connecting);
  if (c->client)
    g_signal_handlers_disconnect_by_data (c->client, c);
  g_clear_object (&c->client);
  g_clear_object (&c->ca);
  g_free (c->ca_error);
  if (c->lc)
    {
      ims_ami_send_raw (c, "Logoff", NULL, NULL);
      ims_line_conn_set_handler (c->lc, NULL, NULL);
      ims_line_conn_close_after_write (c->lc);
      c->lc = NULL;
    }
  g_hash_table_remove_all (c->pending);
  g_hash_table_unref (c->pending);
  ims_ami_parser_clear (&c->parser);
  if (c->secret)
    memset (c->secret, 0, strlen (c->secret));
  g_free (c->secret);
  g_free (c->user);
  g_free (c->host);
  g_free (c->list_id);
  g_free (c);
}
