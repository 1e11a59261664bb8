/* test_update.c — cmocka tests for lib/update: manifest rules, the streaming verifier against every
 * bad-input case of issue #4, trust store and revocation, A/B install with health-check rollback,
 * anti-rollback, a full disk (tmpfs), and kill -9 at >= 50 random moments during an install.
 * Trust level: test code; runs as any user (the tmpfs case is skipped when mount is not allowed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "safecam/update.h"

#define MODEL "SC-100"

/* ---------------------------------------------------------------- fixtures */

struct fx {
    char dir[256];          /* scratch dir for files */
    char state[300];        /* a state dir */
    unsigned char pk[32], sk[64];
    unsigned char pk2[32], sk2[64];
    char pub[300], pub2[300];
    char id[UPDATE_KEY_ID_HEX_BYTES], id2[UPDATE_KEY_ID_HEX_BYTES];
};

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static void rm_rf(const char *p)
{
    (void)nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void make_payload(const char *path, size_t size, unsigned seed)
{
    unsigned char *b = malloc(size ? size : 1);
    assert_non_null(b);
    unsigned char s[randombytes_SEEDBYTES] = {0};
    memcpy(s, &seed, sizeof seed);
    randombytes_buf_deterministic(b, size, s);
    write_file(path, b, size);
    free(b);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_update.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    assert_int_equal(mkdir(f->state, 0700), 0);
    crypto_sign_keypair(f->pk, f->sk);
    crypto_sign_keypair(f->pk2, f->sk2);
    update_key_id(f->pk, f->id);
    update_key_id(f->pk2, f->id2);
    snprintf(f->pub, sizeof f->pub, "%s/vendor1.pub", f->dir);
    snprintf(f->pub2, sizeof f->pub2, "%s/vendor2.pub", f->dir);
    assert_int_equal(update_pubkey_write(f->pub, f->pk, "test key 1", 0), 0);
    assert_int_equal(update_pubkey_write(f->pub2, f->pk2, NULL, 0), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* Build a signed bundle file from one payload file; returns the bundle path in out. */
static void build(struct fx *f, const unsigned char *sk, const char *model, const char *version, uint32_t sv,
                  const char *payload_path, const char *out, const char *const *revoke, unsigned n_revoke)
{
    const char *models[] = {model};
    struct update_build_payload pl[] = {{"rootfs.tar", payload_path}};
    struct update_build_spec spec = {.models = models, .n_models = 1, .version = version, .security_version = sv,
                                     .build_time = 1700000000, .payloads = pl, .n_payloads = 1,
                                     .revoke = revoke, .n_revoke = n_revoke};
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(update_bundle_write(&spec, sk, fd), 0);
    close(fd);
    (void)f;
}

/* Craft a bundle by hand: any manifest text, signed by sk, with header key_id from pk_for_id. */
static unsigned char *craft(const unsigned char *sk, const unsigned char *pk_for_id, const char *manifest,
                            const void *payload, size_t payload_len, size_t *len_out)
{
    size_t mlen = strlen(manifest);
    size_t total = UPDATE_HEADER_BYTES + mlen + UPDATE_SIG_BYTES + payload_len;
    unsigned char *b = calloc(1, total);
    assert_non_null(b);
    memcpy(b, UPDATE_MAGIC, 8);
    b[9] = 1;
    b[12] = (unsigned char)(mlen >> 24);
    b[13] = (unsigned char)(mlen >> 16);
    b[14] = (unsigned char)(mlen >> 8);
    b[15] = (unsigned char)mlen;
    unsigned char h[32];
    crypto_hash_sha256(h, pk_for_id, 32);
    memcpy(b + 16, h, 8);
    memcpy(b + 24, manifest, mlen);
    crypto_sign_detached(b + 24 + mlen, NULL, b, 24 + mlen, sk);
    if (payload_len)
        memcpy(b + 24 + mlen + 64, payload, payload_len);
    *len_out = total;
    return b;
}

static update_trust *trust1(struct fx *f)
{
    update_trust *t = NULL;
    assert_int_equal(update_trust_new(&t), 0);
    assert_int_equal(update_trust_add(t, f->pk), 0);
    return t;
}

/* Feed buf in chunks of `chunk` bytes (0 = all at once) and return the verifier's verdict. */
static enum update_reason verify_mem(const update_trust *t, const struct update_verify_opts *o,
                                     const unsigned char *buf, size_t len, size_t chunk)
{
    update_verifier *v = NULL;
    assert_int_equal(update_verifier_new(t, o, &v), 0);
    int rc = 0;
    size_t off = 0;
    if (chunk == 0)
        chunk = len ? len : 1;
    while (off < len && rc == 0) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = update_verifier_feed(v, buf + off, n);
        off += n;
    }
    if (rc == 0)
        rc = update_verifier_finish(v);
    enum update_reason r = update_verifier_reason(v);
    assert_int_equal(rc, update_reason_err(r));
    if (r == UPDATE_OK)
        assert_non_null(update_verifier_manifest(v));
    update_verifier_free(v);
    return r;
}

/* Found by hand: 4 KiB of random bytes uploaded as firmware were refused at the header, and the audit event
 * said received=0. What was read up to the refusal is counted: the header. */
static void test_refused_header_counts_what_was_read(void **state)
{
    (void)state;
    update_trust *t = NULL;
    assert_int_equal(update_trust_new(&t), 0);
    struct update_verify_opts o = {.model = "safecam-dev"};
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131u + 7u);
    update_verifier *v = NULL;
    assert_int_equal(update_verifier_new(t, &o, &v), 0);
    assert_int_not_equal(update_verifier_feed(v, junk, sizeof junk), 0);
    assert_int_equal(update_verifier_reason(v), UPDATE_MALFORMED_BUNDLE);
    uint64_t rx = 0, total = 1;
    update_verifier_progress(v, &rx, &total);
    assert_int_equal(rx, UPDATE_HEADER_BYTES);
    assert_int_equal(total, 0);
    update_verifier_free(v);
    update_trust_free(t);
}

static char *manifest_for(const char *key_id, const char *extra_payload_hex, const char *body_override)
{
    static char m[4096];
    if (body_override) {
        snprintf(m, sizeof m, "%s", body_override);
        return m;
    }
    snprintf(m, sizeof m,
             "{\"format\":1,\"models\":[\"" MODEL "\"],\"version\":\"1.0.0\",\"security_version\":1,"
             "\"build_time\":1,\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
             key_id, extra_payload_hex);
    return m;
}

/* ---------------------------------------------------------------- field rules */

static void test_version_rules(void **state)
{
    (void)state;
    const char *good[] = {"0.0.0", "1.2.3", "10.20.30", "1.0.0-rc.1", "999999999.0.0", "1.2.3-a-b.c"};
    const char *bad[] = {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "v1.2.3", "1.2.3 ",
                         " 1.2.3", "1.2.3+meta", "1.2.3-a/b", "1000000000.0.0", "1..3", "-1.2.3", "1.2.3-\n",
                         "1.2.3-abcdefghijabcdefghijabcdefghijklm"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(good); i++)
        assert_true(update_version_valid(good[i]));
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(bad); i++) {
        if (update_version_valid(bad[i]))
            fail_msg("accepted version '%s'", bad[i]);
    }
    assert_int_equal(update_reason_http_status(UPDATE_OK), 202);
    assert_int_equal(update_reason_http_status(UPDATE_BAD_SIGNATURE), 422);
    assert_int_equal(update_reason_http_status(UPDATE_TOO_LARGE), 413);
    assert_int_equal(update_reason_http_status(UPDATE_BUSY), 409);
    for (int r = UPDATE_OK; r <= UPDATE_INTERNAL; r++)
        assert_string_not_equal(update_reason_name((enum update_reason)r), r ? "ok" : "internal");
    assert_true(update_name_valid("rootfs.tar"));
    assert_true(update_name_valid("A-b_c.9"));
    const char *bad_names[] = {"", ".", "..", "a/b", "../x", "a b", "a\\b", "é", "a\nb",
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(bad_names); i++)
        if (update_name_valid(bad_names[i]))
            fail_msg("accepted name '%s'", bad_names[i]);
}

static void test_manifest_rules(void **state)
{
    struct fx *f = *state;
    struct update_manifest m;
    char h[65];
    memset(h, 'a', 64);
    h[64] = 0;
    char good[4096];
    snprintf(good, sizeof good, "%s", manifest_for(f->id, h, NULL));
    assert_int_equal(update_manifest_parse(good, strlen(good), &m), 0);
    assert_string_equal(m.version, "1.0.0");
    assert_int_equal(m.n_payloads, 1);
    assert_int_equal(m.payloads[0].size, 3);

    char b[8192];
    const char *bad[] = {
        "", "[]", "null", "{}", "{\"format\":1}",
        /* unknown key, duplicate key */
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}],\"exec\":\"sh\"}",
        "{\"format\":1,\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,"
        "\"build_time\":1,\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        /* format 2 */
        "{\"format\":2,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        /* no models / model with slash */
        "{\"format\":1,\"models\":[],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"a/b\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        /* version as number, bad version */
        "{\"format\":1,\"models\":[\"M\"],\"version\":1,\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        /* security_version negative, too big, float, string */
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":-1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":4294967296,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1.5,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":\"1\",\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        /* payload: traversal name, reserved name, size over cap, negative, bad hash, upper-case hash, extra key */
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"../etc/passwd\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"manifest.json\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"bundle.head\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":4294967297,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":-3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%.63s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%.63sA\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\",\"mode\":493}]}",
        /* duplicate payload names, no payloads, 9 payloads */
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"},"
        "{\"name\":\"p\",\"size\":3,\"sha256\":\"%1$s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%s\",\"payloads\":[]}",
        /* key_id malformed; revoke own key */
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%.15sZ\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%s\"}]}",
        "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\",\"security_version\":1,\"build_time\":1,"
        "\"key_id\":\"%1$s\",\"payloads\":[{\"name\":\"p\",\"size\":3,\"sha256\":\"%2$s\"}],"
        "\"revoke_key_ids\":[\"%1$s\"]}",
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(bad); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
        snprintf(b, sizeof b, bad[i], f->id, h);
#pragma GCC diagnostic pop
        if (update_manifest_parse(b, strlen(b), &m) == 0)
            fail_msg("accepted bad manifest #%zu: %s", i, b);
    }
    /* 9 payloads */
    size_t off = (size_t)snprintf(b, sizeof b, "{\"format\":1,\"models\":[\"M\"],\"version\":\"1.0.0\","
                                  "\"security_version\":1,\"build_time\":1,\"key_id\":\"%s\",\"payloads\":[", f->id);
    for (int i = 0; i < 9; i++)
        off += (size_t)snprintf(b + off, sizeof b - off, "%s{\"name\":\"p%d\",\"size\":1,\"sha256\":\"%s\"}",
                                i ? "," : "", i, h);
    snprintf(b + off, sizeof b - off, "]}");
    assert_int_not_equal(update_manifest_parse(b, strlen(b), &m), 0);
    /* embedded NUL, invalid UTF-8 */
    char nul[] = "{\"format\":1}\0";
    assert_int_not_equal(update_manifest_parse(nul, sizeof nul, &m), 0);
    char utf[] = "{\"format\":1,\"models\":[\"\xff\"]}";
    assert_int_not_equal(update_manifest_parse(utf, strlen(utf), &m), 0);
    /* over the size cap */
    char *big = malloc(UPDATE_MANIFEST_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, ' ', UPDATE_MANIFEST_MAX_BYTES + 1);
    assert_int_equal(update_manifest_parse(big, UPDATE_MANIFEST_MAX_BYTES + 1, &m), SAFECAM_ERR_TOOBIG);
    free(big);
}

/* ---------------------------------------------------------------- verifier: every bad input */

static void test_verifier_bad_inputs(void **state)
{
    struct fx *f = *state;
    char payload[300], bundle[300], other[300];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    snprintf(bundle, sizeof bundle, "%s/good.bundle", f->dir);
    snprintf(other, sizeof other, "%s/other.bundle", f->dir);
    make_payload(payload, 70000, 1);
    build(f, f->sk, MODEL, "1.2.3", 5, payload, bundle, NULL, 0);
    size_t len;
    unsigned char *b = read_all(bundle, &len);
    update_trust *t = trust1(f);
    struct update_verify_opts o = {.model = MODEL, .min_security_version = 5};

    /* good, in one piece, byte by byte and in odd chunks */
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_OK);
    assert_int_equal(verify_mem(t, &o, b, len, 1), UPDATE_OK);
    assert_int_equal(verify_mem(t, &o, b, len, 7), UPDATE_OK);
    assert_int_equal(verify_mem(t, &o, b, len, 4096), UPDATE_OK);

    uint32_t mlen = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
    size_t sig_off = UPDATE_HEADER_BYTES + mlen, pay_off = sig_off + UPDATE_SIG_BYTES;

    /* flipped byte: payload (several places), manifest (every 13th byte), signature (every byte) */
    size_t pay_pos[] = {pay_off, pay_off + 1, pay_off + 35000, len - 1};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(pay_pos); i++) {
        b[pay_pos[i]] ^= 0x01;
        assert_int_equal(verify_mem(t, &o, b, len, 4096), UPDATE_HASH_MISMATCH);
        b[pay_pos[i]] ^= 0x01;
    }
    for (size_t p = UPDATE_HEADER_BYTES; p < sig_off; p += 13) {
        b[p] ^= 0x20;
        assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_BAD_SIGNATURE);
        b[p] ^= 0x20;
    }
    for (size_t p = sig_off; p < pay_off; p++) {
        b[p] ^= 0x80;
        assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_BAD_SIGNATURE);
        b[p] ^= 0x80;
    }
    /* header: magic, format, flags, key_id, manifest length */
    b[0] ^= 1;
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_MALFORMED_BUNDLE);
    b[0] ^= 1;
    b[9] = 2;
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_MALFORMED_BUNDLE);
    b[9] = 1;
    b[11] = 1;
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_MALFORMED_BUNDLE);
    b[11] = 0;
    b[16] ^= 1;
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_UNTRUSTED_KEY);
    b[16] ^= 1;
    b[15] ^= 1;
    enum update_reason r = verify_mem(t, &o, b, len, 0);
    assert_true(r == UPDATE_BAD_SIGNATURE || r == UPDATE_TRUNCATED);
    b[15] ^= 1;
    b[13] = 0x02; /* 128 KiB manifest */
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_TOO_LARGE);
    b[13] = (unsigned char)(mlen >> 16);
    assert_int_equal(verify_mem(t, &o, b, len, 0), UPDATE_OK);

    /* truncated anywhere, empty, one extra byte */
    size_t cuts[] = {0, 1, 23, 24, 25, sig_off - 1, sig_off, pay_off - 1, pay_off, pay_off + 1, len - 1};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(cuts); i++)
        assert_int_equal(verify_mem(t, &o, b, cuts[i], 1000), UPDATE_TRUNCATED);
    unsigned char *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, b, len);
    longer[len] = 0;
    assert_int_equal(verify_mem(t, &o, longer, len + 1, 0), UPDATE_MALFORMED_BUNDLE);
    free(longer);

    /* wrong model, lower security version (equal is fine), over the size cap */
    struct update_verify_opts o2 = {.model = "SC-200"};
    assert_int_equal(verify_mem(t, &o2, b, len, 0), UPDATE_WRONG_MODEL);
    struct update_verify_opts o3 = {.model = MODEL, .min_security_version = 6};
    assert_int_equal(verify_mem(t, &o3, b, len, 0), UPDATE_ROLLBACK);
    struct update_verify_opts o4 = {.model = MODEL, .max_bundle_bytes = len - 1};
    assert_int_equal(verify_mem(t, &o4, b, len, 0), UPDATE_TOO_LARGE);
    struct update_verify_opts o5 = {.model = MODEL, .max_bundle_bytes = len};
    assert_int_equal(verify_mem(t, &o5, b, len, 0), UPDATE_OK);

    /* signed with an untrusted key; and with the right key but a revoked one */
    build(f, f->sk2, MODEL, "1.2.3", 5, payload, other, NULL, 0);
    size_t olen;
    unsigned char *ob = read_all(other, &olen);
    assert_int_equal(verify_mem(t, &o, ob, olen, 0), UPDATE_UNTRUSTED_KEY);
    assert_int_equal(update_trust_add(t, f->pk2), 0);
    assert_int_equal(verify_mem(t, &o, ob, olen, 0), UPDATE_OK); /* key rotation: both trusted */
    assert_int_equal(update_trust_revoke(t, f->id2), 0);
    assert_int_equal(verify_mem(t, &o, ob, olen, 0), UPDATE_UNTRUSTED_KEY);
    assert_int_equal(update_trust_count(t), 1);
    /* an empty trust store trusts nothing */
    update_trust *empty = NULL;
    assert_int_equal(update_trust_new(&empty), 0);
    assert_int_equal(verify_mem(empty, &o, b, len, 0), UPDATE_UNTRUSTED_KEY);
    update_trust_free(empty);

    /* signature by key2 but header key_id of key1 */
    char h[65];
    unsigned char ph[32];
    crypto_hash_sha256(ph, (const unsigned char *)"abc", 3);
    sodium_bin2hex(h, sizeof h, ph, 32);
    size_t clen;
    unsigned char *c = craft(f->sk2, f->pk, manifest_for(f->id, h, NULL), "abc", 3, &clen);
    assert_int_equal(verify_mem(t, &o, c, clen, 0), UPDATE_BAD_SIGNATURE);
    free(c);
    /* well signed, but the manifest breaks a rule, or names another key_id */
    c = craft(f->sk, f->pk, manifest_for(f->id, "zz", NULL), "abc", 3, &clen);
    assert_int_equal(verify_mem(t, &o, c, clen, 0), UPDATE_MALFORMED_MANIFEST);
    free(c);
    c = craft(f->sk, f->pk, manifest_for(f->id2, h, NULL), "abc", 3, &clen);
    assert_int_equal(verify_mem(t, &o, c, clen, 0), UPDATE_MALFORMED_MANIFEST);
    free(c);
    c = craft(f->sk, f->pk, manifest_for(f->id, h, NULL), "abc", 3, &clen);
    struct update_verify_opts o6 = {.model = MODEL};
    assert_int_equal(verify_mem(t, &o6, c, clen, 2), UPDATE_OK);
    free(c);

    /* sticky: after a refusal, more input keeps the same answer */
    update_verifier *v = NULL;
    assert_int_equal(update_verifier_new(t, &o2, &v), 0);
    assert_int_equal(update_verifier_feed(v, b, len), SAFECAM_ERR_DENIED);
    assert_int_equal(update_verifier_feed(v, b, 10), SAFECAM_ERR_DENIED);
    assert_int_equal(update_verifier_finish(v), SAFECAM_ERR_DENIED);
    assert_int_equal(update_verifier_reason(v), UPDATE_WRONG_MODEL);
    assert_null(update_verifier_manifest(v));
    update_verifier_free(v);

    update_trust_free(t);
    free(b);
    free(ob);
}

/* Random garbage and random mutations never crash and never pass. */
static void test_verifier_random(void **state)
{
    struct fx *f = *state;
    char payload[300], bundle[300];
    snprintf(payload, sizeof payload, "%s/p.bin", f->dir);
    snprintf(bundle, sizeof bundle, "%s/r.bundle", f->dir);
    make_payload(payload, 5000, 9);
    build(f, f->sk, MODEL, "2.0.0", 1, payload, bundle, NULL, 0);
    size_t len;
    unsigned char *b = read_all(bundle, &len);
    update_trust *t = trust1(f);
    struct update_verify_opts o = {.model = MODEL};
    for (int i = 0; i < 2000; i++) {
        size_t pos = randombytes_uniform((uint32_t)len);
        unsigned char bit = (unsigned char)(1u << randombytes_uniform(8));
        b[pos] ^= bit;
        assert_int_not_equal(verify_mem(t, &o, b, len, 1 + randombytes_uniform(3000)), UPDATE_OK);
        b[pos] ^= bit;
    }
    unsigned char junk[4096];
    for (int i = 0; i < 200; i++) {
        randombytes_buf(junk, sizeof junk);
        if (i % 2)
            memcpy(junk, UPDATE_MAGIC "\0\1\0\0\0\0\0\x40", 16);
        assert_int_not_equal(verify_mem(t, &o, junk, 1 + randombytes_uniform(sizeof junk), 0), UPDATE_OK);
    }
    update_trust_free(t);
    free(b);
}

/* ---------------------------------------------------------------- device state helpers */

static char *state_snapshot(struct fx *f)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", f->state, UPDATE_STATE_JSON);
    size_t n;
    unsigned char *b = read_all(p, &n);
    b[n] = 0;
    return (char *)b;
}

static int exists(const char *dir, const char *rel)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &st) == 0;
}

static void install_keys(struct fx *f)
{
    assert_int_equal(update_trust_key_install(f->state, f->pub), 0);
}

static enum update_reason install(struct fx *f, const char *bundle, uint64_t cap)
{
    struct update_session_opts so = {.model = MODEL, .max_bundle_bytes = cap};
    enum update_reason r = UPDATE_INTERNAL;
    int rc = update_install_file(f->state, &so, bundle, &r);
    assert_int_equal(rc, update_reason_err(r));
    return r;
}

struct events {
    int n;
    char last_type[64];
    char last_detail[256];
};

static void on_event(void *ctx, const char *type, const char *detail)
{
    struct events *e = ctx;
    e->n++;
    snprintf(e->last_type, sizeof e->last_type, "%s", type);
    snprintf(e->last_detail, sizeof e->last_detail, "%s", detail);
}

/* ---------------------------------------------------------------- install, boot, rollback */

static void test_install_and_health_rollback(void **state)
{
    struct fx *f = *state;
    char payload[300], b1[300], b2[300];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    snprintf(b1, sizeof b1, "%s/v2.bundle", f->dir);
    snprintf(b2, sizeof b2, "%s/v3.bundle", f->dir);
    make_payload(payload, 100000, 2);
    build(f, f->sk, MODEL, "2.0.0", 3, payload, b1, NULL, 0);
    make_payload(payload, 50000, 3);
    build(f, f->sk, MODEL, "3.0.0", 4, payload, b2, NULL, 0);

    /* no trusted key yet: refused */
    assert_int_equal(install(f, b1, 0), UPDATE_UNTRUSTED_KEY);
    install_keys(f);

    struct update_status st;
    char slot = 0;
    int rolled = 0;
    struct events ev = {0};
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, on_event, &ev), 0);
    assert_int_equal(slot, 'A');
    assert_int_equal(rolled, 0);

    /* install v2 (sv 3) through a session with an event hook */
    struct update_session_opts so = {.model = MODEL, .boot_attempts = 2, .event = on_event, .event_ctx = &ev};
    update_session *s = NULL;
    assert_int_equal(update_session_new(f->state, &so, &s), 0);
    assert_int_equal(update_session_slot(s), 'B');
    /* a second session is busy */
    update_session *s2 = NULL;
    assert_int_equal(update_session_new(f->state, &so, &s2), SAFECAM_ERR_STATE);
    assert_null(s2);
    size_t len;
    unsigned char *b = read_all(b1, &len);
    for (size_t off = 0; off < len; off += 1000)
        assert_int_equal(update_session_feed(s, b + off, len - off < 1000 ? len - off : 1000), 0);
    uint64_t rx = 0, total = 0;
    update_session_progress(s, &rx, &total);
    assert_true(rx == len && total == len);
    assert_non_null(update_session_manifest(s));
    /* nothing bootable before finish */
    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.trying, 0);
    assert_int_equal(update_session_finish(s), 0);
    update_session_free(s);
    free(b);
    assert_string_equal(ev.last_type, "update_install");
    assert_non_null(strstr(ev.last_detail, "version=2.0.0"));
    assert_false(exists(f->state, "slots/B.staging"));

    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.active, 'A');
    assert_int_equal(st.trying, 'B');
    assert_int_equal(st.attempts_left, 2);
    assert_int_equal(st.floor, 0);
    assert_int_equal(update_slot_verify(f->state, 'B'), 0);
    char *last = NULL;
    assert_int_equal(update_last_result_read(f->state, &last), 0);
    assert_non_null(strstr(last, "\"pending_reboot\""));
    free(last);

    /* while B awaits its health check, another install is busy */
    assert_int_equal(install(f, b2, 0), UPDATE_BUSY);

    /* B never passes its health check: 2 starts on B, then A comes back */
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, on_event, &ev), 0);
    assert_int_equal(slot, 'B');
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, on_event, &ev), 0);
    assert_int_equal(slot, 'B');
    assert_int_equal(rolled, 0);
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, on_event, &ev), 0);
    assert_int_equal(slot, 'A');
    assert_int_equal(rolled, 1);
    assert_string_equal(ev.last_type, "update_rollback");
    assert_int_equal(update_last_result_read(f->state, &last), 0);
    assert_non_null(strstr(last, "\"health_check_failed\""));
    assert_non_null(strstr(last, "\"failed\""));
    free(last);
    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.active, 'A');
    assert_int_equal(st.trying, 0);
    assert_int_equal(st.slots[1].valid, 0);
    assert_int_equal(st.floor, 0);
    /* mark_good now is a no-op on A */
    assert_int_equal(update_boot_mark_good(f->state, NULL, NULL), 0);
    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.active, 'A');

    /* install again, this time it passes: B becomes active and the floor rises to 3 */
    assert_int_equal(install(f, b1, 0), UPDATE_OK);
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(slot, 'B');
    assert_int_equal(update_boot_mark_good(f->state, on_event, &ev), 0);
    assert_string_equal(ev.last_type, "update_good");
    assert_int_equal(update_last_result_read(f->state, &last), 0);
    assert_non_null(strstr(last, "\"installed\""));
    assert_non_null(strstr(last, "\"2.0.0\""));
    free(last);
    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.active, 'B');
    assert_int_equal(st.trying, 0);
    assert_int_equal(st.floor, 3);
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(slot, 'B');

    /* next install goes to A; a damaged trying slot is abandoned at the next start */
    assert_int_equal(install(f, b2, 0), UPDATE_OK);
    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.trying, 'A');
    char victim[600];
    snprintf(victim, sizeof victim, "%s/slots/A/rootfs.tar", f->state);
    assert_int_equal(truncate(victim, 10), 0);
    assert_int_not_equal(update_slot_verify(f->state, 'A'), 0);
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(slot, 'B');
    assert_int_equal(rolled, 1);
}

static void test_refusals_change_nothing(void **state)
{
    struct fx *f = *state;
    char payload[300], good[300], bad[300];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    snprintf(good, sizeof good, "%s/g.bundle", f->dir);
    snprintf(bad, sizeof bad, "%s/bad.bundle", f->dir);
    make_payload(payload, 80000, 4);
    install_keys(f);
    /* get to: B active with security_version 7 */
    build(f, f->sk, MODEL, "7.0.0", 7, payload, good, NULL, 0);
    assert_int_equal(install(f, good, 0), UPDATE_OK);
    char slot;
    int rolled;
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(update_boot_mark_good(f->state, NULL, NULL), 0);
    char *before = state_snapshot(f);

    size_t len;
    unsigned char *b = read_all(good, &len);
    uint32_t mlen = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
    size_t pay_off = UPDATE_HEADER_BYTES + mlen + UPDATE_SIG_BYTES;
    struct {
        const char *what;
        size_t flip;     /* byte to flip, or SIZE_MAX */
        size_t cut;      /* length to keep, or SIZE_MAX */
        enum update_reason want;
    } cases[] = {
        {"payload flip", pay_off + 40000, SIZE_MAX, UPDATE_HASH_MISMATCH},
        {"manifest flip", UPDATE_HEADER_BYTES + 10, SIZE_MAX, UPDATE_BAD_SIGNATURE},
        {"signature flip", UPDATE_HEADER_BYTES + mlen + 3, SIZE_MAX, UPDATE_BAD_SIGNATURE},
        {"truncated", SIZE_MAX, len - 100, UPDATE_TRUNCATED},
        {"empty", SIZE_MAX, 0, UPDATE_TRUNCATED},
    };
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(cases); i++) {
        unsigned char *c = malloc(len);
        memcpy(c, b, len);
        if (cases[i].flip != SIZE_MAX)
            c[cases[i].flip] ^= 0x04;
        write_file(bad, c, cases[i].cut != SIZE_MAX ? cases[i].cut : len);
        free(c);
        enum update_reason r = install(f, bad, 0);
        if (r != cases[i].want)
            fail_msg("%s: got %s", cases[i].what, update_reason_name(r));
        char *after = state_snapshot(f);
        assert_string_equal(before, after);
        free(after);
        assert_false(exists(f->state, "slots/A.staging"));
        char *last = NULL;
        assert_int_equal(update_last_result_read(f->state, &last), 0);
        assert_non_null(strstr(last, update_reason_name(cases[i].want)));
        free(last);
    }
    /* untrusted key, wrong model, lower security version, over the cap */
    build(f, f->sk2, MODEL, "8.0.0", 8, payload, bad, NULL, 0);
    assert_int_equal(install(f, bad, 0), UPDATE_UNTRUSTED_KEY);
    build(f, f->sk, "SC-999", "8.0.0", 8, payload, bad, NULL, 0);
    assert_int_equal(install(f, bad, 0), UPDATE_WRONG_MODEL);
    build(f, f->sk, MODEL, "8.0.0", 6, payload, bad, NULL, 0);
    assert_int_equal(install(f, bad, 0), UPDATE_ROLLBACK);
    build(f, f->sk, MODEL, "8.0.0", 8, payload, bad, NULL, 0);
    assert_int_equal(install(f, bad, 50000), UPDATE_TOO_LARGE);
    char *after = state_snapshot(f);
    assert_string_equal(before, after);
    free(after);
    /* the running slot is still intact */
    assert_int_equal(update_slot_verify(f->state, 'B'), 0);
    /* equal security version is accepted */
    build(f, f->sk, MODEL, "7.0.1", 7, payload, bad, NULL, 0);
    assert_int_equal(install(f, bad, 0), UPDATE_OK);
    free(before);
    free(b);
}

static void test_trust_and_revocation(void **state)
{
    struct fx *f = *state;
    char payload[300], b[300], junk[300];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    snprintf(b, sizeof b, "%s/t.bundle", f->dir);
    snprintf(junk, sizeof junk, "%s/junk.pub", f->dir);
    make_payload(payload, 1000, 5);

    /* malformed key files are refused */
    write_file(junk, "{\"format\":\"safecam-update-pubkey\"}", 34);
    assert_int_equal(update_trust_key_install(f->state, junk), SAFECAM_ERR_INVAL);
    assert_int_not_equal(update_trust_key_install(f->state, "/nonexistent.pub"), 0);
    /* a .pub whose key_id lies */
    char *pubtext;
    size_t n;
    pubtext = (char *)read_all(f->pub, &n);
    pubtext[n] = 0;
    char *idp = strstr(pubtext, f->id);
    assert_non_null(idp);
    idp[0] = idp[0] == '0' ? '1' : '0';
    write_file(junk, pubtext, n);
    free(pubtext);
    assert_int_equal(update_trust_key_install(f->state, junk), SAFECAM_ERR_INVAL);

    /* two keys (rotation) */
    assert_int_equal(update_trust_key_install(f->state, f->pub), 0);
    assert_int_equal(update_trust_key_install(f->state, f->pub), 0); /* idempotent */
    assert_int_equal(update_trust_key_install(f->state, f->pub2), 0);
    update_trust *t = NULL;
    assert_int_equal(update_trust_load(f->state, &t), 0);
    assert_int_equal(update_trust_count(t), 2);
    update_trust_free(t);
    char kp[600];
    snprintf(kp, sizeof kp, "%s/" UPDATE_DIR_KEYS "/%s.pub", f->state, f->id2);
    struct stat st;
    assert_int_equal(stat(kp, &st), 0);

    /* key2 signs fine; then key1 ships a bundle revoking key2 */
    build(f, f->sk2, MODEL, "1.0.0", 1, payload, b, NULL, 0);
    assert_int_equal(install(f, b, 0), UPDATE_OK);
    char slot;
    int rolled;
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(update_boot_mark_good(f->state, NULL, NULL), 0);
    const char *rv[] = {f->id2};
    build(f, f->sk, MODEL, "1.1.0", 1, payload, b, rv, 1);
    assert_int_equal(install(f, b, 0), UPDATE_OK);
    assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(update_boot_mark_good(f->state, NULL, NULL), 0);
    build(f, f->sk2, MODEL, "1.2.0", 1, payload, b, NULL, 0);
    assert_int_equal(install(f, b, 0), UPDATE_UNTRUSTED_KEY);
    assert_int_equal(update_trust_load(f->state, &t), 0);
    assert_int_equal(update_trust_count(t), 1);
    update_trust_free(t);
    /* the revoked key cannot be installed again */
    assert_int_equal(update_trust_key_install(f->state, f->pub2), SAFECAM_ERR_DENIED);
    /* a bundle may not revoke its own key (refused before it is written) */
    const char *self[] = {f->id};
    const char *models[] = {MODEL};
    struct update_build_payload pl[] = {{"rootfs.tar", payload}};
    struct update_build_spec spec = {.models = models, .n_models = 1, .version = "1.3.0", .security_version = 1,
                                     .payloads = pl, .n_payloads = 1, .revoke = self, .n_revoke = 1};
    int fd = open(b, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(update_bundle_write(&spec, f->sk, fd), SAFECAM_ERR_INVAL);
    close(fd);
}

static void test_model_from_device_json(void **state)
{
    struct fx *f = *state;
    char payload[300], b[300], dj[400];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    snprintf(b, sizeof b, "%s/m.bundle", f->dir);
    make_payload(payload, 100, 6);
    install_keys(f);
    build(f, f->sk, MODEL, "1.0.0", 0, payload, b, NULL, 0);
    enum update_reason r;
    /* unprovisioned: no model, no session */
    assert_int_equal(update_install_file(f->state, NULL, b, &r), SAFECAM_ERR_NOTFOUND);
    snprintf(dj, sizeof dj, "%s/factory/device.json", f->state);
    const char *other = "{\"serial\":\"x\",\"model\":\"SC-300\"}";
    write_file(dj, other, strlen(other));
    assert_int_equal(update_install_file(f->state, NULL, b, &r), SAFECAM_ERR_DENIED);
    assert_int_equal(r, UPDATE_WRONG_MODEL);
    const char *mine = "{\"serial\":\"x\",\"model\":\"" MODEL "\"}";
    write_file(dj, mine, strlen(mine));
    assert_int_equal(update_install_file(f->state, NULL, b, &r), 0);
    assert_int_equal(r, UPDATE_OK);
}

/* ---------------------------------------------------------------- verified boot of a slot image */

static void flip_byte(const char *path, long off)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_true(c != EOF);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0x20, fp), c ^ 0x20);
    assert_int_equal(fclose(fp), 0);
}

/* Install an image bundle (entry point + a data payload) signed with sk into the next slot. */
static char image_install(struct fx *f, const unsigned char *sk, const char *version, uint32_t sv)
{
    char entry[300], data[300], b[300];
    snprintf(entry, sizeof entry, "%s/safecamd", f->dir);
    snprintf(data, sizeof data, "%s/rootfs.tar", f->dir);
    snprintf(b, sizeof b, "%s/img.bundle", f->dir);
    write_file(entry, "#!/bin/sh\nexit 0\n", 17);
    make_payload(data, 70000, sv + 11);
    const char *models[] = {MODEL};
    struct update_build_payload pl[] = {{UPDATE_IMAGE_ENTRY, entry}, {"rootfs.tar", data}};
    struct update_build_spec spec = {.models = models, .n_models = 1, .version = version, .security_version = sv,
                                     .build_time = 1700000000, .payloads = pl, .n_payloads = 2};
    int fd = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(update_bundle_write(&spec, sk, fd), 0);
    close(fd);
    assert_int_equal(install(f, b, 0), UPDATE_OK);
    struct update_status st;
    assert_int_equal(update_slots_status(f->state, &st), 0);
    return st.trying;
}

static enum update_reason auth(struct fx *f, char slot)
{
    enum update_reason r = UPDATE_INTERNAL;
    int rc = update_slot_authenticate(f->state, slot, &r);
    assert_int_equal(rc == 0, r == UPDATE_OK);
    return r;
}

static void test_verified_boot(void **state)
{
    struct fx *f = *state;
    char dj[400], p[600];
    snprintf(dj, sizeof dj, "%s/factory", f->state);
    assert_int_equal(mkdir(dj, 0700), 0);
    snprintf(dj, sizeof dj, "%s/factory/device.json", f->state);
    const char *mine = "{\"serial\":\"x\",\"model\":\"" MODEL "\"}";
    write_file(dj, mine, strlen(mine));
    install_keys(f);
    assert_int_equal(update_trust_key_install(f->state, f->pub2), 0);

    /* the factory slot has nothing to authenticate; a bad slot name is refused */
    assert_int_equal(update_slot_authenticate(f->state, 'A', NULL), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(update_slot_authenticate(f->state, 'C', NULL), SAFECAM_ERR_INVAL);
    assert_int_equal(update_slot_authenticate(f->state, 'B', NULL), SAFECAM_ERR_NOTFOUND); /* empty */

    char slot = image_install(f, f->sk, "2.0.0", 1);
    assert_int_equal(slot, 'B');
    assert_int_equal(auth(f, 'B'), UPDATE_OK);
    /* the image's entry point is executable, data is not; the signed head is kept */
    struct stat st;
    snprintf(p, sizeof p, "%s/slots/B/" UPDATE_IMAGE_ENTRY, f->state);
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_mode & S_IXUSR);
    snprintf(p, sizeof p, "%s/slots/B/rootfs.tar", f->state);
    assert_int_equal(stat(p, &st), 0);
    assert_false(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH));
    snprintf(p, sizeof p, "%s/slots/B/" UPDATE_SLOT_HEAD, f->state);
    assert_int_equal(stat(p, &st), 0);

    /* each kind of damage, then mended by restoring the original bytes */
    char entry[600], head[600], data[600];
    snprintf(entry, sizeof entry, "%s/slots/B/" UPDATE_IMAGE_ENTRY, f->state);
    snprintf(head, sizeof head, "%s/slots/B/" UPDATE_SLOT_HEAD, f->state);
    snprintf(data, sizeof data, "%s/slots/B/rootfs.tar", f->state);
    size_t hlen, dlen;
    unsigned char *hbytes = read_all(head, &hlen);
    unsigned char *dbytes = read_all(data, &dlen);

    flip_byte(entry, 3); /* same size, one bit: only the hash can tell */
    assert_int_equal(auth(f, 'B'), UPDATE_HASH_MISMATCH);
    flip_byte(entry, 3);
    assert_int_equal(auth(f, 'B'), UPDATE_OK);

    write_file(data, dbytes, dlen - 1); /* shorter than signed */
    assert_int_equal(auth(f, 'B'), UPDATE_TRUNCATED);
    unsigned char *longer = malloc(dlen + 1);
    assert_non_null(longer);
    memcpy(longer, dbytes, dlen);
    longer[dlen] = 'x';
    write_file(data, longer, dlen + 1); /* bytes the signature does not cover */
    free(longer);
    assert_int_equal(auth(f, 'B'), UPDATE_MALFORMED_BUNDLE);
    assert_int_equal(unlink(data), 0); /* gone */
    assert_int_equal(auth(f, 'B'), UPDATE_TRUNCATED);
    write_file(data, dbytes, dlen);
    assert_int_equal(auth(f, 'B'), UPDATE_OK);

    flip_byte(head, (long)hlen - 5); /* the signature */
    assert_int_equal(auth(f, 'B'), UPDATE_BAD_SIGNATURE);
    write_file(head, hbytes, hlen);
    flip_byte(head, 40); /* the manifest (e.g. to match a swapped payload) */
    assert_int_equal(auth(f, 'B'), UPDATE_BAD_SIGNATURE);
    assert_int_equal(unlink(head), 0);
    assert_int_equal(auth(f, 'B'), UPDATE_MALFORMED_BUNDLE);
    write_file(head, hbytes, hlen);
    assert_int_equal(auth(f, 'B'), UPDATE_OK);

    /* a trusted key that is revoked later: its slot no longer boots */
    char s2 = 0;
    int rolled = 0;
    assert_int_equal(update_boot_select(f->state, &s2, &rolled, NULL, NULL), 0);
    assert_int_equal(update_boot_mark_good(f->state, NULL, NULL), 0);
    char entry2[300], b[300];
    snprintf(entry2, sizeof entry2, "%s/rootfs.tar", f->dir);
    snprintf(b, sizeof b, "%s/rv.bundle", f->dir);
    make_payload(entry2, 500, 9);
    const char *rv[] = {f->id};
    build(f, f->sk2, MODEL, "3.0.0", 2, entry2, b, rv, 1);
    assert_int_equal(install(f, b, 0), UPDATE_OK);
    assert_int_equal(auth(f, 'B'), UPDATE_UNTRUSTED_KEY);

    /* the device model changed (board swap): refused */
    const char *other = "{\"serial\":\"x\",\"model\":\"SC-999\"}";
    write_file(dj, other, strlen(other));
    assert_int_equal(auth(f, 'A'), UPDATE_WRONG_MODEL);
    write_file(dj, mine, strlen(mine));
    assert_int_equal(auth(f, 'A'), UPDATE_OK); /* the data-only bundle in A (signed by key 2) */

    /* abandoning the trying slot: back to the active one, with the event and last.json reason */
    struct events ev = {0};
    char back = 0;
    assert_int_equal(update_boot_abandon(f->state, "bogus", &back, NULL, NULL), SAFECAM_ERR_INVAL);
    assert_int_equal(update_boot_abandon(f->state, "slot_damaged", &back, on_event, &ev), 0);
    assert_int_equal(back, 'B');
    assert_int_equal(ev.n, 1);
    assert_non_null(strstr(ev.last_detail, "reason=slot_damaged"));
    struct update_status us;
    assert_int_equal(update_slots_status(f->state, &us), 0);
    assert_int_equal(us.trying, 0);
    assert_false(us.slots[0].valid);
    char *last = NULL;
    assert_int_equal(update_last_result_read(f->state, &last), 0);
    assert_non_null(strstr(last, "slot_damaged"));
    free(last);
    /* nothing trying: a no-op naming the active slot */
    ev.n = 0;
    assert_int_equal(update_boot_abandon(f->state, "health_check_failed", &back, on_event, &ev), 0);
    assert_int_equal(back, 'B');
    assert_int_equal(ev.n, 0);
    free(hbytes);
    free(dbytes);
}

/* ---------------------------------------------------------------- disk full (tmpfs) */

static void test_disk_full(void **state)
{
    struct fx *f = *state;
    char mnt[300], st_dir[400], payload[300], big[300], two[300], filler[500];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", f->dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
        print_message("    skipped: cannot mount a tmpfs here (%s)\n", strerror(errno));
        skip();
    }
    snprintf(st_dir, sizeof st_dir, "%s/state", mnt);
    assert_int_equal(mkdir(st_dir, 0700), 0);
    assert_int_equal(update_trust_key_install(st_dir, f->pub), 0);
    struct update_status st;
    assert_int_equal(update_slots_status(st_dir, &st), 0);
    char before_path[600];
    snprintf(before_path, sizeof before_path, "%s/%s", st_dir, UPDATE_STATE_JSON);
    size_t bl;
    unsigned char *before = read_all(before_path, &bl);

    /* 1: the image is bigger than the disk: refused as soon as the manifest is known */
    snprintf(payload, sizeof payload, "%s/big.tar", f->dir);
    snprintf(big, sizeof big, "%s/big.bundle", f->dir);
    make_payload(payload, 2 * 1024 * 1024, 7);
    build(f, f->sk, MODEL, "1.0.0", 1, payload, big, NULL, 0);
    struct update_session_opts so = {.model = MODEL};
    enum update_reason r;
    assert_int_equal(update_install_file(st_dir, &so, big, &r), SAFECAM_ERR_IO);
    assert_int_equal(r, UPDATE_NO_SPACE);

    /* 2: it fits when the upload starts, then the disk fills up during staging */
    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/p1", f->dir);
    snprintf(p2, sizeof p2, "%s/p2", f->dir);
    make_payload(p1, 100 * 1024, 8);
    make_payload(p2, 500 * 1024, 9);
    snprintf(two, sizeof two, "%s/two.bundle", f->dir);
    const char *models[] = {MODEL};
    struct update_build_payload pl[] = {{"p1", p1}, {"p2", p2}};
    struct update_build_spec spec = {.models = models, .n_models = 1, .version = "1.0.0", .security_version = 1,
                                     .payloads = pl, .n_payloads = 2};
    int fd = open(two, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(update_bundle_write(&spec, f->sk, fd), 0);
    close(fd);
    size_t len;
    unsigned char *b = read_all(two, &len);
    update_session *s = NULL;
    assert_int_equal(update_session_new(st_dir, &so, &s), 0);
    size_t first = len - 500 * 1024 - 1000; /* manifest + p1 + a little of p2's start is not in yet */
    assert_int_equal(update_session_feed(s, b, first), 0);
    /* somebody else takes the rest of the disk */
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    int ff = open(filler, O_WRONLY | O_CREAT, 0600);
    assert_true(ff >= 0);
    unsigned char zero[4096] = {0};
    while (write(ff, zero, sizeof zero) > 0)
        ;
    close(ff);
    int rc = update_session_feed(s, b + first, len - first);
    if (rc == 0)
        rc = update_session_finish(s);
    assert_int_equal(rc, SAFECAM_ERR_IO);
    assert_int_equal(update_session_reason(s), UPDATE_NO_SPACE);
    update_session_free(s);
    free(b);
    unlink(filler);

    size_t al;
    unsigned char *after = read_all(before_path, &al);
    assert_int_equal(al, bl);
    assert_memory_equal(before, after, bl);
    free(before);
    free(after);
    assert_false(exists(st_dir, "slots/B.staging"));
    char slot;
    int rolled;
    assert_int_equal(update_boot_select(st_dir, &slot, &rolled, NULL, NULL), 0);
    assert_int_equal(slot, 'A');
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

/* ---------------------------------------------------------------- kill -9 during install */

static void child_install(struct fx *f, const char *bundle)
{
    /* feed in small chunks so the install takes long enough to be interrupted anywhere */
    struct update_session_opts so = {.model = MODEL, .boot_attempts = 2};
    update_session *s = NULL;
    if (update_session_new(f->state, &so, &s) != 0)
        _exit(3);
    int fd = open(bundle, O_RDONLY);
    unsigned char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (update_session_feed(s, buf, (size_t)n) != 0)
            _exit(4);
    if (update_session_finish(s) != 0)
        _exit(5);
    update_session_free(s);
    char slot;
    int rolled;
    if (update_boot_select(f->state, &slot, &rolled, NULL, NULL) != 0)
        _exit(6);
    if (update_boot_mark_good(f->state, NULL, NULL) != 0)
        _exit(7);
    _exit(0);
}

static long run_child(struct fx *f, const char *bundle, long kill_after_us, int *status)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_install(f, bundle);
    if (kill_after_us >= 0) {
        struct timespec d = {kill_after_us / 1000000, (kill_after_us % 1000000) * 1000};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
    }
    assert_int_equal(waitpid(pid, status, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
}

static void test_kill9_during_install(void **state)
{
    struct fx *f = *state;
    char payload[300], bundles[2][300];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    for (int i = 0; i < 2; i++) {
        snprintf(bundles[i], sizeof bundles[i], "%s/k%d.bundle", f->dir, i);
        make_payload(payload, 1024 * 1024 + (size_t)i * 4099, 10 + (unsigned)i);
        build(f, f->sk, MODEL, i ? "5.0.1" : "5.0.0", 5, payload, bundles[i], NULL, 0);
    }
    install_keys(f);
    int status;
    long full = run_child(f, bundles[0], -1, &status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    print_message("    one full install + boot + mark-good: %ld us\n", full);

    int killed = 0, completed = 0;
    long window = full;
    int after_commit = 0, mid_commit = 0; /* where the kills landed (the rest: while streaming) */
    char upd[400];
    snprintf(upd, sizeof upd, "%s/" UPDATE_DIR_STATE, f->state);
    int i;
    for (i = 0; i < 200 && killed < 50; i++) {
        /* kill at a uniform moment in [0, window]; the window adapts so that most runs are cut short
         * while the moments still spread over the whole install (stream, commit, boot, mark-good) */
        long at = (long)randombytes_uniform((uint32_t)(window + 1));
        struct update_status pre, post;
        assert_int_equal(update_slots_status(f->state, &pre), 0);
        (void)run_child(f, bundles[i % 2], at, &status);
        assert_int_equal(update_slots_status(f->state, &post), 0);
        if (WIFSIGNALED(status)) {
            int inactive = pre.active == 'A' ? 1 : 0;
            if (post.trying || post.active != pre.active)
                after_commit++;
            else if (!post.slots[inactive].valid && pre.slots[inactive].valid)
                mid_commit++;
        }
        if (WIFSIGNALED(status)) {
            killed++;
            window += window / 50;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            completed++;
            window -= window / 6;
        }
        else
            fail_msg("iteration %d: child exited %d", i, WEXITSTATUS(status));

        /* power comes back: the state parses, the chosen slot is complete and verifies */
        struct update_status st;
        assert_int_equal(update_slots_status(f->state, &st), 0);
        char slot;
        int rolled;
        assert_int_equal(update_boot_select(f->state, &slot, &rolled, NULL, NULL), 0);
        if (update_slot_verify(f->state, slot) != 0)
            fail_msg("iteration %d: booted slot %c is not consistent", i, slot);
        /* and nothing of the interrupted install is left to fill the disk */
        assert_false(exists(f->state, "slots/A.staging"));
        assert_false(exists(f->state, "slots/B.staging"));
        DIR *ud = opendir(upd);
        assert_non_null(ud);
        struct dirent *de;
        while ((de = readdir(ud)) != NULL)
            if (strstr(de->d_name, ".tmp."))
                fail_msg("iteration %d: stale %s", i, de->d_name);
        closedir(ud);
        /* every slot the state calls valid is intact */
        assert_int_equal(update_slots_status(f->state, &st), 0);
        for (int k = 0; k < 2; k++)
            if (st.slots[k].valid && update_slot_verify(f->state, k ? 'B' : 'A') != 0)
                fail_msg("iteration %d: slot %c marked valid but damaged", i, k ? 'B' : 'A');
        /* the health check passes, so the next iteration can install again */
        assert_int_equal(update_boot_mark_good(f->state, NULL, NULL), 0);
    }
    print_message("    %d runs: %d killed mid-way (%d while switching slots, %d after the switch), %d completed\n", i,
                  killed, mid_commit, after_commit, completed);
    assert_true(killed >= 50);
}


/* ---------------------------------------------------------------- online check against nginx */

/* Run argv (no shell), output to /dev/null; returns the exit status or -1. */
static int run_quiet(const char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) {
            dup2(dn, 1);
            dup2(dn, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    close(s);
    return ntohs(a.sin_port);
}

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

/* A server certificate for CN/SAN, signed by the CA (or self-signed when ca == NULL); days < 0: expired. */
static void make_cert(const char *dir, const char *name, const char *san, const char *ca, int days)
{
    char key[400], csr[400], crt[400], ext[400], cakey[400], cacrt[400], d[16], extline[200];
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    snprintf(csr, sizeof csr, "%s/%s.csr", dir, name);
    snprintf(crt, sizeof crt, "%s/%s.crt", dir, name);
    snprintf(ext, sizeof ext, "%s/%s.ext", dir, name);
    snprintf(d, sizeof d, "%d", days);
    snprintf(extline, sizeof extline, "subjectAltName=%s\n", san);
    write_file(ext, extline, strlen(extline));
    const char *req[] = {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", key, "-out", csr, "-subj", "/CN=update-server", NULL};
    assert_int_equal(run_quiet(req), 0);
    if (ca) {
        snprintf(cakey, sizeof cakey, "%s/%s.key", dir, ca);
        snprintf(cacrt, sizeof cacrt, "%s/%s.crt", dir, ca);
        const char *x[] = {"openssl", "x509", "-req", "-in", csr, "-CA", cacrt, "-CAkey", cakey, "-set_serial",
                           "7", "-out", crt, "-days", d, "-extfile", ext, NULL};
        assert_int_equal(run_quiet(x), 0);
    } else {
        const char *x[] = {"openssl", "x509", "-req", "-in", csr, "-signkey", key, "-out", crt, "-days", d,
                           "-extfile", ext, NULL};
        assert_int_equal(run_quiet(x), 0);
    }
}

static void test_online_check_nginx(void **state)
{
    struct fx *f = *state;
    if (access("/usr/sbin/nginx", X_OK) != 0 || run_quiet((const char *const[]){"openssl", "version", NULL}) != 0) {
        print_message("    skipped: nginx or openssl missing\n");
        skip();
    }
    char pki[300], www[300], conf[400], payload[300], bundle[500], bad[500], latest[500], cafile[400];
    snprintf(pki, sizeof pki, "%s/pki", f->dir);
    snprintf(www, sizeof www, "%s/www", f->dir);
    assert_int_equal(mkdir(pki, 0755), 0);
    assert_int_equal(mkdir(www, 0755), 0);
    assert_int_equal(chmod(f->dir, 0755), 0); /* nginx may read as another user */
    /* the pinned vendor CA, made now, valid for a day */
    char cakey[400], cacrt[400];
    snprintf(cakey, sizeof cakey, "%s/ca.key", pki);
    snprintf(cacrt, sizeof cacrt, "%s/ca.crt", pki);
    const char *mkca[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-nodes", "-keyout", cakey, "-out", cacrt, "-days", "1", "-subj", "/CN=test vendor CA", NULL};
    assert_int_equal(run_quiet(mkca), 0);
    snprintf(cafile, sizeof cafile, "%s", cacrt);
    make_cert(pki, "good", "IP:127.0.0.1,DNS:localhost", "ca", 1);
    make_cert(pki, "selfsigned", "IP:127.0.0.1,DNS:localhost", NULL, 1);
    make_cert(pki, "wrongname", "DNS:updates.example.com", "ca", 1);
    make_cert(pki, "expired", "IP:127.0.0.1,DNS:localhost", "ca", -1);

    /* the update server's files */
    char mdir[400];
    snprintf(mdir, sizeof mdir, "%s/" MODEL, www);
    assert_int_equal(mkdir(mdir, 0755), 0);
    snprintf(payload, sizeof payload, "%s/rootfs.tar", f->dir);
    make_payload(payload, 300000, 21);
    snprintf(bundle, sizeof bundle, "%s/safecam-2.0.0.bundle", mdir);
    build(f, f->sk, MODEL, "2.0.0", 2, payload, bundle, NULL, 0);
    size_t blen;
    unsigned char *bb = read_all(bundle, &blen);
    bb[blen - 5] ^= 1;
    snprintf(bad, sizeof bad, "%s/tampered.bundle", mdir);
    write_file(bad, bb, blen);
    free(bb);
    snprintf(latest, sizeof latest, "%s/latest.json", mdir);
    char lj[300];
    snprintf(lj, sizeof lj, "{\"version\":\"2.0.0\",\"security_version\":2,\"bundle\":\"safecam-2.0.0.bundle\",\"size\":%zu}",
             blen);
    write_file(latest, lj, strlen(lj));

    /* one nginx, four servers: good, self-signed, wrong host name, expired */
    const char *names[] = {"good", "selfsigned", "wrongname", "expired"};
    int ports[4];
    char cfg[8192];
    size_t off = (size_t)snprintf(cfg, sizeof cfg,
        "daemon off; master_process off; worker_processes 1; pid %s/nginx.pid; error_log %s/error.log;\n"
        "events { worker_connections 64; }\n"
        "http { access_log off; client_body_temp_path %s/t1; proxy_temp_path %s/t2; fastcgi_temp_path %s/t3;\n"
        " uwsgi_temp_path %s/t4; scgi_temp_path %s/t5; default_type application/octet-stream;\n",
        f->dir, f->dir, f->dir, f->dir, f->dir, f->dir, f->dir);
    for (int i = 0; i < 4; i++) {
        ports[i] = free_port();
        off += (size_t)snprintf(cfg + off, sizeof cfg - off,
            " server { listen 127.0.0.1:%d ssl; ssl_certificate %s/%s.crt; ssl_certificate_key %s/%s.key;"
            " root %s; }\n", ports[i], pki, names[i], pki, names[i], www);
    }
    snprintf(cfg + off, sizeof cfg - off, "}\n");
    snprintf(conf, sizeof conf, "%s/nginx.conf", f->dir);
    write_file(conf, cfg, strlen(cfg));
    pid_t ng = fork();
    assert_true(ng >= 0);
    if (ng == 0) {
        int dn = open("/dev/null", O_RDWR);
        dup2(dn, 1);
        dup2(dn, 2);
        execl("/usr/sbin/nginx", "nginx", "-p", f->dir, "-e", "stderr", "-c", conf, (char *)NULL);
        _exit(127);
    }
    int up = 0;
    for (int i = 0; i < 200 && !up; i++) {
        up = port_open(ports[0]) && port_open(ports[3]);
        if (!up)
            usleep(25000);
    }
    if (!up) {
        kill(ng, SIGKILL);
        waitpid(ng, NULL, 0);
        fail_msg("nginx did not start");
    }

    install_keys(f);
    struct update_online_info info;
    char url[100];
    struct update_online_opts o = {.base_url = url, .ca_file = cafile, .timeout_s = 20, .connect_timeout_s = 5};
    struct update_status st;
    assert_int_equal(update_slots_status(f->state, &st), 0);
    char *before = state_snapshot(f);

    /* refused: self-signed, wrong host name, expired — nothing downloaded, nothing changed */
    for (int i = 1; i < 4; i++) {
        snprintf(url, sizeof url, "https://127.0.0.1:%d", ports[i]);
        if (update_online_check(f->state, &o, MODEL, &info) != SAFECAM_ERR_DENIED)
            fail_msg("online check against the %s server was not refused", names[i]);
        struct update_online_info forged = {.version = "2.0.0", .security_version = 2,
                                            .bundle = "safecam-2.0.0.bundle", .size = blen};
        enum update_reason r;
        assert_int_not_equal(update_online_install(f->state, &o, &(struct update_session_opts){.model = MODEL},
                                                   &forged, &r), 0);
        char *now = state_snapshot(f);
        assert_string_equal(before, now);
        free(now);
    }
    /* a refused TLS connection never even opened an install session */
    char *last = NULL;
    assert_int_equal(update_last_result_read(f->state, &last), 0);
    assert_non_null(strstr(last, "\"idle\""));
    free(last);
    /* plain http and other schemes are refused before any connection */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ports[0]);
    assert_int_equal(update_online_check(f->state, &o, MODEL, &info), SAFECAM_ERR_INVAL);
    /* a CA file that is not the vendor's: the good server is refused too (no system store fallback) */
    snprintf(url, sizeof url, "https://127.0.0.1:%d", ports[0]);
    char othera[400];
    snprintf(othera, sizeof othera, "%s/selfsigned.crt", pki);
    struct update_online_opts o_wrong_ca = o;
    o_wrong_ca.ca_file = othera;
    assert_int_equal(update_online_check(f->state, &o_wrong_ca, MODEL, &info), SAFECAM_ERR_DENIED);

    /* the good server: newer version seen, tampered bundle refused, real bundle installed */
    assert_int_equal(update_online_check(f->state, &o, MODEL, &info), 0);
    assert_string_equal(info.version, "2.0.0");
    assert_int_equal(info.available, 1);
    struct update_online_info tampered = info;
    snprintf(tampered.bundle, sizeof tampered.bundle, "tampered.bundle");
    enum update_reason r;
    struct update_session_opts so = {.model = MODEL};
    assert_int_equal(update_online_install(f->state, &o, &so, &tampered, &r), SAFECAM_ERR_CRYPTO);
    assert_int_equal(r, UPDATE_HASH_MISMATCH);
    struct update_online_info missing = info;
    snprintf(missing.bundle, sizeof missing.bundle, "nope.bundle");
    assert_int_not_equal(update_online_install(f->state, &o, &so, &missing, &r), 0);
    char *now = state_snapshot(f);
    assert_string_equal(before, now);
    free(now);
    assert_int_equal(update_online_install(f->state, &o, &so, &info, &r), 0);
    assert_int_equal(r, UPDATE_OK);
    assert_int_equal(update_slots_status(f->state, &st), 0);
    assert_int_equal(st.trying, 'B');
    assert_int_equal(update_slot_verify(f->state, 'B'), 0);
    free(before);

    long d = update_online_next_delay_s();
    assert_true(d >= 82800 && d <= 90000);

    kill(ng, SIGTERM);
    waitpid(ng, NULL, 0);
}

int main(void)
{
    safecam_log_init("test_update", SAFECAM_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verifier_bad_inputs, setup, teardown),
        cmocka_unit_test(test_refused_header_counts_what_was_read),
        cmocka_unit_test_setup_teardown(test_verifier_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_and_health_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trust_and_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_from_device_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_boot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_during_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_online_check_nginx, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
