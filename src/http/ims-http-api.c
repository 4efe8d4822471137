/* ims-http-api: the JSON API under /api/v1/: one table row per route
 * (method, path pattern, right, handler), each handler a wire over the
 * service facade and the store.
 */
#define G_LOG_DOMAIN "ims-http"

#include "ims-http-private.h"

#include <libsoup/soup.h>
#include <string.h>

#include "ims-render.h"
#include "ims-text.h"
#include "ims-vocab.h"

/* ---- rendering ---- */

ImsRenderPeer
ims_http_peer_view (ImsHttp *self, const ImsPeerConfig *p)
{
  const ImsService *h = &self->svc;
  return ims_render_peer_view (h->store, p,
                               h->peer_host ? h->peer_host (h->user_data, p->name) : p->host,
                               h->peer_port ? h->peer_port (h->user_data, p->name) : p->port);
}

void
ims_http_buddy (ImsHttp *self, JsonBuilder *b, const char *peer, const char *id,
                const ImsAnswer *a, const ImsAnswer *old)
{
  g_autofree char *name = ims_presence_store_display_name (self->svc.store, peer, id);
  ims_render_buddy (b, peer, name, id, a, old, g_get_real_time () / G_USEC_PER_SEC);
}

/* ---- the API ---- */

static guint
ims_http_status_for (ImsResult r)
{
  return (guint) ims_vocab_results[r <= IMS_RESULT_TIMEOUT ? r : IMS_RESULT_BADARGS].http;
}

/* The request body as a JSON object (NULL when it is not one). */
JsonObject *
ims_http_body_object (SoupServerMessage *msg, JsonParser *parser)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  if (body->length == 0 || body->length > IMS_HTTP_MAX_BODY
      || !json_parser_load_from_data (parser, body->data, body->length, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_get_object (json_parser_get_root (parser));
}

const char *
ims_http_member (JsonObject *o, const char *name)
{
  /* Only a string: another JSON type is as good as absent (json-glib's
   * getters complain loudly about the wrong type). */
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  const char *v = json_node_get_string (n);
  return v && *v ? v : NULL;
}

static void
ims_http_post_send (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
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
/* The answer to a call placed (@ok) or not (@err says why: rung too often,
 * not allowed, bad, or no telephony). */
static void
ims_http_dialled (SoupServerMessage *msg, const ImsWebUser *user, gboolean ok, const GError *err)
{
  if (!ok)
    {
      guint status = !err                                              ? SOUP_STATUS_SERVICE_UNAVAILABLE
                     : g_error_matches (err, G_IO_ERROR, G_IO_ERROR_BUSY) ? IMS_HTTP_TOO_MANY_REQUESTS
                     : g_error_matches (err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED)
                         ? SOUP_STATUS_FORBIDDEN
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

static void
ims_http_post_dial (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
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
  gboolean ok = self->svc.dial && self->svc.dial (self->svc.user_data, peer, user->phone, target, &err);
  ims_http_dialled (msg, user, ok, err);
}

/* What the board needs to know about its user. */
static void
ims_http_get_session (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
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
  json_builder_set_member_name (b, "dnd");
  json_builder_add_boolean_value (b, user->dnd == IMS_YES);
  json_builder_set_member_name (b, "person");
  json_builder_add_string_value (b, user->person ? user->person : "");
  json_builder_end_object (b);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

/* What a route needs beyond a login. */
typedef enum { IMS_HTTP_READ, IMS_HTTP_SEND, IMS_HTTP_DIAL } ImsHttpRight;

/* A route's handler; @args are the path's '*' parts, in order. */
typedef void (*ImsHttpRoute) (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user,
                              char **args);

static void
ims_http_get_peers (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
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

/* FALSE (after answering 404) unless @user sees @peer and it exists. */
static gboolean
ims_http_peer_ok (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, const char *peer)
{
  if (ims_webuser_sees (user, peer) && ims_presence_store_has_peer (self->svc.store, peer))
    return TRUE;
  ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "NOPEER", "no such peer");
  return FALSE;
}

static void
ims_http_get_buddies (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  const char *peer = args[0];
  if (!ims_http_peer_ok (self, msg, user, peer))
    return;
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

static void
ims_http_get_status (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  const char *peer = args[0], *name = args[1];
  if (!ims_http_peer_ok (self, msg, user, peer))
    return;
  ImsAnswer a;
  ims_presence_store_lookup (self->svc.store, peer, name, &a);
  g_autofree char *id = ims_presence_store_normalize (self->svc.store, peer, name);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_http_buddy (self, b, peer, id, &a, NULL);
  ims_answer_clear (&a);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

/* ---- people ---- */

/* The person @name if @user sees her, else NULL after answering 404. */
static const ImsPerson *
ims_http_person_ok (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user,
                    const char *name)
{
  const ImsPerson *p = ims_config_find_person (self->svc.config (self->svc.user_data), name);
  if (p && self->svc.people && ims_webuser_sees_person (user, p))
    return p;
  ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "BADARGS", "no such person");
  return NULL;
}

static void
ims_http_person (ImsHttp *self, JsonBuilder *b, const char *name)
{
  ImsPersonAnswer pa;
  if (ims_people_lookup (self->svc.people, name, &pa))
    {
      ims_render_person (b, name, &pa, g_get_real_time () / G_USEC_PER_SEC);
      ims_answer_clear (&pa.answer);
    }
}

static void
ims_http_get_people (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  const ImsConfig *config = self->svc.config (self->svc.user_data);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = 0; self->svc.people && i < config->people->len; i++)
    {
      const ImsPerson *p = config->people->pdata[i];
      if (ims_webuser_sees_person (user, p))
        ims_http_person (self, b, p->name);
    }
  json_builder_end_array (b);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

static void
ims_http_get_person (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  if (ims_http_person_ok (self, msg, user, args[0]) == NULL)
    return;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_http_person (self, b, args[0]);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

/* {"dnd": true|false}: her switch, if the user may (the dnd right, or her own). */
static void
ims_http_post_dnd (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  const ImsPerson *p = ims_http_person_ok (self, msg, user, args[0]);
  if (p == NULL)
    return;
  if (!ims_webuser_may_dnd (user, p))
    {
      ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS",
                      "this user may not switch her do not disturb (dnd = yes, or person = her)");
      return;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = ims_http_body_object (msg, parser);
  JsonNode *n = o ? json_object_get_member (o, "dnd") : NULL;
  if (n == NULL || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      ims_http_error (msg, SOUP_STATUS_BAD_REQUEST, "BADARGS", "a JSON object with dnd: true or false");
      return;
    }
  ims_people_set_dnd (self->svc.people, p->name, json_node_get_boolean (n), IMS_DND_FROM_WEB);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_http_person (self, b, p->name);
  ims_http_json (msg, SOUP_STATUS_OK, b);
}

/* "call" on her card: the user's phone rings, then her extension. */
static void
ims_http_post_call (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  const ImsPerson *p = ims_http_person_ok (self, msg, user, args[0]);
  if (p == NULL)
    return;
  g_autoptr (GError) err = NULL;
  gboolean ok = self->svc.call_person
                && self->svc.call_person (self->svc.user_data, user->phone, p->name, &err);
  ims_http_dialled (msg, user, ok, err);
}

static void
ims_http_get_events (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user, char **args)
{
  ims_http_events (self, msg, user);
}

/* The API: one row per route.  A pattern is the path after /api/v1/, '*'
 * standing for one segment that the handler gets. */
static const struct {
  const char *method, *pattern;
  ImsHttpRight right;
  ImsHttpRoute run;
} ims_http_routes[] = {
  { "GET", "peers", IMS_HTTP_READ, ims_http_get_peers },
  { "GET", "peers/*/buddies", IMS_HTTP_READ, ims_http_get_buddies },
  { "GET", "status/*/*", IMS_HTTP_READ, ims_http_get_status },
  { "GET", "events", IMS_HTTP_READ, ims_http_get_events },
  { "GET", "session", IMS_HTTP_READ, ims_http_get_session },
  { "POST", "send", IMS_HTTP_SEND, ims_http_post_send },
  { "POST", "dial", IMS_HTTP_DIAL, ims_http_post_dial },
  { "GET", "people", IMS_HTTP_READ, ims_http_get_people },
  { "GET", "people/*", IMS_HTTP_READ, ims_http_get_person },
  { "POST", "people/*/dnd", IMS_HTTP_READ, ims_http_post_dnd }, /* its own check: her, or dnd */
  { "POST", "people/*/call", IMS_HTTP_DIAL, ims_http_post_call },
};

/* Does @path (segments after /api/v1) match @pattern?  Its '*' parts go to
 * @args (borrowed from @path). */
static gboolean
ims_http_route_match (const char *pattern, char **path, char **args, gsize max_args)
{
  g_auto (GStrv) want = g_strsplit (pattern, "/", -1);
  gsize n = 0;
  guint i = 0;
  for (; want[i] && path[i]; i++)
    {
      if (g_str_equal (want[i], "*") && *path[i] && n < max_args)
        args[n++] = path[i];
      else if (!g_str_equal (want[i], path[i]))
        return FALSE;
    }
  return want[i] == NULL && path[i] == NULL;
}

void
ims_http_api_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
                      GHashTable *query, gpointer data)
{
  ImsHttp *self = data;
  if (soup_server_message_get_status (msg) != 0) /* refused early */
    return;
  const char *method = soup_server_message_get_method (msg);
  const ImsWebUser *user = ims_http_auth (self, msg);
  if (user == NULL)
    return;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1); /* "", "api", "v1", ... */
  if (g_strv_length (parts) < 4)
    {
      ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "BADARGS", "no such endpoint or method");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (ims_http_routes); i++)
    {
      char *args[2] = { NULL, NULL };
      if (!g_str_equal (method, ims_http_routes[i].method)
          || !ims_http_route_match (ims_http_routes[i].pattern, parts + 3, args,
                                    G_N_ELEMENTS (args)))
        continue;
      if (ims_http_routes[i].right == IMS_HTTP_SEND && !user->send)
        ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS", "this user may not send IMs");
      else if (ims_http_routes[i].right == IMS_HTTP_DIAL && (!user->dial || user->phone == NULL))
        ims_http_error (msg, SOUP_STATUS_FORBIDDEN, "BADARGS",
                        "this user may not dial (dial = yes and a phone in im.conf)");
      else
        ims_http_routes[i].run (self, msg, user, args);
      return;
    }
  ims_http_error (msg, SOUP_STATUS_NOT_FOUND, "BADARGS", "no such endpoint or method");
}
