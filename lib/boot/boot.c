/* boot.c — the PC boot chain: A/B slot choice (boot counter), verified boot of a slot image, and the boot
 * watchdog running that image as a child of safecamd. Runs in safecamd before any child; a slot image is
 * untrusted until update_slot_authenticate() has checked it. QCVN 135 G3 / G8, EN 303 645 5.3-x, 5.9-1. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/boot.h"

/* ---------------------------------------------------------------- the real process operations */

static int64_t real_now_ms(void *ctx)
{
    (void)ctx;
    return safecam_time_mono_ms();
}

struct real_ctx {
    const struct boot_config *cfg;
};

/* Wait up to ms for a signal on the signalfd; returns the signal number, or 0 on timeout. */
static int real_signal_wait(void *ctx, int ms)
{
    const struct real_ctx *rc = ctx;
    struct pollfd p = {.fd = rc->cfg->signal_fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    struct signalfd_siginfo si;
    if (read(rc->cfg->signal_fd, &si, sizeof si) != (ssize_t)sizeof si)
        return 0;
    return (int)si.ssi_signo;
}

static int real_image_start(void *ctx, char slot, const char *dir, const char *entry, pid_t *pid_out)
{
    const struct real_ctx *rc = ctx;
    char slot_s[2] = {slot, '\0'};
    pid_t loader = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        log_err("boot: fork: %s", strerror(errno));
        return SAFECAM_ERR_IO;
    }
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, rc->cfg->mask, NULL);
        /* a boot loader killed outright takes its image down with it (SIGTERM: an orderly stop) */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != loader)
            _exit(127);
        if (setenv(BOOT_ENV_SLOT, slot_s, 1) != 0 || setenv(BOOT_ENV_LIBEXEC, dir, 1) != 0)
            _exit(127);
        char *const *av = rc->cfg->argv;
        execv(entry, av);
        fprintf(stderr, "safecamd: boot: cannot exec %s: %s\n", entry, strerror(errno));
        _exit(127);
    }
    *pid_out = pid;
    return 0;
}

static int real_image_poll(void *ctx, pid_t pid, int *status)
{
    (void)ctx;
    return waitpid(pid, status, WNOHANG) == pid;
}

static void real_image_signal(void *ctx, pid_t pid, int sig)
{
    (void)ctx;
    kill(pid, sig);
}

/* The operations to use: the injected ones, each missing one filled with the real one. */
static struct boot_ops ops_resolve(const struct boot_config *cfg, struct real_ctx *real)
{
    struct boot_ops o = cfg->ops ? *cfg->ops : (struct boot_ops){0};
    real->cfg = cfg;
    if (!cfg->ops)
        o.ctx = real;
    if (!o.now_ms)
        o.now_ms = real_now_ms;
    if (!o.signal_wait)
        o.signal_wait = real_signal_wait;
    if (!o.image_start)
        o.image_start = real_image_start;
    if (!o.image_poll)
        o.image_poll = real_image_poll;
    if (!o.image_signal)
        o.image_signal = real_image_signal;
    return o;
}

/* ---------------------------------------------------------------- helpers */

int boot_retry_next(int retry_ms)
{
    return retry_ms > BOOT_RETRY_MAX_MS / 2 ? BOOT_RETRY_MAX_MS : retry_ms * 2;
}

int boot_status_describe(int status, char *out, size_t size)
{
    if (status < 0)
        return safecam_strlcpy(out, "fork_failed", size);
    return safecam_fmt(out, size, "%s_%d", WIFEXITED(status) ? "exit" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* 1 when the slot image booted as `slot` has passed its health check (or was not on trial). */
static int slot_good(const struct boot_config *cfg, char slot)
{
    struct update_status st;
    if (update_slots_status(cfg->state_dir, &st) != 0)
        return 0;
    return st.trying != slot;
}

/* Audit `type` with detail "<event> slot=<slot> <what_key>=<what>" (value/what: short codes). */
static void boot_note(const struct boot_config *cfg, const char *type, const char *event, char slot,
                      const char *what_key, const char *what)
{
    char line[AUDIT_DETAIL_MAX_BYTES];
    if (!cfg->note)
        return;
    if (safecam_fmt(line, sizeof line, "%s slot=%c %s=%s", event, slot, what_key, what) != 0)
        line[0] = '\0';
    cfg->note(cfg->note_ctx, type, line);
}

/* ---------------------------------------------------------------- the watchdog and the chain */

int boot_image_watch(const struct boot_config *cfg, char slot, const char *dir, const char *entry,
                     int on_trial, int *stop)
{
    struct real_ctx real;
    struct boot_ops o = ops_resolve(cfg, &real);
    pid_t pid = -1;
    if (o.image_start(o.ctx, slot, dir, entry, &pid) != 0)
        return -1;
    log_info("boot: slot %c image running (pid %d)%s", slot, (int)pid, on_trial ? ", on trial" : "");
    int64_t started = o.now_ms(o.ctx), kill_at = 0;
    int status = 0, healthy = !on_trial, term_sent = 0;
    for (;;) {
        int sig = o.signal_wait(o.ctx, 500);
        if (sig == SIGTERM || sig == SIGINT) {
            *stop = 1;
            o.image_signal(o.ctx, pid, SIGTERM);
            term_sent = 1;
            kill_at = o.now_ms(o.ctx) + BOOT_STOP_GRACE_MS;
        } else if (sig == SIGHUP) {
            o.image_signal(o.ctx, pid, SIGHUP);
        }
        if (o.image_poll(o.ctx, pid, &status))
            break;
        int64_t now = o.now_ms(o.ctx);
        if (!healthy && slot_good(cfg, slot)) {
            healthy = 1;
            log_info("boot: slot %c passed its health check after %lld ms", slot, (long long)(now - started));
        }
        if (!healthy && !term_sent && now - started > cfg->boot_timeout_s * 1000) {
            log_err("boot: slot %c not healthy within %ld s: stopping it", slot, cfg->boot_timeout_s);
            boot_note(cfg, AUDIT_UPDATE_REFUSED, "event=health_check", slot, "reason", "boot_timeout");
            o.image_signal(o.ctx, pid, SIGTERM);
            term_sent = 1;
            kill_at = now + BOOT_STOP_GRACE_MS;
        }
        if (term_sent && now > kill_at) {
            o.image_signal(o.ctx, pid, SIGKILL);
            kill_at = now + 60000;
        }
    }
    return status;
}

int boot_chain_run(const struct boot_config *cfg, struct boot_result *out)
{
    if (!cfg || !out || !cfg->state_dir)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    const char *pre = getenv(BOOT_ENV_SLOT);
    if (pre && (strcmp(pre, "A") == 0 || strcmp(pre, "B") == 0)) {
        /* We are a slot image started by a boot loader: the attempt was already counted. */
        out->booted = pre[0];
        return 0;
    }
    struct real_ctx real;
    struct boot_ops o = ops_resolve(cfg, &real);
    int retry_ms = BOOT_RETRY_MIN_MS;
    for (;;) {
        char slot = 0, dir[PATH_MAX], entry[PATH_MAX];
        int rb = 0;
        if (update_boot_select(cfg->state_dir, &slot, &rb, cfg->event, cfg->event_ctx) != 0) {
            log_warn("update: cannot read the slot state; running the current image");
            return 0;
        }
        out->rolled_back |= rb;
        out->booted = slot;
        struct update_status st;
        if (update_slots_status(cfg->state_dir, &st) != 0 || st.slots[slot == 'B'].factory ||
            update_slot_path(cfg->state_dir, slot, dir, sizeof dir) != 0 ||
            safecam_path_join(entry, sizeof entry, dir, UPDATE_IMAGE_ENTRY) != 0 || access(entry, F_OK) != 0)
            return 0; /* factory slot or a data-only image: the binaries of this process run it */
        int on_trial = st.trying == slot;
        enum update_reason why = UPDATE_OK;
        int arc = update_slot_authenticate(cfg->state_dir, slot, &why);
        if (arc != 0) {
            log_err("boot: slot %c refused by verified boot: %s", slot, update_reason_name(why));
            boot_note(cfg, AUDIT_UPDATE_REFUSED, "event=verified_boot", slot, "reason",
                      update_reason_name(why));
            if (on_trial) {
                char back = 0;
                if (update_boot_abandon(cfg->state_dir, "slot_damaged", &back, cfg->event, cfg->event_ctx) !=
                    0)
                    return 0;
                out->rolled_back = 1;
                continue; /* boot the previous slot */
            }
            /* The known-good slot itself no longer verifies: run the boot loader's own (factory)
             * image rather than unverified code. */
            log_err("boot: running the factory image instead of slot %c", slot);
            return 0;
        }
        int stop = 0;
        int64_t started = o.now_ms(o.ctx);
        int status = boot_image_watch(cfg, slot, dir, entry, on_trial, &stop);
        if (o.now_ms(o.ctx) - started > BOOT_STABLE_RUN_MS)
            retry_ms = BOOT_RETRY_MIN_MS; /* it ran well for a while: a new crash starts the back-off again */
        if (stop) {
            log_info("boot: slot %c image stopped", slot);
            out->exit_now = 1;
            out->exit_status = status >= 0 && WIFEXITED(status)
                                   ? WEXITSTATUS(status)
                                   : 128 + (status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            return 0;
        }
        if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == BOOT_EXIT_REBOOT) {
            log_info("boot: slot %c asked for a restart", slot);
            retry_ms = BOOT_RETRY_MIN_MS;
            continue;
        }
        char what[64];
        if (boot_status_describe(status, what, sizeof what) != 0)
            what[0] = '\0';
        log_err("boot: slot %c image ended (%s)%s; starting again in %d ms", slot, what,
                on_trial && !slot_good(cfg, slot) ? " before its health check" : "", retry_ms);
        boot_note(cfg, AUDIT_PROCESS_RESTART, "process=safecamd", slot, "status", what);
        int sig = o.signal_wait(o.ctx, retry_ms);
        if (sig == SIGTERM || sig == SIGINT) {
            out->exit_now = 1;
            out->exit_status = 0;
            return 0;
        }
        retry_ms = boot_retry_next(retry_ms);
    }
}
