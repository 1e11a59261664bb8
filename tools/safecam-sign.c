/* safecam-sign — the vendor's tool for update bundles: keygen, sign, verify, inspect.
 * Trust level: runs on the vendor's signing machine, never on the camera; holds the Ed25519 secret key
 * in sodium_malloc memory only, optionally passphrase-encrypted at rest (Argon2id + XSalsa20-Poly1305).
 * `verify` runs the device's own streaming verifier (lib/update), so both always agree. QCVN 135 G3. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/update.h"

#define KEYFILE_FORMAT "safecam-update-secretkey"
#define KEYFILE_MAX_BYTES 4096u
#define PASSPHRASE_MAX 1024u
#define MAX_MULTI 16

static const char *prog = "safecam-sign";

/* One line on stderr, then the exit code to return. */
static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static int usage(void)
{
    return fail(2, "usage: %skeygen --out BASE [--passphrase-file F] [--comment C] [--demo] | sign --key BASE.key "
                   "[--passphrase-file F] --model M... --version V --security-version N --payload [NAME=]PATH... "
                   "--out FILE [--build-time T] [--revoke KEYID...] | verify --pub BASE.pub... [--model M] "
                   "[--min-security-version N] [--max-bytes N] FILE | inspect FILE",
                "safecam-sign ");
}

/* ---------------------------------------------------------------- passphrase + key files */

/* First line of path, without the newline, into sodium_malloc memory (*out, *len_out). */
static int passphrase_read(const char *path, char **out, size_t *len_out)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    if (safecam_file_read(path, PASSPHRASE_MAX, &data, &len) != 0)
        return -1;
    size_t n = 0;
    while (n < len && data[n] != '\n' && data[n] != '\r')
        n++;
    char *p = sodium_malloc(n + 1);
    if (p) {
        memcpy(p, data, n);
        p[n] = '\0';
    }
    sodium_memzero(data, len);
    free(data);
    if (!p || n == 0) {
        sodium_free(p);
        return -1;
    }
    *out = p;
    *len_out = n;
    return 0;
}

static char *b64(const unsigned char *bin, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(n);
    if (s)
        sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static int unb64(const json_t *v, unsigned char *out, size_t want)
{
    size_t bin_len = 0;
    if (!json_is_string(v) || json_string_length(v) > 256)
        return -1;
    if (sodium_base642bin(out, want, json_string_value(v), json_string_length(v), NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != want)
        return -1;
    return 0;
}

/* Write BASE.key (0600, refuses to overwrite) and BASE.pub. */
static int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL, *pass_file = NULL, *comment = NULL;
    int demo = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--passphrase-file") == 0 && i + 1 < argc)
            pass_file = argv[++i];
        else if (strcmp(argv[i], "--comment") == 0 && i + 1 < argc)
            comment = argv[++i];
        else if (strcmp(argv[i], "--demo") == 0)
            demo = 1;
        else
            return usage();
    }
    if (!out)
        return usage();
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    if (safecam_fmt(key_path, sizeof key_path, "%s.key", out) != 0 ||
        safecam_fmt(pub_path, sizeof pub_path, "%s.pub", out) != 0)
        return fail(2, "output name too long");
    struct stat st;
    if (lstat(key_path, &st) == 0 || lstat(pub_path, &st) == 0)
        return fail(1, "refusing to overwrite %s.key/.pub", out);
    if (demo && !comment)
        comment = "DEMO KEY - not for production";

    int rc = 1;
    unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
    unsigned char *sk = sodium_malloc(UPDATE_SECRET_KEY_BYTES);
    char *pass = NULL, *text = NULL, *s_sk = NULL, *s_salt = NULL, *s_nonce = NULL;
    size_t pass_len = 0;
    unsigned char *boxed = NULL;
    json_t *root = NULL;
    if (!sk)
        goto out;
    crypto_sign_keypair(pk, sk);
    char id[UPDATE_KEY_ID_HEX_BYTES];
    update_key_id(pk, id);
    root = json_pack("{s:s,s:i,s:s}", "format", KEYFILE_FORMAT, "version", 1, "key_id", id);
    if (!root)
        goto out;
    if (pass_file) {
        unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
        unsigned char *kek = sodium_malloc(crypto_secretbox_KEYBYTES);
        if (!kek)
            goto out;
        if (passphrase_read(pass_file, &pass, &pass_len) != 0) {
            sodium_free(kek);
            rc = fail(1, "cannot read a non-empty passphrase from %s", pass_file);
            goto out;
        }
        randombytes_buf(salt, sizeof salt);
        randombytes_buf(nonce, sizeof nonce);
        if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, pass, pass_len, salt, crypto_pwhash_OPSLIMIT_MODERATE,
                          crypto_pwhash_MEMLIMIT_MODERATE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
            sodium_free(kek);
            rc = fail(1, "key derivation ran out of memory");
            goto out;
        }
        boxed = malloc(UPDATE_SECRET_KEY_BYTES + crypto_secretbox_MACBYTES);
        if (!boxed) {
            sodium_free(kek);
            goto out;
        }
        crypto_secretbox_easy(boxed, sk, UPDATE_SECRET_KEY_BYTES, nonce, kek);
        sodium_free(kek);
        s_sk = b64(boxed, UPDATE_SECRET_KEY_BYTES + crypto_secretbox_MACBYTES);
        s_salt = b64(salt, sizeof salt);
        s_nonce = b64(nonce, sizeof nonce);
        if (!s_sk || !s_salt || !s_nonce)
            goto out;
        json_object_set_new(root, "kdf", json_string("argon2id13"));
        json_object_set_new(root, "opslimit", json_integer((json_int_t)crypto_pwhash_OPSLIMIT_MODERATE));
        json_object_set_new(root, "memlimit", json_integer((json_int_t)crypto_pwhash_MEMLIMIT_MODERATE));
        json_object_set_new(root, "salt", json_string(s_salt));
        json_object_set_new(root, "nonce", json_string(s_nonce));
        json_object_set_new(root, "sealed_key", json_string(s_sk));
    } else {
        s_sk = b64(sk, UPDATE_SECRET_KEY_BYTES);
        if (!s_sk)
            goto out;
        json_object_set_new(root, "kdf", json_string("none"));
        json_object_set_new(root, "secret_key", json_string(s_sk));
    }
    if (demo)
        json_object_set_new(root, "demo", json_true());
    text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        goto out;
    if (safecam_file_write_atomic(key_path, text, strlen(text), 0600) != 0) {
        rc = fail(1, "cannot write %s", key_path);
        goto out;
    }
    if (update_pubkey_write(pub_path, pk, comment, demo) != 0) {
        unlink(key_path);
        rc = fail(1, "cannot write %s (comment too long or not UTF-8?)", pub_path);
        goto out;
    }
    printf("key_id %s\n", id);
    rc = 0;
out:
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    if (s_sk) {
        sodium_memzero(s_sk, strlen(s_sk));
        free(s_sk);
    }
    json_decref(root); /* the JSON strings held copies of s_sk; jansson frees them (plain or sealed) */
    free(s_salt);
    free(s_nonce);
    free(boxed);
    sodium_free(pass);
    sodium_free(sk);
    return rc;
}

/* Load BASE.key into sodium_malloc memory (*sk_out, 64 bytes). Returns 0 or prints one line. */
static int key_load(const char *path, const char *pass_file, unsigned char **sk_out)
{
    static const char *const allowed[] = {"format", "version", "key_id", "kdf", "secret_key", "sealed_key",
                                          "salt", "nonce", "opslimit", "memlimit", "demo"};
    char *data = NULL, *pass = NULL;
    size_t len = 0, pass_len = 0;
    json_t *root = NULL;
    unsigned char *sk = sodium_malloc(UPDATE_SECRET_KEY_BYTES);
    unsigned char *kek = sodium_malloc(crypto_secretbox_KEYBYTES);
    int rc = -1;
    *sk_out = NULL;
    if (!sk || !kek)
        goto out;
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
        fprintf(stderr, "%s: warning: %s is readable by others (chmod 600)\n", prog, path);
    if (safecam_file_read(path, KEYFILE_MAX_BYTES, &data, &len) != 0) {
        fail(1, "cannot read key file %s", path);
        goto out;
    }
    json_error_t jerr;
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *val;
    int keys_ok = json_is_object(root);
    if (keys_ok) {
        json_object_foreach(root, key, val) {
            int ok = 0;
            for (size_t i = 0; i < SAFECAM_ARRAY_LEN(allowed); i++)
                if (strcmp(key, allowed[i]) == 0)
                    ok = 1;
            keys_ok &= ok;
        }
    }
    const json_t *fmt = json_object_get(root, "format"), *kdf = json_object_get(root, "kdf");
    if (!keys_ok || !json_is_string(fmt) || strcmp(json_string_value(fmt), KEYFILE_FORMAT) != 0 ||
        !json_is_string(kdf)) {
        fail(1, "%s is not a safecam-sign secret key file", path);
        goto out;
    }
    if (strcmp(json_string_value(kdf), "none") == 0) {
        if (unb64(json_object_get(root, "secret_key"), sk, UPDATE_SECRET_KEY_BYTES) != 0) {
            fail(1, "%s: malformed secret key", path);
            goto out;
        }
    } else if (strcmp(json_string_value(kdf), "argon2id13") == 0) {
        unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
        unsigned char boxed[UPDATE_SECRET_KEY_BYTES + crypto_secretbox_MACBYTES];
        const json_t *ops = json_object_get(root, "opslimit"), *mem = json_object_get(root, "memlimit");
        if (unb64(json_object_get(root, "salt"), salt, sizeof salt) != 0 ||
            unb64(json_object_get(root, "nonce"), nonce, sizeof nonce) != 0 ||
            unb64(json_object_get(root, "sealed_key"), boxed, sizeof boxed) != 0 || !json_is_integer(ops) ||
            !json_is_integer(mem) || json_integer_value(ops) < (json_int_t)crypto_pwhash_OPSLIMIT_MIN ||
            json_integer_value(ops) > 64 || json_integer_value(mem) < (json_int_t)crypto_pwhash_MEMLIMIT_MIN ||
            json_integer_value(mem) > (json_int_t)crypto_pwhash_MEMLIMIT_SENSITIVE) {
            fail(1, "%s: malformed sealed key", path);
            goto out;
        }
        if (!pass_file) {
            fail(1, "%s is passphrase-protected: give --passphrase-file", path);
            goto out;
        }
        if (passphrase_read(pass_file, &pass, &pass_len) != 0) {
            fail(1, "cannot read a non-empty passphrase from %s", pass_file);
            goto out;
        }
        if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, pass, pass_len, salt,
                          (unsigned long long)json_integer_value(ops), (size_t)json_integer_value(mem),
                          crypto_pwhash_ALG_ARGON2ID13) != 0 ||
            crypto_secretbox_open_easy(sk, boxed, sizeof boxed, nonce, kek) != 0) {
            fail(1, "wrong passphrase for %s", path);
            goto out;
        }
    } else {
        fail(1, "%s: unknown kdf", path);
        goto out;
    }
    /* The stored key_id must be this key's. */
    unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
    char id[UPDATE_KEY_ID_HEX_BYTES];
    const json_t *kid = json_object_get(root, "key_id");
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    update_key_id(pk, id);
    if (!json_is_string(kid) || strcmp(json_string_value(kid), id) != 0) {
        fail(1, "%s: key_id does not match the key", path);
        goto out;
    }
    *sk_out = sk;
    sk = NULL;
    rc = 0;
out:
    if (data) {
        sodium_memzero(data, len);
        free(data);
    }
    json_decref(root);
    sodium_free(pass);
    sodium_free(kek);
    sodium_free(sk);
    return rc;
}

/* ---------------------------------------------------------------- sign */

static int cmd_sign(int argc, char **argv)
{
    const char *key = NULL, *pass_file = NULL, *version = NULL, *out = NULL, *sv_s = NULL, *bt_s = NULL;
    const char *models[MAX_MULTI], *revoke[MAX_MULTI];
    struct update_build_payload payloads[UPDATE_PAYLOADS_MAX];
    char names[UPDATE_PAYLOADS_MAX][UPDATE_NAME_MAX + 1];
    unsigned n_models = 0, n_revoke = 0, n_payloads = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (strcmp(a, "--key") == 0)
            key = v;
        else if (strcmp(a, "--passphrase-file") == 0)
            pass_file = v;
        else if (strcmp(a, "--version") == 0)
            version = v;
        else if (strcmp(a, "--security-version") == 0)
            sv_s = v;
        else if (strcmp(a, "--build-time") == 0)
            bt_s = v;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--model") == 0 && n_models < UPDATE_MODELS_MAX)
            models[n_models++] = v;
        else if (strcmp(a, "--revoke") == 0 && n_revoke < UPDATE_REVOKE_MAX)
            revoke[n_revoke++] = v;
        else if (strcmp(a, "--payload") == 0 && n_payloads < UPDATE_PAYLOADS_MAX) {
            const char *eq = strchr(v, '=');
            const char *path = eq ? eq + 1 : v;
            const char *base = strrchr(path, '/');
            base = base ? base + 1 : path;
            size_t nlen = eq ? (size_t)(eq - v) : strlen(base);
            if (nlen == 0 || nlen > UPDATE_NAME_MAX)
                return fail(2, "bad payload name in %s (allowed: [A-Za-z0-9._-]{1,64})", v);
            memcpy(names[n_payloads], eq ? v : base, nlen);
            names[n_payloads][nlen] = '\0';
            if (!update_name_valid(names[n_payloads]))
                return fail(2, "bad payload name in %s (allowed: [A-Za-z0-9._-]{1,64})", v);
            payloads[n_payloads].name = names[n_payloads];
            payloads[n_payloads].path = path;
            n_payloads++;
        } else
            return usage();
    }
    if (!key || !version || !sv_s || !out || n_models == 0 || n_payloads == 0)
        return usage();
    long sv = 0, bt = 0;
    if (safecam_parse_long(sv_s, 0, (long)UINT32_MAX, &sv) != 0)
        return fail(2, "--security-version must be an integer 0..4294967295, not %s", sv_s);
    if (!update_version_valid(version))
        return fail(2, "--version must be MAJOR.MINOR.PATCH[-PRERELEASE], not %s", version);
    for (unsigned i = 0; i < n_models; i++)
        if (!update_name_valid(models[i]))
            return fail(2, "bad model name %s (allowed: [A-Za-z0-9._-]{1,64})", models[i]);
    for (unsigned i = 0; i < n_revoke; i++) {
        unsigned char tmp[UPDATE_KEY_ID_BYTES];
        size_t bl = 0;
        if (strlen(revoke[i]) != 16 || sodium_hex2bin(tmp, sizeof tmp, revoke[i], 16, NULL, &bl, NULL) != 0)
            return fail(2, "--revoke needs a 16-hex-digit key_id, not %s", revoke[i]);
    }
    if (bt_s) {
        if (safecam_parse_long(bt_s, 0, 1L << 40, &bt) != 0)
            return fail(2, "--build-time must be Unix seconds, not %s", bt_s);
    } else {
        const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible builds */
        if (!sde || safecam_parse_long(sde, 0, 1L << 40, &bt) != 0)
            bt = (long)safecam_time_now();
    }

    unsigned char *sk = NULL;
    if (key_load(key, pass_file, &sk) != 0)
        return 1;
    char tmp[PATH_MAX];
    int rc = 1;
    if (safecam_fmt(tmp, sizeof tmp, "%s.tmp.%d", out, (int)getpid()) != 0) {
        sodium_free(sk);
        return fail(2, "output name too long");
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        sodium_free(sk);
        return fail(1, "cannot create %s", out);
    }
    struct update_build_spec spec = {
        .models = models, .n_models = n_models, .version = version, .security_version = (uint32_t)sv,
        .build_time = bt, .payloads = payloads, .n_payloads = n_payloads, .revoke = revoke, .n_revoke = n_revoke,
    };
    int wrc = update_bundle_write(&spec, sk, fd);
    sodium_free(sk);
    if (wrc != 0) {
        close(fd);
        unlink(tmp);
        return fail(1, "signing failed: %s (check payload paths, names and sizes)", safecam_err_name(wrc));
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, out) != 0) {
        unlink(tmp);
        return fail(1, "cannot write %s", out);
    }
    rc = 0;
    return rc;
}

/* ---------------------------------------------------------------- verify / inspect */

static int cmd_verify(int argc, char **argv)
{
    const char *pubs[UPDATE_KEYS_MAX];
    unsigned n_pubs = 0;
    const char *model = NULL, *file = NULL;
    long min_sv = 0, max_bytes = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc && n_pubs < UPDATE_KEYS_MAX)
            pubs[n_pubs++] = argv[++i];
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model = argv[++i];
        else if (strcmp(argv[i], "--min-security-version") == 0 && i + 1 < argc) {
            if (safecam_parse_long(argv[++i], 0, (long)UINT32_MAX, &min_sv) != 0)
                return fail(2, "bad --min-security-version %s", argv[i]);
        } else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc) {
            if (safecam_parse_long(argv[++i], 1, 1L << 42, &max_bytes) != 0)
                return fail(2, "bad --max-bytes %s", argv[i]);
        } else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            return usage();
    }
    if (n_pubs == 0 || !file)
        return usage();
    update_trust *t = NULL;
    update_verifier *v = NULL;
    unsigned char *buf = NULL;
    int rc = 1, fd = -1;
    if (update_trust_new(&t) != 0)
        return fail(1, "out of memory");
    for (unsigned i = 0; i < n_pubs; i++) {
        unsigned char pk[UPDATE_PUBLIC_KEY_BYTES];
        if (update_pubkey_read(pubs[i], pk, NULL) != 0 || update_trust_add(t, pk) != 0) {
            rc = fail(2, "cannot read public key %s", pubs[i]);
            goto out;
        }
    }
    struct update_verify_opts vo = {.model = model, .min_security_version = (uint32_t)min_sv,
                                    .max_bundle_bytes = (uint64_t)max_bytes};
    buf = malloc(1 << 16);
    if (!buf || update_verifier_new(t, &vo, &v) != 0) {
        rc = fail(1, "out of memory");
        goto out;
    }
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = fail(2, "cannot open %s", file);
        goto out;
    }
    int vrc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail(1, "read error on %s", file);
            goto out;
        }
        if (n == 0)
            break;
        if ((vrc = update_verifier_feed(v, buf, (size_t)n)) != 0)
            break;
    }
    if (vrc == 0)
        vrc = update_verifier_finish(v);
    if (vrc != 0) {
        rc = fail(1, "refused: %s", update_reason_name(update_verifier_reason(v)));
        goto out;
    }
    const struct update_manifest *m = update_verifier_manifest(v);
    printf("valid: version=%s security_version=%u key_id=%s payloads=%u\n", m->version,
           (unsigned)m->security_version, m->key_id, m->n_payloads);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    update_verifier_free(v);
    update_trust_free(t);
    return rc;
}

/* Print header and manifest WITHOUT checking the signature (says so). Exit 1 if it does not parse. */
static int cmd_inspect(int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-')
        return usage();
    const char *file = argv[0];
    unsigned char hdr[UPDATE_HEADER_BYTES];
    char key_id[UPDATE_KEY_ID_HEX_BYTES];
    uint32_t mlen = 0;
    char *mjson = NULL;
    int rc = 1;
    FILE *f = fopen(file, "rb");
    if (!f)
        return fail(2, "cannot open %s", file);
    struct update_manifest *m = malloc(sizeof *m);
    if (!m)
        goto out;
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr) {
        rc = fail(1, "not a bundle: %s", "truncated");
        goto out;
    }
    int hrc = update_header_parse(hdr, &mlen, key_id);
    if (hrc != 0) {
        rc = fail(1, "not a bundle: %s", hrc == SAFECAM_ERR_TOOBIG ? "too_large" : "malformed_bundle");
        goto out;
    }
    mjson = malloc(mlen + 1);
    if (!mjson || fread(mjson, 1, mlen, f) != mlen) {
        rc = fail(1, "not a bundle: %s", "truncated");
        goto out;
    }
    mjson[mlen] = '\0';
    if (update_manifest_parse(mjson, mlen, m) != 0) {
        rc = fail(1, "not a bundle: %s", "malformed_manifest");
        goto out;
    }
    json_error_t jerr;
    json_t *man = json_loadb(mjson, mlen, 0, &jerr);
    json_t *o = json_pack("{s:s,s:i,s:s,s:i,s:o,s:s}", "signature", "NOT CHECKED (use verify)", "format",
                          (int)UPDATE_FORMAT_VERSION, "header_key_id", key_id, "manifest_bytes", (int)mlen,
                          "manifest", man, "note", "inspect does not verify anything");
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!text)
        goto out;
    puts(text);
    free(text);
    rc = 0;
out:
    fclose(f);
    free(mjson);
    free(m);
    return rc;
}

/* jansson holds copies of the secret key while parsing/printing key files: every block it frees is
 * wiped first (glibc malloc_usable_size; plain malloc underneath, so free() of its results stays valid). */
static void wiping_free(void *ptr)
{
    if (!ptr)
        return;
    sodium_memzero(ptr, malloc_usable_size(ptr));
    free(ptr);
}

int main(int argc, char **argv)
{
    safecam_log_init("safecam-sign", SAFECAM_LOG_WARN);
    json_set_alloc_funcs(malloc, wiping_free);
    if (sodium_init() < 0)
        return fail(1, "libsodium failed to initialise");
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(cmd, "sign") == 0)
        return cmd_sign(argc - 2, argv + 2);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 2, argv + 2);
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(argc - 2, argv + 2);
    return usage();
}
