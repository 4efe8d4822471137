/* im-mirror: app_imstatus.so's copy of the daemon's presence.  One thread
 * keeps one connection to the control socket, sends `watch`, and mirrors the
 * snapshot and every change it streams into hash containers (peers by name;
 * buddies by peer and id, and by peer and the name the dialplan writes), so
 * IMStatus and the IM: state providers answer with no I/O and no scan.
 * While the daemon is away every answer is unknown / NOTCONNECTED and the
 * thread reconnects with the daemon's backoff.
 */

#include "asterisk.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "asterisk/astobj2.h"
#include "asterisk/json.h"
#include "asterisk/lock.h"
#include "asterisk/utils.h"

#include "im-private.h"

/* Buckets of the buddy containers (ao2 hash tables do not grow): about two
 * buddies a chain at 10,000, so a lookup stays flat (make bench: section 7). */
#define IM_BUCKETS 4093

static const char *const im_json_keys[F_COUNT] = {
	"status", "idle", "text", "lastseen", "prefix", "uri", "resource", "show", "result",
	"subscription", "phone", "dnd", "lamp",
};

/* A buddy, or a person (peer "": her name is her id). */
struct im_buddy {
	char *peer;
	char *name;   /* as the dialplan writes it: "buckaroo" */
	char *id;     /* the full id: "buckaroo@example.org" */
	char *by_id;  /* "peer\nid": the key in im_buddies */
	char *by_name; /* "peer\nname": the key in im_names */
	char *f[F_COUNT];
};

struct im_peer {
	char *name;
	char *user;
	char *status;
};

/* Written by the watch thread, read by everything else; each container
 * has its own lock. */
static struct ao2_container *im_peers;   /* struct im_peer, by name */
static struct ao2_container *im_buddies; /* struct im_buddy, by "peer\nid" */
static struct ao2_container *im_names;   /* the same buddies, by "peer\nname" */
static int im_connected; /* the watch stream is up and synced */
AST_MUTEX_DEFINE_STATIC(im_connected_lock);

static pthread_t im_thread = AST_PTHREADT_NULL;
static int im_wake[2] = { -1, -1 }; /* a byte here ends the thread's waits */
static volatile int im_stopping;

/* ---- the containers ---- */

static void im_buddy_destroy (void *obj)
{
	struct im_buddy *b = obj;
	int i;
	ast_free(b->peer);
	ast_free(b->name);
	ast_free(b->id);
	ast_free(b->by_id);
	ast_free(b->by_name);
	for (i = 0; i < F_COUNT; i++) {
		ast_free(b->f[i]);
	}
}

static void im_peer_destroy (void *obj)
{
	struct im_peer *p = obj;
	ast_free(p->name);
	ast_free(p->user);
	ast_free(p->status);
}

/* Hash and compare a key string (OBJ_SEARCH_KEY) or an object's key.  Peer
 * names are exact, as in the daemon; buddy keys hold the name in lower case
 * (im_key), as the dialplan may write BuckAroo. */
#define IM_KEYED(prefix, type, field)                                                           \
	static int prefix##_hash (const void *obj, const int flags)                                \
	{                                                                                          \
		const char *key = (flags & OBJ_SEARCH_MASK) == OBJ_SEARCH_KEY ? obj                    \
			: ((const struct type *) obj)->field;                                              \
		return ast_str_hash(key);                                                              \
	}                                                                                          \
	static int prefix##_cmp (void *obj, void *arg, int flags)                                  \
	{                                                                                          \
		const char *key = (flags & OBJ_SEARCH_MASK) == OBJ_SEARCH_KEY ? arg                    \
			: ((const struct type *) arg)->field;                                              \
		return strcmp(((struct type *) obj)->field, key) ? 0 : CMP_MATCH;                      \
	}
IM_KEYED(im_peer, im_peer, name)
IM_KEYED(im_buddy_id, im_buddy, by_id)
IM_KEYED(im_buddy_name, im_buddy, by_name)

/* "peer\nuser" with the user in ASCII lower case (the key of a buddy). */
static char *im_key (const char *peer, const char *user)
{
	char *key = NULL, *p;
	if (ast_asprintf(&key, "%s\n%s", peer, user) < 0) {
		return NULL;
	}
	for (p = key + strlen(peer) + 1; *p; p++) {
		*p = tolower((unsigned char) *p);
	}
	return key;
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
	case AST_JSON_TRUE:
		return ast_strdup("1");
	case AST_JSON_FALSE:
		return ast_strdup("0");
	default:
		return ast_strdup("");
	}
}

enum ast_device_state im_devstate_of (const char *status, const char *lamp)
{
	const struct ims_vocab_status *v = ims_vocab_status_of(status);
	if (lamp && *lamp) {
		return ast_devstate_val(lamp);
	}
	return v ? ast_devstate_val(v->device) : AST_DEVICE_UNKNOWN;
}

enum ast_presence_state im_presence_of (const char *status, const char *show)
{
	const struct ims_vocab_status *v = ims_vocab_status_of(status);
	return v ? ast_presence_state_val(ims_vocab_presence_of(v, show)) : AST_PRESENCE_NOT_SET;
}

/* Tells Asterisk's state cache, so hints and their subscribers follow:
 * IM:peer:name for a buddy, IM:name for a person. */
static void im_publish (const char *peer, const char *name, const char *status, const char *show,
	const char *text, const char *lamp)
{
	if (!*peer) {
		ast_devstate_changed(im_devstate_of(status, lamp), AST_DEVSTATE_CACHABLE,
			IMS_VOCAB_LAMP_PROVIDER ":%s", name);
		ast_presence_state_changed(im_presence_of(status, show), show, text,
			IMS_VOCAB_LAMP_PROVIDER ":%s", name);
		return;
	}
	ast_devstate_changed(im_devstate_of(status, lamp), AST_DEVSTATE_CACHABLE,
		IMS_VOCAB_LAMP_PROVIDER ":%s:%s", peer, name);
	ast_presence_state_changed(im_presence_of(status, show), show, text,
		IMS_VOCAB_LAMP_PROVIDER ":%s:%s", peer, name);
}

static void im_set_connected (int connected)
{
	ast_mutex_lock(&im_connected_lock);
	im_connected = connected;
	ast_mutex_unlock(&im_connected_lock);
}

static int im_is_connected (void)
{
	int c;
	ast_mutex_lock(&im_connected_lock);
	c = im_connected;
	ast_mutex_unlock(&im_connected_lock);
	return c;
}

/* ---- what the stream says ---- */

/* A buddy's answer, or (@person) a person's, replacing the one before. */
static void im_on_buddy (struct ast_json *obj, int person)
{
	struct im_buddy *b = ao2_alloc_options(sizeof(*b), im_buddy_destroy,
		AO2_ALLOC_OPT_LOCK_NOLOCK);
	int i;

	if (!b) {
		return;
	}
	b->peer = person ? ast_strdup("") : im_json_text(obj, "peer");
	b->name = im_json_text(obj, person ? "person" : "name");
	b->id = im_json_text(obj, person ? "person" : "id");
	for (i = 0; i < F_COUNT; i++) {
		b->f[i] = im_json_text(obj, im_json_keys[i]);
	}
	if (!b->peer || !b->name || !b->id || (!*b->peer && !person) || !*b->id
		|| !(b->by_id = im_key(b->peer, b->id)) || !(b->by_name = im_key(b->peer, b->name))) {
		ao2_ref(b, -1);
		return;
	}
	/* The new answer replaces the old under both keys. */
	ao2_find(im_buddies, b->by_id, OBJ_SEARCH_KEY | OBJ_UNLINK | OBJ_NODATA);
	ao2_find(im_names, b->by_name, OBJ_SEARCH_KEY | OBJ_UNLINK | OBJ_NODATA);
	ao2_link(im_buddies, b);
	ao2_link(im_names, b);
	im_publish(b->peer, b->name, b->f[F_STATUS], b->f[F_SHOW], b->f[F_TEXT], b->f[F_LAMP]);
	ao2_ref(b, -1);
}

static int im_buddy_of_peer (void *obj, void *arg, int flags)
{
	return !strcmp(((struct im_buddy *) obj)->peer, arg) ? CMP_MATCH : 0;
}

/* Forgets @peer's buddies (or all when NULL): their lamps go unknown. */
static void im_forget_buddies (const char *peer)
{
	struct ao2_iterator *it = peer
		? ao2_callback(im_buddies, OBJ_MULTIPLE | OBJ_UNLINK, im_buddy_of_peer, (void *) peer)
		: ao2_callback(im_buddies, OBJ_MULTIPLE | OBJ_UNLINK, NULL, NULL);
	struct im_buddy *b;

	if (!it) {
		return;
	}
	while ((b = ao2_iterator_next(it))) {
		ao2_find(im_names, b->by_name, OBJ_SEARCH_KEY | OBJ_UNLINK | OBJ_NODATA);
		if (!im_stopping) {
			im_publish(b->peer, b->name, IM_WORD(statuses, UNKNOWN), "", "", "");
		}
		ao2_ref(b, -1);
	}
	ao2_iterator_destroy(it);
}

static void im_on_peer (struct ast_json *obj, int removed)
{
	struct im_peer *p = ao2_alloc_options(sizeof(*p), im_peer_destroy, AO2_ALLOC_OPT_LOCK_NOLOCK);

	if (!p) {
		return;
	}
	p->name = im_json_text(obj, "name");
	p->user = im_json_text(obj, "user");
	p->status = im_json_text(obj, "status");
	if (!p->name || !p->user || !p->status) {
		ao2_ref(p, -1);
		return;
	}
	ao2_find(im_peers, p->name, OBJ_SEARCH_KEY | OBJ_UNLINK | OBJ_NODATA);
	if (removed) {
		/* A peer that left the configuration takes its buddies along. */
		im_forget_buddies(p->name);
	} else {
		ao2_link(im_peers, p);
	}
	ao2_ref(p, -1);
}

/* Forgets everything: every IM: state goes back to unknown. */
static void im_mirror_clear (void)
{
	im_set_connected(0);
	ao2_callback(im_peers, OBJ_MULTIPLE | OBJ_UNLINK | OBJ_NODATA, NULL, NULL);
	im_forget_buddies(NULL);
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
		im_set_connected(1);
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
		im_on_buddy(obj, 0);
	} else if (im_is_event(line, kind, IMS_VOCAB_EVENT_PERSON)) {
		im_on_buddy(obj, 1);
	} else if (im_is_event(line, kind, IMS_VOCAB_EVENT_PEER)) {
		im_on_peer(obj, 0);
	} else if (im_is_event(line, kind, IMS_VOCAB_EVENT_PEER_REMOVED)) {
		im_on_peer(obj, 1);
	}
	ast_json_unref(obj);
}

/* ---- the watch thread ---- */

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
		if (im_read_line(r, line, IM_IO_TIMEOUT_MS, im_wake[0]) == 1 && !strcmp(line, IM_HELLO)
			&& !im_write_all(fd, "watch\n", 6)) {
			ast_verb(3, "app_imstatus: watching imstatusd\n");
			backoff = 0;
			for (;;) {
				int rc = im_read_line(r, line, -1, im_wake[0]);
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

int im_mirror_start (void)
{
	if (!im_peers) {
		im_peers = ao2_container_alloc_hash(AO2_ALLOC_OPT_LOCK_RWLOCK, 0, 61,
			im_peer_hash, NULL, im_peer_cmp);
		im_buddies = ao2_container_alloc_hash(AO2_ALLOC_OPT_LOCK_RWLOCK, 0, IM_BUCKETS,
			im_buddy_id_hash, NULL, im_buddy_id_cmp);
		im_names = ao2_container_alloc_hash(AO2_ALLOC_OPT_LOCK_RWLOCK, 0, IM_BUCKETS,
			im_buddy_name_hash, NULL, im_buddy_name_cmp);
		if (!im_peers || !im_buddies || !im_names
			|| pipe2(im_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
			return -1;
		}
	}
	im_stopping = 0;
	if (ast_pthread_create_background(&im_thread, NULL, im_watch_thread, NULL)) {
		im_thread = AST_PTHREADT_NULL;
		return -1;
	}
	return 0;
}

void im_mirror_stop (int unload)
{
	if (im_thread != AST_PTHREADT_NULL) {
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
	if (!im_peers) {
		return;
	}
	/* Stopping: the lamps are not set to unknown on the way (a reload
	 * repopulates them at once; an unload takes the provider away). */
	im_stopping = 1;
	im_mirror_clear();
	if (unload) {
		ao2_cleanup(im_peers);
		ao2_cleanup(im_buddies);
		ao2_cleanup(im_names);
		im_peers = im_buddies = im_names = NULL;
		if (im_wake[0] >= 0) {
			close(im_wake[0]);
			close(im_wake[1]);
			im_wake[0] = im_wake[1] = -1;
		}
	}
}

/* ---- answers ---- */

void im_lookup (const char *peer, const char *user, char *f[F_COUNT])
{
	struct im_peer *p = NULL;
	struct im_buddy *b = NULL;
	const char *result = NULL;
	const char *status = IM_WORD(statuses, UNKNOWN);
	int registered = 0;
	int i;

	for (i = 0; i < F_COUNT; i++) {
		f[i] = NULL;
	}
	if (!im_peers || !im_is_connected()) {
		result = IM_WORD(results, NOTCONNECTED);
	} else if (!peer) {
		/* A person: her answer, or no such person (as FastAGI says). */
		char *key = im_key("", user);
		b = key ? ao2_find(im_names, key, OBJ_SEARCH_KEY) : NULL;
		ast_free(key);
		if (b) {
			for (i = 0; i < F_COUNT; i++) {
				f[i] = ast_strdup(b->f[i]);
			}
			ao2_ref(b, -1);
			return;
		}
		result = IM_WORD(results, BADARGS);
	} else if (!(p = ao2_find(im_peers, peer, OBJ_SEARCH_KEY))) {
		result = IM_WORD(results, NOPEER);
	} else {
		registered = !strcmp(p->status, ims_vocab_peer_states[IMS_VOCAB_PEER_REGISTERED]);
		/* The peer's own username: online or offline by its login (the
		 * daemon's rule, from the shared vocabulary). */
		if (ims_vocab_names_own(user, p->user)) {
			result = IM_WORD(results, OK);
			status = registered ? IM_WORD(statuses, ONLINE) : IM_WORD(statuses, OFFLINE);
		}
		ao2_ref(p, -1);
	}
	if (!result) {
		char *key = im_key(peer, user);
		if (key) {
			b = ao2_find(im_names, key, OBJ_SEARCH_KEY);
			if (!b) {
				b = ao2_find(im_buddies, key, OBJ_SEARCH_KEY);
			}
			ast_free(key);
		}
		if (b) {
			for (i = 0; i < F_COUNT; i++) {
				f[i] = ast_strdup(b->f[i]);
			}
			ao2_ref(b, -1);
		} else {
			/* As the daemon: a peer that is down says so first. */
			result = registered ? IM_WORD(results, NOTSUBSCRIBED) : IM_WORD(results, NOTCONNECTED);
		}
	}
	if (result) {
		for (i = 0; i < F_COUNT; i++) {
			f[i] = ast_strdup(i == F_STATUS ? status : i == F_RESULT ? result
				: (i == F_IDLE || i == F_LASTSEEN || i == F_DND) ? "0" : i == F_SUBSCRIPTION ? "none"
				: i == F_PHONE ? IMS_VOCAB_PHONE_UNKNOWN
				: i == F_SHOW && !strcmp(status, IM_WORD(statuses, ONLINE)) ? "available" : "");
		}
	}
}

void im_fields_free (char *f[F_COUNT])
{
	int i;
	for (i = 0; i < F_COUNT; i++) {
		ast_free(f[i]);
	}
}

int im_answer_pending (const char *peer)
{
	struct im_peer *p;
	int pending = 1;

	if (im_peers && im_is_connected()) {
		p = ao2_find(im_peers, peer, OBJ_SEARCH_KEY);
		/* Connecting: the first state of a peer (ims_vocab_peer_states). */
		pending = p && !strcmp(p->status, ims_vocab_peer_states[0]);
		ao2_cleanup(p);
	}
	return pending;
}

char *im_complete_peer (const char *word, int state)
{
	struct ao2_iterator it;
	struct im_peer *p;
	int which = 0;
	char *ret = NULL;
	size_t len = strlen(word);

	if (!im_peers) {
		return NULL;
	}
	it = ao2_iterator_init(im_peers, 0);
	while (!ret && (p = ao2_iterator_next(&it))) {
		if (!strncasecmp(word, p->name, len) && ++which > state) {
			ret = ast_strdup(p->name);
		}
		ao2_ref(p, -1);
	}
	ao2_iterator_destroy(&it);
	return ret;
}
