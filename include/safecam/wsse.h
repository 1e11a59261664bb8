/* wsse.h — the pieces of a WS-Security UsernameToken check (OASIS WSS UsernameToken Profile 1.1) that the
 * vault runs for ONVIF: the Created window, the nonce cache against replay and the PasswordDigest
 * Base64(SHA-1(nonce || created || secret)). Implemented in lib/vault/wsse.c; pure functions on an injected
 * clock (the caller passes `now`), so unit tests drive the window and the expiry.
 * QCVN 135 G1 and brute force / EN 303 645 5.1 (attack case A4: replayed authentication). docs/integrations.md. */
#ifndef SAFECAM_WSSE_H
#define SAFECAM_WSSE_H

#include <stddef.h>
#include <stdint.h>

#include "safecam/core.h"

#define WSSE_WINDOW_S 300            /* Created accepted within now +- 5 min */
#define WSSE_NONCE_CACHE_MAX 4096    /* the vault's cache: at most this many unexpired nonces */
#define WSSE_NONCE_MIN_BYTES 8       /* a decoded nonce shorter than this is refused (too easy to repeat) */
#define WSSE_NONCE_MAX_BYTES 64      /* longer is refused as malformed (clients send 16) */
#define WSSE_NONCE_B64_MAX 128       /* the base64 text of a nonce */
#define WSSE_CREATED_MAX 40          /* the text of Created */
#define WSSE_DIGEST_BYTES 20         /* SHA-1 */
#define WSSE_DIGEST_B64_MAX 64       /* the text of a PasswordDigest (28 characters when well formed) */

/* Parse Created: "YYYY-MM-DDThh:mm:ss[.fraction]Z" (UTC only, as ONVIF clients send it; an offset other than
 * Z is refused). *out = seconds since the epoch. 0 or SAFECAM_ERR_INVAL. */
int wsse_created_parse(const char *text, int64_t *out) SAFECAM_WUR;

/* Is created within [now - window_s, now + window_s]? 0, or SAFECAM_ERR_TIMEOUT (stale or future). */
int wsse_created_check(int64_t created, int64_t now, int64_t window_s) SAFECAM_WUR;

/* Decode a base64 nonce (standard alphabet, padding optional) into out. *len in
 * [WSSE_NONCE_MIN_BYTES, WSSE_NONCE_MAX_BYTES]. 0 or SAFECAM_ERR_INVAL. */
int wsse_nonce_decode(const char *b64, uint8_t out[WSSE_NONCE_MAX_BYTES], size_t *len) SAFECAM_WUR;

/* PasswordDigest = SHA-1(nonce || created || secret) (SHA-1 from GnuTLS: libsodium has none).
 * 0 or SAFECAM_ERR_INVAL / SAFECAM_ERR_INTERNAL. */
int wsse_digest_compute(const uint8_t *nonce, size_t nonce_len, const char *created, const char *secret,
                        size_t secret_len, uint8_t out[WSSE_DIGEST_BYTES]) SAFECAM_WUR;

/* Compare a client's PasswordDigest (base64 text) with the expected one in constant time (sodium_memcmp).
 * 0 when equal, SAFECAM_ERR_DENIED otherwise (also for malformed base64). */
int wsse_digest_verify(const uint8_t *nonce, size_t nonce_len, const char *created, const char *secret,
                       size_t secret_len, const char *digest_b64) SAFECAM_WUR;

/* The nonce cache: remembers each accepted nonce (its BLAKE2b-128 digest) until `expires` (Created + the
 * window: after that the token is stale anyway). Bounded: when full of unexpired nonces it refuses new ones
 * (SAFECAM_ERR_BUSY) rather than forget one that could then be replayed. Only nonces of tokens whose digest
 * verified are recorded, so an unauthenticated sender cannot fill it. Not thread-safe (the vault's loop). */
typedef struct wsse_nonce_cache wsse_nonce_cache;

int wsse_nonce_cache_new(size_t capacity, wsse_nonce_cache **out) SAFECAM_WUR;
void wsse_nonce_cache_free(wsse_nonce_cache *c);
/* Record nonce until expires (seconds). 0 = new and recorded; SAFECAM_ERR_EXISTS = seen and not yet expired
 * (a replay); SAFECAM_ERR_BUSY = full of unexpired nonces (nothing recorded); SAFECAM_ERR_INVAL. Entries with
 * expires <= now are dropped first. */
int wsse_nonce_cache_admit(wsse_nonce_cache *c, const uint8_t *nonce, size_t len, int64_t expires,
                           int64_t now) SAFECAM_WUR;
/* Unexpired entries at now. */
size_t wsse_nonce_cache_count(wsse_nonce_cache *c, int64_t now);

#endif
