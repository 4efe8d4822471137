/* ims-text: the safe rendering of untrusted text.  Every status text, JID,
 * resource and message a buddy or server sends passes through here before it
 * reaches the dialplan, a log line, imctl or a web page.
 */
#define G_LOG_DOMAIN "ims-text"

#include "ims-text.h"

#include <string.h>

#define MAX_URI 256

char *
ims_text_for_log (const char *s, gsize max)
{
  g_autoptr (GString) out = g_string_new (NULL);
  if (s == NULL)
    return g_strdup ("(null)");
  const char *end = s + strlen (s);
  for (const char *p = s; *p && out->len < max;)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\\')
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  if (out->len >= max)
    g_string_append (out, "...");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
ims_text_safe (const char *text, gsize max_bytes)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *end = text + strlen (text);
  for (const char *p = text; p < end;)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      gsize n;
      char buf[6];
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          c = 0xFFFD;
          p++;
        }
      else
        p = g_utf8_next_char (p);
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029)
        c = ' ';
      n = g_unichar_to_utf8 (c, buf);
      if (out->len + n > max_bytes)
        break;
      g_string_append_len (out, buf, n);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static const char *const ims_uri_schemes[] = { "sips:", "sip:", "tel:", "iax2:", "h323:" };

char *
ims_status_text_prefix (const char *text)
{
  if (text == NULL)
    return g_strdup ("");
  const char *p = text;
  while (*p == ' ' || *p == '\t')
    p++;
  const char *w = p;
  while (g_ascii_isalnum (*p) || *p == '_' || *p == '-')
    p++;
  if (*p != ':' || p == w || p - w > 32 || !g_ascii_isalpha (*w))
    return g_strdup ("");
  for (gsize i = 0; i < G_N_ELEMENTS (ims_uri_schemes); i++)
    if (g_ascii_strncasecmp (w, ims_uri_schemes[i], strlen (ims_uri_schemes[i])) == 0)
      return g_strdup ("");
  return g_ascii_strdown (w, p - w);
}

static gboolean
ims_uri_char (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("@.+_*#:%=;-", c) != NULL);
}

char *
ims_status_text_uri (const char *text)
{
  if (text == NULL)
    return g_strdup ("");
  for (const char *p = text; *p; p++)
    {
      if (p != text && (g_ascii_isalnum (p[-1]) || p[-1] == '+' || p[-1] == '.'))
        continue;
      for (gsize i = 0; i < G_N_ELEMENTS (ims_uri_schemes); i++)
        {
          gsize sl = strlen (ims_uri_schemes[i]);
          if (g_ascii_strncasecmp (p, ims_uri_schemes[i], sl) != 0)
            continue;
          const char *q = p + sl;
          while (ims_uri_char (*q) && q - p < MAX_URI)
            q++;
          if (ims_uri_char (*q))
            continue; /* longer than MAX_URI: not something to dial */
          /* A trailing '.' or ';' is sentence punctuation, not part of the URI. */
          while (q > p + sl && (q[-1] == '.' || q[-1] == ';' || q[-1] == ':'))
            q--;
          if (q == p + sl)
            continue;
          g_autofree char *scheme = g_ascii_strdown (p, sl);
          return g_strdup_printf ("%s%.*s", scheme, (int) (q - p - sl), p + sl);
        }
    }
  return g_strdup ("");
}


static char *
ims_text_replace (char *text, const char *what)
{
  if (what == NULL || *what == '\0' || strstr (text, what) == NULL)
    return text;
  g_auto (GStrv) parts = g_strsplit (text, what, -1);
  g_free (text);
  return g_strjoinv ("********", parts);
}

char *
ims_text_redact (const char *text, GPtrArray *secrets)
{
  char *out = g_strdup (text ? text : "");
  for (guint i = 0; secrets && i < secrets->len; i++)
    {
      const char *sec = secrets->pdata[i];
      if (sec == NULL || *sec == '\0')
        continue;
      g_autofree char *xml = g_markup_escape_text (sec, -1);
      g_autoptr (GString) apos = g_string_new (xml);
      g_string_replace (apos, "&#39;", "&apos;", 0);
      out = ims_text_replace (out, sec);
      out = ims_text_replace (out, xml);
      out = ims_text_replace (out, apos->str);
    }
  return out;
}

gboolean
ims_text_secret_equal (const char *given, const char *secret)
{
  gsize a = strlen (given), b = strlen (secret);
  guchar diff = a != b;
  for (gsize i = 0; i < MAX (a, b); i++)
    diff |= (guchar) (i < a ? given[i] : 0) ^ (guchar) (i < b ? secret[i] : 0);
  return diff == 0;
}

char *
ims_text_from_html (const char *html)
{
  static const struct { const char *name; const char *text; } refs[] = {
    { "lt", "<" }, { "gt", ">" }, { "amp", "&" }, { "quot", "\"" }, { "apos", "'" },
    { "nbsp", " " },
  };
  g_autoptr (GString) out = g_string_new (NULL);
  const char *p = html;
  while (*p)
    {
      if (*p == '<')
        {
          const char *end = strchr (p, '>');
          if (end == NULL)
            break; /* an unterminated tag: the rest is markup */
          if (g_ascii_strncasecmp (p, "<br", 3) == 0 || g_ascii_strncasecmp (p, "</p", 3) == 0)
            g_string_append_c (out, ' ');
          p = end + 1;
          continue;
        }
      if (*p == '&')
        {
          const char *semi = strchr (p, ';');
          gsize n = semi ? (gsize) (semi - p - 1) : 0;
          gboolean done = FALSE;
          if (semi && n >= 2 && n <= 8 && p[1] == '#')
            {
              char *end;
              gboolean hex = p[2] == 'x' || p[2] == 'X';
              guint64 v = g_ascii_strtoull (p + (hex ? 3 : 2), &end, hex ? 16 : 10);
              if (end == semi && v > 0 && v <= 0x10ffff && g_unichar_validate ((gunichar) v))
                g_string_append_unichar (out, (gunichar) v);
              done = end == semi;
            }
          for (gsize i = 0; semi && !done && i < G_N_ELEMENTS (refs); i++)
            if (strlen (refs[i].name) == n && g_ascii_strncasecmp (p + 1, refs[i].name, n) == 0)
              {
                g_string_append (out, refs[i].text);
                done = TRUE;
              }
          if (done)
            {
              p = semi + 1;
              continue;
            }
        }
      g_string_append_c (out, *p++);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

GStrv
ims_text_chunks (const char *text, gsize max_bytes)
{
  g_return_val_if_fail (max_bytes >= 4, NULL);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  const char *p = text, *end = text + strlen (text);
  do
    {
      const char *cut = p + MIN ((gsize) (end - p), max_bytes);
      /* Back to the start of a character (a UTF-8 continuation byte is 10xxxxxx). */
      while (cut < end && cut > p && ((guchar) *cut & 0xc0) == 0x80)
        cut--;
      if (cut == p) /* not UTF-8 at all: cut anywhere */
        cut = p + MIN ((gsize) (end - p), max_bytes);
      g_autofree char *piece = g_strndup (p, (gsize) (cut - p));
      g_strv_builder_add (b, piece);
      p = cut;
    }
  while (p < end);
  return g_strv_builder_end (b);
}

gboolean
ims_text_plain_id (const char *id, gsize max)
{
  gsize n = strlen (id);
  if (n == 0 || n > max)
    return FALSE;
  for (const char *c = id; *c; c++)
    if ((guchar) *c <= ' ' || (guchar) *c >= 0x7f)
      return FALSE;
  return TRUE;
}
