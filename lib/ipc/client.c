/* client.c — the one IPC client (include/safecam/ipc_client.h): several calls in flight on one channel, each
 * waiting for the reply with its own id (one waiting thread at a time reads the channel and hands the other
 * replies to their callers), a parked descriptor swapped in when no call is in flight, process-unique request
 * ids. Runs in web and media; replies are untrusted and checked for framing and shape here, for meaning by the
 * caller. */
#include "safecam/ipc_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "safecam/ipc.h"

/* One call in flight: its id and type, and the reply once the reading thread delivered it. */
struct ipc_client_slot {
    int used;
    int done;
    int rc; /* with done: 0 (reply set) or the channel's error */
    uint32_t id;
    uint16_t type;
    json_t *reply;
    int fd;
};

struct ipc_client {
    pthread_mutex_t mu;  /* guards everything below; held to send (bounded by IPC_SEND_TIMEOUT_MS), never to wait */
    pthread_cond_t cv;   /* CLOCK_MONOTONIC: a reply was delivered, the reader left, or the channel died */
    pthread_mutex_t swap_mu; /* guards next_fd only: never held long, so the channel giver never blocks */
    int fd;
    int next_fd;
    int lost;    /* guarded by swap_mu: the channel died and no fresh one was handed since */
    int reading; /* a thread is in ipc_recv on fd (fd is not closed meanwhile) */
    unsigned in_flight;
    int lock_wait_ms;
    unsigned flags;
    struct ipc_client_slot slot[IPC_CLIENT_IN_FLIGHT_MAX];
};

int ipc_client_new(int lock_wait_ms, unsigned flags, ipc_client **out)
{
    if (!out || lock_wait_ms <= 0 || (flags & ~IPC_CLIENT_LOCK_WAIT_CAPPED))
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    ipc_client *c = calloc(1, sizeof(*c));
    if (!c)
        return SAFECAM_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->swap_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->fd = -1;
    c->next_fd = -1;
    c->lock_wait_ms = lock_wait_ms;
    c->flags = flags;
    for (size_t i = 0; i < IPC_CLIENT_IN_FLIGHT_MAX; i++)
        c->slot[i].fd = -1;
    *out = c;
    return 0;
}

void ipc_client_free(ipc_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    if (c->next_fd >= 0)
        close(c->next_fd);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->swap_mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

int ipc_client_channel_set(ipc_client *c, int fd)
{
    if (!c || fd < 0) {
        if (fd >= 0)
            close(fd);
        return SAFECAM_ERR_INVAL;
    }
    pthread_mutex_lock(&c->swap_mu);
    if (c->next_fd >= 0)
        close(c->next_fd);
    c->next_fd = fd;
    c->lost = 0;
    pthread_mutex_unlock(&c->swap_mu);
    return 0;
}

int ipc_client_channel_lost(ipc_client *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->swap_mu);
    int lost = c->lost;
    pthread_mutex_unlock(&c->swap_mu);
    return lost;
}

/* The absolute time ms from now on clock `clk`. */
static void deadline_after_ms(clockid_t clk, struct timespec *ts, int ms)
{
    clock_gettime(clk, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The channel is dead (peer gone, protocol error): close it and fail every call in flight with rc.
 * Called with mu held and no thread reading. */
static void channel_kill(ipc_client *c, int rc)
{
    if (c->fd >= 0)
        close(c->fd); /* dead until the supervisor hands a fresh one */
    c->fd = -1;
    pthread_mutex_lock(&c->swap_mu);
    c->lost = c->next_fd < 0; /* the owner asks the supervisor for a fresh one (PROTO_SUP_CHANNEL_RENEW) */
    pthread_mutex_unlock(&c->swap_mu);
    for (size_t i = 0; i < IPC_CLIENT_IN_FLIGHT_MAX; i++)
        if (c->slot[i].used && !c->slot[i].done) {
            c->slot[i].done = 1;
            c->slot[i].rc = rc;
        }
    pthread_cond_broadcast(&c->cv);
}

/* Hand a received message to the call it answers (mu held). A reply nobody waits for (its call timed out) is
 * dropped; a request, or a reply of another type than its call, kills the channel. */
static void deliver(ipc_client *c, ipc_msg *msg)
{
    if (!(msg->flags & IPC_FLAG_REPLY)) {
        channel_kill(c, SAFECAM_ERR_PROTO);
        return;
    }
    for (size_t i = 0; i < IPC_CLIENT_IN_FLIGHT_MAX; i++) {
        struct ipc_client_slot *s = &c->slot[i];
        if (!s->used || s->done || s->id != msg->id)
            continue;
        if (s->type != msg->type) {
            channel_kill(c, SAFECAM_ERR_PROTO);
            return;
        }
        s->reply = msg->body;
        s->fd = msg->fd;
        msg->body = NULL;
        msg->fd = -1;
        s->rc = 0;
        s->done = 1;
        pthread_cond_broadcast(&c->cv);
        return;
    }
}

static int64_t mono_ms(void)
{
    return safecam_time_mono_ms();
}

/* Wait (mu held) until slot s is done or the deadline passes, reading the channel when no other thread does. */
static void slot_wait(ipc_client *c, struct ipc_client_slot *s, int64_t deadline)
{
    while (!s->done) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            s->done = 1;
            s->rc = SAFECAM_ERR_TIMEOUT;
            return;
        }
        if (c->fd < 0) {
            s->done = 1;
            s->rc = SAFECAM_ERR_CLOSED;
            return;
        }
        if (!c->reading) {
            int fd = c->fd;
            c->reading = 1;
            pthread_mutex_unlock(&c->mu);
            ipc_msg msg = {.fd = -1};
            int rc = ipc_recv(fd, &msg, (int)(left > 1000000 ? 1000000 : left));
            pthread_mutex_lock(&c->mu);
            c->reading = 0;
            if (rc == 0)
                deliver(c, &msg);
            else if (rc != SAFECAM_ERR_TIMEOUT)
                channel_kill(c, rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_PROTO ? rc : SAFECAM_ERR_IO);
            ipc_msg_clear(&msg);
            pthread_cond_broadcast(&c->cv); /* another waiter may take over the reading */
            continue;
        }
        struct timespec ts;
        deadline_after_ms(CLOCK_MONOTONIC, &ts, (int)(left > 1000000 ? 1000000 : left));
        (void)pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
}

int ipc_client_call(ipc_client *c, uint16_t type, const json_t *body, int fd_in, json_t **reply, int *fd_out,
                    int timeout_ms)
{
    if (reply)
        *reply = NULL;
    if (fd_out)
        *fd_out = -1;
    if (!c || !reply)
        return SAFECAM_ERR_INVAL;
    struct timespec ts;
    int wait_ms = c->lock_wait_ms;
    if ((c->flags & IPC_CLIENT_LOCK_WAIT_CAPPED) && timeout_ms >= 0 && timeout_ms < wait_ms)
        wait_ms = timeout_ms;
    int64_t deadline = mono_ms() + (timeout_ms >= 0 ? timeout_ms : 0);
    deadline_after_ms(CLOCK_REALTIME, &ts, wait_ms);
    int lr;
    while ((lr = pthread_mutex_timedlock(&c->mu, &ts)) == EINTR)
        ;
    if (lr != 0)
        return SAFECAM_ERR_TIMEOUT;
    /* A parked channel replaces the current one only when no call waits on the current one (or it is dead). */
    pthread_mutex_lock(&c->swap_mu);
    if (c->next_fd >= 0 && (c->fd < 0 || (c->in_flight == 0 && !c->reading))) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = c->next_fd;
        c->next_fd = -1;
    }
    pthread_mutex_unlock(&c->swap_mu);
    int rc = SAFECAM_ERR_CLOSED;
    struct ipc_client_slot *s = NULL;
    if (c->fd < 0)
        goto out;
    for (size_t i = 0; i < IPC_CLIENT_IN_FLIGHT_MAX && !s; i++)
        if (!c->slot[i].used)
            s = &c->slot[i];
    rc = SAFECAM_ERR_TIMEOUT; /* as many calls in flight as the client keeps: like a lock that never came */
    if (!s)
        goto out;
    *s = (struct ipc_client_slot){.used = 1, .id = ipc_call_id_new(), .type = type, .fd = -1};
    c->in_flight++;
    rc = ipc_send(c->fd, type, 0, s->id, body, fd_in);
    if (rc == 0) {
        if (timeout_ms < 0)
            deadline = INT64_MAX;
        slot_wait(c, s, deadline);
        rc = s->rc;
    } else if (rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_IO) {
        s->done = 1;
        if (!c->reading)
            channel_kill(c, rc);
        /* else: the reading thread sees the channel end and closes it */
    }
    if (rc == 0) {
        *reply = s->reply;
        if (fd_out)
            *fd_out = s->fd;
        else if (s->fd >= 0)
            close(s->fd);
    } else {
        if (s->reply)
            json_decref(s->reply);
        if (s->fd >= 0)
            close(s->fd);
    }
    *s = (struct ipc_client_slot){.fd = -1};
    c->in_flight--;
    if (rc == 0 && !json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        if (fd_out && *fd_out >= 0) {
            close(*fd_out);
            *fd_out = -1;
        }
        rc = SAFECAM_ERR_PROTO;
    }
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}
int ipc_client_request(ipc_client *c, uint16_t type, const json_t *body, int fd_in, int timeout_ms,
                       json_t **reply, int *fd_out, json_t **refusal)
{
    if (refusal)
        *refusal = NULL;
    if (!refusal)
        return SAFECAM_ERR_INVAL;
    json_t *answer = NULL;
    int rc = ipc_client_call(c, type, body, fd_in, &answer, fd_out, timeout_ms);
    if (rc != 0)
        return rc;
    if (json_is_true(json_object_get(answer, "ok"))) {
        *reply = answer;
        return 0;
    }
    if (fd_out && *fd_out >= 0) {
        close(*fd_out);
        *fd_out = -1;
    }
    *refusal = answer;
    return 0;
}
