/* ims-rate: sliding-window counters per key, for the rate limits (click-to-
 * dial requests, IMs per sender, failed HTTP logins). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* key -> its recent events (transfer full). */
GHashTable *ims_rate_table_new (void);
/* Events of @key in the last @seconds, after recording one now when @add. */
guint ims_rate_count (GHashTable *table, const char *key, guint seconds, gboolean add);
/* Records an event of @key unless @max happened in the last @seconds;
 * FALSE when refused. */
gboolean ims_rate_allow (GHashTable *table, const char *key, guint max, guint seconds);

G_END_DECLS
