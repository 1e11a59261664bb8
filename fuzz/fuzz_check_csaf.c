/* fuzz_check_csaf.c — libFuzzer target for the CSAF 2.0 parsers VM-03 runs on device answers
 * (provider metadata, advisory, ROLIE feed, index.txt; lib/check/csaf.c).
 * Invariants: no crash or leak; an error names a field (non-empty, printable); on success every copied
 * string is NUL-terminated within its field and printable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable_or_abort(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char field[64];
    struct check_csaf_provider pm;
    int rc = check_csaf_provider_parse(buf, size, &pm, field, sizeof field);
    if (rc != 0 && field[0] == '\0')
        abort();
    if (rc == 0) {
        printable_or_abort(pm.canonical_url, sizeof pm.canonical_url);
        printable_or_abort(pm.publisher_name, sizeof pm.publisher_name);
        printable_or_abort(pm.directory_url, sizeof pm.directory_url);
        printable_or_abort(pm.rolie_feed_url, sizeof pm.rolie_feed_url);
        if (strncmp(pm.canonical_url, "https://", 8) != 0)
            abort();
    }
    struct check_csaf_advisory a;
    rc = check_csaf_advisory_parse(buf, size, &a, field, sizeof field);
    if (rc != 0 && field[0] == '\0')
        abort();
    if (rc == 0) {
        printable_or_abort(a.id, sizeof a.id);
        printable_or_abort(a.status, sizeof a.status);
        if (a.id[0] == '\0')
            abort();
    }
    char out[256];
    size_t n = 0;
    if (check_csaf_rolie_first(buf, size, out, sizeof out, &n) == 0)
        printable_or_abort(out, sizeof out);
    if (check_csaf_index_first(buf, size, out, sizeof out, &n) == 0) {
        printable_or_abort(out, sizeof out);
        if (strstr(out, "..") != NULL || out[0] == '/' || strstr(out, "://") != NULL)
            abort();
    }
    return 0;
}
