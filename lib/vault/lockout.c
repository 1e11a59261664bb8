/* lockout.c — brute-force protection: failures counted per (account, source) with a sliding window and
 * a timed lock, plus an account-wide hourly ceiling that throttles only sources the account has never
 * logged in from. Runs in the vault process; state lives in vault.db so it survives restarts.
 * Design: docs/lockout.md. QCVN 135 brute force (Decision 724) / EN 303 645 5.1-5. */
#include <sqlite3.h>
#include <string.h>

#include "vault_internal.h"

#define LOCKOUT_FAILURE_ROWS_MAX 200000 /* hard cap on stored failures (oldest dropped first) */

static int query_int64(vault *v, const char *sql, const char *a, const char *b, int64_t n1, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int idx = 1;
    if (a)
        sqlite3_bind_text(st, idx++, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, idx++, b, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= idx)
        sqlite3_bind_int64(st, idx, n1);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (s == SQLITE_DONE) {
        rc = SAFECAM_ERR_NOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

static int pair_locked_until(vault *v, const char *account, const char *source, int64_t *until)
{
    int rc = query_int64(v, "SELECT locked_until FROM lockouts WHERE account = ? AND source = ?", account,
                         source, 0, until);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        *until = 0;
        rc = 0;
    }
    return rc;
}

/* Failures of the account in (since, since + VAULT_CEILING_WINDOW_S]: rows stamped in the future (the
 * wall clock went back, e.g. a camera without RTC before NTP) do not count. */
static int account_failures(vault *v, const char *account, int64_t since, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db,
                           "SELECT count(*) FROM login_failures WHERE account = ? AND t > ? AND t <= ?", -1,
                           &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, since + VAULT_CEILING_WINDOW_S);
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* A lock can never last longer than the configured duration from now: if the wall clock went back, the
 * stored end is pulled in (otherwise a clock reset to 1970 would lock the pair for decades). */
static int pair_lock_clamp(vault *v, const struct vault_settings *s, const char *account, const char *source,
                           int64_t now, int64_t *until)
{
    if (*until - now <= s->lockout_duration_s)
        return 0;
    *until = now + s->lockout_duration_s;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "UPDATE lockouts SET locked_until = ? WHERE account = ? AND source = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_int64(st, 1, *until);
    sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

static int source_known(vault *v, const char *account, const char *source, int64_t now, int *known)
{
    int64_t last = 0;
    int rc = query_int64(v, "SELECT last_success FROM known_sources WHERE account = ? AND source = ?",
                         account, source, 0, &last);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        *known = 0;
        return 0;
    }
    if (rc == 0)
        *known = last > now - VAULT_KNOWN_SOURCE_TTL_S;
    return rc;
}

int lockout_source_trust(vault *v, const char *account, const char *source, int *for_account, int *for_any)
{
    *for_account = *for_any = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db,
                           "SELECT COALESCE(MAX(account = ?1), 0), COUNT(*) FROM known_sources "
                           "WHERE source = ?2 AND last_success > ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, vault_now(v) - VAULT_KNOWN_SOURCE_TTL_S);
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *for_account = sqlite3_column_int64(st, 0) != 0;
        *for_any = sqlite3_column_int64(st, 1) > 0;
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int lockout_check(vault *v, const struct vault_settings *s, const char *account, const char *source,
                  int64_t *retry_after)
{
    int64_t now = vault_now(v), until = 0, n = 0;
    int known = 0;
    int rc;

    *retry_after = 0;
    rc = pair_locked_until(v, account, source, &until);
    if (rc == 0)
        rc = pair_lock_clamp(v, s, account, source, now, &until);
    if (rc != 0)
        return rc;
    if (until > now) {
        *retry_after = until - now;
        return SAFECAM_ERR_LOCKED;
    }
    rc = account_failures(v, account, now - VAULT_CEILING_WINDOW_S, &n);
    if (rc != 0)
        return rc;
    if (n < s->account_hourly_limit)
        return 0;
    rc = source_known(v, account, source, now, &known);
    if (rc != 0)
        return rc;
    if (known)
        return 0;
    /* Throttled until enough failures age out of the hour that the count drops below the limit. */
    sqlite3_stmt *st = NULL;
    int64_t oldest = now;
    if (sqlite3_prepare_v2(v->db,
                           "SELECT t FROM login_failures WHERE account = ? AND t > ? AND t <= ? ORDER BY t "
                           "ASC LIMIT 1 OFFSET ?",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now - VAULT_CEILING_WINDOW_S);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, n - s->account_hourly_limit);
    if (sqlite3_step(st) == SQLITE_ROW)
        oldest = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    *retry_after = oldest + VAULT_CEILING_WINDOW_S - now + 1;
    if (*retry_after < 1)
        *retry_after = 1;
    return SAFECAM_ERR_LOCKED;
}

int lockout_record_failure(vault *v, const struct vault_settings *s, const char *account, const char *source)
{
    int64_t now = vault_now(v), last_lock = 0, pair_n = 0, acct_n = 0, hit_at = 0;
    sqlite3_stmt *st = NULL;
    int locked = 0, ceiling = 0;
    int rc;

    rc = vault_db_begin(v);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(v->db, "INSERT INTO login_failures(account, source, t) VALUES(?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;

    /* Failures before the end of the pair's previous lock do not count again. */
    rc = pair_locked_until(v, account, source, &last_lock);
    if (rc != 0)
        goto out;
    int64_t since = now - s->lockout_window_s;
    if (last_lock - 1 > since)
        since = last_lock - 1;
    if (sqlite3_prepare_v2(
            v->db,
            "SELECT count(*) FROM login_failures WHERE account = ? AND source = ? AND t > ? AND t <= ?", -1,
            &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, since);
    sqlite3_bind_int64(st, 4, now);
    rc = sqlite3_step(st) == SQLITE_ROW ? 0 : SAFECAM_ERR_IO;
    if (rc == 0)
        pair_n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;

    if (pair_n >= s->lockout_threshold) {
        if (sqlite3_prepare_v2(
                v->db, "INSERT OR REPLACE INTO lockouts(account, source, locked_until) VALUES(?, ?, ?)", -1,
                &st, NULL) != SQLITE_OK) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now + s->lockout_duration_s);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
        sqlite3_finalize(st);
        st = NULL;
        if (rc != 0)
            goto out;
        locked = 1;
    }

    rc = account_failures(v, account, now - VAULT_CEILING_WINDOW_S, &acct_n);
    if (rc != 0)
        goto out;
    if (acct_n >= s->account_hourly_limit) {
        rc =
            query_int64(v, "SELECT hit_at FROM account_ceiling WHERE account = ?", account, NULL, 0, &hit_at);
        if (rc == SAFECAM_ERR_NOTFOUND) {
            hit_at = 0;
            rc = 0;
        }
        if (rc != 0)
            goto out;
        if (hit_at <= now - VAULT_CEILING_WINDOW_S) {
            if (sqlite3_prepare_v2(v->db,
                                   "INSERT OR REPLACE INTO account_ceiling(account, hit_at) VALUES(?, ?)", -1,
                                   &st, NULL) != SQLITE_OK) {
                rc = SAFECAM_ERR_IO;
                goto out;
            }
            sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, now);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
            sqlite3_finalize(st);
            st = NULL;
            if (rc != 0)
                goto out;
            ceiling = 1;
        }
    }
    rc = vault_db_commit(v);
out:
    sqlite3_finalize(st);
    if (rc != 0) {
        vault_db_rollback(v);
        return rc;
    }
    char detail[160];
    if (locked) {
        if (safecam_fmt(detail, sizeof detail, "scope=source failures=%lld window_s=%ld duration_s=%ld",
                        (long long)pair_n, s->lockout_window_s, s->lockout_duration_s) != 0)
            detail[0] = '\0';
        vault_audit(v, AUDIT_LOCKOUT, account, source, detail);
        log_warn("lockout: an account is locked for one source for %ld s", s->lockout_duration_s);
    }
    if (ceiling) {
        if (safecam_fmt(detail, sizeof detail,
                        "scope=account failures_per_hour=%lld limit=%ld unknown_sources_throttled",
                        (long long)acct_n, s->account_hourly_limit) != 0)
            detail[0] = '\0';
        vault_audit(v, AUDIT_LOCKOUT, account, source, detail);
        log_warn("lockout: an account reached its hourly failure ceiling; unknown sources are throttled");
    }
    return 0;
}

int lockout_record_success(vault *v, const char *account, const char *source)
{
    int64_t now = vault_now(v);
    sqlite3_stmt *st = NULL;
    int rc = vault_db_begin(v);
    if (rc != 0)
        return rc;
    static const char *const sqls[] = {
        "DELETE FROM login_failures WHERE account = ?1 AND source = ?2",
        "DELETE FROM lockouts WHERE account = ?1 AND source = ?2",
        "INSERT OR REPLACE INTO known_sources(account, source, last_success) VALUES(?1, ?2, ?3)",
        /* keep only the most recent VAULT_KNOWN_SOURCES_MAX sources of the account */
        ("DELETE FROM known_sources WHERE account = ?1 AND source NOT IN (SELECT source FROM known_sources "
         "WHERE account = ?1 ORDER BY last_success DESC LIMIT ?4)"),
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(sqls); i++) {
        if (sqlite3_prepare_v2(v->db, sqls[i], -1, &st, NULL) != SQLITE_OK) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 3)
            sqlite3_bind_int64(st, 3, now);
        if (sqlite3_bind_parameter_count(st) >= 4)
            sqlite3_bind_int(st, 4, VAULT_KNOWN_SOURCES_MAX);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
        sqlite3_finalize(st);
        st = NULL;
        if (rc != 0)
            goto out;
    }
    rc = vault_db_commit(v);
out:
    if (rc != 0)
        vault_db_rollback(v);
    return rc;
}

int lockout_forget_account(vault *v, const char *account)
{
    static const char *const sqls[] = {
        "DELETE FROM login_failures WHERE account = ?",
        "DELETE FROM lockouts WHERE account = ?",
        "DELETE FROM known_sources WHERE account = ?",
        "DELETE FROM account_ceiling WHERE account = ?",
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(sqls); i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(v->db, sqls[i], -1, &st, NULL) != SQLITE_OK)
            return SAFECAM_ERR_IO;
        sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        sqlite3_finalize(st);
        if (s != SQLITE_DONE)
            return SAFECAM_ERR_IO;
    }
    return 0;
}

int lockout_housekeeping(vault *v, const struct vault_settings *s)
{
    int64_t now = vault_now(v);
    int64_t keep =
        s->lockout_window_s > VAULT_CEILING_WINDOW_S ? s->lockout_window_s : VAULT_CEILING_WINDOW_S;
    static const char *const sqls[] = {
        "DELETE FROM login_failures WHERE t <= ?1 OR t > ?1 + ?4",
        /* a lock row also marks where the pair's count restarts: keep it while failures may matter */
        "DELETE FROM lockouts WHERE locked_until <= ?1",
        "DELETE FROM known_sources WHERE last_success <= ?2",
        "DELETE FROM account_ceiling WHERE hit_at <= ?1",
        ("DELETE FROM login_failures WHERE id NOT IN "
         "(SELECT id FROM login_failures ORDER BY id DESC LIMIT ?3)"),
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(sqls); i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(v->db, sqls[i], -1, &st, NULL) != SQLITE_OK)
            return SAFECAM_ERR_IO;
        int np = sqlite3_bind_parameter_count(st);
        sqlite3_bind_int64(st, 1, now - keep);
        if (np >= 2)
            sqlite3_bind_int64(st, 2, now - VAULT_KNOWN_SOURCE_TTL_S);
        if (np >= 3)
            sqlite3_bind_int64(st, 3, LOCKOUT_FAILURE_ROWS_MAX);
        if (np >= 4)
            sqlite3_bind_int64(st, 4, keep + 86400);
        int st_rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (st_rc != SQLITE_DONE)
            return SAFECAM_ERR_IO;
    }
    return 0;
}
