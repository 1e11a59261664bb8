/* tests_net.c — the tests that need no credentials: service inventory (SC-01, IF-01), TLS quality
 * (SC-02, SC-08), cleartext services (SC-04), unauthenticated access and disclosure (SC-05, IF-02,
 * IF-04, UP-05), security.txt and disclosure policy (VM-01, VM-02), malformed HTTP/RTSP with liveness
 * checks (IV-01, IV-02). Trust level: every answer is hostile; evidence is printable and capped. */
#include "check_internal.h"

#include <ctype.h>
#include <gnutls/gnutls.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const int common_ports[] = {21,   22,   23,   80,   81,   88,   443,  554,  1883, 1935, 5000,  5060,
                                   7070, 8000, 8001, 8080, 8081, 8088, 8322, 8443, 8554, 8883, 8899,  9000,
                                   34567, 37777, 49152};

static int scan_timeout_ms(const struct check_ctx *c)
{
    int t = c->opt->timeout_s * 1000;
    return t < 2000 ? t : 2000;
}

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

/* Status code of a printable "HTTP/1.x NNN ..." answer, 0 when there is none. */
static int raw_http_status(const char *raw)
{
    const char *sp = strchr(raw, ' ');
    if (sp == NULL || sp[1] < '1' || sp[1] > '5' || sp[2] < '0' || sp[2] > '9' || sp[3] < '0' || sp[3] > '9')
        return 0;
    return (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
}

/* MQTT 3.1.1 CONNECT without user name or password (clean session, client id "qcvn-check"), then
 * DISCONNECT. 1 the broker accepted it, 0 it refused (CONNACK code in *code), -1 no CONNACK. */
static int mqtt_connect_anon(struct check_ctx *c, int port, int tls, int *code)
{
    static const unsigned char connect[] = {0x10, 0x16, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c,
                                            0x00, 0x0a, 'q',  'c',  'v', 'n', '-', 'c', 'h', 'e', 'c', 'k'};
    static const unsigned char disconnect[] = {0xe0, 0x00};
    struct check_conn k;
    char buf[5]; /* a 3.1.1 CONNACK is 4 bytes: the read ends there, not at the timeout */
    size_t got = 0;
    *code = -1;
    if (check_conn_open(c, port, tls, &k) != 0)
        return -1;
    int res = -1;
    if (check_conn_write(&k, connect, sizeof connect) == 0) {
        (void)check_conn_read(&k, buf, sizeof buf, &got, 0, scan_timeout_ms(c));
        if (check_mqtt_connack_parse((const unsigned char *)buf, got, code) == 0) {
            res = *code == 0;
            if (res == 1 && check_conn_write(&k, disconnect, sizeof disconnect) != 0) {
            }
        }
    }
    check_conn_close(&k);
    return res;
}

/* FTP: read the greeting, send USER anonymous / PASS, read the reply. 1 logged in (230), 0 refused,
 * -1 no usable answer; last gets the printable last reply line. Bounded: 3 reads of the scan timeout. */
static int ftp_login_anon(struct check_ctx *c, int port, char *last, size_t last_size)
{
    struct check_conn k;
    char buf[1024];
    size_t got = 0;
    int code = 0, res = -1;
    last[0] = '\0';
    if (check_conn_open(c, port, 0, &k) != 0)
        return -1;
    (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_FTP, scan_timeout_ms(c));
    if (check_ftp_reply_parse(buf, got, &code) != 0 || code != 220)
        goto out;
    static const char user[] = "USER anonymous\r\n", pass[] = "PASS qcvn-check@example.invalid\r\n";
    if (check_conn_write(&k, user, sizeof user - 1) != 0)
        goto out;
    got = 0;
    (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_FTP, scan_timeout_ms(c));
    if (check_ftp_reply_parse(buf, got, &code) != 0)
        goto out;
    if (code == 331) {
        if (check_conn_write(&k, pass, sizeof pass - 1) != 0)
            goto out;
        got = 0;
        (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_FTP, scan_timeout_ms(c));
        if (check_ftp_reply_parse(buf, got, &code) != 0)
            goto out;
    }
    check_printable(last, last_size, buf, strcspn(buf, "\r\n") < 80 ? strcspn(buf, "\r\n") : 80);
    res = code == 230;
out:
    check_conn_close(&k);
    return res;
}

/* Identify what speaks on an open TCP port: banner first, then RTSP/HTTP in clear, then TLS. */
static void classify(struct check_ctx *c, struct check_port *p)
{
    struct check_conn k;
    char buf[2048];
    size_t got = 0;
    int tmo = scan_timeout_ms(c);
    if (check_conn_open(c, p->port, 0, &k) != 0) {
        IGN_STRLCPY(p->banner, "connect failed on second look", sizeof p->banner);
        return;
    }
    (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_LINE, tmo < 600 ? tmo : 600);
    check_conn_close(&k);
    if (got > 0) {
        check_printable(p->banner, sizeof p->banner, buf, got < 60 ? got : 60);
        if (got >= 4 && memcmp(buf, "SSH-", 4) == 0)
            p->kind = CHECK_SVC_SSH;
        else if ((unsigned char)buf[0] == 0xff)
            p->kind = CHECK_SVC_TELNET;
        else if (got >= 4 && memcmp(buf, "220", 3) == 0)
            p->kind = CHECK_SVC_FTP;
        else if (strstr(buf, "login:") || strstr(buf, "Login:") || strstr(buf, "sername"))
            p->kind = CHECK_SVC_TELNET;
        else
            p->kind = CHECK_SVC_OTHER;
        return;
    }
    struct check_rtsp_response rr;
    char raw[160];
    int rc = check_raw_probe(c, p->port, 0, NULL, tmo, &rr, raw, sizeof raw);
    if (rc == 0) {
        p->kind = CHECK_SVC_RTSP;
        IGN_FMT(p->banner, sizeof p->banner, "RTSP in clear: OPTIONS -> %d", rr.status);
        return;
    }
    if (strncmp(raw, "SIP/2.0", 7) == 0) {
        p->kind = CHECK_SVC_SIP;
        IGN_FMT(p->banner, sizeof p->banner, "SIP in clear: %.60s", raw);
        return;
    }
    /* a TLS port may answer a cleartext request with an HTTP 400 ("plain HTTP request sent to HTTPS
     * port", nginx): that is a TLS endpoint, not HTTP in clear */
    if (strncmp(raw, "HTTP/", 5) == 0 && !(raw_http_status(raw) == 400 && check_tls_detect(c, p->port))) {
        p->kind = CHECK_SVC_HTTP;
        IGN_FMT(p->banner, sizeof p->banner, "HTTP in clear: %.60s", raw);
        return;
    }
    if (check_tls_detect(c, p->port)) {
        p->kind = CHECK_SVC_TLS;
        rc = check_raw_probe(c, p->port, 1, NULL, tmo, &rr, raw, sizeof raw);
        if (rc == 0) {
            p->kind = CHECK_SVC_RTSPS;
            IGN_FMT(p->banner, sizeof p->banner, "TLS; RTSP inside: OPTIONS -> %d", rr.status);
            return;
        }
        if (strncmp(raw, "HTTP/", 5) != 0)
            (void)check_raw_probe(c, p->port, 1, "GET / HTTP/1.0\r\n\r\n", tmo, &rr, raw, sizeof raw);
        int mc = -1;
        if (strncmp(raw, "HTTP/", 5) == 0) {
            p->kind = CHECK_SVC_HTTPS;
            IGN_FMT(p->banner, sizeof p->banner, "TLS; HTTP inside: %.60s", raw);
        } else if (mqtt_connect_anon(c, p->port, 1, &mc) >= 0) {
            p->kind = CHECK_SVC_MQTTS;
            IGN_FMT(p->banner, sizeof p->banner, "TLS; MQTT inside: anonymous CONNECT -> CONNACK %d%s", mc,
                    mc == 0 ? " (accepted)" : " (refused)");
        } else {
            IGN_STRLCPY(p->banner, "TLS; inner protocol not identified", sizeof p->banner);
        }
        return;
    }
    /* an HTTP server may answer an RTSP request line as HTTP/0.9 (no status line): ask in HTTP */
    (void)check_raw_probe(c, p->port, 0, "GET / HTTP/1.0\r\n\r\n", tmo, &rr, raw, sizeof raw);
    if (strncmp(raw, "HTTP/", 5) == 0) {
        p->kind = CHECK_SVC_HTTP;
        IGN_FMT(p->banner, sizeof p->banner, "HTTP in clear: %.60s", raw);
        return;
    }
    int mc = -1;
    if (mqtt_connect_anon(c, p->port, 0, &mc) >= 0) {
        p->kind = CHECK_SVC_MQTT;
        IGN_FMT(p->banner, sizeof p->banner, "MQTT in clear: anonymous CONNECT -> CONNACK %d%s", mc,
                mc == 0 ? " (accepted)" : " (refused)");
        return;
    }
    p->kind = CHECK_SVC_UNKNOWN;
    IGN_STRLCPY(p->banner, "no banner; not RTSP, SIP, HTTP, TLS or MQTT", sizeof p->banner);
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

#define WSD_BANNER "WS-Discovery ProbeMatch XAddrs: "
#define SSDP_BANNER "SSDP SERVER: "

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
                                scan_timeout_ms(c) / 2);
        /* discovery daemons often listen on their multicast group only */
        if (a != 1 && probes[i].port == 1900) {
            a = check_udp_mcast_probe(c, "239.255.255.250", 1900, ssdp_mc, strlen(ssdp_mc), ans, sizeof ans, &got,
                                      scan_timeout_ms(c));
            if (a == 1)
                check_evidence(c, r, "udp/1900: SSDP M-SEARCH to 239.255.255.250 (TTL 1) -> answered by the target");
        }
        if (a != 1 && probes[i].port == 3702)
            a = wsd_mcast(c, r, wsd, ans, sizeof ans, &got, scan_timeout_ms(c) / 2); /* answered at once, no MX */
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
                    IGN_FMT(p->banner, sizeof p->banner, "%s%s", SSDP_BANNER, descr);
                } else if (probes[i].port == 3702 && check_wsd_match_parse(ans, got, &wm) == 0) {
                    IGN_FMT(p->banner, sizeof p->banner, "%s%s", WSD_BANNER, wm.xaddrs);
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
    if (open == NULL || check_scan_tcp(c, list, n, open, scan_timeout_ms(c), &scanned) != 0) {
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
                classify(c, p);
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
            } else if (p->port == 3702 && strncmp(p->banner, WSD_BANNER, strlen(WSD_BANNER)) == 0) {
                /* the device announces its management (device service) endpoint on the network: an
                 * http:// XAddr invites every client to manage it in clear */
                char first[128];
                if (check_wsd_xaddrs_cleartext(p->banner + strlen(WSD_BANNER), first, sizeof first)) {
                    bad++;
                    check_evidence(c, r, "FAIL udp/3702 WS-Discovery announces a cleartext management endpoint: "
                                   "XAddrs %s", first);
                } else {
                    check_evidence(c, r, "udp/3702 WS-Discovery XAddrs: %s (no http:// address)",
                                   p->banner + strlen(WSD_BANNER));
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

void check_t_if01(struct check_ctx *c, struct check_result *r)
{
    if (!c->prof->services_declared) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The profile declares no services; ask the vendor for the list of ports "
                      "and services, then compare with the SC-01 inventory");
        return;
    }
    int undeclared = 0, missing = 0;
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *p = &c->ports[i];
        if (p->open && !p->declared) {
            undeclared++;
            check_evidence(c, r, "FAIL %s/%d open but not declared (%s %s)", p->udp ? "udp" : "tcp", p->port,
                           check_service_kind_name(p->kind), p->banner);
        } else if (!p->open && p->declared) {
            missing++;
            check_evidence(c, r, "note: %s/%d declared but closed", p->udp ? "udp" : "tcp", p->port);
        } else if (p->open) {
            check_evidence(c, r, "%s/%d open and declared", p->udp ? "udp" : "tcp", p->port);
        }
    }
    check_evidence(c, r, "scope: %d TCP port(s) probed%s%s", c->scan_count, c->scan_all ? " (full range)" : "",
                   c->udp_probed ? ", UDP probes sent" : "");
    if (undeclared)
        check_verdict(r, CHECK_FAIL, "%d undeclared open port(s)", undeclared);
    else if (!c->scan_all)
        check_verdict(r, CHECK_INCONCLUSIVE, "Every open port found is declared, but only %d of 65535 TCP ports were "
                      "probed: an undeclared service elsewhere is not excluded", c->scan_count);
    else
        check_verdict(r, CHECK_PASS, "Every open port found is declared%s", missing ? " (some declared ports are closed)" : "");
}

/* Does text (len bytes) contain the MAC in any usual form or the serial? */
static const char *identifier_in(const struct check_ctx *c, const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return NULL;
    const struct check_profile *p = c->prof;
    if (strlen(p->serial) >= 4 && strcasestr(text, p->serial))
        return "serial number";
    char hex[13] = "";
    size_t h = 0;
    for (const char *m = p->mac; *m && h < 12; m++)
        if (isxdigit((unsigned char)*m))
            hex[h++] = (char)tolower((unsigned char)*m);
    hex[h] = '\0';
    if (h == 12) {
        char colon[18], dash[18];
        IGN_FMT(colon, sizeof colon, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4, hex + 6,
                          hex + 8, hex + 10);
        IGN_FMT(dash, sizeof dash, "%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", hex, hex + 2, hex + 4, hex + 6, hex + 8,
                          hex + 10);
        if (strcasestr(text, hex) || strcasestr(text, colon) || strcasestr(text, dash))
            return "MAC address";
    }
    return NULL;
}

void check_t_if02(struct check_ctx *c, struct check_result *r)
{
    int bad = 0, looked = 0;
    static const char *const leak_hdrs[] = {"Server", "X-Powered-By", "X-AspNet-Version", "X-Generator", "Via"};
    if (c->web_port) {
        const char *paths[] = {"/", "/qcvn-check-no-such-page", c->prof->login_path[0] ? c->prof->login_path : NULL,
                               c->prof->authed_path[0] ? c->prof->authed_path : NULL};
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(paths); i++) {
            if (paths[i] == NULL)
                continue;
            struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = paths[i]};
            struct check_http_resp h;
            check_pace(c);
            if (check_http(c, &q, &h) != 0) {
                check_http_evidence(c, r, &q, &h);
                check_http_resp_free(&h);
                continue;
            }
            looked++;
            check_http_evidence(c, r, &q, &h);
            for (size_t k = 0; k < SAFECAM_ARRAY_LEN(leak_hdrs); k++) {
                char v[200];
                if (!check_http_header(&h, leak_hdrs[k], 0, v, sizeof v))
                    continue;
                int ver = check_banner_has_version(v);
                int always = strcmp(leak_hdrs[k], "X-Powered-By") == 0 || strcmp(leak_hdrs[k], "X-AspNet-Version") == 0;
                check_evidence(c, r, "  %s: %s%s", leak_hdrs[k], v, (ver || always) ? "  <- version/product disclosed" : "");
                if (ver || always)
                    bad++;
            }
            char ct[96], ex[64];
            check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
            if ((ct[0] == '\0' || strcasestr(ct, "text/")) && h.body &&
                check_body_version_find(h.body, h.body_len, ex, sizeof ex)) {
                bad++;
                check_evidence(c, r, "  FAIL the page body discloses a version: \"%s\"", ex);
            }
            const char *what = identifier_in(c, h.hdrs, h.hdrs_len);
            if (what == NULL)
                what = identifier_in(c, h.body, h.body_len);
            if (what) {
                bad++;
                check_evidence(c, r, "  FAIL the unauthenticated answer contains the device %s", what);
            }
            check_http_resp_free(&h);
        }
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        struct check_port *p = &c->ports[i];
        if (!p->open || p->udp)
            continue;
        if (p->kind == CHECK_SVC_RTSP || p->kind == CHECK_SVC_RTSPS) {
            struct check_rtsp_response rr;
            char raw[160];
            if (check_rtsp_options_raw(c, p->port, p->kind == CHECK_SVC_RTSPS, &rr, raw, sizeof raw) == 0) {
                looked++;
                check_evidence(c, r, "OPTIONS %s://%s:%d/ -> %d%s%s", p->kind == CHECK_SVC_RTSPS ? "rtsps" : "rtsp",
                               c->url_host, p->port, rr.status, rr.server[0] ? ", Server: " : "", rr.server);
                if (check_banner_has_version(rr.server)) {
                    bad++;
                    check_evidence(c, r, "  FAIL RTSP Server header discloses a version");
                }
            }
        } else if ((p->kind == CHECK_SVC_FTP || p->kind == CHECK_SVC_TELNET || p->kind == CHECK_SVC_OTHER ||
                    p->kind == CHECK_SVC_SSH) && p->banner[0]) {
            looked++;
            if (check_banner_has_version(p->banner) || identifier_in(c, p->banner, strlen(p->banner))) {
                bad++;
                check_evidence(c, r, "FAIL tcp/%d banner discloses version or identity: %s", p->port, p->banner);
            }
        }
    }
    /* SNMP sysDescr read with community "public" (SC-01's UDP probe) */
    const struct check_port *snmp = check_port_find(c, 161, 1);
    if (snmp != NULL && snmp->open && strncmp(snmp->banner, "SNMP sysDescr: ", 15) == 0) {
        looked++;
        check_evidence(c, r, "udp/161 %s", snmp->banner);
        if (check_banner_has_version(snmp->banner + 15)) {
            bad++;
            check_evidence(c, r, "  FAIL SNMP sysDescr discloses a version without authentication");
        }
    }
    /* the SERVER header of an SSDP answer (SC-01's M-SEARCH) */
    const struct check_port *ssdp = check_port_find(c, 1900, 1);
    if (ssdp != NULL && ssdp->open && strncmp(ssdp->banner, SSDP_BANNER, strlen(SSDP_BANNER)) == 0) {
        looked++;
        check_evidence(c, r, "udp/1900 %s", ssdp->banner);
        if (check_banner_has_version(ssdp->banner + strlen(SSDP_BANNER))) {
            bad++;
            check_evidence(c, r, "  FAIL the SSDP answer's SERVER header discloses a version without authentication");
        }
    }
    if (c->prof->serial[0] == '\0' && c->prof->mac[0] == '\0')
        check_evidence(c, r, "note: no serial/MAC in the profile, identifiers not searched");
    if (looked == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No unauthenticated answer to examine");
    else if (bad)
        check_verdict(r, CHECK_FAIL, "%d unauthenticated disclosure(s) (version banners or device identifiers)", bad);
    else
        check_verdict(r, CHECK_PASS, "No version banner, serial or MAC in %d unauthenticated answer(s)", looked);
}

void check_t_if04(struct check_ctx *c, struct check_result *r)
{
    if (c->web_port == 0) {
        check_absent(c, r, CHECK_FEAT_WEB, "No web surface found");
        return;
    }
    int bad = 0;
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/"};
    struct check_http_resp h;
    check_pace(c);
    if (check_http(c, &q, &h) != 0) {
        check_http_evidence(c, r, &q, &h);
        check_http_resp_free(&h);
        check_verdict(r, CHECK_INCONCLUSIVE, "The web UI did not answer");
        return;
    }
    check_http_evidence(c, r, &q, &h);
    char xfo[128], csp[512], hsts[160];
    check_http_header(&h, "X-Frame-Options", 0, xfo, sizeof xfo);
    check_http_header(&h, "Content-Security-Policy", 0, csp, sizeof csp);
    check_http_header(&h, "Strict-Transport-Security", 0, hsts, sizeof hsts);
    check_evidence(c, r, "  X-Frame-Options: %s", xfo[0] ? xfo : "(absent)");
    check_evidence(c, r, "  Content-Security-Policy: %s", csp[0] ? csp : "(absent)");
    if (!(strcasestr(xfo, "DENY") || strcasestr(xfo, "SAMEORIGIN") || strcasestr(csp, "frame-ancestors"))) {
        bad++;
        check_evidence(c, r, "  FAIL no clickjacking protection (X-Frame-Options or CSP frame-ancestors)");
    }
    if (c->web_tls) {
        check_evidence(c, r, "  Strict-Transport-Security: %s", hsts[0] ? hsts : "(absent)");
        if (!strcasestr(hsts, "max-age=") || strcasestr(hsts, "max-age=0")) {
            bad++;
            check_evidence(c, r, "  FAIL no HSTS");
        }
    } else {
        bad++;
        check_evidence(c, r, "  FAIL the web UI is not served over HTTPS (no HSTS possible)");
    }
    check_http_resp_free(&h);
    if (c->prof->admin.present && c->prof->authed_path[0] && !c->locked) {
        struct check_session s;
        if (check_admin_login(c, r, &s) == 0) {
            struct check_http_resp a;
            if (check_http_session(c, &s, "GET", c->prof->authed_path, NULL, &a) == 0) {
                char cc[160], pragma[64];
                check_http_header(&a, "Cache-Control", 0, cc, sizeof cc);
                check_http_header(&a, "Pragma", 0, pragma, sizeof pragma);
                check_evidence(c, r, "GET %s [session] -> %ld, Cache-Control: %s", c->prof->authed_path, a.status,
                               cc[0] ? cc : "(absent)");
                if (!strcasestr(cc, "no-store")) {
                    bad++;
                    check_evidence(c, r, "  FAIL authenticated answer may be cached (no Cache-Control: no-store)");
                }
            }
            check_http_resp_free(&a);
            (void)check_logout(c, &s);
        } else {
            check_evidence(c, r, "admin login failed: authenticated caching headers not checked");
        }
    } else {
        check_evidence(c, r, "authenticated Cache-Control not checked (needs admin credentials and auth.authenticated_probe)");
    }
    if (bad)
        check_verdict(r, CHECK_FAIL, "%d missing protective header(s)", bad);
    else
        check_verdict(r, CHECK_PASS, "Clickjacking protection, HSTS%s present",
                      c->prof->admin.present ? " and no-store on authenticated answers" : "");
}

void check_t_vm02(struct check_ctx *c, struct check_result *r)
{
    if (c->web_port == 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No web surface found to fetch /.well-known/security.txt");
        return;
    }
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/.well-known/security.txt"};
    struct check_http_resp h;
    check_pace(c);
    int rc = check_http(c, &q, &h);
    check_http_evidence(c, r, &q, &h);
    if (rc != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "No answer: %s", h.err);
        check_http_resp_free(&h);
        return;
    }
    int contact = 0, policy = 0;
    int64_t expires = 0;
    if (h.status != 200 || check_securitytxt_parse(h.body, h.body_len, &contact, &policy, &expires) != 0) {
        check_verdict(r, CHECK_FAIL, "security.txt not served without login (status %ld)", h.status);
        check_http_resp_free(&h);
        return;
    }
    char ct[96];
    check_http_header(&h, "Content-Type", 0, ct, sizeof ct);
    check_evidence(c, r, "Content-Type: %s; Contact: %s; Policy: %s; Expires: %lld", ct, contact ? "yes" : "NO",
                   policy ? "yes" : "no", (long long)expires);
    int64_t now = safecam_time_now();
    if (!contact)
        check_verdict(r, CHECK_FAIL, "security.txt has no Contact field");
    else if (expires == 0 || expires < now)
        check_verdict(r, CHECK_FAIL, "security.txt has no valid, future Expires field");
    else
        check_verdict(r, CHECK_PASS, "security.txt served without login with Contact and a future Expires%s",
                      policy ? " and a Policy" : "");
    check_http_resp_free(&h);
}

static int policy_text_ok(struct check_ctx *c, struct check_result *r, const char *text, size_t len, const char *src)
{
    (void)len;
    int contact = strstr(text, "@") != NULL || strcasestr(text, "mailto:") != NULL || strcasestr(text, "https://") != NULL;
    int timeline = 0;
    static const char *const units[] = {" day", " ngày", " business day", " working day", " hour", " giờ", " week", " tuần"};
    for (const char *p = text; *p && !timeline; p++) {
        if (!isdigit((unsigned char)*p))
            continue;
        const char *q = p;
        while (isdigit((unsigned char)*q))
            q++;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(units); i++)
            if (strncasecmp(q, units[i], strlen(units[i])) == 0)
                timeline = 1;
        p = q - 1;
    }
    check_evidence(c, r, "%s: contact %s, timelines %s", src, contact ? "found" : "MISSING", timeline ? "found" : "MISSING");
    return contact && timeline;
}

void check_t_vm01(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->doc_policy_file[0]) {
        char *buf = NULL;
        size_t len = 0;
        if (safecam_file_read(p->doc_policy_file, 1024 * 1024, &buf, &len) != 0) {
            check_verdict(r, CHECK_INCONCLUSIVE, "documents.disclosure_policy_file cannot be read: %s", p->doc_policy_file);
            return;
        }
        int ok = policy_text_ok(c, r, buf, len, p->doc_policy_file);
        free(buf);
        if (p->doc_policy_url[0])
            check_evidence(c, r, "published at %s (not fetched: qcvn-check contacts only the target)", p->doc_policy_url);
        if (ok)
            check_verdict(r, CHECK_PASS, "The disclosure policy gives a contact and timelines");
        else
            check_verdict(r, CHECK_FAIL, "The disclosure policy lacks a contact or timelines");
        return;
    }
    /* the device's own copy, when security.txt points to a path on it */
    if (c->web_port) {
        struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/.well-known/security.txt"};
        struct check_http_resp h;
        if (check_http(c, &q, &h) == 0 && h.status == 200 && h.body) {
            char *pol = strcasestr(h.body, "\nPolicy:");
            if (pol) {
                pol += 8;
                while (*pol == ' ')
                    pol++;
                char url[CHECK_PATH];
                size_t l = strcspn(pol, "\r\n");
                if (l < sizeof url) {
                    memcpy(url, pol, l);
                    url[l] = '\0';
                    check_evidence(c, r, "security.txt Policy: %s", url);
                    char prefix[128];
                    IGN_FMT(prefix, sizeof prefix, "%s://%s:%d/", c->web_tls ? "https" : "http", c->url_host,
                                      c->web_port);
                    const char *path = NULL;
                    if (url[0] == '/')
                        path = url;
                    else if (strncmp(url, prefix, strlen(prefix)) == 0)
                        path = url + strlen(prefix) - 1;
                    if (path) {
                        struct check_http_req q2 = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = path};
                        struct check_http_resp h2;
                        if (check_http(c, &q2, &h2) == 0 && h2.status == 200 && h2.body) {
                            check_http_evidence(c, r, &q2, &h2);
                            int ok = policy_text_ok(c, r, h2.body, h2.body_len, path);
                            check_http_resp_free(&h2);
                            check_http_resp_free(&h);
                            if (ok)
                                check_verdict(r, CHECK_PASS, "The disclosure policy (served by the device) gives a contact and timelines");
                            else
                                check_verdict(r, CHECK_FAIL, "The disclosure policy lacks a contact or timelines");
                            return;
                        }
                        check_http_resp_free(&h2);
                    }
                }
            }
        }
        check_http_resp_free(&h);
    }
    check_verdict(r, CHECK_NEEDS_EVIDENCE, "No policy document available to the checker%s%s; ask the vendor for the "
                  "published vulnerability disclosure policy", p->doc_policy_url[0] ? " (declared at " : "",
                  p->doc_policy_url[0] ? p->doc_policy_url : "");
    if (p->doc_policy_url[0])
        IGN_STRLCPY(r->reason + strlen(r->reason), ")", sizeof r->reason - strlen(r->reason));
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
            int a = mqtt_connect_anon(c, pt->port, pt->kind == CHECK_SVC_MQTTS, &code);
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
            int a = ftp_login_anon(c, pt->port, last, sizeof last);
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

void check_t_up05(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->update_path[0] == '\0' || c->web_port == 0) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No update upload endpoint declared (profile update.path); ask the vendor "
                      "how updates are uploaded");
        return;
    }
    static const char probe[] = "qcvn-check: not an update bundle";
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = p->update_method, .path = p->update_path,
                               .body = probe, .content_type = "application/octet-stream"};
    struct check_http_resp h;
    check_pace(c);
    int rc = check_http(c, &q, &h);
    check_http_evidence(c, r, &q, &h);
    if (rc != 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No answer from the update endpoint");
    else if (h.status == 401 || h.status == 403)
        check_verdict(r, CHECK_PASS, "Update upload without authentication refused (%ld)", h.status);
    else if (h.status >= 200 && h.status < 300)
        check_verdict(r, CHECK_FAIL, "Update upload accepted without authentication (%ld)", h.status);
    else if (h.status == 404 || h.status == 405)
        check_verdict(r, CHECK_INCONCLUSIVE, "The declared update endpoint does not exist (%ld)", h.status);
    else
        check_verdict(r, CHECK_FAIL, "Update upload without authentication was not refused as unauthenticated (%ld): "
                      "the body was examined before authentication", h.status);
    check_http_resp_free(&h);
}

/* ---- robustness ---- */

struct raw_case {
    const char *name;
    char *data;
    size_t len;
};

static char *fill(size_t n, char ch)
{
    char *s = malloc(n + 1);
    if (s) {
        memset(s, ch, n);
        s[n] = '\0';
    }
    return s;
}

static char *cat3(const char *a, const char *b, const char *cc)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(cc);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, cc, lc + 1);
    }
    return s;
}

static int raw_exchange(struct check_ctx *c, int port, int tls, const char *data, size_t len, char *first, size_t fcap,
                        int64_t *ms)
{
    struct check_conn k;
    char buf[4096];
    size_t got = 0;
    int64_t t0 = safecam_time_mono_ms();
    first[0] = '\0';
    int rc = check_conn_open(c, port, tls, &k);
    if (rc != 0) {
        IGN_STRLCPY(first, "connect failed", fcap);
        *ms = safecam_time_mono_ms() - t0;
        return rc;
    }
    rc = check_conn_write(&k, data, len);
    rc = check_conn_read(&k, buf, sizeof buf, &got, 1, scan_timeout_ms(c));
    check_conn_close(&k);
    *ms = safecam_time_mono_ms() - t0;
    if (got == 0) {
        IGN_STRLCPY(first, rc == SAFECAM_ERR_TIMEOUT ? "(no answer before timeout)" : "(closed without answer)", fcap);
        return rc == SAFECAM_ERR_TIMEOUT ? rc : 0;
    }
    size_t l = strcspn(buf, "\r\n");
    check_printable(first, fcap, buf, l < 100 ? l : 100);
    return 0;
}

static int status_of(const char *first, const char *proto)
{
    size_t pl = strlen(proto);
    if (strncmp(first, proto, pl) != 0)
        return 0;
    const char *sp = strchr(first, ' ');
    if (sp == NULL || !isdigit((unsigned char)sp[1]))
        return 0;
    return (int)strtol(sp + 1, NULL, 10);
}

static int http_alive(struct check_ctx *c, struct check_result *r)
{
    for (int i = 0; i < 3; i++) {
        struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = "GET", .path = "/"};
        struct check_http_resp h;
        int rc = check_http(c, &q, &h);
        if (rc == 0) {
            check_evidence(c, r, "liveness: GET / -> %ld (%lld ms)", h.status, (long long)h.ms);
            check_http_resp_free(&h);
            return 1;
        }
        check_http_resp_free(&h);
        check_sleep_ms(1000, &c->wait_other_ms);
    }
    check_evidence(c, r, "liveness: GET / -> no answer after 3 tries");
    return 0;
}

void check_t_iv01(struct check_ctx *c, struct check_result *r)
{
    if (c->web_port == 0) {
        check_absent(c, r, CHECK_FEAT_WEB, "No web surface found");
        return;
    }
    const char *login = c->prof->login_path[0] ? c->prof->login_path : "/";
    char *longurl = fill(16000, 'A'), *longhdr = fill(16000, 'B'), *many = NULL;
    char *nest = fill(20000, '[');
    struct raw_case cs[16];
    size_t n = 0;
    char tmp[1024];
    if (longurl == NULL || longhdr == NULL || nest == NULL)
        goto out;
    many = malloc(200 * 16 + 64);
    if (many == NULL)
        goto out;
    many[0] = '\0';
    {
        size_t off = 0;
        off += (size_t)snprintf(many + off, 64, "GET / HTTP/1.1\r\nHost: %s\r\n", "device");
        for (int i = 0; i < 200; i++)
            off += (size_t)snprintf(many + off, 16, "X-Q%d: a\r\n", i);
        memcpy(many + off, "\r\n", 3);
    }
#define CASE(nm, str)                                                                                                \
    do {                                                                                                             \
        cs[n].name = nm;                                                                                             \
        cs[n].data = str;                                                                                            \
        cs[n].len = cs[n].data ? strlen(cs[n].data) : 0;                                                             \
        n++;                                                                                                         \
    } while (0)
    CASE("request line of 16 KiB", cat3("GET /", longurl, " HTTP/1.1\r\nHost: device\r\n\r\n"));
    CASE("header value of 16 KiB", cat3("GET / HTTP/1.1\r\nHost: device\r\nX-Long: ", longhdr, "\r\n\r\n"));
    CASE("200 header lines", cat3(many, "", ""));
    CASE("control byte in the method", cat3("G\001T / HTTP/1.1\r\nHost: device\r\n\r\n", "", ""));
    CASE("unknown HTTP version", cat3("GET / HTTP/9.9\r\nHost: device\r\n\r\n", "", ""));
    CASE("header line without colon", cat3("GET / HTTP/1.1\r\nHost: device\r\nBadHeaderLine\r\n\r\n", "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: -1\r\n\r\n", login);
    CASE("negative Content-Length", cat3(tmp, "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: 99999999999999\r\n\r\n{", login);
    CASE("absurd Content-Length", cat3(tmp, "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", login);
    CASE("absurd chunk size", cat3(tmp, "", ""));
    CASE("encoded traversal", cat3("GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: device\r\n\r\n", "", ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: 20000\r\n\r\n", login);
    CASE("JSON nested 20000 deep", cat3(tmp, nest, ""));
    IGN_FMT(tmp, sizeof tmp, "POST %s HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
                      "Content-Length: 12\r\n\r\n{\"username\":", login);
    CASE("truncated JSON", cat3(tmp, "", ""));
    CASE("binary garbage", cat3("\x16\x03\x01\x7f\x7f\r\n\r\n\x80\x81\x82\r\n\r\n", "", ""));
#undef CASE
    {
        int bad = 0, dead = 0;
        for (size_t i = 0; i < n; i++) {
            if (cs[i].data == NULL)
                continue;
            char first[160];
            int64_t ms = 0;
            check_pace(c);
            (void)raw_exchange(c, c->web_port, c->web_tls, cs[i].data, cs[i].len, first, sizeof first, &ms);
            int st = status_of(first, "HTTP/");
            check_evidence(c, r, "%s -> %s (%lld ms)", cs[i].name, first, (long long)ms);
            if (st >= 500 && st != 501 && st != 505) { /* 501/505: the RFC answers to an unknown method/version */
                bad++;
                check_evidence(c, r, "  FAIL server error instead of a clear 4xx");
            }
            if (strstr(first, "root:") != NULL) {
                bad++;
                check_evidence(c, r, "  FAIL file content disclosed");
            }
        }
        if (!http_alive(c, r))
            dead = 1;
        if (dead)
            check_verdict(r, CHECK_FAIL, "The web service stopped answering after malformed requests");
        else if (bad)
            check_verdict(r, CHECK_FAIL, "%d malformed request(s) got a server error or leaked data", bad);
        else
            check_verdict(r, CHECK_PASS, "%zu malformed requests refused or closed; the device still answers", n);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(cs[i].data);
    free(longurl);
    free(longhdr);
    free(many);
    free(nest);
    if (n == 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
}

void check_t_iv02(struct check_ctx *c, struct check_result *r)
{
    int endpoints = 0, dead = 0;
    char *longurl = fill(16000, 'A'), *longhdr = fill(16000, 'B');
    if (longurl == NULL || longhdr == NULL) {
        free(longurl);
        free(longhdr);
        check_verdict(r, CHECK_INCONCLUSIVE, "out of memory");
        return;
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct check_port *pt = &c->ports[i];
        if (!pt->open || pt->udp || (pt->kind != CHECK_SVC_RTSP && pt->kind != CHECK_SVC_RTSPS))
            continue;
        int tls = pt->kind == CHECK_SVC_RTSPS;
        endpoints++;
        char base[128], tmp[1024];
        IGN_FMT(base, sizeof base, "rtsp://%s:%d", c->url_host, pt->port);
        const char *path = c->prof->n_rtsp_paths ? c->prof->rtsp_paths[0] : "/stream1";
        struct raw_case cs[10];
        size_t n = 0;
#define CASE(nm, str)                                                                                                \
    do {                                                                                                             \
        cs[n].name = nm;                                                                                             \
        cs[n].data = str;                                                                                            \
        cs[n].len = cs[n].data ? strlen(cs[n].data) : 0;                                                             \
        n++;                                                                                                         \
    } while (0)
        IGN_FMT(tmp, sizeof tmp, "DESCRIBE %s/", base);
        CASE("URL of 16 KiB", cat3(tmp, longurl, " RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
        IGN_FMT(tmp, sizeof tmp, "OPTIONS %s/ RTSP/1.0\r\nCSeq: 99999999999999999999999999\r\n\r\n", base);
        CASE("huge CSeq", cat3(tmp, "", ""));
        IGN_FMT(tmp, sizeof tmp, "OPTIONS %s/ RTSP/1.0\r\nCSeq: 3\r\nX-Long: ", base);
        CASE("header value of 16 KiB", cat3(tmp, longhdr, "\r\n\r\n"));
        {
            char *many = malloc(300 * 16 + 256);
            if (many) {
                size_t off = (size_t)snprintf(many, 256, "OPTIONS %s/ RTSP/1.0\r\nCSeq: 4\r\n", base);
                for (int k = 0; k < 300; k++)
                    off += (size_t)snprintf(many + off, 16, "X-R%d: a\r\n", k);
                memcpy(many + off, "\r\n", 3);
            }
            CASE("300 header lines", many);
        }
        IGN_FMT(tmp, sizeof tmp, "SETUP %s%s/trackID=0 RTSP/1.0\r\nCSeq: 5\r\nTransport: ;;;,,RTP/AVP;"
                          "unicast;client_port=99999-0;interleaved=999-\r\n\r\n", base, path);
        CASE("malformed Transport", cat3(tmp, "", ""));
        IGN_FMT(tmp, sizeof tmp, "PLAY %s%s RTSP/1.0\r\nCSeq: 6\r\nSession: ;;;timeout=-1;\x01\r\n"
                          "Range: npt=-5-abc\r\n\r\n", base, path);
        CASE("malformed Session and Range", cat3(tmp, "", ""));
        CASE("bad version", cat3("OPTIONS * RTSP/9.9\r\nCSeq: 7\r\n\r\n", "", ""));
        CASE("binary garbage", cat3("\x01\x02\x03\x04 RTSP/1.0\r\n\r\n", "", ""));
        IGN_FMT(tmp, sizeof tmp, "GET_PARAMETER %s%s RTSP/1.0\r\nCSeq: 8\r\nContent-Length: 99999999999\r\n\r\nx",
                          base, path);
        CASE("absurd Content-Length", cat3(tmp, "", ""));
#undef CASE
        for (size_t k = 0; k < n; k++) {
            if (cs[k].data == NULL)
                continue;
            char first[160];
            int64_t ms = 0;
            check_pace(c);
            (void)raw_exchange(c, pt->port, tls, cs[k].data, cs[k].len, first, sizeof first, &ms);
            check_evidence(c, r, "tcp/%d %s -> %s (%lld ms)", pt->port, cs[k].name, first, (long long)ms);
            free(cs[k].data);
        }
        int alive = 0;
        for (int t = 0; t < 3 && !alive; t++) {
            struct check_rtsp_response rr;
            char raw[160];
            if (check_rtsp_options_raw(c, pt->port, tls, &rr, raw, sizeof raw) == 0) {
                alive = 1;
                check_evidence(c, r, "liveness tcp/%d: OPTIONS -> %d", pt->port, rr.status);
            } else {
                check_sleep_ms(1000, &c->wait_other_ms);
            }
        }
        if (!alive) {
            dead++;
            check_evidence(c, r, "FAIL tcp/%d: RTSP service no longer answers OPTIONS", pt->port);
        }
    }
    free(longurl);
    free(longhdr);
    if (endpoints == 0)
        check_absent(c, r, CHECK_FEAT_RTSP, "No RTSP endpoint found");
    else if (dead)
        check_verdict(r, CHECK_FAIL, "%d RTSP endpoint(s) stopped answering after malformed requests", dead);
    else
        check_verdict(r, CHECK_PASS, "%d RTSP endpoint(s) survived malformed requests and still answer", endpoints);
}
