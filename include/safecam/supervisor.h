/* supervisor.h — the supervisor's bookkeeping for one child, as pure functions of an injected clock so
 * it is unit-tested without processes: restart back-off and the heartbeat watchdog.
 * QCVN 135 G8 (self-recovery) / EN 303 645 5.9-1. */
#ifndef SAFECAM_SUPERVISOR_H
#define SAFECAM_SUPERVISOR_H

#include <stdint.h>

#define SUPERVISOR_BACKOFF_MIN_MS 500
#define SUPERVISOR_BACKOFF_MAX_MS 30000
#define SUPERVISOR_STABLE_RUN_MS 60000 /* a child that ran this long starts again at the minimum back-off */
#define SUPERVISOR_HEARTBEAT_MISSES_MAX 3

/* Restart back-off of one child. Times are monotonic milliseconds from the caller's clock. */
struct supervisor_restart {
    int64_t started_ms;    /* when it last started */
    int64_t next_start_ms; /* when its next start is due (0 = now) */
    int backoff_ms;        /* the delay the next failure gets */
    unsigned restarts;     /* how many times it went down */
};

void supervisor_restart_init(struct supervisor_restart *r);
void supervisor_restart_started(struct supervisor_restart *r, int64_t now_ms);
/* The child went down at now_ms: schedules its next start and returns the delay chosen (ms): the minimum
 * after a stable run, then doubling up to SUPERVISOR_BACKOFF_MAX_MS. */
int supervisor_restart_down(struct supervisor_restart *r, int64_t now_ms);
/* A start attempt failed at now_ms (fork or socketpair): try again after the current back-off. */
void supervisor_restart_retry(struct supervisor_restart *r, int64_t now_ms);
int supervisor_restart_due(const struct supervisor_restart *r, int64_t now_ms);

/* Heartbeat watchdog of one running child: one heartbeat outstanding at a time. */
struct supervisor_heartbeat {
    uint32_t id;  /* outstanding heartbeat's message id, 0 = none */
    int missed;   /* intervals it has stayed unanswered */
    int answered; /* answered at least one since the child started */
};

enum supervisor_heartbeat_action {
    SUPERVISOR_HEARTBEAT_WAIT, /* one is outstanding and not yet overdue */
    SUPERVISOR_HEARTBEAT_SEND, /* send heartbeat next_id (now outstanding) */
    SUPERVISOR_HEARTBEAT_KILL, /* SUPERVISOR_HEARTBEAT_MISSES_MAX intervals unanswered: the child hangs */
};

void supervisor_heartbeat_reset(struct supervisor_heartbeat *hb);
/* One heartbeat interval passed; next_id is the id to use when a new heartbeat is to be sent. */
enum supervisor_heartbeat_action supervisor_heartbeat_tick(struct supervisor_heartbeat *hb, uint32_t next_id);
/* A heartbeat reply with id arrived: 1 when it answers the outstanding one, 0 when stale. */
int supervisor_heartbeat_answer(struct supervisor_heartbeat *hb, uint32_t id);
/* Answered once and nothing overdue. */
int supervisor_heartbeat_healthy(const struct supervisor_heartbeat *hb);

#endif
