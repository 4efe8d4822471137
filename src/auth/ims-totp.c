/* ims-totp: see the header. */
#include "ims-totp.h"

#include <liboath/oath.h>
#include <string.h>

/* The secret's bytes (transfer full), NULL when @base32 is not base32. */
static GBytes *
ims_totp_decode (const char *base32)
{
  static gsize initialised;
  if (g_once_init_enter (&initialised))
    g_once_init_leave (&initialised, oath_init () == OATH_OK ? 1 : 2);
  g_autoptr (GString) clean = g_string_new (NULL);
  for (const char *p = base32; *p && clean->len < 256; p++)
    if (*p != ' ' && *p != '-')
      g_string_append_c (clean, g_ascii_toupper (*p));
  char *out = NULL;
  size_t len = 0;
  if (oath_base32_decode (clean->str, clean->len, &out, &len) != OATH_OK)
    return NULL;
  GBytes *b = g_bytes_new (out, len);
  memset (out, 0, len);
  free (out);
  return b;
}

gboolean
ims_totp_secret_ok (const char *base32, char **why)
{
  g_autoptr (GBytes) b = ims_totp_decode (base32);
  if (b == NULL)
    {
      *why = g_strdup ("not base32 (letters A-Z and digits 2-7)");
      return FALSE;
    }
  if (g_bytes_get_size (b) < IMS_TOTP_MIN_BYTES)
    {
      *why = g_strdup_printf ("shorter than %d bytes (%d base32 letters)", IMS_TOTP_MIN_BYTES,
                              IMS_TOTP_MIN_BYTES * 8 / 5);
      return FALSE;
    }
  return TRUE;
}

gboolean
ims_totp_accept (const char *base32, const char *code, gint64 now, guint64 *last_step)
{
  if (code == NULL || strlen (code) != IMS_TOTP_DIGITS
      || strspn (code, "0123456789") != IMS_TOTP_DIGITS)
    return FALSE;
  g_autoptr (GBytes) b = ims_totp_decode (base32);
  if (b == NULL || g_bytes_get_size (b) < IMS_TOTP_MIN_BYTES)
    return FALSE;
  gsize len;
  const char *key = g_bytes_get_data (b, &len);
  int pos = 0;
  uint64_t step = 0;
  int rc = oath_totp_validate3 (key, len, (time_t) now, IMS_TOTP_STEP_S, 0, IMS_TOTP_WINDOW,
                                &pos, &step, code);
  if (rc < 0 || step <= *last_step)
    return FALSE;
  *last_step = step;
  return TRUE;
}
