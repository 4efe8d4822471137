/* ims-msnp: the native MSN driver (MSNP18: SSO login, ADL, switchboards). */
#pragma once

#include "ims-driver.h"

G_BEGIN_DECLS

ImsDriver *ims_msnp_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error);

G_END_DECLS
