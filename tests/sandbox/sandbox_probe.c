/* sandbox_probe.c — test-only: become one role of the child table with the product's own functions
 * (its user as sandbox_identity_switch sets it between fork and exec, then sandbox_child_enter), then try
 * one action and report what happened. Used by tests/system/test_walls.py; never installed.
 *
 *   sandbox-probe --role ROLE --state-dir DIR [--ui-dir DIR] [--no-sandbox] ACTION [ARG]
 *   ACTION: read PATH | write PATH | status | exec PATH | ptrace PID | fork
 * Prints one line "ok" or "errno=NAME"; a forbidden system call kills the probe with SIGSYS. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safecam/sandbox.h"

static int report(int ok)
{
    if (ok)
        printf("ok\n");
    else
        printf("errno=%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    fflush(stdout);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *role = NULL, *state_dir = NULL, *ui_dir = NULL;
    int sandbox = 1;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
            state_dir = argv[++i];
        else if (strcmp(argv[i], "--ui-dir") == 0 && i + 1 < argc)
            ui_dir = argv[++i];
        else if (strcmp(argv[i], "--no-sandbox") == 0)
            sandbox = 0;
        else
            break;
    }
    const struct supervisor_row *row = supervisor_row_find(role);
    if (!row || !state_dir || i >= argc) {
        fprintf(stderr, "usage: sandbox-probe --role ROLE --state-dir DIR [--ui-dir DIR] [--no-sandbox] ACTION [ARG]\n");
        return 2;
    }
    const char *action = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
    safecam_log_init("probe", SAFECAM_LOG_INFO);
    if (geteuid() == 0) {
        uid_t uid;
        gid_t gid;
        if (supervisor_row_ids(row, &uid, &gid) != 0 || sandbox_identity_switch(uid, gid) != 0) {
            fprintf(stderr, "sandbox-probe: cannot become %s\n", row->user);
            return 2;
        }
    }
    const struct sandbox_paths paths = {.state_dir = state_dir, .ui_dir = ui_dir};
    if (sandbox && sandbox_child_enter(role, &paths) != 0)
        return 2;
    if (strcmp(action, "status") == 0) {
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "Uid:", 4) == 0 || strncmp(line, "NoNewPrivs:", 11) == 0 ||
                strncmp(line, "Seccomp:", 8) == 0 || strncmp(line, "CapEff:", 7) == 0)
                fputs(line, stdout);
        if (f)
            fclose(f);
        return 0;
    }
    if (!arg && strcmp(action, "fork") != 0) {
        fprintf(stderr, "sandbox-probe: %s needs an argument\n", action);
        return 2;
    }
    if (strcmp(action, "read") == 0) {
        int fd = open(arg, O_RDONLY | O_CLOEXEC);
        return report(fd >= 0);
    }
    if (strcmp(action, "write") == 0) {
        int fd = open(arg, O_WRONLY | O_APPEND | O_CLOEXEC);
        return report(fd >= 0);
    }
    if (strcmp(action, "exec") == 0) {
        char *const av[] = {(char *)arg, NULL};
        execv(arg, av);
        return report(0);
    }
    if (strcmp(action, "ptrace") == 0) {
        long r = ptrace(PTRACE_ATTACH, (pid_t)strtol(arg, NULL, 10), NULL, NULL);
        return report(r == 0);
    }
    if (strcmp(action, "fork") == 0) {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        if (p > 0)
            waitpid(p, NULL, 0);
        return report(p > 0);
    }
    fprintf(stderr, "sandbox-probe: unknown action %s\n", action);
    return 2;
}
