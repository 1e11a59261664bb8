/* test_vault_linked.c — cmocka tests for lib/vault/linked.c: the linked-service settings sealed under the
 * storage key (nothing in clear on disk), write-only passwords, a refusal writes nothing, a service object
 * without a password keeps the stored one, a file sealed under another key does not open.
 * Trust level: test code; runs in a scratch state dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "safecam/core.h"
#include "safecam/vault.h"

static char dir[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_vault_linked_%d", (int)getpid());
    char sub[256];
    snprintf(sub, sizeof sub, "%s/vault", dir);
    return safecam_mkdir_p(sub, 0700) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return safecam_path_remove(dir) == 0 ? 0 : -1;
}

static void test_store(void **state)
{
    (void)state;
    uint8_t key[32], other[32];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    json_t *out = NULL;
    assert_int_equal(vault_linked_get(dir, key, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "data_location")), "unset");
    assert_null(json_object_get(out, "mqtt"));
    json_decref(out);

    char field[64];
    json_t *bad = json_pack("{s:{s:s,s:s}}", "webdav", "url", "http://nas/", "password", "pw-Secret-1");
    assert_int_equal(vault_linked_set(dir, key, bad, field, sizeof field), SAFECAM_ERR_INVAL);
    assert_string_equal(field, "webdav.url");
    json_decref(bad);
    char path[256];
    snprintf(path, sizeof path, "%s/vault/linked.sealed", dir);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing written */

    json_t *in = json_pack("{s:{s:s,s:s,s:s,s:i},s:s}", "webdav", "url", "https://nas/dav/", "username", "cam",
                           "password", "pw-Secret-1", "retention_days", 9, "data_location", "vn");
    assert_int_equal(vault_linked_set(dir, key, in, field, sizeof field), 0);
    json_decref(in);
    char *raw = NULL;
    size_t len = 0;
    assert_int_equal(safecam_file_read(path, 1 << 20, &raw, &len), 0);
    assert_null(memmem(raw, len, "pw-Secret-1", 11));
    assert_null(memmem(raw, len, "nas/dav", 7));
    free(raw);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(vault_linked_get(dir, key, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "data_location")), "vn");
    json_t *dav = json_object_get(out, "webdav");
    assert_true(json_is_true(json_object_get(dav, "password_set")));
    assert_null(json_object_get(dav, "password"));
    assert_int_equal(json_integer_value(json_object_get(dav, "retention_days")), 9);
    json_decref(out);

    /* no password given: the stored one is kept */
    in = json_pack("{s:{s:s,s:i}}", "webdav", "url", "https://nas/dav2/", "retention_days", 3);
    assert_int_equal(vault_linked_set(dir, key, in, field, sizeof field), 0);
    json_decref(in);
    assert_int_equal(vault_linked_get(dir, key, &out), 0);
    dav = json_object_get(out, "webdav");
    assert_true(json_is_true(json_object_get(dav, "password_set")));
    assert_string_equal(json_string_value(json_object_get(dav, "url")), "https://nas/dav2/");
    assert_string_equal(json_string_value(json_object_get(out, "data_location")), "vn");
    json_decref(out);

    /* another key (a factory reset made a new one): does not open */
    assert_int_equal(vault_linked_get(dir, other, &out), SAFECAM_ERR_CRYPTO);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_store)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
