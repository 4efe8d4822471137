/* ims-daemon: the daemon's parts wired together, and the service facade
 * (ims-service.h) every front end talks to: send, dial, reload, debug.
 * main.c does options, logging and signals around it.
 */
#pragma once

#include "ims-config.h"

G_BEGIN_DECLS

typedef struct _ImsDaemon ImsDaemon;

/* Takes @config (loaded from @config_path) and starts every part: the state
 * database, the control socket, FastAGI, HTTP, the drivers, AMI.  NULL +
 * @error (one line for the admin) when a part cannot start; what had
 * started is stopped again. */
ImsDaemon *ims_daemon_new (const char *config_path, ImsConfig *config, int debug, GError **error);
/* Stops everything that started, in reverse; NULL does nothing. */
void ims_daemon_free (ImsDaemon *daemon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsDaemon, ims_daemon_free)

/* Reads im.conf again; a bad one is refused and the running one stays. */
gboolean ims_daemon_reload (ImsDaemon *daemon, GError **error);
/* The configured secrets, for the log writer to redact (borrowed). */
GPtrArray *ims_daemon_secrets (ImsDaemon *daemon);
int ims_daemon_debug (ImsDaemon *daemon);
/* "imstatusd started: ..." for the log. */
char *ims_daemon_describe (ImsDaemon *daemon);

G_END_DECLS
