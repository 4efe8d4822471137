/* ims-telephony-hints: what Asterisk says of its hints (ExtensionStatus,
 * and their presence states) for the peers that publish a context and for
 * the people; and a person's DND applied to Asterisk (her dnd device, now
 * or when AMI is back).
 */
#define G_LOG_DOMAIN "ims-ami"

#include "ims-telephony-private.h"

#include <string.h>

/* The pause reason of a queue membership paused for DND (and the only one
 * unpaused when it ends). */
#define IMS_DND_PAUSE_REASON "dnd"

/* A published hint: its state, and its presence state where the hint
 * names a presence provider ("Custom:204,CustomPresence:204"). */
typedef struct {
  char *context;
  char *exten;
  char *state;
  char *presentity; /* NULL: none */
  char *presence;   /* NULL: not known (yet) */
  char *message;
} Hint;

static void
ims_hint_free (Hint *h)
{
  g_free (h->context);
  g_free (h->exten);
  g_free (h->state);
  g_free (h->presentity);
  g_free (h->presence);
  g_free (h->message);
  g_free (h);
}

/* At most this many published hints are kept (the component's limit too). */
#define MAX_HINTS 10000

void
ims_tel_hints_init (ImsTelephony *tel)
{
  tel->hints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) ims_hint_free);
  tel->dnd_pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

void
ims_tel_hints_clear (ImsTelephony *tel)
{
  g_clear_pointer (&tel->hints, g_hash_table_unref);
  g_clear_pointer (&tel->dnd_pending, g_hash_table_unref);
}

/* ---- published hints: phones as contacts ---- */

static void
ims_tel_hint_tell (ImsTelephony *tel, const Hint *h)
{
  ImsPhoneState ps = { h->state, h->presence, h->message,
                       tel->people && ims_people_dnd_at (tel->people, h->context, h->exten) };
  for (guint i = 0; i < tel->config->peers->len; i++)
    {
      const ImsPeerConfig *p = tel->config->peers->pdata[i];
      if (p->publish && g_str_equal (p->publish, h->context))
        ims_core_phone (tel->core, p->name, h->exten, &ps);
    }
}

gboolean
ims_tel_hint_known (ImsTelephony *tel, const char *context, const char *exten)
{
  g_autofree char *key = g_strdup_printf ("%s\037%s", context, exten);
  Hint *h = g_hash_table_lookup (tel->hints, key);
  return h && h->state;
}

void
ims_telephony_replay_phones (ImsTelephony *tel)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, tel->hints);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((Hint *) v)->state)
      ims_tel_hint_tell (tel, v);
}

void
on_tel_extension (const char *context, const char *exten, const char *state, const char *hint,
                  gpointer data)
{
  ImsTelephony *tel = data;
  /* A contact's name on the wire: digits and the few dialplan characters
   * a JID local part takes as they are. */
  gsize n = strlen (exten);
  if (n == 0 || n > 32 || strspn (exten, "0123456789*#+_-abcdefghijklmnopqrstuvwxyz") != n)
    return;
  g_autofree char *key = g_strdup_printf ("%s\037%s", context, exten);
  Hint *h = g_hash_table_lookup (tel->hints, key);
  if (h == NULL)
    {
      if (g_hash_table_size (tel->hints) >= MAX_HINTS)
        {
          if (!tel->hints_full_logged)
            g_warning ("Asterisk has more than %d hints; keeping no more (said once)", MAX_HINTS);
          tel->hints_full_logged = TRUE;
          return;
        }
      h = g_new0 (Hint, 1);
      h->context = g_strdup (context);
      h->exten = g_strdup (exten);
      g_hash_table_insert (tel->hints, g_steal_pointer (&key), h);
    }
  /* The presence provider is what follows the first comma of the hint. */
  const char *comma = strchr (hint, ',');
  g_autofree char *presentity = comma && comma[1] ? g_strdup (comma + 1) : NULL;
  if (g_strcmp0 (presentity, h->presentity) != 0)
    {
      g_free (h->presentity);
      h->presentity = g_steal_pointer (&presentity);
      g_clear_pointer (&h->presence, g_free);
      g_clear_pointer (&h->message, g_free);
    }
  if (g_strcmp0 (h->state, state) == 0 && h->state)
    return;
  g_free (h->state);
  h->state = g_strdup (state);
  if (tel->people)
    ims_people_hint (tel->people, context, exten, state);
  ims_tel_hint_tell (tel, h);
}

/* ---- people: DND applied to Asterisk ---- */

static void
ims_tel_push_dnd (ImsTelephony *tel, const ImsPerson *p, gboolean on)
{
  g_autofree char *var = g_strdup_printf ("DEVICE_STATE(%s)", p->dnd);
  const char *h[] = { "Variable", var, "Value", on ? "BUSY" : "NOT_INUSE", NULL };
  g_autoptr (GError) err = NULL;
  if (tel->ami == NULL || ims_ami_client_state (tel->ami) != IMS_AMI_UP
      || !ims_ami_client_send (tel->ami, "Setvar", h, NULL, NULL, NULL, &err))
    {
      /* Pushed when AMI is back, before what it lists then is believed. */
      g_hash_table_insert (tel->dnd_pending, g_strdup (p->name), g_strdup (on ? "1" : "0"));
      return;
    }
  g_hash_table_remove (tel->dnd_pending, p->name);
}

static void
ims_tel_push_pending (ImsTelephony *tel)
{
  g_autoptr (GHashTable) pending = g_steal_pointer (&tel->dnd_pending);
  tel->dnd_pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer name, on;
  g_hash_table_iter_init (&it, pending);
  while (g_hash_table_iter_next (&it, &name, &on))
    {
      const ImsPerson *p = ims_config_find_person (tel->config, name);
      if (p && p->dnd)
        ims_tel_push_dnd (tel, p, g_str_equal (on, "1"));
    }
}

/* ---- people: her queue memberships paused while DND is on ---- */

typedef struct {
  ImsTelephony *tel;
  char *person;
  char *iface;
  gboolean on;
} QueueJob;

static void
ims_queue_job_free (QueueJob *j)
{
  g_free (j->person);
  g_free (j->iface);
  g_free (j);
}

/* One of her memberships (QueueStatus's QueueMember, ami-B13): paused with
 * reason dnd where it is not paused; unpaused where we paused it (reason
 * dnd), so a supervisor's pause stays. */
static void
on_queue_member (const ImsAmiMessage *m, gpointer data)
{
  QueueJob *j = data;
  const char *event = ims_ami_message_get (m, "Event");
  const char *queue = ims_ami_message_get (m, "Queue");
  const char *loc = ims_ami_message_get (m, "Location");
  const char *paused = ims_ami_message_get (m, "Paused");
  const char *reason = ims_ami_message_get (m, "PausedReason");
  if (g_strcmp0 (event, "QueueMember") != 0 || queue == NULL || paused == NULL
      || g_strcmp0 (loc, j->iface) != 0)
    return;
  gboolean is_paused = g_str_equal (paused, "1");
  gboolean ours = is_paused && g_strcmp0 (reason, IMS_DND_PAUSE_REASON) == 0;
  if (j->on == is_paused || (!j->on && !ours))
    return;
  const char *h[] = { "Interface", j->iface, "Queue", queue, "Paused", j->on ? "true" : "false",
                      j->on ? "Reason" : NULL, IMS_DND_PAUSE_REASON, NULL };
  g_autoptr (GError) err = NULL;
  if (!ims_ami_client_send (j->tel->ami, "QueuePause", h, NULL, NULL, NULL, &err))
    g_info ("%s: queue %s: %s", j->person, queue, err->message);
  else
    g_message ("%s: %s in queue %s (do not disturb %s)", j->person,
               j->on ? "paused" : "unpaused", queue, j->on ? "on" : "off");
}

static void
on_queue_done (const ImsAmiMessage *m, gpointer data)
{
  (void) m;
  ims_queue_job_free (data);
}

/* Brings @p's queue memberships in line with her DND (AMI up). */
static void
ims_tel_queue_apply (ImsTelephony *tel, const ImsPerson *p, gboolean on)
{
  if (p->queuemember == NULL || tel->ami == NULL || ims_ami_client_state (tel->ami) != IMS_AMI_UP)
    return;
  QueueJob *j = g_new0 (QueueJob, 1);
  j->tel = tel;
  j->person = g_strdup (p->name);
  j->iface = g_strdup (p->queuemember);
  j->on = on;
  const char *h[] = { "Member", p->queuemember, NULL };
  g_autoptr (GError) err = NULL;
  if (!ims_ami_client_send_list (tel->ami, "QueueStatus", h, "QueueStatusComplete",
                                 on_queue_member, on_queue_done, j, &err))
    {
      g_info ("%s: queue status: %s", p->name, err->message);
      ims_queue_job_free (j);
    }
}

void
ims_telephony_apply_dnd (ImsTelephony *tel, const ImsPerson *p, gboolean on, ImsDndSource source)
{
  /* The device said it: it is already so. */
  if (p->dnd && source != IMS_DND_FROM_DEVICE)
    ims_tel_push_dnd (tel, p, on);
  ims_tel_queue_apply (tel, p, on);
  /* Her phone, where a component publishes it, shows it. */
  const char *at = p->extension ? strchr (p->extension, '@') : NULL;
  if (at)
    {
      g_autofree char *key = g_strdup_printf ("%s\037%.*s", at + 1, (int) (at - p->extension),
                                              p->extension);
      Hint *h = g_hash_table_lookup (tel->hints, key);
      if (h && h->state)
        ims_tel_hint_tell (tel, h);
    }
}

void
ims_tel_people_up (ImsTelephony *tel)
{
  ims_tel_push_pending (tel);
  /* A static member loses its pause when Asterisk restarts: applied again
   * (nothing is sent for a membership already as it should be). */
  for (guint i = 0; tel->people && tel->config->people && i < tel->config->people->len; i++)
    {
      const ImsPerson *p = tel->config->people->pdata[i];
      ims_tel_queue_apply (tel, p, ims_people_dnd (tel->people, p->name));
    }
}


void
on_tel_hint_presence (const char *presentity, const char *status, const char *message, gpointer data)
{
  ImsTelephony *tel = data;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, tel->hints);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Hint *h = v;
      if (h->presentity == NULL || g_ascii_strcasecmp (h->presentity, presentity) != 0
          || (g_strcmp0 (h->presence, status) == 0 && g_strcmp0 (h->message, message) == 0))
        continue;
      g_free (h->presence);
      g_free (h->message);
      h->presence = g_ascii_strdown (status, -1);
      h->message = g_strdup (message);
      if (h->state)
        ims_tel_hint_tell (tel, h);
    }
}

void
ims_tel_people_device (ImsTelephony *tel, const char *device, const char *state)
{
  if (tel->people == NULL)
    return;
  /* A DND set while AMI was down is newer than what Asterisk lists now. */
  for (const GSList *l = ims_people_with_device (tel->people, device); l; l = l->next)
    if (g_hash_table_contains (tel->dnd_pending, ((const ImsPerson *) l->data)->name))
      return;
  ims_people_device (tel->people, device, state);
}
