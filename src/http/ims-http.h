/* ims-http: the HTTP API (libsoup 3, on the main loop) for scripts and the
 * presence board: /api/v1/peers, /api/v1/peers/{peer}/buddies,
 * /api/v1/status/{peer}/{user}, /api/v1/send, /api/v1/dial and
 * /api/v1/events (Server-Sent Events); the board itself at / (compiled-in
 * resources).  Users are im.conf's type = webuser sections: scripts by HTTP
 * Basic, the board by a login form and an HttpOnly SameSite=Strict session
 * cookie with a per-session token for every change.
 */
#pragma once

#include "ims-config.h"
#include "ims-presence-store.h"
#include "ims-service.h"

G_BEGIN_DECLS

#define IMS_HTTP_MAX_BODY 16384
#define IMS_HTTP_MAX_STREAMS_PER_USER 8
#define IMS_HTTP_MAX_STREAM_BACKLOG (1024 * 1024)
#define IMS_HTTP_STREAM_SNDBUF (64 * 1024) /* the kernel's send buffer of a stream */
#define IMS_HTTP_HEARTBEAT_S 15
#define IMS_HTTP_LOGIN_FAILURES_PER_MINUTE 10  /* per address and user */
#define IMS_HTTP_LOGIN_FAILURES_PER_ADDRESS 100 /* per address, whatever the user */
#define IMS_HTTP_SESSION_S (12 * 3600)
#define IMS_HTTP_MAX_SESSIONS 4096
/* One user holds at most this many; a new login ends the oldest. */
#define IMS_HTTP_MAX_SESSIONS_PER_USER 32

typedef struct _ImsHttp ImsHttp;

/* Listens on @bind ("127.0.0.1:8080"); HTTPS when @cert and @key are set. */
ImsHttp *ims_http_new (const char *bind, const char *cert, const char *key,
                       const ImsService *svc, GError **error);
void ims_http_free (ImsHttp *http);
/* The configuration was reloaded: streams and sessions of users removed, or
 * whose secret changed, end now. */
void ims_http_reloaded (ImsHttp *http);

G_END_DECLS
