/* ims-answer: what a lookup answers (ImsAnswer), its nine dialplan
 * variables, and the words of the store's enums, which are the vocabulary's
 * (src/vocab).  Pure: no store state.
 */
#define G_LOG_DOMAIN "ims-store"

#include "ims-presence-store.h"
#include "ims-vocab.h"

void
ims_answer_clear (ImsAnswer *a)
{
  g_clear_pointer (&a->text, g_free);
  g_clear_pointer (&a->prefix, g_free);
  g_clear_pointer (&a->uri, g_free);
  g_clear_pointer (&a->resource, g_free);
  g_clear_pointer (&a->show, g_free);
}

void
ims_answer_copy (ImsAnswer *dst, const ImsAnswer *src)
{
  *dst = *src;
  dst->text = g_strdup (src->text);
  dst->prefix = g_strdup (src->prefix);
  dst->uri = g_strdup (src->uri);
  dst->resource = g_strdup (src->resource);
  dst->show = g_strdup (src->show);
}

gboolean
ims_answer_equal (const ImsAnswer *a, const ImsAnswer *b)
{
  return a->status == b->status && a->result == b->result && a->idle_since == b->idle_since
         && a->lastseen_at == b->lastseen_at && a->subscription == b->subscription
         && g_strcmp0 (a->text, b->text) == 0 && g_strcmp0 (a->resource, b->resource) == 0
         && g_strcmp0 (a->show, b->show) == 0 && g_strcmp0 (a->lamp, b->lamp) == 0;
}

gboolean
ims_status_is_present (ImsStatus status)
{
  return status == IMS_STATUS_ONLINE || status == IMS_STATUS_IDLE || status == IMS_STATUS_AWAY
         || status == IMS_STATUS_BUSY;
}

gint64
ims_answer_lastseen_minutes (const ImsAnswer *a, gint64 now)
{
  if (ims_status_is_present (a->status) || a->lastseen_at == 0)
    return 0;
  return MAX (0, now - a->lastseen_at) / 60;
}

void
ims_answer_each_variable (const ImsAnswer *a, gint64 now, ImsVariableFunc func, gpointer data)
{
  char idle[24], seen[24];
  g_snprintf (idle, sizeof idle, "%" G_GINT64_FORMAT, a->idle_seconds);
  g_snprintf (seen, sizeof seen, "%" G_GINT64_FORMAT, ims_answer_lastseen_minutes (a, now));
  const char *values[IMS_VAR_COUNT] = {
    [IMS_VAR_STATUS] = ims_status_to_string (a->status),
    [IMS_VAR_IDLETIME] = idle,
    [IMS_VAR_STATUSTEXT] = a->text,
    [IMS_VAR_LASTSEEN] = seen,
    [IMS_VAR_STATUSPREFIX] = a->prefix,
    [IMS_VAR_STATUSURI] = a->uri,
    [IMS_VAR_RESOURCE] = a->resource,
    [IMS_VAR_SHOW] = a->show,
    [IMS_VAR_RESULT] = ims_result_to_string (a->result),
  };
  for (int i = 0; i < IMS_VAR_COUNT; i++)
    func (ims_vocab_variables[i], values[i], data);
}

void
ims_answer_fill (ImsAnswer *a, ImsStatus status, ImsResult result)
{
  memset (a, 0, sizeof *a);
  a->status = status;
  a->result = result;
  a->text = g_strdup ("");
  a->prefix = g_strdup ("");
  a->uri = g_strdup ("");
  a->resource = g_strdup ("");
  a->show = g_strdup ("");
  ims_answer_set_lamp (a, NULL);
}

void
ims_answer_set_lamp (ImsAnswer *a, const ImsLamps *lamps)
{
  ImsStatus s = a->status <= IMS_STATUS_ONLINE ? a->status : IMS_STATUS_UNKNOWN;
  a->lamp = ims_vocab_statuses[s].device;
  if (lamps && lamps->dnd && a->show && g_str_equal (a->show, "dnd"))
    a->lamp = lamps->dnd;
  else if (lamps && lamps->away && s == IMS_STATUS_AWAY)
    a->lamp = lamps->away;
}

/* The words are the shared vocabulary's (ims-vocab.h), indexed by these enums. */
G_STATIC_ASSERT (G_N_ELEMENTS (ims_vocab_statuses) == IMS_STATUS_ONLINE + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (ims_vocab_results) == IMS_RESULT_TIMEOUT + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (ims_vocab_peer_states) == IMS_PEER_UNSUPPORTED + 1);
#define SAME(a, b) G_STATIC_ASSERT ((int) (a) == (int) (b))
SAME (IMS_RESULT_OK, IMS_VOCAB_OK);
SAME (IMS_RESULT_NOTSUBSCRIBED, IMS_VOCAB_NOTSUBSCRIBED);
SAME (IMS_RESULT_PENDING, IMS_VOCAB_PENDING);
SAME (IMS_RESULT_NOPEER, IMS_VOCAB_NOPEER);
SAME (IMS_RESULT_NOTCONNECTED, IMS_VOCAB_NOTCONNECTED);
SAME (IMS_RESULT_BADARGS, IMS_VOCAB_BADARGS);
SAME (IMS_RESULT_TIMEOUT, IMS_VOCAB_TIMEOUT);
SAME (IMS_PEER_REGISTERED, IMS_VOCAB_PEER_REGISTERED);
#undef SAME

const char *
ims_status_to_string (ImsStatus v)
{
  return ims_vocab_statuses[v <= IMS_STATUS_ONLINE ? v : IMS_STATUS_UNKNOWN].word;
}

const char *
ims_result_to_string (ImsResult v)
{
  return ims_vocab_results[v <= IMS_RESULT_TIMEOUT ? v : IMS_RESULT_BADARGS].word;
}

const char *
ims_peer_state_to_string (ImsPeerState v)
{
  return ims_vocab_peer_states[v <= IMS_PEER_UNSUPPORTED ? v : IMS_PEER_FAILED];
}

const char *
ims_subscription_to_string (ImsSubscription v)
{
  static const char *const names[] = { "none", "pending", "both" };
  return v < G_N_ELEMENTS (names) ? names[v] : "none";
}

const char *
ims_show_to_string (ImsShow v)
{
  static const char *const names[] = { "available", "chat", "away", "xa", "dnd", "phone" };
  return v < G_N_ELEMENTS (names) ? names[v] : "available";
}
