/* front.c — the RTSPS front door: listens on the RTSPS port, refuses connections over the per-source and
 * total limits, terminates TLS with the device certificate (policy from G_TLS_GNUTLS_PRIORITY: TLS 1.2+,
 * ECDHE, AEAD), and passes each client's plaintext through the bounded request framer (media.c) to
 * gst-rtsp-server over a private loopback TCP pair. Nothing is served without TLS. Runs in the media
 * process, first to touch untrusted network bytes. QCVN 135 G5, G6, G11 / EN 303 645 5.5-1, 5.6-x, 5.13-1. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "media_internal.h"

#define HANDSHAKE_TIMEOUT_S 10
#define FIRST_REQUEST_DEADLINE_US (10 * G_USEC_PER_SEC)
#define IO_CHUNK 16384

struct media_front {
    GstRTSPServer *server;
    GTlsCertificate *cert;
    GSocketService *service;
    GMutex lock;
    GHashTable *per_ip; /* ip -> count */
    unsigned total;
};

struct front_conn {
    struct media_front *front;
    GSocketConnection *conn;
    GIOStream *tls;
    GMutex write_lock;
    int inner; /* our end of the loopback pair to gst-rtsp-server */
    char ip[64];
};

/* A connected loopback TCP pair; gst-rtsp-server needs an inet socket. fds[0] ours, fds[1] the server's. */
static int loopback_pair(int fds[2])
{
    int lst = -1, a = -1, b = -1;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lst < 0 || bind(lst, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lst, 1) != 0 ||
        getsockname(lst, (struct sockaddr *)&sa, &sl) != 0)
        goto fail;
    a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a < 0 || connect(a, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto fail;
    struct sockaddr_in mine, peer;
    socklen_t ml = sizeof mine, pl = sizeof peer;
    if (getsockname(a, (struct sockaddr *)&mine, &ml) != 0)
        goto fail;
    b = accept4(lst, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    /* Only our own connect may be accepted on the private listener. */
    if (b < 0 || peer.sin_port != mine.sin_port || peer.sin_addr.s_addr != mine.sin_addr.s_addr)
        goto fail;
    close(lst);
    int one = 1;
    (void)setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fds[0] = a;
    fds[1] = b;
    return 0;
fail:
    if (lst >= 0)
        close(lst);
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    return SAFECAM_ERR_IO;
}

static void front_release(struct media_front *f, const char *ip)
{
    g_mutex_lock(&f->lock);
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(f->per_ip, ip));
    if (n <= 1)
        g_hash_table_remove(f->per_ip, ip);
    else
        g_hash_table_insert(f->per_ip, g_strdup(ip), GUINT_TO_POINTER(n - 1));
    if (f->total)
        f->total--;
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
    shutdown(fc->inner, SHUT_RDWR);
    GSocket *s = g_socket_connection_get_socket(fc->conn);
    (void)g_socket_shutdown(s, TRUE, TRUE, NULL);
}

/* server -> client: copy everything into TLS. */
static gpointer down_thread(gpointer p)
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

/* client -> server: TLS handshake, then every byte through the framer. */
static gpointer conn_thread(gpointer p)
{
    struct front_conn *fc = p;
    GError *err = NULL;
    GThread *down = NULL;
    struct media_rtsp_framer *fr = g_new(struct media_rtsp_framer, 1);
    guint8 *in = g_malloc(IO_CHUNK);
    guint8 *out = g_malloc(IO_CHUNK + MEDIA_RTSP_HEADER_MAX);
    media_rtsp_framer_init(fr);
    GSocket *sock = g_socket_connection_get_socket(fc->conn);
    g_socket_set_timeout(sock, HANDSHAKE_TIMEOUT_S);
    fc->tls = g_tls_server_connection_new(G_IO_STREAM(fc->conn), fc->front->cert, &err);
    if (!fc->tls)
        goto out;
    g_object_set(fc->tls, "authentication-mode", G_TLS_AUTHENTICATION_NONE, NULL);
    if (!g_tls_connection_handshake(G_TLS_CONNECTION(fc->tls), NULL, &err)) {
        log_info("rtsps: TLS handshake with %s failed: %s", fc->ip, err ? err->message : "?");
        goto out;
    }
    down = g_thread_new("rtsps-down", down_thread, fc);
    GInputStream *tin = g_io_stream_get_input_stream(fc->tls);
    gint64 start = g_get_monotonic_time();
    gboolean first_done = FALSE;
    for (;;) {
        gssize n = g_input_stream_read(tin, in, IO_CHUNK, NULL, NULL);
        if (n <= 0)
            break;
        size_t olen = 0;
        int st = media_rtsp_framer_feed(fr, in, (size_t)n, out, IO_CHUNK + MEDIA_RTSP_HEADER_MAX, &olen);
        if (olen && !write_inner(fc->inner, out, olen))
            break;
        if (st) {
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
        if (!first_done) {
            if (fr->requests > 0) {
                first_done = TRUE;
                g_socket_set_timeout(sock, 0); /* an authenticated session may idle between keep-alives */
            } else if (g_get_monotonic_time() - start > FIRST_REQUEST_DEADLINE_US) {
                log_info("rtsps: %s too slow to send a request: closed", fc->ip);
                break;
            }
        }
    }
out:
    g_clear_error(&err);
    conn_shutdown(fc);
    if (down)
        g_thread_join(down);
    if (fc->tls) {
        (void)g_io_stream_close(fc->tls, NULL, NULL);
        g_object_unref(fc->tls);
    }
    close(fc->inner);
    front_release(fc->front, fc->ip);
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
    g_object_unref(remote);

    g_mutex_lock(&f->lock);
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(f->per_ip, ip));
    gboolean ok = n < MEDIA_RTSP_CLIENTS_PER_SOURCE_MAX && f->total < MEDIA_RTSP_CLIENTS_MAX;
    if (ok) {
        g_hash_table_insert(f->per_ip, g_strdup(ip), GUINT_TO_POINTER(n + 1));
        f->total++;
    }
    g_mutex_unlock(&f->lock);
    if (!ok) {
        log_warn("rtsps: connection from %s refused (connection limit)", ip);
        (void)g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
        g_free(ip);
        return TRUE;
    }

    int pair[2];
    GSocket *inner = NULL;
    if (loopback_pair(pair) != 0) {
        log_err("rtsps: cannot create an internal connection");
        front_release(f, ip);
        g_free(ip);
        return TRUE;
    }
    inner = g_socket_new_from_fd(pair[1], NULL);
    if (!inner) {
        close(pair[0]);
        close(pair[1]);
        front_release(f, ip);
        g_free(ip);
        return TRUE;
    }
    /* gst-rtsp-server sees the client's real address; the socket is its own from here on. */
    if (!gst_rtsp_server_transfer_connection(f->server, inner, ip, port, NULL)) {
        close(pair[0]);
        front_release(f, ip);
        g_free(ip);
        return TRUE;
    }
    struct front_conn *fc = g_new0(struct front_conn, 1);
    fc->front = f;
    fc->conn = g_object_ref(conn);
    fc->inner = pair[0];
    g_mutex_init(&fc->write_lock);
    if (safecam_strlcpy(fc->ip, ip, sizeof fc->ip) != 0)
        fc->ip[0] = '\0';
    g_free(ip);
    g_thread_unref(g_thread_new("rtsps-conn", conn_thread, fc));
    return TRUE;
}

int media_front_new(GstRTSPServer *server, GTlsCertificate *cert, const char *bind, int port, int listen_fd,
                    struct media_front **out)
{
    *out = NULL;
    GInetAddress *addr = g_inet_address_new_from_string(bind);
    if (!addr)
        return SAFECAM_ERR_INVAL;
    GSocketAddress *sa = g_inet_socket_address_new(addr, (guint16)port);
    g_object_unref(addr);
    struct media_front *f = g_new0(struct media_front, 1);
    g_mutex_init(&f->lock);
    f->per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
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
        g_hash_table_unref(f->per_ip);
        g_free(f);
        return SAFECAM_ERR_IO;
    }
    g_object_unref(sa);
    if (given)
        g_object_unref(given); /* the listener holds its own reference */
    g_signal_connect(f->service, "incoming", G_CALLBACK(on_incoming), f);
    g_socket_service_start(f->service);
    *out = f;
    return 0;
}

unsigned media_front_count(struct media_front *f)
{
    g_mutex_lock(&f->lock);
    unsigned n = f->total;
    g_mutex_unlock(&f->lock);
    return n;
}

void media_front_stop(struct media_front *f)
{
    if (!f)
        return;
    g_socket_service_stop(f->service);
    g_socket_listener_close(G_SOCKET_LISTENER(f->service));
    /* Connection threads still reference f: it stays allocated for the life of the process. */
}
