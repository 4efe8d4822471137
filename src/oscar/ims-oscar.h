/* ims-oscar: the native AIM driver (OSCAR: FLAP/SNAC, BUCP MD5 login, BOS). */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

extern const ImsNetwork ims_oscar_network;

G_END_DECLS
