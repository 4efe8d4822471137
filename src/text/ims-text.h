/* ims-text: the safe rendering of untrusted text (status texts, ids,
 * resources, messages).  Pure functions, fuzzed by tests/fuzz/fuzz-text.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The safe rendering of untrusted text, applied to every status text as it
 * enters the store: invalid UTF-8 bytes become U+FFFD, control characters
 * (C0, DEL, C1, U+2028/2029) become one space each, and the result is cut to
 * at most @max_bytes at a character boundary. */
#define IMS_TEXT_MAX 1000
char *ims_text_safe (const char *text, gsize max_bytes);

/* Untrusted text for a log line: controls and invalid UTF-8 as \xNN, at
 * most @max bytes (transfer full). */
char *ims_text_for_log (const char *text, gsize max);

/* @text with every secret in @secrets (char*, may be NULL) replaced by
 * "********", both as written and as XML escapes it (&amp; &lt; &gt; &apos;
 * &quot;), so a secret is hidden in a protocol trace too (transfer full). */
char *ims_text_redact (const char *text, GPtrArray *secrets);

/* Compares a secret in constant time (no early exit on the first
 * difference): TRUE when equal. */
gboolean ims_text_secret_equal (const char *given, const char *secret);

/* The text of an HTML fragment as AIM clients send IMs and away messages:
 * tags dropped (<br> and </p> become a space), the character references
 * &lt; &gt; &amp; &quot; &apos; &nbsp; and &#N; / &#xN; decoded (one that
 * is no character, NUL or a surrogate, is dropped).  The result still needs ims_text_safe. */
char *ims_text_from_html (const char *html);
/* Can @id go on a protocol line as it is: 1..@max bytes of printable ASCII
 * and no space (Yahoo IDs, MSN addresses; anything else could smuggle a
 * separator, a CR/LF or a key into a command)? */
gboolean ims_text_plain_id (const char *id, gsize max);
/* @text cut into pieces of at most @max_bytes (>= 4) at character
 * boundaries, for networks that limit a message's size (transfer full:
 * a NULL-terminated array; one empty piece for an empty text). */
GStrv ims_text_chunks (const char *text, gsize max_bytes);
/* Pure helpers on status text, exposed for tests. */
char *ims_status_text_prefix (const char *text);
char *ims_status_text_uri (const char *text);

G_END_DECLS
