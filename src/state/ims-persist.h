/* ims-persist: keeps the daemon's word across restarts.  Between the store
 * (and the IM driver) and the state database: saves last seen as it changes,
 * restores it at start, and runs the IMSend outbox (queue while a peer is
 * down, deliver in order when it is back, drop after a TTL, refuse when full).
 */
#pragma once

#include "ims-core.h"
#include "ims-service.h"
#include "ims-state.h"

G_BEGIN_DECLS

typedef struct _ImsPersist ImsPersist;

/* Settles messages a crash left half-sent (logged, not re-sent: they may have
 * reached the buddy) and starts watching @store. */
ImsPersist *ims_persist_new (ImsPresenceStore *store, ImsCore *core, ImsState *state,
                             guint outbox_max, guint outbox_ttl_s);
void ims_persist_free (ImsPersist *persist);
void ims_persist_set_limits (ImsPersist *persist, guint outbox_max, guint outbox_ttl_s);

/* Loads the saved last-seen times of @peer's buddies into the store. */
void ims_persist_restore_peer (ImsPersist *persist, const char *peer);

/* IMSend, once the service has checked it: SENT (handed to the IM server),
 * QUEUED (kept in the outbox) or FAILED, in @outcome.  @to is the full
 * buddy id. */
void ims_persist_send (ImsPersist *persist, const char *peer, const char *to, const char *text,
                       ImsSendOutcome *outcome);

G_END_DECLS
