/* bench_argon2id.c — measures Argon2id verification time for candidate costs and the chosen product
 * cost (VAULT_ARGON2_OPSLIMIT / VAULT_ARGON2_MEMLIMIT). Not shipped. Results: bench/argon2id.md.
 * Usage: bench_argon2id [rounds]   (default 10 verifications per cost) */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "safecam/core.h"
#include "safecam/vault.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long rounds = 10;
    if (argc > 1 && safecam_parse_long(argv[1], 1, 1000, &rounds) != 0) {
        fprintf(stderr, "usage: bench_argon2id [rounds 1..1000]\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    static const struct {
        unsigned long long ops;
        size_t mem_mib;
    } costs[] = {{2, 19}, {2, 32}, {3, 32}, {3, 64}, {4, 64}, {3, 128}};
    double *t = calloc((size_t)rounds, sizeof *t);
    if (!t)
        return 1;
    printf("%-8s %-9s %10s %10s %10s  %s\n", "opslimit", "mem(MiB)", "min(ms)", "median(ms)", "max(ms)",
           "verifies/s per core");
    for (size_t c = 0; c < sizeof costs / sizeof costs[0]; c++) {
        char hash[VAULT_HASH_BYTES];
        size_t mem = costs[c].mem_mib * 1024u * 1024u;
        if (crypto_pwhash_str_alg(hash, "bench-password", 14, costs[c].ops, mem,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
            fprintf(stderr, "cannot hash with %zu MiB\n", costs[c].mem_mib);
            continue;
        }
        for (long i = 0; i < rounds; i++) {
            double t0 = now_ms();
            if (crypto_pwhash_str_verify(hash, "bench-password", 14) != 0)
                return 1;
            t[i] = now_ms() - t0;
        }
        qsort(t, (size_t)rounds, sizeof *t, cmp);
        int chosen = costs[c].ops == VAULT_ARGON2_OPSLIMIT && mem == VAULT_ARGON2_MEMLIMIT;
        printf("%-8llu %-9zu %10.1f %10.1f %10.1f  %.1f%s\n", costs[c].ops, costs[c].mem_mib, t[0],
               t[rounds / 2], t[rounds - 1], 1000.0 / t[rounds / 2], chosen ? "   <- product cost" : "");
    }
    /* The product path: vault_password_hash + vault_password_verify. */
    char hash[VAULT_HASH_BYTES];
    if (vault_password_hash("bench-password", hash) != 0)
        return 1;
    double t0 = now_ms();
    for (long i = 0; i < rounds; i++)
        if (vault_password_verify(hash, "bench-password") != 0)
            return 1;
    printf("vault_password_verify (product cost): %.1f ms mean over %ld\n", (now_ms() - t0) / (double)rounds,
           rounds);
    free(t);
    return 0;
}
