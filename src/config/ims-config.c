/* ims-config: strict lexer for Asterisk config syntax plus the typed key table
 * for im.conf.  Asterisk's own parser (main/config.c) is lenient; ours refuses
 * anything it does not understand, because a typo in a routing config should
 * stop the daemon at start, not silently change who gets called.
 */
#define G_LOG_DOMAIN "ims-config"

#include "ims-config.h"
#include "ims-text.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK (ims-config-error-quark, ims_config_error)

#define MAX_FILE_SIZE (1024 * 1024)

typedef struct {
  char *key;
  char *value;
  const char *file; /* interned */
  guint line;
  gboolean inherited;
} Entry;

typedef struct {
  char *name;
  const char *file;
  guint line;
  gboolean is_template;
  GPtrArray *bases;   /* char* */
  GPtrArray *entries; /* Entry* */
} Section;

typedef struct {
  GPtrArray *sections;
  GPtrArray *errors;
  GPtrArray *warnings;
  GPtrArray *stack;       /* char*, files being read, for include loops */
  GHashTable *secret_files;
  Section *current;
  gboolean in_block_comment;
} Lexer;

static void
ims_entry_free (Entry *e)
{
  g_free (e->key);
  g_free (e->value);
  g_free (e);
}

static void
ims_section_free (Section *s)
{
  g_free (s->name);
  g_ptr_array_unref (s->bases);
  g_ptr_array_unref (s->entries);
  g_free (s);
}

static void G_GNUC_PRINTF (4, 5)
ims_lexer_error (Lexer *lx, const char *file, guint line, const char *fmt, ...)
{
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
static char *
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

static gboolean
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

static void ims_lexer_text (Lexer *lx, const char *file, const char *text, gsize len);

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

  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (path, &text, &len, &err))
    {
      ims_lexer_error (lx, file, line, "cannot #include: %s", err->message);
      return;
    }
  if (len > MAX_FILE_SIZE)
    {
      ims_lexer_error (lx, file, line, "cannot #include %s: larger than %d bytes", path,
                       MAX_FILE_SIZE);
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
  sec->bases = g_ptr_array_new_with_free_func (g_free);
  sec->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_entry_free);
  g_ptr_array_add (lx->sections, sec);
  lx->current = sec;

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
        g_ptr_array_add (sec->bases, g_strdup (opt));
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

static void
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

static void
ims_lexer_init (Lexer *lx)
{
  lx->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_section_free);
  lx->errors = g_ptr_array_new_with_free_func (g_free);
  lx->warnings = g_ptr_array_new_with_free_func (g_free);
  lx->stack = g_ptr_array_new_with_free_func (g_free);
  lx->secret_files = g_hash_table_new (g_str_hash, g_str_equal);
  lx->current = NULL;
  lx->in_block_comment = FALSE;
}

static void
ims_lexer_clear (Lexer *lx)
{
  g_clear_pointer (&lx->sections, g_ptr_array_unref);
  g_clear_pointer (&lx->errors, g_ptr_array_unref);
  g_clear_pointer (&lx->warnings, g_ptr_array_unref);
  g_clear_pointer (&lx->stack, g_ptr_array_unref);
  g_clear_pointer (&lx->secret_files, g_hash_table_unref);
}

static gboolean
ims_lexer_take_errors (Lexer *lx, GError **error)
{
  if (lx->errors->len == 0)
    return TRUE;
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

static Section *
ims_lexer_find (Lexer *lx, const char *name)
{
  for (guint i = 0; i < lx->sections->len; i++)
    {
      Section *s = lx->sections->pdata[i];
      if (g_str_equal (s->name, name))
        return s;
    }
  return NULL;
}

/* Prepends the entries of @sec's templates (recursively), so the section's own
 * lines come last and override. */
static void
ims_lexer_inherit (Lexer *lx, Section *sec, Section *from, GPtrArray *out, guint depth)
{
  if (depth > 8)
    {
      ims_lexer_error (lx, sec->file, sec->line, "templates of [%s] nested too deep (loop?)",
                       sec->name);
      return;
    }
  for (guint i = 0; i < from->bases->len; i++)
    {
      const char *bn = from->bases->pdata[i];
      Section *base = ims_lexer_find (lx, bn);
      if (base == NULL || !base->is_template)
        {
          ims_lexer_error (lx, from->file, from->line, "[%s] uses template '%s', %s", from->name,
                           bn, base ? "which is not a template (add (!))"
                                    : "which is not defined before it");
          continue;
        }
      ims_lexer_inherit (lx, sec, base, out, depth + 1);
      for (guint j = 0; j < base->entries->len; j++)
        {
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
}

/* ---- the key table ---- */

#define GEN(t, f) IMS_KEY_GENERAL, IMS_KEY_##t, G_STRUCT_OFFSET (ImsConfig, f)
#define WEB(t, f) IMS_KEY_WEBUSER, IMS_KEY_##t, G_STRUCT_OFFSET (ImsWebUser, f)
#define PEER(t, f) IMS_KEY_PEER, IMS_KEY_##t, G_STRUCT_OFFSET (ImsPeerConfig, f)

/* The single source of truth for im.conf keys: a new key is one row here
 * plus its field in ImsConfig or ImsPeerConfig. */
static const ImsConfigKey ims_config_key_table[] = {
  /* name, scope/type/field, min, max, choices, default, flags, help */
  { "controlsocket", GEN (PATH, controlsocket), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "UNIX socket of imctl (default: statedir/" IMS_VOCAB_SOCKET_NAME ")" },
  { "statedir", GEN (PATH, statedir), 0, 0, NULL, IMS_VOCAB_STATEDIR, IMS_KEY_RESTART,
    "directory of the state database and libpurple's files" },
  { "agibind", GEN (ADDRESS, agibind), 0, 0, NULL, "127.0.0.1:4573", IMS_KEY_RESTART,
    "address:port of the FastAGI server" },
  { "agiallow", GEN (PREFIXES, agiallow), 0, 0, " \t|\"'", "127.0.0.0/8, ::1", 0,
    "addresses or address/prefix allowed to use FastAGI" },
  { "agitimeout", GEN (INT, agitimeout), 1, 3600, NULL, "10", IMS_KEY_RESTART,
    "seconds a FastAGI client may stay silent" },
  { "outboxttl", GEN (INT, outboxttl), 1, 604800, NULL, "600", 0,
    "seconds a queued IMSend is kept" },
  { "outboxmax", GEN (INT, outboxmax), 1, 1000000, NULL, "1000", 0,
    "messages the outbox holds at most, per peer" },
  { "controltimeout", GEN (INT, controltimeout), 1, 3600, NULL, "60", 0,
    "seconds an idle imctl connection is kept" },
  { "controlgroup", GEN (NAME, controlgroup), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "group (e.g. asterisk) whose members may use the control socket" },
  { "controlgrouprights", GEN (ENUM, controlgrouprights), 0, 0, IMS_RIGHTS_CHOICES, "read", 0,
    "what controlgroup may do: read (show, status, watch), send, or admin (reload, debug)" },
  { "amihost", GEN (NAME, amihost), 0, 0, NULL, NULL, 0,
    "Asterisk manager host (unset: no AMI)" },
  { "amiport", GEN (INT, amiport), 1, 65535, NULL, "5038", 0, "Asterisk manager port" },
  { "amiuser", GEN (NAME, amiuser), 0, 0, NULL, NULL, 0, "manager.conf user" },
  { "amisecret", GEN (STRING, amisecret), 0, 0, NULL, NULL, IMS_KEY_SECRET,
    "manager.conf secret" },
  { "amitls", GEN (ENUM, amitls), 0, 0, IMS_YES_NO_CHOICES, "no", 0,
    "AMI over TLS (manager.conf tlsenable; amiport is then its tlsbindaddr port)" },
  { "amicafile", GEN (PATH, amicafile), 0, 0, NULL, NULL, 0,
    "PEM file of the CA that signed Asterisk's manager certificate (default: the system's)" },
  { "presencehints", GEN (ENUM, presencehints), 0, 0, IMS_YES_NO_CHOICES, "no", 0,
    "keep Custom:<peer>:<user> and CustomPresence:<peer>:<user> states up to date over AMI" },
  { "httpbind", GEN (ADDRESS, httpbind), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "address:port of the HTTP API and presence board (unset: off; loopback unless httpcert)" },
  { "httpcert", GEN (PATH, httpcert), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "PEM certificate (chain) for HTTPS" },
  { "httpkey", GEN (PATH, httpkey), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "PEM private key of httpcert" },
  { "httptimeout", GEN (INT, httptimeout), 1, 3600, NULL, "30", 0,
    "seconds an HTTP client may take to send a request, or keep a connection idle" },
  { "spooldir", GEN (PATH, spooldir), 0, 0, NULL, "/var/spool/asterisk/outgoing", 0,
    "Asterisk's outgoing call-file spool" },

  { "type", PEER (NAME, type), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "IM network: a word from NETWORKS, or another libpurple protocol" },
  { "username", PEER (STRING, username), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "the account the robot logs in as" },
  { "secret", PEER (STRING, secret), 0, 0, NULL, NULL, IMS_KEY_SECRET,
    "its password" },
  { "host", PEER (NAME, host), 0, 0, NULL, NULL, 0,
    "server to connect to (default: the network's, else the username's domain)" },
  { "port", PEER (INT, port), 1, 65535, NULL, NULL, 0,
    "server port (default: the network's)" },
  { "tls", PEER (ENUM, tls), 0, 0, "required|optional|off", "required", 0,
    "TLS to the server" },
  { "cafile", PEER (PATH, cafile), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "PEM file of a CA to trust" },
  { "cadir", PEER (PATH, cadir), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "directory of PEM CA files to trust" },
  { "resource", PEER (STRING, resource), 0, 0, NULL, "imstatus", IMS_KEY_NETWORK,
    "XMPP resource of the robot" },
  { "loginurl", PEER (STRING, loginurl), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "MSN login service (RST2.srf) (default: https://login.live.com/RST2.srf)" },
  { "pinginterval", PEER (INT, pinginterval), 1, 3600, NULL, "30", IMS_KEY_NETWORK,
    "seconds between keepalives (XMPP pings, the native protocols' keepalives)" },
  { "pingtimeout", PEER (INT, pingtimeout), 1, 600, NULL, "10", IMS_KEY_NETWORK,
    "seconds without a ping answer before reconnecting" },
  { "statusmessage", PEER (STRING, statusmessage), 0, 0, NULL, NULL, 0,
    "the robot's own status text" },
  { "subscribe", PEER (LIST, subscribe), 0, 0, " \t/|\"'", NULL, IMS_KEY_LIVE,
    "buddies to watch (repeatable, comma-separated)" },
  { "acceptfrom", PEER (LIST, acceptfrom), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "who may send the robot IMs (UserEvents), or any (default: subscribe and dialallow)" },
  { "sendallow", PEER (LIST, sendallow), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "IMSend recipients: ids, patterns with * and ?, or any (default: subscribe)" },
  { "presencehints", PEER (ENUM, presencehints), 0, 0, IMS_PEER_HINTS_CHOICES, "inherit",
    IMS_KEY_LIVE, "this peer's presencehints (inherit: the [general] value)" },
  { "activewhen", PEER (DEVICE, activewhen), 0, 0, NULL, NULL, 0,
    "device whose availability keeps the peer logged in, or always" },
  { "phone", PEER (DEVICE, phone), 0, 0, NULL, NULL, 0,
    "device whose use makes the robot show busy" },
  { "busymessage", PEER (STRING, busymessage), 0, 0, NULL, NULL, 0,
    "status text while the phone is in use" },
  { "dialallow", PEER (LIST, dialallow), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "senders who may ask for click-to-dial" },
  { "dialsecret", PEER (STRING, dialsecret), 0, 0, NULL, NULL, IMS_KEY_SECRET | IMS_KEY_LIVE, "word a click-to-dial request must carry" },
  { "dialfrom", PEER (DEVICE, dialfrom), 0, 0, NULL, NULL, IMS_KEY_LIVE,
    "local phone rung first by click-to-dial" },
  { "dialcontext", PEER (NAME, dialcontext), 0, 0, NULL, NULL, IMS_KEY_LIVE,
    "dialplan context the target is dialled in" },

  { "type", WEB (NAME, type), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "webuser: a user of the HTTP API and board, not an IM peer" },
  { "secret", WEB (STRING, secret), 0, 0, NULL, NULL, IMS_KEY_REQUIRED | IMS_KEY_SECRET,
    "the user's password (HTTP Basic or the board's login form)" },
  { "peers", WEB (LIST, peers), 0, 0, " \t/|\"';", NULL, 0,
    "the peers the user sees (default: all)" },
  { "send", WEB (ENUM, send), 0, 0, IMS_YES_NO_CHOICES, "no", 0, "may send IMs" },
  { "dial", WEB (ENUM, dial), 0, 0, IMS_YES_NO_CHOICES, "no", 0, "may use click-to-dial" },
  { "phone", WEB (DEVICE, phone), 0, 0, NULL, NULL, 0,
    "the device the user's click-to-dial rings first" },
};
G_STATIC_ASSERT (IMS_TLS_REQUIRED == 0 && IMS_TLS_OPTIONAL == 1 && IMS_TLS_OFF == 2);
/* ENUM keys are stored as an int at the field's offset. */
G_STATIC_ASSERT (sizeof (ImsTlsMode) == sizeof (int) && sizeof (ImsYesNo) == sizeof (int)
                 && sizeof (ImsGroupRights) == sizeof (int) && sizeof (ImsPeerHints) == sizeof (int));

#undef GEN
#undef WEB
#undef PEER

const ImsConfigKey *
ims_config_keys (gsize *n_keys)
{
  *n_keys = G_N_ELEMENTS (ims_config_key_table);
  return ims_config_key_table;
}

static const ImsConfigKey *
ims_config_key (ImsKeyScope scope, const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    if (ims_config_key_table[i].scope == scope && g_str_equal (ims_config_key_table[i].name, name))
      return &ims_config_key_table[i];
  return NULL;
}

static char *
ims_config_key_names (ImsKeyScope scope)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    if (ims_config_key_table[i].scope == scope)
      g_string_append_printf (s, "%s%s", s->len ? " " : "", ims_config_key_table[i].name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void ims_webuser_free (ImsWebUser *u);

static gboolean
ims_key_is_list (const ImsConfigKey *k)
{
  return k->type == IMS_KEY_LIST || k->type == IMS_KEY_PREFIXES;
}

static gboolean
ims_key_is_string (const ImsConfigKey *k)
{
  return !ims_key_is_list (k) && k->type != IMS_KEY_INT && k->type != IMS_KEY_ENUM;
}

/* Does @k apply to a peer of @type?  A network key only where the type's
 * network reads it; without a registry (imctl), every key. */
static gboolean
ims_key_applies (const ImsConfig *c, const ImsConfigKey *k, const char *type)
{
  if (!(k->flags & IMS_KEY_NETWORK) || type == NULL || c->networks == NULL)
    return TRUE;
  return ims_network_reads (ims_network_find (c->networks, type), k->name);
}

/* An IP address literal, with an optional :port ([v6]:port for IPv6). */
static gboolean
ims_config_check_address (const char *value)
{
  g_autofree char *host = NULL;
  const char *port = NULL;
  if (value[0] == '[')
    {
      const char *close = strchr (value, ']');
      if (close == NULL || (close[1] != '\0' && close[1] != ':'))
        return FALSE;
      host = g_strndup (value + 1, close - value - 1);
      port = close[1] == ':' ? close + 2 : NULL;
    }
  else
    {
      const char *colon = strchr (value, ':');
      if (colon && strchr (colon + 1, ':'))
        return g_hostname_is_ip_address (value); /* bare IPv6 */
      host = colon ? g_strndup (value, colon - value) : g_strdup (value);
      port = colon ? colon + 1 : NULL;
    }
  guint64 n;
  if (port && !g_ascii_string_to_unsigned (port, 10, 0, 65535, &n, NULL)) /* 0: any free port */
    return FALSE;
  return g_hostname_is_ip_address (host);
}

/* "addr" or "addr/prefix" with a prefix that fits the address family. */
static gboolean
ims_config_check_prefix (const char *item)
{
  const char *slash = strchr (item, '/');
  g_autofree char *addr = slash ? g_strndup (item, slash - item) : g_strdup (item);
  if (!g_hostname_is_ip_address (addr))
    return FALSE;
  if (slash == NULL)
    return TRUE;
  guint64 bits;
  guint64 max = strchr (addr, ':') ? 128 : 32;
  return g_ascii_string_to_unsigned (slash + 1, 10, 0, max, &bits, NULL);
}

/* Stores one entry into @base per its row; returns an error text or NULL. */
static char *
ims_config_apply (const ImsConfigKey *k, gpointer base, const char *value, gboolean *seen)
{
  gpointer field = G_STRUCT_MEMBER_P (base, k->offset);

  if (!ims_key_is_list (k) && *seen)
    return g_strdup_printf ("%s given twice (it takes one value)", k->name);
  *seen = TRUE;

  switch (k->type)
    {
    case IMS_KEY_STRING:
    case IMS_KEY_PATH:
    case IMS_KEY_NAME:
    case IMS_KEY_DEVICE:
    case IMS_KEY_ADDRESS:
      if (*value == '\0')
        return g_strdup_printf ("%s: empty value", k->name);
      if ((k->type == IMS_KEY_NAME && !ims_config_is_name (value, "_-.:"))
          || (k->type == IMS_KEY_DEVICE && !ims_config_is_name (value, "_-.:/@+"))
          || (k->type == IMS_KEY_ADDRESS && !ims_config_check_address (value)))
        {
          g_autofree char *q = ims_config_quote (value);
          return g_strdup_printf ("%s: bad value %s%s", k->name, q,
                                  k->type == IMS_KEY_ADDRESS
                                      ? " (an IP address with an optional :port)"
                                      : "");
        }
      if (k->type == IMS_KEY_PATH && strchr (value, '\n'))
        return g_strdup_printf ("%s: bad path", k->name);
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return NULL;
    case IMS_KEY_INT:
      {
        gint64 v = 0;
        if (!g_ascii_string_to_signed (value, 10, k->min, k->max, &v, NULL))
          {
            g_autofree char *q = ims_config_quote (value);
            return g_strdup_printf ("%s: %s is not a number from %d to %d", k->name, q, k->min,
                                    k->max);
          }
        *(int *) field = (int) v;
        return NULL;
      }
    case IMS_KEY_ENUM:
      {
        g_auto (GStrv) choices = g_strsplit (k->choices, "|", -1);
        for (int i = 0; choices[i]; i++)
          if (g_ascii_strcasecmp (choices[i], value) == 0)
            {
              *(int *) field = i;
              return NULL;
            }
        g_autofree char *q = ims_config_quote (value);
        g_autofree char *alts = g_strjoinv (", ", choices);
        return g_strdup_printf ("%s: %s is not one of %s", k->name, q, alts);
      }
    case IMS_KEY_LIST:
    case IMS_KEY_PREFIXES:
      {
        GPtrArray **list = field;
        if (*list == NULL)
          *list = g_ptr_array_new_with_free_func (g_free);
        g_auto (GStrv) items = g_strsplit (value, ",", -1);
        for (char **it = items; *it; it++)
          {
            char *item = g_strstrip (*it);
            if (*item == '\0' || strpbrk (item, k->choices) != NULL
                || (k->type == IMS_KEY_PREFIXES && !ims_config_check_prefix (item)))
              {
                g_autofree char *q = ims_config_quote (item);
                return g_strdup_printf ("%s: bad list item %s%s", k->name, q,
                                        k->type == IMS_KEY_PREFIXES
                                            ? " (an IP address or address/prefix)"
                                            : "");
              }
            gboolean dup = FALSE;
            for (guint i = 0; i < (*list)->len && !dup; i++)
              dup = g_str_equal ((*list)->pdata[i], item);
            if (dup)
              continue;
            if ((*list)->len >= IMS_CONFIG_MAX_SUBSCRIBE)
              return g_strdup_printf ("%s: more than %d items", k->name, IMS_CONFIG_MAX_SUBSCRIBE);
            g_ptr_array_add (*list, g_strdup (item));
          }
        return NULL;
      }
    }
  g_assert_not_reached ();
}

/* Fills every key of @scope that was not given from its default; lists are
 * never left NULL. */
static void
ims_config_apply_defaults (ImsKeyScope scope, gpointer base, const gboolean *seen)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != scope)
        continue;
      GPtrArray **list = G_STRUCT_MEMBER_P (base, k->offset);
      if (k->def && !seen[i])
        {
          gboolean again = FALSE;
          g_autofree char *why = ims_config_apply (k, base, k->def, &again);
          g_assert (why == NULL); /* the table's own defaults are valid */
        }
      if (ims_key_is_list (k) && *list == NULL)
        *list = g_ptr_array_new_with_free_func (g_free);
    }
}

static ImsPeerConfig *
ims_peer_config_new (Section *sec)
{
  ImsPeerConfig *p = g_new0 (ImsPeerConfig, 1);
  p->name = g_strdup (sec->name);
  p->file = g_strdup (sec->file);
  p->line = sec->line;
  return p;
}

static void
ims_config_section (Lexer *lx, ImsConfig *c, Section *sec)
{
  gboolean general = g_str_equal (sec->name, "general");
  if (general && (sec->is_template || sec->bases->len))
    ims_lexer_error (lx, sec->file, sec->line, "[general] cannot be or use a template");

  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_entry_free);
  ims_lexer_inherit (lx, sec, sec, entries, 0);

  /* type = webuser makes a user of the board, not an IM peer (the
   * section's own type wins over a template's). */
  const char *type = NULL;
  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (((Entry *) entries->pdata[i])->key, "type"))
      type = ((Entry *) entries->pdata[i])->value;
  for (guint i = 0; i < sec->entries->len; i++)
    if (g_str_equal (((Entry *) sec->entries->pdata[i])->key, "type"))
      type = ((Entry *) sec->entries->pdata[i])->value;
  gboolean webuser = !general && type && g_ascii_strcasecmp (type, "webuser") == 0;
  ImsKeyScope scope = general ? IMS_KEY_GENERAL : webuser ? IMS_KEY_WEBUSER : IMS_KEY_PEER;
  g_autoptr (ImsPeerConfig) peer = general || webuser ? NULL : ims_peer_config_new (sec);
  ImsWebUser *user = NULL;
  if (webuser)
    {
      user = g_new0 (ImsWebUser, 1);
      user->name = g_strdup (sec->name);
      user->file = g_strdup (sec->file);
      user->line = sec->line;
      g_ptr_array_add (c->webusers, user);
      g_hash_table_insert (c->webuser_index, user->name, user);
    }
  gpointer base = general ? (gpointer) c : webuser ? (gpointer) user : (gpointer) peer;
  /* The section's own value of a single-valued key replaces the template's. */
  for (guint i = 0; i < sec->entries->len; i++)
    {
      Entry *own = sec->entries->pdata[i];
      const ImsConfigKey *k = ims_config_key (scope, own->key);
      if (k && !ims_key_is_list (k))
        for (guint j = entries->len; j-- > 0;)
          {
            Entry *e = entries->pdata[j];
            if (e->inherited && g_str_equal (e->key, own->key))
              g_ptr_array_remove_index (entries, j);
          }
    }
  for (guint i = 0; i < sec->entries->len; i++)
    {
      Entry *own = sec->entries->pdata[i];
      Entry *e = g_new0 (Entry, 1);
      *e = *own;
      e->key = g_strdup (own->key);
      e->value = g_strdup (own->value);
      g_ptr_array_add (entries, e);
    }

  gboolean seen[G_N_ELEMENTS (ims_config_key_table)] = { FALSE };
  const Entry *where[G_N_ELEMENTS (ims_config_key_table)] = { NULL };
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = entries->pdata[i];
      const ImsConfigKey *k = ims_config_key (scope, e->key);
      if (k == NULL)
        {
          g_autofree char *names = ims_config_key_names (scope);
          ims_lexer_error (lx, e->file, e->line, "unknown key '%s' in [%s] (known: %s)", e->key,
                           sec->name, names);
          continue;
        }
      gsize idx = k - ims_config_key_table;
      where[idx] = e;
      g_autofree char *why = ims_config_apply (k, base, e->value, &seen[idx]);
      if (why)
        ims_lexer_error (lx, e->file, e->line, "%s", why);
    }
  ims_config_apply_defaults (scope, base, seen);

  if (general)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != scope)
        continue;
      if ((k->flags & IMS_KEY_REQUIRED) && !seen[i])
        ims_lexer_error (lx, sec->file, sec->line, "%s [%s] has no '%s'",
                         webuser ? "webuser" : "peer", sec->name, k->name);
      if (webuser)
        continue;
      if (seen[i] && !ims_key_applies (c, k, peer->type))
        {
          g_autofree char *types = ims_network_types_reading (c->networks, k->name);
          ims_lexer_error (lx, where[i]->file, where[i]->line,
                           "%s does not apply to type=%s (only to %s)", k->name, peer->type, types);
        }
    }
  if (webuser)
    return;
  /* Keys that only make sense together. */
  if (peer->dialallow->len && (!peer->dialsecret || !peer->dialfrom || !peer->dialcontext))
    ims_lexer_error (lx, sec->file, sec->line,
                     "peer [%s]: dialallow needs dialsecret, dialfrom and dialcontext", sec->name);
  for (guint i = 0; i < c->peers->len; i++)
    {
      ImsPeerConfig *other = c->peers->pdata[i];
      if (other->username && peer->username && other->type && peer->type
          && g_str_equal (other->type, peer->type) && g_str_equal (other->username, peer->username)
          && g_strcmp0 (other->host, peer->host) == 0)
        ims_lexer_error (lx, sec->file, sec->line, "peer [%s] logs in as the same account as [%s]",
                         sec->name, other->name);
    }
  g_hash_table_insert (c->peer_index, peer->name, peer);
  g_ptr_array_add (c->peers, g_steal_pointer (&peer));
}

static void
ims_config_check_secret_files (Lexer *lx)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, lx->secret_files);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      struct stat st;
      if (stat (key, &st) == 0 && (st.st_mode & S_IROTH))
        g_ptr_array_add (lx->warnings,
                         g_strdup_printf ("%s: holds a secret and is readable by other users "
                                          "(mode %04o); run: chmod o-rwx %s",
                                          (const char *) key, st.st_mode & 07777,
                                          (const char *) key));
    }
}

ImsConfig *
ims_config_parse (const char *path, const char *text, gsize len,
                  const ImsNetwork *const *networks, GError **error)
{
  Lexer lx;
  ims_lexer_init (&lx);
  ims_lexer_text (&lx, path, text, len);

  g_autoptr (ImsConfig) c = g_new0 (ImsConfig, 1);
  c->path = g_strdup (path);
  c->networks = networks;
  c->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_peer_config_free);
  c->webusers = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_webuser_free);
  c->warnings = g_ptr_array_new_with_free_func (g_free);
  c->peer_index = g_hash_table_new (g_str_hash, g_str_equal);
  c->webuser_index = g_hash_table_new (g_str_hash, g_str_equal);

  gboolean have_general = FALSE;
  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < lx.sections->len; i++)
    {
      Section *sec = lx.sections->pdata[i];
      Section *first = g_hash_table_lookup (names, sec->name);
      if (first)
        {
          ims_lexer_error (&lx, sec->file, sec->line, "section [%s] defined twice (first at %s:%u)",
                           sec->name, first->file, first->line);
          continue;
        }
      g_hash_table_insert (names, sec->name, sec);
      if (g_str_equal (sec->name, "general") && sec->is_template)
        ims_lexer_error (&lx, sec->file, sec->line, "[general] cannot be or use a template");
      else if (!sec->is_template)
        {
          have_general = have_general || g_str_equal (sec->name, "general");
          ims_config_section (&lx, c, sec);
        }
    }
  g_hash_table_unref (names);
  if (!have_general)
    {
      gboolean seen[G_N_ELEMENTS (ims_config_key_table)] = { FALSE };
      ims_config_apply_defaults (IMS_KEY_GENERAL, c, seen);
    }
  /* The one default that follows another key. */
  if (c->controlsocket == NULL)
    c->controlsocket = g_build_filename (c->statedir, IMS_VOCAB_SOCKET_NAME, NULL);
  if (c->amihost && (!c->amiuser || !c->amisecret))
    ims_lexer_error (&lx, path, 0, "[general] amihost needs amiuser and amisecret");
  for (guint i = 0; i < c->peers->len && !c->amihost; i++)
    {
      ImsPeerConfig *p = c->peers->pdata[i];
      if (ims_peer_config_has_activewhen_device (p) || p->phone)
        ims_lexer_error (&lx, p->file, p->line,
                         "peer [%s]: %s needs the AMI settings in [general] (amihost, amiuser, "
                         "amisecret)",
                         p->name, p->phone ? "phone" : "activewhen");
    }
  for (guint i = 0; i < c->webusers->len; i++)
    {
      ImsWebUser *u = c->webusers->pdata[i];
      for (guint j = 0; j < u->peers->len; j++)
        if (ims_config_find_peer (c, u->peers->pdata[j]) == NULL)
          ims_lexer_error (&lx, u->file, u->line, "webuser [%s]: peers names no peer '%s'",
                           u->name, (const char *) u->peers->pdata[j]);
    }
  if (c->httpbind)
    {
      /* Passwords and presence cross the network only under TLS. */
      g_autofree char *host = g_strdup (c->httpbind[0] == '[' ? c->httpbind + 1 : c->httpbind);
      char *end = strrchr (host, c->httpbind[0] == '[' ? ']' : ':');
      if (end && (c->httpbind[0] == '[' || strchr (host, ':') == end))
        *end = '\0';
      gboolean loopback = g_str_has_prefix (host, "127.") || g_str_equal (host, "::1");
      if (!loopback && !(c->httpcert && c->httpkey))
        ims_lexer_error (&lx, path, 0, "[general] httpbind %s is not loopback: it needs httpcert "
                         "and httpkey (HTTPS)", c->httpbind);
    }
  if ((c->httpcert != NULL) != (c->httpkey != NULL))
    ims_lexer_error (&lx, path, 0, "[general] httpcert and httpkey go together");
  for (guint i = 0; i < c->peers->len; i++)
    {
      ImsPeerConfig *p = c->peers->pdata[i];
      const ImsNetwork *net = ims_network_find (c->networks, p->type);
      if (net && p->username)
        {
          /* The network's own rules for an account: said by its descriptor. */
          g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
          g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
          if (net->id_valid && !net->id_valid (p->username))
            g_ptr_array_add (errors, g_strdup_printf ("username: %s", net->id_rule));
          else if (net->check_account)
            {
              ImsAccount acct;
              g_autofree char *id = NULL, *domain = NULL;
              ims_config_peer_account (c, p, &acct, &id, &domain);
              net->check_account (&acct, errors, warnings);
            }
          for (guint j = 0; j < errors->len; j++)
            ims_lexer_error (&lx, p->file, p->line, "[%s] %s", p->name,
                             (const char *) errors->pdata[j]);
          for (guint j = 0; j < warnings->len; j++)
            g_ptr_array_add (lx.warnings, g_strdup_printf ("%s:%u: [%s] %s", p->file, p->line,
                                                           p->name,
                                                           (const char *) warnings->pdata[j]));
        }
      if (net && net->cleartext)
        {
          g_ptr_array_add (lx.warnings,
                           g_strdup_printf ("%s:%u: [%s] type=%s has no TLS: %s",
                                            p->file, p->line, p->name, p->type, net->cleartext));
          continue; /* tls = ... means nothing here */
        }
      if (p->tls == IMS_TLS_OPTIONAL)
        g_ptr_array_add (lx.warnings,
                         g_strdup_printf ("%s:%u: [%s] tls = optional: a man in the middle can "
                                          "strip TLS and read the password and every presence; "
                                          "use tls = required",
                                          p->file, p->line, p->name));
      else if (p->tls == IMS_TLS_OFF)
        g_ptr_array_add (lx.warnings,
                         g_strdup_printf ("%s:%u: [%s] tls = off: the password and every "
                                          "presence travel in clear",
                                          p->file, p->line, p->name));
      if ((p->cafile || p->cadir) && c->peers->len > 1)
        g_ptr_array_add (lx.warnings,
                         g_strdup_printf ("%s:%u: [%s] %s is trusted for every peer, not only "
                                          "this one (libpurple keeps one trust store)",
                                          p->file, p->line, p->name,
                                          p->cafile ? "cafile" : "cadir"));
    }
  ims_config_check_secret_files (&lx);

  gboolean ok = ims_lexer_take_errors (&lx, error);
  for (guint i = 0; i < lx.warnings->len; i++)
    g_ptr_array_add (c->warnings, g_strdup (lx.warnings->pdata[i]));
  ims_lexer_clear (&lx);
  return ok ? g_steal_pointer (&c) : NULL;
}

ImsConfig *
ims_config_load (const char *path, const ImsNetwork *const *networks, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;

  if (!g_file_get_contents (path, &text, &len, &err))
    {
      g_set_error (error, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_IO, "%s", err->message);
      return NULL;
    }
  if (len > MAX_FILE_SIZE)
    {
      g_set_error (error, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_IO, "%s: larger than %d bytes", path,
                   MAX_FILE_SIZE);
      return NULL;
    }
  return ims_config_parse (path, text, len, networks, error);
}

/* ---- free, copy, equal: driven by the table ---- */

static void
ims_config_fields_free (ImsKeyScope scope, gpointer base)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != scope)
        continue;
      gpointer field = G_STRUCT_MEMBER_P (base, k->offset);
      if (ims_key_is_list (k))
        g_clear_pointer ((GPtrArray **) field, g_ptr_array_unref);
      else if (ims_key_is_string (k))
        {
          char **s = field;
          if (*s && (k->flags & IMS_KEY_SECRET))
            memset (*s, 0, strlen (*s));
          g_clear_pointer (s, g_free);
        }
    }
}

static GPtrArray *
ims_config_list_copy (const GPtrArray *list)
{
  GPtrArray *c = g_ptr_array_new_full (list ? list->len : 0, g_free);
  for (guint i = 0; list && i < list->len; i++)
    g_ptr_array_add (c, g_strdup (list->pdata[i]));
  return c;
}

static gboolean
ims_config_list_equal (const GPtrArray *a, const GPtrArray *b)
{
  guint na = a ? a->len : 0, nb = b ? b->len : 0;
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (!g_str_equal (a->pdata[i], b->pdata[i]))
      return FALSE;
  return TRUE;
}

static gboolean
ims_config_field_equal (const ImsConfigKey *k, gconstpointer a, gconstpointer b)
{
  gconstpointer fa = G_STRUCT_MEMBER_P (a, k->offset), fb = G_STRUCT_MEMBER_P (b, k->offset);
  if (ims_key_is_list (k))
    return ims_config_list_equal (*(GPtrArray *const *) fa, *(GPtrArray *const *) fb);
  if (ims_key_is_string (k))
    return g_strcmp0 (*(char *const *) fa, *(char *const *) fb) == 0;
  return *(const int *) fa == *(const int *) fb;
}

static void
ims_webuser_free (ImsWebUser *u)
{
  if (u == NULL)
    return;
  g_free (u->name);
  g_free (u->file);
  ims_config_fields_free (IMS_KEY_WEBUSER, u);
  g_free (u);
}

void
ims_peer_config_free (ImsPeerConfig *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->file);
  ims_config_fields_free (IMS_KEY_PEER, p);
  g_free (p);
}

ImsPeerConfig *
ims_peer_config_copy (const ImsPeerConfig *p)
{
  ImsPeerConfig *c = g_new0 (ImsPeerConfig, 1);
  *c = *p; /* ints, enums and line */
  c->name = g_strdup (p->name);
  c->file = g_strdup (p->file);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != IMS_KEY_PEER)
        continue;
      gpointer dst = G_STRUCT_MEMBER_P (c, k->offset);
      gconstpointer src = G_STRUCT_MEMBER_P (p, k->offset);
      if (ims_key_is_list (k))
        *(GPtrArray **) dst = ims_config_list_copy (*(GPtrArray *const *) src);
      else if (ims_key_is_string (k))
        *(char **) dst = g_strdup (*(char *const *) src);
    }
  return c;
}

ImsPeerChange
ims_peer_config_diff (const ImsPeerConfig *a, const ImsPeerConfig *b)
{
  ImsPeerChange change = IMS_PEER_SAME;
  if (!g_str_equal (a->name, b->name))
    return IMS_PEER_LOGIN;
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != IMS_KEY_PEER || ims_config_field_equal (k, a, b))
        continue;
      if (!(k->flags & IMS_KEY_LIVE))
        return IMS_PEER_LOGIN;
      change = IMS_PEER_LIVE;
    }
  return change;
}

gboolean
ims_peer_config_equal (const ImsPeerConfig *a, const ImsPeerConfig *b)
{
  return ims_peer_config_diff (a, b) == IMS_PEER_SAME;
}

char *
ims_config_restart_changes (const ImsConfig *a, const ImsConfig *b)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope == IMS_KEY_GENERAL && (k->flags & IMS_KEY_RESTART)
          && !ims_config_field_equal (k, a, b))
        g_string_append_printf (s, "%s%s", s->len ? " " : "", k->name);
    }
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : NULL;
}

GPtrArray *
ims_config_secrets (const ImsConfig *c)
{
  GPtrArray *out = g_ptr_array_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (!(k->flags & IMS_KEY_SECRET))
        continue;
      if (k->scope == IMS_KEY_GENERAL)
        {
          const char *v = G_STRUCT_MEMBER (const char *, c, k->offset);
          if (v && *v)
            g_ptr_array_add (out, (gpointer) v);
          continue;
        }
      GPtrArray *sections = k->scope == IMS_KEY_PEER ? c->peers : c->webusers;
      for (guint j = 0; j < sections->len; j++)
        {
          const char *v = G_STRUCT_MEMBER (const char *, sections->pdata[j], k->offset);
          if (v && *v)
            g_ptr_array_add (out, (gpointer) v);
        }
    }
  return out;
}

void
ims_config_free (ImsConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->path);
  ims_config_fields_free (IMS_KEY_GENERAL, c);
  g_clear_pointer (&c->peer_index, g_hash_table_unref);
  g_clear_pointer (&c->webuser_index, g_hash_table_unref);
  g_clear_pointer (&c->peers, g_ptr_array_unref);
  g_clear_pointer (&c->webusers, g_ptr_array_unref);
  g_clear_pointer (&c->warnings, g_ptr_array_unref);
  g_free (c);
}

gboolean
ims_peer_config_has_activewhen_device (const ImsPeerConfig *p)
{
  return p->activewhen && g_ascii_strcasecmp (p->activewhen, "always") != 0;
}

/* By name, from the index the parser builds (an HTTP event stream looks its
 * user up for every change: no linear search there). */
const ImsPeerConfig *
ims_config_find_peer (const ImsConfig *c, const char *name)
{
  return g_hash_table_lookup (c->peer_index, name);
}

const ImsWebUser *
ims_config_find_webuser (const ImsConfig *c, const char *name)
{
  return g_hash_table_lookup (c->webuser_index, name);
}

gboolean
ims_webuser_sees (const ImsWebUser *u, const char *peer)
{
  if (u->peers->len == 0)
    return TRUE;
  for (guint i = 0; i < u->peers->len; i++)
    if (g_str_equal (u->peers->pdata[i], peer))
      return TRUE;
  return FALSE;
}

char *
ims_config_own_id (const ImsPeerConfig *p, gboolean bare_ids)
{
  /* The seed's `username=pinkys-asterisk` with a host is pinkys-asterisk@host
   * on XMPP, but a screen name on AIM. */
  g_autofree char *base = bare_ids || strchr (p->username, '@') || p->host == NULL
                              ? g_strdup (p->username)
                              : g_strdup_printf ("%s@%s", p->username, p->host);
  const char *slash = strchr (base, '/');
  g_autofree char *bare = slash ? g_strndup (base, slash - base) : g_strdup (base);
  return g_utf8_strdown (bare, -1);
}

void
ims_config_peer_account (const ImsConfig *c, const ImsPeerConfig *p, ImsAccount *account,
                         char **id, char **domain)
{
  const ImsNetwork *net = ims_network_find (c->networks, p->type);
  gboolean bare_ids = net && net->bare_ids;
  *id = ims_config_own_id (p, bare_ids);
  const char *at = bare_ids ? NULL : strrchr (*id, '@');
  *domain = at ? g_strdup (at + 1) : NULL;
  *account = (ImsAccount){
    .peer = p->name,
    .type = p->type,
    .username = p->username,
    .id = *id,
    .domain = *domain,
    .secret = p->secret,
    .host = p->host ? p->host : net ? net->default_host : NULL,
    .port = p->port,
    .tls = p->tls,
    .cafile = p->cafile,
    .cadir = p->cadir,
    .resource = p->resource,
    .pinginterval = p->pinginterval,
    .pingtimeout = p->pingtimeout,
    .statusmessage = p->statusmessage,
    .loginurl = p->loginurl,
  };
}

const char *
ims_tls_mode_to_string (ImsTlsMode mode)
{
  switch (mode)
    {
    case IMS_TLS_REQUIRED: return "required";
    case IMS_TLS_OPTIONAL: return "optional";
    case IMS_TLS_OFF: return "off";
    }
  return "?";
}
