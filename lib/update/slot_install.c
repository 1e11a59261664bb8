/* slot_install.c — the streaming install session of the `dir` backend, used by the web upload and the online
 * path: every bundle byte passes through the verifier first, payloads are staged, and a slot becomes
 * bootable only by one atomic state write after all checks. Runs in safecam-update; the input is
 * untrusted. QCVN 135 G3 / EN 303 645 5.3. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "safecam/update.h"
#include "update_internal.h"

/* ---------------------------------------------------------------- install session */

struct update_session {
    char state_dir[PATH_MAX];
    char staging[PATH_MAX];
    char slot_dir[PATH_MAX];
    char model[UPDATE_NAME_MAX + 1];
    char slot;
    int lock_fd;
    int out_fd;            /* payload file being written, or -1 */
    int done;              /* finished or refused: no more input */
    enum update_reason reason;
    unsigned boot_attempts;
    update_event_fn event;
    void *event_ctx;
    struct update_status st;
    update_trust *trust;
    update_verifier *v;
};

static int sink_begin(void *ctx, const struct update_payload *p, enum update_reason *reason)
{
    update_session *s = ctx;
    char path[PATH_MAX];
    if (s->out_fd >= 0) {
        close(s->out_fd);
        s->out_fd = -1;
    }
    if (p == &update_verifier_manifest(s->v)->payloads[0]) {
        /* First payload: the manifest is verified; refuse early when the whole image cannot fit. */
        struct statvfs vfs;
        uint64_t need = update_verifier_manifest(s->v)->payload_total;
        if (statvfs(s->staging, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < need) {
            *reason = UPDATE_NO_SPACE;
            return SAFECAM_ERR_IO;
        }
    }
    if (safecam_path_join(path, sizeof path, s->staging, p->name) != 0) {
        *reason = UPDATE_IO;
        return SAFECAM_ERR_IO;
    }
    /* the image's executables may run (verified boot checks them again before each start) */
    s->out_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     update_payload_executable(p->name) ? 0755 : 0644);
    if (s->out_fd < 0) {
        *reason = errno == ENOSPC || errno == EDQUOT ? UPDATE_NO_SPACE : UPDATE_IO;
        return SAFECAM_ERR_IO;
    }
    if (p->size > 0 && p->size < (uint64_t)INT64_MAX) {
        int e = posix_fallocate(s->out_fd, 0, (off_t)p->size);
        if (e == ENOSPC || e == EDQUOT) {
            *reason = UPDATE_NO_SPACE;
            return SAFECAM_ERR_IO;
        }
    }
    return 0;
}

static int sink_write(void *ctx, const unsigned char *data, size_t len, enum update_reason *reason)
{
    update_session *s = ctx;
    int rc = update_write_all(s->out_fd, data, len);
    if (rc != 0)
        *reason = rc == SAFECAM_ERR_TOOBIG ? UPDATE_NO_SPACE : UPDATE_IO;
    return rc == 0 ? 0 : SAFECAM_ERR_IO;
}

static int sink_end(void *ctx, const struct update_payload *p, enum update_reason *reason)
{
    update_session *s = ctx;
    (void)p;
    int rc = 0;
    if (fsync(s->out_fd) != 0)
        rc = SAFECAM_ERR_IO;
    if (close(s->out_fd) != 0)
        rc = SAFECAM_ERR_IO;
    s->out_fd = -1;
    if (rc != 0)
        *reason = errno == ENOSPC || errno == EDQUOT ? UPDATE_NO_SPACE : UPDATE_IO;
    return rc;
}

int update_session_new(const char *state_dir, const struct update_session_opts *opts, update_session **out)
{
    update_session *s = NULL;
    char slots_dir[PATH_MAX];
    int rc;
    if (!state_dir || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    s = calloc(1, sizeof *s);
    if (!s)
        return SAFECAM_ERR_NOMEM;
    s->lock_fd = -1;
    s->out_fd = -1;
    if ((rc = safecam_strlcpy(s->state_dir, state_dir, sizeof s->state_dir)) != 0)
        goto out;
    s->boot_attempts = opts && opts->boot_attempts ? opts->boot_attempts : UPDATE_BOOT_ATTEMPTS_DEFAULT;
    if (s->boot_attempts > 100)
        s->boot_attempts = 100;
    s->event = opts ? opts->event : NULL;
    s->event_ctx = opts ? opts->event_ctx : NULL;
    if (opts && opts->model) {
        if (!update_name_valid(opts->model)) {
            rc = SAFECAM_ERR_INVAL;
            goto out;
        }
        rc = safecam_strlcpy(s->model, opts->model, sizeof s->model);
    } else {
        rc = update_device_model(state_dir, s->model, sizeof s->model);
    }
    if (rc != 0)
        goto out;
    rc = update_lock_open(state_dir, 0, &s->lock_fd);
    if (rc != 0)
        goto out; /* SAFECAM_ERR_STATE: another session runs */
    rc = update_state_load(state_dir, &s->st);
    if (rc != 0)
        goto out;
    if (s->st.trying) {
        rc = SAFECAM_ERR_STATE; /* a new slot still awaits its health check */
        goto out;
    }
    s->slot = update_slot_other(s->st.active);
    if ((rc = update_slot_path(state_dir, s->slot, s->slot_dir, sizeof s->slot_dir)) != 0 ||
        (rc = safecam_fmt(s->staging, sizeof s->staging, "%s.staging", s->slot_dir)) != 0 ||
        (rc = safecam_path_join(slots_dir, sizeof slots_dir, state_dir, UPDATE_DIR_SLOTS)) != 0 ||
        (rc = safecam_mkdir_p(slots_dir, 0755)) != 0)
        goto out;
    if ((rc = safecam_path_remove(s->staging)) != 0)
        goto out;
    if (mkdir(s->staging, 0755) != 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    rc = update_trust_load(state_dir, &s->trust);
    if (rc != 0)
        goto out;
    struct update_verify_opts vo = {
        .model = s->model,
        .min_security_version = s->st.floor,
        .max_bundle_bytes = opts ? opts->max_bundle_bytes : 0,
        .sink = {.ctx = s, .begin = sink_begin, .write = sink_write, .end = sink_end},
    };
    /* Never below the running image either (the floor only rises once a slot is marked good). */
    const struct update_slot_info *act = &s->st.slots[update_slot_index(s->st.active)];
    if (act->security_version > vo.min_security_version)
        vo.min_security_version = act->security_version;
    rc = update_verifier_new(s->trust, &vo, &s->v);
    if (rc != 0)
        goto out;
    if (update_last_write(state_dir, "receiving", UPDATE_OK, NULL, s->slot, 0, 0) != 0)
        log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    *out = s;
    s = NULL;
out:
    if (s) {
        if (s->staging[0] && s->lock_fd >= 0 && safecam_path_remove(s->staging) != 0)
            log_warn("update: cannot remove staging dir");
        update_session_free(s);
    }
    return rc;
}

/* Refusal: drop the staged bytes, record the reason once; the slot state is untouched. */
static int session_refuse(update_session *s, enum update_reason r)
{
    char detail[200];
    if (s->done)
        return update_reason_err(s->reason);
    s->done = 1;
    s->reason = r;
    if (s->out_fd >= 0) {
        close(s->out_fd);
        s->out_fd = -1;
    }
    if (safecam_path_remove(s->staging) != 0)
        log_warn("update: cannot remove staging dir");
    const struct update_manifest *m = update_verifier_manifest(s->v);
    uint64_t rx = 0, total = 0;
    update_verifier_progress(s->v, &rx, &total);
    if (safecam_fmt(detail, sizeof detail, "reason=%s version=%s received=%llu", update_reason_name(r),
                    m ? m->version : "-", (unsigned long long)rx) != 0)
        detail[0] = '\0';
    update_event_emit(s->event, s->event_ctx, "update_refused", detail);
    if (update_last_write(s->state_dir, "failed", r, m, s->slot, rx, total) != 0)
        log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    return update_reason_err(r);
}

int update_session_feed(update_session *s, const void *data, size_t len)
{
    if (!s)
        return SAFECAM_ERR_INVAL;
    if (s->done)
        return s->reason == UPDATE_OK ? SAFECAM_ERR_STATE : update_reason_err(s->reason);
    int rc = update_verifier_feed(s->v, data, len);
    if (rc != 0)
        return session_refuse(s, update_verifier_reason(s->v));
    return 0;
}

static int session_commit(update_session *s)
{
    const struct update_manifest *m = update_verifier_manifest(s->v);
    size_t mlen = 0;
    const char *mjson = update_verifier_manifest_json(s->v, &mlen);
    char path[PATH_MAX], slots_dir[PATH_MAX];
    int rc;
    int si = update_slot_index(s->slot);

    if ((rc = safecam_path_join(path, sizeof path, s->staging, "manifest.json")) != 0 ||
        (rc = safecam_file_write_atomic(path, mjson, mlen, 0644)) != 0)
        return rc;
    if ((rc = safecam_path_join(path, sizeof path, s->staging, UPDATE_SLOT_HEAD)) != 0)
        return rc;
    int hfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (hfd < 0)
        return errno == ENOSPC || errno == EDQUOT ? SAFECAM_ERR_TOOBIG : SAFECAM_ERR_IO;
    rc = update_verifier_head_write(s->v, hfd);
    if (rc == 0 && fsync(hfd) != 0)
        rc = SAFECAM_ERR_IO;
    if (close(hfd) != 0 && rc == 0)
        rc = SAFECAM_ERR_IO;
    if (rc != 0 || (rc = update_fsync_path(s->staging)) != 0)
        return rc;
    if ((rc = safecam_path_join(slots_dir, sizeof slots_dir, s->state_dir, UPDATE_DIR_SLOTS)) != 0)
        return rc;
    /* 1. the old inactive image stops being a candidate before its files change */
    if (s->st.slots[si].valid) {
        memset(&s->st.slots[si], 0, sizeof s->st.slots[si]);
        if ((rc = update_state_write(s->state_dir, &s->st)) != 0)
            return rc;
    }
    /* 2. the staged tree takes its place */
    if ((rc = safecam_path_remove(s->slot_dir)) != 0)
        return rc;
    if (rename(s->staging, s->slot_dir) != 0)
        return SAFECAM_ERR_IO;
    if ((rc = update_fsync_path(slots_dir)) != 0)
        return rc;
    /* 3. one atomic write arms it for the next start */
    struct update_slot_info *ns = &s->st.slots[si];
    memset(ns, 0, sizeof *ns);
    ns->valid = 1;
    ns->security_version = m->security_version;
    ns->installed_at = safecam_time_now();
    if ((rc = safecam_strlcpy(ns->version, m->version, sizeof ns->version)) != 0)
        return rc;
    s->st.trying = s->slot;
    s->st.attempts_left = s->boot_attempts;
    for (unsigned i = 0; i < m->n_revoke; i++) {
        int known = 0;
        for (unsigned j = 0; j < s->st.n_revoked; j++)
            if (strcmp(s->st.revoked[j], m->revoke[i]) == 0)
                known = 1;
        if (!known && s->st.n_revoked < UPDATE_REVOKED_MAX)
            memcpy(s->st.revoked[s->st.n_revoked++], m->revoke[i], UPDATE_KEY_ID_HEX_BYTES);
    }
    return update_state_write(s->state_dir, &s->st);
}

int update_session_finish(update_session *s)
{
    char detail[200];
    if (!s)
        return SAFECAM_ERR_INVAL;
    if (s->done)
        return s->reason == UPDATE_OK ? SAFECAM_ERR_STATE : update_reason_err(s->reason);
    int rc = update_verifier_finish(s->v);
    if (rc != 0)
        return session_refuse(s, update_verifier_reason(s->v));
    rc = session_commit(s);
    if (rc != 0) {
        /* the payloads had their space reserved; the disk can still fill up before the small files of
         * the commit (manifest.json, bundle.head, state.json) are written */
        int full = rc == SAFECAM_ERR_TOOBIG || (rc == SAFECAM_ERR_IO && (errno == ENOSPC || errno == EDQUOT));
        return session_refuse(s, full ? UPDATE_NO_SPACE : UPDATE_IO);
    }
    s->done = 1;
    s->reason = UPDATE_OK;
    const struct update_manifest *m = update_verifier_manifest(s->v);
    uint64_t rx = 0, total = 0;
    update_verifier_progress(s->v, &rx, &total);
    if (safecam_fmt(detail, sizeof detail, "version=%s security_version=%u slot=%c key_id=%s revoked=%u", m->version,
                    (unsigned)m->security_version, s->slot, m->key_id, m->n_revoke) != 0)
        detail[0] = '\0';
    update_event_emit(s->event, s->event_ctx, "update_install", detail);
    if (update_last_write(s->state_dir, "pending_reboot", UPDATE_OK, m, s->slot, rx, total) != 0)
        log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    return 0;
}

void update_session_free(update_session *s)
{
    if (!s)
        return;
    if (!s->done && s->v) /* the upload stopped before finish: the client went away */
        (void)session_refuse(s, UPDATE_TRUNCATED);
    if (s->out_fd >= 0)
        close(s->out_fd);
    update_verifier_free(s->v);
    update_trust_free(s->trust);
    update_lock_close(s->lock_fd);
    free(s);
}

enum update_reason update_session_reason(const update_session *s)
{
    return s ? s->reason : UPDATE_INTERNAL;
}

void update_session_progress(const update_session *s, uint64_t *received, uint64_t *total)
{
    update_verifier_progress(s ? s->v : NULL, received, total);
}

const struct update_manifest *update_session_manifest(const update_session *s)
{
    return s ? update_verifier_manifest(s->v) : NULL;
}

char update_session_slot(const update_session *s)
{
    return s ? s->slot : 0;
}

int update_install_file(const char *state_dir, const struct update_session_opts *opts, const char *path,
                        enum update_reason *reason_out)
{
    update_session *s = NULL;
    unsigned char *buf = NULL;
    int fd = -1;
    enum update_reason reason = UPDATE_INTERNAL;
    int rc = update_session_new(state_dir, opts, &s);
    if (rc != 0) {
        reason = rc == SAFECAM_ERR_STATE ? UPDATE_BUSY : rc == SAFECAM_ERR_IO ? UPDATE_IO : UPDATE_INTERNAL;
        goto out;
    }
    buf = malloc(1 << 16);
    fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (!buf || fd < 0) {
        rc = SAFECAM_ERR_IO;
        reason = UPDATE_IO;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = SAFECAM_ERR_IO;
            reason = UPDATE_IO;
            goto out;
        }
        if (n == 0)
            break;
        rc = update_session_feed(s, buf, (size_t)n);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = update_session_finish(s);
    reason = update_session_reason(s);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    update_session_free(s);
    if (reason_out)
        *reason_out = rc == 0 ? UPDATE_OK : reason;
    return rc;
}

