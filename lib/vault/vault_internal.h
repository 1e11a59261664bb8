/* vault_internal.h — private state shared by the files of lib/vault (not installed, not a contract).
 * Trust level: runs in the vault process only. */
#ifndef SAFECAM_VAULT_INTERNAL_H
#define SAFECAM_VAULT_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "safecam/device.h"
#include "safecam/vault.h"
#include "safecam/vault_workers.h"
#include "safecam/wsse.h"

#define LOGIN_NAME_MAX_BYTES 64 /* longer names are refused as malformed input (never a user) */

struct vault {
    sqlite3 *db;
    audit_log *audit;
    char state_dir[4096];
    struct device_identity device;
    int have_device;
    char dummy_hash[VAULT_HASH_BYTES];
    uint8_t csrf_key[32]; /* per-device key: CSRF token = BLAKE2b(csrf_key, session id); meta.csrf_key */
    int64_t (*clock_fn)(void *ctx);
    void *clock_ctx;
    wsse_nonce_cache *wsse_nonces; /* WS-Security nonces accepted (integrations.c), made at first use */
    size_t wsse_nonce_capacity;    /* 0: WSSE_NONCE_CACHE_MAX */
    struct audit_verify_result audit_status; /* the last verification of the audit chain (audit_chain.c) */
    int audit_checked;
    int64_t audit_checked_at; /* wall time (s) of that verification */
};

int64_t vault_now(const vault *v);

/* auth.c: the keys under which the lockout counts failures of name from source (an invalid name becomes
 * "~" + its BLAKE2b digest; a global IPv6 source its /64). */
void vault_auth_keys(const char *name, const char *source, char key[VAULT_USERNAME_MAX + 2],
                     char src[VAULT_SOURCE_MAX + 1]);

/* hash.c: 1 when hash was made with other Argon2id parameters than the current ones. */
int vault_password_needs_rehash(const char *hash);

/* Audit helper: records and logs (never fails the caller; a failing audit log is logged). */
void vault_audit(vault *v, const char *type, const char *actor, const char *source, const char *detail);

/* The audit chain (audit_chain.c, docs/audit.md): enable it with the MAC key derived from the storage key,
 * verify it against vault.db's copy of the head and audit log_tampered when it is broken. */
int vault_audit_chain_start(vault *v, const uint8_t *storage_key) SAFECAM_WUR;

/* An Argon2id PHC string that fits VAULT_HASH_BYTES (db.c). */
int vault_hash_valid(const char *hash);

/* Store helpers (db.c; users: users.c). */
int vault_db_exec(vault *v, const char *sql) SAFECAM_WUR;
int vault_db_begin(vault *v) SAFECAM_WUR;
int vault_db_commit(vault *v) SAFECAM_WUR;
void vault_db_rollback(vault *v);
/* Fetch a user's hash/role/flag. SAFECAM_ERR_NOTFOUND when absent. hash may be NULL. */
int vault_user_get(vault *v, const char *username, char hash[VAULT_HASH_BYTES], char role[VAULT_ROLE_MAX],
                   int *pcr) SAFECAM_WUR;
int vault_user_set_hash(vault *v, const char *username, const char *hash, int pcr) SAFECAM_WUR;
/* Run the password policy with the device identity as context. reasons gets a NULL terminator. */
int vault_policy_check(vault *v, const char *username, const char *password,
                       const char *reasons[PASSWORD_REASONS_MAX + 1], size_t *n_reasons) SAFECAM_WUR;

/* Lockout (lockout.c). Check before verifying: 0 = may try, SAFECAM_ERR_LOCKED (*retry_after). */
int lockout_check(vault *v, const struct vault_settings *s, const char *account, const char *source,
                  int64_t *retry_after) SAFECAM_WUR;
/* Record one failure; audits a lockout when one starts. */
int lockout_record_failure(vault *v, const struct vault_settings *s, const char *account,
                           const char *source) SAFECAM_WUR;
/* Record a success: clears the pair's failures and remembers source as known for the account. */
int lockout_record_success(vault *v, const char *account, const char *source) SAFECAM_WUR;
int lockout_housekeeping(vault *v, const struct vault_settings *s) SAFECAM_WUR;
/* Forget everything about an account (user deleted). */
int lockout_forget_account(vault *v, const char *account) SAFECAM_WUR;

/* Whether source logged in successfully within VAULT_KNOWN_SOURCE_TTL_S to account (*for_account: the
 * admission reserve) and to any account (*for_any: the hash lane), in one query (keys as the lockout counts
 * them). */
int lockout_source_trust(vault *v, const char *account, const char *source, int *for_account,
                         int *for_any) SAFECAM_WUR;

/* auth.c: a login in three steps around its one Argon2id verify, so the service can run the verify on a hash
 * worker (vault_workers.h) while the request loop answers other requests.
 *   vault_login_begin   loop thread: checks the arguments and the lockout (SAFECAM_ERR_LOCKED, *retry_after),
 *                       fetches the stored hash (the dummy hash for an unknown name: the same cost), whether
 *                       the source is known for the account (work->trusted, for the admission reserve) and
 *                       whether it is known for any account (work->lane_trusted, for the hash worker's lane);
 *   vault_login_work_run  any thread, touches nothing but *work: the verify, and a new hash when the stored
 *                       one carries other parameters than the configured ones; wipes the password;
 *   vault_login_finish  loop thread: lockout re-checked, failure or success recorded, audit, the new hash
 *                       stored, the session started; SAFECAM_ERR_BUSY (retry_after 1) when the account's hash
 *                       changed meanwhile. Wipes *work.
 * vault_login() is the three in a row. */
struct vault_login_work {
    char username[LOGIN_NAME_MAX_BYTES + 1];
    char key[VAULT_USERNAME_MAX + 2]; /* the account key the lockout counts */
    char src[VAULT_SOURCE_MAX + 1];   /* the source key (IPv6 per /64) */
    char source[VAULT_SOURCE_MAX + 1];
    char surface[16];
    int create_session;
    int known;   /* the name is a user: hash is theirs, else the dummy hash */
    int trusted; /* source is known for the account */
    /* Source is known for some account: the hash lane. Not per account, because the lanes answer at
     * different speeds under load, and a name that exists would then answer otherwise than one that does
     * not (user enumeration: qcvn-check BF-03 saw 268 against 596 ms). */
    int lane_trusted;
    char role[VAULT_ROLE_MAX];
    int pcr;
    char hash[VAULT_HASH_BYTES];
    char password[PASSWORD_MAX_BYTES + 1];
    int verify_rc; /* set by run */
    int rehashed;  /* set by run: fresh holds the hash at the configured cost */
    char fresh[VAULT_HASH_BYTES];
};
int vault_login_begin(vault *v, const char *username, const char *password, const char *source,
                      const char *surface, int create_session, struct vault_login_work *work,
                      int64_t *retry_after) SAFECAM_WUR;
void vault_login_work_run(struct vault_login_work *work);
int vault_login_finish(vault *v, struct vault_login_work *work, struct vault_auth *out) SAFECAM_WUR;

/* auth.c: a password change in three steps, like a login (the re-authentication with the actor's current
 * password is the verify; the new password's comparison with the target's hash and its new hash are done by
 * the same worker, only after the current password matched). begin: session, rights, target, lockout;
 * finish: session, lockout and both hashes checked again (busy when a hash changed meanwhile), failure or
 * success recorded, policy, same_as_current, store, sessions ended, audit. Wipes *work. */
#define VAULT_NEW_PASSWORD_MAX 4096 /* longer is refused as invalid; the policy answers too_long below it */
struct vault_pwchange_work {
    char session_id[VAULT_TOKEN_HEX + 1];
    char me[VAULT_USERNAME_MAX + 1];
    char target[VAULT_USERNAME_MAX + 1];
    char key[VAULT_USERNAME_MAX + 2];
    char src[VAULT_SOURCE_MAX + 1];
    char source[VAULT_SOURCE_MAX + 1];
    int self;
    char actor_hash[VAULT_HASH_BYTES];
    char target_hash[VAULT_HASH_BYTES];
    char current[PASSWORD_MAX_BYTES + 1];
    char fresh_pw[VAULT_NEW_PASSWORD_MAX + 1];
    int verify_rc; /* run: the current password against the actor's hash */
    int same_rc;   /* run: the new password against the target's hash (0: the same) */
    int hash_rc;   /* run: new_hash made */
    char new_hash[VAULT_HASH_BYTES];
};
int vault_pwchange_begin(vault *v, const char *session_id, const char *username, const char *current_password,
                         const char *new_password, const char *source, struct vault_pwchange_work *work,
                         int64_t *retry_after, int *not_found_user) SAFECAM_WUR;
void vault_pwchange_work_run(struct vault_pwchange_work *work);
int vault_pwchange_finish(vault *v, struct vault_pwchange_work *work, const char *reasons[PASSWORD_REASONS_MAX + 1],
                          size_t *n_reasons, int64_t *retry_after, int *not_found_user) SAFECAM_WUR;

/* Sessions (session.c). */
int session_create(vault *v, const char *username, char id_hex[VAULT_TOKEN_HEX + 1],
                   char csrf_hex[VAULT_TOKEN_HEX + 1]) SAFECAM_WUR;
/* End all sessions of username except the one whose id hash is keep_hash_hex (may be NULL).
 * reason goes into the audit detail. */
int session_end_user(vault *v, const char *username, const char *keep_id_hex, const char *reason) SAFECAM_WUR;
/* SHA-256 of the raw 32-byte id behind id_hex, as hex. SAFECAM_ERR_NOTFOUND when id_hex is malformed. */
int session_id_digest(const char *id_hex, char digest_hex[VAULT_TOKEN_HEX + 1]) SAFECAM_WUR;

#endif
