/* child_table.c — the child table: who each helper process is, whom it talks to, which system calls it
 * may make and which files it may see. Pure data plus lookups; read by the supervisor (to start a child)
 * and by each child (to wall itself in). Each allowlist is the smallest that passes the whole suite,
 * sanitizer builds included (docs/ARCHITECTURE.md "Walls"). Names unknown on an architecture are skipped, so
 * each path call the x86_64 C library makes by its old name (unlink, rename, mkdir, chmod, link...) comes with the
 * *at form that aarch64, which has only those, makes instead (checked by tests/unit/test_supervisor.c).
 * QCVN 135 G4/G6 / EN 303 645 5.6-7. */
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include <seccomp.h>

#include "safecam/ipc.h"
#include "safecam/sandbox.h"
#include "safecam/statedir.h"
#include "safecam/update.h"

/* What every child needs to run its C runtime, GLib or libmicrohttpd threads and its IPC channels:
 * memory, threads, time, signals, waiting, reading and writing descriptors it holds, and opening the
 * files its Landlock view allows. */
static const char *const syscalls_common[] = {
    /* descriptors */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "close_range", "dup", "dup2",
    "dup3", "fcntl", "lseek", "pipe", "pipe2", "ioctl",
    /* files (Landlock decides which) */
    "open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "statfs", "fstatfs",
    /* memory */
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "membarrier", "mlock", "mlock2", "munlock",
    "get_mempolicy",
    /* threads (clone: CLONE_THREAD only, enforced in sandbox.c) */
    "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "gettid", "exit",
    "exit_group", "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
    "sched_getscheduler", "sched_setscheduler", "getpriority", "setpriority",
    /* time */
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    /* randomness */
    "getrandom",
    /* signals */
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "tkill",
    "restart_syscall",
    /* waiting */
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
    /* the IPC channels (socketpairs, fd passing) */
    "sendmsg", "recvmsg", "sendto", "recvfrom", "shutdown", "getsockopt", "setsockopt", "getsockname",
    "getpeername", "socketpair",
    /* identity and limits (read only) */
    "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "uname", "sysinfo", "getrlimit", "prlimit64", "getrusage", "prctl", "capget",
    "umask",
    NULL,
};

/* The vault: SQLite (locks, journals, fsync), sealed files, captures handed over as descriptors. */
static const char *const syscalls_vault[] = {
    "fsync", "fdatasync", "ftruncate", "fallocate", "flock", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "fchmod", "fchown", "memfd_create", NULL,
};

/* The vault has no network: the C library's name service tries a socket (nscd) while the password
 * policy looks up names; it is told no and falls back to the files. */
static const char *const refused_vault[] = {"socket", "connect", NULL};

/* web: accepts HTTPS connections on its listening socket; memfd for uploads handed to a peer. */
static const char *const syscalls_web[] = {
    "socket", "bind", "listen", "accept", "accept4", "connect", "memfd_create", "ftruncate", NULL,
};

/* media: GStreamer and the RTSPS front door (listening socket and the loopback pair to
 * gst-rtsp-server), V4L2 devices, memfds for snapshots and live view; the recordings index (SQLite gives a
 * journal it opens empty the mode of its database: fchmod). */
static const char *const syscalls_media[] = {
    "chmod", "fchmodat", "fchmod", "link", "linkat", "set_mempolicy", "fadvise64", "chdir", "sched_getattr",
    "sched_setattr", "socket", "bind", "listen", "accept", "accept4", "connect", "memfd_create", "ftruncate",
    "fallocate", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "mincore", "fsync", "fdatasync",
    "unlink", "unlinkat", "rename", "renameat", "mkdir", "mkdirat", "sched_get_priority_min",
    "sched_get_priority_max", NULL,
};

/* update: writes slots and its state files, the online check over HTTPS (libcurl: socket, connect,
 * name resolution). */
static const char *const syscalls_update[] = {
    "socket", "connect", "bind", "fsync", "fdatasync", "ftruncate", "fallocate", "flock", "unlink",
    "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "fchmod", "fchmodat",
    "utimensat", "memfd_create", "symlink", "symlinkat", NULL,
};

/* discovery: nothing beyond the common set. Its UDP socket is opened and bound, and the device identity read,
 * before its walls go up (daemon/discovery.c), so it may create no socket and open no state file at all;
 * it only receives, sends and joins the multicast group (setsockopt) on the socket it holds. */
static const char *const syscalls_discovery[] = {NULL};

/* link: a network client only (libmosquitto and libcurl with GnuTLS: socket, connect, name resolution; no
 * bind, listen or accept: it never serves anyone on the network); its own directory link/ (the admin's CA
 * files and the list of what it uploaded, written atomically: fsync, rename, unlink, fchmod, mkdir). */
static const char *const syscalls_link[] = {
    "socket", "connect", "fsync", "fdatasync", "rename", "renameat", "unlink", "unlinkat", "fchmod", "mkdir",
    "mkdirat", NULL,
};

/* What every child may read of the system: shared libraries, their data, configuration (name
 * resolution, CA certificates, time zone, the password-policy dictionary), device nodes for
 * randomness and null, and its own /proc entry. */
#define FS_SYSTEM                                                                                             \
    {SANDBOX_FS_ABSOLUTE, "/usr", SANDBOX_FS_READ}, {SANDBOX_FS_ABSOLUTE, "/lib", SANDBOX_FS_READ},          \
        {SANDBOX_FS_ABSOLUTE, "/lib64", SANDBOX_FS_READ}, {SANDBOX_FS_ABSOLUTE, "/etc", SANDBOX_FS_READ},    \
        {SANDBOX_FS_ABSOLUTE, "/dev/null", SANDBOX_FS_READ | SANDBOX_FS_WRITE},                              \
        {SANDBOX_FS_ABSOLUTE, "/dev/urandom", SANDBOX_FS_READ},                                              \
        {SANDBOX_FS_ABSOLUTE, "/dev/random", SANDBOX_FS_READ},                                               \
        {SANDBOX_FS_ABSOLUTE, "/sys/devices/system/cpu", SANDBOX_FS_READ},                                   \
        {SANDBOX_FS_PROC_SELF, NULL, SANDBOX_FS_READ}

static const struct sandbox_fs_rule fs_vault[] = {
    FS_SYSTEM,
    {SANDBOX_FS_ABSOLUTE, "/var/cache/cracklib", SANDBOX_FS_READ}, /* the password-policy dictionary */
    {SANDBOX_FS_STATE, STATEDIR_FACTORY, SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, STATEDIR_VAULT_DIR, SANDBOX_FS_READ | SANDBOX_FS_WRITE},
    {SANDBOX_FS_STATE, STATEDIR_CAPTURES, SANDBOX_FS_READ | SANDBOX_FS_WRITE},
};

static const struct sandbox_fs_rule fs_web[] = {
    FS_SYSTEM,
    {SANDBOX_FS_UI, NULL, SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, STATEDIR_DEVICE_JSON, SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, STATEDIR_TLS_CERT, SANDBOX_FS_READ},
};

static const struct sandbox_fs_rule fs_media[] = {
    FS_SYSTEM,
    {SANDBOX_FS_SOURCE, NULL, SANDBOX_FS_READ | SANDBOX_FS_DEVICE},
    {SANDBOX_FS_ABSOLUTE, "/dev/dri", SANDBOX_FS_READ | SANDBOX_FS_DEVICE}, /* hardware encoders */
    {SANDBOX_FS_STATE, STATEDIR_DEVICE_JSON, SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, STATEDIR_TLS_CERT, SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, STATEDIR_MEDIA_CACHE, SANDBOX_FS_READ | SANDBOX_FS_WRITE}, /* fontconfig's cache */
    {SANDBOX_FS_ABSOLUTE, MEDIA_SCRATCH_DIR, SANDBOX_FS_READ | SANDBOX_FS_WRITE}, /* ORC's code (memory-backed) */
    {SANDBOX_FS_STATE, STATEDIR_RECORDINGS, SANDBOX_FS_READ | SANDBOX_FS_WRITE},  /* sealed segments, index */
};

/* update re-reads config.json, which the supervisor replaces atomically (a new inode each time): a rule on the
 * file itself would stop matching, so update may read the state dir; its owners and modes keep vault/,
 * captures/ and the sealed secrets out of reach. */
static const struct sandbox_fs_rule fs_update[] = {
    FS_SYSTEM,
    {SANDBOX_FS_STATE, "", SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, UPDATE_DIR_STATE, SANDBOX_FS_READ | SANDBOX_FS_WRITE},
    {SANDBOX_FS_STATE, UPDATE_DIR_SLOTS, SANDBOX_FS_READ | SANDBOX_FS_WRITE},
};

/* discovery: the system libraries only; no state file (it holds no secret and reads nothing after start). */
static const struct sandbox_fs_rule fs_discovery[] = {
    FS_SYSTEM,
};

/* link: the system files (CA bundles, name resolution), the public identity (its device id in topics and file
 * names, read before its walls go up), and its own directory. No vault/, captures/, recordings/: the
 * passwords come over its vault channel and live only in its memory. */
static const struct sandbox_fs_rule fs_link[] = {
    FS_SYSTEM,
    {SANDBOX_FS_STATE, STATEDIR_DEVICE_JSON, SANDBOX_FS_READ},
    {SANDBOX_FS_STATE, STATEDIR_LINK, SANDBOX_FS_READ | SANDBOX_FS_WRITE},
};

static const struct supervisor_row rows[] = {
    {"vault", "safecam-vault", IPC_PEER_VAULT, IPC_PEER_WEB | IPC_PEER_MEDIA | IPC_PEER_UPDATE | IPC_PEER_LINK,
     "safecam-vault",
     {syscalls_common, syscalls_vault, NULL}, refused_vault, fs_vault, SAFECAM_ARRAY_LEN(fs_vault)},
    {"web", "safecam-web", IPC_PEER_WEB, IPC_PEER_VAULT | IPC_PEER_MEDIA | IPC_PEER_UPDATE | IPC_PEER_LINK,
     "safecam-web",
     {syscalls_common, syscalls_web, NULL}, NULL, fs_web, SAFECAM_ARRAY_LEN(fs_web)},
    {"media", "safecam-media", IPC_PEER_MEDIA, IPC_PEER_VAULT | IPC_PEER_WEB, "safecam-media",
     {syscalls_common, syscalls_media, NULL}, NULL, fs_media, SAFECAM_ARRAY_LEN(fs_media)},
    {"update", "safecam-update", IPC_PEER_UPDATE, IPC_PEER_VAULT | IPC_PEER_WEB, "safecam-update",
     {syscalls_common, syscalls_update, NULL}, NULL, fs_update, SAFECAM_ARRAY_LEN(fs_update)},
    /* started only while ONVIF and its discovery switch are both on (supervisor_discovery_apply) */
    {"discovery", "safecam-discovery", IPC_PEER_DISCOVERY, 0, "safecam-discovery",
     {syscalls_common, syscalls_discovery, NULL}, NULL, fs_discovery, SAFECAM_ARRAY_LEN(fs_discovery)},
    /* started only while at least one linked service is configured (the vault says so: PROTO_SUP_LINK_STATE) */
    {"link", "safecam-link", IPC_PEER_LINK, IPC_PEER_VAULT | IPC_PEER_WEB, "safecam-link",
     {syscalls_common, syscalls_link, NULL}, NULL, fs_link, SAFECAM_ARRAY_LEN(fs_link)},
};

size_t supervisor_rows(const struct supervisor_row **rows_out)
{
    if (rows_out)
        *rows_out = rows;
    return SAFECAM_ARRAY_LEN(rows);
}

const struct supervisor_row *supervisor_row_find(const char *role)
{
    for (size_t i = 0; role && i < SAFECAM_ARRAY_LEN(rows); i++)
        if (strcmp(rows[i].role, role) == 0)
            return &rows[i];
    return NULL;
}

const struct supervisor_row *supervisor_row_by_peer(unsigned peer)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(rows); i++)
        if (rows[i].peer == peer)
            return &rows[i];
    return NULL;
}

size_t supervisor_row_syscall_count(const struct supervisor_row *row)
{
    size_t n = 0;
    for (size_t s = 0; row && s < SAFECAM_ARRAY_LEN(row->syscalls) && row->syscalls[s]; s++)
        for (const char *const *name = row->syscalls[s]; *name; name++)
            if (seccomp_syscall_resolve_name(*name) >= 0) /* < 0: unknown, or a pseudo-number for a call
                                                           * this architecture does not have */
                n++;
    return n + 1; /* clone, allowed for threads only */
}

int supervisor_row_ids(const struct supervisor_row *row, uid_t *uid, gid_t *gid)
{
    if (!row || !uid || !gid)
        return SAFECAM_ERR_INVAL;
    struct passwd pw, *pwp = NULL;
    struct group gr, *grp = NULL;
    char buf[4096];
    if (getpwnam_r(row->user, &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
        return SAFECAM_ERR_NOTFOUND;
    *uid = pw.pw_uid;
    if (getgrnam_r(row->user, &gr, buf, sizeof buf, &grp) != 0 || !grp)
        return SAFECAM_ERR_NOTFOUND;
    *gid = gr.gr_gid;
    if (*uid == 0 || *gid == 0)
        return SAFECAM_ERR_STATE; /* a role user must never be root */
    return 0;
}
