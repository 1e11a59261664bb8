/* fuzz_onvif_probe.c — libFuzzer target for lib/onvif's WS-Discovery Probe parser (onvif_probe_parse), the same
 * hardened libxml2 parse as the SOAP services. Input is an untrusted UDP datagram. Invariants: no crash or leak;
 * a refused parse leaves *out zeroed; a MessageID is printable ASCII; matches implies is_probe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/onvif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct onvif_probe p;
    int rc = onvif_probe_parse((const char *)data, size, &p);
    if (rc != 0 && (p.is_probe || p.matches || p.message_id[0]))
        abort();
    if (p.matches && !p.is_probe)
        abort();
    for (const char *c = p.message_id; *c; c++)
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
            abort();
    return 0;
}
