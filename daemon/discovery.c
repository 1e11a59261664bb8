/* discovery.c — safecam-discovery, the WS-Discovery responder (UDP 3702, group 239.255.255.250): wiring only.
 * The supervisor starts it only while ONVIF and its discovery switch are both on, and stops it when either
 * goes off. Before its walls go up it reads the public device identity and opens, binds and joins its UDP
 * sockets (the bind address and the group, port 3702); then it may create no socket and open no state file
 * (lib/supervisor/child_table.c). It says Hello at start and Bye at stop, and answers a matching Probe
 * (lib/onvif parse) with one unicast ProbeMatches carrying https:// XAddrs only, sent with TTL 1 (it cannot
 * leave the local link), within a total and a per-source budget and only when the answer is at most
 * ONVIF_DISCOVERY_AMPLIFICATION_MAX times the probe. Every refusal is counted and summarised in one log line
 * a minute at most. It holds no secret. Trust level: every datagram is untrusted; the supervisor channel is
 * trusted. QCVN 135 G6 (off by default, minimal surface), G8 / EN 303 645 5.6-1, 5.6-2, 5.9-1. docs/onvif.md.
 * Usage: safecam-discovery --state-dir DIR --ipc-fd N --bind ADDR --https-port N (started by safecamd). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/core.h"
#include "safecam/device.h"
#include "safecam/ipc.h"
#include "safecam/ipc_child.h"
#include "safecam/onvif.h"
#include "safecam/sandbox.h"

static void usage(void)
{
    fprintf(stderr, "usage: safecam-discovery --state-dir DIR --ipc-fd N --bind ADDR --https-port N\n");
}

#define DISCOVERY_IFACES_MAX 16 /* interfaces announced on with a wildcard bind */

/* One up, multicast-capable, non-loopback IPv4 interface (wildcard bind), as found at start. */
struct iface {
    unsigned index;
    struct in_addr addr;
    char name[IF_NAMESIZE];
};

struct responder {
    int fd;               /* the UDP socket on the bind address, port 3702: unicast probes, every send */
    int mc_fd;            /* bound to the group, joined on the bind address's interface only; -1 with a
                           * wildcard bind (then fd is *:3702 and joined on every interface of ifaces) */
    struct iface ifaces[DISCOVERY_IFACES_MAX];
    size_t n_ifaces;
    struct in_addr bind4; /* the camera's address (INADDR_ANY: the address the probe came in on) */
    unsigned https_port;
    char uuid[37]; /* the stable endpoint UUID */
    char model[64];
    unsigned long long instance_id, message_number;
    struct onvif_discovery_limits limits;
    unsigned long long dropped[ONVIF_DROP_KINDS], answered;
    long long summary_at_ms;
};

static void fresh_uuid(char out[37])
{
    unsigned char r[16];
    randombytes_buf(r, sizeof r);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < sizeof r; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[r[i] >> 4];
        out[n++] = hex[r[i] & 15];
    }
    out[n] = '\0';
}

/* Build one message into out; 0 or an error. */
static int message_build(struct responder *r, enum onvif_discovery_kind kind, struct in_addr host,
                         const char *relates_to, struct safecam_buf *out)
{
    char hostbuf[INET_ADDRSTRLEN], msgid[37];
    if (!inet_ntop(AF_INET, &host, hostbuf, sizeof hostbuf))
        return SAFECAM_ERR_INVAL;
    fresh_uuid(msgid);
    const struct onvif_discovery_facts f = {.endpoint_uuid = r->uuid,
                                            .xaddr_host = hostbuf,
                                            .model = r->model,
                                            .https_port = r->https_port,
                                            .instance_id = r->instance_id,
                                            .message_number = ++r->message_number,
                                            .message_uuid = msgid};
    safecam_buf_init(out, ONVIF_DISCOVERY_MESSAGE_MAX_BYTES, 0);
    return onvif_discovery_write(kind, &f, relates_to, out);
}

/* Send b to `to` from fd. ifindex/src non-zero: out of that interface with that source address (IP_PKTINFO;
 * for the group this picks the interface, as IP_MULTICAST_IF does for the whole socket). */
static ssize_t send_via(int fd, const struct safecam_buf *b, const struct sockaddr_in *to, unsigned ifindex,
                        struct in_addr src)
{
    union {
        char c[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {b->data, b->len};
    struct msghdr mh = {.msg_name = (void *)to, .msg_namelen = sizeof *to, .msg_iov = &iov, .msg_iovlen = 1};
    if (ifindex) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.c;
        mh.msg_controllen = sizeof ctl.c;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        const struct in_pktinfo pi = {.ipi_ifindex = (int)ifindex, .ipi_spec_dst = src};
        memcpy(CMSG_DATA(cm), &pi, sizeof pi);
    }
    return sendmsg(fd, &mh, MSG_DONTWAIT);
}

/* Hello or Bye to the group, TTL 1: from the bind address (IP_MULTICAST_IF), or with a wildcard bind once on
 * each interface found at start, each naming that interface's address in its XAddr. */
static void announce(struct responder *r, enum onvif_discovery_kind kind)
{
    const char *what = kind == ONVIF_DISCOVERY_HELLO ? "Hello" : "Bye";
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(ONVIF_DISCOVERY_PORT)};
    (void)inet_pton(AF_INET, ONVIF_DISCOVERY_GROUP4, &to.sin_addr);
    int wildcard = r->bind4.s_addr == htonl(INADDR_ANY);
    size_t n = wildcard ? r->n_ifaces : 1;
    for (size_t i = 0; i < n && i < DISCOVERY_IFACES_MAX; i++) {
        struct in_addr host = wildcard ? r->ifaces[i].addr : r->bind4;
        const char *ifname = wildcard ? r->ifaces[i].name : "bind address";
        struct safecam_buf b;
        if (message_build(r, kind, host, NULL, &b) != 0)
            continue;
        char a[INET_ADDRSTRLEN];
        if (!inet_ntop(AF_INET, &host, a, sizeof a))
            a[0] = '\0';
        if (send_via(r->fd, &b, &to, wildcard ? r->ifaces[i].index : 0, host) < 0)
            log_warn("discovery: cannot send %s on %s (%s): %s", what, ifname, a, strerror(errno));
        else
            log_info("discovery: %s sent on %s (%s, %zu bytes)", what, ifname, a, b.len);
        safecam_buf_free(&b);
    }
}

static void drop(struct responder *r, enum onvif_discovery_drop why)
{
    r->dropped[why]++;
}

/* One line a minute at most, and only when something was refused. */
static void summary_tick(struct responder *r, int force)
{
    long long now = safecam_time_mono_ms();
    if (!force && now - r->summary_at_ms < ONVIF_DISCOVERY_SUMMARY_MS)
        return;
    r->summary_at_ms = now;
    unsigned long long total = 0;
    for (size_t i = 0; i < ONVIF_DROP_KINDS; i++)
        total += r->dropped[i];
    if (!total)
        return;
    log_info(
        "discovery: %llu answered, %llu refused (oversized %llu, malformed %llu, not_probe %llu, no_match "
        "%llu, rate %llu, amplification %llu, source %llu)",
        r->answered, total, r->dropped[ONVIF_DROP_OVERSIZED], r->dropped[ONVIF_DROP_MALFORMED],
        r->dropped[ONVIF_DROP_NOT_PROBE], r->dropped[ONVIF_DROP_NO_MATCH], r->dropped[ONVIF_DROP_RATE],
        r->dropped[ONVIF_DROP_AMPLIFICATION], r->dropped[ONVIF_DROP_SOURCE]);
    memset(r->dropped, 0, sizeof r->dropped);
    r->answered = 0;
}

/* One datagram: refuse (counted) or answer it. */
static void datagram_serve(struct responder *r, int from_fd)
{
    char buf[ONVIF_PROBE_MAX_BYTES + 1];
    struct sockaddr_in from;
    union {
        char c[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_name = &from,
                        .msg_namelen = sizeof from,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.c,
                        .msg_controllen = sizeof ctl.c};
    ssize_t n = recvmsg(from_fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0)
        return;
    if ((size_t)n > ONVIF_PROBE_MAX_BYTES || (mh.msg_flags & MSG_TRUNC)) {
        drop(r, ONVIF_DROP_OVERSIZED);
        return;
    }
    struct in_addr local = r->bind4;
    unsigned in_ifindex = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            if (local.s_addr == htonl(INADDR_ANY)) {
                local = pi.ipi_spec_dst; /* wildcard bind: the address of the interface the probe came in on */
                in_ifindex = (unsigned)pi.ipi_ifindex;
            }
            else if (pi.ipi_addr.s_addr != r->bind4.s_addr && !IN_MULTICAST(ntohl(pi.ipi_addr.s_addr)))
                local.s_addr = htonl(INADDR_ANY); /* sent to another of the host's addresses: not ours */
        }
    uint32_t src = ntohl(from.sin_addr.s_addr);
    if (mh.msg_namelen != sizeof from || from.sin_family != AF_INET || from.sin_port == 0 || src == 0 ||
        IN_MULTICAST(src) || src == INADDR_BROADCAST || local.s_addr == htonl(INADDR_ANY)) {
        drop(r, ONVIF_DROP_SOURCE);
        return;
    }
    long long now = safecam_time_mono_ms();
    if (!onvif_discovery_parse_allow(&r->limits, now)) {
        drop(r, ONVIF_DROP_RATE);
        return;
    }
    struct onvif_probe p;
    int rc = onvif_probe_parse(buf, (size_t)n, &p);
    if (rc == SAFECAM_ERR_TOOBIG) {
        drop(r, ONVIF_DROP_OVERSIZED);
        return;
    }
    if (rc != 0 || (p.is_probe && !p.message_id[0])) {
        drop(r, ONVIF_DROP_MALFORMED);
        return;
    }
    if (!p.is_probe) {
        drop(r, ONVIF_DROP_NOT_PROBE);
        return;
    }
    if (!p.matches) {
        drop(r, ONVIF_DROP_NO_MATCH);
        return;
    }
    if (!onvif_discovery_reply_allow(&r->limits, &from.sin_addr, sizeof from.sin_addr, now)) {
        drop(r, ONVIF_DROP_RATE);
        return;
    }
    struct safecam_buf b;
    if (message_build(r, ONVIF_DISCOVERY_PROBE_MATCHES, local, p.message_id, &b) != 0)
        return;
    if (b.len > ONVIF_DISCOVERY_AMPLIFICATION_MAX * (size_t)n) {
        drop(r, ONVIF_DROP_AMPLIFICATION);
    } else if (send_via(r->fd, &b, &from, in_ifindex, local) >= 0) { /* back out of the interface it came in on */
        r->answered++;
    }
    safecam_buf_free(&b);
}

static size_t on_extra_fds(void *ctx, struct pollfd *pfd, size_t max)
{
    struct responder *r = ctx;
    if (max < 2)
        return 0;
    pfd[0] = (struct pollfd){.fd = r->fd, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = r->mc_fd, .events = POLLIN}; /* a negative fd is ignored by poll */
    return 2;
}

static void on_extra_ready(void *ctx, const struct pollfd *pfd, size_t n)
{
    struct responder *r = ctx;
    /* bounded: at most 64 datagrams a socket a turn, so the supervisor channel is served between bursts */
    for (size_t k = 0; k < n && k < 2; k++)
        for (int i = 0; pfd[k].fd >= 0 && (pfd[k].revents & POLLIN) && i < 64; i++) {
            char peek;
            datagram_serve(r, pfd[k].fd);
            if (recv(pfd[k].fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) < 0)
                break;
        }
}

static int on_tick(void *ctx, int *timeout_ms)
{
    (void)timeout_ms;
    summary_tick(ctx, 0);
    return 0;
}

/* One UDP socket bound to addr:3702 with IP_PKTINFO and TTL 1 (unicast and multicast), or -1 (logged). */
static int udp_open(struct in_addr addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1, ttl = 1, zero = 0;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(ONVIF_DISCOVERY_PORT), .sin_addr = addr};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        char a[INET_ADDRSTRLEN];
        log_err("discovery: cannot open UDP %s:%d: %s", inet_ntop(AF_INET, &addr, a, sizeof a) ? a : "?",
                ONVIF_DISCOVERY_PORT, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* With a wildcard bind: the up, multicast-capable, non-loopback IPv4 interfaces (the first address of each,
 * at most DISCOVERY_IFACES_MAX), read once before the walls. Interfaces that come up later are not announced on
 * (probes reaching them are still answered). */
static void ifaces_find(struct responder *r)
{
    struct ifaddrs *all = NULL;
    r->n_ifaces = 0;
    if (getifaddrs(&all) != 0) {
        log_warn("discovery: cannot list the interfaces: %s (no Hello or Bye)", strerror(errno));
        return;
    }
    for (struct ifaddrs *a = all; a && r->n_ifaces < DISCOVERY_IFACES_MAX; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !(a->ifa_flags & IFF_UP) ||
            !(a->ifa_flags & IFF_MULTICAST) || (a->ifa_flags & IFF_LOOPBACK))
            continue;
        unsigned index = if_nametoindex(a->ifa_name);
        int seen = index == 0;
        for (size_t i = 0; i < r->n_ifaces && !seen; i++)
            seen = r->ifaces[i].index == index;
        if (seen || safecam_strlcpy(r->ifaces[r->n_ifaces].name, a->ifa_name, IF_NAMESIZE) != 0)
            continue;
        r->ifaces[r->n_ifaces].index = index;
        r->ifaces[r->n_ifaces].addr = ((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr;
        r->n_ifaces++;
    }
    freeifaddrs(all);
}

/* Join the group on one interface (ifindex 0: the one of addr). */
static void group_join(int fd, struct in_addr group, struct in_addr addr, unsigned ifindex, const char *name)
{
    struct ip_mreqn mreq = {.imr_multiaddr = group, .imr_address = addr, .imr_ifindex = (int)ifindex};
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0)
        log_warn("discovery: cannot join %s on %s: %s (unicast probes only there)", ONVIF_DISCOVERY_GROUP4,
                 name, strerror(errno));
}

/* The sockets, before the walls. A specific bind address: one socket on ADDR:3702 (unicast probes to the
 * camera, every send, so answers come from the camera's address) and one on GROUP:3702 joined on ADDR's
 * interface only (IP_MULTICAST_ALL off), so nothing listens on the host's other addresses. A wildcard bind:
 * one *:3702, joined on every up, multicast-capable, non-loopback IPv4 interface. */
static int socket_open(struct responder *r)
{
    struct in_addr group;
    (void)inet_pton(AF_INET, ONVIF_DISCOVERY_GROUP4, &group);
    int wildcard = r->bind4.s_addr == htonl(INADDR_ANY);
    r->fd = udp_open(r->bind4);
    r->mc_fd = wildcard ? -1 : udp_open(group);
    if (r->fd < 0 || (!wildcard && r->mc_fd < 0))
        return -1;
    if (wildcard) {
        ifaces_find(r);
        for (size_t i = 0; i < r->n_ifaces; i++)
            group_join(r->fd, group, r->ifaces[i].addr, r->ifaces[i].index, r->ifaces[i].name);
        if (r->n_ifaces == 0)
            log_warn("discovery: no multicast interface is up: unicast probes only, no Hello or Bye");
        return 0;
    }
    group_join(r->mc_fd, group, r->bind4, 0, "the bind address's interface");
    if (setsockopt(r->fd, IPPROTO_IP, IP_MULTICAST_IF, &r->bind4, sizeof r->bind4) != 0)
        log_warn("discovery: cannot send multicast from the bind address: %s", strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    const char *state_dir = NULL, *bind_addr = NULL;
    long ipc_fd = -1, port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            state_dir = argv[++i];
        } else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
            bind_addr = argv[++i];
        } else if (strcmp(argv[i], "--ipc-fd") == 0 && i + 1 < argc) {
            if (safecam_parse_long(argv[++i], 3, 1023, &ipc_fd) != 0) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--https-port") == 0 && i + 1 < argc) {
            if (safecam_parse_long(argv[++i], 1, 65535, &port) != 0) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (!state_dir || !bind_addr || ipc_fd < 0 || port == 0) {
        usage();
        return 2;
    }
    struct stat sb;
    if (fstat((int)ipc_fd, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "safecam-discovery: --ipc-fd %ld is not a socket\n", ipc_fd);
        return 2;
    }
    (void)fcntl((int)ipc_fd, F_SETFD, FD_CLOEXEC);
    safecam_log_init("discovery", SAFECAM_LOG_INFO);
    if (sodium_init() < 0)
        return 1;
    static struct responder r = {.fd = -1, .mc_fd = -1};
    r.https_port = (unsigned)port;
    int v4 = inet_pton(AF_INET, bind_addr, &r.bind4) == 1;
    struct device_identity id;
    if (device_identity_load(state_dir, &id) != 0) {
        log_err("discovery: the device identity cannot be read");
        return 1;
    }
    onvif_discovery_uuid(id.serial, id.mac, r.uuid);
    if (safecam_strlcpy(r.model, id.model, sizeof r.model) != 0)
        r.model[0] = '\0';
    sodium_memzero(&id, sizeof id);
    if (v4 && socket_open(&r) != 0)
        return 1;
    /* The walls: from here no new socket, no state file (sandbox.h). */
    const struct sandbox_paths walls = {.state_dir = state_dir};
    if (sandbox_child_enter("discovery", &walls) != 0)
        return 1;
    const volatile sig_atomic_t *got_signal = ipc_child_signals_install();
    onvif_init();
    long long now = safecam_time_mono_ms();
    onvif_discovery_limits_init(&r.limits, now);
    r.summary_at_ms = now;
    r.instance_id = (unsigned long long)safecam_time_now();

    ipc_child *child = NULL;
    const struct ipc_child_config cc = {.role = "discovery", .sup_fd = (int)ipc_fd, .ctx = &r};
    if (ipc_child_new(&cc, &child) != 0)
        return 1;
    if (v4) {
        log_info("discovery: answering probes on UDP %d (%s), endpoint urn:uuid:%s", ONVIF_DISCOVERY_PORT,
                 bind_addr, r.uuid);
        announce(&r, ONVIF_DISCOVERY_HELLO);
    } else {
        log_warn(
            "discovery: bind address %s is not IPv4: WS-Discovery over IPv6 is not built; staying silent",
            bind_addr);
    }
    const struct ipc_child_loop loop = {
        .signalled = got_signal,
        .timeout_ms = 1000,
        .tick = on_tick,
        .extra_fds = v4 ? on_extra_fds : NULL,
        .extra_ready = v4 ? on_extra_ready : NULL,
    };
    int rc = ipc_child_run(child, &loop);
    if (rc != 0)
        log_err("discovery: supervisor channel: %s; exiting", safecam_err_name(rc));
    if (v4) {
        announce(&r, ONVIF_DISCOVERY_BYE);
        summary_tick(&r, 1);
        close(r.fd);
        if (r.mc_fd >= 0)
            close(r.mc_fd);
    }
    log_info("discovery: stopped");
    ipc_child_free(child);
    return 0;
}
