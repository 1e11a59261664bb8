/* http.h — the web process: HTTPS admin API server (libmicrohttpd + GnuTLS), its single gate, and the
 * pure parsers it relies on (request-target, query, cookie, CSRF/Origin, JSON bodies with a field schema).
 * Trust level: runs in the web process (unprivileged, network-facing); every input here is untrusted.
 * The parsers below are pure functions (no I/O, no global state) so they are unit-tested
 * (tests/unit/test_http.c) and fuzzed (fuzz/fuzz_http_*.c). QCVN 135 G6, G11 / EN 303 645 5.6, 5.13-1. */
#ifndef SAFECAM_HTTP_H
#define SAFECAM_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "safecam/core.h"
#include "safecam/ipc.h"

/* ---------------- limits ---------------- */
#define HTTP_TARGET_MAX_BYTES 1024   /* whole request-target (path + query) as sent */
#define HTTP_PATH_MAX_BYTES 256      /* decoded, normalised path */
#define HTTP_QUERY_MAX_BYTES 512     /* raw query string */
#define HTTP_QUERY_PARAMS_MAX 8
#define HTTP_QUERY_KEY_MAX 32        /* bytes, decoded, incl. NUL */
#define HTTP_QUERY_VALUE_MAX 128     /* bytes, decoded, incl. NUL */
#define HTTP_COOKIE_HEADER_MAX_BYTES 4096
#define HTTP_SESSION_COOKIE "safecam_session"
#define HTTP_TOKEN_HEX_BYTES 64      /* session id and CSRF token: 256 bits as lowercase hex */
#define HTTP_JSON_BODY_MAX_BYTES 4096 /* default body cap of a JSON route */
#define HTTP_HEADER_VALUE_MAX_BYTES 1024 /* Host, Origin, X-CSRF-Token, Content-Type */

/* ---------------- request-target ---------------- */

/* Normalise the path part of a request-target (raw, len bytes, no query) into out (out_size bytes,
 * NUL-terminated). Rules (deny by default): must start with '/'; raw bytes only from the RFC 3986
 * pchar set plus '/'; percent-escapes are decoded exactly once and the decoded byte must be printable
 * ASCII other than '/', '\\', '%' (so %2f, %5c, %00, %25 and double encodings are refused); no empty
 * segment ("//", or a trailing '/' except the root), no "." or ".." segment (also when encoded); at most
 * HTTP_PATH_MAX_BYTES - 1 bytes. Returns 0, SAFECAM_ERR_INVAL on any violation, SAFECAM_ERR_TOOBIG when
 * too long. out is "" on error. QCVN 135 G11 (path traversal, attack case A11). */
int http_path_normalize(const char *raw, size_t len, char *out, size_t out_size) SAFECAM_WUR;

struct http_query_param {
    char key[HTTP_QUERY_KEY_MAX];
    char value[HTTP_QUERY_VALUE_MAX];
};

struct http_query {
    size_t n;
    struct http_query_param params[HTTP_QUERY_PARAMS_MAX];
};

/* Parse a raw query string (raw, len bytes, without the '?') "k=v&k2=v2" into out. Keys are
 * [a-z0-9_], values are percent-decoded once ('+' is a space) and must be printable ASCII; a key may
 * appear once; empty pairs are refused; at most HTTP_QUERY_PARAMS_MAX pairs. len 0 gives n = 0.
 * Returns 0, SAFECAM_ERR_INVAL (malformed or repeated key), SAFECAM_ERR_TOOBIG (over a cap). */
int http_query_parse(const char *raw, size_t len, struct http_query *out) SAFECAM_WUR;

/* The value of key in q, or NULL. */
const char *http_query_get(const struct http_query *q, const char *key);

/* Split a whole request-target (as sent on the request line, at most HTTP_TARGET_MAX_BYTES) into a
 * normalised path (http_path_normalize) and a parsed query (http_query_parse). A '#' is refused.
 * Returns 0 or the first error of the two parsers. */
int http_target_parse(const char *target, char *path, size_t path_size, struct http_query *query) SAFECAM_WUR;

/* Match a normalised path against a route pattern where a segment "{name}" matches one non-empty
 * segment of [a-z0-9._-] (at most param_size - 1 bytes, copied to param; one parameter per pattern).
 * Returns 1 on a match, 0 otherwise. param may be NULL when the pattern has no parameter. */
int http_route_match(const char *pattern, const char *path, char *param, size_t param_size);

/* ---------------- cookies, CSRF, Origin ---------------- */

/* Find the cookie `name` in a Cookie header value (header, len bytes; "a=b; c=d"). On success copies
 * its value (at most out_size - 1 bytes) into out. Errors: SAFECAM_ERR_NOTFOUND (absent),
 * SAFECAM_ERR_INVAL (header over HTTP_COOKIE_HEADER_MAX_BYTES, control/non-ASCII bytes, or `name`
 * present more than once: a cookie-tossing attempt), SAFECAM_ERR_TOOBIG (value longer than out). */
int http_cookie_find(const char *header, size_t len, const char *name, char *out, size_t out_size) SAFECAM_WUR;

/* 1 if s (len bytes) is exactly HTTP_TOKEN_HEX_BYTES lowercase hex digits, else 0. Used for the session
 * cookie and the X-CSRF-Token header before either is sent to the vault (which compares in constant
 * time). QCVN 135 sessions (CSRF token on every state-changing request). */
int http_token_hex_valid(const char *s, size_t len);

/* HTTP Digest nonces (lib/http/digest.c): 32 bytes as lower-case hex = 8 bytes of `now` (seconds of the web
 * process's monotonic clock, big-endian), 8 random bytes (libsodium), and a 16-byte keyed BLAKE2b of both
 * under key (random per process, never sent). check: 0 when the nonce is one this key made and at most
 * lifetime_s old; SAFECAM_ERR_DENIED otherwise (malformed, forged, from the future, expired). Replay of a
 * (nonce, nc) is the vault's to refuse. QCVN 135 G1 / EN 303 645 5.1-5. */
#define HTTP_DIGEST_KEY_BYTES 32
#define HTTP_DIGEST_NONCE_HEX 64
int http_digest_nonce_make(const uint8_t key[HTTP_DIGEST_KEY_BYTES], int64_t now,
                           char out[HTTP_DIGEST_NONCE_HEX + 1]) SAFECAM_WUR;
int http_digest_nonce_check(const uint8_t key[HTTP_DIGEST_KEY_BYTES], const char *nonce, int64_t now,
                            int64_t lifetime_s) SAFECAM_WUR;

/* Decide whether a request's Origin header is the device's own origin. origin NULL (header absent) ->
 * 1. Otherwise origin must be "https://HOST[:PORT]" (no path, userinfo, query; "null" refused) whose
 * host and port (default 443) equal those of the Host header (host, "HOST[:PORT]", default 443), or
 * equal bind_addr:port when bind_addr is a specific address (not NULL/"0.0.0.0"/"::"). The Host header
 * only serves this comparison; it never grants anything by itself.
 * Host names compare case-insensitively. Returns 1 when allowed, 0 when refused (or malformed). */
int http_origin_allowed(const char *origin, const char *host, const char *bind_addr, unsigned port);

/* 1 if a Content-Type value is application/json, optionally with "; charset=utf-8" (any case), else 0. */
int http_content_type_json(const char *value);

/* ---------------- JSON bodies ---------------- */

enum http_field_type { HTTP_FIELD_STRING, HTTP_FIELD_INT, HTTP_FIELD_BOOL,
                       HTTP_FIELD_OBJECT /* a JSON object of at most max members, checked by its owner */ };

/* One field of a body schema. STRING: min/max are lengths in bytes, and when enum_values is set
 * (NULL-terminated) the value must be one of them; INT: min/max bound the value. */
struct http_field {
    const char *name;
    enum http_field_type type;
    int required;
    long min;
    long max;
    const char *const *enum_values;
};

/* What was wrong with a body: code is a static stable lower_snake_case string ("payload_too_large",
 * "invalid_json", "unknown_field", "missing_field", "invalid_field"); field is the offending field name
 * (static from the schema, or a copy of the unknown key), "" when not about one field. */
struct http_body_error {
    const char *code;
    char field[48];
};

/* Parse body (len bytes) as one JSON object and check it against schema (n fields): len <= max_len;
 * strict UTF-8 without NUL (also no \u0000); no duplicate keys; no trailing data; every key in the
 * schema (else unknown_field), every required field present (missing_field), every value of its type
 * and range (invalid_field). When schema is NULL the object is "open": at most 16 keys of
 * [a-z0-9_] (<= 32 bytes), each value a string (<= 64 bytes), integer or boolean.
 * On success *out is the object (caller decrefs; use http_json_wipe on bodies holding passwords).
 * Returns 0, or SAFECAM_ERR_TOOBIG / SAFECAM_ERR_INVAL with err filled. QCVN 135 G11 (A3, A5). */
int http_json_body_parse(const char *body, size_t len, size_t max_len, const struct http_field *schema,
                         size_t n, json_t **out, struct http_body_error *err) SAFECAM_WUR;

/* Overwrite every string value held directly in object obj with zero bytes (passwords), then
 * json_decref(obj). NULL is ignored. */
void http_json_wipe(json_t *obj);

/* ---------------- the server ---------------- */

#define HTTP_DEFAULT_PORT 8443
#define HTTP_DEFAULT_BIND "127.0.0.1"
#define HTTP_DEFAULT_RTSPS_PORT 8322 /* = MEDIA_RTSPS_PORT_DEFAULT */

struct http_server_config {
    const char *state_dir;   /* for device identity (factory/device.json) */
    const char *bind_addr;   /* IPv4 or IPv6 literal */
    unsigned port;
    unsigned rtsps_port;     /* the media process's RTSPS port, only reported (GET /api/v1/settings/network);
                              * 0: HTTP_DEFAULT_RTSPS_PORT */
    const char *ui_dir;      /* static UI files; NULL or missing -> no static files */
    int sup_fd;              /* supervisor channel (owned by the caller) */
    int listen_fd;           /* listening socket bound by the supervisor (privileged port; owned by the
                              * caller), or -1: bind bind_addr:port itself */
    const char *sbom;        /* the SBOM (CycloneDX JSON, http_sbom_read), borrowed: it must outlive the server;
                              * NULL: GET /api/v1/system/sbom answers 404 not_found */
    size_t sbom_len;         /* its length in bytes */
};

typedef struct http_server http_server;

/* Create the server object (no socket yet). *out owned by caller (http_server_free). */
int http_server_new(const struct http_server_config *cfg, http_server **out) SAFECAM_WUR;

/* Replace the channel to peer ("vault", "media" or "update") by fd (ownership passes to the server; the old one is
 * closed). Thread-safe. SAFECAM_ERR_INVAL for another peer name (fd is then closed). */
int http_server_channel_set(http_server *srv, const char *peer, int fd) SAFECAM_WUR;

/* The peers (IPC_PEER_VAULT | IPC_PEER_MEDIA | IPC_PEER_UPDATE) whose channel died and was not replaced yet
 * (ipc_client_channel_lost): safecam-web asks the supervisor for fresh ones (PROTO_SUP_CHANNEL_RENEW) with
 * back-off, while requests that need that peer answer 503 at once. Thread-safe; 0 for NULL. */
unsigned http_server_channels_lost(http_server *srv);

/* Ask the vault for the device TLS credentials (PROTO_VAULT_TLS_CREDENTIALS), then start HTTPS on
 * bind_addr:port with MHD's internal threads (one per connection, bounded by the connection limits).
 * The key PEM is wiped as soon as GnuTLS has parsed it. Errors: SAFECAM_ERR_CLOSED / SAFECAM_ERR_TIMEOUT
 * when the vault is not reachable (retry later), SAFECAM_ERR_IO when the socket cannot be bound,
 * SAFECAM_ERR_STATE when already started. QCVN 135 G4, G5 (TLS 1.2/1.3, ECDHE + AEAD only). */
int http_server_start(http_server *srv) SAFECAM_WUR;

/* Deliver a reply that arrived on the supervisor channel (the caller's thread is the only reader of
 * that socket) to the pending web->supervisor call, if its id matches; otherwise it is dropped. Takes
 * the body and fd out of msg (msg is left cleared). Thread-safe. */
void http_server_sup_reply(http_server *srv, ipc_msg *msg);

/* Stop serving (MHD stopped, connections closed) and free everything, closing the peer channels.
 * NULL is ignored. */
void http_server_free(http_server *srv);

/* The UI directory served when none is given: the source tree's ui/ when the running program lies under
 * the build tree it was compiled in, else the installed <datadir>/safecam/ui. The web process computes it
 * before it walls itself in, so its Landlock view holds it. Returns 0 or SAFECAM_ERR_TOOBIG. */
int http_ui_dir_default(char *out, size_t out_size) SAFECAM_WUR;

/* Largest SBOM document served (bytes). */
#define HTTP_SBOM_MAX_BYTES (4u * 1024u * 1024u)

/* The SBOM file served when none is given, chosen like http_ui_dir_default: <build>/sbom.cdx.json when the
 * running program lies under the build tree, else the installed <datadir>/safecam/sbom.cdx.json. Returns 0 or
 * SAFECAM_ERR_TOOBIG. */
int http_sbom_path_default(char *out, size_t out_size) SAFECAM_WUR;

/* Read the SBOM at path into *out (malloc'd, NUL-terminated, owned by the caller; *out_len its length without
 * the NUL) and check that it is a CycloneDX JSON object (bomFormat "CycloneDX"). The web process reads it
 * before it walls itself in. Errors: SAFECAM_ERR_NOTFOUND (no file), SAFECAM_ERR_TOOBIG (larger than
 * HTTP_SBOM_MAX_BYTES), SAFECAM_ERR_INVAL (not a CycloneDX JSON object), SAFECAM_ERR_IO, SAFECAM_ERR_NOMEM.
 * QCVN 135 G3 / EN 303 645 5.3-x (the software's components are known and can be checked for flaws). */
int http_sbom_read(const char *path, char **out, size_t *out_len) SAFECAM_WUR;

#endif
