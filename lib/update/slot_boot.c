/* slot_boot.c — the boot protocol of the `dir` backend: verified boot of a slot (signature, model, every
 * payload hash), slot choice with the boot counter, rollback of a slot that never became healthy, marking
 * the running slot good, and the clean-up of an install cut short. Runs in safecamd (the boot loader) and
 * in safecam-update (health check). A slot is untrusted until it authenticates. QCVN 135 G3 / G8. */
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

/* ---------------------------------------------------------------- verified boot */

int update_payload_executable(const char *name)
{
    static const char *const exe[] = {UPDATE_IMAGE_ENTRY, "safecam-vault", "safecam-web", "safecam-media",
                                      "safecam-update"};
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof exe / sizeof exe[0]; i++)
        if (strcmp(name, exe[i]) == 0)
            return 1;
    return 0;
}

/* Feed the file at path (exactly `size` bytes expected) into v. */
static int feed_file(update_verifier *v, const char *path, uint64_t size, unsigned char *buf, size_t cap,
                     enum update_reason *reason)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        *reason = errno == ENOENT ? UPDATE_TRUNCATED : UPDATE_IO;
        return SAFECAM_ERR_IO;
    }
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *reason = UPDATE_IO;
        rc = SAFECAM_ERR_IO;
    } else if ((uint64_t)st.st_size > size) {
        *reason = UPDATE_MALFORMED_BUNDLE; /* longer than signed: bytes the signature does not cover */
        rc = SAFECAM_ERR_INVAL;
    }
    while (rc == 0) {
        ssize_t n = read(fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *reason = UPDATE_IO;
            rc = SAFECAM_ERR_IO;
        } else if (n == 0) {
            break;
        } else if (update_verifier_feed(v, buf, (size_t)n) != 0) {
            *reason = update_verifier_reason(v);
            rc = update_reason_err(*reason);
        }
    }
    close(fd);
    return rc;
}

int update_slot_authenticate(const char *state_dir, char slot, enum update_reason *reason_out)
{
    struct update_status st;
    enum update_reason reason = UPDATE_INTERNAL;
    update_trust *trust = NULL;
    update_verifier *v = NULL;
    unsigned char *buf = NULL;
    char dir[PATH_MAX], path[PATH_MAX], model[UPDATE_NAME_MAX + 1];
    if (reason_out)
        *reason_out = UPDATE_INTERNAL;
    if (!state_dir || update_slot_index(slot) < 0)
        return SAFECAM_ERR_INVAL;
    int rc = update_state_load(state_dir, &st);
    if (rc != 0)
        return rc;
    const struct update_slot_info *si = &st.slots[update_slot_index(slot)];
    if (si->factory)
        return SAFECAM_ERR_NOTFOUND;
    if (!si->valid) {
        reason = UPDATE_TRUNCATED;
        rc = SAFECAM_ERR_NOTFOUND;
        goto out;
    }
    if ((rc = update_slot_path(state_dir, slot, dir, sizeof dir)) != 0 ||
        (rc = update_device_model(state_dir, model, sizeof model)) != 0 ||
        (rc = update_trust_load(state_dir, &trust)) != 0) {
        reason = UPDATE_IO;
        goto out;
    }
    struct update_verify_opts vo = {.model = model, .max_bundle_bytes = UINT64_MAX};
    buf = malloc(1 << 16);
    if (!buf || (rc = update_verifier_new(trust, &vo, &v)) != 0) {
        rc = buf ? rc : SAFECAM_ERR_NOMEM;
        goto out;
    }
    /* the head as stored at install, then each payload file in manifest order: the original bundle */
    if ((rc = safecam_path_join(path, sizeof path, dir, UPDATE_SLOT_HEAD)) != 0)
        goto out;
    rc = feed_file(v, path, UPDATE_HEADER_BYTES + UPDATE_MANIFEST_MAX_BYTES + UPDATE_SIG_BYTES, buf, 1 << 16,
                   &reason);
    if (rc != 0) {
        if (reason == UPDATE_TRUNCATED)
            reason = UPDATE_MALFORMED_BUNDLE; /* no head at all */
        goto out;
    }
    const struct update_manifest *m = update_verifier_manifest(v);
    if (!m) {
        reason = update_verifier_reason(v) == UPDATE_OK ? UPDATE_TRUNCATED : update_verifier_reason(v);
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    for (unsigned i = 0; i < m->n_payloads; i++) {
        uint64_t before = 0, after = 0;
        update_verifier_progress(v, &before, NULL);
        if ((rc = safecam_path_join(path, sizeof path, dir, m->payloads[i].name)) != 0 ||
            (rc = feed_file(v, path, m->payloads[i].size, buf, 1 << 16, &reason)) != 0)
            goto out;
        update_verifier_progress(v, &after, NULL);
        if (after - before != m->payloads[i].size) { /* shorter than signed */
            reason = UPDATE_TRUNCATED;
            rc = SAFECAM_ERR_INVAL;
            goto out;
        }
    }
    rc = update_verifier_finish(v);
    reason = rc == 0 ? UPDATE_OK : update_verifier_reason(v);
out:
    if (rc != 0 && reason == UPDATE_OK)
        reason = UPDATE_INTERNAL;
    if (reason_out)
        *reason_out = rc == 0 ? UPDATE_OK : reason;
    update_verifier_free(v);
    update_trust_free(trust);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- boot protocol */

/* Leftovers of an install cut short (power loss, kill -9): staging trees, temp files of atomic writes,
 * and a last result that still says "receiving" (it becomes failed/interrupted). Called with the lock
 * held, so no session is running. */
static void cleanup_interrupted(const char *state_dir)
{
    char path[PATH_MAX];
    char *last = NULL;
    if (update_last_result_read(state_dir, &last) == 0 && last) {
        json_t *o = json_loads(last, 0, NULL);
        json_t *ver = json_object_get(o, "version"), *slot = json_object_get(o, "slot");
        if (json_is_string(json_object_get(o, "state")) &&
            strcmp(json_string_value(json_object_get(o, "state")), "receiving") == 0 &&
            update_last_write_raw(state_dir, "failed", "interrupted", json_is_string(ver) ? json_string_value(ver) : NULL,
                           json_is_string(slot) ? json_string_value(slot)[0] : 0,
                           (uint64_t)json_integer_value(json_object_get(o, "received")),
                           (uint64_t)json_integer_value(json_object_get(o, "total"))) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
        json_decref(o);
        free(last);
    }
    for (int i = 0; i < 2; i++) {
        if (safecam_fmt(path, sizeof path, "%s/%s/%c.staging", state_dir, UPDATE_DIR_SLOTS, i ? 'B' : 'A') == 0 &&
            safecam_path_remove(path) != 0)
            log_warn("update: cannot remove an interrupted staging dir");
    }
    if (safecam_path_join(path, sizeof path, state_dir, UPDATE_DIR_STATE) != 0)
        return;
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if ((strncmp(e->d_name, "state.json.tmp.", 15) == 0 || strncmp(e->d_name, "last.json.tmp.", 14) == 0) &&
            unlinkat(dirfd(d), e->d_name, 0) != 0)
            log_warn("update: cannot remove a stale temp file");
    }
    closedir(d);
}

/* Give up the trying slot: it stops being valid, the active slot boots. */
static void rollback_trying(struct update_status *st, const char *reason, char *detail, size_t detail_size)
{
    int ti = update_slot_index(st->trying);
    if (safecam_fmt(detail, detail_size, "event=rollback from=%c version=%s to=%c reason=%s", st->trying,
                    st->slots[ti].version, st->active, reason) != 0)
        detail[0] = '\0';
    st->slots[ti].valid = 0;
    st->slots[ti].good = 0;
    st->trying = 0;
    st->attempts_left = 0;
    st->booted = st->active;
}

int update_boot_abandon(const char *state_dir, const char *reason, char *slot_out, update_event_fn ev,
                        void *ev_ctx)
{
    struct update_status st;
    int lock = -1;
    char detail[160];
    if (!state_dir || !slot_out || !reason ||
        (strcmp(reason, "slot_damaged") != 0 && strcmp(reason, "health_check_failed") != 0))
        return SAFECAM_ERR_INVAL;
    int rc = update_lock_open(state_dir, 1, &lock);
    if (rc != 0)
        return rc;
    rc = update_state_load(state_dir, &st);
    if (rc != 0)
        goto out;
    if (!st.trying) {
        *slot_out = st.active;
        goto out;
    }
    rollback_trying(&st, reason, detail, sizeof detail);
    rc = update_state_write(state_dir, &st);
    if (rc == 0) {
        update_event_emit(ev, ev_ctx, "update_rollback", detail);
        if (update_last_write_raw(state_dir, "failed", reason, NULL, st.active, 0, 0) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
        *slot_out = st.active;
    }
out:
    update_lock_close(lock);
    return rc;
}

int update_boot_select(const char *state_dir, char *slot_out, int *rolled_back, update_event_fn ev, void *ev_ctx)
{
    struct update_status st;
    int lock = -1, rollback = 0;
    const char *intact_reason = NULL;
    char detail[160];
    if (!state_dir || !slot_out)
        return SAFECAM_ERR_INVAL;
    if (rolled_back)
        *rolled_back = 0;
    int rc = update_lock_open(state_dir, 1, &lock);
    if (rc != 0)
        return rc;
    cleanup_interrupted(state_dir);
    rc = update_state_load(state_dir, &st);
    if (rc != 0)
        goto out;
    struct update_status before = st;
    if (st.trying) {
        int intact = update_slot_check(state_dir, st.trying, 0) == 0;
        if (st.attempts_left > 0 && intact) {
            st.attempts_left--;
            st.booted = st.trying;
        } else {
            intact_reason = intact ? "health_check_failed" : "slot_damaged";
            rollback_trying(&st, intact_reason, detail, sizeof detail);
            if (rolled_back)
                *rolled_back = 1;
            rollback = 1;
        }
    } else {
        st.booted = st.active;
    }
    if (memcmp(&before, &st, sizeof st) != 0)
        rc = update_state_write(state_dir, &st);
    if (rc == 0 && rollback) {
        update_event_emit(ev, ev_ctx, "update_rollback", detail);
        if (update_last_write_raw(state_dir, "failed", intact_reason, NULL, st.active, 0, 0) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    }
    if (rc == 0)
        *slot_out = st.booted;
out:
    update_lock_close(lock);
    return rc;
}

int update_boot_mark_good(const char *state_dir, update_event_fn ev, void *ev_ctx)
{
    struct update_status st;
    int lock = -1;
    char detail[160];
    if (!state_dir)
        return SAFECAM_ERR_INVAL;
    /* Never wait: the supervisor calls this from its event loop while an upload may hold the lock. */
    int rc = update_lock_open(state_dir, 0, &lock);
    if (rc != 0)
        return rc;
    rc = update_state_load(state_dir, &st);
    if (rc != 0 || !st.trying || st.booted != st.trying)
        goto out; /* nothing pending, or still running the old slot: no-op */
    int ti = update_slot_index(st.trying);
    st.active = st.trying;
    st.trying = 0;
    st.attempts_left = 0;
    st.slots[ti].good = 1;
    if (st.slots[ti].security_version > st.floor)
        st.floor = st.slots[ti].security_version;
    rc = update_state_write(state_dir, &st);
    if (rc == 0) {
        if (safecam_fmt(detail, sizeof detail, "event=good slot=%c version=%s security_version=%u",
                        st.active, st.slots[ti].version, (unsigned)st.slots[ti].security_version) != 0)
            detail[0] = '\0';
        update_event_emit(ev, ev_ctx, "update_good", detail);
        if (update_last_write_raw(state_dir, "installed", NULL, st.slots[ti].version, st.active, 0, 0) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    }
out:
    update_lock_close(lock);
    return rc;
}

