/* ims-config-keys: the typed key table, the single source of truth for
 * im.conf keys, and what is driven by it: checking and storing a value,
 * defaults, free, copy, equal, the reload diff, the secrets.
 */
#define G_LOG_DOMAIN "ims-config"

#include "ims-config-private.h"

#include <string.h>

#include "ims-totp.h"


/* ---- the key table ---- */

#define GEN(t, f) IMS_KEY_GENERAL, IMS_KEY_##t, G_STRUCT_OFFSET (ImsConfig, f)
#define WEB(t, f) IMS_KEY_WEBUSER, IMS_KEY_##t, G_STRUCT_OFFSET (ImsWebUser, f)
#define PERSON(t, f) IMS_KEY_PERSON, IMS_KEY_##t, G_STRUCT_OFFSET (ImsPerson, f)
#define PEER(t, f) IMS_KEY_PEER, IMS_KEY_##t, G_STRUCT_OFFSET (ImsPeerConfig, f)

/* The single source of truth for im.conf keys: a new key is one row here
 * plus its field in ImsConfig or ImsPeerConfig. */
static const ImsConfigKey ims_config_key_table[] = {
  /* name, scope/type/field, min, max, choices, default, flags, help */
  { "controlsocket", GEN (PATH, controlsocket), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "UNIX socket of imctl (default: statedir/" IMS_VOCAB_SOCKET_NAME ")" },
  { "statedir", GEN (PATH, statedir), 0, 0, NULL, IMS_VOCAB_STATEDIR, IMS_KEY_RESTART,
    "directory of the state database and libpurple's files" },
  { "agibind", GEN (ADDRESS, agibind), 0, 0, NULL, "127.0.0.1:4573", IMS_KEY_RESTART,
    "address:port of the FastAGI server" },
  { "agiallow", GEN (PREFIXES, agiallow), 0, 0, " \t|\"'", "127.0.0.0/8, ::1", 0,
    "addresses or address/prefix allowed to use FastAGI" },
  { "agitimeout", GEN (INT, agitimeout), 1, 3600, NULL, "10", IMS_KEY_RESTART,
    "seconds a FastAGI client may stay silent" },
  { "outboxttl", GEN (INT, outboxttl), 1, 604800, NULL, "600", 0,
    "seconds a queued IMSend is kept" },
  { "outboxmax", GEN (INT, outboxmax), 1, 1000000, NULL, "1000", 0,
    "messages the outbox holds at most, per peer" },
  { "controltimeout", GEN (INT, controltimeout), 1, 3600, NULL, "60", 0,
    "seconds an idle imctl connection is kept" },
  { "controlgroup", GEN (NAME, controlgroup), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "group (e.g. asterisk) whose members may use the control socket" },
  { "controlgrouprights", GEN (ENUM, controlgrouprights), 0, 0, IMS_RIGHTS_CHOICES, "read", 0,
    "what controlgroup may do: read (show, status, watch), send, or admin (reload, debug)" },
  { "amihost", GEN (NAME, amihost), 0, 0, NULL, NULL, 0,
    "Asterisk manager host (unset: no AMI)" },
  { "amiport", GEN (INT, amiport), 1, 65535, NULL, "5038", 0, "Asterisk manager port" },
  { "amiuser", GEN (NAME, amiuser), 0, 0, NULL, NULL, 0, "manager.conf user" },
  { "amisecret", GEN (STRING, amisecret), 0, 0, NULL, NULL, IMS_KEY_SECRET,
    "manager.conf secret" },
  { "amitls", GEN (ENUM, amitls), 0, 0, IMS_YES_NO_CHOICES, "no", 0,
    "AMI over TLS (manager.conf tlsenable; amiport is then its tlsbindaddr port)" },
  { "amicafile", GEN (PATH, amicafile), 0, 0, NULL, NULL, 0,
    "PEM file of the CA that signed Asterisk's manager certificate (default: the system's)" },
  { "presencehints", GEN (ENUM, presencehints), 0, 0, IMS_YES_NO_CHOICES, "no", 0,
    "keep Custom:<peer>:<user> and CustomPresence:<peer>:<user> states up to date over AMI" },
  { "lampaway", GEN (ENUM, lampaway), 0, 0, IMS_LAMP_CHOICES, "not_inuse", 0,
    "the device state IM: and Custom: lamps show for away (phones that read only device "
    "state: most brands but Digium/Sangoma)" },
  { "lampdnd", GEN (ENUM, lampdnd), 0, 0, IMS_LAMP_CHOICES, "inuse", 0,
    "the device state IM: and Custom: lamps show for do not disturb" },
  { "httpbind", GEN (ADDRESS, httpbind), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "address:port of the HTTP API and presence board (unset: off; loopback unless httpcert)" },
  { "httpcert", GEN (PATH, httpcert), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "PEM certificate (chain) for HTTPS" },
  { "httpkey", GEN (PATH, httpkey), 0, 0, NULL, NULL, IMS_KEY_RESTART,
    "PEM private key of httpcert" },
  { "httptimeout", GEN (INT, httptimeout), 1, 3600, NULL, "30", 0,
    "seconds an HTTP client may take to send its request (a connection serves one)" },
  { "httpmaxconn", GEN (INT, httpmaxconn), 8, 16384, NULL, "256", 0,
    "HTTP connections held open waiting for a request, at most; past it the longest-waiting "
    "one is closed (event streams are counted apart)" },
  { "httpmaxstreams", GEN (INT, httpmaxstreams), 1, 65536, NULL, "2048", 0,
    "event streams (/api/v1/events) open at once, at most (8 per web user)" },
  { "httphosts", GEN (LIST, httphosts), 0, 0, " \t/|\"';@", NULL, 0,
    "names the board is reached by besides httpbind's address and localhost (behind a "
    "reverse proxy: its public name); a request naming another Host gets 421" },
  { "httpproxy", GEN (PREFIXES, httpproxy), 0, 0, " \t|\"'", NULL, 0,
    "addresses of reverse proxies in front of the board: their X-Forwarded-For names the "
    "client (for the failed-login limit); nobody else's is believed" },
  { "spooldir", GEN (PATH, spooldir), 0, 0, NULL, "/var/spool/asterisk/outgoing", 0,
    "Asterisk's outgoing call-file spool" },

  { "type", PEER (NAME, type), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "IM network: a word from NETWORKS, or another libpurple protocol" },
  { "username", PEER (STRING, username), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "the account the robot logs in as" },
  { "secret", PEER (STRING, secret), 0, 0, NULL, NULL, IMS_KEY_SECRET,
    "its password" },
  { "host", PEER (NAME, host), 0, 0, NULL, NULL, 0,
    "server to connect to (default: the network's, else the username's domain)" },
  { "port", PEER (INT, port), 1, 65535, NULL, NULL, 0,
    "server port (default: the network's)" },
  { "tls", PEER (ENUM, tls), 0, 0, "required|optional|off", "required", 0,
    "TLS to the server" },
  { "cafile", PEER (PATH, cafile), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "PEM file of a CA to trust" },
  { "cadir", PEER (PATH, cadir), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "directory of PEM CA files to trust" },
  { "resource", PEER (STRING, resource), 0, 0, NULL, "imstatus", IMS_KEY_NETWORK,
    "XMPP resource of the robot" },
  { "domain", PEER (STRING, domain), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "the domain whose users an XMPP component sees as buddies (and where a buddy without @ "
    "belongs)" },
  { "publish", PEER (STRING, publish), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "a dialplan context whose hints an XMPP component shows as contacts <exten>@<component> "
    "(needs AMI)" },
  { "remote", PEER (LIST, remote), 0, 0, " \t/|\"';@*?", NULL, IMS_KEY_NETWORK,
    "another PBX's XMPP component (repeatable): its phones become buddies <exten>@<remote>, "
    "and it may watch ours" },
  { "loginurl", PEER (STRING, loginurl), 0, 0, NULL, NULL, IMS_KEY_NETWORK,
    "MSN login service (RST2.srf) (default: https://login.live.com/RST2.srf)" },
  { "pinginterval", PEER (INT, pinginterval), 1, 3600, NULL, "30", IMS_KEY_NETWORK,
    "seconds between keepalives (XMPP pings, the native protocols' keepalives)" },
  { "pingtimeout", PEER (INT, pingtimeout), 1, 600, NULL, "10", IMS_KEY_NETWORK,
    "seconds without a ping answer before reconnecting" },
  { "statusmessage", PEER (STRING, statusmessage), 0, 0, NULL, NULL, 0,
    "the robot's own status text" },
  { "subscribe", PEER (LIST, subscribe), 0, 0, " \t/|\"'", NULL, IMS_KEY_LIVE,
    "buddies to watch (repeatable, comma-separated); * for every user of domain, where the "
    "network sees a whole domain" },
  { "acceptfrom", PEER (LIST, acceptfrom), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "who may send the robot IMs (UserEvents), or any (default: subscribe and dialallow)" },
  { "sendallow", PEER (LIST, sendallow), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "IMSend recipients: ids, patterns with * and ?, or any (default: subscribe)" },
  { "presencehints", PEER (ENUM, presencehints), 0, 0, IMS_PEER_HINTS_CHOICES, "inherit",
    IMS_KEY_LIVE, "this peer's presencehints (inherit: the [general] value)" },
  { "activewhen", PEER (DEVICE, activewhen), 0, 0, NULL, NULL, 0,
    "device whose availability keeps the peer logged in, or always" },
  { "phone", PEER (DEVICE, phone), 0, 0, NULL, NULL, 0,
    "device whose use makes the robot show busy" },
  { "busymessage", PEER (STRING, busymessage), 0, 0, NULL, NULL, 0,
    "status text while the phone is in use" },
  { "dialallow", PEER (LIST, dialallow), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "senders who may ask for click-to-dial" },
  { "dialsecret", PEER (STRING, dialsecret), 0, 0, NULL, NULL, IMS_KEY_SECRET | IMS_KEY_LIVE,
    "word a click-to-dial request must carry (not on networks without TLS: use dialtotp)" },
  { "dialtotp", PEER (TOTP, dialtotp), 0, 0, NULL, NULL, IMS_KEY_SECRET | IMS_KEY_LIVE,
    "base32 secret of the one-time code (RFC 6238, 6 digits, 30 s) a click-to-dial request "
    "must carry instead, each code once" },
  { "dialtargets", PEER (LIST, dialtargets), 0, 0, " \t/|\"';", NULL, IMS_KEY_LIVE,
    "what click-to-dial (IM or the board) may call: extensions (1 to 6 digits: this PBX's "
    "own), patterns with * and ? (+1215*, sip:*@pbx.example.org), or any (default: extensions)" },
  { "dialfrom", PEER (DEVICE, dialfrom), 0, 0, NULL, NULL, IMS_KEY_LIVE,
    "local phone rung first by click-to-dial" },
  { "dialcontext", PEER (NAME, dialcontext), 0, 0, NULL, NULL, IMS_KEY_LIVE,
    "dialplan context the target is dialled in" },

  { "type", WEB (NAME, type), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "webuser: a user of the HTTP API and board, not an IM peer" },
  { "secret", WEB (STRING, secret), 0, 0, NULL, NULL, IMS_KEY_REQUIRED | IMS_KEY_SECRET,
    "the user's password (HTTP Basic or the board's login form)" },
  { "peers", WEB (LIST, peers), 0, 0, " \t/|\"';", NULL, 0,
    "the peers the user sees (default: all)" },
  { "send", WEB (ENUM, send), 0, 0, IMS_YES_NO_CHOICES, "no", 0, "may send IMs" },
  { "dial", WEB (ENUM, dial), 0, 0, IMS_YES_NO_CHOICES, "no", 0, "may use click-to-dial" },
  { "phone", WEB (DEVICE, phone), 0, 0, NULL, NULL, 0,
    "the device the user's click-to-dial rings first" },
  { "dnd", WEB (ENUM, dnd), 0, 0, IMS_YES_NO_CHOICES, "no", 0,
    "may switch the do not disturb of the people it sees" },
  { "person", WEB (NAME, person), 0, 0, NULL, NULL, 0,
    "the person this user is: she may always switch her own do not disturb" },

  { "type", PERSON (NAME, type), 0, 0, NULL, NULL, IMS_KEY_REQUIRED,
    "person: one presence of a phone, IM identities and a DND switch, not an IM peer" },
  { "extension", PERSON (DEVICE, extension), 0, 0, NULL, NULL, 0,
    "her phone: the hint exten@context whose state is IM-PHONE" },
  { "im", PERSON (LIST, im), 0, 0, " \t|\"';", NULL, 0,
    "her IM identities as peer/user (repeatable); the most available answers" },
  { "dnd", PERSON (DEVICE, dnd), 0, 0, NULL, NULL, 0,
    "the Custom: device of her do-not-disturb switch (the dialplan's side of it)" },
  { "queuemember", PERSON (DEVICE, queuemember), 0, 0, NULL, NULL, 0,
    "the interface of her queue memberships (Local/205@agents): paused with reason dnd while "
    "DND is on" },

};
G_STATIC_ASSERT (IMS_TLS_REQUIRED == 0 && IMS_TLS_OPTIONAL == 1 && IMS_TLS_OFF == 2);
/* ENUM keys are stored as an int at the field's offset. */
G_STATIC_ASSERT (sizeof (ImsTlsMode) == sizeof (int) && sizeof (ImsYesNo) == sizeof (int)
                 && sizeof (ImsGroupRights) == sizeof (int) && sizeof (ImsPeerHints) == sizeof (int));

#undef GEN
#undef WEB
#undef PEER

const ImsConfigKey *
ims_config_keys (gsize *n_keys)
{
  *n_keys = G_N_ELEMENTS (ims_config_key_table);
  return ims_config_key_table;
}

const ImsConfigKey *
ims_config_key (ImsKeyScope scope, const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    if (ims_config_key_table[i].scope == scope && g_str_equal (ims_config_key_table[i].name, name))
      return &ims_config_key_table[i];
  return NULL;
}

char *
ims_config_key_names (ImsKeyScope scope)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    if (ims_config_key_table[i].scope == scope)
      g_string_append_printf (s, "%s%s", s->len ? " " : "", ims_config_key_table[i].name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}


gboolean
ims_key_is_list (const ImsConfigKey *k)
{
  return k->type == IMS_KEY_LIST || k->type == IMS_KEY_PREFIXES;
}

static gboolean
ims_key_is_string (const ImsConfigKey *k)
{
  return !ims_key_is_list (k) && k->type != IMS_KEY_INT && k->type != IMS_KEY_ENUM;
}

/* Does @k apply to a peer of @type?  A network key only where the type's
 * network reads it; without a registry (imctl), every key. */
gboolean
ims_key_applies (const ImsConfig *c, const ImsConfigKey *k, const char *type)
{
  if (!(k->flags & IMS_KEY_NETWORK) || type == NULL || c->networks == NULL)
    return TRUE;
  return ims_network_reads (ims_network_find (c->networks, type), k->name);
}

/* An IP address literal, with an optional :port ([v6]:port for IPv6). */
static gboolean
ims_config_check_address (const char *value)
{
  g_autofree char *host = NULL;
  const char *port = NULL;
  if (value[0] == '[')
    {
      const char *close = strchr (value, ']');
      if (close == NULL || (close[1] != '\0' && close[1] != ':'))
        return FALSE;
      host = g_strndup (value + 1, close - value - 1);
      port = close[1] == ':' ? close + 2 : NULL;
    }
  else
    {
      const char *colon = strchr (value, ':');
      if (colon && strchr (colon + 1, ':'))
        return g_hostname_is_ip_address (value); /* bare IPv6 */
      host = colon ? g_strndup (value, colon - value) : g_strdup (value);
      port = colon ? colon + 1 : NULL;
    }
  guint64 n;
  if (port && !g_ascii_string_to_unsigned (port, 10, 0, 65535, &n, NULL)) /* 0: any free port */
    return FALSE;
  return g_hostname_is_ip_address (host);
}

/* "addr" or "addr/prefix" with a prefix that fits the address family. */
static gboolean
ims_config_check_prefix (const char *item)
{
  const char *slash = strchr (item, '/');
  g_autofree char *addr = slash ? g_strndup (item, slash - item) : g_strdup (item);
  if (!g_hostname_is_ip_address (addr))
    return FALSE;
  if (slash == NULL)
    return TRUE;
  guint64 bits;
  guint64 max = strchr (addr, ':') ? 128 : 32;
  return g_ascii_string_to_unsigned (slash + 1, 10, 0, max, &bits, NULL);
}

/* Stores one entry into @base per its row; returns an error text or NULL. */
char *
ims_config_apply (const ImsConfigKey *k, gpointer base, const char *value, gboolean *seen,
                  GHashTable *listed)
{
  gpointer field = G_STRUCT_MEMBER_P (base, k->offset);

  if (!ims_key_is_list (k) && *seen)
    return g_strdup_printf ("%s given twice (it takes one value)", k->name);
  *seen = TRUE;

  switch (k->type)
    {
    case IMS_KEY_STRING:
    case IMS_KEY_PATH:
    case IMS_KEY_NAME:
    case IMS_KEY_DEVICE:
    case IMS_KEY_ADDRESS:
      if (*value == '\0')
        return g_strdup_printf ("%s: empty value", k->name);
      if ((k->type == IMS_KEY_NAME && !ims_config_is_name (value, "_-.:"))
          || (k->type == IMS_KEY_DEVICE && !ims_config_is_name (value, "_-.:/@+"))
          || (k->type == IMS_KEY_ADDRESS && !ims_config_check_address (value)))
        {
          g_autofree char *q = ims_config_quote (value);
          return g_strdup_printf ("%s: bad value %s%s", k->name, q,
                                  k->type == IMS_KEY_ADDRESS
                                      ? " (an IP address with an optional :port)"
                                      : "");
        }
      if (k->type == IMS_KEY_PATH && strchr (value, '\n'))
        return g_strdup_printf ("%s: bad path", k->name);
      g_free (*(char **) field);
      *(char **) field = g_strdup (value);
      return NULL;
    case IMS_KEY_TOTP:
      {
        /* The value is a secret: the error never shows it. */
        g_autofree char *why = NULL;
        if (!ims_totp_secret_ok (value, &why))
          return g_strdup_printf ("%s: %s", k->name, why);
        g_free (*(char **) field);
        *(char **) field = g_strdup (value);
        return NULL;
      }
    case IMS_KEY_INT:
      {
        gint64 v = 0;
        if (!g_ascii_string_to_signed (value, 10, k->min, k->max, &v, NULL))
          {
            g_autofree char *q = ims_config_quote (value);
            return g_strdup_printf ("%s: %s is not a number from %d to %d", k->name, q, k->min,
                                    k->max);
          }
        *(int *) field = (int) v;
        return NULL;
      }
    case IMS_KEY_ENUM:
      {
        g_auto (GStrv) choices = g_strsplit (k->choices, "|", -1);
        for (int i = 0; choices[i]; i++)
          if (g_ascii_strcasecmp (choices[i], value) == 0)
            {
              *(int *) field = i;
              return NULL;
            }
        g_autofree char *q = ims_config_quote (value);
        g_autofree char *alts = g_strjoinv (", ", choices);
        return g_strdup_printf ("%s: %s is not one of %s", k->name, q, alts);
      }
    case IMS_KEY_LIST:
    case IMS_KEY_PREFIXES:
      {
        GPtrArray **list = field;
        if (*list == NULL)
          *list = g_ptr_array_new_with_free_func (g_free);
        g_auto (GStrv) items = g_strsplit (value, ",", -1);
        for (char **it = items; *it; it++)
          {
            char *item = g_strstrip (*it);
            if (*item == '\0' || strpbrk (item, k->choices) != NULL
                || (k->type == IMS_KEY_PREFIXES && !ims_config_check_prefix (item)))
              {
                g_autofree char *q = ims_config_quote (item);
                return g_strdup_printf ("%s: bad list item %s%s", k->name, q,
                                        k->type == IMS_KEY_PREFIXES
                                            ? " (an IP address or address/prefix)"
                                            : "");
              }
            if (!g_hash_table_add (listed, g_strconcat (k->name, "\n", item, NULL)))
              continue; /* a repeat */
            if ((*list)->len >= IMS_CONFIG_MAX_SUBSCRIBE)
              return g_strdup_printf ("%s: more than %d items", k->name, IMS_CONFIG_MAX_SUBSCRIBE);
            g_ptr_array_add (*list, g_strdup (item));
          }
        return NULL;
      }
    }
  g_assert_not_reached ();
}

/* Fills every key of @scope that was not given from its default; lists are
 * never left NULL. */
void
ims_config_apply_defaults (ImsKeyScope scope, gpointer base, const gboolean *seen)
{
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != scope)
        continue;
      GPtrArray **list = G_STRUCT_MEMBER_P (base, k->offset);
      if (k->def && !seen[i])
        {
          gboolean again = FALSE;
          g_autofree char *why = ims_config_apply (k, base, k->def, &again, listed);
          g_assert (why == NULL); /* the table's own defaults are valid */
        }
      if (ims_key_is_list (k) && *list == NULL)
        *list = g_ptr_array_new_with_free_func (g_free);
    }
}

/* ---- free, copy, equal: driven by the table ---- */

static void
ims_config_fields_free (ImsKeyScope scope, gpointer base)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != scope)
        continue;
      gpointer field = G_STRUCT_MEMBER_P (base, k->offset);
      if (ims_key_is_list (k))
        g_clear_pointer ((GPtrArray **) field, g_ptr_array_unref);
      else if (ims_key_is_string (k))
        {
          char **s = field;
          if (*s && (k->flags & IMS_KEY_SECRET))
            memset (*s, 0, strlen (*s));
          g_clear_pointer (s, g_free);
        }
    }
}

static GPtrArray *
ims_config_list_copy (const GPtrArray *list)
{
  GPtrArray *c = g_ptr_array_new_full (list ? list->len : 0, g_free);
  for (guint i = 0; list && i < list->len; i++)
    g_ptr_array_add (c, g_strdup (list->pdata[i]));
  return c;
}

static gboolean
ims_config_list_equal (const GPtrArray *a, const GPtrArray *b)
{
  guint na = a ? a->len : 0, nb = b ? b->len : 0;
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (!g_str_equal (a->pdata[i], b->pdata[i]))
      return FALSE;
  return TRUE;
}

static gboolean
ims_config_field_equal (const ImsConfigKey *k, gconstpointer a, gconstpointer b)
{
  gconstpointer fa = G_STRUCT_MEMBER_P (a, k->offset), fb = G_STRUCT_MEMBER_P (b, k->offset);
  if (ims_key_is_list (k))
    return ims_config_list_equal (*(GPtrArray *const *) fa, *(GPtrArray *const *) fb);
  if (ims_key_is_string (k))
    return g_strcmp0 (*(char *const *) fa, *(char *const *) fb) == 0;
  return *(const int *) fa == *(const int *) fb;
}

void
ims_webuser_free (ImsWebUser *u)
{
  if (u == NULL)
    return;
  g_free (u->name);
  g_free (u->file);
  ims_config_fields_free (IMS_KEY_WEBUSER, u);
  g_free (u);
}

void
ims_person_free (ImsPerson *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->file);
  ims_config_fields_free (IMS_KEY_PERSON, p);
  g_free (p);
}

void
ims_peer_config_free (ImsPeerConfig *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->file);
  ims_config_fields_free (IMS_KEY_PEER, p);
  g_free (p);
}

ImsPeerConfig *
ims_peer_config_copy (const ImsPeerConfig *p)
{
  ImsPeerConfig *c = g_new0 (ImsPeerConfig, 1);
  *c = *p; /* ints, enums and line */
  c->name = g_strdup (p->name);
  c->file = g_strdup (p->file);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != IMS_KEY_PEER)
        continue;
      gpointer dst = G_STRUCT_MEMBER_P (c, k->offset);
      gconstpointer src = G_STRUCT_MEMBER_P (p, k->offset);
      if (ims_key_is_list (k))
        *(GPtrArray **) dst = ims_config_list_copy (*(GPtrArray *const *) src);
      else if (ims_key_is_string (k))
        *(char **) dst = g_strdup (*(char *const *) src);
    }
  return c;
}

ImsPeerChange
ims_peer_config_diff (const ImsPeerConfig *a, const ImsPeerConfig *b)
{
  ImsPeerChange change = IMS_PEER_SAME;
  if (!g_str_equal (a->name, b->name))
    return IMS_PEER_LOGIN;
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope != IMS_KEY_PEER || ims_config_field_equal (k, a, b))
        continue;
      if (!(k->flags & IMS_KEY_LIVE))
        return IMS_PEER_LOGIN;
      change = IMS_PEER_LIVE;
    }
  return change;
}

gboolean
ims_peer_config_equal (const ImsPeerConfig *a, const ImsPeerConfig *b)
{
  return ims_peer_config_diff (a, b) == IMS_PEER_SAME;
}

char *
ims_config_restart_changes (const ImsConfig *a, const ImsConfig *b)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (k->scope == IMS_KEY_GENERAL && (k->flags & IMS_KEY_RESTART)
          && !ims_config_field_equal (k, a, b))
        g_string_append_printf (s, "%s%s", s->len ? " " : "", k->name);
    }
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : NULL;
}

GPtrArray *
ims_config_secrets (const ImsConfig *c)
{
  GPtrArray *out = g_ptr_array_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (ims_config_key_table); i++)
    {
      const ImsConfigKey *k = &ims_config_key_table[i];
      if (!(k->flags & IMS_KEY_SECRET))
        continue;
      if (k->scope == IMS_KEY_GENERAL)
        {
          const char *v = G_STRUCT_MEMBER (const char *, c, k->offset);
          if (v && *v)
            g_ptr_array_add (out, (gpointer) v);
          continue;
        }
      GPtrArray *sections = k->scope == IMS_KEY_PEER      ? c->peers
                            : k->scope == IMS_KEY_WEBUSER ? c->webusers
                                                          : c->people;
      for (guint j = 0; j < sections->len; j++)
        {
          const char *v = G_STRUCT_MEMBER (const char *, sections->pdata[j], k->offset);
          if (v && *v)
            g_ptr_array_add (out, (gpointer) v);
        }
    }
  return out;
}

void
ims_config_free (ImsConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->path);
  ims_config_fields_free (IMS_KEY_GENERAL, c);
  g_clear_pointer (&c->peer_index, g_hash_table_unref);
  g_clear_pointer (&c->webuser_index, g_hash_table_unref);
  g_clear_pointer (&c->person_index, g_hash_table_unref);
  g_clear_pointer (&c->people, g_ptr_array_unref);
  g_clear_pointer (&c->peers, g_ptr_array_unref);
  g_clear_pointer (&c->webusers, g_ptr_array_unref);
  g_clear_pointer (&c->warnings, g_ptr_array_unref);
  g_free (c);
}
