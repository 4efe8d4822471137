/* ims-oscar: the native AIM driver (OSCAR: FLAP/SNAC, BUCP MD5 login, BOS). */
#pragma once

#include "ims-driver.h"

G_BEGIN_DECLS

ImsDriver *ims_oscar_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error);

G_END_DECLS
