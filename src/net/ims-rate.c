/* ims-rate: see the header.  Monotonic time, so a clock change neither
 * opens nor closes a window. */
#include "ims-rate.h"

struct _ImsRate {
  GHashTable *keys;   /* key -> GArray of gint64 event times, oldest first */
  gint64 window;      /* microseconds */
  gint64 last_sweep;
  gint64 (*now) (void);
};

ImsRate *
ims_rate_new (guint seconds)
{
  ImsRate *r = g_new0 (ImsRate, 1);
  r->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  r->window = (gint64) seconds * G_USEC_PER_SEC;
  r->now = g_get_monotonic_time;
  r->last_sweep = r->now ();
  return r;
}

void
ims_rate_free (ImsRate *r)
{
  if (r == NULL)
    return;
  g_hash_table_unref (r->keys);
  g_free (r);
}

void
ims_rate_set_clock (ImsRate *r, gint64 (*now) (void))
{
  r->now = now ? now : g_get_monotonic_time;
  r->last_sweep = r->now ();
}

guint
ims_rate_keys (ImsRate *r)
{
  return g_hash_table_size (r->keys);
}

/* Once a window: forget every key whose newest event is out of it.  O(keys)
 * once per window, so O(1) a call on average. */
static void
ims_rate_sweep (ImsRate *r, gint64 now)
{
  if (now - r->last_sweep < r->window)
    return;
  r->last_sweep = now;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, r->keys);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      GArray *times = v;
      if (times->len == 0 || g_array_index (times, gint64, times->len - 1) <= now - r->window)
        g_hash_table_iter_remove (&it);
    }
}

guint
ims_rate_count (ImsRate *r, const char *key, gboolean add)
{
  gint64 now = r->now ();
  ims_rate_sweep (r, now);
  GArray *times = g_hash_table_lookup (r->keys, key);
  if (times == NULL)
    {
      if (!add)
        return 0;
      times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (r->keys, g_strdup (key), times);
    }
  while (times->len && g_array_index (times, gint64, 0) <= now - r->window)
    g_array_remove_index (times, 0);
  if (add)
    g_array_append_val (times, now);
  guint n = times->len;
  if (n == 0)
    g_hash_table_remove (r->keys, key);
  return n;
}

gboolean
ims_rate_allow (ImsRate *r, const char *key, guint max)
{
  if (ims_rate_count (r, key, FALSE) >= max)
    return FALSE;
  ims_rate_count (r, key, TRUE);
  return TRUE;
}
