/* ims-msnp-login: MSN's login service.  After USR SSO I the driver POSTs a
 * SOAP RST2 request to loginurl (libsoup), reads the answer in pieces up to
 * RST_MAX, takes the ticket and secret from it and answers USR SSO S with
 * the MBI_KEY_OLD response. */
#define G_LOG_DOMAIN "ims-msnp"

#include <libsoup/soup.h>
#include <string.h>

#include "ims-msnp-private.h"
#include "ims-msnp-proto.h"

static char *
ims_msnp_rst_body (MsnpPeer *m)
{
  g_autofree char *user = ims_msnp_xml_text (m->email);
  g_autofree char *pass = ims_msnp_xml_text (m->base.acct->secret);
  return g_strdup_printf (
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:wsse=\"http://schemas.xmlsoap.org/ws/2003/06/secext\" "
    "xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2002/12/policy\" "
    "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/03/addressing\" "
    "xmlns:wst=\"http://schemas.xmlsoap.org/ws/2004/04/trust\" "
    "xmlns:ps=\"http://schemas.microsoft.com/Passport/SoapServices/PPCRL\">"
    "<Header><ps:AuthInfo Id=\"PPAuthInfo\"><ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}"
    "</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion>"
    "<ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>"
    "</ps:AuthInfo><wsse:Security><wsse:UsernameToken Id=\"user\">"
    "<wsse:Username>%s</wsse:Username><wsse:Password>%s</wsse:Password>"
    "</wsse:UsernameToken></wsse:Security></Header>"
    "<Body><ps:RequestMultipleSecurityTokens Id=\"RSTS\">"
    "<wst:RequestSecurityToken Id=\"RST0\"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/"
    "04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference>"
    "<wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>"
    "</wst:RequestSecurityToken>"
    "<wst:RequestSecurityToken Id=\"RST1\"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/"
    "04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference>"
    "<wsa:Address>messengerclear.live.com</wsa:Address></wsa:EndpointReference>"
    "</wsp:AppliesTo><wsse:PolicyReference URI=\"MBI_KEY_OLD\"></wsse:PolicyReference>"
    "</wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>",
    user, pass);
}

/* The login service's answer, read in pieces and refused past RST_MAX:
 * never read whole before its size is known. */
static void ims_msnp_rst_read (MsnpPeer *m);

static void
ims_msnp_rst_answer (MsnpPeer *m)
{
  const char *xml = (const char *) m->rst->data;
  gsize len = m->rst->len;
  g_autofree char *ticket = NULL, *secret = NULL;
  gboolean ok = ims_msnp_parse_rst (xml, len, &ticket, &secret);
  g_clear_pointer (&m->rst, g_byte_array_unref);
  if (!ok)
    {
      /* A fault: this service answers a wrong password and an unknown
       * address alike. */
      ims_native_fail (&m->base, TRUE, "wrong password (or no such MSN account): the login "
                       "service gave no ticket");
      return;
    }
  guint8 iv[8];
  for (gsize i = 0; i < sizeof iv; i++)
    iv[i] = (guint8) g_random_int_range (0, 256);
  g_autofree char *response = ims_msnp_sso_response (secret, m->nonce, iv);
  explicit_bzero (secret, strlen (secret));
  if (response == NULL)
    {
      ims_native_fail (&m->base, FALSE, "the MSN login service sent an unusable secret");
      return;
    }
  m->stage = NS_USR_S;
  ims_msnp_ns_send (m, "USR %u SSO S %s %s %s\r\n", ++m->trid, ticket, response, m->guid);
}

static void
ims_msnp_rst_chunk (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  MsnpPeer *m = data;
  if (chunk == NULL)
    {
      g_clear_object (&m->rst_stream);
      g_clear_pointer (&m->rst, g_byte_array_unref);
      ims_native_fail (&m->base, FALSE, "the MSN login service: %s", error->message);
      return;
    }
  gsize n = g_bytes_get_size (chunk);
  if (n == 0)
    {
      g_clear_object (&m->rst_stream);
      g_clear_object (&m->http_cancel);
      ims_msnp_rst_answer (m);
      return;
    }
  if (m->rst->len + n > RST_MAX)
    {
      g_clear_object (&m->rst_stream);
      g_clear_pointer (&m->rst, g_byte_array_unref);
      ims_native_fail (&m->base, FALSE, "the MSN login service's answer is larger than %d bytes",
                       RST_MAX);
      return;
    }
  g_byte_array_append (m->rst, g_bytes_get_data (chunk, NULL), (guint) n);
  ims_msnp_rst_read (m);
}

static void
ims_msnp_rst_read (MsnpPeer *m)
{
  g_input_stream_read_bytes_async (m->rst_stream, 65536, G_PRIORITY_DEFAULT, m->http_cancel,
                                   ims_msnp_rst_chunk, m);
}

static void
ims_msnp_rst_done (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = soup_session_send_finish (SOUP_SESSION (source), res, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  MsnpPeer *m = data;
  if (in == NULL)
    {
      g_clear_object (&m->http_cancel);
      ims_native_fail (&m->base, FALSE, "the MSN login service: %s", error->message);
      return;
    }
  m->rst_stream = g_steal_pointer (&in);
  m->rst = g_byte_array_new ();
  ims_msnp_rst_read (m);
}

void
ims_msnp_sso (MsnpPeer *m, const char *nonce)
{
  const char *url = m->base.acct->loginurl ? m->base.acct->loginurl : DEFAULT_LOGINURL;
  g_autoptr (SoupMessage) msg = soup_message_new ("POST", url);
  if (msg == NULL)
    {
      ims_native_fail (&m->base, TRUE, "loginurl is not a URL: %s", url);
      return;
    }
  g_free (m->nonce);
  m->nonce = g_strdup (nonce);
  m->stage = NS_SSO;
  g_autofree char *body = ims_msnp_rst_body (m);
  gsize body_len = strlen (body); /* before the steal: argument order is unspecified */
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&body), body_len);
  soup_message_set_request_body_from_bytes (msg, "application/soap+xml", bytes);
  static SoupSession *session;
  if (session == NULL)
    session = soup_session_new_with_options ("timeout", IMS_NATIVE_CONNECT_TIMEOUT_S, "max-conns", 64, NULL);
  m->http_cancel = g_cancellable_new ();
  soup_session_send_async (session, msg, G_PRIORITY_DEFAULT, m->http_cancel, ims_msnp_rst_done, m);
}
