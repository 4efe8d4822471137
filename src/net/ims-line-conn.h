/* ims-line-conn: one line-oriented client connection on the main loop, for
 * the servers (control socket, FastAGI).  Reads are asynchronous and bounded,
 * writes are queued, an idle client is timed out, and the connection is
 * reference-counted so it is never freed inside its own callback (Redis's
 * "free a client from a safe point").
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _ImsLineConn ImsLineConn;

/* Output a client has not read yet, at most; beyond it the client is
 * dropped (with a warning) rather than the daemon's memory grown. */
#define IMS_LINE_CONN_MAX_OUTPUT (1024 * 1024)
/* Lines one connection gets per main-loop turn. */
#define IMS_LINE_CONN_LINES_PER_TURN 32

typedef enum {
  IMS_LINE_EVENT_LINE,     /* @line (without the LF, NUL-terminated, @len bytes) */
  IMS_LINE_EVENT_TOO_LONG, /* more than max_line bytes without LF; input dropped */
  IMS_LINE_EVENT_TIMEOUT,  /* nothing read for idle_timeout_ms */
  IMS_LINE_EVENT_CLOSED,   /* the last event: the owner forgets @conn */
} ImsLineEvent;

typedef void (*ImsLineEventFunc) (ImsLineConn *conn, ImsLineEvent event, const char *line,
                                  gsize len, gpointer user_data);

/* Takes a reference on @connection and starts reading. */
ImsLineConn *ims_line_conn_new (GSocketConnection *connection, gsize max_line,
                                guint idle_timeout_ms, ImsLineEventFunc func, gpointer user_data);
void ims_line_conn_write (ImsLineConn *conn, const char *data, gsize len);
void ims_line_conn_set_max_output (ImsLineConn *conn, gsize bytes);
/* 0 = never time out (a watcher waiting for notifications). */
void ims_line_conn_set_idle_timeout (ImsLineConn *conn, guint idle_timeout_ms);
/* No more lines are delivered; closes once the queued output is written. */
void ims_line_conn_close_after_write (ImsLineConn *conn);
/* Closes now; CLOSED is delivered from the main loop, not from inside this call. */
void ims_line_conn_close (ImsLineConn *conn);
/* Events go to @func/@user_data from now on (NULL func: dropped). */
void ims_line_conn_set_handler (ImsLineConn *conn, ImsLineEventFunc func, gpointer user_data);
/* The peer's address as text ("127.0.0.1:40000"), for logs (transfer none). */
const char *ims_line_conn_peer (ImsLineConn *conn);

G_END_DECLS
