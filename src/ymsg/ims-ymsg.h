/* ims-ymsg: the native Yahoo! driver (YMSG10, v1 challenge login). */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

extern const ImsNetwork ims_ymsg_network;

G_END_DECLS
