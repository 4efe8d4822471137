/* Unit tests for the core: a second driver is a folder and one line (shown
 * with a test-only driver for type=fake), routing, reconnects, roster
 * alignment, subscription approval, the reload diff, and the durable outbox
 * (persist) driven through the core. */
#include "ims-core.h"
#include "ims-persist.h"
#include "ims-telephony.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ims-test.h"

#define NETS test_networks

/* ---- a fake driver: records what the core asks of it ---- */

typedef struct {
  ImsDriver parent;
  const char *type;       /* the one type it serves */
  GPtrArray *calls;       /* "connect aim1", "subscribe aim1 b@x", ... */
  GHashTable *accounts;   /* peer -> const ImsAccount* */
  gboolean send_fails;
} FakeDriver;

static void
fake_call (FakeDriver *f, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
fake_call (FakeDriver *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_ptr_array_add (f->calls, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

/* The catch-all decides at start, as libpurple does with its plugins. */
static gboolean
fake_supports (ImsDriver *d, const char *type, char **why)
{
  FakeDriver *f = (FakeDriver *) d;
  if (g_str_equal (type, f->type))
    return TRUE;
  if (g_str_equal (type, "broken"))
    *why = g_strdup ("the broken network has no server");
  return FALSE;
}

static void
fake_start (ImsDriver *d, const ImsAccount *a)
{
  FakeDriver *f = (FakeDriver *) d;
  g_hash_table_insert (f->accounts, g_strdup (a->peer), (gpointer) a);
  fake_call (f, "start %s %s", a->peer, a->id);
}

static void
fake_connect (ImsDriver *d, const char *peer)
{
  fake_call ((FakeDriver *) d, "connect %s", peer);
}

static void
fake_stop (ImsDriver *d, const char *peer)
{
  FakeDriver *f = (FakeDriver *) d;
  g_hash_table_remove (f->accounts, peer);
  fake_call (f, "stop %s", peer);
}

static void
fake_subscribe (ImsDriver *d, const char *peer, const char *buddy)
{
  fake_call ((FakeDriver *) d, "subscribe %s %s", peer, buddy);
}

static void
fake_unsubscribe (ImsDriver *d, const char *peer, const char *buddy)
{
  fake_call ((FakeDriver *) d, "unsubscribe %s %s", peer, buddy);
}

static void
fake_set_own (ImsDriver *d, const char *peer, gboolean busy, const char *message)
{
  fake_call ((FakeDriver *) d, "own %s %s %s", peer, busy ? "busy" : "available",
             message ? message : "-");
}

static gboolean
fake_send (ImsDriver *d, const char *peer, const char *to, const char *text, GError **error)
{
  FakeDriver *f = (FakeDriver *) d;
  if (f->send_fails)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "fake send failure");
      return FALSE;
    }
  fake_call (f, "send %s %s %s", peer, to, text);
  return TRUE;
}

static void
fake_set_debug (ImsDriver *d, int level)
{
}

static void
fake_free (ImsDriver *d)
{
  FakeDriver *f = (FakeDriver *) d;
  g_ptr_array_unref (f->calls);
  g_hash_table_unref (f->accounts);
  g_free (f);
}

static const ImsDriverOps fake_ops = {
  .name = "fake",
  .supports = fake_supports,
  .start = fake_start,
  .connect = fake_connect,
  .stop = fake_stop,
  .subscribe = fake_subscribe,
  .unsubscribe = fake_unsubscribe,
  .set_own = fake_set_own,
  .send = fake_send,
  .set_debug = fake_set_debug,
  .free = fake_free,
};

static FakeDriver *fakes[2];

static ImsDriver *
fake_new (ImsCore *core, const ImsDriverSetup *setup, const char *type, int slot)
{
  FakeDriver *f = g_new0 (FakeDriver, 1);
  f->parent.ops = &fake_ops;
  f->type = type;
  f->calls = g_ptr_array_new_with_free_func (g_free);
  f->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fakes[slot] = f;
  return &f->parent;
}

static ImsDriver *
fake_new_first (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return fake_new (core, setup, "fake", 0);
}

static ImsDriver *
fake_new_second (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return fake_new (core, setup, "other", 1);
}

/* The test's registry: a named network first, a catch-all last; one row
 * per network. */
static const char *const fake_types[] = { "fake", NULL };
static const ImsNetwork fake_network = {
  .name = "Fake", .driver = "fake", .types = fake_types,
  .default_host = "login.fake.example", .default_port = 7777,
  .new_driver = fake_new_first,
};
static const ImsNetwork other_network = {
  .name = "Other", .driver = "other", .types = NULL, .new_driver = fake_new_second,
};
static const ImsNetwork *const test_networks[] = { &fake_network, &other_network, NULL };

/* ---- fixture ---- */

typedef struct {
  ImsPresenceStore *store;
  ImsConfig *config;
  ImsCore *core;
  gboolean allow;
  GPtrArray *added;
  GPtrArray *messages;
} Fixture;

static gboolean
hook_allowed (gpointer data, const ImsPeerConfig *p, char **why)
{
  Fixture *fx = data;
  if (!fx->allow && g_str_equal (p->name, "gated"))
    {
      *why = g_strdup ("activewhen Custom:x is UNAVAILABLE");
      return FALSE;
    }
  return TRUE;
}

static void
hook_added (gpointer data, const ImsPeerConfig *p)
{
  g_ptr_array_add (((Fixture *) data)->added, g_strdup (p->name));
}

static void
hook_message (gpointer data, const char *peer, const char *from, const char *text)
{
  g_ptr_array_add (((Fixture *) data)->messages, g_strdup_printf ("%s %s %s", peer, from, text));
}

static const char *base_conf =
    "[general]\nstatedir = /nonexistent\n"
    "[aim1]\ntype = fake\nusername = robot\nhost = example.org\nsecret = pw\n"
    "subscribe = buckaroo, jane@other.org\n"
    "[irc1]\ntype = other\nusername = nick@irc.example.org\n"
    "[gated]\ntype = fake\nusername = gate@example.org\nsubscribe = buckaroo\n"
    "[none]\ntype = broken\nusername = x@example.org\n"
    "[nodriver]\ntype = nothing\nusername = y@example.org\n";

static ImsConfig *
parse (const char *text)
{
  g_autoptr (GError) err = NULL;
  ImsConfig *c = ims_config_parse ("t.conf", text, strlen (text), NETS, &err);
  g_assert_no_error (err);
  return c;
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->store = ims_presence_store_new ();
  fx->config = parse (data ? data : base_conf);
  fx->added = g_ptr_array_new_with_free_func (g_free);
  fx->messages = g_ptr_array_new_with_free_func (g_free);
  ImsCoreHooks hooks = { hook_allowed, hook_added, hook_message, fx };
  g_autoptr (GError) err = NULL;
  fx->core = ims_core_new (fx->store, fx->config, &hooks, &err);
  g_assert_no_error (err);
  ims_core_apply (fx->core, fx->config, NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  ims_core_free (fx->core);
  ims_presence_store_free (fx->store);
  ims_config_free (fx->config);
  g_ptr_array_unref (fx->added);
  g_ptr_array_unref (fx->messages);
}

static gboolean
called (int slot, const char *call)
{
  for (guint i = 0; i < fakes[slot]->calls->len; i++)
    if (g_str_equal (fakes[slot]->calls->pdata[i], call))
      return TRUE;
  return FALSE;
}

static guint
count_calls (int slot, const char *call)
{
  guint n = 0;
  for (guint i = 0; i < fakes[slot]->calls->len; i++)
    n += g_str_equal (fakes[slot]->calls->pdata[i], call);
  return n;
}

static ImsPeerState
state (Fixture *fx, const char *peer, const char **reason)
{
  return ims_presence_store_get_peer_state (fx->store, peer, reason);
}


/* ---- tests ---- */

static void
test_routing (Fixture *fx, gconstpointer data)
{
  /* Each peer goes to the first driver that accepts its type. */
  g_assert_true (called (0, "start aim1 robot@example.org"));
  g_assert_true (called (0, "connect aim1"));
  g_assert_true (called (1, "start irc1 nick@irc.example.org"));
  g_assert_false (called (0, "start irc1 nick@irc.example.org"));
  const char *why = NULL;
  g_assert_cmpint (state (fx, "none", &why), ==, IMS_PEER_UNSUPPORTED);
  g_assert_cmpstr (why, ==, "the broken network has no server");
  g_assert_cmpint (state (fx, "nodriver", &why), ==, IMS_PEER_UNSUPPORTED);
  g_assert_cmpstr (why, ==, "no driver for type=nothing");
  g_assert_cmpint (state (fx, "aim1", NULL), ==, IMS_PEER_CONNECTING);
  /* The driver sees an account; host and port come from the network's
   * descriptor where im.conf gives none. */
  const ImsAccount *a = g_hash_table_lookup (fakes[0]->accounts, "aim1");
  g_assert_cmpstr (a->secret, ==, "pw");
  g_assert_cmpstr (a->domain, ==, "example.org");
  g_assert_cmpint (ims_core_peer_port (fx->core, "aim1"), ==, 7777);
  g_assert_cmpstr (ims_core_peer_host (fx->core, "aim1"), ==, "example.org");
  g_assert_cmpstr (ims_core_peer_host (fx->core, "gated"), ==, "login.fake.example");
  g_assert_cmpint (ims_core_peer_port (fx->core, "irc1"), ==, 0);
  g_assert_cmpstr (ims_core_peer_host (fx->core, "irc1"), ==, "irc.example.org");
  /* Every peer reached the store and the daemon's hook, in file order. */
  g_assert_cmpuint (fx->added->len, ==, 5);
  g_assert_cmpstr (fx->added->pdata[0], ==, "aim1");
}

static void
test_offline_peer_ids (Fixture *fx, gconstpointer data)
{
  /* An unregistered peer's buddies have the same ids as a logged-in one's,
   * so its saved last-seen rows match (the daemon used another rule). */
  g_assert_cmpint (state (fx, "gated", NULL), ==, IMS_PEER_UNREGISTERED);
  g_autoptr (GPtrArray) b = ims_presence_store_list_buddies (fx->store, "gated");
  g_assert_cmpuint (b->len, ==, 1);
  g_assert_cmpstr (b->pdata[0], ==, "buckaroo@example.org");
  g_autofree char *n = ims_presence_store_normalize (fx->store, "none", "z");
  g_assert_cmpstr (n, ==, "z@example.org");
  /* allowed again: the core logs it in. */
  fx->allow = TRUE;
  ims_core_recheck (fx->core, "gated");
  g_assert_true (called (0, "connect gated"));
  g_assert_cmpint (state (fx, "gated", NULL), ==, IMS_PEER_CONNECTING);
}

static void
test_roster_alignment (Fixture *fx, gconstpointer data)
{
  ims_core_logged_in (fx->core, "aim1");
  g_assert_cmpint (state (fx, "aim1", NULL), ==, IMS_PEER_REGISTERED);
  g_assert_false (ims_presence_store_roster_ready (fx->store, "aim1"));
  g_autoptr (GHashTable) items = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (items, "buckaroo@example.org", GINT_TO_POINTER (IMS_SUB_BOTH));
  g_hash_table_insert (items, "stranger@evil.org", GINT_TO_POINTER (IMS_SUB_BOTH));
  ims_core_roster (fx->core, "aim1", items);
  g_assert_true (ims_presence_store_roster_ready (fx->store, "aim1"));
  /* Only the watched buddy not yet seen is asked for, once. */
  g_assert_true (called (0, "subscribe aim1 jane@other.org"));
  g_assert_false (called (0, "subscribe aim1 buckaroo@example.org"));
  ImsAnswer a;
  ims_presence_store_lookup (fx->store, "aim1", "jane@other.org", &a);
  g_assert_cmpint (a.result, ==, IMS_RESULT_PENDING);
  ims_answer_clear (&a);
  ims_core_roster (fx->core, "aim1", items);
  g_assert_cmpuint (count_calls (0, "subscribe aim1 jane@other.org"), ==, 1);
  /* Presence reaches the store through the core; strangers' does not. */
  ImsResourcePresence pr = { .show = IMS_SHOW_PHONE, .text = "on a call" };
  ims_core_presence (fx->core, "aim1", "buckaroo@example.org", "desk", &pr);
  ims_core_presence (fx->core, "aim1", "stranger@evil.org", "x", &pr);
  ims_presence_store_lookup (fx->store, "aim1", "buckaroo", &a);
  g_assert_cmpint (a.status, ==, IMS_STATUS_BUSY);
  g_assert_cmpstr (a.show, ==, "phone");
  ims_answer_clear (&a);
  ims_core_presence (fx->core, "aim1", "buckaroo@example.org", "desk", NULL);
  ims_presence_store_lookup (fx->store, "aim1", "buckaroo", &a);
  g_assert_cmpint (a.status, ==, IMS_STATUS_OFFLINE);
  ims_answer_clear (&a);
  /* A network without a server list: everything watched is subscribed. */
  ims_core_logged_in (fx->core, "irc1");
  ims_core_roster (fx->core, "irc1", NULL);
  g_assert_true (ims_presence_store_roster_ready (fx->store, "irc1"));
}

static void
test_authorize (Fixture *fx, gconstpointer data)
{
  /* Approval does not depend on the peer being logged in (it failed open
   * while it was not). */
  g_assert_cmpint (state (fx, "aim1", NULL), ==, IMS_PEER_CONNECTING);
  g_assert_true (ims_core_authorize (fx->core, "aim1", "buckaroo@example.org"));
  g_assert_true (ims_core_authorize (fx->core, "aim1", "BUCKAROO@example.org"));
  g_assert_false (ims_core_authorize (fx->core, "aim1", "stranger@example.org"));
  g_assert_false (ims_core_authorize (fx->core, "aim1", "example.org"));
  /* A server named like a watched buddy is not that buddy. */
  g_assert_false (ims_core_authorize (fx->core, "aim1", "buckaroo"));
  ims_core_logged_in (fx->core, "aim1");
  g_assert_false (ims_core_authorize (fx->core, "aim1", "stranger@example.org"));
  g_assert_false (ims_core_authorize (fx->core, "nopeer", "buckaroo@example.org"));
}

static void
test_reconnect (Fixture *fx, gconstpointer data)
{
  ims_core_logged_in (fx->core, "aim1");
  ims_core_disconnected (fx->core, "aim1", "connection reset", FALSE);
  const char *why = NULL;
  g_assert_cmpint (state (fx, "aim1", &why), ==, IMS_PEER_CONNECTING);
  g_assert_cmpstr (why, ==, "connection reset");
  /* A second report of the same loss changes nothing. */
  ims_core_disconnected (fx->core, "aim1", "signed off", FALSE);
  g_assert_cmpstr (why, ==, "connection reset");
  /* The backoff's first step is 0.75 to 1.25 s: then a new attempt. */
  IMS_WAIT_FOR (count_calls (0, "connect aim1") == 2);
  /* A fatal failure stays failed: no more attempts. */
  ims_core_disconnected (fx->core, "aim1", "not-authorized", TRUE);
  g_assert_cmpint (state (fx, "aim1", &why), ==, IMS_PEER_FAILED);
  ims_core_disconnected (fx->core, "aim1", "signed off", FALSE);
  g_assert_cmpint (state (fx, "aim1", NULL), ==, IMS_PEER_FAILED);
}

static void
test_reload_diff (Fixture *fx, gconstpointer data)
{
  ims_core_logged_in (fx->core, "aim1");
  g_autoptr (GHashTable) items = g_hash_table_new (g_str_hash, g_str_equal);
  ims_core_roster (fx->core, "aim1", items);
  g_ptr_array_set_size (fakes[0]->calls, 0);

  /* Only subscribe changed: no new login, one buddy dropped, one asked. */
  g_autoptr (GString) text = g_string_new (base_conf);
  g_string_replace (text, "subscribe = buckaroo, jane@other.org", "subscribe = buckaroo, newbie",
                    1);
  g_autoptr (ImsConfig) live = parse (text->str);
  ImsCoreChanges n;
  ims_core_apply (fx->core, live, &n);
  g_assert_cmpuint (n.live, ==, 1);
  g_assert_cmpuint (n.changed, ==, 0);
  g_assert_cmpuint (n.kept, ==, 4);
  g_assert_false (called (0, "stop aim1"));
  g_assert_true (called (0, "unsubscribe aim1 jane@other.org"));
  g_assert_true (called (0, "subscribe aim1 newbie@example.org"));
  g_assert_cmpint (state (fx, "aim1", NULL), ==, IMS_PEER_REGISTERED);

  /* A login key changed: out and in again. */
  g_string_replace (text, "secret = pw", "secret = pw2", 1);
  g_autoptr (ImsConfig) login = parse (text->str);
  ims_core_apply (fx->core, login, &n);
  g_assert_cmpuint (n.changed, ==, 1);
  g_assert_true (called (0, "stop aim1"));
  g_assert_cmpuint (count_calls (0, "connect aim1"), ==, 1);
  const ImsAccount *a = g_hash_table_lookup (fakes[0]->accounts, "aim1");
  g_assert_cmpstr (a->secret, ==, "pw2");

  /* A peer gone, a peer new. */
  g_autoptr (ImsConfig) fewer = parse ("[aim2]\ntype = fake\nusername = r2@example.org\n");
  ims_core_apply (fx->core, fewer, &n);
  g_assert_cmpuint (n.removed, ==, 5);
  g_assert_cmpuint (n.added, ==, 1);
  g_assert_false (ims_presence_store_has_peer (fx->store, "aim1"));
  g_assert_true (called (0, "connect aim2"));
}

static void
test_send_and_own (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) err = NULL;
  g_assert_false (ims_core_send (fx->core, "aim1", "buckaroo@example.org", "hi", &err));
  g_assert_error (err, IMS_CORE_ERROR, IMS_CORE_ERROR_NOTCONNECTED);
  g_clear_error (&err);
  g_assert_false (ims_core_send (fx->core, "nope", "b", "hi", &err));
  g_assert_error (err, IMS_CORE_ERROR, IMS_CORE_ERROR_NOPEER);
  g_clear_error (&err);
  ims_core_logged_in (fx->core, "aim1");
  g_assert_true (ims_core_send (fx->core, "aim1", "buckaroo@example.org", "hi", &err));
  g_assert_true (called (0, "send aim1 buckaroo@example.org hi"));
  ims_core_set_own (fx->core, "aim1", TRUE, "busy/sip:1@pbx");
  ims_core_set_own (fx->core, "aim1", TRUE, "busy/sip:1@pbx");
  g_assert_cmpuint (count_calls (0, "own aim1 busy busy/sip:1@pbx"), ==, 1);
  ims_core_message (fx->core, "aim1", "buckaroo@example.org", "dial 100");
  g_assert_cmpuint (fx->messages->len, ==, 1);
  g_assert_cmpstr (fx->messages->pdata[0], ==, "aim1 buckaroo@example.org dial 100");
}

/* "STATUS RESULT" of one IMSend through the outbox. */
static const char *
psend (ImsPersist *persist, const char *peer, const char *to, const char *text)
{
  static char buf[64];
  ImsSendOutcome o = { 0 };
  ims_persist_send (persist, peer, to, text, &o);
  g_snprintf (buf, sizeof buf, "%s %s", ims_send_status_to_string (o.status),
              ims_result_to_string (o.result));
  ims_send_outcome_clear (&o);
  return buf;
}

static void
test_persist_outbox (Fixture *fx, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("ims-core-XXXXXX", NULL);
  g_autoptr (GError) err = NULL;
  ImsState *st = ims_state_open (dir, &err);
  g_assert_no_error (err);
  ImsPersist *persist = ims_persist_new (fx->store, fx->core, st, 2, 600);
  /* Not connected: queued, in order, up to the limit. */
  g_assert_cmpstr (psend (persist, "aim1", "buckaroo@example.org", "one"), ==, "QUEUED NOTCONNECTED");
  g_assert_cmpstr (psend (persist, "aim1", "buckaroo@example.org", "two"), ==, "QUEUED NOTCONNECTED");
  g_test_expect_message ("ims-state", G_LOG_LEVEL_WARNING, "*refused*");
  g_assert_cmpstr (psend (persist, "aim1", "buckaroo@example.org", "three"), ==,
                   "FAILED NOTCONNECTED");
  g_test_assert_expected_messages ();
  /* Unsupported never connects: FAILED at once. */
  g_assert_cmpstr (psend (persist, "none", "x@example.org", "no"), ==, "FAILED NOTCONNECTED");
  /* Logged in: delivered in order. */
  ims_core_logged_in (fx->core, "aim1");
  IMS_WAIT_FOR (called (0, "send aim1 buckaroo@example.org two"));
  g_assert_true (called (0, "send aim1 buckaroo@example.org one"));
  guint i1 = 0, i2 = 0;
  for (guint i = 0; i < fakes[0]->calls->len; i++)
    {
      if (g_str_equal (fakes[0]->calls->pdata[i], "send aim1 buckaroo@example.org one"))
        i1 = i;
      if (g_str_equal (fakes[0]->calls->pdata[i], "send aim1 buckaroo@example.org two"))
        i2 = i;
    }
  g_assert_cmpuint (i1, <, i2);
  g_assert_cmpstr (psend (persist, "aim1", "buckaroo@example.org", "now"), ==, "SENT OK");
  ims_persist_free (persist);
  ims_state_close (st);
  ims_test_rm_rf (dir);
}

static guint
count_files (const char *dir)
{
  guint n = 0;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  while (d && g_dir_read_name (d))
    n++;
  return n;
}


/* Click-to-dial without AMI: only a dialallow sender with the secret and a
 * valid target makes a call file; the others get "Not accepted." or, for
 * strangers, nothing at all. */
static void
test_telephony_click_to_dial (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ims-tel-XXXXXX", NULL);
  g_autofree char *spool = g_build_filename (dir, "outgoing", NULL);
  g_assert_cmpint (g_mkdir (spool, 0700), ==, 0);
  g_autofree char *text = g_strdup_printf (
      "[general]\nspooldir = %s\n"
      "[aim1]\ntype = fake\nusername = robot@example.org\nsubscribe = boss\n"
      "dialallow = boss@example.org\ndialsecret = s3\ndialfrom = PJSIP/100\n"
      "dialcontext = imstatus-dial\ndialtargets = extensions, +1215*\n", spool);
  Fixture fx = { 0 };
  fixture_setup (&fx, text);
  ImsTelephonyHooks th = { 0 };
  ImsTelephony *tel = ims_telephony_new (fx.config, fx.store, fx.core, NULL, &th);
  ims_core_logged_in (fx.core, "aim1");

  ims_telephony_on_message (tel, "aim1", "stranger@evil.org", "dial s3 100");
  g_assert_cmpuint (count_files (spool), ==, 0);
  g_assert_cmpuint (fakes[0]->calls->len, ==, 2); /* start, connect: no reply */
  ims_telephony_on_message (tel, "aim1", "boss@example.org", "dial wrong 100");
  g_assert_true (called (0, "send aim1 boss@example.org Not accepted."));
  g_assert_cmpuint (count_files (spool), ==, 0);
  ims_telephony_on_message (tel, "aim1", "boss@example.org", "dial s3 100;evil");
  g_assert_cmpuint (count_files (spool), ==, 0);
  ims_telephony_on_message (tel, "aim1", "boss@example.org", "dial s3 +19005550123");
  g_assert_true (called (0, "send aim1 boss@example.org Not accepted: not a number this PBX may "
                            "call for you."));
  g_assert_cmpuint (count_files (spool), ==, 0);
  ims_telephony_on_message (tel, "aim1", "boss@example.org", "dial s3 +12155550100");
  g_assert_cmpuint (count_files (spool), ==, 1);
  /* More than the rate allows in a minute. */
  for (int i = 0; i < IMS_DIAL_RATE_PER_MINUTE; i++)
    ims_telephony_on_message (tel, "aim1", "boss@example.org", "dial s3 100");
  /* 4 of the 5 a minute were used above; 1 more file, then refusals. */
  g_assert_cmpuint (count_files (spool), ==, 2);

  /* activewhen: a device needs AMI, so without states the peer stays out. */
  ImsPeerConfig *p = ims_peer_config_copy (fx.config->peers->pdata[0]);
  g_free (p->activewhen);
  p->activewhen = g_strdup ("PJSIP/100");
  g_autofree char *why = NULL;
  g_assert_false (ims_telephony_peer_allowed (tel, p, &why));
  g_assert_cmpstr (why, ==, "activewhen PJSIP/100: state not known yet (AMI)");
  g_free (p->activewhen);
  p->activewhen = g_strdup ("always");
  g_assert_true (ims_telephony_peer_allowed (tel, p, NULL));
  ims_peer_config_free (p);

  ims_telephony_free (tel);
  fixture_teardown (&fx, NULL);
  ims_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The core warns about unsupported peers and lost connections: expected. */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/core/routing", test_routing);
  ADD ("/core/offline-peer-ids", test_offline_peer_ids);
  ADD ("/core/roster-alignment", test_roster_alignment);
  ADD ("/core/authorize", test_authorize);
  ADD ("/core/reconnect", test_reconnect);
  ADD ("/core/reload-diff", test_reload_diff);
  ADD ("/core/send-and-own", test_send_and_own);
  ADD ("/core/persist-outbox", test_persist_outbox);
#undef ADD
  g_test_add_func ("/core/telephony/click-to-dial", test_telephony_click_to_dial);
  return g_test_run ();
}
