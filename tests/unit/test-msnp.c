/* Unit tests for the MSNP parser, from commands and login-service answers
 * recorded from Escargot, and the MBI_KEY_OLD response. */
#include <string.h>

#include "ims-msnp-proto.h"
#include "revival-frames.h"

static void
cmd_of (const char *name, GBytes **keep, ImsMsnpCmd *c)
{
  *keep = revival_frame ("msnp", name);
  gsize n;
  const guint8 *p = g_bytes_get_data (*keep, &n);
  g_assert_cmpint (ims_msnp_frame_len (p, n, NULL), ==, (gssize) n);
  g_assert_true (ims_msnp_parse (p, n, c, NULL));
}

static void
test_msnp_login (void)
{
  g_autoptr (GBytes) b1 = NULL, b2 = NULL, b3 = NULL, b4 = NULL;
  ImsMsnpCmd c;
  cmd_of ("ver", &b1, &c);
  g_assert_cmpstr (c.cmd, ==, "VER");
  g_assert_cmpstr (c.args[1], ==, "MSNP18");
  ims_msnp_cmd_clear (&c);
  cmd_of ("gcf", &b2, &c);
  g_assert_nonnull (c.payload);
  g_assert_cmpuint (c.payload_len, ==, g_ascii_strtoull (c.args[1], NULL, 10));
  ims_msnp_cmd_clear (&c);
  cmd_of ("usr-nonce", &b3, &c);
  g_assert_cmpstr (c.args[3], ==, "MBI_KEY_OLD");
  g_assert_cmpuint (strlen (c.args[4]), ==, 64);
  ims_msnp_cmd_clear (&c);
  cmd_of ("usr-ok", &b4, &c);
  g_assert_cmpstr (c.args[1], ==, "OK");
  ims_msnp_cmd_clear (&c);

  g_autoptr (GBytes) ok = revival_frame ("msnp", "rst-ok");
  g_autofree char *ticket = NULL, *secret = NULL;
  g_assert_true (ims_msnp_parse_rst (g_bytes_get_data (ok, NULL), g_bytes_get_size (ok), &ticket,
                                     &secret));
  g_assert_true (g_str_has_prefix (ticket, "t=") && g_str_has_suffix (ticket, "&p="));
  gsize n;
  g_autofree guint8 *raw = g_base64_decode (secret, &n);
  g_assert_cmpuint (n, ==, 24);
  g_autoptr (GBytes) fault = revival_frame ("msnp", "rst-fault");
  char *t2 = NULL, *s2 = NULL;
  g_assert_false (ims_msnp_parse_rst (g_bytes_get_data (fault, NULL), g_bytes_get_size (fault),
                                      &t2, &s2));
}

static void
test_msnp_presence (void)
{
  g_autoptr (GBytes) b1 = NULL, b2 = NULL, b3 = NULL;
  ImsMsnpCmd c;
  const char *word;
  cmd_of ("nln-phn", &b1, &c);
  g_autofree char *email = ims_msnp_email (c.args[1]);
  g_assert_cmpstr (email, ==, "recmj@hotmail.com");
  g_assert_cmpint (ims_msnp_status_kind (c.args[0], &word), ==, IMS_MSNP_PHONE);
  g_assert_cmpstr (word, ==, "phone");
  ims_msnp_cmd_clear (&c);
  cmd_of ("ubx-psm", &b2, &c);
  g_autofree char *psm = ims_msnp_psm (c.payload, c.payload_len);
  g_assert_cmpstr (psm, ==, "hi <there> & co");
  ims_msnp_cmd_clear (&c);
  cmd_of ("fln", &b3, &c);
  g_autofree char *gone = ims_msnp_email (c.args[0]);
  g_assert_cmpstr (gone, ==, "recmj@hotmail.com");
  ims_msnp_cmd_clear (&c);
  g_assert_null (ims_msnp_email ("32:bob@yahoo.com")); /* another network */
  g_assert_null (ims_msnp_email ("1:no-at-sign"));
  g_assert_null (ims_msnp_psm ((const guint8 *) "<Data><PSM>a<</PSM></Data>", 26));

  /* ADL/RML lists, only for addresses that can go on a command line. */
  g_autofree char *ml = ims_msnp_ml ("bob&co@hotmail.com", 3);
  g_assert_cmpstr (ml, ==, "<ml><d n=\"hotmail.com\"><c n=\"bob&amp;co\" l=\"3\" t=\"1\"/></d></ml>");
  static const char *bad[] = { "bob", "@x", "bob@", "a b@x", "a@x\r\nOUT", "\xc3\xa9@x" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (ims_msnp_is_address (bad[i]));
      g_assert_null (ims_msnp_ml (bad[i], 1));
    }
}

static void
test_msnp_messages (void)
{
  g_autoptr (GBytes) b1 = NULL, b2 = NULL, b3 = NULL;
  ImsMsnpCmd c;
  cmd_of ("msg-im", &b1, &c);
  g_autofree char *text = ims_msnp_msg_text (c.payload, c.payload_len);
  g_assert_cmpstr (text, ==, "hello A <3");
  g_assert_cmpstr (c.args[0], ==, "recmj@hotmail.com");
  ims_msnp_cmd_clear (&c);
  cmd_of ("msg-profile", &b2, &c);
  g_assert_null (ims_msnp_msg_text (c.payload, c.payload_len));
  ims_msnp_cmd_clear (&c);
  cmd_of ("rng", &b3, &c);
  g_assert_cmpuint (c.nargs, >=, 6);
  g_assert_cmpstr (c.args[2], ==, "CKI");
  ims_msnp_cmd_clear (&c);
}

static void
test_msnp_sso_and_limits (void)
{
  /* Computed by tests/integration/msnp.py (hmac + cryptography's 3DES),
   * whose responses Escargot accepts. */
  static const guint8 iv[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  g_autofree char *r = ims_msnp_sso_response ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
                                              "nonce-from-the-server-0123456789", iv);
  g_assert_cmpstr (r, ==, "HAAAAAEAAAADZgAABIAAAAgAAAAUAAAAKAAAAAABAgMEBQYHPn8odxG1gonf9Y0J1dmcSBjXzA2Qk4KmkxI8W1THXl5UZ6FCqaqJKiOiT9P6qokdVzRCiOWLkwWCv4Wz");
  g_assert_null (ims_msnp_sso_response ("c2hvcnQ=", "n", iv));

  GError *e = NULL;
  g_autofree char *long_line = g_strnfill (IMS_MSNP_MAX_LINE, 'A');
  g_assert_cmpint (ims_msnp_frame_len ((const guint8 *) long_line, strlen (long_line), &e), ==, -1);
  g_clear_error (&e);
  const char *huge = "MSG a b 99999999\r\n";
  g_assert_cmpint (ims_msnp_frame_len ((const guint8 *) huge, strlen (huge), &e), ==, -1);
  g_clear_error (&e);
  g_assert_cmpint (ims_msnp_frame_len ((const guint8 *) "\x16\x03\x01", 3, &e), ==, -1);
  g_clear_error (&e);
  /* A payload command waits for its payload. */
  const char *part = "UBX 1:a@b 10\r\n<Dat";
  g_assert_cmpint (ims_msnp_frame_len ((const guint8 *) part, strlen (part), NULL), ==,
                   (gssize) strlen ("UBX 1:a@b 10\r\n") + 10);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/msnp/login", test_msnp_login);
  g_test_add_func ("/msnp/presence", test_msnp_presence);
  g_test_add_func ("/msnp/messages", test_msnp_messages);
  g_test_add_func ("/msnp/sso-limits", test_msnp_sso_and_limits);
  return g_test_run ();
}
