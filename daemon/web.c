/* web.c — safecam-web: the HTTPS admin API and web UI process, wiring only (the logic is in lib/http).
 * Started by safecamd with its supervisor channel on --ipc-fd; network-facing and unprivileged: it gets
 * the TLS credentials and every decision about passwords and sessions from the vault over IPC. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "safecam/backoff.h"
#include "safecam/core.h"
#include "safecam/http.h"
#include "safecam/ipc.h"
#include "safecam/ipc_child.h"
#include "safecam/proto.h"
#include "safecam/sandbox.h"

struct web_ctx {
    http_server *srv;
    int sup_fd; /* the supervisor channel (owned by the ipc_child) */
    int started;
    int start_last_rc;            /* the error last logged for the start, 0: none */
    struct safecam_backoff start; /* HTTPS start: the vault's TLS credentials */
    unsigned lost_logged;         /* IPC_PEER_* whose lost channel was logged and is being asked for */
    struct safecam_backoff renew[3]; /* fresh channel asked for: [0] vault, [1] media, [2] update */
    uint32_t renew_id;
};

/* A reply of the supervisor to one of the server's requests (settings). */
static void on_sup_reply(void *ctx, unsigned peer, ipc_msg *msg)
{
    struct web_ctx *w = ctx;
    (void)peer;
    http_server_sup_reply(w->srv, msg);
}

/* A lost channel to peer (vault, media or update): ask the supervisor for a fresh pair, with back-off. One log line
 * when it is lost, none per retry. Returns the wait in ms until the next question. */
static int channel_renew(struct web_ctx *w, unsigned peer, struct safecam_backoff *b, int64_t now)
{
    if (!(w->lost_logged & peer)) {
        log_warn("channel to %s lost: asking the supervisor for a fresh one", ipc_peer_name(peer));
        w->lost_logged |= peer;
        safecam_backoff_reset(b);
    }
    if (!safecam_backoff_due(b, now))
        return (int)(b->next_ms - now);
    json_t *body = json_pack("{s:s}", "peer", ipc_peer_name(peer));
    /* ids below the server's own (0x40000000 on): the reply is not awaited and dropped */
    if (body && ipc_send(w->sup_fd, PROTO_SUP_CHANNEL_RENEW, 0, 0x20000000u + (w->renew_id++ & 0xfffffffu), body,
                         -1) != 0)
        log_warn("cannot ask the supervisor for a channel to %s", ipc_peer_name(peer));
    json_decref(body);
    return safecam_backoff_failed(b, now);
}

/* Start HTTPS once the vault answers, retried with bounded back-off (100 ms doubling to 5 s, for as long as
 * the process runs; each attempt waits at most TLS_CREDENTIALS_TIMEOUT_MS so heartbeats are answered in
 * between); a socket that cannot be bound ends the process, so the supervisor restarts it with back-off.
 * Lost vault and media channels are asked for again. One log line per change of state.
 * QCVN 135 G8 / EN 303 645 5.9-1. */
static int on_tick(void *ctx, int *timeout_ms)
{
    struct web_ctx *w = ctx;
    int64_t now = safecam_time_mono_ms();
    int wait = w->started ? 1000 : 200;
    unsigned lost = http_server_channels_lost(w->srv);
    static const unsigned peers[3] = {IPC_PEER_VAULT, IPC_PEER_MEDIA, IPC_PEER_UPDATE};
    for (size_t i = 0; i < 3; i++) {
        if (lost & peers[i]) {
            int n = channel_renew(w, peers[i], &w->renew[i], now);
            wait = n < wait ? n : wait;
        } else if (w->lost_logged & peers[i]) {
            w->lost_logged &= ~peers[i]; /* the ipc_child logs the new channel */
        }
    }
    if (!w->started && !(lost & IPC_PEER_VAULT) && safecam_backoff_due(&w->start, now)) {
        int rc = http_server_start(w->srv);
        if (rc == 0) {
            if (w->start_last_rc)
                log_info("TLS credentials from the vault after %u attempts: HTTPS listens", w->start.failures + 1);
            w->started = 1;
            safecam_backoff_reset(&w->start);
        } else if (rc == SAFECAM_ERR_IO || rc == SAFECAM_ERR_INVAL) {
            return 1; /* cannot bind */
        } else {
            safecam_backoff_log_failure(&w->start, rc, &w->start_last_rc,
                                        "HTTPS waits for the TLS credentials from the vault");
            int n = safecam_backoff_failed(&w->start, safecam_time_mono_ms());
            wait = n < wait ? n : wait;
        }
    } else if (!w->started) {
        int n = (int)(w->start.next_ms - now);
        wait = n < wait ? n : wait;
    }
    *timeout_ms = wait < 1 ? 1 : wait;
    return 0;
}

/* A channel to vault, media or update: the server owns it from now on. A fresh vault channel before HTTPS
 * runs: the credentials are asked for at once, the back-off starts again. */
static int on_channel_take(void *ctx, unsigned peer, int fd)
{
    struct web_ctx *w = ctx;
    if (peer == IPC_PEER_VAULT && !w->started)
        safecam_backoff_reset(&w->start);
    return http_server_channel_set(w->srv, ipc_peer_name(peer), fd);
}

static void usage(void)
{
    fprintf(stderr, "usage: safecam-web --state-dir DIR --ipc-fd N [--bind ADDR] [--https-port N] [--ui-dir DIR]\n"
                    "                   [--listen-fd N] [--rtsps-port N]\n");
}

int main(int argc, char **argv)
{
    const char *state_dir = NULL;
    const char *bind_addr = HTTP_DEFAULT_BIND;
    const char *ui_dir = NULL;
    long port = HTTP_DEFAULT_PORT;
    long rtsps_port = HTTP_DEFAULT_RTSPS_PORT;
    long ipc_fd = -1;
    long listen_fd = -1;
    /* every option takes a value: step over both */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--state-dir") == 0) {
            state_dir = v;
        } else if (strcmp(a, "--bind") == 0) {
            bind_addr = v;
        } else if (strcmp(a, "--ui-dir") == 0) {
            ui_dir = v;
        } else if (strcmp(a, "--https-port") == 0) {
            if (safecam_parse_long(v, 1, 65535, &port) != 0) {
                fprintf(stderr, "safecam-web: --https-port must be 1..65535\n");
                return 2;
            }
        } else if (strcmp(a, "--rtsps-port") == 0) {
            /* only reported (GET /api/v1/settings/network): the media process serves it */
            if (safecam_parse_long(v, 1, 65535, &rtsps_port) != 0) {
                fprintf(stderr, "safecam-web: --rtsps-port must be 1..65535\n");
                return 2;
            }
        } else if (strcmp(a, "--listen-fd") == 0) {
            /* a listening socket the supervisor bound (a privileged port) */
            int type = 0, listening = 0;
            socklen_t tl = sizeof type, ll = sizeof listening;
            if (safecam_parse_long(v, 3, 1023, &listen_fd) != 0 ||
                getsockopt((int)listen_fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
                getsockopt((int)listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening) {
                fprintf(stderr, "safecam-web: --listen-fd must be a listening TCP socket 3..1023\n");
                return 2;
            }
            (void)fcntl((int)listen_fd, F_SETFD, FD_CLOEXEC);
        } else if (strcmp(a, "--ipc-fd") == 0) {
            if (safecam_parse_long(v, 3, 1023, &ipc_fd) != 0) {
                fprintf(stderr, "safecam-web: --ipc-fd must be a descriptor number 3..1023\n");
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (!state_dir || ipc_fd < 0) {
        usage();
        return 2;
    }
    struct stat st;
    if (fstat((int)ipc_fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "safecam-web: --ipc-fd %ld is not a socket\n", ipc_fd);
        return 2;
    }
    (void)fcntl((int)ipc_fd, F_SETFD, FD_CLOEXEC);
    safecam_log_init("web", SAFECAM_LOG_INFO);
    /* First touch of untrusted input comes later: wall the process in now (sandbox.h), with the UI
     * directory it will serve in its view. */
    char ui_default[PATH_MAX];
    if (!ui_dir && http_ui_dir_default(ui_default, sizeof ui_default) == 0)
        ui_dir = ui_default;
    /* the SBOM lies outside the walls' view: read it now (absent in a build without one: 404 then) */
    char sbom_path[PATH_MAX];
    char *sbom = NULL;
    size_t sbom_len = 0;
    int sbom_rc = http_sbom_path_default(sbom_path, sizeof sbom_path);
    if (sbom_rc == 0)
        sbom_rc = http_sbom_read(sbom_path, &sbom, &sbom_len);
    const struct sandbox_paths walls = {.state_dir = state_dir, .ui_dir = ui_dir};
    if (sandbox_child_enter("web", &walls) != 0) {
        free(sbom);
        return 1;
    }
    if (sbom_rc != 0)
        log_warn("SBOM %s not served: %s", sbom_path, safecam_err_name(sbom_rc));
    if (sodium_init() < 0) {
        log_err("libsodium could not be initialised");
        free(sbom);
        return 1;
    }

    const volatile sig_atomic_t *stop_requested = ipc_child_signals_install();

    struct http_server_config cfg = {
        .state_dir = state_dir,
        .bind_addr = bind_addr,
        .port = (unsigned)port,
        .rtsps_port = (unsigned)rtsps_port,
        .ui_dir = ui_dir,
        .listen_fd = (int)listen_fd,
        .sup_fd = (int)ipc_fd,
        .sbom = sbom,
        .sbom_len = sbom_len,
    };
    struct web_ctx w = {.sup_fd = (int)ipc_fd};
    safecam_backoff_reset(&w.start);
    safecam_backoff_reset(&w.renew[0]);
    safecam_backoff_reset(&w.renew[1]);
    safecam_backoff_reset(&w.renew[2]);
    int rc = http_server_new(&cfg, &w.srv);
    if (rc != 0) {
        fprintf(stderr, "safecam-web: invalid configuration (--bind must be an IP address)\n");
        free(sbom);
        return 2;
    }
    ipc_child *child = NULL;
    const struct ipc_child_config cc = {
        .role = "web",
        .sup_fd = (int)ipc_fd,
        .channel_peers = IPC_PEER_VAULT | IPC_PEER_MEDIA | IPC_PEER_UPDATE | IPC_PEER_LINK,
        .sup_reply = on_sup_reply,
        .channel_take = on_channel_take,
        .ctx = &w,
    };
    if (ipc_child_new(&cc, &child) != 0) {
        http_server_free(w.srv);
        free(sbom);
        return 1;
    }
    const struct ipc_child_loop loop = {.signalled = stop_requested, .timeout_ms = 200, .tick = on_tick};
    rc = ipc_child_run(child, &loop);
    int exit_code = rc != 0 && !*stop_requested ? 1 : 0;
    http_server_free(w.srv);
    ipc_child_free(child);
    free(sbom); /* after the server: it served the buffer */
    log_info("stopped");
    return exit_code;
}
