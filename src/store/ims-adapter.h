/* ims-adapter: the one small interface through which the daemon drives an IM
 * driver (libpurple today; native MSNP/YMSG drivers later).  Drivers report
 * upward only through the presence store (presence, roster, connection state)
 * and the message callback below.
 */
#pragma once

#include "ims-config.h"
#include "ims-presence-store.h"

G_BEGIN_DECLS

typedef struct _ImsAdapter ImsAdapter;

/* An IM that arrived for @peer.  @from is the bare sender id; both strings are
 * untrusted and unescaped. */
typedef void (*ImsMessageFunc) (const char *peer, const char *from, const char *text,
                                gpointer user_data);

typedef struct {
  /* Can this driver serve @type on this machine?  If not, *why says so in
   * words for `Unsupported: <why>`. */
  gboolean (*supports) (ImsAdapter *self, const char *type, char **why);
  /* Start logging in (asynchronously); progress goes to the store.  The
   * adapter keeps its own copy of @peer. */
  void (*peer_start) (ImsAdapter *self, const ImsPeerConfig *peer);
  /* Log out and forget the peer. */
  void (*peer_stop) (ImsAdapter *self, const char *peer);
  /* Send @text to @to (full id) from @peer; FALSE if it cannot go now. */
  gboolean (*send) (ImsAdapter *self, const char *peer, const char *to, const char *text,
                    GError **error);
  /* The peer's own presence: available with its statusmessage, or busy
   * (XMPP dnd) with @message.  Kept across reconnects. */
  void (*set_busy) (ImsAdapter *self, const char *peer, gboolean busy, const char *message);
  /* 0 = off, 1 = protocol events, 2 = raw traffic (secrets redacted). */
  void (*set_debug) (ImsAdapter *self, int level);
  /* Log every peer out and release everything. */
  void (*free) (ImsAdapter *self);
} ImsAdapterOps;

struct _ImsAdapter {
  const ImsAdapterOps *ops;
};

G_END_DECLS
