/* media.h — video capture, H.264 encoding, RTSPS serving, snapshots and the browser live-view feed.
 * Runs only in the media process (network-facing: parses untrusted RTSP from the network through
 * gst-rtsp-server; credentials are checked by the vault, never here). The pure helpers at the top
 * (source spec, Basic header, codecs string) have no GStreamer dependency and are unit-tested.
 * QCVN 135 G5 (RTSP only over TLS 1.2+ AEAD), G6 (per-source limits), G7 (video only encrypted),
 * G11 (bounded RTSP parsing); EN 303 645 5.5-1, 5.6-x, 5.8-1, 5.13-1. Implemented in lib/media/.
 *
 * Stream settings are struct config_stream (config.h); they are validated by
 * config_stream_apply_json() — the same function the supervisor uses before persisting them. */
#ifndef SAFECAM_MEDIA_H
#define SAFECAM_MEDIA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/digest_auth.h"
#include "safecam/ipc.h"

#define MEDIA_RTSPS_PORT_DEFAULT 8322
#define MEDIA_SOURCE_PATH_MAX 1024 /* bytes of a file:/v4l2: path, NUL included */
#define MEDIA_SUB_WIDTH 640        /* the sub stream (/stream2) is always 640x360 */
#define MEDIA_SUB_HEIGHT 360
#define MEDIA_RTSP_USERNAME_MAX 64           /* bytes, without NUL */
#define MEDIA_RTSP_PASSWORD_MAX 256          /* bytes, without NUL */
#define MEDIA_RTSP_AUTH_HEADER_MAX 512       /* bytes of an Authorization header value */
#define MEDIA_RTSP_CONTENT_LENGTH_MAX 4096   /* bytes of an RTSP request body; larger -> 413 */
#define MEDIA_RTSP_CLIENTS_MAX 64           /* RTSPS connection slots in total (docs/connections.md) */
#define MEDIA_RTSP_CLIENTS_PER_SOURCE_MAX 8 /* slots one address (IPv6: one /64) may hold */
#define MEDIA_RTSP_VIEWERS_PER_STREAM_MAX 32 /* connections that SETUP one stream */
#define MEDIA_LIVE_VIEWERS_MAX 4             /* browser live-view feeds at once */
#define MEDIA_SNAPSHOTS_PENDING_MAX 8        /* snapshot requests waiting for a frame */
/* A connection's verified credentials are re-checked after this many seconds; a refused re-check (password
 * changed, user deleted, locked) closes the connection and its stream (attack case A13). */
#define MEDIA_RTSP_AUTH_CACHE_S 60
#define MEDIA_BACKOFF_MIN_MS 1000  /* source retry back-off: 1 s doubling ... */
#define MEDIA_BACKOFF_MAX_MS 30000 /* ... up to 30 s */

/* The TLS policy of the RTSPS port: TLS 1.2/1.3, ECDHE, AEAD ciphers only — the same policy as HTTPS.
 * glib-networking's GnuTLS backend reads it from the environment variable G_TLS_GNUTLS_PRIORITY,
 * which the media process sets before it creates any TLS object. QCVN 135 G5 / EN 303 645 5.5-1. */
#define MEDIA_TLS_PRIORITY                                                                                   \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"                      \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

/* ---------------- pure helpers (no GStreamer) ---------------- */

enum media_source_kind { MEDIA_SOURCE_TESTSRC, MEDIA_SOURCE_FILE, MEDIA_SOURCE_V4L2 };

struct media_source {
    enum media_source_kind kind;
    char path[MEDIA_SOURCE_PATH_MAX]; /* file or device path; "" for testsrc */
};

/* Parse a --source SPEC: "testsrc", "file:PATH" (PATH 1..1023 bytes, no control characters),
 * "v4l2:/dev/videoN" (N = 0..255, digits only). Syntax only: it does not open anything.
 * On error returns SAFECAM_ERR_INVAL and sets *why to a static one-line reason. G11. */
int media_source_parse(const char *spec, struct media_source *out, const char **why) SAFECAM_WUR;

/* Short name of a source kind: "testsrc", "file", "v4l2". */
const char *media_source_kind_name(enum media_source_kind kind);

/* 1 when s looks like an IPv4/IPv6 address literal (digits, hex letters, '.', ':'; at most 45 bytes), the
 * only form --bind takes (never a host name to resolve). */
int media_bind_addr_valid(const char *s);

/* Parse an RTSP/HTTP `Authorization` header value of the Basic scheme ("Basic " + strict base64 of
 * "user:password"). The scheme is matched case-insensitively; the base64 must be canonical (padding,
 * no whitespace or stray characters). user: 1..MEDIA_RTSP_USERNAME_MAX printable ASCII bytes without
 * ':'; password: 1..MEDIA_RTSP_PASSWORD_MAX bytes of UTF-8 without control characters. user_size and
 * pass_size must leave room for the NUL. The caller wipes `pass` after use; the decoded scratch copy
 * is wiped here. Errors: SAFECAM_ERR_INVAL (malformed), SAFECAM_ERR_TOOBIG (over a cap); outputs are
 * "" on error. QCVN 135 G1/G11 / EN 303 645 5.13-1. */
int media_basic_auth_parse(const char *header, char *user, size_t user_size, char *pass,
                           size_t pass_size) SAFECAM_WUR;

/* RTSP Digest Authorization headers: digest_auth_parse (include/safecam/digest_auth.h). */

/* RFC 6381 codecs parameter for H.264 from GStreamer's caps strings, e.g. profile
 * "constrained-baseline", level "3.1" -> "avc1.42E01F". Unknown profile -> SAFECAM_ERR_INVAL.
 * out must hold at least 12 bytes. */
int media_h264_codecs_string(const char *profile, const char *level, char *out, size_t out_size) SAFECAM_WUR;

/* Timecode drawn into the test pattern so latency can be read off a decoded frame: a row of
 * MEDIA_TIMECODE_BLOCKS square blocks of side media_timecode_block_px(width) pixels at the top-left:
 * white, black, then 32 bits (MSB first, white = 1) of the wall-clock time in milliseconds modulo 2^32. */
#define MEDIA_TIMECODE_BLOCKS 34
int media_timecode_block_px(int width);

/* ---- RTSP request framer: the bounded first parser every RTSPS byte from a client goes through ----
 * The TLS front (lib/media/front.c) terminates TLS and feeds the plaintext here; only complete,
 * well-formed request headers (and their bodies, and interleaved $-frames) are forwarded to
 * gst-rtsp-server, whose own parser keeps no limit on header count. G11 / EN 303 645 5.13-1, A6. */
#define MEDIA_RTSP_HEADER_MAX 8192 /* bytes of one request's header block (request line included) */
#define MEDIA_RTSP_LINE_MAX 2048   /* bytes of one line */
#define MEDIA_RTSP_LINES_MAX 32    /* header lines of one request, request line included */

struct media_rtsp_framer {
    int state;
    size_t hdr_len;
    size_t line_len;
    unsigned lines;
    size_t remaining; /* body or $-frame bytes still to pass */
    unsigned dh_got;
    uint8_t dh[4];
    long cseq;              /* CSeq of the request being framed, -1 when unknown */
    unsigned long requests; /* complete requests framed so far */
    uint8_t hdr[MEDIA_RTSP_HEADER_MAX];
};

void media_rtsp_framer_init(struct media_rtsp_framer *f);
/* Feed len bytes from the client. Bytes that may go on to the RTSP server are appended to out
 * (out_cap must be >= len + MEDIA_RTSP_HEADER_MAX) and their count stored in *out_len. Returns 0, or an
 * RTSP status code for a refused request: 400 (malformed: control bytes, bad request line, folded or
 * nameless header, missing/duplicate/non-numeric CSeq, duplicate Content-Length/Session/Authorization/
 * Transport), 413 (Content-Length over MEDIA_RTSP_CONTENT_LENGTH_MAX), 431 (a line, the header block or
 * the line count over its cap), 505 (not RTSP/1.0 or 2.0). After a refusal the connection must close. */
int media_rtsp_framer_feed(struct media_rtsp_framer *f, const uint8_t *in, size_t len, uint8_t *out,
                           size_t out_cap, size_t *out_len) SAFECAM_WUR;

/* ---------------- the media service (GStreamer; lib/media/service.c) ---------------- */

typedef struct media_service media_service;

/* How the service reaches the vault. Both callbacks may be called from any thread (RTSP client
 * threads and the main loop); the implementation serialises access to its channel. */
struct media_vault_ops {
    /* Verify RTSP Basic credentials (PROTO_VAULT_AUTH_CHECK, surface "rtsp", source = client address).
     * Returns 0 with role (>= 32 bytes) and *password_change_required filled; SAFECAM_ERR_DENIED for
     * wrong credentials, SAFECAM_ERR_LOCKED while locked out, another error when the vault is unreachable. */
    int (*auth_check)(void *ctx, const char *username, const char *password, const char *source, char *role,
                      size_t role_size, int *password_change_required);
    /* Record an audit event (PROTO_VAULT_AUDIT_RECORD). Best effort. */
    void (*audit)(void *ctx, const char *type, const char *source, const char *detail);
    /* RTSP Digest (RFC 7616/2617 MD5) for an integration account (PROTO_VAULT_DIGEST_CHECK): the vault
     * recomputes the response from the sealed secret. Same returns as auth_check; NULL = no Digest. */
    int (*digest_check)(void *ctx, const char *username, const char *realm, const char *nonce, const char *uri,
                        const char *method, const char *response, const char *qop, const char *nc,
                        const char *cnonce, const char *source, char *role, size_t role_size);
    /* 1: a 401 offers Digest (with this connection's nonce) before Basic (--rtsp-digest; docs/integrations.md:
     * clients pick Digest when offered, and people can use only Basic). */
    int offer_digest;
    /* A fresh segment key and its wrapped form for recording segment idhex starting at start_ms
     * (PROTO_VAULT_RECORDING_KEY). 0 or an error (the vault unreachable, refused). key: the caller wipes it. */
    int (*recording_key)(void *ctx, const char *idhex, int64_t start_ms, uint8_t key[32], uint8_t wrapped[76]);
    /* A segment was finished and listed complete (PROTO_VAULT_RECORDING_SEALED): fd is a read-only descriptor of
     * its sealed file, owned by the callee from here (closed also on error); event "motion" or NULL. Best
     * effort, never waits (main loop). NULL = nobody is told. */
    void (*segment_sealed)(void *ctx, const char *idhex, int64_t start_ms, int64_t end_ms, const char *event,
                           int fd);
    void *ctx;
};

struct media_service_options {
    struct media_source source;
    char bind[64];    /* address literal for RTSPS */
    int rtsps_port;   /* 1..65535 */
    int listen_fd;    /* a listening socket bound by the supervisor (privileged port), or -1: bind itself */
    int auth_cache_s; /* 1..MEDIA_RTSP_AUTH_CACHE_S; 0 = MEDIA_RTSP_AUTH_CACHE_S */
    int rtsp_digest;  /* --rtsp-digest: offer RTSP Digest for integration accounts */
    struct media_vault_ops vault;
};

/* ---- recording (lib/media/record.c, docs/recording.md; QCVN 135 G7, G9) ---- */
typedef struct media_recorder media_recorder;
/* Open DIR/recordings (created 0700 if missing) and its index, reconcile files and rows, start the 500 ms tick.
 * Off until media_recorder_apply() turns it on. vault is copied. Errors: INVAL, TOOBIG, IO. */
int media_recorder_new(media_service *svc, const struct media_vault_ops *vault, const char *state_dir,
                       media_recorder **out) SAFECAM_WUR;
/* Close the segment being written (its muxer flushes for at most 5 s) and the index. NULL is fine. */
void media_recorder_free(media_recorder *r);
/* New settings; restart != 0 closes the current segment (the stream's settings changed). Main loop. */
void media_recorder_apply(media_recorder *r, const struct config_recording *cfg, int restart);
/* 1 while a segment is being written. */
int media_recorder_active(const media_recorder *r);
/* {"ok":true,"recordings":[{"id","start_ms","end_ms","bytes","complete","event"}...],"next_from"?} of the
 * segments that overlap [from_ms, to_ms), oldest first, at most 1000 (next_from: the start to ask from for
 * more). "event": "motion" (recorded in "events" mode) or null (continuous). event: NULL for all, "motion" for
 * motion segments only (anything else: SAFECAM_ERR_INVAL). */
int media_recorder_list(media_recorder *r, int64_t from_ms, int64_t to_ms, const char *event,
                        json_t **out) SAFECAM_WUR;
/* A read-only descriptor of listed segment idhex (sealed bytes; the vault decrypts). NOTFOUND, INVAL, IO. */
int media_recorder_open_fd(media_recorder *r, const char *idhex, int *fd_out) SAFECAM_WUR;
/* Delete the segments named in ids (a JSON array of id strings), or when ids is NULL those that start in
 * [from_ms, to_ms) (at most 1000): each file overwritten with zeros, fsync'd, unlinked, then its row.
 * *out = {"ok":true,"deleted":[id...],"failed":[{"id","error"}...]}. */
int media_recorder_delete(media_recorder *r, const json_t *ids, int64_t from_ms, int64_t to_ms,
                          json_t **out) SAFECAM_WUR;
/* The service's recorder (for its web routes), or NULL. */
media_recorder *media_service_recorder(media_service *svc);
void media_service_recorder_set(media_service *svc, media_recorder *r);

/* safecam-media's command line (lib/media/options.c). state_dir points into argv. */
struct media_process_options {
    const char *state_dir;                 /* --state-dir: an existing directory */
    int ipc_fd;                            /* --ipc-fd: the supervisor's SOCK_SEQPACKET channel */
    struct media_service_options service;  /* source, bind, rtsps_port, listen_fd, auth_cache_s (vault: unset) */
};
enum media_options_result {
    MEDIA_OPTIONS_OK = 0,
    MEDIA_OPTIONS_HELP = 1,  /* --help: print media_process_options_usage to stdout, exit 0 */
    MEDIA_OPTIONS_USAGE = 2, /* refused: one line on stderr already, exit 2 */
};
/* Parse and check argv (and SAFECAM_MEDIA_AUTH_CACHE_S) into *out before anything starts: descriptors 3-1023
 * of the right socket kind, a known source (a file source readable), an existing state dir, an address
 * literal, a port 1-65535. Returns an enum media_options_result; never exits. */
int media_process_options_parse(int argc, char **argv, struct media_process_options *out);
void media_process_options_usage(FILE *f);

/* Create the service and start capturing/encoding with `stream` settings (GLib main loop of the calling
 * thread: call from the thread that runs the default main context). RTSPS does not listen until
 * media_service_tls_set() is called. *out owned by the caller (media_service_free). */
int media_service_new(const struct media_service_options *opts, const struct config_stream *stream,
                      media_service **out) SAFECAM_WUR;
void media_service_free(media_service *svc);

/* Set the device certificate + private key (PEM) and start listening on RTSPS (once; later calls are
 * ignored). Errors: SAFECAM_ERR_CRYPTO (PEM refused), SAFECAM_ERR_IO (cannot bind). The caller wipes
 * the key PEM afterwards. */
int media_service_tls_set(media_service *svc, const char *cert_pem, const char *key_pem) SAFECAM_WUR;
/* Load the GStreamer plugins a source of this kind needs, by name from the build's plugin directory (the
 * registry is off: GST_REGISTRY_DISABLE=yes before gst_init), then check that every element the pipelines use
 * is there. After gst_init, main thread. Errors: SAFECAM_ERR_NOTFOUND with *missing naming the first plugin or
 * element absent (a static string). Optional plugins (the test pattern's clock, x264 when the device has a
 * hardware encoder, libav) do not fail it. QCVN 135 G6 / EN 303 645 5.6-1 (only what the feature needs). */
int media_plugins_load(enum media_source_kind kind, const char **missing) SAFECAM_WUR;
/* Load the plugin of an encoder (enum config_encoder) chosen after start. 0 or SAFECAM_ERR_NOTFOUND (the
 * pipeline then reports the encoder as unavailable). */
int media_plugins_load_encoder(int encoder);
/* 1 once RTSPS is listening. */
int media_service_rtsps_ready(const media_service *svc);

/* Apply new stream settings: restarts the pipeline (never the process), closes RTSP and live-view
 * clients (they reconnect and get the new format), adds/removes /stream2. Equal settings: no-op. */
int media_service_apply(media_service *svc, const struct config_stream *stream) SAFECAM_WUR;

/* PROTO_MEDIA_SNAPSHOT: *fd_out gets the read end of a pipe that will carry one JPEG of the main
 * stream's size (then EOF; EOF without data when no frame came within 3 s). Caller owns *fd_out.
 * Errors: SAFECAM_ERR_STATE (no video right now), SAFECAM_ERR_TOOBIG (too many pending). */
int media_service_snapshot_open(media_service *svc, int *fd_out) SAFECAM_WUR;

/* PROTO_MEDIA_LIVE_OPEN: *fd_out gets the read end of a pipe carrying a never-ending fragmented MP4
 * (init segment first, one fragment per frame) of stream 0 (main) or 1 (sub). content_type
 * (>= 64 bytes) gets e.g. `video/mp4; codecs="avc1.42E01F"`. Closing the fd ends the feed; a reader
 * that falls more than ~4 MB behind is cut off. Errors: SAFECAM_ERR_TOOBIG (viewer limit),
 * SAFECAM_ERR_NOTFOUND (sub stream off), SAFECAM_ERR_STATE. */
int media_service_live_open(media_service *svc, int stream, int *fd_out, char *content_type,
                            size_t content_type_size) SAFECAM_WUR;

/* PROTO_MEDIA_STATUS body: {"ok":true,"stream":{settings},"state":"starting"|"playing"|"retrying",
 * "source":"testsrc"|"file"|"v4l2","rtsp_clients":N,"live_viewers":N,"pipeline":"idle"|"playing"|"stopped",
 * "encoders_running":N,"encoder":"x264enc"|"v4l2h264enc","main_mode":"encode"|"passthrough",
 * ["reencode_reason":"..." for a file source that is re-encoded,] ["error":"..." while retrying,]
 * "streams":{"main"|"sub":{"consumers":N,"encoder":"running"|"stopped"|"none","mode":"encode"|"passthrough"}}}.
 * An encoder runs only while its stream has a consumer; the pipeline idles 2 s after the last consumer or
 * snapshot (docs/ARCHITECTURE.md, "The media pipeline"). Caller decrefs. */
json_t *media_service_status(media_service *svc);

/* ---------------- the media process's channels (vault_link.c, web_routes.c) ---------------- */

/* The channel to the vault, shared by RTSP client threads and the main loop (one lock), with a worker that
 * sends audit events (bounded queue of 64; beyond it an event is dropped with a log line). */
typedef struct media_vault_link media_vault_link;

/* *out owned by the caller (media_vault_link_free, which waits for the event being sent, <= 3 s). */
int media_vault_link_new(media_vault_link **out) SAFECAM_WUR;
void media_vault_link_free(media_vault_link *l);
/* Replace the channel by fd (owned by the link from now on; the old one is closed). Thread-safe. */
void media_vault_link_channel_set(media_vault_link *l, int fd);
/* The media_vault_ops that ask the vault through l (RTSP Basic checks: QCVN 135 G1 / EN 303 645 5.1). */
struct media_vault_ops media_vault_link_ops(media_vault_link *l);
/* 1 when the vault channel died and no fresh one was handed since (ipc_client_channel_lost): safecam-media
 * then asks the supervisor for one (PROTO_SUP_CHANNEL_RENEW) with back-off. 0 otherwise (NULL: 0). */
int media_vault_link_lost(media_vault_link *l);
/* Fetch the device certificate and key (PROTO_VAULT_TLS_CREDENTIALS) and start RTSPS with them. 0 when
 * RTSPS listens; SAFECAM_ERR_IO when it cannot bind (the process must exit); another error (vault not
 * reachable yet, SAFECAM_ERR_PROTO): retry later. The key PEM is wiped. QCVN 135 G4 / EN 303 645 5.5-1. */
int media_vault_link_tls_load(media_vault_link *l, media_service *svc) SAFECAM_WUR;

/* web's dispatch table (PROTO_MEDIA_SNAPSHOT, _LIVE_OPEN, _STATUS), ctx a media_service *. */
const struct ipc_route *media_service_web_routes(size_t *n_out);

#endif
