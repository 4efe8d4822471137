/* ims-service: what every front end may ask of the daemon, said once.
 *
 * FastAGI, the control socket (imctl and app_imstatus.so) and HTTP are each
 * a wire format over this one facade: they parse their protocol, ask here,
 * and render the answer.  The checks (the peer exists, the text's length and
 * encoding, sendallow, the outbox) live behind it, in the daemon, once.
 * Reading presence and hearing changes is the store's feed
 * (ims_presence_store_lookup / _watch / _watch_removed); a person's, the
 * people's (ims_people_lookup / _set_dnd).
 */
#pragma once

#include "ims-config.h"
#include "ims-people.h"
#include "ims-presence-store.h"
#include "ims-vocab.h"

G_BEGIN_DECLS

/* IM-SENDSTATUS: the shared vocabulary's words, indexed by this. */
typedef enum ims_vocab_send ImsSendStatus;

/* What an IMSend came to. */
typedef struct {
  ImsSendStatus status;
  ImsResult result; /* IM-RESULT */
  char *detail;     /* why, for a person (owned; NULL when none) */
} ImsSendOutcome;

static inline const char *
ims_send_status_to_string (ImsSendStatus status)
{
  return ims_vocab_send_statuses[status < IMS_SEND_COUNT ? status : IMS_SEND_FAILED];
}

static inline void
ims_send_outcome_clear (ImsSendOutcome *outcome)
{
  g_clear_pointer (&outcome->detail, g_free);
}

typedef struct {
  ImsPresenceStore *store;
  /* People: IMStatus(jane), imctl status jane, imctl dnd. */
  ImsPeople *people;
  /* The running configuration (replaced by a reload). */
  const ImsConfig *(*config) (gpointer user_data);
  /* Where @peer connects: configured, else its network's default. */
  const char *(*peer_host) (gpointer user_data, const char *peer);
  int (*peer_port) (gpointer user_data, const char *peer);
  /* IMSend: @text to @to (as the dialplan writes it) through @peer. */
  void (*send) (gpointer user_data, const char *peer, const char *to, const char *text,
                ImsSendOutcome *outcome);
  /* Click-to-dial: ring @device, then @target through @peer; FALSE + @error. */
  gboolean (*dial) (gpointer user_data, const char *peer, const char *device, const char *target,
                    GError **error);
  /* Ring @device, then the person @name's extension; FALSE + @error. */
  gboolean (*call_person) (gpointer user_data, const char *device, const char *name,
                           GError **error);
  /* Read im.conf again; FALSE + @error (the running one stays) when it is bad. */
  gboolean (*reload) (gpointer user_data, GError **error);
  /* 0 off, 1 protocol events, 2 raw traffic. */
  void (*set_debug) (gpointer user_data, int level);
  gpointer user_data;
} ImsService;

G_END_DECLS
