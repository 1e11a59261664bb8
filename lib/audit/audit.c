/* audit.c — the security event log in SQLite (DIR/audit.db), separate from the operational log.
 * Linked into the vault, the supervisor and the web process; several processes may write the same
 * file (WAL journal, 5 s busy timeout). Every value reaches SQLite through bound parameters of
 * prepared statements; types come from an allowlist; fields are length-capped and must be UTF-8.
 * The log keeps the newest AUDIT_ROWS_MAX events (older ones are dropped on insert) so a flood of
 * events cannot fill the camera's storage. QCVN 135 brute force, G3, G8 / EN 303 645 5.1-5. */
#include "safecam/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUDIT_ROWS_MAX 100000
#define AUDIT_DEFAULT_LIMIT 100u
#define AUDIT_BUSY_TIMEOUT_MS 5000

struct audit_log {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *trim;
    sqlite3_stmt *query;
};

static const char *const audit_types[] = {
    AUDIT_LOGIN_SUCCESS, AUDIT_LOGIN_FAILURE, AUDIT_LOCKOUT,        AUDIT_SESSION_END,
    AUDIT_PASSWORD_CHANGE, AUDIT_USER_CREATE, AUDIT_USER_UPDATE,    AUDIT_USER_DELETE,
    AUDIT_CONFIG_CHANGE, AUDIT_PROCESS_RESTART, AUDIT_PROTOCOL_VIOLATION, AUDIT_UPDATE_INSTALL,
    AUDIT_UPDATE_REFUSED, AUDIT_STREAM_ERROR, AUDIT_DATA_DELETE,    AUDIT_FACTORY_RESET,
    AUDIT_DEVICE_START,
    AUDIT_SANDBOX_VIOLATION, AUDIT_CONNECTION_FLOOD,
    AUDIT_INTEGRATION_CREATE, AUDIT_INTEGRATION_ROTATE, AUDIT_INTEGRATION_DELETE,
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
        "PRAGMA synchronous=NORMAL",
        "PRAGMA secure_delete=ON",
        "CREATE TABLE IF NOT EXISTS events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " time INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " actor TEXT, source TEXT, detail TEXT)",
        "CREATE INDEX IF NOT EXISTS events_time ON events(time)",
        "CREATE INDEX IF NOT EXISTS events_type_time ON events(type, time)",
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(setup); i++)
        if ((rc = exec_const(log->db, setup[i])) != 0)
            goto out;
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

int audit_event_record(audit_log *log, const char *type, const char *actor, const char *source,
                       const char *detail)
{
    if (!log || !audit_type_valid(type))
        return SAFECAM_ERR_INVAL;
    if (!field_ok(actor, AUDIT_FIELD_MAX_BYTES) || !field_ok(source, AUDIT_FIELD_MAX_BYTES) ||
        !field_ok(detail, AUDIT_DETAIL_MAX_BYTES))
        return SAFECAM_ERR_INVAL;
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
