/* test_password_policy.c — unit tests for the password policy (lib/vault/password_policy.c) against
 * the real libpwquality + cracklib dictionary. QCVN 135 G1 / EN 303 645 5.1-1, 5.1-2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "safecam/password_policy.h"

static const struct password_policy policy8 = {.min_length = 8};
static const struct password_context device_ctx = {
    .username = "admin",
    .serial = "SC7QX4M9TK2P",
    .mac = "02:1a:2b:3c:4d:5e",
    .model = "SC-100",
    .product = "safecam",
};

struct verdict {
    int rc;
    size_t n;
    const char *reasons[PASSWORD_REASONS_MAX];
};

static struct verdict check_with(const struct password_policy *p, const struct password_context *ctx,
                                 const char *pw)
{
    struct verdict v;
    memset(&v, 0, sizeof v);
    v.n = 99;
    v.rc = password_policy_check(p, ctx, pw, v.reasons, &v.n);
    return v;
}

static struct verdict check(const char *pw)
{
    return check_with(&policy8, &device_ctx, pw);
}

static int has_reason(const struct verdict *v, const char *code)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->reasons[i], code) == 0)
            return 1;
    return 0;
}

/* Exactly these reasons, in any order. */
static void assert_reasons(const char *pw, const char *const *codes, size_t n_codes)
{
    struct verdict v = check(pw);
    if (n_codes == 0) {
        assert_int_equal(v.rc, 0);
        assert_int_equal(v.n, 0);
        return;
    }
    assert_int_equal(v.rc, SAFECAM_ERR_POLICY);
    for (size_t i = 0; i < n_codes; i++)
        if (!has_reason(&v, codes[i]))
            fail_msg("password %s: expected reason %s", pw, codes[i]);
    assert_int_equal(v.n, n_codes);
}
#define ASSERT_REASONS(pw, ...)                                                                     \
    do {                                                                                            \
        static const char *const codes_[] = {__VA_ARGS__};                                          \
        assert_reasons(pw, codes_, SAFECAM_ARRAY_LEN(codes_));                                      \
    } while (0)

static void test_accepts_strong(void **state)
{
    (void)state;
    assert_reasons("Xk#9mQ2vLp", NULL, 0);
    assert_reasons("Wq3#Bzx9ka", NULL, 0);
    assert_reasons("Correct-Horse-Battery-9", NULL, 0);
    assert_reasons("Zx#8Kp2Lq", NULL, 0);
    /* Non-ASCII code points count as special. */
    assert_reasons("Xk9mQ2vLp\xc3\xa9", NULL, 0);
}

static void test_null_arguments(void **state)
{
    (void)state;
    const char *r[PASSWORD_REASONS_MAX];
    size_t n = 0;
    assert_int_equal(password_policy_check(NULL, &device_ctx, "Xk#9mQ2vLp", r, &n), SAFECAM_ERR_INVAL);
    assert_int_equal(password_policy_check(&policy8, &device_ctx, NULL, r, &n), SAFECAM_ERR_INVAL);
    assert_int_equal(password_policy_check(&policy8, &device_ctx, "Xk#9mQ2vLp", NULL, &n),
                     SAFECAM_ERR_INVAL);
    assert_int_equal(password_policy_check(&policy8, &device_ctx, "Xk#9mQ2vLp", r, NULL),
                     SAFECAM_ERR_INVAL);
    /* A NULL context is allowed: nothing identity-related to compare. */
    assert_int_equal(password_policy_check(&policy8, NULL, "Xk#9mQ2vLp", r, &n), 0);
}

static void test_length(void **state)
{
    (void)state;
    ASSERT_REASONS("Xk#9mQ2", "too_short");   /* 7 */
    assert_reasons("Xk#9mQ2v", NULL, 0);     /* 8 */
    /* Code points, not bytes: 7 code points in 10 bytes is too short. */
    ASSERT_REASONS("Xk#9\xc3\xa9\xc3\xa9\xc3\xa9", "too_short");

    char longpw[PASSWORD_MAX_BYTES + 2];
    memset(longpw, 'x', sizeof longpw);
    memcpy(longpw, "Xk#9", 4);
    longpw[PASSWORD_MAX_BYTES] = '\0'; /* exactly 128 bytes: fine */
    assert_reasons(longpw, NULL, 0);
    longpw[PASSWORD_MAX_BYTES] = 'x';
    longpw[PASSWORD_MAX_BYTES + 1] = '\0'; /* 129 bytes */
    ASSERT_REASONS(longpw, "too_long");
}

static void test_min_length_bounds(void **state)
{
    (void)state;
    struct password_policy p20 = {.min_length = 20};
    struct verdict v = check_with(&p20, &device_ctx, "Xk#9mQ2vLp");
    assert_int_equal(v.rc, SAFECAM_ERR_POLICY);
    assert_true(has_reason(&v, "too_short"));
    /* The floor cannot be lowered: min_length 4 still means 8. */
    struct password_policy p4 = {.min_length = 4};
    v = check_with(&p4, &device_ctx, "Xk#9mQ2");
    assert_true(has_reason(&v, "too_short"));
    struct password_policy p65 = {.min_length = PASSWORD_MIN_LENGTH_CEIL + 1};
    v = check_with(&p65, &device_ctx, "Xk#9mQ2vLp");
    assert_int_equal(v.rc, SAFECAM_ERR_INVAL);
}

static void test_invalid_characters(void **state)
{
    (void)state;
    ASSERT_REASONS("Xk#9mQ2vLp\xff", "invalid_characters");    /* not UTF-8 */
    ASSERT_REASONS("Xk#9mQ2vLp\xc0\xaf", "invalid_characters"); /* overlong '/' */
    ASSERT_REASONS("Xk#9mQ2vLp\xed\xa0\x80", "invalid_characters"); /* surrogate */
    ASSERT_REASONS("Xk#9mQ2\nvLp", "invalid_characters");
    ASSERT_REASONS("Xk#9mQ2\tvLp", "invalid_characters");
    ASSERT_REASONS("Xk#9mQ2\x7fvLp", "invalid_characters");
    ASSERT_REASONS("Xk#9mQ2\xc2\x85vLp", "invalid_characters"); /* C1 NEL */
}

static void test_classes(void **state)
{
    (void)state;
    ASSERT_REASONS("XK#9MQ2VLP", "missing_lowercase");
    ASSERT_REASONS("xk#9mq2vlp", "missing_uppercase");
    ASSERT_REASONS("Xk#bmQzvLp", "missing_digit");
    ASSERT_REASONS("Xk99mQ2vLp", "missing_special");
    ASSERT_REASONS("mvqtrwpzjk", "missing_uppercase", "missing_digit", "missing_special");
    /* cracklib's "too simplistic/systematic" verdict on the password itself also counts. */
    ASSERT_REASONS("zqxwvjkfhg", "missing_uppercase", "missing_digit", "missing_special",
                   "dictionary_word");
}

static void test_identity(void **state)
{
    (void)state;
    ASSERT_REASONS("Qz#9AdMiNx7", "contains_username");
    ASSERT_REASONS("Wv#7SC7QX4M9TK2P", "contains_serial");
    ASSERT_REASONS("Wv#7sc-7qx4-m9tk-2p", "contains_serial");
    ASSERT_REASONS("Wv#7sc:7qx4m9tk2p", "contains_serial");
    ASSERT_REASONS("Qz#9xsc100Wv", "contains_model");
    ASSERT_REASONS("Qz#9xSC-100Wv", "contains_model");
    ASSERT_REASONS("Qz#9xSafe_Cam7", "contains_product");
}

static void test_mac_every_notation(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "Qz#x021a2b3c4d5e",        /* bare, lower */
        "Qz#x021A2B3C4D5E",        /* bare, upper */
        "Qz#x02:1a:2b:3c:4d:5e",   /* colons */
        "Qz#x02:1A:2B:3C:4D:5E",
        "Qz#x02-1a-2b-3c-4d-5e",   /* dashes (Windows) */
        "Qz#x021a.2b3c.4d5e",      /* dots (Cisco) */
        "Qz#x021A.2B3C.4D5E",
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(forms); i++) {
        struct verdict v = check(forms[i]);
        assert_int_equal(v.rc, SAFECAM_ERR_POLICY);
        if (!has_reason(&v, "contains_mac"))
            fail_msg("MAC form %s not caught", forms[i]);
    }
    /* The context MAC may itself be in any notation. */
    struct password_context dashed = device_ctx;
    dashed.mac = "02-1A-2B-3C-4D-5E";
    struct verdict v = check_with(&policy8, &dashed, "Qz#x02:1a:2b:3c:4d:5e");
    assert_true(has_reason(&v, "contains_mac"));
    /* Half a MAC is not the MAC. */
    v = check("Qz#x2b3c4d5eWv");
    assert_false(has_reason(&v, "contains_mac"));
}

static void test_short_identity_ignored(void **state)
{
    (void)state;
    struct password_context ctx = {.username = "al", .model = "X1"};
    struct verdict v = check_with(&policy8, &ctx, "Xk#9mQ2vLpal");
    assert_int_equal(v.rc, 0);
}

static void test_dictionary(void **state)
{
    (void)state;
    /* What libpwquality + cracklib (with our de-leet and letters-only forms) actually flags. */
    static const char *const weak[] = {
        "Password1!", "P@ssw0rd!", "P@ssw0rd1", "Qwerty123!", "Letmein1!", "Welcome1!", "Iloveyou1!",
        "Dragon#12", "Monkey#123", "Summer2024!", "Sunsh1ne#7", "Tr0ub4dor&3x", "Abcd1234!",
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(weak); i++) {
        struct verdict v = check(weak[i]);
        if (v.rc != SAFECAM_ERR_POLICY || !has_reason(&v, "dictionary_word"))
            fail_msg("%s not flagged as dictionary_word", weak[i]);
    }
    ASSERT_REASONS("password", "missing_uppercase", "missing_digit", "missing_special", "dictionary_word");
}

static void test_every_reason_at_once(void **state)
{
    (void)state;
    /* Too short, not UTF-8, no upper/digit/special... and contains the user name. */
    struct password_context ctx = {.username = "bob"};
    struct verdict v = check_with(&policy8, &ctx, "bob\xff");
    assert_int_equal(v.rc, SAFECAM_ERR_POLICY);
    assert_true(has_reason(&v, "too_short"));
    assert_true(has_reason(&v, "invalid_characters"));
    assert_true(has_reason(&v, "missing_uppercase"));
    assert_true(has_reason(&v, "missing_digit"));
    assert_true(has_reason(&v, "contains_username"));
    assert_false(has_reason(&v, "missing_lowercase"));
}

static void test_missing_dictionary_fails_closed(void **state)
{
    (void)state;
    assert_int_equal(setenv("SAFECAM_CRACKLIB_DICT", "/nonexistent/cracklib_dict", 1), 0);
    struct verdict v = check("Xk#9mQ2vLp");
    assert_int_equal(v.rc, SAFECAM_ERR_INTERNAL);
    assert_int_equal(v.n, 0);
    assert_int_equal(unsetenv("SAFECAM_CRACKLIB_DICT"), 0);
    v = check("Xk#9mQ2vLp");
    assert_int_equal(v.rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_strong),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_min_length_bounds),
        cmocka_unit_test(test_invalid_characters),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_mac_every_notation),
        cmocka_unit_test(test_short_identity_ignored),
        cmocka_unit_test(test_dictionary),
        cmocka_unit_test(test_every_reason_at_once),
        cmocka_unit_test(test_missing_dictionary_fails_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
