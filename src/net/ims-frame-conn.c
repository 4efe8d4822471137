/* ims-frame-conn: see the header.  The connection is reference-counted: every
 * pending asynchronous call holds a reference, so ims_frame_conn_free() from
 * inside a callback only marks it dead and cancels, and the memory goes when
 * the last call returns. */
#define G_LOG_DOMAIN "ims-net"

#include "ims-frame-conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#define READ_CHUNK 16384

struct _ImsFrameConn {
  int refs;
  gboolean dead;        /* freed by the owner: no more callbacks */
  gboolean failed;      /* closed() is scheduled or delivered */
  ImsFramerFunc framer;
  ImsFrameConnFuncs funcs;
  gpointer user_data;
  gsize max_frame;
  GCancellable *cancel;
  GSocketConnection *connection;
  GByteArray *in;
  guint8 chunk[READ_CHUNK];
  GQueue out;           /* GBytes, in order */
  gsize out_bytes;      /* queued and not yet written */
  gsize max_output;
  gboolean writing;
  gboolean finishing;   /* ims_frame_conn_finish: shut the write side when flushed */
  guint connect_timeout_id;
  guint closed_id;
  GError *error;        /* what closed() will say */
};

static ImsFrameConn *
ims_frame_conn_ref (ImsFrameConn *c)
{
  c->refs++;
  return c;
}

static void
ims_frame_conn_unref (ImsFrameConn *c)
{
  if (--c->refs > 0)
    return;
  g_clear_handle_id (&c->connect_timeout_id, g_source_remove);
  g_clear_handle_id (&c->closed_id, g_source_remove);
  g_queue_clear_full (&c->out, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&c->connection);
  g_clear_object (&c->cancel);
  g_byte_array_unref (c->in);
  g_clear_error (&c->error);
  g_free (c);
}

static gboolean
ims_frame_conn_report_closed (gpointer data)
{
  ImsFrameConn *c = data;
  c->closed_id = 0;
  if (!c->dead)
    c->funcs.closed (c, c->error, c->user_data);
  return G_SOURCE_REMOVE;
}

void
ims_frame_conn_fail (ImsFrameConn *c, const GError *error)
{
  if (c->failed || c->dead)
    return;
  c->failed = TRUE;
  c->error = g_error_copy (error);
  g_cancellable_cancel (c->cancel);
  g_clear_handle_id (&c->connect_timeout_id, g_source_remove);
  c->closed_id = g_idle_add_full (G_PRIORITY_DEFAULT, ims_frame_conn_report_closed, c,
                                  NULL); /* see ims_line_conn_close */
}

static void
ims_frame_conn_fail_literal (ImsFrameConn *c, GQuark domain, int code, const char *message)
{
  g_autoptr (GError) e = g_error_new_literal (domain, code, message);
  ims_frame_conn_fail (c, e);
}

static void ims_frame_conn_read (ImsFrameConn *c);
static void ims_frame_conn_flush (ImsFrameConn *c);

static void
ims_frame_conn_deliver (ImsFrameConn *c)
{
  gsize at = 0;
  while (!c->dead && !c->failed && at < c->in->len)
    {
      g_autoptr (GError) error = NULL;
      gssize n = c->framer (c->in->data + at, c->in->len - at, &error);
      if (n < 0)
        {
          ims_frame_conn_fail (c, error);
          break;
        }
      if (n > 0 && (gsize) n > c->max_frame)
        {
          ims_frame_conn_fail_literal (c, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                       "the server sent a frame over the size limit");
          break;
        }
      if (n == 0 || (gsize) n > c->in->len - at)
        {
          if (c->in->len - at > c->max_frame)
            ims_frame_conn_fail_literal (c, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                         "the server sent a frame over the size limit");
          break;
        }
      c->funcs.frame (c, c->in->data + at, (gsize) n, c->user_data);
      at += (gsize) n;
    }
  if (at > 0 && !c->dead)
    g_byte_array_remove_range (c->in, 0, MIN (at, c->in->len));
}

static void
ims_frame_conn_read_done (GObject *source, GAsyncResult *res, gpointer data)
{
  ImsFrameConn *c = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  if (!c->dead && !c->failed)
    {
      if (n < 0)
        ims_frame_conn_fail (c, error);
      else if (n == 0)
        ims_frame_conn_fail_literal (c, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                     "the server closed the connection");
      else
        {
          g_byte_array_append (c->in, c->chunk, (guint) n);
          ims_frame_conn_deliver (c);
          if (!c->dead && !c->failed)
            ims_frame_conn_read (c);
        }
    }
  ims_frame_conn_unref (c);
}

static void
ims_frame_conn_read (ImsFrameConn *c)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->connection));
  g_input_stream_read_async (in, c->chunk, sizeof c->chunk, G_PRIORITY_DEFAULT, c->cancel,
                             ims_frame_conn_read_done, ims_frame_conn_ref (c));
}

static void
ims_frame_conn_write_done (GObject *source, GAsyncResult *res, gpointer data)
{
  ImsFrameConn *c = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error);
  c->writing = FALSE;
  GBytes *done = g_queue_pop_head (&c->out);
  c->out_bytes -= g_bytes_get_size (done);
  g_bytes_unref (done);
  if (!c->dead && !c->failed)
    {
      if (!ok)
        ims_frame_conn_fail (c, error);
      else
        ims_frame_conn_flush (c);
    }
  ims_frame_conn_unref (c);
}

static void
ims_frame_conn_flush (ImsFrameConn *c)
{
  if (c->writing || c->connection == NULL)
    return;
  if (g_queue_is_empty (&c->out))
    {
      if (c->finishing)
        g_socket_shutdown (g_socket_connection_get_socket (c->connection), FALSE, TRUE, NULL);
      return;
    }
  GBytes *b = g_queue_peek_head (&c->out);
  gsize len;
  const void *p = g_bytes_get_data (b, &len);
  c->writing = TRUE;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c->connection));
  g_output_stream_write_all_async (out, p, len, G_PRIORITY_DEFAULT, c->cancel,
                                   ims_frame_conn_write_done, ims_frame_conn_ref (c));
}

void
ims_frame_conn_send (ImsFrameConn *c, const void *data, gsize len)
{
  if (c->dead || c->failed || c->finishing || len == 0)
    return;
  if (c->out_bytes + len > c->max_output)
    {
      /* A server that stops reading cannot make us hold all we send it. */
      g_autoptr (GError) e = g_error_new (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                          "the server reads nothing: more than %" G_GSIZE_FORMAT
                                          " bytes unsent", c->max_output);
      ims_frame_conn_fail (c, e);
      return;
    }
  c->out_bytes += len;
  g_queue_push_tail (&c->out, g_bytes_new (data, len));
  ims_frame_conn_flush (c);
}

static void
ims_frame_conn_connect_done (GObject *source, GAsyncResult *res, gpointer data)
{
  ImsFrameConn *c = data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                                    res, &error);
  g_clear_handle_id (&c->connect_timeout_id, g_source_remove);
  if (c->dead || c->failed)
    g_clear_object (&conn);
  else if (conn == NULL)
    ims_frame_conn_fail (c, error);
  else
    {
      c->connection = conn;
      GSocket *sock = g_socket_connection_get_socket (conn);
      g_socket_set_keepalive (sock, TRUE);
      g_socket_set_option (sock, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      ims_frame_conn_read (c);
      c->funcs.connected (c, c->user_data);
      if (!c->dead && !c->failed)
        ims_frame_conn_flush (c);
    }
  ims_frame_conn_unref (c);
}

static gboolean
ims_frame_conn_connect_timeout (gpointer data)
{
  ImsFrameConn *c = data;
  c->connect_timeout_id = 0;
  ims_frame_conn_fail_literal (c, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "no connection to the server in time");
  return G_SOURCE_REMOVE;
}

ImsFrameConn *
ims_frame_conn_new (const char *host, int port, guint timeout_s, gsize max_frame,
                    ImsFramerFunc framer, const ImsFrameConnFuncs *funcs, gpointer user_data)
{
  ImsFrameConn *c = g_new0 (ImsFrameConn, 1);
  c->refs = 1;
  c->framer = framer;
  c->funcs = *funcs;
  c->user_data = user_data;
  c->max_frame = max_frame;
  c->cancel = g_cancellable_new ();
  c->in = g_byte_array_new ();
  g_queue_init (&c->out);
  c->max_output = IMS_FRAME_CONN_MAX_OUTPUT;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  c->connect_timeout_id = g_timeout_add_seconds (timeout_s, ims_frame_conn_connect_timeout, c);
  g_socket_client_connect_to_host_async (client, host, (guint16) port, c->cancel,
                                         ims_frame_conn_connect_done, ims_frame_conn_ref (c));
  return c;
}

void
ims_frame_conn_free (ImsFrameConn *c)
{
  if (c == NULL)
    return;
  c->dead = TRUE;
  g_cancellable_cancel (c->cancel);
  if (c->connection)
    {
      /* An orderly close (FIN, not RST): servers tell buddies we left only
       * then.  Unread input would turn close() into a reset, so drain it. */
      GSocket *sock = g_socket_connection_get_socket (c->connection);
      g_socket_set_blocking (sock, FALSE);
      g_socket_shutdown (sock, FALSE, TRUE, NULL);
      char sink[4096];
      for (int i = 0; i < 16 && g_socket_receive (sock, sink, sizeof sink, NULL, NULL) > 0; i++)
        ;
      g_socket_close (sock, NULL);
    }
  ims_frame_conn_unref (c);
}

void
ims_frame_conn_finish (ImsFrameConn *c)
{
  if (c->dead || c->failed || c->finishing)
    return;
  c->finishing = TRUE;
  ims_frame_conn_flush (c);
}

void
ims_frame_conn_set_max_output (ImsFrameConn *c, gsize max)
{
  c->max_output = max;
}
