/* watch.c — restart back-off and heartbeat watchdog of one child, as pure functions of the caller's clock
 * (supervisor.h). Runs in the supervisor; never touches a process itself. QCVN 135 G8 / EN 303 645 5.9-1. */
#include "safecam/supervisor.h"

void supervisor_restart_init(struct supervisor_restart *r)
{
    *r = (struct supervisor_restart){.backoff_ms = SUPERVISOR_BACKOFF_MIN_MS};
}

void supervisor_restart_started(struct supervisor_restart *r, int64_t now_ms)
{
    r->started_ms = now_ms;
}

int supervisor_restart_down(struct supervisor_restart *r, int64_t now_ms)
{
    if (now_ms - r->started_ms > SUPERVISOR_STABLE_RUN_MS)
        r->backoff_ms = SUPERVISOR_BACKOFF_MIN_MS;
    int delay = r->backoff_ms;
    r->next_start_ms = now_ms + delay;
    r->restarts++;
    r->backoff_ms = r->backoff_ms * 2 > SUPERVISOR_BACKOFF_MAX_MS ? SUPERVISOR_BACKOFF_MAX_MS : r->backoff_ms * 2;
    return delay;
}

void supervisor_restart_retry(struct supervisor_restart *r, int64_t now_ms)
{
    r->next_start_ms = now_ms + r->backoff_ms;
}

int supervisor_restart_due(const struct supervisor_restart *r, int64_t now_ms)
{
    return r->next_start_ms <= now_ms;
}

void supervisor_heartbeat_reset(struct supervisor_heartbeat *hb)
{
    *hb = (struct supervisor_heartbeat){0};
}

enum supervisor_heartbeat_action supervisor_heartbeat_tick(struct supervisor_heartbeat *hb, uint32_t next_id)
{
    if (hb->id != 0)
        return ++hb->missed >= SUPERVISOR_HEARTBEAT_MISSES_MAX ? SUPERVISOR_HEARTBEAT_KILL
                                                                 : SUPERVISOR_HEARTBEAT_WAIT;
    hb->id = next_id ? next_id : 1;
    return SUPERVISOR_HEARTBEAT_SEND;
}

int supervisor_heartbeat_answer(struct supervisor_heartbeat *hb, uint32_t id)
{
    if (hb->id == 0 || id != hb->id)
        return 0;
    hb->id = 0;
    hb->missed = 0;
    hb->answered = 1;
    return 1;
}

int supervisor_heartbeat_healthy(const struct supervisor_heartbeat *hb)
{
    return hb->answered && hb->missed == 0;
}
