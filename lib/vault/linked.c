/* linked.c — the linked-service settings (MQTT broker, WebDAV folder, the declared data location), kept by the
 * vault sealed under the storage key in DIR/vault/linked.sealed (seal.h, label "linked_settings"): the
 * passwords never lie in clear on the storage, and a factory reset (the storage key destroyed) leaves none
 * readable. Validated by lib/link (link_settings_validate) before anything is written; all or nothing.
 * Trust level: the settings come from an admin (the web process checked the session and role, the vault's
 * dispatcher checks them again). QCVN 135 G4, G7 / EN 303 645 5.4-1, 5.8-2. docs/linked-services.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "safecam/link.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"

#define LINKED_FILE "linked.sealed"
#define LINKED_LABEL "linked_settings"
#define LINKED_MAX (256 * 1024)

static int linked_path(const char *state_dir, char *out, size_t out_size)
{
    return safecam_fmt(out, out_size, "%s/%s/%s", state_dir, STATEDIR_VAULT_DIR, LINKED_FILE);
}

/* The stored settings (secrets included) into *out; {} when none are stored. */
static int linked_load(const char *state_dir, const uint8_t *key, json_t **out)
{
    char path[1024];
    if (!state_dir || !key || linked_path(state_dir, path, sizeof path) != 0)
        return SAFECAM_ERR_INVAL;
    char *sealed = NULL;
    size_t sealed_len = 0;
    int rc = safecam_file_read(path, LINKED_MAX + SEAL_OVERHEAD_BYTES, &sealed, &sealed_len);
    if (rc != 0) {
        if (access(path, F_OK) != 0 && errno == ENOENT) {
            *out = json_object();
            return *out ? 0 : SAFECAM_ERR_NOMEM;
        }
        return rc;
    }
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    rc = seal_data_open(key, LINKED_LABEL, (const uint8_t *)sealed, sealed_len, &pt, &pt_len);
    free(sealed);
    if (rc != 0)
        return rc;
    *out = json_loadb((const char *)pt, pt_len, JSON_REJECT_DUPLICATES, NULL);
    sodium_free(pt);
    return json_is_object(*out) ? 0 : SAFECAM_ERR_CRYPTO;
}

int vault_linked_get(const char *state_dir, const uint8_t *key, json_t **public_out)
{
    if (!public_out)
        return SAFECAM_ERR_INVAL;
    json_t *st = NULL;
    int rc = linked_load(state_dir, key, &st);
    if (rc != 0)
        return rc;
    json_t *out = json_pack("{s:s}", "data_location",
                            json_string_value(json_object_get(st, "data_location")) ?
                                json_string_value(json_object_get(st, "data_location")) : "unset");
    static const char *const svcs[] = {"mqtt", "webdav"};
    for (size_t i = 0; out && i < 2; i++) {
        const json_t *o = json_object_get(st, svcs[i]);
        if (!json_is_object(o))
            continue;
        json_t *copy = json_deep_copy(o);
        const json_t *pw = json_object_get(o, "password");
        json_object_del(copy, "password");
        json_object_set_new(copy, "password_set", json_boolean(json_is_string(pw) && json_string_length(pw) > 0));
        if (i == 1 && !json_object_get(copy, "upload")) /* the default, said rather than implied */
            json_object_set_new(copy, "upload", json_string("motion"));
        json_object_set_new(out, svcs[i], copy);
    }
    json_decref(st);
    *public_out = out;
    return out ? 0 : SAFECAM_ERR_NOMEM;
}

int vault_linked_set(const char *state_dir, const uint8_t *key, const json_t *in, char *field, size_t field_size)
{
    if (link_settings_validate(in, field, field_size) != 0)
        return SAFECAM_ERR_INVAL;
    json_t *st = NULL;
    int rc = linked_load(state_dir, key, &st);
    if (rc != 0)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        if (json_is_object(v) && json_object_size(v) == 0) { /* {} removes the service and its password */
            json_object_del(st, k);
            continue;
        }
        json_t *nv = json_deep_copy(v);
        const json_t *old = json_object_get(st, k);
        /* a service object replaces the stored one; a password left out keeps the stored password */
        if (json_is_object(nv) && json_is_object(old) && !json_object_get(nv, "password") &&
            json_is_string(json_object_get(old, "password")))
            json_object_set(nv, "password", json_object_get(old, "password"));
        json_object_set_new(st, k, nv);
    }
    char *txt = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(st);
    if (!txt)
        return SAFECAM_ERR_NOMEM;
    size_t len = strlen(txt);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    rc = len > LINKED_MAX ? SAFECAM_ERR_TOOBIG : seal_data_seal(key, LINKED_LABEL, (const uint8_t *)txt, len, &sealed, &sealed_len);
    sodium_memzero(txt, len);
    free(txt);
    if (rc != 0)
        return rc;
    char path[1024];
    rc = linked_path(state_dir, path, sizeof path);
    if (rc == 0)
        rc = safecam_file_write_atomic(path, sealed, sealed_len, 0600);
    free(sealed);
    return rc;
}

int vault_linked_full(const char *state_dir, const uint8_t *key, json_t **out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    return linked_load(state_dir, key, out);
}

int vault_linked_upload_mode(const json_t *full)
{
    const json_t *dav = json_object_get(full, "webdav");
    const char *mode = json_string_value(json_object_get(dav, "upload"));
    return !json_string_value(json_object_get(dav, "url")) ? -1
           : mode                                          ? link_upload_mode_parse(mode)
                                                           : LINK_UPLOAD_DEFAULT;
}

int vault_linked_configured(const json_t *full)
{
    const json_t *mq = json_object_get(full, "mqtt"), *dav = json_object_get(full, "webdav");
    return (json_is_string(json_object_get(mq, "url")) && json_is_string(json_object_get(mq, "topic"))) ||
           json_is_string(json_object_get(dav, "url"));
}
