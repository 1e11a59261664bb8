/* vault.h — credentials, lockout, sessions, users/roles and security settings: the vault's state.
 * Runs only in the vault process (no network) and in safecam-provision. QCVN 135 G1, G4, brute force
 * and sessions; EN 303 645 5.1-1..5.1-5, 5.4-1. Implemented in lib/vault/ (hash.c, db.c, users.c, settings.c,
 * lockout.c, session.c, auth.c, service.c). Design of the lockout: docs/lockout.md. Argon2id cost: bench/argon2id.md.
 * One `vault` object must not be used from two threads at once: the vault process uses it from its request loop
 * only; its hash workers (vault_workers.h) run Argon2id on copies. */
#ifndef SAFECAM_VAULT_H
#define SAFECAM_VAULT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "safecam/audit.h"
#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/password_policy.h"

#define VAULT_HASH_BYTES 128 /* crypto_pwhash_STRBYTES: an encoded Argon2id string, NUL-terminated */

/* Argon2id cost of every new hash (OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1; libsodium always
 * uses p = 1): with VAULT_HASH_WORKERS = 2 verifying at once the vault's hashing peaks at ~38 MiB. Stored
 * hashes carry their own cost; one made at another cost is re-hashed at this one at its next successful login.
 * Measured in bench/argon2id.md. */
#define VAULT_ARGON2_OPSLIMIT 2ull
#define VAULT_ARGON2_MEMLIMIT (19u * 1024u * 1024u) /* bytes */

#define VAULT_USERNAME_MAX 32 /* characters [a-z0-9._-], first one a letter */
#define VAULT_SOURCE_MAX 64   /* bytes of a client address text */
#define VAULT_ROLE_MAX 16
#define VAULT_TOKEN_BYTES 32 /* session id and CSRF token: 256 bits */
#define VAULT_TOKEN_HEX (2 * VAULT_TOKEN_BYTES)
#define VAULT_USERS_MAX 100            /* accounts on one camera */
#define VAULT_SESSIONS_PER_USER_MAX 16 /* the oldest session ends when a 17th starts */
#define VAULT_KNOWN_SOURCES_MAX 32     /* per account: sources that logged in successfully before */
#define VAULT_KNOWN_SOURCE_TTL_S (90 * 24 * 3600)
#define VAULT_CEILING_WINDOW_S 3600 /* the account-wide ceiling counts failures in this window */

/* Hash password with Argon2id (libsodium crypto_pwhash_str, the project's chosen parameters, see
 * docs) into out (VAULT_HASH_BYTES). */
int vault_password_hash(const char *password, char out[VAULT_HASH_BYTES]) SAFECAM_WUR;

/* Check password against an encoded Argon2id hash in constant time (libsodium).
 * 0 when it matches, SAFECAM_ERR_DENIED when not, SAFECAM_ERR_INVAL for NULL or a malformed hash. */
int vault_password_verify(const char *hash, const char *password) SAFECAM_WUR;

/* TEST ONLY: lower the Argon2id cost used by vault_password_hash (e.g. opslimit 1, memlimit 8 KiB) so
 * unit tests stay fast. Never called by product code; opslimit 0 restores the defaults above. */
void vault_argon2_cost_set_for_tests(unsigned long long opslimit, size_t memlimit);

/* TEST ONLY: how many Argon2id verifies vault_password_verify ran in this process, and the encoded cost
 * parameters ("$argon2id$v=19$m=65536,t=3,p=1") of the last one. Lets tests prove that an unknown user
 * and a wrong password cost exactly the same work, without timing anything. */
void vault_password_verify_stats_for_tests(unsigned long *count, char params[64]);

/* Create DIR/vault.db (mode 0600) with one admin user `username` whose password hash is `hash`
 * (from vault_password_hash), flagged password_change_required. SAFECAM_ERR_EXISTS if the db has users
 * already and force == 0; with force != 0 the db is recreated (factory reset). */
int vault_store_provision(const char *state_dir, const char *username, const char *hash,
                          int force) SAFECAM_WUR;

/* Factory reset (lib/vault/factory.c), run with every process that uses the state dir stopped:
 * a crypto-erase back to the state the device left the factory in. Removes vault.db (users, sessions,
 * lockouts, security settings), config.json (+ last-good), audit.db and DIR/captures; overwrites the
 * storage key in place and writes a new one (whatever it sealed — the TLS key, the captures — can never
 * be opened again); makes a new TLS key and certificate; recreates the one admin account from
 * factory/initial_admin.json (the label's initial password, change required at first login); starts a new
 * audit log with a factory_reset event (actor/source may be NULL). Kept: factory/device.json, the
 * initial password hash, vendor update keys and CA, update/ (anti-rollback floor, revocations), slots/.
 * Power-loss safe: DIR/factory-reset.pending is written first and removed last; the supervisor calls this
 * again at start while it exists (vault_factory_reset_pending). Refuses before touching anything when
 * device.json or initial_admin.json is missing or malformed (SAFECAM_ERR_NOTFOUND/INVAL); else
 * SAFECAM_ERR_IO/NOMEM/INTERNAL. QCVN 135 G9 / EN 303 645 5.11-1. */
int vault_factory_reset(const char *state_dir, const char *actor, const char *source) SAFECAM_WUR;
/* 1 when a factory reset was started and not finished (DIR/factory-reset.pending exists), else 0. */
int vault_factory_reset_pending(const char *state_dir);

/* 1 if name is a valid username: 1..VAULT_USERNAME_MAX chars of [a-z0-9._-] starting with a letter. */
int vault_username_valid(const char *name);
/* 1 if role is "admin", "operator" or "viewer". */
int vault_role_valid(const char *role);
/* 1 if source is 1..VAULT_SOURCE_MAX bytes of [0-9A-Za-z.:%_-] (an address as text). */
int vault_source_valid(const char *source);

/* ---------------- the vault object ---------------- */

typedef struct vault vault;

/* Security settings (all configurable by an administrator, persisted in vault.db). Ranges in
 * vault_settings_set_json(). Defaults: QCVN 135 / Decision 724. */
struct vault_settings {
    long lockout_threshold;    /* failures within the window that lock an (account, source): 5 */
    long lockout_window_s;     /* 30 */
    long lockout_duration_s;   /* 300 */
    long account_hourly_limit; /* failures per hour per account before unknown sources are refused: 100 */
    long session_idle_s;       /* 900 */
    long session_absolute_s;   /* 28800 */
    long password_min_length;  /* 8 */
};

/* Open DIR/vault/vault.db (must exist: made by vault_store_provision; mode forced to 0600, WAL), load the
 * device identity (factory/device.json, for the password policy context), open the CSRF key sealed
 * under storage_key (SEAL_KEY_BYTES, the caller's; a clear key from an older store is sealed now) and
 * build the dummy Argon2id hash used for unknown usernames. audit may be NULL (no events recorded); it stays owned by the caller
 * and must outlive the vault. *out owned by caller (vault_close).
 * Errors: SAFECAM_ERR_NOTFOUND (not provisioned), SAFECAM_ERR_IO, SAFECAM_ERR_CRYPTO (the sealed key does
 * not open), SAFECAM_ERR_INTERNAL. */
int vault_open(const char *state_dir, audit_log *audit, const uint8_t *storage_key, vault **out) SAFECAM_WUR;
void vault_close(vault *v);

/* TEST ONLY: replace the wall clock (Unix seconds) used by lockout and sessions. fn NULL restores it. */
void vault_clock_set(vault *v, int64_t (*fn)(void *ctx), void *ctx);

/* Result of a credential check. Strings NUL-terminated; session fields only for vault_login. */
struct vault_auth {
    char username[VAULT_USERNAME_MAX + 1];
    char role[VAULT_ROLE_MAX];
    int password_change_required;
    int64_t retry_after; /* seconds, set with SAFECAM_ERR_LOCKED */
    char session_id[VAULT_TOKEN_HEX + 1];
    char csrf_token[VAULT_TOKEN_HEX + 1];
};

/* Verify username/password from source, applying the lockout (docs/lockout.md), and on success start a
 * new session (fresh 256-bit id and CSRF token) when create_session != 0. surface ("web", "rtsp", ...)
 * goes into the audit detail. Unknown usernames and wrong passwords answer alike (one Argon2id verify
 * either way, against a dummy hash for unknown names) and count alike.
 * Returns 0, SAFECAM_ERR_DENIED (invalid credentials), SAFECAM_ERR_LOCKED (out->retry_after set),
 * SAFECAM_ERR_INVAL (argument not a string of allowed length: nothing counted). QCVN 135 G1 brute
 * force / EN 303 645 5.1-5. The caller wipes the password. */
int vault_login(vault *v, const char *username, const char *password, const char *source, const char *surface,
                int create_session, struct vault_auth *out) SAFECAM_WUR;

/* Session state as seen by a check. */
struct vault_session_info {
    char username[VAULT_USERNAME_MAX + 1];
    char role[VAULT_ROLE_MAX];
    int password_change_required;
    int csrf_ok; /* 1 only if a csrf token was given and matches (constant time) */
    char csrf_token[VAULT_TOKEN_HEX + 1]; /* the session's CSRF token (derived, never stored) */
};

/* Look up a session by its hex id (VAULT_TOKEN_HEX lowercase hex). Ends it (audit session_end) if idle
 * or absolute timeout passed. touch != 0 resets the idle timer. csrf_token may be NULL.
 * Returns 0 or SAFECAM_ERR_NOTFOUND (unknown, malformed, expired). */
int vault_session_check(vault *v, const char *session_id, const char *csrf_token, int touch,
                        struct vault_session_info *out) SAFECAM_WUR;

/* End a session (logout). 0 also when it is already gone. source may be NULL (audit only). */
int vault_session_end(vault *v, const char *session_id, const char *source) SAFECAM_WUR;

/* End expired sessions and drop stale lockout rows. Called periodically by the vault process. */
int vault_housekeeping(vault *v) SAFECAM_WUR;

/* Number of live sessions of username (tests, diagnostics). */
int vault_session_count(vault *v, const char *username, long *count_out) SAFECAM_WUR;

/* Change the password of `username`, acting as the owner of session_id, re-authenticating with the
 * actor's own current_password (which counts against the lockout like a login from source).
 * A non-admin may change only their own password. The new password must pass the password policy and
 * differ from the current one (reasons[] filled, SAFECAM_ERR_POLICY; extra reason "same_as_current").
 * Clears password_change_required; ends every other session of `username`.
 * Errors: SAFECAM_ERR_NOTFOUND (no session; *not_found_user set to 1 when the target user is missing),
 * SAFECAM_ERR_DENIED (invalid credentials), SAFECAM_ERR_LOCKED (*retry_after), SAFECAM_ERR_STATE
 * (forbidden), SAFECAM_ERR_POLICY, SAFECAM_ERR_INVAL. */
int vault_password_change(vault *v, const char *session_id, const char *username,
                          const char *current_password, const char *new_password, const char *source,
                          const char *reasons[PASSWORD_REASONS_MAX + 1], size_t *n_reasons,
                          int64_t *retry_after, int *not_found_user) SAFECAM_WUR;

/* ---- users (the caller has checked that the actor is an admin; vault_service does) ---- */
/* New JSON array [{"username","role","password_change_required"}] sorted by name (caller decrefs). */
int vault_user_list(vault *v, json_t **out) SAFECAM_WUR;
/* Create a user; the password must pass the policy (reasons as vault_password_change). The new user
 * must change the password at first login (password_change_required = 1).
 * Errors: SAFECAM_ERR_INVAL (invalid username), SAFECAM_ERR_STATE (invalid role),
 * SAFECAM_ERR_EXISTS, SAFECAM_ERR_POLICY, SAFECAM_ERR_TOOBIG (VAULT_USERS_MAX reached). */
int vault_user_create(vault *v, const char *username, const char *password, const char *role,
                      const char *actor, const char *reasons[PASSWORD_REASONS_MAX + 1],
                      size_t *n_reasons) SAFECAM_WUR;
/* Change a user's role. SAFECAM_ERR_NOTFOUND, SAFECAM_ERR_STATE (invalid role), SAFECAM_ERR_DENIED
 * (would demote the last admin). */
int vault_user_update(vault *v, const char *username, const char *role, const char *actor) SAFECAM_WUR;
/* Delete a user and end their sessions. SAFECAM_ERR_NOTFOUND, SAFECAM_ERR_DENIED (last admin). */
int vault_user_delete(vault *v, const char *username, const char *actor) SAFECAM_WUR;

/* ---- settings ---- */
int vault_settings_get(vault *v, struct vault_settings *out) SAFECAM_WUR;
/* New JSON object of the settings (caller decrefs). */
int vault_settings_to_json(const struct vault_settings *s, json_t **out) SAFECAM_WUR;
/* Apply a subset {name: integer} all-or-nothing. On SAFECAM_ERR_INVAL *bad_field names the field and
 * min/max its range ("invalid_setting"); on SAFECAM_ERR_NOTFOUND *bad_field is the unknown field
 * (a pointer into `subset`, valid while it lives). Ranges: lockout_threshold 3..20, lockout_window_s
 * 10..3600, lockout_duration_s 60..86400, account_hourly_limit 10..10000, session_idle_s 60..86400
 * (and <= session_absolute_s), session_absolute_s 300..604800, password_min_length 8..64. */
int vault_settings_set_json(vault *v, const json_t *subset, const char *actor, const char **bad_field,
                            long *min, long *max) SAFECAM_WUR;

/* ---------------- captures (lib/vault/capture.c) ----------------
 * Stored snapshots, the camera's user data: each a JPEG sealed under the storage key (seal.h, label
 * "capture:<id>", so a file copied under another id does not open) in DIR/captures/<id>.sealed
 * (dir 0700, file 0600, written atomically) and listed in the captures table of vault.db. Factory reset destroys the key: crypto-erase. The caller (vault_service)
 * has checked the session and role. QCVN 135 G9, G10 / EN 303 645 5.4-1, 5.11-1. */
/* ---------------- integration accounts (integrations.c; docs/integrations.md) ----------------
 * Recorders and ONVIF clients: a name in the users' namespace (vault_username_valid, unique across people
 * and integrations), the viewer role, and a camera-generated secret sealed under the storage key (key:
 * SEAL_KEY_BYTES) so that WS PasswordDigest and RTSP Digest can be checked without storing any person's
 * password recoverably. QCVN 135 G1, brute force / EN 303 645 5.1-1, 5.1-5. */
#define VAULT_INTEGRATIONS_MAX 32
#define VAULT_INTEGRATION_SECRET_CHARS 24 /* letters, digits and "-_.~": about 141 bits */
#define VAULT_INTEGRATION_SECRET_BUF (VAULT_INTEGRATION_SECRET_CHARS + 1)

/* Create name with a new secret, written to secret (the only time it leaves the vault; the caller wipes it).
 * Audited integration_create (actor, source may be NULL). SAFECAM_ERR_INVAL (bad name), SAFECAM_ERR_EXISTS
 * (a person or an integration has that name), SAFECAM_ERR_TOOBIG (VAULT_INTEGRATIONS_MAX), SAFECAM_ERR_IO. */
int vault_integration_create(vault *v, const uint8_t *key, const char *name, const char *actor,
                             const char *source, char secret[VAULT_INTEGRATION_SECRET_BUF]) SAFECAM_WUR;
/* Replace the secret of name (the old one stops working at once). SAFECAM_ERR_NOTFOUND when no such account. */
int vault_integration_rotate(vault *v, const uint8_t *key, const char *name, const char *actor,
                             const char *source, char secret[VAULT_INTEGRATION_SECRET_BUF]) SAFECAM_WUR;
/* Delete name and its lockout rows. SAFECAM_ERR_NOTFOUND, SAFECAM_ERR_INVAL. Audited integration_delete. */
int vault_integration_delete(vault *v, const char *name, const char *actor, const char *source) SAFECAM_WUR;
/* [{"username","role","created_at","last_used_at"}] by name; never the secret. *out new reference. */
int vault_integration_list(vault *v, json_t **out) SAFECAM_WUR;
/* 1 when name is an integration account. */
int vault_integration_is(vault *v, const char *name);
/* The secret as a password (RTSPS Basic, WS PasswordText, both inside TLS), compared in constant time.
 * Lockout first (SAFECAM_ERR_LOCKED, out->retry_after), SAFECAM_ERR_DENIED (counted, audited), 0 (out:
 * username, role "viewer"; audited, last_used_at). surface: "rtsp", "onvif". */
int vault_integration_auth(vault *v, const uint8_t *key, const char *name, const char *password,
                           const char *source, const char *surface, struct vault_auth *out) SAFECAM_WUR;
/* WS-UsernameToken PasswordDigest (wsse.h) for an integration account at the vault's clock. 0 (out filled);
 * SAFECAM_ERR_LOCKED (*why "locked"); SAFECAM_ERR_DENIED (*why "credentials", "nonce" (missing or
 * malformed), "created"); SAFECAM_ERR_TIMEOUT (*why "stale": Created outside +-WSSE_WINDOW_S);
 * SAFECAM_ERR_EXISTS (*why "replay": the nonce was accepted before); SAFECAM_ERR_BUSY (*why "busy": the
 * nonce cache is full of unexpired nonces; not counted); SAFECAM_ERR_INVAL (malformed name/source, not
 * counted). Every other refusal counts toward the lockout and is audited with its reason. */
int vault_wsse_digest_check(vault *v, const uint8_t *key, const char *name, const char *nonce_b64,
                            const char *created, const char *digest_b64, const char *source,
                            struct vault_auth *out, const char **why) SAFECAM_WUR;
/* Capacity of the nonce cache (tests; 0 = WSSE_NONCE_CACHE_MAX). Before the first digest check only. */
void vault_wsse_nonce_capacity_set(vault *v, size_t capacity);

/* HTTP and RTSP Digest (RFC 7616 with MD5 or SHA-256, RFC 2617): what the client sent in its Authorization
 * header, plus the request's method. The nonce is the camera's: RTSP's is made and bound to the connection by the
 * media process, HTTP's is made, bound to time and checked for authenticity by the web process
 * (lib/http/digest.c) before it asks the vault. */
#define VAULT_DIGEST_HEX_MAX 64 /* a SHA-256 response in hex; MD5's is 32 */
struct vault_digest_request {
    const char *username, *realm, *nonce, *uri, *method, *response; /* response: 32 or 64 hex */
    const char *algorithm; /* NULL, "" or "MD5"; "SHA-256" */
    const char *qop, *nc, *cnonce; /* qop NULL/"" = RFC 2069 form; else "auth" with nc and cnonce */
    const char *surface;   /* "rtsp" (NULL) or "http": the lockout's and the audit's surface */
    int64_t replay_window_s; /* > 0: qop=auth with an 8-hex nc and a cnonce are required, and each (nonce, nc)
                              * is accepted once within this many seconds (a second use: refused, "replay") */
    const char *source;
};
/* response = H(H(user:realm:secret):nonce[:nc:cnonce:qop]:H(method:uri)) as lower-case hex, H = MD5 or
 * SHA-256 (algorithm). SAFECAM_ERR_INVAL for another algorithm or a missing field. */
int vault_digest_response(const char *username, const char *realm, const char *secret, const char *algorithm,
                          const char *method, const char *uri, const char *nonce, const char *nc,
                          const char *cnonce, const char *qop, char out[VAULT_DIGEST_HEX_MAX + 1]) SAFECAM_WUR;
/* Check a Digest response for an integration account (same lockout and audit as vault_integration_auth, on
 * d->surface). People have no recomputable secret: their names are refused like wrong responses. Lockout first
 * (SAFECAM_ERR_LOCKED, *why "locked"); SAFECAM_ERR_DENIED (counted and audited; *why "credentials", "replay",
 * "nc" or "nonce"); SAFECAM_ERR_BUSY (the nonce cache is full; not counted); SAFECAM_ERR_INVAL (malformed name,
 * source or surface; not counted); 0 (out filled, audited, last_used_at). EN 303 645 5.1-5, QCVN 135 G1. */
int vault_integration_digest_check(vault *v, const uint8_t *key, const struct vault_digest_request *d,
                                   struct vault_auth *out, const char **why) SAFECAM_WUR;

#define VAULT_CAPTURES_MAX 200                          /* captures on one camera */
#define VAULT_CAPTURE_MAX_BYTES (4u * 1024u * 1024u)    /* one JPEG, bytes */
#define VAULT_CAPTURE_ID_HEX 32                         /* id: 128 random bits as lower-case hex */

struct vault_capture {
    char id[VAULT_CAPTURE_ID_HEX + 1];
    int64_t created_at; /* Unix seconds (the vault's clock) */
    int64_t size;       /* bytes of the JPEG */
};

/* 1 if id is exactly VAULT_CAPTURE_ID_HEX lower-case hex digits, else 0. */
int vault_capture_id_valid(const char *id);
/* Store the JPEG held by fd (a memfd or regular file; read with pread from offset 0, at most
 * VAULT_CAPTURE_MAX_BYTES + 1 bytes; the fd stays the caller's). storage_key: SEAL_KEY_BYTES. *out gets
 * the new id, time and size. Errors: SAFECAM_ERR_INVAL (not a regular file, unreadable, or not starting
 * with the JPEG SOI marker FF D8 FF), SAFECAM_ERR_TOOBIG (over VAULT_CAPTURE_MAX_BYTES),
 * SAFECAM_ERR_STATE (VAULT_CAPTURES_MAX stored already), SAFECAM_ERR_IO (storage). Nothing is left
 * behind on failure. Not audited (only deletions are). */
int vault_capture_store(vault *v, const uint8_t *storage_key, int fd, struct vault_capture *out) SAFECAM_WUR;
/* New JSON array [{"id","created_at","size"}] newest first (caller decrefs). */
int vault_capture_list(vault *v, json_t **out) SAFECAM_WUR;
/* Unseal capture id into a new memfd (MFD_CLOEXEC, offset 0; *fd_out owned by the caller) of *size_out
 * bytes. Errors: SAFECAM_ERR_INVAL (malformed id), SAFECAM_ERR_NOTFOUND (no such capture, or its file
 * is gone), SAFECAM_ERR_IO (cannot read or unseal: tampered file, other key). */
int vault_capture_open(vault *v, const uint8_t *storage_key, const char *id, int *fd_out,
                       int64_t *size_out) SAFECAM_WUR;
/* Delete capture id, or every capture when id is NULL: each file is overwritten with zeros and fsync'd
 * before it is unlinked (delete-all also erases any other file left in DIR/captures), then the rows go.
 * Records a data_delete audit event ("capture <id>" / "all captures (N)") with actor and source (either
 * may be NULL). *deleted gets the number of captures removed. Errors: SAFECAM_ERR_INVAL (malformed id),
 * SAFECAM_ERR_NOTFOUND, SAFECAM_ERR_IO (nothing of the failing capture's row is removed). */
int vault_capture_delete(vault *v, const char *id, const char *actor, const char *source,
                         long *deleted) SAFECAM_WUR;

/* ---------------- recordings (lib/vault/recording.c; format: safecam/record.h) ----------------
 * Each recording segment has its own random key; the vault wraps it under the storage key (seal.h, label
 * "recording:<id hex>:<start_ms>") and the media process keeps the wrapped key in the segment's header.
 * Playback keys never leave the vault. QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. */
/* A fresh segment key for segment id starting at start_ms (>= 0), and its wrapped form. Errors: INVAL,
 * CRYPTO, NOMEM. key is the caller's to wipe. */
int vault_recording_key_new(const uint8_t *storage_key, const uint8_t id[16], int64_t start_ms, uint8_t key[32],
                            uint8_t wrapped[76]) SAFECAM_WUR;
/* Open the sealed segment held by in_fd (a regular file, read with pread; the fd stays the caller's): its
 * header must name want_id and its wrapped key must open under the storage key for that id and start.
 * The clear MP4 (up to the last complete fragment of a cut-off file) goes to a new memfd (*fd_out, offset 0,
 * owned by the caller) of *size_out bytes; *complete = 1 when the segment was finished. Errors:
 * SAFECAM_ERR_INVAL (not a regular file), SAFECAM_ERR_CRYPTO (another id, edited, other key, nothing
 * recoverable), SAFECAM_ERR_TOOBIG, SAFECAM_ERR_IO. */
int vault_recording_open(const uint8_t *storage_key, int in_fd, const uint8_t want_id[16], int *fd_out,
                         uint64_t *size_out, int *complete) SAFECAM_WUR;
/* ---------------- linked services (lib/vault/linked.c) ---------------- */
/* The stored linked-service settings without secrets: {"data_location", "mqtt":{..., "password_set"},
 * "webdav":{..., "password_set"}} ("data_location":"unset" and no service when nothing is stored). The caller
 * owns *public_out. SAFECAM_ERR_CRYPTO when the sealed file does not open under key. */
int vault_linked_get(const char *state_dir, const uint8_t *key, json_t **public_out) SAFECAM_WUR;
/* Validate in (link_settings_validate: SAFECAM_ERR_INVAL with the field's dotted name in field, nothing
 * written), merge it over the stored settings (a service object replaces the stored one, keeping the stored
 * password when none is given; an empty object {} removes that service, its password included) and seal the result under key into DIR/vault/linked.sealed atomically.
 * QCVN 135 G4, G7. */
int vault_linked_set(const char *state_dir, const uint8_t *key, const json_t *in, char *field,
                     size_t field_size) SAFECAM_WUR;
/* The stored settings WITH the passwords (for the link process only: PROTO_VAULT_LINK_SETTINGS); {} when none.
 * The caller owns *out and wipes nothing (jansson strings): it frees it at once after sending. */
int vault_linked_full(const char *state_dir, const uint8_t *key, json_t **out) SAFECAM_WUR;
/* webdav.upload of settings as vault_linked_full gives them (enum link_upload_mode; motion when never set), or -1
 * when no WebDAV folder is configured. What the vault hands the link process follows it. */
int vault_linked_upload_mode(const json_t *full);
/* 1 when settings (as vault_linked_full gives them) configure a service: mqtt with url and topic, or
 * webdav with url; else 0. */
int vault_linked_configured(const json_t *full);

/* ---------------- the vault's IPC service (used by daemon/vault.c) ---------------- */

/* What the request handlers need. The caller owns every member and sets them before dispatching. */
/* The tamper-evident audit log (lib/vault/audit_chain.c, docs/audit.md; QCVN 135 G10 / EN 303 645 5.5-x).
 * vault_audit_verify: walk audit.db's chain against vault.db's MACed copy of its head (streaming, reads only
 * audit.db) into *out; also kept as the status GET /api/v1/events shows. 0 or an I/O error code.
 * vault_audit_status_json: {"status":"intact","events","head":{"id","hash"}} | {"status":"broken",
 * "first_bad_id","reason"} | {"status":"unknown"} (new reference).
 * vault_audit_export: the rows and the chain as JSON lines in a new memfd (*fd_out, caller closes; *size_out
 * bytes): a header line, one line per row, then {"signature","algorithm","signed_bytes","certificate"}: the
 * device TLS key's signature (ECDSA P-256 with SHA-256) over every byte before that last line. */
int vault_audit_verify(vault *v, struct audit_verify_result *out) SAFECAM_WUR;
json_t *vault_audit_status_json(const vault *v);
json_t *vault_audit_result_json(const struct audit_verify_result *r); /* the same shape for one result */
int vault_audit_export(vault *v, const uint8_t *storage_key, int *fd_out, int64_t *size_out) SAFECAM_WUR;

#define VAULT_LINK_FORWARDED_MAX 64 /* the link process's upload queue holds 64 entries */
#define VAULT_LINK_DECRYPT_MIN_MS 250 /* one clear copy at most this often (each up to 64 MiB of work) */

struct vault_service {
    vault *v;
    audit_log *audit;
    const char *state_dir;
    const uint8_t *storage_key; /* SEAL_KEY_BYTES, sodium_malloc'd by the caller */
    /* the user of the session the dispatcher checked for the request being served (IPC_ADMIN and
     * IPC_NEEDS_SESSION rows): the audited actor, never one the request claims */
    char caller[VAULT_USERNAME_MAX + 1];
    /* Set by vault_service_workers_start (NULL: logins are verified inline, as unit tests dispatch them). */
    struct vault_workers *workers;
    struct vault_admission *admission;
    /* The channel a late answer goes to now (the ipc_child's table: ipc_child_fd), or -1 when gone. */
    int (*channel_fd)(void *ctx, unsigned peer);
    void *channel_ctx;
    /* Bumped by the caller whenever the channel of a peer is replaced or closed (index: the peer's bit
     * number, vault_service_channel_changed): a late answer goes only to the channel its request came on,
     * never to a restarted peer that may use the same request id for another call. */
    unsigned channel_gen[8];
    /* The segments handed to the link process for upload (PROTO_LINK_UPLOAD): the only ones it may ask the clear
     * copy of (PROTO_VAULT_RECORDING_DECRYPT), the latest VAULT_LINK_FORWARDED_MAX; and when it last asked. */
    char link_forwarded[VAULT_LINK_FORWARDED_MAX][33];
    unsigned link_forwarded_next;
    int64_t link_decrypt_last_ms;
    /* vault_linked_upload_mode of the stored settings, kept by vault_service_link_notify (at start and after each
     * change), so a finished segment costs no read of the sealed settings; 0 (off) until then. */
    int link_upload_mode;
};

/* A peer's channel was replaced or closed (ipc_child_config.channel_changed): answers still owed on the old
 * channel are dropped when their verify is done. */
void vault_service_channel_changed(struct vault_service *svc, unsigned peer);

/* Tell the supervisor whether a linked service is configured (PROTO_SUP_LINK_STATE) and, when the link
 * process runs, send it the stored settings with their passwords (PROTO_LINK_CONFIGURE). Called when the
 * vault starts and after each PROTO_VAULT_LINKED_SET. docs/linked-services.md. */
void vault_service_link_notify(struct vault_service *svc);
/* The audit log's append hook (audit_log_on_append, ctx: the vault_service): hands {"type","time"} of each
 * appended event of the types the owner is told about (failed logins, lockouts, motion, starts and restarts,
 * updates, stream/recording errors) to the link process when it runs (PROTO_LINK_EVENT; a send that would block more than
 * IPC_SEND_TIMEOUT_MS is logged and the event dropped). QCVN 135 G7 / EN 303 645 5.8-2 (only these fields). */
void vault_service_link_event(void *ctx, const char *type, int64_t time);

/* Start the hash workers (VAULT_HASH_WORKERS threads: checks from sources that logged in before on their own,
 * the others on VAULT_HASH_WORKERS_UNTRUSTED at nice +VAULT_HASH_UNTRUSTED_NICE) and the admission budget
 * (VAULT_ADMIT_*) of svc: from then on PROTO_VAULT_LOGIN and PROTO_VAULT_AUTH_CHECK are answered late
 * (IPC_HANDLER_DEFERRED): the request loop checks the request and the lockout, admits it or answers
 * {"error":"busy","retry_after":N} at once, and a worker runs the Argon2id verify;
 * vault_service_workers_finish sends the answers. svc->channel_fd must be set. Errors: SAFECAM_ERR_INVAL,
 * SAFECAM_ERR_NOMEM, SAFECAM_ERR_IO, SAFECAM_ERR_INTERNAL (threads).
 * QCVN 135 brute force / EN 303 645 5.1-5 (docs/lockout.md "Hash workers and admission"). */
int vault_service_workers_start(struct vault_service *svc) SAFECAM_WUR;
/* The descriptor that polls readable when verifications finished (-1 without workers). */
int vault_service_workers_fd(const struct vault_service *svc);
/* Finish what the workers verified (lockout, audit, session, re-hash) and send each answer to its channel. */
void vault_service_workers_finish(struct vault_service *svc);
/* Stop the workers (the verify in progress completes; queued requests get no answer: the callers time out or
 * see the channel close) and free them. */
void vault_service_workers_stop(struct vault_service *svc);

/* The dispatcher of the vault process: every PROTO_VAULT_* request, each with its narrowest allowed peers
 * and its policy flags (admin session, any session, once), and the session hook that enforces them (the
 * supervisor's heartbeat/channel/shutdown are the child-side rows of include/safecam/ipc_child.h). ctx for
 * ipc_dispatcher_run is a struct vault_service *; keep one struct ipc_channel_state per channel (the
 * ipc_child does, for the channels it serves with it). */
const struct ipc_dispatcher *vault_service_dispatcher(void);

#endif
