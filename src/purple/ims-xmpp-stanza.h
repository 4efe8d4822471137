/* ims-xmpp-stanza: what imstatusd reads from XMPP stanzas itself, before
 * prpl-jabber sees them (libpurple ignores XEP-0319 idle and per-resource
 * presence).  Pure: a parsed stanza in, plain structs out; fuzzed by
 * tests/fuzz/fuzz-xmpp.c.
 */
#pragma once

#include <glib.h>
#include <purple.h>

#include "ims-presence-store.h"

G_BEGIN_DECLS

#define IMS_XMPP_MAX_STATUS 4096

typedef enum {
  IMS_XMPP_PRESENCE_AVAILABLE,
  IMS_XMPP_PRESENCE_GONE,         /* unavailable or error */
  IMS_XMPP_PRESENCE_UNSUBSCRIBED, /* the buddy withdrew our subscription */
  IMS_XMPP_PRESENCE_OTHER,        /* subscribe requests etc.: libpurple's */
} ImsXmppPresenceKind;

typedef struct {
  ImsXmppPresenceKind kind;
  char *bare;          /* lowercased bare JID */
  char *resource;      /* "" when none; untrusted */
  ImsShow show;
  char *word;          /* the <show/> word, "available" when none */
  int priority;
  char *status;        /* NULL when none; untrusted */
  gint64 idle_since;   /* unix seconds, 0 = not idle */
} ImsXmppPresence;

#define IMS_XMPP_MAX_JID_PART 1023

/* Could @jid be a JID at all (RFC 7622: each part at most 1023 bytes, UTF-8,
 * no control characters)?  prpl-jabber fails an assertion on anything else,
 * so such stanzas never reach it. */
gboolean ims_xmpp_jid_valid (const char *jid);

/* "user@domain/resource" -> "user@domain", lowercased (transfer full). */
char *ims_xmpp_bare (const char *jid);

/* FALSE when @node is not a presence with a from.  @now is unix seconds. */
gboolean ims_xmpp_parse_presence (xmlnode *node, gint64 now, ImsXmppPresence *out);
void ims_xmpp_presence_clear (ImsXmppPresence *presence);

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
