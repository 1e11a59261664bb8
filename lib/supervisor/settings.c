/* settings.c — the requests children send the supervisor, which owns config.json: stream settings (pushed
 * to media), privacy and online-update settings, factory reset (web) and the restart after an install
 * (update). Each setting is validated by lib/config all-or-nothing and saved before it is answered; a
 * refusal changes nothing. QCVN 135 G3 (update settings), G9 (factory reset), G10 (privacy) /
 * EN 303 645 5.3-4, 5.11-1, 6-x. */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/proto.h"
#include "safecam/supervisor_run.h"

/* The section of a set request, {"<name>": {...}} and nothing else, or NULL with *reply set (invalid_json). */
static json_t *section_of(const ipc_msg *req, const char *name, json_t **reply)
{
    json_t *in = json_object_get(req->body, name);
    if (json_object_size(req->body) != 1 || !json_is_object(in)) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return NULL;
    }
    return in;
}

/* A lib/config refusal as the API answers it: the code and the field, plus the rule the value broke when the
 * setting names one and the range when the setting has one (docs/api/openapi.yaml). New reference. */
static json_t *refusal_reply(const struct config_error *err)
{
    json_t *r = json_pack("{s:s,s:s}", "error", err->code, "field", err->field);
    if (r && strcmp(err->code, "invalid_setting") == 0) {
        if (err->rule[0])
            json_object_set_new(r, "rule", json_string(err->rule));
        if (err->max > err->min) {
            json_object_set_new(r, "min", json_integer((json_int_t)err->min));
            json_object_set_new(r, "max", json_integer((json_int_t)err->max));
        }
    }
    return r;
}

/* Save next as config.json, then make it the supervisor's. 0; or -1 with *reply = storage, nothing changed. */
static int commit(struct supervisor *s, const struct config *next, json_t **reply)
{
    if (config_save(s->opts.state_dir, next) != 0) {
        *reply = json_pack("{s:s}", "error", "storage");
        return -1;
    }
    s->config = *next;
    return 0;
}

static int handle_media_config(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    json_t *in = section_of(req, "stream", reply);
    struct config next = s->config;
    struct config_error err;
    if (!in)
        return 0;
    if (config_stream_apply_json(&next.stream, in, &err) != 0) {
        *reply = refusal_reply(&err);
        return 0;
    }
    if (commit(s, &next, reply) != 0)
        return 0;
    supervisor_media_config_push(s);
    *reply = json_pack("{s:b,s:o}", "ok", 1, "stream", config_stream_to_json(&s->config.stream));
    return 0;
}

static int handle_privacy_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "privacy", config_privacy_to_json(&s->config.privacy));
    return 0;
}

static int handle_privacy_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    json_t *in = section_of(req, "privacy", reply);
    struct config next = s->config;
    struct config_error err;
    if (!in)
        return 0;
    if (json_object_get(in, "acknowledged_at")) { /* the camera stamps it when the owner acknowledges */
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    if (config_privacy_apply_json(&next.privacy, in, safecam_time_now(), &err) != 0) {
        *reply = refusal_reply(&err);
        return 0;
    }
    if (commit(s, &next, reply) != 0)
        return 0;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "privacy", config_privacy_to_json(&s->config.privacy));
    return 0;
}

/* The online update settings as the API shows them: no CA path, no bundle cap (provisioning only). */
static json_t *update_settings_json(const struct supervisor *s)
{
    char ca[PATH_MAX];
    int have_ca = (s->config.update.ca_file[0] ? safecam_strlcpy(ca, s->config.update.ca_file, sizeof ca)
                                               : safecam_path_join(ca, sizeof ca, s->opts.state_dir,
                                                                   CONFIG_UPDATE_CA_DEFAULT)) == 0 &&
                  access(ca, R_OK) == 0;
    return json_pack("{s:b,s:s,s:b,s:I,s:b}", "online_enabled", s->config.update.online_enabled, "server_url",
                     s->config.update.server_url, "auto_install", s->config.update.auto_install,
                     "check_interval_s", (json_int_t)s->config.update.check_interval_s, "ca_installed",
                     have_ca);
}

static int handle_update_config_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply,
                                    int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "update", update_settings_json(s));
    return 0;
}

/* web -> sup: online_enabled, server_url, auto_install, check_interval_s (QCVN 135 G3 / EN 303 645 5.3-4).
 * The CA file and the bundle cap are provisioning-only; a refusal changes nothing. */
static int handle_update_config_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply,
                                    int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    static const char *const settable[] = {"online_enabled", "server_url", "auto_install",
                                           "check_interval_s"};
    json_t *in = section_of(req, "update", reply);
    struct config next = s->config;
    struct config_error err;
    if (!in)
        return 0;
    const char *key;
    json_t *val;
    json_object_foreach(in, key, val)
    {
        int ok = 0;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(settable); i++)
            ok |= strcmp(key, settable[i]) == 0;
        if (!ok) {
            *reply = json_pack("{s:s,s:s}", "error", "unknown_field", "field", key);
            return 0;
        }
    }
    if (config_update_apply_json(&next.update, in, &err) != 0) {
        *reply = refusal_reply(&err);
        return 0;
    }
    if (next.update.online_enabled) {
        char ca[PATH_MAX];
        int rc = next.update.ca_file[0]
                     ? safecam_strlcpy(ca, next.update.ca_file, sizeof ca)
                     : safecam_path_join(ca, sizeof ca, s->opts.state_dir, CONFIG_UPDATE_CA_DEFAULT);
        if (rc != 0 || access(ca, R_OK) != 0) {
            *reply = json_pack("{s:s}", "error", "ca_not_installed");
            return 0;
        }
    }
    if (commit(s, &next, reply) != 0)
        return 0;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "update", update_settings_json(s));
    return 0;
}

static json_t *onvif_reply(const struct supervisor *s)
{
    return json_pack("{s:b,s:o,s:I,s:I}", "ok", 1, "onvif", config_onvif_to_json(&s->config.onvif), "https_port",
                     (json_int_t)s->opts.https_port, "rtsps_port", (json_int_t)s->opts.rtsps_port);
}

static int handle_onvif_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    (void)req;
    (void)reply_fd;
    *reply = onvif_reply(ctx);
    return 0;
}

/* web -> sup: the ONVIF switches (docs/onvif.md), saved before they are answered; a refusal changes nothing. */
static int handle_onvif_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    json_t *in = section_of(req, "onvif", reply);
    struct config next = s->config;
    struct config_error err;
    if (!in)
        return 0;
    if (config_onvif_apply_json(&next.onvif, in, &err) != 0) {
        *reply = refusal_reply(&err);
        return 0;
    }
    if (commit(s, &next, reply) != 0)
        return 0;
    supervisor_discovery_apply(s); /* the WS-Discovery child follows the switches at once */
    *reply = onvif_reply(s);
    return 0;
}

/* The update process installed a new slot: restart everything so the new slot boots and is counted. */
static int handle_reboot(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    s->reboot_requested = 1;
    supervisor_audit_note(s, AUDIT_UPDATE_INSTALL, "restarting to boot the new slot");
    *reply = json_pack("{s:b}", "ok", 1);
    return 0;
}

/* Factory reset (QCVN 135 G9): answered now, carried out a moment later (so web can send its 202) with
 * every child stopped: vault_factory_reset(), then a restart. */

static int handle_factory_reset(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    json_t *a = json_object_get(req->body, "actor"), *src = json_object_get(req->body, "source");
    if (json_object_size(req->body) != 2 || !json_is_string(a) || !json_is_string(src) ||
        safecam_strlcpy(s->factory_reset_actor, json_string_value(a), sizeof s->factory_reset_actor) != 0 ||
        safecam_strlcpy(s->factory_reset_source, json_string_value(src), sizeof s->factory_reset_source) !=
            0) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    if (!s->factory_reset_at_ms) {
        s->factory_reset_at_ms = safecam_time_mono_ms() + SUPERVISOR_FACTORY_RESET_DELAY_MS;
        log_warn("factory reset requested by %s from %s", s->factory_reset_actor, s->factory_reset_source);
        supervisor_audit_note(s, AUDIT_FACTORY_RESET, "requested: erasing everything and restarting");
    }
    *reply = json_pack("{s:b}", "ok", 1);
    return 0;
}

static int handle_recording_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "recording", config_recording_to_json(&s->config.recording));
    return 0;
}

static int handle_recording_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    json_t *in = section_of(req, "recording", reply);
    struct config next = s->config;
    struct config_error err;
    if (!in)
        return 0;
    if (config_recording_apply_json(&next.recording, in, &err) != 0) {
        *reply = refusal_reply(&err);
        return 0;
    }
    if (commit(s, &next, reply) != 0)
        return 0;
    supervisor_media_config_push(s);
    *reply = json_pack("{s:b,s:o}", "ok", 1, "recording", config_recording_to_json(&s->config.recording));
    return 0;
}

/* vault -> sup: {"configured": bool}; the link child follows at once. */
static int handle_link_state(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)peer;
    (void)reply_fd;
    const json_t *v = json_object_get(req->body, "configured");
    if (!json_is_boolean(v) || json_object_size(req->body) != 1) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "configured");
        return 0;
    }
    supervisor_link_apply(s, json_is_true(v));
    *reply = json_pack("{s:b}", "ok", 1);
    return 0;
}

const struct ipc_route supervisor_settings_routes[] = {
    {PROTO_SUP_LINK_STATE, IPC_PEER_VAULT, handle_link_state},
    {PROTO_SUP_RECORDING_GET, IPC_PEER_WEB, handle_recording_get},
    {PROTO_SUP_RECORDING_SET, IPC_PEER_WEB, handle_recording_set},
    {PROTO_SUP_FACTORY_RESET, IPC_PEER_WEB, handle_factory_reset},
    {PROTO_SUP_MEDIA_CONFIG, IPC_PEER_WEB, handle_media_config},
    {PROTO_SUP_REBOOT, IPC_PEER_UPDATE, handle_reboot},
    {PROTO_SUP_PRIVACY_GET, IPC_PEER_WEB, handle_privacy_get},
    {PROTO_SUP_PRIVACY_SET, IPC_PEER_WEB, handle_privacy_set},
    {PROTO_SUP_UPDATE_CONFIG_GET, IPC_PEER_WEB, handle_update_config_get},
    {PROTO_SUP_UPDATE_CONFIG_SET, IPC_PEER_WEB, handle_update_config_set},
    {PROTO_SUP_ONVIF_GET, IPC_PEER_WEB, handle_onvif_get},
    {PROTO_SUP_ONVIF_SET, IPC_PEER_WEB, handle_onvif_set},
    {PROTO_SUP_CHANNEL_RENEW, IPC_PEER_WEB | IPC_PEER_MEDIA | IPC_PEER_UPDATE, supervisor_channel_renew},
};
const size_t supervisor_settings_routes_len = SAFECAM_ARRAY_LEN(supervisor_settings_routes);
