/* ims-rate: see the header.  Monotonic time, so a clock change neither
 * opens nor closes a window. */
#include "ims-rate.h"

GHashTable *
ims_rate_table_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
}

guint
ims_rate_count (GHashTable *table, const char *key, guint seconds, gboolean add)
{
  gint64 now = g_get_monotonic_time ();
  GArray *times = g_hash_table_lookup (table, key);
  if (times == NULL)
    {
      if (!add)
        return 0;
      times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (table, g_strdup (key), times);
    }
  while (times->len && g_array_index (times, gint64, 0) <= now - (gint64) seconds * G_USEC_PER_SEC)
    g_array_remove_index (times, 0);
  if (add)
    g_array_append_val (times, now);
  return times->len;
}

gboolean
ims_rate_allow (GHashTable *table, const char *key, guint max, guint seconds)
{
  if (ims_rate_count (table, key, seconds, FALSE) >= max)
    return FALSE;
  ims_rate_count (table, key, seconds, TRUE);
  return TRUE;
}
