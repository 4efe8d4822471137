/* ims-telephony-private: the telephony state, shared by its parts: AMI,
 * presencehints and click-to-dial (ims-telephony.c), and the hints and
 * people (ims-telephony-hints.c).  Not for anyone outside src/ami.
 */
#pragma once

#include "ims-ami-client.h"
#include "ims-rate.h"
#include "ims-telephony.h"

G_BEGIN_DECLS

struct _ImsTelephony {
  const ImsConfig *config;
  ImsPresenceStore *store;
  ImsCore *core;
  ImsTelephonyHooks hooks;
  ImsAmiClient *ami;
  char *ami_key;           /* host/port/user/secret the client was made with */
  GHashTable *devices;     /* device -> state */
  gboolean hints_full_logged;
  GHashTable *hints;       /* "context\037exten" -> Hint, every context (a reload may publish one) */
  ImsPeople *people;       /* told hints and devices; asks for DND to be applied */
  GHashTable *dnd_pending; /* person -> "1"/"0": DND set while AMI was down, pushed at login */
  ImsRate *attempts;       /* click-to-dial requests per "peer\nsender" */
  GHashTable *totp_steps;  /* peer -> guint64*: the last one-time code's step used */
  guint store_watch;       /* presencehints follow the store's answers */
  guint callfile_seq;
};

/* ims-telephony-hints.c */
void ims_tel_hints_init (ImsTelephony *tel);
void ims_tel_hints_clear (ImsTelephony *tel);
/* ImsAmiHooks.extension and .presence. */
void on_tel_extension (const char *context, const char *exten, const char *state,
                       const char *hint, gpointer data);
void on_tel_hint_presence (const char *presentity, const char *status, const char *message,
                           gpointer data);
/* A device's state for the people (not for a person whose DND is waiting
 * to be pushed: that is newer). */
void ims_tel_people_device (ImsTelephony *tel, const char *device, const char *state);
/* Has Asterisk listed the hint @exten of @context? */
gboolean ims_tel_hint_known (ImsTelephony *tel, const char *context, const char *exten);
/* AMI is up: push the DND set while it was down, and bring every person's
 * queue memberships in line with her DND. */
void ims_tel_people_up (ImsTelephony *tel);

G_END_DECLS
