/* fuzz_http_cookie.c — libFuzzer target for lib/http's Cookie header parser (http_cookie_find) and the
 * session-token syntax check applied to what it returns. Input is an untrusted Cookie header value.
 * Invariants: a found value fits the buffer and comes from the input; a syntactically valid token is
 * exactly 64 lowercase hex digits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[HTTP_TOKEN_HEX_BYTES + 8];
    int rc = http_cookie_find((const char *)data, size, HTTP_SESSION_COOKIE, out, sizeof(out));
    if (rc == 0) {
        size_t n = strnlen(out, sizeof(out));
        if (n >= sizeof(out))
            abort();
        if (n && !memmem(data, size, out, n))
            abort();
        if (http_token_hex_valid(out, n) && n != HTTP_TOKEN_HEX_BYTES)
            abort();
    } else if (rc != SAFECAM_ERR_NOTFOUND && rc != SAFECAM_ERR_INVAL && rc != SAFECAM_ERR_TOOBIG) {
        abort();
    } else if (out[0] != '\0' && rc != SAFECAM_ERR_TOOBIG) {
        abort();
    }
    /* a second name that is a prefix of ours must not match our cookie */
    char other[16];
    (void)http_cookie_find((const char *)data, size, "safecam", other, sizeof(other));
    return 0;
}
