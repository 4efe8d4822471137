/* ims-agi-wire: the FastAGI connections, as one main-loop source.
 *
 * Asterisk opens one connection per AGI() call and a session is ten round
 * trips of bytes: accepting, reading the environment, writing the commands
 * and reading their replies is all a FastAGI server does.  Each connection
 * as a GSocketConnection with its own source and line reader cost twice
 * what the protocol needs (BENCHMARKS.md), so the wire keeps plain
 * descriptors, all of them in one main-loop source: the loop's own poll()
 * is the only wait, one wake-up a round trip, whatever the number of
 * sessions.  When a session's environment is in, the script (the server's
 * run function) answers with the commands to send, at once or later (a W(x)
 * wait) through ims_agi_wire_answer.
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

/* For each session whose environment is complete: fill @job->cmds and
 * hand it back with ims_agi_wire_answer, then or later. */
typedef void (*ImsAgiRunFunc) (ImsAgiJob *job, gpointer user_data);

/* Listens on @addr, on the default main context.  @masks: GInetAddressMask* that
 * may connect (ref taken).  @timeout_s: a client silent for longer while we
 * wait for its environment or a reply is dropped. */
ImsAgiWire *ims_agi_wire_new (GSocketAddress *addr, GPtrArray *masks, guint timeout_s,
                              ImsAgiRunFunc run, gpointer user_data, GError **error);
/* New connections are held to @masks (ref taken). */
void ims_agi_wire_set_allow (ImsAgiWire *wire, GPtrArray *masks);
/* The job (transfer full) goes back to its session; dropped when the
 * session has ended meanwhile. */
void ims_agi_wire_answer (ImsAgiWire *wire, ImsAgiJob *job);
/* Closes every session; a job still with the script is its to free. */
void ims_agi_wire_free (ImsAgiWire *wire);

G_END_DECLS
