/* slot_state.c — the `dir` install backend's state: the atomic state pointer (slots, boot-attempt counter,
 * anti-rollback floor), the update lock, the slot trees and their checks, the last install result and the
 * device model. The leaf of the slot files: slot_boot.c and slot_install.c build on it.
 * Trust level: writes only below the state dir (atomic writes); reads files this module wrote. QCVN 135 G3 / G8. */
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

int update_slot_index(char s)
{
    return s == 'A' ? 0 : s == 'B' ? 1 : -1;
}

char update_slot_other(char s)
{
    return s == 'A' ? 'B' : 'A';
}

void update_event_emit(update_event_fn ev, void *ctx, const char *type, const char *detail)
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
    if (update_slot_index(c) < 0)
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
    if (!out->slots[update_slot_index(out->active)].valid)
        goto out;
    if (out->trying && (out->trying == out->active || !out->slots[update_slot_index(out->trying)].valid))
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

int update_state_write(const char *state_dir, const struct update_status *st)
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
int update_state_load(const char *state_dir, struct update_status *st)
{
    int rc = update_state_read(state_dir, st);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        state_default(st);
        rc = update_state_write(state_dir, st);
    }
    return rc;
}

int update_slots_status(const char *state_dir, struct update_status *out)
{
    if (!state_dir || !out)
        return SAFECAM_ERR_INVAL;
    return update_state_load(state_dir, out);
}

/* ---------------------------------------------------------------- locking */

int update_lock_open(const char *state_dir, int blocking, int *fd_out)
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

void update_lock_close(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* ---------------------------------------------------------------- slot trees */

int update_slot_path(const char *state_dir, char slot, char *out, size_t out_size)
{
    if (!state_dir || update_slot_index(slot) < 0)
        return SAFECAM_ERR_INVAL;
    return safecam_fmt(out, out_size, "%s/%s/%c", state_dir, UPDATE_DIR_SLOTS, slot);
}


int update_fsync_path(const char *path)
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
int update_slot_check(const char *state_dir, char slot, int deep)
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
    if (!state_dir || update_slot_index(slot) < 0)
        return SAFECAM_ERR_INVAL;
    int rc = update_state_read(state_dir, &st);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        state_default(&st);
        rc = 0;
    }
    if (rc != 0)
        return rc;
    const struct update_slot_info *s = &st.slots[update_slot_index(slot)];
    if (!s->valid)
        return SAFECAM_ERR_NOTFOUND;
    if (s->factory)
        return 0;
    return update_slot_check(state_dir, slot, 1);
}

/* ---------------------------------------------------------------- last result */

int update_last_write_raw(const char *state_dir, const char *state, const char *reason, const char *version,
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

int update_last_write(const char *state_dir, const char *state, enum update_reason reason,
                      const struct update_manifest *m, char slot, uint64_t received, uint64_t total)
{
    return update_last_write_raw(state_dir, state, reason == UPDATE_OK ? NULL : update_reason_name(reason),
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

