/* routes_update.c — the web side of firmware updates (the /api/v1/system/update routes): relays an admin's upload, byte stream by byte
 * stream, into a pipe read by safecam-update (which verifies it while writing the inactive slot), and
 * relays status, online check and apply requests. Trust level: network-facing; it never parses or keeps
 * bundle bytes and passes on only allowlisted fields of the update process's answers.
 * QCVN 135 G3 / EN 303 645 5.3-2, 5.3-7, 5.3-16. */
#include "routes_update.h"
#include "http_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/ipc_client.h"
#include "safecam/proto.h"
#include "safecam/update.h"

#define UPD_CALL_MS 5000   /* status, begin, apply */
#define UPD_CHECK_MS 45000 /* the online check contacts the vendor's server (30 s cap there) */
#define UPD_DEVICE_MS 2000 /* slot versions for GET /api/v1/device: never hold the page up */
#define UPD_LOCK_WAIT_MS 20000
#define UPD_WRITE_WAIT_MS 30000   /* the update process stopped reading for this long: give up */
#define UPD_VERDICT_WAIT_MS 60000 /* after the last byte: completeness check, fsync, slot switch */
#define UPD_VERDICT_POLL_MS 50
#define UPD_PIPE_BYTES (256 * 1024)

struct http_update {
    ipc_client *ch; /* the channel to safecam-update (lib/ipc/client.c) */
};

struct http_update_upload {
    http_update *u;
    int fd; /* write end of the pipe, -1 once closed */
    json_int_t session;
    int refused_early; /* EPIPE: the update process stopped reading (it refused) */
    int failed;        /* the update process hung or vanished */
    uint64_t declared;
    uint64_t sent;
    unsigned deferred_status; /* refused before relaying, answered after the body was read and dropped */
    json_t *deferred_body;
};

http_update *http_update_new(void)
{
    http_update *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    if (ipc_client_new(UPD_LOCK_WAIT_MS, IPC_CLIENT_LOCK_WAIT_CAPPED, &u->ch) != 0) {
        free(u);
        return NULL;
    }
    return u;
}

void http_update_free(http_update *u)
{
    if (!u)
        return;
    ipc_client_free(u->ch);
    free(u);
}

int http_update_channel_lost(http_update *u)
{
    return u ? ipc_client_channel_lost(u->ch) : 0;
}

void http_update_channel_set(http_update *u, int fd)
{
    if (!u) {
        if (fd >= 0)
            close(fd);
        return;
    }
    (void)ipc_client_channel_set(u->ch, fd); /* takes fd, also on error */
}

/* One request/reply (with an optional fd to pass); late replies to timed-out calls are dropped. */
static int upd_call(http_update *u, uint16_t type, const json_t *body, int pass_fd, json_t **reply,
                    int timeout_ms)
{
    return ipc_client_call(u->ch, type, body, pass_fd, reply, NULL, timeout_ms);
}

static json_t *err_obj(const char *code)
{
    return json_pack("{s:s}", "error", code);
}

/* [a-z_]{1,40}: the only shape of code that travels on to the client. */
static int code_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return 0;
    return 1;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The HTTP status of a refusal code (lib/update's stable names; see update_reason_http_status). */
static unsigned refusal_status(const char *code)
{
    for (int r = UPDATE_OK + 1; r <= UPDATE_INTERNAL; r++)
        if (strcmp(code, update_reason_name((enum update_reason)r)) == 0)
            return (unsigned)update_reason_http_status((enum update_reason)r);
    return 500;
}

/* Copy allowlisted scalar fields of src into dst. */
static void copy_fields(json_t *dst, const json_t *src, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        const json_t *v = json_object_get(src, keys[i]);
        if (json_is_integer(v) || json_is_boolean(v) || json_is_null(v) ||
            (json_is_string(v) && json_string_length(v) <= 64))
            json_object_set_new(dst, keys[i], json_deep_copy(v));
    }
}

static json_t *slots_copy(const json_t *slots)
{
    static const char *const slot_keys[] = {"version",      "security_version", "valid",  "good", "factory",
                                            "installed_at", "running",          "active", NULL};
    json_t *out = json_object();
    const char *names[] = {"A", "B"};
    for (int i = 0; i < 2; i++) {
        const json_t *s = json_object_get(slots, names[i]);
        if (!json_is_object(s))
            continue;
        json_t *o = json_object();
        copy_fields(o, s, slot_keys);
        json_object_set_new(out, names[i], o);
    }
    return out;
}

static int reply_ok(const json_t *r)
{
    return json_is_true(json_object_get(r, "ok"));
}

unsigned http_update_status_get(http_update *u, json_t **out)
{
    json_t *req = json_object();
    json_t *reply = NULL;
    int rc = req ? upd_call(u, PROTO_UPDATE_STATUS, req, -1, &reply, UPD_CALL_MS) : SAFECAM_ERR_NOMEM;
    json_decref(req);
    if (rc != 0 || !reply_ok(reply)) {
        json_decref(reply);
        *out = err_obj("unavailable");
        return 503;
    }
    static const char *const last_keys[] = {"state",    "reason", "version", "slot",
                                            "received", "total",  "time",    NULL};
    static const char *const top_keys[] = {"running", "active", "trying", "floor", "health", NULL};
    static const char *const online_keys[] = {"enabled", "auto_install", "job", "last_check", "error", NULL};
    static const char *const latest_keys[] = {"version", "security_version", "size", "available", NULL};
    json_t *o = json_object();
    copy_fields(o, json_object_get(reply, "last"), last_keys);
    if (!json_object_get(o, "state"))
        json_object_set_new(o, "state", json_string("idle"));
    const char *st = jstr(reply, "state");
    if (st && strcmp(st, "receiving") == 0) {
        /* live progress of the session running now */
        json_object_set_new(o, "state", json_string("receiving"));
        json_object_set_new(o, "reason", json_null());
        copy_fields(o, json_object_get(reply, "result"), (const char *const[]){"version", "slot", NULL});
        json_t *rx = json_object_get(reply, "received_bytes");
        json_t *tot = json_object_get(reply, "total_bytes");
        if (json_is_integer(rx))
            json_object_set_new(o, "received", json_integer(json_integer_value(rx)));
        if (json_is_integer(tot))
            json_object_set_new(o, "total", json_integer(json_integer_value(tot)));
    }
    copy_fields(o, reply, top_keys);
    json_object_set_new(o, "slots", slots_copy(json_object_get(reply, "slots")));
    const json_t *on = json_object_get(reply, "online");
    if (json_is_object(on)) {
        json_t *oo = json_object();
        copy_fields(oo, on, online_keys);
        const json_t *latest = json_object_get(on, "latest");
        if (json_is_object(latest)) {
            json_t *lo = json_object();
            copy_fields(lo, latest, latest_keys);
            json_object_set_new(oo, "latest", lo);
        }
        json_object_set_new(o, "online", oo);
    }
    json_decref(reply);
    *out = o;
    return 200;
}

void http_update_device_fields(http_update *u, json_t *device)
{
    json_t *req = json_object();
    json_t *reply = NULL;
    int rc = req ? upd_call(u, PROTO_UPDATE_STATUS, req, -1, &reply, UPD_DEVICE_MS) : SAFECAM_ERR_NOMEM;
    json_decref(req);
    if (rc == 0 && reply_ok(reply) && json_is_object(json_object_get(reply, "slots"))) {
        json_object_set_new(device, "slots", slots_copy(json_object_get(reply, "slots")));
        const char *run = jstr(reply, "running");
        if (run && (strcmp(run, "A") == 0 || strcmp(run, "B") == 0))
            json_object_set_new(device, "running_slot", json_string(run));
    }
    json_decref(reply);
}

/* Map an error reply of check/apply to a status; only known codes pass on. */
static unsigned online_error(const json_t *reply, json_t **out)
{
    const char *code = jstr(reply, "error");
    static const struct {
        const char *code;
        unsigned status;
    } map[] = {
        {"not_configured", 409},      {"busy", 409},
        {"no_update_available", 409}, {"server_untrusted", 502},
        {"server_unreachable", 502},  {"bad_server_answer", 502},
    };
    for (size_t i = 0; code && i < SAFECAM_ARRAY_LEN(map); i++)
        if (strcmp(code, map[i].code) == 0) {
            *out = err_obj(map[i].code);
            return map[i].status;
        }
    *out = err_obj("internal");
    return 500;
}

unsigned http_update_check(http_update *u, const char *actor, const char *source, json_t **out)
{
    json_t *req = json_pack("{s:s,s:s}", "actor", actor, "source", source);
    json_t *reply = NULL;
    int rc = req ? upd_call(u, PROTO_UPDATE_CHECK, req, -1, &reply, UPD_CHECK_MS) : SAFECAM_ERR_NOMEM;
    json_decref(req);
    unsigned status;
    if (rc != 0) {
        *out = err_obj("unavailable");
        status = 503;
    } else if (!reply_ok(reply)) {
        status = online_error(reply, out);
    } else {
        json_t *o = json_object();
        copy_fields(o, reply,
                    (const char *const[]){"available", "version", "security_version", "size", NULL});
        *out = o;
        status = 200;
    }
    json_decref(reply);
    return status;
}

unsigned http_update_apply(http_update *u, const char *actor, const char *source, json_t **out)
{
    json_t *req = json_pack("{s:s,s:s}", "actor", actor, "source", source);
    json_t *reply = NULL;
    int rc = req ? upd_call(u, PROTO_UPDATE_APPLY, req, -1, &reply, UPD_CALL_MS) : SAFECAM_ERR_NOMEM;
    json_decref(req);
    unsigned status;
    if (rc != 0) {
        *out = err_obj("unavailable");
        status = 503;
    } else if (!reply_ok(reply)) {
        status = online_error(reply, out);
    } else {
        json_t *o = json_object();
        copy_fields(o, reply, (const char *const[]){"state", "version", NULL});
        *out = o;
        status = 202;
    }
    json_decref(reply);
    return status;
}

/* ---------------------------------------------------------------- the upload */

static int content_type_octet(const char *v)
{
    if (!v)
        return 0;
    static const char want[] = "application/octet-stream";
    if (strncasecmp(v, want, sizeof want - 1) != 0)
        return 0;
    const char *rest = v + sizeof want - 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0';
}

static unsigned upload_begin(http_update *u, const char *content_type, const char *content_length,
                             const char *actor, const char *source, http_update_upload **out,
                             json_t **err_body)
{
    *out = NULL;
    *err_body = NULL;
    if (!content_type_octet(content_type)) {
        *err_body = err_obj("unsupported_media_type");
        return 415;
    }
    long declared = 0;
    if (content_length && safecam_parse_long(content_length, 0, LONG_MAX, &declared) != 0) {
        *err_body = err_obj("too_large");
        return 413;
    }
    if ((uint64_t)declared > UPDATE_BUNDLE_MAX_BYTES_DEFAULT) {
        *err_body =
            json_pack("{s:s,s:I}", "error", "too_large", "max", (json_int_t)UPDATE_BUNDLE_MAX_BYTES_DEFAULT);
        return 413;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        *err_body = err_obj("internal");
        return 500;
    }
    (void)fcntl(p[1], F_SETPIPE_SZ, UPD_PIPE_BYTES);
    json_t *req = json_pack("{s:I,s:s,s:s}", "size", (json_int_t)declared, "actor", actor, "source", source);
    json_t *reply = NULL;
    int rc = req ? upd_call(u, PROTO_UPDATE_BEGIN, req, p[0], &reply, UPD_CALL_MS) : SAFECAM_ERR_NOMEM;
    json_decref(req);
    close(p[0]); /* the update process holds its own copy now */
    unsigned status = 0;
    if (rc != 0) {
        *err_body = err_obj("unavailable");
        status = 503;
    } else if (!reply_ok(reply)) {
        const char *code = jstr(reply, "error");
        if (code && code_ok(code) &&
            (strcmp(code, "busy") == 0 || strcmp(code, "too_large") == 0 || strcmp(code, "io") == 0)) {
            *err_body = err_obj(code);
            const json_t *max = json_object_get(reply, "max");
            if (json_is_integer(max))
                json_object_set_new(*err_body, "max", json_integer(json_integer_value(max)));
            status = refusal_status(code);
        } else {
            *err_body = err_obj("internal");
            status = 500;
        }
    } else {
        http_update_upload *up = calloc(1, sizeof *up);
        const json_t *sess = json_object_get(reply, "session");
        if (!up || !json_is_integer(sess)) {
            free(up);
            *err_body = err_obj("internal");
            status = 500;
        } else {
            up->u = u;
            up->fd = p[1];
            p[1] = -1;
            up->session = json_integer_value(sess);
            up->declared = (uint64_t)declared;
            *out = up;
        }
    }
    json_decref(reply);
    if (p[1] >= 0)
        close(p[1]);
    return status;
}

unsigned http_update_upload_begin(http_update *u, const char *content_type, const char *content_length,
                                  const char *expect, const char *actor, const char *source,
                                  http_update_upload **out, json_t **err_body)
{
    unsigned status = upload_begin(u, content_type, content_length, actor, source, out, err_body);
    long declared = 0;
    int continue_asked = expect && strcasecmp(expect, "100-continue") == 0;
    if (status == 0 || status == 413 || continue_asked || !content_length ||
        safecam_parse_long(content_length, 1, (long)UPDATE_BUNDLE_MAX_BYTES_DEFAULT, &declared) != 0)
        return status; /* nothing is on its way (or too much): answer now */
    /* The client is already sending the body (no Expect: 100-continue): answering now would close the
     * connection under its feet and it might never see the answer. Read and drop the body instead, then
     * answer. Nothing of it is relayed or kept. */
    http_update_upload *up = calloc(1, sizeof *up);
    if (!up)
        return status;
    up->u = u;
    up->fd = -1;
    up->declared = (uint64_t)declared;
    up->deferred_status = status;
    up->deferred_body = *err_body;
    *err_body = NULL;
    *out = up;
    return 0;
}

void http_update_upload_data(http_update_upload *up, const char *data, size_t len)
{
    if (!up || up->fd < 0 || up->refused_early || up->failed)
        return; /* discarded: nothing is kept */
    size_t off = 0;
    while (off < len) {
        struct pollfd pfd = {.fd = up->fd, .events = POLLOUT};
        int pr = poll(&pfd, 1, UPD_WRITE_WAIT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            up->failed = 1;
            break;
        }
        ssize_t n = write(up->fd, data + off, len - off);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            if (errno == EPIPE)
                up->refused_early = 1; /* it refused: stop sending */
            else
                up->failed = 1;
            break;
        }
        off += (size_t)n;
        up->sent += (uint64_t)n;
    }
    if (up->refused_early || up->failed) {
        log_info("update upload: %s after %llu of %llu bytes; the rest is discarded",
                 up->refused_early ? "refused by the update process" : "relay failed",
                 (unsigned long long)up->sent, (unsigned long long)up->declared);
        close(up->fd);
        up->fd = -1;
    }
}

unsigned http_update_upload_finish(http_update_upload *up, json_t **out)
{
    if (up->deferred_status) {
        *out = up->deferred_body;
        up->deferred_body = NULL;
        return up->deferred_status;
    }
    if (up->fd >= 0) {
        close(up->fd); /* end of stream for the verifier */
        up->fd = -1;
    }
    int64_t deadline = safecam_time_mono_ms() + UPD_VERDICT_WAIT_MS;
    while (safecam_time_mono_ms() < deadline) {
        json_t *req = json_object();
        json_t *reply = NULL;
        int rc = req ? upd_call(up->u, PROTO_UPDATE_STATUS, req, -1, &reply, UPD_CALL_MS) : SAFECAM_ERR_NOMEM;
        json_decref(req);
        if (rc != 0 || !reply_ok(reply)) {
            json_decref(reply);
            break;
        }
        const json_t *sess = json_object_get(reply, "session");
        const char *st = jstr(reply, "state");
        const json_t *result = json_object_get(reply, "result");
        if (json_is_integer(sess) && json_integer_value(sess) == up->session && st) {
            if (strcmp(st, "installed") == 0) {
                json_t *o = json_pack("{s:s,s:b}", "state", "pending_reboot", "reboot", 1);
                copy_fields(o, result, (const char *const[]){"version", "slot", NULL});
                json_decref(reply);
                *out = o;
                return 202;
            }
            if (strcmp(st, "refused") == 0) {
                const char *code = jstr(result, "error");
                unsigned status = code && code_ok(code) ? refusal_status(code) : 500;
                *out = err_obj(code && code_ok(code) ? code : "internal");
                json_decref(reply);
                return status;
            }
        }
        if (!json_is_integer(sess) || json_integer_value(sess) != up->session) {
            json_decref(reply);
            break; /* the update process restarted (or another session began): our verdict is gone */
        }
        json_decref(reply);
        struct timespec ts = {0, UPD_VERDICT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    *out = err_obj("unavailable");
    return 503;
}

void http_update_upload_free(http_update_upload *up)
{
    if (!up)
        return;
    if (up->fd >= 0)
        close(up->fd);
    json_decref(up->deferred_body);
    free(up);
}

/* ---------------------------------------------------------------- the routes */

static enum MHD_Result h_update_get(struct req *r)
{
    json_t *out = NULL;
    unsigned st = http_update_status_get(r->srv->update, &out);
    return http_reply_json(r, st, out);
}

static enum MHD_Result h_update_check(struct req *r)
{
    if (http_req_body_empty(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *out = NULL;
    unsigned st = http_update_check(r->srv->update, r->username, r->source, &out);
    return http_reply_json(r, st, out);
}

static enum MHD_Result h_update_apply(struct req *r)
{
    if (http_req_body_empty(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *out = NULL;
    unsigned st = http_update_apply(r->srv->update, r->username, r->source, &out);
    return http_reply_json(r, st, out);
}

/* R_STREAM: the first call (after the gate) opens the relay, each chunk goes straight on, the last call
 * answers with the verdict. MHD cannot answer mid-body: after a refusal the rest is discarded. */
enum MHD_Result http_update_upload_step(struct req *r, const char *data, size_t *size, int first)
{
    json_t *out = NULL;
    if (first) {
        unsigned st = http_update_upload_begin(r->srv->update, http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE),
                                               http_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH),
                                               http_req_header(r, MHD_HTTP_HEADER_EXPECT), r->username, r->source,
                                               &r->upload, &out);
        return st ? http_reply_json(r, st, out) : MHD_YES;
    }
    if (*size > 0) {
        http_update_upload_data(r->upload, data, *size);
        *size = 0;
        return MHD_YES;
    }
    unsigned st = http_update_upload_finish(r->upload, &out);
    return http_reply_json(r, st, out);
}

static const struct route rows[] = {
    {"GET", "/api/v1/system/update", ROLE_ADMIN, 0, 0, NULL, h_update_get},
    {"POST", "/api/v1/system/update", ROLE_ADMIN, R_STREAM, (size_t)UPDATE_BUNDLE_MAX_BYTES_DEFAULT, NULL, NULL},
    {"POST", "/api/v1/system/update/check", ROLE_ADMIN, R_BODY, 64, NULL, h_update_check},
    {"POST", "/api/v1/system/update/apply", ROLE_ADMIN, R_BODY, 64, NULL, h_update_apply},
};

const struct route_set http_routes_update = {rows, SAFECAM_ARRAY_LEN(rows)};
