/* tls_hello.c — a hand-built TLS 1.2 ClientHello and the parser of the server's first answer (ServerHello
 * or alert), for the SC-02 suites the TLS library cannot offer (tls.c). No I/O: a leaf of lib/check.
 * Trust level: the parsed bytes come from the audited device and are hostile; every length is checked
 * against what was read, at most 80 bytes of the handshake are kept. Fuzzed (fuzz/fuzz_check_tls_hello.c). */
#include "safecam/check.h"

#include <string.h>

#define TLS_REC_HANDSHAKE 0x16
#define TLS_REC_ALERT 0x15
#define TLS_HS_CLIENT_HELLO 0x01
#define TLS_HS_SERVER_HELLO 0x02
#define TLS_REC_MAX (16384 + 2048) /* largest TLSCiphertext fragment (RFC 5246 6.2.3) */

/* x25519, secp256r1, secp384r1, secp521r1, ffdhe2048, ffdhe3072 */
static const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101};
/* ECDSA and RSA-PSS/PKCS#1 with SHA-256/384/512, then the SHA-1 and DSA ones old servers still sign with */
static const uint16_t sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
                                   0x0601, 0x0201, 0x0203, 0x0202, 0x0402};

struct wbuf {
    unsigned char *p;
    size_t cap, n;
    int over;
};

static void put8(struct wbuf *w, unsigned v)
{
    if (w->n < w->cap)
        w->p[w->n++] = (unsigned char)v;
    else
        w->over = 1;
}

static void put16(struct wbuf *w, unsigned v)
{
    put8(w, (v >> 8) & 0xff);
    put8(w, v & 0xff);
}

/* Write a 16-bit (bytes 2) or 24-bit (bytes 3) length at w->p[at] for what follows it up to w->n. */
static void patch_len(struct wbuf *w, size_t at, int bytes)
{
    if (w->over)
        return;
    size_t v = w->n - at - (size_t)bytes;
    for (int i = bytes - 1; i >= 0; i--) {
        w->p[at + (size_t)i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static void put_list16(struct wbuf *w, const uint16_t *v, size_t n)
{
    put16(w, (unsigned)(n * 2));
    for (size_t i = 0; i < n; i++)
        put16(w, v[i]);
}

int check_tls12_client_hello_build(const uint16_t *suites, size_t n, const unsigned char random[32],
                                   unsigned char *out, size_t cap, size_t *len)
{
    if (suites == NULL || n == 0 || n > CHECK_TLS_HELLO_MAX_SUITES || random == NULL || out == NULL || len == NULL)
        return SAFECAM_ERR_INVAL;
    struct wbuf w = {out, cap, 0, 0};
    put8(&w, TLS_REC_HANDSHAKE);
    put16(&w, 0x0301); /* record version: what TLS 1.2 clients send for interoperability */
    size_t rec = w.n;
    put16(&w, 0);
    put8(&w, TLS_HS_CLIENT_HELLO);
    size_t hs = w.n;
    put8(&w, 0);
    put16(&w, 0);
    put16(&w, 0x0303); /* TLS 1.2 */
    for (size_t i = 0; i < 32; i++)
        put8(&w, random[i]);
    put8(&w, 0); /* no session id */
    put16(&w, (unsigned)((n + 1) * 2));
    for (size_t i = 0; i < n; i++)
        put16(&w, suites[i]);
    put16(&w, 0x00ff); /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
    put8(&w, 1);
    put8(&w, 0); /* null compression */
    size_t exts = w.n;
    put16(&w, 0);
    put16(&w, 0x000a); /* supported_groups */
    put16(&w, (unsigned)(2 + sizeof groups));
    put_list16(&w, groups, SAFECAM_ARRAY_LEN(groups));
    put16(&w, 0x000b); /* ec_point_formats: uncompressed */
    put16(&w, 2);
    put8(&w, 1);
    put8(&w, 0);
    put16(&w, 0x000d); /* signature_algorithms */
    put16(&w, (unsigned)(2 + sizeof sigalgs));
    put_list16(&w, sigalgs, SAFECAM_ARRAY_LEN(sigalgs));
    put16(&w, 0x0017); /* extended_master_secret */
    put16(&w, 0);
    patch_len(&w, exts, 2);
    patch_len(&w, hs, 3);
    patch_len(&w, rec, 2);
    if (w.over)
        return SAFECAM_ERR_TOOBIG;
    *len = w.n;
    return 0;
}

int check_tls_server_hello_parse(const unsigned char *buf, size_t len, struct check_tls_server_hello *out)
{
    /* handshake bytes reassembled across records: type(1) length(3) version(2) random(32) sid_len(1)
     * sid(<=32) suite(2) compression(1) = at most 74 */
    unsigned char hs[80];
    size_t hn = 0, pos = 0;
    if (buf == NULL || out == NULL)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    while (pos < len) {
        if (len - pos < 5)
            return 1;
        unsigned type = buf[pos];
        size_t rlen = ((size_t)buf[pos + 3] << 8) | buf[pos + 4];
        if ((type != TLS_REC_HANDSHAKE && type != TLS_REC_ALERT) || buf[pos + 1] != 3 || rlen == 0 ||
            rlen > TLS_REC_MAX)
            return SAFECAM_ERR_PROTO;
        const unsigned char *frag = buf + pos + 5;
        size_t avail = len - pos - 5 < rlen ? len - pos - 5 : rlen;
        if (type == TLS_REC_ALERT) {
            if (hn > 0)
                return SAFECAM_ERR_PROTO; /* an alert inside a split ServerHello */
            if (avail < 2)
                return 1;
            out->alert = 1;
            out->alert_level = frag[0];
            out->alert_desc = frag[1];
            return 0;
        }
        size_t take = avail < sizeof hs - hn ? avail : sizeof hs - hn;
        memcpy(hs + hn, frag, take);
        hn += take;
        if (hn >= 1 && hs[0] != TLS_HS_SERVER_HELLO)
            return SAFECAM_ERR_PROTO;
        if (hn >= 39) {
            size_t body = ((size_t)hs[1] << 16) | ((size_t)hs[2] << 8) | hs[3];
            size_t sid = hs[38];
            size_t need = 39 + sid + 3; /* through the compression method */
            if (sid > 32 || body + 4 < need)
                return SAFECAM_ERR_PROTO;
            if (hn >= need) {
                out->version = ((unsigned)hs[4] << 8) | hs[5];
                out->suite = ((unsigned)hs[39 + sid] << 8) | hs[40 + sid];
                out->compression = hs[41 + sid];
                return 0;
            }
        }
        if (avail < rlen)
            return 1;
        pos += 5 + rlen;
    }
    return 1;
}
