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

static const struct ipc_route web_routes[] = {
    {.type = PROTO_MEDIA_SNAPSHOT, .allowed_peers = IPC_PEER_WEB, .handler = h_snapshot},
    {.type = PROTO_MEDIA_LIVE_OPEN, .allowed_peers = IPC_PEER_WEB, .handler = h_live_open},
    {.type = PROTO_MEDIA_STATUS, .allowed_peers = IPC_PEER_WEB, .handler = h_status},
};

const struct ipc_route *media_service_web_routes(size_t *n_out)
{
    *n_out = SAFECAM_ARRAY_LEN(web_routes);
    return web_routes;
}
