/* ims-control: the control socket server.  Runs commands from
 * ims-control-cmd.c, frames their replies, and streams notifications to the
 * clients that asked to watch.
 */
#define G_LOG_DOMAIN "ims-control"

#include "ims-control.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ims-line-conn.h"
#include "ims-listener.h"
#include "ims-render.h"
#include "ims-store-feed.h"
#include "ims-text.h"

G_DEFINE_QUARK (ims-control-error-quark, ims_control_error)

struct _ImsControl {
  char *path;
  ImsService svc;
  ImsListener *listener;
  GList *clients;
  guint nwatching; /* clients that get notifications: none, nothing is rendered
                    * (the feed does not listen; a person's change is skipped) */
  guint idle_timeout_s;
  ImsStoreFeed *feed; /* listening while anybody watches */
  guint people_watch;
};

typedef struct {
  ImsControl *owner;
  ImsLineConn *lc;
  guint seq;
  gboolean watching;   /* gets notifications */
  gboolean privileged; /* root or the daemon's own user: every command */
  uid_t uid;
  GString *snapshot;   /* while the snapshot is written (borrowed) */
  gsize room;          /* output it may have queued: 1 MiB above the biggest reply */
} Client;

/* An answer as big as the buddy list (10,000 buddies are a few MB) must get
 * out whole: room for it, and the usual slack for what follows. */
static void
ims_client_make_room (Client *c, gsize len)
{
  if (len + IMS_LINE_CONN_MAX_OUTPUT <= c->room)
    return;
  c->room = len + IMS_LINE_CONN_MAX_OUTPUT;
  ims_line_conn_set_max_output (c->lc, c->room);
}

/* Root and the daemon's user may do everything; anyone else reached the
 * socket through its group and gets controlgrouprights. */
static ImsRight
ims_client_rights (Client *c)
{
  if (c->privileged)
    return IMS_RIGHT_ADMIN;
  const ImsConfig *config = c->owner->svc.config (c->owner->svc.user_data);
  switch (config->controlgrouprights)
    {
    case IMS_RIGHTS_SEND: return IMS_RIGHT_SEND;
    case IMS_RIGHTS_ADMIN: return IMS_RIGHT_ADMIN;
    case IMS_RIGHTS_READ: break;
    }
  return IMS_RIGHT_READ;
}

/* ---- notifications ---- */

static void
ims_control_notify (ImsControl *self, const char *kind, const char *json)
{
  g_autofree char *line = g_strdup_printf ("%%%s%s%s\n", kind, json ? " " : "", json ? json : "");
  for (GList *l = self->clients; l; l = l->next)
    {
      Client *c = l->data;
      if (c->watching)
        ims_line_conn_write (c->lc, line, strlen (line));
    }
}

static char *
ims_control_buddy_json (ImsControl *self, const char *peer, const char *id, const ImsAnswer *a,
                        const ImsAnswer *old)
{
  g_autofree char *name = ims_render_buddy_name (self->svc.store, peer, id);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_render_buddy (b, peer, name, id, a, old, g_get_real_time () / G_USEC_PER_SEC);
  return ims_render_to_string (b);
}

static void
on_control_presence (const char *peer, const char *buddy, const ImsAnswer *old,
                     const ImsAnswer *new_, gpointer data)
{
  ImsControl *self = data;
  g_autofree char *json = ims_control_buddy_json (self, peer, buddy, new_, old);
  ims_control_notify (self, IMS_VOCAB_EVENT_BUDDY, json);
}

static void
on_control_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  ImsControl *self = data;
  g_autofree char *json = ims_control_peer_json (&self->svc, peer);
  if (json)
    ims_control_notify (self, IMS_VOCAB_EVENT_PEER, json);
}

static char *
ims_control_person_json (const char *name, const ImsPersonAnswer *a)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_render_person (b, name, a, g_get_real_time () / G_USEC_PER_SEC);
  return ims_render_to_string (b);
}

static void
on_control_person (const char *name, const ImsPersonAnswer *a, gpointer data)
{
  if (((ImsControl *) data)->nwatching == 0)
    return;
  g_autofree char *json = ims_control_person_json (name, a);
  ims_control_notify (data, IMS_VOCAB_EVENT_PERSON, json);
}

static void
on_control_peer_removed (const char *peer, gpointer data)
{
  ImsControl *self = data;
  g_autofree char *json = ims_render_peer_removed_json (peer);
  ims_control_notify (self, IMS_VOCAB_EVENT_PEER_REMOVED, json);
}

/* Every peer and watched buddy as it is now, then "%synced".  Written at
 * once on one main-loop turn, so no change can slip between snapshot and
 * stream. */
static void
on_snapshot_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  Client *c = data;
  g_autofree char *pj = ims_control_peer_json (&c->owner->svc, peer);
  if (pj)
    g_string_append_printf (c->snapshot, "%%%s %s\n", IMS_VOCAB_EVENT_PEER, pj);
}

static void
on_snapshot_buddy (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *a,
                   gpointer data)
{
  Client *c = data;
  g_autofree char *bj = ims_control_buddy_json (c->owner, peer, buddy, a, NULL);
  g_string_append_printf (c->snapshot, "%%%s %s\n", IMS_VOCAB_EVENT_BUDDY, bj);
}

static void
on_snapshot_person (const char *name, const ImsPersonAnswer *a, gpointer data)
{
  Client *c = data;
  g_autofree char *json = ims_control_person_json (name, a);
  g_string_append_printf (c->snapshot, "%%%s %s\n", IMS_VOCAB_EVENT_PERSON, json);
}

static void
ims_client_snapshot (Client *c)
{
  ImsControl *self = c->owner;
  g_autoptr (GString) out = g_string_new (NULL);
  c->snapshot = out;
  ims_presence_store_snapshot (self->svc.store, NULL, on_snapshot_peer, on_snapshot_buddy, c);
  if (self->svc.people)
    ims_people_foreach (self->svc.people, on_snapshot_person, c);
  c->snapshot = NULL;
  g_string_append_printf (out, "%%%s\n", IMS_VOCAB_EVENT_SYNCED);
  ims_client_make_room (c, out->len);
  ims_line_conn_write (c->lc, out->str, out->len);
}

/* ---- the socket server ---- */

static void
ims_client_reply (Client *c, gboolean ok, const char *body)
{
  guint n = c->seq++;
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "%s%u\n", IMS_VOCAB_CONTROL_BEGIN, n);
  /* A body line that starts with '%' would look like framing: prefix it. */
  g_auto (GStrv) lines = g_strsplit (body, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (**l == '\0' && l[1] == NULL)
        break;
      g_string_append_printf (out, "%s%s\n", **l == '%' ? "%" : "", *l);
    }
  g_string_append_printf (out, "%s%u\n", ok ? IMS_VOCAB_CONTROL_END : IMS_VOCAB_CONTROL_ERROR, n);
  ims_client_make_room (c, out->len);
  ims_line_conn_write (c->lc, out->str, out->len);
}

static void
on_client_event (ImsLineConn *lc, ImsLineEvent ev, const char *line, gsize len, gpointer data)
{
  Client *c = data;
  switch (ev)
    {
    case IMS_LINE_EVENT_LINE:
      {
        g_autofree char *cmd = g_strchomp (g_strdup (line));
        g_autoptr (GString) out = g_string_new (NULL);
        g_autoptr (GError) err = NULL;
        gboolean watch = FALSE;
        if (c->owner == NULL)
          break;
        if (strlen (line) != len)
          ims_client_reply (c, FALSE, "NUL byte in command");
        else if (!g_utf8_validate (cmd, -1, NULL))
          ims_client_reply (c, FALSE, "command is not UTF-8");
        else if (ims_control_run (&c->owner->svc, cmd, ims_client_rights (c), out, &watch,
                                  &err))
          ims_client_reply (c, TRUE, out->str);
        else
          {
            if (g_error_matches (err, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_DENIED))
              {
                g_autofree char *what = ims_text_for_log (cmd, 64);
                g_message ("control: uid %u refused: %s", (guint) c->uid, what);
              }
            ims_client_reply (c, FALSE, err->message);
          }
        if (watch && !c->watching)
          {
            /* A watcher waits for notifications: no idle timeout. */
            c->watching = TRUE;
            c->owner->nwatching++;
            ims_store_feed_set_listening (c->owner->feed, TRUE);
            ims_line_conn_set_idle_timeout (c->lc, 0);
            ims_client_snapshot (c);
          }
        break;
      }
    case IMS_LINE_EVENT_TOO_LONG:
      ims_client_reply (c, FALSE, "command line too long");
      break;
    case IMS_LINE_EVENT_TIMEOUT:
      if (c->watching)
        break;
      g_debug ("control client idle for %u s; closing", c->owner ? c->owner->idle_timeout_s : 0);
      ims_client_reply (c, FALSE, "timeout: no command");
      break;
    case IMS_LINE_EVENT_CLOSED:
      if (c->owner)
        {
          c->owner->clients = g_list_remove (c->owner->clients, c);
          c->owner->nwatching -= c->watching;
          if (c->owner->nwatching == 0)
            ims_store_feed_set_listening (c->owner->feed, FALSE);
        }
      g_free (c);
      break;
    }
}

static void
on_control_incoming (GSocketConnection *conn, gpointer data)
{
  ImsControl *self = data;
  /* SO_PEERCRED: who is on the other end, as the kernel says. */
  g_autoptr (GCredentials) cred =
      g_socket_get_credentials (g_socket_connection_get_socket (conn), NULL);
  uid_t uid = cred ? g_credentials_get_unix_user (cred, NULL) : (uid_t) -1;
  if (uid == (uid_t) -1)
    {
      g_warning ("control socket: cannot tell who connected; refusing");
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return;
    }
  gboolean privileged = uid == 0 || uid == getuid ();
  guint all = 0, mine = 0;
  for (GList *l = self->clients; l; l = l->next)
    {
      all++;
      mine += ((Client *) l->data)->uid == uid;
    }
  guint room = privileged ? IMS_CONTROL_MAX_CLIENTS : IMS_CONTROL_MAX_CLIENTS - IMS_CONTROL_RESERVED;
  if (all >= room || (!privileged && mine >= IMS_CONTROL_MAX_PER_UID))
    {
      g_warning ("control socket: uid %u refused: %s", (unsigned) uid,
                 all >= room ? "too many clients" : "too many connections of this uid");
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return;
    }
  Client *c = g_new0 (Client, 1);
  c->uid = uid;
  c->privileged = privileged;
  c->owner = self;
  self->clients = g_list_prepend (self->clients, c);
  c->lc = ims_line_conn_new (conn, IMS_CONTROL_MAX_LINE, self->idle_timeout_s * 1000,
                             on_client_event, c);
  c->room = IMS_LINE_CONN_MAX_OUTPUT;
  g_autofree char *hello = g_strdup_printf ("%s%d\n", IMS_VOCAB_CONTROL_HELLO, IMS_CONTROL_VERSION);
  ims_line_conn_write (c->lc, hello, strlen (hello));
}

/* TRUE when something answers on @path. */
static gboolean
ims_control_live (const char *path)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_socket_client_set_timeout (client, 2);
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, NULL);
  return conn != NULL;
}

void
ims_control_set_idle_timeout (ImsControl *self, guint idle_timeout_s)
{
  self->idle_timeout_s = idle_timeout_s;
}

ImsControl *
ims_control_new (const char *path, guint idle_timeout_s, const char *group,
                 const ImsService *svc, GError **error)
{
  gid_t gid = (gid_t) -1;
  if (group)
    {
      struct group *gr = getgrnam (group);
      if (gr == NULL)
        {
          g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_SOCKET,
                       "controlgroup %s: no such group", group);
          return NULL;
        }
      gid = gr->gr_gid;
    }
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (ims_control_live (path))
        {
          g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_RUNNING,
                       "another imstatusd is already running on %s", path);
          return NULL;
        }
      g_unlink (path); /* stale, from a daemon that died */
    }
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_SOCKET, "cannot create %s: %s", dir,
                   g_strerror (errno));
      return NULL;
    }
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  ImsControl *self = g_new0 (ImsControl, 1);
  mode_t old = umask (0117);
  self->listener = ims_listener_new (addr, 64, "control socket", on_control_incoming, self, error);
  umask (old);
  if (self->listener == NULL)
    {
      g_prefix_error (error, "control socket %s: ", path);
      g_free (self);
      return NULL;
    }
  /* The umask above made it 0660; the group is set on the path we just
   * bound, never through a symlink. */
  if (gid != (gid_t) -1 && lchown (path, (uid_t) -1, gid) != 0)
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_SOCKET,
                   "control socket %s: cannot give it to group %s: %s", path, group,
                   g_strerror (errno));
      ims_listener_free (self->listener);
      g_free (self);
      g_unlink (path);
      return NULL;
    }
  self->path = g_strdup (path);
  self->svc = *svc;
  self->idle_timeout_s = idle_timeout_s;
  self->feed = ims_store_feed_new (svc->store, on_control_presence, on_control_peer,
                                   on_control_peer_removed, self);
  if (svc->people)
    self->people_watch = ims_people_watch (svc->people, on_control_person, self);
  return self;
}

void
ims_control_free (ImsControl *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->feed, ims_store_feed_free);
  if (self->svc.people)
    ims_people_unwatch (self->svc.people, self->people_watch);
  g_clear_pointer (&self->listener, ims_listener_free);
  /* Close every client; their CLOSED events free them from the main loop. */
  for (GList *l = self->clients; l; l = l->next)
    {
      Client *c = l->data;
      c->owner = NULL;
      ims_line_conn_close (c->lc);
    }
  g_unlink (self->path);
  g_free (self->path);
  g_free (self);
}
