/* device.c — load the device's public identity from DIR/factory/device.json (written by
 * safecam-provision). Linked by web, vault and the tools; holds no secret. The file is treated as untrusted input: size cap, duplicate keys refused,
 * key allowlist, every field typed, length-checked and matched against its character set. */
#include "safecam/device.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/statedir.h"

#define DEVICE_JSON_MAX_BYTES 4096u

static int charset_ok(const char *s, size_t min, size_t max, const char *extra, int lower_ok)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (lower_ok && c >= 'a' && c <= 'z')
            continue;
        if (c != '\0' && strchr(extra, c))
            continue;
        return 0;
    }
    return 1;
}

/* "aa:bb:cc:dd:ee:ff", lower-case hex, as written by safecam-provision. */
static int mac_ok(const char *s)
{
    if (strlen(s) != 17)
        return 0;
    for (size_t i = 0; i < 17; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i % 3 == 2) {
            if (c != ':')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

static int string_field(json_t *root, const char *name, char *dst, size_t dst_size)
{
    json_t *v = json_object_get(root, name);
    if (!json_is_string(v))
        return SAFECAM_ERR_INVAL;
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) /* embedded NUL */
        return SAFECAM_ERR_INVAL;
    return safecam_strlcpy(dst, s, dst_size) == 0 ? 0 : SAFECAM_ERR_INVAL;
}

int device_identity_load(const char *state_dir, struct device_identity *out)
{
    if (!state_dir || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    char path[4096];
    if (safecam_path_join(path, sizeof path, state_dir, STATEDIR_DEVICE_JSON) != 0)
        return SAFECAM_ERR_TOOBIG;
    char *data = NULL;
    size_t len = 0;
    int rc = safecam_file_read(path, DEVICE_JSON_MAX_BYTES, &data, &len);
    if (rc == SAFECAM_ERR_NOTFOUND)
        return rc;
    if (rc == SAFECAM_ERR_TOOBIG)
        return SAFECAM_ERR_INVAL;
    if (rc != 0)
        return rc;

    struct device_identity id;
    memset(&id, 0, sizeof id);
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    rc = SAFECAM_ERR_INVAL;
    if (!json_is_object(root))
        goto out;
    static const char *const allowed[] = {"serial", "model", "mac", "product", "provisioned_at"};
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        int known = 0;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(allowed); i++)
            if (strcmp(key, allowed[i]) == 0)
                known = 1;
        if (!known)
            goto out;
    }
    if (string_field(root, "serial", id.serial, sizeof id.serial) != 0 ||
        !charset_ok(id.serial, 4, 32, "-", 0))
        goto out;
    if (string_field(root, "model", id.model, sizeof id.model) != 0 ||
        !charset_ok(id.model, 1, 32, "._-", 1))
        goto out;
    if (string_field(root, "mac", id.mac, sizeof id.mac) != 0 || !mac_ok(id.mac))
        goto out;
    if (string_field(root, "product", id.product, sizeof id.product) != 0 ||
        !charset_ok(id.product, 1, sizeof id.product - 1, "._- ", 1))
        goto out;
    json_t *t = json_object_get(root, "provisioned_at");
    if (!json_is_integer(t) || json_integer_value(t) < 0)
        goto out;
    id.provisioned_at = (long long)json_integer_value(t);
    *out = id;
    rc = 0;
out:
    json_decref(root);
    free(data);
    return rc;
}
