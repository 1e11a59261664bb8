/* backoff.h — bounded exponential back-off for a child that waits on a peer (the vault's TLS credentials, a
 * lost channel): the first retry after SAFECAM_BACKOFF_MIN_MS, each failure doubles the wait up to
 * SAFECAM_BACKOFF_MAX_MS, a success starts again at the minimum. Retries go on for as long as the process
 * runs: no fixed timeout leaves a service down for good. Each attempt itself stays bounded by its caller's
 * own timeout. Pure arithmetic on a monotonic clock in milliseconds (safecam_time_mono_ms()); no lock: one
 * thread owns a safecam_backoff. QCVN 135 G8 / EN 303 645 5.9-1 (resilience). */
#ifndef SAFECAM_BACKOFF_H
#define SAFECAM_BACKOFF_H

#include <stdint.h>

#define SAFECAM_BACKOFF_MIN_MS 100
#define SAFECAM_BACKOFF_MAX_MS 5000

struct safecam_backoff {
    int delay_ms;    /* the wait after the next failure (ms) */
    int64_t next_ms; /* monotonic time of the next attempt; 0: at once */
    unsigned failures; /* failures in a row since the last success */
};

/* Start (or start again after a success) at the minimum, the next attempt due at once. */
static inline void safecam_backoff_reset(struct safecam_backoff *b)
{
    b->delay_ms = SAFECAM_BACKOFF_MIN_MS;
    b->next_ms = 0;
    b->failures = 0;
}

/* 1 when an attempt is due at now_ms, else 0. */
static inline int safecam_backoff_due(const struct safecam_backoff *b, int64_t now_ms)
{
    return now_ms >= b->next_ms;
}

/* An attempt failed at now_ms: the next one is due after the current delay, which then doubles (bounded).
 * Returns the wait in ms until the next attempt. */
static inline int safecam_backoff_failed(struct safecam_backoff *b, int64_t now_ms)
{
    int wait = b->delay_ms < SAFECAM_BACKOFF_MIN_MS ? SAFECAM_BACKOFF_MIN_MS : b->delay_ms;
    b->next_ms = now_ms + wait;
    b->delay_ms = wait >= SAFECAM_BACKOFF_MAX_MS / 2 ? SAFECAM_BACKOFF_MAX_MS : wait * 2;
    if (b->failures < UINT32_MAX)
        b->failures++;
    return wait;
}

/* Log one failed attempt of a wait with back-off: the first failure is an info line, because at every start
 * the first ask races the peer's own start; a warning follows when the reason changes, and once when the wait
 * reaches SAFECAM_BACKOFF_WARN_AFTER failures in a row. *last_rc holds the reason last seen (0 before the
 * first failure). `what` names the wait, e.g. "RTSPS waits for the TLS credentials from the vault". Call it
 * before safecam_backoff_failed(b, ...). Implemented in lib/core/core.c. */
#define SAFECAM_BACKOFF_WARN_AFTER 5
void safecam_backoff_log_failure(const struct safecam_backoff *b, int rc, int *last_rc, const char *what);

#endif
