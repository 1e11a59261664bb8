/* recording.c — the vault's part of encrypted recording: it makes each segment's key and wraps it under the
 * storage key (for the media process's writer), and it opens a sealed segment for playback (the segment
 * key is unwrapped and used here, never handed out). A factory reset destroys the storage key, so every
 * wrapped key and with it every recording is crypto-erased at once.
 * Trust level: runs in the vault; the sealed file comes as a descriptor from web (which got it from media):
 * attacker-writable storage, parsed by lib/record (bounded, fuzzed). QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/record.h"
#include "safecam/seal.h"
#include "vault_internal.h"

_Static_assert(RECORD_WRAPPED_BYTES == SEAL_OVERHEAD_BYTES + RECORD_KEY_BYTES, "wrapped key size");
_Static_assert(RECORD_KEY_BYTES == SEAL_KEY_BYTES, "key size");

int vault_recording_key_new(const uint8_t *storage_key, const uint8_t id[RECORD_ID_BYTES], int64_t start_ms,
                            uint8_t key[RECORD_KEY_BYTES], uint8_t wrapped[RECORD_WRAPPED_BYTES])
{
    char label[RECORD_LABEL_MAX];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    if (!storage_key || !id || !key || !wrapped || start_ms < 0)
        return SAFECAM_ERR_INVAL;
    int rc = record_key_label(id, start_ms, label, sizeof label);
    if (rc != 0)
        return rc;
    randombytes_buf(key, RECORD_KEY_BYTES);
    rc = seal_data_seal(storage_key, label, key, RECORD_KEY_BYTES, &blob, &blob_len);
    if (rc == 0 && blob_len != RECORD_WRAPPED_BYTES)
        rc = SAFECAM_ERR_INTERNAL;
    if (rc == 0)
        memcpy(wrapped, blob, RECORD_WRAPPED_BYTES);
    else
        sodium_memzero(key, RECORD_KEY_BYTES);
    free(blob);
    return rc;
}

int vault_recording_open(const uint8_t *storage_key, int in_fd, const uint8_t want_id[RECORD_ID_BYTES],
                         int *fd_out, uint64_t *size_out, int *complete)
{
    uint8_t hb[RECORD_HEADER_BYTES];
    struct record_header h;
    char label[RECORD_LABEL_MAX];
    uint8_t *key = NULL;
    size_t key_len = 0;
    struct stat sb;
    int mfd = -1, rc;

    if (!storage_key || in_fd < 0 || !want_id || !fd_out || !size_out || !complete)
        return SAFECAM_ERR_INVAL;
    *fd_out = -1;
    *size_out = 0;
    *complete = 0;
    if (fstat(in_fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return SAFECAM_ERR_INVAL;
    ssize_t n = pread(in_fd, hb, sizeof hb, 0);
    if (n != (ssize_t)sizeof hb || record_header_parse(hb, sizeof hb, &h) != 0)
        return SAFECAM_ERR_CRYPTO;
    /* a file renamed or copied over another names its own id: refused before any key is touched */
    if (sodium_memcmp(h.id, want_id, RECORD_ID_BYTES) != 0)
        return SAFECAM_ERR_CRYPTO;
    rc = record_key_label(h.id, h.start_ms, label, sizeof label);
    if (rc == 0)
        rc = seal_data_open(storage_key, label, h.wrapped, sizeof h.wrapped, &key, &key_len);
    if (rc == 0 && key_len != RECORD_KEY_BYTES)
        rc = SAFECAM_ERR_CRYPTO;
    if (rc != 0) {
        rc = SAFECAM_ERR_CRYPTO;
        goto out;
    }
    mfd = memfd_create("safecam-recording", MFD_CLOEXEC);
    if (mfd < 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    rc = record_segment_decrypt(in_fd, key, want_id, mfd, RECORD_SEGMENT_MAX_BYTES, complete, size_out);
    if (rc == 0 && lseek(mfd, 0, SEEK_SET) != 0)
        rc = SAFECAM_ERR_IO;
    if (rc == 0) {
        *fd_out = mfd;
        mfd = -1;
    }
out:
    if (mfd >= 0)
        close(mfd);
    if (key)
        sodium_free(key); /* wiped by sodium_free */
    sodium_memzero(&h, sizeof h);
    return rc;
}
