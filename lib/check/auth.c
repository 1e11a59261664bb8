/* auth.c — the declared web login surface: log in (JSON + cookie session, or HTTP Basic), log out,
 * authenticated requests with the CSRF token, password changes, and the failure budget that keeps
 * deliberate wrong-password attempts under the lockout threshold.
 * Trust level: handles the lab's credentials (sodium memory, wiped request bodies); answers hostile. */
#include "check_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_counts(const struct check_ctx *c, size_t i, const char *account)
{
    return !c->prof->lockout_per_account || account == NULL || strcmp(c->fail_acct[i], account) == 0;
}

void check_fail_record(struct check_ctx *c, const char *account)
{
    if (c->n_fails < CHECK_MAX_FAILS) {
        IGN_STRLCPY(c->fail_acct[c->n_fails], account && strlen(account) < 32 ? account : "?", 32);
        c->fails[c->n_fails++] = safecam_time_mono_ms();
    }
}

int64_t check_fail_last(const struct check_ctx *c, const char *account)
{
    for (size_t i = c->n_fails; i > 0; i--)
        if (fail_counts(c, i - 1, account))
            return c->fails[i - 1];
    return 0;
}

void check_fail_budget_wait(struct check_ctx *c, const char *account)
{
    long thr = c->prof->lockout_threshold > 1 ? c->prof->lockout_threshold - 1 : 1;
    int64_t window = (int64_t)c->prof->lockout_window_s * 1000 + 1000;
    for (;;) {
        int64_t now = safecam_time_mono_ms();
        long in_window = 0;
        int64_t oldest = now;
        for (size_t i = 0; i < c->n_fails; i++) {
            if (c->fails[i] > now - window && fail_counts(c, i, account)) {
                in_window++;
                if (c->fails[i] < oldest)
                    oldest = c->fails[i];
            }
        }
        if (in_window < thr)
            return;
        int64_t wait = oldest + window - now + 50;
        if (c->opt->progress)
            fprintf(stderr, " (pacing %llds)", (long long)(wait / 1000));
        check_sleep_ms(wait, &c->wait_pacing_ms);
    }
}

static int json_body(const struct check_profile *p, const char *k1, const char *v1, const char *k2, const char *v2,
                     char **out)
{
    json_t *o = json_object();
    if (o == NULL)
        return SAFECAM_ERR_NOMEM;
    json_object_set_new(o, k1, json_string(v1));
    json_object_set_new(o, k2, json_string(v2));
    (void)p;
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *out ? 0 : SAFECAM_ERR_NOMEM;
}

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* Pick the session cookie from the Set-Cookie headers. */
static int session_cookie_from(const struct check_ctx *c, const struct check_http_resp *r, struct check_cookie *ck)
{
    char v[1024];
    for (int i = 0; i < 16 && check_http_header(r, "Set-Cookie", i, v, sizeof v); i++) {
        if (check_cookie_parse(v, ck) != 0)
            continue;
        if (c->prof->session_cookie[0] == '\0' || strcmp(ck->name, c->prof->session_cookie) == 0)
            return 1;
    }
    return 0;
}

int check_login(struct check_ctx *c, struct check_result *res, const char *user, const char *pw,
                const char *preset_cookie, struct check_session *s, struct check_http_resp *raw)
{
    const struct check_profile *p = c->prof;
    struct check_http_resp r;
    memset(s, 0, sizeof *s);
    if (c->web_port == 0 || strcmp(p->login_type, "none") == 0)
        return SAFECAM_ERR_STATE;
    check_pace(c);
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls};
    char *body = NULL;
    int rc;
    if (strcmp(p->login_type, "json") == 0) {
        if ((rc = json_body(p, p->user_field, user, p->pass_field, pw, &body)) != 0)
            return rc;
        q.method = "POST";
        q.path = p->login_path;
        q.body = body;
        q.cookie = preset_cookie;
    } else {
        q.method = "GET";
        q.path = p->authed_path[0] ? p->authed_path : p->login_path;
        q.basic_user = user;
        q.basic_pass = pw;
    }
    rc = check_http(c, &q, &r);
    wipe_free(body);
    check_http_evidence(c, res, &q, &r);
    s->status = r.status;
    s->ms = r.ms;
    if (rc != 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    if (r.status == 429) {
        rc = SAFECAM_ERR_LOCKED;
        goto out;
    }
    if (r.status == 401 || r.status == 403) {
        rc = SAFECAM_ERR_DENIED;
        goto out;
    }
    if (r.status < 200 || r.status > 299) {
        rc = SAFECAM_ERR_PROTO;
        goto out;
    }
    if (strcmp(p->login_type, "json") == 0) {
        struct check_cookie ck;
        if (!session_cookie_from(c, &r, &ck)) {
            rc = SAFECAM_ERR_PROTO;
            if (res)
                check_evidence(c, res, "login answered %ld but set no session cookie", r.status);
            goto out;
        }
        if (safecam_fmt(s->cookie, sizeof s->cookie, "%s=%s", ck.name, ck.value) != 0) {
            rc = SAFECAM_ERR_TOOBIG;
            goto out;
        }
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        if (json_is_object(j)) {
            json_t *t = p->csrf_field[0] ? json_object_get(j, p->csrf_field) : NULL;
            if (json_is_string(t))
                IGN_STRLCPY(s->csrf, json_string_value(t), sizeof s->csrf);
            json_t *cr = p->change_required_field[0] ? json_object_get(j, p->change_required_field) : NULL;
            s->change_required = json_is_true(cr);
        }
        json_decref(j);
    }
    rc = 0;
out:
    if (raw)
        *raw = r;
    else
        check_http_resp_free(&r);
    return rc;
}

int check_http_session(struct check_ctx *c, struct check_session *s, const char *method, const char *path,
                       const char *body, struct check_http_resp *r)
{
    check_pace(c);
    struct check_http_req q = {.port = c->web_port,
                               .tls = c->web_tls,
                               .method = method,
                               .path = path,
                               .body = body,
                               .cookie = s && s->cookie[0] ? s->cookie : NULL,
                               .csrf_header = c->prof->csrf_header,
                               .csrf = s ? s->csrf : NULL};
    if (strcmp(c->prof->login_type, "basic") == 0 && s != NULL) {
        q.basic_user = c->prof->admin.username;
        q.basic_pass = c->admin_pw;
    }
    return check_http(c, &q, r);
}

int check_logout(struct check_ctx *c, struct check_session *s)
{
    if (c->prof->logout_path[0] == '\0')
        return SAFECAM_ERR_STATE;
    struct check_http_resp r;
    int rc = check_http_session(c, s, c->prof->logout_method, c->prof->logout_path, NULL, &r);
    if (rc == 0 && (r.status < 200 || r.status > 299))
        rc = SAFECAM_ERR_PROTO;
    check_http_resp_free(&r);
    return rc;
}

int check_admin_login(struct check_ctx *c, struct check_result *res, struct check_session *s)
{
    if (!c->prof->admin.present || c->admin_pw == NULL)
        return SAFECAM_ERR_STATE;
    if (c->locked)
        return SAFECAM_ERR_LOCKED;
    int rc = check_login(c, res, c->prof->admin.username, c->admin_pw, NULL, s, NULL);
    c->admin_state = rc == 0 ? 1 : -1;
    if (rc == 0 && s->change_required) {
        if (res)
            check_evidence(c, res, "admin login reports that the initial password must still be changed");
        return SAFECAM_ERR_STATE;
    }
    return rc;
}

long check_password_change(struct check_ctx *c, struct check_session *s, const char *user, const char *cur,
                           const char *next, struct check_http_resp *raw)
{
    const struct check_profile *p = c->prof;
    if (p->pwchange_path[0] == '\0')
        return SAFECAM_ERR_STATE;
    char path[CHECK_PATH + CHECK_STR];
    const char *ph = strstr(p->pwchange_path, "{user}");
    if (ph != NULL) {
        if (safecam_fmt(path, sizeof path, "%.*s%s%s", (int)(ph - p->pwchange_path), p->pwchange_path, user,
                        ph + 6) != 0)
            return SAFECAM_ERR_TOOBIG;
    } else if (safecam_strlcpy(path, p->pwchange_path, sizeof path) != 0) {
        return SAFECAM_ERR_TOOBIG;
    }
    char *body = NULL;
    if (json_body(p, p->pwchange_current_field, cur, p->pwchange_new_field, next, &body) != 0)
        return SAFECAM_ERR_NOMEM;
    struct check_http_resp r;
    int rc = check_http_session(c, s, p->pwchange_method, path, body, &r);
    wipe_free(body);
    long st = rc == 0 ? r.status : SAFECAM_ERR_IO;
    if (raw)
        *raw = r;
    else
        check_http_resp_free(&r);
    return st;
}

/* ---- helpers of the tests that log in (PW, SC-06, SM, BF groups) ---- */

int check_login_declared(const struct check_ctx *c)
{
    return c->web_port != 0 && strcmp(c->prof->login_type, "none") != 0;
}

/* A strong temporary password from the CSPRNG (24 characters, four classes). */
char *check_password_temp(struct check_ctx *c)
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

/* Put the lab's admin password back after a change to tmp: through session s, else a new session logged
 * in with tmp. With HTTP Basic login every request authenticates with the current password, so tmp is
 * current while restoring. When the device refuses, keep working with tmp and write it to the recovery
 * file (0600), never to evidence. Returns the HTTP status of the last attempt. */
long check_admin_password_restore(struct check_ctx *c, struct check_result *r, struct check_session *s,
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
