/* ims-loop-lock: the main loop's lock, for a thread that must briefly act
 * as if it ran on the main loop (read the store, add a timeout) without
 * waking it.
 *
 * Installed, the lock is held by the thread that runs the default main
 * context at all times but while it waits in poll(): another thread that
 * takes it runs alone with the daemon's state, exactly as a callback of the
 * main loop would, and gives it back before the loop can go on.  Most of
 * the time the loop is waiting, so taking the lock costs no wake-up.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* On the main loop's thread, before it runs: takes the lock and wraps the
 * default context's poll.  Counted: the last uninstall undoes it. */
void ims_loop_lock_install (void);
void ims_loop_lock_uninstall (void);

/* From any other thread: wait until the main loop is in poll() and hold it
 * there.  Recursive: a thread that holds it may take it again. */
void ims_loop_lock (void);
void ims_loop_unlock (void);

/* Marks the calling thread as one of ours that acts as the main loop
 * (the FastAGI wire's): code any thread may run, the log writer, then
 * takes the lock for it with ims_loop_lock_if_enrolled.  Never for a
 * library's worker thread: the main loop may be waiting for one (GSettings
 * waits for its dconf worker), and that worker must not wait for the loop. */
void ims_loop_lock_enrol (void);
/* Takes the lock when the calling thread is enrolled: TRUE, and unlock
 * after.  The main loop's thread holds it already; others go on as they are. */
gboolean ims_loop_lock_if_enrolled (void);

G_END_DECLS
