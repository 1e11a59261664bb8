/* conn_guard.c — connection slots shared fairly between sources; see include/safecam/conn_guard.h.
 * Linked into the web and media processes (network-facing). Every operation is O(slots) or, for an
 * eviction, O(slots) with a per-source count table rebuilt from the slots. QCVN 135 G11 / EN 303 645 5.6-9. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "safecam/conn_guard.h"

struct slot {
    int used;
    int fd;
    int cut;  /* already shut down by the guard (eviction or deadline) */
    int idle; /* answered, waiting for its next request head (a keep-alive connection) */
    enum conn_guard_state state;
    uint32_t gen;
    uint64_t src_hash;
    int64_t start_ms, last_ms;
    char source[CONN_GUARD_SOURCE_BYTES];
};

struct conn_guard {
    pthread_mutex_t mu;
    unsigned slots, per_source, used;
    conn_guard_clock_fn clock;
    void *clock_ctx;
    struct slot *s;
    struct conn_guard_tally tally;
};

static int64_t default_clock(void *ctx)
{
    (void)ctx;
    return safecam_time_mono_ms();
}

static uint64_t hash_source(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int conn_guard_new(unsigned slots, unsigned per_source, conn_guard **out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (slots < 1 || slots > CONN_GUARD_SLOTS_MAX || per_source < 1 || per_source > slots)
        return SAFECAM_ERR_INVAL;
    conn_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return SAFECAM_ERR_NOMEM;
    g->s = calloc(slots, sizeof(*g->s));
    if (!g->s) {
        free(g);
        return SAFECAM_ERR_NOMEM;
    }
    for (unsigned i = 0; i < slots; i++)
        g->s[i].fd = -1;
    pthread_mutex_init(&g->mu, NULL);
    g->slots = slots;
    g->per_source = per_source;
    g->clock = default_clock;
    *out = g;
    return 0;
}

void conn_guard_free(conn_guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g->s);
    free(g);
}

void conn_guard_clock_set(conn_guard *g, conn_guard_clock_fn fn, void *ctx)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->clock = fn ? fn : default_clock;
    g->clock_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&g->mu);
}

void conn_guard_source_key(const struct sockaddr *sa, char out[CONN_GUARD_SOURCE_BYTES])
{
    memcpy(out, "unknown", 8);
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        if (!inet_ntop(AF_INET, &s4->sin_addr, out, CONN_GUARD_SOURCE_BYTES))
            memcpy(out, "unknown", 8);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            if (!inet_ntop(AF_INET, &a->s6_addr[12], out, CONN_GUARD_SOURCE_BYTES))
                memcpy(out, "unknown", 8);
            return;
        }
        /* One holder of a /64 (a single host usually has the whole prefix) is one source. */
        struct in6_addr p = *a;
        memset(&p.s6_addr[8], 0, 8);
        char buf[INET6_ADDRSTRLEN];
        if (!inet_ntop(AF_INET6, &p, buf, sizeof buf) || safecam_fmt(out, CONN_GUARD_SOURCE_BYTES, "%s/64", buf) != 0)
            memcpy(out, "unknown", 8);
    }
}

static conn_guard_handle handle_of(const conn_guard *g, unsigned i)
{
    return ((uint64_t)g->s[i].gen << 32) | (uint64_t)(i + 1);
}

/* The slot of a live handle, or NULL. Under g->mu. */
static struct slot *slot_of(conn_guard *g, conn_guard_handle h)
{
    if (h == CONN_GUARD_HANDLE_NONE)
        return NULL;
    uint64_t idx = (h & 0xffffffffu);
    if (idx < 1 || idx > g->slots)
        return NULL;
    struct slot *s = &g->s[idx - 1];
    if (!s->used || s->gen != (uint32_t)(h >> 32))
        return NULL;
    return s;
}

static struct conn_guard_tally_source *tally_for(conn_guard *g, const char *source)
{
    struct conn_guard_tally *t = &g->tally;
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->by_source[i].source, source) == 0)
            return &t->by_source[i];
    if (t->n >= CONN_GUARD_TALLY_SOURCES)
        return NULL; /* counted in the totals only */
    struct conn_guard_tally_source *e = &t->by_source[t->n++];
    memset(e, 0, sizeof(*e));
    if (safecam_strlcpy(e->source, source, sizeof e->source) != 0)
        memcpy(e->source, "unknown", 8);
    return e;
}

/* Under g->mu: slots held by the source with this hash and key. */
static unsigned count_locked(const conn_guard *g, uint64_t hash, const char *source)
{
    unsigned n = 0;
    for (unsigned i = 0; i < g->slots; i++)
        if (g->s[i].used && g->s[i].src_hash == hash && strcmp(g->s[i].source, source) == 0)
            n++;
    return n;
}

/* Under g->mu: better eviction victim? a before b by (state, source count desc, start asc). */
static int victim_better(const struct slot *a, unsigned a_count, const struct slot *b, unsigned b_count)
{
    if (a->state != b->state)
        return a->state < b->state;
    if (a_count != b_count)
        return a_count > b_count;
    return a->start_ms < b->start_ms;
}

/* Under g->mu: the source's keep-alive connection that has waited longest for its next request, or -1. */
static int idle_of_source_locked(const conn_guard *g, uint64_t hash, const char *source)
{
    int best = -1;
    for (unsigned i = 0; i < g->slots; i++) {
        const struct slot *s = &g->s[i];
        if (s->used && s->idle && s->src_hash == hash && strcmp(s->source, source) == 0 &&
            (best < 0 || s->last_ms < g->s[best].last_ms))
            best = (int)i;
    }
    return best;
}

/* Under g->mu: cut the connection in slot i and free the slot for a newcomer (tallied as evicted). */
static void cut_for_newcomer_locked(conn_guard *g, unsigned i)
{
    struct slot *v = &g->s[i];
    if (!v->cut && v->fd >= 0)
        (void)shutdown(v->fd, SHUT_RDWR); /* the owner still holds the fd open: it releases before close */
    struct conn_guard_tally_source *e = tally_for(g, v->source);
    if (e)
        e->evicted++;
    g->tally.evicted++;
    v->used = 0;
    v->fd = -1;
    g->used--;
}

/* Under g->mu: pick and cut a victim. Returns the freed index, or -1 when every slot is trusted. */
static int evict_locked(conn_guard *g)
{
    int best = -1;
    unsigned best_count = 0;
    for (unsigned i = 0; i < g->slots; i++) {
        struct slot *s = &g->s[i];
        if (!s->used || s->state == CONN_GUARD_TRUSTED)
            continue;
        unsigned c = count_locked(g, s->src_hash, s->source);
        if (best < 0 || victim_better(s, c, &g->s[best], best_count)) {
            best = (int)i;
            best_count = c;
        }
    }
    if (best < 0)
        return -1;
    cut_for_newcomer_locked(g, (unsigned)best);
    return best;
}

int conn_guard_admit(conn_guard *g, const char *source, int fd, conn_guard_handle *out)
{
    if (out)
        *out = CONN_GUARD_HANDLE_NONE;
    if (!g || !source || !out || fd < 0)
        return SAFECAM_ERR_INVAL;
    size_t len = strnlen(source, CONN_GUARD_SOURCE_BYTES);
    if (len < 1 || len >= CONN_GUARD_SOURCE_BYTES)
        return SAFECAM_ERR_INVAL;
    uint64_t h = hash_source(source);
    pthread_mutex_lock(&g->mu);
    int idx = -1;
    if (count_locked(g, h, source) >= g->per_source) {
        /* At its share: it takes the place of its own keep-alive connection idle the longest (a browser
         * re-opens that one when it needs it), else it is refused cheaply (a flooder re-opens at once;
         * cutting its connections that never sent a request would feed a churn of TLS set-ups). */
        idx = idle_of_source_locked(g, h, source);
        if (idx >= 0)
            cut_for_newcomer_locked(g, (unsigned)idx);
    } else if (g->used >= g->slots)
        idx = evict_locked(g);
    else
        for (unsigned i = 0; i < g->slots; i++)
            if (!g->s[i].used) {
                idx = (int)i;
                break;
            }
    if (idx < 0) {
        struct conn_guard_tally_source *e = tally_for(g, source);
        if (e)
            e->refused++;
        g->tally.refused++;
        pthread_mutex_unlock(&g->mu);
        return SAFECAM_ERR_DENIED;
    }
    struct slot *s = &g->s[idx];
    uint32_t gen = s->gen + 1u;
    memset(s, 0, sizeof(*s));
    s->gen = gen ? gen : 1u;
    s->used = 1;
    s->fd = fd;
    s->state = CONN_GUARD_NEW;
    s->src_hash = h;
    memcpy(s->source, source, len + 1);
    s->start_ms = s->last_ms = g->clock(g->clock_ctx);
    g->used++;
    *out = handle_of(g, (unsigned)idx);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void conn_guard_state_set(conn_guard *g, conn_guard_handle h, enum conn_guard_state state)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    struct slot *s = slot_of(g, h);
    if (s && state > s->state)
        s->state = state;
    pthread_mutex_unlock(&g->mu);
}

void conn_guard_idle_set(conn_guard *g, conn_guard_handle h, int idle)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    struct slot *s = slot_of(g, h);
    if (s) {
        s->idle = idle != 0;
        s->last_ms = g->clock(g->clock_ctx);
    }
    pthread_mutex_unlock(&g->mu);
}

void conn_guard_touch(conn_guard *g, conn_guard_handle h)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    struct slot *s = slot_of(g, h);
    if (s)
        s->last_ms = g->clock(g->clock_ctx);
    pthread_mutex_unlock(&g->mu);
}

void conn_guard_release(conn_guard *g, conn_guard_handle h)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    struct slot *s = slot_of(g, h);
    if (s) {
        s->used = 0;
        s->fd = -1;
        g->used--;
    }
    pthread_mutex_unlock(&g->mu);
}

unsigned conn_guard_expire(conn_guard *g, int64_t new_ms, int64_t silent_ms)
{
    if (!g)
        return 0;
    unsigned n = 0;
    pthread_mutex_lock(&g->mu);
    int64_t now = g->clock(g->clock_ctx);
    for (unsigned i = 0; i < g->slots; i++) {
        struct slot *s = &g->s[i];
        if (!s->used || s->cut || s->state == CONN_GUARD_TRUSTED)
            continue;
        int late = (new_ms > 0 && s->state == CONN_GUARD_NEW && now - s->start_ms > new_ms) ||
                   (silent_ms > 0 && now - s->last_ms > silent_ms);
        if (!late)
            continue;
        if (s->fd >= 0)
            (void)shutdown(s->fd, SHUT_RDWR);
        s->cut = 1;
        struct conn_guard_tally_source *e = tally_for(g, s->source);
        if (e)
            e->expired++;
        g->tally.expired++;
        n++;
    }
    pthread_mutex_unlock(&g->mu);
    return n;
}

int conn_guard_precheck(conn_guard *g, const char *source)
{
    if (!g || !source)
        return SAFECAM_ERR_INVAL;
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    uint64_t h = hash_source(source);
    if (count_locked(g, h, source) >= g->per_source && idle_of_source_locked(g, h, source) < 0) {
        struct conn_guard_tally_source *e = tally_for(g, source);
        if (e)
            e->refused++;
        g->tally.refused++;
        rc = SAFECAM_ERR_DENIED;
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

unsigned conn_guard_count(conn_guard *g)
{
    if (!g)
        return 0;
    pthread_mutex_lock(&g->mu);
    unsigned n = g->used;
    pthread_mutex_unlock(&g->mu);
    return n;
}

unsigned conn_guard_count_source(conn_guard *g, const char *source)
{
    if (!g || !source)
        return 0;
    pthread_mutex_lock(&g->mu);
    unsigned n = count_locked(g, hash_source(source), source);
    pthread_mutex_unlock(&g->mu);
    return n;
}

int conn_guard_tally_take(conn_guard *g, struct conn_guard_tally *out)
{
    if (!g || !out)
        return 0;
    pthread_mutex_lock(&g->mu);
    *out = g->tally;
    memset(&g->tally, 0, sizeof(g->tally));
    pthread_mutex_unlock(&g->mu);
    return out->refused || out->evicted || out->expired;
}

int conn_guard_tally_format(const struct conn_guard_tally *t, char *out, size_t out_size)
{
    if (!t || !out || out_size == 0)
        return SAFECAM_ERR_INVAL;
    if (safecam_fmt(out, out_size, "refused=%u evicted=%u expired=%u sources=", t->refused, t->evicted,
                    t->expired) != 0)
        return SAFECAM_ERR_TOOBIG;
    size_t len = strlen(out);
    unsigned named_r = 0, named_e = 0, named_x = 0;
    for (unsigned i = 0; i < t->n && i < CONN_GUARD_TALLY_SOURCES; i++) {
        const struct conn_guard_tally_source *e = &t->by_source[i];
        if (safecam_fmt(out + len, out_size - len, "%s%s:r%u/e%u/x%u", i ? "," : "", e->source, e->refused,
                        e->evicted, e->expired) != 0) {
            out[0] = '\0';
            return SAFECAM_ERR_TOOBIG;
        }
        len += strlen(out + len);
        named_r += e->refused;
        named_e += e->evicted;
        named_x += e->expired;
    }
    if (t->refused > named_r || t->evicted > named_e || t->expired > named_x) {
        if (safecam_fmt(out + len, out_size - len, "%sothers:r%u/e%u/x%u", t->n ? "," : "", t->refused - named_r,
                        t->evicted - named_e, t->expired - named_x) != 0) {
            out[0] = '\0';
            return SAFECAM_ERR_TOOBIG;
        }
    }
    return 0;
}
