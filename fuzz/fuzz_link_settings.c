/* fuzz_link_settings.c — libFuzzer target for the linked-service settings an admin sends (lib/link/validate.c):
 * the whole object through link_settings_validate (URLs, CA PEM through GnuTLS, topics, user names), and the raw
 * input as a URL of each scheme. Checks that an accepted URL parses to a non-empty host and a path. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "safecam/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * 65536 + 8192)
        return 0;
    char field[64];
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (root) {
        (void)link_settings_validate(root, field, sizeof field);
        json_decref(root);
    }
    if (size < 2048) {
        char url[2048], host[256], path[1024];
        memcpy(url, data, size);
        url[size] = '\0';
        static const char *const schemes[] = {"https", "mqtts"};
        for (size_t i = 0; i < 2; i++) {
            int port = 0;
            if (link_url_parse(url, schemes[i], host, sizeof host, &port, path, sizeof path) == 0 &&
                (!host[0] || port < 1 || port > 65535 || path[0] != '/'))
                __builtin_trap(); /* accepted, yet no host, no valid port or no path */
        }
    }
    return 0;
}
