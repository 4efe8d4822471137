/* A listening socket on the main loop that survives running out of
 * descriptors.
 *
 * GSocketService retries accept() at once when it fails, so with every
 * descriptor in use it spins (and logs each failure); libsoup's listener
 * stops listening for good after one failure.  Here a failed accept() for
 * want of descriptors pauses the listener: it says so once, tries again
 * every second without a word, and says when it accepts again.  Connections
 * wait in the kernel's backlog meanwhile. */
#pragma once

#include <gio/gio.h>
#include <sys/socket.h>

G_BEGIN_DECLS

#define IMS_LISTENER_RETRY_S 1 /* accept() again after running out of descriptors */
#define IMS_LISTENER_BURST 64  /* accepts per wake-up, so one busy listener cannot starve the loop */

/* The mechanism beneath ImsListener, for a front end that polls its own
 * descriptors (FastAGI's wire). */

/* A listening socket on @addr: non-blocking, close-on-exec, SO_REUSEADDR
 * unless it is a unix socket (created with the process umask).  -1 with
 * @error set when it cannot be bound. */
int ims_listen_fd (GSocketAddress *addr, int backlog, GError **error);

/* One listening socket's state: accepting, or paused for want of descriptors. */
typedef struct {
  const char *what; /* names it in the log: "FastAGI" */
  gboolean paused;
} ImsAcceptGate;

/* accept4() on @lfd: the client's descriptor (non-blocking, close-on-exec)
 * and its address in @sa (may be NULL).  -1 when nobody is waiting, or,
 * with *@pause set, when descriptors ran out: that is said once in the log;
 * stop watching @lfd and call again in IMS_LISTENER_RETRY_S.  A client that
 * left before it was taken is skipped.  The first client after a pause is
 * announced. */
int ims_accept_fd (ImsAcceptGate *gate, int lfd, struct sockaddr_storage *sa, gboolean *pause);

/* What follows is a listener that does all of it on the main loop. */

typedef struct _ImsListener ImsListener;

/* Called for each accepted connection; take a reference to keep it. */
typedef void (*ImsListenerFunc) (GSocketConnection *conn, gpointer user_data);

/* Binds @addr (a unix socket path is created with the process umask) and
 * listens with @backlog.  @what names the listener in the log ("FastAGI").
 * NULL with @error set when the address cannot be bound. */
ImsListener *ims_listener_new (GSocketAddress *addr, int backlog, const char *what,
                               ImsListenerFunc func, gpointer user_data, GError **error);

/* Stops listening and closes the socket; NULL-safe. */
void ims_listener_free (ImsListener *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsListener, ims_listener_free)

G_END_DECLS
