/* run.c — runs the catalogue against one target: resolves the target once, orders the tests by the
 * phase of their catalogue rows (the locking phase last), applies the "needs" rules, redacts secrets from every evidence line, paces the
 * requests and assembles the versioned JSON report. Trust level: orchestration; no device parsing. */
#include "check_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

void check_options_defaults(struct check_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = 5;
    o->delay_ms = 0;
    o->max_wait_s = 60;
    o->lang = "en";
}

int check_prior_verdict(const struct check_ctx *c, const char *id)
{
    json_t *v = json_object_get(c->verdicts, id);
    return v ? check_verdict_parse(json_string_value(v)) : -1;
}

static int resolve(struct check_ctx *c, const char *target)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    if (strlen(target) > 253)
        return SAFECAM_ERR_INVAL;
    if (getaddrinfo(target, NULL, &hints, &res) != 0 || res == NULL)
        return SAFECAM_ERR_NOTFOUND;
    int rc = SAFECAM_ERR_NOTFOUND;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, c->host, sizeof c->host);
            c->family = AF_INET;
            rc = safecam_strlcpy(c->url_host, c->host, sizeof c->url_host);
            break;
        }
        if (a->ai_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, c->host, sizeof c->host);
            c->family = AF_INET6;
            rc = safecam_fmt(c->url_host, sizeof c->url_host, "[%s]", c->host);
            break;
        }
    }
    freeaddrinfo(res);
    return rc;
}


static int in_list(const char *list, const char *id)
{
    size_t il = strlen(id);
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == il && strncmp(p, id, il) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int selected(const struct check_options *o, const char *id)
{
    if (o->skip != NULL && in_list(o->skip, id))
        return 0;
    return o->only == NULL || o->only[0] == '\0' || in_list(o->only, id);
}

/* Tests whose discoveries other tests build on (a catalogue row's prereq: SC-01 finds the services and
 * chooses the web (login) and RTSP surfaces every network test works on; SC-02 collects the TLS facts
 * SC-08 judges). When a selection (--only/--skip) leaves such a test out but needs it, it runs anyway,
 * first, and is reported with a note saying it ran as a prerequisite. */
static const char *prereq_of(const struct check_test *t)
{
    return t->run != NULL ? t->prereq : NULL;
}

/* --https-port / --rtsps-port replace the port of the profile's (first) service of that kind, or add
 * one; either way the services count as declared (IF-01 compares with them) and the profile echo of the
 * report shows the effective services. */
static void override_port(struct check_profile *p, int port, enum check_service_kind kind, const char *opt)
{
    if (port <= 0)
        return;
    struct check_service *s = NULL;
    for (size_t i = 0; i < p->n_services && s == NULL; i++)
        if (!p->services[i].udp && p->services[i].kind == kind)
            s = &p->services[i];
    for (size_t i = 0; i < p->n_services && s == NULL; i++)
        if (!p->services[i].udp && p->services[i].port == port)
            s = &p->services[i]; /* the port is declared with another kind: the option says what it is */
    if (s == NULL && p->n_services < CHECK_MAX_SERVICES) {
        s = &p->services[p->n_services++];
        memset(s, 0, sizeof *s);
    }
    if (s == NULL)
        return;
    char purpose[CHECK_STR];
    IGN_FMT(purpose, sizeof purpose, "%s (%s)", s->purpose[0] ? s->purpose : "given on the command line", opt);
    s->port = port;
    s->udp = 0;
    s->kind = kind;
    IGN_STRLCPY(s->purpose, purpose, sizeof s->purpose);
    p->services_declared = 1;
}

/* What the camera itself says it is (GET auth.authenticated_probe, default /api/v1/device, with the
 * lab's admin session; safecamd-like answer {"model","serial","firmware_version",...}), compared with
 * the profile's declarations. Asked last (after PW-03 may have set the lab's password) but before
 * a test of the locking phase (BF-01) locks the account; only with the profile's credentials. Returns a new object for the report's device.reported, or NULL with *why set;
 * evidence (and any mismatch, flagged) goes into r. */
static json_t *device_reported(struct check_ctx *c, struct check_result *r, json_t *mismatches, const char **why)
{
    const struct check_profile *p = c->prof;
    if (!p->admin.present || c->admin_pw == NULL) {
        *why = "no admin credentials in the profile";
        return NULL;
    }
    if (c->locked) {
        *why = "the admin account is locked by an earlier test";
        return NULL;
    }
    if (c->web_port == 0 || strcmp(p->login_type, "none") == 0) {
        *why = "no web login surface";
        return NULL;
    }
    struct check_session s;
    memset(&s, 0, sizeof s);
    int rc = check_admin_login(c, r, &s);
    if (rc != 0) {
        if (rc == SAFECAM_ERR_DENIED)
            check_fail_record(c, p->admin.username);
        *why = rc == SAFECAM_ERR_STATE ? "the admin account still has to change its initial password (factory state)"
                                       : "the admin login did not succeed";
        return NULL;
    }
    const char *path = p->authed_path[0] ? p->authed_path : "/api/v1/device";
    struct check_http_resp h;
    json_t *out = NULL;
    if (check_http_session(c, &s, "GET", path, NULL, &h) != 0) {
        *why = "the device information request failed";
        goto out;
    }
    check_evidence(c, r, "device identity: GET %s (admin session) -> %ld", path, h.status);
    json_t *j = h.status == 200 ? json_loadb(h.body, h.body_len, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        *why = "the device did not answer with a JSON object";
        json_decref(j);
        check_http_resp_free(&h);
        goto out;
    }
    static const struct {
        const char *key;
        size_t off;
    } f[] = {{"model", offsetof(struct check_profile, model)},
             {"serial", offsetof(struct check_profile, serial)},
             {"firmware_version", offsetof(struct check_profile, firmware)}};
    out = json_object();
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(f); i++) {
        const char *v = json_string_value(json_object_get(j, f[i].key));
        if (v == NULL)
            continue;
        char clean[CHECK_STR];
        check_printable(clean, sizeof clean, v, strnlen(v, CHECK_STR - 1));
        json_object_set_new(out, f[i].key, json_string(clean));
        const char *decl = (const char *)p + f[i].off;
        check_evidence(c, r, "device identity: %s \"%s\" (profile declares \"%s\")", f[i].key, clean,
                       decl[0] ? decl : "-");
        if (decl[0] && strcmp(decl, clean) != 0) {
            char m[3 * CHECK_STR + 64];
            IGN_FMT(m, sizeof m, "%s: the profile declares \"%s\", the device says \"%s\"", f[i].key, decl, clean);
            json_array_append_new(mismatches, json_string(m));
            check_evidence(c, r, "MISMATCH %s", m);
        }
    }
    json_decref(j);
    check_http_resp_free(&h);
out:
    if (check_logout(c, &s) != 0) {
    }
    return out;
}

static json_t *needs_json(unsigned n)
{
    static const struct {
        unsigned bit;
        const char *name;
    } t[] = {{CHECK_NEEDS_PROFILE, "profile"},         {CHECK_NEEDS_ADMIN, "admin_credentials"},
             {CHECK_NEEDS_USER, "user_credentials"},   {CHECK_NEEDS_INITIAL, "factory_state"},
             {CHECK_NEEDS_DESTRUCTIVE, "destructive"}, {CHECK_NEEDS_GATEWAY, "gateway"},
             {CHECK_NEEDS_BUNDLE, "update_bundle"},    {CHECK_NEEDS_DOCS, "vendor_documents"}};
    json_t *a = json_array();
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(t); i++)
        if (n & t[i].bit)
            json_array_append_new(a, json_string(t[i].name));
    return a;
}

static void run_one(struct check_ctx *c, const struct check_test *t, struct check_result *r)
{
    r->verdict = CHECK_INCONCLUSIVE;
    r->reason[0] = '\0';
    int64_t t0 = safecam_time_mono_ms();
    if (t->run == NULL) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "Not testable over the network by qcvn-check; ask the vendor for: %s",
                      t->ask_vendor ? t->ask_vendor : "documentation");
    } else if ((t->needs & (CHECK_NEEDS_ADMIN | CHECK_NEEDS_USER | CHECK_NEEDS_INITIAL)) &&
               !(t->needs & CHECK_NEEDS_DESTRUCTIVE) && check_declared_absent(c, CHECK_FEAT_LOGIN)) {
        check_verdict(r, CHECK_NOT_APPLICABLE, "No login to test: the profile declares auth.login.type none");
    } else if ((t->needs & CHECK_NEEDS_DESTRUCTIVE) && !(c->opt->allow_destructive && c->prof->consent_destructive)) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE,
                      "Destructive test not run (needs --allow-destructive and the profile's consent); ask the vendor for: %s",
                      t->ask_vendor ? t->ask_vendor : "test records");
    } else if ((t->needs & CHECK_NEEDS_ADMIN) && !c->prof->admin.present) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Not run: needs admin credentials (profile credentials.admin)");
    } else if ((t->needs & CHECK_NEEDS_ADMIN) && c->locked) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Not run: the admin account is locked by an earlier test");
    } else {
        t->run(c, r);
    }
    r->duration_ms = safecam_time_mono_ms() - t0;
}

static json_t *result_json(const struct check_test *t, struct check_result *r)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:O,s:I}", "id", t->id, "title_en", t->title_en,
                          "title_vi", t->title_vi, "group", t->group, "en303645", t->en303645, "ts103701",
                          t->ts103701, "level", t->level == CHECK_MANDATORY ? "mandatory" : "recommended", "needs",
                          needs_json(t->needs), "verdict", check_verdict_name(r->verdict), "reason", r->reason,
                          "evidence", r->evidence, "duration_ms", (json_int_t)r->duration_ms);
    if (o && r->reason_vi[0])
        json_object_set_new(o, "reason_vi", json_string(r->reason_vi));
    if (o && t->run == NULL && t->ask_vendor)
        json_object_set_new(o, "ask_vendor", json_string(t->ask_vendor));
    if (o && r->data)
        json_object_set(o, "data", r->data);
    return o;
}

int check_run(const struct check_options *opt, struct check_profile *prof, json_t **report_out)
{
    *report_out = NULL;
    if (opt == NULL || prof == NULL || opt->target == NULL || opt->timeout_s < 1 || opt->timeout_s > 300 ||
        opt->delay_ms < 0 || opt->delay_ms > 60000)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0 || check_tls_global_init() != 0 || check_http_global_init() != 0)
        return SAFECAM_ERR_INTERNAL;
    struct check_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SAFECAM_ERR_NOMEM;
    int rc = resolve(c, opt->target);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->opt = opt;
    c->prof = prof;
    c->tls = json_object();
    c->verdicts = json_object();
    if (prof->admin.password) {
        c->admin_pw = sodium_malloc(CHECK_PW_BUF);
        if (c->admin_pw == NULL || safecam_strlcpy(c->admin_pw, prof->admin.password, CHECK_PW_BUF) != 0) {
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
    }
    override_port(prof, opt->https_port, CHECK_SVC_HTTPS, "--https-port");
    override_port(prof, opt->rtsps_port, CHECK_SVC_RTSPS, "--rtsps-port");
    check_secret_add(c, prof->admin.password);
    check_secret_add(c, prof->user.password);
    check_secret_add(c, prof->initial_password);
    check_secret_add(c, c->admin_pw);

    size_t n;
    const struct check_test *cat = check_catalogue(&n);
    struct check_result *res = calloc(n, sizeof *res);
    unsigned char *done = calloc(n, 1);
    if (res == NULL || done == NULL) {
        free(res);
        free(done);
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        res[i].evidence = json_array();

    json_t *dev_reported = NULL, *dev_mismatch = json_array();
    const char *dev_why = NULL;
    struct check_result *sc01 = NULL; /* device identity evidence goes with the inventory */
    char started[32] = "";
    IGN_RFC3339(safecam_time_now(), started, sizeof started);
    int64_t t0 = safecam_time_mono_ms();
    c->test_total = 0;
    /* required[i]: not selected but a selected test builds on it (transitively: SC-08 -> SC-02 -> SC-01) */
    unsigned char *required = calloc(n, 1);
    json_t *prereqs = json_array();
    if (required == NULL || prereqs == NULL) {
        free(res);
        free(done);
        free(required);
        json_decref(prereqs);
        json_decref(dev_mismatch);
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < n; i++) {
            if (!selected(opt, cat[i].id) && !required[i])
                continue;
            const char *pid = prereq_of(&cat[i]);
            const struct check_test *pt = pid ? check_catalogue_find(pid) : NULL;
            if (pt && !selected(opt, pt->id))
                required[pt - cat] = 1;
        }
    for (size_t i = 0; i < n; i++) {
        c->test_total += selected(opt, cat[i].id) || required[i];
        if (required[i])
            json_array_append_new(prereqs, json_string(cat[i].id));
    }
    /* the run order follows the rows: phase by phase (discovery, unauthenticated, authenticated, failed
     * logins, locks), catalogue order inside a phase */
    for (int phase = 0; phase < CHECK_PHASE_COUNT; phase++) {
        for (size_t k = 0; k < n; k++) {
            const struct check_test *t = &cat[k];
            if ((int)t->phase != phase)
                continue;
            size_t i = k;
            if (done[i] || !(selected(opt, t->id) || required[i]))
                continue;
            done[i] = 1;
            c->test_index++;
            if (opt->progress)
                fprintf(stderr, "[%2zu/%2zu] %-6s %s ...", c->test_index, c->test_total, t->id, t->title_en);
            /* ask the device who it is last, but before a test of the locking phase may lock the admin */
            if (t->phase == CHECK_PHASE_LOCKS && sc01 != NULL && dev_why == NULL && dev_reported == NULL)
                dev_reported = device_reported(c, sc01, dev_mismatch, &dev_why);
            run_one(c, t, &res[i]);
            if (strcmp(t->id, "SC-01") == 0)
                sc01 = &res[i];
            if (required[i])
                check_evidence(c, &res[i], "Run although not selected: the selected tests build on its discoveries "
                               "(prerequisite)");
            json_object_set_new(c->verdicts, t->id, json_string(check_verdict_name(res[i].verdict)));
            if (opt->progress)
                fprintf(stderr, " %s (%lld ms)\n", check_verdict_name(res[i].verdict),
                        (long long)res[i].duration_ms);
        }
    }
    if (sc01 != NULL && dev_why == NULL && dev_reported == NULL)
        dev_reported = device_reported(c, sc01, dev_mismatch, &dev_why);
    int64_t total_ms = safecam_time_mono_ms() - t0;
    char finished[32] = "";
    IGN_RFC3339(safecam_time_now(), finished, sizeof finished);

    json_t *results = json_array();
    json_t *summary = json_object();
    json_t *groups = json_object();
    int counts[CHECK_VERDICT_COUNT] = {0};
    int mandatory_fail = 0, mandatory_undecided = 0, mandatory_pass = 0;
    for (size_t i = 0; i < n; i++) {
        if (!done[i])
            continue;
        json_t *rj = result_json(&cat[i], &res[i]);
        if (rj && required[i])
            json_object_set_new(rj, "prerequisite", json_true());
        json_array_append_new(results, rj);
        counts[res[i].verdict]++;
        if (res[i].verdict == CHECK_FAIL && cat[i].level == CHECK_MANDATORY)
            mandatory_fail++;
        if ((res[i].verdict == CHECK_INCONCLUSIVE || res[i].verdict == CHECK_NEEDS_EVIDENCE) &&
            cat[i].level == CHECK_MANDATORY)
            mandatory_undecided++;
        if (res[i].verdict == CHECK_PASS && cat[i].level == CHECK_MANDATORY)
            mandatory_pass++;
        json_t *g = json_object_get(groups, cat[i].group);
        if (g == NULL) {
            g = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i}", "title_en", check_group_title(cat[i].group, "en"),
                          "title_vi", check_group_title(cat[i].group, "vi"), "PASS", 0, "FAIL", 0, "INCONCLUSIVE", 0,
                          "NOT_APPLICABLE", 0, "NEEDS_EVIDENCE", 0);
            json_object_set_new(groups, cat[i].group, g);
        }
        const char *vn = check_verdict_name(res[i].verdict);
        json_object_set_new(g, vn, json_integer(json_integer_value(json_object_get(g, vn)) + 1));
    }
    for (int v = 0; v < CHECK_VERDICT_COUNT; v++)
        json_object_set_new(summary, check_verdict_name((enum check_verdict)v), json_integer(counts[v]));
    json_object_set_new(summary, "mandatory_fail", json_integer(mandatory_fail));
    /* the headline: FAIL, not yet decided (INCONCLUSIVE + NEEDS_EVIDENCE) and PASS side by side */
    json_object_set_new(summary, "mandatory_undecided", json_integer(mandatory_undecided));
    json_object_set_new(summary, "mandatory_pass", json_integer(mandatory_pass));
    json_object_set_new(summary, "undecided", json_integer(counts[CHECK_INCONCLUSIVE] + counts[CHECK_NEEDS_EVIDENCE]));
    json_object_set_new(summary, "state", json_string(mandatory_fail ? "FAIL" : mandatory_undecided ? "UNDECIDED"
                                                                                                    : "PASS"));
    json_object_set_new(summary, "groups", groups);

    json_t *svcs = json_array();
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *p = &c->ports[i];
        json_array_append_new(svcs, json_pack("{s:i,s:s,s:b,s:b,s:s,s:s}", "port", p->port, "protocol",
                                              p->udp ? "udp" : "tcp", "open", p->open, "declared", p->declared,
                                              "service", check_service_kind_name(p->kind), "note", p->banner));
    }
    json_t *rep = json_object();
    json_object_set_new(rep, "schema", json_string(CHECK_REPORT_SCHEMA));
    json_object_set_new(rep, "tool", json_pack("{s:s,s:s}", "name", "qcvn-check", "version", SAFECAM_VERSION));
    json_object_set_new(rep, "regulation",
                        json_pack("{s:s,s:s,s:s}", "qcvn", "QCVN 135:2024/BTTTT", "baseline", "ETSI EN 303 645 V2.1.1",
                                  "assessment", "ETSI TS 103 701 V1.1.1"));
    json_object_set_new(rep, "target", json_pack("{s:s,s:s,s:i,s:b,s:i,s:b,s:b}", "host", opt->target, "address",
                                                 c->host, "web_port", c->web_port, "web_tls", c->web_tls,
                                                 "ports_probed", c->scan_count, "full_range", c->scan_all, "udp",
                                                 c->udp_probed));
    json_t *dev = json_pack("{s:s,s:s,s:s,s:s}", "vendor", prof->vendor, "model", prof->model,
                            "firmware_version", prof->firmware, "serial", prof->serial);
    /* beside the declarations: what the camera says (reported), or why it was not asked */
    if (dev_reported)
        json_object_set_new(dev, "reported", dev_reported);
    else
        json_object_set_new(dev, "reported_unavailable", json_string(dev_why ? dev_why : "SC-01 did not run"));
    json_object_set_new(dev, "mismatches", dev_mismatch);
    json_object_set_new(rep, "device", dev);
    json_object_set_new(rep, "profile", check_profile_echo(prof));
    json_object_set_new(rep, "options",
                        json_pack("{s:b,s:b,s:i,s:i,s:i,s:b,s:s}", "allow_destructive", opt->allow_destructive,
                                  "measure_lockout", opt->measure_lockout, "delay_ms", opt->delay_ms, "timeout_s",
                                  opt->timeout_s, "max_wait_s", opt->max_wait_s, "pw_full", opt->pw_full, "lang",
                                  opt->lang ? opt->lang : "en"));
    json_object_set_new(json_object_get(rep, "options"), "prerequisites_run", prereqs);
    json_object_set_new(rep, "started", json_string(started));
    json_object_set_new(rep, "finished", json_string(finished));
    int64_t waits = c->wait_pacing_ms + c->wait_lockout_ms + c->wait_other_ms;
    json_object_set_new(rep, "timing",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "total_ms", (json_int_t)total_ms, "active_ms",
                                  (json_int_t)(total_ms - waits), "pacing_wait_ms", (json_int_t)c->wait_pacing_ms,
                                  "lockout_wait_ms", (json_int_t)c->wait_lockout_ms, "other_wait_ms",
                                  (json_int_t)c->wait_other_ms));
    json_object_set_new(rep, "services", svcs);
    json_object_set(rep, "tls_endpoints", c->tls);
    json_object_set_new(rep, "summary", summary);
    json_object_set_new(rep, "results", results);
    *report_out = rep;
    for (size_t i = 0; i < n; i++) {
        json_decref(res[i].evidence);
        json_decref(res[i].data);
    }
    free(res);
    free(done);
    free(required);
    rc = 0;
out:
    if (c->admin_pw)
        sodium_free(c->admin_pw);
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(c->tmp_pw); i++)
        if (c->tmp_pw[i])
            sodium_free(c->tmp_pw[i]);
    json_decref(c->tls);
    json_decref(c->verdicts);
    sodium_memzero(c, sizeof *c);
    free(c);
    return rc;
}

int check_report_has_mandatory_fail(const json_t *report)
{
    json_t *s = json_object_get(report, "summary");
    return json_integer_value(json_object_get(s, "mandatory_fail")) > 0;
}
