/* test_pwgen.c — unit tests for initial password generation (lib/vault/pwgen.c): 1 000 passwords,
 * each with all four classes, only the documented alphabet, accepted by the policy for the device,
 * and no duplicates. QCVN 135 G1 / EN 303 645 5.1-1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "safecam/pwgen.h"

/* Each password costs two dictionary checks (pwgen's own and the policy's here), about 5 ms each on this
 * machine (cracklib opens its dictionary for every check): 10 000 took 112 s of a 2-core `make check`, 2 000
 * took 18 s and were the whole unit suite's critical path; 1 000 still give every symbol ~240 draws. */
#define N_PASSWORDS 1000

static const struct password_context device_ctx = {
    .username = "admin",
    .serial = "SC7QX4M9TK2P",
    .mac = "02:1a:2b:3c:4d:5e",
    .model = "SC-100",
    .product = "safecam",
};

static int cmp_pw(const void *a, const void *b)
{
    return memcmp(a, b, PWGEN_PASSWORD_BUF_BYTES);
}

static void test_many(void **state)
{
    (void)state;
    char(*all)[PWGEN_PASSWORD_BUF_BYTES] = calloc(N_PASSWORDS, PWGEN_PASSWORD_BUF_BYTES);
    assert_non_null(all);
    const struct password_policy policy = {.min_length = PWGEN_PASSWORD_CHARS};
    size_t count[256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < N_PASSWORDS; i++) {
        char *pw = all[i];
        assert_int_equal(pwgen_initial_password(&device_ctx, pw, PWGEN_PASSWORD_BUF_BYTES), 0);
        assert_int_equal(strlen(pw), PWGEN_PASSWORD_CHARS);
        int up = 0, lo = 0, di = 0, sp = 0;
        for (const char *p = pw; *p; p++) {
            count[(unsigned char)*p]++;
            if (strchr("0Oo1lIi|`'\" ", *p))
                fail_msg("look-alike character '%c' in a generated password", *p);
            up |= strchr(PWGEN_UPPER, *p) != NULL;
            lo |= strchr(PWGEN_LOWER, *p) != NULL;
            di |= strchr(PWGEN_DIGIT, *p) != NULL;
            sp |= strchr(PWGEN_SPECIAL, *p) != NULL;
            assert_true(strchr(PWGEN_UPPER PWGEN_LOWER PWGEN_DIGIT PWGEN_SPECIAL, *p) != NULL);
        }
        assert_true(up && lo && di && sp);
        const char *reasons[PASSWORD_REASONS_MAX];
        size_t n = 0;
        int rc = password_policy_check(&policy, &device_ctx, pw, reasons, &n);
        if (rc != 0)
            fail_msg("generated password refused by the policy: %s", n ? reasons[0] : "(error)");
    }
    qsort(all, N_PASSWORDS, PWGEN_PASSWORD_BUF_BYTES, cmp_pw);
    for (size_t i = 1; i < N_PASSWORDS; i++)
        assert_true(memcmp(all[i - 1], all[i], PWGEN_PASSWORD_BUF_BYTES) != 0);
    /* Every symbol of the alphabet shows up about evenly: 16 000 draws over 67 symbols, ~239 each (standard
     * deviation ~15), so fewer than 150 (6 standard deviations) means a skewed draw, not bad luck. */
    const char *alphabet = PWGEN_UPPER PWGEN_LOWER PWGEN_DIGIT PWGEN_SPECIAL;
    for (const char *p = alphabet; *p; p++)
        if (count[(unsigned char)*p] < 150)
            fail_msg("symbol '%c' drawn only %zu times", *p, count[(unsigned char)*p]);
    sodium_memzero(all, (size_t)N_PASSWORDS * PWGEN_PASSWORD_BUF_BYTES);
    free(all);
}

static void test_arguments(void **state)
{
    (void)state;
    char small[PWGEN_PASSWORD_BUF_BYTES - 1];
    memset(small, 'x', sizeof small);
    assert_int_equal(pwgen_initial_password(&device_ctx, small, sizeof small), SAFECAM_ERR_INVAL);
    assert_int_equal(small[0], '\0');
    assert_int_equal(pwgen_initial_password(&device_ctx, NULL, 64), SAFECAM_ERR_INVAL);
    char ok[PWGEN_PASSWORD_BUF_BYTES];
    assert_int_equal(pwgen_initial_password(NULL, ok, sizeof ok), 0);
    assert_int_equal(strlen(ok), PWGEN_PASSWORD_CHARS);
}

static void test_missing_dictionary_fails(void **state)
{
    (void)state;
    char pw[PWGEN_PASSWORD_BUF_BYTES];
    assert_int_equal(setenv("SAFECAM_CRACKLIB_DICT", "/nonexistent/dict", 1), 0);
    assert_int_equal(pwgen_initial_password(&device_ctx, pw, sizeof pw), SAFECAM_ERR_INTERNAL);
    assert_int_equal(pw[0], '\0');
    assert_int_equal(unsetenv("SAFECAM_CRACKLIB_DICT"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_missing_dictionary_fails),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
