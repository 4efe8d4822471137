/* ims-msnp: the native MSN driver (MSNP18: SSO login, ADL, switchboards). */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

extern const ImsNetwork ims_msnp_network;

G_END_DECLS
