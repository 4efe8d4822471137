/* ims-native: what the native drivers (OSCAR, YMSG, MSNP) share, so that each
 * network folder is only its protocol: the ImsDriver ops table, the peer
 * table, the account, the robot's own state, debug, and failing a login
 * once.  A network is its descriptor (ims-network.h) and one ImsNativeProto
 * (what its state machine does).
 */
#pragma once

#include "ims-driver.h"

G_BEGIN_DECLS

typedef struct _ImsNativePeer ImsNativePeer;

/* Seconds to reach the server, and to be logged in once connected. */
#define IMS_NATIVE_CONNECT_TIMEOUT_S 20
#define IMS_NATIVE_LOGIN_TIMEOUT_S 60

typedef struct {
  const ImsNetwork *network;  /* what the network is: its descriptor */
  gsize peer_size;            /* the network's session struct, ImsNativePeer first */
  guint login_timeout_s;      /* 0 = IMS_NATIVE_LOGIN_TIMEOUT_S */
  /* Start one login (the base has dropped any earlier connection and
   * started the login timeout). */
  void (*connect) (ImsNativePeer *p);
  /* Send one keepalive (every pinginterval once logged in).  Where the
   * network answers them (descriptor's pong), the driver reports the
   * answer with ims_native_pong(). */
  void (*keepalive) (ImsNativePeer *p);
  /* Drop connections and timers; no report to the core. */
  void (*disconnect) (ImsNativePeer *p);
  void (*subscribe) (ImsNativePeer *p, const char *buddy);
  void (*unsubscribe) (ImsNativePeer *p, const char *buddy);
  /* p->busy / p->busy_message changed: tell the server if logged in. */
  void (*own_changed) (ImsNativePeer *p);
  gboolean (*send) (ImsNativePeer *p, const char *to, const char *text, GError **error);
  /* A published phone changed (NULL: none are published); called whether
   * or not the peer is logged in, so it knows them when it is. */
  void (*phone) (ImsNativePeer *p, const char *exten, const ImsPhoneState *state);
  /* Free what the network added to its session struct. */
  void (*finalize) (ImsNativePeer *p);
} ImsNativeProto;

struct _ImsNativePeer {
  ImsDriver *driver;
  const ImsNativeProto *proto;
  const ImsAccount *acct;
  char *name;            /* the peer: the key of every report */
  gboolean online;       /* logged in and reported so */
  gboolean busy;         /* the phone is in use */
  char *busy_message;
  /* The base's timers: login, keepalive, the answer to a keepalive. */
  guint login_timeout_id;
  guint keepalive_id;
  guint pong_timeout_id;
};

ImsDriver *ims_native_driver_new (ImsCore *core, const ImsNativeProto *proto);

int ims_native_debug (ImsNativePeer *p);
const char *ims_native_host (ImsNativePeer *p);
int ims_native_port (ImsNativePeer *p);
/* The text the robot shows now: busy_message while busy, else the account's
 * statusmessage (NULL when none). */
const char *ims_native_own_text (ImsNativePeer *p);

/* Login done: stop the login timeout, start the keepalives, report it
 * (once per login). */
void ims_native_logged_in (ImsNativePeer *p);
/* The server answered a keepalive. */
void ims_native_pong (ImsNativePeer *p);
/* The login failed or the connection ended: drop everything and tell the
 * core, which reconnects after a backoff unless @fatal. */
void ims_native_fail (ImsNativePeer *p, gboolean fatal, const char *format, ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
