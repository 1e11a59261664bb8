/* vault.h — credentials, lockout, sessions, users/roles and security settings: the vault's state.
 * Runs only in the vault process (no network) and in safecam-provision. QCVN 135 G1, G4, brute force
 * and sessions; EN 303 645 5.1-1..5.1-5, 5.4-1. Implemented in lib/vault/.
 * The functions below are the ones other modules depend on; the vault engineer extends this header. */
#ifndef SAFECAM_VAULT_H
#define SAFECAM_VAULT_H

#include <stddef.h>
#include "safecam/core.h"

#define VAULT_HASH_BYTES 128 /* crypto_pwhash_STRBYTES: an encoded Argon2id string, NUL-terminated */

/* Hash password with Argon2id (libsodium crypto_pwhash_str, the project's chosen parameters, see
 * docs) into out (VAULT_HASH_BYTES). */
int vault_password_hash(const char *password, char out[VAULT_HASH_BYTES]) SAFECAM_WUR;

/* Create DIR/vault.db (mode 0600) with one admin user `username` whose password hash is `hash`
 * (from vault_password_hash), flagged password_change_required. SAFECAM_ERR_EXISTS if the db has users
 * already and force == 0; with force != 0 the db is recreated (factory reset). */
int vault_store_provision(const char *state_dir, const char *username, const char *hash, int force) SAFECAM_WUR;

#endif
