/* core.h — errors, logging, bounded buffers, atomic file writes and time for every safecam module.
 * Trust level: none; pure helpers linked into every process. */
#ifndef SAFECAM_CORE_H
#define SAFECAM_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SAFECAM_WUR __attribute__((warn_unused_result))

/* Error codes: fallible functions return 0 or one of these (negative). */
enum safecam_err {
    SAFECAM_OK = 0,
    SAFECAM_ERR_INVAL = -1,      /* bad argument or malformed input */
    SAFECAM_ERR_NOMEM = -2,      /* allocation failed */
    SAFECAM_ERR_IO = -3,         /* read/write/open failed */
    SAFECAM_ERR_TOOBIG = -4,     /* input over its documented cap */
    SAFECAM_ERR_NOTFOUND = -5,   /* no such user/session/file */
    SAFECAM_ERR_DENIED = -6,     /* authentication or authorisation refused */
    SAFECAM_ERR_LOCKED = -7,     /* lockout in force */
    SAFECAM_ERR_POLICY = -8,     /* password policy refused */
    SAFECAM_ERR_EXISTS = -9,     /* already exists / already provisioned */
    SAFECAM_ERR_CRYPTO = -10,    /* signature/MAC/decrypt failure */
    SAFECAM_ERR_PROTO = -11,     /* IPC protocol violation */
    SAFECAM_ERR_CLOSED = -12,    /* peer closed the channel */
    SAFECAM_ERR_TIMEOUT = -13,   /* deadline passed */
    SAFECAM_ERR_STATE = -14,     /* operation not allowed in this state */
    SAFECAM_ERR_INTERNAL = -15,  /* a dependency failed unexpectedly */
    SAFECAM_ERR_BUSY = -16,      /* over an admission budget: nothing done, try again later */
};

/* Return a short static lower_snake_case name for an error code ("inval", "nomem", ...). */
const char *safecam_err_name(int err);

/* ---- operational logging (stderr / journald). Never log secrets, tokens or request bodies. ---- */
enum safecam_log_level { SAFECAM_LOG_DEBUG, SAFECAM_LOG_INFO, SAFECAM_LOG_WARN, SAFECAM_LOG_ERR };

/* Set the process tag ("supervisor", "vault", "web", ...) printed on every line, and the minimum level.
 * The tag pointer must stay valid for the life of the process. */
void safecam_log_init(const char *tag, enum safecam_log_level min_level);
void safecam_log(enum safecam_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_debug(...) safecam_log(SAFECAM_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  safecam_log(SAFECAM_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  safecam_log(SAFECAM_LOG_WARN, __VA_ARGS__)
#define log_err(...)   safecam_log(SAFECAM_LOG_ERR, __VA_ARGS__)

/* ---- bounded strings ---- */
/* Copy src into dst (size dst_size bytes, NUL-terminated). Returns SAFECAM_ERR_TOOBIG (dst left as
 * the empty string) when src does not fit, never truncates silently. */
int safecam_strlcpy(char *dst, const char *src, size_t dst_size) SAFECAM_WUR;
/* snprintf that returns SAFECAM_ERR_TOOBIG instead of truncating (dst becomes ""). */
int safecam_fmt(char *dst, size_t dst_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4))) SAFECAM_WUR;
/* Parse a whole decimal string into [min,max]; SAFECAM_ERR_INVAL on any junk, sign or overflow. */
int safecam_parse_long(const char *s, long min, long max, long *out) SAFECAM_WUR;
/* 1 if s (len bytes) is valid UTF-8 without NUL bytes or overlong forms, else 0. */
int safecam_utf8_valid(const char *s, size_t len);

/* ---- files ---- */
/* Write data atomically: tmp file in the same dir, fsync, rename, fsync dir. mode e.g. 0600. Written by
 * root, the file takes the owner of its directory (safecam_fd_owner_inherit).
 * On SAFECAM_ERR_IO errno tells why (ENOSPC when the disk is full). */
int safecam_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode) SAFECAM_WUR;
/* When running as root, give the open file fd (created at path) the owner and group of path's directory,
 * so a file the supervisor writes into a child's directory stays that child's (the walls,
 * docs/ARCHITECTURE.md). Not root: nothing to do. 0, SAFECAM_ERR_INVAL or SAFECAM_ERR_IO. */
int safecam_fd_owner_inherit(int fd, const char *path) SAFECAM_WUR;
/* Remove path: a file, a link (never followed) or a whole directory tree (at most 16 levels deep,
 * SAFECAM_ERR_TOOBIG beyond). A path that does not exist is success. SAFECAM_ERR_IO otherwise. */
int safecam_path_remove(const char *path) SAFECAM_WUR;
/* Read a whole file of at most max_len bytes into a malloc'd, NUL-terminated buffer (caller frees).
 * *len_out gets the length without the NUL. SAFECAM_ERR_TOOBIG when the file is larger. */
int safecam_file_read(const char *path, size_t max_len, char **data_out, size_t *len_out) SAFECAM_WUR;
/* Join dir and name into out (out_size bytes). */
int safecam_path_join(char *out, size_t out_size, const char *dir, const char *name) SAFECAM_WUR;
/* mkdir -p with the given mode for the last component (parents 0755). */
int safecam_mkdir_p(const char *path, unsigned mode) SAFECAM_WUR;

/* ---- time ---- */
/* Seconds since the Unix epoch (wall clock) and monotonic milliseconds. */
int64_t safecam_time_now(void);
int64_t safecam_time_mono_ms(void);
/* Format t (Unix seconds, UTC) as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" into out (>= 21 bytes). */
int safecam_time_rfc3339(int64_t t, char *out, size_t out_size) SAFECAM_WUR;

/* ---- bounded buffers (in the manner of curl's dynbuf) ----
 * A growable byte buffer created with its maximum: it never holds more than max bytes, its contents are always
 * NUL-terminated (the NUL is not counted), and any failure to add frees it (so a caller's error path has
 * nothing left to clean up). With SAFECAM_BUF_WIPE the old block is zeroed whenever the buffer moves and on
 * free (request bodies with passwords). Owner: the struct's holder; release with safecam_buf_free(). */
#define SAFECAM_BUF_WIPE 0x1u

struct safecam_buf {
    char *data; /* NULL until the first add */
    size_t len; /* bytes held, without the terminating NUL */
    size_t cap; /* bytes allocated (len + 1 <= cap) */
    size_t max; /* hard cap on len, from safecam_buf_init */
    unsigned flags;
};

/* An empty buffer that will hold at most max bytes. flags: 0 or SAFECAM_BUF_WIPE. */
void safecam_buf_init(struct safecam_buf *b, size_t max, unsigned flags);
/* Append len bytes. SAFECAM_ERR_TOOBIG when the result would exceed max, SAFECAM_ERR_NOMEM; on either the
 * buffer is freed (empty, still usable with the same max). */
int safecam_buf_add(struct safecam_buf *b, const void *data, size_t len) SAFECAM_WUR;
/* Append a printf-formatted string (same errors; SAFECAM_ERR_INVAL on a format error). */
int safecam_buf_addf(struct safecam_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3))) SAFECAM_WUR;
/* The contents as a string ("" when empty); valid until the next add or free. */
const char *safecam_buf_str(const struct safecam_buf *b);
/* Hand the malloc'd contents to the caller (free() them; "" when empty) and leave the buffer empty. NULL when
 * out of memory, and always for a SAFECAM_BUF_WIPE buffer (its contents are never handed out unwiped). */
char *safecam_buf_take(struct safecam_buf *b);
/* Release the contents (zeroed first with SAFECAM_BUF_WIPE); the buffer stays initialised and empty. */
void safecam_buf_free(struct safecam_buf *b);

#define SAFECAM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
