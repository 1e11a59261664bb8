/* digest_auth.h — the Authorization header of HTTP and RTSP Digest (RFC 7616, RFC 2617), parsed into bounded
 * fields. Pure: used by the media process (RTSP Digest) and the web process (the snapshot URI's HTTP Digest);
 * neither computes a response: the vault does, from the sealed secret. QCVN 135 G1 / EN 303 645 5.1-5. */
#ifndef SAFECAM_DIGEST_AUTH_H
#define SAFECAM_DIGEST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "safecam/core.h"

#define DIGEST_AUTH_HEADER_MAX 512  /* bytes of an Authorization header value */
#define DIGEST_AUTH_USERNAME_MAX 64 /* bytes, without NUL */
#define DIGEST_AUTH_FIELD_MAX 128   /* bytes of one value, with NUL; uri up to DIGEST_AUTH_URI_MAX */
#define DIGEST_AUTH_URI_MAX 256

/* The fields of a Digest Authorization header, each NUL-terminated ("" when absent). */
struct digest_auth {
    char username[DIGEST_AUTH_USERNAME_MAX + 1];
    char realm[DIGEST_AUTH_FIELD_MAX];
    char nonce[DIGEST_AUTH_FIELD_MAX];
    char uri[DIGEST_AUTH_URI_MAX];
    char response[DIGEST_AUTH_FIELD_MAX];
    char algorithm[DIGEST_AUTH_FIELD_MAX]; /* the caller decides which it accepts */
    char qop[DIGEST_AUTH_FIELD_MAX];
    char nc[DIGEST_AUTH_FIELD_MAX];
    char cnonce[DIGEST_AUTH_FIELD_MAX];
};

/* Parse `Digest k=v, k="v", ...` (printable ASCII, no control characters, each value bounded, every key at most
 * once, unknown keys such as opaque or userhash ignored). username, realm, nonce, uri and response are required.
 * 0, SAFECAM_ERR_INVAL (not Digest, malformed, missing field) or SAFECAM_ERR_TOOBIG (a value, or the header over
 * DIGEST_AUTH_HEADER_MAX). *out is zeroed on failure. Fuzzed: fuzz/fuzz_digest_auth.c. */
int digest_auth_parse(const char *header, struct digest_auth *out) SAFECAM_WUR;

/* The nonce count: exactly 8 hex digits (RFC 7616 3.4), not zero. 0 and *out, or SAFECAM_ERR_INVAL. */
int digest_nc_parse(const char *nc, uint32_t *out) SAFECAM_WUR;

#endif
