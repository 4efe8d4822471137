/* Unit tests for the state database: schema, last seen, outbox, damage. */
#include "ims-state.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "ims-test.h"

static char *
tmpdir (void)
{
  return g_dir_make_tmp ("ims-state-XXXXXX", NULL);
}


static void
test_lastseen_and_outbox (void)
{
  g_autofree char *dir = tmpdir ();
  g_autoptr (GError) err = NULL;
  {
    g_autoptr (ImsState) st = ims_state_open (dir, &err);
    g_assert_no_error (err);
    g_assert_true (ims_state_set_lastseen (st, "aim1", "b@x", 100, &err));
    g_assert_true (ims_state_set_lastseen (st, "aim1", "b@x", 200, &err));
    for (int i = 0; i < 3; i++)
      {
        g_autofree char *t = g_strdup_printf ("m%d", i);
        g_assert_true (ims_state_outbox_add (st, "aim1", "b@x", t, 1000 + i, 3, &err));
      }
    g_assert_false (ims_state_outbox_add (st, "aim1", "b@x", "over", 2000, 3, &err));
    g_assert_error (err, IMS_STATE_ERROR, IMS_STATE_ERROR_FULL);
    g_clear_error (&err);
    /* The quota is per peer: a full aim1 does not stop aim2. */
    g_assert_true (ims_state_outbox_add (st, "aim2", "b@x", "other", 2000, 3, &err));
    g_autoptr (GPtrArray) other = ims_state_outbox_list (st, "aim2", &err);
    g_assert_cmpuint (other->len, ==, 1);
    g_assert_true (ims_state_outbox_delete (st, ((ImsOutboxMessage *) other->pdata[0])->id, &err));
  }
  /* Reopened: everything is still there, in order. */
  g_autoptr (ImsState) st = ims_state_open (dir, &err);
  g_assert_no_error (err);
  g_autoptr (GHashTable) seen = ims_state_get_lastseen (st, "aim1", &err);
  g_assert_cmpint (*(gint64 *) g_hash_table_lookup (seen, "b@x"), ==, 200);
  g_autoptr (GPtrArray) msgs = ims_state_outbox_list (st, "aim1", &err);
  g_assert_cmpuint (msgs->len, ==, 3);
  ImsOutboxMessage *m0 = msgs->pdata[0];
  g_assert_cmpstr (m0->text, ==, "m0");
  g_assert_true (ims_state_outbox_mark (st, m0->id, IMS_OUTBOX_SENDING, &err));
  g_assert_true (ims_state_outbox_delete (st, ((ImsOutboxMessage *) msgs->pdata[1])->id, &err));
  g_autoptr (GPtrArray) left = ims_state_outbox_list (st, NULL, &err);
  g_assert_cmpuint (left->len, ==, 2);
  g_assert_cmpint (((ImsOutboxMessage *) left->pdata[0])->state, ==, IMS_OUTBOX_SENDING);
  g_assert_cmpuint (ims_state_outbox_count (st), ==, 2);
  ims_state_close (g_steal_pointer (&st));
  ims_test_rm_rf (dir);
}

/* Many changes as one transaction: kept whole when it commits, gone whole
 * when it is rolled back. */
static void
test_transaction (void)
{
  g_autofree char *dir = tmpdir ();
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsState) st = ims_state_open (dir, &err);
  g_assert_no_error (err);
  g_assert_true (ims_state_begin (st, &err));
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *b = g_strdup_printf ("u%d@x", i);
      g_assert_true (ims_state_set_lastseen (st, "corp", b, 100 + i, &err));
    }
  g_assert_true (ims_state_commit (st, &err));
  g_assert_true (ims_state_begin (st, &err));
  g_assert_true (ims_state_set_lastseen (st, "corp", "u0@x", 5, &err));
  g_assert_true (ims_state_set_lastseen (st, "corp", "late@x", 5, &err));
  ims_state_rollback (st);
  g_assert_no_error (err);
  g_autoptr (GHashTable) seen = ims_state_get_lastseen (st, "corp", &err);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 1000);
  g_assert_cmpint (*(gint64 *) g_hash_table_lookup (seen, "u0@x"), ==, 100);
  g_assert_cmpint (*(gint64 *) g_hash_table_lookup (seen, "u999@x"), ==, 1099);
  g_assert_false (g_hash_table_contains (seen, "late@x"));
  /* Outside a transaction each change is its own again. */
  g_assert_true (ims_state_set_lastseen (st, "corp", "late@x", 7, &err));
  g_autoptr (GHashTable) again = ims_state_get_lastseen (st, "corp", &err);
  g_assert_true (g_hash_table_contains (again, "late@x"));
}

static void
test_migrate_from_v1 (void)
{
  g_autofree char *dir = tmpdir ();
  g_autofree char *path = g_build_filename (dir, IMS_STATE_FILE, NULL);
  sqlite3 *db;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE lastseen (peer TEXT NOT NULL, buddy TEXT NOT "
                                     "NULL, at INTEGER NOT NULL, PRIMARY KEY (peer, buddy)) "
                                     "WITHOUT ROWID; INSERT INTO lastseen VALUES ('p','b',42);"
                                     "PRAGMA user_version = 1;",
                                 NULL, NULL, NULL),
                   ==, SQLITE_OK);
  sqlite3_close (db);
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsState) st = ims_state_open (dir, &err);
  g_assert_no_error (err);
  g_autoptr (GHashTable) seen = ims_state_get_lastseen (st, "p", &err);
  g_assert_cmpint (*(gint64 *) g_hash_table_lookup (seen, "b"), ==, 42);
  g_assert_true (ims_state_outbox_add (st, "p", "b", "t", 1, 10, &err));
  ims_state_close (g_steal_pointer (&st));
  ims_test_rm_rf (dir);
}

static void
test_damaged (void)
{
  g_autofree char *dir = tmpdir ();
  g_autofree char *path = g_build_filename (dir, IMS_STATE_FILE, NULL);
  g_assert_true (g_file_set_contents (path, "not a database, not at all; really not", -1, NULL));
  g_autoptr (GError) err = NULL;
  g_assert_null (ims_state_open (dir, &err));
  g_assert_error (err, IMS_STATE_ERROR, IMS_STATE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (err->message, path));
  g_assert_nonnull (strstr (err->message, "move the file away"));
  ims_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/state/lastseen-outbox", test_lastseen_and_outbox);
  g_test_add_func ("/state/transaction", test_transaction);
  g_test_add_func ("/state/migrate-v1", test_migrate_from_v1);
  g_test_add_func ("/state/damaged", test_damaged);
  return g_test_run ();
}
