/* fuzz_rtsp_framer.c — libFuzzer target for the RTSP request framer and the Basic header parser (lib/media),
 * the first code to read untrusted RTSPS bytes. Input is split at arbitrary points to exercise resumption. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct media_rtsp_framer fr;
    static uint8_t out[4096 + MEDIA_RTSP_HEADER_MAX];
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    media_rtsp_framer_init(&fr);
    size_t total = 0;
    for (size_t off = 1; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        size_t olen = 0;
        int st = media_rtsp_framer_feed(&fr, data + off, n, out, sizeof out, &olen);
        if (olen > n + MEDIA_RTSP_HEADER_MAX)
            abort();
        total += olen;
        if (st) {
            if (st != 400 && st != 413 && st != 431 && st != 505)
                abort();
            break;
        }
    }
    if (total > size + MEDIA_RTSP_HEADER_MAX)
        abort();
    /* The same bytes as an Authorization header value. */
    char hdr[MEDIA_RTSP_AUTH_HEADER_MAX + 2];
    size_t hl = size - 1 < sizeof hdr - 1 ? size - 1 : sizeof hdr - 1;
    memcpy(hdr, data + 1, hl);
    hdr[hl] = '\0';
    char u[MEDIA_RTSP_USERNAME_MAX + 1], p[MEDIA_RTSP_PASSWORD_MAX + 1];
    if (media_basic_auth_parse(hdr, u, sizeof u, p, sizeof p) == 0 && (!u[0] || !p[0] || strchr(u, ':')))
        abort();
    return 0;
}
