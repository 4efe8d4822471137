/* ims-detach: going to the background without losing startup errors.
 *
 * The parent forks and waits on a pipe for the child's one word: "ready"
 * (the sockets listen, the drivers run) and the parent exits 0, or an error
 * message that the parent prints before exiting 1.  systemd (Type=notify,
 * foreground) hears the same moment as READY=1.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Forks; returns in the child only (FALSE + @error if the fork failed). */
gboolean ims_detach_start (GError **error);
/* The daemon is up: the waiting parent exits 0; READY=1 to systemd. */
void ims_detach_ready (void);
/* Startup failed with @message: the waiting parent prints it and exits 1. */
void ims_detach_fail (const char *message);
/* Tell systemd about a reload or the stop (no-ops outside systemd). */
void ims_detach_reloading (gboolean reloading);
void ims_detach_stopping (void);

G_END_DECLS
