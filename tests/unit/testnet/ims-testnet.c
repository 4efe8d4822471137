/* ims-testnet: see the header.  The driver logs in at once and records what
 * the core asks of it. */
#include "ims-testnet.h"

#include <string.h>

#include "ims-driver.h"

static GPtrArray *testnet_calls;

GPtrArray *
ims_testnet_calls (void)
{
  if (testnet_calls == NULL)
    testnet_calls = g_ptr_array_new_with_free_func (g_free);
  return testnet_calls;
}

static void
testnet_start (ImsDriver *d, const ImsAccount *a)
{
  g_ptr_array_add (ims_testnet_calls (), g_strdup_printf ("start %s %s %s:%d", a->peer, a->id,
                                                          a->host, a->port));
}

static void
testnet_connect (ImsDriver *d, const char *peer)
{
  g_ptr_array_add (ims_testnet_calls (), g_strdup_printf ("connect %s", peer));
  ims_driver_logged_in (d, peer);
  ims_driver_roster (d, peer, NULL); /* no server-side list */
}

static void
testnet_stop (ImsDriver *d, const char *peer)
{
  g_ptr_array_add (ims_testnet_calls (), g_strdup_printf ("stop %s", peer));
}

static void
testnet_subscribe (ImsDriver *d, const char *peer, const char *buddy)
{
  g_ptr_array_add (ims_testnet_calls (), g_strdup_printf ("subscribe %s %s", peer, buddy));
  ims_driver_subscription (d, peer, buddy, IMS_SUB_BOTH);
}

static void
testnet_unsubscribe (ImsDriver *d, const char *peer, const char *buddy)
{
}

static void
testnet_set_own (ImsDriver *d, const char *peer, gboolean busy, const char *message)
{
}

static gboolean
testnet_send (ImsDriver *d, const char *peer, const char *to, const char *text, GError **error)
{
  g_ptr_array_add (ims_testnet_calls (), g_strdup_printf ("send %s %s %s", peer, to, text));
  return TRUE;
}

static void
testnet_set_debug (ImsDriver *d, int level)
{
}

static void
testnet_free (ImsDriver *d)
{
  g_free (d);
}

static const ImsDriverOps testnet_ops = {
  .name = "testnet",
  .start = testnet_start,
  .connect = testnet_connect,
  .stop = testnet_stop,
  .subscribe = testnet_subscribe,
  .unsubscribe = testnet_unsubscribe,
  .set_own = testnet_set_own,
  .send = testnet_send,
  .set_debug = testnet_set_debug,
  .free = testnet_free,
};

static ImsDriver *
testnet_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  ImsDriver *d = g_new0 (ImsDriver, 1);
  d->ops = &testnet_ops;
  return d;
}

static gboolean
testnet_id_valid (const char *id)
{
  return strchr (id, '!') == NULL;
}

static void
testnet_check_account (const ImsAccount *a, GPtrArray *errors, GPtrArray *warnings)
{
  if (a->secret == NULL)
    g_ptr_array_add (warnings, g_strdup ("testnet accounts want a secret"));
}

static const char *const testnet_types[] = { "testnet", "tn", NULL };
static const char *const testnet_keys[] = { "pinginterval", NULL };

const ImsNetwork ims_testnet_network = {
  .name = "TestNet",
  .driver = "testnet",
  .types = testnet_types,
  .summary = "a network for the tests",
  .keys = testnet_keys,
  .default_host = "im.testnet.example",
  .default_port = 4242,
  .bare_ids = TRUE,
  .id_valid = testnet_id_valid,
  .id_rule = "a TestNet id has no '!'",
  .cleartext = "everything travels in clear",
  .show_words = "available",
  .check_account = testnet_check_account,
  .new_driver = testnet_driver_new,
};
