/* ims-control: the control socket imctl (and app_imstatus.so) talks to.
 *
 * Protocol (version 1), line based, so `nc -U` can drive it:
 *   server, on connect:  "%imstatus 1\n"
 *   client:              one command per line, e.g. "show peers" or
 *                        "--json show subscribed aim1"; the text of a raw
 *                        argument (send) is C-escaped (\n, \\, \ooo) so it
 *                        stays on one line
 *   server, per command: "%begin N\n" <output lines> "%end N\n"
 *                        or "%begin N\n" <reason> "%error N\n"
 *   after `watch`:       notifications, never inside a reply block:
 *                        "%peer <json>"  a peer and its state
 *                        "%buddy <json>" a buddy's answer ("old" on a change)
 *                        "%synced"       the snapshot is complete
 *                        "%peer-removed <json>" a peer left the configuration
 * as tmux control mode frames its replies and notifications.
 */
#pragma once

#include "ims-config.h"
#include "ims-presence-store.h"
#include "ims-service.h"
#include "ims-vocab.h"

G_BEGIN_DECLS

#define IMS_CONTROL_VERSION IMS_VOCAB_CONTROL_VERSION
#define IMS_CONTROL_MAX_LINE 65536
#define IMS_CONTROL_MAX_CLIENTS 64
/* One uid of the control group holds at most this many connections, and
 * the group together leaves IMS_CONTROL_RESERVED for root and the daemon's
 * own user, so a member's watch flood locks nobody else out. */
#define IMS_CONTROL_MAX_PER_UID 16
#define IMS_CONTROL_RESERVED 8

#define IMS_CONTROL_ERROR (ims_control_error_quark ())
GQuark ims_control_error_quark (void);

typedef enum {
  IMS_CONTROL_ERROR_SOCKET,
  IMS_CONTROL_ERROR_RUNNING,
  IMS_CONTROL_ERROR_COMMAND,
  IMS_CONTROL_ERROR_DENIED,
} ImsControlError;


/* Who may run a command (checked by the socket server). */
typedef enum {
  IMS_RIGHT_READ,  /* show, status, watch */
  IMS_RIGHT_SEND,  /* send */
  IMS_RIGHT_ADMIN, /* reload, debug */
} ImsRight;

typedef struct _ImsCmdCtx ImsCmdCtx;

/* One control command: the table row is its whole description. */
typedef struct {
  const char *pattern; /* the command words, "show subscribed" */
  const char *args;    /* usage of the arguments, "[peer[|user]]" */
  const char *help;    /* one line */
  ImsRight right;
  guint max_args;      /* words after the pattern */
  gboolean raw;        /* the last argument is free text, C-escaped on the wire */
  gboolean (*run) (ImsCmdCtx *ctx, GError **error);
} ImsCommand;

const ImsCommand *ims_control_commands (gsize *n_commands);
/* "  show peers\n  show subscribed [peer[|user]]\n..." (transfer full). */
char *ims_control_usage (void);

/* Runs one command line for a client with @rights and returns its output;
 * FALSE + @error for a bad command or one that needs more rights.  *watch (may be NULL) is set when the command asks for the
 * notification stream.  The socket server calls this; so do the unit
 * tests. */
gboolean ims_control_run (const ImsService *svc, const char *line, ImsRight rights,
                          GString *out, gboolean *watch, GError **error);

/* The peer as `show peers` and watch render it (JSON, one line; transfer full). */
char *ims_control_peer_json (const ImsService *svc, const char *peer);

typedef struct _ImsControl ImsControl;

/* Binds @path (0660, group @group when not NULL).  Refuses when a live
 * daemon answers there; removes a stale socket file.  Root and the daemon's
 * own user may run every command; others (who can reach the socket only
 * through @group) what the config's controlgrouprights allows. */
ImsControl *ims_control_new (const char *path, guint idle_timeout_s, const char *group,
                             const ImsService *svc, GError **error);
/* A reload's controltimeout, for connections opened after it. */
void ims_control_set_idle_timeout (ImsControl *control, guint idle_timeout_s);
void ims_control_free (ImsControl *control);

G_END_DECLS
