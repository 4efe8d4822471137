/* ims-ymsg: the native Yahoo! driver (YMSG10, v1 challenge login). */
#pragma once

#include "ims-driver.h"

G_BEGIN_DECLS

ImsDriver *ims_ymsg_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error);

G_END_DECLS
