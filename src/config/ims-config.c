/* ims-config: im.conf in Asterisk config syntax: the lexer's sections
 * checked against the key table and the networks' descriptors into an
 * ImsConfig, and the lookups the daemon makes on it.
 */
#define G_LOG_DOMAIN "ims-config"

#include "ims-config-private.h"

#include <string.h>
#include <sys/stat.h>

G_DEFINE_QUARK (ims-config-error-quark, ims_config_error)

static ImsPeerConfig *
ims_peer_config_new (Section *sec)
{
  ImsPeerConfig *p = g_new0 (ImsPeerConfig, 1);
  p->name = g_strdup (sec->name);
  p->file = g_strdup (sec->file);
  p->line = sec->line;
  return p;
}

/* What every section that is not a peer starts with. */
typedef struct {
  char *name;
  char *file;
  guint line;
} SectionHead;
#define SAME_HEAD(T)                                                                              \
  G_STATIC_ASSERT (G_STRUCT_OFFSET (T, name) == G_STRUCT_OFFSET (SectionHead, name)              \
                   && G_STRUCT_OFFSET (T, file) == G_STRUCT_OFFSET (SectionHead, file)           \
                   && G_STRUCT_OFFSET (T, line) == G_STRUCT_OFFSET (SectionHead, line))
SAME_HEAD (ImsWebUser);
SAME_HEAD (ImsPerson);
#undef SAME_HEAD

static void
ims_config_section (Lexer *lx, ImsConfig *c, Section *sec)
{
  gboolean general = g_str_equal (sec->name, "general");
  if (general && (sec->is_template || sec->bases->len))
    ims_lexer_error (lx, sec->file, sec->line, "[general] cannot be or use a template");

  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_entry_free);
  if (!ims_lexer_inherit (lx, sec, sec, entries, 0)
      || !ims_lexer_count_settings (lx, sec, sec->entries->len))
    return;

  /* type = webuser makes a user of the board, type = person a person, not
   * an IM peer (the section's own type wins over a template's). */
  const char *type = NULL;
  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (((Entry *) entries->pdata[i])->key, "type"))
      type = ((Entry *) entries->pdata[i])->value;
  for (guint i = 0; i < sec->entries->len; i++)
    if (g_str_equal (((Entry *) sec->entries->pdata[i])->key, "type"))
      type = ((Entry *) sec->entries->pdata[i])->value;
  /* A section that is not a peer: one row each. */
  static const struct {
    const char *type;
    ImsKeyScope scope;
    gsize size;
    gsize list, index; /* offsets into ImsConfig */
  } kinds[] = {
    { "webuser", IMS_KEY_WEBUSER, sizeof (ImsWebUser), G_STRUCT_OFFSET (ImsConfig, webusers),
      G_STRUCT_OFFSET (ImsConfig, webuser_index) },
    { "person", IMS_KEY_PERSON, sizeof (ImsPerson), G_STRUCT_OFFSET (ImsConfig, people),
      G_STRUCT_OFFSET (ImsConfig, person_index) },
  };
  const char *kind = NULL; /* NULL: a peer (or [general]) */
  ImsKeyScope scope = general ? IMS_KEY_GENERAL : IMS_KEY_PEER;
  gpointer section = NULL;
  for (gsize i = 0; !general && type && i < G_N_ELEMENTS (kinds); i++)
    if (g_ascii_strcasecmp (type, kinds[i].type) == 0)
      {
        SectionHead *head = section = g_malloc0 (kinds[i].size);
        head->name = g_strdup (sec->name);
        head->file = g_strdup (sec->file);
        head->line = sec->line;
        g_ptr_array_add (G_STRUCT_MEMBER (GPtrArray *, c, kinds[i].list), section);
        g_hash_table_insert (G_STRUCT_MEMBER (GHashTable *, c, kinds[i].index), head->name, section);
        kind = kinds[i].type;
        scope = kinds[i].scope;
      }
  gboolean own_kind = kind != NULL; /* webuser, person: no peer checks */
  g_autoptr (ImsPeerConfig) peer = general || own_kind ? NULL : ims_peer_config_new (sec);
  gpointer base = general ? (gpointer) c : own_kind ? section : (gpointer) peer;
  /* The section's own value of a single-valued key replaces the template's. */
  for (guint i = 0; i < sec->entries->len; i++)
    {
      Entry *own = sec->entries->pdata[i];
      const ImsConfigKey *k = ims_config_key (scope, own->key);
      if (k && !ims_key_is_list (k))
        for (guint j = entries->len; j-- > 0;)
          {
            Entry *e = entries->pdata[j];
            if (e->inherited && g_str_equal (e->key, own->key))
              g_ptr_array_remove_index (entries, j);
          }
    }
  for (guint i = 0; i < sec->entries->len; i++)
    {
      Entry *own = sec->entries->pdata[i];
      Entry *e = g_new0 (Entry, 1);
      *e = *own;
      e->key = g_strdup (own->key);
      e->value = g_strdup (own->value);
      g_ptr_array_add (entries, e);
    }

  gsize n_keys;
  const ImsConfigKey *table = ims_config_keys (&n_keys);
  g_autofree gboolean *seen = g_new0 (gboolean, n_keys);
  g_autofree const Entry **where = g_new0 (const Entry *, n_keys);
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = entries->pdata[i];
      const ImsConfigKey *k = ims_config_key (scope, e->key);
      if (k == NULL)
        {
          /* The known keys once a scope, not again for every typo. */
          if (lx->keys_listed & (1u << scope))
            ims_lexer_error (lx, e->file, e->line, "unknown key '%s' in [%s]", e->key, sec->name);
          else
            {
              g_autofree char *names = ims_config_key_names (scope);
              ims_lexer_error (lx, e->file, e->line, "unknown key '%s' in [%s] (known: %s)", e->key,
                               sec->name, names);
              lx->keys_listed |= 1u << scope;
            }
          continue;
        }
      gsize idx = k - table;
      where[idx] = e;
      g_autofree char *why = ims_config_apply (k, base, e->value, &seen[idx], listed);
      if (why)
        ims_lexer_error (lx, e->file, e->line, "%s", why);
    }
  ims_config_apply_defaults (scope, base, seen);

  if (general)
    return;
  for (gsize i = 0; i < n_keys; i++)
    {
      const ImsConfigKey *k = &table[i];
      if (k->scope != scope)
        continue;
      if ((k->flags & IMS_KEY_REQUIRED) && !seen[i])
        ims_lexer_error (lx, sec->file, sec->line, "%s [%s] has no '%s'",
                         kind ? kind : "peer", sec->name, k->name);
      if (own_kind)
        continue;
      if (seen[i] && !ims_key_applies (c, k, peer->type))
        {
          g_autofree char *types = ims_network_types_reading (c->networks, k->name);
          ims_lexer_error (lx, where[i]->file, where[i]->line,
                           "%s does not apply to type=%s (only to %s)", k->name, peer->type, types);
        }
    }
  if (own_kind)
    return;
  /* A fixed dial secret on a network without TLS is read off the wire the
   * first time it is used, and the sender can be forged there: such peers
   * dial only with one-time codes. */
  const ImsNetwork *net = ims_network_find (c->networks, peer->type);
  const ImsConfigKey *ds = ims_config_key (IMS_KEY_PEER, "dialsecret");
  if (net && net->cleartext && peer->dialsecret && where[ds - table])
    ims_lexer_error (lx, where[ds - table]->file, where[ds - table]->line,
                     "[%s] dialsecret on type=%s, which has no TLS: anyone on the path reads it "
                     "and can send it as a dialallow sender; use dialtotp (one-time codes)",
                     sec->name, peer->type);
  /* Keys that only make sense together. */
  if (peer->dialallow->len
      && ((!peer->dialsecret && !peer->dialtotp) || !peer->dialfrom || !peer->dialcontext))
    ims_lexer_error (lx, sec->file, sec->line,
                     "peer [%s]: dialallow needs dialsecret or dialtotp, dialfrom and dialcontext",
                     sec->name);
  if (peer->dialsecret && peer->dialtotp)
    ims_lexer_error (lx, sec->file, sec->line,
                     "peer [%s]: dialsecret and dialtotp: give one (dialtotp is the safer)",
                     sec->name);
  for (guint i = 0; i < c->peers->len; i++)
    {
      ImsPeerConfig *other = c->peers->pdata[i];
      if (other->username && peer->username && other->type && peer->type
          && g_str_equal (other->type, peer->type) && g_str_equal (other->username, peer->username)
          && g_strcmp0 (other->host, peer->host) == 0)
        ims_lexer_error (lx, sec->file, sec->line, "peer [%s] logs in as the same account as [%s]",
                         sec->name, other->name);
    }
  g_hash_table_insert (c->peer_index, peer->name, peer);
  g_ptr_array_add (c->peers, g_steal_pointer (&peer));
}

static void
ims_config_check_secret_files (Lexer *lx)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, lx->secret_files);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      struct stat st;
      if (stat (key, &st) == 0 && (st.st_mode & S_IROTH))
        g_ptr_array_add (lx->warnings,
                         g_strdup_printf ("%s: holds a secret and is readable by other users "
                                          "(mode %04o); run: chmod o-rwx %s",
                                          (const char *) key, st.st_mode & 07777,
                                          (const char *) key));
    }
}

/* A person's references, each error with file:line: her identities name
 * peers, her extension is a hint's exten@context, her DND a Custom: device,
 * and the phone side needs AMI. */
static void
ims_config_check_person (Lexer *lx, const ImsConfig *c, const ImsPerson *p)
{
  if (p->extension == NULL && p->im->len == 0)
    ims_lexer_error (lx, p->file, p->line, "person [%s] needs extension or im (or both)", p->name);
  for (guint j = 0; j < p->im->len; j++)
    {
      const char *id = p->im->pdata[j];
      const char *slash = strchr (id, '/');
      g_autofree char *peer = slash ? g_strndup (id, slash - id) : NULL;
      g_autofree char *q = ims_config_quote (id);
      if (slash == NULL || slash[1] == '\0' || strchr (slash + 1, '/'))
        ims_lexer_error (lx, p->file, p->line, "person [%s]: im %s is not peer/user", p->name, q);
      else if (ims_config_find_peer (c, peer) == NULL)
        ims_lexer_error (lx, p->file, p->line, "person [%s]: im %s names no peer '%s'", p->name,
                         q, peer);
    }
  const char *at = p->extension ? strchr (p->extension, '@') : NULL;
  if (p->extension && (at == NULL || at == p->extension || at[1] == '\0' || strchr (at + 1, '@')))
    {
      g_autofree char *q = ims_config_quote (p->extension);
      ims_lexer_error (lx, p->file, p->line,
                       "person [%s]: extension %s is not a hint's exten@context (205@default)",
                       p->name, q);
    }
  if (p->dnd && (g_ascii_strncasecmp (p->dnd, "Custom:", 7) != 0 || p->dnd[7] == '\0'))
    {
      g_autofree char *q = ims_config_quote (p->dnd);
      ims_lexer_error (lx, p->file, p->line,
                       "person [%s]: dnd %s is not a Custom: device (Custom:DND205)", p->name, q);
    }
  if (!c->amihost && (p->extension || p->dnd || p->queuemember))
    ims_lexer_error (lx, p->file, p->line,
                     "person [%s]: %s needs the AMI settings in [general] (amihost, amiuser, "
                     "amisecret)",
                     p->name, p->extension ? "extension" : p->dnd ? "dnd" : "queuemember");
  if (p->queuemember && !p->dnd)
    ims_lexer_error (lx, p->file, p->line,
                     "person [%s]: queuemember is paused while DND is on: it needs dnd", p->name);
}

ImsConfig *
ims_config_parse (const char *path, const char *text, gsize len,
                  const ImsNetwork *const *networks, GError **error)
{
  Lexer lx;
  ims_lexer_init (&lx);
  ims_lexer_text (&lx, path, text, len);

  g_autoptr (ImsConfig) c = g_new0 (ImsConfig, 1);
  c->path = g_strdup (path);
  c->networks = networks;
  c->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_peer_config_free);
  c->webusers = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_webuser_free);
  c->people = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_person_free);
  c->warnings = g_ptr_array_new_with_free_func (g_free);
  c->peer_index = g_hash_table_new (g_str_hash, g_str_equal);
  c->webuser_index = g_hash_table_new (g_str_hash, g_str_equal);
  c->person_index = g_hash_table_new (g_str_hash, g_str_equal);

  gboolean have_general = FALSE;
  for (guint i = 0; i < lx.sections->len; i++)
    {
      Section *sec = lx.sections->pdata[i];
      Section *first = g_hash_table_lookup (lx.defined, sec->name);
      if (first != sec)
        {
          ims_lexer_error (&lx, sec->file, sec->line, "section [%s] defined twice (first at %s:%u)",
                           sec->name, first->file, first->line);
          continue;
        }
      if (g_str_equal (sec->name, "general") && sec->is_template)
        ims_lexer_error (&lx, sec->file, sec->line, "[general] cannot be or use a template");
      else if (!sec->is_template)
        {
          have_general = have_general || g_str_equal (sec->name, "general");
          ims_config_section (&lx, c, sec);
        }
    }
  if (!have_general)
    {
      gsize n_keys;
      ims_config_keys (&n_keys);
      g_autofree gboolean *seen = g_new0 (gboolean, n_keys);
      ims_config_apply_defaults (IMS_KEY_GENERAL, c, seen);
    }
  /* The one default that follows another key. */
  if (c->controlsocket == NULL)
    c->controlsocket = g_build_filename (c->statedir, IMS_VOCAB_SOCKET_NAME, NULL);
  if (c->amihost && (!c->amiuser || !c->amisecret))
    ims_lexer_error (&lx, path, 0, "[general] amihost needs amiuser and amisecret");
  for (guint i = 0; i < c->peers->len && !c->amihost; i++)
    {
      ImsPeerConfig *p = c->peers->pdata[i];
      if (ims_peer_config_has_activewhen_device (p) || p->phone || p->publish)
        ims_lexer_error (&lx, p->file, p->line,
                         "peer [%s]: %s needs the AMI settings in [general] (amihost, amiuser, "
                         "amisecret)",
                         p->name, p->phone ? "phone" : p->publish ? "publish" : "activewhen");
    }
  for (guint i = 0; i < c->webusers->len; i++)
    {
      ImsWebUser *u = c->webusers->pdata[i];
      for (guint j = 0; j < u->peers->len; j++)
        if (ims_config_find_peer (c, u->peers->pdata[j]) == NULL)
          ims_lexer_error (&lx, u->file, u->line, "webuser [%s]: peers names no peer '%s'",
                           u->name, (const char *) u->peers->pdata[j]);
      if (u->person && ims_config_find_person (c, u->person) == NULL)
        ims_lexer_error (&lx, u->file, u->line, "webuser [%s]: person names no person '%s'",
                         u->name, u->person);
    }
  for (guint i = 0; i < c->people->len; i++)
    ims_config_check_person (&lx, c, c->people->pdata[i]);
  if (c->httpbind)
    {
      /* Passwords and presence cross the network only under TLS. */
      g_autofree char *host = g_strdup (c->httpbind[0] == '[' ? c->httpbind + 1 : c->httpbind);
      char *end = strrchr (host, c->httpbind[0] == '[' ? ']' : ':');
      if (end && (c->httpbind[0] == '[' || strchr (host, ':') == end))
        *end = '\0';
      gboolean loopback = g_str_has_prefix (host, "127.") || g_str_equal (host, "::1");
      if (!loopback && !(c->httpcert && c->httpkey))
        ims_lexer_error (&lx, path, 0, "[general] httpbind %s is not loopback: it needs httpcert "
                         "and httpkey (HTTPS)", c->httpbind);
    }
  if ((c->httpcert != NULL) != (c->httpkey != NULL))
    ims_lexer_error (&lx, path, 0, "[general] httpcert and httpkey go together");
  for (guint i = 0; i < c->peers->len; i++)
    {
      ImsPeerConfig *p = c->peers->pdata[i];
      const ImsNetwork *net = ims_network_find (c->networks, p->type);
      if (net && p->username)
        {
          /* The network's own rules for an account: said by its descriptor. */
          g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
          g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
          if (net->id_valid && !net->id_valid (p->username))
            g_ptr_array_add (errors, g_strdup_printf ("username: %s", net->id_rule));
          else if (net->check_account)
            {
              ImsAccount acct;
              g_autofree char *id = NULL, *domain = NULL;
              ims_config_peer_account (c, p, &acct, &id, &domain);
              net->check_account (&acct, errors, warnings);
            }
          for (guint j = 0; j < errors->len; j++)
            ims_lexer_error (&lx, p->file, p->line, "[%s] %s", p->name,
                             (const char *) errors->pdata[j]);
          for (guint j = 0; j < warnings->len; j++)
            g_ptr_array_add (lx.warnings, g_strdup_printf ("%s:%u: [%s] %s", p->file, p->line,
                                                           p->name,
                                                           (const char *) warnings->pdata[j]));
        }
      for (guint j = 0; net && j < p->subscribe->len; j++)
        if (g_str_equal (p->subscribe->pdata[j], "*") && !(net->whole_domain && p->domain))
          ims_lexer_error (&lx, p->file, p->line,
                           "[%s] subscribe = * (every user of a domain) is only for a network "
                           "that sees a whole domain, with domain =",
                           p->name);
      if (net && net->cleartext)
        {
          g_ptr_array_add (lx.warnings,
                           g_strdup_printf ("%s:%u: [%s] type=%s has no TLS: %s",
                                            p->file, p->line, p->name, p->type, net->cleartext));
          continue; /* tls = ... means nothing here */
        }
      if (p->tls == IMS_TLS_OPTIONAL)
        g_ptr_array_add (lx.warnings,
                         g_strdup_printf ("%s:%u: [%s] tls = optional: a man in the middle can "
                                          "strip TLS and read the password and every presence; "
                                          "use tls = required",
                                          p->file, p->line, p->name));
      else if (p->tls == IMS_TLS_OFF)
        g_ptr_array_add (lx.warnings,
                         g_strdup_printf ("%s:%u: [%s] tls = off: the password and every "
                                          "presence travel in clear",
                                          p->file, p->line, p->name));
      if ((p->cafile || p->cadir) && c->peers->len > 1)
        g_ptr_array_add (lx.warnings,
                         g_strdup_printf ("%s:%u: [%s] %s is trusted for every peer, not only "
                                          "this one (libpurple keeps one trust store)",
                                          p->file, p->line, p->name,
                                          p->cafile ? "cafile" : "cadir"));
    }
  ims_config_check_secret_files (&lx);

  gboolean ok = ims_lexer_take_errors (&lx, error);
  for (guint i = 0; i < lx.warnings->len; i++)
    g_ptr_array_add (c->warnings, g_strdup (lx.warnings->pdata[i]));
  ims_lexer_clear (&lx);
  return ok ? g_steal_pointer (&c) : NULL;
}

ImsConfig *
ims_config_load (const char *path, const ImsNetwork *const *networks, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;

  if (!ims_config_read_file (path, &text, &len, &err))
    {
      g_set_error (error, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_IO, "%s", err->message);
      return NULL;
    }
  return ims_config_parse (path, text, len, networks, error);
}

gboolean
ims_peer_config_has_activewhen_device (const ImsPeerConfig *p)
{
  return p->activewhen && g_ascii_strcasecmp (p->activewhen, "always") != 0;
}

/* By name, from the index the parser builds (an HTTP event stream looks its
 * user up for every change: no linear search there). */
const ImsPeerConfig *
ims_config_find_peer (const ImsConfig *c, const char *name)
{
  return g_hash_table_lookup (c->peer_index, name);
}

const char *
ims_lamp_state_name (ImsLampState state)
{
  static const char *const names[] = { "NOT_INUSE", "INUSE", "BUSY", "ONHOLD", "RINGING",
                                       "UNAVAILABLE" };
  return names[state <= IMS_LAMP_UNAVAILABLE ? state : IMS_LAMP_NOT_INUSE];
}

const ImsPerson *
ims_config_find_person (const ImsConfig *c, const char *name)
{
  return g_hash_table_lookup (c->person_index, name);
}

const ImsWebUser *
ims_config_find_webuser (const ImsConfig *c, const char *name)
{
  return g_hash_table_lookup (c->webuser_index, name);
}

gboolean
ims_webuser_sees (const ImsWebUser *u, const char *peer)
{
  if (u->peers->len == 0)
    return TRUE;
  for (guint i = 0; i < u->peers->len; i++)
    if (g_str_equal (u->peers->pdata[i], peer))
      return TRUE;
  return FALSE;
}

gboolean
ims_webuser_sees_person (const ImsWebUser *u, const ImsPerson *p)
{
  if (u->peers->len == 0 || p->im->len == 0 || g_strcmp0 (u->person, p->name) == 0)
    return TRUE;
  for (guint i = 0; i < p->im->len; i++)
    {
      const char *id = p->im->pdata[i];
      g_autofree char *peer = g_strndup (id, strcspn (id, "/"));
      if (ims_webuser_sees (u, peer))
        return TRUE;
    }
  return FALSE;
}

gboolean
ims_webuser_may_dnd (const ImsWebUser *u, const ImsPerson *p)
{
  return g_strcmp0 (u->person, p->name) == 0 || (u->dnd == IMS_YES && ims_webuser_sees_person (u, p));
}

char *
ims_config_own_id (const ImsPeerConfig *p, gboolean bare_ids)
{
  /* The seed's `username=pinkys-asterisk` with a host is pinkys-asterisk@host
   * on XMPP, but a screen name on AIM. */
  g_autofree char *base = bare_ids || strchr (p->username, '@') || p->host == NULL
                              ? g_strdup (p->username)
                              : g_strdup_printf ("%s@%s", p->username, p->host);
  const char *slash = strchr (base, '/');
  g_autofree char *bare = slash ? g_strndup (base, slash - base) : g_strdup (base);
  return g_utf8_strdown (bare, -1);
}

void
ims_config_peer_account (const ImsConfig *c, const ImsPeerConfig *p, ImsAccount *account,
                         char **id, char **domain)
{
  const ImsNetwork *net = ims_network_find (c->networks, p->type);
  gboolean bare_ids = net && net->bare_ids;
  *id = ims_config_own_id (p, bare_ids);
  const char *at = bare_ids ? NULL : strrchr (*id, '@');
  /* Where buddies without @ belong: the domain key where a network reads
   * it (a component's users), else the own id's. */
  *domain = p->domain ? g_ascii_strdown (p->domain, -1) : at ? g_strdup (at + 1) : NULL;
  *account = (ImsAccount){
    .peer = p->name,
    .type = p->type,
    .username = p->username,
    .id = *id,
    .domain = *domain,
    .secret = p->secret,
    .host = p->host ? p->host : net ? net->default_host : NULL,
    .port = p->port,
    .tls = p->tls,
    .cafile = p->cafile,
    .cadir = p->cadir,
    .resource = p->resource,
    .pinginterval = p->pinginterval,
    .pingtimeout = p->pingtimeout,
    .statusmessage = p->statusmessage,
    .loginurl = p->loginurl,
    .remote = p->remote,
  };
}

