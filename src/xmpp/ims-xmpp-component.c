/* ims-xmpp-component: see the header. */
#define G_LOG_DOMAIN "ims-xmpp"

#include "ims-xmpp-component.h"

#include <string.h>

char *
ims_xmpp_component_open (const char *component)
{
  g_autofree char *to = g_markup_escape_text (component, -1);
  return g_strdup_printf ("<?xml version='1.0'?><stream:stream xmlns='" IMS_XMPP_NS_COMPONENT
                          "' xmlns:stream='" IMS_XMPP_NS_STREAMS "' to='%s'>",
                          to);
}

char *
ims_xmpp_component_handshake (const char *stream_id, const char *secret)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (sum, (const guchar *) stream_id, strlen (stream_id));
  g_checksum_update (sum, (const guchar *) secret, strlen (secret));
  return g_strdup (g_checksum_get_string (sum)); /* lowercase hex */
}

gboolean
ims_xmpp_parse_privileges (const ImsXmlNode *stanza, const char *server, ImsXmppPrivileges *out)
{
  memset (out, 0, sizeof *out);
  if (!g_str_equal (stanza->name, "message"))
    return FALSE;
  const char *from = ims_xml_attr (stanza, "from");
  if (from == NULL || server == NULL || g_ascii_strcasecmp (from, server) != 0)
    return FALSE;
  ImsXmlNode *priv = ims_xml_child (stanza, "urn:xmpp:privilege:2", "privilege");
  out->version = 2;
  if (priv == NULL)
    {
      priv = ims_xml_child (stanza, "urn:xmpp:privilege:1", "privilege");
      out->version = 1;
    }
  if (priv == NULL)
    {
      out->version = 0;
      return FALSE;
    }
  for (guint i = 0; priv->children && i < priv->children->len; i++)
    {
      ImsXmlNode *perm = priv->children->pdata[i];
      if (!g_str_equal (perm->name, "perm") || !g_str_equal (perm->ns, priv->ns))
        continue;
      const char *access = ims_xml_attr (perm, "access");
      const char *type = ims_xml_attr (perm, "type");
      if (access == NULL || type == NULL)
        continue;
      if (g_str_equal (access, "presence"))
        out->presence = g_str_equal (type, "managed_entity") ? IMS_XMPP_PERM_MANAGED_ENTITY
                        : g_str_equal (type, "roster")       ? IMS_XMPP_PERM_ROSTER
                                                             : IMS_XMPP_PERM_NONE;
      else if (g_str_equal (access, "roster"))
        out->roster_get = g_str_equal (type, "get") || g_str_equal (type, "both");
      else if (g_str_equal (access, "message"))
        out->message_outgoing = g_str_equal (type, "outgoing");
    }
  return TRUE;
}
