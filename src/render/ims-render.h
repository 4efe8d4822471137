/* ims-render: the one JSON rendering of peers and answers, shared by the
 * control socket (imctl --json, watch) and the HTTP API, so a script sees the
 * same fields wherever it asks.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ims-config.h"
#include "ims-presence-store.h"
#include "ims-service.h"

G_BEGIN_DECLS

/* A peer as `show peers` lists it.  Strings borrowed. */
typedef struct {
  const char *name;
  const char *type;
  const char *host;   /* NULL: "-" */
  int port;           /* 0: unknown */
  const char *user;
  ImsPeerState state;
  const char *reason; /* NULL when none */
} ImsRenderPeer;

/* The view of peer @p: its state from @store; @host and @port as its driver
 * connects (borrowed from @p and the callers). */
ImsRenderPeer ims_render_peer_view (ImsPresenceStore *store, const ImsPeerConfig *p,
                                    const char *host, int port);

/* Adds the members of @answer (status, result, idle, lastseen, lastseen_at,
 * text, prefix, uri, resource, show, subscription) to the open object. */
void ims_render_answer_members (JsonBuilder *b, const ImsAnswer *answer, gint64 now);
/* {"peer", "name", "id", answer members..., and "old": {...} when @old}. */
void ims_render_buddy (JsonBuilder *b, const char *peer, const char *name, const char *id,
                       const ImsAnswer *answer, const ImsAnswer *old, gint64 now);
/* {"name", "type", "host", "port", "user", "status", "reason"}. */
void ims_render_peer (JsonBuilder *b, const ImsRenderPeer *peer);
/* {"sendstatus": <IM-SENDSTATUS>, "result": <IM-RESULT>, "detail": ...}. */
void ims_render_send (JsonBuilder *b, const ImsSendOutcome *outcome);
/* The peer alone, one line of JSON (transfer full). */
char *ims_render_peer_json (const ImsRenderPeer *peer);
/* The builder's root on one line (transfer full). */
char *ims_render_to_string (JsonBuilder *b);
/* {"name": peer}: the peer-removed event of every stream (transfer full). */
char *ims_render_peer_removed_json (const char *peer);

/* "buckaroo" for buckaroo@<the peer's own domain>, else the full id (transfer full). */
char *ims_render_buddy_name (ImsPresenceStore *store, const char *peer, const char *id);

/* A person's answer (imctl status jane, the watch stream, the HTTP API): a
 * buddy's members with "person", "phone" and "dnd". */
void ims_render_person (JsonBuilder *b, const char *name, const ImsPersonAnswer *answer,
                        gint64 now);

G_END_DECLS
