/* ims-agi-server: the FastAGI server Asterisk's AGI(agi://…/IMStatus) reaches.
 * The connections are the wire's (ims-agi-wire.h); the scripts, IMStatus
 * and IMSend, run here over the service facade.
 */
#pragma once

#include <glib.h>

#include "ims-presence-store.h"
#include "ims-service.h"

G_BEGIN_DECLS

typedef struct _ImsAgiServer ImsAgiServer;

/* Listens on @bind ("127.0.0.1:4573", "[::1]:4573").  @allow: addresses or
 * prefixes ("127.0.0.0/8") that may connect.  @timeout_s: a client silent for
 * longer (while we wait for its environment or a reply) is dropped. */
ImsAgiServer *ims_agi_server_new (const char *bind, GPtrArray *allow, guint timeout_s,
                                  const ImsService *svc, GError **error);
/* A reload's agiallow: new connections are held to it; sessions already
 * open run to their end.  FALSE + @error (and nothing changed) when an
 * entry is not an address or prefix. */
gboolean ims_agi_server_set_allow (ImsAgiServer *server, GPtrArray *allow, GError **error);
void ims_agi_server_free (ImsAgiServer *server);

G_END_DECLS
