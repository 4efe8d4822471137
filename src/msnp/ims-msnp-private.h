/* ims-msnp-private: what the MSN driver's files share (ims-msnp.c, the
 * notification server and switchboards; ims-msnp-login.c, the login
 * service).  Not installed, not for other folders. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

#include "ims-frame-conn.h"
#include "ims-native.h"

#define SB_IDLE_S 300       /* a switchboard with nothing to say is closed */
#define SB_MAX 64           /* switchboards per peer */
#define SB_PER_BUDDY 4      /* ...and per buddy, so one sender cannot hold them all */
#define RST_MAX (1024 * 1024) /* the login service's answer, at most */
#define SB_QUEUE_MAX 32     /* IMs waiting for a switchboard */
#define CAPS "2788999228:48"
#define DEFAULT_LOGINURL "https://login.live.com/RST2.srf"

typedef enum { NS_VER, NS_CVR, NS_USR_I, NS_SSO, NS_USR_S, NS_ONLINE } NsStage;
typedef enum { SB_CONNECTING, SB_AUTH, SB_CALLING, SB_READY } SbStage;

typedef struct _MsnpPeer MsnpPeer;

typedef struct {
  MsnpPeer *peer;
  ImsFrameConn *conn;
  SbStage stage;
  char *buddy;        /* the other side */
  char *token;
  char *session;      /* set when answering a RNG */
  guint trid;
  GQueue queue;       /* texts waiting for JOI */
  guint idle_id;
} Sb;

struct _MsnpPeer {
  ImsNativePeer base;
  ImsFrameConn *ns;
  NsStage stage;
  guint trid;
  char *email;
  char *guid;         /* the machine GUID of this login, {xxxxxxxx-...} */
  char *nonce;
  GCancellable *http_cancel;
  gboolean sb_cap_logged;   /* the switchboard cap was said this login */
  GInputStream *rst_stream; /* the login service's answer, while it is read */
  GByteArray *rst;          /* ...and what was read of it */
  GPtrArray *sbs;     /* Sb* */
  GHashTable *buddies; /* email -> BuddyState */
  GQueue xfr_waiting; /* Sb* waiting for an XFR answer, in order */
};

void ims_msnp_ns_send (MsnpPeer *m, const char *format, ...) G_GNUC_PRINTF (2, 3);
char *ims_msnp_xml_text (const char *s);
/* USR SSO I answered with @nonce: ask the login service (loginurl), then
 * USR SSO S; a failure goes to ims_native_fail. */
void ims_msnp_sso (MsnpPeer *m, const char *nonce);
