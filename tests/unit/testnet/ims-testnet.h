/* ims-testnet: a network that exists only in the tests, to show that a new
 * network is one folder (this one) plus one registry row: nothing in config,
 * core or the daemon names it. */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

extern const ImsNetwork ims_testnet_network;
/* What the driver was asked, one line per call ("start t robot"). */
GPtrArray *ims_testnet_calls (void);

G_END_DECLS
