/* test_ipc_child.c — cmocka tests for lib/ipc/child.c, the child side of the supervisor protocol: heartbeat
 * answer, a new peer channel replacing the old one, shutdown, a role's own supervisor rows, protocol
 * violations (supervisor and peer) and the receive loop. Trust level: test code, socketpairs only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "safecam/ipc.h"
#include "safecam/ipc_child.h"
#include "safecam/proto.h"

#define T_ECHO 900

struct probe {
    int changed_fd;
    unsigned changed_peer;
    int violations;
    unsigned violation_peer;
    int taken_fd;
    int ticks;
};

static int h_echo(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)reply_fd;
    *reply = json_pack("{s:b,s:O}", "ok", 1, "echo", req->body);
    return 0;
}

static const struct ipc_route echo_rows[] = {
    {.type = T_ECHO, .allowed_peers = IPC_PEER_WEB | IPC_PEER_SUPERVISOR, .handler = h_echo},
};

static void on_changed(void *ctx, unsigned peer, int fd)
{
    struct probe *p = ctx;
    p->changed_peer = peer;
    p->changed_fd = fd;
}

static void on_violation(void *ctx, unsigned peer, const ipc_msg *msg)
{
    struct probe *p = ctx;
    (void)msg;
    p->violations++;
    p->violation_peer = peer;
}

static int on_take(void *ctx, unsigned peer, int fd)
{
    struct probe *p = ctx;
    (void)peer;
    if (p->taken_fd >= 0)
        close(p->taken_fd);
    p->taken_fd = fd;
    return 0;
}

static const struct ipc_child_peer peers[] = {
    {.peer = IPC_PEER_WEB, .routes = echo_rows, .n_routes = 1},
};

static ipc_child *child_make(struct probe *p, int sup[2])
{
    assert_int_equal(ipc_channel_pair(sup), 0);
    memset(p, 0, sizeof *p);
    p->changed_fd = -2;
    p->taken_fd = -1;
    struct ipc_child_config cfg = {
        .role = "test",
        .sup_fd = sup[0],
        .channel_peers = IPC_PEER_WEB | IPC_PEER_VAULT,
        .sup_routes = echo_rows,
        .n_sup_routes = 1,
        .peers = peers,
        .n_peers = 1,
        .channel_take = on_take,
        .channel_changed = on_changed,
        .violation = on_violation,
        .ctx = p,
    };
    ipc_child *c = NULL;
    assert_int_equal(ipc_child_new(&cfg, &c), 0);
    return c;
}

/* The supervisor's side: send, let the child serve one message, read the reply. */
static json_t *sup_call(ipc_child *c, int sup, uint16_t type, json_t *body, int fd, int expect_rc)
{
    assert_int_equal(ipc_send(sup, type, 0, 5, body, fd), 0);
    json_decref(body);
    assert_int_equal(ipc_child_sup_serve(c, 1000), expect_rc);
    if (expect_rc != 0)
        return NULL;
    ipc_msg rep = {.fd = -1};
    assert_int_equal(ipc_recv(sup, &rep, 1000), 0);
    assert_int_equal(rep.type, type);
    assert_true(rep.flags & IPC_FLAG_REPLY);
    json_t *r = json_incref(rep.body);
    ipc_msg_clear(&rep);
    return r;
}

static void test_heartbeat_and_shutdown(void **state)
{
    (void)state;
    struct probe p;
    int sup[2];
    ipc_child *c = child_make(&p, sup);
    json_t *r = sup_call(c, sup[1], PROTO_SUP_HEARTBEAT, json_object(), -1, 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    /* a role's own supervisor row */
    r = sup_call(c, sup[1], T_ECHO, json_pack("{s:i}", "x", 3), -1, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "echo"), "x")), 3);
    json_decref(r);
    assert_int_equal(ipc_child_stopping(c), 0);
    r = sup_call(c, sup[1], PROTO_SUP_SHUTDOWN, json_object(), -1, 0);
    json_decref(r);
    assert_int_equal(ipc_child_stopping(c), 1);
    /* the loop returns at once once stopping */
    struct ipc_child_loop loop = {.timeout_ms = 10};
    assert_int_equal(ipc_child_run(c, &loop), 0);
    ipc_child_free(c);
    close(sup[1]);
}

static void test_channel_swap(void **state)
{
    (void)state;
    struct probe p;
    int sup[2], a[2], b[2];
    ipc_child *c = child_make(&p, sup);
    assert_int_equal(ipc_channel_pair(a), 0);
    assert_int_equal(ipc_channel_pair(b), 0);
    json_t *r = sup_call(c, sup[1], PROTO_SUP_CHANNEL, json_pack("{s:s}", "peer", "web"), a[0], 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    close(a[0]);
    int first = ipc_child_fd(c, IPC_PEER_WEB);
    assert_true(first >= 0);
    assert_int_equal(p.changed_fd, first);
    assert_int_equal(p.changed_peer, IPC_PEER_WEB);
    /* web's request on the table channel is served */
    assert_int_equal(ipc_send(a[1], T_ECHO, 0, 8, NULL, -1), 0);
    ipc_child_peer_serve(c, IPC_PEER_WEB);
    ipc_msg rep = {.fd = -1};
    assert_int_equal(ipc_recv(a[1], &rep, 1000), 0);
    assert_int_equal(rep.id, 8);
    ipc_msg_clear(&rep);
    /* a fresh channel replaces the old one (web restarted) */
    r = sup_call(c, sup[1], PROTO_SUP_CHANNEL, json_pack("{s:s}", "peer", "web"), b[0], 0);
    json_decref(r);
    close(b[0]);
    assert_true(ipc_child_fd(c, IPC_PEER_WEB) >= 0);
    assert_int_equal(p.changed_fd, ipc_child_fd(c, IPC_PEER_WEB));
    ipc_msg gone = {.fd = -1};
    assert_int_equal(ipc_recv(a[1], &gone, 1000), SAFECAM_ERR_CLOSED); /* the old one was closed */
    /* a peer not in the table goes to channel_take */
    int v[2];
    assert_int_equal(ipc_channel_pair(v), 0);
    r = sup_call(c, sup[1], PROTO_SUP_CHANNEL, json_pack("{s:s}", "peer", "vault"), v[0], 0);
    json_decref(r);
    assert_true(p.taken_fd >= 0);
    /* a peer this child may not have, or no fd: refused */
    r = sup_call(c, sup[1], PROTO_SUP_CHANNEL, json_pack("{s:s}", "peer", "media"), v[0], 0);
    assert_string_equal(json_string_value(json_object_get(r, "error")), "invalid_request");
    json_decref(r);
    r = sup_call(c, sup[1], PROTO_SUP_CHANNEL, json_pack("{s:s}", "peer", "web"), -1, 0);
    assert_string_equal(json_string_value(json_object_get(r, "field")), "fd");
    json_decref(r);
    close(v[0]);
    close(v[1]);
    close(p.taken_fd);
    ipc_child_free(c);
    close(sup[1]);
    close(a[1]);
    close(b[1]);
}

static void test_violations(void **state)
{
    (void)state;
    struct probe p;
    int sup[2], a[2];
    ipc_child *c = child_make(&p, sup);
    assert_int_equal(ipc_channel_pair(a), 0);
    json_t *r = sup_call(c, sup[1], PROTO_SUP_CHANNEL, json_pack("{s:s}", "peer", "web"), a[0], 0);
    json_decref(r);
    close(a[0]);
    /* web may not send the supervisor's rows: violation, channel closed */
    assert_int_equal(ipc_send(a[1], PROTO_SUP_SHUTDOWN, 0, 1, NULL, -1), 0);
    ipc_child_peer_serve(c, IPC_PEER_WEB);
    assert_int_equal(p.violations, 1);
    assert_int_equal(p.violation_peer, IPC_PEER_WEB);
    assert_int_equal(ipc_child_fd(c, IPC_PEER_WEB), -1);
    assert_int_equal(p.changed_fd, -1);
    assert_int_equal(ipc_child_stopping(c), 0);
    /* an unknown type from the supervisor ends the child */
    sup_call(c, sup[1], 4242, json_object(), -1, SAFECAM_ERR_PROTO);
    assert_int_equal(p.violations, 2);
    assert_int_equal(p.violation_peer, IPC_PEER_SUPERVISOR);
    /* the supervisor gone */
    close(sup[1]);
    assert_int_equal(ipc_child_sup_serve(c, 1000), SAFECAM_ERR_CLOSED);
    ipc_child_free(c);
    close(a[1]);
}

static int count_ticks(void *ctx, int *timeout_ms)
{
    struct probe *p = ctx;
    *timeout_ms = 5;
    return ++p->ticks >= 3 ? 7 : 0;
}

static void test_loop_tick(void **state)
{
    (void)state;
    struct probe p;
    int sup[2];
    ipc_child *c = child_make(&p, sup);
    struct ipc_child_loop loop = {.tick = count_ticks};
    assert_int_equal(ipc_child_run(c, &loop), 7);
    assert_int_equal(p.ticks, 3);
    /* a closed supervisor channel ends the loop with an error */
    close(sup[1]);
    loop.tick = NULL;
    assert_int_equal(ipc_child_run(c, &loop), SAFECAM_ERR_CLOSED);
    ipc_child_free(c);
}

int main(void)
{
    safecam_log_init("test_ipc_child", SAFECAM_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat_and_shutdown),
        cmocka_unit_test(test_channel_swap),
        cmocka_unit_test(test_violations),
        cmocka_unit_test(test_loop_tick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
