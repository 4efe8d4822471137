/* ims-vocab: the words imstatus speaks to Asterisk and to itself, in one
 * plain-C header (no GLib) that the daemon, app_imstatus.so and the man-page
 * generator all include: the IMStatus variable names, the result words with
 * whether they jump to n+101 and their HTTP status, the status words with
 * their lamp (device and presence state), the send statuses, the peer-state
 * words, the control protocol's version and framing, and default paths.
 *
 * Each table is indexed by its enum; the daemon checks each against its
 * ImsStatus/ImsResult/ImsPeerState with G_STATIC_ASSERT (ims-presence-store.c),
 * and the sizes here with the enums' COUNT members.
 */
#ifndef IMS_VOCAB_H
#define IMS_VOCAB_H

/* ---- paths and ports ---- */

#define IMS_VOCAB_CONFIG_PATH "/etc/asterisk/im.conf"
#define IMS_VOCAB_STATEDIR "/var/lib/imstatus"
#define IMS_VOCAB_SOCKET_NAME "imstatusd.sock"
#define IMS_VOCAB_SOCKET IMS_VOCAB_STATEDIR "/" IMS_VOCAB_SOCKET_NAME
#define IMS_VOCAB_RUN_SOCKET "/run/imstatus/" IMS_VOCAB_SOCKET_NAME /* the Debian package's */
#define IMS_VOCAB_AGI_PORT 4573
/* The module's device and presence provider: IM:<peer>:<buddy> lamps. */
#define IMS_VOCAB_LAMP_PROVIDER "IM"

/* ---- reconnecting (the daemon to IM servers and AMI, the module to the
 * daemon): from MIN doubling to MAX, each delay jittered by +-25 % ---- */

#define IMS_VOCAB_BACKOFF_MIN_MS 1000
#define IMS_VOCAB_BACKOFF_MAX_MS 60000

/* ---- the control protocol (ims-control.h describes it) ---- */

#define IMS_VOCAB_CONTROL_VERSION 1
#define IMS_VOCAB_CONTROL_HELLO "%imstatus " /* followed by the version */
#define IMS_VOCAB_CONTROL_BEGIN "%begin "
#define IMS_VOCAB_CONTROL_END "%end "
#define IMS_VOCAB_CONTROL_ERROR "%error "
#define IMS_VOCAB_EVENT_PEER "peer"
#define IMS_VOCAB_EVENT_BUDDY "buddy"
#define IMS_VOCAB_EVENT_SYNCED "synced"
#define IMS_VOCAB_EVENT_PEER_REMOVED "peer-removed"
#define IMS_VOCAB_EVENT_PERSON "person"

/* ---- the dialplan's variables ---- */

/* IMStatus sets these, in this order. */
enum ims_vocab_var {
  IMS_VAR_STATUS, IMS_VAR_IDLETIME, IMS_VAR_STATUSTEXT, IMS_VAR_LASTSEEN, IMS_VAR_STATUSPREFIX,
  IMS_VAR_STATUSURI, IMS_VAR_RESOURCE, IMS_VAR_SHOW, IMS_VAR_RESULT, IMS_VAR_COUNT
};
static const char *const ims_vocab_variables[IMS_VAR_COUNT] = {
  "IM-STATUS", "IM-IDLETIME", "IM-STATUSTEXT", "IM-LASTSEEN", "IM-STATUSPREFIX",
  "IM-STATUSURI", "IM-RESOURCE", "IM-SHOW", "IM-RESULT",
};
/* A person's answer (IMStatus(jane)) sets two more: her phone's state and
 * her do-not-disturb ("1"/"0"). */
#define IMS_VOCAB_PHONE_VAR "IM-PHONE"
#define IMS_VOCAB_DND_VAR "IM-DND"
/* IM-PHONE's words, in ImsPhone order. */
#define IMS_VOCAB_PHONE_UNKNOWN "unknown"
#define IMS_VOCAB_N_PHONES 6
static const char *const ims_vocab_phones[IMS_VOCAB_N_PHONES] = {
  IMS_VOCAB_PHONE_UNKNOWN, "idle", "inuse", "ringing", "onhold", "unavailable",
};
/* IMSend sets IM-SENDSTATUS and IM-RESULT; its text is at most this long. */
#define IMS_VOCAB_SENDSTATUS_VAR "IM-SENDSTATUS"
#define IMS_VOCAB_MAX_SEND 8000 /* bytes of UTF-8: room left in an AGI line (8191) */

/* ---- result words (IM-RESULT), in ImsResult order ---- */

struct ims_vocab_result {
  const char *word;
  int error; /* an error: the application continues at n+101 where that exists */
  int http;  /* the HTTP API's status for it */
};
#define IMS_VOCAB_N_RESULTS 7
static const struct ims_vocab_result ims_vocab_results[IMS_VOCAB_N_RESULTS] = {
  { "OK", 0, 200 },           { "NOTSUBSCRIBED", 0, 403 }, { "PENDING", 0, 200 },
  { "NOPEER", 1, 404 },       { "NOTCONNECTED", 1, 503 },  { "BADARGS", 1, 400 },
  { "TIMEOUT", 1, 504 },
};
enum {
  IMS_VOCAB_OK, IMS_VOCAB_NOTSUBSCRIBED, IMS_VOCAB_PENDING, IMS_VOCAB_NOPEER,
  IMS_VOCAB_NOTCONNECTED, IMS_VOCAB_BADARGS, IMS_VOCAB_TIMEOUT
};

/* ---- status words (IM-STATUS), in ImsStatus order, with their lamp ---- */

enum {
  IMS_VOCAB_UNKNOWN, IMS_VOCAB_OFFLINE, IMS_VOCAB_BUSY, IMS_VOCAB_AWAY, IMS_VOCAB_IDLE,
  IMS_VOCAB_ONLINE
};

struct ims_vocab_status {
  const char *word;
  const char *device;   /* Asterisk device state name (ast_devstate_val) */
  const char *presence; /* Asterisk presence state name (ast_presence_state_val) */
  const char *show;     /* an IM-SHOW word that lights another presence... */
  const char *show_presence; /* ...this one (chat, xa); NULL when none */
};
#define IMS_VOCAB_N_STATUSES 6
static const struct ims_vocab_status ims_vocab_statuses[IMS_VOCAB_N_STATUSES] = {
  { "unknown", "UNKNOWN", "not_set", NULL, NULL },
  { "offline", "UNAVAILABLE", "unavailable", NULL, NULL },
  { "busy", "INUSE", "dnd", NULL, NULL },
  { "away", "NOT_INUSE", "away", "xa", "xa" },
  { "idle", "NOT_INUSE", "available", "chat", "chat" },
  { "online", "NOT_INUSE", "available", "chat", "chat" },
};

/* ---- send statuses (IM-SENDSTATUS) ---- */

enum ims_vocab_send { IMS_SEND_SENT, IMS_SEND_QUEUED, IMS_SEND_FAILED, IMS_SEND_COUNT };
static const char *const ims_vocab_send_statuses[IMS_SEND_COUNT] = { "SENT", "QUEUED", "FAILED" };

/* ---- peer states (imctl show peers, the module's peers) ---- */

#define IMS_VOCAB_N_PEER_STATES 5
static const char *const ims_vocab_peer_states[IMS_VOCAB_N_PEER_STATES] = {
  "Connecting", "Registered", "Unregistered", "Failed", "Unsupported",
};
enum { IMS_VOCAB_PEER_REGISTERED = 1 };

/* strcmp () == 0 without <string.h>: the header stands alone. */
static inline int
ims_vocab_streq (const char *a, const char *b)
{
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

/* The status entry of an IM-STATUS word, NULL when there is none. */
static inline const struct ims_vocab_status *
ims_vocab_status_of (const char *word)
{
  for (int i = 0; i < IMS_VOCAB_N_STATUSES; i++)
    if (ims_vocab_streq (ims_vocab_statuses[i].word, word))
      return &ims_vocab_statuses[i];
  return NULL;
}

/* The lamp's presence state for a status and its IM-SHOW word. */
static inline const char *
ims_vocab_presence_of (const struct ims_vocab_status *s, const char *show)
{
  return s->show && show && ims_vocab_streq (s->show, show) ? s->show_presence : s->presence;
}

/* The next reconnect delay after @last_ms (0: none yet), before jitter. */
static inline int
ims_vocab_backoff_next_ms (int last_ms)
{
  if (last_ms <= 0)
    return IMS_VOCAB_BACKOFF_MIN_MS;
  return last_ms >= IMS_VOCAB_BACKOFF_MAX_MS / 2 ? IMS_VOCAB_BACKOFF_MAX_MS : last_ms * 2;
}

/* Does the dialplan's @name mean the peer's own account @own (its full id,
 * "robot@example.org", or a bare screen name)?  The same account in ASCII
 * case, or, for a name without '@', own's part before the '@'.  IMStatus
 * answers the peer's login for it (online or offline). */
static inline int
ims_vocab_names_own (const char *name, const char *own)
{
  const char *a = name, *b = own;
  int has_at = 0;
  for (const char *c = name; *c; c++)
    has_at |= *c == '@';
  for (;; a++, b++)
    {
      char x = *a >= 'A' && *a <= 'Z' ? (char) (*a - 'A' + 'a') : *a;
      char y = *b >= 'A' && *b <= 'Z' ? (char) (*b - 'A' + 'a') : *b;
      if (x == '\0')
        return y == '\0' || (!has_at && y == '@');
      if (x != y)
        return 0;
    }
}

/* Is the result word an error (the application jumps to n+101)?  An unknown
 * word is. */
static inline int
ims_vocab_result_is_error (const char *word)
{
  for (int i = 0; i < IMS_VOCAB_N_RESULTS; i++)
    if (ims_vocab_streq (ims_vocab_results[i].word, word))
      return ims_vocab_results[i].error;
  return 1;
}

#endif /* IMS_VOCAB_H */
