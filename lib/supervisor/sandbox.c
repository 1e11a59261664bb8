/* sandbox.c — raises the walls around one child process: identity switch (supervisor side, between fork
 * and exec), then in the child itself no dumps, no core files, no_new_privs, no capabilities, a Landlock
 * filesystem view and a seccomp allowlist (sandbox.h). Runs in every helper process before it touches
 * untrusted input. QCVN 135 G4/G6 / EN 303 645 5.4-1, 5.6-7. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "safecam/sandbox.h"

/* Debian 12's kernel headers stop at Landlock ABI 3; later rights are defined here by value. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define LL_FILE_RIGHTS                                                                                      \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |           \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE                                                                                            \
    (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |       \
     LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REFER |               \
     LANDLOCK_ACCESS_FS_TRUNCATE)

int sandbox_identity_switch(uid_t uid, gid_t gid)
{
    /* the bounding set can only be emptied while CAP_SETPCAP is still held */
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return SAFECAM_ERR_IO;
    if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
        return SAFECAM_ERR_IO;
    /* for good: there is no way back to root */
    if (setuid(0) == 0 || geteuid() != uid || getegid() != gid)
        return SAFECAM_ERR_IO;
    return 0;
}

int sandbox_landlock_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : (int)v;
}

/* Every right the kernel's ABI knows: what it knows is what it can deny. */
static uint64_t landlock_handled(int abi)
{
    uint64_t all = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                   LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                   LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                   LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2)
        all |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        all |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return all;
}

static int rule_path(const struct sandbox_fs_rule *r, const struct sandbox_paths *p, char *out, size_t size)
{
    switch (r->base) {
    case SANDBOX_FS_ABSOLUTE:
        return safecam_strlcpy(out, r->path, size);
    case SANDBOX_FS_STATE:
        if (!p->state_dir)
            return SAFECAM_ERR_NOTFOUND;
        return r->path[0] ? safecam_path_join(out, size, p->state_dir, r->path) : safecam_strlcpy(out, p->state_dir, size);
    case SANDBOX_FS_UI:
        return p->ui_dir ? safecam_strlcpy(out, p->ui_dir, size) : SAFECAM_ERR_NOTFOUND;
    case SANDBOX_FS_SOURCE: {
        /* a device node itself; a file's directory, because a rule holds an inode and a file source may be
         * replaced (moved away and back) while the camera runs */
        struct stat st;
        if (!p->source)
            return SAFECAM_ERR_NOTFOUND;
        if (stat(p->source, &st) == 0 && S_ISCHR(st.st_mode))
            return safecam_strlcpy(out, p->source, size);
        char tmp[PATH_MAX];
        if (safecam_strlcpy(tmp, p->source, sizeof tmp) != 0)
            return SAFECAM_ERR_TOOBIG;
        return safecam_strlcpy(out, dirname(tmp), size);
    }
    case SANDBOX_FS_PROC_SELF:
        return safecam_fmt(out, size, "/proc/%d", (int)getpid());
    }
    return SAFECAM_ERR_INVAL;
}

static int landlock_apply(const struct supervisor_row *row, const struct sandbox_paths *paths)
{
    int abi = sandbox_landlock_abi();
    if (abi < 1) {
        log_warn("%s: the kernel has no Landlock: the filesystem view is not enforced (users, seccomp and "
                 "no_new_privs still apply)", row->role);
        return 0;
    }
    uint64_t handled = landlock_handled(abi);
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (rs < 0)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    for (size_t i = 0; i < row->n_fs; i++) {
        const struct sandbox_fs_rule *r = &row->fs[i];
        char path[PATH_MAX];
        if (rule_path(r, paths, path, sizeof path) != 0)
            continue; /* a path this run does not have (no UI dir, the test pattern) */
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            continue; /* absent here (no /lib64, no /dev/dri): nothing to allow */
        struct stat st;
        uint64_t allowed = 0;
        if (r->access & SANDBOX_FS_READ)
            allowed |= LL_READ;
        if (r->access & SANDBOX_FS_WRITE)
            allowed |= LL_WRITE;
        if (r->access & SANDBOX_FS_DEVICE)
            allowed |= LANDLOCK_ACCESS_FS_IOCTL_DEV | LANDLOCK_ACCESS_FS_WRITE_FILE;
        if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
            allowed &= LL_FILE_RIGHTS;
        struct landlock_path_beneath_attr pb = {.allowed_access = allowed & handled, .parent_fd = fd};
        long lr = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
        close(fd);
        if (lr != 0) {
            log_err("%s: Landlock refused the rule for %s: %s", row->role, path, strerror(errno));
            goto out;
        }
    }
    if (syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
        log_err("%s: landlock_restrict_self: %s", row->role, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(rs);
    return rc;
}

static int capabilities_drop(void)
{
    /* Ambient and bounding sets first (the bounding set needs CAP_SETPCAP, held only by a child that
     * still runs as root: the developer's machine without separation). Then the three sets, emptied. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return SAFECAM_ERR_IO;
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
            errno != EPERM)
            return SAFECAM_ERR_IO;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) != 0)
        return SAFECAM_ERR_IO;
    return 0;
}

int sandbox_enter(const struct supervisor_row *row, const struct sandbox_paths *paths)
{
    static const struct sandbox_paths none = {0};
    if (!row)
        return SAFECAM_ERR_INVAL;
    if (!paths)
        paths = &none;
    struct rlimit zero = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &zero) != 0) {
        log_err("%s: cannot make the process non-dumpable", row->role);
        return SAFECAM_ERR_IO;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        log_err("%s: cannot set no_new_privs", row->role);
        return SAFECAM_ERR_IO;
    }
    if (capabilities_drop() != 0) {
        log_err("%s: cannot drop capabilities: %s", row->role, strerror(errno));
        return SAFECAM_ERR_IO;
    }
    return landlock_apply(row, paths);
}

int sandbox_seccomp_lock(const struct supervisor_row *row)
{
    if (!row)
        return SAFECAM_ERR_INVAL;
#ifdef SAFECAM_SANDBOX_NO_SECCOMP
    /* A measurement build (meson -Dseccomp=false, bench/seccomp.sh): never shipped. */
    log_warn("%s: built without seccomp allowlists (measurement build)", row->role);
    return 0;
#endif
#ifdef SAFECAM_SANDBOX_LEARN
    /* Development builds only (meson -Dsandbox_learn=true): log what the allowlist lacks instead of
     * killing, to derive the allowlists from the suite. Never in a product build. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_LOG);
#else
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
#endif
    if (!ctx)
        return SAFECAM_ERR_NOMEM;
    int rc = SAFECAM_ERR_IO;
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0)
        goto out;
    for (size_t s = 0; s < SAFECAM_ARRAY_LEN(row->syscalls) && row->syscalls[s]; s++) {
        for (const char *const *name = row->syscalls[s]; *name; name++) {
            int nr = seccomp_syscall_resolve_name(*name);
            if (nr < 0)
                continue; /* unknown, or libseccomp's pseudo-number for a call this architecture lacks */
            int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
            if (r != 0 && r != -EEXIST)
                goto out;
        }
    }
    for (const char *const *name = row->refused; name && *name; name++) {
        int nr = seccomp_syscall_resolve_name(*name);
        if (nr >= 0 && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 0) != 0)
            goto out;
    }
    /* Threads only: a clone without CLONE_THREAD (fork) kills. clone3 passes its flags in memory, which
     * a filter cannot read: it answers ENOSYS, and the C library falls back to clone. */
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) != 0)
        goto out;
    int nr3 = seccomp_syscall_resolve_name("clone3");
    if (nr3 >= 0 && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr3, 0) != 0)
        goto out;
    if (seccomp_load(ctx) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        log_err("%s: cannot load the seccomp allowlist", row->role);
    seccomp_release(ctx);
    return rc;
}

int sandbox_child_enter(const char *role, const struct sandbox_paths *paths)
{
    const struct supervisor_row *row = supervisor_row_find(role);
    if (!row) {
        log_err("sandbox: no row for role %s in the child table", role ? role : "(null)");
        return SAFECAM_ERR_NOTFOUND;
    }
    int rc = sandbox_enter(row, paths);
    if (rc == 0)
        rc = sandbox_seccomp_lock(row);
    if (rc != 0)
        log_err("%s: the sandbox could not be raised: refusing to run with looser walls", role);
    return rc;
}
