/* workers.c — a bounded pool of threads for the vault's slow work (Argon2id verifications), outside the
 * vault's request loop: the loop submits a job and goes on answering other requests; a worker runs it and
 * puts it on the done list, and an eventfd wakes the loop to finish it (database, audit, reply). A job never
 * touches the vault object: only the loop's thread does. Two lanes with workers of their own: trusted jobs
 * (a source that logged in before) on the first workers, at the vault's CPU weight; untrusted ones on the
 * last untrusted_workers, at a lower weight (VAULT_HASH_UNTRUSTED_NICE). So a flood from unknown addresses
 * leaves the other cores to the rest of the camera, gives way on its own core to the requests the camera is
 * serving, and never delays a trusted job. Runs in the vault process. Design: docs/lockout.md "Hash workers
 * and admission". QCVN 135 brute force / EN 303 645 5.1-5 (the protection must not become a denial of
 * service). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vault_internal.h"

/* A ring of jobs waiting for a worker. */
struct job_ring {
    void **job;
    size_t head, queued;
};

struct vault_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job was queued, or stop */
    pthread_t th[VAULT_WORKERS_THREADS_MAX];
    size_t n_threads;
    size_t n_named;         /* workers that took their index (worker_main) */
    size_t trusted_workers; /* workers 0 .. trusted_workers-1 take trusted jobs, the others untrusted ones */
    void (*run)(void *job);
    struct job_ring trusted;
    struct job_ring untrusted;
    void **done; /* jobs finished, not yet taken by the loop */
    size_t n_done;
    size_t cap;         /* jobs queued + running + done at most */
    size_t outstanding; /* jobs queued + running + done */
    int stop;
    int efd;
};

static void ring_push(struct job_ring *r, size_t cap, void *job)
{
    r->job[(r->head + r->queued) % cap] = job;
    r->queued++;
}

static void *ring_pop(struct job_ring *r, size_t cap)
{
    void *job = r->job[r->head];
    r->head = (r->head + 1) % cap;
    r->queued--;
    return job;
}

/* Hand every queued job to discard (may be NULL: they are dropped). */
static void ring_drain(struct job_ring *r, size_t cap, void (*discard)(void *job))
{
    while (r->queued > 0) {
        void *job = ring_pop(r, cap);
        if (discard)
            discard(job);
    }
}

/* Lower the calling thread's CPU weight by VAULT_HASH_UNTRUSTED_NICE (the nice value is per thread on
 * Linux; never above 19). Best effort: a refusal leaves the thread at the vault's own weight, and the lane
 * still bounds how many untrusted hashes run. */
static void worker_nice_lower(void)
{
    id_t tid = (id_t)gettid();
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, tid);
    if (errno != 0)
        return;
    nice += VAULT_HASH_UNTRUSTED_NICE;
    (void)setpriority(PRIO_PROCESS, tid, nice > 19 ? 19 : nice);
}

static void *worker_main(void *arg)
{
    vault_workers *w = arg;
    pthread_mutex_lock(&w->mu);
    struct job_ring *lane = w->n_named++ < w->trusted_workers ? &w->trusted : &w->untrusted;
    /* named for ps -L and top -H (a name of 15 bytes at most) */
    (void)pthread_setname_np(pthread_self(), lane == &w->trusted ? "hash-trusted" : "hash-untrusted");
    if (lane == &w->untrusted)
        worker_nice_lower();
    for (;;) {
        while (!w->stop && lane->queued == 0)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        void *job = ring_pop(lane, w->cap);
        pthread_mutex_unlock(&w->mu);
        w->run(job);
        pthread_mutex_lock(&w->mu);
        w->done[w->n_done++] = job; /* n_done < cap: outstanding counts it */
        uint64_t one = 1;
        ssize_t wr = write(w->efd, &one, sizeof one);
        (void)wr; /* an eventfd counter cannot overflow with at most cap completions pending */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int vault_workers_new(size_t threads, size_t untrusted_workers, size_t cap, void (*run)(void *job),
                      vault_workers **out)
{
    if (!out || !run || threads > VAULT_WORKERS_THREADS_MAX || untrusted_workers == 0 ||
        untrusted_workers >= threads || cap < threads || cap > VAULT_WORKERS_CAP_MAX)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    vault_workers *w = calloc(1, sizeof *w);
    if (!w)
        return SAFECAM_ERR_NOMEM;
    w->trusted.job = calloc(cap, sizeof(void *));
    w->untrusted.job = calloc(cap, sizeof(void *));
    w->done = calloc(cap, sizeof *w->done);
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!w->trusted.job || !w->untrusted.job || !w->done || w->efd < 0) {
        int rc = w->efd < 0 ? SAFECAM_ERR_IO : SAFECAM_ERR_NOMEM;
        if (w->efd >= 0)
            close(w->efd);
        free(w->trusted.job);
        free(w->untrusted.job);
        free(w->done);
        free(w);
        return rc;
    }
    w->cap = cap;
    w->trusted_workers = threads - untrusted_workers;
    w->run = run;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    /* Workers take no signals: SIGTERM and friends stay with the request loop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = 0;
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&w->th[i], NULL, worker_main, w) != 0) {
            rc = SAFECAM_ERR_INTERNAL;
            break;
        }
        w->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        vault_workers_free(w, NULL);
        return rc;
    }
    *out = w;
    return 0;
}

int vault_workers_submit(vault_workers *w, void *job, int trusted)
{
    if (!w || !job)
        return SAFECAM_ERR_INVAL;
    pthread_mutex_lock(&w->mu);
    int rc = SAFECAM_ERR_BUSY;
    if (!w->stop && w->outstanding < w->cap) {
        ring_push(trusted ? &w->trusted : &w->untrusted, w->cap, job);
        w->outstanding++;
        pthread_cond_broadcast(&w->cv); /* the worker woken must be one that may take it */
        rc = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int vault_workers_fd(const vault_workers *w)
{
    return w ? w->efd : -1;
}

size_t vault_workers_take(vault_workers *w, void **out, size_t max)
{
    if (!w || !out || max == 0)
        return 0;
    uint64_t n;
    ssize_t r = read(w->efd, &n, sizeof n); /* clear the wake-up; what is done is counted below */
    (void)r;
    pthread_mutex_lock(&w->mu);
    size_t k = w->n_done < max ? w->n_done : max;
    for (size_t i = 0; i < k; i++)
        out[i] = w->done[i];
    for (size_t i = k; i < w->n_done; i++)
        w->done[i - k] = w->done[i];
    w->n_done -= k;
    w->outstanding -= k;
    if (w->n_done > 0) { /* more than max were done: wake the loop again */
        uint64_t one = 1;
        ssize_t wr = write(w->efd, &one, sizeof one);
        (void)wr;
    }
    pthread_mutex_unlock(&w->mu);
    return k;
}

size_t vault_workers_outstanding(vault_workers *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    size_t n = w->outstanding;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void vault_workers_free(vault_workers *w, void (*discard)(void *job))
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < w->n_threads; i++)
        pthread_join(w->th[i], NULL); /* a running job finishes first (one Argon2id verify) */
    ring_drain(&w->trusted, w->cap, discard);
    ring_drain(&w->untrusted, w->cap, discard);
    for (size_t i = 0; discard && i < w->n_done; i++)
        discard(w->done[i]);
    close(w->efd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->trusted.job);
    free(w->untrusted.job);
    free(w->done);
    free(w);
}
