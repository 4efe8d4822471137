/* What the parts of app_imstatus.so share: the control-socket client
 * (im-client.c), the mirror of the daemon's presence (im-mirror.c), and the
 * applications, function, lamps, CLI and module life (app_imstatus.c).
 * Asterisk's own conventions (tabs, im_ names); GLib is not linked here.
 */
#ifndef IM_PRIVATE_H
#define IM_PRIVATE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "asterisk/devicestate.h"
#include "asterisk/presencestate.h"
#include "asterisk/strings.h"

#include "ims-vocab.h"

#define IM_MAX_LINE 65536
#define IM_IO_TIMEOUT_MS 10000
#define IM_CONNECT_TIMEOUT_MS 1000
#define IM_MAX_REPLY (16 * 1024 * 1024) /* a command's answer kept at most */

/* The answer fields: the IMStatus variables of the shared vocabulary, in its
 * order, then what only the mirror keeps. */
enum im_field {
	F_STATUS = IMS_VAR_STATUS, F_IDLE = IMS_VAR_IDLETIME, F_TEXT = IMS_VAR_STATUSTEXT,
	F_LASTSEEN = IMS_VAR_LASTSEEN, F_PREFIX = IMS_VAR_STATUSPREFIX, F_URI = IMS_VAR_STATUSURI,
	F_RESOURCE = IMS_VAR_RESOURCE, F_SHOW = IMS_VAR_SHOW, F_RESULT = IMS_VAR_RESULT,
	F_SUBSCRIPTION = IMS_VAR_COUNT, F_PHONE, F_DND,
	F_LAMP, /* the device state the daemon says lamps show (lampaway, lampdnd) */
	F_COUNT
};
#define im_variables ims_vocab_variables
#define IM_WORD(table, i) ims_vocab_##table[IMS_VOCAB_##i].word
#define IM_HELLO IMS_VOCAB_CONTROL_HELLO "1"
_Static_assert(IMS_VOCAB_CONTROL_VERSION == 1, "IM_HELLO names the version");

/* ---- the control socket (im-client.c) ---- */

/* Where the daemon listens, and the user it runs as (imstatus.conf's
 * controlsocket and daemonuser); set at load and reload. */
void im_socket_set (const char *path, uid_t owner);
void im_socket_get (char *buf, size_t len);
/* A connected socket, or -1 with errno. */
int im_connect (void);

/* A line reader on a blocking fd with a poll timeout (and the wake pipe). */
struct im_reader {
	int fd;
	char buf[IM_MAX_LINE + 1];
	size_t len;
};
/* The next line, without its LF, in @line (at most IM_MAX_LINE); 1 on a
 * line, 0 at EOF or error, -1 on timeout or wake-up (@wake_fd, -1 = none). */
int im_read_line (struct im_reader *r, char *line, int timeout_ms, int wake_fd);
int im_write_all (int fd, const char *data, size_t len);
/* One command over a fresh connection: its reply body in @out (the '%'
 * escaping undone); 0 on %end, 1 on %error (the body says why), -1 when the
 * daemon cannot be reached. */
int im_command (const char *command, struct ast_str **out);
/* The control protocol's raw text: C-escaped, UTF-8 kept. */
void im_escape (struct ast_str **out, const char *text);

/* ---- the mirror (im-mirror.c) ---- */

/* Containers and the watch thread: 0 on success. */
int im_mirror_start (void);
/* Stops the thread and forgets everything; @unload: free the containers. */
void im_mirror_stop (int unload);
/* The answer for peer/user into @f (strings owned by the caller); with
 * @peer NULL, for the person @user (F_PHONE, F_DND set too). */
void im_lookup (const char *peer, const char *user, char *f[F_COUNT]);
void im_fields_free (char *f[F_COUNT]);
/* Is there an answer worth waiting for (W(x))? */
int im_answer_pending (const char *peer);
/* The @state'th peer name starting with @word (for Tab), or NULL. */
char *im_complete_peer (const char *word, int state);
/* A lamp's device state: the daemon's word for it (@lamp, from im.conf's
 * lampaway and lampdnd), else the status word's row in the vocabulary. */
enum ast_device_state im_devstate_of (const char *status, const char *lamp);
enum ast_presence_state im_presence_of (const char *status, const char *show);

#endif
