/* ims-oscar-proto: see the header.  Every read goes through a cursor that
 * refuses to step past the end, so a short or lying length is an error, never
 * a read out of bounds. */
#define G_LOG_DOMAIN "ims-oscar"

#include "ims-oscar-proto.h"

#include <string.h>

G_DEFINE_QUARK (ims-oscar-error-quark, ims_oscar_error)

typedef struct {
  const guint8 *p;
  gsize len, at;
  gboolean bad;
} Cur;

static gboolean
cur_take (Cur *c, gsize n, const guint8 **out)
{
  if (c->bad || n > c->len - c->at)
    {
      c->bad = TRUE;
      return FALSE;
    }
  if (out)
    *out = c->p + c->at;
  c->at += n;
  return TRUE;
}

static guint8
cur_u8 (Cur *c)
{
  const guint8 *p;
  return cur_take (c, 1, &p) ? p[0] : 0;
}

static guint16
cur_u16 (Cur *c)
{
  const guint8 *p;
  return cur_take (c, 2, &p) ? (guint16) (p[0] << 8 | p[1]) : 0;
}

static guint32
cur_u32 (Cur *c)
{
  const guint8 *p;
  return cur_take (c, 4, &p) ? (guint32) p[0] << 24 | (guint32) p[1] << 16 | p[2] << 8 | p[3] : 0;
}

static gboolean
bad (GError **error, const char *what)
{
  g_set_error (error, IMS_OSCAR_ERROR, 0, "malformed OSCAR data: %s", what);
  return FALSE;
}

gssize
ims_flap_frame_len (const guint8 *buf, gsize len, GError **error)
{
  if (len >= 1 && buf[0] != '*')
    {
      g_set_error (error, IMS_OSCAR_ERROR, 0, "not an OSCAR server: a frame starts with 0x%02x",
                   buf[0]);
      return -1;
    }
  if (len < 6)
    return 0;
  return 6 + (buf[4] << 8 | buf[5]);
}

gboolean
ims_flap_parse (const guint8 *frame, gsize len, ImsFlap *out, GError **error)
{
  if (len < 6 || frame[0] != '*' || (gsize) (6 + (frame[4] << 8 | frame[5])) != len)
    return bad (error, "FLAP header");
  out->channel = frame[1];
  out->data = frame + 6;
  out->len = len - 6;
  return TRUE;
}

gboolean
ims_snac_parse (const guint8 *data, gsize len, ImsSnac *out, GError **error)
{
  Cur c = { data, len, 0, FALSE };
  out->family = cur_u16 (&c);
  out->subtype = cur_u16 (&c);
  out->flags = cur_u16 (&c);
  out->reqid = cur_u32 (&c);
  if (out->flags & 0x8000)
    cur_take (&c, cur_u16 (&c), NULL);
  if (c.bad)
    return bad (error, "SNAC header");
  out->data = data + c.at;
  out->len = len - c.at;
  return TRUE;
}

gboolean
ims_oscar_tlv_find (const guint8 *data, gsize len, guint16 type, const guint8 **value, gsize *vlen)
{
  Cur c = { data, len, 0, FALSE };
  while (c.at + 4 <= len)
    {
      guint16 t = cur_u16 (&c);
      guint16 l = cur_u16 (&c);
      const guint8 *v;
      if (!cur_take (&c, l, &v))
        return FALSE;
      if (t == type)
        {
          *value = v;
          *vlen = l;
          return TRUE;
        }
    }
  return FALSE;
}

char *
ims_oscar_normalize (const char *sn, gssize len)
{
  g_autofree char *raw = len < 0 ? g_strdup (sn) : g_strndup (sn, (gsize) len);
  g_autoptr (GString) out = g_string_new (NULL);
  for (const char *p = raw; *p; p++)
    if (*p != ' ')
      g_string_append_c (out, *p);
  /* Screen names are ASCII: fold ASCII case only.  Unicode folding made
   * KELVIN SIGN + "ate" the same buddy as "kate". */
  g_autofree char *valid = g_utf8_make_valid (out->str, -1);
  return g_ascii_strdown (valid, -1);
}

static char *
cur_sn (Cur *c)
{
  guint8 n = cur_u8 (c);
  const guint8 *p;
  if (n == 0 || n > IMS_OSCAR_SN_MAX || !cur_take (c, n, &p) || memchr (p, 0, n))
    {
      c->bad = TRUE;
      return NULL;
    }
  return ims_oscar_normalize ((const char *) p, n);
}

gboolean
ims_oscar_parse_login (const ImsSnac *snac, ImsOscarLogin *out, GError **error)
{
  memset (out, 0, sizeof *out);
  const guint8 *v;
  gsize vl;
  if (ims_oscar_tlv_find (snac->data, snac->len, 8, &v, &vl))
    {
      out->error = vl >= 2 ? (guint16) (v[0] << 8 | v[1]) : 1;
      if (out->error == 0)
        out->error = 1;
      return TRUE;
    }
  if (!ims_oscar_tlv_find (snac->data, snac->len, 5, &v, &vl) || vl == 0 || vl > 255)
    return bad (error, "login reply without a BOS address");
  g_autofree char *addr = g_strndup ((const char *) v, vl);
  char *colon = strrchr (addr, ':');
  if (colon)
    {
      char *end;
      guint64 port = g_ascii_strtoull (colon + 1, &end, 10);
      if (*end || port == 0 || port > 65535)
        return bad (error, "BOS address port");
      out->bos_port = (int) port;
      *colon = '\0';
    }
  if (*addr == '\0' || addr[strspn (addr, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789.-")] != '\0')
    return bad (error, "BOS address host");
  const guint8 *ck;
  gsize ckl;
  if (!ims_oscar_tlv_find (snac->data, snac->len, 6, &ck, &ckl) || ckl == 0 || ckl > 1024)
    return bad (error, "login reply without a cookie");
  out->bos_host = g_steal_pointer (&addr);
  out->cookie = g_bytes_new (ck, ckl);
  return TRUE;
}

void
ims_oscar_login_clear (ImsOscarLogin *l)
{
  g_clear_pointer (&l->bos_host, g_free);
  g_clear_pointer (&l->cookie, g_bytes_unref);
}

const char *
ims_oscar_login_error_text (guint16 code)
{
  switch (code)
    {
    case 1: case 4: return "the screen name does not exist";
    case 5: return "wrong password";
    case 7: return "the screen name is not as the server stores it (write it in lower case, "
                   "without spaces)";
    case 0x18: return "connecting too often: the server asks to wait";
    default: return "the server refused the login";
    }
}

gboolean
ims_oscar_parse_user (const guint8 *data, gsize len, ImsOscarUser *out, GError **error)
{
  memset (out, 0, sizeof *out);
  out->idle_minutes = -1;
  Cur c = { data, len, 0, FALSE };
  out->sn = cur_sn (&c);
  cur_u16 (&c); /* warning level */
  guint16 n = cur_u16 (&c);
  for (guint i = 0; i < n && !c.bad; i++)
    {
      guint16 t = cur_u16 (&c);
      guint16 l = cur_u16 (&c);
      const guint8 *v;
      if (!cur_take (&c, l, &v))
        break;
      if (t == 1 && l == 2)
        out->uclass = (guint32) (v[0] << 8 | v[1]);
      else if (t == 1 && l == 4)
        out->uclass = (guint32) v[0] << 24 | (guint32) v[1] << 16 | v[2] << 8 | v[3];
      else if (t == 4 && l == 2)
        out->idle_minutes = v[0] << 8 | v[1];
    }
  if (c.bad)
    {
      ims_oscar_user_clear (out);
      return bad (error, "user info");
    }
  out->rest = data + c.at;
  out->rest_len = len - c.at;
  return TRUE;
}

void
ims_oscar_user_clear (ImsOscarUser *u)
{
  g_clear_pointer (&u->sn, g_free);
}

/* Text in an OSCAR charset (0 ASCII, 2 UCS-2BE, 3 ISO-8859-1; a MIME
 * type's charset= for away texts), as UTF-8. */
static char *
ims_oscar_text (const guint8 *v, gsize len, const char *charset)
{
  g_autofree char *conv = NULL;
  if (charset && len % 2 == 0)
    conv = g_convert ((const char *) v, (gssize) len, "UTF-8", charset, NULL, NULL, NULL);
  if (conv == NULL)
    {
      g_autofree char *raw = g_strndup ((const char *) v, len);
      return g_utf8_make_valid (raw, -1);
    }
  return g_steal_pointer (&conv);
}

char *
ims_oscar_parse_away (const ImsOscarUser *u)
{
  const guint8 *v, *mime;
  gsize vl, ml;
  if (!ims_oscar_tlv_find (u->rest, u->rest_len, 4, &v, &vl) || vl == 0)
    return NULL;
  const char *charset = NULL;
  if (ims_oscar_tlv_find (u->rest, u->rest_len, 3, &mime, &ml)
      && g_strstr_len ((const char *) mime, (gssize) ml, "unicode-2-0"))
    charset = "UCS-2BE";
  return ims_oscar_text (v, vl, charset);
}

gboolean
ims_oscar_parse_feedbag (const ImsSnac *snac, GPtrArray *items, GError **error)
{
  Cur c = { snac->data, snac->len, 0, FALSE };
  cur_u8 (&c); /* version */
  guint16 n = cur_u16 (&c);
  for (guint i = 0; i < n && !c.bad; i++)
    {
      guint16 nl = cur_u16 (&c);
      const guint8 *name;
      if (nl > 255 || !cur_take (&c, nl, &name))
        {
          c.bad = TRUE;
          break;
        }
      ImsOscarItem *it = g_new0 (ImsOscarItem, 1);
      it->gid = cur_u16 (&c);
      it->iid = cur_u16 (&c);
      it->klass = cur_u16 (&c);
      cur_take (&c, cur_u16 (&c), NULL);
      if (c.bad || memchr (name, 0, nl))
        {
          ims_oscar_item_free (it);
          c.bad = TRUE;
          break;
        }
      it->name = it->klass == IMS_OSCAR_ITEM_BUDDY ? ims_oscar_normalize ((const char *) name, nl)
                                                   : g_utf8_make_valid ((const char *) name, nl);
      g_ptr_array_add (items, it);
    }
  if (c.bad)
    return bad (error, "server-stored buddy list");
  return TRUE;
}

void
ims_oscar_item_free (ImsOscarItem *item)
{
  g_free (item->name);
  g_free (item);
}

gboolean
ims_oscar_parse_im (const ImsSnac *snac, ImsOscarIm *out, GError **error)
{
  memset (out, 0, sizeof *out);
  Cur c = { snac->data, snac->len, 0, FALSE };
  cur_take (&c, 8, NULL); /* cookie */
  guint16 channel = cur_u16 (&c);
  if (c.bad)
    return bad (error, "IM header");
  if (channel != 1)
    return bad (error, "IM on a channel other than 1");
  ImsOscarUser u;
  if (!ims_oscar_parse_user (snac->data + c.at, snac->len - c.at, &u, error))
    return FALSE;
  const guint8 *frags;
  gsize fl;
  if (!ims_oscar_tlv_find (u.rest, u.rest_len, 2, &frags, &fl))
    {
      ims_oscar_user_clear (&u);
      return bad (error, "IM without a message block");
    }
  Cur f = { frags, fl, 0, FALSE };
  while (f.at + 4 <= fl && !f.bad)
    {
      guint8 id = cur_u8 (&f);
      cur_u8 (&f);
      guint16 l = cur_u16 (&f);
      const guint8 *v;
      if (!cur_take (&f, l, &v))
        break;
      if (id == 1 && l >= 4)
        {
          guint16 cs = (guint16) (v[0] << 8 | v[1]);
          const char *charset = cs == 2 ? "UCS-2BE" : cs == 3 ? "ISO-8859-1" : NULL;
          out->text = ims_oscar_text (v + 4, l - 4, charset);
          break;
        }
    }
  out->from = g_steal_pointer (&u.sn);
  ims_oscar_user_clear (&u);
  if (out->text == NULL)
    {
      ims_oscar_im_clear (out);
      return bad (error, "IM without text");
    }
  return TRUE;
}

void
ims_oscar_im_clear (ImsOscarIm *im)
{
  g_clear_pointer (&im->from, g_free);
  g_clear_pointer (&im->text, g_free);
}

/* ---- builders ---- */

void
ims_oscar_put_u8 (GByteArray *b, guint8 v)
{
  g_byte_array_append (b, &v, 1);
}

void
ims_oscar_put_u16 (GByteArray *b, guint16 v)
{
  guint8 x[2] = { v >> 8, v & 0xff };
  g_byte_array_append (b, x, 2);
}

void
ims_oscar_put_u32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (b, x, 4);
}

void
ims_oscar_put_tlv (GByteArray *b, guint16 type, const void *value, gsize len)
{
  g_return_if_fail (len <= 0xffff);
  ims_oscar_put_u16 (b, type);
  ims_oscar_put_u16 (b, (guint16) len);
  if (len)
    g_byte_array_append (b, value, (guint) len);
}

void
ims_oscar_put_tlv_str (GByteArray *b, guint16 type, const char *s)
{
  ims_oscar_put_tlv (b, type, s, MIN (strlen (s), 0xffff));
}

void
ims_oscar_put_flap (GByteArray *out, guint8 channel, guint16 *seq, const guint8 *data, gsize len)
{
  g_return_if_fail (len <= 0xffff);
  ims_oscar_put_u8 (out, '*');
  ims_oscar_put_u8 (out, channel);
  ims_oscar_put_u16 (out, (*seq)++);
  ims_oscar_put_u16 (out, (guint16) len);
  if (len)
    g_byte_array_append (out, data, (guint) len);
}

void
ims_oscar_put_snac (GByteArray *out, guint16 *seq, guint16 family, guint16 subtype,
                    guint32 reqid, const GByteArray *body)
{
  g_autoptr (GByteArray) s = g_byte_array_new ();
  ims_oscar_put_u16 (s, family);
  ims_oscar_put_u16 (s, subtype);
  ims_oscar_put_u16 (s, 0);
  ims_oscar_put_u32 (s, reqid);
  if (body && body->len)
    g_byte_array_append (s, body->data, body->len);
  ims_oscar_put_flap (out, IMS_FLAP_SNAC, seq, s->data, MIN (s->len, 0xffff));
}

void
ims_oscar_login_hash (const guint8 *key, gsize key_len, const char *password, guint8 out[16])
{
  guint8 pwd[16];
  gsize n = 16;
  g_autoptr (GChecksum) inner = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (inner, (const guchar *) password, strlen (password));
  g_checksum_get_digest (inner, pwd, &n);
  g_autoptr (GChecksum) outer = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (outer, key, key_len);
  g_checksum_update (outer, pwd, sizeof pwd);
  static const char aim[] = "AOL Instant Messenger (SM)";
  g_checksum_update (outer, (const guchar *) aim, strlen (aim));
  n = 16;
  g_checksum_get_digest (outer, out, &n);
}

GByteArray *
ims_oscar_im_body (const guint8 cookie[8], const char *to, const char *text)
{
  /* Plain text goes out HTML-escaped: AIM clients render markup. */
  g_autoptr (GString) html = g_string_new (NULL);
  gboolean ascii = TRUE;
  for (const char *p = text; *p; p++)
    {
      if (*p == '<')
        g_string_append (html, "&lt;");
      else if (*p == '>')
        g_string_append (html, "&gt;");
      else if (*p == '&')
        g_string_append (html, "&amp;");
      else
        g_string_append_c (html, *p);
      if ((guchar) *p >= 0x80)
        ascii = FALSE;
    }
  g_autofree char *ucs2 = NULL;
  gsize ucs2_len = 0;
  if (!ascii)
    ucs2 = g_convert (html->str, (gssize) html->len, "UCS-2BE", "UTF-8", NULL, &ucs2_len, NULL);
  const char *bytes = ucs2 ? ucs2 : html->str;
  gsize blen = MIN (ucs2 ? ucs2_len : html->len, 32000); /* 2,000 bytes escaped, as UCS-2 */

  g_autoptr (GByteArray) frags = g_byte_array_new ();
  static const guint8 caps[] = { 0x05, 0x01, 0x00, 0x01, 0x01 };
  g_byte_array_append (frags, caps, sizeof caps);
  ims_oscar_put_u8 (frags, 1);
  ims_oscar_put_u8 (frags, 1);
  ims_oscar_put_u16 (frags, (guint16) (blen + 4));
  ims_oscar_put_u16 (frags, ucs2 ? 2 : 0);
  ims_oscar_put_u16 (frags, 0);
  g_byte_array_append (frags, (const guint8 *) bytes, (guint) blen);

  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, cookie, 8);
  ims_oscar_put_u16 (b, 1);
  g_autofree char *sn = ims_oscar_normalize (to, -1);
  gsize sl = MIN (strlen (sn), IMS_OSCAR_SN_MAX);
  ims_oscar_put_u8 (b, (guint8) sl);
  g_byte_array_append (b, (const guint8 *) sn, (guint) sl);
  ims_oscar_put_tlv (b, 2, frags->data, frags->len);
  ims_oscar_put_tlv (b, 3, NULL, 0);
  return b;
}
