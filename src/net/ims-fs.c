/* ims-fs: see the header. */
#include "ims-fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
ims_fs_private_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot create %s: %s",
                   path, g_strerror (e));
      return FALSE;
    }
  /* O_NOFOLLOW: a symlink planted where the directory should be is an
   * error, never a chmod of its target. */
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fchmod (fd, 0700) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                   "cannot make %s a private directory: %s%s", path, g_strerror (e),
                   e == ELOOP || e == ENOTDIR ? " (a symbolic link, or not a directory)" : "");
      return FALSE;
    }
  close (fd);
  return TRUE;
}
