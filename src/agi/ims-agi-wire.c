/* ims-agi-wire: FastAGI sessions, one main-loop source for all of them
 * (see the header).
 *
 * The source holds the listening socket and every session's socket: the
 * main loop's poll() is the only wait, as in the protocol floor.  A session
 * reads its environment, gives the script a job, gets the commands back,
 * sends them one at a time waiting for each reply (Asterisk stalls on
 * pipelined commands, agi-A4b), then closes: Asterisk sees EOF and goes on
 * with the dialplan.  Asterisk may send "HANGUP" at any time (agi-A5*),
 * answer 511 on a dead channel, or close.
 */
#define G_LOG_DOMAIN "ims-agi"

#include "ims-agi-wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ims-listener.h"
#include "ims-text.h"

#define MAX_IN (IMS_AGI_MAX_LINE + 1) /* Asterisk's 8191 bytes plus the LF */

typedef struct {
  ImsAgiWire *w;
  guint64 id;
  int fd;
  gpointer tag;                /* the fd in the wire's source */
  GList all;                   /* in w->all */
  char from[INET6_ADDRSTRLEN]; /* the address, for the per-address cap */
  char *peer;                  /* "address:port", for logs */
  ImsAgiEnv *env;              /* NULL once it went to the script */
  gboolean at_script;          /* its job is with the script (a W(x) wait) */
  GPtrArray *cmds;             /* the answer */
  guint next;                  /* cmds[next] goes next */
  const char *current;         /* sent, its reply not yet read (in cmds) */
  gboolean check_jump;         /* current asks DIALPLAN_EXISTS(n+101) */
  int jump_priority;
  ImsAgiReply reply;
  gboolean done;               /* every command sent: closing */
  gboolean counted;            /* holds a slot (live and not done) */
  gboolean closed;
  char *in;                    /* a line read in part, waiting for its end */
  gsize in_len;
  GString *out;                /* what the socket did not take yet */
  gint64 deadline;             /* monotonic µs: the reply or environment is due */
  GList link;                  /* in w->deadlines while a deadline runs */
  gboolean timed;
} Session;

struct _ImsAgiWire {
  int lfd;      /* listening */
  GSource *source;
  gpointer ltag;  /* lfd in the source; NULL while accepting is paused */
  ImsAgiRunFunc run;
  gpointer user_data;
  guint timeout_s;
  GPtrArray *allow;
  gboolean dispatching;
  GHashTable *sessions;  /* id -> Session* */
  GQueue all;            /* Session*: every open one, the oldest first */
  GHashTable *per_addr;  /* from -> live sessions from there (GUINT_TO_POINTER) */
  guint live;
  GQueue deadlines;      /* Session*, the earliest deadline first */
  GPtrArray *dead;       /* closed this turn, freed at its end */
  char rbuf[MAX_IN];     /* every read lands here */
  guint64 next_id;
  ImsAcceptGate gate;
  gint64 retry_at;       /* monotonic µs: listen again (0 while listening) */
  gint64 full_logged;
  gint64 now;            /* monotonic µs, as this turn began */
  GInetAddress *last_addr; /* the last address checked against agiallow (none since it changed) */
  gboolean last_ok;
};

typedef struct {
  GSource base;
  ImsAgiWire *w;
} WireSource;

void
ims_agi_job_free (ImsAgiJob *job)
{
  if (job == NULL)
    return;
  ims_agi_env_free (job->env);
  g_free (job->from);
  if (job->cmds)
    g_ptr_array_unref (job->cmds);
  g_free (job);
}

/* ---- the session's end ---- */

static void
ims_agi_uncount (Session *s)
{
  if (!s->counted)
    return;
  s->counted = FALSE;
  ImsAgiWire *w = s->w;
  w->live--;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (w->per_addr, s->from));
  if (n <= 1)
    g_hash_table_remove (w->per_addr, s->from);
  else
    g_hash_table_insert (w->per_addr, g_strdup (s->from), GUINT_TO_POINTER (n - 1));
}

static void
ims_agi_untime (Session *s)
{
  if (s->timed)
    g_queue_unlink (&s->w->deadlines, &s->link);
  s->timed = FALSE;
}

/* The reply (or the environment) is due @timeout_s from now. */
static void
ims_agi_retime (Session *s)
{
  ims_agi_untime (s);
  s->deadline = s->w->now + (gint64) s->w->timeout_s * G_USEC_PER_SEC;
  s->link.data = s;
  g_queue_push_tail_link (&s->w->deadlines, &s->link);
  s->timed = TRUE;
}

static void
ims_agi_close (Session *s)
{
  if (s->closed)
    return;
  s->closed = TRUE;
  ims_agi_uncount (s);
  ims_agi_untime (s);
  if (!s->done)
    {
      /* Refused mid-way: what the client sent and we did not read would
       * turn our close into a reset; read it away (a bounded amount). */
      char junk[4096];
      for (int i = 0; i < 16 && recv (s->fd, junk, sizeof junk, MSG_DONTWAIT) > 0; i++)
        ;
    }
  g_source_remove_unix_fd (s->w->source, s->tag);
  close (s->fd);
  g_queue_unlink (&s->w->all, &s->all);
  g_hash_table_remove (s->w->sessions, &s->id);
  g_ptr_array_add (s->w->dead, s);
}

static void
ims_agi_session_free (Session *s)
{
  ims_agi_env_free (s->env);
  if (s->cmds)
    g_ptr_array_unref (s->cmds);
  ims_agi_reply_clear (&s->reply);
  if (s->out)
    g_string_free (s->out, TRUE);
  g_free (s->in);
  g_free (s->peer);
  g_free (s);
}

/* ---- writing ---- */

static void
ims_agi_want_out (Session *s, gboolean on)
{
  g_source_modify_unix_fd (s->w->source, s->tag, G_IO_IN | (on ? G_IO_OUT : 0));
}

/* Writes what is queued; FALSE when the session closed. */
static gboolean
ims_agi_flush (Session *s)
{
  while (s->out && s->out->len)
    {
      ssize_t n = send (s->fd, s->out->str, s->out->len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          ims_agi_want_out (s, TRUE);
          return TRUE;
        }
      if (n <= 0)
        {
          g_debug ("FastAGI %s: write: %s", s->peer, g_strerror (errno));
          ims_agi_close (s);
          return FALSE;
        }
      g_string_erase (s->out, 0, n);
    }
  if (s->done)
    {
      ims_agi_close (s);
      return FALSE;
    }
  return TRUE;
}

static void
ims_agi_write_line (Session *s, const char *cmd)
{
  gsize len = strlen (cmd);
  if (s->out == NULL || s->out->len == 0)
    {
      struct iovec iov[2] = { { (void *) cmd, len }, { "\n", 1 } };
      ssize_t n;
      do
        n = writev (s->fd, iov, 2);
      while (n < 0 && errno == EINTR);
      if (n == (ssize_t) len + 1)
        return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        {
          g_debug ("FastAGI %s: write: %s", s->peer, g_strerror (errno));
          ims_agi_close (s);
          return;
        }
      n = MAX (n, 0);
      if (s->out == NULL)
        s->out = g_string_new (NULL);
      if ((gsize) n < len)
        g_string_append_len (s->out, cmd + n, len - n);
      g_string_append_c (s->out, '\n');
      ims_agi_want_out (s, TRUE);
      return;
    }
  g_string_append_len (s->out, cmd, len);
  g_string_append_c (s->out, '\n');
}

/* ---- the session ---- */

static void
ims_agi_send_next (Session *s)
{
  if (s->done || s->closed || s->current || s->cmds == NULL)
    return;
  const char *cmd = NULL;
  while (s->next < s->cmds->len && strlen (cmd = s->cmds->pdata[s->next]) > IMS_AGI_MAX_LINE)
    {
      /* Asterisk would run the first 8191 bytes and the rest as the next
       * command (agi-A4): never send such a line, whatever it holds. */
      g_autofree char *what = ims_text_for_log (cmd, 40);
      g_warning ("FastAGI %s: refused to send a %zu-byte command (more than %d): %s", s->peer,
                 strlen (cmd), IMS_AGI_MAX_LINE, what);
      s->next++;
    }
  if (s->next >= s->cmds->len)
    {
      /* A normal end: Asterisk sees EOF and goes on with the dialplan. */
      s->done = TRUE;
      ims_agi_uncount (s);
      ims_agi_untime (s);
      ims_agi_flush (s);
      return;
    }
  s->next++;
  s->current = cmd;
  s->check_jump = g_str_has_prefix (cmd, "GET FULL VARIABLE ${DIALPLAN_EXISTS(");
  ims_agi_retime (s);
  ims_agi_write_line (s, cmd);
}

static void
ims_agi_on_reply (Session *s, const char *line)
{
  g_autoptr (GError) err = NULL;
  if (!ims_agi_reply_parse (&s->reply, line, &err))
    {
      g_autofree char *l = ims_text_for_log (line, 120);
      g_warning ("FastAGI %s: %s: '%s'; closing", s->peer, err->message, l);
      ims_agi_close (s);
      return;
    }
  switch (s->reply.kind)
    {
    case IMS_AGI_REPLY_HANGUP:
      /* The channel hung up; Asterisk still takes SET VARIABLE (dead mode). */
      return;
    case IMS_AGI_REPLY_MORE:
      return;
    case IMS_AGI_REPLY_RESULT:
      break;
    case IMS_AGI_REPLY_DEAD:
      {
        g_autofree char *c = ims_text_for_log (s->current ? s->current : "?", 120);
        g_info ("FastAGI %s: channel is gone; Asterisk refused '%s' (511)", s->peer, c);
        break;
      }
    case IMS_AGI_REPLY_INVALID:
    case IMS_AGI_REPLY_USAGE:
      {
        g_autofree char *c = ims_text_for_log (s->current ? s->current : "?", 120);
        g_warning ("FastAGI %s: Asterisk refused '%s' (%d)", s->peer, c, s->reply.code);
        break;
      }
    }
  if (s->current == NULL)
    {
      g_autofree char *l = ims_text_for_log (line, 120);
      g_warning ("FastAGI %s: reply with no command pending: '%s'", s->peer, l);
      return;
    }
  if (s->check_jump && s->reply.kind == IMS_AGI_REPLY_RESULT && s->reply.result == 1
      && g_strcmp0 (s->reply.value, "1") == 0)
    g_ptr_array_insert (s->cmds, s->next, g_strdup_printf ("SET PRIORITY %d", s->jump_priority));
  s->current = NULL;
  ims_agi_send_next (s);
}

/* The environment is in: the script answers with the commands, at once
 * or (a W(x) wait) later, through ims_agi_wire_answer. */
static void
ims_agi_run_script (Session *s)
{
  ImsAgiJob *job = g_new0 (ImsAgiJob, 1);
  job->id = s->id;
  job->env = g_steal_pointer (&s->env);
  job->from = g_strdup (s->peer);
  job->cmds = g_ptr_array_new_with_free_func (g_free);
  s->at_script = TRUE;
  ims_agi_untime (s); /* a script that waits (W(x)) answers in its own time */
  s->w->run (job, s->w->user_data);
}

static void
ims_agi_on_line (Session *s, const char *line, gsize len)
{
  if (s->done || s->at_script)
    return; /* nothing is asked of Asterisk now: what it says is not a reply */
  if (s->env)
    {
      g_autoptr (GError) err = NULL;
      if (!ims_agi_env_feed (s->env, line, len, &err))
        {
          g_warning ("FastAGI %s: %s; closing", s->peer, err->message);
          ims_agi_close (s);
          return;
        }
      if (s->env->complete)
        ims_agi_run_script (s);
      return;
    }
  if (memchr (line, '\0', len) != NULL)
    {
      g_warning ("FastAGI %s: NUL byte in a reply; closing", s->peer);
      ims_agi_close (s);
      return;
    }
  ims_agi_on_reply (s, line);
}

/* Reads into the wire's buffer, after what the session kept of a line
 * not complete yet; delivers the lines; keeps the rest (seldom any). */
static void
ims_agi_readable (Session *s)
{
  char *buf = s->w->rbuf;
  if (s->in_len)
    memcpy (buf, s->in, s->in_len);
  ssize_t n;
  do
    n = read (s->fd, buf + s->in_len, MAX_IN - s->in_len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (n <= 0)
    {
      if (!s->done && s->env == NULL) /* its answer, if still to come, finds no session */
        g_info ("FastAGI %s: Asterisk closed the session before it was complete", s->peer);
      ims_agi_close (s);
      return;
    }
  char *start = buf, *end = buf + s->in_len + n, *nl;
  while (!s->closed && (nl = memchr (start, '\n', end - start)) != NULL)
    {
      *nl = '\0';
      ims_agi_on_line (s, start, nl - start);
      start = nl + 1;
    }
  if (s->closed)
    return;
  s->in_len = end - start;
  if (s->in_len == MAX_IN)
    {
      g_warning ("FastAGI %s: line longer than %d bytes; closing", s->peer, IMS_AGI_MAX_LINE);
      ims_agi_close (s);
      return;
    }
  if (s->in_len)
    {
      s->in = g_realloc (s->in, s->in_len);
      memcpy (s->in, start, s->in_len);
    }
}

/* ---- accepting ---- */

/* Asterisk connects from the same address time after time: the answer
 * for the last one is kept until agiallow changes. */
static gboolean
ims_agi_allowed (ImsAgiWire *w, const guint8 *bytes, GSocketFamily family)
{
  if (w->last_addr == NULL || g_inet_address_get_family (w->last_addr) != family
      || memcmp (g_inet_address_to_bytes (w->last_addr), bytes,
                 g_inet_address_get_native_size (w->last_addr)) != 0)
    {
      g_clear_object (&w->last_addr);
      w->last_addr = g_inet_address_new_from_bytes (bytes, family);
      w->last_ok = FALSE;
      for (guint i = 0; i < w->allow->len && !w->last_ok; i++)
        w->last_ok = g_inet_address_mask_matches (w->allow->pdata[i], w->last_addr);
    }
  return w->last_ok;
}

/* Room for one more from @from?  When every slot is taken, the session
 * that has been silent longest (not even its environment sent) makes room,
 * so Asterisk always gets through. */
static gboolean
ims_agi_make_room (ImsAgiWire *w, const char *from)
{
  if (GPOINTER_TO_UINT (g_hash_table_lookup (w->per_addr, from))
      >= IMS_AGI_MAX_SESSIONS_PER_ADDRESS)
    {
      g_warning ("FastAGI: more than %d sessions from %s; refusing one",
                 IMS_AGI_MAX_SESSIONS_PER_ADDRESS, from);
      return FALSE;
    }
  if (w->live < IMS_AGI_MAX_SESSIONS)
    return TRUE;
  Session *oldest = NULL;
  for (GList *l = g_queue_peek_head_link (&w->all); l && oldest == NULL; l = l->next)
    {
      Session *o = l->data;
      if (o->counted && o->env)
        oldest = o;
    }
  if (oldest == NULL)
    {
      g_warning ("FastAGI: %d sessions, all busy; refusing one", IMS_AGI_MAX_SESSIONS);
      return FALSE;
    }
  gint64 now = g_get_monotonic_time ();
  if (now - w->full_logged > 60 * G_USEC_PER_SEC)
    {
      w->full_logged = now;
      g_warning ("FastAGI: %d sessions; dropping the longest silent ones to make room "
                 "(first from %s; said once a minute)", IMS_AGI_MAX_SESSIONS, oldest->from);
    }
  ims_agi_close (oldest);
  return TRUE;
}

static void
ims_agi_accept_one (ImsAgiWire *w, int fd, const struct sockaddr_storage *sa)
{
  const guint8 *bytes = NULL;
  GSocketFamily family = G_SOCKET_FAMILY_IPV4;
  guint port = 0;
  if (sa->ss_family == AF_INET)
    {
      bytes = (const guint8 *) &((struct sockaddr_in *) sa)->sin_addr;
      port = ntohs (((struct sockaddr_in *) sa)->sin_port);
    }
  else if (sa->ss_family == AF_INET6)
    {
      bytes = (const guint8 *) &((struct sockaddr_in6 *) sa)->sin6_addr;
      family = G_SOCKET_FAMILY_IPV6;
      port = ntohs (((struct sockaddr_in6 *) sa)->sin6_port);
    }
  char from[INET6_ADDRSTRLEN] = "?";
  if (bytes)
    inet_ntop (sa->ss_family, bytes, from, sizeof from);
  if (bytes == NULL || !ims_agi_allowed (w, bytes, family))
    {
      g_warning ("FastAGI: refused a connection from %s (not in agiallow)", from);
      close (fd);
      return;
    }
  if (!ims_agi_make_room (w, from))
    {
      close (fd);
      return;
    }
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Session *s = g_new0 (Session, 1);
  s->w = w;
  s->id = ++w->next_id;
  s->fd = fd;
  g_strlcpy (s->from, from, sizeof s->from);
  s->peer = g_strdup_printf ("%s:%u", from, port);
  s->env = ims_agi_env_new ();
  s->counted = TRUE;
  w->live++;
  g_hash_table_insert (w->per_addr, g_strdup (from),
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (w->per_addr, from))
                                         + 1));
  g_hash_table_insert (w->sessions, &s->id, s);
  s->tag = g_source_add_unix_fd (w->source, fd, G_IO_IN);
  s->all.data = s;
  g_queue_push_tail_link (&w->all, &s->all);
  ims_agi_retime (s);
  /* Asterisk writes the environment as soon as it connects: by the time
   * we accept, it is usually there (one wait saved; EAGAIN otherwise). */
  ims_agi_readable (s);
}

static void
ims_agi_accept (ImsAgiWire *w)
{
  for (int i = 0; i < IMS_LISTENER_BURST; i++)
    {
      struct sockaddr_storage sa;
      gboolean pause;
      int fd = ims_accept_fd (&w->gate, w->lfd, &sa, &pause);
      if (fd < 0 && pause)
        {
          w->retry_at = g_get_monotonic_time () + IMS_LISTENER_RETRY_S * G_USEC_PER_SEC;
          g_source_remove_unix_fd (w->source, w->ltag);
          w->ltag = NULL;
          return;
        }
      if (fd < 0)
        return;
      ims_agi_accept_one (w, fd, &sa);
    }
}

static void
ims_agi_resume (ImsAgiWire *w)
{
  w->retry_at = 0;
  w->ltag = g_source_add_unix_fd (w->source, w->lfd, G_IO_IN);
  ims_agi_accept (w);
}

/* ---- the source ---- */

static void
ims_agi_expire (ImsAgiWire *w, gint64 now)
{
  GList *l;
  while ((l = g_queue_peek_head_link (&w->deadlines)) != NULL
         && ((Session *) l->data)->deadline <= now)
    {
      Session *s = l->data;
      g_autofree char *cmd = ims_text_for_log (s->current ? s->current : "(environment)", 120);
      g_warning ("FastAGI %s: no answer from Asterisk within %u s to %s; closing", s->peer,
                 w->timeout_s, cmd);
      ims_agi_close (s);
    }
}

static int
ims_agi_wait_ms (ImsAgiWire *w, gint64 now)
{
  gint64 until = G_MAXINT64;
  GList *l = g_queue_peek_head_link (&w->deadlines);
  if (l)
    until = ((Session *) l->data)->deadline;
  if (w->retry_at)
    until = MIN (until, w->retry_at);
  if (until == G_MAXINT64)
    return -1;
  return (int) CLAMP ((until - now + 999) / 1000, 0, G_MAXINT);
}

/* Every session that is ready, the deadlines, and what closed freed. */
static void
ims_agi_turn (ImsAgiWire *w)
{
  w->dispatching = TRUE;
  if (w->ltag && (g_source_query_unix_fd (w->source, w->ltag) & G_IO_IN))
    ims_agi_accept (w);
  /* Oldest first; one accepted just now is at the tail, and waits for the
   * next poll like the rest (it was read once as it came in). */
  GList *l = g_queue_peek_head_link (&w->all);
  while (l)
    {
      Session *s = l->data;
      l = l->next; /* a session that closes unlinks itself, not the next */
      GIOCondition ev = g_source_query_unix_fd (w->source, s->tag);
      if (ev == 0)
        continue;
      if ((ev & G_IO_OUT) && s->out && s->out->len)
        {
          if (!ims_agi_flush (s))
            continue;
          if (s->out->len == 0)
            ims_agi_want_out (s, FALSE);
        }
      if (ev & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        ims_agi_readable (s);
    }
  ims_agi_expire (w, w->now);
  if (w->retry_at && w->now >= w->retry_at)
    ims_agi_resume (w);
  g_ptr_array_set_size (w->dead, 0);
  w->dispatching = FALSE;
}

static gboolean
ims_agi_source_prepare (GSource *source, gint *timeout)
{
  ImsAgiWire *w = ((WireSource *) source)->w;
  *timeout = ims_agi_wait_ms (w, g_source_get_time (source));
  return *timeout == 0;
}

/* A descriptor that is ready makes GLib dispatch us without asking. */
static gboolean
ims_agi_source_check (GSource *source)
{
  ImsAgiWire *w = ((WireSource *) source)->w;
  return ims_agi_wait_ms (w, g_source_get_time (source)) == 0;
}

static gboolean
ims_agi_source_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  ImsAgiWire *w = ((WireSource *) source)->w;
  if (w->dispatching)
    return G_SOURCE_CONTINUE; /* a nested main loop inside a script: the outer turn goes on */
  w->now = g_source_get_time (source);
  ims_agi_turn (w);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs ims_agi_source_funcs = {
  .prepare = ims_agi_source_prepare,
  .check = ims_agi_source_check,
  .dispatch = ims_agi_source_dispatch,
};

/* ---- the main loop's side ---- */

void
ims_agi_wire_answer (ImsAgiWire *w, ImsAgiJob *job)
{
  Session *s = g_hash_table_lookup (w->sessions, &job->id);
  if (s && s->at_script)
    {
      gboolean outside = !w->dispatching; /* a W(x) wait ended: not inside a turn */
      if (outside)
        w->now = g_get_monotonic_time ();
      s->at_script = FALSE;
      s->cmds = g_steal_pointer (&job->cmds);
      s->jump_priority = job->jump_priority;
      ims_agi_send_next (s);
      if (outside)
        g_ptr_array_set_size (w->dead, 0);
    }
  ims_agi_job_free (job);
}

void
ims_agi_wire_set_allow (ImsAgiWire *w, GPtrArray *masks)
{
  g_ptr_array_ref (masks);
  g_ptr_array_unref (w->allow);
  w->allow = masks;
  g_clear_object (&w->last_addr); /* its answer was the old agiallow's */
}

ImsAgiWire *
ims_agi_wire_new (GSocketAddress *addr, GPtrArray *masks, guint timeout_s, ImsAgiRunFunc run,
                  gpointer user_data, GError **error)
{
  /* Asterisk opens one connection per AGI() call: a deep backlog rides out bursts. */
  int lfd = ims_listen_fd (addr, 512, error);
  if (lfd < 0)
    return NULL;
  ImsAgiWire *w = g_new0 (ImsAgiWire, 1);
  w->lfd = lfd;
  w->gate.what = "FastAGI";
  w->run = run;
  w->user_data = user_data;
  w->timeout_s = timeout_s;
  w->allow = g_ptr_array_ref (masks);
  w->sessions = g_hash_table_new (g_int64_hash, g_int64_equal);
  w->per_addr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->dead = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_agi_session_free);
  w->source = g_source_new (&ims_agi_source_funcs, sizeof (WireSource));
  ((WireSource *) w->source)->w = w;
  w->ltag = g_source_add_unix_fd (w->source, lfd, G_IO_IN);
  g_source_set_can_recurse (w->source, TRUE); /* see ims_line_conn_source */
  g_source_attach (w->source, NULL);
  return w;
}

void
ims_agi_wire_free (ImsAgiWire *w)
{
  if (w == NULL)
    return;
  if (w->source)
    {
      g_source_destroy (w->source);
      g_source_unref (w->source);
    }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, w->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Session *s = v;
      g_hash_table_iter_steal (&it);
      close (s->fd);
      ims_agi_session_free (s);
    }
  g_ptr_array_unref (w->dead);
  g_hash_table_unref (w->sessions);
  g_hash_table_unref (w->per_addr);
  g_ptr_array_unref (w->allow);
  g_clear_object (&w->last_addr);
  close (w->lfd);
  g_free (w);
}
