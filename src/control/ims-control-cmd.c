/* ims-control-cmd: the control commands.  One table row per command carries
 * its pattern, usage, help and the rights it needs; imctl's help, the error
 * that lists the commands and the socket's rights check all read it.  Any
 * unique prefix of each word works (OpenSMTPD's smtpctl); an ambiguous one
 * lists the possibilities.
 */
#define G_LOG_DOMAIN "ims-control"

#include "ims-control.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "ims-render.h"

static void ims_cmd_usage_error (GError **error, const char *pattern);

/* ---- output helpers ---- */

struct _ImsCmdCtx {
  const ImsService *svc;
  gboolean json;
  char **args;      /* words after the command pattern */
  const char *rest; /* raw text after the pattern (for raw commands) */
  GString *out;
  gboolean watch;   /* set by watch */
};

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
  g_autofree char *s = ims_render_to_string (b);
  g_string_append (out, s);
  g_string_append_c (out, '\n');
}

/* A listing: JSON with --json, else the table. */
static void
ims_cmd_output (ImsCmdCtx *ctx, JsonBuilder *b, GPtrArray *rows)
{
  if (ctx->json)
    ims_json_print (ctx->out, b);
  else
    ims_table_print (ctx->out, rows);
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

static ImsRenderPeer
ims_control_peer_view (const ImsService *svc, const ImsPeerConfig *p)
{
  return ims_render_peer_view (
      svc->store, p, svc->peer_host ? svc->peer_host (svc->user_data, p->name) : p->host,
      svc->peer_port ? svc->peer_port (svc->user_data, p->name) : p->port);
}

char *
ims_control_peer_json (const ImsService *svc, const char *peer)
{
  const ImsPeerConfig *p = ims_config_find_peer (svc->config (svc->user_data), peer);
  if (p == NULL)
    return NULL;
  ImsRenderPeer v = ims_control_peer_view (svc, p);
  return ims_render_peer_json (&v);
}

static gboolean
ims_cmd_show_peers (ImsCmdCtx *ctx, GError **error)
{
  const ImsConfig *config = ctx->svc->config (ctx->svc->user_data);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  json_builder_begin_array (b);
  g_ptr_array_add (rows, g_strsplit ("Name Type Host Port User Status", " ", -1));
  for (guint i = 0; i < config->peers->len; i++)
    {
      const ImsPeerConfig *p = config->peers->pdata[i];
      ImsRenderPeer v = ims_control_peer_view (ctx->svc, p);
      g_autofree char *status = ims_peer_status_text (ctx->svc->store, p->name);
      g_autofree char *port = v.port ? g_strdup_printf ("%d", v.port) : g_strdup ("-");
      char *row[] = { p->name, p->type, (char *) (v.host ? v.host : "-"), port, p->username,
                      status, NULL };
      g_ptr_array_add (rows, g_strdupv (row));
      ims_render_peer (b, &v);
    }
  json_builder_end_array (b);
  ims_cmd_output (ctx, b, rows);
  return TRUE;
}

static gboolean
ims_cmd_show_subscribed (ImsCmdCtx *ctx, GError **error)
{
  ImsPresenceStore *store = ctx->svc->store;
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
      guint found = 0;
      for (guint j = 0; j < buddies->len; j++)
        {
          const char *id = buddies->pdata[j];
          if (want && !g_str_equal (want, id))
            continue;
          found++;
          ImsAnswer a;
          ims_presence_store_lookup (store, peer, id, &a);
          g_autofree char *name = ims_render_buddy_name (store, peer, id);
          g_autofree char *idle = g_strdup_printf ("%" G_GINT64_FORMAT, a.idle_seconds);
          g_autofree char *seen =
              g_strdup_printf ("%" G_GINT64_FORMAT, ims_answer_lastseen_minutes (&a, now));
          const char *status = ims_status_to_string (a.status);
          /* One of the two, not both: a list of 100,000 buddies is built once. */
          if (ctx->json)
            ims_render_buddy (b, peer, name, id, &a, NULL, now);
          else if (only_peer)
            {
              char *row[] = { name, (char *) status, idle, seen, NULL };
              g_ptr_array_add (rows, g_strdupv (row));
            }
          else
            {
              char *row[] = { (char *) peer, name, (char *) status, idle, seen, NULL };
              g_ptr_array_add (rows, g_strdupv (row));
            }
          ims_answer_clear (&a);
        }
      if (want && found == 0)
        {
          g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                       "%s does not subscribe to '%s'", peer, only_user);
          return FALSE;
        }
    }
  json_builder_end_array (b);
  ims_cmd_output (ctx, b, rows);
  return TRUE;
}

/* NAME=value lines; every value is the store's safe rendering, which has no
 * newline, so no line can be forged. */
static void
on_cmd_variable (const char *name, const char *value, gpointer data)
{
  g_string_append_printf (data, "%s=%s\n", name, value);
}

static gboolean
ims_cmd_person_status (ImsCmdCtx *ctx, const char *name)
{
  ImsPersonAnswer pa;
  /* A name with '/' is never a person (section names have none). */
  if (ctx->svc->people == NULL || !ims_people_lookup (ctx->svc->people, name, &pa))
    return FALSE;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (ctx->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      ims_render_person (b, name, &pa, now);
      ims_json_print (ctx->out, b);
    }
  else
    ims_person_answer_each_variable (&pa, now, on_cmd_variable, ctx->out);
  ims_answer_clear (&pa.answer);
  return TRUE;
}

static gboolean
ims_cmd_show_people (ImsCmdCtx *ctx, GError **error)
{
  const ImsConfig *config = ctx->svc->config (ctx->svc->user_data);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  json_builder_begin_array (b);
  g_ptr_array_add (rows, g_strsplit ("Name Status Phone DND Text", " ", -1));
  for (guint i = 0; ctx->svc->people && i < config->people->len; i++)
    {
      const ImsPerson *p = config->people->pdata[i];
      ImsPersonAnswer pa;
      if (!ims_people_lookup (ctx->svc->people, p->name, &pa))
        continue;
      char *row[] = { p->name, (char *) ims_status_to_string (pa.answer.status),
                      (char *) ims_phone_to_string (pa.phone), pa.dnd ? "on" : "off",
                      pa.answer.text, NULL };
      g_ptr_array_add (rows, g_strdupv (row));
      ims_render_person (b, p->name, &pa, now);
      ims_answer_clear (&pa.answer);
    }
  json_builder_end_array (b);
  ims_cmd_output (ctx, b, rows);
  return TRUE;
}

static gboolean
ims_cmd_dnd (ImsCmdCtx *ctx, GError **error)
{
  const char *name = ctx->args[0], *what = name ? ctx->args[1] : NULL;
  if (what == NULL || (!g_str_equal (what, "on") && !g_str_equal (what, "off")))
    {
      ims_cmd_usage_error (error, "dnd");
      return FALSE;
    }
  if (ctx->svc->people == NULL
      || !ims_people_set_dnd (ctx->svc->people, name, g_str_equal (what, "on"), IMS_DND_FROM_IMCTL))
    {
      g_autofree char *n = ims_text_for_log (name, 64);
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND, "no person named '%s'", n);
      return FALSE;
    }
  g_string_append_printf (ctx->out, "%s: do not disturb %s\n", name, what);
  return TRUE;
}

static gboolean
ims_cmd_status (ImsCmdCtx *ctx, GError **error)
{
  g_autofree char *peer = NULL, *user = NULL;
  if (ctx->args[0] && ims_cmd_person_status (ctx, ctx->args[0]))
    return TRUE;
  if (ctx->args[0] == NULL || !ims_split_target (ctx->args[0], &peer, &user))
    {
      ims_cmd_usage_error (error, "status");
      return FALSE;
    }
  ImsAnswer a;
  ims_presence_store_lookup (ctx->svc->store, peer, user, &a);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (ctx->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "peer");
      json_builder_add_string_value (b, peer);
      json_builder_set_member_name (b, "user");
      json_builder_add_string_value (b, user);
      ims_render_answer_members (b, &a, now);
      json_builder_end_object (b);
      ims_json_print (ctx->out, b);
    }
  else
    ims_answer_each_variable (&a, now, on_cmd_variable, ctx->out);
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
      ims_cmd_usage_error (error, "send");
      return FALSE;
    }
  g_autofree char *text = g_strcompress (sp + 1);
  ImsSendOutcome o = { 0 };
  ctx->svc->send (ctx->svc->user_data, peer, user, text, &o);
  if (ctx->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      ims_render_send (b, &o);
      ims_json_print (ctx->out, b);
    }
  else
    g_string_append_printf (ctx->out, "%s%s%s\n", ims_send_status_to_string (o.status),
                            o.detail ? ": " : "", o.detail ? o.detail : "");
  ims_send_outcome_clear (&o);
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
      ims_cmd_usage_error (error, "debug");
      return FALSE;
    }
  ctx->svc->set_debug (ctx->svc->user_data, level);
  g_string_append_printf (ctx->out, "debug %s\n", level == 2 ? "intense" : level ? "on" : "off");
  return TRUE;
}

static gboolean
ims_cmd_reload (ImsCmdCtx *ctx, GError **error)
{
  if (!ctx->svc->reload (ctx->svc->user_data, error))
    return FALSE;
  g_string_append (ctx->out, "reloaded\n");
  return TRUE;
}

static gboolean
ims_cmd_watch (ImsCmdCtx *ctx, GError **error)
{
  ctx->watch = TRUE;
  return TRUE;
}

static const ImsCommand ims_commands[] = {
  { "show peers", "", "every peer, its server and its login state", IMS_RIGHT_READ, 0, FALSE,
    ims_cmd_show_peers },
  { "show people", "", "every person: her answer, her phone, her DND", IMS_RIGHT_READ, 0, FALSE,
    ims_cmd_show_people },
  { "show subscribed", "[peer[|user]]", "the buddies' answers, of every peer or of one",
    IMS_RIGHT_READ, 2, FALSE, ims_cmd_show_subscribed },
  { "status", "peer/user|person", "what IMStatus would set, one variable per line",
    IMS_RIGHT_READ, 1, FALSE, ims_cmd_status },
  { "dnd", "person on|off", "switch a person's do not disturb (Asterisk follows)", IMS_RIGHT_SEND,
    2, FALSE, ims_cmd_dnd },
  { "watch", "", "every peer and buddy, then every change, as JSON lines", IMS_RIGHT_READ, 0,
    FALSE, ims_cmd_watch },
  { "send", "peer/user text", "send an IM, as IMSend does", IMS_RIGHT_SEND, G_MAXUINT, TRUE,
    ims_cmd_send },
  { "debug", "[intense|off]", "log protocol events, or raw traffic (secrets redacted)",
    IMS_RIGHT_ADMIN, 1, FALSE, ims_cmd_debug },
  { "reload", "", "read im.conf again; peers whose login is unchanged stay connected",
    IMS_RIGHT_ADMIN, 0, FALSE, ims_cmd_reload },
};

const ImsCommand *
ims_control_commands (gsize *n)
{
  *n = G_N_ELEMENTS (ims_commands);
  return ims_commands;
}

static char *
ims_cmd_usage_of (const ImsCommand *c)
{
  return *c->args ? g_strdup_printf ("%s %s", c->pattern, c->args) : g_strdup (c->pattern);
}

static char *
ims_cmd_usage (const char *pattern)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ims_commands); i++)
    if (g_str_equal (ims_commands[i].pattern, pattern))
      return ims_cmd_usage_of (&ims_commands[i]);
  g_return_val_if_reached (g_strdup (pattern));
}

static void
ims_cmd_usage_error (GError **error, const char *pattern)
{
  g_autofree char *u = ims_cmd_usage (pattern);
  g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND, "usage: %s", u);
}

char *
ims_control_usage (void)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_commands); i++)
    {
      g_autofree char *u = ims_cmd_usage_of (&ims_commands[i]);
      g_string_append_printf (s, "%s  %-32s %s", s->len ? "\n" : "", u, ims_commands[i].help);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

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

static const char *
ims_right_to_string (ImsRight r)
{
  return r == IMS_RIGHT_ADMIN ? "admin" : r == IMS_RIGHT_SEND ? "send" : "read";
}

gboolean
ims_control_run (const ImsService *svc, const char *line, ImsRight rights, GString *out,
                 gboolean *watch, GError **error)
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
        {
          g_autoptr (GString) known = g_string_new (NULL);
          for (gsize i = 0; i < G_N_ELEMENTS (ims_commands); i++)
            {
              g_autofree char *u = ims_cmd_usage_of (&ims_commands[i]);
              g_string_append_printf (known, "%s%s", i ? ", " : "", u);
            }
          g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                       "unknown command '%s'; commands are: %s", wv[0], known->str);
        }
      else
        g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_COMMAND,
                     "ambiguous command; possibilities are: %s", possible->str);
      return FALSE;
    }
  if (found->right > rights)
    {
      g_set_error (error, IMS_CONTROL_ERROR, IMS_CONTROL_ERROR_DENIED,
                   "permission denied: '%s' needs the %s right, this connection has %s",
                   found->pattern, ims_right_to_string (found->right),
                   ims_right_to_string (rights));
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
  ImsCmdCtx ctx = { svc, json, wv + found_len, rest, out, FALSE };
  gboolean ok = found->run (&ctx, error);
  if (watch)
    *watch = ok && ctx.watch;
  return ok;
}

