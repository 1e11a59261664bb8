/* group_sm.c — test group SM, sessions (QCVN 135 G6, EN 303 645 5.1-3, 5.1-4, 5.5-1): cookie
 * attributes, session identifiers, expiry, logout, password change and other sessions (SM-01..SM-06).
 * Trust level: holds the lab's credentials (never written to evidence: every line is redacted);
 * answers are hostile. */
#include "check_internal.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static int need_cookie_session(struct check_ctx *c, struct check_result *r)
{
    if (!check_login_declared(c)) {
        check_absent(c, r, CHECK_FEAT_LOGIN, "No web login surface to open a cookie session on");
        return 0;
    }
    if (strcmp(c->prof->login_type, "json") != 0) {
        check_verdict(r, CHECK_NOT_APPLICABLE, "No cookie session: the declared login is %s", c->prof->login_type);
        return 0;
    }
    return 1;
}

void check_t_sm01(struct check_ctx *c, struct check_result *r)
{
    if (!need_cookie_session(c, r))
        return;
    struct check_session s;
    struct check_http_resp raw;
    int rc = check_login(c, r, c->prof->admin.username, c->admin_pw, NULL, &s, &raw);
    if (rc != 0) {
        check_http_resp_free(&raw);
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed (%s)", safecam_err_name(rc));
        return;
    }
    char v[1024];
    int bad = 0, found = 0;
    for (int i = 0; i < 16 && check_http_header(&raw, "Set-Cookie", i, v, sizeof v); i++) {
        struct check_cookie ck;
        if (check_cookie_parse(v, &ck) != 0)
            continue;
        if (c->prof->session_cookie[0] && strcmp(ck.name, c->prof->session_cookie) != 0)
            continue;
        found++;
        check_evidence(c, r, "Set-Cookie %s=<%zu chars>; Secure=%s; HttpOnly=%s; SameSite=%s", ck.name, ck.value_len,
                       ck.secure ? "yes" : "NO", ck.httponly ? "yes" : "NO", ck.samesite[0] ? ck.samesite : "(absent)");
        if ((!ck.secure && c->web_tls) || !ck.httponly ||
            !(strcasecmp(ck.samesite, "Strict") == 0 || strcasecmp(ck.samesite, "Lax") == 0))
            bad++;
        if (strcasecmp(ck.samesite, "Lax") == 0)
            check_evidence(c, r, "note: SameSite=Lax; Strict is recommended");
    }
    check_http_resp_free(&raw);
    (void)check_logout(c, &s);
    if (!found)
        check_verdict(r, CHECK_INCONCLUSIVE, "No session cookie seen");
    else if (bad)
        check_verdict(r, CHECK_FAIL, "Session cookie lacks Secure, HttpOnly or SameSite");
    else
        check_verdict(r, CHECK_PASS, "Session cookie is Secure, HttpOnly and SameSite");
}

void check_t_sm02(struct check_ctx *c, struct check_result *r)
{
    if (!need_cookie_session(c, r))
        return;
    char vals[3][512];
    double minbits = 1e9;
    for (int i = 0; i < 3; i++) {
        struct check_session s;
        if (check_login(c, NULL, c->prof->admin.username, c->admin_pw, NULL, &s, NULL) != 0) {
            check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
            return;
        }
        const char *eq = strchr(s.cookie, '=');
        IGN_STRLCPY(vals[i], eq ? eq + 1 : s.cookie, sizeof vals[i]);
        double bits = check_token_entropy_bits(vals[i]);
        if (bits < minbits)
            minbits = bits;
        check_evidence(c, r, "login %d: session ID of %zu characters, estimated %.0f bits", i + 1, strlen(vals[i]), bits);
        (void)check_logout(c, &s);
    }
    int distinct = strcmp(vals[0], vals[1]) != 0 && strcmp(vals[1], vals[2]) != 0 && strcmp(vals[0], vals[2]) != 0;
    /* a shared prefix longer than half the token suggests a counter or a time stamp */
    size_t pre = 0;
    while (vals[0][pre] && vals[0][pre] == vals[1][pre])
        pre++;
    check_evidence(c, r, "three IDs distinct: %s; common prefix: %zu characters", distinct ? "yes" : "NO", pre);
    size_t len0 = strlen(vals[0]);
    sodium_memzero(vals, sizeof vals);
    if (!distinct || minbits < 128.0 || pre * 2 > len0 + 8)
        check_verdict(r, CHECK_FAIL, "Session IDs are repeated, short or predictable (min %.0f bits)", minbits);
    else
        check_verdict(r, CHECK_PASS, "Session IDs carry at least %.0f bits and do not repeat", minbits);
}

void check_t_sm03(struct check_ctx *c, struct check_result *r)
{
    if (!need_cookie_session(c, r))
        return;
    const char *name = c->prof->session_cookie[0] ? c->prof->session_cookie : NULL;
    struct check_session s0;
    if (name == NULL) {
        if (check_login(c, NULL, c->prof->admin.username, c->admin_pw, NULL, &s0, NULL) != 0) {
            check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
            return;
        }
        (void)check_logout(c, &s0);
    }
    char planted[320];
    char cname[64];
    if (name)
        IGN_STRLCPY(cname, name, sizeof cname);
    else {
        size_t l = strcspn(s0.cookie, "=");
        IGN_FMT(cname, sizeof cname, "%.*s", (int)(l < 63 ? l : 63), s0.cookie);
    }
    IGN_FMT(planted, sizeof planted, "%s=qcvnfixation0123456789abcdef0123456789abcdef0123456789abcdef", cname);
    struct check_session s;
    int rc = check_login(c, r, c->prof->admin.username, c->admin_pw, planted, &s, NULL);
    if (rc != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    int same = strcmp(s.cookie, planted) == 0;
    check_evidence(c, r, "login with a planted cookie %s=qcvnfixation...: new session ID issued: %s", cname,
                   same ? "NO (planted value kept)" : "yes");
    int bad = same;
    if (c->prof->authed_path[0]) {
        struct check_session fake = s;
        IGN_STRLCPY(fake.cookie, planted, sizeof fake.cookie);
        struct check_http_resp h;
        if (check_http_session(c, &fake, "GET", c->prof->authed_path, NULL, &h) == 0) {
            check_evidence(c, r, "GET %s with the planted cookie -> %ld", c->prof->authed_path, h.status);
            if (h.status >= 200 && h.status < 300)
                bad = 1;
        }
        check_http_resp_free(&h);
    }
    (void)check_logout(c, &s);
    if (bad)
        check_verdict(r, CHECK_FAIL, "A session ID chosen by the client survives the login (fixation)");
    else
        check_verdict(r, CHECK_PASS, "Login issues a fresh server-side session ID; a planted ID is worthless");
}

static long authed_status(struct check_ctx *c, struct check_session *s)
{
    struct check_http_resp h;
    long st = -1;
    if (check_http_session(c, s, "GET", c->prof->authed_path, NULL, &h) == 0)
        st = h.status;
    check_http_resp_free(&h);
    return st;
}

void check_t_sm04(struct check_ctx *c, struct check_result *r)
{
    if (!need_cookie_session(c, r))
        return;
    if (c->prof->logout_path[0] == '\0' || c->prof->authed_path[0] == '\0') {
        check_verdict(r, CHECK_INCONCLUSIVE, "Needs auth.logout and auth.authenticated_probe in the profile");
        return;
    }
    struct check_session s;
    if (check_admin_login(c, r, &s) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    long before = authed_status(c, &s);
    int lo = check_logout(c, &s);
    long after = authed_status(c, &s);
    check_evidence(c, r, "GET %s before logout -> %ld; %s %s -> %s; same cookie after logout -> %ld",
                   c->prof->authed_path, before, c->prof->logout_method, c->prof->logout_path, lo == 0 ? "ok" : "error",
                   after);
    if (before < 200 || before > 299)
        check_verdict(r, CHECK_INCONCLUSIVE, "The session did not work before logout");
    else if (after >= 200 && after < 300)
        check_verdict(r, CHECK_FAIL, "The session cookie still works after logout");
    else
        check_verdict(r, CHECK_PASS, "Logout ends the session on the server (%ld afterwards)", after);
}

void check_t_sm05(struct check_ctx *c, struct check_result *r)
{
    if (!need_cookie_session(c, r))
        return;
    long idle = c->prof->idle_timeout_s;
    if (idle + 2 > c->opt->max_wait_s || c->prof->authed_path[0] == '\0') {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "Declared idle timeout %ld s exceeds --max-wait %d s; ask the vendor for "
                      "the setting and a test log with a shortened timeout (or lower it and rerun)", idle,
                      c->opt->max_wait_s);
        return;
    }
    struct check_session s;
    if (check_admin_login(c, r, &s) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    long before = authed_status(c, &s);
    check_sleep_ms((idle + 2) * 1000, &c->wait_other_ms);
    long after = authed_status(c, &s);
    check_evidence(c, r, "GET %s -> %ld; after %ld s idle -> %ld", c->prof->authed_path, before, idle + 2, after);
    if (after >= 200 && after < 300)
        check_verdict(r, CHECK_FAIL, "Session still valid after the declared idle timeout");
    else
        check_verdict(r, CHECK_PASS, "Session expired after %ld s idle", idle + 2);
}

void check_t_sm06(struct check_ctx *c, struct check_result *r)
{
    if (!need_cookie_session(c, r))
        return;
    if (c->prof->pwchange_path[0] == '\0' || c->prof->authed_path[0] == '\0') {
        check_verdict(r, CHECK_INCONCLUSIVE, "Needs auth.password_change and auth.authenticated_probe in the profile");
        return;
    }
    struct check_session a, b;
    if (check_admin_login(c, r, &a) != 0 || check_admin_login(c, r, &b) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    char *tmp = check_password_temp(c);
    if (tmp == NULL) {
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
        return;
    }
    long before = authed_status(c, &a);
    long st = check_password_change(c, &b, c->prof->admin.username, c->admin_pw, tmp, NULL);
    long after = authed_status(c, &a);
    long own = authed_status(c, &b);
    check_evidence(c, r, "session A before -> %ld; change via session B to a temporary password -> %ld; session A after "
                   "-> %ld; session B after -> %ld", before, st, after, own);
    if (st < 200 || st > 299) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Password change failed (%ld)", st);
        return;
    }
    /* restore the lab's password (through session B if it survived, else a new session) */
    (void)check_admin_password_restore(c, r, &b, tmp);
    (void)check_logout(c, &b);
    if (before < 200 || before > 299)
        check_verdict(r, CHECK_INCONCLUSIVE, "Session A did not work before the change");
    else if (after >= 200 && after < 300)
        check_verdict(r, CHECK_FAIL, "Another session of the user survives a password change");
    else
        check_verdict(r, CHECK_PASS, "A password change ends the user's other sessions");
}
