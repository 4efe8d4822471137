/* ims-oscar: the AIM driver.  A state machine on the main loop
 * over ims-oscar-proto: BUCP MD5 login on the auth server, then, once the
 * auth server has closed, BOS with the cookie; the server-stored list
 * (feedbag) is read, missing buddies added to it; 03,0B/03,0C are arrivals
 * and departures (idempotent: servers send a departure for someone never
 * seen), the away text is asked for with 02,15;
 * IMs both ways on channel 1; the robot's busy text is its away message;
 * FLAP channel 5 keepalives.
 */
#define G_LOG_DOMAIN "ims-oscar"

#include "ims-oscar.h"

#include <string.h>

#include "ims-frame-conn.h"
#include "ims-native.h"
#include "ims-oscar-proto.h"
#include "ims-text.h"

#define MAX_ITEMS 2000 /* feedbag items kept at most */
/* How long the auth server may take to close after its login reply. */
#define IMS_OSCAR_HANDOFF_MS 2000

/* STAGE_HANDOFF: the login reply is in, our side of the auth connection is
 * shut, and we wait for the server's close before going to BOS.  OWAIM
 * gives the cookie's session to the auth connection while it is still open,
 * so a BOS sign-on that overtakes that close is never answered. */
typedef enum { STAGE_AUTH, STAGE_HANDOFF, STAGE_BOS, STAGE_ONLINE } Stage;

typedef struct {
  ImsNativePeer base;
  ImsFrameConn *conn;
  Stage stage;
  guint16 seq;
  guint32 reqid;
  char *sn;              /* own screen name, normalized */
  GBytes *cookie;
  char *bos_host;        /* from the login reply, until BOS is dialled */
  int bos_port;
  guint handoff_id;      /* STAGE_HANDOFF's time limit */
  GHashTable *buddies;   /* sn -> item id (feedbag buddies) */
  GHashTable *items;     /* "gid:iid" of every item, to pick free ids */
  guint16 gid;           /* the group new buddies go in; 0 = none yet */
  GQueue adds;           /* sn being added, in order, for 13,0E */
  gboolean list_done;
  gboolean list_capped;   /* said once: the list was cut at MAX_ITEMS */
} OscarPeer;

static void ims_oscar_bos_connect (OscarPeer *o);
static gboolean on_oscar_handoff_timeout (gpointer data);

static void
ims_oscar_send_flap (OscarPeer *o, guint8 channel, const guint8 *data, gsize len)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  ims_oscar_put_flap (out, channel, &o->seq, data, len);
  ims_frame_conn_send (o->conn, out->data, out->len);
}

static void
ims_oscar_send_snac (OscarPeer *o, guint16 family, guint16 subtype, const GByteArray *body)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  ims_oscar_put_snac (out, &o->seq, family, subtype, ++o->reqid, body);
  if (ims_native_debug (&o->base) >= 2)
    g_message ("%s: SEND %02x,%02x (%u bytes)", o->base.name, family, subtype,
               body ? body->len : 0);
  ims_frame_conn_send (o->conn, out->data, out->len);
}

static void
ims_oscar_disconnect (ImsNativePeer *p)
{
  OscarPeer *o = (OscarPeer *) p;
  g_clear_pointer (&o->conn, ims_frame_conn_free);
  g_clear_handle_id (&o->handoff_id, g_source_remove);
  g_clear_pointer (&o->bos_host, g_free);
  g_clear_pointer (&o->cookie, g_bytes_unref);
  g_clear_pointer (&o->buddies, g_hash_table_unref);
  g_clear_pointer (&o->items, g_hash_table_unref);
  g_queue_clear_full (&o->adds, g_free);
  o->gid = 0;
  o->list_done = FALSE;
}

static void
ims_oscar_finalize (ImsNativePeer *p)
{
  g_free (((OscarPeer *) p)->sn);
}

/* FLAP channel 5: the server does not answer it. */
static void
ims_oscar_keepalive (ImsNativePeer *p)
{
  ims_oscar_send_flap ((OscarPeer *) p, IMS_FLAP_KEEPALIVE, NULL, 0);
}

/* 02,04: capabilities, the profile (statusmessage), and the away message
 * (the busy text while the phone is in use; empty clears it). */
static void
ims_oscar_send_info (OscarPeer *o)
{
  static const char mime[] = "text/aolrtf; charset=\"us-ascii\"";
  g_autoptr (GByteArray) b = g_byte_array_new ();
  const char *profile = o->base.acct->statusmessage ? o->base.acct->statusmessage : "";
  ims_oscar_put_tlv_str (b, 1, mime);
  ims_oscar_put_tlv (b, 2, profile, MIN (strlen (profile), 1024));
  ims_oscar_put_tlv (b, 5, NULL, 0);
  const char *away = o->base.busy ? ims_native_own_text (&o->base) : "";
  if (o->base.busy && *away == '\0')
    away = "busy";
  ims_oscar_put_tlv_str (b, 3, mime);
  ims_oscar_put_tlv (b, 4, away, MIN (strlen (away), 1024));
  ims_oscar_send_snac (o, 0x02, 0x04, b);
}

static void
ims_oscar_own_changed (ImsNativePeer *p)
{
  ims_oscar_send_info ((OscarPeer *) p);
}

/* ---- the auth server ---- */

static void
ims_oscar_auth_frame (OscarPeer *o, const ImsFlap *f)
{
  if (f->channel == IMS_FLAP_SIGNON)
    {
      static const guint8 hello[] = { 0, 0, 0, 1 };
      ims_oscar_send_flap (o, IMS_FLAP_SIGNON, hello, sizeof hello);
      g_autoptr (GByteArray) b = g_byte_array_new ();
      ims_oscar_put_tlv_str (b, 1, o->sn);
      ims_oscar_put_tlv (b, 0x4b, NULL, 0);
      ims_oscar_put_tlv (b, 0x5a, NULL, 0);
      ims_oscar_send_snac (o, 0x17, 0x06, b);
      return;
    }
  if (f->channel == IMS_FLAP_SIGNOFF)
    {
      ims_native_fail (&o->base, FALSE, "the OSCAR login server closed the session");
      return;
    }
  ImsSnac s;
  g_autoptr (GError) error = NULL;
  if (f->channel != IMS_FLAP_SNAC || !ims_snac_parse (f->data, f->len, &s, &error))
    return;
  if (s.family == 0x17 && s.subtype == 0x07)
    {
      if (s.len < 2 || (gsize) (2 + (s.data[0] << 8 | s.data[1])) > s.len)
        {
          ims_native_fail (&o->base, FALSE, "malformed OSCAR login key");
          return;
        }
      guint8 hash[16];
      ims_oscar_login_hash (s.data + 2, s.data[0] << 8 | s.data[1],
                            o->base.acct->secret ? o->base.acct->secret : "", hash);
      g_autoptr (GByteArray) b = g_byte_array_new ();
      ims_oscar_put_tlv_str (b, 1, o->sn);
      ims_oscar_put_tlv (b, 0x25, hash, sizeof hash);
      ims_oscar_put_tlv (b, 0x4c, NULL, 0);
      ims_oscar_put_tlv_str (b, 3, "AOL Instant Messenger, version 5.9.3702/WIN32");
      ims_oscar_put_tlv_str (b, 0x0f, "en");
      ims_oscar_put_tlv_str (b, 0x0e, "us");
      ims_oscar_send_snac (o, 0x17, 0x02, b);
    }
  else if (s.family == 0x17 && s.subtype == 0x03)
    {
      ImsOscarLogin login;
      if (!ims_oscar_parse_login (&s, &login, &error))
        {
          ims_native_fail (&o->base, FALSE, "%s", error->message);
          return;
        }
      if (login.error)
        {
          guint16 code = login.error;
          ims_oscar_login_clear (&login);
          /* Retrying cannot fix a wrong name or password; a rate limit can. */
          ims_native_fail (&o->base, code != 0x18, "%s (OSCAR error %u)",
                           ims_oscar_login_error_text (code), code);
          return;
        }
      o->cookie = g_bytes_ref (login.cookie);
      o->bos_host = g_strdup (login.bos_host);
      o->bos_port = login.bos_port ? login.bos_port : ims_native_port (&o->base);
      ims_oscar_login_clear (&login);
      o->stage = STAGE_HANDOFF;
      ims_frame_conn_finish (o->conn);
      o->handoff_id = g_timeout_add (IMS_OSCAR_HANDOFF_MS, on_oscar_handoff_timeout, o);
    }
  else if (s.family == 0x17 && s.subtype == 0x01)
    ims_native_fail (&o->base, FALSE, "the OSCAR server refused the login request");
}

/* ---- BOS ---- */

static void
ims_oscar_report_roster (OscarPeer *o)
{
  g_autoptr (GHashTable) roster = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer sn;
  g_hash_table_iter_init (&it, o->buddies);
  while (g_hash_table_iter_next (&it, &sn, NULL))
    g_hash_table_insert (roster, sn, GINT_TO_POINTER (IMS_SUB_BOTH));
  ims_driver_roster (o->base.driver, o->base.name, roster);
}

static void
ims_oscar_feedbag (OscarPeer *o, const ImsSnac *s)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_oscar_item_free);
  g_autoptr (GError) error = NULL;
  if (!ims_oscar_parse_feedbag (s, items, &error))
    {
      ims_native_fail (&o->base, FALSE, "%s", error->message);
      return;
    }
  for (guint i = 0; i < items->len; i++)
    {
      ImsOscarItem *it = items->pdata[i];
      /* What a server can make us keep is capped in names as in ids: the
       * same id sent again under a million names is still one item. */
      if (g_hash_table_size (o->items) >= MAX_ITEMS || g_hash_table_size (o->buddies) >= MAX_ITEMS)
        {
          if (!o->list_capped)
            g_warning ("%s: the server's buddy list is longer than %d items; the rest is "
                       "ignored", o->base.name, MAX_ITEMS);
          o->list_capped = TRUE;
          break;
        }
      g_hash_table_add (o->items, g_strdup_printf ("%u:%u", it->gid, it->iid));
      if (it->klass == IMS_OSCAR_ITEM_GROUP && it->gid != 0 && o->gid == 0)
        o->gid = it->gid;
      else if (it->klass == IMS_OSCAR_ITEM_BUDDY && it->gid != 0)
        g_hash_table_replace (o->buddies, g_strdup (it->name), GUINT_TO_POINTER (it->iid));
    }
  if (s->flags & 1) /* more follows */
    return;

  ims_oscar_send_info (o);
  g_autoptr (GByteArray) icbm = g_byte_array_new ();
  ims_oscar_put_u16 (icbm, 0);
  ims_oscar_put_u32 (icbm, 0x0000000b);
  ims_oscar_put_u16 (icbm, 8000);
  ims_oscar_put_u16 (icbm, 999);
  ims_oscar_put_u16 (icbm, 999);
  ims_oscar_put_u32 (icbm, 0);
  ims_oscar_send_snac (o, 0x04, 0x02, icbm);
  ims_oscar_send_snac (o, 0x13, 0x07, NULL);
  static const guint16 ready[][2] = { { 1, 4 }, { 0x13, 4 }, { 2, 1 }, { 3, 1 }, { 4, 1 },
                                      { 9, 1 } };
  g_autoptr (GByteArray) r = g_byte_array_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (ready); i++)
    {
      ims_oscar_put_u16 (r, ready[i][0]);
      ims_oscar_put_u16 (r, ready[i][1]);
      ims_oscar_put_u32 (r, 0x0110164f);
    }
  ims_oscar_send_snac (o, 0x01, 0x02, r);
  o->list_done = TRUE;
  o->stage = STAGE_ONLINE;
  ims_native_logged_in (&o->base);
  ims_oscar_report_roster (o);
}

static void
ims_oscar_ask_away (OscarPeer *o, const char *sn)
{
  g_autoptr (GByteArray) b = g_byte_array_new ();
  ims_oscar_put_u32 (b, 2);
  ims_oscar_put_u8 (b, (guint8) strlen (sn));
  g_byte_array_append (b, (const guint8 *) sn, (guint) strlen (sn));
  ims_oscar_send_snac (o, 0x02, 0x15, b);
}

static void
ims_oscar_report_user (OscarPeer *o, const ImsOscarUser *u, const char *away)
{
  gboolean is_away = (u->uclass & IMS_OSCAR_CLASS_AWAY) != 0;
  g_autofree char *plain = away ? ims_text_from_html (away) : NULL;
  ImsResourcePresence pr = {
    .show = is_away ? IMS_SHOW_AWAY : IMS_SHOW_AVAILABLE,
    .word = is_away ? "away" : "available",
    .text = plain,
    .idle_since = u->idle_minutes > 0 ? g_get_real_time () / G_USEC_PER_SEC
                                            - (gint64) u->idle_minutes * 60
                                      : 0,
  };
  ims_driver_presence (o->base.driver, o->base.name, u->sn, "", &pr);
}

static void
ims_oscar_buddy_snac (OscarPeer *o, const ImsSnac *s)
{
  ImsDriver *drv = o->base.driver;
  ImsOscarUser u;
  if (!ims_oscar_parse_user (s->data, s->len, &u, NULL))
    return;
  if (g_str_equal (u.sn, o->sn) || !ims_driver_watches (drv, o->base.name, u.sn))
    ;
  else if (s->family == 0x03 && s->subtype == 0x0c)
    ims_driver_presence (drv, o->base.name, u.sn, "", NULL);
  else if (s->family == 0x03 && s->subtype == 0x0b)
    {
      ims_oscar_report_user (o, &u, NULL);
      if (u.uclass & IMS_OSCAR_CLASS_AWAY)
        ims_oscar_ask_away (o, u.sn);
    }
  else /* 02,06 */
    {
      g_autofree char *away = ims_oscar_parse_away (&u);
      ims_oscar_report_user (o, &u, away);
    }
  ims_oscar_user_clear (&u);
}

static void
ims_oscar_im (OscarPeer *o, const ImsSnac *s)
{
  ImsOscarIm im;
  if (!ims_oscar_parse_im (s, &im, NULL))
    return;
  g_autofree char *plain = ims_text_from_html (im.text);
  ims_driver_message (o->base.driver, o->base.name, im.from, plain);
  ims_oscar_im_clear (&im);
}

static void
ims_oscar_add_ack (OscarPeer *o, const ImsSnac *s)
{
  for (gsize i = 0; i + 1 < s->len; i += 2)
    {
      g_autofree char *sn = g_queue_pop_head (&o->adds);
      if (sn == NULL)
        return;
      guint16 code = (guint16) (s->data[i] << 8 | s->data[i + 1]);
      if (*sn == '\0')
        continue; /* the group made for new buddies */
      if (code == 0 || code == 0x0e)
        ims_driver_subscription (o->base.driver, o->base.name, sn,
                               code == 0 ? IMS_SUB_BOTH : IMS_SUB_PENDING);
      else if (code != 0 && !g_hash_table_contains (o->buddies, sn))
        {
          g_autofree char *safe = ims_text_for_log (sn, 128);
          g_warning ("%s: the server did not add %s to the buddy list (error %u)", o->base.name,
                     safe, code);
        }
    }
}

static void
ims_oscar_bos_frame (OscarPeer *o, const ImsFlap *f)
{
  if (f->channel == IMS_FLAP_SIGNON)
    {
      g_autoptr (GByteArray) b = g_byte_array_new ();
      ims_oscar_put_u32 (b, 1);
      gsize n;
      const void *ck = g_bytes_get_data (o->cookie, &n);
      ims_oscar_put_tlv (b, 6, ck, n);
      ims_oscar_send_flap (o, IMS_FLAP_SIGNON, b->data, b->len);
      return;
    }
  if (f->channel == IMS_FLAP_SIGNOFF)
    {
      const guint8 *v;
      gsize vl;
      gboolean elsewhere = ims_oscar_tlv_find (f->data, f->len, 9, &v, &vl) && vl >= 2
                           && (v[0] << 8 | v[1]) == 1;
      ims_native_fail (&o->base, FALSE, elsewhere ? "the screen name signed on elsewhere"
                                                  : "the OSCAR server ended the session");
      return;
    }
  ImsSnac s;
  if (f->channel != IMS_FLAP_SNAC || !ims_snac_parse (f->data, f->len, &s, NULL))
    return;
  if (ims_native_debug (&o->base) >= 2)
    g_message ("%s: RECV %02x,%02x (%zu bytes)", o->base.name, s.family, s.subtype, s.len);
  switch (s.family << 16 | s.subtype)
    {
    case 0x010003: /* families: versions */
      {
        static const guint16 fam[][2] = { { 1, 4 }, { 0x13, 4 }, { 2, 1 }, { 3, 1 }, { 4, 1 },
                                          { 9, 1 } };
        g_autoptr (GByteArray) b = g_byte_array_new ();
        for (gsize i = 0; i < G_N_ELEMENTS (fam); i++)
          {
            ims_oscar_put_u16 (b, fam[i][0]);
            ims_oscar_put_u16 (b, fam[i][1]);
          }
        ims_oscar_send_snac (o, 0x01, 0x17, b);
      }
      break;
    case 0x010018:
      ims_oscar_send_snac (o, 0x01, 0x06, NULL);
      break;
    case 0x010007: /* rate classes: acknowledge them, then ask for rights and the list */
      {
        guint16 n = s.len >= 2 ? (guint16) (s.data[0] << 8 | s.data[1]) : 0;
        g_autoptr (GByteArray) b = g_byte_array_new ();
        for (guint16 i = 1; i <= MIN (n, 32); i++)
          ims_oscar_put_u16 (b, i);
        ims_oscar_send_snac (o, 0x01, 0x08, b);
        ims_oscar_send_snac (o, 0x13, 0x02, NULL);
        ims_oscar_send_snac (o, 0x13, 0x04, NULL);
        ims_oscar_send_snac (o, 0x02, 0x02, NULL);
        ims_oscar_send_snac (o, 0x03, 0x02, NULL);
        ims_oscar_send_snac (o, 0x04, 0x04, NULL);
        ims_oscar_send_snac (o, 0x09, 0x02, NULL);
      }
      break;
    case 0x130006:
      if (!o->list_done)
        ims_oscar_feedbag (o, &s);
      break;
    case 0x13000e:
      ims_oscar_add_ack (o, &s);
      break;
    case 0x03000b:
    case 0x03000c:
    case 0x020006:
      if (o->stage == STAGE_ONLINE)
        ims_oscar_buddy_snac (o, &s);
      break;
    case 0x040007:
      if (o->stage == STAGE_ONLINE)
        ims_oscar_im (o, &s);
      break;
    case 0x040001:
      g_info ("%s: an IM could not be delivered (the buddy is offline)", o->base.name);
      break;
    case 0x01000a: /* rate warning */
      g_warning ("%s: the OSCAR server warns that we send too fast", o->base.name);
      break;
    default:
      break;
    }
}

/* ---- connections ---- */

static void
ims_oscar_frame (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer data)
{
  OscarPeer *o = data;
  ImsFlap f;
  g_autoptr (GError) error = NULL;
  if (!ims_flap_parse (frame, len, &f, &error))
    {
      ims_native_fail (&o->base, FALSE, "%s", error->message);
      return;
    }
  if (o->stage == STAGE_AUTH)
    ims_oscar_auth_frame (o, &f);
  else if (o->stage != STAGE_HANDOFF) /* the auth server has nothing more to say */
    ims_oscar_bos_frame (o, &f);
}

static void
ims_oscar_connected (ImsFrameConn *conn, gpointer data)
{
}

static void
ims_oscar_closed (ImsFrameConn *conn, const GError *error, gpointer data)
{
  OscarPeer *o = data;
  if (o->stage == STAGE_HANDOFF)
    ims_oscar_bos_connect (o); /* the auth server is done with us */
  else
    ims_native_fail (&o->base, FALSE, "%s", error->message);
}

static gboolean
on_oscar_handoff_timeout (gpointer data)
{
  OscarPeer *o = data;
  o->handoff_id = 0;
  ims_oscar_bos_connect (o); /* a server that does not close: go anyway */
  return G_SOURCE_REMOVE;
}

static const ImsFrameConnFuncs ims_oscar_conn_funcs = { ims_oscar_connected, ims_oscar_frame, ims_oscar_closed };

static void
ims_oscar_bos_connect (OscarPeer *o)
{
  g_clear_pointer (&o->conn, ims_frame_conn_free);
  g_clear_handle_id (&o->handoff_id, g_source_remove);
  g_autofree char *host = g_steal_pointer (&o->bos_host);
  o->stage = STAGE_BOS;
  o->seq = (guint16) g_random_int_range (0, 0x8000);
  o->buddies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  o->items = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  o->conn = ims_frame_conn_new (host, o->bos_port, IMS_NATIVE_CONNECT_TIMEOUT_S, IMS_FLAP_MAX, ims_flap_frame_len,
                                &ims_oscar_conn_funcs, o);
}

static void
ims_oscar_connect (ImsNativePeer *p)
{
  OscarPeer *o = (OscarPeer *) p;
  g_free (o->sn);
  o->sn = ims_oscar_normalize (p->acct->id, -1);
  o->stage = STAGE_AUTH;
  o->seq = (guint16) g_random_int_range (0, 0x8000);
  o->conn = ims_frame_conn_new (ims_native_host (p), ims_native_port (p), IMS_NATIVE_CONNECT_TIMEOUT_S,
                                IMS_FLAP_MAX, ims_flap_frame_len, &ims_oscar_conn_funcs, o);
}

/* ---- the buddy list ---- */

static guint16
ims_oscar_free_id (OscarPeer *o, guint16 gid)
{
  for (;;)
    {
      guint16 id = (guint16) g_random_int_range (1, 0x7fff);
      g_autofree char *key = g_strdup_printf ("%u:%u", gid, id);
      if (!g_hash_table_contains (o->items, key))
        {
          g_hash_table_add (o->items, g_steal_pointer (&key));
          return id;
        }
    }
}

static void
ims_oscar_put_item (GByteArray *b, const char *name, guint16 gid, guint16 iid, guint16 klass)
{
  ims_oscar_put_u16 (b, (guint16) strlen (name));
  g_byte_array_append (b, (const guint8 *) name, (guint) strlen (name));
  ims_oscar_put_u16 (b, gid);
  ims_oscar_put_u16 (b, iid);
  ims_oscar_put_u16 (b, klass);
  ims_oscar_put_u16 (b, 0);
}

static void
ims_oscar_subscribe (ImsNativePeer *p, const char *buddy)
{
  OscarPeer *o = (OscarPeer *) p;
  g_autofree char *sn = ims_oscar_normalize (buddy, -1);
  if (*sn == '\0' || strlen (sn) > IMS_OSCAR_SN_MAX)
    return;
  if (g_hash_table_contains (o->buddies, sn))
    {
      ims_driver_subscription (p->driver, p->name, sn, IMS_SUB_BOTH);
      return;
    }
  if (g_hash_table_size (o->items) >= MAX_ITEMS)
    {
      g_warning ("%s: the buddy list is full", p->name);
      return;
    }
  ims_oscar_send_snac (o, 0x13, 0x11, NULL);
  if (o->gid == 0)
    {
      o->gid = ims_oscar_free_id (o, 0);
      g_autoptr (GByteArray) g = g_byte_array_new ();
      ims_oscar_put_item (g, "Buddies", o->gid, 0, IMS_OSCAR_ITEM_GROUP);
      ims_oscar_send_snac (o, 0x13, 0x08, g);
      g_queue_push_tail (&o->adds, g_strdup (""));
    }
  guint16 iid = ims_oscar_free_id (o, o->gid);
  g_autoptr (GByteArray) b = g_byte_array_new ();
  ims_oscar_put_item (b, sn, o->gid, iid, IMS_OSCAR_ITEM_BUDDY);
  ims_oscar_send_snac (o, 0x13, 0x08, b);
  ims_oscar_send_snac (o, 0x13, 0x12, NULL);
  g_hash_table_replace (o->buddies, g_strdup (sn), GUINT_TO_POINTER (iid));
  g_queue_push_tail (&o->adds, g_steal_pointer (&sn));
  /* A buddy added now is not announced until it signs on again: ask. */
  ims_oscar_ask_away (o, o->adds.tail->data);
}

static void
ims_oscar_unsubscribe (ImsNativePeer *p, const char *buddy)
{
  OscarPeer *o = (OscarPeer *) p;
  g_autofree char *sn = ims_oscar_normalize (buddy, -1);
  gpointer iid;
  if (!g_hash_table_lookup_extended (o->buddies, sn, NULL, &iid))
    return;
  g_autoptr (GByteArray) b = g_byte_array_new ();
  ims_oscar_put_item (b, sn, o->gid, (guint16) GPOINTER_TO_UINT (iid), IMS_OSCAR_ITEM_BUDDY);
  ims_oscar_send_snac (o, 0x13, 0x11, NULL);
  ims_oscar_send_snac (o, 0x13, 0x0a, b);
  ims_oscar_send_snac (o, 0x13, 0x12, NULL);
  g_hash_table_remove (o->buddies, sn);
}

static gboolean
ims_oscar_send (ImsNativePeer *p, const char *to, const char *text, GError **error)
{
  OscarPeer *o = (OscarPeer *) p;
  /* AIM clients took 2,000 characters a message: longer texts go in pieces. */
  g_auto (GStrv) pieces = ims_text_chunks (text, IMS_OSCAR_MAX_IM);
  for (char **piece = pieces; *piece; piece++)
    {
      guint8 cookie[8];
      for (gsize i = 0; i < sizeof cookie; i++)
        cookie[i] = (guint8) g_random_int_range ('0', '9' + 1);
      g_autoptr (GByteArray) body = ims_oscar_im_body (cookie, to, *piece);
      ims_oscar_send_snac (o, 0x04, 0x06, body);
    }
  return TRUE;
}

static ImsDriver *ims_oscar_driver_new (ImsCore *core, const ImsDriverSetup *setup,
                                        GError **error);

static const char *const ims_oscar_types[] = { "aim", NULL };
static const char *const ims_oscar_keys[] = { "pinginterval", NULL };

/* AIM as the registry and the docs see it. */
const ImsNetwork ims_oscar_network = {
  .name = "AIM",
  .driver = "oscar",
  .types = ims_oscar_types,
  .summary = "AIM over OSCAR (native driver; the revival servers such as OWAIM); write screen names "
             "in lower case without spaces",
  .keys = ims_oscar_keys,
  .default_host = "login.oscar.aol.com",
  .default_port = 5190,
  .bare_ids = TRUE,
  .id_valid = NULL, /* screen names may hold spaces: they go in TLVs, not on lines */
  .cleartext = "the password (as an MD5 digest), IMs and presence travel in clear",
  .pong = FALSE, /* FLAP channel-5 keepalives get no answer */
  .max_message = IMS_OSCAR_MAX_IM,
  .show_words = "available away",
  .new_driver = ims_oscar_driver_new,
};

static const ImsNativeProto ims_oscar_proto = {
  .network = &ims_oscar_network,
  .peer_size = sizeof (OscarPeer),
  .connect = ims_oscar_connect,
  .keepalive = ims_oscar_keepalive,
  .disconnect = ims_oscar_disconnect,
  .subscribe = ims_oscar_subscribe,
  .unsubscribe = ims_oscar_unsubscribe,
  .own_changed = ims_oscar_own_changed,
  .send = ims_oscar_send,
  .finalize = ims_oscar_finalize,
};

static ImsDriver *
ims_oscar_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return ims_native_driver_new (core, &ims_oscar_proto);
}
