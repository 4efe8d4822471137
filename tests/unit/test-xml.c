/* Unit tests for ims-xml: the expat stream reader, its trees and its limits. */
#include "ims-xml.h"
#include "ims-xmpp-component.h"
#include "ims-xmpp-presence.h"

#include <string.h>

typedef struct {
  GPtrArray *stanzas;
  GHashTable *root; /* the root's attributes */
  int opened, closed;
} Seen;

static void
on_open (gpointer data, const ImsXmlNode *root)
{
  Seen *s = data;
  s->opened++;
  g_assert_cmpstr (root->ns, ==, "http://etherx.jabber.org/streams");
  g_assert_cmpstr (root->name, ==, "stream");
  for (char **a = root->attrs; a[0]; a += 2)
    g_hash_table_insert (s->root, g_strdup (a[0]), g_strdup (a[1]));
}

static void
on_stanza (gpointer data, ImsXmlNode *stanza)
{
  g_ptr_array_add (((Seen *) data)->stanzas, stanza);
}

static void
on_close (gpointer data)
{
  ((Seen *) data)->closed++;
}

static const ImsXmlFuncs funcs = { on_open, on_stanza, on_close };

static void
seen_init (Seen *s)
{
  s->stanzas = g_ptr_array_new_with_free_func ((GDestroyNotify) ims_xml_node_free);
  s->root = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->opened = s->closed = 0;
}

static void
seen_clear (Seen *s)
{
  g_ptr_array_unref (s->stanzas);
  g_hash_table_unref (s->root);
}

static const char header[] =
    "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns='jabber:component:accept' from='phones.localhost' id='a1b2'>";

/* Fed one byte at a time and all at once, the same trees come out. */
static void
test_xml_stream (void)
{
  const char *body =
      "<handshake/>"
      "<message from='localhost'><privilege xmlns='urn:xmpp:privilege:2'>"
      "<perm access='presence' type='managed_entity'/></privilege></message>\n  "
      "<presence from='jane@localhost/desk' to='phones.localhost'><show>away</show>"
      "<status>at lunch &amp; back &lt;2&gt; &#x263A;</status>"
      "<idle xmlns='urn:xmpp:idle:1' since='2026-12-06T10:00:00Z'/></presence>"
      "</stream:stream>";
  g_autofree char *all = g_strconcat (header, body, NULL);
  for (int bytewise = 0; bytewise < 2; bytewise++)
    {
      Seen s;
      seen_init (&s);
      g_autoptr (ImsXmlStream) x = ims_xml_stream_new (NULL, &funcs, &s);
      g_autoptr (GError) error = NULL;
      if (bytewise)
        for (const char *p = all; *p; p++)
          g_assert_true (ims_xml_stream_feed (x, p, 1, &error));
      else
        g_assert_true (ims_xml_stream_feed (x, all, strlen (all), &error));
      g_assert_no_error (error);
      g_assert_cmpint (s.opened, ==, 1);
      g_assert_cmpint (s.closed, ==, 1);
      g_assert_cmpstr (g_hash_table_lookup (s.root, "id"), ==, "a1b2");
      g_assert_cmpuint (s.stanzas->len, ==, 3);
      ImsXmlNode *hs = s.stanzas->pdata[0];
      g_assert_cmpstr (hs->name, ==, "handshake");
      g_assert_cmpstr (hs->ns, ==, "jabber:component:accept");
      ImsXmlNode *msg = s.stanzas->pdata[1];
      ImsXmlNode *priv = ims_xml_child (msg, "urn:xmpp:privilege:2", "privilege");
      g_assert_nonnull (priv);
      g_assert_null (ims_xml_child (msg, NULL, "privilege")); /* not in jabber:component:accept */
      ImsXmlNode *perm = ims_xml_child (priv, NULL, "perm");
      g_assert_cmpstr (ims_xml_attr (perm, "access"), ==, "presence");
      g_assert_cmpstr (ims_xml_attr (perm, "type"), ==, "managed_entity");
      ImsXmlNode *pr = s.stanzas->pdata[2];
      g_assert_cmpstr (ims_xml_attr (pr, "from"), ==, "jane@localhost/desk");
      g_assert_cmpstr (ims_xml_text (ims_xml_child (pr, NULL, "show")), ==, "away");
      g_assert_cmpstr (ims_xml_text (ims_xml_child (pr, NULL, "status")), ==,
                       "at lunch & back <2> \xe2\x98\xba");
      ImsXmlNode *idle = ims_xml_child (pr, "urn:xmpp:idle:1", "idle");
      g_assert_cmpstr (ims_xml_attr (idle, "since"), ==, "2026-12-06T10:00:00Z");
      g_assert_true (idle->parent == pr);
      seen_clear (&s);
    }
}

/* Each limit and each construct XMPP forbids ends the stream with an error
 * that says which; what came before it was delivered. */
static void
test_xml_limits (void)
{
  static const ImsXmlLimits small = { 4096, 4, 3, 20 };
  g_autofree char *big_text = g_strnfill (5000, 'a');
  g_autofree char *long_stanza = g_strdup_printf ("<message><body>%s</body></message>", big_text);
  g_autofree char *open_tag = g_strdup_printf ("<message to='%s", big_text); /* never ends */
  g_autofree char *gap = g_strnfill (5000, ' ');
  const struct {
    const char *body, *error;
  } cases[] = {
    { long_stanza, "longer than 4096 bytes" },
    { open_tag, "longer than 4096 bytes" },
    { gap, "longer than 4096 bytes" },
    { "<a><b><c><d><e/></d></c></b></a>", "deeper than 4" },
    { "<a x='1' y='2' z='3' w='4'/>", "more than 3 attributes" },
    { "<a><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/><b/></a>",
      "more than 20 elements" },
    { "<a><!-- hi --></a>", "comment" },
    { "<a><?pi x?></a>", "processing instruction" },
    { "<a>&unknown;</a>", "not well-formed" },
    { "<a></b>", "not well-formed" },
    { "<a xmlns='x y'/>", "not well-formed" }, /* the separator inside a namespace */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      Seen s;
      seen_init (&s);
      g_autoptr (ImsXmlStream) x = ims_xml_stream_new (&small, &funcs, &s);
      g_autoptr (GError) error = NULL;
      g_assert_true (ims_xml_stream_feed (x, header, strlen (header), &error));
      g_assert_true (ims_xml_stream_feed (x, "<ok/>", 5, &error));
      gboolean ok = ims_xml_stream_feed (x, cases[i].body, strlen (cases[i].body), &error);
      g_assert_false (ok);
      g_assert_nonnull (error);
      g_test_message ("error: %s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].error));
      g_assert_cmpuint (s.stanzas->len, ==, 1); /* <ok/> */
      /* Broken for good: more input gets the same error. */
      g_autoptr (GError) again = NULL;
      g_assert_false (ims_xml_stream_feed (x, "<ok/>", 5, &again));
      g_assert_cmpstr (again->message, ==, error->message);
      seen_clear (&s);
    }
  /* A document type declaration before the root, and entity tricks. */
  const char *before_root[] = {
    "<?xml version='1.0'?><!DOCTYPE s [<!ENTITY a 'aaaa'>]><s/>",
    "<!DOCTYPE s SYSTEM 'file:///etc/passwd'><s>&x;</s>",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (before_root); i++)
    {
      Seen s;
      seen_init (&s);
      g_autoptr (ImsXmlStream) x = ims_xml_stream_new (&small, &funcs, &s);
      g_autoptr (GError) error = NULL;
      g_assert_false (ims_xml_stream_feed (x, before_root[i], strlen (before_root[i]), &error));
      g_assert_nonnull (strstr (error->message, "document type"));
      g_assert_cmpint (s.opened, ==, 0);
      seen_clear (&s);
    }
}

/* Many small stanzas in one feed are fine however long the feed. */
static void
test_xml_many_small (void)
{
  static const ImsXmlLimits small = { 256, 4, 3, 20 };
  GString *in = g_string_new (header);
  for (int i = 0; i < 2000; i++)
    g_string_append_printf (in, "<presence from='u%d@localhost/r'/>", i);
  Seen s;
  seen_init (&s);
  g_autoptr (ImsXmlStream) x = ims_xml_stream_new (&small, &funcs, &s);
  g_autoptr (GError) error = NULL;
  g_assert_true (ims_xml_stream_feed (x, in->str, in->len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (s.stanzas->len, ==, 2000);
  g_assert_cmpstr (ims_xml_attr (s.stanzas->pdata[1999], "from"), ==, "u1999@localhost/r");
  g_string_free (in, TRUE);
  seen_clear (&s);
}

/* One stanza from text, through the stream reader. */
static ImsXmlNode *
stanza_of (const char *xml)
{
  Seen s;
  seen_init (&s);
  g_autoptr (ImsXmlStream) x = ims_xml_stream_new (NULL, &funcs, &s);
  g_autoptr (GError) error = NULL;
  g_assert_true (ims_xml_stream_feed (x, header, strlen (header), &error));
  g_assert_true (ims_xml_stream_feed (x, xml, strlen (xml), &error));
  g_assert_cmpuint (s.stanzas->len, ==, 1);
  ImsXmlNode *n = g_ptr_array_steal_index (s.stanzas, 0);
  seen_clear (&s);
  return n;
}

static void
test_xmpp_presence (void)
{
  ImsXmppPresence pr;
  g_autoptr (ImsXmlNode) a = stanza_of (
      "<presence from='Jane@Corp.Example/Desk'><show> dnd </show><priority>5</priority>"
      "<status>on the phone</status><idle xmlns='urn:xmpp:idle:1' since='2026-12-06T10:00:00Z'/>"
      "<show xmlns='urn:other'>chat</show></presence>");
  g_assert_true (ims_xmpp_parse_presence (a, 1800000000, &pr));
  g_assert_cmpint (pr.kind, ==, IMS_XMPP_PRESENCE_AVAILABLE);
  g_assert_cmpstr (pr.bare, ==, "jane@corp.example");
  g_assert_cmpstr (pr.resource, ==, "Desk");
  g_assert_cmpint (pr.show, ==, IMS_SHOW_DND);
  g_assert_cmpint (pr.priority, ==, 5);
  g_assert_cmpstr (pr.status, ==, "on the phone");
  g_assert_cmpint (pr.idle_since, ==, 1796551200);
  ims_xmpp_presence_clear (&pr);
  /* A status past the cap is cut on a character boundary. */
  GString *big = g_string_new ("<presence from='a@b'><status>x");
  for (int i = 0; i < IMS_XMPP_MAX_STATUS; i++)
    g_string_append (big, "\xe2\x98\xba");
  g_string_append (big, "</status><query xmlns='jabber:iq:last' seconds='60'/></presence>");
  g_autoptr (ImsXmlNode) b = stanza_of (big->str);
  g_string_free (big, TRUE);
  g_assert_true (ims_xmpp_parse_presence (b, 1800000000, &pr));
  g_assert_cmpuint (strlen (pr.status), <=, IMS_XMPP_MAX_STATUS);
  g_assert_true (g_utf8_validate (pr.status, -1, NULL));
  g_assert_cmpuint (strlen (pr.status), >, IMS_XMPP_MAX_STATUS - 3);
  g_assert_cmpint (pr.idle_since, ==, 1800000000 - 60);
  g_assert_cmpint (pr.show, ==, IMS_SHOW_AVAILABLE);
  ims_xmpp_presence_clear (&pr);
  const struct {
    const char *xml;
    ImsXmppPresenceKind kind;
  } kinds[] = {
    { "<presence from='a@b/r' type='unavailable'/>", IMS_XMPP_PRESENCE_GONE },
    { "<presence from='a@b/r' type='error'/>", IMS_XMPP_PRESENCE_GONE },
    { "<presence from='a@b' type='unsubscribed'/>", IMS_XMPP_PRESENCE_UNSUBSCRIBED },
    { "<presence from='a@b' type='subscribe'/>", IMS_XMPP_PRESENCE_OTHER },
    { "<presence from='a@b' type='probe'/>", IMS_XMPP_PRESENCE_OTHER },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr (ImsXmlNode) n = stanza_of (kinds[i].xml);
      g_assert_true (ims_xmpp_parse_presence (n, 1800000000, &pr));
      g_assert_cmpint (pr.kind, ==, kinds[i].kind);
      g_assert_nonnull (pr.type);
      ims_xmpp_presence_clear (&pr);
    }
  g_autoptr (ImsXmlNode) nofrom = stanza_of ("<presence/>");
  g_assert_false (ims_xmpp_parse_presence (nofrom, 1800000000, &pr));
  g_autoptr (ImsXmlNode) msg = stanza_of ("<message from='a@b'/>");
  g_assert_false (ims_xmpp_parse_presence (msg, 1800000000, &pr));
}

static void
test_xmpp_component (void)
{
  /* SHA-1 of "abc" (FIPS 180 test vector), as stream id "a" + secret "bc". */
  g_autofree char *hs = ims_xmpp_component_handshake ("a", "bc");
  g_assert_cmpstr (hs, ==, "a9993e364706816aba3e25717850c26c9cd0d89d");
  g_autofree char *open = ims_xmpp_component_open ("phones.example'><x");
  g_assert_nonnull (strstr (open, "to='phones.example&apos;&gt;&lt;x'"));
  ImsXmppPrivileges pv;
  /* What Prosody 0.12's mod_privilege sends right after <handshake/>. */
  g_autoptr (ImsXmlNode) prosody = stanza_of (
      "<message from='localhost'><privilege xmlns='urn:xmpp:privilege:2'>"
      "<perm access='presence' type='managed_entity'/></privilege></message>");
  g_assert_true (ims_xmpp_parse_privileges (prosody, "localhost", &pv));
  g_assert_cmpint (pv.version, ==, 2);
  g_assert_cmpint (pv.presence, ==, IMS_XMPP_PERM_MANAGED_ENTITY);
  g_assert_false (pv.roster_get);
  /* ejabberd 23.01 speaks the first version. */
  g_autoptr (ImsXmlNode) ejabberd = stanza_of (
      "<message from='corp.example' id='x'><privilege xmlns='urn:xmpp:privilege:1'>"
      "<perm access='roster' type='both'/><perm access='message' type='outgoing'/>"
      "<perm access='presence' type='roster'/></privilege></message>");
  g_assert_true (ims_xmpp_parse_privileges (ejabberd, "CORP.example", &pv));
  g_assert_cmpint (pv.version, ==, 1);
  g_assert_cmpint (pv.presence, ==, IMS_XMPP_PERM_ROSTER);
  g_assert_true (pv.roster_get && pv.message_outgoing);
  /* Not from the server: not believed.  Perms in another namespace: none. */
  g_assert_false (ims_xmpp_parse_privileges (prosody, "evil.example", &pv));
  g_autoptr (ImsXmlNode) mixed = stanza_of (
      "<message from='localhost'><privilege xmlns='urn:xmpp:privilege:2'>"
      "<perm xmlns='urn:other' access='presence' type='managed_entity'/></privilege></message>");
  g_assert_true (ims_xmpp_parse_privileges (mixed, "localhost", &pv));
  g_assert_cmpint (pv.presence, ==, IMS_XMPP_PERM_NONE);
  g_autoptr (ImsXmlNode) plain = stanza_of ("<message from='localhost'><body>hi</body></message>");
  g_assert_false (ims_xmpp_parse_privileges (plain, "localhost", &pv));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xml/stream", test_xml_stream);
  g_test_add_func ("/xml/limits", test_xml_limits);
  g_test_add_func ("/xml/many-small", test_xml_many_small);
  g_test_add_func ("/xmpp/presence", test_xmpp_presence);
  g_test_add_func ("/xmpp/component", test_xmpp_component);
  return g_test_run ();
}
