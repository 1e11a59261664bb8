/* front.c — the RTSPS front door: listens on the RTSPS port, admits connections through the fair slot
 * table (conn_guard.h: FRONT_SLOTS, FRONT_PER_SOURCE; unauthenticated ones make room for newcomers, running
 * streams never do), cuts connections that take too long to finish TLS and a first request or stay
 * silent before authenticating (a watchdog thread), refuses client-initiated TLS renegotiation, terminates TLS with the device certificate (policy from G_TLS_GNUTLS_PRIORITY: TLS 1.2+,
 * ECDHE, AEAD), and passes each client's plaintext through the bounded request framer (media.c) to
 * gst-rtsp-server over a private Unix socket pair. Nothing is served without TLS. Runs in the media
 * process, first to touch untrusted network bytes. QCVN 135 G5, G6, G11 / EN 303 645 5.5-1, 5.6-x, 5.13-1. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "media_internal.h"
#include "safecam/audit.h"
#include "safecam/conn_guard.h"

/* Slots and deadlines (docs/connections.md). QCVN 135 G11. */
#define FRONT_SLOTS MEDIA_RTSP_CLIENTS_MAX
#define FRONT_PER_SOURCE MEDIA_RTSP_CLIENTS_PER_SOURCE_MAX
#define HANDSHAKE_TIMEOUT_S 10
#define NEW_DEADLINE_MS 10000    /* TLS handshake + first complete request, however slowly they trickle */
#define SILENT_DEADLINE_MS 30000 /* an unauthenticated connection that sends nothing for this long */
#define WATCH_TICK_MS 250
#define FLOOD_REPORT_MS 10000 /* at most one summary line and one audit event per interval */
#define LOG_BUDGET 10u        /* per-connection log lines per interval; the rest are counted */
#define THREAD_STACK_BYTES ((size_t)256 * 1024)
#define IO_CHUNK 16384
#define TLS_RECORD_HANDSHAKE 22

struct media_front {
    GstRTSPServer *server;
    GTlsCertificate *cert;
    GSocketService *service;
    struct media_vault_ops vault; /* audit only */
    conn_guard *guard;
    GMutex lock;
    GHashTable *by_inner; /* gst-rtsp-server's end of an inner pair (fd) -> struct front_conn */
    unsigned log_budget, log_dropped, renegotiations;
    pthread_t watch;
    int watch_running;
    gint stopping;
};

struct front_conn {
    struct media_front *front;
    GSocketConnection *conn;
    GIOStream *tls;
    GMutex write_lock;
    conn_guard_handle slot;
    int inner;        /* our end of the inner pair to gst-rtsp-server (-1 before the handshake) */
    int inner_server; /* its end (the key in by_inner) */
    pthread_t down;
    guint16 port;
    char ip[64];
};

/* A per-connection log line is allowed (LOG_BUDGET per interval), else counted for the summary. */
static gboolean front_log_ok(struct media_front *f)
{
    g_mutex_lock(&f->lock);
    gboolean ok = f->log_budget > 0;
    if (ok)
        f->log_budget--;
    else
        f->log_dropped++;
    g_mutex_unlock(&f->lock);
    return ok;
}

/* A thread with a small stack: a flood's connections cost 256 KiB of address space each, not 8 MiB. */
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    pthread_attr_t a;
    if (pthread_attr_init(&a) != 0)
        return -1;
    int rc = pthread_attr_setstacksize(&a, THREAD_STACK_BYTES);
    if (rc == 0)
        rc = pthread_create(t, &a, fn, arg);
    pthread_attr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

/* The private connection to gst-rtsp-server: a Unix stream socket pair. fds[0] ours, fds[1] the server's.
 * Not loopback TCP: every RTP packet crosses this pair once more than it crosses the network, and the TCP
 * stack on that hop cost 10-12 % more CPU than a bare gst-rtsp-server at 16 and 32 viewers (bench/README.md,
 * "media_rtsps.sh"). gst-rtsp-server takes the client's address from the caller, not from the socket. */
static int inner_pair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : SAFECAM_ERR_IO;
}

/* Forget fc (before its sockets close). */
static void front_release(struct media_front *f, struct front_conn *fc)
{
    g_mutex_lock(&f->lock);
    if (g_hash_table_lookup(f->by_inner, GINT_TO_POINTER(fc->inner_server)) == fc)
        g_hash_table_remove(f->by_inner, GINT_TO_POINTER(fc->inner_server));
    g_mutex_unlock(&f->lock);
    conn_guard_release(f->guard, fc->slot);
}

void media_front_trust(struct media_front *f, int inner_fd)
{
    if (!f || inner_fd < 0)
        return;
    g_mutex_lock(&f->lock);
    struct front_conn *fc = g_hash_table_lookup(f->by_inner, GINT_TO_POINTER(inner_fd));
    if (fc)
        conn_guard_state_set(f->guard, fc->slot, CONN_GUARD_TRUSTED);
    g_mutex_unlock(&f->lock);
}

static gboolean tls_write_all(struct front_conn *fc, const void *buf, gsize len)
{
    GOutputStream *out = g_io_stream_get_output_stream(fc->tls);
    g_mutex_lock(&fc->write_lock);
    gboolean ok = g_output_stream_write_all(out, buf, len, NULL, NULL, NULL);
    g_mutex_unlock(&fc->write_lock);
    return ok;
}

static void conn_shutdown(struct front_conn *fc)
{
    if (fc->inner >= 0)
        shutdown(fc->inner, SHUT_RDWR);
    GSocket *s = g_socket_connection_get_socket(fc->conn);
    (void)g_socket_shutdown(s, TRUE, TRUE, NULL);
}

GIOStream *media_front_tls_new(GIOStream *base, GTlsCertificate *cert, GError **err)
{
    GType type = g_tls_backend_get_server_connection_type(g_tls_backend_get_default());
    return g_initable_new(type, NULL, err, "base-io-stream", base, "certificate", cert, "database", NULL,
                          "authentication-mode", G_TLS_AUTHENTICATION_NONE, NULL);
}

/* server -> client: copy everything into TLS. */
static void *down_thread(void *p)
{
    struct front_conn *fc = p;
    guint8 *buf = g_malloc(IO_CHUNK * 4);
    for (;;) {
        ssize_t n = read(fc->inner, buf, IO_CHUNK * 4);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || !tls_write_all(fc, buf, (gsize)n))
            break;
    }
    g_free(buf);
    conn_shutdown(fc);
    return NULL;
}

static void send_refusal(struct front_conn *fc, int status, long cseq)
{
    const char *reason = status == 413   ? "Request Entity Too Large"
                         : status == 431 ? "Request Header Fields Too Large"
                         : status == 505 ? "RTSP Version Not Supported"
                                         : "Bad Request";
    char msg[160];
    if (safecam_fmt(msg, sizeof msg,
                    "RTSP/1.0 %d %s\r\nCSeq: %ld\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status,
                    reason, cseq >= 0 ? cseq : 0) == 0)
        (void)tls_write_all(fc, msg, strlen(msg));
}

static gboolean write_inner(int fd, const guint8 *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        p += n;
        len -= (size_t)n;
    }
    return TRUE;
}

/* The inner pair to gst-rtsp-server, registered for media_front_trust before the server can read a
 * request on it, and handed over with the client's real address. */
static int inner_open(struct front_conn *fc)
{
    struct media_front *f = fc->front;
    int pair[2];
    if (inner_pair(pair) != 0) {
        if (front_log_ok(f))
            log_err("rtsps: cannot create an internal connection");
        return -1;
    }
    GSocket *inner = g_socket_new_from_fd(pair[1], NULL);
    if (!inner) {
        close(pair[0]);
        close(pair[1]);
        return -1;
    }
    fc->inner = pair[0];
    fc->inner_server = pair[1];
    g_mutex_lock(&f->lock);
    g_hash_table_replace(f->by_inner, GINT_TO_POINTER(pair[1]), fc);
    g_mutex_unlock(&f->lock);
    /* The socket is gst-rtsp-server's from here on (it closes it when the client goes). */
    if (!gst_rtsp_server_transfer_connection(f->server, inner, fc->ip, fc->port, NULL))
        return -1; /* fc->inner is closed by the caller; the server side went with inner */
    return 0;
}

/* After the handshake, wait until the client sends something and look at the TLS record header before
 * the TLS layer reads it: a handshake record now is a renegotiation (TLS 1.2; in TLS 1.3 every later
 * handshake message is inside application_data records), which is refused by closing. Returns 1 when the
 * TLS layer may read, 0 to close. */
static int wait_record(struct front_conn *fc, GInputStream *tin, int fd)
{
    /* Data the TLS layer already holds (decrypted or read ahead) comes first. */
    if (g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(tin))) {
        struct pollfd q = {.fd = fd, .events = POLLIN};
        if (poll(&q, 1, 0) != 1)
            return 1;
    }
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int n = poll(&pf, 1, -1); /* the watchdog's shutdown() wakes it */
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            return 0;
        unsigned char hdr[2] = {0, 0};
        ssize_t r = recv(fd, hdr, sizeof hdr, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        /* Content type 22 and the major version byte 3 of a record header (one byte alone: type only). */
        if (r >= 1 && hdr[0] == TLS_RECORD_HANDSHAKE && (r < 2 || hdr[1] == 3)) {
            g_mutex_lock(&fc->front->lock);
            fc->front->renegotiations++;
            g_mutex_unlock(&fc->front->lock);
            return 0;
        }
        return 1; /* data, EOF or an error: the TLS layer reports it */
    }
}

/* client -> server: TLS handshake, then every byte through the framer. */
static void *conn_thread(void *p)
{
    struct front_conn *fc = p;
    GError *err = NULL;
    int down = 0;
    struct media_rtsp_framer *fr = g_new(struct media_rtsp_framer, 1);
    guint8 *in = g_malloc(IO_CHUNK);
    guint8 *out = g_malloc(IO_CHUNK + MEDIA_RTSP_HEADER_MAX);
    media_rtsp_framer_init(fr);
    GSocket *sock = g_socket_connection_get_socket(fc->conn);
    g_socket_set_timeout(sock, HANDSHAKE_TIMEOUT_S);
    fc->tls = media_front_tls_new(G_IO_STREAM(fc->conn), fc->front->cert, &err);
    if (!fc->tls)
        goto out;
    if (!g_tls_connection_handshake(G_TLS_CONNECTION(fc->tls), NULL, &err)) {
        if (front_log_ok(fc->front))
            log_info("rtsps: TLS handshake with %s failed: %s", fc->ip, err ? err->message : "?");
        goto out;
    }
    /* Only now a connection to gst-rtsp-server: a flood that never completes TLS costs a thread and a
     * slot, not an RTSP client. */
    if (inner_open(fc) != 0 || thread_start(&fc->down, down_thread, fc) != 0)
        goto out;
    down = 1;
    GInputStream *tin = g_io_stream_get_input_stream(fc->tls);
    int fd = g_socket_get_fd(sock);
    gboolean first_done = FALSE;
    for (;;) {
        if (!wait_record(fc, tin, fd)) {
            if (front_log_ok(fc->front))
                log_info("rtsps: TLS renegotiation from %s refused: closed", fc->ip);
            break;
        }
        gssize n = g_input_stream_read(tin, in, IO_CHUNK, NULL, NULL);
        if (n <= 0)
            break;
        conn_guard_touch(fc->front->guard, fc->slot);
        size_t olen = 0;
        int st = media_rtsp_framer_feed(fr, in, (size_t)n, out, IO_CHUNK + MEDIA_RTSP_HEADER_MAX, &olen);
        if (olen && !write_inner(fc->inner, out, olen))
            break;
        if (st) {
            if (front_log_ok(fc->front))
                log_info("rtsps: request from %s refused (%d)", fc->ip, st);
            send_refusal(fc, st, fr->cseq);
            /* Lingering close: read (and drop) what the client is still sending for a moment, so the
             * refusal is not lost to a TCP reset. Bounded in bytes and time. */
            g_socket_set_timeout(sock, 1);
            gint64 until = g_get_monotonic_time() + G_USEC_PER_SEC;
            size_t drained = 0;
            while (drained < (1u << 20) && g_get_monotonic_time() < until) {
                gssize d = g_input_stream_read(tin, in, IO_CHUNK, NULL, NULL);
                if (d <= 0)
                    break;
                drained += (size_t)d;
            }
            break;
        }
        if (!first_done && fr->requests > 0) {
            first_done = TRUE;
            /* The watchdog keeps the deadlines from here on (SILENT_DEADLINE_MS until authenticated;
             * none once trusted): an authenticated session may idle between keep-alives. */
            g_socket_set_timeout(sock, 0);
            conn_guard_state_set(fc->front->guard, fc->slot, CONN_GUARD_ACTIVE);
        }
    }
out:
    g_clear_error(&err);
    conn_shutdown(fc);
    /* Give the slot back while the socket is still open: closing the TLS stream below closes the fd, and
     * the guard must never hold (and later shut down) a number the kernel may hand to a new client. */
    front_release(fc->front, fc);
    if (down)
        pthread_join(fc->down, NULL);
    if (fc->tls) {
        (void)g_io_stream_close(fc->tls, NULL, NULL);
        g_object_unref(fc->tls);
    }
    if (fc->inner >= 0)
        close(fc->inner);
    g_object_unref(fc->conn);
    g_mutex_clear(&fc->write_lock);
    memset(fr, 0, sizeof *fr);
    g_free(fr);
    g_free(in);
    g_free(out);
    g_free(fc);
    return NULL;
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user)
{
    (void)service;
    (void)source;
    struct media_front *f = user;
    GSocketAddress *remote = g_socket_connection_get_remote_address(conn, NULL);
    if (!remote || !G_IS_INET_SOCKET_ADDRESS(remote)) {
        if (remote)
            g_object_unref(remote);
        return TRUE;
    }
    gchar *ip = g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)));
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(remote));
    struct sockaddr_storage ss;
    char key[CONN_GUARD_SOURCE_BYTES];
    memset(&ss, 0, sizeof ss);
    if (g_socket_address_to_native(remote, &ss, sizeof ss, NULL))
        conn_guard_source_key((const struct sockaddr *)&ss, key);
    else
        conn_guard_source_key(NULL, key);
    g_object_unref(remote);

    /* Admission: a source at its share is closed here, before any thread or TLS; when the table is full
     * an unauthenticated connection is cut to make room. Refusals are tallied, not logged (one summary
     * per FLOOD_REPORT_MS from the watchdog). */
    int fd = g_socket_get_fd(g_socket_connection_get_socket(conn));
    conn_guard_handle slot = CONN_GUARD_HANDLE_NONE;
    if (conn_guard_admit(f->guard, key, fd, &slot) != 0) {
        (void)g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
        g_free(ip);
        return TRUE;
    }

    struct front_conn *fc = g_new0(struct front_conn, 1);
    fc->front = f;
    fc->conn = g_object_ref(conn);
    fc->inner = fc->inner_server = -1;
    fc->slot = slot;
    fc->port = port;
    g_mutex_init(&fc->write_lock);
    if (safecam_strlcpy(fc->ip, ip, sizeof fc->ip) != 0)
        fc->ip[0] = '\0';
    g_free(ip);
    pthread_t t;
    if (thread_start(&t, conn_thread, fc) != 0) {
        conn_guard_release(f->guard, slot);
        g_object_unref(fc->conn);
        g_mutex_clear(&fc->write_lock);
        g_free(fc);
        return TRUE;
    }
    (void)pthread_detach(t);
    return TRUE;
}

/* Deadlines, the flood summary and giving memory back after a flood. */
static void front_report(struct media_front *f, int *flood_was_on)
{
    struct conn_guard_tally t;
    int flood = conn_guard_tally_take(f->guard, &t);
    g_mutex_lock(&f->lock);
    unsigned dropped = f->log_dropped, reneg = f->renegotiations;
    f->log_dropped = 0;
    f->renegotiations = 0;
    f->log_budget = LOG_BUDGET;
    g_mutex_unlock(&f->lock);
    if (flood || dropped || reneg) {
        char line[AUDIT_DETAIL_MAX_BYTES - 64];
        if (conn_guard_tally_format(&t, line, sizeof line) != 0)
            line[0] = '\0';
        char detail[AUDIT_DETAIL_MAX_BYTES];
        if (safecam_fmt(detail, sizeof detail, "%s renegotiations_refused=%u log_lines_dropped=%u", line, reneg,
                        dropped) != 0)
            detail[0] = '\0';
        log_warn("rtsps: connection flood: %s", detail);
        if (flood && f->vault.audit)
            f->vault.audit(f->vault.ctx, AUDIT_CONNECTION_FLOOD, NULL, detail);
    }
    /* A flood's threads and TLS buffers are freed; hand the pages back once it is over. */
    if (*flood_was_on && !flood)
        (void)malloc_trim(0);
    *flood_was_on = flood;
}

static void *watch_main(void *arg)
{
    struct media_front *f = arg;
    int64_t next_report = safecam_time_mono_ms() + FLOOD_REPORT_MS;
    int flood_was_on = 0;
    while (!g_atomic_int_get(&f->stopping)) {
        struct timespec ts = {0, WATCH_TICK_MS * 1000L * 1000L};
        nanosleep(&ts, NULL);
        (void)conn_guard_expire(f->guard, NEW_DEADLINE_MS, SILENT_DEADLINE_MS);
        if (safecam_time_mono_ms() >= next_report) {
            front_report(f, &flood_was_on);
            next_report = safecam_time_mono_ms() + FLOOD_REPORT_MS;
        }
    }
    return NULL;
}

int media_front_new(GstRTSPServer *server, GTlsCertificate *cert, const struct media_vault_ops *vault,
                    const char *bind, int port, int listen_fd, struct media_front **out)
{
    *out = NULL;
    GInetAddress *addr = g_inet_address_new_from_string(bind);
    if (!addr)
        return SAFECAM_ERR_INVAL;
    GSocketAddress *sa = g_inet_socket_address_new(addr, (guint16)port);
    g_object_unref(addr);
    struct media_front *f = g_new0(struct media_front, 1);
    if (conn_guard_new(FRONT_SLOTS, FRONT_PER_SOURCE, &f->guard) != 0) {
        g_object_unref(sa);
        g_free(f);
        return SAFECAM_ERR_NOMEM;
    }
    g_mutex_init(&f->lock);
    f->by_inner = g_hash_table_new(g_direct_hash, g_direct_equal);
    f->log_budget = LOG_BUDGET;
    if (vault)
        f->vault = *vault;
    f->server = g_object_ref(server);
    f->cert = g_object_ref(cert);
    f->service = g_socket_service_new();
    g_socket_listener_set_backlog(G_SOCKET_LISTENER(f->service), 64);
    GError *err = NULL;
    /* The supervisor may have bound the port (a privileged one) and handed the socket down: use a copy of
     * it, so the supervisor's stays open for the next start of this process. */
    GSocket *given = NULL;
    if (listen_fd >= 0) {
        int fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
        given = fd >= 0 ? g_socket_new_from_fd(fd, &err) : NULL;
        if (!given && fd >= 0)
            close(fd);
    }
    if (listen_fd >= 0 ? !given || !g_socket_listener_add_socket(G_SOCKET_LISTENER(f->service), given, NULL, &err)
                       : !g_socket_listener_add_address(G_SOCKET_LISTENER(f->service), sa, G_SOCKET_TYPE_STREAM,
                                                        G_SOCKET_PROTOCOL_TCP, NULL, NULL, &err)) {
        if (given)
            g_object_unref(given);
        log_err("rtsps: cannot listen on %s port %d: %s", bind, port, err ? err->message : "?");
        g_clear_error(&err);
        g_object_unref(sa);
        g_object_unref(f->service);
        g_object_unref(f->server);
        g_object_unref(f->cert);
        g_hash_table_unref(f->by_inner);
        conn_guard_free(f->guard);
        g_free(f);
        return SAFECAM_ERR_IO;
    }
    g_object_unref(sa);
    if (given)
        g_object_unref(given); /* the listener holds its own reference */
    if (thread_start(&f->watch, watch_main, f) != 0) {
        log_err("rtsps: cannot start the connection watchdog");
        g_socket_listener_close(G_SOCKET_LISTENER(f->service));
        g_object_unref(f->service);
        g_object_unref(f->server);
        g_object_unref(f->cert);
        g_hash_table_unref(f->by_inner);
        conn_guard_free(f->guard);
        g_free(f);
        return SAFECAM_ERR_INTERNAL;
    }
    f->watch_running = 1;
    g_signal_connect(f->service, "incoming", G_CALLBACK(on_incoming), f);
    g_socket_service_start(f->service);
    *out = f;
    return 0;
}

unsigned media_front_count(struct media_front *f)
{
    return conn_guard_count(f->guard);
}

void media_front_stop(struct media_front *f)
{
    if (!f)
        return;
    g_socket_service_stop(f->service);
    g_socket_listener_close(G_SOCKET_LISTENER(f->service));
    g_atomic_int_set(&f->stopping, 1);
    if (f->watch_running)
        pthread_join(f->watch, NULL);
    f->watch_running = 0;
    /* Connection threads still reference f: it stays allocated for the life of the process. */
}
