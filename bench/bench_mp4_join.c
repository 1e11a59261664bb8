/* bench_mp4_join.c — speed of the range download's MP4 joiner (lib/record/mp4frag.c) without the vault: both
 * passes (check, then copy to /dev/null) over the clear fragmented MP4 files given, as the export route runs
 * them. Usage: bench_mp4_join FILE... (the same file may be repeated). Prints bytes, seconds and MB/s.
 * A 3 s test segment: gst-launch-1.0 videotestsrc num-buffers=75 ! video/x-raw,width=320,height=240,framerate=25/1
 *   ! x264enc key-int-max=25 ! h264parse ! mp4mux fragment-duration=1000 streamable=true ! filesink location=s.mp4 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "safecam/mp4frag.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pass(int argc, char **argv, int dry, uint64_t total, uint64_t *dur, uint64_t *bytes)
{
    static unsigned char b[64 * 1024];
    mp4frag_joiner *j = NULL;
    if (mp4frag_joiner_new(dry, &j) != 0)
        return 1;
    mp4frag_joiner_total_set(j, total);
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || mp4frag_joiner_segment(j, fd) != 0) {
            fprintf(stderr, "bench_mp4_join: %s refused\n", argv[i]);
            return 1;
        }
        ssize_t n;
        while ((n = mp4frag_joiner_read(j, b, sizeof b)) > 0)
            *bytes += (uint64_t)n;
        close(fd);
        if (n < 0) {
            fprintf(stderr, "bench_mp4_join: %s: error %zd\n", argv[i], n);
            return 1;
        }
    }
    *dur = mp4frag_joiner_duration(j);
    mp4frag_joiner_free(j);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t dur = 0, dur2 = 0, checked = 0, bytes = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_mp4_join FILE...\n");
        return 2;
    }
    double t0 = now_s();
    if (pass(argc, argv, 1, 0, &dur, &checked) != 0 || pass(argc, argv, 0, dur, &dur2, &bytes) != 0)
        return 1;
    double s = now_s() - t0;
    printf("segments %d, output %llu bytes, movie duration %llu units, %.3f s, %.1f MB/s\n", argc - 1,
           (unsigned long long)bytes, (unsigned long long)dur2, s, s > 0 ? (double)bytes / 1e6 / s : 0.0);
    return 0;
}
