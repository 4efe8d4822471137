/* im-client: app_imstatus.so's client of the daemon's control socket: the
 * socket path, connecting, reading lines with a timeout, and one command
 * over a short connection (IMSend, the CLI).
 */

#include "asterisk.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "asterisk/lock.h"
#include "asterisk/utils.h"

#include "im-private.h"

static char im_socket_path[PATH_MAX];
static uid_t im_socket_owner = (uid_t) -1; /* the daemon's user: the socket must be its */
static int im_owner_warned;
static ast_mutex_t im_config_lock = AST_MUTEX_INIT_VALUE;

void im_socket_set (const char *path, uid_t owner)
{
	ast_mutex_lock(&im_config_lock);
	ast_copy_string(im_socket_path, path, sizeof(im_socket_path));
	im_socket_owner = owner;
	im_owner_warned = 0;
	ast_mutex_unlock(&im_config_lock);
}

void im_socket_get (char *buf, size_t len)
{
	ast_mutex_lock(&im_config_lock);
	ast_copy_string(buf, im_socket_path, len);
	ast_mutex_unlock(&im_config_lock);
}

int im_connect (void)
{
	char path[PATH_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	im_socket_get(path, sizeof(path));
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Only the daemon's own socket: another user's socket at that path (the
	 * daemon down, its directory writable) would be told every IMSend. */
	struct stat st;
	if (stat(path, &st) == 0) {
		int warn = 0;
		ast_mutex_lock(&im_config_lock);
		if (st.st_uid != im_socket_owner) {
			warn = !im_owner_warned;
			im_owner_warned = 1;
		}
		ast_mutex_unlock(&im_config_lock);
		if (st.st_uid != im_socket_owner) {
			if (warn) {
				ast_log(LOG_WARNING, "app_imstatus: %s belongs to uid %u, not the daemon's user "
					"(daemonuser in imstatus.conf); not using it\n", path, (unsigned) st.st_uid);
			}
			errno = EPERM;
			return -1;
		}
	}
	strcpy(sun.sun_path, path);
	/* Non-blocking: a daemon whose listen queue is full (or that is stuck)
	 * must not stall the channel thread calling IMSend or the CLI.  On a
	 * UNIX socket a full queue is EAGAIN at once. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0) {
		int e = errno;
		if (e == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t len = sizeof(e);
			e = poll(&p, 1, IM_CONNECT_TIMEOUT_MS) == 1
				&& getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 ? e : ETIMEDOUT;
		}
		if (e != 0) {
			close(fd);
			errno = e;
			return -1;
		}
	}
	/* The reads and writes after this wait with poll() and their own
	 * timeouts (im_read_line); writes are small. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* The next line, without its LF, in @line (at most IM_MAX_LINE); 1 on a
 * line, 0 at EOF or error, -1 on timeout or wake-up. */
int im_read_line (struct im_reader *r, char *line, int timeout_ms, int wake_fd)
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
		struct pollfd p[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = wake_fd, .events = POLLIN } };
		int rc = poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc <= 0 || (wake_fd >= 0 && (p[1].revents & POLLIN))) {
			return -1;
		}
		ssize_t got = read(r->fd, r->buf + r->len, IM_MAX_LINE - r->len);
		if (got <= 0) {
			return 0;
		}
		r->len += got;
	}
}

int im_write_all (int fd, const char *data, size_t len)
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
int im_command (const char *command, struct ast_str **out)
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
	if (im_read_line(r, line, IM_IO_TIMEOUT_MS, -1) != 1 || strcmp(line, IM_HELLO)) {
		ast_str_set(out, 0, "the control socket does not speak the imstatusd protocol");
		goto done;
	}
	if (im_write_all(fd, command, strlen(command)) || im_write_all(fd, "\n", 1)) {
		ast_str_set(out, 0, "cannot write to imstatusd");
		goto done;
	}
	ast_str_reset(*out);
	int begun = 0;
	while (im_read_line(r, line, IM_IO_TIMEOUT_MS, -1) == 1) {
		if (!begun) {
			begun = !strncmp(line, IMS_VOCAB_CONTROL_BEGIN, strlen(IMS_VOCAB_CONTROL_BEGIN));
			continue;
		}
		if (!strncmp(line, IMS_VOCAB_CONTROL_END, strlen(IMS_VOCAB_CONTROL_END))
			|| !strncmp(line, IMS_VOCAB_CONTROL_ERROR, strlen(IMS_VOCAB_CONTROL_ERROR))) {
			result = !strncmp(line, IMS_VOCAB_CONTROL_END, strlen(IMS_VOCAB_CONTROL_END)) ? 0 : 1;
			break;
		}
		if (ast_str_strlen(*out) + strlen(line) > IM_MAX_REPLY) {
			/* What the daemon answers is kept whole only up to a bound. */
			ast_str_set(out, 0, "the daemon's answer is longer than %d bytes", IM_MAX_REPLY);
			result = 1;
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

/* The control protocol's raw text: C-escaped, UTF-8 kept. */
void im_escape (struct ast_str **out, const char *text)
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
