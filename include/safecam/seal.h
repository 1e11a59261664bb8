/* seal.h — secrets at rest sealed under the device storage key (XChaCha20-Poly1305, libsodium).
 * QCVN 135 G4, G10 / EN 303 645 5.4-1. Implemented in lib/vault/seal.c.
 * Sealed format: "SCS1" (4 bytes) | nonce (24) | ciphertext+tag (len + 16). The 4-byte header is
 * authenticated as associated data together with the caller's `label` (domain separation, e.g.
 * "tls.key"), so a sealed blob cannot be swapped for another purpose. */
#ifndef SAFECAM_SEAL_H
#define SAFECAM_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include "safecam/core.h"

#define SEAL_KEY_BYTES 32u
#define SEAL_OVERHEAD_BYTES (4u + 24u + 16u)
#define SEAL_PLAINTEXT_MAX_BYTES (16u * 1024u * 1024u)

/* Seal pt (len bytes). *out is malloc'd (caller frees), *out_len = len + SEAL_OVERHEAD_BYTES. */
int seal_data_seal(const uint8_t key[SEAL_KEY_BYTES], const char *label, const uint8_t *pt, size_t len,
                   uint8_t **out, size_t *out_len) SAFECAM_WUR;
/* Open a sealed blob. *out is sodium_malloc'd and NUL-terminated (caller frees with sodium_free);
 * SAFECAM_ERR_CRYPTO on any tampering, wrong key or wrong label (nothing is output then). */
int seal_data_open(const uint8_t key[SEAL_KEY_BYTES], const char *label, const uint8_t *in, size_t in_len,
                   uint8_t **out, size_t *out_len) SAFECAM_WUR;
/* Load DIR/factory/storage.key into key (sodium_mlock'd by the caller if wanted). Refuses a key file
 * that is not a regular 32-byte file of mode 0600 owned by us. */
int seal_storage_key_load(const char *state_dir, uint8_t key[SEAL_KEY_BYTES]) SAFECAM_WUR;

#endif
