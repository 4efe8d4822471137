/* libFuzzer harness for the AMI frame parser, action builder and escaping. */
#include "ims-ami-proto.h"
#include "ims-telephony.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  ImsAmiParser p;
  ims_ami_parser_init (&p);
  for (char **l = lines; *l; l++)
    {
      gboolean ok;
      GError *err = NULL;
      ImsAmiMessage *m = ims_ami_parser_feed (&p, *l, strlen (*l), &ok, &err);
      if (m)
        {
          g_assert (m->keys->len == m->values->len);
          ims_ami_message_get (m, "Response");
          ims_ami_message_free (m);
        }
      g_clear_error (&err);
      if (!ok)
        break;
      /* Whatever a value holds, an action never gains a header line. */
      const char *h[] = { "Body", *l, NULL };
      char *a = ims_ami_action ("UserEvent", "x", h, NULL);
      if (a)
        {
          int crlf = 0;
          for (const char *q = a; (q = strstr (q, "\r\n")); q += 2)
            crlf++;
          g_assert (crlf == 4);
          g_free (a);
        }
      char *e = ims_ami_escape_value (*l, 1000);
      g_assert (strpbrk (e, "\r\n") == NULL);
      g_free (e);
      char *exten = NULL;
      if (ims_dial_target_parse (*l, &exten))
        {
          g_assert (strpbrk (*l, " \t\r\n;,/\"'()$") == NULL);
          g_free (exten);
        }
    }
  ims_ami_parser_clear (&p);
  return 0;
}
