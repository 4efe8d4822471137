/* gen-man: fills the man page sources with what only the code knows: the
 * im.conf keys (from the config table) and the imctl commands (from the
 * command table), so the pages cannot drift from the code.
 *   gen-man INPUT.scd OUTPUT.scd
 * Lines @KEYS_GENERAL@, @KEYS_PEER@, @KEYS_WEBUSER@, @KEYS_PERSON@, @COMMANDS@, @NETWORKS@
 * (from the registry of networks) and @SHOW_WORDS@ are replaced. */
#include <stdio.h>
#include <string.h>

#include "ims-config.h"
#include "ims-control.h"
#include "ims-registry.h"

/* scdoc formatting characters, escaped. */
static char *
esc (const char *s)
{
  GString *o = g_string_new (NULL);
  for (; *s; s++)
    {
      if (*s == '\\' || *s == '*' || *s == '_')
        g_string_append_c (o, '\\');
      g_string_append_c (o, *s);
    }
  return g_string_free (o, FALSE);
}

static char *
key_form (const ImsConfigKey *k)
{
  switch (k->type)
    {
    case IMS_KEY_STRING: return g_strdup ("_text_");
    case IMS_KEY_PATH: return g_strdup ("_path_");
    case IMS_KEY_NAME: return g_strdup ("_name_");
    case IMS_KEY_DEVICE: return g_strdup ("_device_");
    case IMS_KEY_INT: return g_strdup_printf ("%d..%d", k->min, k->max);
    case IMS_KEY_ENUM:
      {
        g_auto (GStrv) c = g_strsplit (k->choices, "|", -1);
        g_autofree char *j = g_strjoinv ("* | *", c);
        return g_strdup_printf ("*%s*", j);
      }
    case IMS_KEY_LIST: return g_strdup ("_item_[, _item_...] (repeatable)");
    case IMS_KEY_ADDRESS: return g_strdup ("_ip_[:_port_] or [_ipv6_]:_port_");
    case IMS_KEY_PREFIXES: return g_strdup ("_ip_[/_prefix_][, ...] (repeatable)");
    case IMS_KEY_TOTP: return g_strdup ("_base32 secret_");
    }
  return g_strdup ("?");
}

static void
keys (GString *out, ImsKeyScope scope)
{
  gsize n;
  const ImsConfigKey *table = ims_config_keys (&n);
  for (gsize i = 0; i < n; i++)
    {
      const ImsConfigKey *k = &table[i];
      if (k->scope != scope)
        continue;
      g_autofree char *form = key_form (k);
      g_autoptr (GString) notes = g_string_new (NULL);
      if (k->def)
        {
          g_autofree char *d = esc (k->def);
          g_string_append_printf (notes, "default: %s", d);
        }
      if (k->flags & IMS_KEY_REQUIRED)
        g_string_append_printf (notes, "%srequired", notes->len ? "; " : "");
      if (k->flags & IMS_KEY_RESTART)
        g_string_append_printf (notes, "%srestart", notes->len ? "; " : "");
      if (k->flags & IMS_KEY_SECRET)
        g_string_append_printf (notes, "%ssecret", notes->len ? "; " : "");
      if (k->flags & IMS_KEY_NETWORK)
        {
          g_autofree char *t = ims_network_types_reading (ims_registry_networks (), k->name);
          g_string_append_printf (notes, "%sonly for type %s", notes->len ? "; " : "", t);
        }
      g_autofree char *help = esc (k->help);
      g_string_append_printf (out, "*%s* = %s%s%s%s\n\t%s.\n\n", k->name, form,
                              notes->len ? " (" : "", notes->str, notes->len ? ")" : "", help);
    }
}

/* One entry per network of the registry: its type= words and what it is. */
static void
networks (GString *out)
{
  for (const ImsNetwork *const *n = ims_registry_networks (); *n; n++)
    {
      const ImsNetwork *net = *n;
      g_autofree char *words = NULL;
      if (net->types)
        {
          g_autofree char *j = g_strjoinv ("*, *", (char **) net->types);
          words = g_strdup_printf ("*%s*", j);
        }
      else
        words = g_strdup ("_any other_");
      g_autofree char *summary = esc (net->summary);
      g_autoptr (GString) notes = g_string_new (NULL);
      if (net->default_host)
        g_string_append_printf (notes, " Default server: %s", net->default_host);
      if (net->default_port)
        g_string_append_printf (notes, "%s port %d", net->default_host ? "," : " Default",
                                net->default_port);
      if (notes->len)
        g_string_append_c (notes, '.');
      if (net->bare_ids && net->whole_domain)
        g_string_append (notes, " *username* is the component's JID as written; *domain* is "
                                "where its buddies live (*subscribe* = \\* for all of them).");
      else if (net->bare_ids)
        g_string_append (notes, " Ids have no domain: *username* is the id as written, no @host added.");
      if (net->cleartext)
        {
          g_autofree char *clear = esc (net->cleartext);
          g_string_append_printf (notes, " No TLS: %s.", clear);
        }
      g_string_append_printf (out, "%s\n\t%s.%s\n\n", words, summary, notes->str);
    }
}

/* IM-SHOW: the words each network reports. */
static void
show_words (GString *out)
{
  for (const ImsNetwork *const *n = ims_registry_networks (); *n; n++)
    {
      if ((*n)->show_words == NULL)
        continue;
      g_auto (GStrv) w = g_strsplit ((*n)->show_words, " ", -1);
      g_autofree char *j = g_strjoinv ("*, *", w);
      if ((*n)->types)
        g_string_append_printf (out, "\t- %s: *%s*\n", (*n)->name, j);
      else
        g_string_append_printf (out, "\t- %s: %s\n", (*n)->name, (*n)->show_words);
    }
}

static void
commands (GString *out)
{
  static const char *const rights[] = { "read", "send", "admin" };
  gsize n;
  const ImsCommand *c = ims_control_commands (&n);
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *args = esc (c[i].args);
      g_autofree char *help = esc (c[i].help);
      g_string_append_printf (out, "*%s*%s%s\n\t%s (right: %s).\n\n", c[i].pattern,
                              *c[i].args ? " " : "", args, help, rights[c[i].right]);
    }
}

int
main (int argc, char **argv)
{
  if (argc == 2 && g_str_equal (argv[1], "--networks"))
    {
      /* For the docs test: every network's name, one a line. */
      for (const ImsNetwork *const *n = ims_registry_networks (); *n; n++)
        printf ("%s\n", (*n)->name);
      return 0;
    }
  if (argc != 3)
    {
      fprintf (stderr, "usage: gen-man INPUT OUTPUT | gen-man --networks\n");
      return 2;
    }
  g_autofree char *text = NULL;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (argv[1], &text, NULL, &err))
    {
      fprintf (stderr, "gen-man: %s\n", err->message);
      return 1;
    }
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (g_str_equal (*l, "@KEYS_GENERAL@"))
        keys (out, IMS_KEY_GENERAL);
      else if (g_str_equal (*l, "@KEYS_PEER@"))
        keys (out, IMS_KEY_PEER);
      else if (g_str_equal (*l, "@KEYS_WEBUSER@"))
        keys (out, IMS_KEY_WEBUSER);
      else if (g_str_equal (*l, "@KEYS_PERSON@"))
        keys (out, IMS_KEY_PERSON);
      else if (g_str_equal (*l, "@COMMANDS@"))
        commands (out);
      else if (g_str_equal (*l, "@NETWORKS@"))
        networks (out);
      else if (g_str_equal (*l, "@SHOW_WORDS@"))
        show_words (out);
      else
        g_string_append_printf (out, "%s%s", *l, l[1] ? "\n" : "");
    }
  if (!g_file_set_contents (argv[2], out->str, out->len, &err))
    {
      fprintf (stderr, "gen-man: %s\n", err->message);
      return 1;
    }
  return 0;
}
