/* ims-ymsg: the Yahoo! driver.  A state machine on the main loop over
 * ims-ymsg-proto: handshake, the v1 challenge login, the list, then the own
 * status (servers ignore the status of the login packet: until ISBACK or
 * ISAWAY nobody sees us); buddy adds; LOGON/ISAWAY/ISBACK/LOGOFF; IMs both
 * ways; pings with a timeout.
 */
#define G_LOG_DOMAIN "ims-ymsg"

#include "ims-ymsg.h"

#include <string.h>

#include "ims-frame-conn.h"
#include "ims-native.h"
#include "ims-text.h"
#include "ims-ymsg-proto.h"

#define MAX_BUDDIES 4096

typedef struct {
  ImsNativePeer base;
  ImsFrameConn *conn;
  guint32 session;
  char *id;
  gboolean listed;         /* the list arrived: logged in */
  GHashTable *buddies;     /* id -> NULL: on the server list */
} YmsgPeer;

static void
ims_ymsg_send (YmsgPeer *y, GByteArray *pkt)
{
  ims_frame_conn_send (y->conn, pkt->data, pkt->len);
}

#define YMSG_SEND(y, service, status, ...)                                                      \
  do                                                                                            \
    {                                                                                           \
      g_autoptr (GByteArray) pkt_ = g_byte_array_new ();                                       \
      ims_ymsg_pack (pkt_, service, status, (y)->session, __VA_ARGS__, -1);                    \
      if (ims_native_debug (&(y)->base) >= 2)                                                  \
        g_message ("%s: SEND 0x%02x", (y)->base.name, (unsigned) (service));                   \
      ims_ymsg_send (y, pkt_);                                                                      \
    }                                                                                           \
  while (0)

static void
ims_ymsg_disconnect (ImsNativePeer *p)
{
  YmsgPeer *y = (YmsgPeer *) p;
  g_clear_pointer (&y->conn, ims_frame_conn_free);
  g_clear_pointer (&y->buddies, g_hash_table_unref);
  y->listed = FALSE;
  y->session = 0;
}

static void
ims_ymsg_finalize (ImsNativePeer *p)
{
  g_free (((YmsgPeer *) p)->id);
}

/* The robot's own state: available (with statusmessage as a custom
 * available text), or busy: the busy text as a custom busy message, or
 * "on the phone" when there is none. */
static void
ims_ymsg_own_changed (ImsNativePeer *p)
{
  YmsgPeer *y = (YmsgPeer *) p;
  g_autofree char *valid = g_utf8_make_valid (ims_native_own_text (p) ? ims_native_own_text (p)
                                                                      : "", -1);
  g_autofree char *cut = g_utf8_substring (valid, 0, MIN (g_utf8_strlen (valid, -1), 255));
  if (p->busy && cut && *cut)
    YMSG_SEND (y, IMS_YMSG_ISAWAY, 0, 10, "99", 19, cut, 47, "1");
  else if (p->busy)
    YMSG_SEND (y, IMS_YMSG_ISAWAY, 0, 10, "6");
  else if (cut && *cut)
    YMSG_SEND (y, IMS_YMSG_ISAWAY, 0, 10, "99", 19, cut, 47, "0");
  else
    YMSG_SEND (y, IMS_YMSG_ISBACK, 0, 10, "0");
}

/* PING: the server answers with a PING of its own (ims_native_pong). */
static void
ims_ymsg_ping (ImsNativePeer *p)
{
  YmsgPeer *y = (YmsgPeer *) p;
  YMSG_SEND (y, IMS_YMSG_PING, 0, 1, y->id);
}

static void
ims_ymsg_report (YmsgPeer *y, const ImsYmsgBuddy *b, gboolean online)
{
  ImsDriver *drv = y->base.driver;
  g_autofree char *id = g_ascii_strdown (b->id, -1);
  if (*id == '\0' || strlen (id) > IMS_YMSG_ID_MAX || g_str_equal (id, y->id)
      || !ims_driver_watches (drv, y->base.name, id))
    return;
  const char *word = NULL;
  ImsYmsgKind kind = b->status < 0 ? IMS_YMSG_KIND_AVAILABLE
                                   : ims_ymsg_status_kind (b->status, b->away, &word);
  if (!online || kind == IMS_YMSG_KIND_OFFLINE)
    {
      ims_driver_presence (drv, y->base.name, id, "", NULL);
      return;
    }
  static const ImsShow shows[] = {
    [IMS_YMSG_KIND_AVAILABLE] = IMS_SHOW_AVAILABLE, [IMS_YMSG_KIND_AWAY] = IMS_SHOW_AWAY,
    [IMS_YMSG_KIND_XA] = IMS_SHOW_XA,               [IMS_YMSG_KIND_BUSY] = IMS_SHOW_DND,
    [IMS_YMSG_KIND_PHONE] = IMS_SHOW_PHONE,         [IMS_YMSG_KIND_IDLE] = IMS_SHOW_AVAILABLE,
  };
  const char *text = b->message; /* status messages are plain text, not HTML */
  ImsResourcePresence pr = {
    .show = shows[kind],
    .word = word ? word : "available",
    .text = text,
    .idle_since = kind == IMS_YMSG_KIND_IDLE ? IMS_IDLE_NO_TIME : 0,
  };
  ims_driver_presence (drv, y->base.name, id, "", &pr);
}

static void
ims_ymsg_logged_in (YmsgPeer *y, const ImsYmsgPacket *pk)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const char *list = ims_ymsg_get (pk, 87);
  if (list)
    ims_ymsg_list_ids (list, ids);
  for (guint i = 0; i < ids->len && g_hash_table_size (y->buddies) < MAX_BUDDIES; i++)
    g_hash_table_add (y->buddies, g_strdup (ids->pdata[i]));
  if (y->listed)
    return;
  y->listed = TRUE;
  ims_ymsg_own_changed (&y->base);
  ims_native_logged_in (&y->base);
  g_autoptr (GHashTable) roster = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer id;
  g_hash_table_iter_init (&it, y->buddies);
  while (g_hash_table_iter_next (&it, &id, NULL))
    g_hash_table_insert (roster, id, GINT_TO_POINTER (IMS_SUB_BOTH));
  ims_driver_roster (y->base.driver, y->base.name, roster);
}

static void
ims_ymsg_packet (YmsgPeer *y, const ImsYmsgPacket *pk)
{
  ImsDriver *drv = y->base.driver;
  if (ims_native_debug (&y->base) >= 2)
    g_message ("%s: RECV 0x%02x status %u", y->base.name, pk->service, pk->status);
  if (pk->session)
    y->session = pk->session;
  switch (pk->service)
    {
    case IMS_YMSG_HANDSHAKE:
      YMSG_SEND (y, IMS_YMSG_AUTH, 0, 1, y->id);
      break;
    case IMS_YMSG_AUTH:
      {
        const char *chal = ims_ymsg_get (pk, 94);
        g_autofree char *r6 = NULL, *r96 = NULL;
        if (chal == NULL
            || !ims_ymsg_auth_responses (y->id, y->base.acct->secret ? y->base.acct->secret : "",
                                         chal, &r6, &r96))
          {
            ims_native_fail (&y->base, FALSE, "the Yahoo server sent no usable login challenge");
            return;
          }
        YMSG_SEND (y, IMS_YMSG_AUTHRESP, 0, 0, y->id, 6, r6, 96, r96, 2, y->id, 1, y->id, 135,
                   "5, 5, 0, 1246");
      }
      break;
    case IMS_YMSG_AUTHRESP:
      if (pk->status == IMS_YMSG_STATUS_FAIL)
        {
          const char *code = ims_ymsg_get (pk, 66);
          if (g_strcmp0 (code, "13") == 0)
            ims_native_fail (&y->base, TRUE, "wrong password (YMSG 66=13)");
          else if (g_strcmp0 (code, "3") == 0)
            ims_native_fail (&y->base, TRUE, "the Yahoo ID does not exist (YMSG 66=3)");
          else
            ims_native_fail (&y->base, FALSE, "the Yahoo server refused the login");
        }
      break;
    case IMS_YMSG_LIST:
      ims_ymsg_logged_in (y, pk);
      break;
    case IMS_YMSG_LOGON:
    case IMS_YMSG_ISAWAY:
    case IMS_YMSG_ISBACK:
    case IMS_YMSG_LOGOFF:
    case IMS_YMSG_CONTACTNEW: /* a buddy just added, with its state (13: online) */
      if (y->listed)
        {
          g_autoptr (GArray) bs = g_array_new (FALSE, FALSE, sizeof (ImsYmsgBuddy));
          ims_ymsg_buddies (pk, bs);
          for (guint i = 0; i < bs->len; i++)
            {
              const ImsYmsgBuddy *b = &g_array_index (bs, ImsYmsgBuddy, i);
              gboolean online = pk->service == IMS_YMSG_CONTACTNEW ? b->online == 1
                                                                   : pk->service != IMS_YMSG_LOGOFF;
              ims_ymsg_report (y, b, online);
            }
        }
      break;
    case IMS_YMSG_MESSAGE:
      {
        const char *from = NULL;
        for (guint i = 0; i < pk->n && y->listed; i++)
          if (pk->keys[i] == 4)
            from = pk->values[i];
          else if (pk->keys[i] == 14 && from && *from && strlen (from) <= IMS_YMSG_ID_MAX)
            {
              g_autofree char *id = g_ascii_strdown (from, -1);
              g_autofree char *plain = ims_text_from_html (pk->values[i]);
              ims_driver_message (drv, y->base.name, id, plain);
            }
      }
      break;
    case IMS_YMSG_PING:
      ims_native_pong (&y->base);
      break;
    case IMS_YMSG_ADDBUDDY:
      {
        const char *who = ims_ymsg_get (pk, 7), *code = ims_ymsg_get (pk, 66);
        if (who == NULL || strlen (who) > IMS_YMSG_ID_MAX)
          break;
        g_autofree char *id = g_ascii_strdown (who, -1);
        if (g_strcmp0 (code, "0") == 0 || g_strcmp0 (code, "2") == 0)
          {
            if (g_hash_table_size (y->buddies) < MAX_BUDDIES)
              g_hash_table_add (y->buddies, g_strdup (id));
            ims_driver_subscription (drv, y->base.name, id, IMS_SUB_BOTH);
          }
        else if (ims_driver_watches (drv, y->base.name, id))
          {
            /* Every field the server sent is escaped before the log sees it. */
            g_autofree char *safe = ims_text_for_log (id, 128);
            g_autofree char *safe_code = ims_text_for_log (code ? code : "?", 16);
            g_warning ("%s: the Yahoo server did not add %s (66=%s: %s)", y->base.name, safe,
                       safe_code, g_strcmp0 (code, "3") == 0 ? "no such Yahoo ID" : "refused");
          }
      }
      break;
    default:
      break;
    }
}

static void
ims_ymsg_frame (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer data)
{
  YmsgPeer *y = data;
  ImsYmsgPacket pk;
  g_autoptr (GError) error = NULL;
  if (!ims_ymsg_parse (frame, len, &pk, &error))
    {
      ims_native_fail (&y->base, FALSE, "%s", error->message);
      return;
    }
  ims_ymsg_packet (y, &pk);
  ims_ymsg_packet_clear (&pk);
}

static void
ims_ymsg_connected (ImsFrameConn *conn, gpointer data)
{
  YmsgPeer *y = data;
  YMSG_SEND (y, IMS_YMSG_HANDSHAKE, 0, -1, NULL);
}

static void
ims_ymsg_closed (ImsFrameConn *conn, const GError *error, gpointer data)
{
  YmsgPeer *y = data;
  ims_native_fail (&y->base, FALSE, "%s", error->message);
}

static const ImsFrameConnFuncs ims_ymsg_conn_funcs = { ims_ymsg_connected, ims_ymsg_frame, ims_ymsg_closed };

static void
ims_ymsg_connect (ImsNativePeer *p)
{
  YmsgPeer *y = (YmsgPeer *) p;
  g_free (y->id);
  y->id = g_ascii_strdown (p->acct->id, -1);
  y->buddies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  y->conn = ims_frame_conn_new (ims_native_host (p), ims_native_port (p), IMS_NATIVE_CONNECT_TIMEOUT_S,
                                IMS_YMSG_MAX, ims_ymsg_frame_len, &ims_ymsg_conn_funcs, y);
}

static void
ims_ymsg_subscribe (ImsNativePeer *p, const char *buddy)
{
  YmsgPeer *y = (YmsgPeer *) p;
  g_autofree char *id = g_ascii_strdown (buddy, -1);
  if (g_hash_table_contains (y->buddies, id))
    ims_driver_subscription (p->driver, p->name, id, IMS_SUB_BOTH);
  else if (ims_text_plain_id (id, IMS_YMSG_ID_MAX))
    YMSG_SEND (y, IMS_YMSG_ADDBUDDY, 0, 1, y->id, 7, id, 65, "Friends", 14, "");
}

static void
ims_ymsg_unsubscribe (ImsNativePeer *p, const char *buddy)
{
  YmsgPeer *y = (YmsgPeer *) p;
  g_autofree char *id = g_ascii_strdown (buddy, -1);
  if (g_hash_table_remove (y->buddies, id))
    YMSG_SEND (y, IMS_YMSG_REMBUDDY, 0, 1, y->id, 7, id, 65, "Friends");
}

static gboolean
ims_ymsg_send_im (ImsNativePeer *p, const char *to, const char *text, GError **error)
{
  YmsgPeer *y = (YmsgPeer *) p;
  if (!ims_text_plain_id (to, IMS_YMSG_ID_MAX))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a Yahoo ID");
      return FALSE;
    }
  /* A packet holds 65535 bytes; valid UTF-8 never holds YMSG's 0xC0 0x80
   * separator. */
  g_autofree char *cut = g_utf8_make_valid (text, MIN (strlen (text), IMS_YMSG_MAX_IM));
  YMSG_SEND (y, IMS_YMSG_MESSAGE, 0x5a55aa56, 1, y->id, 5, to, 14, cut, 97, "1");
  return TRUE;
}

static ImsDriver *ims_ymsg_driver_new (ImsCore *core, const ImsDriverSetup *setup,
                                       GError **error);

static gboolean
ims_ymsg_id_valid (const char *id)
{
  return ims_text_plain_id (id, IMS_YMSG_ID_MAX);
}

static const char *const ims_ymsg_types[] = { "yahoo", NULL };
static const char *const ims_ymsg_keys[] = { "pinginterval", "pingtimeout", NULL };

/* Yahoo! as the registry and the docs see it. */
const ImsNetwork ims_ymsg_network = {
  .name = "Yahoo!",
  .driver = "ymsg",
  .types = ims_ymsg_types,
  .summary = "Yahoo! Messenger over YMSG10 (native driver; the revival servers such as Escargot)",
  .keys = ims_ymsg_keys,
  .default_host = "scs.msg.yahoo.com",
  .default_port = 5050,
  .bare_ids = TRUE,
  .id_valid = ims_ymsg_id_valid,
  .id_rule = "a Yahoo ID has no spaces or control characters (at most 96 bytes)",
  .cleartext = "the password (as a challenge answer), IMs and presence travel in clear",
  .pong = TRUE,
  .max_message = IMS_YMSG_MAX_IM,
  .show_words = "available brb busy notathome notatdesk notinoffice phone onvacation lunch "
                "steppedout idle away",
  .new_driver = ims_ymsg_driver_new,
};

static const ImsNativeProto ims_ymsg_proto = {
  .network = &ims_ymsg_network,
  .peer_size = sizeof (YmsgPeer),
  .connect = ims_ymsg_connect,
  .keepalive = ims_ymsg_ping,
  .disconnect = ims_ymsg_disconnect,
  .subscribe = ims_ymsg_subscribe,
  .unsubscribe = ims_ymsg_unsubscribe,
  .own_changed = ims_ymsg_own_changed,
  .send = ims_ymsg_send_im,
  .finalize = ims_ymsg_finalize,
};

static ImsDriver *
ims_ymsg_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return ims_native_driver_new (core, &ims_ymsg_proto);
}
