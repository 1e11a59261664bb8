/* wsse.c — WS-Security UsernameToken checks for ONVIF: the Created window, the nonce cache and the
 * PasswordDigest. Runs in the vault process (the secret never leaves it); every argument comes from a SOAP
 * header an unauthenticated client wrote and is bounded here. QCVN 135 G1, brute force / EN 303 645 5.1
 * (replay: attack case A4). Contract: include/safecam/wsse.h. */
#include "safecam/wsse.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- Created ---------------- */

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return SAFECAM_ERR_INVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int wsse_created_parse(const char *text, int64_t *out)
{
    int y, mo, d, h, mi, s;
    if (!text || !out)
        return SAFECAM_ERR_INVAL;
    size_t n = strnlen(text, WSSE_CREATED_MAX + 1);
    if (n < 20 || n > WSSE_CREATED_MAX)
        return SAFECAM_ERR_INVAL;
    if (digits(text, 4, &y) || text[4] != '-' || digits(text + 5, 2, &mo) || text[7] != '-' ||
        digits(text + 8, 2, &d) || text[10] != 'T' || digits(text + 11, 2, &h) || text[13] != ':' ||
        digits(text + 14, 2, &mi) || text[16] != ':' || digits(text + 17, 2, &s))
        return SAFECAM_ERR_INVAL;
    size_t i = 19;
    if (text[i] == '.') {
        size_t start = ++i;
        while (i < n && text[i] >= '0' && text[i] <= '9' && i - start < 9)
            i++;
        if (i == start)
            return SAFECAM_ERR_INVAL;
    }
    if (i + 1 != n || text[i] != 'Z')
        return SAFECAM_ERR_INVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
        return SAFECAM_ERR_INVAL;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

int wsse_created_check(int64_t created, int64_t now, int64_t window_s)
{
    if (window_s < 0)
        return SAFECAM_ERR_INVAL;
    if (created < now - window_s || created > now + window_s)
        return SAFECAM_ERR_TIMEOUT;
    return 0;
}

/* ---------------- nonce and digest ---------------- */

int wsse_nonce_decode(const char *b64, uint8_t out[WSSE_NONCE_MAX_BYTES], size_t *len)
{
    if (!b64 || !out || !len)
        return SAFECAM_ERR_INVAL;
    size_t n = strnlen(b64, WSSE_NONCE_B64_MAX + 1);
    *len = 0;
    if (n == 0 || n > WSSE_NONCE_B64_MAX)
        return SAFECAM_ERR_INVAL;
    const char *end = NULL;
    size_t got = 0;
    int variant = memchr(b64, '=', n) ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    if (sodium_base642bin(out, WSSE_NONCE_MAX_BYTES, b64, n, NULL, &got, &end, variant) != 0 || end != b64 + n ||
        got < WSSE_NONCE_MIN_BYTES || got > WSSE_NONCE_MAX_BYTES) {
        sodium_memzero(out, WSSE_NONCE_MAX_BYTES);
        return SAFECAM_ERR_INVAL;
    }
    *len = got;
    return 0;
}

int wsse_digest_compute(const uint8_t *nonce, size_t nonce_len, const char *created, const char *secret,
                        size_t secret_len, uint8_t out[WSSE_DIGEST_BYTES])
{
    if (!nonce || !created || !secret || !out || nonce_len > WSSE_NONCE_MAX_BYTES || secret_len > 256)
        return SAFECAM_ERR_INVAL;
    size_t clen = strnlen(created, WSSE_CREATED_MAX + 1);
    if (clen > WSSE_CREATED_MAX)
        return SAFECAM_ERR_INVAL;
    uint8_t buf[WSSE_NONCE_MAX_BYTES + WSSE_CREATED_MAX + 256];
    size_t len = 0;
    memcpy(buf, nonce, nonce_len);
    len += nonce_len;
    memcpy(buf + len, created, clen);
    len += clen;
    memcpy(buf + len, secret, secret_len);
    len += secret_len;
    int rc = gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, len, out) == 0 ? 0 : SAFECAM_ERR_INTERNAL;
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int wsse_digest_verify(const uint8_t *nonce, size_t nonce_len, const char *created, const char *secret,
                       size_t secret_len, const char *digest_b64)
{
    uint8_t want[WSSE_DIGEST_BYTES], got[WSSE_DIGEST_BYTES + 4];
    size_t got_len = 0;
    const char *end = NULL;
    if (!digest_b64)
        return SAFECAM_ERR_DENIED;
    size_t n = strnlen(digest_b64, WSSE_DIGEST_B64_MAX + 1);
    if (n == 0 || n > WSSE_DIGEST_B64_MAX)
        return SAFECAM_ERR_DENIED;
    if (wsse_digest_compute(nonce, nonce_len, created, secret, secret_len, want) != 0)
        return SAFECAM_ERR_DENIED;
    int rc = SAFECAM_ERR_DENIED;
    if (sodium_base642bin(got, sizeof got, digest_b64, n, NULL, &got_len, &end, sodium_base64_VARIANT_ORIGINAL) ==
            0 &&
        end == digest_b64 + n && got_len == WSSE_DIGEST_BYTES && sodium_memcmp(got, want, WSSE_DIGEST_BYTES) == 0)
        rc = 0;
    sodium_memzero(want, sizeof want);
    sodium_memzero(got, sizeof got);
    return rc;
}

/* ---------------- the nonce cache ---------------- */

struct nonce_entry {
    uint8_t digest[16];
    int64_t expires; /* 0: free */
};

struct wsse_nonce_cache {
    size_t capacity;
    struct nonce_entry *e;
};

int wsse_nonce_cache_new(size_t capacity, wsse_nonce_cache **out)
{
    if (!out || capacity == 0 || capacity > 1u << 20)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    wsse_nonce_cache *c = calloc(1, sizeof *c);
    if (!c)
        return SAFECAM_ERR_NOMEM;
    c->e = calloc(capacity, sizeof *c->e);
    if (!c->e) {
        free(c);
        return SAFECAM_ERR_NOMEM;
    }
    c->capacity = capacity;
    *out = c;
    return 0;
}

void wsse_nonce_cache_free(wsse_nonce_cache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c);
}

int wsse_nonce_cache_admit(wsse_nonce_cache *c, const uint8_t *nonce, size_t len, int64_t expires, int64_t now)
{
    uint8_t d[16];
    if (!c || !nonce || len == 0 || len > WSSE_NONCE_MAX_BYTES || expires <= now)
        return SAFECAM_ERR_INVAL;
    crypto_generichash(d, sizeof d, nonce, len, NULL, 0);
    size_t free_slot = c->capacity;
    for (size_t i = 0; i < c->capacity; i++) { /* bounded by the capacity */
        struct nonce_entry *e = &c->e[i];
        if (e->expires != 0 && e->expires <= now)
            e->expires = 0; /* expired: the window refuses the token by itself now */
        if (e->expires == 0) {
            if (free_slot == c->capacity)
                free_slot = i;
            continue;
        }
        if (sodium_memcmp(e->digest, d, sizeof d) == 0)
            return SAFECAM_ERR_EXISTS;
    }
    if (free_slot == c->capacity)
        return SAFECAM_ERR_BUSY;
    memcpy(c->e[free_slot].digest, d, sizeof d);
    c->e[free_slot].expires = expires;
    return 0;
}

size_t wsse_nonce_cache_count(wsse_nonce_cache *c, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; c && i < c->capacity; i++)
        if (c->e[i].expires > now)
            n++;
    return n;
}
