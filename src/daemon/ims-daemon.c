/* ims-daemon: see the header.  Each part is wired here and nowhere else;
 * teardown is one function that tolerates any part missing, so a start that
 * fails half way frees exactly what it made. */
#define G_LOG_DOMAIN "ims-daemon"

#include "ims-daemon.h"

#include <gio/gio.h>
#include <string.h>

#include "ims-agi-server.h"
#include "ims-control.h"
#include "ims-core.h"
#include "ims-fs.h"
#include "ims-http.h"
#include "ims-persist.h"
#include "ims-presence-store.h"
#include "ims-registry.h"
#include "ims-service.h"
#include "ims-state.h"
#include "ims-telephony.h"
#include "ims-text.h"

struct _ImsDaemon {
  char *config_path;
  ImsConfig *config;
  ImsService service; /* what the front ends are given */
  ImsPresenceStore *store;
  ImsCore *core;
  ImsControl *control;
  ImsAgiServer *agi;
  ImsHttp *http;
  ImsState *state;
  ImsPersist *persist;
  ImsTelephony *tel;
  ImsPeople *people;
  int debug;
  GPtrArray *secrets; /* every secret of the config, redacted from every log line */
};

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

/* lampaway, lampdnd: every answer's lamp follows. */
static void
ims_daemon_lamps (ImsDaemon *d)
{
  ImsLamps lamps = { ims_lamp_state_name (d->config->lampaway),
                     ims_lamp_state_name (d->config->lampdnd) };
  ims_presence_store_set_lamps (d->store, &lamps);
}

/* activewhen's device came or went: log the peer in or out. */
static void
on_daemon_activewhen (gpointer data, const char *name)
{
  ImsDaemon *d = data;
  ims_core_recheck (d->core, name);
}

/* ---- the service facade ---- */

gboolean
ims_daemon_reload (ImsDaemon *d, GError **error)
{
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
  ims_daemon_lamps (d);
  ims_people_set_config (d->people, d->config);
  /* [general] keys without IMS_KEY_RESTART apply here or where they are read. */
  g_autoptr (GError) allow_err = NULL;
  if (!ims_agi_server_set_allow (d->agi, d->config->agiallow, &allow_err))
    g_warning ("%s", allow_err->message);
  ims_control_set_idle_timeout (d->control, d->config->controltimeout);
  ims_http_reloaded (d->http);
  ImsCoreChanges n;
  ims_core_apply (d->core, d->config, &n);
  /* A peer made anew (publish = changed, say) hears the phones it shows. */
  ims_telephony_replay_phones (d->tel);
  ims_persist_set_limits (d->persist, d->config->outboxmax, d->config->outboxttl);
  ims_config_free (old_config);
  g_message ("reloaded %s: %u peers kept, %u updated live, %u changed, %u added, %u removed",
             d->config_path, n.kept, n.live, n.changed, n.added, n.removed);
  return TRUE;
}

static gboolean
ims_service_reload (gpointer data, GError **error)
{
  return ims_daemon_reload (data, error);
}

static const ImsConfig *
ims_service_config (gpointer data)
{
  return ((ImsDaemon *) data)->config;
}

/* IMSend from any front end: every check is here, once; then the outbox
 * (persist) keeps the order and the core hands it to the driver. */
static void
ims_service_send (gpointer data, const char *peer, const char *to, const char *text,
                  ImsSendOutcome *o)
{
  ImsDaemon *d = data;
  o->status = IMS_SEND_FAILED;
  o->detail = NULL;
  if (!ims_presence_store_has_peer (d->store, peer))
    {
      o->result = IMS_RESULT_NOPEER;
      g_autofree char *p = ims_text_for_log (peer, 64);
      o->detail = g_strdup_printf ("no peer named '%s'", p);
      return;
    }
  if (strlen (text) > IMS_VOCAB_MAX_SEND || !g_utf8_validate (text, -1, NULL))
    {
      o->result = IMS_RESULT_BADARGS;
      o->detail = g_strdup_printf ("text is not UTF-8 or longer than %d bytes",
                                   IMS_VOCAB_MAX_SEND);
      return;
    }
  g_autofree char *id = ims_presence_store_normalize (d->store, peer, to);
  if (!ims_core_may_send_to (d->core, peer, id))
    {
      /* FastAGI and imctl are open to local users: the robot writes only to
       * whom the config says (sendallow, by default the subscribe list). */
      g_autofree char *who = ims_text_for_log (id, 256);
      g_warning ("%s: IMSend to %s refused: not in sendallow (default: the subscribe list)",
                 peer, who);
      o->result = IMS_RESULT_NOTSUBSCRIBED;
      o->detail = g_strdup_printf ("%s may not write to %s (sendallow)", peer, who);
      return;
    }
  ims_persist_send (d->persist, peer, id, text, o);
}

static const char *
ims_service_peer_host (gpointer data, const char *peer)
{
  return ims_core_peer_host (((ImsDaemon *) data)->core, peer);
}

static int
ims_service_peer_port (gpointer data, const char *peer)
{
  return ims_core_peer_port (((ImsDaemon *) data)->core, peer);
}

static gboolean
ims_service_dial (gpointer data, const char *peer, const char *device, const char *target,
                  GError **error)
{
  return ims_telephony_dial (((ImsDaemon *) data)->tel, peer, device, target, error);
}

static gboolean
ims_service_call_person (gpointer data, const char *device, const char *name, GError **error)
{
  ImsDaemon *d = data;
  const ImsPerson *p = ims_config_find_person (d->config, name);
  if (p == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no person named %s", name);
      return FALSE;
    }
  return ims_telephony_call_person (d->tel, device, p, error);
}

static void
ims_service_set_debug (gpointer data, int level)
{
  ImsDaemon *d = data;
  d->debug = level;
  g_log_set_debug_enabled (level >= 1);
  ims_core_set_debug (d->core, level);
  g_message ("debug %s", level == 2 ? "intense" : level ? "on" : "off");
}

/* ---- life ---- */

GPtrArray *
ims_daemon_secrets (ImsDaemon *d)
{
  return d->secrets;
}

int
ims_daemon_debug (ImsDaemon *d)
{
  return d->debug;
}

char *
ims_daemon_describe (ImsDaemon *d)
{
  return g_strdup_printf ("%u peers, control socket %s, FastAGI on %s%s%s",
                          d->config->peers->len, d->config->controlsocket, d->config->agibind,
                          d->http ? ", HTTP on " : "", d->http ? d->config->httpbind : "");
}

/* A person's DND changed: Asterisk follows. */
static void
on_daemon_dnd (gpointer data, const ImsPerson *person, gboolean on, ImsDndSource source)
{
  ImsDaemon *d = data;
  if (d->tel)
    ims_telephony_apply_dnd (d->tel, person, on, source);
}

ImsDaemon *
ims_daemon_new (const char *config_path, ImsConfig *config, int debug, GError **error)
{
  g_autoptr (ImsDaemon) d = g_new0 (ImsDaemon, 1);
  d->config_path = g_strdup (config_path);
  d->config = config;
  d->debug = CLAMP (debug, 0, 2);
  /* GLib's flag follows ours: a hot path (FastAGI) asks
   * g_log_get_debug_enabled () before it builds an info line. */
  g_log_set_debug_enabled (d->debug >= 1);
  d->secrets = ims_config_secrets (d->config);
  d->store = ims_presence_store_new ();
  ims_daemon_lamps (d);
  ImsPeopleHooks people_hooks = { .dnd_changed = on_daemon_dnd, .user_data = d };
  d->people = ims_people_new (d->store, d->config->statedir, &people_hooks);
  ims_people_set_config (d->people, d->config);
  d->service = (ImsService){
    .store = d->store,
    .people = d->people,
    .config = ims_service_config,
    .peer_host = ims_service_peer_host,
    .peer_port = ims_service_peer_port,
    .send = ims_service_send,
    .dial = ims_service_dial,
    .call_person = ims_service_call_person,
    .reload = ims_service_reload,
    .set_debug = ims_service_set_debug,
    .user_data = d,
  };
  if (!ims_fs_private_dir (d->config->statedir, error))
    {
      g_prefix_error (error, "statedir: ");
      return NULL;
    }
  if ((d->state = ims_state_open (d->config->statedir, error)) == NULL)
    return NULL;
  d->control = ims_control_new (d->config->controlsocket, d->config->controltimeout,
                                d->config->controlgroup, &d->service, error);
  if (d->control == NULL)
    return NULL;
  d->agi = ims_agi_server_new (d->config->agibind, d->config->agiallow, d->config->agitimeout,
                               &d->service, error);
  if (d->agi == NULL)
    return NULL;
  if (d->config->httpbind
      && (d->http = ims_http_new (d->config->httpbind, d->config->httpcert, d->config->httpkey,
                                  &d->service, error)) == NULL)
    return NULL;
  ImsCoreHooks core_hooks = {
    .allowed = ims_daemon_allowed,
    .peer_added = ims_daemon_peer_added,
    .message = on_daemon_message,
    .user_data = d,
  };
  if ((d->core = ims_core_new (d->store, d->config, &core_hooks, error)) == NULL)
    return NULL;
  ims_core_set_debug (d->core, d->debug);
  d->persist = ims_persist_new (d->store, d->core, d->state, d->config->outboxmax,
                                d->config->outboxttl);
  ImsTelephonyHooks tel_hooks = { .activewhen_changed = on_daemon_activewhen, .user_data = d };
  d->tel = ims_telephony_new (d->config, d->store, d->core, d->people, &tel_hooks);
  ims_core_apply (d->core, d->config, NULL);
  return g_steal_pointer (&d);
}

void
ims_daemon_free (ImsDaemon *d)
{
  if (d == NULL)
    return;
  /* Front ends first (no new requests), then the peers log out, then state. */
  g_clear_pointer (&d->http, ims_http_free);
  g_clear_pointer (&d->agi, ims_agi_server_free);
  g_clear_pointer (&d->control, ims_control_free);
  g_clear_pointer (&d->core, ims_core_free);
  g_clear_pointer (&d->tel, ims_telephony_free);
  g_clear_pointer (&d->people, ims_people_free);
  g_clear_pointer (&d->persist, ims_persist_free);
  g_clear_pointer (&d->state, ims_state_close);
  g_clear_pointer (&d->store, ims_presence_store_free);
  /* The secrets are the config's strings: gone with it. */
  g_clear_pointer (&d->secrets, g_ptr_array_unref);
  g_clear_pointer (&d->config, ims_config_free);
  g_free (d->config_path);
  g_free (d);
}
