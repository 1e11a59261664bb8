/* test_audit.c — unit tests for the security event log (lib/audit/audit.c): record, query order,
 * filters, limits, type allowlist, size caps, UTF-8 checks, file mode, WAL, two handles at once. */
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
