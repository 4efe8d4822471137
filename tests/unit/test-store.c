/* Unit tests for the presence store: the answer rules, publication, helpers. */
#include "ims-presence-store.h"

#include <string.h>

static gint64 fake_now = 1800000000;

static gint64
clock_fn (void)
{
  return fake_now;
}

typedef struct {
  ImsPresenceStore *store;
  guint changes;
  ImsStatus last_old, last_new;
  gboolean had_old;
} Fixture;

static void
on_change (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *new_,
           gpointer data)
{
  Fixture *f = data;
  f->changes++;
  f->had_old = old != NULL;
  f->last_old = old ? old->status : IMS_STATUS_UNKNOWN;
  f->last_new = new_->status;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->store = ims_presence_store_new ();
  ims_presence_store_set_clock (f->store, clock_fn);
  ims_presence_store_watch (f->store, on_change, NULL, f);
  ims_presence_store_add_peer (f->store, "aim1", "robot@example.org", "example.org");
  g_autoptr (GPtrArray) w = g_ptr_array_new ();
  g_ptr_array_add (w, "buckaroo");
  g_ptr_array_add (w, "Jane@Other.org");
  ims_presence_store_set_watched (f->store, "aim1", w, NULL);
  ims_presence_store_set_peer_state (f->store, "aim1", IMS_PEER_REGISTERED, NULL);
  ims_presence_store_set_subscription (f->store, "aim1", "buckaroo@example.org", IMS_SUB_BOTH);
  f->changes = 0;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ims_presence_store_free (f->store);
}

static void
update (Fixture *f, const char *res, ImsShow show, int prio, const char *text, gint64 idle_since)
{
  ImsResourcePresence pr = { .show = show, .priority = prio, .text = text, .idle_since = idle_since };
  ims_presence_store_update_resource (f->store, "aim1", "buckaroo@example.org", res, &pr);
}

static ImsAnswer
ask (Fixture *f, const char *who)
{
  ImsAnswer a;
  ims_presence_store_lookup (f->store, "aim1", who, &a);
  return a;
}

typedef struct {
  const char *name;
  /* two resources: show, priority, idle_since */
  ImsShow s1; int p1; gint64 i1;
  ImsShow s2; int p2; gint64 i2;
  const char *want_resource;
  ImsStatus want_status;
} RankCase;

static const RankCase rank_cases[] = {
  { "online-beats-away", IMS_SHOW_AWAY, 10, 0, IMS_SHOW_AVAILABLE, 0, 0, "r2", IMS_STATUS_ONLINE },
  { "chat-is-online", IMS_SHOW_DND, 5, 0, IMS_SHOW_CHAT, -1, 0, "r2", IMS_STATUS_ONLINE },
  { "online-beats-idle", IMS_SHOW_AVAILABLE, 0, 1799999000, IMS_SHOW_AVAILABLE, 0, 0, "r2",
    IMS_STATUS_ONLINE },
  { "idle-beats-away", IMS_SHOW_XA, 9, 0, IMS_SHOW_AVAILABLE, 0, 1799999000, "r2", IMS_STATUS_IDLE },
  { "away-beats-busy", IMS_SHOW_DND, 9, 0, IMS_SHOW_AWAY, 0, 0, "r2", IMS_STATUS_AWAY },
  { "xa-is-away", IMS_SHOW_XA, 0, 0, IMS_SHOW_DND, 0, 0, "r1", IMS_STATUS_AWAY },
  { "tie-priority", IMS_SHOW_AVAILABLE, 7, 0, IMS_SHOW_AVAILABLE, 3, 0, "r1", IMS_STATUS_ONLINE },
  { "tie-shorter-idle", IMS_SHOW_AVAILABLE, 1, 1799990000, IMS_SHOW_AVAILABLE, 1, 1799999000, "r2",
    IMS_STATUS_IDLE },
  { "tie-most-recent", IMS_SHOW_AWAY, 1, 0, IMS_SHOW_AWAY, 1, 0, "r2", IMS_STATUS_AWAY },
};

static void
test_rank (Fixture *f, gconstpointer data)
{
  const RankCase *c = data;
  update (f, "r1", c->s1, c->p1, "one", c->i1);
  update (f, "r2", c->s2, c->p2, "two", c->i2);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpstr (a.resource, ==, c->want_resource);
  g_assert_cmpint (a.status, ==, c->want_status);
  g_assert_cmpint (a.result, ==, IMS_RESULT_OK);
  g_assert_cmpstr (a.text, ==, g_str_equal (c->want_resource, "r1") ? "one" : "two");
  ims_answer_clear (&a);
}

/* A buddy's resources: at most 16 kept, one updated in place, the best
 * of those left after one goes, offline when none is left. */
static void
test_resources (Fixture *f, gconstpointer data)
{
  for (int i = 0; i < 17; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%02d", i);
      update (f, name, i == 16 ? IMS_SHOW_CHAT : IMS_SHOW_AWAY, i, name, 0);
    }
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpstr (a.resource, ==, "r15"); /* the 17th (online) was not kept */
  g_assert_cmpint (a.status, ==, IMS_STATUS_AWAY);
  ims_answer_clear (&a);
  update (f, "r03", IMS_SHOW_AVAILABLE, 0, "back", 0); /* in place, not a 17th */
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.resource, ==, "r03");
  g_assert_cmpstr (a.text, ==, "back");
  ims_answer_clear (&a);
  ims_presence_store_remove_resource (f->store, "aim1", "buckaroo@example.org", "r03");
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.resource, ==, "r15");
  ims_answer_clear (&a);
  for (int i = 0; i < 16; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%02d", i);
      ims_presence_store_remove_resource (f->store, "aim1", "buckaroo@example.org", name);
    }
  a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  g_assert_cmpint (a.lastseen_at, ==, fake_now);
  ims_answer_clear (&a);
}

static void
test_idle_seconds (Fixture *f, gconstpointer data)
{
  update (f, "r1", IMS_SHOW_AVAILABLE, 0, NULL, fake_now - 140);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_IDLE);
  g_assert_cmpint (a.idle_seconds, ==, 140);
  ims_answer_clear (&a);
}

static void
test_disconnect_means_unknown (Fixture *f, gconstpointer data)
{
  update (f, "r1", IMS_SHOW_AVAILABLE, 0, "here", 0);
  fake_now += 60;
  ims_presence_store_set_peer_state (f->store, "aim1", IMS_PEER_CONNECTING, "server gone");
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_UNKNOWN);
  g_assert_cmpint (a.result, ==, IMS_RESULT_NOTCONNECTED);
  g_assert_cmpint (a.lastseen_at, ==, fake_now);
  g_assert_cmpint (f->last_old, ==, IMS_STATUS_ONLINE);
  g_assert_cmpint (f->last_new, ==, IMS_STATUS_UNKNOWN);
  ims_answer_clear (&a);
  /* Presence arriving while disconnected is ignored. */
  update (f, "r1", IMS_SHOW_AVAILABLE, 0, "late", 0);
  a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_UNKNOWN);
  ims_answer_clear (&a);
  /* After reconnecting, the buddy is offline until presence comes. */
  ims_presence_store_set_peer_state (f->store, "aim1", IMS_PEER_REGISTERED, NULL);
  a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  ims_answer_clear (&a);
}

static void
test_lastseen (Fixture *f, gconstpointer data)
{
  update (f, "r1", IMS_SHOW_AVAILABLE, 0, NULL, 0);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpint (ims_answer_lastseen_minutes (&a, fake_now + 3600), ==, 0); /* online now */
  ims_answer_clear (&a);
  ims_presence_store_remove_resource (f->store, "aim1", "buckaroo@example.org", "r1");
  a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  g_assert_cmpint (ims_answer_lastseen_minutes (&a, fake_now + 500 * 60), ==, 500);
  ims_answer_clear (&a);
}

static void
test_dedup (Fixture *f, gconstpointer data)
{
  update (f, "r1", IMS_SHOW_AWAY, 0, "lunch", 0);
  guint after_first = f->changes;
  g_assert_cmpuint (after_first, ==, 1);
  update (f, "r1", IMS_SHOW_AWAY, 0, "lunch", 0);
  update (f, "r1", IMS_SHOW_AWAY, 0, "lunch", 0);
  g_assert_cmpuint (f->changes, ==, after_first);
  update (f, "r1", IMS_SHOW_AWAY, 0, "dinner", 0);
  g_assert_cmpuint (f->changes, ==, after_first + 1);
  g_assert_true (f->had_old);
}

static void
test_results (Fixture *f, gconstpointer data)
{
  ImsAnswer a = ask (f, "misspiggy20");
  g_assert_cmpint (a.result, ==, IMS_RESULT_NOTSUBSCRIBED);
  g_assert_cmpint (a.status, ==, IMS_STATUS_UNKNOWN);
  ims_answer_clear (&a);
  a = ask (f, "jane@other.org"); /* case-insensitive ids; not yet approved */
  g_assert_cmpint (a.result, ==, IMS_RESULT_PENDING);
  ims_answer_clear (&a);
  a = ask (f, "robot"); /* the peer's own name */
  g_assert_cmpint (a.status, ==, IMS_STATUS_ONLINE);
  g_assert_cmpint (a.result, ==, IMS_RESULT_OK);
  ims_answer_clear (&a);
  ims_presence_store_lookup (f->store, "nosuch", "x", &a);
  g_assert_cmpint (a.result, ==, IMS_RESULT_NOPEER);
  ims_answer_clear (&a);
  ims_presence_store_set_peer_state (f->store, "aim1", IMS_PEER_FAILED, "bad password");
  a = ask (f, "robot");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  ims_answer_clear (&a);
  a = ask (f, "misspiggy20");
  g_assert_cmpint (a.result, ==, IMS_RESULT_NOTCONNECTED);
  ims_answer_clear (&a);
}

static void
test_hostile_text_stored_safe (Fixture *f, gconstpointer data)
{
  update (f, "r1", IMS_SHOW_AVAILABLE, 0, "a\r\nSET VARIABLE X 1\x01\x7f\xc2\x85z\xff", 0);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpstr (a.text, ==, "a  SET VARIABLE X 1   z\xef\xbf\xbd");
  ims_answer_clear (&a);
}

static void
test_hostile_resource (Fixture *f, gconstpointer data)
{
  /* A 9,000-byte resource carrying a line break and an AGI command. */
  g_autoptr (GString) res = g_string_new (NULL);
  for (int i = 0; i < 8165; i++)
    g_string_append_c (res, 'A');
  g_string_append (res, "\nEXEC System evil\r\n");
  update (f, res->str, IMS_SHOW_AVAILABLE, 0, "hi", 0);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_ONLINE);
  g_assert_cmpuint (strlen (a.resource), <=, IMS_RESOURCE_MAX);
  g_assert_null (strpbrk (a.resource, "\r\n"));
  ims_answer_clear (&a);
  /* The same resource going away is found under its safe name. */
  ims_presence_store_remove_resource (f->store, "aim1", "buckaroo@example.org", res->str);
  a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  ims_answer_clear (&a);
}

/* A server JID without '@' named like a watched buddy is not that buddy. */
static void
test_domain_jid_is_not_a_buddy (Fixture *f, gconstpointer data)
{
  ImsResourcePresence pr = { .show = IMS_SHOW_AVAILABLE, .text = "spoof" };
  ims_presence_store_update_resource (f->store, "aim1", "buckaroo", "", &pr);
  ims_presence_store_set_subscription (f->store, "aim1", "buckaroo", IMS_SUB_NONE);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  g_assert_cmpint (a.subscription, ==, IMS_SUB_BOTH);
  ims_answer_clear (&a);
  /* Case is folded: BUCKAROO@Example.ORG is the buddy. */
  ims_presence_store_update_resource (f->store, "aim1", "BUCKAROO@Example.ORG", "x", &pr);
  a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, IMS_STATUS_ONLINE);
  ims_answer_clear (&a);
}

typedef struct {
  const char *name;
  ImsShow show;
  const char *word;
  gint64 idle_since;
  ImsStatus status;
  const char *im_show;
  gint64 idle_seconds;
} ShowCase;

static const ShowCase show_cases[] = {
  { "available", IMS_SHOW_AVAILABLE, NULL, 0, IMS_STATUS_ONLINE, "available", 0 },
  { "dnd", IMS_SHOW_DND, NULL, 0, IMS_STATUS_BUSY, "dnd", 0 },
  { "xa", IMS_SHOW_XA, NULL, 0, IMS_STATUS_AWAY, "xa", 0 },
  { "phone-is-busy", IMS_SHOW_PHONE, NULL, 0, IMS_STATUS_BUSY, "phone", 0 },
  { "network-word", IMS_SHOW_AWAY, "BRB", 0, IMS_STATUS_AWAY, "brb", 0 },
  { "hostile-word", IMS_SHOW_AWAY, "Out To\nLunch", 0, IMS_STATUS_AWAY, "out-to-lunch", 0 },
  { "idle-flag", IMS_SHOW_AVAILABLE, "idle", IMS_IDLE_NO_TIME, IMS_STATUS_IDLE, "idle", 0 },
  { "idle-time", IMS_SHOW_AVAILABLE, NULL, 1799999000, IMS_STATUS_IDLE, "available", 1000 },
};

/* subscribe = *: every user of the peer's domain, as they appear; others
 * never; one never seen is not known yet (PENDING); dropping * drops them. */
static void
test_whole_domain (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) w = g_ptr_array_new ();
  g_ptr_array_add (w, "*");
  g_ptr_array_add (w, "buckaroo");
  ims_presence_store_set_watched (f->store, "aim1", w, NULL);
  g_assert_true (ims_presence_store_is_watched (f->store, "aim1", "zed@example.org"));
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "zed@other.org"));
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "@example.org"));
  ImsResourcePresence pr = { .show = IMS_SHOW_AWAY, .text = "at lunch" };
  ims_presence_store_update_resource (f->store, "aim1", "Bob@Example.org", "desk", &pr);
  ims_presence_store_update_resource (f->store, "aim1", "eve@other.org", "desk", &pr);
  ImsAnswer a = ask (f, "bob");
  g_assert_cmpint (a.status, ==, IMS_STATUS_AWAY);
  g_assert_cmpint (a.result, ==, IMS_RESULT_OK);
  ims_answer_clear (&a);
  a = ask (f, "zed");
  g_assert_cmpint (a.status, ==, IMS_STATUS_UNKNOWN);
  g_assert_cmpint (a.result, ==, IMS_RESULT_PENDING);
  ims_answer_clear (&a);
  a = ask (f, "eve@other.org");
  g_assert_cmpint (a.result, ==, IMS_RESULT_NOTSUBSCRIBED);
  ims_answer_clear (&a);
  /* Down: unknown, as for any buddy. */
  ims_presence_store_set_peer_state (f->store, "aim1", IMS_PEER_CONNECTING, "gone");
  a = ask (f, "zed");
  g_assert_cmpint (a.result, ==, IMS_RESULT_NOTCONNECTED);
  ims_answer_clear (&a);
  ims_presence_store_set_peer_state (f->store, "aim1", IMS_PEER_REGISTERED, NULL);
  /* A reload keeping * keeps bob; without it bob goes. */
  ims_presence_store_set_watched (f->store, "aim1", w, NULL);
  g_autoptr (GPtrArray) listed = ims_presence_store_list_buddies (f->store, "aim1");
  gboolean has_bob = FALSE;
  for (guint i = 0; i < listed->len; i++)
    has_bob |= g_str_equal (listed->pdata[i], "bob@example.org");
  g_assert_true (has_bob);
  g_ptr_array_remove_index (w, 0);
  ims_presence_store_set_watched (f->store, "aim1", w, NULL);
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "bob@example.org"));
}

/* remote = another PBX's component: its phones are buddies as they appear,
 * whatever subscribe says; a phone known to be there but never seen is
 * offline once the peer says so (subscription both), unknown while the
 * other PBX is unreachable (pending); dropping the remote drops them. */
static void
test_mirrored (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) w = g_ptr_array_new ();
  g_ptr_array_add (w, "buckaroo");
  g_autoptr (GPtrArray) m = g_ptr_array_new ();
  g_ptr_array_add (m, "Phones-B.example.org");
  ims_presence_store_set_watched (f->store, "aim1", w, m);
  g_assert_true (ims_presence_store_is_watched (f->store, "aim1", "204@phones-b.example.org"));
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "zed@example.org"));
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "phones-b.example.org"));
  ImsAnswer a = ask (f, "204@phones-b.example.org");
  g_assert_cmpint (a.result, ==, IMS_RESULT_PENDING);
  ims_answer_clear (&a);
  ImsResourcePresence pr = { .show = IMS_SHOW_DND, .text = "on the phone" };
  ims_presence_store_update_resource (f->store, "aim1", "204@phones-b.example.org", "", &pr);
  a = ask (f, "204@phones-b.example.org");
  g_assert_cmpint (a.status, ==, IMS_STATUS_BUSY);
  ims_answer_clear (&a);
  ims_presence_store_set_subscription (f->store, "aim1", "205@phones-b.example.org", IMS_SUB_BOTH);
  a = ask (f, "205@phones-b.example.org");
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  g_assert_cmpint (a.result, ==, IMS_RESULT_OK);
  ims_answer_clear (&a);
  ims_presence_store_set_subscription (f->store, "aim1", "204@phones-b.example.org",
                                       IMS_SUB_PENDING);
  a = ask (f, "204@phones-b.example.org");
  g_assert_cmpint (a.status, ==, IMS_STATUS_UNKNOWN);
  g_assert_cmpint (a.result, ==, IMS_RESULT_PENDING);
  ims_answer_clear (&a);
  /* Not for a stranger's domain, and not once the remote is dropped. */
  ims_presence_store_set_subscription (f->store, "aim1", "1@phones-c.example.org", IMS_SUB_BOTH);
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "1@phones-c.example.org"));
  ims_presence_store_set_watched (f->store, "aim1", w, NULL);
  g_assert_false (ims_presence_store_is_watched (f->store, "aim1", "204@phones-b.example.org"));
  g_autoptr (GPtrArray) listed = ims_presence_store_list_buddies (f->store, "aim1");
  g_assert_cmpuint (listed->len, ==, 1);
}

/* lampaway, lampdnd: what a lamp shows for away and dnd; the rest as the
 * vocabulary says; a change republishes. */
static void
test_lamps (Fixture *f, gconstpointer data)
{
  update (f, "desk", IMS_SHOW_AWAY, 0, "lunch", 0);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpstr (a.lamp, ==, "NOT_INUSE");
  ims_answer_clear (&a);
  int before = f->changes;
  ImsLamps lamps = { "UNAVAILABLE", "BUSY" };
  ims_presence_store_set_lamps (f->store, &lamps);
  g_assert_cmpint (f->changes, ==, before + 1);
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.lamp, ==, "UNAVAILABLE");
  ims_answer_clear (&a);
  update (f, "desk", IMS_SHOW_DND, 0, "focus", 0);
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.lamp, ==, "BUSY");
  ims_answer_clear (&a);
  update (f, "desk", IMS_SHOW_PHONE, 0, NULL, 0);
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.lamp, ==, "INUSE"); /* on the phone is busy, not dnd */
  ims_answer_clear (&a);
  update (f, "desk", IMS_SHOW_AVAILABLE, 0, NULL, 0);
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.lamp, ==, "NOT_INUSE");
  ims_answer_clear (&a);
}

static void
test_show (Fixture *f, gconstpointer data)
{
  const ShowCase *c = data;
  fake_now = 1800000000;
  ImsResourcePresence pr = { .show = c->show, .word = c->word, .idle_since = c->idle_since };
  ims_presence_store_update_resource (f->store, "aim1", "buckaroo@example.org", "r", &pr);
  ImsAnswer a = ask (f, "buckaroo");
  g_assert_cmpint (a.status, ==, c->status);
  g_assert_cmpstr (a.show, ==, c->im_show);
  g_assert_cmpint (a.idle_seconds, ==, c->idle_seconds);
  ims_answer_clear (&a);
  ims_presence_store_remove_resource (f->store, "aim1", "buckaroo@example.org", "r");
  a = ask (f, "buckaroo");
  g_assert_cmpstr (a.show, ==, "");
  ims_answer_clear (&a);
}

/* ---- the feed: snapshot and removal ---- */

static void
feed_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("peer %s %s", peer, ims_peer_state_to_string (state)));
}

static void
feed_buddy (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *a,
            gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("buddy %s %s %s%s", peer, buddy,
                                          ims_status_to_string (a->status), old ? " old" : ""));
}

static gboolean
feed_visible (const char *peer, gpointer data)
{
  return !g_str_equal (peer, "hidden");
}

static void
feed_removed (const char *peer, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("removed %s", peer));
}

static void
test_feed (void)
{
  g_autoptr (ImsPresenceStore) s = ims_presence_store_new ();
  ims_presence_store_add_peer (s, "aim1", "robot@example.org", "example.org");
  ims_presence_store_add_peer (s, "hidden", "r2@example.org", "example.org");
  g_autoptr (GPtrArray) watched = g_ptr_array_new ();
  g_ptr_array_add (watched, "buckaroo");
  g_ptr_array_add (watched, "jane");
  ims_presence_store_set_watched (s, "aim1", watched, NULL);
  ims_presence_store_set_watched (s, "hidden", watched, NULL);
  ims_presence_store_set_peer_state (s, "aim1", IMS_PEER_REGISTERED, NULL);
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  ims_presence_store_snapshot (s, feed_visible, feed_peer, feed_buddy, seen);
  const char *want[] = { "peer aim1 Registered", "buddy aim1 buckaroo@example.org unknown",
                         "buddy aim1 jane@example.org unknown" };
  g_assert_cmpuint (seen->len, ==, G_N_ELEMENTS (want));
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpstr (seen->pdata[i], ==, want[i]);
  /* Removal is published by the store, once, before the peer is gone. */
  g_ptr_array_set_size (seen, 0);
  guint id = ims_presence_store_watch_removed (s, feed_removed, seen);
  ims_presence_store_remove_peer (s, "hidden");
  ims_presence_store_remove_peer (s, "hidden");
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpstr (seen->pdata[0], ==, "removed hidden");
  ims_presence_store_unwatch (s, id);
  ims_presence_store_remove_peer (s, "aim1");
  g_assert_cmpuint (seen->len, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (rank_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/store/rank/%s", rank_cases[i].name);
      g_test_add (name, Fixture, &rank_cases[i], fixture_setup, test_rank, fixture_teardown);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (show_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/store/show/%s", show_cases[i].name);
      g_test_add (name, Fixture, &show_cases[i], fixture_setup, test_show, fixture_teardown);
    }
  g_test_add ("/store/domain-jid", Fixture, NULL, fixture_setup, test_domain_jid_is_not_a_buddy,
              fixture_teardown);
  g_test_add ("/store/whole-domain", Fixture, NULL, fixture_setup, test_whole_domain,
              fixture_teardown);
  g_test_add ("/store/mirrored", Fixture, NULL, fixture_setup, test_mirrored, fixture_teardown);
  g_test_add ("/store/lamps", Fixture, NULL, fixture_setup, test_lamps, fixture_teardown);
  g_test_add ("/store/hostile-resource", Fixture, NULL, fixture_setup, test_hostile_resource,
              fixture_teardown);
  g_test_add ("/store/idle-seconds", Fixture, NULL, fixture_setup, test_idle_seconds, fixture_teardown);
  g_test_add ("/store/resources", Fixture, NULL, fixture_setup, test_resources, fixture_teardown);
  g_test_add ("/store/disconnect-unknown", Fixture, NULL, fixture_setup,
              test_disconnect_means_unknown, fixture_teardown);
  g_test_add ("/store/lastseen", Fixture, NULL, fixture_setup, test_lastseen, fixture_teardown);
  g_test_add_func ("/store/feed", test_feed);
  g_test_add ("/store/dedup", Fixture, NULL, fixture_setup, test_dedup, fixture_teardown);
  g_test_add ("/store/results", Fixture, NULL, fixture_setup, test_results, fixture_teardown);
  g_test_add ("/store/hostile-text", Fixture, NULL, fixture_setup, test_hostile_text_stored_safe,
              fixture_teardown);
  return g_test_run ();
}
