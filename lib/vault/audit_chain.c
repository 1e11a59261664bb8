/* audit_chain.c — the vault's side of the tamper-evident audit log (docs/audit.md): it is the one writer of
 * audit.db's hash chain, keeps a MACed copy of the chain's head in vault.db (table audit_mark) so a rollback or
 * the deletion of audit.db is seen, verifies the chain at start (a broken chain is audited as log_tampered and
 * shown by GET /api/v1/events) and on request, and writes the signed export. Runs in the vault process only.
 * QCVN 135 G10 (integrity of the security log) / EN 303 645 5.5-x, 5.6-x. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "vault_internal.h"

#define EXPORT_TLS_FILE_MAX_BYTES (64u * 1024u)
#define AUDIT_INBOX_DRAIN_MAX 256u

/* vault.db keeps the last head the vault wrote (audit_head_saved_fn). */
static void mark_save(void *ctx, const struct audit_head *h)
{
    vault *v = ctx;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db,
                           "INSERT OR REPLACE INTO audit_mark(k, anchor_id, anchor_prev, head_id, head_hash, mac)"
                           " VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, h->anchor_id) != SQLITE_OK ||
        sqlite3_bind_blob(st, 2, h->anchor_prev, AUDIT_HASH_BYTES, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, h->head_id) != SQLITE_OK ||
        sqlite3_bind_blob(st, 4, h->head_hash, AUDIT_HASH_BYTES, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(st, 5, h->mac, AUDIT_MAC_BYTES, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        log_err("vault: cannot keep the audit head in vault.db: %s", sqlite3_errmsg(v->db));
    sqlite3_finalize(st);
}

static int blob32(sqlite3_stmt *st, int col, uint8_t *out)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || sqlite3_column_bytes(st, col) != 32)
        return -1;
    memcpy(out, sqlite3_column_blob(st, col), 32);
    return 0;
}

/* 1 with *h filled, 0 when vault.db has no mark (a fresh vault), -1 on a malformed row. */
static int mark_load(vault *v, struct audit_head *h)
{
    sqlite3_stmt *st = NULL;
    memset(h, 0, sizeof *h);
    if (sqlite3_prepare_v2(v->db,
                           "SELECT anchor_id, anchor_prev, head_id, head_hash, mac FROM audit_mark WHERE k = 1", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        h->anchor_id = sqlite3_column_int64(st, 0);
        h->head_id = sqlite3_column_int64(st, 2);
        found = blob32(st, 1, h->anchor_prev) == 0 && blob32(st, 3, h->head_hash) == 0 && blob32(st, 4, h->mac) == 0
                    ? 1
                    : -1;
    }
    sqlite3_finalize(st);
    return found;
}

int vault_audit_verify(vault *v, struct audit_verify_result *out)
{
    if (!v || !v->audit || !out)
        return SAFECAM_ERR_INVAL;
    struct audit_head mark;
    int m = mark_load(v, &mark);
    if (m < 0) { /* a damaged mark row: MAC check fails the same way */
        memset(&mark, 0, sizeof mark);
        mark.head_id = 1;
    }
    int64_t t0 = safecam_time_mono_ms();
    int rc = audit_log_verify(v->audit, m != 0 ? &mark : NULL, out);
    log_info("vault: audit chain walked in %lld ms: %s (%lld rows)", (long long)(safecam_time_mono_ms() - t0),
             rc != 0 ? "error" : out->intact ? "intact" : out->reason, (long long)out->events);
    if (rc == 0) {
        v->audit_status = *out;
        v->audit_checked = 1;
        v->audit_checked_at = safecam_time_now();
    }
    return rc;
}

int vault_audit_chain_start(vault *v, const uint8_t *storage_key)
{
    if (!v || !v->audit || !storage_key)
        return SAFECAM_ERR_INVAL;
    struct audit_head mark;
    int had_mark = mark_load(v, &mark) != 0;
    int rc = audit_log_chain_enable(v->audit, storage_key, mark_save, v);
    if (rc != 0) {
        log_err("vault: cannot start the audit chain: %s", safecam_err_name(rc));
        return rc;
    }
    struct audit_verify_result r;
    rc = vault_audit_verify(v, &r);
    if (rc != 0)
        return rc;
    struct audit_head now;
    if (r.intact && !had_mark && mark_load(v, &now) == 0 && r.head_id > 1) {
        /* a chain that was there before this start (not new, not migrated now, not the one row of a factory
         * reset) while vault.db has no copy of its head: the copy was removed (to hide a rollback) */
        r.intact = 0;
        r.first_bad_id = r.head_id;
        r.reason = "head_mismatch";
        v->audit_status = r;
    }
    if (!r.intact) {
        char detail[160];
        if (safecam_fmt(detail, sizeof detail,
                        "the audit chain does not verify: first broken link at id %lld (%s)%s",
                        (long long)r.first_bad_id, r.reason, had_mark ? "" : "; vault.db had no head") != 0)
            detail[0] = '\0';
        log_err("vault: %s", detail);
        vault_audit(v, AUDIT_LOG_TAMPERED, "vault", NULL, detail);
        /* the status stays the one found at start until the next verification */
    }
    if (audit_inbox_drain(v->audit, AUDIT_INBOX_DRAIN_MAX) < 0)
        log_warn("vault: the boot loader's audit inbox cannot be read");
    return 0;
}

json_t *vault_audit_status_json(const vault *v)
{
    if (!v || !v->audit_checked)
        return json_pack("{s:s}", "status", "unknown");
    json_t *o = vault_audit_result_json(&v->audit_status);
    if (o)
        json_object_set_new(o, "checked_at", json_integer((json_int_t)v->audit_checked_at));
    return o;
}

json_t *vault_audit_result_json(const struct audit_verify_result *r)
{
    if (r->intact) {
        char hex[AUDIT_HASH_BYTES * 2 + 1];
        sodium_bin2hex(hex, sizeof hex, r->head_hash, AUDIT_HASH_BYTES);
        return json_pack("{s:s, s:I, s:{s:I, s:s}}", "status", "intact", "events", (json_int_t)r->events, "head",
                         "id", (json_int_t)r->head_id, "hash", hex);
    }
    return json_pack("{s:s, s:I, s:s}", "status", "broken", "first_bad_id", (json_int_t)r->first_bad_id, "reason",
                     r->reason ? r->reason : "altered");
}

/* ---- the signed export ---- */

struct export_ctx {
    int fd;
    gnutls_hash_hd_t hash;
    uint64_t bytes;
    int failed;
};

static int export_write(struct export_ctx *e, const char *buf, size_t len)
{
    if (e->failed)
        return SAFECAM_ERR_IO;
    if (gnutls_hash(e->hash, buf, len) != 0) {
        e->failed = 1;
        return SAFECAM_ERR_CRYPTO;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(e->fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e->failed = 1;
            return SAFECAM_ERR_IO;
        }
        off += (size_t)n;
    }
    e->bytes += len;
    return 0;
}

/* One JSON line (compact, keys in insertion order) to the export and its digest. */
static int export_line(struct export_ctx *e, json_t *obj)
{
    if (!obj)
        return SAFECAM_ERR_NOMEM;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(obj);
    if (!s)
        return SAFECAM_ERR_NOMEM;
    int rc = export_write(e, s, strlen(s));
    if (rc == 0)
        rc = export_write(e, "\n", 1);
    free(s);
    return rc;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int export_row(void *ctx, int64_t id, int64_t time, const char *type, const char *actor, const char *source,
                      const char *detail, const char *hash_hex)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "id", json_integer(id)) != 0 ||
        json_object_set_new(o, "time", json_integer(time)) != 0 ||
        json_object_set_new(o, "type", str_or_null(type)) != 0 ||
        json_object_set_new(o, "actor", str_or_null(actor)) != 0 ||
        json_object_set_new(o, "source", str_or_null(source)) != 0 ||
        json_object_set_new(o, "detail", str_or_null(detail)) != 0 ||
        json_object_set_new(o, "hash", json_string(hash_hex)) != 0) {
        json_decref(o);
        return SAFECAM_ERR_NOMEM;
    }
    return export_line(ctx, o);
}

/* Unseal the device TLS key (factory/tls.key.sealed) into a gnutls private key; cert_pem gets the certificate. */
static int export_key_load(vault *v, const uint8_t *storage_key, gnutls_privkey_t *key, char **cert_pem)
{
    char path[4096];
    char *sealed = NULL;
    size_t sealed_len = 0, cert_len = 0, pem_len = 0;
    uint8_t *pem = NULL;
    *key = NULL;
    *cert_pem = NULL;
    int rc = safecam_path_join(path, sizeof path, v->state_dir, STATEDIR_TLS_CERT);
    if (rc == 0)
        rc = safecam_file_read(path, EXPORT_TLS_FILE_MAX_BYTES, cert_pem, &cert_len);
    if (rc == 0)
        rc = safecam_path_join(path, sizeof path, v->state_dir, STATEDIR_TLS_KEY_SEALED);
    if (rc == 0)
        rc = safecam_file_read(path, EXPORT_TLS_FILE_MAX_BYTES, &sealed, &sealed_len);
    if (rc == 0)
        rc = seal_data_open(storage_key, "tls.key", (const uint8_t *)sealed, sealed_len, &pem, &pem_len);
    free(sealed);
    if (rc == 0) {
        gnutls_datum_t d = {pem, (unsigned)pem_len};
        if (gnutls_privkey_init(key) != 0 ||
            gnutls_privkey_import_x509_raw(*key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) != 0)
            rc = SAFECAM_ERR_CRYPTO;
    }
    if (pem) {
        sodium_memzero(pem, pem_len);
        sodium_free(pem);
    }
    if (rc != 0) {
        if (*key)
            gnutls_privkey_deinit(*key);
        *key = NULL;
        free(*cert_pem);
        *cert_pem = NULL;
    }
    return rc;
}

int vault_audit_export(vault *v, const uint8_t *storage_key, int *fd_out, int64_t *size_out)
{
    if (!v || !v->audit || !storage_key || !fd_out || !size_out)
        return SAFECAM_ERR_INVAL;
    *fd_out = -1;
    *size_out = 0;
    int64_t t_start = safecam_time_mono_ms();
    gnutls_privkey_t key = NULL;
    char *cert = NULL;
    int rc = export_key_load(v, storage_key, &key, &cert);
    if (rc != 0) {
        log_err("vault: audit export: the device key cannot be used: %s", safecam_err_name(rc));
        return rc;
    }
    gnutls_sign_algorithm_t alg = GNUTLS_SIGN_UNKNOWN;
    const char *alg_name = NULL;
    switch (gnutls_privkey_get_pk_algorithm(key, NULL)) {
    case GNUTLS_PK_ECDSA:
        alg = GNUTLS_SIGN_ECDSA_SHA256;
        alg_name = "ecdsa-with-SHA256";
        break;
    case GNUTLS_PK_RSA:
        alg = GNUTLS_SIGN_RSA_SHA256;
        alg_name = "sha256WithRSAEncryption";
        break;
    default:
        break;
    }
    struct export_ctx e = {.fd = -1};
    gnutls_datum_t sig = {NULL, 0};
    if (!alg_name) {
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    struct audit_verify_result r;
    if ((rc = vault_audit_verify(v, &r)) != 0)
        goto out;
    e.fd = memfd_create("safecam-audit-export", MFD_CLOEXEC);
    if (e.fd < 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    if (gnutls_hash_init(&e.hash, GNUTLS_DIG_SHA256) != 0) {
        e.hash = NULL;
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    json_t *first = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "format", "safecam-audit-export-1", "serial",
                              v->have_device ? v->device.serial : "", "model", v->have_device ? v->device.model : "",
                              "exported_at", (json_int_t)safecam_time_now(), "link",
                              "BLAKE2b-256(prev || 'SCA1' || id:be64 || time:be64 || for type, actor, source, detail:"
                              " 0x00 if null else 0x01 || len:be32 || utf8)",
                              "verification", vault_audit_result_json(&r));
    if ((rc = export_line(&e, first)) != 0 || (rc = audit_log_rows(v->audit, export_row, &e)) != 0)
        goto out;
    uint8_t digest[32];
    gnutls_hash_deinit(e.hash, digest);
    e.hash = NULL;
    gnutls_datum_t dd = {digest, sizeof digest};
    if (gnutls_privkey_sign_hash2(key, alg, 0, &dd, &sig) != 0) {
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    char *b64 = malloc(sodium_base64_ENCODED_LEN(sig.size, sodium_base64_VARIANT_ORIGINAL));
    if (!b64) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(sig.size, sodium_base64_VARIANT_ORIGINAL), sig.data, sig.size,
                      sodium_base64_VARIANT_ORIGINAL);
    json_t *last = json_pack("{s:s, s:s, s:I, s:s}", "signature", b64, "algorithm", alg_name, "signed_bytes",
                             (json_int_t)e.bytes, "certificate", cert);
    free(b64);
    /* the signature line itself is not hashed (gnutls_hash is done): write it plainly */
    char *s = last ? json_dumps(last, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(last);
    if (!s) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    size_t n = strlen(s);
    rc = 0;
    for (size_t off = 0; rc == 0 && off < n;) {
        ssize_t w = write(e.fd, s + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = SAFECAM_ERR_IO;
        else
            off += (size_t)w;
    }
    if (rc == 0 && write(e.fd, "\n", 1) != 1)
        rc = SAFECAM_ERR_IO;
    free(s);
    if (rc != 0)
        goto out;
    *size_out = (int64_t)(e.bytes + n + 1);
    log_info("vault: audit export of %lld bytes signed in %lld ms", (long long)*size_out,
             (long long)(safecam_time_mono_ms() - t_start));
    *fd_out = e.fd;
    e.fd = -1;
out:
    if (e.hash)
        gnutls_hash_deinit(e.hash, NULL);
    if (e.fd >= 0)
        close(e.fd);
    gnutls_free(sig.data);
    gnutls_privkey_deinit(key);
    free(cert);
    return rc;
}
