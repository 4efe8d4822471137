/* libFuzzer harness for what the MSN driver reads: the input is an MSNP
 * byte stream cut into commands by the framer (each parsed, its e-mail,
 * personal message and message text read), or, starting with '<', an answer
 * of the login service. */
#include "ims-msnp-proto.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size > 0 && data[0] == '<')
    {
      char *ticket = NULL, *secret = NULL;
      if (ims_msnp_parse_rst ((const char *) data, size, &ticket, &secret))
        {
          g_assert (*ticket && strchr (ticket, ' ') == NULL && strchr (ticket, '\n') == NULL);
          static const guint8 iv[8];
          g_free (ims_msnp_sso_response (secret, "nonce", iv));
          g_free (ticket);
          g_free (secret);
        }
      return 0;
    }
  gsize at = 0;
  while (at < size)
    {
      gssize n = ims_msnp_frame_len (data + at, size - at, NULL);
      if (n <= 0 || (gsize) n > size - at)
        break;
      ImsMsnpCmd c;
      if (ims_msnp_parse (data + at, (gsize) n, &c, NULL))
        {
          g_assert (c.nargs <= IMS_MSNP_MAX_ARGS + 1);
          for (guint i = 0; i < c.nargs; i++)
            {
              char *e = ims_msnp_email (c.args[i]);
              if (e)
                g_assert (strchr (e, '@') && !strpbrk (e, " \r\n:%"));
              g_free (e);
              const char *word;
              ims_msnp_status_kind (c.args[i], &word);
              g_assert (word);
            }
          if (c.payload)
            {
              g_assert (c.payload + c.payload_len <= data + size);
              char *psm = ims_msnp_psm (c.payload, c.payload_len);
              if (psm)
                g_assert (g_utf8_validate (psm, -1, NULL));
              g_free (psm);
              char *text = ims_msnp_msg_text (c.payload, c.payload_len);
              if (text)
                g_assert (g_utf8_validate (text, -1, NULL));
              g_free (text);
            }
          ims_msnp_cmd_clear (&c);
        }
      at += (gsize) n;
    }
  return 0;
}
