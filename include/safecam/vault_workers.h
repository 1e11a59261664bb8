/* vault_workers.h — the vault's hash workers (a bounded pool of threads for Argon2id verifications, outside
 * the request loop) and the admission budget that decides which unauthenticated verification may use them.
 * Trust level: runs in the vault process only; the admission keys are client addresses as the web and media
 * processes report them. Implemented in lib/vault/workers.c and lib/vault/admission.c; design and numbers:
 * docs/lockout.md "Hash workers and admission". QCVN 135 brute force (Decision 724) / EN 303 645 5.1-5: the
 * protection against guessing must not let a guesser freeze the camera or lock its owner out. */
#ifndef SAFECAM_VAULT_WORKERS_H
#define SAFECAM_VAULT_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "safecam/core.h"

/* The product's numbers (docs/lockout.md): 2 workers, 1 for sources that logged in before and 1, at nice +10
 * (CPU weight 110 against the vault's 1024), for the others; at most 2 verifications in flight per source, 8
 * from all sources, 4 more for sources that logged in to the named account before. */
#define VAULT_HASH_WORKERS 2
#define VAULT_HASH_WORKERS_UNTRUSTED 1
#define VAULT_HASH_UNTRUSTED_NICE 10
#define VAULT_ADMIT_PER_SOURCE 2
#define VAULT_ADMIT_GLOBAL 8
#define VAULT_ADMIT_RESERVE 4

#define VAULT_WORKERS_THREADS_MAX 8
#define VAULT_WORKERS_CAP_MAX 256

/* ---------------- the pool ---------------- */

typedef struct vault_workers vault_workers;

/* Start `threads` (2..VAULT_WORKERS_THREADS_MAX) workers that call run(job) for each submitted job; at most
 * cap (threads..VAULT_WORKERS_CAP_MAX) jobs queued, running or done-not-taken at once. untrusted_workers
 * (1..threads-1) of them take the untrusted lane's jobs, in order, at VAULT_HASH_UNTRUSTED_NICE above the
 * caller's nice value (at most 19; best effort); the others the trusted lane's, in order. run must
 * not touch state the caller's thread uses without a lock (the vault object: never). Signals are blocked in
 * workers. Errors: SAFECAM_ERR_INVAL, SAFECAM_ERR_NOMEM, SAFECAM_ERR_IO (eventfd), SAFECAM_ERR_INTERNAL
 * (threads). */
int vault_workers_new(size_t threads, size_t untrusted_workers, size_t cap, void (*run)(void *job),
                      vault_workers **out) SAFECAM_WUR;

/* Queue a job (borrowed until it comes back from vault_workers_take) in the trusted lane (trusted != 0: the
 * source logged in before) or the untrusted one. SAFECAM_ERR_BUSY when cap jobs are outstanding
 * (nothing queued), SAFECAM_ERR_INVAL. Never blocks. */
int vault_workers_submit(vault_workers *w, void *job, int trusted) SAFECAM_WUR;

/* A descriptor that polls readable when finished jobs wait (borrowed; for the request loop's poll). */
int vault_workers_fd(const vault_workers *w);

/* Take up to max finished jobs into out (in finishing order); returns how many. Never blocks. */
size_t vault_workers_take(vault_workers *w, void **out, size_t max);

/* Jobs queued, running or finished-not-taken. */
size_t vault_workers_outstanding(vault_workers *w);

/* Stop: a running job finishes, queued and finished-not-taken jobs go to discard (may be NULL), the threads
 * are joined, everything is freed. NULL is a no-op. */
void vault_workers_free(vault_workers *w, void (*discard)(void *job));

/* ---------------- the admission budget ---------------- */

struct vault_admission_limits {
    unsigned per_source; /* in flight per source key, >= 1 */
    unsigned global;     /* in flight from all sources, >= 1 */
    unsigned reserve;    /* more in flight, only for trusted requests (a source known for the account) */
};

/* What one admitted request holds; give it back with vault_admission_leave. */
struct vault_admission_ticket {
    int admitted;
    int64_t start_ms;
};

typedef struct vault_admission vault_admission;

/* A budget with these limits (global, reserve <= VAULT_WORKERS_CAP_MAX). clock_ms (NULL: CLOCK_MONOTONIC in
 * ms) and its ctx give the time used to measure how long admitted work stays in flight (the Retry-After
 * estimate); tests inject their own. Errors: SAFECAM_ERR_INVAL, SAFECAM_ERR_NOMEM. Free with
 * vault_admission_free. */
int vault_admission_new(const struct vault_admission_limits *lim, int64_t (*clock_ms)(void *ctx), void *clock_ctx,
                        vault_admission **out) SAFECAM_WUR;
void vault_admission_free(vault_admission *a);

/* Admit one verification from source (a source key, at most VAULT_SOURCE_MAX bytes; IPv6 keyed per /64 by the
 * caller). trusted: the source logged in to the named account before (may use the reserve). 0 and *t filled;
 * SAFECAM_ERR_BUSY with *retry_after (1..30 s: the average time admitted work stayed in flight) when the
 * source already has per_source in flight, or all global (+ reserve when trusted) are in flight — nothing is
 * counted then; SAFECAM_ERR_INVAL. */
int vault_admission_enter(vault_admission *a, const char *source, int trusted, struct vault_admission_ticket *t,
                          int64_t *retry_after) SAFECAM_WUR;

/* Give back what enter admitted (same source); a ticket not admitted is ignored. */
void vault_admission_leave(vault_admission *a, const char *source, struct vault_admission_ticket *t);

/* In flight for source, or for all sources when source is NULL. */
unsigned vault_admission_in_flight(const vault_admission *a, const char *source);

#endif
