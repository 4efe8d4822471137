/* A fake host for one driver (the driver contract's host table, no core):
 * every report becomes a line ("logged_in y", "presence y buddy away"), and
 * every question answers yes.  For the driver state-machine tests. */
#pragma once

#include <stdarg.h>

#include "ims-driver.h"

typedef struct {
  GPtrArray *calls; /* "logged_in y", "presence y recyf away", ... */
} Host;

static void host_call (ImsCore *core, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
host_call (ImsCore *core, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_ptr_array_add (((Host *) core)->calls, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

static void
host_logged_in (ImsCore *c, const char *peer)
{
  host_call (c, "logged_in %s", peer);
}

static void
host_disconnected (ImsCore *c, const char *peer, const char *reason, gboolean fatal)
{
  host_call (c, "disconnected %s %s", peer, reason);
}

static void
host_roster (ImsCore *c, const char *peer, GHashTable *items)
{
  host_call (c, "roster %s %u", peer, items ? g_hash_table_size (items) : 0);
}

static void
host_subscription (ImsCore *c, const char *peer, const char *buddy, ImsSubscription sub)
{
  host_call (c, "subscription %s %s", peer, buddy);
}

static void
host_presence (ImsCore *c, const char *peer, const char *buddy, const char *resource,
               const ImsResourcePresence *p)
{
  host_call (c, "presence %s %s %s %s", peer, buddy, p ? p->word : "offline",
             p && p->text ? p->text : "");
}

static gboolean
host_yes (ImsCore *c, const char *peer, const char *id)
{
  return TRUE;
}

static void
host_log_stranger (ImsCore *c, const char *peer, const char *what, const char *from)
{
  host_call (c, "stranger %s %s", peer, what);
}

static void
host_message (ImsCore *c, const char *peer, const char *from, const char *text)
{
  host_call (c, "message %s %s", peer, from);
}

static const ImsDriverHost fake_host = {
  .logged_in = host_logged_in, .disconnected = host_disconnected, .roster = host_roster,
  .subscription = host_subscription, .presence = host_presence, .authorize = host_yes,
  .watches = host_yes, .accepts = host_yes, .log_stranger = host_log_stranger,
  .message = host_message,
};

static gboolean
host_got (Host *h, const char *prefix)
{
  for (guint i = 0; i < h->calls->len; i++)
    if (g_str_has_prefix (h->calls->pdata[i], prefix))
      return TRUE;
  return FALSE;
}

