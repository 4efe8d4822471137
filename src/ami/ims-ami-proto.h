/* ims-ami-proto: the Asterisk Manager Interface wire format, as Asterisk 22
 * speaks it (tests/reference/asterisk22/ami-*).  Pure: lines in, messages
 * out; actions built with every value checked.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_AMI_ERROR (ims_ami_error_quark ())
GQuark ims_ami_error_quark (void);

typedef enum {
  IMS_AMI_ERROR_PROTOCOL,
  IMS_AMI_ERROR_LIMIT,
  IMS_AMI_ERROR_VALUE,
} ImsAmiError;

#define IMS_AMI_MAX_LINE 8192
#define IMS_AMI_MAX_HEADERS 256
#define IMS_AMI_MAX_MESSAGE 65536

/* One response or event: "Key: Value" headers in order; keys may repeat
 * (PresenceState has two Message headers). */
typedef struct {
  GPtrArray *keys;
  GPtrArray *values;
  gsize bytes;
} ImsAmiMessage;

ImsAmiMessage *ims_ami_message_new (void);
void ims_ami_message_free (ImsAmiMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsAmiMessage, ims_ami_message_free)
/* The first value of @key (case-insensitive), NULL when absent. */
const char *ims_ami_message_get (const ImsAmiMessage *msg, const char *key);

typedef struct {
  gboolean greeted;
  char *greeting;       /* "Asterisk Call Manager/11.0.0" */
  ImsAmiMessage *cur;
} ImsAmiParser;

void ims_ami_parser_init (ImsAmiParser *p);
void ims_ami_parser_clear (ImsAmiParser *p);
/* Feeds one line (without LF; a trailing CR is dropped).  The first line is
 * the greeting.  Returns a finished message (transfer full) on the empty line
 * that ends it, else NULL; FALSE in *ok with @error on a malformed line or a
 * limit. */
ImsAmiMessage *ims_ami_parser_feed (ImsAmiParser *p, const char *line, gsize len, gboolean *ok,
                                    GError **error);

/* "Action: X\r\nActionID: id\r\nK: V\r\n...\r\n".  @headers is a
 * NULL-terminated list of key, value pairs.  A CR, LF or NUL in any key or
 * value, or a bad key, is refused: nothing from outside can add a header. */
char *ims_ami_action (const char *action, const char *action_id, const char *const *headers,
                      GError **error);

/* Untrusted text as one header value: backslash, CR, LF and other control
 * characters escaped (\\ \r \n \xNN), at most @max bytes (transfer full). */
char *ims_ami_escape_value (const char *text, gsize max);

G_END_DECLS
