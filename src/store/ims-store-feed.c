/* ims-store-feed: changes handed on as they come, or paced when they come
 * all at once (see the header). */
#define G_LOG_DOMAIN "ims-store"

#include "ims-store-feed.h"

#include <string.h>

typedef enum {
  FEED_BUDDY,
  FEED_PEER,
  FEED_REMOVED,
} FeedKind;

typedef struct {
  FeedKind kind;
  char *key;       /* "peer\nbuddy" (in pending) or the peer */
  const char *buddy; /* in key, after the newline */
  gboolean had_old;
  ImsAnswer old;   /* the answer before the first change that waits */
} FeedEvent;

struct _ImsStoreFeed {
  ImsPresenceStore *store;
  ImsPresenceChangedFunc presence;
  ImsPeerChangedFunc peer;
  ImsPeerRemovedFunc removed;
  gpointer user_data;
  guint watch;
  guint removed_watch;
  gboolean listening;
  GQueue queue;        /* FeedEvent*, oldest first */
  GHashTable *pending; /* the keys of the buddies that wait (their events own them) */
  GSource *source;     /* while listening: counts main-loop turns, drains the queue */
  guint64 turn;        /* main-loop turns so far */
  guint64 burst_turn;  /* the turn burst counts in */
  guint burst;         /* handed on in that turn */
};

typedef struct {
  GSource base;
  ImsStoreFeed *f;
} FeedSource;

static void
ims_feed_event_free (FeedEvent *e)
{
  if (e->had_old)
    ims_answer_clear (&e->old);
  g_free (e->key);
  g_free (e);
}

/* The peer name at the head of a buddy key, in @buf. */
static const char *
ims_feed_peer (const FeedEvent *e, char **buf)
{
  if (e->kind != FEED_BUDDY)
    return e->key;
  *buf = g_strndup (e->key, e->buddy - 1 - e->key);
  return *buf;
}

static void
ims_feed_deliver (ImsStoreFeed *f, FeedEvent *e)
{
  g_autofree char *buf = NULL;
  const char *peer = ims_feed_peer (e, &buf);
  switch (e->kind)
    {
    case FEED_BUDDY:
      {
        const ImsAnswer *now = ims_presence_store_published (f->store, peer, e->buddy);
        if (now && !(e->had_old && ims_answer_equal (&e->old, now)))
          f->presence (peer, e->buddy, e->had_old ? &e->old : NULL, now, f->user_data);
        break;
      }
    case FEED_PEER:
      if (ims_presence_store_has_peer (f->store, peer))
        {
          const char *reason = NULL;
          ImsPeerState st = ims_presence_store_get_peer_state (f->store, peer, &reason);
          f->peer (peer, st, reason, f->user_data);
        }
      break;
    case FEED_REMOVED:
      f->removed (peer, f->user_data);
      break;
    }
}

static void
ims_feed_forget (ImsStoreFeed *f)
{
  g_hash_table_remove_all (f->pending);
  g_queue_clear_full (&f->queue, (GDestroyNotify) ims_feed_event_free);
}

/* Called as every main-loop turn begins: a new turn, and the queue's
 * turn if something waits. */
static gboolean
ims_feed_source_prepare (GSource *source, gint *timeout)
{
  ImsStoreFeed *f = ((FeedSource *) source)->f;
  f->turn++;
  *timeout = -1;
  return !g_queue_is_empty (&f->queue);
}

static gboolean
ims_feed_source_check (GSource *source)
{
  return !g_queue_is_empty (&((FeedSource *) source)->f->queue);
}

static gboolean
ims_feed_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  ImsStoreFeed *f = ((FeedSource *) source)->f;
  f->burst_turn = f->turn;
  f->burst = 0;
  for (; f->burst < IMS_STORE_FEED_BURST; f->burst++)
    {
      FeedEvent *e = g_queue_pop_head (&f->queue);
      if (e == NULL)
        break;
      if (e->kind == FEED_BUDDY)
        g_hash_table_remove (f->pending, e->key);
      ims_feed_deliver (f, e);
      ims_feed_event_free (e);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs ims_feed_source_funcs = {
  .prepare = ims_feed_source_prepare,
  .check = ims_feed_source_check,
  .dispatch = ims_feed_source_dispatch,
};

/* TRUE when a change is to wait in the queue, not be handed on now: while
 * others wait, or when this turn handed on a burst already. */
static gboolean
ims_feed_must_wait (ImsStoreFeed *f)
{
  if (!g_queue_is_empty (&f->queue))
    return TRUE;
  if (f->burst_turn != f->turn)
    {
      f->burst_turn = f->turn;
      f->burst = 0;
    }
  if (f->burst < IMS_STORE_FEED_BURST)
    {
      f->burst++;
      return FALSE;
    }
  return TRUE;
}

static void
on_feed_presence (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *new_,
                  gpointer data)
{
  ImsStoreFeed *f = data;
  if (!f->listening || f->presence == NULL)
    return;
  if (!ims_feed_must_wait (f))
    {
      f->presence (peer, buddy, old, new_, f->user_data);
      return;
    }
  g_autofree char *key = g_strconcat (peer, "\n", buddy, NULL);
  if (g_hash_table_contains (f->pending, key))
    return; /* it waits already: it will be handed on as it is then */
  FeedEvent *e = g_new0 (FeedEvent, 1);
  e->kind = FEED_BUDDY;
  e->key = g_steal_pointer (&key);
  e->buddy = e->key + strlen (peer) + 1;
  if (old)
    {
      e->had_old = TRUE;
      ims_answer_copy (&e->old, old);
    }
  g_hash_table_add (f->pending, e->key);
  g_queue_push_tail (&f->queue, e);
}

static void
ims_feed_peer_event (ImsStoreFeed *f, FeedKind kind, const char *peer)
{
  FeedEvent *e = g_new0 (FeedEvent, 1);
  e->kind = kind;
  e->key = g_strdup (peer);
  g_queue_push_tail (&f->queue, e);
}

static void
on_feed_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  ImsStoreFeed *f = data;
  if (!f->listening || f->peer == NULL)
    return;
  if (!ims_feed_must_wait (f))
    f->peer (peer, state, reason, f->user_data);
  else
    ims_feed_peer_event (f, FEED_PEER, peer);
}

static void
on_feed_removed (const char *peer, gpointer data)
{
  ImsStoreFeed *f = data;
  if (!f->listening || f->removed == NULL)
    return;
  if (!ims_feed_must_wait (f))
    f->removed (peer, f->user_data);
  else
    ims_feed_peer_event (f, FEED_REMOVED, peer);
}

ImsStoreFeed *
ims_store_feed_new (ImsPresenceStore *store, ImsPresenceChangedFunc presence,
                    ImsPeerChangedFunc peer, ImsPeerRemovedFunc removed, gpointer user_data)
{
  ImsStoreFeed *f = g_new0 (ImsStoreFeed, 1);
  f->store = store;
  f->presence = presence;
  f->peer = peer;
  f->removed = removed;
  f->user_data = user_data;
  f->pending = g_hash_table_new (g_str_hash, g_str_equal);
  f->watch = ims_presence_store_watch (store, on_feed_presence, on_feed_peer, f);
  f->removed_watch = ims_presence_store_watch_removed (store, on_feed_removed, f);
  return f;
}

/* The source is there only while somebody listens: every source costs
 * every main-loop turn a little (FastAGI takes nine turns a session). */
void
ims_store_feed_set_listening (ImsStoreFeed *f, gboolean listening)
{
  f->listening = listening;
  if (listening && f->source == NULL)
    {
      f->source = g_source_new (&ims_feed_source_funcs, sizeof (FeedSource));
      ((FeedSource *) f->source)->f = f;
      g_source_attach (f->source, NULL);
    }
  if (!listening)
    {
      ims_feed_forget (f);
      if (f->source)
        {
          g_source_destroy (f->source);
          g_clear_pointer (&f->source, g_source_unref);
        }
    }
}

void
ims_store_feed_free (ImsStoreFeed *f)
{
  if (f == NULL)
    return;
  ims_presence_store_unwatch (f->store, f->watch);
  ims_presence_store_unwatch (f->store, f->removed_watch);
  ims_store_feed_set_listening (f, FALSE);
  g_hash_table_unref (f->pending);
  g_free (f);
}
