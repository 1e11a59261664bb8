/* http.c — HTTP(S) requests to the audited device with libcurl: no redirects followed, no proxy, only
 * the resolved target address, capped header and body buffers, timings. TLS: verified against the
 * profile's CA file or pinned key, else pinned on first use (the SC-02 certificate), else unverified
 * discovery mode — the mode is recorded in the evidence. Trust level: answers are hostile. */
#include "check_internal.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int check_http_global_init(void)
{
    static int done;
    if (done)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SAFECAM_ERR_INTERNAL;
    done = 1;
    return 0;
}

struct sink {
    char *buf;
    size_t len, cap;
    int truncated;
    const struct sink *hdrs; /* body sink: the header block, to recognise an endless multipart stream */
};

/* An endless multipart/x-mixed-replace answer (MJPEG) is cut after this many body bytes: enough to show
 * the first part's headers and bytes, bounded in time by the first frames. */
#define CHECK_MULTIPART_CUT (16 * 1024)

static size_t sink_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    size_t room = s->cap - 1 - s->len;
    size_t take = n < room ? n : room;
    if (take < n)
        s->truncated = 1;
    memcpy(s->buf + s->len, data, take);
    s->len += take;
    s->buf[s->len] = '\0';
    if (take < n)
        return 0; /* over the cap: stop reading (check_http reports a truncated body) */
    if (s->hdrs != NULL && s->len >= CHECK_MULTIPART_CUT && s->hdrs->buf != NULL &&
        strcasestr(s->hdrs->buf, "multipart/x-mixed-replace") != NULL) {
        s->truncated = 1;
        return 0;
    }
    return n;
}

static size_t hdr_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    /* a new status line starts a new header block (100-continue, proxies) */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        s->len = 0;
        s->buf[0] = '\0';
    }
    return sink_write(data, size, nmemb, ud);
}

void check_http_resp_free(struct check_http_resp *r)
{
    free(r->hdrs);
    free(r->body);
    memset(r, 0, sizeof *r);
}

const char *check_http_tls_mode(const struct check_ctx *c)
{
    const struct check_profile *p = c->prof;
    if (p->tls_cafile[0])
        return "certificate verified against the profile's CA file tls.cafile (chain checked, name not checked)";
    if (p->tls_pinned_pubkey[0])
        return "certificate public key pinned from the profile (tls.pinned_pubkey)";
    if (c->pin[0])
        return "certificate public key pinned on first use (the key SC-02 saw on the web port)";
    return "certificate NOT verified (discovery mode: no tls.cafile, no tls.pinned_pubkey, SC-02 not run)";
}

int check_http(struct check_ctx *c, const struct check_http_req *q, struct check_http_resp *r)
{
    memset(r, 0, sizeof *r);
    if (check_http_global_init() != 0)
        return SAFECAM_ERR_INTERNAL;
    if (q->path == NULL || q->path[0] != '/' || q->port < 1 || q->port > 65535)
        return SAFECAM_ERR_INVAL;
    struct sink hs = {malloc(CHECK_HDRS_MAX), 0, CHECK_HDRS_MAX, 0, NULL};
    size_t bcap = q->body_max > 0 && q->body_max < CHECK_BODY_MAX ? q->body_max + 1 : CHECK_BODY_MAX;
    struct sink bs = {malloc(bcap), 0, bcap, 0, &hs};
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    int rc = SAFECAM_ERR_NOMEM;
    if (hs.buf == NULL || bs.buf == NULL || h == NULL)
        goto out;
    hs.buf[0] = bs.buf[0] = '\0';
    char url[CHECK_PATH + 128];
    if (safecam_fmt(url, sizeof url, "%s://%s:%d%s", q->tls ? "https" : "http", c->url_host, q->port, q->path) != 0) {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    const char *method = q->method ? q->method : "GET";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->opt->timeout_s * 1000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opt->timeout_s * 1000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "qcvn-check/" SAFECAM_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hdr_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hs);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (q->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body_len ? q->body_len : strlen(q->body)));
        char ct[96];
        if (safecam_fmt(ct, sizeof ct, "Content-Type: %s", q->content_type ? q->content_type : "application/json") == 0)
            hl = curl_slist_append(hl, ct);
    }
    hl = curl_slist_append(hl, "Expect:");
    if (q->cookie != NULL)
        curl_easy_setopt(h, CURLOPT_COOKIE, q->cookie);
    if (q->csrf_header != NULL && q->csrf_header[0] && q->csrf != NULL && q->csrf[0]) {
        char line[384];
        if (safecam_fmt(line, sizeof line, "%s: %s", q->csrf_header, q->csrf) == 0)
            hl = curl_slist_append(hl, line);
    }
    if (q->extra_header != NULL)
        hl = curl_slist_append(hl, q->extra_header);
    if (q->basic_user != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, q->basic_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, q->basic_pass ? q->basic_pass : "");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (q->tls) {
        const struct check_profile *p = c->prof;
        if (p->tls_cafile[0]) {
            curl_easy_setopt(h, CURLOPT_CAINFO, p->tls_cafile);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        } else if (p->tls_pinned_pubkey[0] || c->pin[0]) {
            curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, p->tls_pinned_pubkey[0] ? p->tls_pinned_pubkey : c->pin);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        } else {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        IGN_STRLCPY(r->tls_note, check_http_tls_mode(c), sizeof r->tls_note);
    }
    CURLcode cr = curl_easy_perform(h);
    curl_off_t us = 0;
    (void)curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
    r->ms = (int64_t)(us / 1000);
    long st = 0;
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    if ((cr == CURLE_WRITE_ERROR && bs.truncated) || (cr == CURLE_OPERATION_TIMEDOUT && st > 0 && bs.len > 0)) {
        /* an endless or oversized body: the status and the first bytes are the answer */
        bs.truncated = 1;
        IGN_FMT(r->err, sizeof r->err, "body cut after %zu bytes (%s)", bs.len,
                cr == CURLE_WRITE_ERROR ? "endless stream or over the cap" : "still sending at the timeout");
        r->status = st;
        r->ok = 1;
        rc = 0;
    } else if (cr != CURLE_OK) {
        IGN_FMT(r->err, sizeof r->err, "%s", curl_easy_strerror(cr));
        rc = SAFECAM_ERR_IO;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        r->ok = r->status > 0;
        rc = r->ok ? 0 : SAFECAM_ERR_IO;
    }
    r->hdrs = hs.buf;
    r->hdrs_len = hs.len;
    r->body = bs.buf;
    r->body_len = bs.len;
    r->body_truncated = bs.truncated;
    hs.buf = bs.buf = NULL;
out:
    curl_slist_free_all(hl);
    if (h)
        curl_easy_cleanup(h);
    free(hs.buf);
    free(bs.buf);
    return rc;
}

int check_http_header(const struct check_http_resp *r, const char *name, int nth, char *out, size_t out_size)
{
    if (out_size)
        out[0] = '\0';
    if (r->hdrs == NULL)
        return 0;
    size_t nl = strlen(name);
    const char *p = r->hdrs;
    const char *end = r->hdrs + r->hdrs_len;
    int seen = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((eol ? eol : end) - p);
        if (l > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            if (seen == nth) {
                const char *v = p + nl + 1;
                size_t vl = l - nl - 1;
                while (vl > 0 && (*v == ' ' || *v == '\t')) {
                    v++;
                    vl--;
                }
                while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                    vl--;
                check_printable(out, out_size, v, vl);
                return 1;
            }
            seen++;
        }
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return 0;
}

void check_http_evidence(struct check_ctx *c, struct check_result *res, const struct check_http_req *q,
                         const struct check_http_resp *r)
{
    if (res == NULL)
        return;
    const char *scheme = q->tls ? "https" : "http";
    if (q->tls && r->tls_note[0] && (c->tls_note_res != res || strcmp(c->tls_note_last, r->tls_note) != 0)) {
        check_evidence(c, res, "TLS: %s", r->tls_note);
        c->tls_note_res = res;
        IGN_STRLCPY(c->tls_note_last, r->tls_note, sizeof c->tls_note_last);
    }
    if (!r->ok) {
        check_evidence(c, res, "%s %s://%s:%d%s -> no answer (%s)", q->method ? q->method : "GET", scheme,
                       c->url_host, q->port, q->path, r->err[0] ? r->err : "error");
        return;
    }
    check_evidence(c, res, "%s %s://%s:%d%s%s -> %ld (%lld ms)", q->method ? q->method : "GET", scheme, c->url_host,
                   q->port, q->path, q->cookie ? " [session cookie]" : (q->basic_user ? " [Basic auth]" : ""),
                   r->status, (long long)r->ms);
}
