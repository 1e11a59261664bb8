/* test_captures.c — unit tests for captures (lib/vault/capture.c through the vault's real dispatch
 * table, and the web-side helpers of lib/http/routes_captures.c): sealed at rest, roles, fd passing,
 * bounds (4 MiB, VAULT_CAPTURES_MAX), selective and full deletion with audit events, the captures table
 * added to an older vault.db on open. QCVN 135 G9, G10 / EN 303 645 5.4-1, 5.11-1. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/http/routes_captures.h"
#include "safecam/audit.h"
#include "safecam/proto.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"

#define ADMIN_PW "Qx7#vLp2!mZr-initial"
#define GOOD_PW "Hk4$wNc9@tRv-second"
#define VIEW_PW "Mj6*eXs1^oWf-view1"
#define VIEW_PW2 "Tb5&nKd8%qLs-view2"
#define SRC_A "192.0.2.10"

struct fixture {
    char dir[256];
    audit_log *audit;
    vault *v;
    uint8_t key[SEAL_KEY_BYTES];
    struct vault_service svc;
    struct vault_auth adm;
};

static int64_t fake_now = 1700000000;
static int64_t clock_fake(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
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
    vault_argon2_cost_set_for_tests(1, 8 * 1024);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_captures.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/factory", f->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_DEVICE_JSON);
    write_text(path, "{\"serial\":\"SC7Q2KX9\",\"model\":\"SC-100\",\"mac\":\"02:5c:aa:10:20:30\","
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
    /* an admin whose initial password is changed */
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0;
    if (vault_login(f->v, "admin", ADMIN_PW, SRC_A, "web", 1, &f->adm) != 0 ||
        vault_password_change(f->v, f->adm.session_id, "admin", ADMIN_PW, GOOD_PW, SRC_A, reasons, &n, &retry,
                              &nf) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vault_close(f->v);
    audit_log_close(f->audit);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    vault_argon2_cost_set_for_tests(0, 0);
    return 0;
}

/* One request through the real dispatch table as the web process, with an optional fd; the reply body
 * in *reply and the reply's fd (or -1) in *fd_out when fd_out is not NULL. */
static int call(struct fixture *f, unsigned peer, uint16_t type, json_t *body, int fd, json_t **reply, int *fd_out)
{
    int fds[2];
    const struct ipc_dispatcher *d = vault_service_dispatcher();
    struct ipc_channel_state st = {0};
    assert_int_equal(ipc_channel_pair(fds), 0);
    ipc_msg req = {.type = type, .flags = 0, .id = 9, .body = body, .fd = fd};
    int rc = ipc_dispatcher_run(d, &st, &f->svc, peer, fds[0], &req);
    *reply = NULL;
    if (fd_out)
        *fd_out = -1;
    if (rc == 0) {
        ipc_msg msg = {.fd = -1};
        assert_int_equal(ipc_recv(fds[1], &msg, 1000), 0);
        assert_true(msg.flags & IPC_FLAG_REPLY);
        *reply = json_incref(msg.body);
        if (fd_out) {
            *fd_out = msg.fd;
            msg.fd = -1;
        }
        ipc_msg_clear(&msg);
    }
    json_decref(body);
    close(fds[0]);
    close(fds[1]);
    return rc;
}

static const char *err_of(const json_t *reply)
{
    return json_string_value(json_object_get(reply, "error"));
}

/* A memfd holding a small fake JPEG (SOI ... EOI) with a recognisable marker; len >= 64. */
static int jpeg_memfd(size_t len, uint8_t fill)
{
    int fd = memfd_create("test-jpeg", MFD_CLOEXEC);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    memset(buf, fill, len);
    static const uint8_t head[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00};
    memcpy(buf, head, sizeof head);
    buf[len - 2] = 0xFF;
    buf[len - 1] = 0xD9;
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    free(buf);
    return fd; /* offset at the end: the vault must read from 0 with pread */
}

static json_t *admin_body(struct fixture *f)
{
    return json_pack("{s:s,s:s,s:s}", "session_id", f->adm.session_id, "actor", "admin", "source", SRC_A);
}

/* Store through the service; returns the new id (static buffer of the caller). */
static void store_ok(struct fixture *f, size_t len, uint8_t fill, char id[VAULT_CAPTURE_ID_HEX + 1])
{
    json_t *r = NULL;
    int fd = jpeg_memfd(len, fill);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), fd, &r, NULL), 0);
    close(fd);
    json_t *c = json_object_get(r, "capture");
    assert_true(json_is_true(json_object_get(r, "ok")));
    const char *cid = json_string_value(json_object_get(c, "id"));
    assert_true(vault_capture_id_valid(cid));
    assert_int_equal(json_integer_value(json_object_get(c, "size")), (json_int_t)len);
    assert_int_equal(json_integer_value(json_object_get(c, "created_at")), fake_now);
    memcpy(id, cid, VAULT_CAPTURE_ID_HEX + 1);
    json_decref(r);
}

static void sealed_path(struct fixture *f, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/%s/%s.sealed", f->dir, STATEDIR_CAPTURES, id);
}

static long audit_count(struct fixture *f, const char *type, const char *detail)
{
    struct audit_filter flt = {.type = type, .limit = 1000};
    json_t *events = NULL, *e;
    size_t i;
    long n = 0;
    assert_int_equal(audit_event_query(f->audit, &flt, &events), 0);
    json_array_foreach(events, i, e) {
        if (!detail || strcmp(json_string_value(json_object_get(e, "detail")), detail) == 0)
            n++;
    }
    json_decref(events);
    return n;
}

/* A viewer with a changed password; its session id in sid. */
static void viewer_ready(struct fixture *f, char sid[VAULT_TOKEN_HEX + 1])
{
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0;
    struct vault_auth a;
    assert_int_equal(vault_user_create(f->v, "viewer1", VIEW_PW, "viewer", "admin", reasons, &n), 0);
    assert_int_equal(vault_login(f->v, "viewer1", VIEW_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(vault_password_change(f->v, a.session_id, "viewer1", VIEW_PW, VIEW_PW2, SRC_A, reasons, &n,
                                           &retry, &nf),
                     0);
    memcpy(sid, a.session_id, VAULT_TOKEN_HEX + 1);
}

/* Number of entries in dir other than . and .. (0 when it does not exist). */
static int dir_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ---------------- tests ---------------- */

static void test_store_sealed_list_get(void **state)
{
    struct fixture *f = *state;
    char id1[VAULT_CAPTURE_ID_HEX + 1], id2[VAULT_CAPTURE_ID_HEX + 1], path[600];
    struct stat sb;
    json_t *r = NULL;
    store_ok(f, 5000, 0x41, id1);
    fake_now += 5;
    store_ok(f, 7000, 0x42, id2);
    assert_string_not_equal(id1, id2);

    /* sealed at rest: dir 0700, file 0600, no JPEG bytes, the seal header */
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_CAPTURES);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0700);
    sealed_path(f, id1, path, sizeof path);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, 5000 + SEAL_OVERHEAD_BYTES);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *raw = malloc((size_t)sb.st_size);
    assert_non_null(raw);
    assert_int_equal(fread(raw, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
    fclose(fp);
    assert_memory_equal(raw, "SCS1", 4);
    assert_null(memmem(raw, (size_t)sb.st_size, "JFIF", 4));
    static const uint8_t run[16] = {0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41,
                                    0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41};
    assert_null(memmem(raw, (size_t)sb.st_size, run, sizeof run));
    free(raw);

    /* list: newest first, any role */
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_LIST,
                          json_pack("{s:s}", "session_id", f->adm.session_id), -1, &r, NULL),
                     0);
    json_t *list = json_object_get(r, "captures");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), id2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "id")), id1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "size")), 5000);
    json_decref(r);

    /* get: a memfd at offset 0 with exactly the stored bytes */
    int fd = -1;
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id", id2), -1, &r, &fd),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "size")), 7000);
    assert_true(fd >= 0);
    uint64_t size = 0;
    assert_int_equal(http_capture_fd_check(fd, r, &size), 0);
    assert_int_equal(size, 7000);
    uint8_t buf[8000];
    assert_int_equal(read(fd, buf, sizeof buf), 7000);
    assert_int_equal(buf[0], 0xFF);
    assert_int_equal(buf[1], 0xD8);
    assert_int_equal(buf[2], 0xFF);
    assert_int_equal(buf[100], 0x42);
    assert_int_equal(buf[6999], 0xD9);
    close(fd);
    json_decref(r);

    /* unknown and malformed ids */
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id",
                                    "0123456789abcdef0123456789abcdef"),
                          -1, &r, &fd),
                     0);
    assert_string_equal(err_of(r), "not_found");
    assert_int_equal(fd, -1);
    json_decref(r);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id", "../../vault.db"), -1, &r,
                          &fd),
                     0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id",
                                    "0123456789ABCDEF0123456789ABCDEF"),
                          -1, &r, &fd),
                     0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);

    /* one capture's sealed file copied over another's of the very same picture and size (same key):
     * refused, because the id is part of what the seal authenticates */
    {
        char id3[VAULT_CAPTURE_ID_HEX + 1], p1[600], p3[600];
        store_ok(f, 5000, 0x41, id3);
        sealed_path(f, id1, p1, sizeof p1);
        sealed_path(f, id3, p3, sizeof p3);
        assert_int_equal(unlink(p3), 0);
        assert_int_equal(link(p1, p3), 0);
        assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                              json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id", id3), -1, &r, &fd),
                         0);
        assert_string_equal(err_of(r), "storage");
        assert_int_equal(fd, -1);
        json_decref(r);
        long n = 0;
        assert_int_equal(vault_capture_delete(f->v, id3, NULL, NULL, &n), 0);
        assert_int_equal(n, 1);
    }
    /* a tampered file is refused (authenticated encryption), never handed out */
    sealed_path(f, id1, path, sizeof path);
    int wfd = open(path, O_WRONLY);
    assert_true(wfd >= 0);
    assert_int_equal(pwrite(wfd, "\x00", 1, 100), 1);
    close(wfd);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id", id1), -1, &r, &fd),
                     0);
    assert_string_equal(err_of(r), "storage");
    assert_int_equal(fd, -1);
    json_decref(r);
    /* sealed under another key (a factory reset made a new one): unreadable */
    randombytes_buf(f->key, sizeof f->key);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "id", id2), -1, &r, &fd),
                     0);
    assert_string_equal(err_of(r), "storage");
    json_decref(r);
}

static void test_store_refusals(void **state)
{
    struct fixture *f = *state;
    json_t *r = NULL;
    char path[600];
    /* not a JPEG */
    int fd = memfd_create("x", MFD_CLOEXEC);
    assert_int_equal(write(fd, "GIF89a....", 10), 10);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), fd, &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    close(fd);
    /* empty */
    fd = memfd_create("x", MFD_CLOEXEC);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), fd, &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    close(fd);
    /* 4 MiB is the cap; one byte more is too_large */
    fd = jpeg_memfd(VAULT_CAPTURE_MAX_BYTES + 1, 0x11);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), fd, &r, NULL), 0);
    assert_string_equal(err_of(r), "too_large");
    json_decref(r);
    close(fd);
    /* a pipe (no pread) and no fd at all */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "\xff\xd8\xff\xe0", 4), 4);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), p[0], &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    close(p[0]);
    close(p[1]);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), -1, &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    assert_string_equal(json_string_value(json_object_get(r, "field")), "fd");
    json_decref(r);
    /* unknown field; unknown session */
    fd = jpeg_memfd(100, 1);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE,
                          json_pack("{s:s,s:s}", "session_id", f->adm.session_id, "path", "/etc/passwd"), fd, &r,
                          NULL),
                     0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE,
                          json_pack("{s:s}", "session_id", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
                          fd, &r, NULL),
                     0);
    assert_string_equal(err_of(r), "no_session");
    json_decref(r);
    /* only the web process may ask */
    assert_int_equal(call(f, IPC_PEER_MEDIA, PROTO_VAULT_CAPTURE_STORE, admin_body(f), fd, &r, NULL),
                     SAFECAM_ERR_PROTO);
    assert_int_equal(call(f, IPC_PEER_MEDIA, PROTO_VAULT_CAPTURE_LIST,
                          json_pack("{s:s}", "session_id", f->adm.session_id), -1, &r, NULL),
                     SAFECAM_ERR_PROTO);
    assert_int_equal(call(f, IPC_PEER_UPDATE, PROTO_VAULT_CAPTURE_DELETE,
                          json_pack("{s:s,s:b}", "session_id", f->adm.session_id, "all", 1), -1, &r, NULL),
                     SAFECAM_ERR_PROTO);
    close(fd);
    /* nothing was stored by any of these */
    json_t *list = NULL;
    assert_int_equal(vault_capture_list(f->v, &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_CAPTURES);
    assert_int_equal(dir_files(path), 0);
}

static void test_roles(void **state)
{
    struct fixture *f = *state;
    char sid[VAULT_TOKEN_HEX + 1], id[VAULT_CAPTURE_ID_HEX + 1];
    json_t *r = NULL;
    int fd;
    store_ok(f, 300, 0x33, id);
    viewer_ready(f, sid);
    fd = jpeg_memfd(200, 2);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, json_pack("{s:s}", "session_id", sid), fd, &r,
                          NULL),
                     0);
    close(fd);
    assert_string_equal(err_of(r), "forbidden");
    json_decref(r);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE,
                          json_pack("{s:s,s:s}", "session_id", sid, "id", id), -1, &r, NULL),
                     0);
    assert_string_equal(err_of(r), "forbidden");
    json_decref(r);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_LIST, json_pack("{s:s}", "session_id", sid), -1, &r,
                          NULL),
                     0);
    assert_int_equal(json_array_size(json_object_get(r, "captures")), 1);
    json_decref(r);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_GET,
                          json_pack("{s:s,s:s}", "session_id", sid, "id", id), -1, &r, &fd),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(fd >= 0);
    close(fd);
    json_decref(r);
    /* a session that must still change its initial password sees nothing */
    struct vault_auth a;
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    assert_int_equal(vault_user_create(f->v, "viewer2", VIEW_PW, "viewer", "admin", reasons, &n), 0);
    assert_int_equal(vault_login(f->v, "viewer2", VIEW_PW, SRC_A, "web", 1, &a), 0);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_LIST, json_pack("{s:s}", "session_id", a.session_id),
                          -1, &r, NULL),
                     0);
    assert_string_equal(err_of(r), "password_change_required");
    json_decref(r);
}

static void test_delete(void **state)
{
    struct fixture *f = *state;
    char id1[VAULT_CAPTURE_ID_HEX + 1], id2[VAULT_CAPTURE_ID_HEX + 1], id3[VAULT_CAPTURE_ID_HEX + 1];
    char path[600], detail[64];
    struct stat sb;
    json_t *r = NULL;
    store_ok(f, 1000, 1, id1);
    store_ok(f, 1000, 2, id2);
    store_ok(f, 1000, 3, id3);
    /* neither id nor all, both, all:false: refused, nothing deleted */
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE, admin_body(f), -1, &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    json_t *b = admin_body(f);
    json_object_set_new(b, "id", json_string(id1));
    json_object_set_new(b, "all", json_true());
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE, b, -1, &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    b = admin_body(f);
    json_object_set_new(b, "all", json_false());
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE, b, -1, &r, NULL), 0);
    assert_string_equal(err_of(r), "invalid_request");
    json_decref(r);
    assert_int_equal(audit_count(f, AUDIT_DATA_DELETE, NULL), 0);

    /* one capture */
    b = admin_body(f);
    json_object_set_new(b, "id", json_string(id2));
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE, b, -1, &r, NULL), 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "deleted")), 1);
    json_decref(r);
    sealed_path(f, id2, path, sizeof path);
    assert_int_equal(lstat(path, &sb), -1);
    sealed_path(f, id1, path, sizeof path);
    assert_int_equal(lstat(path, &sb), 0);
    snprintf(detail, sizeof detail, "capture %s", id2);
    assert_int_equal(audit_count(f, AUDIT_DATA_DELETE, detail), 1);
    /* again: not found, no second event */
    b = admin_body(f);
    json_object_set_new(b, "id", json_string(id2));
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE, b, -1, &r, NULL), 0);
    assert_string_equal(err_of(r), "not_found");
    json_decref(r);
    assert_int_equal(audit_count(f, AUDIT_DATA_DELETE, NULL), 1);

    /* a leftover temporary file is swept by delete-all too */
    snprintf(path, sizeof path, "%s/%s/%s.sealed.tmp.1", f->dir, STATEDIR_CAPTURES, id3);
    write_text(path, "leftover");
    b = admin_body(f);
    json_object_set_new(b, "all", json_true());
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_DELETE, b, -1, &r, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "deleted")), 2);
    json_decref(r);
    assert_int_equal(lstat(path, &sb), -1);
    sealed_path(f, id1, path, sizeof path);
    assert_int_equal(lstat(path, &sb), -1);
    assert_int_equal(audit_count(f, AUDIT_DATA_DELETE, "all captures (2)"), 1);
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_CAPTURES);
    assert_int_equal(dir_files(path), 0);
    json_t *list = NULL;
    assert_int_equal(vault_capture_list(f->v, &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    /* the audited actor and source */
    struct audit_filter flt = {.type = AUDIT_DATA_DELETE, .limit = 1};
    json_t *events = NULL;
    assert_int_equal(audit_event_query(f->audit, &flt, &events), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "actor")), "admin");
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "source")), SRC_A);
    json_decref(events);
}

static void test_limit(void **state)
{
    struct fixture *f = *state;
    struct vault_capture c;
    json_t *r = NULL;
    int fd = jpeg_memfd(64, 7);
    for (int i = 0; i < VAULT_CAPTURES_MAX; i++)
        assert_int_equal(vault_capture_store(f->v, f->key, fd, &c), 0);
    assert_int_equal(call(f, IPC_PEER_WEB, PROTO_VAULT_CAPTURE_STORE, admin_body(f), fd, &r, NULL), 0);
    assert_string_equal(err_of(r), "storage_full");
    json_decref(r);
    json_t *list = NULL;
    assert_int_equal(vault_capture_list(f->v, &list), 0);
    assert_int_equal(json_array_size(list), VAULT_CAPTURES_MAX);
    json_decref(list);
    long n = 0;
    assert_int_equal(vault_capture_delete(f->v, NULL, "admin", NULL, &n), 0);
    assert_int_equal(n, VAULT_CAPTURES_MAX);
    assert_int_equal(vault_capture_store(f->v, f->key, fd, &c), 0);
    close(fd);
}

static void test_old_db_gets_table(void **state)
{
    struct fixture *f = *state;
    char path[600];
    sqlite3 *db = NULL;
    vault_close(f->v);
    f->v = NULL;
    snprintf(path, sizeof path, "%s/%s", f->dir, STATEDIR_VAULT_DB);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE captures", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(vault_reopen(f), 0);
    json_t *list = NULL;
    assert_int_equal(vault_capture_list(f->v, &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    char id[VAULT_CAPTURE_ID_HEX + 1];
    assert_int_equal(vault_login(f->v, "admin", GOOD_PW, SRC_A, "web", 1, &f->adm), 0);
    store_ok(f, 500, 9, id);
}

/* ---------------- web-side helpers ---------------- */

static void test_http_helpers(void **state)
{
    (void)state;
    char buf[128];
    assert_true(http_capture_id_valid("0123456789abcdef0123456789abcdef"));
    assert_false(http_capture_id_valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(http_capture_id_valid("0123456789abcdef0123456789abcde"));
    assert_false(http_capture_id_valid("0123456789abcdef0123456789abcdef0"));
    assert_false(http_capture_id_valid("0123456789abcdef0123456789abcdeg"));
    assert_false(http_capture_id_valid(NULL));
    assert_int_equal(http_capture_disposition("0123456789abcdef0123456789abcdef", buf, sizeof buf), 0);
    assert_string_equal(buf, "attachment; filename=\"capture-0123456789abcdef0123456789abcdef.jpg\"");
    assert_int_not_equal(http_capture_disposition("x\"; evil", buf, sizeof buf), 0);

    /* spool: a pipe read to EOF into a memfd at offset 0 */
    int p[2], mfd = -1;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "\xff\xd8\xff\xe0hello\xff\xd9", 11), 11);
    close(p[1]);
    assert_int_equal(http_capture_spool(p[0], 1000, 2000, &mfd), 0);
    close(p[0]);
    assert_true(mfd >= 0);
    assert_int_equal(read(mfd, buf, sizeof buf), 11);
    assert_memory_equal(buf, "\xff\xd8\xff\xe0hello", 9);
    close(mfd);
    /* over the cap, not a JPEG, empty, a writer that never finishes */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "\xff\xd8\xff\xe0hello\xff\xd9", 11), 11);
    close(p[1]);
    assert_int_equal(http_capture_spool(p[0], 10, 2000, &mfd), SAFECAM_ERR_TOOBIG);
    assert_int_equal(mfd, -1);
    close(p[0]);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "<html>", 6), 6);
    close(p[1]);
    assert_int_equal(http_capture_spool(p[0], 1000, 2000, &mfd), SAFECAM_ERR_INVAL);
    close(p[0]);
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    assert_int_equal(http_capture_spool(p[0], 1000, 2000, &mfd), SAFECAM_ERR_INVAL);
    close(p[0]);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "\xff\xd8", 2), 2);
    assert_int_equal(http_capture_spool(p[0], 1000, 200, &mfd), SAFECAM_ERR_TIMEOUT);
    close(p[0]);
    close(p[1]);

    /* answers: allowlisted fields only, malformed items dropped */
    json_t *out = NULL;
    json_t *reply = json_pack("{s:b,s:[{s:s,s:i,s:i,s:s},{s:s,s:i,s:i}]}", "ok", 1, "captures", "id",
                              "0123456789abcdef0123456789abcdef", "created_at", 5, "size", 10, "path", "/x", "id",
                              "../etc", "created_at", 5, "size", 10);
    assert_int_equal(http_capture_list_answer(reply, &out), 200);
    json_t *items = json_object_get(out, "captures");
    assert_int_equal(json_array_size(items), 1);
    assert_null(json_object_get(json_array_get(items, 0), "path"));
    json_decref(out);
    json_decref(reply);
    reply = json_pack("{s:s}", "error", "storage_full");
    assert_int_equal(http_capture_error(reply, &out), 507);
    assert_string_equal(json_string_value(json_object_get(out, "error")), "storage_full");
    json_decref(out);
    json_decref(reply);
    reply = json_pack("{s:s}", "error", "not_found");
    assert_int_equal(http_capture_error(reply, &out), 0);
    assert_null(out);
    json_decref(reply);
    reply = json_pack("{s:b,s:i}", "ok", 1, "deleted", 3);
    assert_int_equal(http_capture_delete_answer(reply, NULL, &out), 200);
    assert_int_equal(json_integer_value(json_object_get(out, "deleted")), 3);
    assert_string_equal(json_string_value(json_object_get(out, "result")), "deleted");
    assert_null(json_object_get(out, "id"));
    json_decref(out);
    json_decref(reply);
    /* the fd must match the announced size */
    int fd = jpeg_memfd(100, 1);
    reply = json_pack("{s:b,s:i}", "ok", 1, "size", 99);
    uint64_t size = 0;
    assert_int_not_equal(http_capture_fd_check(fd, reply, &size), 0);
    json_decref(reply);
    reply = json_pack("{s:b,s:i}", "ok", 1, "size", 100);
    assert_int_equal(http_capture_fd_check(fd, reply, &size), 0);
    assert_int_equal(size, 100);
    json_decref(reply);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sealed_list_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_db_gets_table, setup, teardown),
        cmocka_unit_test(test_http_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
