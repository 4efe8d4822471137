/* Unit tests for the imctl command table: matching, errors, output shapes. */
#include "ims-control.h"

#include <string.h>


static ImsConfig *config;
static ImsPresenceStore *store;
static int debug_level = -1;

static const ImsConfig *
hook_config (gpointer data)
{
  return config;
}

static gboolean
hook_reload (gpointer data, GError **error)
{
  return TRUE;
}

static void
hook_send (gpointer data, const char *peer, const char *to, const char *text, ImsSendOutcome *o)
{
  o->status = IMS_SEND_SENT;
  o->result = IMS_RESULT_OK;
  o->detail = g_strdup_printf ("%s|%s|%s", peer, to, text);
}

static void
hook_debug (gpointer data, int level)
{
  debug_level = level;
}

static const char *
hook_host (gpointer data, const char *peer)
{
  return "127.0.0.1";
}

/* The driver's default port, as the core would give it. */
static int
hook_port (gpointer data, const char *peer)
{
  return 5222;
}

static ImsService hooks = {
  .config = hook_config, .peer_host = hook_host, .peer_port = hook_port,
  .reload = hook_reload, .send = hook_send, .set_debug = hook_debug,
};

static char *
run_ok (const char *line)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GError) err = NULL;
  if (!ims_control_run (&hooks, line, IMS_RIGHT_ADMIN, out, NULL, &err))
    g_error ("'%s' failed: %s", line, err->message);
  return g_strdup (out->str);
}

static char *
run_err (const char *line)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GError) err = NULL;
  g_assert_false (ims_control_run (&hooks, line, IMS_RIGHT_ADMIN, out, NULL, &err));
  return g_strdup (err->message);
}

static void
test_prefixes (void)
{
  g_autofree char *a = run_ok ("show peers");
  g_autofree char *b = run_ok ("sh pee");
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, ==, "Name  Type    Host       Port  User               Status\n"
                          "aim1  jabber  127.0.0.1  5222  robot@example.org  Connecting\n");
  g_autofree char *amb = run_err ("show");
  g_assert_nonnull (strstr (amb, "ambiguous command; possibilities are: \"show peers\", "
                                 "\"show people\", \"show subscribed\""));
  g_autofree char *pe = run_err ("sh pe");
  g_assert_nonnull (strstr (pe, "possibilities are: \"show peers\", \"show people\""));
  g_autofree char *unk = run_err ("frobnicate");
  g_assert_nonnull (strstr (unk, "unknown command 'frobnicate'"));
  g_autofree char *many = run_err ("reload now");
  g_assert_nonnull (strstr (many, "too many arguments for 'reload'"));
  g_autofree char *empty = run_err ("   ");
  g_assert_cmpstr (empty, ==, "empty command");
}

static void
test_status_lines (void)
{
  g_autofree char *s = run_ok ("status aim1/buckaroo");
  g_assert_cmpstr (s, ==, "IM-STATUS=unknown\nIM-IDLETIME=0\nIM-STATUSTEXT=\nIM-LASTSEEN=0\n"
                          "IM-STATUSPREFIX=\nIM-STATUSURI=\nIM-RESOURCE=\nIM-SHOW=\n"
                          "IM-RESULT=NOTCONNECTED\n");
  g_autofree char *j = run_ok ("--json status aim1/buckaroo");
  g_assert_nonnull (strstr (j, "\"lastseen_at\":null"));
  g_assert_nonnull (strstr (j, "\"subscription\":\"none\""));
  g_autofree char *bad = run_err ("status buckaroo");
  g_assert_cmpstr (bad, ==, "usage: status peer/user|person");
}

static void
test_send_unescapes (void)
{
  g_autofree char *s = run_ok ("send aim1/buckaroo hello\\nworld \\\\ é");
  g_assert_cmpstr (s, ==, "SENT: aim1|buckaroo|hello\nworld \\ é\n");
  g_autofree char *bad = run_err ("send aim1/buckaroo");
  g_assert_cmpstr (bad, ==, "usage: send peer/user text");
}

static void
test_debug (void)
{
  g_autofree char *a = run_ok ("debug intense");
  g_assert_cmpint (debug_level, ==, 2);
  g_autofree char *b = run_ok ("debug off");
  g_assert_cmpint (debug_level, ==, 0);
  g_autofree char *c = run_err ("debug loud");
  g_assert_cmpstr (c, ==, "usage: debug [intense|off]");
}

static void
test_show_subscribed (void)
{
  g_autofree char *all = run_ok ("show subscribed");
  g_assert_cmpstr (all, ==, "Peer  Name      Status   Idle  Lastseen\n"
                            "aim1  buckaroo  unknown  0     0\n");
  g_autofree char *one = run_ok ("show subscribed aim1|buckaroo");
  g_assert_cmpstr (one, ==, "Name      Status   Idle  Lastseen\nbuckaroo  unknown  0     0\n");
  g_autofree char *none = run_err ("show subscribed aim1|nobody");
  g_assert_nonnull (strstr (none, "does not subscribe to 'nobody'"));
  /* The same as JSON (built instead of the table, not beside it). */
  g_autofree char *oj = run_ok ("--json show subscribed aim1|buckaroo");
  g_assert_nonnull (strstr (oj, "\"name\":\"buckaroo\""));
  g_autofree char *nj = run_err ("--json show subscribed aim1|nobody");
  g_assert_nonnull (strstr (nj, "does not subscribe to 'nobody'"));
  g_autofree char *np = run_err ("show subscribed nopeer");
  g_assert_cmpstr (np, ==, "no peer named 'nopeer'");
}

/* Help, usage and the list of commands all come from the one table. */
static void
test_table_drives_help (void)
{
  gsize n = 0;
  const ImsCommand *cmds = ims_control_commands (&n);
  g_autofree char *usage = ims_control_usage ();
  g_autofree char *unk = run_err ("frobnicate");
  for (gsize i = 0; i < n; i++)
    {
      g_assert_nonnull (strstr (usage, cmds[i].pattern));
      g_assert_nonnull (strstr (usage, cmds[i].help));
      g_assert_nonnull (strstr (unk, cmds[i].pattern));
      g_assert_nonnull (cmds[i].run);
    }
  /* Rights: reading is open to the control group, the rest is not. */
  for (gsize i = 0; i < n; i++)
    {
      /* Acting on the PBX (an IM out, a person's DND) is the send right. */
      if (g_str_equal (cmds[i].pattern, "send") || g_str_equal (cmds[i].pattern, "dnd"))
        g_assert_cmpint (cmds[i].right, ==, IMS_RIGHT_SEND);
      else if (g_str_equal (cmds[i].pattern, "reload") || g_str_equal (cmds[i].pattern, "debug"))
        g_assert_cmpint (cmds[i].right, ==, IMS_RIGHT_ADMIN);
      else
        g_assert_cmpint (cmds[i].right, ==, IMS_RIGHT_READ);
    }
}

/* A read-only client may look but not send, reload or debug. */
static void
test_rights (void)
{
  struct { const char *line; ImsRight rights; gboolean ok; } cases[] = {
    { "show peers", IMS_RIGHT_READ, TRUE },
    { "dnd jane on", IMS_RIGHT_READ, FALSE },
    { "status aim1/buckaroo", IMS_RIGHT_READ, TRUE },
    { "send aim1/buckaroo hi", IMS_RIGHT_READ, FALSE },
    { "send aim1/buckaroo hi", IMS_RIGHT_SEND, TRUE },
    { "reload", IMS_RIGHT_SEND, FALSE },
    { "debug off", IMS_RIGHT_READ, FALSE },
    { "reload", IMS_RIGHT_ADMIN, TRUE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) out = g_string_new (NULL);
      g_autoptr (GError) err = NULL;
      gboolean ok = ims_control_run (&hooks, cases[i].line, cases[i].rights, out, NULL, &err);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        {
          g_assert_error (err, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_DENIED);
          g_assert_true (g_str_has_prefix (err->message, "permission denied: '"));
        }
    }
}

static void
test_watch_flag (void)
{
  g_autoptr (GString) out = g_string_new (NULL);
  gboolean watch = FALSE;
  g_assert_true (ims_control_run (&hooks, "watch", IMS_RIGHT_READ, out, &watch, NULL));
  g_assert_true (watch);
  watch = FALSE;
  g_assert_true (ims_control_run (&hooks, "show peers", IMS_RIGHT_READ, out, &watch, NULL));
  g_assert_false (watch);
  g_autofree char *j = ims_control_peer_json (&hooks, "aim1");
  g_assert_cmpstr (j, ==, "{\"name\":\"aim1\",\"type\":\"jabber\",\"host\":\"127.0.0.1\","
                          "\"port\":5222,\"user\":\"robot@example.org\",\"status\":\"Connecting\","
                          "\"reason\":null}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *text = "[aim1]\ntype = jabber\nusername = robot@example.org\nhost = 127.0.0.1\n"
                     "subscribe = buckaroo\n";
  config = ims_config_parse ("t.conf", text, strlen (text), NULL, NULL);
  store = ims_presence_store_new ();
  ims_presence_store_add_peer (store, "aim1", "robot@example.org", "example.org");
  ims_presence_store_set_watched (store, "aim1",
                                  ((ImsPeerConfig *) config->peers->pdata[0])->subscribe, NULL);
  hooks.store = store;
  g_test_add_func ("/control/prefixes", test_prefixes);
  g_test_add_func ("/control/status", test_status_lines);
  g_test_add_func ("/control/send", test_send_unescapes);
  g_test_add_func ("/control/debug", test_debug);
  g_test_add_func ("/control/show-subscribed", test_show_subscribed);
  g_test_add_func ("/control/table-drives-help", test_table_drives_help);
  g_test_add_func ("/control/watch", test_watch_flag);
  g_test_add_func ("/control/rights", test_rights);
  int r = g_test_run ();
  ims_presence_store_free (store);
  ims_config_free (config);
  return r;
}
