/* Unit tests for the OSCAR parser, from frames recorded from OWAIM, and its
 * builders against what the protocol says. */
#include <string.h>

#include "ims-oscar-proto.h"
#include "ims-text.h"
#include "revival-frames.h"

static void
snac_of (GBytes *b, ImsSnac *s)
{
  gsize n;
  const guint8 *p = g_bytes_get_data (b, &n);
  g_assert_cmpint (ims_flap_frame_len (p, n, NULL), ==, (gssize) n);
  ImsFlap f;
  g_assert_true (ims_flap_parse (p, n, &f, NULL));
  g_assert_cmpint (f.channel, ==, IMS_FLAP_SNAC);
  g_assert_true (ims_snac_parse (f.data, f.len, s, NULL));
}

static void
test_oscar_login_replies (void)
{
  g_autoptr (GBytes) ok = revival_frame ("oscar", "login0");
  ImsSnac s;
  snac_of (ok, &s);
  g_assert_cmpint (s.family, ==, 0x17);
  g_assert_cmpint (s.subtype, ==, 0x03);
  ImsOscarLogin l;
  g_assert_true (ims_oscar_parse_login (&s, &l, NULL));
  g_assert_cmpint (l.error, ==, 0);
  g_assert_cmpstr (l.bos_host, ==, "127.0.0.1");
  g_assert_cmpint (l.bos_port, ==, 5191);
  g_assert_cmpint (g_bytes_get_size (l.cookie), >, 0);
  ims_oscar_login_clear (&l);

  g_autoptr (GBytes) bad = revival_frame ("oscar", "loginerror");
  snac_of (bad, &s);
  g_assert_true (ims_oscar_parse_login (&s, &l, NULL));
  g_assert_cmpint (l.error, ==, 5);
  g_assert_cmpstr (ims_oscar_login_error_text (l.error), ==, "wrong password");
  ims_oscar_login_clear (&l);
}

static void
test_oscar_presence (void)
{
  g_autoptr (GBytes) arr = revival_frame ("oscar", "arrival1");
  ImsSnac s;
  snac_of (arr, &s);
  ImsOscarUser u;
  g_assert_true (ims_oscar_parse_user (s.data, s.len, &u, NULL));
  g_assert_cmpstr (u.sn, ==, "rec4b");
  g_assert_cmpuint (u.uclass & IMS_OSCAR_CLASS_AWAY, !=, 0);
  g_assert_cmpint (u.idle_minutes, ==, -1); /* OWAIM has no idle */
  ims_oscar_user_clear (&u);

  g_autoptr (GBytes) info = revival_frame ("oscar", "info0");
  snac_of (info, &s);
  g_assert_true (ims_oscar_parse_user (s.data, s.len, &u, NULL));
  g_autofree char *away = ims_oscar_parse_away (&u);
  g_assert_cmpstr (away, ==, "gone <b>fishing</b> &amp; back");
  g_autofree char *plain = ims_text_from_html (away);
  g_assert_cmpstr (plain, ==, "gone fishing & back");
  ims_oscar_user_clear (&u);

  g_autoptr (GBytes) dep = revival_frame ("oscar", "departure0");
  snac_of (dep, &s);
  g_assert_true (ims_oscar_parse_user (s.data, s.len, &u, NULL));
  g_assert_cmpstr (u.sn, ==, "rec4b");
  ims_oscar_user_clear (&u);
}

/* Idle minutes (TLV 4), as AOL's servers sent them (OWAIM sends none). */
static void
test_oscar_idle (void)
{
  static const guint8 info[] = { 5, 'b', 'u', 'c', 'k', 'y', 0, 0, 0, 2,
                                 0, 1, 0, 2, 0, 0x10, 0, 4, 0, 2, 0, 10 };
  ImsOscarUser u;
  g_assert_true (ims_oscar_parse_user (info, sizeof info, &u, NULL));
  g_assert_cmpstr (u.sn, ==, "bucky");
  g_assert_cmpint (u.idle_minutes, ==, 10);
  g_assert_cmpuint (u.uclass, ==, 0x10);
  g_assert_cmpuint (u.rest_len, ==, 0);
  ims_oscar_user_clear (&u);
  /* A count of TLVs larger than what follows is refused. */
  guint8 lying[sizeof info];
  memcpy (lying, info, sizeof info);
  lying[9] = 3;
  g_assert_false (ims_oscar_parse_user (lying, sizeof lying, &u, NULL));
}

static void
test_oscar_feedbag_and_im (void)
{
  g_autoptr (GBytes) fb = revival_frame ("oscar", "feedbag0");
  ImsSnac s;
  snac_of (fb, &s);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_oscar_item_free);
  g_assert_true (ims_oscar_parse_feedbag (&s, items, NULL));
  gboolean buddy = FALSE, group = FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      ImsOscarItem *it = items->pdata[i];
      buddy |= it->klass == IMS_OSCAR_ITEM_BUDDY && g_str_equal (it->name, "rec4b");
      group |= it->klass == IMS_OSCAR_ITEM_GROUP && g_str_equal (it->name, "Buddies");
    }
  g_assert_true (buddy && group);

  g_autoptr (GBytes) im = revival_frame ("oscar", "im0");
  snac_of (im, &s);
  ImsOscarIm m;
  g_assert_true (ims_oscar_parse_im (&s, &m, NULL));
  g_assert_cmpstr (m.from, ==, "rec4b");
  g_assert_cmpstr (m.text, ==, "<HTML><BODY>hi &lt;3</BODY></HTML>");
  ims_oscar_im_clear (&m);
}

static void
test_oscar_refuses_bad_frames (void)
{
  GError *e = NULL;
  g_assert_cmpint (ims_flap_frame_len ((const guint8 *) "HTTP/1.1", 8, &e), ==, -1);
  g_assert_nonnull (strstr (e->message, "not an OSCAR server"));
  g_clear_error (&e);
  g_assert_cmpint (ims_flap_frame_len ((const guint8 *) "*\x02", 2, NULL), ==, 0);
  /* Every truncation of a real frame is refused or parsed within bounds. */
  g_autoptr (GBytes) info = revival_frame ("oscar", "info0");
  gsize n;
  const guint8 *p = g_bytes_get_data (info, &n);
  for (gsize cut = 6; cut < n; cut++)
    {
      ImsOscarUser u;
      if (ims_oscar_parse_user (p + 16, cut > 16 ? cut - 16 : 0, &u, NULL))
        {
          g_free (ims_oscar_parse_away (&u));
          ims_oscar_user_clear (&u);
        }
    }
  /* A screen name longer than its limit, or with NUL, is no user. */
  guint8 bad[] = { 3, 'a', 0, 'b', 0, 0, 0, 0 };
  ImsOscarUser u;
  g_assert_false (ims_oscar_parse_user (bad, sizeof bad, &u, NULL));
}

static void
test_oscar_builders (void)
{
  /* md5(key + md5("pw") + "AOL Instant Messenger (SM)"), as OWAIM checks it. */
  guint8 h[16];
  ims_oscar_login_hash ((const guint8 *) "1234567890", 10, "pw", h);
  g_autoptr (GChecksum) inner = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (inner, (const guchar *) "pw", 2);
  guint8 pd[16];
  gsize n = 16;
  g_checksum_get_digest (inner, pd, &n);
  g_autoptr (GChecksum) outer = g_checksum_new (G_CHECKSUM_MD5);
  g_checksum_update (outer, (const guchar *) "1234567890", 10);
  g_checksum_update (outer, pd, 16);
  g_checksum_update (outer, (const guchar *) "AOL Instant Messenger (SM)", 26);
  guint8 want[16];
  n = 16;
  g_checksum_get_digest (outer, want, &n);
  g_assert_cmpmem (h, 16, want, 16);

  /* An IM body parses back as the same text, HTML-escaped. */
  static const guint8 cookie[8] = "01234567";
  g_autoptr (GByteArray) body = ims_oscar_im_body (cookie, "Buck Aroo", "a <b> & ☎");
  g_autoptr (GByteArray) reply = g_byte_array_new ();
  g_byte_array_append (reply, body->data, 10);
  g_byte_array_append (reply, (const guint8 *) "\x08" "buckaroo\0\0\0\0", 13);
  g_byte_array_append (reply, body->data + 10 + 1 + 8, body->len - 19);
  ImsSnac s = { .family = 4, .subtype = 7, .data = reply->data, .len = reply->len };
  ImsOscarIm m;
  g_assert_true (ims_oscar_parse_im (&s, &m, NULL));
  g_assert_cmpstr (m.text, ==, "a &lt;b&gt; &amp; ☎");
  g_autofree char *plain = ims_text_from_html (m.text);
  g_assert_cmpstr (plain, ==, "a <b> & ☎");
  ims_oscar_im_clear (&m);
  g_autofree char *sn = ims_oscar_normalize ("Buck Aroo", -1);
  g_assert_cmpstr (sn, ==, "buckaroo");
  /* Only ASCII folds: KELVIN SIGN + "ate" is not kate, nor is a Turkish
   * dotted capital I an i. */
  g_autofree char *kelvin = ims_oscar_normalize ("\xe2\x84\xaa" "ate", -1);
  g_assert_cmpstr (kelvin, !=, "kate");
  g_autofree char *dotted = ims_oscar_normalize ("\xc4\xb0" "an", -1);
  g_assert_cmpstr (dotted, !=, "ian");
  g_assert_cmpstr (dotted, !=, "i\xcc\x87" "an");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oscar/login-replies", test_oscar_login_replies);
  g_test_add_func ("/oscar/presence", test_oscar_presence);
  g_test_add_func ("/oscar/idle", test_oscar_idle);
  g_test_add_func ("/oscar/feedbag-im", test_oscar_feedbag_and_im);
  g_test_add_func ("/oscar/bad-frames", test_oscar_refuses_bad_frames);
  g_test_add_func ("/oscar/builders", test_oscar_builders);
  return g_test_run ();
}
