/* ims-agi-server: IMStatus and IMSend over FastAGI (DESIGN.md "The dialplan
 * contract").  The wire (ims-agi-wire.c) reads a session's environment and
 * hands it here as a job; the script asks the store or the service and
 * gives the wire back the commands to send: nine SET VARIABLEs, and on an
 * error the n+101 check.
 */
#define G_LOG_DOMAIN "ims-agi"

#include "ims-agi-server.h"

#include <gio/gio.h>
#include <string.h>

#include "ims-agi-proto.h"
#include "ims-agi-wire.h"

struct _ImsAgiServer {
  ImsService svc;
  ImsAgiWire *wire;
  guint watch_id;
  GList *waiting; /* Wait*: IMStatus with W(x) until its peer is known */
};

/* An IMStatus that waits (W(x)) while its peer logs in. */
typedef struct {
  ImsAgiServer *srv;
  ImsAgiJob *job;
  char *peer;
  char *user;
  gboolean go_on;
  guint timer_id;
} Wait;

/* ---- helpers ---- */

static void
ims_agi_set (ImsAgiJob *job, const char *name, const char *value)
{
  g_autofree char *q = ims_agi_quote (value);
  g_ptr_array_add (job->cmds, g_strconcat ("SET VARIABLE ", name, " ", q, NULL));
}

static gboolean
ims_agi_is_error (ImsResult r)
{
  return r == IMS_RESULT_NOPEER || r == IMS_RESULT_NOTCONNECTED || r == IMS_RESULT_BADARGS
         || r == IMS_RESULT_TIMEOUT;
}

/* Errors continue at n+101 only when that priority exists: ask Asterisk with
 * DIALPLAN_EXISTS (agi-A2) and, if it says 1, SET PRIORITY (agi-A3a). */
static void
ims_agi_queue_jump_check (ImsAgiJob *job)
{
  const char *ctx = ims_agi_env_get (job->env, "agi_context");
  const char *ext = ims_agi_env_get (job->env, "agi_extension");
  const char *prio = ims_agi_env_get (job->env, "agi_priority");
  gint64 n = 0;
  if (!ims_agi_dialplan_name_ok (ctx) || !ims_agi_dialplan_name_ok (ext) || prio == NULL
      || !g_ascii_string_to_signed (prio, 10, 1, 1000000, &n, NULL))
    {
      g_info ("no n+101 check: context, extension or priority not usable");
      return;
    }
  job->jump_priority = (int) n + 101;
  g_ptr_array_add (job->cmds, g_strdup_printf ("GET FULL VARIABLE ${DIALPLAN_EXISTS(%s,%s,%d)}",
                                               ctx, ext, job->jump_priority));
}

/* ---- IMStatus ---- */

/* Is there an answer worth giving now, or is the peer still logging in? */
static gboolean
ims_agi_answer_known (ImsPresenceStore *store, const char *peer)
{
  if (!ims_presence_store_has_peer (store, peer))
    return TRUE;
  ImsPeerState st = ims_presence_store_get_peer_state (store, peer, NULL);
  if (st == IMS_PEER_CONNECTING)
    return FALSE;
  return st != IMS_PEER_REGISTERED || ims_presence_store_roster_ready (store, peer);
}

static void
on_agi_variable (const char *name, const char *value, gpointer data)
{
  ims_agi_set (data, name, value);
}

static void
ims_agi_status_finish (ImsAgiServer *srv, ImsAgiJob *job, const char *peer, const char *user,
                       gboolean go_on, gboolean timed_out)
{
  ImsAnswer a;
  ims_presence_store_lookup (srv->svc.store, peer, user, &a);
  if (timed_out && !ims_agi_answer_known (srv->svc.store, peer))
    a.result = IMS_RESULT_TIMEOUT;
  ims_answer_each_variable (&a, g_get_real_time () / G_USEC_PER_SEC, on_agi_variable, job);
  if (ims_agi_is_error (a.result) && !go_on)
    ims_agi_queue_jump_check (job);
  if (g_log_get_debug_enabled ()) /* the hot path: no line built for nobody */
    {
      g_autofree char *p = ims_text_for_log (peer, 64);
      g_autofree char *u = ims_text_for_log (user, 128);
      g_info ("IMStatus %s/%s -> %s (%s)", p, u, ims_status_to_string (a.status),
              ims_result_to_string (a.result));
    }
  ims_answer_clear (&a);
  ims_agi_wire_answer (srv->wire, job);
}

static void
ims_agi_wait_free (Wait *wt)
{
  g_clear_handle_id (&wt->timer_id, g_source_remove);
  ims_agi_job_free (wt->job);
  g_free (wt->peer);
  g_free (wt->user);
  g_free (wt);
}

/* The wait is over (@timed_out: W(x) ran out): answer as things are. */
static void
ims_agi_wait_end (Wait *wt, gboolean timed_out)
{
  ImsAgiServer *srv = wt->srv;
  srv->waiting = g_list_remove (srv->waiting, wt);
  ims_agi_status_finish (srv, g_steal_pointer (&wt->job), wt->peer, wt->user, wt->go_on,
                         timed_out);
  ims_agi_wait_free (wt);
}

static gboolean
on_agi_wait_expired (gpointer data)
{
  Wait *wt = data;
  wt->timer_id = 0;
  ims_agi_wait_end (wt, TRUE);
  return G_SOURCE_REMOVE;
}

/* A store change may be what a W(x) session waits for. */
static void
on_agi_store_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  ImsAgiServer *srv = data;
  for (GList *l = srv->waiting; l;)
    {
      Wait *wt = l->data;
      l = l->next; /* ending a wait unlinks only its own node */
      if (g_strcmp0 (wt->peer, peer) == 0 && ims_agi_answer_known (srv->svc.store, peer))
        ims_agi_wait_end (wt, FALSE);
    }
}

static void
ims_agi_badargs (ImsAgiJob *job, const char *script, const char *why, gboolean status_vars)
{
  g_autofree char *w = ims_text_for_log (why, 200);
  g_warning ("FastAGI %s: %s: %s", job->from, script, w);
  if (status_vars)
    ims_agi_set (job, "IM-STATUS", "unknown");
  ims_agi_set (job, "IM-RESULT", "BADARGS");
}

/* IMStatus,jane: a person (a name without '/'): her nine variables and
 * IM-PHONE, IM-DND. */
static gboolean
ims_agi_person (ImsAgiServer *srv, ImsAgiJob *job, const char *name)
{
  ImsPersonAnswer pa;
  /* A name with '/' is never a person (section names have none). */
  if (srv->svc.people == NULL || !ims_people_lookup (srv->svc.people, name, &pa))
    return FALSE;
  ims_person_answer_each_variable (&pa, g_get_real_time () / G_USEC_PER_SEC, on_agi_variable,
                                   job);
  if (g_log_get_debug_enabled ())
    {
      g_autofree char *n = ims_text_for_log (name, 64);
      g_info ("IMStatus %s -> %s (phone %s, dnd %d)", n, ims_status_to_string (pa.answer.status),
              ims_phone_to_string (pa.phone), pa.dnd);
    }
  ims_answer_clear (&pa.answer);
  ims_agi_wire_answer (srv->wire, job);
  return TRUE;
}

static void
ims_agi_run_imstatus (ImsAgiServer *srv, ImsAgiJob *job)
{
  GPtrArray *args = job->env->args;
  g_autoptr (GError) err = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *user = NULL;
  gboolean go_on = FALSE;
  int wait_ms = 0;
  if (args->len >= 1 && args->len <= 2 && ims_agi_person (srv, job, args->pdata[0]))
    return;
  if (args->len < 1 || args->len > 2
      || !ims_agi_split_target (args->pdata[0], &peer, &user, NULL, &err)
      || !ims_agi_parse_options (args->len > 1 ? args->pdata[1] : "", &go_on, &wait_ms, &err))
    {
      ims_agi_badargs (job, "IMStatus", err ? err->message : "expected IMStatus,peer/user[,options]",
                       TRUE);
      if (!go_on)
        ims_agi_queue_jump_check (job);
      ims_agi_wire_answer (srv->wire, job);
      return;
    }
  if (wait_ms > 0 && !ims_agi_answer_known (srv->svc.store, peer))
    {
      g_autofree char *p = ims_text_for_log (peer, 64);
      g_info ("IMStatus: waiting up to %d ms for peer %s", wait_ms, p);
      Wait *wt = g_new0 (Wait, 1);
      wt->srv = srv;
      wt->job = job;
      wt->peer = g_steal_pointer (&peer);
      wt->user = g_steal_pointer (&user);
      wt->go_on = go_on;
      wt->timer_id = g_timeout_add (wait_ms, on_agi_wait_expired, wt);
      srv->waiting = g_list_prepend (srv->waiting, wt);
      return;
    }
  ims_agi_status_finish (srv, job, peer, user, go_on, FALSE);
}

/* ---- IMSend ---- */

static void
ims_agi_run_imsend (ImsAgiServer *srv, ImsAgiJob *job)
{
  GPtrArray *args = job->env->args;
  g_autoptr (GError) err = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *user = NULL;
  g_autofree char *text = NULL;
  /* Asterisk split AGI()'s argument at commas (agi-A6b): put them back. */
  g_ptr_array_add (args, NULL);
  g_autofree char *joined = g_strjoinv (",", (char **) args->pdata);
  g_ptr_array_remove_index (args, args->len - 1);
  if (args->len == 0 || !ims_agi_split_target (joined, &peer, &user, &text, &err))
    {
      ims_agi_badargs (job, "IMSend", err ? err->message : "expected IMSend,peer/user/text", FALSE);
      ims_agi_set (job, IMS_VOCAB_SENDSTATUS_VAR, ims_send_status_to_string (IMS_SEND_FAILED));
      ims_agi_wire_answer (srv->wire, job);
      return;
    }
  /* The service checks the text (length, encoding) and the recipient. */
  ImsSendOutcome o = { 0 };
  srv->svc.send (srv->svc.user_data, peer, user, text, &o);
  const char *word = ims_send_status_to_string (o.status);
  g_autofree char *p = ims_text_for_log (peer, 64);
  g_autofree char *u = ims_text_for_log (user, 128);
  g_autofree char *d = ims_text_for_log (o.detail ? o.detail : "", 200);
  g_info ("IMSend %s/%s (%zu bytes) -> %s %s%s", p, u, strlen (text), word, o.detail ? ": " : "",
          d);
  ims_agi_set (job, IMS_VOCAB_SENDSTATUS_VAR, word);
  ims_agi_set (job, ims_vocab_variables[IMS_VAR_RESULT], ims_result_to_string (o.result));
  ims_send_outcome_clear (&o);
  ims_agi_wire_answer (srv->wire, job);
}

/* The scripts agi://host/<script> names: one row each. */
static const struct {
  const char *name;
  void (*run) (ImsAgiServer *srv, ImsAgiJob *job);
} ims_agi_scripts[] = {
  { "IMStatus", ims_agi_run_imstatus },
  { "IMSend", ims_agi_run_imsend },
};

/* A session's environment is in. */
static void
on_agi_job (ImsAgiJob *job, gpointer data)
{
  ImsAgiServer *srv = data;
  g_autofree char *script = ims_agi_env_script (job->env);
  for (gsize i = 0; script && i < G_N_ELEMENTS (ims_agi_scripts); i++)
    if (g_ascii_strcasecmp (script, ims_agi_scripts[i].name) == 0)
      {
        ims_agi_scripts[i].run (srv, job);
        return;
      }
  g_autoptr (GString) names = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_agi_scripts); i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "", ims_agi_scripts[i].name);
  g_autofree char *why = script ? g_strdup_printf ("unknown script '%s' (%s)", script, names->str)
                                : g_strdup_printf ("no script in the AGI URL (agi://host/%s)",
                                                   ims_agi_scripts[0].name);
  ims_agi_badargs (job, "FastAGI", why, FALSE);
  ims_agi_wire_answer (srv->wire, job);
}

/* ---- the server ---- */

/* agiallow as masks (transfer full), or NULL + @error. */
static GPtrArray *
ims_agi_masks (GPtrArray *allow, GError **error)
{
  g_autoptr (GPtrArray) masks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < allow->len; i++)
    {
      g_autoptr (GError) err = NULL;
      GInetAddressMask *m = g_inet_address_mask_new_from_string (allow->pdata[i], &err);
      if (m == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "agiallow: '%s' is not an address or address/prefix",
                       (const char *) allow->pdata[i]);
          return NULL;
        }
      g_ptr_array_add (masks, m);
    }
  return g_steal_pointer (&masks);
}

gboolean
ims_agi_server_set_allow (ImsAgiServer *srv, GPtrArray *allow, GError **error)
{
  g_autoptr (GPtrArray) masks = ims_agi_masks (allow, error);
  if (masks == NULL)
    return FALSE;
  ims_agi_wire_set_allow (srv->wire, masks);
  return TRUE;
}

ImsAgiServer *
ims_agi_server_new (const char *bind, GPtrArray *allow, guint timeout_s, const ImsService *svc,
                    GError **error)
{
  g_autoptr (GPtrArray) masks = ims_agi_masks (allow, error);
  if (masks == NULL)
    return NULL;
  g_autoptr (GSocketConnectable) na = g_network_address_parse (bind, 4573, NULL);
  g_autoptr (GInetAddress) ia =
      na ? g_inet_address_new_from_string (g_network_address_get_hostname (G_NETWORK_ADDRESS (na)))
         : NULL;
  if (ia == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "agibind: '%s' is not an IP address with an optional :port", bind);
      return NULL;
    }
  g_autoptr (GSocketAddress) sa =
      g_inet_socket_address_new (ia, g_network_address_get_port (G_NETWORK_ADDRESS (na)));
  ImsAgiServer *srv = g_new0 (ImsAgiServer, 1);
  srv->svc = *svc;
  srv->watch_id = ims_presence_store_watch (svc->store, NULL, on_agi_store_peer, srv);
  srv->wire = ims_agi_wire_new (sa, masks, timeout_s ? timeout_s : 10, on_agi_job, srv, error);
  if (srv->wire == NULL)
    {
      g_prefix_error (error, "agibind %s: ", bind);
      ims_agi_server_free (srv);
      return NULL;
    }
  return srv;
}

void
ims_agi_server_free (ImsAgiServer *srv)
{
  if (srv == NULL)
    return;
  ims_presence_store_unwatch (srv->svc.store, srv->watch_id);
  g_clear_pointer (&srv->wire, ims_agi_wire_free);
  g_list_free_full (srv->waiting, (GDestroyNotify) ims_agi_wait_free);
  g_free (srv);
}
