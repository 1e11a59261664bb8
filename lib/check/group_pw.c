/* group_pw.c — test group PW, passwords (QCVN 135 G1, EN 303 645 5.1): default credentials (PW-01), the
 * label password (PW-02), forced change (PW-03), password policy (PW-04), a change applies on every surface
 * (PW-05), no password disclosure (PW-06).
 * Trust level: holds the lab's credentials (never written to evidence: every line is redacted);
 * answers are hostile. Deliberate failures are paced below the declared lockout threshold. */
#include "check_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

/* The first PW01_TOP entries of the well-known defaults (check_default_cred) are tried by default, all
 * with --pw-full. */
#define PW01_TOP 3

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
    size_t n = c->opt->pw_full ? check_default_creds_count() : PW01_TOP;
    int web = check_login_declared(c);
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
        const char *u = check_default_cred(i, 0), *pw = check_default_cred(i, 1);
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
    for (size_t i = 0; i < check_default_creds_count(); i++) {
        if (check_default_cred(i, 1)[0] && strcmp(pw, check_default_cred(i, 1)) == 0) {
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
    if (!check_login_declared(c)) {
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

void check_t_pw04(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->pwchange_path[0] == '\0' || !check_login_declared(c)) {
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
    if (p->pwchange_path[0] == '\0' || !check_login_declared(c)) {
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
    char *tmp = check_password_temp(c);
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
    long back = check_admin_password_restore(c, r, &s, tmp);
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
    if (!check_login_declared(c) || check_admin_login(c, r, &s) != 0) {
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
