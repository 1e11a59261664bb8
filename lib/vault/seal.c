/* seal.c — secrets at rest sealed under the device storage key (XChaCha20-Poly1305 IETF, libsodium).
 * Runs in the vault and in safecam-provision; sealed blobs read from disk are untrusted input.
 * QCVN 135 G4, G10 / EN 303 645 5.4-1.
 * Format: "SCS1" | nonce (24, random) | ciphertext+tag. Associated data = "SCS1" || label (label is
 * length-checked and contains no NUL), so a blob sealed for one purpose cannot be opened for another. */
#include "safecam/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/statedir.h"

#define SEAL_MAGIC "SCS1"
#define SEAL_MAGIC_BYTES 4u
#define SEAL_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_LABEL_MAX_BYTES 64u

_Static_assert(SEAL_OVERHEAD_BYTES == SEAL_MAGIC_BYTES + SEAL_NONCE_BYTES + SEAL_TAG_BYTES,
               "seal.h overhead must match libsodium");
_Static_assert(SEAL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

/* Build the associated data "SCS1" || label into ad (caller's buffer). */
static int seal_ad_build(const char *label, unsigned char ad[SEAL_MAGIC_BYTES + SEAL_LABEL_MAX_BYTES],
                         size_t *ad_len)
{
    if (!label)
        return SAFECAM_ERR_INVAL;
    size_t llen = strnlen(label, SEAL_LABEL_MAX_BYTES + 1);
    if (llen == 0 || llen > SEAL_LABEL_MAX_BYTES)
        return SAFECAM_ERR_INVAL;
    memcpy(ad, SEAL_MAGIC, SEAL_MAGIC_BYTES);
    memcpy(ad + SEAL_MAGIC_BYTES, label, llen);
    *ad_len = SEAL_MAGIC_BYTES + llen;
    return 0;
}

int seal_data_seal(const uint8_t key[SEAL_KEY_BYTES], const char *label, const uint8_t *pt, size_t len,
                   uint8_t **out, size_t *out_len)
{
    if (!out || !out_len)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    *out_len = 0;
    if (!key || (!pt && len))
        return SAFECAM_ERR_INVAL;
    if (len > SEAL_PLAINTEXT_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    unsigned char ad[SEAL_MAGIC_BYTES + SEAL_LABEL_MAX_BYTES];
    size_t ad_len = 0;
    int rc = seal_ad_build(label, ad, &ad_len);
    if (rc != 0)
        return rc;

    size_t total = len + SEAL_OVERHEAD_BYTES;
    uint8_t *buf = malloc(total);
    if (!buf)
        return SAFECAM_ERR_NOMEM;
    memcpy(buf, SEAL_MAGIC, SEAL_MAGIC_BYTES);
    uint8_t *nonce = buf + SEAL_MAGIC_BYTES;
    randombytes_buf(nonce, SEAL_NONCE_BYTES);
    unsigned long long clen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + SEAL_NONCE_BYTES, &clen, pt, len, ad, ad_len,
                                                   NULL, nonce, key) != 0 ||
        clen != len + SEAL_TAG_BYTES) {
        free(buf);
        return SAFECAM_ERR_CRYPTO;
    }
    *out = buf;
    *out_len = total;
    return 0;
}

int seal_data_open(const uint8_t key[SEAL_KEY_BYTES], const char *label, const uint8_t *in, size_t in_len,
                   uint8_t **out, size_t *out_len)
{
    if (!out || !out_len)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    *out_len = 0;
    if (!key || !in)
        return SAFECAM_ERR_INVAL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    unsigned char ad[SEAL_MAGIC_BYTES + SEAL_LABEL_MAX_BYTES];
    size_t ad_len = 0;
    int rc = seal_ad_build(label, ad, &ad_len);
    if (rc != 0)
        return rc;
    if (in_len < SEAL_OVERHEAD_BYTES || in_len - SEAL_OVERHEAD_BYTES > SEAL_PLAINTEXT_MAX_BYTES)
        return SAFECAM_ERR_CRYPTO;
    if (memcmp(in, SEAL_MAGIC, SEAL_MAGIC_BYTES) != 0)
        return SAFECAM_ERR_CRYPTO;

    size_t pt_len = in_len - SEAL_OVERHEAD_BYTES;
    uint8_t *pt = sodium_malloc(pt_len + 1);
    if (!pt)
        return SAFECAM_ERR_NOMEM;
    const uint8_t *nonce = in + SEAL_MAGIC_BYTES;
    const uint8_t *ct = nonce + SEAL_NONCE_BYTES;
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &mlen, NULL, ct, in_len - SEAL_MAGIC_BYTES -
                                                   SEAL_NONCE_BYTES, ad, ad_len, nonce, key) != 0 ||
        mlen != pt_len) {
        sodium_memzero(pt, pt_len + 1);
        sodium_free(pt);
        return SAFECAM_ERR_CRYPTO;
    }
    pt[pt_len] = '\0';
    *out = pt;
    *out_len = pt_len;
    return 0;
}

int seal_storage_key_load(const char *state_dir, uint8_t key[SEAL_KEY_BYTES])
{
    if (!state_dir || !key)
        return SAFECAM_ERR_INVAL;
    char path[4096];
    if (safecam_path_join(path, sizeof path, state_dir, STATEDIR_STORAGE_KEY) != 0)
        return SAFECAM_ERR_TOOBIG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_INVAL;
    uint8_t buf[SEAL_KEY_BYTES + 1];
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0600 ||
        st.st_size != (off_t)SEAL_KEY_BYTES) {
        log_err("storage key %s refused: must be a regular %u-byte file of mode 0600 owned by uid %u",
                path, SEAL_KEY_BYTES, (unsigned)geteuid());
        goto out;
    }
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got != SEAL_KEY_BYTES)
        goto out; /* file changed size under us */
    memcpy(key, buf, SEAL_KEY_BYTES);
    rc = 0;
out:
    sodium_memzero(buf, sizeof buf);
    close(fd);
    return rc;
}
