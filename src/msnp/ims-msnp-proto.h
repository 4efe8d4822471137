/* ims-msnp-proto: MSN Messenger's MSNP (version 18), the pure part.  Command
 * lines (CRLF) and their payloads, with a limit on every length; the personal
 * message of a UBX; the text of a MSG; the login service's SOAP answer and
 * the MBI_KEY_OLD response to the server's nonce.  No sockets, no state:
 * fuzzed by tests/fuzz/fuzz-msnp.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_MSNP_ERROR (ims_msnp_error_quark ())
GQuark ims_msnp_error_quark (void);

#define IMS_MSNP_MAX_LINE 8192
#define IMS_MSNP_MAX_PAYLOAD 65536
#define IMS_MSNP_MAX_ARGS 32
/* The largest MSG payload Escargot's switchboard takes (more closes it). */
#define IMS_MSNP_MAX_MSG 1664

/* The framer for ims-frame-conn: a line, plus its payload for the commands
 * that carry one (the byte count is the last word). */
gssize ims_msnp_frame_len (const guint8 *buf, gsize len, GError **error);

typedef struct {
  char cmd[4];          /* "NLN", "USR", or an error code "911" */
  guint nargs;
  char **args;          /* the words after the command (NULL-terminated) */
  const guint8 *payload; /* into the frame; NULL when none */
  gsize payload_len;
} ImsMsnpCmd;

gboolean ims_msnp_parse (const guint8 *frame, gsize len, ImsMsnpCmd *out, GError **error);
void ims_msnp_cmd_clear (ImsMsnpCmd *c);
/* Is @c the error-code reply form ("911 4")? */
gboolean ims_msnp_is_error (const ImsMsnpCmd *c);

/* "1:bob@example.com" -> "bob@example.com" (lower case); NULL for another
 * network or a malformed address (transfer full). */
char *ims_msnp_email (const char *arg);

/* Is @email an address that can go on a command line (user@domain, printable
 * ASCII, no space)? */
gboolean ims_msnp_is_address (const char *email);
/* The ADL/RML payload putting @email on @lists (1 forward, 2 allow, 4
 * block); NULL when it is no address (transfer full). */
char *ims_msnp_ml (const char *email, int lists);

/* The personal message in a UBX payload; NULL when the XML is not
 * well-formed (transfer full). */
char *ims_msnp_psm (const guint8 *payload, gsize len);
/* The text of a MSG payload when its Content-Type is text/plain, else NULL
 * (transfer full). */
char *ims_msnp_msg_text (const guint8 *payload, gsize len);

/* The login service's answer (RST2.srf): the ticket and binary secret of the
 * messengerclear.live.com token.  FALSE when there is none (a refused login
 * answers a fault). */
gboolean ims_msnp_parse_rst (const char *xml, gsize len, char **ticket, char **secret);
/* USR SSO S's second word: the response to @nonce with @secret (base64),
 * @iv the 8 random bytes of the 3DES-CBC; NULL when @secret is not base64
 * of 24 bytes (transfer full). */
char *ims_msnp_sso_response (const char *secret, const char *nonce, const guint8 iv[8]);

/* Presence words: the IM-SHOW word and how the state counts. */
typedef enum { IMS_MSNP_AVAILABLE, IMS_MSNP_AWAY, IMS_MSNP_BUSY, IMS_MSNP_PHONE, IMS_MSNP_IDLE,
               IMS_MSNP_OFFLINE, IMS_MSNP_UNKNOWN } ImsMsnpKind;
ImsMsnpKind ims_msnp_status_kind (const char *st, const char **word);

G_END_DECLS
