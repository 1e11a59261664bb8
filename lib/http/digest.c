/* digest.c — HTTP Digest (RFC 7616) for integration accounts on the snapshot URI that ONVIF GetSnapshotUri
 * names: recorders fetch it with their ONVIF credentials and have no web session. This process makes the
 * nonce (libsodium randomness, bound to time and authenticated with a key that never leaves it), checks that
 * the nonce is its own and fresh, that the uri is the request's own target, and asks the vault, which alone
 * holds the secret, to recompute the response and to refuse a (nonce, nc) it accepted before. Every answer
 * to a refused request is the same 401 with a new challenge. Trust level: network-facing; the header is
 * untrusted. QCVN 135 G1 / EN 303 645 5.1-1, 5.1-5; attack case A4 (replay). docs/onvif.md "Snapshot". */
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_internal.h"
#include "safecam/digest_auth.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

#define DIGEST_REALM "safecam"
#define DIGEST_STAMP_BYTES 16 /* 8 bytes of time (big-endian seconds) + 8 random bytes */
#define DIGEST_MAC_BYTES 16

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void nonce_mac(const uint8_t key[HTTP_DIGEST_KEY_BYTES], const uint8_t stamp[DIGEST_STAMP_BYTES],
                      uint8_t mac[DIGEST_MAC_BYTES])
{
    crypto_generichash(mac, DIGEST_MAC_BYTES, stamp, DIGEST_STAMP_BYTES, key, HTTP_DIGEST_KEY_BYTES);
}

int http_digest_nonce_make(const uint8_t key[HTTP_DIGEST_KEY_BYTES], int64_t now,
                           char out[HTTP_DIGEST_NONCE_HEX + 1])
{
    uint8_t raw[DIGEST_STAMP_BYTES + DIGEST_MAC_BYTES];
    if (!key || !out || now < 0)
        return SAFECAM_ERR_INVAL;
    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
    randombytes_buf(raw + 8, 8);
    nonce_mac(key, raw, raw + DIGEST_STAMP_BYTES);
    sodium_bin2hex(out, HTTP_DIGEST_NONCE_HEX + 1, raw, sizeof raw);
    return 0;
}

int http_digest_nonce_check(const uint8_t key[HTTP_DIGEST_KEY_BYTES], const char *nonce, int64_t now,
                            int64_t lifetime_s)
{
    uint8_t raw[DIGEST_STAMP_BYTES + DIGEST_MAC_BYTES], mac[DIGEST_MAC_BYTES];
    size_t n = 0;
    if (!key || !nonce || strnlen(nonce, HTTP_DIGEST_NONCE_HEX + 1) != HTTP_DIGEST_NONCE_HEX ||
        sodium_hex2bin(raw, sizeof raw, nonce, HTTP_DIGEST_NONCE_HEX, NULL, &n, NULL) != 0 || n != sizeof raw)
        return SAFECAM_ERR_DENIED;
    nonce_mac(key, raw, mac);
    int ok = sodium_memcmp(mac, raw + DIGEST_STAMP_BYTES, DIGEST_MAC_BYTES) == 0;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = (t << 8) | raw[i];
    return ok && t <= (uint64_t)now && (uint64_t)now - t <= (uint64_t)lifetime_s ? 0 : SAFECAM_ERR_DENIED;
}

/* 401 with a fresh nonce, SHA-256 offered first (RFC 7616 3.7: in order of preference), then MD5 for the
 * recorders that know nothing else. Identical whatever was wrong. */
static enum MHD_Result challenge(struct req *r)
{
    char nonce[HTTP_DIGEST_NONCE_HEX + 1], sha[192], md5[192];
    if (http_digest_nonce_make(r->srv->digest_key, mono_now(), nonce) != 0 ||
        safecam_fmt(sha, sizeof sha, "Digest realm=\"" DIGEST_REALM "\", qop=\"auth\", algorithm=SHA-256, "
                    "nonce=\"%s\"", nonce) != 0 ||
        safecam_fmt(md5, sizeof md5, "Digest realm=\"" DIGEST_REALM "\", qop=\"auth\", algorithm=MD5, "
                    "nonce=\"%s\"", nonce) != 0)
        return http_reply_unavailable(r);
    const char *const h[] = {"WWW-Authenticate", sha, "WWW-Authenticate", md5, NULL};
    return http_reply_json_hv(r, MHD_HTTP_UNAUTHORIZED, json_pack("{s:s}", "error", "unauthorized"), h);
}

int http_digest_auth(struct req *r)
{
    const char *hdr = http_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    struct digest_auth d;
    char role[VAULT_CLIENT_ROLE_MAX + 1] = "";
    json_t *refusal = NULL;
    int rc = hdr ? digest_auth_parse(hdr, &d) : SAFECAM_ERR_NOTFOUND;
    if (rc != 0) {
        challenge(r);
        return -1;
    }
    /* What this process can check without the secret: the realm, the algorithm, qop=auth with nc and cnonce,
     * the uri is this request's own target (RFC 7616 3.4.6), and the nonce is ours and fresh. A request that
     * fails these was never a guess of the secret: it gets a new challenge and counts nothing. */
    const char *method = r->is_head ? "HEAD" : "GET";
    uint32_t nc = 0;
    int ok = strcmp(d.realm, DIGEST_REALM) == 0 &&
             (!d.algorithm[0] || strcasecmp(d.algorithm, "MD5") == 0 || strcasecmp(d.algorithm, "SHA-256") == 0) &&
             strcmp(d.qop, "auth") == 0 && digest_nc_parse(d.nc, &nc) == 0 && d.cnonce[0] && strcmp(d.uri, r->target) == 0 &&
             http_digest_nonce_check(r->srv->digest_key, d.nonce, mono_now(), PROTO_HTTP_DIGEST_NONCE_S) == 0;
    if (!ok) {
        sodium_memzero(&d, sizeof d);
        challenge(r);
        return -1;
    }
    const struct vault_client_digest q = {.username = d.username, .realm = d.realm, .nonce = d.nonce,
                                          .uri = d.uri, .method = method, .response = d.response,
                                          .algorithm = d.algorithm[0] ? d.algorithm : NULL, .qop = d.qop,
                                          .nc = d.nc, .cnonce = d.cnonce, .source = r->source};
    rc = vault_client_digest_call(r->srv->vault, PROTO_VAULT_HTTP_DIGEST_CHECK, &q, VAULT_CLIENT_TIMEOUT_MS, role, sizeof role,
                                  &refusal);
    if (rc == 0 && !refusal && safecam_strlcpy(r->username, d.username, sizeof r->username) == 0 &&
        safecam_strlcpy(r->role, role, sizeof r->role) == 0) {
        sodium_memzero(&d, sizeof d);
        r->pw_change = 0;
        return 0;
    }
    sodium_memzero(&d, sizeof d);
    r->username[0] = r->role[0] = '\0';
    const char *err = refusal ? http_jstr(refusal, "error") : NULL;
    if (rc != 0 && !refusal)
        http_reply_unavailable(r); /* the vault could not be asked: fail closed */
    else if (err && strcmp(err, "busy") == 0)
        http_reply_unavailable(r); /* the replay cache is full: nothing was counted */
    else
        challenge(r); /* wrong, unknown, replayed or locked: the same answer */
    json_decref(refusal);
    return -1;
}
