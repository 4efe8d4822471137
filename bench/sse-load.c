/* sse-load: the board stage's reader and its floor (make bench).
 *
 *   sse-load client PORT N   opens N event streams (/api/v1/events, web user
 *                            w<i/8>, secret w<i/8>-pw) in batches, reads them
 *                            all with one epoll loop, says "ready" once every
 *                            stream has had its snapshot ("synced"); then for
 *                            each line "MARKER T0" on stdin (T0: CLOCK_MONOTONIC
 *                            ns when the change was made) it waits until every
 *                            stream has had MARKER and prints one JSON line:
 *                            p50, p99 and last in ms from T0, and the bytes the
 *                            first stream got for it.
 *   sse-load floor PORT N SIZE
 *                            the floor: listens on PORT, answers N streams with
 *                            headers and "synced", then for each stdin line
 *                            "MARKER" writes one SIZE-byte chunk holding MARKER
 *                            to each of the N sockets with write(); at EOF it
 *                            prints the CPU time per write.
 *
 * One process, single-threaded; C so that the reader is not the bound.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARK_MAX 128

typedef struct {
  int fd;
  int synced;
  int seen;          /* the current marker */
  size_t got;        /* bytes since the current marker was asked for */
  char tail[MARK_MAX];
  size_t ntail;
  int64_t at;        /* ns when the marker arrived */
} Stream;

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die (const char *what)
{
  perror (what);
  exit (1);
}

static void
raise_nofile (void)
{
  struct rlimit r;
  if (getrlimit (RLIMIT_NOFILE, &r) == 0)
    {
      r.rlim_cur = r.rlim_max;
      setrlimit (RLIMIT_NOFILE, &r);
    }
}

/* Looks for @needle in what the stream kept of its last read plus @buf;
 * keeps the last bytes for the next read. */
static int
scan (Stream *s, const char *buf, size_t len, const char *needle)
{
  size_t nl = strlen (needle);
  char joined[MARK_MAX * 2 + 65536];
  size_t take = len > 65536 ? 65536 : len;
  memcpy (joined, s->tail, s->ntail);
  memcpy (joined + s->ntail, buf + len - take, take);
  size_t jl = s->ntail + take;
  int found = memmem (joined, jl, needle, nl) != NULL;
  size_t keep = jl < nl ? jl : nl - 1;
  memcpy (s->tail, joined + jl - keep, keep);
  s->ntail = keep;
  return found;
}

static int
cmp_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return x < y ? -1 : x > y;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
base64 (const char *in, char *out)
{
  size_t n = strlen (in), o = 0;
  for (size_t i = 0; i < n; i += 3)
    {
      uint32_t v = (uint8_t) in[i] << 16;
      if (i + 1 < n)
        v |= (uint8_t) in[i + 1] << 8;
      if (i + 2 < n)
        v |= (uint8_t) in[i + 2];
      out[o++] = b64[(v >> 18) & 63];
      out[o++] = b64[(v >> 12) & 63];
      out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
      out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
  out[o] = 0;
}

static int
open_stream (int port, int i)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die ("socket");
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    die ("connect");
  char cred[64], enc[128], req[512];
  snprintf (cred, sizeof cred, "w%d:w%d-pw", i / 8, i / 8);
  base64 (cred, enc);
  int n = snprintf (req, sizeof req,
                    "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Authorization: Basic %s\r\n\r\n", enc);
  if (write (fd, req, n) != n)
    die ("write");
  fcntl (fd, F_SETFL, O_NONBLOCK);
  return fd;
}

/* Reads what is there; returns -1 when a stream ended. */
static int
pump (int ep, Stream *st, const char *needle, int for_sync, int timeout_ms, int *left)
{
  struct epoll_event ev[256];
  static char buf[65536];
  int n = epoll_wait (ep, ev, 256, timeout_ms);
  int64_t t = now_ns ();
  for (int k = 0; k < n; k++)
    {
      Stream *s = &st[ev[k].data.u32];
      for (;;)
        {
          ssize_t r = read (s->fd, buf, sizeof buf);
          if (r == 0)
            return -1;
          if (r < 0)
            {
              if (errno == EAGAIN)
                break;
              return -1;
            }
          s->got += r;
          if (for_sync ? !s->synced : !s->seen)
            if (scan (s, buf, r, needle))
              {
                if (for_sync)
                  s->synced = 1;
                else
                  s->seen = 1, s->at = t;
                (*left)--;
              }
        }
    }
  return 0;
}

static int
client (int port, int n)
{
  Stream *st = calloc (n, sizeof *st);
  int ep = epoll_create1 (0);
  int opened = 0, left = 0;
  /* In batches: the daemon's accept queue is short. */
  while (opened < n || left > 0)
    {
      while (opened < n && left < 64)
        {
          st[opened].fd = open_stream (port, opened);
          struct epoll_event e = { .events = EPOLLIN, .data.u32 = opened };
          epoll_ctl (ep, EPOLL_CTL_ADD, st[opened].fd, &e);
          opened++, left++;
        }
      if (pump (ep, st, "event: synced", 1, 30000, &left) < 0)
        {
          fprintf (stderr, "sse-load: a stream ended while opening (%d open)\n", opened);
          return 1;
        }
    }
  printf ("ready\n");
  fflush (stdout);
  char line[512], marker[MARK_MAX];
  long long t0;
  int64_t *lat = calloc (n, sizeof *lat);
  while (fgets (line, sizeof line, stdin))
    {
      if (sscanf (line, "%100s %lld", marker, &t0) != 2)
        continue;
      for (int i = 0; i < n; i++)
        st[i].seen = 0, st[i].got = 0;
      left = n;
      int64_t deadline = now_ns () + 60LL * 1000000000;
      while (left > 0 && now_ns () < deadline)
        if (pump (ep, st, marker, 0, 1000, &left) < 0)
          {
            fprintf (stderr, "sse-load: a stream ended\n");
            return 1;
          }
      if (left > 0)
        {
          printf ("{\"error\": \"%d of %d streams never had the change\"}\n", left, n);
          fflush (stdout);
          continue;
        }
      for (int i = 0; i < n; i++)
        lat[i] = st[i].at - t0;
      size_t bytes = st[0].got;
      qsort (lat, n, sizeof *lat, cmp_i64);
      int i99 = (int) (n * 0.99) - 1;
      printf ("{\"p50\": %.3f, \"p99\": %.3f, \"last\": %.3f, \"bytes\": %zu}\n", lat[n / 2] / 1e6,
              lat[i99 < 0 ? 0 : i99] / 1e6, lat[n - 1] / 1e6, bytes);
      fflush (stdout);
    }
  return 0;
}

static double
cpu_s (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int
floor_ (int port, int n, size_t size)
{
  int l = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt (l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (l, (struct sockaddr *) &a, sizeof a) < 0 || listen (l, 4096) < 0)
    die ("listen");
  printf ("listening\n");
  fflush (stdout);
  int *fds = calloc (n, sizeof *fds);
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                             "18\r\nevent: synced\ndata: {}\n\n\r\n";
  for (int i = 0; i < n; i++)
    {
      fds[i] = accept (l, NULL, NULL);
      if (fds[i] < 0)
        die ("accept");
      char req[4096];
      size_t have = 0;
      while (!memmem (req, have, "\r\n\r\n", 4))
        {
          ssize_t r = read (fds[i], req + have, sizeof req - have);
          if (r <= 0)
            die ("read request");
          have += r;
        }
      if (write (fds[i], head, sizeof head - 1) != (ssize_t) sizeof head - 1)
        die ("write");
    }
  char line[512], marker[MARK_MAX];
  char *chunk = malloc (size + 64);
  double cpu = 0;
  long writes = 0;
  while (fgets (line, sizeof line, stdin))
    {
      if (sscanf (line, "%100s", marker) != 1)
        continue;
      /* An event of @size bytes in all, as the daemon's chunk was. */
      size_t body = size > 32 ? size - 16 : 16;
      char *data = malloc (body + 1);
      int p = snprintf (data, body + 1, "event: buddy\ndata: {\"text\":\"%s", marker);
      memset (data + p, 'x', body - p);
      memcpy (data + body - 4, "\"}\n\n", 4);
      int c = snprintf (chunk, 32, "%zx\r\n", body);
      memcpy (chunk + c, data, body);
      memcpy (chunk + c + body, "\r\n", 2);
      size_t len = c + body + 2;
      free (data);
      double c0 = cpu_s ();
      for (int i = 0; i < n; i++)
        if (write (fds[i], chunk, len) != (ssize_t) len)
          die ("write event");
      cpu += cpu_s () - c0;
      writes += n;
    }
  printf ("{\"cpu_us_per_write\": %.3f, \"writes\": %ld}\n", writes ? cpu / writes * 1e6 : 0,
          writes);
  return 0;
}

int
main (int argc, char **argv)
{
  raise_nofile ();
  if (argc == 4 && strcmp (argv[1], "client") == 0)
    return client (atoi (argv[2]), atoi (argv[3]));
  if (argc == 5 && strcmp (argv[1], "floor") == 0)
    return floor_ (atoi (argv[2]), atoi (argv[3]), strtoul (argv[4], NULL, 10));
  fprintf (stderr, "usage: sse-load client PORT N | sse-load floor PORT N SIZE\n");
  return 2;
}
