/* ims-purple: the libpurple IM driver.  The only place a libpurple type is
 * seen.  libpurple is process-global, so there is at most one.
 */
#pragma once

#include "ims-adapter.h"

G_BEGIN_DECLS

#define IMS_PURPLE_ERROR (ims_purple_error_quark ())
GQuark ims_purple_error_quark (void);

typedef enum {
  IMS_PURPLE_ERROR_INIT,
  IMS_PURPLE_ERROR_NOPEER,
  IMS_PURPLE_ERROR_NOTCONNECTED,
  IMS_PURPLE_ERROR_SEND,
} ImsPurpleError;

/* Starts libpurple with its files in @statedir/purple (0700).  @config gives
 * the CA files and directories to trust (they must be known before
 * libpurple starts).  @on_message gets every IM received. */
ImsAdapter *ims_purple_new (ImsPresenceStore *store, const ImsConfig *config,
                            ImsMessageFunc on_message, gpointer user_data, GError **error);

/* Redacts SASL data, passwords and the given secrets from a protocol trace
 * (transfer full).  Exposed for tests. */
char *ims_purple_redact (const char *text, GPtrArray *secrets);

G_END_DECLS
