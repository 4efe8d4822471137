/* imstatusd: options, signals and wiring.  The work is done in the modules:
 * config (im.conf), store (presence), core (peers and drivers), the registry
 * (the networks), state (durable), control (imctl), agi (FastAGI), ami (telephony).
 */
#define G_LOG_DOMAIN "ims-daemon"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ims-agi-proto.h"
#include "ims-agi-server.h"
#include "ims-config.h"
#include "ims-control.h"
#include "ims-core.h"
#include "ims-detach.h"
#include "ims-fs.h"
#include "ims-http.h"
#include "ims-persist.h"
#include "ims-presence-store.h"
#include "ims-state.h"
#include "ims-telephony.h"
#include "ims-registry.h"
#include "ims-text.h"

typedef struct {
  char *config_path;
  ImsConfig *config;
  ImsPresenceStore *store;
  ImsCore *core;
  ImsControl *control;
  ImsAgiServer *agi;
  ImsHttp *http;
  ImsState *state;
  ImsPersist *persist;
  ImsTelephony *tel;
  GMainLoop *loop;
  int debug;
  gboolean foreground;
  GPtrArray *secrets; /* every secret of the config, redacted from every log line */
} ImsDaemon;

static ImsDaemon *ims_daemon_log_target;

/* ---- logging ---- */

static GLogWriterOutput
ims_daemon_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                       gpointer data)
{
  ImsDaemon *d = ims_daemon_log_target;
  int debug = d ? d->debug : 0;
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
  g_autofree char *redacted = d && d->secrets ? ims_text_redact (message, d->secrets) : NULL;
  if (redacted)
    message = redacted;
  const char *lv = (level & G_LOG_LEVEL_ERROR)      ? "ERROR"
                   : (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL"
                   : (level & G_LOG_LEVEL_WARNING)  ? "WARNING"
                   : (level & G_LOG_LEVEL_MESSAGE)  ? "NOTICE"
                   : (level & G_LOG_LEVEL_INFO)     ? "INFO"
                                                    : "DEBUG";
  if (d && !d->foreground)
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

/* ---- core hooks ---- */

static gboolean
ims_daemon_allowed (gpointer data, const ImsPeerConfig *p, char **why)
{
  ImsDaemon *d = data;
  return ims_telephony_peer_allowed (d->tel, p, why);
}

static void
ims_daemon_peer_added (gpointer data, const ImsPeerConfig *p)
{
  ImsDaemon *d = data;
  ims_persist_restore_peer (d->persist, p->name);
  ims_telephony_apply_phone (d->tel, p);
}

static void
on_daemon_message (gpointer data, const char *peer, const char *from, const char *text)
{
  ImsDaemon *d = data;
  ims_telephony_on_message (d->tel, peer, from, text);
}

/* activewhen's device came or went: log the peer in or out. */
static void
on_daemon_activewhen (gpointer data, const char *name)
{
  ImsDaemon *d = data;
  ims_core_recheck (d->core, name);
}

static gboolean
ims_daemon_reload (gpointer data, GError **error)
{
  ImsDaemon *d = data;
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) fresh = ims_config_load (d->config_path, ims_registry_networks (), &err);
  if (fresh == NULL)
    {
      g_warning ("reload of %s refused; the running configuration stays:\n%s", d->config_path,
                 err->message);
      g_set_error (error, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_INVALID,
                   "reload refused, the running configuration stays:\n%s", err->message);
      return FALSE;
    }
  for (guint i = 0; i < fresh->warnings->len; i++)
    g_warning ("%s", (const char *) fresh->warnings->pdata[i]);
  g_autofree char *restart = ims_config_restart_changes (d->config, fresh);
  if (restart)
    g_warning ("changes to %s take effect at the next restart", restart);

  /* The new secrets are redacted before any peer logs in with them. */
  g_autoptr (GPtrArray) old_secrets = g_steal_pointer (&d->secrets);
  ImsConfig *old_config = d->config;
  d->config = g_steal_pointer (&fresh);
  d->secrets = ims_config_secrets (d->config);
  ims_telephony_set_config (d->tel, d->config);
  /* [general] keys without IMS_KEY_RESTART apply here or where they are read. */
  g_autoptr (GError) allow_err = NULL;
  if (d->agi && !ims_agi_server_set_allow (d->agi, d->config->agiallow, &allow_err))
    g_warning ("%s", allow_err->message);
  ims_control_set_idle_timeout (d->control, d->config->controltimeout);
  ImsCoreChanges n;
  ims_core_apply (d->core, d->config, &n);
  ims_persist_set_limits (d->persist, d->config->outboxmax, d->config->outboxttl);
  ims_config_free (old_config);
  g_message ("reloaded %s: %u peers kept, %u updated live, %u changed, %u added, %u removed",
             d->config_path, n.kept, n.live, n.changed, n.added, n.removed);
  return TRUE;
}

/* ---- control hooks ---- */

static const ImsConfig *
ims_daemon_config (gpointer data)
{
  return ((ImsDaemon *) data)->config;
}

/* IMSend and `imctl send`: the IM-SENDSTATUS word, IM-RESULT in *result. */
static const char *
ims_daemon_send (gpointer data, const char *peer, const char *to, const char *text,
                 ImsResult *result, char **detail)
{
  ImsDaemon *d = data;
  if (!ims_presence_store_has_peer (d->store, peer))
    {
      *result = IMS_RESULT_NOPEER;
      *detail = g_strdup_printf ("no peer named '%s'", peer);
      return "FAILED";
    }
  if (strlen (text) > IMS_AGI_MAX_SEND || !g_utf8_validate (text, -1, NULL))
    {
      *result = IMS_RESULT_BADARGS;
      *detail = g_strdup_printf ("text is not UTF-8 or longer than %d bytes", IMS_AGI_MAX_SEND);
      return "FAILED";
    }
  g_autofree char *id = ims_presence_store_normalize (d->store, peer, to);
  if (!ims_core_may_send_to (d->core, peer, id))
    {
      /* FastAGI and imctl are open to local users: the robot writes only to
       * whom the config says (sendallow, by default the subscribe list). */
      g_autofree char *who = ims_text_for_log (id, 256);
      g_warning ("%s: IMSend to %s refused: not in sendallow (default: the subscribe list)",
                 peer, who);
      *result = IMS_RESULT_NOTSUBSCRIBED;
      *detail = g_strdup_printf ("%s may not write to %s (sendallow)", peer, who);
      return "FAILED";
    }
  return ims_persist_send (d->persist, peer, id, text, result, detail);
}

static const char *
ims_daemon_peer_host (gpointer data, const char *peer)
{
  return ims_core_peer_host (((ImsDaemon *) data)->core, peer);
}

static int
ims_daemon_peer_port (gpointer data, const char *peer)
{
  return ims_core_peer_port (((ImsDaemon *) data)->core, peer);
}

static gboolean
ims_daemon_dial (gpointer data, const char *peer, const char *device, const char *target,
                 GError **error)
{
  return ims_telephony_dial (((ImsDaemon *) data)->tel, peer, device, target, error);
}

static void
ims_daemon_set_debug (gpointer data, int level)
{
  ImsDaemon *d = data;
  d->debug = level;
  ims_core_set_debug (d->core, level);
  g_message ("debug %s", level == 2 ? "intense" : level ? "on" : "off");
}

/* ---- signals ---- */

static gboolean
on_daemon_sigterm (gpointer data)
{
  ImsDaemon *d = data;
  g_message ("signal received: logging out and exiting");
  g_main_loop_quit (d->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_daemon_sighup (gpointer data)
{
  ims_detach_reloading (TRUE);
  ims_daemon_reload (data, NULL);
  ims_detach_reloading (FALSE);
  return G_SOURCE_CONTINUE;
}

/* A startup failure: one clear line where the admin is looking (the
 * terminal that started a background daemon, too), and the system log. */
static int
ims_daemon_fatal (ImsDaemon *d, const char *msg)
{
  if (d->foreground)
    fprintf (stderr, "imstatusd: %s\n", msg);
  else
    {
      syslog (LOG_ERR, "not starting: %s", msg);
      ims_detach_fail (msg);
    }
  return 1;
}

static void
ims_daemon_print_errors (const char *prefix, const char *msg)
{
  g_auto (GStrv) lines = g_strsplit (msg, "\n", -1);
  for (char **l = lines; *l; l++)
    fprintf (stderr, "%s%s\n", prefix, *l);
}

int
main (int argc, char **argv)
{
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
        ims_daemon_print_errors ("", err->message);
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
  ImsDaemon d = { 0 };
  d.config_path = g_steal_pointer (&config_path);
  d.config = g_steal_pointer (&config);
  d.debug = CLAMP (debug, 0, 2);
  d.foreground = foreground;
  d.secrets = ims_config_secrets (d.config);
  ims_daemon_log_target = &d;
  g_log_set_writer_func (ims_daemon_log_writer, NULL, NULL);

  if (!foreground)
    {
      openlog ("imstatusd", LOG_PID, LOG_DAEMON);
      if (!ims_detach_start (&err))
        {
          fprintf (stderr, "imstatusd: %s\n", err->message);
          return 1;
        }
    }
  if (!ims_fs_private_dir (d.config->statedir, &err))
    {
      g_autofree char *msg = g_strdup_printf ("statedir: %s", err->message);
      return ims_daemon_fatal (&d, msg);
    }

  d.state = ims_state_open (d.config->statedir, &err);
  if (d.state == NULL)
    {
      return ims_daemon_fatal (&d, err->message);
    }
  d.loop = g_main_loop_new (NULL, FALSE);
  d.store = ims_presence_store_new ();
  ImsControlHooks hooks = {
    .store = d.store,
    .config = ims_daemon_config,
    .peer_host = ims_daemon_peer_host,
    .peer_port = ims_daemon_peer_port,
    .reload = ims_daemon_reload,
    .send = ims_daemon_send,
    .set_debug = ims_daemon_set_debug,
    .user_data = &d,
  };
  d.control = ims_control_new (d.config->controlsocket, d.config->controltimeout,
                               d.config->controlgroup, &hooks, &err);
  if (d.control == NULL)
    {
      return ims_daemon_fatal (&d, err->message);
    }
  ImsAgiHooks agi_hooks = { .store = d.store, .send = ims_daemon_send, .user_data = &d };
  d.agi = ims_agi_server_new (d.config->agibind, d.config->agiallow, d.config->agitimeout,
                              &agi_hooks, &err);
  if (d.agi == NULL)
    {
      ims_control_free (d.control);
      return ims_daemon_fatal (&d, err->message);
    }
  if (d.config->httpbind)
    {
      ImsHttpHooks http_hooks = {
        .store = d.store,
        .config = ims_daemon_config,
        .peer_host = ims_daemon_peer_host,
        .peer_port = ims_daemon_peer_port,
        .send = ims_daemon_send,
        .dial = ims_daemon_dial,
        .user_data = &d,
      };
      d.http = ims_http_new (d.config->httpbind, d.config->httpcert, d.config->httpkey,
                             &http_hooks, &err);
      if (d.http == NULL)
        {
          ims_agi_server_free (d.agi);
          ims_control_free (d.control);
          return ims_daemon_fatal (&d, err->message);
        }
    }
  ImsCoreHooks core_hooks = {
    .allowed = ims_daemon_allowed,
    .peer_added = ims_daemon_peer_added,
    .message = on_daemon_message,
    .user_data = &d,
  };
  d.core = ims_core_new (d.store, d.config, &core_hooks, &err);
  if (d.core == NULL)
    {
      ims_http_free (d.http);
      ims_agi_server_free (d.agi);
      ims_control_free (d.control);
      return ims_daemon_fatal (&d, err->message);
    }
  ims_core_set_debug (d.core, d.debug);
  d.persist = ims_persist_new (d.store, d.core, d.state, d.config->outboxmax,
                               d.config->outboxttl);
  ImsTelephonyHooks tel_hooks = { .activewhen_changed = on_daemon_activewhen, .user_data = &d };
  d.tel = ims_telephony_new (d.config, d.store, d.core, &tel_hooks);
  ims_core_apply (d.core, d.config, NULL);

  g_unix_signal_add (SIGTERM, on_daemon_sigterm, &d);
  g_unix_signal_add (SIGINT, on_daemon_sigterm, &d);
  g_unix_signal_add (SIGHUP, on_daemon_sighup, &d);
  g_message ("imstatusd %s started: %u peers, control socket %s, FastAGI on %s%s%s", IMS_VERSION,
             d.config->peers->len, d.config->controlsocket, d.config->agibind,
             d.http ? ", HTTP on " : "", d.http ? d.config->httpbind : "");
  ims_detach_ready ();
  g_main_loop_run (d.loop);
  ims_detach_stopping ();

  ims_http_free (d.http);
  ims_agi_server_free (d.agi);
  ims_control_free (d.control);
  ims_core_free (d.core);
  ims_telephony_free (d.tel);
  ims_persist_free (d.persist);
  ims_state_close (d.state);
  ims_presence_store_free (d.store);
  /* The secrets are the config's strings: gone with it. */
  g_clear_pointer (&d.secrets, g_ptr_array_unref);
  ims_config_free (d.config);
  g_main_loop_unref (d.loop);
  g_message ("stopped");
  ims_daemon_log_target = NULL;
  g_free (d.config_path);
  return 0;
}
