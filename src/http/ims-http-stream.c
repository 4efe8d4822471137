/* ims-http-stream: the event stream (server-sent events): a snapshot of what
 * the user sees, then every change the store publishes, a heartbeat, and
 * the end of a stream whose reader stops reading.
 */
#define G_LOG_DOMAIN "ims-http"

#include "ims-http-private.h"

#include <libsoup/soup.h>
#include <string.h>
#include <sys/socket.h>

#include "ims-render.h"
#include "ims-text.h"
#include "ims-vocab.h"

/* ---- the event stream ---- */

/* Once its headers are out, a stream's connection is taken from libsoup and
 * written here: each change is rendered once, as one HTTP chunk, and the
 * same bytes go to every stream with one non-blocking write each.  Only a
 * stream whose socket is full has a main-loop source (until it drains);
 * libsoup would give every stream its own source and a main-loop turn per
 * event.  At 1,000 streams that was four times the cost of the writes. */

/* One event as one chunk of the chunked body ("event:"/"data:" lines, or a
 * comment line when @event is NULL). */
static GBytes *
ims_http_event_chunk (const char *event, const char *data)
{
  g_autofree char *sse = event ? g_strdup_printf ("event: %s\ndata: %s\n\n", event, data)
                               : g_strdup_printf (": %s\n\n", data);
  gsize len = strlen (sse);
  char *chunk = g_strdup_printf ("%zx\r\n%s\r\n", len, sse);
  return g_bytes_new_take (chunk, strlen (chunk));
}

/* The client went away (or sent what it should not): a stream's socket is
 * looked at once a second by the reaper and when slots are counted at the
 * cap, not watched: a watch per stream puts every socket into every
 * main-loop poll. */
gboolean
ims_http_stream_gone (Stream *st)
{
  GSocket *sock = st->sock ? st->sock : st->msg ? ims_http_socket (st->owner, st->msg) : NULL;
  return st->ending || sock == NULL || g_socket_is_closed (sock)
         || g_socket_condition_check (sock, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0;
}

void
ims_http_stream_free (Stream *st)
{
  if (st->msg)
    g_signal_handlers_disconnect_by_data (st->msg, st);
  g_clear_handle_id (&st->close_id, g_source_remove);
  if (st->writable)
    {
      g_source_destroy (st->writable);
      g_clear_pointer (&st->writable, g_source_unref);
    }
  g_queue_clear_full (&st->queue, (GDestroyNotify) g_bytes_unref);
  /* The socket first: closing a TLS stream would otherwise write its
   * close_notify and wait, for ever, on a reader that does not read. */
  if (st->sock)
    g_socket_close (st->sock, NULL);
  if (st->io)
    g_io_stream_close (st->io, NULL, NULL);
  g_clear_object (&st->io);
  g_clear_object (&st->sock);
  g_free (st->user);
  g_free (st->session);
  g_free (st);
}

static gboolean
on_stream_close (gpointer data)
{
  Stream *st = data;
  st->close_id = 0;
  st->owner->streams = g_list_delete_link (st->owner->streams, st->link);
  ims_http_stream_free (st);
  return G_SOURCE_REMOVE;
}

/* No more events; the stream is closed and freed from an idle (it may be
 * ended while a loop over the streams holds it). */
static void
ims_http_stream_stop (Stream *st)
{
  if (st->ending)
    return;
  st->ending = TRUE;
  ImsHttp *self = st->owner;
  if (--self->nstreams == 0 && self->feed)
    ims_store_feed_set_listening (self->feed, FALSE);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->stream_users, st->user));
  if (n > 1)
    g_hash_table_insert (self->stream_users, g_strdup (st->user), GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (self->stream_users, st->user);
  st->close_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_stream_close, st,
                                  NULL); /* see ims_line_conn_close */
}

static void ims_http_stream_flush (Stream *st);

static gboolean
on_stream_writable (GObject *out, gpointer data)
{
  Stream *st = data;
  g_clear_pointer (&st->writable, g_source_unref);
  ims_http_stream_flush (st);
  return G_SOURCE_REMOVE;
}

/* Writes what is queued, as much as the socket takes (up to 64 chunks in
 * one write), and waits for room for the rest. */
static void
ims_http_stream_flush (Stream *st)
{
  while (!g_queue_is_empty (&st->queue) && st->writable == NULL)
    {
      GOutputVector v[64];
      gsize n = 0, wrote = 0;
      for (GList *l = st->queue.head; l && n < G_N_ELEMENTS (v); l = l->next, n++)
        {
          gsize len;
          const char *p = g_bytes_get_data (l->data, &len);
          gsize skip = n == 0 ? st->offset : 0;
          v[n].buffer = p + skip;
          v[n].size = len - skip;
        }
      g_autoptr (GError) error = NULL;
      GPollableReturn r =
          g_pollable_output_stream_writev_nonblocking (st->out, v, n, &wrote, NULL, &error);
      if (r == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          st->writable = g_pollable_output_stream_create_source (st->out, NULL);
          g_source_set_callback (st->writable, G_SOURCE_FUNC (on_stream_writable), st, NULL);
          g_source_set_can_recurse (st->writable, TRUE); /* see ims_line_conn_source */
          g_source_attach (st->writable, NULL);
          return;
        }
      if (r != G_POLLABLE_RETURN_OK)
        {
          g_queue_clear_full (&st->queue, (GDestroyNotify) g_bytes_unref);
          st->backlog = 0;
          ims_http_stream_stop (st); /* the client went away */
          return;
        }
      st->backlog -= MIN (st->backlog, wrote);
      st->allowance = MAX (IMS_HTTP_MAX_STREAM_BACKLOG,
                           st->allowance > wrote ? st->allowance - wrote : 0);
      while (wrote > 0)
        {
          gsize len = g_bytes_get_size (g_queue_peek_head (&st->queue)) - st->offset;
          if (wrote < len)
            {
              st->offset += wrote;
              break;
            }
          wrote -= len;
          st->offset = 0;
          g_bytes_unref (g_queue_pop_head (&st->queue));
        }
    }
}

void
ims_http_stream_end (Stream *st)
{
  if (st->ending)
    return;
  /* The last chunk, if the socket takes it now; what it does not is
   * dropped with the connection. */
  static const char last[] = "0\r\n\r\n";
  g_queue_push_tail (&st->queue, g_bytes_new_static (last, sizeof last - 1));
  if (st->out)
    ims_http_stream_flush (st);
  ims_http_stream_stop (st);
}

static void
ims_http_stream_send (Stream *st, GBytes *chunk)
{
  if (st->ending)
    return;
  gsize len = g_bytes_get_size (chunk);
  if (st->backlog + len > st->allowance)
    {
      /* A reader that does not read is dropped, not allowed to grow us. */
      g_autofree char *u = ims_text_for_log (st->user, 64);
      g_message ("HTTP: event stream of %s not read; closing it", u);
      ims_http_stream_stop (st);
      return;
    }
  st->backlog += len;
  g_queue_push_tail (&st->queue, g_bytes_ref (chunk));
  if (st->out)
    ims_http_stream_flush (st);
}

static void
ims_http_stream_send_event (Stream *st, const char *event, const char *data)
{
  g_autoptr (GBytes) chunk = ims_http_event_chunk (event, data);
  ims_http_stream_send (st, chunk);
}

/* The headers are out: the connection is ours from here, taken before
 * libsoup sets up a body writer (whose end it would write on the socket). */
static void
on_stream_wrote_headers (SoupServerMessage *msg, gpointer data)
{
  Stream *st = data;
  st->msg = NULL;
  GSocket *sock = ims_http_socket (st->owner, msg);
  g_signal_handlers_disconnect_by_data (msg, st);
  st->io = soup_server_message_steal_connection (msg); /* (msg may be freed) */
  GOutputStream *out = st->io ? g_io_stream_get_output_stream (st->io) : NULL;
  if (sock == NULL || out == NULL || !G_IS_POLLABLE_OUTPUT_STREAM (out)
      || !g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out)))
    {
      ims_http_stream_stop (st);
      return;
    }
  st->sock = g_object_ref (sock);
  st->out = G_POLLABLE_OUTPUT_STREAM (out);
  /* What a reader leaves unread waits here, counted against its 1 MiB,
   * not in the kernel (which would let a socket hold several). */
  g_socket_set_option (sock, SOL_SOCKET, SO_SNDBUF, IMS_HTTP_STREAM_SNDBUF, NULL);
  ims_http_stream_flush (st);
}

/* The client went away before its headers were written. */
static void
on_stream_finished (SoupServerMessage *msg, gpointer data)
{
  Stream *st = data;
  g_signal_handlers_disconnect_by_data (msg, st);
  st->msg = NULL;
  ims_http_stream_stop (st);
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
  g_autoptr (GBytes) chunk = NULL;
  for (GList *l = self->streams; l; l = l->next)
    {
      Stream *st = l->data;
      if (st->ending)
        continue;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u == NULL || !ims_webuser_sees (u, peer))
        continue;
      if (chunk == NULL)
        {
          g_autoptr (JsonBuilder) b = json_builder_new ();
          ims_http_buddy (self, b, peer, buddy, new_, old);
          g_autofree char *json = ims_render_to_string (b);
          chunk = ims_http_event_chunk (IMS_VOCAB_EVENT_BUDDY, json);
        }
      ims_http_stream_send (st, chunk);
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
  g_autoptr (GBytes) chunk = json ? ims_http_event_chunk (IMS_VOCAB_EVENT_PEER, json) : NULL;
  for (GList *l = self->streams; l && chunk; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u && ims_webuser_sees (u, peer))
        ims_http_stream_send (st, chunk);
    }
}

/* The peer left the configuration (the store says so before it forgets it). */
static void
on_http_peer_removed (const char *peer, gpointer data)
{
  ImsHttp *self = data;
  g_autofree char *json = ims_render_peer_removed_json (peer);
  g_autoptr (GBytes) chunk = ims_http_event_chunk (IMS_VOCAB_EVENT_PEER_REMOVED, json);
  for (GList *l = self->streams; l; l = l->next)
    {
      Stream *st = l->data;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u && ims_webuser_sees (u, peer))
        ims_http_stream_send (st, chunk);
    }
}

static void
on_http_person (const char *name, const ImsPersonAnswer *a, gpointer data)
{
  ImsHttp *self = data;
  const ImsPerson *p = ims_config_find_person (self->svc.config (self->svc.user_data), name);
  g_autoptr (GBytes) chunk = NULL;
  for (GList *l = self->streams; l && p; l = l->next)
    {
      Stream *st = l->data;
      if (st->ending)
        continue;
      const ImsWebUser *u = ims_http_stream_user (st);
      if (u == NULL || !ims_webuser_sees_person (u, p))
        continue;
      if (chunk == NULL)
        {
          g_autoptr (JsonBuilder) b = json_builder_new ();
          ims_render_person (b, name, a, g_get_real_time () / G_USEC_PER_SEC);
          g_autofree char *json = ims_render_to_string (b);
          chunk = ims_http_event_chunk (IMS_VOCAB_EVENT_PERSON, json);
        }
      ims_http_stream_send (st, chunk);
    }
}

static gboolean
on_http_heartbeat (gpointer data)
{
  ImsHttp *self = data;
  ims_http_streams_recheck (self); /* a session may have expired */
  g_autoptr (GBytes) chunk = ims_http_event_chunk (NULL, "heartbeat");
  for (GList *l = self->streams; l; l = l->next)
    ims_http_stream_send (l->data, chunk);
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
    ims_http_stream_send_event (st, IMS_VOCAB_EVENT_PEER, pj);
}

static void
on_snapshot_buddy (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *a,
                   gpointer data)
{
  Stream *st = data;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_http_buddy (st->owner, b, peer, buddy, a, NULL);
  g_autofree char *bj = ims_render_to_string (b);
  ims_http_stream_send_event (st, IMS_VOCAB_EVENT_BUDDY, bj);
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
  ims_http_stream_send_event (st, IMS_VOCAB_EVENT_PERSON, pj);
}

/* Every peer, buddy and person the user sees, then "synced", then every
 * change (queued until
 * the connection is taken, see on_stream_wrote_headers). */
void
ims_http_events (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user)
{
  const ImsConfig *c = self->svc.config (self->svc.user_data);
  guint mine = GPOINTER_TO_UINT (g_hash_table_lookup (self->stream_users, user->name));
  if (mine >= IMS_HTTP_MAX_STREAMS_PER_USER || self->nstreams >= (guint) c->httpmaxstreams)
    {
      /* A client that already hung up does not hold a slot, even before
       * the reaper has seen it. */
      for (GList *l = self->streams; l; l = l->next)
        if (ims_http_stream_gone (l->data))
          ims_http_stream_stop (l->data);
      mine = GPOINTER_TO_UINT (g_hash_table_lookup (self->stream_users, user->name));
    }
  if (mine >= IMS_HTTP_MAX_STREAMS_PER_USER || self->nstreams >= (guint) c->httpmaxstreams)
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
  self->streams = st->link = g_list_prepend (self->streams, st);
  if (self->nstreams++ == 0)
    ims_store_feed_set_listening (self->feed, TRUE);
  g_hash_table_insert (self->stream_users, g_strdup (user->name), GUINT_TO_POINTER (mine + 1));
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (on_stream_wrote_headers), st);
  g_signal_connect (msg, "finished", G_CALLBACK (on_stream_finished), st);

  ims_presence_store_snapshot (self->svc.store, on_snapshot_visible, on_snapshot_peer,
                               on_snapshot_buddy, st);
  if (self->svc.people)
    ims_people_foreach (self->svc.people, on_snapshot_person, st);
  ims_http_stream_send_event (st, IMS_VOCAB_EVENT_SYNCED, "{}");
  st->allowance = st->backlog + IMS_HTTP_MAX_STREAM_BACKLOG;
}

void
ims_http_stream_watch (ImsHttp *self)
{
  self->feed = ims_store_feed_new (self->svc.store, on_http_presence, on_http_peer,
                                   on_http_peer_removed, self);
  if (self->svc.people)
    self->people_watch = ims_people_watch (self->svc.people, on_http_person, self);
  self->heartbeat_id = g_timeout_add_seconds (IMS_HTTP_HEARTBEAT_S, on_http_heartbeat, self);
}

void
ims_http_stream_unwatch (ImsHttp *self)
{
  g_clear_pointer (&self->feed, ims_store_feed_free);
  if (self->people_watch)
    ims_people_unwatch (self->svc.people, self->people_watch);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_list_free_full (g_steal_pointer (&self->streams), (GDestroyNotify) ims_http_stream_free);
  self->nstreams = 0;
  g_hash_table_remove_all (self->stream_users);
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
