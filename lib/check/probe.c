/* probe.c — probe helpers shared by the test groups (a leaf: it calls net.c, tls.c, rtsp.c, never a
 * group_*.c file): the per-probe timeout, what speaks on an open TCP port (port classification with its
 * MQTT and FTP anonymous logins), and one raw request with its first answer line (robustness probes).
 * Trust level: every answer is hostile; evidence is printable and capped. */
#include "check_internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int check_probe_timeout_ms(const struct check_ctx *c)
{
    int t = c->opt->timeout_s * 1000;
    return t < 2000 ? t : 2000;
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
int check_mqtt_connect_anon(struct check_ctx *c, int port, int tls, int *code)
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
        (void)check_conn_read(&k, buf, sizeof buf, &got, 0, check_probe_timeout_ms(c));
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
int check_ftp_login_anon(struct check_ctx *c, int port, char *last, size_t last_size)
{
    struct check_conn k;
    char buf[1024];
    size_t got = 0;
    int code = 0, res = -1;
    last[0] = '\0';
    if (check_conn_open(c, port, 0, &k) != 0)
        return -1;
    (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_FTP, check_probe_timeout_ms(c));
    if (check_ftp_reply_parse(buf, got, &code) != 0 || code != 220)
        goto out;
    static const char user[] = "USER anonymous\r\n", pass[] = "PASS qcvn-check@example.invalid\r\n";
    if (check_conn_write(&k, user, sizeof user - 1) != 0)
        goto out;
    got = 0;
    (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_FTP, check_probe_timeout_ms(c));
    if (check_ftp_reply_parse(buf, got, &code) != 0)
        goto out;
    if (code == 331) {
        if (check_conn_write(&k, pass, sizeof pass - 1) != 0)
            goto out;
        got = 0;
        (void)check_conn_read(&k, buf, sizeof buf, &got, CHECK_READ_FTP, check_probe_timeout_ms(c));
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
void check_port_classify(struct check_ctx *c, struct check_port *p)
{
    struct check_conn k;
    char buf[2048];
    size_t got = 0;
    int tmo = check_probe_timeout_ms(c);
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
        } else if (check_mqtt_connect_anon(c, p->port, 1, &mc) >= 0) {
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
    if (check_mqtt_connect_anon(c, p->port, 0, &mc) >= 0) {
        p->kind = CHECK_SVC_MQTT;
        IGN_FMT(p->banner, sizeof p->banner, "MQTT in clear: anonymous CONNECT -> CONNACK %d%s", mc,
                mc == 0 ? " (accepted)" : " (refused)");
        return;
    }
    p->kind = CHECK_SVC_UNKNOWN;
    IGN_STRLCPY(p->banner, "no banner; not RTSP, SIP, HTTP, TLS or MQTT", sizeof p->banner);
}

int check_raw_exchange(struct check_ctx *c, int port, int tls, const char *data, size_t len, char *first,
                       size_t fcap, int64_t *ms)
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
    rc = check_conn_read(&k, buf, sizeof buf, &got, 1, check_probe_timeout_ms(c));
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

int check_raw_status(const char *first, const char *proto)
{
    size_t pl = strlen(proto);
    if (strncmp(first, proto, pl) != 0)
        return 0;
    const char *sp = strchr(first, ' ');
    if (sp == NULL || !isdigit((unsigned char)sp[1]))
        return 0;
    return (int)strtol(sp + 1, NULL, 10);
}
