/* pwgen.c — unique initial passwords for the device label, from libsodium's CSPRNG.
 * Runs in safecam-provision (factory) only; the output is a secret: never logged, wiped by callers.
 * QCVN 135 G1 / EN 303 645 5.1-1. See include/safecam/pwgen.h for the guarantees. */
#include "safecam/pwgen.h"

#include <sodium.h>
#include <string.h>

static const char pwgen_alphabet[] = PWGEN_UPPER PWGEN_LOWER PWGEN_DIGIT PWGEN_SPECIAL;

static int has_any(const char *s, const char *set)
{
    for (; *s; s++)
        if (strchr(set, *s))
            return 1;
    return 0;
}

int pwgen_initial_password(const struct password_context *ctx, char *out, size_t out_size)
{
    if (!out || out_size == 0)
        return SAFECAM_ERR_INVAL;
    out[0] = '\0';
    if (out_size < PWGEN_PASSWORD_BUF_BYTES)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;

    const uint32_t alpha_len = (uint32_t)(sizeof pwgen_alphabet - 1);
    const struct password_policy policy = {.min_length = PASSWORD_MIN_LENGTH_FLOOR};
    char cand[PWGEN_PASSWORD_BUF_BYTES];
    int rc = SAFECAM_ERR_INTERNAL;
    for (unsigned attempt = 0; attempt < PWGEN_MAX_ATTEMPTS; attempt++) {
        for (size_t i = 0; i < PWGEN_PASSWORD_CHARS; i++)
            cand[i] = pwgen_alphabet[randombytes_uniform(alpha_len)];
        cand[PWGEN_PASSWORD_CHARS] = '\0';
        if (!has_any(cand, PWGEN_UPPER) || !has_any(cand, PWGEN_LOWER) || !has_any(cand, PWGEN_DIGIT) ||
            !has_any(cand, PWGEN_SPECIAL))
            continue;
        const char *reasons[PASSWORD_REASONS_MAX];
        size_t n_reasons = 0;
        int prc = password_policy_check(&policy, ctx, cand, reasons, &n_reasons);
        if (prc == SAFECAM_ERR_POLICY)
            continue;
        if (prc != 0) {
            rc = prc == SAFECAM_ERR_INVAL ? SAFECAM_ERR_INVAL : SAFECAM_ERR_INTERNAL;
            goto out;
        }
        memcpy(out, cand, PWGEN_PASSWORD_BUF_BYTES);
        rc = 0;
        goto out;
    }
    log_err("pwgen: no acceptable password after %u attempts", PWGEN_MAX_ATTEMPTS);
out:
    sodium_memzero(cand, sizeof cand);
    if (rc != 0)
        sodium_memzero(out, out_size);
    return rc;
}
