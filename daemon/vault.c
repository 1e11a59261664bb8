/* vault.c — the vault process (safecam-vault): holds the storage key, vault.db and audit.db, and answers
 * the fixed table of requests of lib/vault/service.c over its supervisor channel and the client channels
 * the supervisor hands it (web, media, update). No network. Wiring only: the logic lives in lib/vault.
 * Usage: safecam-vault --state-dir DIR --ipc-fd N   (started by safecamd with fork+exec). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
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
#include "safecam/sandbox.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"

#define HOUSEKEEPING_INTERVAL_MS 30000
#define POLL_TIMEOUT_MS 1000

enum { CH_SUPERVISOR, CH_WEB, CH_MEDIA, CH_UPDATE, CH_COUNT };
static const unsigned channel_peer[CH_COUNT] = {IPC_PEER_SUPERVISOR, IPC_PEER_WEB, IPC_PEER_MEDIA, IPC_PEER_UPDATE};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
}

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

/* Per-channel dispatch state (IPC_ONCE rows), reset whenever a channel is closed or replaced. */
static struct ipc_channel_state chan_state[CH_COUNT];

static void channel_close(int ch[CH_COUNT], int i)
{
    chan_state[i] = (struct ipc_channel_state){0};
    if (ch[i] >= 0)
        close(ch[i]);
    ch[i] = -1;
}

/* Serve one message on channel i. Returns 0 to go on, 1 when the supervisor is gone. */
static int channel_serve(struct vault_service *svc, int ch[CH_COUNT], int i)
{
    const struct ipc_dispatcher *d = vault_service_dispatcher();
    const char *peer_name = ipc_peer_name(channel_peer[i]);
    ipc_msg msg = {.fd = -1};
    int rc = ipc_recv(ch[i], &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return 0;
    if (rc == 0) {
        rc = ipc_dispatcher_run(d, &chan_state[i], svc, channel_peer[i], ch[i], &msg);
        if (rc != 0 && rc != SAFECAM_ERR_PROTO && rc != SAFECAM_ERR_CLOSED)
            log_warn("vault: cannot answer %s (type %u): %s", peer_name, (unsigned)msg.type,
                     safecam_err_name(rc));
    }
    if (rc == SAFECAM_ERR_PROTO) {
        char detail[96];
        if (safecam_fmt(detail, sizeof detail, "receiver=vault peer=%s type=%u", peer_name,
                        (unsigned)msg.type) != 0)
            detail[0] = '\0';
        log_warn("vault: protocol violation by %s (type %u): channel closed", peer_name, (unsigned)msg.type);
        if (svc->audit &&
            audit_event_record(svc->audit, AUDIT_PROTOCOL_VIOLATION, peer_name, NULL, detail) != 0)
            log_err("vault: cannot record a protocol violation");
    }
    ipc_msg_clear(&msg);
    if (rc == SAFECAM_ERR_PROTO || rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_IO || rc == SAFECAM_ERR_TIMEOUT) {
        if (rc == SAFECAM_ERR_CLOSED)
            log_info("vault: %s closed its channel", peer_name);
        if (rc == SAFECAM_ERR_TIMEOUT)
            log_warn("vault: %s does not read its replies: channel closed", peer_name);
        channel_close(ch, i);
        if (i == CH_SUPERVISOR)
            return 1;
    }
    /* A PROTO_SUP_CHANNEL handed over a new channel: it replaces any older one of that peer. */
    if (svc->new_fd >= 0) {
        for (int k = 0; k < CH_COUNT; k++) {
            if (k != CH_SUPERVISOR && channel_peer[k] == svc->new_peer) {
                channel_close(ch, k);
                ch[k] = svc->new_fd;
                chan_state[k] = (struct ipc_channel_state){0};
                svc->new_fd = -1;
                log_info("vault: new channel from %s", ipc_peer_name(svc->new_peer));
            }
        }
        if (svc->new_fd >= 0) {
            close(svc->new_fd);
            svc->new_fd = -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *state_dir = NULL;
    long ipc_fd = -1;
    uint8_t *key = NULL;
    audit_log *audit = NULL;
    vault *v = NULL;
    char path[4096];
    int ch[CH_COUNT] = {-1, -1, -1, -1};
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
    ch[CH_SUPERVISOR] = (int)ipc_fd;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

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
        .stop = 0,
        .new_fd = -1,
        .new_peer = 0,
    };
    log_info("vault: ready");
    int64_t next_housekeeping = safecam_time_mono_ms() + HOUSEKEEPING_INTERVAL_MS;
    while (!svc.stop && !got_signal) {
        struct pollfd pfd[CH_COUNT];
        for (int i = 0; i < CH_COUNT; i++) {
            pfd[i].fd = ch[i];
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        int n = poll(pfd, CH_COUNT, POLL_TIMEOUT_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_err("vault: poll: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < CH_COUNT && !svc.stop; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0 || ch[i] != pfd[i].fd)
                continue;
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (channel_serve(&svc, ch, i) != 0) {
                    log_err("vault: the supervisor channel is gone; exiting");
                    goto out;
                }
            } else if (pfd[i].revents & POLLNVAL) {
                ch[i] = -1;
                if (i == CH_SUPERVISOR)
                    goto out;
            }
        }
        if (safecam_time_mono_ms() >= next_housekeeping) {
            if (vault_housekeeping(v) != 0)
                log_warn("vault: housekeeping failed");
            next_housekeeping = safecam_time_mono_ms() + HOUSEKEEPING_INTERVAL_MS;
        }
    }
    log_info("vault: stopping");
    status = 0;
out:
    for (int i = 0; i < CH_COUNT; i++)
        channel_close(ch, i);
    vault_close(v);
    audit_log_close(audit);
    if (key)
        sodium_free(key);
    return status;
}
