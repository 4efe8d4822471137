/* imstatusd: options, signals and wiring.  The work is done in the modules:
 * config (im.conf), store (presence), purple (IM networks), control (imctl).
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
#include "ims-persist.h"
#include "ims-presence-store.h"
#include "ims-state.h"
#include "ims-telephony.h"
#include "ims-purple.h"


typedef struct {
  char *config_path;
  ImsConfig *config;
  ImsPresenceStore *store;
  ImsAdapter *adapter;
  ImsControl *control;
  ImsAgiServer *agi;
  ImsState *state;
  ImsPersist *persist;
  ImsTelephony *tel;
  GMainLoop *loop;
  int debug;
  gboolean foreground;
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

/* ---- peers ---- */

/* A peer the store knows but no driver logs in: its buddies answer unknown. */
static void
ims_daemon_add_offline_peer (ImsDaemon *d, const ImsPeerConfig *p, ImsPeerState state,
                             const char *why)
{
  ims_presence_store_add_peer (d->store, p->name, p->username, NULL);
  ims_presence_store_set_watched (d->store, p->name, p->subscribe);
  ims_presence_store_set_peer_state (d->store, p->name, state, why);
}

static void
ims_daemon_start_peer (ImsDaemon *d, const ImsPeerConfig *p)
{
  g_autofree char *why = NULL;
  if (!ims_telephony_peer_allowed (d->tel, p, &why))
    {
      g_message ("%s: staying logged out: %s", p->name, why);
      ims_daemon_add_offline_peer (d, p, IMS_PEER_UNREGISTERED, why);
    }
  else if (d->adapter->ops->supports (d->adapter, p->type, &why))
    {
      d->adapter->ops->peer_start (d->adapter, p);
      ims_telephony_apply_phone (d->tel, p);
    }
  else
    {
      g_warning ("%s: unsupported: %s", p->name, why);
      ims_daemon_add_offline_peer (d, p, IMS_PEER_UNSUPPORTED, why);
    }
  ims_persist_restore_peer (d->persist, p->name);
}

static void
ims_daemon_stop_peer (ImsDaemon *d, const char *name)
{
  d->adapter->ops->peer_stop (d->adapter, name);
  ims_presence_store_remove_peer (d->store, name);
}

/* activewhen's device came or went: log the peer in or out. */
static void
on_daemon_activewhen (gpointer data, const char *name)
{
  ImsDaemon *d = data;
  const ImsPeerConfig *p = ims_config_find_peer (d->config, name);
  if (p == NULL)
    return;
  g_autofree char *why = NULL;
  gboolean allowed = ims_telephony_peer_allowed (d->tel, p, &why);
  gboolean out = ims_presence_store_get_peer_state (d->store, name, NULL) == IMS_PEER_UNREGISTERED;
  if (allowed == out)
    {
      ims_daemon_stop_peer (d, name);
      ims_daemon_start_peer (d, p);
    }
  else if (!allowed)
    ims_presence_store_set_peer_state (d->store, name, IMS_PEER_UNREGISTERED, why);
}

static gboolean
ims_daemon_reload (gpointer data, GError **error)
{
  ImsDaemon *d = data;
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) fresh = ims_config_load (d->config_path, &err);
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
  if (g_strcmp0 (fresh->controlsocket, d->config->controlsocket) != 0
      || g_strcmp0 (fresh->statedir, d->config->statedir) != 0
      || g_strcmp0 (fresh->agibind, d->config->agibind) != 0
      || fresh->agitimeout != d->config->agitimeout)
    g_warning ("controlsocket, statedir, agibind and agitimeout changes take effect at the "
               "next restart");

  guint kept = 0, changed = 0, added = 0, removed = 0;
  for (guint i = 0; i < d->config->peers->len; i++)
    {
      const ImsPeerConfig *old = d->config->peers->pdata[i];
      if (ims_config_find_peer (fresh, old->name) == NULL)
        {
          ims_daemon_stop_peer (d, old->name);
          removed++;
        }
    }
  for (guint i = 0; i < fresh->peers->len; i++)
    {
      const ImsPeerConfig *p = fresh->peers->pdata[i];
      const ImsPeerConfig *old = ims_config_find_peer (d->config, p->name);
      if (old && ims_peer_config_equal (old, p))
        {
          kept++;
          continue;
        }
      if (old)
        {
          ims_daemon_stop_peer (d, old->name);
          changed++;
        }
      else
        added++;
      ims_daemon_start_peer (d, p);
    }
  ims_config_free (d->config);
  d->config = g_steal_pointer (&fresh);
  ims_telephony_set_config (d->tel, d->config);
  ims_persist_set_limits (d->persist, d->config->outboxmax, d->config->outboxttl);
  g_message ("reloaded %s: %u peers kept, %u changed, %u added, %u removed", d->config_path, kept,
             changed, added, removed);
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
  return ims_persist_send (d->persist, peer, id, text, result, detail);
}

static void
ims_daemon_set_debug (gpointer data, int level)
{
  ImsDaemon *d = data;
  d->debug = level;
  d->adapter->ops->set_debug (d->adapter, level);
  g_message ("debug %s", level == 2 ? "intense" : level ? "on" : "off");
}

static void
on_daemon_message (const char *peer, const char *from, const char *text, gpointer data)
{
  ImsDaemon *d = data;
  if (d->tel)
    ims_telephony_on_message (d->tel, peer, from, text);
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
  ims_daemon_reload (data, NULL);
  return G_SOURCE_CONTINUE;
}

/* A startup failure: one clear line where the admin is looking. */
static int
ims_daemon_fatal (ImsDaemon *d, const char *msg)
{
  if (d->foreground)
    fprintf (stderr, "imstatusd: %s\n", msg);
  else
    g_critical ("%s", msg);
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

  g_autoptr (ImsConfig) config = ims_config_load (config_path, &err);
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
  ims_daemon_log_target = &d;
  g_log_set_writer_func (ims_daemon_log_writer, NULL, NULL);

  if (!foreground)
    {
      openlog ("imstatusd", LOG_PID, LOG_DAEMON);
      if (daemon (0, 0) != 0)
        {
          fprintf (stderr, "imstatusd: cannot go to the background: %s\n", g_strerror (errno));
          return 1;
        }
    }
  if (g_mkdir_with_parents (d.config->statedir, 0700) != 0)
    {
      g_autofree char *msg = g_strdup_printf ("cannot create statedir %s: %s", d.config->statedir,
                                              g_strerror (errno));
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
    .reload = ims_daemon_reload,
    .send = ims_daemon_send,
    .set_debug = ims_daemon_set_debug,
    .user_data = &d,
  };
  d.control = ims_control_new (d.config->controlsocket, d.config->controltimeout, &hooks, &err);
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
  d.adapter = ims_purple_new (d.store, d.config, on_daemon_message, &d, &err);
  if (d.adapter == NULL)
    {
      ims_control_free (d.control);
      return ims_daemon_fatal (&d, err->message);
    }
  d.adapter->ops->set_debug (d.adapter, d.debug);
  d.persist = ims_persist_new (d.store, d.adapter, d.state, d.config->outboxmax,
                               d.config->outboxttl);
  ImsTelephonyHooks tel_hooks = { .activewhen_changed = on_daemon_activewhen, .user_data = &d };
  d.tel = ims_telephony_new (d.config, d.store, d.adapter, &tel_hooks);
  for (guint i = 0; i < d.config->peers->len; i++)
    ims_daemon_start_peer (&d, d.config->peers->pdata[i]);

  g_unix_signal_add (SIGTERM, on_daemon_sigterm, &d);
  g_unix_signal_add (SIGINT, on_daemon_sigterm, &d);
  g_unix_signal_add (SIGHUP, on_daemon_sighup, &d);
  g_message ("imstatusd %s started: %u peers, control socket %s, FastAGI on %s", IMS_VERSION,
             d.config->peers->len, d.config->controlsocket, d.config->agibind);
  g_main_loop_run (d.loop);

  ims_agi_server_free (d.agi);
  ims_control_free (d.control);
  ims_telephony_free (d.tel);
  ims_persist_free (d.persist);
  d.adapter->ops->free (d.adapter);
  ims_state_close (d.state);
  ims_presence_store_free (d.store);
  ims_config_free (d.config);
  g_main_loop_unref (d.loop);
  g_message ("stopped");
  ims_daemon_log_target = NULL;
  g_free (d.config_path);
  return 0;
}
