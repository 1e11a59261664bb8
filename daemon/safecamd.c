/* safecamd.c — the supervisor's wiring: options, the state directory's walls, the audit log, the A/B boot
 * chain (lib/boot), the privileged ports, then the loop that starts, watches and restarts the children
 * (lib/supervisor: children.c, settings.c) and feeds the systemd watchdog while every child answers.
 * Trust level: never parses network data; the only inputs it takes from children are typed settings
 * messages (settings.c) and a restart request from update. QCVN 135 G8 (self-recovery) / EN 303 645 5.9-1. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/boot.h"
#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/statedir.h"
#include "safecam/supervisor_run.h"
#include "safecam/update.h"
#include "safecam/vault.h"

/* The one supervisor of this process: options, children, settings (supervisor_run.h). */
static struct supervisor sup = {.next_msg_id = 1};

/* The state dir exists (before the children are looked up). */
static int state_dir_check(void)
{
    struct stat st;
    if (stat(sup.opts.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "safecamd: state dir %s does not exist (run safecam-provision first)\n",
                sup.opts.state_dir);
        return 1;
    }
    return 0;
}

/* What provisioning must have made, then the state directory's ownership (repaired as root, checked
 * otherwise; a camera from before the walls is migrated). */
static int state_dir_walls(void)
{
    /* provisioning first (vault.db may still be where a camera from before the walls kept it) */
    const char *needed[] = {STATEDIR_DEVICE_JSON, STATEDIR_STORAGE_KEY, STATEDIR_TLS_CERT,
                            STATEDIR_TLS_KEY_SEALED, STATEDIR_VAULT_DB};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(needed); i++) {
        char p[PATH_MAX], legacy[PATH_MAX];
        int missing =
            safecam_path_join(p, sizeof p, sup.opts.state_dir, needed[i]) != 0 || access(p, R_OK) != 0;
        if (missing && strcmp(needed[i], STATEDIR_VAULT_DB) == 0)
            missing =
                safecam_path_join(legacy, sizeof legacy, sup.opts.state_dir, STATEDIR_LEGACY_VAULT_DB) != 0 ||
                access(legacy, R_OK) != 0;
        if (missing) {
            fprintf(stderr, "safecamd: state dir %s is not provisioned (missing %s; run safecam-provision)\n",
                    sup.opts.state_dir, needed[i]);
            return 1;
        }
    }
    if (statedir_walls_apply(sup.opts.state_dir, sup.separated) != 0) {
        fprintf(stderr,
                "safecamd: the state dir %s does not have the ownership and modes the walls need "
                "(see the line above)\n",
                sup.opts.state_dir);
        return 1;
    }
    if (sup.separated)
        log_info("privilege separation: each child runs as its own user (safecam-vault, safecam-web, "
                 "safecam-media, safecam-update, safecam-discovery) with seccomp and Landlock");
    else
        log_warn("not started as root: running without privilege separation (every child shares uid %u; "
                 "seccomp, Landlock and no_new_privs still apply)",
                 (unsigned)geteuid());
    return 0;
}

/* Update slot events (boot selection, rollback, health check passed) as audit events. */
static void boot_audit_note(void *ctx, const char *type, const char *detail);

static void update_event_note(void *ctx, const char *type, const char *detail)
{
    (void)ctx;
    char line[AUDIT_DETAIL_MAX_BYTES];
    const char *atype = audit_type_valid(type) ? type : AUDIT_UPDATE_INSTALL;
    if (safecam_fmt(line, sizeof line, "%s%s%s", audit_type_valid(type) ? "" : type,
                    audit_type_valid(type) ? "" : ": ", detail ? detail : "") != 0)
        line[0] = '\0';
    log_info("update: %s %s", type, detail ? detail : "");
    boot_audit_note(NULL, atype, line);
}

/* While the boot chain runs (a slot image as this process's child, no vault of ours) events go to audit.db's
 * inbox, which the next vault to start moves into the chain (docs/audit.md "One writer"). */
static int in_boot_chain;

static void boot_inbox_note(const char *type, const char *detail)
{
    char path[PATH_MAX];
    audit_log *log = NULL;
    if (safecam_path_join(path, sizeof path, sup.opts.state_dir, STATEDIR_AUDIT_DB) != 0 ||
        audit_log_open(path, &log) != 0 || audit_inbox_add(log, type, detail) != 0)
        log_warn("audit: cannot leave %s in the inbox", type);
    audit_log_close(log);
}

static void boot_audit_note(void *ctx, const char *type, const char *detail)
{
    (void)ctx;
    if (in_boot_chain)
        boot_inbox_note(type, detail);
    else
        supervisor_audit_note(&sup, type, detail);
}

/* Block the signals the loop reads from a signalfd; -1 on failure (line printed). */
static int signals_open(sigset_t *mask)
{
    sigemptyset(mask);
    sigaddset(mask, SIGCHLD);
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
    sigaddset(mask, SIGHUP);
    sigprocmask(SIG_BLOCK, mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        fprintf(stderr, "safecamd: signalfd: %s\n", strerror(errno));
    return sfd;
}

/* One heartbeat round: heartbeats out; with every child healthy, READY=1 once, the running slot marked
 * good once (QCVN 135 G3: a new slot counts as good only when the whole camera runs), and WATCHDOG=1. */
static void heartbeat_round(int *ready_sent, int *slot_marked_good)
{
    supervisor_heartbeats_tick(&sup);
    if (!supervisor_children_healthy(&sup))
        return;
    if (!*ready_sent) {
        supervisor_notify("READY=1");
        *ready_sent = 1;
    }
    if (!*slot_marked_good) {
        int rc = update_boot_mark_good(sup.opts.state_dir, update_event_note, NULL);
        if (rc != SAFECAM_ERR_STATE) { /* STATE: an install holds the update lock; next round */
            if (rc != 0)
                log_warn("update: cannot mark the running slot good: %s", safecam_err_name(rc));
            *slot_marked_good = 1;
        }
    }
    supervisor_notify("WATCHDOG=1");
}

/* Wait for a signal, a child's message or the next deadline (heartbeat, restart, factory reset), and
 * handle what came. Returns 1 on SIGTERM/SIGINT, -1 on a poll error, else 0. */
static int loop_wait(int sfd, int64_t next_hb)
{
    struct pollfd pfds[1 + SUPERVISOR_CHILDREN];
    struct supervisor_child *owners[1 + SUPERVISOR_CHILDREN];
    nfds_t n = 0;
    pfds[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
    owners[n++] = NULL;
    int64_t wake = next_hb;
    if (sup.factory_reset_at_ms && sup.factory_reset_at_ms < wake)
        wake = sup.factory_reset_at_ms;
    for (size_t i = 0; i < SUPERVISOR_CHILDREN; i++) {
        struct supervisor_child *c = &sup.children[i];
        if (c->fd >= 0) {
            pfds[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
            owners[n++] = c;
        }
        if (c->enabled && c->pid < 0 && c->restart.next_start_ms < wake)
            wake = c->restart.next_start_ms;
    }
    int64_t timeout = wake - safecam_time_mono_ms();
    int pr = poll(pfds, n, timeout < 0 ? 0 : (int)timeout);
    if (pr < 0 && errno != EINTR) {
        log_err("poll: %s", strerror(errno));
        return -1;
    }
    int stop = 0;
    if (pr > 0 && (pfds[0].revents & POLLIN)) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (si.ssi_signo == SIGCHLD)
                supervisor_children_reap(&sup);
            else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                stop = 1;
        }
    }
    for (nfds_t k = 1; pr > 0 && k < n; k++)
        if (owners[k]->fd == pfds[k].fd && (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)))
            supervisor_child_readable(&sup, owners[k]);
    return stop;
}

int main(int argc, char **argv)
{
    safecam_log_init("safecamd", SAFECAM_LOG_INFO);
    int rc = supervisor_options_parse(argc, argv, &sup.opts);
    if (rc != SUPERVISOR_OPTIONS_OK)
        return rc == SUPERVISOR_OPTIONS_HELP ? 0 : 2;
    if (state_dir_check() != 0 || supervisor_children_init(&sup) != 0)
        return 1;
    if (vault_factory_reset_pending(sup.opts.state_dir)) {
        /* A factory reset was cut short (power loss): finish it before anything reads the old state. */
        log_warn("an interrupted factory reset is being finished");
        if (vault_factory_reset(sup.opts.state_dir, NULL, NULL) != 0) {
            fprintf(stderr, "safecamd: the interrupted factory reset cannot be finished\n");
            return 1;
        }
    }
    if (state_dir_walls() != 0)
        return 1;
    if (config_load(sup.opts.state_dir, &sup.config) != 0)
        log_warn("config.json and its last-good copy are invalid: using defaults");
    supervisor_discovery_apply(&sup); /* WS-Discovery only while ONVIF and discovery are on */
    /* audit events go to the vault, the one writer of the chained log (docs/audit.md): queued until it runs */
    sigset_t mask;
    int sfd = signals_open(&mask);
    if (sfd < 0)
        return 1;

    /* A/B slots: count this start against a freshly installed slot, roll back when it never became
     * healthy (QCVN 135 G3 / EN 303 645 5.3-x); run a slot's own image when it has one. */
    const struct boot_config boot = {
        .state_dir = sup.opts.state_dir,
        .boot_timeout_s = sup.opts.boot_timeout_s,
        .argv = argv,
        .mask = &mask,
        .signal_fd = sfd,
        .event = update_event_note,
        .note = boot_audit_note,
    };
    struct boot_result booted;
    in_boot_chain = 1;
    int boot_rc = boot_chain_run(&boot, &booted);
    in_boot_chain = 0;
    if (boot_rc == 0 && booted.exit_now)
        exit(booted.exit_status); /* a slot image stopped for good */
    int slot_image = getenv(BOOT_ENV_SLOT) != NULL;
    if (supervisor_listen_open(&sup) != 0) {
        fprintf(stderr, "safecamd: cannot listen on the HTTPS or RTSPS port (see the line above)\n");
        return 1;
    }
    supervisor_audit_note(&sup, AUDIT_DEVICE_START,
                          slot_image ? "safecamd " SAFECAM_VERSION " (slot image)"
                                     : "safecamd " SAFECAM_VERSION);
    log_info("safecamd %s: state %s, https %s:%ld, rtsps %s:%ld, source %s", SAFECAM_VERSION,
             sup.opts.state_dir, sup.opts.bind, sup.opts.https_port, sup.opts.bind, sup.opts.rtsps_port,
             sup.opts.source);

    int64_t next_hb = safecam_time_mono_ms() + SUPERVISOR_HEARTBEAT_INTERVAL_MS;
    int ready_sent = 0, slot_marked_good = 0, stop = 0;
    while (!stop && !sup.reboot_requested) {
        int64_t now = safecam_time_mono_ms();
        if (sup.factory_reset_at_ms && now >= sup.factory_reset_at_ms)
            break;
        supervisor_children_start_due(&sup, now); /* vault first: the others depend on it */
        if (now >= next_hb) {
            heartbeat_round(&ready_sent, &slot_marked_good);
            next_hb = now + SUPERVISOR_HEARTBEAT_INTERVAL_MS;
        }
        stop = loop_wait(sfd, next_hb) != 0;
    }

    int factory_reset = !stop && !sup.reboot_requested && sup.factory_reset_at_ms;
    log_info(factory_reset          ? "factory reset: stopping every process"
             : sup.reboot_requested ? "restarting for the new slot"
                                    : "stopping");
    supervisor_notify(sup.reboot_requested || factory_reset ? "RELOADING=1" : "STOPPING=1");
    supervisor_children_shutdown(&sup);
    close(sfd);
    if (factory_reset) {
        /* With every child stopped nothing holds vault.db or audit.db open. A failure leaves the pending
         * marker: the restart below tries again before anything else starts. */
        if (vault_factory_reset(sup.opts.state_dir, sup.factory_reset_actor, sup.factory_reset_source) == 0)
            log_warn("factory reset done: restarting with the initial password");
        sup.reboot_requested = 1;
    }
    if (!sup.reboot_requested)
        return 0;
    if (slot_image)
        return BOOT_EXIT_REBOOT; /* a slot image: its boot loader chooses the slot again */
    /* The "reboot" of this PC build: exec ourselves again with the same arguments. */
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    char self[PATH_MAX];
    if (safecam_path_join(self, sizeof self, sup.exe_dir, "safecamd") == 0)
        execv(self, argv);
    log_err("cannot re-exec safecamd: %s", strerror(errno));
    return 1;
}
