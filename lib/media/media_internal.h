/* media_internal.h — shared between lib/media's service (pipelines) and its RTSPS server. Internal to
 * lib/media; runs in the media process only. */
#ifndef SAFECAM_MEDIA_INTERNAL_H
#define SAFECAM_MEDIA_INTERNAL_H

#include <gio/gio.h>
#include <gst/gst.h>

#include "safecam/media.h"

#define MEDIA_STREAM_MAIN 0
#define MEDIA_STREAM_SUB 1
#define MEDIA_STREAMS 2

/* Attach an appsrc (of an RTSP media or a live-view pipeline) to encoded stream `stream`: it gets every
 * encoded access unit from the next keyframe on, timestamped on arrival (do-timestamp). When the appsrc
 * holds more than max_bytes, cut_on_overflow=TRUE marks the consumer dead (the owner tears it down);
 * FALSE skips to the next keyframe. A keyframe is requested from the encoder. Thread-safe.
 * Returns a consumer id > 0, or 0 on failure. */
guint media_feeder_attach(media_service *svc, int stream, GstElement *appsrc, guint64 max_bytes,
                          gboolean cut_on_overflow);
/* Detach a consumer (by id; unknown ids are ignored). Thread-safe. */
void media_feeder_detach(media_service *svc, int stream, guint id);
/* 1 when the consumer was marked dead (push refused or overflow with cut_on_overflow). */
int media_feeder_consumer_dead(media_service *svc, int stream, guint id);
/* Ask the stream's encoder for a keyframe now (rate-limited). Thread-safe. */
void media_feeder_request_keyframe(media_service *svc, int stream);
/* The running time (ns) of element `e` now: its clock's time minus its base time, or GST_CLOCK_TIME_NONE
 * unless `e` is PLAYING with no state change pending (before that its base time may not be set yet). */
GstClockTime media_running_time_now(GstElement *e);
/* Caps for a new consumer's appsrc (caller unrefs). */
GstCaps *media_feeder_caps(media_service *svc, int stream);

/* ---- motion analysis (service.c, for record.c's "events" mode) ---- */
#define MEDIA_MOTION_WIDTH 160
#define MEDIA_MOTION_HEIGHT 90
/* grey: MEDIA_MOTION_WIDTH x MEDIA_MOTION_HEIGHT GRAY8 pixels, rows `stride` bytes apart, valid during the
 * call only. Called on the analysis branch's streaming thread, at most 5 times a second. */
typedef void (*media_motion_fn)(void *user, const guint8 *grey, int stride);
/* fn != NULL: the raw video's analysis branch opens (the pipeline plays, and a passed-through file source is
 * decoded, even with no viewer; no encoder starts for it) and fn gets its frames; NULL: it closes. When this
 * returns with NULL, fn is no longer running and will not be called again. Main loop. */
void media_service_motion_set(media_service *svc, media_motion_fn fn, void *user);

/* ---- TLS front (front.c) ---- */
struct media_front;
struct _GstRTSPServer;
int media_front_new(struct _GstRTSPServer *server, GTlsCertificate *cert, const struct media_vault_ops *vault,
                    const char *bind, int port, int listen_fd, struct media_front **out) SAFECAM_WUR;
unsigned media_front_count(struct media_front *f);
/* The RTSP layer authenticated the client whose connection to gst-rtsp-server is inner_fd: its slot is
 * trusted from now on (never evicted by a newcomer, no silence deadline). Unknown fd: ignored. */
void media_front_trust(struct media_front *f, int inner_fd);
void media_front_stop(struct media_front *f);
/* A TLS server connection over base with cert, asking no client certificate and holding no certificate
 * database (new reference, or NULL with *err set). g_tls_server_connection_new() gives each connection the
 * default database, and glib-networking 2.74 then parses the whole system trust store into that
 * connection's credentials: about 4 MiB of heap per RTSPS viewer, for nothing, since the camera verifies
 * no client certificate (bench/README.md, "media_rtsps.sh"). QCVN 135 G11 (availability). */
GIOStream *media_front_tls_new(GIOStream *base, GTlsCertificate *cert, GError **err);

/* ---- RTSP server behind the front (rtsp.c) ---- */

/* What the RTSP server takes from the encoded streams (the feeder of service.c), so that rtsp.c calls
 * service.c only through this table (no file-level cycle). Every member is thread-safe. */
struct media_feeder_ops {
    /* media_feeder_attach: a consumer id > 0, or 0. */
    guint (*attach)(void *ctx, int stream, GstElement *appsrc, guint64 max_bytes, gboolean cut_on_overflow);
    void (*detach)(void *ctx, int stream, guint id);
    void (*request_keyframe)(void *ctx, int stream);
    void *ctx;
};

/* The feeder of svc as ops (ctx = svc). */
struct media_feeder_ops media_feeder_ops_of(media_service *svc);

struct media_rtsp;
/* feed and vault are copied; their contexts must outlive the server. listen_fd >= 0: a listening socket
 * handed down by the supervisor (bind/port are then only reported), else bind/port are bound here. */
int media_rtsp_new(const struct media_feeder_ops *feed, const struct media_vault_ops *vault, GTlsCertificate *cert,
                   const char *bind, int port, int listen_fd, int sub_enabled, int auth_cache_s,
                   struct media_rtsp **out) SAFECAM_WUR;
void media_rtsp_free(struct media_rtsp *r);
/* Close every RTSP connection (settings changed). */
void media_rtsp_close_all(struct media_rtsp *r);
/* Mount or unmount /stream2. */
void media_rtsp_sub_set(struct media_rtsp *r, int enabled);
unsigned media_rtsp_client_count(struct media_rtsp *r);

#endif
