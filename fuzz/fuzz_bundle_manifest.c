/* fuzz_bundle_manifest.c — libFuzzer target for the update bundle parsers: the strict manifest parser
 * on raw input, and the whole streaming verifier (header, manifest, signature, payload framing) fed in
 * input-chosen chunk sizes. Trust level: test code; inputs are hostile by design. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "safecam/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static update_trust *trust;
    static unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
    if (!trust) {
        /* fixed test key (seed 01 00..): fuzz/corpus/bundle_manifest/signed.bundle is signed with it */
        unsigned char seed[crypto_sign_SEEDBYTES] = {1};
        unsigned char sk[UPDATE_SECRET_KEY_BYTES];
        if (sodium_init() < 0 || update_trust_new(&trust) != 0)
            return 0;
        crypto_sign_seed_keypair(pk, sk, seed);
        if (update_trust_add(trust, pk) != 0)
            return 0;
    }
    struct update_manifest m;
    if (update_manifest_parse((const char *)data, size, &m) == 0) {
        /* whatever parses obeys every documented limit */
        if (m.n_payloads < 1 || m.n_payloads > UPDATE_PAYLOADS_MAX || m.n_models < 1 ||
            m.n_models > UPDATE_MODELS_MAX || !update_version_valid(m.version))
            __builtin_trap();
        for (unsigned i = 0; i < m.n_payloads; i++)
            if (!update_name_valid(m.payloads[i].name) || m.payloads[i].size > UPDATE_PAYLOAD_MAX_BYTES)
                __builtin_trap();
    }

    struct update_verify_opts o = {.model = "SC-100", .max_bundle_bytes = 1 << 20};
    update_verifier *v = NULL;
    if (update_verifier_new(trust, &o, &v) != 0)
        return 0;
    size_t chunk = size ? (size_t)data[0] % 97 + 1 : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk)
        rc = update_verifier_feed(v, data + off, size - off < chunk ? size - off : chunk);
    if (rc == 0)
        rc = update_verifier_finish(v);
    /* Differential oracle: whatever passes must check out when re-verified the plain way. */
    if (rc == 0) {
        uint32_t mlen = 0;
        struct update_manifest m2;
        if (size < UPDATE_HEADER_BYTES || update_header_parse(data, &mlen, NULL) != 0 ||
            size < UPDATE_HEADER_BYTES + (size_t)mlen + UPDATE_SIG_BYTES ||
            crypto_sign_verify_detached(data + UPDATE_HEADER_BYTES + mlen, data, UPDATE_HEADER_BYTES + mlen, pk) != 0 ||
            update_manifest_parse((const char *)data + UPDATE_HEADER_BYTES, mlen, &m2) != 0 ||
            UPDATE_HEADER_BYTES + (uint64_t)mlen + UPDATE_SIG_BYTES + m2.payload_total != size)
            __builtin_trap();
        size_t off = UPDATE_HEADER_BYTES + (size_t)mlen + UPDATE_SIG_BYTES;
        for (unsigned i = 0; i < m2.n_payloads; i++) {
            unsigned char h[32];
            crypto_hash_sha256(h, data + off, (size_t)m2.payloads[i].size);
            if (memcmp(h, m2.payloads[i].sha256, 32) != 0)
                __builtin_trap();
            off += (size_t)m2.payloads[i].size;
        }
    }
    update_verifier_free(v);
    return 0;
}
