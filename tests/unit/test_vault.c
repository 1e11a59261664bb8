/* test_vault.c — unit tests for lib/vault (hashing, provisioning, logins, lockout, sessions, users,
 * settings, the IPC service table). Uses a temp state dir, the real audit log and an injected clock.
 * QCVN 135 G1, brute force and sessions / EN 303 645 5.1-1..5.1-5. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "safecam/audit.h"
#include "safecam/proto.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"
#include "safecam/vault_workers.h"

#include "../../lib/vault/vault_internal.h" /* white box: the hash lane vault_login_begin chooses */

#define ADMIN_PW "Qx7#vLp2!mZr-initial"
#define GOOD_PW "Hk4$wNc9@tRv-second"
#define GOOD_PW2 "Zp3%yBq8&uGd-third"
#define OP_PW "Mj6*eXs1^oWf-op"
#define SRC_A "192.0.2.10"
#define SRC_B "192.0.2.20"

struct fixture {
    char dir[256];
    audit_log *audit;
    vault *v;
    uint8_t key[SEAL_KEY_BYTES]; /* the storage key the CSRF key is sealed under */
    struct vault_service svc;
};

static int64_t fake_now = 1700000000;
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

static void rm_rf(const char *dir)
{
    static const char *const names[] = {STATEDIR_VAULT_DB,          STATEDIR_VAULT_DB "-wal", STATEDIR_VAULT_DB "-shm",
                                        STATEDIR_AUDIT_DB,          STATEDIR_AUDIT_DB "-wal", STATEDIR_AUDIT_DB "-shm",
                                        STATEDIR_DEVICE_JSON};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/factory", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/%s", dir, STATEDIR_VAULT_DIR);
    rmdir(path);
    rmdir(dir);
}

static int vault_reopen(struct fixture *f)
{
    vault_close(f->v);
    f->v = NULL;
    int rc = vault_open(f->dir, f->audit, f->key, &f->v);
    if (rc == 0)
        vault_clock_set(f->v, clock_fake, NULL);
    f->svc.v = f->v;
    return rc;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char hash[VAULT_HASH_BYTES], path[512];
    if (!f || sodium_init() < 0)
        return -1;
    vault_argon2_cost_set_for_tests(1, 8 * 1024); /* fast Argon2id for the unit tests only */
    snprintf(f->dir, sizeof f->dir, "/tmp/test_vault.XXXXXX");
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
    fake_now = 1700000000;
    f->svc = (struct vault_service){.audit = f->audit, .state_dir = f->dir, .storage_key = f->key};
    if (vault_reopen(f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vault_close(f->v);
    audit_log_close(f->audit);
    rm_rf(f->dir);
    free(f);
    vault_argon2_cost_set_for_tests(0, 0);
    return 0;
}

/* Send one request through the real dispatch table (as `peer`) and return the reply body. */
static int service_call(struct fixture *f, unsigned peer, uint16_t type, json_t *body, json_t **reply)
{
    int fds[2];
    const struct ipc_dispatcher *d = vault_service_dispatcher();
    struct ipc_channel_state st = {0};
    assert_int_equal(ipc_channel_pair(fds), 0);
    ipc_msg req = {.type = type, .flags = 0, .id = 7, .body = body, .fd = -1};
    int rc = ipc_dispatcher_run(d, &st, &f->svc, peer, fds[0], &req);
    *reply = NULL;
    if (rc == 0) {
        ipc_msg msg = {.fd = -1};
        assert_int_equal(ipc_recv(fds[1], &msg, 1000), 0);
        assert_true(msg.flags & IPC_FLAG_REPLY);
        *reply = json_incref(msg.body);
        ipc_msg_clear(&msg);
        /* No reply ever carries a password hash. */
        char *text = json_dumps(*reply, 0);
        assert_non_null(text);
        assert_null(strstr(text, "$argon2"));
        free(text);
    }
    json_decref(body);
    close(fds[0]);
    close(fds[1]);
    return rc;
}

static const char *reply_error(json_t *reply);

/* service_call with a descriptor passed along (still the caller's). */
static int service_call_fd(struct fixture *f, unsigned peer, uint16_t type, json_t *body, int fd, json_t **reply)
{
    int fds[2];
    struct ipc_channel_state st = {0};
    assert_int_equal(ipc_channel_pair(fds), 0);
    ipc_msg req = {.type = type, .flags = 0, .id = 7, .body = body, .fd = fd};
    int rc = ipc_dispatcher_run(vault_service_dispatcher(), &st, &f->svc, peer, fds[0], &req);
    *reply = NULL;
    if (rc == 0) {
        ipc_msg msg = {.fd = -1};
        assert_int_equal(ipc_recv(fds[1], &msg, 1000), 0);
        assert_int_equal(msg.fd, -1); /* never a clear copy in these refusals */
        *reply = json_incref(msg.body);
        ipc_msg_clear(&msg);
    }
    json_decref(body);
    close(fds[0]);
    close(fds[1]);
    return rc;
}

/* Uploads to a linked folder (docs/linked-services.md "Uploads"): the link process gets the clear copy only of a
 * segment the vault handed it, media hands over only a read-only regular file, and web may not ask at all. */
static void test_link_uploads_guarded(void **state)
{
    struct fixture *f = *state;
    static const char id[] = "00112233445566778899aabbccddeeff";
    json_t *r = NULL;
    int mfd = memfd_create("sealed", MFD_CLOEXEC);
    assert_true(mfd >= 0);
    assert_int_equal(service_call_fd(f, IPC_PEER_LINK, PROTO_VAULT_RECORDING_DECRYPT, json_pack("{s:s}", "id", id),
                                     mfd, &r),
                     0);
    assert_string_equal(reply_error(r), "sealed_mismatch"); /* never handed over */
    json_decref(r);
    assert_int_equal(service_call_fd(f, IPC_PEER_WEB, PROTO_VAULT_RECORDING_DECRYPT, json_pack("{s:s}", "id", id),
                                     mfd, &r),
                     SAFECAM_ERR_PROTO); /* not web's to ask: the channel is dropped, nothing answered */
    assert_null(r);
    /* media: a descriptor open for writing is refused, so is one that is not a regular file */
    json_t *seg = json_pack("{s:s,s:i,s:i,s:n}", "id", id, "start_ms", 1000, "end_ms", 2000, "event");
    assert_int_equal(service_call_fd(f, IPC_PEER_MEDIA, PROTO_VAULT_RECORDING_SEALED, json_incref(seg), mfd, &r), 0);
    assert_string_equal(reply_error(r), "invalid_request");
    assert_string_equal(json_string_value(json_object_get(r, "field")), "fd");
    json_decref(r);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(service_call_fd(f, IPC_PEER_MEDIA, PROTO_VAULT_RECORDING_SEALED, json_incref(seg), p[0], &r), 0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    /* a read-only regular file with no link process running: accepted, not forwarded */
    char path[512];
    snprintf(path, sizeof path, "%s/seg", f->dir);
    int w = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), ro = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(w >= 0 && ro >= 0);
    assert_int_equal(service_call_fd(f, IPC_PEER_MEDIA, PROTO_VAULT_RECORDING_SEALED, json_incref(seg), ro, &r), 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_is_false(json_object_get(r, "forwarded")));
    json_decref(r);
    /* and still not a segment the link process may ask for */
    assert_int_equal(service_call_fd(f, IPC_PEER_LINK, PROTO_VAULT_RECORDING_DECRYPT, json_pack("{s:s}", "id", id),
                                     ro, &r),
                     0);
    assert_string_equal(reply_error(r), "sealed_mismatch");
    json_decref(r);
    json_decref(seg);
    close(mfd);
    close(p[0]);
    close(p[1]);
    close(w);
    close(ro);
    unlink(path);
}

static const char *reply_error(json_t *reply)
{
    return json_string_value(json_object_get(reply, "error"));
}

static long audit_count(struct fixture *f, const char *type)
{
    struct audit_filter flt = {.type = type, .limit = 1000};
    json_t *events = NULL;
    assert_int_equal(audit_event_query(f->audit, &flt, &events), 0);
    long n = (long)json_array_size(events);
    json_decref(events);
    return n;
}

/* Log admin in and change the initial password so admin-only requests are allowed. */
static void admin_ready(struct fixture *f, struct vault_auth *a)
{
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, a), 0);
    assert_int_equal(vault_password_change(f->v, a->session_id, "admin", ADMIN_PW, GOOD_PW, SRC_A, reasons,
                                           &n, &retry, &nf),
                     0);
}

/* ---------------- hashing and provisioning ---------------- */

static void test_hash(void **state)
{
    (void)state;
    char h1[VAULT_HASH_BYTES], h2[VAULT_HASH_BYTES];
    assert_int_equal(vault_password_hash("correct horse", h1), 0);
    assert_int_equal(vault_password_hash("correct horse", h2), 0);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_string_not_equal(h1, h2); /* salted */
    assert_int_equal(vault_password_verify(h1, "correct horse"), 0);
    assert_int_equal(vault_password_verify(h1, "correct horsf"), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_password_verify("$2y$10$notargon", "x"), SAFECAM_ERR_INVAL);
    /* The product parameters: m=19 MiB (19456 KiB), t=2, p=1 (OWASP's minimum for Argon2id). */
    vault_argon2_cost_set_for_tests(0, 0);
    assert_int_equal(vault_password_hash("pw", h1), 0);
    assert_non_null(strstr(h1, "$m=19456,t=2,p=1$"));
    vault_argon2_cost_set_for_tests(1, 8 * 1024);
}

static void test_provision(void **state)
{
    struct fixture *f = *state;
    char hash[VAULT_HASH_BYTES], path[512];
    struct stat sb;
    assert_int_equal(vault_password_hash(ADMIN_PW, hash), 0);
    assert_int_equal(vault_store_provision(f->dir, "admin", hash, 0), SAFECAM_ERR_EXISTS);
    assert_int_equal(vault_store_provision(f->dir, "Admin", hash, 1), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_store_provision(f->dir, "admin", "plaintext", 1), SAFECAM_ERR_INVAL);
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_VAULT_DB);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    assert_true(vault_username_valid("a"));
    assert_true(vault_username_valid("op.1_x-y"));
    assert_false(vault_username_valid(""));
    assert_false(vault_username_valid("1abc"));
    assert_false(vault_username_valid("ab c"));
    assert_false(vault_username_valid("abcdefghijabcdefghijabcdefghijabc")); /* 33 */
    assert_true(vault_username_valid("abcdefghijabcdefghijabcdefghijab"));   /* 32 */
}

static void test_provision_force(void **state)
{
    struct fixture *f = *state;
    char hash[VAULT_HASH_BYTES];
    struct vault_auth a;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    vault_close(f->v);
    f->v = NULL;
    assert_int_equal(vault_password_hash(GOOD_PW, hash), 0);
    assert_int_equal(vault_store_provision(f->dir, "admin", hash, 1), 0);
    assert_int_equal(vault_reopen(f), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", GOOD_PW, SRC_A, "web", 0, &a), 0);
    assert_true(a.password_change_required);
}

/* ---------------- logins ---------------- */

static void test_login_ok_fail(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a, b;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    assert_string_equal(a.username, "admin");
    assert_string_equal(a.role, "admin");
    assert_true(a.password_change_required);
    assert_int_equal(strlen(a.session_id), VAULT_TOKEN_HEX);
    assert_int_equal(strlen(a.csrf_token), VAULT_TOKEN_HEX);
    assert_string_not_equal(a.session_id, a.csrf_token);
    assert_int_equal(vault_login(f->v, "admin", "wrong", SRC_A, "web", 1, &b), SAFECAM_ERR_DENIED);
    assert_int_equal(b.session_id[0], '\0');
    assert_int_equal(vault_login(f->v, "nobody", ADMIN_PW, SRC_A, "web", 1, &b), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", "", SRC_A, "web", 1, &b), SAFECAM_ERR_DENIED);
    /* malformed arguments: refused, not counted */
    char longpw[PASSWORD_MAX_BYTES + 2];
    memset(longpw, 'a', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    assert_int_equal(vault_login(f->v, "admin", longpw, SRC_A, "web", 1, &b), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "1.2.3.4; rm", "web", 1, &b), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "telnet", 1, &b), SAFECAM_ERR_INVAL);
    assert_int_equal(audit_count(f, AUDIT_LOGIN_SUCCESS), 1);
    assert_int_equal(audit_count(f, AUDIT_LOGIN_FAILURE), 3);
}

static void test_identical_answers(void **state)
{
    struct fixture *f = *state;
    json_t *r1 = NULL, *r2 = NULL, *r3 = NULL;
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                     json_pack("{s:s,s:s,s:s}", "username", "admin", "password", "nope", "source", SRC_A),
                     &r1),
        0);
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                     json_pack("{s:s,s:s,s:s}", "username", "ghost", "password", "nope", "source", SRC_A),
                     &r2),
        0);
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                     json_pack("{s:s,s:s,s:s}", "username", "Bad Name!", "password", "x", "source", SRC_A),
                     &r3),
        0);
    assert_true(json_equal(r1, r2));
    assert_true(json_equal(r1, r3));
    assert_string_equal(reply_error(r1), "invalid_credentials");
    assert_int_equal(json_object_size(r1), 1);
    json_decref(r1);
    json_decref(r2);
    json_decref(r3);
}

static double login_ms(vault *v, const char *user, const char *pw, const char *src)
{
    struct vault_auth a;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = vault_login(v, user, pw, src, "web", 0, &a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(rc, SAFECAM_ERR_DENIED);
    return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* Unknown user and wrong password cost the same: one Argon2id verify at the product cost each. */
static void test_identical_timing(void **state)
{
    /* Same work on both paths, proven by counting: one Argon2id verify with the product's cost parameters
     * for a known user with a wrong password and for an unknown user (the dummy hash). Wall-clock timing
     * belongs to bench/ and to the system test, not to a unit test on a noisy machine. */
    struct fixture *f = *state;
    char hash[VAULT_HASH_BYTES];
    vault_argon2_cost_set_for_tests(0, 0); /* product cost for hashes and the dummy */
    vault_close(f->v);
    f->v = NULL;
    assert_int_equal(vault_password_hash(ADMIN_PW, hash), 0);
    assert_int_equal(vault_store_provision(f->dir, "admin", hash, 1), 0);
    assert_int_equal(vault_reopen(f), 0);
    unsigned long n0, n1, n2;
    char p_known[64], p_unknown[64];
    vault_password_verify_stats_for_tests(&n0, p_known);
    double known = login_ms(f->v, "admin", "wrong-password", "10.0.0.1");
    vault_password_verify_stats_for_tests(&n1, p_known);
    double unknown = login_ms(f->v, "nosuchuser", "wrong-password", "10.0.0.2");
    vault_password_verify_stats_for_tests(&n2, p_unknown);
    print_message("wrong-password %.1f ms, unknown-user %.1f ms (for information only)\n", known, unknown);
    assert_int_equal(n1 - n0, 1);
    assert_int_equal(n2 - n1, 1);
    assert_string_equal(p_known, p_unknown);
    char expect[64];
    snprintf(expect, sizeof expect, "$argon2id$v=19$m=%zu,t=%llu,p=1", (size_t)VAULT_ARGON2_MEMLIMIT / 1024,
             (unsigned long long)VAULT_ARGON2_OPSLIMIT);
    assert_string_equal(p_known, expect);
    vault_argon2_cost_set_for_tests(1, 8 * 1024);
}

/* ---------------- lockout ---------------- */

static void test_lockout_threshold_duration(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 1, &a), SAFECAM_ERR_DENIED);
        fake_now += 1;
    }
    assert_int_equal(audit_count(f, AUDIT_LOCKOUT), 0);
    assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 1, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(audit_count(f, AUDIT_LOCKOUT), 1);
    /* locked: even the right password is refused, with retry_after */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), SAFECAM_ERR_LOCKED);
    assert_int_equal(a.retry_after, 300);
    assert_int_equal(a.session_id[0], '\0');
    json_t *r = NULL;
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                     json_pack("{s:s,s:s,s:s}", "username", "admin", "password", ADMIN_PW, "source", SRC_A),
                     &r),
        0);
    assert_string_equal(reply_error(r), "locked");
    assert_int_equal(json_integer_value(json_object_get(r, "retry_after")), 300);
    json_decref(r);
    /* RTSP shares the counters */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "rtsp", 0, &a), SAFECAM_ERR_LOCKED);
    fake_now += 299;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), SAFECAM_ERR_LOCKED);
    assert_int_equal(a.retry_after, 1);
    fake_now += 1;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    /* after the lock the count starts again from zero */
    for (int i = 0; i < 4; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 1, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
}

static void test_lockout_window(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    /* 4 failures, then 31 s later 4 more: never 5 within 30 s */
    for (int i = 0; i < 4; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    fake_now += 31;
    for (int i = 0; i < 4; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), 0);
    /* sliding: failures at t, t+20, and three at t+29 lock */
    assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    fake_now += 20;
    assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    fake_now += 9;
    for (int i = 0; i < 3; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_LOCKED);
}

static void test_lockout_configurable(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    const char *bad = NULL;
    long min, max;
    json_t *s =
        json_pack("{s:i,s:i,s:i}", "lockout_threshold", 3, "lockout_window_s", 60, "lockout_duration_s", 120);
    assert_int_equal(vault_settings_set_json(f->v, s, "admin", &bad, &min, &max), 0);
    json_decref(s);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
        fake_now += 25;
    }
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_LOCKED);
    assert_int_equal(a.retry_after, 120 - 25);
}

static void test_lockout_per_source(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    for (int i = 0; i < 5; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_LOCKED);
    /* another source is not affected */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_B, "web", 0, &a), 0);
    /* unknown names are counted and locked the same way (keyed by the given name) */
    for (int i = 0; i < 5; i++)
        assert_int_equal(vault_login(f->v, "ghost", "bad", SRC_B, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "ghost", "bad", SRC_B, "web", 0, &a), SAFECAM_ERR_LOCKED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_B, "web", 0, &a), 0);
}

/* A wall clock that goes back (camera without RTC before NTP) never turns a lock into a long one. */
static void test_lockout_clock_back(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    for (int i = 0; i < 4; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_B, "web", 0, &a), SAFECAM_ERR_DENIED);
    for (int i = 0; i < 5; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    fake_now -= 10LL * 365 * 24 * 3600;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_LOCKED);
    assert_true(a.retry_after > 0 && a.retry_after <= 300);
    fake_now += 300;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), 0);
    /* failures stamped "in the future" do not count towards a new lock */
    assert_int_equal(vault_login(f->v, "admin", "bad", SRC_B, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_B, "web", 0, &a), 0);
}

static int file_contains(const char *dir, const char *name, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

/* A password typed into the name field is counted, but never stored or audited as typed. */
static void test_mistyped_name_not_recorded(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    static const char typed[] = "Hunter2-Secret!";
    for (int i = 0; i < 5; i++)
        assert_int_equal(vault_login(f->v, typed, "x", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, typed, "x", SRC_A, "web", 0, &a), SAFECAM_ERR_LOCKED);
    struct audit_filter flt = {.type = AUDIT_LOGIN_FAILURE, .limit = 10};
    json_t *events = NULL;
    assert_int_equal(audit_event_query(f->audit, &flt, &events), 0);
    assert_int_equal(json_array_size(events), 5);
    const char *actor = json_string_value(json_object_get(json_array_get(events, 0), "actor"));
    assert_non_null(actor);
    assert_int_equal(actor[0], '~');
    assert_int_equal(strlen(actor), 33);
    json_decref(events);
    vault_close(f->v); /* checkpoint the WAL into the files */
    f->v = NULL;
    static const char *const files[] = {"vault.db", "vault.db-wal", "audit.db", "audit.db-wal"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_false(file_contains(f->dir, files[i], typed));
    assert_int_equal(vault_reopen(f), 0);
}

/* The hash lane depends on the source only: from a source the admin logged in from, a name that exists and
 * one that does not both take the trusted lane (a per-account choice answered the two at different speeds
 * under load: user enumeration, qcvn-check BF-03); from a new source both take the other. The admission
 * reserve stays per account. */
static void test_hash_lane_by_source_only(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    static const struct {
        const char *user, *src;
        int trusted, lane_trusted;
    } cases[] = {
        {"admin", SRC_A, 1, 1},
        {"nosuchuser", SRC_A, 0, 1},
        {"admin", SRC_B, 0, 0},
        {"nosuchuser", SRC_B, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vault_login_work w;
        int64_t retry = 0;
        assert_int_equal(
            vault_login_begin(f->v, cases[i].user, "wrong-password", cases[i].src, "web", 1, &w, &retry), 0);
        assert_int_equal(w.trusted, cases[i].trusted);
        assert_int_equal(w.lane_trusted, cases[i].lane_trusted);
        sodium_memzero(&w, sizeof w);
    }
}

/* An IPv6 client rotating through its /64 is one source; the next /64 is another. */
static void test_lockout_ipv6_prefix(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    for (int i = 0; i < 5; i++) {
        char src[64];
        snprintf(src, sizeof src, "2001:db8:0:7::%x", i + 1);
        assert_int_equal(vault_login(f->v, "admin", "bad", src, "web", 0, &a), SAFECAM_ERR_DENIED);
    }
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "2001:db8:0:7:ffff::99", "web", 0, &a),
                     SAFECAM_ERR_LOCKED);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "2001:db8:0:8::1", "web", 0, &a), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "::1", "web", 0, &a), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "::ffff:192.0.2.10", "web", 0, &a), 0);
}

static void test_lockout_survives_restart(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a, s;
    struct vault_session_info info;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_B, "web", 1, &s), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(vault_login(f->v, "admin", "bad", SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_reopen(f), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_LOCKED);
    assert_int_equal(vault_session_check(f->v, s.session_id, s.csrf_token, 0, &info), 0);
    assert_true(info.csrf_ok);
}

static void test_account_ceiling(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    const char *bad = NULL;
    long min, max;
    json_t *s = json_pack("{s:i}", "account_hourly_limit", 10);
    assert_int_equal(vault_settings_set_json(f->v, s, "admin", &bad, &min, &max), 0);
    json_decref(s);
    /* the owner logs in from home once: a known source */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), 0);
    /* a distributed attacker: 2 guesses from each of 5 addresses, never a per-source lock */
    for (int i = 0; i < 10; i++) {
        char src[32];
        snprintf(src, sizeof src, "198.51.100.%d", i / 2 + 1);
        assert_int_equal(vault_login(f->v, "admin", "guess", src, "web", 0, &a), SAFECAM_ERR_DENIED);
        fake_now += 10;
    }
    assert_int_equal(audit_count(f, AUDIT_LOCKOUT), 1);
    /* new sources are throttled, even with the right password */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "198.51.100.99", "web", 0, &a), SAFECAM_ERR_LOCKED);
    assert_true(a.retry_after > 0 && a.retry_after <= 3600);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "198.51.100.1", "web", 0, &a), SAFECAM_ERR_LOCKED);
    /* the owner's known source still works */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), 0);
    /* an hour later the failures have aged out */
    fake_now += 3600;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, "198.51.100.99", "web", 0, &a), 0);
}

/* ---------------- sessions ---------------- */

static void test_session_timeouts(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    struct vault_session_info info;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 0, &info), 0);
    assert_false(info.csrf_ok);
    assert_int_equal(vault_session_check(f->v, a.session_id, "00", 0, &info), 0);
    assert_false(info.csrf_ok);
    assert_int_equal(vault_session_check(f->v, a.session_id, a.csrf_token, 0, &info), 0);
    assert_true(info.csrf_ok);
    assert_string_equal(info.username, "admin");
    /* idle: 899 s keeps it (touch), 900 s without a touch ends it */
    fake_now += 899;
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), 0);
    fake_now += 899;
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 0, &info), 0);
    fake_now += 1;
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    assert_true(audit_count(f, AUDIT_SESSION_END) >= 1);
    /* absolute: touched every 800 s, it still ends after 8 h */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    int64_t start = fake_now;
    while (fake_now + 800 < start + 28800) {
        fake_now += 800;
        assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), 0);
    }
    fake_now = start + 28800;
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    /* malformed ids */
    assert_int_equal(vault_session_check(f->v, "", NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(vault_session_check(f->v, "zz", NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    char upper[VAULT_TOKEN_HEX + 1];
    memset(upper, 'A', VAULT_TOKEN_HEX);
    upper[VAULT_TOKEN_HEX] = '\0';
    assert_int_equal(vault_session_check(f->v, upper, NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
}

static void test_session_logout_and_housekeeping(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a, b;
    struct vault_session_info info;
    long n = 0;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &b), 0);
    assert_string_not_equal(a.session_id, b.session_id); /* a new id at every login */
    assert_string_not_equal(a.csrf_token, b.csrf_token);
    assert_int_equal(vault_session_end(f->v, a.session_id, SRC_A), 0);
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(vault_session_end(f->v, a.session_id, SRC_A), 0); /* already gone: fine */
    assert_int_equal(vault_session_check(f->v, b.session_id, NULL, 1, &info), 0);
    fake_now += 901;
    assert_int_equal(vault_housekeeping(f->v), 0);
    assert_int_equal(vault_session_count(f->v, "admin", &n), 0);
    assert_int_equal(n, 0);
    /* per-user cap */
    for (int i = 0; i < VAULT_SESSIONS_PER_USER_MAX + 3; i++)
        assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(vault_session_count(f->v, "admin", &n), 0);
    assert_int_equal(n, VAULT_SESSIONS_PER_USER_MAX);
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), 0);
}

static void test_password_change(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a, other, c;
    struct vault_session_info info;
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_B, "web", 1, &other), 0);
    /* the same password again is refused */
    assert_int_equal(vault_password_change(f->v, a.session_id, "admin", ADMIN_PW, ADMIN_PW, SRC_A, reasons,
                                           &n, &retry, &nf),
                     SAFECAM_ERR_POLICY);
    assert_string_equal(reasons[0], "same_as_current");
    /* weak password refused by the policy, with reasons */
    assert_int_equal(vault_password_change(f->v, a.session_id, "admin", ADMIN_PW, "short", SRC_A, reasons, &n,
                                           &retry, &nf),
                     SAFECAM_ERR_POLICY);
    assert_true(n >= 1);
    assert_null(reasons[n]);
    /* wrong current password */
    assert_int_equal(
        vault_password_change(f->v, a.session_id, "admin", "wrong", GOOD_PW, SRC_A, reasons, &n, &retry, &nf),
        SAFECAM_ERR_DENIED);
    /* bad session */
    assert_int_equal(
        vault_password_change(f->v, "00", "admin", ADMIN_PW, GOOD_PW, SRC_A, reasons, &n, &retry, &nf),
        SAFECAM_ERR_NOTFOUND);
    assert_int_equal(nf, 0);
    assert_int_equal(vault_password_change(f->v, a.session_id, "admin", ADMIN_PW, GOOD_PW, SRC_A, reasons, &n,
                                           &retry, &nf),
                     0);
    /* this session lives on, the flag is cleared; the other session ended */
    assert_int_equal(vault_session_check(f->v, a.session_id, NULL, 1, &info), 0);
    assert_false(info.password_change_required);
    assert_int_equal(vault_session_check(f->v, other.session_id, NULL, 1, &info), SAFECAM_ERR_NOTFOUND);
    /* the old password stops working at once on every surface */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "rtsp", 0, &c), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_login(f->v, "admin", GOOD_PW, SRC_A, "rtsp", 0, &c), 0);
    assert_int_equal(audit_count(f, AUDIT_PASSWORD_CHANGE), 1);
}

/* ---------------- users and roles ---------------- */

static void test_users_roles(void **state)
{
    struct fixture *f = *state;
    struct vault_auth adm, op;
    struct vault_session_info info;
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0;
    json_t *r = NULL;
    admin_ready(f, &adm);

    assert_int_equal(vault_user_create(f->v, "op1", OP_PW, "operator", "admin", reasons, &n), 0);
    assert_int_equal(vault_user_create(f->v, "op1", OP_PW, "operator", "admin", reasons, &n),
                     SAFECAM_ERR_EXISTS);
    assert_int_equal(vault_user_create(f->v, "Op2", OP_PW, "operator", "admin", reasons, &n),
                     SAFECAM_ERR_INVAL);
    assert_int_equal(vault_user_create(f->v, "op2", OP_PW, "root", "admin", reasons, &n), SAFECAM_ERR_STATE);
    assert_int_equal(vault_user_create(f->v, "op2", "password", "viewer", "admin", reasons, &n),
                     SAFECAM_ERR_POLICY);
    assert_true(n >= 1);
    assert_int_equal(vault_user_create(f->v, "viewer7", "Viewer7#Kq2pLx9", "viewer", "admin", reasons, &n),
                     SAFECAM_ERR_POLICY); /* contains the username */
    assert_int_equal(vault_user_create(f->v, "op2", "Ab1!SC7Q2KX9zz", "viewer", "admin", reasons, &n),
                     SAFECAM_ERR_POLICY); /* contains the serial */

    /* the new user must change the password first */
    assert_int_equal(vault_login(f->v, "op1", OP_PW, SRC_B, "web", 1, &op), 0);
    assert_true(op.password_change_required);
    assert_string_equal(op.role, "operator");
    /* an operator cannot change another user's password */
    assert_int_equal(
        vault_password_change(f->v, op.session_id, "admin", OP_PW, GOOD_PW2, SRC_B, reasons, &n, &retry, &nf),
        SAFECAM_ERR_STATE);
    /* admin-only requests are refused for an operator (and while its password change is pending) */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_USER_LIST,
                                  json_pack("{s:s}", "session_id", op.session_id), &r),
                     0);
    assert_string_equal(reply_error(r), "password_change_required");
    json_decref(r);
    assert_int_equal(
        vault_password_change(f->v, op.session_id, "op1", OP_PW, GOOD_PW2, SRC_B, reasons, &n, &retry, &nf),
        0);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_USER_LIST,
                                  json_pack("{s:s}", "session_id", op.session_id), &r),
                     0);
    assert_string_equal(reply_error(r), "forbidden");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_USER_DELETE,
                                  json_pack("{s:s,s:s}", "session_id", op.session_id, "username", "admin"),
                                  &r),
                     0);
    assert_string_equal(reply_error(r), "forbidden");
    json_decref(r);

    /* admin lists users: no hash in the answer */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_USER_LIST,
                                  json_pack("{s:s}", "session_id", adm.session_id), &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_t *users = json_object_get(r, "users");
    assert_int_equal(json_array_size(users), 2);
    assert_int_equal(json_object_size(json_array_get(users, 0)), 3);
    json_decref(r);

    /* last admin: can't be demoted or deleted */
    assert_int_equal(vault_user_update(f->v, "admin", "viewer", "admin"), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_user_delete(f->v, "admin", "admin"), SAFECAM_ERR_DENIED);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_USER_UPDATE,
                                  json_pack("{s:s,s:s,s:s}", "session_id", adm.session_id, "username",
                                            "admin", "role", "operator"),
                                  &r),
                     0);
    assert_string_equal(reply_error(r), "last_admin");
    json_decref(r);
    /* promote op1, then admin may be demoted; op1 is now the last admin */
    assert_int_equal(vault_user_update(f->v, "op1", "admin", "admin"), 0);
    assert_int_equal(vault_session_check(f->v, op.session_id, NULL, 0, &info), 0);
    assert_string_equal(info.role, "admin"); /* role changes apply to live sessions */
    assert_int_equal(vault_user_update(f->v, "admin", "viewer", "admin"), 0);
    assert_int_equal(vault_user_update(f->v, "op1", "operator", "admin"), SAFECAM_ERR_DENIED);
    assert_int_equal(vault_user_update(f->v, "nobody", "viewer", "admin"), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(vault_user_update(f->v, "admin", "superuser", "admin"), SAFECAM_ERR_STATE);
    /* deleting a user ends their sessions */
    assert_int_equal(vault_user_delete(f->v, "admin", "op1"), 0);
    assert_int_equal(vault_session_check(f->v, adm.session_id, NULL, 0, &info), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(vault_user_delete(f->v, "admin", "op1"), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(audit_count(f, AUDIT_USER_CREATE), 1);
    assert_int_equal(audit_count(f, AUDIT_USER_DELETE), 1);
}

static void test_user_cap(void **state)
{
    struct fixture *f = *state;
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    for (int i = 1; i < VAULT_USERS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", i);
        assert_int_equal(vault_user_create(f->v, name, OP_PW, "viewer", "admin", reasons, &n), 0);
    }
    assert_int_equal(vault_user_create(f->v, "onemore", OP_PW, "viewer", "admin", reasons, &n),
                     SAFECAM_ERR_TOOBIG);
    assert_int_equal(vault_user_delete(f->v, "u1", "admin"), 0);
    assert_int_equal(vault_user_create(f->v, "onemore", OP_PW, "viewer", "admin", reasons, &n), 0);
}

/* ---------------- settings ---------------- */

static void test_settings(void **state)
{
    struct fixture *f = *state;
    struct vault_settings s;
    const char *bad = NULL;
    long min = 0, max = 0;
    json_t *j;
    assert_int_equal(vault_settings_get(f->v, &s), 0);
    assert_int_equal(s.lockout_threshold, 5);
    assert_int_equal(s.lockout_window_s, 30);
    assert_int_equal(s.lockout_duration_s, 300);
    assert_int_equal(s.account_hourly_limit, 100);
    assert_int_equal(s.session_idle_s, 900);
    assert_int_equal(s.session_absolute_s, 28800);
    assert_int_equal(s.password_min_length, 8);

    static const struct {
        const char *field;
        long lo, hi;
    } ranges[] = {{"lockout_threshold", 3, 20},      {"lockout_window_s", 10, 3600},
                  {"lockout_duration_s", 60, 86400}, {"account_hourly_limit", 10, 10000},
                  {"session_idle_s", 60, 86400},     {"session_absolute_s", 300, 604800},
                  {"password_min_length", 8, 64}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        j = json_pack("{s:I}", ranges[i].field, (json_int_t)ranges[i].lo - 1);
        assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
        assert_string_equal(bad, ranges[i].field);
        assert_int_equal(min, ranges[i].lo);
        assert_int_equal(max, ranges[i].hi);
        json_decref(j);
        j = json_pack("{s:I}", ranges[i].field, (json_int_t)ranges[i].hi + 1);
        assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
        json_decref(j);
    }
    /* wrong types */
    j = json_pack("{s:s}", "lockout_threshold", "5");
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
    json_decref(j);
    j = json_pack("{s:f}", "lockout_threshold", 5.0);
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
    json_decref(j);
    j = json_pack("{s:b}", "lockout_threshold", 1);
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
    json_decref(j);
    /* unknown field; all or nothing */
    j = json_pack("{s:i,s:i}", "lockout_threshold", 7, "telnet_enabled", 1);
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_NOTFOUND);
    assert_string_equal(bad, "telnet_enabled");
    json_decref(j);
    j = json_pack("{s:i,s:i}", "lockout_threshold", 7, "lockout_window_s", 5);
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
    json_decref(j);
    /* idle may not exceed absolute */
    j = json_pack("{s:i,s:i}", "session_idle_s", 4000, "session_absolute_s", 3000);
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), SAFECAM_ERR_INVAL);
    json_decref(j);
    assert_int_equal(vault_settings_get(f->v, &s), 0);
    assert_int_equal(s.lockout_threshold, 5);
    /* a valid change persists across a restart */
    j = json_pack("{s:i,s:i,s:i}", "lockout_threshold", 7, "password_min_length", 12, "session_idle_s", 600);
    assert_int_equal(vault_settings_set_json(f->v, j, "admin", &bad, &min, &max), 0);
    json_decref(j);
    assert_int_equal(vault_reopen(f), 0);
    assert_int_equal(vault_settings_get(f->v, &s), 0);
    assert_int_equal(s.lockout_threshold, 7);
    assert_int_equal(s.password_min_length, 12);
    assert_int_equal(s.session_idle_s, 600);
    assert_int_equal(audit_count(f, AUDIT_CONFIG_CHANGE), 1);
    /* min length applies to new passwords */
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    assert_int_equal(vault_user_create(f->v, "v1", "Kq7#zWp2x", "viewer", "admin", reasons, &n),
                     SAFECAM_ERR_POLICY);
}

/* ---------------- the IPC service ---------------- */

static void test_service_peers_and_inputs(void **state)
{
    struct fixture *f = *state;
    struct vault_auth adm;
    json_t *r = NULL;
    admin_ready(f, &adm);
    /* narrowest peers: media may not log in or check sessions, web may not send supervisor messages */
    assert_int_equal(
        service_call(f, IPC_PEER_MEDIA, PROTO_VAULT_LOGIN,
                     json_pack("{s:s,s:s,s:s}", "username", "admin", "password", GOOD_PW, "source", SRC_A),
                     &r),
        SAFECAM_ERR_PROTO);
    assert_int_equal(service_call(f, IPC_PEER_MEDIA, PROTO_VAULT_SESSION_CHECK,
                                  json_pack("{s:s}", "session_id", adm.session_id), &r),
                     SAFECAM_ERR_PROTO);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_SUP_SHUTDOWN, json_object(), &r), SAFECAM_ERR_PROTO);
    assert_int_equal(service_call(f, IPC_PEER_WEB, 9999, json_object(), &r), SAFECAM_ERR_PROTO);
    assert_int_equal(service_call(f, IPC_PEER_SUPERVISOR, PROTO_VAULT_USER_LIST,
                                  json_pack("{s:s}", "session_id", adm.session_id), &r),
                     SAFECAM_ERR_PROTO);
    /* media may check RTSP credentials */
    assert_int_equal(service_call(f, IPC_PEER_MEDIA, PROTO_VAULT_AUTH_CHECK,
                                  json_pack("{s:s,s:s,s:s,s:s}", "username", "admin", "password", GOOD_PW,
                                            "source", SRC_A, "surface", "rtsp"),
                                  &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_null(json_object_get(r, "session_id"));
    json_decref(r);
    /* wrong types, extra fields (a client-declared login mode), over-long values */
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                     json_pack("{s:s,s:i,s:s}", "username", "admin", "password", 1, "source", SRC_A), &r),
        0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN,
                                  json_pack("{s:s,s:s,s:s,s:s}", "username", "admin", "password", "x",
                                            "source", SRC_A, "login_type", "trusted"),
                                  &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_LOGIN, json_pack("{s:s}", "username", "admin"), &r), 0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    /* session check through the service */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_SESSION_CHECK,
                                  json_pack("{s:s,s:s,s:b}", "session_id", adm.session_id, "csrf_token",
                                            adm.csrf_token, "touch", 1),
                                  &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "csrf_ok")));
    assert_string_equal(json_string_value(json_object_get(r, "role")), "admin");
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_SESSION_CHECK,
                                  json_pack("{s:s,s:i}", "session_id", adm.session_id, "touch", 1), &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    /* audit record: allowlisted types only, vault-owned types refused */
    assert_int_equal(
        service_call(f, IPC_PEER_SUPERVISOR, PROTO_VAULT_AUDIT_RECORD,
                     json_pack("{s:s,s:s}", "type", AUDIT_PROCESS_RESTART, "detail", "web restarted"), &r),
        0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_AUDIT_RECORD,
                                  json_pack("{s:s}", "type", AUDIT_LOGIN_SUCCESS), &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_type");
    json_decref(r);
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_AUDIT_RECORD, json_pack("{s:s}", "type", "rootkit"), &r),
        0);
    assert_string_equal(reply_error(r), "invalid_type");
    json_decref(r);
    /* the link process records its engine's events only */
    assert_int_equal(service_call(f, IPC_PEER_LINK, PROTO_VAULT_AUDIT_RECORD,
                                  json_pack("{s:s,s:s}", "type", AUDIT_LINK_CONNECTED, "detail", "service=mqtt"), &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_LINK, PROTO_VAULT_AUDIT_RECORD,
                                  json_pack("{s:s}", "type", AUDIT_PROCESS_RESTART), &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_type");
    json_decref(r);
    /* audit query (admin) */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_AUDIT_QUERY,
                                  json_pack("{s:s,s:s,s:i}", "session_id", adm.session_id, "type",
                                            AUDIT_PROCESS_RESTART, "limit", 10),
                                  &r),
                     0);
    assert_int_equal(json_array_size(json_object_get(r, "events")), 1);
    json_decref(r);
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_AUDIT_QUERY,
                                  json_pack("{s:s,s:i}", "session_id", adm.session_id, "limit", 5000), &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    /* settings through the service */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_SETTINGS_SET,
                                  json_pack("{s:s,s:{s:i}}", "session_id", adm.session_id, "settings",
                                            "lockout_threshold", 50),
                                  &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_setting");
    assert_string_equal(json_string_value(json_object_get(r, "field")), "lockout_threshold");
    assert_int_equal(json_integer_value(json_object_get(r, "max")), 20);
    json_decref(r);
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_SETTINGS_SET,
                     json_pack("{s:s,s:{s:i}}", "session_id", adm.session_id, "settings", "debug", 1), &r),
        0);
    assert_string_equal(reply_error(r), "unknown_field");
    json_decref(r);
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_SETTINGS_GET, json_pack("{s:s}", "session_id", "x"), &r),
        0);
    assert_string_equal(reply_error(r), "no_session");
    json_decref(r);
    /* password change policy reasons through the service */
    assert_int_equal(
        service_call(f, IPC_PEER_WEB, PROTO_VAULT_PASSWORD_CHANGE,
                     json_pack("{s:s,s:s,s:s,s:s,s:s}", "session_id", adm.session_id, "username", "admin",
                               "current_password", GOOD_PW, "new_password", "abc", "source", SRC_A),
                     &r),
        0);
    assert_string_equal(reply_error(r), "password_policy");
    assert_true(json_array_size(json_object_get(r, "reasons")) >= 1);
    json_decref(r);
    /* logout through the service */
    assert_int_equal(service_call(f, IPC_PEER_WEB, PROTO_VAULT_SESSION_END,
                                  json_pack("{s:s,s:s}", "session_id", adm.session_id, "source", SRC_A), &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    /* heartbeat and shutdown are the child-side protocol rows (lib/ipc/child.c, test_ipc_child.c), not
     * the vault's table; the supervisor may still record audit events */
    assert_int_equal(service_call(f, IPC_PEER_SUPERVISOR, PROTO_SUP_HEARTBEAT, json_object(), &r), SAFECAM_ERR_PROTO);
}

/* ---------------- the CSRF key at rest ---------------- */

static int meta_rows(struct fixture *f, const char *key)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_VAULT_DB);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM meta WHERE key = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void meta_exec(struct fixture *f, const char *sql)
{
    char path[512];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_VAULT_DB);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The CSRF key is stored sealed under the storage key, never in clear: vault.db alone forges no token,
 * another device's storage key does not open it, and a store from before the walls is migrated. */
static void test_csrf_key_sealed(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    struct vault_session_info info;
    assert_int_equal(meta_rows(f, "csrf_key"), 0);
    assert_int_equal(meta_rows(f, "csrf_key_sealed"), 1);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    /* the key survives a restart: the token still checks */
    assert_int_equal(vault_reopen(f), 0);
    assert_int_equal(vault_session_check(f->v, a.session_id, a.csrf_token, 0, &info), 0);
    /* another storage key: the vault refuses to open rather than make up a new CSRF key */
    uint8_t good[SEAL_KEY_BYTES];
    memcpy(good, f->key, sizeof good);
    f->key[0] ^= 1;
    assert_int_equal(vault_reopen(f), SAFECAM_ERR_CRYPTO);
    memcpy(f->key, good, sizeof good);
    /* a store from before the walls: the clear key is sealed and removed, tokens derived from it hold */
    vault_close(f->v);
    f->v = NULL;
    meta_exec(f, "DELETE FROM meta WHERE key = 'csrf_key_sealed';"
                 "INSERT INTO meta(key, value) VALUES('csrf_key', "
                 "'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff')");
    assert_int_equal(vault_reopen(f), 0);
    assert_int_equal(meta_rows(f, "csrf_key"), 0);
    assert_int_equal(meta_rows(f, "csrf_key_sealed"), 1);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(vault_reopen(f), 0);
    assert_int_equal(vault_session_check(f->v, a.session_id, a.csrf_token, 0, &info), 0);
}

/* ---------------- Argon2id cost upgrade ---------------- */

static void stored_hash(struct fixture *f, const char *user, char out[VAULT_HASH_BYTES])
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_VAULT_DB);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM users WHERE username = ?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, VAULT_HASH_BYTES, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A hash stored at an older cost keeps working; the next successful login stores one at the configured cost
 * (the cost travels in the PHC string); a failed login changes nothing. */
static void test_rehash_on_login(void **state)
{
    struct fixture *f = *state;
    struct vault_auth a;
    char h[VAULT_HASH_BYTES];
    stored_hash(f, "admin", h); /* provisioned at the fixture's cost: m=8 KiB, t=1 */
    assert_non_null(strstr(h, "$m=8,t=1,p=1$"));
    vault_argon2_cost_set_for_tests(2, 16 * 1024); /* "the product's cost changed" */
    assert_int_equal(vault_login(f->v, "admin", GOOD_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    stored_hash(f, "admin", h);
    assert_non_null(strstr(h, "$m=8,t=1,p=1$"));
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &a), 0);
    stored_hash(f, "admin", h);
    assert_non_null(strstr(h, "$m=16,t=2,p=1$"));
    assert_true(a.password_change_required); /* the flag is kept with the new hash */
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), 0);
    char h2[VAULT_HASH_BYTES];
    stored_hash(f, "admin", h2);
    assert_string_equal(h, h2); /* same cost now: no re-hash */
}

/* ---------------- the hash workers through the real dispatch table ---------------- */

static int test_channel_fd = -1;
static int channel_of(void *ctx, unsigned peer)
{
    (void)ctx;
    return peer == IPC_PEER_WEB ? test_channel_fd : -1;
}

static void dispatch_only(struct fixture *f, int sock, uint32_t id, uint16_t type, json_t *body)
{
    struct ipc_channel_state st = {0};
    ipc_msg req = {.type = type, .id = id, .body = body, .fd = -1};
    assert_int_equal(ipc_dispatcher_run(vault_service_dispatcher(), &st, &f->svc, IPC_PEER_WEB, sock, &req), 0);
    json_decref(body);
}

static json_t *login_body(const char *user, const char *pw, const char *source)
{
    return json_pack("{s:s,s:s,s:s}", "username", user, "password", pw, "source", source);
}

/* A login is answered late (by id) once a worker verified it; meanwhile the loop answers other requests;
 * beyond the per-source budget the answer is busy at once, and busy counts as no failure. */
static void test_service_deferred_logins(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    assert_int_equal(ipc_channel_pair(fds), 0);
    test_channel_fd = fds[0];
    f->svc.channel_fd = channel_of;
    assert_int_equal(vault_service_workers_start(&f->svc), 0);

    dispatch_only(f, fds[0], 11, PROTO_VAULT_LOGIN, login_body("admin", "wrong-1", SRC_B));
    dispatch_only(f, fds[0], 12, PROTO_VAULT_LOGIN, login_body("nobody", "wrong-2", SRC_B));
    /* nothing answered yet: both wait for (or run on) the workers */
    ipc_msg m = {.fd = -1};
    assert_int_equal(ipc_recv(fds[1], &m, 50), SAFECAM_ERR_TIMEOUT);
    /* a third from the same source: busy at once, with a Retry-After */
    dispatch_only(f, fds[0], 13, PROTO_VAULT_LOGIN, login_body("admin", "wrong-3", SRC_B));
    assert_int_equal(ipc_recv(fds[1], &m, 1000), 0);
    assert_int_equal(m.id, 13);
    assert_string_equal(json_string_value(json_object_get(m.body, "error")), "busy");
    assert_true(json_integer_value(json_object_get(m.body, "retry_after")) >= 1);
    ipc_msg_clear(&m);
    /* another source still gets in */
    dispatch_only(f, fds[0], 14, PROTO_VAULT_LOGIN, login_body("admin", ADMIN_PW, SRC_A));
    /* the workers finish; the loop answers each by its id */
    int answered = 0, seen[3] = {0, 0, 0};
    for (int round = 0; round < 200 && answered < 3; round++) {
        struct pollfd p = {.fd = vault_service_workers_fd(&f->svc), .events = POLLIN};
        if (poll(&p, 1, 100) == 1)
            vault_service_workers_finish(&f->svc);
        while (ipc_recv(fds[1], &m, 0) == 0) {
            assert_true(m.flags & IPC_FLAG_REPLY);
            assert_true(m.id >= 11 && m.id <= 14 && m.id != 13);
            const char *err = json_string_value(json_object_get(m.body, "error"));
            if (m.id == 14) {
                assert_true(json_is_true(json_object_get(m.body, "ok")));
                seen[2] = 1;
            } else {
                assert_string_equal(err, "invalid_credentials");
                seen[m.id - 11] = 1;
            }
            answered++;
            ipc_msg_clear(&m);
        }
    }
    assert_int_equal(answered, 3);
    assert_true(seen[0] && seen[1] && seen[2]);
    /* two failures counted for SRC_B (not three: busy is no failure): three more lock, two do not */
    for (int i = 0; i < 2; i++) {
        struct vault_auth a;
        assert_int_equal(vault_login(f->v, "admin", "wrong-x", SRC_B, "web", 0, &a), SAFECAM_ERR_DENIED);
    }
    struct vault_auth a;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_B, "web", 0, &a), 0);
    /* the peer's channel is replaced while a verify runs (web restarted): the answer is not sent to the new
     * channel, where the same request id may belong to another call */
    dispatch_only(f, fds[0], 21, PROTO_VAULT_LOGIN, login_body("admin", ADMIN_PW, SRC_A));
    vault_service_channel_changed(&f->svc, IPC_PEER_WEB);
    struct pollfd wp = {.fd = vault_service_workers_fd(&f->svc), .events = POLLIN};
    assert_int_equal(poll(&wp, 1, 10000), 1);
    vault_service_workers_finish(&f->svc);
    assert_int_equal(ipc_recv(fds[1], &m, 200), SAFECAM_ERR_TIMEOUT);
    /* a password change is verified and hashed on the workers too, and answered late: wrong current password
     * (invalid_credentials), then the right one (ok: the new password works, the old one not) */
    struct vault_auth sess;
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &sess), 0);
    const char *cases[2][2] = {{"wrong-current", "invalid_credentials"}, {ADMIN_PW, NULL}};
    for (int k = 0; k < 2; k++) {
        dispatch_only(f, fds[0], 31 + (uint32_t)k, PROTO_VAULT_PASSWORD_CHANGE,
                      json_pack("{s:s,s:s,s:s,s:s,s:s}", "session_id", sess.session_id, "username", "admin",
                                "current_password", cases[k][0], "new_password", GOOD_PW, "source", SRC_A));
        assert_int_equal(ipc_recv(fds[1], &m, 0), SAFECAM_ERR_TIMEOUT); /* not answered in the loop */
        int got = 0;
        for (int round = 0; round < 200 && !got; round++) {
            assert_int_equal(poll(&wp, 1, 100) >= 0, 1);
            vault_service_workers_finish(&f->svc);
            if (ipc_recv(fds[1], &m, 0) == 0)
                got = 1;
        }
        assert_true(got);
        assert_int_equal(m.id, 31 + (uint32_t)k);
        if (cases[k][1])
            assert_string_equal(json_string_value(json_object_get(m.body, "error")), cases[k][1]);
        else
            assert_true(json_is_true(json_object_get(m.body, "ok")));
        ipc_msg_clear(&m);
    }
    assert_int_equal(vault_login(f->v, "admin", GOOD_PW, SRC_A, "web", 0, &a), 0);
    assert_int_equal(vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 0, &a), SAFECAM_ERR_DENIED);
    vault_service_workers_stop(&f->svc);
    close(fds[0]);
    close(fds[1]);
    test_channel_fd = -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash_on_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_deferred_logins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provision_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_ok_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identical_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identical_timing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_threshold_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_configurable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_per_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_clock_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mistyped_name_not_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_lane_by_source_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_ipv6_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_ceiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_logout_and_housekeeping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_peers_and_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_uploads_guarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csrf_key_sealed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
