/* ims-driver: the network-neutral contract between the core and an IM
 * driver (libpurple; native OSCAR, YMSG and MSNP drivers beside it).  What
 * a network *is* (type words, keys, defaults, id rules) is its descriptor,
 * ims-network.h; this is what a driver *does*.
 *
 * Down (core -> driver): the ops table below.  Up (driver -> host): the
 * host table at the end, called through ims_driver_*, as BitlBee's imcb_*
 * calls; the core is the host in the daemon, a test may be another.  A
 * driver sees an account, never the peer's whole configuration, and never the
 * store: the core registers peers and buddies, runs reconnect backoff,
 * subscription approval and roster alignment, so each driver is only the
 * protocol.
 */
#pragma once

#include "ims-network.h"
#include "ims-presence-store.h"

G_BEGIN_DECLS

typedef struct _ImsCore ImsCore;
typedef struct _ImsDriver ImsDriver;

/* What the constructors get: every account (for what a driver must know
 * before it starts, e.g. libpurple's CA paths) and a private directory. */
/* A published hint as Asterisk reports it: its state (ExtensionStatus) and
 * its presence state, where the hint has one (PresenceStateChange). */
typedef struct {
  const char *state;    /* StatusText: "Idle", "InUse", "Ringing", "InUse&Hold", "Unavailable"... */
  const char *presence; /* "available", "away", "xa", "chat", "dnd", "unavailable"; NULL: none */
  const char *message;  /* the presence message; NULL or "": none */
  gboolean dnd;         /* the person whose phone it is has do not disturb on */
} ImsPhoneState;

typedef struct _ImsDriverSetup {
  const char *statedir;
  GPtrArray *accounts; /* const ImsAccount*, every peer's (libpurple needs all CAs first) */
} ImsDriverSetup;

typedef struct {
  const char *name; /* for logs: "libpurple", "fake" */
  /* Can this driver serve @type on this machine (its network's descriptor
   * already chose it)?  If not, *why says so in words for
   * `Unsupported: <why>`.  NULL = yes. */
  gboolean (*supports) (ImsDriver *self, const char *type, char **why);
  /* Take on a peer (no network yet). */
  void (*start) (ImsDriver *self, const ImsAccount *account);
  /* One login attempt.  Its outcome comes back as ims_core_logged_in() or
   * ims_core_disconnected(); the core calls connect again after a backoff. */
  void (*connect) (ImsDriver *self, const char *peer);
  /* Log out and forget the peer (no report back). */
  void (*stop) (ImsDriver *self, const char *peer);
  /* Ask to see @buddy's presence (add it to the server's list); a network
   * without subscriptions reports IMS_SUB_BOTH at once. */
  void (*subscribe) (ImsDriver *self, const char *peer, const char *buddy);
  /* Stop watching @buddy. */
  void (*unsubscribe) (ImsDriver *self, const char *peer, const char *buddy);
  /* Own presence: available with the account's statusmessage, or busy (on
   * the phone) with @message.  Kept across reconnects by the driver. */
  void (*set_own) (ImsDriver *self, const char *peer, gboolean busy, const char *message);
  /* Send @text to @to (full id); FALSE + @error if it cannot go now. */
  gboolean (*send) (ImsDriver *self, const char *peer, const char *to, const char *text,
                    GError **error);
  /* A phone the peer publishes changed: the hint @exten of its publish
   * context is now @state.  NULL: the network publishes no phones. */
  void (*phone) (ImsDriver *self, const char *peer, const char *exten,
                 const ImsPhoneState *state);
  /* 0 = off, 1 = protocol events, 2 = raw traffic. */
  void (*set_debug) (ImsDriver *self, int level);
  /* Log every peer out and release everything. */
  void (*free) (ImsDriver *self);
} ImsDriverOps;

struct _ImsDriverHost;

struct _ImsDriver {
  const ImsDriverOps *ops;
  const struct _ImsDriverHost *host; /* what it reports to (set by its host) */
  ImsCore *core;                     /* the host's handle, passed back on every report */
};

/* A driver's constructor (ImsDriverNewFunc, ims-network.h) is named by its
 * network's descriptor; the core calls each constructor once, however many
 * descriptors name it. */

/* ---- reports up, from a driver to its host ---- */

/* What a driver reports up, and the questions it asks.  The core is the
 * host of every driver in the daemon (it fills d->host and d->core); a unit
 * test can be the host of one driver with a table of its own.  Drivers call
 * the ims_driver_* functions below, never the core. */
typedef struct _ImsDriverHost {
  /* The login of @peer succeeded. */
  void (*logged_in) (ImsCore *core, const char *peer);
  /* The login failed or the connection was lost.  @fatal: retrying cannot
   * help (wrong password, certificate rejected): no reconnect until reload. */
  void (*disconnected) (ImsCore *core, const char *peer, const char *reason, gboolean fatal);
  /* The server's contact list after login: id -> GINT_TO_POINTER
   * (ImsSubscription).  NULL for networks without a server-side list.  The
   * host then subscribes to every watched buddy not yet seen. */
  void (*roster) (ImsCore *core, const char *peer, GHashTable *items);
  /* One contact's subscription changed (a roster push). */
  void (*subscription) (ImsCore *core, const char *peer, const char *buddy, ImsSubscription sub);
  /* A buddy's client @resource ("" when the network has none) says
   * @presence; NULL when it went offline. */
  void (*presence) (ImsCore *core, const char *peer, const char *buddy, const char *resource,
                    const ImsResourcePresence *presence);
  /* May @buddy see our presence?  TRUE only for watched buddies. */
  gboolean (*authorize) (ImsCore *core, const char *peer, const char *buddy);
  /* Does @peer watch @id (a full id, exactly)?  Asked before a driver keeps
   * any state for a stranger. */
  gboolean (*watches) (ImsCore *core, const char *peer, const char *id);
  /* May @from (a full id) send IMs to @peer (acceptfrom: by default its
   * watched buddies and dialallow)?  Others are dropped before a driver
   * keeps any state for them. */
  gboolean (*accepts) (ImsCore *core, const char *peer, const char *from);
  /* A line about a stranger (@what: "message", "subscription request"...),
   * logged at most a few times a minute per peer; the rest are counted. */
  void (*log_stranger) (ImsCore *core, const char *peer, const char *what, const char *from);
  /* An IM arrived (@from is the bare sender id, untrusted).  Dropped unless
   * the host accepts the sender, and at most a few a minute per sender. */
  void (*message) (ImsCore *core, const char *peer, const char *from, const char *text);
} ImsDriverHost;

#define IMS_DRIVER_HOST_CALL(d, op, ...) ((d)->host->op ((d)->core, __VA_ARGS__))

static inline void
ims_driver_logged_in (ImsDriver *d, const char *peer)
{
  IMS_DRIVER_HOST_CALL (d, logged_in, peer);
}

static inline void
ims_driver_disconnected (ImsDriver *d, const char *peer, const char *reason, gboolean fatal)
{
  IMS_DRIVER_HOST_CALL (d, disconnected, peer, reason, fatal);
}

static inline void
ims_driver_roster (ImsDriver *d, const char *peer, GHashTable *items)
{
  IMS_DRIVER_HOST_CALL (d, roster, peer, items);
}

static inline void
ims_driver_subscription (ImsDriver *d, const char *peer, const char *buddy, ImsSubscription sub)
{
  IMS_DRIVER_HOST_CALL (d, subscription, peer, buddy, sub);
}

static inline void
ims_driver_presence (ImsDriver *d, const char *peer, const char *buddy, const char *resource,
                     const ImsResourcePresence *presence)
{
  IMS_DRIVER_HOST_CALL (d, presence, peer, buddy, resource, presence);
}

static inline gboolean
ims_driver_authorize (ImsDriver *d, const char *peer, const char *buddy)
{
  return IMS_DRIVER_HOST_CALL (d, authorize, peer, buddy);
}

static inline gboolean
ims_driver_watches (ImsDriver *d, const char *peer, const char *id)
{
  return IMS_DRIVER_HOST_CALL (d, watches, peer, id);
}

static inline gboolean
ims_driver_accepts (ImsDriver *d, const char *peer, const char *from)
{
  return IMS_DRIVER_HOST_CALL (d, accepts, peer, from);
}

static inline void
ims_driver_log_stranger (ImsDriver *d, const char *peer, const char *what, const char *from)
{
  IMS_DRIVER_HOST_CALL (d, log_stranger, peer, what, from);
}

static inline void
ims_driver_message (ImsDriver *d, const char *peer, const char *from, const char *text)
{
  IMS_DRIVER_HOST_CALL (d, message, peer, from, text);
}

G_END_DECLS
