/* routes_update.h — private to lib/http: the web side of firmware updates (channel to safecam-update,
 * the streamed upload, status, online check and apply). server.c calls these after its gate has checked
 * the session, the admin role and the CSRF token; each returns an HTTP status and a JSON body for
 * server.c to send with its usual headers. Trust level: network-facing process; the bundle bytes are
 * only relayed (never buffered whole, never parsed here): safecam-update verifies them.
 * QCVN 135 G3 / EN 303 645 5.3. */
#ifndef SAFECAM_HTTP_ROUTES_UPDATE_H
#define SAFECAM_HTTP_ROUTES_UPDATE_H

#include <jansson.h>
#include <stddef.h>

typedef struct http_update http_update;
typedef struct http_update_upload http_update_upload;

/* The channel holder (no channel yet). NULL on allocation failure. */
http_update *http_update_new(void);
void http_update_free(http_update *u);
/* Replace the channel to the update process by fd (ownership passes). Thread-safe. */
void http_update_channel_set(http_update *u, int fd);
/* 1 when the channel to safecam-update died and no fresh one was handed since (ipc_client_channel_lost). */
int http_update_channel_lost(http_update *u);

/* GET /api/v1/system/update: the last result (state idle|receiving|failed|pending_reboot|installed,
 * reason, version, slot, received, total, time) plus slots, running slot and online-check state.
 * Returns the HTTP status; *out is the body (new reference). */
unsigned http_update_status_get(http_update *u, json_t **out);
/* POST /api/v1/system/update/check and /apply on the admin's behalf. */
unsigned http_update_check(http_update *u, const char *actor, const char *source, json_t **out);
unsigned http_update_apply(http_update *u, const char *actor, const char *source, json_t **out);
/* Add "slots" ({"A":{version,...,running,active},"B":{...}}) and "running_slot" to a GET /api/v1/device
 * answer when the update process answers within a short time; otherwise leave it unchanged. */
void http_update_device_fields(http_update *u, json_t *device);

/* POST /api/v1/system/update, start: content_type must be application/octet-stream (415), the declared
 * length (Content-Length, NULL = 0) at most UPDATE_BUNDLE_MAX_BYTES_DEFAULT (413 too_large); then a pipe
 * is handed to the update process (PROTO_UPDATE_BEGIN). Returns 0 with *out set when the body may
 * stream, else the HTTP status with *err_body. expect: the Expect header (NULL if none). A refusal while
 * the client is already sending its body (no "Expect: 100-continue") is deferred: 0 is returned, the
 * body is read and dropped, and upload_finish gives the refusal (so the client sees it). */
unsigned http_update_upload_begin(http_update *u, const char *content_type, const char *content_length,
                                  const char *expect, const char *actor, const char *source,
                                  http_update_upload **out, json_t **err_body);
/* One chunk of the body as libmicrohttpd hands it over: written to the pipe at once (bounded wait).
 * After the update process refused (EPIPE) the rest is discarded without being written anywhere. */
void http_update_upload_data(http_update_upload *up, const char *data, size_t len);
/* End of the body: close the pipe, wait (bounded) for the verdict. 202 {"state":"pending_reboot",
 * "version","slot","reboot":true} or the refusal {"error":CODE} with update_reason_http_status(). */
unsigned http_update_upload_finish(http_update_upload *up, json_t **out);
/* Release (closes the pipe if still open: an aborted upload ends as "truncated"). NULL is ignored. */
void http_update_upload_free(http_update_upload *up);

#endif
