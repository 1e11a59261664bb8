/* media_client.c — the typed calls from web to the media process (include/safecam/media_client.h). Runs in
 * web (network-facing, unprivileged); the reply's content type is allowlisted before it becomes a header. */
#include "safecam/media_client.h"

#include <string.h>
#include <unistd.h>

#include "safecam/proto.h"

/* ct starts with prefix and is 1..MEDIA_CLIENT_CTYPE_MAX printable ASCII bytes (no CR/LF: it becomes a
 * header). */
static int ctype_ok(const char *ct, const char *prefix)
{
    if (!ct || strncmp(ct, prefix, strlen(prefix)) != 0)
        return 0;
    size_t n = strnlen(ct, MEDIA_CLIENT_CTYPE_MAX + 1);
    if (n == 0 || n > MEDIA_CLIENT_CTYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ct[i] < 0x20 || (unsigned char)ct[i] > 0x7e)
            return 0;
    return 1;
}

/* A call answered with a descriptor and a content type starting with prefix. body is stolen. */
static int call_feed(ipc_client *c, uint16_t type, json_t *body, const char *prefix, int *fd,
                     char ctype[MEDIA_CLIENT_CTYPE_MAX + 1])
{
    json_t *reply = NULL, *refusal = NULL;
    *fd = -1;
    ctype[0] = '\0';
    int rc = body ? ipc_client_request(c, type, body, -1, MEDIA_CLIENT_TIMEOUT_MS, &reply, fd, &refusal)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0)
        goto out;
    const json_t *ct = json_object_get(reply, "content_type");
    if (refusal || *fd < 0 || !json_is_string(ct) || !ctype_ok(json_string_value(ct), prefix)) {
        rc = SAFECAM_ERR_PROTO;
        goto out;
    }
    memcpy(ctype, json_string_value(ct), strlen(json_string_value(ct)) + 1);
out:
    if (rc != 0 && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    json_decref(reply);
    json_decref(refusal);
    return rc;
}

int media_client_snapshot(ipc_client *c, const char *session_id, int *fd,
                          char ctype[MEDIA_CLIENT_CTYPE_MAX + 1])
{
    if (!session_id || !fd || !ctype)
        return SAFECAM_ERR_INVAL;
    return call_feed(c, PROTO_MEDIA_SNAPSHOT, json_pack("{s:s}", "session_id", session_id), "image/jpeg", fd,
                     ctype);
}

int media_client_live_open(ipc_client *c, const char *stream, int *fd, char ctype[MEDIA_CLIENT_CTYPE_MAX + 1])
{
    if (!stream || !fd || !ctype)
        return SAFECAM_ERR_INVAL;
    return call_feed(c, PROTO_MEDIA_LIVE_OPEN, json_pack("{s:s}", "stream", stream), "video/mp4", fd, ctype);
}

int media_client_status(ipc_client *c, json_t **status)
{
    if (!status)
        return SAFECAM_ERR_INVAL;
    json_t *refusal = NULL;
    json_t *body = json_object();
    int rc = body ? ipc_client_request(c, PROTO_MEDIA_STATUS, body, -1, MEDIA_CLIENT_TIMEOUT_MS, status, NULL,
                                       &refusal)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc == 0 && refusal) {
        json_decref(refusal);
        rc = SAFECAM_ERR_PROTO;
    }
    return rc;
}
