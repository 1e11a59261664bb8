/* group_bf.c — test group BF, brute force (QCVN 135 G6, EN 303 645 5.1-5): lockout (BF-01),
 * indistinguishable failures (BF-03), failed-login events (BF-05).
 * Trust level: holds the lab's credentials (never written to evidence: every line is redacted);
 * answers are hostile. Deliberate failures are paced below the declared lockout threshold. */
#include "check_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* BF-03 timing rule. Interleaved samples (unknown, existing, unknown, ...) so that load on the device or
 * the lab machine falls on both classes alike; an exact two-sided Mann-Whitney U (permutation) test on
 * the answer times with a false-positive rate of 1 %; a difference counts only when also at least
 * BF03_MIN_EFFECT_MS between the medians. The difference looked for is a skipped password check for
 * unknown users, which makes their answers faster by about the check's time, at most the median answer
 * time: when the spread of all samples (interquartile range) exceeds their median (and
 * BF03_NOISE_FLOOR_MS), more pairs are taken (up to BF03_SAMPLES_MAX), and if it still does the verdict
 * is INCONCLUSIVE. */
#define BF03_SAMPLES 6          /* per class; the smallest exact two-sided p with 6+6 is 2/924 = 0.0022 */
#define BF03_SAMPLES_MAX 10     /* per class, when the first BF03_SAMPLES are too noisy */
#define BF03_ALPHA 0.01
#define BF03_MIN_EFFECT_MS 25
#define BF03_NOISE_FLOOR_MS 100 /* a spread below this never makes the sample too noisy */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Median and interquartile range (ms) of n values (copied, n <= 32). */
static void med_iqr(const int64_t *v, size_t n, double *med, double *iqr)
{
    int64_t s[32];
    n = n < 32 ? n : 32;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_i64);
    *med = n % 2 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2.0;
    *iqr = (double)(s[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1] - s[n / 4]);
}

/* Exact two-sided Mann-Whitney U test of a[na] against b[nb] (na + nb <= 20): *u gets U of a, returns
 * the p value: the share of all splits of the pooled ranks whose U is at least as far from na*nb/2. Ties
 * get mid-ranks. Bounded: at most 2^20 subsets. */
double check_mann_whitney_p(const int64_t *a, size_t na, const int64_t *b, size_t nb, double *u)
{
    size_t n = na + nb;
    if (na == 0 || nb == 0 || n > 20) {
        *u = 0;
        return 1.0;
    }
    int64_t all[20];
    double rank[20];
    memcpy(all, a, na * sizeof *a);
    memcpy(all + na, b, nb * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        double less = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            less += all[j] < all[i];
            equal += all[j] == all[i];
        }
        rank[i] = less + (equal + 1.0) / 2.0;
    }
    double ra = 0;
    for (size_t i = 0; i < na; i++)
        ra += rank[i];
    double ua = ra - (double)(na * (na + 1)) / 2.0, mid = (double)(na * nb) / 2.0;
    double dev = ua > mid ? ua - mid : mid - ua;
    unsigned long total = 0, extreme = 0;
    for (uint32_t m = 0; m < (1u << n); m++) {
        if ((size_t)__builtin_popcount(m) != na)
            continue;
        double r = 0;
        for (size_t i = 0; i < n; i++)
            if (m & (1u << i))
                r += rank[i];
        double um = r - (double)(na * (na + 1)) / 2.0;
        double d = um > mid ? um - mid : mid - um;
        total++;
        if (d >= dev - 1e-9)
            extreme++;
    }
    *u = ua;
    return total ? (double)extreme / (double)total : 1.0;
}

/* One deliberate failed login as user on the BF-03 surface (the declared login, or HTTP Basic on GET /).
 * 0 failed as wanted, 1 accepted, SAFECAM_ERR_LOCKED, or SAFECAM_ERR_IO. */
static int bf03_attempt(struct check_ctx *c, const char *user, long *status, int64_t *ms, char *body, size_t bsz,
                        char *ctype, size_t csz)
{
    static const char wrong[] = "Wr0ng#Passw0rd-qcvn";
    struct check_http_resp raw;
    int ret;
    check_fail_budget_wait(c, user);
    if (check_login_declared(c)) {
        struct check_session s;
        int rc = check_login(c, NULL, user, wrong, NULL, &s, &raw);
        if (rc == 0)
            (void)check_logout(c, &s);
        ret = rc == 0 ? 1 : rc == SAFECAM_ERR_LOCKED ? SAFECAM_ERR_LOCKED : rc == SAFECAM_ERR_IO ? SAFECAM_ERR_IO : 0;
    } else {
        check_pace(c);
        struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/",
                                   .basic_user = user, .basic_pass = wrong};
        int rc = check_http(c, &q, &raw);
        ret = rc != 0 ? SAFECAM_ERR_IO
                      : raw.status >= 200 && raw.status < 300 ? 1 : raw.status == 429 ? SAFECAM_ERR_LOCKED : 0;
    }
    check_fail_record(c, user);
    *status = raw.status;
    *ms = raw.ms;
    check_printable(body, bsz, raw.body ? raw.body : "", raw.body_len < 120 ? raw.body_len : 120);
    ctype[0] = '\0';
    check_http_header(&raw, "Content-Type", 0, ctype, csz);
    check_http_resp_free(&raw);
    return ret;
}

void check_t_bf03(struct check_ctx *c, struct check_result *r)
{
    int basic = !check_login_declared(c) && c->web_port && c->web_basic && !check_declared_absent(c, CHECK_FEAT_LOGIN);
    if (!check_login_declared(c) && !basic) {
        check_absent(c, r, CHECK_FEAT_LOGIN, "No web login surface: none declared in the profile (auth.login) and no HTTP Basic on GET /");
        return;
    }
    const char *user = c->prof->admin.present ? c->prof->admin.username : "admin";
    if (basic)
        check_evidence(c, r, "surface: HTTP Basic on GET / (found by SC-01)%s", c->prof->admin.present ? "" :
                       "; existing user assumed: \"admin\" (no profile credentials)");
    check_evidence(c, r, "rule: %d (up to %d when noisy) interleaved wrong-password attempts per class (unknown user "
                   "/ existing user), exact two-sided Mann-Whitney U test at a false-positive rate of %.0f %%, a "
                   "difference counts when p < %.2f and the medians differ by >= %d ms; INCONCLUSIVE when the "
                   "interquartile range of all samples exceeds their median and %d ms", BF03_SAMPLES,
                   BF03_SAMPLES_MAX, BF03_ALPHA * 100, BF03_ALPHA, BF03_MIN_EFFECT_MS, BF03_NOISE_FLOOR_MS);
    int64_t t[2][BF03_SAMPLES_MAX];
    int samples = BF03_SAMPLES;
    double pooled_med = 0, pooled_iqr = 0;
    long st0[2] = {0, 0};
    char body0[2][256], ct0[2][96];
    int differ = 0;
    for (int round = 0; round < samples; round++) {
        for (int kind = 0; kind < 2; kind++) {
            char unknown[64];
            unsigned char rnd[6];
            randombytes_buf(rnd, sizeof rnd);
            IGN_FMT(unknown, sizeof unknown, "qcvn%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                    rnd[5]);
            long st;
            char body[256], ct[96];
            int rc = bf03_attempt(c, kind == 0 ? unknown : user, &st, &t[kind][round], body, sizeof body, ct,
                                  sizeof ct);
            if (round == 0) {
                st0[kind] = st;
                memcpy(body0[kind], body, sizeof body);
                memcpy(ct0[kind], ct, sizeof ct);
                check_evidence(c, r, "%s user, wrong password -> %ld, %lld ms, Content-Type %s, body %s",
                               kind == 0 ? "unknown" : "existing", st, (long long)t[kind][round], ct[0] ? ct : "-",
                               body);
            } else if (st != st0[kind] || strcmp(body, body0[kind]) != 0) {
                check_evidence(c, r, "%s user, attempt %d -> %ld, body %s", kind == 0 ? "unknown" : "existing",
                               round + 1, st, body);
            }
            if (rc == 1) {
                check_verdict(r, CHECK_INCONCLUSIVE, "A wrong password was accepted");
                return;
            }
            if (rc == SAFECAM_ERR_LOCKED) {
                check_verdict(r, CHECK_INCONCLUSIVE, "Locked before the samples were complete");
                return;
            }
            if (rc == SAFECAM_ERR_IO) {
                check_verdict(r, CHECK_INCONCLUSIVE, "A failed-login attempt got no answer");
                return;
            }
        }
        if (round + 1 == samples) {
            int64_t all[2 * BF03_SAMPLES_MAX];
            memcpy(all, t[0], (size_t)samples * sizeof all[0]);
            memcpy(all + samples, t[1], (size_t)samples * sizeof all[0]);
            med_iqr(all, 2 * (size_t)samples, &pooled_med, &pooled_iqr);
            if (pooled_iqr > pooled_med && pooled_iqr > BF03_NOISE_FLOOR_MS && samples < BF03_SAMPLES_MAX) {
                check_evidence(c, r, "noisy after %d pairs (interquartile range %.0f ms > median %.0f ms): %d more "
                               "pairs", samples, pooled_iqr, pooled_med, BF03_SAMPLES_MAX - samples);
                samples = BF03_SAMPLES_MAX;
            }
        }
    }
    if (st0[0] != st0[1] || strcmp(body0[0], body0[1]) != 0 || strcmp(ct0[0], ct0[1]) != 0)
        differ = 1;
    double mu, iu, me, ie, u;
    med_iqr(t[0], (size_t)samples, &mu, &iu);
    med_iqr(t[1], (size_t)samples, &me, &ie);
    double pval = check_mann_whitney_p(t[0], (size_t)samples, t[1], (size_t)samples, &u);
    char list[2][160];
    for (int k = 0; k < 2; k++) {
        size_t o = 0;
        list[k][0] = '\0';
        for (int i = 0; i < samples && o + 12 < sizeof list[k]; i++)
            o += (size_t)snprintf(list[k] + o, sizeof list[k] - o, "%s%lld", i ? " " : "", (long long)t[k][i]);
    }
    check_evidence(c, r, "answer times (ms, in order): unknown user [%s], existing user [%s]", list[0], list[1]);
    check_evidence(c, r, "medians %.0f / %.0f ms (difference %.0f ms), interquartile ranges %.0f / %.0f ms, "
                   "Mann-Whitney U = %.1f, exact two-sided p = %.4f", mu, me, me > mu ? me - mu : mu - me, iu, ie, u,
                   pval);
    double diff = me > mu ? me - mu : mu - me;
    if (differ)
        check_verdict(r, CHECK_FAIL, "Failure answers differ between an unknown user and a wrong password (status/body)");
    else if (pval < BF03_ALPHA && diff >= BF03_MIN_EFFECT_MS)
        check_verdict(r, CHECK_FAIL, "Failure answers differ in timing (medians %.0f vs %.0f ms, p = %.4f): user names "
                      "can be enumerated", mu, me, pval);
    else if (pooled_iqr > pooled_med && pooled_iqr > BF03_NOISE_FLOOR_MS)
        check_verdict(r, CHECK_INCONCLUSIVE, "Answer times too noisy to judge timing (interquartile range %.0f ms over "
                      "a median of %.0f ms, %d pairs); status and body are the same", pooled_iqr, pooled_med, samples);
    else
        check_verdict(r, CHECK_PASS, "Unknown user and wrong password get the same status and body, and no timing "
                      "difference (p = %.4f, medians %.0f / %.0f ms)", pval, mu, me);
}

void check_t_bf05(struct check_ctx *c, struct check_result *r)
{
    if (c->prof->events_path[0] == '\0' || !check_login_declared(c)) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No event log endpoint declared (auth.events); ask the vendor for the "
                      "security event log after a failed login");
        return;
    }
    if (c->n_fails == 0) {
        check_fail_budget_wait(c, c->prof->admin.username);
        struct check_session s;
        if (check_login(c, r, c->prof->admin.username, "Wr0ng#Passw0rd-qcvn", NULL, &s, NULL) == 0)
            (void)check_logout(c, &s);
        check_fail_record(c, c->prof->admin.username);
    }
    struct check_session s;
    if (check_admin_login(c, r, &s) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    struct check_http_resp h;
    int rc = check_http_session(c, &s, "GET", c->prof->events_path, NULL, &h);
    int found = 0;
    if (rc == 0 && h.status == 200 && h.body) {
        /* an event whose type/name mentions a failed login or authentication */
        char *low = strdup(h.body);
        if (low) {
            for (char *q = low; *q; q++)
                *q = (char)tolower((unsigned char)*q);
            found = (strstr(low, "login_fail") || strstr(low, "auth_fail") || strstr(low, "failed_login") ||
                     strstr(low, "login.fail") || strstr(low, "authentication_failure") ||
                     (strstr(low, "fail") && (strstr(low, "login") || strstr(low, "auth"))));
            free(low);
        }
    }
    check_evidence(c, r, "GET %s [admin session] -> %ld, %zu bytes, failed-login event %s", c->prof->events_path,
                   h.status, h.body_len, found ? "found" : "NOT found");
    long status = h.status;
    check_http_resp_free(&h);
    (void)check_logout(c, &s);
    if (rc != 0 || status != 200)
        check_verdict(r, CHECK_INCONCLUSIVE, "The event log could not be read");
    else if (found)
        check_verdict(r, CHECK_PASS, "Failed logins appear in the security event log");
    else
        check_verdict(r, CHECK_FAIL, "No failed-login event after %zu deliberate failures", c->n_fails);
}

void check_t_bf01(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (!check_login_declared(c)) {
        check_absent(c, r, CHECK_FEAT_LOGIN, "No web login surface: none declared in the profile (auth.login) and no HTTP Basic on GET /");
        return;
    }
    /* lock the low-privilege account when there is one, so the admin stays usable */
    const struct check_cred *acct = p->user.present ? &p->user : &p->admin;
    const char *right = acct == &p->admin ? c->admin_pw : p->user.password;
    /* start from a clean window */
    int64_t window = (int64_t)p->lockout_window_s * 1000 + 1000;
    int64_t last = check_fail_last(c, acct->username);
    int64_t wait = last ? last + window - safecam_time_mono_ms() : 0;
    if (wait > 0) {
        if (c->opt->progress)
            fprintf(stderr, " (clean window %llds)", (long long)(wait / 1000));
        check_sleep_ms(wait, &c->wait_pacing_ms);
        check_evidence(c, r, "waited %lld ms for a window without earlier failures", (long long)wait);
    }
    long max_attempts = p->lockout_threshold + 5 > 10 ? p->lockout_threshold + 5 : 10;
    long locked_at = 0;
    char retry_after[32] = "";
    int64_t t0 = safecam_time_mono_ms();
    for (long i = 1; i <= max_attempts; i++) {
        struct check_session s;
        struct check_http_resp raw;
        int rc = check_login(c, NULL, acct->username, "Wr0ng#Passw0rd-qcvn", NULL, &s, &raw);
        check_fail_record(c, acct->username);
        check_evidence(c, r, "failure %ld at +%lld ms -> %ld", i, (long long)(safecam_time_mono_ms() - t0), raw.status);
        if (rc == SAFECAM_ERR_LOCKED) {
            locked_at = i;
            check_http_header(&raw, "Retry-After", 0, retry_after, sizeof retry_after);
            check_http_resp_free(&raw);
            break;
        }
        check_http_resp_free(&raw);
        if (rc == 0) {
            (void)check_logout(c, &s);
            check_verdict(r, CHECK_INCONCLUSIVE, "A wrong password was accepted");
            return;
        }
    }
    if (acct == &p->admin)
        c->locked = 1;
    if (locked_at == 0) {
        check_verdict(r, CHECK_FAIL, "No lockout after %ld consecutive failed logins", max_attempts);
        return;
    }
    long failures_before = locked_at - 1;
    check_evidence(c, r, "locked after %ld failed attempt(s) (declared threshold %ld in %ld s); Retry-After: %s",
                   failures_before, p->lockout_threshold, p->lockout_window_s, retry_after[0] ? retry_after : "(absent)");
    struct check_session s;
    int rc = check_login(c, NULL, acct->username, right, NULL, &s, NULL);
    check_evidence(c, r, "right password while locked -> %ld%s", s.status, rc == 0 ? "  ACCEPTED" : " (refused)");
    if (rc == 0) {
        (void)check_logout(c, &s);
        c->locked = 0;
        check_verdict(r, CHECK_FAIL, "The right password is accepted while the account is locked");
        return;
    }
    int64_t lock_start = safecam_time_mono_ms();
    char duration_note[160] = "duration not measured (use --measure-lockout)";
    int duration_bad = 0;
    if (c->opt->measure_lockout) {
        long ra = 0;
        if (retry_after[0] && safecam_parse_long(retry_after, 0, 86400, &ra) != 0)
            ra = 0;
        long expect = ra > 0 ? ra : p->lockout_duration_s;
        if (expect + 3 > c->opt->max_wait_s) {
            IGN_FMT(duration_note, sizeof duration_note,
                              "duration not measured: %ld s exceeds --max-wait %d s", expect, c->opt->max_wait_s);
        } else {
            int64_t target = lock_start + expect * 1000 + 2000;
            int64_t w = target - safecam_time_mono_ms();
            if (c->opt->progress)
                fprintf(stderr, " (lockout wait %llds)", (long long)(w / 1000));
            check_sleep_ms(w, &c->wait_lockout_ms);
            struct check_session s2;
            int rc2 = check_login(c, NULL, acct->username, right, NULL, &s2, NULL);
            check_evidence(c, r, "right password %lld s after the lock -> %ld", (long long)(expect + 2), s2.status);
            if (rc2 == 0) {
                (void)check_logout(c, &s2);
                if (acct == &p->admin)
                    c->locked = 0;
                IGN_FMT(duration_note, sizeof duration_note, "lock lifted within %ld s (declared %ld s)",
                                  expect + 2, p->lockout_duration_s);
            } else {
                duration_bad = rc2 == SAFECAM_ERR_LOCKED ? 1 : 0;
                IGN_FMT(duration_note, sizeof duration_note, "still refused %ld s after the lock (%s)",
                                  expect + 2, safecam_err_name(rc2));
            }
        }
    }
    check_evidence(c, r, "%s; window not measured separately (declared %ld s)", duration_note, p->lockout_window_s);
    json_t *d = json_pack("{s:I,s:I,s:I,s:s,s:s}", "failures_before_lock", (json_int_t)failures_before,
                          "declared_threshold", (json_int_t)p->lockout_threshold, "declared_duration_s",
                          (json_int_t)p->lockout_duration_s, "retry_after", retry_after, "duration", duration_note);
    r->data = d;
    if (failures_before > p->lockout_threshold)
        check_verdict(r, CHECK_FAIL, "Locked only after %ld failures (declared %ld)", failures_before, p->lockout_threshold);
    else if (duration_bad)
        check_verdict(r, CHECK_FAIL, "The lock outlasts its declared duration (%s)", duration_note);
    else
        check_verdict(r, CHECK_PASS, "Locked after %ld failures; the right password is refused while locked; %s",
                      failures_before, duration_note);
}
