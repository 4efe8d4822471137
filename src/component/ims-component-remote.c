/* ims-component-remote: remote = <another PBX's component>.  At login the
 * component asks each remote for its phones (disco#items) and subscribes to
 * each, as a user would; the remote approves components it names in its own
 * remote.  Their presence makes buddies <exten>@<remote> of this peer, so
 * IM:corp:204@phones-b.example.org lights a lamp here from a phone there.
 * A remote that stops answering our pings (the server bounces them once it
 * has gone) has its phones unknown until it answers again; then they are
 * asked for anew.  Each answered ping asks for its list again, so a phone
 * added there appears here within a ping interval.  The XMPP server is the
 * shared engine: nothing here is cluster state.
 */
#define G_LOG_DOMAIN "ims-component"

#include "ims-component-private.h"

#include <string.h>

#include "ims-text.h"
#include "ims-xmpp-presence.h"

#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

typedef struct {
  char *jid;          /* the remote component, lowercased */
  gboolean up;        /* it answered since it was last found gone */
  gboolean said_down; /* its going was logged (once per going) */
  gboolean said_refused;
  char *items_id;     /* our disco#items awaiting its answer */
  char *ping_id;      /* our ping awaiting its answer */
  GHashTable *phones; /* bare JIDs of its phones we subscribed to */
} ImsCompRemote;

static void
ims_comp_remote_free (ImsCompRemote *r)
{
  g_free (r->jid);
  g_free (r->items_id);
  g_free (r->ping_id);
  g_hash_table_unref (r->phones);
  g_free (r);
}

gboolean
ims_component_is_remote (ImsCompPeer *c, const char *jid)
{
  const GPtrArray *list = c->base.acct->remote;
  for (guint i = 0; jid && list && i < list->len; i++)
    if (g_ascii_strcasecmp (list->pdata[i], jid) == 0)
      return TRUE;
  return FALSE;
}

static void
ims_component_remote_tables (ImsCompPeer *c)
{
  const GPtrArray *list = c->base.acct->remote;
  if (c->remotes || list == NULL || list->len == 0)
    return;
  c->remotes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) ims_comp_remote_free);
  for (guint i = 0; i < list->len; i++)
    {
      ImsCompRemote *r = g_new0 (ImsCompRemote, 1);
      r->jid = g_ascii_strdown (list->pdata[i], -1);
      r->phones = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_replace (c->remotes, r->jid, r);
    }
}

/* The remote whose phone @bare is, or the remote @bare is; NULL: neither. */
static ImsCompRemote *
ims_component_remote_of (ImsCompPeer *c, const char *bare)
{
  if (c->remotes == NULL || bare == NULL)
    return NULL;
  const char *at = strrchr (bare, '@');
  return g_hash_table_lookup (c->remotes, at ? at + 1 : bare);
}

static char *
ims_component_next_id (ImsCompPeer *c, const char *what)
{
  return g_strdup_printf ("ims%s%u", what, ++c->ping_seq);
}

static void
ims_component_ask_items (ImsCompPeer *c, ImsCompRemote *r)
{
  g_free (r->items_id);
  r->items_id = ims_component_next_id (c, "items");
  ims_component_send_iq (c, "get", r->items_id, r->jid, "<query xmlns='" NS_DISCO_ITEMS "'/>");
}

void
ims_component_remotes_online (ImsCompPeer *c)
{
  ims_component_remote_tables (c);
  if (c->remotes == NULL)
    return;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, c->remotes);
  while (g_hash_table_iter_next (&it, NULL, &v))
    ims_component_ask_items (c, v);
}

/* @r is gone (the server bounced what we sent it, or it did not answer):
 * its phones are unknown until it answers again, said once. */
static void
ims_component_remote_down (ImsCompPeer *c, ImsCompRemote *r, const char *why)
{
  r->up = FALSE;
  g_clear_pointer (&r->items_id, g_free);
  g_clear_pointer (&r->ping_id, g_free);
  if (!r->said_down)
    g_warning ("%s: remote %s does not answer (%s): its phones are unknown until it does",
               c->base.name, r->jid, why);
  r->said_down = TRUE;
  GHashTableIter it;
  gpointer phone;
  g_hash_table_iter_init (&it, r->phones);
  while (g_hash_table_iter_next (&it, &phone, NULL))
    ims_driver_subscription (c->base.driver, c->base.name, phone, IMS_SUB_PENDING);
}

void
ims_component_remotes_ping (ImsCompPeer *c)
{
  if (c->remotes == NULL)
    return;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, c->remotes);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      ImsCompRemote *r = v;
      if (r->ping_id || r->items_id)
        ims_component_remote_down (c, r, "no answer within a ping interval");
      r->ping_id = ims_component_next_id (c, "rping");
      ims_component_send_iq (c, "get", r->ping_id, r->jid, "<ping xmlns='urn:xmpp:ping'/>");
    }
}

/* The remote's phones, as its disco#items lists them: each one not yet
 * asked for is subscribed to (@all: every one, after the remote was gone,
 * which is what makes it send the state now); each one no longer listed is
 * unknown.  Said in the log when the count changes. */
static void
ims_component_remote_items (ImsCompPeer *c, ImsCompRemote *r, const ImsXmlNode *query,
                            gboolean all)
{
  guint before = g_hash_table_size (r->phones);
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *me = g_markup_escape_text (c->jid, -1);
  for (guint i = 0; query && query->children && i < query->children->len; i++)
    {
      const ImsXmlNode *item = query->children->pdata[i];
      const char *jid = ims_xml_attr (item, "jid");
      if (!g_str_equal (item->name, "item") || jid == NULL || !ims_xmpp_jid_valid (jid)
          || strchr (jid, '/'))
        continue;
      g_autofree char *bare = g_utf8_strdown (jid, -1);
      if (!ims_xmpp_in_domain (bare, r->jid) || g_hash_table_size (listed) >= IMS_COMP_MAX_PHONES)
        continue;
      g_hash_table_add (listed, g_strdup (bare));
      if (g_hash_table_contains (r->phones, bare) && !all)
        continue;
      g_hash_table_add (r->phones, g_strdup (bare));
      g_autofree char *t = g_markup_escape_text (bare, -1);
      g_autofree char *sub = g_strdup_printf ("<presence type='subscribe' from='%s' to='%s'/>",
                                              me, t);
      ims_component_send (c, sub);
    }
  GHashTableIter it;
  gpointer phone;
  g_hash_table_iter_init (&it, r->phones);
  while (g_hash_table_iter_next (&it, &phone, NULL))
    if (!g_hash_table_contains (listed, phone))
      {
        ims_driver_subscription (c->base.driver, c->base.name, phone, IMS_SUB_PENDING);
        g_hash_table_iter_remove (&it);
      }
  if (all || g_hash_table_size (r->phones) != before)
    g_message ("%s: remote %s answers: %u phones", c->base.name, r->jid,
               g_hash_table_size (r->phones));
}

gboolean
ims_component_remote_iq (ImsCompPeer *c, const ImsXmlNode *stanza)
{
  const char *id = ims_xml_attr (stanza, "id");
  const char *type = ims_xml_attr (stanza, "type");
  const char *f = ims_xml_attr (stanza, "from");
  /* Only answers: a remote's own request may carry an id like ours. */
  if (c->remotes == NULL || f == NULL || !ims_xmpp_jid_valid (f)
      || (g_strcmp0 (type, "result") != 0 && g_strcmp0 (type, "error") != 0))
    return FALSE;
  g_autofree char *from = ims_xmpp_bare (f);
  ImsCompRemote *r = g_hash_table_lookup (c->remotes, from);
  if (r == NULL || id == NULL || (g_strcmp0 (id, r->items_id) != 0 && g_strcmp0 (id, r->ping_id) != 0))
    return FALSE;
  gboolean items = g_strcmp0 (id, r->items_id) == 0;
  g_clear_pointer (items ? &r->items_id : &r->ping_id, g_free);
  if (g_strcmp0 (type, "result") != 0)
    {
      /* The condition is the error's first child (RFC 6120 8.3.2). */
      ImsXmlNode *err = ims_xml_child (stanza, NULL, "error");
      const char *cond = err && err->children && err->children->len
                             ? ((ImsXmlNode *) err->children->pdata[0])->name
                             : "error";
      g_autofree char *safe = ims_text_for_log (cond, 64);
      ims_component_remote_down (c, r, safe);
      return TRUE;
    }
  if (items)
    {
      gboolean back = !r->up;
      r->up = TRUE;
      r->said_down = FALSE;
      ims_component_remote_items (c, r, ims_xml_child (stanza, NS_DISCO_ITEMS, "query"), back);
    }
  else if (r->items_id == NULL)
    /* Back: what it has, anew; still there: its phones added since. */
    ims_component_ask_items (c, r);
  return TRUE;
}

gboolean
ims_component_remote_presence (ImsCompPeer *c, const ImsXmlNode *stanza)
{
  const char *from = ims_xml_attr (stanza, "from");
  if (c->remotes == NULL || from == NULL || !ims_xmpp_jid_valid (from))
    return FALSE;
  g_autofree char *bare = ims_xmpp_bare (from);
  ImsCompRemote *r = ims_component_remote_of (c, bare);
  if (r == NULL || !ims_xmpp_in_domain (bare, r->jid))
    return FALSE;
  ImsDriver *drv = c->base.driver;
  const char *type = ims_xml_attr (stanza, "type");
  if (!g_hash_table_contains (r->phones, bare))
    {
      if (g_hash_table_size (r->phones) >= IMS_COMP_MAX_PHONES)
        return TRUE;
      g_hash_table_add (r->phones, g_strdup (bare));
    }
  if (g_strcmp0 (type, "subscribed") == 0)
    {
      ims_driver_subscription (drv, c->base.name, bare, IMS_SUB_BOTH);
      return TRUE;
    }
  if (g_strcmp0 (type, "unsubscribed") == 0)
    {
      if (!r->said_refused)
        g_warning ("%s: remote %s does not show us its phones: it needs remote = %s",
                   c->base.name, r->jid, c->jid);
      r->said_refused = TRUE;
      ims_driver_subscription (drv, c->base.name, bare, IMS_SUB_PENDING);
      return TRUE;
    }
  ImsXmppPresence pr;
  if (!ims_xmpp_parse_presence (stanza, g_get_real_time () / G_USEC_PER_SEC, &pr))
    return TRUE;
  if (pr.kind == IMS_XMPP_PRESENCE_AVAILABLE)
    {
      ImsResourcePresence rp = ims_xmpp_presence_resource (&pr);
      ims_driver_presence (drv, c->base.name, pr.bare, pr.resource, &rp);
    }
  else if (pr.kind == IMS_XMPP_PRESENCE_GONE)
    {
      /* An unavailable phone is known to be there: offline, not unknown. */
      ims_driver_subscription (drv, c->base.name, pr.bare, IMS_SUB_BOTH);
      ims_driver_presence (drv, c->base.name, pr.bare, pr.resource, NULL);
    }
  ims_xmpp_presence_clear (&pr);
  return TRUE;
}

void
ims_component_remotes_reset (ImsCompPeer *c)
{
  /* Asked for anew at the next login. */
  g_clear_pointer (&c->remotes, g_hash_table_unref);
}

void
ims_component_remotes_free (ImsCompPeer *c)
{
  g_clear_pointer (&c->remotes, g_hash_table_unref);
}
