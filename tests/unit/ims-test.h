/* Helpers the unit tests share: bounded waits on the main loop and temp
 * directories. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* Runs the default main context until @cond holds or 10 s pass; fails the
 * test if it never holds.  Never a fixed sleep. */
#define IMS_WAIT_FOR(cond)                                                                     \
  G_STMT_START                                                                                 \
  {                                                                                            \
    gint64 ims_deadline_ = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;                      \
    while (!(cond) && g_get_monotonic_time () < ims_deadline_)                                 \
      g_main_context_iteration (NULL, FALSE);                                                  \
    g_assert_true (cond);                                                                      \
  }                                                                                            \
  G_STMT_END

/* Removes @dir and everything below it. */
static inline void
ims_test_rm_rf (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, n, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        ims_test_rm_rf (p);
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}
