/* libFuzzer harness for what the AIM driver reads from an OSCAR server: the
 * input is a byte stream cut into FLAPs by the framer, and every frame goes
 * through each reader.  Whatever comes in: no read out of bounds, screen
 * names within their limit, text valid UTF-8. */
#include "ims-oscar-proto.h"
#include "ims-text.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_user (const ImsOscarUser *u)
{
  g_assert (u->sn && strlen (u->sn) <= 4 * IMS_OSCAR_SN_MAX);
  g_assert (g_utf8_validate (u->sn, -1, NULL));
  g_assert (u->rest + u->rest_len >= u->rest);
  char *away = ims_oscar_parse_away (u);
  if (away)
    {
      g_assert (g_utf8_validate (away, -1, NULL));
      char *plain = ims_text_from_html (away);
      g_free (plain);
    }
  g_free (away);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gsize at = 0;
  while (at < size)
    {
      gssize n = ims_flap_frame_len (data + at, size - at, NULL);
      if (n <= 0 || (gsize) n > size - at)
        break;
      ImsFlap f;
      ImsSnac s;
      if (ims_flap_parse (data + at, (gsize) n, &f, NULL) && ims_snac_parse (f.data, f.len, &s, NULL))
        {
          g_assert (s.data + s.len == f.data + f.len);
          ImsOscarLogin l;
          if (ims_oscar_parse_login (&s, &l, NULL))
            {
              g_assert (l.error != 0 || (l.bos_host && l.cookie));
              ims_oscar_login_clear (&l);
            }
          ImsOscarUser u;
          if (ims_oscar_parse_user (s.data, s.len, &u, NULL))
            {
              check_user (&u);
              ims_oscar_user_clear (&u);
            }
          GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_oscar_item_free);
          ims_oscar_parse_feedbag (&s, items, NULL);
          for (guint i = 0; i < items->len; i++)
            g_assert (g_utf8_validate (((ImsOscarItem *) items->pdata[i])->name, -1, NULL));
          g_ptr_array_unref (items);
          ImsOscarIm im;
          if (ims_oscar_parse_im (&s, &im, NULL))
            {
              g_assert (g_utf8_validate (im.text, -1, NULL));
              ims_oscar_im_clear (&im);
            }
        }
      at += (gsize) n;
    }
  return 0;
}
