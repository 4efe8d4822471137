/* ims-detach: fork with a readiness pipe, and sd_notify. */
#define G_LOG_DOMAIN "ims-daemon"

#include "ims-detach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static int ims_detach_fd = -1; /* the child's end of the pipe, until ready or failed */

static void
ims_detach_say (const char *word)
{
  if (ims_detach_fd < 0)
    return;
  gsize len = strlen (word);
  while (len > 0)
    {
      ssize_t n = write (ims_detach_fd, word, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      word += n;
      len -= n;
    }
  close (ims_detach_fd);
  ims_detach_fd = -1;
}

/* The parent: what the child said decides the exit code. */
static G_GNUC_NORETURN void
ims_detach_wait (int fd, pid_t child)
{
  g_autoptr (GString) said = g_string_new (NULL);
  char buf[512];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (said, buf, n);
    }
  if (g_str_equal (said->str, "ready"))
    _exit (0);
  if (said->len == 0)
    {
      int status = 0;
      waitpid (child, &status, 0);
      fprintf (stderr, "imstatusd: exited during startup (%s %d); see the system log\n",
               WIFSIGNALED (status) ? "signal" : "status",
               WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
    }
  else
    fprintf (stderr, "imstatusd: %s\n", said->str);
  _exit (1);
}

gboolean
ims_detach_start (GError **error)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "pipe: %s",
                   g_strerror (errno));
      return FALSE;
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "cannot go to the background: %s", g_strerror (errno));
      return FALSE;
    }
  if (pid > 0)
    {
      close (p[1]);
      ims_detach_wait (p[0], pid);
    }
  close (p[0]);
  ims_detach_fd = p[1];
  setsid ();
  if (chdir ("/") != 0)
    { /* nothing depends on the working directory */
    }
  int null = open ("/dev/null", O_RDWR);
  if (null >= 0)
    {
      dup2 (null, STDIN_FILENO);
      dup2 (null, STDOUT_FILENO);
      dup2 (null, STDERR_FILENO);
      if (null > STDERR_FILENO)
        close (null);
    }
  return TRUE;
}

void
ims_detach_ready (void)
{
  ims_detach_say ("ready");
  sd_notify (0, "READY=1\nSTATUS=running");
}

void
ims_detach_fail (const char *message)
{
  ims_detach_say (message);
  sd_notifyf (0, "STATUS=%s", message);
}

void
ims_detach_reloading (gboolean reloading)
{
  sd_notify (0, reloading ? "RELOADING=1" : "READY=1");
}

void
ims_detach_stopping (void)
{
  sd_notify (0, "STOPPING=1");
}
