/* ims-xmpp-presence: what a presence stanza says (show, priority, status,
 * XEP-0319 and XEP-0256 idle) and the JID rules, read from an ImsXmlNode
 * tree: the same for the libpurple driver (which converts its xmlnode) and
 * the component.  Pure; fuzzed by tests/fuzz/fuzz-xmpp.c and fuzz-xml.c.
 */
#pragma once

#include <glib.h>

#include "ims-presence-store.h"
#include "ims-xml.h"

G_BEGIN_DECLS

#define IMS_XMPP_MAX_STATUS 4096

typedef enum {
  IMS_XMPP_PRESENCE_AVAILABLE,
  IMS_XMPP_PRESENCE_GONE,         /* unavailable or error */
  IMS_XMPP_PRESENCE_UNSUBSCRIBED, /* the buddy withdrew our subscription */
  IMS_XMPP_PRESENCE_OTHER,        /* subscribe requests, probes, ... */
} ImsXmppPresenceKind;

typedef struct {
  ImsXmppPresenceKind kind;
  char *bare;          /* lowercased bare JID */
  char *resource;      /* "" when none; untrusted */
  char *type;          /* the type attribute, NULL when none (available) */
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

/* Is @jid (a bare JID, lowercased) a user of @domain: "name@domain"? */
gboolean ims_xmpp_in_domain (const char *jid, const char *domain);

/* Text for the body of an element: XML-escaped, invalid UTF-8 repaired, and
 * the control characters XML 1.0 has no place for (one would end the
 * stream) made spaces; tabs and newlines stay (transfer full). */
char *ims_xmpp_escape_text (const char *text);

/* FALSE when @node is not a presence with a from.  @now is unix seconds. */
gboolean ims_xmpp_parse_presence (const ImsXmlNode *node, gint64 now, ImsXmppPresence *out);
void ims_xmpp_presence_clear (ImsXmppPresence *presence);
/* An available presence as the store keeps it (borrows @presence's strings). */
ImsResourcePresence ims_xmpp_presence_resource (const ImsXmppPresence *presence);

G_END_DECLS
