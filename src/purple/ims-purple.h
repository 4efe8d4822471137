/* ims-purple: the libpurple driver (XMPP, IRC, SIMPLE and every other
 * libpurple protocol).  libpurple is process-global, so there is at most one.
 */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

#define IMS_PURPLE_ERROR (ims_purple_error_quark ())
GQuark ims_purple_error_quark (void);

typedef enum {
  IMS_PURPLE_ERROR_INIT,
  IMS_PURPLE_ERROR_NOTCONNECTED,
  IMS_PURPLE_ERROR_SEND,
} ImsPurpleError;

/* XMPP, and every other libpurple protocol: two networks, one driver.  Its
 * constructor starts libpurple with its files in statedir/purple (0700),
 * trusting the accounts' CA files and directories (they must be known
 * before libpurple starts). */
extern const ImsNetwork ims_xmpp_network;
extern const ImsNetwork ims_purple_network;

G_END_DECLS
