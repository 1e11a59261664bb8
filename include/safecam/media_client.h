/* media_client.h — typed calls to the media process over an ipc_client (snapshot, live view, status).
 * Trust level: runs in web; the media process is a peer of equal trust, its replies are still checked
 * (content type allowlisted, descriptor present). Links lib/ipc only. */
#ifndef SAFECAM_MEDIA_CLIENT_H
#define SAFECAM_MEDIA_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "safecam/core.h"
#include "safecam/ipc_client.h"

#define MEDIA_CLIENT_TIMEOUT_MS 8000
#define MEDIA_CLIENT_CTYPE_MAX 128

/* One JPEG snapshot: *fd (caller closes) is a pipe the media process writes the image into; ctype gets the
 * content type, which starts with "image/jpeg". Any refusal, a missing descriptor or another content type:
 * SAFECAM_ERR_PROTO. QCVN 135 G11 (the snapshot needs a viewer session, checked by the caller's gate). */
int media_client_snapshot(ipc_client *c, const char *session_id, int *fd,
                          char ctype[MEDIA_CLIENT_CTYPE_MAX + 1]) SAFECAM_WUR;

/* The live fragmented-MP4 feed of stream "main" or "sub": as media_client_snapshot, ctype "video/mp4...". */
int media_client_live_open(ipc_client *c, const char *stream, int *fd,
                           char ctype[MEDIA_CLIENT_CTYPE_MAX + 1]) SAFECAM_WUR;

/* The pipeline's status: *status is the {"ok":true,...} reply (new reference, untrusted: the caller
 * allowlists what it passes on). A refusal: SAFECAM_ERR_PROTO. */
int media_client_status(ipc_client *c, json_t **status) SAFECAM_WUR;

#endif
