/* ims-registry: the one list of networks this build serves.  A new network
 * is a folder under src/ with its descriptor, and one row here. */
#pragma once

#include "ims-network.h"

G_BEGIN_DECLS

/* The descriptors in routing order, NULL-terminated: named networks first,
 * the catch-all (libpurple's other protocols) last. */
const ImsNetwork *const *ims_registry_networks (void);

G_END_DECLS
