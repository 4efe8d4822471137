/* ims-control: the control socket server and the imctl command table.
 * Commands are a table of patterns (OpenSMTPD's smtpctl): any unique prefix of
 * each word works, an ambiguous one lists the possibilities.
 */
#define G_LOG_DOMAIN "ims-control"

#include "ims-control.h"
#include "ims-line-conn.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK (ims-control-error-quark, ims_control_error)

/* ---- output helpers ---- */

typedef struct {
  const ImsControlHooks *hooks;
  gboolean json;
  char **args;  /* words after the command pattern */
  const char *rest; /* raw text after the pattern (for send) */
  GString *out;
} ImsCmdCtx;

static void
ims_table_print (GString *out, GPtrArray *rows)
{
  if (rows->len == 0)
    return;
  guint ncol = g_strv_length (rows->pdata[0]);
  g_autofree gsize *w = g_new0 (gsize, ncol);
  for (guint r = 0; r < rows->len; r++)
    for (guint c = 0; c < ncol; c++)
      w[c] = MAX (w[c], (gsize) g_utf8_strlen (((char **) rows->pdata[r])[c], -1));
  for (guint r = 0; r < rows->len; r++)
    {
      char **row = rows->pdata[r];
      for (guint c = 0; c < ncol; c++)
        {
          g_string_append (out, row[c]);
          if (c + 1 < ncol)
            for (gsize pad = g_utf8_strlen (row[c], -1); pad < w[c] + 2; pad++)
              g_string_append_c (out, ' ');
        }
      g_string_append_c (out, '\n');
    }
}

static void
ims_json_print (GString *out, JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  g_autofree char *s = json_generator_to_data (gen, NULL);
  g_string_append (out, s);
  g_string_append_c (out, '\n');
}

static char *
ims_peer_status_text (ImsPresenceStore *store, const char *peer)
{
  const char *reason = NULL;
  ImsPeerState st = ims_presence_store_get_peer_state (store, peer, &reason);
  if ((st == IMS_PEER_FAILED || st == IMS_PEER_UNSUPPORTED || st == IMS_PEER_UNREGISTERED)
      && reason)
    return g_strdup_printf ("%s: %s", ims_peer_state_to_string (st), reason);
  return g_strdup (ims_peer_state_to_string (st));
}

/* "buckaroo" for buckaroo@<the peer's own domain>, else the full id. */
static char *
ims_buddy_display (ImsPresenceStore *store, const char *peer, const char *id)
{
  const char *domain = ims_presence_store_peer_domain (store, peer);
  const char *at = strrchr (id, '@');
  if (domain && at && g_str_equal (at + 1, domain))
    return g_strndup (id, at - id);
  return g_strdup (id);
}

static gboolean
ims_split_target (const char *arg, char **peer, char **user)
{
  const char *sep = strpbrk (arg, "/|");
  if (sep == NULL || sep == arg || sep[1] == '\0')
    return FALSE;
  *peer = g_strndup (arg, sep - arg);
  *user = g_strdup (sep + 1);
  return TRUE;
}

/* ---- commands ---- */

static gboolean
ims_cmd_show_peers (ImsCmdCtx *ctx, GError **error)
{
  const ImsConfig *config = ctx->hooks->config (ctx->hooks->user_data);
  ImsPresenceStore *store = ctx->hooks->store;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  json_builder_begin_array (b);
  g_ptr_array_add (rows, g_strsplit ("Name Type Host Port User Status", " ", -1));
  for (guint i = 0; i < config->peers->len; i++)
    {
      const ImsPeerConfig *p = config->peers->pdata[i];
      const char *reason = NULL;
      ImsPeerState st = ims_presence_store_get_peer_state (store, p->name, &reason);
      g_autofree char *status = ims_peer_status_text (store, p->name);
      const char *domain = ims_presence_store_peer_domain (store, p->name);
      const char *host = p->host ? p->host : domain ? domain : "-";
      int port = p->port ? p->port
                 : (g_str_equal (p->type, "jabber") || g_str_equal (p->type, "xmpp")) ? 5222 : 0;
      g_autofree char *ports = port ? g_strdup_printf ("%d", port) : g_strdup ("-");
      char *row[] = { p->name, p->type, (char *) host, ports, p->username, status, NULL };
      g_ptr_array_add (rows, g_strdupv (row));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, p->name);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, p->type);
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, host);
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, port);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, p->username);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, ims_peer_state_to_string (st));
      json_builder_set_member_name (b, "reason");
      if (reason)
        json_builder_add_string_value (b, reason);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (ctx->json)
    ims_json_print (ctx->out, b);
  else
    ims_table_print (ctx->out, rows);
  return TRUE;
}

static void
ims_json_answer (JsonBuilder *b, const ImsAnswer *a)
{
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, ims_status_to_string (a->status));
  json_builder_set_member_name (b, "result");
  json_builder_add_string_value (b, ims_result_to_string (a->result));
  json_builder_set_member_name (b, "idle");
  json_builder_add_int_value (b, a->idle_seconds);
  json_builder_set_member_name (b, "lastseen");
  json_builder_add_int_value (b, ims_answer_lastseen_minutes (a, g_get_real_time () / G_USEC_PER_SEC));
  json_builder_set_member_name (b, "lastseen_at");
  if (a->lastseen_at)
    json_builder_add_int_value (b, a->lastseen_at);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, a->text);
  json_builder_set_member_name (b, "prefix");
  json_builder_add_string_value (b, a->prefix);
  json_builder_set_member_name (b, "uri");
  json_builder_add_string_value (b, a->uri);
  json_builder_set_member_name (b, "resource");
  json_builder_add_string_value (b, a->resource);
  json_builder_set_member_name (b, "subscription");
  json_builder_add_string_value (b, ims_subscription_to_string (a->subscription));
}

static gboolean
ims_cmd_show_subscribed (ImsCmdCtx *ctx, GError **error)
{
  ImsPresenceStore *store = ctx->hooks->store;
  g_autofree char *only_peer = NULL, *only_user = NULL;
  const char *arg = ctx->args[0];
  if (arg && !ims_split_target (arg, &only_peer, &only_user))
    only_peer = g_strdup (arg);
  if (arg && ctx->args[1] && only_user == NULL)
    only_user = g_strdup (ctx->args[1]);
  if (only_peer && !ims_presence_store_has_peer (store, only_peer))
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND, "no peer named '%s'",
                   only_peer);
      return FALSE;
    }

  g_autoptr (GPtrArray) peers = ims_presence_store_list_peers (store);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  json_builder_begin_array (b);
  if (only_peer)
    g_ptr_array_add (rows, g_strsplit ("Name Status Idle Lastseen", " ", -1));
  else
    g_ptr_array_add (rows, g_strsplit ("Peer Name Status Idle Lastseen", " ", -1));
  for (guint i = 0; i < peers->len; i++)
    {
      const char *peer = peers->pdata[i];
      if (only_peer && !g_str_equal (peer, only_peer))
        continue;
      g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (store, peer);
      g_autofree char *want = only_user ? ims_presence_store_normalize (store, peer, only_user) : NULL;
      for (guint j = 0; j < buddies->len; j++)
        {
          const char *id = buddies->pdata[j];
          if (want && !g_str_equal (want, id))
            continue;
          ImsAnswer a;
          ims_presence_store_lookup (store, peer, id, &a);
          g_autofree char *name = ims_buddy_display (store, peer, id);
          g_autofree char *idle = g_strdup_printf ("%" G_GINT64_FORMAT, a.idle_seconds);
          g_autofree char *seen =
              g_strdup_printf ("%" G_GINT64_FORMAT, ims_answer_lastseen_minutes (&a, now));
          const char *status = ims_status_to_string (a.status);
          if (only_peer)
            {
              char *row[] = { name, (char *) status, idle, seen, NULL };
              g_ptr_array_add (rows, g_strdupv (row));
            }
          else
            {
              char *row[] = { (char *) peer, name, (char *) status, idle, seen, NULL };
              g_ptr_array_add (rows, g_strdupv (row));
            }
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "peer");
          json_builder_add_string_value (b, peer);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, name);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, id);
          ims_json_answer (b, &a);
          json_builder_end_object (b);
          ims_answer_clear (&a);
        }
      if (want && rows->len == 1)
        {
          g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                       "%s does not subscribe to '%s'", peer, only_user);
          return FALSE;
        }
    }
  json_builder_end_array (b);
  if (ctx->json)
    ims_json_print (ctx->out, b);
  else
    ims_table_print (ctx->out, rows);
  return TRUE;
}

static gboolean
ims_cmd_status (ImsCmdCtx *ctx, GError **error)
{
  g_autofree char *peer = NULL, *user = NULL;
  if (ctx->args[0] == NULL || !ims_split_target (ctx->args[0], &peer, &user))
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND, "usage: status peer/user");
      return FALSE;
    }
  ImsAnswer a;
  ims_presence_store_lookup (ctx->hooks->store, peer, user, &a);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (ctx->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "peer");
      json_builder_add_string_value (b, peer);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, user);
      ims_json_answer (b, &a);
      json_builder_end_object (b);
      ims_json_print (ctx->out, b);
    }
  else
    g_string_append_printf (ctx->out,
                            "IM-STATUS=%s\nIM-IDLETIME=%" G_GINT64_FORMAT "\nIM-STATUSTEXT=%s\n"
                            "IM-LASTSEEN=%" G_GINT64_FORMAT "\nIM-STATUSPREFIX=%s\n"
                            "IM-STATUSURI=%s\nIM-RESOURCE=%s\nIM-RESULT=%s\n",
                            ims_status_to_string (a.status), a.idle_seconds, a.text,
                            ims_answer_lastseen_minutes (&a, now), a.prefix, a.uri, a.resource,
                            ims_result_to_string (a.result));
  ims_answer_clear (&a);
  return TRUE;
}

static gboolean
ims_cmd_send (ImsCmdCtx *ctx, GError **error)
{
  g_autofree char *peer = NULL, *user = NULL;
  const char *rest = ctx->rest;
  const char *sp = rest ? strchr (rest, ' ') : NULL;
  g_autofree char *target = sp ? g_strndup (rest, sp - rest) : NULL;
  if (target == NULL || !ims_split_target (target, &peer, &user) || sp[1] == '\0')
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                   "usage: send peer/user text");
      return FALSE;
    }
  g_autofree char *text = g_strcompress (sp + 1);
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND, "text is not UTF-8");
      return FALSE;
    }
  g_autofree char *detail = NULL;
  ImsResult result = IMS_RESULT_OK;
  const char *word = ctx->hooks->send (ctx->hooks->user_data, peer, user, text, &result, &detail);
  if (ctx->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "sendstatus");
      json_builder_add_string_value (b, word);
      json_builder_set_member_name (b, "detail");
      json_builder_add_string_value (b, detail ? detail : "");
      json_builder_end_object (b);
      ims_json_print (ctx->out, b);
    }
  else
    g_string_append_printf (ctx->out, "%s%s%s\n", word, detail ? ": " : "", detail ? detail : "");
  return TRUE;
}

static gboolean
ims_cmd_debug (ImsCmdCtx *ctx, GError **error)
{
  const char *arg = ctx->args[0];
  int level;
  if (arg == NULL)
    level = 1;
  else if (g_str_equal (arg, "intense"))
    level = 2;
  else if (g_str_equal (arg, "off"))
    level = 0;
  else
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                   "usage: debug [intense|off]");
      return FALSE;
    }
  ctx->hooks->set_debug (ctx->hooks->user_data, level);
  g_string_append_printf (ctx->out, "debug %s\n", level == 2 ? "intense" : level ? "on" : "off");
  return TRUE;
}

static gboolean
ims_cmd_reload (ImsCmdCtx *ctx, GError **error)
{
  if (!ctx->hooks->reload (ctx->hooks->user_data, error))
    return FALSE;
  g_string_append (ctx->out, "reloaded\n");
  return TRUE;
}

typedef struct {
  const char *pattern;
  gboolean (*run) (ImsCmdCtx *ctx, GError **error);
  guint max_args;
} ImsCommand;

static const ImsCommand ims_commands[] = {
  { "show peers", ims_cmd_show_peers, 0 },
  { "show subscribed", ims_cmd_show_subscribed, 2 },
  { "status", ims_cmd_status, 1 },
  { "send", ims_cmd_send, G_MAXUINT },
  { "debug", ims_cmd_debug, 1 },
  { "reload", ims_cmd_reload, 0 },
};

/* How @words match @pattern: the pattern's word count when every pattern word
 * is prefixed by the typed word, -1 when the typed words run out first but
 * match so far (incomplete), 0 when they do not match. */
static int
ims_command_match (const char *pattern, char **words, gboolean *exact)
{
  g_auto (GStrv) pw = g_strsplit (pattern, " ", -1);
  int n = 0;
  *exact = TRUE;
  for (; pw[n]; n++)
    {
      if (words[n] == NULL)
        return n > 0 ? -1 : 0;
      if (!g_str_has_prefix (pw[n], words[n]))
        return 0;
      *exact = *exact && g_str_equal (pw[n], words[n]);
    }
  return n;
}

gboolean
ims_control_run (const ImsControlHooks *hooks, const char *line, GString *out, GError **error)
{
  g_auto (GStrv) all = g_strsplit_set (line, " \t", -1);
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  gboolean json = FALSE;
  for (char **w = all; *w; w++)
    {
      if (**w == '\0')
        continue;
      if (words->len == 0 && g_str_equal (*w, "--json"))
        json = TRUE;
      else
        g_ptr_array_add (words, *w);
    }
  g_ptr_array_add (words, NULL);
  char **wv = (char **) words->pdata;
  if (wv[0] == NULL)
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND, "empty command");
      return FALSE;
    }

  const ImsCommand *found = NULL;
  guint found_len = 0, ncomplete = 0;
  g_autoptr (GString) possible = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_commands); i++)
    {
      gboolean exact;
      int n = ims_command_match (ims_commands[i].pattern, wv, &exact);
      if (n == 0)
        continue;
      g_string_append_printf (possible, "%s\"%s\"", possible->len ? ", " : "",
                              ims_commands[i].pattern);
      if (n < 0)
        continue;
      if (exact)
        {
          /* An exact spelling wins over other prefix matches. */
          found = &ims_commands[i];
          found_len = n;
          ncomplete = 1;
          break;
        }
      found = &ims_commands[i];
      found_len = n;
      ncomplete++;
    }
  if (ncomplete != 1)
    {
      if (possible->len == 0)
        g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                     "unknown command '%s'; commands are: show peers, show subscribed "
                     "[peer[|user]], status peer/user, send peer/user text, debug [intense|off], "
                     "reload",
                     wv[0]);
      else
        g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                     "ambiguous command; possibilities are: %s", possible->str);
      return FALSE;
    }
  guint nargs = g_strv_length (wv + found_len);
  if (nargs > found->max_args)
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                   "too many arguments for '%s'", found->pattern);
      return FALSE;
    }
  /* The raw text after the command words, for `send`. */
  const char *rest = line;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  if (json)
    for (rest += strlen ("--json"); *rest == ' ' || *rest == '\t'; rest++)
      ;
  for (guint i = 0; i < found_len; i++)
    {
      rest += strcspn (rest, " \t");
      while (*rest == ' ' || *rest == '\t')
        rest++;
    }
  ImsCmdCtx ctx = { hooks, json, wv + found_len, rest, out };
  return found->run (&ctx, error);
}

/* ---- the socket server ---- */

struct _ImsControl {
  char *path;
  ImsControlHooks hooks;
  GSocketService *service;
  GList *clients;
  guint idle_timeout_s;
};

typedef struct {
  ImsControl *owner;
  ImsLineConn *lc;
  guint seq;
} Client;

static void
ims_client_reply (Client *c, gboolean ok, const char *body)
{
  guint n = c->seq++;
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "%%begin %u\n", n);
  /* A body line that starts with '%' would look like framing: prefix it. */
  g_auto (GStrv) lines = g_strsplit (body, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (**l == '\0' && l[1] == NULL)
        break;
      g_string_append_printf (out, "%s%s\n", **l == '%' ? "%" : "", *l);
    }
  g_string_append_printf (out, "%%%s %u\n", ok ? "end" : "error", n);
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
        if (strlen (line) != len)
          ims_client_reply (c, FALSE, "NUL byte in command");
        else if (!g_utf8_validate (cmd, -1, NULL))
          ims_client_reply (c, FALSE, "command is not UTF-8");
        else if (ims_control_run (&c->owner->hooks, cmd, out, &err))
          ims_client_reply (c, TRUE, out->str);
        else
          ims_client_reply (c, FALSE, err->message);
        break;
      }
    case IMS_LINE_EVENT_TOO_LONG:
      ims_client_reply (c, FALSE, "command line too long");
      break;
    case IMS_LINE_EVENT_TIMEOUT:
      g_debug ("control client idle for %u s; closing", c->owner ? c->owner->idle_timeout_s : 0);
      ims_client_reply (c, FALSE, "timeout: no command");
      break;
    case IMS_LINE_EVENT_CLOSED:
      if (c->owner)
        c->owner->clients = g_list_remove (c->owner->clients, c);
      g_free (c);
      break;
    }
}

static gboolean
on_control_incoming (GSocketService *service, GSocketConnection *conn, GObject *src,
                     gpointer data)
{
  ImsControl *self = data;
  if (g_list_length (self->clients) >= IMS_CONTROL_MAX_CLIENTS)
    {
      g_warning ("control socket: more than %d clients; refusing one", IMS_CONTROL_MAX_CLIENTS);
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return TRUE;
    }
  Client *c = g_new0 (Client, 1);
  c->owner = self;
  self->clients = g_list_prepend (self->clients, c);
  c->lc = ims_line_conn_new (conn, IMS_CONTROL_MAX_LINE, self->idle_timeout_s * 1000,
                             on_client_event, c);
  g_autofree char *hello = g_strdup_printf ("%%imstatus %d\n", IMS_CONTROL_VERSION);
  ims_line_conn_write (c->lc, hello, strlen (hello));
  return TRUE;
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

ImsControl *
ims_control_new (const char *path, guint idle_timeout_s, const ImsControlHooks *hooks,
                 GError **error)
{
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
  GSocketService *service = g_socket_service_new ();
  mode_t old = umask (0117);
  gboolean ok = g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr,
                                               G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                               NULL, NULL, error);
  umask (old);
  if (!ok)
    {
      g_prefix_error (error, "control socket %s: ", path);
      g_object_unref (service);
      return NULL;
    }
  g_chmod (path, 0660);
  ImsControl *self = g_new0 (ImsControl, 1);
  self->path = g_strdup (path);
  self->hooks = *hooks;
  self->idle_timeout_s = idle_timeout_s;
  self->service = service;
  g_signal_connect (service, "incoming", G_CALLBACK (on_control_incoming), self);
  g_socket_service_start (service);
  return self;
}

void
ims_control_free (ImsControl *self)
{
  if (self == NULL)
    return;
  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_clear_object (&self->service);
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
