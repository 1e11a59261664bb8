/* ipc_child.h — the child side of the supervisor protocol, written once for every child process (vault,
 * web, media, update): the heartbeat answer, a new peer channel handed over by the supervisor (it replaces
 * the older one), the orderly shutdown, and one poll loop over the supervisor channel, the peer channels
 * and a few extra descriptors. Trust level: runs in every child; it trusts only the supervisor channel, and
 * treats every message of a peer as untrusted (dispatch table, protocol violation closes the channel).
 * Contract of the messages: include/safecam/proto.h (PROTO_SUP_HEARTBEAT, _CHANNEL, _SHUTDOWN). */
#ifndef SAFECAM_IPC_CHILD_H
#define SAFECAM_IPC_CHILD_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

#include "safecam/ipc.h"

#define IPC_CHILD_PEERS_MAX 4     /* peer channels a child serves from its own table */
#define IPC_CHILD_EXTRA_FDS_MAX 4 /* extra descriptors polled by ipc_child_run (pipes) */

/* A reply to one of the child's own requests arrived on a channel (peer: IPC_PEER_*). The hook may take
 * the body and fd out of msg (set them to NULL / -1); what is left is released after it returns. */
typedef void (*ipc_child_reply_fn)(void *ctx, unsigned peer, ipc_msg *msg);

/* A request handled outside the dispatch table (an answer given later, e.g. update's online check).
 * Returns 1 when it took the request, 0 to let the table dispatch it. */
typedef int (*ipc_child_request_fn)(void *ctx, unsigned peer, int fd, const ipc_msg *msg);

/* One peer channel the child keeps in its own table and serves in ipc_child_run. */
struct ipc_child_peer {
    unsigned peer;                  /* IPC_PEER_* */
    const struct ipc_route *routes; /* requests this child serves to that peer; NULL: none */
    size_t n_routes;
    /* Or: a dispatcher with policy flags (IPC_NEEDS_SESSION, IPC_ADMIN, IPC_ONCE); takes precedence over
     * routes. The ipc_child keeps one struct ipc_channel_state per channel, zeroed whenever the channel
     * is replaced or closed. */
    const struct ipc_dispatcher *dispatcher;
    ipc_child_request_fn on_request; /* optional, asked before the table */
    ipc_child_reply_fn on_reply;     /* NULL: a reply on this channel is a protocol violation */
};

struct ipc_child_config {
    const char *role;       /* log prefix ("vault"); not copied, must outlive the child */
    int sup_fd;             /* the supervisor channel; owned by the ipc_child from ipc_child_new on */
    unsigned channel_peers; /* OR of the IPC_PEER_* bits PROTO_SUP_CHANNEL may hand over */
    /* Role-specific supervisor requests besides heartbeat/channel/shutdown (ctx as handler context);
     * NULL: none. A type in neither table is a protocol violation. */
    const struct ipc_route *sup_routes;
    size_t n_sup_routes;
    /* Or: a dispatcher with policy flags for those requests (takes precedence over sup_routes); its
     * struct ipc_channel_state is kept by the ipc_child. */
    const struct ipc_dispatcher *sup_dispatcher;
    ipc_child_reply_fn sup_reply;       /* replies from the supervisor; NULL: dropped */
    const struct ipc_child_peer *peers; /* channels kept in the child's table (at most IPC_CHILD_PEERS_MAX) */
    size_t n_peers;
    /* Optional: takes a new channel of a peer not in `peers` (owns fd from then on); 0 or an error. */
    int (*channel_take)(void *ctx, unsigned peer, int fd);
    /* Optional: a table channel changed: fd is the new descriptor (borrowed), or -1 when it was closed. */
    void (*channel_changed)(void *ctx, unsigned peer, int fd);
    /* Optional: a peer (or the supervisor) broke the protocol; the channel is being closed (audit hook). */
    void (*violation)(void *ctx, unsigned peer, const ipc_msg *msg);
    void *ctx;
};

typedef struct ipc_child ipc_child;

/* Make the child side of the protocol. cfg is copied (its tables and role string are borrowed and must
 * outlive the ipc_child); the supervisor fd is owned from now on. *out is freed with ipc_child_free.
 * Errors: SAFECAM_ERR_INVAL (bad fd, more than IPC_CHILD_PEERS_MAX peers), SAFECAM_ERR_NOMEM. */
int ipc_child_new(const struct ipc_child_config *cfg, ipc_child **out) SAFECAM_WUR;

/* Close every channel in the table and the supervisor channel, then free. NULL is a no-op. */
void ipc_child_free(ipc_child *c);

/* Serve one message from the supervisor, waiting at most timeout_ms (0: what is there). Replies go to
 * sup_reply. Returns 0 (served, or nothing came), SAFECAM_ERR_CLOSED (the supervisor is gone),
 * SAFECAM_ERR_PROTO (violation), SAFECAM_ERR_IO: in each error case the child must exit.
 * QCVN 135 G8 / EN 303 645 5.9-1 (heartbeat: a hung child is restarted). */
int ipc_child_sup_serve(ipc_child *c, int timeout_ms) SAFECAM_WUR;

/* Serve one message on the table channel of `peer` (dispatch, reply, on_request, on_reply). A protocol
 * violation, a closed or broken channel closes it (channel_changed(-1), violation hook). Returns 0. */
void ipc_child_peer_serve(ipc_child *c, unsigned peer);

/* The table channel of `peer` (borrowed), or -1. */
int ipc_child_fd(const ipc_child *c, unsigned peer);
/* The supervisor channel (borrowed), for a child's own notes to the supervisor (vault: PROTO_SUP_LINK_STATE). */
int ipc_child_sup_fd(const ipc_child *c);

/* Close the table channel of `peer` (e.g. a send to it failed); channel_changed(-1) is called. */
void ipc_child_channel_close(ipc_child *c, unsigned peer);

/* 1 once PROTO_SUP_SHUTDOWN was served (or ipc_child_stop was called), else 0. */
int ipc_child_stopping(const ipc_child *c);
void ipc_child_stop(ipc_child *c);

/* The signal handling every child whose loop is ipc_child_run shares: SIGPIPE ignored (a closed peer is an
 * EPIPE from send, not a death), SIGTERM and SIGINT set the returned flag, for ipc_child_loop.signalled.
 * Call once, before the loop. Returns a pointer to one flag with static storage (never NULL). */
const volatile sig_atomic_t *ipc_child_signals_install(void);

/* What ipc_child_run does besides the channels. Every member is optional. */
struct ipc_child_loop {
    const volatile sig_atomic_t *signalled; /* leave the loop when it becomes non-zero (SIGTERM) */
    int timeout_ms;                         /* longest wait for a message (ms); <= 0 means 1000 */
    /* Before each wait: due work. May lower *timeout_ms. Returns 0 to go on, anything else to leave
     * the loop with that value. */
    int (*tick)(void *ctx, int *timeout_ms);
    /* Extra descriptors to wait on (at most max, each with its events); returns how many. */
    size_t (*extra_fds)(void *ctx, struct pollfd *pfd, size_t max);
    /* Called with the extra descriptors after the wait (revents set). */
    void (*extra_ready)(void *ctx, const struct pollfd *pfd, size_t n);
};

/* The receive loop: the supervisor channel, every table channel, the extra descriptors, until shutdown,
 * a signal, or the supervisor channel ends. Returns 0 (shutdown, signal), what tick returned, or the
 * negative error of ipc_child_sup_serve / poll (SAFECAM_ERR_IO). */
int ipc_child_run(ipc_child *c, const struct ipc_child_loop *loop) SAFECAM_WUR;

#endif
