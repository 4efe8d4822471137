/* Unit tests for the store's feed: changes handed on at once while they
 * come a few at a time, paced and merged when a burst comes. */
#include "ims-store-feed.h"

typedef struct {
  char *peer; /* NULL for a buddy change */
  char *buddy;
  gboolean removed;
  gboolean had_old;
  ImsStatus old, now;
} Heard;

typedef struct {
  ImsPresenceStore *store;
  ImsStoreFeed *feed;
  GArray *heard; /* Heard */
} Fixture;

#define N 1000

static void
on_presence (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *new_,
             gpointer data)
{
  Fixture *f = data;
  Heard h = { NULL, g_strdup (buddy), FALSE, old != NULL, old ? old->status : 0, new_->status };
  g_array_append_val (f->heard, h);
}

static void
on_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  Fixture *f = data;
  Heard h = { g_strdup (peer), NULL, FALSE, FALSE, 0, 0 };
  g_array_append_val (f->heard, h);
}

static void
on_removed (const char *peer, gpointer data)
{
  Fixture *f = data;
  Heard h = { g_strdup (peer), NULL, TRUE, FALSE, 0, 0 };
  g_array_append_val (f->heard, h);
}

static void
heard_clear (Heard *h)
{
  g_free (h->peer);
  g_free (h->buddy);
}

static void
online (Fixture *f, guint i, ImsShow show)
{
  g_autofree char *id = g_strdup_printf ("u%u@example.org", i);
  ImsResourcePresence pr = { .show = show };
  ims_presence_store_update_resource (f->store, "corp", id, "desk", &pr);
}

/* A peer with N buddies, every one online; the feed listening, nothing heard. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->store = ims_presence_store_new ();
  ims_presence_store_add_peer (f->store, "corp", "robot@example.org", "example.org");
  g_autoptr (GPtrArray) w = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < N; i++)
    g_ptr_array_add (w, g_strdup_printf ("u%u", i));
  ims_presence_store_set_watched (f->store, "corp", w, NULL);
  ims_presence_store_set_peer_state (f->store, "corp", IMS_PEER_REGISTERED, NULL);
  for (guint i = 0; i < N; i++)
    {
      g_autofree char *id = g_strdup_printf ("u%u@example.org", i);
      ims_presence_store_set_subscription (f->store, "corp", id, IMS_SUB_BOTH);
      online (f, i, IMS_SHOW_AVAILABLE);
    }
  f->heard = g_array_new (FALSE, TRUE, sizeof (Heard));
  g_array_set_clear_func (f->heard, (GDestroyNotify) heard_clear);
  f->feed = ims_store_feed_new (f->store, on_presence, on_peer, on_removed, f);
  ims_store_feed_set_listening (f->feed, TRUE);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ims_store_feed_free (f->feed);
  ims_presence_store_free (f->store);
  g_array_unref (f->heard);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Runs the main loop until nothing is pending; returns the turns taken and
 * checks that no turn handed on more than a burst. */
static guint
drain (Fixture *f)
{
  guint turns = 0;
  while (g_main_context_pending (NULL))
    {
      guint before = f->heard->len;
      g_main_context_iteration (NULL, FALSE);
      g_assert_cmpuint (f->heard->len - before, <=, IMS_STORE_FEED_BURST);
      turns++;
    }
  return turns;
}

static Heard *
heard (Fixture *f, guint i)
{
  return &g_array_index (f->heard, Heard, i);
}

static void
test_few_at_once (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < 10; i++)
    online (f, i, IMS_SHOW_AWAY);
  /* Handed on as they happened, before the loop turns. */
  g_assert_cmpuint (f->heard->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *id = g_strdup_printf ("u%u@example.org", i);
      g_assert_cmpstr (heard (f, i)->buddy, ==, id);
      g_assert_true (heard (f, i)->had_old);
      g_assert_cmpint (heard (f, i)->old, ==, IMS_STATUS_ONLINE);
      g_assert_cmpint (heard (f, i)->now, ==, IMS_STATUS_AWAY);
    }
  g_assert_false (g_main_context_pending (NULL));
}

static void
test_peer_down_is_paced_and_whole (Fixture *f, gconstpointer data)
{
  ims_presence_store_set_peer_state (f->store, "corp", IMS_PEER_FAILED, "gone");
  /* The peer first, then a burst's worth; the rest waits for the loop. */
  g_assert_cmpuint (f->heard->len, ==, IMS_STORE_FEED_BURST);
  g_assert_cmpstr (heard (f, 0)->peer, ==, "corp");
  guint turns = drain (f);
  g_assert_cmpuint (turns, >=, (N + 1 - IMS_STORE_FEED_BURST) / IMS_STORE_FEED_BURST);
  g_assert_cmpuint (f->heard->len, ==, N + 1);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 1; i < f->heard->len; i++)
    {
      Heard *h = heard (f, i);
      g_assert_nonnull (h->buddy);
      g_assert_true (g_hash_table_add (seen, h->buddy)); /* each once */
      g_assert_true (h->had_old);
      g_assert_cmpint (h->old, ==, IMS_STATUS_ONLINE);
      g_assert_cmpint (h->now, ==, IMS_STATUS_UNKNOWN);
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, N);
}

/* Find the one change heard for @id, or NULL; fails on two. */
static Heard *
heard_for (Fixture *f, const char *id)
{
  Heard *found = NULL;
  for (guint i = 0; i < f->heard->len; i++)
    if (g_strcmp0 (heard (f, i)->buddy, id) == 0)
      {
        g_assert_null (found);
        found = heard (f, i);
      }
  return found;
}

static void
test_waiting_changes_merge (Fixture *f, gconstpointer data)
{
  /* A burst: every buddy away, in a row. */
  for (guint i = 0; i < N; i++)
    online (f, i, IMS_SHOW_AWAY);
  guint at_once = f->heard->len;
  g_assert_cmpuint (at_once, ==, IMS_STORE_FEED_BURST);
  /* While they wait: the last buddy goes dnd (busy), the one before it back online. */
  online (f, N - 1, IMS_SHOW_DND);
  online (f, N - 2, IMS_SHOW_AVAILABLE);
  drain (f);
  Heard *last = heard_for (f, "u999@example.org");
  g_assert_nonnull (last);
  g_assert_cmpint (last->old, ==, IMS_STATUS_ONLINE); /* its first old answer */
  g_assert_cmpint (last->now, ==, IMS_STATUS_BUSY);   /* and its newest */
  g_assert_null (heard_for (f, "u998@example.org"));  /* changed back: nothing */
  g_assert_cmpuint (f->heard->len, ==, N - 1);
}

static void
test_order_is_kept (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < N; i++)
    online (f, i, IMS_SHOW_AWAY);
  ims_presence_store_set_peer_state (f->store, "corp", IMS_PEER_FAILED, "gone");
  drain (f);
  /* Every buddy's change before the peer's (those that waited merged with
   * what the peer's going down made of them: unknown), then the change of
   * those handed on at once, now unknown too. */
  g_assert_cmpuint (f->heard->len, ==, N + 1 + IMS_STORE_FEED_BURST);
  for (guint i = 0; i < N; i++)
    g_assert_nonnull (heard (f, i)->buddy);
  for (guint i = IMS_STORE_FEED_BURST; i < N; i++)
    g_assert_cmpint (heard (f, i)->now, ==, IMS_STATUS_UNKNOWN);
  g_assert_cmpstr (heard (f, N)->peer, ==, "corp");
  for (guint i = N + 1; i < f->heard->len; i++)
    {
      g_assert_cmpint (heard (f, i)->old, ==, IMS_STATUS_AWAY);
      g_assert_cmpint (heard (f, i)->now, ==, IMS_STATUS_UNKNOWN);
    }
}

static void
test_nobody_listening (Fixture *f, gconstpointer data)
{
  ims_store_feed_set_listening (f->feed, FALSE);
  ims_presence_store_set_peer_state (f->store, "corp", IMS_PEER_FAILED, "gone");
  g_assert_cmpuint (f->heard->len, ==, 0);
  g_assert_false (g_main_context_pending (NULL));
  /* What waits when the last listener leaves is forgotten. */
  ims_store_feed_set_listening (f->feed, TRUE);
  ims_presence_store_set_peer_state (f->store, "corp", IMS_PEER_REGISTERED, NULL);
  for (guint i = 0; i < N; i++)
    online (f, i, IMS_SHOW_AWAY);
  g_assert_cmpuint (f->heard->len, ==, IMS_STORE_FEED_BURST);
  ims_store_feed_set_listening (f->feed, FALSE);
  g_assert_false (g_main_context_pending (NULL));
  g_assert_cmpuint (f->heard->len, ==, IMS_STORE_FEED_BURST);
}

static void
test_removed_peer (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < N; i++)
    online (f, i, IMS_SHOW_AWAY);
  ims_presence_store_remove_peer (f->store, "corp");
  drain (f);
  /* What waited of a peer that left is not handed on; that it left is. */
  g_assert_cmpuint (f->heard->len, ==, IMS_STORE_FEED_BURST + 1);
  Heard *h = heard (f, IMS_STORE_FEED_BURST);
  g_assert_true (h->removed);
  g_assert_cmpstr (h->peer, ==, "corp");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/feed/few-at-once", Fixture, NULL, fixture_setup, test_few_at_once,
              fixture_teardown);
  g_test_add ("/feed/peer-down-paced-and-whole", Fixture, NULL, fixture_setup,
              test_peer_down_is_paced_and_whole, fixture_teardown);
  g_test_add ("/feed/waiting-changes-merge", Fixture, NULL, fixture_setup,
              test_waiting_changes_merge, fixture_teardown);
  g_test_add ("/feed/order-kept", Fixture, NULL, fixture_setup, test_order_is_kept,
              fixture_teardown);
  g_test_add ("/feed/nobody-listening", Fixture, NULL, fixture_setup, test_nobody_listening,
              fixture_teardown);
  g_test_add ("/feed/removed-peer", Fixture, NULL, fixture_setup, test_removed_peer,
              fixture_teardown);
  return g_test_run ();
}
