/* statedir_walls.c — the state directory's ownership and modes follow trust: the vault alone owns the
 * storage key, the sealed secrets, vault.db, audit.db and the captures; update alone owns its state and
 * the slots; the public identity and certificate are world-readable. Runs in the supervisor at every
 * start, before any child: as root it repairs, without root it checks the modes secrets need.
 * Also moves the layout of a camera provisioned before the walls into place. QCVN 135 G4 / EN 303 645 5.4-1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/sandbox.h"
#include "safecam/statedir.h"
#include "safecam/update.h"

#define TREE_DEPTH_MAX 8
#define TREE_ENTRIES_MAX 100000

enum entry_kind { ENTRY_FILE, ENTRY_DIR };

enum entry_flags {
    ENTRY_OPTIONAL = 1u << 0,  /* may be absent */
    ENTRY_CREATE = 1u << 1,    /* a directory created when absent */
    ENTRY_RECURSIVE = 1u << 2, /* everything beneath takes the same owner (modes kept) */
    ENTRY_SECRET = 1u << 3,    /* checked without root too: no access for group or others */
    ENTRY_ROLE_OPTIONAL = 1u << 4, /* its owner's user may be missing (an optional child): then left alone */
};

struct layout_entry {
    const char *path;  /* relative to the state dir; "" = the state dir itself */
    const char *owner; /* role whose user owns it; NULL = root */
    unsigned mode;
    enum entry_kind kind;
    unsigned flags;
};

/* The layout, parents before children. */
static const struct layout_entry layout[] = {
    {"", NULL, 0711, ENTRY_DIR, 0},
    {STATEDIR_FACTORY, NULL, 0755, ENTRY_DIR, 0},
    {STATEDIR_DEVICE_JSON, NULL, 0644, ENTRY_FILE, 0},
    {STATEDIR_TLS_CERT, NULL, 0644, ENTRY_FILE, 0},
    {STATEDIR_STORAGE_KEY, "vault", 0600, ENTRY_FILE, ENTRY_SECRET},
    {STATEDIR_TLS_KEY_SEALED, "vault", 0600, ENTRY_FILE, ENTRY_SECRET},
    {STATEDIR_INITIAL_ADMIN, NULL, 0600, ENTRY_FILE, ENTRY_SECRET | ENTRY_OPTIONAL},
    {UPDATE_DIR_KEYS, NULL, 0755, ENTRY_DIR, ENTRY_OPTIONAL},
    {STATEDIR_VAULT_DIR, "vault", 0700, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE | ENTRY_SECRET},
    {STATEDIR_VAULT_DB, "vault", 0600, ENTRY_FILE, ENTRY_OPTIONAL | ENTRY_SECRET},
    {STATEDIR_AUDIT_DB, "vault", 0600, ENTRY_FILE, ENTRY_OPTIONAL | ENTRY_SECRET},
    {STATEDIR_CAPTURES, "vault", 0700, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE | ENTRY_SECRET},
    {STATEDIR_CONFIG, NULL, 0644, ENTRY_FILE, ENTRY_OPTIONAL},
    {STATEDIR_CONFIG ".last-good", NULL, 0644, ENTRY_FILE, ENTRY_OPTIONAL},
    {UPDATE_DIR_STATE, "update", 0700, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE},
    /* slot images are executed by every child's user: the tree is traversable, update alone writes */
    {UPDATE_DIR_SLOTS, "update", 0755, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE},
    {STATEDIR_MEDIA_CACHE, "media", 0700, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE},
    {STATEDIR_RECORDINGS, "media", 0700, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE},
    /* the link process's own directory: CA files and the list of what it uploaded, no secret */
    {STATEDIR_LINK, "link", 0700, ENTRY_DIR, ENTRY_CREATE | ENTRY_RECURSIVE | ENTRY_ROLE_OPTIONAL},
    {STATEDIR_RUN, NULL, 0700, ENTRY_DIR, ENTRY_OPTIONAL},
};

/* Before the walls, vault.db and audit.db (and their SQLite side files) lived in DIR itself. */
static int layout_migrate(const char *state_dir)
{
    static const char *const names[][2] = {
        {STATEDIR_LEGACY_VAULT_DB, STATEDIR_VAULT_DB},
        {STATEDIR_LEGACY_VAULT_DB "-wal", STATEDIR_VAULT_DB "-wal"},
        {STATEDIR_LEGACY_VAULT_DB "-shm", STATEDIR_VAULT_DB "-shm"},
        {STATEDIR_LEGACY_VAULT_DB "-journal", STATEDIR_VAULT_DB "-journal"},
        {STATEDIR_LEGACY_AUDIT_DB, STATEDIR_AUDIT_DB},
        {STATEDIR_LEGACY_AUDIT_DB "-wal", STATEDIR_AUDIT_DB "-wal"},
        {STATEDIR_LEGACY_AUDIT_DB "-shm", STATEDIR_AUDIT_DB "-shm"},
        {STATEDIR_LEGACY_AUDIT_DB "-journal", STATEDIR_AUDIT_DB "-journal"},
    };
    char dir[PATH_MAX];
    if (safecam_path_join(dir, sizeof dir, state_dir, STATEDIR_VAULT_DIR) != 0)
        return SAFECAM_ERR_TOOBIG;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(names); i++) {
        char from[PATH_MAX], to[PATH_MAX];
        struct stat st;
        if (safecam_path_join(from, sizeof from, state_dir, names[i][0]) != 0 ||
            safecam_path_join(to, sizeof to, state_dir, names[i][1]) != 0)
            return SAFECAM_ERR_TOOBIG;
        if (lstat(from, &st) != 0)
            continue;
        if (!S_ISREG(st.st_mode)) {
            log_err("state dir: %s is not a regular file: expected the camera's own database", from);
            return SAFECAM_ERR_STATE;
        }
        if (lstat(to, &st) == 0) {
            log_err("state dir: both %s and %s exist: move one away by hand", from, to);
            return SAFECAM_ERR_STATE;
        }
        if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || rename(from, to) != 0) {
            log_err("state dir: cannot move %s into %s/: %s", names[i][0], STATEDIR_VAULT_DIR, strerror(errno));
            return SAFECAM_ERR_IO;
        }
        log_info("state dir: moved %s into %s/ (layout of the walls)", names[i][0], STATEDIR_VAULT_DIR);
    }
    return 0;
}

/* Give everything beneath the open directory dfd to uid/gid, never following a link. */
static int tree_chown(int dfd, uid_t uid, gid_t gid, int depth, unsigned *budget)
{
    if (depth > TREE_DEPTH_MAX)
        return SAFECAM_ERR_TOOBIG;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return SAFECAM_ERR_IO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((*budget)-- == 0) {
            rc = SAFECAM_ERR_TOOBIG;
            break;
        }
        if (fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = SAFECAM_ERR_IO;
            break;
        }
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            rc = tree_chown(sub, uid, gid, depth + 1, budget);
    }
    closedir(d);
    return rc;
}

static int entry_repair(const char *state_dir, const struct layout_entry *e, uid_t uid, gid_t gid)
{
    char path[PATH_MAX];
    if ((e->path[0] ? safecam_path_join(path, sizeof path, state_dir, e->path)
                    : safecam_strlcpy(path, state_dir, sizeof path)) != 0)
        return SAFECAM_ERR_TOOBIG;
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (e->kind == ENTRY_DIR && (e->flags & ENTRY_CREATE)) {
            if (mkdir(path, e->mode) != 0 || lstat(path, &st) != 0)
                return SAFECAM_ERR_IO;
        } else if (e->flags & ENTRY_OPTIONAL) {
            return 0;
        } else {
            log_err("state dir: %s is missing", path);
            return SAFECAM_ERR_NOTFOUND;
        }
    }
    if (e->kind == ENTRY_DIR ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        log_err("state dir: %s must be a %s (a link or another kind is refused)", path,
                e->kind == ENTRY_DIR ? "directory" : "regular file");
        return SAFECAM_ERR_STATE;
    }
    if ((st.st_uid != uid || st.st_gid != gid) && lchown(path, uid, gid) != 0)
        return SAFECAM_ERR_IO;
    if ((st.st_mode & 07777) != e->mode && chmod(path, e->mode) != 0)
        return SAFECAM_ERR_IO;
    if (e->kind == ENTRY_DIR && (e->flags & ENTRY_RECURSIVE)) {
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        unsigned budget = TREE_ENTRIES_MAX;
        if (dfd < 0 || tree_chown(dfd, uid, gid, 0, &budget) != 0) {
            log_err("state dir: cannot give %s to its owner", path);
            return SAFECAM_ERR_IO;
        }
    }
    return 0;
}

/* Without root every file is the camera user's own: only check that no secret is open to others. */
static int entry_check(const char *state_dir, const struct layout_entry *e)
{
    char path[PATH_MAX];
    struct stat st;
    if (!(e->flags & ENTRY_SECRET) || safecam_path_join(path, sizeof path, state_dir, e->path) != 0 ||
        lstat(path, &st) != 0)
        return 0;
    if ((st.st_mode & 077) != 0) {
        log_err("state dir: %s has mode %04o: expected %04o (no access for group or others)", path,
                (unsigned)(st.st_mode & 07777), e->mode);
        return SAFECAM_ERR_STATE;
    }
    return 0;
}

/* Every role's user must reach the state dir: each directory above it must be searchable by others. */
static int ancestors_check(const char *state_dir)
{
    char path[PATH_MAX];
    if (!realpath(state_dir, path))
        return SAFECAM_ERR_IO;
    for (;;) {
        char *slash = strrchr(path, '/');
        if (!slash)
            return 0;
        if (slash == path)
            slash[1] = '\0';
        else
            *slash = '\0';
        struct stat st;
        if (stat(path, &st) != 0)
            return SAFECAM_ERR_IO;
        if (!(st.st_mode & S_IXOTH)) {
            log_err("state dir: %s (above the state dir) has mode %04o: the camera's users cannot reach the "
                    "state dir; expected search permission for others (o+x)", path, (unsigned)(st.st_mode & 07777));
            return SAFECAM_ERR_STATE;
        }
        if (slash == path)
            return 0;
    }
}

int statedir_walls_apply(const char *state_dir, int as_root)
{
    if (!state_dir)
        return SAFECAM_ERR_INVAL;
    int rc = layout_migrate(state_dir);
    if (rc == 0 && as_root)
        rc = ancestors_check(state_dir);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(layout); i++) {
        const struct layout_entry *e = &layout[i];
        if (!as_root) {
            if (e->kind == ENTRY_DIR && (e->flags & ENTRY_CREATE)) {
                char path[PATH_MAX];
                if (safecam_path_join(path, sizeof path, state_dir, e->path) != 0 ||
                    (mkdir(path, e->mode) != 0 && errno != EEXIST))
                    return SAFECAM_ERR_IO;
            }
            if ((rc = entry_check(state_dir, e)) != 0)
                return rc;
            continue;
        }
        uid_t uid = 0;
        gid_t gid = 0;
        if (e->owner) {
            const struct supervisor_row *row = supervisor_row_find(e->owner);
            if ((rc = supervisor_row_ids(row, &uid, &gid)) != 0 && (e->flags & ENTRY_ROLE_OPTIONAL)) {
                log_warn("user %s is missing: %s/ left as it is (scripts/create-users)", row ? row->user : e->owner,
                         e->path);
                continue;
            }
            if (rc != 0) {
                log_err("user %s is missing: create the camera's users (scripts/create-users, or install the "
                        "package) before starting safecamd as root", row ? row->user : e->owner);
                return SAFECAM_ERR_NOTFOUND;
            }
        }
        if ((rc = entry_repair(state_dir, e, uid, gid)) != 0)
            return rc;
    }
    return 0;
}
