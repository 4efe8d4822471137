/* app_imstatus: the seed's dialplan and CLI inside Asterisk, on top of
 * imstatusd.  IMStatus(), IMSend(), IM_STATUS(), "im show peers" and
 * friends, and IM:<peer>:<user> device and presence states for hints.
 *
 * One thread keeps one connection to the daemon's control socket (read from
 * im.conf's [general] controlsocket with Asterisk's own config loader), sends
 * `watch`, and mirrors the snapshot and every change it streams.  IMStatus
 * and the state providers answer from that mirror under a read lock: no I/O
 * per call.  IMSend and the CLI open their own short connection.  While the
 * daemon is away every answer is unknown / NOTCONNECTED and the thread
 * reconnects with backoff.  Links only Asterisk and libc.
 */

#include "asterisk.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "asterisk/app.h"
#include "asterisk/channel.h"
#include "asterisk/chanvars.h"
#include "asterisk/cli.h"
#include "asterisk/config.h"
#include "asterisk/devicestate.h"
#include "asterisk/json.h"
#include "asterisk/linkedlists.h"
#include "asterisk/lock.h"
#include "asterisk/module.h"
#include "asterisk/pbx.h"
#include "asterisk/presencestate.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"
#include "asterisk/xmldoc.h"

#include "ims-vocab.h"

#define IM_CONF "im.conf"
#define IM_MAX_LINE 65536
#define IM_IO_TIMEOUT_MS 10000
#define IM_WAIT_MAX_MS 60000

/* The answer fields: the IMStatus variables of the shared vocabulary, in its
 * order, then what only the mirror keeps. */
enum im_field {
	F_STATUS = IMS_VAR_STATUS, F_IDLE = IMS_VAR_IDLETIME, F_TEXT = IMS_VAR_STATUSTEXT,
	F_LASTSEEN = IMS_VAR_LASTSEEN, F_PREFIX = IMS_VAR_STATUSPREFIX, F_URI = IMS_VAR_STATUSURI,
	F_RESOURCE = IMS_VAR_RESOURCE, F_SHOW = IMS_VAR_SHOW, F_RESULT = IMS_VAR_RESULT,
	F_SUBSCRIPTION = IMS_VAR_COUNT, F_COUNT
};
static const char *const im_json_keys[F_COUNT] = {
	"status", "idle", "text", "lastseen", "prefix", "uri", "resource", "show", "result",
	"subscription",
};
#define im_variables ims_vocab_variables
#define IM_WORD(table, i) ims_vocab_##table[IMS_VOCAB_##i].word
#define IM_HELLO IMS_VOCAB_CONTROL_HELLO "1"
_Static_assert(IMS_VOCAB_CONTROL_VERSION == 1, "IM_HELLO names the version");

struct im_buddy {
	char *peer;
	char *name; /* as the dialplan writes it: "buckaroo" */
	char *id;   /* the full id: "buckaroo@example.org" */
	char *f[F_COUNT];
	AST_LIST_ENTRY(im_buddy) list;
};

struct im_peer {
	char *name;
	char *user;
	char *status;
	AST_LIST_ENTRY(im_peer) list;
};

/* The mirror: written by the watch thread, read by everything else. */
static AST_RWLIST_HEAD_STATIC(im_buddies, im_buddy);
static AST_RWLIST_HEAD_STATIC(im_peers, im_peer);
static int im_connected; /* the watch stream is up and synced; under the peers lock */

static char im_socket_path[PATH_MAX];
static ast_mutex_t im_config_lock = AST_MUTEX_INIT_VALUE;
static pthread_t im_thread = AST_PTHREADT_NULL;
static int im_wake[2] = { -1, -1 }; /* a byte here ends the thread's waits */
static volatile int im_stopping;

/* ---- the control socket ---- */

static void im_socket_get (char *buf, size_t len)
{
	ast_mutex_lock(&im_config_lock);
	ast_copy_string(buf, im_socket_path, len);
	ast_mutex_unlock(&im_config_lock);
}

static int im_connect (void)
{
	char path[PATH_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	im_socket_get(path, sizeof(path));
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A line reader on a blocking fd with a poll timeout (and the wake pipe). */
struct im_reader {
	int fd;
	char buf[IM_MAX_LINE + 1];
	size_t len;
};

/* The next line, without its LF, in @line (at most IM_MAX_LINE); 1 on a
 * line, 0 at EOF or error, -1 on timeout or wake-up. */
static int im_read_line (struct im_reader *r, char *line, int timeout_ms, int use_wake)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = nl - r->buf;
			memcpy(line, r->buf, n);
			line[n] = '\0';
			memmove(r->buf, nl + 1, r->len - n - 1);
			r->len -= n + 1;
			return 1;
		}
		if (r->len >= IM_MAX_LINE) {
			return 0; /* a line this long is not the daemon talking */
		}
		struct pollfd p[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = im_wake[0], .events = POLLIN } };
		int rc = poll(p, use_wake ? 2 : 1, timeout_ms);
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc <= 0 || (use_wake && (p[1].revents & POLLIN))) {
			return -1;
		}
		ssize_t got = read(r->fd, r->buf + r->len, IM_MAX_LINE - r->len);
		if (got <= 0) {
			return 0;
		}
		r->len += got;
	}
}

static int im_write_all (int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* One command over a fresh connection: its reply body in @out (the '%'
 * escaping undone); 0 on %end, 1 on %error (the body says why), -1 when the
 * daemon cannot be reached. */
static int im_command (const char *command, struct ast_str **out)
{
	int fd = im_connect();
	int result = -1;
	struct im_reader *r;
	char *line;

	if (fd < 0) {
		ast_str_set(out, 0, "imstatusd is not reachable: %s", strerror(errno));
		return -1;
	}
	r = ast_calloc(1, sizeof(*r));
	line = ast_malloc(IM_MAX_LINE + 1);
	if (!r || !line) {
		goto done;
	}
	r->fd = fd;
	if (im_read_line(r, line, IM_IO_TIMEOUT_MS, 0) != 1 || strcmp(line, IM_HELLO)) {
		ast_str_set(out, 0, "the control socket does not speak the imstatusd protocol");
		goto done;
	}
	if (im_write_all(fd, command, strlen(command)) || im_write_all(fd, "\n", 1)) {
		ast_str_set(out, 0, "cannot write to imstatusd");
		goto done;
	}
	ast_str_reset(*out);
	int begun = 0;
	while (im_read_line(r, line, IM_IO_TIMEOUT_MS, 0) == 1) {
		if (!begun) {
			begun = !strncmp(line, IMS_VOCAB_CONTROL_BEGIN, strlen(IMS_VOCAB_CONTROL_BEGIN));
			continue;
		}
		if (!strncmp(line, IMS_VOCAB_CONTROL_END, strlen(IMS_VOCAB_CONTROL_END))
			|| !strncmp(line, IMS_VOCAB_CONTROL_ERROR, strlen(IMS_VOCAB_CONTROL_ERROR))) {
			result = !strncmp(line, IMS_VOCAB_CONTROL_END, strlen(IMS_VOCAB_CONTROL_END)) ? 0 : 1;
			break;
		}
		ast_str_append(out, 0, "%s\n", line[0] == '%' ? line + 1 : line);
	}
	if (result < 0) {
		ast_str_set(out, 0, "imstatusd closed the connection");
	}
done:
	ast_free(line);
	ast_free(r);
	close(fd);
	return result;
}

/* ---- the mirror ---- */

static void im_buddy_free (struct im_buddy *b)
{
	int i;
	ast_free(b->peer);
	ast_free(b->name);
	ast_free(b->id);
	for (i = 0; i < F_COUNT; i++) {
		ast_free(b->f[i]);
	}
	ast_free(b);
}

static void im_peer_free (struct im_peer *p)
{
	ast_free(p->name);
	ast_free(p->user);
	ast_free(p->status);
	ast_free(p);
}

static char *im_json_text (struct ast_json *obj, const char *key)
{
	struct ast_json *v = ast_json_object_get(obj, key);
	char buf[32];
	if (!v) {
		return ast_strdup("");
	}
	switch (ast_json_typeof(v)) {
	case AST_JSON_STRING:
		return ast_strdup(ast_json_string_get(v));
	case AST_JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%jd", ast_json_integer_get(v));
		return ast_strdup(buf);
	default:
		return ast_strdup("");
	}
}

/* A status word's lamp, from the shared vocabulary (the daemon's AMI hints
 * use the same row). */
static enum ast_device_state im_devstate_of (const char *status)
{
	const struct ims_vocab_status *v = ims_vocab_status_of(status);
	return v ? ast_devstate_val(v->device) : AST_DEVICE_UNKNOWN;
}

static enum ast_presence_state im_presence_of (const char *status, const char *show)
{
	const struct ims_vocab_status *v = ims_vocab_status_of(status);
	return v ? ast_presence_state_val(ims_vocab_presence_of(v, show)) : AST_PRESENCE_NOT_SET;
}

/* Tells Asterisk's state cache, so hints and their subscribers follow. */
static void im_publish (const char *peer, const char *name, const char *status, const char *show,
	const char *text)
{
	ast_devstate_changed(im_devstate_of(status), AST_DEVSTATE_CACHABLE, "IM:%s:%s", peer, name);
	ast_presence_state_changed(im_presence_of(status, show), show, text, "IM:%s:%s", peer, name);
}

static void im_on_buddy (struct ast_json *obj)
{
	struct im_buddy *b = ast_calloc(1, sizeof(*b)), *old;
	int i;

	if (!b) {
		return;
	}
	b->peer = im_json_text(obj, "peer");
	b->name = im_json_text(obj, "name");
	b->id = im_json_text(obj, "id");
	for (i = 0; i < F_COUNT; i++) {
		b->f[i] = im_json_text(obj, im_json_keys[i]);
	}
	if (!b->peer || !b->name || !b->id || !*b->peer || !*b->id) {
		im_buddy_free(b);
		return;
	}
	AST_RWLIST_WRLOCK(&im_buddies);
	AST_RWLIST_TRAVERSE_SAFE_BEGIN(&im_buddies, old, list) {
		if (!strcmp(old->peer, b->peer) && !strcmp(old->id, b->id)) {
			AST_RWLIST_REMOVE_CURRENT(list);
			im_buddy_free(old);
			break;
		}
	}
	AST_RWLIST_TRAVERSE_SAFE_END;
	AST_RWLIST_INSERT_TAIL(&im_buddies, b, list);
	AST_RWLIST_UNLOCK(&im_buddies);
	im_publish(b->peer, b->name, b->f[F_STATUS], b->f[F_SHOW], b->f[F_TEXT]);
}

static void im_on_peer (struct ast_json *obj, int removed)
{
	struct im_peer *p = ast_calloc(1, sizeof(*p)), *old;

	if (!p) {
		return;
	}
	p->name = im_json_text(obj, "name");
	p->user = im_json_text(obj, "user");
	p->status = im_json_text(obj, "status");
	AST_RWLIST_WRLOCK(&im_peers);
	AST_RWLIST_TRAVERSE_SAFE_BEGIN(&im_peers, old, list) {
		if (!strcmp(old->name, p->name)) {
			AST_RWLIST_REMOVE_CURRENT(list);
			im_peer_free(old);
			break;
		}
	}
	AST_RWLIST_TRAVERSE_SAFE_END;
	if (removed) {
		im_peer_free(p);
	} else {
		AST_RWLIST_INSERT_TAIL(&im_peers, p, list);
	}
	AST_RWLIST_UNLOCK(&im_peers);
}

/* Forgets everything: every IM: state goes back to unknown. */
static void im_mirror_clear (void)
{
	struct im_buddy *b;
	struct im_peer *p;

	AST_RWLIST_WRLOCK(&im_peers);
	im_connected = 0;
	while ((p = AST_RWLIST_REMOVE_HEAD(&im_peers, list))) {
		im_peer_free(p);
	}
	AST_RWLIST_UNLOCK(&im_peers);
	AST_RWLIST_WRLOCK(&im_buddies);
	while ((b = AST_RWLIST_REMOVE_HEAD(&im_buddies, list))) {
		if (!im_stopping) {
			im_publish(b->peer, b->name, IM_WORD(statuses, UNKNOWN), "", "");
		}
		im_buddy_free(b);
	}
	AST_RWLIST_UNLOCK(&im_buddies);
}

/* Is the notification @line (its first word @kind bytes long) "%<event>"? */
static int im_is_event (const char *line, size_t kind, const char *event)
{
	return line[0] == '%' && kind == 1 + strlen(event) && !strncmp(line + 1, event, kind - 1);
}

static void im_on_line (const char *line)
{
	const char *sp = strchr(line, ' ');
	struct ast_json *obj;
	size_t kind = sp ? (size_t) (sp - line) : strlen(line);

	if (im_is_event(line, kind, IMS_VOCAB_EVENT_SYNCED)) {
		AST_RWLIST_WRLOCK(&im_peers);
		im_connected = 1;
		AST_RWLIST_UNLOCK(&im_peers);
		return;
	}
	if (!sp || line[0] != '%') {
		return; /* a reply block's lines: not ours to mirror */
	}
	obj = ast_json_load_string(sp + 1, NULL);
	if (!obj || ast_json_typeof(obj) != AST_JSON_OBJECT) {
		ast_json_unref(obj);
		return;
	}
	if (im_is_event(line, kind, IMS_VOCAB_EVENT_BUDDY)) {
		im_on_buddy(obj);
	} else if (im_is_event(line, kind, IMS_VOCAB_EVENT_PEER)) {
		im_on_peer(obj, 0);
	} else if (im_is_event(line, kind, IMS_VOCAB_EVENT_PEER_REMOVED)) {
		im_on_peer(obj, 1);
	}
	ast_json_unref(obj);
}

/* Sleeps @ms unless woken (the module is going away). */
static void im_pause (int ms)
{
	struct pollfd p = { .fd = im_wake[0], .events = POLLIN };
	poll(&p, 1, ms);
}

/* The next wait before reconnecting: the daemon's backoff, jittered +-25 %. */
static int im_backoff (int *last_ms)
{
	*last_ms = ims_vocab_backoff_next_ms(*last_ms);
	return *last_ms * 3 / 4 + (int) (ast_random() % (*last_ms / 2 + 1));
}

static void *im_watch_thread (void *data)
{
	int backoff = 0;
	struct im_reader *r = ast_calloc(1, sizeof(*r));
	char *line = ast_malloc(IM_MAX_LINE + 1);

	while (r && line && !im_stopping) {
		int fd = im_connect();
		if (fd < 0) {
			im_pause(im_backoff(&backoff));
			continue;
		}
		r->fd = fd;
		r->len = 0;
		if (im_read_line(r, line, IM_IO_TIMEOUT_MS, 1) == 1 && !strcmp(line, IM_HELLO)
			&& !im_write_all(fd, "watch\n", 6)) {
			ast_verb(3, "app_imstatus: watching imstatusd\n");
			backoff = 0;
			for (;;) {
				int rc = im_read_line(r, line, -1, 1);
				if (rc != 1) {
					break;
				}
				im_on_line(line);
			}
			if (!im_stopping) {
				ast_log(LOG_WARNING, "app_imstatus: imstatusd went away; answering unknown "
					"until it is back\n");
			}
		}
		close(fd);
		im_mirror_clear();
		if (!im_stopping) {
			im_pause(im_backoff(&backoff));
		}
	}
	ast_free(line);
	ast_free(r);
	return NULL;
}

/* ---- answers ---- */

/* The answer for peer/user into @f (strings owned by the caller). */
static void im_lookup (const char *peer, const char *user, char *f[F_COUNT])
{
	struct im_peer *p;
	struct im_buddy *b;
	const char *result = NULL;
	const char *status = IM_WORD(statuses, UNKNOWN);
	int registered = 0;
	int i;

	for (i = 0; i < F_COUNT; i++) {
		f[i] = NULL;
	}
	AST_RWLIST_RDLOCK(&im_peers);
	if (!im_connected) {
		result = IM_WORD(results, NOTCONNECTED);
	} else {
		AST_RWLIST_TRAVERSE(&im_peers, p, list) {
			if (!strcmp(p->name, peer)) {
				break;
			}
		}
		if (!p) {
			result = IM_WORD(results, NOPEER);
		} else {
			registered = !strcmp(p->status, ims_vocab_peer_states[IMS_VOCAB_PEER_REGISTERED]);
			/* The peer's own username: online or offline by its login (the
			 * daemon's rule, from the shared vocabulary). */
			if (ims_vocab_names_own(user, p->user)) {
				result = IM_WORD(results, OK);
				status = registered ? IM_WORD(statuses, ONLINE) : IM_WORD(statuses, OFFLINE);
			}
		}
	}
	AST_RWLIST_UNLOCK(&im_peers);
	if (!result) {
		AST_RWLIST_RDLOCK(&im_buddies);
		AST_RWLIST_TRAVERSE(&im_buddies, b, list) {
			if (!strcmp(b->peer, peer) && (!strcasecmp(b->name, user) || !strcasecmp(b->id, user))) {
				for (i = 0; i < F_COUNT; i++) {
					f[i] = ast_strdup(b->f[i]);
				}
				break;
			}
		}
		AST_RWLIST_UNLOCK(&im_buddies);
		if (!b) {
			/* As the daemon: a peer that is down says so first. */
			result = registered ? IM_WORD(results, NOTSUBSCRIBED) : IM_WORD(results, NOTCONNECTED);
		}
	}
	if (result) {
		for (i = 0; i < F_COUNT; i++) {
			f[i] = ast_strdup(i == F_STATUS ? status : i == F_RESULT ? result
				: (i == F_IDLE || i == F_LASTSEEN) ? "0" : i == F_SUBSCRIPTION ? "none"
				: i == F_SHOW && !strcmp(status, IM_WORD(statuses, ONLINE)) ? "available" : "");
		}
	}
}

static void im_fields_free (char *f[F_COUNT])
{
	int i;
	for (i = 0; i < F_COUNT; i++) {
		ast_free(f[i]);
	}
}

static int im_result_is_error (const char *result)
{
	return ims_vocab_result_is_error(result);
}

/* Is there an answer worth waiting for (W(x))? */
static int im_answer_pending (const char *peer)
{
	struct im_peer *p;
	int pending = 1;

	AST_RWLIST_RDLOCK(&im_peers);
	if (im_connected) {
		AST_RWLIST_TRAVERSE(&im_peers, p, list) {
			if (!strcmp(p->name, peer)) {
				break;
			}
		}
		pending = p && !strcmp(p->status, "Connecting");
	}
	AST_RWLIST_UNLOCK(&im_peers);
	return pending;
}

/* Sets a channel variable as Set() does, without the VarSet event (AMI,
 * CEL, ARI) that pbx_builtin_setvar_helper publishes for each: nine of
 * those per call were most of IMStatus's cost (measured in make bench). */
static void im_setvar (struct ast_channel *chan, const char *name, const char *value)
{
	struct varshead *head;
	struct ast_var_t *v;

	ast_channel_lock(chan);
	head = ast_channel_varshead(chan);
	AST_LIST_TRAVERSE_SAFE_BEGIN(head, v, entries) {
		if (!strcmp(ast_var_name(v), name)) {
			AST_LIST_REMOVE_CURRENT(entries);
			ast_var_delete(v);
			break;
		}
	}
	AST_LIST_TRAVERSE_SAFE_END;
	v = ast_var_assign(name, value);
	if (v) {
		AST_LIST_INSERT_HEAD(head, v, entries);
	}
	ast_channel_unlock(chan);
}

/* "peer/user" -> peer, user (in @buf); 0 when malformed. */
static int im_split (char *buf, char **peer, char **user)
{
	char *slash = strchr(buf, '/');
	if (!slash || slash == buf || !slash[1]) {
		return 0;
	}
	*slash = '\0';
	*peer = buf;
	*user = slash + 1;
	return 1;
}

enum { OPT_GO_ON = 1 << 0, OPT_WAIT = 1 << 1 };
enum { OPT_ARG_WAIT, OPT_ARG_COUNT };
AST_APP_OPTIONS(im_options, {
	AST_APP_OPTION('g', OPT_GO_ON),
	AST_APP_OPTION_ARG('W', OPT_WAIT, OPT_ARG_WAIT),
});

static const char im_status_app[] = "IMStatus";
static const char im_status_synopsis[] = "Ask imstatusd whether an IM buddy is online";
static const char im_status_descrip[] =
	"  IMStatus(peer/user[,options]): looks up the IM presence of <user> as\n"
	"seen by the im.conf peer <peer>, from imstatusd, and sets:\n"
	"  IM-STATUS        online, idle, away, busy, offline or unknown\n"
	"  IM-IDLETIME      seconds idle (0 when not idle)\n"
	"  IM-STATUSTEXT    the status text (a safe rendering)\n"
	"  IM-LASTSEEN      minutes since last seen online (0: online now or never)\n"
	"  IM-STATUSPREFIX  the word before a leading 'word:' in the text, lowercased\n"
	"  IM-STATUSURI     the first sip:/sips:/tel:/iax2:/h323: URI in the text\n"
	"  IM-RESOURCE      which of the buddy's clients the answer describes\n"
	"  IM-SHOW          the network's own state word (available, away, xa, dnd...)\n"
	"  IM-RESULT        OK, NOTSUBSCRIBED, PENDING, NOPEER, NOTCONNECTED, BADARGS,\n"
	"                   TIMEOUT\n"
	"On NOPEER, NOTCONNECTED, BADARGS and TIMEOUT the dialplan continues at\n"
	"priority n+101 when it exists, else at n+1.  Options:\n"
	"  g     always continue at n+1\n"
	"  W(x)  while the peer is still logging in, wait up to x ms for the answer\n"
	"Answers come from an in-process mirror of imstatusd: no I/O per call.\n";

static int im_status_exec (struct ast_channel *chan, const char *data)
{
	char *parse = ast_strdupa(S_OR(data, ""));
	char *peer = NULL, *user = NULL;
	char *f[F_COUNT];
	char *opts[OPT_ARG_COUNT] = { NULL };
	struct ast_flags flags = { 0 };
	int i, bad = 0, timed_out = 0;
	AST_DECLARE_APP_ARGS(args, AST_APP_ARG(target); AST_APP_ARG(options););

	AST_STANDARD_APP_ARGS(args, parse);
	if (!args.target || !im_split(args.target, &peer, &user)) {
		bad = 1;
	}
	if (!ast_strlen_zero(args.options) && ast_app_parse_options(im_options, &flags, opts, args.options)) {
		bad = 1;
	}
	if (!bad && ast_test_flag(&flags, OPT_WAIT)) {
		int ms = 0;
		if (ast_strlen_zero(opts[OPT_ARG_WAIT]) || sscanf(opts[OPT_ARG_WAIT], "%d", &ms) != 1
			|| ms < 0 || ms > IM_WAIT_MAX_MS) {
			bad = 1;
		} else {
			struct timeval start = ast_tvnow();
			while (im_answer_pending(peer) && ast_tvdiff_ms(ast_tvnow(), start) < ms) {
				if (ast_safe_sleep(chan, 20)) {
					return -1; /* hung up */
				}
			}
			timed_out = im_answer_pending(peer);
		}
	}
	if (bad) {
		for (i = 0; i < F_COUNT; i++) {
			f[i] = ast_strdup(i == F_STATUS ? IM_WORD(statuses, UNKNOWN) : i == F_RESULT ? IM_WORD(results, BADARGS)
				: (i == F_IDLE || i == F_LASTSEEN) ? "0" : "");
		}
		ast_log(LOG_WARNING, "IMStatus: bad arguments (peer/user[,g][,W(ms)])\n");
	} else {
		im_lookup(peer, user, f);
		if (timed_out) {
			/* As FastAGI: the wait ran out before the answer was known. */
			ast_free(f[F_RESULT]);
			f[F_RESULT] = ast_strdup(IM_WORD(results, TIMEOUT));
		}
	}
	for (i = 0; i < F_SUBSCRIPTION; i++) {
		im_setvar(chan, im_variables[i], f[i]);
	}
	if (im_result_is_error(f[F_RESULT]) && !ast_test_flag(&flags, OPT_GO_ON)) {
		int target = ast_channel_priority(chan) + 101;
		ast_channel_lock(chan);
		int exists = ast_exists_extension(chan, ast_channel_context(chan), ast_channel_exten(chan),
			target, S_COR(ast_channel_caller(chan)->id.number.valid,
				ast_channel_caller(chan)->id.number.str, NULL));
		ast_channel_unlock(chan);
		if (exists) {
			ast_goto_if_exists(chan, NULL, NULL, target);
		}
	}
	im_fields_free(f);
	return 0;
}

/* The control protocol's raw text: C-escaped, UTF-8 kept. */
static void im_escape (struct ast_str **out, const char *text)
{
	const unsigned char *p;
	for (p = (const unsigned char *) text; *p; p++) {
		if (*p == '\\') {
			ast_str_append(out, 0, "\\\\");
		} else if (*p == '\n') {
			ast_str_append(out, 0, "\\n");
		} else if (*p < 0x20 || *p == 0x7f) {
			ast_str_append(out, 0, "\\%03o", *p);
		} else {
			ast_str_append(out, 0, "%c", *p);
		}
	}
}

static const char im_send_app[] = "IMSend";
static const char im_send_synopsis[] = "Send an instant message through imstatusd";
static const char im_send_descrip[] =
	"  IMSend(peer/user/text): sends <text> (everything after the second '/',\n"
	"commas and slashes kept as written) to <user> through the im.conf peer\n"
	"<peer>.  Sets IM-SENDSTATUS (SENT, QUEUED: kept in imstatusd's outbox while\n"
	"the peer is down, FAILED) and IM-RESULT.  Never jumps.\n";

static int im_send_exec (struct ast_channel *chan, const char *data)
{
	char *copy = ast_strdupa(S_OR(data, ""));
	char *peer = copy, *user, *text;
	struct ast_str *cmd = ast_str_create(256), *out = ast_str_create(256);
	const char *status = ims_vocab_send_statuses[IMS_SEND_FAILED];
	const char *result = IM_WORD(results, BADARGS);
	struct ast_json *reply = NULL;

	user = strchr(peer, '/');
	text = user ? strchr(user + 1, '/') : NULL;
	if (!cmd || !out) {
		goto done;
	}
	if (!user || user == peer || !text || text == user + 1 || !text[1]) {
		ast_log(LOG_WARNING, "IMSend: bad arguments (peer/user/text)\n");
		goto done;
	}
	*user++ = '\0';
	*text++ = '\0';
	ast_str_set(&cmd, 0, "--json send %s/%s ", peer, user);
	im_escape(&cmd, text);
	switch (im_command(ast_str_buffer(cmd), &out)) {
	case 0:
		reply = ast_json_load_string(ast_str_buffer(out), NULL);
		if (reply && ast_json_typeof(reply) == AST_JSON_OBJECT
			&& ast_json_object_get(reply, "sendstatus") && ast_json_object_get(reply, "result")) {
			status = ast_json_string_get(ast_json_object_get(reply, "sendstatus"));
			result = ast_json_string_get(ast_json_object_get(reply, "result"));
		}
		break;
	case 1:
		ast_log(LOG_WARNING, "IMSend: imstatusd refused: %s", ast_str_buffer(out));
		result = IM_WORD(results, NOTCONNECTED);
		break;
	default:
		ast_log(LOG_WARNING, "IMSend: %s\n", ast_str_buffer(out));
		result = IM_WORD(results, NOTCONNECTED);
		break;
	}
done:
	pbx_builtin_setvar_helper(chan, IMS_VOCAB_SENDSTATUS_VAR, status);
	pbx_builtin_setvar_helper(chan, ims_vocab_variables[IMS_VAR_RESULT], result);
	ast_json_unref(reply);
	ast_free(cmd);
	ast_free(out);
	return 0;
}

/* IM_STATUS(peer/user[,field]) */
static int im_status_read (struct ast_channel *chan, const char *cmd, char *data, char *buf, size_t len)
{
	static const struct { const char *name; enum im_field f; } fields[] = {
		{ "status", F_STATUS }, { "idletime", F_IDLE }, { "statustext", F_TEXT },
		{ "lastseen", F_LASTSEEN }, { "prefix", F_PREFIX }, { "uri", F_URI },
		{ "resource", F_RESOURCE }, { "show", F_SHOW }, { "result", F_RESULT },
	};
	char *peer, *user, *f[F_COUNT];
	enum im_field which = F_STATUS;
	size_t i;
	AST_DECLARE_APP_ARGS(args, AST_APP_ARG(target); AST_APP_ARG(field););

	AST_STANDARD_APP_ARGS(args, data);
	if (!args.target || !im_split(args.target, &peer, &user)) {
		ast_log(LOG_WARNING, "IM_STATUS: usage IM_STATUS(peer/user[,field])\n");
		return -1;
	}
	if (!ast_strlen_zero(args.field)) {
		for (i = 0; i < ARRAY_LEN(fields); i++) {
			if (!strcasecmp(args.field, fields[i].name)) {
				break;
			}
		}
		if (i == ARRAY_LEN(fields)) {
			ast_log(LOG_WARNING, "IM_STATUS: unknown field '%s'\n", args.field);
			return -1;
		}
		which = fields[i].f;
	}
	im_lookup(peer, user, f);
	ast_copy_string(buf, f[which], len);
	im_fields_free(f);
	return 0;
}

/* Documented in app_imstatus-en_US.xml (documentation/thirdparty). */
static struct ast_custom_function im_status_function = {
	.name = "IM_STATUS",
	.read = im_status_read,
};

/* ---- IM: device and presence states ---- */

/* "aim1:buckaroo" -> the buddy's status and show. */
static int im_state_of (const char *data, char **status, char **show, char **text)
{
	char *copy = ast_strdupa(data), *colon = strchr(copy, ':');
	char *f[F_COUNT];
	if (!colon) {
		return 0;
	}
	*colon = '\0';
	im_lookup(copy, colon + 1, f);
	*status = f[F_STATUS];
	*show = f[F_SHOW];
	*text = f[F_TEXT];
	f[F_STATUS] = f[F_SHOW] = f[F_TEXT] = NULL;
	im_fields_free(f);
	return 1;
}

static enum ast_device_state im_devstate_cb (const char *data)
{
	char *status, *show, *text;
	enum ast_device_state st;
	if (!im_state_of(data, &status, &show, &text)) {
		return AST_DEVICE_INVALID;
	}
	st = im_devstate_of(status);
	ast_free(status);
	ast_free(show);
	ast_free(text);
	return st;
}

static enum ast_presence_state im_presence_cb (const char *data, char **subtype, char **message)
{
	char *status, *show, *text;
	enum ast_presence_state st;
	if (!im_state_of(data, &status, &show, &text)) {
		return AST_PRESENCE_INVALID;
	}
	st = im_presence_of(status, show);
	*subtype = show;
	*message = text;
	ast_free(status);
	return st;
}

/* ---- CLI ---- */

static char *im_complete_peer (const char *word, int state)
{
	struct im_peer *p;
	int which = 0;
	char *ret = NULL;
	size_t len = strlen(word);

	AST_RWLIST_RDLOCK(&im_peers);
	AST_RWLIST_TRAVERSE(&im_peers, p, list) {
		if (!strncasecmp(word, p->name, len) && ++which > state) {
			ret = ast_strdup(p->name);
			break;
		}
	}
	AST_RWLIST_UNLOCK(&im_peers);
	return ret;
}

static char *im_cli_run (struct ast_cli_args *a, const char *command)
{
	struct ast_str *out = ast_str_create(1024);
	if (!out) {
		return CLI_FAILURE;
	}
	int rc = im_command(command, &out);
	ast_cli(a->fd, "%s%s", ast_str_buffer(out),
		ast_str_strlen(out) && ast_str_buffer(out)[ast_str_strlen(out) - 1] == '\n' ? "" : "\n");
	ast_free(out);
	return rc == 0 ? CLI_SUCCESS : CLI_FAILURE;
}

static char *im_cli_show_peers (struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	switch (cmd) {
	case CLI_INIT:
		e->command = "im show peers";
		e->usage = "Usage: im show peers\n       The IM peers of imstatusd and their login state.\n";
		return NULL;
	case CLI_GENERATE:
		return NULL;
	}
	if (a->argc != 3) {
		return CLI_SHOWUSAGE;
	}
	return im_cli_run(a, "show peers");
}

static char *im_cli_show_subscribed (struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	char command[512];
	switch (cmd) {
	case CLI_INIT:
		e->command = "im show subscribed";
		e->usage = "Usage: im show subscribed [peer[|user]]\n"
			"       The buddies every peer (or one) watches, with their presence.\n";
		return NULL;
	case CLI_GENERATE:
		return a->pos == 3 ? im_complete_peer(a->word, a->n) : NULL;
	}
	if (a->argc > 4) {
		return CLI_SHOWUSAGE;
	}
	if (a->argc == 4 && strpbrk(a->argv[3], " \t\r\n")) {
		return CLI_SHOWUSAGE;
	}
	snprintf(command, sizeof(command), "show subscribed%s%s", a->argc == 4 ? " " : "",
		a->argc == 4 ? a->argv[3] : "");
	return im_cli_run(a, command);
}

static char *im_cli_debug (struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	static const char *const choices[] = { "intense", "off", NULL };
	switch (cmd) {
	case CLI_INIT:
		e->command = "im debug";
		e->usage = "Usage: im debug [intense|off]\n"
			"       Log protocol events, or the raw traffic (secrets redacted), or stop.\n";
		return NULL;
	case CLI_GENERATE:
		return a->pos == 2 ? ast_cli_complete(a->word, choices, a->n) : NULL;
	}
	if (a->argc > 3 || (a->argc == 3 && strcmp(a->argv[2], "intense") && strcmp(a->argv[2], "off"))) {
		return CLI_SHOWUSAGE;
	}
	return im_cli_run(a, a->argc == 3 ? (!strcmp(a->argv[2], "off") ? "debug off" : "debug intense")
		: "debug");
}

static char *im_cli_reload (struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	switch (cmd) {
	case CLI_INIT:
		e->command = "im reload";
		e->usage = "Usage: im reload\n       imstatusd reads im.conf again.\n";
		return NULL;
	case CLI_GENERATE:
		return NULL;
	}
	return a->argc == 2 ? im_cli_run(a, "reload") : CLI_SHOWUSAGE;
}

static struct ast_cli_entry im_cli[] = {
	AST_CLI_DEFINE(im_cli_show_peers, "Show imstatusd's IM peers"),
	AST_CLI_DEFINE(im_cli_show_subscribed, "Show the buddies and their presence"),
	AST_CLI_DEFINE(im_cli_debug, "imstatusd protocol debugging"),
	AST_CLI_DEFINE(im_cli_reload, "Reload imstatusd's im.conf"),
};

/* ---- module ---- */

/* controlsocket from [general] of im.conf (the daemon's own default when
 * none); 1 when it changed. */
static int im_load_config (void)
{
	struct ast_flags flags = { 0 };
	struct ast_config *cfg = ast_config_load(IM_CONF, flags);
	char path[PATH_MAX] = IMS_VOCAB_SOCKET;
	int changed;

	if (cfg && cfg != CONFIG_STATUS_FILEINVALID) {
		const char *sock = ast_variable_retrieve(cfg, "general", "controlsocket");
		const char *statedir = ast_variable_retrieve(cfg, "general", "statedir");
		if (!ast_strlen_zero(sock)) {
			ast_copy_string(path, sock, sizeof(path));
		} else if (!ast_strlen_zero(statedir)) {
			snprintf(path, sizeof(path), "%s/" IMS_VOCAB_SOCKET_NAME, statedir);
		}
		ast_config_destroy(cfg);
	} else {
		ast_log(LOG_NOTICE, "app_imstatus: no %s; trying %s\n", IM_CONF, path);
	}
	ast_mutex_lock(&im_config_lock);
	changed = strcmp(path, im_socket_path) != 0;
	ast_copy_string(im_socket_path, path, sizeof(im_socket_path));
	ast_mutex_unlock(&im_config_lock);
	return changed;
}

static int im_start_thread (void)
{
	im_stopping = 0;
	if (ast_pthread_create_background(&im_thread, NULL, im_watch_thread, NULL)) {
		im_thread = AST_PTHREADT_NULL;
		return -1;
	}
	return 0;
}

static void im_stop_thread (void)
{
	if (im_thread == AST_PTHREADT_NULL) {
		return;
	}
	im_stopping = 1;
	if (write(im_wake[1], "x", 1) < 0) {
		ast_log(LOG_WARNING, "app_imstatus: cannot wake the watch thread\n");
	}
	pthread_join(im_thread, NULL);
	im_thread = AST_PTHREADT_NULL;
	/* Drain the wake-up byte for the next start. */
	char c;
	while (read(im_wake[0], &c, 1) > 0) {
	}
}

static int unload_module (void)
{
	ast_cli_unregister_multiple(im_cli, ARRAY_LEN(im_cli));
	ast_unregister_application(im_status_app);
	ast_unregister_application(im_send_app);
	ast_custom_function_unregister(&im_status_function);
	ast_devstate_prov_del(IMS_VOCAB_LAMP_PROVIDER);
	ast_presence_state_prov_del(IMS_VOCAB_LAMP_PROVIDER);
	im_stop_thread();
	im_mirror_clear();
	if (im_wake[0] >= 0) {
		close(im_wake[0]);
		close(im_wake[1]);
		im_wake[0] = im_wake[1] = -1;
	}
	return 0;
}

static int load_module (void)
{
	if (pipe2(im_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		return AST_MODULE_LOAD_DECLINE;
	}
	im_load_config();
	if (im_start_thread()) {
		unload_module();
		return AST_MODULE_LOAD_DECLINE;
	}
	/* The XML documentation when Asterisk found ours (installed into
	 * documentation/thirdparty), else the short texts compiled in. */
	char *xml = ast_xmldoc_build_synopsis("application", im_status_app, "app_imstatus");
	int have_xml = !ast_strlen_zero(xml);
	ast_free(xml);
	if (ast_register_application(im_status_app, im_status_exec, have_xml ? NULL : im_status_synopsis,
			have_xml ? NULL : im_status_descrip)
		|| ast_register_application(im_send_app, im_send_exec, have_xml ? NULL : im_send_synopsis,
			have_xml ? NULL : im_send_descrip)
		|| ast_custom_function_register(&im_status_function)
		|| ast_devstate_prov_add(IMS_VOCAB_LAMP_PROVIDER, im_devstate_cb)
		|| ast_presence_state_prov_add(IMS_VOCAB_LAMP_PROVIDER, im_presence_cb)
		|| ast_cli_register_multiple(im_cli, ARRAY_LEN(im_cli))) {
		unload_module();
		return AST_MODULE_LOAD_DECLINE;
	}
	return AST_MODULE_LOAD_SUCCESS;
}

static int reload_module (void)
{
	if (im_load_config()) {
		/* Another socket: watch the daemon there, from a fresh snapshot. */
		im_stop_thread();
		im_mirror_clear();
		im_start_thread();
	}
	return 0;
}

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_LOAD_ORDER, "IM presence from imstatusd",
	.support_level = AST_MODULE_SUPPORT_EXTENDED,
	.load = load_module,
	.unload = unload_module,
	.reload = reload_module,
	.load_pri = AST_MODPRI_DEVSTATE_PROVIDER,
);
