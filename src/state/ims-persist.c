/* ims-persist: see the header.
 *
 * Outbox delivery is at most once: a message is marked SENDING before it is
 * handed to the IM driver and deleted right after.  If the process dies in
 * between, nobody can know whether the buddy got it; on the next start such
 * messages are reported in the log, never sent twice.
 */
#define G_LOG_DOMAIN "ims-state"

#include "ims-persist.h"

#include <string.h>

/* IM-LASTSEEN is in minutes: saving more often than this buys nothing. */
#define LASTSEEN_RESOLUTION_S 60
#define EXPIRE_INTERVAL_S 5
/* Changes of last seen are written together, at most once in this many
 * seconds, so many a transaction and a main-loop turn: a peer going down
 * changes every buddy at once. */
#define LASTSEEN_WRITE_S 1
#define LASTSEEN_WRITE_BATCH 4096

struct _ImsPersist {
  ImsPresenceStore *store;
  ImsCore *core;
  ImsState *state;
  guint outbox_max;
  guint outbox_ttl_s;
  guint watch_id;
  guint expire_id;
  GHashTable *saved;       /* "peer\nbuddy" -> gint64*, last value written */
  GHashTable *unsaved;     /* "peer\nbuddy" -> gint64*, to be written */
  guint write_id;          /* writes what is unsaved */
  GHashTable *queued;      /* peer -> number of messages in the outbox */
  GHashTable *flush_ids;   /* peer -> idle source id of a pending flush */
};

typedef struct {
  ImsPersist *self;
  char *peer;
} FlushJob;

static gint64
ims_persist_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static guint
ims_persist_queued (ImsPersist *self, const char *peer)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->queued, peer));
}

static void
ims_persist_count (ImsPersist *self, const char *peer, int delta)
{
  guint n = ims_persist_queued (self, peer);
  n = delta < 0 && n < (guint) -delta ? 0 : n + delta;
  if (n)
    g_hash_table_insert (self->queued, g_strdup (peer), GUINT_TO_POINTER (n));
  else
    g_hash_table_remove (self->queued, peer);
}

static void
ims_persist_log_message (const char *what, const ImsOutboxMessage *m)
{
  g_autofree char *to = ims_text_for_log (m->to, 128);
  g_autofree char *text = ims_text_for_log (m->text, 80);
  g_warning ("%s: IM #%" G_GINT64_FORMAT " from %s to %s, queued %" G_GINT64_FORMAT
             " s ago: \"%s\"",
             what, m->id, m->peer, to, ims_persist_now () - m->queued_at, text);
}

/* Drops messages older than the TTL, with a log line each. */
static void
ims_persist_expire (ImsPersist *self)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) all = ims_state_outbox_list (self->state, NULL, &err);
  if (all == NULL)
    {
      g_warning ("%s", err->message);
      return;
    }
  gint64 limit = ims_persist_now () - self->outbox_ttl_s;
  for (guint i = 0; i < all->len; i++)
    {
      ImsOutboxMessage *m = all->pdata[i];
      if (m->queued_at > limit)
        continue;
      ims_persist_log_message ("outbox: dropped after outboxttl", m);
      if (ims_state_outbox_delete (self->state, m->id, &err))
        ims_persist_count (self, m->peer, -1);
      else
        g_warning ("%s", err->message);
      g_clear_error (&err);
    }
}

static gboolean
on_persist_expire (gpointer data)
{
  ims_persist_expire (data);
  return G_SOURCE_CONTINUE;
}

/* Delivers @peer's queued messages in order while the peer stays up. */
static gboolean
ims_persist_flush_cb (gpointer data)
{
  FlushJob *job = data;
  ImsPersist *self = job->self;
  g_hash_table_remove (self->flush_ids, job->peer);
  ims_persist_expire (self);
  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) msgs = ims_state_outbox_list (self->state, job->peer, &err);
  for (guint i = 0; msgs && i < msgs->len; i++)
    {
      ImsOutboxMessage *m = msgs->pdata[i];
      if (ims_presence_store_get_peer_state (self->store, m->peer, NULL) != IMS_PEER_REGISTERED)
        break;
      if (!ims_state_outbox_mark (self->state, m->id, IMS_OUTBOX_SENDING, &err))
        break;
      g_autoptr (GError) send_err = NULL;
      if (!ims_core_send (self->core, m->peer, m->to, m->text, &send_err))
        {
          ims_state_outbox_mark (self->state, m->id, IMS_OUTBOX_QUEUED, NULL);
          g_autofree char *why = ims_text_for_log (send_err->message, 200);
          g_info ("outbox: %s: delivery paused: %s", m->peer, why);
          break;
        }
      if (!ims_state_outbox_delete (self->state, m->id, &err))
        break;
      ims_persist_count (self, m->peer, -1);
      g_autofree char *to = ims_text_for_log (m->to, 128);
      g_info ("outbox: delivered IM #%" G_GINT64_FORMAT " from %s to %s after %" G_GINT64_FORMAT
              " s",
              m->id, m->peer, to, ims_persist_now () - m->queued_at);
    }
  if (err)
    g_warning ("outbox: %s", err->message);
  return G_SOURCE_REMOVE;
}

static void
ims_flush_job_free (gpointer data)
{
  FlushJob *job = data;
  g_free (job->peer);
  g_free (job);
}

static void
ims_persist_schedule_flush (ImsPersist *self, const char *peer)
{
  if (ims_persist_queued (self, peer) == 0 || g_hash_table_contains (self->flush_ids, peer))
    return;
  FlushJob *job = g_new0 (FlushJob, 1);
  job->self = self;
  job->peer = g_strdup (peer);
  /* Not from inside the driver's signed-on callback: on the next loop turn. */
  guint id = g_idle_add_full (G_PRIORITY_DEFAULT, ims_persist_flush_cb, job, ims_flush_job_free);
  g_hash_table_insert (self->flush_ids, g_strdup (peer), GUINT_TO_POINTER (id));
}

static void
on_persist_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  if (state == IMS_PEER_REGISTERED)
    ims_persist_schedule_flush (data, peer);
}

/* Writes up to @max of what is unsaved in one transaction; FALSE when
 * some is left.  On failure it is said once and dropped: the next change
 * of each buddy tries again. */
static gboolean
ims_persist_write (ImsPersist *self, guint max)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, self->unsaved);
  while (keys->len < max && g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (keys, k);
  if (keys->len == 0)
    return TRUE;
  g_autoptr (GError) err = NULL;
  gboolean ok = ims_state_begin (self->state, &err);
  for (guint i = 0; ok && i < keys->len; i++)
    {
      const char *key = keys->pdata[i], *nl = strchr (key, '\n'); /* no peer name has one */
      g_autofree char *peer = g_strndup (key, nl - key);
      ok = ims_state_set_lastseen (self->state, peer, nl + 1,
                                   *(gint64 *) g_hash_table_lookup (self->unsaved, key), &err);
    }
  if (ok)
    ok = ims_state_commit (self->state, &err);
  else
    ims_state_rollback (self->state);
  if (!ok)
    {
      g_warning ("%s (%u changes of last seen not saved)", err->message,
                 g_hash_table_size (self->unsaved));
      g_hash_table_remove_all (self->unsaved);
      return TRUE;
    }
  for (guint i = 0; i < keys->len; i++)
    {
      g_hash_table_steal_extended (self->unsaved, keys->pdata[i], &k, &v);
      g_hash_table_insert (self->saved, k, v);
    }
  return g_hash_table_size (self->unsaved) == 0;
}

static gboolean
on_persist_write (gpointer data)
{
  ImsPersist *self = data;
  self->write_id = 0;
  if (!ims_persist_write (self, LASTSEEN_WRITE_BATCH)) /* the rest on the next turn */
    self->write_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_persist_write, self, NULL);
  return G_SOURCE_REMOVE;
}

static void
on_persist_presence (const char *peer, const char *buddy, const ImsAnswer *old,
                     const ImsAnswer *new_, gpointer data)
{
  ImsPersist *self = data;
  if (new_->lastseen_at == 0)
    return;
  g_autofree char *key = g_strconcat (peer, "\n", buddy, NULL);
  gint64 *known = g_hash_table_lookup (self->unsaved, key);
  if (known == NULL)
    known = g_hash_table_lookup (self->saved, key);
  gboolean left = old && ims_status_is_present (old->status) && !ims_status_is_present (new_->status);
  if (known && *known == new_->lastseen_at)
    return;
  if (known && !left && new_->lastseen_at - *known < LASTSEEN_RESOLUTION_S)
    return;
  gint64 *v = g_new (gint64, 1);
  *v = new_->lastseen_at;
  g_hash_table_insert (self->unsaved, g_steal_pointer (&key), v);
  if (self->write_id == 0)
    self->write_id = g_timeout_add_seconds (LASTSEEN_WRITE_S, on_persist_write, self);
}

void
ims_persist_restore_peer (ImsPersist *self, const char *peer)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GHashTable) seen = ims_state_get_lastseen (self->state, peer, &err);
  if (seen == NULL)
    {
      g_warning ("%s", err->message);
      return;
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, seen);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      gint64 *copy = g_new (gint64, 1);
      *copy = *(gint64 *) v;
      g_hash_table_insert (self->saved, g_strconcat (peer, "\n", k, NULL), copy);
      ims_presence_store_set_lastseen (self->store, peer, k, *(gint64 *) v);
    }
}

void
ims_persist_send (ImsPersist *self, const char *peer, const char *to, const char *text,
                  ImsSendOutcome *o)
{
  o->status = IMS_SEND_FAILED;
  ImsPeerState st = ims_presence_store_get_peer_state (self->store, peer, NULL);
  if (st == IMS_PEER_UNSUPPORTED)
    {
      o->result = IMS_RESULT_NOTCONNECTED;
      o->detail = g_strdup_printf ("peer %s can never connect (Unsupported)", peer);
      return;
    }
  /* Straight out only when nothing older is waiting: the order is kept. */
  if (st == IMS_PEER_REGISTERED && ims_persist_queued (self, peer) == 0)
    {
      g_autoptr (GError) err = NULL;
      if (ims_core_send (self->core, peer, to, text, &err))
        {
          o->status = IMS_SEND_SENT;
          o->result = IMS_RESULT_OK;
          return;
        }
      g_info ("%s: sending failed (%s); queueing", peer, err->message);
    }
  g_autoptr (GError) err = NULL;
  if (!ims_state_outbox_add (self->state, peer, to, text, ims_persist_now (), self->outbox_max,
                             &err))
    {
      g_warning ("IMSend to %s via %s refused: %s", to, peer, err->message);
      o->result = IMS_RESULT_NOTCONNECTED;
      o->detail = g_strdup (err->message);
      return;
    }
  ims_persist_count (self, peer, +1);
  o->status = IMS_SEND_QUEUED;
  o->result = IMS_RESULT_NOTCONNECTED;
  if (st == IMS_PEER_REGISTERED)
    ims_persist_schedule_flush (self, peer);
}

ImsPersist *
ims_persist_new (ImsPresenceStore *store, ImsCore *core, ImsState *state, guint outbox_max,
                 guint outbox_ttl_s)
{
  ImsPersist *self = g_new0 (ImsPersist, 1);
  self->store = store;
  self->core = core;
  self->state = state;
  self->outbox_max = outbox_max;
  self->outbox_ttl_s = outbox_ttl_s;
  self->saved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->unsaved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->flush_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_autoptr (GError) err = NULL;
  g_autoptr (GPtrArray) all = ims_state_outbox_list (state, NULL, &err);
  for (guint i = 0; all && i < all->len; i++)
    {
      ImsOutboxMessage *m = all->pdata[i];
      if (m->state == IMS_OUTBOX_SENDING)
        {
          /* Handed to the IM server just before the last run died. */
          ims_persist_log_message ("outbox: delivery unknown (the daemon stopped while sending; "
                                   "not sent again)",
                                   m);
          ims_state_outbox_delete (state, m->id, NULL);
          continue;
        }
      ims_persist_count (self, m->peer, +1);
    }
  if (all && all->len)
    g_message ("outbox: %u messages waiting from the last run", ims_state_outbox_count (state));
  self->watch_id = ims_presence_store_watch (store, on_persist_presence, on_persist_peer, self);
  self->expire_id = g_timeout_add_seconds (EXPIRE_INTERVAL_S, on_persist_expire, self);
  return self;
}

void
ims_persist_set_limits (ImsPersist *self, guint outbox_max, guint outbox_ttl_s)
{
  self->outbox_max = outbox_max;
  self->outbox_ttl_s = outbox_ttl_s;
}

void
ims_persist_free (ImsPersist *self)
{
  if (self == NULL)
    return;
  ims_presence_store_unwatch (self->store, self->watch_id);
  g_clear_handle_id (&self->expire_id, g_source_remove);
  g_clear_handle_id (&self->write_id, g_source_remove);
  ims_persist_write (self, G_MAXUINT);
  g_hash_table_unref (self->unsaved);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->flush_ids);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_source_remove (GPOINTER_TO_UINT (v));
  g_hash_table_unref (self->flush_ids);
  g_hash_table_unref (self->saved);
  g_hash_table_unref (self->queued);
  g_free (self);
}
