/* ims-network: what a network is, said once, in one descriptor that lives in
 * its driver's folder.  The registry (src/registry) lists the descriptors;
 * config checks, -n, imctl show peers, the reconnect probe and the man pages
 * read them from there, so nothing outside a driver's folder names its type=
 * words, its keys, its default server or its id rules.
 *
 * Plain GLib, below config: a descriptor names the driver's constructor by
 * forward-declared types only, so reading descriptors links no driver code.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  IMS_TLS_REQUIRED,
  IMS_TLS_OPTIONAL,
  IMS_TLS_OFF,
} ImsTlsMode;

/* What a driver logs in with, and what a descriptor's check_account() sees.
 * Strings are owned by whoever filled it (the core, or the config check) and
 * stay valid while the peer runs. */
typedef struct {
  const char *peer;          /* the im.conf section: the key of every call */
  const char *type;          /* as configured ("jabber", "irc", ...) */
  const char *username;      /* as written in im.conf */
  const char *id;            /* own id: username, "@host" added when it has no '@' */
  const char *domain;        /* the part of id after '@', NULL when none */
  const char *secret;        /* the password, NULL when none */
  const char *host;          /* server: configured, else the network's default; NULL = domain */
  int port;                  /* 0 = the network's default_port */
  ImsTlsMode tls;
  const char *cafile;        /* CA to trust for this account, NULL when none */
  const char *cadir;
  const char *resource;      /* XMPP resource ("imstatus" by default) */
  int pinginterval;          /* seconds between keepalive pings */
  int pingtimeout;           /* seconds without an answer before giving up */
  const char *statusmessage; /* own status text while available */
  const char *loginurl;      /* MSN login service, NULL = the network's */
  const GPtrArray *remote;   /* component: other PBXes' components (char*), NULL or empty: none */
} ImsAccount;

struct _ImsCore;
struct _ImsDriver;
struct _ImsDriverSetup;
/* A driver's constructor (ims-driver.h has the types). */
typedef struct _ImsDriver *(*ImsDriverNewFunc) (struct _ImsCore *core,
                                                const struct _ImsDriverSetup *setup,
                                                GError **error);

typedef struct _ImsNetwork ImsNetwork;
struct _ImsNetwork {
  const char *name;             /* for people: "AIM", "XMPP" */
  const char *driver;           /* for logs: "oscar", "libpurple" */
  /* The type= words it serves, NULL-terminated; NULL: any type no other
   * network claims, if the driver's supports() accepts it (libpurple). */
  const char *const *types;
  const char *summary;          /* one line for im.conf(5) */
  /* The peer keys it reads beyond the common ones (keys flagged
   * IMS_KEY_NETWORK in the config table), NULL-terminated or NULL. */
  const char *const *keys;
  const char *default_host;     /* the server when host= is not set; NULL = the id's domain */
  int default_port;             /* 0 = none known */
  gboolean bare_ids;            /* ids have no domain (screen names, Yahoo IDs) */
  gboolean whole_domain;        /* subscribe = * means every user of the peer's domain */
  /* Is @id (username or buddy) usable on the wire?  NULL = any.  id_rule
   * says what a valid id looks like, for errors. */
  gboolean (*id_valid) (const char *id);
  const char *id_rule;
  /* What travels in clear on this network; NULL when it has TLS (then the
   * tls key applies and its weaker settings are warned about). */
  const char *cleartext;
  gboolean pong;                /* keepalives are answered (pingtimeout applies) */
  gsize max_message;            /* bytes of text one IM carries; longer texts go in pieces; 0 = no limit */
  const char *show_words;       /* the IM-SHOW words it reports, for imstatusd(8) */
  /* The network's own checks of an account, beyond id_valid: each problem
   * one line without location (config adds "file:line: [peer] "). */
  void (*check_account) (const ImsAccount *account, GPtrArray *errors, GPtrArray *warnings);
  ImsDriverNewFunc new_driver;
};

/* The network of @type in @networks (NULL-terminated): the first whose types
 * list it, else the first with types == NULL; NULL when none (or when
 * @networks is NULL). */
const ImsNetwork *ims_network_find (const ImsNetwork *const *networks, const char *type);
/* Does @net name @type among its words? */
gboolean ims_network_names (const ImsNetwork *net, const char *type);
/* Does @net read the network key @key? */
gboolean ims_network_reads (const ImsNetwork *net, const char *key);
/* The type= words of every network that reads @key, "a/b/c" (transfer full);
 * "" when none. */
char *ims_network_types_reading (const ImsNetwork *const *networks, const char *key);
/* Every type= word, "a, b, c" (transfer full). */
char *ims_network_type_words (const ImsNetwork *const *networks, const char *sep);

G_END_DECLS
