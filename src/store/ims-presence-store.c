/* ims-presence-store: peers -> buddies -> resources, and the answer per buddy.
 * Every change recomputes the buddy's answer and publishes it only when it
 * differs from the last one published, which also de-duplicates libpurple's
 * repeated status callbacks.
 */
#define G_LOG_DOMAIN "ims-store"

#include "ims-presence-store.h"
#include "ims-text.h"
#include "ims-vocab.h"

#include <string.h>

#define MAX_RESOURCES 16
/* subscribe = *: users of the domain kept, at most (a hostile server could
 * make up any number). */
#define IMS_STORE_MAX_DOMAIN_BUDDIES 100000

typedef struct {
  char *name;
  ImsShow show;
  char *word;
  int priority;
  char *text;
  gint64 idle_since;
  guint64 seq; /* update order, the last tie-break but one */
} Resource;

typedef struct {
  char *id;
  ImsSubscription sub;
  gint64 lastseen_at;
  GSList *resources;     /* Resource*, at most MAX_RESOURCES: a list, not a table (most
                          * buddies have one; a table cost 250 bytes each) */
  ImsAnswer answer;      /* last published */
  gboolean published;
} Buddy;

typedef struct {
  char *name;
  char *username;
  char *domain;
  ImsPeerState state;
  char *reason;
  gboolean roster_ready;
  GHashTable *buddies; /* id -> Buddy, watched buddies only */
  gboolean whole_domain;      /* subscribe = *: every user of domain, as they appear */
  GPtrArray *mirrored;        /* char*, lowercased: domains whose every id is a buddy as it
                               * appears (another PBX's phones) */
  gboolean whole_full_logged; /* said once that IMS_STORE_MAX_DOMAIN_BUDDIES is reached */
} Peer;

typedef struct {
  guint id;
  ImsPresenceChangedFunc presence;
  ImsPeerChangedFunc peer;
  gpointer user_data;
  ImsPeerRemovedFunc removed;
} Watch;

struct _ImsPresenceStore {
  GHashTable *peers; /* name -> Peer */
  GPtrArray *order;  /* Peer*, borrowed */
  GArray *watches;
  guint next_watch;
  ImsLamps lamps;
  guint64 seq;
  gint64 (*now) (void);
};

static gint64
ims_store_real_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
ims_resource_free (Resource *r)
{
  g_free (r->name);
  g_free (r->word);
  g_free (r->text);
  g_free (r);
}

static gint
ims_resource_named (gconstpointer r, gconstpointer name)
{
  return strcmp (((const Resource *) r)->name, name);
}

static void
ims_buddy_free (Buddy *b)
{
  g_free (b->id);
  g_slist_free_full (b->resources, (GDestroyNotify) ims_resource_free);
  ims_answer_clear (&b->answer);
  g_free (b);
}

static void
ims_peer_free (Peer *p)
{
  g_free (p->name);
  g_free (p->username);
  g_free (p->domain);
  g_free (p->reason);
  g_clear_pointer (&p->mirrored, g_ptr_array_unref);
  g_hash_table_unref (p->buddies);
  g_free (p);
}

ImsPresenceStore *
ims_presence_store_new (void)
{
  ImsPresenceStore *s = g_new0 (ImsPresenceStore, 1);
  s->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) ims_peer_free);
  s->order = g_ptr_array_new ();
  s->watches = g_array_new (FALSE, TRUE, sizeof (Watch));
  s->next_watch = 1;
  s->now = ims_store_real_now;
  return s;
}

void
ims_presence_store_free (ImsPresenceStore *s)
{
  if (s == NULL)
    return;
  g_ptr_array_unref (s->order);
  g_hash_table_unref (s->peers);
  g_array_unref (s->watches);
  g_free (s);
}

void
ims_presence_store_set_clock (ImsPresenceStore *s, gint64 (*now) (void))
{
  s->now = now ? now : ims_store_real_now;
}

guint
ims_presence_store_watch (ImsPresenceStore *s, ImsPresenceChangedFunc presence,
                          ImsPeerChangedFunc peer, gpointer user_data)
{
  Watch w = { s->next_watch++, presence, peer, user_data };
  g_array_append_val (s->watches, w);
  return w.id;
}

guint
ims_presence_store_watch_removed (ImsPresenceStore *s, ImsPeerRemovedFunc removed,
                                  gpointer user_data)
{
  Watch w = { s->next_watch++, NULL, NULL, user_data, removed };
  g_array_append_val (s->watches, w);
  return w.id;
}

void
ims_presence_store_unwatch (ImsPresenceStore *s, guint id)
{
  for (guint i = 0; i < s->watches->len; i++)
    if (g_array_index (s->watches, Watch, i).id == id)
      {
        g_array_remove_index (s->watches, i);
        return;
      }
}


static ImsStatus
ims_resource_status (const Resource *r)
{
  switch (r->show)
    {
    case IMS_SHOW_AVAILABLE:
    case IMS_SHOW_CHAT:
      return r->idle_since ? IMS_STATUS_IDLE : IMS_STATUS_ONLINE;
    case IMS_SHOW_AWAY:
    case IMS_SHOW_XA:
      return IMS_STATUS_AWAY;
    case IMS_SHOW_DND:
    case IMS_SHOW_PHONE:
      return IMS_STATUS_BUSY;
    }
  return IMS_STATUS_UNKNOWN;
}

/* Most available first (online > idle > away > busy), then higher priority,
 * then shorter idle, then the most recent update, then the name so the
 * answer never depends on hash order. */
static gboolean
ims_resource_better (const Resource *a, const Resource *b)
{
  ImsStatus sa = ims_resource_status (a), sb = ims_resource_status (b);
  if (sa != sb)
    return sa > sb;
  if (a->priority != b->priority)
    return a->priority > b->priority;
  /* Not idle sorts as the most recent; idle without a time as the oldest. */
  gint64 ia = a->idle_since == 0 ? G_MAXINT64 : MAX (a->idle_since, 0);
  gint64 ib = b->idle_since == 0 ? G_MAXINT64 : MAX (b->idle_since, 0);
  if (ia != ib)
    return ia > ib;
  if (a->seq != b->seq)
    return a->seq > b->seq;
  return strcmp (a->name, b->name) < 0;
}

static void
ims_buddy_compute (ImsPresenceStore *s, Peer *p, Buddy *b, ImsAnswer *out)
{
  if (p->state != IMS_PEER_REGISTERED)
    {
      ims_answer_fill (out, IMS_STATUS_UNKNOWN, IMS_RESULT_NOTCONNECTED);
      out->lastseen_at = b->lastseen_at;
      out->subscription = b->sub;
      return;
    }
  if (b->sub != IMS_SUB_BOTH)
    {
      ims_answer_fill (out, IMS_STATUS_UNKNOWN, IMS_RESULT_PENDING);
      out->lastseen_at = b->lastseen_at;
      out->subscription = b->sub;
      return;
    }

  Resource *best = NULL;
  for (GSList *l = b->resources; l; l = l->next)
    if (best == NULL || ims_resource_better (l->data, best))
      best = l->data;

  if (best == NULL)
    {
      ims_answer_fill (out, IMS_STATUS_OFFLINE, IMS_RESULT_OK);
      out->lastseen_at = b->lastseen_at;
      out->subscription = b->sub;
      return;
    }
  memset (out, 0, sizeof *out);
  out->status = ims_resource_status (best);
  out->result = IMS_RESULT_OK;
  out->idle_since = best->idle_since;
  out->idle_seconds = best->idle_since > 0 ? MAX (0, s->now () - best->idle_since) : 0;
  out->text = g_strdup (best->text ? best->text : "");
  out->prefix = ims_status_text_prefix (out->text);
  out->uri = ims_status_text_uri (out->text);
  out->resource = g_strdup (best->name);
  out->show = g_strdup (best->word ? best->word : ims_show_to_string (best->show));
  out->lastseen_at = b->lastseen_at;
  out->subscription = b->sub;
  ims_answer_set_lamp (out, &s->lamps);
}

static void
ims_store_publish (ImsPresenceStore *s, Peer *p, Buddy *b)
{
  ImsAnswer now;
  ims_buddy_compute (s, p, b, &now);
  if (b->published && ims_answer_equal (&now, &b->answer))
    {
      ims_answer_clear (&now);
      return;
    }
  ImsAnswer old = b->answer;
  gboolean had = b->published;
  b->answer = now;
  b->published = TRUE;
  for (guint i = 0; i < s->watches->len; i++)
    {
      Watch *w = &g_array_index (s->watches, Watch, i);
      if (w->presence)
        w->presence (p->name, b->id, had ? &old : NULL, &b->answer, w->user_data);
    }
  ims_answer_clear (&old);
}

/* ---- peers ---- */

static Peer *
ims_store_peer (ImsPresenceStore *s, const char *name)
{
  return name ? g_hash_table_lookup (s->peers, name) : NULL;
}

void
ims_presence_store_add_peer (ImsPresenceStore *s, const char *name, const char *username,
                             const char *domain)
{
  g_return_if_fail (ims_store_peer (s, name) == NULL);
  Peer *p = g_new0 (Peer, 1);
  p->name = g_strdup (name);
  p->username = g_strdup (username);
  p->domain = g_strdup (domain);
  p->state = IMS_PEER_CONNECTING;
  p->buddies = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) ims_buddy_free);
  g_hash_table_insert (s->peers, p->name, p);
  g_ptr_array_add (s->order, p);
}

void
ims_presence_store_remove_peer (ImsPresenceStore *s, const char *name)
{
  Peer *p = ims_store_peer (s, name);
  if (p == NULL)
    return;
  for (guint i = 0; i < s->watches->len; i++)
    {
      Watch *w = &g_array_index (s->watches, Watch, i);
      if (w->removed)
        w->removed (p->name, w->user_data);
    }
  g_ptr_array_remove (s->order, p);
  g_hash_table_remove (s->peers, name);
}

gboolean
ims_presence_store_has_peer (ImsPresenceStore *s, const char *name)
{
  return ims_store_peer (s, name) != NULL;
}

static char *
ims_store_normalize (Peer *p, const char *name)
{
  if (strchr (name, '@') || p->domain == NULL)
    return g_utf8_strdown (name, -1);
  g_autofree char *low = g_utf8_strdown (name, -1);
  return g_strdup_printf ("%s@%s", low, p->domain);
}

char *
ims_presence_store_normalize (ImsPresenceStore *s, const char *peer, const char *name)
{
  Peer *p = ims_store_peer (s, peer);
  return p ? ims_store_normalize (p, name) : NULL;
}

/* Does @id (lowercased) become a buddy of @p by appearing: a user of its
 * domain under subscribe = *, or an id of a mirrored domain? */
static gboolean
ims_store_open_to (Peer *p, const char *id)
{
  const char *at = strrchr (id, '@');
  if (at == NULL || at == id)
    return FALSE;
  if (p->whole_domain && p->domain && g_str_equal (at + 1, p->domain))
    return TRUE;
  for (guint i = 0; p->mirrored && i < p->mirrored->len; i++)
    if (g_str_equal (at + 1, p->mirrored->pdata[i]))
      return TRUE;
  return FALSE;
}

/* The buddy @id of @p, made when @p is open to it (at most
 * IMS_STORE_MAX_DOMAIN_BUDDIES, said once); NULL when not watched. */
static Buddy *ims_store_new_buddy (ImsPresenceStore *s, Peer *p, const char *id);

static Buddy *
ims_store_buddy_or_open (ImsPresenceStore *s, Peer *p, const char *buddy)
{
  g_autofree char *id = g_utf8_strdown (buddy, -1);
  Buddy *b = g_hash_table_lookup (p->buddies, id);
  if (b || !ims_store_open_to (p, id))
    return b;
  if (g_hash_table_size (p->buddies) >= IMS_STORE_MAX_DOMAIN_BUDDIES)
    {
      if (!p->whole_full_logged)
        g_warning ("%s: more than %d buddies seen by domain; keeping no more (said once)",
                   p->name, IMS_STORE_MAX_DOMAIN_BUDDIES);
      p->whole_full_logged = TRUE;
      return NULL;
    }
  return ims_store_new_buddy (s, p, id);
}

static Buddy *
ims_store_new_buddy (ImsPresenceStore *s, Peer *p, const char *id)
{
  Buddy *b = g_new0 (Buddy, 1);
  b->id = g_strdup (id);
  g_hash_table_insert (p->buddies, b->id, b);
  ims_store_publish (s, p, b);
  return b;
}

void
ims_presence_store_set_watched (ImsPresenceStore *s, const char *peer, GPtrArray *names,
                                const GPtrArray *mirrored)
{
  Peer *p = ims_store_peer (s, peer);
  g_return_if_fail (p != NULL);
  g_autoptr (GHashTable) want = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_clear_pointer (&p->mirrored, g_ptr_array_unref);
  for (guint i = 0; mirrored && i < mirrored->len; i++)
    {
      if (p->mirrored == NULL)
        p->mirrored = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (p->mirrored, g_utf8_strdown (mirrored->pdata[i], -1));
    }
  p->whole_domain = FALSE;
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (names->pdata[i], "*"))
      p->whole_domain = TRUE;
    else
      g_hash_table_add (want, ims_store_normalize (p, names->pdata[i]));

  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, p->buddies);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (!g_hash_table_contains (want, k) && !ims_store_open_to (p, k))
      g_hash_table_iter_remove (&it);

  g_hash_table_iter_init (&it, want);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (!g_hash_table_contains (p->buddies, k))
      ims_store_new_buddy (s, p, k);
}

char *
ims_presence_store_display_name (ImsPresenceStore *s, const char *peer, const char *id)
{
  const char *domain = ims_presence_store_peer_domain (s, peer);
  const char *at = strrchr (id, '@');
  if (domain && at && g_str_equal (at + 1, domain))
    return g_strndup (id, at - id);
  return g_strdup (id);
}

gboolean
ims_presence_store_is_watched (ImsPresenceStore *s, const char *peer, const char *id)
{
  Peer *p = ims_store_peer (s, peer);
  return p && id && (g_hash_table_contains (p->buddies, id)
                     || ims_store_open_to (p, id));
}


const char *
ims_presence_store_peer_domain (ImsPresenceStore *s, const char *peer)
{
  Peer *p = ims_store_peer (s, peer);
  return p ? p->domain : NULL;
}

static void
ims_store_notify_peer (ImsPresenceStore *s, Peer *p)
{
  for (guint i = 0; i < s->watches->len; i++)
    {
      Watch *w = &g_array_index (s->watches, Watch, i);
      if (w->peer)
        w->peer (p->name, p->state, p->reason, w->user_data);
    }
}

static void
ims_store_publish_all (ImsPresenceStore *s, Peer *p)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, p->buddies);
  while (g_hash_table_iter_next (&it, NULL, &v))
    ims_store_publish (s, p, v);
}

void
ims_presence_store_set_lamps (ImsPresenceStore *s, const ImsLamps *lamps)
{
  s->lamps = lamps ? *lamps : (ImsLamps){ NULL, NULL };
  for (guint i = 0; i < s->order->len; i++)
    ims_store_publish_all (s, s->order->pdata[i]);
}

void
ims_presence_store_set_peer_state (ImsPresenceStore *s, const char *peer, ImsPeerState state,
                                   const char *reason)
{
  Peer *p = ims_store_peer (s, peer);
  if (p == NULL)
    return;
  if (p->state == state && g_strcmp0 (p->reason, reason) == 0)
    return;
  if (p->state == IMS_PEER_REGISTERED && state != IMS_PEER_REGISTERED)
    {
      /* What we knew is no longer true: forget resources, remember when the
       * buddies were last seen, and wait for a fresh roster. */
      gint64 now = s->now ();
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, p->buddies);
      while (g_hash_table_iter_next (&it, NULL, &v))
        {
          Buddy *b = v;
          if (b->resources)
            b->lastseen_at = now;
          g_slist_free_full (g_steal_pointer (&b->resources), (GDestroyNotify) ims_resource_free);
        }
      p->roster_ready = FALSE;
    }
  p->state = state;
  g_free (p->reason);
  p->reason = g_strdup (reason);
  ims_store_notify_peer (s, p);
  ims_store_publish_all (s, p);
}

ImsPeerState
ims_presence_store_get_peer_state (ImsPresenceStore *s, const char *peer, const char **reason)
{
  Peer *p = ims_store_peer (s, peer);
  if (reason)
    *reason = p ? p->reason : NULL;
  return p ? p->state : IMS_PEER_UNSUPPORTED;
}

void
ims_presence_store_set_roster_ready (ImsPresenceStore *s, const char *peer)
{
  Peer *p = ims_store_peer (s, peer);
  if (p == NULL || p->roster_ready)
    return;
  p->roster_ready = TRUE;
  /* Those waiting for a known answer (IMStatus W(x)) hear it as a peer change. */
  ims_store_notify_peer (s, p);
}

gboolean
ims_presence_store_roster_ready (ImsPresenceStore *s, const char *peer)
{
  Peer *p = ims_store_peer (s, peer);
  return p && p->state == IMS_PEER_REGISTERED && p->roster_ready;
}

/* ---- presence ---- */

/* Updates name a buddy by its full id, exactly (only case is folded): a
 * driver's "buckaroo" (an XMPP server's JID, no '@') is not the dialplan's
 * buckaroo@example.org, or a remote server could speak for a watched buddy. */
static Buddy *
ims_store_buddy (ImsPresenceStore *s, const char *peer, const char *buddy, Peer **peer_out)
{
  Peer *p = ims_store_peer (s, peer);
  if (p == NULL || buddy == NULL)
    return NULL;
  g_autofree char *id = g_utf8_strdown (buddy, -1);
  *peer_out = p;
  return g_hash_table_lookup (p->buddies, id);
}

void
ims_presence_store_update_resource (ImsPresenceStore *s, const char *peer, const char *buddy,
                                    const char *resource, const ImsResourcePresence *pr)
{
  Peer *p = NULL;
  Buddy *b = ims_store_buddy (s, peer, buddy, &p);
  if (p == NULL || p->state != IMS_PEER_REGISTERED)
    return;
  if (b == NULL)
    b = ims_store_buddy_or_open (s, p, buddy); /* subscribe = *, mirrored phones */
  if (b == NULL)
    return;
  /* A resource is text a server or buddy chose: safe and short before it
   * is a key, so IM-RESOURCE is as safe as the status text. */
  g_autofree char *res = ims_text_safe (resource, IMS_RESOURCE_MAX);
  resource = res;
  GSList *found = g_slist_find_custom (b->resources, resource, ims_resource_named);
  Resource *r = found ? found->data : NULL;
  if (r == NULL)
    {
      if (g_slist_length (b->resources) >= MAX_RESOURCES)
        {
          g_debug ("%s: %s has more than %d resources; ignoring one", peer, b->id, MAX_RESOURCES);
          return;
        }
      r = g_new0 (Resource, 1);
      r->name = g_strdup (resource);
      b->resources = g_slist_prepend (b->resources, r);
    }
  r->show = pr->show;
  g_free (r->word);
  r->word = NULL;
  if (pr->word && *pr->word)
    {
      /* A network word is a short token: lowercased, safe, capped. */
      g_autofree char *safe = ims_text_safe (pr->word, 32);
      r->word = g_utf8_strdown (g_strdelimit (safe, " ", '-'), -1);
    }
  r->priority = pr->priority;
  g_free (r->text);
  r->text = pr->text ? ims_text_safe (pr->text, IMS_TEXT_MAX) : NULL;
  r->idle_since = pr->idle_since;
  r->seq = ++s->seq;
  /* A presence only says the buddy is there; subscription must be both. */
  b->sub = IMS_SUB_BOTH;
  b->lastseen_at = s->now ();
  ims_store_publish (s, p, b);
}

void
ims_presence_store_remove_resource (ImsPresenceStore *s, const char *peer, const char *buddy,
                                    const char *resource)
{
  Peer *p = NULL;
  Buddy *b = ims_store_buddy (s, peer, buddy, &p);
  if (b == NULL)
    return;
  g_autofree char *res = ims_text_safe (resource, IMS_RESOURCE_MAX);
  GSList *found = g_slist_find_custom (b->resources, res, ims_resource_named);
  if (found)
    {
      ims_resource_free (found->data);
      b->resources = g_slist_delete_link (b->resources, found);
      b->lastseen_at = s->now ();
    }
  ims_store_publish (s, p, b);
}

void
ims_presence_store_set_subscription (ImsPresenceStore *s, const char *peer, const char *buddy,
                                     ImsSubscription sub)
{
  Peer *p = NULL;
  Buddy *b = ims_store_buddy (s, peer, buddy, &p);
  if (b == NULL && p && p->state == IMS_PEER_REGISTERED && sub == IMS_SUB_BOTH)
    b = ims_store_buddy_or_open (s, p, buddy); /* known to be there, seen or not */
  if (b == NULL || b->sub == sub)
    return;
  b->sub = sub;
  if (sub != IMS_SUB_BOTH)
    g_slist_free_full (g_steal_pointer (&b->resources), (GDestroyNotify) ims_resource_free);
  ims_store_publish (s, p, b);
}

void
ims_presence_store_set_lastseen (ImsPresenceStore *s, const char *peer, const char *buddy,
                                 gint64 at)
{
  Peer *p = NULL;
  Buddy *b = ims_store_buddy (s, peer, buddy, &p);
  if (b == NULL)
    return;
  b->lastseen_at = at;
  ims_store_publish (s, p, b);
}

void
ims_presence_store_lookup (ImsPresenceStore *s, const char *peer, const char *name,
                           ImsAnswer *answer)
{
  Peer *p = ims_store_peer (s, peer);
  if (p == NULL)
    {
      ims_answer_fill (answer, IMS_STATUS_UNKNOWN, IMS_RESULT_NOPEER);
      return;
    }
  g_autofree char *id = ims_store_normalize (p, name);
  g_autofree char *low = g_utf8_strdown (name, -1);
  g_autofree char *own = g_utf8_strdown (p->username, -1);
  if (ims_vocab_names_own (low, own)) /* the module's rule too */
    {
      gboolean up = p->state == IMS_PEER_REGISTERED;
      ims_answer_fill (answer, up ? IMS_STATUS_ONLINE : IMS_STATUS_OFFLINE, IMS_RESULT_OK);
      return;
    }
  Buddy *b = g_hash_table_lookup (p->buddies, id);
  if (b == NULL && ims_store_open_to (p, id) && p->state == IMS_PEER_REGISTERED)
    {
      /* A user of the domain (or a mirrored phone) the server has not
       * reported (yet): not every server reports who was online before the
       * peer logged in, so this is not offline, only not known. */
      ims_answer_fill (answer, IMS_STATUS_UNKNOWN, IMS_RESULT_PENDING);
      return;
    }
  if (b == NULL)
    {
      /* A peer that is down says so first: the dialplan's error branch
       * should hear about it whoever was asked for. */
      ims_answer_fill (answer, IMS_STATUS_UNKNOWN,
                       p->state == IMS_PEER_REGISTERED ? IMS_RESULT_NOTSUBSCRIBED
                                                       : IMS_RESULT_NOTCONNECTED);
      return;
    }
  ims_buddy_compute (s, p, b, answer);
}

static int
ims_store_strcmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
ims_presence_store_list_buddies (ImsPresenceStore *s, const char *peer)
{
  GPtrArray *out = g_ptr_array_new ();
  Peer *p = ims_store_peer (s, peer);
  if (p == NULL)
    return out;
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, p->buddies);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (out, k);
  g_ptr_array_sort (out, ims_store_strcmp);
  return out;
}

GPtrArray *
ims_presence_store_list_peers (ImsPresenceStore *s)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < s->order->len; i++)
    g_ptr_array_add (out, ((Peer *) s->order->pdata[i])->name);
  return out;
}

const ImsAnswer *
ims_presence_store_published (ImsPresenceStore *s, const char *peer, const char *id)
{
  Peer *p = ims_store_peer (s, peer);
  Buddy *b = p ? g_hash_table_lookup (p->buddies, id) : NULL;
  return b && b->published ? &b->answer : NULL;
}

void
ims_presence_store_snapshot (ImsPresenceStore *s, gboolean (*visible) (const char *, gpointer),
                             ImsPeerChangedFunc peer, ImsPresenceChangedFunc presence,
                             gpointer data)
{
  for (guint i = 0; i < s->order->len; i++)
    {
      Peer *p = s->order->pdata[i];
      if (visible && !visible (p->name, data))
        continue;
      peer (p->name, p->state, p->reason, data);
      g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (s, p->name);
      for (guint j = 0; j < buddies->len; j++)
        {
          ImsAnswer a;
          ims_presence_store_lookup (s, p->name, buddies->pdata[j], &a);
          presence (p->name, buddies->pdata[j], NULL, &a, data);
          ims_answer_clear (&a);
        }
    }
}
