/* queue.c — the bounded in-memory FIFO of events and uploads waiting for a linked service, and the back-off
 * with full jitter between connection attempts. No I/O but closing the descriptors entries hold. Trust level: entries come from the
 * camera's own processes. QCVN 135 G8 / EN 303 645 5.9-1 (resilience: bounded memory, no tight loop). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "safecam/core.h"
#include "safecam/link.h"

int link_queue_init(struct link_queue *q, size_t max_items, size_t max_bytes)
{
    if (!q || max_items == 0 || max_bytes == 0)
        return SAFECAM_ERR_INVAL;
    memset(q, 0, sizeof *q);
    q->items = calloc(max_items, sizeof *q->items);
    if (!q->items)
        return SAFECAM_ERR_NOMEM;
    q->max_items = max_items;
    q->max_bytes = max_bytes;
    return 0;
}

static void entry_clear(struct link_queue_entry *e)
{
    free(e->a);
    free(e->b);
    if (e->fd >= 0)
        close(e->fd);
    memset(e, 0, sizeof *e);
    e->fd = -1;
}

void link_queue_free(struct link_queue *q)
{
    if (!q || !q->items)
        return;
    while (q->count)
        link_queue_pop(q);
    free(q->items);
    memset(q, 0, sizeof *q);
}

const struct link_queue_entry *link_queue_peek(const struct link_queue *q)
{
    return q && q->count ? &q->items[q->head] : NULL;
}

void link_queue_pop(struct link_queue *q)
{
    if (!q || q->count == 0)
        return;
    struct link_queue_entry *e = &q->items[q->head];
    q->bytes -= e->bytes;
    entry_clear(e);
    q->head = (q->head + 1) % q->max_items;
    q->count--;
}

size_t link_queue_filter(struct link_queue *q, int (*keep)(const struct link_queue_entry *, void *), void *user)
{
    if (!q || !q->items || !keep)
        return 0;
    size_t w = 0, n = q->count, removed = 0;
    q->bytes = 0;
    for (size_t r = 0; r < n; r++) {
        struct link_queue_entry *it = &q->items[(q->head + r) % q->max_items];
        if (!keep(it, user)) {
            entry_clear(it);
            removed++;
            continue;
        }
        if (w != r) {
            q->items[(q->head + w) % q->max_items] = *it;
            memset(it, 0, sizeof *it);
            it->fd = -1;
        }
        q->bytes += q->items[(q->head + w) % q->max_items].bytes;
        w++;
    }
    q->count = w;
    return removed;
}

int link_queue_push(struct link_queue *q, const char *a, const char *b, int64_t t)
{
    return link_queue_push_fd(q, a, b, t, -1);
}

int link_queue_push_fd(struct link_queue *q, const char *a, const char *b, int64_t t, int fd)
{
    size_t bytes = a ? strlen(a) + (b ? strlen(b) : 0) : 0;
    char *ca = NULL, *cb = NULL;
    int rc = !q || !q->items || !a      ? SAFECAM_ERR_INVAL
             : bytes > q->max_bytes     ? SAFECAM_ERR_TOOBIG
             : !(ca = strdup(a))        ? SAFECAM_ERR_NOMEM
             : (b && !(cb = strdup(b))) ? SAFECAM_ERR_NOMEM
                                        : 0;
    if (rc != 0) {
        free(ca);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    int dropped = 0;
    while (q->count && (q->count == q->max_items || q->bytes + bytes > q->max_bytes)) {
        link_queue_pop(q); /* the oldest goes first */
        q->dropped++;
        dropped++;
    }
    struct link_queue_entry *e = &q->items[(q->head + q->count) % q->max_items];
    e->a = ca;
    e->b = cb;
    e->fd = fd;
    e->bytes = bytes;
    e->t = t;
    q->count++;
    q->bytes += bytes;
    return dropped;
}

int link_backoff_failed(struct safecam_backoff *b, int64_t now_ms)
{
    int bound = safecam_backoff_failed(b, now_ms); /* 100 ms doubling to 5 s */
    int wait = SAFECAM_BACKOFF_MIN_MS;
    if (bound > SAFECAM_BACKOFF_MIN_MS)
        wait += (int)randombytes_uniform((uint32_t)(bound - SAFECAM_BACKOFF_MIN_MS + 1));
    b->next_ms = now_ms + wait;
    return wait;
}
