/* ims-http-private: what the parts of the HTTP front end share (the server
 * in ims-http.c, authentication, the event stream, the API routes); not an
 * interface for anyone else.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "ims-listener.h"

#include "ims-http.h"
#include "ims-rate.h"
#include "ims-render.h"
#include "ims-store-feed.h"

G_BEGIN_DECLS

/* RFC 6585; libsoup 3.2 has no name for it. */
#define IMS_HTTP_TOO_MANY_REQUESTS 429
/* RFC 9110 15.5.20: a request for a name this server does not answer to. */
#define IMS_HTTP_MISDIRECTED 421

struct _ImsHttp {
  ImsService svc;
  SoupServer *server;
  GList *streams;          /* Stream* */
  guint nstreams;          /* of them not ending */
  GHashTable *stream_users; /* web user -> streams of theirs not ending */
  ImsStoreFeed *feed;      /* listening while a stream is open */
  guint people_watch;
  guint heartbeat_id;
  ImsRate *failures;       /* failed logins per remote address */
  GHashTable *sessions;    /* cookie token -> Session */
  GHashTable *waiting;     /* GSocket (ref) -> deadline: connections owing a request */
  GHashTable *sockets;     /* "client address|port" -> GSocket (ref): every connection */
  guint reaper_id;
  gint64 full_logged;      /* when httpmaxconn was last logged: once a minute at most */
  gboolean tls;
  GTlsCertificate *cert;   /* httpcert/httpkey, or NULL */
  ImsListener *listener;
};

/* The socket @msg came on, NULL once it is closed. */
GSocket *ims_http_socket (ImsHttp *self, SoupServerMessage *msg);

typedef struct {
  char *user;
  char *csrf;              /* the token every change must carry */
  guint secret_hash;       /* of the secret logged in with: a new one ends the session */
  gint64 expires;          /* monotonic µs */
} Session;

typedef struct {
  ImsHttp *owner;
  GList *link;             /* in owner->streams */
  SoupServerMessage *msg;  /* until its connection is taken from libsoup, then NULL */
  GIOStream *io;           /* the connection once taken */
  GSocket *sock;           /* its socket (looked at for the client going away) */
  GPollableOutputStream *out;
  GSource *writable;       /* only while the socket is full */
  GQueue queue;            /* GBytes: rendered chunks not yet written */
  gsize offset;            /* of the first chunk, already written */
  char *user;
  guint secret_hash;       /* of the user's secret when the stream began */
  char *session;           /* the cookie's token when a board session opened it, else NULL */
  gsize backlog;           /* queued, not yet written */
  gsize allowance;         /* backlog allowed: 1 MiB, plus the snapshot while it drains */
  guint close_id;          /* the idle that closes and frees an ended stream */
  gboolean ending;         /* ended: no more events; freed by close_id */
} Stream;

/* ---- answers (ims-http.c) ---- */

/* The headers every answer carries (CSP, nosniff, no framing). */
void ims_http_headers (SoupServerMessage *msg);
void ims_http_json (SoupServerMessage *msg, guint status, JsonBuilder *b);
/* A JSON error carrying the IM-RESULT word @result. */
void ims_http_error (SoupServerMessage *msg, guint status, const char *result, const char *why);

/* ---- who is asking (ims-http-auth.c) ---- */

/* The user a request comes from, or NULL after answering 401/403/429. */
const ImsWebUser *ims_http_auth (ImsHttp *self, SoupServerMessage *msg);
/* The session token the request's cookie carries (transfer full), or NULL. */
char *ims_http_cookie (SoupServerMessage *msg);
/* The board session of a request, NULL when it has none. */
Session *ims_http_session (ImsHttp *self, SoupServerMessage *msg);
void ims_http_session_free (Session *se);
void ims_http_login (ImsHttp *self, SoupServerMessage *msg);
void ims_http_logout (ImsHttp *self, SoupServerMessage *msg);

/* ---- the event stream (ims-http-stream.c) ---- */

/* Every peer and buddy the user sees, then "synced", then every change. */
void ims_http_events (ImsHttp *self, SoupServerMessage *msg, const ImsWebUser *user);
gboolean ims_http_stream_gone (Stream *st);
void ims_http_stream_end (Stream *st);
void ims_http_stream_free (Stream *st);
/* Hear the store's feed (and beat the heart); stop and end every stream. */
void ims_http_stream_watch (ImsHttp *self);
void ims_http_stream_unwatch (ImsHttp *self);
/* Ends every stream whose user is gone, whose secret changed, or whose
 * board session ended (logout, expiry). */
void ims_http_streams_recheck (ImsHttp *self);

/* ---- the API (ims-http-api.c) ---- */

ImsRenderPeer ims_http_peer_view (ImsHttp *self, const ImsPeerConfig *p);
void ims_http_buddy (ImsHttp *self, JsonBuilder *b, const char *peer, const char *id,
                     const ImsAnswer *a, const ImsAnswer *old);
/* The request body as a JSON object (NULL when it is not one). */
JsonObject *ims_http_body_object (SoupServerMessage *msg, JsonParser *parser);
/* A string member of @o, NULL when absent or not a string. */
const char *ims_http_member (JsonObject *o, const char *name);
/* libsoup's handler for /api/v1: the route table. */
void ims_http_api_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
                           GHashTable *query, gpointer data);

G_END_DECLS
