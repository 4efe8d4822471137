/* libFuzzer harness for the FastAGI parsers: environment lines, replies,
 * options, targets and quoting. */
#include "ims-agi-proto.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  ImsAgiEnv *env = ims_agi_env_new ();
  ImsAgiReply reply = { 0 };
  for (char **l = lines; *l; l++)
    {
      GError *err = NULL;
      if (!env->complete && !ims_agi_env_feed (env, *l, strlen (*l), &err))
        g_clear_error (&err);
      if (!ims_agi_reply_parse (&reply, *l, &err))
        g_clear_error (&err);
      gboolean g;
      int w;
      if (!ims_agi_parse_options (*l, &g, &w, &err))
        g_clear_error (&err);
      char *peer = NULL, *user = NULL, *msg = NULL;
      if (ims_agi_split_target (*l, &peer, &user, &msg, &err))
        {
          g_assert (strchr (peer, '/') == NULL && *peer && *user);
          g_free (peer);
          g_free (user);
          g_free (msg);
        }
      g_clear_error (&err);
      char *q = ims_agi_quote (*l);
      /* The quoted value is one line: no CR, LF or NUL can reach the wire. */
      g_assert (strpbrk (q, "\r\n") == NULL);
      g_free (q);
    }
  g_free (ims_agi_env_script (env));
  ims_agi_reply_clear (&reply);
  ims_agi_env_free (env);
  return 0;
}
