/* slots.c — the `dir` install backend: A/B slot trees, the atomic state pointer, boot-attempt counter,
 * anti-rollback floor, and the streaming install session used by the web upload and the online path.
 * Trust level: writes only below the state dir; every bundle byte passes through the verifier first and
 * a slot becomes bootable only by one atomic state write after all checks. QCVN 135 G3 / G8. */
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

#ifndef SAFECAM_VERSION
#define SAFECAM_VERSION "0.0.0"
#endif

#define STATE_MAX_BYTES (64u * 1024u)
#define LAST_MAX_BYTES 4096u
#define DEVICE_JSON_MAX_BYTES 4096u

static int slot_index(char s)
{
    return s == 'A' ? 0 : s == 'B' ? 1 : -1;
}

static char slot_other(char s)
{
    return s == 'A' ? 'B' : 'A';
}

static void emit(update_event_fn ev, void *ctx, const char *type, const char *detail)
{
    log_info("update: %s %s", type, detail);
    if (ev)
        ev(ctx, type, detail);
}

/* ---------------------------------------------------------------- state file */

static void state_default(struct update_status *st)
{
    memset(st, 0, sizeof *st);
    st->active = 'A';
    st->slots[0].valid = 1;
    st->slots[0].good = 1;
    st->slots[0].factory = 1;
    if (safecam_strlcpy(st->slots[0].version, SAFECAM_VERSION, sizeof st->slots[0].version) != 0 ||
        !update_version_valid(st->slots[0].version))
        memcpy(st->slots[0].version, "0.0.0", 6);
}

static int slot_char(const json_t *v, int allow_null, char *out)
{
    if (allow_null && (!v || json_is_null(v))) {
        *out = 0;
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) != 1)
        return SAFECAM_ERR_INVAL;
    char c = json_string_value(v)[0];
    if (slot_index(c) < 0)
        return SAFECAM_ERR_INVAL;
    *out = c;
    return 0;
}

static int state_parse_slot(const json_t *o, struct update_slot_info *s)
{
    memset(s, 0, sizeof *s);
    if (!json_is_object(o))
        return SAFECAM_ERR_INVAL;
    const json_t *valid = json_object_get(o, "valid"), *good = json_object_get(o, "good"),
                 *factory = json_object_get(o, "factory"), *ver = json_object_get(o, "version"),
                 *sv = json_object_get(o, "security_version"), *at = json_object_get(o, "installed_at");
    if (!json_is_boolean(valid) || !json_is_boolean(good) || !json_is_boolean(factory))
        return SAFECAM_ERR_INVAL;
    s->valid = json_is_true(valid);
    s->good = json_is_true(good);
    s->factory = json_is_true(factory);
    if (!s->valid)
        return 0;
    if (!json_is_string(ver) || safecam_strlcpy(s->version, json_string_value(ver), sizeof s->version) != 0 ||
        !update_version_valid(s->version))
        return SAFECAM_ERR_INVAL;
    if (!json_is_integer(sv) || json_integer_value(sv) < 0 || json_integer_value(sv) > (json_int_t)UINT32_MAX)
        return SAFECAM_ERR_INVAL;
    s->security_version = (uint32_t)json_integer_value(sv);
    if (!json_is_integer(at) || json_integer_value(at) < 0)
        return SAFECAM_ERR_INVAL;
    s->installed_at = (int64_t)json_integer_value(at);
    return 0;
}

int update_state_read(const char *state_dir, struct update_status *out)
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = safecam_path_join(path, sizeof path, state_dir, UPDATE_STATE_JSON)) != 0)
        return rc;
    rc = safecam_file_read(path, STATE_MAX_BYTES, &data, &len);
    if (rc != 0)
        return rc == SAFECAM_ERR_IO && errno == ENOENT ? SAFECAM_ERR_NOTFOUND : rc;
    rc = SAFECAM_ERR_INVAL;
    json_error_t jerr;
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root))
        goto out;
    const json_t *fmt = json_object_get(root, "format");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != 1)
        goto out;
    if (slot_char(json_object_get(root, "active"), 0, &out->active) != 0 ||
        slot_char(json_object_get(root, "trying"), 1, &out->trying) != 0 ||
        slot_char(json_object_get(root, "booted"), 1, &out->booted) != 0)
        goto out;
    const json_t *att = json_object_get(root, "attempts_left"), *floor_v = json_object_get(root, "floor");
    if (!json_is_integer(att) || json_integer_value(att) < 0 || json_integer_value(att) > 100)
        goto out;
    out->attempts_left = (unsigned)json_integer_value(att);
    if (!json_is_integer(floor_v) || json_integer_value(floor_v) < 0 ||
        json_integer_value(floor_v) > (json_int_t)UINT32_MAX)
        goto out;
    out->floor = (uint32_t)json_integer_value(floor_v);
    const json_t *rv = json_object_get(root, "revoked");
    if (!json_is_array(rv) || json_array_size(rv) > UPDATE_REVOKED_MAX)
        goto out;
    out->n_revoked = (unsigned)json_array_size(rv);
    for (unsigned i = 0; i < out->n_revoked; i++) {
        const json_t *e = json_array_get(rv, i);
        if (!json_is_string(e) || !update_key_id_valid(json_string_value(e)))
            goto out;
        memcpy(out->revoked[i], json_string_value(e), UPDATE_KEY_ID_HEX_BYTES);
    }
    const json_t *slots = json_object_get(root, "slots");
    if (!json_is_object(slots) || state_parse_slot(json_object_get(slots, "A"), &out->slots[0]) != 0 ||
        state_parse_slot(json_object_get(slots, "B"), &out->slots[1]) != 0)
        goto out;
    /* Invariants: the active slot holds a good image; a trying slot is the other one and valid. */
    if (!out->slots[slot_index(out->active)].valid)
        goto out;
    if (out->trying && (out->trying == out->active || !out->slots[slot_index(out->trying)].valid))
        goto out;
    rc = 0;
out:
    json_decref(root);
    free(data);
    if (rc != 0)
        log_err("update: state file %s is corrupt", UPDATE_STATE_JSON);
    return rc;
}

static json_t *slot_json(const struct update_slot_info *s)
{
    json_t *o = json_pack("{s:b,s:b,s:b}", "valid", s->valid, "good", s->good, "factory", s->factory);
    if (o && s->valid) {
        json_object_set_new(o, "version", json_string(s->version));
        json_object_set_new(o, "security_version", json_integer((json_int_t)s->security_version));
        json_object_set_new(o, "installed_at", json_integer((json_int_t)s->installed_at));
    }
    return o;
}

static json_t *slot_name_json(char c)
{
    char s[2] = {c, 0};
    return c ? json_string(s) : json_null();
}

static int state_write(const char *state_dir, const struct update_status *st)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int rc;
    if ((rc = safecam_path_join(dir, sizeof dir, state_dir, UPDATE_DIR_STATE)) != 0 ||
        (rc = safecam_mkdir_p(dir, 0700)) != 0 ||
        (rc = safecam_path_join(path, sizeof path, state_dir, UPDATE_STATE_JSON)) != 0)
        return rc;
    json_t *root = json_object();
    json_t *rv = json_array();
    json_t *slots = json_object();
    if (!root || !rv || !slots) {
        json_decref(root);
        json_decref(rv);
        json_decref(slots);
        return SAFECAM_ERR_NOMEM;
    }
    json_object_set_new(root, "format", json_integer(1));
    json_object_set_new(root, "active", slot_name_json(st->active));
    json_object_set_new(root, "trying", slot_name_json(st->trying));
    json_object_set_new(root, "booted", slot_name_json(st->booted));
    json_object_set_new(root, "attempts_left", json_integer(st->attempts_left));
    json_object_set_new(root, "floor", json_integer((json_int_t)st->floor));
    for (unsigned i = 0; i < st->n_revoked; i++)
        json_array_append_new(rv, json_string(st->revoked[i]));
    json_object_set_new(root, "revoked", rv);
    json_object_set_new(slots, "A", slot_json(&st->slots[0]));
    json_object_set_new(slots, "B", slot_json(&st->slots[1]));
    json_object_set_new(root, "slots", slots);
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return SAFECAM_ERR_NOMEM;
    rc = safecam_file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return rc;
}

/* Read the state, creating the factory default on first use. */
static int state_load(const char *state_dir, struct update_status *st)
{
    int rc = update_state_read(state_dir, st);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        state_default(st);
        rc = state_write(state_dir, st);
    }
    return rc;
}

int update_slots_status(const char *state_dir, struct update_status *out)
{
    if (!state_dir || !out)
        return SAFECAM_ERR_INVAL;
    return state_load(state_dir, out);
}

/* ---------------------------------------------------------------- locking */

static int lock_open(const char *state_dir, int blocking, int *fd_out)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int rc;
    *fd_out = -1;
    if ((rc = safecam_path_join(dir, sizeof dir, state_dir, UPDATE_DIR_STATE)) != 0 ||
        (rc = safecam_mkdir_p(dir, 0700)) != 0 || (rc = safecam_path_join(path, sizeof path, state_dir, UPDATE_LOCK)) != 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    if (safecam_fd_owner_inherit(fd, path) != 0) { /* the boot loader (root) may create it first */
        close(fd);
        return SAFECAM_ERR_IO;
    }
    for (int i = 0;; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if ((errno != EWOULDBLOCK && errno != EINTR) || !blocking || i >= 200) {
            close(fd);
            return SAFECAM_ERR_STATE;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    *fd_out = fd;
    return 0;
}

static void lock_close(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* ---------------------------------------------------------------- slot trees */

int update_slot_path(const char *state_dir, char slot, char *out, size_t out_size)
{
    if (!state_dir || slot_index(slot) < 0)
        return SAFECAM_ERR_INVAL;
    return safecam_fmt(out, out_size, "%s/%s/%c", state_dir, UPDATE_DIR_SLOTS, slot);
}


static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int rc = fsync(fd) == 0 ? 0 : SAFECAM_ERR_IO;
    close(fd);
    return rc;
}

/* Load DIR/slots/X/manifest.json (the verified manifest stored at install). */
static int slot_manifest(const char *slot_dir, struct update_manifest *m)
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    int rc = safecam_path_join(path, sizeof path, slot_dir, "manifest.json");
    if (rc != 0)
        return rc;
    rc = safecam_file_read(path, UPDATE_MANIFEST_MAX_BYTES, &data, &len);
    if (rc != 0)
        return rc == SAFECAM_ERR_IO && errno == ENOENT ? SAFECAM_ERR_NOTFOUND : rc;
    rc = update_manifest_parse(data, len, m);
    free(data);
    return rc;
}

/* deep = 0: sizes only (cheap, every boot); 1: sizes and SHA-256. */
static int slot_check(const char *state_dir, char slot, int deep)
{
    char dir[PATH_MAX];
    struct update_manifest *m = NULL;
    unsigned char *buf = NULL;
    int rc = update_slot_path(state_dir, slot, dir, sizeof dir);
    if (rc != 0)
        return rc;
    m = malloc(sizeof *m);
    buf = deep ? malloc(1 << 16) : NULL;
    if (!m || (deep && !buf)) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    rc = slot_manifest(dir, m);
    if (rc != 0)
        goto out;
    for (unsigned i = 0; i < m->n_payloads && rc == 0; i++) {
        char path[PATH_MAX];
        struct stat st;
        if ((rc = safecam_path_join(path, sizeof path, dir, m->payloads[i].name)) != 0)
            break;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            rc = SAFECAM_ERR_NOTFOUND;
            break;
        }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != m->payloads[i].size) {
            rc = SAFECAM_ERR_INVAL;
        } else if (deep) {
            crypto_hash_sha256_state hs;
            unsigned char h[32];
            crypto_hash_sha256_init(&hs);
            for (;;) {
                ssize_t n = read(fd, buf, 1 << 16);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0) {
                    rc = SAFECAM_ERR_IO;
                    break;
                }
                if (n == 0)
                    break;
                crypto_hash_sha256_update(&hs, buf, (size_t)n);
            }
            crypto_hash_sha256_final(&hs, h);
            if (rc == 0 && sodium_memcmp(h, m->payloads[i].sha256, sizeof h) != 0)
                rc = SAFECAM_ERR_CRYPTO;
        }
        close(fd);
    }
out:
    free(m);
    free(buf);
    return rc;
}

int update_slot_verify(const char *state_dir, char slot)
{
    struct update_status st;
    if (!state_dir || slot_index(slot) < 0)
        return SAFECAM_ERR_INVAL;
    int rc = update_state_read(state_dir, &st);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        state_default(&st);
        rc = 0;
    }
    if (rc != 0)
        return rc;
    const struct update_slot_info *s = &st.slots[slot_index(slot)];
    if (!s->valid)
        return SAFECAM_ERR_NOTFOUND;
    if (s->factory)
        return 0;
    return slot_check(state_dir, slot, 1);
}

static int last_write_raw(const char *state_dir, const char *state, const char *reason, const char *version,
                          char slot, uint64_t received, uint64_t total);

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
    if (!state_dir || slot_index(slot) < 0)
        return SAFECAM_ERR_INVAL;
    int rc = state_load(state_dir, &st);
    if (rc != 0)
        return rc;
    const struct update_slot_info *si = &st.slots[slot_index(slot)];
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
            last_write_raw(state_dir, "failed", "interrupted", json_is_string(ver) ? json_string_value(ver) : NULL,
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
    int ti = slot_index(st->trying);
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
    int rc = lock_open(state_dir, 1, &lock);
    if (rc != 0)
        return rc;
    rc = state_load(state_dir, &st);
    if (rc != 0)
        goto out;
    if (!st.trying) {
        *slot_out = st.active;
        goto out;
    }
    rollback_trying(&st, reason, detail, sizeof detail);
    rc = state_write(state_dir, &st);
    if (rc == 0) {
        emit(ev, ev_ctx, "update_rollback", detail);
        if (last_write_raw(state_dir, "failed", reason, NULL, st.active, 0, 0) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
        *slot_out = st.active;
    }
out:
    lock_close(lock);
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
    int rc = lock_open(state_dir, 1, &lock);
    if (rc != 0)
        return rc;
    cleanup_interrupted(state_dir);
    rc = state_load(state_dir, &st);
    if (rc != 0)
        goto out;
    struct update_status before = st;
    if (st.trying) {
        int intact = slot_check(state_dir, st.trying, 0) == 0;
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
        rc = state_write(state_dir, &st);
    if (rc == 0 && rollback) {
        emit(ev, ev_ctx, "update_rollback", detail);
        if (last_write_raw(state_dir, "failed", intact_reason, NULL, st.active, 0, 0) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    }
    if (rc == 0)
        *slot_out = st.booted;
out:
    lock_close(lock);
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
    int rc = lock_open(state_dir, 0, &lock);
    if (rc != 0)
        return rc;
    rc = state_load(state_dir, &st);
    if (rc != 0 || !st.trying || st.booted != st.trying)
        goto out; /* nothing pending, or still running the old slot: no-op */
    int ti = slot_index(st.trying);
    st.active = st.trying;
    st.trying = 0;
    st.attempts_left = 0;
    st.slots[ti].good = 1;
    if (st.slots[ti].security_version > st.floor)
        st.floor = st.slots[ti].security_version;
    rc = state_write(state_dir, &st);
    if (rc == 0) {
        if (safecam_fmt(detail, sizeof detail, "event=good slot=%c version=%s security_version=%u",
                        st.active, st.slots[ti].version, (unsigned)st.slots[ti].security_version) != 0)
            detail[0] = '\0';
        emit(ev, ev_ctx, "update_good", detail);
        if (last_write_raw(state_dir, "installed", NULL, st.slots[ti].version, st.active, 0, 0) != 0)
            log_warn("update: cannot write %s", UPDATE_LAST_JSON);
    }
out:
    lock_close(lock);
    return rc;
}

/* ---------------------------------------------------------------- last result */

static int last_write_raw(const char *state_dir, const char *state, const char *reason, const char *version,
                          char slot, uint64_t received, uint64_t total)
{
    char path[PATH_MAX];
    int rc = safecam_path_join(path, sizeof path, state_dir, UPDATE_LAST_JSON);
    if (rc != 0)
        return rc;
    json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:I}", "state", state, "reason",
                          reason ? json_string(reason) : json_null(), "version",
                          version ? json_string(version) : json_null(), "slot", slot_name_json(slot), "received",
                          (json_int_t)received, "total", (json_int_t)total, "time",
                          (json_int_t)safecam_time_now());
    if (!o)
        return SAFECAM_ERR_NOMEM;
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return SAFECAM_ERR_NOMEM;
    rc = safecam_file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return rc;
}

static int last_write(const char *state_dir, const char *state, enum update_reason reason,
                      const struct update_manifest *m, char slot, uint64_t received, uint64_t total)
{
    return last_write_raw(state_dir, state, reason == UPDATE_OK ? NULL : update_reason_name(reason),
                          m ? m->version : NULL, slot, received, total);
}

int update_last_result_read(const char *state_dir, char **json_out)
{
    char path[PATH_MAX];
    size_t len = 0;
    if (!state_dir || !json_out)
        return SAFECAM_ERR_INVAL;
    *json_out = NULL;
    int rc = safecam_path_join(path, sizeof path, state_dir, UPDATE_LAST_JSON);
    if (rc != 0)
        return rc;
    rc = safecam_file_read(path, LAST_MAX_BYTES, json_out, &len);
    if (rc != 0 && errno == ENOENT) {
        const char *idle = "{\"reason\":null,\"received\":0,\"slot\":null,\"state\":\"idle\",\"time\":0,"
                           "\"total\":0,\"version\":null}";
        *json_out = strdup(idle);
        rc = *json_out ? 0 : SAFECAM_ERR_NOMEM;
    }
    return rc;
}

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

int update_device_model(const char *state_dir, char *out, size_t out_size)
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    int rc = safecam_path_join(path, sizeof path, state_dir, "factory/device.json");
    if (rc != 0)
        return rc;
    rc = safecam_file_read(path, DEVICE_JSON_MAX_BYTES, &data, &len);
    if (rc != 0)
        return SAFECAM_ERR_NOTFOUND;
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *m = json_object_get(root, "model");
    rc = SAFECAM_ERR_NOTFOUND;
    if (json_is_string(m) && update_name_valid(json_string_value(m)))
        rc = safecam_strlcpy(out, json_string_value(m), out_size);
    json_decref(root);
    free(data);
    return rc;
}

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
    rc = lock_open(state_dir, 0, &s->lock_fd);
    if (rc != 0)
        goto out; /* SAFECAM_ERR_STATE: another session runs */
    rc = state_load(state_dir, &s->st);
    if (rc != 0)
        goto out;
    if (s->st.trying) {
        rc = SAFECAM_ERR_STATE; /* a new slot still awaits its health check */
        goto out;
    }
    s->slot = slot_other(s->st.active);
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
    const struct update_slot_info *act = &s->st.slots[slot_index(s->st.active)];
    if (act->security_version > vo.min_security_version)
        vo.min_security_version = act->security_version;
    rc = update_verifier_new(s->trust, &vo, &s->v);
    if (rc != 0)
        goto out;
    if (last_write(state_dir, "receiving", UPDATE_OK, NULL, s->slot, 0, 0) != 0)
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
    emit(s->event, s->event_ctx, "update_refused", detail);
    if (last_write(s->state_dir, "failed", r, m, s->slot, rx, total) != 0)
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
    int si = slot_index(s->slot);

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
    if (rc != 0 || (rc = fsync_path(s->staging)) != 0)
        return rc;
    if ((rc = safecam_path_join(slots_dir, sizeof slots_dir, s->state_dir, UPDATE_DIR_SLOTS)) != 0)
        return rc;
    /* 1. the old inactive image stops being a candidate before its files change */
    if (s->st.slots[si].valid) {
        memset(&s->st.slots[si], 0, sizeof s->st.slots[si]);
        if ((rc = state_write(s->state_dir, &s->st)) != 0)
            return rc;
    }
    /* 2. the staged tree takes its place */
    if ((rc = safecam_path_remove(s->slot_dir)) != 0)
        return rc;
    if (rename(s->staging, s->slot_dir) != 0)
        return SAFECAM_ERR_IO;
    if ((rc = fsync_path(slots_dir)) != 0)
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
    return state_write(s->state_dir, &s->st);
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
    emit(s->event, s->event_ctx, "update_install", detail);
    if (last_write(s->state_dir, "pending_reboot", UPDATE_OK, m, s->slot, rx, total) != 0)
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
    lock_close(s->lock_fd);
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
