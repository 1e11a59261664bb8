/* fuzz_digest_auth.c — libFuzzer target for the Digest Authorization header parser (digest_auth_parse, used by
 * RTSP Digest in media and HTTP Digest in web) and the web process's nonce check on what it returns. Input is
 * an untrusted Authorization header value. Invariants: on success every field is NUL-terminated inside its
 * buffer and the required ones are non-empty; on failure the output is all zero; a nonce the fuzzer made up
 * never passes the check (it cannot know the key). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/digest_auth.h"
#include "safecam/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[HTTP_DIGEST_KEY_BYTES] = {1, 2, 3};
    char *h = malloc(size + 1);
    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';
    struct digest_auth d;
    int rc = digest_auth_parse(h, &d);
    if (rc == 0) {
        if (strnlen(d.username, sizeof d.username) >= sizeof d.username ||
            strnlen(d.uri, sizeof d.uri) >= sizeof d.uri || strnlen(d.nonce, sizeof d.nonce) >= sizeof d.nonce ||
            !d.username[0] || !d.realm[0] || !d.nonce[0] || !d.uri[0] || !d.response[0])
            abort();
        if (http_digest_nonce_check(key, d.nonce, 1000, 300) == 0)
            abort();
    } else {
        static const struct digest_auth zero;
        if ((rc != SAFECAM_ERR_INVAL && rc != SAFECAM_ERR_TOOBIG) || memcmp(&d, &zero, sizeof d) != 0)
            abort();
    }
    /* a nonce this key made passes once in its lifetime and not after it */
    char n[HTTP_DIGEST_NONCE_HEX + 1];
    if (http_digest_nonce_make(key, 1000, n) != 0 || http_digest_nonce_check(key, n, 1100, 300) != 0 ||
        http_digest_nonce_check(key, n, 1301, 300) == 0 || http_digest_nonce_check(key, n, 999, 300) == 0)
        abort();
    free(h);
    return 0;
}
