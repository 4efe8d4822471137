/* The AIM driver's state machine against a fake host (no core) and a
 * loopback server playing both of OSCAR's servers: the login server (BUCP
 * key and login, its reply pointing back here) and the BOS server (families,
 * rates, the buddy list as OWAIM sent it when recorded, a buddy arriving, an
 * IM).  tests/reference/revival/oscar-frames.txt has the recorded frames. */
#include "ims-driver.h"
#include "ims-oscar-proto.h"
#include "ims-oscar.h"

#include <gio/gio.h>
#include <string.h>

#include "fake-host.h"
#include "ims-test.h"
#include "revival-frames.h"

typedef struct {
  GSocketListener *listener;
  GSocket *lsock;          /* the listener's socket, to see a connection waiting */
  gboolean keep_auth;      /* the login server never closes (the client must go on) */
  gint overtook;           /* atomic: BOS was dialled before the login server closed */
  guint16 port;
  GThread *thread;
  GSocketConnection *bos;  /* the second connection, after the login */
  guint16 seq;
  gint ready;              /* atomic: the client said 01,02 (client ready) */
} Server;

static void
send_all (GSocketConnection *c, const void *p, gsize len)
{
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (c)), p, len, NULL,
                             NULL, NULL);
}

static void
send_snac (Server *sv, GSocketConnection *c, guint16 family, guint16 subtype, GByteArray *body)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  ims_oscar_put_snac (out, &sv->seq, family, subtype, 0, body);
  send_all (c, out->data, out->len);
}

static void
send_recorded (GSocketConnection *c, const char *name)
{
  g_autoptr (GPtrArray) f = revival_frames ("oscar", name);
  gsize len;
  const void *p = g_bytes_get_data (f->pdata[0], &len);
  send_all (c, p, len);
}

/* The next FLAP: its channel, and the SNAC's family and subtype when it is
 * one; FALSE at the end. */
static gboolean
read_flap (GSocketConnection *c, guint8 *channel, guint16 *family, guint16 *subtype)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c));
  guint8 head[6];
  gsize got;
  if (!g_input_stream_read_all (in, head, 6, &got, NULL, NULL) || got != 6 || head[0] != '*')
    return FALSE;
  gsize len = (gsize) (head[4] << 8 | head[5]);
  g_autofree guint8 *data = g_malloc (len + 1);
  if (len && (!g_input_stream_read_all (in, data, len, &got, NULL, NULL) || got != len))
    return FALSE;
  *channel = head[1];
  *family = len >= 4 ? (guint16) (data[0] << 8 | data[1]) : 0;
  *subtype = len >= 4 ? (guint16) (data[2] << 8 | data[3]) : 0;
  return TRUE;
}

static gpointer
server_run (gpointer data)
{
  Server *sv = data;
  static const guint8 hello[] = { 0, 0, 0, 1 };
  guint8 ch;
  guint16 fam, sub;
  /* The login server. */
  g_autoptr (GSocketConnection) auth = g_socket_listener_accept (sv->listener, NULL, NULL, NULL);
  if (auth == NULL)
    return NULL;
  g_autoptr (GByteArray) hello_flap = g_byte_array_new ();
  ims_oscar_put_flap (hello_flap, IMS_FLAP_SIGNON, &sv->seq, hello, sizeof hello);
  send_all (auth, hello_flap->data, hello_flap->len);
  while (read_flap (auth, &ch, &fam, &sub))
    {
      if (ch == IMS_FLAP_SNAC && fam == 0x17 && sub == 0x06)
        send_recorded (auth, "key0");
      else if (ch == IMS_FLAP_SNAC && fam == 0x17 && sub == 0x02)
        {
          /* The recorded reply, pointing at this server instead. */
          g_autoptr (GByteArray) b = g_byte_array_new ();
          g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", sv->port);
          static const guint8 cookie[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
          ims_oscar_put_tlv_str (b, 1, "rec4a");
          ims_oscar_put_tlv_str (b, 5, addr);
          ims_oscar_put_tlv (b, 6, cookie, sizeof cookie);
          send_snac (sv, auth, 0x17, 0x03, b);
          break;
        }
    }
  if (!sv->keep_auth)
    {
      /* As OWAIM: the client's close is seen, the server takes its time
       * (here 300 ms) to drop the login session, and only then closes.  A
       * BOS connection waiting meanwhile overtook it. */
      while (read_flap (auth, &ch, &fam, &sub))
        ;
      if (g_socket_condition_timed_wait (sv->lsock, G_IO_IN, 300 * 1000, NULL, NULL))
        g_atomic_int_set (&sv->overtook, 1);
      g_io_stream_close (G_IO_STREAM (auth), NULL, NULL);
    }
  /* The BOS server. */
  sv->bos = g_socket_listener_accept (sv->listener, NULL, NULL, NULL);
  if (sv->bos == NULL)
    return NULL;
  send_all (sv->bos, hello_flap->data, hello_flap->len);
  while (read_flap (sv->bos, &ch, &fam, &sub))
    {
      if (ch == IMS_FLAP_SIGNON)
        {
          g_autoptr (GByteArray) b = g_byte_array_new ();
          static const guint16 families[] = { 1, 0x13, 2, 3, 4, 9 };
          for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
            ims_oscar_put_u16 (b, families[i]);
          send_snac (sv, sv->bos, 0x01, 0x03, b);
        }
      else if (ch != IMS_FLAP_SNAC)
        continue;
      else if (fam == 0x01 && sub == 0x17)
        send_snac (sv, sv->bos, 0x01, 0x18, NULL);
      else if (fam == 0x01 && sub == 0x06)
        {
          g_autoptr (GByteArray) b = g_byte_array_new ();
          ims_oscar_put_u16 (b, 1);
          for (int i = 0; i < 35; i++)
            ims_oscar_put_u8 (b, 0);
          send_snac (sv, sv->bos, 0x01, 0x07, b);
        }
      else if (fam == 0x13 && sub == 0x04)
        send_recorded (sv->bos, "feedbag0");
      else if (fam == 0x01 && sub == 0x02)
        g_atomic_int_set (&sv->ready, 1);
    }
  return NULL;
}

static void
run_session (gboolean keep_auth)
{
  Server sv = { .keep_auth = keep_auth };
  sv.listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, 0);
  sv.lsock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_nonnull (sv.lsock);
  g_assert_true (g_socket_bind (sv.lsock, sa, TRUE, NULL));
  g_assert_true (g_socket_listen (sv.lsock, NULL));
  g_assert_true (g_socket_listener_add_socket (sv.listener, sv.lsock, NULL, NULL));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (sv.lsock, NULL);
  sv.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  sv.thread = g_thread_new ("fake-oscar", server_run, &sv);

  Host host = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GPtrArray) accounts = g_ptr_array_new ();
  ImsDriverSetup setup = { .statedir = NULL, .accounts = accounts };
  ImsDriver *d = ims_oscar_network.new_driver ((ImsCore *) &host, &setup, NULL);
  d->host = &fake_host;
  d->core = (ImsCore *) &host;
  ImsAccount acct = {
    .peer = "a", .type = "aim", .username = "rec4a", .id = "rec4a", .secret = "pw",
    .host = "127.0.0.1", .port = sv.port, .pinginterval = 30, .pingtimeout = 10,
  };
  d->ops->start (d, &acct);
  d->ops->connect (d, "a");

  /* Login, the second server (only once the login server closed, or it
   * never does), the list: online once the list is read. */
  IMS_WAIT_FOR (host_got (&host, "logged_in a"));
  IMS_WAIT_FOR (g_atomic_int_get (&sv.ready));
  g_assert_true (host_got (&host, "roster a"));
  g_assert_false (g_atomic_int_get (&sv.overtook));

  /* A buddy arrives, then sends an IM, as OWAIM sent them. */
  send_recorded (sv.bos, "arrival0");
  IMS_WAIT_FOR (host_got (&host, "presence a rec4b available"));
  send_recorded (sv.bos, "im0");
  IMS_WAIT_FOR (host_got (&host, "message a rec4b"));

  d->ops->stop (d, "a");
  d->ops->free (d);
  if (sv.bos)
    g_io_stream_close (G_IO_STREAM (sv.bos), NULL, NULL);
  g_socket_listener_close (sv.listener);
  g_thread_join (sv.thread);
  g_clear_object (&sv.bos);
  g_object_unref (sv.listener);
  g_object_unref (sv.lsock);
  g_ptr_array_unref (host.calls);
}

static void
test_session (void)
{
  run_session (FALSE);
}

/* A login server that never closes after its reply does not keep us from
 * BOS: we go after a bounded wait. */
static void
test_session_auth_never_closes (void)
{
  run_session (TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/oscar/driver/session", test_session);
  g_test_add_func ("/oscar/driver/session-auth-never-closes", test_session_auth_never_closes);
  return g_test_run ();
}
