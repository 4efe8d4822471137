/* ims-presence-store: the core.  Peers, their buddies, each buddy's logged-in
 * resources, and the one answer the dialplan gets for a buddy.
 *
 * Adapters below call the ims_presence_store_set_* / update_* functions; front
 * ends above read answers and watch changes (old and new answer, as BitlBee's
 * user_status(bee, bu, old)).  Nothing here knows about Asterisk or libpurple.
 */
#pragma once

#include <glib.h>

#include "ims-text.h"

G_BEGIN_DECLS

typedef enum {
  IMS_SHOW_AVAILABLE,
  IMS_SHOW_CHAT,
  IMS_SHOW_AWAY,
  IMS_SHOW_XA,
  IMS_SHOW_DND,
  IMS_SHOW_PHONE, /* on the phone (MSN PHN, Yahoo "On the phone"): IM-STATUS busy */
} ImsShow;

typedef enum {
  IMS_STATUS_UNKNOWN,
  IMS_STATUS_OFFLINE,
  IMS_STATUS_BUSY,
  IMS_STATUS_AWAY,
  IMS_STATUS_IDLE,
  IMS_STATUS_ONLINE,
} ImsStatus;

typedef enum {
  IMS_RESULT_OK,
  IMS_RESULT_NOTSUBSCRIBED,
  IMS_RESULT_PENDING,
  IMS_RESULT_NOPEER,
  IMS_RESULT_NOTCONNECTED,
  IMS_RESULT_BADARGS,
  IMS_RESULT_TIMEOUT,
} ImsResult;

typedef enum {
  IMS_PEER_CONNECTING,
  IMS_PEER_REGISTERED,
  IMS_PEER_UNREGISTERED,
  IMS_PEER_FAILED,
  IMS_PEER_UNSUPPORTED,
} ImsPeerState;

typedef enum {
  IMS_SUB_NONE,     /* not on the roster or no subscription asked */
  IMS_SUB_PENDING,  /* asked, not yet approved by the buddy */
  IMS_SUB_BOTH,     /* we see the buddy's presence */
} ImsSubscription;

/* idle_since for a network that says "idle" without saying since when
 * (MSN IDL): IM-STATUS idle, IM-IDLETIME 0. */
#define IMS_IDLE_NO_TIME ((gint64) -1)

/* What one logged-in client of a buddy says: the network-neutral buddy
 * state every driver reports.  Strings are borrowed and untrusted. */
typedef struct {
  ImsShow show;
  const char *word;     /* the network's own state word (IM-SHOW), NULL = from show */
  int priority;         /* 0 where the network has none */
  const char *text;     /* status text, may be NULL */
  gint64 idle_since;    /* unix seconds, 0 = not idle, or IMS_IDLE_NO_TIME */
} ImsResourcePresence;

/* The answer for one buddy, as IMStatus reports it. */
typedef struct {
  ImsStatus status;
  ImsResult result;
  gint64 idle_seconds;
  gint64 idle_since;    /* what idle_seconds was computed from; 0 = not idle */
  char *text;           /* "" when none */
  char *prefix;         /* lowercased word before a leading "word:", else "" */
  char *uri;            /* first sip:/sips:/tel:/iax2:/h323: URI, else "" */
  char *resource;       /* "" when none */
  char *show;           /* IM-SHOW: the network's state word, lowercased; "" when not present */
  gint64 lastseen_at;   /* unix seconds last seen online, 0 = never */
  ImsSubscription subscription;
  const char *lamp;     /* the device state a lamp shows ("NOT_INUSE", "INUSE"...; static) */
} ImsAnswer;

/* How away and do-not-disturb look on a lamp (im.conf lampaway, lampdnd):
 * Asterisk device state names; NULL: as the vocabulary says. */
typedef struct {
  const char *away;
  const char *dnd;
} ImsLamps;

/* @answer's lamp from its status and show: dnd (IM-SHOW) as @lamps->dnd,
 * away as @lamps->away, else the vocabulary's device state. */
void ims_answer_set_lamp (ImsAnswer *answer, const ImsLamps *lamps);

typedef struct _ImsPresenceStore ImsPresenceStore;

/* Called after an answer changed: old and new.  @old is NULL for a new buddy. */
typedef void (*ImsPresenceChangedFunc) (const char *peer, const char *buddy, const ImsAnswer *old,
                                        const ImsAnswer *new_, gpointer user_data);
/* Called when a peer's connection state changed. */
typedef void (*ImsPeerChangedFunc) (const char *peer, ImsPeerState state, const char *reason,
                                    gpointer user_data);

/* Called just before a peer leaves the store (it left the configuration):
 * the store publishes it, so every front end hears it the same way. */
typedef void (*ImsPeerRemovedFunc) (const char *peer, gpointer user_data);

ImsPresenceStore *ims_presence_store_new (void);
void ims_presence_store_free (ImsPresenceStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsPresenceStore, ims_presence_store_free)

/* For tests: a clock in unix seconds. */
void ims_presence_store_set_clock (ImsPresenceStore *store, gint64 (*now) (void));

guint ims_presence_store_watch (ImsPresenceStore *store, ImsPresenceChangedFunc presence,
                                ImsPeerChangedFunc peer, gpointer user_data);
/* Also hear peers leave; unwatched with ims_presence_store_unwatch(). */
guint ims_presence_store_watch_removed (ImsPresenceStore *store, ImsPeerRemovedFunc removed,
                                        gpointer user_data);
void ims_presence_store_unwatch (ImsPresenceStore *store, guint id);

/* Peers.  @username is the peer's own id (its bare JID for XMPP); @domain is
 * what a buddy name without '@' gets appended (NULL = none). */
void ims_presence_store_add_peer (ImsPresenceStore *store, const char *peer, const char *username,
                                  const char *domain);
void ims_presence_store_remove_peer (ImsPresenceStore *store, const char *peer);
gboolean ims_presence_store_has_peer (ImsPresenceStore *store, const char *peer);
/* Is @id (a full id) one of the buddies @peer watches? */
gboolean ims_presence_store_is_watched (ImsPresenceStore *store, const char *peer, const char *id);
/* Sets which buddies the peer watches (the config's subscribe list; "*":
 * every user of its domain as they appear), and the domains whose every id
 * is a buddy as it appears (@mirrored, char*; NULL: none). */
void ims_presence_store_set_watched (ImsPresenceStore *store, const char *peer, GPtrArray *buddies,
                                     const GPtrArray *mirrored);
/* Full buddy id for a name as the dialplan writes it ("buckaroo" ->
 * "buckaroo@example.org").  Returns NULL for an unknown peer. */
char *ims_presence_store_normalize (ImsPresenceStore *store, const char *peer, const char *name);

/* "buckaroo" for buckaroo@<the peer's own domain>, else the full id, as
 * imctl, the module and hints name a buddy (transfer full). */
char *ims_presence_store_display_name (ImsPresenceStore *store, const char *peer, const char *id);

/* How away and DND look on lamps from now on (every answer republished
 * that changes). */
void ims_presence_store_set_lamps (ImsPresenceStore *store, const ImsLamps *lamps);

/* The domain given at add_peer (NULL when none). */
const char *ims_presence_store_peer_domain (ImsPresenceStore *store, const char *peer);

/* Connection state.  Leaving REGISTERED forgets every resource, so buddies
 * answer unknown, never a stale online. */
void ims_presence_store_set_peer_state (ImsPresenceStore *store, const char *peer,
                                        ImsPeerState state, const char *reason);
ImsPeerState ims_presence_store_get_peer_state (ImsPresenceStore *store, const char *peer,
                                                const char **reason);
/* TRUE once the roster has been received after the last login. */
void ims_presence_store_set_roster_ready (ImsPresenceStore *store, const char *peer);
gboolean ims_presence_store_roster_ready (ImsPresenceStore *store, const char *peer);

/* Presence from a driver (through the core).  @buddy is the full bare id
 * (never completed with the peer's domain: see ims_presence_store_normalize),
 * @resource may be "" and is kept as its safe rendering, at most
 * IMS_RESOURCE_MAX bytes. */
#define IMS_RESOURCE_MAX 256
void ims_presence_store_update_resource (ImsPresenceStore *store, const char *peer,
                                         const char *buddy, const char *resource,
                                         const ImsResourcePresence *presence);
void ims_presence_store_remove_resource (ImsPresenceStore *store, const char *peer,
                                         const char *buddy, const char *resource);
void ims_presence_store_set_subscription (ImsPresenceStore *store, const char *peer,
                                          const char *buddy, ImsSubscription sub);
/* Last seen, restored from durable state or set by tests. */
void ims_presence_store_set_lastseen (ImsPresenceStore *store, const char *peer, const char *buddy,
                                      gint64 at);

/* The IMStatus answer for (peer, name).  Always fills @answer; clear it with
 * ims_answer_clear(). */
void ims_presence_store_lookup (ImsPresenceStore *store, const char *peer, const char *name,
                                ImsAnswer *answer);
/* The answer watchers last heard for a watched buddy (@id a full id), or
 * NULL when there is none (borrowed, until the store changes). */
const ImsAnswer *ims_presence_store_published (ImsPresenceStore *store, const char *peer,
                                              const char *id);
/* Watched buddies of a peer, sorted, full ids (transfer container). */
GPtrArray *ims_presence_store_list_buddies (ImsPresenceStore *store, const char *peer);
/* Peer names in insertion order (transfer container). */
GPtrArray *ims_presence_store_list_peers (ImsPresenceStore *store);
/* The feed's first part, for every front end that streams (the control
 * socket's watch, HTTP's event stream): every peer @visible accepts (NULL:
 * all), in order, then its watched buddies, handed to the same callbacks
 * that hear changes (@old NULL).  After it, ims_presence_store_watch() and
 * _watch_removed() are the rest of the feed: nothing can slip in between
 * on the one main loop.  (An ImsStoreFeed's changes that still wait come
 * after it, with the answers as they are then: nothing older than it.) */
void ims_presence_store_snapshot (ImsPresenceStore *store,
                                  gboolean (*visible) (const char *peer, gpointer user_data),
                                  ImsPeerChangedFunc peer, ImsPresenceChangedFunc presence,
                                  gpointer user_data);

void ims_answer_clear (ImsAnswer *answer);
/* @dst (uninitialised) becomes a copy of @src; clear it with ims_answer_clear(). */
void ims_answer_copy (ImsAnswer *dst, const ImsAnswer *src);
/* @status and @result, every text empty (not NULL), the vocabulary's lamp,
 * nothing else. */
void ims_answer_fill (ImsAnswer *answer, ImsStatus status, ImsResult result);
gboolean ims_answer_equal (const ImsAnswer *a, const ImsAnswer *b);
/* TRUE for a buddy logged in somewhere (online, idle, away or busy). */
gboolean ims_status_is_present (ImsStatus status);
/* Minutes since last seen; 0 when online now or never seen. */
gint64 ims_answer_lastseen_minutes (const ImsAnswer *answer, gint64 now);

/* The IMStatus variables of an answer, in the order FastAGI sets them
 * (IM-STATUS ... IM-SHOW, IM-RESULT): the one list every front end uses. */
typedef void (*ImsVariableFunc) (const char *name, const char *value, gpointer user_data);
void ims_answer_each_variable (const ImsAnswer *answer, gint64 now, ImsVariableFunc func,
                               gpointer user_data);

const char *ims_status_to_string (ImsStatus status);
const char *ims_result_to_string (ImsResult result);
const char *ims_peer_state_to_string (ImsPeerState state);
const char *ims_subscription_to_string (ImsSubscription sub);
const char *ims_show_to_string (ImsShow show);

G_END_DECLS
