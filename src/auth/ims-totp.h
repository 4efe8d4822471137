/* ims-totp: one-time dial codes for networks where a fixed secret would be
 * read off the wire (RFC 6238 TOTP: HMAC-SHA1, 30-second steps, 6 digits,
 * what every authenticator app makes).  liboath does the arithmetic; this
 * adds the rules: a little clock skew, and each code accepted once.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IMS_TOTP_STEP_S 30
#define IMS_TOTP_DIGITS 6
#define IMS_TOTP_WINDOW 1    /* steps either side of now accepted (clock skew) */
#define IMS_TOTP_MIN_BYTES 10 /* 80 bits of secret at least (RFC 4226 asks 128, allows 80) */

/* Is @base32 (spaces and lower case allowed, as apps show it) a usable
 * secret?  FALSE + *why otherwise. */
gboolean ims_totp_secret_ok (const char *base32, char **why);

/* Is @code the code of @base32 for a step within IMS_TOTP_WINDOW of @now
 * (unix seconds), and later than *@last_step?  Then TRUE and *@last_step is
 * that step, so the same code (or an older one) is never accepted again. */
gboolean ims_totp_accept (const char *base32, const char *code, gint64 now, guint64 *last_step);

G_END_DECLS
