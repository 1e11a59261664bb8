/* update_service.h — the update process's service (lib/update/service.c): web's requests (upload, status,
 * online check and apply), the install bookkeeping, the online worker, the audit queue to the vault, the
 * start-up health check of the running slot and the restart request to the supervisor. daemon/update.c
 * wires it to its channels (include/safecam/ipc_child.h). Trust level: runs in safecam-update, no
 * listening socket; web's requests are typed and validated here, every bundle byte is untrusted until
 * lib/update's verifier has checked it. QCVN 135 G3 / EN 303 645 5.3-2..5.3-16; G8. */
#ifndef SAFECAM_UPDATE_SERVICE_H
#define SAFECAM_UPDATE_SERVICE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "safecam/ipc.h"
#include "safecam/update.h"

typedef struct update_service update_service;

/* Make the service for state_dir (borrowed; must outlive it): reads the device model from
 * factory/device.json and config.json, draws a random first session number. No channel yet, no check
 * scheduled (update_service_start). Errors: SAFECAM_ERR_NOTFOUND/INVAL (no valid model),
 * SAFECAM_ERR_IO (pipe), SAFECAM_ERR_NOMEM. *out is freed with update_service_free. */
int update_service_new(const char *state_dir, update_service **out) SAFECAM_WUR;

/* Health check of the running slot (a damaged slot on probation asks for a restart) and the first
 * periodic online check (5-10 min from now) when it is on. QCVN 135 G3 / G8. */
void update_service_start(update_service *svc);

/* The device model read at update_service_new (NUL-terminated, owned by svc). */
const char *update_service_model(const update_service *svc);
/* 1 when the online check is switched on in config.json. */
int update_service_online_enabled(const update_service *svc);

/* A channel to peer (IPC_PEER_SUPERVISOR, _WEB or _VAULT) is fd (borrowed: the caller owns it), or -1
 * when it was closed. A new or lost web channel forgets a pending online check answer. */
void update_service_channel_set(update_service *svc, unsigned peer, int fd);

/* Web's dispatch table: PROTO_UPDATE_BEGIN (+ the upload pipe's read end), _STATUS and _APPLY; ctx for
 * ipc_dispatch is the update_service. */
const struct ipc_route *update_service_web_routes(size_t *n_out);

/* PROTO_UPDATE_CHECK, answered on fd when the worker is done (a deferred reply with the request's id).
 * Returns 1 when msg was that request (answered now or later), 0 for any other type. */
int update_service_check_request(update_service *svc, int fd, const ipc_msg *msg);

/* A reply of the vault to an audit record (logged when refused). */
void update_service_vault_reply(update_service *svc, const ipc_msg *msg);

/* A peer broke the protocol: an audit event is queued for web. */
void update_service_violation(update_service *svc, unsigned peer);

/* Due work before each wait of the loop: audit events out to the vault, the restart request, an upload
 * stalled for 60 s abandoned, config.json re-read while idle, the periodic online check. May lower
 * *timeout_ms (the restart is due sooner). Returns 0. */
int update_service_tick(update_service *svc, int *timeout_ms);

/* The descriptors to wait on (the upload pipe when one streams, the worker's done pipe); returns how
 * many of max were filled. */
size_t update_service_pollfds(update_service *svc, struct pollfd *pfd, size_t max);
/* Read the upload (at most 1 MiB per call), or collect the finished worker. */
void update_service_pollfds_ready(update_service *svc, const struct pollfd *pfd, size_t n);

/* Stop: an unfinished upload is refused (truncated) and its staging removed, queued audit events are
 * sent. Returns 1 when a download still runs in the worker (the caller must _exit: it cannot be
 * interrupted cleanly), else 0. */
int update_service_stop(update_service *svc);

/* Free (the worker must not run: see update_service_stop). Closes only the service's own pipes. */
void update_service_free(update_service *svc);

#endif
