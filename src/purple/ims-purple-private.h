/* ims-purple-private: what the libpurple driver's two halves share: the
 * driver and its peers (ims-purple.c: lifecycle and ops) and what libpurple
 * tells it (ims-purple-signals.c).  The only other place a libpurple type
 * is seen.
 */
#pragma once

#include <purple.h>

#include "ims-driver.h"
#include "ims-purple-ui.h"
#include "ims-purple.h"

G_BEGIN_DECLS

#define IMS_PURPLE_UI "imstatusd"
#define IMS_PURPLE_GROUP "imstatus"
#define IMS_PURPLE_MAX_MESSAGE 65536 /* bytes of a received IM kept */

typedef struct _ImsPurple ImsPurple;

typedef struct {
  ImsPurple *owner;
  const ImsAccount *acct;   /* the core's, valid until stop */
  char *name;
  char *prpl;               /* protocol plugin id */
  PurpleAccount *account;
  guint ping_id;            /* every pinginterval while logged in */
  guint ping_timeout_id;    /* an XEP-0199 ping is unanswered */
  guint login_timeout_id;   /* connecting, not yet logged in */
  guint roster_id;          /* the roster goes up after prpl-jabber has read it */
  GHashTable *roster;       /* the full roster waiting for roster_id */
  char *ping_iq_id;
  guint ping_seq;
  gboolean xmpp;
  gboolean busy;            /* the phone is in use: show dnd with busy_message */
  char *busy_message;
} ImsPurplePeer;

struct _ImsPurple {
  ImsDriver parent;
  ImsPurpleUi ui;
  GHashTable *peers;      /* name -> ImsPurplePeer */
  GHashTable *by_account; /* PurpleAccount* -> ImsPurplePeer (borrowed) */
};

/* libpurple's signals carry no user data we control; there is one driver. */
extern ImsPurple *ims_purple_self;

/* ---- ims-purple.c ---- */

ImsDriver *ims_purple_driver (ImsPurplePeer *pp);
ImsPurplePeer *ims_purple_peer_for (PurpleAccount *account);
ImsPurplePeer *ims_purple_peer_for_gc (PurpleConnection *gc);
/* A buddy's full id on @pp's network (transfer full). */
char *ims_purple_full_id (ImsPurplePeer *pp, const char *name);
/* The robot's own status: available with statusmessage, or busy. */
void ims_purple_set_own_status (ImsPurplePeer *pp);

/* ---- ims-purple-signals.c ---- */

/* Connects every libpurple signal the driver listens to. */
void ims_purple_connect_signals (ImsPurple *self);
void ims_purple_stop_ping (ImsPurplePeer *pp);
gboolean ims_purple_on_login_timeout (gpointer data);
/* A buddy's presence changed (or is asked for after a subscription). */
void ims_purple_on_buddy_changed (PurpleBuddy *buddy, gpointer data);

G_END_DECLS
