/* core.c — errors, logging, bounded strings, atomic files and time. Linked into every process. */
#include "safecam/backoff.h"
#include "safecam/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *safecam_err_name(int err)
{
    switch (err) {
    case SAFECAM_OK: return "ok";
    case SAFECAM_ERR_INVAL: return "invalid";
    case SAFECAM_ERR_NOMEM: return "no_memory";
    case SAFECAM_ERR_IO: return "io";
    case SAFECAM_ERR_TOOBIG: return "too_big";
    case SAFECAM_ERR_NOTFOUND: return "not_found";
    case SAFECAM_ERR_DENIED: return "denied";
    case SAFECAM_ERR_LOCKED: return "locked";
    case SAFECAM_ERR_POLICY: return "policy";
    case SAFECAM_ERR_EXISTS: return "exists";
    case SAFECAM_ERR_CRYPTO: return "crypto";
    case SAFECAM_ERR_PROTO: return "protocol";
    case SAFECAM_ERR_CLOSED: return "closed";
    case SAFECAM_ERR_TIMEOUT: return "timeout";
    case SAFECAM_ERR_STATE: return "state";
    case SAFECAM_ERR_BUSY: return "busy";
    default: return "internal";
    }
}

static const char *log_tag = "safecam";
static enum safecam_log_level log_min = SAFECAM_LOG_INFO;

void safecam_log_init(const char *tag, enum safecam_log_level min_level)
{
    log_tag = tag ? tag : "safecam";
    log_min = min_level;
    const char *env = getenv("SAFECAM_LOG_DEBUG");
    if (env && env[0] == '1')
        log_min = SAFECAM_LOG_DEBUG;
}

void safecam_log(enum safecam_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_min)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* One line per record: control characters from any source are neutralised. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    fprintf(stderr, "%s[%d] %s: %s\n", log_tag, (int)getpid(), names[level], line);
}

int safecam_strlcpy(char *dst, const char *src, size_t dst_size)
{
    if (!dst || !src || dst_size == 0)
        return SAFECAM_ERR_INVAL;
    size_t n = strlen(src);
    if (n >= dst_size) {
        dst[0] = '\0';
        return SAFECAM_ERR_TOOBIG;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int safecam_fmt(char *dst, size_t dst_size, const char *fmt, ...)
{
    if (!dst || dst_size == 0)
        return SAFECAM_ERR_INVAL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, dst_size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= dst_size) {
        dst[0] = '\0';
        return SAFECAM_ERR_TOOBIG;
    }
    return 0;
}

int safecam_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !out || !*s)
        return SAFECAM_ERR_INVAL;
    const char *p = s;
    if (*p == '-')
        p++;
    if (!*p)
        return SAFECAM_ERR_INVAL;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return SAFECAM_ERR_INVAL;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno != 0 || !end || *end != '\0' || v < min || v > max)
        return SAFECAM_ERR_INVAL;
    *out = v;
    return 0;
}

int safecam_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len)
                return 0;
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

int safecam_path_join(char *out, size_t out_size, const char *dir, const char *name)
{
    if (!dir || !name)
        return SAFECAM_ERR_INVAL;
    return safecam_fmt(out, out_size, "%s/%s", dir, name);
}

int safecam_mkdir_p(const char *path, unsigned mode)
{
    char buf[PATH_MAX];
    if (safecam_strlcpy(buf, path, sizeof buf) != 0)
        return SAFECAM_ERR_TOOBIG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return SAFECAM_ERR_IO;
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        return SAFECAM_ERR_IO;
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char buf[PATH_MAX];
    if (safecam_strlcpy(buf, path, sizeof buf) != 0)
        return SAFECAM_ERR_TOOBIG;
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int rc = fsync(fd) == 0 ? 0 : SAFECAM_ERR_IO;
    close(fd);
    return rc;
}

int safecam_fd_owner_inherit(int fd, const char *path)
{
    if (geteuid() != 0)
        return 0;
    char buf[PATH_MAX];
    struct stat dir, own;
    if (fd < 0 || !path || safecam_strlcpy(buf, path, sizeof buf) != 0)
        return SAFECAM_ERR_INVAL;
    if (stat(dirname(buf), &dir) != 0 || fstat(fd, &own) != 0)
        return SAFECAM_ERR_IO;
    if ((own.st_uid != dir.st_uid || own.st_gid != dir.st_gid) && fchown(fd, dir.st_uid, dir.st_gid) != 0)
        return SAFECAM_ERR_IO;
    return 0;
}

int safecam_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    if (!path || (!data && len))
        return SAFECAM_ERR_INVAL;
    if (safecam_fmt(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) != 0)
        return SAFECAM_ERR_TOOBIG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    if (fchmod(fd, (mode_t)mode) != 0 || safecam_fd_owner_inherit(fd, path) != 0)
        goto out;
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    rc = fsync_dir_of(path);
out:;
    int saved = errno; /* the caller may tell ENOSPC from other failures */
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    errno = saved;
    return rc;
}

int safecam_file_read(const char *path, size_t max_len, char **data_out, size_t *len_out)
{
    if (!path || !data_out)
        return SAFECAM_ERR_INVAL;
    *data_out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    if ((size_t)st.st_size > max_len) {
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    buf[got] = '\0';
    *data_out = buf;
    buf = NULL;
    if (len_out)
        *len_out = got;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int64_t safecam_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t safecam_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int safecam_time_rfc3339(int64_t t, char *out, size_t out_size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return SAFECAM_ERR_INVAL;
    if (strftime(out, out_size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return SAFECAM_ERR_TOOBIG;
    return 0;
}

/* ---- removing a tree ---- */

static int path_remove_at(int parent, const char *name, int depth)
{
    if (depth > 16)
        return SAFECAM_ERR_TOOBIG;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : SAFECAM_ERR_IO;
        return SAFECAM_ERR_IO;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return SAFECAM_ERR_IO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = SAFECAM_ERR_IO;
            break;
        }
        if (S_ISDIR(st.st_mode))
            rc = path_remove_at(dirfd(d), e->d_name, depth + 1);
        else if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            rc = SAFECAM_ERR_IO;
    }
    closedir(d);
    if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = SAFECAM_ERR_IO;
    return rc;
}

int safecam_path_remove(const char *path)
{
    if (!path || !*path)
        return SAFECAM_ERR_INVAL;
    return path_remove_at(AT_FDCWD, path, 0);
}

/* ---------------- bounded buffers ---------------- */

#define SAFECAM_BUF_FIRST_BYTES 256u

void safecam_buf_init(struct safecam_buf *b, size_t max, unsigned flags)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->flags = flags;
}

void safecam_buf_free(struct safecam_buf *b)
{
    if (!b)
        return;
    if (b->data && (b->flags & SAFECAM_BUF_WIPE))
        explicit_bzero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Make room for need bytes (content + NUL): double up to max + 1. Never realloc: with SAFECAM_BUF_WIPE the
 * old block is zeroed before it is freed. */
static int buf_grow(struct safecam_buf *b, size_t need)
{
    size_t nc = b->cap ? b->cap : SAFECAM_BUF_FIRST_BYTES;
    while (nc < need)
        nc = nc > SIZE_MAX / 2 ? need : nc * 2;
    if (nc > b->max + 1)
        nc = b->max + 1;
    char *np = malloc(nc);
    if (!np)
        return SAFECAM_ERR_NOMEM;
    if (b->data) {
        memcpy(np, b->data, b->len + 1);
        if (b->flags & SAFECAM_BUF_WIPE)
            explicit_bzero(b->data, b->cap);
        free(b->data);
    }
    b->data = np;
    b->cap = nc;
    return 0;
}

int safecam_buf_add(struct safecam_buf *b, const void *data, size_t len)
{
    if (!b || (!data && len))
        return SAFECAM_ERR_INVAL;
    int rc = 0;
    if (len > b->max || b->len > b->max - len) {
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    if (b->len + len + 1 > b->cap && (rc = buf_grow(b, b->len + len + 1)) != 0)
        goto out;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
out:
    if (rc != 0)
        safecam_buf_free(b);
    return rc;
}

int safecam_buf_addf(struct safecam_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        safecam_buf_free(b);
        return SAFECAM_ERR_INVAL;
    }
    if ((size_t)n < sizeof(tmp))
        return safecam_buf_add(b, tmp, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        safecam_buf_free(b);
        return SAFECAM_ERR_NOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = safecam_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

const char *safecam_buf_str(const struct safecam_buf *b)
{
    return b && b->data ? b->data : "";
}

char *safecam_buf_take(struct safecam_buf *b)
{
    if (!b || (b->flags & SAFECAM_BUF_WIPE))
        return NULL;
    char *out = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return out;
}

void safecam_backoff_log_failure(const struct safecam_backoff *b, int rc, int *last_rc, const char *what)
{
    unsigned attempt = b->failures + 1;
    if (*last_rc == 0)
        log_info("%s (%s)", what, safecam_err_name(rc));
    else if (rc != *last_rc || attempt == SAFECAM_BACKOFF_WARN_AFTER)
        log_warn("%s: still, after %u attempts (%s); retrying with back-off", what, attempt, safecam_err_name(rc));
    *last_rc = rc;
}
