/* argon2id_kernel.c — a self-contained, portable model of Argon2id's memory-filling phase (the part that takes
 * over 99 % of a verify): m blocks of 1 KiB filled t times with the BlaMka permutation (Argon2's G over the
 * block's 16 x 8 words, columns then rows), each new block mixed with the previous one and one chosen by the
 * previous block's first word (data-dependent, as in Argon2id's later slices). Not a password hash (no
 * H0/H', no lanes): only the same work, in plain C without SIMD, so the same code can be timed natively and
 * as an aarch64 binary under qemu-aarch64-static. Not shipped. Results and the extrapolation: bench/argon2id.md.
 * Usage: argon2id_kernel [m_kib t rounds]   (default 19456 2 5: the product cost) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QWORDS 128 /* 1 KiB block */

typedef struct {
    uint64_t v[QWORDS];
} block;

static inline uint64_t rotr64(uint64_t w, unsigned c)
{
    return (w >> c) | (w << (64 - c));
}

static inline uint64_t fblamka(uint64_t x, uint64_t y)
{
    const uint64_t m = UINT64_C(0xFFFFFFFF);
    return x + y + 2 * ((x & m) * (y & m));
}

#define G(a, b, c, d)                                                                                              \
    do {                                                                                                       \
        a = fblamka(a, b);                                                                                     \
        d = rotr64(d ^ a, 32);                                                                                 \
        c = fblamka(c, d);                                                                                     \
        b = rotr64(b ^ c, 24);                                                                                 \
        a = fblamka(a, b);                                                                                     \
        d = rotr64(d ^ a, 16);                                                                                 \
        c = fblamka(c, d);                                                                                     \
        b = rotr64(b ^ c, 63);                                                                                 \
    } while (0)

#define ROUND(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15)                               \
    do {                                                                                                       \
        G(v0, v4, v8, v12);                                                                                    \
        G(v1, v5, v9, v13);                                                                                    \
        G(v2, v6, v10, v14);                                                                                   \
        G(v3, v7, v11, v15);                                                                                   \
        G(v0, v5, v10, v15);                                                                                   \
        G(v1, v6, v11, v12);                                                                                   \
        G(v2, v7, v8, v13);                                                                                    \
        G(v3, v4, v9, v14);                                                                                    \
    } while (0)

static void fill_block(const block *prev, const block *ref, block *next, int with_xor)
{
    block r, tmp;
    for (int i = 0; i < QWORDS; i++)
        r.v[i] = ref->v[i] ^ prev->v[i];
    tmp = r;
    if (with_xor)
        for (int i = 0; i < QWORDS; i++)
            tmp.v[i] ^= next->v[i];
    uint64_t *v = r.v;
    for (int i = 0; i < 8; i++)
        ROUND(v[16 * i], v[16 * i + 1], v[16 * i + 2], v[16 * i + 3], v[16 * i + 4], v[16 * i + 5], v[16 * i + 6],
              v[16 * i + 7], v[16 * i + 8], v[16 * i + 9], v[16 * i + 10], v[16 * i + 11], v[16 * i + 12],
              v[16 * i + 13], v[16 * i + 14], v[16 * i + 15]);
    for (int i = 0; i < 8; i++)
        ROUND(v[2 * i], v[2 * i + 1], v[2 * i + 16], v[2 * i + 17], v[2 * i + 32], v[2 * i + 33], v[2 * i + 48],
              v[2 * i + 49], v[2 * i + 64], v[2 * i + 65], v[2 * i + 80], v[2 * i + 81], v[2 * i + 96],
              v[2 * i + 97], v[2 * i + 112], v[2 * i + 113]);
    for (int i = 0; i < QWORDS; i++)
        next->v[i] = tmp.v[i] ^ r.v[i];
}

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
    long m = 19456, t = 2, rounds = 5;
    if (argc == 4) {
        m = strtol(argv[1], NULL, 10);
        t = strtol(argv[2], NULL, 10);
        rounds = strtol(argv[3], NULL, 10);
    }
    if (m < 8 || m > 1048576 || t < 1 || t > 16 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: argon2id_kernel [m_kib 8..1048576 t 1..16 rounds 1..100]\n");
        return 2;
    }
    block *mem = malloc((size_t)m * sizeof *mem);
    double *ms = calloc((size_t)rounds, sizeof *ms);
    if (!mem || !ms)
        return 1;
    uint64_t sink = 0;
    for (long r = 0; r < rounds; r++) {
        double t0 = now_ms();
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < QWORDS; k++)
                mem[i].v[k] = (uint64_t)(r + 1) * 0x9E3779B97F4A7C15u ^ (uint64_t)(i * QWORDS + k);
        for (long pass = 0; pass < t; pass++)
            for (long i = pass == 0 ? 2 : 0; i < m; i++) {
                long prev = i == 0 ? m - 1 : i - 1;
                long span = pass == 0 ? i - 1 : m - 1;
                long ref = (long)(mem[prev].v[0] % (uint64_t)span);
                fill_block(&mem[prev], &mem[ref], &mem[i], pass > 0);
            }
        ms[r] = now_ms() - t0;
        sink ^= mem[m - 1].v[0];
    }
    qsort(ms, (size_t)rounds, sizeof *ms, cmp);
    printf("m=%ld KiB t=%ld: min %.1f ms, median %.1f ms, max %.1f ms (check %016llx)\n", m, t, ms[0],
           ms[rounds / 2], ms[rounds - 1], (unsigned long long)sink);
    free(mem);
    free(ms);
    return 0;
}
