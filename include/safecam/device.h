/* device.h — the device's public identity (factory/device.json). device_identity_load() is lib/device (a leaf
 * the web process links without the vault); device_tls_identity_create() is lib/vault/factory.c.
 * Public data: served by GET /api/v1/device to authenticated users; never secret. */
#ifndef SAFECAM_DEVICE_H
#define SAFECAM_DEVICE_H

#include <stdint.h>

#include "safecam/core.h"
#include "safecam/seal.h"

struct device_identity {
    char serial[64];
    char model[64];
    char mac[18];       /* "aa:bb:cc:dd:ee:ff" */
    char product[32];
    long long provisioned_at; /* Unix seconds */
};

/* Load DIR/factory/device.json. SAFECAM_ERR_NOTFOUND when the dir is not provisioned,
 * SAFECAM_ERR_INVAL when the file is malformed. */
int device_identity_load(const char *state_dir, struct device_identity *out) SAFECAM_WUR;

/* Make the device's TLS identity (lib/vault/factory.c): an ECDSA P-256 key and a self-signed X.509 v3
 * certificate (CN = serial, O = product, SANs DNS localhost, IP 127.0.0.1, IP ::1 and DNS hostname when
 * given and not "localhost"; 10 years; random positive 16-byte serial; KU digitalSignature, EKU
 * serverAuth), written as DIR/factory/tls.crt and DIR/factory/tls.key.sealed (PKCS#8 PEM sealed under
 * storage_key, label "tls.key"; the clear key is wiped from memory before any write). Both files
 * mode 0600, atomic. Used by safecam-provision and by the factory reset. hostname may be NULL.
 * Errors: SAFECAM_ERR_INVAL, SAFECAM_ERR_INTERNAL (GnuTLS), SAFECAM_ERR_IO. QCVN 135 G4 / EN 303 645 5.4-4. */
int device_tls_identity_create(const char *state_dir, const char *serial, const char *hostname,
                               const uint8_t storage_key[SEAL_KEY_BYTES]) SAFECAM_WUR;

#endif
