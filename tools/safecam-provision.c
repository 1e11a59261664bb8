/* safecam-provision — the factory step for one device: creates its identity (serial, MAC, storage key,
 * ECDSA P-256 TLS key + self-signed certificate) and a unique initial admin password, and writes the
 * printed label. Runs once per device at the factory (or on an explicit --force re-provisioning), as
 * the camera's service user; command-line input is untrusted and validated against allowlists.
 * QCVN 135 G1 (unique initial password), G4 (keys sealed at rest, unique per device) /
 * EN 303 645 5.1-1, 5.4-1, 5.4-4.
 *
 * Usage: safecam-provision --state-dir DIR [--serial S] [--model M] [--mac MAC] [--hostname H]
 *                          --label-out FILE [--force]
 * Exit status: 0 provisioned; 1 already provisioned (without --force) or a failure while provisioning;
 * 2 bad usage or bad input. Every error is one line on stderr.
 *
 * What it writes (see include/safecam/statedir.h), every file mode 0600, directories 0700:
 *   DIR/factory/storage.key        32 random bytes. This file stands in for an OTP fuse or a secure
 *                                  element on a real camera SoC (docs/THREAT-MODEL.md).
 *   DIR/factory/tls.crt            self-signed X.509 v3, ECDSA P-256 / SHA-256, CN = serial, SANs DNS
 *                                  localhost, IP 127.0.0.1, IP ::1, DNS <hostname>; 10 years; random
 *                                  16-byte serial number; KU digitalSignature; EKU serverAuth.
 *   DIR/factory/tls.key.sealed     the private key (PKCS#8 PEM) sealed with seal_data_seal(label
 *                                  "tls.key"); the clear key exists only in memory and is wiped.
 *   DIR/vault.db                   one user "admin", Argon2id hash, password_change_required.
 *   DIR/factory/initial_admin.json {"username","hash"} for factory reset.
 *   DIR/factory/device.json        {"serial","model","mac","product","provisioned_at"}; written last:
 *                                  its presence marks the directory as provisioned.
 *   FILE (--label-out)             {"serial","model","mac","admin_user","initial_password"}: the only
 *                                  place the initial password is ever written. It must lie outside DIR.
 *   DIR/factory/update-ca.pem      (--update-ca FILE) the vendor update server's CA certificate(s), PEM,
 *                                  mode 0644 (public): the only trust anchor of the online update check
 *                                  (config.json update.ca_file defaults to it; docs/update-bundle.md 6).
 *                                  Re-exported from the parsed certificates, so nothing else in FILE
 *                                  (text, a stray private key: refused) is copied. QCVN 135 G3. */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/device.h"
#include "safecam/pwgen.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"
#include "safecam/update.h"

#define UPDATE_PUBKEYS_MAX 8
#define UPDATE_CA_MAX_BYTES (64u * 1024u) /* a CA bundle of a few certificates */
#define UPDATE_CA_MAX_CERTS 8

#define PROG "safecam-provision"
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define DEFAULT_MODEL "SC-100"
#define SERIAL_RANDOM_CHARS 10
#define HOSTNAME_MAX 253
#define LABEL_MAX_BYTES 512

struct options {
    const char *state_dir;
    const char *label_out;
    char serial[33];
    char model[33];
    char mac[18];
    char hostname[HOSTNAME_MAX + 1];
    int have_hostname;
    int force;
    const char *update_pubkeys[UPDATE_PUBKEYS_MAX]; /* --update-pubkey FILE, repeatable */
    size_t n_update_pubkeys;
    const char *update_ca; /* --update-ca FILE */
};

/* One line on stderr; never contains a secret. */
static void fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_line(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    fprintf(stderr, PROG ": %s\n", msg);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " --state-dir DIR [--serial S] [--model M] [--mac MAC] [--hostname H]\n"
               "       " PROG "   --label-out FILE [--force]\n"
               "Creates a device identity and a unique initial admin password in DIR; writes the label\n"
               "JSON {serial, model, mac, admin_user, initial_password} to FILE (outside DIR).\n"
               "  --serial S     [A-Z0-9-]{4,32}     (default: SC + 10 random characters)\n"
               "  --model M      [A-Za-z0-9._-]{1,32} (default: " DEFAULT_MODEL ")\n"
               "  --mac MAC      six hex pairs, e.g. 02:1a:2b:3c:4d:5e (default: random, locally administered)\n"
               "  --hostname H   extra DNS name in the certificate (default: this host's name)\n"
               "  --force        re-provision an already provisioned DIR (new identity, new password)\n"
               "  --update-pubkey FILE  trust this vendor update key (safecam-sign keygen BASE.pub);\n"
               "                 repeatable, for key rotation\n"
               "  --update-ca FILE  the vendor update server's CA certificate (PEM) for the online update\n"
               "                 check; installed as DIR/" CONFIG_UPDATE_CA_DEFAULT "\n");
}

/* ---------------- argument validation (allowlists) ---------------- */

static int in_set(unsigned char c, int upper, int lower, int digit, const char *extra)
{
    return (upper && c >= 'A' && c <= 'Z') || (lower && c >= 'a' && c <= 'z') ||
           (digit && c >= '0' && c <= '9') || (c != '\0' && strchr(extra, c) != NULL);
}

static int serial_valid(const char *s)
{
    size_t n = strnlen(s, 33);
    if (n < 4 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!in_set((unsigned char)s[i], 1, 0, 1, "-"))
            return 0;
    return 1;
}

static int model_valid(const char *s)
{
    size_t n = strnlen(s, 33);
    if (n < 1 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!in_set((unsigned char)s[i], 1, 1, 1, "._-"))
            return 0;
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Six hex pairs, separated all by ':' or all by '-', or not at all. Unicast, not all-zero.
 * Normalised to "aa:bb:cc:dd:ee:ff" in out. */
static int mac_parse(const char *s, char out[18])
{
    size_t n = strnlen(s, 18);
    char sep = 0;
    if (n == 17)
        sep = s[2];
    else if (n != 12)
        return 0;
    if (sep && sep != ':' && sep != '-')
        return 0;
    unsigned char b[6];
    size_t pos = 0;
    for (size_t i = 0; i < 6; i++) {
        if (sep && i > 0) {
            if (s[pos] != sep)
                return 0;
            pos++;
        }
        int hi = hexval((unsigned char)s[pos]), lo = hexval((unsigned char)s[pos + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        b[i] = (unsigned char)(hi * 16 + lo);
        pos += 2;
    }
    if (b[0] & 0x01) /* group (multicast/broadcast) address: not a device */
        return 0;
    if ((b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) == 0)
        return 0;
    return safecam_fmt(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]) == 0;
}

/* RFC 1123 host name: labels of [A-Za-z0-9-]{1,63}, not starting or ending with '-'. */
static int hostname_valid(const char *s)
{
    size_t n = strnlen(s, HOSTNAME_MAX + 1);
    if (n < 1 || n > HOSTNAME_MAX)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!in_set(c, 1, 1, 1, "-") || (label == 0 && c == '-') || ++label > 63)
            return 0;
    }
    return 1;
}

static int path_arg_valid(const char *s)
{
    size_t n = strnlen(s, PATH_MAX);
    return n > 0 && n < PATH_MAX - 64 && safecam_utf8_valid(s, n);
}

/* Returns EXIT_OK, or EXIT_USAGE after printing one line (or the help text: *done = 1). */
static int options_parse(int argc, char **argv, struct options *o, int *done)
{
    enum { OPT_STATE_DIR = 256, OPT_SERIAL, OPT_MODEL, OPT_MAC, OPT_HOSTNAME, OPT_LABEL_OUT, OPT_FORCE, OPT_HELP,
           OPT_UPDATE_PUBKEY, OPT_UPDATE_CA };
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, OPT_STATE_DIR}, {"serial", required_argument, NULL, OPT_SERIAL},
        {"model", required_argument, NULL, OPT_MODEL},         {"mac", required_argument, NULL, OPT_MAC},
        {"hostname", required_argument, NULL, OPT_HOSTNAME},   {"label-out", required_argument, NULL, OPT_LABEL_OUT},
        {"force", no_argument, NULL, OPT_FORCE},               {"help", no_argument, NULL, OPT_HELP},
        {"update-pubkey", required_argument, NULL, OPT_UPDATE_PUBKEY},
        {"update-ca", required_argument, NULL, OPT_UPDATE_CA},
        {NULL, 0, NULL, 0},
    };
    unsigned seen = 0;
    opterr = 0;
    optind = 1;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, ":", longopts, &idx);
        if (c == -1)
            break;
        if (c == '?') {
            fail_line("unknown option '%s' (see --help)", argv[optind - 1]);
            return EXIT_USAGE;
        }
        if (c == ':') {
            fail_line("option '%s' needs a value", argv[optind - 1]);
            return EXIT_USAGE;
        }
        unsigned bit = 1u << (c - OPT_STATE_DIR);
        if (c == OPT_UPDATE_PUBKEY) {
            if (!path_arg_valid(optarg) || access(optarg, R_OK) != 0) {
                fail_line("--update-pubkey: cannot read the key file");
                return EXIT_USAGE;
            }
            if (o->n_update_pubkeys >= UPDATE_PUBKEYS_MAX) {
                fail_line("--update-pubkey: at most %d keys", UPDATE_PUBKEYS_MAX);
                return EXIT_USAGE;
            }
            o->update_pubkeys[o->n_update_pubkeys++] = optarg;
            continue;
        }
        if (seen & bit) {
            fail_line("option '--%s' given twice", idx >= 0 ? longopts[idx].name : "?");
            return EXIT_USAGE;
        }
        seen |= bit;
        switch (c) {
        case OPT_STATE_DIR:
            if (!path_arg_valid(optarg)) {
                fail_line("--state-dir: not a usable path");
                return EXIT_USAGE;
            }
            o->state_dir = optarg;
            break;
        case OPT_LABEL_OUT:
            if (!path_arg_valid(optarg)) {
                fail_line("--label-out: not a usable path");
                return EXIT_USAGE;
            }
            o->label_out = optarg;
            break;
        case OPT_SERIAL:
            if (!serial_valid(optarg) || safecam_strlcpy(o->serial, optarg, sizeof o->serial) != 0) {
                fail_line("--serial: must be 4 to 32 characters of A-Z, 0-9 and '-'");
                return EXIT_USAGE;
            }
            break;
        case OPT_MODEL:
            if (!model_valid(optarg) || safecam_strlcpy(o->model, optarg, sizeof o->model) != 0) {
                fail_line("--model: must be 1 to 32 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
                return EXIT_USAGE;
            }
            break;
        case OPT_MAC:
            if (!mac_parse(optarg, o->mac)) {
                fail_line("--mac: must be a unicast MAC of six hex pairs, e.g. 02:1a:2b:3c:4d:5e");
                return EXIT_USAGE;
            }
            break;
        case OPT_HOSTNAME:
            if (!hostname_valid(optarg) || safecam_strlcpy(o->hostname, optarg, sizeof o->hostname) != 0) {
                fail_line("--hostname: not a valid DNS host name");
                return EXIT_USAGE;
            }
            o->have_hostname = 1;
            break;
        case OPT_FORCE:
            o->force = 1;
            break;
        case OPT_UPDATE_CA:
            if (!path_arg_valid(optarg)) {
                fail_line("--update-ca: not a usable path");
                return EXIT_USAGE;
            }
            o->update_ca = optarg;
            break;
        case OPT_HELP:
            usage(stdout);
            *done = 1;
            return EXIT_OK;
        default:
            fail_line("bad arguments (see --help)");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fail_line("unexpected argument '%s' (see --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (!o->state_dir) {
        fail_line("--state-dir DIR is required");
        return EXIT_USAGE;
    }
    if (!o->label_out) {
        fail_line("--label-out FILE is required");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---------------- defaults ---------------- */

static void serial_random(char out[33])
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    out[0] = 'S';
    out[1] = 'C';
    for (size_t i = 0; i < SERIAL_RANDOM_CHARS; i++)
        out[2 + i] = set[randombytes_uniform((uint32_t)(sizeof set - 1))];
    out[2 + SERIAL_RANDOM_CHARS] = '\0';
}

/* Locally administered unicast address 02:xx:xx:xx:xx:xx. */
static void mac_random(char out[18])
{
    unsigned char b[5];
    randombytes_buf(b, sizeof b);
    if (safecam_fmt(out, 18, "02:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4]) != 0)
        out[0] = '\0';
}

/* ---------------- state directory ---------------- */

/* mkdir (parents as needed), then insist on a real directory (no symlink) of mode 0700 owned by us. */
static int dir_make_private(const char *path)
{
    if (safecam_mkdir_p(path, 0700) != 0)
        return SAFECAM_ERR_IO;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return SAFECAM_ERR_IO;
    if ((st.st_mode & 07777) != 0700 && chmod(path, 0700) != 0)
        return SAFECAM_ERR_IO;
    return 0;
}

static int state_file(const struct options *o, const char *rel, char *out, size_t out_size)
{
    return safecam_path_join(out, out_size, o->state_dir, rel);
}

static int exists_nofollow(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* 1 if DIR already holds a provisioned device (identity or user database). */
static int already_provisioned(const struct options *o)
{
    char p[PATH_MAX];
    if (state_file(o, STATEDIR_DEVICE_JSON, p, sizeof p) == 0 && exists_nofollow(p))
        return 1;
    if (state_file(o, STATEDIR_VAULT_DB, p, sizeof p) == 0 && exists_nofollow(p))
        return 1;
    return 0;
}

/* 1 if the label file would land inside the state directory (the plaintext must never be there). */
static int label_inside_state_dir(const struct options *o)
{
    char state_real[PATH_MAX], label_dir[PATH_MAX], label_dir_real[PATH_MAX];
    if (!realpath(o->state_dir, state_real))
        return 1; /* cannot tell: refuse */
    if (safecam_strlcpy(label_dir, o->label_out, sizeof label_dir) != 0)
        return 1;
    if (!realpath(dirname(label_dir), label_dir_real))
        return -1; /* the label's directory does not exist */
    size_t n = strlen(state_real);
    return strncmp(label_dir_real, state_real, n) == 0 &&
           (label_dir_real[n] == '\0' || label_dir_real[n] == '/' || strcmp(state_real, "/") == 0);
}

/* ---------------- vendor update server CA (--update-ca) ---------------- */

/* Read FILE (at most UPDATE_CA_MAX_BYTES), parse it as PEM X.509 certificates, insist on at least one
 * currently valid CA certificate (basicConstraints CA:TRUE) and no private key, and re-export the
 * certificates as PEM into *out (gnutls_free). Prints one line and returns SAFECAM_ERR_INVAL on a bad
 * file. Runs before anything is created. */
static int update_ca_load(const char *file, gnutls_datum_t *out)
{
    int rc = SAFECAM_ERR_INVAL;
    char *text = NULL;
    size_t len = 0;
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    gnutls_datum_t pem = {NULL, 0};
    out->data = NULL;
    out->size = 0;
    int frc = safecam_file_read(file, UPDATE_CA_MAX_BYTES, &text, &len);
    if (frc != 0) {
        fail_line("--update-ca: %s", frc == SAFECAM_ERR_TOOBIG ? "file larger than 64 KiB"
                                                               : "cannot read the certificate file");
        goto out;
    }
    if (memmem(text, len, "PRIVATE KEY", 11) != NULL) {
        fail_line("--update-ca: the file holds a private key; give the CA certificate only");
        goto out;
    }
    gnutls_datum_t in = {(unsigned char *)text, (unsigned)len};
    if (len == 0 || gnutls_x509_crt_list_import2(&crts, &n, &in, GNUTLS_X509_FMT_PEM,
                                                  0) < 0 || n == 0) {
        fail_line("--update-ca: not a PEM X.509 certificate");
        goto out;
    }
    if (n > UPDATE_CA_MAX_CERTS) {
        fail_line("--update-ca: more than %d certificates", UPDATE_CA_MAX_CERTS);
        goto out;
    }
    time_t now = (time_t)safecam_time_now();
    int have_ca = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned int ca = 0;
        int pathlen = 0;
        if (gnutls_x509_crt_get_basic_constraints(crts[i], NULL, &ca, &pathlen) >= 0 && ca &&
            gnutls_x509_crt_get_activation_time(crts[i]) <= now && gnutls_x509_crt_get_expiration_time(crts[i]) > now)
            have_ca = 1;
        gnutls_datum_t one = {NULL, 0};
        if (gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_PEM, &one) < 0) {
            fail_line("--update-ca: cannot re-encode certificate %u", i + 1);
            goto out;
        }
        unsigned char *grown = gnutls_realloc(pem.data, pem.size + one.size);
        if (!grown) {
            gnutls_free(one.data);
            fail_line("--update-ca: out of memory");
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
        memcpy(grown + pem.size, one.data, one.size);
        pem.data = grown;
        pem.size += one.size;
        gnutls_free(one.data);
    }
    if (!have_ca) {
        fail_line("--update-ca: no currently valid CA certificate (basicConstraints CA:TRUE) in the file");
        goto out;
    }
    *out = pem;
    pem.data = NULL;
    rc = 0;
out:
    gnutls_free(pem.data);
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    free(text);
    return rc;
}

/* ---------------- JSON files ---------------- */

static int json_file_write(const char *path, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return SAFECAM_ERR_NOMEM;
    size_t len = strlen(text);
    int rc = safecam_file_write_atomic(path, text, len, 0600);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

/* The label is built by hand in locked, wiped memory so no allocator copy of the password is left
 * behind. Every value comes from a charset without '"' or '\\' (checked), so no escaping is needed. */
static int label_write(const struct options *o, const char *password)
{
    const char *vals[] = {o->serial, o->model, o->mac, SAFECAM_ADMIN_USER, password};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(vals); i++)
        for (const char *p = vals[i]; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                return SAFECAM_ERR_INTERNAL;
    char *buf = sodium_malloc(LABEL_MAX_BYTES);
    if (!buf)
        return SAFECAM_ERR_NOMEM;
    int rc = safecam_fmt(buf, LABEL_MAX_BYTES,
                         "{\"serial\":\"%s\",\"model\":\"%s\",\"mac\":\"%s\",\"admin_user\":\"%s\","
                         "\"initial_password\":\"%s\"}\n",
                         o->serial, o->model, o->mac, SAFECAM_ADMIN_USER, password);
    if (rc == 0)
        rc = safecam_file_write_atomic(o->label_out, buf, strlen(buf), 0600);
    sodium_free(buf);
    return rc;
}

/* ---------------- main ---------------- */

int main(int argc, char **argv)
{
    struct options o;
    memset(&o, 0, sizeof o);
    int done = 0;
    umask(077);
    safecam_log_init("provision", SAFECAM_LOG_WARN);
    int ex = options_parse(argc, argv, &o, &done);
    if (ex != EXIT_OK || done)
        return ex;

    ex = EXIT_FAIL;
    gnutls_datum_t update_ca = {NULL, 0};
    uint8_t *storage_key = NULL;
    char *password = NULL;
    char hash[VAULT_HASH_BYTES];
    char path[PATH_MAX];
    json_t *obj = NULL;
    int created_dir = 0;
    memset(hash, 0, sizeof hash);

    if (sodium_init() < 0) {
        fail_line("libsodium cannot be initialised");
        goto out;
    }
    if (!o.serial[0])
        serial_random(o.serial);
    if (!o.model[0] && safecam_strlcpy(o.model, DEFAULT_MODEL, sizeof o.model) != 0)
        goto out;
    if (!o.mac[0])
        mac_random(o.mac);
    if (!o.have_hostname) {
        char h[HOSTNAME_MAX + 2];
        memset(h, 0, sizeof h);
        if (gethostname(h, sizeof h - 1) == 0 && hostname_valid(h) &&
            safecam_strlcpy(o.hostname, h, sizeof o.hostname) == 0)
            o.have_hostname = 1;
    }

    /* Refusals first: nothing is created or changed when we refuse. */
    if (o.update_ca && update_ca_load(o.update_ca, &update_ca) != 0) {
        ex = EXIT_USAGE;
        goto out;
    }
    if (already_provisioned(&o) && !o.force) {
        fail_line("%s is already provisioned; use --force to re-provision it (new identity, new password)",
                  o.state_dir);
        goto out;
    }
    struct stat st;
    if (lstat(o.state_dir, &st) != 0) {
        created_dir = 1;
    } else if (!S_ISDIR(st.st_mode)) {
        fail_line("--state-dir %s exists and is not a directory", o.state_dir);
        ex = EXIT_USAGE;
        goto out;
    }
    if (dir_make_private(o.state_dir) != 0) {
        fail_line("cannot create the state directory %s (mode 0700)", o.state_dir);
        goto out;
    }
    int inside = label_inside_state_dir(&o);
    if (inside != 0) {
        fail_line(inside < 0 ? "--label-out: its directory does not exist"
                             : "--label-out must be outside the state directory (the label holds the password)");
        if (created_dir)
            (void)rmdir(o.state_dir);
        ex = EXIT_USAGE;
        goto out;
    }
    if (state_file(&o, STATEDIR_FACTORY, path, sizeof path) != 0 || dir_make_private(path) != 0) {
        fail_line("cannot create %s/%s (mode 0700)", o.state_dir, STATEDIR_FACTORY);
        goto out;
    }

    /* The device storage key: stand-in for an OTP fuse / secure element (see the header comment). */
    storage_key = sodium_malloc(SEAL_KEY_BYTES);
    if (!storage_key)
        goto out;
    randombytes_buf(storage_key, SEAL_KEY_BYTES);
    int rc;
    if ((rc = state_file(&o, STATEDIR_STORAGE_KEY, path, sizeof path)) != 0 ||
        (rc = safecam_file_write_atomic(path, storage_key, SEAL_KEY_BYTES, 0600)) != 0) {
        fail_line("cannot write %s: %s", STATEDIR_STORAGE_KEY, safecam_err_name(rc));
        goto out;
    }

    if ((rc = device_tls_identity_create(o.state_dir, o.serial, o.have_hostname ? o.hostname : NULL, storage_key)) !=
        0) {
        fail_line("cannot create the TLS identity: %s", safecam_err_name(rc));
        goto out;
    }

    /* The initial password: unique, from the CSPRNG, never containing this device's identity. */
    password = sodium_malloc(PWGEN_PASSWORD_BUF_BYTES);
    if (!password)
        goto out;
    const struct password_context ctx = {
        .username = SAFECAM_ADMIN_USER, .serial = o.serial, .mac = o.mac, .model = o.model,
        .product = SAFECAM_PRODUCT_NAME,
    };
    if ((rc = pwgen_initial_password(&ctx, password, PWGEN_PASSWORD_BUF_BYTES)) != 0) {
        fail_line("cannot generate the initial password: %s", safecam_err_name(rc));
        goto out;
    }
    if ((rc = vault_password_hash(password, hash)) != 0) {
        fail_line("cannot hash the initial password: %s", safecam_err_name(rc));
        goto out;
    }
    /* The label before the vault: if writing it fails, no password exists that nobody knows. */
    if ((rc = label_write(&o, password)) != 0) {
        fail_line("cannot write the label to %s: %s", o.label_out, safecam_err_name(rc));
        goto out;
    }
    sodium_free(password);
    password = NULL;

    if ((rc = vault_store_provision(o.state_dir, SAFECAM_ADMIN_USER, hash, o.force)) != 0) {
        fail_line("cannot create the user database: %s", safecam_err_name(rc));
        goto out;
    }
    obj = json_pack("{s:s, s:s}", "username", SAFECAM_ADMIN_USER, "hash", hash);
    if (!obj || (rc = state_file(&o, STATEDIR_INITIAL_ADMIN, path, sizeof path)) != 0 ||
        (rc = json_file_write(path, obj)) != 0) {
        fail_line("cannot write %s", STATEDIR_INITIAL_ADMIN);
        goto out;
    }
    json_decref(obj);

    if (o.force && state_file(&o, STATEDIR_AUDIT_DB, path, sizeof path) == 0 && exists_nofollow(path)) {
        audit_log *log = NULL;
        if (audit_log_open(path, &log) == 0) {
            if (audit_event_record(log, AUDIT_FACTORY_RESET, PROG, NULL, "re-provisioned with --force") != 0)
                fail_line("warning: the re-provisioning was not recorded in the audit log");
            audit_log_close(log);
        }
    }

    /* Vendor update keys (QCVN 135 G3): trusted from the factory on, several at once for key rotation. */
    for (size_t k = 0; k < o.n_update_pubkeys; k++) {
        if ((rc = update_trust_key_install(o.state_dir, o.update_pubkeys[k])) != 0) {
            fail_line("--update-pubkey %s: %s", o.update_pubkeys[k],
                      rc == SAFECAM_ERR_INVAL ? "not a safecam-sign public key" : safecam_err_name(rc));
            ex = rc == SAFECAM_ERR_INVAL ? EXIT_USAGE : ex;
            goto out;
        }
    }

    /* The vendor update server's CA (public; the online check trusts nothing else). */
    if (o.update_ca && ((rc = state_file(&o, CONFIG_UPDATE_CA_DEFAULT, path, sizeof path)) != 0 ||
                        (rc = safecam_file_write_atomic(path, update_ca.data, update_ca.size, 0644)) != 0)) {
        fail_line("cannot write %s: %s", CONFIG_UPDATE_CA_DEFAULT, safecam_err_name(rc));
        goto out;
    }

    /* device.json last: its presence marks the directory as provisioned. */
    obj = json_pack("{s:s, s:s, s:s, s:s, s:I}", "serial", o.serial, "model", o.model, "mac", o.mac, "product",
                    SAFECAM_PRODUCT_NAME, "provisioned_at", (json_int_t)safecam_time_now());
    if (!obj || (rc = state_file(&o, STATEDIR_DEVICE_JSON, path, sizeof path)) != 0 ||
        (rc = json_file_write(path, obj)) != 0) {
        fail_line("cannot write %s", STATEDIR_DEVICE_JSON);
        goto out;
    }
    printf("provisioned %s: serial %s, model %s, mac %s; label written to %s\n", o.state_dir, o.serial, o.model,
           o.mac, o.label_out);
    ex = EXIT_OK;
out:
    gnutls_free(update_ca.data);
    json_decref(obj);
    sodium_memzero(hash, sizeof hash);
    if (password)
        sodium_free(password);
    if (storage_key)
        sodium_free(storage_key);
    return ex;
}
