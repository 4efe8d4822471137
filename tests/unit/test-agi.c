/* Unit tests for the FastAGI wire format (agi-* transcripts). */
#include "ims-agi-proto.h"

#include <string.h>

typedef struct {
  const char *in, *wire;
} QuoteCase;

/* What goes on the wire for a value; Asterisk unquotes it back (agi-A1). */
static const QuoteCase quote_cases[] = {
  { "online", "\"online\"" },
  { "he said \"hi\" \\ back", "\"he said \\\"hi\\\" \\\\ back\"" },
  { "a;b,c $[1+1] ${X} (p)", "\"a;b,c $[1+1] ${X} (p)\"" },
  { "", "\"\"" },
  { "cr\rlf\nnul-free\ttab\x01" "del\x7f", "\"cr lf nul-free tab del \"" },
  { "caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"" },
  { "\\", "\"\\\\\"" },
};

static void
test_quote (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (quote_cases); i++)
    {
      g_autofree char *q = ims_agi_quote (quote_cases[i].in);
      g_assert_cmpstr (q, ==, quote_cases[i].wire);
    }
}

static void
feed_all (ImsAgiEnv *env, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l && !env->complete; l++)
    {
      g_autoptr (GError) err = NULL;
      g_assert_true (ims_agi_env_feed (env, *l, strlen (*l), &err));
    }
}

static void
test_env (void)
{
  g_autoptr (ImsAgiEnv) env = ims_agi_env_new ();
  feed_all (env, "agi_network: yes\nagi_network_script: IMStatus?peer=aim1\n"
                 "agi_request: agi://127.0.0.1/IMStatus?peer=aim1\nagi_accountcode: \n"
                 "agi_arg_1: aim1/buckaroo\nagi_arg_2: \nagi_arg_3:   lead space\n"
                 "agi_arg_4: a: b\n\n");
  g_assert_true (env->complete);
  g_autofree char *script = ims_agi_env_script (env);
  g_assert_cmpstr (script, ==, "IMStatus");
  g_assert_cmpstr (ims_agi_env_get (env, "agi_accountcode"), ==, "");
  g_assert_cmpuint (env->args->len, ==, 4);
  g_assert_cmpstr (env->args->pdata[1], ==, "");
  g_assert_cmpstr (env->args->pdata[2], ==, "  lead space");
  g_assert_cmpstr (env->args->pdata[3], ==, "a: b");

  /* Keys that begin alike are told apart; an absent one is NULL. */
  g_autoptr (ImsAgiEnv) alike = ims_agi_env_new ();
  feed_all (alike, "agi_ab: 2\nagi_a: 1\nagi_abc: 3\n\n");
  g_assert_cmpstr (ims_agi_env_get (alike, "agi_a"), ==, "1");
  g_assert_cmpstr (ims_agi_env_get (alike, "agi_ab"), ==, "2");
  g_assert_cmpstr (ims_agi_env_get (alike, "agi_abc"), ==, "3");
  g_assert_null (ims_agi_env_get (alike, "agi_abcd"));
  g_assert_null (ims_agi_env_get (alike, "agi_"));

  g_autoptr (ImsAgiEnv) none = ims_agi_env_new ();
  feed_all (none, "agi_network: yes\nagi_request: agi://127.0.0.1\n\n");
  g_assert_null (ims_agi_env_script (none));
}

static void
test_env_errors (void)
{
  const char *bad[] = { "no colon here", "agi_x:no space", "other: value", "agi_arg_2: skip",
                        "agi_b@d: x", "agi_arg_: x" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (ImsAgiEnv) env = ims_agi_env_new ();
      g_autoptr (GError) err = NULL;
      g_assert_false (ims_agi_env_feed (env, bad[i], strlen (bad[i]), &err));
      g_assert_error (err, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV);
    }
  g_autoptr (ImsAgiEnv) env = ims_agi_env_new ();
  g_autoptr (GError) err = NULL;
  g_assert_true (ims_agi_env_feed (env, "agi_x: 1", 8, NULL));
  for (int i = 0; i < 40; i++)
    {
      g_autofree char *l = g_strdup_printf ("agi_k%d: v", i);
      g_assert_true (ims_agi_env_feed (env, l, strlen (l), NULL));
    }
  g_assert_false (ims_agi_env_feed (env, "agi_x: 2", 8, &err)); /* forty lines later */
  g_assert_nonnull (strstr (err->message, "repeats agi_x"));
  g_clear_error (&err);
  g_autoptr (ImsAgiEnv) big = ims_agi_env_new ();
  gboolean ok = TRUE;
  for (int i = 0; i < IMS_AGI_MAX_ENV_LINES + 2 && ok; i++)
    {
      g_autofree char *l = g_strdup_printf ("agi_k%d: v", i);
      ok = ims_agi_env_feed (big, l, strlen (l), &err);
    }
  g_assert_false (ok);
  g_assert_nonnull (strstr (err->message, "environment larger than"));
}

static void
test_replies (void)
{
  ImsAgiReply r = { 0 };
  g_assert_true (ims_agi_reply_parse (&r, "200 result=1", NULL));
  g_assert_true (r.kind == IMS_AGI_REPLY_RESULT && r.result == 1 && !r.has_value);
  g_assert_true (ims_agi_reply_parse (&r, "200 result=1 (x;y,z $[1+1] ${IM-STATUS} (p))", NULL));
  g_assert_cmpstr (r.value, ==, "x;y,z $[1+1] ${IM-STATUS} (p)");
  g_assert_true (ims_agi_reply_parse (&r, "200 result=1 ()", NULL));
  g_assert_true (r.has_value && *r.value == '\0');
  g_assert_true (ims_agi_reply_parse (&r, "200 result=-1", NULL));
  g_assert_cmpint (r.result, ==, -1);
  g_assert_true (ims_agi_reply_parse (&r, "510 Invalid or unknown command", NULL));
  g_assert_cmpint (r.kind, ==, IMS_AGI_REPLY_INVALID);
  g_assert_true (ims_agi_reply_parse (&r, "511 Command Not Permitted on a dead channel or intercept routine", NULL));
  g_assert_cmpint (r.kind, ==, IMS_AGI_REPLY_DEAD);
  g_assert_true (ims_agi_reply_parse (&r, "HANGUP", NULL));
  g_assert_cmpint (r.kind, ==, IMS_AGI_REPLY_HANGUP);
  g_assert_true (ims_agi_reply_parse (&r, "520-Invalid command syntax.  Proper usage follows:", NULL));
  g_assert_cmpint (r.kind, ==, IMS_AGI_REPLY_MORE);
  g_assert_true (ims_agi_reply_parse (&r, "200 result=1 (a line of usage text)", NULL));
  g_assert_cmpint (r.kind, ==, IMS_AGI_REPLY_MORE);
  g_assert_true (ims_agi_reply_parse (&r, "520 End of proper usage.", NULL));
  g_assert_cmpint (r.kind, ==, IMS_AGI_REPLY_USAGE);
  g_autoptr (GError) err = NULL;
  g_assert_false (ims_agi_reply_parse (&r, "garbage", &err));
  g_clear_error (&err);
  g_assert_false (ims_agi_reply_parse (&r, "200 result=x", &err));
  ims_agi_reply_clear (&r);
}

static void
test_options_and_targets (void)
{
  gboolean g;
  int w;
  g_assert_true (ims_agi_parse_options ("gW(500)", &g, &w, NULL));
  g_assert_true (g && w == 500);
  g_assert_true (ims_agi_parse_options ("", &g, &w, NULL));
  g_assert_true (!g && w == 0);
  g_autoptr (GError) err = NULL;
  g_assert_false (ims_agi_parse_options ("W(70000)", &g, &w, &err));
  g_clear_error (&err);
  g_assert_false (ims_agi_parse_options ("x", &g, &w, &err));
  g_clear_error (&err);
  char *p, *u, *t;
  g_assert_true (ims_agi_split_target ("aim1/buckaroo/Hello, world / slashes", &p, &u, &t, NULL));
  g_assert_cmpstr (p, ==, "aim1");
  g_assert_cmpstr (u, ==, "buckaroo");
  g_assert_cmpstr (t, ==, "Hello, world / slashes");
  g_free (p), g_free (u), g_free (t);
  g_assert_false (ims_agi_split_target ("aim1/buckaroo/x", &p, &u, NULL, &err));
  g_clear_error (&err);
  g_assert_false (ims_agi_split_target ("aim1/buckaroo/", &p, &u, &t, &err));
  g_clear_error (&err);
  g_assert_false (ims_agi_split_target ("/buckaroo", &p, &u, NULL, &err));
  g_clear_error (&err);
  g_assert_true (ims_agi_dialplan_name_ok ("captest"));
  g_assert_true (ims_agi_dialplan_name_ok ("_1NXX+#*"));
  g_assert_false (ims_agi_dialplan_name_ok ("a,b"));
  g_assert_false (ims_agi_dialplan_name_ok ("a)}"));
  g_assert_false (ims_agi_dialplan_name_ok (""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agi/quote", test_quote);
  g_test_add_func ("/agi/env", test_env);
  g_test_add_func ("/agi/env-errors", test_env_errors);
  g_test_add_func ("/agi/replies", test_replies);
  g_test_add_func ("/agi/options-targets", test_options_and_targets);
  return g_test_run ();
}
