/* admission.c — the admission budget of unauthenticated password verifications (logins, RTSP Basic checks):
 * at most `per_source` in flight (queued or running on the hash workers) per source address, at most `global`
 * in flight from all sources together, plus `reserve` more that only a source that logged in to the named
 * account before may use (so a flood from new addresses cannot crowd the owner out). Beyond the budget the
 * request is refused at once with a Retry-After estimate, and nothing else happens (no lockout count, no
 * audit). Pure bookkeeping: no I/O, an injectable millisecond clock (for the Retry-After estimate from the
 * measured service time). Runs in the vault process, on the request loop's thread only.
 * Design: docs/lockout.md "Hash workers and admission". QCVN 135 brute force / EN 303 645 5.1-5. */
#include <stdlib.h>
#include <string.h>

#include "vault_internal.h"

#define EWMA_START_MS 250 /* service time assumed before the first measurement */
#define RETRY_AFTER_MAX_S 30

struct admission_entry {
    char source[VAULT_SOURCE_MAX + 1];
    unsigned in_flight; /* > 0 for every entry in use */
};

struct vault_admission {
    struct vault_admission_limits lim;
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    unsigned total;      /* in flight, all sources */
    int64_t service_ms;  /* moving average (1/8 weight) of enter -> leave, ms */
    size_t n_entries;    /* entries in use: one per source with work in flight */
    struct admission_entry entry[]; /* lim.global + lim.reserve */
};

static int64_t clock_default(void *ctx)
{
    (void)ctx;
    return safecam_time_mono_ms();
}

int vault_admission_new(const struct vault_admission_limits *lim, int64_t (*clock_ms)(void *ctx), void *clock_ctx,
                        vault_admission **out)
{
    if (!out || !lim || lim->per_source == 0 || lim->global == 0 ||
        lim->global > VAULT_WORKERS_CAP_MAX || lim->reserve > VAULT_WORKERS_CAP_MAX)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    size_t n = (size_t)lim->global + lim->reserve;
    vault_admission *a = calloc(1, sizeof *a + n * sizeof a->entry[0]);
    if (!a)
        return SAFECAM_ERR_NOMEM;
    a->lim = *lim;
    a->clock_ms = clock_ms ? clock_ms : clock_default;
    a->clock_ctx = clock_ms ? clock_ctx : NULL;
    a->service_ms = EWMA_START_MS;
    *out = a;
    return 0;
}

void vault_admission_free(vault_admission *a)
{
    free(a);
}

static struct admission_entry *entry_find(vault_admission *a, const char *source)
{
    for (size_t i = 0; i < a->n_entries; i++)
        if (strcmp(a->entry[i].source, source) == 0)
            return &a->entry[i];
    return NULL;
}

/* Seconds until a slot is likely free: the moving average of how long an admitted verification stays in
 * flight (queue wait included, so it grows with the load); at least 1, at most RETRY_AFTER_MAX_S. */
static int64_t retry_estimate(const vault_admission *a)
{
    int64_t s = (a->service_ms + 999) / 1000;
    return s < 1 ? 1 : s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
}

int vault_admission_enter(vault_admission *a, const char *source, int trusted, struct vault_admission_ticket *t,
                          int64_t *retry_after)
{
    if (retry_after)
        *retry_after = 0;
    if (!a || !source || !t || !retry_after || strlen(source) > VAULT_SOURCE_MAX)
        return SAFECAM_ERR_INVAL;
    memset(t, 0, sizeof *t);
    struct admission_entry *e = entry_find(a, source);
    unsigned limit = a->lim.global + (trusted ? a->lim.reserve : 0);
    if ((e && e->in_flight >= a->lim.per_source) || a->total >= limit) {
        *retry_after = retry_estimate(a);
        return SAFECAM_ERR_BUSY;
    }
    if (!e) {
        /* total < global + reserve, and every entry holds at least one: there is room */
        if (a->n_entries >= (size_t)a->lim.global + a->lim.reserve)
            return SAFECAM_ERR_INTERNAL;
        e = &a->entry[a->n_entries++];
        memcpy(e->source, source, strlen(source) + 1);
        e->in_flight = 0;
    }
    e->in_flight++;
    a->total++;
    t->admitted = 1;
    t->start_ms = a->clock_ms(a->clock_ctx);
    return 0;
}

void vault_admission_leave(vault_admission *a, const char *source, struct vault_admission_ticket *t)
{
    if (!a || !source || !t || !t->admitted)
        return;
    t->admitted = 0;
    struct admission_entry *e = entry_find(a, source);
    if (!e || e->in_flight == 0 || a->total == 0)
        return; /* never admitted under this name: nothing to give back */
    int64_t took = a->clock_ms(a->clock_ctx) - t->start_ms;
    if (took >= 0 && took < 600000)
        a->service_ms = (a->service_ms * 7 + took) / 8;
    a->total--;
    if (--e->in_flight == 0) {
        size_t i = (size_t)(e - a->entry);
        a->entry[i] = a->entry[--a->n_entries];
    }
}

unsigned vault_admission_in_flight(const vault_admission *a, const char *source)
{
    if (!a)
        return 0;
    if (!source)
        return a->total;
    for (size_t i = 0; i < a->n_entries; i++)
        if (strcmp(a->entry[i].source, source) == 0)
            return a->entry[i].in_flight;
    return 0;
}
