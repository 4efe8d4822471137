/* imstatusd: options, logging and signals around the daemon (ims-daemon.c
 * wires the parts: config, store, core and the drivers, state, control,
 * FastAGI, HTTP, AMI).
 */
#define G_LOG_DOMAIN "ims-daemon"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "ims-config.h"
#include "ims-daemon.h"
#include "ims-detach.h"
#include "ims-registry.h"
#include "ims-text.h"

typedef struct {
  ImsDaemon *daemon;
  GMainLoop *loop;
  gboolean foreground;
  int debug;          /* until the daemon exists */
  GPtrArray *secrets; /* while the daemon starts: the config's secrets (borrowed) */
} ImsMain;

static ImsMain *ims_main_log_target;

/* ---- logging ---- */

static GLogWriterOutput
ims_main_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  ImsMain *m = ims_main_log_target;
  int debug = m ? (m->daemon ? ims_daemon_debug (m->daemon) : m->debug) : 0;
  if ((level & G_LOG_LEVEL_DEBUG) && debug < 2)
    return G_LOG_WRITER_HANDLED;
  if ((level & G_LOG_LEVEL_INFO) && debug < 1)
    return G_LOG_WRITER_HANDLED;

  const char *domain = "imstatusd", *message = "";
  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN") && fields[i].value)
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].value)
        message = fields[i].value;
    }
  /* Whatever a module logs, no configured secret reaches the log. */
  GPtrArray *secrets = m == NULL ? NULL : m->daemon ? ims_daemon_secrets (m->daemon) : m->secrets;
  g_autofree char *redacted = secrets ? ims_text_redact (message, secrets) : NULL;
  if (redacted)
    message = redacted;
  const char *lv = (level & G_LOG_LEVEL_ERROR)      ? "ERROR"
                   : (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL"
                   : (level & G_LOG_LEVEL_WARNING)  ? "WARNING"
                   : (level & G_LOG_LEVEL_MESSAGE)  ? "NOTICE"
                   : (level & G_LOG_LEVEL_INFO)     ? "INFO"
                                                    : "DEBUG";
  if (m && !m->foreground)
    {
      int pri = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? LOG_ERR
                : (level & G_LOG_LEVEL_WARNING)                      ? LOG_WARNING
                : (level & G_LOG_LEVEL_MESSAGE)                      ? LOG_NOTICE
                : (level & G_LOG_LEVEL_INFO)                         ? LOG_INFO
                                                                     : LOG_DEBUG;
      syslog (pri, "%s %s: %s", domain, lv, message);
      return G_LOG_WRITER_HANDLED;
    }
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *ts = g_date_time_format (now, "%F %T");
  fprintf (stderr, "%s.%03d %s %s: %s\n", ts, g_date_time_get_microsecond (now) / 1000, domain,
           lv, message);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

/* ---- signals ---- */

static gboolean
on_main_sigterm (gpointer data)
{
  ImsMain *m = data;
  g_message ("signal received: logging out and exiting");
  g_main_loop_quit (m->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_main_sighup (gpointer data)
{
  ImsMain *m = data;
  ims_detach_reloading (TRUE);
  ims_daemon_reload (m->daemon, NULL);
  ims_detach_reloading (FALSE);
  return G_SOURCE_CONTINUE;
}

/* A startup failure: one clear line where the admin is looking (the
 * terminal that started a background daemon, too), and the system log. */
static int
ims_main_fatal (ImsMain *m, const char *msg)
{
  if (m->foreground)
    fprintf (stderr, "imstatusd: %s\n", msg);
  else
    {
      syslog (LOG_ERR, "not starting: %s", msg);
      ims_detach_fail (msg);
    }
  return 1;
}

static void
ims_main_print_errors (const char *prefix, const char *msg)
{
  g_auto (GStrv) lines = g_strsplit (msg, "\n", -1);
  for (char **l = lines; *l; l++)
    fprintf (stderr, "%s%s\n", prefix, *l);
}

/* GLib before 2.76 keeps every small block it ever frees in its slice
 * allocator's magazines and never gives them back: the JSON of a big
 * `imctl show`, or a flood of presence, left about 3 KB a user resident at
 * 3,000 users (0.8 KB without; BENCHMARKS.md section 9).  GLib reads G_SLICE
 * once, before main, so the one way to turn it off is to start again with
 * it set (same process, same pid).  A G_SLICE the user set is kept; under
 * valgrind (its preload library) GLib already uses malloc. */
static void
ims_slice_off (char **argv)
{
  const char *preload = getenv ("LD_PRELOAD");
  if (glib_check_version (2, 76, 0) == NULL || getenv ("G_SLICE") != NULL
      || (preload && strstr (preload, "vgpreload")))
    return;
  setenv ("G_SLICE", "always-malloc", 1);
  execv ("/proc/self/exe", argv);
  /* (exec failed: go on with the slice allocator) */
}

int
main (int argc, char **argv)
{
  ims_slice_off (argv);
  g_autofree char *config_path = NULL;
  gboolean foreground = FALSE, check = FALSE, version = FALSE;
  int debug = 0;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default " IMS_CONFIG_DEFAULT_PATH ")", "FILE" },
    { "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground, log to stderr",
      NULL },
    { "check", 'n', 0, G_OPTION_ARG_NONE, &check, "Check the configuration and exit", NULL },
    { "debug", 'd', 0, G_OPTION_ARG_INT, &debug, "Debug level: 0, 1 or 2 (raw traffic)", "N" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  setlocale (LC_ALL, "");
  g_autoptr (GOptionContext) octx = g_option_context_new ("- Asterisk IM presence daemon");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_autoptr (GError) err = NULL;
  if (!g_option_context_parse (octx, &argc, &argv, &err))
    {
      fprintf (stderr, "imstatusd: %s\n", err->message);
      return 2;
    }
  if (version)
    {
      printf ("imstatusd %s\n", IMS_VERSION);
      return 0;
    }
  if (config_path == NULL)
    config_path = g_strdup (IMS_CONFIG_DEFAULT_PATH);

  g_autoptr (ImsConfig) config = ims_config_load (config_path, ims_registry_networks (), &err);
  if (config == NULL)
    {
      if (err->code == IMS_CONFIG_ERROR_IO)
        fprintf (stderr, "imstatusd: cannot read %s\n", err->message);
      else
        ims_main_print_errors ("", err->message);
      fprintf (stderr, "imstatusd: %s: configuration has errors, not starting\n", config_path);
      return 1;
    }
  for (guint i = 0; i < config->warnings->len; i++)
    fprintf (stderr, "warning: %s\n", (const char *) config->warnings->pdata[i]);
  if (check)
    {
      printf ("configuration OK\n");
      return 0;
    }

  signal (SIGPIPE, SIG_IGN);
  /* The soft descriptor limit up to the hard one: the caps on FastAGI,
   * HTTP and imctl connections assume room (the unit sets LimitNOFILE). */
  struct rlimit nofile;
  if (getrlimit (RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max)
    {
      nofile.rlim_cur = nofile.rlim_max;
      setrlimit (RLIMIT_NOFILE, &nofile);
    }
  ImsMain m = { .foreground = foreground, .debug = CLAMP (debug, 0, 2) };
  ims_main_log_target = &m;
  g_log_set_writer_func (ims_main_log_writer, NULL, NULL);
  if (!foreground)
    {
      openlog ("imstatusd", LOG_PID, LOG_DAEMON);
      if (!ims_detach_start (&err))
        {
          fprintf (stderr, "imstatusd: %s\n", err->message);
          return 1;
        }
    }
  /* The parts log while they start: their secrets are redacted from the
   * first line (the strings are the config's, which the daemon keeps). */
  g_autoptr (GPtrArray) secrets = ims_config_secrets (config);
  m.secrets = secrets;
  m.daemon = ims_daemon_new (config_path, g_steal_pointer (&config), m.debug, &err);
  m.secrets = NULL;
  if (m.daemon == NULL)
    return ims_main_fatal (&m, err->message);

  m.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_main_sigterm, &m);
  g_unix_signal_add (SIGINT, on_main_sigterm, &m);
  g_unix_signal_add (SIGHUP, on_main_sighup, &m);
  g_autofree char *what = ims_daemon_describe (m.daemon);
  g_message ("imstatusd %s started: %s", IMS_VERSION, what);
  ims_detach_ready ();
  g_main_loop_run (m.loop);
  ims_detach_stopping ();

  g_clear_pointer (&m.daemon, ims_daemon_free);
  g_main_loop_unref (m.loop);
  g_message ("stopped");
  ims_main_log_target = NULL;
  return 0;
}
