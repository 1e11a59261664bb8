/* ipc.c — framing, fd passing and dispatch over SOCK_SEQPACKET socketpairs between safecam processes.
 * Every received message is untrusted: size-capped, strictly decoded, and checked against the
 * receiver's per-peer allowlist before any handler runs. */
#include "safecam/ipc.h"

#include <errno.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const peer_names[] = {"supervisor", "vault", "web", "media", "update", "discovery", "link"};

unsigned ipc_peer_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(peer_names); i++)
        if (strcmp(name, peer_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *ipc_peer_name(unsigned peer)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(peer_names); i++)
        if (peer == (1u << i))
            return peer_names[i];
    return "unknown";
}

void ipc_msg_clear(ipc_msg *msg)
{
    if (!msg)
        return;
    if (msg->body)
        json_decref(msg->body);
    msg->body = NULL;
    if (msg->fd >= 0)
        close(msg->fd);
    msg->fd = -1;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static int json_depth_ok(const json_t *v, int depth)
{
    if (depth > IPC_JSON_DEPTH_MAX)
        return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child) {
            if (!json_depth_ok(child, depth + 1))
                return 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            if (!json_depth_ok(child, depth + 1))
                return 0;
        }
    }
    return 1;
}

int ipc_msg_decode(const uint8_t *buf, size_t len, ipc_msg *out)
{
    if (!buf || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (len < IPC_HEADER_BYTES)
        return SAFECAM_ERR_PROTO;
    if (get_u32(buf) != IPC_MAGIC)
        return SAFECAM_ERR_PROTO;
    uint32_t plen = get_u32(buf + 4);
    if (plen > IPC_PAYLOAD_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    if ((size_t)plen != len - IPC_HEADER_BYTES)
        return SAFECAM_ERR_PROTO;
    uint16_t type = get_u16(buf + 8);
    uint16_t flags = get_u16(buf + 10);
    if (type == 0 || (flags & ~IPC_FLAG_REPLY) != 0)
        return SAFECAM_ERR_PROTO;
    const char *payload = (const char *)buf + IPC_HEADER_BYTES;
    if (plen == 0 || !safecam_utf8_valid(payload, plen))
        return SAFECAM_ERR_PROTO;
    json_error_t jerr;
    json_t *body = json_loadb(payload, plen, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return SAFECAM_ERR_PROTO;
    if (!json_is_object(body) || !json_depth_ok(body, 0)) {
        json_decref(body);
        return SAFECAM_ERR_PROTO;
    }
    out->type = type;
    out->flags = flags;
    out->id = get_u32(buf + 12);
    out->body = body;
    return 0;
}

int ipc_msg_encode(uint16_t type, uint16_t flags, uint32_t id, const json_t *body, uint8_t **buf_out,
                   size_t *len_out)
{
    if (!buf_out || !len_out || type == 0)
        return SAFECAM_ERR_INVAL;
    *buf_out = NULL;
    char *text = NULL;
    if (body) {
        if (!json_is_object(body))
            return SAFECAM_ERR_INVAL;
        text = json_dumps(body, JSON_COMPACT);
    } else {
        text = strdup("{}");
    }
    if (!text)
        return SAFECAM_ERR_NOMEM;
    size_t plen = strlen(text);
    if (plen > IPC_PAYLOAD_MAX_BYTES) {
        explicit_bzero(text, plen);
        free(text);
        return SAFECAM_ERR_TOOBIG;
    }
    uint8_t *buf = malloc(IPC_HEADER_BYTES + plen);
    if (!buf) {
        explicit_bzero(text, plen);
        free(text);
        return SAFECAM_ERR_NOMEM;
    }
    put_u32(buf, IPC_MAGIC);
    put_u32(buf + 4, (uint32_t)plen);
    put_u16(buf + 8, type);
    put_u16(buf + 10, flags);
    put_u32(buf + 12, id);
    memcpy(buf + IPC_HEADER_BYTES, text, plen);
    /* Payloads may carry passwords (login requests): wipe the temporary text. */
    explicit_bzero(text, plen);
    free(text);
    *buf_out = buf;
    *len_out = IPC_HEADER_BYTES + plen;
    return 0;
}

/* ipc_send with a wait for room of at most wait_ms (0: none). No room in time: SAFECAM_ERR_TIMEOUT after a
 * wait, SAFECAM_ERR_BUSY without one; nothing was sent either way (the channels are SOCK_SEQPACKET). */
static int send_within(int sock, uint16_t type, uint16_t flags, uint32_t id, const json_t *body, int fd,
                       int wait_ms)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = ipc_msg_encode(type, flags, id, body, &buf, &len);
    if (rc != 0)
        return rc;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        char raw[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.raw;
        mh.msg_controllen = sizeof ctl.raw;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    /* Never block without a deadline: a peer that stops reading must not freeze the sender (a
     * single-threaded vault or the supervisor). */
    ssize_t w;
    int64_t deadline = safecam_time_mono_ms() + wait_ms;
    for (;;) {
        w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0 || errno == EINTR) {
            if (w >= 0)
                break;
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            break;
        int64_t left = deadline - safecam_time_mono_ms();
        if (left <= 0) {
            explicit_bzero(buf, len);
            free(buf);
            return wait_ms > 0 ? SAFECAM_ERR_TIMEOUT : SAFECAM_ERR_BUSY;
        }
        struct pollfd pfd = {.fd = sock, .events = POLLOUT};
        (void)poll(&pfd, 1, (int)left);
    }
    explicit_bzero(buf, len);
    free(buf);
    if (w < 0)
        return (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) ? SAFECAM_ERR_CLOSED
                                                                          : SAFECAM_ERR_IO;
    if ((size_t)w != len)
        return SAFECAM_ERR_IO;
    return 0;
}

int ipc_send(int sock, uint16_t type, uint16_t flags, uint32_t id, const json_t *body, int fd)
{
    return send_within(sock, type, flags, id, body, fd, IPC_SEND_TIMEOUT_MS);
}

int ipc_send_nowait(int sock, uint16_t type, uint16_t flags, uint32_t id, const json_t *body, int fd)
{
    return send_within(sock, type, flags, id, body, fd, 0);
}

int ipc_recv(int sock, ipc_msg *out, int timeout_ms)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    int64_t deadline = timeout_ms >= 0 ? safecam_time_mono_ms() + timeout_ms : 0;
    for (;;) {
        int wait = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - safecam_time_mono_ms();
            if (left < 0)
                left = 0;
            wait = (int)left;
        }
        struct pollfd pfd = {.fd = sock, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return SAFECAM_ERR_IO;
        }
        if (pr == 0)
            return SAFECAM_ERR_TIMEOUT;
        break;
    }
    uint8_t *buf = malloc(IPC_HEADER_BYTES + IPC_PAYLOAD_MAX_BYTES + 1);
    if (!buf)
        return SAFECAM_ERR_NOMEM;
    struct iovec iov = {.iov_base = buf, .iov_len = IPC_HEADER_BYTES + IPC_PAYLOAD_MAX_BYTES + 1};
    union {
        char raw[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.raw,
                        .msg_controllen = sizeof ctl.raw};
    ssize_t r;
    do {
        r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    int rc;
    int fd = -1;
    if (r < 0) {
        rc = (errno == ECONNRESET) ? SAFECAM_ERR_CLOSED : SAFECAM_ERR_IO;
        goto out;
    }
    /* Collect any passed descriptors first so none leaks, whatever happens next. */
    int extra_fds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int f;
            memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (fd < 0) {
                fd = f;
            } else {
                close(f);
                extra_fds++;
            }
        }
    }
    if (r == 0) {
        rc = SAFECAM_ERR_CLOSED;
        goto out;
    }
    if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || extra_fds) {
        rc = SAFECAM_ERR_PROTO;
        goto out;
    }
    rc = ipc_msg_decode(buf, (size_t)r, out);
    if (rc == SAFECAM_ERR_TOOBIG)
        rc = SAFECAM_ERR_PROTO;
    if (rc == 0) {
        out->fd = fd;
        fd = -1;
    }
out:
    if (fd >= 0)
        close(fd);
    explicit_bzero(buf, r > 0 ? (size_t)r : 0);
    free(buf);
    return rc;
}

/* Process-wide request ids: unique across threads, so a reply can never be taken for another call's. */
uint32_t ipc_call_id_new(void)
{
    static _Atomic uint32_t counter;
    uint32_t id;
    do {
        id = ++counter;
    } while (id == 0);
    return id;
}

int ipc_call(int sock, uint16_t type, const json_t *body, int fd, json_t **reply_out, int *fd_out,
             int timeout_ms)
{
    if (!reply_out)
        return SAFECAM_ERR_INVAL;
    *reply_out = NULL;
    if (fd_out)
        *fd_out = -1;
    uint32_t id = ipc_call_id_new();
    int rc = ipc_send(sock, type, 0, id, body, fd);
    if (rc != 0)
        return rc;
    int64_t deadline = safecam_time_mono_ms() + (timeout_ms >= 0 ? timeout_ms : 0);
    for (;;) {
        int left = -1;
        if (timeout_ms >= 0) {
            int64_t l = deadline - safecam_time_mono_ms();
            left = l > 0 ? (int)l : 0;
        }
        ipc_msg msg;
        rc = ipc_recv(sock, &msg, left);
        if (rc != 0)
            return rc;
        if (!(msg.flags & IPC_FLAG_REPLY)) {
            ipc_msg_clear(&msg);
            return SAFECAM_ERR_PROTO;
        }
        if (msg.id != id) {
            /* A late reply to an earlier call that timed out (of any type): drop it and keep waiting. */
            ipc_msg_clear(&msg);
            continue;
        }
        if (msg.type != type) {
            ipc_msg_clear(&msg);
            return SAFECAM_ERR_PROTO;
        }
        *reply_out = msg.body;
        msg.body = NULL;
        if (fd_out) {
            *fd_out = msg.fd;
            msg.fd = -1;
        }
        ipc_msg_clear(&msg);
        return 0;
    }
}

/* Answer req with body (stolen) on sock. */
static int answer(int sock, const ipc_msg *req, json_t *body, int reply_fd)
{
    if (!body) {
        if (reply_fd >= 0)
            close(reply_fd);
        return SAFECAM_ERR_NOMEM;
    }
    int rc = ipc_send(sock, req->type, IPC_FLAG_REPLY, req->id, body, reply_fd);
    json_decref(body);
    if (reply_fd >= 0)
        close(reply_fd);
    return rc;
}

int ipc_reply_send(int sock, uint16_t type, uint32_t id, json_t *body)
{
    if (sock < 0 || type == 0) {
        if (body)
            json_decref(body);
        return SAFECAM_ERR_CLOSED;
    }
    const ipc_msg req = {.type = type, .id = id, .fd = -1};
    return answer(sock, &req, body, -1);
}

/* The session policy of a row (IPC_NEEDS_SESSION, IPC_ADMIN): NULL when it holds, else the refusal code. */
static const char *session_refusal(const struct ipc_dispatcher *d, unsigned flags, void *ctx, const ipc_msg *req)
{
    const json_t *v = json_object_get(req->body, "session_id");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > IPC_SESSION_ID_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
        return "no_session";
    struct ipc_session s;
    memset(&s, 0, sizeof(s));
    int rc = d->session_check(ctx, json_string_value(v), &s);
    const char *code = NULL;
    if (rc == SAFECAM_ERR_NOTFOUND)
        code = "no_session";
    else if (rc != 0)
        code = "internal";
    else if (s.password_change_required)
        code = "password_change_required";
    else if ((flags & IPC_ADMIN) && strcmp(s.role, "admin") != 0)
        code = "forbidden";
    explicit_bzero(&s, sizeof(s));
    return code;
}

/* Run one row (type, flags, handler already chosen and allowed for peer). */
static int run_row(const struct ipc_dispatcher *d, unsigned flags, ipc_handler_fn handler, void *ctx, unsigned peer,
                   int sock, const ipc_msg *req)
{
    if (flags & (IPC_NEEDS_SESSION | IPC_ADMIN)) {
        const char *code = session_refusal(d, flags, ctx, req);
        if (code)
            return answer(sock, req, json_pack("{s:s}", "error", code), -1);
    }
    json_t *reply = NULL;
    int reply_fd = -1;
    int hrc = handler(ctx, peer, req, &reply, &reply_fd);
    if (hrc == IPC_HANDLER_DEFERRED) {
        /* The handler answers later (ipc_reply_send); it must not have filled a reply now. */
        if (reply)
            json_decref(reply);
        if (reply_fd >= 0)
            close(reply_fd);
        return 0;
    }
    if (!reply)
        reply = hrc == 0 ? json_pack("{s:b}", "ok", 1) : json_pack("{s:s}", "error", "internal");
    return answer(sock, req, reply, reply_fd);
}

int ipc_dispatcher_run(const struct ipc_dispatcher *d, struct ipc_channel_state *st, void *ctx, unsigned peer,
                       int sock, const ipc_msg *req)
{
    if (!d || !d->rules || d->n > IPC_RULES_MAX || !req)
        return SAFECAM_ERR_INVAL;
    if (req->flags & IPC_FLAG_REPLY)
        return SAFECAM_ERR_PROTO;
    size_t i;
    for (i = 0; i < d->n; i++)
        if (d->rules[i].type == req->type)
            break;
    if (i == d->n)
        return SAFECAM_ERR_PROTO;
    const struct ipc_rule *row = &d->rules[i];
    if (!(row->allowed_peers & peer) || !row->handler)
        return SAFECAM_ERR_PROTO;
    if ((row->flags & (IPC_NEEDS_SESSION | IPC_ADMIN)) && !d->session_check)
        return SAFECAM_ERR_INVAL; /* a table that cannot enforce its own policy serves nothing */
    if (row->flags & IPC_ONCE) {
        if (!st || (st->used & (UINT64_C(1) << i)))
            return SAFECAM_ERR_PROTO;
        st->used |= UINT64_C(1) << i;
    }
    return run_row(d, row->flags, row->handler, ctx, peer, sock, req);
}

int ipc_dispatch(const struct ipc_route *table, size_t n, void *ctx, unsigned peer, int sock,
                 const ipc_msg *req)
{
    if (!table || !req)
        return SAFECAM_ERR_INVAL;
    if (req->flags & IPC_FLAG_REPLY)
        return SAFECAM_ERR_PROTO;
    const struct ipc_route *route = NULL;
    for (size_t i = 0; i < n; i++) {
        if (table[i].type == req->type) {
            route = &table[i];
            break;
        }
    }
    if (!route || !(route->allowed_peers & peer) || !route->handler)
        return SAFECAM_ERR_PROTO;
    return run_row(NULL, 0, route->handler, ctx, peer, sock, req);
}

int ipc_channel_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        return SAFECAM_ERR_IO;
    return 0;
}
