/* ims-line-conn: see the header.  Every pending read, write and the final
 * CLOSED delivery hold a reference; callbacks that find the connection dead
 * only drop theirs. */
#define G_LOG_DOMAIN "ims-net"

#include "ims-line-conn.h"

#include <string.h>

struct _ImsLineConn {
  GSocketConnection *conn;
  GCancellable *cancel;
  GString *in;
  GString *out;
  gsize max_line;
  guint idle_ms;
  guint timeout_id;
  ImsLineEventFunc func;
  gpointer user_data;
  gboolean writing;
  gboolean closing; /* close once the output is written; deliver no more lines */
  gboolean dead;
  guint refs;
  char *peer;
  GInetAddress *addr;
  char buf[8192];
};

static void ims_line_conn_read (ImsLineConn *c);
static void ims_line_conn_flush (ImsLineConn *c);

static ImsLineConn *
ims_line_conn_ref (ImsLineConn *c)
{
  c->refs++;
  return c;
}

static void
ims_line_conn_unref (ImsLineConn *c)
{
  if (--c->refs > 0)
    return;
  g_clear_object (&c->conn);
  g_clear_object (&c->cancel);
  g_clear_object (&c->addr);
  g_string_free (c->in, TRUE);
  g_string_free (c->out, TRUE);
  g_free (c->peer);
  g_free (c);
}

static gboolean
ims_line_conn_closed_cb (gpointer data)
{
  ImsLineConn *c = data;
  c->func (c, IMS_LINE_EVENT_CLOSED, NULL, 0, c->user_data);
  ims_line_conn_unref (c); /* this callback's */
  ims_line_conn_unref (c); /* the owner's, from _new */
  return G_SOURCE_REMOVE;
}

void
ims_line_conn_close (ImsLineConn *c)
{
  if (c->dead)
    return;
  c->dead = TRUE;
  c->closing = TRUE;
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  g_cancellable_cancel (c->cancel);
  g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  g_idle_add (ims_line_conn_closed_cb, ims_line_conn_ref (c));
}

void
ims_line_conn_close_after_write (ImsLineConn *c)
{
  c->closing = TRUE;
  if (!c->writing && c->out->len == 0)
    ims_line_conn_close (c);
}

static void
ims_line_conn_write_cb (GObject *src, GAsyncResult *res, gpointer data)
{
  ImsLineConn *c = data;
  gsize written = 0;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (src), res, &written, NULL);
  c->writing = FALSE;
  if (!c->dead)
    {
      g_string_erase (c->out, 0, written);
      if (!ok)
        ims_line_conn_close (c);
      else if (c->out->len > 0)
        ims_line_conn_flush (c);
      else if (c->closing)
        ims_line_conn_close (c);
    }
  ims_line_conn_unref (c);
}

static void
ims_line_conn_flush (ImsLineConn *c)
{
  if (c->dead || c->writing || c->out->len == 0)
    return;
  c->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (c->conn)),
                                   c->out->str, c->out->len, G_PRIORITY_DEFAULT, c->cancel,
                                   ims_line_conn_write_cb, ims_line_conn_ref (c));
}

void
ims_line_conn_write (ImsLineConn *c, const char *data, gsize len)
{
  if (c->dead)
    return;
  g_string_append_len (c->out, data, len);
  ims_line_conn_flush (c);
}

static gboolean
ims_line_conn_timeout_cb (gpointer data)
{
  ImsLineConn *c = data;
  c->timeout_id = 0;
  c->func (c, IMS_LINE_EVENT_TIMEOUT, NULL, 0, c->user_data);
  ims_line_conn_close_after_write (c);
  return G_SOURCE_REMOVE;
}

static void
ims_line_conn_arm (ImsLineConn *c)
{
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  if (c->idle_ms && !c->closing)
    c->timeout_id = g_timeout_add (c->idle_ms, ims_line_conn_timeout_cb, c);
}

static void
ims_line_conn_deliver (ImsLineConn *c, gsize len)
{
  g_autofree char *line = g_strndup (c->in->str, len);
  /* g_strndup stops at a NUL: keep the real bytes so the owner can refuse them. */
  memcpy (line, c->in->str, len);
  g_string_erase (c->in, 0, MIN (len + 1, c->in->len));
  c->func (c, IMS_LINE_EVENT_LINE, line, len, c->user_data);
}

static void
ims_line_conn_read_cb (GObject *src, GAsyncResult *res, gpointer data)
{
  ImsLineConn *c = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, NULL);
  if (!c->dead && !c->closing)
    {
      if (n <= 0)
        {
          if (c->in->len > 0 && c->in->len <= c->max_line)
            ims_line_conn_deliver (c, c->in->len);
          if (!c->dead)
            ims_line_conn_close_after_write (c);
        }
      else
        {
          g_string_append_len (c->in, c->buf, n);
          ims_line_conn_arm (c);
          char *nl;
          while (!c->closing && (nl = memchr (c->in->str, '\n', c->in->len)) != NULL)
            ims_line_conn_deliver (c, nl - c->in->str);
          if (!c->closing && c->in->len > c->max_line)
            {
              g_string_truncate (c->in, 0);
              c->func (c, IMS_LINE_EVENT_TOO_LONG, NULL, 0, c->user_data);
              ims_line_conn_close_after_write (c);
            }
          if (!c->closing)
            ims_line_conn_read (c);
        }
    }
  ims_line_conn_unref (c);
}

static void
ims_line_conn_read (ImsLineConn *c)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (c->conn)), c->buf,
                             sizeof c->buf, G_PRIORITY_DEFAULT, c->cancel, ims_line_conn_read_cb,
                             ims_line_conn_ref (c));
}

ImsLineConn *
ims_line_conn_new (GSocketConnection *connection, gsize max_line, guint idle_timeout_ms,
                   ImsLineEventFunc func, gpointer user_data)
{
  ImsLineConn *c = g_new0 (ImsLineConn, 1);
  c->refs = 1;
  c->conn = g_object_ref (connection);
  c->cancel = g_cancellable_new ();
  c->in = g_string_new (NULL);
  c->out = g_string_new (NULL);
  c->max_line = max_line;
  c->idle_ms = idle_timeout_ms;
  c->func = func;
  c->user_data = user_data;
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS (remote);
      c->addr = g_object_ref (g_inet_socket_address_get_address (isa));
      g_autofree char *a = g_inet_address_to_string (c->addr);
      c->peer = g_strdup_printf ("%s:%u", a, g_inet_socket_address_get_port (isa));
    }
  else
    c->peer = g_strdup ("local");
  ims_line_conn_arm (c);
  ims_line_conn_read (c);
  return c;
}

static void
ims_line_conn_ignore (ImsLineConn *conn, ImsLineEvent event, const char *line, gsize len,
                      gpointer user_data)
{
}

void
ims_line_conn_set_handler (ImsLineConn *c, ImsLineEventFunc func, gpointer user_data)
{
  c->func = func ? func : ims_line_conn_ignore;
  c->user_data = user_data;
}

const char *
ims_line_conn_peer (ImsLineConn *c)
{
  return c->peer;
}

GInetAddress *
ims_line_conn_peer_address (ImsLineConn *c)
{
  return c->addr;
}
