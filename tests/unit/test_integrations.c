/* test_integrations.c — WS-Security UsernameToken (Created window, nonce cache, PasswordDigest), integration
 * accounts in the vault (create/rotate/delete/list, sealed secret, one namespace with people) and their
 * authentication (password, WS digest, RTSP Digest) with the lockout, on an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <sodium.h>
#include <sqlite3.h>

#include "safecam/audit.h"
#include "safecam/proto.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"
#include "safecam/wsse.h"

#define ADMIN_PW "Qx7#vLp2!mZr-initial"
#define SRC_A "192.0.2.10"
#define SRC_B "192.0.2.20"
#define T0 1700000000 /* 2023-11-14T22:13:20Z */
#define T0_TEXT "2023-11-14T22:13:20Z"

/* ---------------- pure pieces ---------------- */

static void test_created_parse(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(wsse_created_parse(T0_TEXT, &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(wsse_created_parse("2023-11-14T22:13:20.123Z", &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(wsse_created_parse("2024-02-29T00:00:00Z", &t), 0);
    assert_int_equal(t, 1709164800);
    static const char *const bad[] = {"",
                                      "2023-11-14T22:13:20",       /* no zone */
                                      "2023-11-14T22:13:20+07:00", /* only UTC */
                                      "2023-11-14 22:13:20Z",
                                      "2023-02-29T00:00:00Z", /* not a leap year */
                                      "2023-13-01T00:00:00Z",
                                      "2023-11-14T24:00:00Z",
                                      "2023-11-14T22:13:20.Z",
                                      "1969-12-31T23:59:59Z",
                                      "2023-11-14T22:13:20.1234567890123456789Z",
                                      "2023-11-14T22:13:20ZZ",
                                      "+023-11-14T22:13:20Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wsse_created_parse(bad[i], &t), SAFECAM_ERR_INVAL);
}

static void test_created_window(void **state)
{
    (void)state;
    assert_int_equal(wsse_created_check(T0, T0, WSSE_WINDOW_S), 0);
    assert_int_equal(wsse_created_check(T0 - 300, T0, WSSE_WINDOW_S), 0);
    assert_int_equal(wsse_created_check(T0 + 300, T0, WSSE_WINDOW_S), 0);
    assert_int_equal(wsse_created_check(T0 - 301, T0, WSSE_WINDOW_S), SAFECAM_ERR_TIMEOUT); /* stale */
    assert_int_equal(wsse_created_check(T0 + 301, T0, WSSE_WINDOW_S), SAFECAM_ERR_TIMEOUT); /* future */
}

/* The example of the ONVIF Core specification (5.12.2.1). */
static void test_digest_vector(void **state)
{
    (void)state;
    uint8_t nonce[WSSE_NONCE_MAX_BYTES];
    size_t n = 0;
    assert_int_equal(wsse_nonce_decode("LKqI6G/AikKCQrN0zqZFlg==", nonce, &n), 0);
    assert_int_equal(n, 16);
    const char *secret = "userpassword";
    assert_int_equal(wsse_digest_verify(nonce, n, "2010-09-16T07:50:45Z", secret, strlen(secret),
                                        "tuOSpGlFlIXsozq4HFNeeGeFLEI="),
                     0);
    assert_int_equal(wsse_digest_verify(nonce, n, "2010-09-16T07:50:46Z", secret, strlen(secret),
                                        "tuOSpGlFlIXsozq4HFNeeGeFLEI="),
                     SAFECAM_ERR_DENIED);
    assert_int_equal(wsse_digest_verify(nonce, n, "2010-09-16T07:50:45Z", "userpassworD", strlen(secret),
                                        "tuOSpGlFlIXsozq4HFNeeGeFLEI="),
                     SAFECAM_ERR_DENIED);
    assert_int_equal(wsse_digest_verify(nonce, n, "2010-09-16T07:50:45Z", secret, strlen(secret), "tuOSpGl"),
                     SAFECAM_ERR_DENIED);
    assert_int_equal(wsse_digest_verify(nonce, n, "2010-09-16T07:50:45Z", secret, strlen(secret), "!!!!"),
                     SAFECAM_ERR_DENIED);
    /* nonces: without padding accepted, too short / junk / too long refused */
    assert_int_equal(wsse_nonce_decode("LKqI6G/AikKCQrN0zqZFlg", nonce, &n), 0);
    assert_int_equal(wsse_nonce_decode("QUJD", nonce, &n), SAFECAM_ERR_INVAL);
    assert_int_equal(wsse_nonce_decode("not base64 at all!", nonce, &n), SAFECAM_ERR_INVAL);
    assert_int_equal(wsse_nonce_decode("", nonce, &n), SAFECAM_ERR_INVAL);
    char big[200];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(wsse_nonce_decode(big, nonce, &n), SAFECAM_ERR_INVAL);
}

/* RFC 2617 3.5's example. */
static void test_rtsp_digest_vector(void **state)
{
    (void)state;
    char out[VAULT_DIGEST_HEX_MAX + 1];
    assert_int_equal(vault_digest_response("Mufasa", "testrealm@host.com", "Circle Of Life", NULL, "GET", "/dir/index.html",
                                           "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth", out),
                     0);
    assert_string_equal(out, "6629fae49393a05397450978507c4ef1");
}

/* RFC 7616 3.9.1's example, with MD5 and with SHA-256; an unknown algorithm is refused. */
static void test_http_digest_vectors(void **state)
{
    (void)state;
    char out[VAULT_DIGEST_HEX_MAX + 1];
    static const char *nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    static const char *cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    assert_int_equal(vault_digest_response("Mufasa", "http-auth@example.org", "Circle of Life", "MD5", "GET",
                                           "/dir/index.html", nonce, "00000001", cnonce, "auth", out),
                     0);
    assert_string_equal(out, "8ca523f5e9506fed4657c9700eebdbec");
    assert_int_equal(vault_digest_response("Mufasa", "http-auth@example.org", "Circle of Life", "SHA-256", "GET",
                                           "/dir/index.html", nonce, "00000001", cnonce, "auth", out),
                     0);
    assert_string_equal(out, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    assert_int_equal(vault_digest_response("Mufasa", "http-auth@example.org", "Circle of Life", "SHA-512-256",
                                           "GET", "/dir/index.html", nonce, "00000001", cnonce, "auth", out),
                     SAFECAM_ERR_INVAL);
}

static void test_nonce_cache(void **state)
{
    (void)state;
    wsse_nonce_cache *c = NULL;
    uint8_t a[16], b[16], d[16];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    memset(d, 3, sizeof d);
    assert_int_equal(wsse_nonce_cache_new(2, &c), 0);
    assert_int_equal(wsse_nonce_cache_admit(c, a, sizeof a, T0 + 10, T0), 0);
    assert_int_equal(wsse_nonce_cache_admit(c, a, sizeof a, T0 + 10, T0 + 1), SAFECAM_ERR_EXISTS); /* replay */
    assert_int_equal(wsse_nonce_cache_admit(c, b, sizeof b, T0 + 20, T0 + 1), 0);
    /* full of unexpired nonces: refused, and the earlier ones are still remembered */
    assert_int_equal(wsse_nonce_cache_admit(c, d, sizeof d, T0 + 20, T0 + 2), SAFECAM_ERR_BUSY);
    assert_int_equal(wsse_nonce_cache_count(c, T0 + 2), 2);
    assert_int_equal(wsse_nonce_cache_admit(c, a, sizeof a, T0 + 10, T0 + 2), SAFECAM_ERR_EXISTS);
    /* a expires at T0+10: its slot is reused */
    assert_int_equal(wsse_nonce_cache_admit(c, d, sizeof d, T0 + 30, T0 + 10), 0);
    assert_int_equal(wsse_nonce_cache_count(c, T0 + 10), 2);
    assert_int_equal(wsse_nonce_cache_admit(c, b, sizeof b, T0 + 30, T0 + 11), SAFECAM_ERR_EXISTS);
    assert_int_equal(wsse_nonce_cache_admit(c, a, sizeof a, T0 + 10, T0 + 10), SAFECAM_ERR_INVAL); /* expired */
    wsse_nonce_cache_free(c);
}

/* ---------------- the vault ---------------- */

struct fixture {
    char dir[256];
    audit_log *audit;
    vault *v;
    uint8_t key[SEAL_KEY_BYTES];
    struct vault_service svc;
};

static int64_t fake_now = T0;
static int64_t clock_fake(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char hash[VAULT_HASH_BYTES], path[512];
    if (!f || sodium_init() < 0)
        return -1;
    vault_argon2_cost_set_for_tests(1, 8 * 1024);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_integ.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/factory", f->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    write_file(f->dir, STATEDIR_DEVICE_JSON,
               "{\"serial\":\"SC7Q2KX9\",\"model\":\"SC-100\",\"mac\":\"02:5c:aa:10:20:30\","
               "\"product\":\"safecam\",\"provisioned_at\":1700000000}");
    if (vault_password_hash(ADMIN_PW, hash) != 0 || vault_store_provision(f->dir, "admin", hash, 0) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_AUDIT_DB);
    if (audit_log_open(path, &f->audit) != 0)
        return -1;
    randombytes_buf(f->key, sizeof f->key);
    fake_now = T0;
    if (vault_open(f->dir, f->audit, f->key, &f->v) != 0)
        return -1;
    vault_clock_set(f->v, clock_fake, NULL);
    f->svc = (struct vault_service){.v = f->v, .audit = f->audit, .state_dir = f->dir, .storage_key = f->key};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[400];
    vault_close(f->v);
    audit_log_close(f->audit);
    /* the test's own temporary directory */
    snprintf(cmd, sizeof cmd, "%s", f->dir);
    const char *names[] = {STATEDIR_VAULT_DB,      STATEDIR_VAULT_DB "-wal", STATEDIR_VAULT_DB "-shm",
                           STATEDIR_AUDIT_DB,      STATEDIR_AUDIT_DB "-wal", STATEDIR_AUDIT_DB "-shm",
                           STATEDIR_DEVICE_JSON};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
        unlink(p);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/factory", f->dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/%s", f->dir, STATEDIR_VAULT_DIR);
    rmdir(p);
    rmdir(cmd);
    free(f);
    vault_argon2_cost_set_for_tests(0, 0);
    return 0;
}

/* A PasswordDigest token for secret with a fresh random nonce. */
struct token {
    char nonce[64];
    char created[32];
    char digest[64];
};

static void token_make(const char *secret, int64_t created, struct token *t)
{
    uint8_t n[16], d[WSSE_DIGEST_BYTES];
    randombytes_buf(n, sizeof n);
    sodium_bin2base64(t->nonce, sizeof t->nonce, n, sizeof n, sodium_base64_VARIANT_ORIGINAL);
    time_t tt = (time_t)created;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(t->created, sizeof t->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_int_equal(wsse_digest_compute(n, sizeof n, t->created, secret, strlen(secret), d), 0);
    sodium_bin2base64(t->digest, sizeof t->digest, d, sizeof d, sodium_base64_VARIANT_ORIGINAL);
}

static int digest_check(struct fixture *f, const char *name, const struct token *t, const char *src,
                        const char **why)
{
    struct vault_auth a;
    return vault_wsse_digest_check(f->v, f->key, name, t->nonce, t->created, t->digest, src, &a, why);
}

static long audit_count(struct fixture *f, const char *type, const char *needle)
{
    struct audit_filter flt = {.type = type, .limit = 1000};
    json_t *events = NULL, *e;
    size_t i;
    long n = 0;
    assert_int_equal(audit_event_query(f->audit, &flt, &events), 0);
    json_array_foreach(events, i, e)
    {
        const char *d = json_string_value(json_object_get(e, "detail"));
        if (!needle || (d && strstr(d, needle)))
            n++;
    }
    json_decref(events);
    return n;
}

static void test_create_list_rotate_delete(void **state)
{
    struct fixture *f = *state;
    char s1[VAULT_INTEGRATION_SECRET_BUF], s2[VAULT_INTEGRATION_SECRET_BUF];
    json_t *list = NULL;
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", SRC_A, s1), 0);
    assert_int_equal(strlen(s1), VAULT_INTEGRATION_SECRET_CHARS);
    assert_true(strlen(s1) >= 20);
    /* bad names, duplicates (also a person's name), nothing changed */
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", SRC_A, s2), SAFECAM_ERR_EXISTS);
    assert_int_equal(vault_integration_create(f->v, f->key, "admin", "admin", SRC_A, s2), SAFECAM_ERR_EXISTS);
    assert_int_equal(vault_integration_create(f->v, f->key, "NVR", "admin", SRC_A, s2), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_integration_create(f->v, f->key, "1nvr", "admin", SRC_A, s2), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_integration_create(f->v, f->key, "", "admin", SRC_A, s2), SAFECAM_ERR_INVAL);
    assert_string_equal(s2, "");
    /* a person cannot take an integration's name */
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t nr = 0;
    assert_int_equal(vault_user_create(f->v, "nvr1", "Hk4$wNc9@tRv-second", "viewer", "admin", reasons, &nr),
                     SAFECAM_ERR_EXISTS);
    assert_int_equal(vault_integration_list(f->v, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_t *e = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(e, "username")), "nvr1");
    assert_string_equal(json_string_value(json_object_get(e, "role")), "viewer");
    assert_null(json_object_get(e, "secret"));
    char *text = json_dumps(list, 0);
    assert_null(strstr(text, s1));
    free(text);
    json_decref(list);
    /* the secret authenticates; rotation replaces it */
    struct vault_auth a;
    assert_int_equal(vault_integration_auth(f->v, f->key, "nvr1", s1, SRC_A, "rtsp", &a), 0);
    assert_string_equal(a.role, "viewer");
    assert_int_equal(vault_integration_rotate(f->v, f->key, "nvr1", "admin", SRC_A, s2), 0);
    assert_string_not_equal(s1, s2);
    assert_int_equal(vault_integration_auth(f->v, f->key, "nvr1", s1, SRC_A, "rtsp", &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_integration_auth(f->v, f->key, "nvr1", s2, SRC_A, "rtsp", &a), 0);
    assert_int_equal(vault_integration_rotate(f->v, f->key, "nvr9", "admin", SRC_A, s1), SAFECAM_ERR_NOTFOUND);
    /* never a web login */
    assert_int_equal(vault_login(f->v, "nvr1", s2, SRC_B, "web", 1, &a), SAFECAM_ERR_DENIED);
    /* the secret is stored sealed: the database file does not hold it */
    char path[512], *db = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_VAULT_DB);
    assert_int_equal(safecam_file_read(path, 64u << 20, &db, &len), 0);
    assert_null(memmem(db, len, s2, strlen(s2)));
    free(db);
    assert_int_equal(vault_integration_delete(f->v, "nvr1", "admin", SRC_A), 0);
    assert_int_equal(vault_integration_delete(f->v, "nvr1", "admin", SRC_A), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(vault_integration_auth(f->v, f->key, "nvr1", s2, SRC_A, "rtsp", &a), SAFECAM_ERR_DENIED);
    assert_int_equal(audit_count(f, AUDIT_INTEGRATION_CREATE, "integration=nvr1"), 1);
    assert_int_equal(audit_count(f, AUDIT_INTEGRATION_ROTATE, "integration=nvr1"), 1);
    assert_int_equal(audit_count(f, AUDIT_INTEGRATION_DELETE, "integration=nvr1"), 1);
    assert_int_equal(audit_count(f, AUDIT_LOGIN_SUCCESS, "integration password"), 2);
}

static void test_wsse_digest(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF];
    struct token t;
    const char *why = NULL;
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    token_make(s, T0, &t);
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), 0);
    /* the same token again: a replay (also from another address) */
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_B, &why), SAFECAM_ERR_EXISTS);
    assert_string_equal(why, "replay");
    fake_now = T0 + 200;
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), SAFECAM_ERR_EXISTS);
    /* stale and future Created */
    token_make(s, fake_now - 301, &t);
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), SAFECAM_ERR_TIMEOUT);
    assert_string_equal(why, "stale");
    token_make(s, fake_now + 301, &t);
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), SAFECAM_ERR_TIMEOUT);
    token_make(s, fake_now + 299, &t);
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), 0);
    /* missing nonce and Created */
    struct vault_auth a;
    token_make(s, fake_now, &t);
    assert_int_equal(vault_wsse_digest_check(f->v, f->key, "nvr1", NULL, t.created, t.digest, SRC_A, &a, &why),
                     SAFECAM_ERR_DENIED);
    assert_string_equal(why, "nonce");
    assert_int_equal(vault_wsse_digest_check(f->v, f->key, "nvr1", t.nonce, NULL, t.digest, SRC_A, &a, &why),
                     SAFECAM_ERR_DENIED);
    /* a person has no recomputable secret: a digest made with their password is refused */
    token_make(ADMIN_PW, fake_now, &t);
    assert_int_equal(digest_check(f, "admin", &t, SRC_B, &why), SAFECAM_ERR_DENIED);
    assert_string_equal(why, "credentials");
    assert_true(audit_count(f, AUDIT_LOGIN_FAILURE, "refused=replay") >= 2);
    assert_true(audit_count(f, AUDIT_LOGIN_FAILURE, "refused=stale") >= 2);
    assert_int_equal(audit_count(f, AUDIT_LOGIN_SUCCESS, "wsse=digest"), 2);
}

/* Every kind of refusal counts toward the lockout; the 6th try is refused as locked even with a good token. */
static void test_wsse_lockout(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF];
    struct token t, good;
    const char *why = NULL;
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    token_make("wrong-secret-of-24-chars", T0, &t);
    for (int i = 0; i < 3; i++) {
        token_make("wrong-secret-of-24-chars", T0, &t);
        assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), SAFECAM_ERR_DENIED);
    }
    token_make(s, T0 - 1000, &t);
    assert_int_equal(digest_check(f, "nvr1", &t, SRC_A, &why), SAFECAM_ERR_TIMEOUT);
    struct vault_auth a;
    assert_int_equal(vault_integration_auth(f->v, f->key, "nvr1", "nope", SRC_A, "rtsp", &a), SAFECAM_ERR_DENIED);
    token_make(s, T0, &good);
    assert_int_equal(digest_check(f, "nvr1", &good, SRC_A, &why), SAFECAM_ERR_LOCKED);
    assert_string_equal(why, "locked");
    /* another source is not locked */
    assert_int_equal(digest_check(f, "nvr1", &good, SRC_B, &why), 0);
    assert_int_equal(audit_count(f, AUDIT_LOCKOUT, NULL), 1);
}

/* A full cache refuses authentic tokens (busy, not counted) instead of forgetting unexpired nonces. */
static void test_wsse_cache_full(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF];
    struct token t[3];
    const char *why = NULL;
    vault_wsse_nonce_capacity_set(f->v, 2);
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    for (int i = 0; i < 3; i++)
        token_make(s, T0, &t[i]);
    assert_int_equal(digest_check(f, "nvr1", &t[0], SRC_A, &why), 0);
    assert_int_equal(digest_check(f, "nvr1", &t[1], SRC_A, &why), 0);
    for (int i = 0; i < 8; i++) /* more than the lockout threshold: busy is not a failure */
        assert_int_equal(digest_check(f, "nvr1", &t[2], SRC_A, &why), SAFECAM_ERR_BUSY);
    assert_string_equal(why, "busy");
    assert_int_equal(digest_check(f, "nvr1", &t[0], SRC_A, &why), SAFECAM_ERR_EXISTS);
    fake_now = T0 + WSSE_WINDOW_S + 1; /* the first two expired: t[2] is stale by now as well */
    assert_int_equal(digest_check(f, "nvr1", &t[2], SRC_A, &why), SAFECAM_ERR_TIMEOUT);
    struct token u;
    token_make(s, fake_now, &u);
    assert_int_equal(digest_check(f, "nvr1", &u, SRC_A, &why), 0);
}

static void test_rtsp_digest_check(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF], resp[VAULT_DIGEST_HEX_MAX + 1];
    struct vault_auth a;
    const char *why = NULL;
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    assert_int_equal(vault_digest_response("nvr1", "safecam", s, NULL, "DESCRIBE", "rtsps://127.0.0.1:8322/main",
                                           "0123abcd", "00000001", "c0ffee", "auth", resp),
                     0);
    struct vault_digest_request d = {.username = "nvr1", .realm = "safecam", .nonce = "0123abcd",
                                     .uri = "rtsps://127.0.0.1:8322/main", .method = "DESCRIBE", .response = resp,
                                     .qop = "auth", .nc = "00000001", .cnonce = "c0ffee", .source = SRC_A};
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), 0);
    assert_string_equal(a.role, "viewer");
    d.method = "SETUP"; /* the response covers the method */
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_DENIED);
    d.method = "DESCRIBE";
    d.username = "admin"; /* people: never by Digest */
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_DENIED);
}

/* HTTP Digest (the snapshot URI): SHA-256, each (nonce, nc) once, a replay counted toward the lockout. */
static void test_http_digest_check(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF], resp[VAULT_DIGEST_HEX_MAX + 1], resp2[VAULT_DIGEST_HEX_MAX + 1];
    struct vault_auth a;
    const char *why = NULL;
    /* a nonce as long as the web process makes (64 hex digits): the replay key once overran the cache's limit */
    const char *uri = "/api/v1/video/snapshot.jpg",
               *nonce = "00000000000002c2afc63beea65cb41dc60fdc890ef5d8f5b028f3fffcba5826";
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    assert_int_equal(vault_digest_response("nvr1", "safecam", s, "SHA-256", "GET", uri, nonce, "00000001", "c0",
                                           "auth", resp),
                     0);
    assert_int_equal(strlen(resp), 64);
    struct vault_digest_request d = {.username = "nvr1", .realm = "safecam", .nonce = nonce, .uri = uri,
                                     .method = "GET", .response = resp, .algorithm = "SHA-256", .qop = "auth",
                                     .nc = "00000001", .cnonce = "c0", .surface = "http", .replay_window_s = 300,
                                     .source = SRC_A};
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), 0);
    assert_string_equal(a.role, "viewer");
    /* the same request again: a replay */
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_DENIED);
    assert_string_equal(why, "replay");
    /* the next nc on the same nonce is fine */
    assert_int_equal(vault_digest_response("nvr1", "safecam", s, "SHA-256", "GET", uri, nonce, "00000002", "c0",
                                           "auth", resp2),
                     0);
    d.nc = "00000002";
    d.response = resp2;
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), 0);
    /* an MD5 response checked as SHA-256 is wrong; no qop on HTTP is refused */
    d.algorithm = "MD5";
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_DENIED);
    d.algorithm = "SHA-256";
    d.qop = NULL;
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_DENIED);
    d.qop = "auth";
    d.surface = "ftp";
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_INVAL);
    /* the failures above counted: two more and the account is locked, even with a fresh right answer */
    d.surface = "http";
    d.nc = "00000001";
    d.response = resp;
    for (int i = 0; i < 8; i++)
        if (vault_integration_digest_check(f->v, f->key, &d, &a, &why) == SAFECAM_ERR_LOCKED)
            break;
    assert_string_equal(why, "locked");
    d.nc = "00000003";
    assert_int_equal(vault_integration_digest_check(f->v, f->key, &d, &a, &why), SAFECAM_ERR_LOCKED);
}

/* Through the real dispatch table as the web process would call it. */
static int service_call(struct fixture *f, unsigned peer, uint16_t type, json_t *body, json_t **reply)
{
    int fds[2];
    struct ipc_channel_state st = {0};
    assert_int_equal(ipc_channel_pair(fds), 0);
    ipc_msg req = {.type = type, .flags = 0, .id = 7, .body = body, .fd = -1};
    int rc = ipc_dispatcher_run(vault_service_dispatcher(), &st, &f->svc, peer, fds[0], &req);
    *reply = NULL;
    if (rc == 0) {
        ipc_msg msg = {.fd = -1};
        assert_int_equal(ipc_recv(fds[1], &msg, 1000), 0);
        *reply = json_incref(msg.body);
        ipc_msg_clear(&msg);
    }
    json_decref(body);
    close(fds[0]);
    close(fds[1]);
    return rc;
}

static const char *err_of(json_t *r)
{
    return json_string_value(json_object_get(r, "error"));
}

static void test_service_wsse(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF];
    struct token t;
    json_t *r = NULL;
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    token_make(s, T0, &t);
#define WSSE(type_, pw_, nonce_, created_)                                                                   \
    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "username", "nvr1", "password_type", type_, "password", pw_, "nonce", \
              nonce_, "created", created_, "source", SRC_A)
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY, WSSE("digest", t.digest, t.nonce, t.created), &r), 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_string_equal(json_string_value(json_object_get(r, "role")), "viewer");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY, WSSE("digest", t.digest, t.nonce, t.created), &r), 0);
    assert_string_equal(err_of(r), "replay");
    json_decref(r);
    token_make(s, T0 - 400, &t);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY, WSSE("digest", t.digest, t.nonce, t.created), &r), 0);
    assert_string_equal(err_of(r), "stale");
    json_decref(r);
    /* text: the integration's secret, and a person's password against the Argon2id hash */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY,
                                  json_pack("{s:s,s:s,s:s,s:s}", "username", "nvr1", "password_type", "text",
                                            "password", s, "source", SRC_A),
                                  &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY,
                                  json_pack("{s:s,s:s,s:s,s:s}", "username", "admin", "password_type", "text",
                                            "password", ADMIN_PW, "source", SRC_A),
                                  &r),
                     0);
    assert_string_equal(json_string_value(json_object_get(r, "role")), "admin");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY,
                                  json_pack("{s:s,s:s,s:s,s:s}", "username", "admin", "password_type", "text",
                                            "password", "wrong", "source", SRC_A),
                                  &r),
                     0);
    assert_string_equal(err_of(r), "unauthorized");
    json_decref(r);
    assert_int_equal(audit_count(f, AUDIT_LOGIN_FAILURE, "surface=onvif"), 3); /* replay, stale, wrong */
    /* bad type, unknown key, and only web may ask */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY, WSSE("md5", "x", t.nonce, t.created), &r), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_WSSE_VERIFY,
                                  json_pack("{s:s,s:s,s:s,s:s,s:s}", "username", "nvr1", "password_type", "text",
                                            "password", s, "source", SRC_A, "role", "admin"),
                                  &r),
                     0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    assert_int_not_equal(
        service_call(f, IPC_PEER_MEDIA, PROTO_VAULT_WSSE_VERIFY, WSSE("digest", t.digest, t.nonce, t.created), &r), 0);
    json_decref(r);
#undef WSSE
}

/* RTSP Basic over TLS goes through AUTH_CHECK: an integration's secret works there, never for a web login. */
static void test_service_auth_check(void **state)
{
    struct fixture *f = *state;
    char s[VAULT_INTEGRATION_SECRET_BUF];
    json_t *r = NULL;
    assert_int_equal(vault_integration_create(f->v, f->key, "nvr1", "admin", NULL, s), 0);
    assert_int_equal(service_call(f, IPC_PEER_MEDIA, PROTO_VAULT_AUTH_CHECK,
                                  json_pack("{s:s,s:s,s:s,s:s}", "username", "nvr1", "password", s, "source", SRC_A,
                                            "surface", "rtsp"),
                                  &r),
                     0);
    assert_string_equal(json_string_value(json_object_get(r, "role")), "viewer");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                                  json_pack("{s:s,s:s,s:s}", "username", "nvr1", "password", s, "source", SRC_A), &r),
                     0);
    assert_string_equal(err_of(r), "invalid_credentials");
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_parse),
        cmocka_unit_test(test_created_window),
        cmocka_unit_test(test_digest_vector),
        cmocka_unit_test(test_rtsp_digest_vector),
        cmocka_unit_test(test_http_digest_vectors),
        cmocka_unit_test(test_nonce_cache),
        cmocka_unit_test_setup_teardown(test_create_list_rotate_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wsse_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wsse_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wsse_cache_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtsp_digest_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_digest_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_wsse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_auth_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
