/* libFuzzer harness for the safe rendering of untrusted text: whatever comes
 * in, what comes out is valid UTF-8 within its cap with no control character
 * (ims_text_safe), printable ASCII-safe log text (ims_text_for_log), and a
 * prefix/URI of the documented alphabet. */
#include "ims-text.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_safe (const char *s, gsize cap)
{
  g_assert (strlen (s) <= cap);
  g_assert (g_utf8_validate (s, -1, NULL));
  for (const char *p = s; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      g_assert (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0) && c != 0x2028
                && c != 0x2029);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  gsize cap = size ? data[0] % 64 + 1 : 8;
  g_autofree char *safe = ims_text_safe (text, cap);
  check_safe (safe, cap);
  g_autofree char *full = ims_text_safe (text, IMS_TEXT_MAX);
  check_safe (full, IMS_TEXT_MAX);

  g_autofree char *plain = ims_text_from_html (text);
  g_assert (strlen (plain) <= strlen (text)); /* tags and references only shrink */

  g_autofree char *log = ims_text_for_log (text, 200);
  g_assert (strlen (log) <= 200 + 3 + 4);
  for (const char *p = log; *p; p++)
    g_assert ((guchar) *p >= 0x20 && *p != 0x7f);

  g_autofree char *prefix = ims_status_text_prefix (full);
  for (const char *p = prefix; *p; p++)
    g_assert (g_ascii_isalnum (*p) || *p == '_' || *p == '-');
  g_autofree char *uri = ims_status_text_uri (full);
  for (const char *p = uri; *p; p++)
    g_assert (g_ascii_isalnum (*p) || strchr ("@.+_*#:%=;-", *p));

  g_autoptr (GPtrArray) secrets = g_ptr_array_new ();
  g_ptr_array_add (secrets, (gpointer) "s3cr&t");
  g_autofree char *red = ims_text_redact (text, secrets);
  g_assert (strstr (red, "s3cr&t") == NULL || strstr (text, "s3cr&t") == NULL);
  return 0;
}
