/* ims-listener: accept() on the main loop, paused while descriptors run out
 * (see the header). */
#define G_LOG_DOMAIN "ims-net"

#include "ims-listener.h"

#include <errno.h>
#include <glib-unix.h>
#include <unistd.h>

int
ims_listen_fd (GSocketAddress *addr, int backlog, GError **error)
{
  struct sockaddr_storage sa;
  gssize len = g_socket_address_get_native_size (addr);
  if (len < 0 || !g_socket_address_to_native (addr, &sa, sizeof sa, error))
    {
      if (error && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad address");
      return -1;
    }
  int fd = socket (sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s", g_strerror (e));
      return -1;
    }
  if (sa.ss_family != AF_UNIX)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  gboolean bound = bind (fd, (struct sockaddr *) &sa, len) == 0;
  if (!bound || listen (fd, backlog) < 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot %s: %s",
                   bound ? "listen" : "bind", g_strerror (e));
      return -1;
    }
  return fd;
}

int
ims_accept_fd (ImsAcceptGate *gate, int lfd, struct sockaddr_storage *sa, gboolean *pause)
{
  *pause = FALSE;
  for (;;)
    {
      struct sockaddr_storage any;
      socklen_t len = sizeof any;
      int fd = accept4 (lfd, (struct sockaddr *) (sa ? sa : &any), &len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0)
        {
          if (gate->paused)
            {
              gate->paused = FALSE;
              g_message ("%s: accepting connections again", gate->what);
            }
          return fd;
        }
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return -1;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        {
          if (!gate->paused)
            g_warning ("%s: cannot accept a connection: %s; not accepting, and trying again "
                       "every %d s (said once until it works)", gate->what, g_strerror (errno),
                       IMS_LISTENER_RETRY_S);
          gate->paused = TRUE;
          *pause = TRUE;
          return -1;
        }
      /* ECONNABORTED, EINTR and the like: that client is gone, not us. */
      g_debug ("%s: accept: %s", gate->what, g_strerror (errno));
    }
}

struct _ImsListener {
  char *what;
  ImsAcceptGate gate;
  int fd;
  GSource *source;   /* watching for connections; NULL while paused */
  guint retry_id;    /* while paused */
  ImsListenerFunc func;
  gpointer user_data;
};

static void ims_listener_arm (ImsListener *self);

static gboolean
on_listener_retry (gpointer data)
{
  ImsListener *self = data;
  self->retry_id = 0;
  ims_listener_arm (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_listener_ready (int lfd, GIOCondition cond, gpointer data)
{
  ImsListener *self = data;
  (void) cond;
  for (int i = 0; i < IMS_LISTENER_BURST; i++)
    {
      gboolean pause;
      int fd = ims_accept_fd (&self->gate, lfd, NULL, &pause);
      if (fd < 0 && pause)
        {
          g_clear_pointer (&self->source, g_source_destroy);
          self->retry_id = g_timeout_add_seconds (IMS_LISTENER_RETRY_S, on_listener_retry, self);
          return G_SOURCE_REMOVE;
        }
      if (fd < 0)
        break;
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) client = g_socket_new_from_fd (fd, &error);
      if (client == NULL)
        {
          g_debug ("%s: %s", self->what, error->message);
          close (fd);
          continue;
        }
      g_autoptr (GSocketConnection) conn = g_socket_connection_factory_create_connection (client);
      self->func (conn, self->user_data);
    }
  return G_SOURCE_CONTINUE;
}

static void
ims_listener_arm (ImsListener *self)
{
  self->source = g_unix_fd_source_new (self->fd, G_IO_IN);
  g_source_set_callback (self->source, (GSourceFunc) (GCallback) on_listener_ready, self, NULL);
  g_source_set_can_recurse (self->source, TRUE); /* see ims_line_conn_source */
  g_source_attach (self->source, NULL);
  g_source_unref (self->source); /* the context holds it until we destroy it */
  if (self->gate.paused) /* the backlog may be waiting: try now */
    on_listener_ready (self->fd, G_IO_IN, self);
}

ImsListener *
ims_listener_new (GSocketAddress *addr, int backlog, const char *what, ImsListenerFunc func,
                  gpointer user_data, GError **error)
{
  int fd = ims_listen_fd (addr, backlog, error);
  if (fd < 0)
    return NULL;
  ImsListener *self = g_new0 (ImsListener, 1);
  self->what = g_strdup (what);
  self->gate.what = self->what;
  self->fd = fd;
  self->func = func;
  self->user_data = user_data;
  ims_listener_arm (self);
  return self;
}

void
ims_listener_free (ImsListener *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->source, g_source_destroy);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  close (self->fd);
  g_free (self->what);
  g_free (self);
}
