/* ims-loop-lock: see the header. */
#define G_LOG_DOMAIN "ims-net"

#include "ims-loop-lock.h"

static GRecMutex ims_loop_mutex;
static guint ims_loop_installed;
static __thread gboolean ims_loop_enrolled;

static gint
ims_loop_poll (GPollFD *fds, guint nfds, gint timeout)
{
  g_rec_mutex_unlock (&ims_loop_mutex);
  gint r = g_poll (fds, nfds, timeout);
  g_rec_mutex_lock (&ims_loop_mutex);
  return r;
}

void
ims_loop_lock_install (void)
{
  if (ims_loop_installed++ > 0)
    return;
  g_rec_mutex_lock (&ims_loop_mutex);
  g_main_context_set_poll_func (NULL, ims_loop_poll);
}

void
ims_loop_lock_uninstall (void)
{
  g_return_if_fail (ims_loop_installed > 0);
  if (--ims_loop_installed > 0)
    return;
  g_main_context_set_poll_func (NULL, g_poll);
  g_rec_mutex_unlock (&ims_loop_mutex);
}

void
ims_loop_lock (void)
{
  g_rec_mutex_lock (&ims_loop_mutex);
}

void
ims_loop_unlock (void)
{
  g_rec_mutex_unlock (&ims_loop_mutex);
}

void
ims_loop_lock_enrol (void)
{
  ims_loop_enrolled = TRUE;
}

gboolean
ims_loop_lock_if_enrolled (void)
{
  if (!ims_loop_enrolled)
    return FALSE;
  g_rec_mutex_lock (&ims_loop_mutex);
  return TRUE;
}
