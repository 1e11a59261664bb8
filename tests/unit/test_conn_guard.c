/* test_conn_guard.c — the connection slot table (lib/core/conn_guard.c) with an injected clock: shares,
 * the eviction order (untrusted before trusted, the biggest source first, oldest first), eviction really
 * shuts the socket down, stale handles, deadlines, tallies and source keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "safecam/conn_guard.h"

static int64_t fake_now;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

#define MAXC 64
struct pairs {
    int ours[MAXC], peer[MAXC];
    unsigned n;
};

/* A connected pair; returns the index. ours[i] goes into the guard, peer[i] sees the shutdown. */
static unsigned pair_new(struct pairs *p)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_true(p->n < MAXC);
    p->ours[p->n] = sv[0];
    p->peer[p->n] = sv[1];
    return p->n++;
}

static void pairs_close(struct pairs *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        close(p->ours[i]);
        close(p->peer[i]);
    }
}

/* 1 if the guard shut ours[i] down (the peer reads EOF at once). */
static int was_cut(struct pairs *p, unsigned i)
{
    struct pollfd pf = {.fd = p->peer[i], .events = POLLIN};
    if (poll(&pf, 1, 0) != 1)
        return 0;
    char c;
    return recv(p->peer[i], &c, 1, MSG_DONTWAIT) == 0;
}

static conn_guard *guard(unsigned slots, unsigned share)
{
    conn_guard *g = NULL;
    assert_int_equal(conn_guard_new(slots, share, &g), 0);
    conn_guard_clock_set(g, fake_clock, NULL);
    fake_now = 1000;
    return g;
}

static void test_new_refuses_bad_sizes(void **state)
{
    (void)state;
    conn_guard *g = NULL;
    assert_int_equal(conn_guard_new(0, 1, &g), SAFECAM_ERR_INVAL);
    assert_int_equal(conn_guard_new(4, 5, &g), SAFECAM_ERR_INVAL);
    assert_int_equal(conn_guard_new(4, 0, &g), SAFECAM_ERR_INVAL);
    assert_int_equal(conn_guard_new(CONN_GUARD_SLOTS_MAX + 1, 1, &g), SAFECAM_ERR_INVAL);
    assert_null(g);
    g = guard(4, 2);
    conn_guard_handle h;
    assert_int_equal(conn_guard_admit(g, "", 3, &h), SAFECAM_ERR_INVAL);
    assert_int_equal(conn_guard_admit(g, "1.2.3.4", -1, &h), SAFECAM_ERR_INVAL);
    char longsrc[80];
    memset(longsrc, 'a', sizeof longsrc - 1);
    longsrc[sizeof longsrc - 1] = '\0';
    assert_int_equal(conn_guard_admit(g, longsrc, 3, &h), SAFECAM_ERR_INVAL);
    assert_int_equal(conn_guard_count(g), 0);
    conn_guard_free(g);
}

/* A source at its share is refused (nothing cut); it never takes another source's slot. */
static void test_per_source_share(void **state)
{
    (void)state;
    struct pairs p = {0};
    conn_guard *g = guard(8, 2);
    conn_guard_handle h[3];
    unsigned other = pair_new(&p);
    conn_guard_handle ho;
    assert_int_equal(conn_guard_admit(g, "10.0.0.9", p.ours[other], &ho), 0);
    assert_int_equal(conn_guard_precheck(g, "10.0.0.1"), 0);
    for (unsigned i = 0; i < 2; i++) {
        fake_now += 10;
        unsigned k = pair_new(&p);
        assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[k], &h[i]), 0);
    }
    assert_int_equal(conn_guard_precheck(g, "10.0.0.1"), SAFECAM_ERR_DENIED);
    assert_int_equal(conn_guard_precheck(g, "10.0.0.9"), 0);
    unsigned k = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[k], &h[2]), SAFECAM_ERR_DENIED);
    assert_int_equal(h[2], CONN_GUARD_HANDLE_NONE);
    assert_int_equal(conn_guard_count_source(g, "10.0.0.1"), 2);
    for (unsigned i = 0; i < p.n; i++)
        assert_false(was_cut(&p, i));
    struct conn_guard_tally t;
    assert_true(conn_guard_tally_take(g, &t));
    assert_int_equal(t.refused, 2);
    assert_int_equal(t.evicted, 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.by_source[0].source, "10.0.0.1");
    assert_false(conn_guard_tally_take(g, &t)); /* reset */
    /* One released: it may come back. */
    conn_guard_release(g, h[0]);
    assert_int_equal(conn_guard_precheck(g, "10.0.0.1"), 0);
    conn_guard_free(g);
    pairs_close(&p);
}

/* A source at its share takes the place of its own keep-alive connection idle the longest (even an
 * authenticated one: the browser re-opens it), never one with a request in progress, one that never
 * finished a request, or another source's. The input that showed it: a second browser context from
 * 127.0.0.1 had its page loads refused while the first one's pooled connections sat idle. */
static void test_same_source_idle_makes_way(void **state)
{
    (void)state;
    struct pairs p = {0};
    conn_guard *g = guard(8, 3);
    conn_guard_handle h[3], hn, ho;
    unsigned k[3];
    unsigned other = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "10.0.0.9", p.ours[other], &ho), 0);
    conn_guard_idle_set(g, ho, 1); /* another source's idle connection is never taken */
    for (unsigned i = 0; i < 3; i++) {
        fake_now += 10;
        k[i] = pair_new(&p);
        assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[k[i]], &h[i]), 0);
    }
    /* h[0] never sent a request, h[1] is busy, h[2] authenticated and busy: the newcomer is refused. */
    conn_guard_idle_set(g, h[1], 0);
    conn_guard_state_set(g, h[2], CONN_GUARD_TRUSTED);
    assert_int_equal(conn_guard_precheck(g, "10.0.0.1"), SAFECAM_ERR_DENIED);
    unsigned n1 = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[n1], &hn), SAFECAM_ERR_DENIED);
    /* h[2] answered first, then h[1]: h[2] has waited longest and makes way. */
    fake_now += 10;
    conn_guard_idle_set(g, h[2], 1);
    fake_now += 10;
    conn_guard_idle_set(g, h[1], 1);
    assert_int_equal(conn_guard_precheck(g, "10.0.0.1"), 0);
    unsigned n2 = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[n2], &hn), 0);
    assert_true(was_cut(&p, k[2]));
    assert_false(was_cut(&p, k[0]));
    assert_false(was_cut(&p, k[1]));
    assert_false(was_cut(&p, other));
    assert_int_equal(conn_guard_count_source(g, "10.0.0.1"), 3);
    conn_guard_release(g, h[2]); /* stale: its slot went to the newcomer */
    assert_int_equal(conn_guard_count_source(g, "10.0.0.1"), 3);
    /* h[1] is busy again (a new request head arrived): nothing idle is left, the next one is refused. */
    conn_guard_idle_set(g, h[1], 0);
    unsigned n3 = pair_new(&p);
    conn_guard_handle hx;
    assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[n3], &hx), SAFECAM_ERR_DENIED);
    struct conn_guard_tally t;
    assert_true(conn_guard_tally_take(g, &t));
    assert_int_equal(t.evicted, 1);
    assert_int_equal(t.refused, 3);
    conn_guard_free(g);
    pairs_close(&p);
}

/* Table full: NEW before ACTIVE, the source with most slots first, oldest first; trusted never. */
static void test_eviction_order(void **state)
{
    (void)state;
    struct pairs p = {0};
    conn_guard *g = guard(6, 4);
    conn_guard_handle h[6];
    const char *src[6] = {"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3"};
    for (unsigned i = 0; i < 6; i++) {
        fake_now += 10;
        unsigned k = pair_new(&p);
        assert_int_equal(conn_guard_admit(g, src[i], p.ours[k], &h[i]), 0);
    }
    conn_guard_state_set(g, h[0], CONN_GUARD_TRUSTED); /* the owner's session */
    conn_guard_state_set(g, h[1], CONN_GUARD_ACTIVE);
    conn_guard_state_set(g, h[5], CONN_GUARD_ACTIVE);
    conn_guard_state_set(g, h[5], CONN_GUARD_NEW); /* never lowered */
    /* NEW ones: h2 (10.0.0.1, 3 slots), h3, h4 (10.0.0.2, 2 slots): h2 goes first (bigger source). */
    conn_guard_handle n1, n2, n3, n4, n5;
    unsigned a = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "192.0.2.1", p.ours[a], &n1), 0);
    assert_true(was_cut(&p, 2));
    /* Now 10.0.0.1 and 10.0.0.2 have 2 each; NEW left: h3, h4 -> oldest h3. */
    unsigned b = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "192.0.2.2", p.ours[b], &n2), 0);
    assert_true(was_cut(&p, 3));
    /* NEW left: h4, n1 (192.0.2.1), n2: 1 slot each -> oldest h4. */
    unsigned c = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "192.0.2.3", p.ours[c], &n3), 0);
    assert_true(was_cut(&p, 4));
    /* Mark the newcomers trusted: the only untrusted left are ACTIVE h1 and h5; 10.0.0.1 has 2 slots. */
    conn_guard_state_set(g, n1, CONN_GUARD_TRUSTED);
    conn_guard_state_set(g, n2, CONN_GUARD_TRUSTED);
    conn_guard_state_set(g, n3, CONN_GUARD_TRUSTED);
    unsigned d = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "192.0.2.4", p.ours[d], &n4), 0);
    assert_true(was_cut(&p, 1));
    assert_false(was_cut(&p, 5));
    conn_guard_state_set(g, n4, CONN_GUARD_TRUSTED);
    unsigned e = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "192.0.2.5", p.ours[e], &n5), 0);
    assert_true(was_cut(&p, 5));
    conn_guard_state_set(g, n5, CONN_GUARD_TRUSTED);
    /* Everything trusted: refused, and the owner's connection was never touched. */
    unsigned f = pair_new(&p);
    conn_guard_handle nf;
    assert_int_equal(conn_guard_admit(g, "192.0.2.6", p.ours[f], &nf), SAFECAM_ERR_DENIED);
    assert_false(was_cut(&p, 0));
    assert_int_equal(conn_guard_count(g), 6);
    conn_guard_free(g);
    pairs_close(&p);
}

/* An evicted connection's handle is stale: releasing it does not free the newcomer's slot. */
static void test_stale_handle(void **state)
{
    (void)state;
    struct pairs p = {0};
    conn_guard *g = guard(1, 1);
    conn_guard_handle old, young;
    unsigned a = pair_new(&p), b = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[a], &old), 0);
    assert_int_equal(conn_guard_admit(g, "10.0.0.2", p.ours[b], &young), 0);
    assert_true(was_cut(&p, a));
    assert_true(old != young);
    conn_guard_release(g, old);
    conn_guard_state_set(g, old, CONN_GUARD_TRUSTED);
    assert_int_equal(conn_guard_count(g), 1);
    assert_int_equal(conn_guard_count_source(g, "10.0.0.2"), 1);
    conn_guard_release(g, young);
    assert_int_equal(conn_guard_count(g), 0);
    conn_guard_release(g, young); /* twice: no underflow */
    conn_guard_release(g, CONN_GUARD_HANDLE_NONE);
    assert_int_equal(conn_guard_count(g), 0);
    conn_guard_free(g);
    pairs_close(&p);
}

/* Deadlines: NEW past new_ms; untrusted silent past silent_ms; trusted never; each cut once. */
static void test_expire(void **state)
{
    (void)state;
    struct pairs p = {0};
    conn_guard *g = guard(8, 8);
    conn_guard_handle h[3];
    for (unsigned i = 0; i < 3; i++) {
        unsigned k = pair_new(&p);
        assert_int_equal(conn_guard_admit(g, "10.0.0.1", p.ours[k], &h[i]), 0);
    }
    conn_guard_state_set(g, h[1], CONN_GUARD_ACTIVE);
    conn_guard_state_set(g, h[2], CONN_GUARD_TRUSTED);
    fake_now += 9999;
    assert_int_equal(conn_guard_expire(g, 10000, 30000), 0);
    fake_now += 2;
    assert_int_equal(conn_guard_expire(g, 10000, 30000), 1);
    assert_true(was_cut(&p, 0));
    assert_false(was_cut(&p, 1));
    fake_now += 15000;
    conn_guard_touch(g, h[1]);
    fake_now += 29000;
    assert_int_equal(conn_guard_expire(g, 10000, 30000), 0);
    fake_now += 2000;
    assert_int_equal(conn_guard_expire(g, 10000, 30000), 1);
    assert_true(was_cut(&p, 1));
    assert_false(was_cut(&p, 2));
    fake_now += 1000000;
    assert_int_equal(conn_guard_expire(g, 10000, 30000), 0); /* trusted, and the others already cut */
    assert_int_equal(conn_guard_count(g), 3);                /* slots stay until released */
    struct conn_guard_tally t;
    assert_true(conn_guard_tally_take(g, &t));
    assert_int_equal(t.expired, 2);
    char line[256];
    assert_int_equal(conn_guard_tally_format(&t, line, sizeof line), 0);
    assert_string_equal(line, "refused=0 evicted=0 expired=2 sources=10.0.0.1:r0/e0/x2");
    assert_int_equal(conn_guard_tally_format(&t, line, 10), SAFECAM_ERR_TOOBIG);
    conn_guard_free(g);
    pairs_close(&p);
}

/* More sources than the tally names: the rest is summed under "others"; the text stays bounded. */
static void test_tally_bounded(void **state)
{
    (void)state;
    struct pairs p = {0};
    conn_guard *g = guard(1, 1);
    conn_guard_handle h;
    unsigned k = pair_new(&p);
    assert_int_equal(conn_guard_admit(g, "10.9.9.9", p.ours[k], &h), 0);
    conn_guard_state_set(g, h, CONN_GUARD_TRUSTED);
    for (unsigned i = 0; i < 40; i++) {
        char src[32];
        assert_int_equal(safecam_fmt(src, sizeof src, "10.1.0.%u", i), 0);
        conn_guard_handle x;
        assert_int_equal(conn_guard_admit(g, src, p.ours[k], &x), SAFECAM_ERR_DENIED);
    }
    struct conn_guard_tally t;
    assert_true(conn_guard_tally_take(g, &t));
    assert_int_equal(t.refused, 40);
    assert_int_equal(t.n, CONN_GUARD_TALLY_SOURCES);
    char line[1024];
    assert_int_equal(conn_guard_tally_format(&t, line, sizeof line), 0);
    assert_non_null(strstr(line, "others:r32/e0/x0"));
    assert_true(strlen(line) < 400);
    conn_guard_free(g);
    pairs_close(&p);
}

static void test_source_key(void **state)
{
    (void)state;
    char out[CONN_GUARD_SOURCE_BYTES];
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr), 1);
    conn_guard_source_key((struct sockaddr *)&s4, out);
    assert_string_equal(out, "192.0.2.7");
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.8", &s6.sin6_addr), 1);
    conn_guard_source_key((struct sockaddr *)&s6, out);
    assert_string_equal(out, "192.0.2.8");
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &s6.sin6_addr), 1);
    conn_guard_source_key((struct sockaddr *)&s6, out);
    assert_string_equal(out, "2001:db8:1:2::/64");
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2::1", &s6.sin6_addr), 1);
    char out2[CONN_GUARD_SOURCE_BYTES];
    conn_guard_source_key((struct sockaddr *)&s6, out2);
    assert_string_equal(out, out2);
    struct sockaddr su = {.sa_family = AF_UNIX};
    conn_guard_source_key(&su, out);
    assert_string_equal(out, "unknown");
    conn_guard_source_key(NULL, out);
    assert_string_equal(out, "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_refuses_bad_sizes), cmocka_unit_test(test_per_source_share),
        cmocka_unit_test(test_same_source_idle_makes_way),
        cmocka_unit_test(test_eviction_order),        cmocka_unit_test(test_stale_handle),
        cmocka_unit_test(test_expire),                cmocka_unit_test(test_tally_bounded),
        cmocka_unit_test(test_source_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
