/* libFuzzer harness for the control protocol's command parser and table. */
#include "ims-control.h"

#include <stdint.h>
#include <string.h>


int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static ImsConfig *config;
static ImsPresenceStore *store;

static const ImsConfig *
fz_config (gpointer d)
{
  return config;
}

static gboolean
fz_reload (gpointer d, GError **error)
{
  return TRUE;
}

static void
fz_send (gpointer d, const char *peer, const char *to, const char *text, ImsSendOutcome *o)
{
  o->status = IMS_SEND_SENT;
  o->result = IMS_RESULT_OK;
}

static void
fz_debug (gpointer d, int level)
{
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (config == NULL)
    {
      const char *t = "[aim1]\ntype = jabber\nusername = r@example.org\nsubscribe = b, c\n";
      config = ims_config_parse ("f.conf", t, strlen (t), NULL, NULL);
      store = ims_presence_store_new ();
      ims_presence_store_add_peer (store, "aim1", "r@example.org", "example.org");
      ims_presence_store_set_watched (store, "aim1",
                                      ((ImsPeerConfig *) config->peers->pdata[0])->subscribe, NULL);
    }
  ImsService hooks = {
    .store = store, .config = fz_config, .reload = fz_reload, .send = fz_send,
    .set_debug = fz_debug,
  };
  g_autofree char *line = g_strndup ((const char *) data, size);
  if (!g_utf8_validate (line, -1, NULL))
    return 0; /* the server refuses non-UTF-8 before parsing */
  GString *out = g_string_new (NULL);
  GError *err = NULL;
  if (!ims_control_run (&hooks, line, IMS_RIGHT_ADMIN, out, NULL, &err))
    g_clear_error (&err);
  g_string_free (out, TRUE);
  return 0;
}
