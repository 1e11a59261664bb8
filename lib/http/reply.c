/* reply.c — the web process's answers: JSON, errors, empty, and a descriptor streamed as the body (media
 * feeds), each with the same security headers (HSTS, CSP, frame, sniffing, referrer, cache). Trust level:
 * network-facing; writes only what handlers built from allowlisted fields. QCVN 135 G5, G11 / EN 303
 * 645 5.5, 5.13. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_internal.h"

#define CSP_POLICY                                                                                           \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "                  \
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "                  \
    "form-action 'self'"

#define STREAM_POLL_MS 1000
#define STREAM_IDLE_MAX_MS 15000

void http_security_headers_add(struct MHD_Response *resp, int cacheable)
{
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP_POLICY);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    MHD_add_response_header(resp, "Cache-Control", cacheable ? "no-cache" : "no-store");
}

enum MHD_Result http_reply_queue(struct req *r, unsigned status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    r->answered = 1;
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Send obj (stolen) as JSON with status. headers: NULL or name, value, name, value, ..., NULL (a name may
 * repeat: each pair is one more header line). */
enum MHD_Result http_reply_json_hv(struct req *r, unsigned status, json_t *obj, const char *const *headers)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    for (size_t i = 0; headers && headers[i] && headers[i + 1] && i < 16; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    return http_reply_queue(r, status, resp);
}

/* Send obj (stolen) as JSON with status. extra_name/extra_value: one more header, or NULL. */
enum MHD_Result http_reply_json_h(struct req *r, unsigned status, json_t *obj, const char *extra_name,
                                  const char *extra_value)
{
    const char *const h[] = {extra_name, extra_value, NULL};
    return http_reply_json_hv(r, status, obj, extra_name && extra_value ? h : NULL);
}

enum MHD_Result http_reply_json(struct req *r, unsigned status, json_t *obj)
{
    return http_reply_json_h(r, status, obj, NULL, NULL);
}

enum MHD_Result http_reply_error(struct req *r, unsigned status, const char *code)
{
    return http_reply_json(r, status, json_pack("{s:s}", "error", code));
}

enum MHD_Result http_reply_error_field(struct req *r, unsigned status, const char *code, const char *key,
                                       const char *value)
{
    return http_reply_json(r, status, json_pack("{s:s,s:s}", "error", code, key, value));
}

enum MHD_Result http_reply_empty(struct req *r, unsigned status, const char *extra_name,
                                 const char *extra_value)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    http_security_headers_add(resp, 0);
    if (extra_name && extra_value)
        MHD_add_response_header(resp, extra_name, extra_value);
    return http_reply_queue(r, status, resp);
}

enum MHD_Result http_reply_unavailable(struct req *r)
{
    return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable");
}

struct fd_stream {
    http_server *srv;
    int fd;
    uint64_t max_bytes; /* 0 = unbounded (live) */
};

static ssize_t fd_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct fd_stream *st = cls;
    if (st->max_bytes && pos >= st->max_bytes)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    int waited = 0;
    for (;;) {
        if (atomic_load(&st->srv->stopping))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        struct pollfd pfd = {.fd = st->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, STREAM_POLL_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (pr == 0) {
            waited += STREAM_POLL_MS;
            if (waited >= STREAM_IDLE_MAX_MS)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        ssize_t n = read(st->fd, buf, max);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        return n;
    }
}

static void fd_stream_free(void *cls)
{
    struct fd_stream *st = cls;
    if (st->fd >= 0)
        close(st->fd);
    free(st);
}

enum MHD_Result http_reply_stream(struct req *r, int fd, const char *ctype, uint64_t max_bytes)
{
    struct fd_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        close(fd);
        return MHD_NO;
    }
    st->srv = r->srv;
    st->fd = fd;
    st->max_bytes = max_bytes;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, fd_stream_read, st, fd_stream_free);
    if (!resp) {
        fd_stream_free(st);
        return MHD_NO;
    }
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", ctype);
    return http_reply_queue(r, MHD_HTTP_OK, resp);
}
