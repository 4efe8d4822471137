/* ims-agi-server: IMStatus and IMSend over FastAGI (DESIGN.md "The dialplan
 * contract").  Each session: read the environment, run the script, send its
 * commands one by one waiting for each reply, then close.  Asterisk may send
 * "HANGUP" at any time (agi-A5*), answer 511 on a dead channel, or close.
 */
#define G_LOG_DOMAIN "ims-agi"

#include "ims-agi-server.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "ims-agi-proto.h"
#include "ims-line-conn.h"
#include "ims-listener.h"

struct _ImsAgiServer {
  ImsService svc;
  ImsListener *listener;
  GPtrArray *allow; /* GInetAddressMask* */
  guint timeout_s;
  GList *sessions;
  guint watch_id;
  gint64 full_logged;  /* when "full" was last logged: once a minute at most */
};

typedef struct {
  ImsAgiServer *srv;
  ImsLineConn *lc;
  ImsAgiEnv *env;
  ImsAgiReply reply;
  GQueue cmds;         /* char*, still to send */
  char *current;       /* sent, its reply not yet read */
  gboolean check_jump; /* current asks DIALPLAN_EXISTS(n+101) */
  int jump_priority;
  gboolean hungup;
  gboolean done;
  guint timer_id;      /* the reply deadline, or the W(x) wait */
  gboolean reply_timer; /* timer_id is the reply deadline's */
  gint64 reply_by;     /* the reply deadline (monotonic µs), pushed back per command */
  gboolean waiting;    /* inside W(x) */
  char *peer;
  char *user;
  gboolean go_on;
  char *from;           /* the client's address, for the per-address cap */
  gint64 started;       /* monotonic µs: the oldest silent session goes first when full */
} Session;

static void ims_agi_send_next (Session *s);

/* ---- helpers ---- */

static void
ims_agi_set (Session *s, const char *name, const char *value)
{
  g_autofree char *q = ims_agi_quote (value);
  g_queue_push_tail (&s->cmds, g_strdup_printf ("SET VARIABLE %s %s", name, q));
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
ims_agi_queue_jump_check (Session *s)
{
  const char *ctx = ims_agi_env_get (s->env, "agi_context");
  const char *ext = ims_agi_env_get (s->env, "agi_extension");
  const char *prio = ims_agi_env_get (s->env, "agi_priority");
  gint64 n = 0;
  if (!ims_agi_dialplan_name_ok (ctx) || !ims_agi_dialplan_name_ok (ext) || prio == NULL
      || !g_ascii_string_to_signed (prio, 10, 1, 1000000, &n, NULL))
    {
      g_info ("no n+101 check: context, extension or priority not usable");
      return;
    }
  s->jump_priority = (int) n + 101;
  g_queue_push_tail (&s->cmds, g_strdup_printf ("GET FULL VARIABLE ${DIALPLAN_EXISTS(%s,%s,%d)}",
                                                ctx, ext, s->jump_priority));
}

static void
ims_agi_timer_clear (Session *s)
{
  g_clear_handle_id (&s->timer_id, g_source_remove);
  s->reply_timer = FALSE;
}

/* One timer a session for the reply deadline: each command pushes the
 * deadline back without touching the main loop (a source removed and added
 * per command cost more than the lookup), and the timer, when it fires
 * early, waits again for what is left. */
static gboolean
on_agi_reply_timeout (gpointer data)
{
  Session *s = data;
  gint64 now = g_get_monotonic_time ();
  if (now < s->reply_by)
    {
      s->timer_id = g_timeout_add ((guint) ((s->reply_by - now + 999) / 1000),
                                   on_agi_reply_timeout, s);
      return G_SOURCE_REMOVE;
    }
  s->timer_id = 0;
  s->reply_timer = FALSE;
  g_autofree char *cmd = ims_text_for_log (s->current ? s->current : "(environment)", 120);
  g_warning ("FastAGI %s: no answer from Asterisk within %u s to %s; closing",
             ims_line_conn_peer (s->lc), s->srv->timeout_s, cmd);
  ims_line_conn_close (s->lc);
  return G_SOURCE_REMOVE;
}

static void
ims_agi_timer_arm (Session *s)
{
  s->reply_by = g_get_monotonic_time () + (gint64) s->srv->timeout_s * G_USEC_PER_SEC;
  if (s->timer_id && s->reply_timer)
    return;
  ims_agi_timer_clear (s);
  s->timer_id = g_timeout_add (s->srv->timeout_s * 1000, on_agi_reply_timeout, s);
  s->reply_timer = TRUE;
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
ims_agi_status_finish (Session *s, gboolean timed_out)
{
  ImsAgiServer *srv = s->srv;
  ImsAnswer a;
  ims_presence_store_lookup (srv->svc.store, s->peer, s->user, &a);
  if (timed_out && !ims_agi_answer_known (srv->svc.store, s->peer))
    a.result = IMS_RESULT_TIMEOUT;
  ims_answer_each_variable (&a, g_get_real_time () / G_USEC_PER_SEC, on_agi_variable, s);
  if (ims_agi_is_error (a.result) && !s->go_on)
    ims_agi_queue_jump_check (s);
  g_autofree char *p = ims_text_for_log (s->peer, 64);
  g_autofree char *u = ims_text_for_log (s->user, 128);
  g_info ("IMStatus %s/%s -> %s (%s)", p, u, ims_status_to_string (a.status),
          ims_result_to_string (a.result));
  ims_answer_clear (&a);
  ims_agi_send_next (s);
}

static gboolean
on_agi_wait_expired (gpointer data)
{
  Session *s = data;
  s->timer_id = 0;
  s->waiting = FALSE;
  ims_agi_status_finish (s, TRUE);
  return G_SOURCE_REMOVE;
}

static void
ims_agi_badargs (Session *s, const char *script, const char *why, gboolean status_vars)
{
  g_autofree char *w = ims_text_for_log (why, 200);
  g_warning ("FastAGI %s: %s: %s", ims_line_conn_peer (s->lc), script, w);
  if (status_vars)
    ims_agi_set (s, "IM-STATUS", "unknown");
  ims_agi_set (s, "IM-RESULT", "BADARGS");
}

/* IMStatus,jane: a person (a name without '/'): her nine variables and
 * IM-PHONE, IM-DND. */
static gboolean
ims_agi_person (Session *s, const char *name)
{
  ImsPersonAnswer pa;
  /* A name with '/' is never a person (section names have none). */
  if (s->srv->svc.people == NULL || !ims_people_lookup (s->srv->svc.people, name, &pa))
    return FALSE;
  ims_person_answer_each_variable (&pa, g_get_real_time () / G_USEC_PER_SEC, on_agi_variable, s);
  g_autofree char *n = ims_text_for_log (name, 64);
  g_info ("IMStatus %s -> %s (phone %s, dnd %d)", n, ims_status_to_string (pa.answer.status),
          ims_phone_to_string (pa.phone), pa.dnd);
  ims_answer_clear (&pa.answer);
  ims_agi_send_next (s);
  return TRUE;
}

static void
ims_agi_run_imstatus (Session *s)
{
  GPtrArray *args = s->env->args;
  g_autoptr (GError) err = NULL;
  int wait_ms = 0;
  if (args->len >= 1 && args->len <= 2 && ims_agi_person (s, args->pdata[0]))
    return;
  if (args->len < 1 || args->len > 2
      || !ims_agi_split_target (args->pdata[0], &s->peer, &s->user, NULL, &err)
      || !ims_agi_parse_options (args->len > 1 ? args->pdata[1] : "", &s->go_on, &wait_ms, &err))
    {
      ims_agi_badargs (s, "IMStatus", err ? err->message : "expected IMStatus,peer/user[,options]",
                       TRUE);
      if (!s->go_on)
        ims_agi_queue_jump_check (s);
      ims_agi_send_next (s);
      return;
    }
  if (wait_ms > 0 && !ims_agi_answer_known (s->srv->svc.store, s->peer))
    {
      g_autofree char *p = ims_text_for_log (s->peer, 64);
      g_info ("IMStatus: waiting up to %d ms for peer %s", wait_ms, p);
      s->waiting = TRUE;
      ims_agi_timer_clear (s);
      s->timer_id = g_timeout_add (wait_ms, on_agi_wait_expired, s);
      return;
    }
  ims_agi_status_finish (s, FALSE);
}

/* A store change may be what a W(x) session waits for. */
static void
on_agi_store_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  ImsAgiServer *srv = data;
  for (GList *l = srv->sessions; l;)
    {
      Session *s = l->data;
      l = l->next; /* finishing sends a command but never frees the session here */
      if (s->waiting && g_strcmp0 (s->peer, peer) == 0
          && ims_agi_answer_known (srv->svc.store, peer))
        {
          ims_agi_timer_clear (s);
          s->waiting = FALSE;
          ims_agi_status_finish (s, FALSE);
        }
    }
}

/* ---- IMSend ---- */

static void
ims_agi_run_imsend (Session *s)
{
  GPtrArray *args = s->env->args;
  g_autoptr (GError) err = NULL;
  g_autofree char *text = NULL;
  /* Asterisk split AGI()'s argument at commas (agi-A6b): put them back. */
  g_ptr_array_add (args, NULL);
  g_autofree char *joined = g_strjoinv (",", (char **) args->pdata);
  g_ptr_array_remove_index (args, args->len - 1);
  if (args->len == 0 || !ims_agi_split_target (joined, &s->peer, &s->user, &text, &err))
    {
      ims_agi_badargs (s, "IMSend", err ? err->message : "expected IMSend,peer/user/text", FALSE);
      ims_agi_set (s, IMS_VOCAB_SENDSTATUS_VAR, ims_send_status_to_string (IMS_SEND_FAILED));
      ims_agi_send_next (s);
      return;
    }
  /* The service checks the text (length, encoding) and the recipient. */
  ImsSendOutcome o = { 0 };
  s->srv->svc.send (s->srv->svc.user_data, s->peer, s->user, text, &o);
  const char *word = ims_send_status_to_string (o.status);
  g_autofree char *p = ims_text_for_log (s->peer, 64);
  g_autofree char *u = ims_text_for_log (s->user, 128);
  g_autofree char *d = ims_text_for_log (o.detail ? o.detail : "", 200);
  g_info ("IMSend %s/%s (%zu bytes) -> %s %s%s", p, u, strlen (text), word, o.detail ? ": " : "",
          d);
  ims_agi_set (s, IMS_VOCAB_SENDSTATUS_VAR, word);
  ims_agi_set (s, ims_vocab_variables[IMS_VAR_RESULT], ims_result_to_string (o.result));
  ims_send_outcome_clear (&o);
  ims_agi_send_next (s);
}

/* The scripts agi://host/<script> names: one row each. */
static const struct {
  const char *name;
  void (*run) (Session *s);
} ims_agi_scripts[] = {
  { "IMStatus", ims_agi_run_imstatus },
  { "IMSend", ims_agi_run_imsend },
};

static void
ims_agi_run (Session *s)
{
  g_autofree char *script = ims_agi_env_script (s->env);
  for (gsize i = 0; script && i < G_N_ELEMENTS (ims_agi_scripts); i++)
    if (g_ascii_strcasecmp (script, ims_agi_scripts[i].name) == 0)
      {
        ims_agi_scripts[i].run (s);
        return;
      }
  g_autoptr (GString) names = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_agi_scripts); i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "", ims_agi_scripts[i].name);
  g_autofree char *why = script ? g_strdup_printf ("unknown script '%s' (%s)", script, names->str)
                                : g_strdup_printf ("no script in the AGI URL (agi://host/%s)",
                                                   ims_agi_scripts[0].name);
  ims_agi_badargs (s, "FastAGI", why, FALSE);
  ims_agi_send_next (s);
}

/* ---- the session ---- */

static void
ims_agi_send_next (Session *s)
{
  if (s->done || s->current)
    return;
  char *cmd;
  while ((cmd = g_queue_pop_head (&s->cmds)) != NULL && strlen (cmd) > IMS_AGI_MAX_LINE)
    {
      /* Asterisk would run the first 8191 bytes and the rest as the next
       * command (agi-A4): never send such a line, whatever it holds. */
      g_autofree char *what = ims_text_for_log (cmd, 40);
      g_warning ("FastAGI %s: refused to send a %zu-byte command (more than %d): %s",
                 ims_line_conn_peer (s->lc), strlen (cmd), IMS_AGI_MAX_LINE, what);
      g_free (cmd);
    }
  if (cmd == NULL)
    {
      /* A normal end: Asterisk sees EOF and goes on with the dialplan. */
      s->done = TRUE;
      ims_agi_timer_clear (s);
      ims_line_conn_close_after_write (s->lc);
      return;
    }
  s->check_jump = g_str_has_prefix (cmd, "GET FULL VARIABLE ${DIALPLAN_EXISTS(");
  s->current = cmd;
  g_autofree char *line = g_strconcat (cmd, "\n", NULL);
  ims_line_conn_write (s->lc, line, strlen (line));
  ims_agi_timer_arm (s);
}

static void
ims_agi_on_reply (Session *s, const char *line)
{
  g_autoptr (GError) err = NULL;
  if (!ims_agi_reply_parse (&s->reply, line, &err))
    {
      g_autofree char *l = ims_text_for_log (line, 120);
      g_warning ("FastAGI %s: %s: '%s'; closing", ims_line_conn_peer (s->lc), err->message, l);
      ims_line_conn_close (s->lc);
      return;
    }
  switch (s->reply.kind)
    {
    case IMS_AGI_REPLY_HANGUP:
      /* The channel hung up; Asterisk still takes SET VARIABLE (dead mode). */
      s->hungup = TRUE;
      return;
    case IMS_AGI_REPLY_MORE:
      return;
    case IMS_AGI_REPLY_RESULT:
      break;
    case IMS_AGI_REPLY_DEAD:
      g_info ("FastAGI %s: channel is gone; Asterisk refused '%s' (511)",
              ims_line_conn_peer (s->lc), s->current ? s->current : "?");
      break;
    case IMS_AGI_REPLY_INVALID:
    case IMS_AGI_REPLY_USAGE:
      {
        g_autofree char *c = ims_text_for_log (s->current ? s->current : "?", 120);
        g_warning ("FastAGI %s: Asterisk refused '%s' (%d)", ims_line_conn_peer (s->lc), c,
                   s->reply.code);
        break;
      }
    }
  if (s->current == NULL)
    {
      g_autofree char *l = ims_text_for_log (line, 120);
      g_warning ("FastAGI %s: reply with no command pending: '%s'", ims_line_conn_peer (s->lc), l);
      return;
    }
  if (s->check_jump && s->reply.kind == IMS_AGI_REPLY_RESULT && s->reply.result == 1
      && g_strcmp0 (s->reply.value, "1") == 0)
    g_queue_push_head (&s->cmds, g_strdup_printf ("SET PRIORITY %d", s->jump_priority));
  g_clear_pointer (&s->current, g_free);
  /* The reply timer stays: the next command pushes its deadline back, the
   * end of the session clears it. */
  ims_agi_send_next (s);
}

static void
ims_agi_session_free (Session *s)
{
  ims_agi_timer_clear (s);
  g_queue_clear_full (&s->cmds, g_free);
  g_free (s->current);
  g_free (s->from);
  g_free (s->peer);
  g_free (s->user);
  ims_agi_reply_clear (&s->reply);
  ims_agi_env_free (s->env);
  g_free (s);
}

static void
on_agi_event (ImsLineConn *lc, ImsLineEvent ev, const char *line, gsize len, gpointer data)
{
  Session *s = data;
  switch (ev)
    {
    case IMS_LINE_EVENT_LINE:
      if (s->done)
        return;
      if (!s->env->complete)
        {
          g_autoptr (GError) err = NULL;
          if (!ims_agi_env_feed (s->env, line, len, &err))
            {
              g_warning ("FastAGI %s: %s; closing", ims_line_conn_peer (lc), err->message);
              s->done = TRUE;
              ims_line_conn_close (lc);
              return;
            }
          if (s->env->complete)
            {
              ims_agi_timer_clear (s);
              ims_agi_run (s);
            }
          return;
        }
      if (strlen (line) != len)
        {
          g_warning ("FastAGI %s: NUL byte in a reply; closing", ims_line_conn_peer (lc));
          ims_line_conn_close (lc);
          return;
        }
      ims_agi_on_reply (s, line);
      return;
    case IMS_LINE_EVENT_TOO_LONG:
      g_warning ("FastAGI %s: line longer than %d bytes; closing", ims_line_conn_peer (lc),
                 IMS_AGI_MAX_LINE);
      s->done = TRUE;
      ims_line_conn_close (lc);
      return;
    case IMS_LINE_EVENT_TIMEOUT:
      return;
    case IMS_LINE_EVENT_CLOSED:
      if (!s->done && s->env->complete)
        g_info ("FastAGI %s: Asterisk closed the session before it was complete",
                ims_line_conn_peer (lc));
      if (s->srv)
        s->srv->sessions = g_list_remove (s->srv->sessions, s);
      ims_agi_session_free (s);
      return;
    }
}

static gboolean
ims_agi_allowed (ImsAgiServer *srv, GInetAddress *addr)
{
  if (addr == NULL)
    return FALSE;
  for (guint i = 0; i < srv->allow->len; i++)
    if (g_inet_address_mask_matches (srv->allow->pdata[i], addr))
      return TRUE;
  return FALSE;
}

static void
on_agi_incoming (GSocketConnection *conn, gpointer data)
{
  ImsAgiServer *srv = data;
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  GInetAddress *addr = G_IS_INET_SOCKET_ADDRESS (remote)
                           ? g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))
                           : NULL;
  if (!ims_agi_allowed (srv, addr))
    {
      g_autofree char *a = addr ? g_inet_address_to_string (addr) : g_strdup ("?");
      g_warning ("FastAGI: refused a connection from %s (not in agiallow)", a);
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return;
    }
  g_autofree char *from = addr ? g_inet_address_to_string (addr) : g_strdup ("?");
  guint mine = 0, all = 0;
  Session *oldest_silent = NULL;
  for (GList *l = srv->sessions; l; l = l->next)
    {
      Session *o = l->data;
      if (o->done)
        continue; /* closing: its slot is as good as free */
      all++;
      mine += g_strcmp0 (o->from, from) == 0;
      if (!o->env->complete && (oldest_silent == NULL || o->started < oldest_silent->started))
        oldest_silent = o;
    }
  if (mine >= IMS_AGI_MAX_SESSIONS_PER_ADDRESS)
    {
      g_warning ("FastAGI: more than %d sessions from %s; refusing one",
                 IMS_AGI_MAX_SESSIONS_PER_ADDRESS, from);
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return;
    }
  if (all >= IMS_AGI_MAX_SESSIONS)
    {
      /* Full, every address under its own cap (several loopback addresses
       * can fill it): the longest-silent session that has not even sent
       * its environment makes room, so Asterisk always gets through. */
      if (oldest_silent == NULL)
        {
          g_warning ("FastAGI: %d sessions, all busy; refusing one", IMS_AGI_MAX_SESSIONS);
          g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
          return;
        }
      gint64 now = g_get_monotonic_time ();
      if (now - srv->full_logged > 60 * G_USEC_PER_SEC)
        {
          srv->full_logged = now;
          g_warning ("FastAGI: %d sessions; dropping the longest silent ones to make room "
                     "(first from %s; said once a minute)", IMS_AGI_MAX_SESSIONS,
                     oldest_silent->from);
        }
      oldest_silent->done = TRUE;
      ims_line_conn_close (oldest_silent->lc);
    }
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  Session *s = g_new0 (Session, 1);
  s->srv = srv;
  s->from = g_steal_pointer (&from);
  s->started = g_get_monotonic_time ();
  s->env = ims_agi_env_new ();
  g_queue_init (&s->cmds);
  srv->sessions = g_list_prepend (srv->sessions, s);
  /* +1: Asterisk's limit is 8191 bytes plus the LF. */
  s->lc = ims_line_conn_new (conn, IMS_AGI_MAX_LINE + 1, 0, on_agi_event, s);
  ims_agi_timer_arm (s);
}

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
  GPtrArray *masks = ims_agi_masks (allow, error);
  if (masks == NULL)
    return FALSE;
  g_ptr_array_unref (srv->allow);
  srv->allow = masks;
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
  srv->allow = g_steal_pointer (&masks);
  srv->timeout_s = timeout_s ? timeout_s : 10;
  srv->watch_id = ims_presence_store_watch (svc->store, NULL, on_agi_store_peer, srv);
  /* Asterisk opens one connection per AGI() call: a deep backlog rides out bursts. */
  srv->listener = ims_listener_new (sa, 512, "FastAGI", on_agi_incoming, srv, error);
  if (srv->listener == NULL)
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
  g_clear_pointer (&srv->listener, ims_listener_free);
  for (GList *l = srv->sessions; l; l = l->next)
    {
      Session *s = l->data;
      s->srv = NULL;
      ims_agi_timer_clear (s);
      ims_line_conn_close (s->lc);
    }
  g_list_free (srv->sessions);
  g_ptr_array_unref (srv->allow);
  g_free (srv);
}
