/* ims-http: the JSON API and its event stream over libsoup 3.  Every
 * request is authenticated (HTTP Basic against the webuser sections, failures
 * rate-limited per address), bounded (body size, streams per user and in
 * total, unread stream backlog), and answered with the headers that keep a
 * browser from running or framing anything (Content-Security-Policy,
 * X-Content-Type-Options, frame-ancestors).  Errors are JSON carrying the
 * IM-RESULT word.
 */
#define G_LOG_DOMAIN "ims-http"

#include "ims-http.h"

#include "ims-board-resources.h"

#include <errno.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/random.h>

#include "ims-rate.h"
#include "ims-render.h"
#include "ims-text.h"
#include "ims-vocab.h"

/* RFC 6585; libsoup 3.2 has no name for it. */
#define IMS_HTTP_TOO_MANY_REQUESTS 429

struct _ImsHttp {
  ImsService svc;
  SoupServer *server;
  guint port;
  GList *streams;          /* Stream* */
  guint store_watch;
  guint removed_watch;
  guint heartbeat_id;
  GHashTable *failures;    /* failed logins per remote address (ims-rate) */
  GHashTable *sessions;    /* cookie token -> Session */
  GHashTable *waiting;     /* GSocket (ref) -> deadline: connections owing a request */
  guint reaper_id;
  gboolean tls;
};

typedef struct {
  char *user;
  char *csrf;              /* the token every change must carry */
  guint secret_hash;       /* of the secret logged in with: a new one ends the session */
  gint64 expires;          /* monotonic µs */
} Session;

typedef struct {
  ImsHttp *owner;
  SoupServerMessage *msg;
  char *user;
  gsize backlog;           /* appended, not yet written */
  gsize allowance;         /* backlog allowed: 1 MiB, plus the snapshot while it drains */
  gboolean ending;         /* completed; gone once libsoup has finished it */
} Stream;

/* ---- answers ---- */

static void
ims_http_headers (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (h, "Cache-Control", "no-store");
}

static void
ims_http_json (SoupServerMessage *msg, guint status, JsonBuilder *b)
{
  g_autofree char *text = ims_render_to_string (b);
  ims_http_headers (msg);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text,
                                    strlen (text));
}

/* {"result": <IM-RESULT word>, "error": <why>} */
static void
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

/* ---- authentication ---- */

static void
ims_http_session_free (Session *se)
{
  g_free (se->user);
  g_free (se->csrf);
  g_free (se);
}

/* 256 bits from the kernel's CSPRNG (g_random_* is predictable). */
static char *
ims_http_token (void)
{
  guchar r[32];
  gsize got = 0;
  while (got < sizeof r)
    {
      ssize_t n = getrandom (r + got, sizeof r - got, 0);
      if (n < 0 && errno != EINTR)
        g_error ("getrandom: %s", g_strerror (errno));
      got += n > 0 ? (gsize) n : 0;
    }
  char *t = g_base64_encode (r, sizeof r);
  for (char *c = t; *c; c++) /* cookie-safe alphabet */
    *c = *c == '+' ? '-' : *c == '/' ? '_' : *c == '=' ? '.' : *c;
  return t;
}

/* The value of the request's ims_session cookie (transfer full). */
static char *
ims_http_cookie (SoupServerMessage *msg)
{
  const char *header = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Cookie");
  if (header == NULL || strlen (header) > 4096)
    return NULL;
  GHashTable *params = soup_header_parse_semi_param_list (header);
  char *value = g_strdup (g_hash_table_lookup (params, "ims_session"));
  soup_header_free_param_list (params);
  return value;
}

/* (By hand: soup_cookie_to_set_cookie_header writes an empty Domain and no
 * Max-Age.)  The token's alphabet needs no quoting. */
static void
ims_http_set_cookie (ImsHttp *self, SoupServerMessage *msg, const char *value, int max_age)
{
  g_autofree char *header =
      g_strdup_printf ("ims_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", value,
                       max_age, self->tls ? "; Secure" : "");
  soup_message_headers_append (soup_server_message_get_response_headers (msg), "Set-Cookie",
                               header);
}

/* The session a request's cookie names, when it is still good. */
static Session *
ims_http_session (ImsHttp *self, SoupServerMessage *msg)
{
  g_autofree char *token = ims_http_cookie (msg);
  Session *found = token ? g_hash_table_lookup (self->sessions, token) : NULL;
  if (found && found->expires < g_get_monotonic_time ())
    found = NULL;
  return found;
}

/* A change (POST) from a browser must come from this site: the Origin
 * header, when present, names our own host; with a cookie, the session's
 * token must come along too. */
static gboolean
ims_http_same_origin (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (h, "Origin");
  const char *host = soup_message_headers_get_one (h, "Host");
  if (origin == NULL)
    return TRUE;
  g_autoptr (GUri) uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || host == NULL)
    return FALSE;
  const char *oh = g_uri_get_host (uri);
  if (oh == NULL)
    return FALSE;
  int port = g_uri_get_port (uri);
  g_autofree char *name = strchr (oh, ':') ? g_strdup_printf ("[%s]", oh) : g_strdup (oh); /* IPv6 */
  g_autofree char *mine = port > 0 ? g_strdup_printf ("%s:%d", name, port) : g_strdup (name);
  return g_ascii_strcasecmp (mine, host) == 0;
}

/* Failed logins (HTTP Basic or the form) are counted per remote address;
 * past the limit, that address waits a minute. */
static const char *
ims_http_remote (SoupServerMessage *msg)
{
  const char *addr = soup_server_message_get_remote_host (msg);
  return addr ? addr : "?";
}

/* TRUE, with the answer set, when the request's address must wait. */
static gboolean
ims_http_login_blocked (ImsHttp *self, SoupServerMessage *msg)
{
  if (ims_rate_count (self->failures, ims_http_remote (msg), 60, FALSE)
      < IMS_HTTP_LOGIN_FAILURES_PER_MINUTE)
    return FALSE;
  ims_http_error (msg, IMS_HTTP_TOO_MANY_REQUESTS, "BADARGS",
                  "too many failed logins from this address; wait a minute");
  return TRUE;
}

static void
ims_http_login_failed (ImsHttp *self, SoupServerMessage *msg)
{
  g_autofree char *a = ims_text_for_log (ims_http_remote (msg), 64);
  g_message ("HTTP: failed login from %s", a);
  ims_rate_count (self->failures, ims_http_remote (msg), 60, TRUE);
}

/* The webuser @name when @secret is theirs. */
static const ImsWebUser *
ims_http_check_secret (ImsHttp *self, const char *name, const char *secret)
{
  const ImsWebUser *u =
      name ? ims_config_find_webuser (self->svc.config (self->svc.user_data), name) : NULL;
  return u && secret && ims_text_secret_equal (secret, u->secret) ? u : NULL;
}

/* The webuser the request authenticates as, or NULL with the answer set. */
static const ImsWebUser *
ims_http_auth (ImsHttp *self, SoupServerMessage *msg)
{
  gboolean change = g_str_equal (soup_server_message_get_method (msg), "POST");
  if (change && !ims_http_same_origin (msg))
    {
      ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS", "cross-site request refused");
      return NULL;
    }
  const ImsConfig *config = self->svc.config (self->svc.user_data);
  Session *se = ims_http_session (self, msg);
  if (se)
    {
      const char *token = soup_message_headers_get_one (
          soup_server_message_get_request_headers (msg), "X-CSRF-Token");
      if (change && (token == NULL || !ims_text_secret_equal (token, se->csrf)))
        {
          ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS", "missing or wrong X-CSRF-Token");
          return NULL;
        }
      const ImsWebUser *u = ims_config_find_webuser (config, se->user);
      if (u && g_str_hash (u->secret) == se->secret_hash)
        return u;
    }
  if (ims_http_login_blocked (self, msg))
    return NULL;
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");
  const ImsWebUser *user = NULL;
  if (auth && g_ascii_strncasecmp (auth, "Basic ", 6) == 0 && strlen (auth) < 1024)
    {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (auth + 6, &len);
      g_autofree char *pair = raw ? g_strndup ((const char *) raw, len) : NULL;
      char *colon = pair ? strchr (pair, ':') : NULL;
      if (colon)
        {
          *colon = '\0';
          user = ims_http_check_secret (self, pair, colon + 1);
          memset (colon + 1, 0, strlen (colon + 1));
        }
      if (raw)
        memset (raw, 0, len);
    }
  if (user)
    return user;
  if (auth)
    ims_http_login_failed (self, msg);
  /* A script's request (fetch, EventSource: Sec-Fetch-Mode other than
   * navigate) gets no challenge, or the browser would open its own password
   * box over the board's login form. */
  const char *mode = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Sec-Fetch-Mode");
  if (mode == NULL || g_str_equal (mode, "navigate"))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "WWW-Authenticate",
                                  "Basic realm=\"imstatus\", charset=\"UTF-8\"");
  ims_http_error (msg, SOUP_STATUS_UNAUTHORIZED, "BADARGS", "authentication required");
  return NULL;
}

/* ---- rendering ---- */

static ImsRenderPeer
ims_http_peer_view (ImsHttp *self, const ImsPeerConfig *p)
{
  const ImsService *h = &self->svc;
  return ims_render_peer_view (h->store, p,
                               h->peer_host ? h->peer_host (h->user_data, p->name) : p->host,
                               h->peer_port ? h->peer_port (h->user_data, p->name) : p->port);
}

static void
ims_http_buddy (ImsHttp *self, JsonBuilder *b, const char *peer, const char *id,
                const ImsAnswer *a, const ImsAnswer *old)
{
  g_autofree char *name = ims_presence_store_display_name (self->svc.store, peer, id);
  ims_render_buddy (b, peer, name, id, a, old, g_get_real_time () / G_USEC_PER_SEC);
}

/* ---- the event stream ---- */

/* libsoup does not read a paused response's connection, so we look for
 * the client going away (or sending what it should not) and end the stream,
 * freeing its slot.  Looked for once a second by the reaper and whenever a
 * slot is counted, not watched: a watch per stream puts every stream's
 * socket into every main-loop poll, which at 1,000 streams cost more than
 * delivering an event to all of them. */
static gboolean
ims_http_stream_gone (Stream *st)
{
  GSocket *sock = soup_server_message_get_socket (st->msg);
  return st->ending
         || (sock && g_socket_condition_check (sock, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0);
}

static void
ims_http_stream_end (Stream *st)
{
  if (st->ending)
    return;
  st->ending = TRUE;
  soup_message_body_complete (soup_server_message_get_response_body (st->msg));
  soup_server_message_unpause (st->msg);
}

static void
ims_http_stream_send (Stream *st, const char *event, const char *data)
{
  if (st->ending)
    return;
  g_autofree char *chunk = event ? g_strdup_printf ("event: %s\ndata: %s\n\n", event, data)
                                 : g_strdup_printf (": %s\n\n", data);
  gsize len = strlen (chunk);
  st->backlog += len;
  if (st->backlog > st->allowance)
    {
      /* A reader that does not read is dropped, not allowed to grow us. */
      g_autofree char *u = ims_text_for_log (st->user, 64);
      g_message ("HTTP: event stream of %s not read; closing it", u);
      ims_http_stream_end (st);
      return;
    }
  soup_message_body_append (soup_server_message_get_response_body (st->msg), SOUP_MEMORY_COPY,
                            chunk, len);
  soup_server_message_unpause (st->msg);
}

static void
on_stream_wrote (SoupServerMessage *msg, guint chunk_size, gpointer data)
{
  Stream *st = data;
  st->backlog = st->backlog > chunk_size ? st->backlog - chunk_size : 0;
  st->allowance = MAX (IMS_HTTP_MAX_STREAM_BACKLOG,
                       st->allowance > chunk_size ? st->allowance - chunk_size : 0);
}

static void
ims_http_stream_free (Stream *st)
{
  g_signal_handlers_disconnect_by_data (st->msg, st);
  g_free (st->user);
  g_free (st);
}

static void
on_stream_finished (SoupServerMessage *msg, gpointer data)
{
  Stream *st = data;
  st->owner->streams = g_list_remove (st->owner->streams, st);
  ims_http_stream_free (st);
}

static const ImsWebUser *
ims_http_stream_user (Stream *st)
{
  return ims_config_find_webuser (st->owner->svc.config (st->owner->svc.user_data), st->user);
}

static void
on_http_presence (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *new_,
                  gpointer data)
{
  ImsHttp *self = data;
  g_autofree char *json = NULL;
  for (GList *l = self->streams; l; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u == NULL || !ims_webuser_sees (u, peer))
        continue;
      if (json == NULL)
        {
          g_autoptr (JsonBuilder) b = json_builder_new ();
          ims_http_buddy (self, b, peer, buddy, new_, old);
          json = ims_render_to_string (b);
        }
      ims_http_stream_send (st, "buddy", json);
    }
}

static char *
ims_http_peer_json (ImsHttp *self, const char *peer)
{
  const ImsPeerConfig *p = ims_config_find_peer (self->svc.config (self->svc.user_data), peer);
  if (p == NULL)
    return NULL;
  ImsRenderPeer v = ims_http_peer_view (self, p);
  return ims_render_peer_json (&v);
}

static void
on_http_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  ImsHttp *self = data;
  g_autofree char *json = ims_http_peer_json (self, peer);
  for (GList *l = self->streams; l && json; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u && ims_webuser_sees (u, peer))
        ims_http_stream_send (st, "peer", json);
    }
}

/* The peer left the configuration (the store says so before it forgets it). */
static void
on_http_peer_removed (const char *peer, gpointer data)
{
  ImsHttp *self = data;
  g_autofree char *json = ims_render_peer_removed_json (peer);
  for (GList *l = self->streams; l; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u && ims_webuser_sees (u, peer))
        ims_http_stream_send (st, "peer-removed", json);
    }
}

static gboolean
on_http_heartbeat (gpointer data)
{
  ImsHttp *self = data;
  for (GList *l = self->streams; l; l = l->next)
    ims_http_stream_send (l->data, NULL, "heartbeat");
  return G_SOURCE_CONTINUE;
}

/* Every peer and buddy the user sees, then "synced", then every change. */
static void
ims_http_events (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user)
{
  guint mine = 0, all = 0;
  for (GList *l = self->streams; l; l = l->next)
    {
      Stream *st = l->data;
      /* A client that already hung up does not hold a slot, even before
       * the reaper has seen it or libsoup has finished the stream. */
      if (ims_http_stream_gone (st))
        continue;
      mine += g_str_equal (st->user, user->name);
      all++;
    }
  if (mine >= IMS_HTTP_MAX_STREAMS_PER_USER || all >= IMS_HTTP_MAX_STREAMS)
    {
      ims_http_error (msg, IMS_HTTP_TOO_MANY_REQUESTS, "BADARGS", "too many event streams");
      return;
    }
  ims_http_headers (msg);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (h, "text/event-stream", NULL);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);

  Stream *st = g_new0 (Stream, 1);
  st->owner = self;
  st->msg = msg;
  st->user = g_strdup (user->name);
  st->allowance = G_MAXSIZE; /* a snapshot of any size fits; the limit counts from its end */
  self->streams = g_list_prepend (self->streams, st);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (on_stream_wrote), st);
  g_signal_connect (msg, "finished", G_CALLBACK (on_stream_finished), st);

  const ImsConfig *config = self->svc.config (self->svc.user_data);
  for (guint i = 0; i < config->peers->len; i++)
    {
      const ImsPeerConfig *p = config->peers->pdata[i];
      if (!ims_webuser_sees (user, p->name))
        continue;
      g_autofree char *pj = ims_http_peer_json (self, p->name);
      ims_http_stream_send (st, "peer", pj);
      g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (self->svc.store, p->name);
      for (guint j = 0; buddies && j < buddies->len; j++)
        {
          ImsAnswer a;
          ims_presence_store_lookup (self->svc.store, p->name, buddies->pdata[j], &a);
          g_autoptr (JsonBuilder) b = json_builder_new ();
          ims_http_buddy (self, b, p->name, buddies->pdata[j], &a, NULL);
          g_autofree char *bj = ims_render_to_string (b);
          ims_http_stream_send (st, "buddy", bj);
          ims_answer_clear (&a);
        }
    }
  ims_http_stream_send (st, "synced", "{}");
  st->allowance = st->backlog + IMS_HTTP_MAX_STREAM_BACKLOG;
}

/* ---- the API ---- */

static guint
ims_http_status_for (ImsResult r)
{
  return (guint) ims_vocab_results[r <= IMS_RESULT_TIMEOUT ? r : IMS_RESULT_BADARGS].http;
}

/* The request body as a JSON object (NULL when it is not one). */
static JsonObject *
ims_http_body_object (SoupServerMessage *msg, JsonParser *parser)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  if (body->length == 0 || body->length > IMS_HTTP_MAX_BODY
      || !json_parser_load_from_data (parser, body->data, body->length, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_get_object (json_parser_get_root (parser));
}

static const char *
ims_http_member (JsonObject *o, const char *name)
{
  const char *v = o ? json_object_get_string_member_with_default (o, name, NULL) : NULL;
  return v && *v ? v : NULL;
}

static void
ims_http_send (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user)
{
  if (!user->send)
    {
      ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS", "this user may not send IMs");
      return;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = ims_http_body_object (msg, parser);
  const char *peer = ims_http_member (o, "peer"), *to = ims_http_member (o, "user");
  const char *text = ims_http_member (o, "text");
  if (!peer || !to || !text)
    {
      ims_http_error (msg, SOUP_STATUS_BAD_REQUEST, "BADARGS",
                      "a JSON object with peer, user and text");
      return;
    }
  if (!ims_webuser_sees (user, peer))
    {
      ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "NOPEER", "no such peer");
      return;
    }
  ImsSendOutcome out = { 0 };
  self->svc.send (self->svc.user_data, peer, to, text, &out);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_render_send (b, &out);
  ims_http_json (msg, out.status == IMS_SEND_FAILED ? ims_http_status_for (out.result)
                                                    : SOUP_STATUS_OK, b);
  ims_send_outcome_clear (&out);
}

/* Rings the user's phone, then the buddy's status URI (or a number given). */
static void
ims_http_dial (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user)
{
  if (!user->dial || user->phone == NULL)
    {
      ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS",
                      "this user may not dial (dial = yes and a phone in im.conf)");
      return;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = ims_http_body_object (msg, parser);
  const char *peer = ims_http_member (o, "peer"), *buddy = ims_http_member (o, "user");
  const char *number = ims_http_member (o, "number");
  if (!peer || (!buddy && !number))
    {
      ims_http_error (msg, SOUP_STATUS_BAD_REQUEST, "BADARGS",
                      "a JSON object with peer and user (or number)");
      return;
    }
  if (!ims_webuser_sees (user, peer) || !ims_presence_store_has_peer (self->svc.store, peer))
    {
      ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "NOPEER", "no such peer");
      return;
    }
  g_autofree char *target = g_strdup (number);
  if (target == NULL)
    {
      ImsAnswer a;
      ims_presence_store_lookup (self->svc.store, peer, buddy, &a);
      target = *a.uri ? g_strdup (a.uri) : NULL;
      ImsResult r = a.result;
      ims_answer_clear (&a);
      if (target == NULL)
        {
          ims_http_error (msg, r == IMS_RESULT_OK ? SOUP_STATUS_CONFLICT : ims_http_status_for (r),
                          r == IMS_RESULT_OK ? "BADARGS" : ims_result_to_string (r),
                          "the buddy's status gives no number to call");
          return;
        }
    }
  g_autoptr (GError) err = NULL;
  if (!self->svc.dial || !self->svc.dial (self->svc.user_data, peer, user->phone, target, &err))
    {
      guint status = !err                                              ? SOUP_STATUS_SERVICE_UNAVAILABLE
                     : g_error_matches (err, G_IO_ERROR, G_IO_ERROR_BUSY) ? IMS_HTTP_TOO_MANY_REQUESTS
                     : err->domain == G_IO_ERROR                           ? SOUP_STATUS_BAD_REQUEST
                                                                           : SOUP_STATUS_SERVICE_UNAVAILABLE;
      ims_http_error (msg, status, status == SOUP_STATUS_SERVICE_UNAVAILABLE ? "NOTCONNECTED" : "BADARGS",
                      err ? err->message : "no telephony");
      return;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "result");
  json_builder_add_string_value (b, "OK");
  json_builder_set_member_name (b, "calling");
  json_builder_add_string_value (b, user->phone);
  json_builder_end_object (b);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

/* What the board needs to know about its user. */
static void
ims_http_whoami (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user)
{
  Session *se = ims_http_session (self, msg);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, user->name);
  json_builder_set_member_name (b, "csrf");
  json_builder_add_string_value (b, se ? se->csrf : "");
  json_builder_set_member_name (b, "send");
  json_builder_add_boolean_value (b, user->send);
  json_builder_set_member_name (b, "dial");
  json_builder_add_boolean_value (b, user->dial && user->phone);
  json_builder_end_object (b);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

static void
on_http_api (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
             gpointer data)
{
  ImsHttp *self = data;
  if (soup_server_message_get_status (msg) != 0) /* refused early */
    return;
  const char *method = soup_server_message_get_method (msg);
  const ImsWebUser *user = ims_http_auth (self, msg);
  if (user == NULL)
    return;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1); /* "", "api", "v1", ... */
  guint n = g_strv_length (parts);
  const char *what = n > 3 ? parts[3] : "";
  gboolean get = g_str_equal (method, "GET");

  if (get && n == 4 && g_str_equal (what, "peers"))
    {
      const ImsConfig *config = self->svc.config (self->svc.user_data);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < config->peers->len; i++)
        {
          const ImsPeerConfig *p = config->peers->pdata[i];
          if (!ims_webuser_sees (user, p->name))
            continue;
          ImsRenderPeer v = ims_http_peer_view (self, p);
          ims_render_peer (b, &v);
        }
      json_builder_end_array (b);
      ims_http_json (msg, SOUP_STATUS_OK, b);
    }
  else if (get && n == 6 && g_str_equal (what, "peers") && g_str_equal (parts[5], "buddies"))
    {
      const char *peer = parts[4];
      if (!ims_webuser_sees (user, peer) || !ims_presence_store_has_peer (self->svc.store, peer))
        {
          ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "NOPEER", "no such peer");
          return;
        }
      g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (self->svc.store, peer);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint j = 0; j < buddies->len; j++)
        {
          ImsAnswer a;
          ims_presence_store_lookup (self->svc.store, peer, buddies->pdata[j], &a);
          ims_http_buddy (self, b, peer, buddies->pdata[j], &a, NULL);
          ims_answer_clear (&a);
        }
      json_builder_end_array (b);
      ims_http_json (msg, SOUP_STATUS_OK, b);
    }
  else if (get && n == 6 && g_str_equal (what, "status"))
    {
      const char *peer = parts[4], *name = parts[5];
      if (!ims_webuser_sees (user, peer) || !ims_presence_store_has_peer (self->svc.store, peer))
        {
          ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "NOPEER", "no such peer");
          return;
        }
      ImsAnswer a;
      ims_presence_store_lookup (self->svc.store, peer, name, &a);
      g_autofree char *id = ims_presence_store_normalize (self->svc.store, peer, name);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      ims_http_buddy (self, b, peer, id, &a, NULL);
      ims_answer_clear (&a);
      ims_http_json (msg, SOUP_STATUS_OK, b);
    }
  else if (get && n == 4 && g_str_equal (what, "events"))
    ims_http_events (self, msg, user);
  else if (g_str_equal (method, "POST") && n == 4 && g_str_equal (what, "send"))
    ims_http_send (self, msg, user);
  else if (g_str_equal (method, "POST") && n == 4 && g_str_equal (what, "dial"))
    ims_http_dial (self, msg, user);
  else if (get && n == 4 && g_str_equal (what, "session"))
    ims_http_whoami (self, msg, user);
  else
    ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "BADARGS", "no such endpoint or method");
}

/* Before the body is read: refuse what is too big. */
static void
on_http_early (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer data)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  goffset len = soup_message_headers_get_content_length (h);
  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CHUNKED || len > IMS_HTTP_MAX_BODY)
    ims_http_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "BADARGS",
                    "request body larger than 16384 bytes");
}

static void
ims_http_login (ImsHttp *self, SoupServerMessage *msg)
{
  if (!ims_http_same_origin (msg))
    {
      ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS", "cross-site request refused");
      return;
    }
  if (ims_http_login_blocked (self, msg))
    return;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = ims_http_body_object (msg, parser);
  const ImsWebUser *u =
      ims_http_check_secret (self, ims_http_member (o, "user"), ims_http_member (o, "secret"));
  if (u == NULL)
    {
      ims_http_login_failed (self, msg);
      ims_http_error (msg, SOUP_STATUS_UNAUTHORIZED, "BADARGS", "wrong user or password");
      return;
    }
  /* Forget expired sessions; refuse rather than grow without bound. */
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Session *) v)->expires < now)
      g_hash_table_iter_remove (&it);
  if (g_hash_table_size (self->sessions) >= IMS_HTTP_MAX_SESSIONS)
    {
      ims_http_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "BADARGS", "too many sessions");
      return;
    }
  Session *se = g_new0 (Session, 1);
  se->user = g_strdup (u->name);
  se->secret_hash = g_str_hash (u->secret);
  se->csrf = ims_http_token ();
  se->expires = now + (gint64) IMS_HTTP_SESSION_S * G_USEC_PER_SEC;
  char *token = ims_http_token ();
  g_hash_table_insert (self->sessions, token, se);
  ims_http_set_cookie (self, msg, token, IMS_HTTP_SESSION_S);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, u->name);
  json_builder_end_object (b);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

static void
ims_http_logout (ImsHttp *self, SoupServerMessage *msg)
{
  if (ims_http_auth (self, msg) == NULL)
    return;
  g_autofree char *token = ims_http_cookie (msg);
  if (token)
    g_hash_table_remove (self->sessions, token);
  ims_http_set_cookie (self, msg, "", 0);
  ims_http_error (msg, SOUP_STATUS_OK, "OK", "logged out");
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

static void
on_http_other (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer data)
{
  ImsHttp *self = data;
  if (soup_server_message_get_status (msg) != 0) /* refused early */
    return;
  const char *method = soup_server_message_get_method (msg);
  if (g_str_equal (method, "POST") && g_str_equal (path, "/login"))
    ims_http_login (self, msg);
  else if (g_str_equal (method, "POST") && g_str_equal (path, "/logout"))
    ims_http_logout (self, msg);
  else if (g_str_equal (method, "GET"))
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
  gint64 *deadline = g_new (gint64, 1);
  *deadline = g_get_monotonic_time ()
              + (gint64) self->svc.config (self->svc.user_data)->httptimeout * G_USEC_PER_SEC;
  g_hash_table_replace (self->waiting, g_object_ref (sock), deadline);
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
  self->failures = ims_rate_table_new ();
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
  soup_server_add_handler (self->server, "/api/v1", on_http_api, self, NULL);
  soup_server_add_handler (self->server, NULL, on_http_other, self, NULL);
  g_autoptr (GSocketAddress) sa =
      g_inet_socket_address_new (ia, g_network_address_get_port (G_NETWORK_ADDRESS (na)));
  if (!soup_server_listen (self->server, sa, tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error))
    {
      g_prefix_error (error, "httpbind %s: ", bind);
      ims_http_free (self);
      return NULL;
    }
  GSList *uris = soup_server_get_uris (self->server);
  self->port = uris ? g_uri_get_port (uris->data) : 0;
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  self->store_watch = ims_presence_store_watch (svc->store, on_http_presence, on_http_peer, self);
  self->removed_watch = ims_presence_store_watch_removed (svc->store, on_http_peer_removed, self);
  self->heartbeat_id = g_timeout_add_seconds (IMS_HTTP_HEARTBEAT_S, on_http_heartbeat, self);
  return self;
}

guint
ims_http_port (ImsHttp *self)
{
  return self->port;
}

void
ims_http_free (ImsHttp *self)
{
  if (self == NULL)
    return;
  if (self->store_watch)
    ims_presence_store_unwatch (self->svc.store, self->store_watch);
  if (self->removed_watch)
    ims_presence_store_unwatch (self->svc.store, self->removed_watch);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_clear_handle_id (&self->reaper_id, g_source_remove);
  g_list_free_full (g_steal_pointer (&self->streams), (GDestroyNotify) ims_http_stream_free);
  if (self->server)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_hash_table_unref (self->failures);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->waiting);
  g_free (self);
}
