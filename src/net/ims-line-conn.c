/* ims-line-conn: see the header.  Every pending read, write and the final
 * CLOSED delivery hold a reference; callbacks that find the connection dead
 * only drop theirs. */
#define G_LOG_DOMAIN "ims-net"

#include "ims-line-conn.h"

#include <string.h>

struct _ImsLineConn {
  GSocketConnection *conn;
  GSocket *socket;
  gboolean stream;     /* TLS (a wrapper connection): I/O through its pollable streams */
  GSource *in_source;
  GSource *out_source; /* only while output is waiting for room */
  GString *in;
  GString *out;
  gsize max_line;
  gsize max_out;
  guint idle_ms;
  guint timeout_id;
  guint more_id;       /* complete lines wait for the next main-loop turn */
  ImsLineEventFunc func;
  gpointer user_data;
  gboolean closing; /* close once the output is written; deliver no more lines */
  gboolean dead;
  guint refs;
  char *peer;
  GInetAddress *addr;
  char buf[8192];
};

/* Reads and writes are plain non-blocking socket calls driven by GSources:
 * one read source for the connection's life and a write source only while
 * the kernel buffer is full.  (The GIO async stream calls cost a GTask per
 * operation, which dominated a FastAGI session in callgrind.) */

static gboolean on_line_conn_writable (GSocket *socket, GIOCondition cond, gpointer data);
static gboolean on_line_conn_readable (GSocket *socket, GIOCondition cond, gpointer data);

/* A TLS connection (the GTcpWrapperConnection GSocketClient returns) is
 * read and written through its pollable streams, which know what TLS has
 * buffered; a plain one through the socket. */
static gssize
ims_line_conn_recv (ImsLineConn *c, char *buf, gsize len, GError **error)
{
  if (!c->stream)
    return g_socket_receive (c->socket, buf, len, NULL, error);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->conn));
  return g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buf, len, NULL,
                                                   error);
}

static gssize
ims_line_conn_send (ImsLineConn *c, const char *buf, gsize len, GError **error)
{
  if (!c->stream)
    return g_socket_send (c->socket, buf, len, NULL, error);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c->conn));
  return g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), buf, len,
                                                     NULL, error);
}

static gboolean
on_line_conn_stream_readable (GObject *stream, gpointer data)
{
  return on_line_conn_readable (NULL, G_IO_IN, data);
}

static gboolean
on_line_conn_stream_writable (GObject *stream, gpointer data)
{
  return on_line_conn_writable (NULL, G_IO_OUT, data);
}

/* A source for @cond (G_IO_IN or G_IO_OUT), not yet attached. */
static GSource *
ims_line_conn_source (ImsLineConn *c, GIOCondition cond)
{
  GSource *src;
  if (!c->stream)
    {
      src = g_socket_create_source (c->socket, cond == G_IO_IN ? G_IO_IN | G_IO_HUP | G_IO_ERR
                                                               : G_IO_OUT,
                                    NULL);
      g_source_set_callback (src,
                             cond == G_IO_IN
                                 ? (GSourceFunc) (void (*) (void)) on_line_conn_readable
                                 : (GSourceFunc) (void (*) (void)) on_line_conn_writable,
                             c, NULL);
    }
  else if (cond == G_IO_IN)
    {
      GIOStream *io = G_IO_STREAM (c->conn);
      src = g_pollable_input_stream_create_source (
          G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (io)), NULL);
      g_source_set_callback (src, (GSourceFunc) (void (*) (void)) on_line_conn_stream_readable, c,
                             NULL);
    }
  else
    {
      GIOStream *io = G_IO_STREAM (c->conn);
      src = g_pollable_output_stream_create_source (
          G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (io)), NULL);
      g_source_set_callback (src, (GSourceFunc) (void (*) (void)) on_line_conn_stream_writable, c,
                             NULL);
    }
  /* GLib blocks a source that may not recurse while it runs: its descriptor
   * leaves the poll set and comes back, and each change wakes the loop up
   * again (two eventfd writes and an extra poll per line read).  Nothing
   * here runs a nested main loop, so recursion cannot happen. */
  g_source_set_can_recurse (src, TRUE);
  return src;
}

static void
ims_line_conn_unref (ImsLineConn *c)
{
  if (--c->refs > 0)
    return;
  g_clear_object (&c->conn);
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
  ims_line_conn_unref (c);
  return G_SOURCE_REMOVE;
}

static void
ims_line_conn_drop_source (GSource **src)
{
  if (*src)
    {
      g_source_destroy (*src);
      g_source_unref (*src);
      *src = NULL;
    }
}

void
ims_line_conn_close (ImsLineConn *c)
{
  if (c->dead)
    return;
  c->dead = TRUE;
  c->closing = TRUE;
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  if (c->more_id)
    {
      g_clear_handle_id (&c->more_id, g_source_remove);
      c->refs--; /* the idle's reference; CLOSED below still holds one */
    }
  ims_line_conn_drop_source (&c->in_source);
  ims_line_conn_drop_source (&c->out_source);
  g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  /* The owner's reference goes with the CLOSED event, from the main loop;
   * at the I/O's own priority: an idle one waits while connections keep the
   * loop busy, and every pending one is looked at in every turn (66 of them
   * under one FastAGI client made the loop's prepare most of its cost). */
  g_idle_add_full (G_PRIORITY_DEFAULT, ims_line_conn_closed_cb, c, NULL);
}

/* Writes what the kernel takes now; FALSE when the connection failed. */
static gboolean
ims_line_conn_flush (ImsLineConn *c)
{
  while (c->out->len > 0)
    {
      GError *err = NULL;
      gssize n = ims_line_conn_send (c, c->out->str, c->out->len, &err);
      if (n < 0)
        {
          gboolean again = g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_error_free (err);
          if (!again)
            return FALSE;
          if (c->out_source == NULL)
            {
              c->out_source = ims_line_conn_source (c, G_IO_OUT);
              g_source_attach (c->out_source, NULL);
            }
          return TRUE;
        }
      g_string_erase (c->out, 0, n);
    }
  ims_line_conn_drop_source (&c->out_source);
  if (c->closing)
    ims_line_conn_close (c);
  return TRUE;
}

static gboolean
on_line_conn_writable (GSocket *socket, GIOCondition cond, gpointer data)
{
  ImsLineConn *c = data;
  if (!ims_line_conn_flush (c))
    ims_line_conn_close (c);
  return G_SOURCE_CONTINUE; /* flush or close dropped it when done */
}

void
ims_line_conn_close_after_write (ImsLineConn *c)
{
  c->closing = TRUE;
  if (c->out->len == 0)
    ims_line_conn_close (c);
}

void
ims_line_conn_write (ImsLineConn *c, const char *data, gsize len)
{
  if (c->dead)
    return;
  if (c->out->len + len > c->max_out)
    {
      /* A reader that never reads must not grow our memory. */
      g_warning ("%s: more than %" G_GSIZE_FORMAT " bytes waiting to be read; dropping the "
                 "connection", c->peer, c->max_out);
      ims_line_conn_close (c);
      return;
    }
  gboolean idle = c->out->len == 0;
  g_string_append_len (c->out, data, len);
  if (idle && !ims_line_conn_flush (c))
    ims_line_conn_close (c);
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
  g_autofree char *line = g_malloc (len + 1);
  /* The real bytes, NULs included, so the owner can refuse them. */
  memcpy (line, c->in->str, len);
  line[len] = '\0';
  g_string_erase (c->in, 0, MIN (len + 1, c->in->len));
  c->func (c, IMS_LINE_EVENT_LINE, line, len, c->user_data);
}

/* Delivers at most IMS_LINE_CONN_LINES_PER_TURN complete lines; TRUE when
 * more are waiting.  One client that writes without pause gets its share of
 * the main loop and no more: every other connection and timer runs between
 * two of its turns. */
static gboolean
ims_line_conn_dispatch (ImsLineConn *c)
{
  guint n = 0;
  char *nl;
  while (!c->closing && (nl = memchr (c->in->str, '\n', c->in->len)) != NULL)
    {
      if (n++ == IMS_LINE_CONN_LINES_PER_TURN)
        return TRUE;
      gsize len = nl - c->in->str;
      if (len <= c->max_line)
        {
          ims_line_conn_deliver (c, len);
          continue;
        }
      /* A whole line over the limit that came in one read. */
      g_string_erase (c->in, 0, len + 1);
      c->func (c, IMS_LINE_EVENT_TOO_LONG, NULL, 0, c->user_data);
    }
  if (!c->closing && c->in->len > c->max_line)
    {
      g_string_truncate (c->in, 0);
      c->func (c, IMS_LINE_EVENT_TOO_LONG, NULL, 0, c->user_data);
      ims_line_conn_close_after_write (c);
    }
  return FALSE;
}

static gboolean
on_line_conn_more (gpointer data)
{
  ImsLineConn *c = data;
  if (!c->dead && !c->closing && ims_line_conn_dispatch (c) && !c->dead)
    return G_SOURCE_CONTINUE;
  if (c->more_id)
    {
      c->more_id = 0;
      ims_line_conn_unref (c); /* the idle's reference */
    }
  return G_SOURCE_REMOVE;
}

static gboolean
on_line_conn_readable (GSocket *socket, GIOCondition cond, gpointer data)
{
  ImsLineConn *c = data;
  c->refs++; /* the owner may close from inside its callback */
  /* One read per turn, and none while read lines still wait: the kernel's
   * buffer, not ours, holds what a flooding client sends. */
  if (!c->dead && !c->closing && c->more_id == 0)
    {
      GError *err = NULL;
      gssize n = ims_line_conn_recv (c, c->buf, sizeof c->buf, &err);
      if (n < 0 && g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_error_free (err);
      else if (n <= 0)
        {
          g_clear_error (&err);
          /* End of input: what is left is delivered, then the last line. */
          while (!c->dead && !c->closing && ims_line_conn_dispatch (c))
            ;
          if (!c->dead && !c->closing && c->in->len > 0 && c->in->len <= c->max_line)
            ims_line_conn_deliver (c, c->in->len);
          if (!c->dead)
            {
              ims_line_conn_drop_source (&c->in_source);
              ims_line_conn_close_after_write (c);
            }
        }
      else
        {
          g_string_append_len (c->in, c->buf, n);
          ims_line_conn_arm (c);
          if (ims_line_conn_dispatch (c) && !c->dead)
            {
              c->refs++; /* for the idle */
              c->more_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_line_conn_more, c, NULL);
            }
        }
    }
  gboolean keep = !c->dead && !c->closing;
  if (!keep && !c->dead)
    ims_line_conn_drop_source (&c->in_source);
  ims_line_conn_unref (c);
  /* Removing the running source is left to drop_source/close. */
  return G_SOURCE_CONTINUE;
}

ImsLineConn *
ims_line_conn_new (GSocketConnection *connection, gsize max_line, guint idle_timeout_ms,
                   ImsLineEventFunc func, gpointer user_data)
{
  ImsLineConn *c = g_new0 (ImsLineConn, 1);
  c->refs = 1;
  c->conn = g_object_ref (connection);
  c->socket = g_socket_connection_get_socket (connection);
  c->stream = G_IS_TCP_WRAPPER_CONNECTION (connection);
  g_socket_set_blocking (c->socket, FALSE);
  c->in = g_string_new (NULL);
  c->out = g_string_new (NULL);
  c->max_out = IMS_LINE_CONN_MAX_OUTPUT;
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
  c->in_source = ims_line_conn_source (c, G_IO_IN);
  g_source_attach (c->in_source, NULL);
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

void
ims_line_conn_set_max_output (ImsLineConn *c, gsize bytes)
{
  c->max_out = bytes;
}

void
ims_line_conn_set_idle_timeout (ImsLineConn *c, guint idle_timeout_ms)
{
  c->idle_ms = idle_timeout_ms;
  ims_line_conn_arm (c);
}
