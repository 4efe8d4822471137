/* Unit tests for the safe rendering of untrusted text. */
#include "ims-text.h"

#include <string.h>

typedef struct {
  const char *text, *prefix, *uri;
} TextCase;

static const TextCase text_cases[] = {
  { "mobile: on the road", "mobile", "" },
  { "  Home: hello, I'm home", "home", "" },
  { "work:at my desk sip:1234@pbx.example.org.", "work", "sip:1234@pbx.example.org" },
  { "avail/sip:12156667777@pbx.example.org", "", "sip:12156667777@pbx.example.org" },
  { "sip:123@x", "", "sip:123@x" },
  { "call TEL:+1-215-555-0100; thanks", "", "tel:+1-215-555-0100" },
  { "gossip:not a uri iax2:bob@host/ext", "gossip", "iax2:bob@host" },
  { "no prefix here: x", "", "" },
  { "1abc: digits first", "", "" },
  { "h323:", "", "" },
  { "x sips:a@b h323:c", "", "" },
  { "", "", "" },
};

static void
test_text_helpers (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (text_cases); i++)
    {
      g_autofree char *p = ims_status_text_prefix (text_cases[i].text);
      g_autofree char *u = ims_status_text_uri (text_cases[i].text);
      g_test_message ("case %s", text_cases[i].text);
      g_assert_cmpstr (p, ==, text_cases[i].prefix);
      if (!g_str_equal (text_cases[i].text, "x sips:a@b h323:c"))
        g_assert_cmpstr (u, ==, text_cases[i].uri);
      else
        g_assert_cmpstr (u, ==, "sips:a@b");
    }
}

static void
test_text_safe_limit (void)
{
  g_autofree char *big = g_strnfill (3000, 'a');
  g_autofree char *s = ims_text_safe (big, IMS_TEXT_MAX);
  g_assert_cmpuint (strlen (s), ==, IMS_TEXT_MAX);
  /* Never cut inside a character. */
  g_autoptr (GString) u = g_string_new (NULL);
  for (int i = 0; i < 600; i++)
    g_string_append (u, "é");
  g_autofree char *t = ims_text_safe (u->str, 999);
  g_assert_true (g_utf8_validate (t, -1, NULL));
  g_assert_cmpuint (strlen (t), ==, 998);
}

typedef struct {
  const char *name, *in, *out;
} RedactCase;

static const RedactCase redact_cases[] = {
  { "plain", "the secret hunter2 appears twice: hunter2", "the secret ******** appears twice: ********" },
  { "xml-escaped", "<auth>p&amp;ss&lt;1&gt;</auth>", "<auth>********</auth>" },
  { "apos-escaped", "<x a='it&apos;s'/>", "<x a='********'/>" },
  { "untouched", "<presence><status>fine</status></presence>", "<presence><status>fine</status></presence>" },
};

static void
test_redact (gconstpointer data)
{
  const RedactCase *c = data;
  g_autoptr (GPtrArray) secrets = g_ptr_array_new ();
  g_ptr_array_add (secrets, (gpointer) "hunter2");
  g_ptr_array_add (secrets, (gpointer) "p&ss<1>");
  g_ptr_array_add (secrets, (gpointer) "it's");
  g_ptr_array_add (secrets, (gpointer) "");
  g_autofree char *r = ims_text_redact (c->in, secrets);
  g_assert_cmpstr (r, ==, c->out);
}

static void
test_text_from_html (void)
{
  static const char *cases[][2] = {
    { "<HTML><BODY>hi &lt;3</BODY></HTML>", "hi <3" },
    { "call <b>me</b><br>now &amp; then", "call me now & then" },
    { "&#x263A; &#9742; &quot;q&quot; &apos;a&apos; x&nbsp;y", "\u263a \u260e \"q\" 'a' x y" },
    { "&#0;&#xD800;&bogus; & &amp", "&bogus; & &amp" }, /* NUL, a surrogate: dropped */
    { "a < b", "a " },
    { "<p>one</p><p>two</p>", "one two " },
    { "plain", "plain" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = ims_text_from_html (cases[i][0]);
      g_assert_cmpstr (got, ==, cases[i][1]);
    }
}

static void
test_text_chunks (void)
{
  g_auto (GStrv) a = ims_text_chunks ("", 8);
  g_assert_cmpuint (g_strv_length (a), ==, 1);
  g_assert_cmpstr (a[0], ==, "");
  /* "☎" is 3 bytes: never split. */
  g_auto (GStrv) b = ims_text_chunks ("ab☎☎cd", 5);
  g_assert_cmpuint (g_strv_length (b), ==, 2);
  g_assert_cmpstr (b[0], ==, "ab☎");
  g_assert_cmpstr (b[1], ==, "☎cd");
  g_assert_cmpstr (b[2], ==, NULL);
  g_autofree char *big = g_strnfill (10000, 'x');
  g_auto (GStrv) c = ims_text_chunks (big, 1500);
  g_assert_cmpuint (g_strv_length (c), ==, 7);
  g_autofree char *joined = g_strjoinv ("", c);
  g_assert_cmpstr (joined, ==, big);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text/prefix-uri", test_text_helpers);
  g_test_add_func ("/text/from-html", test_text_from_html);
  g_test_add_func ("/text/chunks", test_text_chunks);
  g_test_add_func ("/text/safe-limit", test_text_safe_limit);
  for (gsize i = 0; i < G_N_ELEMENTS (redact_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/text/redact/%s", redact_cases[i].name);
      g_test_add_data_func (name, &redact_cases[i], test_redact);
    }
  return g_test_run ();
}
