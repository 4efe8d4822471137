/* The MSN driver's state machine against a fake host (no core) and two
 * loopback servers that answer with what Escargot sent when it was recorded
 * (tests/reference/revival/msnp-frames.txt): the notification server's
 * login (VER, CVR, USR SSO I and S), the login service's SOAP answer, a
 * buddy on the phone and their personal message, keepalives answered. */
#include "ims-driver.h"
#include "ims-msnp.h"

#include <gio/gio.h>
#include <string.h>

#include "fake-host.h"
#include "ims-test.h"
#include "revival-frames.h"

typedef struct {
  GSocketListener *ns, *http;
  guint16 ns_port, http_port;
  GThread *ns_thread, *http_thread;
  GSocketConnection *conn; /* the notification server's client */
  gint usr_s;              /* atomic: USR SSO S seen (the login service was used) */
  gint pings;              /* atomic: PNGs seen */
} Servers;

static guint16
listen_any (GSocketListener **l)
{
  *l = g_socket_listener_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_assert_true (g_socket_listener_add_address (*l, sa, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
send_bytes (GOutputStream *out, const void *p, gsize len)
{
  g_output_stream_write_all (out, p, len, NULL, NULL, NULL);
}

static void
send_recorded (GOutputStream *out, const char *name)
{
  g_autoptr (GPtrArray) f = revival_frames ("msnp", name);
  gsize len;
  const void *p = g_bytes_get_data (f->pdata[0], &len);
  send_bytes (out, p, len);
}

/* The notification server: one line (and its payload) at a time. */
static gpointer
ns_run (gpointer data)
{
  Servers *sv = data;
  sv->conn = g_socket_listener_accept (sv->ns, NULL, NULL, NULL);
  if (sv->conn == NULL)
    return NULL;
  g_autoptr (GDataInputStream) in =
      g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (sv->conn)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (sv->conn));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL)
        break;
      g_auto (GStrv) w = g_strsplit (line, " ", -1);
      guint n = g_strv_length (w);
      /* Commands with a payload end with its length. */
      if (n >= 3 && (g_str_equal (w[0], "ADL") || g_str_equal (w[0], "UUX")
                     || g_str_equal (w[0], "RML")))
        {
          gsize len = (gsize) g_ascii_strtoull (w[n - 1], NULL, 10);
          g_autofree char *payload = g_malloc (len + 1);
          g_input_stream_read_all (G_INPUT_STREAM (in), payload, len, NULL, NULL, NULL);
        }
      if (g_str_equal (w[0], "VER"))
        send_recorded (out, "ver");
      else if (g_str_equal (w[0], "CVR"))
        {
          static const char cvr[] = "CVR 2 14.0.8117.0416 14.0.8117.0416 14.0.8117.0416 "
                                    "http://127.0.0.1/ http://127.0.0.1/\r\n";
          send_bytes (out, cvr, strlen (cvr));
        }
      else if (g_str_equal (w[0], "USR") && n >= 3 && g_str_equal (w[3], "I"))
        send_recorded (out, "usr-nonce");
      else if (g_str_equal (w[0], "USR") && n >= 3 && g_str_equal (w[3], "S"))
        {
          g_atomic_int_set (&sv->usr_s, 1);
          send_recorded (out, "usr-ok");
        }
      else if (g_str_equal (w[0], "PNG"))
        {
          g_atomic_int_inc (&sv->pings);
          send_bytes (out, "QNG 60\r\n", 8);
        }
    }
  return NULL;
}

/* The login service: one request, the recorded SOAP answer. */
static gpointer
http_run (gpointer data)
{
  Servers *sv = data;
  g_autoptr (GSocketConnection) c = g_socket_listener_accept (sv->http, NULL, NULL, NULL);
  if (c == NULL)
    return NULL;
  g_autoptr (GDataInputStream) in =
      g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (c)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  gsize length = 0;
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL || *line == '\0')
        break;
      if (g_ascii_strncasecmp (line, "Content-Length:", 15) == 0)
        length = (gsize) g_ascii_strtoull (line + 15, NULL, 10);
    }
  g_autofree char *body = g_malloc (length + 1);
  g_input_stream_read_all (G_INPUT_STREAM (in), body, length, NULL, NULL, NULL);
  g_autoptr (GPtrArray) rst = revival_frames ("msnp", "rst-ok");
  gsize len;
  const char *xml = g_bytes_get_data (rst->pdata[0], &len);
  g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml"
                                           "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                                           len);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c));
  send_bytes (out, head, strlen (head));
  send_bytes (out, xml, len);
  g_io_stream_close (G_IO_STREAM (c), NULL, NULL);
  return NULL;
}

static void
test_session (void)
{
  Servers sv = { 0 };
  sv.ns_port = listen_any (&sv.ns);
  sv.http_port = listen_any (&sv.http);
  sv.ns_thread = g_thread_new ("fake-ns", ns_run, &sv);
  sv.http_thread = g_thread_new ("fake-rst", http_run, &sv);

  Host host = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GPtrArray) accounts = g_ptr_array_new ();
  ImsDriverSetup setup = { .statedir = NULL, .accounts = accounts };
  ImsDriver *d = ims_msnp_network.new_driver ((ImsCore *) &host, &setup, NULL);
  d->host = &fake_host;
  d->core = (ImsCore *) &host;
  g_autofree char *loginurl = g_strdup_printf ("http://127.0.0.1:%u/RST2.srf", sv.http_port);
  ImsAccount acct = {
    .peer = "m", .type = "msn", .username = "recmi@hotmail.com", .id = "recmi@hotmail.com",
    .domain = "hotmail.com", .secret = "pw", .host = "127.0.0.1", .port = sv.ns_port,
    .pinginterval = 1, .pingtimeout = 1, .loginurl = loginurl,
  };
  d->ops->start (d, &acct);
  d->ops->connect (d, "m");

  /* The recorded login, the login service in the middle. */
  IMS_WAIT_FOR (host_got (&host, "logged_in m"));
  g_assert_true (g_atomic_int_get (&sv.usr_s));
  g_assert_true (host_got (&host, "roster m"));

  /* A buddy on the phone, then their personal message, as Escargot sent. */
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (sv.conn));
  send_recorded (out, "nln-phn");
  IMS_WAIT_FOR (host_got (&host, "presence m recmj@hotmail.com phone"));
  send_recorded (out, "ubx-psm");
  IMS_WAIT_FOR (host_got (&host, "presence m recmj@hotmail.com phone hi <there> & co"));

  /* Keepalives answered (QNG): still logged in after three. */
  IMS_WAIT_FOR (g_atomic_int_get (&sv.pings) >= 3);
  g_assert_false (host_got (&host, "disconnected"));

  d->ops->stop (d, "m");
  d->ops->free (d);
  g_io_stream_close (G_IO_STREAM (sv.conn), NULL, NULL);
  g_socket_listener_close (sv.ns);
  g_socket_listener_close (sv.http);
  g_thread_join (sv.ns_thread);
  g_thread_join (sv.http_thread);
  g_clear_object (&sv.conn);
  g_object_unref (sv.ns);
  g_object_unref (sv.http);
  g_ptr_array_unref (host.calls);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/msnp/driver/session", test_session);
  return g_test_run ();
}
