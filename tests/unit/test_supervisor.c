/* test_supervisor.c — the child table, the restart back-off and heartbeat watchdog with an injected clock,
 * and the sandbox applied in a forked child with the product's own functions (lib/supervisor). */
#include <errno.h>
#include <fcntl.h>
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
#include <seccomp.h>
/* linux/audit.h (through seccomp.h) has a number by this name; the camera's audit event name is the one used */
#undef AUDIT_CONFIG_CHANGE

#include "safecam/ipc.h"
#include "safecam/sandbox.h"
#include "safecam/statedir.h"
#include "safecam/supervisor.h"
#include "safecam/supervisor_run.h"

/* ---------------- the child table ---------------- */

static int in_allowlist(const struct supervisor_row *row, const char *name)
{
    for (size_t s = 0; s < SAFECAM_ARRAY_LEN(row->syscalls) && row->syscalls[s]; s++)
        for (const char *const *n = row->syscalls[s]; *n; n++)
            if (strcmp(*n, name) == 0)
                return 1;
    return 0;
}

static void test_rows(void **state)
{
    (void)state;
    const struct supervisor_row *rows = NULL;
    size_t n = supervisor_rows(&rows);
    assert_int_equal(n, 6);
    static const char *const never[] = {"execve",
                                        "execveat",
                                        "ptrace",
                                        "process_vm_readv",
                                        "process_vm_writev",
                                        "init_module",
                                        "finit_module",
                                        "delete_module",
                                        "kexec_load",
                                        "kexec_file_load",
                                        "bpf",
                                        "mount",
                                        "umount2",
                                        "pivot_root",
                                        "chroot",
                                        "setuid",
                                        "setresuid",
                                        "setgid",
                                        "unshare",
                                        "setns",
                                        "clone",
                                        "clone3",
                                        "fork",
                                        "vfork",
                                        "perf_event_open",
                                        "userfaultfd",
                                        "keyctl",
                                        "add_key"};
    unsigned peers = 0;
    for (size_t i = 0; i < n; i++) {
        const struct supervisor_row *r = &rows[i];
        char user[64];
        snprintf(user, sizeof user, "safecam-%s", r->role);
        assert_string_equal(r->user, user);
        assert_ptr_equal(supervisor_row_find(r->role), r);
        assert_ptr_equal(supervisor_row_by_peer(r->peer), r);
        assert_int_equal(peers & r->peer, 0); /* one row per peer */
        peers |= r->peer;
        for (size_t k = 0; k < SAFECAM_ARRAY_LEN(never); k++)
            if (in_allowlist(r, never[k]))
                fail_msg("%s may call %s", r->role, never[k]);
        assert_true(supervisor_row_syscall_count(r) > 50);
        /* channels are symmetric: a link is a socketpair with two ends */
        for (size_t j = 0; j < n; j++)
            assert_int_equal(!!(r->links & rows[j].peer), !!(rows[j].links & r->peer));
        /* web and media (network-facing) write nothing of the state dir but media's own cache and its sealed
         * recording segments (web: nothing at all) */
        if (r->peer == IPC_PEER_WEB || r->peer == IPC_PEER_MEDIA) {
            for (size_t k = 0; k < r->n_fs; k++)
                if (r->fs[k].access & SANDBOX_FS_WRITE)
                    assert_true(r->fs[k].base == SANDBOX_FS_ABSOLUTE ||
                                (r->peer == IPC_PEER_MEDIA && r->fs[k].base == SANDBOX_FS_STATE &&
                                 (strcmp(r->fs[k].path, STATEDIR_MEDIA_CACHE) == 0 ||
                                  strcmp(r->fs[k].path, STATEDIR_RECORDINGS) == 0)));
            for (size_t k = 0; k < r->n_fs; k++)
                if (r->fs[k].base == SANDBOX_FS_STATE)
                    assert_true(strncmp(r->fs[k].path, STATEDIR_VAULT_DIR, strlen(STATEDIR_VAULT_DIR)) != 0 &&
                                strcmp(r->fs[k].path, STATEDIR_STORAGE_KEY) != 0 &&
                                strcmp(r->fs[k].path, STATEDIR_FACTORY) != 0);
        }
        printf("# %s: %zu system calls allowed\n", r->role, supervisor_row_syscall_count(r));
    }
    assert_null(supervisor_row_find("shell"));
    assert_null(supervisor_row_by_peer(IPC_PEER_SUPERVISOR));
    /* the vault talks to everyone, media and update never to each other */
    assert_false(supervisor_row_find("media")->links & IPC_PEER_UPDATE);
}

/* The allowlists were derived from the suite on x86_64. aarch64 (the cameras' SoCs) has none of the old path
 * and wait calls, only the generic forms its C library makes instead: a row that lists one without the other
 * would kill its process on a camera at the first unlink() or mkdir(). Checked by name for both
 * architectures (libseccomp knows each one's table), so the native build catches it too. */
static void test_rows_aarch64(void **state)
{
    (void)state;
    static const char *const generic[][2] = {
        {"open", "openat"}, {"creat", "openat"}, {"stat", "newfstatat"}, {"lstat", "newfstatat"},
        {"access", "faccessat"}, {"readlink", "readlinkat"}, {"dup2", "dup3"}, {"pipe", "pipe2"},
        {"poll", "ppoll"}, {"select", "pselect6"}, {"epoll_create", "epoll_create1"},
        {"epoll_wait", "epoll_pwait"}, {"unlink", "unlinkat"}, {"rmdir", "unlinkat"}, {"rename", "renameat"},
        {"mkdir", "mkdirat"}, {"chmod", "fchmodat"}, {"chown", "fchownat"}, {"link", "linkat"},
        {"symlink", "symlinkat"}, {"time", "clock_gettime"}, {"inotify_init", "inotify_init1"},
        {"eventfd", "eventfd2"}, {"signalfd", "signalfd4"}, {"utimes", "utimensat"}, {"getdents", "getdents64"},
    };
    const struct supervisor_row *rows = NULL;
    size_t n = supervisor_rows(&rows);
    for (size_t i = 0; i < n; i++) {
        const struct supervisor_row *r = &rows[i];
        size_t on_arm = 0;
        for (size_t s = 0; s < SAFECAM_ARRAY_LEN(r->syscalls) && r->syscalls[s]; s++)
            for (const char *const *name = r->syscalls[s]; *name; name++) {
                int x86 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, *name);
                int arm = seccomp_syscall_resolve_name_arch(SCMP_ARCH_AARCH64, *name);
                /* negative: no such name (__NR_SCMP_ERROR), or libseccomp's pseudo-number for a call this
                 * architecture does not have */
                if (x86 < 0 && arm < 0)
                    fail_msg("%s: %s is a system call on neither x86_64 nor aarch64", r->role, *name);
                if (arm >= 0) {
                    on_arm++;
                    continue;
                }
                size_t k = 0;
                while (k < SAFECAM_ARRAY_LEN(generic) && strcmp(generic[k][0], *name) != 0)
                    k++;
                if (k == SAFECAM_ARRAY_LEN(generic))
                    fail_msg("%s: %s has no aarch64 form this test knows: add it to the table", r->role, *name);
                if (!in_allowlist(r, generic[k][1]))
                    fail_msg("%s: allows %s but not %s, which aarch64 makes instead", r->role, *name,
                             generic[k][1]);
            }
        printf("# %s: %zu system calls allowed on aarch64\n", r->role, on_arm + 1);
    }
}

/* ---------------- restart back-off and watchdog, with a fake clock ---------------- */

static void test_restart_backoff(void **state)
{
    (void)state;
    struct supervisor_restart r;
    supervisor_restart_init(&r);
    int64_t now = 1000;
    supervisor_restart_started(&r, now);
    assert_true(supervisor_restart_due(&r, now));
    static const int want[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(want); i++) {
        now += 10; /* crashes at once after each start */
        assert_int_equal(supervisor_restart_down(&r, now), want[i]);
        assert_false(supervisor_restart_due(&r, now + want[i] - 1));
        assert_true(supervisor_restart_due(&r, now + want[i]));
        now += want[i];
        supervisor_restart_started(&r, now);
    }
    assert_int_equal(r.restarts, SAFECAM_ARRAY_LEN(want));
    /* a run longer than the stable time starts the back-off again at the minimum */
    now += SUPERVISOR_STABLE_RUN_MS + 1;
    assert_int_equal(supervisor_restart_down(&r, now), SUPERVISOR_BACKOFF_MIN_MS);
    /* a failed start attempt waits the current back-off */
    supervisor_restart_retry(&r, now);
    assert_false(supervisor_restart_due(&r, now + 1));
}

static void test_heartbeat_watchdog(void **state)
{
    (void)state;
    struct supervisor_heartbeat hb;
    supervisor_heartbeat_reset(&hb);
    assert_false(supervisor_heartbeat_healthy(&hb));
    assert_int_equal(supervisor_heartbeat_tick(&hb, 7), SUPERVISOR_HEARTBEAT_SEND);
    assert_int_equal(hb.id, 7);
    assert_int_equal(supervisor_heartbeat_answer(&hb, 6), 0); /* stale */
    assert_int_equal(supervisor_heartbeat_answer(&hb, 7), 1);
    assert_true(supervisor_heartbeat_healthy(&hb));
    /* a hung child: the third unanswered interval kills */
    assert_int_equal(supervisor_heartbeat_tick(&hb, 8), SUPERVISOR_HEARTBEAT_SEND);
    assert_int_equal(supervisor_heartbeat_tick(&hb, 9), SUPERVISOR_HEARTBEAT_WAIT);
    assert_false(supervisor_heartbeat_healthy(&hb));
    assert_int_equal(supervisor_heartbeat_tick(&hb, 9), SUPERVISOR_HEARTBEAT_WAIT);
    assert_int_equal(supervisor_heartbeat_tick(&hb, 9), SUPERVISOR_HEARTBEAT_KILL);
    /* a late answer to the outstanding one heals it */
    supervisor_heartbeat_reset(&hb);
    assert_int_equal(supervisor_heartbeat_tick(&hb, 10), SUPERVISOR_HEARTBEAT_SEND);
    assert_int_equal(supervisor_heartbeat_tick(&hb, 11), SUPERVISOR_HEARTBEAT_WAIT);
    assert_int_equal(supervisor_heartbeat_answer(&hb, 10), 1);
    assert_true(supervisor_heartbeat_healthy(&hb));
}

/* ---------------- safecamd's options ---------------- */

static int parse(struct supervisor_options *o, const char *const *args)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)"safecamd";
    for (; *args && argc < 15; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* the refusal's one line is not the test's output */
    int rc = supervisor_options_parse(argc, argv, o);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static void test_options(void **state)
{
    (void)state;
    struct supervisor_options o;
    assert_int_equal(parse(&o, (const char *const[]){"--state-dir", "/x", NULL}), SUPERVISOR_OPTIONS_OK);
    assert_string_equal(o.state_dir, "/x");
    assert_string_equal(o.bind, "127.0.0.1");
    assert_string_equal(o.source, "testsrc");
    assert_int_equal(o.https_port, 8443);
    assert_int_equal(o.rtsps_port, 8322);
    assert_int_equal(o.boot_timeout_s, SUPERVISOR_BOOT_TIMEOUT_DEFAULT_S);

    /* a --config file, with the command line over it */
    char cfg[] = "/tmp/test_supervisor_cfg.XXXXXX";
    int fd = mkstemp(cfg);
    assert_true(fd >= 0);
    const char *text =
        "{\"bind\": \"::1\", \"https_port\": 443, \"rtsps_port\": 322, \"source\": \"testsrc\"}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(
        parse(&o, (const char *const[]){"--state-dir", "/x", "--config", cfg, "--https-port", "8443", NULL}),
        SUPERVISOR_OPTIONS_OK);
    assert_string_equal(o.bind, "::1");
    assert_int_equal(o.https_port, 8443);
    assert_int_equal(o.rtsps_port, 322);
    /* an unknown field in the file is refused, not ignored */
    fd = open(cfg, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    text = "{\"bind\": \"127.0.0.1\", \"admin_password\": \"x\"}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(parse(&o, (const char *const[]){"--state-dir", "/x", "--config", cfg, NULL}),
                     SUPERVISOR_OPTIONS_USAGE);
    unlink(cfg);

    /* bad input: one line and exit 2, whatever the order */
    const char *const *bad[] = {
        (const char *const[]){NULL}, /* no state dir */
        (const char *const[]){"--state-dir", "/x", "--bind", "camera.local",
                              NULL}, /* a name, not a literal */
        (const char *const[]){"--state-dir", "/x", "--https-port", "0", NULL},
        (const char *const[]){"--state-dir", "/x", "--https-port", "65536", NULL},
        (const char *const[]){"--state-dir", "/x", "--https-port", "8322", NULL}, /* same as RTSPS */
        (const char *const[]){"--state-dir", "/x", "--source", "rtsp://elsewhere", NULL},
        (const char *const[]){"--state-dir", "/x", "--source", "file:/nonexistent/clip.mp4", NULL},
        (const char *const[]){"--state-dir", "/x", "--boot-timeout", "1", NULL},
        (const char *const[]){"--state-dir", "/x", "--frobnicate", NULL},
        (const char *const[]){"--state-dir", "/x", "stray", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(&o, bad[i]), SUPERVISOR_OPTIONS_USAGE);
}

/* ---------------- the sandbox, in a forked child ---------------- */

/* Fork, enter role's sandbox with the product's function, then run what(); returns the wait status. */
static int in_sandbox(const char *role, const char *state_dir, int (*what)(const char *), const char *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const struct sandbox_paths p = {.state_dir = state_dir};
        if (sandbox_child_enter(role, &p) != 0)
            _exit(100);
        _exit(what(arg));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static int do_exec(const char *path)
{
    char *const av[] = {(char *)path, NULL};
    execv(path, av);
    return 101;
}

static int do_fork(const char *unused)
{
    (void)unused;
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    return 102;
}

static int do_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        return 0;
    return errno == EACCES ? 13 : 103;
}

static int do_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0)
        return 0;
    return errno == EACCES ? 13 : 104;
}

/* Whether a process here can load a seccomp filter at all (in a child: a filter stays for life). */
static int seccomp_loadable(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        _exit(ctx && seccomp_load(ctx) == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_sandbox_in_child(void **state)
{
    (void)state;
    if (!seccomp_loadable()) {
        /* qemu-user (make check-arm64) refuses every filter a guest loads, since it would filter the
         * emulator's own system calls; so does nothing else a camera runs on. Skipped only where the run says
         * it is emulated; anywhere else the walls could not be raised, which is a failure. */
        const char *emulator = getenv("SAFECAM_EMULATOR");
        if (!emulator || !*emulator)
            fail_msg("this kernel refuses a seccomp filter: no child could wall itself in");
        printf("# %s refuses a guest's seccomp filter: the walls are not exercised here\n", emulator);
        skip();
    }
    /* base/state is the state dir; base/outside is a file beside it, in no role's view;
       base/state/stray is a file in the state dir that only update's view (the whole dir, read) holds */
    char base[] = "/tmp/test_supervisor.XXXXXX";
    assert_non_null(mkdtemp(base));
    char dir[sizeof base + 8], outside[sizeof base + 16], stray[sizeof base + 16], factory[sizeof base + 32],
        cert[sizeof base + 48];
    snprintf(dir, sizeof dir, "%s/state", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    snprintf(stray, sizeof stray, "%s/stray", dir);
    snprintf(factory, sizeof factory, "%s/%s", dir, STATEDIR_FACTORY);
    snprintf(cert, sizeof cert, "%s/%s", dir, STATEDIR_TLS_CERT);
    assert_int_equal(mkdir(dir, 0711), 0);
    assert_int_equal(mkdir(factory, 0755), 0);
    for (const char *const *file = (const char *const[]){outside, stray, cert, NULL}; *file; file++) {
        FILE *f = fopen(*file, "w");
        assert_non_null(f);
        fclose(f);
    }
    for (const char *const *role = (const char *const[]){"vault", "web", "media", "update", NULL}; *role;
         role++) {
        int st = in_sandbox(*role, dir, do_exec, "/bin/true");
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
        st = in_sandbox(*role, dir, do_fork, NULL);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
        if (sandbox_landlock_abi() > 0) {
            /* outside the state dir and the row's view: Landlock says no, whatever the modes */
            st = in_sandbox(*role, dir, do_read, outside);
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 13);
            st = in_sandbox(*role, dir, do_read, stray);
            if (strcmp(*role, "update") == 0)
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            else
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 13);
        }
    }
    if (sandbox_landlock_abi() > 0) {
        int st = in_sandbox("web", dir, do_read, cert); /* in web's view: readable */
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        st = in_sandbox("web", dir, do_write, cert); /* but not writable */
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 13);
        st = in_sandbox("update", dir, do_write,
                        stray); /* update reads the state dir; it writes only its own */
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 13);
    }
    unlink(cert);
    unlink(stray);
    rmdir(factory);
    rmdir(dir);
    unlink(outside);
    rmdir(base);
}

int main(void)
{
    safecam_log_init("test", SAFECAM_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_rows_aarch64),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_restart_backoff),
        cmocka_unit_test(test_heartbeat_watchdog),
        cmocka_unit_test(test_sandbox_in_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
