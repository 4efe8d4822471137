/* ims-state: what must survive a restart or a kill -9, in SQLite (WAL) in
 * statedir: when each buddy was last seen, and the IMSend outbox.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_STATE_ERROR (ims_state_error_quark ())
GQuark ims_state_error_quark (void);

typedef enum {
  IMS_STATE_ERROR_OPEN,
  IMS_STATE_ERROR_CORRUPT,
  IMS_STATE_ERROR_VERSION,
  IMS_STATE_ERROR_FULL,
  IMS_STATE_ERROR_IO,
} ImsStateError;

#define IMS_STATE_SCHEMA_VERSION 2
#define IMS_STATE_FILE "imstatus.db"

typedef struct _ImsState ImsState;

typedef enum {
  IMS_OUTBOX_QUEUED = 0,
  IMS_OUTBOX_SENDING = 1, /* handed to the IM server when the process died */
} ImsOutboxState;

typedef struct {
  gint64 id;
  char *peer;
  char *to;
  char *text;
  gint64 queued_at;
  ImsOutboxState state;
} ImsOutboxMessage;

void ims_outbox_message_free (ImsOutboxMessage *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsOutboxMessage, ims_outbox_message_free)

/* Opens (creating or migrating) @dir/imstatus.db.  A corrupt, unreadable or
 * newer-version database is an error naming the file: never silent loss. */
ImsState *ims_state_open (const char *dir, GError **error);
void ims_state_close (ImsState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsState, ims_state_close)

gboolean ims_state_set_lastseen (ImsState *state, const char *peer, const char *buddy, gint64 at,
                                 GError **error);
/* Changes between ims_state_begin and ims_state_commit are one
 * transaction: one WAL commit for all of them, where each change alone is
 * one commit of its own.  A commit that fails is rolled back;
 * ims_state_rollback drops what a failed change left (nothing when no
 * transaction is open). */
gboolean ims_state_begin (ImsState *state, GError **error);
gboolean ims_state_commit (ImsState *state, GError **error);
void ims_state_rollback (ImsState *state);
/* buddy -> unix time, for one peer (transfer full; values are gint64*). */
GHashTable *ims_state_get_lastseen (ImsState *state, const char *peer, GError **error);

/* Appends a message; fails with IMS_STATE_ERROR_FULL when @max are queued
 * for @peer already. */
gboolean ims_state_outbox_add (ImsState *state, const char *peer, const char *to, const char *text,
                               gint64 queued_at, guint max, GError **error);
/* Queued messages of @peer (NULL = all), oldest first (transfer full). */
GPtrArray *ims_state_outbox_list (ImsState *state, const char *peer, GError **error);
gboolean ims_state_outbox_mark (ImsState *state, gint64 id, ImsOutboxState st, GError **error);
gboolean ims_state_outbox_delete (ImsState *state, gint64 id, GError **error);
guint ims_state_outbox_count (ImsState *state);

G_END_DECLS
