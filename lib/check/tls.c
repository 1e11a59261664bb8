/* tls.c — TLS probing for SC-02 with GnuTLS client handshakes: which protocol versions and which
 * cipher suites the device accepts (one suite offered per handshake), and its certificate's key,
 * signature algorithm and validity; the suites GnuTLS cannot offer (ARIA) with raw TLS 1.2 ClientHellos
 * (tls_hello.c), at most RAW_PROBES_MAX per port. Trust level: the device's handshake messages are parsed by GnuTLS;
 * we only read facts GnuTLS reports. Never verifies or trusts the certificate (that is the point). */
#include "check_internal.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything GnuTLS can offer, so weak suites are found too. */
#define ALL_CIPHERS_NO_NULL                                                                                  \
    "+CIPHER-ALL:+3DES-CBC:+ARCFOUR-128:+CAMELLIA-128-CBC:+CAMELLIA-256-CBC:+CAMELLIA-128-GCM:"              \
    "+CAMELLIA-256-GCM:+AES-128-CCM-8:+AES-256-CCM-8"
/* GnuTLS refuses a priority string offering only TLS 1.3 together with the NULL cipher ("No or
 * insufficient priorities were set"): TLS 1.3 handshakes are offered without it. */
#define ALL_CIPHERS ALL_CIPHERS_NO_NULL ":+NULL"
#define ALL_MACS "+MAC-ALL:+MD5:+SHA256:+SHA384"
#define ALL_KX "+KX-ALL:+DHE-DSS:+ANON-DH:+ANON-ECDH"
#define COMMON "+SIGN-ALL:+COMP-NULL:+GROUP-ALL:+CTYPE-X509"

int check_tls_global_init(void)
{
    static int done;
    if (done)
        return 0;
    if (gnutls_global_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    done = 1;
    return 0;
}

struct hs {
    int ok;
    int transport_error;     /* connect failed: the endpoint, not the suite, is the problem */
    char version[16];
    char suite[96];
    unsigned char id[2];
    gnutls_datum_t cert;     /* DER of the peer certificate when asked, gnutls_free */
    int64_t ms;
};

static int handshake(const struct check_ctx *c, int port, const char *prio, int want_cert, struct hs *out)
{
    memset(out, 0, sizeof *out);
    int fd = -1;
    gnutls_session_t s = NULL;
    gnutls_certificate_credentials_t x = NULL;
    gnutls_anon_client_credentials_t an = NULL;
    int64_t t0 = safecam_time_mono_ms();
    int tmo = c->opt->timeout_s * 1000;
    if (check_tcp_connect(c, port, tmo, &fd) != 0) {
        out->transport_error = 1;
        return SAFECAM_ERR_IO;
    }
    int rc = SAFECAM_ERR_INTERNAL;
    if (gnutls_certificate_allocate_credentials(&x) < 0 || gnutls_anon_allocate_client_credentials(&an) < 0 ||
        gnutls_init(&s, GNUTLS_CLIENT) < 0)
        goto out;
    const char *errpos = NULL;
    if (gnutls_priority_set_direct(s, prio, &errpos) < 0) {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    (void)gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x);
    (void)gnutls_credentials_set(s, GNUTLS_CRD_ANON, an);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, (unsigned)tmo);
    int hr;
    do {
        hr = gnutls_handshake(s);
    } while (hr < 0 && gnutls_error_is_fatal(hr) == 0);
    if (hr < 0) {
        rc = SAFECAM_ERR_DENIED;
        goto out;
    }
    out->ok = 1;
    const char *vn = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
    IGN_STRLCPY(out->version, vn ? vn : "?", sizeof out->version);
    const char *sn = gnutls_ciphersuite_get(s);
    if (sn == NULL)
        sn = gnutls_cipher_suite_get_name(gnutls_kx_get(s), gnutls_cipher_get(s), gnutls_mac_get(s));
    IGN_STRLCPY(out->suite, sn ? sn : "?", sizeof out->suite);
    if (want_cert) {
        unsigned n = 0;
        const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
        if (certs != NULL && n > 0) {
            out->cert.data = gnutls_malloc(certs[0].size);
            if (out->cert.data) {
                memcpy(out->cert.data, certs[0].data, certs[0].size);
                out->cert.size = certs[0].size;
            }
        }
    }
    (void)gnutls_bye(s, GNUTLS_SHUT_WR);
    rc = 0;
out:
    out->ms = safecam_time_mono_ms() - t0;
    if (s)
        gnutls_deinit(s);
    if (x)
        gnutls_certificate_free_credentials(x);
    if (an)
        gnutls_anon_free_client_credentials(an);
    if (fd >= 0)
        close(fd);
    return rc;
}

int check_tls_detect(const struct check_ctx *c, int port)
{
    struct hs h;
    char prio[512];
    if (check_tls_global_init() != 0)
        return 0;
    /* first what a modern client offers (TLS 1.3 included: with the NULL cipher in the list GnuTLS
     * stops offering TLS 1.3), then the legacy versions and suites */
    if (safecam_fmt(prio, sizeof prio, "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:%s:%s:%s", ALL_CIPHERS_NO_NULL, ALL_MACS,
                    ALL_KX) != 0)
        return 0;
    (void)handshake(c, port, prio, 0, &h);
    if (h.ok || h.transport_error)
        return h.ok;
    if (safecam_fmt(prio, sizeof prio, "NORMAL:-VERS-TLS1.3:+VERS-TLS1.0:+VERS-TLS1.1:%s:%s:%s", ALL_CIPHERS,
                    ALL_MACS, ALL_KX) != 0)
        return 0;
    (void)handshake(c, port, prio, 0, &h);
    return h.ok;
}

static json_t *cert_facts(const gnutls_datum_t *der, char *pin, size_t pin_size)
{
    json_t *o = json_object();
    gnutls_x509_crt_t crt = NULL;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t spki = {NULL, 0};
    if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
        json_object_set_new(o, "error", json_string("certificate not parseable"));
        goto out;
    }
    unsigned bits = 0;
    int pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
    const char *pkn = gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)pk);
    json_object_set_new(o, "key_type", json_string(pkn ? pkn : "unknown"));
    json_object_set_new(o, "key_bits", json_integer(bits));
    if (pk == GNUTLS_PK_ECDSA) {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        gnutls_datum_t xx = {NULL, 0}, yy = {NULL, 0};
        if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &xx, &yy) >= 0) {
            const char *cn = gnutls_ecc_curve_get_name(curve);
            json_object_set_new(o, "curve", json_string(cn ? cn : "?"));
            gnutls_free(xx.data);
            gnutls_free(yy.data);
        }
    }
    int sig = gnutls_x509_crt_get_signature_algorithm(crt);
    const char *sn = gnutls_sign_get_name((gnutls_sign_algorithm_t)sig);
    json_object_set_new(o, "signature_algorithm", json_string(sn ? sn : "unknown"));
    time_t nb = gnutls_x509_crt_get_activation_time(crt);
    time_t na = gnutls_x509_crt_get_expiration_time(crt);
    char tb[32] = "", ta[32] = "";
    if (safecam_time_rfc3339((int64_t)nb, tb, sizeof tb) != 0)
        tb[0] = '\0';
    if (safecam_time_rfc3339((int64_t)na, ta, sizeof ta) != 0)
        ta[0] = '\0';
    json_object_set_new(o, "not_before", json_string(tb));
    json_object_set_new(o, "not_after", json_string(ta));
    json_object_set_new(o, "not_before_unix", json_integer((json_int_t)nb));
    json_object_set_new(o, "not_after_unix", json_integer((json_int_t)na));
    gnutls_datum_t dn = {NULL, 0};
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
        char buf[256];
        check_printable(buf, sizeof buf, (const char *)dn.data, dn.size);
        json_object_set_new(o, "subject", json_string(buf));
        gnutls_free(dn.data);
    }
    if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) >= 0) {
        char buf[256];
        check_printable(buf, sizeof buf, (const char *)dn.data, dn.size);
        json_object_set_new(o, "issuer", json_string(buf));
        gnutls_free(dn.data);
    }
    if (gnutls_pubkey_init(&pub) >= 0 && gnutls_pubkey_import_x509(pub, crt, 0) >= 0 &&
        gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) >= 0) {
        unsigned char h[32];
        char b64[64];
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, h) >= 0) {
            sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(o, "spki_sha256", json_string(b64));
            if (pin != NULL)
                IGN_FMT(pin, pin_size, "sha256//%s", b64);
        }
        gnutls_free(spki.data);
    }
out:
    if (pub)
        gnutls_pubkey_deinit(pub);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    return o;
}

static int kx_testable(gnutls_kx_algorithm_t kx)
{
    switch (kx) {
    case GNUTLS_KX_RSA:
    case GNUTLS_KX_DHE_DSS:
    case GNUTLS_KX_DHE_RSA:
    case GNUTLS_KX_ANON_DH:
    case GNUTLS_KX_ANON_ECDH:
    case GNUTLS_KX_ECDHE_RSA:
    case GNUTLS_KX_ECDHE_ECDSA:
        return 1;
    default:
        return 0;
    }
}

/* TLS 1.2 suites GnuTLS cannot offer, detected with a raw ClientHello: ARIA (RFC 6209), GCM and CBC, with
 * the key exchanges servers implement (OpenSSL has the GCM ones). */
static const struct {
    uint16_t id;
    const char *name;
} raw_suites[] = {
    {0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256"},         {0xC03D, "TLS_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xC042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256"},     {0xC043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384"},
    {0xC044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256"},     {0xC045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xC046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256"},     {0xC047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384"},
    {0xC048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"}, {0xC049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"},
    {0xC04C, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"},   {0xC04D, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"},
    {0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"},         {0xC051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"},     {0xC053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"},     {0xC057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"},
    {0xC05A, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"},     {0xC05B, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"},
    {0xC05C, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"}, {0xC05D, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"},
    {0xC060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"},   {0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"},
};
/* one probe per suite found plus the one that ends the search */
#define RAW_PROBES_MAX (SAFECAM_ARRAY_LEN(raw_suites) + 1)
#define RAW_ANSWER_MAX 4096

/* One ClientHello offering suites[n] on a new connection; reads until the ServerHello (or an alert) is
 * parsed, the peer closes, RAW_ANSWER_MAX bytes or the timeout. 0 with *sh filled; SAFECAM_ERR_IO (no
 * connection), SAFECAM_ERR_CLOSED / SAFECAM_ERR_TIMEOUT (no answer), SAFECAM_ERR_PROTO (not a ServerHello). */
static int raw_hello(const struct check_ctx *c, int port, const uint16_t *suites, size_t n,
                     struct check_tls_server_hello *sh)
{
    unsigned char hello[512], rnd[32], ans[RAW_ANSWER_MAX];
    size_t hlen = 0, got = 0;
    randombytes_buf(rnd, sizeof rnd);
    if (check_tls12_client_hello_build(suites, n, rnd, hello, sizeof hello, &hlen) != 0)
        return SAFECAM_ERR_INTERNAL;
    int tmo = c->opt->timeout_s * 1000, fd = -1;
    if (check_tcp_connect(c, port, tmo, &fd) != 0)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    struct check_conn k = {.fd = fd};
    if (check_conn_write(&k, hello, hlen) != 0)
        goto out;
    int64_t end = safecam_time_mono_ms() + tmo;
    rc = SAFECAM_ERR_TIMEOUT;
    while (got < sizeof ans) {
        int64_t left = end - safecam_time_mono_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t r = read(fd, ans + got, sizeof ans - got);
        if (r <= 0) {
            rc = got ? SAFECAM_ERR_PROTO : SAFECAM_ERR_CLOSED;
            break;
        }
        got += (size_t)r;
        int pr = check_tls_server_hello_parse(ans, got, sh);
        if (pr != 1) {
            rc = pr == 0 ? 0 : SAFECAM_ERR_PROTO;
            break;
        }
    }
out:
    close(fd);
    return rc;
}

/* SC-02: the suites of raw_suites the endpoint accepts with TLS 1.2, the way testssl finds them: offer all
 * that are left, note the one the server picks, offer the rest again, until it refuses (alert, close) or
 * picks one not offered. Appends each to suites; *probes gets the ClientHellos sent, why how it ended. */
static void raw_probe(struct check_ctx *c, int port, json_t *suites, int *probes, char *why, size_t why_size)
{
    uint16_t left[SAFECAM_ARRAY_LEN(raw_suites)];
    size_t n = SAFECAM_ARRAY_LEN(raw_suites);
    for (size_t i = 0; i < n; i++)
        left[i] = raw_suites[i].id;
    *probes = 0;
    IGN_STRLCPY(why, "probe limit reached", why_size);
    while (n > 0 && (size_t)*probes < RAW_PROBES_MAX) {
        struct check_tls_server_hello sh;
        int rc = raw_hello(c, port, left, n, &sh);
        (*probes)++;
        if (rc != 0) {
            IGN_FMT(why, why_size, "%s", rc == SAFECAM_ERR_CLOSED ? "closed without a ServerHello"
                                         : rc == SAFECAM_ERR_TIMEOUT ? "no ServerHello before the timeout"
                                         : rc == SAFECAM_ERR_IO ? "connection failed"
                                                                : "answer is not a ServerHello");
            return;
        }
        if (sh.alert) {
            IGN_FMT(why, why_size, "refused with alert %d", sh.alert_desc);
            return;
        }
        size_t k = 0;
        while (k < n && left[k] != sh.suite)
            k++;
        if (k == n || sh.version != 0x0303) {
            IGN_FMT(why, why_size, "ServerHello with suite 0x%04X, version 0x%04X: not one offered", sh.suite,
                    sh.version);
            return;
        }
        const char *name = "?";
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(raw_suites); i++)
            if (raw_suites[i].id == sh.suite)
                name = raw_suites[i].name;
        char idhex[8];
        IGN_FMT(idhex, sizeof idhex, "0x%04X", sh.suite);
        json_array_append_new(suites, json_pack("{s:s,s:s,s:s,s:b,s:s}", "version", "TLS1.2", "id", idhex, "name",
                                                name, "weak", check_tls_suite_weak(name), "probe", "raw ClientHello"));
        left[k] = left[--n];
        if (n == 0)
            IGN_STRLCPY(why, "every suite offered was accepted", why_size);
        if (c->opt->delay_ms > 0)
            check_pace(c);
    }
}

int check_tls_probe(struct check_ctx *c, int port, json_t **facts_out)
{
    static const struct {
        const char *name;
        const char *kw;
        gnutls_protocol_t v;
    } versions[] = {
        {"TLS1.0", "VERS-TLS1.0", GNUTLS_TLS1_0},
        {"TLS1.1", "VERS-TLS1.1", GNUTLS_TLS1_1},
        {"TLS1.2", "VERS-TLS1.2", GNUTLS_TLS1_2},
        {"TLS1.3", "VERS-TLS1.3", GNUTLS_TLS1_3},
    };
    *facts_out = NULL;
    if (check_tls_global_init() != 0)
        return SAFECAM_ERR_INTERNAL;
    json_t *f = json_object();
    json_t *vers = json_object();
    json_t *suites = json_array();
    json_object_set_new(f, "port", json_integer(port));
    json_object_set_new(f, "versions", vers);
    json_object_set_new(f, "suites", suites);
    json_object_set_new(f, "ssl3", json_string("not testable: this GnuTLS has no SSL 3.0"));
    int any = 0, handshakes = 0, tested = 0;
    int64_t t0 = safecam_time_mono_ms();
    char prio[768];
    for (size_t vi = 0; vi < SAFECAM_ARRAY_LEN(versions); vi++) {
        struct hs h;
        int tls13 = versions[vi].v == GNUTLS_TLS1_3;
        if (safecam_fmt(prio, sizeof prio, "NONE:+%s:%s:%s:%s:%s", versions[vi].kw,
                        tls13 ? ALL_CIPHERS_NO_NULL : ALL_CIPHERS, ALL_MACS, ALL_KX, COMMON) != 0)
            goto fail;
        int want_cert = json_object_get(f, "certificate") == NULL;
        int hrc = handshake(c, port, prio, want_cert, &h);
        handshakes++;
        if (h.transport_error && vi == 0) {
            json_decref(f);
            return SAFECAM_ERR_IO;
        }
        if (hrc == SAFECAM_ERR_INVAL || hrc == SAFECAM_ERR_INTERNAL || h.transport_error) {
            /* the local TLS library could not offer this version, or the connection failed: that is
             * not an answer of the device; SC-02/SC-08 report the version as not tested */
            char why[128];
            IGN_FMT(why, sizeof why, "not tested: %s", h.transport_error ? "connection failed"
                                                                         : "this GnuTLS cannot offer it");
            json_object_set_new(vers, versions[vi].name, json_string(why));
            continue;
        }
        json_object_set_new(vers, versions[vi].name, json_boolean(h.ok));
        if (!h.ok)
            continue;
        any = 1;
        if (h.cert.data) {
            json_object_set_new(f, "certificate", cert_facts(&h.cert, c->web_port == port ? c->pin : NULL,
                                                             sizeof c->pin));
            gnutls_free(h.cert.data);
        }
        /* enumerate suites of this version, one per handshake */
        for (size_t i = 0;; i++) {
            unsigned char id[2];
            gnutls_kx_algorithm_t kx;
            gnutls_cipher_algorithm_t ci;
            gnutls_mac_algorithm_t mac;
            gnutls_protocol_t minv;
            const char *name = gnutls_cipher_suite_info(i, id, &kx, &ci, &mac, &minv);
            if (name == NULL)
                break;
            if (tls13) {
                if (minv != GNUTLS_TLS1_3)
                    continue;
                if (safecam_fmt(prio, sizeof prio, "NONE:+VERS-TLS1.3:+%s:+AEAD:+ECDHE-RSA:+ECDHE-ECDSA:+DHE-RSA:%s",
                                gnutls_cipher_get_name(ci), COMMON) != 0)
                    continue;
            } else {
                if (minv == GNUTLS_TLS1_3 || minv > versions[vi].v || !kx_testable(kx))
                    continue;
                const char *mn = gnutls_mac_get_name(mac);
                if (safecam_fmt(prio, sizeof prio, "NONE:+%s:+%s:+%s:+%s:%s", versions[vi].kw,
                                gnutls_cipher_get_name(ci), mn ? mn : "AEAD", gnutls_kx_get_name(kx), COMMON) != 0)
                    continue;
            }
            struct hs hh;
            int prc = handshake(c, port, prio, 0, &hh);
            if (prc == SAFECAM_ERR_INVAL)
                continue; /* priority string unsupported by this GnuTLS */
            handshakes++;
            tested++;
            if (!hh.ok)
                continue;
            char idhex[8];
            IGN_FMT(idhex, sizeof idhex, "0x%02X%02X", id[0], id[1]);
            char full[96];
            if (safecam_fmt(full, sizeof full, "%s%s", strncmp(name, "TLS_", 4) == 0 ? "" : "TLS_", name) != 0)
                continue;
            json_array_append_new(suites, json_pack("{s:s,s:s,s:s,s:b}", "version", versions[vi].name, "id", idhex,
                                                    "name", full, "weak", check_tls_suite_weak(full)));
            if (c->opt->delay_ms > 0)
                check_pace(c);
        }
    }
    if (json_is_true(json_object_get(vers, "TLS1.2"))) {
        int probes = 0;
        char why[96];
        raw_probe(c, port, suites, &probes, why, sizeof why);
        json_object_set_new(f, "raw_probe", json_pack("{s:s,s:i,s:i,s:s}", "suites", "ARIA GCM and CBC",
                                                      "offered", (int)SAFECAM_ARRAY_LEN(raw_suites), "probes", probes,
                                                      "end", why));
        handshakes += probes;
    }
    json_object_set_new(f, "handshakes", json_integer(handshakes));
    json_object_set_new(f, "suites_tested", json_integer(tested));
    json_object_set_new(f, "ms", json_integer(safecam_time_mono_ms() - t0));
    if (!any) {
        json_decref(f);
        return SAFECAM_ERR_PROTO;
    }
    *facts_out = f;
    return 0;
fail:
    json_decref(f);
    return SAFECAM_ERR_INTERNAL;
}
