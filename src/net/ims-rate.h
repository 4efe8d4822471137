/* ims-rate: sliding-window counters per key, for the rate limits (click-to-
 * dial requests, IMs per sender, failed HTTP logins).  A key whose window
 * has passed is forgotten, so a flood of distinct keys (every sender a
 * stranger) costs memory only while its events are recent. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ImsRate ImsRate;

/* Counters over the last @seconds. */
ImsRate *ims_rate_new (guint seconds);
void ims_rate_free (ImsRate *rate);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsRate, ims_rate_free)
/* Events of @key in the window, after recording one now when @add. */
guint ims_rate_count (ImsRate *rate, const char *key, gboolean add);
/* Records an event of @key unless @max happened in the window; FALSE when
 * refused. */
gboolean ims_rate_allow (ImsRate *rate, const char *key, guint max);
/* Keys remembered now (for tests). */
guint ims_rate_keys (ImsRate *rate);
/* For tests: a clock in monotonic microseconds (NULL: the real one). */
void ims_rate_set_clock (ImsRate *rate, gint64 (*now) (void));

G_END_DECLS
