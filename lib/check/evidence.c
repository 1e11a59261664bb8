/* evidence.c — the primitives every checker file uses and that use nothing else of lib/check but the
 * i18n table: evidence lines (redacted, printable, capped), verdicts with their Vietnamese reason,
 * the secrets to redact (and the well-known defaults that are not), pacing sleeps, the printable
 * rendering of device bytes, and the absent-feature verdicts. A leaf of lib/check: tests and the runner
 * include it through check_internal.h; it calls no test, probe or runner function.
 * Trust level: formats device bytes already made printable by the callers; redacts lab secrets. */
#include "check_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Well-known camera defaults (data/check/default-credentials.txt; keep both in sync — test_check
 * compares them). PW-01 tries them (group_pw.c); the redactor never blanks one of their passwords. */
static const char *const default_creds[][2] = {
    {"admin", "admin"},    {"admin", ""},          {"admin", "12345"},   {"admin", "123456"},
    {"root", "root"},      {"root", ""},           {"admin", "password"}, {"admin", "1234"},
    {"admin", "888888"},   {"admin", "666666"},    {"root", "xc3511"},   {"root", "vizxv"},
    {"root", "12345"},     {"admin", "9999"},      {"admin", "admin123"}, {"supervisor", "supervisor"},
    {"ubnt", "ubnt"},      {"root", "pass"},       {"admin", "meinsm"},  {"admin", "4321"},
    {"service", "service"}, {"admin", "1111"},     {"root", "admin"},    {"user", "user"},
};

size_t check_default_creds_count(void)
{
    return SAFECAM_ARRAY_LEN(default_creds);
}
const char *check_default_cred(size_t i, int field)
{
    return i < SAFECAM_ARRAY_LEN(default_creds) ? default_creds[i][field ? 1 : 0] : NULL;
}

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

void check_printable(char *dst, size_t dst_size, const char *src, size_t len)
{
    size_t o = 0;
    if (dst_size == 0)
        return;
    for (size_t i = 0; i < len && o + 5 < dst_size; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch == '\r') {
            dst[o++] = '\\';
            dst[o++] = 'r';
        } else if (ch == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else if (ch < 0x20 || ch >= 0x7f) {
            static const char hx[] = "0123456789abcdef";
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hx[ch >> 4];
            dst[o++] = hx[ch & 15];
        } else {
            dst[o++] = (char)ch;
        }
    }
    if (len > 0 && o + 5 >= dst_size && o + 3 < dst_size) {
        dst[o++] = '.';
        dst[o++] = '.';
        dst[o++] = '.';
    }
    dst[o] = '\0';
}

/* ---- absent features (check_internal.h) and the run context ---- */

static int declares_kind(const struct check_profile *p, int k1, int k2, int k3)
{
    for (size_t i = 0; i < p->n_services; i++) {
        int k = (int)p->services[i].kind;
        if (k == k1 || k == k2 || k == k3)
            return 1;
    }
    return 0;
}

int check_declared_absent(const struct check_ctx *c, enum check_feature f)
{
    const struct check_profile *p = c->prof;
    if (p->source_path[0] == '\0')
        return 0; /* no profile: nothing is declared, absent or present */
    int svc = p->services_declared;
    switch (f) {
    case CHECK_FEAT_WEB:
        return svc && !declares_kind(p, CHECK_SVC_HTTP, CHECK_SVC_HTTPS, -1);
    case CHECK_FEAT_LOGIN:
        return strcmp(p->login_type, "none") == 0;
    case CHECK_FEAT_TLS:
        return svc && !declares_kind(p, CHECK_SVC_HTTPS, CHECK_SVC_RTSPS, CHECK_SVC_TLS);
    case CHECK_FEAT_RTSP:
        return svc && !declares_kind(p, CHECK_SVC_RTSP, CHECK_SVC_RTSPS, -1);
    case CHECK_FEAT_AUTH:
        return check_declared_absent(c, CHECK_FEAT_LOGIN) && check_declared_absent(c, CHECK_FEAT_RTSP);
    }
    return 0;
}

void check_absent(struct check_ctx *c, struct check_result *r, enum check_feature f, const char *what)
{
    static const char *const hint[] = {
        [CHECK_FEAT_WEB] = "declare the web service in the profile (services) or give --https-port",
        [CHECK_FEAT_LOGIN] = "declare the web login in the profile (auth.login) and the web service (or --https-port)",
        [CHECK_FEAT_TLS] = "declare the TLS services in the profile (services) or give --https-port/--rtsps-port",
        [CHECK_FEAT_RTSP] = "declare the RTSP service in the profile (services) or give --rtsps-port",
        [CHECK_FEAT_AUTH] = "declare the web login (auth.login) or the RTSP service in the profile",
    };
    const char *what_vi = check_i18n_vi(what), *hint_vi = check_i18n_vi(hint[f]);
    if (check_declared_absent(c, f)) {
        check_verdict(r, CHECK_NOT_APPLICABLE, "%s (the profile declares none)", what);
        IGN_FMT(r->reason_vi, sizeof r->reason_vi, "%s (hồ sơ khai báo là không có)", what_vi ? what_vi : what);
    } else {
        check_verdict(r, CHECK_INCONCLUSIVE, "%s, but the profile does not declare it absent: discovery did not find "
                      "or could not use it; %s", what, hint[f]);
        IGN_FMT(r->reason_vi, sizeof r->reason_vi, "%s, nhưng hồ sơ không khai báo là không có: quá trình dò tìm "
                "không thấy hoặc không dùng được; %s", what_vi ? what_vi : what, hint_vi ? hint_vi : hint[f]);
    }
    if (what_vi == NULL || hint_vi == NULL)
        r->reason_vi[0] = '\0';
}

const struct check_port *check_port_find(const struct check_ctx *c, int port, int udp)
{
    for (size_t i = 0; i < c->n_ports; i++)
        if (c->ports[i].port == port && c->ports[i].udp == udp)
            return &c->ports[i];
    return NULL;
}
