/* ims-purple: the libpurple driver (XMPP, IRC, SIMPLE and every other
 * libpurple protocol).  libpurple is process-global, so there is at most one.
 */
#pragma once

#include "ims-driver.h"

G_BEGIN_DECLS

#define IMS_PURPLE_ERROR (ims_purple_error_quark ())
GQuark ims_purple_error_quark (void);

typedef enum {
  IMS_PURPLE_ERROR_INIT,
  IMS_PURPLE_ERROR_NOTCONNECTED,
  IMS_PURPLE_ERROR_SEND,
} ImsPurpleError;

/* Starts libpurple with its files in statedir/purple (0700), trusting the
 * accounts' CA files and directories (they must be known before libpurple
 * starts). */
ImsDriver *ims_purple_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error);

G_END_DECLS
