/* ims-listener: accept() on the main loop, paused while descriptors run out
 * (see the header). */
#define G_LOG_DOMAIN "ims-net"

#include "ims-listener.h"

#define RETRY_S 1
#define BURST 64 /* accepts per wake-up, so one busy listener cannot starve the loop */

struct _ImsListener {
  char *what;
  GSocket *socket;
  GSource *source;   /* watching for connections; NULL while paused */
  guint retry_id;    /* while paused */
  gboolean paused;
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

static void
ims_listener_pause (ImsListener *self, const GError *error)
{
  if (!self->paused)
    {
      self->paused = TRUE;
      g_warning ("%s: cannot accept a connection: %s; not accepting, and trying again "
                 "every %d s (said once until it works)", self->what, error->message, RETRY_S);
    }
  g_clear_pointer (&self->source, g_source_destroy);
  self->retry_id = g_timeout_add_seconds (RETRY_S, on_listener_retry, self);
}

static void
ims_listener_working (ImsListener *self)
{
  if (self->paused)
    {
      self->paused = FALSE;
      g_message ("%s: accepting connections again", self->what);
    }
}

static gboolean
on_listener_ready (GSocket *sock, GIOCondition cond, gpointer data)
{
  ImsListener *self = data;
  (void) cond;
  for (int i = 0; i < BURST; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) client = g_socket_accept (sock, NULL, &error);
      if (client == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          /* EMFILE and ENFILE, or no memory for one more socket. */
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES)
              || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
            {
              ims_listener_pause (self, error);
              return G_SOURCE_REMOVE;
            }
          /* ECONNABORTED and the like: that client is gone, not us. */
          g_debug ("%s: accept: %s", self->what, error->message);
          continue;
        }
      ims_listener_working (self);
      g_autoptr (GSocketConnection) conn = g_socket_connection_factory_create_connection (client);
      self->func (conn, self->user_data);
    }
  ims_listener_working (self);
  return G_SOURCE_CONTINUE;
}

static void
ims_listener_arm (ImsListener *self)
{
  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, (GSourceFunc) (GCallback) on_listener_ready, self, NULL);
  g_source_set_can_recurse (self->source, TRUE); /* see ims_line_conn_source */
  g_source_attach (self->source, NULL);
  g_source_unref (self->source); /* the context holds it until we destroy it */
  if (self->paused) /* the backlog may be waiting: try now */
    on_listener_ready (self->socket, G_IO_IN, self);
}

ImsListener *
ims_listener_new (GSocketAddress *addr, int backlog, const char *what, ImsListenerFunc func,
                  gpointer user_data, GError **error)
{
  g_autoptr (GSocket) sock = g_socket_new (g_socket_address_get_family (addr), G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_DEFAULT, error);
  if (sock == NULL)
    return NULL;
  g_socket_set_blocking (sock, FALSE);
  gboolean unix_socket = g_socket_address_get_family (addr) == G_SOCKET_FAMILY_UNIX;
  if (!g_socket_bind (sock, addr, !unix_socket, error))
    return NULL;
  g_socket_set_listen_backlog (sock, backlog);
  if (!g_socket_listen (sock, error))
    return NULL;
  ImsListener *self = g_new0 (ImsListener, 1);
  self->what = g_strdup (what);
  self->socket = g_steal_pointer (&sock);
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
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_free (self->what);
  g_free (self);
}
