/* test_client.c — the one IPC client (lib/ipc/client.c) and the typed vault/media calls (lib/client) against
 * a stub server: a socketpair with a thread answering as the peer would, late, wrongly or not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safecam/backoff.h"
#include "safecam/ipc.h"
#include "safecam/ipc_client.h"
#include "safecam/media_client.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

#define TOKEN_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* The stub peer: answers each request with answer(), after delay_ms; stops when the channel closes. */
enum stub_mode {
    STUB_ECHO,     /* {"ok":true,"echo":<body>,"n":<request number>} */
    STUB_SILENT_1, /* the first request is answered only after the second arrives (a late reply), then echo */
    STUB_SLOW,     /* echo after delay_ms */
    STUB_LOGIN,    /* a vault: checks the login request's shape */
    STUB_LOCKED,   /* a vault refusing: {"error":"locked","retry_after":5} */
    STUB_SNAPSHOT, /* a media process: a pipe and content_type (ctype) */
};

struct stub {
    int fd;
    enum stub_mode mode;
    int delay_ms;
    const char *ctype;
    int served;
    int login_shape_ok;
    pthread_t thread;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int send_echo(struct stub *s, const ipc_msg *m)
{
    json_t *reply = json_pack("{s:b,s:O,s:i}", "ok", 1, "echo", m->body, "n", s->served);
    int rc = ipc_send(s->fd, m->type, IPC_FLAG_REPLY, m->id, reply, -1);
    json_decref(reply);
    return rc;
}

static void *stub_main(void *arg)
{
    struct stub *s = arg;
    ipc_msg held = {.fd = -1};
    int holding = 0;
    for (;;) {
        ipc_msg m = {.fd = -1};
        if (ipc_recv(s->fd, &m, 5000) != 0)
            break;
        s->served++;
        if (s->mode == STUB_SILENT_1 && s->served == 1) {
            held = m; /* answered later, after the next request arrived */
            holding = 1;
            continue;
        }
        if (holding) {
            int lrc = send_echo(s, &held); /* the late reply to the call that timed out */
            (void)lrc;
            ipc_msg_clear(&held);
            holding = 0;
        }
        if (s->delay_ms)
            sleep_ms(s->delay_ms);
        json_t *reply = NULL;
        int fd = -1, src0;
        int p[2] = {-1, -1};
        switch (s->mode) {
        case STUB_LOGIN: {
            const char *u = json_string_value(json_object_get(m.body, "username"));
            const char *pw = json_string_value(json_object_get(m.body, "password"));
            const char *src = json_string_value(json_object_get(m.body, "source"));
            s->login_shape_ok = m.type == PROTO_VAULT_LOGIN && json_object_size(m.body) == 3 && u && pw &&
                                src && strcmp(u, "admin") == 0 && strcmp(pw, "pw") == 0 &&
                                strcmp(src, "127.0.0.1") == 0;
            reply = json_pack("{s:b,s:s,s:s,s:s,s:s,s:b}", "ok", 1, "session_id", TOKEN_A, "csrf_token",
                              TOKEN_B, "username", "admin", "role", "admin", "password_change_required", 1);
            break;
        }
        case STUB_LOCKED:
            reply = json_pack("{s:s,s:i}", "error", "locked", "retry_after", 5);
            break;
        case STUB_SNAPSHOT:
            if (pipe(p) == 0) {
                fd = p[0];
                if (write(p[1], "\xff\xd8\xff", 3) != 3)
                    fd = -1;
                close(p[1]);
            }
            reply = json_pack("{s:b,s:s}", "ok", 1, "content_type", s->ctype);
            break;
        default:
            src0 = send_echo(s, &m);
            (void)src0;
            ipc_msg_clear(&m);
            continue;
        }
        int src = ipc_send(s->fd, m.type, IPC_FLAG_REPLY, m.id, reply, fd);
        (void)src; /* a client gone is the end of the test, seen by the next ipc_recv */
        json_decref(reply);
        if (p[0] >= 0)
            close(p[0]);
        ipc_msg_clear(&m);
    }
    ipc_msg_clear(&held);
    return NULL;
}

/* A client with a channel to a new stub. */
static ipc_client *stub_start(struct stub *s, enum stub_mode mode, int lock_wait_ms)
{
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    memset(s, 0, sizeof(*s));
    s->fd = sv[1];
    s->mode = mode;
    s->ctype = "image/jpeg";
    assert_int_equal(pthread_create(&s->thread, NULL, stub_main, s), 0);
    ipc_client *c = NULL;
    assert_int_equal(ipc_client_new(lock_wait_ms, 0, &c), 0);
    assert_int_equal(ipc_client_channel_set(c, sv[0]), 0);
    return c;
}

/* Free the client (closing its channel: the stub sees the end) and join the stub. */
static void stub_stop(struct stub *s, ipc_client *c)
{
    ipc_client_free(c);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static void test_call_ok(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_ECHO, 1000);
    json_t *body = json_pack("{s:i}", "v", 7);
    json_t *reply = NULL;
    assert_int_equal(ipc_client_call(c, 300, body, -1, &reply, NULL, 2000), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(reply, "echo"), "v")), 7);
    json_decref(reply);
    json_decref(body);
    stub_stop(&s, c);
}

/* No channel yet: CLOSED at once. Bad arguments: INVAL. */
static void test_no_channel(void **state)
{
    (void)state;
    ipc_client *c = NULL;
    assert_int_equal(ipc_client_new(0, 0, &c), SAFECAM_ERR_INVAL);
    assert_int_equal(ipc_client_new(100, 0x80, &c), SAFECAM_ERR_INVAL);
    assert_int_equal(ipc_client_new(100, 0, &c), 0);
    json_t *reply = NULL;
    assert_int_equal(ipc_client_call(c, 300, NULL, -1, &reply, NULL, 100), SAFECAM_ERR_CLOSED);
    assert_null(reply);
    assert_int_equal(ipc_client_channel_lost(c), 0); /* never had one: the supervisor wires it at start */
    assert_int_equal(ipc_client_channel_set(c, -1), SAFECAM_ERR_INVAL);
    ipc_client_free(c);
}

/* The reply deadline passes: TIMEOUT. The late reply that comes afterwards is dropped (its id is an old
 * call's), and the next call gets its own answer on the same channel. */
static void test_timeout_then_late_reply(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_SILENT_1, 1000);
    json_t *b1 = json_pack("{s:i}", "v", 1);
    json_t *b2 = json_pack("{s:i}", "v", 2);
    json_t *reply = NULL;
    int64_t t0 = safecam_time_mono_ms();
    assert_int_equal(ipc_client_call(c, 300, b1, -1, &reply, NULL, 150), SAFECAM_ERR_TIMEOUT);
    int64_t waited = safecam_time_mono_ms() - t0;
    assert_true(waited >= 140 && waited < 1500);
    assert_null(reply);
    assert_int_equal(ipc_client_call(c, 300, b2, -1, &reply, NULL, 2000), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(reply, "echo"), "v")), 2);
    json_decref(reply);
    json_decref(b1);
    json_decref(b2);
    stub_stop(&s, c);
}

struct slow_call {
    ipc_client *c;
    int rc;
    json_t *reply;
};

static void *slow_call_main(void *arg)
{
    struct slow_call *sc = arg;
    json_t *body = json_pack("{s:i}", "v", 1);
    sc->rc = ipc_client_call(sc->c, 300, body, -1, &sc->reply, NULL, 5000);
    json_decref(body);
    return NULL;
}

/* Two calls in flight on one channel, answered out of order: the first (held by the peer, like a login on
 * the vault's hash workers) does not hold up the second, and each caller gets the reply with its own id. */
static void test_calls_in_flight_out_of_order(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_SILENT_1, 100);
    struct slow_call sc = {c, 1, NULL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_call_main, &sc), 0);
    sleep_ms(200); /* the first call waits for its reply now */
    json_t *reply = NULL;
    json_t *body = json_pack("{s:i}", "v", 2);
    assert_int_equal(ipc_client_call(c, 300, body, -1, &reply, NULL, 5000), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(reply, "echo"), "v")), 2);
    pthread_join(t, NULL);
    assert_int_equal(sc.rc, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sc.reply, "echo"), "v")), 1);
    json_decref(sc.reply);
    json_decref(reply);
    json_decref(body);
    stub_stop(&s, c);
}

/* A new channel parked by ipc_client_channel_set is swapped in at the next call; the old one is closed. */
static void test_channel_swap(void **state)
{
    (void)state;
    struct stub s1, s2;
    ipc_client *c = stub_start(&s1, STUB_ECHO, 1000);
    json_t *reply = NULL;
    assert_int_equal(ipc_client_call(c, 300, NULL, -1, &reply, NULL, 2000), 0);
    json_decref(reply);
    /* a second stub, its channel handed to the same client */
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    memset(&s2, 0, sizeof(s2));
    s2.fd = sv[1];
    s2.mode = STUB_ECHO;
    assert_int_equal(pthread_create(&s2.thread, NULL, stub_main, &s2), 0);
    assert_int_equal(ipc_client_channel_set(c, sv[0]), 0);
    assert_int_equal(ipc_client_call(c, 300, NULL, -1, &reply, NULL, 2000), 0);
    json_decref(reply);
    pthread_join(s1.thread, NULL); /* the old channel was closed: its stub saw the end */
    assert_int_equal(s1.served, 1);
    assert_int_equal(s2.served, 1);
    close(s1.fd);
    stub_stop(&s2, c);
}

/* The peer goes away: CLOSED, and the channel stays dropped until a new one is handed over. */
static void test_peer_gone(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(ipc_channel_pair(sv), 0);
    ipc_client *c = NULL;
    assert_int_equal(ipc_client_new(1000, 0, &c), 0);
    assert_int_equal(ipc_client_channel_set(c, sv[0]), 0);
    close(sv[1]);
    json_t *reply = NULL;
    int rc = ipc_client_call(c, 300, NULL, -1, &reply, NULL, 500);
    assert_true(rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_IO);
    assert_int_equal(ipc_client_call(c, 300, NULL, -1, &reply, NULL, 500), SAFECAM_ERR_CLOSED);
    /* lost: its owner asks the supervisor for a fresh one; a handed channel clears it at once */
    assert_int_equal(ipc_client_channel_lost(c), 1);
    assert_int_equal(ipc_channel_pair(sv), 0);
    assert_int_equal(ipc_client_channel_set(c, sv[0]), 0);
    assert_int_equal(ipc_client_channel_lost(c), 0);
    close(sv[1]);
    ipc_client_free(c);
}

/* A timed-out call keeps the channel: a slow peer is not a lost one. */
static void test_timeout_is_not_lost(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_SILENT_1, 1000);
    json_t *reply = NULL;
    assert_int_equal(ipc_client_call(c, 300, NULL, -1, &reply, NULL, 100), SAFECAM_ERR_TIMEOUT);
    assert_int_equal(ipc_client_channel_lost(c), 0);
    stub_stop(&s, c);
}

/* The back-off: 100 ms doubling to 5 s and staying there (no cap on the attempts), reset by a success. */
static void test_backoff_bounded(void **state)
{
    (void)state;
    struct safecam_backoff b;
    safecam_backoff_reset(&b);
    assert_true(safecam_backoff_due(&b, 0));
    static const int want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    int64_t now = 1000;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(want); i++) {
        assert_int_equal(safecam_backoff_failed(&b, now), want[i]);
        assert_false(safecam_backoff_due(&b, now + want[i] - 1));
        assert_true(safecam_backoff_due(&b, now + want[i]));
        now += want[i];
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(safecam_backoff_failed(&b, now), SAFECAM_BACKOFF_MAX_MS);
    assert_int_equal(b.failures, SAFECAM_ARRAY_LEN(want) + 1000);
    safecam_backoff_reset(&b);
    assert_true(safecam_backoff_due(&b, now));
    assert_int_equal(safecam_backoff_failed(&b, now), SAFECAM_BACKOFF_MIN_MS);
}

/* The typed login: the request shape is the contract's; the reply's fields land in the struct. */
static void test_vault_client_login(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_LOGIN, 1000);
    struct vault_login_result res;
    json_t *refusal = NULL;
    assert_int_equal(vault_client_login(c, "admin", "pw", "127.0.0.1", &res, &refusal), 0);
    assert_null(refusal);
    assert_true(s.login_shape_ok);
    assert_string_equal(res.session_id, TOKEN_A);
    assert_string_equal(res.csrf_token, TOKEN_B);
    assert_string_equal(res.role, "admin");
    assert_int_equal(res.password_change_required, 1);
    stub_stop(&s, c);
}

/* A refusal comes back as the vault's object for the error table; a transport failure as an error code. */
static void test_vault_client_refusal(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_LOCKED, 1000);
    struct vault_session_facts facts;
    json_t *refusal = NULL;
    assert_int_equal(vault_client_session_check(c, TOKEN_A, NULL, 1, &facts, &refusal), 0);
    assert_non_null(refusal);
    assert_string_equal(json_string_value(json_object_get(refusal, "error")), "locked");
    assert_int_equal(json_integer_value(json_object_get(refusal, "retry_after")), 5);
    assert_string_equal(facts.username, "");
    json_decref(refusal);
    /* audit_record counts a refusal as an error */
    assert_int_equal(vault_client_audit_record(c, "login_failure", "admin", "127.0.0.1", "x", 1000),
                     SAFECAM_ERR_DENIED);
    stub_stop(&s, c);
    ipc_client *none = NULL;
    assert_int_equal(ipc_client_new(100, 0, &none), 0);
    assert_int_equal(vault_client_session_end(none, TOKEN_A, "127.0.0.1", &refusal), SAFECAM_ERR_CLOSED);
    assert_null(refusal);
    ipc_client_free(none);
}

/* A snapshot: the descriptor and an allowlisted content type; anything else is refused without a leak. */
static void test_media_client_snapshot(void **state)
{
    (void)state;
    struct stub s;
    ipc_client *c = stub_start(&s, STUB_SNAPSHOT, 1000);
    int fd = -1;
    char ctype[MEDIA_CLIENT_CTYPE_MAX + 1];
    assert_int_equal(media_client_snapshot(c, TOKEN_A, &fd, ctype), 0);
    assert_true(fd >= 0);
    assert_string_equal(ctype, "image/jpeg");
    unsigned char buf[4];
    assert_int_equal(read(fd, buf, sizeof(buf)), 3);
    close(fd);
    s.ctype = "text/html\r\nX-Evil: 1";
    assert_int_equal(media_client_snapshot(c, TOKEN_A, &fd, ctype), SAFECAM_ERR_PROTO);
    assert_int_equal(fd, -1);
    s.ctype = "image/jpeg";
    assert_int_equal(media_client_live_open(c, "main", &fd, ctype), SAFECAM_ERR_PROTO); /* not video/mp4 */
    assert_int_equal(fd, -1);
    stub_stop(&s, c);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_ok),
        cmocka_unit_test(test_no_channel),
        cmocka_unit_test(test_timeout_then_late_reply),
        cmocka_unit_test(test_calls_in_flight_out_of_order),
        cmocka_unit_test(test_channel_swap),
        cmocka_unit_test(test_peer_gone),
        cmocka_unit_test(test_timeout_is_not_lost),
        cmocka_unit_test(test_backoff_bounded),
        cmocka_unit_test(test_vault_client_login),
        cmocka_unit_test(test_vault_client_refusal),
        cmocka_unit_test(test_media_client_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
