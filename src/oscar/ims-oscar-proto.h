/* ims-oscar-proto: AIM's OSCAR, the pure part.  FLAP framing, SNAC headers,
 * TLVs, and the readers for the few SNACs the driver acts on, over bytes
 * with a limit on every length; builders for what the driver sends.  No
 * sockets, no state: fuzzed by tests/fuzz/fuzz-oscar.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_OSCAR_ERROR (ims_oscar_error_quark ())
GQuark ims_oscar_error_quark (void);

/* The largest FLAP payload (its length is a u16). */
#define IMS_FLAP_MAX (6 + 65535)
#define IMS_OSCAR_SN_MAX 97  /* screen names: AIM's limit was 16, ICQ UINs 10 */
#define IMS_OSCAR_MAX_IM 2000 /* bytes of text in one IM (before HTML escaping) */

enum { IMS_FLAP_SIGNON = 1, IMS_FLAP_SNAC = 2, IMS_FLAP_ERROR = 3, IMS_FLAP_SIGNOFF = 4,
       IMS_FLAP_KEEPALIVE = 5 };

/* The framer for ims-frame-conn: FLAP '*' ch seq len. */
gssize ims_flap_frame_len (const guint8 *buf, gsize len, GError **error);

typedef struct {
  guint8 channel;
  const guint8 *data;
  gsize len;
} ImsFlap;

typedef struct {
  guint16 family, subtype, flags;
  guint32 reqid;
  const guint8 *data; /* after the header (and the 0x8000 extra block) */
  gsize len;
} ImsSnac;

gboolean ims_flap_parse (const guint8 *frame, gsize len, ImsFlap *out, GError **error);
gboolean ims_snac_parse (const guint8 *data, gsize len, ImsSnac *out, GError **error);

/* The value of the first TLV of @type in a run of TLVs. */
gboolean ims_oscar_tlv_find (const guint8 *data, gsize len, guint16 type, const guint8 **value,
                             gsize *vlen);

/* A screen name as the server compares it: lower case, no spaces. */
char *ims_oscar_normalize (const char *sn, gssize len);

/* 17,03: the login reply. */
typedef struct {
  guint16 error;   /* 0 = none; 4 unknown name, 5 bad password, 7 name mismatch ... */
  char *bos_host;
  int bos_port;    /* 0 = not given */
  GBytes *cookie;
} ImsOscarLogin;
gboolean ims_oscar_parse_login (const ImsSnac *snac, ImsOscarLogin *out, GError **error);
void ims_oscar_login_clear (ImsOscarLogin *l);
/* In words, for `Failed: ...` (transfer none). */
const char *ims_oscar_login_error_text (guint16 code);

/* The user info block of 03,0B, 03,0C and 02,06. */
typedef struct {
  char *sn;          /* normalized */
  guint32 uclass;    /* TLV 1; 0x20 = away */
  int idle_minutes;  /* TLV 4; -1 = not sent */
  const guint8 *rest; /* what follows the counted TLVs */
  gsize rest_len;
} ImsOscarUser;
#define IMS_OSCAR_CLASS_AWAY 0x20
gboolean ims_oscar_parse_user (const guint8 *data, gsize len, ImsOscarUser *out, GError **error);
void ims_oscar_user_clear (ImsOscarUser *u);
/* 02,06: the away text (TLV 4 after the user info), NULL when none. */
char *ims_oscar_parse_away (const ImsOscarUser *u);

/* 13,06: the server-stored list (feedbag). */
typedef struct {
  char *name;
  guint16 gid, iid, klass;
} ImsOscarItem;
enum { IMS_OSCAR_ITEM_BUDDY = 0, IMS_OSCAR_ITEM_GROUP = 1 };
/* Appends ImsOscarItem* (free with ims_oscar_item_free) to @items. */
gboolean ims_oscar_parse_feedbag (const ImsSnac *snac, GPtrArray *items, GError **error);
void ims_oscar_item_free (ImsOscarItem *item);

/* 04,07 on channel 1: a plain IM.  @text is the raw message (HTML as AIM
 * clients send it), converted to UTF-8 from its charset. */
typedef struct {
  char *from;
  char *text;
} ImsOscarIm;
gboolean ims_oscar_parse_im (const ImsSnac *snac, ImsOscarIm *out, GError **error);
void ims_oscar_im_clear (ImsOscarIm *im);

/* ---- builders: each appends one whole FLAP to @out ---- */
void ims_oscar_put_flap (GByteArray *out, guint8 channel, guint16 *seq, const guint8 *data,
                         gsize len);
/* A SNAC FLAP; @body is its data (may be NULL). */
void ims_oscar_put_snac (GByteArray *out, guint16 *seq, guint16 family, guint16 subtype,
                         guint32 reqid, const GByteArray *body);
void ims_oscar_put_u8 (GByteArray *b, guint8 v);
void ims_oscar_put_u16 (GByteArray *b, guint16 v);
void ims_oscar_put_u32 (GByteArray *b, guint32 v);
void ims_oscar_put_tlv (GByteArray *b, guint16 type, const void *value, gsize len);
void ims_oscar_put_tlv_str (GByteArray *b, guint16 type, const char *s);
/* 17,02's TLV 0x25: md5(key + md5(password) + "AOL Instant Messenger (SM)"). */
void ims_oscar_login_hash (const guint8 *key, gsize key_len, const char *password,
                           guint8 out[16]);
/* 04,06: a channel-1 IM of @text (plain text, sent HTML-escaped). */
GByteArray *ims_oscar_im_body (const guint8 cookie[8], const char *to, const char *text);

G_END_DECLS
