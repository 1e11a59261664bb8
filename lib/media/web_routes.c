/* web_routes.c — what the media process serves to web over their channel: a snapshot, a live-view feed (each
 * as a pipe fd) and the status. Runs in safecam-media; web's requests are checked field by field here.
 * Contract: include/safecam/proto.h (PROTO_MEDIA_*). */
#include <string.h>

#include "safecam/ipc.h"
#include "safecam/media.h"
#include "safecam/proto.h"

static int h_snapshot(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    json_t *sid = json_object_get(req->body, "session_id");
    if (json_object_size(req->body) > (sid ? 1u : 0u) || (sid && !json_is_string(sid))) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    int fd = -1;
    int rc = media_service_snapshot_open(ctx, &fd);
    if (rc != 0) {
        *reply = json_pack("{s:s}", "error", rc == SAFECAM_ERR_TOOBIG ? "busy" : "unavailable");
        return 0;
    }
    *reply = json_pack("{s:b,s:s}", "ok", 1, "content_type", "image/jpeg");
    *reply_fd = fd;
    return 0;
}

static int h_live_open(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    json_t *s = json_object_get(req->body, "stream");
    json_t *sid = json_object_get(req->body, "session_id");
    size_t allowed = (s ? 1u : 0u) + (sid ? 1u : 0u);
    const char *name = s ? json_string_value(s) : "main";
    int stream = name && strcmp(name, "main") == 0 ? 0 : name && strcmp(name, "sub") == 0 ? 1 : -1;
    if (json_object_size(req->body) != allowed || stream < 0 || (sid && !json_is_string(sid))) {
        *reply = json_pack("{s:s}", "error", "invalid_stream");
        return 0;
    }
    char ctype[96];
    int fd = -1;
    int rc = media_service_live_open(ctx, stream, &fd, ctype, sizeof ctype);
    if (rc != 0) {
        *reply = json_pack("{s:s}", "error",
                           rc == SAFECAM_ERR_TOOBIG     ? "busy"
                           : rc == SAFECAM_ERR_NOTFOUND ? "stream_off"
                                                        : "unavailable");
        return 0;
    }
    *reply = json_pack("{s:b,s:s}", "ok", 1, "content_type", ctype);
    *reply_fd = fd;
    return 0;
}

static int h_status(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer, (void)req, (void)reply_fd;
    *reply = media_service_status(ctx);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int rec_time(const json_t *body, const char *key, int64_t *out)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 253402300799999LL)
        return SAFECAM_ERR_INVAL;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int h_recording_list(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer, (void)reply_fd;
    int64_t from = 0, to = 0;
    media_recorder *r = media_service_recorder(ctx);
    json_t *ev = json_object_get(req->body, "event");
    const char *event = json_string_value(ev);
    if (json_object_size(req->body) != (ev ? 3u : 2u) || rec_time(req->body, "from_ms", &from) != 0 ||
        rec_time(req->body, "to_ms", &to) != 0 || (ev && (!event || strcmp(event, "motion") != 0))) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    if (!r || media_recorder_list(r, from, to, event, reply) != 0) {
        *reply = json_pack("{s:s}", "error", "unavailable");
        return 0;
    }
    return 0;
}

static int h_recording_fd(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    media_recorder *r = media_service_recorder(ctx);
    const char *id = json_string_value(json_object_get(req->body, "id"));
    int fd = -1;
    if (json_object_size(req->body) != 1 || !id) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    int rc = r ? media_recorder_open_fd(r, id, &fd) : SAFECAM_ERR_STATE;
    if (rc != 0) {
        *reply = json_pack("{s:s}", "error",
                           rc == SAFECAM_ERR_NOTFOUND ? "not_found"
                           : rc == SAFECAM_ERR_INVAL  ? "invalid_request"
                                                      : "unavailable");
        return 0;
    }
    *reply = json_pack("{s:b}", "ok", 1);
    *reply_fd = fd;
    return 0;
}

static int h_recording_delete(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer, (void)reply_fd;
    media_recorder *r = media_service_recorder(ctx);
    json_t *ids = json_object_get(req->body, "ids");
    int64_t from = 0, to = 0;
    int ok = 0;
    if (ids && json_object_size(req->body) == 1 && json_is_array(ids) && json_array_size(ids) >= 1 &&
        json_array_size(ids) <= 1000) {
        ok = 1;
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) if (!json_is_string(v) || json_string_length(v) != 32) ok = 0;
    } else if (!ids && json_object_size(req->body) == 2 && rec_time(req->body, "from_ms", &from) == 0 &&
               rec_time(req->body, "to_ms", &to) == 0 && from < to) {
        ok = 1;
    }
    if (!ok) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    if (!r || media_recorder_delete(r, ids, from, to, reply) != 0)
        *reply = json_pack("{s:s}", "error", "unavailable");
    return 0;
}

static const struct ipc_route web_routes[] = {
    {.type = PROTO_MEDIA_RECORDING_LIST, .allowed_peers = IPC_PEER_WEB, .handler = h_recording_list},
    {.type = PROTO_MEDIA_RECORDING_FD, .allowed_peers = IPC_PEER_WEB, .handler = h_recording_fd},
    {.type = PROTO_MEDIA_RECORDING_DELETE, .allowed_peers = IPC_PEER_WEB, .handler = h_recording_delete},
    {.type = PROTO_MEDIA_SNAPSHOT, .allowed_peers = IPC_PEER_WEB, .handler = h_snapshot},
    {.type = PROTO_MEDIA_LIVE_OPEN, .allowed_peers = IPC_PEER_WEB, .handler = h_live_open},
    {.type = PROTO_MEDIA_STATUS, .allowed_peers = IPC_PEER_WEB, .handler = h_status},
};

const struct ipc_route *media_service_web_routes(size_t *n_out)
{
    *n_out = SAFECAM_ARRAY_LEN(web_routes);
    return web_routes;
}
