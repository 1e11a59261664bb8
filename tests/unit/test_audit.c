/* test_audit.c — unit tests for the security event log (lib/audit/audit.c): record, query order,
 * filters, limits, type allowlist, size caps, UTF-8 checks, file mode, WAL, two handles at once; the hash
 * chain: altered, inserted, deleted rows, a cut tail, a forged head, a rollback seen by the vault's mark,
 * retention by rows and age with log_truncated, migration of an old log, 100,000 rows verified. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "safecam/audit.h"

struct fixture {
    char dir[64];
    char path[128];
    audit_log *log;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_audit.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
    if (audit_log_open(f->path, &f->log) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    audit_log_close(f->log);
    char p[160];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static json_t *query(audit_log *log, int64_t since, int64_t until, const char *type, unsigned limit)
{
    struct audit_filter flt = {.since = since, .until = until, .type = type, .limit = limit};
    json_t *events = NULL;
    assert_int_equal(audit_event_query(log, &flt, &events), 0);
    assert_true(json_is_array(events));
    return events;
}

static void test_type_allowlist(void **state)
{
    (void)state;
    assert_true(audit_type_valid(AUDIT_LOGIN_SUCCESS));
    assert_true(audit_type_valid(AUDIT_DEVICE_START));
    assert_true(audit_type_valid(AUDIT_LOCKOUT));
    assert_true(audit_type_valid(AUDIT_MOTION));
    assert_false(audit_type_valid("login_success "));
    assert_false(audit_type_valid("LOGIN_SUCCESS"));
    assert_false(audit_type_valid(""));
    assert_false(audit_type_valid(NULL));
    assert_false(audit_type_valid("x'); DROP TABLE events; --"));
}

static void test_record_and_query(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(audit_event_record(f->log, AUDIT_LOGIN_FAILURE, "admin", "127.0.0.1", "web"), 0);
    assert_int_equal(audit_event_record(f->log, AUDIT_LOCKOUT, "admin", "127.0.0.1", NULL), 0);
    assert_int_equal(audit_event_record(f->log, AUDIT_DEVICE_START, NULL, NULL, NULL), 0);
    json_t *ev = query(f->log, 0, 0, NULL, 0);
    assert_int_equal(json_array_size(ev), 3);
    /* Newest first. */
    json_t *first = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(first, "type")), AUDIT_DEVICE_START);
    assert_true(json_is_null(json_object_get(first, "actor")));
    assert_true(json_is_null(json_object_get(first, "source")));
    assert_true(json_is_null(json_object_get(first, "detail")));
    json_t *last = json_array_get(ev, 2);
    assert_string_equal(json_string_value(json_object_get(last, "type")), AUDIT_LOGIN_FAILURE);
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "admin");
    assert_string_equal(json_string_value(json_object_get(last, "source")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(last, "detail")), "web");
    json_int_t t = json_integer_value(json_object_get(last, "time"));
    assert_true(t > 1600000000);
    const char *tt = json_string_value(json_object_get(last, "time_text"));
    assert_non_null(tt);
    assert_int_equal(strlen(tt), 20);
    assert_int_equal(tt[19], 'Z');
    assert_true(json_integer_value(json_object_get(first, "id")) >
                json_integer_value(json_object_get(last, "id")));
    json_decref(ev);
}

static void test_filters_and_limit(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 30; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "n=%d", i);
        assert_int_equal(audit_event_record(f->log, (i % 3) ? AUDIT_LOGIN_FAILURE : AUDIT_LOCKOUT, "u",
                                            "::1", detail), 0);
    }
    json_t *ev = query(f->log, 0, 0, AUDIT_LOCKOUT, 0);
    assert_int_equal(json_array_size(ev), 10);
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) assert_string_equal(json_string_value(json_object_get(e, "type")),
                                                     AUDIT_LOCKOUT);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "detail")), "n=27");
    json_decref(ev);

    ev = query(f->log, 0, 0, NULL, 5);
    assert_int_equal(json_array_size(ev), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "detail")), "n=29");
    json_decref(ev);

    int64_t now = (int64_t)time(NULL);
    ev = query(f->log, now + 3600, 0, NULL, 0);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);
    ev = query(f->log, 0, now - 3600, NULL, 0);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);
    ev = query(f->log, now - 3600, now + 3600, NULL, AUDIT_QUERY_LIMIT_MAX);
    assert_int_equal(json_array_size(ev), 30);
    json_decref(ev);
    ev = query(f->log, 0, 0, AUDIT_PASSWORD_CHANGE, 0);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);

    /* Default limit is 100. */
    for (int k = 0; k < 80; k++)
        assert_int_equal(audit_event_record(f->log, AUDIT_SESSION_END, "u", NULL, NULL), 0);
    ev = query(f->log, 0, 0, NULL, 0);
    assert_int_equal(json_array_size(ev), 100);
    json_decref(ev);
    /* A NULL filter means the defaults. */
    ev = NULL;
    assert_int_equal(audit_event_query(f->log, NULL, &ev), 0);
    assert_int_equal(json_array_size(ev), 100);
    json_decref(ev);
}

static void test_bad_filters(void **state)
{
    struct fixture *f = *state;
    json_t *ev = (json_t *)0x1;
    struct audit_filter flt = {.limit = AUDIT_QUERY_LIMIT_MAX + 1};
    assert_int_equal(audit_event_query(f->log, &flt, &ev), SAFECAM_ERR_INVAL);
    assert_null(ev);
    struct audit_filter bad_type = {.type = "nope"};
    assert_int_equal(audit_event_query(f->log, &bad_type, &ev), SAFECAM_ERR_INVAL);
    struct audit_filter inverted = {.since = 2000, .until = 1000};
    assert_int_equal(audit_event_query(f->log, &inverted, &ev), SAFECAM_ERR_INVAL);
    struct audit_filter negative = {.since = -5};
    assert_int_equal(audit_event_query(f->log, &negative, &ev), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_query(NULL, &flt, &ev), SAFECAM_ERR_INVAL);
}

static void test_refusals_change_nothing(void **state)
{
    struct fixture *f = *state;
    char big[AUDIT_DETAIL_MAX_BYTES + 2];
    memset(big, 'a', sizeof big);
    big[AUDIT_FIELD_MAX_BYTES] = '\0'; /* exactly the cap: accepted */
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, big, big, big), 0);
    big[AUDIT_FIELD_MAX_BYTES] = 'a';
    big[AUDIT_FIELD_MAX_BYTES + 1] = '\0'; /* 257 bytes */
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, big, NULL, NULL), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, NULL, big, NULL), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, NULL, NULL, big), 0);
    memset(big, 'a', sizeof big);
    big[AUDIT_DETAIL_MAX_BYTES] = '\0';
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, NULL, NULL, big), 0);
    big[AUDIT_DETAIL_MAX_BYTES] = 'a';
    big[AUDIT_DETAIL_MAX_BYTES + 1] = '\0';
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, NULL, NULL, big), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, "bad\xff", NULL, NULL),
                     SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, NULL, "\xc0\xaf", NULL),
                     SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, AUDIT_CONFIG_CHANGE, NULL, NULL, "\xed\xa0\x80"),
                     SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, "made_up", NULL, NULL, NULL), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(f->log, NULL, NULL, NULL, NULL), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_event_record(NULL, AUDIT_CONFIG_CHANGE, NULL, NULL, NULL), SAFECAM_ERR_INVAL);
    json_t *ev = query(f->log, 0, 0, NULL, 0);
    assert_int_equal(json_array_size(ev), 3); /* only the three accepted records */
    json_decref(ev);
}

static void test_values_stored_verbatim(void **state)
{
    struct fixture *f = *state;
    const char *tricky = "x'); DROP TABLE events; --";
    const char *utf8 = "Nguy\xe1\xbb\x85n \xc4\x90\xe1\xbb\xa9\x63";
    assert_int_equal(audit_event_record(f->log, AUDIT_USER_CREATE, tricky, utf8, "a\"b\\c"), 0);
    json_t *ev = query(f->log, 0, 0, AUDIT_USER_CREATE, 1);
    json_t *e = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(e, "actor")), tricky);
    assert_string_equal(json_string_value(json_object_get(e, "source")), utf8);
    assert_string_equal(json_string_value(json_object_get(e, "detail")), "a\"b\\c");
    json_decref(ev);
}

static void test_file_mode_wal_and_two_handles(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    /* A second writer (as another process would be) sees and adds to the same log. */
    audit_log *other = NULL;
    assert_int_equal(audit_log_open(f->path, &other), 0);
    assert_int_equal(audit_event_record(f->log, AUDIT_PROCESS_RESTART, "supervisor", NULL, "web"), 0);
    assert_int_equal(audit_event_record(other, AUDIT_PROTOCOL_VIOLATION, "vault", NULL, "web"), 0);
    json_t *ev = query(other, 0, 0, NULL, 0);
    assert_int_equal(json_array_size(ev), 2);
    /* The WAL side files inherit the database's private mode. */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    json_decref(ev);
    audit_log_close(other);

    /* A file created with a loose mode is tightened on open. */
    char loose[160];
    snprintf(loose, sizeof loose, "%s/loose.db", f->dir);
    FILE *fp = fopen(loose, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(chmod(loose, 0644), 0);
    assert_int_equal(audit_log_open(loose, &other), 0);
    assert_int_equal(stat(loose, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    audit_log_close(other);
    unlink(loose);
    char side[180];
    snprintf(side, sizeof side, "%s-wal", loose);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", loose);
    unlink(side);
}

static void test_open_refuses_symlink(void **state)
{
    struct fixture *f = *state;
    char link_path[160];
    snprintf(link_path, sizeof link_path, "%s/link.db", f->dir);
    assert_int_equal(symlink(f->path, link_path), 0);
    audit_log *l = (audit_log *)0x1;
    assert_true(audit_log_open(link_path, &l) < 0);
    assert_null(l);
    unlink(link_path);
    assert_int_equal(audit_log_open(NULL, &l), SAFECAM_ERR_INVAL);
}

/* ---- the hash chain ---- */

static const uint8_t test_key[AUDIT_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

struct saved_mark {
    struct audit_head head;
    int calls;
};

static void mark_saved(void *ctx, const struct audit_head *h)
{
    struct saved_mark *m = ctx;
    m->head = *h;
    m->calls++;
}

/* Run one SQL statement on the file through a second connection: the attacker with the storage. */
static void raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

static void record_n(audit_log *log, int n)
{
    for (int i = 0; i < n; i++) {
        char detail[32];
        snprintf(detail, sizeof detail, "event %d", i);
        assert_int_equal(audit_event_record(log, AUDIT_CONFIG_CHANGE, "admin", "127.0.0.1", detail), 0);
    }
}

static void verify_expect(audit_log *log, const struct audit_head *mark, int intact, int64_t bad,
                          const char *reason)
{
    struct audit_verify_result r;
    assert_int_equal(audit_log_verify(log, mark, &r), 0);
    if (intact) {
        assert_true(r.intact);
        assert_null(r.reason);
        return;
    }
    assert_false(r.intact);
    assert_int_equal(r.first_bad_id, bad);
    assert_string_equal(r.reason, reason);
}

static void test_chain_intact_and_mark(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    verify_expect(f->log, NULL, 1, 0, NULL); /* empty */
    assert_int_equal(m.calls, 1);           /* the empty head, written at enable */
    m.calls = 0;
    record_n(f->log, 20);
    assert_int_equal(m.calls, 20);
    assert_int_equal(m.head.head_id, 20);
    assert_true(audit_head_valid(f->log, &m.head));
    struct audit_verify_result r;
    assert_int_equal(audit_log_verify(f->log, &m.head, &r), 0);
    assert_true(r.intact);
    assert_int_equal(r.events, 20);
    assert_int_equal(r.head_id, 20);
    assert_memory_equal(r.head_hash, m.head.head_hash, AUDIT_HASH_BYTES);
    /* a tampered mark (vault.db) is seen too */
    struct audit_head bad = m.head;
    bad.head_hash[0] ^= 1;
    assert_false(audit_head_valid(f->log, &bad));
    verify_expect(f->log, &bad, 0, 20, "head_mismatch");
}

static void test_chain_link_is_unambiguous(void **state)
{
    (void)state;
    uint8_t z[AUDIT_HASH_BYTES] = {0}, a[AUDIT_HASH_BYTES], b[AUDIT_HASH_BYTES];
    /* the same bytes split differently between fields, or NULL beside "", give other links */
    assert_int_equal(audit_link_hash(z, 1, 2, "ab", "c", NULL, NULL, a), 0);
    assert_int_equal(audit_link_hash(z, 1, 2, "a", "bc", NULL, NULL, b), 0);
    assert_memory_not_equal(a, b, AUDIT_HASH_BYTES);
    assert_int_equal(audit_link_hash(z, 1, 2, "a", "", NULL, NULL, a), 0);
    assert_int_equal(audit_link_hash(z, 1, 2, "a", NULL, NULL, NULL, b), 0);
    assert_memory_not_equal(a, b, AUDIT_HASH_BYTES);
    assert_int_equal(audit_link_hash(z, 1, 2, "a", NULL, NULL, NULL, a), 0);
    assert_int_equal(audit_link_hash(z, 2, 2, "a", NULL, NULL, NULL, b), 0);
    assert_memory_not_equal(a, b, AUDIT_HASH_BYTES);
}

static void chain_setup_20(struct fixture *f, struct saved_mark *m)
{
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, m), 0);
    record_n(f->log, 20);
}

static void test_chain_detects_altered(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    chain_setup_20(f, &m);
    raw_sql(f->path, "UPDATE events SET detail = 'nothing happened' WHERE id = 7");
    verify_expect(f->log, &m.head, 0, 7, "altered");
}

static void test_chain_detects_inserted(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    chain_setup_20(f, &m);
    /* forged rows appended behind the camera's back, with or without a made-up hash */
    raw_sql(f->path, "INSERT INTO events(time, type, actor, source, detail) VALUES (1, 'login_success', 'admin', "
                     "'10.0.0.1', 'forged')");
    raw_sql(f->path, "INSERT INTO events(time, type, actor, detail, hash) VALUES (1, 'login_success', 'x', 'y', "
                     "randomblob(32))");
    verify_expect(f->log, &m.head, 0, 21, "inserted");
    /* the camera goes on appending after them: still reported, the new rows chain from the real head */
    record_n(f->log, 3);
    verify_expect(f->log, &m.head, 0, 21, "inserted");
}

static void test_chain_detects_deleted_middle(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    chain_setup_20(f, &m);
    raw_sql(f->path, "DELETE FROM events WHERE id = 10");
    verify_expect(f->log, &m.head, 0, 10, "deleted");
}

static void test_chain_detects_deleted_and_truncated_tail(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    chain_setup_20(f, &m);
    raw_sql(f->path, "DELETE FROM events WHERE id >= 18");
    verify_expect(f->log, &m.head, 0, 18, "deleted");
    /* rewriting the head row to the new tail without the key */
    raw_sql(f->path, "UPDATE chain SET head_id = 17, head_hash = (SELECT hash FROM events WHERE id = 17)");
    verify_expect(f->log, NULL, 0, 17, "head_mismatch");
}

static void test_chain_detects_rollback_by_mark(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    chain_setup_20(f, &m);
    struct audit_head old = m.head; /* the attacker's saved copy of the head row at id 20 */
    record_n(f->log, 5);
    /* roll audit.db back to that copy: the rows after 20 and the head row as it was */
    char sql[512];
    char hex_prev[65], hex_hash[65], hex_mac[65];
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex_prev + 2 * i, 3, "%02x", old.anchor_prev[i]);
        snprintf(hex_hash + 2 * i, 3, "%02x", old.head_hash[i]);
        snprintf(hex_mac + 2 * i, 3, "%02x", old.mac[i]);
    }
    snprintf(sql, sizeof sql,
             "DELETE FROM events WHERE id > 20; UPDATE chain SET anchor_id = %lld, anchor_prev = x'%s', head_id = 20,"
             " head_hash = x'%s', mac = x'%s'",
             (long long)old.anchor_id, hex_prev, hex_hash, hex_mac);
    raw_sql(f->path, sql);
    verify_expect(f->log, NULL, 1, 0, NULL); /* audit.db alone looks whole */
    verify_expect(f->log, &m.head, 0, 21, "deleted"); /* vault.db's copy of the head says otherwise */
}

static void test_chain_whole_log_deleted(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    chain_setup_20(f, &m);
    raw_sql(f->path, "DELETE FROM events; DELETE FROM chain");
    verify_expect(f->log, &m.head, 0, 1, "deleted");
}

static void test_chain_retention_keeps_it_verifiable(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    assert_int_equal(audit_log_retention_set(f->log, 8, 1), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_log_retention_set(f->log, 50, 100000000), 0);
    record_n(f->log, 120);
    struct audit_verify_result r;
    assert_int_equal(audit_log_verify(f->log, &m.head, &r), 0);
    assert_true(r.intact);
    assert_true(r.events <= 51);
    json_t *ev = query(f->log, 0, 0, AUDIT_LOG_TRUNCATED, 10);
    assert_true(json_array_size(ev) >= 1);
    const char *d = json_string_value(json_object_get(json_array_get(ev, 0), "detail"));
    assert_non_null(strstr(d, "last dropped hash "));
    json_decref(ev);
    /* deleting the new first rows (the anchor) without the key is seen */
    raw_sql(f->path, "DELETE FROM events WHERE id = (SELECT min(id) FROM events)");
    assert_int_equal(audit_log_verify(f->log, &m.head, &r), 0);
    assert_false(r.intact);
    assert_string_equal(r.reason, "deleted");
}

static void test_chain_retention_by_age(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    record_n(f->log, 10);
    raw_sql(f->path, "UPDATE events SET time = time - 1000"); /* breaks the links: re-chain below */
    audit_log_close(f->log);
    raw_sql(f->path, "UPDATE events SET hash = NULL; DELETE FROM chain");
    assert_int_equal(audit_log_open(f->path, &f->log), 0);
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0); /* chains them anew */
    assert_int_equal(audit_log_retention_set(f->log, 1000, 500), 0);
    record_n(f->log, 1);
    struct audit_verify_result r;
    assert_int_equal(audit_log_verify(f->log, &m.head, &r), 0);
    assert_true(r.intact);
    json_t *ev = query(f->log, 0, 0, AUDIT_LOG_TRUNCATED, 10);
    assert_int_equal(json_array_size(ev), 1);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(ev, 0), "detail")), "(age)"));
    json_decref(ev);
}

static void test_chain_migration_of_old_rows(void **state)
{
    struct fixture *f = *state;
    record_n(f->log, 5); /* no chain yet: an audit.db from before it */
    audit_log_close(f->log);
    raw_sql(f->path, "DROP TABLE chain"); /* exactly the old schema (hash column stays NULL) */
    assert_int_equal(audit_log_open(f->path, &f->log), 0);
    struct saved_mark m = {0};
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    assert_int_equal(m.head.head_id, 6);
    json_t *ev = query(f->log, 0, 0, AUDIT_LOG_CHAINED, 10);
    assert_int_equal(json_array_size(ev), 1);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(ev, 0), "detail")), "rows 1-5"));
    json_decref(ev);
    record_n(f->log, 2);
    verify_expect(f->log, &m.head, 1, 0, NULL);
    /* a second start chains nothing again */
    audit_log_close(f->log);
    assert_int_equal(audit_log_open(f->path, &f->log), 0);
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    ev = query(f->log, 0, 0, AUDIT_LOG_CHAINED, 10);
    assert_int_equal(json_array_size(ev), 1);
    json_decref(ev);
    /* another key does not verify the head */
    uint8_t other[AUDIT_KEY_BYTES] = {9};
    audit_log_close(f->log);
    assert_int_equal(audit_log_open(f->path, &f->log), 0);
    assert_int_equal(audit_log_chain_enable(f->log, other, NULL, NULL), 0);
    verify_expect(f->log, NULL, 0, 8, "head_mismatch");
}

static void test_chain_verify_100k_streaming(void **state)
{
    struct fixture *f = *state;
    /* 100,000 old rows chained at enable, then verified: bounded by streaming, checked for time loosely */
    audit_log_close(f->log);
    raw_sql(f->path, "DROP TABLE chain;"
                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)"
                     " INSERT INTO events(time, type, actor, source, detail) SELECT 1700000000 + x, 'config_change',"
                     " 'admin', '127.0.0.1', 'bulk ' || x FROM c");
    assert_int_equal(audit_log_open(f->path, &f->log), 0);
    struct saved_mark m = {0};
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    struct audit_verify_result r;
    assert_int_equal(audit_log_verify(f->log, &m.head, &r), 0);
    assert_true(r.intact);
    assert_int_equal(r.events, 100001);
}

static void test_chain_inbox_drained_into_the_chain(void **state)
{
    struct fixture *f = *state;
    struct saved_mark m = {0};
    assert_int_equal(audit_inbox_add(f->log, AUDIT_PROCESS_RESTART, "process=safecamd slot=A status=exit_1"), 0);
    assert_int_equal(audit_inbox_add(f->log, "not_a_type", "x"), SAFECAM_ERR_INVAL);
    raw_sql(f->path, "INSERT INTO inbox(time, type, detail) VALUES (1, 'bogus', 'put in by hand')");
    assert_int_equal(audit_inbox_add(f->log, AUDIT_UPDATE_INSTALL, "event=rollback"), 0);
    assert_int_equal(audit_log_chain_enable(f->log, test_key, mark_saved, &m), 0);
    assert_int_equal(audit_inbox_drain(f->log, 100), 2); /* the unknown type is not chained */
    assert_int_equal(audit_inbox_drain(f->log, 100), 0);
    json_t *ev = query(f->log, 0, 0, AUDIT_PROCESS_RESTART, 10);
    assert_int_equal(json_array_size(ev), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "actor")), AUDIT_INBOX_ACTOR);
    json_decref(ev);
    verify_expect(f->log, &m.head, 1, 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_allowlist),
        cmocka_unit_test_setup_teardown(test_record_and_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_stored_verbatim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_mode_wal_and_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_symlink, setup, teardown),
        cmocka_unit_test(test_chain_link_is_unambiguous),
        cmocka_unit_test_setup_teardown(test_chain_intact_and_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_altered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_inserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_deleted_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_deleted_and_truncated_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_detects_rollback_by_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_whole_log_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_retention_keeps_it_verifiable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_retention_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_migration_of_old_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_verify_100k_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_inbox_drained_into_the_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
