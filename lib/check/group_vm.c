/* group_vm.c — test group VM, vulnerability management (QCVN 135 G2, EN 303 645 5.2): the disclosure
 * policy (VM-01), /.well-known/security.txt (VM-02) and the CSAF 2.0 advisory feed (VM-03): reads
 * https://DEVICE/.well-known/csaf/provider-metadata.json without login on the device's HTTPS port(s), checks
 * its required members, and when a distribution (directory_url or a ROLIE feed) is on the same device and
 * port, one advisory of it.
 * Trust level: every answer is hostile: CSAF bodies capped at CHECK_CSAF_MAX, parsed by lib/check/csaf.c;
 * only the target address is contacted (distributions elsewhere are named in the evidence, not fetched). */
#include "check_internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void check_t_vm02(struct check_ctx *c, struct check_result *r)
{
    if (c->web_port == 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No web surface found to fetch /.well-known/security.txt");
        return;
    }
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/.well-known/security.txt"};
    struct check_http_resp h;
    check_pace(c);
    int rc = check_http(c, &q, &h);
    check_http_evidence(c, r, &q, &h);
    if (rc != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No answer: %s", h.err);
        check_http_resp_free(&h);
        return;
    }
    int contact = 0, policy = 0;
    int64_t expires = 0;
    if (h.status != 200 || check_securitytxt_parse(h.body, h.body_len, &contact, &policy, &expires) != 0) {
        check_verdict(r, CHECK_FAIL, "security.txt not served without login (status %ld)", h.status);
        check_http_resp_free(&h);
        return;
    }
    char ct[96];
    check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
    check_evidence(c, r, "Content-Type: %s; Contact: %s; Policy: %s; Expires: %lld", ct, contact ? "yes" : "NO",
                   policy ? "yes" : "no", (long long)expires);
    int64_t now = safecam_time_now();
    if (!contact)
        check_verdict(r, CHECK_FAIL, "security.txt has no Contact field");
    else if (expires == 0 || expires < now)
        check_verdict(r, CHECK_FAIL, "security.txt has no valid, future Expires field");
    else
        check_verdict(r, CHECK_PASS, "security.txt served without login with Contact and a future Expires%s",
                      policy ? " and a Policy" : "");
    check_http_resp_free(&h);
}

static int policy_text_ok(struct check_ctx *c, struct check_result *r, const char *text, size_t len, const char *src)
{
    (void)len;
    int contact = strstr(text, "@") != NULL || strcasestr(text, "mailto:") != NULL || strcasestr(text, "https://") != NULL;
    int timeline = 0;
    static const char *const units[] = {" day", " ngày", " business day", " working day", " hour", " giờ", " week", " tuần"};
    for (const char *p = text; *p && !timeline; p++) {
        if (!isdigit((unsigned char)*p))
            continue;
        const char *q = p;
        while (isdigit((unsigned char)*q))
            q++;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(units); i++)
            if (strncasecmp(q, units[i], strlen(units[i])) == 0)
                timeline = 1;
        p = q - 1;
    }
    check_evidence(c, r, "%s: contact %s, timelines %s", src, contact ? "found" : "MISSING", timeline ? "found" : "MISSING");
    return contact && timeline;
}

void check_t_vm01(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->doc_policy_file[0]) {
        char *buf = NULL;
        size_t len = 0;
        if (safecam_file_read(p->doc_policy_file, 1024 * 1024, &buf, &len) != 0) {
            check_verdict(r, CHECK_INCONCLUSIVE, "documents.disclosure_policy_file cannot be read: %s", p->doc_policy_file);
            return;
        }
        int ok = policy_text_ok(c, r, buf, len, p->doc_policy_file);
        free(buf);
        if (p->doc_policy_url[0])
            check_evidence(c, r, "published at %s (not fetched: qcvn-check contacts only the target)", p->doc_policy_url);
        if (ok)
            check_verdict(r, CHECK_PASS, "The disclosure policy gives a contact and timelines");
        else
            check_verdict(r, CHECK_FAIL, "The disclosure policy lacks a contact or timelines");
        return;
    }
    /* the device's own copy, when security.txt points to a path on it */
    if (c->web_port) {
        struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/.well-known/security.txt"};
        struct check_http_resp h;
        if (check_http(c, &q, &h) == 0 && h.status == 200 && h.body) {
            char *pol = strcasestr(h.body, "\nPolicy:");
            if (pol) {
                pol += 8;
                while (*pol == ' ')
                    pol++;
                char url[CHECK_PATH];
                size_t l = strcspn(pol, "\r\n");
                if (l < sizeof url) {
                    memcpy(url, pol, l);
                    url[l] = '\0';
                    check_evidence(c, r, "security.txt Policy: %s", url);
                    char prefix[128];
                    IGN_FMT(prefix, sizeof prefix, "%s://%s:%d/", c->web_tls ? "https" : "http", c->url_host,
                                      c->web_port);
                    const char *path = NULL;
                    if (url[0] == '/')
                        path = url;
                    else if (strncmp(url, prefix, strlen(prefix)) == 0)
                        path = url + strlen(prefix) - 1;
                    if (path) {
                        struct check_http_req q2 = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = path};
                        struct check_http_resp h2;
                        if (check_http(c, &q2, &h2) == 0 && h2.status == 200 && h2.body) {
                            check_http_evidence(c, r, &q2, &h2);
                            int ok = policy_text_ok(c, r, h2.body, h2.body_len, path);
                            check_http_resp_free(&h2);
                            check_http_resp_free(&h);
                            if (ok)
                                check_verdict(r, CHECK_PASS, "The disclosure policy (served by the device) gives a contact and timelines");
                            else
                                check_verdict(r, CHECK_FAIL, "The disclosure policy lacks a contact or timelines");
                            return;
                        }
                        check_http_resp_free(&h2);
                    }
                }
            }
        }
        check_http_resp_free(&h);
    }
    check_verdict(r, CHECK_NEEDS_EVIDENCE, "No policy document available to the checker%s%s; ask the vendor for the "
                  "published vulnerability disclosure policy", p->doc_policy_url[0] ? " (declared at " : "",
                  p->doc_policy_url[0] ? p->doc_policy_url : "");
    if (p->doc_policy_url[0])
        IGN_STRLCPY(r->reason + strlen(r->reason), ")", sizeof r->reason - strlen(r->reason));
}

#define CSAF_WELL_KNOWN "/.well-known/csaf/provider-metadata.json"
#define CSAF_MAX_PORTS 4
#define CSAF_ASK "URL of the CSAF advisory feed and one sample advisory"

/* The HTTPS ports to try: the web surface first, then every other open port classified HTTPS. */
static size_t https_ports(const struct check_ctx *c, int *ports, size_t cap)
{
    size_t n = 0;
    if (c->web_port && c->web_tls)
        ports[n++] = c->web_port;
    for (size_t i = 0; i < c->n_ports && n < cap; i++) {
        const struct check_port *p = &c->ports[i];
        if (p->udp || !p->open || p->kind != CHECK_SVC_HTTPS)
            continue;
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= ports[k] == p->port;
        if (!dup)
            ports[n++] = p->port;
    }
    return n;
}

/* The path of url when it names this device on port over HTTPS ("https://HOST[:PORT]/..."); NULL else. */
static const char *path_on_device(const struct check_ctx *c, const char *url, int port)
{
    char pre[128];
    if (safecam_fmt(pre, sizeof pre, "https://%s:%d/", c->url_host, port) == 0 && strncasecmp(url, pre, strlen(pre)) == 0)
        return url + strlen(pre) - 1;
    if (port == 443 && safecam_fmt(pre, sizeof pre, "https://%s/", c->url_host) == 0 &&
        strncasecmp(url, pre, strlen(pre)) == 0)
        return url + strlen(pre) - 1;
    return NULL;
}

/* GET path on port, body capped at CHECK_CSAF_MAX; 0 with h filled (caller frees) when a status arrived. */
static int fetch(struct check_ctx *c, struct check_result *r, int port, const char *path, struct check_http_resp *h)
{
    struct check_http_req q = {.port = port, .tls = 1, .method = "GET", .path = path, .body_max = CHECK_CSAF_MAX};
    check_pace(c);
    int rc = check_http(c, &q, h);
    check_http_evidence(c, r, &q, h);
    return rc;
}

static int looks_like_json(const struct check_http_resp *h)
{
    const char *p = h->body;
    for (size_t i = 0; p != NULL && i < h->body_len; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
            continue;
        return p[i] == '{' || p[i] == '[';
    }
    return 0;
}

/* One advisory of an on-device distribution: 1 checked and valid (verdict not set), 0 verdict set. */
static int check_one_advisory(struct check_ctx *c, struct check_result *r, int port, const struct check_csaf_provider *pm,
                              char *checked, size_t checked_size)
{
    char apath[CHECK_PATH];
    apath[0] = '\0';
    const char *dpath = pm->directory_url[0] ? path_on_device(c, pm->directory_url, port) : NULL;
    const char *fpath = pm->rolie_feed_url[0] ? path_on_device(c, pm->rolie_feed_url, port) : NULL;
    struct check_http_resp h;
    if (dpath != NULL) {
        char ipath[CHECK_PATH];
        size_t dl = strlen(dpath);
        if (safecam_fmt(ipath, sizeof ipath, "%s%sindex.txt", dpath, dl && dpath[dl - 1] == '/' ? "" : "/") != 0) {
            check_verdict(r, CHECK_FAIL, "The CSAF distribution URL is too long: %.200s", pm->directory_url);
            return 0;
        }
        if (fetch(c, r, port, ipath, &h) != 0 || h.status != 200 || h.body_truncated) {
            check_verdict(r, CHECK_FAIL, "The CSAF directory distribution on the device has no readable index.txt (status %ld)",
                          h.status);
            check_http_resp_free(&h);
            return 0;
        }
        char name[CHECK_PATH / 2];
        size_t lines = 0;
        int rc = check_csaf_index_first(h.body, h.body_len, name, sizeof name, &lines);
        check_http_resp_free(&h);
        check_evidence(c, r, "index.txt: %zu line(s)%s%s", lines, rc == 0 ? ", first advisory " : "", rc == 0 ? name : "");
        if (rc != 0 || safecam_fmt(apath, sizeof apath, "%s%s%s", dpath, dl && dpath[dl - 1] == '/' ? "" : "/", name) != 0) {
            check_verdict(r, CHECK_FAIL, "The CSAF directory distribution on the device lists no advisory in index.txt");
            return 0;
        }
    } else if (fpath != NULL) {
        if (fetch(c, r, port, fpath, &h) != 0 || h.status != 200 || h.body_truncated) {
            check_verdict(r, CHECK_FAIL, "The CSAF ROLIE feed on the device is not readable (status %ld)", h.status);
            check_http_resp_free(&h);
            return 0;
        }
        char url[CHECK_PATH];
        size_t entries = 0;
        int rc = check_csaf_rolie_first(h.body, h.body_len, url, sizeof url, &entries);
        check_http_resp_free(&h);
        check_evidence(c, r, "ROLIE feed: %zu entr%s%s%s", entries, entries == 1 ? "y" : "ies",
                       rc == 0 ? ", first advisory " : "", rc == 0 ? url : "");
        const char *p = rc == 0 ? path_on_device(c, url, port) : NULL;
        if (rc != 0) {
            check_verdict(r, CHECK_FAIL, "The CSAF ROLIE feed on the device names no advisory");
            return 0;
        }
        if (p == NULL) {
            check_evidence(c, r, "advisory %s is not on the device (not fetched: qcvn-check contacts only the target)", url);
            IGN_STRLCPY(checked, "", checked_size);
            return 1;
        }
        IGN_STRLCPY(apath, p, sizeof apath);
    }
    if (apath[0] == '\0')
        return 1;
    if (fetch(c, r, port, apath, &h) != 0 || h.status != 200) {
        check_verdict(r, CHECK_FAIL, "The CSAF advisory listed by the device's feed is not readable (status %ld)", h.status);
        check_http_resp_free(&h);
        return 0;
    }
    if (h.body_truncated) {
        check_verdict(r, CHECK_INCONCLUSIVE, "The CSAF advisory is larger than %d bytes: not checked", CHECK_CSAF_MAX);
        check_http_resp_free(&h);
        return 0;
    }
    struct check_csaf_advisory adv;
    char field[64];
    int rc = check_csaf_advisory_parse(h.body, h.body_len, &adv, field, sizeof field);
    check_http_resp_free(&h);
    if (rc != 0) {
        if (strcmp(field, "JSON") == 0)
            check_verdict(r, CHECK_FAIL, "The CSAF advisory %.200s is not a JSON object", apath);
        else
            check_verdict(r, CHECK_FAIL, "The CSAF advisory %.200s has a missing or invalid %s", apath, field);
        return 0;
    }
    check_evidence(c, r, "advisory %s: CSAF 2.0 %s, status %s, version %s, %zu vulnerabilit%s", adv.id, adv.category,
                   adv.status, adv.version, adv.n_vulnerabilities, adv.n_vulnerabilities == 1 ? "y" : "ies");
    IGN_STRLCPY(checked, adv.id, checked_size);
    return 1;
}

/* VM-03 — QCVN 135 G2 / EN 303 645 5.2-2 (TS 103 701 test group 5.2-2): advisories in CSAF 2.0. */
void check_t_vm03(struct check_ctx *c, struct check_result *r)
{
    int ports[CSAF_MAX_PORTS];
    size_t n = https_ports(c, ports, CSAF_MAX_PORTS);
    if (n == 0) {
        if (check_declared_absent(c, CHECK_FEAT_WEB))
            check_absent(c, r, CHECK_FEAT_WEB, "No web surface to serve a CSAF feed");
        else
            check_verdict(r, CHECK_NEEDS_EVIDENCE, "No HTTPS surface found to fetch the CSAF provider metadata; ask the "
                          "vendor for: %s", CSAF_ASK);
        return;
    }
    struct check_http_resp h;
    memset(&h, 0, sizeof h);
    int port = 0, answered = 0;
    long last_status = 0;
    for (size_t i = 0; i < n && port == 0; i++) {
        check_http_resp_free(&h);
        if (fetch(c, r, ports[i], CSAF_WELL_KNOWN, &h) != 0)
            continue;
        answered++;
        last_status = h.status;
        char ct[96];
        check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
        if (h.status == 200 && (looks_like_json(&h) || strcasestr(ct, "json") != NULL))
            port = ports[i];
        else if (h.status == 200)
            check_evidence(c, r, "port %d answers the well-known URL with a page that is not JSON (Content-Type: %s): "
                           "taken as no feed", ports[i], ct);
    }
    if (port == 0) {
        check_http_resp_free(&h);
        if (answered == 0)
            check_verdict(r, CHECK_INCONCLUSIVE, "No answer on the HTTPS port(s) to the CSAF well-known URL");
        else
            check_verdict(r, CHECK_NEEDS_EVIDENCE, "No CSAF feed at the well-known URL %s (status %ld); ask the vendor "
                          "for: %s", CSAF_WELL_KNOWN, last_status, CSAF_ASK);
        return;
    }
    if (h.body_truncated) {
        check_verdict(r, CHECK_INCONCLUSIVE, "The CSAF provider metadata is larger than %d bytes: not checked",
                      CHECK_CSAF_MAX);
        check_http_resp_free(&h);
        return;
    }
    struct check_csaf_provider pm;
    char field[64];
    int rc = check_csaf_provider_parse(h.body, h.body_len, &pm, field, sizeof field);
    check_http_resp_free(&h);
    char url[160];
    IGN_FMT(url, sizeof url, "https://%s:%d%s", c->url_host, port, CSAF_WELL_KNOWN);
    if (rc != 0) {
        if (strcmp(field, "JSON") == 0)
            check_verdict(r, CHECK_FAIL, "The CSAF provider metadata at %s is not a JSON object", url);
        else
            check_verdict(r, CHECK_FAIL, "The CSAF provider metadata at %s has a missing or invalid %s", url, field);
        return;
    }
    check_evidence(c, r, "provider metadata: publisher \"%s\" (%s), role %s, canonical_url %s, %zu distribution(s)",
                   pm.publisher_name, pm.publisher_category, pm.role, pm.canonical_url, pm.n_distributions);
    const char *dist = pm.directory_url[0] ? pm.directory_url : pm.rolie_feed_url;
    int on_device = dist[0] && path_on_device(c, dist, port) != NULL;
    if (dist[0] && !on_device)
        check_evidence(c, r, "distribution %s is not on the device (not fetched: qcvn-check contacts only the target)",
                       dist);
    char checked[CHECK_STR];
    checked[0] = '\0';
    if (on_device && !check_one_advisory(c, r, port, &pm, checked, sizeof checked))
        return;
    r->data = json_pack("{s:s,s:s,s:s,s:I,s:s?,s:s}", "url", url, "publisher", pm.publisher_name, "role", pm.role,
                        "distributions", (json_int_t)pm.n_distributions, "distribution", dist[0] ? dist : NULL,
                        "advisory_checked", checked);
    if (checked[0])
        check_verdict(r, CHECK_PASS, "CSAF 2.0 provider metadata served without login at %s (publisher %s); advisory %s "
                      "checked as CSAF 2.0", url, pm.publisher_name, checked);
    else
        check_verdict(r, CHECK_PASS, "CSAF 2.0 provider metadata served without login at %s (publisher %s, %zu "
                      "distribution(s) not on the device: no advisory fetched)", url, pm.publisher_name,
                      pm.n_distributions);
}
