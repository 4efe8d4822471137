/* ims-ami-proto: AMI framing per tests/reference/asterisk22/README.txt
 * section B: a one-line greeting, then messages of "Key: Value" lines ended by
 * an empty line; Asterisk sends CRLF, values raw, "Key: " when empty.
 */
#define G_LOG_DOMAIN "ims-ami"

#include "ims-ami-proto.h"

#include <string.h>

G_DEFINE_QUARK (ims-ami-error-quark, ims_ami_error)

ImsAmiMessage *
ims_ami_message_new (void)
{
  ImsAmiMessage *m = g_new0 (ImsAmiMessage, 1);
  m->keys = g_ptr_array_new_with_free_func (g_free);
  m->values = g_ptr_array_new_with_free_func (g_free);
  return m;
}

void
ims_ami_message_free (ImsAmiMessage *m)
{
  if (m == NULL)
    return;
  g_ptr_array_unref (m->keys);
  g_ptr_array_unref (m->values);
  g_free (m);
}

const char *
ims_ami_message_get (const ImsAmiMessage *m, const char *key)
{
  for (guint i = 0; i < m->keys->len; i++)
    if (g_ascii_strcasecmp (m->keys->pdata[i], key) == 0)
      return m->values->pdata[i];
  return NULL;
}

void
ims_ami_parser_init (ImsAmiParser *p)
{
  memset (p, 0, sizeof *p);
}

void
ims_ami_parser_clear (ImsAmiParser *p)
{
  g_clear_pointer (&p->greeting, g_free);
  g_clear_pointer (&p->cur, ims_ami_message_free);
  p->greeted = FALSE;
}

ImsAmiMessage *
ims_ami_parser_feed (ImsAmiParser *p, const char *line, gsize len, gboolean *ok, GError **error)
{
  *ok = TRUE;
  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len > IMS_AMI_MAX_LINE || memchr (line, '\0', len) != NULL)
    {
      g_set_error (error, IMS_AMI_ERROR, IMS_AMI_ERROR_LIMIT, "line too long or with a NUL byte");
      *ok = FALSE;
      return NULL;
    }
  if (!p->greeted)
    {
      if (!g_str_has_prefix (line, "Asterisk Call Manager/"))
        {
          g_set_error (error, IMS_AMI_ERROR, IMS_AMI_ERROR_PROTOCOL,
                       "not an Asterisk manager (no 'Asterisk Call Manager/' greeting)");
          *ok = FALSE;
          return NULL;
        }
      p->greeting = g_strndup (line, len);
      p->greeted = TRUE;
      return NULL;
    }
  if (len == 0)
    {
      /* Stray empty lines between messages are harmless. */
      ImsAmiMessage *done = p->cur;
      p->cur = NULL;
      return done;
    }
  const char *colon = memchr (line, ':', len);
  if (colon == NULL || colon == line)
    {
      g_set_error (error, IMS_AMI_ERROR, IMS_AMI_ERROR_PROTOCOL, "header line without 'Key:'");
      *ok = FALSE;
      return NULL;
    }
  if (p->cur == NULL)
    p->cur = ims_ami_message_new ();
  if (p->cur->keys->len >= IMS_AMI_MAX_HEADERS || (p->cur->bytes += len) > IMS_AMI_MAX_MESSAGE)
    {
      g_set_error (error, IMS_AMI_ERROR, IMS_AMI_ERROR_LIMIT,
                   "message larger than %d headers or %d bytes", IMS_AMI_MAX_HEADERS,
                   IMS_AMI_MAX_MESSAGE);
      g_clear_pointer (&p->cur, ims_ami_message_free);
      *ok = FALSE;
      return NULL;
    }
  const char *v = colon + 1;
  if (v < line + len && *v == ' ')
    v++;
  g_ptr_array_add (p->cur->keys, g_strndup (line, colon - line));
  g_ptr_array_add (p->cur->values, g_strndup (v, line + len - v));
  return NULL;
}

static gboolean
ims_ami_key_ok (const char *k)
{
  if (k == NULL || *k == '\0')
    return FALSE;
  for (const char *p = k; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

char *
ims_ami_action (const char *action, const char *action_id, const char *const *headers,
                GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *first[] = { "Action", action, "ActionID", action_id, NULL };
  for (int pass = 0; pass < 2; pass++)
    for (const char *const *h = pass ? headers : first; h && h[0]; h += 2)
      {
        const char *k = h[0], *v = h[1];
        if (v == NULL && pass == 0)
          continue; /* no ActionID */
        if (!ims_ami_key_ok (k) || v == NULL || strpbrk (v, "\r\n") != NULL)
          {
            g_set_error (error, IMS_AMI_ERROR, IMS_AMI_ERROR_VALUE,
                         "refusing an AMI header %s with a line break or a bad name",
                         ims_ami_key_ok (k) ? k : "(bad)");
            return NULL;
          }
        g_string_append_printf (out, "%s: %s\r\n", k, v);
      }
  g_string_append (out, "\r\n");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
ims_ami_escape_value (const char *text, gsize max)
{
  g_autoptr (GString) out = g_string_new (NULL);
  for (const guchar *p = (const guchar *) text; *p && out->len < max; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '\r')
        g_string_append (out, "\\r");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else if (*p < 0x20 || *p == 0x7f)
        g_string_append_printf (out, "\\x%02x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  /* Never end inside a UTF-8 sequence. */
  const char *end = NULL;
  if (!g_utf8_validate (out->str, out->len, &end))
    g_string_truncate (out, end - out->str);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
