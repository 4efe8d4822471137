/* ims-http-stream: the event stream (server-sent events): a snapshot of what
 * the user sees, then every change the store publishes, a heartbeat, and
 * the end of a stream whose reader stops reading.
 */
#define G_LOG_DOMAIN "ims-http"

#include "ims-http-private.h"

#include <libsoup/soup.h>
#include <string.h>

#include "ims-render.h"
#include "ims-text.h"
#include "ims-vocab.h"

/* ---- the event stream ---- */

/* libsoup does not read a paused response's connection, so we look for
 * the client going away (or sending what it should not) and end the stream,
 * freeing its slot.  Looked for once a second by the reaper and whenever a
 * slot is counted, not watched: a watch per stream puts every stream's
 * socket into every main-loop poll, which at 1,000 streams cost more than
 * delivering an event to all of them. */
gboolean
ims_http_stream_gone (Stream *st)
{
  GSocket *sock = ims_http_socket (st->owner, st->msg);
  return st->ending
         || (sock && g_socket_condition_check (sock, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0);
}

void
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

void
ims_http_stream_free (Stream *st)
{
  g_signal_handlers_disconnect_by_data (st->msg, st);
  g_free (st->user);
  g_free (st->session);
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
      ims_http_stream_send (st, IMS_VOCAB_EVENT_BUDDY, json);
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
        ims_http_stream_send (st, IMS_VOCAB_EVENT_PEER, json);
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
        ims_http_stream_send (st, IMS_VOCAB_EVENT_PEER_REMOVED, json);
    }
}

static void
on_http_person (const char *name, const ImsPersonAnswer *a, gpointer data)
{
  ImsHttp *self = data;
  const ImsPerson *p = ims_config_find_person (self->svc.config (self->svc.user_data), name);
  g_autofree char *json = NULL;
  for (GList *l = self->streams; l && p; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u == NULL || !ims_webuser_sees_person (u, p))
        continue;
      if (json == NULL)
        {
          g_autoptr (JsonBuilder) b = json_builder_new ();
          ims_render_person (b, name, a, g_get_real_time () / G_USEC_PER_SEC);
          json = ims_render_to_string (b);
        }
      ims_http_stream_send (st, IMS_VOCAB_EVENT_PERSON, json);
    }
}

static gboolean
on_http_heartbeat (gpointer data)
{
  ImsHttp *self = data;
  ims_http_streams_recheck (self); /* a session may have expired */
  for (GList *l = self->streams; l; l = l->next)
    ims_http_stream_send (l->data, NULL, "heartbeat");
  return G_SOURCE_CONTINUE;
}

/* The snapshot of one stream: what its user sees, as the store has it. */
static gboolean
on_snapshot_visible (const char *peer, gpointer data)
{
  Stream *st = data;
  const ImsWebUser *u = ims_http_stream_user (st);
  return u && ims_webuser_sees (u, peer);
}

static void
on_snapshot_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  Stream *st = data;
  g_autofree char *pj = ims_http_peer_json (st->owner, peer);
  if (pj)
    ims_http_stream_send (st, IMS_VOCAB_EVENT_PEER, pj);
}

static void
on_snapshot_buddy (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *a,
                   gpointer data)
{
  Stream *st = data;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_http_buddy (st->owner, b, peer, buddy, a, NULL);
  g_autofree char *bj = ims_render_to_string (b);
  ims_http_stream_send (st, IMS_VOCAB_EVENT_BUDDY, bj);
}

static void
on_snapshot_person (const char *name, const ImsPersonAnswer *a, gpointer data)
{
  Stream *st = data;
  const ImsWebUser *u = ims_http_stream_user (st);
  const ImsPerson *p = ims_config_find_person (st->owner->svc.config (st->owner->svc.user_data),
                                               name);
  if (u == NULL || p == NULL || !ims_webuser_sees_person (u, p))
    return;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_render_person (b, name, a, g_get_real_time () / G_USEC_PER_SEC);
  g_autofree char *pj = ims_render_to_string (b);
  ims_http_stream_send (st, IMS_VOCAB_EVENT_PERSON, pj);
}

/* Every peer, buddy and person the user sees, then "synced", then every change. */
void
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
  st->secret_hash = g_str_hash (user->secret);
  if (ims_http_session (self, msg))
    st->session = ims_http_cookie (msg);
  st->allowance = G_MAXSIZE; /* a snapshot of any size fits; the limit counts from its end */
  self->streams = g_list_prepend (self->streams, st);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (on_stream_wrote), st);
  g_signal_connect (msg, "finished", G_CALLBACK (on_stream_finished), st);

  ims_presence_store_snapshot (self->svc.store, on_snapshot_visible, on_snapshot_peer,
                               on_snapshot_buddy, st);
  if (self->svc.people)
    ims_people_foreach (self->svc.people, on_snapshot_person, st);
  ims_http_stream_send (st, IMS_VOCAB_EVENT_SYNCED, "{}");
  st->allowance = st->backlog + IMS_HTTP_MAX_STREAM_BACKLOG;
}

void
ims_http_stream_watch (ImsHttp *self)
{
  self->store_watch = ims_presence_store_watch (self->svc.store, on_http_presence, on_http_peer,
                                                self);
  self->removed_watch = ims_presence_store_watch_removed (self->svc.store, on_http_peer_removed,
                                                          self);
  if (self->svc.people)
    self->people_watch = ims_people_watch (self->svc.people, on_http_person, self);
  self->heartbeat_id = g_timeout_add_seconds (IMS_HTTP_HEARTBEAT_S, on_http_heartbeat, self);
}

void
ims_http_stream_unwatch (ImsHttp *self)
{
  if (self->store_watch)
    ims_presence_store_unwatch (self->svc.store, self->store_watch);
  if (self->removed_watch)
    ims_presence_store_unwatch (self->svc.store, self->removed_watch);
  if (self->people_watch)
    ims_people_unwatch (self->svc.people, self->people_watch);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_list_free_full (g_steal_pointer (&self->streams), (GDestroyNotify) ims_http_stream_free);
}

void
ims_http_streams_recheck (ImsHttp *self)
{
  const ImsConfig *config = self->svc.config (self->svc.user_data);
  gint64 now = g_get_monotonic_time ();
  for (GList *l = self->streams; l; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_config_find_webuser (config, st->user);
      Session *se = st->session ? g_hash_table_lookup (self->sessions, st->session) : NULL;
      if (u == NULL || g_str_hash (u->secret) != st->secret_hash
          || (st->session && (se == NULL || se->expires < now)))
        ims_http_stream_end (st);
    }
}
