/* test_update_service.c — cmocka tests for lib/update/service.c, the update process's request handlers,
 * without the daemon: status, the settings it reads from config.json, uploads refused before and while
 * reading, the online check and apply when not configured, and audit events sent to the vault.
 * Trust level: test code; runs as any user in a scratch state dir. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "safecam/config.h"
#include "safecam/ipc.h"
#include "safecam/proto.h"
#include "safecam/statedir.h"
#include "safecam/update_service.h"

struct fx {
    char state[128];
    update_service *svc;
    int web[2];   /* [0] the service's end, [1] web's */
    int vault[2]; /* [0] the service's end, [1] the vault's */
};

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    char path[512];
    assert_int_equal(safecam_path_join(path, sizeof path, dir, rel), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    (void)snprintf(f->state, sizeof f->state, "/tmp/safecam-upsvc-XXXXXX");
    assert_non_null(mkdtemp(f->state));
    char factory[256];
    assert_int_equal(safecam_path_join(factory, sizeof factory, f->state, "factory"), 0);
    assert_int_equal(mkdir(factory, 0700), 0);
    write_text(f->state, STATEDIR_DEVICE_JSON, "{\"model\":\"SC-100\",\"serial\":\"T1\"}");
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->web), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->vault), 0);
    *state = f;
    return 0;
}

static void service_open(struct fx *f)
{
    assert_int_equal(update_service_new(f->state, &f->svc), 0);
    update_service_channel_set(f->svc, IPC_PEER_WEB, f->web[0]);
    update_service_channel_set(f->svc, IPC_PEER_VAULT, f->vault[0]);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->svc) {
        assert_int_equal(update_service_stop(f->svc), 0);
        update_service_free(f->svc);
    }
    for (int i = 0; i < 2; i++) {
        close(f->web[i]);
        close(f->vault[i]);
    }
    (void)nftw(f->state, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Dispatch one request of web through the service's table; *reply gets the reply body. */
static int web_call(struct fx *f, uint16_t type, json_t *body, int fd, json_t **reply)
{
    size_t n = 0;
    const struct ipc_route *routes = update_service_web_routes(&n);
    ipc_msg req = {.type = type, .id = 7, .body = body, .fd = fd};
    int rc = ipc_dispatch(routes, n, f->svc, IPC_PEER_WEB, f->web[0], &req);
    json_decref(body);
    if (rc != 0)
        return rc;
    ipc_msg rep = {.fd = -1};
    assert_int_equal(ipc_recv(f->web[1], &rep, 1000), 0);
    assert_int_equal(rep.type, type);
    assert_int_equal(rep.id, 7);
    assert_true(rep.flags & IPC_FLAG_REPLY);
    *reply = json_incref(rep.body);
    ipc_msg_clear(&rep);
    return 0;
}

static const char *reply_error(const json_t *r)
{
    return json_string_value(json_object_get(r, "error"));
}

/* The next audit record the service sent to the vault (after a tick); its "type" and "detail". */
static void vault_expect_audit(struct fx *f, const char *type, const char *detail_part)
{
    int timeout = 1000;
    assert_int_equal(update_service_tick(f->svc, &timeout), 0);
    ipc_msg m = {.fd = -1};
    assert_int_equal(ipc_recv(f->vault[1], &m, 1000), 0);
    assert_int_equal(m.type, PROTO_VAULT_AUDIT_RECORD);
    assert_string_equal(json_string_value(json_object_get(m.body, "type")), type);
    const char *detail = json_string_value(json_object_get(m.body, "detail"));
    assert_non_null(detail);
    assert_non_null(strstr(detail, detail_part));
    ipc_msg_clear(&m);
}

static void test_status_idle(void **state)
{
    struct fx *f = *state;
    service_open(f);
    assert_string_equal(update_service_model(f->svc), "SC-100");
    json_t *r = NULL;
    assert_int_equal(web_call(f, PROTO_UPDATE_STATUS, json_object(), -1, &r), 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_string_equal(json_string_value(json_object_get(r, "state")), "idle");
    assert_string_equal(json_string_value(json_object_get(r, "health")), "ok");
    assert_int_equal(json_integer_value(json_object_get(r, "received_bytes")), 0);
    json_t *online = json_object_get(r, "online");
    assert_true(json_is_false(json_object_get(online, "enabled")));
    assert_string_equal(json_string_value(json_object_get(online, "job")), "idle");
    json_decref(r);
    /* a status request carries no field */
    assert_int_equal(web_call(f, PROTO_UPDATE_STATUS, json_pack("{s:i}", "x", 1), -1, &r), 0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
}

/* The online settings come from config.json (written by the supervisor on PUT /api/v1/settings/update). */
static void test_status_settings(void **state)
{
    struct fx *f = *state;
    struct config cfg;
    config_defaults(&cfg);
    cfg.update.online_enabled = 1;
    cfg.update.auto_install = 1;
    assert_int_equal(
        safecam_strlcpy(cfg.update.server_url, "https://127.0.0.1:9/u", sizeof cfg.update.server_url), 0);
    assert_int_equal(config_save(f->state, &cfg), 0);
    service_open(f);
    assert_int_equal(update_service_online_enabled(f->svc), 1);
    json_t *r = NULL;
    assert_int_equal(web_call(f, PROTO_UPDATE_STATUS, json_object(), -1, &r), 0);
    json_t *online = json_object_get(r, "online");
    assert_true(json_is_true(json_object_get(online, "enabled")));
    assert_true(json_is_true(json_object_get(online, "auto_install")));
    json_decref(r);
}

static void test_begin_refused(void **state)
{
    struct fx *f = *state;
    struct config cfg;
    config_defaults(&cfg);
    cfg.update.max_bundle_bytes = CONFIG_UPDATE_MAX_BUNDLE_MIN;
    assert_int_equal(config_save(f->state, &cfg), 0);
    service_open(f);
    json_t *r = NULL;
    /* unknown key, missing key */
    assert_int_equal(
        web_call(f, PROTO_UPDATE_BEGIN, json_pack("{s:i,s:s}", "size", 10, "actor", "admin"), -1, &r), 0);
    assert_string_equal(reply_error(r), "invalid_request");
    json_decref(r);
    /* the upload must come as a pipe */
    assert_int_equal(web_call(f, PROTO_UPDATE_BEGIN,
                              json_pack("{s:i,s:s,s:s}", "size", 10, "actor", "admin", "source", "127.0.0.1"),
                              f->vault[1], &r),
                     0);
    assert_string_equal(reply_error(r), "invalid_request");
    assert_string_equal(json_string_value(json_object_get(r, "field")), "fd");
    json_decref(r);
    /* over the configured cap: refused before reading, audited */
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(web_call(f, PROTO_UPDATE_BEGIN,
                              json_pack("{s:I,s:s,s:s}", "size", (json_int_t)CONFIG_UPDATE_MAX_BUNDLE_MIN + 1,
                                        "actor", "admin", "source", "127.0.0.1"),
                              p[0], &r),
                     0);
    assert_string_equal(reply_error(r), "too_large");
    assert_int_equal(json_integer_value(json_object_get(r, "max")), CONFIG_UPDATE_MAX_BUNDLE_MIN);
    json_decref(r);
    vault_expect_audit(f, "update_refused", "reason=too_large via=upload");
    close(p[0]);
    close(p[1]);
}

/* Bytes that are no bundle: the verifier refuses the stream, the status says so. */
static void test_upload_garbage_refused(void **state)
{
    struct fx *f = *state;
    service_open(f);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    json_t *r = NULL;
    assert_int_equal(web_call(f, PROTO_UPDATE_BEGIN,
                              json_pack("{s:i,s:s,s:s}", "size", -1, "actor", "admin", "source", "::1"), p[0],
                              &r),
                     0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_int_t session = json_integer_value(json_object_get(r, "session"));
    json_decref(r);
    close(p[0]); /* the service holds its own copy */
    static const char junk[] = "this is not a signed bundle at all, not even its magic";
    assert_int_equal(write(p[1], junk, sizeof junk), (ssize_t)sizeof junk);
    close(p[1]);
    /* a second upload meanwhile is busy */
    int q[2];
    assert_int_equal(pipe2(q, O_CLOEXEC), 0);
    assert_int_equal(web_call(f, PROTO_UPDATE_BEGIN,
                              json_pack("{s:i,s:s,s:s}", "size", 5, "actor", "admin", "source", "::1"), q[0],
                              &r),
                     0);
    assert_string_equal(reply_error(r), "busy");
    json_decref(r);
    close(q[0]);
    close(q[1]);
    for (int i = 0; i < 20; i++) {
        struct pollfd pfd[4];
        size_t n = update_service_pollfds(f->svc, pfd, 4);
        assert_int_equal(n, 2);
        if (poll(pfd, n, 200) > 0)
            update_service_pollfds_ready(f->svc, pfd, n);
    }
    assert_int_equal(web_call(f, PROTO_UPDATE_STATUS, json_object(), -1, &r), 0);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "refused");
    assert_int_equal(json_integer_value(json_object_get(r, "session")), session);
    assert_non_null(json_string_value(json_object_get(json_object_get(r, "result"), "error")));
    json_decref(r);
}

static void test_online_not_configured(void **state)
{
    struct fx *f = *state;
    service_open(f);
    json_t *r = NULL;
    assert_int_equal(
        web_call(f, PROTO_UPDATE_APPLY, json_pack("{s:s,s:s}", "actor", "admin", "source", "::1"), -1, &r),
        0);
    assert_string_equal(reply_error(r), "no_update_available");
    json_decref(r);
    /* the check is answered by update_service_check_request (deferred when it runs) */
    json_t *body = json_pack("{s:s,s:s}", "actor", "admin", "source", "::1");
    ipc_msg req = {.type = PROTO_UPDATE_CHECK, .id = 9, .body = body, .fd = -1};
    assert_int_equal(update_service_check_request(f->svc, f->web[0], &req), 1);
    json_decref(body);
    ipc_msg rep = {.fd = -1};
    assert_int_equal(ipc_recv(f->web[1], &rep, 1000), 0);
    assert_int_equal(rep.id, 9);
    assert_string_equal(reply_error(rep.body), "not_configured");
    ipc_msg_clear(&rep);
    /* other types are left to the table */
    ipc_msg other = {.type = PROTO_UPDATE_STATUS, .id = 10, .fd = -1};
    assert_int_equal(update_service_check_request(f->svc, f->web[0], &other), 0);
    /* web may not send the supervisor's types */
    size_t n = 0;
    const struct ipc_route *routes = update_service_web_routes(&n);
    ipc_msg bad = {.type = PROTO_SUP_SHUTDOWN, .id = 11, .fd = -1};
    assert_int_equal(ipc_dispatch(routes, n, f->svc, IPC_PEER_WEB, f->web[0], &bad), SAFECAM_ERR_PROTO);
    update_service_violation(f->svc, IPC_PEER_WEB);
    vault_expect_audit(f, "protocol_violation", "peer=web");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    safecam_log_init("test_update_service", SAFECAM_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_garbage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_online_not_configured, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
