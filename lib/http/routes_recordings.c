/* routes_recordings.c — recordings: the list by time, playback/download of one segment with HTTP Range, and
 * deletion of a selection or a time range. The sealed segment comes from the media process as a descriptor
 * and goes to the vault, which decrypts it into a memfd: this process never holds the storage key or a
 * segment key. Trust level: network-facing. QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "safecam/core.h"
#include "safecam/ipc_client.h"
#include "safecam/media_client.h"
#include "safecam/mp4frag.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

#define REC_TIME_MAX_S 253402300799LL /* 9999-12-31 */

static int rec_id_valid(const char *id)
{
    if (!id || strnlen(id, 33) != 32)
        return 0;
    for (size_t i = 0; i < 32; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

/* A Unix time in seconds from the query (absent: def). -1 on junk. */
static int query_time(struct req *r, const char *key, long long def, long long *out)
{
    const char *v = http_query_get(&r->query, key);
    long n = 0;
    if (!v) {
        *out = def;
        return 0;
    }
    if (safecam_parse_long(v, 0, (long)REC_TIME_MAX_S, &n) != 0)
        return -1;
    *out = n;
    return 0;
}

static int media_call(struct req *r, uint16_t type, json_t *body, json_t **reply, int *fd_out, json_t **refusal)
{
    int rc = body ? ipc_client_request(r->srv->media, type, body, -1, MEDIA_CLIENT_TIMEOUT_MS, reply, fd_out, refusal)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    return rc;
}

/* GET /api/v1/recordings?from=&to=&event= (Unix seconds; default the last 24 h): segments overlapping [from, to);
 * event=motion: motion segments only (any other value: 400 invalid_event). */
static enum MHD_Result h_recordings_list(struct req *r)
{
    long long now = safecam_time_now(), from = 0, to = 0;
    if (query_time(r, "to", now + 60, &to) != 0 || query_time(r, "from", to > 86400 ? to - 86400 : 0, &from) != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_time");
    if (from >= to)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_time");
    const char *event = http_query_get(&r->query, "event");
    if (event && strcmp(event, "motion") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_event");
    json_t *q = json_pack("{s:I,s:I}", "from_ms", (json_int_t)(from * 1000), "to_ms", (json_int_t)(to * 1000));
    if (q && event)
        json_object_set_new(q, "event", json_string("motion"));
    json_t *reply = NULL, *refusal = NULL;
    int rc = media_call(r, PROTO_MEDIA_RECORDING_LIST, q, &reply, NULL, &refusal);
    enum MHD_Result ret;
    if (rc != 0 || refusal) {
        ret = http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
    } else {
        /* allowlisted fields only */
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(reply, "recordings"), i, v) {
            const char *id = json_string_value(json_object_get(v, "id"));
            json_t *s = json_object_get(v, "start_ms"), *e = json_object_get(v, "end_ms"),
                   *b = json_object_get(v, "bytes"), *c = json_object_get(v, "complete"),
                   *ev = json_object_get(v, "event");
            int motion = json_is_string(ev) && strcmp(json_string_value(ev), "motion") == 0;
            if (!rec_id_valid(id) || !json_is_integer(s) || !json_is_integer(e) || !json_is_integer(b) ||
                !json_is_boolean(c))
                continue;
            json_array_append_new(out, json_pack("{s:s,s:I,s:I,s:I,s:O,s:o}", "id", id, "start_ms",
                                                 json_integer_value(s), "end_ms", json_integer_value(e), "bytes",
                                                 json_integer_value(b), "complete", c, "event",
                                                 motion ? json_string("motion") : json_null()));
        }
        json_t *body = json_pack("{s:o,s:I,s:I}", "recordings", out, "from", (json_int_t)from, "to", (json_int_t)to);
        json_t *next = json_object_get(reply, "next_from");
        if (body && json_is_integer(next))
            json_object_set_new(body, "next_from", json_integer(json_integer_value(next) / 1000));
        ret = http_reply_json(r, MHD_HTTP_OK, body);
    }
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" against size. 1: one satisfiable range in [*first, *last]; 0: no usable
 * Range (serve the whole); -1: unsatisfiable (416). Several ranges are answered whole (RFC 9110 allows it). */
int http_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last);
int http_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!h || strncmp(h, "bytes=", 6) != 0)
        return 0;
    const char *p = h + 6;
    if (strchr(p, ','))
        return 0;
    const char *dash = strchr(p, '-');
    if (!dash)
        return 0;
    char a[21] = "", b[21] = "";
    size_t al = (size_t)(dash - p), bl = strlen(dash + 1);
    if (al > 20 || bl > 20 || (al == 0 && bl == 0))
        return 0;
    memcpy(a, p, al);
    memcpy(b, dash + 1, bl);
    for (size_t i = 0; i < al; i++)
        if (a[i] < '0' || a[i] > '9')
            return 0;
    for (size_t i = 0; i < bl; i++)
        if (b[i] < '0' || b[i] > '9')
            return 0;
    unsigned long long x = al ? strtoull(a, NULL, 10) : 0, y = bl ? strtoull(b, NULL, 10) : 0;
    if (size == 0)
        return -1;
    if (al == 0) { /* suffix */
        if (y == 0)
            return -1;
        *first = y >= size ? 0 : size - y;
        *last = size - 1;
        return 1;
    }
    if (x >= size)
        return -1;
    if (bl && y < x)
        return 0;
    *first = x;
    *last = bl && y < size - 1 ? y : size - 1;
    return 1;
}

/* ---- The last segment played, kept decrypted for a moment ----
 * A browser that plays and seeks sends one Range request per seek. Without this each one had media hand over
 * the sealed file and the vault decrypt the whole segment again (about 15 MB for 60 s at 2 Mbit/s, in the
 * vault's loop, where logins wait). One entry: the segment, the session it was decrypted for (a BLAKE2b hash
 * of its id, never the id itself) and a memfd, for PLAYBACK_CACHE_S after the last use. Another session or
 * another segment replaces it; any deletion drops it. Memory: at most one segment (64 MiB cap by the vault). */
#define PLAYBACK_CACHE_S 30

static struct {
    pthread_mutex_t lock;
    char id[64];
    unsigned char session[crypto_generichash_BYTES];
    int fd;
    time_t until;
} playback_cache = {PTHREAD_MUTEX_INITIALIZER, "", {0}, -1, 0};

static time_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void session_hash(const char *session_id, unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)(session_id ? session_id : ""),
                       session_id ? strlen(session_id) : 0, NULL, 0);
}

/* Drop the cached segment (any deletion, or a replacement). */
static void playback_cache_drop(void)
{
    pthread_mutex_lock(&playback_cache.lock);
    if (playback_cache.fd >= 0)
        close(playback_cache.fd);
    playback_cache.fd = -1;
    playback_cache.id[0] = '\0';
    sodium_memzero(playback_cache.session, sizeof playback_cache.session);
    pthread_mutex_unlock(&playback_cache.lock);
}

/* A descriptor of its own (own file offset: responses run side by side) on the cached clear segment `id` for
 * this session, or -1. */
static int playback_cache_open(const char *session_id, const char *id)
{
    unsigned char h[crypto_generichash_BYTES];
    session_hash(session_id, h);
    int fd = -1;
    pthread_mutex_lock(&playback_cache.lock);
    time_t now = mono_s();
    if (playback_cache.fd >= 0 && now > playback_cache.until) {
        close(playback_cache.fd);
        playback_cache.fd = -1;
        playback_cache.id[0] = '\0';
    }
    if (playback_cache.fd >= 0 && strcmp(playback_cache.id, id) == 0 &&
        sodium_memcmp(playback_cache.session, h, sizeof h) == 0) {
        char path[64];
        if (safecam_fmt(path, sizeof path, "/proc/self/fd/%d", playback_cache.fd) == 0)
            fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            playback_cache.until = now + PLAYBACK_CACHE_S;
    }
    pthread_mutex_unlock(&playback_cache.lock);
    return fd;
}

/* Keep a copy of `fd` (the clear segment `id` decrypted for this session). Best effort. */
static void playback_cache_put(const char *session_id, const char *id, int fd)
{
    char path[64];
    int own = safecam_fmt(path, sizeof path, "/proc/self/fd/%d", fd) == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (own < 0)
        return;
    pthread_mutex_lock(&playback_cache.lock);
    if (playback_cache.fd >= 0)
        close(playback_cache.fd);
    playback_cache.fd = own;
    if (safecam_strlcpy(playback_cache.id, id, sizeof playback_cache.id) != 0) {
        close(own);
        playback_cache.fd = -1;
        playback_cache.id[0] = '\0';
    }
    session_hash(session_id, playback_cache.session);
    playback_cache.until = mono_s() + PLAYBACK_CACHE_S;
    pthread_mutex_unlock(&playback_cache.lock);
}

/* GET /api/v1/recordings/{id}: the clear MP4 of one segment, decrypted by the vault, with Range. */
static enum MHD_Result h_recording_get(struct req *r)
{
    if (!rec_id_valid(r->param))
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    json_t *reply = NULL, *refusal = NULL;
    int sealed = -1, clear = playback_cache_open(r->session_id, r->param);
    enum MHD_Result ret;
    if (clear >= 0)
        goto serve;
    int rc = media_call(r, PROTO_MEDIA_RECORDING_FD, json_pack("{s:s}", "id", r->param), &reply, &sealed, &refusal);
    if (rc != 0 || (refusal && !json_object_get(refusal, "error"))) {
        ret = http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
        goto out;
    }
    if (refusal) {
        const char *e = json_string_value(json_object_get(refusal, "error"));
        ret = e && strcmp(e, "not_found") == 0 ? http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found")
                                               : http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
        goto out;
    }
    json_decref(reply);
    reply = NULL;
    json_t *fields = json_pack("{s:s}", "id", r->param);
    rc = fields ? vault_client_capture_call(r->srv->vault, PROTO_VAULT_RECORDING_OPEN, r->session_id, NULL, NULL, fields,
                                            sealed, &reply, &clear, &refusal)
                : SAFECAM_ERR_NOMEM;
    json_decref(fields);
    close(sealed);
    sealed = -1;
    if (rc != 0) {
        ret = http_reply_unavailable(r);
        goto out;
    }
    if (refusal) {
        const char *e = json_string_value(json_object_get(refusal, "error"));
        if (e && strcmp(e, "sealed_mismatch") == 0) {
            ret = http_reply_error(r, 422, "recording_damaged"); /* the vault logged it */
        } else {
            ret = http_reply_refusal(r, refusal);
        }
        goto out;
    }
    struct stat sb;
    json_t *jsize = json_object_get(reply, "size");
    if (clear < 0 || fstat(clear, &sb) != 0 || !S_ISREG(sb.st_mode) || !json_is_integer(jsize) ||
        json_integer_value(jsize) != (json_int_t)sb.st_size) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        goto out;
    }
    playback_cache_put(r->session_id, r->param, clear);
serve:
    if (fstat(clear, &sb) != 0) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size, first = 0, last = size ? size - 1 : 0;
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    int pr = http_range_parse(range, size, &first, &last);
    char cr[96], disp[96];
    if (safecam_fmt(disp, sizeof disp, "inline; filename=\"recording-%s.mp4\"", r->param) != 0)
        disp[0] = '\0';
    if (pr < 0) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (resp) {
            http_security_headers_add(resp, 0);
            if (safecam_fmt(cr, sizeof cr, "bytes */%" PRIu64, size) == 0)
                MHD_add_response_header(resp, "Content-Range", cr);
        }
        ret = http_reply_queue(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
        goto out;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_fd_at_offset64(pr > 0 ? last - first + 1 : size, clear, pr > 0 ? first : 0);
    clear = -1; /* the response owns it */
    if (resp) {
        http_security_headers_add(resp, 0);
        MHD_add_response_header(resp, "Content-Type", "video/mp4");
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
        if (disp[0])
            MHD_add_response_header(resp, "Content-Disposition", disp);
        if (pr > 0 && safecam_fmt(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size) == 0)
            MHD_add_response_header(resp, "Content-Range", cr);
    }
    ret = http_reply_queue(r, pr > 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
out:
    if (sealed >= 0)
        close(sealed);
    if (clear >= 0)
        close(clear);
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

/* DELETE /api/v1/recordings {"confirm":true, "ids":[...]} or {"confirm":true, "from":S, "to":S} (admin). */
static enum MHD_Result h_recordings_delete(struct req *r)
{
    playback_cache_drop(); /* a deleted segment is never served from memory */
    /* The open schema of http_json_body_parse takes scalars only; this body has an array of ids: strict jansson
     * (no duplicate keys, valid UTF-8, no NUL), bounded by the route's body_max at the gate. */
    json_error_t jerr;
    json_t *in = json_loadb(safecam_buf_str(&r->body), r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(in)) {
        json_decref(in);
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_json");
    }
    enum MHD_Result ret;
    json_t *ids = json_object_get(in, "ids"), *from = json_object_get(in, "from"), *to = json_object_get(in, "to");
    json_t *body = NULL;
    if (!json_is_true(json_object_get(in, "confirm"))) {
        ret = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "confirmation_required");
        goto out;
    }
    if (ids && !from && !to && json_object_size(in) == 2 && json_is_array(ids) && json_array_size(ids) >= 1 &&
        json_array_size(ids) <= 1000) {
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) if (!rec_id_valid(json_string_value(v))) {
            ret = http_reply_error_field(r, 422, "invalid_field", "field", "ids");
            goto out;
        }
        body = json_pack("{s:O}", "ids", ids);
    } else if (!ids && json_object_size(in) == 3 && json_is_integer(from) && json_is_integer(to) &&
               json_integer_value(from) >= 0 && json_integer_value(to) <= REC_TIME_MAX_S &&
               json_integer_value(from) < json_integer_value(to)) {
        body = json_pack("{s:I,s:I}", "from_ms", json_integer_value(from) * 1000, "to_ms", json_integer_value(to) * 1000);
    } else {
        ret = http_reply_error_field(r, 422, "invalid_field", "field", ids ? "ids" : "from");
        goto out;
    }
    json_t *reply = NULL, *refusal = NULL;
    int rc = media_call(r, PROTO_MEDIA_RECORDING_DELETE, body, &reply, NULL, &refusal);
    if (rc != 0 || refusal) {
        ret = http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
    } else {
        json_t *d = json_object_get(reply, "deleted"), *f = json_object_get(reply, "failed");
        char detail[128];
        if (safecam_fmt(detail, sizeof detail, "recordings: %zu deleted, %zu could not be", json_array_size(d),
                        json_array_size(f)) != 0)
            detail[0] = '\0';
        http_audit_record(r, "data_delete", detail);
        ret = http_reply_json(r, MHD_HTTP_OK,
                              json_pack("{s:O,s:O,s:I}", "deleted", json_is_array(d) ? d : json_array(), "failed",
                                        json_is_array(f) ? f : json_array(), "count", (json_int_t)json_array_size(d)));
    }
    json_decref(reply);
    json_decref(refusal);
out:
    json_decref(in);
    return ret;
}


/* ---- GET /api/v1/recordings/export?from=&to= : the segments overlapping a range as one MP4 ---- */

#define EXPORT_RANGE_MAX_S 3600   /* one hour */
#define EXPORT_SEGMENTS_MAX 1000  /* one list answer */
#define EXPORT_RUNNING_MAX 2      /* exports at once (each holds the vault for one decryption at a time) */

static atomic_int exports_running;

/* One segment's clear MP4: media gives the sealed file, the vault decrypts it into a memfd (*clear_out).
 * 0, or an HTTP status with *code the stable error code. */
static unsigned export_segment_open(http_server *srv, const char *session_id, const char *id, int *clear_out,
                                    const char **code)
{
    json_t *reply = NULL, *refusal = NULL, *body = json_pack("{s:s}", "id", id);
    int sealed = -1, clear = -1;
    unsigned status = 0;
    *clear_out = -1;
    int rc = body ? ipc_client_request(srv->media, PROTO_MEDIA_RECORDING_FD, body, -1, MEDIA_CLIENT_TIMEOUT_MS, &reply,
                                       &sealed, &refusal)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0 || refusal) {
        const char *e = json_string_value(json_object_get(refusal, "error"));
        status = e && strcmp(e, "not_found") == 0 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_SERVICE_UNAVAILABLE;
        *code = status == MHD_HTTP_NOT_FOUND ? "not_found" : "media_unavailable";
        goto out;
    }
    json_decref(reply);
    reply = NULL;
    json_t *fields = json_pack("{s:s}", "id", id);
    rc = fields ? vault_client_capture_call(srv->vault, PROTO_VAULT_RECORDING_OPEN, session_id, NULL, NULL, fields,
                                            sealed, &reply, &clear, &refusal)
                : SAFECAM_ERR_NOMEM;
    json_decref(fields);
    if (rc != 0 || refusal) {
        const char *e = json_string_value(json_object_get(refusal, "error"));
        if (rc == 0 && e && strcmp(e, "sealed_mismatch") == 0)
            status = 422, *code = "recording_damaged";
        else if (rc == 0 && e && strcmp(e, "no_session") == 0)
            status = MHD_HTTP_UNAUTHORIZED, *code = "unauthorized";
        else
            status = MHD_HTTP_SERVICE_UNAVAILABLE, *code = "unavailable";
        goto out;
    }
    struct stat sb;
    if (clear < 0 || fstat(clear, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR, *code = "internal";
        goto out;
    }
    *clear_out = clear;
    clear = -1;
out:
    if (sealed >= 0)
        close(sealed);
    if (clear >= 0)
        close(clear);
    json_decref(reply);
    json_decref(refusal);
    return status;
}

struct export_stream {
    http_server *srv;
    char session_id[HTTP_TOKEN_HEX_BYTES + 1];
    json_t *ids;  /* the segment ids, oldest first */
    size_t next;  /* the next to open */
    int fd;       /* the current segment's clear MP4 */
    mp4frag_joiner *j;
};

static void export_stream_free(void *cls)
{
    struct export_stream *st = cls;
    if (!st)
        return;
    if (st->fd >= 0)
        close(st->fd);
    mp4frag_joiner_free(st->j);
    json_decref(st->ids);
    sodium_memzero(st->session_id, sizeof st->session_id);
    free(st);
    atomic_fetch_sub(&exports_running, 1);
}

/* Open the next segment into the joiner. 0, or an HTTP status with *code. */
static unsigned export_next(struct export_stream *st, const char **code)
{
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    const char *id = json_string_value(json_array_get(st->ids, st->next++));
    unsigned status = export_segment_open(st->srv, st->session_id, id ? id : "", &st->fd, code);
    if (status)
        return status;
    int rc = mp4frag_joiner_segment(st->j, st->fd);
    if (rc == MP4FRAG_ERR_INIT_DIFFERS) {
        *code = "recording_format_changed";
        return MHD_HTTP_CONFLICT;
    }
    if (rc != 0) {
        *code = rc == SAFECAM_ERR_IO ? "internal" : "recording_damaged";
        return rc == SAFECAM_ERR_IO ? MHD_HTTP_INTERNAL_SERVER_ERROR : 422;
    }
    return 0;
}

/* The whole range without copying a byte of video: every init is compared with the first, every moof
 * parsed and rewritten, so what the client is told before the first byte (200, or 409/422) holds. */
static unsigned export_check(struct export_stream *st, uint64_t *total, const char **code)
{
    uint8_t scratch[16 * 1024];
    unsigned status = 0;
    for (size_t i = 0; i < json_array_size(st->ids); i++) {
        status = export_next(st, code);
        if (status)
            return status;
        ssize_t n;
        while ((n = mp4frag_joiner_read(st->j, scratch, sizeof scratch)) > 0)
            ;
        if (n < 0) {
            *code = n == SAFECAM_ERR_IO ? "internal" : "recording_damaged";
            return n == SAFECAM_ERR_IO ? MHD_HTTP_INTERNAL_SERVER_ERROR : 422;
        }
    }
    *total = mp4frag_joiner_duration(st->j);
    return mp4frag_joiner_fragments(st->j) ? 0 : (*code = "not_found", MHD_HTTP_NOT_FOUND);
}

static ssize_t export_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct export_stream *st = cls;
    (void)pos;
    /* one turn per segment at most: each either gives bytes, ends the stream or moves to the next */
    for (size_t turns = 0; turns <= json_array_size(st->ids); turns++) {
        if (atomic_load(&st->srv->stopping))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        ssize_t n = mp4frag_joiner_read(st->j, (uint8_t *)buf, max);
        if (n > 0)
            return n;
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (st->next >= json_array_size(st->ids))
            return MHD_CONTENT_READER_END_OF_STREAM;
        const char *code = NULL;
        if (export_next(st, &code) != 0) /* deleted or changed since the check: the download ends broken */
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result h_recordings_export(struct req *r)
{
    long long from = -1, to = -1;
    if (query_time(r, "from", -1, &from) != 0 || query_time(r, "to", -1, &to) != 0 || from < 0 || to < 0 ||
        from >= to)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_time");
    if (to - from > EXPORT_RANGE_MAX_S)
        return http_reply_error_field(r, 422, "range_too_long", "field", "to");
    json_t *reply = NULL, *refusal = NULL;
    int rc = media_call(r, PROTO_MEDIA_RECORDING_LIST,
                        json_pack("{s:I,s:I}", "from_ms", (json_int_t)(from * 1000), "to_ms", (json_int_t)(to * 1000)),
                        &reply, NULL, &refusal);
    if (rc != 0 || refusal) {
        json_decref(reply);
        json_decref(refusal);
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
    }
    json_t *ids = json_array(), *list = json_object_get(reply, "recordings");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (rec_id_valid(id))
            json_array_append_new(ids, json_string(id));
    }
    int more = json_is_integer(json_object_get(reply, "next_from"));
    size_t listed = json_array_size(list);
    json_decref(reply); /* list belonged to it */
    if (!ids || json_array_size(ids) != listed) {
        json_decref(ids);
        return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    }
    if (more || json_array_size(ids) > EXPORT_SEGMENTS_MAX) {
        json_decref(ids);
        return http_reply_error_field(r, 422, "range_too_long", "field", "to");
    }
    if (json_array_size(ids) == 0) {
        json_decref(ids);
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    }
    if (atomic_fetch_add(&exports_running, 1) >= EXPORT_RUNNING_MAX) {
        atomic_fetch_sub(&exports_running, 1);
        json_decref(ids);
        return http_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "busy");
    }
    struct export_stream *st = calloc(1, sizeof *st);
    if (!st) {
        atomic_fetch_sub(&exports_running, 1);
        json_decref(ids);
        return MHD_NO;
    }
    st->srv = r->srv;
    st->ids = ids;
    st->fd = -1;
    memcpy(st->session_id, r->session_id, sizeof st->session_id);
    const char *code = "internal";
    uint64_t total = 0;
    unsigned status = mp4frag_joiner_new(1, &st->j) != 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : 0;
    if (!status)
        status = export_check(st, &total, &code);
    if (!status) {
        /* the copying pass, from the first segment again */
        mp4frag_joiner_free(st->j);
        st->j = NULL;
        st->next = 0;
        status = mp4frag_joiner_new(0, &st->j) != 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : 0;
        if (!status) {
            mp4frag_joiner_total_set(st->j, total);
            status = export_next(st, &code);
        }
    }
    if (status) {
        export_stream_free(st);
        return http_reply_error(r, status, code);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, export_stream_read, st, export_stream_free);
    if (!resp) {
        export_stream_free(st);
        return MHD_NO;
    }
    char disp[96];
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "video/mp4");
    /* digits only: a safe file name */
    if (safecam_fmt(disp, sizeof disp, "attachment; filename=\"recording-%lld-%lld.mp4\"", from, to) == 0)
        MHD_add_response_header(resp, "Content-Disposition", disp);
    return http_reply_queue(r, MHD_HTTP_OK, resp);
}

static const char *const list_keys[] = {"from", "to", "event", NULL};
static const char *const export_keys[] = {"from", "to", NULL};

static const struct route rows[] = {
    {"GET", "/api/v1/recordings", ROLE_VIEWER, 0, 0, list_keys, h_recordings_list},
    {"DELETE", "/api/v1/recordings", ROLE_ADMIN, R_BODY, 64 * 1024, NULL, h_recordings_delete},
    /* before {id}: the first matching row wins */
    {"GET", "/api/v1/recordings/export", ROLE_VIEWER, 0, 0, export_keys, h_recordings_export},
    {"GET", "/api/v1/recordings/{id}", ROLE_VIEWER, 0, 0, NULL, h_recording_get},
};

const struct route_set http_routes_recordings = {rows, SAFECAM_ARRAY_LEN(rows)};
