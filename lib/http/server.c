/* server.c — the web process's HTTPS server: libmicrohttpd + GnuTLS, connection limits, the request-head
 * deadline thread (slowloris), the callbacks that run every request through the gate (gate.c) to its route
 * (routes_<area>.c), and the channels to the peers (vault and media: lib/ipc/client.c; the supervisor: one
 * pending call answered through http_server_sup_reply). Trust level: network-facing and unprivileged; it
 * never holds a password hash or the storage key and fails closed (503) when the vault cannot answer. QCVN
 * 135 G1, G4, G5, G6, G11 / EN 303 645 5.1, 5.5, 5.6, 5.13. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "safecam/audit.h"
#include "safecam/onvif.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

/* TLS 1.2 and 1.3 only; ECDHE key exchange (TLS 1.3 groups: X25519, P-256, P-384); AEAD ciphers only
 * (AES-GCM, ChaCha20-Poly1305): no CBC, RC4, 3DES, NULL, no SHA-1 MAC, no RSA key transport, no DHE.
 * QCVN 135 G5 / EN 303 645 5.5-1. Checked by tests/system/test_web_tls.py. */
#define HTTP_TLS_PRIORITIES                                                                                  \
    "NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+ECDHE-RSA:+AES-256-GCM:+AES-128-GCM:"                      \
    "+CHACHA20-POLY1305:+AEAD:+COMP-NULL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"                   \
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SECP384R1-SHA384:+SIGN-ECDSA-SECP521R1-SHA512:"                \
    "+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SHA384:+SIGN-ECDSA-SHA512:+SIGN-RSA-PSS-RSAE-SHA256:"                    \
    "+SIGN-RSA-PSS-RSAE-SHA384:+SIGN-RSA-SHA256:+SIGN-RSA-SHA384:+SIGN-EDDSA-ED25519:"                       \
    "+CTYPE-X509:%SERVER_PRECEDENCE"

/* Limits (QCVN 135 G11: request size, header size, body size, connections per source, slowloris).
 * Who gets a connection is decided by the guard (conn_guard.h, docs/connections.md): GUARD_SLOTS in total,
 * GUARD_PER_SOURCE per source (refused beyond it); in a full table a newcomer pushes out an
 * unauthenticated connection, never a session.
 * libmicrohttpd's own limits only sit above them (evicted connections take a moment to close): MHD
 * checks its limits before any callback, so they must never be the ones that bind. */
#define GUARD_SLOTS 96u
#define GUARD_PER_SOURCE 12u
#define CONN_LIMIT (GUARD_SLOTS + 32u)
#define CONN_PER_IP_LIMIT (2u * GUARD_PER_SOURCE)
#define FLOOD_REPORT_MS 10000 /* at most one summary line (and one audit event) per this interval */
#define CONN_TIMEOUT_S 10u     /* idle: no byte for this long */
#define HEAD_DEADLINE_MS 10000 /* whole TLS handshake + request head, however slowly it trickles */
#define CONN_MEMORY_LIMIT ((size_t)16 * 1024) /* request line + headers must fit, with buffers */
#define THREAD_STACK_BYTES ((size_t)512 * 1024)

/* The absolute time ms from now on clock clk. */
static void deadline_after_ms(struct timespec *ts, clockid_t clk, int ms)
{
    clock_gettime(clk, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* web -> supervisor: the supervisor socket has one reader (the caller's thread); the reply comes back
 * through http_server_sup_reply(). */
static int sup_call(http_server *srv, uint16_t type, const json_t *body, json_t **reply, int timeout_ms)
{
    *reply = NULL;
    struct timespec ts;
    deadline_after_ms(&ts, CLOCK_REALTIME, timeout_ms);
    if (pthread_mutex_timedlock(&srv->sup_call_mu, &ts) != 0)
        return SAFECAM_ERR_TIMEOUT;
    uint32_t id = atomic_fetch_add(&srv->sup_next_id, 1u);
    pthread_mutex_lock(&srv->sup_mu);
    srv->sup_wait_id = id;
    srv->sup_wait_type = type;
    srv->sup_waiting = 1;
    srv->sup_reply = NULL;
    pthread_mutex_unlock(&srv->sup_mu);
    int rc = ipc_send(srv->sup_fd, type, 0, id, body, -1);
    pthread_mutex_lock(&srv->sup_mu);
    if (rc == 0) {
        deadline_after_ms(&ts, CLOCK_MONOTONIC, timeout_ms);
        while (!srv->sup_reply) {
            int w = pthread_cond_timedwait(&srv->sup_cv, &srv->sup_mu, &ts);
            if (w == ETIMEDOUT) {
                rc = SAFECAM_ERR_TIMEOUT;
                break;
            }
        }
        if (srv->sup_reply) {
            *reply = srv->sup_reply;
            srv->sup_reply = NULL;
            rc = 0;
        }
    }
    srv->sup_waiting = 0;
    pthread_mutex_unlock(&srv->sup_mu);
    pthread_mutex_unlock(&srv->sup_call_mu);
    if (rc == 0 && !json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        rc = SAFECAM_ERR_PROTO;
    }
    return rc;
}

void http_server_sup_reply(http_server *srv, ipc_msg *msg)
{
    if (!srv || !msg)
        return;
    pthread_mutex_lock(&srv->sup_mu);
    if (srv->sup_waiting && !srv->sup_reply && msg->id == srv->sup_wait_id &&
        msg->type == srv->sup_wait_type && (msg->flags & IPC_FLAG_REPLY)) {
        srv->sup_reply = msg->body;
        msg->body = NULL;
        pthread_cond_broadcast(&srv->sup_cv);
    }
    pthread_mutex_unlock(&srv->sup_mu);
    ipc_msg_clear(msg);
}

/* Ask the supervisor (body consumed, may be NULL after a failed json_pack). Returns its {"ok":true}
 * reply (caller decrefs); otherwise NULL with the request already answered in *ret: 503 unavailable
 * when the supervisor does not answer in time, else its error code through http_reply_refusal(). */
json_t *http_sup_relay(struct req *r, uint16_t type, json_t *body, enum MHD_Result *ret)
{
    json_t *reply = NULL;
    int rc = body ? sup_call(r->srv, type, body, &reply, SUP_TIMEOUT_MS) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0) {
        *ret = http_reply_unavailable(r);
        return NULL;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        *ret = http_reply_refusal(r, reply);
        json_decref(reply);
        return NULL;
    }
    return reply;
}

int http_sup_call(http_server *srv, uint16_t type, json_t *body, json_t **reply)
{
    *reply = NULL;
    int rc = body ? sup_call(srv, type, body, reply, SUP_TIMEOUT_MS) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    return rc;
}

void http_audit_record(struct req *r, const char *type, const char *detail)
{
    if (vault_client_audit_record(r->srv->vault, type, r->username, r->source, detail,
                                  VAULT_CLIENT_TIMEOUT_MS) != 0)
        log_warn("audit record %s not stored: vault unreachable", type);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)url;
    (void)version;
    http_server *srv = cls;
    struct req *r = *req_cls;
    if (!r)
        return MHD_NO;
    r->conn = conn;
    if (!r->started) {
        r->started = 1;
        http_conn_head_mark(srv, conn, 1);
        enum MHD_Result g = http_gate(r, method);
        if (g != MHD_YES || r->answered)
            return g;
        if (r->route->flags & R_STREAM)
            return http_update_upload_step(r, upload_data, upload_data_size, 1);
        safecam_buf_init(&r->body, r->route->body_max, SAFECAM_BUF_WIPE);
        /* Answer on the next call, never in the first one: libmicrohttpd 0.9.75 closes a connection whose
         * answer is queued during the first call, which cost a TLS handshake per request (bench/README.md:
         * 0.03x nginx before, 0.19x after). Gate refusals above still answer at once. */
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0; /* discard */
        return MHD_YES;
    }
    if (r->route->flags & R_STREAM)
        return http_update_upload_step(r, upload_data, upload_data_size, 0);
    if (*upload_data_size > 0) {
        if (safecam_buf_add(&r->body, upload_data, *upload_data_size) != 0)
            return MHD_NO; /* more than declared and checked: drop the connection */
        *upload_data_size = 0;
        return MHD_YES;
    }
    (void)srv;
    return r->route->fn(r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->srv = cls;
    r->conn = conn;
    if (!uri || safecam_strlcpy(r->target, uri, sizeof(r->target)) != 0)
        r->target_too_long = uri != NULL;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->source,
                  sizeof(r->source));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], r->source, sizeof(r->source));
        else
            inet_ntop(AF_INET6, a, r->source, sizeof(r->source));
    }
    if (!r->source[0])
        memcpy(r->source, "unknown", 8);
    return r;
}

/* ---------------- request-head deadline (QCVN 135 G11: time to send a request) ----------------
 * libmicrohttpd 0.9.75 has only an idle timeout, which a client resets with one byte every few seconds
 * (slowloris). Each connection is tracked from accept; until its request head is complete it must finish
 * within HEAD_DEADLINE_MS, or a watchdog thread shuts its socket down (MHD then closes it). A keep-alive
 * connection starts a new head deadline after each answer. Bodies (firmware uploads) are not cut here. */
struct conn_track {
    struct conn_track *next, *prev;
    conn_guard_handle slot;
    int fd;
    int64_t head_start_ms;
    int head_done;
    int cut;
};

/* libmicrohttpd's accept policy: a source already at its share is closed here, before MHD spends a thread
 * and a TLS session on it (a flooder re-opens at once; this keeps that loop cheap). Tallied, not logged. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    http_server *srv = cls;
    char source[CONN_GUARD_SOURCE_BYTES];
    conn_guard_source_key(addr, source);
    return conn_guard_precheck(srv->guard, source) == 0 ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_track *t = calloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!t || !ci) {
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->head_start_ms = safecam_time_mono_ms();
        const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char source[CONN_GUARD_SOURCE_BYTES];
        conn_guard_source_key(ai ? ai->client_addr : NULL, source);
        if (conn_guard_admit(srv->guard, source, t->fd, &t->slot) != 0) {
            /* Its source is at its share (two passed on_accept at once), or every slot is an authenticated
             * session: turned away (counted, not logged). */
            (void)shutdown(t->fd, SHUT_RDWR);
            t->cut = 1;
        }
        pthread_mutex_lock(&srv->conns_mu);
        t->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = t;
        srv->conns = t;
        pthread_mutex_unlock(&srv->conns_mu);
        *socket_context = t;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn_track *t = *socket_context;
        if (!t)
            return;
        pthread_mutex_lock(&srv->conns_mu);
        if (t->prev)
            t->prev->next = t->next;
        else
            srv->conns = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&srv->conns_mu);
        conn_guard_release(srv->guard, t->slot); /* before MHD closes the fd */
        free(t);
        *socket_context = NULL;
    }
}

/* head_done = 1: the head arrived (first handler call); 0: a new head is awaited (after an answer). */
void http_conn_head_mark(http_server *srv, struct MHD_Connection *conn, int head_done)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_track *t = ci ? ci->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&srv->conns_mu);
    t->head_done = head_done;
    if (!head_done)
        t->head_start_ms = safecam_time_mono_ms();
    pthread_mutex_unlock(&srv->conns_mu);
    if (head_done)
        conn_guard_state_set(srv->guard, t->slot, CONN_GUARD_ACTIVE);
    conn_guard_idle_set(srv->guard, t->slot, !head_done); /* answered: its place may go to its source */
}

void http_conn_trust(http_server *srv, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    struct conn_track *t = ci ? ci->socket_context : NULL;
    if (t)
        conn_guard_state_set(srv->guard, t->slot, CONN_GUARD_TRUSTED);
}

/* One summary of what the guard turned away or cut since the last one: one log line and one
 * connection_flood audit event per FLOOD_REPORT_MS at most, however many connections it was. */
static void flood_report(http_server *srv)
{
    struct conn_guard_tally t;
    if (!conn_guard_tally_take(srv->guard, &t))
        return;
    char line[AUDIT_DETAIL_MAX_BYTES];
    if (conn_guard_tally_format(&t, line, sizeof line) != 0)
        return;
    log_warn("https: connection flood: %s", line);
    if (vault_client_audit_record(srv->vault, AUDIT_CONNECTION_FLOOD, "web", NULL, line,
                                  VAULT_CLIENT_TIMEOUT_MS) != 0)
        log_warn("audit record %s not stored: vault unreachable", AUDIT_CONNECTION_FLOOD);
}

static void *deadline_main(void *arg)
{
    http_server *srv = arg;
    int64_t next_report = safecam_time_mono_ms() + FLOOD_REPORT_MS;
    while (!atomic_load(&srv->stopping)) {
        if (safecam_time_mono_ms() >= next_report) {
            flood_report(srv);
            next_report = safecam_time_mono_ms() + FLOOD_REPORT_MS;
        }
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = safecam_time_mono_ms();
        pthread_mutex_lock(&srv->conns_mu);
        for (struct conn_track *t = srv->conns; t; t = t->next) {
            if (!t->head_done && !t->cut && now - t->head_start_ms > HEAD_DEADLINE_MS) {
                /* The fd is still MHD's: CLOSED (which unlinks under this mutex) comes before close(). */
                (void)shutdown(t->fd, SHUT_RDWR);
                t->cut = 1;
            }
        }
        pthread_mutex_unlock(&srv->conns_mu);
    }
    return NULL;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    if (cls && conn)
        http_conn_head_mark(cls, conn, 0);
    struct req *r = *req_cls;
    if (!r)
        return;
    safecam_buf_free(&r->body);         /* wipes */
    http_update_upload_free(r->upload); /* an upload cut short ends as "truncated" */
    sodium_memzero(r->session_id, sizeof(r->session_id));
    sodium_memzero(r->csrf_echo, sizeof(r->csrf_echo));
    free(r);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[256];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n <= 0)
        return;
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    log_debug("mhd: %s", buf);
}

/* ---------------- lifecycle ---------------- */

int http_server_new(const struct http_server_config *cfg, http_server **out)
{
    if (!cfg || !out || !cfg->state_dir || cfg->port == 0 || cfg->port > 65535)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return SAFECAM_ERR_NOMEM;
    const char *bind_addr = cfg->bind_addr ? cfg->bind_addr : HTTP_DEFAULT_BIND;
    if (safecam_strlcpy(srv->state_dir, cfg->state_dir, sizeof(srv->state_dir)) != 0 ||
        safecam_strlcpy(srv->bind_addr, bind_addr, sizeof(srv->bind_addr)) != 0 ||
        (cfg->ui_dir && safecam_strlcpy(srv->ui_dir, cfg->ui_dir, sizeof(srv->ui_dir)) != 0)) {
        free(srv);
        return SAFECAM_ERR_INVAL;
    }
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, srv->bind_addr, probe) != 1 && inet_pton(AF_INET6, srv->bind_addr, probe) != 1) {
        free(srv);
        return SAFECAM_ERR_INVAL;
    }
    srv->port = cfg->port;
    srv->rtsps_port = cfg->rtsps_port ? cfg->rtsps_port : HTTP_DEFAULT_RTSPS_PORT;
    srv->sup_fd = cfg->sup_fd;
    srv->listen_fd = cfg->listen_fd;
    srv->sbom = cfg->sbom;
    srv->sbom_len = cfg->sbom ? cfg->sbom_len : 0;
    srv->update = http_update_new();
    if (!srv->update || ipc_client_new(VAULT_LOCK_WAIT_MS, 0, &srv->vault) != 0 ||
        ipc_client_new(MEDIA_LOCK_WAIT_MS, 0, &srv->media) != 0 ||
        ipc_client_new(MEDIA_LOCK_WAIT_MS, 0, &srv->link) != 0) {
        http_update_free(srv->update);
        ipc_client_free(srv->vault);
        ipc_client_free(srv->media);
        free(srv);
        return SAFECAM_ERR_NOMEM;
    }
    pthread_mutex_init(&srv->sup_call_mu, NULL);
    pthread_mutex_init(&srv->sup_mu, NULL);
    pthread_mutex_init(&srv->conns_mu, NULL);
    if (conn_guard_new(GUARD_SLOTS, GUARD_PER_SOURCE, &srv->guard) != 0) {
        http_update_free(srv->update);
        ipc_client_free(srv->vault);
        ipc_client_free(srv->media);
        ipc_client_free(srv->link);
        pthread_mutex_destroy(&srv->conns_mu);
        pthread_mutex_destroy(&srv->sup_mu);
        pthread_mutex_destroy(&srv->sup_call_mu);
        free(srv);
        return SAFECAM_ERR_NOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->sup_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&srv->sup_next_id, 0x40000000u);
    atomic_init(&srv->stopping, 0);
    atomic_init(&srv->onvif_state, -1);
    randombytes_buf(srv->digest_key, sizeof srv->digest_key);
    atomic_init(&srv->onvif_https_port, 443u);
    atomic_init(&srv->onvif_rtsps_port, 322u);
    http_static_load(srv);
    onvif_init(); /* libxml2, before the connection threads */
    *out = srv;
    return 0;
}

int http_server_channel_set(http_server *srv, const char *peer, int fd)
{
    if (!srv || !peer || fd < 0) {
        if (fd >= 0)
            close(fd);
        return SAFECAM_ERR_INVAL;
    }
    if (strcmp(peer, "vault") == 0)
        return ipc_client_channel_set(srv->vault, fd);
    if (strcmp(peer, "media") == 0)
        return ipc_client_channel_set(srv->media, fd);
    if (strcmp(peer, "link") == 0) /* wired by the supervisor each time the link process starts */
        return ipc_client_channel_set(srv->link, fd);
    if (strcmp(peer, "update") == 0) {
        http_update_channel_set(srv->update, fd);
        return 0;
    }
    close(fd);
    return SAFECAM_ERR_INVAL;
}

unsigned http_server_channels_lost(http_server *srv)
{
    if (!srv)
        return 0;
    return (ipc_client_channel_lost(srv->vault) ? IPC_PEER_VAULT : 0u) |
           (ipc_client_channel_lost(srv->media) ? IPC_PEER_MEDIA : 0u) |
           (http_update_channel_lost(srv->update) ? IPC_PEER_UPDATE : 0u);
}

int http_server_start(http_server *srv)
{
    if (!srv)
        return SAFECAM_ERR_INVAL;
    if (srv->mhd)
        return SAFECAM_ERR_STATE;
    char *key = NULL;
    size_t key_len = 0;
    char *cert = NULL;
    /* Short: the caller answers the supervisor's heartbeats between attempts. */
    int rc = vault_client_tls_credentials(srv->vault, TLS_CREDENTIALS_TIMEOUT_MS, &cert, &key, &key_len);
    if (rc != 0)
        goto out;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, srv->bind_addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)srv->port);
    } else if (inet_pton(AF_INET6, srv->bind_addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)srv->port);
        flags |= MHD_USE_IPv6;
    } else {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    /* Where to listen: the socket the supervisor bound and handed down (a privileged port; MHD gets a copy
     * and closes only that), or our own. */
    struct MHD_OptionItem where[2] = {{MHD_OPTION_SOCK_ADDR, 0, &ss}, {MHD_OPTION_END, 0, NULL}};
    if (srv->listen_fd >= 0) {
        int fd = fcntl(srv->listen_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        where[0] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    }
    srv->mhd = MHD_start_daemon(
        flags, (uint16_t)srv->port, on_accept, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_ARRAY, where, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
        MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONN_PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY_LIMIT,
        MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK_BYTES, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_END);
    /* GnuTLS has parsed the key into its own structures: wipe our PEM now. */
    sodium_memzero(key, key_len);
    if (!srv->mhd) {
        if (srv->listen_fd >= 0)
            close((int)where[0].value);
        log_err("HTTPS could not start on %s port %u", srv->bind_addr, srv->port);
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    if (pthread_create(&srv->deadline_thread, NULL, deadline_main, srv) != 0) {
        log_err("cannot start the request-head deadline thread");
        rc = SAFECAM_ERR_INTERNAL;
        goto out;
    }
    srv->deadline_running = 1;
    log_info("HTTPS listening on %s port %u", srv->bind_addr, srv->port);
    rc = 0;
out:
    if (key)
        sodium_free(key);
    free(cert);
    return rc;
}

void http_server_free(http_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    if (srv->deadline_running)
        pthread_join(srv->deadline_thread, NULL);
    srv->deadline_running = 0;
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    pthread_mutex_destroy(&srv->conns_mu);
    conn_guard_free(srv->guard);
    ipc_client_free(srv->vault);
    ipc_client_free(srv->media);
    ipc_client_free(srv->link);
    http_update_free(srv->update);
    json_decref(srv->sup_reply);
    pthread_cond_destroy(&srv->sup_cv);
    pthread_mutex_destroy(&srv->sup_mu);
    pthread_mutex_destroy(&srv->sup_call_mu);
    http_static_free(srv);
    sodium_memzero(srv->digest_key, sizeof srv->digest_key);
    free(srv);
}
