/* group_sc.c — test group SC, secure communication (QCVN 135 G5, EN 303 645 5.5, 5.6): service inventory
 * (SC-01), TLS quality (SC-02), cleartext services (SC-04), unauthenticated access (SC-05), low-privilege
 * refusal (SC-06), protocol downgrade (SC-08).
 * Trust level: every answer is hostile; evidence is printable and capped. */
#include "check_internal.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const int common_ports[] = {21,   22,   23,   80,   81,   88,   443,  554,  1883, 1935, 5000,  5060,
                                   7070, 8000, 8001, 8080, 8081, 8088, 8322, 8443, 8554, 8883, 8899,  9000,
                                   34567, 37777, 49152};

static struct check_port *port_add(struct check_ctx *c, int port, int udp)
{
    for (size_t i = 0; i < c->n_ports; i++)
        if (c->ports[i].port == port && c->ports[i].udp == udp)
            return &c->ports[i];
    if (c->n_ports >= CHECK_MAX_OPEN)
        return NULL;
    struct check_port *p = &c->ports[c->n_ports++];
    memset(p, 0, sizeof *p);
    p->port = port;
    p->udp = udp;
    return p;
}

static int declared_kind(const struct check_ctx *c, int port, int udp)
{
    for (size_t i = 0; i < c->prof->n_services; i++)
        if (c->prof->services[i].port == port && c->prof->services[i].udp == udp)
            return (int)c->prof->services[i].kind;
    if (!udp && port == c->opt->https_port)
        return CHECK_SVC_HTTPS;
    if (!udp && port == c->opt->rtsps_port)
        return CHECK_SVC_RTSPS;
    return -1;
}

static const unsigned char snmp_get[] = {0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',  'u',  'b',  'l',
                                         'i',  'c',  0xa0, 0x1c, 0x02, 0x04, 0x00, 0x00, 0x00, 0x01, 0x02,
                                         0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
                                         0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00};
static const unsigned char tftp_rrq[] = "\0\1qcvn-check-probe\0octet";
static const unsigned char mdns_q[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       9,    '_',  's',  'e',  'r',  'v',  'i',  'c',  'e',  's',  7,    '_',
                                       'd',  'n',  's',  '-',  's',  'd',  4,    '_',  'u',  'd',  'p',  5,
                                       'l',  'o',  'c',  'a',  'l',  0,    0x00, 0x0c, 0x00, 0x01};

/* WS-Discovery by multicast, as a client on the link does: an untyped Probe (ONVIF devices match it), then
 * one for the Devices Profile type wsdp:Device (Windows and Samba hosts, printers), and a Resolve when the
 * ProbeMatch left the XAddrs out. 1 answered (ans/got: the answer carrying the most), 0 none. */
static int wsd_mcast(struct check_ctx *c, struct check_result *r, const char *untyped, char *ans, size_t cap,
                     size_t *got, int tmo)
{
    static const char head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
        "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" "
        "xmlns:wsdp=\"http://schemas.xmlsoap.org/ws/2006/02/devprof\"><e:Header><w:MessageID>uuid:"
        "7c4a9e2e-0000-4000-8000-00000000000%d</w:MessageID><w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
        "<w:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/%s</w:Action></e:Header><e:Body>%s</e:Body>"
        "</e:Envelope>";
    char pkt[1024], body[256];
    if (check_udp_mcast_probe(c, "239.255.255.250", 3702, untyped, strlen(untyped), ans, cap, got, tmo) == 1) {
        check_evidence(c, r, "udp/3702: WS-Discovery Probe to 239.255.255.250 (TTL 1) -> answered by the target");
        return 1;
    }
    IGN_FMT(pkt, sizeof pkt, head, 2, "Probe", "<d:Probe><d:Types>wsdp:Device</d:Types></d:Probe>");
    if (check_udp_mcast_probe(c, "239.255.255.250", 3702, pkt, strlen(pkt), ans, cap, got, tmo) != 1)
        return 0;
    check_evidence(c, r, "udp/3702: WS-Discovery Probe for wsdp:Device to 239.255.255.250 (TTL 1) -> answered by "
                   "the target");
    struct check_wsd_match m;
    if (check_wsd_match_parse(ans, *got, &m) != 0 || m.xaddrs[0] != '\0' || m.address[0] == '\0')
        return 1;
    /* the address may only be a urn:uuid; anything else is not echoed back */
    for (const char *q = m.address; *q; q++)
        if (!(isalnum((unsigned char)*q) || *q == ':' || *q == '-' || *q == '.'))
            return 1;
    IGN_FMT(body, sizeof body, "<d:Resolve><w:EndpointReference><w:Address>%s</w:Address></w:EndpointReference>"
            "</d:Resolve>", m.address);
    IGN_FMT(pkt, sizeof pkt, head, 3, "Resolve", body);
    char ans2[1500];
    size_t got2 = 0;
    struct check_wsd_match m2;
    if (check_udp_mcast_probe(c, "239.255.255.250", 3702, pkt, strlen(pkt), ans2, sizeof ans2, &got2, tmo) == 1 &&
        check_wsd_match_parse(ans2, got2, &m2) == 0) {
        check_evidence(c, r, "udp/3702: ProbeMatch without XAddrs; WS-Discovery Resolve %s -> ResolveMatch", m.address);
        size_t n = got2 < cap ? got2 : cap;
        memcpy(ans, ans2, n);
        *got = n;
    }
    return 1;
}

static void udp_probes(struct check_ctx *c, struct check_result *r)
{
    char ssdp[256], rtsp[256], wsd[768];
    IGN_FMT(ssdp, sizeof ssdp,
                      "M-SEARCH * HTTP/1.1\r\nHOST: %s:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
                      c->url_host);
    IGN_FMT(rtsp, sizeof rtsp, "OPTIONS rtsp://%s:554/ RTSP/1.0\r\nCSeq: 1\r\n\r\n", c->url_host);
    static const char ssdp_mc[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
                                  "MX: 1\r\nST: ssdp:all\r\n\r\n";
    IGN_STRLCPY(
        wsd,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "
        "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"><e:Header><w:MessageID>uuid:"
        "7c4a9e2e-0000-4000-8000-qcvncheck</w:MessageID><w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
        "<w:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action></e:Header><e:Body><d:Probe/>"
        "</e:Body></e:Envelope>",
        sizeof wsd);
    const struct {
        int port;
        const void *pkt;
        size_t len;
        const char *what;
    } probes[] = {
        {69, tftp_rrq, sizeof tftp_rrq, "TFTP read request"},
        {161, snmp_get, sizeof snmp_get, "SNMPv2c get sysDescr, community \"public\""},
        {554, rtsp, strlen(rtsp), "RTSP OPTIONS over UDP"},
        {1900, ssdp, strlen(ssdp), "SSDP M-SEARCH"},
        {3702, wsd, strlen(wsd), "WS-Discovery Probe"},
        {5353, mdns_q, sizeof mdns_q, "mDNS PTR _services._dns-sd._udp.local"},
    };
    c->udp_probed = 1;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(probes); i++) {
        char ans[1500], pr[80];
        size_t got = 0;
        int a = check_udp_probe(c, probes[i].port, probes[i].pkt, probes[i].len, ans, sizeof ans, &got,
                                check_probe_timeout_ms(c) / 2);
        /* discovery daemons often listen on their multicast group only */
        if (a != 1 && probes[i].port == 1900) {
            a = check_udp_mcast_probe(c, "239.255.255.250", 1900, ssdp_mc, strlen(ssdp_mc), ans, sizeof ans, &got,
                                      check_probe_timeout_ms(c));
            if (a == 1)
                check_evidence(c, r, "udp/1900: SSDP M-SEARCH to 239.255.255.250 (TTL 1) -> answered by the target");
        }
        if (a != 1 && probes[i].port == 3702)
            a = wsd_mcast(c, r, wsd, ans, sizeof ans, &got, check_probe_timeout_ms(c) / 2); /* answered at once, no MX */
        if (a == 1) {
            struct check_port *p = port_add(c, probes[i].port, 1);
            if (p) {
                p->open = 1;
                p->declared = declared_kind(c, probes[i].port, 1) >= 0;
                char descr[120];
                struct check_wsd_match wm;
                if (probes[i].port == 161 &&
                    check_snmp_first_string_parse((const unsigned char *)ans, got, descr, sizeof descr) == 0) {
                    IGN_FMT(p->banner, sizeof p->banner, "SNMP sysDescr: %s", descr);
                } else if (probes[i].port == 1900 &&
                           check_ssdp_server_parse(ans, got, descr, sizeof descr) == 0) {
                    IGN_FMT(p->banner, sizeof p->banner, "%s%s", CHECK_SSDP_BANNER, descr);
                } else if (probes[i].port == 3702 && check_wsd_match_parse(ans, got, &wm) == 0) {
                    IGN_FMT(p->banner, sizeof p->banner, "%s%s", CHECK_WSD_BANNER, wm.xaddrs);
                    check_evidence(c, r, "udp/3702 WS-Discovery answer: XAddrs \"%s\", Types \"%s\", Scopes \"%.120s\"",
                                   wm.xaddrs, wm.types, wm.scopes);
                } else {
                    check_printable(pr, sizeof pr, ans, got < 40 ? got : 40);
                    IGN_FMT(p->banner, sizeof p->banner, "%s answered: %s", probes[i].what, pr);
                }
            }
            check_evidence(c, r, "udp/%d: %s -> answered (%zu bytes)", probes[i].port, probes[i].what, got);
        } else {
            check_evidence(c, r, "udp/%d: %s -> no answer", probes[i].port, probes[i].what);
        }
    }
}

void check_t_sc01(struct check_ctx *c, struct check_result *r)
{
    const struct check_options *o = c->opt;
    int *list = NULL;
    size_t n = 0;
    unsigned char *open = NULL;
    int full = o->ports_mode == CHECK_PORTS_ALL || o->ports_mode == CHECK_PORTS_DEFAULT;
    size_t cap = full ? 65535 : 1024 + CHECK_MAX_SERVICES + SAFECAM_ARRAY_LEN(common_ports) + 2;
    list = calloc(cap, sizeof *list);
    if (list == NULL) {
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
        return;
    }
#define ADD(pp)                                                                                                      \
    do {                                                                                                             \
        int _p = (pp);                                                                                               \
        int _dup = 0;                                                                                                \
        for (size_t _i = 0; _i < n; _i++)                                                                            \
            if (list[_i] == _p)                                                                                      \
                _dup = 1;                                                                                            \
        if (!_dup && _p > 0 && _p < 65536 && n < cap)                                                                \
            list[n++] = _p;                                                                                          \
    } while (0)
    const char *scope;
    if (full) {
        for (int p = 1; p <= 65535; p++)
            list[n++] = p;
        c->scan_all = 1;
        scope = "all TCP ports 1-65535";
    } else {
        if (o->ports_mode == CHECK_PORTS_COMMON)
            for (size_t i = 0; i < SAFECAM_ARRAY_LEN(common_ports); i++)
                ADD(common_ports[i]);
        if (o->ports_mode == CHECK_PORTS_LIST)
            for (size_t i = 0; i < o->n_ports; i++)
                ADD(o->ports[i]);
        for (size_t i = 0; i < c->prof->n_services; i++)
            if (!c->prof->services[i].udp)
                ADD(c->prof->services[i].port);
        ADD(o->https_port);
        ADD(o->rtsps_port);
        scope = o->ports_mode == CHECK_PORTS_COMMON
                    ? "common camera ports + declared ports"
                    : (o->ports_mode == CHECK_PORTS_LIST ? "the --ports list + declared ports" : "declared ports only");
    }
#undef ADD
    open = calloc(n ? n : 1, 1);
    size_t scanned = 0;
    int64_t scan_t0 = safecam_time_mono_ms();
    if (open == NULL || check_scan_tcp(c, list, n, open, check_probe_timeout_ms(c), &scanned) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "port scan failed locally");
        goto out;
    }
    int64_t scan_ms = safecam_time_mono_ms() - scan_t0;
    c->scanned = 1;
    c->scan_count = (int)scanned;
    if (scanned < n) {
        c->scan_all = 0;
        check_evidence(c, r, "scan stopped at its time bound after %zu of %zu ports", scanned, n);
    }
    size_t n_open = 0;
    for (size_t i = 0; i < n; i++) {
        int dk = declared_kind(c, list[i], 0);
        if (!open[i] && dk < 0)
            continue;
        struct check_port *p = port_add(c, list[i], 0);
        if (p == NULL)
            continue;
        p->open = open[i];
        p->declared = dk >= 0;
        if (open[i]) {
            n_open++;
            if (n_open <= 64)
                check_port_classify(c, p);
        }
    }
    check_evidence(c, r, "TCP connect scan of %zu ports (%s) on %s: %zu open, %lld ms", scanned, scope, c->host, n_open,
                   (long long)scan_ms);
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *p = &c->ports[i];
        if (p->udp)
            continue;
        check_evidence(c, r, "tcp/%d %s%s: %s%s%s", p->port, p->open ? "open" : "closed",
                       p->declared ? " (declared)" : "", check_service_kind_name(p->kind), p->banner[0] ? " — " : "",
                       p->banner);
    }
    if (o->udp || full)
        udp_probes(c, r);
    else
        check_evidence(c, r, "UDP probes not sent (use --udp)");

    /* choose the web and RTSP surfaces */
    if (o->https_port) {
        c->web_port = o->https_port;
        c->web_tls = 1;
    }
    for (size_t i = 0; i < c->n_ports && c->web_port == 0; i++)
        if (c->ports[i].open && !c->ports[i].udp && declared_kind(c, c->ports[i].port, 0) == CHECK_SVC_HTTPS) {
            c->web_port = c->ports[i].port;
            c->web_tls = 1;
        }
    for (size_t i = 0; i < c->n_ports && c->web_port == 0; i++)
        if (c->ports[i].open && c->ports[i].kind == CHECK_SVC_HTTPS) {
            c->web_port = c->ports[i].port;
            c->web_tls = 1;
        }
    for (size_t i = 0; i < c->n_ports && c->web_port == 0; i++)
        if (c->ports[i].open && c->ports[i].kind == CHECK_SVC_HTTP) {
            c->web_port = c->ports[i].port;
            c->web_tls = 0;
        }
    /* declared kinds win over a failed classification (e.g. a slow device) */
    for (size_t i = 0; i < c->n_ports; i++) {
        int dk = declared_kind(c, c->ports[i].port, c->ports[i].udp);
        if (c->ports[i].open && dk > 0 && (c->ports[i].kind == CHECK_SVC_UNKNOWN || c->ports[i].kind == CHECK_SVC_TLS))
            c->ports[i].kind = (enum check_service_kind)dk;
    }
    if (c->web_port) {
        check_evidence(c, r, "web surface: %s port %d", c->web_tls ? "HTTPS" : "HTTP (cleartext)", c->web_port);
        /* an HTTP Basic surface is a login surface too (PW-01, BF-03), declared or not */
        struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/"};
        struct check_http_resp h;
        if (check_http(c, &q, &h) == 0 && h.status == 401) {
            char wa[64];
            if (check_http_header(&h, "WWW-Authenticate", 0, wa, sizeof wa) && strncasecmp(wa, "Basic", 5) == 0) {
                c->web_basic = 1;
                check_evidence(c, r, "web surface: GET / -> 401, WWW-Authenticate: %s (HTTP Basic login)", wa);
            }
        }
        check_http_resp_free(&h);
    }
    size_t unnamed = 0;
    for (size_t i = 0; i < c->n_ports; i++)
        if (c->ports[i].open && !c->ports[i].udp && c->ports[i].kind == CHECK_SVC_UNKNOWN) {
            unnamed++;
            check_evidence(c, r, "tcp/%d open, protocol NOT recognised: the inventory is incomplete", c->ports[i].port);
        }
    size_t udp_open = 0;
    for (size_t i = 0; i < c->n_ports; i++)
        if (c->ports[i].open && c->ports[i].udp)
            udp_open++;
    if (n_open == 0 && udp_open == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No TCP port answered on %s: host down, filtered or wrong address", c->host);
    else if (n_open == 0 && !c->scan_all)
        check_verdict(r, CHECK_INCONCLUSIVE, "Inventory partial: no TCP port open among %d of 65535 probed (%s); %zu UDP "
                      "probe(s) answered. Run the default full scan for a complete inventory", c->scan_count, scope,
                      udp_open);
    else if (n_open == 0)
        check_verdict(r, CHECK_PASS, "Inventory complete: all 65535 TCP ports probed, none open; %zu UDP probe(s) "
                      "answered, each protocol named by its probe; see IF-01 for the comparison with the declared "
                      "services", udp_open);
    else if (!c->scan_all)
        check_verdict(r, CHECK_INCONCLUSIVE, "Inventory partial: %d of 65535 TCP ports probed (%s); %zu open. Run the "
                      "default full scan for a complete inventory", c->scan_count, scope, n_open);
    else if (unnamed)
        check_verdict(r, CHECK_INCONCLUSIVE, "Inventory incomplete: %zu of %zu open TCP port(s) speak a protocol "
                      "qcvn-check could not name", unnamed, n_open);
    else
        check_verdict(r, CHECK_PASS, "Inventory complete: all 65535 TCP ports probed, %zu open, each protocol named; "
                      "see IF-01 for the comparison with the declared services", n_open);
out:
    free(open);
    free(list);
}

/* "accepted"/"refused"/"not tested: ..." for a version fact of check_tls_probe. */
static const char *tls_version_word(const json_t *vers, const char *name, int obsolete)
{
    const json_t *v = json_object_get(vers, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return obsolete ? "ACCEPTED" : "accepted";
    return "refused";
}

static int tls_version_untested(const json_t *vers)
{
    static const char *const names[] = {"TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(names); i++)
        if (!json_is_boolean(json_object_get(vers, names[i])))
            return 1;
    return 0;
}

static int is_tls_kind(enum check_service_kind k)
{
    return k == CHECK_SVC_HTTPS || k == CHECK_SVC_RTSPS || k == CHECK_SVC_TLS || k == CHECK_SVC_MQTTS;
}

void check_t_sc02(struct check_ctx *c, struct check_result *r)
{
    int endpoints = 0, fails = 0, untested = 0;
    int64_t now = safecam_time_now();
    for (size_t i = 0; i < c->n_ports; i++) {
        struct check_port *p = &c->ports[i];
        if (p->udp || !p->open || !is_tls_kind(p->kind))
            continue;
        json_t *f = NULL;
        if (check_tls_probe(c, p->port, &f) != 0) {
            check_evidence(c, r, "tcp/%d: declared/classified as TLS but no handshake succeeded", p->port);
            fails++;
            continue;
        }
        endpoints++;
        char key[8];
        IGN_FMT(key, sizeof key, "%d", p->port);
        json_object_set(c->tls, key, f);
        json_t *v = json_object_get(f, "versions");
        check_evidence(c, r, "tcp/%d %s: TLS1.0 %s, TLS1.1 %s, TLS1.2 %s, TLS1.3 %s (%lld handshakes, %lld ms)", p->port,
                       check_service_kind_name(p->kind), tls_version_word(v, "TLS1.0", 1),
                       tls_version_word(v, "TLS1.1", 1), tls_version_word(v, "TLS1.2", 0),
                       tls_version_word(v, "TLS1.3", 0),
                       (long long)json_integer_value(json_object_get(f, "handshakes")),
                       (long long)json_integer_value(json_object_get(f, "ms")));
        json_t *raw = json_object_get(f, "raw_probe");
        if (raw != NULL)
            check_evidence(c, r, "tcp/%d: %lld TLS 1.2 suites GnuTLS cannot offer (%s): %lld raw ClientHello(s), %s",
                           p->port, (long long)json_integer_value(json_object_get(raw, "offered")),
                           json_string_value(json_object_get(raw, "suites")),
                           (long long)json_integer_value(json_object_get(raw, "probes")),
                           json_string_value(json_object_get(raw, "end")));
        if (json_is_true(json_object_get(v, "TLS1.0")) || json_is_true(json_object_get(v, "TLS1.1"))) {
            fails++;
            check_evidence(c, r, "tcp/%d: FAIL obsolete protocol version accepted", p->port);
        }
        if (tls_version_untested(v))
            untested++;
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(f, "suites"), k, s) {
            int weak = json_is_true(json_object_get(s, "weak"));
            check_evidence(c, r, "tcp/%d: %s %s %s%s", p->port, json_string_value(json_object_get(s, "version")),
                           json_string_value(json_object_get(s, "id")), json_string_value(json_object_get(s, "name")),
                           weak ? "  <- WEAK" : "");
            if (weak)
                fails++;
        }
        json_t *cert = json_object_get(f, "certificate");
        if (cert) {
            const char *kt = json_string_value(json_object_get(cert, "key_type"));
            long long bits = json_integer_value(json_object_get(cert, "key_bits"));
            const char *sig = json_string_value(json_object_get(cert, "signature_algorithm"));
            long long na = json_integer_value(json_object_get(cert, "not_after_unix"));
            long long nb = json_integer_value(json_object_get(cert, "not_before_unix"));
            check_evidence(c, r, "tcp/%d certificate: %s %lld bits, signature %s, valid %s .. %s, subject %s", p->port,
                           kt ? kt : "?", bits, sig ? sig : "?",
                           json_string_value(json_object_get(cert, "not_before")),
                           json_string_value(json_object_get(cert, "not_after")),
                           json_string_value(json_object_get(cert, "subject")));
            int weak_key = kt == NULL || (strcmp(kt, "RSA") == 0 && bits < 2048) ||
                           ((strcmp(kt, "EC/ECDSA") == 0 || strcmp(kt, "ECDSA") == 0) && bits < 256) ||
                           strcmp(kt, "DSA") == 0;
            int weak_sig = sig == NULL || strstr(sig, "SHA1") || strstr(sig, "MD5") || strstr(sig, "MD2");
            if (weak_key) {
                fails++;
                check_evidence(c, r, "tcp/%d: FAIL certificate key too weak", p->port);
            }
            if (weak_sig) {
                fails++;
                check_evidence(c, r, "tcp/%d: FAIL certificate signature algorithm too weak", p->port);
            }
            if (na < now || nb > now) {
                fails++;
                check_evidence(c, r, "tcp/%d: FAIL certificate not valid now", p->port);
            }
        }
        json_decref(f);
    }
    if (c->web_port != 0 && c->web_tls)
        check_evidence(c, r, "tcp/%d: the other tests' HTTPS requests: %s", c->web_port, check_http_tls_mode(c));
    for (size_t i = 0; i < c->n_ports; i++) {
        if (!c->ports[i].udp && c->ports[i].open && c->ports[i].kind == CHECK_SVC_RTSPS) {
            check_evidence(c, r, "tcp/%d: the other tests' RTSPS requests: certificate NOT verified (they test access "
                           "control, not the channel; the channel is judged above)", c->ports[i].port);
            break;
        }
    }
    if (endpoints == 0 && fails == 0) {
        check_absent(c, r, CHECK_FEAT_TLS, "No TLS endpoint found on the probed ports (see SC-04 for cleartext)");
        return;
    }
    if (fails)
        check_verdict(r, CHECK_FAIL, "%d TLS weakness(es) on %d endpoint(s): obsolete versions, non-AEAD/non-forward-"
                      "secret suites or a weak certificate", fails, endpoints);
    else if (untested)
        check_verdict(r, CHECK_INCONCLUSIVE, "%d TLS endpoint(s) with a protocol version that could not be tested",
                      untested);
    else
        check_verdict(r, CHECK_PASS, "%d TLS endpoint(s): only TLS 1.2/1.3 with forward-secret AEAD suites and a "
                      "strong, valid certificate", endpoints);
}

/* One TLS 1.2 handshake carrying TLS_FALLBACK_SCSV (RFC 7507) on port: 1 accepted, 0 refused (why
 * gets the alert/error text), -1 not attempted (local error or no connection). */
static int tls_fallback_scsv(struct check_ctx *c, int port, char *why, size_t why_size)
{
    gnutls_session_t s = NULL;
    gnutls_certificate_credentials_t x = NULL;
    int fd = -1, res = -1;
    IGN_STRLCPY(why, "connection failed", why_size);
    if (check_tcp_connect(c, port, c->opt->timeout_s * 1000, &fd) != 0)
        goto out;
    IGN_STRLCPY(why, "local TLS library error", why_size);
    if (gnutls_certificate_allocate_credentials(&x) < 0 || gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
        gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.2:%FALLBACK_SCSV", NULL) < 0)
        goto out;
    (void)gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, (unsigned)c->opt->timeout_s * 1000);
    int hr;
    do {
        hr = gnutls_handshake(s);
    } while (hr < 0 && !gnutls_error_is_fatal(hr));
    if (hr >= 0) {
        res = 1;
        IGN_STRLCPY(why, "handshake completed", why_size);
    } else {
        res = 0;
        if (hr == GNUTLS_E_WARNING_ALERT_RECEIVED || hr == GNUTLS_E_FATAL_ALERT_RECEIVED) {
            const char *an = gnutls_alert_get_name(gnutls_alert_get(s));
            IGN_FMT(why, why_size, "refused with alert %s", an ? an : "?");
        } else {
            IGN_FMT(why, why_size, "refused: %s", gnutls_strerror(hr));
        }
    }
out:
    if (s)
        gnutls_deinit(s);
    if (x)
        gnutls_certificate_free_credentials(x);
    if (fd >= 0)
        close(fd);
    return res;
}

void check_t_sc08(struct check_ctx *c, struct check_result *r)
{
    const char *key;
    json_t *f;
    int n = 0, fails = 0, undecided = 0, fallback_checked = 0;
    json_object_foreach(c->tls, key, f) {
        n++;
        json_t *v = json_object_get(f, "versions");
        int port = (int)json_integer_value(json_object_get(f, "port"));
        check_evidence(c, r, "tcp/%d: versions offered alone: TLS1.0 %s, TLS1.1 %s, TLS1.2 %s, TLS1.3 %s (SC-02)", port,
                       tls_version_word(v, "TLS1.0", 1), tls_version_word(v, "TLS1.1", 1),
                       tls_version_word(v, "TLS1.2", 0), tls_version_word(v, "TLS1.3", 0));
        if (json_is_true(json_object_get(v, "TLS1.0")) || json_is_true(json_object_get(v, "TLS1.1"))) {
            fails++;
            check_evidence(c, r, "FAIL tcp/%d: a client limited to TLS 1.0/1.1 is served (downgrade possible)", port);
        }
        if (tls_version_untested(v)) {
            undecided++;
            check_evidence(c, r, "tcp/%d: a protocol version could not be tested: downgrade resistance not established",
                           port);
            continue;
        }
        if (!json_is_true(json_object_get(v, "TLS1.3"))) {
            check_evidence(c, r, "tcp/%d: TLS 1.3 not offered: no newer version to fall back from", port);
            continue;
        }
        /* a TLS 1.2 fallback carrying TLS_FALLBACK_SCSV must be refused by a TLS 1.3 server (RFC 7507; a
         * TLS 1.3-only server refuses any TLS 1.2 handshake) */
        char why[160];
        int fb = tls_fallback_scsv(c, port, why, sizeof why);
        check_evidence(c, r, "tcp/%d: TLS 1.2 ClientHello with TLS_FALLBACK_SCSV -> %s%s", port, why,
                       fb == 1 ? "  <- FAIL fallback accepted" : "");
        if (fb == 1)
            fails++;
        else if (fb < 0)
            undecided++;
        else
            fallback_checked++;
    }
    if (n == 0)
        check_absent(c, r, CHECK_FEAT_TLS, "No TLS endpoint (SC-02)");
    else if (fails)
        check_verdict(r, CHECK_FAIL, "Protocol downgrade possible on %d check(s)", fails);
    else if (undecided)
        check_verdict(r, CHECK_INCONCLUSIVE, "Downgrade resistance not established on %d TLS endpoint(s): see the "
                      "evidence for what could not be tested", undecided);
    else if (fallback_checked)
        check_verdict(r, CHECK_PASS, "No TLS endpoint serves TLS 1.0/1.1; %d TLS 1.3 endpoint(s) refused a TLS 1.2 "
                      "handshake signalling fallback", fallback_checked);
    else
        check_verdict(r, CHECK_PASS, "No TLS endpoint serves TLS 1.0/1.1 (%d endpoint(s); none offers TLS 1.3, so no "
                      "fallback to test)", n);
}

static int http_plain_port_check(struct check_ctx *c, struct check_result *r, int port)
{
    const char *paths[3] = {"/", c->prof->login_path[0] ? c->prof->login_path : NULL,
                            c->prof->authed_path[0] ? c->prof->authed_path : NULL};
    int bad = 0;
    for (size_t i = 0; i < 3; i++) {
        if (paths[i] == NULL)
            continue;
        struct check_http_req q = {.port = port, .tls = 0, .method = "GET", .path = paths[i]};
        struct check_http_resp h;
        check_pace(c);
        if (check_http(c, &q, &h) != 0) {
            check_evidence(c, r, "GET http://%s:%d%s -> no answer (%s)", c->url_host, port, paths[i], h.err);
            check_http_resp_free(&h);
            continue;
        }
        char wa[160], loc[200];
        check_http_header(&h, "WWW-Authenticate", 0, wa, sizeof wa);
        check_http_header(&h, "Location", 0, loc, sizeof loc);
        check_evidence(c, r, "GET http://%s:%d%s -> %ld%s%s%s%s", c->url_host, port, paths[i], h.status,
                       wa[0] ? ", WWW-Authenticate: " : "", wa, loc[0] ? ", Location: " : "", loc);
        char ct[96];
        check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
        if (h.status >= 200 && h.status < 300 &&
            (strcasestr(ct, "multipart/x-mixed-replace") || strncasecmp(ct, "image/", 6) == 0 ||
             strncasecmp(ct, "video/", 6) == 0)) {
            bad++;
            check_evidence(c, r, "FAIL tcp/%d serves video/images in clear: Content-Type %s, %zu bytes read%s", port, ct,
                           h.body_len, h.body_truncated ? " (endless stream, cut)" : "");
        } else if (h.status == 401 && strncasecmp(wa, "Basic", 5) == 0) {
            bad++;
            check_evidence(c, r, "FAIL tcp/%d asks for HTTP Basic credentials over cleartext HTTP", port);
        } else if (h.status == 401 || (h.status >= 200 && h.status < 300)) {
            if (h.status == 401 || (h.body && (strcasestr(h.body, "password") || strcasestr(h.body, "login")))) {
                bad++;
                check_evidence(c, r, "FAIL tcp/%d serves a login or authentication over cleartext HTTP", port);
            } else {
                bad++;
                check_evidence(c, r, "FAIL tcp/%d serves content over cleartext HTTP (only a redirect to HTTPS is allowed)",
                               port);
            }
        } else if (h.status >= 300 && h.status < 400 && strncasecmp(loc, "https://", 8) != 0 && loc[0] != '\0') {
            check_evidence(c, r, "note: tcp/%d redirects, but not to https", port);
        }
        check_http_resp_free(&h);
        if (bad)
            break;
    }
    return bad;
}

void check_t_sc04(struct check_ctx *c, struct check_result *r)
{
    int bad = 0, checked = 0, unnamed = 0;
    for (size_t i = 0; i < c->n_ports; i++) {
        struct check_port *p = &c->ports[i];
        if (!p->open)
            continue;
        checked++;
        if (p->udp) {
            if (p->port == 69) {
                bad++;
                check_evidence(c, r, "FAIL udp/69 TFTP answers: %s", p->banner);
            } else if (p->port == 161) {
                bad++;
                check_evidence(c, r, "FAIL udp/161 SNMP v1/v2c answers community \"public\": %s", p->banner);
            } else if (p->port == 3702 && strncmp(p->banner, CHECK_WSD_BANNER, strlen(CHECK_WSD_BANNER)) == 0) {
                /* the device announces its management (device service) endpoint on the network: an
                 * http:// XAddr invites every client to manage it in clear */
                char first[128];
                if (check_wsd_xaddrs_cleartext(p->banner + strlen(CHECK_WSD_BANNER), first, sizeof first)) {
                    bad++;
                    check_evidence(c, r, "FAIL udp/3702 WS-Discovery announces a cleartext management endpoint: "
                                   "XAddrs %s", first);
                } else {
                    check_evidence(c, r, "udp/3702 WS-Discovery XAddrs: %s (no http:// address)",
                                   p->banner + strlen(CHECK_WSD_BANNER));
                }
            }
            continue;
        }
        switch (p->kind) {
        case CHECK_SVC_TELNET:
            bad++;
            check_evidence(c, r, "FAIL tcp/%d telnet (cleartext login): %s", p->port, p->banner);
            break;
        case CHECK_SVC_FTP:
            bad++;
            check_evidence(c, r, "FAIL tcp/%d FTP (cleartext credentials): %s", p->port, p->banner);
            break;
        case CHECK_SVC_RTSP: {
            bad++;
            check_evidence(c, r, "FAIL tcp/%d RTSP answered in clear: %s", p->port, p->banner);
            size_t np = c->prof->n_rtsp_paths;
            for (size_t j = 0; j < (np ? np : 1); j++) {
                struct check_rtsp_result d;
                const char *path = np ? c->prof->rtsp_paths[j] : "/";
                (void)check_rtsp_describe(c, p->port, 0, path, NULL, NULL, &d);
                if (d.ok)
                    check_evidence(c, r, "DESCRIBE rtsp://%s:%d%s (no credentials, cleartext) -> %d%s%s", c->url_host,
                                   p->port, path, d.status, d.www_auth[0] ? ", WWW-Authenticate: " : "", d.www_auth);
            }
            break;
        }
        case CHECK_SVC_HTTP:
            bad += http_plain_port_check(c, r, p->port);
            break;
        case CHECK_SVC_MQTT:
            bad++;
            check_evidence(c, r, "FAIL tcp/%d MQTT without TLS (events, control and any credentials in clear): %s",
                           p->port, p->banner);
            break;
        case CHECK_SVC_SIP:
            bad++;
            check_evidence(c, r, "FAIL tcp/%d SIP without TLS (digest credentials and call control in clear): %s",
                           p->port, p->banner);
            break;
        case CHECK_SVC_UNKNOWN:
            unnamed++;
            check_evidence(c, r, "tcp/%d: protocol not recognised (%s): its channel could not be judged", p->port,
                           p->banner);
            break;
        default:
            if (p->port == 23 || p->port == 21) {
                bad++;
                check_evidence(c, r, "FAIL tcp/%d (%s port) is open: %s", p->port, p->port == 23 ? "telnet" : "FTP",
                               p->banner);
            }
            break;
        }
    }
    /* plaintext RTSP sent to the RTSPS port(s) must not be answered in clear */
    for (size_t i = 0; i < c->n_ports; i++) {
        struct check_port *p = &c->ports[i];
        if (!p->open || p->udp || p->kind != CHECK_SVC_RTSPS)
            continue;
        struct check_rtsp_response rr;
        char raw[160];
        int rc = check_rtsp_options_raw(c, p->port, 0, &rr, raw, sizeof raw);
        check_evidence(c, r, "cleartext OPTIONS to RTSPS port %d -> %s", p->port,
                       rc == 0 ? "ANSWERED IN CLEAR" : (raw[0] ? raw : "no RTSP answer (connection closed/TLS alert)"));
        if (rc == 0)
            bad++;
    }
    if (!c->udp_probed)
        check_evidence(c, r, "TFTP/SNMP not probed (UDP probes off; use --udp)");
    if (checked == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No open service to examine");
    else if (bad)
        check_verdict(r, CHECK_FAIL, "%d cleartext management or credential channel(s) found", bad);
    else if (unnamed)
        check_verdict(r, CHECK_INCONCLUSIVE, "%d open port(s) speak a protocol qcvn-check could not name; their "
                      "channel is not judged (no cleartext channel among the %d others)", unnamed, checked - unnamed);
    else
        check_verdict(r, CHECK_PASS, "No telnet, FTP, TFTP, SNMP v1/v2c, MQTT, SIP, cleartext RTSP or cleartext HTTP "
                      "login on %d open service(s)", checked);
}

static const char *const default_probe_paths[] = {
    "/api/v1/device", "/api/v1/config", "/api/v1/users", "/api/v1/events",
    "/ISAPI/System/deviceInfo", "/ISAPI/Security/users",
    "/cgi-bin/configManager.cgi?action=getConfig&name=General", "/System/configurationFile?auth=YWRtaW46MTEK",
    "/onvif-http/snapshot", "/snapshot.jpg", "/cgi-bin/snapshot.cgi", "/config.json",
    /* the paths streaming servers and webcams use */
    "/snapshot", "/stream", "/?action=stream", "/?action=snapshot", "/mjpeg", "/mjpg/video.mjpg", "/video.mjpg",
    "/video", "/videostream.cgi", "/image.jpg", "/live.jpg", "/cgi-bin/mjpg/video.cgi",
};
static const char *const default_rtsp_paths[] = {"/stream1", "/live", "/h264", "/Streaming/Channels/101", "/"};

void check_t_sc05(struct check_ctx *c, struct check_result *r)
{
    int bad = 0, refused = 0, probed = 0;
    const struct check_profile *p = c->prof;
    if (c->web_port) {
        size_t n = p->n_endpoints ? p->n_endpoints : SAFECAM_ARRAY_LEN(default_probe_paths);
        /* the UI's own fallback pages (a single-page app answers every path with its index): a 2xx HTML
         * answer equal to one of these is the fallback, anything else is content */
        unsigned char fb[2][crypto_generichash_BYTES];
        int have_fb[2] = {0, 0};
        if (p->n_endpoints == 0) {
            check_evidence(c, r, "no protected endpoints declared: probing well-known camera and streaming paths "
                           "(GET only)");
            const char *base[2] = {"/", "/qcvn-check-no-such-page"};
            for (int b = 0; b < 2; b++) {
                struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = base[b]};
                struct check_http_resp h;
                check_pace(c);
                if (check_http(c, &q, &h) == 0 && h.status >= 200 && h.status < 300 && h.body) {
                    crypto_generichash(fb[b], sizeof fb[b], (const unsigned char *)h.body, h.body_len, NULL, 0);
                    have_fb[b] = 1;
                    check_evidence(c, r, "fallback reference: GET %s -> %ld, %zu bytes", base[b], h.status, h.body_len);
                }
                check_http_resp_free(&h);
            }
        }
        for (size_t i = 0; i < n; i++) {
            struct check_http_req q = {.port = c->web_port, .tls = c->web_tls};
            if (p->n_endpoints) {
                q.method = p->endpoints[i].method;
                q.path = p->endpoints[i].path;
                q.body = p->endpoints[i].body[0] ? p->endpoints[i].body : NULL;
            } else {
                q.method = "GET";
                q.path = default_probe_paths[i];
            }
            struct check_http_resp h;
            check_pace(c);
            int rc = check_http(c, &q, &h);
            check_http_evidence(c, r, &q, &h);
            if (rc == 0) {
                probed++;
                char ct[96];
                check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
                if (h.status == 401 || h.status == 403) {
                    refused++;
                } else if (h.status >= 200 && h.status < 300) {
                    int fallback = 0;
                    if (!p->n_endpoints && strcasestr(ct, "text/html") && h.body) {
                        unsigned char hh[crypto_generichash_BYTES];
                        crypto_generichash(hh, sizeof hh, (const unsigned char *)h.body, h.body_len, NULL, 0);
                        fallback = (have_fb[0] && memcmp(hh, fb[0], sizeof hh) == 0) ||
                                   (have_fb[1] && memcmp(hh, fb[1], sizeof hh) == 0);
                    }
                    if (fallback) {
                        check_evidence(c, r, "  note: 2xx HTML identical to the UI's index/fallback page: not counted");
                    } else {
                        bad++;
                        check_evidence(c, r, "  FAIL served without authentication (%s, %zu bytes%s)", ct[0] ? ct : "-",
                                       h.body_len, h.body_truncated ? ", endless stream cut" : "");
                    }
                }
            }
            check_http_resp_free(&h);
        }
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *pt = &c->ports[i];
        if (!pt->open || pt->udp || (pt->kind != CHECK_SVC_RTSP && pt->kind != CHECK_SVC_RTSPS))
            continue;
        size_t np = p->n_rtsp_paths ? p->n_rtsp_paths : SAFECAM_ARRAY_LEN(default_rtsp_paths);
        for (size_t j = 0; j < np; j++) {
            const char *path = p->n_rtsp_paths ? p->rtsp_paths[j] : default_rtsp_paths[j];
            struct check_rtsp_result d;
            check_pace(c);
            (void)check_rtsp_describe(c, pt->port, pt->kind == CHECK_SVC_RTSPS, path, NULL, NULL, &d);
            if (!d.ok) {
                check_evidence(c, r, "DESCRIBE %s://%s:%d%s (no credentials) -> no answer (%s)",
                               pt->kind == CHECK_SVC_RTSPS ? "rtsps" : "rtsp", c->url_host, pt->port, path, d.err);
                continue;
            }
            probed++;
            check_evidence(c, r, "DESCRIBE %s://%s:%d%s (no credentials) -> %d%s%s (%lld ms)",
                           pt->kind == CHECK_SVC_RTSPS ? "rtsps" : "rtsp", c->url_host, pt->port, path, d.status,
                           d.www_auth[0] ? ", WWW-Authenticate: " : "", d.www_auth, (long long)d.ms);
            if (d.status == 401 || d.status == 403)
                refused++;
            else if (d.status >= 200 && d.status < 300) {
                bad++;
                check_evidence(c, r, "  FAIL stream description served without credentials (%s, %zu bytes)",
                               d.content_type, d.body_len);
            } else {
                check_evidence(c, r, "  note: neither served nor refused as unauthenticated: this path is not "
                               "counted (check rtsp.paths)");
            }
        }
    }
    /* MQTT brokers and FTP servers: anonymous access is control or data without authentication */
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *pt = &c->ports[i];
        if (!pt->open || pt->udp)
            continue;
        if (pt->kind == CHECK_SVC_MQTT || pt->kind == CHECK_SVC_MQTTS) {
            int code = -1;
            check_pace(c);
            int a = check_mqtt_connect_anon(c, pt->port, pt->kind == CHECK_SVC_MQTTS, &code);
            check_evidence(c, r, "MQTT CONNECT tcp/%d without user name or password -> %s (CONNACK code %d)", pt->port,
                           a == 1 ? "ACCEPTED" : a == 0 ? "refused" : "no CONNACK", code);
            if (a >= 0)
                probed++;
            if (a == 1) {
                bad++;
                check_evidence(c, r, "  FAIL the broker accepts anonymous clients (events and control without "
                               "authentication)");
            } else if (a == 0) {
                refused++;
            }
        } else if (pt->kind == CHECK_SVC_FTP) {
            char last[96];
            check_pace(c);
            int a = check_ftp_login_anon(c, pt->port, last, sizeof last);
            check_evidence(c, r, "FTP USER anonymous on tcp/%d -> %s", pt->port, a < 0 ? "no usable answer" : last);
            if (a >= 0)
                probed++;
            if (a == 1) {
                bad++;
                check_evidence(c, r, "  FAIL anonymous FTP login accepted");
            } else if (a == 0) {
                refused++;
            }
        }
    }
    if (bad)
        check_verdict(r, CHECK_FAIL, "%d protected resource(s) served without authentication", bad);
    else if (refused == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No protected resource answered with a refusal (%d probed); declare "
                      "protected_endpoints and rtsp.paths in the profile", probed);
    else
        check_verdict(r, CHECK_PASS, "All %d protected resource(s) refused without authentication", refused);
}

void check_t_sc06(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->single_role) {
        check_verdict(r, CHECK_NOT_APPLICABLE, "The profile declares a single (administrator) role");
        return;
    }
    if (!p->user.present) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Needs low-privilege credentials (profile credentials.user)");
        return;
    }
    if (!check_login_declared(c)) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No web login surface declared");
        return;
    }
    struct check_session s;
    int rc = check_login(c, r, p->user.username, p->user.password, NULL, &s, NULL);
    if (rc != 0 || s.change_required) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Low-privilege login failed (%s)", rc ? safecam_err_name(rc) : "password change required");
        return;
    }
    int bad = 0, refused = 0;
    for (size_t i = 0; i < p->n_endpoints; i++) {
        if (!p->endpoints[i].admin_only)
            continue;
        struct check_http_resp h;
        const char *body = p->endpoints[i].body[0] ? p->endpoints[i].body : NULL;
        if (check_http_session(c, &s, p->endpoints[i].method, p->endpoints[i].path, body, &h) == 0) {
            check_evidence(c, r, "%s %s [low-privilege session] -> %ld", p->endpoints[i].method, p->endpoints[i].path,
                           h.status);
            if (h.status == 401 || h.status == 403)
                refused++;
            else if (h.status >= 200 && h.status < 300)
                bad++;
        }
        check_http_resp_free(&h);
    }
    (void)check_logout(c, &s);
    if (bad)
        check_verdict(r, CHECK_FAIL, "%d administrator-only operation(s) allowed to a low-privilege user", bad);
    else if (refused == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No administrator-only endpoint declared or answered");
    else
        check_verdict(r, CHECK_PASS, "%d administrator-only operation(s) refused to a low-privilege user", refused);
}
