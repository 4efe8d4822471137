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

G_BEGIN_DECLS

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
