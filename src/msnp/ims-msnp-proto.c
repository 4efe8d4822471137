/* ims-msnp-proto: see the header. */
#define G_LOG_DOMAIN "ims-msnp"

#include "ims-msnp-proto.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "ims-text.h"

G_DEFINE_QUARK (ims-msnp-error-quark, ims_msnp_error)

/* Server commands followed by a payload of the size their last word says. */
static const char *const payload_cmds[] = { "MSG", "UBX", "GCF", "ADL", "RML", "NOT", "UUN",
                                            "UBN", "FQY", "NFY", "PUT", "SDG", "IPG", "UUX" };

static gboolean
is_payload_cmd (const char *cmd)
{
  for (gsize i = 0; i < G_N_ELEMENTS (payload_cmds); i++)
    if (strcmp (cmd, payload_cmds[i]) == 0)
      return TRUE;
  return FALSE;
}

/* The byte count of a payload command's line, -1 when none. */
static gssize
payload_size (const char *line, gsize n)
{
  if (n < 3)
    return -1;
  char cmd[4] = { line[0], line[1], line[2], 0 };
  if (!is_payload_cmd (cmd) || (n > 3 && line[3] != ' '))
    return -1;
  const char *last = g_strrstr_len (line, (gssize) n, " ");
  if (last == NULL)
    return -1;
  char *end;
  guint64 v = g_ascii_strtoull (last + 1, &end, 10);
  if (end != line + n || end == last + 1)
    return -1;
  /* "ADL 5 OK", "UUX 5 0" are replies, not payload lines: a count of 0 is
   * harmless either way. */
  return v > IMS_MSNP_MAX_PAYLOAD ? G_MAXSSIZE : (gssize) v;
}

gssize
ims_msnp_frame_len (const guint8 *buf, gsize len, GError **error)
{
  const guint8 *cr = memchr (buf, '\n', MIN (len, IMS_MSNP_MAX_LINE));
  if (cr == NULL)
    {
      if (len >= IMS_MSNP_MAX_LINE)
        {
          g_set_error_literal (error, IMS_MSNP_ERROR, 0, "an MSNP line over 8192 bytes");
          return -1;
        }
      if (len >= 3 && !(g_ascii_isupper (buf[0]) || g_ascii_isdigit (buf[0])))
        {
          g_set_error_literal (error, IMS_MSNP_ERROR, 0, "not an MSN (MSNP) server");
          return -1;
        }
      return 0;
    }
  gsize line = (gsize) (cr - buf);
  gsize n = line > 0 && buf[line - 1] == '\r' ? line - 1 : line;
  gssize p = payload_size ((const char *) buf, n);
  if (p == G_MAXSSIZE)
    {
      g_set_error_literal (error, IMS_MSNP_ERROR, 0, "an MSNP payload over 64 KiB");
      return -1;
    }
  return (gssize) (line + 1) + MAX (p, 0);
}

gboolean
ims_msnp_parse (const guint8 *frame, gsize len, ImsMsnpCmd *out, GError **error)
{
  memset (out, 0, sizeof *out);
  const guint8 *nl = memchr (frame, '\n', len);
  if (nl == NULL)
    {
      g_set_error_literal (error, IMS_MSNP_ERROR, 0, "an MSNP command without end of line");
      return FALSE;
    }
  gsize line = (gsize) (nl - frame);
  gsize n = line > 0 && frame[line - 1] == '\r' ? line - 1 : line;
  if (n < 3 || memchr (frame, '\0', n))
    {
      g_set_error_literal (error, IMS_MSNP_ERROR, 0, "a malformed MSNP command");
      return FALSE;
    }
  g_autofree char *text = g_strndup ((const char *) frame, n);
  g_auto (GStrv) words = g_strsplit (text, " ", IMS_MSNP_MAX_ARGS + 1);
  memcpy (out->cmd, words[0], MIN (strlen (words[0]), 3));
  out->nargs = g_strv_length (words) - 1;
  out->args = g_new0 (char *, out->nargs + 1);
  for (guint i = 0; i < out->nargs; i++)
    out->args[i] = g_strdup (words[i + 1]);
  gssize p = payload_size ((const char *) frame, n);
  if (p > 0)
    {
      if ((gsize) p != len - line - 1)
        {
          ims_msnp_cmd_clear (out);
          g_set_error_literal (error, IMS_MSNP_ERROR, 0, "an MSNP payload of the wrong size");
          return FALSE;
        }
      out->payload = nl + 1;
      out->payload_len = (gsize) p;
    }
  return TRUE;
}

void
ims_msnp_cmd_clear (ImsMsnpCmd *c)
{
  g_clear_pointer (&c->args, g_strfreev);
  c->nargs = 0;
}

gboolean
ims_msnp_is_error (const ImsMsnpCmd *c)
{
  return g_ascii_isdigit (c->cmd[0]) && g_ascii_isdigit (c->cmd[1]) && g_ascii_isdigit (c->cmd[2]);
}

char *
ims_msnp_email (const char *arg)
{
  if (arg == NULL || !g_str_has_prefix (arg, "1:"))
    return NULL;
  const char *e = arg + 2;
  const char *semi = strchr (e, ';'); /* "1:bob@x;{guid}" */
  gsize n = semi ? (gsize) (semi - e) : strlen (e);
  if (n == 0 || n > 254 || memchr (e, '@', n) == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    if ((guchar) e[i] <= ' ' || e[i] == '%' || e[i] == ':' || (guchar) e[i] >= 0x7f)
      return NULL;
  return g_ascii_strdown (e, (gssize) n);
}

gboolean
ims_msnp_is_address (const char *email)
{
  const char *at = strrchr (email, '@');
  return at && at != email && at[1] != '\0' && ims_text_plain_id (email, 254);
}

char *
ims_msnp_ml (const char *email, int lists)
{
  if (!ims_msnp_is_address (email))
    return NULL;
  const char *at = strrchr (email, '@');
  g_autofree char *user = g_markup_escape_text (email, at - email);
  g_autofree char *domain = g_markup_escape_text (at + 1, -1);
  return g_strdup_printf ("<ml><d n=\"%s\"><c n=\"%s\" l=\"%d\" t=\"1\"/></d></ml>", domain,
                          user, lists);
}

/* ---- the personal message ---- */

typedef struct {
  gboolean in_psm;
  GString *psm;
} PsmState;

static void
psm_start (GMarkupParseContext *ctx, const char *name, const char **an, const char **av,
           gpointer data, GError **error)
{
  PsmState *s = data;
  s->in_psm = g_str_equal (name, "PSM");
  if (s->in_psm && s->psm == NULL)
    s->psm = g_string_new (NULL);
}

static void
psm_end (GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
  ((PsmState *) data)->in_psm = FALSE;
}

static void
psm_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
  PsmState *s = data;
  if (s->in_psm && s->psm->len < IMS_MSNP_MAX_PAYLOAD)
    g_string_append_len (s->psm, text, (gssize) len);
}

char *
ims_msnp_psm (const guint8 *payload, gsize len)
{
  static const GMarkupParser parser = { psm_start, psm_end, psm_text, NULL, NULL };
  PsmState s = { 0 };
  g_autoptr (GMarkupParseContext) ctx = g_markup_parse_context_new (&parser, 0, &s, NULL);
  gboolean ok = len > 0 && g_markup_parse_context_parse (ctx, (const char *) payload, (gssize) len, NULL)
                && g_markup_parse_context_end_parse (ctx, NULL);
  if (!ok || s.psm == NULL)
    {
      if (s.psm)
        g_string_free (s.psm, TRUE);
      return ok ? g_strdup ("") : NULL;
    }
  return g_string_free (s.psm, FALSE);
}

char *
ims_msnp_msg_text (const guint8 *payload, gsize len)
{
  g_autofree char *text = g_strndup ((const char *) payload, len);
  char *body = strstr (text, "\r\n\r\n");
  if (body == NULL)
    return NULL;
  *body = '\0';
  gboolean plain = FALSE;
  g_auto (GStrv) headers = g_strsplit (text, "\r\n", 64);
  for (char **h = headers; *h; h++)
    if (g_ascii_strncasecmp (*h, "Content-Type:", 13) == 0)
      plain = g_ascii_strncasecmp (g_strstrip (*h + 13), "text/plain", 10) == 0;
  if (!plain)
    return NULL;
  return g_utf8_make_valid (body + 4, -1);
}

/* ---- the login service ---- */

typedef struct {
  GString *text;
  char *address, *token, *secret;
  char *ticket, *found_secret;
  int depth_rstr; /* inside a RequestSecurityTokenResponse */
} RstState;

static const char *
local_name (const char *name)
{
  const char *colon = strrchr (name, ':');
  return colon ? colon + 1 : name;
}

static void
rst_start (GMarkupParseContext *ctx, const char *name, const char **an, const char **av,
           gpointer data, GError **error)
{
  RstState *s = data;
  if (g_str_equal (local_name (name), "RequestSecurityTokenResponse"))
    {
      s->depth_rstr++;
      g_clear_pointer (&s->address, g_free);
      g_clear_pointer (&s->token, g_free);
      g_clear_pointer (&s->secret, g_free);
    }
  g_string_truncate (s->text, 0);
}

static void
rst_end (GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
  RstState *s = data;
  const char *n = local_name (name);
  char **slot = g_str_equal (n, "Address")               ? &s->address
                : g_str_equal (n, "BinarySecurityToken") ? &s->token
                : g_str_equal (n, "BinarySecret")        ? &s->secret
                                                         : NULL;
  if (slot && s->depth_rstr > 0)
    {
      g_free (*slot);
      *slot = g_strstrip (g_strdup (s->text->str));
    }
  if (g_str_equal (n, "RequestSecurityTokenResponse") && s->depth_rstr > 0)
    {
      s->depth_rstr--;
      if (g_strcmp0 (s->address, "messengerclear.live.com") == 0 && s->token && s->secret
          && s->ticket == NULL)
        {
          s->ticket = g_steal_pointer (&s->token);
          s->found_secret = g_steal_pointer (&s->secret);
        }
    }
}

static void
rst_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
  RstState *s = data;
  if (s->text->len < 16384)
    g_string_append_len (s->text, text, (gssize) len);
}

gboolean
ims_msnp_parse_rst (const char *xml, gsize len, char **ticket, char **secret)
{
  static const GMarkupParser parser = { rst_start, rst_end, rst_text, NULL, NULL };
  RstState s = { .text = g_string_new (NULL) };
  g_autoptr (GMarkupParseContext) ctx = g_markup_parse_context_new (&parser, 0, &s, NULL);
  gboolean ok = g_markup_parse_context_parse (ctx, xml, (gssize) len, NULL)
                && g_markup_parse_context_end_parse (ctx, NULL);
  g_string_free (s.text, TRUE);
  g_free (s.address);
  g_free (s.token);
  g_free (s.secret);
  /* The ticket goes on a command line: one word, printable. */
  ok = ok && s.ticket && *s.ticket && strlen (s.ticket) < 4096 && s.found_secret
       && strspn (s.ticket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=&._-")
              == strlen (s.ticket);
  if (!ok)
    {
      g_free (s.ticket);
      g_free (s.found_secret);
      return FALSE;
    }
  *ticket = s.ticket;
  *secret = s.found_secret;
  return TRUE;
}

static void
hmac_sha1 (const guint8 *key, gsize klen, const guint8 *a, gsize alen, const guint8 *b, gsize blen,
           guint8 out[20])
{
  g_autoptr (GHmac) h = g_hmac_new (G_CHECKSUM_SHA1, key, klen);
  g_hmac_update (h, a, (gssize) alen);
  if (b)
    g_hmac_update (h, b, (gssize) blen);
  gsize n = 20;
  g_hmac_get_digest (h, out, &n);
}

/* derive(k, m) = H(k, H(k,m) + m) ‖ H(k, H(k,H(k,m)) + m)[0:4] */
static void
derive (const guint8 *key, gsize klen, const char *magic, guint8 out[24])
{
  gsize ml = strlen (magic);
  guint8 h1[20], h2[20], h3[20], h4[20];
  hmac_sha1 (key, klen, (const guint8 *) magic, ml, NULL, 0, h1);
  hmac_sha1 (key, klen, h1, 20, (const guint8 *) magic, ml, h2);
  hmac_sha1 (key, klen, h1, 20, NULL, 0, h3);
  hmac_sha1 (key, klen, h3, 20, (const guint8 *) magic, ml, h4);
  memcpy (out, h2, 20);
  memcpy (out + 20, h4, 4);
}

static void
put_le32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
  g_byte_array_append (b, x, 4);
}

char *
ims_msnp_sso_response (const char *secret, const char *nonce, const guint8 iv[8])
{
  gsize klen = 0;
  g_autofree guint8 *key = g_base64_decode (secret, &klen);
  if (klen != 24)
    {
      if (key)
        explicit_bzero (key, klen);
      return NULL;
    }
  guint8 key2[24], key3[24], hash[20];
  derive (key, klen, "WS-SecureConversationSESSION KEY HASH", key2);
  derive (key, klen, "WS-SecureConversationSESSION KEY ENCRYPTION", key3);
  explicit_bzero (key, klen);
  gsize nlen = strlen (nonce);
  hmac_sha1 (key2, 24, (const guint8 *) nonce, nlen, NULL, 0, hash);
  /* 3DES-CBC of the nonce with PKCS#5 padding. */
  gsize pad = 8 - nlen % 8, clen = nlen + pad;
  g_autofree guint8 *cipher = g_malloc (clen);
  memcpy (cipher, nonce, nlen);
  memset (cipher + nlen, (int) pad, pad);
  gnutls_cipher_hd_t h;
  gnutls_datum_t k = { key3, 24 }, v = { (unsigned char *) iv, 8 };
  gboolean ok = gnutls_cipher_init (&h, GNUTLS_CIPHER_3DES_CBC, &k, &v) == 0;
  if (ok)
    {
      ok = gnutls_cipher_encrypt (h, cipher, clen) == 0;
      gnutls_cipher_deinit (h);
    }
  explicit_bzero (key2, sizeof key2);
  explicit_bzero (key3, sizeof key3);
  if (!ok)
    return NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  put_le32 (out, 28);
  put_le32 (out, 1);
  put_le32 (out, 0x6603);
  put_le32 (out, 0x8004);
  put_le32 (out, 8);
  put_le32 (out, 20);
  put_le32 (out, (guint32) clen);
  g_byte_array_append (out, iv, 8);
  g_byte_array_append (out, hash, 20);
  g_byte_array_append (out, cipher, (guint) clen);
  return g_base64_encode (out->data, out->len);
}

ImsMsnpKind
ims_msnp_status_kind (const char *st, const char **word)
{
  static const struct { const char *st, *word; ImsMsnpKind kind; } states[] = {
    { "NLN", "available", IMS_MSNP_AVAILABLE }, { "BSY", "busy", IMS_MSNP_BUSY },
    { "IDL", "idle", IMS_MSNP_IDLE },           { "BRB", "brb", IMS_MSNP_AWAY },
    { "AWY", "away", IMS_MSNP_AWAY },           { "PHN", "phone", IMS_MSNP_PHONE },
    { "LUN", "lunch", IMS_MSNP_AWAY },          { "HDN", "invisible", IMS_MSNP_OFFLINE },
    { "FLN", "offline", IMS_MSNP_OFFLINE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (states); i++)
    if (g_strcmp0 (st, states[i].st) == 0)
      {
        *word = states[i].word;
        return states[i].kind;
      }
  *word = "away";
  return IMS_MSNP_UNKNOWN;
}
