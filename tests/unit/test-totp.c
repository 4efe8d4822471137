/* Unit tests for the one-time dial codes: RFC 6238's own test vectors
 * (appendix B, SHA-1, the last six digits), the clock skew allowed, each
 * code once, and the secrets and codes refused. */
#include "ims-totp.h"

/* "12345678901234567890", the RFC's SHA-1 seed, in base32. */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static void
test_rfc6238_vectors (void)
{
  static const struct { gint64 t; const char *code; } v[] = {
    { 59, "287082" },         { 1111111109, "081804" }, { 1111111111, "050471" },
    { 1234567890, "005924" }, { 2000000000, "279037" }, { 20000000000, "353130" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (v); i++)
    {
      guint64 last = 0;
      g_assert_true (ims_totp_accept (RFC_SECRET, v[i].code, v[i].t, &last));
      g_assert_cmpuint (last, ==, (guint64) v[i].t / IMS_TOTP_STEP_S);
    }
}

static void
test_once_and_skew (void)
{
  guint64 last = 0;
  /* 1111111109 is in step 37037036; its code is good one step either side. */
  g_assert_true (ims_totp_accept (RFC_SECRET, "081804", 1111111109 + 30, &last));
  /* The same code again: never. */
  g_assert_false (ims_totp_accept (RFC_SECRET, "081804", 1111111109 + 30, &last));
  /* An older step's code after a newer one was used: never. */
  last = 37037037;
  g_assert_false (ims_totp_accept (RFC_SECRET, "081804", 1111111109, &last));
  /* Two steps away: too far. */
  last = 0;
  g_assert_false (ims_totp_accept (RFC_SECRET, "081804", 1111111109 + 70, &last));
  g_assert_cmpuint (last, ==, 0);
}

static void
test_refused (void)
{
  guint64 last = 0;
  const char *bad_codes[] = { "", "28708", "2870822", "28708a", " 287082", NULL };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_codes); i++)
    g_assert_false (ims_totp_accept (RFC_SECRET, bad_codes[i], 59, &last));
  g_assert_false (ims_totp_accept (RFC_SECRET, "287083", 59, &last));
  g_assert_false (ims_totp_accept ("not base32!", "287082", 59, &last));
  g_assert_false (ims_totp_accept ("JBSWY3DP", "287082", 59, &last)); /* 5 bytes */
  g_autofree char *why = NULL;
  g_assert_true (ims_totp_secret_ok ("jbsw y3dp ehpk 3pxp", &why));
  g_assert_false (ims_totp_secret_ok ("JBSWY3DP", &why));
  g_assert_nonnull (why);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/totp/rfc6238", test_rfc6238_vectors);
  g_test_add_func ("/totp/once-and-skew", test_once_and_skew);
  g_test_add_func ("/totp/refused", test_refused);
  return g_test_run ();
}
