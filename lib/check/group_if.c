/* group_if.c — test group IF, interfaces (QCVN 135 G6, EN 303 645 5.6): only the declared ports listen
 * (IF-01), no unauthenticated disclosure (IF-02), caching and framing headers (IF-04).
 * Trust level: every answer is hostile; evidence is printable and capped. */
#include "check_internal.h"

#include <ctype.h>
#include <string.h>

void check_t_if01(struct check_ctx *c, struct check_result *r)
{
    if (!c->prof->services_declared) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The profile declares no services; ask the vendor for the list of ports "
                      "and services, then compare with the SC-01 inventory");
        return;
    }
    int undeclared = 0, missing = 0;
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *p = &c->ports[i];
        if (p->open && !p->declared) {
            undeclared++;
            check_evidence(c, r, "FAIL %s/%d open but not declared (%s %s)", p->udp ? "udp" : "tcp", p->port,
                           check_service_kind_name(p->kind), p->banner);
        } else if (!p->open && p->declared) {
            missing++;
            check_evidence(c, r, "note: %s/%d declared but closed", p->udp ? "udp" : "tcp", p->port);
        } else if (p->open) {
            check_evidence(c, r, "%s/%d open and declared", p->udp ? "udp" : "tcp", p->port);
        }
    }
    check_evidence(c, r, "scope: %d TCP port(s) probed%s%s", c->scan_count, c->scan_all ? " (full range)" : "",
                   c->udp_probed ? ", UDP probes sent" : "");
    if (undeclared)
        check_verdict(r, CHECK_FAIL, "%d undeclared open port(s)", undeclared);
    else if (!c->scan_all)
        check_verdict(r, CHECK_INCONCLUSIVE, "Every open port found is declared, but only %d of 65535 TCP ports were "
                      "probed: an undeclared service elsewhere is not excluded", c->scan_count);
    else
        check_verdict(r, CHECK_PASS, "Every open port found is declared%s", missing ? " (some declared ports are closed)" : "");
}

/* Does text (len bytes) contain the MAC in any usual form or the serial? */
static const char *identifier_in(const struct check_ctx *c, const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return NULL;
    const struct check_profile *p = c->prof;
    if (strlen(p->serial) >= 4 && strcasestr(text, p->serial))
        return "serial number";
    char hex[13] = "";
    size_t h = 0;
    for (const char *m = p->mac; *m && h < 12; m++)
        if (isxdigit((unsigned char)*m))
            hex[h++] = (char)tolower((unsigned char)*m);
    hex[h] = '\0';
    if (h == 12) {
        char colon[18], dash[18];
        IGN_FMT(colon, sizeof colon, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4, hex + 6,
                          hex + 8, hex + 10);
        IGN_FMT(dash, sizeof dash, "%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", hex, hex + 2, hex + 4, hex + 6, hex + 8,
                          hex + 10);
        if (strcasestr(text, hex) || strcasestr(text, colon) || strcasestr(text, dash))
            return "MAC address";
    }
    return NULL;
}

void check_t_if02(struct check_ctx *c, struct check_result *r)
{
    int bad = 0, looked = 0;
    static const char *const leak_hdrs[] = {"Server", "X-Powered-By", "X-AspNet-Version", "X-Generator", "Via"};
    if (c->web_port) {
        const char *paths[] = {"/", "/qcvn-check-no-such-page", c->prof->login_path[0] ? c->prof->login_path : NULL,
                               c->prof->authed_path[0] ? c->prof->authed_path : NULL};
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(paths); i++) {
            if (paths[i] == NULL)
                continue;
            struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = paths[i]};
            struct check_http_resp h;
            check_pace(c);
            if (check_http(c, &q, &h) != 0) {
                check_http_evidence(c, r, &q, &h);
                check_http_resp_free(&h);
                continue;
            }
            looked++;
            check_http_evidence(c, r, &q, &h);
            for (size_t k = 0; k < SAFECAM_ARRAY_LEN(leak_hdrs); k++) {
                char v[200];
                if (!check_http_header(&h, leak_hdrs[k], 0, v, sizeof v))
                    continue;
                int ver = check_banner_has_version(v);
                int always = strcmp(leak_hdrs[k], "X-Powered-By") == 0 || strcmp(leak_hdrs[k], "X-AspNet-Version") == 0;
                check_evidence(c, r, "  %s: %s%s", leak_hdrs[k], v, (ver || always) ? "  <- version/product disclosed" : "");
                if (ver || always)
                    bad++;
            }
            char ct[96], ex[64];
            check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
            if ((ct[0] == '\0' || strcasestr(ct, "text/")) && h.body &&
                check_body_version_find(h.body, h.body_len, ex, sizeof ex)) {
                bad++;
                check_evidence(c, r, "  FAIL the page body discloses a version: \"%s\"", ex);
            }
            const char *what = identifier_in(c, h.hdrs, h.hdrs_len);
            if (what == NULL)
                what = identifier_in(c, h.body, h.body_len);
            if (what) {
                bad++;
                check_evidence(c, r, "  FAIL the unauthenticated answer contains the device %s", what);
            }
            check_http_resp_free(&h);
        }
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        struct check_port *p = &c->ports[i];
        if (!p->open || p->udp)
            continue;
        if (p->kind == CHECK_SVC_RTSP || p->kind == CHECK_SVC_RTSPS) {
            struct check_rtsp_response rr;
            char raw[160];
            if (check_rtsp_options_raw(c, p->port, p->kind == CHECK_SVC_RTSPS, &rr, raw, sizeof raw) == 0) {
                looked++;
                check_evidence(c, r, "OPTIONS %s://%s:%d/ -> %d%s%s", p->kind == CHECK_SVC_RTSPS ? "rtsps" : "rtsp",
                               c->url_host, p->port, rr.status, rr.server[0] ? ", Server: " : "", rr.server);
                if (check_banner_has_version(rr.server)) {
                    bad++;
                    check_evidence(c, r, "  FAIL RTSP Server header discloses a version");
                }
            }
        } else if ((p->kind == CHECK_SVC_FTP || p->kind == CHECK_SVC_TELNET || p->kind == CHECK_SVC_OTHER ||
                    p->kind == CHECK_SVC_SSH) && p->banner[0]) {
            looked++;
            if (check_banner_has_version(p->banner) || identifier_in(c, p->banner, strlen(p->banner))) {
                bad++;
                check_evidence(c, r, "FAIL tcp/%d banner discloses version or identity: %s", p->port, p->banner);
            }
        }
    }
    /* SNMP sysDescr read with community "public" (SC-01's UDP probe) */
    const struct check_port *snmp = check_port_find(c, 161, 1);
    if (snmp != NULL && snmp->open && strncmp(snmp->banner, "SNMP sysDescr: ", 15) == 0) {
        looked++;
        check_evidence(c, r, "udp/161 %s", snmp->banner);
        if (check_banner_has_version(snmp->banner + 15)) {
            bad++;
            check_evidence(c, r, "  FAIL SNMP sysDescr discloses a version without authentication");
        }
    }
    /* the SERVER header of an SSDP answer (SC-01's M-SEARCH) */
    const struct check_port *ssdp = check_port_find(c, 1900, 1);
    if (ssdp != NULL && ssdp->open && strncmp(ssdp->banner, CHECK_SSDP_BANNER, strlen(CHECK_SSDP_BANNER)) == 0) {
        looked++;
        check_evidence(c, r, "udp/1900 %s", ssdp->banner);
        if (check_banner_has_version(ssdp->banner + strlen(CHECK_SSDP_BANNER))) {
            bad++;
            check_evidence(c, r, "  FAIL the SSDP answer's SERVER header discloses a version without authentication");
        }
    }
    if (c->prof->serial[0] == '\0' && c->prof->mac[0] == '\0')
        check_evidence(c, r, "note: no serial/MAC in the profile, identifiers not searched");
    if (looked == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No unauthenticated answer to examine");
    else if (bad)
        check_verdict(r, CHECK_FAIL, "%d unauthenticated disclosure(s) (version banners or device identifiers)", bad);
    else
        check_verdict(r, CHECK_PASS, "No version banner, serial or MAC in %d unauthenticated answer(s)", looked);
}

void check_t_if04(struct check_ctx *c, struct check_result *r)
{
    if (c->web_port == 0) {
        check_absent(c, r, CHECK_FEAT_WEB, "No web surface found");
        return;
    }
    int bad = 0;
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/"};
    struct check_http_resp h;
    check_pace(c);
    if (check_http(c, &q, &h) != 0) {
        check_http_evidence(c, r, &q, &h);
        check_http_resp_free(&h);
        check_verdict(r, CHECK_INCONCLUSIVE, "The web UI did not answer");
        return;
    }
    check_http_evidence(c, r, &q, &h);
    char xfo[128], csp[512], hsts[160];
    check_http_header(&h, "X-Frame-Options", 0, xfo, sizeof xfo);
    check_http_header(&h, "Content-Security-Policy", 0, csp, sizeof csp);
    check_http_header(&h, "Strict-Transport-Security", 0, hsts, sizeof hsts);
    check_evidence(c, r, "  X-Frame-Options: %s", xfo[0] ? xfo : "(absent)");
    check_evidence(c, r, "  Content-Security-Policy: %s", csp[0] ? csp : "(absent)");
    if (!(strcasestr(xfo, "DENY") || strcasestr(xfo, "SAMEORIGIN") || strcasestr(csp, "frame-ancestors"))) {
        bad++;
        check_evidence(c, r, "  FAIL no clickjacking protection (X-Frame-Options or CSP frame-ancestors)");
    }
    if (c->web_tls) {
        check_evidence(c, r, "  Strict-Transport-Security: %s", hsts[0] ? hsts : "(absent)");
        if (!strcasestr(hsts, "max-age=") || strcasestr(hsts, "max-age=0")) {
            bad++;
            check_evidence(c, r, "  FAIL no HSTS");
        }
    } else {
        bad++;
        check_evidence(c, r, "  FAIL the web UI is not served over HTTPS (no HSTS possible)");
    }
    check_http_resp_free(&h);
    if (c->prof->admin.present && c->prof->authed_path[0] && !c->locked) {
        struct check_session s;
        if (check_admin_login(c, r, &s) == 0) {
            struct check_http_resp a;
            if (check_http_session(c, &s, "GET", c->prof->authed_path, NULL, &a) == 0) {
                char cc[160], pragma[64];
                check_http_header(&a, "Cache-Control", 0, cc, sizeof cc);
                check_http_header(&a, "Pragma", 0, pragma, sizeof pragma);
                check_evidence(c, r, "GET %s [session] -> %ld, Cache-Control: %s", c->prof->authed_path, a.status,
                               cc[0] ? cc : "(absent)");
                if (!strcasestr(cc, "no-store")) {
                    bad++;
                    check_evidence(c, r, "  FAIL authenticated answer may be cached (no Cache-Control: no-store)");
                }
            }
            check_http_resp_free(&a);
            (void)check_logout(c, &s);
        } else {
            check_evidence(c, r, "admin login failed: authenticated caching headers not checked");
        }
    } else {
        check_evidence(c, r, "authenticated Cache-Control not checked (needs admin credentials and auth.authenticated_probe)");
    }
    if (bad)
        check_verdict(r, CHECK_FAIL, "%d missing protective header(s)", bad);
    else
        check_verdict(r, CHECK_PASS, "Clickjacking protection, HSTS%s present",
                      c->prof->admin.present ? " and no-store on authenticated answers" : "");
}
