/* factory.c — the device's TLS identity (made at provisioning, made again at factory reset) and the
 * factory reset itself: a crypto-erase back to the state the device left the factory in.
 * Trust level: runs in safecam-provision and in the supervisor with every child stopped; reads only
 * files of the factory area that safecam-provision wrote (parsed strictly all the same).
 * QCVN 135 G4 (keys unique per device, sealed at rest), G9 (full erase) / EN 303 645 5.4-1, 5.11-1. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/device.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"

#define CERT_VALIDITY_DAYS 3653 /* 10 years, leap days included */
#define INITIAL_ADMIN_MAX_BYTES 4096u

/* ---------------------------------------------------------------- TLS identity */

static void datum_wipe_free(gnutls_datum_t *d)
{
    if (d->data) {
        sodium_memzero(d->data, d->size);
        gnutls_free(d->data);
    }
    d->data = NULL;
    d->size = 0;
}

#define GT(call)                                                                                    \
    do {                                                                                            \
        int gr_ = (call);                                                                           \
        if (gr_ < 0) {                                                                              \
            log_err("TLS identity: %s failed: %s", #call, gnutls_strerror(gr_));                    \
            goto out;                                                                               \
        }                                                                                           \
    } while (0)

int device_tls_identity_create(const char *state_dir, const char *serial, const char *hostname,
                               const uint8_t storage_key[SEAL_KEY_BYTES])
{
    int rc = SAFECAM_ERR_INTERNAL;
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert_pem = {NULL, 0}, key_pem = {NULL, 0};
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char path[PATH_MAX];
    if (!state_dir || !serial || !*serial || !storage_key)
        return SAFECAM_ERR_INVAL;

    GT(gnutls_x509_privkey_init(&key));
    GT(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
    GT(gnutls_x509_crt_init(&crt));
    GT(gnutls_x509_crt_set_version(crt, 3));
    unsigned char cserial[16];
    randombytes_buf(cserial, sizeof cserial);
    cserial[0] = (unsigned char)((cserial[0] & 0x7f) | 0x40); /* positive, full 16 bytes (RFC 5280 4.1.2.2) */
    GT(gnutls_x509_crt_set_serial(crt, cserial, sizeof cserial));
    time_t now = (time_t)safecam_time_now();
    GT(gnutls_x509_crt_set_activation_time(crt, now - 300)); /* tolerate small clock skew */
    GT(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)CERT_VALIDITY_DAYS * 86400));
    GT(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, serial, (unsigned)strlen(serial)));
    GT(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, SAFECAM_PRODUCT_NAME,
                                     (unsigned)strlen(SAFECAM_PRODUCT_NAME)));
    GT(gnutls_x509_crt_set_key(crt, key));
    GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND));
    static const unsigned char ip4[4] = {127, 0, 0, 1};
    static const unsigned char ip6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip4, sizeof ip4, GNUTLS_FSAN_APPEND));
    GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip6, sizeof ip6, GNUTLS_FSAN_APPEND));
    if (hostname && *hostname && strcmp(hostname, "localhost") != 0)
        GT(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, hostname, (unsigned)strlen(hostname),
                                                GNUTLS_FSAN_APPEND));
    GT(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
    GT(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
    GT(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
    unsigned char kid[64];
    size_t kid_len = sizeof kid;
    GT(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid, &kid_len));
    GT(gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len));
    GT(gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len));
    GT(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));
    GT(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem));
    GT(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_pem));

    rc = seal_data_seal(storage_key, "tls.key", key_pem.data, key_pem.size, &sealed, &sealed_len);
    datum_wipe_free(&key_pem); /* the clear key leaves memory before anything touches the disk */
    if (rc != 0) {
        log_err("cannot seal the TLS key: %s", safecam_err_name(rc));
        goto out;
    }
    if ((rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_TLS_KEY_SEALED)) != 0 ||
        (rc = safecam_file_write_atomic(path, sealed, sealed_len, 0600)) != 0) {
        log_err("cannot write %s: %s", STATEDIR_TLS_KEY_SEALED, safecam_err_name(rc));
        goto out;
    }
    if ((rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_TLS_CERT)) != 0 ||
        (rc = safecam_file_write_atomic(path, cert_pem.data, cert_pem.size, 0600)) != 0) {
        log_err("cannot write %s: %s", STATEDIR_TLS_CERT, safecam_err_name(rc));
        goto out;
    }
    rc = 0;
out:
    datum_wipe_free(&key_pem);
    datum_wipe_free(&cert_pem);
    free(sealed);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (key)
        gnutls_x509_privkey_deinit(key);
    return rc;
}

/* ---------------------------------------------------------------- factory reset */

/* DIR/factory/initial_admin.json {"username","hash"}: strict. */
static int initial_admin_load(const char *state_dir, char *user, size_t user_size, char *hash, size_t hash_size)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_INITIAL_ADMIN);
    if (rc == 0)
        rc = safecam_file_read(path, INITIAL_ADMIN_MAX_BYTES, &text, &len);
    if (rc != 0)
        return SAFECAM_ERR_NOTFOUND;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    sodium_memzero(text, len);
    free(text);
    json_t *u = json_object_get(o, "username"), *h = json_object_get(o, "hash");
    rc = SAFECAM_ERR_INVAL;
    if (json_is_object(o) && json_object_size(o) == 2 && json_is_string(u) && json_is_string(h) &&
        vault_username_valid(json_string_value(u)) && strncmp(json_string_value(h), "$argon2id$", 10) == 0 &&
        safecam_strlcpy(user, json_string_value(u), user_size) == 0 &&
        safecam_strlcpy(hash, json_string_value(h), hash_size) == 0)
        rc = 0;
    json_decref(o);
    return rc;
}

/* Overwrite the old storage key in place with random bytes and flush it, so the key that sealed the
 * TLS key and every capture is gone from this file's blocks before the new key is written. */
static int storage_key_destroy(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : SAFECAM_ERR_IO;
    unsigned char junk[SEAL_KEY_BYTES];
    randombytes_buf(junk, sizeof junk);
    ssize_t n = pwrite(fd, junk, sizeof junk, 0);
    int rc = (n == (ssize_t)sizeof junk && fsync(fd) == 0) ? 0 : SAFECAM_ERR_IO;
    close(fd);
    return rc;
}

int vault_factory_reset_pending(const char *state_dir)
{
    char path[PATH_MAX];
    struct stat st;
    return state_dir && safecam_path_join(path, sizeof path, state_dir, STATEDIR_RESET_PENDING) == 0 &&
           lstat(path, &st) == 0;
}

int vault_factory_reset(const char *state_dir, const char *actor, const char *source)
{
    static const char *const user_data[] = {
        STATEDIR_CAPTURES, STATEDIR_RECORDINGS, STATEDIR_VAULT_DB, STATEDIR_VAULT_DB "-wal", STATEDIR_VAULT_DB "-shm",
        STATEDIR_VAULT_DB "-journal", STATEDIR_CONFIG, STATEDIR_CONFIG ".last-good", STATEDIR_AUDIT_DB,
        STATEDIR_AUDIT_DB "-wal", STATEDIR_AUDIT_DB "-shm", STATEDIR_AUDIT_DB "-journal",
        STATEDIR_VAULT_DIR "/linked.sealed", /* linked-service settings and passwords (linked.c) */
        STATEDIR_LINK, /* the link process's CA files and its list of what it uploaded (lib/link) */
    };
    struct device_identity id;
    char user[VAULT_USERNAME_MAX + 1], hash[VAULT_HASH_BYTES], path[PATH_MAX], host[256];
    uint8_t *key = NULL;
    int rc;
    if (!state_dir)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    /* Refusals first: without the identity and the initial password hash there is no factory state to
     * return to, and nothing is touched. */
    if ((rc = device_identity_load(state_dir, &id)) != 0)
        return rc;
    if ((rc = initial_admin_load(state_dir, user, sizeof user, hash, sizeof hash)) != 0)
        return rc;
    /* 1. the marker: a reset cut short (power loss) is finished at the next start */
    if ((rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_RESET_PENDING)) != 0 ||
        (rc = safecam_file_write_atomic(path, "1\n", 2, 0600)) != 0)
        goto out;
    /* 2. users, sessions, lockouts, settings, captures, recordings, the audit log, the linked services */
    for (size_t i = 0; i < sizeof user_data / sizeof user_data[0]; i++)
        if ((rc = safecam_path_join(path, sizeof path, state_dir, user_data[i])) != 0 ||
            (rc = safecam_path_remove(path)) != 0) {
            log_err("factory reset: cannot remove %s", user_data[i]);
            goto out;
        }
    /* 3. crypto-erase: the storage key that sealed the TLS key and the captures is destroyed */
    if ((rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_STORAGE_KEY)) != 0 ||
        (rc = storage_key_destroy(path)) != 0)
        goto out;
    key = sodium_malloc(SEAL_KEY_BYTES);
    if (!key) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    randombytes_buf(key, SEAL_KEY_BYTES);
    if ((rc = safecam_file_write_atomic(path, key, SEAL_KEY_BYTES, 0600)) != 0)
        goto out;
    /* 4. a new TLS key and certificate, sealed under the new key */
    memset(host, 0, sizeof host);
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    for (const char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.')) {
            host[0] = '\0';
            break;
        }
    if ((rc = device_tls_identity_create(state_dir, id.serial, host, key)) != 0)
        goto out;
    /* 5. the one admin account with the label's initial password, to be changed at first login */
    if ((rc = vault_store_provision(state_dir, user, hash, 1)) != 0)
        goto out;
    /* 6. a new audit log that starts with this reset */
    audit_log *log = NULL;
    if ((rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_AUDIT_DB)) != 0 ||
        (rc = audit_log_open(path, &log)) != 0)
        goto out;
    rc = audit_log_chain_enable(log, key, NULL, NULL); /* chained under the new key from its first row */
    if (rc == 0)
        rc = audit_event_record(log, AUDIT_FACTORY_RESET, actor && *actor ? actor : "system", source,
                            "erased: users, sessions, settings, linked services, captures, audit log; new storage key and TLS key");
    audit_log_close(log);
    if (rc != 0)
        goto out;
    /* 7. done */
    if ((rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_RESET_PENDING)) != 0)
        goto out;
    if (unlink(path) != 0 && errno != ENOENT)
        rc = SAFECAM_ERR_IO;
out:
    if (key)
        sodium_free(key);
    sodium_memzero(hash, sizeof hash);
    if (rc != 0)
        log_err("factory reset failed: %s", safecam_err_name(rc));
    return rc;
}
