/* ims-frame-conn: one client connection to an IM server on the main loop,
 * for the native drivers (OSCAR, YMSG, MSNP).  It connects with a timeout,
 * reads bytes and hands out whole frames as the protocol's pure framer says
 * where one ends, queues writes in order, and reports the end once.  The
 * protocol is the caller's; this is only the socket.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _ImsFrameConn ImsFrameConn;

/* How long the frame at the start of @buf is: > 0 its length (it may be
 * longer than @len: then more is read), 0 when more bytes are needed to tell,
 * -1 with @error when the bytes are no frame of the protocol. */
typedef gssize (*ImsFramerFunc) (const guint8 *buf, gsize len, GError **error);

typedef struct {
  /* Connected: the protocol may start. */
  void (*connected) (ImsFrameConn *conn, gpointer user_data);
  /* One whole frame (@len bytes, valid during the call). */
  void (*frame) (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer user_data);
  /* The end, once: connect failed, the server closed, a read/write error,
   * a bad frame.  @error says which.  Called from the main loop, never from
   * inside ims_frame_conn_* calls; the owner then frees @conn. */
  void (*closed) (ImsFrameConn *conn, const GError *error, gpointer user_data);
} ImsFrameConnFuncs;

/* Starts connecting to @host:@port (@timeout_s for the TCP connect);
 * frames longer than @max_frame end the connection. */
ImsFrameConn *ims_frame_conn_new (const char *host, int port, guint timeout_s, gsize max_frame,
                                  ImsFramerFunc framer, const ImsFrameConnFuncs *funcs,
                                  gpointer user_data);
/* What may wait unsent, at most: past it the connection ends (closed()). */
#define IMS_FRAME_CONN_MAX_OUTPUT (8 * 1024 * 1024)

/* Queues @len bytes; written in order once connected. */
void ims_frame_conn_send (ImsFrameConn *conn, const void *data, gsize len);
/* We send nothing more: once what is queued is written, the write side is
 * shut (FIN).  Reading goes on; the server's close comes through closed()
 * as G_IO_ERROR_CONNECTION_CLOSED.  Later sends are dropped. */
void ims_frame_conn_finish (ImsFrameConn *conn);
/* For tests: another limit on what may wait unsent. */
void ims_frame_conn_set_max_output (ImsFrameConn *conn, gsize max);
/* Ends the connection with @error (copied) reported through closed() from
 * the main loop. */
void ims_frame_conn_fail (ImsFrameConn *conn, const GError *error);
/* Closes (after trying to flush what is queued) and frees; no callback
 * after this.  Safe inside any callback of @conn. */
void ims_frame_conn_free (ImsFrameConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsFrameConn, ims_frame_conn_free)

G_END_DECLS
