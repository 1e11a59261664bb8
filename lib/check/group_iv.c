/* group_iv.c — test group IV, input validation (QCVN 135 G11, EN 303 645 5.13-1): malformed HTTP
 * (IV-01) and RTSP (IV-02) requests, each followed by a liveness check.
 * Trust level: every answer is hostile; evidence is printable and capped. */
#include "check_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct raw_case {
    const char *name;
    char *data;
    size_t len;
};

static char *fill(size_t n, char ch)
{
    char *s = malloc(n + 1);
    if (s) {
        memset(s, ch, n);
        s[n] = '\0';
    }
    return s;
}

static char *cat3(const char *a, const char *b, const char *cc)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(cc);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, cc, lc + 1);
    }
    return s;
}

static int http_alive(struct check_ctx *c, struct check_result *r)
{
    for (int i = 0; i < 3; i++) {
        struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/"};
        struct check_http_resp h;
        int rc = check_http(c, &q, &h);
        if (rc == 0) {
            check_evidence(c, r, "liveness: GET / -> %ld (%lld ms)", h.status, (long long)h.ms);
            check_http_resp_free(&h);
            return 1;
        }
        check_http_resp_free(&h);
        check_sleep_ms(1000, &c->wait_other_ms);
    }
    check_evidence(c, r, "liveness: GET / -> no answer after 3 tries");
    return 0;
}

void check_t_iv01(struct check_ctx *c, struct check_result *r)
{
    if (c->web_port == 0) {
        check_absent(c, r, CHECK_FEAT_WEB, "No web surface found");
        return;
    }
    const char *login = c->prof->login_path[0] ? c->prof->login_path : "/";
    char *longurl = fill(16000, 'A'), *longhdr = fill(16000, 'B'), *many = NULL;
    char *nest = fill(20000, '[');
    struct raw_case cs[16];
    size_t n = 0;
    char tmp[1024];
    if (longurl == NULL || longhdr == NULL || nest == NULL)
        goto out;
    many = malloc(200 * 16 + 64);
    if (many == NULL)
        goto out;
    many[0] = '\0';
    {
        size_t off = 0;
        off += (size_t)snprintf(many + off, 64, "GET / HTTP/1.1\r\nHost: %s\r\n", "device");
        for (int i = 0; i < 200; i++)
            off += (size_t)snprintf(many + off, 16, "X-Q%d: a\r\n", i);
        memcpy(many + off, "\r\n", 3);
    }
#define CASE(nm, str)                                                                                                \
    do {                                                                                                             \
        cs[n].name = nm;                                                                                             \
        cs[n].data = str;                                                                                            \
        cs[n].len = cs[n].data ? strlen(cs[n].data) : 0;                                                             \
        n++;                                                                                                         \
    } while (0)
    CASE("request line of 16 KiB", cat3("GET /", longurl, " HTTP/1.1\r\nHost: device\r\n\r\n"));
    CASE("header value of 16 KiB", cat3("GET / HTTP/1.1\r\nHost: device\r\nX-Long: ", longhdr, "\r\n\r\n"));
    CASE("200 header lines", cat3(many, "", ""));
    CASE("control byte in the method", cat3("G\001T / HTTP/1.1\r\nHost: device\r\n\r\n", "", ""));
    CASE("unknown HTTP version", cat3("GET / HTTP/9.9\r\nHost: device\r\n\r\n", "", ""));
    CASE("header line without colon", cat3("GET / HTTP/1.1\r\nHost: device\r\nBadHeaderLine\r\n\r\n", "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: -1\r\n\r\n", login);
    CASE("negative Content-Length", cat3(tmp, "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: 99999999999999\r\n\r\n{", login);
    CASE("absurd Content-Length", cat3(tmp, "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", login);
    CASE("absurd chunk size", cat3(tmp, "", ""));
    CASE("encoded traversal", cat3("GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: device\r\n\r\n", "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: 20000\r\n\r\n", login);
    CASE("JSON nested 20000 deep", cat3(tmp, nest, ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: 12\r\n\r\n{\"username\":", login);
    CASE("truncated JSON", cat3(tmp, "", ""));
    CASE("binary garbage", cat3("\x16\x03\x01\x7f\x7f\r\n\r\n\x80\x81\x82\r\n\r\n", "", ""));
#undef CASE
    {
        int bad = 0, dead = 0;
        for (size_t i = 0; i < n; i++) {
            if (cs[i].data == NULL)
                continue;
            char first[160];
            int64_t ms = 0;
            check_pace(c);
            (void)check_raw_exchange(c, c->web_port, c->web_tls, cs[i].data, cs[i].len, first, sizeof first, &ms);
            int st = check_raw_status(first, "HTTP/");
            check_evidence(c, r, "%s -> %s (%lld ms)", cs[i].name, first, (long long)ms);
            if (st >= 500 && st != 501 && st != 505) { /* 501/505: the RFC answers to an unknown method/version */
                bad++;
                check_evidence(c, r, "  FAIL server error instead of a clear 4xx");
            }
            if (strstr(first, "root:") != NULL) {
                bad++;
                check_evidence(c, r, "  FAIL file content disclosed");
            }
        }
        if (!http_alive(c, r))
            dead = 1;
        if (dead)
            check_verdict(r, CHECK_FAIL, "The web service stopped answering after malformed requests");
        else if (bad)
            check_verdict(r, CHECK_FAIL, "%d malformed request(s) got a server error or leaked data", bad);
        else
            check_verdict(r, CHECK_PASS, "%zu malformed requests refused or closed; the device still answers", n);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(cs[i].data);
    free(longurl);
    free(longhdr);
    free(many);
    free(nest);
    if (n == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
}

void check_t_iv02(struct check_ctx *c, struct check_result *r)
{
    int endpoints = 0, dead = 0;
    char *longurl = fill(16000, 'A'), *longhdr = fill(16000, 'B');
    if (longurl == NULL || longhdr == NULL) {
        free(longurl);
        free(longhdr);
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
        return;
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *pt = &c->ports[i];
        if (!pt->open || pt->udp || (pt->kind != CHECK_SVC_RTSP && pt->kind != CHECK_SVC_RTSPS))
            continue;
        int tls = pt->kind == CHECK_SVC_RTSPS;
        endpoints++;
        char base[128], tmp[1024];
        IGN_FMT(base, sizeof base, "rtsp://%s:%d", c->url_host, pt->port);
        const char *path = c->prof->n_rtsp_paths ? c->prof->rtsp_paths[0] : "/stream1";
        struct raw_case cs[10];
        size_t n = 0;
#define CASE(nm, str)                                                                                                \
    do {                                                                                                             \
        cs[n].name = nm;                                                                                             \
        cs[n].data = str;                                                                                            \
        cs[n].len = cs[n].data ? strlen(cs[n].data) : 0;                                                             \
        n++;                                                                                                         \
    } while (0)
        IGN_FMT(tmp, sizeof tmp, "DESCRIBE %s/", base);
        CASE("URL of 16 KiB", cat3(tmp, longurl, " RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
        IGN_FMT(tmp, sizeof tmp, "OPTIONS %s/ RTSP/1.0\r\nCSeq: 99999999999999999999999999\r\n\r\n", base);
        CASE("huge CSeq", cat3(tmp, "", ""));
        IGN_FMT(tmp, sizeof tmp, "OPTIONS %s/ RTSP/1.0\r\nCSeq: 3\r\nX-Long: ", base);
        CASE("header value of 16 KiB", cat3(tmp, longhdr, "\r\n\r\n"));
        {
            char *many = malloc(300 * 16 + 256);
            if (many) {
                size_t off = (size_t)snprintf(many, 256, "OPTIONS %s/ RTSP/1.0\r\nCSeq: 4\r\n", base);
                for (int k = 0; k < 300; k++)
                    off += (size_t)snprintf(many + off, 16, "X-R%d: a\r\n", k);
                memcpy(many + off, "\r\n", 3);
            }
            CASE("300 header lines", many);
        }
        IGN_FMT(tmp, sizeof tmp, "SETUP %s%s/trackID=0 RTSP/1.0\r\nCSeq: 5\r\nTransport: ;;;,,RTP/AVP;"
                          "unicast;client_port=99999-0;interleaved=999-\r\n\r\n", base, path);
        CASE("malformed Transport", cat3(tmp, "", ""));
        IGN_FMT(tmp, sizeof tmp, "PLAY %s%s RTSP/1.0\r\nCSeq: 6\r\nSession: ;;;timeout=-1;\x01\r\n"
                          "Range: npt=-5-abc\r\n\r\n", base, path);
        CASE("malformed Session and Range", cat3(tmp, "", ""));
        CASE("bad version", cat3("OPTIONS * RTSP/9.9\r\nCSeq: 7\r\n\r\n", "", ""));
        CASE("binary garbage", cat3("\x01\x02\x03\x04 RTSP/1.0\r\n\r\n", "", ""));
        IGN_FMT(tmp, sizeof tmp, "GET_PARAMETER %s%s RTSP/1.0\r\nCSeq: 8\r\nContent-Length: 99999999999\r\n\r\nx",
                          base, path);
        CASE("absurd Content-Length", cat3(tmp, "", ""));
#undef CASE
        for (size_t k = 0; k < n; k++) {
            if (cs[k].data == NULL)
                continue;
            char first[160];
            int64_t ms = 0;
            check_pace(c);
            (void)check_raw_exchange(c, pt->port, tls, cs[k].data, cs[k].len, first, sizeof first, &ms);
            check_evidence(c, r, "tcp/%d %s -> %s (%lld ms)", pt->port, cs[k].name, first, (long long)ms);
            free(cs[k].data);
        }
        int alive = 0;
        for (int t = 0; t < 3 && !alive; t++) {
            struct check_rtsp_response rr;
            char raw[160];
            if (check_rtsp_options_raw(c, pt->port, tls, &rr, raw, sizeof raw) == 0) {
                alive = 1;
                check_evidence(c, r, "liveness tcp/%d: OPTIONS -> %d", pt->port, rr.status);
            } else {
                check_sleep_ms(1000, &c->wait_other_ms);
            }
        }
        if (!alive) {
            dead++;
            check_evidence(c, r, "FAIL tcp/%d: RTSP service no longer answers OPTIONS", pt->port);
        }
    }
    free(longurl);
    free(longhdr);
    if (endpoints == 0)
        check_absent(c, r, CHECK_FEAT_RTSP, "No RTSP endpoint found");
    else if (dead)
        check_verdict(r, CHECK_FAIL, "%d RTSP endpoint(s) stopped answering after malformed requests", dead);
    else
        check_verdict(r, CHECK_PASS, "%d RTSP endpoint(s) survived malformed requests and still answer", endpoints);
}
