/* ims-backoff: the reconnect delay every connection of the daemon uses (IM
 * peers in the core, the AMI client; app_imstatus.so to the daemon): the
 * shared vocabulary's 1 s doubling to 60 s, with +-25 % jitter so many
 * peers that lost one server do not all return in step.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint ms; /* the last step before jitter; 0 = none yet */
} ImsBackoff;

/* The next delay in milliseconds (and one step further). */
guint ims_backoff_next_ms (ImsBackoff *backoff);
/* After a successful login: the next failure starts from the minimum. */
void ims_backoff_reset (ImsBackoff *backoff);

G_END_DECLS
