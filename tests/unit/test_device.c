/* test_device.c — unit tests for loading the device identity (lib/vault/device.c): the good file,
 * a missing file, and malformed files of every kind (types, lengths, charsets, unknown or duplicate
 * keys, oversize, not JSON). */
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

#include "safecam/device.h"

static char dir[64];
static char factory[96];
static char file[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_device.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(factory, sizeof factory, "%s/factory", dir);
    snprintf(file, sizeof file, "%s/device.json", factory);
    return mkdir(factory, 0700);
}

static int teardown(void **state)
{
    (void)state;
    unlink(file);
    rmdir(factory);
    rmdir(dir);
    return 0;
}

static void put(const char *text)
{
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

static int load(const char *text)
{
    put(text);
    struct device_identity id;
    memset(&id, 0x55, sizeof id);
    int rc = device_identity_load(dir, &id);
    if (rc != 0) {
        /* Nothing half-filled on failure. */
        assert_int_equal(id.serial[0], '\0');
        assert_int_equal(id.provisioned_at, 0);
    }
    return rc;
}

static void test_good(void **state)
{
    (void)state;
    put("{\"serial\":\"SC7QX4M9TK2P\",\"model\":\"SC-100\",\"mac\":\"02:1a:2b:3c:4d:5e\","
        "\"product\":\"safecam\",\"provisioned_at\":1760000000}");
    struct device_identity id;
    assert_int_equal(device_identity_load(dir, &id), 0);
    assert_string_equal(id.serial, "SC7QX4M9TK2P");
    assert_string_equal(id.model, "SC-100");
    assert_string_equal(id.mac, "02:1a:2b:3c:4d:5e");
    assert_string_equal(id.product, "safecam");
    assert_int_equal(id.provisioned_at, 1760000000LL);
}

static void test_missing(void **state)
{
    (void)state;
    unlink(file);
    struct device_identity id;
    assert_int_equal(device_identity_load(dir, &id), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(device_identity_load("/nonexistent", &id), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(device_identity_load(NULL, &id), SAFECAM_ERR_INVAL);
    assert_int_equal(device_identity_load(dir, NULL), SAFECAM_ERR_INVAL);
}

#define BASE_SERIAL "\"serial\":\"SC7QX4M9TK2P\""
#define BASE_MODEL "\"model\":\"SC-100\""
#define BASE_MAC "\"mac\":\"02:1a:2b:3c:4d:5e\""
#define BASE_PRODUCT "\"product\":\"safecam\""
#define BASE_TIME "\"provisioned_at\":1760000000"

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{" BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}", /* no serial */
        "{\"serial\":42," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{\"serial\":\"sc-lower\"," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{\"serial\":\"ABC\"," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{\"serial\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{\"serial\":\"SC\\u0000X1234\"," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL ",\"model\":\"a/b\"," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL ",\"model\":\"\"," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL ",\"mac\":\"02:1A:2B:3C:4D:5E\"," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL ",\"mac\":\"021a2b3c4d5e\"," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL ",\"mac\":\"02-1a-2b-3c-4d-5e\"," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC ",\"product\":\"<script>\"," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC ",\"product\":null," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT ",\"provisioned_at\":\"now\"}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT ",\"provisioned_at\":-1}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT ",\"provisioned_at\":1.5}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME ",\"extra\":1}",
        "{" BASE_SERIAL "," BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}",
        "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = load(bad[i]);
        if (rc != SAFECAM_ERR_INVAL)
            fail_msg("case %zu accepted or wrong error (%d): %s", i, rc, bad[i]);
    }
}

static void test_oversize(void **state)
{
    (void)state;
    size_t n = 8192;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    const char *good = "{" BASE_SERIAL "," BASE_MODEL "," BASE_MAC "," BASE_PRODUCT "," BASE_TIME "}";
    memcpy(big + n - strlen(good), good, strlen(good));
    big[n] = '\0';
    assert_int_equal(load(big), SAFECAM_ERR_INVAL);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_oversize),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
