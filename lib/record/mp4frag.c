/* mp4frag.c — joining fragmented MP4 segments into one MP4 (see include/safecam/mp4frag.h).
 * Trust level: parses decrypted segments (our own data, but every size is checked against its container and
 * the file; fuzzed by fuzz/fuzz_mp4_join.c). QCVN 135 G9 / EN 303 645 5.11. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/core.h"
#include "safecam/mp4frag.h"

struct track {
    uint32_t id;
    uint32_t timescale;
    uint32_t trex_duration; /* default sample duration from trex, 0 when none */
};

struct mp4frag_joiner {
    int dry;
    int fd;
    uint64_t file_size;
    uint64_t pos; /* next top-level box of the current segment */
    int segments; /* segments started */
    /* the first segment's init: its tracks and a digest of what must match */
    uint32_t movie_timescale;
    size_t ntracks;
    struct track tracks[MP4FRAG_TRACKS_MAX];
    uint8_t digest[crypto_generichash_BYTES];
    uint8_t *init;
    size_t init_len;
    size_t mehd_off; /* offset of the mehd's duration field in init, 0 when none */
    int mehd_v1;
    uint64_t total;
    int init_sent;
    /* the timeline */
    uint32_t seq;
    uint64_t out_end[MP4FRAG_TRACKS_MAX];   /* end of the joined track so far, in its timescale */
    uint64_t seg_base[MP4FRAG_TRACKS_MAX];  /* out_end when the segment's first fragment of the track came */
    uint64_t seg_t0[MP4FRAG_TRACKS_MAX];    /* the segment's first tfdt of the track */
    int seg_started[MP4FRAG_TRACKS_MAX];
    uint64_t out_pos; /* bytes of joined output so far (mdat counted in dry mode too) */
    uint32_t fragments;
    /* what read copies next */
    uint8_t *buf;
    size_t buf_cap, buf_len, buf_off;
    uint64_t copy_off, copy_left; /* an mdat copied from fd */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

int mp4frag_box_parse(const uint8_t *buf, size_t len, uint64_t avail, struct mp4frag_box *out)
{
    if (!buf || !out || len < 8 || avail < 8)
        return SAFECAM_ERR_INVAL;
    uint64_t size = be32(buf), hdr = 8;
    if (size == 1) {
        if (len < 16 || avail < 16)
            return SAFECAM_ERR_INVAL;
        size = be64(buf + 8);
        hdr = 16;
    } else if (size == 0) {
        size = avail;
    }
    if (size < hdr || size > avail)
        return SAFECAM_ERR_INVAL;
    for (int i = 0; i < 4; i++)
        out->type[i] = (char)buf[4 + i];
    out->type[4] = '\0';
    out->hdr = hdr;
    out->size = size;
    return 0;
}

/* Children of the box at b (size bytes, header hdr): calls fn for each; stops at the first error. */
typedef int (*child_fn)(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *ctx);

static int children_walk(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *parent, child_fn fn, void *ctx)
{
    uint64_t off = parent->hdr;
    /* every child is at least 8 bytes, so at most size/8 turns */
    while (off < parent->size) {
        struct mp4frag_box c;
        uint64_t left = parent->size - off;
        int rc = mp4frag_box_parse(b + off, left > 16 ? 16 : (size_t)left, left, &c);
        if (rc != 0)
            return rc;
        rc = fn(j, b + off, &c, ctx);
        if (rc != 0)
            return rc;
        off += c.size;
    }
    return 0;
}

/* ---- the init ---- */

struct init_ctx {
    crypto_generichash_state *h;
    struct track tracks[MP4FRAG_TRACKS_MAX];
    size_t ntracks;
    uint32_t movie_timescale;
    int have_mvhd;
    size_t mehd_field; /* offset in the moov buffer */
    int mehd_v1;
    uint8_t *moov; /* start of the moov in the buffer */
    struct track cur;
    int cur_tkhd, cur_mdhd, cur_stsd;
};

/* The timescale of an mvhd or mdhd (same layout up to it). */
static int timescale_get(const uint8_t *b, const struct mp4frag_box *bx, uint32_t *out)
{
    uint64_t body = bx->size - bx->hdr;
    const uint8_t *p = b + bx->hdr;
    if (body < 4)
        return SAFECAM_ERR_INVAL;
    uint64_t at = p[0] == 1 ? 4 + 16 : 4 + 8;
    if (p[0] > 1 || body < at + 4)
        return SAFECAM_ERR_INVAL;
    *out = be32(p + at);
    return *out ? 0 : SAFECAM_ERR_INVAL;
}

static int stbl_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    (void)j;
    struct init_ctx *x = vctx;
    if (strcmp(bx->type, "stsd") == 0) {
        crypto_generichash_update(x->h, b, (unsigned long long)bx->size);
        x->cur_stsd = 1;
    }
    return 0;
}

static int minf_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *ctx)
{
    return strcmp(bx->type, "stbl") == 0 ? children_walk(j, b, bx, stbl_child, ctx) : 0;
}

static int mdia_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    struct init_ctx *x = vctx;
    if (strcmp(bx->type, "mdhd") == 0) {
        if (timescale_get(b, bx, &x->cur.timescale) != 0)
            return SAFECAM_ERR_INVAL;
        x->cur_mdhd = 1;
        return 0;
    }
    return strcmp(bx->type, "minf") == 0 ? children_walk(j, b, bx, minf_child, vctx) : 0;
}

static int trak_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    struct init_ctx *x = vctx;
    if (strcmp(bx->type, "tkhd") == 0) {
        uint64_t body = bx->size - bx->hdr;
        const uint8_t *p = b + bx->hdr;
        uint64_t at = body >= 1 && p[0] == 1 ? 4 + 16 : 4 + 8;
        if (body < at + 4 || p[0] > 1)
            return SAFECAM_ERR_INVAL;
        x->cur.id = be32(p + at);
        x->cur_tkhd = 1;
        return 0;
    }
    return strcmp(bx->type, "mdia") == 0 ? children_walk(j, b, bx, mdia_child, vctx) : 0;
}

static int mvex_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    (void)j;
    struct init_ctx *x = vctx;
    uint64_t body = bx->size - bx->hdr;
    const uint8_t *p = b + bx->hdr;
    if (strcmp(bx->type, "mehd") == 0) {
        if (body < 4 || p[0] > 1 || body < (p[0] == 1 ? 12u : 8u))
            return SAFECAM_ERR_INVAL;
        x->mehd_v1 = p[0] == 1;
        x->mehd_field = (size_t)(p + 4 - x->moov);
    } else if (strcmp(bx->type, "trex") == 0) {
        if (body < 4 + 16)
            return SAFECAM_ERR_INVAL;
        uint32_t id = be32(p + 4), dur = be32(p + 12);
        for (size_t i = 0; i < x->ntracks; i++)
            if (x->tracks[i].id == id)
                x->tracks[i].trex_duration = dur;
    }
    return 0;
}

static int moov_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    struct init_ctx *x = vctx;
    if (strcmp(bx->type, "mvhd") == 0) {
        if (timescale_get(b, bx, &x->movie_timescale) != 0)
            return SAFECAM_ERR_INVAL;
        x->have_mvhd = 1;
        return 0;
    }
    if (strcmp(bx->type, "trak") == 0) {
        if (x->ntracks >= MP4FRAG_TRACKS_MAX)
            return SAFECAM_ERR_INVAL;
        memset(&x->cur, 0, sizeof x->cur);
        x->cur_tkhd = x->cur_mdhd = x->cur_stsd = 0;
        int rc = children_walk(j, b, bx, trak_child, vctx);
        if (rc != 0)
            return rc;
        if (!x->cur_tkhd || !x->cur_mdhd || !x->cur_stsd || x->cur.id == 0)
            return SAFECAM_ERR_INVAL;
        for (size_t i = 0; i < x->ntracks; i++)
            if (x->tracks[i].id == x->cur.id)
                return SAFECAM_ERR_INVAL;
        uint8_t t[8];
        put32(t, x->cur.id);
        put32(t + 4, x->cur.timescale);
        crypto_generichash_update(x->h, t, sizeof t);
        x->tracks[x->ntracks++] = x->cur;
        return 0;
    }
    /* mvex comes after the traks in what mp4mux writes; trex is matched to a trak by id */
    if (strcmp(bx->type, "mvex") == 0)
        return children_walk(j, b, bx, mvex_child, vctx);
    return 0;
}

static int buf_reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *n = realloc(*buf, need);
    if (!n)
        return SAFECAM_ERR_NOMEM;
    *buf = n;
    *cap = need;
    return 0;
}

static int pread_all(int fd, uint8_t *b, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return SAFECAM_ERR_IO;
        got += (size_t)r;
    }
    return 0;
}

/* The top-level box at off of the current segment. */
static int top_box(mp4frag_joiner *j, uint64_t off, struct mp4frag_box *bx)
{
    uint8_t h[16];
    uint64_t left = j->file_size - off;
    size_t n = left > 16 ? 16 : (size_t)left;
    if (n < 8)
        return SAFECAM_ERR_INVAL;
    if (pread_all(j->fd, h, n, off) != 0)
        return SAFECAM_ERR_IO;
    return mp4frag_box_parse(h, n, left, bx);
}

int mp4frag_joiner_segment(mp4frag_joiner *j, int fd)
{
    struct stat sb;
    if (!j || fd < 0)
        return SAFECAM_ERR_INVAL;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0)
        return SAFECAM_ERR_IO;
    j->fd = fd;
    j->file_size = (uint64_t)sb.st_size;
    j->buf_len = j->buf_off = 0;
    j->copy_left = 0;
    memset(j->seg_started, 0, sizeof j->seg_started);

    /* ftyp and moov, up to the first moof */
    uint8_t *init = NULL;
    size_t init_len = 0, init_cap = 0, moov_at = 0;
    int have_ftyp = 0, have_moov = 0, rc = 0;
    uint64_t off = 0;
    while (off < j->file_size) {
        struct mp4frag_box bx;
        rc = top_box(j, off, &bx);
        if (rc != 0)
            goto fail;
        if (strcmp(bx.type, "moof") == 0)
            break;
        int keep = (strcmp(bx.type, "ftyp") == 0 && !have_ftyp && !have_moov) ||
                   (strcmp(bx.type, "moov") == 0 && !have_moov);
        if (keep) {
            if (bx.size > MP4FRAG_BOX_MAX - init_len) {
                rc = SAFECAM_ERR_INVAL;
                goto fail;
            }
            rc = buf_reserve(&init, &init_cap, init_len + (size_t)bx.size);
            if (rc == 0)
                rc = pread_all(fd, init + init_len, (size_t)bx.size, off);
            if (rc != 0)
                goto fail;
            if (bx.type[1] == 'o') {
                have_moov = 1;
                moov_at = init_len;
            } else {
                have_ftyp = 1;
            }
            init_len += (size_t)bx.size;
        }
        off += bx.size;
    }
    if (!have_moov) {
        rc = SAFECAM_ERR_INVAL;
        goto fail;
    }
    j->pos = off;

    struct init_ctx x;
    crypto_generichash_state h;
    memset(&x, 0, sizeof x);
    x.h = &h;
    x.moov = init + moov_at;
    crypto_generichash_init(&h, NULL, 0, crypto_generichash_BYTES);
    struct mp4frag_box moov;
    rc = mp4frag_box_parse(init + moov_at, init_len - moov_at, init_len - moov_at, &moov);
    if (rc == 0)
        rc = children_walk(j, init + moov_at, &moov, moov_child, &x);
    if (rc == 0 && (!x.have_mvhd || x.ntracks == 0))
        rc = SAFECAM_ERR_INVAL;
    if (rc != 0)
        goto fail;
    uint8_t mt[4];
    put32(mt, x.movie_timescale);
    crypto_generichash_update(&h, mt, sizeof mt);
    uint8_t digest[crypto_generichash_BYTES];
    crypto_generichash_final(&h, digest, sizeof digest);

    if (j->segments == 0) {
        memcpy(j->digest, digest, sizeof digest);
        memcpy(j->tracks, x.tracks, sizeof x.tracks);
        j->ntracks = x.ntracks;
        j->movie_timescale = x.movie_timescale;
        j->mehd_off = x.mehd_field ? moov_at + x.mehd_field : 0;
        j->mehd_v1 = x.mehd_v1;
        j->init = init;
        j->init_len = init_len;
        init = NULL;
    } else if (memcmp(j->digest, digest, sizeof digest) != 0) {
        rc = MP4FRAG_ERR_INIT_DIFFERS;
        goto fail;
    }
    free(init);
    j->segments++;
    return 0;
fail:
    free(init);
    j->fd = -1;
    return rc;
}

/* ---- a moof, rewritten in place ---- */

struct traf_info {
    int have_tfhd;
    size_t track;           /* index in j->tracks */
    uint8_t *base_offset;   /* tfhd's base_data_offset field, or NULL */
    uint32_t default_dur;   /* tfhd's, else trex's */
    int have_default;
    uint8_t *tfdt;          /* the tfdt's value field, or NULL */
    int tfdt_v1;
    uint64_t duration;      /* sum over the truns */
};

static int traf_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    struct traf_info *t = vctx;
    uint64_t body = bx->size - bx->hdr;
    uint8_t *p = b + bx->hdr;
    if (strcmp(bx->type, "tfhd") == 0) {
        if (t->have_tfhd || body < 8)
            return SAFECAM_ERR_INVAL;
        uint32_t flags = be32(p) & 0xffffffu, id = be32(p + 4);
        size_t i;
        for (i = 0; i < j->ntracks && j->tracks[i].id != id; i++)
            ;
        if (i == j->ntracks)
            return SAFECAM_ERR_INVAL;
        t->have_tfhd = 1;
        t->track = i;
        uint64_t at = 8;
        if (flags & 0x01) {
            if (body < at + 8)
                return SAFECAM_ERR_INVAL;
            t->base_offset = p + at;
            at += 8;
        }
        if (flags & 0x02)
            at += 4;
        if (flags & 0x08) {
            if (body < at + 4)
                return SAFECAM_ERR_INVAL;
            t->default_dur = be32(p + at);
            t->have_default = 1;
        }
        if (!t->have_default) {
            t->default_dur = j->tracks[i].trex_duration;
            t->have_default = 1;
        }
        return 0;
    }
    if (strcmp(bx->type, "tfdt") == 0) {
        if (t->tfdt || body < 4 || p[0] > 1 || body < (p[0] == 1 ? 12u : 8u))
            return SAFECAM_ERR_INVAL;
        t->tfdt_v1 = p[0] == 1;
        t->tfdt = p + 4;
        return 0;
    }
    if (strcmp(bx->type, "trun") == 0) {
        if (!t->have_tfhd)
            return SAFECAM_ERR_INVAL; /* tfhd comes first (ISO 14496-12 8.8.6) */
        if (body < 8)
            return SAFECAM_ERR_INVAL;
        uint32_t flags = be32(p) & 0xffffffu, count = be32(p + 4);
        uint64_t at = 8;
        if (flags & 0x01)
            at += 4;
        if (flags & 0x04)
            at += 4;
        uint64_t entry = 4u * (!!(flags & 0x100) + !!(flags & 0x200) + !!(flags & 0x400) + !!(flags & 0x800));
        if (body < at || (entry && (uint64_t)count > (body - at) / entry))
            return SAFECAM_ERR_INVAL;
        if (flags & 0x100) {
            for (uint32_t k = 0; k < count; k++)
                t->duration += be32(p + at + (uint64_t)k * entry);
        } else {
            t->duration += (uint64_t)count * t->default_dur;
        }
        return 0;
    }
    return 0;
}

struct moof_ctx {
    uint64_t moof_in, moof_out; /* positions of the moof in the segment and in the output */
};

static int moof_child(mp4frag_joiner *j, uint8_t *b, const struct mp4frag_box *bx, void *vctx)
{
    struct moof_ctx *m = vctx;
    uint64_t body = bx->size - bx->hdr;
    uint8_t *p = b + bx->hdr;
    if (strcmp(bx->type, "mfhd") == 0) {
        if (body < 8)
            return SAFECAM_ERR_INVAL;
        put32(p + 4, j->seq);
        return 0;
    }
    if (strcmp(bx->type, "traf") != 0)
        return 0;
    struct traf_info t;
    memset(&t, 0, sizeof t);
    int rc = children_walk(j, b, bx, traf_child, &t);
    if (rc != 0)
        return rc;
    if (!t.have_tfhd)
        return SAFECAM_ERR_INVAL;
    size_t k = t.track;
    if (t.base_offset) {
        uint64_t old = be64(t.base_offset);
        if (old < m->moof_in)
            return SAFECAM_ERR_INVAL;
        put64(t.base_offset, old - m->moof_in + m->moof_out);
    }
    uint64_t start;
    if (t.tfdt) {
        uint64_t v = t.tfdt_v1 ? be64(t.tfdt) : be32(t.tfdt);
        if (!j->seg_started[k]) {
            j->seg_started[k] = 1;
            j->seg_base[k] = j->out_end[k];
            j->seg_t0[k] = v;
        }
        if (v < j->seg_t0[k] || v - j->seg_t0[k] > UINT64_MAX / 2 - j->seg_base[k])
            return SAFECAM_ERR_INVAL;
        start = j->seg_base[k] + (v - j->seg_t0[k]);
        if (t.tfdt_v1)
            put64(t.tfdt, start);
        else if (start > UINT32_MAX)
            return SAFECAM_ERR_INVAL;
        else
            put32(t.tfdt, (uint32_t)start);
    } else {
        j->seg_started[k] = 1;
        start = j->out_end[k]; /* implicit: right after the previous fragment */
    }
    if (t.duration > UINT64_MAX / 2 - start)
        return SAFECAM_ERR_INVAL;
    if (start + t.duration > j->out_end[k])
        j->out_end[k] = start + t.duration;
    return 0;
}

ssize_t mp4frag_joiner_read(mp4frag_joiner *j, uint8_t *out, size_t max)
{
    if (!j || !out || max == 0 || j->segments == 0)
        return SAFECAM_ERR_INVAL;
    if (!j->init_sent) {
        if (j->mehd_off) {
            if (j->mehd_v1)
                put64(j->init + j->mehd_off, j->total);
            else
                put32(j->init + j->mehd_off, j->total > UINT32_MAX ? 0 : (uint32_t)j->total);
        }
        int rc = buf_reserve(&j->buf, &j->buf_cap, j->init_len);
        if (rc != 0)
            return rc;
        memcpy(j->buf, j->init, j->init_len);
        j->buf_len = j->init_len;
        j->buf_off = 0;
        j->init_sent = 1;
        j->out_pos += j->init_len;
    }
    /* at most one box is looked at per call beyond what is pending, so the loop is bounded by the file */
    for (;;) {
        if (j->buf_off < j->buf_len) {
            size_t n = j->buf_len - j->buf_off;
            if (n > max)
                n = max;
            memcpy(out, j->buf + j->buf_off, n);
            j->buf_off += n;
            return (ssize_t)n;
        }
        if (j->copy_left) {
            size_t n = j->copy_left < max ? (size_t)j->copy_left : max;
            if (pread_all(j->fd, out, n, j->copy_off) != 0)
                return SAFECAM_ERR_IO;
            j->copy_off += n;
            j->copy_left -= n;
            return (ssize_t)n;
        }
        if (j->fd < 0 || j->pos >= j->file_size)
            return 0;
        struct mp4frag_box bx;
        int rc = top_box(j, j->pos, &bx);
        if (rc != 0)
            return rc;
        uint64_t at = j->pos;
        j->pos += bx.size;
        if (strcmp(bx.type, "moof") == 0) {
            if (bx.size > MP4FRAG_BOX_MAX)
                return SAFECAM_ERR_INVAL;
            rc = buf_reserve(&j->buf, &j->buf_cap, (size_t)bx.size);
            if (rc == 0)
                rc = pread_all(j->fd, j->buf, (size_t)bx.size, at);
            if (rc != 0)
                return rc;
            /* a fragment is a moof and its mdat: a moof without one (a cut file) is refused */
            struct mp4frag_box nx;
            if (j->pos >= j->file_size || top_box(j, j->pos, &nx) != 0 || strcmp(nx.type, "mdat") != 0)
                return SAFECAM_ERR_INVAL;
            j->seq++;
            struct moof_ctx m = {.moof_in = at, .moof_out = j->out_pos};
            rc = children_walk(j, j->buf, &bx, moof_child, &m);
            if (rc != 0)
                return rc;
            j->fragments++;
            j->buf_len = (size_t)bx.size;
            j->buf_off = 0;
            j->out_pos += bx.size;
        } else if (strcmp(bx.type, "mdat") == 0) {
            j->out_pos += bx.size;
            if (!j->dry) {
                j->copy_off = at;
                j->copy_left = bx.size;
            }
        }
        /* anything else after the fragments (mfra, free, a second init) is dropped */
    }
}

int mp4frag_joiner_new(int dry, mp4frag_joiner **out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    mp4frag_joiner *j = calloc(1, sizeof *j);
    if (!j)
        return SAFECAM_ERR_NOMEM;
    j->dry = dry;
    j->fd = -1;
    *out = j;
    return 0;
}

void mp4frag_joiner_free(mp4frag_joiner *j)
{
    if (!j)
        return;
    free(j->init);
    free(j->buf);
    free(j);
}

uint64_t mp4frag_joiner_duration(const mp4frag_joiner *j)
{
    uint64_t best = 0;
    if (!j || !j->movie_timescale)
        return 0;
    for (size_t i = 0; i < j->ntracks; i++) {
        /* out_end * movie / track, without overflow for any 64-bit out_end and 32-bit timescales */
        uint64_t ts = j->tracks[i].timescale, e = j->out_end[i];
        if (e / ts > UINT64_MAX / 2 / j->movie_timescale)
            return UINT64_MAX / 2;
        uint64_t v = (e / ts) * j->movie_timescale + (e % ts) * j->movie_timescale / ts;
        if (v > best)
            best = v;
    }
    return best;
}

void mp4frag_joiner_total_set(mp4frag_joiner *j, uint64_t movie_units)
{
    if (j)
        j->total = movie_units;
}

uint32_t mp4frag_joiner_fragments(const mp4frag_joiner *j)
{
    return j ? j->fragments : 0;
}
