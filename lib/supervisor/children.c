/* children.c — the supervisor's children: one per row of the child table, started with fork + exec under
 * the row's user (as root), wired to the peers their row links them to, watched by heartbeat, restarted
 * with back-off (supervisor.h) and stopped in reverse order. A child that breaks the protocol is killed
 * and audited; one killed by its syscall filter is audited as sandbox_violation.
 * QCVN 135 G8 (self-recovery) / EN 303 645 5.9-1; the walls: QCVN 135 G5 / EN 303 645 5.6-x. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "safecam/boot.h"
#include "safecam/core.h"
#include "safecam/proto.h"
#include "safecam/supervisor_run.h"

extern char **environ;

#define LISTEN_FD_ARG "4" /* SUPERVISOR_LISTEN_FD, as the children's --listen-fd argument */
_Static_assert(SUPERVISOR_LISTEN_FD == 4, "LISTEN_FD_ARG spells SUPERVISOR_LISTEN_FD");

/* Started as root, the supervisor binds the HTTPS and RTSPS ports itself and hands each listening socket
 * down (fd 4): the children run without any capability, so a privileged port (443, 322) is bound here,
 * and the socket outlives a child's restart. */
static int listen_socket_open(const char *addr, long port, int *out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof *s4;
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof *s6;
    } else {
        return SAFECAM_ERR_INVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        log_err("cannot listen on %s port %ld: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return SAFECAM_ERR_IO;
    }
    *out = fd;
    return 0;
}

int supervisor_listen_open(struct supervisor *s)
{
    for (size_t i = 0; s->separated && i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *c = &s->children[i];
        long port = c->row->peer == IPC_PEER_WEB     ? s->opts.https_port
                    : c->row->peer == IPC_PEER_MEDIA ? s->opts.rtsps_port
                                                     : 0;
        if (port && c->enabled && listen_socket_open(s->opts.bind, port, &c->listen_fd) != 0)
            return 1;
    }
    return 0;
}

static int children_rows_init(struct supervisor *s)
{
    const struct supervisor_row *rows = NULL;
    if (supervisor_rows(&rows) != SUPERVISOR_CHILDREN) {
        fprintf(stderr, "safecamd: the child table has an unexpected number of rows\n");
        return 1;
    }
    s->separated = geteuid() == 0;
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *c = &s->children[i];
        *c = (struct supervisor_child){
            .row = &rows[i], .name = rows[i].role,
            .enabled = rows[i].peer != IPC_PEER_DISCOVERY && rows[i].peer != IPC_PEER_LINK, .available = 1,
            .pid = -1, .fd = -1, .listen_fd = -1};
        supervisor_restart_init(&c->restart);
        if (s->separated && supervisor_row_ids(c->row, &c->uid, &c->gid) != 0 &&
            (c->row->peer == IPC_PEER_DISCOVERY || c->row->peer == IPC_PEER_LINK)) {
            /* an optional child: a camera whose users predate it runs without it */
            log_warn("user %s is missing: %s unavailable (scripts/create-users)", c->row->user, c->row->role);
            c->enabled = c->available = 0;
        } else if (s->separated && supervisor_row_ids(c->row, &c->uid, &c->gid) != 0) {
            fprintf(stderr,
                    "safecamd: user %s is missing or unfit (create the camera's users with "
                    "scripts/create-users, or install the package)\n",
                    c->row->user);
            return 1;
        }
    }
    return 0;
}

static struct supervisor_child *child_by_peer(struct supervisor *s, unsigned peer);
static int child_running(const struct supervisor_child *c);

/* Send the queued events to the vault while it runs (its dispatcher takes the supervisor's records). */
static void audit_queue_flush(struct supervisor *s)
{
    struct supervisor_child *v = child_by_peer(s, IPC_PEER_VAULT);
    if (!v || !child_running(v))
        return;
    if (s->audit_dropped && s->audit_queued < SUPERVISOR_AUDIT_QUEUE_MAX) {
        struct supervisor_audit_item *it = &s->audit_queue[s->audit_queued++];
        if (safecam_strlcpy(it->type, AUDIT_PROCESS_RESTART, sizeof it->type) != 0)
            it->type[0] = '\0';
        if (safecam_fmt(it->detail, sizeof it->detail, "%u supervisor events lost while the vault was down",
                        s->audit_dropped) != 0)
            it->detail[0] = '\0';
        s->audit_dropped = 0;
    }
    unsigned sent = 0;
    for (; sent < s->audit_queued; sent++) {
        const struct supervisor_audit_item *it = &s->audit_queue[sent];
        json_t *body = json_pack("{s:s, s:s, s:s}", "type", it->type, "actor", "supervisor", "detail", it->detail);
        int rc = body ? ipc_send(v->fd, PROTO_VAULT_AUDIT_RECORD, 0, s->next_msg_id++, body, -1) : SAFECAM_ERR_NOMEM;
        json_decref(body);
        if (rc != 0) {
            log_warn("audit: cannot send %s to the vault: %s", it->type, safecam_err_name(rc));
            break;
        }
    }
    memmove(s->audit_queue, s->audit_queue + sent, (s->audit_queued - sent) * sizeof s->audit_queue[0]);
    s->audit_queued -= sent;
}

void supervisor_audit_note(struct supervisor *s, const char *type, const char *detail)
{
    if (!audit_type_valid(type))
        return;
    if (s->audit_queued == SUPERVISOR_AUDIT_QUEUE_MAX) { /* keep the newest */
        memmove(s->audit_queue, s->audit_queue + 1, (SUPERVISOR_AUDIT_QUEUE_MAX - 1) * sizeof s->audit_queue[0]);
        s->audit_queued--;
        s->audit_dropped++;
    }
    struct supervisor_audit_item *it = &s->audit_queue[s->audit_queued++];
    if (safecam_strlcpy(it->type, type, sizeof it->type) != 0) {
        s->audit_queued--;
        return;
    }
    if (safecam_strlcpy(it->detail, detail ? detail : "", sizeof it->detail) != 0)
        it->detail[sizeof it->detail - 1] = '\0'; /* cut: the vault refuses invalid UTF-8, rare here */
    audit_queue_flush(s);
}

/* ---- child processes ---- */

static struct supervisor_child *child_by_peer(struct supervisor *s, unsigned peer)
{
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++)
        if (s->children[i].row->peer == peer)
            return &s->children[i];
    return NULL;
}

static int child_running(const struct supervisor_child *c)
{
    return c->pid > 0 && c->fd >= 0;
}

/* Environment for children: an allowlist, nothing else inherited. */
static char **child_env_build(void)
{
    static const char *const keep[] = {
        "PATH=",           "LANG=",    "TZ=",  "ASAN_OPTIONS=",     "UBSAN_OPTIONS=",
        "LSAN_OPTIONS=",   "SAFECAM_", "GST_", "G_MESSAGES_DEBUG=", "G_TLS_GNUTLS_PRIORITY=",
        "XDG_RUNTIME_DIR="};
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (char **e = environ; *e; e++)
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(keep); i++)
            if (strncmp(*e, keep[i], strlen(keep[i])) == 0) {
                env[k++] = *e;
                break;
            }
    env[k] = NULL;
    return env;
}

static int child_argv_build(struct supervisor *s, const struct supervisor_child *c, char *argv[16],
                            char bufs[4][PATH_MAX + 32])
{
    int n = 0;
    if (safecam_path_join(bufs[0], sizeof bufs[0], s->exe_dir, c->row->exe_name) != 0)
        return -1;
    argv[n++] = bufs[0];
    argv[n++] = (char *)"--state-dir";
    argv[n++] = s->opts.state_dir;
    argv[n++] = (char *)"--ipc-fd";
    argv[n++] = (char *)"3";
    if (c->row->peer == IPC_PEER_WEB) {
        if (safecam_fmt(bufs[1], sizeof bufs[1], "%ld", s->opts.https_port) != 0)
            return -1;
        argv[n++] = (char *)"--bind";
        argv[n++] = s->opts.bind;
        argv[n++] = (char *)"--https-port";
        argv[n++] = bufs[1];
        /* the RTSPS port too: GET /api/v1/settings/network tells installers the real stream URLs */
        if (safecam_fmt(bufs[2], sizeof bufs[2], "%ld", s->opts.rtsps_port) != 0)
            return -1;
        argv[n++] = (char *)"--rtsps-port";
        argv[n++] = bufs[2];
        if (s->opts.ui_dir[0]) {
            argv[n++] = (char *)"--ui-dir";
            argv[n++] = s->opts.ui_dir;
        }
    } else if (c->row->peer == IPC_PEER_DISCOVERY) {
        if (safecam_fmt(bufs[1], sizeof bufs[1], "%ld", s->opts.https_port) != 0)
            return -1;
        argv[n++] = (char *)"--bind";
        argv[n++] = s->opts.bind;
        argv[n++] = (char *)"--https-port";
        argv[n++] = bufs[1];
    } else if (c->row->peer == IPC_PEER_MEDIA) {
        if (safecam_fmt(bufs[1], sizeof bufs[1], "%ld", s->opts.rtsps_port) != 0)
            return -1;
        argv[n++] = (char *)"--bind";
        argv[n++] = s->opts.bind;
        argv[n++] = (char *)"--rtsps-port";
        argv[n++] = bufs[1];
        argv[n++] = (char *)"--source";
        argv[n++] = s->opts.source;
        if (s->opts.rtsp_digest)
            argv[n++] = (char *)"--rtsp-digest";
    }
    if (c->listen_fd >= 0) {
        argv[n++] = (char *)"--listen-fd";
        argv[n++] = (char *)LISTEN_FD_ARG;
    }
    argv[n] = NULL;
    return 0;
}

static int send_channel(struct supervisor *s, struct supervisor_child *to, unsigned peer, int fd)
{
    json_t *body = json_pack("{s:s}", "peer", ipc_peer_name(peer));
    if (!body)
        return SAFECAM_ERR_NOMEM;
    int rc = ipc_send(to->fd, PROTO_SUP_CHANNEL, 0, s->next_msg_id++, body, fd);
    json_decref(body);
    return rc;
}

/* Give a freshly started child a new channel to each running peer its row links it to. */
static void child_links_wire(struct supervisor *s, struct supervisor_child *c)
{
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *other = &s->children[i];
        if (other == c || !(c->row->links & other->row->peer) || !child_running(other))
            continue;
        int sv[2];
        if (ipc_channel_pair(sv) != 0) {
            log_err("socketpair failed: %s", strerror(errno));
            continue;
        }
        int rc1 = send_channel(s, c, other->row->peer, sv[0]);
        int rc2 = send_channel(s, other, c->row->peer, sv[1]);
        if (rc1 != 0 || rc2 != 0)
            log_warn("could not wire %s <-> %s", c->name, other->name);
        close(sv[0]);
        close(sv[1]);
    }
}

/* Hand a and b a fresh pair (each replaces its older channel to the other). */
static int child_pair_wire(struct supervisor *s, struct supervisor_child *a, struct supervisor_child *b)
{
    int sv[2];
    if (ipc_channel_pair(sv) != 0) {
        log_err("socketpair failed: %s", strerror(errno));
        return SAFECAM_ERR_IO;
    }
    int rc1 = send_channel(s, a, b->row->peer, sv[0]);
    int rc2 = send_channel(s, b, a->row->peer, sv[1]);
    close(sv[0]);
    close(sv[1]);
    return rc1 != 0 ? rc1 : rc2;
}

int supervisor_channel_renew(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct supervisor *s = ctx;
    (void)reply_fd;
    struct supervisor_child *c = child_by_peer(s, peer);
    const char *name = json_string_value(json_object_get(req->body, "peer"));
    unsigned p = name && json_object_size(req->body) == 1 ? ipc_peer_from_name(name) : 0;
    struct supervisor_child *other = p ? child_by_peer(s, p) : NULL;
    if (!c || !other || other == c || !(c->row->links & p)) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "peer");
        return 0;
    }
    /* The supervisor's own back-off: a child that keeps losing its channel (a compromised web breaking the
     * vault's protocol on purpose, each time audited by the vault) gets a fresh one at most every 5 s. */
    int64_t now = safecam_time_mono_ms();
    if (c->renew_gap_ms < SUPERVISOR_RENEW_MIN_MS || now - c->renew_at_ms >= SUPERVISOR_RENEW_QUIET_MS)
        c->renew_gap_ms = SUPERVISOR_RENEW_MIN_MS;
    if (c->renew_at_ms && now - c->renew_at_ms < c->renew_gap_ms) {
        *reply = json_pack("{s:s}", "error", "busy");
        return 0;
    }
    if (!child_running(other)) {
        *reply = json_pack("{s:s}", "error", "peer_down"); /* wired when it starts */
        return 0;
    }
    if (c->renew_at_ms)
        c->renew_gap_ms = c->renew_gap_ms >= SUPERVISOR_RENEW_MAX_MS / 2 ? SUPERVISOR_RENEW_MAX_MS
                                                                          : c->renew_gap_ms * 2;
    c->renew_at_ms = now;
    log_info("%s lost its channel to %s: a fresh one to both", c->name, other->name);
    int rc = child_pair_wire(s, c, other);
    if (rc != 0) {
        log_warn("could not re-wire %s <-> %s", c->name, other->name);
        if (rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_IO)
            return 0; /* the dead side is reaped and restarted (its peers re-wired then) */
        *reply = json_pack("{s:s}", "error", "internal");
    }
    return 0;
}

static void child_config_push(struct supervisor *s, struct supervisor_child *c)
{
    if (c->row->peer != IPC_PEER_MEDIA || !child_running(c))
        return;
    json_t *stream = config_stream_to_json(&s->config.stream);
    json_t *recording = config_recording_to_json(&s->config.recording);
    json_t *body = stream && recording ? json_pack("{s:o,s:o}", "stream", stream, "recording", recording) : NULL;
    if (!body) {
        json_decref(stream);
        json_decref(recording);
    }
    if (!body)
        return;
    if (ipc_send(c->fd, PROTO_SUP_MEDIA_APPLY, 0, s->next_msg_id++, body, -1) != 0)
        log_warn("could not send stream settings to media");
    json_decref(body);
}

static int child_start(struct supervisor *s, struct supervisor_child *c)
{
    int sv[2];
    if (ipc_channel_pair(sv) != 0)
        return SAFECAM_ERR_IO;
    char *argv[16];
    char bufs[4][PATH_MAX + 32];
    char **env = child_env_build();
    if (!env || child_argv_build(s, c, argv, bufs) != 0) {
        free(env);
        close(sv[0]);
        close(sv[1]);
        return SAFECAM_ERR_INTERNAL;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        free(env);
        close(sv[0]);
        close(sv[1]);
        return SAFECAM_ERR_IO;
    }
    if (pid == 0) {
        /* Child: channel on fd 3, stdin from /dev/null, every other descriptor closed. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        /* move both descriptors above the two fixed numbers first, so one dup2 cannot close the other
         * (the listening socket may itself be fd 3 or 4 when nothing else is open in the supervisor) */
        int chan = sv[1] > SUPERVISOR_LISTEN_FD ? sv[1] : fcntl(sv[1], F_DUPFD, SUPERVISOR_LISTEN_FD + 1);
        int lfd = c->listen_fd < 0 || c->listen_fd > SUPERVISOR_LISTEN_FD
                      ? c->listen_fd
                      : fcntl(c->listen_fd, F_DUPFD, SUPERVISOR_LISTEN_FD + 1);
        if (chan < 0 || (c->listen_fd >= 0 && lfd < 0) || dup2(chan, SUPERVISOR_CHILD_FD) < 0)
            _exit(127);
        /* the child must not outlive its supervisor (a killed supervisor leaves no orphan on a port) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        if (lfd >= 0 && dup2(lfd, SUPERVISOR_LISTEN_FD) != SUPERVISOR_LISTEN_FD)
            _exit(127);
        closefrom(c->listen_fd >= 0 ? SUPERVISOR_LISTEN_FD + 1 : SUPERVISOR_CHILD_FD + 1);
        /* its own user for good, before exec: the child raises the rest of its walls itself */
        if (s->separated && sandbox_identity_switch(c->uid, c->gid) != 0)
            _exit(127);
        execve(argv[0], argv, env);
        fprintf(stderr, "safecamd: cannot exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(env);
    close(sv[1]);
    c->pid = pid;
    c->fd = sv[0];
    supervisor_restart_started(&c->restart, safecam_time_mono_ms());
    supervisor_heartbeat_reset(&c->hb);
    log_info("started %s (pid %d)", c->name, (int)pid);
    child_links_wire(s, c);
    child_config_push(s, c);
    if (c->row->peer == IPC_PEER_VAULT)
        audit_queue_flush(s); /* what happened while it was down */
    return 0;
}

/* A child went away (exit, signal, protocol violation or missed heartbeats): schedule its restart. */
static void child_down(struct supervisor *s, struct supervisor_child *c, const char *why)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (!c->enabled) { /* stopped on purpose (discovery switched off): no restart, nothing to audit */
        log_info("%s stopped (%s)", c->name, why);
        return;
    }
    int delay = supervisor_restart_down(&c->restart, safecam_time_mono_ms());
    char detail[256];
    if (safecam_fmt(detail, sizeof detail, "%s %s; restart #%u in %d ms", c->name, why, c->restart.restarts,
                    delay) != 0)
        detail[0] = '\0';
    log_warn("%s", detail);
    supervisor_audit_note(s, AUDIT_PROCESS_RESTART, detail);
}

/* Send sig to a running child. A separated child runs as its own user, and the packaged unit gives the
 * supervisor no CAP_KILL: the kernel then lets a signal through only from a thread whose effective uid is
 * the child's. So on EPERM this thread takes the child's uid for the one call and then its own back (its
 * saved uid, 0, allows that). setresuid as a raw system call changes the calling thread only; the C
 * library's wrapper would change every thread of the process. */
static void child_signal(const struct supervisor_child *c, int sig)
{
    if (c->pid <= 0 || kill(c->pid, sig) == 0 || errno != EPERM || c->uid == 0)
        return;
    uid_t self = geteuid();
    if (syscall(SYS_setresuid, (uid_t)-1, c->uid, (uid_t)-1) != 0) {
        log_err("cannot signal %s: %s", c->name, strerror(errno));
        return;
    }
    if (kill(c->pid, sig) != 0)
        log_err("cannot signal %s: %s", c->name, strerror(errno));
    if (syscall(SYS_setresuid, (uid_t)-1, self, (uid_t)-1) != 0)
        abort(); /* a supervisor left with a child's identity must not go on */
}

static void child_kill(struct supervisor_child *c, const char *why)
{
    child_signal(c, SIGKILL);
    /* The reap in children_reap() finishes the bookkeeping; close the channel now. */
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    log_warn("killed %s: %s", c->name, why);
}

void supervisor_children_reap(struct supervisor *s)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
            struct supervisor_child *c = &s->children[i];
            if (c->pid != pid)
                continue;
            c->pid = -1;
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
                /* SECCOMP_RET_KILL_PROCESS: a call outside the row's allowlist (sandbox.h) */
                char detail[128];
                if (safecam_fmt(detail, sizeof detail, "process=%s killed by its syscall filter (SIGSYS)",
                                c->name) != 0)
                    detail[0] = '\0';
                log_err("%s", detail);
                supervisor_audit_note(s, AUDIT_SANDBOX_VIOLATION, detail);
            }
            char why[64];
            int frc = WIFSIGNALED(status)
                          ? safecam_fmt(why, sizeof why, "killed by signal %d", WTERMSIG(status))
                          : safecam_fmt(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
            if (frc != 0)
                why[0] = '\0';
            child_down(s, c, why);
        }
    }
}

void supervisor_child_readable(struct supervisor *s, struct supervisor_child *c)
{
    ipc_msg msg;
    int rc = ipc_recv(c->fd, &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return;
    if (rc != 0) {
        if (rc == SAFECAM_ERR_PROTO) {
            supervisor_audit_note(s, AUDIT_PROTOCOL_VIOLATION, c->name);
            child_kill(c, "malformed message");
        } else {
            /* Channel closed: the child is exiting; SIGCHLD does the rest. */
            close(c->fd);
            c->fd = -1;
            child_signal(c, SIGKILL);
        }
        return;
    }
    if (msg.flags & IPC_FLAG_REPLY) {
        if (msg.type == PROTO_SUP_HEARTBEAT)
            (void)supervisor_heartbeat_answer(&c->hb, msg.id);
        ipc_msg_clear(&msg);
        return;
    }
    rc = ipc_dispatch(supervisor_settings_routes, supervisor_settings_routes_len, s, c->row->peer, c->fd,
                      &msg);
    ipc_msg_clear(&msg);
    if (rc == SAFECAM_ERR_PROTO) {
        supervisor_audit_note(s, AUDIT_PROTOCOL_VIOLATION, c->name);
        child_kill(c, "message type not allowed");
    } else if (rc == SAFECAM_ERR_TIMEOUT) {
        supervisor_audit_note(s, AUDIT_PROTOCOL_VIOLATION, c->name);
        child_kill(c, "does not read its replies");
    } else if (rc != 0) {
        child_kill(c, "channel error");
    }
}

void supervisor_heartbeats_tick(struct supervisor *s)
{
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *c = &s->children[i];
        if (!child_running(c))
            continue;
        switch (supervisor_heartbeat_tick(&c->hb, s->next_msg_id)) {
        case SUPERVISOR_HEARTBEAT_KILL:
            child_kill(c, "missed heartbeats");
            break;
        case SUPERVISOR_HEARTBEAT_SEND:
            s->next_msg_id++;
            if (ipc_send(c->fd, PROTO_SUP_HEARTBEAT, 0, c->hb.id, NULL, -1) != 0)
                child_kill(c, "heartbeat send failed");
            break;
        case SUPERVISOR_HEARTBEAT_WAIT:
            break;
        }
    }
}

/* systemd watchdog / readiness (sd_notify protocol), only when NOTIFY_SOCKET is set.
 * The watchdog is fed only while every enabled child answers its heartbeat. */
void supervisor_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@'))
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

int supervisor_children_healthy(const struct supervisor *s)
{
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++)
        if (s->children[i].enabled &&
            (!child_running(&s->children[i]) || !supervisor_heartbeat_healthy(&s->children[i].hb)))
            return 0;
    return 1;
}

void supervisor_children_shutdown(struct supervisor *s)
{
    for (size_t i = SUPERVISOR_CHILDREN; i-- > 0;) {
        struct supervisor_child *c = &s->children[i];
        /* SHUTDOWN is queued behind what the child has still to read (its channels, say), so it answers
         * its peers' last requests first; SIGTERM only when the channel is gone. (It used to get both,
         * and SIGTERM overtook the queue: the vault dropped an audit record update sent just before.) */
        if (child_running(c) && ipc_send(c->fd, PROTO_SUP_SHUTDOWN, 0, s->next_msg_id++, NULL, -1) == 0)
            continue;
        child_signal(c, SIGTERM);
    }
    int64_t deadline = safecam_time_mono_ms() + SUPERVISOR_SHUTDOWN_GRACE_MS;
    for (;;) {
        int alive = 0;
        for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
            struct supervisor_child *c = &s->children[i];
            if (c->pid > 0) {
                if (waitpid(c->pid, NULL, WNOHANG) == c->pid)
                    c->pid = -1;
                else
                    alive++;
            }
        }
        if (!alive)
            break;
        if (safecam_time_mono_ms() > deadline) {
            for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++)
                if (s->children[i].pid > 0) {
                    child_signal(&s->children[i], SIGKILL);
                    waitpid(s->children[i].pid, NULL, 0);
                    s->children[i].pid = -1;
                }
            break;
        }
        usleep(20000);
    }
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++)
        if (s->children[i].fd >= 0) {
            close(s->children[i].fd);
            s->children[i].fd = -1;
        }
}

static int exe_dir_find(struct supervisor *s)
{
    const char *env = getenv(BOOT_ENV_LIBEXEC);
    if (env && *env)
        return safecam_strlcpy(s->exe_dir, env, sizeof s->exe_dir);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return SAFECAM_ERR_IO;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return SAFECAM_ERR_IO;
    *slash = '\0';
    return safecam_strlcpy(s->exe_dir, self, sizeof s->exe_dir);
}

/* ---- the PC boot chain (lib/boot): A/B slot choice, verified boot, the boot watchdog ---- */

int supervisor_children_init(struct supervisor *s)
{
    if (children_rows_init(s) != 0)
        return 1;
    if (exe_dir_find(s) != 0) {
        fprintf(stderr, "safecamd: cannot locate the helper executables\n");
        return 1;
    }
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *c = &s->children[i];
        char p[PATH_MAX];
        if (!c->available)
            continue;
        if (c->row->peer == IPC_PEER_MEDIA && s->opts.no_media) {
            c->enabled = 0;
            continue;
        }
        if (safecam_path_join(p, sizeof p, s->exe_dir, c->row->exe_name) != 0 || access(p, X_OK) != 0) {
            if (c->row->peer == IPC_PEER_MEDIA || c->row->peer == IPC_PEER_UPDATE ||
                c->row->peer == IPC_PEER_DISCOVERY || c->row->peer == IPC_PEER_LINK) {
                log_warn("%s not found: running without it", c->row->exe_name);
                c->enabled = 0;
                c->available = 0;
                continue;
            }
            fprintf(stderr, "safecamd: missing helper executable %s\n", p);
            return 1;
        }
    }
    return 0;
}

void supervisor_children_start_due(struct supervisor *s, int64_t now_ms)
{
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *c = &s->children[i];
        if (c->enabled && c->pid < 0 && supervisor_restart_due(&c->restart, now_ms) &&
            child_start(s, c) != 0) {
            log_err("cannot start %s", c->name);
            supervisor_restart_retry(&c->restart, now_ms);
        }
    }
}

/* Start (on the next loop turn) or stop a child that runs only while a setting asks for it: stopped by a
 * shutdown message (it exits and is reaped without a restart), SIGTERM if it cannot be told. */
static void child_enable(struct supervisor *s, struct supervisor_child *c, int want, const char *on, const char *off)
{
    if (want == c->enabled)
        return;
    c->enabled = want;
    if (want) {
        supervisor_restart_init(&c->restart); /* due now: started by the next loop turn */
        log_info("%s: starting %s", on, c->name);
        return;
    }
    log_info("%s: stopping %s", off, c->name);
    if (child_running(c) && ipc_send(c->fd, PROTO_SUP_SHUTDOWN, 0, s->next_msg_id++, NULL, -1) == 0)
        return;
    child_signal(c, SIGTERM);
}

void supervisor_discovery_apply(struct supervisor *s)
{
    struct supervisor_child *c = child_by_peer(s, IPC_PEER_DISCOVERY);
    if (c)
        child_enable(s, c, c->available && s->config.onvif.enabled && s->config.onvif.discovery,
                     "discovery switched on", "discovery switched off");
}

void supervisor_link_apply(struct supervisor *s, int configured)
{
    struct supervisor_child *c = child_by_peer(s, IPC_PEER_LINK);
    if (c)
        child_enable(s, c, c->available && configured, "a linked service is configured",
                     "no linked service is configured");
}

void supervisor_media_config_push(struct supervisor *s)
{
    child_config_push(s, child_by_peer(s, IPC_PEER_MEDIA));
}
