/* hash.c — Argon2id password hashing and verification (libsodium). Runs in the vault process (on its hash
 * workers: thread-safe) and in safecam-provision; handles plaintext passwords, never logs or stores them.
 * The cost travels in each stored PHC string ($argon2id$v=19$m=..,t=..,p=1$...): a hash made at another cost
 * still verifies, and is replaced at the next successful login (vault_password_needs_rehash). QCVN 135 G1 /
 * EN 303 645 5.1-1 (passwords stored only as salted slow hashes). Cost: bench/argon2id.md. */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "vault_internal.h"

_Static_assert(VAULT_HASH_BYTES == crypto_pwhash_STRBYTES, "hash size matches libsodium");

static unsigned long long hash_opslimit = VAULT_ARGON2_OPSLIMIT;
static pthread_mutex_t verify_stats_mu = PTHREAD_MUTEX_INITIALIZER; /* hash workers verify at once */
static unsigned long verify_count;
static char verify_params[64];
static size_t hash_memlimit = VAULT_ARGON2_MEMLIMIT;

void vault_argon2_cost_set_for_tests(unsigned long long opslimit, size_t memlimit)
{
    if (opslimit == 0) {
        hash_opslimit = VAULT_ARGON2_OPSLIMIT;
        hash_memlimit = VAULT_ARGON2_MEMLIMIT;
        return;
    }
    hash_opslimit = opslimit;
    hash_memlimit = memlimit;
}

int vault_password_hash(const char *password, char out[VAULT_HASH_BYTES])
{
    if (!password || !out)
        return SAFECAM_ERR_INVAL;
    out[0] = '\0';
    size_t len = strlen(password);
    if (len > 4096)
        return SAFECAM_ERR_TOOBIG;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    if (crypto_pwhash_str_alg(out, password, len, hash_opslimit, hash_memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_memzero(out, VAULT_HASH_BYTES);
        return SAFECAM_ERR_NOMEM; /* libsodium fails only when it cannot allocate memlimit */
    }
    return 0;
}

int vault_password_verify(const char *hash, const char *password)
{
    if (!hash || !password)
        return SAFECAM_ERR_INVAL;
    if (memchr(hash, '\0', VAULT_HASH_BYTES) == NULL)
        return SAFECAM_ERR_INVAL;
    if (strncmp(hash, "$argon2id$", 10) != 0)
        return SAFECAM_ERR_INVAL;
    size_t len = strlen(password);
    if (len > 4096)
        return SAFECAM_ERR_DENIED;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    /* Remember the cost parameters of this verify ("$argon2id$v=19$m=..,t=..,p=..$") for the tests
     * that prove every login path costs the same. */
    const char *salt = strchr(hash + 10, '$');
    salt = salt ? strchr(salt + 1, '$') : NULL;
    size_t plen = salt ? (size_t)(salt - hash) : 0;
    pthread_mutex_lock(&verify_stats_mu);
    if (plen < sizeof verify_params) {
        memcpy(verify_params, hash, plen);
        verify_params[plen] = '\0';
    }
    verify_count++;
    pthread_mutex_unlock(&verify_stats_mu);
    return crypto_pwhash_str_verify(hash, password, len) == 0 ? 0 : SAFECAM_ERR_DENIED;
}

void vault_password_verify_stats_for_tests(unsigned long *count, char params[64])
{
    pthread_mutex_lock(&verify_stats_mu);
    *count = verify_count;
    memcpy(params, verify_params, sizeof verify_params);
    pthread_mutex_unlock(&verify_stats_mu);
}

int vault_password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, hash_opslimit, hash_memlimit) != 0;
}
