/* ims-state: SQLite in WAL mode.  Schema changes are numbered steps applied
 * in one transaction each, recorded in PRAGMA user_version, so a database from
 * any older version is brought up to date and one from a newer imstatusd is
 * refused rather than misread.
 */
#define G_LOG_DOMAIN "ims-state"

#include "ims-state.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

G_DEFINE_QUARK (ims-state-error-quark, ims_state_error)

struct _ImsState {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *set_lastseen;
  sqlite3_stmt *get_lastseen;
  sqlite3_stmt *outbox_add;
  sqlite3_stmt *outbox_peer_count;
  sqlite3_stmt *outbox_count;
  sqlite3_stmt *outbox_mark;
  sqlite3_stmt *outbox_delete;
};

/* Step N brings a version N-1 database to version N. */
static const char *const ims_state_migrations[] = {
  /* 1: last seen per (peer, buddy) */
  "CREATE TABLE lastseen (peer TEXT NOT NULL, buddy TEXT NOT NULL, at INTEGER NOT NULL,"
  " PRIMARY KEY (peer, buddy)) WITHOUT ROWID;",
  /* 2: the IMSend outbox */
  "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, peer TEXT NOT NULL,"
  " recipient TEXT NOT NULL, body TEXT NOT NULL, queued_at INTEGER NOT NULL,"
  " state INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX outbox_peer ON outbox (peer, id);",
};
G_STATIC_ASSERT (G_N_ELEMENTS (ims_state_migrations) == IMS_STATE_SCHEMA_VERSION);

void
ims_outbox_message_free (ImsOutboxMessage *m)
{
  if (m == NULL)
    return;
  g_free (m->peer);
  g_free (m->to);
  g_free (m->text);
  g_free (m);
}

static gboolean
ims_state_fail (ImsState *st, int rc, const char *what, GError **error)
{
  int code = (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) ? IMS_STATE_ERROR_CORRUPT
             : rc == SQLITE_FULL                           ? IMS_STATE_ERROR_FULL
                                                           : IMS_STATE_ERROR_IO;
  g_set_error (error, IMS_STATE_ERROR, code, "state database %s: %s: %s%s", st->path, what,
               st->db ? sqlite3_errmsg (st->db) : sqlite3_errstr (rc),
               code == IMS_STATE_ERROR_CORRUPT
                   ? " (move the file away to start with an empty state)"
                   : "");
  return FALSE;
}

static gboolean
ims_state_exec (ImsState *st, const char *sql, GError **error)
{
  int rc = sqlite3_exec (st->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK || ims_state_fail (st, rc, "cannot update it", error);
}

static gboolean
ims_state_prepare (ImsState *st, sqlite3_stmt **stmt, const char *sql, GError **error)
{
  int rc = sqlite3_prepare_v3 (st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
  return rc == SQLITE_OK || ims_state_fail (st, rc, "cannot prepare a statement", error);
}

static gboolean
ims_state_migrate (ImsState *st, GError **error)
{
  sqlite3_stmt *q = NULL;
  int rc = sqlite3_prepare_v2 (st->db, "PRAGMA user_version", -1, &q, NULL);
  if (rc != SQLITE_OK)
    return ims_state_fail (st, rc, "cannot read it", error);
  rc = sqlite3_step (q);
  int version = rc == SQLITE_ROW ? sqlite3_column_int (q, 0) : -1;
  sqlite3_finalize (q);
  if (version < 0)
    return ims_state_fail (st, rc, "cannot read it", error);
  if (version > IMS_STATE_SCHEMA_VERSION)
    {
      g_set_error (error, IMS_STATE_ERROR, IMS_STATE_ERROR_VERSION,
                   "state database %s has schema version %d, newer than this imstatusd (%d); "
                   "use the newer imstatusd or move the file away",
                   st->path, version, IMS_STATE_SCHEMA_VERSION);
      return FALSE;
    }
  for (int v = version; v < IMS_STATE_SCHEMA_VERSION; v++)
    {
      g_autofree char *sql = g_strdup_printf ("%s PRAGMA user_version = %d;",
                                              ims_state_migrations[v], v + 1);
      gboolean ok = ims_state_begin (st, error) && ims_state_exec (st, sql, error);
      if (ok)
        ok = ims_state_commit (st, error);
      else
        ims_state_rollback (st);
      if (!ok)
        {
          g_prefix_error (error, "migrating to schema version %d: ", v + 1);
          return FALSE;
        }
      if (version > 0)
        g_message ("state database %s migrated to schema version %d", st->path, v + 1);
    }
  return TRUE;
}

ImsState *
ims_state_open (const char *dir, GError **error)
{
  g_autoptr (ImsState) st = g_new0 (ImsState, 1);
  st->path = g_build_filename (dir, IMS_STATE_FILE, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, IMS_STATE_ERROR, IMS_STATE_ERROR_OPEN, "cannot create %s: %s", dir,
                   g_strerror (errno));
      return NULL;
    }
  int rc = sqlite3_open_v2 (st->path, &st->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      ims_state_fail (st, rc, "cannot open it", error);
      return NULL;
    }
  g_chmod (st->path, 0600);
  sqlite3_busy_timeout (st->db, 2000);
  /* WAL + synchronous=NORMAL: a committed change survives a process crash
   * (kill -9); only a power loss may take the last transactions. */
  if (!ims_state_exec (st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", error)
      || !ims_state_migrate (st, error))
    return NULL;
  /* A quick structural check: a damaged file is found now, not mid-call. */
  sqlite3_stmt *q = NULL;
  rc = sqlite3_prepare_v2 (st->db, "PRAGMA quick_check", -1, &q, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (q);
  const char *ok = rc == SQLITE_ROW ? (const char *) sqlite3_column_text (q, 0) : NULL;
  if (ok == NULL || !g_str_equal (ok, "ok"))
    {
      g_set_error (error, IMS_STATE_ERROR, IMS_STATE_ERROR_CORRUPT,
                   "state database %s is damaged (%s); move the file away to start with an empty "
                   "state",
                   st->path, ok ? ok : sqlite3_errmsg (st->db));
      sqlite3_finalize (q);
      return NULL;
    }
  sqlite3_finalize (q);
  if (!ims_state_prepare (st, &st->set_lastseen,
                          "INSERT INTO lastseen (peer, buddy, at) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT (peer, buddy) DO UPDATE SET at = excluded.at",
                          error)
      || !ims_state_prepare (st, &st->get_lastseen, "SELECT buddy, at FROM lastseen WHERE peer = ?1",
                             error)
      || !ims_state_prepare (st, &st->outbox_add,
                             "INSERT INTO outbox (peer, recipient, body, queued_at) "
                             "VALUES (?1, ?2, ?3, ?4)",
                             error)
      || !ims_state_prepare (st, &st->outbox_count, "SELECT count(*) FROM outbox", error)
      || !ims_state_prepare (st, &st->outbox_peer_count,
                             "SELECT count(*) FROM outbox WHERE peer = ?1", error)
      || !ims_state_prepare (st, &st->outbox_mark, "UPDATE outbox SET state = ?2 WHERE id = ?1",
                             error)
      || !ims_state_prepare (st, &st->outbox_delete, "DELETE FROM outbox WHERE id = ?1", error))
    return NULL;
  return g_steal_pointer (&st);
}

void
ims_state_close (ImsState *st)
{
  if (st == NULL)
    return;
  sqlite3_finalize (st->set_lastseen);
  sqlite3_finalize (st->get_lastseen);
  sqlite3_finalize (st->outbox_add);
  sqlite3_finalize (st->outbox_count);
  sqlite3_finalize (st->outbox_peer_count);
  sqlite3_finalize (st->outbox_mark);
  sqlite3_finalize (st->outbox_delete);
  if (st->db)
    sqlite3_close (st->db);
  g_free (st->path);
  g_free (st);
}

/* Runs a prepared statement that returns no rows, then resets it. */
static gboolean
ims_state_run (ImsState *st, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc == SQLITE_DONE || ims_state_fail (st, rc, what, error);
}

gboolean
ims_state_begin (ImsState *st, GError **error)
{
  return ims_state_exec (st, "BEGIN IMMEDIATE", error);
}

void
ims_state_rollback (ImsState *st)
{
  if (sqlite3_get_autocommit (st->db) == 0)
    sqlite3_exec (st->db, "ROLLBACK", NULL, NULL, NULL);
}

gboolean
ims_state_commit (ImsState *st, GError **error)
{
  if (ims_state_exec (st, "COMMIT", error))
    return TRUE;
  ims_state_rollback (st); /* a failed COMMIT leaves the transaction open */
  return FALSE;
}

gboolean
ims_state_set_lastseen (ImsState *st, const char *peer, const char *buddy, gint64 at,
                        GError **error)
{
  sqlite3_bind_text (st->set_lastseen, 1, peer, -1, SQLITE_STATIC);
  sqlite3_bind_text (st->set_lastseen, 2, buddy, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st->set_lastseen, 3, at);
  return ims_state_run (st, st->set_lastseen, "cannot store last seen", error);
}

GHashTable *
ims_state_get_lastseen (ImsState *st, const char *peer, GError **error)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sqlite3_bind_text (st->get_lastseen, 1, peer, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (st->get_lastseen)) == SQLITE_ROW)
    {
      gint64 *at = g_new (gint64, 1);
      *at = sqlite3_column_int64 (st->get_lastseen, 1);
      g_hash_table_insert (out, g_strdup ((const char *) sqlite3_column_text (st->get_lastseen, 0)),
                           at);
    }
  sqlite3_reset (st->get_lastseen);
  sqlite3_clear_bindings (st->get_lastseen);
  if (rc != SQLITE_DONE)
    {
      ims_state_fail (st, rc, "cannot read last seen", error);
      g_hash_table_unref (out);
      return NULL;
    }
  return out;
}

guint
ims_state_outbox_count (ImsState *st)
{
  guint n = 0;
  if (sqlite3_step (st->outbox_count) == SQLITE_ROW)
    n = (guint) sqlite3_column_int64 (st->outbox_count, 0);
  sqlite3_reset (st->outbox_count);
  return n;
}

gboolean
ims_state_outbox_add (ImsState *st, const char *peer, const char *to, const char *text,
                      gint64 queued_at, guint max, GError **error)
{
  /* A quota per peer: one peer's queue (or one local user filling it
   * through FastAGI) cannot make every other peer's IMSend fail. */
  guint n = 0;
  sqlite3_bind_text (st->outbox_peer_count, 1, peer, -1, SQLITE_STATIC);
  if (sqlite3_step (st->outbox_peer_count) == SQLITE_ROW)
    n = (guint) sqlite3_column_int64 (st->outbox_peer_count, 0);
  sqlite3_reset (st->outbox_peer_count);
  if (n >= max)
    {
      g_set_error (error, IMS_STATE_ERROR, IMS_STATE_ERROR_FULL,
                   "the outbox of %s is full (%u messages, outboxmax)", peer, max);
      return FALSE;
    }
  sqlite3_bind_text (st->outbox_add, 1, peer, -1, SQLITE_STATIC);
  sqlite3_bind_text (st->outbox_add, 2, to, -1, SQLITE_STATIC);
  sqlite3_bind_text (st->outbox_add, 3, text, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st->outbox_add, 4, queued_at);
  return ims_state_run (st, st->outbox_add, "cannot queue a message", error);
}

GPtrArray *
ims_state_outbox_list (ImsState *st, const char *peer, GError **error)
{
  sqlite3_stmt *q = NULL;
  const char *sql = peer ? "SELECT id, peer, recipient, body, queued_at, state FROM outbox "
                           "WHERE peer = ?1 ORDER BY id"
                         : "SELECT id, peer, recipient, body, queued_at, state FROM outbox "
                           "ORDER BY id";
  int rc = sqlite3_prepare_v2 (st->db, sql, -1, &q, NULL);
  if (rc != SQLITE_OK)
    {
      ims_state_fail (st, rc, "cannot read the outbox", error);
      return NULL;
    }
  if (peer)
    sqlite3_bind_text (q, 1, peer, -1, SQLITE_STATIC);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_outbox_message_free);
  while ((rc = sqlite3_step (q)) == SQLITE_ROW)
    {
      ImsOutboxMessage *m = g_new0 (ImsOutboxMessage, 1);
      m->id = sqlite3_column_int64 (q, 0);
      m->peer = g_strdup ((const char *) sqlite3_column_text (q, 1));
      m->to = g_strdup ((const char *) sqlite3_column_text (q, 2));
      m->text = g_strdup ((const char *) sqlite3_column_text (q, 3));
      m->queued_at = sqlite3_column_int64 (q, 4);
      m->state = sqlite3_column_int (q, 5);
      g_ptr_array_add (out, m);
    }
  sqlite3_finalize (q);
  if (rc != SQLITE_DONE)
    {
      ims_state_fail (st, rc, "cannot read the outbox", error);
      g_ptr_array_unref (out);
      return NULL;
    }
  return out;
}

gboolean
ims_state_outbox_mark (ImsState *st, gint64 id, ImsOutboxState state, GError **error)
{
  sqlite3_bind_int64 (st->outbox_mark, 1, id);
  sqlite3_bind_int (st->outbox_mark, 2, state);
  return ims_state_run (st, st->outbox_mark, "cannot update the outbox", error);
}

gboolean
ims_state_outbox_delete (ImsState *st, gint64 id, GError **error)
{
  sqlite3_bind_int64 (st->outbox_delete, 1, id);
  return ims_state_run (st, st->outbox_delete, "cannot update the outbox", error);
}
