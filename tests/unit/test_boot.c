/* test_boot.c — cmocka tests for lib/boot, the PC boot chain, with a fake clock, fake signals and a fake
 * image (no fork): back-off, status names, a process started by a boot loader, a state dir without an
 * image slot, the boot watchdog's health-check timeout and the forwarding of a stop request.
 * Trust level: test code; runs as any user in a scratch dir. */
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "safecam/boot.h"

struct fake {
    int64_t now;
    int64_t step_ms; /* the clock advances this much per signal wait */
    int sig_at_wait; /* deliver this signal at wait number sig_wait_no (0: never) */
    int sig_wait_no;
    int waits;
    int starts;
    int polls_left;  /* the image ends after this many polls ... */
    int end_on_term; /* ... or as soon as it got SIGTERM */
    int got_term, got_kill, got_hup;
    int status; /* its wait status */
    int notes;
    char note_type[32];
    char note_detail[128];
};

static int64_t f_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static int f_signal_wait(void *ctx, int ms)
{
    struct fake *f = ctx;
    (void)ms;
    f->waits++;
    f->now += f->step_ms;
    return f->sig_at_wait && f->waits == f->sig_wait_no ? f->sig_at_wait : 0;
}

static int f_start(void *ctx, char slot, const char *dir, const char *entry, pid_t *pid)
{
    struct fake *f = ctx;
    (void)slot, (void)dir, (void)entry;
    f->starts++;
    *pid = 4242;
    return 0;
}

static int f_poll(void *ctx, pid_t pid, int *status)
{
    struct fake *f = ctx;
    assert_int_equal(pid, 4242);
    if ((f->end_on_term && f->got_term) || (f->polls_left > 0 && --f->polls_left == 0)) {
        *status = f->status;
        return 1;
    }
    return 0;
}

static void f_signal(void *ctx, pid_t pid, int sig)
{
    struct fake *f = ctx;
    assert_int_equal(pid, 4242);
    if (sig == SIGTERM)
        f->got_term++;
    else if (sig == SIGKILL)
        f->got_kill++;
    else if (sig == SIGHUP)
        f->got_hup++;
}

static void f_note(void *ctx, const char *type, const char *detail)
{
    struct fake *f = ctx;
    f->notes++;
    (void)snprintf(f->note_type, sizeof f->note_type, "%s", type);
    (void)snprintf(f->note_detail, sizeof f->note_detail, "%s", detail);
}

static char state_dir[64];

static int setup(void **state)
{
    (void)state;
    (void)snprintf(state_dir, sizeof state_dir, "/tmp/safecam-boot-XXXXXX");
    assert_non_null(mkdtemp(state_dir));
    unsetenv(BOOT_ENV_SLOT);
    return 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    (void)state;
    /* the chain may have written the slot state: remove what is there */
    (void)nftw(state_dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* A state dir whose slot state cannot be read: the slot on trial never counts as healthy. */
#define UNREADABLE_STATE "/proc/self/status/no-state"

static struct boot_config config_make(struct fake *f, struct boot_ops *ops)
{
    *ops = (struct boot_ops){.now_ms = f_now,
                             .signal_wait = f_signal_wait,
                             .image_start = f_start,
                             .image_poll = f_poll,
                             .image_signal = f_signal,
                             .ctx = f};
    return (struct boot_config){
        .state_dir = state_dir, .boot_timeout_s = 5, .note = f_note, .note_ctx = f, .ops = ops};
}

static void test_helpers(void **state)
{
    (void)state;
    assert_int_equal(boot_retry_next(BOOT_RETRY_MIN_MS), 2000);
    assert_int_equal(boot_retry_next(16000), BOOT_RETRY_MAX_MS);
    assert_int_equal(boot_retry_next(BOOT_RETRY_MAX_MS), BOOT_RETRY_MAX_MS);
    char what[32];
    assert_int_equal(boot_status_describe(3 << 8, what, sizeof what), 0); /* exited with 3 */
    assert_string_equal(what, "exit_3");
    assert_int_equal(boot_status_describe(SIGKILL, what, sizeof what), 0); /* killed by signal 9 */
    assert_string_equal(what, "signal_9");
    assert_int_equal(boot_status_describe(-1, what, sizeof what), 0);
    assert_string_equal(what, "fork_failed");
    assert_int_not_equal(boot_status_describe(SIGKILL, what, 4), 0);
}

/* A slot image started by its boot loader does not count a boot attempt again and runs itself. */
static void test_chain_started_by_loader(void **state)
{
    (void)state;
    struct fake f = {0};
    struct boot_ops ops;
    struct boot_config cfg = config_make(&f, &ops);
    struct boot_result r;
    assert_int_equal(setenv(BOOT_ENV_SLOT, "B", 1), 0);
    assert_int_equal(boot_chain_run(&cfg, &r), 0);
    unsetenv(BOOT_ENV_SLOT);
    assert_int_equal(r.booted, 'B');
    assert_int_equal(r.exit_now, 0);
    assert_int_equal(f.starts, 0);
    assert_int_equal(boot_chain_run(NULL, &r), SAFECAM_ERR_INVAL);
}

/* No slot holds an image of its own: this process runs, nothing is started. */
static void test_chain_no_image(void **state)
{
    (void)state;
    struct fake f = {0};
    struct boot_ops ops;
    struct boot_config cfg = config_make(&f, &ops);
    struct boot_result r;
    assert_int_equal(boot_chain_run(&cfg, &r), 0);
    assert_int_equal(r.exit_now, 0);
    assert_int_equal(f.starts, 0);
}

/* An image on trial that never becomes healthy is stopped after the boot timeout, and audited. */
static void test_watch_health_timeout(void **state)
{
    (void)state;
    struct fake f = {.step_ms = 1000, .end_on_term = 1, .polls_left = 100, .status = 15};
    struct boot_ops ops;
    struct boot_config cfg = config_make(&f, &ops);
    cfg.state_dir = UNREADABLE_STATE;
    int stop = 0;
    int status = boot_image_watch(&cfg, 'A', state_dir, "/nonexistent/safecamd", 1, &stop);
    assert_int_equal(status, 15);
    assert_int_equal(stop, 0);
    assert_int_equal(f.starts, 1);
    assert_int_equal(f.got_term, 1);
    assert_int_equal(f.got_kill, 0);
    assert_true(f.now >= 5000 && f.now <= 7000);
    assert_int_equal(f.notes, 1);
    assert_string_equal(f.note_type, "update_refused");
    assert_non_null(strstr(f.note_detail, "event=health_check slot=A reason=boot_timeout"));
}

/* An image that ignores SIGTERM is killed after the grace time. */
static void test_watch_kill_after_grace(void **state)
{
    (void)state;
    struct fake f = {
        .step_ms = 1000, .sig_at_wait = SIGTERM, .sig_wait_no = 2, .polls_left = 20, .status = 9};
    struct boot_ops ops;
    struct boot_config cfg = config_make(&f, &ops);
    int stop = 0;
    int status = boot_image_watch(&cfg, 'B', state_dir, "/nonexistent/safecamd", 0, &stop);
    assert_int_equal(status, 9);
    assert_int_equal(stop, 1);
    assert_int_equal(f.got_term, 1);
    assert_int_equal(f.got_kill, 1); /* 8 s grace passed before the 20th poll */
    assert_int_equal(f.notes, 0);    /* not on trial: no health-check timeout */
}

/* SIGHUP is forwarded; an image that is not on trial runs until it ends. */
static void test_watch_hup_forwarded(void **state)
{
    (void)state;
    struct fake f = {.step_ms = 100, .sig_at_wait = SIGHUP, .sig_wait_no = 1, .polls_left = 3, .status = 0};
    struct boot_ops ops;
    struct boot_config cfg = config_make(&f, &ops);
    int stop = 0;
    assert_int_equal(boot_image_watch(&cfg, 'A', state_dir, "/nonexistent/safecamd", 0, &stop), 0);
    assert_int_equal(f.got_hup, 1);
    assert_int_equal(f.got_term, 0);
    assert_int_equal(stop, 0);
}

int main(void)
{
    safecam_log_init("test_boot", SAFECAM_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test_setup_teardown(test_chain_started_by_loader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_no_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_health_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_kill_after_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_hup_forwarded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
