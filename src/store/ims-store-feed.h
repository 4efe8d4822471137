/* ims-store-feed: the store's changes for front ends that write each one to
 * clients (the control socket's watchers, the board's event streams).
 *
 * A peer that goes down changes every buddy at once: 100,000 of them for a
 * whole domain, each rendered and written, in one main-loop callback.  A
 * feed hands changes on as they happen, up to IMS_STORE_FEED_BURST in one
 * main-loop turn; past that it queues them and hands them on that many a
 * turn, in order, so FastAGI and the rest keep their turns and clients can
 * read as it goes.  A buddy that changes again while its change waits is
 * handed on once: its first old answer and its newest; not at all when it
 * changed back.  What waits is bounded by the buddies there are.  A change
 * is handed on with the answer and peer state as they are then: a client
 * that got a snapshot meanwhile hears nothing older than it was shown.
 */
#pragma once

#include "ims-presence-store.h"

G_BEGIN_DECLS

#define IMS_STORE_FEED_BURST 256 /* changes handed on in one main-loop turn */

typedef struct _ImsStoreFeed ImsStoreFeed;

/* Watches @store (its buddy, peer and peer-removed changes) for the
 * callbacks; any may be NULL.  A new feed is not listening. */
ImsStoreFeed *ims_store_feed_new (ImsPresenceStore *store, ImsPresenceChangedFunc presence,
                                  ImsPeerChangedFunc peer, ImsPeerRemovedFunc removed,
                                  gpointer user_data);
void ims_store_feed_free (ImsStoreFeed *feed);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsStoreFeed, ims_store_feed_free)

/* Whether anybody listens (a watcher, a stream).  While nobody does,
 * changes are dropped, and what waited is forgotten. */
void ims_store_feed_set_listening (ImsStoreFeed *feed, gboolean listening);

G_END_DECLS
