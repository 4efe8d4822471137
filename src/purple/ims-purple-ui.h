/* ims-purple-ui: libpurple's UI ops (event loop, debug, requests) for a
 * daemon: nothing is ever asked of a person, so every request fails closed.
 */
#pragma once

#include <glib.h>
#include <purple.h>

G_BEGIN_DECLS

typedef struct {
  int debug;          /* 0 off, 1 protocol events, 2 raw traffic */
  GPtrArray *secrets; /* char*, redacted from every trace */
} ImsPurpleUi;

/* Before purple_core_init(); @ui stays the driver's until uninstall. */
void ims_purple_ui_install (ImsPurpleUi *ui);
void ims_purple_ui_uninstall (void);

/* Redacts SASL data, passwords and @secrets from a protocol trace
 * (transfer full).  Exposed for tests. */
char *ims_purple_redact (const char *text, GPtrArray *secrets);

G_END_DECLS
