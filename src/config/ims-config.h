/* ims-config: im.conf in Asterisk config syntax.
 *
 * Two stages, both pure (no sockets, no globals): a strict lexer that turns the
 * text (with #include) into sections of key/value entries, and a typed key table
 * that checks them and fills ImsConfig.  Every error is collected as
 * "file:line: message"; the caller reports all of them and refuses to start.
 */
#pragma once

#include <glib.h>

#include "ims-network.h"
#include "ims-vocab.h"

G_BEGIN_DECLS

#define IMS_CONFIG_ERROR (ims_config_error_quark ())
GQuark ims_config_error_quark (void);

typedef enum {
  IMS_CONFIG_ERROR_INVALID, /* file:line errors, a line each (the first IMS_CONFIG_MAX_ERRORS) */
  IMS_CONFIG_ERROR_IO,
} ImsConfigError;

#define IMS_CONFIG_DEFAULT_PATH IMS_VOCAB_CONFIG_PATH
#define IMS_CONFIG_MAX_FILE_SIZE (1024 * 1024)
#define IMS_CONFIG_MAX_LINE 4096
#define IMS_CONFIG_MAX_VALUE 1024
#define IMS_CONFIG_MAX_INCLUDE_DEPTH 8
#define IMS_CONFIG_MAX_TEMPLATE_DEPTH 8
/* #include in all: files read (a file included twice counts twice) and
 * their bytes, so includes of includes cannot multiply without a bound. */
#define IMS_CONFIG_MAX_INCLUDES 10000
#define IMS_CONFIG_MAX_INCLUDED_SIZE (16 * 1024 * 1024)
/* Errors reported for one file at most; the rest are counted in one line. */
#define IMS_CONFIG_MAX_ERRORS 100
#define IMS_CONFIG_MAX_SUBSCRIBE 20000
/* Settings in all sections once templates are copied in, each use of a
 * template counted as one more: a template used by many sections, or
 * templates of templates (empty ones too), cannot make a small file cost
 * unbounded time and memory. */
#define IMS_CONFIG_MAX_SETTINGS 500000

/* The values of ENUM keys are the index of the word in the key's choices:
 * these enums name them, the choices come from the macros beside them. */
typedef enum { IMS_RIGHTS_READ, IMS_RIGHTS_SEND, IMS_RIGHTS_ADMIN } ImsGroupRights;
#define IMS_RIGHTS_CHOICES "read|send|admin"
typedef enum { IMS_HINTS_INHERIT, IMS_HINTS_NO, IMS_HINTS_YES } ImsPeerHints;
#define IMS_PEER_HINTS_CHOICES "inherit|no|yes"
typedef enum { IMS_NO, IMS_YES } ImsYesNo;
#define IMS_YES_NO_CHOICES "no|yes"

/* lampaway, lampdnd: a device state, in IMS_LAMP_CHOICES order. */
typedef enum {
  IMS_LAMP_NOT_INUSE, IMS_LAMP_INUSE, IMS_LAMP_BUSY, IMS_LAMP_ONHOLD, IMS_LAMP_RINGING,
  IMS_LAMP_UNAVAILABLE,
} ImsLampState;
#define IMS_LAMP_CHOICES "not_inuse|inuse|busy|onhold|ringing|unavailable"
/* Asterisk's name of @state ("NOT_INUSE"...). */
const char *ims_lamp_state_name (ImsLampState state);

/* One IM peer section.  Strings are owned; NULL when not set. */
typedef struct {
  char *name;
  char *file;       /* where the section starts, for messages */
  guint line;
  char *username;
  char *secret;
  char *type;
  char *statusmessage;
  char *activewhen;
  GPtrArray *subscribe; /* char*, in file order, duplicates removed */
  char *host;
  int port;             /* 0 = protocol default */
  ImsTlsMode tls;
  char *cafile;
  char *cadir;
  char *resource;
  char *loginurl;       /* MSN: the login service (RST2.srf) */
  char *domain;         /* component: the domain whose users it sees */
  char *publish;        /* component: the dialplan context whose hints are contacts */
  GPtrArray *remote;    /* component: other PBXes' components whose phones are mirrored */
  char *phone;          /* device whose state becomes the IM status */
  char *busymessage;
  GPtrArray *dialallow; /* char*, ids that may ask for click-to-dial */
  char *dialsecret;
  char *dialtotp;       /* base32 secret of the one-time dial codes */
  GPtrArray *dialtargets; /* char*, what click-to-dial may call; empty = extensions */
  char *dialfrom;       /* the local phone rung first */
  char *dialcontext;    /* where the target is dialled */
  GPtrArray *acceptfrom; /* char*, who may send IMs; empty = subscribe + dialallow */
  GPtrArray *sendallow; /* char*, IMSend recipients (patterns); empty = subscribe */
  ImsPeerHints presencehints; /* inherit: [general]'s */
  int pinginterval;     /* seconds between XMPP pings (XEP-0199) */
  int pingtimeout;      /* seconds without an answer before reconnecting */
} ImsPeerConfig;

/* A user of the presence board and HTTP API: a section with type = webuser. */
typedef struct {
  char *name;
  char *file;
  guint line;
  char *type;           /* "webuser" */
  char *secret;
  GPtrArray *peers;     /* char*, the peers this user sees; empty = all */
  ImsYesNo send;        /* may send IMs */
  ImsYesNo dial;        /* may use click-to-dial */
  char *phone;          /* the device their click-to-dial rings first */
  ImsYesNo dnd;         /* may switch the DND of the people it sees */
  char *person;         /* the person it is (may switch her own DND); NULL = none */
} ImsWebUser;

/* A person: her phone, her IM identities and her do-not-disturb switch as
 * one presence (a section with type = person). */
typedef struct {
  char *name;
  char *file;
  guint line;
  char *type;           /* "person" */
  char *extension;      /* her hint, "exten@context"; NULL = none */
  GPtrArray *im;        /* char*, her identities "peer/user" */
  char *dnd;            /* the Custom: device of her DND switch; NULL = none */
  char *queuemember;    /* the interface of her queue memberships; NULL = none */
} ImsPerson;

typedef struct {
  char *path;
  char *controlsocket;
  char *statedir;
  char *agibind;
  GPtrArray *agiallow;  /* char*, "addr" or "addr/prefix" */
  int agitimeout;       /* seconds a FastAGI client may stay silent */
  int outboxttl;        /* seconds a queued IMSend is kept */
  int outboxmax;        /* messages the outbox holds at most */
  int controltimeout;   /* seconds an idle imctl connection is kept */
  char *controlgroup;   /* group that may use the control socket, NULL = none */
  ImsGroupRights controlgrouprights; /* what that group may do */
  char *amihost;        /* NULL: no AMI */
  int amiport;
  char *amiuser;
  char *amisecret;
  ImsYesNo amitls;      /* AMI over TLS (Asterisk's manager.conf tlsenable) */
  char *amicafile;      /* CA to trust for amitls, NULL = the system's */
  char *spooldir;       /* Asterisk's outgoing call-file spool */
  ImsYesNo presencehints; /* keep Custom:/CustomPresence: states over AMI */
  ImsLampState lampaway; /* the device state lamps show for away */
  ImsLampState lampdnd;  /* ... and for do not disturb */
  char *httpbind;       /* the HTTP API and board; NULL = off */
  char *httpcert;       /* PEM certificate for HTTPS */
  char *httpkey;        /* its private key */
  int httptimeout;      /* seconds for a request to arrive, or a connection to idle */
  int httpmaxconn;      /* connections waiting for a request, at most: then the oldest goes */
  int httpmaxstreams;   /* event streams open at once, at most */
  GPtrArray *httphosts; /* char*, Host names the board answers besides httpbind's and localhost */
  GPtrArray *httpproxy; /* char*, addresses of reverse proxies whose X-Forwarded-For is trusted */
  GPtrArray *peers;     /* ImsPeerConfig*, in file order */
  GPtrArray *webusers;  /* ImsWebUser*, in file order */
  GPtrArray *people;    /* ImsPerson*, in file order */
  GPtrArray *warnings;  /* char*, "file: message"; not fatal */
  GHashTable *peer_index;    /* name -> ImsPeerConfig* (in peers), for the find functions */
  GHashTable *webuser_index; /* name -> ImsWebUser* (in webusers) */
  GHashTable *person_index;  /* name -> ImsPerson* (in people) */
  /* The networks the peers were checked against (the registry; not owned);
   * NULL: no network checks (imctl reads only the paths). */
  const ImsNetwork *const *networks;
} ImsConfig;

/* @networks: the registry (NULL-terminated) that type= words, network keys
 * and account checks are held against; NULL skips those checks. */
ImsConfig *ims_config_load (const char *path, const ImsNetwork *const *networks, GError **error);
/* Parse text as if read from @path (includes are resolved relative to it). */
ImsConfig *ims_config_parse (const char *path, const char *text, gsize len,
                             const ImsNetwork *const *networks, GError **error);
void ims_config_free (ImsConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsConfig, ims_config_free)

const ImsPeerConfig *ims_config_find_peer (const ImsConfig *config, const char *name);
const ImsWebUser *ims_config_find_webuser (const ImsConfig *config, const char *name);
const ImsPerson *ims_config_find_person (const ImsConfig *config, const char *name);
/* May @user see @peer? */
gboolean ims_webuser_sees (const ImsWebUser *user, const char *peer);
/* May @user see @person: it sees every peer, or one of her identities' peers,
 * or it is her (a person with only a phone is seen by all). */
gboolean ims_webuser_sees_person (const ImsWebUser *user, const ImsPerson *person);
/* May @user switch @person's DND: the dnd right and seeing her, or being her. */
gboolean ims_webuser_may_dnd (const ImsWebUser *user, const ImsPerson *person);
/* TRUE when activewhen names a device rather than "always". */
gboolean ims_peer_config_has_activewhen_device (const ImsPeerConfig *peer);

/* ---- the key table ----
 * One row per im.conf key is the single source of truth: the parser, the
 * defaults, free/copy/equal, the reload diff, the secrets to redact and the
 * per-type checks all iterate it. */

typedef enum {
  IMS_KEY_GENERAL,
  IMS_KEY_PEER,
  IMS_KEY_WEBUSER,
  IMS_KEY_PERSON,
} ImsKeyScope;

typedef enum {
  IMS_KEY_STRING,   /* any text */
  IMS_KEY_PATH,     /* a file name */
  IMS_KEY_NAME,     /* letters, digits, _-.: */
  IMS_KEY_DEVICE,   /* an Asterisk device: also / @ + */
  IMS_KEY_INT,      /* min..max */
  IMS_KEY_ENUM,     /* one of choices ("a|b|c"), stored as its index */
  IMS_KEY_LIST,     /* comma-separated, repeatable; choices = forbidden chars */
  IMS_KEY_ADDRESS,  /* IP address with an optional :port */
  IMS_KEY_PREFIXES, /* list of IP addresses or address/prefix */
  IMS_KEY_TOTP,     /* a base32 secret of one-time codes (RFC 6238) */
} ImsKeyType;

typedef enum {
  IMS_KEY_REQUIRED = 1 << 0,
  IMS_KEY_SECRET = 1 << 1,  /* wiped on free, redacted from every log line */
  IMS_KEY_RESTART = 1 << 2, /* [general]: a change takes effect at the next restart */
  IMS_KEY_LIVE = 1 << 3,    /* peer: a change applies without logging in again */
  IMS_KEY_NETWORK = 1 << 4, /* peer: only for networks whose descriptor lists it in keys */
} ImsKeyFlags;

typedef struct {
  const char *name;
  ImsKeyScope scope;
  ImsKeyType type;
  gsize offset;         /* into ImsConfig or ImsPeerConfig */
  int min, max;         /* IMS_KEY_INT bounds */
  const char *choices;  /* IMS_KEY_ENUM: "a|b|c"; IMS_KEY_LIST: forbidden characters */
  const char *def;      /* default, in im.conf syntax; NULL = unset */
  ImsKeyFlags flags;
  const char *help;     /* one line, for the man page and errors */
} ImsConfigKey;

/* The table (for tests and documentation). */
const ImsConfigKey *ims_config_keys (gsize *n_keys);

typedef enum {
  IMS_PEER_SAME,   /* nothing changed */
  IMS_PEER_LIVE,   /* only IMS_KEY_LIVE keys changed: no new login needed */
  IMS_PEER_LOGIN,  /* a login key changed: log out and in again */
} ImsPeerChange;

/* What a reload means for a peer; only the table decides. */
ImsPeerChange ims_peer_config_diff (const ImsPeerConfig *old, const ImsPeerConfig *fresh);
/* TRUE when both describe the same peer in every key. */
gboolean ims_peer_config_equal (const ImsPeerConfig *a, const ImsPeerConfig *b);
ImsPeerConfig *ims_peer_config_copy (const ImsPeerConfig *peer);
void ims_peer_config_free (ImsPeerConfig *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImsPeerConfig, ims_peer_config_free)
/* Names of the IMS_KEY_RESTART keys that differ, space-separated; NULL when
 * none (transfer full). */
char *ims_config_restart_changes (const ImsConfig *old, const ImsConfig *fresh);
/* Every secret value in @config (transfer container; strings borrowed). */
GPtrArray *ims_config_secrets (const ImsConfig *config);
/* The own id for a peer: username, "@host" added when it has no '@' and the
 * network's ids have a domain; lowercased, without a resource (transfer full). */
char *ims_config_own_id (const ImsPeerConfig *peer, gboolean bare_ids);
/* The account a driver logs @peer in with, as its network (from the
 * registry) completes it: own id, domain, default host.  *id and *domain
 * (transfer full) hold what the account points to. */
void ims_config_peer_account (const ImsConfig *config, const ImsPeerConfig *peer,
                              ImsAccount *account, char **id, char **domain);

/* The lexer alone, for tests and the fuzzer: returns the number of sections, or
 * -1 with all errors in @error. */
int ims_config_lex (const char *path, const char *text, gsize len, GError **error);

G_END_DECLS
