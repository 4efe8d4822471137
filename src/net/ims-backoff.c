/* ims-backoff: exponential reconnect delay with jitter. */
#include "ims-backoff.h"

#include "ims-vocab.h"

guint
ims_backoff_next_ms (ImsBackoff *b)
{
  b->ms = (guint) ims_vocab_backoff_next_ms ((int) b->ms);
  return b->ms * 3 / 4 + g_random_int_range (0, b->ms / 2 + 1);
}

void
ims_backoff_reset (ImsBackoff *b)
{
  b->ms = 0;
}
