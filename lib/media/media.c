/* media.c — pure helpers of the media module: --source spec parsing, the RTSP Basic header parser,
 * the H.264 codecs string and the timecode geometry. Runs in the media process; the Basic parser reads
 * untrusted network input (an RTSP header) and is strict, bounded and allowlist-based. */
#include <string.h>
#include <strings.h>

#include "safecam/media.h"

const char *media_source_kind_name(enum media_source_kind kind)
{
    switch (kind) {
    case MEDIA_SOURCE_TESTSRC:
        return "testsrc";
    case MEDIA_SOURCE_FILE:
        return "file";
    case MEDIA_SOURCE_V4L2:
        return "v4l2";
    }
    return "unknown";
}

int media_source_parse(const char *spec, struct media_source *out, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (!spec) {
        *why = "missing source";
        return SAFECAM_ERR_INVAL;
    }
    if (strcmp(spec, "testsrc") == 0) {
        out->kind = MEDIA_SOURCE_TESTSRC;
        return 0;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        const char *p = spec + 5;
        size_t len = strlen(p);
        if (len == 0) {
            *why = "file: needs a path (file:PATH)";
            return SAFECAM_ERR_INVAL;
        }
        if (len >= sizeof out->path) {
            *why = "file: path too long";
            return SAFECAM_ERR_INVAL;
        }
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
                *why = "file: path contains control characters";
                return SAFECAM_ERR_INVAL;
            }
        if (!safecam_utf8_valid(p, len)) {
            *why = "file: path is not valid UTF-8";
            return SAFECAM_ERR_INVAL;
        }
        out->kind = MEDIA_SOURCE_FILE;
        memcpy(out->path, p, len + 1);
        return 0;
    }
    if (strncmp(spec, "v4l2:", 5) == 0) {
        const char *p = spec + 5;
        long n;
        if (strncmp(p, "/dev/video", 10) != 0 || p[10] == '\0' || strlen(p + 10) > 3 ||
            safecam_parse_long(p + 10, 0, 255, &n) != 0 || (p[10] == '0' && p[11] != '\0')) {
            *why = "v4l2: expected v4l2:/dev/videoN with N = 0..255";
            return SAFECAM_ERR_INVAL;
        }
        out->kind = MEDIA_SOURCE_V4L2;
        if (safecam_strlcpy(out->path, p, sizeof out->path) != 0) {
            *why = "v4l2: path too long";
            return SAFECAM_ERR_INVAL;
        }
        return 0;
    }
    *why = "unknown source: expected testsrc, file:PATH or v4l2:/dev/videoN";
    return SAFECAM_ERR_INVAL;
}

/* ---- strict base64 (RFC 4648, with padding, no whitespace) ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode in (len chars) into out (cap bytes). Returns decoded length or -1. Canonical only: the unused
 * low bits of the last group must be zero. */
static long b64_decode_strict(const char *in, size_t len, unsigned char *out, size_t cap)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + (size_t)k];
            if (c == '=') {
                /* padding only in the last group, only in the last two positions, and contiguous */
                if (i + 4 != len || k < 2)
                    return -1;
                pad++;
                v[k] = 0;
            } else {
                if (pad)
                    return -1;
                v[k] = b64_value(c);
                if (v[k] < 0)
                    return -1;
            }
        }
        unsigned long triple = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                               ((unsigned long)v[2] << 6) | (unsigned long)v[3];
        size_t n = (size_t)(3 - pad);
        if (pad == 2 && (v[1] & 0x0f))
            return -1;
        if (pad == 1 && (v[2] & 0x03))
            return -1;
        if (o + n > cap)
            return -1;
        out[o++] = (unsigned char)(triple >> 16);
        if (n > 1)
            out[o++] = (unsigned char)(triple >> 8);
        if (n > 2)
            out[o++] = (unsigned char)triple;
    }
    return (long)o;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

int media_basic_auth_parse(const char *header, char *user, size_t user_size, char *pass, size_t pass_size)
{
    unsigned char buf[MEDIA_RTSP_USERNAME_MAX + 1 + MEDIA_RTSP_PASSWORD_MAX + 3];
    int rc = SAFECAM_ERR_INVAL;
    long n = -1;
    if (user && user_size)
        user[0] = '\0';
    if (pass && pass_size)
        pass[0] = '\0';
    if (!header || !user || !pass || user_size < 2 || pass_size < 2)
        return SAFECAM_ERR_INVAL;
    size_t hlen = strlen(header);
    if (hlen > MEDIA_RTSP_AUTH_HEADER_MAX)
        return SAFECAM_ERR_TOOBIG;
    if (hlen < 7 || strncasecmp(header, "Basic ", 6) != 0)
        return SAFECAM_ERR_INVAL;
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    size_t blen = strlen(b64);
    while (blen > 0 && b64[blen - 1] == ' ')
        blen--;
    if (blen / 4 * 3 > sizeof buf) {
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    n = b64_decode_strict(b64, blen, buf, sizeof buf);
    if (n <= 0)
        goto out;
    unsigned char *colon = memchr(buf, ':', (size_t)n);
    if (!colon)
        goto out;
    size_t ulen = (size_t)(colon - buf);
    size_t plen = (size_t)n - ulen - 1;
    if (ulen == 0 || plen == 0)
        goto out;
    if (ulen > MEDIA_RTSP_USERNAME_MAX || plen > MEDIA_RTSP_PASSWORD_MAX || ulen >= user_size ||
        plen >= pass_size) {
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    for (size_t i = 0; i < ulen; i++)
        if (buf[i] <= 0x20 || buf[i] >= 0x7f)
            goto out;
    for (size_t i = ulen + 1; i < (size_t)n; i++)
        if (buf[i] < 0x20 || buf[i] == 0x7f)
            goto out;
    if (!safecam_utf8_valid((const char *)colon + 1, plen))
        goto out;
    memcpy(user, buf, ulen);
    user[ulen] = '\0';
    memcpy(pass, colon + 1, plen);
    pass[plen] = '\0';
    rc = 0;
out:
    wipe(buf, sizeof buf);
    return rc;
}

int media_h264_codecs_string(const char *profile, const char *level, char *out, size_t out_size)
{
    static const struct {
        const char *name;
        unsigned idc, constraints;
    } profiles[] = {
        {"constrained-baseline", 0x42, 0xE0},
        {"baseline", 0x42, 0x00},
        {"main", 0x4D, 0x40},
        {"extended", 0x58, 0x00},
        {"high", 0x64, 0x00},
        {"constrained-high", 0x64, 0x0C},
        {"progressive-high", 0x64, 0x08},
        {"high-10", 0x6E, 0x00},
        {"high-4:2:2", 0x7A, 0x00},
        {"high-4:4:4", 0xF4, 0x00},
    };
    if (!out || out_size < 12 || !profile)
        return SAFECAM_ERR_INVAL;
    out[0] = '\0';
    int found = -1;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(profiles); i++)
        if (strcmp(profile, profiles[i].name) == 0)
            found = (int)i;
    if (found < 0)
        return SAFECAM_ERR_INVAL;
    unsigned lvl = 31; /* 3.1 when unknown: what x264 picks for 720p25 */
    if (level && strcmp(level, "1b") == 0) {
        lvl = 11;
    } else if (level && level[0] >= '1' && level[0] <= '6') {
        lvl = (unsigned)(level[0] - '0') * 10u;
        if (level[1] == '.' && level[2] >= '0' && level[2] <= '9' && level[3] == '\0')
            lvl += (unsigned)(level[2] - '0');
        else if (level[1] != '\0')
            return SAFECAM_ERR_INVAL;
    } else if (level) {
        return SAFECAM_ERR_INVAL;
    }
    return safecam_fmt(out, out_size, "avc1.%02X%02X%02X", profiles[found].idc, profiles[found].constraints,
                       lvl);
}

int media_timecode_block_px(int width)
{
    int bs = width / (MEDIA_TIMECODE_BLOCKS + 6);
    if (bs > 16)
        bs = 16;
    if (bs < 2)
        bs = 2;
    return bs & ~1; /* even, so chroma blocks align */
}

/* ---- RTSP request framer ---- */

enum { FR_START, FR_HEADER, FR_DATA_HDR, FR_PASS };

void media_rtsp_framer_init(struct media_rtsp_framer *f)
{
    memset(f, 0, sizeof *f);
    f->state = FR_START;
    f->cseq = -1;
}

static int token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Digits only, 1..9 of them. */
static long small_number(const char *v, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* Validate the complete header block in f->hdr (f->hdr_len bytes, ends with an empty line).
 * Sets f->remaining to the body length. Returns 0 or a status code. */
static int framer_check_header(struct media_rtsp_framer *f)
{
    const char *p = (const char *)f->hdr;
    const char *end = p + f->hdr_len;
    unsigned n_cseq = 0, n_clen = 0, n_session = 0, n_auth = 0, n_transport = 0;
    long clen = 0;
    int first = 1;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return 400;
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0)
            break; /* the empty line that ends the header */
        if (first) {
            /* METHOD SP URI SP RTSP/1.0 */
            const char *sp1 = memchr(p, ' ', len);
            if (!sp1 || sp1 == p || sp1 - p > 16)
                return 400;
            for (const char *q = p; q < sp1; q++)
                if (!((*q >= 'A' && *q <= 'Z') || *q == '_'))
                    return 400;
            const char *rest = sp1 + 1;
            const char *sp2 = memchr(rest, ' ', len - (size_t)(rest - p));
            if (!sp2 || sp2 == rest)
                return 400;
            const char *ver = sp2 + 1;
            size_t vlen = len - (size_t)(ver - p);
            if (vlen == 8 && (memcmp(ver, "RTSP/1.0", 8) == 0 || memcmp(ver, "RTSP/2.0", 8) == 0))
                first = 0;
            else if (vlen >= 5 && memcmp(ver, "RTSP/", 5) == 0)
                return 505;
            else
                return 400; /* HTTP tunnelling and anything else */
        } else {
            if (p[0] == ' ' || p[0] == '\t')
                return 400; /* obsolete line folding */
            const char *colon = memchr(p, ':', len);
            if (!colon || colon == p || colon - p > 64)
                return 400;
            for (const char *q = p; q < colon; q++)
                if (!token_char((unsigned char)*q))
                    return 400;
            size_t nlen = (size_t)(colon - p);
            const char *v = colon + 1;
            size_t vlen = len - nlen - 1;
            while (vlen && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (nlen == 4 && strncasecmp(p, "CSeq", 4) == 0) {
                n_cseq++;
                f->cseq = small_number(v, vlen);
                if (f->cseq < 0)
                    return 400;
            } else if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
                n_clen++;
                clen = small_number(v, vlen);
                if (clen < 0) {
                    if (vlen > 9 && vlen <= 64 && strspn(v, "0123456789") >= vlen)
                        return 413;
                    return 400;
                }
            } else if (nlen == 7 && strncasecmp(p, "Session", 7) == 0) {
                n_session++;
            } else if (nlen == 13 && strncasecmp(p, "Authorization", 13) == 0) {
                n_auth++;
            } else if (nlen == 9 && strncasecmp(p, "Transport", 9) == 0) {
                n_transport++;
            }
        }
        p = eol + 1;
    }
    if (first)
        return 400;
    if (n_cseq != 1 || n_clen > 1 || n_session > 1 || n_auth > 1 || n_transport > 1)
        return 400;
    if (clen > MEDIA_RTSP_CONTENT_LENGTH_MAX)
        return 413;
    f->remaining = (size_t)clen;
    return 0;
}

int media_rtsp_framer_feed(struct media_rtsp_framer *f, const uint8_t *in, size_t len, uint8_t *out,
                           size_t out_cap, size_t *out_len)
{
    size_t o = 0;
    size_t i = 0;
    *out_len = 0;
    if (!f || (!in && len) || !out || out_cap < len + MEDIA_RTSP_HEADER_MAX)
        return 400;
    while (i < len) {
        uint8_t c = in[i];
        switch (f->state) {
        case FR_START:
            if (c == '$') {
                f->state = FR_DATA_HDR;
                f->dh_got = 0;
            } else if (c == '\r' || c == '\n') {
                out[o++] = c;
                i++;
            } else {
                f->state = FR_HEADER;
                f->hdr_len = 0;
                f->line_len = 0;
                f->lines = 0;
                f->cseq = -1;
            }
            break;
        case FR_DATA_HDR:
            f->dh[f->dh_got++] = c;
            out[o++] = c;
            i++;
            if (f->dh_got == 4) {
                f->remaining = ((size_t)f->dh[2] << 8) | f->dh[3];
                f->state = f->remaining ? FR_PASS : FR_START;
            }
            break;
        case FR_PASS: {
            size_t n = len - i < f->remaining ? len - i : f->remaining;
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            f->remaining -= n;
            if (!f->remaining)
                f->state = FR_START;
            break;
        }
        case FR_HEADER:
            if (f->hdr_len >= sizeof f->hdr)
                return 431;
            if (c == 0 || c == 0x7f || (c < 0x20 && c != '\r' && c != '\n' && c != '\t'))
                return 400;
            f->hdr[f->hdr_len++] = c;
            i++;
            if (c == '\n') {
                if (f->line_len == 0) {
                    int st = framer_check_header(f);
                    if (st)
                        return st;
                    memcpy(out + o, f->hdr, f->hdr_len);
                    o += f->hdr_len;
                    f->hdr_len = 0;
                    f->requests++;
                    f->state = f->remaining ? FR_PASS : FR_START;
                } else {
                    f->line_len = 0;
                    if (++f->lines > MEDIA_RTSP_LINES_MAX)
                        return 431;
                }
            } else if (c != '\r') {
                if (++f->line_len > MEDIA_RTSP_LINE_MAX)
                    return 431;
            }
            break;
        default:
            return 400;
        }
    }
    *out_len = o;
    return 0;
}

int media_bind_addr_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 45)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '.' ||
              *p == ':'))
            return 0;
    return 1;
}
