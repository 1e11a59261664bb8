/* pwgen.h — the unique initial password printed on each device's label. Implemented in
 * lib/vault/pwgen.c; used by safecam-provision (and factory reset tooling).
 * QCVN 135 G1 / Decision 724 / EN 303 645 5.1-1 (unique per device, not derived from public data). */
#ifndef SAFECAM_PWGEN_H
#define SAFECAM_PWGEN_H

#include <stddef.h>
#include "safecam/core.h"
#include "safecam/password_policy.h"

#define PWGEN_PASSWORD_CHARS 16u                       /* characters (all ASCII: also bytes) */
#define PWGEN_PASSWORD_BUF_BYTES (PWGEN_PASSWORD_CHARS + 1u) /* with the NUL */
#define PWGEN_MAX_ATTEMPTS 1000u                       /* rejection-sampling bound */

/* The alphabets, without look-alikes (no 0 O o 1 l I i | ` ' " and no space). 67 symbols in all,
 * so one password carries 16 * log2(67) ~ 97 bits before the class/policy rejection. */
#define PWGEN_UPPER "ABCDEFGHJKLMNPQRSTUVWXYZ"
#define PWGEN_LOWER "abcdefghjkmnpqrstuvwxyz"
#define PWGEN_DIGIT "23456789"
#define PWGEN_SPECIAL "#%+=?@^*-_!~"

/* Generate an initial password into out (out_size >= PWGEN_PASSWORD_BUF_BYTES): PWGEN_PASSWORD_CHARS
 * characters drawn uniformly and independently from PWGEN_UPPER PWGEN_LOWER PWGEN_DIGIT PWGEN_SPECIAL
 * with libsodium's CSPRNG (randombytes_uniform, no modulo bias). A candidate is kept only when it has
 * at least one upper, lower, digit and special AND passes password_policy_check() with the default
 * policy and ctx (so it never contains the serial, MAC, model, product or user name, and is not a
 * dictionary word); otherwise it is wiped and a fresh one is drawn (rejection sampling: the result
 * is uniform over the acceptable passwords). ctx may be NULL (no identity to avoid).
 * Returns 0; SAFECAM_ERR_INVAL (NULL out or out_size too small), SAFECAM_ERR_INTERNAL (libsodium
 * unusable, policy dictionary missing, or PWGEN_MAX_ATTEMPTS exhausted). On failure out is "" and no
 * candidate is left in memory. The caller wipes out (sodium_memzero) when done. */
int pwgen_initial_password(const struct password_context *ctx, char *out, size_t out_size) SAFECAM_WUR;

#endif
