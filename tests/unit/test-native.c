/* Unit tests for what every native driver shares (src/native): the login
 * timeout, the keepalives and the answer they need, the failure path and
 * the account the base hands a network, with a network that exists only
 * here, driven by the real core.  The timers are the base's, once, so
 * OSCAR, YMSG and MSNP get them from here. */
#include "ims-config.h"
#include "ims-core.h"
#include "ims-native.h"

#include <string.h>

#include "ims-test.h"

typedef struct {
  ImsNativePeer base;
  int connects, keepalives, disconnects;
} FakePeer;

static FakePeer *fake_peer;      /* the one peer of a test */
static gboolean answer_pings;    /* the fake server answers keepalives */
static gboolean log_in;          /* connect logs in at once */

static void
fake_connect (ImsNativePeer *p)
{
  fake_peer = (FakePeer *) p;
  fake_peer->connects++;
  if (log_in)
    ims_native_logged_in (p);
}

static void
fake_keepalive (ImsNativePeer *p)
{
  ((FakePeer *) p)->keepalives++;
  if (answer_pings)
    ims_native_pong (p);
}

static void
fake_disconnect (ImsNativePeer *p)
{
  ((FakePeer *) p)->disconnects++;
}

static void
fake_nothing (ImsNativePeer *p)
{
}

static void
fake_buddy (ImsNativePeer *p, const char *buddy)
{
}

static gboolean
fake_send (ImsNativePeer *p, const char *to, const char *text, GError **error)
{
  return TRUE;
}

static ImsDriver *fake_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error);
static ImsDriver *quiet_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error);

static const char *const fake_types[] = { "fakenet", NULL };
static const char *const quiet_types[] = { "quietnet", NULL };
static const char *const fake_keys[] = { "pinginterval", "pingtimeout", NULL };
static const ImsNetwork fake_network = {
  .name = "Fake", .driver = "fake", .types = fake_types, .keys = fake_keys,
  .default_host = "login.fake.example", .default_port = 4000, .bare_ids = TRUE, .pong = TRUE,
  .new_driver = fake_driver_new,
};
/* A network whose keepalives get no answer (OSCAR's FLAP channel 5). */
static const ImsNetwork quiet_network = {
  .name = "Quiet", .driver = "quiet", .types = quiet_types, .keys = fake_keys,
  .default_host = "login.quiet.example", .default_port = 4001, .bare_ids = TRUE, .pong = FALSE,
  .new_driver = quiet_driver_new,
};
static const ImsNetwork *const nets[] = { &fake_network, &quiet_network, NULL };

#define FAKE_PROTO(net)                                                                       \
  {                                                                                           \
    .network = &net, .peer_size = sizeof (FakePeer), .login_timeout_s = 1,                    \
    .connect = fake_connect, .keepalive = fake_keepalive, .disconnect = fake_disconnect,      \
    .subscribe = fake_buddy, .unsubscribe = fake_buddy, .own_changed = fake_nothing,          \
    .send = fake_send,                                                                        \
  }
static const ImsNativeProto fake_proto = FAKE_PROTO (fake_network);
static const ImsNativeProto quiet_proto = FAKE_PROTO (quiet_network);

static ImsDriver *
fake_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return ims_native_driver_new (core, &fake_proto);
}

static ImsDriver *
quiet_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return ims_native_driver_new (core, &quiet_proto);
}

typedef struct {
  ImsConfig *config;
  ImsPresenceStore *store;
  ImsCore *core;
} World;

static void
world_start (World *w, const char *type)
{
  g_autofree char *text = g_strdup_printf ("[general]\nstatedir = /nonexistent\n"
                                           "[p]\ntype = %s\nusername = Robot\n"
                                           "pinginterval = 1\npingtimeout = 1\n", type);
  g_autoptr (GError) err = NULL;
  fake_peer = NULL;
  w->config = ims_config_parse ("t.conf", text, strlen (text), nets, &err);
  g_assert_no_error (err);
  w->store = ims_presence_store_new ();
  w->core = ims_core_new (w->store, w->config, NULL, &err);
  g_assert_no_error (err);
  ims_core_apply (w->core, w->config, NULL);
  g_assert_nonnull (fake_peer);
}

static void
world_stop (World *w)
{
  ims_core_free (w->core);
  ims_presence_store_free (w->store);
  ims_config_free (w->config);
}

static gboolean
reason_is (World *w, const char *want)
{
  const char *reason = NULL;
  ims_presence_store_get_peer_state (w->store, "p", &reason);
  return reason && strstr (reason, want);
}

/* The account: the descriptor's host and port, a bare id. */
static void
test_account (void)
{
  World w;
  log_in = FALSE;
  world_start (&w, "fakenet");
  g_assert_cmpstr (ims_native_host (&fake_peer->base), ==, "login.fake.example");
  g_assert_cmpint (ims_native_port (&fake_peer->base), ==, 4000);
  g_assert_cmpstr (fake_peer->base.acct->id, ==, "robot");
  world_stop (&w);
}

/* A server that never finishes the login: failed once the timeout passes,
 * connection dropped, and the core tries again. */
static void
test_login_timeout (void)
{
  World w;
  log_in = FALSE;
  world_start (&w, "fakenet");
  IMS_WAIT_FOR (reason_is (&w, "no answer from the Fake server during login"));
  g_assert_cmpint (fake_peer->disconnects, >=, 1);
  IMS_WAIT_FOR (fake_peer->connects >= 2);
  world_stop (&w);
}

/* Logged in: a keepalive every pinginterval; answered, the peer stays. */
static void
test_keepalive_answered (void)
{
  World w;
  log_in = TRUE;
  answer_pings = TRUE;
  world_start (&w, "fakenet");
  g_assert_cmpint (ims_presence_store_get_peer_state (w.store, "p", NULL), ==,
                   IMS_PEER_REGISTERED);
  IMS_WAIT_FOR (fake_peer->keepalives >= 3);
  g_assert_cmpint (ims_presence_store_get_peer_state (w.store, "p", NULL), ==,
                   IMS_PEER_REGISTERED);
  g_assert_cmpint (fake_peer->connects, ==, 1);
  world_stop (&w);
}

/* Unanswered on a network that answers: gone after pingtimeout. */
static void
test_keepalive_unanswered (void)
{
  World w;
  log_in = TRUE;
  answer_pings = FALSE;
  world_start (&w, "fakenet");
  IMS_WAIT_FOR (reason_is (&w, "no answer to a ping in 1 s"));
  g_assert_cmpint (fake_peer->keepalives, >=, 1);
  world_stop (&w);
}

/* A network whose keepalives get no answer is never blamed for it. */
static void
test_keepalive_without_answers (void)
{
  World w;
  log_in = TRUE;
  answer_pings = FALSE;
  world_start (&w, "quietnet");
  IMS_WAIT_FOR (fake_peer->keepalives >= 3);
  g_assert_cmpint (ims_presence_store_get_peer_state (w.store, "p", NULL), ==,
                   IMS_PEER_REGISTERED);
  world_stop (&w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/native/account", test_account);
  g_test_add_func ("/native/login-timeout", test_login_timeout);
  g_test_add_func ("/native/keepalive/answered", test_keepalive_answered);
  g_test_add_func ("/native/keepalive/unanswered", test_keepalive_unanswered);
  g_test_add_func ("/native/keepalive/no-answers-expected", test_keepalive_without_answers);
  return g_test_run ();
}
