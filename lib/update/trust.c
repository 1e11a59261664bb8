/* trust.c — the update trust store: vendor Ed25519 public keys (key rotation) and revocations.
 * Trust level: reads factory-installed .pub files (written by safecam-provision) and the device's own
 * state file; a malformed key file is skipped, never half-trusted. QCVN 135 G3 / EN 303 645 5.3-10. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safecam/update.h"
#include "update_internal.h"

#define PUBKEY_FORMAT "safecam-update-pubkey"
#define PUBKEY_COMMENT_MAX 128u

struct trust_key {
    unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
    char id[UPDATE_KEY_ID_HEX_BYTES];
};

struct update_trust {
    unsigned n_keys;
    struct trust_key keys[UPDATE_KEYS_MAX];
    unsigned n_revoked;
    char revoked[UPDATE_REVOKED_MAX][UPDATE_KEY_ID_HEX_BYTES];
};

int update_trust_new(update_trust **out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : SAFECAM_ERR_NOMEM;
}

void update_trust_free(update_trust *t)
{
    free(t);
}

static int is_revoked(const update_trust *t, const char *id)
{
    for (unsigned i = 0; i < t->n_revoked; i++)
        if (strcmp(t->revoked[i], id) == 0)
            return 1;
    return 0;
}

int update_trust_add(update_trust *t, const unsigned char pk[UPDATE_PUBLIC_KEY_BYTES])
{
    if (!t || !pk)
        return SAFECAM_ERR_INVAL;
    char id[UPDATE_KEY_ID_HEX_BYTES];
    update_key_id(pk, id);
    for (unsigned i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].id, id) == 0)
            return 0;
    if (t->n_keys >= UPDATE_KEYS_MAX)
        return SAFECAM_ERR_TOOBIG;
    memcpy(t->keys[t->n_keys].pk, pk, UPDATE_PUBLIC_KEY_BYTES);
    memcpy(t->keys[t->n_keys].id, id, sizeof id);
    t->n_keys++;
    return 0;
}

int update_trust_revoke(update_trust *t, const char *key_id_hex)
{
    if (!t || !update_key_id_valid(key_id_hex))
        return SAFECAM_ERR_INVAL;
    if (is_revoked(t, key_id_hex))
        return 0;
    if (t->n_revoked >= UPDATE_REVOKED_MAX)
        return SAFECAM_ERR_TOOBIG;
    memcpy(t->revoked[t->n_revoked++], key_id_hex, UPDATE_KEY_ID_HEX_BYTES);
    return 0;
}

unsigned update_trust_count(const update_trust *t)
{
    unsigned n = 0;
    for (unsigned i = 0; t && i < t->n_keys; i++)
        if (!is_revoked(t, t->keys[i].id))
            n++;
    return n;
}

const unsigned char *update_trust_lookup(const update_trust *t, const char *key_id_hex)
{
    if (!t || !key_id_hex || is_revoked(t, key_id_hex))
        return NULL;
    for (unsigned i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].id, key_id_hex) == 0)
            return t->keys[i].pk;
    return NULL;
}

/* ---------------------------------------------------------------- .pub files */

int update_pubkey_read(const char *path, unsigned char pk[UPDATE_PUBLIC_KEY_BYTES], int *demo_out)
{
    static const char *const allowed[] = {"format", "version", "key_id", "public_key", "comment", "demo"};
    char *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    int rc;

    if (!path || !pk)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    rc = safecam_file_read(path, UPDATE_PUBFILE_MAX_BYTES, &data, &len);
    if (rc != 0)
        return rc;
    rc = SAFECAM_ERR_INVAL;
    if (!safecam_utf8_valid(data, len))
        goto out;
    json_error_t jerr;
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root))
        goto out;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        int ok = 0;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(allowed); i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            goto out;
    }
    const json_t *fmt = json_object_get(root, "format");
    const json_t *ver = json_object_get(root, "version");
    const json_t *kid = json_object_get(root, "key_id");
    const json_t *pub = json_object_get(root, "public_key");
    const json_t *comment = json_object_get(root, "comment");
    const json_t *demo = json_object_get(root, "demo");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), PUBKEY_FORMAT) != 0)
        goto out;
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        goto out;
    if (!json_is_string(kid) || !json_is_string(pub))
        goto out;
    if (comment && (!json_is_string(comment) || json_string_length(comment) > PUBKEY_COMMENT_MAX))
        goto out;
    if (demo && !json_is_boolean(demo))
        goto out;
    const char *b64 = json_string_value(pub);
    size_t b64_len = json_string_length(pub);
    size_t bin_len = 0;
    unsigned char tmp[UPDATE_PUBLIC_KEY_BYTES + 1];
    if (b64_len > 64 || sodium_base642bin(tmp, sizeof tmp, b64, b64_len, NULL, &bin_len, NULL,
                                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != UPDATE_PUBLIC_KEY_BYTES)
        goto out;
    char id[UPDATE_KEY_ID_HEX_BYTES];
    update_key_id(tmp, id);
    if (strcmp(id, json_string_value(kid)) != 0)
        goto out;
    memcpy(pk, tmp, UPDATE_PUBLIC_KEY_BYTES);
    if (demo_out)
        *demo_out = demo ? json_is_true(demo) : 0;
    rc = 0;
out:
    json_decref(root);
    free(data);
    return rc;
}

int update_pubkey_write(const char *path, const unsigned char pk[UPDATE_PUBLIC_KEY_BYTES], const char *comment,
                        int demo)
{
    char b64[sodium_base64_ENCODED_LEN(UPDATE_PUBLIC_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char id[UPDATE_KEY_ID_HEX_BYTES];
    if (!path || !pk)
        return SAFECAM_ERR_INVAL;
    if (comment && (strlen(comment) > PUBKEY_COMMENT_MAX || !safecam_utf8_valid(comment, strlen(comment))))
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    sodium_bin2base64(b64, sizeof b64, pk, UPDATE_PUBLIC_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
    update_key_id(pk, id);
    json_t *root = json_pack("{s:s,s:i,s:s,s:s}", "format", PUBKEY_FORMAT, "version", 1, "key_id", id,
                             "public_key", b64);
    if (!root)
        return SAFECAM_ERR_NOMEM;
    if (comment)
        json_object_set_new(root, "comment", json_string(comment));
    if (demo)
        json_object_set_new(root, "demo", json_true());
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return SAFECAM_ERR_NOMEM;
    size_t n = strlen(text);
    char *withnl = malloc(n + 2);
    int rc = SAFECAM_ERR_NOMEM;
    if (withnl) {
        memcpy(withnl, text, n);
        withnl[n] = '\n';
        rc = safecam_file_write_atomic(path, withnl, n + 1, 0644);
        free(withnl);
    }
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- device trust store */

int update_trust_load(const char *state_dir, update_trust **out)
{
    char dir[PATH_MAX];
    update_trust *t = NULL;
    DIR *d = NULL;
    int rc;

    if (!state_dir || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    rc = safecam_path_join(dir, sizeof dir, state_dir, UPDATE_DIR_KEYS);
    if (rc != 0)
        return rc;
    rc = update_trust_new(&t);
    if (rc != 0)
        return rc;
    d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0 || !update_name_valid(e->d_name))
                continue;
            char path[PATH_MAX];
            unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
            int demo = 0;
            if (safecam_path_join(path, sizeof path, dir, e->d_name) != 0)
                continue;
            if (update_pubkey_read(path, pk, &demo) != 0) {
                log_warn("update: ignoring malformed trusted key file %s", e->d_name);
                continue;
            }
            if (demo)
                log_warn("update: trusting a DEMO update key (%s): not for production devices", e->d_name);
            if (update_trust_add(t, pk) != 0) {
                log_warn("update: too many trusted keys, ignoring %s", e->d_name);
                continue;
            }
        }
        closedir(d);
    } else if (errno != ENOENT) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }

    struct update_status *st = malloc(sizeof *st);
    if (!st) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    rc = update_state_read(state_dir, st);
    if (rc == 0) {
        for (unsigned i = 0; i < st->n_revoked && rc == 0; i++)
            rc = update_trust_revoke(t, st->revoked[i]);
    } else if (rc == SAFECAM_ERR_NOTFOUND) {
        rc = 0;
    }
    free(st);
    if (rc != 0)
        goto out;
    *out = t;
    t = NULL;
out:
    update_trust_free(t);
    return rc;
}

int update_trust_key_install(const char *state_dir, const char *pub_path)
{
    unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
    char dir[PATH_MAX], name[UPDATE_KEY_ID_HEX_BYTES + 8], dst[PATH_MAX], id[UPDATE_KEY_ID_HEX_BYTES];
    int demo = 0;
    char *comment = NULL;
    int rc;

    if (!state_dir || !pub_path)
        return SAFECAM_ERR_INVAL;
    rc = update_pubkey_read(pub_path, pk, &demo);
    if (rc != 0)
        return rc == SAFECAM_ERR_TOOBIG ? SAFECAM_ERR_INVAL : rc;
    update_key_id(pk, id);

    struct update_status *st = malloc(sizeof *st);
    if (!st)
        return SAFECAM_ERR_NOMEM;
    rc = update_state_read(state_dir, st);
    if (rc == 0) {
        for (unsigned i = 0; i < st->n_revoked; i++)
            if (strcmp(st->revoked[i], id) == 0)
                rc = SAFECAM_ERR_DENIED;
    } else if (rc == SAFECAM_ERR_NOTFOUND) {
        rc = 0;
    }
    free(st);
    if (rc != 0)
        return rc;

    if ((rc = safecam_path_join(dir, sizeof dir, state_dir, UPDATE_DIR_KEYS)) != 0 ||
        (rc = safecam_mkdir_p(dir, 0755)) != 0 || (rc = safecam_fmt(name, sizeof name, "%s.pub", id)) != 0 ||
        (rc = safecam_path_join(dst, sizeof dst, dir, name)) != 0)
        return rc;
    /* Re-write canonically (never copy the caller's bytes verbatim); keep the demo marking. */
    rc = update_pubkey_write(dst, pk, demo ? "DEMO KEY - not for production" : comment, demo);
    return rc;
}
