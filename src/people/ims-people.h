/* ims-people: a person (im.conf type = person) as one presence: her phone
 * (a hint's state, from AMI), her IM identities (the store's answers) and
 * her do-not-disturb switch, the one truth whoever sets it (the dialplan's
 * Custom: device, imctl, or her own IM client showing dnd).  The last change
 * wins; who applies it to Asterisk is told through ImsPeopleHooks.
 */
#pragma once

#include "ims-config.h"
#include "ims-presence-store.h"

G_BEGIN_DECLS

/* IM-PHONE's words, from a hint's StatusText. */
typedef enum {
  IMS_PHONE_UNKNOWN,
  IMS_PHONE_IDLE,
  IMS_PHONE_INUSE,
  IMS_PHONE_RINGING,
  IMS_PHONE_ONHOLD,
  IMS_PHONE_UNAVAILABLE,
} ImsPhone;

const char *ims_phone_to_string (ImsPhone phone);
/* Asterisk's StatusText ("Idle", "InUse&Hold", ...) as IM-PHONE. */
ImsPhone ims_phone_from_status_text (const char *status_text);

/* Who changed a person's DND. */
typedef enum {
  IMS_DND_FROM_DEVICE, /* the dnd device changed (the dialplan, *78) */
  IMS_DND_FROM_IMCTL,  /* imctl dnd */
  IMS_DND_FROM_IM,     /* one of her identities began or stopped showing dnd */
  IMS_DND_FROM_WEB,    /* the board, the HTTP API */
} ImsDndSource;

typedef struct {
  /* @person's DND is now @on (changed by @source): make Asterisk follow (the
   * dnd device, the queue pause). */
  void (*dnd_changed) (gpointer user_data, const ImsPerson *person, gboolean on,
                       ImsDndSource source);
  gpointer user_data;
} ImsPeopleHooks;

typedef struct _ImsPeople ImsPeople;

/* @statedir: where each person's DND is kept across restarts (NULL: not). */
ImsPeople *ims_people_new (ImsPresenceStore *store, const char *statedir,
                           const ImsPeopleHooks *hooks);
void ims_people_free (ImsPeople *people);
/* The people of @config (kept by reference until the next call). */
void ims_people_set_config (ImsPeople *people, const ImsConfig *config);

/* What Asterisk says: a hint's state, a device's state. */
void ims_people_hint (ImsPeople *people, const char *context, const char *exten,
                      const char *status_text);
void ims_people_device (ImsPeople *people, const char *device, const char *state);
/* imctl dnd, the board: FALSE when there is no such person. */
gboolean ims_people_set_dnd (ImsPeople *people, const char *name, gboolean on,
                             ImsDndSource source);

typedef struct {
  ImsAnswer answer; /* the nine variables, for the person */
  ImsPhone phone;   /* IM-PHONE */
  gboolean dnd;     /* IM-DND */
} ImsPersonAnswer;

/* FALSE when @name is no person.  Clear @out with ims_answer_clear (&out->answer). */
gboolean ims_people_lookup (ImsPeople *people, const char *name, ImsPersonAnswer *out);
/* What IMStatus(jane) sets: the nine variables, then IM-PHONE and IM-DND. */
void ims_person_answer_each_variable (const ImsPersonAnswer *answer, gint64 now,
                                      ImsVariableFunc func, gpointer data);
/* Her DND as kept now. */
gboolean ims_people_dnd (ImsPeople *people, const char *name);
/* The person whose identity @peer/@id (the full id) is; NULL: nobody's. */
const ImsPerson *ims_people_of_identity (ImsPeople *people, const char *peer, const char *id);
/* The people whose dnd device is @device (ImsPerson*; borrowed). */
const GSList *ims_people_with_device (ImsPeople *people, const char *device);
/* Is DND on for the person whose extension is @exten@@context? */
gboolean ims_people_dnd_at (ImsPeople *people, const char *context, const char *exten);

/* A person's answer changed (only when it did): @answer is the new one. */
typedef void (*ImsPersonChangedFunc) (const char *name, const ImsPersonAnswer *answer,
                                      gpointer user_data);
guint ims_people_watch (ImsPeople *people, ImsPersonChangedFunc changed, gpointer user_data);
void ims_people_unwatch (ImsPeople *people, guint id);
/* Calls @func for every person, as now (the watch's snapshot). */
void ims_people_foreach (ImsPeople *people, ImsPersonChangedFunc func, gpointer user_data);

G_END_DECLS
