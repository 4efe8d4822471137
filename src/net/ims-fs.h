/* ims-fs: private directories, made safely. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Creates @path (and its parents) if missing and makes it mode 0700 even
 * when it existed with another mode; refuses a symlink rather than chmod
 * whatever it points to. */
gboolean ims_fs_private_dir (const char *path, GError **error);

G_END_DECLS
