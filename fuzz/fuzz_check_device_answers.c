/* fuzz_check_device_answers.c — libFuzzer target for the parsers of device answers qcvn-check added for
 * SC-01/SC-04/SC-05/IF-02: the MQTT CONNACK parser, the FTP reply parser, the SNMP GetResponse string parser and the page-body
 * version finder.
 * Invariants: no crash, no read past the input (exact-size heap copies), outputs in range and
 * NUL-terminated. */
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
    int code = -2;
    if (check_mqtt_connack_parse(buf, size, &code) == 0 && (code < 0 || code > 255))
        abort();
    int fc = 0;
    if (check_ftp_reply_parse((const char *)buf, size, &fc) == 0 && (fc < 100 || fc > 599))
        abort();
    char ex[64];
    memset(ex, 'x', sizeof ex);
    int found = check_body_version_find((const char *)buf, size, ex, sizeof ex);
    if (strnlen(ex, sizeof ex) >= sizeof ex || (found != 0 && found != 1))
        abort();
    char descr[96];
    memset(descr, 'x', sizeof descr);
    if (check_snmp_first_string_parse(buf, size, descr, sizeof descr) == 0 && strnlen(descr, sizeof descr) >= sizeof descr)
        abort();
    free(buf);
    return 0;
}
