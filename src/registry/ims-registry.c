/* ims-registry: see the header. */
#include "ims-registry.h"

#include "ims-component.h"
#include "ims-msnp.h"
#include "ims-oscar.h"
#include "ims-purple.h"
#include "ims-ymsg.h"

static const ImsNetwork *const ims_registry[] = {
  &ims_oscar_network,
  &ims_ymsg_network,
  &ims_msnp_network,
  &ims_component_network,
  &ims_xmpp_network,
  &ims_purple_network, /* types == NULL: whatever no row above claims */
  NULL,
};

const ImsNetwork *const *
ims_registry_networks (void)
{
  return ims_registry;
}
