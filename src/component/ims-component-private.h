/* ims-component-private: the component's session, shared by its three
 * parts: the stream (ims-component.c), the phones it publishes
 * (ims-component-phones.c) and the other PBXes' phones it mirrors
 * (ims-component-remote.c).  Not for anyone outside this folder.
 */
#pragma once

#include "ims-frame-conn.h"
#include "ims-native.h"
#include "ims-xml.h"
#include "ims-xmpp-component.h"

G_BEGIN_DECLS

typedef enum { STAGE_STREAM, STAGE_HANDSHAKE, STAGE_PRIVILEGE, STAGE_ONLINE } ImsCompStage;

/* At most this many phones published, watchers of one phone, subscriptions
 * waiting for Asterisk's list, and phones mirrored from one remote. */
#define IMS_COMP_MAX_PHONES 10000
#define IMS_COMP_MAX_WATCHERS_PER_PHONE 1000
#define IMS_COMP_MAX_WAITING 1000

typedef struct {
  ImsNativePeer base;
  ImsFrameConn *conn;
  ImsXmlStream *xml;
  ImsCompStage stage;
  char *jid;                 /* the component's own JID, lowercased */
  ImsXmppPrivileges priv;
  /* Does the server send every current presence after its announcement,
   * and the unavailable it sends for a client that drops?  Prosody's
   * mod_privilege (privilege:2) does; ejabberd 23.01's (privilege:1)
   * forwards only what users send, and answers no probe from us. */
  gboolean snapshot;
  guint privilege_id;
  guint ping_seq;
  char *ping_id;             /* the ping awaiting its answer */
  /* A failure found inside the XML reader's callbacks, acted on once the
   * reader has returned (failing frees the reader). */
  char *failure;
  gboolean failure_fatal;
  /* publish: the context's hints, exten -> Phone, and who watches each,
   * exten -> set of bare JIDs (users of the domain, remote components). */
  GHashTable *phones;
  GHashTable *watchers;
  /* Subscriptions that came before Asterisk listed any phone: exten -> set
   * of bare JIDs, answered when the phone appears. */
  GHashTable *waiting;
  /* remote: the other PBXes' components, JID -> ImsCompRemote. */
  GHashTable *remotes;
} ImsCompPeer;

/* ims-component.c */
void ims_component_send (ImsCompPeer *c, const char *xml);
/* A failure found inside the XML callbacks (acted on after them). */
void ims_component_fail (ImsCompPeer *c, gboolean fatal, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
/* An iq to @to, from the component (@body: its child, or "" for none). */
void ims_component_send_iq (ImsCompPeer *c, const char *type, const char *id, const char *to,
                            const char *body);

/* ims-component-phones.c: the publish context's hints as contacts
 * <exten>@<component>. */
void ims_component_phone (ImsNativePeer *p, const char *exten, const ImsPhoneState *state);
/* What a hint shows (pure): FALSE for offline; else *show ("dnd", "away"...;
 * NULL: available) and *status (transfer full; NULL: none). */
gboolean ims_component_phone_show (const ImsPhoneState *state, const char **show, char **status);
/* A presence stanza to one of our phones: TRUE when it was for one. */
gboolean ims_component_phone_stanza (ImsCompPeer *c, const ImsXmlNode *stanza);
/* Logged in: every watcher hears every phone it watches. */
void ims_component_phones_online (ImsCompPeer *c);
/* disco#items: one <item/> per phone. */
void ims_component_phone_items (ImsCompPeer *c, GString *out);
void ims_component_phones_free (ImsCompPeer *c);
/* Where the phones' watchers are kept (the daemon's statedir). */
void ims_component_phones_set_statedir (const char *statedir);

/* ims-component-remote.c: other PBXes' phones as buddies. */
gboolean ims_component_is_remote (ImsCompPeer *c, const char *jid);
/* Logged in: ask each remote for its phones. */
void ims_component_remotes_online (ImsCompPeer *c);
/* Every keepalive: is each remote still there? */
void ims_component_remotes_ping (ImsCompPeer *c);
/* An iq answering one of ours to a remote: TRUE when it was. */
gboolean ims_component_remote_iq (ImsCompPeer *c, const ImsXmlNode *stanza);
/* A presence from a remote's phone: TRUE when it was one. */
gboolean ims_component_remote_presence (ImsCompPeer *c, const ImsXmlNode *stanza);
/* The connection ended: nothing is known of the remotes any more. */
void ims_component_remotes_reset (ImsCompPeer *c);
void ims_component_remotes_free (ImsCompPeer *c);

G_END_DECLS
