/* ims-component: the XMPP component driver (XEP-0114 + XEP-0356): every
 * user of a domain as a buddy, without a robot account or roster items. */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

extern const ImsNetwork ims_component_network;

G_END_DECLS
