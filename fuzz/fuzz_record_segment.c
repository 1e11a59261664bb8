/* fuzz_record_segment.c — the sealed segment reader (lib/record/segfile.c) on arbitrary file contents: the
 * segment files are on storage an attacker may write. Half the inputs get a valid header and first message
 * under a fixed key so the fuzzer reaches the message loop. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "safecam/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[RECORD_KEY_BYTES] = {1, 2, 3};
    static const uint8_t wrapped[RECORD_WRAPPED_BYTES] = {0};
    static const uint8_t id[RECORD_ID_BYTES] = {9};
    int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC);
    if (in < 0 || out < 0)
        goto done;
    if (size && (data[0] & 1)) {
        record_writer *w = NULL;
        if (record_writer_open(in, id, 1, key, wrapped, &w) == 0) {
            (void)record_writer_push(w, (const uint8_t *)"unit", 4, 1);
            record_writer_free(w);
        }
        data++, size--;
    }
    if (size && write(in, data, size) != (ssize_t)size)
        goto done;
    int complete = 0;
    uint64_t clear = 0;
    (void)record_segment_decrypt(in, key, id, out, 1u << 20, &complete, &clear);
done:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return 0;
}
