/* ims-backoff: exponential reconnect delay with jitter. */
#include "ims-backoff.h"

guint
ims_backoff_next_ms (ImsBackoff *b)
{
  b->seconds = b->seconds ? MIN (b->seconds * 2, IMS_BACKOFF_MAX_S) : IMS_BACKOFF_MIN_S;
  guint ms = b->seconds * 1000;
  return ms * 3 / 4 + g_random_int_range (0, ms / 2 + 1);
}

void
ims_backoff_reset (ImsBackoff *b)
{
  b->seconds = 0;
}
