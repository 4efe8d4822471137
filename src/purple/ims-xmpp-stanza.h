/* ims-xmpp-stanza: what imstatusd reads from XMPP stanzas itself, before
 * prpl-jabber sees them (libpurple ignores XEP-0319 idle and per-resource
 * presence).  Pure: a parsed stanza in, plain structs out; fuzzed by
 * tests/fuzz/fuzz-xmpp.c.  Presence itself is read by ims-xmpp-presence,
 * shared with the component, from libpurple's tree converted.
 */
#pragma once

#include <glib.h>
#include <purple.h>

#include "ims-presence-store.h"
#include "ims-xmpp-presence.h"

G_BEGIN_DECLS

/* @node as an ImsXmlNode tree (transfer full), for ims-xmpp-presence. */
ImsXmlNode *ims_xmpp_node_from_purple (xmlnode *node);

/* The items of a jabber:iq:roster query: bare JID -> GINT_TO_POINTER
 * (ImsSubscription) (transfer full). */
GHashTable *ims_xmpp_parse_roster (xmlnode *query);

/* The roster query of an iq result or set, else NULL (borrowed); *full is
 * TRUE for the whole roster (a result), FALSE for a push (a set).  Only
 * from the account itself (@own, its bare JID) or with no from: RFC 6121
 * 2.1.6, anything else is a stranger trying to rewrite the roster. */
xmlnode *ims_xmpp_roster_query (xmlnode *node, const char *own, gboolean *full);

/* An XEP-0199 ping to @server with @id (transfer full). */
char *ims_xmpp_ping (const char *id, const char *server);
/* Is @node the answer (result or error) to ping @id sent to @server: the
 * id and the sender must both match (no from = the server itself). */
gboolean ims_xmpp_is_ping_answer (xmlnode *node, const char *id, const char *server);
/* <presence to='@to' type='@type'/>, escaped (transfer full). */
char *ims_xmpp_presence_to (const char *to, const char *type);

G_END_DECLS
