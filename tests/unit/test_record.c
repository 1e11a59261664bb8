/* test_record.c — unit tests of the sealed recording segment file (lib/record/segfile.c): round trip,
 * large units cut into messages, truncation at every length (recovered up to the last complete unit or
 * refused), a flipped byte anywhere, an edited header, a segment asked for under another id, a wrong key,
 * the output bound. QCVN 135 G7 / EN 303 645 5.8-2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "safecam/record.h"
#include "safecam/vault.h"

static uint8_t key[RECORD_KEY_BYTES], wrapped[RECORD_WRAPPED_BYTES], id[RECORD_ID_BYTES];

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(key, sizeof key);
    randombytes_buf(wrapped, sizeof wrapped);
    randombytes_buf(id, sizeof id);
    return 0;
}

static int mfd(void)
{
    int fd = memfd_create("t", MFD_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* Units of the given sizes, byte i of unit u = (u * 31 + i) & 0xff; finished or not. Returns the file fd and
 * the offsets (file bytes) after each unit in ends[]. */
static int make_segment(const size_t *sizes, size_t n, int finish, uint64_t *ends)
{
    int fd = mfd();
    record_writer *w = NULL;
    assert_int_equal(record_writer_open(fd, id, 1700000000123, key, wrapped, &w), 0);
    for (size_t u = 0; u < n; u++) {
        uint8_t *b = malloc(sizes[u] + 1);
        for (size_t i = 0; i < sizes[u]; i++)
            b[i] = (uint8_t)(u * 31 + i);
        assert_int_equal(record_writer_push(w, b, sizes[u], 1), 0);
        free(b);
        if (ends)
            ends[u] = record_writer_file_bytes(w);
    }
    if (finish)
        assert_int_equal(record_writer_finish(w), 0);
    record_writer_free(w);
    return fd;
}

static void check_units(int out, const size_t *sizes, size_t n)
{
    size_t total = 0;
    for (size_t u = 0; u < n; u++)
        total += sizes[u];
    uint8_t *b = malloc(total + 1);
    assert_int_equal(pread(out, b, total + 1, 0), (ssize_t)total);
    size_t off = 0;
    for (size_t u = 0; u < n; u++)
        for (size_t i = 0; i < sizes[u]; i++)
            assert_int_equal(b[off++], (uint8_t)(u * 31 + i));
    free(b);
}

static void test_round_trip(void **state)
{
    (void)state;
    const size_t sizes[] = {700, 150000, 1, 65536, 65537, 30000};
    int fd = make_segment(sizes, 6, 1, NULL);
    int out = mfd(), complete = 0;
    uint64_t clear = 0;
    assert_int_equal(record_segment_decrypt(fd, key, id, out, RECORD_SEGMENT_MAX_BYTES, &complete, &clear), 0);
    assert_int_equal(complete, 1);
    assert_int_equal(clear, 700 + 150000 + 1 + 65536 + 65537 + 30000);
    check_units(out, sizes, 6);
    /* any id (NULL) works too; the header parses back */
    uint8_t hb[RECORD_HEADER_BYTES];
    struct record_header h;
    assert_int_equal(pread(fd, hb, sizeof hb, 0), (ssize_t)sizeof hb);
    assert_int_equal(record_header_parse(hb, sizeof hb, &h), 0);
    assert_memory_equal(h.id, id, sizeof id);
    assert_int_equal(h.start_ms, 1700000000123);
    assert_memory_equal(h.wrapped, wrapped, sizeof wrapped);
    close(out);
    close(fd);
}

static void test_no_clear_bytes(void **state)
{
    (void)state;
    const size_t sizes[] = {4096};
    int fd = make_segment(sizes, 1, 1, NULL);
    uint8_t b[8192];
    ssize_t n = pread(fd, b, sizeof b, 0);
    assert_true(n > 4096);
    /* the unit's first 32 clear bytes appear nowhere in the file */
    uint8_t clear[32];
    for (size_t i = 0; i < sizeof clear; i++)
        clear[i] = (uint8_t)i;
    assert_null(memmem(b, (size_t)n, clear, sizeof clear));
    close(fd);
}

static void test_truncation_every_length(void **state)
{
    (void)state;
    const size_t sizes[] = {300, 70000, 500};
    uint64_t ends[3];
    int fd = make_segment(sizes, 3, 1, ends);
    off_t full = lseek(fd, 0, SEEK_END);
    uint8_t *all = malloc((size_t)full);
    assert_int_equal(pread(fd, all, (size_t)full, 0), (ssize_t)full);
    /* every cut length: the result is the longest run of whole units that fits, or a refusal */
    for (off_t cut = 0; cut < full; cut += (cut < 400 ? 1 : 97)) {
        int in = mfd();
        assert_int_equal(write(in, all, (size_t)cut), (ssize_t)cut);
        int out = mfd(), complete = 1;
        uint64_t clear = 1;
        int rc = record_segment_decrypt(in, key, id, out, RECORD_SEGMENT_MAX_BYTES, &complete, &clear);
        size_t units = 0;
        while (units < 3 && ends[units] <= (uint64_t)cut)
            units++;
        assert_int_equal(complete, 0);
        if (units == 0) {
            assert_int_equal(rc, SAFECAM_ERR_CRYPTO);
            assert_int_equal(lseek(out, 0, SEEK_END), 0);
        } else {
            assert_int_equal(rc, 0);
            check_units(out, sizes, units);
            assert_int_equal(lseek(out, 0, SEEK_END), (off_t)clear);
        }
        close(in);
        close(out);
    }
    free(all);
    close(fd);
}

static void test_flipped_byte(void **state)
{
    (void)state;
    const size_t sizes[] = {200, 300};
    uint64_t ends[2];
    int fd = make_segment(sizes, 2, 1, ends);
    off_t full = lseek(fd, 0, SEEK_END);
    uint8_t *all = malloc((size_t)full);
    assert_int_equal(pread(fd, all, (size_t)full, 0), (ssize_t)full);
    for (off_t i = 0; i < full; i++) {
        all[i] ^= 0x01;
        int in = mfd();
        assert_int_equal(write(in, all, (size_t)full), (ssize_t)full);
        int out = mfd(), complete = 0;
        uint64_t clear = 0;
        int rc = record_segment_decrypt(in, key, id, out, RECORD_SEGMENT_MAX_BYTES, &complete, &clear);
        /* never complete; at most the units before the damage */
        assert_int_equal(complete, 0);
        if ((uint64_t)i < ends[0] || i < (off_t)RECORD_HEADER_BYTES)
            assert_int_equal(rc, SAFECAM_ERR_CRYPTO);
        else if ((uint64_t)i < ends[1])
            assert_true(rc == 0 && clear == 200);
        else
            assert_true(rc == 0 && clear == 500);
        all[i] ^= 0x01;
        close(in);
        close(out);
    }
    free(all);
    close(fd);
}

static void test_other_id_wrong_key_bound(void **state)
{
    (void)state;
    const size_t sizes[] = {1000};
    int fd = make_segment(sizes, 1, 1, NULL);
    uint8_t other[RECORD_ID_BYTES];
    memcpy(other, id, sizeof other);
    other[0] ^= 0x80;
    int out = mfd(), complete = 0;
    uint64_t clear = 0;
    assert_int_equal(record_segment_decrypt(fd, key, other, out, RECORD_SEGMENT_MAX_BYTES, &complete, &clear),
                     SAFECAM_ERR_CRYPTO);
    uint8_t k2[RECORD_KEY_BYTES];
    memcpy(k2, key, sizeof k2);
    k2[5] ^= 1;
    assert_int_equal(record_segment_decrypt(fd, k2, id, out, RECORD_SEGMENT_MAX_BYTES, &complete, &clear),
                     SAFECAM_ERR_CRYPTO);
    assert_int_equal(record_segment_decrypt(fd, key, id, out, 999, &complete, &clear), SAFECAM_ERR_TOOBIG);
    assert_int_equal(lseek(out, 0, SEEK_END), 0);
    close(out);
    close(fd);
}

static void test_ids_and_label(void **state)
{
    (void)state;
    char hex[RECORD_ID_HEX + 1], label[RECORD_LABEL_MAX];
    uint8_t back[RECORD_ID_BYTES];
    record_id_format(id, hex);
    assert_int_equal(record_id_parse(hex, back), 0);
    assert_memory_equal(back, id, sizeof id);
    assert_int_equal(record_id_parse("0123456789ABCDEF0123456789abcdef", back), SAFECAM_ERR_INVAL);
    assert_int_equal(record_id_parse("0123456789abcdef0123456789abcde", back), SAFECAM_ERR_INVAL);
    assert_int_equal(record_id_parse("0123456789abcdef0123456789abcdef0", back), SAFECAM_ERR_INVAL);
    assert_int_equal(record_key_label(id, 42, label, sizeof label), 0);
    assert_int_equal(strncmp(label, "recording:", 10), 0);
    assert_non_null(strstr(label, ":42"));
}

/* The vault's side: a key made and wrapped for one segment opens that segment only, under that storage key only. */
static void test_vault_wrap_and_open(void **state)
{
    (void)state;
    uint8_t skey[32], skey2[32], k[RECORD_KEY_BYTES], w[RECORD_WRAPPED_BYTES];
    randombytes_buf(skey, sizeof skey);
    randombytes_buf(skey2, sizeof skey2);
    assert_int_equal(vault_recording_key_new(skey, id, 1700000000000, k, w), 0);
    int fd = mfd();
    record_writer *wr = NULL;
    assert_int_equal(record_writer_open(fd, id, 1700000000000, k, w, &wr), 0);
    assert_int_equal(record_writer_push(wr, (const uint8_t *)"0123456789", 10, 1), 0);
    assert_int_equal(record_writer_finish(wr), 0);
    record_writer_free(wr);
    int out = -1, complete = 0;
    uint64_t size = 0;
    assert_int_equal(vault_recording_open(skey, fd, id, &out, &size, &complete), 0);
    assert_int_equal(size, 10);
    assert_int_equal(complete, 1);
    char buf[16];
    assert_int_equal(read(out, buf, sizeof buf), 10);
    assert_memory_equal(buf, "0123456789", 10);
    close(out);
    /* another storage key (after a factory reset): refused */
    assert_int_equal(vault_recording_open(skey2, fd, id, &out, &size, &complete), SAFECAM_ERR_CRYPTO);
    assert_int_equal(out, -1);
    /* asked for under another id: refused */
    uint8_t other[RECORD_ID_BYTES];
    memcpy(other, id, sizeof other);
    other[15] ^= 1;
    assert_int_equal(vault_recording_open(skey, fd, other, &out, &size, &complete), SAFECAM_ERR_CRYPTO);
    /* a header whose start was edited: the wrapped key's label no longer matches */
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, 4 + RECORD_ID_BYTES + 7), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, 4 + RECORD_ID_BYTES + 7), 1);
    assert_int_equal(vault_recording_open(skey, fd, id, &out, &size, &complete), SAFECAM_ERR_CRYPTO);
    /* not a regular file */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(vault_recording_open(skey, p[0], id, &out, &size, &complete), SAFECAM_ERR_INVAL);
    close(p[0]);
    close(p[1]);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_no_clear_bytes),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_flipped_byte),
        cmocka_unit_test(test_other_id_wrong_key_bound),
        cmocka_unit_test(test_ids_and_label),
        cmocka_unit_test(test_vault_wrap_and_open),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
