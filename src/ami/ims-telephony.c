/* ims-telephony: see the header.  Click-to-dial is the dangerous part: an IM
 * can make the PBX place a call.  So: only senders in dialallow, only with
 * dialsecret (compared in constant time) or a one-time dialtotp code (each
 * once), only a strictly checked target, rate-limited; refusals are logged
 * and tell the sender nothing useful; strangers get no answer at all.
 */
#define G_LOG_DOMAIN "ims-ami"

#include "ims-telephony.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "ims-ami-client.h"
#include "ims-rate.h"
#include "ims-telephony-private.h"
#include "ims-totp.h"
#include "ims-vocab.h"

#define MAX_USEREVENT_BODY 1000
#define DIAL_TIMEOUT_MS "30000"



typedef struct {
  ImsTelephony *tel;
  char *peer;
  char *from;
  char *target;
} DialJob;

gboolean
ims_device_state_available (const char *state)
{
  return state && g_strcmp0 (state, "UNAVAILABLE") != 0 && g_strcmp0 (state, "INVALID") != 0
         && g_strcmp0 (state, "UNKNOWN") != 0;
}

gboolean
ims_device_state_busy (const char *state)
{
  static const char *const busy[] = { "INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD" };
  for (gsize i = 0; state && i < G_N_ELEMENTS (busy); i++)
    if (g_str_equal (state, busy[i]))
      return TRUE;
  return FALSE;
}

gboolean
ims_dial_target_parse (const char *t, char **exten)
{
  static const char *const schemes[] = { "sip:", "sips:", "tel:", "iax2:", "h323:" };
  gsize n = t ? strlen (t) : 0;
  if (n == 0 || n > 200)
    return FALSE;
  const char *p = t[0] == '+' ? t + 1 : t;
  if (*p && strspn (p, "0123456789") == strlen (p) && strlen (p) <= 32)
    {
      *exten = g_strdup (t);
      return TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (g_ascii_strncasecmp (t, schemes[i], strlen (schemes[i])) == 0)
      {
        const char *rest = t + strlen (schemes[i]);
        if (*rest == '\0'
            || strspn (rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@.+_*#=-")
                   != strlen (rest))
          return FALSE;
        *exten = g_strdup ("uri");
        return TRUE;
      }
  return FALSE;
}

/* The default dial rule, and the word "extensions": this PBX's own numbers
 * (1 to 6 digits), which cost nothing and reach nobody outside. */
static gboolean
ims_dial_is_extension (const char *target)
{
  gsize n = target ? strlen (target) : 0;
  return n >= 1 && n <= 6 && strspn (target, "0123456789") == n;
}

gboolean
ims_dial_target_allowed (const ImsPeerConfig *p, const char *target)
{
  gboolean extension = ims_dial_is_extension (target);
  if (p->dialtargets == NULL || p->dialtargets->len == 0)
    return extension;
  g_autofree char *low = g_ascii_strdown (target, -1);
  for (guint i = 0; i < p->dialtargets->len; i++)
    {
      const char *rule = p->dialtargets->pdata[i];
      g_autofree char *pat = g_ascii_strdown (rule, -1);
      if (g_str_equal (pat, "any") || (g_str_equal (pat, "extensions") && extension)
          || g_pattern_match_simple (pat, low))
        return TRUE;
    }
  return FALSE;
}

static const ImsPeerConfig *
ims_tel_peer (ImsTelephony *tel, const char *name)
{
  return ims_config_find_peer (tel->config, name);
}

gboolean
ims_telephony_peer_allowed (ImsTelephony *tel, const ImsPeerConfig *p, char **why)
{
  if (!ims_peer_config_has_activewhen_device (p))
    return TRUE;
  const char *st = g_hash_table_lookup (tel->devices, p->activewhen);
  if (ims_device_state_available (st))
    return TRUE;
  *why = st ? g_strdup_printf ("activewhen %s is %s", p->activewhen, st)
            : g_strdup_printf ("activewhen %s: state not known yet (AMI)", p->activewhen);
  return FALSE;
}

void
ims_telephony_apply_phone (ImsTelephony *tel, const ImsPeerConfig *p)
{
  if (p->phone == NULL)
    return;
  gboolean busy = ims_device_state_busy (g_hash_table_lookup (tel->devices, p->phone));
  ims_core_set_own (tel->core, p->name, busy,
                    p->busymessage ? p->busymessage : p->statusmessage);
}

/* ---- AMI ---- */

static void
on_tel_device (const char *device, const char *state, gpointer data)
{
  ImsTelephony *tel = data;
  const char *old = g_hash_table_lookup (tel->devices, device);
  if (g_strcmp0 (old, state) == 0)
    return;
  g_autofree char *d = ims_text_for_log (device, 80);
  g_autofree char *s = ims_text_for_log (state, 40);
  g_info ("device %s is %s", d, s);
  g_hash_table_insert (tel->devices, g_strdup (device), g_strdup (state));
  ims_tel_people_device (tel, device, state);
  for (guint i = 0; i < tel->config->peers->len; i++)
    {
      const ImsPeerConfig *p = tel->config->peers->pdata[i];
      if (p->phone && g_str_equal (p->phone, device))
        ims_telephony_apply_phone (tel, p);
      /* Every change: a still-unavailable device may say why differently. */
      if (ims_peer_config_has_activewhen_device (p) && g_str_equal (p->activewhen, device)
          && tel->hooks.activewhen_changed)
        tel->hooks.activewhen_changed (tel->hooks.user_data, p->name);
    }
}

/* ---- presencehints: lamps without the module ---- */

static gboolean
ims_tel_hints_on (ImsTelephony *tel, const char *peer)
{
  const ImsPeerConfig *p = ims_tel_peer (tel, peer);
  if (p == NULL)
    return FALSE;
  return p->presencehints == IMS_HINTS_YES
         || (p->presencehints == IMS_HINTS_INHERIT && tel->config->presencehints == IMS_YES);
}

/* Only names Asterisk reads back as one state name: no ( ) , : / etc. */
static gboolean
ims_tel_hint_name_ok (const char *s)
{
  return *s && strspn (s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+-")
                   == strlen (s);
}

const char *
ims_hint_device_state (ImsStatus status)
{
  return ims_vocab_statuses[status <= IMS_STATUS_ONLINE ? status : IMS_STATUS_UNKNOWN].device;
}

char *
ims_hint_presence_value (const ImsAnswer *a)
{
  /* The lamp of a status word is the shared vocabulary's: the module lights
   * IM: lamps from the same row. */
  const char *state = ims_vocab_presence_of (
      &ims_vocab_statuses[a->status <= IMS_STATUS_ONLINE ? a->status : IMS_STATUS_UNKNOWN],
      a->show);
  /* The message goes base64 (option e, ami-B12): a status text's commas
   * cannot split it. */
  g_autofree char *b64 = g_base64_encode ((const guchar *) a->text, strlen (a->text));
  return g_strdup_printf ("%s,%s,%s,e", state, ims_tel_hint_name_ok (a->show) ? a->show : "", b64);
}

static void
ims_tel_hint (ImsTelephony *tel, const char *peer, const char *id, const ImsAnswer *a)
{
  if (tel->ami == NULL || ims_ami_client_state (tel->ami) != IMS_AMI_UP
      || !ims_tel_hints_on (tel, peer))
    return;
  g_autofree char *name = ims_presence_store_display_name (tel->store, peer, id);
  if (!ims_tel_hint_name_ok (peer) || !ims_tel_hint_name_ok (name))
    {
      g_autofree char *n = ims_text_for_log (name, 64);
      g_debug ("presencehints: %s:%s is not a name Asterisk can take as a state; skipped", peer,
               n);
      return;
    }
  g_autofree char *dev = g_strdup_printf ("DEVICE_STATE(Custom:%s:%s)", peer, name);
  g_autofree char *pres = g_strdup_printf ("PRESENCE_STATE(CustomPresence:%s:%s)", peer, name);
  g_autofree char *value = ims_hint_presence_value (a);
  const char *h1[] = { "Variable", dev, "Value",
                       a->lamp ? a->lamp : ims_hint_device_state (a->status), NULL };
  const char *h2[] = { "Variable", pres, "Value", value, NULL };
  g_autoptr (GError) err = NULL;
  if (!ims_ami_client_send (tel->ami, "Setvar", h1, NULL, NULL, NULL, &err)
      || !ims_ami_client_send (tel->ami, "Setvar", h2, NULL, NULL, NULL, &err))
    g_info ("presencehints: %s", err->message);
}

static void
on_tel_presence (const char *peer, const char *buddy, const ImsAnswer *old, const ImsAnswer *new_,
                 gpointer data)
{
  ImsTelephony *tel = data;
  /* A lamp shows the state: a change of text alone changes the message. */
  if (old && old->status == new_->status && g_strcmp0 (old->show, new_->show) == 0
      && g_strcmp0 (old->text, new_->text) == 0 && g_strcmp0 (old->lamp, new_->lamp) == 0)
    return;
  ims_tel_hint (tel, peer, buddy, new_);
}

/* After every AMI login: every lamp as it is now (Asterisk kept the states
 * it had, which may be stale). */
static void
ims_tel_hints_all (ImsTelephony *tel)
{
  g_autoptr (GPtrArray) peers = ims_presence_store_list_peers (tel->store);
  for (guint i = 0; i < peers->len; i++)
    {
      if (!ims_tel_hints_on (tel, peers->pdata[i]))
        continue;
      g_autoptr (GPtrArray) buddies = ims_presence_store_list_buddies (tel->store, peers->pdata[i]);
      for (guint j = 0; j < buddies->len; j++)
        {
          ImsAnswer a;
          ims_presence_store_lookup (tel->store, peers->pdata[i], buddies->pdata[j], &a);
          ims_tel_hint (tel, peers->pdata[i], buddies->pdata[j], &a);
          ims_answer_clear (&a);
        }
    }
}

static void
on_tel_ami_state (ImsAmiState state, const char *reason, gpointer data)
{
  ImsTelephony *tel = data;
  if (state == IMS_AMI_UP)
    {
      ims_tel_hints_all (tel);
      ims_tel_people_up (tel);
    }
  if (state == IMS_AMI_AUTHFAIL)
    g_warning ("AMI: login refused (%s)", reason ? reason : "?");
  else if (state == IMS_AMI_DOWN)
    g_info ("AMI: down (%s); device states kept until it is back", reason ? reason : "?");
}

static char *
ims_tel_ami_key (const ImsConfig *c)
{
  return c->amihost ? g_strdup_printf ("%s\n%d\n%s\n%s\n%d\n%s", c->amihost, c->amiport,
                                       c->amiuser, c->amisecret, c->amitls,
                                       c->amicafile ? c->amicafile : "")
                    : NULL;
}

void
ims_telephony_set_config (ImsTelephony *tel, const ImsConfig *config)
{
  tel->config = config;
  g_autofree char *key = ims_tel_ami_key (config);
  if (g_strcmp0 (key, tel->ami_key) == 0)
    return;
  g_clear_pointer (&tel->ami, ims_ami_client_free);
  if (tel->ami_key)
    memset (tel->ami_key, 0, strlen (tel->ami_key)); /* it holds amisecret */
  g_free (tel->ami_key);
  tel->ami_key = g_steal_pointer (&key);
  if (config->amihost)
    {
      ImsAmiHooks h = { on_tel_device, on_tel_ami_state, tel, on_tel_extension,
                        on_tel_hint_presence };
      tel->ami = ims_ami_client_new (config->amihost, config->amiport, config->amiuser,
                                     config->amisecret, config->amitls, config->amicafile, &h);
    }
}

/* ---- click-to-dial ---- */

static void
ims_tel_reply (ImsTelephony *tel, const char *peer, const char *to, const char *text)
{
  g_autoptr (GError) err = NULL;
  if (!ims_core_send (tel->core, peer, to, text, &err))
    g_info ("%s: could not answer %s: %s", peer, to, err->message);
}

static void
ims_dial_job_free (DialJob *j)
{
  g_free (j->peer);
  g_free (j->from);
  g_free (j->target);
  g_free (j);
}

static const char *
ims_tel_reason (const char *reason)
{
  /* OriginateResponse Reason (agi-B06): 0 failure, 1 hung up, 3 no answer,
   * 4 answered, 5 busy, 8 congestion. */
  if (g_strcmp0 (reason, "5") == 0)
    return "your phone is busy";
  if (g_strcmp0 (reason, "3") == 0)
    return "your phone did not answer";
  if (g_strcmp0 (reason, "8") == 0)
    return "the line is congested";
  return "the call could not be placed";
}

static void
on_tel_originate (const ImsAmiMessage *reply, gpointer data)
{
  DialJob *j = data;
  const char *resp = reply ? ims_ami_message_get (reply, "Response") : NULL;
  const char *reason = reply ? ims_ami_message_get (reply, "Reason") : NULL;
  g_autofree char *target = ims_text_for_log (j->target, 80);
  if (j->from == NULL)
    {
      /* From the web: the log says how it went. */
      g_message ("%s: click-to-dial to %s: %s", j->peer, target,
                 resp && g_ascii_strcasecmp (resp, "Success") == 0 ? "answered"
                 : reply ? ims_tel_reason (reason) : "the telephone system went away");
      ims_dial_job_free (j);
      return;
    }
  if (resp && g_ascii_strcasecmp (resp, "Success") == 0)
    {
      g_autofree char *from = ims_text_for_log (j->from, 128);
      g_message ("%s: click-to-dial for %s to %s: your phone answered", j->peer, from, target);
      g_autofree char *t = g_strdup_printf ("Your phone rang and answered; connecting you to %s.",
                                            j->target);
      ims_tel_reply (j->tel, j->peer, j->from, t);
    }
  else
    {
      const char *why = reply ? ims_tel_reason (reason) : "the telephone system went away";
      g_autofree char *r = ims_text_for_log (reason ? reason : "-", 32);
      g_autofree char *from = ims_text_for_log (j->from, 128);
      g_message ("%s: click-to-dial for %s to %s failed: %s (Reason %s)", j->peer, from, target,
                 why, r);
      g_autofree char *t = g_strdup_printf ("The call to %s did not go through: %s.", j->target, why);
      ims_tel_reply (j->tel, j->peer, j->from, t);
    }
  ims_dial_job_free (j);
}

/* A call file as Asterisk reads them (callfile-*): "Key: value" lines; ';'
 * starts a comment unless written "\;".  Written elsewhere, then renamed into
 * the spool, so Asterisk never sees half a file. */
static gboolean
ims_tel_callfile (ImsTelephony *tel, const char *who, const char *context, const char *device,
                  const char *exten, const char *target,
                  GError **error)
{
  const char *spool = tel->config->spooldir;
  g_autofree char *parent = g_path_get_dirname (spool);
  g_autofree char *tmpdir = g_build_filename (parent, "tmp", NULL);
  if (g_mkdir_with_parents (tmpdir, 0750) != 0 || !g_file_test (spool, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "spooldir %s (or %s) is not a usable directory", spool, tmpdir);
      return FALSE;
    }
  g_auto (GStrv) esc = g_strsplit (target, ";", -1);
  g_autofree char *target_esc = g_strjoinv ("\\;", esc);
  g_autofree char *text = g_strdup_printf ("Channel: %s\n"
                                           "CallerID: \"IM click-to-dial\" <%s>\n"
                                           "Context: %s\n"
                                           "Extension: %s\n"
                                           "Priority: 1\n"
                                           "Setvar: IMSTATUS_DIAL=%s\n"
                                           "MaxRetries: 0\n"
                                           "WaitTime: 30\n"
                                           "Archive: no\n",
                                           device, g_str_equal (exten, "uri") ? "" : exten,
                                           context, exten, target_esc);
  g_autofree char *name = g_strdup_printf ("imstatus-%" G_GINT64_FORMAT "-%d-%u.call",
                                           g_get_real_time () / G_USEC_PER_SEC, (int) getpid (),
                                           ++tel->callfile_seq);
  g_autofree char *tmp = g_build_filename (tmpdir, name, NULL);
  g_autofree char *dst = g_build_filename (spool, name, NULL);
  if (!g_file_set_contents_full (tmp, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0640, error))
    return FALSE;
  if (g_rename (tmp, dst) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot move %s into %s: %s",
                   tmp, spool, g_strerror (e));
      return FALSE;
    }
  g_message ("%s: click-to-dial call file %s", who, dst);
  return TRUE;
}

/* Rings @device, then @exten in @context for @who (a peer, for its logs and
 * the answer to @from, when there is one; or a person): an async Originate
 * or, without AMI, a call file. */
static gboolean
ims_tel_place_call (ImsTelephony *tel, const char *who, const char *context, const char *device,
                    const char *exten, const char *target, const char *from, GError **error)
{
  if (tel->ami == NULL)
    return ims_tel_callfile (tel, who, context, device, exten, target, error);
  g_autofree char *var = g_strdup_printf ("IMSTATUS_DIAL=%s", target);
  g_autofree char *cid = g_strdup_printf ("\"IM click-to-dial\" <%s>",
                                          g_str_equal (exten, "uri") ? "" : exten);
  const char *h[] = { "Channel", device, "Context", context, "Exten", exten,
                      "Priority", "1", "CallerID", cid, "Variable", var,
                      "Timeout", DIAL_TIMEOUT_MS, "Async", "true", NULL };
  DialJob *j = g_new0 (DialJob, 1);
  j->tel = tel;
  j->peer = g_strdup (who);
  j->from = g_strdup (from);
  j->target = g_strdup (target);
  if (!ims_ami_client_send (tel->ami, "Originate", h, "OriginateResponse", on_tel_originate, j,
                            error))
    {
      ims_dial_job_free (j);
      return FALSE;
    }
  return TRUE;
}

/* At most IMS_DIAL_RATE_PER_MINUTE requests a minute per sender. */
static gboolean
ims_tel_rate_ok (ImsTelephony *tel, const char *peer, const char *from)
{
  g_autofree char *key = g_strconcat (peer, "\n", from, NULL);
  return ims_rate_allow (tel->attempts, key, IMS_DIAL_RATE_PER_MINUTE);
}

static gboolean
ims_tel_allowed_sender (const ImsPeerConfig *p, const char *from)
{
  for (guint i = 0; i < p->dialallow->len; i++)
    if (g_ascii_strcasecmp (p->dialallow->pdata[i], from) == 0)
      return TRUE;
  return FALSE;
}

/* The word a request carries: the one-time code of dialtotp (each once), or
 * dialsecret (compared in constant time). */
static gboolean
ims_tel_dial_secret_ok (ImsTelephony *tel, const ImsPeerConfig *p, const char *word)
{
  if (p->dialtotp == NULL)
    return ims_text_secret_equal (word, p->dialsecret);
  guint64 *last = g_hash_table_lookup (tel->totp_steps, p->name);
  if (last == NULL)
    {
      last = g_new0 (guint64, 1);
      g_hash_table_insert (tel->totp_steps, g_strdup (p->name), last);
    }
  return ims_totp_accept (p->dialtotp, word, g_get_real_time () / G_USEC_PER_SEC, last);
}

static void
ims_tel_dial (ImsTelephony *tel, const ImsPeerConfig *p, const char *from, char **words)
{
  g_autofree char *who = ims_text_for_log (from, 128);
  if (!ims_tel_allowed_sender (p, from))
    {
      /* No answer: a stranger learns nothing, not even that dialing exists. */
      g_warning ("%s: refused click-to-dial from %s: not in dialallow", p->name, who);
      return;
    }
  if (!ims_tel_rate_ok (tel, p->name, from))
    {
      g_warning ("%s: refused click-to-dial from %s: more than %d requests a minute", p->name, who,
                 IMS_DIAL_RATE_PER_MINUTE);
      ims_tel_reply (tel, p->name, from, "Not accepted.");
      return;
    }
  const char *secret = words[1], *target = secret ? words[2] : NULL;
  g_autofree char *exten = NULL;
  if (secret == NULL || target == NULL || words[3] != NULL || !ims_tel_dial_secret_ok (tel, p, secret))
    {
      g_warning ("%s: refused click-to-dial from %s: wrong %s or form", p->name, who,
                 p->dialtotp ? "or used one-time code" : "secret");
      ims_tel_reply (tel, p->name, from, "Not accepted.");
      return;
    }
  if (!ims_dial_target_parse (target, &exten))
    {
      g_autofree char *t = ims_text_for_log (target, 80);
      g_warning ("%s: refused click-to-dial from %s: bad target '%s'", p->name, who, t);
      ims_tel_reply (tel, p->name, from,
                     "Not accepted: dial <code> <number or sip:/tel: URI>.");
      return;
    }
  if (!ims_dial_target_allowed (p, target))
    {
      g_autofree char *t = ims_text_for_log (target, 80);
      g_warning ("%s: refused click-to-dial from %s: '%s' is not in dialtargets", p->name, who, t);
      ims_tel_reply (tel, p->name, from, "Not accepted: not a number this PBX may call for you.");
      return;
    }
  g_autofree char *t = ims_text_for_log (target, 80);
  g_autoptr (GError) err = NULL;
  if (!ims_tel_place_call (tel, p->name, p->dialcontext, p->dialfrom, exten, target, from, &err))
    {
      g_warning ("%s: click-to-dial for %s to %s: %s", p->name, who, t, err->message);
      ims_tel_reply (tel, p->name, from, tel->ami ? "The telephone system is not reachable; try later."
                                                  : "The call could not be placed.");
      return;
    }
  if (tel->ami == NULL)
    {
      g_autofree char *m = g_strdup_printf ("Calling your phone now; answer it to be "
                                            "connected to %s.", target);
      ims_tel_reply (tel, p->name, from, m);
    }
  g_message ("%s: click-to-dial for %s: ringing %s for %s", p->name, who, p->dialfrom, t);
}

gboolean
ims_telephony_dial (ImsTelephony *tel, const char *peer, const char *device, const char *target,
                    GError **error)
{
  const ImsPeerConfig *p = ims_tel_peer (tel, peer);
  g_autofree char *exten = NULL;
  if (p == NULL || p->dialcontext == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "peer %s has no dialcontext for click-to-dial", peer);
      return FALSE;
    }
  if (!ims_dial_target_parse (target, &exten))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not a number or a sip:/sips:/tel:/iax2:/h323: URI");
      return FALSE;
    }
  if (!ims_dial_target_allowed (p, target))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "not a number this PBX may call (dialtargets)");
      return FALSE;
    }
  /* A phone is rung at most IMS_DIAL_RATE_PER_MINUTE times a minute from the web. */
  g_autofree char *ringer = g_strconcat ("web phone ", device, NULL);
  if (!ims_tel_rate_ok (tel, p->name, ringer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "%s was rung %d times in the last minute; wait", device,
                   IMS_DIAL_RATE_PER_MINUTE);
      return FALSE;
    }
  if (!ims_tel_place_call (tel, p->name, p->dialcontext, device, exten, target, NULL, error))
    return FALSE;
  g_autofree char *t = ims_text_for_log (target, 80);
  g_message ("%s: click-to-dial from the web: ringing %s for %s", p->name, device, t);
  return TRUE;
}

/* "call 204" (a published phone's contact, sent "call"): from a person's
 * identity, her phone rings (Local/<her extension>), then the phone @exten
 * of @p's publish context.  FALSE when it is not that (then a UserEvent). */
static gboolean
ims_tel_call_phone (ImsTelephony *tel, const ImsPeerConfig *p, const char *from,
                    const char *exten)
{
  const ImsPerson *person = tel->people ? ims_people_of_identity (tel->people, p->name, from)
                                        : NULL;
  const char *at = person && person->extension ? strchr (person->extension, '@') : NULL;
  if (at == NULL || !ims_tel_hint_known (tel, p->publish, exten))
    return FALSE;
  g_autofree char *from_log = ims_text_for_log (from, 128);
  g_autofree char *ringer = g_strconcat ("im call ", person->name, NULL);
  if (!ims_tel_rate_ok (tel, p->name, ringer))
    {
      g_message ("%s: call from %s refused: more than %d a minute", p->name, from_log,
                 IMS_DIAL_RATE_PER_MINUTE);
      return TRUE;
    }
  g_autofree char *device = g_strdup_printf ("Local/%s", person->extension);
  g_autoptr (GError) err = NULL;
  if (!ims_tel_place_call (tel, person->name, p->publish, device, exten, exten, from, &err))
    g_message ("%s: call from %s to %s failed: %s", p->name, from_log, exten, err->message);
  else
    g_message ("%s: call from %s (%s): ringing %s for %s", p->name, from_log, person->name,
               person->extension, exten);
  return TRUE;
}

gboolean
ims_telephony_call_person (ImsTelephony *tel, const char *device, const ImsPerson *person,
                           GError **error)
{
  const char *at = person->extension ? strchr (person->extension, '@') : NULL;
  g_autofree char *exten = at ? g_strndup (person->extension, at - person->extension) : NULL;
  /* Her own extension, from im.conf: the default dial rule still holds. */
  if (!ims_dial_is_extension (exten))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s has no extension of this PBX to call", person->name);
      return FALSE;
    }
  g_autofree char *ringer = g_strconcat ("web phone ", device, NULL);
  if (!ims_tel_rate_ok (tel, person->name, ringer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s was rung %d times in the last minute; wait",
                   device, IMS_DIAL_RATE_PER_MINUTE);
      return FALSE;
    }
  if (!ims_tel_place_call (tel, person->name, at + 1, device, exten, exten, NULL, error))
    return FALSE;
  g_message ("%s: call from the web: ringing %s for %s", person->name, device, person->extension);
  return TRUE;
}

static void
ims_tel_user_event (ImsTelephony *tel, const char *peer, const char *from, const char *text)
{
  if (tel->ami == NULL || ims_ami_client_state (tel->ami) != IMS_AMI_UP)
    return;
  g_autofree char *f = ims_ami_escape_value (from, 256);
  g_autofree char *b = ims_ami_escape_value (text, MAX_USEREVENT_BODY);
  const char *h[] = { "UserEvent", "IMReceived", "Peer", peer, "From", f, "Body", b, NULL };
  g_autoptr (GError) err = NULL;
  if (!ims_ami_client_send (tel->ami, "UserEvent", h, NULL, NULL, NULL, &err))
    g_info ("AMI UserEvent not sent: %s", err->message);
}

void
ims_telephony_on_message (ImsTelephony *tel, const char *peer, const char *from, const char *text)
{
  const ImsPeerConfig *p = ims_tel_peer (tel, peer);
  if (p == NULL)
    return;
  g_auto (GStrv) words = g_strsplit_set (text, " \t\r\n", -1);
  /* Drop the empty words of repeated blanks. */
  guint n = 0;
  for (guint i = 0; words[i]; i++)
    if (*words[i])
      words[n++] = words[i];
    else
      g_free (words[i]);
  words[n] = NULL;
  if (n > 0 && p->dialallow->len && g_ascii_strcasecmp (words[0], "dial") == 0)
    {
      ims_tel_dial (tel, p, from, words);
      return;
    }
  if (n == 2 && p->publish && g_ascii_strcasecmp (words[0], "call") == 0
      && ims_tel_call_phone (tel, p, from, words[1]))
    return;
  ims_tel_user_event (tel, peer, from, text);
}

ImsTelephony *
ims_telephony_new (const ImsConfig *config, ImsPresenceStore *store, ImsCore *core,
                   ImsPeople *people, const ImsTelephonyHooks *hooks)
{
  ImsTelephony *tel = g_new0 (ImsTelephony, 1);
  tel->store = store;
  tel->people = people;
  tel->core = core;
  tel->hooks = *hooks;
  tel->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ims_tel_hints_init (tel);
  tel->attempts = ims_rate_new (60);
  tel->totp_steps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  tel->store_watch = ims_presence_store_watch (store, on_tel_presence, NULL, tel);
  ims_telephony_set_config (tel, config);
  return tel;
}

void
ims_telephony_free (ImsTelephony *tel)
{
  if (tel == NULL)
    return;
  ims_presence_store_unwatch (tel->store, tel->store_watch);
  g_clear_pointer (&tel->ami, ims_ami_client_free);
  if (tel->ami_key)
    memset (tel->ami_key, 0, strlen (tel->ami_key)); /* it holds amisecret */
  g_free (tel->ami_key);
  g_hash_table_unref (tel->devices);
  ims_tel_hints_clear (tel);
  ims_rate_free (tel->attempts);
  g_hash_table_unref (tel->totp_steps);
  g_free (tel);
}
