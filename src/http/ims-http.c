/* ims-http: the JSON API and its event stream over libsoup 3.  Every
 * request is authenticated (HTTP Basic against the webuser sections, failures
 * rate-limited per address), bounded (body size, streams per user and in
 * total, unread stream backlog), and answered with the headers that keep a
 * browser from running or framing anything (Content-Security-Policy,
 * X-Content-Type-Options, frame-ancestors).  Errors are JSON carrying the
 * IM-RESULT word.  This file is the server: answers, timeouts, the board's
 * files; ims-http-auth.c, ims-http-stream.c and ims-http-api.c the rest.
 */
#define G_LOG_DOMAIN "ims-http"

#include "ims-http-private.h"

#include "ims-board-resources.h"

#include <string.h>

#include "ims-rate.h"

/* ---- answers ---- */

void
ims_http_headers (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (h, "Cache-Control", "no-store");
}

void
ims_http_json (SoupServerMessage *msg, guint status, JsonBuilder *b)
{
  g_autofree char *text = ims_render_to_string (b);
  ims_http_headers (msg);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text,
                                    strlen (text));
}

/* {"result": <IM-RESULT word>, "error": <why>} */
void
ims_http_error (SoupServerMessage *msg, guint status, const char *result, const char *why)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "result");
  json_builder_add_string_value (b, result);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, why);
  json_builder_end_object (b);
  ims_http_json (msg, status, b);
}

/* The host part of a Host header or an address ("[::1]:80" -> "::1"). */
static char *
ims_http_host_part (const char *hostport)
{
  if (hostport[0] == '[')
    {
      const char *close = strchr (hostport, ']');
      return close ? g_strndup (hostport + 1, close - hostport - 1) : g_strdup (hostport);
    }
  const char *colon = strchr (hostport, ':');
  if (colon && strchr (colon + 1, ':'))
    return g_strdup (hostport); /* a bare IPv6 address */
  return colon ? g_strndup (hostport, colon - hostport) : g_strdup (hostport);
}

/* Is the request's Host one of ours?  A page from another site that made
 * its own name resolve to us (DNS rebinding) sends its own name. */
static gboolean
ims_http_host_ok (ImsHttp *self, SoupServerMessage *msg)
{
  const char *host = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Host");
  if (host == NULL)
    return TRUE; /* HTTP/1.0: no name to check */
  const ImsConfig *c = self->svc.config (self->svc.user_data);
  g_autofree char *name = ims_http_host_part (host);
  g_autofree char *bind = c->httpbind ? ims_http_host_part (c->httpbind) : NULL;
  if (g_ascii_strcasecmp (name, "localhost") == 0 || (bind && g_ascii_strcasecmp (name, bind) == 0))
    return TRUE;
  for (guint i = 0; c->httphosts && i < c->httphosts->len; i++)
    {
      g_autofree char *allowed = ims_http_host_part (c->httphosts->pdata[i]);
      if (g_ascii_strcasecmp (name, allowed) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Before the body is read: refuse what is too big, or for another host. */
static void
on_http_early (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer data)
{
  ImsHttp *self = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  goffset len = soup_message_headers_get_content_length (h);
  if (!ims_http_host_ok (self, msg))
    ims_http_error (msg, IMS_HTTP_MISDIRECTED, "BADARGS",
                    "not this server's name (httphosts lists the names it answers to)");
  else if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CHUNKED
           || len > IMS_HTTP_MAX_BODY)
    ims_http_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "BADARGS",
                    "request body larger than 16384 bytes");
}

/* The board's own files, compiled in (no build step, no inline script). */
static void
ims_http_static (SoupServerMessage *msg, const char *path)
{
  static const struct { const char *path, *file, *type; } files[] = {
    { "/", "index.html", "text/html; charset=utf-8" },
    { "/board.js", "board.js", "text/javascript; charset=utf-8" },
    { "/board.css", "board.css", "text/css; charset=utf-8" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    if (g_str_equal (path, files[i].path))
      {
        g_autofree char *res = g_strdup_printf ("/org/imstatus/board/%s", files[i].file);
        g_autoptr (GBytes) data = g_resources_lookup_data (res, 0, NULL);
        if (data == NULL)
          break;
        gsize len;
        const char *bytes = g_bytes_get_data (data, &len);
        ims_http_headers (msg);
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, files[i].type, SOUP_MEMORY_COPY, bytes, len);
        return;
      }
  ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "BADARGS", "not found");
}

/* Outside /api/v1: the board's login and logout, and its files. */
static const struct {
  const char *method, *path;
  void (*run) (ImsHttp *self, SoupServerMessage *msg);
} ims_http_board_routes[] = {
  { "POST", "/login", ims_http_login },
  { "POST", "/logout", ims_http_logout },
};

static void
on_http_other (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer data)
{
  ImsHttp *self = data;
  if (soup_server_message_get_status (msg) != 0) /* refused early */
    return;
  const char *method = soup_server_message_get_method (msg);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_http_board_routes); i++)
    if (g_str_equal (method, ims_http_board_routes[i].method)
        && g_str_equal (path, ims_http_board_routes[i].path))
      {
        ims_http_board_routes[i].run (self, msg);
        return;
      }
  if (g_str_equal (method, "GET"))
    ims_http_static (msg, path);
  else
    ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "BADARGS", "not found");
}

/* ---- connection timeouts ----
 * libsoup's server has none: a client that connects and sends nothing, or
 * a header a byte a minute, would hold its connection for ever.  A
 * connection gets httptimeout to deliver its request, from when it is
 * accepted; while the request is handled (an event stream, with its
 * heartbeat) it has none, and once answered it is closed (one request per
 * connection, see on_request_started). */

/* The socket a request came on.  libsoup knows it only for connections it
 * accepted itself, so we keep them by the client's address and port. */
static char *
ims_http_socket_key (GSocketAddress *remote)
{
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  g_autofree char *ip =
      g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return g_strdup_printf ("%s|%u", ip, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
}

GSocket *
ims_http_socket (ImsHttp *self, SoupServerMessage *msg)
{
  g_autofree char *key = ims_http_socket_key (soup_server_message_get_remote_address (msg));
  GSocket *sock = key ? g_hash_table_lookup (self->sockets, key) : NULL;
  return sock && !g_socket_is_closed (sock) ? sock : NULL;
}

static void
ims_http_deadline (ImsHttp *self, SoupServerMessage *msg, gboolean set)
{
  GSocket *sock = ims_http_socket (self, msg);
  if (sock == NULL)
    return;
  if (!set)
    {
      g_hash_table_remove (self->waiting, sock);
      return;
    }
  const ImsConfig *c = self->svc.config (self->svc.user_data);
  gint64 *deadline = g_new (gint64, 1);
  *deadline = g_get_monotonic_time () + (gint64) c->httptimeout * G_USEC_PER_SEC;
  g_hash_table_replace (self->waiting, g_object_ref (sock), deadline);
  /* A flood of idle connections would use every descriptor the daemon has
   * (FastAGI, imctl, libpurple's files go with them): past httpmaxconn the
   * connection that has waited longest makes room. */
  if (g_hash_table_size (self->waiting) > (guint) c->httpmaxconn)
    {
      GHashTableIter it;
      gpointer k, v, oldest = NULL;
      gint64 first = G_MAXINT64;
      g_hash_table_iter_init (&it, self->waiting);
      while (g_hash_table_iter_next (&it, &k, &v))
        if (k != sock && *(gint64 *) v < first)
          first = *(gint64 *) v, oldest = k;
      if (oldest)
        {
          gint64 now = g_get_monotonic_time ();
          if (now - self->full_logged > 60 * G_USEC_PER_SEC)
            {
              self->full_logged = now;
              g_warning ("HTTP: more than %d connections waiting for a request (httpmaxconn); "
                         "closing the oldest (said once a minute)", c->httpmaxconn);
            }
          g_socket_shutdown (oldest, TRUE, TRUE, NULL); /* libsoup sees the end and cleans up */
          g_hash_table_remove (self->waiting, oldest);
        }
    }
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  /* One request per connection: libsoup keeps a connection it did not
   * accept itself open for no second request, so the client is told. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  ims_http_deadline (data, msg, TRUE);
}

static void
on_request_read (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  ims_http_deadline (data, msg, FALSE);
}

/* Answered: the connection closes (Connection: close). */
static void
on_request_finished (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  ims_http_deadline (data, msg, FALSE);
}

static gboolean
on_http_reaper (gpointer data)
{
  ImsHttp *self = data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, self->sockets);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_socket_is_closed (v))
      g_hash_table_iter_remove (&it);
  g_hash_table_iter_init (&it, self->waiting);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_socket_is_closed (k))
      g_hash_table_iter_remove (&it);
    else if (*(gint64 *) v < now)
      {
        g_socket_shutdown (k, TRUE, TRUE, NULL); /* libsoup sees the end and cleans up */
        g_hash_table_iter_remove (&it);
      }
  for (GList *l = self->streams, *next; l; l = next)
    {
      next = l->next;
      Stream *st = l->data;
      if (ims_http_stream_gone (st))
        ims_http_stream_end (st); /* (nothing for one already ending) */
    }
  return G_SOURCE_CONTINUE;
}

static void
on_http_incoming (GSocketConnection *conn, gpointer data)
{
  ImsHttp *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (conn, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  g_autoptr (GIOStream) stream = G_IO_STREAM (g_object_ref (conn));
  if (self->cert)
    {
      g_object_unref (stream);
      stream = G_IO_STREAM (g_tls_server_connection_new (G_IO_STREAM (conn), self->cert, &error));
      if (stream == NULL)
        {
          g_warning ("HTTP: cannot start TLS: %s", error->message);
          return;
        }
      g_object_set (stream, "require-close-notify", FALSE, NULL);
    }
  char *key = ims_http_socket_key (remote);
  if (key == NULL)
    return;
  /* Known before libsoup starts reading: request-started comes at once. */
  g_hash_table_replace (self->sockets, key, g_object_ref (g_socket_connection_get_socket (conn)));
  if (!soup_server_accept_iostream (self->server, stream, local, remote, &error))
    g_warning ("HTTP: cannot take a connection: %s", error->message);
}

ImsHttp *
ims_http_new (const char *bind, const char *cert, const char *key, const ImsService *svc,
              GError **error)
{
  g_autoptr (GSocketConnectable) na = g_network_address_parse (bind, 8080, error);
  if (na == NULL)
    return NULL;
  g_autoptr (GInetAddress) ia =
      g_inet_address_new_from_string (g_network_address_get_hostname (G_NETWORK_ADDRESS (na)));
  if (ia == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "httpbind: '%s' is not an IP address with a port", bind);
      return NULL;
    }
  g_autoptr (GTlsCertificate) tls = NULL;
  if (cert && key && (tls = g_tls_certificate_new_from_files (cert, key, error)) == NULL)
    {
      g_prefix_error (error, "httpcert/httpkey: ");
      return NULL;
    }
  /* The board's resources register themselves when linked: this keeps
   * them linked. */
  g_assert (ims_board_get_resource () != NULL);
  ImsHttp *self = g_new0 (ImsHttp, 1);
  self->svc = *svc;
  self->failures = ims_rate_new (60);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) ims_http_session_free);
  self->waiting = g_hash_table_new_full (NULL, NULL, g_object_unref, g_free);
  self->stream_users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->sockets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->tls = tls != NULL;
  self->server = soup_server_new ("server-header", "imstatusd", NULL);
  g_signal_connect (self->server, "request-started", G_CALLBACK (on_request_started), self);
  g_signal_connect (self->server, "request-read", G_CALLBACK (on_request_read), self);
  g_signal_connect (self->server, "request-finished", G_CALLBACK (on_request_finished), self);
  self->reaper_id = g_timeout_add_seconds (1, on_http_reaper, self);
  /* libsoup keeps one early handler per path, found like the others: each path needs its own. */
  soup_server_add_early_handler (self->server, "/api/v1", on_http_early, self, NULL);
  soup_server_add_early_handler (self->server, NULL, on_http_early, self, NULL);
  soup_server_add_handler (self->server, "/api/v1", ims_http_api_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, on_http_other, self, NULL);
  g_autoptr (GSocketAddress) sa =
      g_inet_socket_address_new (ia, g_network_address_get_port (G_NETWORK_ADDRESS (na)));
  /* Our listener, not libsoup's: libsoup stops listening for good the
   * first time accept() fails, as it does with every descriptor in use. */
  self->cert = g_steal_pointer (&tls);
  self->listener = ims_listener_new (sa, 128, "HTTP", on_http_incoming, self, error);
  if (self->listener == NULL)
    {
      g_prefix_error (error, "httpbind %s: ", bind);
      ims_http_free (self);
      return NULL;
    }
  ims_http_stream_watch (self);
  return self;
}

void
ims_http_free (ImsHttp *self)
{
  if (self == NULL)
    return;
  ims_http_stream_unwatch (self);
  g_clear_handle_id (&self->reaper_id, g_source_remove);
  g_clear_pointer (&self->listener, ims_listener_free);
  if (self->server)
    soup_server_disconnect (self->server);
  g_clear_object (&self->cert);
  g_clear_object (&self->server);
  ims_rate_free (self->failures);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->waiting);
  g_hash_table_unref (self->stream_users);
  g_hash_table_unref (self->sockets);
  g_free (self);
}

void
ims_http_reloaded (ImsHttp *self)
{
  if (self == NULL)
    return;
  /* Sessions are checked against the user's secret at each request; what
   * is open now (event streams) is checked here. */
  ims_http_streams_recheck (self);
}
