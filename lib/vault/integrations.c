/* integrations.c — integration accounts (recorders, ONVIF clients): a name, the viewer role and a
 * camera-generated secret sealed under the device storage key (label "integration:<name>"), so that
 * WS-UsernameToken PasswordDigest and RTSP Digest, which need a secret the camera can recompute, never
 * weaken people's Argon2id hashes. Create, rotate, delete, list (without the secret), and their
 * authentication: the secret as a password (RTSPS Basic, WS PasswordText inside TLS), WS PasswordDigest
 * with the Created window and the nonce cache (wsse.c), RTSP Digest (RFC 7616/2617 MD5). Every failure
 * counts toward the same lockout as a web login; every use is audited. Runs in the vault process only;
 * the secret leaves it once, in the answer to create/rotate. QCVN 135 G1, brute force / EN 303 645 5.1-1,
 * 5.1-5; docs/integrations.md. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safecam/digest_auth.h"
#include "safecam/pwgen.h"
#include "safecam/seal.h"
#include "safecam/wsse.h"
#include "vault_internal.h"

/* RFC 3986 unreserved characters only: a secret goes into rtsps://name:secret@host/ URLs, HTTP headers and
 * XML without escaping. The policy asks for a special character: "-_.~" are the unreserved ones. */
#define SECRET_SPECIAL "-_.~"
#define SECRET_ALPHABET PWGEN_UPPER PWGEN_LOWER PWGEN_DIGIT SECRET_SPECIAL
#define SECRET_ATTEMPTS 100u

/* ---------------- store ---------------- */

static int seal_label(const char *name, char label[16 + VAULT_USERNAME_MAX])
{
    return safecam_fmt(label, 16 + VAULT_USERNAME_MAX, "integration:%s", name);
}

/* The unsealed secret of name into out (NUL-terminated, *len bytes). SAFECAM_ERR_NOTFOUND, _CRYPTO, _IO. */
static int secret_load(vault *v, const uint8_t *key, const char *name, char out[VAULT_INTEGRATION_SECRET_BUF],
                       size_t *len)
{
    sqlite3_stmt *st = NULL;
    char label[16 + VAULT_USERNAME_MAX];
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    int rc = seal_label(name, label);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(v->db, "SELECT secret_sealed FROM integrations WHERE name = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        rc = SAFECAM_ERR_NOTFOUND;
    } else if (s != SQLITE_ROW) {
        rc = SAFECAM_ERR_IO;
    } else {
        const uint8_t *blob = sqlite3_column_blob(st, 0);
        int blen = sqlite3_column_bytes(st, 0);
        rc = blob && blen > 0 ? seal_data_open(key, label, blob, (size_t)blen, &pt, &pt_len) : SAFECAM_ERR_CRYPTO;
        if (rc == 0 && (pt_len == 0 || pt_len >= VAULT_INTEGRATION_SECRET_BUF))
            rc = SAFECAM_ERR_CRYPTO;
        if (rc == 0) {
            memcpy(out, pt, pt_len);
            out[pt_len] = '\0';
            *len = pt_len;
        }
    }
    if (pt) {
        sodium_memzero(pt, pt_len);
        sodium_free(pt);
    }
    sqlite3_finalize(st);
    if (rc == SAFECAM_ERR_CRYPTO)
        log_err("vault: the sealed secret of an integration account cannot be opened");
    return rc;
}

/* A new secret: VAULT_INTEGRATION_SECRET_CHARS characters of SECRET_ALPHABET (no look-alikes, nothing a URL or
 * a header must escape; 59 symbols: about 141 bits), one of each class at least, accepted by the policy. */
static int secret_generate(vault *v, const char *name, char out[VAULT_INTEGRATION_SECRET_BUF])
{
    static const char alphabet[] = SECRET_ALPHABET;
    const uint32_t n = (uint32_t)(sizeof alphabet - 1);
    for (unsigned attempt = 0; attempt < SECRET_ATTEMPTS; attempt++) {
        int up = 0, lo = 0, dg = 0, sp = 0;
        for (size_t i = 0; i < VAULT_INTEGRATION_SECRET_CHARS; i++) {
            char c = alphabet[randombytes_uniform(n)];
            out[i] = c;
            up |= strchr(PWGEN_UPPER, c) != NULL;
            lo |= strchr(PWGEN_LOWER, c) != NULL;
            dg |= strchr(PWGEN_DIGIT, c) != NULL;
            sp |= strchr(SECRET_SPECIAL, c) != NULL;
        }
        out[VAULT_INTEGRATION_SECRET_CHARS] = '\0';
        if (!up || !lo || !dg || !sp)
            continue;
        const char *reasons[PASSWORD_REASONS_MAX + 1];
        size_t nr = 0;
        int rc = vault_policy_check(v, name, out, reasons, &nr);
        if (rc == SAFECAM_ERR_POLICY)
            continue;
        if (rc != 0)
            break;
        return 0;
    }
    sodium_memzero(out, VAULT_INTEGRATION_SECRET_BUF);
    return SAFECAM_ERR_INTERNAL;
}

/* Seal secret for name and write it (insert when create, else update). */
static int secret_store(vault *v, const uint8_t *key, const char *name, const char *secret, int create)
{
    char label[16 + VAULT_USERNAME_MAX];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    sqlite3_stmt *st = NULL;
    int rc = seal_label(name, label);
    if (rc == 0)
        rc = seal_data_seal(key, label, (const uint8_t *)secret, strlen(secret), &sealed, &sealed_len);
    if (rc != 0)
        return rc;
    const char *sql = create ? "INSERT INTO integrations(name, role, secret_sealed, created_at, last_used_at) "
                               "VALUES(?1, 'viewer', ?2, ?3, 0)"
                             : "UPDATE integrations SET secret_sealed = ?2 WHERE name = ?1";
    if (sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, sealed, (int)sealed_len, SQLITE_STATIC);
    if (create)
        sqlite3_bind_int64(st, 3, vault_now(v));
    int s = sqlite3_step(st);
    if (s == SQLITE_CONSTRAINT)
        rc = SAFECAM_ERR_EXISTS;
    else if (s != SQLITE_DONE)
        rc = SAFECAM_ERR_IO;
    else if (sqlite3_changes(v->db) != 1)
        rc = SAFECAM_ERR_NOTFOUND;
out:
    sqlite3_finalize(st);
    free(sealed);
    return rc;
}

static int integration_count(vault *v, long *n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT count(*) FROM integrations", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static void audit_named(vault *v, const char *type, const char *actor, const char *source, const char *name)
{
    char detail[80];
    if (safecam_fmt(detail, sizeof detail, "integration=%s role=viewer", name) != 0)
        detail[0] = '\0';
    vault_audit(v, type, actor, source, detail);
}

int vault_integration_create(vault *v, const uint8_t *key, const char *name, const char *actor,
                             const char *source, char secret[VAULT_INTEGRATION_SECRET_BUF])
{
    long n = 0;
    if (!v || !key || !secret)
        return SAFECAM_ERR_INVAL;
    secret[0] = '\0';
    if (!vault_username_valid(name))
        return SAFECAM_ERR_INVAL;
    int rc = vault_user_get(v, name, NULL, NULL, NULL);
    if (rc == 0 || vault_integration_is(v, name))
        return SAFECAM_ERR_EXISTS; /* one namespace for people and integrations */
    if (rc != SAFECAM_ERR_NOTFOUND)
        return rc;
    rc = integration_count(v, &n);
    if (rc != 0)
        return rc;
    if (n >= VAULT_INTEGRATIONS_MAX)
        return SAFECAM_ERR_TOOBIG;
    rc = secret_generate(v, name, secret);
    if (rc == 0)
        rc = secret_store(v, key, name, secret, 1);
    if (rc != 0) {
        sodium_memzero(secret, VAULT_INTEGRATION_SECRET_BUF);
        return rc;
    }
    if (lockout_forget_account(v, name) != 0)
        log_warn("vault: cannot clear old lockout rows of a new integration account");
    audit_named(v, AUDIT_INTEGRATION_CREATE, actor, source, name);
    return 0;
}

int vault_integration_rotate(vault *v, const uint8_t *key, const char *name, const char *actor,
                             const char *source, char secret[VAULT_INTEGRATION_SECRET_BUF])
{
    if (!v || !key || !secret)
        return SAFECAM_ERR_INVAL;
    secret[0] = '\0';
    if (!vault_username_valid(name))
        return SAFECAM_ERR_INVAL;
    if (!vault_integration_is(v, name))
        return SAFECAM_ERR_NOTFOUND;
    int rc = secret_generate(v, name, secret);
    if (rc == 0)
        rc = secret_store(v, key, name, secret, 0);
    if (rc != 0) {
        sodium_memzero(secret, VAULT_INTEGRATION_SECRET_BUF);
        return rc;
    }
    audit_named(v, AUDIT_INTEGRATION_ROTATE, actor, source, name);
    return 0;
}

int vault_integration_delete(vault *v, const char *name, const char *actor, const char *source)
{
    sqlite3_stmt *st = NULL;
    if (!v)
        return SAFECAM_ERR_INVAL;
    if (!vault_username_valid(name))
        return SAFECAM_ERR_INVAL;
    int rc = vault_db_begin(v);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(v->db, "DELETE FROM integrations WHERE name = ?", -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    if (rc == 0 && sqlite3_changes(v->db) != 1)
        rc = SAFECAM_ERR_NOTFOUND;
    if (rc == 0)
        rc = lockout_forget_account(v, name);
    if (rc == 0)
        rc = vault_db_commit(v);
out:
    sqlite3_finalize(st);
    if (rc != 0) {
        vault_db_rollback(v);
        return rc;
    }
    audit_named(v, AUDIT_INTEGRATION_DELETE, actor, source, name);
    return 0;
}

int vault_integration_list(vault *v, json_t **out)
{
    sqlite3_stmt *st = NULL;
    int rc = 0, s;
    if (!v || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT name, role, created_at, last_used_at FROM integrations ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    json_t *arr = json_array();
    if (!arr) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    for (unsigned i = 0; (s = sqlite3_step(st)) == SQLITE_ROW && i <= VAULT_INTEGRATIONS_MAX; i++) {
        json_t *u = json_pack("{s:s, s:s, s:I, s:I}", "username", (const char *)sqlite3_column_text(st, 0), "role",
                              (const char *)sqlite3_column_text(st, 1), "created_at",
                              (json_int_t)sqlite3_column_int64(st, 2), "last_used_at",
                              (json_int_t)sqlite3_column_int64(st, 3));
        if (!u || json_array_append_new(arr, u) != 0) {
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
    }
    if (s != SQLITE_DONE && s != SQLITE_ROW) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    sqlite3_finalize(st);
    return rc;
}

static void touch_used(vault *v, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "UPDATE integrations SET last_used_at = ? WHERE name = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, vault_now(v));
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_warn("vault: cannot record the last use of an integration account");
    sqlite3_finalize(st);
}

/* ---------------- authentication ---------------- */

/* What one check found, before the lockout and the audit are applied (auth_conclude). */
struct check {
    char key[VAULT_USERNAME_MAX + 2];
    char src[VAULT_SOURCE_MAX + 1];
    struct vault_settings s;
};

static int auth_begin(vault *v, const char *name, const char *source, struct check *c, int64_t *retry)
{
    *retry = 0;
    if (!name || !vault_source_valid(source) || strnlen(name, LOGIN_NAME_MAX_BYTES + 1) > LOGIN_NAME_MAX_BYTES ||
        !safecam_utf8_valid(name, strlen(name)))
        return SAFECAM_ERR_INVAL;
    int rc = vault_settings_get(v, &c->s);
    if (rc != 0)
        return rc;
    vault_auth_keys(name, source, c->key, c->src);
    return lockout_check(v, &c->s, c->key, c->src, retry); /* locked: nothing else is looked at */
}

/* Apply the outcome: a failure (rc != 0, except busy) is counted and audited with why; a success clears the
 * pair's failures, records the use and fills out. Returns rc (or an I/O error). */
static int auth_conclude(vault *v, struct check *c, const char *name, const char *source, const char *surface,
                         const char *how, int rc, const char *why, struct vault_auth *out)
{
    char detail[96];
    if (rc == SAFECAM_ERR_BUSY || rc == SAFECAM_ERR_INVAL)
        return rc;
    if (rc != 0) {
        int lrc = lockout_record_failure(v, &c->s, c->key, c->src);
        if (safecam_fmt(detail, sizeof detail, "surface=%s integration %s refused=%s", surface, how, why) != 0)
            detail[0] = '\0';
        vault_audit(v, AUDIT_LOGIN_FAILURE, c->key, source, detail);
        return lrc != 0 ? lrc : rc;
    }
    rc = lockout_record_success(v, c->key, c->src);
    if (rc != 0)
        return rc;
    touch_used(v, name);
    if (safecam_fmt(detail, sizeof detail, "surface=%s integration %s", surface, how) != 0)
        detail[0] = '\0';
    vault_audit(v, AUDIT_LOGIN_SUCCESS, name, source, detail);
    if (safecam_strlcpy(out->username, name, sizeof out->username) != 0 ||
        safecam_strlcpy(out->role, "viewer", sizeof out->role) != 0)
        return SAFECAM_ERR_INTERNAL;
    out->password_change_required = 0;
    return 0;
}

int vault_integration_auth(vault *v, const uint8_t *key, const char *name, const char *password,
                           const char *source, const char *surface, struct vault_auth *out)
{
    struct check c;
    char secret[VAULT_INTEGRATION_SECRET_BUF];
    size_t slen = 0;
    if (!v || !key || !out || !password || !surface)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    int rc = auth_begin(v, name, source, &c, &out->retry_after);
    if (rc != 0)
        return rc;
    rc = secret_load(v, key, name, secret, &slen);
    if (rc == 0) {
        size_t plen = strnlen(password, PASSWORD_MAX_BYTES + 1);
        rc = plen == slen && sodium_memcmp(password, secret, slen) == 0 ? 0 : SAFECAM_ERR_DENIED;
    } else if (rc == SAFECAM_ERR_NOTFOUND) {
        rc = SAFECAM_ERR_DENIED;
    }
    sodium_memzero(secret, sizeof secret);
    if (rc != 0 && rc != SAFECAM_ERR_DENIED)
        return rc;
    rc = auth_conclude(v, &c, name, source, surface, "password", rc, "credentials", out);
    sodium_memzero(&c, sizeof c);
    return rc;
}

/* The nonce cache of the vault (created at first use). */
static wsse_nonce_cache *nonce_cache(vault *v)
{
    if (!v->wsse_nonces && wsse_nonce_cache_new(v->wsse_nonce_capacity ? v->wsse_nonce_capacity
                                                                        : WSSE_NONCE_CACHE_MAX,
                                                &v->wsse_nonces) != 0)
        return NULL;
    return v->wsse_nonces;
}

int vault_wsse_digest_check(vault *v, const uint8_t *key, const char *name, const char *nonce_b64,
                            const char *created, const char *digest_b64, const char *source,
                            struct vault_auth *out, const char **why)
{
    struct check c;
    char secret[VAULT_INTEGRATION_SECRET_BUF] = "";
    uint8_t nonce[WSSE_NONCE_MAX_BYTES];
    size_t slen = 0, nlen = 0;
    int64_t t = 0;
    const char *reason = "credentials";
    if (!v || !key || !out || !why)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    *why = "invalid";
    int rc = auth_begin(v, name, source, &c, &out->retry_after);
    if (rc != 0) {
        *why = rc == SAFECAM_ERR_LOCKED ? "locked" : "invalid";
        return rc;
    }
    wsse_nonce_cache *cache = nonce_cache(v);
    if (!cache)
        return SAFECAM_ERR_NOMEM;
    int64_t now = vault_now(v);
    if (!nonce_b64 || wsse_nonce_decode(nonce_b64, nonce, &nlen) != 0) {
        rc = SAFECAM_ERR_DENIED;
        reason = "nonce";
    } else if (!created || wsse_created_parse(created, &t) != 0) {
        rc = SAFECAM_ERR_DENIED;
        reason = "created";
    } else if (wsse_created_check(t, now, WSSE_WINDOW_S) != 0) {
        rc = SAFECAM_ERR_TIMEOUT;
        reason = "stale";
    }
    if (rc == 0) {
        rc = secret_load(v, key, name, secret, &slen);
        int known = rc == 0;
        if (rc == SAFECAM_ERR_NOTFOUND) {
            rc = 0; /* unknown name or a person: the same SHA-1 on a random secret, then refused */
            randombytes_buf(secret, VAULT_INTEGRATION_SECRET_CHARS);
            slen = VAULT_INTEGRATION_SECRET_CHARS;
        }
        if (rc != 0)
            goto out;
        rc = wsse_digest_verify(nonce, nlen, created, secret, slen, digest_b64);
        if (rc == 0 && !known)
            rc = SAFECAM_ERR_DENIED;
    }
    if (rc == 0) {
        /* Only an authentic token is remembered: nobody without the secret can fill the cache. */
        rc = wsse_nonce_cache_admit(cache, nonce, nlen, t + WSSE_WINDOW_S + 1, now);
        if (rc == SAFECAM_ERR_EXISTS)
            reason = "replay";
        else if (rc == SAFECAM_ERR_BUSY)
            log_warn("vault: the WS-Security nonce cache is full; authentic tokens are refused until "
                     "entries expire");
        else if (rc != 0)
            goto out;
    }
    if (rc == 0)
        reason = "";
    rc = auth_conclude(v, &c, name, source, "onvif", "wsse=digest", rc, reason, out);
    *why = rc == 0 ? "" : rc == SAFECAM_ERR_BUSY ? "busy" : reason;
out:
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(nonce, sizeof nonce);
    sodium_memzero(&c, sizeof c);
    return rc;
}

/* ---------------- HTTP and RTSP Digest (RFC 7616 with MD5 or SHA-256, RFC 2617) ---------------- */

/* hex(H(parts joined by ':')) with H = alg (MD5: 32 hex digits, SHA-256: 64). */
static int digest_hex(gnutls_digest_algorithm_t alg, const char *const *parts, size_t n,
                      char out[VAULT_DIGEST_HEX_MAX + 1])
{
    gnutls_hash_hd_t h;
    uint8_t d[32];
    size_t dlen = gnutls_hash_get_len(alg);
    if (dlen == 0 || dlen > sizeof d || gnutls_hash_init(&h, alg) != 0)
        return SAFECAM_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        if ((i && gnutls_hash(h, ":", 1) != 0) || gnutls_hash(h, parts[i], strlen(parts[i])) != 0) {
            gnutls_hash_deinit(h, NULL);
            return SAFECAM_ERR_INTERNAL;
        }
    }
    gnutls_hash_deinit(h, d);
    sodium_bin2hex(out, VAULT_DIGEST_HEX_MAX + 1, d, dlen);
    sodium_memzero(d, sizeof d);
    return 0;
}

/* "" or "MD5" -> MD5, "SHA-256" -> SHA-256 (case-insensitive, RFC 7616 3.3); anything else 0. */
static gnutls_digest_algorithm_t digest_alg(const char *algorithm)
{
    if (!algorithm || !algorithm[0] || strcasecmp(algorithm, "MD5") == 0)
        return GNUTLS_DIG_MD5;
    if (strcasecmp(algorithm, "SHA-256") == 0)
        return GNUTLS_DIG_SHA256;
    return GNUTLS_DIG_UNKNOWN;
}

int vault_digest_response(const char *username, const char *realm, const char *secret, const char *algorithm,
                          const char *method, const char *uri, const char *nonce, const char *nc,
                          const char *cnonce, const char *qop, char out[VAULT_DIGEST_HEX_MAX + 1])
{
    char ha1[VAULT_DIGEST_HEX_MAX + 1], ha2[VAULT_DIGEST_HEX_MAX + 1];
    gnutls_digest_algorithm_t alg = digest_alg(algorithm);
    if (!username || !realm || !secret || !method || !uri || !nonce || !out || alg == GNUTLS_DIG_UNKNOWN)
        return SAFECAM_ERR_INVAL;
    const char *p1[] = {username, realm, secret};
    const char *p2[] = {method, uri};
    int rc = digest_hex(alg, p1, 3, ha1);
    if (rc == 0)
        rc = digest_hex(alg, p2, 2, ha2);
    if (rc == 0) {
        if (qop && qop[0]) {
            if (!nc || !cnonce) {
                rc = SAFECAM_ERR_INVAL;
            } else {
                const char *p3[] = {ha1, nonce, nc, cnonce, qop, ha2};
                rc = digest_hex(alg, p3, 6, out);
            }
        } else {
            const char *p3[] = {ha1, nonce, ha2};
            rc = digest_hex(alg, p3, 3, out);
        }
    }
    sodium_memzero(ha1, sizeof ha1);
    sodium_memzero(ha2, sizeof ha2);
    return rc;
}

/* Remember (nonce, nc) until expires: a second use of the pair is a replay. The cache holds a BLAKE2b of
 * "digest:" nonce ":" nc, so the pair never meets a WS-Security nonce's bytes by accident. */
static int digest_replay_admit(vault *v, const char *nonce, const char *nc, int64_t expires, int64_t now)
{
    uint8_t k[32];
    crypto_generichash_state st;
    wsse_nonce_cache *cache = nonce_cache(v);
    if (!cache)
        return SAFECAM_ERR_NOMEM;
    crypto_generichash_init(&st, NULL, 0, sizeof k);
    crypto_generichash_update(&st, (const uint8_t *)"digest:", 7);
    crypto_generichash_update(&st, (const uint8_t *)nonce, strlen(nonce));
    crypto_generichash_update(&st, (const uint8_t *)":", 1);
    crypto_generichash_update(&st, (const uint8_t *)nc, strlen(nc));
    crypto_generichash_final(&st, k, sizeof k);
    return wsse_nonce_cache_admit(cache, k, sizeof k, expires, now);
}

int vault_integration_digest_check(vault *v, const uint8_t *key, const struct vault_digest_request *d,
                                   struct vault_auth *out, const char **why)
{
    struct check c;
    char secret[VAULT_INTEGRATION_SECRET_BUF] = "";
    char want[VAULT_DIGEST_HEX_MAX + 1];
    const char *reason = "credentials";
    size_t slen = 0;
    if (!v || !key || !d || !out || !d->response || !why)
        return SAFECAM_ERR_INVAL;
    const char *surface = d->surface ? d->surface : "rtsp";
    if (strcmp(surface, "rtsp") != 0 && strcmp(surface, "http") != 0)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    *why = "invalid";
    int rc = auth_begin(v, d->username, d->source, &c, &out->retry_after);
    if (rc != 0) {
        *why = rc == SAFECAM_ERR_LOCKED ? "locked" : "invalid";
        return rc;
    }
    rc = secret_load(v, key, d->username, secret, &slen);
    int known = rc == 0;
    if (rc == SAFECAM_ERR_NOTFOUND) {
        rc = 0; /* unknown name or a person: the same hashing on a random secret, then refused */
        randombytes_buf(secret, VAULT_INTEGRATION_SECRET_CHARS);
        for (size_t i = 0; i < VAULT_INTEGRATION_SECRET_CHARS; i++)
            secret[i] = (char)('a' + ((unsigned char)secret[i] % 26));
        secret[VAULT_INTEGRATION_SECRET_CHARS] = '\0';
    }
    if (rc == 0)
        rc = vault_digest_response(d->username, d->realm, secret, d->algorithm, d->method, d->uri, d->nonce, d->nc,
                                   d->cnonce, d->qop, want);
    sodium_memzero(secret, sizeof secret);
    if (rc == SAFECAM_ERR_INVAL)
        rc = SAFECAM_ERR_DENIED;
    if (rc != 0 && rc != SAFECAM_ERR_DENIED)
        return rc;
    if (rc == 0) {
        size_t wl = strlen(want);
        rc = strlen(d->response) == wl && sodium_memcmp(want, d->response, wl) == 0 && known ? 0
                                                                                             : SAFECAM_ERR_DENIED;
    }
    sodium_memzero(want, sizeof want);
    if (rc == 0 && d->replay_window_s > 0) {
        /* HTTP: each (nonce, nc) once. Only an authentic response is remembered, so nobody without the secret
         * can fill the cache. */
        int64_t now = vault_now(v);
        uint32_t nc = 0;
        if (!d->qop || strcmp(d->qop, "auth") != 0 || digest_nc_parse(d->nc, &nc) != 0 || !d->cnonce ||
            !d->cnonce[0]) {
            rc = SAFECAM_ERR_DENIED;
            reason = "nc";
        } else {
            rc = digest_replay_admit(v, d->nonce, d->nc, now + d->replay_window_s + 1, now);
            if (rc == SAFECAM_ERR_EXISTS) {
                rc = SAFECAM_ERR_DENIED;
                reason = "replay";
            } else if (rc == SAFECAM_ERR_INVAL) {
                rc = SAFECAM_ERR_DENIED;
                reason = "nonce";
            } else if (rc == SAFECAM_ERR_BUSY) {
                log_warn("vault: the nonce cache is full; authentic Digest requests are refused until entries "
                         "expire");
            } else if (rc != 0) {
                return rc;
            }
        }
    }
    if (rc == 0)
        reason = "";
    rc = auth_conclude(v, &c, d->username, d->source, surface, "digest", rc, reason, out);
    *why = rc == 0 ? "" : rc == SAFECAM_ERR_BUSY ? "busy" : rc == SAFECAM_ERR_LOCKED ? "locked" : reason;
    sodium_memzero(&c, sizeof c);
    return rc;
}
