/* The recorded revival-server frames (tests/reference/revival/<net>-frames.txt:
 * "name hex" lines), for the parser unit tests. */
#pragma once

#include <glib.h>

/* The first frame called @name, as bytes. */
static inline GBytes *
revival_frame (const char *net, const char *name)
{
  g_autofree char *path = g_strdup_printf ("%s/%s-frames.txt", IMS_REVIVAL_REF, net);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      g_auto (GStrv) w = g_strsplit (*l, " ", 2);
      if (w[0] && w[1] && g_str_equal (w[0], name))
        {
          gsize n = strlen (w[1]) / 2;
          guint8 *b = g_malloc (n);
          for (gsize i = 0; i < n; i++)
            b[i] = (guint8) g_ascii_strtoull ((char[]){ w[1][2 * i], w[1][2 * i + 1], 0 }, NULL, 16);
          return g_bytes_new_take (b, n);
        }
    }
  g_error ("no frame %s in %s", name, path);
  return NULL;
}

/* Every frame called @name, in order (transfer full: GBytes*). */
static inline GPtrArray *
revival_frames (const char *net, const char *name)
{
  g_autofree char *path = g_strdup_printf ("%s/%s-frames.txt", IMS_REVIVAL_REF, net);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      g_auto (GStrv) w = g_strsplit (*l, " ", 2);
      if (!w[0] || !w[1] || !g_str_equal (w[0], name))
        continue;
      gsize n = strlen (w[1]) / 2;
      guint8 *b = g_malloc (n);
      for (gsize i = 0; i < n; i++)
        b[i] = (guint8) g_ascii_strtoull ((char[]){ w[1][2 * i], w[1][2 * i + 1], 0 }, NULL, 16);
      g_ptr_array_add (out, g_bytes_new_take (b, n));
    }
  g_assert_cmpuint (out->len, >, 0);
  return out;
}

