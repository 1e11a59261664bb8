/* test_seal.c — unit tests for sealed secrets at rest (lib/vault/seal.c): round trip, tampering of
 * every byte region, wrong key, wrong label, truncation, storage key file checks. QCVN 135 G4. */
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
#include <sodium.h>

#include "safecam/seal.h"

static uint8_t key[SEAL_KEY_BYTES];
static const uint8_t secret[] = "-----BEGIN SAFECAM TEST SECRET-----\nnot a real key\n-----END SAFECAM TEST SECRET-----\n";

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key, sizeof key);
    return 0;
}

static void seal_secret(uint8_t **blob, size_t *blob_len)
{
    assert_int_equal(seal_data_seal(key, "tls.key", secret, sizeof secret - 1, blob, blob_len), 0);
    assert_int_equal(*blob_len, sizeof secret - 1 + SEAL_OVERHEAD_BYTES);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;
    seal_secret(&blob, &blob_len);
    assert_memory_equal(blob, "SCS1", 4);
    /* The clear text does not appear in the blob. */
    assert_null(memmem(blob, blob_len, "TEST SECRET", 11));
    assert_int_equal(seal_data_open(key, "tls.key", blob, blob_len, &pt, &pt_len), 0);
    assert_int_equal(pt_len, sizeof secret - 1);
    assert_memory_equal(pt, secret, pt_len);
    assert_int_equal(pt[pt_len], '\0');
    sodium_free(pt);
    free(blob);
}

static void test_empty_plaintext(void **state)
{
    (void)state;
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;
    assert_int_equal(seal_data_seal(key, "x", NULL, 0, &blob, &blob_len), 0);
    assert_int_equal(blob_len, SEAL_OVERHEAD_BYTES);
    assert_int_equal(seal_data_open(key, "x", blob, blob_len, &pt, &pt_len), 0);
    assert_int_equal(pt_len, 0);
    assert_int_equal(pt[0], '\0');
    sodium_free(pt);
    free(blob);
}

static void test_nonce_fresh(void **state)
{
    (void)state;
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    seal_secret(&a, &al);
    seal_secret(&b, &bl);
    assert_int_equal(al, bl);
    assert_true(memcmp(a, b, al) != 0);
    assert_true(memcmp(a + 4, b + 4, 24) != 0);
    free(a);
    free(b);
}

/* Flip each byte of the blob in turn (magic, nonce, ciphertext, tag): every one must be refused. */
static void test_tamper_every_byte(void **state)
{
    (void)state;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    seal_secret(&blob, &blob_len);
    for (size_t i = 0; i < blob_len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 7) {
            blob[i] ^= (uint8_t)(1u << bit);
            uint8_t *pt = (uint8_t *)"sentinel";
            size_t pt_len = 77;
            int rc = seal_data_open(key, "tls.key", blob, blob_len, &pt, &pt_len);
            if (rc != SAFECAM_ERR_CRYPTO)
                fail_msg("byte %zu bit %u flipped: rc %d", i, bit, rc);
            assert_null(pt);
            assert_int_equal(pt_len, 0);
            blob[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(blob);
}

static void test_wrong_key_and_label(void **state)
{
    (void)state;
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;
    seal_secret(&blob, &blob_len);
    uint8_t other[SEAL_KEY_BYTES];
    memcpy(other, key, sizeof other);
    other[31] ^= 1;
    assert_int_equal(seal_data_open(other, "tls.key", blob, blob_len, &pt, &pt_len), SAFECAM_ERR_CRYPTO);
    assert_null(pt);
    assert_int_equal(seal_data_open(key, "wifi.psk", blob, blob_len, &pt, &pt_len), SAFECAM_ERR_CRYPTO);
    assert_int_equal(seal_data_open(key, "tls.ke", blob, blob_len, &pt, &pt_len), SAFECAM_ERR_CRYPTO);
    assert_int_equal(seal_data_open(key, "tls.key ", blob, blob_len, &pt, &pt_len), SAFECAM_ERR_CRYPTO);
    assert_null(pt);
    /* Bad labels are argument errors. */
    assert_int_equal(seal_data_open(key, "", blob, blob_len, &pt, &pt_len), SAFECAM_ERR_INVAL);
    assert_int_equal(seal_data_open(key, NULL, blob, blob_len, &pt, &pt_len), SAFECAM_ERR_INVAL);
    free(blob);
}

static void test_truncated_and_extended(void **state)
{
    (void)state;
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;
    seal_secret(&blob, &blob_len);
    for (size_t n = 0; n < blob_len; n++) {
        assert_int_equal(seal_data_open(key, "tls.key", blob, n, &pt, &pt_len), SAFECAM_ERR_CRYPTO);
        assert_null(pt);
    }
    uint8_t *longer = malloc(blob_len + 1);
    assert_non_null(longer);
    memcpy(longer, blob, blob_len);
    longer[blob_len] = 0;
    assert_int_equal(seal_data_open(key, "tls.key", longer, blob_len + 1, &pt, &pt_len), SAFECAM_ERR_CRYPTO);
    free(longer);
    free(blob);
}

static void test_arguments(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(seal_data_seal(NULL, "l", secret, 3, &out, &out_len), SAFECAM_ERR_INVAL);
    assert_int_equal(seal_data_seal(key, "l", NULL, 3, &out, &out_len), SAFECAM_ERR_INVAL);
    assert_int_equal(seal_data_seal(key, "l", secret, SEAL_PLAINTEXT_MAX_BYTES + 1u, &out, &out_len),
                     SAFECAM_ERR_TOOBIG);
    char label[80];
    memset(label, 'a', sizeof label - 1);
    label[sizeof label - 1] = '\0';
    assert_int_equal(seal_data_seal(key, label, secret, 3, &out, &out_len), SAFECAM_ERR_INVAL);
    assert_null(out);
}

static void write_key_file(const char *dir, size_t len, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/factory", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/factory/storage.key", dir);
    unlink(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t buf[64];
    memset(buf, 0xA5, sizeof buf);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_storage_key_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_seal.XXXXXX";
    assert_non_null(mkdtemp(dir));
    uint8_t k[SEAL_KEY_BYTES];
    assert_int_equal(seal_storage_key_load(dir, k), SAFECAM_ERR_NOTFOUND);

    write_key_file(dir, SEAL_KEY_BYTES, 0600);
    memset(k, 0, sizeof k);
    assert_int_equal(seal_storage_key_load(dir, k), 0);
    for (size_t i = 0; i < sizeof k; i++)
        assert_int_equal(k[i], 0xA5);

    write_key_file(dir, SEAL_KEY_BYTES, 0644);
    assert_int_equal(seal_storage_key_load(dir, k), SAFECAM_ERR_INVAL);
    write_key_file(dir, SEAL_KEY_BYTES, 0400);
    assert_int_equal(seal_storage_key_load(dir, k), SAFECAM_ERR_INVAL);
    write_key_file(dir, SEAL_KEY_BYTES - 1, 0600);
    assert_int_equal(seal_storage_key_load(dir, k), SAFECAM_ERR_INVAL);
    write_key_file(dir, SEAL_KEY_BYTES + 1, 0600);
    assert_int_equal(seal_storage_key_load(dir, k), SAFECAM_ERR_INVAL);

    /* A symlink in place of the key is refused. */
    char path[512], target[512];
    write_key_file(dir, SEAL_KEY_BYTES, 0600);
    snprintf(path, sizeof path, "%s/factory/storage.key", dir);
    snprintf(target, sizeof target, "%s/factory/real.key", dir);
    assert_int_equal(rename(path, target), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_true(seal_storage_key_load(dir, k) < 0);

    unlink(path);
    unlink(target);
    snprintf(path, sizeof path, "%s/factory", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_plaintext),
        cmocka_unit_test(test_nonce_fresh),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_wrong_key_and_label),
        cmocka_unit_test(test_truncated_and_extended),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_storage_key_load),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
