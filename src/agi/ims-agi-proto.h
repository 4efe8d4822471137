/* ims-agi-proto: the FastAGI wire format, as Asterisk 22 speaks it
 * (tests/reference/asterisk22/agi-*).  Pure: bytes in, structs out.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_AGI_ERROR (ims_agi_error_quark ())
GQuark ims_agi_error_quark (void);

typedef enum {
  IMS_AGI_ERROR_ENV,
  IMS_AGI_ERROR_REPLY,
  IMS_AGI_ERROR_ARGS,
} ImsAgiError;

/* Asterisk reads commands into an 8192-byte buffer: 8191 bytes + LF. */
#define IMS_AGI_MAX_LINE 8191
#define IMS_AGI_MAX_ENV_LINES 256
#define IMS_AGI_MAX_ENV_BYTES 65536
#define IMS_AGI_MAX_WAIT_MS 60000

typedef struct {
  guint32 offset; /* where the key starts in ImsAgiEnv.text */
  guint32 hash;
} ImsAgiEnvKey;

/* The environment Asterisk sends first: "key: value" lines, an empty line. */
typedef struct {
  GString *text;    /* "key\0value\0" for each line, in order */
  GArray *index;    /* ImsAgiEnvKey for each line */
  GPtrArray *args;  /* agi_arg_1..N in order (owned copies) */
  guint lines;
  gsize bytes;
  gboolean complete;
} ImsAgiEnv;

ImsAgiEnv *ims_agi_env_new (void);
void ims_agi_env_free (ImsAgiEnv *env);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsAgiEnv, ims_agi_env_free)
/* Feeds one line (without its LF).  Sets env->complete on the empty line.
 * FALSE + error on a malformed line or a limit. */
gboolean ims_agi_env_feed (ImsAgiEnv *env, const char *line, gsize len, GError **error);
const char *ims_agi_env_get (const ImsAgiEnv *env, const char *key);
/* agi_network_script without its ?query, NULL when there is none (transfer full). */
char *ims_agi_env_script (const ImsAgiEnv *env);

typedef enum {
  IMS_AGI_REPLY_RESULT,   /* 200 result=N [(value)] */
  IMS_AGI_REPLY_INVALID,  /* 510 */
  IMS_AGI_REPLY_DEAD,     /* 511: not permitted on a dead channel */
  IMS_AGI_REPLY_USAGE,    /* 520, single or the end of the multi-line form */
  IMS_AGI_REPLY_MORE,     /* inside a 520 multi-line usage text: keep reading */
  IMS_AGI_REPLY_HANGUP,   /* the asynchronous "HANGUP" line: not a reply */
} ImsAgiReplyKind;

typedef struct {
  ImsAgiReplyKind kind;
  int code;
  int result;
  gboolean has_value;
  char *value;           /* between the first "(" and the last ")" */
  gboolean in_usage;     /* parser state across 520 lines */
} ImsAgiReply;

/* Parses one reply line, using and updating @reply->in_usage for 520 blocks.
 * FALSE + error for a line that is none of the above. */
gboolean ims_agi_reply_parse (ImsAgiReply *reply, const char *line, GError **error);
void ims_agi_reply_clear (ImsAgiReply *reply);

/* The value as one double-quoted AGI word that Asterisk unquotes back to the
 * same bytes: '\' and '"' escaped; CR, LF, NUL and other controls can never
 * be on the wire, so any that reach here become a space. */
char *ims_agi_quote (const char *value);

/* IMStatus options: "", "g", "W(500)", "gW(500)". */
gboolean ims_agi_parse_options (const char *options, gboolean *go_on, int *wait_ms,
                                GError **error);

/* "peer/user" (IMStatus) or "peer/user/text" (IMSend, @text non-NULL). */
gboolean ims_agi_split_target (const char *arg, char **peer, char **user, char **text,
                               GError **error);

/* A dialplan name that can go into ${DIALPLAN_EXISTS(...)} unquoted. */
gboolean ims_agi_dialplan_name_ok (const char *s);

G_END_DECLS
