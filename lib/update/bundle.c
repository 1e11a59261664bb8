/* bundle.c — update bundle format: strict manifest parser, streaming signature/hash verifier, writer.
 * Trust level: parses untrusted bytes from uploads and downloads; believes nothing before the Ed25519
 * signature over header||manifest verifies against a trusted key. QCVN 135 G3 / EN 303 645 5.3-2. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/update.h"
#include "update_internal.h"

static const char *const reason_names[] = {
    [UPDATE_OK] = "ok",
    [UPDATE_BAD_SIGNATURE] = "bad_signature",
    [UPDATE_UNTRUSTED_KEY] = "untrusted_key",
    [UPDATE_WRONG_MODEL] = "wrong_model",
    [UPDATE_ROLLBACK] = "rollback",
    [UPDATE_HASH_MISMATCH] = "hash_mismatch",
    [UPDATE_TRUNCATED] = "truncated",
    [UPDATE_TOO_LARGE] = "too_large",
    [UPDATE_MALFORMED_MANIFEST] = "malformed_manifest",
    [UPDATE_MALFORMED_BUNDLE] = "malformed_bundle",
    [UPDATE_IO] = "io",
    [UPDATE_NO_SPACE] = "no_space",
    [UPDATE_BUSY] = "busy",
    [UPDATE_INTERNAL] = "internal",
};

const char *update_reason_name(enum update_reason r)
{
    if ((unsigned)r >= SAFECAM_ARRAY_LEN(reason_names) || !reason_names[r])
        return "internal";
    return reason_names[r];
}

int update_reason_err(enum update_reason r)
{
    switch (r) {
    case UPDATE_OK: return 0;
    case UPDATE_BAD_SIGNATURE:
    case UPDATE_HASH_MISMATCH: return SAFECAM_ERR_CRYPTO;
    case UPDATE_UNTRUSTED_KEY:
    case UPDATE_WRONG_MODEL:
    case UPDATE_ROLLBACK: return SAFECAM_ERR_DENIED;
    case UPDATE_TOO_LARGE: return SAFECAM_ERR_TOOBIG;
    case UPDATE_TRUNCATED:
    case UPDATE_MALFORMED_MANIFEST:
    case UPDATE_MALFORMED_BUNDLE: return SAFECAM_ERR_INVAL;
    case UPDATE_IO:
    case UPDATE_NO_SPACE: return SAFECAM_ERR_IO;
    case UPDATE_BUSY: return SAFECAM_ERR_STATE;
    case UPDATE_INTERNAL: return SAFECAM_ERR_INTERNAL;
    }
    return SAFECAM_ERR_INTERNAL;
}

int update_reason_http_status(enum update_reason r)
{
    switch (r) {
    case UPDATE_OK: return 202;
    case UPDATE_TOO_LARGE: return 413;
    case UPDATE_BUSY: return 409;
    case UPDATE_NO_SPACE: return 507;
    case UPDATE_IO:
    case UPDATE_INTERNAL: return 500;
    default: return 422;
    }
}

/* ---------------------------------------------------------------- field rules */

int update_name_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, UPDATE_NAME_MAX + 1);
    if (n == 0 || n > UPDATE_NAME_MAX)
        return 0;
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* One numeric version component: 1..9 digits, no leading zero. Advances *p. */
static int version_number(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
        return 0;
    *p = s + n;
    return 1;
}

int update_version_valid(const char *s)
{
    if (!s || strnlen(s, UPDATE_VERSION_MAX + 1) > UPDATE_VERSION_MAX)
        return 0;
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        if (!version_number(&p))
            return 0;
        if (i < 2) {
            if (*p != '.')
                return 0;
            p++;
        }
    }
    if (*p == '\0')
        return 1;
    if (*p != '-')
        return 0;
    p++;
    size_t n = 0;
    for (; p[n]; n++) {
        unsigned char c = (unsigned char)p[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-'))
            return 0;
    }
    return n >= 1 && n <= 32;
}

int update_hex_decode(const char *hex, unsigned char *out, size_t out_len)
{
    if (!hex || strnlen(hex, out_len * 2 + 1) != out_len * 2)
        return SAFECAM_ERR_INVAL;
    for (size_t i = 0; i < out_len * 2; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) /* lower-case only: one spelling */
            return SAFECAM_ERR_INVAL;
    }
    size_t bin_len = 0;
    if (sodium_hex2bin(out, out_len, hex, out_len * 2, NULL, &bin_len, NULL) != 0 || bin_len != out_len)
        return SAFECAM_ERR_INVAL;
    return 0;
}

void update_key_id(const unsigned char pk[UPDATE_PUBLIC_KEY_BYTES], char out[UPDATE_KEY_ID_HEX_BYTES])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, pk, UPDATE_PUBLIC_KEY_BYTES);
    sodium_bin2hex(out, UPDATE_KEY_ID_HEX_BYTES, h, UPDATE_KEY_ID_BYTES);
}

int update_key_id_valid(const char *s)
{
    unsigned char bin[UPDATE_KEY_ID_BYTES];
    return update_hex_decode(s, bin, sizeof bin) == 0;
}

/* ---------------------------------------------------------------- manifest */

static int json_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v))
        return SAFECAM_ERR_INVAL;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return SAFECAM_ERR_INVAL;
    *out = (uint64_t)i;
    return 0;
}

static int json_str(const json_t *v, char *out, size_t out_size)
{
    if (!json_is_string(v))
        return SAFECAM_ERR_INVAL;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= out_size || strlen(s) != n) /* no embedded NUL */
        return SAFECAM_ERR_INVAL;
    memcpy(out, s, n + 1);
    return 0;
}

/* Refuse any key of obj not in allowed[]. */
static int json_keys_only(const json_t *obj, const char *const *allowed, size_t n_allowed)
{
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        int ok = 0;
        for (size_t i = 0; i < n_allowed; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            return SAFECAM_ERR_INVAL;
    }
    return 0;
}

static int parse_payload(const json_t *o, struct update_payload *p)
{
    static const char *const keys[] = {"name", "size", "sha256"};
    char hex[65];
    uint64_t size;
    if (!json_is_object(o) || json_object_size(o) != 3 || json_keys_only(o, keys, 3) != 0)
        return SAFECAM_ERR_INVAL;
    if (json_str(json_object_get(o, "name"), p->name, sizeof p->name) != 0 || !update_name_valid(p->name))
        return SAFECAM_ERR_INVAL;
    /* reserved: the slot keeps the manifest and the signed head under these names */
    if (strcmp(p->name, "manifest.json") == 0 || strcmp(p->name, UPDATE_SLOT_HEAD) == 0)
        return SAFECAM_ERR_INVAL;
    if (json_uint(json_object_get(o, "size"), UPDATE_PAYLOAD_MAX_BYTES, &size) != 0)
        return SAFECAM_ERR_INVAL;
    p->size = size;
    if (json_str(json_object_get(o, "sha256"), hex, sizeof hex) != 0 ||
        update_hex_decode(hex, p->sha256, sizeof p->sha256) != 0)
        return SAFECAM_ERR_INVAL;
    return 0;
}

int update_manifest_parse(const char *json, size_t len, struct update_manifest *out)
{
    static const char *const keys[] = {"format", "models", "version", "security_version", "build_time",
                                       "key_id", "payloads", "revoke_key_ids"};
    json_t *root = NULL;
    int rc = SAFECAM_ERR_INVAL;
    uint64_t u;

    if (!json || !out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return SAFECAM_ERR_INVAL;
    if (len > UPDATE_MANIFEST_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    if (!safecam_utf8_valid(json, len))
        return SAFECAM_ERR_INVAL;
    json_error_t jerr;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root))
        goto out;
    if (json_keys_only(root, keys, SAFECAM_ARRAY_LEN(keys)) != 0)
        goto out;

    if (json_uint(json_object_get(root, "format"), UINT32_MAX, &u) != 0 || u != UPDATE_FORMAT_VERSION)
        goto out;
    out->format = (unsigned)u;

    const json_t *models = json_object_get(root, "models");
    if (!json_is_array(models) || json_array_size(models) < 1 || json_array_size(models) > UPDATE_MODELS_MAX)
        goto out;
    out->n_models = (unsigned)json_array_size(models);
    for (unsigned i = 0; i < out->n_models; i++) {
        if (json_str(json_array_get(models, i), out->models[i], sizeof out->models[i]) != 0 ||
            !update_name_valid(out->models[i]))
            goto out;
    }

    if (json_str(json_object_get(root, "version"), out->version, sizeof out->version) != 0 ||
        !update_version_valid(out->version))
        goto out;
    if (json_uint(json_object_get(root, "security_version"), UINT32_MAX, &u) != 0)
        goto out;
    out->security_version = (uint32_t)u;
    if (json_uint(json_object_get(root, "build_time"), (uint64_t)1 << 40, &u) != 0)
        goto out;
    out->build_time = (int64_t)u;
    if (json_str(json_object_get(root, "key_id"), out->key_id, sizeof out->key_id) != 0 ||
        !update_key_id_valid(out->key_id))
        goto out;

    const json_t *payloads = json_object_get(root, "payloads");
    if (!json_is_array(payloads) || json_array_size(payloads) < 1 ||
        json_array_size(payloads) > UPDATE_PAYLOADS_MAX)
        goto out;
    out->n_payloads = (unsigned)json_array_size(payloads);
    for (unsigned i = 0; i < out->n_payloads; i++) {
        if (parse_payload(json_array_get(payloads, i), &out->payloads[i]) != 0)
            goto out;
        for (unsigned j = 0; j < i; j++)
            if (strcmp(out->payloads[i].name, out->payloads[j].name) == 0)
                goto out;
        out->payload_total += out->payloads[i].size; /* <= 8 * 4 GiB: no overflow */
    }

    const json_t *revoke = json_object_get(root, "revoke_key_ids");
    if (revoke) {
        if (!json_is_array(revoke) || json_array_size(revoke) > UPDATE_REVOKE_MAX)
            goto out;
        out->n_revoke = (unsigned)json_array_size(revoke);
        for (unsigned i = 0; i < out->n_revoke; i++) {
            if (json_str(json_array_get(revoke, i), out->revoke[i], sizeof out->revoke[i]) != 0 ||
                !update_key_id_valid(out->revoke[i]) || strcmp(out->revoke[i], out->key_id) == 0)
                goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---------------------------------------------------------------- header */

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int update_header_parse(const unsigned char hdr[UPDATE_HEADER_BYTES], uint32_t *manifest_len,
                        char key_id_hex[UPDATE_KEY_ID_HEX_BYTES])
{
    if (memcmp(hdr, UPDATE_MAGIC, UPDATE_MAGIC_BYTES) != 0)
        return SAFECAM_ERR_INVAL;
    unsigned format = ((unsigned)hdr[8] << 8) | hdr[9];
    unsigned flags = ((unsigned)hdr[10] << 8) | hdr[11];
    if (format != UPDATE_FORMAT_VERSION || flags != 0)
        return SAFECAM_ERR_INVAL;
    uint32_t mlen = be32(hdr + 12);
    if (mlen == 0)
        return SAFECAM_ERR_INVAL;
    if (mlen > UPDATE_MANIFEST_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    *manifest_len = mlen;
    if (key_id_hex)
        sodium_bin2hex(key_id_hex, UPDATE_KEY_ID_HEX_BYTES, hdr + 16, UPDATE_KEY_ID_BYTES);
    return 0;
}

/* ---------------------------------------------------------------- streaming verifier */

enum vstage { V_HEAD, V_MANIFEST, V_SIG, V_PAYLOAD, V_DONE, V_FAILED };

struct update_verifier {
    const update_trust *trust;
    struct update_verify_opts opts;
    enum vstage stage;
    enum update_reason reason;
    /* header + manifest + signature: the only buffered bytes */
    unsigned char head[UPDATE_HEADER_BYTES];
    size_t head_have;
    uint32_t manifest_len;
    char *manifest;        /* manifest_len + 1 bytes */
    size_t manifest_have;
    unsigned char sig[UPDATE_SIG_BYTES];
    size_t sig_have;
    struct update_manifest m;
    int verified;
    unsigned cur;          /* payload index */
    uint64_t cur_have;     /* bytes of payload cur seen */
    int cur_begun;
    crypto_hash_sha256_state hs;
    uint64_t received;
    uint64_t total;
};

static int vfail(update_verifier *v, enum update_reason r)
{
    if (v->stage != V_FAILED) {
        v->stage = V_FAILED;
        v->reason = r;
    }
    return update_reason_err(v->reason);
}

int update_verifier_new(const update_trust *trust, const struct update_verify_opts *opts, update_verifier **out)
{
    if (!trust || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    update_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return SAFECAM_ERR_NOMEM;
    v->trust = trust;
    if (opts)
        v->opts = *opts;
    if (v->opts.max_bundle_bytes == 0)
        v->opts.max_bundle_bytes = UPDATE_BUNDLE_MAX_BYTES_DEFAULT;
    v->stage = V_HEAD;
    *out = v;
    return 0;
}

void update_verifier_free(update_verifier *v)
{
    if (!v)
        return;
    free(v->manifest);
    sodium_memzero(v, sizeof *v);
    free(v);
}

enum update_reason update_verifier_reason(const update_verifier *v)
{
    return v ? v->reason : UPDATE_INTERNAL;
}

const struct update_manifest *update_verifier_manifest(const update_verifier *v)
{
    return (v && v->verified) ? &v->m : NULL;
}

const char *update_verifier_manifest_json(const update_verifier *v, size_t *len_out)
{
    if (!v || !v->verified)
        return NULL;
    if (len_out)
        *len_out = v->manifest_len;
    return v->manifest;
}

int update_verifier_head_write(const update_verifier *v, int fd)
{
    if (!v || !v->verified || fd < 0)
        return SAFECAM_ERR_INVAL;
    int rc = update_write_all(fd, v->head, sizeof v->head);
    if (rc == 0)
        rc = update_write_all(fd, v->manifest, v->manifest_len);
    if (rc == 0)
        rc = update_write_all(fd, v->sig, sizeof v->sig);
    return rc;
}

void update_verifier_progress(const update_verifier *v, uint64_t *received, uint64_t *total)
{
    if (received)
        *received = v ? v->received : 0;
    if (total)
        *total = v ? v->total : 0;
}

static int model_allowed(const struct update_manifest *m, const char *model)
{
    for (unsigned i = 0; i < m->n_models; i++)
        if (strcmp(m->models[i], model) == 0)
            return 1;
    return 0;
}

/* All of header, manifest and signature are in: decide about the bundle before any payload byte. */
static int verify_manifest(update_verifier *v)
{
    char key_id[UPDATE_KEY_ID_HEX_BYTES];
    sodium_bin2hex(key_id, sizeof key_id, v->head + 16, UPDATE_KEY_ID_BYTES);
    const unsigned char *pk = update_trust_lookup(v->trust, key_id);
    if (!pk)
        return vfail(v, UPDATE_UNTRUSTED_KEY);

    /* Signed message = header || manifest (contiguous copy, <= 64 KiB + 24). */
    size_t msg_len = UPDATE_HEADER_BYTES + v->manifest_len;
    unsigned char *msg = malloc(msg_len);
    if (!msg)
        return vfail(v, UPDATE_INTERNAL);
    memcpy(msg, v->head, UPDATE_HEADER_BYTES);
    memcpy(msg + UPDATE_HEADER_BYTES, v->manifest, v->manifest_len);
    int sig_ok = crypto_sign_verify_detached(v->sig, msg, msg_len, pk) == 0;
    free(msg);
    if (!sig_ok)
        return vfail(v, UPDATE_BAD_SIGNATURE);

    int rc = update_manifest_parse(v->manifest, v->manifest_len, &v->m);
    if (rc == SAFECAM_ERR_TOOBIG)
        return vfail(v, UPDATE_TOO_LARGE);
    if (rc != 0 || strcmp(v->m.key_id, key_id) != 0)
        return vfail(v, UPDATE_MALFORMED_MANIFEST);
    if (v->opts.model && !model_allowed(&v->m, v->opts.model))
        return vfail(v, UPDATE_WRONG_MODEL);
    if (v->m.security_version < v->opts.min_security_version)
        return vfail(v, UPDATE_ROLLBACK);
    uint64_t total = UPDATE_HEADER_BYTES + (uint64_t)v->manifest_len + UPDATE_SIG_BYTES + v->m.payload_total;
    if (total > v->opts.max_bundle_bytes)
        return vfail(v, UPDATE_TOO_LARGE);
    v->total = total;
    v->verified = 1;
    v->stage = V_PAYLOAD;
    v->cur = 0;
    v->cur_have = 0;
    v->cur_begun = 0;
    return 0;
}

static int payload_end(update_verifier *v)
{
    const struct update_payload *p = &v->m.payloads[v->cur];
    unsigned char h[crypto_hash_sha256_BYTES];
    enum update_reason r = UPDATE_IO;
    crypto_hash_sha256_final(&v->hs, h);
    if (sodium_memcmp(h, p->sha256, sizeof h) != 0)
        return vfail(v, UPDATE_HASH_MISMATCH);
    if (v->opts.sink.end && v->opts.sink.end(v->opts.sink.ctx, p, &r) != 0)
        return vfail(v, r == UPDATE_OK ? UPDATE_IO : r);
    v->cur++;
    v->cur_have = 0;
    v->cur_begun = 0;
    if (v->cur == v->m.n_payloads)
        v->stage = V_DONE;
    return 0;
}

static int payload_begin(update_verifier *v)
{
    enum update_reason r = UPDATE_IO;
    crypto_hash_sha256_init(&v->hs);
    v->cur_begun = 1;
    if (v->opts.sink.begin && v->opts.sink.begin(v->opts.sink.ctx, &v->m.payloads[v->cur], &r) != 0)
        return vfail(v, r == UPDATE_OK ? UPDATE_IO : r);
    return 0;
}

int update_verifier_feed(update_verifier *v, const void *data, size_t len)
{
    if (!v || (!data && len))
        return SAFECAM_ERR_INVAL;
    if (v->stage == V_FAILED)
        return update_reason_err(v->reason);
    const unsigned char *p = data;
    while (len > 0 || (v->stage == V_PAYLOAD && !v->cur_begun) ||
           (v->stage == V_PAYLOAD && v->cur_have == v->m.payloads[v->cur].size)) {
        size_t take = 0;
        switch (v->stage) {
        case V_HEAD:
            take = UPDATE_HEADER_BYTES - v->head_have;
            if (take > len)
                take = len;
            memcpy(v->head + v->head_have, p, take);
            v->head_have += take;
            if (v->head_have == UPDATE_HEADER_BYTES) {
                /* Counted before the header is judged: a refusal's audit says how much was read. */
                v->received += take;
                p += take;
                len -= take;
                int rc = update_header_parse(v->head, &v->manifest_len, NULL);
                if (rc == SAFECAM_ERR_TOOBIG)
                    return vfail(v, UPDATE_TOO_LARGE);
                if (rc != 0)
                    return vfail(v, UPDATE_MALFORMED_BUNDLE);
                v->manifest = malloc((size_t)v->manifest_len + 1);
                if (!v->manifest)
                    return vfail(v, UPDATE_INTERNAL);
                v->manifest[v->manifest_len] = '\0';
                v->stage = V_MANIFEST;
                continue;
            }
            break;
        case V_MANIFEST:
            take = v->manifest_len - v->manifest_have;
            if (take > len)
                take = len;
            memcpy(v->manifest + v->manifest_have, p, take);
            v->manifest_have += take;
            if (v->manifest_have == v->manifest_len)
                v->stage = V_SIG;
            break;
        case V_SIG:
            take = UPDATE_SIG_BYTES - v->sig_have;
            if (take > len)
                take = len;
            memcpy(v->sig + v->sig_have, p, take);
            v->sig_have += take;
            if (v->sig_have == UPDATE_SIG_BYTES) {
                v->received += take;
                p += take;
                len -= take;
                int rc = verify_manifest(v);
                if (rc != 0)
                    return rc;
                continue;
            }
            break;
        case V_PAYLOAD: {
            if (!v->cur_begun) {
                int rc = payload_begin(v);
                if (rc != 0)
                    return rc;
            }
            const struct update_payload *pl = &v->m.payloads[v->cur];
            uint64_t left = pl->size - v->cur_have;
            take = left < len ? (size_t)left : len;
            if (take > 0) {
                enum update_reason r = UPDATE_IO;
                crypto_hash_sha256_update(&v->hs, p, take);
                if (v->opts.sink.write && v->opts.sink.write(v->opts.sink.ctx, p, take, &r) != 0)
                    return vfail(v, r == UPDATE_OK ? UPDATE_IO : r);
                v->cur_have += take;
            }
            v->received += take;
            p += take;
            len -= take;
            if (v->cur_have == pl->size) {
                int rc = payload_end(v);
                if (rc != 0)
                    return rc;
            }
            continue;
        }
        case V_DONE:
            /* Bytes after the last payload: the signed manifest does not describe them. */
            return vfail(v, UPDATE_MALFORMED_BUNDLE);
        case V_FAILED:
            return update_reason_err(v->reason);
        }
        v->received += take;
        p += take;
        len -= take;
    }
    return 0;
}

int update_verifier_finish(update_verifier *v)
{
    if (!v)
        return SAFECAM_ERR_INVAL;
    if (v->stage == V_FAILED)
        return update_reason_err(v->reason);
    if (v->stage != V_DONE)
        return vfail(v, UPDATE_TRUNCATED);
    return 0;
}

/* ---------------------------------------------------------------- writer */

static int hash_file(const char *path, unsigned char out[32], uint64_t *size_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    struct stat st;
    unsigned char *buf = malloc(1 << 16);
    crypto_hash_sha256_state hs;
    uint64_t size = 0;
    if (!buf || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    crypto_hash_sha256_init(&hs);
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        crypto_hash_sha256_update(&hs, buf, (size_t)n);
        size += (uint64_t)n;
        if (size > UPDATE_PAYLOAD_MAX_BYTES) {
            rc = SAFECAM_ERR_TOOBIG;
            goto out;
        }
    }
    crypto_hash_sha256_final(&hs, out);
    *size_out = size;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int update_write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ENOSPC || errno == EDQUOT ? SAFECAM_ERR_TOOBIG : SAFECAM_ERR_IO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copy exactly size bytes of path to out_fd; the file must not have changed size since hashing. */
static int copy_file(const char *path, uint64_t size, int out_fd)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    unsigned char *buf = malloc(1 << 16);
    uint64_t done = 0;
    if (!buf)
        goto out;
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        done += (uint64_t)n;
        if (done > size)
            goto out;
        if (update_write_all(out_fd, buf, (size_t)n) != 0)
            goto out;
    }
    rc = done == size ? 0 : SAFECAM_ERR_IO;
out:
    free(buf);
    close(fd);
    return rc;
}

int update_bundle_write(const struct update_build_spec *spec, const unsigned char sk[UPDATE_SECRET_KEY_BYTES],
                        int out_fd)
{
    json_t *root = NULL;
    char *mjson = NULL;
    unsigned char *msg = NULL;
    int rc = SAFECAM_ERR_INVAL;
    uint64_t sizes[UPDATE_PAYLOADS_MAX];
    struct update_manifest check;

    if (!spec || !sk || out_fd < 0 || spec->n_payloads < 1 || spec->n_payloads > UPDATE_PAYLOADS_MAX ||
        spec->n_models < 1 || spec->n_models > UPDATE_MODELS_MAX || spec->n_revoke > UPDATE_REVOKE_MAX ||
        !spec->version || spec->build_time < 0)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;

    unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
    char key_id[UPDATE_KEY_ID_HEX_BYTES];
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    update_key_id(pk, key_id);

    root = json_object();
    json_t *models = json_array();
    json_t *payloads = json_array();
    if (!root || !models || !payloads) {
        json_decref(models);
        json_decref(payloads);
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    json_object_set_new(root, "format", json_integer(UPDATE_FORMAT_VERSION));
    json_object_set_new(root, "models", models);
    json_object_set_new(root, "payloads", payloads);
    for (unsigned i = 0; i < spec->n_models; i++)
        json_array_append_new(models, json_string(spec->models[i] ? spec->models[i] : ""));
    json_object_set_new(root, "version", json_string(spec->version));
    json_object_set_new(root, "security_version", json_integer((json_int_t)spec->security_version));
    json_object_set_new(root, "build_time", json_integer((json_int_t)spec->build_time));
    json_object_set_new(root, "key_id", json_string(key_id));
    for (unsigned i = 0; i < spec->n_payloads; i++) {
        unsigned char h[32];
        char hex[65];
        if (!spec->payloads[i].name || !spec->payloads[i].path || !update_name_valid(spec->payloads[i].name))
            goto out;
        rc = hash_file(spec->payloads[i].path, h, &sizes[i]);
        if (rc != 0)
            goto out;
        rc = SAFECAM_ERR_INVAL;
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        json_t *pl = json_pack("{s:s,s:I,s:s}", "name", spec->payloads[i].name, "size",
                               (json_int_t)sizes[i], "sha256", hex);
        if (!pl)
            goto out;
        json_array_append_new(payloads, pl);
    }
    if (spec->n_revoke > 0) {
        json_t *rv = json_array();
        if (!rv)
            goto out;
        json_object_set_new(root, "revoke_key_ids", rv);
        for (unsigned i = 0; i < spec->n_revoke; i++)
            json_array_append_new(rv, json_string(spec->revoke[i] ? spec->revoke[i] : ""));
    }
    mjson = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    if (!mjson) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    size_t mlen = strlen(mjson);
    rc = update_manifest_parse(mjson, mlen, &check); /* the writer obeys the reader's rules */
    if (rc != 0)
        goto out;

    msg = malloc(UPDATE_HEADER_BYTES + mlen);
    if (!msg) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    memcpy(msg, UPDATE_MAGIC, UPDATE_MAGIC_BYTES);
    msg[8] = 0;
    msg[9] = UPDATE_FORMAT_VERSION;
    msg[10] = 0;
    msg[11] = 0;
    put_be32(msg + 12, (uint32_t)mlen);
    unsigned char kid[UPDATE_KEY_ID_BYTES];
    rc = update_hex_decode(key_id, kid, sizeof kid);
    if (rc != 0)
        goto out;
    memcpy(msg + 16, kid, UPDATE_KEY_ID_BYTES);
    memcpy(msg + UPDATE_HEADER_BYTES, mjson, mlen);
    unsigned char sig[UPDATE_SIG_BYTES];
    if (crypto_sign_detached(sig, NULL, msg, UPDATE_HEADER_BYTES + mlen, sk) != 0) {
        rc = SAFECAM_ERR_INTERNAL;
        goto out;
    }
    rc = update_write_all(out_fd, msg, UPDATE_HEADER_BYTES + mlen);
    if (rc == 0)
        rc = update_write_all(out_fd, sig, sizeof sig);
    for (unsigned i = 0; rc == 0 && i < spec->n_payloads; i++)
        rc = copy_file(spec->payloads[i].path, sizes[i], out_fd);
    if (rc == SAFECAM_ERR_TOOBIG)
        rc = SAFECAM_ERR_IO;
out:
    json_decref(root);
    free(mjson);
    free(msg);
    return rc;
}
