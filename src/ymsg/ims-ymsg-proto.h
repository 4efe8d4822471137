/* ims-ymsg-proto: Yahoo! Messenger's YMSG, the pure part.  The 20-byte
 * header and the key/value payload (key 0xC0 0x80 value 0xC0 0x80 ...), with a
 * limit on every length; the v1 challenge answer; buddy records; the status
 * codes.  No sockets, no state: fuzzed by tests/fuzz/fuzz-ymsg.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_YMSG_ERROR (ims_ymsg_error_quark ())
GQuark ims_ymsg_error_quark (void);

#define IMS_YMSG_HEADER 20
#define IMS_YMSG_MAX (IMS_YMSG_HEADER + 65535)
#define IMS_YMSG_MAX_PAIRS 4096
#define IMS_YMSG_ID_MAX 96
/* Bytes of text one IM carries: a packet holds 65535, the rest is room for
 * the other keys. */
#define IMS_YMSG_MAX_IM 60000

enum {
  IMS_YMSG_LOGON = 0x01, IMS_YMSG_LOGOFF = 0x02, IMS_YMSG_ISAWAY = 0x03, IMS_YMSG_ISBACK = 0x04,
  IMS_YMSG_MESSAGE = 0x06, IMS_YMSG_CONTACTNEW = 0x0f, IMS_YMSG_PING_SETTINGS = 0x12, IMS_YMSG_HANDSHAKE = 0x4c,
  IMS_YMSG_AUTHRESP = 0x54, IMS_YMSG_LIST = 0x55, IMS_YMSG_AUTH = 0x57, IMS_YMSG_ADDBUDDY = 0x83,
  IMS_YMSG_REMBUDDY = 0x84, IMS_YMSG_PING = 0x8a,
};
#define IMS_YMSG_STATUS_FAIL 0xffffffffu

/* The framer for ims-frame-conn. */
gssize ims_ymsg_frame_len (const guint8 *buf, gsize len, GError **error);

typedef struct {
  guint16 service;
  guint32 status;
  guint32 session;
  guint n;
  int *keys;
  char **values; /* NUL-terminated copies; may hold any bytes but NUL */
} ImsYmsgPacket;

gboolean ims_ymsg_parse (const guint8 *frame, gsize len, ImsYmsgPacket *out, GError **error);
void ims_ymsg_packet_clear (ImsYmsgPacket *p);
/* The first value of @key, NULL when absent (transfer none). */
const char *ims_ymsg_get (const ImsYmsgPacket *p, int key);

/* One buddy's state out of LOGON/ISAWAY/ISBACK/LOGOFF (records start at
 * key 7). */
typedef struct {
  const char *id;       /* key 7 */
  int status;           /* key 10; -1 when absent */
  const char *message;  /* key 19, NULL when none */
  int away;             /* key 47; -1 when absent */
  int online;           /* key 13: 1 online, 0 offline; -1 when absent */
} ImsYmsgBuddy;
/* Appends an ImsYmsgBuddy (pointing into @p) per record to @out. */
void ims_ymsg_buddies (const ImsYmsgPacket *p, GArray *out);

/* Status codes: the word for IM-SHOW and how it counts. */
enum { IMS_YMSG_AVAILABLE = 0, IMS_YMSG_BUSY = 2, IMS_YMSG_ONPHONE = 6, IMS_YMSG_INVISIBLE = 12,
       IMS_YMSG_CUSTOM = 99, IMS_YMSG_IDLE = 999 };
typedef enum { IMS_YMSG_KIND_AVAILABLE, IMS_YMSG_KIND_AWAY, IMS_YMSG_KIND_XA, IMS_YMSG_KIND_BUSY,
               IMS_YMSG_KIND_PHONE, IMS_YMSG_KIND_IDLE, IMS_YMSG_KIND_OFFLINE } ImsYmsgKind;
ImsYmsgKind ims_ymsg_status_kind (int status, int away, const char **word);

/* Builders: a whole packet appended to @out; @pairs is key, value, ...,
 * -1 (values are strings). */
void ims_ymsg_pack (GByteArray *out, guint16 service, guint32 status, guint32 session, ...);
/* The login answer (keys 6 and 96) to challenge @chal (pidgin's
 * yahoo_process_auth_old): FALSE when the challenge is too short. */
gboolean ims_ymsg_auth_responses (const char *id, const char *password, const char *chal,
                                  char **r6, char **r96);
/* The buddy list of LIST key 87 ("Group:a,b\n..."): appends ids to @out. */
void ims_ymsg_list_ids (const char *list, GPtrArray *out);

G_END_DECLS
