/* update_internal.h — helpers shared by the files of lib/update only (not a public interface).
 * Trust level: as update.h. */
#ifndef SAFECAM_UPDATE_INTERNAL_H
#define SAFECAM_UPDATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- slot_state.c: the state shared by slot_boot.c and slot_install.c ---- */

/* 0 for slot 'A', 1 for 'B', -1 otherwise. */
int update_slot_index(char s);
/* The other slot of s ('A' <-> 'B'). */
char update_slot_other(char s);
/* Log an update event and hand it to ev (may be NULL). */
void update_event_emit(update_event_fn ev, void *ctx, const char *type, const char *detail);
/* Write the state pointer atomically (fsync'd). Errors: SAFECAM_ERR_IO, _TOOBIG (disk full). */
int update_state_write(const char *state_dir, const struct update_status *st) SAFECAM_WUR;
/* Read the state pointer, or the default (factory slot A) when it does not exist yet. */
int update_state_load(const char *state_dir, struct update_status *st) SAFECAM_WUR;
/* Take the update lock (flock on DIR/slots/.lock); blocking or SAFECAM_ERR_STATE when held.
 * *fd_out is released with update_lock_close. */
int update_lock_open(const char *state_dir, int blocking, int *fd_out) SAFECAM_WUR;
void update_lock_close(int fd);
/* fsync a directory. */
int update_fsync_path(const char *path) SAFECAM_WUR;
/* A slot's tree matches its manifest (deep: every payload's SHA-256 too). */
int update_slot_check(const char *state_dir, char slot, int deep) SAFECAM_WUR;
/* The last install result (DIR/slots/last.json), written atomically: state, reason, version, slot and
 * byte counts. */
int update_last_write_raw(const char *state_dir, const char *state, const char *reason, const char *version,
                          char slot, uint64_t received, uint64_t total) SAFECAM_WUR;
int update_last_write(const char *state_dir, const char *state, enum update_reason reason,
                      const struct update_manifest *m, char slot, uint64_t received, uint64_t total) SAFECAM_WUR;

#endif
