/* vault_client.h — typed calls to the vault over an ipc_client, in the manner of OpenSSH's monitor_wrap.c:
 * the caller (web, media) calls a function; the JSON request shape of include/safecam/proto.h is written
 * once, here. Trust level: runs in the network-facing processes; links lib/ipc only, never the vault's
 * internals (Argon2, SQLite, pwquality). Replies are untrusted: fields are copied only when typed and within
 * size.
 *
 * Common shape: 0 with the typed result filled when the vault answered {"ok":true}; 0 with *refusal set
 * (the vault's error object, caller decrefs, e.g. {"error":"locked","retry_after":30}) when it refused;
 * a negative SAFECAM_ERR_* when it could not be asked (timeout, channel gone: callers fail closed, 503).
 * Session ids, passwords and CSRF tokens in request bodies are wiped before the body is freed. */
#ifndef SAFECAM_VAULT_CLIENT_H
#define SAFECAM_VAULT_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "safecam/core.h"
#include "safecam/ipc_client.h"

#define VAULT_CLIENT_TOKEN_HEX 64 /* session id, CSRF token: 256 bits as lowercase hex */
#define VAULT_CLIENT_USERNAME_MAX 64
#define VAULT_CLIENT_ROLE_MAX 16

/* The reply timeout of every call below except where a call takes its own: a login runs Argon2id. */
#define VAULT_CLIENT_TIMEOUT_MS 15000
/* Captures: the vault seals/unseals up to 4 MiB and overwrites files on delete with an fsync each. */
#define VAULT_CLIENT_CAPTURE_TIMEOUT_MS 60000

/* A login's result. Strings are "" when the vault's reply lacked them or they did not fit; the tokens are
 * copied only when they are exactly VAULT_CLIENT_TOKEN_HEX characters (their charset is the caller's check).
 */
struct vault_login_result {
    char session_id[VAULT_CLIENT_TOKEN_HEX + 1];
    char csrf_token[VAULT_CLIENT_TOKEN_HEX + 1];
    char username[VAULT_CLIENT_USERNAME_MAX + 1];
    char role[VAULT_CLIENT_ROLE_MAX + 1];
    int password_change_required;
};

/* A live session's facts (PROTO_VAULT_SESSION_CHECK). username/role "" when missing or too long
 * (username < 64, role < 16 bytes); csrf_token "" unless exactly 64 characters. */
struct vault_session_facts {
    char username[VAULT_CLIENT_USERNAME_MAX];
    char role[VAULT_CLIENT_ROLE_MAX];
    int password_change_required;
    int csrf_ok; /* the csrf_token sent matched the session's */
    char csrf_token[VAULT_CLIENT_TOKEN_HEX + 1];
};

/* An audit-log query: a field < 0 is absent. type NULL = every type. */
struct vault_audit_filter {
    long since;
    long until;
    long limit;
    const char *type;
};

/* Log in (PROTO_VAULT_LOGIN, lockout and Argon2id in the vault). QCVN 135 G1, G2 / EN 303 645 5.1. */
int vault_client_login(ipc_client *c, const char *user, const char *password, const char *source,
                       struct vault_login_result *out, json_t **refusal) SAFECAM_WUR;

/* Check a session for a request (touch = slide its idle deadline); csrf_token NULL when none is presented. */
int vault_client_session_check(ipc_client *c, const char *session_id, const char *csrf_token, int touch,
                               struct vault_session_facts *out, json_t **refusal) SAFECAM_WUR;

/* End a session (logout, or the one replaced at login). */
int vault_client_session_end(ipc_client *c, const char *session_id, const char *source,
                             json_t **refusal) SAFECAM_WUR;

/* Change user's password (the own one, or any as admin), checked against the policy (QCVN 135 G1). */
int vault_client_password_change(ipc_client *c, const char *session_id, const char *user, const char *current,
                                 const char *new_password, const char *source, json_t **refusal) SAFECAM_WUR;

/* The users (admin session): *users is the vault's array (new reference; its items are untrusted). */
int vault_client_user_list(ipc_client *c, const char *session_id, json_t **users,
                           json_t **refusal) SAFECAM_WUR;

int vault_client_user_create(ipc_client *c, const char *session_id, const char *user, const char *password,
                             const char *role, json_t **refusal) SAFECAM_WUR;
int vault_client_user_update(ipc_client *c, const char *session_id, const char *user, const char *role,
                             json_t **refusal) SAFECAM_WUR;
int vault_client_user_delete(ipc_client *c, const char *session_id, const char *user,
                             json_t **refusal) SAFECAM_WUR;

/* Security settings (admin session). *settings: the vault's object (new reference, untrusted). settings_set
 * sends settings as given (its keys and types were checked by the caller's schema). */
int vault_client_settings_get(ipc_client *c, const char *session_id, json_t **settings,
                              json_t **refusal) SAFECAM_WUR;
int vault_client_settings_set(ipc_client *c, const char *session_id, const json_t *settings,
                              json_t **refusal) SAFECAM_WUR;

/* Linked-service settings (admin session; docs/linked-services.md). linked_get: *linked is the vault's object
 * without any password (new reference, untrusted). linked_set sends linked as given; the vault validates it. */
int vault_client_linked_get(ipc_client *c, const char *session_id, json_t **linked, json_t **refusal) SAFECAM_WUR;
int vault_client_linked_set(ipc_client *c, const char *session_id, const json_t *linked,
                            json_t **refusal) SAFECAM_WUR;

/* Record an audit event (QCVN 135 G6). source may be NULL (none sent), detail NULL (""). A refusal counts as
 * an error here (SAFECAM_ERR_DENIED). */
int vault_client_audit_record(ipc_client *c, const char *type, const char *actor, const char *source,
                              const char *detail, int timeout_ms) SAFECAM_WUR;

/* Read the audit log (admin session). *events: the vault's array (new reference, untrusted). */
int vault_client_audit_query(ipc_client *c, const char *session_id, const struct vault_audit_filter *filter,
                             json_t **events, json_t **refusal) SAFECAM_WUR;

/* The audit chain (docs/audit.md): type PROTO_VAULT_AUDIT_VERIFY ({"cached":bool} in fields, may be NULL) or
 * PROTO_VAULT_AUDIT_EXPORT (fd_out: the memfd of the signed export). The vault's whole reply in *reply (new
 * reference); a refusal in *refusal. */
int vault_client_audit_call(ipc_client *c, unsigned short type, const char *session_id, const json_t *fields,
                            json_t **reply, int *fd_out, json_t **refusal) SAFECAM_WUR;

/* The device's TLS certificate and private key (PEM). *key_pem is sodium_malloc'd (caller sodium_free's,
 * which wipes), *cert_pem malloc'd. The copy inside the reply is wiped. A refusal or a malformed answer is
 * SAFECAM_ERR_PROTO. */
int vault_client_tls_credentials(ipc_client *c, int timeout_ms, char **cert_pem, char **key_pem,
                                 size_t *key_len) SAFECAM_WUR;

/* Check a user's password for another surface (RTSP, "surface"), with the same lockout as the web login.
 * role gets the user's role on success. */
int vault_client_auth_check(ipc_client *c, const char *user, const char *password, const char *source,
                            const char *surface, int timeout_ms, char *role, size_t role_size,
                            int *password_change_required, json_t **refusal) SAFECAM_WUR;

/* ONVIF WS-Security UsernameToken check (PROTO_VAULT_WSSE_VERIFY; docs/integrations.md). QCVN 135 G1, brute
 * force / EN 303 645 5.1; attack case A4 (replay).
 *   password_type "digest": password is the token's PasswordDigest (base64), checked for an INTEGRATION account
 *     against Base64(SHA-1(nonce || created || secret)); nonce_b64 and created are required (a missing one is
 *     refused, "unauthorized"), Created must be within +-5 min of the vault's clock ("stale"), and a nonce the
 *     vault accepted before is refused ("replay").
 *   password_type "text": password is the PasswordText (inside TLS only): a person's password verified against
 *     its Argon2id hash on the vault's hash workers (the login's admission: "busy" with retry_after), or an
 *     integration account's secret. nonce_b64/created may be NULL and are not used.
 * source: the peer's address text. Every refusal except busy counts toward the same lockout as web and RTSP
 * logins (surface "onvif"); success and failure are audited.
 * Returns 0 with *out = {"ok":true,"username":..,"role":..,"password_change_required":bool} (a person whose
 * password change is pending should be refused by the caller); SAFECAM_ERR_DENIED with *out = the vault's
 * refusal {"error":"locked"|"busy" (+"retry_after":N)|"unauthorized"|"replay"|"stale"|"invalid_request"};
 * another negative SAFECAM_ERR_* with *out NULL when the vault could not be asked (fail closed). *out: caller
 * decrefs. The body (with the password) is wiped before it is freed. */
int vault_client_wsse_verify(ipc_client *c, const char *username, const char *password_type, const char *password,
                             const char *nonce_b64, const char *created, const char *source,
                             json_t **out) SAFECAM_WUR;

/* RTSP Digest for an integration account (PROTO_VAULT_DIGEST_CHECK): the fields of the client's Authorization
 * header and the request method; the vault recomputes the response from the sealed secret. qop/nc/cnonce may
 * be NULL. Same return shape as vault_client_auth_check (role filled on success). */
int vault_client_digest_check(ipc_client *c, const char *username, const char *realm, const char *nonce,
                              const char *uri, const char *method, const char *response, const char *qop,
                              const char *nc, const char *cnonce, const char *source, int timeout_ms, char *role,
                              size_t role_size, json_t **refusal) SAFECAM_WUR;

/* Integration accounts (admin session). op: PROTO_VAULT_INTEGRATION_LIST (name NULL), _CREATE, _ROTATE,
 * _DELETE. *reply: the vault's whole {"ok":true,...} answer (new reference; create/rotate carry "secret":
 * the caller sends it once and wipes it with the reply). */
/* The fields of a Digest Authorization header (each NUL-terminated; algorithm, qop, nc, cnonce may be NULL). */
struct vault_client_digest {
    const char *username, *realm, *nonce, *uri, *method, *response;
    const char *algorithm, *qop, *nc, *cnonce;
    const char *source; /* the peer's address text */
};
/* One Digest check for an integration account: type PROTO_VAULT_DIGEST_CHECK (RTSP, from media) or
 * PROTO_VAULT_HTTP_DIGEST_CHECK (HTTP, from web: each (nonce, nc) once). Same return shape as
 * vault_client_auth_check (role filled on success; a refusal in *refusal, caller decrefs). The body is wiped
 * before it is freed. EN 303 645 5.1-5, QCVN 135 G1. */
int vault_client_digest_call(ipc_client *c, unsigned short type, const struct vault_client_digest *d,
                             int timeout_ms, char *role, size_t role_size, json_t **refusal) SAFECAM_WUR;

int vault_client_integration_call(ipc_client *c, unsigned short op, const char *session_id, const char *name,
                                  const char *source, json_t **reply, json_t **refusal) SAFECAM_WUR;

/* Captures (QCVN 135 G9, G10): the vault's whole {"ok":true,...} reply is returned in *reply (new reference)
 * for lib/http/routes_captures.c to shape. actor/source are sent for the audited calls (store, delete) and
 * may be NULL for list/get. fd_in: the memfd to seal (store), else -1. fd_out: the unsealed memfd (get). */
int vault_client_capture_call(ipc_client *c, unsigned short type, const char *session_id, const char *actor,
                              const char *source, const json_t *fields, int fd_in, json_t **reply,
                              int *fd_out, json_t **refusal) SAFECAM_WUR;

#endif
