/* segfile.c — the sealed recording segment file (format in include/safecam/record.h): the writer used by
 * the media process while it records, the reader used by the vault for playback (and by the fuzzer).
 * The reader parses attacker-writable storage: every length is checked against RECORD_CHUNK_MAX, memory is
 * one message, the output is bounded by max_clear. QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/record.h"

#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

_Static_assert(RECORD_MSG_OVERHEAD == crypto_secretstream_xchacha20poly1305_ABYTES, "secretstream ABYTES");
_Static_assert(RECORD_SS_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES, "ss header");
_Static_assert(RECORD_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES, "ss key");

struct record_writer {
    int fd;
    crypto_secretstream_xchacha20poly1305_state *st; /* sodium_malloc'd: holds the key */
    uint8_t header[RECORD_HEADER_BYTES];
    int first;
    uint64_t clear_bytes, file_bytes;
    uint8_t *buf; /* 4 + RECORD_CHUNK_MAX + ABYTES */
};

static void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void record_id_format(const uint8_t id[RECORD_ID_BYTES], char hex[RECORD_ID_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < RECORD_ID_BYTES; i++) {
        hex[2 * i] = digits[id[i] >> 4];
        hex[2 * i + 1] = digits[id[i] & 15];
    }
    hex[RECORD_ID_HEX] = '\0';
}

int record_id_parse(const char *hex, uint8_t id[RECORD_ID_BYTES])
{
    if (!hex || !id || strnlen(hex, RECORD_ID_HEX + 1) != RECORD_ID_HEX)
        return SAFECAM_ERR_INVAL;
    for (size_t i = 0; i < RECORD_ID_HEX; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return SAFECAM_ERR_INVAL;
        if (i % 2 == 0)
            id[i / 2] = (uint8_t)(v << 4);
        else
            id[i / 2] |= (uint8_t)v;
    }
    return 0;
}

int record_key_label(const uint8_t id[RECORD_ID_BYTES], int64_t start_ms, char *out, size_t out_size)
{
    char hex[RECORD_ID_HEX + 1];
    if (!id || !out)
        return SAFECAM_ERR_INVAL;
    record_id_format(id, hex);
    return safecam_fmt(out, out_size, "recording:%s:%" PRId64, hex, start_ms);
}

int record_header_parse(const uint8_t *buf, size_t len, struct record_header *h)
{
    if (!buf || !h || len < RECORD_HEADER_BYTES)
        return SAFECAM_ERR_INVAL;
    if (memcmp(buf, RECORD_MAGIC, 4) != 0)
        return SAFECAM_ERR_INVAL;
    const uint8_t *p = buf + 4;
    memcpy(h->id, p, RECORD_ID_BYTES);
    p += RECORD_ID_BYTES;
    h->start_ms = (int64_t)be64_get(p);
    p += 8;
    memcpy(h->wrapped, p, RECORD_WRAPPED_BYTES);
    p += RECORD_WRAPPED_BYTES;
    memcpy(h->ss_header, p, RECORD_SS_HEADER_BYTES);
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return SAFECAM_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int record_writer_open(int fd, const uint8_t id[RECORD_ID_BYTES], int64_t start_ms,
                       const uint8_t key[RECORD_KEY_BYTES], const uint8_t wrapped[RECORD_WRAPPED_BYTES],
                       record_writer **out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (fd < 0 || !id || !key || !wrapped || start_ms < 0)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    record_writer *w = calloc(1, sizeof *w);
    if (!w)
        return SAFECAM_ERR_NOMEM;
    w->fd = fd;
    w->first = 1;
    w->st = sodium_malloc(sizeof *w->st);
    w->buf = malloc(4 + RECORD_CHUNK_MAX + SS_ABYTES);
    if (!w->st || !w->buf) {
        record_writer_free(w);
        return SAFECAM_ERR_NOMEM;
    }
    uint8_t *p = w->header;
    memcpy(p, RECORD_MAGIC, 4);
    p += 4;
    memcpy(p, id, RECORD_ID_BYTES);
    p += RECORD_ID_BYTES;
    be64_put(p, (uint64_t)start_ms);
    p += 8;
    memcpy(p, wrapped, RECORD_WRAPPED_BYTES);
    p += RECORD_WRAPPED_BYTES;
    if (crypto_secretstream_xchacha20poly1305_init_push(w->st, p, key) != 0) {
        record_writer_free(w);
        return SAFECAM_ERR_CRYPTO;
    }
    if (write_all(fd, w->header, sizeof w->header) != 0) {
        record_writer_free(w);
        return SAFECAM_ERR_IO;
    }
    w->file_bytes = sizeof w->header;
    *out = w;
    return 0;
}

static int writer_message(record_writer *w, const uint8_t *data, size_t n, unsigned char tag)
{
    unsigned long long clen = 0;
    const uint8_t *ad = w->first ? w->header : NULL;
    size_t ad_len = w->first ? sizeof w->header : 0;
    if (crypto_secretstream_xchacha20poly1305_push(w->st, w->buf + 4, &clen, data, n, ad, ad_len, tag) != 0)
        return SAFECAM_ERR_CRYPTO;
    be32_put(w->buf, (uint32_t)clen);
    int rc = write_all(w->fd, w->buf, 4 + (size_t)clen);
    if (rc != 0)
        return rc;
    w->first = 0;
    w->clear_bytes += n;
    w->file_bytes += 4 + clen;
    return 0;
}

int record_writer_push(record_writer *w, const uint8_t *data, size_t len, int unit_end)
{
    if (!w || (!data && len))
        return SAFECAM_ERR_INVAL;
    if (w->clear_bytes + len > RECORD_SEGMENT_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    do {
        size_t n = len > RECORD_CHUNK_MAX ? RECORD_CHUNK_MAX : len;
        int last = n == len;
        unsigned char tag = last && unit_end ? crypto_secretstream_xchacha20poly1305_TAG_PUSH
                                             : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        int rc = writer_message(w, data, n, tag);
        if (rc != 0)
            return rc;
        data += n;
        len -= n;
    } while (len);
    return 0;
}

int record_writer_finish(record_writer *w)
{
    if (!w)
        return SAFECAM_ERR_INVAL;
    return writer_message(w, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
}

uint64_t record_writer_clear_bytes(const record_writer *w)
{
    return w ? w->clear_bytes : 0;
}

uint64_t record_writer_file_bytes(const record_writer *w)
{
    return w ? w->file_bytes : 0;
}

void record_writer_free(record_writer *w)
{
    if (!w)
        return;
    if (w->st)
        sodium_free(w->st); /* sodium_free wipes */
    if (w->buf) {
        sodium_memzero(w->buf, 4 + RECORD_CHUNK_MAX + SS_ABYTES);
        free(w->buf);
    }
    free(w);
}

static int pread_all(int fd, uint8_t *p, size_t n, uint64_t off, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(fd, p + *got, n - *got, (off_t)(off + *got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return SAFECAM_ERR_IO;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

int record_segment_decrypt(int in_fd, const uint8_t key[RECORD_KEY_BYTES], const uint8_t *want_id,
                           int out_fd, uint64_t max_clear, int *complete, uint64_t *clear_bytes)
{
    uint8_t header[RECORD_HEADER_BYTES];
    struct record_header h;
    crypto_secretstream_xchacha20poly1305_state *st = NULL;
    uint8_t *ct = NULL, *pt = NULL;
    size_t got = 0;
    int rc;

    if (!complete || !clear_bytes)
        return SAFECAM_ERR_INVAL;
    *complete = 0;
    *clear_bytes = 0;
    if (in_fd < 0 || out_fd < 0 || !key)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    off_t base = lseek(out_fd, 0, SEEK_CUR);
    if (base < 0)
        return SAFECAM_ERR_IO;
    rc = pread_all(in_fd, header, sizeof header, 0, &got);
    if (rc != 0)
        return rc;
    if (got < sizeof header || record_header_parse(header, sizeof header, &h) != 0)
        return SAFECAM_ERR_CRYPTO;
    if (want_id && sodium_memcmp(want_id, h.id, RECORD_ID_BYTES) != 0)
        return SAFECAM_ERR_CRYPTO;
    st = sodium_malloc(sizeof *st);
    ct = malloc(RECORD_CHUNK_MAX + SS_ABYTES);
    pt = malloc(RECORD_CHUNK_MAX);
    if (!st || !ct || !pt) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    if (crypto_secretstream_xchacha20poly1305_init_pull(st, h.ss_header, key) != 0) {
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    uint64_t off = sizeof header, written = 0, good = 0;
    int first = 1, units = 0;
    /* Bounded: each turn consumes at least 4 + ABYTES bytes of the file or ends the loop. */
    for (;;) {
        uint8_t lb[4];
        rc = pread_all(in_fd, lb, 4, off, &got);
        if (rc != 0)
            goto out;
        if (got < 4)
            break; /* cut off */
        uint32_t clen = be32_get(lb);
        if (clen < SS_ABYTES || clen > RECORD_CHUNK_MAX + SS_ABYTES)
            break; /* damaged */
        rc = pread_all(in_fd, ct, clen, off + 4, &got);
        if (rc != 0)
            goto out;
        if (got < clen)
            break;
        unsigned long long mlen = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(st, pt, &mlen, &tag, ct, clen, first ? header : NULL,
                                                       first ? sizeof header : 0) != 0)
            break; /* forged, reordered, edited header */
        first = 0;
        off += 4 + clen;
        if (written + mlen > max_clear) {
            rc = SAFECAM_ERR_TOOBIG;
            goto out;
        }
        if (mlen && (rc = write_all(out_fd, pt, (size_t)mlen)) != 0)
            goto out;
        written += mlen;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_PUSH) {
            good = written;
            units++;
        } else if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            good = written;
            *complete = 1;
            break;
        }
    }
    if (!*complete && units == 0) {
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    if (good != written) {
        if (ftruncate(out_fd, base + (off_t)good) != 0 || lseek(out_fd, base + (off_t)good, SEEK_SET) < 0) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
    }
    *clear_bytes = good;
    rc = 0;
out:
    if (rc != 0) {
        *complete = 0;
        if (ftruncate(out_fd, base) != 0 || lseek(out_fd, base, SEEK_SET) < 0)
            rc = SAFECAM_ERR_IO;
    }
    if (st)
        sodium_free(st);
    if (pt) {
        sodium_memzero(pt, RECORD_CHUNK_MAX);
        free(pt);
    }
    free(ct);
    sodium_memzero(&h, sizeof h);
    return rc;
}
