/* fuzz_check_rtsp_response.c — libFuzzer target for qcvn-check's parsers of device answers: the RTSP
 * response parser, Set-Cookie, security.txt, the banner and suite classifiers, token entropy.
 * Invariants: no crash, no read past the input, outputs NUL-terminated and in range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct check_rtsp_response r;
    /* exact-size heap copy so ASan sees any over-read */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (check_rtsp_response_parse(buf, size, &r) == 0) {
        if (r.status < 100 || r.status > 599 || r.n_headers > CHECK_RTSP_MAX_HEADERS)
            abort();
        if (strlen(r.server) >= sizeof r.server || strlen(r.www_authenticate) >= sizeof r.www_authenticate)
            abort();
    }
    int c, p;
    int64_t e;
    (void)check_securitytxt_parse(buf, size, &c, &p, &e);
    free(buf);
    /* NUL-terminated views for the string parsers */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct check_cookie ck;
    if (check_cookie_parse(s, &ck) == 0 && (strlen(ck.name) >= sizeof ck.name || ck.value_len >= sizeof ck.value))
        abort();
    (void)check_banner_has_version(s);
    (void)check_tls_suite_weak(s);
    double bits = check_token_entropy_bits(s);
    if (bits < 0.0)
        abort();
    free(s);
    return 0;
}
