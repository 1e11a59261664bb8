/* evidence.c — the primitives every checker file uses and that use nothing else of lib/check but the
 * i18n table: evidence lines (redacted, printable, capped), verdicts with their Vietnamese reason,
 * the secrets to redact, and pacing sleeps. A leaf of lib/check: tests and the runner include it
 * through check_internal.h; it calls no test, probe or runner function.
 * Trust level: formats device bytes already made printable by the callers; redacts lab secrets. */
#include "check_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void check_secret_add(struct check_ctx *c, const char *s)
{
    if (s == NULL || s[0] == '\0' || c->n_secrets >= CHECK_MAX_SECRETS)
        return;
    /* a well-known default password is public (PW-01 shows it): redacting it would blank ordinary words
     * such as "admin" in every evidence line */
    for (size_t i = 0; i < check_default_creds_count(); i++)
        if (strcmp(s, check_default_cred(i, 1)) == 0)
            return;
    c->secrets[c->n_secrets++] = s;
}

static void redact(const struct check_ctx *c, char *buf, size_t size)
{
    for (size_t i = 0; i < c->n_secrets; i++) {
        const char *s = c->secrets[i];
        size_t sl = strlen(s);
        if (sl == 0)
            continue;
        char *p;
        while ((p = strstr(buf, s)) != NULL) {
            static const char mark[] = "[redacted]";
            size_t tail = strlen(p + sl);
            size_t ml = sizeof mark - 1;
            if ((size_t)(p - buf) + ml + tail + 1 > size) {
                /* no room: cut the line at the secret */
                memset(p, '*', 1);
                p[1] = '\0';
                break;
            }
            memmove(p + ml, p + sl, tail + 1);
            memcpy(p, mark, ml);
        }
    }
}

void check_evidence(struct check_ctx *c, struct check_result *r, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    redact(c, buf, sizeof buf);
    if (!safecam_utf8_valid(buf, strlen(buf))) {
        char tmp[2048];
        check_printable(tmp, sizeof tmp, buf, strlen(buf));
        memcpy(buf, tmp, sizeof buf);
    }
    if (json_array_size(r->evidence) < 400)
        json_array_append_new(r->evidence, json_string(buf));
}

void check_verdict(struct check_result *r, enum check_verdict v, const char *fmt, ...)
{
    r->verdict = v;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    if (n < 0)
        r->reason[0] = '\0';
    /* the same reason in Vietnamese: the translated format gets the same arguments (same conversions,
     * checked by test_check) */
    const char *vi = check_i18n_vi(fmt);
    r->reason_vi[0] = '\0';
    if (vi != NULL) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        n = vsnprintf(r->reason_vi, sizeof r->reason_vi, vi, ap2);
#pragma GCC diagnostic pop
        if (n < 0)
            r->reason_vi[0] = '\0';
    }
    va_end(ap2);
}

void check_sleep_ms(int64_t ms, int64_t *bucket)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    if (bucket)
        *bucket += ms;
}

void check_pace(struct check_ctx *c)
{
    if (c->opt->delay_ms > 0)
        check_sleep_ms(c->opt->delay_ms, &c->wait_other_ms);
}

