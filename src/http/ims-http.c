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
 * libsoup's server has none: a client that connects and sends nothing, a
 * header a byte a minute, or a keep-alive connection never used again would
 * hold its connection for ever.  A connection gets httptimeout to deliver a
 * request, from when it is accepted and after each answer; while a request
 * is being handled (an event stream, with its heartbeat) it has none. */

static void
ims_http_deadline (ImsHttp *self, SoupServerMessage *msg, gboolean set)
{
  GSocket *sock = soup_server_message_get_socket (msg);
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
  ims_http_deadline (data, msg, TRUE);
}

static void
on_request_read (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  ims_http_deadline (data, msg, FALSE);
}

/* Answered: the connection may wait for another request, for a while. */
static void
on_request_finished (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  ims_http_deadline (data, msg, TRUE);
}

static gboolean
on_http_reaper (gpointer data)
{
  ImsHttp *self = data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer k, v;
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
  self->tls = tls != NULL;
  self->server = soup_server_new ("server-header", "imstatusd", "tls-certificate", tls, NULL);
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
  if (!soup_server_listen (self->server, sa, tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error))
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
  if (self->server)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  ims_rate_free (self->failures);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->waiting);
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
