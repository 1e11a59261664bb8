/* bench_update.c — update bundle benchmarks: verification throughput of a large bundle beside
 * `sha256sum` of the same file (ratio), and the peak extra RSS while the bundle streams through an
 * install session into a slot (target <= 16 MiB over idle). Usage: bench_update [MiB] [workdir].
 * Trust level: benchmark code, writes only below its own temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safecam/update.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS or VmHWM of this process in KiB. */
static long proc_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static int make_bundle(const char *dir, size_t mib, unsigned char sk[64], char *bundle, size_t bsize)
{
    char payload[600];
    snprintf(payload, sizeof payload, "%s/rootfs.tar", dir);
    snprintf(bundle, bsize, "%s/bench.bundle", dir);
    int fd = open(payload, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    unsigned char *buf = malloc(1 << 20);
    if (!buf) {
        close(fd);
        return -1;
    }
    for (size_t i = 0; i < mib; i++) {
        randombytes_buf(buf, 1 << 20);
        if (write(fd, buf, 1 << 20) != 1 << 20) {
            free(buf);
            close(fd);
            return -1;
        }
    }
    free(buf);
    close(fd);
    const char *models[] = {"SC-100"};
    struct update_build_payload pl[] = {{"rootfs.tar", payload}};
    struct update_build_spec spec = {.models = models, .n_models = 1, .version = "9.0.0", .security_version = 1,
                                     .build_time = 1700000000, .payloads = pl, .n_payloads = 1};
    fd = open(bundle, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int rc = update_bundle_write(&spec, sk, fd);
    close(fd);
    unlink(payload);
    return rc;
}

static double time_sha256sum(const char *path)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0)
            dup2(dn, 1);
        execlp("sha256sum", "sha256sum", path, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return now_s() - t0;
}

static double time_verify(const update_trust *t, const char *path)
{
    struct update_verify_opts o = {.model = "SC-100", .max_bundle_bytes = 1ull << 40};
    update_verifier *v = NULL;
    unsigned char *buf = malloc(1 << 16);
    int fd = open(path, O_RDONLY);
    if (!buf || fd < 0 || update_verifier_new(t, &o, &v) != 0)
        return -1;
    double t0 = now_s();
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(fd, buf, 1 << 16)) > 0)
        rc = update_verifier_feed(v, buf, (size_t)n);
    if (rc == 0)
        rc = update_verifier_finish(v);
    double dt = now_s() - t0;
    update_verifier_free(v);
    close(fd);
    free(buf);
    return rc == 0 ? dt : -1;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 200;
    const char *base = argc > 2 ? argv[2] : "/tmp";
    char dir[512], bundle[600], state[600], keyfile[600];
    if (mib == 0 || mib > 4000 || sodium_init() < 0)
        return 2;
    safecam_log_init("bench_update", SAFECAM_LOG_ERR);
    snprintf(dir, sizeof dir, "%s/bench_update.XXXXXX", base);
    if (!mkdtemp(dir))
        return 1;
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    int ret = 1;
    if (make_bundle(dir, mib, sk, bundle, sizeof bundle) != 0) {
        fprintf(stderr, "bench_update: cannot build the bundle\n");
        goto out;
    }
    struct stat st;
    stat(bundle, &st);
    double mb = (double)st.st_size / 1e6;

    update_trust *t = NULL;
    if (update_trust_new(&t) != 0 || update_trust_add(t, pk) != 0)
        goto out;
    /* warm the page cache once, then best of 3 for each side */
    (void)time_sha256sum(bundle);
    double best_sum = 1e9, best_ver = 1e9;
    for (int i = 0; i < 3; i++) {
        double a = time_sha256sum(bundle), b = time_verify(t, bundle);
        if (a < 0 || b < 0) {
            fprintf(stderr, "bench_update: a run failed\n");
            update_trust_free(t);
            goto out;
        }
        if (a < best_sum)
            best_sum = a;
        if (b < best_ver)
            best_ver = b;
    }
    update_trust_free(t);
    printf("bundle: %.1f MB\n", mb);
    printf("sha256sum:            %6.3f s  %7.1f MB/s\n", best_sum, mb / best_sum);
    printf("update_verifier:      %6.3f s  %7.1f MB/s  (signature + model + rollback + SHA-256 of every payload)\n",
           best_ver, mb / best_ver);
    printf("ratio verify/sha256sum: %.2f (1.00 = as fast as sha256sum)\n", best_ver / best_sum);

    /* streamed install into a slot: peak RSS over idle */
    snprintf(state, sizeof state, "%s/state", dir);
    mkdir(state, 0700);
    snprintf(keyfile, sizeof keyfile, "%s/vendor.pub", dir);
    if (update_pubkey_write(keyfile, pk, "bench", 0) != 0 || update_trust_key_install(state, keyfile) != 0)
        goto out;
    struct update_status sst;
    if (update_slots_status(state, &sst) != 0)
        goto out;
    int cr = open("/proc/self/clear_refs", O_WRONLY);
    if (cr >= 0) {
        if (write(cr, "5", 1) != 1) /* reset VmHWM to the current RSS */
            fprintf(stderr, "bench_update: cannot reset VmHWM\n");
        close(cr);
    }
    long idle = proc_kib("VmRSS");
    struct update_session_opts so = {.model = "SC-100", .max_bundle_bytes = 1ull << 40};
    enum update_reason r;
    double t0 = now_s();
    int rc = update_install_file(state, &so, bundle, &r);
    double dt = now_s() - t0;
    long peak = proc_kib("VmHWM");
    if (rc != 0) {
        fprintf(stderr, "bench_update: install refused: %s\n", update_reason_name(r));
        goto out;
    }
    printf("install (stream to slot, fsync): %6.3f s  %7.1f MB/s\n", dt, mb / dt);
    printf("peak RSS during install: %ld KiB, idle %ld KiB, extra %.2f MiB (target <= 16 MiB)\n", peak, idle,
           (double)(peak - idle) / 1024.0);
    ret = (peak - idle) <= 16 * 1024 ? 0 : 1;

    /* verified boot of the installed slot (what the boot loader does before each start of an image)
     * beside sha256sum of the slot's payload file: best of 3 */
    char dj[700], payload[700];
    snprintf(dj, sizeof dj, "%s/factory/device.json", state);
    snprintf(payload, sizeof payload, "%s/slots/B/rootfs.tar", state);
    FILE *f = fopen(dj, "w");
    if (!f || fputs("{\"serial\":\"BENCH1\",\"model\":\"SC-100\"}", f) < 0 || fclose(f) != 0) {
        ret = 1;
        goto out;
    }
    double best_auth = 1e9, best_psum = 1e9;
    for (int i = 0; i < 3; i++) {
        enum update_reason why = UPDATE_INTERNAL;
        double a0 = now_s();
        int arc = update_slot_authenticate(state, 'B', &why);
        double a = now_s() - a0, b = time_sha256sum(payload);
        if (arc != 0 || b < 0) {
            fprintf(stderr, "bench_update: verified boot refused the slot: %s\n", update_reason_name(why));
            ret = 1;
            goto out;
        }
        if (a < best_auth)
            best_auth = a;
        if (b < best_psum)
            best_psum = b;
    }
    printf("verified boot of the slot: %6.3f s; sha256sum of its payload: %6.3f s; ratio %.2f\n", best_auth,
           best_psum, best_auth / best_psum);
out:
    sodium_memzero(sk, sizeof sk);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return ret;
}
