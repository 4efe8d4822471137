/* ims-msnp: the MSN driver, MSNP18.  A state machine on the main loop over
 * ims-msnp-proto.  The notification server (NS): VER, CVR, USR SSO I; the
 * login service (loginurl, SOAP RST2 over libsoup) gives a ticket and a
 * secret; USR SSO S with the MBI_KEY_OLD response and the machine GUID; then
 * ADL for the watched buddies (the server keeps the list), CHG for the own
 * state (nobody sees us before it) and UUX for the personal message.  NLN,
 * FLN and UBX are presence; IMs go through switchboards (XFR, or RNG when a
 * buddy writes first); PNG keeps the connection alive.
 */
#define G_LOG_DOMAIN "ims-msnp"

#include "ims-msnp.h"

#include <string.h>

#include "ims-frame-conn.h"
#include "ims-msnp-proto.h"
#include "ims-native.h"
#include "ims-text.h"

#include "ims-msnp-private.h"

static void ims_msnp_sb_free (Sb *sb);

void
ims_msnp_ns_send (MsnpPeer *m, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *line = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (ims_native_debug (&m->base) >= 2)
    g_message ("%s: SEND %.3s", m->base.name, line);
  ims_frame_conn_send (m->ns, line, strlen (line));
}

/* A command with a payload: "CMD trid len\r\n" + payload. */
static void
ims_msnp_ns_send_payload (MsnpPeer *m, const char *cmd, const char *payload)
{
  ims_msnp_ns_send (m, "%s %u %zu\r\n%s", cmd, ++m->trid, strlen (payload), payload);
}

static void
ims_msnp_disconnect (ImsNativePeer *p)
{
  MsnpPeer *m = (MsnpPeer *) p;
  if (m->http_cancel)
    {
      g_cancellable_cancel (m->http_cancel);
      g_clear_object (&m->http_cancel);
    }
  g_clear_object (&m->rst_stream);
  g_clear_pointer (&m->rst, g_byte_array_unref);
  m->sb_cap_logged = FALSE;
  g_clear_pointer (&m->ns, ims_frame_conn_free);
  g_queue_clear (&m->xfr_waiting);
  g_clear_pointer (&m->sbs, g_ptr_array_unref);
  g_clear_pointer (&m->buddies, g_hash_table_unref);
  g_clear_pointer (&m->nonce, g_free);
}

static void
ims_msnp_finalize (ImsNativePeer *p)
{
  MsnpPeer *m = (MsnpPeer *) p;
  g_free (m->email);
  g_free (m->guid);
}

/* ---- own state ---- */

char *
ims_msnp_xml_text (const char *s)
{
  return g_markup_escape_text (s ? s : "", -1);
}

static void
ims_msnp_own_changed (ImsNativePeer *p)
{
  MsnpPeer *m = (MsnpPeer *) p;
  /* The phone in use: PHN (on the phone), the busy text as personal message
   * (the seed's "busy/sip:..."). */
  ims_msnp_ns_send (m, "CHG %u %s " CAPS "\r\n", ++m->trid, p->busy ? "PHN" : "NLN");
  const char *text = ims_native_own_text (p);
  g_autofree char *cut = text ? g_utf8_substring (text, 0, MIN (g_utf8_strlen (text, -1), 512))
                              : g_strdup ("");
  g_autofree char *psm = ims_msnp_xml_text (cut);
  g_autofree char *data = g_strdup_printf ("<Data><PSM>%s</PSM><CurrentMedia></CurrentMedia>"
                                           "<MachineGuid>%s</MachineGuid></Data>", psm, m->guid);
  ims_msnp_ns_send_payload (m, "UUX", data);
}

/* ---- keepalive ---- */

/* PNG: the server answers QNG (ims_native_pong). */
static void
ims_msnp_ping (ImsNativePeer *p)
{
  ims_msnp_ns_send ((MsnpPeer *) p, "PNG\r\n");
}

/* ---- presence ---- */

/* What a buddy last said: the state (NLN...) and the personal message (UBX)
 * arrive separately; each report carries both. */
typedef struct {
  char *st;
  char *psm;
} BuddyState;

static void
ims_msnp_buddy_state_free (BuddyState *b)
{
  g_free (b->st);
  g_free (b->psm);
  g_free (b);
}

static void
ims_msnp_report (MsnpPeer *m, const char *email, const BuddyState *b)
{
  ImsDriver *drv = m->base.driver;
  const char *word;
  ImsMsnpKind kind = ims_msnp_status_kind (b ? b->st : "FLN", &word);
  if (kind == IMS_MSNP_OFFLINE)
    {
      ims_driver_presence (drv, m->base.name, email, "", NULL);
      return;
    }
  static const ImsShow shows[] = {
    [IMS_MSNP_AVAILABLE] = IMS_SHOW_AVAILABLE, [IMS_MSNP_AWAY] = IMS_SHOW_AWAY,
    [IMS_MSNP_BUSY] = IMS_SHOW_DND,            [IMS_MSNP_PHONE] = IMS_SHOW_PHONE,
    [IMS_MSNP_IDLE] = IMS_SHOW_AVAILABLE,      [IMS_MSNP_UNKNOWN] = IMS_SHOW_AWAY,
  };
  ImsResourcePresence pr = {
    .show = shows[kind],
    .word = word,
    .text = b->psm,
    .idle_since = kind == IMS_MSNP_IDLE ? IMS_IDLE_NO_TIME : 0,
  };
  ims_driver_presence (drv, m->base.name, email, "", &pr);
}

/* A state (@st, NULL = keep) or a personal message (@psm, NULL = keep) for
 * "1:email". */
static void
ims_msnp_presence (MsnpPeer *m, const char *who, const char *st, const char *psm)
{
  ImsDriver *drv = m->base.driver;
  g_autofree char *email = ims_msnp_email (who);
  if (email == NULL || g_str_equal (email, m->email)
      || !ims_driver_watches (drv, m->base.name, email))
    return;
  BuddyState *b = g_hash_table_lookup (m->buddies, email);
  if (b == NULL)
    {
      b = g_new0 (BuddyState, 1);
      g_hash_table_insert (m->buddies, g_strdup (email), b);
    }
  if (st)
    {
      g_free (b->st);
      b->st = g_strdup (st);
    }
  if (psm)
    {
      g_free (b->psm);
      b->psm = g_strdup (psm);
    }
  if (b->st == NULL)
    return; /* a personal message before any state: wait for NLN */
  ims_msnp_report (m, email, b);
  if (g_str_equal (b->st, "FLN"))
    g_hash_table_remove (m->buddies, email);
}

/* ---- switchboards ---- */

static void
ims_msnp_sb_send (Sb *sb, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
ims_msnp_sb_send (Sb *sb, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *line = g_strdup_vprintf (format, ap);
  va_end (ap);
  ims_frame_conn_send (sb->conn, line, strlen (line));
}

static void
ims_msnp_sb_close (Sb *sb)
{
  if (sb->peer->sbs)
    g_ptr_array_remove (sb->peer->sbs, sb); /* frees it */
}

static gboolean
ims_msnp_sb_idle (gpointer data)
{
  Sb *sb = data;
  sb->idle_id = 0;
  ims_msnp_sb_send (sb, "OUT\r\n");
  ims_msnp_sb_close (sb);
  return G_SOURCE_REMOVE;
}

static void
ims_msnp_sb_touch (Sb *sb)
{
  g_clear_handle_id (&sb->idle_id, g_source_remove);
  sb->idle_id = g_timeout_add_seconds (SB_IDLE_S, ims_msnp_sb_idle, sb);
}

/* One MSG per piece: a switchboard takes 1664 bytes a message. */
static void
ims_msnp_sb_send_text (Sb *sb, const char *text)
{
  static const char head[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                             "X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n";
  g_auto (GStrv) pieces = ims_text_chunks (text, IMS_MSNP_MAX_MSG - strlen (head));
  for (char **piece = pieces; *piece; piece++)
    {
      g_autofree char *payload = g_strconcat (head, *piece, NULL);
      ims_msnp_sb_send (sb, "MSG %u N %zu\r\n%s", ++sb->trid, strlen (payload), payload);
    }
  ims_msnp_sb_touch (sb);
}

static void
ims_msnp_sb_flush (Sb *sb)
{
  char *text;
  while ((text = g_queue_pop_head (&sb->queue)))
    {
      ims_msnp_sb_send_text (sb, text);
      g_free (text);
    }
}

static void
ims_msnp_sb_frame (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer data)
{
  Sb *sb = data;
  MsnpPeer *m = sb->peer;
  ImsMsnpCmd c;
  if (!ims_msnp_parse (frame, len, &c, NULL))
    {
      ims_msnp_sb_close (sb);
      return;
    }
  if (g_str_equal (c.cmd, "USR") && c.nargs >= 2 && g_str_equal (c.args[1], "OK"))
    {
      sb->stage = SB_CALLING;
      ims_msnp_sb_send (sb, "CAL %u %s\r\n", ++sb->trid, sb->buddy);
    }
  else if (g_str_equal (c.cmd, "JOI") || (g_str_equal (c.cmd, "ANS") && c.nargs >= 2
                                          && g_str_equal (c.args[1], "OK")))
    {
      sb->stage = SB_READY;
      ims_msnp_sb_flush (sb);
      ims_msnp_sb_touch (sb);
    }
  else if (g_str_equal (c.cmd, "MSG") && c.nargs >= 1 && c.payload)
    {
      g_autofree char *from = g_ascii_strdown (c.args[0], -1);
      g_autofree char *text = ims_msnp_msg_text (c.payload, c.payload_len);
      ims_msnp_sb_touch (sb);
      if (text && g_str_equal (from, sb->buddy))
        ims_driver_message (m->base.driver, m->base.name, from, text);
    }
  else if (g_str_equal (c.cmd, "BYE") || (ims_msnp_is_error (&c) && sb->stage != SB_READY))
    {
      if (ims_msnp_is_error (&c))
        {
          g_autofree char *safe = ims_text_for_log (sb->buddy, 128);
          g_info ("%s: no switchboard with %s (MSNP error %s%s): %u IM(s) dropped", m->base.name,
                  safe, c.cmd, g_str_equal (c.cmd, "217") ? ": offline" : "",
                  g_queue_get_length (&sb->queue));
        }
      ims_msnp_cmd_clear (&c);
      ims_msnp_sb_close (sb);
      return;
    }
  ims_msnp_cmd_clear (&c);
}

static void
ims_msnp_sb_connected (ImsFrameConn *conn, gpointer data)
{
  Sb *sb = data;
  MsnpPeer *m = sb->peer;
  sb->stage = SB_AUTH;
  if (sb->session)
    ims_msnp_sb_send (sb, "ANS %u %s;%s %s %s\r\n", ++sb->trid, m->email, m->guid, sb->token, sb->session);
  else
    ims_msnp_sb_send (sb, "USR %u %s;%s %s\r\n", ++sb->trid, m->email, m->guid, sb->token);
}

static void
ims_msnp_sb_closed (ImsFrameConn *conn, const GError *error, gpointer data)
{
  ims_msnp_sb_close (data);
}

static const ImsFrameConnFuncs ims_msnp_sb_funcs = { ims_msnp_sb_connected, ims_msnp_sb_frame, ims_msnp_sb_closed };

static void
ims_msnp_sb_free (Sb *sb)
{
  g_clear_pointer (&sb->conn, ims_frame_conn_free);
  g_clear_handle_id (&sb->idle_id, g_source_remove);
  g_queue_clear_full (&sb->queue, g_free);
  g_queue_remove (&sb->peer->xfr_waiting, sb);
  g_free (sb->buddy);
  g_free (sb->token);
  g_free (sb->session);
  g_free (sb);
}

/* "host:port" from the server; FALSE when it is no address. */
static gboolean
ims_msnp_sb_address (const char *addr, char **host, int *port)
{
  const char *colon = strrchr (addr, ':');
  if (colon == NULL || colon == addr)
    return FALSE;
  char *end;
  guint64 p = g_ascii_strtoull (colon + 1, &end, 10);
  if (*end || p == 0 || p > 65535)
    return FALSE;
  *host = g_strndup (addr, (gsize) (colon - addr));
  *port = (int) p;
  return strspn (*host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
         == strlen (*host);
}

static Sb *
ims_msnp_sb_new (MsnpPeer *m, const char *buddy)
{
  guint theirs = 0;
  for (guint i = 0; i < m->sbs->len; i++)
    theirs += g_str_equal (((Sb *) m->sbs->pdata[i])->buddy, buddy);
  if (m->sbs->len >= SB_MAX || theirs >= SB_PER_BUDDY)
    return NULL;
  Sb *sb = g_new0 (Sb, 1);
  sb->peer = m;
  sb->buddy = g_strdup (buddy);
  g_queue_init (&sb->queue);
  g_ptr_array_add (m->sbs, sb);
  return sb;
}

static gboolean
ims_msnp_sb_start (Sb *sb, const char *addr, const char *token)
{
  g_autofree char *host = NULL;
  int port;
  if (!ims_msnp_sb_address (addr, &host, &port) || strlen (token) > 512 || strchr (token, ' '))
    return FALSE;
  sb->token = g_strdup (token);
  sb->conn = ims_frame_conn_new (host, port, IMS_NATIVE_CONNECT_TIMEOUT_S,
                                 IMS_MSNP_MAX_LINE + IMS_MSNP_MAX_PAYLOAD, ims_msnp_frame_len,
                                 &ims_msnp_sb_funcs, sb);
  return TRUE;
}

/* RNG sessid addr CKI token email name ...: a buddy wants to talk. */
static void
ims_msnp_ring (MsnpPeer *m, const ImsMsnpCmd *c)
{
  ImsDriver *drv = m->base.driver;
  if (c->nargs < 5)
    return;
  g_autofree char *from = g_ascii_strdown (c->args[4], -1);
  if (!ims_driver_accepts (drv, m->base.name, from))
    {
      ims_driver_log_stranger (drv, m->base.name, "switchboard invitation", from);
      return;
    }
  Sb *sb = ims_msnp_sb_new (m, from);
  if (sb == NULL)
    {
      if (!m->sb_cap_logged)
        {
          g_autofree char *safe = ims_text_for_log (from, 128);
          g_warning ("%s: refused a switchboard invitation from %s: %d switchboards a buddy, %d "
                     "in all (said once a login)", m->base.name, safe, SB_PER_BUDDY, SB_MAX);
        }
      m->sb_cap_logged = TRUE;
      return;
    }
  sb->session = g_strdup (c->args[0]);
  if (strlen (sb->session) > 64 || !ims_msnp_sb_start (sb, c->args[1], c->args[3]))
    ims_msnp_sb_close (sb);
}

static gboolean
ims_msnp_send (ImsNativePeer *p, const char *to, const char *text, GError **error)
{
  MsnpPeer *m = (MsnpPeer *) p;
  g_autofree char *buddy = g_ascii_strdown (to, -1);
  if (!ims_msnp_is_address (buddy))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "not an MSN address (an e-mail address)");
      return FALSE;
    }
  Sb *sb = NULL;
  for (guint i = 0; i < m->sbs->len && sb == NULL; i++)
    {
      Sb *s = m->sbs->pdata[i];
      if (g_str_equal (s->buddy, buddy) && g_queue_get_length (&s->queue) < SB_QUEUE_MAX)
        sb = s;
    }
  if (sb && sb->stage == SB_READY)
    {
      ims_msnp_sb_send_text (sb, text);
      return TRUE;
    }
  if (sb == NULL)
    {
      sb = ims_msnp_sb_new (m, buddy);
      if (sb == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, "too many open switchboards");
          return FALSE;
        }
      g_queue_push_tail (&m->xfr_waiting, sb);
      ims_msnp_ns_send (m, "XFR %u SB\r\n", ++m->trid);
    }
  g_queue_push_tail (&sb->queue, g_strdup (text));
  return TRUE;
}

/* ---- the notification server ---- */

static void
ims_msnp_logged_in (MsnpPeer *m)
{
  m->stage = NS_ONLINE;
  ims_msnp_ns_send_payload (m, "ADL", "<ml l=\"1\"></ml>");
  ims_msnp_own_changed (&m->base);
  ims_native_logged_in (&m->base);
  /* The list lives in the server's address book; ADL of every watched
   * buddy (the core subscribes each) is all the driver needs. */
  ims_driver_roster (m->base.driver, m->base.name, NULL);
}

static void
ims_msnp_ns_command (MsnpPeer *m, const ImsMsnpCmd *c)
{
  if (ims_native_debug (&m->base) >= 2)
    g_message ("%s: RECV %s", m->base.name, c->cmd);
  const char *cmd = c->cmd;
  if (m->stage == NS_VER)
    {
      if (!g_str_equal (cmd, "VER"))
        {
          g_autofree char *safe = ims_text_for_log (cmd, 8);
          ims_native_fail (&m->base, FALSE, "not an MSN (MSNP) server: it answered VER with %s",
                           safe);
        }
      else if (c->nargs < 2 || !g_str_equal (c->args[1], "MSNP18"))
        ims_native_fail (&m->base, TRUE, "the MSN server does not speak MSNP18 (the only "
                         "version with personal messages this driver offers)");
      else
        {
          m->stage = NS_CVR;
          ims_msnp_ns_send (m, "CVR %u 0x0409 winnt 6.1.0 i386 MSNMSGR 14.0.8117.0416 msmsgs %s\r\n",
                   ++m->trid, m->email);
        }
      return;
    }
  if (g_str_equal (cmd, "CVR") && m->stage == NS_CVR)
    {
      m->stage = NS_USR_I;
      ims_msnp_ns_send (m, "USR %u SSO I %s\r\n", ++m->trid, m->email);
    }
  else if (g_str_equal (cmd, "USR") && c->nargs >= 5 && m->stage == NS_USR_I
           && g_str_equal (c->args[1], "SSO") && g_str_equal (c->args[2], "S"))
    {
      if (strlen (c->args[4]) > 1024)
        ims_native_fail (&m->base, FALSE, "the MSN server sent an oversized nonce");
      else
        ims_msnp_sso (m, c->args[4]);
    }
  else if (g_str_equal (cmd, "USR") && c->nargs >= 2 && g_str_equal (c->args[1], "OK")
           && m->stage == NS_USR_S)
    ims_msnp_logged_in (m);
  else if (ims_msnp_is_error (c) && m->stage < NS_ONLINE)
    ims_native_fail (&m->base, g_str_equal (cmd, "911"), "%s (MSNP error %s)",
                     g_str_equal (cmd, "911") ? "wrong password: the server refused the login"
                                              : "the MSN server refused the login",
                     cmd);
  else if (m->stage != NS_ONLINE)
    return;
  else if ((g_str_equal (cmd, "NLN") && c->nargs >= 2) || (g_str_equal (cmd, "ILN") && c->nargs >= 3))
    {
      gboolean iln = g_str_equal (cmd, "ILN");
      ims_msnp_presence (m, c->args[iln ? 2 : 1], c->args[iln ? 1 : 0], NULL);
    }
  else if (g_str_equal (cmd, "FLN") && c->nargs >= 1)
    ims_msnp_presence (m, c->args[0], "FLN", NULL);
  else if (g_str_equal (cmd, "UBX") && c->nargs >= 1 && c->payload)
    {
      g_autofree char *psm = ims_msnp_psm (c->payload, c->payload_len);
      if (psm)
        ims_msnp_presence (m, c->args[0], NULL, psm);
    }
  else if (g_str_equal (cmd, "XFR") && c->nargs >= 5 && g_str_equal (c->args[1], "SB"))
    {
      Sb *sb = g_queue_pop_head (&m->xfr_waiting);
      if (sb && !ims_msnp_sb_start (sb, c->args[2], c->args[4]))
        ims_msnp_sb_close (sb);
    }
  else if (g_str_equal (cmd, "RNG"))
    ims_msnp_ring (m, c);
  else if (g_str_equal (cmd, "QNG"))
    ims_native_pong (&m->base);
  else if (g_str_equal (cmd, "OUT"))
    ims_native_fail (&m->base, FALSE, c->nargs >= 1 && g_str_equal (c->args[0], "OTH")
                                          ? "the account logged in elsewhere"
                                          : "the MSN server ended the session");
  else if (ims_msnp_is_error (c))
    {
      Sb *sb = g_str_equal (cmd, "913") ? g_queue_pop_head (&m->xfr_waiting) : NULL;
      if (sb)
        ims_msnp_sb_close (sb);
      g_info ("%s: the MSN server answered error %s", m->base.name, cmd);
    }
}

static void
ims_msnp_ns_frame (ImsFrameConn *conn, const guint8 *frame, gsize len, gpointer data)
{
  MsnpPeer *m = data;
  ImsMsnpCmd c;
  g_autoptr (GError) error = NULL;
  if (!ims_msnp_parse (frame, len, &c, &error))
    {
      ims_native_fail (&m->base, FALSE, "%s", error->message);
      return;
    }
  ims_msnp_ns_command (m, &c);
  ims_msnp_cmd_clear (&c);
}

static void
ims_msnp_ns_connected (ImsFrameConn *conn, gpointer data)
{
  MsnpPeer *m = data;
  ims_msnp_ns_send (m, "VER %u MSNP18 CVR0\r\n", ++m->trid);
}

static void
ims_msnp_ns_closed (ImsFrameConn *conn, const GError *error, gpointer data)
{
  MsnpPeer *m = data;
  ims_native_fail (&m->base, FALSE, "%s", error->message);
}

static const ImsFrameConnFuncs ims_msnp_ns_funcs = { ims_msnp_ns_connected, ims_msnp_ns_frame, ims_msnp_ns_closed };

static void
ims_msnp_connect (ImsNativePeer *p)
{
  MsnpPeer *m = (MsnpPeer *) p;
  g_free (m->email);
  m->email = g_ascii_strdown (p->acct->id, -1);
  if (m->guid == NULL)
    {
      g_autofree char *u = g_uuid_string_random ();
      m->guid = g_strdup_printf ("{%s}", u);
    }
  m->trid = 0;
  m->stage = NS_VER;
  m->sbs = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_msnp_sb_free);
  m->buddies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) ims_msnp_buddy_state_free);
  m->ns = ims_frame_conn_new (ims_native_host (p), ims_native_port (p), IMS_NATIVE_CONNECT_TIMEOUT_S,
                              IMS_MSNP_MAX_LINE + IMS_MSNP_MAX_PAYLOAD, ims_msnp_frame_len,
                              &ims_msnp_ns_funcs, m);
}

static void
ims_msnp_subscribe (ImsNativePeer *p, const char *buddy)
{
  g_autofree char *email = g_ascii_strdown (buddy, -1);
  /* 3: the forward list (we see them) and the allow list (they see us). */
  g_autofree char *ml = ims_msnp_ml (email, 3);
  if (ml == NULL)
    return;
  ims_msnp_ns_send_payload ((MsnpPeer *) p, "ADL", ml);
  /* No authorization on MSN: adding is seeing. */
  ims_driver_subscription (p->driver, p->name, email, IMS_SUB_BOTH);
}

static void
ims_msnp_unsubscribe (ImsNativePeer *p, const char *buddy)
{
  g_autofree char *email = g_ascii_strdown (buddy, -1);
  g_autofree char *ml = ims_msnp_ml (email, 1);
  if (ml)
    ims_msnp_ns_send_payload ((MsnpPeer *) p, "RML", ml);
}

static ImsDriver *ims_msnp_driver_new (ImsCore *core, const ImsDriverSetup *setup,
                                       GError **error);

static void
ims_msnp_check_account (const ImsAccount *a, GPtrArray *errors, GPtrArray *warnings)
{
  if (strchr (a->username, '@') == NULL)
    g_ptr_array_add (errors, g_strdup ("username: MSN logs in with an e-mail address "
                                       "(user@example.com)"));
  if (a->loginurl && !g_str_has_prefix (a->loginurl, "https://"))
    g_ptr_array_add (warnings, g_strdup ("loginurl is not https: the password travels in clear"));
}

static gboolean
ims_msnp_id_valid (const char *id)
{
  return ims_text_plain_id (id, 254);
}

static const char *const ims_msnp_types[] = { "msn", NULL };
static const char *const ims_msnp_keys[] = { "loginurl", "pinginterval", "pingtimeout", NULL };

/* MSN as the registry and the docs see it. */
const ImsNetwork ims_msnp_network = {
  .name = "MSN",
  .driver = "msnp",
  .types = ims_msnp_types,
  .summary = "MSN Messenger over MSNP18 (native driver; the revival servers such as Escargot); ids, "
             "username included, are e-mail addresses",
  .keys = ims_msnp_keys,
  .default_host = "messenger.hotmail.com",
  .default_port = 1863,
  .bare_ids = FALSE,
  .id_valid = ims_msnp_id_valid,
  .id_rule = "an MSN id has no spaces or control characters",
  .cleartext = "IMs and presence travel in clear (the password goes to loginurl)",
  .pong = TRUE,
  .max_message = IMS_MSNP_MAX_MSG,
  .show_words = "available busy phone idle brb away lunch",
  .check_account = ims_msnp_check_account,
  .new_driver = ims_msnp_driver_new,
};

static const ImsNativeProto ims_msnp_proto = {
  .network = &ims_msnp_network,
  .peer_size = sizeof (MsnpPeer),
  .connect = ims_msnp_connect,
  .keepalive = ims_msnp_ping,
  .disconnect = ims_msnp_disconnect,
  .subscribe = ims_msnp_subscribe,
  .unsubscribe = ims_msnp_unsubscribe,
  .own_changed = ims_msnp_own_changed,
  .send = ims_msnp_send,
  .finalize = ims_msnp_finalize,
};

static ImsDriver *
ims_msnp_driver_new (ImsCore *core, const ImsDriverSetup *setup, GError **error)
{
  return ims_native_driver_new (core, &ims_msnp_proto);
}
