/* agi-load: plays Asterisk against a FastAGI server, as fast as it can.
 * N threads, each one session after another for S seconds: send the
 * environment of AGI(agi://127.0.0.1/IMStatus,<target>), answer every command
 * "200 result=1" (DIALPLAN_EXISTS: "200 result=1 (0)"), until the server closes.
 * Prints: sessions, sessions/s, p50 and p99 latency in microseconds.
 * usage: agi-load PORT THREADS SECONDS TARGET */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static double seconds;
static char env[4096];
static size_t env_len;

typedef struct {
  double *lat;
  size_t n, cap;
  long commands;
} Result;

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
session (long *commands)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &a, sizeof a) != 0)
    {
      close (fd);
      return -1;
    }
  if (write (fd, env, env_len) != (ssize_t) env_len)
    {
      close (fd);
      return -1;
    }
  char buf[16384];
  size_t have = 0;
  for (;;)
    {
      ssize_t r = read (fd, buf + have, sizeof buf - have);
      if (r <= 0)
        break;
      have += r;
      char *nl;
      while ((nl = memchr (buf, '\n', have)) != NULL)
        {
          size_t l = nl - buf + 1;
          const char *rep = memmem (buf, l, "DIALPLAN_EXISTS", 15) ? "200 result=1 (0)\n"
                                                                  : "200 result=1\n";
          if (write (fd, rep, strlen (rep)) < 0)
            break;
          (*commands)++;
          memmove (buf, buf + l, have - l);
          have -= l;
        }
    }
  close (fd);
  return 0;
}

static void *
worker (void *p)
{
  Result *r = p;
  double end = now () + seconds;
  while (now () < end)
    {
      double t0 = now ();
      if (session (&r->commands) != 0)
        continue;
      if (r->n == r->cap)
        r->lat = realloc (r->lat, (r->cap = r->cap ? r->cap * 2 : 4096) * sizeof (double));
      r->lat[r->n++] = now () - t0;
    }
  return NULL;
}

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  if (argc != 5)
    {
      fprintf (stderr, "usage: agi-load PORT THREADS SECONDS TARGET\n");
      return 2;
    }
  port = atoi (argv[1]);
  int threads = atoi (argv[2]);
  seconds = atof (argv[3]);
  env_len = snprintf (env, sizeof env,
                      "agi_network: yes\nagi_network_script: IMStatus\n"
                      "agi_request: agi://127.0.0.1/IMStatus\n"
                      "agi_channel: Local/1233@bench-00000001;2\nagi_language: en\n"
                      "agi_type: Local\nagi_uniqueid: 1795673191.65\n"
                      "agi_version: GIT-22-22.0.0-pre1-541-g69535d4837\n"
                      "agi_callerid: unknown\nagi_calleridname: unknown\nagi_callingpres: 67\n"
                      "agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\n"
                      "agi_dnid: unknown\nagi_rdnis: unknown\nagi_context: bench\n"
                      "agi_extension: 1233\nagi_priority: 1\nagi_enhanced: 0.0\n"
                      "agi_accountcode: \nagi_threadid: 140193411811008\nagi_arg_1: %s\n\n",
                      argv[4]);
  pthread_t *t = calloc (threads, sizeof *t);
  Result *r = calloc (threads, sizeof *r);
  double t0 = now ();
  for (int i = 0; i < threads; i++)
    pthread_create (&t[i], NULL, worker, &r[i]);
  for (int i = 0; i < threads; i++)
    pthread_join (t[i], NULL);
  double elapsed = now () - t0;
  size_t n = 0;
  long commands = 0;
  for (int i = 0; i < threads; i++)
    n += r[i].n, commands += r[i].commands;
  double *all = malloc ((n ? n : 1) * sizeof (double));
  size_t k = 0;
  for (int i = 0; i < threads; i++)
    for (size_t j = 0; j < r[i].n; j++)
      all[k++] = r[i].lat[j];
  qsort (all, n, sizeof (double), cmp);
  printf ("{\"sessions\": %zu, \"per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
          "\"commands_per_session\": %.2f}\n",
          n, n / elapsed, n ? all[n / 2] * 1e6 : 0, n ? all[(size_t) (n * 0.99)] * 1e6 : 0,
          n ? (double) commands / n : 0);
  return 0;
}
