/* libFuzzer harness for the im.conf lexer and key table. */
#include "ims-config.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *err = NULL;
  /* #include is resolved relative to this (nonexistent) directory. */

#include "ims-registry.h"
#define NETS ims_registry_networks ()
  ims_config_lex ("/nonexistent/fuzz.conf", (const char *) data, size, &err);
  g_clear_error (&err);
  ImsConfig *c = ims_config_parse ("/nonexistent/fuzz.conf", (const char *) data, size, NETS, &err);
  ims_config_free (c);
  g_clear_error (&err);
  return 0;
}
