/* http_internal.h — private to lib/http: the server object, one request, the route row and the helpers the
 * files of the web process share (server.c connections, gate.c, static.c, errors.c, reply.c, routes_*.c).
 * Trust level: network-facing and unprivileged; everything a request carries is untrusted.
 * Include order inside the module: this header includes only public headers and the routes_*.h helpers,
 * never a .c file's neighbour, so the module has no file-level include cycle. */
#ifndef SAFECAM_HTTP_INTERNAL_H
#define SAFECAM_HTTP_INTERNAL_H

#include <arpa/inet.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "safecam/conn_guard.h"
#include "safecam/http.h"
#include "safecam/ipc_client.h"
#include "routes_update.h"

#ifndef SAFECAM_VERSION
#define SAFECAM_VERSION "0.0.0"
#endif

#define SUP_TIMEOUT_MS 15000     /* a web -> supervisor call (settings, factory reset) */
#define VAULT_LOCK_WAIT_MS 20000 /* a vault call waits this long for the channel while another is in flight  \
                                  */
#define MEDIA_LOCK_WAIT_MS 20000
#define LINKED_DELETE_TIMEOUT_MS 60000 /* POST /api/v1/linked/delete: the link process's DELETEs and PUBACKs */
#define TLS_CREDENTIALS_TIMEOUT_MS 3000
#define SESSION_COOKIE_ATTRS "; Path=/; Secure; HttpOnly; SameSite=Strict"

enum role_level { ROLE_PUBLIC = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

/* One file of the static UI, loaded once at start (static.c). */
struct static_file {
    char path[HTTP_PATH_MAX_BYTES];
    const char *ctype;
    unsigned char *data;
    size_t len;
};

struct conn_track;

struct http_server {
    char state_dir[PATH_MAX];
    char bind_addr[INET6_ADDRSTRLEN];
    char ui_dir[PATH_MAX];
    unsigned port;
    unsigned rtsps_port; /* reported only: GET /api/v1/settings/network */
    int sup_fd;
    int listen_fd; /* handed down by the supervisor, or -1 */
    const char *sbom; /* borrowed from the caller (http_server_config), or NULL */
    size_t sbom_len;

    ipc_client *vault;
    ipc_client *media;
    ipc_client *link; /* the linked-service process, while it runs (POST /api/v1/linked/delete) */
    http_update *update; /* channel to safecam-update, used by the firmware routes (routes_update.c) */

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
    conn_guard *guard; /* fair slots: the owner's session is never pushed out by unauthenticated ones */
    pthread_t deadline_thread;
    int deadline_running;

    /* ONVIF (routes_onvif.c): -1 not asked yet, 0 off, 1 on; the ports its URIs name. Set from the
     * supervisor's answers (it owns config.json); every change goes through this process's PUT. */
    atomic_int onvif_state;
    atomic_uint onvif_https_port;
    atomic_uint onvif_rtsps_port;
    uint8_t digest_key[HTTP_DIGEST_KEY_BYTES]; /* HTTP Digest nonces (digest.c): random, never leaves */

    struct static_file *files;
    size_t n_files;
    size_t files_bytes;
};

struct req;
typedef enum MHD_Result (*handler_fn)(struct req *r);

#define R_PUBLIC 0x01u      /* no session needed */
#define R_PWCHANGE_OK 0x02u /* allowed while the password must still be changed */
#define R_NO_CSRF 0x04u     /* state-changing but without a session yet (the login) */
#define R_BODY 0x08u        /* takes a JSON body */
#define R_STREAM 0x10u      /* streamed octet body relayed chunk by chunk (firmware upload), never buffered */
#define R_SELF 0x20u   /* with R_PWCHANGE_OK: while the password must be changed, only for {name} = self */
#define R_SOAP 0x40u   /* ONVIF SOAP: no session or CSRF (WS-Security inside), 404 while ONVIF is off */
#define R_DIGEST 0x80u /* GET without a session cookie while ONVIF is on: an integration account's HTTP Digest */

/* One row of the route table: deny by default, what no row names does not exist. Each routes_<area>.c
 * exports its rows as a route_set; gate.c looks them up in the order of its route_sets[]. */
struct route {
    const char *method;
    const char *pattern;
    int min_role;
    unsigned flags;
    size_t body_max;
    const char *const *query_keys; /* allowed query parameters, NULL-terminated; NULL = none */
    handler_fn fn;
};

struct route_set {
    const struct route *rows;
    size_t n;
};

extern const struct route_set http_routes_session;
extern const struct route_set http_routes_users;
extern const struct route_set http_routes_integrations;
extern const struct route_set http_routes_settings;
extern const struct route_set http_routes_video;
extern const struct route_set http_routes_system;
extern const struct route_set http_routes_update;
extern const struct route_set http_routes_captures;
extern const struct route_set http_routes_onvif;
extern const struct route_set http_routes_recordings;

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
    struct safecam_buf body; /* at most the route's body_max bytes, wiped (passwords) */
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

/* ---- reply.c: answers, each with the security headers ---- */
void http_security_headers_add(struct MHD_Response *resp, int cacheable);
enum MHD_Result http_reply_queue(struct req *r, unsigned status, struct MHD_Response *resp);
/* obj is stolen; extra_name/extra_value: one more header, or NULL. */
enum MHD_Result http_reply_json_hv(struct req *r, unsigned status, json_t *obj, const char *const *headers);
enum MHD_Result http_reply_json_h(struct req *r, unsigned status, json_t *obj, const char *extra_name,
                                  const char *extra_value);
enum MHD_Result http_reply_json(struct req *r, unsigned status, json_t *obj);
enum MHD_Result http_reply_error(struct req *r, unsigned status, const char *code);
enum MHD_Result http_reply_error_field(struct req *r, unsigned status, const char *code, const char *key,
                                       const char *value);
enum MHD_Result http_reply_empty(struct req *r, unsigned status, const char *extra_name,
                                 const char *extra_value);
/* 503 {"error":"unavailable"}: a peer could not be asked (fail closed). */
enum MHD_Result http_reply_unavailable(struct req *r);
/* Stream fd (owned from here) as the body with ctype; max_bytes 0 = unbounded (live view). */
enum MHD_Result http_reply_stream(struct req *r, int fd, const char *ctype, uint64_t max_bytes);

/* ---- errors.c: a peer's refusal -> the client's answer (the table of codes) ---- */
/* Answer a vault / supervisor refusal ({"error":CODE,...}): only codes in the table, and only the fields the
 * table lets through, reach the client; anything else is 500 internal. */
enum MHD_Result http_reply_refusal(struct req *r, const json_t *refusal);

/* ---- gate.c ---- */
/* The gate in front of every handler: target, repeated headers, route, query keys, body framing and size,
 * Origin, session (vault), role, pending password change, CSRF, content type. MHD_YES with r->answered 0
 * lets the request through. QCVN 135 G1, G6, G11 / EN 303 645 5.1, 5.6. */
enum MHD_Result http_gate(struct req *r, const char *method);
const char *http_req_header(struct req *r, const char *name);
/* The session id from the Cookie header: 0, SAFECAM_ERR_NOTFOUND (none or malformed), SAFECAM_ERR_INVAL
 * (our cookie twice: cookie tossing). */
int http_session_cookie(struct req *r, char out[HTTP_TOKEN_HEX_BYTES + 1]);
/* The JSON body against schema (n fields; NULL = open object): 0 and *out, or answered (400/413) and < 0. */
int http_req_body_parse(struct req *r, const struct http_field *schema, size_t n, json_t **out);
/* The body must be {}: 0, or answered and < 0. */
int http_req_body_empty(struct req *r);
/* {"confirm": true} required: 0, or answered (400 confirmation_required or the body error) and < 0. */
int http_req_confirm_parse(struct req *r);
/* 1 if s is 1..max printable ASCII bytes. */
int http_printable_ascii(const char *s, size_t max);
const char *http_jstr(const json_t *obj, const char *key);

/* ---- server.c: the peers ---- */
/* Record an audit event as the request's user (vault unreachable: logged, not fatal). */
void http_audit_record(struct req *r, const char *type, const char *detail);
/* Ask the supervisor (body stolen, may be NULL). Its {"ok":true} reply (caller decrefs); otherwise NULL with
 * the request answered in *ret (503 when it does not answer in time, else its refusal through errors.c). */
json_t *http_sup_relay(struct req *r, uint16_t type, json_t *body, enum MHD_Result *ret);
/* One web -> supervisor call (body stolen): 0 and *reply (caller decrefs, any object), or an error. */
int http_sup_call(http_server *srv, uint16_t type, json_t *body, json_t **reply);
/* ONVIF on (1) or off (0, also when the supervisor cannot say): routes_onvif.c. */
int http_onvif_enabled(struct req *r);

/* ---- digest.c: HTTP Digest of an integration account (R_DIGEST routes, no session cookie) ----
 * 0: the vault accepted the response (r->username and r->role filled, audited by the vault); -1: answered
 * already (401 with a new challenge, or 503 when the vault cannot answer). */
int http_digest_auth(struct req *r);
/* Mark the request head of conn as complete (1) or awaited again (0) for the deadline thread. */
void http_conn_head_mark(http_server *srv, struct MHD_Connection *conn, int head_done);
/* The request on conn carried a valid session: its connection slot becomes trusted (conn_guard.h). */
void http_conn_trust(http_server *srv, struct MHD_Connection *conn);

/* ---- static.c: the static UI ---- */
/* Load every allowed file under srv->ui_dir (or the default UI directory when it is ""), bounded. */
void http_static_load(http_server *srv);
void http_static_free(http_server *srv);
const struct static_file *http_static_find(const http_server *srv, const char *path);
extern const struct route http_static_route;

/* ---- routes_update.c: the streamed upload, called from server.c for R_STREAM routes ---- */
enum MHD_Result http_update_upload_step(struct req *r, const char *data, size_t *size, int first);

#endif
