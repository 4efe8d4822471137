/* ims-control: the control socket imctl talks to.
 *
 * Protocol (version 1), line based, so `nc -U` can drive it:
 *   server, on connect:  "%imstatus 1\n"
 *   client:              one command per line, e.g. "show peers" or
 *                        "--json show subscribed aim1"; the text of `send` is
 *                        C-escaped (\n, \\, \ooo) so it stays on one line
 *   server, per command: "%begin N\n" <output lines> "%end N\n"
 *                        or "%begin N\n" <reason> "%error N\n"
 * as tmux control mode frames its replies.
 */
#pragma once

#include "ims-config.h"
#include "ims-presence-store.h"

G_BEGIN_DECLS

#define IMS_CONTROL_VERSION 1
#define IMS_CONTROL_MAX_LINE 65536
#define IMS_CONTROL_MAX_CLIENTS 32

#define IMS_CONTROL_ERROR (ims_control_error_quark ())
GQuark ims_control_error_quark (void);

typedef enum {
  IMS_CONTROL_ERROR_SOCKET,
  IMS_CONTROL_ERROR_RUNNING,
  IMS_CONTROL_ERROR_COMMAND,
} ImsControlError;

/* What the daemon lends the control commands. */
typedef struct {
  ImsPresenceStore *store;
  const ImsConfig *(*config) (gpointer user_data);
  gboolean (*reload) (gpointer user_data, GError **error);
  /* Returns the IM-SENDSTATUS word (SENT, QUEUED, FAILED), sets *result
   * (IM-RESULT) and *detail. */
  const char *(*send) (gpointer user_data, const char *peer, const char *to, const char *text,
                       ImsResult *result, char **detail);
  void (*set_debug) (gpointer user_data, int level);
  gpointer user_data;
} ImsControlHooks;

typedef struct _ImsControl ImsControl;

/* Binds @path (0660).  Refuses when a live daemon answers there; removes a
 * stale socket file. */
ImsControl *ims_control_new (const char *path, guint idle_timeout_s, const ImsControlHooks *hooks,
                             GError **error);
void ims_control_free (ImsControl *control);

/* Runs one command line and returns its output; FALSE + @error for a bad
 * command.  The socket server calls this; so do the unit tests. */
gboolean ims_control_run (const ImsControlHooks *hooks, const char *line, GString *out,
                          GError **error);

G_END_DECLS
