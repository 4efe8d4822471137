/* imctl: the control CLI (the seed's `im show peers`).  Finds the daemon's
 * socket, sends one command line, prints the framed reply.
 */
#define G_LOG_DOMAIN "imctl"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ims-config.h"
#include "ims-control.h"

/* Where the daemon listens when imctl cannot read im.conf (it holds
 * passwords; members of controlgroup may not read it): the packaged
 * configuration's socket, then the built-in default. */
static const char *const imctl_default_sockets[] = {
  IMS_VOCAB_RUN_SOCKET,
  IMS_VOCAB_SOCKET,
};
#define IMCTL_TIMEOUT_S 30

static int
imctl_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static int
imctl_fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "imctl: %s\n", msg);
  return 1;
}

static char *
imctl_socket_path (const char *socket_opt, const char *config_opt, GError **error)
{
  if (socket_opt)
    return g_strdup (socket_opt);
  const char *cfg = config_opt ? config_opt : IMS_CONFIG_DEFAULT_PATH;
  if (config_opt == NULL && access (cfg, R_OK) != 0)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (imctl_default_sockets); i++)
        if (g_file_test (imctl_default_sockets[i], G_FILE_TEST_EXISTS))
          return g_strdup (imctl_default_sockets[i]);
      return g_strdup (imctl_default_sockets[G_N_ELEMENTS (imctl_default_sockets) - 1]);
    }
  g_autoptr (ImsConfig) config = ims_config_load (cfg, NULL, error);
  if (config == NULL)
    {
      g_prefix_error (error, "cannot find the control socket from %s: ", cfg);
      return NULL;
    }
  return g_strdup (config->controlsocket);
}

/* The text of `send` travels C-escaped on one line; UTF-8 stays as it is. */
static char *
imctl_escape (const char *text)
{
  char keep[129];
  for (int i = 0; i < 128; i++)
    keep[i] = (char) (0x80 + i);
  keep[128] = '\0';
  return g_strescape (text, keep);
}

/* The index of the first free-text argument of a raw command (send), else
 * 0.  Matches the command table as the daemon does: by word prefixes. */
static int
imctl_raw_from (int argc, char **argv)
{
  gsize n = 0;
  const ImsCommand *cmds = ims_control_commands (&n);
  for (gsize i = 0; i < n; i++)
    {
      if (!cmds[i].raw)
        continue;
      g_auto (GStrv) words = g_strsplit (cmds[i].pattern, " ", -1);
      guint nw = g_strv_length (words);
      gboolean match = (guint) argc > nw;
      for (guint w = 0; match && w < nw; w++)
        match = *argv[1 + w] && g_str_has_prefix (words[w], argv[1 + w]);
      if (match)
        return 1 + nw + 1; /* after the words and the target */
    }
  return 0;
}

/* `imctl watch`: the notification lines, as they come, until the daemon
 * goes away or the user interrupts. */
static int
imctl_watch (GDataInputStream *in, const char *path)
{
  for (;;)
    {
      g_autoptr (GError) err = NULL;
      g_autofree char *l = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &err);
      if (l == NULL)
        return imctl_fail ("imstatusd at %s closed the connection", path);
      if (l[0] != '%' || g_str_has_prefix (l, IMS_VOCAB_CONTROL_BEGIN)
          || g_str_has_prefix (l, IMS_VOCAB_CONTROL_END)
          || g_str_has_prefix (l, IMS_VOCAB_CONTROL_ERROR))
        continue;
      printf ("%s\n", l + 1);
      fflush (stdout);
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *socket_opt = NULL, *config_opt = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_opt, "Control socket of imstatusd", "SOCKET" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_opt,
      "im.conf whose controlsocket to use (default " IMS_CONFIG_DEFAULT_PATH ")", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "JSON output for show and status", NULL },
    { NULL },
  };
  setlocale (LC_ALL, "");
  g_autoptr (GOptionContext) octx = g_option_context_new ("COMMAND");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_autofree char *usage = ims_control_usage ();
  g_autofree char *summary = g_strdup_printf ("Commands (any unique prefix of each word):\n%s",
                                              usage);
  g_option_context_set_summary (octx, summary);
  g_autoptr (GError) err = NULL;
  if (!g_option_context_parse (octx, &argc, &argv, &err))
    return imctl_fail ("%s", err->message);
  if (argc < 2)
    return imctl_fail ("no command given (try: imctl show peers; imctl --help)");

  g_autoptr (GString) line = g_string_new (json ? "--json" : "");
  /* Arguments after a raw command's own words and its first argument are
   * free text, C-escaped onto the one line. */
  int raw_from = imctl_raw_from (argc, argv);
  gboolean watch = g_str_has_prefix ("watch", argv[1]) && argc == 2;
  for (int i = 1; i < argc; i++)
    {
      if (strchr (argv[i], '\n') && !(raw_from && i >= raw_from))
        return imctl_fail ("argument %d contains a newline", i);
      if (line->len)
        g_string_append_c (line, ' ');
      if (raw_from && i >= raw_from)
        {
          g_autofree char *esc = imctl_escape (argv[i]);
          g_string_append (line, esc);
        }
      else
        g_string_append (line, argv[i]);
    }
  if (line->len >= IMS_CONTROL_MAX_LINE)
    return imctl_fail ("command longer than %d bytes", IMS_CONTROL_MAX_LINE);
  g_string_append_c (line, '\n');

  g_autofree char *path = imctl_socket_path (socket_opt, config_opt, &err);
  if (path == NULL)
    return imctl_fail ("%s", err->message);

  g_autoptr (GSocketClient) client = g_socket_client_new ();
  /* A watcher waits for changes as long as it likes. */
  g_socket_client_set_timeout (client, watch ? 0 : IMCTL_TIMEOUT_S);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, &err);
  if (conn == NULL)
    return imctl_fail ("cannot reach imstatusd at %s: %s", path, err->message);

  g_autoptr (GDataInputStream) in =
      g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  g_autofree char *hello = g_data_input_stream_read_line (in, NULL, NULL, &err);
  int version = 0;
  if (hello == NULL || !g_str_has_prefix (hello, IMS_VOCAB_CONTROL_HELLO)
      || sscanf (hello + strlen (IMS_VOCAB_CONTROL_HELLO), "%d", &version) != 1)
    return imctl_fail ("%s does not speak the imstatusd control protocol", path);
  if (version != IMS_CONTROL_VERSION)
    return imctl_fail ("imstatusd speaks control protocol %d, this imctl %d: use matching versions",
                       version, IMS_CONTROL_VERSION);
  if (!g_output_stream_write_all (out, line->str, line->len, NULL, NULL, &err))
    return imctl_fail ("cannot send to imstatusd at %s: %s", path, err->message);

  g_autoptr (GString) body = g_string_new (NULL);
  gboolean begun = FALSE;
  for (;;)
    {
      g_autofree char *l = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &err);
      if (l == NULL)
        return imctl_fail ("imstatusd at %s closed the connection%s%s", path, err ? ": " : "",
                           err ? err->message : "");
      if (!begun)
        {
          begun = g_str_has_prefix (l, IMS_VOCAB_CONTROL_BEGIN);
          continue;
        }
      if (g_str_has_prefix (l, IMS_VOCAB_CONTROL_END))
        {
          fputs (body->str, stdout);
          if (watch)
            return imctl_watch (in, path);
          return 0;
        }
      if (g_str_has_prefix (l, IMS_VOCAB_CONTROL_ERROR))
        {
          g_strchomp (body->str);
          body->len = strlen (body->str);
          return imctl_fail ("%s", body->str);
        }
      g_string_append_printf (body, "%s\n", l[0] == '%' ? l + 1 : l);
    }
}
