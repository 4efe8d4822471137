/* ims-xmpp-component: the pure part of an XEP-0114 component session and of
 * XEP-0356 privileges, as Prosody 0.12 (mod_privilege from prosody-modules,
 * urn:xmpp:privilege:2) and ejabberd 23.01 (urn:xmpp:privilege:1) speak
 * them.  Strings in, strings out; the connection is the driver's.
 */
#pragma once

#include <glib.h>

#include "ims-xml.h"

G_BEGIN_DECLS

#define IMS_XMPP_NS_COMPONENT "jabber:component:accept"
#define IMS_XMPP_NS_STREAMS "http://etherx.jabber.org/streams"
#define IMS_XMPP_COMPONENT_PORT 5347

/* The stream header a component opens with, to @component (its JID). */
char *ims_xmpp_component_open (const char *component);

/* XEP-0114 2.3: the lowercase hex SHA-1 of the stream id followed by the
 * shared secret (transfer full). */
char *ims_xmpp_component_handshake (const char *stream_id, const char *secret);

typedef enum {
  IMS_XMPP_PERM_NONE = 0,
  IMS_XMPP_PERM_MANAGED_ENTITY, /* presence: every presence of the server's users */
  IMS_XMPP_PERM_ROSTER,         /* presence: of users who have us in their roster */
} ImsXmppPresencePerm;

typedef struct {
  int version;                  /* 1 or 2: the urn:xmpp:privilege:N spoken */
  ImsXmppPresencePerm presence;
  gboolean roster_get;          /* roster: get or both */
  gboolean message_outgoing;    /* message: outgoing */
} ImsXmppPrivileges;

/* If @stanza is the server's <message><privilege/></message> announcing
 * what the component may do, fills @out and returns TRUE (absent
 * permissions are none).  @server is the domain the announcement must come
 * from; anything else is not believed. */
gboolean ims_xmpp_parse_privileges (const ImsXmlNode *stanza, const char *server,
                                    ImsXmppPrivileges *out);

G_END_DECLS
