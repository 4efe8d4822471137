/* ims-purple-ui: the UI side libpurple expects from its host, in one place:
 * the GLib event loop, debug output (always redacted, always escaped), and
 * requests, which fail closed: a certificate or plaintext prompt is answered
 * with its refusing choice, never left hanging and never accepted.
 */
#define G_LOG_DOMAIN "ims-purple"

#include "ims-purple-ui.h"

#include <string.h>

#include "ims-text.h"

/* libpurple's UI ops carry no user data; there is only one host. */
static ImsPurpleUi *ims_purple_ui;

/* SASL exchanges and legacy passwords, whatever the account; the configured
 * secrets themselves as typed and as XML escapes them. */
char *
ims_purple_redact (const char *text, GPtrArray *secrets)
{
  static GRegex *re;
  if (g_once_init_enter (&re))
    {
      GRegex *r = g_regex_new ("(<(auth|response|challenge|success|password|digest)\\b[^>]*>)"
                               "[^<]*(</\\2>)",
                               G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&re, r);
    }
  g_autofree char *out = g_regex_replace (re, text, -1, 0, "\\1[redacted]\\3", 0, NULL);
  if (out == NULL)
    out = g_strdup (text);
  return ims_text_redact (out, secrets);
}

/* ---- event loop glue (libpurple's nullclient pattern) ---- */

typedef struct {
  PurpleInputFunction function;
  gpointer data;
} IoClosure;

static gboolean
ims_purple_io_invoke (GIOChannel *source, GIOCondition cond, gpointer data)
{
  IoClosure *c = data;
  int pc = 0;
  if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    pc |= PURPLE_INPUT_READ;
  if (cond & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    pc |= PURPLE_INPUT_WRITE;
  c->function (c->data, g_io_channel_unix_get_fd (source), pc);
  return TRUE;
}

static guint
ims_purple_input_add (gint fd, PurpleInputCondition cond, PurpleInputFunction function,
                      gpointer data)
{
  IoClosure *c = g_new0 (IoClosure, 1);
  int gc = 0;
  c->function = function;
  c->data = data;
  if (cond & PURPLE_INPUT_READ)
    gc |= G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (cond & PURPLE_INPUT_WRITE)
    gc |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
  GIOChannel *ch = g_io_channel_unix_new (fd);
  guint id = g_io_add_watch_full (ch, G_PRIORITY_DEFAULT, gc, ims_purple_io_invoke, c, g_free);
  g_io_channel_unref (ch);
  return id;
}

static PurpleEventLoopUiOps ims_purple_eventloop_ops = {
  .timeout_add = g_timeout_add,
  .timeout_remove = g_source_remove,
  .input_add = ims_purple_input_add,
  .input_remove = g_source_remove,
  .timeout_add_seconds = g_timeout_add_seconds,
};

/* ---- debug output, always redacted ---- */

static gboolean
ims_purple_debug_enabled (PurpleDebugLevel level, const char *category)
{
  ImsPurpleUi *ui = ims_purple_ui;
  if (ui == NULL)
    return FALSE;
  return ui->debug > 0 || level >= PURPLE_DEBUG_ERROR;
}

static void
ims_purple_debug_print (PurpleDebugLevel level, const char *category, const char *arg)
{
  ImsPurpleUi *ui = ims_purple_ui;
  if (ui == NULL || arg == NULL)
    return;
  gboolean raw = g_str_has_prefix (arg, "Recv") || g_str_has_prefix (arg, "Sending");
  if (raw && ui->debug < 2)
    return;
  g_autofree char *red = ims_purple_redact (arg, ui->secrets);
  g_autofree char *safe = ims_text_for_log (g_strchomp (red), 16384);
  if (level >= PURPLE_DEBUG_ERROR && ui->debug == 0)
    g_debug ("libpurple %s: %s", category ? category : "-", safe);
  else
    g_message ("libpurple %s: %s", category ? category : "-", safe);
}

static PurpleDebugUiOps ims_purple_debug_ops = {
  .print = ims_purple_debug_print,
  .is_enabled = ims_purple_debug_enabled,
};

/* ---- requests: fail closed ---- */

typedef struct {
  PurpleRequestActionCb cb;
  gpointer user_data;
  int index;
  guint idle_id;
} PendingAction;

static gboolean
ims_purple_action_fire (gpointer data)
{
  PendingAction *pa = data;
  pa->idle_id = 0;
  /* The callback may close the request, which frees @pa: take what we need. */
  PurpleRequestActionCb cb = pa->cb;
  gpointer ud = pa->user_data;
  int index = pa->index;
  purple_request_close (PURPLE_REQUEST_ACTION, pa);
  if (cb)
    cb (ud, index);
  return G_SOURCE_REMOVE;
}

static gboolean
ims_purple_is_refusal (const char *label)
{
  static const char *const no[] = { "reject", "no", "cancel", "deny" };
  g_autoptr (GString) l = g_string_new (NULL);
  for (const char *p = label; p && *p; p++)
    if (*p != '_')
      g_string_append_c (l, g_ascii_tolower (*p));
  for (gsize i = 0; i < G_N_ELEMENTS (no); i++)
    if (g_str_equal (l->str, no[i]))
      return TRUE;
  return FALSE;
}

/* Certificate and plaintext prompts come here: answer the refusing choice, on
 * the next main loop turn (libpurple is still inside its call). */
static void *
ims_purple_request_action (const char *title, const char *primary, const char *secondary,
                           int default_action, PurpleAccount *account, const char *who,
                           PurpleConversation *conv, void *user_data, size_t action_count,
                           va_list actions)
{
  PendingAction *pa = g_new0 (PendingAction, 1);
  pa->user_data = user_data;
  pa->index = -1;
  for (size_t i = 0; i < action_count; i++)
    {
      const char *label = va_arg (actions, const char *);
      GCallback cb = va_arg (actions, GCallback);
      if (pa->index < 0 && ims_purple_is_refusal (label))
        {
          pa->index = (int) i;
          pa->cb = (PurpleRequestActionCb) cb;
        }
    }
  g_autofree char *p = ims_text_for_log (primary, 512);
  g_autofree char *s = ims_text_for_log (secondary, 1024);
  if (pa->index < 0)
    {
      g_warning ("libpurple asked \"%s\" with no refusing answer; leaving it unanswered", p);
      return pa;
    }
  g_message ("libpurple asked \"%s\" (%s): answered no", p, s);
  pa->idle_id = g_idle_add (ims_purple_action_fire, pa);
  return pa;
}

static void
ims_purple_close_request (PurpleRequestType type, void *ui_handle)
{
  if (type == PURPLE_REQUEST_ACTION && ui_handle)
    {
      PendingAction *pa = ui_handle;
      g_clear_handle_id (&pa->idle_id, g_source_remove);
      g_free (pa);
    }
}

static PurpleRequestUiOps ims_purple_request_ops = {
  .request_action = ims_purple_request_action,
  .close_request = ims_purple_close_request,
};


static void
ims_purple_ui_prefs_init (void)
{
  purple_prefs_add_none ("/imstatusd");
}

static PurpleCoreUiOps ims_purple_core_ops = {
  .ui_prefs_init = ims_purple_ui_prefs_init,
};

void
ims_purple_ui_install (ImsPurpleUi *ui)
{
  ims_purple_ui = ui;
  purple_debug_set_enabled (FALSE); /* TRUE would print unredacted to stdout */
  purple_debug_set_ui_ops (&ims_purple_debug_ops);
  purple_core_set_ui_ops (&ims_purple_core_ops);
  purple_eventloop_set_ui_ops (&ims_purple_eventloop_ops);
  purple_request_set_ui_ops (&ims_purple_request_ops);
}

void
ims_purple_ui_uninstall (void)
{
  ims_purple_ui = NULL;
}
