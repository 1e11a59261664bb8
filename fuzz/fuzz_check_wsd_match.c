/* fuzz_check_wsd_match.c — libFuzzer target for qcvn-check's WS-Discovery answer scanner (SC-01's udp/3702
 * probe, judged by SC-04): check_wsd_match_parse and check_wsd_xaddrs_cleartext; and the SSDP answer's SERVER reader
 * (udp/1900, IF-02), check_ssdp_server_parse.
 * Invariants: no crash, no read past the input (exact-size heap copy), every output NUL-terminated inside
 * its field, a refused datagram leaves every field empty, an http:// answer's copy starts with http://. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safecam/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    struct check_wsd_match m;
    memset(&m, 'x', sizeof m);
    int rc = check_wsd_match_parse(buf, size, &m);
    if (strnlen(m.xaddrs, sizeof m.xaddrs) >= sizeof m.xaddrs || strnlen(m.types, sizeof m.types) >= sizeof m.types ||
        strnlen(m.scopes, sizeof m.scopes) >= sizeof m.scopes || strnlen(m.address, sizeof m.address) >= sizeof m.address)
        abort();
    if (rc != 0 && (m.xaddrs[0] || m.types[0] || m.scopes[0] || m.address[0]))
        abort();
    char first[64];
    memset(first, 'x', sizeof first);
    if (check_wsd_xaddrs_cleartext(m.xaddrs, first, sizeof first)) {
        if (strnlen(first, sizeof first) >= sizeof first || strncasecmp(first, "http://", 7) != 0)
            abort();
    } else if (first[0] != '\0') {
        abort();
    }
    char server[48];
    memset(server, 'x', sizeof server);
    if (check_ssdp_server_parse(buf, size, server, sizeof server) == 0 && strnlen(server, sizeof server) >= sizeof server)
        abort();
    free(buf);
    return 0;
}
