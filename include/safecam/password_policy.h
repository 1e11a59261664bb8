/* password_policy.h — the one password policy for every surface (web, RTSP, provisioning, CLI).
 * QCVN 135 G1 / Decision 724 / EN 303 645 5.1-1, 5.1-2. Implemented in lib/vault/password_policy.c
 * with libpwquality (cracklib dictionary) for the dictionary/common-password check. */
#ifndef SAFECAM_PASSWORD_POLICY_H
#define SAFECAM_PASSWORD_POLICY_H

#include <stddef.h>
#include "safecam/core.h"

#define PASSWORD_MAX_BYTES 128     /* longer input is refused ("too_long") */
#define PASSWORD_MIN_LENGTH_FLOOR 8 /* the administrator may raise min_length, never lower it */
#define PASSWORD_MIN_LENGTH_CEIL 64
#define PASSWORD_REASONS_MAX 16

struct password_policy {
    unsigned min_length; /* characters (Unicode code points), >= PASSWORD_MIN_LENGTH_FLOOR */
};

/* Identity strings the password must not contain (case-insensitive, separators ignored, so
 * "AA:BB:CC", "aa-bb-cc" and "aabbcc" all count). Any field may be NULL. */
struct password_context {
    const char *username;
    const char *serial;
    const char *mac;
    const char *model;
    const char *product;
};

/* Check password against the policy. On refusal returns SAFECAM_ERR_POLICY and fills reasons[] with
 * static lower_snake_case codes (*n_reasons of them, at most PASSWORD_REASONS_MAX), from:
 *   too_short too_long invalid_characters missing_lowercase missing_uppercase missing_digit
 *   missing_special contains_username contains_serial contains_mac contains_model contains_product
 *   dictionary_word
 * Returns 0 when acceptable. SAFECAM_ERR_INVAL for NULL arguments. Never logs the password. */
int password_policy_check(const struct password_policy *policy, const struct password_context *ctx,
                          const char *password, const char *reasons[PASSWORD_REASONS_MAX],
                          size_t *n_reasons) SAFECAM_WUR;

#endif
