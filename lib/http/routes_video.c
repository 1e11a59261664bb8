/* routes_video.c — a JPEG snapshot and the live fragmented-MP4 view, relayed from the media process over a
 * descriptor it passes (never buffered whole here). Trust level: network-facing; a viewer session is required
 * (the gate; the snapshot also takes an integration account's HTTP Digest while ONVIF is on, digest.c), the
 * content type the media process names is allowlisted (lib/client/media_client.c).
 * QCVN 135 G6, G11 / EN 303 645 5.6. */
#include <string.h>

#include "http_internal.h"
#include "safecam/media_client.h"

#define SNAPSHOT_MAX_BYTES ((uint64_t)16 * 1024 * 1024)

static enum MHD_Result h_snapshot(struct req *r)
{
    int fd = -1;
    char ctype[MEDIA_CLIENT_CTYPE_MAX + 1];
    if (media_client_snapshot(r->srv->media, r->session_id, &fd, ctype) != 0)
        return http_reply_unavailable(r);
    return http_reply_stream(r, fd, "image/jpeg", SNAPSHOT_MAX_BYTES);
}

static enum MHD_Result h_live(struct req *r)
{
    const char *stream = http_query_get(&r->query, "stream");
    if (!stream)
        stream = "main";
    if (strcmp(stream, "main") != 0 && strcmp(stream, "sub") != 0)
        return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", "stream");
    int fd = -1;
    char ctype[MEDIA_CLIENT_CTYPE_MAX + 1];
    if (media_client_live_open(r->srv->media, stream, &fd, ctype) != 0)
        return http_reply_unavailable(r);
    return http_reply_stream(r, fd, ctype, 0);
}

static const char *const live_keys[] = {"stream", NULL};

static const struct route rows[] = {
    {"GET", "/api/v1/video/snapshot.jpg", ROLE_VIEWER, R_DIGEST, 0, NULL, h_snapshot},
    {"GET", "/api/v1/video/live.mp4", ROLE_VIEWER, 0, 0, live_keys, h_live},
};

const struct route_set http_routes_video = {rows, SAFECAM_ARRAY_LEN(rows)};
