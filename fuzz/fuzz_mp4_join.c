/* fuzz_mp4_join.c — the fragmented-MP4 joiner of the recording export (lib/record/mp4frag.c) on arbitrary
 * segments: the first byte says how many segments (1..3) the rest is cut into; each goes through a checking
 * (dry) pass and then the copying pass, as the export route does. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "safecam/mp4frag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void join(const int *fds, size_t n, int dry)
{
    mp4frag_joiner *j = NULL;
    uint8_t out[4096];
    if (mp4frag_joiner_new(dry, &j) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (mp4frag_joiner_segment(j, fds[i]) != 0)
            break;
        /* every read returns at least one byte or ends the segment; the output is bounded by the input plus
         * one init, so this loop ends */
        ssize_t r;
        while ((r = mp4frag_joiner_read(j, out, sizeof out)) > 0)
            ;
        if (r < 0)
            break;
    }
    (void)mp4frag_joiner_duration(j);
    mp4frag_joiner_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fds[3] = {-1, -1, -1};
    if (size < 1)
        return 0;
    size_t n = 1 + data[0] % 3, rest = size - 1, per = rest / n;
    data++;
    for (size_t i = 0; i < n; i++) {
        size_t len = i + 1 == n ? rest - per * i : per;
        fds[i] = memfd_create("seg", MFD_CLOEXEC);
        if (fds[i] < 0 || (len && write(fds[i], data + per * i, len) != (ssize_t)len))
            goto done;
    }
    join(fds, n, 1);
    join(fds, n, 0);
done:
    for (size_t i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}
