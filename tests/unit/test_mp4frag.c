/* test_mp4frag.c — unit tests of the fragmented-MP4 joiner of the range download (lib/record/mp4frag.c) on
 * segments built here box by box: one init in the output, sequence numbers renumbered, decode times rebased
 * into one continuous timeline, mehd set, video bytes unchanged; a different sample description refused; box
 * headers checked against their container; every truncation of a segment refused or joined without a read
 * outside the input. QCVN 135 G9 / EN 303 645 5.11-1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "safecam/core.h"
#include "safecam/mp4frag.h"

struct buf {
    uint8_t b[8192];
    size_t n;
};

static void u32(struct buf *o, uint32_t v)
{
    o->b[o->n++] = (uint8_t)(v >> 24), o->b[o->n++] = (uint8_t)(v >> 16);
    o->b[o->n++] = (uint8_t)(v >> 8), o->b[o->n++] = (uint8_t)v;
}

static void u64(struct buf *o, uint64_t v)
{
    u32(o, (uint32_t)(v >> 32));
    u32(o, (uint32_t)v);
}

static size_t open_box(struct buf *o, const char *type)
{
    size_t at = o->n;
    u32(o, 0);
    memcpy(o->b + o->n, type, 4);
    o->n += 4;
    return at;
}

static void close_box(struct buf *o, size_t at)
{
    uint32_t size = (uint32_t)(o->n - at);
    o->b[at] = (uint8_t)(size >> 24), o->b[at + 1] = (uint8_t)(size >> 16);
    o->b[at + 2] = (uint8_t)(size >> 8), o->b[at + 3] = (uint8_t)size;
}

static void zeros(struct buf *o, size_t n)
{
    memset(o->b + o->n, 0, n);
    o->n += n;
}

#define TRACK_TS 90000u
#define SAMPLE_DUR 3000u
#define SAMPLES 3u

/* ftyp moov(mvhd trak(tkhd mdia(mdhd minf(stbl(stsd)))) mvex(mehd trex)), then two fragments of SAMPLES
 * samples whose tfdt starts at base. codec: a byte of the sample description. */
static void segment(struct buf *o, uint64_t base, uint8_t codec)
{
    o->n = 0;
    size_t b = open_box(o, "ftyp");
    zeros(o, 8);
    close_box(o, b);
    size_t moov = open_box(o, "moov");
    b = open_box(o, "mvhd");
    u32(o, 0), u32(o, 0), u32(o, 0), u32(o, 1000), u32(o, 0);
    zeros(o, 80);
    close_box(o, b);
    size_t trak = open_box(o, "trak");
    b = open_box(o, "tkhd");
    u32(o, 7), u32(o, 0), u32(o, 0), u32(o, 1);
    zeros(o, 68);
    close_box(o, b);
    size_t mdia = open_box(o, "mdia");
    b = open_box(o, "mdhd");
    u32(o, 0), u32(o, 0), u32(o, 0), u32(o, TRACK_TS), u32(o, 0), u32(o, 0);
    close_box(o, b);
    size_t minf = open_box(o, "minf"), stbl = open_box(o, "stbl");
    b = open_box(o, "stsd");
    u32(o, 0), u32(o, 1);
    o->b[o->n++] = codec;
    zeros(o, 7);
    close_box(o, b);
    close_box(o, stbl), close_box(o, minf), close_box(o, mdia), close_box(o, trak);
    size_t mvex = open_box(o, "mvex");
    b = open_box(o, "mehd");
    u32(o, 0x01000000u), u64(o, 0);
    close_box(o, b);
    b = open_box(o, "trex");
    u32(o, 0), u32(o, 1), u32(o, 1), u32(o, SAMPLE_DUR), u32(o, 0), u32(o, 0);
    close_box(o, b);
    close_box(o, mvex), close_box(o, moov);
    for (uint32_t f = 0; f < 2; f++) {
        size_t moof = open_box(o, "moof");
        b = open_box(o, "mfhd");
        u32(o, 0), u32(o, 40 + f); /* the segment's own numbering */
        close_box(o, b);
        size_t traf = open_box(o, "traf");
        b = open_box(o, "tfhd");
        u32(o, 0), u32(o, 1);
        close_box(o, b);
        b = open_box(o, "tfdt");
        u32(o, 0x01000000u), u64(o, base + (uint64_t)f * SAMPLES * SAMPLE_DUR);
        close_box(o, b);
        b = open_box(o, "trun");
        u32(o, 0x000301u), u32(o, SAMPLES), u32(o, 0); /* data offset (not checked by the joiner) */
        for (uint32_t k = 0; k < SAMPLES; k++)
            u32(o, SAMPLE_DUR), u32(o, 4);
        close_box(o, b);
        close_box(o, traf), close_box(o, moof);
        b = open_box(o, "mdat");
        for (uint32_t k = 0; k < SAMPLES; k++)
            u32(o, 0xA0000000u | (f << 8) | k);
        close_box(o, b);
    }
}

static int memfd_of(const uint8_t *p, size_t n)
{
    int fd = memfd_create("seg", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    return fd;
}

/* Join fds (dry pass for the total, then the copy) into out; returns the last error or 0. */
static int join(const int *fds, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    uint64_t total = 0;
    *len = 0;
    for (int dry = 1; dry >= 0; dry--) {
        mp4frag_joiner *j = NULL;
        assert_int_equal(mp4frag_joiner_new(dry, &j), 0);
        mp4frag_joiner_total_set(j, total);
        for (size_t i = 0; i < n; i++) {
            int rc = mp4frag_joiner_segment(j, fds[i]);
            if (rc != 0) {
                mp4frag_joiner_free(j);
                return rc;
            }
            uint8_t chunk[7]; /* small reads: boxes cross read boundaries */
            ssize_t r;
            while ((r = mp4frag_joiner_read(j, chunk, sizeof chunk)) > 0) {
                if (!dry) {
                    assert_true(*len + (size_t)r <= cap);
                    memcpy(out + *len, chunk, (size_t)r);
                    *len += (size_t)r;
                }
            }
            if (r < 0) {
                mp4frag_joiner_free(j);
                return (int)r;
            }
        }
        if (dry)
            total = mp4frag_joiner_duration(j);
        mp4frag_joiner_free(j);
    }
    return 0;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* offset of the n-th (0-based) occurrence of a four-character type at a box header position */
static size_t find(const uint8_t *p, size_t len, const char *type, int nth)
{
    for (size_t i = 4; i + 4 <= len; i++)
        if (memcmp(p + i, type, 4) == 0 && nth-- == 0)
            return i - 4;
    return (size_t)-1;
}

static void test_join_two_segments(void **state)
{
    (void)state;
    static struct buf a, b;
    static uint8_t out[32768];
    segment(&a, 900000, 0x64);
    segment(&b, 5, 0x64); /* the next muxer starts its own timeline */
    int fds[3] = {memfd_of(a.b, a.n), memfd_of(b.b, b.n), memfd_of(a.b, a.n)};
    size_t len = 0;
    assert_int_equal(join(fds, 3, out, sizeof out, &len), 0);
    /* one init, six fragments */
    assert_int_equal(find(out, len, "moov", 0), 8 + 8);
    assert_int_equal(find(out, len, "moov", 1), (size_t)-1);
    assert_int_equal(find(out, len, "ftyp", 1), (size_t)-1);
    for (int f = 0; f < 6; f++) {
        size_t mfhd = find(out, len, "mfhd", f), tfdt = find(out, len, "tfdt", f);
        assert_true(mfhd != (size_t)-1 && tfdt != (size_t)-1);
        assert_int_equal(rd32(out + mfhd + 12), (uint32_t)f + 1);
        assert_int_equal(rd64(out + tfdt + 12), (uint64_t)f * SAMPLES * SAMPLE_DUR);
        size_t mdat = find(out, len, "mdat", f);
        assert_int_equal(rd32(out + mdat + 8), 0xA0000000u | (uint32_t)((f % 2) << 8));
    }
    assert_int_equal(find(out, len, "moof", 6), (size_t)-1);
    /* mehd: 6 x 3 x 3000 / 90000 s = 0.6 s = 600 in the movie timescale (1000) */
    size_t mehd = find(out, len, "mehd", 0);
    assert_int_equal(rd64(out + mehd + 12), 600);
    assert_int_equal(len, a.n + 2 * (b.n - find(b.b, b.n, "moof", 0)));
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

static void test_other_codec_refused(void **state)
{
    (void)state;
    static struct buf a, b;
    static uint8_t out[32768];
    segment(&a, 0, 0x64);
    segment(&b, 0, 0x65);
    int fds[2] = {memfd_of(a.b, a.n), memfd_of(b.b, b.n)};
    size_t len = 0;
    assert_int_equal(join(fds, 2, out, sizeof out, &len), MP4FRAG_ERR_INIT_DIFFERS);
    close(fds[0]);
    close(fds[1]);
}

static void test_box_parse(void **state)
{
    (void)state;
    struct mp4frag_box bx;
    uint8_t h[16] = {0, 0, 0, 16, 'm', 'o', 'o', 'f'};
    assert_int_equal(mp4frag_box_parse(h, 8, 16, &bx), 0);
    assert_string_equal(bx.type, "moof");
    assert_int_equal(bx.size, 16);
    assert_int_equal(mp4frag_box_parse(h, 8, 15, &bx), SAFECAM_ERR_INVAL); /* beyond its container */
    h[3] = 7;
    assert_int_equal(mp4frag_box_parse(h, 8, 100, &bx), SAFECAM_ERR_INVAL); /* below its header */
    h[3] = 0;
    assert_int_equal(mp4frag_box_parse(h, 8, 100, &bx), 0); /* 0: to the end */
    assert_int_equal(bx.size, 100);
    h[3] = 1; /* 64-bit size */
    memset(h + 8, 0, 8);
    h[15] = 24;
    assert_int_equal(mp4frag_box_parse(h, 8, 100, &bx), SAFECAM_ERR_INVAL); /* header cut */
    assert_int_equal(mp4frag_box_parse(h, 16, 100, &bx), 0);
    assert_int_equal(bx.size, 24);
    assert_int_equal(bx.hdr, 16);
    h[8] = 0x80;
    assert_int_equal(mp4frag_box_parse(h, 16, UINT64_MAX, &bx), 0);
    assert_int_equal(mp4frag_box_parse(h, 16, 1u << 30, &bx), SAFECAM_ERR_INVAL);
}

static void test_every_truncation_and_bad_counts(void **state)
{
    (void)state;
    static struct buf a;
    static uint8_t out[32768];
    segment(&a, 0, 0x64);
    size_t moof2 = find(a.b, a.n, "moof", 1);
    for (size_t cut = 0; cut < a.n; cut++) {
        int fd = memfd_of(a.b, cut);
        size_t len = 0;
        int rc = join(&fd, 1, out, sizeof out, &len);
        /* a cut at a box boundary after the first fragment joins what is whole; anything else is refused */
        if (cut == moof2 || cut == find(a.b, a.n, "moof", 0))
            assert_int_equal(rc, 0);
        else
            assert_int_not_equal(rc, 0);
        close(fd);
    }
    /* a trun claiming more samples than it holds */
    size_t trun = find(a.b, a.n, "trun", 0);
    a.b[trun + 12] = 0x7f;
    int fd = memfd_of(a.b, a.n);
    size_t len = 0;
    assert_int_equal(join(&fd, 1, out, sizeof out, &len), SAFECAM_ERR_INVAL);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_two_segments),
        cmocka_unit_test(test_other_codec_refused),
        cmocka_unit_test(test_box_parse),
        cmocka_unit_test(test_every_truncation_and_bad_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
