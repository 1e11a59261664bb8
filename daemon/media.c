/* media.c — safecam-media, the video process: wiring only. Parses its options, sets the TLS policy,
 * runs the GLib main loop with the supervisor channel (lib/ipc/child.c), the vault channel (media is the
 * client: lib/media/vault_link.c) and the web channel (media is the server: lib/media/web_routes.c).
 * Network-facing through lib/media's RTSPS server; trusts only the supervisor. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <glib-unix.h>
#include <glib.h>
#include <gst/gst.h>

#include "safecam/backoff.h"
#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/ipc_child.h"
#include "safecam/media.h"
#include "safecam/proto.h"
#include "safecam/sandbox.h"
#include "safecam/statedir.h"

static GMainLoop *loop;
static media_service *svc;
static media_vault_link *vault;
static ipc_child *child;
static int web_fd = -1;
static int sup_fd = -1; /* the supervisor channel (owned by child) */
static guint web_watch, tls_retry;
static int exit_code;
static struct config_stream current;
static media_recorder *recorder;

/* The vault watch, on the main loop: fetch the device certificate + key until RTSPS runs, and ask the
 * supervisor for a fresh vault channel whenever the old one died. Both retry with bounded back-off
 * (safecam/backoff.h: 100 ms doubling to 5 s) for as long as the process runs; one log line per change of
 * state, never one per retry. Each fetch waits at most VAULT_SHORT_TIMEOUT_MS (the heartbeats are answered
 * between attempts). QCVN 135 G8 / EN 303 645 5.9-1. */
#define VAULT_WATCH_IDLE_MS 1000 /* how often a healthy link is looked at */

static struct safecam_backoff tls_backoff, renew_backoff;
static int tls_last_rc;    /* the error last logged for the fetch, 0: none */
static int renew_asking;   /* a lost channel was logged and is being asked for */
static uint32_t renew_id = 1;

static void vault_watch_arm(int ms);

static gboolean vault_watch(gpointer user)
{
    (void)user;
    tls_retry = 0;
    int64_t now = safecam_time_mono_ms();
    int wait = VAULT_WATCH_IDLE_MS;
    if (media_vault_link_lost(vault)) {
        if (!renew_asking) {
            log_warn("vault channel lost: asking the supervisor for a fresh one");
            renew_asking = 1;
            safecam_backoff_reset(&renew_backoff);
        }
        if (safecam_backoff_due(&renew_backoff, now)) {
            json_t *body = json_pack("{s:s}", "peer", "vault");
            if (body && ipc_send(sup_fd, PROTO_SUP_CHANNEL_RENEW, 0, renew_id++, body, -1) != 0)
                log_warn("cannot ask the supervisor for a vault channel");
            json_decref(body);
            wait = safecam_backoff_failed(&renew_backoff, now);
        } else {
            wait = (int)(renew_backoff.next_ms - now);
        }
    } else if (renew_asking) {
        renew_asking = 0; /* on_channel_take logs the new channel */
    }
    if (!media_service_rtsps_ready(svc) && !media_vault_link_lost(vault)) {
        if (safecam_backoff_due(&tls_backoff, now)) {
            int rc = media_vault_link_tls_load(vault, svc);
            if (rc == SAFECAM_ERR_IO) {
                log_err("cannot listen for RTSPS: exiting");
                exit_code = 1;
                g_main_loop_quit(loop);
                return G_SOURCE_REMOVE;
            }
            if (rc == 0) {
                if (tls_last_rc)
                    log_info("TLS credentials from the vault after %u attempts: RTSPS listens",
                             tls_backoff.failures + 1);
                tls_last_rc = 0;
                safecam_backoff_reset(&tls_backoff);
            } else {
                safecam_backoff_log_failure(&tls_backoff, rc, &tls_last_rc,
                                            "RTSPS waits for the TLS credentials from the vault");
                int w = safecam_backoff_failed(&tls_backoff, safecam_time_mono_ms());
                wait = w < wait ? w : wait;
            }
        } else {
            int w = (int)(tls_backoff.next_ms - now);
            wait = w < wait ? w : wait;
        }
    }
    vault_watch_arm(wait < 1 ? 1 : wait);
    return G_SOURCE_REMOVE;
}

/* (Re)arm the watch to run in ms (0: as soon as the loop is idle), replacing a pending run. */
static void vault_watch_arm(int ms)
{
    if (tls_retry)
        g_source_remove(tls_retry);
    tls_retry = ms <= 0 ? g_idle_add(vault_watch, NULL) : g_timeout_add((guint)ms, vault_watch, NULL);
}

/* ---------------- channels ---------------- */

static gboolean web_readable(gint fd, GIOCondition cond, gpointer user)
{
    (void)cond, (void)user;
    ipc_msg msg = {.fd = -1};
    size_t n = 0;
    const struct ipc_route *routes = media_service_web_routes(&n);
    int rc = ipc_recv(fd, &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return G_SOURCE_CONTINUE;
    if (rc == 0 && !(msg.flags & IPC_FLAG_REPLY))
        rc = ipc_dispatch(routes, n, svc, IPC_PEER_WEB, fd, &msg);
    ipc_msg_clear(&msg);
    if (rc != 0 && rc != SAFECAM_ERR_IO) {
        log_warn("web channel %s: closed", rc == SAFECAM_ERR_CLOSED ? "closed by web" : "protocol violation");
        close(web_fd);
        web_fd = -1;
        web_watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* A new channel from the supervisor: the vault link or web's (watched by the main loop). */
static int on_channel_take(void *ctx, unsigned peer, int fd)
{
    (void)ctx;
    if (peer == IPC_PEER_VAULT) {
        media_vault_link_channel_set(vault, fd);
        /* a fresh channel: the credentials are asked for at once, the back-off starts again */
        safecam_backoff_reset(&tls_backoff);
        vault_watch_arm(0);
        return 0;
    }
    if (web_watch)
        g_source_remove(web_watch);
    if (web_fd >= 0)
        close(web_fd);
    web_fd = fd;
    web_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, web_readable, NULL);
    return 0;
}

static int h_media_apply(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx, (void)peer, (void)reply_fd;
    struct config_stream next = current;
    struct config_error err;
    json_t *stream = json_object_get(req->body, "stream");
    json_t *rec = json_object_get(req->body, "recording");
    struct config defaults;
    config_defaults(&defaults);
    struct config_recording rnext = defaults.recording;
    if (json_object_size(req->body) != (rec ? 2u : 1u) || !json_is_object(stream)) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    if (config_stream_apply_json(&next, stream, &err) != 0 ||
        (rec && config_recording_apply_json(&rnext, rec, &err) != 0)) {
        *reply = json_pack("{s:s,s:s,s:I,s:I}", "error", err.code, "field", err.field, "min",
                           (json_int_t)err.min, "max", (json_int_t)err.max);
        return 0;
    }
    int changed = memcmp(&next, &current, sizeof next) != 0;
    int rc = media_service_apply(svc, &next);
    if (rc != 0)
        return rc;
    current = next;
    if (rec)
        media_recorder_apply(recorder, &rnext, changed);
    return 0;
}

static const struct ipc_route sup_routes[] = {
    {.type = PROTO_SUP_MEDIA_APPLY, .allowed_peers = IPC_PEER_SUPERVISOR, .handler = h_media_apply},
};

static gboolean sup_readable(gint fd, GIOCondition cond, gpointer user)
{
    (void)fd, (void)cond, (void)user;
    int rc = ipc_child_sup_serve(child, 0);
    if (rc != 0) {
        exit_code = rc == SAFECAM_ERR_CLOSED ? 0 : 1;
        g_main_loop_quit(loop);
        return G_SOURCE_REMOVE;
    }
    if (ipc_child_stopping(child)) {
        log_info("shutdown requested");
        g_main_loop_quit(loop);
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
    safecam_log_init("media", SAFECAM_LOG_INFO);
    /* Two malloc arenas, not eight per core: a connection flood's threads otherwise leave each its own
     * arena (64 MiB reserved, pages kept) and the process stays grown after it (docs/connections.md). */
    (void)mallopt(M_ARENA_MAX, 2);
    struct media_process_options po;
    switch (media_process_options_parse(argc, argv, &po)) {
    case MEDIA_OPTIONS_OK:
        break;
    case MEDIA_OPTIONS_HELP:
        media_process_options_usage(stdout);
        return 0;
    default:
        return 2;
    }
    const char *state_dir = po.state_dir;
    struct media_service_options opts = po.service;
    if (opts.listen_fd >= 0)
        (void)fcntl(opts.listen_fd, F_SETFD, FD_CLOEXEC);
    (void)fcntl(po.ipc_fd, F_SETFD, FD_CLOEXEC);
    /* No GStreamer registry: plugins.c loads the plugins this source needs by name (a registry scan would load
     * every installed plugin in this process, which may not start the scanner helper). ORC maps the code it
     * generates from a file it makes in XDG_RUNTIME_DIR: MEDIA_SCRATCH_DIR, memory-backed, so a full state disk
     * cannot fault that mapping with SIGBUS. fontconfig's cache (the test pattern's clock) goes to
     * DIR/media-cache. */
    char gst_cache[PATH_MAX];
    if (safecam_path_join(gst_cache, sizeof gst_cache, state_dir, STATEDIR_MEDIA_CACHE) != 0 ||
        setenv("XDG_RUNTIME_DIR", MEDIA_SCRATCH_DIR, 1) != 0 ||
        setenv("GST_REGISTRY_DISABLE", "yes", 1) != 0 || setenv("GST_PLUGIN_SYSTEM_PATH_1_0", "", 1) != 0 ||
        unsetenv("GST_PLUGIN_PATH_1_0") != 0 || unsetenv("GST_PLUGIN_PATH") != 0 ||
        setenv("XDG_CACHE_HOME", gst_cache, 1) != 0 || setenv("HOME", gst_cache, 1) != 0) {
        fprintf(stderr, "safecam-media: cannot set up the GStreamer environment\n");
        return 1;
    }
    /* Wall the process in before GStreamer starts a thread or a byte arrives (sandbox.h). */
    const struct sandbox_paths walls = {.state_dir = state_dir,
                                        .source = opts.source.path[0] ? opts.source.path : NULL};
    if (sandbox_child_enter("media", &walls) != 0)
        return 1;

    /* TLS policy for every TLS object glib-networking creates in this process (before any exists). */
    if (setenv("G_TLS_GNUTLS_PRIORITY", MEDIA_TLS_PRIORITY, 1) != 0) {
        fprintf(stderr, "safecam-media: cannot set the TLS policy\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    gst_init(NULL, NULL);
    const char *missing = NULL;
    if (media_plugins_load(opts.source.kind, &missing) != 0) {
        fprintf(stderr, "safecam-media: GStreamer plugin or element %s is missing (run scripts/install-deps)\n",
                missing);
        return 1;
    }
    if (media_vault_link_new(&vault) != 0)
        return 1;
    opts.vault = media_vault_link_ops(vault);
    opts.vault.offer_digest = opts.rtsp_digest;
    struct config cfg;
    config_defaults(&cfg);
    current = cfg.stream;

    loop = g_main_loop_new(NULL, FALSE);
    if (media_service_new(&opts, &current, &svc) != 0) {
        fprintf(stderr, "safecam-media: cannot start the media service\n");
        return 1;
    }
    if (media_recorder_new(svc, &opts.vault, state_dir, &recorder) != 0)
        log_err("recordings: the recorder cannot start; live video goes on without it");
    media_service_recorder_set(svc, recorder);
    const struct ipc_child_config cc = {
        .role = "media",
        .sup_fd = po.ipc_fd,
        .channel_peers = IPC_PEER_VAULT | IPC_PEER_WEB,
        .sup_routes = sup_routes,
        .n_sup_routes = SAFECAM_ARRAY_LEN(sup_routes),
        .channel_take = on_channel_take,
    };
    if (ipc_child_new(&cc, &child) != 0)
        return 1;
    g_unix_fd_add(po.ipc_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, sup_readable, NULL);
    sup_fd = po.ipc_fd;
    safecam_backoff_reset(&tls_backoff);
    safecam_backoff_reset(&renew_backoff);
    vault_watch_arm(VAULT_WATCH_IDLE_MS); /* the first fetch runs when the supervisor hands the channel */
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    g_unix_signal_add(SIGINT, on_signal, NULL);
    log_info("safecam-media %s: source %s, rtsps %s:%d", SAFECAM_VERSION,
             media_source_kind_name(opts.source.kind), opts.bind, opts.rtsps_port);

    g_main_loop_run(loop);

    media_service_recorder_set(svc, NULL);
    media_recorder_free(recorder);
    recorder = NULL;
    media_service_free(svc);
    svc = NULL;
    media_vault_link_free(vault); /* waits for the event being sent (<= 3 s) */
    if (web_fd >= 0)
        close(web_fd);
    ipc_child_free(child);
    g_main_loop_unref(loop);
    return exit_code;
}
