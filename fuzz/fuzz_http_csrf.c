/* fuzz_http_csrf.c — libFuzzer target for the CSRF gate's parsers in lib/http: the X-CSRF-Token syntax
 * check, the Origin-versus-Host decision (http_origin_allowed), Content-Type and the request-target
 * normaliser (path + query). Input: up to four '\n'-separated fields: Origin, Host, token, target.
 * Invariants: an allowed Origin is https and names the Host's host; a normalised path never holds "//",
 * a "." or ".." segment, '%' or a byte outside printable ASCII. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safecam/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *field[4] = {buf, NULL, NULL, NULL};
    for (int i = 1; i < 4; i++) {
        char *nl = field[i - 1] ? strchr(field[i - 1], '\n') : NULL;
        if (!nl)
            break;
        *nl = '\0';
        field[i] = nl + 1;
    }
    const char *origin = field[0];
    const char *host = field[1] ? field[1] : "127.0.0.1:8443";
    if (http_origin_allowed(origin, host, "127.0.0.1", 8443)) {
        if (strncasecmp(origin, "https://", 8) != 0)
            abort();
        if (strpbrk(origin + 8, "/@?#\\ "))
            abort();
    }
    (void)http_origin_allowed(origin, NULL, "::1", 443);
    (void)http_content_type_json(origin);
    if (field[2])
        (void)http_token_hex_valid(field[2], strlen(field[2]));
    const char *target = field[3] ? field[3] : origin;
    char path[HTTP_PATH_MAX_BYTES];
    struct http_query q;
    if (http_target_parse(target, path, sizeof(path), &q) == 0) {
        if (path[0] != '/' || strstr(path, "//") || strchr(path, '%') || strstr(path, "/./") ||
            strstr(path, "/../"))
            abort();
        size_t n = strlen(path);
        if ((n >= 2 && strcmp(path + n - 2, "/.") == 0) || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f || path[i] == '\\')
                abort();
        if (q.n > HTTP_QUERY_PARAMS_MAX)
            abort();
        char param[64];
        (void)http_route_match("/api/v1/users/{name}/password", path, param, sizeof(param));
    }
    free(buf);
    return 0;
}
