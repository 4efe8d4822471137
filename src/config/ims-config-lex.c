/* ims-config-lex: the strict lexer for Asterisk config syntax (sections,
 * templates, #include, comments, quoting).  Asterisk's own parser
 * (main/config.c) is lenient; ours refuses anything it does not understand,
 * because a typo in a routing config should stop the daemon at start, not
 * silently change who gets called.
 */
#define G_LOG_DOMAIN "ims-config"

#include "ims-config-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
ims_config_read_file (const char *path, char **text, gsize *len, GError **error)
{
  /* O_NONBLOCK: opening a FIFO with no writer would wait forever. */
  int fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a regular file", path);
      close (fd);
      return FALSE;
    }
  /* Read one byte past the limit, so a file that grew since fstat is
   * refused too. */
  gsize cap = (gsize) MIN (st.st_size, (goffset) IMS_CONFIG_MAX_FILE_SIZE) + 1;
  g_autofree char *buf = g_malloc (cap + 1);
  gsize got = 0;
  while (got < cap)
    {
      ssize_t n = read (fd, buf + got, cap - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                       g_strerror (e));
          close (fd);
          return FALSE;
        }
      if (n == 0)
        break;
      got += (gsize) n;
    }
  close (fd);
  if (got > IMS_CONFIG_MAX_FILE_SIZE)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: larger than %d bytes", path,
                   IMS_CONFIG_MAX_FILE_SIZE);
      return FALSE;
    }
  buf[got] = '\0';
  *text = g_steal_pointer (&buf);
  *len = got;
  return TRUE;
}


void
ims_entry_free (Entry *e)
{
  g_free (e->key);
  g_free (e->value);
  g_free (e);
}

void
ims_section_free (Section *s)
{
  g_free (s->name);
  g_ptr_array_unref (s->bases);
  g_ptr_array_unref (s->entries);
  g_free (s);
}

void
ims_lexer_error (Lexer *lx, const char *file, guint line, const char *fmt, ...)
{
  if (lx->errors->len >= IMS_CONFIG_MAX_ERRORS)
    {
      lx->errors_dropped++;
      return;
    }
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (line > 0)
    g_ptr_array_add (lx->errors, g_strdup_printf ("%s:%u: %s", file, line, msg));
  else
    g_ptr_array_add (lx->errors, g_strdup_printf ("%s: %s", file, msg));
}

/* Printable, bounded rendering of user text for error messages. */
char *
ims_config_quote (const char *s)
{
  g_autoptr (GString) out = g_string_new ("'");
  gsize n = 0;
  for (const char *p = s; *p && n < 64; p++, n++)
    {
      guchar c = (guchar) *p;
      if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, (char) c);
    }
  if (strlen (s) > 64)
    g_string_append (out, "...");
  g_string_append_c (out, '\'');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
ims_config_is_name (const char *s, const char *extra)
{
  if (*s == '\0')
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr (extra, *p))
      return FALSE;
  return TRUE;
}

/* Removes the comment from @line (in place) and returns FALSE on an
 * unterminated quote.  A ';' starts a comment unless escaped as "\;" or inside
 * double quotes; ";--" opens a block comment that "--;" closes (Asterisk). */
static gboolean
ims_lexer_strip_comment (Lexer *lx, char *line)
{
  gboolean in_quote = FALSE;
  char *out = line;
  char *p = line;

  while (*p)
    {
      if (lx->in_block_comment)
        {
          char *end = strstr (p, "--;");
          if (end == NULL)
            break;
          lx->in_block_comment = FALSE;
          p = end + 3;
          continue;
        }
      if (*p == '\\' && p[1] != '\0')
        {
          *out++ = *p++;
          *out++ = *p++;
          continue;
        }
      if (*p == '"')
        in_quote = !in_quote;
      else if (*p == ';' && !in_quote)
        {
          if (g_str_has_prefix (p, ";--"))
            {
              lx->in_block_comment = TRUE;
              p += 3;
              continue;
            }
          break;
        }
      *out++ = *p++;
    }
  *out = '\0';
  return !in_quote;
}

/* Unquotes a value: "..." with \" \\ \; inside, or a bare value where "\;" is
 * a literal ';' and other backslashes are kept, as Asterisk does. */
static char *
ims_lexer_value (const char *raw, const char **why)
{
  g_autoptr (GString) v = g_string_new (NULL);
  const char *p = raw;

  if (*p == '"')
    {
      p++;
      while (*p && *p != '"')
        {
          if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == ';'))
            p++;
          g_string_append_c (v, *p++);
        }
      if (*p != '"')
        {
          *why = "unterminated double quote";
          return NULL;
        }
      p++;
      while (g_ascii_isspace (*p))
        p++;
      if (*p != '\0')
        {
          *why = "text after the closing double quote";
          return NULL;
        }
    }
  else
    {
      for (; *p; p++)
        {
          if (*p == '\\' && p[1] == ';')
            p++;
          g_string_append_c (v, *p);
        }
    }
  return g_string_free (g_steal_pointer (&v), FALSE);
}


static void
ims_lexer_include (Lexer *lx, const char *file, guint line, const char *arg)
{
  g_autofree char *name = NULL;
  const char *why = NULL;

  name = ims_lexer_value (arg, &why);
  if (name == NULL || *name == '\0')
    {
      ims_lexer_error (lx, file, line, "#include needs a file name%s%s",
                       why ? ": " : "", why ? why : "");
      return;
    }
  g_autofree char *dir = g_path_get_dirname (file);
  g_autofree char *path = g_path_is_absolute (name) ? g_strdup (name)
                                                    : g_build_filename (dir, name, NULL);
  if (lx->stack->len >= IMS_CONFIG_MAX_INCLUDE_DEPTH)
    {
      ims_lexer_error (lx, file, line, "#include nested deeper than %d files",
                       IMS_CONFIG_MAX_INCLUDE_DEPTH);
      return;
    }
  for (guint i = 0; i < lx->stack->len; i++)
    if (g_str_equal (lx->stack->pdata[i], path))
      {
        ims_lexer_error (lx, file, line, "#include loop: %s includes itself", path);
        return;
      }

  /* Past either limit (the byte limit below sets the count past its own):
   * said once, and no more files are read. */
  if (lx->includes >= IMS_CONFIG_MAX_INCLUDES)
    {
      if (lx->includes++ == IMS_CONFIG_MAX_INCLUDES)
        ims_lexer_error (lx, file, line, "more than %d files read by #include in all",
                         IMS_CONFIG_MAX_INCLUDES);
      return;
    }
  lx->includes++;

  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;
  if (!ims_config_read_file (path, &text, &len, &err))
    {
      ims_lexer_error (lx, file, line, "cannot #include: %s", err->message);
      return;
    }
  lx->included += len;
  if (lx->included > IMS_CONFIG_MAX_INCLUDED_SIZE)
    {
      ims_lexer_error (lx, file, line, "more than %d bytes read by #include in all",
                       IMS_CONFIG_MAX_INCLUDED_SIZE);
      lx->includes = IMS_CONFIG_MAX_INCLUDES + 1;
      return;
    }
  ims_lexer_text (lx, path, text, len);
}

static void
ims_lexer_section (Lexer *lx, const char *file, guint line, char *s)
{
  char *close = strchr (s, ']');
  if (close == NULL)
    {
      ims_lexer_error (lx, file, line, "section header without ']'");
      return;
    }
  *close = '\0';
  g_autofree char *name = g_strstrip (g_strdup (s + 1));
  char *rest = g_strstrip (close + 1);

  if (!ims_config_is_name (name, "_-."))
    {
      g_autofree char *q = ims_config_quote (name);
      ims_lexer_error (lx, file, line,
                       "bad section name %s (letters, digits, '_', '-' and '.' only)", q);
      return;
    }

  Section *sec = g_new0 (Section, 1);
  sec->name = g_steal_pointer (&name);
  sec->file = file;
  sec->line = line;
  sec->bases = g_ptr_array_new ();
  sec->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_entry_free);
  g_ptr_array_add (lx->sections, sec);
  lx->current = sec;
  if (!g_hash_table_contains (lx->defined, sec->name))
    g_hash_table_insert (lx->defined, sec->name, sec);

  if (*rest == '\0')
    return;
  gsize rl = strlen (rest);
  if (rest[0] != '(' || rest[rl - 1] != ')')
    {
      ims_lexer_error (lx, file, line, "unexpected text after section header [%s]", sec->name);
      return;
    }
  rest[rl - 1] = '\0';
  g_auto (GStrv) opts = g_strsplit (rest + 1, ",", -1);
  for (char **o = opts; *o; o++)
    {
      char *opt = g_strstrip (*o);
      if (g_str_equal (opt, "!"))
        sec->is_template = TRUE;
      else if (g_str_equal (opt, "+"))
        ims_lexer_error (lx, file, line, "section option '+' (append) is not supported");
      else if (ims_config_is_name (opt, "_-."))
        {
          /* Only a template read before this header: no loops. */
          Section *base = g_hash_table_lookup (lx->defined, opt);
          if (base != NULL && base != sec && base->is_template)
            g_ptr_array_add (sec->bases, base);
          else
            ims_lexer_error (lx, file, line, "[%s] uses template '%s', %s", sec->name, opt,
                             base == NULL  ? "which is not defined before it"
                             : base == sec ? "which is itself"
                                           : "which is not a template (add (!))");
        }
      else
        {
          g_autofree char *q = ims_config_quote (opt);
          ims_lexer_error (lx, file, line, "bad template name %s in [%s]", q, sec->name);
        }
    }
}

static void
ims_lexer_line (Lexer *lx, const char *file, guint line, char *s)
{
  if (!ims_lexer_strip_comment (lx, s))
    {
      ims_lexer_error (lx, file, line, "unterminated double quote");
      return;
    }
  g_strstrip (s);
  if (*s == '\0')
    return;

  if (*s == '#')
    {
      if (g_str_has_prefix (s, "#include") && g_ascii_isspace (s[8]))
        ims_lexer_include (lx, file, line, g_strstrip (s + 8));
      else if (g_str_has_prefix (s, "#exec") || g_str_has_prefix (s, "#tryinclude"))
        ims_lexer_error (lx, file, line, "%.*s is not supported (only #include)",
                         (int) strcspn (s, " \t"), s);
      else
        ims_lexer_error (lx, file, line, "unknown directive (only #include \"file\")");
      return;
    }
  if (*s == '[')
    {
      ims_lexer_section (lx, file, line, s);
      return;
    }

  char *eq = strchr (s, '=');
  if (eq == NULL)
    {
      g_autofree char *q = ims_config_quote (s);
      ims_lexer_error (lx, file, line, "expected 'key = value', got %s", q);
      return;
    }
  *eq = '\0';
  char *valraw = eq + 1;
  if (*valraw == '>')
    valraw++;
  g_autofree char *key = g_ascii_strdown (g_strstrip (s), -1);
  valraw = g_strstrip (valraw);

  if (!ims_config_is_name (key, "_-"))
    {
      g_autofree char *q = ims_config_quote (key);
      ims_lexer_error (lx, file, line, "bad key %s", q);
      return;
    }
  if (lx->current == NULL)
    {
      ims_lexer_error (lx, file, line, "'%s' outside any section", key);
      return;
    }
  const char *why = NULL;
  g_autofree char *value = ims_lexer_value (valraw, &why);
  if (value == NULL)
    {
      ims_lexer_error (lx, file, line, "%s: %s", key, why);
      return;
    }
  if (strlen (value) > IMS_CONFIG_MAX_VALUE)
    {
      ims_lexer_error (lx, file, line, "%s: value longer than %d bytes", key,
                       IMS_CONFIG_MAX_VALUE);
      return;
    }
  if (g_str_equal (key, "secret"))
    g_hash_table_add (lx->secret_files, (gpointer) file);

  Entry *e = g_new0 (Entry, 1);
  e->key = g_steal_pointer (&key);
  e->value = g_steal_pointer (&value);
  e->file = file;
  e->line = line;
  g_ptr_array_add (lx->current->entries, e);
}

void
ims_lexer_text (Lexer *lx, const char *path, const char *text, gsize len)
{
  const char *file = g_intern_string (path);
  g_ptr_array_add (lx->stack, g_strdup (file));
  lx->in_block_comment = FALSE;

  guint lineno = 0;
  const char *p = text;
  const char *end = text + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize n = (nl ? nl : end) - p;
      lineno++;
      if (n > 0 && p[n - 1] == '\r')
        n--;
      if (n > IMS_CONFIG_MAX_LINE)
        ims_lexer_error (lx, file, lineno, "line longer than %d bytes", IMS_CONFIG_MAX_LINE);
      else if (memchr (p, '\0', n) != NULL)
        ims_lexer_error (lx, file, lineno, "NUL byte in line");
      else if (!g_utf8_validate (p, n, NULL))
        ims_lexer_error (lx, file, lineno, "line is not valid UTF-8");
      else
        {
          g_autofree char *line = g_strndup (p, n);
          ims_lexer_line (lx, file, lineno, line);
        }
      p = nl ? nl + 1 : end;
    }
  if (lx->in_block_comment)
    ims_lexer_error (lx, file, lineno, "block comment ';--' not closed with '--;'");
  lx->in_block_comment = FALSE;
  g_ptr_array_remove_index (lx->stack, lx->stack->len - 1);
}

void
ims_lexer_init (Lexer *lx)
{
  lx->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_section_free);
  lx->errors = g_ptr_array_new_with_free_func (g_free);
  lx->errors_dropped = 0;
  lx->keys_listed = 0;
  lx->settings = 0;
  lx->defined = g_hash_table_new (g_str_hash, g_str_equal);
  lx->includes = 0;
  lx->included = 0;
  lx->warnings = g_ptr_array_new_with_free_func (g_free);
  lx->stack = g_ptr_array_new_with_free_func (g_free);
  lx->secret_files = g_hash_table_new (g_str_hash, g_str_equal);
  lx->current = NULL;
  lx->in_block_comment = FALSE;
}

void
ims_lexer_clear (Lexer *lx)
{
  g_clear_pointer (&lx->defined, g_hash_table_unref);
  g_clear_pointer (&lx->sections, g_ptr_array_unref);
  g_clear_pointer (&lx->errors, g_ptr_array_unref);
  g_clear_pointer (&lx->warnings, g_ptr_array_unref);
  g_clear_pointer (&lx->stack, g_ptr_array_unref);
  g_clear_pointer (&lx->secret_files, g_hash_table_unref);
}

gboolean
ims_lexer_take_errors (Lexer *lx, GError **error)
{
  if (lx->errors->len == 0)
    return TRUE;
  if (lx->errors_dropped)
    g_ptr_array_add (lx->errors, g_strdup_printf ("... and %u more error%s", lx->errors_dropped,
                                                     lx->errors_dropped == 1 ? "" : "s"));
  g_ptr_array_add (lx->errors, NULL);
  g_autofree char *all = g_strjoinv ("\n", (char **) lx->errors->pdata);
  g_ptr_array_remove_index (lx->errors, lx->errors->len - 1);
  g_set_error_literal (error, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_INVALID, all);
  return FALSE;
}

int
ims_config_lex (const char *path, const char *text, gsize len, GError **error)
{
  Lexer lx;
  ims_lexer_init (&lx);
  ims_lexer_text (&lx, path, text, len);
  int n = lx.sections->len;
  if (!ims_lexer_take_errors (&lx, error))
    n = -1;
  ims_lexer_clear (&lx);
  return n;
}

/* ---- templates ---- */

gboolean
ims_lexer_count_settings (Lexer *lx, const Section *sec, gsize n)
{
  if (lx->settings > IMS_CONFIG_MAX_SETTINGS)
    return FALSE;
  lx->settings += n;
  if (lx->settings <= IMS_CONFIG_MAX_SETTINGS)
    return TRUE;
  ims_lexer_error (lx, sec->file, sec->line,
                   "[%s]: more than %d settings in all once templates are applied", sec->name,
                   IMS_CONFIG_MAX_SETTINGS);
  return FALSE;
}

/* Prepends the entries of @sec's templates (recursively), so the section's own
 * lines come last and override.  A template's bases were read before it, so
 * there are no loops; each use counts as a setting, so wide templates of
 * empty templates cannot make the walk unbounded either. */
gboolean
ims_lexer_inherit (Lexer *lx, Section *sec, Section *from, GPtrArray *out, guint depth)
{
  if (depth > IMS_CONFIG_MAX_TEMPLATE_DEPTH)
    {
      ims_lexer_error (lx, sec->file, sec->line, "templates of [%s] nested more than %d deep",
                       sec->name, IMS_CONFIG_MAX_TEMPLATE_DEPTH);
      return TRUE;
    }
  for (guint i = 0; i < from->bases->len; i++)
    {
      Section *base = from->bases->pdata[i];
      if (!ims_lexer_count_settings (lx, sec, 1)
          || !ims_lexer_inherit (lx, sec, base, out, depth + 1))
        return FALSE;
      for (guint j = 0; j < base->entries->len; j++)
        {
          if (!ims_lexer_count_settings (lx, sec, 1))
            return FALSE;
          Entry *be = base->entries->pdata[j];
          Entry *e = g_new0 (Entry, 1);
          e->key = g_strdup (be->key);
          e->value = g_strdup (be->value);
          e->file = be->file;
          e->line = be->line;
          e->inherited = TRUE;
          g_ptr_array_add (out, e);
        }
    }
  return TRUE;
}
