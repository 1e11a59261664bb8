/* ipc.h — message framing, fd passing and per-receiver dispatch tables between safecam processes.
 * Trust level: every process uses it; a receiver treats every message from a peer as untrusted input
 * (size cap, strict JSON, per-peer allowlist of message types). Architecture: ARCHITECTURE.md "Trust
 * boundaries"; models: OpenSSH's monitor (fixed request table), OpenBSD imsg.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET socketpairs (one message per datagram, boundaries kept).
 * Wire format of one message (all integers little-endian):
 *   u32 magic 'SCI1' | u32 payload_len | u16 type | u16 flags | u32 id | payload (JSON object, UTF-8)
 * payload_len <= IPC_PAYLOAD_MAX_BYTES and must equal the datagram length minus IPC_HEADER_BYTES.
 * At most one file descriptor travels with a message (SCM_RIGHTS). */
#ifndef SAFECAM_IPC_H
#define SAFECAM_IPC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "safecam/core.h"

#define IPC_MAGIC 0x31494353u /* "SCI1" little-endian */
#define IPC_HEADER_BYTES 16u
#define IPC_PAYLOAD_MAX_BYTES (256u * 1024u)
#define IPC_JSON_DEPTH_MAX 8

#define IPC_FLAG_REPLY 0x0001u
#define IPC_SEND_TIMEOUT_MS 2000 /* a send waits at most this long for a peer that does not read */

/* Process roles, used as bits in dispatch allowlists. */
enum ipc_peer {
    IPC_PEER_SUPERVISOR = 1u << 0,
    IPC_PEER_VAULT = 1u << 1,
    IPC_PEER_WEB = 1u << 2,
    IPC_PEER_MEDIA = 1u << 3,
    IPC_PEER_UPDATE = 1u << 4,
    IPC_PEER_DISCOVERY = 1u << 5, /* WS-Discovery responder: talks to the supervisor only */
    IPC_PEER_LINK = 1u << 6,      /* linked services (MQTT, WebDAV): talks to the vault and web */
};

/* Role name <-> bit ("supervisor", "vault", "web", "media", "update", "discovery",
 * "link"). Unknown name -> 0. */
unsigned ipc_peer_from_name(const char *name);
const char *ipc_peer_name(unsigned peer);

/* A decoded message. body is owned by the message (json_decref in ipc_msg_clear);
 * fd is -1 or a received descriptor that the message owns until the caller takes it (set to -1). */
typedef struct ipc_msg {
    uint16_t type;
    uint16_t flags;
    uint32_t id;
    json_t *body;
    int fd;
} ipc_msg;

/* Release body and close fd (if still owned). Safe on a zeroed message. */
void ipc_msg_clear(ipc_msg *msg);

/* Decode one datagram (buf, len bytes) into out: checks magic, length, flags, strict UTF-8 JSON object,
 * duplicate keys refused, nesting <= IPC_JSON_DEPTH_MAX. out->fd is set to -1.
 * Errors: SAFECAM_ERR_PROTO (malformed), SAFECAM_ERR_TOOBIG. Fuzzed by fuzz/fuzz_ipc_decode.c. */
int ipc_msg_decode(const uint8_t *buf, size_t len, ipc_msg *out) SAFECAM_WUR;

/* Encode into a malloc'd buffer (*buf_out, caller frees). body may be NULL (sent as {}). */
int ipc_msg_encode(uint16_t type, uint16_t flags, uint32_t id, const json_t *body,
                   uint8_t **buf_out, size_t *len_out) SAFECAM_WUR;

/* Send one message on sock; fd >= 0 is passed with SCM_RIGHTS (the caller still owns its copy).
 * Waits at most IPC_SEND_TIMEOUT_MS for room in the socket buffer (a peer that stops reading), then
 * returns SAFECAM_ERR_TIMEOUT: the caller must drop that peer.
 * Errors: SAFECAM_ERR_CLOSED, SAFECAM_ERR_IO, SAFECAM_ERR_TOOBIG, SAFECAM_ERR_TIMEOUT. */
int ipc_send(int sock, uint16_t type, uint16_t flags, uint32_t id, const json_t *body, int fd) SAFECAM_WUR;

/* As ipc_send, but never waits for room: a full socket buffer (a peer that stops reading) returns
 * SAFECAM_ERR_BUSY at once with nothing sent, and the channel stays usable. For best-effort pushes from a
 * single-threaded service, where a slow peer must cost nothing (the vault's audit events to the link
 * process). Other errors as ipc_send. */
int ipc_send_nowait(int sock, uint16_t type, uint16_t flags, uint32_t id, const json_t *body, int fd) SAFECAM_WUR;

/* Receive one message, waiting at most timeout_ms (-1 = forever). Errors: SAFECAM_ERR_CLOSED (peer
 * gone), SAFECAM_ERR_TIMEOUT, SAFECAM_ERR_PROTO (malformed: the caller must drop the peer). */
int ipc_recv(int sock, ipc_msg *out, int timeout_ms) SAFECAM_WUR;

/* Client side: send a request (new id) and wait for its reply (same id, IPC_FLAG_REPLY) for at most
 * timeout_ms. *reply_out (caller decrefs) is the reply body. If the reply carries an fd it is stored in
 * *fd_out when fd_out is non-NULL, else closed. Not thread-safe per socket: callers serialise.
 * Errors: as ipc_recv; SAFECAM_ERR_PROTO on a reply of another type. */
int ipc_call(int sock, uint16_t type, const json_t *body, int fd, json_t **reply_out, int *fd_out,
             int timeout_ms) SAFECAM_WUR;

/* A new request id, unique in the process (never 0): what ipc_call and lib/ipc/client.c put on a request. */
uint32_t ipc_call_id_new(void);

/* A receiver's handler. It fills *reply (a new JSON object; NULL means {"ok":true}) and may set *reply_fd to an
 * fd to pass back (the dispatcher closes it after sending). It returns 0, or a negative error which the
 * dispatcher turns into {"error":"internal"} unless *reply was set, or IPC_HANDLER_DEFERRED: the handler
 * took the request and will answer it later with ipc_reply_send (req->type, req->id) once slow work done
 * elsewhere (the vault's Argon2id workers) finished; the dispatcher sends nothing now and the channel goes
 * on serving other requests. Replies can therefore come out of order: callers match them by id. */
#define IPC_HANDLER_DEFERRED 1
typedef int (*ipc_handler_fn)(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd);

/* The policy a dispatch row carries, enforced by the dispatcher before the handler runs, in the manner of the
 * flags of OpenSSH's monitor table:
 *   IPC_NEEDS_SESSION  the body's "session_id" (a string of at most IPC_SESSION_ID_MAX bytes) names a live
 *                      session (asked of the receiver's session hook) whose password is not pending change;
 *                      refused with {"error":"no_session"}, {"error":"password_change_required"} or
 *                      {"error":"internal"} (the hook failed), and the handler does not run;
 *   IPC_ADMIN          the same, and the session's role is "admin" ({"error":"forbidden"} otherwise);
 *   IPC_ONCE           at most once per channel (struct ipc_channel_state): a second time is a protocol
 *                      violation (SAFECAM_ERR_PROTO: the caller closes the channel). */
#define IPC_NEEDS_SESSION 0x1u
#define IPC_ADMIN 0x2u
#define IPC_ONCE 0x4u

#define IPC_SESSION_ID_MAX 64
#define IPC_SESSION_USER_MAX 64
#define IPC_SESSION_ROLE_MAX 16

/* What a receiver's session hook says of a session id. */
struct ipc_session {
    char username[IPC_SESSION_USER_MAX + 1];
    char role[IPC_SESSION_ROLE_MAX];
    int password_change_required;
};

/* The receiver's session hook: 0 and *out filled; SAFECAM_ERR_NOTFOUND (no such live session); any other
 * negative error (the receiver could not tell). The receiver may keep what it learned in ctx for the handler
 * (e.g. the actor of an audited request): the hook runs right before the handler, on the same thread. */
typedef int (*ipc_session_fn)(void *ctx, const char *session_id, struct ipc_session *out);

/* A dispatch row: the type, which peers may send it, its policy flags and the handler. */
struct ipc_rule {
    uint16_t type;
    unsigned allowed_peers; /* OR of enum ipc_peer */
    unsigned flags;         /* OR of IPC_NEEDS_SESSION, IPC_ADMIN, IPC_ONCE */
    ipc_handler_fn handler;
};

/* A receiver: its rows (at most IPC_RULES_MAX) and its session hook (required when a row needs a session). */
#define IPC_RULES_MAX 64
struct ipc_dispatcher {
    const struct ipc_rule *rules;
    size_t n;
    ipc_session_fn session_check;
};

/* Per-channel dispatch state (IPC_ONCE). Zero it when a channel is opened or replaced. */
struct ipc_channel_state {
    uint64_t used; /* bit i: rule i (IPC_ONCE) already served on this channel */
};

/* Look up req->type in d's rows and, when `peer` may send it and its policy holds, run its handler and send
 * the reply on sock (a policy refusal is answered, see the flags above). st may be NULL only if no row has
 * IPC_ONCE (a ONCE row without state is refused: fail closed).
 * Returns 0 when answered; SAFECAM_ERR_PROTO when the type is unknown, not allowed for this peer, a reply
 * flag is set or an IPC_ONCE row comes again — a protocol violation: the caller must close the channel (and
 * the supervisor records an audit event); SAFECAM_ERR_INVAL for a bad table; ipc_send's errors. */
int ipc_dispatcher_run(const struct ipc_dispatcher *d, struct ipc_channel_state *st, void *ctx, unsigned peer,
                       int sock, const ipc_msg *req) SAFECAM_WUR;

/* The flag-less row of the supervisor-protocol tables not yet moved to struct ipc_rule (daemon/safecamd.c,
 * daemon/update.c, the children's supervisor rows): ipc_dispatch() is ipc_dispatcher_run() with every row's
 * flags 0. */
struct ipc_route {
    uint16_t type;
    unsigned allowed_peers; /* OR of enum ipc_peer */
    ipc_handler_fn handler;
};

/* Look up req->type in table (n rows) and run it if `peer` is allowed, then send the reply on sock.
 * Returns SAFECAM_ERR_PROTO when the type is unknown or not allowed for this peer — a protocol
 * violation: the caller must close the channel (and the supervisor records an audit event). */
int ipc_dispatch(const struct ipc_route *table, size_t n, void *ctx, unsigned peer, int sock,
                 const ipc_msg *req) SAFECAM_WUR;

/* Send the late answer to a deferred request (type and id of the request, IPC_FLAG_REPLY): body is stolen
 * (decref'd also on error; NULL answers SAFECAM_ERR_NOMEM). sock < 0 (the channel went away meanwhile)
 * returns SAFECAM_ERR_CLOSED. Errors as ipc_send. */
int ipc_reply_send(int sock, uint16_t type, uint32_t id, json_t *body) SAFECAM_WUR;

/* Make a SOCK_SEQPACKET socketpair with CLOEXEC on both ends. */
int ipc_channel_pair(int fds[2]) SAFECAM_WUR;

#endif
