/* sandbox.h — the child table and the walls the kernel enforces around each child process.
 *
 * The child table is data: one row per helper process (role, executable, user and group, the peers it
 * has channels to, its seccomp allowlist and its filesystem view), in the manner of OpenBSD httpd's
 * process table. The supervisor reads a row to start a child (user and group switch between fork and
 * exec); the child reads its own row to wall itself in first thing after exec:
 *
 *   sandbox_enter()        not dumpable, no core files, no_new_privs, an empty capability set, and a
 *                          Landlock view of only the paths its row lists (before any thread exists);
 *   sandbox_seccomp_lock() the row's syscall allowlist on every thread; anything else kills the process
 *                          (SECCOMP_RET_KILL_PROCESS), which the supervisor audits as sandbox_violation.
 *
 * Users per role (created by scripts/create-users and the Debian package): safecam-vault, safecam-web,
 * safecam-media, safecam-update, each with the group of the same name.
 * QCVN 135 G4/G6 (secrets and attack surface) / EN 303 645 5.4-1, 5.6-7 (least privilege). */
#ifndef SAFECAM_SANDBOX_H
#define SAFECAM_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "safecam/core.h"

/* Where a filesystem rule's path starts. */
enum sandbox_fs_base {
    SANDBOX_FS_ABSOLUTE, /* path is absolute */
    SANDBOX_FS_STATE,    /* relative to --state-dir ("" = the state dir itself) */
    SANDBOX_FS_UI,       /* the UI directory (web); path ignored */
    SANDBOX_FS_SOURCE,   /* the video source: a device node, or a file's directory (media); path ignored */
    SANDBOX_FS_PROC_SELF /* /proc/<own pid>; path ignored */
};

/* Access a rule grants. READ: read files, list directories. WRITE: write, truncate, create, remove and
 * rename files and directories beneath. DEVICE: ioctl on a device file (V4L2). */
enum sandbox_fs_access {
    SANDBOX_FS_READ = 1u << 0,
    SANDBOX_FS_WRITE = 1u << 1,
    SANDBOX_FS_DEVICE = 1u << 2,
};

struct sandbox_fs_rule {
    enum sandbox_fs_base base;
    const char *path;
    unsigned access; /* SANDBOX_FS_* */
};

/* One row of the child table. Every pointer refers to static data. */
struct supervisor_row {
    const char *role;                 /* "vault", "web", "media", "update" */
    const char *exe_name;             /* "safecam-vault", ... */
    unsigned peer;                    /* IPC_PEER_* of this child */
    unsigned links;                   /* IPC_PEER_* mask of the children it gets a channel to */
    const char *user;                 /* its own unprivileged user (and group of the same name) */
    const char *const *syscalls[3];   /* seccomp allowlist: NULL-terminated lists of syscall names
                                       * (the common runtime, the role's own), NULL after the last */
    const char *const *refused;       /* calls answered EACCES instead of killing (NULL-terminated, or
                                       * NULL): a library's optional attempt the role must not make */
    const struct sandbox_fs_rule *fs; /* its filesystem view */
    size_t n_fs;
};

/* The paths a child's filesystem view is built from (NULL where the role has none). */
struct sandbox_paths {
    const char *state_dir;
    const char *ui_dir;
    const char *source; /* a file or device path; NULL for the test pattern */
};

/* The child table: *rows_out gets the static rows, the return value is their count. */
size_t supervisor_rows(const struct supervisor_row **rows_out);

/* The row of a role ("web") or of a peer (IPC_PEER_WEB); NULL when there is none. */
const struct supervisor_row *supervisor_row_find(const char *role);
const struct supervisor_row *supervisor_row_by_peer(unsigned peer);

/* Number of syscall names in a row's allowlist that exist on this architecture. */
size_t supervisor_row_syscall_count(const struct supervisor_row *row);

/* The uid and gid of the row's user. SAFECAM_ERR_NOTFOUND when the user does not exist. Not
 * async-signal-safe: look users up before fork. */
int supervisor_row_ids(const struct supervisor_row *row, uid_t *uid, gid_t *gid) SAFECAM_WUR;

/* Between fork and exec, in the child, when the supervisor runs as root: drop supplementary groups and
 * switch to uid/gid for good (real, effective and saved). Async-signal-safe. 0 or SAFECAM_ERR_IO. */
int sandbox_identity_switch(uid_t uid, gid_t gid) SAFECAM_WUR;

/* First thing after exec, before any thread is created: PR_SET_DUMPABLE 0, RLIMIT_CORE 0, no_new_privs,
 * every capability dropped (effective, permitted, inheritable, ambient, bounding where allowed), then the
 * row's Landlock view. A kernel without Landlock is said in one log line and the rest still applies.
 * 0, or SAFECAM_ERR_IO when a wall could not be raised (the caller exits: never run with looser walls). */
int sandbox_enter(const struct supervisor_row *row, const struct sandbox_paths *paths) SAFECAM_WUR;

/* The row's seccomp allowlist on every thread of the process (TSYNC). Any other syscall kills the whole
 * process with SIGSYS; clone is allowed for threads only (CLONE_THREAD) and clone3 answers ENOSYS, so
 * no child can create a process; execve, ptrace and module loading are in no allowlist.
 * 0, or SAFECAM_ERR_IO. */
int sandbox_seccomp_lock(const struct supervisor_row *row) SAFECAM_WUR;

/* What a helper calls first thing after exec (after parsing its options, before any thread, library
 * initialisation or untrusted input): sandbox_enter() then sandbox_seccomp_lock() with the row of role.
 * One log line on failure; the caller then exits non-zero. 0, SAFECAM_ERR_NOTFOUND (no such role) or
 * SAFECAM_ERR_IO. */
int sandbox_child_enter(const char *role, const struct sandbox_paths *paths) SAFECAM_WUR;

/* Landlock ABI version of the running kernel (0 when it has none). */
int sandbox_landlock_abi(void);

/* The ownership and modes of the state directory, following trust (see docs/ARCHITECTURE.md):
 * storage key, sealed secrets, vault.db, audit.db and captures belong to the vault only; the public
 * identity and certificate are world-readable; update state and slots belong to update.
 * Also migrates the layout of a camera provisioned before the walls (vault.db and audit.db moved into
 * DIR/vault/). As root: repairs ownership and modes (uids from supervisor_row_ids). Not root: only
 * checks the modes a secret needs; a wrong one is one log line naming the file and what is expected.
 * 0, SAFECAM_ERR_NOTFOUND (a role's user is missing), SAFECAM_ERR_STATE (a wrong mode that cannot be
 * repaired) or SAFECAM_ERR_IO. */
int statedir_walls_apply(const char *state_dir, int as_root) SAFECAM_WUR;

#endif
