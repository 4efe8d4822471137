/* Unit tests for the AMI wire format and the telephony rules. */
#include "ims-ami-proto.h"
#include "ims-telephony.h"

#include <string.h>

static GPtrArray *
feed (const char *text)
{
  ImsAmiParser p;
  ims_ami_parser_init (&p);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_ami_message_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      gboolean ok;
      ImsAmiMessage *m = ims_ami_parser_feed (&p, *l, strlen (*l), &ok, NULL);
      g_assert_true (ok);
      if (m)
        g_ptr_array_add (out, m);
    }
  g_assert_cmpstr (p.greeting, ==, "Asterisk Call Manager/11.0.0");
  ims_ami_parser_clear (&p);
  return out;
}

static void
test_parse (void)
{
  /* ami-B08: CRLF, a list item with ActionID as its 2nd line; ami-B03: LF
   * only, an empty value, a repeated key. */
  g_autoptr (GPtrArray) ms = feed ("Asterisk Call Manager/11.0.0\r\n"
                                   "Response: Success\r\nActionID: d-1\r\nEventList: start\r\n\r\n"
                                   "Event: DeviceStateChange\r\nActionID: d-1\r\nDevice: PJSIP/jimmy\r\n"
                                   "State: INUSE\r\n\r\n"
                                   "Response: Success\nMessage: Presence State\nMessage: on a call\n"
                                   "AccountCode: \n\n");
  g_assert_cmpuint (ms->len, ==, 3);
  g_assert_cmpstr (ims_ami_message_get (ms->pdata[1], "device"), ==, "PJSIP/jimmy");
  g_assert_cmpstr (ims_ami_message_get (ms->pdata[2], "Message"), ==, "Presence State");
  g_assert_cmpstr (ims_ami_message_get (ms->pdata[2], "AccountCode"), ==, "");
  g_assert_null (ims_ami_message_get (ms->pdata[2], "Missing"));
}

static void
test_parse_errors (void)
{
  ImsAmiParser p;
  gboolean ok;
  g_autoptr (GError) err = NULL;
  ims_ami_parser_init (&p);
  g_assert_null (ims_ami_parser_feed (&p, "SSH-2.0-OpenSSH", 15, &ok, &err));
  g_assert_false (ok);
  g_clear_error (&err);
  ims_ami_parser_clear (&p);
  ims_ami_parser_init (&p);
  ims_ami_parser_feed (&p, "Asterisk Call Manager/11.0.0", 28, &ok, NULL);
  ims_ami_parser_feed (&p, "no colon", 8, &ok, &err);
  g_assert_false (ok);
  g_clear_error (&err);
  ok = TRUE;
  for (int i = 0; i <= IMS_AMI_MAX_HEADERS && ok; i++)
    ims_ami_parser_feed (&p, "K: v", 4, &ok, &err);
  g_assert_false (ok);
  g_assert_nonnull (strstr (err->message, "message larger than"));
  ims_ami_parser_clear (&p);
}

static void
test_action (void)
{
  const char *h[] = { "Channel", "PJSIP/jimmy", "Variable", "IMSTATUS_DIAL=+1", NULL };
  g_autofree char *a = ims_ami_action ("Originate", "ims-1", h, NULL);
  g_assert_cmpstr (a, ==, "Action: Originate\r\nActionID: ims-1\r\nChannel: PJSIP/jimmy\r\n"
                          "Variable: IMSTATUS_DIAL=+1\r\n\r\n");
  const char *bad[] = { "Exten", "1301\r\nApplication: System", NULL };
  g_autoptr (GError) err = NULL;
  g_assert_null (ims_ami_action ("Originate", "x", bad, &err));
  g_assert_error (err, IMS_AMI_ERROR, IMS_AMI_ERROR_VALUE);
  g_autofree char *e = ims_ami_escape_value ("a\\b\r\nc\x01", 100);
  g_assert_cmpstr (e, ==, "a\\\\b\\r\\nc\\x01");
}

static void
test_dial_targets (void)
{
  const struct { const char *t, *exten; } ok[] = {
    { "12155550100", "12155550100" }, { "+12155550100", "+12155550100" },
    { "sip:1234@pbx.example.org", "uri" }, { "TEL:+1-215-555-0100", "uri" },
    { "iax2:bob@host", "uri" }, { "sips:a.b_c*#=@x", "uri" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *exten = NULL;
      g_assert_true (ims_dial_target_parse (ok[i].t, &exten));
      g_assert_cmpstr (exten, ==, ok[i].exten);
    }
  const char *bad[] = { "", "1301\r\nApplication: System", "1;2", "12 15", "+", "abc",
                        "sip:", "sip:a b", "sip:a;transport=tcp", "sip:a\"b", "Local/1@x",
                        "123456789012345678901234567890123", "http://x", "sip:a,b" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      char *exten = NULL;
      g_assert_false (ims_dial_target_parse (bad[i], &exten));
      g_assert_null (exten);
    }
}

static void
test_device_states (void)
{
  g_assert_true (ims_device_state_available ("NOT_INUSE"));
  g_assert_true (ims_device_state_available ("INUSE"));
  g_assert_false (ims_device_state_available ("UNAVAILABLE"));
  g_assert_false (ims_device_state_available ("INVALID"));
  g_assert_false (ims_device_state_available (NULL));
  const char *busy[] = { "INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD" };
  for (gsize i = 0; i < G_N_ELEMENTS (busy); i++)
    g_assert_true (ims_device_state_busy (busy[i]));
  g_assert_false (ims_device_state_busy ("NOT_INUSE"));
  g_assert_false (ims_device_state_busy ("UNAVAILABLE"));
}

/* presencehints: the values Asterisk takes (ami-B12); the message goes
 * base64 so its commas cannot split the value. */
static void
test_hint_values (void)
{
  ImsAnswer a = { .status = IMS_STATUS_BUSY, .text = (char *) "on the phone, \"busy\"",
                  .show = (char *) "dnd" };
  g_assert_cmpstr (ims_hint_device_state (a.status), ==, "INUSE");
  g_autofree char *v = ims_hint_presence_value (&a);
  g_assert_cmpstr (v, ==, "dnd,dnd,b24gdGhlIHBob25lLCAiYnVzeSI=,e");
  a.status = IMS_STATUS_AWAY;
  a.show = (char *) "xa";
  g_autofree char *x = ims_hint_presence_value (&a);
  g_assert_true (g_str_has_prefix (x, "xa,xa,"));
  a.status = IMS_STATUS_IDLE;
  a.show = (char *) "bad,word";
  g_autofree char *i = ims_hint_presence_value (&a);
  g_assert_true (g_str_has_prefix (i, "available,,"));
  g_assert_cmpstr (ims_hint_device_state (IMS_STATUS_IDLE), ==, "NOT_INUSE");
  g_assert_cmpstr (ims_hint_device_state (IMS_STATUS_OFFLINE), ==, "UNAVAILABLE");
  g_assert_cmpstr (ims_hint_device_state (IMS_STATUS_UNKNOWN), ==, "UNKNOWN");
  a.status = IMS_STATUS_UNKNOWN;
  a.text = (char *) "";
  a.show = (char *) "";
  g_autofree char *u = ims_hint_presence_value (&a);
  g_assert_cmpstr (u, ==, "not_set,,,e");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ami/parse", test_parse);
  g_test_add_func ("/ami/parse-errors", test_parse_errors);
  g_test_add_func ("/ami/action", test_action);
  g_test_add_func ("/ami/dial-targets", test_dial_targets);
  g_test_add_func ("/ami/device-states", test_device_states);
  g_test_add_func ("/ami/hint-values", test_hint_values);
  return g_test_run ();
}
