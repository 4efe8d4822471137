/* Unit tests for the networks: the registry's descriptors agree with the key
 * table and with their drivers' own tables, and a network that exists only
 * here (tests/unit/testnet: one folder) becomes a working type= with one
 * registry row and no edit to config, core or the daemon. */
#include "ims-config.h"
#include "ims-core.h"
#include "ims-msnp-proto.h"
#include "ims-msnp.h"
#include "ims-oscar.h"
#include "ims-registry.h"
#include "ims-testnet.h"
#include "ims-ymsg-proto.h"
#include "ims-ymsg.h"

#include <string.h>

/* The daemon's registry with one row added before the catch-all. */
static const ImsNetwork **
registry_with_testnet (void)
{
  static const ImsNetwork *nets[16];
  gsize n = 0;
  for (const ImsNetwork *const *r = ims_registry_networks (); *r; r++)
    {
      if ((*r)->types == NULL)
        nets[n++] = &ims_testnet_network;
      nets[n++] = *r;
      g_assert_cmpuint (n, <, G_N_ELEMENTS (nets) - 1);
    }
  nets[n] = NULL;
  return nets;
}

static gboolean
has_word (const char *words, const char *word)
{
  g_auto (GStrv) w = g_strsplit (words, " ", -1);
  return g_strv_contains ((const char *const *) w, word);
}

static void
test_registry_agrees_with_key_table (void)
{
  gsize n_keys;
  const ImsConfigKey *keys = ims_config_keys (&n_keys);
  GHashTable *words = g_hash_table_new (g_str_hash, g_str_equal);
  guint catch_all = 0;
  const ImsNetwork *const *r = ims_registry_networks ();
  for (; *r; r++)
    {
      const ImsNetwork *net = *r;
      g_assert_nonnull (net->name);
      g_assert_nonnull (net->summary);
      g_assert_nonnull (net->new_driver);
      g_assert_true ((net->id_valid == NULL) == (net->id_rule == NULL));
      if (net->types == NULL)
        {
          catch_all++;
          g_assert_null (r[1]); /* the catch-all comes last */
        }
      for (const char *const *t = net->types; t && *t; t++)
        {
          g_assert_false (g_hash_table_contains (words, *t)); /* one network per word */
          g_hash_table_add (words, (gpointer) *t);
          g_assert_true (ims_network_find (ims_registry_networks (), *t) == net);
        }
      /* Every key a network reads is a network key of the table. */
      for (const char *const *k = net->keys; k && *k; k++)
        {
          gboolean found = FALSE;
          for (gsize i = 0; i < n_keys; i++)
            if (keys[i].scope == IMS_KEY_PEER && g_str_equal (keys[i].name, *k))
              found = (keys[i].flags & IMS_KEY_NETWORK) != 0;
          g_assert_true (found);
        }
      /* pingtimeout only where keepalives are answered. */
      g_assert_true (ims_network_reads (net, "pingtimeout") == (net->pong && net->keys));
    }
  g_assert_cmpuint (catch_all, ==, 1);
  /* Every network key is read by some network. */
  for (gsize i = 0; i < n_keys; i++)
    if (keys[i].flags & IMS_KEY_NETWORK)
      {
        g_autofree char *t = ims_network_types_reading (ims_registry_networks (), keys[i].name);
        g_assert_cmpstr (t, !=, "");
      }
  g_hash_table_unref (words);
}

/* The IM-SHOW words the man page lists are the words the parsers give. */
static void
test_show_words_match_parsers (void)
{
  const int ymsg_codes[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, IMS_YMSG_IDLE, 42 };
  for (gsize i = 0; i < G_N_ELEMENTS (ymsg_codes); i++)
    {
      const char *word = NULL;
      if (ims_ymsg_status_kind (ymsg_codes[i], 0, &word) != IMS_YMSG_KIND_OFFLINE)
        g_assert_true (has_word (ims_ymsg_network.show_words, word));
    }
  for (int away = 0; away <= 2; away++)
    {
      const char *word = NULL;
      ims_ymsg_status_kind (IMS_YMSG_CUSTOM, away, &word);
      g_assert_true (has_word (ims_ymsg_network.show_words, word));
    }
  const char *msn[] = { "NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN", "FLN", "XYZ" };
  for (gsize i = 0; i < G_N_ELEMENTS (msn); i++)
    {
      const char *word = NULL;
      if (ims_msnp_status_kind (msn[i], &word) != IMS_MSNP_OFFLINE)
        g_assert_true (has_word (ims_msnp_network.show_words, word));
    }
}

/* Drift found in review: an MSN peer without host was shown and probed at
 * hotmail.com while its driver went to messenger.hotmail.com, and AIM and
 * Yahoo peers had no host at all.  The account every reader sees now has
 * the descriptor's host. */
static void
test_default_host (void)
{
  const char *text = "[m]\ntype = msn\nusername = r@example.com\n"
                     "[a]\ntype = aim\nusername = robot\n"
                     "[y]\ntype = yahoo\nusername = robot\n"
                     "[x]\ntype = xmpp\nusername = robot@example.org\n"
                     "[h]\ntype = aim\nusername = robot2\nhost = 127.0.0.1\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("t.conf", text, strlen (text),
                                              ims_registry_networks (), &err);
  g_assert_no_error (err);
  const struct { const char *peer, *host, *id, *domain; } cases[] = {
    { "m", "messenger.hotmail.com", "r@example.com", "example.com" },
    { "a", "login.oscar.aol.com", "robot", NULL },
    { "y", "scs.msg.yahoo.com", "robot", NULL },
    { "x", NULL, "robot@example.org", "example.org" }, /* libpurple resolves the domain */
    { "h", "127.0.0.1", "robot2", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ImsAccount a;
      g_autofree char *id = NULL, *domain = NULL;
      ims_config_peer_account (c, ims_config_find_peer (c, cases[i].peer), &a, &id, &domain);
      g_assert_cmpstr (a.host, ==, cases[i].host);
      g_assert_cmpstr (a.id, ==, cases[i].id);
      g_assert_cmpstr (a.domain, ==, cases[i].domain);
    }
}

/* ---- a new network: one folder plus one row ---- */

static void
test_new_network_config (void)
{
  const ImsNetwork **nets = registry_with_testnet ();
  g_autoptr (GError) err = NULL;
  /* Its words, its keys, its id rule and its own checks, from its descriptor. */
  const char *good = "[t]\ntype = tn\nusername = Robot\npinginterval = 5\n";
  g_autoptr (ImsConfig) c = ims_config_parse ("t.conf", good, strlen (good), nets, &err);
  g_assert_no_error (err);
  gboolean clear = FALSE, wants = FALSE;
  for (guint i = 0; i < c->warnings->len; i++)
    {
      const char *w = c->warnings->pdata[i];
      clear |= g_str_equal (w, "t.conf:1: [t] type=tn has no TLS: everything travels in clear");
      wants |= g_str_equal (w, "t.conf:1: [t] testnet accounts want a secret");
    }
  g_assert_true (clear && wants);

  const char *bad = "[t]\ntype = testnet\nusername = ro!bot\nresource = x\n";
  g_autoptr (ImsConfig) b = ims_config_parse ("t.conf", bad, strlen (bad), nets, &err);
  g_assert_null (b);
  g_assert_nonnull (strstr (err->message, "t.conf:4: resource does not apply to type=testnet "
                                          "(only to jabber/xmpp)"));
  g_assert_nonnull (strstr (err->message, "t.conf:1: [t] username: a TestNet id has no '!'"));

  /* Without the row, the same file is another libpurple protocol's. */
  g_clear_error (&err);
  g_autoptr (ImsConfig) o = ims_config_parse ("t.conf", good, strlen (good),
                                              ims_registry_networks (), &err);
  g_assert_null (o);
  g_assert_nonnull (strstr (err->message, "pinginterval does not apply to type=tn"));
}

static void
test_new_network_core (void)
{
  /* The native rows and the new one (no libpurple in a unit test). */
  static const ImsNetwork *const nets[] = { &ims_oscar_network, &ims_ymsg_network,
                                            &ims_msnp_network, &ims_testnet_network, NULL };
  const char *text = "[general]\nstatedir = /nonexistent\n"
                     "[t]\ntype = testnet\nusername = Robot\nsubscribe = jane\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("t.conf", text, strlen (text),
                                              (const ImsNetwork *const *) nets, &err);
  g_assert_no_error (err);
  ImsPresenceStore *store = ims_presence_store_new ();
  ImsCore *core = ims_core_new (store, c, NULL, &err);
  g_assert_no_error (err);
  ims_core_apply (core, c, NULL);
  GPtrArray *calls = ims_testnet_calls ();
  g_assert_cmpuint (calls->len, >=, 2);
  /* Bare id, the descriptor's host and port. */
  g_assert_cmpstr (calls->pdata[0], ==, "start t robot im.testnet.example:0");
  g_assert_cmpstr (calls->pdata[1], ==, "connect t");
  g_assert_cmpstr (ims_core_peer_host (core, "t"), ==, "im.testnet.example");
  g_assert_cmpint (ims_core_peer_port (core, "t"), ==, 4242);
  g_assert_cmpint (ims_presence_store_get_peer_state (store, "t", NULL), ==,
                   IMS_PEER_REGISTERED);
  gboolean subscribed = FALSE;
  for (guint i = 0; i < calls->len; i++)
    subscribed |= g_str_equal (calls->pdata[i], "subscribe t jane");
  g_assert_true (subscribed);
  g_assert_true (ims_core_send (core, "t", "jane", "hello", &err));
  g_assert_no_error (err);
  ims_core_free (core);
  ims_presence_store_free (store);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/network/registry/key-table", test_registry_agrees_with_key_table);
  g_test_add_func ("/network/registry/show-words", test_show_words_match_parsers);
  g_test_add_func ("/network/default-host", test_default_host);
  g_test_add_func ("/network/new/config", test_new_network_config);
  g_test_add_func ("/network/new/core", test_new_network_core);
  return g_test_run ();
}
