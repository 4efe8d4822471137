/* ims-telephony: two-way presence with Asterisk (DESIGN.md "Telephony
 * presence").  From AMI device states: which peers may be logged in
 * (activewhen) and whether a peer shows busy (phone).  From IMs: click-to-dial
 * (AMI Originate, or a call file when there is no AMI) and UserEvents for
 * everything else.
 */
#pragma once

#include "ims-core.h"
#include "ims-people.h"

G_BEGIN_DECLS

#define IMS_DIAL_RATE_PER_MINUTE 5

typedef struct _ImsTelephony ImsTelephony;

typedef struct {
  /* activewhen of @peer may have changed: start or stop it. */
  void (*activewhen_changed) (gpointer user_data, const char *peer);
  gpointer user_data;
} ImsTelephonyHooks;

/* @people: told the hints and devices Asterisk reports (NULL: none). */
ImsTelephony *ims_telephony_new (const ImsConfig *config, ImsPresenceStore *store,
                                 ImsCore *core, ImsPeople *people, const ImsTelephonyHooks *hooks);
/* The board's "call" on a person's card: rings @device, then her extension
 * in its context; FALSE + @error (G_IO_ERROR_BUSY: rung too often). */
gboolean ims_telephony_call_person (ImsTelephony *tel, const char *device,
                                    const ImsPerson *person, GError **error);
/* A person's DND changed (ImsPeopleHooks): her dnd device follows (now, or
 * when AMI is back). */
void ims_telephony_apply_dnd (ImsTelephony *tel, const ImsPerson *person, gboolean on,
                              ImsDndSource source);
void ims_telephony_free (ImsTelephony *tel);
/* After a reload: new peer settings; a changed AMI login reconnects. */
void ims_telephony_set_config (ImsTelephony *tel, const ImsConfig *config);
/* Tells every peer that publishes a context the hints of it Asterisk last
 * reported (after a reload made a peer anew). */
void ims_telephony_replay_phones (ImsTelephony *tel);

/* May @peer be logged in now?  If not, *why says why (for Unregistered). */
gboolean ims_telephony_peer_allowed (ImsTelephony *tel, const ImsPeerConfig *peer, char **why);
/* Applies the phone's current state to @peer's own status. */
void ims_telephony_apply_phone (ImsTelephony *tel, const ImsPeerConfig *peer);
/* An IM that arrived for @peer: a click-to-dial command or a UserEvent. */
void ims_telephony_on_message (ImsTelephony *tel, const char *peer, const char *from,
                               const char *text);

/* presencehints (exposed for tests): the Custom: device state and the
 * CustomPresence: value ("dnd,<show>,<base64 text>,e") for an answer. */
const char *ims_hint_device_state (ImsStatus status);
char *ims_hint_presence_value (const ImsAnswer *answer);

/* Click-to-dial from the board: ring @device, then @target (checked as
 * ims_dial_target_parse does) in @peer's dialcontext. */
gboolean ims_telephony_dial (ImsTelephony *tel, const char *peer, const char *device,
                             const char *target, GError **error);

/* Device state words that mean "registered"/"in a call" (exposed for tests). */
gboolean ims_device_state_available (const char *state);
gboolean ims_device_state_busy (const char *state);
/* A dial target: digits (with an optional leading '+'), or a sip:, sips:,
 * tel:, iax2: or h323: URI of a strict character set.  *exten gets what goes
 * into the dialplan's extension ("uri" for URIs). */
gboolean ims_dial_target_parse (const char *target, char **exten);
/* Does @target (already parsed) pass @peer's dialtargets (default: this
 * PBX's own extensions, 1 to 6 digits)?  Every click-to-dial, from IM or
 * the web, asks. */
gboolean ims_dial_target_allowed (const ImsPeerConfig *peer, const char *target);

G_END_DECLS
