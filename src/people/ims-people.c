/* ims-people: see the header. */
#define G_LOG_DOMAIN "ims-people"

#include "ims-people.h"

#include <string.h>

#include "ims-text.h"
#include "ims-vocab.h"

typedef struct {
  char *name;
  gboolean dnd;
  gboolean im_dnd; /* one of her identities shows dnd (last seen) */
  ImsPhone phone;
  ImsPersonAnswer last; /* as last told the watchers */
  gboolean told;
} State;

typedef struct {
  guint id;
  ImsPersonChangedFunc func;
  gpointer data;
} Watch;

struct _ImsPeople {
  ImsPresenceStore *store;
  char *path;                /* statedir/people.dnd, NULL: not kept */
  ImsPeopleHooks hooks;
  const ImsConfig *config;
  GHashTable *states;        /* name -> State */
  GHashTable *identities;    /* "peer\037id" -> ImsPerson* (rebuilt when dirty) */
  GHashTable *by_extension;  /* "context\037exten" -> GSList of ImsPerson* */
  GHashTable *by_device;     /* her dnd device, lowercased -> GSList of ImsPerson* */
  gboolean dirty;
  guint watch;
  GArray *watches; /* Watch */
  guint next_watch;
};

static void ims_people_changed (ImsPeople *pp, const char *name);

G_STATIC_ASSERT (G_N_ELEMENTS (ims_vocab_phones) == IMS_PHONE_UNAVAILABLE + 1);

const char *
ims_phone_to_string (ImsPhone phone)
{
  return ims_vocab_phones[phone <= IMS_PHONE_UNAVAILABLE ? phone : IMS_PHONE_UNKNOWN];
}

ImsPhone
ims_phone_from_status_text (const char *s)
{
  if (s == NULL)
    return IMS_PHONE_UNKNOWN;
  if (strstr (s, "Hold"))
    return IMS_PHONE_ONHOLD;
  if (g_ascii_strcasecmp (s, "Ringing") == 0)
    return IMS_PHONE_RINGING;
  if (g_ascii_strcasecmp (s, "InUse") == 0 || g_ascii_strcasecmp (s, "Busy") == 0
      || g_str_has_prefix (s, "InUse&"))
    return IMS_PHONE_INUSE;
  if (g_ascii_strcasecmp (s, "Idle") == 0)
    return IMS_PHONE_IDLE;
  if (g_ascii_strcasecmp (s, "Unavailable") == 0)
    return IMS_PHONE_UNAVAILABLE;
  return IMS_PHONE_UNKNOWN;
}

static void
ims_state_free (State *st)
{
  g_free (st->name);
  ims_answer_clear (&st->last.answer);
  g_free (st);
}

static State *
ims_people_state (ImsPeople *pp, const char *name)
{
  State *st = g_hash_table_lookup (pp->states, name);
  if (st == NULL)
    {
      st = g_new0 (State, 1);
      st->name = g_strdup (name);
      g_hash_table_insert (pp->states, st->name, st);
    }
  return st;
}

/* ---- DND kept across restarts: one "name<TAB>1" line per person with it on ---- */

static void
ims_people_save (ImsPeople *pp)
{
  if (pp->path == NULL)
    return;
  g_autoptr (GString) out = g_string_new (NULL);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, pp->states);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((State *) v)->dnd)
      g_string_append_printf (out, "%s\t1\n", ((State *) v)->name);
  g_autoptr (GError) err = NULL;
  if (!g_file_set_contents_full (pp->path, out->str, out->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &err))
    g_warning ("cannot keep the people's DND: %s", err->message);
}

static void
ims_people_load (ImsPeople *pp)
{
  g_autofree char *text = NULL;
  if (pp->path == NULL || !g_file_get_contents (pp->path, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *tab = strchr (*l, '\t');
      if (tab && g_str_equal (tab + 1, "1") && tab - *l <= 64)
        {
          *tab = '\0';
          ims_people_state (pp, *l)->dnd = TRUE;
        }
    }
}

/* ---- her identities ---- */

static void
ims_people_index (ImsPeople *pp)
{
  if (!pp->dirty)
    return;
  pp->dirty = FALSE;
  g_hash_table_remove_all (pp->identities);
  for (guint i = 0; pp->config && i < pp->config->people->len; i++)
    {
      const ImsPerson *p = pp->config->people->pdata[i];
      for (guint j = 0; j < p->im->len; j++)
        {
          const char *id = p->im->pdata[j];
          const char *slash = strchr (id, '/');
          g_autofree char *peer = g_strndup (id, slash - id);
          g_autofree char *full = ims_presence_store_normalize (pp->store, peer, slash + 1);
          if (full == NULL)
            {
              pp->dirty = TRUE; /* the peer is not there yet */
              continue;
            }
          g_hash_table_insert (pp->identities, g_strdup_printf ("%s\037%s", peer, full),
                               (gpointer) p);
        }
    }
}

/* The store's answer for one of her identities, "peer/user" (checked by
 * the config). */
static void
ims_people_identity (ImsPeople *pp, const char *id, ImsAnswer *a)
{
  const char *slash = strchr (id, '/');
  g_autofree char *peer = g_strndup (id, slash - id);
  ims_presence_store_lookup (pp->store, peer, slash + 1, a);
}

static gboolean
ims_answer_shows_dnd (const ImsAnswer *a)
{
  return a && a->show && g_str_equal (a->show, "dnd");
}

/* Does any of @p's identities show dnd now? */
static gboolean
ims_people_im_dnd (ImsPeople *pp, const ImsPerson *p)
{
  for (guint j = 0; j < p->im->len; j++)
    {
      ImsAnswer a;
      ims_people_identity (pp, p->im->pdata[j], &a);
      gboolean dnd = ims_answer_shows_dnd (&a);
      ims_answer_clear (&a);
      if (dnd)
        return TRUE;
    }
  return FALSE;
}

static void
on_people_presence (const char *peer, const char *buddy, const ImsAnswer *old,
                    const ImsAnswer *now, gpointer data)
{
  ImsPeople *pp = data;
  (void) old;
  ims_people_index (pp);
  g_autofree char *key = g_strdup_printf ("%s\037%s", peer, buddy);
  const ImsPerson *p = g_hash_table_lookup (pp->identities, key);
  if (p == NULL)
    return;
  /* She chose dnd in her IM client (or left it): the last change wins. */
  State *st = ims_people_state (pp, p->name);
  gboolean im_dnd = ims_answer_shows_dnd (now) || ims_people_im_dnd (pp, p);
  if (im_dnd != st->im_dnd)
    {
      st->im_dnd = im_dnd;
      ims_people_set_dnd (pp, p->name, im_dnd, IMS_DND_FROM_IM);
    }
  ims_people_changed (pp, p->name);
}

static void
on_people_peer (const char *peer, ImsPeerState state, const char *reason, gpointer data)
{
  (void) peer, (void) state, (void) reason;
  ((ImsPeople *) data)->dirty = TRUE;
}

ImsPeople *
ims_people_new (ImsPresenceStore *store, const char *statedir, const ImsPeopleHooks *hooks)
{
  ImsPeople *pp = g_new0 (ImsPeople, 1);
  pp->store = store;
  pp->path = statedir ? g_build_filename (statedir, "people.dnd", NULL) : NULL;
  if (hooks)
    pp->hooks = *hooks;
  pp->states = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) ims_state_free);
  pp->identities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  pp->by_extension = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_slist_free);
  pp->by_device = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_slist_free);
  pp->dirty = TRUE;
  pp->watches = g_array_new (FALSE, FALSE, sizeof (Watch));
  ims_people_load (pp);
  pp->watch = ims_presence_store_watch (store, on_people_presence, on_people_peer, pp);
  return pp;
}

void
ims_people_free (ImsPeople *pp)
{
  if (pp == NULL)
    return;
  ims_presence_store_unwatch (pp->store, pp->watch);
  g_hash_table_unref (pp->states);
  g_hash_table_unref (pp->identities);
  g_hash_table_unref (pp->by_extension);
  g_hash_table_unref (pp->by_device);
  g_array_unref (pp->watches);
  g_free (pp->path);
  g_free (pp);
}

/* Adds @p to the list under @key (transfer full) in @index. */
static void
ims_people_index_add (GHashTable *index, char *key, const ImsPerson *p)
{
  GSList *l = g_hash_table_lookup (index, key);
  g_hash_table_steal (index, key);
  g_hash_table_insert (index, key, g_slist_prepend (l, (gpointer) p));
}

void
ims_people_set_config (ImsPeople *pp, const ImsConfig *config)
{
  pp->config = config;
  pp->dirty = TRUE;
  /* Asterisk's events name a hint or a device: a lookup each, for 10,000
   * people as for one. */
  g_hash_table_remove_all (pp->by_extension);
  g_hash_table_remove_all (pp->by_device);
  for (guint i = 0; i < config->people->len; i++)
    {
      const ImsPerson *p = config->people->pdata[i];
      const char *at = p->extension ? strchr (p->extension, '@') : NULL;
      if (at)
        ims_people_index_add (pp->by_extension,
                              g_strdup_printf ("%s\037%.*s", at + 1, (int) (at - p->extension),
                                               p->extension),
                              p);
      if (p->dnd)
        ims_people_index_add (pp->by_device, g_ascii_strdown (p->dnd, -1), p);
    }
  /* People no longer configured are forgotten. */
  GHashTableIter it;
  gpointer name;
  g_hash_table_iter_init (&it, pp->states);
  while (g_hash_table_iter_next (&it, &name, NULL))
    if (ims_config_find_person (config, name) == NULL)
      g_hash_table_iter_remove (&it);
  for (guint i = 0; i < config->people->len; i++)
    ims_people_state (pp, ((ImsPerson *) config->people->pdata[i])->name);
  /* Her identities may be others now. */
  for (guint i = 0; i < config->people->len; i++)
    ims_people_changed (pp, ((ImsPerson *) config->people->pdata[i])->name);
}

static GSList *
ims_people_at (ImsPeople *pp, const char *context, const char *exten)
{
  g_autofree char *key = g_strdup_printf ("%s\037%s", context, exten);
  return g_hash_table_lookup (pp->by_extension, key);
}

void
ims_people_hint (ImsPeople *pp, const char *context, const char *exten, const char *status_text)
{
  for (GSList *l = ims_people_at (pp, context, exten); l; l = l->next)
    {
      const ImsPerson *p = l->data;
      ims_people_state (pp, p->name)->phone = ims_phone_from_status_text (status_text);
      ims_people_changed (pp, p->name);
    }
}

gboolean
ims_people_dnd_at (ImsPeople *pp, const char *context, const char *exten)
{
  for (GSList *l = ims_people_at (pp, context, exten); l; l = l->next)
    if (ims_people_dnd (pp, ((const ImsPerson *) l->data)->name))
      return TRUE;
  return FALSE;
}

const ImsPerson *
ims_people_of_identity (ImsPeople *pp, const char *peer, const char *id)
{
  ims_people_index (pp);
  g_autofree char *low = g_utf8_strdown (id, -1);
  g_autofree char *key = g_strdup_printf ("%s\037%s", peer, low);
  return g_hash_table_lookup (pp->identities, key);
}

const GSList *
ims_people_with_device (ImsPeople *pp, const char *device)
{
  g_autofree char *key = g_ascii_strdown (device, -1);
  return g_hash_table_lookup (pp->by_device, key);
}

/* Is a device state DND on?  Anything in use; NOT_INUSE, UNKNOWN,
 * UNAVAILABLE and INVALID are off. */
static gboolean
ims_people_device_on (const char *state)
{
  static const char *const on[] = { "BUSY", "INUSE", "RINGING", "RINGINUSE", "ONHOLD" };
  for (gsize i = 0; i < G_N_ELEMENTS (on); i++)
    if (g_ascii_strcasecmp (state, on[i]) == 0)
      return TRUE;
  return FALSE;
}

void
ims_people_device (ImsPeople *pp, const char *device, const char *state)
{
  for (const GSList *l = ims_people_with_device (pp, device); l; l = l->next)
    ims_people_set_dnd (pp, ((const ImsPerson *) l->data)->name, ims_people_device_on (state),
                        IMS_DND_FROM_DEVICE);
}

gboolean
ims_people_set_dnd (ImsPeople *pp, const char *name, gboolean on, ImsDndSource source)
{
  const ImsPerson *p = pp->config ? ims_config_find_person (pp->config, name) : NULL;
  if (p == NULL)
    return FALSE;
  State *st = ims_people_state (pp, name);
  static const char *const who[] = { "the dnd device", "imctl", "her IM client", "the board" };
  if (st->dnd == on)
    return TRUE;
  st->dnd = on;
  g_message ("%s: do not disturb %s (%s)", name, on ? "on" : "off", who[source]);
  ims_people_save (pp);
  if (pp->hooks.dnd_changed)
    pp->hooks.dnd_changed (pp->hooks.user_data, p, on, source);
  ims_people_changed (pp, name);
  return TRUE;
}

gboolean
ims_people_dnd (ImsPeople *pp, const char *name)
{
  State *st = g_hash_table_lookup (pp->states, name);
  return st && st->dnd;
}

/* The most available first: online, idle, away, busy, offline, unknown. */
static int
ims_people_rank (ImsStatus s)
{
  switch (s)
    {
    case IMS_STATUS_ONLINE: return 5;
    case IMS_STATUS_IDLE: return 4;
    case IMS_STATUS_AWAY: return 3;
    case IMS_STATUS_BUSY: return 2;
    case IMS_STATUS_OFFLINE: return 1;
    case IMS_STATUS_UNKNOWN: break;
    }
  return 0;
}

static void
ims_people_set_show (ImsAnswer *a, ImsStatus status, const char *show)
{
  a->status = status;
  g_free (a->show);
  a->show = g_strdup (show);
}

gboolean
ims_people_lookup (ImsPeople *pp, const char *name, ImsPersonAnswer *out)
{
  const ImsPerson *p = pp->config ? ims_config_find_person (pp->config, name) : NULL;
  if (p == NULL)
    return FALSE;
  State *st = ims_people_state (pp, name);
  memset (out, 0, sizeof *out);
  gboolean have = FALSE;
  for (guint j = 0; j < p->im->len; j++)
    {
      ImsAnswer a;
      ims_people_identity (pp, p->im->pdata[j], &a);
      if (!have || ims_people_rank (a.status) > ims_people_rank (out->answer.status))
        {
          if (have)
            ims_answer_clear (&out->answer);
          out->answer = a;
          have = TRUE;
        }
      else
        ims_answer_clear (&a);
    }
  out->phone = p->extension ? st->phone : IMS_PHONE_UNKNOWN;
  out->dnd = st->dnd;
  if (!have)
    {
      /* A phone only: it says whether she is there at all. */
      ImsStatus s = out->phone == IMS_PHONE_UNAVAILABLE ? IMS_STATUS_OFFLINE
                    : out->phone == IMS_PHONE_UNKNOWN   ? IMS_STATUS_UNKNOWN
                                                        : IMS_STATUS_ONLINE;
      ims_answer_fill (&out->answer, s, IMS_RESULT_OK);
    }
  if (out->dnd)
    ims_people_set_show (&out->answer, IMS_STATUS_BUSY, "dnd");
  else if (out->phone == IMS_PHONE_INUSE || out->phone == IMS_PHONE_RINGING
           || out->phone == IMS_PHONE_ONHOLD)
    ims_people_set_show (&out->answer, IMS_STATUS_BUSY, "phone");
  if (out->dnd || out->phone != IMS_PHONE_UNKNOWN)
    out->answer.result = IMS_RESULT_OK;
  ImsLamps lamps = { ims_lamp_state_name (pp->config->lampaway),
                     ims_lamp_state_name (pp->config->lampdnd) };
  ims_answer_set_lamp (&out->answer, &lamps);
  return TRUE;
}

void
ims_person_answer_each_variable (const ImsPersonAnswer *a, gint64 now, ImsVariableFunc func,
                                 gpointer data)
{
  ims_answer_each_variable (&a->answer, now, func, data);
  func (IMS_VOCAB_PHONE_VAR, ims_phone_to_string (a->phone), data);
  func (IMS_VOCAB_DND_VAR, a->dnd ? "1" : "0", data);
}

/* ---- the feed ---- */

static gboolean
ims_person_answer_equal (const ImsPersonAnswer *a, const ImsPersonAnswer *b)
{
  return a->phone == b->phone && a->dnd == b->dnd && ims_answer_equal (&a->answer, &b->answer);
}

/* Tells the watchers when @name's answer is not what they last heard. */
static void
ims_people_changed (ImsPeople *pp, const char *name)
{
  ImsPersonAnswer now;
  if (pp->watches->len == 0 || !ims_people_lookup (pp, name, &now))
    return;
  State *st = ims_people_state (pp, name);
  if (st->told && ims_person_answer_equal (&now, &st->last))
    {
      ims_answer_clear (&now.answer);
      return;
    }
  ims_answer_clear (&st->last.answer);
  st->last = now;
  st->told = TRUE;
  for (guint i = 0; i < pp->watches->len; i++)
    {
      Watch *w = &g_array_index (pp->watches, Watch, i);
      w->func (name, &st->last, w->data);
    }
}

guint
ims_people_watch (ImsPeople *pp, ImsPersonChangedFunc changed, gpointer user_data)
{
  Watch w = { ++pp->next_watch, changed, user_data };
  g_array_append_val (pp->watches, w);
  return w.id;
}

void
ims_people_unwatch (ImsPeople *pp, guint id)
{
  for (guint i = 0; i < pp->watches->len; i++)
    if (g_array_index (pp->watches, Watch, i).id == id)
      {
        g_array_remove_index (pp->watches, i);
        return;
      }
}

void
ims_people_foreach (ImsPeople *pp, ImsPersonChangedFunc func, gpointer user_data)
{
  for (guint i = 0; pp->config && i < pp->config->people->len; i++)
    {
      const char *name = ((ImsPerson *) pp->config->people->pdata[i])->name;
      ImsPersonAnswer a;
      if (ims_people_lookup (pp, name, &a))
        {
          func (name, &a, user_data);
          ims_answer_clear (&a.answer);
        }
    }
}
