/* test_ipc.c — framing, fd passing, dispatch allowlists, the dispatcher's policy flags (session, admin, once) and
 * malformed-message refusal (lib/ipc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "safecam/ipc.h"

static void test_roundtrip(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    json_t *body = json_pack("{s:s,s:i}", "username", "admin", "n", 7);
    assert_int_equal(ipc_send(sv[0], 100, 0, 42, body, -1), 0);
    ipc_msg m;
    assert_int_equal(ipc_recv(sv[1], &m, 1000), 0);
    assert_int_equal(m.type, 100);
    assert_int_equal(m.id, 42);
    assert_int_equal(m.fd, -1);
    assert_string_equal(json_string_value(json_object_get(m.body, "username")), "admin");
    ipc_msg_clear(&m);
    json_decref(body);
    close(sv[0]);
    close(sv[1]);
}

static void test_fd_passing(void **state)
{
    (void)state;
    int sv[2], p[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(ipc_send(sv[0], 2, 0, 1, NULL, p[1]), 0);
    close(p[1]);
    ipc_msg m;
    assert_int_equal(ipc_recv(sv[1], &m, 1000), 0);
    assert_true(m.fd >= 0);
    assert_int_equal(write(m.fd, "x", 1), 1);
    char c = 0;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    ipc_msg_clear(&m);
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    json_t *b = json_pack("{s:s}", "a", "b");
    assert_int_equal(ipc_msg_encode(5, 0, 1, b, &buf, &len), 0);
    json_decref(b);
    ipc_msg m;
    assert_int_equal(ipc_msg_decode(buf, len, &m), 0);
    ipc_msg_clear(&m);
    /* truncated */
    assert_int_equal(ipc_msg_decode(buf, len - 1, &m), SAFECAM_ERR_PROTO);
    /* short header */
    assert_int_equal(ipc_msg_decode(buf, 10, &m), SAFECAM_ERR_PROTO);
    /* bad magic */
    buf[0] ^= 1;
    assert_int_equal(ipc_msg_decode(buf, len, &m), SAFECAM_ERR_PROTO);
    buf[0] ^= 1;
    /* unknown flag */
    buf[10] = 0x80;
    assert_int_equal(ipc_msg_decode(buf, len, &m), SAFECAM_ERR_PROTO);
    buf[10] = 0;
    /* huge declared length */
    buf[4] = 0xff; buf[5] = 0xff; buf[6] = 0xff; buf[7] = 0x7f;
    assert_int_equal(ipc_msg_decode(buf, len, &m), SAFECAM_ERR_TOOBIG);
    free(buf);

    /* duplicate keys, non-object, invalid UTF-8, deep nesting */
    const char *bad[] = {"{\"a\":1,\"a\":2}", "[1,2]", "{\"a\":\"\xff\"}",
                         "{\"a\":[[[[[[[[[[[1]]]]]]]]]]]}", "{\"a\":1} x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t plen = strlen(bad[i]);
        uint8_t raw[128];
        uint32_t magic = IPC_MAGIC;
        memcpy(raw, &magic, 4);
        uint32_t l = (uint32_t)plen;
        memcpy(raw + 4, &l, 4);
        raw[8] = 5; raw[9] = 0; raw[10] = 0; raw[11] = 0;
        memset(raw + 12, 0, 4);
        memcpy(raw + 16, bad[i], plen);
        assert_int_equal(ipc_msg_decode(raw, 16 + plen, &m), SAFECAM_ERR_PROTO);
    }
}

static int handler_echo(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)reply_fd;
    *reply = json_pack("{s:b,s:O}", "ok", 1, "echo", json_object_get(req->body, "v"));
    return 0;
}

static void test_dispatch_allowlist(void **state)
{
    (void)state;
    static const struct ipc_route table[] = {
        {100, IPC_PEER_WEB, handler_echo},
    };
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    json_t *body = json_pack("{s:i}", "v", 3);
    assert_int_equal(ipc_send(sv[0], 100, 0, 9, body, -1), 0);
    ipc_msg m;
    assert_int_equal(ipc_recv(sv[1], &m, 1000), 0);
    /* allowed peer gets an answer */
    assert_int_equal(ipc_dispatch(table, 1, NULL, IPC_PEER_WEB, sv[1], &m), 0);
    ipc_msg r;
    assert_int_equal(ipc_recv(sv[0], &r, 1000), 0);
    assert_true(r.flags & IPC_FLAG_REPLY);
    assert_int_equal(r.id, 9);
    assert_int_equal(json_integer_value(json_object_get(r.body, "echo")), 3);
    ipc_msg_clear(&r);
    /* a peer not in the allowlist is a protocol violation, nothing is answered */
    assert_int_equal(ipc_dispatch(table, 1, NULL, IPC_PEER_MEDIA, sv[1], &m), SAFECAM_ERR_PROTO);
    assert_int_equal(ipc_recv(sv[0], &r, 50), SAFECAM_ERR_TIMEOUT);
    /* an unknown type too */
    m.type = 999;
    assert_int_equal(ipc_dispatch(table, 1, NULL, IPC_PEER_WEB, sv[1], &m), SAFECAM_ERR_PROTO);
    ipc_msg_clear(&m);
    json_decref(body);
    close(sv[0]);
    close(sv[1]);
}

static void test_closed_peer(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    close(sv[0]);
    ipc_msg m;
    assert_int_equal(ipc_recv(sv[1], &m, 1000), SAFECAM_ERR_CLOSED);
    assert_int_equal(ipc_send(sv[1], 1, 0, 1, NULL, -1), SAFECAM_ERR_CLOSED);
    close(sv[1]);
}

/* A peer that stops reading: the best-effort send refuses at once with BUSY (the blocking one would wait
 * IPC_SEND_TIMEOUT_MS, then say TIMEOUT), and the channel still carries the messages already queued. */
static void test_send_nowait_refuses_when_full(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    json_t *body = json_pack("{s:s,s:i}", "type", "login_failure", "time", 1700000000);
    int sent = 0, rc = 0;
    for (int i = 0; i < 100000; i++) {
        rc = ipc_send_nowait(sv[0], 161, 0, (uint32_t)i, body, -1);
        if (rc != 0)
            break;
        sent++;
    }
    assert_int_equal(rc, SAFECAM_ERR_BUSY);
    assert_true(sent > 0);
    ipc_msg m;
    assert_int_equal(ipc_recv(sv[1], &m, 1000), 0);
    assert_int_equal(m.id, 0);
    ipc_msg_clear(&m);
    /* room again: the next best-effort send goes through */
    assert_int_equal(ipc_send_nowait(sv[0], 161, 0, 999999, body, -1), 0);
    json_decref(body);
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_names(void **state)
{
    (void)state;
    assert_int_equal(ipc_peer_from_name("web"), IPC_PEER_WEB);
    assert_int_equal(ipc_peer_from_name("vault"), IPC_PEER_VAULT);
    assert_int_equal(ipc_peer_from_name("nope"), 0);
    assert_int_equal(ipc_peer_from_name(NULL), 0);
    assert_string_equal(ipc_peer_name(IPC_PEER_MEDIA), "media");
}

/* ---- the dispatcher's flags ---- */

struct policy_ctx {
    int handler_runs;
    int hook_calls;
};

static int handler_count(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer, (void)req, (void)reply, (void)reply_fd;
    ((struct policy_ctx *)ctx)->handler_runs++;
    return 0;
}

/* Sessions known to the fake receiver: "s-admin" (admin), "s-viewer" (viewer), "s-pending" (admin whose
 * password must be changed), "s-broken" (the hook fails). */
static int fake_session_check(void *ctx, const char *sid, struct ipc_session *out)
{
    ((struct policy_ctx *)ctx)->hook_calls++;
    if (strcmp(sid, "s-broken") == 0)
        return SAFECAM_ERR_INTERNAL;
    const char *role = strcmp(sid, "s-admin") == 0 || strcmp(sid, "s-pending") == 0 ? "admin"
                       : strcmp(sid, "s-viewer") == 0                                ? "viewer"
                                                                                      : NULL;
    if (!role)
        return SAFECAM_ERR_NOTFOUND;
    memcpy(out->username, "u", 2);
    memcpy(out->role, role, strlen(role) + 1);
    out->password_change_required = strcmp(sid, "s-pending") == 0;
    return 0;
}

enum { T_PLAIN = 10, T_SESSION = 11, T_ADMIN = 12, T_ONCE = 13 };

static const struct ipc_rule policy_rules[] = {
    {T_PLAIN, IPC_PEER_WEB, 0, handler_count},
    {T_SESSION, IPC_PEER_WEB, IPC_NEEDS_SESSION, handler_count},
    {T_ADMIN, IPC_PEER_WEB, IPC_ADMIN, handler_count},
    {T_ONCE, IPC_PEER_SUPERVISOR, IPC_ONCE, handler_count},
};

/* Dispatch one request of type with session_id sid (NULL: none) from peer; the reply's "error" (or "ok") into
 * out, or the dispatcher's return code when nothing was answered. */
static int policy_run(const struct ipc_dispatcher *d, struct ipc_channel_state *st, struct policy_ctx *ctx,
                      unsigned peer, uint16_t type, const char *sid, char out[32])
{
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    json_t *body = sid ? json_pack("{s:s}", "session_id", sid) : json_object();
    ipc_msg m = {.type = type, .flags = 0, .id = 5, .body = body, .fd = -1};
    int rc = ipc_dispatcher_run(d, st, ctx, peer, sv[1], &m);
    out[0] = '\0';
    if (rc == 0) {
        ipc_msg r;
        assert_int_equal(ipc_recv(sv[0], &r, 1000), 0);
        const char *e = json_string_value(json_object_get(r.body, "error"));
        memcpy(out, e ? e : "ok", strlen(e ? e : "ok") + 1);
        ipc_msg_clear(&r);
    }
    json_decref(body);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

static void test_dispatch_flags(void **state)
{
    (void)state;
    const struct ipc_dispatcher d = {policy_rules, 4, fake_session_check};
    struct ipc_channel_state st = {0};
    struct policy_ctx ctx = {0, 0};
    char out[32];
    /* no flag: no session needed, the hook is not asked */
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_PLAIN, NULL, out), 0);
    assert_string_equal(out, "ok");
    assert_int_equal(ctx.hook_calls, 0);
    /* NEEDS_SESSION: none, unknown, over-long, pending password change, hook failure -> refused, handler not run */
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_SESSION, NULL, out), 0);
    assert_string_equal(out, "no_session");
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_SESSION, "s-nobody", out), 0);
    assert_string_equal(out, "no_session");
    char longsid[80];
    memset(longsid, 'a', sizeof(longsid) - 1);
    longsid[sizeof(longsid) - 1] = '\0';
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_SESSION, longsid, out), 0);
    assert_string_equal(out, "no_session");
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_SESSION, "s-pending", out), 0);
    assert_string_equal(out, "password_change_required");
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_SESSION, "s-broken", out), 0);
    assert_string_equal(out, "internal");
    assert_int_equal(ctx.handler_runs, 1);
    /* any live session passes NEEDS_SESSION */
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_SESSION, "s-viewer", out), 0);
    assert_string_equal(out, "ok");
    assert_int_equal(ctx.handler_runs, 2);
    /* ADMIN: a viewer is forbidden, an admin passes */
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_ADMIN, "s-viewer", out), 0);
    assert_string_equal(out, "forbidden");
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_ADMIN, NULL, out), 0);
    assert_string_equal(out, "no_session");
    assert_int_equal(ctx.handler_runs, 2);
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_WEB, T_ADMIN, "s-admin", out), 0);
    assert_string_equal(out, "ok");
    assert_int_equal(ctx.handler_runs, 3);
    /* the peer allowlist still comes first: a session does not let another peer in */
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_MEDIA, T_ADMIN, "s-admin", out), SAFECAM_ERR_PROTO);
    /* ONCE: the first time answered, the second a protocol violation; a new channel's state starts afresh */
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_SUPERVISOR, T_ONCE, NULL, out), 0);
    assert_string_equal(out, "ok");
    assert_int_equal(policy_run(&d, &st, &ctx, IPC_PEER_SUPERVISOR, T_ONCE, NULL, out), SAFECAM_ERR_PROTO);
    assert_int_equal(ctx.handler_runs, 4);
    struct ipc_channel_state fresh = {0};
    assert_int_equal(policy_run(&d, &fresh, &ctx, IPC_PEER_SUPERVISOR, T_ONCE, NULL, out), 0);
    /* ONCE without a channel state, or session rows without a hook: refused (fail closed) */
    assert_int_equal(policy_run(&d, NULL, &ctx, IPC_PEER_SUPERVISOR, T_ONCE, NULL, out), SAFECAM_ERR_PROTO);
    const struct ipc_dispatcher no_hook = {policy_rules, 4, NULL};
    assert_int_equal(policy_run(&no_hook, &st, &ctx, IPC_PEER_WEB, T_ADMIN, "s-admin", out), SAFECAM_ERR_INVAL);
    assert_int_equal(policy_run(&no_hook, &st, &ctx, IPC_PEER_WEB, T_PLAIN, NULL, out), 0);
    assert_int_equal(ctx.handler_runs, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_fd_passing),
        cmocka_unit_test(test_decode_rejects), cmocka_unit_test(test_dispatch_allowlist),
        cmocka_unit_test(test_closed_peer), cmocka_unit_test(test_send_nowait_refuses_when_full),   cmocka_unit_test(test_peer_names),
        cmocka_unit_test(test_dispatch_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
