/* group_rs.c — test group RS, self-recovery (QCVN 135 G8, EN 303 645 5.9): RS-01, the device is asked to
 * restart through the profile's declared endpoint (only with --allow-destructive, consent.destructive and
 * consent.restart) and must come back with its configuration and authentication unchanged.
 * Trust level: every answer of the device is untrusted (capped buffers, jansson); waits are bounded by
 * --max-wait. */
#include "check_internal.h"

#include <stdint.h>
#include <unistd.h>

/* JSON of an admin GET (NULL when not 200 / not JSON). */
static json_t *get_json(struct check_ctx *c, struct check_result *r, struct check_session *s, const char *path)
{
    struct check_http_resp h;
    json_t *doc = NULL;
    int rc = check_http_session(c, s, "GET", path, NULL, &h);
    check_evidence(c, r, "GET %s [admin session] -> %ld", path, rc == 0 ? h.status : 0L);
    if (rc == 0 && h.status == 200 && !h.body_truncated)
        doc = json_loadb(h.body, h.body_len, JSON_REJECT_DUPLICATES, NULL);
    check_http_resp_free(&h);
    return doc;
}

/* Snapshot: object path -> JSON of each compared GET (plus the authenticated probe). */
static json_t *snapshot(struct check_ctx *c, struct check_result *r, struct check_session *s, int *missing)
{
    const struct check_profile *p = c->prof;
    json_t *snap = json_object();
    *missing = 0;
    for (size_t i = 0; i < p->n_restart_compare && snap; i++) {
        json_t *d = get_json(c, r, s, p->restart_compare[i]);
        if (d == NULL)
            (*missing)++;
        json_object_set_new(snap, p->restart_compare[i], d ? d : json_null());
    }
    return snap;
}

void check_t_rs01(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->restart_path[0] == '\0' || c->web_port == 0) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No restart endpoint declared (profile restart.path); ask the vendor for "
                      "a test log of a restart with configuration and accounts kept");
        return;
    }
    if (!p->consent_restart) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The profile does not consent to a restart (consent.restart)");
        return;
    }
    struct check_session s;
    json_t *before = NULL, *after = NULL;
    int rc = check_admin_login(c, r, &s);
    if (rc != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed (%s)", safecam_err_name(rc));
        return;
    }
    int miss_before = 0, miss_after = 0;
    before = snapshot(c, r, &s, &miss_before);
    struct check_http_resp h;
    rc = check_http_session(c, &s, p->restart_method, p->restart_path, "{}", &h);
    long st = rc == 0 ? h.status : 0;
    check_evidence(c, r, "%s %s [admin session] -> %ld", p->restart_method, p->restart_path, st);
    check_http_resp_free(&h);
    if (st < 200 || st > 299) {
        check_verdict(r, CHECK_INCONCLUSIVE, "The restart request was not accepted (%ld)", st);
        goto out;
    }
    /* down: the web port stops accepting (bounded), then up: the admin login works again */
    int64_t t0 = safecam_time_mono_ms(), limit = (int64_t)c->opt->max_wait_s * 1000, down_ms = -1;
    while (safecam_time_mono_ms() - t0 < limit) {
        int fd = -1;
        if (check_tcp_connect(c, c->web_port, 500, &fd) != 0) {
            down_ms = safecam_time_mono_ms() - t0;
            break;
        }
        close(fd);
        check_sleep_ms(100, &c->wait_other_ms);
    }
    if (down_ms < 0)
        check_evidence(c, r, "the web port never stopped answering within %d s", c->opt->max_wait_s);
    else
        check_evidence(c, r, "web port closed %lld ms after the request (restarting)", (long long)down_ms);
    int64_t up_ms = -1;
    rc = SAFECAM_ERR_IO;
    while (safecam_time_mono_ms() - t0 < limit) {
        int fd = -1;
        if (check_tcp_connect(c, c->web_port, 500, &fd) == 0) {
            close(fd);
            rc = check_admin_login(c, NULL, &s);
            if (rc == 0 || rc == SAFECAM_ERR_DENIED || rc == SAFECAM_ERR_LOCKED || rc == SAFECAM_ERR_STATE) {
                up_ms = safecam_time_mono_ms() - t0;
                break;
            }
        }
        check_sleep_ms(250, &c->wait_other_ms);
    }
    if (up_ms < 0) {
        check_verdict(r, CHECK_FAIL, "The device did not come back within %d s (--max-wait) after the restart",
                      c->opt->max_wait_s);
        goto out;
    }
    check_evidence(c, r, "admin login after the restart (%lld ms) -> %s", (long long)up_ms,
                   rc == 0 ? "accepted" : safecam_err_name(rc));
    if (rc != 0) {
        check_verdict(r, CHECK_FAIL, "After the restart the lab's admin password no longer works (%s): authentication "
                      "was not kept", safecam_err_name(rc));
        goto out;
    }
    after = snapshot(c, r, &s, &miss_after);
    (void)check_logout(c, &s);
    int changed = 0;
    const char *key;
    json_t *v;
    json_object_foreach(before, key, v) {
        if (!json_equal(v, json_object_get(after, key))) {
            changed++;
            check_evidence(c, r, "%s differs after the restart", key);
        }
    }
    if (changed)
        check_verdict(r, CHECK_FAIL, "%d configuration answer(s) changed across the restart", changed);
    else if (p->n_restart_compare == 0 || miss_before || miss_after)
        check_verdict(r, CHECK_INCONCLUSIVE, "Authentication kept across the restart, but no configuration could be "
                      "compared (declare restart.compare admin GETs)");
    else
        check_verdict(r, CHECK_PASS, "The device restarted (%lld ms) and kept authentication and the %zu compared "
                      "configuration answer(s)", (long long)up_ms, p->n_restart_compare);
out:
    json_decref(before);
    json_decref(after);
}
