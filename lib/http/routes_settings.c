/* routes_settings.c — the camera's settings: security (lockout, sessions, password length: the vault), stream
 * (the media pipeline, kept by the supervisor), privacy notice and online update (the supervisor's
 * config.json). Every change is audited by the names of the settings changed, never their values. Trust
 * level: network-facing; types are checked here, values and ranges by the owner (422 invalid_setting with
 * field, min, max). QCVN 135 G3, G6, G7 / EN 303 645 5.3, 5.6. */
#include <string.h>

#include "http_internal.h"
#include "safecam/media_client.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

static const char *const security_setting_keys[] = {
    "lockout_threshold", "lockout_window_s",   "lockout_duration_s",  "account_hourly_limit",
    "session_idle_s",    "session_absolute_s", "password_min_length",
};

static const struct http_field security_schema[] = {
    {"lockout_threshold", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"lockout_window_s", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"lockout_duration_s", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"account_hourly_limit", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"session_idle_s", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"session_absolute_s", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"password_min_length", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
};

static enum MHD_Result h_security_get(struct req *r)
{
    json_t *settings = NULL, *refusal = NULL;
    int rc = vault_client_settings_get(r->srv->vault, r->session_id, &settings, &refusal);
    enum MHD_Result ret;
    if (rc != 0) {
        ret = http_reply_unavailable(r);
    } else if (refusal) {
        ret = http_reply_refusal(r, refusal);
    } else {
        json_t *out = json_object();
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(security_setting_keys); i++) {
            const json_t *v = json_object_get(settings, security_setting_keys[i]);
            if (json_is_integer(v))
                json_object_set_new(out, security_setting_keys[i], json_integer(json_integer_value(v)));
        }
        ret = http_reply_json(r, MHD_HTTP_OK, out);
    }
    json_decref(settings);
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_security_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, security_schema, SAFECAM_ARRAY_LEN(security_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *refusal = NULL;
    int rc = vault_client_settings_set(r->srv->vault, r->session_id, in, &refusal);
    json_decref(in);
    enum MHD_Result ret;
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else
        ret = http_reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_stream_get(struct req *r)
{
    json_t *status = NULL;
    if (media_client_status(r->srv->media, &status) != 0)
        return http_reply_unavailable(r);
    /* The stream object and the scalar status fields (state, source, client counts) pass on. */
    json_t *out = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(status, key, val)
    {
        if (strcmp(key, "ok") == 0 || !http_printable_ascii(key, 32))
            continue;
        if ((strcmp(key, "stream") == 0 && json_is_object(val)) || json_is_integer(val) ||
            json_is_boolean(val) || (json_is_string(val) && http_printable_ascii(json_string_value(val), 64)))
            json_object_set_new(out, key, json_deep_copy(val));
    }
    json_decref(status);
    return http_reply_json(r, MHD_HTTP_OK, out);
}

static enum MHD_Result privacy_relay(struct req *r, uint16_t type, json_t *body)
{
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, type, body, &ret);
    if (!reply)
        return ret;
    if (type == PROTO_SUP_PRIVACY_SET)
        http_audit_record(r, "config_change", "privacy notice settings");
    ret = http_reply_json(r, MHD_HTTP_OK, json_pack("O", json_object_get(reply, "privacy")));
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_privacy_get(struct req *r)
{
    return privacy_relay(r, PROTO_SUP_PRIVACY_GET, json_object());
}

static enum MHD_Result h_privacy_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, NULL, 0, &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    return privacy_relay(r, PROTO_SUP_PRIVACY_SET, json_pack("{s:o}", "privacy", in));
}

static enum MHD_Result h_recording_get(struct req *r)
{
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, PROTO_SUP_RECORDING_GET, json_object(), &ret);
    if (!reply)
        return ret;
    ret = http_reply_json(r, MHD_HTTP_OK, json_pack("O", json_object_get(reply, "recording")));
    json_decref(reply);
    return ret;
}

static void audit_detail_keys(const char *prefix, const json_t *obj, char *out, size_t out_size);

/* Types at the gate; values and ranges are lib/config's (422 invalid_setting with field, min, max). */
static const struct http_field recording_settings_schema[] = {
    {"mode", HTTP_FIELD_STRING, 0, 0, 16, NULL},
    {"segment_seconds", HTTP_FIELD_INT, 0, -1000000000L, 1000000000L, NULL},
    {"retention_days", HTTP_FIELD_INT, 0, -1000000000L, 1000000000L, NULL},
    {"max_bytes", HTTP_FIELD_INT, 0, -4000000000000000L, 4000000000000000L, NULL},
    {"pre_roll_s", HTTP_FIELD_INT, 0, -1000000000L, 1000000000L, NULL},
    {"post_roll_s", HTTP_FIELD_INT, 0, -1000000000L, 1000000000L, NULL},
    {"motion_sensitivity", HTTP_FIELD_INT, 0, -1000000000L, 1000000000L, NULL},
};

static enum MHD_Result h_recording_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, recording_settings_schema, SAFECAM_ARRAY_LEN(recording_settings_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char detail[160];
    audit_detail_keys("recording settings:", in, detail, sizeof(detail));
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, PROTO_SUP_RECORDING_SET, json_pack("{s:o}", "recording", in), &ret);
    if (!reply)
        return ret;
    http_audit_record(r, "config_change", detail);
    ret = http_reply_json(r, MHD_HTTP_OK, json_pack("O", json_object_get(reply, "recording")));
    json_decref(reply);
    return ret;
}

/* "PREFIX: key key ..." for a config_change audit event: the names of the settings changed (never their
 * values), printable keys only, cut at out_size. */
static void audit_detail_keys(const char *prefix, const json_t *obj, char *out, size_t out_size)
{
    if (safecam_strlcpy(out, prefix, out_size) != 0)
        return;
    size_t dl = strlen(out);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t kl = strlen(key);
        if (dl + kl + 2 < out_size && http_printable_ascii(key, 32)) {
            out[dl++] = ' ';
            memcpy(out + dl, key, kl + 1);
            dl += kl;
        }
    }
}

/* Online update settings kept by the supervisor in config.json (QCVN 135 G3 / EN 303 645 5.3-4): the
 * vendor CA is pinned at provisioning and never set here. */
static enum MHD_Result update_settings_relay(struct req *r, uint16_t type, json_t *body, const char *detail)
{
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, type, body, &ret);
    if (!reply)
        return ret;
    const json_t *u = json_object_get(reply, "update");
    if (!json_is_object(u))
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    else {
        if (detail)
            http_audit_record(r, "config_change", detail);
        json_t *out = json_object();
        static const char *const keys[] = {"online_enabled", "server_url", "auto_install", "check_interval_s",
                                           "ca_installed"};
        for (size_t i = 0; out && i < SAFECAM_ARRAY_LEN(keys); i++) {
            const json_t *v = json_object_get(u, keys[i]);
            if (json_is_boolean(v) || json_is_integer(v) ||
                (json_is_string(v) &&
                 (json_string_length(v) == 0 || http_printable_ascii(json_string_value(v), 255))))
                json_object_set_new(out, keys[i], json_deep_copy(v));
        }
        ret = http_reply_json(r, MHD_HTTP_OK, out);
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_update_settings_get(struct req *r)
{
    return update_settings_relay(r, PROTO_SUP_UPDATE_CONFIG_GET, json_object(), NULL);
}

/* Types at the gate (400 invalid_field / unknown_field, e.g. ca_file); values and ranges are the
 * supervisor's (config_update_apply_json: 422 invalid_setting with field, min, max). */
static const struct http_field update_settings_schema[] = {
    {"online_enabled", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
    {"server_url", HTTP_FIELD_STRING, 0, 0, 512, NULL},
    {"auto_install", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
    {"check_interval_s", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
};

static enum MHD_Result h_update_settings_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, update_settings_schema, SAFECAM_ARRAY_LEN(update_settings_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char detail[128];
    audit_detail_keys("update settings:", in, detail, sizeof(detail));
    return update_settings_relay(r, PROTO_SUP_UPDATE_CONFIG_SET, json_pack("{s:o}", "update", in), detail);
}

static enum MHD_Result h_stream_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, NULL, 0, &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char detail[256];
    audit_detail_keys("stream settings:", in, detail, sizeof(detail));
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, PROTO_SUP_MEDIA_CONFIG, json_pack("{s:o}", "stream", in), &ret);
    if (!reply)
        return ret;
    http_audit_record(r, "config_change", detail);
    const json_t *stream = json_object_get(reply, "stream");
    if (json_is_object(stream))
        ret = http_reply_json(r, MHD_HTTP_OK, json_pack("{s:O}", "stream", stream));
    else
        ret = http_reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(reply);
    return ret;
}

/* The host part of the URLs GET /api/v1/settings/network gives: the bind address, or, when the camera listens
 * on every address (0.0.0.0 / ::), the host the client itself used (its Host header without the port; only
 * letters, digits, '.', '-', ':' and IPv6 brackets accepted, else the bind address). IPv6 in brackets. */
static int network_host(struct req *r, char *out, size_t out_size)
{
    const char *bind = r->srv->bind_addr;
    int wildcard = strcmp(bind, "0.0.0.0") == 0 || strcmp(bind, "::") == 0;
    const char *host = wildcard ? http_req_header(r, MHD_HTTP_HEADER_HOST) : NULL;
    char buf[256];
    if (host) {
        size_t n = strnlen(host, sizeof buf);
        int ok = n > 0 && n < sizeof buf;
        for (size_t i = 0; ok && i < n; i++) {
            unsigned char c = (unsigned char)host[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '-' || c == ':' || c == '[' || c == ']';
        }
        if (ok && safecam_strlcpy(buf, host, sizeof buf) == 0) {
            char *end = buf[0] == '[' ? strchr(buf, ']') : NULL;
            if (buf[0] == '[') {
                if (!end)
                    ok = 0;
                else
                    end[1] = '\0'; /* "[v6]:port" -> "[v6]" */
            } else {
                char *colon = strchr(buf, ':');
                if (colon && strchr(colon + 1, ':'))
                    ok = 0; /* a bare IPv6 literal is not a valid Host header */
                else if (colon)
                    *colon = '\0';
            }
            if (ok && buf[0])
                return safecam_strlcpy(out, buf, out_size);
        }
    }
    return safecam_fmt(out, out_size, strchr(bind, ':') ? "[%s]" : "%s", bind);
}

/* GET /api/v1/settings/network (viewer): the bind address, the real HTTPS and RTSPS ports (as the
 * supervisor started the children) and the full URLs an installer types: main and sub stream (rtsps://,
 * never with credentials) and the web UI (https://). Issue 11. */
static enum MHD_Result h_network_get(struct req *r)
{
    char host[300], main_url[400], sub_url[400], web_url[400];
    if (network_host(r, host, sizeof host) != 0 ||
        safecam_fmt(main_url, sizeof main_url, "rtsps://%s:%u/stream1", host, r->srv->rtsps_port) != 0 ||
        safecam_fmt(sub_url, sizeof sub_url, "rtsps://%s:%u/stream2", host, r->srv->rtsps_port) != 0 ||
        safecam_fmt(web_url, sizeof web_url, "https://%s:%u/", host, r->srv->port) != 0)
        return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_t *out = json_pack("{s:s,s:i,s:i,s:{s:s,s:s,s:s}}", "bind", r->srv->bind_addr, "https_port",
                            (int)r->srv->port, "rtsps_port", (int)r->srv->rtsps_port, "urls", "main", main_url,
                            "sub", sub_url, "web", web_url);
    return http_reply_json(r, MHD_HTTP_OK, out);
}

/* Linked services (docs/linked-services.md): the vault validates and keeps them sealed; passwords are
 * write-only (GET shows password_set). Audited by the names of what changed. */
static enum MHD_Result h_linked_get(struct req *r)
{
    json_t *linked = NULL, *refusal = NULL;
    int rc = vault_client_linked_get(r->srv->vault, r->session_id, &linked, &refusal);
    enum MHD_Result ret;
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else
        ret = http_reply_json(r, MHD_HTTP_OK, json_incref(linked));
    json_decref(linked);
    json_decref(refusal);
    return ret;
}

/* Types here; values, ranges and the members of each object in the vault (link_settings_validate). */
static const struct http_field linked_schema[] = {
    {"mqtt", HTTP_FIELD_OBJECT, 0, 0, 16, NULL},
    {"webdav", HTTP_FIELD_OBJECT, 0, 0, 16, NULL},
    {"data_location", HTTP_FIELD_STRING, 0, 0, 16, NULL},
};

static enum MHD_Result h_linked_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, linked_schema, SAFECAM_ARRAY_LEN(linked_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char detail[128];
    audit_detail_keys("linked services:", in, detail, sizeof(detail));
    json_t *refusal = NULL;
    int rc = vault_client_linked_set(r->srv->vault, r->session_id, in, &refusal);
    json_decref(in);
    enum MHD_Result ret;
    if (rc != 0) {
        ret = http_reply_unavailable(r);
    } else if (refusal) {
        ret = http_reply_refusal(r, refusal);
    } else {
        http_audit_record(r, "config_change", detail);
        ret = http_reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    }
    json_decref(refusal);
    return ret;
}

/* POST /api/v1/linked/delete {"confirm":true} (admin): the link process removes everything it uploaded to
 * WebDAV and clears the retained MQTT messages; the answer lists what was removed and what was not (what
 * failed stays in its list for a later delete). 400 confirmation_required without confirm (as every other delete), 409
 * link_not_running while no linked service is configured (the link process runs only then). Audited
 * (data_delete, counts). QCVN 135 G9 / EN 303 645 5.11-1..4. */
static const struct http_field linked_delete_schema[] = {
    {"confirm", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
};

static enum MHD_Result h_linked_delete(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, linked_delete_schema, SAFECAM_ARRAY_LEN(linked_delete_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    int confirmed = json_is_true(json_object_get(in, "confirm"));
    json_decref(in);
    if (!confirmed)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "confirmation_required");
    json_t *reply = NULL, *refusal = NULL;
    int rc = ipc_client_request(r->srv->link, PROTO_LINK_DELETE, NULL, -1, LINKED_DELETE_TIMEOUT_MS, &reply,
                                NULL, &refusal);
    enum MHD_Result ret;
    if (rc == SAFECAM_ERR_CLOSED) {
        ret = http_reply_error(r, MHD_HTTP_CONFLICT, "link_not_running");
    } else if (rc != 0 || refusal) {
        ret = http_reply_unavailable(r);
    } else {
        json_t *removed = json_object_get(reply, "removed"), *failed = json_object_get(reply, "failed");
        char detail[128];
        if (safecam_fmt(detail, sizeof detail, "linked services: removed=%zu failed=%zu",
                        json_array_size(removed), json_array_size(failed)) != 0)
            detail[0] = '\0';
        http_audit_record(r, "data_delete", detail);
        ret = http_reply_json(r, MHD_HTTP_OK,
                              json_pack("{s:O,s:O}", "removed", removed ? removed : json_array(), "failed",
                                        failed ? failed : json_array()));
    }
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

static const struct route rows[] = {
    {"GET", "/api/v1/settings/network", ROLE_VIEWER, 0, 0, NULL, h_network_get},
    {"GET", "/api/v1/settings/security", ROLE_ADMIN, 0, 0, NULL, h_security_get},
    {"PUT", "/api/v1/settings/security", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_security_put},
    {"GET", "/api/v1/settings/stream", ROLE_VIEWER, 0, 0, NULL, h_stream_get},
    {"PUT", "/api/v1/settings/stream", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_stream_put},
    {"GET", "/api/v1/settings/privacy", ROLE_VIEWER, 0, 0, NULL, h_privacy_get},
    {"PUT", "/api/v1/settings/privacy", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_privacy_put},
    {"GET", "/api/v1/settings/recording", ROLE_ADMIN, 0, 0, NULL, h_recording_get},
    {"PUT", "/api/v1/settings/recording", ROLE_ADMIN, R_BODY, 1024, NULL, h_recording_put},
    {"GET", "/api/v1/settings/update", ROLE_ADMIN, 0, 0, NULL, h_update_settings_get},
    {"PUT", "/api/v1/settings/update", ROLE_ADMIN, R_BODY, 1024, NULL, h_update_settings_put},
    /* two CA bundles of up to 64 KiB each (lib/link LINK_CA_PEM_MAX) and the rest */
    {"GET", "/api/v1/settings/linked", ROLE_ADMIN, 0, 0, NULL, h_linked_get},
    {"PUT", "/api/v1/settings/linked", ROLE_ADMIN, R_BODY, 2 * 65536 + 8192, NULL, h_linked_put},
    {"POST", "/api/v1/linked/delete", ROLE_ADMIN, R_BODY, 1024, NULL, h_linked_delete},
};

const struct route_set http_routes_settings = {rows, SAFECAM_ARRAY_LEN(rows)};
