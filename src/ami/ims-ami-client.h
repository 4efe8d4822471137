/* ims-ami-client: one AMI session to Asterisk, kept up with backoff, with the
 * device states re-read (DeviceStateList) after every login.
 */
#pragma once

#include "ims-ami-proto.h"

G_BEGIN_DECLS

typedef struct _ImsAmiClient ImsAmiClient;

typedef enum {
  IMS_AMI_DOWN,       /* not connected; retrying */
  IMS_AMI_UP,         /* logged in, device states in sync */
  IMS_AMI_AUTHFAIL,   /* wrong amiuser/amisecret: not retried until reload */
} ImsAmiState;

typedef struct {
  /* A device's state changed ("PJSIP/jimmy", "INUSE"), or was listed. */
  void (*device) (const char *device, const char *state, gpointer user_data);
  /* The session went up or down. */
  void (*state) (ImsAmiState state, const char *reason, gpointer user_data);
  gpointer user_data;
  /* A hint's state ("phones", "204", "InUse", and the hint itself,
   * "Custom:204,CustomPresence:204"), listed after each login
   * (ExtensionStateList) and on every change; NULL: hints are not asked for. */
  void (*extension) (const char *context, const char *exten, const char *status_text,
                     const char *hint, gpointer user_data);
  /* A presence state ("CustomPresence:204", "away", "back at 2"), listed
   * after the hints (PresenceStateList) and on every change; NULL: not asked. */
  void (*presence) (const char *presentity, const char *status, const char *message,
                    gpointer user_data);
} ImsAmiHooks;

/* The final answer to an action: the Response (or, for an async Originate,
 * the OriginateResponse event); NULL when the session was lost first. */
typedef void (*ImsAmiReplyFunc) (const ImsAmiMessage *reply, gpointer user_data);

/* @tls: connect with TLS, verifying Asterisk's certificate and name against
 * @cafile (NULL: the system's CAs). */
ImsAmiClient *ims_ami_client_new (const char *host, int port, const char *user,
                                  const char *secret, gboolean tls, const char *cafile,
                                  const ImsAmiHooks *hooks);
void ims_ami_client_free (ImsAmiClient *client);
ImsAmiState ims_ami_client_state (ImsAmiClient *client);

/* Sends an action; @func gets its reply.  With @wait_event (e.g.
 * "OriginateResponse") the event carrying the same ActionID is the reply.
 * FALSE + error when not logged in or a value is unsafe. */
gboolean ims_ami_client_send (ImsAmiClient *client, const char *action,
                              const char *const *headers, const char *wait_event,
                              ImsAmiReplyFunc func, gpointer user_data, GError **error);
/* A list action (QueueStatus): @item gets each event carrying its ActionID,
 * one at a time (nothing is held), and @func the @complete_event
 * ("QueueStatusComplete"), an error Response, or NULL when the session was
 * lost first. */
gboolean ims_ami_client_send_list (ImsAmiClient *client, const char *action,
                                   const char *const *headers, const char *complete_event,
                                   ImsAmiReplyFunc item, ImsAmiReplyFunc func,
                                   gpointer user_data, GError **error);

G_END_DECLS
