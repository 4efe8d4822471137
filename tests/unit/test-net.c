/* Unit tests for the line connection (partial lines, limits, the write queue
 * and its cap, idle timeouts) and the reconnect backoff. */
#include "ims-backoff.h"
#include "ims-frame-conn.h"
#include "ims-rate.h"
#include "ims-fs.h"
#include "ims-line-conn.h"

#include <string.h>

#include "ims-test.h"
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  ImsLineConn *lc;
  int other;            /* our end of the socket pair */
  GPtrArray *lines;     /* char* */
  guint too_long, timeouts;
  gboolean closed;
} Fixture;

static void
on_event (ImsLineConn *lc, ImsLineEvent ev, const char *line, gsize len, gpointer data)
{
  Fixture *f = data;
  switch (ev)
    {
    case IMS_LINE_EVENT_LINE:
      g_ptr_array_add (f->lines, g_strndup (line, len));
      break;
    case IMS_LINE_EVENT_TOO_LONG:
      f->too_long++;
      break;
    case IMS_LINE_EVENT_TIMEOUT:
      f->timeouts++;
      break;
    case IMS_LINE_EVENT_CLOSED:
      f->closed = TRUE;
      break;
    }
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  int sv[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
  g_autoptr (GSocket) sock = g_socket_new_from_fd (sv[0], NULL);
  g_assert_nonnull (sock);
  g_autoptr (GSocketConnection) conn = g_socket_connection_factory_create_connection (sock);
  f->other = sv[1];
  f->lines = g_ptr_array_new_with_free_func (g_free);
  f->lc = ims_line_conn_new (conn, 16, 0, on_event, f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (!f->closed)
    ims_line_conn_close (f->lc);
  while (!f->closed)
    g_main_context_iteration (NULL, TRUE);
  close (f->other);
  g_ptr_array_unref (f->lines);
}

static void
send_raw (Fixture *f, const char *s)
{
  g_assert_cmpint (write (f->other, s, strlen (s)), ==, (gssize) strlen (s));
}

static void
test_partial_lines (Fixture *f, gconstpointer data)
{
  send_raw (f, "abc");
  /* Nothing until the LF: let the loop run a few turns. */
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f->lines->len, ==, 0);
  send_raw (f, "def\nsecond\r\nthi");
  IMS_WAIT_FOR (f->lines->len == 2);
  g_assert_cmpstr (f->lines->pdata[0], ==, "abcdef");
  g_assert_true (g_str_has_prefix (f->lines->pdata[1], "second"));
  send_raw (f, "rd\n");
  IMS_WAIT_FOR (f->lines->len == 3);
  g_assert_cmpstr (f->lines->pdata[2], ==, "third");
}

/* A client that sends a flood gets IMS_LINE_CONN_LINES_PER_TURN lines per
 * main-loop turn, and all of them in the end. */
static void
test_lines_per_turn (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) flood = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append_printf (flood, "l%d\n", i);
  send_raw (f, flood->str);
  IMS_WAIT_FOR (f->lines->len > 0);
  g_assert_cmpuint (f->lines->len, <=, IMS_LINE_CONN_LINES_PER_TURN);
  IMS_WAIT_FOR (f->lines->len == 100);
  g_assert_cmpstr (f->lines->pdata[99], ==, "l99");
}

static void
test_too_long (Fixture *f, gconstpointer data)
{
  send_raw (f, "0123456789abcdefghijklmnopqrstuvwxyz\n");
  IMS_WAIT_FOR (f->too_long >= 1);
  g_assert_cmpuint (f->lines->len, ==, 0);
}

static void
test_write_queue (Fixture *f, gconstpointer data)
{
  ims_line_conn_write (f->lc, "hello ", 6);
  ims_line_conn_write (f->lc, "world\n", 6);
  char buf[64] = { 0 };
  gsize got = 0;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (got < 12 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      gssize n = recv (f->other, buf + got, sizeof buf - 1 - got, MSG_DONTWAIT);
      if (n > 0)
        got += n;
    }
  g_assert_cmpstr (buf, ==, "hello world\n");
}

static void
test_output_cap (Fixture *f, gconstpointer data)
{
  ims_line_conn_set_max_output (f->lc, 8);
  g_test_expect_message ("ims-net", G_LOG_LEVEL_WARNING, "*bytes waiting to be read*");
  ims_line_conn_write (f->lc, "0123456789", 10);
  g_test_assert_expected_messages ();
  IMS_WAIT_FOR (f->closed);
}

static void
test_idle_timeout (Fixture *f, gconstpointer data)
{
  ims_line_conn_set_idle_timeout (f->lc, 30);
  IMS_WAIT_FOR (f->timeouts == 1);
  IMS_WAIT_FOR (f->closed);
}

static void
test_backoff (void)
{
  ImsBackoff b = { 0 };
  guint expect[] = { 1, 2, 4, 8, 16, 32, 60, 60 };
  for (gsize i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      guint ms = ims_backoff_next_ms (&b);
      g_assert_cmpuint (b.ms, ==, expect[i] * 1000);
      g_assert_cmpuint (ms, >=, expect[i] * 750);
      g_assert_cmpuint (ms, <=, expect[i] * 1250);
    }
  ims_backoff_reset (&b);
  ims_backoff_next_ms (&b);
  g_assert_cmpuint (b.ms, ==, 1000);
}

static void
test_private_dir (void)
{
  g_autofree char *base = g_dir_make_tmp ("ims-fs-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (base, "a", "b", NULL);
  g_autoptr (GError) err = NULL;
  g_assert_true (ims_fs_private_dir (dir, &err));
  GStatBuf st;
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  /* An existing, too open directory is made private. */
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_assert_true (ims_fs_private_dir (dir, &err));
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  /* A symlink in its place is refused; its target keeps its mode. */
  g_autofree char *target = g_build_filename (base, "target", NULL);
  g_autofree char *link = g_build_filename (base, "link", NULL);
  g_assert_cmpint (g_mkdir (target, 0755), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_assert_false (ims_fs_private_dir (link, &err));
  g_assert_nonnull (strstr (err->message, "a symbolic link, or not a directory"));
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0755);
  ims_test_rm_rf (base);
}

/* ---- rate limits ---- */

static gint64 fake_now;

static gint64
fake_clock (void)
{
  return fake_now;
}

/* A limit per key, and keys forgotten once their window passed: 100,000
 * strangers cost nothing a minute later. */
static void
test_rate (void)
{
  fake_now = 1000 * G_USEC_PER_SEC;
  g_autoptr (ImsRate) r = ims_rate_new (60);
  ims_rate_set_clock (r, fake_clock);
  g_assert_true (ims_rate_allow (r, "a", 2));
  g_assert_true (ims_rate_allow (r, "a", 2));
  g_assert_false (ims_rate_allow (r, "a", 2));
  g_assert_cmpuint (ims_rate_count (r, "a", FALSE), ==, 2);
  for (guint i = 0; i < 100000; i++)
    {
      g_autofree char *k = g_strdup_printf ("stranger%u", i);
      ims_rate_count (r, k, TRUE);
    }
  g_assert_cmpuint (ims_rate_keys (r), ==, 100001);
  fake_now += 61 * G_USEC_PER_SEC;
  g_assert_true (ims_rate_allow (r, "a", 2)); /* the window moved on */
  g_assert_cmpuint (ims_rate_keys (r), ==, 1);
  g_assert_cmpuint (ims_rate_count (r, "stranger7", FALSE), ==, 0);
}

/* ---- frame connections ---- */

typedef struct {
  gboolean connected;
  gboolean closed;
  char *why;
} FrameSeen;

static void
frame_connected (ImsFrameConn *c, gpointer data)
{
  ((FrameSeen *) data)->connected = TRUE;
}

static void
frame_frame (ImsFrameConn *c, const guint8 *f, gsize len, gpointer data)
{
}

static void
frame_closed (ImsFrameConn *c, const GError *error, gpointer data)
{
  FrameSeen *seen = data;
  seen->closed = TRUE;
  seen->why = g_strdup (error ? error->message : "");
}

static gssize
frame_whole (const guint8 *buf, gsize len, GError **error)
{
  return (gssize) len;
}

static gboolean
on_held (GSocketService *service, GSocketConnection *conn, GObject *src, gpointer data)
{
  /* Accept and never read: the server a hostile network would be. */
  g_ptr_array_add (data, g_object_ref (conn));
  return TRUE;
}

/* A server that reads nothing cannot make us keep all we send it. */
static void
test_frame_output_bounded (void)
{
  GSocketService *service = g_socket_service_new ();
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  guint16 port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (service), NULL, NULL);
  g_signal_connect (service, "incoming", G_CALLBACK (on_held), held);
  g_socket_service_start (service);
  static const ImsFrameConnFuncs funcs = { frame_connected, frame_frame, frame_closed };
  FrameSeen seen = { 0 };
  ImsFrameConn *c = ims_frame_conn_new ("127.0.0.1", port, 5, 65536, frame_whole, &funcs, &seen);
  ims_frame_conn_set_max_output (c, 256 * 1024);
  IMS_WAIT_FOR (seen.connected);
  g_autofree guint8 *chunk = g_malloc0 (65536);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!seen.closed && g_get_monotonic_time () < deadline)
    {
      ims_frame_conn_send (c, chunk, 65536);
      g_main_context_iteration (NULL, FALSE);
    }
  IMS_WAIT_FOR (seen.closed);
  g_assert_nonnull (strstr (seen.why, "the server reads nothing"));
  ims_frame_conn_free (c);
  g_free (seen.why);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/net/line/partial", Fixture, NULL, fixture_setup, test_partial_lines,
              fixture_teardown);
  g_test_add ("/net/line/per-turn", Fixture, NULL, fixture_setup, test_lines_per_turn,
              fixture_teardown);
  g_test_add ("/net/line/too-long", Fixture, NULL, fixture_setup, test_too_long, fixture_teardown);
  g_test_add ("/net/line/write-queue", Fixture, NULL, fixture_setup, test_write_queue,
              fixture_teardown);
  g_test_add ("/net/line/output-cap", Fixture, NULL, fixture_setup, test_output_cap,
              fixture_teardown);
  g_test_add ("/net/line/idle-timeout", Fixture, NULL, fixture_setup, test_idle_timeout,
              fixture_teardown);
  g_test_add_func ("/net/backoff", test_backoff);
  g_test_add_func ("/net/rate", test_rate);
  g_test_add_func ("/net/frame/output-bounded", test_frame_output_bounded);
  g_test_add_func ("/net/private-dir", test_private_dir);
  return g_test_run ();
}
