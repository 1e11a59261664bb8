/* update.c — safecam-update, the firmware update process: wiring only (options, service, loop). The service
 * (lib/update/service.c) verifies and installs signed bundles into the inactive A/B slot, fed by web through
 * a pipe or downloaded over HTTPS with a pinned CA, audits through the vault, and asks the supervisor to
 * restart into a new slot. Trust level: no listening socket; web's requests and every bundle byte are
 * untrusted (checked in lib/update). QCVN 135 G3 / EN 303 645 5.3; G8.
 * Usage: safecam-update --state-dir DIR --ipc-fd N   (started by safecamd with fork+exec). */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/backoff.h"
#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/ipc_child.h"
#include "safecam/proto.h"
#include "safecam/sandbox.h"
#include "safecam/statedir.h"
#include "safecam/update_service.h"

#define POLL_MS 1000

static void usage(void)
{
    fprintf(stderr, "usage: safecam-update --state-dir DIR --ipc-fd N\n");
}

/* ---------------------------------------------------------------- hooks of the child loop */

/* The vault channel: when it dies (closed by the vault, broken framing), a fresh one is asked of the
 * supervisor with bounded back-off (safecam/backoff.h), one log line when it is lost. QCVN 135 G8. */
static int sup_fd = -1;
static int vault_lost;
static struct safecam_backoff vault_renew;
static uint32_t renew_id = 0x20000000u; /* the supervisor's reply is not awaited (dropped) */

static void on_channel_changed(void *ctx, unsigned peer, int fd)
{
    update_service_channel_set(ctx, peer, fd);
    if (peer == IPC_PEER_VAULT && fd < 0 && !vault_lost) {
        log_warn("update: vault channel lost: asking the supervisor for a fresh one");
        vault_lost = 1;
        safecam_backoff_reset(&vault_renew);
    } else if (peer == IPC_PEER_VAULT && fd >= 0) {
        vault_lost = 0;
    }
}

static void vault_renew_tick(int *timeout_ms)
{
    int64_t now = safecam_time_mono_ms();
    int wait;
    if (safecam_backoff_due(&vault_renew, now)) {
        json_t *body = json_pack("{s:s}", "peer", "vault");
        if (body && ipc_send(sup_fd, PROTO_SUP_CHANNEL_RENEW, 0, renew_id++, body, -1) != 0)
            log_warn("update: cannot ask the supervisor for a vault channel");
        json_decref(body);
        wait = safecam_backoff_failed(&vault_renew, now);
    } else {
        wait = (int)(vault_renew.next_ms - now);
    }
    if (wait < *timeout_ms)
        *timeout_ms = wait < 1 ? 1 : wait;
}

static void on_violation(void *ctx, unsigned peer, const ipc_msg *msg)
{
    (void)msg;
    update_service_violation(ctx, peer);
}

static int on_web_request(void *ctx, unsigned peer, int fd, const ipc_msg *msg)
{
    (void)peer;
    return update_service_check_request(ctx, fd, msg);
}

static void on_vault_reply(void *ctx, unsigned peer, ipc_msg *msg)
{
    (void)peer;
    update_service_vault_reply(ctx, msg);
}

static int on_tick(void *ctx, int *timeout_ms)
{
    int rc = update_service_tick(ctx, timeout_ms);
    if (rc == 0 && vault_lost)
        vault_renew_tick(timeout_ms);
    return rc;
}

static size_t on_extra_fds(void *ctx, struct pollfd *pfd, size_t max)
{
    return update_service_pollfds(ctx, pfd, max);
}

static void on_extra_ready(void *ctx, const struct pollfd *pfd, size_t n)
{
    update_service_pollfds_ready(ctx, pfd, n);
}

int main(int argc, char **argv)
{
    const char *state_dir = NULL;
    long ipc_fd = -1;
    update_service *svc = NULL;
    ipc_child *child = NULL;
    int status = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            state_dir = argv[++i];
        } else if (strcmp(argv[i], "--ipc-fd") == 0 && i + 1 < argc) {
            if (safecam_parse_long(argv[++i], 3, 1023, &ipc_fd) != 0) {
                usage();
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
    struct stat sb;
    if (fstat((int)ipc_fd, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "safecam-update: --ipc-fd %ld is not a socket\n", ipc_fd);
        return 2;
    }
    (void)fcntl((int)ipc_fd, F_SETFD, FD_CLOEXEC);
    safecam_log_init("update", SAFECAM_LOG_INFO);
    umask(022);
    /* Wall the process in before any thread starts or a bundle byte arrives (sandbox.h). */
    const struct sandbox_paths walls = {.state_dir = state_dir};
    if (sandbox_child_enter("update", &walls) != 0)
        return 1;
    const volatile sig_atomic_t *got_signal = ipc_child_signals_install();
    if (sodium_init() < 0) {
        log_err("update: libsodium cannot start");
        return 1;
    }
    if (update_service_new(state_dir, &svc) != 0)
        return 1;

    size_t n_web = 0;
    const struct ipc_route *web_routes = update_service_web_routes(&n_web);
    const struct ipc_child_peer peers[] = {
        {.peer = IPC_PEER_WEB, .routes = web_routes, .n_routes = n_web, .on_request = on_web_request},
        {.peer = IPC_PEER_VAULT, .on_reply = on_vault_reply},
    };
    const struct ipc_child_config cc = {
        .role = "update",
        .sup_fd = (int)ipc_fd,
        .channel_peers = IPC_PEER_WEB | IPC_PEER_VAULT,
        .peers = peers,
        .n_peers = SAFECAM_ARRAY_LEN(peers),
        .channel_changed = on_channel_changed,
        .violation = on_violation,
        .ctx = svc,
    };
    if (ipc_child_new(&cc, &child) != 0) {
        update_service_free(svc);
        return 1;
    }
    update_service_channel_set(svc, IPC_PEER_SUPERVISOR, (int)ipc_fd);
    sup_fd = (int)ipc_fd;
    update_service_start(svc);
    log_info("update: ready (model %s, online check %s)", update_service_model(svc),
             update_service_online_enabled(svc) ? "on" : "off");

    const struct ipc_child_loop loop = {
        .signalled = got_signal,
        .timeout_ms = POLL_MS,
        .tick = on_tick,
        .extra_fds = on_extra_fds,
        .extra_ready = on_extra_ready,
    };
    int rc = ipc_child_run(child, &loop);
    if (rc != 0)
        log_err("update: supervisor channel: %s; exiting", safecam_err_name(rc));
    status = 0;
    log_info("update: stopping");
    if (update_service_stop(svc) != 0)
        _exit(0); /* a download in progress cannot be interrupted cleanly */
    ipc_child_free(child);
    update_service_free(svc);
    return status;
}
