/* ims-agi-wire: the FastAGI connections, on a thread of their own.
 *
 * Asterisk opens one connection per AGI() call and the session is ten
 * round trips of bytes: accepting, reading the environment, writing the
 * commands and reading their replies is all a FastAGI server does, and on
 * the main loop it cost twice what the protocol needs (BENCHMARKS.md).  So
 * the wire runs them on one thread with epoll over plain descriptors.
 * When a session's environment is in, the script runs on that thread
 * holding the main loop's lock (ims-loop-lock.h: the loop is waiting in
 * poll(), so it is not woken): it reads the store as a main-loop callback
 * would and answers with the commands to send, at once, or later from the
 * main loop (a W(x) wait, IMSend).  The wire's own lock guards only the
 * answers coming back and the agiallow masks.
 */
#pragma once

#include <gio/gio.h>

#include "ims-agi-proto.h"

G_BEGIN_DECLS

#define IMS_AGI_MAX_SESSIONS 1024
/* One address may hold at most this many: a client in agiallow cannot take
 * every slot (local users share 127.0.0.1 with Asterisk: for them the
 * defence is sendallow, the quotas and a privileged agibind port). */
#define IMS_AGI_MAX_SESSIONS_PER_ADDRESS 512

typedef struct _ImsAgiWire ImsAgiWire;

/* One session's environment on its way to the script, and its answer on
 * the way back. */
typedef struct {
  guint64 id;        /* the session's (the wire's, to find it again) */
  ImsAgiEnv *env;    /* complete (owned) */
  char *from;        /* "address:port", for logs */
  GPtrArray *cmds;   /* the answer: the commands, in order (char*, owned) */
  int jump_priority; /* a "GET FULL VARIABLE ${DIALPLAN_EXISTS(" command that
                        comes back 1 is followed by SET PRIORITY this */
} ImsAgiJob;

void ims_agi_job_free (ImsAgiJob *job);

/* For each session whose environment is complete, on the wire's thread
 * holding the main loop's lock: fill @job->cmds and hand it back with
 * ims_agi_wire_answer, then or later (from the main loop). */
typedef void (*ImsAgiRunFunc) (ImsAgiJob *job, gpointer user_data);

/* Listens on @addr and starts the thread (on the main loop's thread, which
 * from now on holds the loop's lock but while it polls).  @masks: GInetAddressMask* that
 * may connect (ref taken).  @timeout_s: a client silent for longer while we
 * wait for its environment or a reply is dropped. */
ImsAgiWire *ims_agi_wire_new (GSocketAddress *addr, GPtrArray *masks, guint timeout_s,
                              ImsAgiRunFunc run, gpointer user_data, GError **error);
/* New connections are held to @masks (ref taken). */
void ims_agi_wire_set_allow (ImsAgiWire *wire, GPtrArray *masks);
/* The job (transfer full) goes back to its session; dropped when the
 * session has ended meanwhile.  From the run function or the main loop. */
void ims_agi_wire_answer (ImsAgiWire *wire, ImsAgiJob *job);
/* Stops the thread and closes every session; jobs not answered are freed. */
void ims_agi_wire_free (ImsAgiWire *wire);

G_END_DECLS
