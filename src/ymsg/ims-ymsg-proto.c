/* ims-ymsg-proto: see the header. */
#define G_LOG_DOMAIN "ims-ymsg"

#include "ims-ymsg-proto.h"

#include <crypt.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK (ims-ymsg-error-quark, ims_ymsg_error)

static const guint8 sep[2] = { 0xc0, 0x80 };

gssize
ims_ymsg_frame_len (const guint8 *buf, gsize len, GError **error)
{
  if (memcmp (buf, "YMSG", MIN (len, 4)) != 0)
    {
      g_set_error_literal (error, IMS_YMSG_ERROR, 0, "not a Yahoo (YMSG) server");
      return -1;
    }
  if (len < IMS_YMSG_HEADER)
    return 0;
  return IMS_YMSG_HEADER + (buf[8] << 8 | buf[9]);
}

static const guint8 *
find_sep (const guint8 *p, const guint8 *end)
{
  for (; p + 1 < end; p++)
    if (p[0] == sep[0] && p[1] == sep[1])
      return p;
  return NULL;
}

gboolean
ims_ymsg_parse (const guint8 *frame, gsize len, ImsYmsgPacket *out, GError **error)
{
  memset (out, 0, sizeof *out);
  if (len < IMS_YMSG_HEADER || memcmp (frame, "YMSG", 4) != 0
      || (gsize) (IMS_YMSG_HEADER + (frame[8] << 8 | frame[9])) != len)
    {
      g_set_error_literal (error, IMS_YMSG_ERROR, 0, "malformed YMSG header");
      return FALSE;
    }
  out->service = (guint16) (frame[10] << 8 | frame[11]);
  out->status = (guint32) frame[12] << 24 | (guint32) frame[13] << 16 | frame[14] << 8 | frame[15];
  out->session = (guint32) frame[16] << 24 | (guint32) frame[17] << 16 | frame[18] << 8 | frame[19];
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  const guint8 *p = frame + IMS_YMSG_HEADER, *end = frame + len;
  while (p < end)
    {
      const guint8 *ks = find_sep (p, end);
      const guint8 *vs = ks ? find_sep (ks + 2, end) : NULL;
      if (vs == NULL)
        {
          /* A last value without its separator is what some servers send. */
          if (ks == NULL)
            break;
          vs = end;
        }
      g_autofree char *k = g_strndup ((const char *) p, ks - p);
      char *kend;
      guint64 key = g_ascii_strtoull (k, &kend, 10);
      if (*k == '\0' || *kend != '\0' || key > 100000 || keys->len >= IMS_YMSG_MAX_PAIRS)
        {
          g_set_error_literal (error, IMS_YMSG_ERROR, 0, "malformed YMSG key");
          return FALSE;
        }
      int ki = (int) key;
      g_array_append_val (keys, ki);
      g_ptr_array_add (values, g_strndup ((const char *) ks + 2, vs - ks - 2));
      p = vs + (vs < end ? 2 : 0);
    }
  out->n = keys->len;
  out->keys = (int *) g_array_free (g_steal_pointer (&keys), FALSE);
  g_ptr_array_add (values, NULL);
  out->values = (char **) g_ptr_array_free (g_steal_pointer (&values), FALSE);
  return TRUE;
}

void
ims_ymsg_packet_clear (ImsYmsgPacket *p)
{
  g_clear_pointer (&p->keys, g_free);
  g_clear_pointer (&p->values, g_strfreev);
  p->n = 0;
}

const char *
ims_ymsg_get (const ImsYmsgPacket *p, int key)
{
  for (guint i = 0; i < p->n; i++)
    if (p->keys[i] == key)
      return p->values[i];
  return NULL;
}

static int
ims_ymsg_int (const char *s)
{
  char *end;
  gint64 v = g_ascii_strtoll (s, &end, 10);
  return *s && *end == '\0' && v >= 0 && v < 1000000 ? (int) v : -1;
}

void
ims_ymsg_buddies (const ImsYmsgPacket *p, GArray *out)
{
  ImsYmsgBuddy *cur = NULL;
  for (guint i = 0; i < p->n; i++)
    {
      const char *v = p->values[i];
      if (p->keys[i] == 7)
        {
          ImsYmsgBuddy b = { .id = v, .status = -1, .message = NULL, .away = -1, .online = -1 };
          g_array_append_val (out, b);
          cur = &g_array_index (out, ImsYmsgBuddy, out->len - 1);
        }
      else if (cur && p->keys[i] == 10)
        cur->status = ims_ymsg_int (v);
      else if (cur && p->keys[i] == 19)
        cur->message = v;
      else if (cur && p->keys[i] == 47)
        cur->away = ims_ymsg_int (v);
      else if (cur && p->keys[i] == 13)
        cur->online = ims_ymsg_int (v);
    }
}

ImsYmsgKind
ims_ymsg_status_kind (int status, int away, const char **word)
{
  static const struct { int code; const char *word; ImsYmsgKind kind; } codes[] = {
    { 0, "available", IMS_YMSG_KIND_AVAILABLE },   { 1, "brb", IMS_YMSG_KIND_AWAY },
    { 2, "busy", IMS_YMSG_KIND_BUSY },             { 3, "notathome", IMS_YMSG_KIND_AWAY },
    { 4, "notatdesk", IMS_YMSG_KIND_AWAY },        { 5, "notinoffice", IMS_YMSG_KIND_AWAY },
    { 6, "phone", IMS_YMSG_KIND_PHONE },           { 7, "onvacation", IMS_YMSG_KIND_XA },
    { 8, "lunch", IMS_YMSG_KIND_AWAY },            { 9, "steppedout", IMS_YMSG_KIND_AWAY },
    { 12, "invisible", IMS_YMSG_KIND_OFFLINE },    { 999, "idle", IMS_YMSG_KIND_IDLE },
  };
  if (status == IMS_YMSG_CUSTOM)
    {
      /* 47: 0 available, 1 away, 2 busy. */
      *word = away == 1 ? "away" : away == 2 ? "busy" : "available";
      return away == 1 ? IMS_YMSG_KIND_AWAY : away == 2 ? IMS_YMSG_KIND_BUSY
                                                         : IMS_YMSG_KIND_AVAILABLE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    if (codes[i].code == status)
      {
        *word = codes[i].word;
        return codes[i].kind;
      }
  *word = "away";
  return IMS_YMSG_KIND_AWAY;
}

static void
put_pair (GByteArray *b, int key, const char *value)
{
  char k[16];
  g_snprintf (k, sizeof k, "%d", key);
  g_byte_array_append (b, (const guint8 *) k, (guint) strlen (k));
  g_byte_array_append (b, sep, 2);
  g_byte_array_append (b, (const guint8 *) value, (guint) strlen (value));
  g_byte_array_append (b, sep, 2);
}

void
ims_ymsg_pack (GByteArray *out, guint16 service, guint32 status, guint32 session, ...)
{
  g_autoptr (GByteArray) payload = g_byte_array_new ();
  va_list ap;
  va_start (ap, session);
  for (int key = va_arg (ap, int); key >= 0; key = va_arg (ap, int))
    put_pair (payload, key, va_arg (ap, const char *));
  va_end (ap);
  guint len = MIN (payload->len, 65535);
  guint8 h[IMS_YMSG_HEADER] = { 'Y', 'M', 'S', 'G', 0, 10, 0, 0, len >> 8, len & 0xff,
                                service >> 8, service & 0xff,
                                status >> 24, (status >> 16) & 0xff, (status >> 8) & 0xff,
                                status & 0xff,
                                session >> 24, (session >> 16) & 0xff, (session >> 8) & 0xff,
                                session & 0xff };
  g_byte_array_append (out, h, sizeof h);
  g_byte_array_append (out, payload->data, len);
}

/* Yahoo's base64: '.' '_' for '+' '/', '-' for '='. */
static char *
y64 (const guint8 *data, gsize len)
{
  char *s = g_base64_encode (data, len);
  for (char *p = s; *p; p++)
    *p = *p == '+' ? '.' : *p == '/' ? '_' : *p == '=' ? '-' : *p;
  return s;
}

static char *
md5_y64 (const char *a, const char *b, gsize blen)
{
  guint8 d[16];
  gsize n = sizeof d;
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (c, (const guchar *) a, strlen (a));
  if (b)
    g_checksum_update (c, (const guchar *) b, blen);
  g_checksum_get_digest (c, d, &n);
  return y64 (d, n);
}

gboolean
ims_ymsg_auth_responses (const char *id, const char *password, const char *chal, char **r6,
                         char **r96)
{
  if (strlen (chal) < 16)
    return FALSE;
  g_autofree char *ph = md5_y64 (password, NULL, 0);
  struct crypt_data cd = { 0 };
  /* crypt_rn, not crypt_r: sanitizers intercept crypt_r and the linker then
   * drops libcrypt. */
  const char *crypted = crypt_rn (password, "$1$_2S43d5f", &cd, sizeof cd);
  if (crypted == NULL || crypted[0] == '*')
    return FALSE;
  g_autofree char *ch = md5_y64 (crypted, NULL, 0);
  static const int pos[] = { 7, 9, 15, 1, 3 };
  int sv = (guchar) chal[15] % 8 % 5;
  char ck[2] = { chal[(guchar) chal[pos[sv]] % 16], '\0' };
  for (int i = 0; i < 2; i++)
    {
      const char *h = i == 0 ? ph : ch;
      g_autofree char *s = sv == 0   ? g_strconcat (h, id, chal, NULL)
                           : sv == 1 ? g_strconcat (id, chal, h, NULL)
                           : sv == 2 ? g_strconcat (chal, h, id, NULL)
                           : sv == 3 ? g_strconcat (id, h, chal, NULL)
                                     : g_strconcat (h, chal, id, NULL);
      char *r = md5_y64 (ck, s, strlen (s));
      *(i == 0 ? r6 : r96) = r;
    }
  explicit_bzero (&cd, sizeof cd);
  return TRUE;
}

void
ims_ymsg_list_ids (const char *list, GPtrArray *out)
{
  g_auto (GStrv) lines = g_strsplit (list, "\n", 1024);
  for (char **l = lines; *l; l++)
    {
      const char *colon = strchr (*l, ':');
      if (colon == NULL)
        continue;
      g_auto (GStrv) ids = g_strsplit (colon + 1, ",", 4096);
      for (char **i = ids; *i; i++)
        if (**i && strlen (*i) <= IMS_YMSG_ID_MAX && out->len < 65536)
          g_ptr_array_add (out, g_ascii_strdown (*i, -1));
    }
}
