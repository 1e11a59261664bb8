/* tests_auth.c — tests on the authentication surfaces: default credentials (PW-01), the label
 * password (PW-02), forced change (PW-03), password policy (PW-04), no password disclosure (PW-06),
 * low-privilege refusal (SC-06), lockout (BF-01), indistinguishable failures (BF-03), failed-login
 * events (BF-05) and sessions (SM-01..SM-06).
 * Trust level: holds the lab's credentials (never written to evidence: every line is redacted);
 * answers are hostile. Deliberate failures are paced below the declared lockout threshold. */
#include "check_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Well-known camera defaults (data/check/default-credentials.txt; keep both in sync — test_check
 * compares them). The first PW01_TOP entries are tried by default, all with --pw-full. */
#define PW01_TOP 3
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

static int login_declared(const struct check_ctx *c)
{
    return c->web_port != 0 && strcmp(c->prof->login_type, "none") != 0;
}

/* First RTSP endpoint (port, tls) or 0. */
static int rtsp_endpoint(const struct check_ctx *c, int *tls)
{
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *p = &c->ports[i];
        if (p->open && !p->udp && (p->kind == CHECK_SVC_RTSP || p->kind == CHECK_SVC_RTSPS)) {
            *tls = p->kind == CHECK_SVC_RTSPS;
            return p->port;
        }
    }
    return 0;
}

/* One attempt's outcome: accepted (2xx), refused (401/403: the credentials were judged), or unclear
 * (anything else, e.g. 404: the path was wrong and says nothing about the credentials). */
enum attempt { ATT_ACCEPTED, ATT_REFUSED, ATT_UNCLEAR, ATT_LOCKED };

static enum attempt attempt_of_status(long st)
{
    if (st >= 200 && st < 300)
        return ATT_ACCEPTED;
    if (st == 401 || st == 403)
        return ATT_REFUSED;
    if (st == 429)
        return ATT_LOCKED;
    return ATT_UNCLEAR;
}

void check_t_pw01(struct check_ctx *c, struct check_result *r)
{
    size_t n = c->opt->pw_full ? SAFECAM_ARRAY_LEN(default_creds) : PW01_TOP;
    int web = login_declared(c);
    int rtls = 0;
    int rport = rtsp_endpoint(c, &rtls);
    const char *rpath = c->prof->n_rtsp_paths ? c->prof->rtsp_paths[0] : "/stream1";
    int accepted = 0, tried = 0, refused = 0, unclear = 0, locked = 0;
    /* without a declared login, a Basic-protected web surface (SC-01) is still a surface */
    int basic_web = !web && c->web_port && c->web_basic;
    /* SNMP v1/v2c: the community is the credential; SC-01's get of sysDescr with "public" answered */
    const struct check_port *snmp = check_port_find(c, 161, 1);
    int snmp_public = snmp != NULL && snmp->open && strncmp(snmp->banner, "SNMP sysDescr: ", 15) == 0;
    if (!web && !basic_web && rport == 0 && !snmp_public) {
        check_absent(c, r, CHECK_FEAT_AUTH, "No authentication surface found (web login or RTSP)");
        return;
    }
    check_evidence(c, r, "list: %zu well-known defaults (%s); pacing: at most %ld failures per %ld s window", n,
                   c->opt->pw_full ? "full list" : "top entries, --pw-full for all",
                   c->prof->lockout_threshold > 1 ? c->prof->lockout_threshold - 1 : 1, c->prof->lockout_window_s);
    for (size_t i = 0; i < n && !locked; i++) {
        const char *u = default_creds[i][0], *pw = default_creds[i][1];
        enum attempt a = ATT_UNCLEAR;
        if (web) {
            check_fail_budget_wait(c, u);
            struct check_session s;
            int rc = check_login(c, NULL, u, pw, NULL, &s, NULL);
            tried++;
            check_fail_record(c, u);
            a = rc == 0 ? ATT_ACCEPTED
                        : rc == SAFECAM_ERR_DENIED ? ATT_REFUSED : rc == SAFECAM_ERR_LOCKED ? ATT_LOCKED : ATT_UNCLEAR;
            /* an empty password refused as invalid input (400/422) was not accepted either */
            if (a == ATT_UNCLEAR && pw[0] == '\0' && (s.status == 400 || s.status == 422))
                a = ATT_REFUSED;
            check_evidence(c, r, "web login %s / \"%s\" -> %ld%s", u, pw, s.status,
                           a == ATT_ACCEPTED ? "  ACCEPTED" : a == ATT_UNCLEAR ? "  (neither accepted nor refused)" : "");
            if (rc == 0)
                (void)check_logout(c, &s);
        } else if (basic_web) {
            check_fail_budget_wait(c, u);
            struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/",
                                       .basic_user = u, .basic_pass = pw};
            struct check_http_resp h;
            int rc = check_http(c, &q, &h);
            tried++;
            check_fail_record(c, u);
            a = rc == 0 ? attempt_of_status(h.status) : ATT_UNCLEAR;
            check_evidence(c, r, "HTTP Basic GET / %s / \"%s\" -> %ld%s", u, pw, h.status,
                           a == ATT_ACCEPTED ? "  ACCEPTED" : a == ATT_UNCLEAR ? "  (neither accepted nor refused)" : "");
            check_http_resp_free(&h);
        }
        if (web || basic_web) {
            accepted += a == ATT_ACCEPTED;
            refused += a == ATT_REFUSED;
            unclear += a == ATT_UNCLEAR;
            locked |= a == ATT_LOCKED;
        }
        if (rport && !locked) {
            check_fail_budget_wait(c, u);
            struct check_rtsp_result d;
            (void)check_rtsp_describe(c, rport, rtls, rpath, u, pw, &d);
            tried++;
            check_fail_record(c, u);
            enum attempt ra = d.ok ? attempt_of_status(d.status) : ATT_UNCLEAR;
            if (d.ok)
                check_evidence(c, r, "RTSP DESCRIBE %s %s / \"%s\" -> %d%s", rpath, u, pw, d.status,
                               ra == ATT_ACCEPTED ? "  ACCEPTED" : ra == ATT_UNCLEAR ? "  (neither accepted nor refused)" : "");
            else
                check_evidence(c, r, "RTSP DESCRIBE %s %s -> no answer (%s)", rpath, u, d.err);
            accepted += ra == ATT_ACCEPTED;
            refused += ra == ATT_REFUSED;
            unclear += ra == ATT_UNCLEAR;
        }
    }
    if (snmp_public) {
        tried++;
        accepted++;
        check_evidence(c, r, "SNMPv2c community \"public\" on udp/161: get sysDescr -> answered  ACCEPTED (%s)",
                       snmp->banner);
    }
    check_evidence(c, r, "attempts: %d, accepted %d, refused (401/403, or 400/422 to an empty password) %d, "
                   "neither %d", tried, accepted, refused, unclear);
    if (accepted)
        check_verdict(r, CHECK_FAIL, "%d well-known default credential(s) accepted", accepted);
    else if (locked)
        check_verdict(r, CHECK_INCONCLUSIVE, "The device locked the login before the list was done (%d tried)", tried);
    else if (unclear)
        check_verdict(r, CHECK_INCONCLUSIVE, "%d of %d attempts got neither acceptance nor a 401/403 refusal (e.g. 404: "
                      "wrong path): the credentials were not judged there", unclear, tried);
    else
        check_verdict(r, CHECK_PASS, "None of %d attempts with well-known defaults was accepted", tried);
}

static int has_class(const char *s, int (*fn)(int))
{
    for (; *s; s++)
        if (fn((unsigned char)*s))
            return 1;
    return 0;
}
static int is_special(int ch)
{
    return ch > 0x20 && ch < 0x7f && !isalnum(ch);
}
static int contains_norm(const char *hay, const char *needle)
{
    /* case-insensitive, separators ignored */
    char a[300], b[300];
    size_t na = 0, nb = 0;
    for (; *hay && na + 1 < sizeof a; hay++)
        if (isalnum((unsigned char)*hay))
            a[na++] = (char)tolower((unsigned char)*hay);
    for (; *needle && nb + 1 < sizeof b; needle++)
        if (isalnum((unsigned char)*needle))
            b[nb++] = (char)tolower((unsigned char)*needle);
    a[na] = b[nb] = '\0';
    int found = nb >= 4 && strstr(a, b) != NULL;
    sodium_memzero(a, sizeof a);
    return found;
}

void check_t_pw02(struct check_ctx *c, struct check_result *r)
{
    const char *pw = c->prof->initial_password;
    if (pw == NULL) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No label password in the profile (credentials.initial_password); ask the "
                      "vendor for the generation method and two labels");
        return;
    }
    int bad = 0;
    size_t len = strlen(pw);
    int lo = has_class(pw, islower), up = has_class(pw, isupper), dg = has_class(pw, isdigit),
        sp = has_class(pw, is_special);
    check_evidence(c, r, "label password: %zu characters; lower %s, upper %s, digit %s, special %s", len,
                   lo ? "yes" : "NO", up ? "yes" : "NO", dg ? "yes" : "NO", sp ? "yes" : "NO");
    if (len < 8 || !(lo && up && dg && sp)) {
        bad++;
        check_evidence(c, r, "FAIL shorter than 8 characters or missing a character class (Decision 724)");
    } else if (len < 12) {
        check_evidence(c, r, "note: shorter than the 12 characters recommended for an initial password");
    }
    const char *ids[][2] = {{"serial", c->prof->serial}, {"MAC", c->prof->mac}, {"model", c->prof->model},
                            {"vendor", c->prof->vendor}, {"admin user name", c->prof->admin.username}};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(ids); i++) {
        if (ids[i][1][0] && contains_norm(pw, ids[i][1])) {
            bad++;
            check_evidence(c, r, "FAIL the label password contains the %s", ids[i][0]);
        }
    }
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(default_creds); i++) {
        if (default_creds[i][1][0] && strcmp(pw, default_creds[i][1]) == 0) {
            bad++;
            check_evidence(c, r, "FAIL the label password is a well-known default");
        }
    }
    if (bad)
        check_verdict(r, CHECK_FAIL, "The label password is weak or derived from device identifiers");
    else
        check_verdict(r, CHECK_PASS, "The label password is long, uses four classes and contains no device identifier "
                      "(uniqueness across units needs a second label: NEEDS_EVIDENCE for the method)");
}

void check_t_pw03(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->initial_password == NULL || !p->admin.present) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "Needs the label password and admin credentials in the profile and a unit "
                      "in factory state");
        return;
    }
    if (!login_declared(c)) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No web login surface declared (auth.login)");
        return;
    }
    if (!p->factory_state) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The profile does not declare the unit in factory state "
                      "(factory_state: true); test a unit straight from the box");
        return;
    }
    struct check_session s;
    int rc = check_login(c, r, p->admin.username, p->initial_password, NULL, &s, NULL);
    if (rc == SAFECAM_ERR_DENIED) {
        struct check_session s2;
        if (check_admin_login(c, r, &s2) == 0) {
            (void)check_logout(c, &s2);
            check_verdict(r, CHECK_INCONCLUSIVE, "The initial password is refused and the admin password works: the unit "
                          "is no longer in factory state");
        } else {
            check_verdict(r, CHECK_INCONCLUSIVE, "Neither the initial nor the admin password is accepted");
        }
        return;
    }
    if (rc != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Login with the initial password failed (%s)", safecam_err_name(rc));
        return;
    }
    check_evidence(c, r, "login with the label password -> %ld, %s=%s", s.status,
                   p->change_required_field[0] ? p->change_required_field : "change flag",
                   s.change_required ? "true" : "false");
    int bad = 0, checked = 0;
    const char *probe[CHECK_MAX_ENDPOINTS + 1];
    size_t np = 0;
    if (p->authed_path[0])
        probe[np++] = p->authed_path;
    for (size_t i = 0; i < p->n_endpoints && np < SAFECAM_ARRAY_LEN(probe); i++)
        if (strcmp(p->endpoints[i].method, "GET") == 0)
            probe[np++] = p->endpoints[i].path;
    for (size_t i = 0; i < np; i++) {
        struct check_http_resp h;
        if (check_http_session(c, &s, "GET", probe[i], NULL, &h) == 0) {
            checked++;
            char err[64] = "";
            json_t *j = json_loadb(h.body, h.body_len, 0, NULL);
            if (json_is_string(json_object_get(j, "error")))
                check_printable(err, sizeof err, json_string_value(json_object_get(j, "error")),
                                strlen(json_string_value(json_object_get(j, "error"))));
            json_decref(j);
            check_evidence(c, r, "GET %s [initial-password session] -> %ld %s", probe[i], h.status, err);
            if (h.status >= 200 && h.status < 300)
                bad++;
        }
        check_http_resp_free(&h);
    }
    if (bad) {
        check_verdict(r, CHECK_FAIL, "The initial-password session reaches %d resource(s) before the password is changed",
                      bad);
        (void)check_logout(c, &s);
        return;
    }
    /* the normal first step of an installer: set the lab's admin password */
    struct check_http_resp h;
    long st = check_password_change(c, &s, p->admin.username, p->initial_password, c->admin_pw, &h);
    check_evidence(c, r, "password change from the label password to the lab's admin password -> %ld", st);
    check_http_resp_free(&h);
    if (st < 200 || st > 299) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Forced change observed on %d resource(s), but setting the lab's admin "
                      "password failed (%ld)", checked, st);
        return;
    }
    struct check_session s3;
    int rc3 = check_login(c, r, p->admin.username, p->initial_password, NULL, &s3, NULL);
    if (rc3 == 0) {
        (void)check_logout(c, &s3);
        check_verdict(r, CHECK_FAIL, "The label password still works after the change");
        return;
    }
    check_fail_record(c, p->admin.username);
    check_verdict(r, CHECK_PASS, "The label password allows nothing but the change (%d resource(s) refused) and stops "
                  "working after it", checked);
}

/* A strong temporary password from the CSPRNG (24 characters, four classes). */
static char *temp_password(struct check_ctx *c)
{
    static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    size_t slot = SAFECAM_ARRAY_LEN(c->tmp_pw);
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(c->tmp_pw); i++)
        if (c->tmp_pw[i] == NULL) {
            slot = i;
            break;
        }
    if (slot == SAFECAM_ARRAY_LEN(c->tmp_pw))
        return NULL;
    char *p = sodium_malloc(32);
    if (p == NULL)
        return NULL;
    memcpy(p, "Qc#7", 4);
    for (size_t i = 4; i < 24; i++)
        p[i] = alnum[randombytes_uniform(sizeof alnum - 1)];
    p[24] = '\0';
    c->tmp_pw[slot] = p;
    check_secret_add(c, p);
    return p;
}

void check_t_pw04(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->pwchange_path[0] == '\0' || !login_declared(c)) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No password change endpoint declared (auth.password_change)");
        return;
    }
    struct check_session s;
    if (check_admin_login(c, r, &s) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    char withuser[CHECK_STR + 16];
    IGN_FMT(withuser, sizeof withuser, "%s#2025Xy", p->admin.username);
    const char *weak[][2] = {
        {"12345678", "digits only"},          {"password", "dictionary word"}, {"aaaaaaaa", "one class"},
        {"Abcdefgh", "no digit, no special"}, {"Abcdefg1", "no special"},      {"Ab1!", "too short"},
        {"P@ssw0rd", "common password"},      {withuser, "contains the user name"},
    };
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(weak); i++) {
        struct check_http_resp h;
        long st = check_password_change(c, &s, p->admin.username, c->admin_pw, weak[i][0], &h);
        char reasons[200] = "";
        json_t *j = h.body ? json_loadb(h.body, h.body_len, 0, NULL) : NULL;
        json_t *rs = json_object_get(j, "reasons");
        if (json_is_array(rs)) {
            size_t k;
            json_t *v;
            json_array_foreach(rs, k, v) {
                if (json_is_string(v) && strlen(reasons) + json_string_length(v) + 2 < sizeof reasons) {
                    if (reasons[0])
                        memcpy(reasons + strlen(reasons), ",", 2);
                    memcpy(reasons + strlen(reasons), json_string_value(v), json_string_length(v) + 1);
                }
            }
        }
        json_decref(j);
        check_http_resp_free(&h);
        check_evidence(c, r, "new password \"%s\" (%s) -> %ld %s", weak[i][0], weak[i][1], st, reasons);
        if (st >= 200 && st < 300) {
            accepted++;
            /* put the lab's password back */
            long back = check_password_change(c, &s, p->admin.username, weak[i][0], c->admin_pw, NULL);
            if (back < 200 || back > 299) {
                struct check_session s2;
                if (check_login(c, r, p->admin.username, weak[i][0], NULL, &s2, NULL) == 0) {
                    back = check_password_change(c, &s2, p->admin.username, weak[i][0], c->admin_pw, NULL);
                    s = s2;
                }
            }
            check_evidence(c, r, "  restored the lab's admin password -> %ld", back);
        } else if (st >= 400 && st < 500) {
            refused++;
        }
    }
    (void)check_logout(c, &s);
    if (accepted)
        check_verdict(r, CHECK_FAIL, "%d weak password(s) accepted", accepted);
    else if (refused == (int)SAFECAM_ARRAY_LEN(weak))
        check_verdict(r, CHECK_PASS, "All %d weak passwords refused", refused);
    else
        check_verdict(r, CHECK_INCONCLUSIVE, "Some password changes got neither acceptance nor a 4xx refusal");
}

/* Put the lab's admin password back after a change to tmp: through session s, else a new session logged
 * in with tmp. With HTTP Basic login every request authenticates with the current password, so tmp is
 * current while restoring. When the device refuses, keep working with tmp and write it to the recovery
 * file (0600), never to evidence. Returns the HTTP status of the last attempt. */
static long restore_admin_password(struct check_ctx *c, struct check_result *r, struct check_session *s,
                                   const char *tmp)
{
    char *lab = sodium_malloc(CHECK_PW_BUF);
    if (lab == NULL || safecam_strlcpy(lab, c->admin_pw, CHECK_PW_BUF) != 0) {
        if (lab)
            sodium_free(lab);
        check_evidence(c, r, "restore the lab's admin password: out of memory");
        IGN_STRLCPY(c->admin_pw, tmp, CHECK_PW_BUF);
        return SAFECAM_ERR_NOMEM;
    }
    int basic = strcmp(c->prof->login_type, "basic") == 0;
    if (basic)
        IGN_STRLCPY(c->admin_pw, tmp, CHECK_PW_BUF);
    long back = check_password_change(c, s, c->prof->admin.username, tmp, lab, NULL);
    if (back < 200 || back > 299) {
        struct check_session s2;
        if (check_login(c, r, c->prof->admin.username, tmp, NULL, &s2, NULL) == 0) {
            back = check_password_change(c, &s2, c->prof->admin.username, tmp, lab, NULL);
            (void)check_logout(c, &s2);
        }
    }
    check_evidence(c, r, "restore the lab's admin password -> %ld", back);
    if (back >= 200 && back <= 299) {
        IGN_STRLCPY(c->admin_pw, lab, CHECK_PW_BUF);
    } else {
        IGN_STRLCPY(c->admin_pw, tmp, CHECK_PW_BUF);
        if (c->opt->recovery_file &&
            safecam_file_write_atomic(c->opt->recovery_file, tmp, strlen(tmp), 0600) == 0)
            check_evidence(c, r, "WARNING: admin password could not be restored; the temporary one is in %s (0600)",
                           c->opt->recovery_file);
    }
    sodium_free(lab);
    return back;
}

static const char *rtsp_answer(const struct check_rtsp_result *d, char *buf, size_t size)
{
    if (d->ok)
        IGN_FMT(buf, size, "%d (%lld ms)", d->status, (long long)d->ms);
    else
        IGN_FMT(buf, size, "no answer (%s)", d->err[0] ? d->err : "error");
    return buf;
}

void check_t_pw05(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->pwchange_path[0] == '\0' || !login_declared(c)) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No password change endpoint declared (auth.password_change); ask the "
                      "vendor for: %s", "a statement that all surfaces share one credential store and a test log");
        return;
    }
    int rtls = 0;
    int rport = rtsp_endpoint(c, &rtls);
    if (rport == 0) {
        check_absent(c, r, CHECK_FEAT_RTSP, "No RTSP surface found: the web login is the only password surface "
                     "probed (ONVIF, if any, needs vendor evidence)");
        return;
    }
    const char *rpath = p->n_rtsp_paths ? p->rtsp_paths[0] : "/stream1";
    const char *user = p->admin.username;
    char a1[96], a2[96], a3[96];
    struct check_rtsp_result d0, d_old, d_new;
    (void)check_rtsp_describe(c, rport, rtls, rpath, user, c->admin_pw, &d0);
    check_evidence(c, r, "RTSP%s DESCRIBE %s as %s with the current password -> %s", rtls ? "S" : "", rpath, user,
                   rtsp_answer(&d0, a1, sizeof a1));
    if (!d0.ok || d0.status < 200 || d0.status > 299) {
        check_verdict(r, CHECK_INCONCLUSIVE, "The admin's current password does not open the stream (%s): nothing to "
                      "compare", a1);
        return;
    }
    struct check_session s;
    if (check_admin_login(c, r, &s) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed");
        return;
    }
    char *tmp = temp_password(c);
    if (tmp == NULL) {
        (void)check_logout(c, &s);
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
        return;
    }
    long st = check_password_change(c, &s, user, c->admin_pw, tmp, NULL);
    int64_t changed = safecam_time_mono_ms();
    check_evidence(c, r, "HTTPS password change of %s to a temporary password -> %ld", user, st);
    if (st < 200 || st > 299) {
        (void)check_logout(c, &s);
        check_verdict(r, CHECK_INCONCLUSIVE, "Password change failed (%ld)", st);
        return;
    }
    /* at once, no wait: the old password on RTSP is one deliberate failure */
    check_fail_budget_wait(c, user);
    (void)check_rtsp_describe(c, rport, rtls, rpath, user, c->admin_pw, &d_old);
    check_fail_record(c, user);
    (void)check_rtsp_describe(c, rport, rtls, rpath, user, tmp, &d_new);
    check_evidence(c, r, "RTSP%s DESCRIBE %s with the OLD password, %lld ms after the change -> %s", rtls ? "S" : "",
                   rpath, (long long)(safecam_time_mono_ms() - changed), rtsp_answer(&d_old, a2, sizeof a2));
    check_evidence(c, r, "RTSP%s DESCRIBE %s with the NEW password -> %s", rtls ? "S" : "", rpath,
                   rtsp_answer(&d_new, a3, sizeof a3));
    long back = restore_admin_password(c, r, &s, tmp);
    (void)check_logout(c, &s);
    int old_ok = d_old.ok && d_old.status >= 200 && d_old.status <= 299;
    int old_refused = d_old.ok && (d_old.status == 401 || d_old.status == 403);
    int new_ok = d_new.ok && d_new.status >= 200 && d_new.status <= 299;
    if (old_ok)
        check_verdict(r, CHECK_FAIL, "After a password change over HTTPS the OLD password still opens the RTSP stream");
    else if (d_new.ok && !new_ok && (d_new.status == 401 || d_new.status == 403))
        check_verdict(r, CHECK_FAIL, "After a password change over HTTPS the NEW password is refused on RTSP (%d)",
                      d_new.status);
    else if (!old_refused || !new_ok)
        check_verdict(r, CHECK_INCONCLUSIVE, "RTSP answers after the change were neither a clear refusal of the old "
                      "password nor acceptance of the new one (%s / %s)", a2, a3);
    else if (back < 200 || back > 299)
        check_verdict(r, CHECK_PASS, "The change applied at once on RTSP (old refused, new accepted); the lab's "
                      "password could not be restored (%ld)", back);
    else
        check_verdict(r, CHECK_PASS, "A password change over HTTPS applies at once on RTSP%s: the old password is "
                      "refused (%d), the new one works", rtls ? "S" : "", d_old.status);
}

static int b64_contains(const char *hay, size_t hay_len, const char *s)
{
    char b64[400];
    size_t l = strlen(s);
    if (l == 0 || l > 200 || hay == NULL)
        return 0;
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s, l, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    int found = memmem(hay, hay_len, b64, strlen(b64)) != NULL;
    sodium_memzero(b64, sizeof b64);
    return found;
}

/* Is pw one of the string values of j (equal, or its base64; a long password also inside a value)? */
static int json_value_has(json_t *j, const char *pw, int depth)
{
    if (depth > 32)
        return 0;
    if (json_is_string(j)) {
        const char *v = json_string_value(j);
        size_t vl = json_string_length(j);
        return strcmp(v, pw) == 0 || (strlen(pw) >= 8 && memmem(v, vl, pw, strlen(pw)) != NULL) ||
               b64_contains(v, vl, pw);
    }
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) if (json_value_has(v, pw, depth + 1)) return 1;
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (json_value_has(v, pw, depth + 1)) return 1;
    }
    return 0;
}

/* PW-06: does an answer return the password pw? A JSON answer: a string value is the password (or its
 * base64). Another answer: a password of 8+ characters anywhere (plain or base64); a shorter one only
 * as an assigned value (=pw followed by & " ' < or the end, or "pw" after a colon), since a short
 * password such as "admin" is also an ordinary word of any page. */
static int pw_returned(const char *body, size_t len, json_t *j, const char *pw)
{
    size_t pl = strlen(pw);
    if (body == NULL || pl == 0)
        return 0;
    if (j != NULL)
        return json_value_has(j, pw, 0);
    if (pl >= 8)
        return memmem(body, len, pw, pl) != NULL || b64_contains(body, len, pw);
    for (const char *p = memmem(body, len, pw, pl); p != NULL;
         p = memmem(p + 1, len - (size_t)(p + 1 - body), pw, pl)) {
        size_t off = (size_t)(p - body);
        char before = off > 0 ? body[off - 1] : '\0';
        char before2 = off > 1 ? body[off - 2] : '\0';
        char after = off + pl < len ? body[off + pl] : '\0';
        int assigned = before == '=' || ((before == '"' || before == '\'') && (before2 == '=' || before2 == ':'));
        int ends = after == '\0' || after == '&' || after == '"' || after == '\'' || after == '<' || after == '\r' ||
                   after == '\n' || after == ' ';
        if (assigned && ends)
            return 1;
        if (off + 1 >= len)
            break;
    }
    return 0;
}

static int json_password_value(json_t *j, int depth)
{
    if (depth > 32)
        return 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if ((strcasestr(k, "password") || strcasestr(k, "passwd") || strcasestr(k, "secret") ||
                 strcasestr(k, "psk")) &&
                json_is_string(v) && json_string_length(v) > 0)
                return 1;
            if (json_password_value(v, depth + 1))
                return 1;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (json_password_value(v, depth + 1)) return 1;
    }
    return 0;
}

void check_t_pw06(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    struct check_session s;
    if (!login_declared(c) || check_admin_login(c, r, &s) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login not possible");
        return;
    }
    const char *paths[CHECK_MAX_ENDPOINTS + 2];
    size_t n = 0;
    if (p->authed_path[0])
        paths[n++] = p->authed_path;
    if (p->events_path[0])
        paths[n++] = p->events_path;
    for (size_t i = 0; i < p->n_endpoints && n < SAFECAM_ARRAY_LEN(paths); i++)
        if (strcmp(p->endpoints[i].method, "GET") == 0)
            paths[n++] = p->endpoints[i].path;
    int bad = 0, read = 0;
    const char *pws[] = {c->admin_pw, p->user.password, p->initial_password};
    for (size_t i = 0; i < n; i++) {
        struct check_http_resp h;
        if (check_http_session(c, &s, "GET", paths[i], NULL, &h) != 0) {
            check_http_resp_free(&h);
            continue;
        }
        read++;
        int found = 0;
        json_t *j = h.body ? json_loadb(h.body, h.body_len, 0, NULL) : NULL;
        for (size_t k = 0; k < SAFECAM_ARRAY_LEN(pws); k++) {
            if (pws[k] == NULL || pws[k][0] == '\0' || h.body == NULL)
                continue;
            if (pw_returned(h.body, h.body_len, j, pws[k]))
                found = 1;
        }
        int field = json_password_value(j, 0);
        json_decref(j);
        check_evidence(c, r, "GET %s [admin session] -> %ld, %zu bytes%s%s", paths[i], h.status, h.body_len,
                       found ? "  FAIL contains a known password" : "",
                       field ? "  FAIL returns a password/secret field with a value" : "");
        bad += found + field;
        check_http_resp_free(&h);
    }
    (void)check_logout(c, &s);
    if (read == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No authenticated resource to read (declare auth.authenticated_probe, "
                      "auth.events, protected_endpoints)");
    else if (bad)
        check_verdict(r, CHECK_FAIL, "A password or secret value is returned by the API");
    else
        check_verdict(r, CHECK_PASS, "No known password (plain or base64) and no password field value in %d "
                      "authenticated answer(s)", read);
}

void check_t_sc06(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->single_role) {
        check_verdict(r, CHECK_NOT_APPLICABLE, "The profile declares a single (administrator) role");
        return;
    }
    if (!p->user.present) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Needs low-privilege credentials (profile credentials.user)");
        return;
    }
    if (!login_declared(c)) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No web login surface declared");
        return;
    }
    struct check_session s;
    int rc = check_login(c, r, p->user.username, p->user.password, NULL, &s, NULL);
    if (rc != 0 || s.change_required) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Low-privilege login failed (%s)", rc ? safecam_err_name(rc) : "password change required");
        return;
    }
    int bad = 0, refused = 0;
    for (size_t i = 0; i < p->n_endpoints; i++) {
        if (!p->endpoints[i].admin_only)
            continue;
        struct check_http_resp h;
        const char *body = p->endpoints[i].body[0] ? p->endpoints[i].body : NULL;
        if (check_http_session(c, &s, p->endpoints[i].method, p->endpoints[i].path, body, &h) == 0) {
            check_evidence(c, r, "%s %s [low-privilege session] -> %ld", p->endpoints[i].method, p->endpoints[i].path,
                           h.status);
            if (h.status == 401 || h.status == 403)
                refused++;
            else if (h.status >= 200 && h.status < 300)
                bad++;
        }
        check_http_resp_free(&h);
    }
    (void)check_logout(c, &s);
    if (bad)
        check_verdict(r, CHECK_FAIL, "%d administrator-only operation(s) allowed to a low-privilege user", bad);
    else if (refused == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No administrator-only endpoint declared or answered");
    else
        check_verdict(r, CHECK_PASS, "%d administrator-only operation(s) refused to a low-privilege user", refused);
}

/* ---- sessions ---- */

static int need_cookie_session(struct check_ctx *c, struct check_result *r)
{
    if (!login_declared(c)) {
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
    char *tmp = temp_password(c);
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
    (void)restore_admin_password(c, r, &b, tmp);
    (void)check_logout(c, &b);
    if (before < 200 || before > 299)
        check_verdict(r, CHECK_INCONCLUSIVE, "Session A did not work before the change");
    else if (after >= 200 && after < 300)
        check_verdict(r, CHECK_FAIL, "Another session of the user survives a password change");
    else
        check_verdict(r, CHECK_PASS, "A password change ends the user's other sessions");
}

/* ---- brute force ---- */

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
    if (login_declared(c)) {
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
    int basic = !login_declared(c) && c->web_port && c->web_basic && !check_declared_absent(c, CHECK_FEAT_LOGIN);
    if (!login_declared(c) && !basic) {
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
    if (c->prof->events_path[0] == '\0' || !login_declared(c)) {
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
    if (!login_declared(c)) {
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
