/* ims-core: routes peers to drivers and keeps what every network shares.
 *
 * Each peer goes to the driver its network's descriptor names (the registry
 * finds the descriptor by type=; libpurple takes what no other claims).  The
 * core, not a driver, adds peers and their watched buddies to the store, so
 * an offline, unregistered
 * or unsupported peer answers with the same ids as a logged-in one.  Reconnect
 * backoff, subscription approval, roster alignment and the reload diff live
 * here once.
 */
#pragma once

#include "ims-config.h"
#include "ims-driver.h"
#include "ims-presence-store.h"

G_BEGIN_DECLS

#define IMS_CORE_ERROR (ims_core_error_quark ())
GQuark ims_core_error_quark (void);

typedef enum {
  IMS_CORE_ERROR_NOPEER,
  IMS_CORE_ERROR_NOTCONNECTED,
} ImsCoreError;

/* What the daemon wires in; every hook may be NULL. */
typedef struct {
  /* May @peer be logged in now (activewhen)?  If not, *why says why. */
  gboolean (*allowed) (gpointer user_data, const ImsPeerConfig *peer, char **why);
  /* @peer is in the store now (also when offline): restore saved state,
   * apply the phone's state. */
  void (*peer_added) (gpointer user_data, const ImsPeerConfig *peer);
  /* An IM arrived for @peer. */
  void (*message) (gpointer user_data, const char *peer, const char *from, const char *text);
  gpointer user_data;
} ImsCoreHooks;

typedef struct {
  guint kept, live, changed, added, removed;
} ImsCoreChanges;

/* Creates one driver per constructor named by @config's networks (the
 * registry), in its order.  A driver that cannot start is an error: the
 * daemon does not start.  @config is borrowed until ims_core_apply() hands
 * over the next one. */
ImsCore *ims_core_new (ImsPresenceStore *store, const ImsConfig *config,
                       const ImsCoreHooks *hooks, GError **error);
void ims_core_free (ImsCore *core);

/* Brings the running peers in line with @config: removed peers log out, new
 * ones log in, changed ones log in again, and a change of only live keys
 * (subscribe, dial*) applies without a new login. */
void ims_core_apply (ImsCore *core, const ImsConfig *config, ImsCoreChanges *changes);
/* allowed() of @peer may have changed: log it in or out. */
void ims_core_recheck (ImsCore *core, const char *peer);

/* May IMSend write to @to (a full id) through @peer (sendallow: by default
 * the subscribe list)? */
gboolean ims_core_may_send_to (ImsCore *core, const char *peer, const char *to);
gboolean ims_core_send (ImsCore *core, const char *peer, const char *to, const char *text,
                        GError **error);
void ims_core_set_own (ImsCore *core, const char *peer, gboolean busy, const char *message);
/* A hint of @peer's publish context changed (see ImsDriverOps.phone). */
void ims_core_phone (ImsCore *core, const char *peer, const char *exten, const ImsPhoneState *state);
void ims_core_set_debug (ImsCore *core, int level);

/* Where @peer connects: the configured host and port, or the defaults its
 * driver and id give.  NULL / 0 when unknown. */
const char *ims_core_peer_host (ImsCore *core, const char *peer);
int ims_core_peer_port (ImsCore *core, const char *peer);

/* The core as its drivers' host (ImsDriverHost, ims-driver.h): what each
 * report does.  Exposed for tests that drive the core as a driver would. */
void ims_core_logged_in (ImsCore *core, const char *peer);
void ims_core_disconnected (ImsCore *core, const char *peer, const char *reason, gboolean fatal);
void ims_core_roster (ImsCore *core, const char *peer, GHashTable *items);
void ims_core_subscription (ImsCore *core, const char *peer, const char *buddy,
                            ImsSubscription sub);
void ims_core_presence (ImsCore *core, const char *peer, const char *buddy, const char *resource,
                        const ImsResourcePresence *presence);
gboolean ims_core_authorize (ImsCore *core, const char *peer, const char *buddy);
gboolean ims_core_watches (ImsCore *core, const char *peer, const char *id);
gboolean ims_core_accepts (ImsCore *core, const char *peer, const char *from);
void ims_core_log_stranger (ImsCore *core, const char *peer, const char *what, const char *from);
void ims_core_message (ImsCore *core, const char *peer, const char *from, const char *text);

G_END_DECLS
