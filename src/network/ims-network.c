/* ims-network: lookups over the descriptors; see the header. */
#include "ims-network.h"

gboolean
ims_network_names (const ImsNetwork *net, const char *type)
{
  if (net == NULL || net->types == NULL || type == NULL)
    return FALSE;
  for (const char *const *t = net->types; *t; t++)
    if (g_ascii_strcasecmp (*t, type) == 0)
      return TRUE;
  return FALSE;
}

const ImsNetwork *
ims_network_find (const ImsNetwork *const *networks, const char *type)
{
  if (networks == NULL || type == NULL)
    return NULL;
  const ImsNetwork *any = NULL;
  for (const ImsNetwork *const *n = networks; *n; n++)
    {
      if (ims_network_names (*n, type))
        return *n;
      if ((*n)->types == NULL && any == NULL)
        any = *n;
    }
  return any;
}

gboolean
ims_network_reads (const ImsNetwork *net, const char *key)
{
  if (net == NULL || net->keys == NULL)
    return FALSE;
  for (const char *const *k = net->keys; *k; k++)
    if (g_str_equal (*k, key))
      return TRUE;
  return FALSE;
}

char *
ims_network_types_reading (const ImsNetwork *const *networks, const char *key)
{
  GString *s = g_string_new (NULL);
  for (const ImsNetwork *const *n = networks; n && *n; n++)
    if (ims_network_reads (*n, key) && (*n)->types)
      for (const char *const *t = (*n)->types; *t; t++)
        g_string_append_printf (s, "%s%s", s->len ? "/" : "", *t);
  return g_string_free (s, FALSE);
}

char *
ims_network_type_words (const ImsNetwork *const *networks, const char *sep)
{
  GString *s = g_string_new (NULL);
  for (const ImsNetwork *const *n = networks; n && *n; n++)
    if ((*n)->types)
      for (const char *const *t = (*n)->types; *t; t++)
        g_string_append_printf (s, "%s%s", s->len ? sep : "", *t);
  return g_string_free (s, FALSE);
}
