/* test_vault_admission.c — the admission budget of the vault's hash workers (lib/vault/admission.c) and the
 * pool itself (lib/vault/workers.c): per-source and global bounds, the reserve for known sources, busy
 * refusals that count nothing, the Retry-After estimate on an injected clock; the pool's two lanes (each on
 * workers of its own, the untrusted one at a lower CPU weight). docs/lockout.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "safecam/vault.h"
#include "safecam/vault_workers.h"

static int64_t now_ms;
static int64_t clock_fake(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static vault_admission *make(unsigned per_source, unsigned global, unsigned reserve)
{
    const struct vault_admission_limits lim = {.per_source = per_source, .global = global, .reserve = reserve};
    vault_admission *a = NULL;
    assert_int_equal(vault_admission_new(&lim, clock_fake, NULL, &a), 0);
    return a;
}

static void test_bad_limits(void **state)
{
    (void)state;
    vault_admission *a = NULL;
    const struct vault_admission_limits zero_src = {.per_source = 0, .global = 8, .reserve = 0};
    const struct vault_admission_limits zero_glob = {.per_source = 2, .global = 0, .reserve = 0};
    const struct vault_admission_limits huge = {.per_source = 2, .global = VAULT_WORKERS_CAP_MAX + 1, .reserve = 0};
    assert_int_equal(vault_admission_new(&zero_src, NULL, NULL, &a), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_admission_new(&zero_glob, NULL, NULL, &a), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_admission_new(&huge, NULL, NULL, &a), SAFECAM_ERR_INVAL);
    assert_null(a);
}

/* At most per_source in flight from one source; leaving frees the slot; other sources are not affected. */
static void test_per_source(void **state)
{
    (void)state;
    vault_admission *a = make(2, 8, 0);
    struct vault_admission_ticket t[3];
    int64_t ra = -1;
    assert_int_equal(vault_admission_enter(a, "10.0.0.1", 0, &t[0], &ra), 0);
    assert_int_equal(ra, 0);
    assert_int_equal(vault_admission_enter(a, "10.0.0.1", 0, &t[1], &ra), 0);
    assert_int_equal(vault_admission_enter(a, "10.0.0.1", 0, &t[2], &ra), SAFECAM_ERR_BUSY);
    assert_true(ra >= 1 && ra <= 30);
    assert_false(t[2].admitted);
    /* trusted or not, the per-source bound holds */
    assert_int_equal(vault_admission_enter(a, "10.0.0.1", 1, &t[2], &ra), SAFECAM_ERR_BUSY);
    assert_int_equal(vault_admission_in_flight(a, "10.0.0.1"), 2);
    assert_int_equal(vault_admission_enter(a, "10.0.0.2", 0, &t[2], &ra), 0);
    assert_int_equal(vault_admission_in_flight(a, NULL), 3);
    vault_admission_leave(a, "10.0.0.1", &t[0]);
    vault_admission_leave(a, "10.0.0.1", &t[0]); /* twice: the second is ignored */
    assert_int_equal(vault_admission_in_flight(a, "10.0.0.1"), 1);
    assert_int_equal(vault_admission_enter(a, "10.0.0.1", 0, &t[0], &ra), 0);
    vault_admission_leave(a, "10.0.0.1", &t[0]);
    vault_admission_leave(a, "10.0.0.1", &t[1]);
    vault_admission_leave(a, "10.0.0.2", &t[2]);
    assert_int_equal(vault_admission_in_flight(a, NULL), 0);
    vault_admission_free(a);
}

/* Many sources fill the global budget; beyond it only trusted requests get in, into the reserve; a refusal
 * counts nothing. */
static void test_global_and_reserve(void **state)
{
    (void)state;
    vault_admission *a = make(2, 8, 4);
    struct vault_admission_ticket t[16];
    char src[32];
    int64_t ra = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(src, sizeof src, "192.0.2.%d", i + 1);
        assert_int_equal(vault_admission_enter(a, src, 0, &t[i], &ra), 0);
    }
    assert_int_equal(vault_admission_enter(a, "192.0.2.100", 0, &t[8], &ra), SAFECAM_ERR_BUSY);
    assert_int_equal(vault_admission_in_flight(a, NULL), 8);
    for (int i = 8; i < 12; i++) {
        snprintf(src, sizeof src, "198.51.100.%d", i);
        assert_int_equal(vault_admission_enter(a, src, 1, &t[i], &ra), 0);
    }
    assert_int_equal(vault_admission_enter(a, "198.51.100.99", 1, &t[12], &ra), SAFECAM_ERR_BUSY);
    assert_int_equal(vault_admission_in_flight(a, NULL), 12);
    /* one untrusted leaves: still over the global bound for the untrusted (11 >= 8) */
    vault_admission_leave(a, "192.0.2.1", &t[0]);
    assert_int_equal(vault_admission_enter(a, "192.0.2.100", 0, &t[0], &ra), SAFECAM_ERR_BUSY);
    /* but a trusted one gets the freed slot */
    assert_int_equal(vault_admission_enter(a, "198.51.100.99", 1, &t[0], &ra), 0);
    vault_admission_leave(a, "198.51.100.99", &t[0]);
    for (int i = 1; i < 8; i++) {
        snprintf(src, sizeof src, "192.0.2.%d", i + 1);
        vault_admission_leave(a, src, &t[i]);
    }
    for (int i = 8; i < 12; i++) {
        snprintf(src, sizeof src, "198.51.100.%d", i);
        vault_admission_leave(a, src, &t[i]);
    }
    assert_int_equal(vault_admission_in_flight(a, NULL), 0);
    assert_int_equal(vault_admission_enter(a, "192.0.2.100", 0, &t[0], &ra), 0);
    vault_admission_leave(a, "192.0.2.100", &t[0]);
    vault_admission_free(a);
}

/* Retry-After follows how long admitted work stayed in flight (injected clock), within 1..30 s. */
static void test_retry_after_estimate(void **state)
{
    (void)state;
    vault_admission *a = make(1, 1, 0);
    struct vault_admission_ticket t, u;
    int64_t ra = 0;
    now_ms = 1000;
    for (int i = 0; i < 40; i++) { /* work that takes 4.5 s each */
        assert_int_equal(vault_admission_enter(a, "h", 0, &t, &ra), 0);
        now_ms += 4500;
        vault_admission_leave(a, "h", &t);
    }
    assert_int_equal(vault_admission_enter(a, "h", 0, &t, &ra), 0);
    assert_int_equal(vault_admission_enter(a, "i", 0, &u, &ra), SAFECAM_ERR_BUSY);
    assert_int_equal(ra, 5);
    vault_admission_leave(a, "h", &t);
    for (int i = 0; i < 60; i++) { /* then fast work: 10 ms */
        assert_int_equal(vault_admission_enter(a, "h", 0, &t, &ra), 0);
        now_ms += 10;
        vault_admission_leave(a, "h", &t);
    }
    assert_int_equal(vault_admission_enter(a, "h", 0, &t, &ra), 0);
    assert_int_equal(vault_admission_enter(a, "i", 0, &u, &ra), SAFECAM_ERR_BUSY);
    assert_int_equal(ra, 1);
    vault_admission_leave(a, "h", &t);
    for (int i = 0; i < 60; i++) { /* very slow work: capped */
        assert_int_equal(vault_admission_enter(a, "h", 0, &t, &ra), 0);
        now_ms += 120000;
        vault_admission_leave(a, "h", &t);
    }
    assert_int_equal(vault_admission_enter(a, "h", 0, &t, &ra), 0);
    assert_int_equal(vault_admission_enter(a, "i", 0, &u, &ra), SAFECAM_ERR_BUSY);
    assert_int_equal(ra, 30);
    vault_admission_leave(a, "h", &t);
    vault_admission_free(a);
}

static void test_bad_input(void **state)
{
    (void)state;
    vault_admission *a = make(2, 2, 0);
    struct vault_admission_ticket t;
    int64_t ra = 0;
    char longsrc[VAULT_SOURCE_MAX + 2];
    memset(longsrc, 'a', sizeof longsrc - 1);
    longsrc[sizeof longsrc - 1] = '\0';
    assert_int_equal(vault_admission_enter(a, longsrc, 0, &t, &ra), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_admission_enter(a, NULL, 0, &t, &ra), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_admission_in_flight(a, NULL), 0);
    vault_admission_leave(a, "never", &t); /* not admitted: ignored */
    vault_admission_free(a);
}

/* ---------------- the pool ---------------- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void job_run(void *p)
{
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    (*(int *)p)++;
}

static int discarded;
static void job_discard(void *p)
{
    (void)p;
    discarded++;
}

/* Wait (at most 10 s) for `want` finished jobs and take them into done, in finishing order; returns how many. */
static size_t take_done(vault_workers *w, void **done, size_t want)
{
    size_t got = 0;
    for (int round = 0; round < 100 && got < want; round++) {
        struct pollfd p = {.fd = vault_workers_fd(w), .events = POLLIN};
        if (poll(&p, 1, 100) == 1)
            got += vault_workers_take(w, done + got, want - got);
    }
    return got;
}

/* Jobs run off the caller's thread; the pool holds at most cap; finished jobs come back through the fd. */
static void test_pool(void **state)
{
    (void)state;
    vault_workers *w = NULL;
    int job[5] = {0};
    assert_int_equal(vault_workers_new(0, 1, 4, job_run, &w), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_workers_new(2, 1, 1, job_run, &w), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_workers_new(2, 0, 4, job_run, &w), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_workers_new(2, 2, 4, job_run, &w), SAFECAM_ERR_INVAL); /* no worker for trusted */
    assert_int_equal(vault_workers_new(1, 1, 4, job_run, &w), SAFECAM_ERR_INVAL);
    assert_int_equal(vault_workers_new(2, 1, 4, job_run, &w), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(vault_workers_submit(w, &job[i], i % 2), 0);
    assert_int_equal(vault_workers_submit(w, &job[4], 1), SAFECAM_ERR_BUSY);
    assert_int_equal(vault_workers_outstanding(w), 4);
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    void *done[4];
    assert_int_equal(take_done(w, done, 4), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(job[i], 1);
    assert_int_equal(vault_workers_outstanding(w), 0);
    /* finished jobs not taken go to discard at stop */
    assert_int_equal(vault_workers_submit(w, &job[4], 0), 0);
    struct pollfd p = {.fd = vault_workers_fd(w), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1); /* done (the eventfd says so), not taken */
    vault_workers_free(w, job_discard);
    assert_int_equal(discarded, 1);
}

/* Two lanes: a job that can be held until the test lets it finish, and that says when it started. */
struct lane_job {
    const char *name;
    int started, release;
    int nice; /* the nice value of the worker thread that ran it */
};
static pthread_mutex_t lane_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lane_cv = PTHREAD_COND_INITIALIZER;

static void lane_run(void *p)
{
    struct lane_job *j = p;
    int nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    pthread_mutex_lock(&lane_mu);
    j->nice = nice;
    j->started = 1;
    pthread_cond_broadcast(&lane_cv);
    while (!j->release)
        pthread_cond_wait(&lane_cv, &lane_mu);
    pthread_mutex_unlock(&lane_mu);
}

/* Whether j has started, waiting for it at most ms. */
static int lane_started(struct lane_job *j, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lane_mu);
    while (!j->started && pthread_cond_timedwait(&lane_cv, &lane_mu, &ts) == 0) {
    }
    int st = j->started;
    pthread_mutex_unlock(&lane_mu);
    return st;
}

static void lane_release(struct lane_job *j)
{
    pthread_mutex_lock(&lane_mu);
    j->release = 1;
    pthread_cond_broadcast(&lane_cv);
    pthread_mutex_unlock(&lane_mu);
}

/* Each lane has its own workers: untrusted jobs run only on the last untrusted_workers, at
 * VAULT_HASH_UNTRUSTED_NICE above the pool's creator, whatever else is idle; trusted jobs only on the others,
 * at the creator's weight, never behind an untrusted job. */
static void test_pool_lanes(void **state)
{
    (void)state;
    int base = getpriority(PRIO_PROCESS, (id_t)gettid());
    int lowered = base + VAULT_HASH_UNTRUSTED_NICE > 19 ? 19 : base + VAULT_HASH_UNTRUSTED_NICE;
    vault_workers *w = NULL;
    struct lane_job u1 = {.name = "u1"}, u2 = {.name = "u2"}, t1 = {.name = "t1"}, t2 = {.name = "t2"};
    assert_int_equal(vault_workers_new(2, 1, 8, lane_run, &w), 0);
    assert_int_equal(vault_workers_submit(w, &u1, 0), 0);
    assert_int_equal(vault_workers_submit(w, &u2, 0), 0);
    assert_true(lane_started(&u1, 10000));
    assert_false(lane_started(&u2, 100)); /* a worker is idle, but it takes trusted jobs only */
    assert_int_equal(vault_workers_submit(w, &t1, 1), 0);
    assert_true(lane_started(&t1, 10000)); /* the trusted worker takes it at once */
    assert_int_equal(vault_workers_submit(w, &t2, 1), 0);
    lane_release(&u1); /* the untrusted worker takes u2, never t2 */
    assert_true(lane_started(&u2, 10000));
    assert_false(lane_started(&t2, 100));
    lane_release(&t1);
    assert_true(lane_started(&t2, 10000));
    lane_release(&u2);
    lane_release(&t2);
    assert_int_equal(u1.nice, lowered); /* the untrusted worker runs at the lower weight, */
    assert_int_equal(u2.nice, lowered);
    assert_int_equal(t1.nice, base); /* the trusted one at its creator's */
    assert_int_equal(t2.nice, base);
    void *done[4];
    assert_int_equal(take_done(w, done, 4), 4);
    assert_ptr_equal(done[0], &u1); /* u1 finished first: released first */
    vault_workers_free(w, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_limits),       cmocka_unit_test(test_per_source),
        cmocka_unit_test(test_global_and_reserve), cmocka_unit_test(test_retry_after_estimate),
        cmocka_unit_test(test_bad_input),        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_pool_lanes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
