/* Unit tests for im.conf: every accepted form and every error message. */
#include "ims-config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ims-registry.h"

#define NETS ims_registry_networks ()
#define PEER "[aim1]\ntype = jabber\nusername = robot@example.org\n"
#define AMI "[general]\namihost = 127.0.0.1\namiuser = u\namisecret = s\n"

typedef struct {
  const char *name;
  const char *text;
  const char *error; /* substring of the error, NULL = must parse */
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "long-line", NULL, "im.conf:2: line longer than 4096 bytes" },
  { "nul", "[general]\nstatedir = /a\0b\n", "im.conf:2: NUL byte in line" },
  { "utf8", "[general]\nstatedir = /a\xff\n", "im.conf:2: line is not valid UTF-8" },
  { "quote-open", PEER "statusmessage = \"abc\n", "im.conf:4: unterminated double quote" },
  { "quote-trailing", PEER "statusmessage = \"abc\" def\n",
    "im.conf:4: statusmessage: text after the closing double quote" },
  { "include-empty", "#include \"\"\n", "im.conf:1: #include needs a file name" },
  { "include-missing", "#include \"/nonexistent/x.conf\"\n", "im.conf:1: cannot #include:" },
  { "include-loop", "#include \"im.conf\"\n", "#include loop:" },
  { "section-open", "[aim1\n", "im.conf:1: section header without ']'" },
  { "section-name", "[a b]\n", "im.conf:1: bad section name 'a b'" },
  { "section-trailing", "[aim1] x\n", "im.conf:1: unexpected text after section header [aim1]" },
  { "section-append", "[aim1](+)\ntype=jabber\nusername=a@b\n",
    "im.conf:1: section option '+' (append) is not supported" },
  { "template-name", "[aim1](a b)\n", "im.conf:1: bad template name 'a b' in [aim1]" },
  { "exec", "#exec /bin/true\n", "im.conf:1: #exec is not supported (only #include)" },
  { "directive", "#define x\n", "im.conf:1: unknown directive" },
  { "no-equals", PEER "subscribe\n", "im.conf:4: expected 'key = value', got 'subscribe'" },
  { "bad-key", PEER "sub scribe = x\n", "im.conf:4: bad key 'sub scribe'" },
  { "outside", "type = jabber\n", "im.conf:1: 'type' outside any section" },
  { "block-open", PEER ";-- never closed\n", "block comment ';--' not closed with '--;'" },
  { "template-undefined", "[aim1](tmpl)\ntype=jabber\nusername=a@b\n",
    "im.conf:1: [aim1] uses template 'tmpl', which is not defined before it" },
  { "template-not-template", "[base]\ntype=jabber\nusername=a@b\n[aim1](base)\n",
    "im.conf:4: [aim1] uses template 'base', which is not a template (add (!))" },
  { "template-later", "[aim1](tmpl)\ntype=jabber\nusername=a@b\n[tmpl](!)\n",
    "im.conf:1: [aim1] uses template 'tmpl', which is not defined before it" },
  { "template-self", "[t](!,t)\n[aim1](t)\ntype=jabber\nusername=a@b\n",
    "im.conf:1: [t] uses template 't', which is itself" },
  { "template-deep", "[t0](!)\n[t1](!,t0)\n[t2](!,t1)\n[t3](!,t2)\n[t4](!,t3)\n[t5](!,t4)\n"
    "[t6](!,t5)\n[t7](!,t6)\n[t8](!,t7)\n[t9](!,t8)\n[aim1](t9)\ntype=jabber\nusername=a@b\n",
    "im.conf:11: templates of [aim1] nested more than 8 deep" },
  { "general-template", "[general](!)\n", "im.conf:1: [general] cannot be or use a template" },
  { "unknown-key", PEER "colour = blue\n", "im.conf:4: unknown key 'colour' in [aim1] (known: " },
  { "unknown-general", "[general]\nhttpbindx = 1\n", "im.conf:2: unknown key 'httpbindx' in [general]" },
  { "twice", PEER "type = xmpp\n", "im.conf:4: type given twice (it takes one value)" },
  { "empty", PEER "host =\n", "im.conf:4: host: empty value" },
  { "bad-name-value", PEER "host = a b\n", "im.conf:4: host: bad value 'a b'" },
  { "port-range", PEER "port = 70000\n", "im.conf:4: port: '70000' is not a number from 1 to 65535" },
  { "port-text", PEER "port = http\n", "im.conf:4: port: 'http' is not a number from 1 to 65535" },
  { "tls-enum", PEER "tls = maybe\n", "im.conf:4: tls: 'maybe' is not one of required, optional, off" },
  { "list-item", PEER "subscribe = a,,b\n", "im.conf:4: subscribe: bad list item ''" },
  { "list-slash", PEER "subscribe = a/b\n", "im.conf:4: subscribe: bad list item 'a/b'" },
  { "no-username", "[aim1]\ntype = jabber\n", "im.conf:1: peer [aim1] has no 'username'" },
  { "no-type", "[aim1]\nusername = a@b\n", "im.conf:1: peer [aim1] has no 'type'" },
  { "same-account", PEER "[aim2]\ntype = jabber\nusername = robot@example.org\n",
    "im.conf:4: peer [aim2] logs in as the same account as [aim1]" },
  { "section-twice", PEER PEER, "im.conf:4: section [aim1] defined twice (first at im.conf:1)" },
  { "value-long", NULL, "im.conf:4: statusmessage: value longer than 1024 bytes" },
  { "activewhen-no-ami", PEER "activewhen = PJSIP/jimmy\n",
    "im.conf:1: peer [aim1]: activewhen needs the AMI settings in [general]" },
  { "phone-no-ami", PEER "phone = PJSIP/jimmy\n", "im.conf:1: peer [aim1]: phone needs the AMI" },
  { "agibind-host", "[general]\nagibind = localhost:4573\n",
    "im.conf:2: agibind: bad value 'localhost:4573' (an IP address with an optional :port)" },
  { "agibind-port", "[general]\nagibind = 127.0.0.1:99999\n", "im.conf:2: agibind: bad value" },
  { "agibind-v6", "[general]\nagibind = [::1]:4573\n", NULL },
  { "agiallow-prefix", "[general]\nagiallow = 10.0.0.0/33\n",
    "im.conf:2: agiallow: bad list item '10.0.0.0/33' (an IP address or address/prefix)" },
  { "agiallow-name", "[general]\nagiallow = 127.0.0.1, example.org\n",
    "im.conf:2: agiallow: bad list item 'example.org'" },
  { "agiallow-ok", "[general]\nagiallow = 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8\n", NULL },
  { "key-not-for-type", "[irc1]\ntype = irc\nusername = nick@irc.example.org\nresource = x\n",
    "im.conf:4: resource does not apply to type=irc (only to jabber/xmpp)" },
  { "webuser-no-secret", "[w]\ntype = webuser\n", "im.conf:1: webuser [w] has no 'secret'" },
  { "webuser-peer-key", "[w]\ntype = webuser\nsecret = s\nhost = x\n",
    "im.conf:4: unknown key 'host' in [w]" },
  { "webuser-unknown-peer", "[w]\ntype = webuser\nsecret = s\npeers = nosuch\n",
    "im.conf:1: webuser [w]: peers names no peer 'nosuch'" },
  { "webuser-ok", PEER "[w]\ntype = webuser\nsecret = s\npeers = aim1\nsend = yes\n", NULL },
  { "httpbind-public-no-tls", "[general]\nhttpbind = 0.0.0.0:8080\n",
    "httpbind 0.0.0.0:8080 is not loopback: it needs httpcert and httpkey (HTTPS)" },
  { "httpbind-loopback", "[general]\nhttpbind = 127.0.0.1:8080\n", NULL },
  { "httpcert-alone", "[general]\nhttpcert = /x.pem\n", "httpcert and httpkey go together" },
  { "ping-not-for-type", "[irc1]\ntype = irc\nusername = n@i\npinginterval = 5\n",
    "im.conf:4: pinginterval does not apply to type=irc" },
  { "ami-no-user", "[general]\namihost = 127.0.0.1\n", "[general] amihost needs amiuser and amisecret" },
  { "dial-incomplete", PEER "dialallow = boss@example.org\n",
    "im.conf:1: peer [aim1]: dialallow needs dialsecret or dialtotp, dialfrom and dialcontext" },
#define YAHOO_DIAL "[y]\ntype = yahoo\nusername = robot\ndialallow = boss\ndialfrom = PJSIP/a\n" \
                   "dialcontext = d\n"
  /* A fixed secret crosses a clear-text network in clear: one-time codes only. */
  { "dialsecret-cleartext", YAHOO_DIAL "dialsecret = s3cret\n",
    "im.conf:7: [y] dialsecret on type=yahoo, which has no TLS" },
  { "dialtotp-cleartext", YAHOO_DIAL "dialtotp = JBSWY3DPEHPK3PXPJBSWY3DP\n", NULL },
  /* An XMPP component: its JID is a domain; it needs the users' domain and a secret. */
  { "component-ok", "[c]\ntype = component\nusername = phones.example.org\nsecret = s\n"
                    "domain = example.org\nsubscribe = jane\n", NULL },
  { "component-star", "[c]\ntype = component\nusername = phones.example.org\nsecret = s\n"
                      "domain = example.org\nsubscribe = *\n", NULL },
  { "star-not-component", PEER "subscribe = *\n",
    "im.conf:1: [aim1] subscribe = * (every user of a domain) is only for a network that sees "
    "a whole domain" },
  { "component-publish-no-ami", "[c]\ntype = component\nusername = phones.example.org\n"
                                "secret = s\ndomain = example.org\npublish = phones\n",
    "im.conf:1: peer [c]: publish needs the AMI settings in [general]" },
  { "component-remote", "[c]\ntype = component\nusername = phones.example.org\nsecret = s\n"
                        "domain = example.org\nremote = phones-b.example.org\n"
                        "remote = phones-c.example.org\n", NULL },
  { "component-remote-itself", "[c]\ntype = component\nusername = phones.example.org\nsecret = s\n"
                               "domain = example.org\nremote = Phones.example.org\n",
    "im.conf:1: [c] remote = Phones.example.org: that is this component itself" },
  { "component-remote-user", "[c]\ntype = component\nusername = phones.example.org\nsecret = s\n"
                             "domain = example.org\nremote = jane@example.org\n",
    "im.conf:6: remote: bad list item 'jane@example.org'" },
  { "remote-not-component", PEER "remote = phones-b.example.org\n",
    "im.conf:4: remote does not apply to type=jabber (only to component)" },
  /* People: her phone, her identities, her DND switch; every reference checked. */
  { "person-ok", AMI PEER "secret = s\n[jane]\ntype = person\nextension = 205@default\n"
                 "im = aim1/jane\ndnd = Custom:DND205\nqueuemember = Local/205@agents\n", NULL },
  { "person-queue-no-dnd", AMI "[jane]\ntype = person\nextension = 205@default\n"
                           "queuemember = Local/205@agents\n",
    "person [jane]: queuemember is paused while DND is on: it needs dnd" },
  { "person-im-only", PEER "secret = s\n[jane]\ntype = person\nim = aim1/jane, aim1/jd\n", NULL },
  { "person-empty", "[jane]\ntype = person\n",
    "im.conf:1: person [jane] needs extension or im (or both)" },
  { "person-no-peer", PEER "secret = s\n[jane]\ntype = person\nim = corp/jane\n",
    "im.conf:5: person [jane]: im 'corp/jane' names no peer 'corp'" },
  { "person-bad-im", PEER "secret = s\n[jane]\ntype = person\nim = jane\n",
    "im.conf:5: person [jane]: im 'jane' is not peer/user" },
  { "person-bad-extension", AMI "[jane]\ntype = person\nextension = 205\n",
    "person [jane]: extension '205' is not a hint's exten@context (205@default)" },
  { "person-bad-dnd", AMI "[jane]\ntype = person\nextension = 205@default\ndnd = PJSIP/205\n",
    "person [jane]: dnd 'PJSIP/205' is not a Custom: device (Custom:DND205)" },
  { "person-no-ami", "[jane]\ntype = person\nextension = 205@default\n",
    "im.conf:1: person [jane]: extension needs the AMI settings in [general]" },
  { "webuser-person-unknown", "[w]\ntype = webuser\nsecret = s\nperson = jane\n",
    "im.conf:1: webuser [w]: person names no person 'jane'" },
  { "person-unknown-key", "[jane]\ntype = person\nim = a/b\nsubscribe = x\n",
    "unknown key 'subscribe' in [jane]" },
  { "component-no-domain", "[c]\ntype = component\nusername = phones.example.org\nsecret = s\n",
    "im.conf:1: [c] a component needs domain = the domain of the users it sees" },
  { "component-jid", "[c]\ntype = component\nusername = bot@example.org\nsecret = s\n"
                     "domain = example.org\n",
    "im.conf:1: [c] username = bot@example.org: a component's JID is a domain" },
  { "component-no-secret", "[c]\ntype = component\nusername = p.example.org\ndomain = example.org\n",
    "im.conf:1: [c] a component needs secret" },
  { "component-dialsecret", "[c]\ntype = component\nusername = p.example.org\nsecret = s\n"
                            "domain = example.org\ndialallow = boss\ndialfrom = PJSIP/a\n"
                            "dialcontext = d\ndialsecret = s3cret\n",
    "[c] dialsecret on type=component, which has no TLS" },
  { "dialtotp-xmpp", PEER "dialallow = b@x\ndialfrom = PJSIP/a\ndialcontext = d\n"
                     "dialtotp = jbsw y3dp ehpk 3pxp\n", NULL },
  { "dialtotp-not-base32", YAHOO_DIAL "dialtotp = not-base32!\n",
    "im.conf:7: dialtotp: not base32 (letters A-Z and digits 2-7)" },
  { "dialtotp-short", YAHOO_DIAL "dialtotp = JBSWY3DP\n",
    "im.conf:7: dialtotp: shorter than 10 bytes" },
  { "dial-both", PEER "dialsecret = a\ndialtotp = JBSWY3DPEHPK3PXPJBSW\n",
    "im.conf:1: peer [aim1]: dialsecret and dialtotp: give one" },
  { "device-bad", PEER "phone = PJSIP/a b\n", "im.conf:4: phone: bad value 'PJSIP/a b'" },
};

static char *
case_text (const ErrorCase *c, gsize *len)
{
  if (g_str_equal (c->name, "long-line"))
    {
      g_autofree char *pad = g_strnfill (5000, 'x');
      char *t = g_strdup_printf ("[general]\nstatedir = %s\n", pad);
      *len = strlen (t);
      return t;
    }
  if (g_str_equal (c->name, "value-long"))
    {
      g_autofree char *pad = g_strnfill (1100, 'x');
      char *t = g_strdup_printf (PEER "statusmessage = %s\n", pad);
      *len = strlen (t);
      return t;
    }
  if (g_str_equal (c->name, "nul"))
    {
      *len = sizeof "[general]\nstatedir = /a\0b\n" - 1;
      return g_memdup2 (c->text, *len + 1);
    }
  *len = strlen (c->text);
  return g_strdup (c->text);
}

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
test_error_case (gconstpointer data)
{
  const ErrorCase *c = data;
  gsize len;
  g_autofree char *text = case_text (c, &len);
  g_autofree char *path = tmp_path ("im.conf");
  g_autoptr (GError) err = NULL;
  g_assert_true (g_file_set_contents (path, text, len, NULL));
  g_autoptr (ImsConfig) cfg = ims_config_load (path, NETS, &err);
  if (c->error == NULL)
    {
      g_assert_no_error (err);
      g_assert_nonnull (cfg);
      return;
    }
  g_assert_null (cfg);
  g_assert_error (err, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_INVALID);
  /* Messages name the file as given; compare from its base name on. */
  g_autofree char *msg = g_strdup (err->message);
  g_autofree char *prefix = g_strconcat (tmpdir, "/", NULL);
  g_autofree char *rel = NULL;
  {
    g_auto (GStrv) parts = g_strsplit (msg, prefix, -1);
    rel = g_strjoinv ("", parts);
  }
  if (strstr (rel, c->error) == NULL)
    g_error ("case %s: expected \"%s\" in:\n%s", c->name, c->error, rel);
}

static void
test_all_errors_reported (void)
{
  const char *text = "[aim1]\ntype = jabber\ncolour = red\nport = 0\n[aim2]\nbogus\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) cfg = ims_config_parse ("x.conf", text, strlen (text), NETS, &err);
  g_assert_null (cfg);
  g_assert_nonnull (strstr (err->message, "x.conf:3: unknown key 'colour'"));
  g_assert_nonnull (strstr (err->message, "x.conf:4: port: '0' is not a number"));
  g_assert_nonnull (strstr (err->message, "x.conf:6: expected 'key = value'"));
  g_assert_nonnull (strstr (err->message, "x.conf:1: peer [aim1] has no 'username'"));
  g_assert_nonnull (strstr (err->message, "x.conf:5: peer [aim2] has no 'type'"));
  g_auto (GStrv) lines = g_strsplit (err->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
}

/* A file of nothing but mistakes (up to the 1 MiB a file may be) gets the
 * first IMS_CONFIG_MAX_ERRORS errors and a count of the rest, and the known
 * keys once a section kind, not 300 bytes of them for every typo. */
static void
test_errors_bounded (void)
{
  g_autoptr (GString) text = g_string_new ("[general]\n");
  for (int i = 0; i < 80000; i++)
    g_string_append_printf (text, "zz%d = 1\n", i);
  g_string_append (text, "[aim1]\ntype = jabber\nusername = a@b\ncolour = red\nshade = dark\n");
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) cfg = ims_config_parse ("x.conf", text->str, text->len, NETS, &err);
  g_assert_null (cfg);
  g_auto (GStrv) lines = g_strsplit (err->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, IMS_CONFIG_MAX_ERRORS + 1);
  g_assert_cmpstr (lines[IMS_CONFIG_MAX_ERRORS], ==, "... and 79902 more errors");
  g_assert_true (g_str_has_prefix (lines[0], "x.conf:2: unknown key 'zz0' in [general] (known: "));
  g_assert_cmpstr (lines[1], ==, "x.conf:3: unknown key 'zz1' in [general]");
  g_assert_cmpuint (strlen (err->message), <, 100 * 200);

  /* Within the limit: every error, and the known keys once for [general]
   * and once for a peer. */
  const char *few = "[general]\nzz = 1\nyy = 2\n[aim1]\ntype = jabber\nusername = a@b\n"
                    "colour = red\nshade = dark\n";
  g_clear_error (&err);
  g_assert_null (ims_config_parse ("x.conf", few, strlen (few), NETS, &err));
  g_auto (GStrv) four = g_strsplit (err->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (four), ==, 4);
  g_assert_nonnull (strstr (four[0], "x.conf:2: unknown key 'zz' in [general] (known: "));
  g_assert_cmpstr (four[1], ==, "x.conf:3: unknown key 'yy' in [general]");
  g_assert_nonnull (strstr (four[2], "x.conf:7: unknown key 'colour' in [aim1] (known: "));
  g_assert_cmpstr (four[3], ==, "x.conf:8: unknown key 'shade' in [aim1]");
}

/* The seed's im.conf, in its own shape. */
static const char seed_conf[] =
    "; im.conf\r\n"
    "[general]\r\n"
    "statedir => /var/lib/imstatus ; comment\r\n"
    "amihost = 127.0.0.1\r\namiuser = imstatus\r\namisecret = \"s3cret;x\"\r\n"
    "\r\n"
    "[aim1]\r\n"
    "username=pinkys-asterisk\r\n"
    "secret=s3cr\\;et\r\n"
    "type=jabber\r\n"
    "statusmessage=\"Pinky Caruthers Phone Presense Robot - no inbound; please. \\\"quoted\\\"\"\r\n"
    "activewhen=SIP/jimmy\r\n"
    "subscribe=buckaroo\r\n"
    "subscribe => janedoe, turtlehead,buckaroo\r\n"
    "port=5222\r\n"
    "host=xmpp.example.org\r\n"
    "TLS = Optional\r\n";

static void
test_seed_forms (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("seed.conf", seed_conf, strlen (seed_conf), NETS, &err);
  g_assert_no_error (err);
  g_assert_cmpstr (c->statedir, ==, "/var/lib/imstatus");
  g_assert_cmpstr (c->controlsocket, ==, "/var/lib/imstatus/imstatusd.sock");
  g_assert_cmpstr (c->agibind, ==, "127.0.0.1:4573");
  g_assert_cmpuint (c->peers->len, ==, 1);
  const ImsPeerConfig *p = ims_config_find_peer (c, "aim1");
  g_assert_cmpstr (p->username, ==, "pinkys-asterisk");
  g_assert_cmpstr (p->secret, ==, "s3cr;et");
  g_assert_cmpstr (p->statusmessage, ==,
                   "Pinky Caruthers Phone Presense Robot - no inbound; please. \"quoted\"");
  g_assert_cmpstr (p->activewhen, ==, "SIP/jimmy");
  g_assert_cmpstr (c->amisecret, ==, "s3cret;x");
  g_assert_cmpint (c->amiport, ==, 5038);
  g_assert_cmpstr (c->spooldir, ==, "/var/spool/asterisk/outgoing");
  g_assert_cmpuint (p->subscribe->len, ==, 3);
  g_assert_cmpstr (p->subscribe->pdata[0], ==, "buckaroo");
  g_assert_cmpstr (p->subscribe->pdata[1], ==, "janedoe");
  g_assert_cmpstr (p->subscribe->pdata[2], ==, "turtlehead");
  g_assert_cmpint (p->port, ==, 5222);
  g_assert_cmpint (p->tls, ==, IMS_TLS_OPTIONAL);
  g_assert_cmpstr (p->file, ==, "seed.conf");
  g_assert_cmpuint (p->line, ==, 8);
}

static void
test_templates (void)
{
  const char *text = "[robot](!)\ntype = jabber\nhost = xmpp.example.org\nsubscribe = a\n"
                     "statusmessage = from template\n"
                     "[aim1](robot)\nusername = r1@example.org\nsubscribe = b\n"
                     "statusmessage = own\n"
                     "[aim2](robot)\nusername = r2@example.org\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("t.conf", text, strlen (text), NETS, &err);
  g_assert_no_error (err);
  g_assert_cmpuint (c->peers->len, ==, 2); /* the template is not a peer */
  const ImsPeerConfig *a = ims_config_find_peer (c, "aim1");
  g_assert_cmpstr (a->host, ==, "xmpp.example.org");
  g_assert_cmpstr (a->statusmessage, ==, "own"); /* the section's own line wins */
  g_assert_cmpuint (a->subscribe->len, ==, 2);   /* lists add up */
  const ImsPeerConfig *b = ims_config_find_peer (c, "aim2");
  g_assert_cmpstr (b->statusmessage, ==, "from template");
  g_assert_null (ims_config_find_peer (c, "robot"));
}

static void
test_block_comment_and_escapes (void)
{
  const char *text = "[aim1] ; trailing comment\ntype = jabber ;-- a block\nstill comment\n--; "
                     "username = a@b\nstatusmessage = 50\\; off\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("b.conf", text, strlen (text), NETS, &err);
  g_assert_no_error (err);
  const ImsPeerConfig *p = ims_config_find_peer (c, "aim1");
  g_assert_cmpstr (p->username, ==, "a@b");
  g_assert_cmpstr (p->statusmessage, ==, "50; off");
}

static void
test_include (void)
{
  g_autofree char *inc = tmp_path ("peers.conf");
  g_autofree char *main_ = tmp_path ("main.conf");
  g_assert_true (g_file_set_contents (inc, "[aim1]\ntype = jabber\nusername = a@b\nport = 0\n", -1,
                                      NULL));
  g_assert_true (g_file_set_contents (main_, "[general]\n#include \"peers.conf\"\n", -1, NULL));
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_load (main_, NETS, &err);
  g_assert_null (c);
  /* The error names the included file and its line. */
  g_autofree char *want = g_strdup_printf ("%s:4: port:", inc);
  g_assert_nonnull (strstr (err->message, want));
  g_clear_error (&err);
  g_assert_true (g_file_set_contents (inc, "[aim1]\ntype = jabber\nusername = a@b\n", -1, NULL));
  g_autoptr (ImsConfig) ok = ims_config_load (main_, NETS, &err);
  g_assert_no_error (err);
  g_assert_nonnull (ims_config_find_peer (ok, "aim1"));
}

/* Templates of templates, each using the one before ten times: 300 bytes
 * that would be a million settings.  Refused at IMS_CONFIG_MAX_SETTINGS
 * with one error, empty templates too; a template's list items and the
 * section's own still merge without repeats. */
static void
test_template_bomb (void)
{
  g_autoptr (GString) text = g_string_new ("[a](!)\nsubscribe = x\n");
  for (int i = 1; i <= 6; i++)
    {
      g_autofree char *base = i == 1 ? g_strdup ("a") : g_strdup_printf ("t%d", i - 1);
      g_string_append_printf (text, "[t%d](!", i);
      for (int j = 0; j < 10; j++)
        g_string_append_printf (text, ",%s", base);
      g_string_append (text, ")\n");
    }
  g_string_append (text, "[p](t6)\ntype = jabber\nusername = a@b\n");
  g_assert_cmpuint (text->len, <, 400);
  g_autoptr (GError) err = NULL;
  g_assert_null (ims_config_parse ("x.conf", text->str, text->len, NETS, &err));
  g_assert_cmpstr (err->message, ==,
                   "x.conf:9: [p]: more than 500000 settings in all once templates are applied");

  /* Templates of empty templates copy nothing, but each use counts: 1,000
   * uses of 1,000 uses of 1,000 uses was a walk of a billion steps. */
  g_string_assign (text, "[e](!)\n");
  for (int i = 1; i <= 3; i++)
    {
      g_string_append_printf (text, "[w%d](!", i);
      for (int j = 0; j < 1000; j++)
        g_string_append_printf (text, ",%s", i == 1 ? "e" : i == 2 ? "w1" : "w2");
      g_string_append (text, ")\n");
    }
  g_string_append (text, "[p](w3)\ntype = jabber\nusername = a@b\n");
  g_clear_error (&err);
  g_assert_null (ims_config_parse ("x.conf", text->str, text->len, NETS, &err));
  g_assert_cmpstr (err->message, ==,
                   "x.conf:5: [p]: more than 500000 settings in all once templates are applied");

  const char *ok = "[t](!)\nsubscribe = a, b\nsubscribe = b\n[t2](!,t)\nsubscribe = c\n"
                   "[p](t,t2)\ntype = jabber\nusername = a@b\nsubscribe = c, d, a\n";
  g_clear_error (&err);
  g_autoptr (ImsConfig) c = ims_config_parse ("x.conf", ok, strlen (ok), NETS, &err);
  g_assert_no_error (err);
  const ImsPeerConfig *p = ims_config_find_peer (c, "p");
  g_assert_cmpuint (p->subscribe->len, ==, 4);
  const char *want[] = { "a", "b", "c", "d" };
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr (p->subscribe->pdata[i], ==, want[i]);
}

/* Only regular files are read, up to the size limit: a FIFO (whose open
 * would wait for a writer forever), a device that never ends, a directory
 * and a file over 1 MiB are each one clear error, read no further. */
static void
test_include_not_a_file (void)
{
  g_autofree char *fifo = tmp_path ("fifo");
  g_autofree char *big = tmp_path ("big.conf");
  g_autofree char *dir = g_path_get_dirname (big);
  g_autofree char *main_ = tmp_path ("not-a-file.conf");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autofree char *filler = g_strnfill (IMS_CONFIG_MAX_FILE_SIZE + 1, ';');
  g_assert_true (g_file_set_contents (big, filler, -1, NULL));
  const char *paths[] = { fifo, "/dev/zero", dir, big };
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *text = g_strdup_printf ("[general]\n#include \"%s\"\n", paths[i]);
      g_assert_true (g_file_set_contents (main_, text, -1, NULL));
      g_autoptr (GError) err = NULL;
      g_autoptr (ImsConfig) c = ims_config_load (main_, NETS, &err);
      g_assert_null (c);
      g_autofree char *want = g_strdup_printf ("%s:2: cannot #include: %s: %s", main_, paths[i],
                                               paths[i] == big ? "larger than" : "not a regular file");
      g_assert_nonnull (strstr (err->message, want));
      /* The same file given as the configuration itself. */
      g_clear_error (&err);
      g_assert_null (ims_config_load (paths[i], NETS, &err));
      g_assert_error (err, IMS_CONFIG_ERROR, IMS_CONFIG_ERROR_IO);
    }
  g_unlink (fifo);
  g_unlink (big);
  g_unlink (main_);
}

/* Includes of includes multiply: 200 includes of a file of 100 includes
 * are 20,200 files read (with a third level of 100, two million: the old
 * code read them all).  Past IMS_CONFIG_MAX_INCLUDES, or past
 * IMS_CONFIG_MAX_INCLUDED_SIZE bytes in all, one error and no more
 * reading. */
static void
test_include_bomb (void)
{
  g_autofree char *leaf = tmp_path ("bomb-leaf.conf");
  g_autofree char *mid = tmp_path ("bomb-mid.conf");
  g_autofree char *main_ = tmp_path ("bomb.conf");
  g_assert_true (g_file_set_contents (leaf, "; nothing\n", -1, NULL));
  g_autoptr (GString) text = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append (text, "#include \"bomb-leaf.conf\"\n");
  g_assert_true (g_file_set_contents (mid, text->str, -1, NULL));
  g_string_assign (text, "[general]\n");
  for (int i = 0; i < 200; i++)
    g_string_append (text, "#include \"bomb-mid.conf\"\n");
  g_assert_true (g_file_set_contents (main_, text->str, -1, NULL));
  g_autoptr (GError) err = NULL;
  g_assert_null (ims_config_load (main_, NETS, &err));
  /* Each mid counts too (101 files a mid): the 100th mid is the 10,000th
   * file, and its first include the 10,001st. */
  g_autofree char *want = g_strdup_printf ("%s:1: more than 10000 files read by #include in all",
                                           mid);
  g_assert_cmpstr (err->message, ==, want);

  /* Seventeen includes of a file of 1 MiB (comment lines): over 16 MiB in
   * all. */
  g_autoptr (GString) filler = g_string_new (NULL);
  while (filler->len < IMS_CONFIG_MAX_FILE_SIZE)
    g_string_append (filler, "; a comment line of sixty-four bytes, this one, and its newline\n");
  g_assert_cmpuint (filler->len, ==, IMS_CONFIG_MAX_FILE_SIZE);
  g_assert_true (g_file_set_contents (leaf, filler->str, filler->len, NULL));
  g_string_assign (text, "[general]\n");
  for (int i = 0; i < 17; i++)
    g_string_append (text, "#include \"bomb-leaf.conf\"\n");
  g_assert_true (g_file_set_contents (main_, text->str, -1, NULL));
  g_clear_error (&err);
  g_assert_null (ims_config_load (main_, NETS, &err));
  g_free (want);
  want = g_strdup_printf ("%s:18: more than 16777216 bytes read by #include in all", main_);
  g_assert_cmpstr (err->message, ==, want);
  /* Sixteen are still read. */
  g_string_truncate (text, text->len - strlen ("#include \"bomb-leaf.conf\"\n"));
  g_assert_true (g_file_set_contents (main_, text->str, -1, NULL));
  g_clear_error (&err);
  g_autoptr (ImsConfig) c = ims_config_load (main_, NETS, &err);
  g_assert_no_error (err);
  g_unlink (leaf);
  g_unlink (mid);
  g_unlink (main_);
}

static void
test_secret_permissions (void)
{
  g_autofree char *path = tmp_path ("secret.conf");
  g_assert_true (g_file_set_contents (path, PEER "secret = hunter2\n", -1, NULL));
  g_chmod (path, 0644);
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_load (path, NETS, &err);
  g_assert_no_error (err);
  g_assert_cmpuint (c->warnings->len, ==, 1);
  g_assert_nonnull (strstr (c->warnings->pdata[0], "readable by other users (mode 0644)"));
  g_assert_null (strstr (c->warnings->pdata[0], "hunter2"));
  g_chmod (path, 0640);
  g_autoptr (ImsConfig) c2 = ims_config_load (path, NETS, &err);
  g_assert_cmpuint (c2->warnings->len, ==, 0);
}

static void
test_peer_equal (void)
{
  const char *t1 = PEER "subscribe = a, b\n";
  const char *t2 = PEER "subscribe = a, b\nstatusmessage = x\n";
  g_autoptr (ImsConfig) a = ims_config_parse ("a", t1, strlen (t1), NETS, NULL);
  g_autoptr (ImsConfig) b = ims_config_parse ("a", t1, strlen (t1), NETS, NULL);
  g_autoptr (ImsConfig) c = ims_config_parse ("a", t2, strlen (t2), NETS, NULL);
  g_assert_true (ims_peer_config_equal (a->peers->pdata[0], b->peers->pdata[0]));
  g_assert_false (ims_peer_config_equal (a->peers->pdata[0], c->peers->pdata[0]));
  g_autoptr (ImsPeerConfig) copy = ims_peer_config_copy (c->peers->pdata[0]);
  g_assert_true (ims_peer_config_equal (copy, c->peers->pdata[0]));
}

/* A valid value for a key of each type, and another one. */
static void
sample_values (const ImsConfigKey *k, const char **a, const char **b)
{
  switch (k->type)
    {
    case IMS_KEY_STRING: *a = "one thing"; *b = "another"; return;
    case IMS_KEY_PATH: *a = "/tmp/a"; *b = "/tmp/b"; return;
    case IMS_KEY_NAME: *a = "name-a"; *b = "name-b"; return;
    case IMS_KEY_DEVICE: *a = "PJSIP/a"; *b = "Custom:b"; return;
    case IMS_KEY_INT:
      {
        /* Two values in range, neither the smallest (often a default). */
        static char buf[2][16];
        g_snprintf (buf[0], sizeof buf[0], "%d", k->min + 1);
        g_snprintf (buf[1], sizeof buf[1], "%d", k->min + 2);
        *a = buf[0];
        *b = buf[1];
        return;
      }
    case IMS_KEY_ENUM:
      {
        /* Two different choices, the first of them not the default. */
        static char buf[2][64];
        g_auto (GStrv) c = g_strsplit (k->choices, "|", -1);
        guint n = g_strv_length (c);
        g_assert_cmpuint (n, >=, 2);
        g_strlcpy (buf[0], c[1], sizeof buf[0]);
        g_strlcpy (buf[1], c[n >= 3 ? 2 : 0], sizeof buf[1]);
        *a = buf[0];
        *b = buf[1];
        return;
      }
    case IMS_KEY_LIST: *a = "a, b"; *b = "c"; return;
    case IMS_KEY_ADDRESS: *a = "127.0.0.1:1"; *b = "[::1]:2"; return;
    case IMS_KEY_PREFIXES: *a = "10.0.0.0/8"; *b = "::1"; return;
    case IMS_KEY_TOTP: *a = "JBSWY3DPEHPK3PXPJBSW"; *b = "GEZDGNBVGY3TQOJQGEZDGNBV"; return;
    }
  g_assert_not_reached ();
}

/* Every key in the table: it parses, copies equal, a changed value is seen
 * by the reload diff as its flags say, and free releases it (run under ASan
 * in make check).  A new key needs no new code here. */
static void
test_every_key (void)
{
  gsize n = 0;
  const ImsConfigKey *keys = ims_config_keys (&n);
  g_assert_cmpuint (n, >=, 30);
  for (gsize i = 0; i < n; i++)
    {
      const ImsConfigKey *k = &keys[i];
      const char *a, *b;
      sample_values (k, &a, &b);
      g_test_message ("key %s", k->name);
      g_assert_nonnull (k->help);
      if (k->scope == IMS_KEY_WEBUSER)
        {
          /* A webuser section with this key parses and frees. */
          if (g_str_equal (k->name, "type") || g_str_equal (k->name, "secret"))
            continue;
          g_autofree char *tw = g_strdup_printf ("[w]\ntype = webuser\nsecret = s\n%s = %s\n",
                                                 k->name, g_str_equal (k->name, "peers") ? "" : a);
          if (g_str_equal (k->name, "peers"))
            {
              g_free (tw);
              tw = g_strdup ("[p]\ntype = jabber\nusername = u@example.org\n"
                             "[w]\ntype = webuser\nsecret = s\npeers = p\n");
            }
          if (g_str_equal (k->name, "person"))
            {
              g_free (tw);
              tw = g_strdup ("[p]\ntype = jabber\nusername = u@example.org\n"
                             "[jane]\ntype = person\nim = p/jane\n"
                             "[w]\ntype = webuser\nsecret = s\nperson = jane\n");
            }
          g_autoptr (GError) werr = NULL;
          g_autoptr (ImsConfig) cw = ims_config_parse ("im.conf", tw, strlen (tw), NETS, &werr);
          g_assert_no_error (werr);
          g_assert_cmpuint (cw->webusers->len, ==, 1);
          continue;
        }
      if (k->scope == IMS_KEY_PERSON)
        {
          /* A person with this key (and what it needs) parses and frees. */
          if (g_str_equal (k->name, "type"))
            continue;
          const char *value = g_str_equal (k->name, "im")          ? "p/jane"
                              : g_str_equal (k->name, "extension") ? "205@default"
                              : g_str_equal (k->name, "dnd")       ? "Custom:DND205"
                                                                   : a;
          g_autofree char *tp = g_strdup_printf (
              "[general]\namihost = h\namiuser = u\namisecret = s\n"
              "[p]\ntype = jabber\nusername = u@example.org\n"
              "[j]\ntype = person\nim = p/x\ndnd = Custom:DND1\n%s = %s\n",
              k->name, value);
          if (g_str_equal (k->name, "im") || g_str_equal (k->name, "dnd"))
            {
              g_free (tp);
              tp = g_strdup_printf ("[general]\namihost = h\namiuser = u\namisecret = s\n"
                                    "[p]\ntype = jabber\nusername = u@example.org\n"
                                    "[j]\ntype = person\nextension = 1@c\n%s = %s\n",
                                    k->name, value);
            }
          g_autoptr (GError) perr = NULL;
          g_autoptr (ImsConfig) cp = ims_config_parse ("im.conf", tp, strlen (tp), NETS, &perr);
          g_assert_no_error (perr);
          g_assert_cmpuint (cp->people->len, ==, 1);
          g_assert_nonnull (ims_config_find_person (cp, "j"));
          continue;
        }
      gboolean peer = k->scope == IMS_KEY_PEER;
      /* The first type that reads the key when jabber does not (loginurl: msn). */
      g_autofree char *types = ims_network_types_reading (NETS, k->name);
      g_autofree char *type = (k->flags & IMS_KEY_NETWORK) && !strstr (types, "jabber")
                                  ? g_strndup (types, strcspn (types, "/"))
                                  : g_strdup ("jabber");
      /* A component's own id is a domain, and it needs its secret. */
      g_autofree char *fixed =
          g_str_equal (type, "component")
              ? g_strdup_printf ("[p]\ntype = component\nusername = phones.example.org\nsecret = s\n%s",
                                 g_str_equal (k->name, "domain") ? "" : "domain = example.org\n")
              : g_strdup_printf ("[p]\ntype = %s\nusername = u@example.org\n", type);
      g_autofree char *ta = peer ? g_strdup_printf ("%s%s = %s\n", fixed, k->name, a)
                                 : g_strdup_printf ("[general]\n%s = %s\n", k->name, a);
      g_autofree char *tb = peer ? g_strdup_printf ("%s%s = %s\n", fixed, k->name, b)
                                 : g_strdup_printf ("[general]\n%s = %s\n", k->name, b);
      if (g_str_equal (k->name, "type") || g_str_equal (k->name, "username"))
        continue; /* the fixed part gives them */
      if (g_str_has_prefix (k->name, "dial") || g_str_has_prefix (k->name, "ami")
          || g_str_has_prefix (k->name, "httpc") || g_str_has_prefix (k->name, "httpk"))
        {
          /* Keys that only come together. */
          const char *group = peer ? "dialallow=x@y dialsecret=s dialfrom=PJSIP/1 dialcontext=c"
                              : g_str_has_prefix (k->name, "http") ? "httpcert=/c httpkey=/k"
                                                                   : "amihost=h amiuser=u amisecret=s";
          g_auto (GStrv) items = g_strsplit (group, " ", -1);
          g_autoptr (GString) others = g_string_new (NULL);
          for (char **it = items; *it; it++)
            if ((!g_str_has_prefix (*it, k->name) || (*it)[strlen (k->name)] != '=')
                && !(g_str_equal (k->name, "dialtotp") && g_str_has_prefix (*it, "dialsecret=")))
              g_string_append_printf (others, "%s\n", *it);
          const char *together = others->str;
          g_autofree char *xa = g_strdup_printf ("%s%s", ta, together);
          g_autofree char *xb = g_strdup_printf ("%s%s", tb, together);
          g_free (ta), ta = g_steal_pointer (&xa);
          g_free (tb), tb = g_steal_pointer (&xb);
        }
      if (g_str_equal (k->name, "activewhen") || g_str_equal (k->name, "phone")
          || g_str_equal (k->name, "publish"))
        {
          g_autofree char *xa = g_strdup_printf ("%s[general]\namihost = h\namiuser = u\namisecret = s\n", ta);
          g_autofree char *xb = g_strdup_printf ("%s[general]\namihost = h\namiuser = u\namisecret = s\n", tb);
          g_free (ta), ta = g_steal_pointer (&xa);
          g_free (tb), tb = g_steal_pointer (&xb);
        }
      g_autoptr (GError) err = NULL;
      g_autoptr (ImsConfig) ca = ims_config_parse ("im.conf", ta, strlen (ta), NETS, &err);
      g_assert_no_error (err);
      g_autoptr (ImsConfig) cb = ims_config_parse ("im.conf", tb, strlen (tb), NETS, &err);
      g_assert_no_error (err);
      if (!peer)
        {
          g_autofree char *restart = ims_config_restart_changes (ca, cb);
          /* (statedir also moves the default controlsocket) */
          if (k->flags & IMS_KEY_RESTART)
            g_assert_true (restart && g_str_has_suffix (restart, k->name));
          else
            g_assert_null (restart);
          continue;
        }
      ImsPeerConfig *pa = ca->peers->pdata[0], *pb = cb->peers->pdata[0];
      g_autoptr (ImsPeerConfig) copy = ims_peer_config_copy (pa);
      g_assert_true (ims_peer_config_equal (copy, pa));
      g_assert_cmpint (ims_peer_config_diff (copy, pb), ==,
                       (k->flags & IMS_KEY_LIVE) ? IMS_PEER_LIVE : IMS_PEER_LOGIN);
      if (k->flags & IMS_KEY_SECRET)
        {
          g_autoptr (GPtrArray) secrets = ims_config_secrets (ca);
          g_assert_cmpuint (secrets->len, >=, 1);
        }
    }
}

/* Settings that weaken security are accepted with a warning naming them. */
static void
test_security_warnings (void)
{
  const char *t = PEER "tls = optional\ncafile = /etc/ssl/x.pem\n"
                  "[aim2]\ntype = jabber\nusername = r2@example.org\ntls = off\n"
                  "[oscar]\ntype = aim\nusername = pinkys\n"
                  "[m]\ntype = msn\nusername = r@hotmail.com\nloginurl = http://127.0.0.1/RST2.srf\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("im.conf", t, strlen (t), NETS, &err);
  g_assert_no_error (err);
  g_autofree char *all = NULL;
  g_ptr_array_add (c->warnings, NULL);
  all = g_strjoinv ("\n", (char **) c->warnings->pdata);
  g_ptr_array_remove_index (c->warnings, c->warnings->len - 1);
  g_assert_nonnull (strstr (all, "im.conf:1: [aim1] tls = optional: a man in the middle"));
  g_assert_nonnull (strstr (all, "im.conf:1: [aim1] cafile is trusted for every peer"));
  g_assert_nonnull (strstr (all, "[aim2] tls = off: the password and every presence travel in clear"));
  /* Their ids go on protocol lines as written. */
  const char *bad[] = { "[y]\ntype = yahoo\nusername = \"two words\"\n",
                        "[m]\ntype = msn\nusername = robot\n" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (ImsConfig) cb = ims_config_parse ("im.conf", bad[i], strlen (bad[i]), NETS, &e);
      g_assert_null (cb);
      g_assert_nonnull (strstr (e->message, "im.conf:1: [")); /* names the file and line */
      g_assert_nonnull (strstr (e->message, "username"));
    }
  /* Networks that never had TLS say so, whatever tls says. */
  g_assert_nonnull (strstr (all, "[oscar] type=aim has no TLS: the password (as an MD5 digest)"));
  g_assert_nonnull (strstr (all, "[m] type=msn has no TLS: IMs and presence travel in clear"));
  g_assert_nonnull (strstr (all, "[m] loginurl is not https: the password travels in clear"));
}

/* The defaults come from the table. */
static void
test_defaults (void)
{
  const char *t = PEER;
  g_autoptr (ImsConfig) c = ims_config_parse ("im.conf", t, strlen (t), NETS, NULL);
  g_assert_cmpstr (c->statedir, ==, "/var/lib/imstatus");
  g_assert_cmpstr (c->controlsocket, ==, "/var/lib/imstatus/imstatusd.sock");
  g_assert_cmpstr (c->agibind, ==, "127.0.0.1:4573");
  g_assert_cmpuint (c->agiallow->len, ==, 2);
  g_assert_cmpint (c->amiport, ==, 5038);
  const ImsPeerConfig *p = c->peers->pdata[0];
  g_assert_cmpint (p->tls, ==, IMS_TLS_REQUIRED);
  g_assert_cmpint (p->pinginterval, ==, 30);
  g_assert_cmpstr (p->resource, ==, "imstatus");
  g_assert_cmpuint (p->subscribe->len, ==, 0);
}

/* The ENUM keys' words land on the enums that name them. */
static void
test_enum_values (void)
{
  const char *text = "[general]\ncontrolgrouprights = admin\npresencehints = yes\namitls = no\n"
                     "[a]\ntype = jabber\nusername = a@example.org\npresencehints = no\n"
                     "[b]\ntype = jabber\nusername = b@example.org\n"
                     "[w]\ntype = webuser\nsecret = s\nsend = yes\n";
  g_autoptr (GError) err = NULL;
  g_autoptr (ImsConfig) c = ims_config_parse ("t.conf", text, strlen (text), NETS, &err);
  g_assert_no_error (err);
  g_assert_cmpint (c->controlgrouprights, ==, IMS_RIGHTS_ADMIN);
  g_assert_cmpint (c->presencehints, ==, IMS_YES);
  g_assert_cmpint (c->amitls, ==, IMS_NO);
  g_assert_cmpint (ims_config_find_peer (c, "a")->presencehints, ==, IMS_HINTS_NO);
  g_assert_cmpint (ims_config_find_peer (c, "b")->presencehints, ==, IMS_HINTS_INHERIT);
  g_assert_cmpint (ims_config_find_webuser (c, "w")->send, ==, IMS_YES);
  g_assert_cmpint (ims_config_find_webuser (c, "w")->dial, ==, IMS_NO);
  const char *sendonly = "[general]\ncontrolgrouprights = send\n";
  g_autoptr (ImsConfig) s = ims_config_parse ("t.conf", sendonly, strlen (sendonly), NETS, &err);
  g_assert_no_error (err);
  g_assert_cmpint (s->controlgrouprights, ==, IMS_RIGHTS_SEND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("ims-config-XXXXXX", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/config/errors/%s", error_cases[i].name);
      g_test_add_data_func (name, &error_cases[i], test_error_case);
    }
  g_test_add_func ("/config/errors/all-reported", test_all_errors_reported);
  g_test_add_func ("/config/errors/bounded", test_errors_bounded);
  g_test_add_func ("/config/forms/seed", test_seed_forms);
  g_test_add_func ("/config/forms/templates", test_templates);
  g_test_add_func ("/config/forms/block-comment-escapes", test_block_comment_and_escapes);
  g_test_add_func ("/config/forms/include", test_include);
  g_test_add_func ("/config/forms/include-not-a-file", test_include_not_a_file);
  g_test_add_func ("/config/forms/include-bomb", test_include_bomb);
  g_test_add_func ("/config/forms/template-bomb", test_template_bomb);
  g_test_add_func ("/config/secret-permissions", test_secret_permissions);
  g_test_add_func ("/config/peer-equal", test_peer_equal);
  g_test_add_func ("/config/table/every-key", test_every_key);
  g_test_add_func ("/config/table/defaults", test_defaults);
  g_test_add_func ("/config/security-warnings", test_security_warnings);
  g_test_add_func ("/config/table/enum-values", test_enum_values);
  int r = g_test_run ();
  g_autoptr (GDir) d = g_dir_open (tmpdir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d)))
    {
      g_autofree char *p = tmp_path (n);
      g_unlink (p);
    }
  g_rmdir (tmpdir);
  return r;
}
