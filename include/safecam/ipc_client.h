/* ipc_client.h — the one IPC client: a request/reply channel to a peer process, shared by threads.
 * Trust level: used by web and media (unprivileged) to call the vault and media; replies are untrusted input
 * (framing and strict JSON checked by lib/ipc, meaning checked by the typed wrappers in lib/client).
 *
 * Several calls at a time per channel (at most IPC_CLIENT_IN_FLIGHT_MAX): each request carries a process-unique
 * id and its caller waits for the reply with that id; one waiting thread at a time reads the channel and hands
 * the other replies to their callers, so a slow request (a login the vault verifies on its hash workers)
 * never holds up a quick one (a session check) behind it. The client's lock is taken with a deadline and held
 * only to send (bounded by IPC_SEND_TIMEOUT_MS) and to hand replies over, never while waiting. The supervisor
 * hands a fresh descriptor when a peer restarts: ipc_client_channel_set() parks it, and the next call swaps it in
 * once no call waits on the old one (or at once when the old one is dead). A late reply to a call that timed out
 * is recognised by its id and dropped, never taken for another call's answer. */
#ifndef SAFECAM_IPC_CLIENT_H
#define SAFECAM_IPC_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "safecam/core.h"

typedef struct ipc_client ipc_client;

/* Calls in flight at once on one client; one more waits as for a lock that never comes (SAFECAM_ERR_TIMEOUT). */
#define IPC_CLIENT_IN_FLIGHT_MAX 128 /* above the web's 64 connections and media's RTSP threads */

/* ipc_client_new flags: a call waits for the channel at most its own reply timeout when shorter. */
#define IPC_CLIENT_LOCK_WAIT_CAPPED 0x1u

/* A client with no channel yet. lock_wait_ms (> 0): how long a call waits for the client's lock (held by
 * another call's send), in milliseconds (flags: 0 or IPC_CLIENT_LOCK_WAIT_CAPPED).
 * Errors: SAFECAM_ERR_INVAL, SAFECAM_ERR_NOMEM. Caller frees with ipc_client_free. */
int ipc_client_new(int lock_wait_ms, unsigned flags, ipc_client **out) SAFECAM_WUR;

/* Close the channel (and a parked one) and free. NULL is a no-op. No call may be in flight. */
void ipc_client_free(ipc_client *c);

/* Hand the client a new channel (fd: a SOCK_SEQPACKET end, owned by the client from here, also on error).
 * The next call uses it; the old descriptor is closed then. Never blocks behind a call in flight.
 * Errors: SAFECAM_ERR_INVAL (c NULL or fd < 0). */
int ipc_client_channel_set(ipc_client *c, int fd);

/* 1 when the channel died (peer closed it, broken framing, I/O error) and no fresh one was handed since;
 * its owner then asks the supervisor for one (PROTO_SUP_CHANNEL_RENEW, with back-off: safecam/backoff.h).
 * 0 otherwise, also before the first channel and for a slow peer (a timed-out call keeps the channel).
 * Never blocks behind a call in flight. Thread-safe. */
int ipc_client_channel_lost(ipc_client *c);

/* One request/reply: send type + body (NULL = {}) with fd_in (>= 0: passed with SCM_RIGHTS, still the
 * caller's afterwards), wait at most timeout_ms for the reply with the same id. On 0, *reply is the reply
 * object (caller decrefs) and *fd_out (when fd_out is non-NULL) a received descriptor or -1 (caller
 * closes); a received descriptor is closed when fd_out is NULL. A channel found dead (peer gone, protocol
 * error, I/O error) is dropped until the next ipc_client_channel_set().
 * Errors: SAFECAM_ERR_TIMEOUT (lock wait or reply deadline), SAFECAM_ERR_CLOSED (no channel / peer gone),
 * SAFECAM_ERR_PROTO (malformed reply or not an object), SAFECAM_ERR_IO, SAFECAM_ERR_TOOBIG,
 * SAFECAM_ERR_INVAL. */
int ipc_client_call(ipc_client *c, uint16_t type, const json_t *body, int fd_in, json_t **reply, int *fd_out,
                    int timeout_ms) SAFECAM_WUR;

/* ipc_client_call, then split the answer: {"ok":true,...} -> 0 with *reply set (caller decrefs) and
 * *refusal NULL; an answer without "ok":true (a refusal such as {"error":"locked",...}) -> 0 with *refusal
 * set (caller decrefs; lib/http/errors.c maps it) and *reply NULL. Transport errors as ipc_client_call,
 * with both outputs NULL. */
int ipc_client_request(ipc_client *c, uint16_t type, const json_t *body, int fd_in, int timeout_ms,
                       json_t **reply, int *fd_out, json_t **refusal) SAFECAM_WUR;

#endif
