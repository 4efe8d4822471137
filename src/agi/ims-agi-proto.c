/* ims-agi-proto: FastAGI environment, replies and quoting, per the Asterisk 22
 * transcripts in tests/reference/asterisk22/ (README.txt section A).
 */
#define G_LOG_DOMAIN "ims-agi"

#include "ims-agi-proto.h"

#include <string.h>

G_DEFINE_QUARK (ims-agi-error-quark, ims_agi_error)

ImsAgiEnv *
ims_agi_env_new (void)
{
  ImsAgiEnv *env = g_new0 (ImsAgiEnv, 1);
  env->text = g_string_sized_new (1024);
  env->index = g_array_sized_new (FALSE, FALSE, sizeof (ImsAgiEnvKey), 32);
  env->args = g_ptr_array_new_with_free_func (g_free);
  return env;
}

void
ims_agi_env_free (ImsAgiEnv *env)
{
  if (env == NULL)
    return;
  g_string_free (env->text, TRUE);
  g_array_unref (env->index);
  g_ptr_array_unref (env->args);
  g_free (env);
}

static guint32
ims_agi_env_hash (const char *key, gsize len)
{
  guint32 h = 5381;
  for (gsize i = 0; i < len; i++)
    h = h * 33 + (guchar) key[i];
  return h;
}

/* The value of @key (len bytes, not NUL-terminated), or NULL.  A scan
 * (an environment has some 25 lines, 256 at most) that compares only keys
 * with the same hash. */
static const char *
ims_agi_env_find (const ImsAgiEnv *env, const char *key, gsize len, guint32 hash)
{
  for (guint i = 0; i < env->index->len; i++)
    {
      const ImsAgiEnvKey *e = &g_array_index (env->index, ImsAgiEnvKey, i);
      const char *k = env->text->str + e->offset;
      if (e->hash == hash && memcmp (k, key, len) == 0 && k[len] == '\0')
        return k + len + 1;
    }
  return NULL;
}

gboolean
ims_agi_env_feed (ImsAgiEnv *env, const char *line, gsize len, GError **error)
{
  if (env->complete)
    return TRUE;
  if (len == 0)
    {
      env->complete = TRUE;
      return TRUE;
    }
  if (++env->lines > IMS_AGI_MAX_ENV_LINES || (env->bytes += len) > IMS_AGI_MAX_ENV_BYTES)
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV,
                   "environment larger than %d lines or %d bytes", IMS_AGI_MAX_ENV_LINES,
                   IMS_AGI_MAX_ENV_BYTES);
      return FALSE;
    }
  if (memchr (line, '\0', len) != NULL || !g_utf8_validate (line, len, NULL))
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV,
                   "environment line %u has a NUL byte or is not UTF-8", env->lines);
      return FALSE;
    }
  /* Split at the FIRST ": " and keep the value as it is (it may be empty
   * or start with spaces: "agi_arg_3:   lead space"). */
  const char *sep = g_strstr_len (line, len, ": ");
  if (sep == NULL || sep == line || len < 4 || memcmp (line, "agi_", 4) != 0)
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV,
                   "environment line %u is not 'agi_<key>: <value>'", env->lines);
      return FALSE;
    }
  gsize klen = sep - line;
  const char *value = sep + 2;
  gsize vlen = len - (value - line);
  for (gsize i = 0; i < klen; i++)
    if (!g_ascii_isalnum (line[i]) && line[i] != '_')
      {
        g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV,
                     "environment line %u has a bad key", env->lines);
        return FALSE;
      }
  guint32 hash = ims_agi_env_hash (line, klen);
  if (klen >= 8 && memcmp (line, "agi_arg_", 8) == 0)
    {
      /* In order, so never repeated. */
      g_autofree char *num = g_strndup (line + 8, klen - 8);
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (num, 10, 1, IMS_AGI_MAX_ENV_LINES, &n, NULL)
          || n != env->args->len + 1)
        {
          g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV,
                       "environment has agi_arg_%s out of order", num);
          return FALSE;
        }
      g_ptr_array_add (env->args, g_strndup (value, vlen));
    }
  else if (ims_agi_env_find (env, line, klen, hash) != NULL)
    {
      g_autofree char *key = g_strndup (line, klen);
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ENV, "environment repeats %s", key);
      return FALSE;
    }
  /* "key\0value\0", where it starts in the index. */
  ImsAgiEnvKey e = { env->text->len, hash };
  g_array_append_val (env->index, e);
  g_string_append_len (env->text, line, klen);
  g_string_append_c (env->text, '\0');
  g_string_append_len (env->text, value, vlen);
  g_string_append_c (env->text, '\0');
  return TRUE;
}

const char *
ims_agi_env_get (const ImsAgiEnv *env, const char *key)
{
  gsize len = strlen (key);
  return ims_agi_env_find (env, key, len, ims_agi_env_hash (key, len));
}

char *
ims_agi_env_script (const ImsAgiEnv *env)
{
  const char *s = ims_agi_env_get (env, "agi_network_script");
  if (s == NULL)
    return NULL;
  while (*s == '/')
    s++;
  return g_strndup (s, strcspn (s, "?"));
}

void
ims_agi_reply_clear (ImsAgiReply *r)
{
  g_clear_pointer (&r->value, g_free);
  r->has_value = FALSE;
}

gboolean
ims_agi_reply_parse (ImsAgiReply *r, const char *line, GError **error)
{
  ims_agi_reply_clear (r);
  if (g_str_equal (line, "HANGUP"))
    {
      r->kind = IMS_AGI_REPLY_HANGUP;
      return TRUE;
    }
  if (r->in_usage)
    {
      /* 520-Invalid command syntax ... <usage lines> ... "520 End of proper usage." */
      if (g_str_has_prefix (line, "520 "))
        {
          r->in_usage = FALSE;
          r->kind = IMS_AGI_REPLY_USAGE;
          r->code = 520;
        }
      else
        r->kind = IMS_AGI_REPLY_MORE;
      return TRUE;
    }
  if (g_str_has_prefix (line, "520-"))
    {
      r->in_usage = TRUE;
      r->kind = IMS_AGI_REPLY_MORE;
      return TRUE;
    }
  if (g_str_has_prefix (line, "520 "))
    {
      r->kind = IMS_AGI_REPLY_USAGE;
      r->code = 520;
      return TRUE;
    }
  if (g_str_has_prefix (line, "510 ") || g_str_equal (line, "510"))
    {
      r->kind = IMS_AGI_REPLY_INVALID;
      r->code = 510;
      return TRUE;
    }
  if (g_str_has_prefix (line, "511 ") || g_str_equal (line, "511"))
    {
      r->kind = IMS_AGI_REPLY_DEAD;
      r->code = 511;
      return TRUE;
    }
  if (!g_str_has_prefix (line, "200 result="))
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_REPLY, "unexpected reply line");
      return FALSE;
    }
  const char *p = line + strlen ("200 result=");
  char *end = NULL;
  gint64 v = g_ascii_strtoll (p, &end, 10);
  if (end == p || v < G_MININT || v > G_MAXINT)
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_REPLY, "reply without a result number");
      return FALSE;
    }
  r->kind = IMS_AGI_REPLY_RESULT;
  r->code = 200;
  r->result = (int) v;
  /* The value is sent raw: it runs from the first "(" to the LAST ")". */
  const char *open = strchr (end, '(');
  const char *close = strrchr (end, ')');
  if (open && close && close > open)
    {
      r->has_value = TRUE;
      r->value = g_strndup (open + 1, close - open - 1);
    }
  return TRUE;
}

char *
ims_agi_quote (const char *value)
{
  g_autoptr (GString) out = g_string_sized_new (strlen (value) + 2);
  g_string_append_c (out, '"');
  for (const char *p = value; *p; p++)
    {
      guchar c = (guchar) *p;
      if (c == '\\' || c == '"')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c < 0x20 || c == 0x7f)
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
ims_agi_parse_options (const char *options, gboolean *go_on, int *wait_ms, GError **error)
{
  *go_on = FALSE;
  *wait_ms = 0;
  for (const char *p = options ? options : ""; *p;)
    {
      if (*p == 'g')
        {
          *go_on = TRUE;
          p++;
        }
      else if (*p == 'W' && p[1] == '(')
        {
          const char *close = strchr (p, ')');
          g_autofree char *num = close ? g_strndup (p + 2, close - p - 2) : NULL;
          guint64 ms = 0;
          if (num == NULL
              || !g_ascii_string_to_unsigned (num, 10, 0, IMS_AGI_MAX_WAIT_MS, &ms, NULL))
            {
              g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ARGS,
                           "option W needs milliseconds from 0 to %d: W(500)",
                           IMS_AGI_MAX_WAIT_MS);
              return FALSE;
            }
          *wait_ms = (int) ms;
          p = close + 1;
        }
      else if (*p == ' ')
        p++;
      else
        {
          g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ARGS,
                       "unknown option '%c' (options are g and W(ms))", g_ascii_isprint (*p) ? *p : '?');
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
ims_agi_split_target (const char *arg, char **peer, char **user, char **text, GError **error)
{
  const char *s1 = arg ? strchr (arg, '/') : NULL;
  const char *s2 = s1 ? strchr (s1 + 1, '/') : NULL;
  if (s1 == NULL || s1 == arg || s1[1] == '\0' || s1[1] == '/')
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ARGS,
                   text ? "expected peer/user/text" : "expected peer/user");
      return FALSE;
    }
  if (text == NULL && s2 != NULL)
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ARGS, "expected peer/user");
      return FALSE;
    }
  if (text != NULL && (s2 == NULL || s2[1] == '\0'))
    {
      g_set_error (error, IMS_AGI_ERROR, IMS_AGI_ERROR_ARGS, "expected peer/user/text (no text)");
      return FALSE;
    }
  *peer = g_strndup (arg, s1 - arg);
  *user = s2 ? g_strndup (s1 + 1, s2 - s1 - 1) : g_strdup (s1 + 1);
  if (text)
    *text = g_strdup (s2 + 1);
  return TRUE;
}

gboolean
ims_agi_dialplan_name_ok (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 80)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_-+#*.@!", *p) == NULL)
      return FALSE;
  return TRUE;
}
