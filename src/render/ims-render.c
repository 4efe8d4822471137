/* ims-render: JSON for peers and answers. */
#include "ims-render.h"

#include <string.h>

static void
ims_render_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
ims_render_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
ims_render_answer_members (JsonBuilder *b, const ImsAnswer *a, gint64 now)
{
  ims_render_string (b, "status", ims_status_to_string (a->status));
  ims_render_string (b, "result", ims_result_to_string (a->result));
  ims_render_int (b, "idle", a->idle_seconds);
  ims_render_int (b, "lastseen", ims_answer_lastseen_minutes (a, now));
  json_builder_set_member_name (b, "lastseen_at");
  if (a->lastseen_at)
    json_builder_add_int_value (b, a->lastseen_at);
  else
    json_builder_add_null_value (b);
  ims_render_string (b, "text", a->text);
  ims_render_string (b, "prefix", a->prefix);
  ims_render_string (b, "uri", a->uri);
  ims_render_string (b, "resource", a->resource);
  ims_render_string (b, "show", a->show);
  ims_render_string (b, "lamp", a->lamp ? a->lamp : "");
  ims_render_string (b, "subscription", ims_subscription_to_string (a->subscription));
}

void
ims_render_buddy (JsonBuilder *b, const char *peer, const char *name, const char *id,
                  const ImsAnswer *a, const ImsAnswer *old, gint64 now)
{
  json_builder_begin_object (b);
  ims_render_string (b, "peer", peer);
  ims_render_string (b, "name", name);
  ims_render_string (b, "id", id);
  ims_render_answer_members (b, a, now);
  if (old)
    {
      json_builder_set_member_name (b, "old");
      json_builder_begin_object (b);
      ims_render_answer_members (b, old, now);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

ImsRenderPeer
ims_render_peer_view (ImsPresenceStore *store, const ImsPeerConfig *p, const char *host, int port)
{
  ImsRenderPeer v = { .name = p->name, .type = p->type, .user = p->username, .host = host,
                      .port = port };
  v.state = ims_presence_store_get_peer_state (store, p->name, &v.reason);
  return v;
}

void
ims_render_peer (JsonBuilder *b, const ImsRenderPeer *p)
{
  json_builder_begin_object (b);
  ims_render_string (b, "name", p->name);
  ims_render_string (b, "type", p->type);
  ims_render_string (b, "host", p->host ? p->host : "-");
  ims_render_int (b, "port", p->port);
  ims_render_string (b, "user", p->user);
  ims_render_string (b, "status", ims_peer_state_to_string (p->state));
  ims_render_string (b, "reason", p->reason);
  json_builder_end_object (b);
}

void
ims_render_send (JsonBuilder *b, const ImsSendOutcome *o)
{
  json_builder_begin_object (b);
  ims_render_string (b, "sendstatus", ims_send_status_to_string (o->status));
  ims_render_string (b, "result", ims_result_to_string (o->result));
  ims_render_string (b, "detail", o->detail ? o->detail : "");
  json_builder_end_object (b);
}

char *
ims_render_peer_json (const ImsRenderPeer *p)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  ims_render_peer (b, p);
  return ims_render_to_string (b);
}

char *
ims_render_to_string (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

char *
ims_render_buddy_name (ImsPresenceStore *store, const char *peer, const char *id)
{
  return ims_presence_store_display_name (store, peer, id);
}

char *
ims_render_peer_removed_json (const char *peer)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  ims_render_string (b, "name", peer);
  json_builder_end_object (b);
  return ims_render_to_string (b);
}

/* A person's answer: as a buddy's, with her phone and DND. */
void
ims_render_person (JsonBuilder *b, const char *name, const ImsPersonAnswer *pa, gint64 now)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "person");
  json_builder_add_string_value (b, name);
  ims_render_answer_members (b, &pa->answer, now);
  json_builder_set_member_name (b, "phone");
  json_builder_add_string_value (b, ims_phone_to_string (pa->phone));
  json_builder_set_member_name (b, "dnd");
  json_builder_add_boolean_value (b, pa->dnd);
  json_builder_end_object (b);
}

