/* child.c — the child side of the supervisor protocol (heartbeat, new peer channel, shutdown) and the
 * receive loop every child process runs. Runs in vault, web, media and update; trusts the supervisor
 * channel only; every peer message goes through a dispatch table, and a violation closes that channel. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safecam/ipc_child.h"
#include "safecam/proto.h"

#define LOOP_TIMEOUT_DEFAULT_MS 1000

struct ipc_child {
    struct ipc_child_config cfg;
    int fd[IPC_CHILD_PEERS_MAX]; /* table channels, indexed like cfg.peers */
    struct ipc_channel_state st[IPC_CHILD_PEERS_MAX]; /* dispatcher state of each table channel */
    struct ipc_channel_state sup_st;                  /* dispatcher state of the supervisor channel */
    int stop;
};

static volatile sig_atomic_t stop_signalled;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_signalled = 1;
}

const volatile sig_atomic_t *ipc_child_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_stop_signal;
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    return &stop_signalled;
}

static int peer_index(const ipc_child *c, unsigned peer)
{
    for (size_t i = 0; i < c->cfg.n_peers; i++)
        if (c->cfg.peers[i].peer == peer)
            return (int)i;
    return -1;
}

static const char *role_name(const ipc_child *c)
{
    return c->cfg.role ? c->cfg.role : "child";
}

int ipc_child_new(const struct ipc_child_config *cfg, ipc_child **out)
{
    if (!cfg || !out || cfg->sup_fd < 0 || cfg->n_peers > IPC_CHILD_PEERS_MAX ||
        (cfg->n_peers && !cfg->peers))
        return SAFECAM_ERR_INVAL;
    ipc_child *c = calloc(1, sizeof *c);
    if (!c)
        return SAFECAM_ERR_NOMEM;
    c->cfg = *cfg;
    for (size_t i = 0; i < IPC_CHILD_PEERS_MAX; i++)
        c->fd[i] = -1;
    *out = c;
    return 0;
}

void ipc_child_free(ipc_child *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < IPC_CHILD_PEERS_MAX; i++)
        if (c->fd[i] >= 0)
            close(c->fd[i]);
    if (c->cfg.sup_fd >= 0)
        close(c->cfg.sup_fd);
    free(c);
}

int ipc_child_fd(const ipc_child *c, unsigned peer)
{
    int i = c ? peer_index(c, peer) : -1;
    return i < 0 ? -1 : c->fd[i];
}

int ipc_child_sup_fd(const ipc_child *c)
{
    return c ? c->cfg.sup_fd : -1;
}

void ipc_child_channel_close(ipc_child *c, unsigned peer)
{
    int i = c ? peer_index(c, peer) : -1;
    if (i < 0 || c->fd[i] < 0)
        return;
    close(c->fd[i]);
    c->fd[i] = -1;
    memset(&c->st[i], 0, sizeof c->st[i]);
    if (c->cfg.channel_changed)
        c->cfg.channel_changed(c->cfg.ctx, peer, -1);
}

int ipc_child_stopping(const ipc_child *c)
{
    return c ? c->stop : 1;
}

void ipc_child_stop(ipc_child *c)
{
    if (c)
        c->stop = 1;
}

/* ---------------------------------------------------------------- the supervisor's rows */

static int h_heartbeat(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)req, (void)reply, (void)reply_fd;
    return 0; /* {"ok":true} */
}

static int h_shutdown(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    ipc_child *c = ctx;
    (void)peer, (void)req, (void)reply, (void)reply_fd;
    c->stop = 1;
    return 0;
}

/* {"peer": name} + fd: a fresh channel to that peer; it replaces the older one. */
static int h_channel(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    ipc_child *c = ctx;
    (void)peer, (void)reply_fd;
    const char *name = json_string_value(json_object_get(req->body, "peer"));
    unsigned p = name && json_object_size(req->body) == 1 ? ipc_peer_from_name(name) : 0;
    if (!p || !(p & c->cfg.channel_peers)) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "peer");
        return 0;
    }
    if (req->fd < 0) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "fd");
        return 0;
    }
    int fd = fcntl(req->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int i = peer_index(c, p);
    if (i >= 0) {
        if (c->fd[i] >= 0)
            close(c->fd[i]);
        c->fd[i] = fd;
        memset(&c->st[i], 0, sizeof c->st[i]); /* a new channel: IPC_ONCE rows may come again */
        if (c->cfg.channel_changed)
            c->cfg.channel_changed(c->cfg.ctx, p, fd);
    } else if (!c->cfg.channel_take || c->cfg.channel_take(c->cfg.ctx, p, fd) != 0) {
        if (!c->cfg.channel_take)
            close(fd);
        /* channel_take owns fd even when it fails */
        *reply = json_pack("{s:s}", "error", "internal");
        return 0;
    }
    log_info("%s: channel to %s (re)connected", role_name(c), ipc_peer_name(p));
    return 0;
}

static const struct ipc_route sup_rows[] = {
    {.type = PROTO_SUP_HEARTBEAT, .allowed_peers = IPC_PEER_SUPERVISOR, .handler = h_heartbeat},
    {.type = PROTO_SUP_CHANNEL, .allowed_peers = IPC_PEER_SUPERVISOR, .handler = h_channel},
    {.type = PROTO_SUP_SHUTDOWN, .allowed_peers = IPC_PEER_SUPERVISOR, .handler = h_shutdown},
};

static int is_sup_row(uint16_t type)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(sup_rows); i++)
        if (sup_rows[i].type == type)
            return 1;
    return 0;
}

int ipc_child_sup_serve(ipc_child *c, int timeout_ms)
{
    if (!c || c->cfg.sup_fd < 0)
        return SAFECAM_ERR_CLOSED;
    ipc_msg msg = {.fd = -1};
    int rc = ipc_recv(c->cfg.sup_fd, &msg, timeout_ms);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return 0;
    if (rc != 0) {
        log_err("%s: supervisor channel %s", role_name(c), rc == SAFECAM_ERR_CLOSED ? "closed" : "broken");
        goto out;
    }
    if (msg.flags & IPC_FLAG_REPLY) {
        if (c->cfg.sup_reply)
            c->cfg.sup_reply(c->cfg.ctx, IPC_PEER_SUPERVISOR, &msg);
        goto out;
    }
    if (is_sup_row(msg.type))
        rc = ipc_dispatch(sup_rows, SAFECAM_ARRAY_LEN(sup_rows), c, IPC_PEER_SUPERVISOR, c->cfg.sup_fd, &msg);
    else if (c->cfg.sup_dispatcher)
        rc = ipc_dispatcher_run(c->cfg.sup_dispatcher, &c->sup_st, c->cfg.ctx, IPC_PEER_SUPERVISOR,
                                c->cfg.sup_fd, &msg);
    else if (c->cfg.sup_routes)
        rc = ipc_dispatch(c->cfg.sup_routes, c->cfg.n_sup_routes, c->cfg.ctx, IPC_PEER_SUPERVISOR,
                          c->cfg.sup_fd, &msg);
    else
        rc = SAFECAM_ERR_PROTO;
    if (rc == SAFECAM_ERR_PROTO) {
        log_err("%s: protocol violation on the supervisor channel (type %u)", role_name(c),
                (unsigned)msg.type);
        if (c->cfg.violation)
            c->cfg.violation(c->cfg.ctx, IPC_PEER_SUPERVISOR, &msg);
    } else if (rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_IO || rc == SAFECAM_ERR_TIMEOUT) {
        log_err("%s: cannot answer the supervisor: %s", role_name(c), safecam_err_name(rc));
        rc = rc == SAFECAM_ERR_CLOSED ? rc : SAFECAM_ERR_IO;
    } else if (rc != 0) {
        log_warn("%s: cannot answer the supervisor (type %u): %s", role_name(c), (unsigned)msg.type,
                 safecam_err_name(rc));
        rc = 0;
    }
out:
    ipc_msg_clear(&msg);
    return rc;
}

/* ---------------------------------------------------------------- peer channels */

void ipc_child_peer_serve(ipc_child *c, unsigned peer)
{
    int i = c ? peer_index(c, peer) : -1;
    if (i < 0 || c->fd[i] < 0)
        return;
    const struct ipc_child_peer *p = &c->cfg.peers[i];
    const char *name = ipc_peer_name(peer);
    ipc_msg msg = {.fd = -1};
    int rc = ipc_recv(c->fd[i], &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return;
    if (rc == 0 && (msg.flags & IPC_FLAG_REPLY)) {
        if (p->on_reply)
            p->on_reply(c->cfg.ctx, peer, &msg);
        else
            rc = SAFECAM_ERR_PROTO;
    } else if (rc == 0 && !(p->on_request && p->on_request(c->cfg.ctx, peer, c->fd[i], &msg) == 1)) {
        if (p->dispatcher)
            rc = ipc_dispatcher_run(p->dispatcher, &c->st[i], c->cfg.ctx, peer, c->fd[i], &msg);
        else
            rc = p->routes ? ipc_dispatch(p->routes, p->n_routes, c->cfg.ctx, peer, c->fd[i], &msg)
                           : SAFECAM_ERR_PROTO;
        if (rc != 0 && rc != SAFECAM_ERR_PROTO && rc != SAFECAM_ERR_CLOSED && rc != SAFECAM_ERR_IO &&
            rc != SAFECAM_ERR_TIMEOUT) {
            log_warn("%s: cannot answer %s (type %u): %s", role_name(c), name, (unsigned)msg.type,
                     safecam_err_name(rc));
            rc = 0;
        }
    }
    if (rc == SAFECAM_ERR_PROTO) {
        log_warn("%s: protocol violation by %s (type %u): channel closed", role_name(c), name,
                 (unsigned)msg.type);
        if (c->cfg.violation)
            c->cfg.violation(c->cfg.ctx, peer, &msg);
    } else if (rc == SAFECAM_ERR_CLOSED) {
        log_info("%s: %s closed its channel", role_name(c), name);
    } else if (rc == SAFECAM_ERR_TIMEOUT) {
        log_warn("%s: %s does not read its replies: channel closed", role_name(c), name);
    } else if (rc != 0) {
        log_warn("%s: channel to %s broken (%s): closed", role_name(c), name, safecam_err_name(rc));
    }
    ipc_msg_clear(&msg);
    if (rc != 0)
        ipc_child_channel_close(c, peer);
}

/* ---------------------------------------------------------------- the loop */

#define DRAIN_MAX 64 /* messages answered per channel after SHUTDOWN */

/* Stopping on the supervisor's SHUTDOWN: answer what peers had already sent (an audit record a peer wrote
 * just before it asked the supervisor to restart, say), without waiting for more: the peer's message was
 * queued before the SHUTDOWN was sent, so it is there now or never. At most DRAIN_MAX per channel. */
static void peers_drain(ipc_child *c)
{
    for (size_t i = 0; i < c->cfg.n_peers; i++)
        for (int k = 0; k < DRAIN_MAX && c->fd[i] >= 0; k++) {
            struct pollfd p = {.fd = c->fd[i], .events = POLLIN};
            if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
                break;
            ipc_child_peer_serve(c, c->cfg.peers[i].peer);
        }
}

int ipc_child_run(ipc_child *c, const struct ipc_child_loop *loop)
{
    if (!c || !loop)
        return SAFECAM_ERR_INVAL;
    enum { FIXED = 1 + IPC_CHILD_PEERS_MAX };
    struct pollfd pfd[FIXED + IPC_CHILD_EXTRA_FDS_MAX];
    int rc = 0;
    while (!c->stop && !(loop->signalled && *loop->signalled)) {
        int timeout = loop->timeout_ms > 0 ? loop->timeout_ms : LOOP_TIMEOUT_DEFAULT_MS;
        if (loop->tick) {
            rc = loop->tick(c->cfg.ctx, &timeout);
            if (rc != 0)
                goto out;
            if (c->stop)
                break;
        }
        pfd[0] = (struct pollfd){.fd = c->cfg.sup_fd, .events = POLLIN};
        for (size_t i = 0; i < IPC_CHILD_PEERS_MAX; i++)
            pfd[1 + i] = (struct pollfd){.fd = c->fd[i], .events = POLLIN};
        size_t n_extra =
            loop->extra_fds ? loop->extra_fds(c->cfg.ctx, &pfd[FIXED], IPC_CHILD_EXTRA_FDS_MAX) : 0;
        if (n_extra > IPC_CHILD_EXTRA_FDS_MAX)
            n_extra = IPC_CHILD_EXTRA_FDS_MAX;
        int n = poll(pfd, (nfds_t)(FIXED + n_extra), timeout < 0 ? 0 : timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_err("%s: poll: %s", role_name(c), strerror(errno));
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        if (n == 0)
            continue;
        if (pfd[0].revents) {
            rc = ipc_child_sup_serve(c, 0);
            if (rc != 0)
                goto out;
        }
        for (size_t i = 0; i < c->cfg.n_peers && !c->stop; i++) {
            if (pfd[1 + i].fd < 0 || pfd[1 + i].fd != c->fd[i] || !pfd[1 + i].revents)
                continue;
            if (pfd[1 + i].revents & POLLNVAL) {
                c->fd[i] = -1;
                continue;
            }
            ipc_child_peer_serve(c, c->cfg.peers[i].peer);
        }
        if (n_extra && loop->extra_ready)
            loop->extra_ready(c->cfg.ctx, &pfd[FIXED], n_extra);
    }
    if (c->stop)
        peers_drain(c);
    rc = 0;
out:
    return rc;
}
