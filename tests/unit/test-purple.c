/* Unit tests for the libpurple driver's pure parts: trace redaction. */
#include "ims-purple-ui.h"

typedef struct {
  const char *in, *out;
} RedactCase;

static const RedactCase cases[] = {
  { "Sending (ssl): <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGJvYgBodW50ZXIy</auth>",
    "Sending (ssl): <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted]</auth>" },
  { "Recv: <challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1meWtv</challenge>",
    "Recv: <challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>[redacted]</challenge>" },
  { "<response xmlns='x'>Yz1iaXdz</response><success xmlns='x'>dj1ybUY=</success>",
    "<response xmlns='x'>[redacted]</response><success xmlns='x'>[redacted]</success>" },
  { "<query xmlns='jabber:iq:auth'><password>hunter2</password></query>",
    "<query xmlns='jabber:iq:auth'><password>[redacted]</password></query>" },
  { "the secret hunter2 appears twice: hunter2", "the secret ******** appears twice: ********" },
  { "<presence><status>fine</status></presence>", "<presence><status>fine</status></presence>" },
};

static void
test_redact (void)
{
  g_autoptr (GPtrArray) secrets = g_ptr_array_new ();
  g_ptr_array_add (secrets, "hunter2");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *r = ims_purple_redact (cases[i].in, secrets);
      g_assert_cmpstr (r, ==, cases[i].out);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/purple/redact", test_redact);
  return g_test_run ();
}
