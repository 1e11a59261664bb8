/* test_core.c — bounded strings, number parsing, UTF-8 validation and atomic files (lib/core). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/core.h"

static void test_strlcpy_fmt(void **state)
{
    (void)state;
    char b[4];
    assert_int_equal(safecam_strlcpy(b, "abc", sizeof b), 0);
    assert_string_equal(b, "abc");
    assert_int_equal(safecam_strlcpy(b, "abcd", sizeof b), SAFECAM_ERR_TOOBIG);
    assert_string_equal(b, "");
    assert_int_equal(safecam_fmt(b, sizeof b, "%d", 123), 0);
    assert_int_equal(safecam_fmt(b, sizeof b, "%d", 1234), SAFECAM_ERR_TOOBIG);
    assert_string_equal(b, "");
}

static void test_parse_long(void **state)
{
    (void)state;
    long v;
    assert_int_equal(safecam_parse_long("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(safecam_parse_long("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    const char *bad[] = {"", "-", "4x", " 4", "+4", "101", "99999999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(safecam_parse_long(bad[i], 0, 100, &v), SAFECAM_ERR_INVAL);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(safecam_utf8_valid("abc", 3));
    assert_true(safecam_utf8_valid("Vi\xe1\xbb\x87t", 6)); /* Việt */
    assert_false(safecam_utf8_valid("\xc0\xaf", 2));      /* overlong '/' */
    assert_false(safecam_utf8_valid("\xed\xa0\x80", 3));  /* surrogate */
    assert_false(safecam_utf8_valid("\xe1\xbb", 2));      /* truncated */
    assert_false(safecam_utf8_valid("a\0b", 3));          /* NUL */
    assert_false(safecam_utf8_valid("\xf5\x80\x80\x80", 4));
}

static void test_atomic_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/safecam-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    assert_int_equal(safecam_path_join(path, sizeof path, dir, "f.json"), 0);
    assert_int_equal(safecam_file_write_atomic(path, "hello", 5, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *data;
    size_t len;
    assert_int_equal(safecam_file_read(path, 100, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
    assert_int_equal(safecam_file_read(path, 4, &data, &len), SAFECAM_ERR_TOOBIG);
    char missing[300];
    assert_int_equal(safecam_path_join(missing, sizeof missing, dir, "nope"), 0);
    assert_int_equal(safecam_file_read(missing, 4, &data, &len), SAFECAM_ERR_NOTFOUND);
    unlink(path);
    rmdir(dir);
}

static void test_time(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(safecam_time_rfc3339(0, b, sizeof b), 0);
    assert_string_equal(b, "1970-01-01T00:00:00Z");
    assert_true(safecam_time_now() > 1700000000);
}

/* safecam_path_remove: a whole tree, a plain file, nothing at all; a symlink is removed, never followed. */
static void test_path_remove(void **state)
{
    (void)state;
    char root[] = "/tmp/test_core_rm.XXXXXX", keep[] = "/tmp/test_core_keep.XXXXXX", p[256], q[256];
    assert_non_null(mkdtemp(root));
    assert_non_null(mkdtemp(keep));
    snprintf(q, sizeof q, "%s/precious", keep);
    assert_int_equal(safecam_file_write_atomic(q, "x", 1, 0600), 0);
    snprintf(p, sizeof p, "%s/a", root);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b", root);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b/f", root);
    assert_int_equal(safecam_file_write_atomic(p, "y", 1, 0600), 0);
    snprintf(p, sizeof p, "%s/a/link", root);
    assert_int_equal(symlink(keep, p), 0); /* a link to a directory outside the tree */
    snprintf(p, sizeof p, "%s/file", root);
    assert_int_equal(safecam_file_write_atomic(p, "z", 1, 0600), 0);
    assert_int_equal(safecam_path_remove(p), 0); /* a plain file */
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(safecam_path_remove(root), 0);
    assert_int_equal(access(root, F_OK), -1);
    assert_int_equal(access(q, F_OK), 0); /* the link's target is untouched */
    assert_int_equal(safecam_path_remove(root), 0); /* absent: success */
    assert_int_equal(safecam_path_remove(""), SAFECAM_ERR_INVAL);
    unlink(q);
    rmdir(keep);
}

/* The bounded buffer: grows up to its maximum, never past it, and is freed by the failing add. */
static void test_buf(void **state)
{
    (void)state;
    struct safecam_buf b;
    safecam_buf_init(&b, 1000, SAFECAM_BUF_WIPE);
    assert_string_equal(safecam_buf_str(&b), "");
    char chunk[300];
    memset(chunk, 'x', sizeof(chunk));
    assert_int_equal(safecam_buf_add(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(safecam_buf_add(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(safecam_buf_add(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(b.len, 900);
    assert_true(b.cap <= 1001);
    assert_int_equal(strlen(safecam_buf_str(&b)), 900);
    assert_null(safecam_buf_take(&b)); /* a wiped buffer never hands its contents out */
    assert_int_equal(safecam_buf_add(&b, chunk, 100), 0); /* exactly max */
    assert_int_equal(b.len, 1000);
    assert_int_equal(safecam_buf_add(&b, "y", 1), SAFECAM_ERR_TOOBIG);
    assert_null(b.data); /* freed on failure */
    assert_int_equal(b.len, 0);
    assert_int_equal(safecam_buf_add(&b, "abc", 3), 0); /* still usable, same max */
    safecam_buf_free(&b);
    assert_null(b.data);
    struct safecam_buf f;
    safecam_buf_init(&f, 16, 0);
    assert_int_equal(safecam_buf_addf(&f, "%s-%d", "ab", 12), 0);
    assert_string_equal(safecam_buf_str(&f), "ab-12");
    assert_int_equal(safecam_buf_addf(&f, "%0100d", 1), SAFECAM_ERR_TOOBIG);
    assert_int_equal(safecam_buf_add(&f, "ok", 2), 0);
    char *t = safecam_buf_take(&f);
    assert_string_equal(t, "ok");
    free(t);
    assert_int_equal(f.len, 0);
    struct safecam_buf z;
    safecam_buf_init(&z, 0, 0);
    assert_int_equal(safecam_buf_add(&z, "", 0), 0);
    assert_int_equal(safecam_buf_add(&z, "a", 1), SAFECAM_ERR_TOOBIG);
    safecam_buf_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strlcpy_fmt), cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_utf8),        cmocka_unit_test(test_atomic_file),
        cmocka_unit_test(test_time),        cmocka_unit_test(test_path_remove),
        cmocka_unit_test(test_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
