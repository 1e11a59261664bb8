/* device.h — the device's public identity (factory/device.json). Implemented in lib/vault/device.c.
 * Public data: served by GET /api/v1/device to authenticated users; never secret. */
#ifndef SAFECAM_DEVICE_H
#define SAFECAM_DEVICE_H

#include "safecam/core.h"

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

#endif
