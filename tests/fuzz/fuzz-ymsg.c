/* libFuzzer harness for what the Yahoo driver reads from a YMSG server: the
 * input is a byte stream cut into packets by the framer; every packet is
 * parsed, its buddy records, list and status read, and a challenge found in
 * it answered. */
#include "ims-ymsg-proto.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gsize at = 0;
  while (at < size)
    {
      gssize n = ims_ymsg_frame_len (data + at, size - at, NULL);
      if (n <= 0 || (gsize) n > size - at)
        break;
      ImsYmsgPacket pk;
      if (ims_ymsg_parse (data + at, (gsize) n, &pk, NULL))
        {
          g_assert (pk.n <= IMS_YMSG_MAX_PAIRS);
          GArray *bs = g_array_new (FALSE, FALSE, sizeof (ImsYmsgBuddy));
          ims_ymsg_buddies (&pk, bs);
          for (guint i = 0; i < bs->len; i++)
            {
              ImsYmsgBuddy *b = &g_array_index (bs, ImsYmsgBuddy, i);
              const char *word = NULL;
              ims_ymsg_status_kind (b->status, b->away, &word);
              g_assert (b->id && word);
            }
          g_array_unref (bs);
          const char *list = ims_ymsg_get (&pk, 87);
          if (list)
            {
              GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
              ims_ymsg_list_ids (list, ids);
              for (guint i = 0; i < ids->len; i++)
                g_assert (strlen (ids->pdata[i]) <= IMS_YMSG_ID_MAX);
              g_ptr_array_unref (ids);
            }
          const char *chal = ims_ymsg_get (&pk, 94);
          char *r6 = NULL, *r96 = NULL;
          if (chal && strlen (chal) < 256 && ims_ymsg_auth_responses ("me", "pw", chal, &r6, &r96))
            g_assert (strlen (r6) == 24 && strlen (r96) == 24);
          g_free (r6);
          g_free (r96);
          ims_ymsg_packet_clear (&pk);
        }
      at += (gsize) n;
    }
  return 0;
}
