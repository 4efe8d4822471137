/* The Yahoo! driver's state machine against a fake host (the driver
 * contract's host table, no core) and a fake server on loopback that
 * answers with the packets recorded from Escargot
 * (tests/reference/revival/ymsg-frames.txt): login, the buddy list, a
 * buddy's presence, an IM, keepalives answered and then not. */
#include "ims-driver.h"
#include "ims-native.h"
#include "ims-ymsg-proto.h"
#include "ims-ymsg.h"

#include <gio/gio.h>
#include <string.h>

#include "ims-test.h"
#include "fake-host.h"
#include "revival-frames.h"

/* ---- the fake server: a thread answering each client packet ---- */

typedef struct {
  GSocketListener *listener;
  guint16 port;
  GThread *thread;
  GSocketConnection *conn;
  GMutex lock;
  GArray *seen;           /* guint16 services the client sent */
  gint answer_pings;      /* atomic */
  gint pings;             /* atomic: keepalives seen */
  gint stop;              /* atomic */
} Server;

static void
server_send (GOutputStream *out, GBytes *b)
{
  gsize len;
  const void *p = g_bytes_get_data (b, &len);
  g_output_stream_write_all (out, p, len, NULL, NULL, NULL);
}

static gpointer
server_run (gpointer data)
{
  Server *sv = data;
  g_autoptr (GError) err = NULL;
  sv->conn = g_socket_listener_accept (sv->listener, NULL, NULL, &err);
  if (sv->conn == NULL)
    return NULL;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (sv->conn));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (sv->conn));
  g_autoptr (GPtrArray) hello = revival_frames ("ymsg", "0x4c"), chal = revival_frames ("ymsg", "0x57");
  g_autoptr (GPtrArray) list = revival_frames ("ymsg", "0x55"), logon = revival_frames ("ymsg", "0x01");
  g_autoptr (GPtrArray) pong = revival_frames ("ymsg", "0x8a");
  while (!g_atomic_int_get (&sv->stop))
    {
      guint8 head[20];
      gsize got = 0;
      if (!g_input_stream_read_all (in, head, sizeof head, &got, NULL, NULL) || got != sizeof head)
        break;
      guint16 len = (guint16) (head[8] << 8 | head[9]), service = (guint16) (head[10] << 8 | head[11]);
      g_autofree guint8 *body = g_malloc (len + 1);
      if (len && (!g_input_stream_read_all (in, body, len, &got, NULL, NULL) || got != len))
        break;
      g_mutex_lock (&sv->lock);
      g_array_append_val (sv->seen, service);
      g_mutex_unlock (&sv->lock);
      if (service == IMS_YMSG_HANDSHAKE)
        server_send (out, hello->pdata[0]);
      else if (service == IMS_YMSG_AUTH)
        server_send (out, chal->pdata[0]);
      else if (service == IMS_YMSG_AUTHRESP)
        {
          server_send (out, list->pdata[0]);
          server_send (out, logon->pdata[0]);
        }
      else if (service == IMS_YMSG_PING)
        {
          g_atomic_int_inc (&sv->pings);
          if (g_atomic_int_get (&sv->answer_pings))
            server_send (out, pong->pdata[0]);
        }
    }
  return NULL;
}

static void
server_start (Server *sv)
{
  memset (sv, 0, sizeof *sv);
  g_mutex_init (&sv->lock);
  sv->seen = g_array_new (FALSE, FALSE, sizeof (guint16));
  sv->answer_pings = 1;
  sv->listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_assert_true (g_socket_listener_add_address (sv->listener, sa, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
  sv->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  sv->thread = g_thread_new ("fake-ymsg", server_run, sv);
}

static gboolean
server_saw (Server *sv, guint16 service)
{
  gboolean yes = FALSE;
  g_mutex_lock (&sv->lock);
  for (guint i = 0; i < sv->seen->len; i++)
    yes |= g_array_index (sv->seen, guint16, i) == service;
  g_mutex_unlock (&sv->lock);
  return yes;
}

/* Sends a recorded packet to the client from the test's thread. */
static void
server_push (Server *sv, GBytes *b)
{
  server_send (g_io_stream_get_output_stream (G_IO_STREAM (sv->conn)), b);
}

static void
server_stop (Server *sv)
{
  g_atomic_int_set (&sv->stop, 1);
  if (sv->conn)
    g_io_stream_close (G_IO_STREAM (sv->conn), NULL, NULL);
  g_socket_listener_close (sv->listener);
  g_thread_join (sv->thread);
  g_clear_object (&sv->conn);
  g_clear_object (&sv->listener);
  g_array_unref (sv->seen);
  g_mutex_clear (&sv->lock);
}

/* ---- what the driver logs ---- */

static GPtrArray *logged; /* every message logged while a test runs */

static GLogWriterOutput
capture_log (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && logged)
      g_ptr_array_add (logged, g_strdup (fields[i].value));
  return G_LOG_WRITER_HANDLED;
}

static gboolean
logged_with (const char *needle)
{
  for (guint i = 0; logged && i < logged->len; i++)
    if (strstr (logged->pdata[i], needle))
      return TRUE;
  return FALSE;
}

/* ---- the test ---- */

static void
test_session (void)
{
  Server sv;
  server_start (&sv);
  Host host = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GPtrArray) accounts = g_ptr_array_new ();
  ImsDriverSetup setup = { .statedir = NULL, .accounts = accounts };
  ImsDriver *d = ims_ymsg_network.new_driver ((ImsCore *) &host, &setup, NULL);
  d->host = &fake_host;
  d->core = (ImsCore *) &host;
  ImsAccount acct = {
    .peer = "y", .type = "yahoo", .username = "recye", .id = "recye", .secret = "pw",
    .host = "127.0.0.1", .port = sv.port, .pinginterval = 1, .pingtimeout = 1,
  };
  d->ops->start (d, &acct);
  d->ops->connect (d, "y");

  /* Login as recorded: HANDSHAKE, AUTH, AUTHRESP; the list makes it so. */
  IMS_WAIT_FOR (host_got (&host, "logged_in y"));
  g_assert_true (server_saw (&sv, IMS_YMSG_HANDSHAKE) && server_saw (&sv, IMS_YMSG_AUTH)
                 && server_saw (&sv, IMS_YMSG_AUTHRESP));
  g_assert_true (host_got (&host, "roster y"));

  /* A buddy's state and an IM, as Escargot sent them to recye. */
  g_autoptr (GPtrArray) away = revival_frames ("ymsg", "0x03"), im = revival_frames ("ymsg", "0x06");
  server_push (&sv, away->pdata[0]);
  IMS_WAIT_FOR (host_got (&host, "presence y recyf"));
  server_push (&sv, im->pdata[0]);
  IMS_WAIT_FOR (host_got (&host, "message y recyf"));

  /* A hostile server's error code cannot forge a log line. */
  g_autoptr (GByteArray) forged = g_byte_array_new ();
  ims_ymsg_pack (forged, IMS_YMSG_ADDBUDDY, 1, 0, 1, "recye", 7, "recyf", 66,
                 "7)\nims-core NOTICE: aim1: logged in as root", -1);
  g_autoptr (GBytes) fb = g_bytes_new (forged->data, forged->len);
  server_push (&sv, fb);
  IMS_WAIT_FOR (logged_with ("did not add recyf"));
  for (guint i = 0; i < logged->len; i++)
    g_assert_null (strchr (logged->pdata[i], '\n'));

  /* Keepalives answered: still logged in after two; then unanswered: gone. */
  IMS_WAIT_FOR (g_atomic_int_get (&sv.pings) >= 3);
  g_assert_false (host_got (&host, "disconnected"));
  g_atomic_int_set (&sv.answer_pings, 0);
  IMS_WAIT_FOR (host_got (&host, "disconnected y no answer to a ping in 1 s"));

  d->ops->stop (d, "y");
  d->ops->free (d);
  server_stop (&sv);
  g_ptr_array_unref (host.calls);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  logged = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_log, NULL, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL); /* warnings are expected */
  g_test_add_func ("/ymsg/driver/session", test_session);
  return g_test_run ();
}
