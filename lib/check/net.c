/* net.c — raw TCP/UDP/TLS transport to the one audited address: connect scans, banner reads,
 * hand-made (malformed) requests. Trust level: reads hostile bytes into capped buffers only; never
 * connects anywhere but ctx->host, which was resolved once from the command line. */
#include "check_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int make_addr(const struct check_ctx *c, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (c->family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, c->host, &a->sin6_addr) != 1)
            return SAFECAM_ERR_INVAL;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, c->host, &a->sin_addr) != 1)
            return SAFECAM_ERR_INVAL;
        *len = sizeof *a;
    }
    return 0;
}

static void set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int check_tcp_connect(const struct check_ctx *c, int port, int timeout_ms, int *fd_out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    *fd_out = -1;
    if (port < 1 || port > 65535 || make_addr(c, port, &ss, &sl) != 0)
        return SAFECAM_ERR_INVAL;
    int fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int rc = connect(fd, (struct sockaddr *)&ss, sl);
    if (rc != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return e == ECONNREFUSED ? SAFECAM_ERR_DENIED : SAFECAM_ERR_IO;
    }
    if (rc != 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int pr = poll(&pfd, 1, timeout_ms);
        if (pr <= 0) {
            close(fd);
            return SAFECAM_ERR_TIMEOUT;
        }
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            close(fd);
            return err == ECONNREFUSED ? SAFECAM_ERR_DENIED : SAFECAM_ERR_IO;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeouts(fd, timeout_ms);
    *fd_out = fd;
    return 0;
}

int check_conn_open(const struct check_ctx *c, int port, int tls, struct check_conn *k)
{
    memset(k, 0, sizeof *k);
    k->fd = -1;
    int tmo = c->opt->timeout_s * 1000;
    int rc = check_tcp_connect(c, port, tmo, &k->fd);
    if (rc != 0)
        return rc;
    if (!tls)
        return 0;
    gnutls_session_t s = NULL;
    gnutls_certificate_credentials_t x = NULL;
    if (gnutls_certificate_allocate_credentials(&x) < 0 || gnutls_init(&s, GNUTLS_CLIENT) < 0) {
        rc = SAFECAM_ERR_NOMEM;
        goto fail;
    }
    if (gnutls_set_default_priority(s) < 0 || gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x) < 0) {
        rc = SAFECAM_ERR_INTERNAL;
        goto fail;
    }
    gnutls_transport_set_int(s, k->fd);
    gnutls_handshake_set_timeout(s, (unsigned)tmo);
    int hr;
    do {
        hr = gnutls_handshake(s);
    } while (hr < 0 && gnutls_error_is_fatal(hr) == 0);
    if (hr < 0) {
        rc = SAFECAM_ERR_PROTO;
        goto fail;
    }
    k->tls = 1;
    k->session = s;
    k->xcred = x;
    return 0;
fail:
    if (s)
        gnutls_deinit(s);
    if (x)
        gnutls_certificate_free_credentials(x);
    close(k->fd);
    k->fd = -1;
    return rc;
}

int check_conn_write(struct check_conn *k, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n;
        if (k->tls)
            n = gnutls_record_send((gnutls_session_t)k->session, p, len);
        else
            n = send(k->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (!k->tls && errno == EINTR)
                continue;
            if (k->tls && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED))
                continue;
            return SAFECAM_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int check_conn_read(struct check_conn *k, char *buf, size_t cap, size_t *got, int stop_hdr, int timeout_ms)
{
    size_t have = 0;
    *got = 0;
    if (cap == 0)
        return SAFECAM_ERR_INVAL;
    buf[0] = '\0';
    int64_t deadline = safecam_time_mono_ms() + timeout_ms;
    int rc = 0;
    while (have + 1 < cap) {
        int64_t left = deadline - safecam_time_mono_ms();
        if (left <= 0) {
            rc = have ? 0 : SAFECAM_ERR_TIMEOUT;
            break;
        }
        if (!(k->tls && gnutls_record_check_pending((gnutls_session_t)k->session) > 0)) {
            struct pollfd pfd = {.fd = k->fd, .events = POLLIN};
            int pr = poll(&pfd, 1, (int)left);
            if (pr == 0) {
                rc = have ? 0 : SAFECAM_ERR_TIMEOUT;
                break;
            }
            if (pr < 0) {
                if (errno == EINTR)
                    continue;
                rc = SAFECAM_ERR_IO;
                break;
            }
        }
        ssize_t n;
        if (k->tls) {
            n = gnutls_record_recv((gnutls_session_t)k->session, buf + have, cap - 1 - have);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n < 0)
                n = 0; /* treat TLS errors (reset, bad record) as close */
        } else {
            n = recv(k->fd, buf + have, cap - 1 - have, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = have ? 0 : SAFECAM_ERR_CLOSED;
                break;
            }
        }
        if (n == 0) {
            rc = have ? 0 : SAFECAM_ERR_CLOSED;
            break;
        }
        have += (size_t)n;
        buf[have] = '\0';
        if (stop_hdr == CHECK_READ_HDR && (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL))
            break;
        if (stop_hdr == CHECK_READ_LINE && memchr(buf, '\n', have) != NULL)
            break;
        if (stop_hdr == CHECK_READ_FTP) {
            int code;
            if (check_ftp_reply_parse(buf, have, &code) == 0)
                break;
        }
    }
    buf[have] = '\0';
    *got = have;
    return rc;
}

void check_conn_close(struct check_conn *k)
{
    if (k->session) {
        (void)gnutls_bye((gnutls_session_t)k->session, GNUTLS_SHUT_WR);
        gnutls_deinit((gnutls_session_t)k->session);
    }
    if (k->xcred)
        gnutls_certificate_free_credentials((gnutls_certificate_credentials_t)k->xcred);
    if (k->fd >= 0)
        close(k->fd);
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

/* A loopback connect can "succeed" to itself when the kernel picks the target port as the source
 * port (TCP simultaneous open): that is not a listening service. */
static int self_connected(int fd, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    int lp = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return lp == port;
}

int check_scan_tcp(const struct check_ctx *c, const int *ports, size_t n, unsigned char *open, int timeout_ms,
                   size_t *scanned)
{
    /* rate: at most BATCH connection attempts in flight and at most BATCH per BATCH_MIN_MS (20 480 per
     * second); time: the whole scan stops at SCAN_MAX_MS (*scanned says how far it got) */
    enum { BATCH = 512, BATCH_MIN_MS = 25, SCAN_MAX_MS = 180000 };
    struct pollfd pfd[BATCH];
    size_t idx[BATCH];
    memset(open, 0, n);
    *scanned = 0;
    int64_t scan_end = safecam_time_mono_ms() + SCAN_MAX_MS;
    for (size_t base = 0; base < n; base += BATCH) {
        int64_t batch_t0 = safecam_time_mono_ms();
        if (batch_t0 >= scan_end)
            break;
        size_t m = 0;
        for (size_t i = base; i < n && i < base + BATCH; i++) {
            struct sockaddr_storage ss;
            socklen_t sl;
            if (make_addr(c, ports[i], &ss, &sl) != 0)
                return SAFECAM_ERR_INVAL;
            int fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd < 0)
                return SAFECAM_ERR_IO;
            int rc = connect(fd, (struct sockaddr *)&ss, sl);
            if (rc == 0) {
                open[i] = !self_connected(fd, ports[i]);
                close(fd);
                continue;
            }
            if (errno != EINPROGRESS) {
                close(fd);
                continue;
            }
            pfd[m].fd = fd;
            pfd[m].events = POLLOUT;
            idx[m] = i;
            m++;
        }
        int64_t deadline = safecam_time_mono_ms() + timeout_ms;
        size_t pending = m;
        while (pending > 0) {
            int64_t left = deadline - safecam_time_mono_ms();
            if (left <= 0)
                break;
            int pr = poll(pfd, m, (int)left);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                break;
            for (size_t j = 0; j < m; j++) {
                if (pfd[j].fd < 0 || pfd[j].revents == 0)
                    continue;
                int err = 0;
                socklen_t el = sizeof err;
                if (getsockopt(pfd[j].fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
                    open[idx[j]] = !self_connected(pfd[j].fd, ports[idx[j]]);
                close(pfd[j].fd);
                pfd[j].fd = -1;
                pending--;
            }
        }
        for (size_t j = 0; j < m; j++)
            if (pfd[j].fd >= 0)
                close(pfd[j].fd);
        *scanned = base + BATCH < n ? base + BATCH : n;
        int64_t spent = safecam_time_mono_ms() - batch_t0;
        if (spent < BATCH_MIN_MS && *scanned < n)
            check_sleep_ms(BATCH_MIN_MS - spent, NULL);
    }
    return 0;
}

int check_udp_probe(const struct check_ctx *c, int port, const void *pkt, size_t len, char *ans, size_t cap,
                    size_t *got, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    *got = 0;
    if (make_addr(c, port, &ss, &sl) != 0)
        return SAFECAM_ERR_INVAL;
    int fd = socket(c->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int answered = 0;
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 || send(fd, pkt, len, 0) < 0)
        goto out;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) > 0) {
        ssize_t n = recv(fd, ans, cap, 0);
        if (n > 0) {
            *got = (size_t)n;
            answered = 1;
        }
    }
out:
    close(fd);
    return answered;
}

int check_udp_mcast_probe(const struct check_ctx *c, const char *group, int port, const void *pkt, size_t len,
                          char *ans, size_t cap, size_t *got, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    *got = 0;
    if (c->family != AF_INET || make_addr(c, port, &ss, &sl) != 0)
        return 0;
    const struct sockaddr_in *tgt = (const struct sockaddr_in *)&ss;
    if ((ntohl(tgt->sin_addr.s_addr) >> 24) == 127)
        return 0; /* loopback carries no multicast */
    struct sockaddr_in grp = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, group, &grp.sin_addr) != 1 || !IN_MULTICAST(ntohl(grp.sin_addr.s_addr)))
        return SAFECAM_ERR_INVAL;
    /* the local address on the target's route: a connected UDP socket's name (nothing is sent) */
    struct sockaddr_in local;
    socklen_t ll = sizeof local;
    int rfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (rfd < 0)
        return SAFECAM_ERR_IO;
    int ok = connect(rfd, (const struct sockaddr *)tgt, sl) == 0 &&
             getsockname(rfd, (struct sockaddr *)&local, &ll) == 0;
    close(rfd);
    if (!ok)
        return 0;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    int answered = 0;
    unsigned char ttl = 1;
    struct ip_mreqn mr = {.imr_address = local.sin_addr};
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) != 0 ||
        sendto(fd, pkt, len, 0, (const struct sockaddr *)&grp, sizeof grp) < 0)
        goto out;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int reads = 0; reads < 32; reads++) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long spent = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= timeout_ms)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(timeout_ms - spent)) <= 0)
            break;
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, ans, cap, 0, (struct sockaddr *)&from, &fl);
        if (n > 0 && fl >= sizeof from && from.sin_addr.s_addr == tgt->sin_addr.s_addr) {
            *got = (size_t)n;
            answered = 1;
            break;
        }
    }
out:
    close(fd);
    return answered;
}
