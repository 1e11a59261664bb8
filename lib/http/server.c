/* server.c — the web process's HTTPS server: libmicrohttpd + GnuTLS, one gate in front of every handler
 * (path normalisation, route table, limits, session, role, password-change lock, CSRF + Origin), the API
 * handlers that relay to the vault / media / supervisor over IPC, and the static UI.
 * Trust level: network-facing and unprivileged; it never holds a password hash or the storage key and
 * fails closed (503) when the vault cannot answer. QCVN 135 G1, G4, G5, G6, G11 / EN 303 645 5.1, 5.5,
 * 5.6, 5.13. */
#include "safecam/http.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safecam/device.h"
#include "safecam/proto.h"
#include "safecam/update.h"
#include "capture_routes.h"
#include "update_routes.h"

#ifndef SAFECAM_VERSION
#define SAFECAM_VERSION "0.0.0"
#endif

/* TLS 1.2 and 1.3 only; ECDHE key exchange (TLS 1.3 groups: X25519, P-256, P-384); AEAD ciphers only
 * (AES-GCM, ChaCha20-Poly1305): no CBC, RC4, 3DES, NULL, no SHA-1 MAC, no RSA key transport, no DHE.
 * QCVN 135 G5 / EN 303 645 5.5-1. Checked by tests/system/test_web_tls.py. */
#define HTTP_TLS_PRIORITIES                                                                               \
    "NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+ECDHE-RSA:+AES-256-GCM:+AES-128-GCM:"                \
    "+CHACHA20-POLY1305:+AEAD:+COMP-NULL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"             \
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:+SIGN-ECDSA-SECP521R1-SHA512:"          \
    "+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512:+SIGN-RSA-PSS-RSAE-SHA256:"              \
    "+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-EDDSA-ED25519:"                 \
    "+CTYPE-X509:%SERVER_PRECEDENCE"

#define CSP_POLICY                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "             \
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "            \
    "form-action 'self'"

/* Limits (QCVN 135 G11: request size, header size, body size, connections per source, slowloris). */
#define CONN_LIMIT 64u
#define CONN_PER_IP_LIMIT 16u
#define CONN_TIMEOUT_S 10u          /* idle: no byte for this long */
#define HEAD_DEADLINE_MS 10000      /* whole TLS handshake + request head, however slowly it trickles */
#define CONN_MEMORY_LIMIT ((size_t)16 * 1024) /* request line + headers must fit, with buffers */
#define THREAD_STACK_BYTES ((size_t)512 * 1024)

#define VAULT_TIMEOUT_MS 15000 /* a login runs Argon2id (dummy one for unknown users) */
#define VAULT_LOCK_WAIT_MS 20000
#define MEDIA_TIMEOUT_MS 8000
#define TLS_CREDENTIALS_TIMEOUT_MS 3000
#define SUP_TIMEOUT_MS 15000
#define STREAM_POLL_MS 1000
#define STREAM_IDLE_MAX_MS 15000
#define SNAPSHOT_MAX_BYTES ((uint64_t)16 * 1024 * 1024)

#define STATIC_FILE_MAX_BYTES ((size_t)2 * 1024 * 1024)
#define STATIC_TOTAL_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define STATIC_FILES_MAX 256
#define STATIC_DEPTH_MAX 3

#define SESSION_COOKIE_ATTRS "; Path=/; Secure; HttpOnly; SameSite=Strict"

enum role_level { ROLE_PUBLIC = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

/* ---------------- channels ---------------- */

struct chan {
    pthread_mutex_t mu;      /* serialises calls; held for the length of one ipc_call */
    pthread_mutex_t swap_mu; /* guards next_fd: never held long, so the supervisor reader never blocks */
    int fd;
    int next_fd;
};

struct static_file {
    char path[HTTP_PATH_MAX_BYTES];
    const char *ctype;
    unsigned char *data;
    size_t len;
};

struct http_server {
    char state_dir[PATH_MAX];
    char bind_addr[INET6_ADDRSTRLEN];
    char ui_dir[PATH_MAX];
    unsigned port;
    int sup_fd;

    struct chan vault;
    struct chan media;
    http_update *update; /* channel to safecam-update, used by the firmware routes (update_routes.c) */

    pthread_mutex_t sup_call_mu; /* one web->supervisor call at a time */
    pthread_mutex_t sup_mu;      /* guards the pending-reply slot below */
    pthread_cond_t sup_cv;
    uint32_t sup_wait_id;
    uint16_t sup_wait_type;
    int sup_waiting;
    json_t *sup_reply;
    atomic_uint sup_next_id;

    struct MHD_Daemon *mhd;
    atomic_int stopping;

    /* Request-head deadline (slowloris): every open connection, and a thread that cuts the slow ones. */
    pthread_mutex_t conns_mu;
    struct conn_track *conns;
    pthread_t deadline_thread;
    int deadline_running;

    struct static_file *files;
    size_t n_files;
    size_t files_bytes;
};

/* ---------------- per request ---------------- */

static void conn_head_mark(http_server *srv, struct MHD_Connection *conn, int head_done);

struct req;
typedef enum MHD_Result (*handler_fn)(struct req *r);

#define R_PUBLIC 0x01u      /* no session needed */
#define R_PWCHANGE_OK 0x02u /* allowed while the password must still be changed */
#define R_NO_CSRF 0x04u     /* state-changing but without a session yet (the login) */
#define R_BODY 0x08u        /* takes a JSON body */
#define R_STREAM 0x10u      /* streamed octet body relayed chunk by chunk (firmware upload), never buffered */

struct route {
    const char *method;
    const char *pattern;
    int min_role;
    unsigned flags;
    size_t body_max;
    const char *const *query_keys; /* allowed query parameters, NULL-terminated; NULL = none */
    handler_fn fn;
};

struct req {
    http_server *srv;
    struct MHD_Connection *conn;
    char target[HTTP_TARGET_MAX_BYTES + 1];
    int target_too_long;
    char path[HTTP_PATH_MAX_BYTES];
    struct http_query query;
    char param[64];
    const struct route *route;
    int is_head;
    int started;
    int answered;
    char *body;
    size_t body_len;
    size_t body_cap;
    char source[INET6_ADDRSTRLEN];
    /* the session, once checked */
    char session_id[HTTP_TOKEN_HEX_BYTES + 1];
    char username[64];
    char role[16];
    int pw_change;
    char csrf_echo[HTTP_TOKEN_HEX_BYTES + 1];
    const struct static_file *file;
    http_update_upload *upload; /* R_STREAM: the upload being relayed */
};

/* ---------------- small helpers ---------------- */

static void chan_init(struct chan *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->swap_mu, NULL);
    c->fd = -1;
    c->next_fd = -1;
}

static void chan_destroy(struct chan *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->next_fd >= 0)
        close(c->next_fd);
    c->fd = c->next_fd = -1;
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->swap_mu);
}

static void deadline_after_ms(struct timespec *ts, clockid_t clk, int ms)
{
    clock_gettime(clk, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Request ids unique in the whole process (every thread), so a late reply to a call that timed out can
 * never be taken for the answer to another request. */
static atomic_uint call_next_id = 1;

/* Send one request on fd and wait for the reply with the same id; late replies (other ids) are dropped.
 * A request from the peer on this channel is a protocol violation. */
static int call_on(int fd, uint16_t type, const json_t *body, int fd_in, json_t **reply, int *fd_out,
                   int timeout_ms)
{
    uint32_t id = atomic_fetch_add(&call_next_id, 1u);
    int rc = ipc_send(fd, type, 0, id, body, fd_in);
    if (rc != 0)
        return rc;
    int64_t deadline = safecam_time_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - safecam_time_mono_ms();
        if (left < 0)
            left = 0;
        ipc_msg msg;
        rc = ipc_recv(fd, &msg, (int)left);
        if (rc != 0)
            return rc;
        if (!(msg.flags & IPC_FLAG_REPLY)) {
            ipc_msg_clear(&msg);
            return SAFECAM_ERR_PROTO;
        }
        if (msg.id != id || msg.type != type) {
            ipc_msg_clear(&msg); /* a late reply to an earlier call that timed out */
            continue;
        }
        *reply = msg.body;
        msg.body = NULL;
        if (fd_out) {
            *fd_out = msg.fd;
            msg.fd = -1;
        }
        ipc_msg_clear(&msg);
        return 0;
    }
}

/* One request/reply on a peer channel, serialised per channel. A dead channel (peer gone or protocol
 * error) is dropped until the supervisor sends a fresh one. */
static int chan_call_fd(struct chan *c, uint16_t type, const json_t *body, int fd_in, json_t **reply,
                        int *fd_out, int timeout_ms)
{
    *reply = NULL;
    if (fd_out)
        *fd_out = -1;
    struct timespec ts;
    deadline_after_ms(&ts, CLOCK_REALTIME, VAULT_LOCK_WAIT_MS);
    if (pthread_mutex_timedlock(&c->mu, &ts) != 0)
        return SAFECAM_ERR_TIMEOUT;
    pthread_mutex_lock(&c->swap_mu);
    if (c->next_fd >= 0) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = c->next_fd;
        c->next_fd = -1;
    }
    pthread_mutex_unlock(&c->swap_mu);
    int rc = SAFECAM_ERR_CLOSED;
    if (c->fd >= 0) {
        rc = call_on(c->fd, type, body, fd_in, reply, fd_out, timeout_ms);
        if (rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_PROTO || rc == SAFECAM_ERR_IO) {
            close(c->fd);
            c->fd = -1;
        }
        if (rc == 0 && !json_is_object(*reply)) {
            json_decref(*reply);
            *reply = NULL;
            rc = SAFECAM_ERR_PROTO;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* chan_call_fd without an fd to pass (fd_in: passed with SCM_RIGHTS, still the caller's afterwards). */
static int chan_call(struct chan *c, uint16_t type, const json_t *body, json_t **reply, int *fd_out,
                     int timeout_ms)
{
    return chan_call_fd(c, type, body, -1, reply, fd_out, timeout_ms);
}

static const char *jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int reply_is_ok(const json_t *reply)
{
    return json_is_true(json_object_get(reply, "ok"));
}

static int role_level(const char *role)
{
    if (!role)
        return 0;
    if (strcmp(role, "admin") == 0)
        return ROLE_ADMIN;
    if (strcmp(role, "operator") == 0)
        return ROLE_OPERATOR;
    if (strcmp(role, "viewer") == 0)
        return ROLE_VIEWER;
    return 0;
}

static int method_changes_state(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
           strcmp(m, "DELETE") == 0;
}

static int printable_ascii(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* ---------------- responses ---------------- */

static void add_security_headers(struct MHD_Response *resp, int cacheable)
{
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP_POLICY);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    MHD_add_response_header(resp, "Cache-Control", cacheable ? "no-cache" : "no-store");
}

static enum MHD_Result queue(struct req *r, unsigned status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    r->answered = 1;
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Send obj (stolen) as JSON with status. extra_name/extra_value: one more header, or NULL. */
static enum MHD_Result reply_json_h(struct req *r, unsigned status, json_t *obj, const char *extra_name,
                                    const char *extra_value)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    add_security_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (extra_name && extra_value)
        MHD_add_response_header(resp, extra_name, extra_value);
    return queue(r, status, resp);
}

static enum MHD_Result reply_json(struct req *r, unsigned status, json_t *obj)
{
    return reply_json_h(r, status, obj, NULL, NULL);
}

static enum MHD_Result reply_error(struct req *r, unsigned status, const char *code)
{
    return reply_json(r, status, json_pack("{s:s}", "error", code));
}

static enum MHD_Result reply_error_field(struct req *r, unsigned status, const char *code, const char *key,
                                         const char *value)
{
    return reply_json(r, status, json_pack("{s:s,s:s}", "error", code, key, value));
}

static enum MHD_Result reply_empty(struct req *r, unsigned status, const char *extra_name,
                                   const char *extra_value)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    add_security_headers(resp, 0);
    if (extra_name && extra_value)
        MHD_add_response_header(resp, extra_name, extra_value);
    return queue(r, status, resp);
}

static enum MHD_Result reply_unavailable(struct req *r)
{
    return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable");
}

static enum MHD_Result reply_locked(struct req *r, const json_t *reply)
{
    json_int_t ra = json_integer_value(json_object_get(reply, "retry_after"));
    if (ra < 1)
        ra = 1;
    if (ra > 86400)
        ra = 86400;
    char buf[24];
    if (safecam_fmt(buf, sizeof(buf), "%lld", (long long)ra) != 0)
        return MHD_NO;
    return reply_json_h(r, MHD_HTTP_TOO_MANY_REQUESTS,
                        json_pack("{s:s,s:I}", "error", "locked", "retry_after", (json_int_t)ra), "Retry-After",
                        buf);
}

/* Turn a vault / supervisor error reply into an answer. Only allowlisted codes and fields travel on. */
static enum MHD_Result relay_error(struct req *r, const json_t *reply)
{
    const char *code = jstr(reply, "error");
    if (!code)
        return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    if (strcmp(code, "invalid_credentials") == 0)
        return reply_error(r, MHD_HTTP_UNAUTHORIZED, "invalid_credentials");
    if (strcmp(code, "no_session") == 0)
        return reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized");
    if (strcmp(code, "locked") == 0)
        return reply_locked(r, reply);
    if (strcmp(code, "forbidden") == 0)
        return reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden");
    if (strcmp(code, "not_found") == 0)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    if (strcmp(code, "exists") == 0 || strcmp(code, "last_admin") == 0 || strcmp(code, "ca_not_installed") == 0)
        return reply_error(r, MHD_HTTP_CONFLICT, code);
    if (strcmp(code, "invalid_username") == 0 || strcmp(code, "invalid_role") == 0)
        return reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, code);
    if (strcmp(code, "password_policy") == 0) {
        json_t *reasons = json_array();
        const json_t *in = json_object_get(reply, "reasons");
        size_t i;
        const json_t *v;
        json_array_foreach(in, i, v) {
            if (i >= 32)
                break;
            if (json_is_string(v) && printable_ascii(json_string_value(v), 40))
                json_array_append_new(reasons, json_string(json_string_value(v)));
        }
        return reply_json(r, MHD_HTTP_UNPROCESSABLE_CONTENT,
                          json_pack("{s:s,s:o}", "error", "password_policy", "reasons", reasons));
    }
    if (strcmp(code, "invalid_setting") == 0) {
        json_t *out = json_pack("{s:s}", "error", "invalid_setting");
        const char *field = jstr(reply, "field");
        if (field && printable_ascii(field, 48))
            json_object_set_new(out, "field", json_string(field));
        const json_t *mn = json_object_get(reply, "min");
        const json_t *mx = json_object_get(reply, "max");
        if (json_is_number(mn))
            json_object_set_new(out, "min", json_deep_copy(mn));
        if (json_is_number(mx))
            json_object_set_new(out, "max", json_deep_copy(mx));
        return reply_json(r, MHD_HTTP_UNPROCESSABLE_CONTENT, out);
    }
    if (strcmp(code, "unknown_field") == 0) {
        const char *field = jstr(reply, "field");
        if (field && printable_ascii(field, 48))
            return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "unknown_field", "field", field);
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "unknown_field");
    }
    if (strcmp(code, "invalid_json") == 0)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json");
    /* The vault refused a value the gate let through (e.g. a password over PASSWORD_MAX_BYTES): the
     * client's fault, never a 500. */
    if (strcmp(code, "invalid_request") == 0) {
        const char *field = jstr(reply, "field");
        if (field && printable_ascii(field, 48))
            return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "field", field);
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field");
    }
    if (strcmp(code, "too_many_users") == 0)
        return reply_error(r, MHD_HTTP_CONFLICT, "too_many_users");
    if (strcmp(code, "invalid_type") == 0)
        return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", "type");
    if (strcmp(code, "unavailable") == 0)
        return reply_unavailable(r);
    return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
}

/* ---------------- vault helpers ---------------- */

static int vault_call(struct req *r, uint16_t type, const json_t *body, json_t **reply)
{
    return chan_call(&r->srv->vault, type, body, reply, NULL, VAULT_TIMEOUT_MS);
}

static void set_session_cookie_value(char *out, size_t out_size, const char *id)
{
    if (safecam_fmt(out, out_size, "%s=%s%s", HTTP_SESSION_COOKIE, id, SESSION_COOKIE_ATTRS) != 0)
        out[0] = '\0';
}

static const char *header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The session id from the Cookie header: 0 and filled, SAFECAM_ERR_NOTFOUND (none or malformed),
 * SAFECAM_ERR_INVAL (cookie tossing: our cookie twice). */
static int session_cookie(struct req *r, char out[HTTP_TOKEN_HEX_BYTES + 1])
{
    out[0] = '\0';
    const char *ck = header(r, MHD_HTTP_HEADER_COOKIE);
    if (!ck)
        return SAFECAM_ERR_NOTFOUND;
    char val[HTTP_TOKEN_HEX_BYTES + 8];
    int rc = http_cookie_find(ck, strlen(ck), HTTP_SESSION_COOKIE, val, sizeof(val));
    if (rc == SAFECAM_ERR_INVAL)
        return rc;
    if (rc != 0 || !http_token_hex_valid(val, strlen(val)))
        return SAFECAM_ERR_NOTFOUND;
    memcpy(out, val, HTTP_TOKEN_HEX_BYTES + 1);
    sodium_memzero(val, sizeof(val));
    return 0;
}

static void audit_record(struct req *r, const char *type, const char *detail)
{
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "actor", r->username, "source", r->source,
                             "detail", detail);
    json_t *reply = NULL;
    if (body && vault_call(r, PROTO_VAULT_AUDIT_RECORD, body, &reply) != 0)
        log_warn("audit record %s not stored: vault unreachable", type);
    json_decref(reply);
    json_decref(body);
}

/* ---------------- handlers ---------------- */

static const char *const roles_enum[] = {"admin", "operator", "viewer", NULL};

static const struct http_field login_schema[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 64, NULL},
    {"password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
};

static int parse_body(struct req *r, const struct http_field *schema, size_t n, json_t **out)
{
    struct http_body_error err;
    int rc = http_json_body_parse(r->body ? r->body : "", r->body_len, r->route->body_max, schema, n, out, &err);
    if (rc == 0)
        return 0;
    if (rc == SAFECAM_ERR_TOOBIG)
        reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large");
    else if (err.field[0])
        reply_error_field(r, MHD_HTTP_BAD_REQUEST, err.code, "field", err.field);
    else
        reply_error(r, MHD_HTTP_BAD_REQUEST, err.code ? err.code : "invalid_json");
    return rc;
}

static enum MHD_Result h_login(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, login_schema, SAFECAM_ARRAY_LEN(login_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *body = json_pack("{s:O,s:O,s:s}", "username", json_object_get(in, "username"), "password",
                             json_object_get(in, "password"), "source", r->source);
    json_t *reply = NULL;
    int rc = body ? vault_call(r, PROTO_VAULT_LOGIN, body, &reply) : SAFECAM_ERR_NOMEM;
    http_json_wipe(body);
    http_json_wipe(in);
    enum MHD_Result ret;
    if (rc != 0) {
        ret = reply_unavailable(r);
        goto out;
    }
    if (!reply_is_ok(reply)) {
        ret = relay_error(r, reply);
        goto out;
    }
    const char *sid = jstr(reply, "session_id");
    const char *csrf = jstr(reply, "csrf_token");
    const char *user = jstr(reply, "username");
    const char *role = jstr(reply, "role");
    if (!sid || !csrf || !http_token_hex_valid(sid, strlen(sid)) || !http_token_hex_valid(csrf, strlen(csrf))) {
        ret = reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        goto out;
    }
    /* A session presented with the login is ended: the new id replaces it (no fixation). */
    char old[HTTP_TOKEN_HEX_BYTES + 1];
    if (session_cookie(r, old) == 0 && strcmp(old, sid) != 0) {
        json_t *end = json_pack("{s:s,s:s}", "session_id", old, "source", r->source);
        json_t *er = NULL;
        if (end && vault_call(r, PROTO_VAULT_SESSION_END, end, &er) != 0)
            log_warn("could not end the previous session at login");
        json_decref(er);
        json_decref(end);
    }
    sodium_memzero(old, sizeof(old));
    char cookie[160];
    set_session_cookie_value(cookie, sizeof(cookie), sid);
    json_t *out = json_pack("{s:s,s:b}", "csrf_token", csrf, "password_change_required",
                            json_is_true(json_object_get(reply, "password_change_required")));
    if (out && user && printable_ascii(user, 64))
        json_object_set_new(out, "username", json_string(user));
    if (out && role && printable_ascii(role, 16))
        json_object_set_new(out, "role", json_string(role));
    ret = reply_json_h(r, MHD_HTTP_OK, out, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    sodium_memzero(cookie, sizeof(cookie));
out:
    http_json_wipe(reply);
    return ret;
}

static enum MHD_Result h_session_get(struct req *r)
{
    json_t *out = json_pack("{s:s,s:s,s:b}", "username", r->username, "role", r->role,
                            "password_change_required", r->pw_change);
    if (out && r->csrf_echo[0])
        json_object_set_new(out, "csrf_token", json_string(r->csrf_echo));
    return reply_json(r, MHD_HTTP_OK, out);
}

static enum MHD_Result h_logout(struct req *r)
{
    json_t *body = json_pack("{s:s,s:s}", "session_id", r->session_id, "source", r->source);
    json_t *reply = NULL;
    int rc = body ? vault_call(r, PROTO_VAULT_SESSION_END, body, &reply) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    enum MHD_Result ret;
    if (rc != 0)
        ret = reply_unavailable(r);
    else if (!reply_is_ok(reply))
        ret = relay_error(r, reply);
    else
        ret = reply_empty(r, MHD_HTTP_NO_CONTENT, MHD_HTTP_HEADER_SET_COOKIE,
                          HTTP_SESSION_COOKIE "=" SESSION_COOKIE_ATTRS "; Max-Age=0");
    json_decref(reply);
    return ret;
}

static const struct http_field password_schema[] = {
    {"current_password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
    {"new_password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
};

static enum MHD_Result h_password(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, password_schema, SAFECAM_ARRAY_LEN(password_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *body = json_pack("{s:s,s:s,s:O,s:O,s:s}", "session_id", r->session_id, "username", r->param,
                             "current_password", json_object_get(in, "current_password"), "new_password",
                             json_object_get(in, "new_password"), "source", r->source);
    json_t *reply = NULL;
    int rc = body ? vault_call(r, PROTO_VAULT_PASSWORD_CHANGE, body, &reply) : SAFECAM_ERR_NOMEM;
    http_json_wipe(body);
    http_json_wipe(in);
    enum MHD_Result ret;
    if (rc != 0)
        ret = reply_unavailable(r);
    else if (!reply_is_ok(reply))
        ret = relay_error(r, reply);
    else
        ret = reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(reply);
    return ret;
}

/* A vault call that needs only the session id (+ extra fields), answered with a transform of the
 * reply. fields: object to merge into the request (stolen, may be NULL). */
static int vault_session_call(struct req *r, uint16_t type, json_t *fields, json_t **reply)
{
    json_t *body = json_pack("{s:s}", "session_id", r->session_id);
    if (!body) {
        json_decref(fields);
        return SAFECAM_ERR_NOMEM;
    }
    if (fields)
        json_object_update(body, fields);
    int rc = vault_call(r, type, body, reply);
    http_json_wipe(fields);
    http_json_wipe(body);
    return rc;
}

static enum MHD_Result h_users_list(struct req *r)
{
    json_t *reply = NULL;
    if (vault_session_call(r, PROTO_VAULT_USER_LIST, NULL, &reply) != 0)
        return reply_unavailable(r);
    enum MHD_Result ret;
    if (!reply_is_ok(reply)) {
        ret = relay_error(r, reply);
    } else {
        /* Allowlist the fields that leave the device: never anything but name, role, flag. */
        json_t *users = json_array();
        size_t i;
        json_t *u;
        json_array_foreach(json_object_get(reply, "users"), i, u) {
            const char *name = jstr(u, "username");
            const char *role = jstr(u, "role");
            if (!name || !role)
                continue;
            json_array_append_new(users, json_pack("{s:s,s:s,s:b}", "username", name, "role", role,
                                                   "password_change_required",
                                                   json_is_true(json_object_get(u, "password_change_required"))));
        }
        ret = reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "users", users));
    }
    json_decref(reply);
    return ret;
}

static const struct http_field user_create_schema[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 32, NULL},
    {"password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
    {"role", HTTP_FIELD_STRING, 1, 1, 16, roles_enum},
};

static enum MHD_Result h_user_create(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, user_create_schema, SAFECAM_ARRAY_LEN(user_create_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char name[64];
    char role[16];
    if (safecam_strlcpy(name, jstr(in, "username"), sizeof(name)) != 0 ||
        safecam_strlcpy(role, jstr(in, "role"), sizeof(role)) != 0) {
        http_json_wipe(in);
        return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "field", "username");
    }
    json_t *reply = NULL;
    int rc = vault_session_call(r, PROTO_VAULT_USER_CREATE, in, &reply);
    enum MHD_Result ret;
    if (rc != 0)
        ret = reply_unavailable(r);
    else if (!reply_is_ok(reply))
        ret = relay_error(r, reply);
    else
        ret = reply_json(r, MHD_HTTP_CREATED, json_pack("{s:s,s:s}", "username", name, "role", role));
    json_decref(reply);
    return ret;
}

static const struct http_field user_update_schema[] = {
    {"role", HTTP_FIELD_STRING, 1, 1, 16, roles_enum},
};

static enum MHD_Result h_user_update(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, user_update_schema, SAFECAM_ARRAY_LEN(user_update_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char role[16];
    if (safecam_strlcpy(role, jstr(in, "role"), sizeof(role)) != 0) {
        json_decref(in);
        return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "field", "role");
    }
    json_object_set_new(in, "username", json_string(r->param));
    json_t *reply = NULL;
    int rc = vault_session_call(r, PROTO_VAULT_USER_UPDATE, in, &reply);
    enum MHD_Result ret;
    if (rc != 0)
        ret = reply_unavailable(r);
    else if (!reply_is_ok(reply))
        ret = relay_error(r, reply);
    else
        ret = reply_json(r, MHD_HTTP_OK, json_pack("{s:s,s:s}", "username", r->param, "role", role));
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_user_delete(struct req *r)
{
    json_t *reply = NULL;
    int rc = vault_session_call(r, PROTO_VAULT_USER_DELETE, json_pack("{s:s}", "username", r->param), &reply);
    enum MHD_Result ret;
    if (rc != 0)
        ret = reply_unavailable(r);
    else if (!reply_is_ok(reply))
        ret = relay_error(r, reply);
    else
        ret = reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(reply);
    return ret;
}

static const char *const security_setting_keys[] = {
    "lockout_threshold", "lockout_window_s", "lockout_duration_s", "account_hourly_limit",
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
    json_t *reply = NULL;
    if (vault_session_call(r, PROTO_VAULT_SETTINGS_GET, NULL, &reply) != 0)
        return reply_unavailable(r);
    enum MHD_Result ret;
    if (!reply_is_ok(reply)) {
        ret = relay_error(r, reply);
    } else {
        json_t *out = json_object();
        const json_t *s = json_object_get(reply, "settings");
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(security_setting_keys); i++) {
            const json_t *v = json_object_get(s, security_setting_keys[i]);
            if (json_is_integer(v))
                json_object_set_new(out, security_setting_keys[i], json_integer(json_integer_value(v)));
        }
        ret = reply_json(r, MHD_HTTP_OK, out);
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_security_put(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, security_schema, SAFECAM_ARRAY_LEN(security_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *reply = NULL;
    int rc = vault_session_call(r, PROTO_VAULT_SETTINGS_SET, json_pack("{s:o}", "settings", in), &reply);
    enum MHD_Result ret;
    if (rc != 0)
        ret = reply_unavailable(r);
    else if (!reply_is_ok(reply))
        ret = relay_error(r, reply);
    else
        ret = reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(reply);
    return ret;
}

static int query_long(struct req *r, const char *key, long min, long max, long *out, int *present)
{
    const char *v = http_query_get(&r->query, key);
    *present = v != NULL;
    if (!v)
        return 0;
    return safecam_parse_long(v, min, max, out);
}

static enum MHD_Result h_events(struct req *r)
{
    static const char *const keys[] = {"since", "until", "limit"};
    static const long mins[] = {0, 0, 1};
    static const long maxs[] = {4102444800L, 4102444800L, 1000};
    json_t *fields = json_object();
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(keys); i++) {
        long v = 0;
        int present = 0;
        if (query_long(r, keys[i], mins[i], maxs[i], &v, &present) != 0) {
            json_decref(fields);
            return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", keys[i]);
        }
        if (present)
            json_object_set_new(fields, keys[i], json_integer(v));
    }
    const char *type = http_query_get(&r->query, "type");
    if (type) {
        size_t n = strlen(type);
        int ok = n > 0 && n <= 32;
        for (size_t i = 0; ok && i < n; i++)
            ok = (type[i] >= 'a' && type[i] <= 'z') || type[i] == '_';
        if (!ok) {
            json_decref(fields);
            return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", "type");
        }
        json_object_set_new(fields, "type", json_string(type));
    }
    json_t *reply = NULL;
    if (vault_session_call(r, PROTO_VAULT_AUDIT_QUERY, fields, &reply) != 0)
        return reply_unavailable(r);
    enum MHD_Result ret;
    if (!reply_is_ok(reply)) {
        ret = relay_error(r, reply);
    } else {
        json_t *events = json_object_get(reply, "events");
        ret = reply_json(r, MHD_HTTP_OK, json_pack("{s:O}", "events", json_is_array(events) ? events : json_array()));
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_device(struct req *r)
{
    struct device_identity id;
    memset(&id, 0, sizeof(id));
    if (device_identity_load(r->srv->state_dir, &id) != 0)
        return reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "model", id.model, "serial", id.serial, "mac", id.mac,
                            "firmware_version", SAFECAM_VERSION, "product", id.product[0] ? id.product : "safecam",
                            "api_version", 1, "support_until", SAFECAM_SUPPORT_UNTIL);
    if (out)
        http_update_device_fields(r->srv->update, out); /* slots A/B and the running one */
    return reply_json(r, MHD_HTTP_OK, out);
}

static int host_header_safe(const char *h)
{
    if (!h)
        return 0;
    size_t n = strnlen(h, 256);
    if (n == 0 || n >= 256)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == ':' || c == '[' || c == ']'))
            return 0;
    }
    return 1;
}

/* RFC 9116. Expires is computed at run time, one year ahead. */
static enum MHD_Result h_security_txt(struct req *r)
{
    char expires[32];
    if (safecam_time_rfc3339(safecam_time_now() + 365LL * 24 * 3600, expires, sizeof(expires)) != 0)
        return MHD_NO;
    const char *host = header(r, MHD_HTTP_HEADER_HOST);
    char hostbuf[300];
    if (!host_header_safe(host)) {
        int v6 = strchr(r->srv->bind_addr, ':') != NULL;
        if (safecam_fmt(hostbuf, sizeof(hostbuf), v6 ? "[%s]:%u" : "%s:%u", r->srv->bind_addr, r->srv->port) != 0)
            return MHD_NO;
        host = hostbuf;
    }
    char text[1024];
    if (safecam_fmt(text, sizeof(text),
                    "Contact: mailto:security@safecam.invalid\n"
                    "Expires: %s\n"
                    "Policy: https://safecam.invalid/SECURITY.md\n"
                    "Preferred-Languages: vi, en\n"
                    "Canonical: https://%s/.well-known/security.txt\n",
                    expires, host) != 0)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    add_security_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    return queue(r, MHD_HTTP_OK, resp);
}

/* ---- media proxy ---- */

struct fd_stream {
    http_server *srv;
    int fd;
    uint64_t max_bytes; /* 0 = unbounded (live) */
};

static ssize_t fd_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct fd_stream *st = cls;
    if (st->max_bytes && pos >= st->max_bytes)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    int waited = 0;
    for (;;) {
        if (atomic_load(&st->srv->stopping))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        struct pollfd pfd = {.fd = st->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, STREAM_POLL_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (pr == 0) {
            waited += STREAM_POLL_MS;
            if (waited >= STREAM_IDLE_MAX_MS)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        ssize_t n = read(st->fd, buf, max);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        return n;
    }
}

static void fd_stream_free(void *cls)
{
    struct fd_stream *st = cls;
    if (st->fd >= 0)
        close(st->fd);
    free(st);
}

static enum MHD_Result reply_stream(struct req *r, int fd, const char *ctype, uint64_t max_bytes)
{
    struct fd_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        close(fd);
        return MHD_NO;
    }
    st->srv = r->srv;
    st->fd = fd;
    st->max_bytes = max_bytes;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, fd_stream_read, st, fd_stream_free);
    if (!resp) {
        fd_stream_free(st);
        return MHD_NO;
    }
    add_security_headers(resp, 0);
    MHD_add_response_header(resp, "Content-Type", ctype);
    return queue(r, MHD_HTTP_OK, resp);
}

static int media_ctype_ok(const char *ct, const char *prefix)
{
    if (!ct || strncmp(ct, prefix, strlen(prefix)) != 0 || !printable_ascii(ct, 128))
        return 0;
    for (const char *p = ct; *p; p++)
        if (*p == '\r' || *p == '\n')
            return 0;
    return 1;
}

static enum MHD_Result h_snapshot(struct req *r)
{
    json_t *body = json_pack("{s:s}", "session_id", r->session_id);
    json_t *reply = NULL;
    int fd = -1;
    int rc = body ? chan_call(&r->srv->media, PROTO_MEDIA_SNAPSHOT, body, &reply, &fd, MEDIA_TIMEOUT_MS)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    enum MHD_Result ret;
    if (rc != 0 || !reply_is_ok(reply) || fd < 0 || !media_ctype_ok(jstr(reply, "content_type"), "image/jpeg")) {
        if (fd >= 0)
            close(fd);
        ret = reply_unavailable(r);
    } else {
        ret = reply_stream(r, fd, "image/jpeg", SNAPSHOT_MAX_BYTES);
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_live(struct req *r)
{
    const char *stream = http_query_get(&r->query, "stream");
    if (!stream)
        stream = "main";
    if (strcmp(stream, "main") != 0 && strcmp(stream, "sub") != 0)
        return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", "stream");
    json_t *body = json_pack("{s:s}", "stream", stream);
    json_t *reply = NULL;
    int fd = -1;
    int rc = body ? chan_call(&r->srv->media, PROTO_MEDIA_LIVE_OPEN, body, &reply, &fd, MEDIA_TIMEOUT_MS)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    enum MHD_Result ret;
    const char *ct = jstr(reply, "content_type");
    if (rc != 0 || !reply_is_ok(reply) || fd < 0 || !media_ctype_ok(ct, "video/mp4")) {
        if (fd >= 0)
            close(fd);
        ret = reply_unavailable(r);
    } else {
        ret = reply_stream(r, fd, ct, 0);
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_stream_get(struct req *r)
{
    json_t *body = json_object();
    json_t *reply = NULL;
    int rc = body ? chan_call(&r->srv->media, PROTO_MEDIA_STATUS, body, &reply, NULL, MEDIA_TIMEOUT_MS)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    enum MHD_Result ret;
    if (rc != 0 || !reply_is_ok(reply)) {
        ret = reply_unavailable(r);
    } else {
        /* The stream object and the scalar status fields (state, source, client counts) pass on. */
        json_t *out = json_object();
        const char *key;
        json_t *val;
        json_object_foreach(reply, key, val) {
            if (strcmp(key, "ok") == 0 || !printable_ascii(key, 32))
                continue;
            if ((strcmp(key, "stream") == 0 && json_is_object(val)) || json_is_integer(val) || json_is_boolean(val) ||
                (json_is_string(val) && printable_ascii(json_string_value(val), 64)))
                json_object_set_new(out, key, json_deep_copy(val));
        }
        ret = reply_json(r, MHD_HTTP_OK, out);
    }
    json_decref(reply);
    return ret;
}

/* web -> supervisor: the supervisor socket has one reader (the caller's thread); the reply comes back
 * through http_server_sup_reply(). */
static int sup_call(http_server *srv, uint16_t type, const json_t *body, json_t **reply, int timeout_ms)
{
    *reply = NULL;
    struct timespec ts;
    deadline_after_ms(&ts, CLOCK_REALTIME, timeout_ms);
    if (pthread_mutex_timedlock(&srv->sup_call_mu, &ts) != 0)
        return SAFECAM_ERR_TIMEOUT;
    uint32_t id = atomic_fetch_add(&srv->sup_next_id, 1u);
    pthread_mutex_lock(&srv->sup_mu);
    srv->sup_wait_id = id;
    srv->sup_wait_type = type;
    srv->sup_waiting = 1;
    srv->sup_reply = NULL;
    pthread_mutex_unlock(&srv->sup_mu);
    int rc = ipc_send(srv->sup_fd, type, 0, id, body, -1);
    pthread_mutex_lock(&srv->sup_mu);
    if (rc == 0) {
        deadline_after_ms(&ts, CLOCK_MONOTONIC, timeout_ms);
        while (!srv->sup_reply) {
            int w = pthread_cond_timedwait(&srv->sup_cv, &srv->sup_mu, &ts);
            if (w == ETIMEDOUT) {
                rc = SAFECAM_ERR_TIMEOUT;
                break;
            }
        }
        if (srv->sup_reply) {
            *reply = srv->sup_reply;
            srv->sup_reply = NULL;
            rc = 0;
        }
    }
    srv->sup_waiting = 0;
    pthread_mutex_unlock(&srv->sup_mu);
    pthread_mutex_unlock(&srv->sup_call_mu);
    if (rc == 0 && !json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        rc = SAFECAM_ERR_PROTO;
    }
    return rc;
}

void http_server_sup_reply(http_server *srv, ipc_msg *msg)
{
    if (!srv || !msg)
        return;
    pthread_mutex_lock(&srv->sup_mu);
    if (srv->sup_waiting && !srv->sup_reply && msg->id == srv->sup_wait_id && msg->type == srv->sup_wait_type &&
        (msg->flags & IPC_FLAG_REPLY)) {
        srv->sup_reply = msg->body;
        msg->body = NULL;
        pthread_cond_broadcast(&srv->sup_cv);
    }
    pthread_mutex_unlock(&srv->sup_mu);
    ipc_msg_clear(msg);
}

/* Ask the supervisor (body consumed, may be NULL after a failed json_pack). Returns its {"ok":true}
 * reply (caller decrefs); otherwise NULL with the request already answered in *ret: 503 unavailable
 * when the supervisor does not answer in time, else its error code through relay_error(). */
static json_t *sup_relay(struct req *r, uint16_t type, json_t *body, enum MHD_Result *ret)
{
    json_t *reply = NULL;
    int rc = body ? sup_call(r->srv, type, body, &reply, SUP_TIMEOUT_MS) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0) {
        *ret = reply_unavailable(r);
        return NULL;
    }
    if (!reply_is_ok(reply)) {
        *ret = relay_error(r, reply);
        json_decref(reply);
        return NULL;
    }
    return reply;
}

/* Privacy notice state kept by the supervisor in config.json (QCVN 135 G7 / Decision 724). */
static enum MHD_Result privacy_relay(struct req *r, uint16_t type, json_t *body)
{
    enum MHD_Result ret;
    json_t *reply = sup_relay(r, type, body, &ret);
    if (!reply)
        return ret;
    if (type == PROTO_SUP_PRIVACY_SET)
        audit_record(r, "config_change", "privacy notice settings");
    ret = reply_json(r, MHD_HTTP_OK, json_pack("O", json_object_get(reply, "privacy")));
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
    if (parse_body(r, NULL, 0, &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    return privacy_relay(r, PROTO_SUP_PRIVACY_SET, json_pack("{s:o}", "privacy", in));
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
    json_object_foreach((json_t *)obj, key, val) {
        size_t kl = strlen(key);
        if (dl + kl + 2 < out_size && printable_ascii(key, 32)) {
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
    json_t *reply = sup_relay(r, type, body, &ret);
    if (!reply)
        return ret;
    const json_t *u = json_object_get(reply, "update");
    if (!json_is_object(u))
        ret = reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    else {
        if (detail)
            audit_record(r, "config_change", detail);
        json_t *out = json_object();
        static const char *const keys[] = {"online_enabled", "server_url", "auto_install", "check_interval_s",
                                           "ca_installed"};
        for (size_t i = 0; out && i < SAFECAM_ARRAY_LEN(keys); i++) {
            const json_t *v = json_object_get(u, keys[i]);
            if (json_is_boolean(v) || json_is_integer(v) ||
                (json_is_string(v) && (json_string_length(v) == 0 || printable_ascii(json_string_value(v), 255))))
                json_object_set_new(out, keys[i], json_deep_copy(v));
        }
        ret = reply_json(r, MHD_HTTP_OK, out);
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
    if (parse_body(r, update_settings_schema, SAFECAM_ARRAY_LEN(update_settings_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char detail[128];
    audit_detail_keys("update settings:", in, detail, sizeof(detail));
    return update_settings_relay(r, PROTO_SUP_UPDATE_CONFIG_SET, json_pack("{s:o}", "update", in), detail);
}

static enum MHD_Result h_stream_put(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, NULL, 0, &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char detail[256];
    audit_detail_keys("stream settings:", in, detail, sizeof(detail));
    enum MHD_Result ret;
    json_t *reply = sup_relay(r, PROTO_SUP_MEDIA_CONFIG, json_pack("{s:o}", "stream", in), &ret);
    if (!reply)
        return ret;
    audit_record(r, "config_change", detail);
    const json_t *stream = json_object_get(reply, "stream");
    if (json_is_object(stream))
        ret = reply_json(r, MHD_HTTP_OK, json_pack("{s:O}", "stream", stream));
    else
        ret = reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_static(struct req *r)
{
    const struct static_file *f = r->file;
    if (!f)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    struct MHD_Response *resp = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    add_security_headers(resp, 1);
    MHD_add_response_header(resp, "Content-Type", f->ctype);
    return queue(r, MHD_HTTP_OK, resp);
}

/* ---- factory reset (QCVN 135 G9 / EN 303 645 5.11-1) ---- */

static const struct http_field confirm_schema[] = {
    {"confirm", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
};

/* Parse {"confirm": true}: 0 when confirmed; otherwise answered (400 confirmation_required, or the body
 * error) and -1. A destructive request without an explicit confirmation changes nothing. */
static int confirm_parse(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, confirm_schema, SAFECAM_ARRAY_LEN(confirm_schema), &in) != 0)
        return -1;
    int ok = json_is_true(json_object_get(in, "confirm"));
    json_decref(in);
    if (!ok) {
        reply_error(r, MHD_HTTP_BAD_REQUEST, "confirmation_required");
        return -1;
    }
    return 0;
}

static enum MHD_Result h_factory_reset(struct req *r)
{
    if (confirm_parse(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    enum MHD_Result ret;
    json_t *reply = sup_relay(r, PROTO_SUP_FACTORY_RESET,
                              json_pack("{s:s, s:s}", "actor", r->username, "source", r->source), &ret);
    if (!reply)
        return ret;
    json_decref(reply);
    return reply_json(r, MHD_HTTP_ACCEPTED,
                      json_pack("{s:s, s:s}", "state", "resetting", "message",
                                "Erasing all data and keys; the camera restarts with the label's initial password"));
}

/* ---- captures: stored snapshots, the user's data (capture_routes.c; QCVN 135 G9, G10) ---- */

static enum MHD_Result reply_capture_refusal(struct req *r, int rc, const json_t *reply)
{
    if (rc != 0)
        return reply_unavailable(r);
    json_t *out = NULL;
    unsigned st = http_capture_error(reply, &out);
    return st ? reply_json(r, st, out) : relay_error(r, reply);
}

/* A vault capture call on the admin's behalf: {"session_id","actor","source"} + fields (stolen). */
static int capture_vault_call(struct req *r, uint16_t type, json_t *fields, int fd_in, json_t **reply, int *fd_out)
{
    json_t *body = json_pack("{s:s}", "session_id", r->session_id);
    if (body && fields)
        json_object_update(body, fields);
    json_decref(fields);
    if (body && type != PROTO_VAULT_CAPTURE_LIST && type != PROTO_VAULT_CAPTURE_GET) {
        json_object_set_new(body, "actor", json_string(r->username));
        json_object_set_new(body, "source", json_string(r->source));
    }
    int rc = body ? chan_call_fd(&r->srv->vault, type, body, fd_in, reply, fd_out, HTTP_CAPTURE_VAULT_TIMEOUT_MS)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    return rc;
}

/* POST /api/v1/captures {}: a snapshot from media (as h_snapshot), spooled into a memfd, sealed by the vault. */
static enum MHD_Result h_capture_create(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, login_schema, 0, &in) != 0) /* {} only */
        return r->answered ? MHD_YES : MHD_NO;
    json_decref(in);
    json_t *body = json_pack("{s:s}", "session_id", r->session_id);
    json_t *reply = NULL;
    int fd = -1, mfd = -1;
    int rc = body ? chan_call(&r->srv->media, PROTO_MEDIA_SNAPSHOT, body, &reply, &fd, MEDIA_TIMEOUT_MS)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0 || !reply_is_ok(reply) || fd < 0 || !media_ctype_ok(jstr(reply, "content_type"), "image/jpeg"))
        rc = SAFECAM_ERR_CLOSED;
    else
        rc = http_capture_spool(fd, HTTP_CAPTURE_MAX_BYTES, MEDIA_TIMEOUT_MS, &mfd);
    if (fd >= 0)
        close(fd);
    json_decref(reply);
    reply = NULL;
    if (rc == SAFECAM_ERR_TOOBIG)
        return reply_error(r, MHD_HTTP_INSUFFICIENT_STORAGE, "too_large");
    if (rc != 0)
        return reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
    rc = capture_vault_call(r, PROTO_VAULT_CAPTURE_STORE, NULL, mfd, &reply, NULL);
    close(mfd);
    enum MHD_Result ret;
    if (rc != 0 || !reply_is_ok(reply)) {
        ret = reply_capture_refusal(r, rc, reply);
    } else {
        json_t *out = NULL;
        unsigned st = http_capture_store_answer(reply, &out);
        ret = reply_json(r, st, out);
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_captures_list(struct req *r)
{
    json_t *reply = NULL;
    int rc = capture_vault_call(r, PROTO_VAULT_CAPTURE_LIST, NULL, -1, &reply, NULL);
    enum MHD_Result ret;
    if (rc != 0 || !reply_is_ok(reply)) {
        ret = reply_capture_refusal(r, rc, reply);
    } else {
        json_t *out = NULL;
        unsigned st = http_capture_list_answer(reply, &out);
        ret = reply_json(r, st, out);
    }
    json_decref(reply);
    return ret;
}

/* GET /api/v1/captures/{id}: the JPEG the vault unsealed into a memfd, as a download. */
static enum MHD_Result h_capture_get(struct req *r)
{
    char disposition[96];
    if (!http_capture_id_valid(r->param) || http_capture_disposition(r->param, disposition, sizeof(disposition)) != 0)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    json_t *reply = NULL;
    int fd = -1;
    uint64_t size = 0;
    int rc = capture_vault_call(r, PROTO_VAULT_CAPTURE_GET, json_pack("{s:s}", "id", r->param), -1, &reply, &fd);
    enum MHD_Result ret;
    if (rc != 0 || !reply_is_ok(reply)) {
        ret = reply_capture_refusal(r, rc, reply);
    } else if (http_capture_fd_check(fd, reply, &size) != 0) {
        ret = reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    } else {
        struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd); /* owns fd from here */
        fd = -1;
        if (resp) {
            add_security_headers(resp, 0);
            MHD_add_response_header(resp, "Content-Type", "image/jpeg");
            MHD_add_response_header(resp, "Content-Disposition", disposition);
        }
        ret = queue(r, MHD_HTTP_OK, resp);
    }
    if (fd >= 0)
        close(fd);
    json_decref(reply);
    return ret;
}

/* DELETE /api/v1/captures/{id} and /api/v1/captures (all), {"confirm":true} required. */
static enum MHD_Result capture_delete(struct req *r, const char *id)
{
    if (confirm_parse(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *fields = id ? json_pack("{s:s}", "id", id) : json_pack("{s:b}", "all", 1);
    json_t *reply = NULL;
    int rc = capture_vault_call(r, PROTO_VAULT_CAPTURE_DELETE, fields, -1, &reply, NULL);
    enum MHD_Result ret;
    if (rc != 0 || !reply_is_ok(reply)) {
        ret = reply_capture_refusal(r, rc, reply);
    } else {
        json_t *out = NULL;
        unsigned st = http_capture_delete_answer(reply, id, &out);
        ret = reply_json(r, st, out);
    }
    json_decref(reply);
    return ret;
}

static enum MHD_Result h_capture_delete(struct req *r)
{
    if (!http_capture_id_valid(r->param))
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    return capture_delete(r, r->param);
}

static enum MHD_Result h_captures_delete_all(struct req *r)
{
    return capture_delete(r, NULL);
}

/* ---- firmware updates (update_routes.c) ---- */

static enum MHD_Result h_update_get(struct req *r)
{
    json_t *out = NULL;
    unsigned st = http_update_status_get(r->srv->update, &out);
    return reply_json(r, st, out);
}

static enum MHD_Result h_update_check(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, login_schema, 0, &in) != 0) /* {} only */
        return r->answered ? MHD_YES : MHD_NO;
    json_decref(in);
    json_t *out = NULL;
    unsigned st = http_update_check(r->srv->update, r->username, r->source, &out);
    return reply_json(r, st, out);
}

static enum MHD_Result h_update_apply(struct req *r)
{
    json_t *in = NULL;
    if (parse_body(r, login_schema, 0, &in) != 0) /* {} only */
        return r->answered ? MHD_YES : MHD_NO;
    json_decref(in);
    json_t *out = NULL;
    unsigned st = http_update_apply(r->srv->update, r->username, r->source, &out);
    return reply_json(r, st, out);
}

/* R_STREAM: the first call (after the gate) opens the relay, each chunk goes straight on, the last call
 * answers with the verdict. MHD cannot answer mid-body: after a refusal the rest is discarded. */
static enum MHD_Result h_update_upload(struct req *r, const char *data, size_t *size, int first)
{
    json_t *out = NULL;
    if (first) {
        unsigned st = http_update_upload_begin(r->srv->update, header(r, MHD_HTTP_HEADER_CONTENT_TYPE),
                                               header(r, MHD_HTTP_HEADER_CONTENT_LENGTH),
                                               header(r, MHD_HTTP_HEADER_EXPECT), r->username, r->source,
                                               &r->upload, &out);
        return st ? reply_json(r, st, out) : MHD_YES;
    }
    if (*size > 0) {
        http_update_upload_data(r->upload, data, *size);
        *size = 0;
        return MHD_YES;
    }
    unsigned st = http_update_upload_finish(r->upload, &out);
    return reply_json(r, st, out);
}

/* ---------------- the route table (deny by default: what is not here does not exist) ---------------- */

static const char *const events_keys[] = {"since", "until", "type", "limit", NULL};
static const char *const live_keys[] = {"stream", NULL};

static const struct route routes[] = {
    {"POST", "/api/v1/session", ROLE_PUBLIC, R_PUBLIC | R_NO_CSRF | R_BODY, 2048, NULL, h_login},
    {"GET", "/api/v1/session", ROLE_VIEWER, R_PWCHANGE_OK, 0, NULL, h_session_get},
    {"DELETE", "/api/v1/session", ROLE_VIEWER, R_PWCHANGE_OK, 0, NULL, h_logout},
    {"PUT", "/api/v1/users/{name}/password", ROLE_VIEWER, R_PWCHANGE_OK | R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL,
     h_password},
    {"GET", "/api/v1/users", ROLE_ADMIN, 0, 0, NULL, h_users_list},
    {"POST", "/api/v1/users", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_user_create},
    {"PATCH", "/api/v1/users/{name}", ROLE_ADMIN, R_BODY, 1024, NULL, h_user_update},
    {"DELETE", "/api/v1/users/{name}", ROLE_ADMIN, 0, 0, NULL, h_user_delete},
    {"GET", "/api/v1/settings/security", ROLE_ADMIN, 0, 0, NULL, h_security_get},
    {"PUT", "/api/v1/settings/security", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_security_put},
    {"GET", "/api/v1/settings/stream", ROLE_VIEWER, 0, 0, NULL, h_stream_get},
    {"PUT", "/api/v1/settings/stream", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_stream_put},
    {"GET", "/api/v1/settings/privacy", ROLE_VIEWER, 0, 0, NULL, h_privacy_get},
    {"PUT", "/api/v1/settings/privacy", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_privacy_put},
    {"GET", "/api/v1/settings/update", ROLE_ADMIN, 0, 0, NULL, h_update_settings_get},
    {"PUT", "/api/v1/settings/update", ROLE_ADMIN, R_BODY, 1024, NULL, h_update_settings_put},
    {"GET", "/api/v1/events", ROLE_ADMIN, 0, 0, events_keys, h_events},
    {"GET", "/api/v1/device", ROLE_VIEWER, 0, 0, NULL, h_device},
    {"GET", "/api/v1/video/snapshot.jpg", ROLE_VIEWER, 0, 0, NULL, h_snapshot},
    {"GET", "/api/v1/video/live.mp4", ROLE_VIEWER, 0, 0, live_keys, h_live},
    {"GET", "/.well-known/security.txt", ROLE_PUBLIC, R_PUBLIC, 0, NULL, h_security_txt},
    {"GET", "/api/v1/system/update", ROLE_ADMIN, 0, 0, NULL, h_update_get},
    {"POST", "/api/v1/system/update", ROLE_ADMIN, R_STREAM, (size_t)UPDATE_BUNDLE_MAX_BYTES_DEFAULT, NULL, NULL},
    {"POST", "/api/v1/system/update/check", ROLE_ADMIN, R_BODY, 64, NULL, h_update_check},
    {"POST", "/api/v1/system/update/apply", ROLE_ADMIN, R_BODY, 64, NULL, h_update_apply},
    {"POST", "/api/v1/system/factory-reset", ROLE_ADMIN, R_BODY, 64, NULL, h_factory_reset},
    {"GET", "/api/v1/captures", ROLE_VIEWER, 0, 0, NULL, h_captures_list},
    {"POST", "/api/v1/captures", ROLE_ADMIN, R_BODY, 64, NULL, h_capture_create},
    {"DELETE", "/api/v1/captures", ROLE_ADMIN, R_BODY, 64, NULL, h_captures_delete_all},
    {"GET", "/api/v1/captures/{id}", ROLE_VIEWER, 0, 0, NULL, h_capture_get},
    {"DELETE", "/api/v1/captures/{id}", ROLE_ADMIN, R_BODY, 64, NULL, h_capture_delete},
};

static const struct route static_route = {"GET", "/*", ROLE_PUBLIC, R_PUBLIC, 0, NULL, h_static};

static const struct static_file *static_find(const http_server *srv, const char *path)
{
    const char *p = strcmp(path, "/") == 0 ? "/index.html" : path;
    for (size_t i = 0; i < srv->n_files; i++)
        if (strcmp(srv->files[i].path, p) == 0)
            return &srv->files[i];
    return NULL;
}

/* ---------------- the gate ---------------- */

struct hdr_count {
    unsigned cookie, clen, csrf, ctype, host, origin, te;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    struct hdr_count *c = cls;
    if (!key)
        return MHD_YES;
    if (strcasecmp(key, "Cookie") == 0)
        c->cookie++;
    else if (strcasecmp(key, "Content-Length") == 0)
        c->clen++;
    else if (strcasecmp(key, "X-CSRF-Token") == 0)
        c->csrf++;
    else if (strcasecmp(key, "Content-Type") == 0)
        c->ctype++;
    else if (strcasecmp(key, "Host") == 0)
        c->host++;
    else if (strcasecmp(key, "Origin") == 0)
        c->origin++;
    else if (strcasecmp(key, "Transfer-Encoding") == 0)
        c->te++;
    return MHD_YES;
}

/* Look the path up. 404 when nothing matches; 405 (with Allow) when only the method is wrong. */
static enum MHD_Result route_lookup(struct req *r, const char *method)
{
    const char *m = r->is_head ? "GET" : method;
    char allow[96] = "";
    int path_known = 0;
    char param[sizeof(r->param)];
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(routes); i++) {
        if (!http_route_match(routes[i].pattern, r->path, param, sizeof(param)))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, m) == 0) {
            r->route = &routes[i];
            memcpy(r->param, param, sizeof(param));
            return MHD_YES;
        }
        size_t al = strlen(allow);
        if (al + strlen(routes[i].method) + 3 < sizeof(allow)) {
            if (al)
                memcpy(allow + al, ", ", 3), al += 2;
            memcpy(allow + al, routes[i].method, strlen(routes[i].method) + 1);
        }
    }
    if (!path_known && strncmp(r->path, "/api/", 5) != 0 && strncmp(r->path, "/.well-known/", 13) != 0) {
        r->file = static_find(r->srv, r->path);
        if (r->file) {
            if (strcmp(m, "GET") == 0) {
                r->route = &static_route;
                return MHD_YES;
            }
            path_known = 1;
            memcpy(allow, "GET", 4);
        }
    }
    if (!path_known)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    if (strstr(allow, "GET") && !strstr(allow, "HEAD")) {
        size_t al = strlen(allow);
        if (al + 7 < sizeof(allow))
            memcpy(allow + al, ", HEAD", 7);
    }
    return reply_json_h(r, MHD_HTTP_METHOD_NOT_ALLOWED, json_pack("{s:s}", "error", "method_not_allowed"), "Allow",
                        allow);
}

static enum MHD_Result gate(struct req *r, const char *method)
{
    http_server *srv = r->srv;
    /* 1. the request-target, decoded once and normalised, before anything looks at it */
    if (r->target_too_long)
        return reply_error(r, MHD_HTTP_URI_TOO_LONG, "uri_too_long");
    int rc = http_target_parse(r->target, r->path, sizeof(r->path), &r->query);
    if (rc == SAFECAM_ERR_TOOBIG)
        return reply_error(r, MHD_HTTP_URI_TOO_LONG, "uri_too_long");
    if (rc != 0) {
        /* tell a bad path from a bad query */
        const char *q = strchr(r->target, '?');
        char tmp[HTTP_PATH_MAX_BYTES];
        size_t plen = q ? (size_t)(q - r->target) : strlen(r->target);
        if (!memchr(r->target, '#', plen) && http_path_normalize(r->target, plen, tmp, sizeof(tmp)) == 0)
            return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query");
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_path");
    }
    /* 2. repeated critical headers: ambiguity an attacker could play with */
    struct hdr_count hc;
    memset(&hc, 0, sizeof(hc));
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hc);
    if (hc.cookie > 1 || hc.clen > 1 || hc.csrf > 1 || hc.ctype > 1 || hc.host > 1 || hc.origin > 1 || hc.te > 1)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "repeated_header");
    /* 3. the route table */
    r->is_head = strcmp(method, "HEAD") == 0;
    if (route_lookup(r, method) != MHD_YES || r->answered)
        return r->answered ? MHD_YES : MHD_NO;
    const struct route *rt = r->route;
    /* 4. query parameters: only those the route declares (no hidden auth= style switches) */
    for (size_t i = 0; i < r->query.n; i++) {
        int ok = 0;
        for (size_t k = 0; rt->query_keys && rt->query_keys[k]; k++)
            if (strcmp(r->query.params[i].key, rt->query_keys[k]) == 0)
                ok = 1;
        if (!ok)
            return reply_error_field(r, MHD_HTTP_BAD_REQUEST, "unknown_parameter", "parameter",
                                     r->query.params[i].key);
    }
    /* 5. body framing and size, refused before a byte of the body is read */
    if (hc.te)
        return reply_error(r, MHD_HTTP_LENGTH_REQUIRED, "length_required");
    const char *cl = header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long clen = 0;
    if (cl && safecam_parse_long(cl, 0, LONG_MAX, &clen) != 0)
        return reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large");
    if ((size_t)clen > rt->body_max)
        return reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large");
    /* 6. cross-site requests: a foreign Origin never changes state (the login included) */
    int changes = method_changes_state(method);
    const char *origin = header(r, "Origin");
    if (changes && !http_origin_allowed(origin, header(r, MHD_HTTP_HEADER_HOST), srv->bind_addr, srv->port))
        return reply_error(r, MHD_HTTP_FORBIDDEN, "csrf");
    int need_json = (rt->flags & R_BODY) && !http_content_type_json(header(r, MHD_HTTP_HEADER_CONTENT_TYPE));
    if (rt->flags & R_PUBLIC)
        return need_json ? reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type") : MHD_YES;
    /* 7. the session (checked by the vault; fail closed when it cannot answer) */
    rc = session_cookie(r, r->session_id);
    if (rc == SAFECAM_ERR_INVAL)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_cookie");
    if (rc != 0)
        return reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized");
    const char *csrf = header(r, "X-CSRF-Token");
    int csrf_syntax_ok = csrf && http_token_hex_valid(csrf, strlen(csrf));
    json_t *body = json_pack("{s:s,s:b}", "session_id", r->session_id, "touch", 1);
    if (body && changes && csrf_syntax_ok)
        json_object_set_new(body, "csrf_token", json_string(csrf));
    json_t *reply = NULL;
    rc = body ? vault_call(r, PROTO_VAULT_SESSION_CHECK, body, &reply) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0)
        return reply_unavailable(r);
    enum MHD_Result ret = MHD_YES;
    if (!reply_is_ok(reply)) {
        const char *code = jstr(reply, "error");
        ret = (code && strcmp(code, "no_session") == 0) ? reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized")
                                                        : relay_error(r, reply);
        goto out;
    }
    const char *user = jstr(reply, "username");
    const char *role = jstr(reply, "role");
    if (!user || !role || safecam_strlcpy(r->username, user, sizeof(r->username)) != 0 ||
        safecam_strlcpy(r->role, role, sizeof(r->role)) != 0) {
        ret = reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        goto out;
    }
    r->pw_change = json_is_true(json_object_get(reply, "password_change_required"));
    const char *echo = jstr(reply, "csrf_token");
    if (echo && http_token_hex_valid(echo, strlen(echo)))
        memcpy(r->csrf_echo, echo, HTTP_TOKEN_HEX_BYTES + 1);
    /* 8. role */
    if (role_level(r->role) < rt->min_role || role_level(r->role) == 0) {
        ret = reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden");
        goto out;
    }
    /* 9. the initial password must be changed first: only the own password change, the session
     * read and the logout go through (QCVN 135 G1 / EN 303 645 5.1-1) */
    if (r->pw_change) {
        int ok = (rt->flags & R_PWCHANGE_OK) != 0;
        if (ok && rt->fn == h_password && strcmp(r->param, r->username) != 0)
            ok = 0;
        if (!ok) {
            ret = reply_error(r, MHD_HTTP_FORBIDDEN, "password_change_required");
            goto out;
        }
    }
    /* 10. CSRF: the token the vault issued with this session, on every state-changing request */
    if (changes && !(rt->flags & R_NO_CSRF) && !json_is_true(json_object_get(reply, "csrf_ok"))) {
        ret = reply_error(r, MHD_HTTP_FORBIDDEN, "csrf");
        goto out;
    }
    /* 11. bodies are JSON only (checked before a byte of the body is read) */
    if (need_json)
        ret = reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
out:
    json_decref(reply);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)url;
    (void)version;
    http_server *srv = cls;
    struct req *r = *req_cls;
    if (!r)
        return MHD_NO;
    r->conn = conn;
    if (!r->started) {
        r->started = 1;
        conn_head_mark(srv, conn, 1);
        enum MHD_Result g = gate(r, method);
        if (g != MHD_YES || r->answered)
            return g;
        if (r->route->flags & R_STREAM)
            return h_update_upload(r, upload_data, upload_data_size, 1);
        if (r->route->body_max > 0) {
            r->body_cap = r->route->body_max;
            r->body = sodium_malloc(r->body_cap + 1);
            if (!r->body)
                return MHD_NO;
        }
        /* Answer on the next call, never in the first one: libmicrohttpd 0.9.75 closes a connection whose
         * answer is queued during the first call, which cost a TLS handshake per request (bench/README.md:
         * 0.03x nginx before, 0.19x after). Gate refusals above still answer at once. */
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0; /* discard */
        return MHD_YES;
    }
    if (r->route->flags & R_STREAM)
        return h_update_upload(r, upload_data, upload_data_size, 0);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (!r->body || r->body_len + n > r->body_cap)
            return MHD_NO; /* more than declared and checked: drop the connection */
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    (void)srv;
    return r->route->fn(r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->srv = cls;
    r->conn = conn;
    if (!uri || safecam_strlcpy(r->target, uri, sizeof(r->target)) != 0)
        r->target_too_long = uri != NULL;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->source, sizeof(r->source));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], r->source, sizeof(r->source));
        else
            inet_ntop(AF_INET6, a, r->source, sizeof(r->source));
    }
    if (!r->source[0])
        memcpy(r->source, "unknown", 8);
    return r;
}

/* ---------------- request-head deadline (QCVN 135 G11: time to send a request) ----------------
 * libmicrohttpd 0.9.75 has only an idle timeout, which a client resets with one byte every few seconds
 * (slowloris). Each connection is tracked from accept; until its request head is complete it must finish
 * within HEAD_DEADLINE_MS, or a watchdog thread shuts its socket down (MHD then closes it). A keep-alive
 * connection starts a new head deadline after each answer. Bodies (firmware uploads) are not cut here. */
struct conn_track {
    struct conn_track *next, *prev;
    int fd;
    int64_t head_start_ms;
    int head_done;
    int cut;
};

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_track *t = calloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!t || !ci) {
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->head_start_ms = safecam_time_mono_ms();
        pthread_mutex_lock(&srv->conns_mu);
        t->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = t;
        srv->conns = t;
        pthread_mutex_unlock(&srv->conns_mu);
        *socket_context = t;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn_track *t = *socket_context;
        if (!t)
            return;
        pthread_mutex_lock(&srv->conns_mu);
        if (t->prev)
            t->prev->next = t->next;
        else
            srv->conns = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&srv->conns_mu);
        free(t);
        *socket_context = NULL;
    }
}

/* head_done = 1: the head arrived (first handler call); 0: a new head is awaited (after an answer). */
static void conn_head_mark(http_server *srv, struct MHD_Connection *conn, int head_done)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_track *t = ci ? ci->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&srv->conns_mu);
    t->head_done = head_done;
    if (!head_done)
        t->head_start_ms = safecam_time_mono_ms();
    pthread_mutex_unlock(&srv->conns_mu);
}

static void *deadline_main(void *arg)
{
    http_server *srv = arg;
    while (!atomic_load(&srv->stopping)) {
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = safecam_time_mono_ms();
        pthread_mutex_lock(&srv->conns_mu);
        for (struct conn_track *t = srv->conns; t; t = t->next) {
            if (!t->head_done && !t->cut && now - t->head_start_ms > HEAD_DEADLINE_MS) {
                /* The fd is still MHD's: CLOSED (which unlinks under this mutex) comes before close(). */
                (void)shutdown(t->fd, SHUT_RDWR);
                t->cut = 1;
            }
        }
        pthread_mutex_unlock(&srv->conns_mu);
    }
    return NULL;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    if (cls && conn)
        conn_head_mark(cls, conn, 0);
    struct req *r = *req_cls;
    if (!r)
        return;
    if (r->body)
        sodium_free(r->body); /* sodium_free wipes */
    http_update_upload_free(r->upload); /* an upload cut short ends as "truncated" */
    sodium_memzero(r->session_id, sizeof(r->session_id));
    sodium_memzero(r->csrf_echo, sizeof(r->csrf_echo));
    free(r);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[256];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n <= 0)
        return;
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    log_debug("mhd: %s", buf);
}

/* ---------------- static UI ---------------- */

static const char *ctype_for(const char *name)
{
    static const struct {
        const char *ext;
        const char *ctype;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
        {".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
        {".woff2", "font/woff2"}, {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    return NULL;
}

static int static_name_ok(const char *name)
{
    if (!name[0] || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return strlen(name) < 96;
}

static int static_load_dir(http_server *srv, int dir_fd, const char *prefix, int depth)
{
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        close(dir_fd);
        return SAFECAM_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!static_name_ok(e->d_name))
            continue;
        char rel[HTTP_PATH_MAX_BYTES];
        if (safecam_fmt(rel, sizeof(rel), "%s/%s", prefix, e->d_name) != 0)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) != 0) {
            close(fd);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 < STATIC_DEPTH_MAX)
                (void)static_load_dir(srv, fd, rel, depth + 1);
            else
                close(fd);
            continue;
        }
        const char *ct = ctype_for(e->d_name);
        if (!S_ISREG(st.st_mode) || !ct || (size_t)st.st_size > STATIC_FILE_MAX_BYTES ||
            srv->files_bytes + (size_t)st.st_size > STATIC_TOTAL_MAX_BYTES || srv->n_files >= STATIC_FILES_MAX) {
            close(fd);
            continue;
        }
        unsigned char *data = malloc((size_t)st.st_size + 1);
        size_t got = 0;
        while (data && got < (size_t)st.st_size) {
            ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
        if (!data || got != (size_t)st.st_size) {
            free(data);
            continue;
        }
        struct static_file *f = &srv->files[srv->n_files];
        memcpy(f->path, rel, strlen(rel) + 1);
        f->ctype = ct;
        f->data = data;
        f->len = got;
        srv->n_files++;
        srv->files_bytes += got;
    }
    closedir(d);
    return 0;
}

static void static_load(http_server *srv)
{
    if (!srv->ui_dir[0])
        return;
    srv->files = calloc(STATIC_FILES_MAX, sizeof(*srv->files));
    if (!srv->files)
        return;
    int fd = open(srv->ui_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("UI directory not readable; static UI not served");
        return;
    }
    (void)static_load_dir(srv, fd, "", 0);
    log_info("static UI: %zu files, %zu bytes", srv->n_files, srv->files_bytes);
}

/* ---------------- lifecycle ---------------- */

int http_server_new(const struct http_server_config *cfg, http_server **out)
{
    if (!cfg || !out || !cfg->state_dir || cfg->port == 0 || cfg->port > 65535)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return SAFECAM_ERR_NOMEM;
    const char *bind_addr = cfg->bind_addr ? cfg->bind_addr : HTTP_DEFAULT_BIND;
    if (safecam_strlcpy(srv->state_dir, cfg->state_dir, sizeof(srv->state_dir)) != 0 ||
        safecam_strlcpy(srv->bind_addr, bind_addr, sizeof(srv->bind_addr)) != 0 ||
        (cfg->ui_dir && safecam_strlcpy(srv->ui_dir, cfg->ui_dir, sizeof(srv->ui_dir)) != 0)) {
        free(srv);
        return SAFECAM_ERR_INVAL;
    }
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, srv->bind_addr, probe) != 1 && inet_pton(AF_INET6, srv->bind_addr, probe) != 1) {
        free(srv);
        return SAFECAM_ERR_INVAL;
    }
    srv->port = cfg->port;
    srv->sup_fd = cfg->sup_fd;
    chan_init(&srv->vault);
    chan_init(&srv->media);
    srv->update = http_update_new();
    if (!srv->update) {
        free(srv);
        return SAFECAM_ERR_NOMEM;
    }
    pthread_mutex_init(&srv->sup_call_mu, NULL);
    pthread_mutex_init(&srv->sup_mu, NULL);
    pthread_mutex_init(&srv->conns_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->sup_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&srv->sup_next_id, 0x40000000u);
    atomic_init(&srv->stopping, 0);
    static_load(srv);
    *out = srv;
    return 0;
}

int http_server_channel_set(http_server *srv, const char *peer, int fd)
{
    if (!srv || !peer || fd < 0) {
        if (fd >= 0)
            close(fd);
        return SAFECAM_ERR_INVAL;
    }
    struct chan *c = NULL;
    if (strcmp(peer, "vault") == 0)
        c = &srv->vault;
    else if (strcmp(peer, "media") == 0)
        c = &srv->media;
    else if (strcmp(peer, "update") == 0) {
        http_update_channel_set(srv->update, fd);
        return 0;
    }
    if (!c) {
        close(fd);
        return SAFECAM_ERR_INVAL;
    }
    pthread_mutex_lock(&c->swap_mu);
    if (c->next_fd >= 0)
        close(c->next_fd);
    c->next_fd = fd;
    pthread_mutex_unlock(&c->swap_mu);
    return 0;
}

int http_server_start(http_server *srv)
{
    if (!srv)
        return SAFECAM_ERR_INVAL;
    if (srv->mhd)
        return SAFECAM_ERR_STATE;
    json_t *req = json_object();
    json_t *reply = NULL;
    /* Short: the caller answers the supervisor's heartbeats between attempts. */
    int rc = req ? chan_call(&srv->vault, PROTO_VAULT_TLS_CREDENTIALS, req, &reply, NULL, TLS_CREDENTIALS_TIMEOUT_MS)
                 : SAFECAM_ERR_NOMEM;
    json_decref(req);
    char *key = NULL;
    size_t key_len = 0;
    char *cert = NULL;
    if (rc != 0)
        goto out;
    const char *k = jstr(reply, "key_pem");
    const char *c = jstr(reply, "cert_pem");
    if (!reply_is_ok(reply) || !k || !c) {
        rc = SAFECAM_ERR_PROTO;
        goto out;
    }
    key_len = strlen(k);
    key = sodium_malloc(key_len + 1);
    cert = strdup(c);
    if (!key || !cert) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    memcpy(key, k, key_len + 1);
    http_json_wipe(reply); /* the key's copy inside the reply */
    reply = NULL;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, srv->bind_addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)srv->port);
    } else if (inet_pton(AF_INET6, srv->bind_addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)srv->port);
        flags |= MHD_USE_IPv6;
    } else {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    srv->mhd = MHD_start_daemon(
        flags, (uint16_t)srv->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
        MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES, MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONN_PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY_LIMIT, MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_BYTES,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
    /* GnuTLS has parsed the key into its own structures: wipe our PEM now. */
    sodium_memzero(key, key_len);
    if (!srv->mhd) {
        log_err("HTTPS could not start on %s port %u", srv->bind_addr, srv->port);
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    if (pthread_create(&srv->deadline_thread, NULL, deadline_main, srv) != 0) {
        log_err("cannot start the request-head deadline thread");
        rc = SAFECAM_ERR_INTERNAL;
        goto out;
    }
    srv->deadline_running = 1;
    log_info("HTTPS listening on %s port %u", srv->bind_addr, srv->port);
    rc = 0;
out:
    if (key)
        sodium_free(key);
    free(cert);
    http_json_wipe(reply);
    return rc;
}

void http_server_free(http_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    if (srv->deadline_running)
        pthread_join(srv->deadline_thread, NULL);
    srv->deadline_running = 0;
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    pthread_mutex_destroy(&srv->conns_mu);
    chan_destroy(&srv->vault);
    chan_destroy(&srv->media);
    http_update_free(srv->update);
    json_decref(srv->sup_reply);
    pthread_cond_destroy(&srv->sup_cv);
    pthread_mutex_destroy(&srv->sup_mu);
    pthread_mutex_destroy(&srv->sup_call_mu);
    for (size_t i = 0; i < srv->n_files; i++)
        free(srv->files[i].data);
    free(srv->files);
    free(srv);
}
