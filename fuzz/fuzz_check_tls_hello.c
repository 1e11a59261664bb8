/* fuzz_check_tls_hello.c — libFuzzer target for the parser of a server's first answer to qcvn-check's raw
 * TLS 1.2 ClientHello (SC-02, suites GnuTLS cannot offer): TLS records, handshake reassembly up to the
 * ServerHello's compression byte, alerts.
 * Invariants: no crash, no read past the input (exact-size heap copy), result 0, 1 or SAFECAM_ERR_PROTO,
 * fields in range when 0. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    struct check_tls_server_hello sh;
    int rc = check_tls_server_hello_parse(buf, size, &sh);
    if (rc != 0 && rc != 1 && rc != SAFECAM_ERR_PROTO)
        abort();
    if (rc == 0 && (sh.version > 0xffff || sh.suite > 0xffff || sh.compression > 0xff || sh.alert_level < 0 ||
                    sh.alert_level > 255 || sh.alert_desc < 0 || sh.alert_desc > 255))
        abort();
    free(buf);
    return 0;
}
