/* agi-floor: the protocol floor for FastAGI IMStatus.  Reads the same
 * environment and sends the same 9 SET VARIABLE commands, one at a time
 * waiting for each reply, with no lookup: what any FastAGI server must do.
 * Single-threaded with poll(), as imstatusd is.  usage: agi-floor PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 1024
static const char *const cmds[] = {
  "SET VARIABLE IM-STATUS \"online\"\n", "SET VARIABLE IM-IDLETIME \"0\"\n",
  "SET VARIABLE IM-STATUSTEXT \"at my desk\"\n", "SET VARIABLE IM-LASTSEEN \"0\"\n",
  "SET VARIABLE IM-STATUSPREFIX \"\"\n", "SET VARIABLE IM-STATUSURI \"\"\n",
  "SET VARIABLE IM-RESOURCE \"phone\"\n", "SET VARIABLE IM-SHOW \"available\"\n",
  "SET VARIABLE IM-RESULT \"OK\"\n",
};

typedef struct {
  int fd;
  int env_done;
  int next;
  char buf[16384];
  size_t have;
} Conn;

int
main (int argc, char **argv)
{
  int port = argc > 1 ? atoi (argv[1]) : 4574;
  int ls = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt (ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind (ls, (struct sockaddr *) &a, sizeof a) || listen (ls, 512))
    {
      perror ("agi-floor");
      return 1;
    }
  fcntl (ls, F_SETFL, O_NONBLOCK);
  static struct pollfd p[MAXC + 1];
  static Conn *c[MAXC + 1];
  int n = 1;
  p[0].fd = ls;
  p[0].events = POLLIN;
  for (;;)
    {
      if (poll (p, n, -1) < 0)
        continue;
      if (p[0].revents & POLLIN)
        for (int fd; n <= MAXC && (fd = accept4 (ls, NULL, NULL, SOCK_NONBLOCK)) >= 0;)
          {
            setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            c[n] = calloc (1, sizeof (Conn));
            c[n]->fd = fd;
            p[n].fd = fd;
            p[n].events = POLLIN;
            p[n].revents = 0;
            n++;
          }
      for (int i = 1; i < n; i++)
        {
          if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          Conn *k = c[i];
          ssize_t r = read (k->fd, k->buf + k->have, sizeof k->buf - k->have);
          int done = r <= 0;
          if (r > 0)
            k->have += r;
          char *nl;
          while (!done && (nl = memchr (k->buf, '\n', k->have)) != NULL)
            {
              size_t l = nl - k->buf + 1;
              int empty = l == 1;
              memmove (k->buf, k->buf + l, k->have - l);
              k->have -= l;
              if (!k->env_done)
                {
                  if (!empty)
                    continue;
                  k->env_done = 1;
                }
              else
                k->next++; /* a reply to the previous command */
              if (k->next == (int) (sizeof cmds / sizeof *cmds))
                {
                  done = 1;
                  break;
                }
              if (write (k->fd, cmds[k->next], strlen (cmds[k->next])) < 0)
                done = 1;
            }
          if (done)
            {
              close (k->fd);
              free (k);
              p[i] = p[n - 1];
              c[i] = c[n - 1];
              n--;
              i--;
            }
        }
    }
}
