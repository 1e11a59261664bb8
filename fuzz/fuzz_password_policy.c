/* fuzz_password_policy.c — libFuzzer target for password_policy_check() (lib/vault/password_policy.c),
 * which parses untrusted passwords from the web API, RTSP and the CLI.
 * Input layout: byte 0 chooses min_length; the rest is split at NUL bytes into
 * password, username, serial, mac, model, product (missing fields are NULL).
 * Checks invariants as well as memory safety: return code, reason count, reasons from the documented
 * set, and the reasons that must follow from simple facts about the password. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/password_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known[] = {
    "too_short", "too_long", "invalid_characters", "missing_lowercase", "missing_uppercase",
    "missing_digit", "missing_special", "contains_username", "contains_serial", "contains_mac",
    "contains_model", "contains_product", "dictionary_word",
};

static int has(const char *const *r, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i], code) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    struct password_policy policy = {.min_length = data[0] % 80u}; /* also above the ceiling */
    char *buf = malloc(size); /* data[1..] plus a terminating NUL */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *field[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nf = 0;
    const char *p = buf;
    while (nf < 6 && p < buf + size) {
        field[nf++] = p;
        p += strlen(p) + 1;
    }
    struct password_context ctx = {field[1], field[2], field[3], field[4], field[5]};
    const char *reasons[PASSWORD_REASONS_MAX];
    size_t n = 0;
    const char *pw = field[0];
    int rc = password_policy_check(&policy, &ctx, pw, reasons, &n);

    if (policy.min_length > PASSWORD_MIN_LENGTH_CEIL) {
        if (rc != SAFECAM_ERR_INVAL)
            abort();
    } else if (rc == 0) {
        if (n != 0)
            abort();
    } else if (rc == SAFECAM_ERR_POLICY) {
        if (n == 0 || n > PASSWORD_REASONS_MAX)
            abort();
        for (size_t i = 0; i < n; i++) {
            int ok = 0;
            for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
                if (reasons[i] == known[k] || strcmp(reasons[i], known[k]) == 0)
                    ok = 1;
            if (!ok)
                abort();
        }
    } else if (rc != SAFECAM_ERR_INTERNAL) {
        abort();
    }

    if (rc == 0 || rc == SAFECAM_ERR_POLICY) {
        size_t len = strlen(pw);
        int too_long = len > PASSWORD_MAX_BYTES;
        if (too_long != has(reasons, n, "too_long"))
            abort();
        if (!too_long) {
            int ctrl = 0, lower = 0;
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)pw[i];
                ctrl |= c < 0x20 || c == 0x7f;
                lower |= c >= 'a' && c <= 'z';
            }
            if (ctrl && !has(reasons, n, "invalid_characters"))
                abort();
            if (lower == has(reasons, n, "missing_lowercase"))
                abort();
            if (len < PASSWORD_MIN_LENGTH_FLOOR && !has(reasons, n, "too_short"))
                abort();
        }
    }
    free(buf);
    return 0;
}
