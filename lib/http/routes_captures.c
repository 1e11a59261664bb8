/* routes_captures.c — captures, the camera's stored snapshots (the user's data): the routes (list, take, download,
 * delete one or all) and their helpers, which spool the media process's JPEG into a memfd handed to the vault
 * (which seals it), check the fd and fields of the vault's answers and build the API answers from allowlisted
 * fields only. Trust level: network-facing; never holds the storage key. QCVN 135 G9, G10 / EN 303 645 5.11-1. */
#include "routes_captures.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_internal.h"
#include "safecam/core.h"
#include "safecam/media_client.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

#define SPOOL_CHUNK_BYTES ((size_t)16 * 1024)

int http_capture_id_valid(const char *id)
{
    if (!id || strnlen(id, HTTP_CAPTURE_ID_HEX + 1) != HTTP_CAPTURE_ID_HEX)
        return 0;
    for (size_t i = 0; i < HTTP_CAPTURE_ID_HEX; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return SAFECAM_ERR_IO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int http_capture_spool(int src_fd, size_t max_bytes, int timeout_ms, int *memfd_out)
{
    unsigned char buf[SPOOL_CHUNK_BYTES];
    unsigned char head[3] = {0, 0, 0};
    size_t total = 0;
    int rc = 0;
    if (!memfd_out)
        return SAFECAM_ERR_INVAL;
    *memfd_out = -1;
    if (src_fd < 0)
        return SAFECAM_ERR_INVAL;
    int mfd = memfd_create("safecam-capture", MFD_CLOEXEC);
    if (mfd < 0)
        return SAFECAM_ERR_IO;
    int64_t deadline = safecam_time_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - safecam_time_mono_ms();
        if (left <= 0) {
            rc = SAFECAM_ERR_TIMEOUT;
            break;
        }
        struct pollfd pfd = {.fd = src_fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            rc = SAFECAM_ERR_IO;
            break;
        }
        if (pr == 0) {
            rc = SAFECAM_ERR_TIMEOUT;
            break;
        }
        ssize_t n = read(src_fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            rc = SAFECAM_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        if ((size_t)n > max_bytes - total) {
            rc = SAFECAM_ERR_TOOBIG;
            break;
        }
        for (size_t i = 0; total + i < sizeof head && i < (size_t)n; i++)
            head[total + i] = buf[i];
        rc = write_all(mfd, buf, (size_t)n);
        if (rc != 0)
            break;
        total += (size_t)n;
    }
    sodium_memzero(buf, sizeof buf);
    if (rc == 0 && (total < sizeof head || head[0] != 0xFF || head[1] != 0xD8 || head[2] != 0xFF))
        rc = SAFECAM_ERR_INVAL;
    if (rc == 0 && lseek(mfd, 0, SEEK_SET) != 0)
        rc = SAFECAM_ERR_IO;
    if (rc != 0) {
        close(mfd);
        return rc;
    }
    *memfd_out = mfd;
    return 0;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *error_body(const char *code)
{
    return json_pack("{s:s}", "error", code);
}

unsigned http_capture_error(const json_t *reply, json_t **out)
{
    const char *code = jstr(reply, "error");
    *out = NULL;
    if (!code)
        return 0;
    if (strcmp(code, "storage_full") == 0 || strcmp(code, "too_large") == 0) {
        *out = error_body(code);
        return 507;
    }
    if (strcmp(code, "storage") == 0) {
        *out = error_body("storage");
        return 500;
    }
    return 0;
}

/* {"id","created_at","size"} with every field checked, or NULL. */
static json_t *capture_item(const json_t *c)
{
    const char *id = jstr(c, "id");
    const json_t *t = json_object_get(c, "created_at");
    const json_t *s = json_object_get(c, "size");
    if (!http_capture_id_valid(id) || !json_is_integer(t) || !json_is_integer(s) || json_integer_value(t) < 0 ||
        json_integer_value(s) < 1 || json_integer_value(s) > (json_int_t)HTTP_CAPTURE_MAX_BYTES)
        return NULL;
    return json_pack("{s:s, s:I, s:I}", "id", id, "created_at", json_integer_value(t), "size",
                     json_integer_value(s));
}

unsigned http_capture_store_answer(const json_t *reply, json_t **out)
{
    *out = capture_item(json_object_get(reply, "capture"));
    if (*out)
        return 201;
    *out = error_body("internal");
    return 500;
}

unsigned http_capture_list_answer(const json_t *reply, json_t **out)
{
    json_t *arr = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(reply, "captures"), i, c) {
        json_t *item = capture_item(c);
        if (item && arr)
            json_array_append_new(arr, item);
        else
            json_decref(item);
    }
    *out = arr ? json_pack("{s:o}", "captures", arr) : NULL;
    return 200;
}

int http_capture_fd_check(int fd, const json_t *reply, uint64_t *size_out)
{
    struct stat sb;
    const json_t *s = json_object_get(reply, "size");
    if (fd < 0 || !json_is_integer(s) || json_integer_value(s) < 1 ||
        json_integer_value(s) > (json_int_t)HTTP_CAPTURE_MAX_BYTES)
        return SAFECAM_ERR_PROTO;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != (off_t)json_integer_value(s))
        return SAFECAM_ERR_PROTO;
    *size_out = (uint64_t)sb.st_size;
    return 0;
}

int http_capture_disposition(const char *id, char *out, size_t out_size)
{
    if (!http_capture_id_valid(id))
        return SAFECAM_ERR_INVAL;
    return safecam_fmt(out, out_size, "attachment; filename=\"capture-%s.jpg\"", id);
}

unsigned http_capture_delete_answer(const json_t *reply, const char *id, json_t **out)
{
    const json_t *n = json_object_get(reply, "deleted");
    if (!json_is_integer(n) || json_integer_value(n) < 0) {
        *out = error_body("internal");
        return 500;
    }
    *out = json_pack("{s:I, s:s}", "deleted", json_integer_value(n), "result", "deleted");
    if (*out && id && http_capture_id_valid(id))
        json_object_set_new(*out, "id", json_string(id));
    return 200;
}

/* ---------------- the routes ---------------- */

static enum MHD_Result reply_capture_refusal(struct req *r, int rc, const json_t *refusal)
{
    if (rc != 0)
        return http_reply_unavailable(r);
    json_t *out = NULL;
    unsigned st = http_capture_error(refusal, &out);
    return st ? http_reply_json(r, st, out) : http_reply_refusal(r, refusal);
}

/* A vault capture call on the user's behalf; the audited ones (store, delete) carry actor and source. */
static int capture_vault_call(struct req *r, uint16_t type, const json_t *fields, int fd_in, json_t **reply,
                              int *fd_out, json_t **refusal)
{
    int audited = type == PROTO_VAULT_CAPTURE_STORE || type == PROTO_VAULT_CAPTURE_DELETE;
    return vault_client_capture_call(r->srv->vault, type, r->session_id, audited ? r->username : NULL,
                                     audited ? r->source : NULL, fields, fd_in, reply, fd_out, refusal);
}

/* POST /api/v1/captures {}: a snapshot from media, spooled into a memfd, sealed by the vault. */
static enum MHD_Result h_capture_create(struct req *r)
{
    if (http_req_body_empty(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    int fd = -1, mfd = -1;
    char ctype[MEDIA_CLIENT_CTYPE_MAX + 1];
    int rc = media_client_snapshot(r->srv->media, r->session_id, &fd, ctype);
    if (rc != 0)
        rc = SAFECAM_ERR_CLOSED;
    else
        rc = http_capture_spool(fd, HTTP_CAPTURE_MAX_BYTES, MEDIA_CLIENT_TIMEOUT_MS, &mfd);
    if (fd >= 0)
        close(fd);
    if (rc == SAFECAM_ERR_TOOBIG)
        return http_reply_error(r, MHD_HTTP_INSUFFICIENT_STORAGE, "too_large");
    if (rc != 0)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "media_unavailable");
    json_t *reply = NULL, *refusal = NULL;
    rc = capture_vault_call(r, PROTO_VAULT_CAPTURE_STORE, NULL, mfd, &reply, NULL, &refusal);
    close(mfd);
    enum MHD_Result ret;
    if (rc != 0 || refusal) {
        ret = reply_capture_refusal(r, rc, refusal);
    } else {
        json_t *out = NULL;
        unsigned st = http_capture_store_answer(reply, &out);
        ret = http_reply_json(r, st, out);
    }
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_captures_list(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL;
    int rc = capture_vault_call(r, PROTO_VAULT_CAPTURE_LIST, NULL, -1, &reply, NULL, &refusal);
    enum MHD_Result ret;
    if (rc != 0 || refusal) {
        ret = reply_capture_refusal(r, rc, refusal);
    } else {
        json_t *out = NULL;
        unsigned st = http_capture_list_answer(reply, &out);
        ret = http_reply_json(r, st, out);
    }
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

/* GET /api/v1/captures/{id}: the JPEG the vault unsealed into a memfd, as a download. */
static enum MHD_Result h_capture_get(struct req *r)
{
    char disposition[96];
    if (!http_capture_id_valid(r->param) || http_capture_disposition(r->param, disposition, sizeof(disposition)) != 0)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    json_t *reply = NULL, *refusal = NULL;
    int fd = -1;
    uint64_t size = 0;
    json_t *fields = json_pack("{s:s}", "id", r->param);
    int rc = fields ? capture_vault_call(r, PROTO_VAULT_CAPTURE_GET, fields, -1, &reply, &fd, &refusal)
                    : SAFECAM_ERR_NOMEM;
    json_decref(fields);
    enum MHD_Result ret;
    if (rc != 0 || refusal) {
        ret = reply_capture_refusal(r, rc, refusal);
    } else if (http_capture_fd_check(fd, reply, &size) != 0) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    } else {
        struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd); /* owns fd from here */
        fd = -1;
        if (resp) {
            http_security_headers_add(resp, 0);
            MHD_add_response_header(resp, "Content-Type", "image/jpeg");
            MHD_add_response_header(resp, "Content-Disposition", disposition);
        }
        ret = http_reply_queue(r, MHD_HTTP_OK, resp);
    }
    if (fd >= 0)
        close(fd);
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

/* DELETE /api/v1/captures/{id} and /api/v1/captures (all), {"confirm":true} required. */
static enum MHD_Result capture_delete(struct req *r, const char *id)
{
    if (http_req_confirm_parse(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *fields = id ? json_pack("{s:s}", "id", id) : json_pack("{s:b}", "all", 1);
    json_t *reply = NULL, *refusal = NULL;
    int rc = fields ? capture_vault_call(r, PROTO_VAULT_CAPTURE_DELETE, fields, -1, &reply, NULL, &refusal)
                    : SAFECAM_ERR_NOMEM;
    json_decref(fields);
    enum MHD_Result ret;
    if (rc != 0 || refusal) {
        ret = reply_capture_refusal(r, rc, refusal);
    } else {
        json_t *out = NULL;
        unsigned st = http_capture_delete_answer(reply, id, &out);
        ret = http_reply_json(r, st, out);
    }
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_capture_delete(struct req *r)
{
    if (!http_capture_id_valid(r->param))
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    return capture_delete(r, r->param);
}

static enum MHD_Result h_captures_delete_all(struct req *r)
{
    return capture_delete(r, NULL);
}

static const struct route rows[] = {
    {"GET", "/api/v1/captures", ROLE_VIEWER, 0, 0, NULL, h_captures_list},
    {"POST", "/api/v1/captures", ROLE_ADMIN, R_BODY, 64, NULL, h_capture_create},
    {"DELETE", "/api/v1/captures", ROLE_ADMIN, R_BODY, 64, NULL, h_captures_delete_all},
    {"GET", "/api/v1/captures/{id}", ROLE_VIEWER, 0, 0, NULL, h_capture_get},
    {"DELETE", "/api/v1/captures/{id}", ROLE_ADMIN, R_BODY, 64, NULL, h_capture_delete},
};

const struct route_set http_routes_captures = {rows, SAFECAM_ARRAY_LEN(rows)};
