/* update_internal.h — helpers shared by the files of lib/update only (not a public interface).
 * Trust level: as update.h. */
#ifndef SAFECAM_UPDATE_INTERNAL_H
#define SAFECAM_UPDATE_INTERNAL_H

#include <stddef.h>

#include "safecam/update.h"

/* Public key for key_id (hex) when trusted and not revoked, else NULL. */
const unsigned char *update_trust_lookup(const update_trust *t, const char *key_id_hex);
/* Lower-case hex of exactly out_len bytes. */
int update_hex_decode(const char *hex, unsigned char *out, size_t out_len) SAFECAM_WUR;
int update_key_id_valid(const char *s);
/* write() everything; SAFECAM_ERR_TOOBIG on ENOSPC/EDQUOT, SAFECAM_ERR_IO otherwise. */
int update_write_all(int fd, const void *data, size_t len) SAFECAM_WUR;
/* Read the state file without creating it: SAFECAM_ERR_NOTFOUND when absent. */
int update_state_read(const char *state_dir, struct update_status *out) SAFECAM_WUR;

/* "model" from DIR/factory/device.json: SAFECAM_ERR_NOTFOUND when absent or invalid. */
int update_device_model(const char *state_dir, char *out, size_t out_size) SAFECAM_WUR;

#endif
