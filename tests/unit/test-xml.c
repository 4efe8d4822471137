/* Unit tests for ims-xml: the expat stream reader, its trees and its limits. */
#include "ims-xml.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xml/stream", test_xml_stream);
  g_test_add_func ("/xml/limits", test_xml_limits);
  g_test_add_func ("/xml/many-small", test_xml_many_small);
  return g_test_run ();
}
