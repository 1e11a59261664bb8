/* vault.c — the vault process (safecam-vault): holds the storage key, vault.db and audit.db, and answers
 * the fixed table of requests of lib/vault/service.c over its supervisor channel and the client channels
 * the supervisor hands it (web, media, update). No network. Wiring only: the logic lives in lib/vault.
 * Usage: safecam-vault --state-dir DIR --ipc-fd N   (started by safecamd with fork+exec). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/ipc.h"
#include "safecam/ipc_child.h"
#include "safecam/sandbox.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"

#define HOUSEKEEPING_INTERVAL_MS 30000
#define POLL_TIMEOUT_MS 1000

/* jansson allocations are wiped when freed: request bodies carry passwords, replies the TLS key.
 * Plain malloc underneath (no header), so memory jansson hands out (json_dumps) may still be released
 * with free() by other code; the usable size comes from glibc. */
static void *wipe_malloc(size_t size)
{
    return malloc(size);
}

static void wipe_free(void *p)
{
    if (!p)
        return;
    sodium_memzero(p, malloc_usable_size(p));
    free(p);
}

static void usage(void)
{
    fprintf(stderr, "usage: safecam-vault --state-dir DIR --ipc-fd N\n");
}

/* A peer (or the supervisor) broke the protocol: the channel is closed by lib/ipc; record it. */
static void on_violation(void *ctx, unsigned peer, const ipc_msg *msg)
{
    struct vault_service *svc = ctx;
    const char *peer_name = ipc_peer_name(peer);
    char detail[96];
    if (safecam_fmt(detail, sizeof detail, "receiver=vault peer=%s type=%u", peer_name,
                    (unsigned)msg->type) != 0)
        detail[0] = '\0';
    if (svc->audit && audit_event_record(svc->audit, AUDIT_PROTOCOL_VIOLATION, peer_name, NULL, detail) != 0)
        log_err("vault: cannot record a protocol violation");
}

static int64_t next_housekeeping;

static int on_tick(void *ctx, int *timeout_ms)
{
    struct vault_service *svc = ctx;
    (void)timeout_ms;
    if (safecam_time_mono_ms() >= next_housekeeping) {
        if (vault_housekeeping(svc->v) != 0)
            log_warn("vault: housekeeping failed");
        if (svc->audit && audit_inbox_drain(svc->audit, 256) < 0) /* the boot loader's events (docs/audit.md) */
            log_warn("vault: the audit inbox cannot be read");
        next_housekeeping = safecam_time_mono_ms() + HOUSEKEEPING_INTERVAL_MS;
    }
    return 0;
}

/* The hash workers' wake-up descriptor joins the loop's poll; finished verifications are answered there. */
static size_t workers_fds(void *ctx, struct pollfd *pfd, size_t max)
{
    struct vault_service *svc = ctx;
    int fd = vault_service_workers_fd(svc);
    if (fd < 0 || max < 1)
        return 0;
    pfd[0] = (struct pollfd){.fd = fd, .events = POLLIN};
    return 1;
}

static void workers_ready(void *ctx, const struct pollfd *pfd, size_t n)
{
    if (n >= 1 && (pfd[0].revents & POLLIN))
        vault_service_workers_finish(ctx);
}

static int channel_fd_of(void *ctx, unsigned peer)
{
    return peer == IPC_PEER_SUPERVISOR ? ipc_child_sup_fd(ctx) : ipc_child_fd(ctx, peer);
}

/* The link process answers the vault's pushes (PROTO_LINK_CONFIGURE, PROTO_LINK_EVENT): nothing to do. */
static void on_link_reply(void *ctx, unsigned peer, ipc_msg *msg)
{
    (void)ctx;
    (void)peer;
    const char *err = json_string_value(json_object_get(msg->body, "error"));
    if (err)
        log_warn("vault: the link process refused a push (type %u): %s", msg->type, err);
}

static void on_channel_changed(void *ctx, unsigned peer, int fd)
{
    (void)fd;
    vault_service_channel_changed(ctx, peer);
}

int main(int argc, char **argv)
{
    const char *state_dir = NULL;
    long ipc_fd = -1;
    uint8_t *key = NULL;
    audit_log *audit = NULL;
    vault *v = NULL;
    char path[4096];
    ipc_child *child = NULL;
    struct vault_service *svc_started = NULL;
    int status = 1;
    int rc;

    json_set_alloc_funcs(wipe_malloc, wipe_free);
    safecam_log_init("vault", SAFECAM_LOG_INFO);
    umask(077);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            state_dir = argv[++i];
        } else if (strcmp(argv[i], "--ipc-fd") == 0 && i + 1 < argc) {
            if (safecam_parse_long(argv[++i], 0, 65535, &ipc_fd) != 0) {
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
    if (fcntl((int)ipc_fd, F_GETFD) < 0) {
        fprintf(stderr, "safecam-vault: --ipc-fd %ld is not an open descriptor\n", ipc_fd);
        return 2;
    }
    (void)fcntl((int)ipc_fd, F_SETFD, FD_CLOEXEC);

    const volatile sig_atomic_t *got_signal = ipc_child_signals_install();

    /* Keys and passwords live in this process: its own user, no core dumps, no ptrace, no privilege gain,
     * only its own files (Landlock) and its syscall allowlist (the child table, sandbox.h). */
    const struct sandbox_paths walls = {.state_dir = state_dir};
    if (sandbox_child_enter("vault", &walls) != 0)
        goto out;
    if (sodium_init() < 0) {
        log_err("vault: libsodium cannot start");
        goto out;
    }
    key = sodium_malloc(SEAL_KEY_BYTES);
    if (!key) {
        log_err("vault: out of memory");
        goto out;
    }
    rc = seal_storage_key_load(state_dir, key);
    if (rc != 0) {
        log_err("vault: cannot load the storage key: %s", safecam_err_name(rc));
        goto out;
    }
    (void)sodium_mprotect_readonly(key);

    rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_AUDIT_DB);
    if (rc == 0)
        rc = audit_log_open(path, &audit);
    if (rc != 0) {
        log_err("vault: cannot open the audit log: %s", safecam_err_name(rc));
        goto out;
    }
    rc = vault_open(state_dir, audit, key, &v);
    if (rc != 0) {
        log_err("vault: cannot open vault.db: %s", safecam_err_name(rc));
        goto out;
    }
    if (vault_housekeeping(v) != 0)
        log_warn("vault: housekeeping failed");

    struct vault_service svc = {
        .v = v,
        .audit = audit,
        .state_dir = state_dir,
        .storage_key = key,
    };
    /* Every peer channel and the supervisor's own requests (audit records) go through the vault's
     * dispatcher with its policy flags; ipc_child keeps one dispatch state per channel. */
    const struct ipc_dispatcher *d = vault_service_dispatcher();
    const struct ipc_child_peer peers[] = {
        {.peer = IPC_PEER_WEB, .dispatcher = d},
        {.peer = IPC_PEER_MEDIA, .dispatcher = d},
        {.peer = IPC_PEER_UPDATE, .dispatcher = d},
        {.peer = IPC_PEER_LINK, .dispatcher = d, .on_reply = on_link_reply},
    };
    const struct ipc_child_config cc = {
        .role = "vault",
        .sup_fd = (int)ipc_fd,
        .channel_peers = IPC_PEER_WEB | IPC_PEER_MEDIA | IPC_PEER_UPDATE | IPC_PEER_LINK,
        .sup_dispatcher = d, /* the supervisor records audit events too */
        .peers = peers,
        .n_peers = SAFECAM_ARRAY_LEN(peers),
        .violation = on_violation,
        .channel_changed = on_channel_changed,
        .ctx = &svc,
    };
    rc = ipc_child_new(&cc, &child);
    if (rc != 0) {
        close((int)ipc_fd);
        goto out;
    }
    /* Argon2id runs on the hash workers, never in this loop (docs/lockout.md "Hash workers and admission"). */
    svc.channel_fd = channel_fd_of;
    svc.channel_ctx = child;
    rc = vault_service_workers_start(&svc);
    if (rc != 0) {
        log_err("vault: cannot start the hash workers: %s", safecam_err_name(rc));
        goto out;
    }
    svc_started = &svc;
    log_info("vault: ready");
    vault_service_link_notify(&svc); /* the supervisor runs the link process only while a service is set */
    audit_log_on_append(audit, vault_service_link_event, &svc); /* every appended event to the link process */
    next_housekeeping = safecam_time_mono_ms() + HOUSEKEEPING_INTERVAL_MS;
    const struct ipc_child_loop loop = {
        .signalled = got_signal,
        .timeout_ms = POLL_TIMEOUT_MS,
        .tick = on_tick,
        .extra_fds = workers_fds,
        .extra_ready = workers_ready};
    rc = ipc_child_run(child, &loop);
    if (rc != 0) {
        log_err("vault: the supervisor channel is gone; exiting");
        goto out;
    }
    log_info("vault: stopping");
    status = 0;
out:
    vault_service_workers_stop(svc_started);
    ipc_child_free(child);
    vault_close(v);
    audit_log_close(audit);
    if (key)
        sodium_free(key);
    return status;
}
