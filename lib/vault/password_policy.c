/* password_policy.c — the one password policy for every surface (web, RTSP, provisioning, CLI).
 * Runs in the vault and in safecam-provision; the password is untrusted input and is never logged.
 * QCVN 135 G1 / Decision 724 / EN 303 645 5.1-1, 5.1-2.
 *
 * Rules, each reported separately (every reason that applies is returned):
 *   - length: >= min_length Unicode code points (min_length never below PASSWORD_MIN_LENGTH_FLOOR),
 *     <= PASSWORD_MAX_BYTES bytes (a longer input is only reported "too_long" and not scanned further);
 *   - valid UTF-8 without NUL, C0/C1 control characters or DEL ("invalid_characters");
 *   - four classes: ASCII lower, ASCII upper, ASCII digit, special (ASCII punctuation, space, or any
 *     non-ASCII code point);
 *   - must not contain the user name, serial, MAC, model or product name. Comparison is ASCII
 *     case-insensitive with the separators ':' '-' '.' '_' and space removed from both sides, so
 *     "AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "aabb.ccdd.eeff" and "aabbccddeeff" all match one MAC.
 *     Identity strings shorter than IDENTITY_MIN_CHARS after normalisation are ignored (a one- or
 *     two-letter model would otherwise forbid half the alphabet);
 *   - not a dictionary or common password: libpwquality's pwquality_check() with its cracklib
 *     dictionary (Debian: cracklib-runtime, /var/cache/cracklib/cracklib_dict.*). Only its dictionary,
 *     palindrome and bad-word refusals count; our own rules above replace its length/class rules.
 *     Derived forms are asked about too (de-leeted, letters only), see dictionary_check().
 *     A missing dictionary fails closed: SAFECAM_ERR_INTERNAL and one clear operational log line.
 *     The dictionary path may be overridden with env SAFECAM_CRACKLIB_DICT (tests, other distros). */
#include "safecam/password_policy.h"

#include <pthread.h>
#include <pwquality.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRACKLIB_DICT_DEFAULT "/var/cache/cracklib/cracklib_dict"
#define IDENTITY_MIN_CHARS 3
#define IDENTITY_MAX_BYTES 256

/* cracklib keeps static state in FascistCheck(); one checker at a time. */
static pthread_mutex_t dict_lock = PTHREAD_MUTEX_INITIALIZER;

static void reason_add(const char *reasons[PASSWORD_REASONS_MAX], size_t *n, const char *code)
{
    if (*n < PASSWORD_REASONS_MAX)
        reasons[(*n)++] = code;
}

static int is_separator(unsigned char c)
{
    return c == ':' || c == '-' || c == '.' || c == '_' || c == ' ';
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Lower-case ASCII and drop separators: src (len bytes) -> dst (dst_size, NUL-terminated).
 * Returns the normalised length, or (size_t)-1 when it does not fit. */
static size_t normalise(const char *src, size_t len, char *dst, size_t dst_size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (is_separator(c))
            continue;
        if (o + 1 >= dst_size)
            return (size_t)-1;
        dst[o++] = (char)ascii_lower(c);
    }
    dst[o] = '\0';
    return o;
}

/* 1 if the normalised identity string ident occurs in the normalised password pw. */
static int contains_identity(const char *pw_norm, const char *ident)
{
    if (!ident)
        return 0;
    char id_norm[IDENTITY_MAX_BYTES + 1];
    size_t ilen = strnlen(ident, IDENTITY_MAX_BYTES + 1);
    if (ilen > IDENTITY_MAX_BYTES)
        return 0; /* not a real identity string: no password of <= 128 bytes can contain it */
    size_t n = normalise(ident, ilen, id_norm, sizeof id_norm);
    if (n == (size_t)-1 || n < IDENTITY_MIN_CHARS)
        return 0;
    int found = strstr(pw_norm, id_norm) != NULL;
    sodium_memzero(id_norm, sizeof id_norm);
    return found;
}

/* Decode one UTF-8 code point at s[i] (validity already checked by the caller when valid != 0). */
static size_t utf8_decode(const unsigned char *s, size_t len, size_t i, unsigned *cp_out)
{
    unsigned c = s[i];
    size_t n = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    unsigned cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k <= n && i + k < len; k++)
        cp = (cp << 6) | (s[i + k] & 0x3F);
    *cp_out = cp;
    return n + 1;
}

/* Settings that leave pwquality only its word checks: our rules handle length, classes and identity.
 * The system pwquality.conf is deliberately not read: the camera's policy is this file. */
static pwquality_settings_t *pwq_settings_new(const char *dict)
{
    pwquality_settings_t *pwq = pwquality_default_settings();
    if (!pwq)
        return NULL;
    static const int zero_settings[] = {
        PWQ_SETTING_DIG_CREDIT, PWQ_SETTING_UP_CREDIT, PWQ_SETTING_LOW_CREDIT, PWQ_SETTING_OTH_CREDIT,
        PWQ_SETTING_MIN_CLASS, PWQ_SETTING_MAX_REPEAT, PWQ_SETTING_MAX_CLASS_REPEAT,
        PWQ_SETTING_MAX_SEQUENCE, PWQ_SETTING_GECOS_CHECK, PWQ_SETTING_USER_CHECK,
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(zero_settings); i++)
        if (pwquality_set_int_value(pwq, zero_settings[i], 0) != 0)
            goto fail;
    if (pwquality_set_int_value(pwq, PWQ_SETTING_MIN_LENGTH, 6) != 0 ||
        pwquality_set_int_value(pwq, PWQ_SETTING_DICT_CHECK, 1) != 0 ||
        pwquality_set_str_value(pwq, PWQ_SETTING_DICT_PATH, dict) != 0)
        goto fail;
    return pwq;
fail:
    pwquality_free_settings(pwq);
    return NULL;
}

/* One pwquality verdict: 1 refused as a word, 0 not, negative on a library failure.
 * strict == 0 (for derived variants): only cracklib's "dictionary word" verdicts count, not its
 * "too short" / "not enough different characters" remarks about the shortened variant. */
static int pwq_word_check(pwquality_settings_t *pwq, const char *candidate, int strict)
{
    void *aux = NULL;
    int r = pwquality_check(pwq, candidate, NULL, NULL, &aux);
    if (r >= 0 || r == PWQ_ERROR_MIN_LENGTH || r == PWQ_ERROR_EMPTY_PASSWORD)
        return 0; /* length is our own rule (too_short) */
    if (r == PWQ_ERROR_CRACKLIB_CHECK)
        return strict || (aux && strstr((const char *)aux, "dictionary") != NULL);
    if (r == PWQ_ERROR_PALINDROME || r == PWQ_ERROR_BAD_WORDS)
        return strict;
    log_err("password policy: pwquality_check failed unexpectedly (%d)", r);
    return SAFECAM_ERR_INTERNAL;
}

/* Undo common letter substitutions (leetspeak); one_as is the letter '1' stands for. */
static void deleet(const char *src, size_t len, char *dst, char one_as)
{
    for (size_t i = 0; i < len; i++) {
        char c = (char)ascii_lower((unsigned char)src[i]);
        switch (c) {
        case '@': case '4': c = 'a'; break;
        case '$': case '5': c = 's'; break;
        case '0': c = 'o'; break;
        case '3': c = 'e'; break;
        case '7': c = 't'; break;
        case '1': c = one_as; break;
        default: break;
        }
        dst[i] = c;
    }
    dst[len] = '\0';
}

static size_t letters_only(const char *src, char *dst)
{
    size_t o = 0;
    for (; *src; src++) {
        unsigned char c = ascii_lower((unsigned char)*src);
        if (c >= 'a' && c <= 'z')
            dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return o;
}

/* Dictionary stage. Returns 1 (word found), 0 (not found) or a negative SAFECAM_ERR_*.
 * cracklib alone lets "P@ssw0rd!", "Monkey#123" and "Summer2024!" through, so besides the password
 * itself we also ask about its de-leeted forms ('1' read as i and as l) and its letters alone
 * ("monkey"), counting only cracklib's "dictionary word" verdict for those derived forms. */
static int dictionary_check(const char *password, size_t len)
{
    const char *dict = getenv("SAFECAM_CRACKLIB_DICT");
    if (!dict || !*dict)
        dict = CRACKLIB_DICT_DEFAULT;
    char probe[4096];
    static const char *const exts[] = {".pwd", ".pwi", ".hwm"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(exts); i++) {
        if (safecam_fmt(probe, sizeof probe, "%s%s", dict, exts[i]) != 0)
            return SAFECAM_ERR_INTERNAL;
        if (access(probe, R_OK) != 0) {
            log_err("password policy: cracklib dictionary %s%s is missing or unreadable "
                    "(install cracklib-runtime); refusing every password", dict, exts[i]);
            return SAFECAM_ERR_INTERNAL;
        }
    }
    pwquality_settings_t *pwq = pwq_settings_new(dict);
    if (!pwq)
        return SAFECAM_ERR_NOMEM;

    enum { N_VARIANTS = 5 };
    char var[N_VARIANTS][PASSWORD_MAX_BYTES + 1];
    deleet(password, len, var[0], 'i');
    deleet(password, len, var[1], 'l');
    size_t l2 = letters_only(password, var[2]);
    size_t l3 = letters_only(var[0], var[3]);
    size_t l4 = letters_only(var[1], var[4]);
    const size_t var_len[N_VARIANTS] = {len, len, l2, l3, l4};

    pthread_mutex_lock(&dict_lock);
    int rc = pwq_word_check(pwq, password, 1);
    for (size_t v = 0; rc == 0 && v < N_VARIANTS; v++) {
        if (var_len[v] < 4 || strcmp(var[v], password) == 0)
            continue;
        int dup = 0;
        for (size_t w = 0; w < v; w++)
            if (strcmp(var[w], var[v]) == 0)
                dup = 1;
        if (!dup)
            rc = pwq_word_check(pwq, var[v], 0);
    }
    pthread_mutex_unlock(&dict_lock);
    sodium_memzero(var, sizeof var);
    pwquality_free_settings(pwq);
    return rc;
}

int password_policy_check(const struct password_policy *policy, const struct password_context *ctx,
                          const char *password, const char *reasons[PASSWORD_REASONS_MAX],
                          size_t *n_reasons)
{
    if (!policy || !password || !reasons || !n_reasons)
        return SAFECAM_ERR_INVAL;
    *n_reasons = 0;
    if (policy->min_length > PASSWORD_MIN_LENGTH_CEIL)
        return SAFECAM_ERR_INVAL;
    unsigned min_length = policy->min_length < PASSWORD_MIN_LENGTH_FLOOR ? PASSWORD_MIN_LENGTH_FLOOR
                                                                        : policy->min_length;
    size_t n = 0;
    size_t len = strnlen(password, PASSWORD_MAX_BYTES + 1);
    if (len > PASSWORD_MAX_BYTES) {
        reason_add(reasons, &n, "too_long");
        *n_reasons = n;
        return SAFECAM_ERR_POLICY;
    }

    const unsigned char *s = (const unsigned char *)password;
    int valid = safecam_utf8_valid(password, len);
    int has_lower = 0, has_upper = 0, has_digit = 0, has_special = 0, has_control = 0;
    size_t code_points = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t step = valid ? utf8_decode(s, len, i, &cp) : 1;
        if (!valid)
            cp = s[i];
        code_points++;
        i += step;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F && valid))
            has_control = 1;
        else if (cp >= 'a' && cp <= 'z')
            has_lower = 1;
        else if (cp >= 'A' && cp <= 'Z')
            has_upper = 1;
        else if (cp >= '0' && cp <= '9')
            has_digit = 1;
        else
            has_special = 1;
    }

    if (code_points < min_length)
        reason_add(reasons, &n, "too_short");
    if (!valid || has_control)
        reason_add(reasons, &n, "invalid_characters");
    if (!has_lower)
        reason_add(reasons, &n, "missing_lowercase");
    if (!has_upper)
        reason_add(reasons, &n, "missing_uppercase");
    if (!has_digit)
        reason_add(reasons, &n, "missing_digit");
    if (!has_special)
        reason_add(reasons, &n, "missing_special");

    if (ctx) {
        char pw_norm[PASSWORD_MAX_BYTES + 1];
        if (normalise(password, len, pw_norm, sizeof pw_norm) == (size_t)-1)
            return SAFECAM_ERR_INTERNAL; /* cannot happen: normalising never lengthens */
        if (contains_identity(pw_norm, ctx->username))
            reason_add(reasons, &n, "contains_username");
        if (contains_identity(pw_norm, ctx->serial))
            reason_add(reasons, &n, "contains_serial");
        if (contains_identity(pw_norm, ctx->mac))
            reason_add(reasons, &n, "contains_mac");
        if (contains_identity(pw_norm, ctx->model))
            reason_add(reasons, &n, "contains_model");
        if (contains_identity(pw_norm, ctx->product))
            reason_add(reasons, &n, "contains_product");
        sodium_memzero(pw_norm, sizeof pw_norm);
    }

    if (valid && !has_control && len > 0) {
        int d = dictionary_check(password, len);
        if (d < 0) {
            *n_reasons = 0;
            return d;
        }
        if (d == 1)
            reason_add(reasons, &n, "dictionary_word");
    }

    *n_reasons = n;
    return n == 0 ? 0 : SAFECAM_ERR_POLICY;
}
