/* media.c — safecam-media, the video process: wiring only. Parses its options, sets the TLS policy,
 * runs the GLib main loop with the supervisor channel, the vault channel (media is the client: RTSP
 * credential checks, TLS credentials, audit events) and the web channel (media is the server: snapshot,
 * live view, status). Network-facing through lib/media's RTSPS server; trusts only the supervisor. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <glib-unix.h>
#include <glib.h>
#include <gst/gst.h>

#include "safecam/audit.h"
#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/ipc_client.h"
#include "safecam/media.h"
#include "safecam/proto.h"
#include "safecam/sandbox.h"
#include "safecam/statedir.h"
#include "safecam/vault_client.h"

#define VAULT_AUTH_TIMEOUT_MS 10000
#define VAULT_SHORT_TIMEOUT_MS 3000

struct channel {
    int fd;
    guint watch;
};

static GMainLoop *loop;
static media_service *svc;
static struct channel sup = {-1, 0}, web = {-1, 0};
static ipc_client *vault; /* the channel to the vault, shared by RTSP client threads and the main loop */
static guint tls_retry;
static int exit_code;
static struct config_stream current;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: safecam-media --state-dir DIR --ipc-fd N [--source SPEC] [--bind ADDR] [--rtsps-port N]\n"
            "                     [--listen-fd N]\n"
            "  SPEC: testsrc (default) | file:PATH | v4l2:/dev/videoN\n");
}

static int bind_addr_valid(const char *s)
{
    if (!*s || strlen(s) > 45)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '.' ||
              *p == ':'))
            return 0;
    return 1;
}

/* ---------------- vault client (callbacks for lib/media) ---------------- */

#define VAULT_LOCK_WAIT_MS 20000

static int vault_auth_check(void *ctx, const char *username, const char *password, const char *source,
                            char *role, size_t role_size, int *pcr)
{
    (void)ctx;
    json_t *refusal = NULL;
    int rc = vault_client_auth_check(vault, username, password, source, "rtsp", VAULT_AUTH_TIMEOUT_MS, role, role_size,
                                     pcr, &refusal);
    if (rc == 0 && refusal) {
        const char *err = json_string_value(json_object_get(refusal, "error"));
        rc = !err                                      ? SAFECAM_ERR_PROTO
             : strcmp(err, "locked") == 0              ? SAFECAM_ERR_LOCKED
             : strcmp(err, "invalid_credentials") == 0 ? SAFECAM_ERR_DENIED
             : strcmp(err, "invalid_request") == 0     ? SAFECAM_ERR_INVAL /* e.g. an over-long password: 401 */
                                                       : SAFECAM_ERR_INTERNAL;
    }
    json_decref(refusal);
    return rc;
}

/* Audit events go to the vault from a worker thread, so a slow vault never stalls the main loop (and with
 * it the supervisor's heartbeats). The queue is bounded; beyond it events are dropped with a log line. */
#define AUDIT_QUEUE_MAX 64
static GThreadPool *audit_pool;

static void audit_worker(gpointer data, gpointer user)
{
    (void)user;
    json_t *ev = data;
    const char *type = json_string_value(json_object_get(ev, "type"));
    int rc = vault_client_audit_record(vault, type, "media", json_string_value(json_object_get(ev, "source")),
                                       json_string_value(json_object_get(ev, "detail")), VAULT_SHORT_TIMEOUT_MS);
    if (rc != 0)
        log_warn("audit: cannot record %s (%s)", type, rc == SAFECAM_ERR_DENIED ? "refused" : safecam_err_name(rc));
    json_decref(ev);
}

static void vault_audit(void *ctx, const char *type, const char *source, const char *detail)
{
    (void)ctx;
    json_t *body = json_pack("{s:s,s:s?,s:s}", "type", type, "source", source, "detail", detail ? detail : "");
    if (!body)
        return;
    if (!audit_pool || g_thread_pool_unprocessed(audit_pool) >= AUDIT_QUEUE_MAX ||
        !g_thread_pool_push(audit_pool, body, NULL)) {
        log_warn("audit: queue full, %s not recorded", type);
        json_decref(body);
    }
}

/* Fetch the device certificate + key from the vault and start RTSPS. Retried every second until done. */
static gboolean tls_fetch(gpointer user)
{
    (void)user;
    if (media_service_rtsps_ready(svc)) {
        tls_retry = 0;
        return G_SOURCE_REMOVE;
    }
    char *cert = NULL, *key = NULL;
    size_t key_len = 0;
    int rc = vault_client_tls_credentials(vault, VAULT_SHORT_TIMEOUT_MS, &cert, &key, &key_len);
    if (rc == 0) {
        rc = media_service_tls_set(svc, cert, key);
        if (rc == SAFECAM_ERR_IO) {
            log_err("cannot listen for RTSPS: exiting");
            exit_code = 1;
            g_main_loop_quit(loop);
        }
        sodium_free(key); /* wipes */
        free(cert);
    }
    if (rc == 0) {
        tls_retry = 0;
        return G_SOURCE_REMOVE;
    }
    if (!tls_retry) {
        log_warn("no TLS credentials from the vault yet (%s); RTSPS waits", safecam_err_name(rc));
        tls_retry = g_timeout_add(1000, tls_fetch, NULL);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---------------- supervisor channel ---------------- */

static int shutdown_requested;

static int h_heartbeat(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)req, (void)reply, (void)reply_fd;
    return 0;
}

static gboolean web_readable(gint fd, GIOCondition cond, gpointer user);

static int h_channel(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)reply_fd;
    const char *name = json_string_value(json_object_get(req->body, "peer"));
    if (!name || req->fd < 0 || json_object_size(req->body) != 1) {
        *reply = json_pack("{s:s}", "error", "invalid_channel");
        return 0;
    }
    unsigned p = ipc_peer_from_name(name);
    if (p != IPC_PEER_VAULT && p != IPC_PEER_WEB) {
        *reply = json_pack("{s:s}", "error", "invalid_channel");
        return 0;
    }
    int fd = fcntl(req->fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    if (p == IPC_PEER_VAULT) {
        if (ipc_client_channel_set(vault, fd) != 0)
            return SAFECAM_ERR_INVAL;
        log_info("vault channel connected");
        if (!media_service_rtsps_ready(svc) && !tls_retry)
            g_idle_add(tls_fetch, NULL);
    } else {
        if (web.watch)
            g_source_remove(web.watch);
        if (web.fd >= 0)
            close(web.fd);
        web.fd = fd;
        web.watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, web_readable, NULL);
        log_info("web channel connected");
    }
    return 0;
}

static int h_shutdown(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)req, (void)reply, (void)reply_fd;
    shutdown_requested = 1;
    return 0;
}

static int h_media_apply(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)reply_fd;
    struct config_stream next = current;
    struct config_error err;
    json_t *stream = json_object_get(req->body, "stream");
    if (json_object_size(req->body) != 1 || !json_is_object(stream)) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    if (config_stream_apply_json(&next, stream, &err) != 0) {
        *reply = json_pack("{s:s,s:s,s:I,s:I}", "error", err.code, "field", err.field, "min",
                           (json_int_t)err.min, "max", (json_int_t)err.max);
        return 0;
    }
    int rc = media_service_apply(svc, &next);
    if (rc != 0)
        return rc;
    current = next;
    return 0;
}

static const struct ipc_route sup_routes[] = {
    {PROTO_SUP_HEARTBEAT, IPC_PEER_SUPERVISOR, h_heartbeat},
    {PROTO_SUP_CHANNEL, IPC_PEER_SUPERVISOR, h_channel},
    {PROTO_SUP_SHUTDOWN, IPC_PEER_SUPERVISOR, h_shutdown},
    {PROTO_SUP_MEDIA_APPLY, IPC_PEER_SUPERVISOR, h_media_apply},
};

static gboolean sup_readable(gint fd, GIOCondition cond, gpointer user)
{
    (void)cond, (void)user;
    ipc_msg msg;
    memset(&msg, 0, sizeof msg);
    int rc = ipc_recv(fd, &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return G_SOURCE_CONTINUE;
    if (rc != 0) {
        log_warn("supervisor channel %s: exiting", rc == SAFECAM_ERR_CLOSED ? "closed" : "broken");
        exit_code = rc == SAFECAM_ERR_CLOSED ? 0 : 1;
        sup.watch = 0;
        g_main_loop_quit(loop);
        return G_SOURCE_REMOVE;
    }
    if (msg.flags & IPC_FLAG_REPLY) {
        ipc_msg_clear(&msg);
        return G_SOURCE_CONTINUE;
    }
    rc = ipc_dispatch(sup_routes, SAFECAM_ARRAY_LEN(sup_routes), NULL, IPC_PEER_SUPERVISOR, fd, &msg);
    ipc_msg_clear(&msg);
    if (rc == SAFECAM_ERR_PROTO) {
        log_err("protocol violation on the supervisor channel: exiting");
        exit_code = 1;
        g_main_loop_quit(loop);
        sup.watch = 0;
        return G_SOURCE_REMOVE;
    }
    if (shutdown_requested) {
        log_info("shutdown requested");
        g_main_loop_quit(loop);
    }
    return G_SOURCE_CONTINUE;
}

/* ---------------- web channel (media serves web) ---------------- */

static int h_snapshot(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer;
    json_t *sid = json_object_get(req->body, "session_id");
    if (json_object_size(req->body) > (sid ? 1u : 0u) || (sid && !json_is_string(sid))) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    int fd = -1;
    int rc = media_service_snapshot_open(svc, &fd);
    if (rc != 0) {
        *reply = json_pack("{s:s}", "error", rc == SAFECAM_ERR_TOOBIG ? "busy" : "unavailable");
        return 0;
    }
    *reply = json_pack("{s:b,s:s}", "ok", 1, "content_type", "image/jpeg");
    *reply_fd = fd;
    return 0;
}

static int h_live_open(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer;
    json_t *s = json_object_get(req->body, "stream");
    json_t *sid = json_object_get(req->body, "session_id");
    size_t allowed = (s ? 1u : 0u) + (sid ? 1u : 0u);
    const char *name = s ? json_string_value(s) : "main";
    int stream = name && strcmp(name, "main") == 0 ? 0 : name && strcmp(name, "sub") == 0 ? 1 : -1;
    if (json_object_size(req->body) != allowed || stream < 0 || (sid && !json_is_string(sid))) {
        *reply = json_pack("{s:s}", "error", "invalid_stream");
        return 0;
    }
    char ctype[96];
    int fd = -1;
    int rc = media_service_live_open(svc, stream, &fd, ctype, sizeof ctype);
    if (rc != 0) {
        *reply = json_pack("{s:s}", "error",
                           rc == SAFECAM_ERR_TOOBIG     ? "busy"
                           : rc == SAFECAM_ERR_NOTFOUND ? "stream_off"
                                                        : "unavailable");
        return 0;
    }
    *reply = json_pack("{s:b,s:s}", "ok", 1, "content_type", ctype);
    *reply_fd = fd;
    return 0;
}

static int h_status(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)req, (void)reply_fd;
    *reply = media_service_status(svc);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static const struct ipc_route web_routes[] = {
    {PROTO_MEDIA_SNAPSHOT, IPC_PEER_WEB, h_snapshot},
    {PROTO_MEDIA_LIVE_OPEN, IPC_PEER_WEB, h_live_open},
    {PROTO_MEDIA_STATUS, IPC_PEER_WEB, h_status},
};

static gboolean web_readable(gint fd, GIOCondition cond, gpointer user)
{
    (void)cond, (void)user;
    ipc_msg msg;
    memset(&msg, 0, sizeof msg);
    int rc = ipc_recv(fd, &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return G_SOURCE_CONTINUE;
    if (rc == 0 && !(msg.flags & IPC_FLAG_REPLY))
        rc = ipc_dispatch(web_routes, SAFECAM_ARRAY_LEN(web_routes), NULL, IPC_PEER_WEB, fd, &msg);
    ipc_msg_clear(&msg);
    if (rc != 0 && rc != SAFECAM_ERR_IO) {
        log_warn("web channel %s: closed", rc == SAFECAM_ERR_CLOSED ? "closed by web" : "protocol violation");
        close(web.fd);
        web.fd = -1;
        web.watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer user)
{
    (void)user;
    log_info("signal: stopping");
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"ipc-fd", required_argument, NULL, 'i'},
        {"source", required_argument, NULL, 'S'},
        {"bind", required_argument, NULL, 'b'},
        {"rtsps-port", required_argument, NULL, 'R'},
        {"listen-fd", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state_dir = NULL, *source = "testsrc", *bind = "127.0.0.1";
    long ipc_fd = -1, port = MEDIA_RTSPS_PORT_DEFAULT, listen_fd = -1;
    safecam_log_init("media", SAFECAM_LOG_INFO);
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            state_dir = optarg;
            break;
        case 'i':
            if (safecam_parse_long(optarg, 3, 1023, &ipc_fd) != 0) {
                fprintf(stderr, "safecam-media: --ipc-fd: expected a descriptor number 3-1023\n");
                return 2;
            }
            break;
        case 'S':
            source = optarg;
            break;
        case 'b':
            bind = optarg;
            break;
        case 'R':
            if (safecam_parse_long(optarg, 1, 65535, &port) != 0) {
                fprintf(stderr, "safecam-media: --rtsps-port: expected a port number 1-65535\n");
                return 2;
            }
            break;
        case 'L':
            if (safecam_parse_long(optarg, 3, 1023, &listen_fd) != 0) {
                fprintf(stderr, "safecam-media: --listen-fd: expected a descriptor number 3-1023\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "safecam-media: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "safecam-media: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct media_service_options opts;
    memset(&opts, 0, sizeof opts);
    opts.listen_fd = -1;
    if (listen_fd >= 0) {
        int type = 0, listening = 0;
        socklen_t tl = sizeof type, ll = sizeof listening;
        if (getsockopt((int)listen_fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
            getsockopt((int)listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening) {
            fprintf(stderr, "safecam-media: --listen-fd %ld is not a listening TCP socket\n", listen_fd);
            return 2;
        }
        (void)fcntl((int)listen_fd, F_SETFD, FD_CLOEXEC);
        opts.listen_fd = (int)listen_fd;
    }
    const char *why = NULL;
    if (media_source_parse(source, &opts.source, &why) != 0) {
        fprintf(stderr, "safecam-media: --source: %s\n", why);
        return 2;
    }
    if (opts.source.kind == MEDIA_SOURCE_FILE && access(opts.source.path, R_OK) != 0) {
        fprintf(stderr, "safecam-media: --source: cannot read %s\n", opts.source.path);
        return 2;
    }
    if (!state_dir || ipc_fd < 0) {
        fprintf(stderr, "safecam-media: --state-dir DIR and --ipc-fd N are required\n");
        return 2;
    }
    struct stat st;
    if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "safecam-media: --state-dir: %s is not a directory\n", state_dir);
        return 2;
    }
    if (!bind_addr_valid(bind) || safecam_strlcpy(opts.bind, bind, sizeof opts.bind) != 0) {
        fprintf(stderr, "safecam-media: --bind: not an IP address literal\n");
        return 2;
    }
    /* GStreamer scans plugins in this process (it may not start one: no fork or exec in its allowlist)
     * and keeps its registry and caches in DIR/media-cache, the one directory of its own it may write. */
    char gst_cache[PATH_MAX], registry[PATH_MAX + 32];
    if (safecam_path_join(gst_cache, sizeof gst_cache, state_dir, STATEDIR_MEDIA_CACHE) != 0 ||
        safecam_fmt(registry, sizeof registry, "%s/gst-registry.bin", gst_cache) != 0 ||
        setenv("GST_REGISTRY_FORK", "no", 1) != 0 || setenv("GST_REGISTRY", registry, 1) != 0 ||
        setenv("XDG_CACHE_HOME", gst_cache, 1) != 0 || setenv("HOME", gst_cache, 1) != 0) {
        fprintf(stderr, "safecam-media: cannot set up the GStreamer environment\n");
        return 1;
    }
    /* Wall the process in before GStreamer starts a thread or a byte arrives (sandbox.h). */
    const struct sandbox_paths walls = {.state_dir = state_dir,
                                        .source = opts.source.path[0] ? opts.source.path : NULL};
    if (sandbox_child_enter("media", &walls) != 0)
        return 1;
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockopt((int)ipc_fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_SEQPACKET) {
        fprintf(stderr, "safecam-media: --ipc-fd %ld is not a SOCK_SEQPACKET channel\n", ipc_fd);
        return 2;
    }
    opts.rtsps_port = (int)port;
    /* Tests shorten the per-connection credential cache (never beyond the built-in maximum). */
    const char *cache = getenv("SAFECAM_MEDIA_AUTH_CACHE_S");
    long cache_s = 0;
    if (cache && safecam_parse_long(cache, 1, MEDIA_RTSP_AUTH_CACHE_S, &cache_s) != 0) {
        fprintf(stderr, "safecam-media: SAFECAM_MEDIA_AUTH_CACHE_S: expected 1-%d\n",
                MEDIA_RTSP_AUTH_CACHE_S);
        return 2;
    }
    opts.auth_cache_s = (int)cache_s;
    opts.vault.auth_check = vault_auth_check;
    opts.vault.audit = vault_audit;

    /* TLS policy for every TLS object glib-networking creates in this process (before any exists). */
    if (setenv("G_TLS_GNUTLS_PRIORITY", MEDIA_TLS_PRIORITY, 1) != 0) {
        fprintf(stderr, "safecam-media: cannot set the TLS policy\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    (void)fcntl((int)ipc_fd, F_SETFD, FD_CLOEXEC);
    gst_init(NULL, NULL);
    static const char *const needed[] = {"x264enc",      "h264parse",  "rtph264pay", "mp4mux",
                                         "jpegenc",      "appsrc",     "appsink",    "videotestsrc",
                                         "videoconvert", "videoscale", "valve"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(needed); i++) {
        GstElementFactory *f = gst_element_factory_find(needed[i]);
        if (!f) {
            fprintf(stderr, "safecam-media: GStreamer element %s is missing (run scripts/install-deps)\n",
                    needed[i]);
            return 1;
        }
        gst_object_unref(f);
    }
    if (sodium_init() < 0 || ipc_client_new(VAULT_LOCK_WAIT_MS, 0, &vault) != 0) {
        log_err("cannot set up the vault client");
        return 1;
    }
    audit_pool = g_thread_pool_new(audit_worker, NULL, 1, FALSE, NULL);
    struct config cfg;
    config_defaults(&cfg);
    current = cfg.stream;

    loop = g_main_loop_new(NULL, FALSE);
    if (media_service_new(&opts, &current, &svc) != 0) {
        fprintf(stderr, "safecam-media: cannot start the media service\n");
        return 1;
    }
    sup.fd = (int)ipc_fd;
    sup.watch = g_unix_fd_add(sup.fd, G_IO_IN | G_IO_HUP | G_IO_ERR, sup_readable, NULL);
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    g_unix_signal_add(SIGINT, on_signal, NULL);
    log_info("safecam-media %s: source %s, rtsps %s:%ld", SAFECAM_VERSION,
             media_source_kind_name(opts.source.kind), opts.bind, port);

    g_main_loop_run(loop);

    media_service_free(svc);
    svc = NULL;
    if (audit_pool)
        g_thread_pool_free(audit_pool, TRUE, TRUE); /* waits for the event being sent (<= 3 s) */
    if (web.fd >= 0)
        close(web.fd);
    ipc_client_free(vault);
    vault = NULL;
    g_main_loop_unref(loop);
    return exit_code;
}
