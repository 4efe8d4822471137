/* app_imstatus: the seed's dialplan and CLI inside Asterisk, on top of
 * imstatusd.  IMStatus(), IMSend(), IM_STATUS(), "im show peers" and
 * friends, and IM:<peer>:<user> device and presence states for hints.
 *
 * IMStatus and the state providers answer from the mirror (im-mirror.c: one
 * thread watching the daemon, hash containers): no I/O per call.  IMSend and
 * the CLI open their own short connection (im-client.c).  The control
 * socket comes from im.conf's [general] controlsocket, read with Asterisk's
 * own config loader.  Links only Asterisk and libc.
 */

#include "asterisk.h"

#include <limits.h>
#include <pwd.h>
#include <unistd.h>

#include "asterisk/app.h"
#include "asterisk/channel.h"
#include "asterisk/chanvars.h"
#include "asterisk/cli.h"
#include "asterisk/config.h"
#include "asterisk/devicestate.h"
#include "asterisk/json.h"
#include "asterisk/module.h"
#include "asterisk/pbx.h"
#include "asterisk/presencestate.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"
#include "asterisk/xmldoc.h"

#include "im-private.h"

#define IM_CONF "imstatus.conf"
#define IM_WAIT_MAX_MS 60000

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

/* "peer/user" -> peer, user (in @buf); "jane" -> a person (peer NULL, user
 * her name); 0 when malformed. */
static int im_split (char *buf, char **peer, char **user)
{
	char *slash = strchr(buf, '/');
	if (!slash) {
		*peer = NULL;
		*user = buf;
		return *buf != '\0';
	}
	if (slash == buf || !slash[1]) {
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
	"seen by the im.conf peer <peer>, from imstatusd (IMStatus(jane): the person\n"
	"[jane] of im.conf, who also gets IM-PHONE and IM-DND), and sets:\n"
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
			while (peer && im_answer_pending(peer) && ast_tvdiff_ms(ast_tvnow(), start) < ms) {
				if (ast_safe_sleep(chan, 20)) {
					return -1; /* hung up */
				}
			}
			timed_out = peer && im_answer_pending(peer);
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
	if (!bad && !peer) {
		im_setvar(chan, IMS_VOCAB_PHONE_VAR, f[F_PHONE]);
		im_setvar(chan, IMS_VOCAB_DND_VAR, f[F_DND]);
	}
	if (ims_vocab_result_is_error(f[F_RESULT]) && !ast_test_flag(&flags, OPT_GO_ON)) {
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

static const char im_send_app[] = "IMSend";
static const char im_send_synopsis[] = "Send an instant message through imstatusd";
static const char im_send_descrip[] =
	"  IMSend(peer/user/text): sends <text> (everything after the second '/',\n"
	"commas and slashes kept as written) to <user> through the im.conf peer\n"
	"<peer>.  Sets IM-SENDSTATUS (SENT, QUEUED: kept in imstatusd's outbox while\n"
	"the peer is down, FAILED) and IM-RESULT.  Never jumps.\n";

/* A word that may stand on a control line as it is. */
static int im_word_ok (const char *s)
{
	for (; *s; s++) {
		if ((unsigned char) *s <= ' ' || *s == 0x7f) {
			return 0;
		}
	}
	return 1;
}

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
	/* Peer and user are words of the control line: a blank or a control
	 * character in them (a dialplan variable's) would start another
	 * command. */
	if (!im_word_ok(peer) || !im_word_ok(user)) {
		ast_log(LOG_WARNING, "IMSend: peer or user with a blank or control character\n");
		goto done;
	}
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
		{ "phone", F_PHONE }, { "dnd", F_DND },
	};
	char *peer, *user, *f[F_COUNT];
	enum im_field which = F_STATUS;
	size_t i;
	AST_DECLARE_APP_ARGS(args, AST_APP_ARG(target); AST_APP_ARG(field););

	AST_STANDARD_APP_ARGS(args, data);
	if (!args.target || !im_split(args.target, &peer, &user)) {
		ast_log(LOG_WARNING, "IM_STATUS: usage IM_STATUS(peer/user|person[,field])\n");
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

/* "aim1:buckaroo" -> the buddy's status, show, text and lamp; "jane" -> the person's. */
static int im_state_of (const char *data, char **status, char **show, char **text, char **lamp)
{
	char *copy = ast_strdupa(data), *colon = strchr(copy, ':');
	char *f[F_COUNT];
	if (!*copy || (colon && (colon == copy || !colon[1]))) {
		return 0;
	}
	if (colon) {
		*colon = '\0';
	}
	im_lookup(colon ? copy : NULL, colon ? colon + 1 : copy, f);
	*status = f[F_STATUS];
	*show = f[F_SHOW];
	*text = f[F_TEXT];
	*lamp = f[F_LAMP];
	f[F_STATUS] = f[F_SHOW] = f[F_TEXT] = f[F_LAMP] = NULL;
	im_fields_free(f);
	return 1;
}

static enum ast_device_state im_devstate_cb (const char *data)
{
	char *status, *show, *text, *lamp;
	enum ast_device_state st;
	if (!im_state_of(data, &status, &show, &text, &lamp)) {
		return AST_DEVICE_INVALID;
	}
	st = im_devstate_of(status, lamp);
	ast_free(status);
	ast_free(show);
	ast_free(text);
	ast_free(lamp);
	return st;
}

static enum ast_presence_state im_presence_cb (const char *data, char **subtype, char **message)
{
	char *status, *show, *text, *lamp;
	enum ast_presence_state st;
	if (!im_state_of(data, &status, &show, &text, &lamp)) {
		return AST_PRESENCE_INVALID;
	}
	st = im_presence_of(status, show);
	*subtype = show;
	*message = text;
	ast_free(status);
	ast_free(lamp);
	return st;
}

/* ---- CLI ---- */

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

/* imstatus.conf ([general] controlsocket, daemonuser): the module needs no
 * secret and never reads im.conf, which holds them all.  Without it, the
 * packaged socket (/run/imstatus) or the daemon's default, owned by user
 * imstatus.  1 when the socket changed. */
static int im_load_config (void)
{
	struct ast_flags flags = { 0 };
	struct ast_config *cfg = ast_config_load(IM_CONF, flags);
	char path[PATH_MAX];
	char user[64] = "imstatus";
	int changed;

	ast_copy_string(path, access("/run/imstatus", F_OK) == 0 ? IMS_VOCAB_RUN_SOCKET
		: IMS_VOCAB_SOCKET, sizeof(path));
	if (cfg && cfg != CONFIG_STATUS_FILEINVALID) {
		const char *sock = ast_variable_retrieve(cfg, "general", "controlsocket");
		const char *who = ast_variable_retrieve(cfg, "general", "daemonuser");
		if (!ast_strlen_zero(sock)) {
			ast_copy_string(path, sock, sizeof(path));
		}
		if (!ast_strlen_zero(who)) {
			ast_copy_string(user, who, sizeof(user));
		}
		ast_config_destroy(cfg);
	} else {
		ast_log(LOG_NOTICE, "app_imstatus: no %s; trying %s (daemon user %s)\n", IM_CONF, path,
			user);
	}
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		ast_log(LOG_WARNING, "app_imstatus: daemonuser %s does not exist; no socket will do\n",
			user);
	}
	char old[PATH_MAX];
	im_socket_get(old, sizeof(old));
	changed = strcmp(path, old) != 0;
	im_socket_set(path, pw ? pw->pw_uid : (uid_t) -1);
	return changed;
}

static int unload_module (void)
{
	ast_cli_unregister_multiple(im_cli, ARRAY_LEN(im_cli));
	ast_unregister_application(im_status_app);
	ast_unregister_application(im_send_app);
	ast_custom_function_unregister(&im_status_function);
	ast_devstate_prov_del(IMS_VOCAB_LAMP_PROVIDER);
	ast_presence_state_prov_del(IMS_VOCAB_LAMP_PROVIDER);
	im_mirror_stop(1);
	return 0;
}

static int load_module (void)
{
	im_load_config();
	if (im_mirror_start()) {
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
		im_mirror_stop(0);
		im_mirror_start();
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
