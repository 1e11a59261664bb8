/* routes_onvif.c — ONVIF on the HTTPS port: POST /onvif/device_service and /onvif/media_service (the SOAP
 * services of lib/onvif, authenticated by WS-Security instead of the session and CSRF gate, still under the
 * connection guard, the body cap and the framing rules of gate.c), and GET/PUT /api/v1/settings/onvif (admin,
 * CSRF, audited by names, kept by the supervisor in config.json). Off by default: while off the SOAP paths
 * answer 404 exactly like an unknown path. Trust level: network-facing; the SOAP body is untrusted and parsed
 * only by lib/onvif. QCVN 135 G1, G6, G11 / EN 303 645 5.1, 5.6, 5.13-1. docs/onvif.md. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "safecam/device.h"
#include "safecam/media_client.h"
#include "safecam/onvif.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

/* The supervisor's ONVIF reply -> the cached switch and ports (0 when the reply is not what proto.h says). */
static int onvif_cache_set(http_server *srv, const json_t *reply)
{
    const json_t *o = json_object_get(reply, "onvif");
    const json_t *hp = json_object_get(reply, "https_port"), *rp = json_object_get(reply, "rtsps_port");
    if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "enabled")) ||
        !json_is_boolean(json_object_get(o, "discovery")) || !json_is_integer(hp) || !json_is_integer(rp) ||
        json_integer_value(hp) < 1 || json_integer_value(hp) > 65535 || json_integer_value(rp) < 1 ||
        json_integer_value(rp) > 65535)
        return 0;
    atomic_store(&srv->onvif_https_port, (unsigned)json_integer_value(hp));
    atomic_store(&srv->onvif_rtsps_port, (unsigned)json_integer_value(rp));
    atomic_store(&srv->onvif_state, json_is_true(json_object_get(o, "enabled")) ? 1 : 0);
    return 1;
}

int http_onvif_enabled(struct req *r)
{
    int st = atomic_load(&r->srv->onvif_state);
    if (st >= 0)
        return st;
    /* First use since this process started: ask the owner of config.json. No answer: off (fail closed). */
    json_t *reply = NULL;
    if (http_sup_call(r->srv, PROTO_SUP_ONVIF_GET, json_object(), &reply) != 0 ||
        !json_is_true(json_object_get(reply, "ok")) || !onvif_cache_set(r->srv, reply)) {
        json_decref(reply);
        return 0;
    }
    json_decref(reply);
    return atomic_load(&r->srv->onvif_state) == 1;
}

/* ---- settings ---- */

static enum MHD_Result onvif_settings_relay(struct req *r, uint16_t type, json_t *body, const char *detail)
{
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, type, body, &ret);
    if (!reply)
        return ret;
    if (!onvif_cache_set(r->srv, reply)) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    } else {
        if (detail)
            http_audit_record(r, "config_change", detail);
        const json_t *o = json_object_get(reply, "onvif");
        ret = http_reply_json(r, MHD_HTTP_OK,
                              json_pack("{s:b,s:b}", "enabled", json_is_true(json_object_get(o, "enabled")),
                                        "discovery", json_is_true(json_object_get(o, "discovery"))));
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_onvif_settings_get(struct req *r)
{
    return onvif_settings_relay(r, PROTO_SUP_ONVIF_GET, json_object(), NULL);
}

static const struct http_field onvif_schema[] = {
    {"enabled", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
    {"discovery", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
};

static enum MHD_Result h_onvif_settings_put(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, onvif_schema, SAFECAM_ARRAY_LEN(onvif_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    /* the names of the settings changed, never their values */
    int en = json_object_get(in, "enabled") != NULL, di = json_object_get(in, "discovery") != NULL;
    const char *detail = en && di ? "onvif settings: enabled discovery"
                         : en     ? "onvif settings: enabled"
                         : di     ? "onvif settings: discovery"
                                  : "onvif settings:";
    return onvif_settings_relay(r, PROTO_SUP_ONVIF_SET, json_pack("{s:o}", "onvif", in), detail);
}

/* ---- the SOAP services ---- */

struct onvif_ctx {
    struct req *r;
    struct device_identity id;
    char host[INET6_ADDRSTRLEN + 2];
    char address[INET6_ADDRSTRLEN];
    char hostname[65];
};

/* The one authentication call: the vault verifies the UsernameToken (PasswordDigest of an integration account
 * with its nonce cache and +-5 min Created window, PasswordText of a person against the Argon2id hash; every
 * refusal counts toward the shared lockout and is audited there). No password is checked here. A person whose
 * password change is pending is refused, as on every other surface. 0 accepted, SAFECAM_ERR_DENIED refused,
 * another error when the vault cannot answer (fail closed: a fault, never an answer). */
static int onvif_auth(void *c, const struct onvif_security *sec)
{
    struct onvif_ctx *x = c;
    json_t *out = NULL;
    int rc = vault_client_wsse_verify(x->r->srv->vault, sec->username, sec->password_type, sec->password,
                                      sec->nonce_b64, sec->created, x->r->source, &out);
    if (rc == 0 && (!json_is_true(json_object_get(out, "ok")) ||
                    json_is_true(json_object_get(out, "password_change_required"))))
        rc = SAFECAM_ERR_DENIED;
    json_decref(out);
    if (rc == 0 || rc == SAFECAM_ERR_DENIED)
        return rc;
    return SAFECAM_ERR_IO;
}

static void stream_facts(const json_t *stream, struct onvif_facts *f)
{
    const json_t *w = json_object_get(stream, "width"), *h = json_object_get(stream, "height"),
                 *fps = json_object_get(stream, "fps"), *kb = json_object_get(stream, "bitrate_kbps"),
                 *ki = json_object_get(stream, "keyframe_interval_s");
    f->main.enabled = 1;
    f->main.width = json_is_integer(w) ? (int)json_integer_value(w) : 0;
    f->main.height = json_is_integer(h) ? (int)json_integer_value(h) : 0;
    f->main.fps = json_is_integer(fps) ? (int)json_integer_value(fps) : 0;
    f->main.bitrate_kbps = json_is_integer(kb) ? (int)json_integer_value(kb) : 0;
    f->main.gov_length = f->main.fps * (json_is_integer(ki) ? (int)json_integer_value(ki) : 1);
    /* the sub stream: 640x360 at the main rate, a quarter of the bitrate in 128..1000 (lib/media) */
    f->sub = f->main;
    f->sub.enabled = json_is_true(json_object_get(stream, "sub_enabled"));
    f->sub.width = 640;
    f->sub.height = 360;
    int sub = f->main.bitrate_kbps / 4;
    f->sub.bitrate_kbps = sub < 128 ? 128 : sub > 1000 ? 1000 : sub;
}

static int onvif_facts_get(void *c, enum onvif_op op, struct onvif_facts *f)
{
    struct onvif_ctx *x = c;
    struct req *r = x->r;
    f->now = safecam_time_now();
    if (op == ONVIF_OP_GET_SYSTEM_DATE_AND_TIME)
        return 0; /* unauthenticated: no media call, no file read */
    if (device_identity_load(r->srv->state_dir, &x->id) != 0)
        return SAFECAM_ERR_IO;
    json_t *status = NULL;
    if (media_client_status(r->srv->media, &status) != 0)
        return SAFECAM_ERR_IO;
    const json_t *stream = json_object_get(status, "stream");
    if (!json_is_object(stream)) {
        json_decref(status);
        return SAFECAM_ERR_PROTO;
    }
    stream_facts(stream, f);
    json_decref(status);
    /* the address the client reached: the connection's local address, never a request header */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0)
        return SAFECAM_ERR_IO;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, x->address, sizeof x->address);
        memcpy(x->host, x->address, sizeof x->address);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            inet_ntop(AF_INET, &a->s6_addr[12], x->address, sizeof x->address);
            memcpy(x->host, x->address, sizeof x->address);
        } else {
            inet_ntop(AF_INET6, a, x->address, sizeof x->address);
            if (safecam_fmt(x->host, sizeof x->host, "[%s]", x->address) != 0)
                return SAFECAM_ERR_INVAL;
        }
    } else {
        return SAFECAM_ERR_INVAL;
    }
    if (gethostname(x->hostname, sizeof x->hostname - 1) != 0)
        x->hostname[0] = '\0';
    x->hostname[sizeof x->hostname - 1] = '\0';
    f->manufacturer = "safecam";
    f->model = x->id.model;
    f->firmware = SAFECAM_VERSION;
    f->serial = x->id.serial;
    f->hardware_id = x->id.product[0] ? x->id.product : "safecam";
    f->hostname = x->hostname;
    f->mac = x->id.mac;
    f->host = x->host;
    f->address = x->address;
    f->https_port = atomic_load(&r->srv->onvif_https_port);
    f->rtsps_port = atomic_load(&r->srv->onvif_rtsps_port);
    return 0;
}

static enum MHD_Result h_onvif(struct req *r)
{
    struct onvif_ctx x;
    memset(&x, 0, sizeof x);
    x.r = r;
    struct safecam_buf out;
    safecam_buf_init(&out, ONVIF_ANSWER_MAX_BYTES, 0);
    unsigned status = 500;
    int rc = onvif_dispatch(safecam_buf_str(&r->body), r->body.len, onvif_auth, onvif_facts_get, &x, &out,
                            &status);
    if (rc != 0) {
        safecam_buf_free(&out);
        return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    size_t len = out.len;
    char *text = safecam_buf_take(&out);
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/soap+xml; charset=utf-8");
    return http_reply_queue(r, status, resp);
}

static const struct route rows[] = {
    {"GET", "/api/v1/settings/onvif", ROLE_ADMIN, 0, 0, NULL, h_onvif_settings_get},
    {"PUT", "/api/v1/settings/onvif", ROLE_ADMIN, R_BODY, 256, NULL, h_onvif_settings_put},
    {"POST", "/onvif/device_service", ROLE_PUBLIC, R_SOAP, ONVIF_BODY_MAX_BYTES, NULL, h_onvif},
    {"POST", "/onvif/media_service", ROLE_PUBLIC, R_SOAP, ONVIF_BODY_MAX_BYTES, NULL, h_onvif},
};

const struct route_set http_routes_onvif = {rows, SAFECAM_ARRAY_LEN(rows)};
