/* client.c — the one IPC client (include/safecam/ipc_client.h): a timed lock per channel, a parked descriptor
 * swapped in at the next call, process-unique request ids (ipc_call). Runs in web and media; replies are
 * untrusted and checked for framing and shape here, for meaning by the caller. */
#include "safecam/ipc_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "safecam/ipc.h"

struct ipc_client {
    pthread_mutex_t mu;      /* serialises calls; held for the length of one ipc_call */
    pthread_mutex_t swap_mu; /* guards next_fd only: never held long, so the channel giver never blocks */
    int fd;
    int next_fd;
    int lock_wait_ms;
    unsigned flags;
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
    c->fd = -1;
    c->next_fd = -1;
    c->lock_wait_ms = lock_wait_ms;
    c->flags = flags;
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
    pthread_mutex_unlock(&c->swap_mu);
    return 0;
}

/* The absolute CLOCK_REALTIME time ms from now (pthread_mutex_timedlock's clock). */
static void deadline_after_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
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
    deadline_after_ms(&ts, wait_ms);
    int lr;
    while ((lr = pthread_mutex_timedlock(&c->mu, &ts)) == EINTR)
        ;
    if (lr != 0)
        return SAFECAM_ERR_TIMEOUT;
    pthread_mutex_lock(&c->swap_mu);
    if (c->next_fd >= 0) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = c->next_fd;
        c->next_fd = -1;
    }
    pthread_mutex_unlock(&c->swap_mu);
    int rc = SAFECAM_ERR_CLOSED;
    if (c->fd < 0)
        goto out;
    rc = ipc_call(c->fd, type, body, fd_in, reply, fd_out, timeout_ms);
    if (rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_PROTO || rc == SAFECAM_ERR_IO) {
        close(c->fd); /* dead until the supervisor hands a fresh one */
        c->fd = -1;
    }
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
