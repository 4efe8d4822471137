/* Unit tests for the YMSG parser, from packets recorded from Escargot, and
 * the v1 challenge answer. */
#include <string.h>

#include "ims-ymsg-proto.h"
#include "revival-frames.h"

static void
packet_of (const char *name, ImsYmsgPacket *pk)
{
  g_autoptr (GBytes) b = revival_frame ("ymsg", name);
  gsize n;
  const guint8 *p = g_bytes_get_data (b, &n);
  g_assert_cmpint (ims_ymsg_frame_len (p, n, NULL), ==, (gssize) n);
  g_assert_true (ims_ymsg_parse (p, n, pk, NULL));
}

static void
test_ymsg_login_packets (void)
{
  ImsYmsgPacket pk;
  packet_of ("0x57", &pk);
  g_assert_cmpint (pk.service, ==, IMS_YMSG_AUTH);
  g_assert_cmpint (strlen (ims_ymsg_get (&pk, 94)), >=, 16);
  ims_ymsg_packet_clear (&pk);

  packet_of ("0x55", &pk);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  ims_ymsg_list_ids (ims_ymsg_get (&pk, 87), ids);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpstr (ids->pdata[0], ==, "recyf");
  ims_ymsg_packet_clear (&pk);

  packet_of ("0x54", &pk);
  g_assert_cmpuint (pk.status, ==, IMS_YMSG_STATUS_FAIL);
  g_assert_cmpstr (ims_ymsg_get (&pk, 66), ==, "13");
  ims_ymsg_packet_clear (&pk);
}

static void
test_ymsg_buddy_states (void)
{
  ImsYmsgPacket pk;
  packet_of ("0x03", &pk);
  g_autoptr (GArray) bs = g_array_new (FALSE, FALSE, sizeof (ImsYmsgBuddy));
  ims_ymsg_buddies (&pk, bs);
  g_assert_cmpuint (bs->len, ==, 1);
  ImsYmsgBuddy *b = &g_array_index (bs, ImsYmsgBuddy, 0);
  g_assert_cmpstr (b->id, ==, "recyf");
  g_assert_cmpint (b->status, ==, IMS_YMSG_CUSTOM);
  g_assert_cmpstr (b->message, ==, "busy/sip:1@pbx");
  g_assert_cmpint (b->away, ==, 1);
  g_assert_cmpint (b->online, ==, 1); /* key 13, as CONTACTNEW says it too */
  const char *word;
  g_assert_cmpint (ims_ymsg_status_kind (b->status, b->away, &word), ==, IMS_YMSG_KIND_AWAY);
  g_assert_cmpstr (word, ==, "away");
  ims_ymsg_packet_clear (&pk);

  packet_of ("0x02", &pk);
  g_array_set_size (bs, 0);
  ims_ymsg_buddies (&pk, bs);
  g_assert_cmpint (g_array_index (bs, ImsYmsgBuddy, 0).online, ==, 0);
  ims_ymsg_packet_clear (&pk);

  packet_of ("0x06", &pk);
  g_assert_cmpstr (ims_ymsg_get (&pk, 4), ==, "recyf");
  g_assert_cmpstr (ims_ymsg_get (&pk, 14), ==, "hi <b>A</b>");
  ims_ymsg_packet_clear (&pk);

  static const struct { int code; ImsYmsgKind kind; const char *word; } codes[] = {
    { 0, IMS_YMSG_KIND_AVAILABLE, "available" }, { 2, IMS_YMSG_KIND_BUSY, "busy" },
    { 6, IMS_YMSG_KIND_PHONE, "phone" },         { 999, IMS_YMSG_KIND_IDLE, "idle" },
    { 12, IMS_YMSG_KIND_OFFLINE, "invisible" },  { 4242, IMS_YMSG_KIND_AWAY, "away" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_assert_cmpint (ims_ymsg_status_kind (codes[i].code, -1, &word), ==, codes[i].kind);
      g_assert_cmpstr (word, ==, codes[i].word);
    }
}

static void
test_ymsg_auth_answer (void)
{
  /* Computed by tests/integration/ymsg.py (hashlib + crypt), whose answers
   * Escargot accepts. */
  g_autofree char *r6 = NULL, *r96 = NULL;
  g_assert_true (ims_ymsg_auth_responses ("yalice", "alicepw", "F0S1JxdISnah8vIBXNrBFg--", &r6,
                                          &r96));
  g_assert_cmpstr (r6, ==, "nAGVluN.54TugHjDhYAUmw--");
  g_assert_cmpstr (r96, ==, "9kzNpar8f1iL5H0HxgMBcg--");
  g_assert_false (ims_ymsg_auth_responses ("a", "b", "short", &r6, &r96));
}

static void
test_ymsg_build_and_refuse (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  ims_ymsg_pack (out, IMS_YMSG_MESSAGE, 0x5a55aa56, 7, 1, "me", 5, "you", 14, "a\xc0" "b", -1);
  ImsYmsgPacket pk;
  g_assert_true (ims_ymsg_parse (out->data, out->len, &pk, NULL));
  g_assert_cmpint (pk.service, ==, IMS_YMSG_MESSAGE);
  g_assert_cmpuint (pk.session, ==, 7);
  g_assert_cmpstr (ims_ymsg_get (&pk, 5), ==, "you");
  ims_ymsg_packet_clear (&pk);
  GError *e = NULL;
  g_assert_cmpint (ims_ymsg_frame_len ((const guint8 *) "HTTP", 4, &e), ==, -1);
  g_clear_error (&e);
  g_assert_cmpint (ims_ymsg_frame_len ((const guint8 *) "YMS", 3, NULL), ==, 0);
  /* A key that is not a number is refused. */
  g_autoptr (GByteArray) bad = g_byte_array_new ();
  ims_ymsg_pack (bad, 1, 0, 0, 1, "x", -1);
  bad->data[20] = 'z';
  g_assert_false (ims_ymsg_parse (bad->data, bad->len, &pk, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ymsg/login-packets", test_ymsg_login_packets);
  g_test_add_func ("/ymsg/buddy-states", test_ymsg_buddy_states);
  g_test_add_func ("/ymsg/auth-answer", test_ymsg_auth_answer);
  g_test_add_func ("/ymsg/build-refuse", test_ymsg_build_and_refuse);
  return g_test_run ();
}
