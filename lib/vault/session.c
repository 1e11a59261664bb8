/* session.c — server-side login sessions: 256-bit random ids and CSRF tokens (libsodium CSPRNG), stored
 * only as SHA-256 digests, idle and absolute timeouts, logout, and ending a user's sessions.
 * Runs in the vault process. QCVN 135 sessions (Decision 724) / EN 303 645 5.1-5; checker SM-01..07. */
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

#include "vault_internal.h"

_Static_assert(crypto_hash_sha256_BYTES == VAULT_TOKEN_BYTES, "digest size");

/* Parse exactly VAULT_TOKEN_HEX lowercase hex digits into raw. */
static int token_parse(const char *hex, uint8_t raw[VAULT_TOKEN_BYTES])
{
    if (!hex || strnlen(hex, VAULT_TOKEN_HEX + 1) != VAULT_TOKEN_HEX)
        return SAFECAM_ERR_NOTFOUND;
    for (size_t i = 0; i < VAULT_TOKEN_HEX; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return SAFECAM_ERR_NOTFOUND;
    }
    size_t bin_len = 0;
    if (sodium_hex2bin(raw, VAULT_TOKEN_BYTES, hex, VAULT_TOKEN_HEX, NULL, &bin_len, NULL) != 0 ||
        bin_len != VAULT_TOKEN_BYTES)
        return SAFECAM_ERR_NOTFOUND;
    return 0;
}

static void digest_hex(const uint8_t raw[VAULT_TOKEN_BYTES], char out[VAULT_TOKEN_HEX + 1])
{
    uint8_t d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, raw, VAULT_TOKEN_BYTES);
    sodium_bin2hex(out, VAULT_TOKEN_HEX + 1, d, sizeof d);
}

/* The session's CSRF token: BLAKE2b-256 keyed with the per-device CSRF key over the raw session id
 * (synchroniser token derived on demand, so a reloaded page can get it back and nothing is stored). */
static void csrf_derive(const vault *v, const uint8_t id[VAULT_TOKEN_BYTES], uint8_t out[VAULT_TOKEN_BYTES])
{
    crypto_generichash(out, VAULT_TOKEN_BYTES, id, VAULT_TOKEN_BYTES, v->csrf_key, sizeof v->csrf_key);
}

int session_id_digest(const char *id_hex, char out[VAULT_TOKEN_HEX + 1])
{
    uint8_t raw[VAULT_TOKEN_BYTES];
    int rc = token_parse(id_hex, raw);
    if (rc == 0)
        digest_hex(raw, out);
    sodium_memzero(raw, sizeof raw);
    return rc;
}

static int session_delete_digest(vault *v, const char *digest)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "DELETE FROM sessions WHERE id_hash = ?", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

int session_create(vault *v, const char *username, char id_hex[VAULT_TOKEN_HEX + 1],
                   char csrf_hex[VAULT_TOKEN_HEX + 1])
{
    uint8_t id[VAULT_TOKEN_BYTES], csrf[VAULT_TOKEN_BYTES];
    char id_digest[VAULT_TOKEN_HEX + 1], csrf_digest[VAULT_TOKEN_HEX + 1];
    sqlite3_stmt *st = NULL;
    int64_t now = vault_now(v);
    int rc;

    randombytes_buf(id, sizeof id);
    csrf_derive(v, id, csrf);
    digest_hex(id, id_digest);
    digest_hex(csrf, csrf_digest);

    rc = vault_db_begin(v);
    if (rc != 0)
        goto wipe;
    /* Cap the sessions per user: the oldest ends first. */
    if (sqlite3_prepare_v2(v->db,
                           "DELETE FROM sessions WHERE username = ?1 AND id_hash NOT IN (SELECT id_hash FROM "
                           "sessions WHERE username = ?1 ORDER BY created DESC, last_seen DESC LIMIT ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, VAULT_SESSIONS_PER_USER_MAX - 1);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;
    if (sqlite3_prepare_v2(v->db,
                           "INSERT INTO sessions(id_hash, csrf_hash, username, created, last_seen) "
                           "VALUES(?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, id_digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, csrf_digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, username, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    if (rc == 0)
        rc = vault_db_commit(v);
out:
    sqlite3_finalize(st);
    if (rc != 0)
        vault_db_rollback(v);
    else {
        sodium_bin2hex(id_hex, VAULT_TOKEN_HEX + 1, id, sizeof id);
        sodium_bin2hex(csrf_hex, VAULT_TOKEN_HEX + 1, csrf, sizeof csrf);
    }
wipe:
    sodium_memzero(id, sizeof id);
    sodium_memzero(csrf, sizeof csrf);
    return rc;
}

int vault_session_check(vault *v, const char *session_id, const char *csrf_token, int touch,
                        struct vault_session_info *out)
{
    char digest[VAULT_TOKEN_HEX + 1];
    uint8_t id_raw[VAULT_TOKEN_BYTES], expected[VAULT_TOKEN_BYTES], given[VAULT_TOKEN_BYTES];
    struct vault_settings s;
    sqlite3_stmt *st = NULL;
    int64_t now, created, last_seen;
    int rc, csrf_given = 0;

    if (!v || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (token_parse(session_id, id_raw) != 0)
        return SAFECAM_ERR_NOTFOUND;
    digest_hex(id_raw, digest);
    csrf_derive(v, id_raw, expected);
    sodium_memzero(id_raw, sizeof id_raw);
    if (csrf_token && token_parse(csrf_token, given) == 0)
        csrf_given = 1;
    rc = vault_settings_get(v, &s);
    if (rc != 0)
        goto out;
    now = vault_now(v);
    if (sqlite3_prepare_v2(
            v->db,
            "SELECT s.csrf_hash, s.username, s.created, s.last_seen, u.role, "
            "u.password_change_required FROM sessions s JOIN users u ON u.username = s.username "
            "WHERE s.id_hash = ?",
            -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
        goto out;
    }
    const char *u = (const char *)sqlite3_column_text(st, 1);
    const char *r = (const char *)sqlite3_column_text(st, 4);
    created = sqlite3_column_int64(st, 2);
    last_seen = sqlite3_column_int64(st, 3);
    if (safecam_strlcpy(out->username, u ? u : "", sizeof out->username) != 0 ||
        safecam_strlcpy(out->role, r ? r : "", sizeof out->role) != 0) {
        rc = SAFECAM_ERR_INTERNAL;
        goto out;
    }
    out->password_change_required = sqlite3_column_int(st, 5) != 0;
    sqlite3_finalize(st);
    st = NULL;

    if (now - last_seen >= s.session_idle_s || now - created >= s.session_absolute_s || now < created - 60) {
        const char *why =
            now - created >= s.session_absolute_s ? "reason=absolute_timeout" : "reason=idle_timeout";
        rc = session_delete_digest(v, digest);
        if (rc == 0)
            vault_audit(v, AUDIT_SESSION_END, out->username, NULL, why);
        memset(out, 0, sizeof *out);
        rc = rc == 0 ? SAFECAM_ERR_NOTFOUND : rc;
        goto out;
    }
    out->csrf_ok = csrf_given && sodium_memcmp(given, expected, VAULT_TOKEN_BYTES) == 0;
    sodium_bin2hex(out->csrf_token, sizeof out->csrf_token, expected, sizeof expected);
    /* Recording last_seen can fail on a full disk (SQLITE_FULL). The session is valid all the same: the owner
     * keeps the camera's pages and video, and the idle timeout then runs from the older time, so a session can
     * only end sooner, never later. */
    rc = 0;
    if (touch) {
        if (sqlite3_prepare_v2(v->db, "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_int64(st, 1, now);
            sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                log_warn("session: last_seen not recorded (%s); the session stays valid",
                         sqlite3_errmsg(v->db));
        }
    }
out:
    sqlite3_finalize(st);
    sodium_memzero(digest, sizeof digest);
    sodium_memzero(expected, sizeof expected);
    sodium_memzero(given, sizeof given);
    if (rc != 0)
        sodium_memzero(out, sizeof *out);
    return rc;
}

int vault_session_end(vault *v, const char *session_id, const char *source)
{
    char digest[VAULT_TOKEN_HEX + 1], user[VAULT_USERNAME_MAX + 1] = "";
    sqlite3_stmt *st = NULL;
    if (!v)
        return SAFECAM_ERR_INVAL;
    if (session_id_digest(session_id, digest) != 0)
        return 0; /* malformed: no such session, nothing to end */
    if (sqlite3_prepare_v2(v->db, "SELECT username FROM sessions WHERE id_hash = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        if (safecam_strlcpy(user, u ? u : "", sizeof user) != 0)
            user[0] = '\0';
    }
    sqlite3_finalize(st);
    if (!found)
        return 0;
    int rc = session_delete_digest(v, digest);
    if (rc == 0)
        vault_audit(v, AUDIT_SESSION_END, user, source, "reason=logout");
    return rc;
}

int session_end_user(vault *v, const char *username, const char *keep_id_hex, const char *reason)
{
    char keep[VAULT_TOKEN_HEX + 1] = "";
    sqlite3_stmt *st = NULL;
    if (keep_id_hex && session_id_digest(keep_id_hex, keep) != 0)
        keep[0] = '\0';
    if (sqlite3_prepare_v2(v->db, "DELETE FROM sessions WHERE username = ? AND id_hash != ?", -1, &st,
                           NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, keep, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    int n = sqlite3_changes(v->db);
    sqlite3_finalize(st);
    if (rc == 0 && n > 0) {
        char detail[96];
        if (safecam_fmt(detail, sizeof detail, "reason=%s sessions=%d", reason, n) != 0)
            detail[0] = '\0';
        vault_audit(v, AUDIT_SESSION_END, username, NULL, detail);
    }
    return rc;
}

int vault_session_count(vault *v, const char *username, long *count_out)
{
    sqlite3_stmt *st = NULL;
    if (!v || !username || !count_out)
        return SAFECAM_ERR_INVAL;
    if (sqlite3_prepare_v2(v->db, "SELECT count(*) FROM sessions WHERE username = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *count_out = (long)sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int vault_housekeeping(vault *v)
{
    struct vault_settings s;
    sqlite3_stmt *st = NULL;
    if (!v)
        return SAFECAM_ERR_INVAL;
    int rc = vault_settings_get(v, &s);
    if (rc != 0)
        return rc;
    int64_t now = vault_now(v);
    /* End expired sessions, one audit event per user. */
    if (sqlite3_prepare_v2(v->db,
                           "SELECT username, count(*) FROM sessions WHERE last_seen <= ?1 OR created <= ?2 "
                           "GROUP BY username",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_int64(st, 1, now - s.session_idle_s);
    sqlite3_bind_int64(st, 2, now - s.session_absolute_s);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char detail[64];
        if (safecam_fmt(detail, sizeof detail, "reason=timeout sessions=%d", sqlite3_column_int(st, 1)) != 0)
            detail[0] = '\0';
        vault_audit(v, AUDIT_SESSION_END, (const char *)sqlite3_column_text(st, 0), NULL, detail);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(v->db, "DELETE FROM sessions WHERE last_seen <= ?1 OR created <= ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_int64(st, 1, now - s.session_idle_s);
    sqlite3_bind_int64(st, 2, now - s.session_absolute_s);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    if (rc == 0)
        rc = lockout_housekeeping(v, &s);
    return rc;
}
