/* capture.c — captures: stored snapshots (JPEG), the camera's user data. Each one is sealed under the
 * device storage key (seal.h, label "capture:<id>") in DIR/captures/<id>.sealed and listed in the captures
 * table of vault.db. A factory reset destroys the storage key (and removes DIR/captures), so whatever is
 * left on the medium can never be opened again (crypto-erase); a selective delete overwrites the file
 * with zeros and fsyncs it before unlinking it.
 * Trust level: runs in the vault process; the JPEG fd comes from the web process (untrusted: read with
 * pread, bounded, checked for the JPEG SOI marker) and sealed files read back from disk are checked by
 * their authentication tag. QCVN 135 G9, G10 / EN 303 645 5.4-1, 5.11-1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "vault_internal.h"

#define CAPTURE_LABEL "capture:" /* + the id: a sealed file copied under another id does not open */
#define CAPTURE_SUFFIX ".sealed"
#define CAPTURE_WIPE_CHUNK ((size_t)64 * 1024)
#define CAPTURE_ID_TRIES 4

_Static_assert(VAULT_CAPTURE_MAX_BYTES <= SEAL_PLAINTEXT_MAX_BYTES, "a capture must fit a sealed blob");

int vault_capture_id_valid(const char *id)
{
    if (!id || strnlen(id, VAULT_CAPTURE_ID_HEX + 1) != VAULT_CAPTURE_ID_HEX)
        return 0;
    for (size_t i = 0; i < VAULT_CAPTURE_ID_HEX; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

/* ---------------- files ---------------- */

static int captures_dir(const vault *v, char *out, size_t out_size)
{
    return safecam_path_join(out, out_size, v->state_dir, STATEDIR_CAPTURES);
}

/* DIR/captures exists as a real directory (not a link) of ours with mode 0700. */
static int captures_dir_ensure(const vault *v)
{
    char dir[PATH_MAX];
    struct stat sb;
    int rc = captures_dir(v, dir, sizeof dir);
    if (rc != 0)
        return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_err("captures: cannot create the directory: %s", strerror(errno));
        return SAFECAM_ERR_IO;
    }
    if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid()) {
        log_err("captures: %s is not a directory of ours", STATEDIR_CAPTURES);
        return SAFECAM_ERR_IO;
    }
    if ((sb.st_mode & 07777) != 0700 && chmod(dir, 0700) != 0)
        return SAFECAM_ERR_IO;
    return 0;
}

static int capture_path(const vault *v, const char *id, char *out, size_t out_size)
{
    char dir[PATH_MAX];
    char name[VAULT_CAPTURE_ID_HEX + sizeof CAPTURE_SUFFIX];
    int rc = captures_dir(v, dir, sizeof dir);
    if (rc == 0)
        rc = safecam_fmt(name, sizeof name, "%s" CAPTURE_SUFFIX, id);
    if (rc == 0)
        rc = safecam_path_join(out, out_size, dir, name);
    return rc;
}

static int fsync_dir(const vault *v)
{
    char dir[PATH_MAX];
    if (captures_dir(v, dir, sizeof dir) != 0)
        return SAFECAM_ERR_IO;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    int rc = fsync(fd) == 0 ? 0 : SAFECAM_ERR_IO;
    close(fd);
    return rc;
}

/* Overwrite a regular file with zeros, fsync it, unlink it. A file already gone is success.
 * (On flash with wear levelling or a copy-on-write file system the overwrite is best effort; the
 * storage key's destruction at factory reset is what makes every capture unreadable.) */
static int wipe_unlink_at(int dir_fd, const char *name)
{
    struct stat sb;
    if (fstatat(dir_fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    if (!S_ISREG(sb.st_mode)) /* a link, FIFO, ...: no capture of ours, nothing to overwrite */
        return unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    int fd = openat(dir_fd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    uint8_t *zeros = NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        goto out;
    zeros = calloc(1, CAPTURE_WIPE_CHUNK);
    if (!zeros) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    off_t off = 0;
    while (off < sb.st_size) {
        size_t n = (size_t)(sb.st_size - off) < CAPTURE_WIPE_CHUNK ? (size_t)(sb.st_size - off) : CAPTURE_WIPE_CHUNK;
        ssize_t w = pwrite(fd, zeros, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        off += w;
    }
    if (fsync(fd) != 0)
        goto out;
    rc = 0;
out:
    free(zeros);
    close(fd);
    if (rc == 0 && unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT)
        rc = SAFECAM_ERR_IO;
    if (rc != 0)
        log_err("captures: cannot erase a capture file: %s", safecam_err_name(rc));
    return rc;
}

/* Wipe DIR/captures/<id>.sealed. With sweep != 0 also every other file there (leftover temporary files
 * of an interrupted store, orphans). */
static int wipe_files(const vault *v, const char *id, int sweep)
{
    char dir[PATH_MAX];
    int rc = captures_dir(v, dir, sizeof dir);
    if (rc != 0)
        return rc;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    if (id) {
        char name[VAULT_CAPTURE_ID_HEX + sizeof CAPTURE_SUFFIX];
        rc = safecam_fmt(name, sizeof name, "%s" CAPTURE_SUFFIX, id);
        if (rc == 0)
            rc = wipe_unlink_at(dfd, name);
    }
    if (rc == 0 && sweep) {
        int dfd2 = dup(dfd);
        DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
        if (!d) {
            if (dfd2 >= 0)
                close(dfd2);
            rc = SAFECAM_ERR_IO;
        } else {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                int wr = wipe_unlink_at(dfd, e->d_name);
                if (wr != 0 && rc == 0)
                    rc = wr;
            }
            closedir(d);
        }
    }
    close(dfd);
    if (rc == 0)
        rc = fsync_dir(v);
    return rc;
}

/* Read at most VAULT_CAPTURE_MAX_BYTES + 1 bytes of fd from offset 0 with pread (the caller's file offset
 * is neither used nor moved). *out is malloc'd (the caller wipes and frees). */
static int read_fd_bounded(int fd, uint8_t **out, size_t *len_out)
{
    struct stat sb;
    *out = NULL;
    *len_out = 0;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return SAFECAM_ERR_INVAL;
    const size_t cap = (size_t)VAULT_CAPTURE_MAX_BYTES + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return SAFECAM_ERR_NOMEM;
    size_t got = 0;
    while (got < cap) {
        ssize_t n = pread(fd, buf + got, cap - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sodium_memzero(buf, got);
            free(buf);
            return SAFECAM_ERR_INVAL;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *out = buf;
    *len_out = got;
    return 0;
}

/* ---------------- the table ---------------- */

static int capture_count(vault *v, long *n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT count(*) FROM captures", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : SAFECAM_ERR_IO;
    if (rc == 0)
        *n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* 0 and *size when the row exists, SAFECAM_ERR_NOTFOUND when not. */
static int capture_row(vault *v, const char *id, int64_t *size)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT size FROM captures WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    int rc = s == SQLITE_ROW ? 0 : s == SQLITE_DONE ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
    if (rc == 0 && size)
        *size = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static int capture_new_id(vault *v, char id[VAULT_CAPTURE_ID_HEX + 1])
{
    uint8_t rnd[VAULT_CAPTURE_ID_HEX / 2];
    for (int i = 0; i < CAPTURE_ID_TRIES; i++) {
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(id, VAULT_CAPTURE_ID_HEX + 1, rnd, sizeof rnd);
        int rc = capture_row(v, id, NULL);
        if (rc == SAFECAM_ERR_NOTFOUND)
            return 0;
        if (rc != 0)
            return rc;
    }
    return SAFECAM_ERR_INTERNAL;
}

/* ---------------- API ---------------- */

int vault_capture_store(vault *v, const uint8_t *storage_key, int fd, struct vault_capture *out)
{
    uint8_t *jpeg = NULL, *sealed = NULL;
    size_t len = 0, sealed_len = 0;
    char path[PATH_MAX];
    sqlite3_stmt *st = NULL;
    long n = 0;
    int rc;

    if (!v || !storage_key || fd < 0 || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    rc = capture_count(v, &n);
    if (rc != 0)
        return rc;
    if (n >= VAULT_CAPTURES_MAX)
        return SAFECAM_ERR_STATE;
    rc = read_fd_bounded(fd, &jpeg, &len);
    if (rc != 0)
        return rc;
    if (len > VAULT_CAPTURE_MAX_BYTES) {
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    if (len < 3 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 || jpeg[2] != 0xFF) {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    char label[sizeof CAPTURE_LABEL + VAULT_CAPTURE_ID_HEX];
    rc = capture_new_id(v, out->id);
    if (rc == 0)
        rc = safecam_fmt(label, sizeof label, CAPTURE_LABEL "%s", out->id);
    if (rc == 0)
        rc = seal_data_seal(storage_key, label, jpeg, len, &sealed, &sealed_len);
    if (rc == 0)
        rc = captures_dir_ensure(v);
    if (rc == 0)
        rc = capture_path(v, out->id, path, sizeof path);
    if (rc == 0 && (rc = safecam_file_write_atomic(path, sealed, sealed_len, 0600)) != 0) {
        log_err("captures: cannot write a capture: %s", safecam_err_name(rc));
        rc = SAFECAM_ERR_IO;
    }
    if (rc != 0)
        goto out;
    out->created_at = vault_now(v);
    out->size = (int64_t)len;
    if (sqlite3_prepare_v2(v->db, "INSERT INTO captures(id, created_at, size) VALUES(?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
    } else {
        sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, out->created_at);
        sqlite3_bind_int64(st, 3, out->size);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    }
    if (rc != 0)
        (void)wipe_files(v, out->id, 0); /* no row, no file: the refused store left nothing */
out:
    sqlite3_finalize(st);
    if (jpeg) {
        sodium_memzero(jpeg, len);
        free(jpeg);
    }
    free(sealed);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int vault_capture_list(vault *v, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = NULL;
    int rc = 0, s;
    if (!v || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT id, created_at, size FROM captures ORDER BY created_at DESC, rowid DESC",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    arr = json_array();
    if (!arr) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!vault_capture_id_valid(id))
            continue; /* never hand on a row that was not written by us */
        json_t *c = json_pack("{s:s, s:I, s:I}", "id", id, "created_at", (json_int_t)sqlite3_column_int64(st, 1),
                              "size", (json_int_t)sqlite3_column_int64(st, 2));
        if (!c || json_array_append_new(arr, c) != 0) {
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    sqlite3_finalize(st);
    return rc;
}

int vault_capture_open(vault *v, const uint8_t *storage_key, const char *id, int *fd_out, int64_t *size_out)
{
    char path[PATH_MAX];
    char *sealed = NULL;
    size_t sealed_len = 0, len = 0;
    uint8_t *jpeg = NULL;
    int64_t size = 0;
    int mfd = -1;
    int rc;

    if (!v || !storage_key || !fd_out || !size_out)
        return SAFECAM_ERR_INVAL;
    *fd_out = -1;
    *size_out = 0;
    if (!vault_capture_id_valid(id))
        return SAFECAM_ERR_INVAL;
    rc = capture_row(v, id, &size);
    if (rc != 0)
        return rc;
    rc = capture_path(v, id, path, sizeof path);
    if (rc == 0)
        rc = safecam_file_read(path, (size_t)VAULT_CAPTURE_MAX_BYTES + SEAL_OVERHEAD_BYTES, &sealed, &sealed_len);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        log_warn("captures: a listed capture has no file");
        goto out;
    }
    char label[sizeof CAPTURE_LABEL + VAULT_CAPTURE_ID_HEX];
    if (rc == 0)
        rc = safecam_fmt(label, sizeof label, CAPTURE_LABEL "%s", id);
    if (rc == 0)
        rc = seal_data_open(storage_key, label, (const uint8_t *)sealed, sealed_len, &jpeg, &len);
    if (rc == 0 && (int64_t)len != size)
        rc = SAFECAM_ERR_CRYPTO;
    if (rc != 0) {
        log_err("captures: cannot open a capture: %s", safecam_err_name(rc));
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    mfd = memfd_create("safecam-capture", MFD_CLOEXEC);
    if (mfd < 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(mfd, jpeg + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        off += (size_t)w;
    }
    if (lseek(mfd, 0, SEEK_SET) != 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    *fd_out = mfd;
    *size_out = size;
    mfd = -1;
out:
    if (mfd >= 0)
        close(mfd);
    free(sealed);
    if (jpeg) {
        sodium_memzero(jpeg, len);
        sodium_free(jpeg);
    }
    return rc;
}

int vault_capture_delete(vault *v, const char *id, const char *actor, const char *source, long *deleted)
{
    sqlite3_stmt *st = NULL;
    char detail[64];
    long n = 0;
    int rc;

    if (!v || !deleted)
        return SAFECAM_ERR_INVAL;
    *deleted = 0;
    if (id) {
        if (!vault_capture_id_valid(id))
            return SAFECAM_ERR_INVAL;
        rc = capture_row(v, id, NULL);
        if (rc != 0)
            return rc;
        n = 1;
    } else {
        rc = capture_count(v, &n);
        if (rc != 0)
            return rc;
    }
    /* Files first: a row whose file is gone reads as not found and a second delete clears it. */
    if (id) {
        rc = wipe_files(v, id, 0);
    } else {
        rc = wipe_files(v, NULL, 1);
    }
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(v->db, id ? "DELETE FROM captures WHERE id = ?" : "DELETE FROM captures", -1, &st,
                           NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    if (id)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    if (id)
        rc = safecam_fmt(detail, sizeof detail, "capture %s", id);
    else
        rc = safecam_fmt(detail, sizeof detail, "all captures (%ld)", n);
    if (rc != 0)
        detail[0] = '\0';
    vault_audit(v, AUDIT_DATA_DELETE, actor, source, detail);
    *deleted = n;
    return 0;
}
