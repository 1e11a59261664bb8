/* boot.h — the PC boot chain (lib/boot): A/B slot choice with the boot counter, verified boot of a slot's
 * own image, and the boot watchdog that runs that image as a child. Trust level: runs in safecamd before
 * any child starts; a slot image is untrusted until update_slot_authenticate() has checked its signature
 * and every hash. QCVN 135 G3 / G8, EN 303 645 5.3, 5.9-1. docs/update-bundle.md "The PC boot chain".
 *
 * safecamd is the boot loader. boot_chain_run() chooses the slot (update_boot_select), and when that slot
 * holds a bootable image (UPDATE_IMAGE_ENTRY among its payloads) it authenticates the whole slot again
 * and runs the image's safecamd as its child with BOOT_ENV_SLOT / BOOT_ENV_LIBEXEC set. It stays as the
 * image's watchdog: an image that exits or is not healthy (marked good) within the boot timeout counts as
 * a failed start; after the last attempt the boot counter brings the previous slot back by itself. A slot
 * without an image (data-only bundle, or the factory slot) runs in the calling process. */
#ifndef SAFECAM_BOOT_H
#define SAFECAM_BOOT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "safecam/core.h"
#include "safecam/update.h"

#define BOOT_EXIT_REBOOT 75 /* exit status of a slot image asking its boot loader for a restart */
#define BOOT_ENV_SLOT "SAFECAM_BOOTED_SLOT"    /* set for the image: the slot chosen (counted already) */
#define BOOT_ENV_LIBEXEC "SAFECAM_LIBEXEC_DIR" /* set for the image: where its helper executables are */
#define BOOT_RETRY_MIN_MS 1000                 /* back-off between starts of a crashing image */
#define BOOT_RETRY_MAX_MS 30000
#define BOOT_STABLE_RUN_MS 60000 /* an image that ran this long starts the back-off again */
#define BOOT_STOP_GRACE_MS 8000  /* SIGTERM, then SIGKILL after this */

/* What boot_chain_run needs from the process: injectable for tests; a NULL member is the real one
 * (monotonic clock, signalfd, fork+exec with PR_SET_PDEATHSIG, waitpid, kill). */
struct boot_ops {
    int64_t (*now_ms)(void *ctx);
    /* Wait up to ms for a signal; returns the signal number, or 0 on timeout. */
    int (*signal_wait)(void *ctx, int ms);
    /* Start the image `entry` of `slot` (dir: its helper executables). 0 with *pid, or an error. */
    int (*image_start)(void *ctx, char slot, const char *dir, const char *entry, pid_t *pid);
    /* 1 with *status (a wait status) when the image has ended, 0 while it runs. */
    int (*image_poll)(void *ctx, pid_t pid, int *status);
    void (*image_signal)(void *ctx, pid_t pid, int sig);
    void *ctx;
};

struct boot_config {
    const char *state_dir;
    long boot_timeout_s;   /* a slot on trial must be healthy within this (seconds) */
    char **argv;           /* the image is started with these arguments (the loader's own) */
    const sigset_t *mask;  /* signals blocked in the loader, unblocked in the image */
    int signal_fd;         /* signalfd of mask (SIGTERM, SIGINT, SIGHUP, SIGCHLD) */
    update_event_fn event; /* slot events (selection, rollback, good) for the audit log */
    void *event_ctx;
    /* Audit events of the boot loader itself (type from audit.h, short detail). */
    void (*note)(void *ctx, const char *type, const char *detail);
    void *note_ctx;
    const struct boot_ops *ops; /* NULL: the real process operations */
};

struct boot_result {
    char booted;     /* 'A', 'B', or 0 when the slot state cannot be read */
    int rolled_back; /* a previous slot came back during this boot */
    int exit_now;    /* 1: a slot image stopped for good; the caller exits with exit_status */
    int exit_status;
};

/* Choose and (for an image slot) run slots until one must run in the calling process (returns 0 with
 * out->booted, out->rolled_back), or a slot image stopped for good (out->exit_now: the caller exits with
 * out->exit_status; lib/ never exits). A process started by a boot loader (BOOT_ENV_SLOT set) returns at
 * once with that slot. Errors: SAFECAM_ERR_INVAL (cfg). QCVN 135 G3 / G8. */
int boot_chain_run(const struct boot_config *cfg, struct boot_result *out) SAFECAM_WUR;

/* Run the image of `slot` until it ends (the boot watchdog). on_trial: the slot must pass its health check
 * (update_slots_status: no longer `trying`) within cfg->boot_timeout_s, else it is stopped (SIGTERM, then
 * SIGKILL after BOOT_STOP_GRACE_MS) and an update_refused event is recorded. SIGTERM/SIGINT are forwarded
 * and set *stop; SIGHUP is forwarded. Returns the image's wait status, or -1 when it could not start. */
int boot_image_watch(const struct boot_config *cfg, char slot, const char *dir, const char *entry,
                     int on_trial, int *stop);

/* The next back-off after retry_ms: doubled, at most BOOT_RETRY_MAX_MS (milliseconds). */
int boot_retry_next(int retry_ms);

/* "exit_N" / "signal_N" for a wait status, "fork_failed" for -1, into out (size bytes).
 * Errors: SAFECAM_ERR_TOOBIG. */
int boot_status_describe(int status, char *out, size_t size) SAFECAM_WUR;

#endif
