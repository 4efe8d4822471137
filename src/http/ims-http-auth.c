/* ims-http-auth: who is asking: HTTP Basic against the webuser sections,
 * or the board's session cookie (with its CSRF token); failures rate-limited
 * per address and user; login and logout.
 */
#define G_LOG_DOMAIN "ims-http"

#include "ims-http-private.h"

#include <libsoup/soup.h>
#include <string.h>
#include <sys/random.h>

#include "ims-rate.h"
#include "ims-render.h"
#include "ims-text.h"
#include "ims-vocab.h"

/* ---- authentication ---- */

void
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
char *
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

static gboolean ims_http_from_proxy (ImsHttp *self, SoupServerMessage *msg);

/* (By hand: soup_cookie_to_set_cookie_header writes an empty Domain and no
 * Max-Age.)  The token's alphabet needs no quoting. */
static void
ims_http_set_cookie (ImsHttp *self, SoupServerMessage *msg, const char *value, int max_age)
{
  /* Secure under our own TLS, and behind a configured proxy that says its
   * client came over HTTPS. */
  const char *proto = ims_http_from_proxy (self, msg)
                          ? soup_message_headers_get_one (
                                soup_server_message_get_request_headers (msg), "X-Forwarded-Proto")
                          : NULL;
  gboolean secure = self->tls || (proto && g_ascii_strcasecmp (proto, "https") == 0);
  g_autofree char *header =
      g_strdup_printf ("ims_session=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", value,
                       max_age, secure ? "; Secure" : "");
  soup_message_headers_append (soup_server_message_get_response_headers (msg), "Set-Cookie",
                               header);
}

/* The session a request's cookie names, when it is still good. */
Session *
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

/* Is the peer one of the httpproxy addresses (a proxy we believe)? */
static gboolean
ims_http_from_proxy (ImsHttp *self, SoupServerMessage *msg)
{
  const char *addr = soup_server_message_get_remote_host (msg);
  const ImsConfig *c = self->svc.config (self->svc.user_data);
  g_autoptr (GInetAddress) peer = addr ? g_inet_address_new_from_string (addr) : NULL;
  for (guint i = 0; peer && c->httpproxy && i < c->httpproxy->len; i++)
    {
      g_autoptr (GInetAddressMask) m =
          g_inet_address_mask_new_from_string (c->httpproxy->pdata[i], NULL);
      if (m && g_inet_address_mask_matches (m, peer))
        return TRUE;
    }
  return FALSE;
}

/* The client's address: the peer's, or, when the peer is a configured
 * proxy (httpproxy), the last address its X-Forwarded-For names (what the
 * proxy itself added; earlier entries are the client's word). */
static char *
ims_http_remote (ImsHttp *self, SoupServerMessage *msg)
{
  const char *addr = soup_server_message_get_remote_host (msg);
  if (addr == NULL)
    return g_strdup ("?");
  gboolean proxy = ims_http_from_proxy (self, msg);
  const char *xff = proxy ? soup_message_headers_get_list (
                                soup_server_message_get_request_headers (msg), "X-Forwarded-For")
                          : NULL;
  if (xff && strlen (xff) < 4096)
    {
      const char *last = strrchr (xff, ',');
      g_autofree char *client = g_strstrip (g_strdup (last ? last + 1 : xff));
      if (g_hostname_is_ip_address (client))
        return g_steal_pointer (&client);
    }
  return g_strdup (addr);
}

/* Failed logins (HTTP Basic or the form) are counted per (address, user):
 * everyone behind one address (local users, a proxy) is not locked out by
 * one of them guessing.  An address that fails for many users waits too. */
static gboolean
ims_http_login_blocked (ImsHttp *self, SoupServerMessage *msg, const char *user)
{
  g_autofree char *addr = ims_http_remote (self, msg);
  g_autofree char *key = g_strdup_printf ("%s\n%s", addr, user ? user : "");
  if (ims_rate_count (self->failures, key, FALSE) < IMS_HTTP_LOGIN_FAILURES_PER_MINUTE
      && ims_rate_count (self->failures, addr, FALSE) < IMS_HTTP_LOGIN_FAILURES_PER_ADDRESS)
    return FALSE;
  ims_http_error (msg, IMS_HTTP_TOO_MANY_REQUESTS, "BADARGS",
                  "too many failed logins for this user from this address; wait a minute");
  return TRUE;
}

static void
ims_http_login_failed (ImsHttp *self, SoupServerMessage *msg, const char *user)
{
  g_autofree char *addr = ims_http_remote (self, msg);
  g_autofree char *a = ims_text_for_log (addr, 64);
  g_autofree char *u = ims_text_for_log (user ? user : "", 64);
  g_message ("HTTP: failed login from %s (user '%s')", a, u);
  g_autofree char *key = g_strdup_printf ("%s\n%s", addr, user ? user : "");
  ims_rate_count (self->failures, key, TRUE);
  ims_rate_count (self->failures, addr, TRUE);
}

/* The webuser @name when @secret is theirs. */
static const ImsWebUser *
ims_http_check_secret (ImsHttp *self, const char *name, const char *secret)
{
  const ImsWebUser *u =
      name ? ims_config_find_webuser (self->svc.config (self->svc.user_data), name) : NULL;
  /* The same comparison whether or not the user exists: the time an answer
   * takes does not tell which names are users. */
  static const char nobody[] = "no such user: a secret nobody has";
  gboolean same = ims_text_secret_equal (secret ? secret : "", u ? u->secret : nobody);
  return u && secret && same ? u : NULL;
}

/* The webuser the request authenticates as, or NULL with the answer set. */
const ImsWebUser *
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
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");
  const ImsWebUser *user = NULL;
  g_autofree char *name = NULL;
  if (auth && g_ascii_strncasecmp (auth, "Basic ", 6) == 0 && strlen (auth) < 1024)
    {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (auth + 6, &len);
      g_autofree char *pair = raw ? g_strndup ((const char *) raw, len) : NULL;
      char *colon = pair ? strchr (pair, ':') : NULL;
      if (colon)
        {
          *colon = '\0';
          name = g_strdup (pair);
          if (ims_http_login_blocked (self, msg, name))
            {
              memset (colon + 1, 0, strlen (colon + 1));
              memset (raw, 0, len);
              return NULL;
            }
          user = ims_http_check_secret (self, pair, colon + 1);
          memset (colon + 1, 0, strlen (colon + 1));
        }
      if (raw)
        memset (raw, 0, len);
    }
  if (user)
    return user;
  if (auth)
    ims_http_login_failed (self, msg, name);
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

void
ims_http_login (ImsHttp *self, SoupServerMessage *msg)
{
  if (!ims_http_same_origin (msg))
    {
      ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS", "cross-site request refused");
      return;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = ims_http_body_object (msg, parser);
  const char *name = ims_http_member (o, "user");
  if (ims_http_login_blocked (self, msg, name))
    return;
  const ImsWebUser *u = ims_http_check_secret (self, name, ims_http_member (o, "secret"));
  if (u == NULL)
    {
      ims_http_login_failed (self, msg, name);
      ims_http_error (msg, SOUP_STATUS_UNAUTHORIZED, "BADARGS", "wrong user or password");
      return;
    }
  /* Forget expired sessions; refuse rather than grow without bound. */
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, self->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Session *) v)->expires < now)
      g_hash_table_iter_remove (&it);
  /* One user cannot hold every session: past the per-user cap, the
   * user's oldest session ends. */
  guint mine = 0;
  gpointer oldest_key = NULL;
  gint64 oldest = G_MAXINT64;
  g_hash_table_iter_init (&it, self->sessions);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (g_str_equal (((Session *) v)->user, u->name))
      {
        mine++;
        if (((Session *) v)->expires < oldest)
          oldest = ((Session *) v)->expires, oldest_key = k;
      }
  if (mine >= IMS_HTTP_MAX_SESSIONS_PER_USER && oldest_key)
    {
      g_hash_table_remove (self->sessions, oldest_key);
      ims_http_streams_recheck (self);
    }
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

void
ims_http_logout (ImsHttp *self, SoupServerMessage *msg)
{
  if (ims_http_auth (self, msg) == NULL)
    return;
  g_autofree char *token = ims_http_cookie (msg);
  if (token)
    g_hash_table_remove (self->sessions, token);
  ims_http_streams_recheck (self); /* its event streams end with it */
  ims_http_set_cookie (self, msg, "", 0);
  ims_http_error (msg, SOUP_STATUS_OK, "OK", "logged out");
}
