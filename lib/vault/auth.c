/* auth.c — password logins (web and RTSP alike) and password changes: lockout check, one Argon2id verify
 * (against a dummy hash for unknown names), audit, session start. Runs in the vault process; handles
 * plaintext passwords from untrusted clients, never logs them. QCVN 135 G1 and brute force /
 * EN 303 645 5.1-1, 5.1-5; checker BF-01..06, PW-05, SM-03, SM-06. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "vault_internal.h"


static int surface_valid(const char *surface)
{
    static const char *const ok[] = {"web", "rtsp", "onvif", "api"};
    if (!surface)
        return 1;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(ok); i++)
        if (strcmp(surface, ok[i]) == 0)
            return 1;
    return 0;
}

/* The key under which failures of `name` are counted and audited. A name that cannot be a username
 * (wrong characters: often a password typed into the name field) is never stored or logged as typed:
 * it is replaced by "~" + 32 hex digits of its BLAKE2b digest, which counts it just the same. */
static void account_key(const char *name, char out[VAULT_USERNAME_MAX + 2])
{
    if (vault_username_valid(name) && safecam_strlcpy(out, name, VAULT_USERNAME_MAX + 2) == 0)
        return;
    uint8_t d[16];
    crypto_generichash(d, sizeof d, (const uint8_t *)name, strlen(name), NULL, 0);
    out[0] = '~';
    sodium_bin2hex(out + 1, VAULT_USERNAME_MAX + 1, d, sizeof d);
}

/* The key under which failures from `source` are counted. An IPv6 client usually owns a whole /64 and
 * can rotate through it, so global IPv6 addresses count per /64 ("2001:db8:1:2::/64"); IPv4, IPv4-mapped
 * and loopback addresses (and anything that is not an address) count as given. */
static void source_key(const char *source, char out[VAULT_SOURCE_MAX + 1])
{
    struct in6_addr a;
    if (inet_pton(AF_INET6, source, &a) == 1 && !IN6_IS_ADDR_V4MAPPED(&a) && !IN6_IS_ADDR_LOOPBACK(&a)) {
        char text[INET6_ADDRSTRLEN];
        memset(a.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a, text, sizeof text) &&
            safecam_fmt(out, VAULT_SOURCE_MAX + 1, "%s/64", text) == 0)
            return;
    }
    if (safecam_strlcpy(out, source, VAULT_SOURCE_MAX + 1) != 0)
        out[0] = '\0';
}

void vault_auth_keys(const char *name, const char *source, char key[VAULT_USERNAME_MAX + 2],
                     char src[VAULT_SOURCE_MAX + 1])
{
    account_key(name, key);
    source_key(source, src);
}

static int login_args_valid(const char *username, const char *password, const char *source)
{
    if (!username || !password || !source)
        return 0;
    size_t ulen = strnlen(username, LOGIN_NAME_MAX_BYTES + 1);
    if (ulen < 1 || ulen > LOGIN_NAME_MAX_BYTES || !safecam_utf8_valid(username, ulen))
        return 0;
    if (strnlen(password, PASSWORD_MAX_BYTES + 1) > PASSWORD_MAX_BYTES)
        return 0;
    return vault_source_valid(source);
}

/* ---------------- a login in three steps (the service runs the middle one on a hash worker) ---------------- */

int vault_login_begin(vault *v, const char *username, const char *password, const char *source,
                      const char *surface, int create_session, struct vault_login_work *w, int64_t *retry_after)
{
    struct vault_settings s;
    int rc;
    if (!v || !w || !retry_after)
        return SAFECAM_ERR_INVAL;
    memset(w, 0, sizeof *w);
    *retry_after = 0;
    if (!login_args_valid(username, password, source) || !surface_valid(surface))
        return SAFECAM_ERR_INVAL;
    rc = vault_settings_get(v, &s);
    if (rc != 0)
        return rc;
    if (safecam_strlcpy(w->username, username, sizeof w->username) != 0 ||
        safecam_strlcpy(w->source, source, sizeof w->source) != 0 ||
        safecam_strlcpy(w->surface, surface ? surface : "web", sizeof w->surface) != 0 ||
        safecam_strlcpy(w->password, password, sizeof w->password) != 0) {
        sodium_memzero(w, sizeof *w);
        return SAFECAM_ERR_INVAL;
    }
    w->create_session = create_session;
    account_key(username, w->key);
    source_key(source, w->src);
    rc = lockout_check(v, &s, w->key, w->src, retry_after);
    if (rc == 0 && vault_username_valid(username)) {
        rc = vault_user_get(v, username, w->hash, w->role, &w->pcr);
        if (rc == 0)
            w->known = 1;
        else if (rc == SAFECAM_ERR_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = lockout_source_trust(v, w->key, w->src, &w->trusted, &w->lane_trusted);
    if (rc != 0) {
        sodium_memzero(w, sizeof *w);
        return rc; /* locked: the password is not even looked at */
    }
    /* Exactly one Argon2id verify on every path: unknown names use the dummy hash. */
    if (!w->known && safecam_strlcpy(w->hash, v->dummy_hash, sizeof w->hash) != 0) {
        sodium_memzero(w, sizeof *w);
        return SAFECAM_ERR_INTERNAL;
    }
    return 0;
}

void vault_login_work_run(struct vault_login_work *w)
{
    w->verify_rc = vault_password_verify(w->hash, w->password);
    w->rehashed = 0;
    /* Upgrade a hash made with other parameters while the plaintext is at hand (stored by the finish). */
    if (w->known && w->verify_rc == 0 && vault_password_needs_rehash(w->hash) &&
        vault_password_hash(w->password, w->fresh) == 0)
        w->rehashed = 1;
    sodium_memzero(w->password, sizeof w->password);
}

int vault_login_finish(vault *v, struct vault_login_work *w, struct vault_auth *out)
{
    struct vault_settings s;
    char detail[64];
    char now_hash[VAULT_HASH_BYTES];
    int rc, match;
    if (!v || !w || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    sodium_memzero(w->password, sizeof w->password);
    rc = vault_settings_get(v, &s);
    if (rc != 0)
        goto out;
    /* The loop served other requests meanwhile: a lock that began since (a concurrent failure of the same
     * pair) wins, and a password changed or an account deleted since makes this verify moot — the client asks
     * again (busy: counted neither as failure nor success). */
    rc = lockout_check(v, &s, w->key, w->src, &out->retry_after);
    if (rc != 0)
        goto out;
    if (w->known) {
        rc = vault_user_get(v, w->username, now_hash, w->role, &w->pcr);
        if (rc == 0 && strncmp(now_hash, w->hash, sizeof now_hash) != 0)
            rc = SAFECAM_ERR_NOTFOUND;
        sodium_memzero(now_hash, sizeof now_hash);
        if (rc == SAFECAM_ERR_NOTFOUND) {
            out->retry_after = 1;
            rc = SAFECAM_ERR_BUSY;
        }
        if (rc != 0)
            goto out;
    }
    if (safecam_fmt(detail, sizeof detail, "surface=%s", w->surface) != 0)
        detail[0] = '\0';
    match = w->known && w->verify_rc == 0;
    if (w->verify_rc != 0 && w->verify_rc != SAFECAM_ERR_DENIED)
        log_err("vault: a stored hash is malformed");
    if (!match) {
        rc = lockout_record_failure(v, &s, w->key, w->src);
        if (rc != 0)
            goto out;
        vault_audit(v, AUDIT_LOGIN_FAILURE, w->key, w->source, detail);
        rc = SAFECAM_ERR_DENIED;
        goto out;
    }
    rc = lockout_record_success(v, w->key, w->src);
    if (rc != 0)
        goto out;
    if (w->rehashed && vault_user_set_hash(v, w->username, w->fresh, w->pcr) != 0)
        log_warn("vault: cannot store a rehashed password");
    out->password_change_required = w->pcr;
    rc = safecam_strlcpy(out->role, w->role, sizeof out->role);
    if (rc == 0)
        rc = safecam_strlcpy(out->username, w->username, sizeof out->username);
    if (rc == 0 && w->create_session)
        rc = session_create(v, w->username, out->session_id, out->csrf_token);
    if (rc != 0)
        goto out;
    if (safecam_fmt(detail, sizeof detail, "surface=%s%s", w->surface,
                    out->password_change_required ? " password_change_required" : "") != 0)
        detail[0] = '\0';
    vault_audit(v, AUDIT_LOGIN_SUCCESS, w->username, w->source, detail);
out:
    if (rc != 0) {
        int64_t retry = out->retry_after;
        sodium_memzero(out, sizeof *out);
        out->retry_after = retry;
    }
    sodium_memzero(w, sizeof *w);
    return rc;
}

int vault_login(vault *v, const char *username, const char *password, const char *source, const char *surface,
                int create_session, struct vault_auth *out)
{
    struct vault_login_work *w;
    int64_t retry = 0;
    if (!v || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    w = sodium_malloc(sizeof *w);
    if (!w)
        return SAFECAM_ERR_NOMEM;
    int rc = vault_login_begin(v, username, password, source, surface, create_session, w, &retry);
    if (rc == 0) {
        vault_login_work_run(w);
        rc = vault_login_finish(v, w, out);
    } else {
        out->retry_after = retry;
    }
    sodium_free(w);
    return rc;
}

/* ---------------- password change in three steps (the service runs the middle one on a hash worker) ---------------- */

int vault_pwchange_begin(vault *v, const char *session_id, const char *username, const char *current_password,
                         const char *new_password, const char *source, struct vault_pwchange_work *w,
                         int64_t *retry_after, int *not_found_user)
{
    struct vault_session_info me;
    struct vault_settings s;
    char role[VAULT_ROLE_MAX];
    int pcr = 0, rc;

    if (!v || !w || !retry_after || !not_found_user)
        return SAFECAM_ERR_INVAL;
    memset(w, 0, sizeof *w);
    *retry_after = 0;
    *not_found_user = 0;
    if (!username || !current_password || !new_password || !vault_source_valid(source) ||
        strnlen(current_password, PASSWORD_MAX_BYTES + 1) > PASSWORD_MAX_BYTES ||
        strnlen(new_password, VAULT_NEW_PASSWORD_MAX + 1) > VAULT_NEW_PASSWORD_MAX)
        return SAFECAM_ERR_INVAL;
    rc = vault_session_check(v, session_id, NULL, 1, &me);
    if (rc != 0)
        return rc;
    w->self = strcmp(me.username, username) == 0;
    if (!w->self && (strcmp(me.role, "admin") != 0 || me.password_change_required))
        return SAFECAM_ERR_STATE;
    if (!vault_username_valid(username)) {
        *not_found_user = 1;
        return SAFECAM_ERR_NOTFOUND;
    }
    if (safecam_strlcpy(w->session_id, session_id, sizeof w->session_id) != 0 ||
        safecam_strlcpy(w->me, me.username, sizeof w->me) != 0 ||
        safecam_strlcpy(w->target, username, sizeof w->target) != 0 ||
        safecam_strlcpy(w->source, source, sizeof w->source) != 0 ||
        safecam_strlcpy(w->current, current_password, sizeof w->current) != 0 ||
        safecam_strlcpy(w->fresh_pw, new_password, sizeof w->fresh_pw) != 0) {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    rc = vault_user_get(v, username, w->target_hash, NULL, NULL);
    if (rc == SAFECAM_ERR_NOTFOUND)
        *not_found_user = 1;
    if (rc != 0)
        goto out;
    rc = vault_settings_get(v, &s);
    if (rc != 0)
        goto out;
    /* Re-authenticate the actor with their own password (lockout applies as for a login). */
    account_key(me.username, w->key);
    source_key(source, w->src);
    rc = lockout_check(v, &s, w->key, w->src, retry_after);
    if (rc == 0)
        rc = vault_user_get(v, me.username, w->actor_hash, role, &pcr);
    if (rc == SAFECAM_ERR_NOTFOUND)
        rc = SAFECAM_ERR_DENIED; /* the session's user went away: as a wrong password, nothing to verify */
out:
    sodium_memzero(&me, sizeof me);
    if (rc != 0)
        sodium_memzero(w, sizeof *w);
    return rc;
}

void vault_pwchange_work_run(struct vault_pwchange_work *w)
{
    w->verify_rc = vault_password_verify(w->actor_hash, w->current);
    w->same_rc = SAFECAM_ERR_DENIED;
    w->hash_rc = SAFECAM_ERR_DENIED;
    if (w->verify_rc == 0) {
        /* only for the right current password: the new one is compared and hashed */
        w->same_rc = vault_password_verify(w->target_hash, w->fresh_pw);
        w->hash_rc = vault_password_hash(w->fresh_pw, w->new_hash);
    }
    sodium_memzero(w->current, sizeof w->current);
}

int vault_pwchange_finish(vault *v, struct vault_pwchange_work *w, const char *reasons[PASSWORD_REASONS_MAX + 1],
                          size_t *n_reasons, int64_t *retry_after, int *not_found_user)
{
    struct vault_settings s;
    struct vault_session_info me;
    char now_hash[VAULT_HASH_BYTES];
    int rc;

    if (!v || !w || !reasons || !n_reasons || !retry_after || !not_found_user)
        return SAFECAM_ERR_INVAL;
    *n_reasons = 0;
    reasons[0] = NULL;
    *retry_after = 0;
    *not_found_user = 0;
    sodium_memzero(w->current, sizeof w->current);
    rc = vault_settings_get(v, &s);
    if (rc != 0)
        goto out;
    /* Other requests ran meanwhile: the session, the lockout and both hashes are checked again. */
    rc = vault_session_check(v, w->session_id, NULL, 0, &me);
    sodium_memzero(&me, sizeof me);
    if (rc != 0)
        goto out;
    rc = lockout_check(v, &s, w->key, w->src, retry_after);
    if (rc != 0)
        goto out;
    rc = vault_user_get(v, w->me, now_hash, NULL, NULL);
    if (rc == 0 && strncmp(now_hash, w->actor_hash, sizeof now_hash) != 0)
        rc = SAFECAM_ERR_BUSY;
    if (rc == 0)
        rc = vault_user_get(v, w->target, now_hash, NULL, NULL);
    if (rc == 0 && strncmp(now_hash, w->target_hash, sizeof now_hash) != 0)
        rc = SAFECAM_ERR_BUSY;
    sodium_memzero(now_hash, sizeof now_hash);
    if (rc == SAFECAM_ERR_NOTFOUND || rc == SAFECAM_ERR_BUSY) {
        *retry_after = 1;
        rc = SAFECAM_ERR_BUSY;
    }
    if (rc != 0)
        goto out;
    if (w->verify_rc != 0) {
        if (w->verify_rc != SAFECAM_ERR_DENIED)
            log_err("vault: a stored hash is malformed");
        rc = lockout_record_failure(v, &s, w->key, w->src);
        if (rc != 0)
            goto out;
        vault_audit(v, AUDIT_LOGIN_FAILURE, w->key, w->source, "surface=web");
        rc = SAFECAM_ERR_DENIED;
        goto out;
    }
    rc = lockout_record_success(v, w->key, w->src);
    if (rc != 0)
        goto out;
    rc = vault_policy_check(v, w->target, w->fresh_pw, reasons, n_reasons);
    if (rc != 0)
        goto out;
    /* The new password must differ from the target's current one (no "change" back to the label). */
    if (w->same_rc == 0) {
        reasons[0] = "same_as_current";
        reasons[1] = NULL;
        *n_reasons = 1;
        rc = SAFECAM_ERR_POLICY;
        goto out;
    }
    rc = w->hash_rc;
    if (rc != 0)
        goto out;
    rc = vault_user_set_hash(v, w->target, w->new_hash, 0);
    if (rc != 0)
        goto out;
    rc = session_end_user(v, w->target, w->self ? w->session_id : NULL, "password_change");
    if (rc != 0)
        goto out;
    char detail[64];
    if (safecam_fmt(detail, sizeof detail, "user=%s", w->target) != 0)
        detail[0] = '\0';
    vault_audit(v, AUDIT_PASSWORD_CHANGE, w->me, w->source, detail);
out:
    sodium_memzero(w, sizeof *w);
    return rc;
}

int vault_password_change(vault *v, const char *session_id, const char *username,
                          const char *current_password, const char *new_password, const char *source,
                          const char *reasons[PASSWORD_REASONS_MAX + 1], size_t *n_reasons,
                          int64_t *retry_after, int *not_found_user)
{
    if (!v || !reasons || !n_reasons || !retry_after || !not_found_user)
        return SAFECAM_ERR_INVAL;
    *n_reasons = 0;
    reasons[0] = NULL;
    struct vault_pwchange_work *w = sodium_malloc(sizeof *w);
    if (!w)
        return SAFECAM_ERR_NOMEM;
    int rc = vault_pwchange_begin(v, session_id, username, current_password, new_password, source, w, retry_after,
                                  not_found_user);
    if (rc == 0) {
        vault_pwchange_work_run(w);
        rc = vault_pwchange_finish(v, w, reasons, n_reasons, retry_after, not_found_user);
    }
    sodium_free(w);
    return rc;
}
