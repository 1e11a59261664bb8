/* digest_auth.c — the Digest Authorization header parser (include/safecam/digest_auth.h). Pure, bounded,
 * network-facing input. */
#include "safecam/digest_auth.h"

#include <string.h>
#include <strings.h>

/* One value of a Digest header into dst (size n). Returns the position after it, or NULL. */
static const char *digest_value(const char *p, char *dst, size_t n, int *toobig)
{
    size_t k = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                return NULL;
            if (k + 1 >= n) {
                *toobig = 1;
                return NULL;
            }
            dst[k++] = *p++;
        }
        if (*p != '"')
            return NULL;
        p++;
    } else {
        while (*p && *p != ',' && *p != ' ' && *p != '\t') {
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                return NULL;
            if (k + 1 >= n) {
                *toobig = 1;
                return NULL;
            }
            dst[k++] = *p++;
        }
    }
    dst[k] = '\0';
    return p;
}

int digest_auth_parse(const char *header, struct digest_auth *out)
{
    if (!header || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    size_t hlen = strlen(header);
    if (hlen > DIGEST_AUTH_HEADER_MAX)
        return SAFECAM_ERR_TOOBIG;
    if (hlen < 8 || strncasecmp(header, "Digest ", 7) != 0)
        return SAFECAM_ERR_INVAL;
    struct {
        const char *key;
        char *dst;
        size_t size;
        int seen;
    } f[] = {{"username", out->username, sizeof out->username, 0}, {"realm", out->realm, sizeof out->realm, 0},
             {"nonce", out->nonce, sizeof out->nonce, 0},          {"uri", out->uri, sizeof out->uri, 0},
             {"response", out->response, sizeof out->response, 0}, {"algorithm", out->algorithm, sizeof out->algorithm, 0},
             {"qop", out->qop, sizeof out->qop, 0},                {"nc", out->nc, sizeof out->nc, 0},
             {"cnonce", out->cnonce, sizeof out->cnonce, 0}};
    const size_t nf = sizeof f / sizeof f[0];
    const char *p = header + 7;
    int toobig = 0;
    for (unsigned guard = 0; guard < 64; guard++) { /* at most 64 parameters */
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ' && *p != ',')
            p++;
        size_t klen = (size_t)(p - k);
        if (*p != '=' || klen == 0)
            goto bad;
        p++;
        char scratch[DIGEST_AUTH_URI_MAX];
        char *dst = scratch;
        size_t size = sizeof scratch;
        for (size_t i = 0; i < nf; i++)
            if (strlen(f[i].key) == klen && strncasecmp(k, f[i].key, klen) == 0) {
                if (f[i].seen++)
                    goto bad;
                dst = f[i].dst;
                size = f[i].size;
            }
        p = digest_value(p, dst, size, &toobig);
        if (!p)
            goto bad;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            goto bad;
    }
    if (*p)
        goto bad;
    if (!out->username[0] || !out->realm[0] || !out->nonce[0] || !out->uri[0] || !out->response[0])
        goto bad;
    return 0;
bad:
    memset(out, 0, sizeof *out);
    return toobig ? SAFECAM_ERR_TOOBIG : SAFECAM_ERR_INVAL;
}

int digest_nc_parse(const char *nc, uint32_t *out)
{
    uint32_t v = 0;
    if (!nc || !out || strlen(nc) != 8)
        return SAFECAM_ERR_INVAL;
    for (size_t i = 0; i < 8; i++) {
        char c = nc[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return SAFECAM_ERR_INVAL;
        v = (v << 4) | d;
    }
    if (v == 0)
        return SAFECAM_ERR_INVAL;
    *out = v;
    return 0;
}
