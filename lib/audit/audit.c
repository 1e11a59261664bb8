/* audit.c — the security event log in SQLite (DIR/audit.db), separate from the operational log.
 * Linked into the vault, the supervisor and the web process; several processes may write the same
 * file (WAL journal, 5 s busy timeout). Every value reaches SQLite through bound parameters of
 * prepared statements; types come from an allowlist; fields are length-capped and must be UTF-8.
 * With the chain enabled (the vault, the one writer: docs/audit.md) every row carries
 * hash = BLAKE2b-256(previous hash || canonical row) and the table `chain` holds the head, MACed with a key
 * derived from the storage key; retention keeps at most rows_max rows and drops rows older than age_max,
 * appending a log_truncated event that moves the chain's anchor. QCVN 135 brute force, G3, G8, G10 /
 * EN 303 645 5.1-5, 5.5-x (integrity of stored security data). */
#include "safecam/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUDIT_ROWS_MAX AUDIT_ROWS_MAX_DEFAULT
#define AUDIT_DEFAULT_LIMIT 100u
#define AUDIT_BUSY_TIMEOUT_MS 5000
#define AUDIT_AGE_CHECK_EVERY 64u           /* appends between two age checks */
#define AUDIT_PLAUSIBLE_NOW 1704067200LL    /* 2024-01-01: no age retention on a clock before this */
#define AUDIT_CLASSIFY_ROWS_MAX 1000000     /* rows looked at past the first bad one to name the reason */
#define AUDIT_MAC_LABEL "safecam audit head v1"

struct audit_log {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *trim;
    sqlite3_stmt *query;
    uint8_t *mac_key; /* sodium_malloc'd; NULL while the chain is off */
    audit_head_saved_fn saved;
    void *saved_ctx;
    audit_appended_fn appended; /* after each committed append (the vault: to the link process) */
    void *appended_ctx;
    int64_t rows_max, age_max_s;
    unsigned appends;
};

static const char *const audit_types[] = {
    AUDIT_LOGIN_SUCCESS, AUDIT_LOGIN_FAILURE, AUDIT_LOCKOUT,        AUDIT_SESSION_END,
    AUDIT_PASSWORD_CHANGE, AUDIT_USER_CREATE, AUDIT_USER_UPDATE,    AUDIT_USER_DELETE,
    AUDIT_CONFIG_CHANGE, AUDIT_PROCESS_RESTART, AUDIT_PROTOCOL_VIOLATION, AUDIT_UPDATE_INSTALL,
    AUDIT_UPDATE_REFUSED, AUDIT_STREAM_ERROR, AUDIT_DATA_DELETE,    AUDIT_FACTORY_RESET,
    AUDIT_DEVICE_START, AUDIT_MOTION,
    AUDIT_SANDBOX_VIOLATION, AUDIT_CONNECTION_FLOOD,
    AUDIT_INTEGRATION_CREATE, AUDIT_INTEGRATION_ROTATE, AUDIT_INTEGRATION_DELETE,
    AUDIT_LOG_TRUNCATED, AUDIT_LOG_CHAINED, AUDIT_LOG_TAMPERED,
    AUDIT_LINK_CONNECTED, AUDIT_LINK_DISCONNECTED, AUDIT_LINK_REFUSED, AUDIT_LINK_TLS_REFUSED,
    AUDIT_LINK_UPLOAD_FAILED, AUDIT_LINK_QUEUE_DROPPED, AUDIT_LINK_RETENTION, AUDIT_LINK_DELETE,
};

int audit_type_valid(const char *type)
{
    if (!type)
        return 0;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(audit_types); i++)
        if (strcmp(type, audit_types[i]) == 0)
            return 1;
    return 0;
}

/* Run one constant SQL statement (schema, pragma) through prepare/step. */
static int exec_const(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_err("audit: prepare failed: %s", sqlite3_errmsg(db));
        return SAFECAM_ERR_INTERNAL;
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) {
        log_err("audit: %s", sqlite3_errmsg(db));
        return SAFECAM_ERR_IO;
    }
    return 0;
}

/* Create the file with mode 0600 before SQLite opens it (SQLite gives -wal/-shm the same mode). */
static int audit_file_prepare(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        log_err("audit: cannot open %s: %s", path, strerror(errno));
        return SAFECAM_ERR_IO;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = SAFECAM_ERR_IO;
    } else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0) {
        log_err("audit: cannot set mode 0600 on %s", path);
        rc = SAFECAM_ERR_IO;
    } else if (safecam_fd_owner_inherit(fd, path) != 0) {
        /* opened first by the supervisor (root): the log stays the vault's, whose directory it is in */
        log_err("audit: cannot give %s to the owner of its directory", path);
        rc = SAFECAM_ERR_IO;
    }
    close(fd);
    return rc;
}

void audit_log_close(audit_log *log)
{
    if (!log)
        return;
    sqlite3_finalize(log->insert);
    sqlite3_finalize(log->trim);
    sqlite3_finalize(log->query);
    sqlite3_close_v2(log->db);
    if (log->mac_key)
        sodium_free(log->mac_key);
    free(log);
}

int audit_log_open(const char *path, audit_log **out)
{
    if (!path || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    int rc = audit_file_prepare(path);
    if (rc != 0)
        return rc;
    audit_log *log = calloc(1, sizeof *log);
    if (!log)
        return SAFECAM_ERR_NOMEM;
    rc = SAFECAM_ERR_IO;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
#ifdef SQLITE_OPEN_NOFOLLOW
    flags |= SQLITE_OPEN_NOFOLLOW;
#endif
    if (sqlite3_open_v2(path, &log->db, flags, NULL) != SQLITE_OK) {
        log_err("audit: cannot open %s: %s", path, log->db ? sqlite3_errmsg(log->db) : "no memory");
        goto out;
    }
    sqlite3_extended_result_codes(log->db, 1);
    if (sqlite3_busy_timeout(log->db, AUDIT_BUSY_TIMEOUT_MS) != SQLITE_OK)
        goto out;
    static const char *const setup[] = {
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL", /* a commit is on disk before the vault.db mark that follows it */
        "PRAGMA secure_delete=ON",
        "CREATE TABLE IF NOT EXISTS events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " time INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " actor TEXT, source TEXT, detail TEXT)",
        "CREATE INDEX IF NOT EXISTS events_time ON events(time)",
        "CREATE INDEX IF NOT EXISTS events_type_time ON events(type, time)",
        "CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
        " type TEXT NOT NULL, detail TEXT)",
        "CREATE TABLE IF NOT EXISTS chain (k INTEGER PRIMARY KEY CHECK (k = 1),"
        " anchor_id INTEGER NOT NULL, anchor_prev BLOB NOT NULL,"
        " head_id INTEGER NOT NULL, head_hash BLOB NOT NULL, mac BLOB NOT NULL)",
    };
    log->rows_max = AUDIT_ROWS_MAX_DEFAULT;
    log->age_max_s = AUDIT_AGE_MAX_DEFAULT_S;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(setup); i++)
        if ((rc = exec_const(log->db, setup[i])) != 0)
            goto out;
    {
        /* an audit.db from before the chain: add the hash column (NULL in old rows until chained) */
        sqlite3_stmt *probe = NULL;
        int has_hash = sqlite3_prepare_v2(log->db, "SELECT hash FROM events LIMIT 0", -1, &probe, NULL) == SQLITE_OK;
        sqlite3_finalize(probe);
        if (!has_hash && (rc = exec_const(log->db, "ALTER TABLE events ADD COLUMN hash BLOB")) != 0)
            goto out;
    }
    rc = SAFECAM_ERR_INTERNAL;
    if (sqlite3_prepare_v3(log->db,
                           "INSERT INTO events(time, type, actor, source, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, SQLITE_PREPARE_PERSISTENT, &log->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(log->db, "DELETE FROM events WHERE id <= ?1", -1, SQLITE_PREPARE_PERSISTENT,
                           &log->trim, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(log->db,
                           "SELECT id, time, type, actor, source, detail FROM events"
                           " WHERE (?1 = 0 OR time >= ?1) AND (?2 = 0 OR time <= ?2)"
                           " AND (?3 IS NULL OR type = ?3)"
                           " ORDER BY time DESC, id DESC LIMIT ?4",
                           -1, SQLITE_PREPARE_PERSISTENT, &log->query, NULL) != SQLITE_OK) {
        log_err("audit: prepare failed: %s", sqlite3_errmsg(log->db));
        goto out;
    }
    *out = log;
    log = NULL;
    rc = 0;
out:
    audit_log_close(log);
    return rc;
}

/* NULL is fine; otherwise at most max bytes of valid UTF-8 (no NUL). */
static int field_ok(const char *s, size_t max)
{
    if (!s)
        return 1;
    size_t n = strnlen(s, max + 1);
    return n <= max && safecam_utf8_valid(s, n);
}

static int bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

/* ---------------- the hash chain (docs/audit.md) ---------------- */

static void be64_put(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(u & 0xff);
        u >>= 8;
    }
}

static void link_field(crypto_generichash_state *st, const char *s)
{
    uint8_t tag = s ? 1 : 0;
    crypto_generichash_update(st, &tag, 1);
    if (!s)
        return;
    size_t n = strlen(s);
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    crypto_generichash_update(st, len, sizeof len);
    crypto_generichash_update(st, (const uint8_t *)s, n);
}

int audit_link_hash(const uint8_t prev[AUDIT_HASH_BYTES], int64_t id, int64_t time, const char *type,
                    const char *actor, const char *source, const char *detail, uint8_t out[AUDIT_HASH_BYTES])
{
    if (!prev || !out)
        return SAFECAM_ERR_INVAL;
    crypto_generichash_state st;
    uint8_t nums[4 + 16];
    memcpy(nums, "SCA1", 4);
    be64_put(nums + 4, id);
    be64_put(nums + 12, time);
    if (crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES) != 0)
        return SAFECAM_ERR_CRYPTO;
    crypto_generichash_update(&st, prev, AUDIT_HASH_BYTES);
    crypto_generichash_update(&st, nums, sizeof nums);
    link_field(&st, type);
    link_field(&st, actor);
    link_field(&st, source);
    link_field(&st, detail);
    return crypto_generichash_final(&st, out, AUDIT_HASH_BYTES) == 0 ? 0 : SAFECAM_ERR_CRYPTO;
}

static void head_mac(const uint8_t *key, const struct audit_head *h, uint8_t out[AUDIT_MAC_BYTES])
{
    uint8_t buf[5 + 8 + AUDIT_HASH_BYTES + 8 + AUDIT_HASH_BYTES];
    memcpy(buf, "SCAH1", 5);
    be64_put(buf + 5, h->anchor_id);
    memcpy(buf + 13, h->anchor_prev, AUDIT_HASH_BYTES);
    be64_put(buf + 13 + AUDIT_HASH_BYTES, h->head_id);
    memcpy(buf + 21 + AUDIT_HASH_BYTES, h->head_hash, AUDIT_HASH_BYTES);
    crypto_generichash(out, AUDIT_MAC_BYTES, buf, sizeof buf, key, AUDIT_KEY_BYTES);
}

int audit_head_valid(audit_log *log, const struct audit_head *mark)
{
    if (!log || !log->mac_key || !mark)
        return 0;
    uint8_t mac[AUDIT_MAC_BYTES];
    head_mac(log->mac_key, mark, mac);
    return sodium_memcmp(mac, mark->mac, AUDIT_MAC_BYTES) == 0;
}

static int blob_get(sqlite3_stmt *st, int col, uint8_t out[AUDIT_HASH_BYTES])
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || sqlite3_column_bytes(st, col) != (int)AUDIT_HASH_BYTES)
        return -1;
    memcpy(out, sqlite3_column_blob(st, col), AUDIT_HASH_BYTES);
    return 0;
}

/* The head row: 0 (read), SAFECAM_ERR_NOTFOUND (no row), or SAFECAM_ERR_IO (unreadable / wrong shape). */
static int head_read(audit_log *log, struct audit_head *h)
{
    sqlite3_stmt *st = NULL;
    memset(h, 0, sizeof *h);
    if (sqlite3_prepare_v2(log->db, "SELECT anchor_id, anchor_prev, head_id, head_hash, mac FROM chain WHERE k = 1",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_NOTFOUND;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        h->anchor_id = sqlite3_column_int64(st, 0);
        h->head_id = sqlite3_column_int64(st, 2);
        rc = blob_get(st, 1, h->anchor_prev) == 0 && blob_get(st, 3, h->head_hash) == 0 &&
                     blob_get(st, 4, h->mac) == 0
                 ? 0
                 : SAFECAM_ERR_IO;
    } else if (r != SQLITE_DONE) {
        rc = SAFECAM_ERR_IO;
    }
    sqlite3_finalize(st);
    return rc;
}

static int head_write(audit_log *log, struct audit_head *h)
{
    head_mac(log->mac_key, h, h->mac);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db,
                           "INSERT OR REPLACE INTO chain(k, anchor_id, anchor_prev, head_id, head_hash, mac)"
                           " VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_bind_int64(st, 1, h->anchor_id) == SQLITE_OK &&
        sqlite3_bind_blob(st, 2, h->anchor_prev, AUDIT_HASH_BYTES, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(st, 3, h->head_id) == SQLITE_OK &&
        sqlite3_bind_blob(st, 4, h->head_hash, AUDIT_HASH_BYTES, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_blob(st, 5, h->mac, AUDIT_MAC_BYTES, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_DONE)
        rc = 0;
    sqlite3_finalize(st);
    return rc;
}

static int hash_store(audit_log *log, int64_t id, const uint8_t hash[AUDIT_HASH_BYTES])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db, "UPDATE events SET hash = ?1 WHERE id = ?2", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = sqlite3_bind_blob(st, 1, hash, AUDIT_HASH_BYTES, SQLITE_STATIC) == SQLITE_OK &&
                     sqlite3_bind_int64(st, 2, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE
                 ? 0
                 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

/* Insert one row at the head inside the caller's write transaction; *h moves to it. */
static int chain_append_locked(audit_log *log, struct audit_head *h, int64_t now, const char *type,
                               const char *actor, const char *source, const char *detail)
{
    sqlite3_stmt *st = log->insert;
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_bind_int64(st, 1, (sqlite3_int64)now) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC) != SQLITE_OK ||
        bind_text_or_null(st, 3, actor) != SQLITE_OK || bind_text_or_null(st, 4, source) != SQLITE_OK ||
        bind_text_or_null(st, 5, detail) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
        log_err("audit: insert failed: %s", sqlite3_errmsg(log->db));
        goto out;
    }
    int64_t id = sqlite3_last_insert_rowid(log->db);
    if (h->head_id == 0)
        h->anchor_id = id; /* the chain's first row */
    uint8_t hash[AUDIT_HASH_BYTES];
    if ((rc = audit_link_hash(h->head_id ? h->head_hash : h->anchor_prev, id, now, type, actor, source, detail,
                              hash)) != 0 ||
        (rc = hash_store(log, id, hash)) != 0)
        goto out;
    h->head_id = id;
    memcpy(h->head_hash, hash, AUDIT_HASH_BYTES);
    rc = 0;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int64_t query_int64(audit_log *log, const char *sql, int64_t a, int64_t b, int64_t dflt)
{
    sqlite3_stmt *st = NULL;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(log->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_bind_int64(st, 1, a) == SQLITE_OK &&
        sqlite3_bind_int64(st, 2, b) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Retention inside the write transaction: drop the oldest rows beyond rows_max (down to 9/10 of it) or
 * older than age_max, then a log_truncated event with the range and the last dropped hash. */
static int chain_retain_locked(audit_log *log, struct audit_head *h, int64_t now, int check_age)
{
    if (h->head_id == 0)
        return 0;
    int64_t drop_to = 0;
    if (h->head_id - h->anchor_id + 1 > log->rows_max)
        drop_to = h->head_id - (log->rows_max - log->rows_max / 10);
    const char *why = "rows";
    if (check_age && now >= AUDIT_PLAUSIBLE_NOW) {
        int64_t old = query_int64(log, "SELECT max(id) FROM events WHERE time < ?1 AND id < ?2",
                                  now - log->age_max_s, h->head_id, 0);
        if (old > drop_to) {
            drop_to = old;
            why = "age";
        }
    }
    if (drop_to < h->anchor_id)
        return 0;
    uint8_t last[AUDIT_HASH_BYTES] = {0};
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db, "SELECT hash FROM events WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    if (sqlite3_bind_int64(st, 1, drop_to) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        (void)blob_get(st, 0, last);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(log->db, "DELETE FROM events WHERE id <= ?1", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int ok = sqlite3_bind_int64(st, 1, drop_to) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok)
        return SAFECAM_ERR_IO;
    char hex[AUDIT_HASH_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, last, AUDIT_HASH_BYTES);
    char detail[256];
    if (safecam_fmt(detail, sizeof detail, "dropped ids %lld-%lld (%s); last dropped hash %s",
                    (long long)h->anchor_id, (long long)drop_to, why, hex) != 0)
        return SAFECAM_ERR_INTERNAL;
    h->anchor_id = drop_to + 1;
    memcpy(h->anchor_prev, last, AUDIT_HASH_BYTES);
    return chain_append_locked(log, h, now, AUDIT_LOG_TRUNCATED, "audit", NULL, detail);
}

static int txn_end(audit_log *log, int rc)
{
    if (rc == 0 && exec_const(log->db, "COMMIT") == 0)
        return 0;
    (void)exec_const(log->db, "ROLLBACK");
    return rc ? rc : SAFECAM_ERR_IO;
}

static int chain_record(audit_log *log, const char *type, const char *actor, const char *source,
                        const char *detail)
{
    if (exec_const(log->db, "BEGIN IMMEDIATE") != 0)
        return SAFECAM_ERR_IO;
    struct audit_head h;
    int rc = head_read(log, &h);
    int64_t now = safecam_time_now();
    if (rc == 0)
        rc = chain_append_locked(log, &h, now, type, actor, source, detail);
    if (rc == 0)
        rc = chain_retain_locked(log, &h, now, (++log->appends % AUDIT_AGE_CHECK_EVERY) == 1);
    if (rc == 0)
        rc = head_write(log, &h);
    rc = txn_end(log, rc);
    if (rc == 0 && log->saved)
        log->saved(log->saved_ctx, &h);
    return rc;
}

int audit_log_retention_set(audit_log *log, int64_t rows_max, int64_t age_max_s)
{
    if (!log || rows_max < 16 || age_max_s < 1)
        return SAFECAM_ERR_INVAL;
    log->rows_max = rows_max;
    log->age_max_s = age_max_s;
    log->appends = 0; /* the next append checks the age */
    return 0;
}

/* Chain the rows of an audit.db from before the chain (inside the write transaction). */
static int chain_migrate_locked(audit_log *log, struct audit_head *h, int64_t *first, int64_t *last)
{
    memset(h, 0, sizeof *h);
    *first = *last = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db,
                           "SELECT id, time, type, actor, source, detail FROM events WHERE id > ?1 ORDER BY id LIMIT 1000",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = 0;
    uint8_t prev[AUDIT_HASH_BYTES] = {0};
    int64_t after = INT64_MIN;
    for (int more = 1; more && rc == 0;) {
        more = 0;
        sqlite3_reset(st);
        if (sqlite3_bind_int64(st, 1, after) != SQLITE_OK) {
            rc = SAFECAM_ERR_IO;
            break;
        }
        int r;
        while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            uint8_t hash[AUDIT_HASH_BYTES];
            rc = audit_link_hash(prev, id, sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2),
                                 (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4),
                                 (const char *)sqlite3_column_text(st, 5), hash);
            if (rc == 0)
                rc = hash_store(log, id, hash);
            if (!*first)
                *first = id;
            *last = after = id;
            memcpy(prev, hash, AUDIT_HASH_BYTES);
            more = 1;
        }
        if (rc == 0 && r != SQLITE_DONE)
            rc = SAFECAM_ERR_IO;
    }
    sqlite3_finalize(st);
    if (rc == 0 && *first) {
        h->anchor_id = *first;
        h->head_id = *last;
        memcpy(h->head_hash, prev, AUDIT_HASH_BYTES);
    }
    return rc;
}

int audit_log_chain_enable(audit_log *log, const uint8_t key[AUDIT_KEY_BYTES], audit_head_saved_fn saved,
                           void *ctx)
{
    if (!log || !key)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    if (!log->mac_key && !(log->mac_key = sodium_malloc(AUDIT_KEY_BYTES)))
        return SAFECAM_ERR_NOMEM;
    crypto_generichash(log->mac_key, AUDIT_KEY_BYTES, (const uint8_t *)AUDIT_MAC_LABEL, strlen(AUDIT_MAC_LABEL),
                       key, AUDIT_KEY_BYTES);
    log->saved = saved;
    log->saved_ctx = ctx;
    if (exec_const(log->db, "BEGIN IMMEDIATE") != 0)
        return SAFECAM_ERR_IO;
    struct audit_head h;
    int rc = head_read(log, &h);
    int chained_now = 0;
    int64_t first = 0, last = 0;
    if (rc == SAFECAM_ERR_NOTFOUND) {
        rc = chain_migrate_locked(log, &h, &first, &last);
        if (rc == 0 && first) {
            char detail[256];
            if (safecam_fmt(detail, sizeof detail,
                            "the chain starts at id %lld: rows %lld-%lld were written before it and chained at "
                            "this start (not attested before it)",
                            (long long)first, (long long)first, (long long)last) != 0)
                detail[0] = '\0';
            rc = chain_append_locked(log, &h, safecam_time_now(), AUDIT_LOG_CHAINED, "audit", NULL, detail);
        }
        if (rc == 0)
            rc = head_write(log, &h);
        chained_now = 1;
    } else if (rc == SAFECAM_ERR_IO) {
        rc = 0; /* a damaged head row: audit_log_verify reports it; the next append re-seals it */
    }
    rc = txn_end(log, rc);
    if (rc == 0 && chained_now && log->saved)
        log->saved(log->saved_ctx, &h);
    if (rc != 0) {
        sodium_free(log->mac_key);
        log->mac_key = NULL;
    }
    return rc;
}

/* Verification state while streaming. */
struct verify_walk {
    uint8_t prev[AUDIT_HASH_BYTES];
    int64_t expect;
    int64_t bad_id;
    uint8_t bad_hash[AUDIT_HASH_BYTES];
    int bad_has_hash;
    int64_t seen_after_bad;
};

static void verify_broken(struct audit_verify_result *out, int64_t id, const char *reason)
{
    out->intact = 0;
    out->first_bad_id = id;
    out->reason = reason;
}

int audit_log_verify(audit_log *log, const struct audit_head *mark, struct audit_verify_result *out)
{
    if (!log || !out || !log->mac_key)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    struct audit_head h;
    int rc = head_read(log, &h);
    if (rc == SAFECAM_ERR_NOTFOUND || (rc == 0 && !audit_head_valid(log, &h)) || rc == SAFECAM_ERR_IO) {
        int64_t bad = rc == 0 ? h.head_id : 0;
        if (rc == SAFECAM_ERR_NOTFOUND && mark && mark->head_id > 0)
            verify_broken(out, 1, "deleted"); /* the whole log or its head is gone; vault.db remembers it */
        else if (rc == SAFECAM_ERR_NOTFOUND)
            out->intact = 1;
        else
            verify_broken(out, bad, "head_mismatch");
        return 0;
    }
    out->head_id = h.head_id;
    memcpy(out->head_hash, h.head_hash, AUDIT_HASH_BYTES);
    if (mark && mark->head_id > 0) {
        if (!audit_head_valid(log, mark)) {
            verify_broken(out, mark->head_id, "head_mismatch");
            return 0;
        }
        if (mark->head_id > h.head_id) { /* audit.db rolled back behind the vault's copy of its head */
            verify_broken(out, h.head_id + 1, "deleted");
            return 0;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db, "SELECT id, time, type, actor, source, detail, hash FROM events ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    struct verify_walk w = {.expect = h.anchor_id, .bad_id = 0};
    memcpy(w.prev, h.anchor_prev, AUDIT_HASH_BYTES);
    int64_t last_ok = 0, n = 0;
    int r, done = 0;
    rc = 0;
    while (!done && (r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        uint8_t want[AUDIT_HASH_BYTES], stored[AUDIT_HASH_BYTES];
        int has = blob_get(st, 6, stored) == 0;
        if ((rc = audit_link_hash(w.prev, id, sqlite3_column_int64(st, 1),
                                  (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
                                  (const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 5),
                                  want)) != 0)
            break;
        if (w.bad_id) {
            /* name the reason: the next row chains from the bad row's stored hash (its content was altered),
             * or some later row chains from the last good hash (the bad row was put in) */
            if (w.seen_after_bad++ == 0 && w.bad_has_hash) {
                uint8_t from_bad[AUDIT_HASH_BYTES];
                if ((rc = audit_link_hash(w.bad_hash, id, sqlite3_column_int64(st, 1),
                                          (const char *)sqlite3_column_text(st, 2),
                                          (const char *)sqlite3_column_text(st, 3),
                                          (const char *)sqlite3_column_text(st, 4),
                                          (const char *)sqlite3_column_text(st, 5), from_bad)) != 0)
                    break;
                if (has && sodium_memcmp(from_bad, stored, AUDIT_HASH_BYTES) == 0) {
                    verify_broken(out, w.bad_id, "altered");
                    done = 1;
                    continue;
                }
            }
            if (has && sodium_memcmp(want, stored, AUDIT_HASH_BYTES) == 0) {
                verify_broken(out, w.bad_id, "inserted");
                done = 1;
            } else if (w.seen_after_bad >= AUDIT_CLASSIFY_ROWS_MAX) {
                verify_broken(out, w.bad_id, "altered");
                done = 1;
            }
            continue;
        }
        if (id < h.anchor_id || id > h.head_id) { /* outside the MACed range: put in behind the camera */
            verify_broken(out, id, "inserted");
            done = 1;
            continue;
        }
        if (id != w.expect) { /* ids of the chain follow each other: a gap is a deleted row */
            verify_broken(out, w.expect, "deleted");
            done = 1;
            continue;
        }
        if (!has || sodium_memcmp(want, stored, AUDIT_HASH_BYTES) != 0) {
            w.bad_id = id;
            w.bad_has_hash = has;
            if (has)
                memcpy(w.bad_hash, stored, AUDIT_HASH_BYTES);
            continue;
        }
        if (mark && mark->head_id == id && sodium_memcmp(want, mark->head_hash, AUDIT_HASH_BYTES) != 0) {
            verify_broken(out, id, "altered");
            done = 1;
            continue;
        }
        memcpy(w.prev, want, AUDIT_HASH_BYTES);
        w.expect = id + 1;
        last_ok = id;
        n++;
    }
    if (rc == 0 && !done && r != SQLITE_DONE)
        rc = SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    out->events = n;
    if (done)
        return 0;
    if (w.bad_id) {
        verify_broken(out, w.bad_id, w.bad_id > h.head_id ? "inserted" : "altered");
        return 0;
    }
    if (last_ok != h.head_id) { /* the tail is gone (or the whole table) */
        verify_broken(out, last_ok ? last_ok + 1 : h.anchor_id, "deleted");
        return 0;
    }
    if (h.head_id && sodium_memcmp(w.prev, h.head_hash, AUDIT_HASH_BYTES) != 0) {
        verify_broken(out, h.head_id, "head_mismatch");
        return 0;
    }
    out->intact = 1;
    return 0;
}

int audit_log_rows(audit_log *log, audit_row_fn fn, void *ctx)
{
    if (!log || !fn)
        return SAFECAM_ERR_INVAL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db, "SELECT id, time, type, actor, source, detail, hash FROM events ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int r, rc = 0;
    while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t hash[AUDIT_HASH_BYTES];
        char hex[AUDIT_HASH_BYTES * 2 + 1] = "";
        if (blob_get(st, 6, hash) == 0)
            sodium_bin2hex(hex, sizeof hex, hash, AUDIT_HASH_BYTES);
        rc = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 2),
                (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4),
                (const char *)sqlite3_column_text(st, 5), hex);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

int audit_inbox_add(audit_log *log, const char *type, const char *detail)
{
    if (!log || !audit_type_valid(type) || !field_ok(detail, AUDIT_DETAIL_MAX_BYTES))
        return SAFECAM_ERR_INVAL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(log->db, "INSERT INTO inbox(time, type, detail) VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
        SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = sqlite3_bind_int64(st, 1, safecam_time_now()) == SQLITE_OK &&
                     sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC) == SQLITE_OK &&
                     bind_text_or_null(st, 3, detail) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE
                 ? 0
                 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

int audit_inbox_drain(audit_log *log, unsigned max)
{
    if (!log || !log->mac_key)
        return SAFECAM_ERR_INVAL;
    if (exec_const(log->db, "BEGIN IMMEDIATE") != 0)
        return SAFECAM_ERR_IO;
    struct audit_head h;
    int rc = head_read(log, &h);
    sqlite3_stmt *st = NULL;
    int64_t last = 0;
    unsigned n = 0;
    if (rc == 0 && sqlite3_prepare_v2(log->db, "SELECT id, time, type, detail FROM inbox ORDER BY id LIMIT ?1", -1,
                                      &st, NULL) != SQLITE_OK)
        rc = SAFECAM_ERR_IO;
    if (rc == 0 && sqlite3_bind_int64(st, 1, max) != SQLITE_OK)
        rc = SAFECAM_ERR_IO;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 2);
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        last = sqlite3_column_int64(st, 0);
        if (!audit_type_valid(type) || !field_ok(detail, AUDIT_DETAIL_MAX_BYTES))
            continue; /* not something safecamd wrote: dropped with the rest of the batch */
        rc = chain_append_locked(log, &h, sqlite3_column_int64(st, 1), type, AUDIT_INBOX_ACTOR, NULL, detail);
        n++;
    }
    sqlite3_finalize(st);
    if (rc == 0 && last) {
        sqlite3_stmt *del = NULL;
        if (sqlite3_prepare_v2(log->db, "DELETE FROM inbox WHERE id <= ?1", -1, &del, NULL) != SQLITE_OK ||
            sqlite3_bind_int64(del, 1, last) != SQLITE_OK || sqlite3_step(del) != SQLITE_DONE)
            rc = SAFECAM_ERR_IO;
        sqlite3_finalize(del);
    }
    if (rc == 0 && last)
        rc = head_write(log, &h);
    rc = txn_end(log, rc);
    if (rc == 0 && last && log->saved)
        log->saved(log->saved_ctx, &h);
    return rc == 0 ? (int)n : rc;
}

void audit_log_on_append(audit_log *log, audit_appended_fn fn, void *ctx)
{
    if (!log)
        return;
    log->appended = fn;
    log->appended_ctx = ctx;
}

static int event_record(audit_log *log, const char *type, const char *actor, const char *source,
                        const char *detail);

int audit_event_record(audit_log *log, const char *type, const char *actor, const char *source,
                       const char *detail)
{
    int rc = event_record(log, type, actor, source, detail);
    if (rc == 0 && log->appended)
        log->appended(log->appended_ctx, type, safecam_time_now());
    return rc;
}

static int event_record(audit_log *log, const char *type, const char *actor, const char *source,
                        const char *detail)
{
    if (!log || !audit_type_valid(type))
        return SAFECAM_ERR_INVAL;
    if (!field_ok(actor, AUDIT_FIELD_MAX_BYTES) || !field_ok(source, AUDIT_FIELD_MAX_BYTES) ||
        !field_ok(detail, AUDIT_DETAIL_MAX_BYTES))
        return SAFECAM_ERR_INVAL;
    if (log->mac_key)
        return chain_record(log, type, actor, source, detail);
    int rc = SAFECAM_ERR_IO;
    sqlite3_stmt *st = log->insert;
    if (sqlite3_bind_int64(st, 1, (sqlite3_int64)safecam_time_now()) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC) != SQLITE_OK ||
        bind_text_or_null(st, 3, actor) != SQLITE_OK || bind_text_or_null(st, 4, source) != SQLITE_OK ||
        bind_text_or_null(st, 5, detail) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) != SQLITE_DONE) {
        log_err("audit: insert failed: %s", sqlite3_errmsg(log->db));
        goto out;
    }
    sqlite3_int64 last = sqlite3_last_insert_rowid(log->db);
    rc = 0;
    if (last > AUDIT_ROWS_MAX) {
        if (sqlite3_bind_int64(log->trim, 1, last - AUDIT_ROWS_MAX) == SQLITE_OK &&
            sqlite3_step(log->trim) != SQLITE_DONE)
            log_warn("audit: trimming old events failed: %s", sqlite3_errmsg(log->db));
        sqlite3_reset(log->trim);
        sqlite3_clear_bindings(log->trim);
    }
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static json_t *column_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (!t)
        return NULL;
    return json_stringn((const char *)t, (size_t)n);
}

int audit_event_query(audit_log *log, const struct audit_filter *filter, json_t **events_out)
{
    if (!log || !events_out)
        return SAFECAM_ERR_INVAL;
    *events_out = NULL;
    struct audit_filter f = {0, 0, NULL, 0};
    if (filter)
        f = *filter;
    if (f.since < 0 || f.until < 0 || (f.since && f.until && f.since > f.until))
        return SAFECAM_ERR_INVAL;
    if (f.type && !audit_type_valid(f.type))
        return SAFECAM_ERR_INVAL;
    if (f.limit > AUDIT_QUERY_LIMIT_MAX)
        return SAFECAM_ERR_INVAL;
    if (f.limit == 0)
        f.limit = AUDIT_DEFAULT_LIMIT;

    int rc = SAFECAM_ERR_IO;
    json_t *arr = json_array();
    if (!arr)
        return SAFECAM_ERR_NOMEM;
    sqlite3_stmt *st = log->query;
    if (sqlite3_bind_int64(st, 1, f.since) != SQLITE_OK || sqlite3_bind_int64(st, 2, f.until) != SQLITE_OK ||
        bind_text_or_null(st, 3, f.type) != SQLITE_OK || sqlite3_bind_int64(st, 4, f.limit) != SQLITE_OK)
        goto out;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 t = sqlite3_column_int64(st, 1);
        char tt[32];
        if (safecam_time_rfc3339((int64_t)t, tt, sizeof tt) != 0)
            tt[0] = '\0';
        json_t *o = json_object();
        if (!o || json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0))) != 0 ||
            json_object_set_new(o, "time", json_integer(t)) != 0 ||
            json_object_set_new(o, "time_text", json_string(tt)) != 0 ||
            json_object_set_new(o, "type", column_json(st, 2)) != 0 ||
            json_object_set_new(o, "actor", column_json(st, 3)) != 0 ||
            json_object_set_new(o, "source", column_json(st, 4)) != 0 ||
            json_object_set_new(o, "detail", column_json(st, 5)) != 0) {
            json_decref(o);
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
        if (json_array_append_new(arr, o) != 0) { /* o is released by jansson either way */
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
    }
    if (r != SQLITE_DONE) {
        log_err("audit: query failed: %s", sqlite3_errmsg(log->db));
        goto out;
    }
    *events_out = arr;
    arr = NULL;
    rc = 0;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    json_decref(arr);
    return rc;
}
