/* service.c — the media service: one capture + encode pipeline (main H.264, optional 640x360 sub
 * stream, on-demand JPEG branch) whose encoded output is fanned out to every consumer (shared RTSP
 * media, browser live-view fMP4 muxers); source failure detection with back-off retry; snapshots and
 * live-view feeds handed out as pipe fds. Encoders run on demand (a stream's valve opens with its first
 * consumer, the pipelines pause when nothing consumes video) and a file source that already matches the
 * main stream is passed through (docs/ARCHITECTURE.md, "The media pipeline"). Runs in the media process on the GLib main loop; it never
 * parses network data itself (gst-rtsp-server does, see rtsp.c). QCVN 135 G7, G8; EN 303 645 5.8, 5.9. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include "media_internal.h"
#include "safecam/audit.h"

#define PIPE_BYTES (1 << 20)
#define LIVE_QUEUE_MAX_BYTES (4u << 20)
#define SNAPSHOT_WAIT_US (3 * G_USEC_PER_SEC)
#define SNAPSHOT_WRITE_US (10 * G_USEC_PER_SEC)
#define STALL_US (5 * G_USEC_PER_SEC)
#define HOUSEKEEPING_MS 200
#define KEY_REQUEST_MIN_US (100 * 1000)
#define IDLE_AFTER_US (2 * G_USEC_PER_SEC) /* no consumer for this long: the pipeline pauses */
#define MOTION_INTERVAL_US (200 * 1000)    /* motion analysis: at most 5 frames a second */

enum svc_state { SVC_STARTING, SVC_PLAYING, SVC_RETRYING };

struct consumer {
    guint id;
    GstElement *appsrc; /* ref */
    guint64 max_bytes;
    gboolean cut_on_overflow;
    gboolean need_key;
    gboolean dead;
    GstCaps *caps_set; /* caps last set on the appsrc (ref) */
    GstClockTime last_in;  /* encoder PTS of the last access unit pushed, NONE before the first */
    GstClockTime last_out; /* the PTS (= DTS) it got in this consumer's pipeline */
};

struct feeder {
    media_service *svc;
    GMutex lock;
    GPtrArray *consumers; /* struct consumer * */
    GstCaps *caps;        /* current encoded caps (ref) */
    GstElement *appsink;  /* current encoder output (ref), NULL while stopped */
    GstElement *valve;    /* in front of the encoder (ref): open iff consumers->len > 0 */
    gint64 last_key_request_us;
    guint next_id;
};

struct snap_req {
    media_service *svc;
    int wfd;
    gint64 deadline_us;
    GBytes *data;
    gsize off;
    guint watch;
};

struct live_viewer {
    media_service *svc;
    int stream;
    GstElement *pipeline;
    guint consumer;
    guint bus_watch;
    int wfd;
    gboolean failed;
};

struct media_service {
    struct media_service_options opts;
    struct config_stream stream;
    struct feeder feeders[MEDIA_STREAMS];

    GstElement *pipeline; /* capture + encode */
    GstElement *srcpipe;  /* file / v4l2 decode pipeline feeding `rawsrc` */
    GstElement *rawsrc;
    GstElement *snapvalve;
    gboolean idle;          /* pipeline (and source pipeline) paused: nobody consumes video */
    gboolean passthrough;   /* file source's H.264 matches the main stream: parsed, not re-encoded */
    char reencode_reason[128]; /* why a file source is re-encoded ("" when passed through / not a file) */
    gint decode_gate;       /* atomic, pass-through only: 0 closed, 1 waiting for a keyframe, 2 open */
    gint64 last_demand_us;  /* last time a consumer, live viewer or snapshot existed */
    gint demand_pending;    /* atomic: a demand check is queued on the main loop */
    guint bus_watch;
    guint srcbus_watch;
    gint frames; /* atomic: raw frames into the encoders' tee since (re)start */
    gint last_frames;
    gint64 last_progress_us;
    enum svc_state state;
    int backoff_ms;
    guint retry_timer;
    guint fail_idle;
    char fail_reason[256];
    gboolean error_reported;
    gint64 failed_since_us;

    GList *snaps; /* struct snap_req * waiting for a frame or being written */
    GList *lives; /* struct live_viewer * */
    guint housekeeping;

    GTlsCertificate *cert;
    struct media_rtsp *rtsp;
    media_recorder *recorder; /* not owned (daemon/media.c) */

    /* Motion analysis (record.c asks for it in "events" mode): a grey MEDIA_MOTION_WIDTH x HEIGHT copy of the
     * raw video at most every MOTION_INTERVAL_US goes to motion_fn on the analysis branch's thread. */
    GstElement *motionvalve;
    GMutex motion_lock; /* motion_fn, motion_user: set on the main loop, called on the analysis thread */
    media_motion_fn motion_fn;
    void *motion_user;
    gboolean motion_on;      /* main loop */
    gint64 motion_last_us;   /* the tee's streaming thread only */
};

media_recorder *media_service_recorder(media_service *svc)
{
    return svc ? svc->recorder : NULL;
}

void media_service_recorder_set(media_service *svc, media_recorder *r)
{
    if (svc)
        svc->recorder = r;
}

static void svc_fail(media_service *svc, const char *why);
static void live_viewer_close(struct live_viewer *lv);
static void svc_demand_check(media_service *svc);

static void audit_note(media_service *svc, const char *type, const char *detail)
{
    if (svc->opts.vault.audit)
        svc->opts.vault.audit(svc->opts.vault.ctx, type, NULL, detail);
}

/* ------------------------------------------------------------------------------------------------ */
/* Feeders: encoded access units -> consumers' appsrcs                                              */

static void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    gst_caps_replace(&c->caps_set, NULL);
    gst_object_unref(c->appsrc);
    g_free(c);
}

/* One frame's duration at the caps' frame rate (40 ms when the caps say none). */
static GstClockTime frame_duration(const GstCaps *caps)
{
    const GstStructure *st = caps ? gst_caps_get_structure(caps, 0) : NULL;
    int n = 0, d = 1;
    if (!st || !gst_structure_get_fraction(st, "framerate", &n, &d) || n <= 0 || d <= 0)
        return 40 * GST_MSECOND;
    return gst_util_uint64_scale_int(GST_SECOND, d, n);
}

GstClockTime media_running_time_now(GstElement *e)
{
    /* The pipeline hands its elements the clock before their base time (PAUSED -> PLAYING): a time read in
     * between was the clock's absolute time (a day of uptime), and a viewer's sink then held its video for
     * as long (one in four of eight concurrent viewers got none). Only a PLAYING element's time counts. */
    GST_OBJECT_LOCK(e);
    gboolean playing = GST_STATE(e) == GST_STATE_PLAYING && GST_STATE_PENDING(e) == GST_STATE_VOID_PENDING;
    GST_OBJECT_UNLOCK(e);
    if (!playing)
        return GST_CLOCK_TIME_NONE;
    GstClock *clock = gst_element_get_clock(e);
    if (!clock)
        return GST_CLOCK_TIME_NONE;
    GstClockTime now = gst_clock_get_time(clock);
    GstClockTime base = gst_element_get_base_time(e);
    gst_object_unref(clock);
    if (!GST_CLOCK_TIME_IS_VALID(now) || now < base)
        return GST_CLOCK_TIME_NONE;
    return now - base;
}

/* The timestamp (ns, running time of the consumer's own pipeline) of an access unit whose encoder PTS is
 * `in`: the first one the consumer takes is stamped with its pipeline's clock now, every later one keeps
 * the encoder's spacing (so every packet has a timestamp, evenly spaced, never decreasing, whatever the
 * delivery jitter). A source that restarts (PTS back to 0, a file looping) or jumps by more than 2 s
 * continues one frame on. GST_CLOCK_TIME_NONE until the consumer's pipeline is PLAYING.
 * Called with the feeder's lock held. */
static GstClockTime consumer_timestamp(struct consumer *c, GstClockTime in, const GstCaps *caps)
{
    GstClockTime dur = frame_duration(caps);
    if (GST_CLOCK_TIME_IS_VALID(c->last_out) && !c->need_key) {
        if (GST_CLOCK_TIME_IS_VALID(in) && GST_CLOCK_TIME_IS_VALID(c->last_in) && in > c->last_in &&
            in - c->last_in <= 2 * GST_SECOND)
            return c->last_out + (in - c->last_in);
        return c->last_out + dur;
    }
    GstClockTime run = media_running_time_now(c->appsrc);
    if (!GST_CLOCK_TIME_IS_VALID(run))
        return GST_CLOCK_TIME_NONE;
    /* After a skip to the next keyframe (a consumer that fell behind): never back in time. */
    if (GST_CLOCK_TIME_IS_VALID(c->last_out) && run <= c->last_out)
        run = c->last_out + dur;
    return run;
}

static GstFlowReturn feeder_on_sample(GstAppSink *sink, gpointer user)
{
    struct feeder *f = user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstCaps *caps = gst_sample_get_caps(sample);
    if (!buf) {
        gst_sample_unref(sample);
        return GST_FLOW_OK;
    }
    gboolean key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    gboolean want_key = FALSE;

    g_mutex_lock(&f->lock);
    if (caps && (!f->caps || !gst_caps_is_equal(caps, f->caps)))
        gst_caps_replace(&f->caps, caps);
    for (guint i = 0; i < f->consumers->len; i++) {
        struct consumer *c = g_ptr_array_index(f->consumers, i);
        if (c->dead || (c->need_key && !key))
            continue;
        guint64 level = gst_app_src_get_current_level_bytes(GST_APP_SRC(c->appsrc));
        if (level > c->max_bytes) {
            if (c->cut_on_overflow)
                c->dead = TRUE;
            else
                c->need_key = TRUE;
            continue;
        }
        if (f->caps && c->caps_set != f->caps) {
            gst_app_src_set_caps(GST_APP_SRC(c->appsrc), f->caps);
            gst_caps_replace(&c->caps_set, f->caps);
        }
        GstClockTime out = consumer_timestamp(c, GST_BUFFER_PTS(buf), f->caps);
        if (!GST_CLOCK_TIME_IS_VALID(out)) {
            /* Its pipeline is not running yet: it starts later, at a keyframe asked for now. */
            c->need_key = TRUE;
            want_key = TRUE;
            continue;
        }
        GstBuffer *copy = gst_buffer_copy(buf); /* shares the memory */
        GST_BUFFER_PTS(copy) = out;
        GST_BUFFER_DTS(copy) = out; /* no B-frames: decode order is presentation order */
        if (gst_app_src_push_buffer(GST_APP_SRC(c->appsrc), copy) != GST_FLOW_OK) {
            c->dead = TRUE;
        } else {
            c->need_key = FALSE;
            c->last_in = GST_BUFFER_PTS(buf);
            c->last_out = out;
        }
    }
    g_mutex_unlock(&f->lock);
    gst_sample_unref(sample);
    if (want_key)
        media_feeder_request_keyframe(f->svc, (int)(f - f->svc->feeders));
    return GST_FLOW_OK;
}

static GstCaps *stream_caps_from_settings(const media_service *svc, int stream)
{
    int w = stream == MEDIA_STREAM_SUB ? MEDIA_SUB_WIDTH : svc->stream.width;
    int h = stream == MEDIA_STREAM_SUB ? MEDIA_SUB_HEIGHT : svc->stream.height;
    return gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream", "alignment",
                               G_TYPE_STRING, "au", "width", G_TYPE_INT, w, "height", G_TYPE_INT, h,
                               "framerate", GST_TYPE_FRACTION, svc->stream.fps, 1, NULL);
}

GstCaps *media_feeder_caps(media_service *svc, int stream)
{
    if (stream < 0 || stream >= MEDIA_STREAMS)
        return NULL;
    struct feeder *f = &svc->feeders[stream];
    GstCaps *caps = NULL;
    g_mutex_lock(&f->lock);
    if (f->caps)
        caps = gst_caps_ref(f->caps);
    g_mutex_unlock(&f->lock);
    return caps ? caps : stream_caps_from_settings(svc, stream);
}

void media_feeder_request_keyframe(media_service *svc, int stream)
{
    if (stream < 0 || stream >= MEDIA_STREAMS)
        return;
    struct feeder *f = &svc->feeders[stream];
    GstElement *sink = NULL;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&f->lock);
    if (f->appsink && now - f->last_key_request_us >= KEY_REQUEST_MIN_US) {
        f->last_key_request_us = now;
        sink = gst_object_ref(f->appsink);
    }
    g_mutex_unlock(&f->lock);
    if (!sink)
        return;
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    if (pad) {
        gst_pad_push_event(pad, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
        gst_object_unref(pad);
    }
    gst_object_unref(sink);
}

/* Open the encoder's valve iff the stream has a consumer. Called with f->lock held. */
static void feeder_valve_sync_locked(struct feeder *f)
{
    if (f->valve)
        g_object_set(f->valve, "drop", f->consumers->len == 0 ? TRUE : FALSE, NULL);
}

static guint feeder_consumers(struct feeder *f)
{
    g_mutex_lock(&f->lock);
    guint n = f->consumers->len;
    g_mutex_unlock(&f->lock);
    return n;
}

static gboolean demand_idle_cb(gpointer user)
{
    media_service *svc = user;
    g_atomic_int_set(&svc->demand_pending, 0);
    svc_demand_check(svc);
    return G_SOURCE_REMOVE;
}

/* From any thread: have the main loop wake the pipeline (or let it idle) now rather than at the next
 * housekeeping tick. */
static void svc_demand_changed(media_service *svc)
{
    if (g_atomic_int_compare_and_exchange(&svc->demand_pending, 0, 1))
        g_idle_add(demand_idle_cb, svc);
}

guint media_feeder_attach(media_service *svc, int stream, GstElement *appsrc, guint64 max_bytes,
                          gboolean cut_on_overflow)
{
    if (stream < 0 || stream >= MEDIA_STREAMS || !GST_IS_APP_SRC(appsrc))
        return 0;
    struct feeder *f = &svc->feeders[stream];
    struct consumer *c = g_new0(struct consumer, 1);
    c->appsrc = gst_object_ref(appsrc);
    c->max_bytes = max_bytes;
    c->cut_on_overflow = cut_on_overflow;
    c->need_key = TRUE;
    c->last_in = GST_CLOCK_TIME_NONE;
    c->last_out = GST_CLOCK_TIME_NONE;
    GstCaps *caps = media_feeder_caps(svc, stream);
    gst_app_src_set_caps(GST_APP_SRC(appsrc), caps);
    g_mutex_lock(&f->lock);
    if (f->caps == caps)
        gst_caps_replace(&c->caps_set, caps);
    c->id = ++f->next_id;
    if (c->id == 0)
        c->id = ++f->next_id;
    g_ptr_array_add(f->consumers, c);
    guint id = c->id;
    /* The first consumer starts the encoder; the keyframe request below makes its first frame an IDR
     * (and the consumer takes nothing before a keyframe anyway: need_key). */
    feeder_valve_sync_locked(f);
    g_mutex_unlock(&f->lock);
    gst_caps_unref(caps);
    /* Not rate-limited: a consumer must never wait a whole GOP because another one just asked. */
    g_mutex_lock(&f->lock);
    f->last_key_request_us = 0;
    g_mutex_unlock(&f->lock);
    media_feeder_request_keyframe(svc, stream);
    svc_demand_changed(svc);
    return id;
}

void media_feeder_detach(media_service *svc, int stream, guint id)
{
    if (stream < 0 || stream >= MEDIA_STREAMS || id == 0)
        return;
    struct feeder *f = &svc->feeders[stream];
    struct consumer *gone = NULL;
    g_mutex_lock(&f->lock);
    for (guint i = 0; i < f->consumers->len; i++) {
        struct consumer *c = g_ptr_array_index(f->consumers, i);
        if (c->id == id) {
            gone = g_ptr_array_steal_index(f->consumers, i);
            break;
        }
    }
    feeder_valve_sync_locked(f); /* the last consumer gone: the encoder stops */
    g_mutex_unlock(&f->lock);
    consumer_free(gone);
    if (gone)
        svc_demand_changed(svc);
}

int media_feeder_consumer_dead(media_service *svc, int stream, guint id)
{
    if (stream < 0 || stream >= MEDIA_STREAMS)
        return 1;
    struct feeder *f = &svc->feeders[stream];
    int dead = 1;
    g_mutex_lock(&f->lock);
    for (guint i = 0; i < f->consumers->len; i++) {
        struct consumer *c = g_ptr_array_index(f->consumers, i);
        if (c->id == id) {
            dead = c->dead ? 1 : 0;
            break;
        }
    }
    g_mutex_unlock(&f->lock);
    return dead;
}

static void feeder_bind(struct feeder *f, GstElement *appsink, GstElement *valve)
{
    if (appsink) {
        GstAppSinkCallbacks cb;
        memset(&cb, 0, sizeof cb);
        cb.new_sample = feeder_on_sample;
        gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &cb, f, NULL);
    }
    g_mutex_lock(&f->lock);
    gst_object_replace((GstObject **)&f->appsink, (GstObject *)appsink);
    gst_object_replace((GstObject **)&f->valve, (GstObject *)valve);
    feeder_valve_sync_locked(f);
    g_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------------------------------------------ */
/* Test-pattern timecode: wall-clock milliseconds drawn as blocks (media.h), read back by latency tests. */

static GstPadProbeReturn timecode_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
    (void)user;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!buf)
        return GST_PAD_PROBE_OK;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    GstVideoInfo vi;
    gboolean ok =
        caps && gst_video_info_from_caps(&vi, caps) && GST_VIDEO_INFO_FORMAT(&vi) == GST_VIDEO_FORMAT_I420;
    if (caps)
        gst_caps_unref(caps);
    if (!ok)
        return GST_PAD_PROBE_OK;
    buf = gst_buffer_make_writable(buf);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    GstVideoFrame fr;
    if (!gst_video_frame_map(&fr, &vi, buf, GST_MAP_WRITE))
        return GST_PAD_PROBE_OK;
    int w = GST_VIDEO_FRAME_WIDTH(&fr), h = GST_VIDEO_FRAME_HEIGHT(&fr);
    int bs = media_timecode_block_px(w);
    if (bs * MEDIA_TIMECODE_BLOCKS <= w && bs <= h) {
        guint32 ms = (guint32)((guint64)g_get_real_time() / 1000u);
        guint8 *y = GST_VIDEO_FRAME_PLANE_DATA(&fr, 0);
        int ys = GST_VIDEO_FRAME_PLANE_STRIDE(&fr, 0);
        for (int b = 0; b < MEDIA_TIMECODE_BLOCKS; b++) {
            int bit = b == 0 ? 1 : b == 1 ? 0 : (int)((ms >> (31 - (b - 2))) & 1u);
            for (int row = 0; row < bs; row++)
                memset(y + (gsize)row * (gsize)ys + (gsize)(b * bs), bit ? 235 : 16, (gsize)bs);
        }
        for (int p = 1; p <= 2; p++) {
            guint8 *c = GST_VIDEO_FRAME_PLANE_DATA(&fr, p);
            int cs = GST_VIDEO_FRAME_PLANE_STRIDE(&fr, p);
            for (int row = 0; row < bs / 2; row++)
                memset(c + (gsize)row * (gsize)cs, 128, (gsize)(MEDIA_TIMECODE_BLOCKS * bs / 2));
        }
    }
    gst_video_frame_unmap(&fr);
    return GST_PAD_PROBE_OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Snapshots                                                                                        */

static void snap_req_free(struct snap_req *r)
{
    if (r->watch)
        g_source_remove(r->watch);
    if (r->wfd >= 0)
        close(r->wfd);
    if (r->data)
        g_bytes_unref(r->data);
    g_free(r);
}

static void snap_req_done(struct snap_req *r)
{
    media_service *svc = r->svc;
    svc->snaps = g_list_remove(svc->snaps, r);
    snap_req_free(r);
}

/* Write what the pipe takes; 1 = finished (or failed), 0 = more to write. */
static int snap_req_write(struct snap_req *r)
{
    gsize len = 0;
    const guint8 *p = g_bytes_get_data(r->data, &len);
    while (r->off < len) {
        ssize_t n = write(r->wfd, p + r->off, len - r->off);
        if (n > 0) {
            r->off += (gsize)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        return 1; /* reader gone */
    }
    return 1;
}

static gboolean snap_writable(gint fd, GIOCondition cond, gpointer user)
{
    (void)fd;
    (void)cond;
    struct snap_req *r = user;
    if (snap_req_write(r)) {
        r->watch = 0;
        snap_req_done(r);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

struct snap_delivery {
    media_service *svc;
    GBytes *jpeg;
};

static gboolean snap_deliver(gpointer user)
{
    struct snap_delivery *d = user;
    media_service *svc = d->svc;
    GList *l = svc->snaps;
    while (l) {
        GList *next = l->next;
        struct snap_req *r = l->data;
        if (!r->data) {
            r->data = g_bytes_ref(d->jpeg);
            r->deadline_us = g_get_monotonic_time() + SNAPSHOT_WRITE_US;
            if (snap_req_write(r))
                snap_req_done(r);
            else
                r->watch = g_unix_fd_add(r->wfd, G_IO_OUT | G_IO_ERR | G_IO_HUP, snap_writable, r);
        }
        l = next;
    }
    g_bytes_unref(d->jpeg);
    g_free(d);
    return G_SOURCE_REMOVE;
}

static GstFlowReturn snap_on_sample(GstAppSink *sink, gpointer user)
{
    media_service *svc = user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    if (svc->snapvalve)
        g_object_set(svc->snapvalve, "drop", TRUE, NULL);
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
        struct snap_delivery *d = g_new0(struct snap_delivery, 1);
        d->svc = svc;
        d->jpeg = g_bytes_new(map.data, map.size);
        gst_buffer_unmap(buf, &map);
        g_idle_add(snap_deliver, d);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

int media_service_snapshot_open(media_service *svc, int *fd_out)
{
    *fd_out = -1;
    if (svc->state != SVC_PLAYING || !svc->snapvalve)
        return SAFECAM_ERR_STATE;
    if (g_list_length(svc->snaps) >= MEDIA_SNAPSHOTS_PENDING_MAX)
        return SAFECAM_ERR_TOOBIG;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return SAFECAM_ERR_IO;
    (void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
    if (fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) {
        close(p[0]);
        close(p[1]);
        return SAFECAM_ERR_IO;
    }
    struct snap_req *r = g_new0(struct snap_req, 1);
    r->svc = svc;
    r->wfd = p[1];
    r->deadline_us = g_get_monotonic_time() + SNAPSHOT_WAIT_US;
    svc->snaps = g_list_append(svc->snaps, r);
    g_object_set(svc->snapvalve, "drop", FALSE, NULL);
    svc_demand_check(svc); /* an idle pipeline wakes for the snapshot */
    *fd_out = p[0];
    return 0;
}

static void snaps_expire(media_service *svc, gboolean all)
{
    gint64 now = g_get_monotonic_time();
    GList *l = svc->snaps;
    while (l) {
        GList *next = l->next;
        struct snap_req *r = l->data;
        if (all || now > r->deadline_us)
            snap_req_done(r);
        l = next;
    }
}

/* ------------------------------------------------------------------------------------------------ */
/* Pipelines                                                                                        */

static gboolean bus_cb(GstBus *bus, GstMessage *msg, gpointer user)
{
    (void)bus;
    media_service *svc = user;
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
        GError *err = NULL;
        gst_message_parse_error(msg, &err, NULL);
        char why[200];
        if (safecam_fmt(why, sizeof why, "pipeline error from %s: %.120s",
                        GST_MESSAGE_SRC(msg) ? GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)) : "?",
                        err ? err->message : "unknown") != 0)
            why[0] = '\0';
        g_clear_error(&err);
        svc_fail(svc, why);
        break;
    }
    case GST_MESSAGE_EOS:
        svc_fail(svc, "pipeline ended");
        break;
    default:
        break;
    }
    return G_SOURCE_CONTINUE;
}

static int srcpipe_start(media_service *svc);
static void srcpipe_stop(media_service *svc);

static gboolean srcbus_cb(GstBus *bus, GstMessage *msg, gpointer user)
{
    (void)bus;
    media_service *svc = user;
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
        GError *err = NULL;
        gst_message_parse_error(msg, &err, NULL);
        char why[200];
        if (safecam_fmt(why, sizeof why, "source error: %.150s", err ? err->message : "unknown") != 0)
            why[0] = '\0';
        g_clear_error(&err);
        svc_fail(svc, why);
        break;
    }
    case GST_MESSAGE_EOS:
        if (svc->opts.source.kind == MEDIA_SOURCE_FILE && access(svc->opts.source.path, R_OK) == 0) {
            /* Loop: reopen the file (it may have been replaced) without touching the encoder. */
            srcpipe_stop(svc);
            if (srcpipe_start(svc) != 0)
                svc_fail(svc, "source file cannot be reopened");
            return G_SOURCE_REMOVE; /* srcpipe_stop removed this watch; a new one exists */
        }
        svc_fail(svc, svc->opts.source.kind == MEDIA_SOURCE_FILE ? "source file ended and is gone"
                                                                 : "source ended");
        break;
    default:
        break;
    }
    return G_SOURCE_CONTINUE;
}

static GstFlowReturn raw_on_sample(GstAppSink *sink, gpointer user)
{
    media_service *svc = user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstCaps *caps = gst_sample_get_caps(sample);
    GstElement *raw = svc->rawsrc;
    if (buf && raw) {
        GstCaps *cur = gst_app_src_get_caps(GST_APP_SRC(raw));
        if (caps && (!cur || !gst_caps_is_equal(cur, caps)))
            gst_app_src_set_caps(GST_APP_SRC(raw), caps);
        if (cur)
            gst_caps_unref(cur);
        if (gst_app_src_get_current_level_bytes(GST_APP_SRC(raw)) < (16u << 20)) {
            GstBuffer *copy = gst_buffer_copy(buf);
            GST_BUFFER_PTS(copy) = GST_CLOCK_TIME_NONE;
            GST_BUFFER_DTS(copy) = GST_CLOCK_TIME_NONE;
            (void)gst_app_src_push_buffer(GST_APP_SRC(raw), copy);
        }
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

/* Pass-through: the decoder behind the tee sees buffers only while decode_gate is open (the sub stream or
 * a snapshot needs raw frames), and starts at a keyframe. */
static GstPadProbeReturn decode_gate_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
    (void)pad;
    media_service *svc = user;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    gint gate = g_atomic_int_get(&svc->decode_gate);
    if (gate == 0 || !buf)
        return GST_PAD_PROBE_DROP;
    if (gate == 1) {
        if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
            return GST_PAD_PROBE_DROP;
        g_atomic_int_set(&svc->decode_gate, 2);
    }
    return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn frame_count_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user);

/* Add probe (fn, svc) on element name's pad padname in bin p. */
static void probe_add(GstElement *p, const char *name, const char *padname, GstPadProbeCallback fn,
                      media_service *svc)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(p), name);
    if (!e)
        return;
    GstPad *pad = gst_element_get_static_pad(e, padname);
    if (pad) {
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, fn, svc, NULL);
        gst_object_unref(pad);
    }
    gst_object_unref(e);
}

static int srcpipe_start(media_service *svc)
{
    const char *desc = svc->opts.source.kind == MEDIA_SOURCE_FILE
                           ? "filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=I420 ! "
                             "appsink name=rawout sync=true max-buffers=2 drop=false"
                           : "v4l2src name=src ! decodebin ! videoconvert ! video/x-raw,format=I420 ! "
                             "appsink name=rawout sync=false max-buffers=2 drop=true";
    if (svc->passthrough)
        desc = "filesrc name=src ! parsebin ! video/x-h264 ! h264parse config-interval=-1 ! "
               "video/x-h264,stream-format=byte-stream,alignment=au ! tee name=pt "
               "pt. ! appsink name=out0 sync=true max-buffers=4 drop=false "
               "pt. ! queue name=decq max-size-buffers=8 max-size-bytes=0 max-size-time=0 ! openh264dec ! "
               "videoconvert ! video/x-raw,format=I420 ! appsink name=rawout sync=false async=false "
               "max-buffers=2 drop=true";
    GError *err = NULL;
    GstElement *p = gst_parse_launch(desc, &err);
    if (!p || err) {
        log_err("cannot build the source pipeline: %s", err ? err->message : "?");
        g_clear_error(&err);
        if (p)
            gst_object_unref(p);
        return SAFECAM_ERR_INTERNAL;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
    GstElement *out = gst_bin_get_by_name(GST_BIN(p), "rawout");
    if (!src || !out) {
        if (src)
            gst_object_unref(src);
        if (out)
            gst_object_unref(out);
        gst_object_unref(p);
        return SAFECAM_ERR_INTERNAL;
    }
    g_object_set(src, svc->opts.source.kind == MEDIA_SOURCE_FILE ? "location" : "device",
                 svc->opts.source.path, NULL);
    GstAppSinkCallbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.new_sample = raw_on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(out), &cb, svc, NULL);
    gst_object_unref(src);
    gst_object_unref(out);
    if (svc->passthrough) {
        /* No valve: out0 paces the file (sync=true) and holds it while paused; the feeder drops what no
         * consumer takes. */
        GstElement *o0 = gst_bin_get_by_name(GST_BIN(p), "out0");
        if (o0) {
            feeder_bind(&svc->feeders[MEDIA_STREAM_MAIN], o0, NULL);
            gst_object_unref(o0);
        }
        probe_add(p, "decq", "sink", decode_gate_probe, svc);
        probe_add(p, "pt", "sink", frame_count_probe, svc);
    }
    GstBus *bus = gst_element_get_bus(p);
    svc->srcbus_watch = gst_bus_add_watch(bus, srcbus_cb, svc);
    gst_object_unref(bus);
    svc->srcpipe = p;
    /* A file reopened at its end while the pipeline was being paused stays paused with it. */
    if (gst_element_set_state(p, svc->idle ? GST_STATE_PAUSED : GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return SAFECAM_ERR_IO;
    return 0;
}

static void srcpipe_stop(media_service *svc)
{
    if (!svc->srcpipe)
        return;
    if (svc->passthrough)
        feeder_bind(&svc->feeders[MEDIA_STREAM_MAIN], NULL, NULL);
    gst_element_set_state(svc->srcpipe, GST_STATE_NULL);
    GstBus *bus = gst_element_get_bus(svc->srcpipe);
    gst_bus_remove_watch(bus);
    gst_object_unref(bus);
    svc->srcbus_watch = 0;
    gst_object_unref(svc->srcpipe);
    svc->srcpipe = NULL;
}

/* The element of encoder (enum config_encoder) for the pipeline. */
static const char *encoder_element(int encoder)
{
    return encoder == CONFIG_ENCODER_V4L2 ? "v4l2h264enc" : "x264enc";
}

/* "ENCODER name=encN ...": the configured encoder at kbps and a keyframe every kint frames, no B-frames
 * (the consumers' latency), constrained baseline downstream. */
static int encoder_describe(const media_service *svc, int n, int kbps, int kint, char *out, size_t out_size)
{
    if (svc->stream.encoder == CONFIG_ENCODER_V4L2)
        return safecam_fmt(out, out_size,
                           "videoconvert ! v4l2h264enc name=enc%d "
                           "extra-controls=\"controls,video_bitrate=%d,h264_i_frame_period=%d,"
                           "video_b_frames=0\"",
                           n, kbps * 1000, kint);
    return safecam_fmt(out, out_size,
                       "x264enc name=enc%d tune=zerolatency speed-preset=ultrafast bitrate=%d key-int-max=%d "
                       "bframes=0",
                       n, kbps, kint);
}

static int pipeline_describe(const media_service *svc, char *out, size_t out_size)
{
    const struct config_stream *s = &svc->stream;
    int kint = s->fps * s->keyframe_interval_s;
    int sub_kbps = s->bitrate_kbps / 4;
    if (sub_kbps < 128)
        sub_kbps = 128;
    if (sub_kbps > 1000)
        sub_kbps = 1000;
    char head[768], sub[768], enc0[256], enc1[256];
    int rc = encoder_describe(svc, 0, s->bitrate_kbps, kint, enc0, sizeof enc0);
    if (rc == 0)
        rc = encoder_describe(svc, 1, sub_kbps, kint, enc1, sizeof enc1);
    if (rc != 0)
        return rc;
    if (svc->opts.source.kind == MEDIA_SOURCE_TESTSRC) {
        GstElementFactory *clock = gst_element_factory_find("clockoverlay");
        rc = safecam_fmt(head, sizeof head,
                         "videotestsrc is-live=true pattern=smpte horizontal-speed=2 ! "
                         "video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1 ! "
                         "%s identity name=stamp ! ",
                         s->width, s->height, s->fps,
                         clock ? "clockoverlay halignment=right valignment=bottom shaded-background=true "
                                 "font-desc=\"Sans 20\" time-format=\"%Y-%m-%d %H:%M:%S\" ! "
                               : "");
        if (clock)
            gst_object_unref(clock);
    } else {
        rc =
            safecam_fmt(head, sizeof head,
                        "appsrc name=raw is-live=true format=time do-timestamp=true block=false ! "
                        "queue leaky=downstream max-size-buffers=3 max-size-bytes=0 max-size-time=0 ! "
                        "videoconvert ! videoscale ! videorate max-duplication-time=1000000000 ! "
                        "video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,pixel-aspect-ratio=1/1 ! ",
                        s->width, s->height, s->fps);
    }
    if (rc != 0)
        return rc;
    if (s->sub_enabled) {
        rc = safecam_fmt(
            sub, sizeof sub,
            "t. ! valve name=encvalve1 drop=true drop-mode=forward-sticky-events ! "
            "queue leaky=downstream max-size-buffers=3 max-size-bytes=0 max-size-time=0 ! "
            "videoscale ! video/x-raw,width=%d,height=%d,pixel-aspect-ratio=1/1 ! "
            "%s ! video/x-h264,profile=constrained-baseline ! h264parse config-interval=-1 ! "
            "video/x-h264,stream-format=byte-stream,alignment=au ! "
            "appsink name=out1 sync=false async=false max-buffers=4 drop=true ",
            MEDIA_SUB_WIDTH, MEDIA_SUB_HEIGHT, enc1);
        if (rc != 0)
            return rc;
    } else {
        sub[0] = '\0';
    }
    char motion[512];
    rc = safecam_fmt(motion, sizeof motion,
                     "t. ! valve name=motionvalve drop=true drop-mode=forward-sticky-events ! "
                     "queue name=motionq leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! "
                     "videoscale ! video/x-raw,width=%d,height=%d ! videoconvert ! video/x-raw,format=GRAY8 ! "
                     "appsink name=motion sync=false async=false max-buffers=1 drop=true ",
                     MEDIA_MOTION_WIDTH, MEDIA_MOTION_HEIGHT);
    if (rc != 0)
        return rc;
    if (svc->passthrough) /* the main stream comes parsed from the source pipeline (out0 there) */
        return safecam_fmt(out, out_size,
                           "%s tee name=t %s%s"
                           "t. ! queue leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! "
                           "valve name=snapvalve drop=true drop-mode=forward-sticky-events ! jpegenc quality=85 ! "
                           "appsink name=snap sync=false async=false max-buffers=1 drop=true",
                           head, sub, motion);
    return safecam_fmt(
        out, out_size,
        "%s tee name=t "
        "t. ! valve name=encvalve0 drop=true drop-mode=forward-sticky-events ! "
        "queue leaky=downstream max-size-buffers=3 max-size-bytes=0 max-size-time=0 ! "
        "%s ! video/x-h264,profile=constrained-baseline ! h264parse config-interval=-1 ! "
        "video/x-h264,stream-format=byte-stream,alignment=au ! "
        "appsink name=out0 sync=false async=false max-buffers=4 drop=true "
        "%s%s"
        "t. ! queue leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! "
        "valve name=snapvalve drop=true drop-mode=forward-sticky-events ! jpegenc quality=85 ! "
        "appsink name=snap sync=false async=false max-buffers=1 drop=true",
        head, enc0, sub, motion);
}

static GstPadProbeReturn frame_count_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
    (void)pad;
    (void)info;
    media_service *svc = user;
    g_atomic_int_inc(&svc->frames);
    return GST_PAD_PROBE_OK;
}

/* Motion analysis: frames reach the scaler at most every MOTION_INTERVAL_US (the rest are dropped before the
 * queue, on the tee's thread, so they cost nothing downstream). */
static GstPadProbeReturn motion_rate_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
    (void)pad;
    (void)info;
    media_service *svc = user;
    gint64 now = g_get_monotonic_time();
    if (now - svc->motion_last_us < MOTION_INTERVAL_US)
        return GST_PAD_PROBE_DROP;
    svc->motion_last_us = now;
    return GST_PAD_PROBE_OK;
}

static GstFlowReturn motion_on_sample(GstAppSink *sink, gpointer user)
{
    media_service *svc = user;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_OK;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstVideoInfo vi;
    GstVideoFrame frame;
    if (buf && gst_video_info_from_caps(&vi, gst_sample_get_caps(sample)) &&
        GST_VIDEO_INFO_FORMAT(&vi) == GST_VIDEO_FORMAT_GRAY8 && GST_VIDEO_INFO_WIDTH(&vi) == MEDIA_MOTION_WIDTH &&
        GST_VIDEO_INFO_HEIGHT(&vi) == MEDIA_MOTION_HEIGHT && gst_video_frame_map(&frame, &vi, buf, GST_MAP_READ)) {
        g_mutex_lock(&svc->motion_lock);
        if (svc->motion_fn)
            svc->motion_fn(svc->motion_user, GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                           GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0));
        g_mutex_unlock(&svc->motion_lock);
        gst_video_frame_unmap(&frame);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

static void motion_valve_sync(media_service *svc)
{
    if (svc->motionvalve)
        g_object_set(svc->motionvalve, "drop", svc->motion_on ? FALSE : TRUE, NULL);
}

void media_service_motion_set(media_service *svc, media_motion_fn fn, void *user)
{
    if (!svc)
        return;
    g_mutex_lock(&svc->motion_lock);
    svc->motion_fn = fn;
    svc->motion_user = user;
    g_mutex_unlock(&svc->motion_lock);
    gboolean on = fn != NULL;
    if (on != svc->motion_on) {
        svc->motion_on = on;
        log_info("video: motion analysis %s", on ? "on (the source runs; encoders only for consumers)" : "off");
    }
    motion_valve_sync(svc);
    svc_demand_check(svc);
}

static void pipeline_stop(media_service *svc)
{
    srcpipe_stop(svc);
    for (int i = 0; i < MEDIA_STREAMS; i++)
        feeder_bind(&svc->feeders[i], NULL, NULL);
    svc->idle = FALSE;
    if (svc->pipeline) {
        gst_element_set_state(svc->pipeline, GST_STATE_NULL);
        GstBus *bus = gst_element_get_bus(svc->pipeline);
        gst_bus_remove_watch(bus);
        gst_object_unref(bus);
        svc->bus_watch = 0;
        if (svc->rawsrc)
            gst_object_unref(svc->rawsrc);
        if (svc->snapvalve)
            gst_object_unref(svc->snapvalve);
        if (svc->motionvalve)
            gst_object_unref(svc->motionvalve);
        svc->rawsrc = NULL;
        svc->snapvalve = NULL;
        svc->motionvalve = NULL;
        gst_object_unref(svc->pipeline);
        svc->pipeline = NULL;
    }
}

/* A file source is passed through when its H.264 matches the main stream settings: resolution, frame rate,
 * constrained-baseline profile (what the encoder would produce). Otherwise svc->reencode_reason says why.
 * Reads the file's headers only (parsebin to PAUSED), bounded to 3 s. Main loop. */
static void passthrough_decide(media_service *svc)
{
    const struct config_stream *s = &svc->stream;
    svc->passthrough = FALSE;
    svc->reencode_reason[0] = '\0';
    if (svc->opts.source.kind != MEDIA_SOURCE_FILE)
        return;
    GError *err = NULL;
    GstElement *p = gst_parse_launch("filesrc name=src ! parsebin ! fakesink name=sink sync=false", &err);
    if (!p || err) {
        g_clear_error(&err);
        if (p)
            gst_object_unref(p);
        if (safecam_strlcpy(svc->reencode_reason, "cannot inspect the file", sizeof svc->reencode_reason) != 0)
            svc->reencode_reason[0] = '\0';
        return;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
    GstCaps *caps = NULL;
    if (src && sink) {
        g_object_set(src, "location", svc->opts.source.path, NULL);
        if (gst_element_set_state(p, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE &&
            gst_element_get_state(p, NULL, NULL, 3 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS) {
            GstPad *pad = gst_element_get_static_pad(sink, "sink");
            if (pad) {
                caps = gst_pad_get_current_caps(pad);
                gst_object_unref(pad);
            }
        }
    }
    gst_element_set_state(p, GST_STATE_NULL);
    if (src)
        gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);
    gst_object_unref(p);
    const GstStructure *st = caps ? gst_caps_get_structure(caps, 0) : NULL;
    int w = 0, h = 0, fn = 0, fd = 1;
    const char *profile = st ? gst_structure_get_string(st, "profile") : NULL;
    int rc;
    if (!st)
        rc = safecam_fmt(svc->reencode_reason, sizeof svc->reencode_reason, "cannot read the file's video format");
    else if (!gst_structure_has_name(st, "video/x-h264"))
        rc = safecam_fmt(svc->reencode_reason, sizeof svc->reencode_reason, "codec %.40s is not H.264",
                         gst_structure_get_name(st));
    else if (!gst_structure_get_int(st, "width", &w) || !gst_structure_get_int(st, "height", &h) ||
             w != s->width || h != s->height)
        rc = safecam_fmt(svc->reencode_reason, sizeof svc->reencode_reason, "resolution %dx%d != %dx%d", w, h,
                         s->width, s->height);
    else if (!gst_structure_get_fraction(st, "framerate", &fn, &fd) || fd <= 0 || fn != s->fps * fd)
        rc = safecam_fmt(svc->reencode_reason, sizeof svc->reencode_reason, "frame rate %d/%d != %d/1", fn, fd,
                         s->fps);
    else if (!profile || strcmp(profile, "constrained-baseline") != 0)
        rc = safecam_fmt(svc->reencode_reason, sizeof svc->reencode_reason, "profile %.32s != constrained-baseline",
                         profile ? profile : "unknown");
    else {
        rc = 0;
        svc->passthrough = TRUE;
    }
    if (rc != 0)
        svc->reencode_reason[0] = '\0';
    if (caps)
        gst_caps_unref(caps);
    if (svc->passthrough)
        log_info("video: file source passed through (H.264 %dx%d at %d fps, constrained-baseline: matches)", w,
                 h, s->fps);
    else
        log_info("video: file source re-encoded: %s", svc->reencode_reason);
}

static int pipeline_start(media_service *svc)
{
    char desc[4096];
    passthrough_decide(svc);
    (void)media_plugins_load_encoder(svc->stream.encoder); /* plugins.c: an encoder chosen after start */
    GstElementFactory *encf = gst_element_factory_find(encoder_element(svc->stream.encoder));
    if (!encf) {
        log_err("video: the configured encoder %s is not available on this device",
                encoder_element(svc->stream.encoder));
        return SAFECAM_ERR_NOTFOUND;
    }
    gst_object_unref(encf);
    int rc = pipeline_describe(svc, desc, sizeof desc);
    if (rc != 0)
        return rc;
    GError *err = NULL;
    GstElement *p = gst_parse_launch(desc, &err);
    if (!p || err) {
        log_err("cannot build the video pipeline: %s", err ? err->message : "?");
        g_clear_error(&err);
        if (p)
            gst_object_unref(p);
        return SAFECAM_ERR_INTERNAL;
    }
    svc->pipeline = p;
    g_atomic_int_set(&svc->frames, 0);
    svc->last_frames = 0;
    svc->last_progress_us = g_get_monotonic_time();
    GstBus *bus = gst_element_get_bus(p);
    svc->bus_watch = gst_bus_add_watch(bus, bus_cb, svc);
    gst_object_unref(bus);

    svc->snapvalve = gst_bin_get_by_name(GST_BIN(p), "snapvalve");
    GstElement *snap = gst_bin_get_by_name(GST_BIN(p), "snap");
    if (!svc->snapvalve || !snap) {
        if (snap)
            gst_object_unref(snap);
        return SAFECAM_ERR_INTERNAL;
    }
    GstAppSinkCallbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.new_sample = snap_on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(snap), &cb, svc, NULL);
    gst_object_unref(snap);

    svc->motionvalve = gst_bin_get_by_name(GST_BIN(p), "motionvalve");
    GstElement *motion = gst_bin_get_by_name(GST_BIN(p), "motion");
    if (!svc->motionvalve || !motion) {
        if (motion)
            gst_object_unref(motion);
        return SAFECAM_ERR_INTERNAL;
    }
    memset(&cb, 0, sizeof cb);
    cb.new_sample = motion_on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(motion), &cb, svc, NULL);
    gst_object_unref(motion);
    svc->motion_last_us = 0;
    probe_add(p, "motionq", "sink", motion_rate_probe, svc);
    motion_valve_sync(svc);

    for (int i = 0; i < MEDIA_STREAMS; i++) {
        char name[8], vname[16];
        if (safecam_fmt(name, sizeof name, "out%d", i) != 0 || safecam_fmt(vname, sizeof vname, "encvalve%d", i) != 0)
            return SAFECAM_ERR_INTERNAL;
        GstElement *out = gst_bin_get_by_name(GST_BIN(p), name);
        GstElement *valve = gst_bin_get_by_name(GST_BIN(p), vname);
        if (out && valve)
            feeder_bind(&svc->feeders[i], out, valve);
        if (out)
            gst_object_unref(out);
        if (valve)
            gst_object_unref(valve);
    }
    /* Source progress (stall detection) counts raw frames into the tee, whether or not an encoder runs
     * (pass-through: parsed access units, counted in the source pipeline). */
    if (!svc->passthrough)
        probe_add(p, "t", "sink", frame_count_probe, svc);
    if (svc->opts.source.kind == MEDIA_SOURCE_TESTSRC) {
        GstElement *stamp = gst_bin_get_by_name(GST_BIN(p), "stamp");
        if (stamp) {
            GstPad *pad = gst_element_get_static_pad(stamp, "src");
            if (pad) {
                gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, timecode_probe, NULL, NULL);
                gst_object_unref(pad);
            }
            gst_object_unref(stamp);
        }
    } else {
        svc->rawsrc = gst_bin_get_by_name(GST_BIN(p), "raw");
        if (!svc->rawsrc)
            return SAFECAM_ERR_INTERNAL;
    }
    if (gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return SAFECAM_ERR_IO;
    if (svc->opts.source.kind != MEDIA_SOURCE_TESTSRC)
        return srcpipe_start(svc);
    return 0;
}

static void pipeline_start_or_fail(media_service *svc)
{
    int rc = pipeline_start(svc);
    if (rc == SAFECAM_ERR_NOTFOUND)
        svc_fail(svc, svc->stream.encoder == CONFIG_ENCODER_V4L2 ? "encoder v4l2h264enc is not available"
                                                                 : "encoder x264enc is not available");
    else if (rc != 0)
        svc_fail(svc, "cannot start the pipeline");
}

static gboolean retry_cb(gpointer user)
{
    media_service *svc = user;
    svc->retry_timer = 0;
    log_info("retrying the video source");
    svc->state = SVC_STARTING;
    pipeline_start_or_fail(svc);
    return G_SOURCE_REMOVE;
}

static gboolean fail_idle_cb(gpointer user)
{
    media_service *svc = user;
    svc->fail_idle = 0;
    if (!svc->error_reported) {
        svc->error_reported = TRUE;
        svc->failed_since_us = g_get_monotonic_time();
        audit_note(svc, AUDIT_STREAM_ERROR, svc->fail_reason);
    }
    log_warn("video: %s; retrying in %d ms", svc->fail_reason, svc->backoff_ms);
    pipeline_stop(svc);
    /* A failed source cannot keep its live viewers: their fd ends, the browser reconnects. */
    while (svc->lives)
        live_viewer_close(svc->lives->data);
    svc->state = SVC_RETRYING;
    if (svc->retry_timer)
        g_source_remove(svc->retry_timer);
    svc->retry_timer = g_timeout_add((guint)svc->backoff_ms, retry_cb, svc);
    svc->backoff_ms = svc->backoff_ms * 2 > MEDIA_BACKOFF_MAX_MS ? MEDIA_BACKOFF_MAX_MS : svc->backoff_ms * 2;
    return G_SOURCE_REMOVE;
}

/* Called on the main loop (bus watches, housekeeping): tear down from an idle callback, never from
 * inside the failing pipeline's own callbacks. */
static void svc_fail(media_service *svc, const char *why)
{
    if (svc->fail_idle || svc->state == SVC_RETRYING)
        return;
    if (safecam_strlcpy(svc->fail_reason, why ? why : "failure", sizeof svc->fail_reason) != 0)
        svc->fail_reason[0] = '\0';
    svc->fail_idle = g_idle_add(fail_idle_cb, svc);
}

/* ------------------------------------------------------------------------------------------------ */
/* Live view: per-viewer fMP4 muxer into a pipe                                                     */

static void live_viewer_close(struct live_viewer *lv)
{
    media_service *svc = lv->svc;
    svc->lives = g_list_remove(svc->lives, lv);
    media_feeder_detach(svc, lv->stream, lv->consumer);
    if (lv->pipeline) {
        gst_element_set_state(lv->pipeline, GST_STATE_NULL);
        GstBus *bus = gst_element_get_bus(lv->pipeline);
        gst_bus_remove_watch(bus);
        gst_object_unref(bus);
        gst_object_unref(lv->pipeline);
    }
    if (lv->wfd >= 0)
        close(lv->wfd);
    g_free(lv);
}

static gboolean live_bus_cb(GstBus *bus, GstMessage *msg, gpointer user)
{
    (void)bus;
    struct live_viewer *lv = user;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR || GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS)
        lv->failed = TRUE; /* housekeeping closes it (the reader went away, usually) */
    return G_SOURCE_CONTINUE;
}

int media_service_live_open(media_service *svc, int stream, int *fd_out, char *content_type,
                            size_t content_type_size)
{
    *fd_out = -1;
    if (stream < 0 || stream >= MEDIA_STREAMS || !content_type)
        return SAFECAM_ERR_INVAL;
    if (stream == MEDIA_STREAM_SUB && !svc->stream.sub_enabled)
        return SAFECAM_ERR_NOTFOUND;
    if (svc->state == SVC_RETRYING || !svc->pipeline)
        return SAFECAM_ERR_STATE;
    if (g_list_length(svc->lives) >= MEDIA_LIVE_VIEWERS_MAX)
        return SAFECAM_ERR_TOOBIG;

    char codecs[16];
    GstCaps *caps = media_feeder_caps(svc, stream);
    const GstStructure *st = caps ? gst_caps_get_structure(caps, 0) : NULL;
    const char *profile = st ? gst_structure_get_string(st, "profile") : NULL;
    const char *level = st ? gst_structure_get_string(st, "level") : NULL;
    if (media_h264_codecs_string(profile ? profile : "constrained-baseline", level, codecs, sizeof codecs) !=
            0 &&
        media_h264_codecs_string("constrained-baseline", NULL, codecs, sizeof codecs) != 0)
        codecs[0] = '\0';
    if (caps)
        gst_caps_unref(caps);
    if (safecam_fmt(content_type, content_type_size, "video/mp4; codecs=\"%s\"", codecs) != 0)
        return SAFECAM_ERR_INVAL;

    char desc[512];
    int frag_ms = 1000 / (svc->stream.fps > 0 ? svc->stream.fps : 25);
    if (frag_ms < 1)
        frag_ms = 1;
    if (safecam_fmt(desc, sizeof desc,
                    "appsrc name=src is-live=true format=time do-timestamp=true block=false ! h264parse ! "
                    "video/x-h264,stream-format=avc,alignment=au ! "
                    "mp4mux fragment-duration=%d streamable=true ! fdsink name=sink sync=false async=false",
                    frag_ms) != 0)
        return SAFECAM_ERR_INTERNAL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return SAFECAM_ERR_IO;
    (void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
    GError *err = NULL;
    GstElement *pl = gst_parse_launch(desc, &err);
    if (!pl || err) {
        log_err("cannot build a live-view pipeline: %s", err ? err->message : "?");
        g_clear_error(&err);
        if (pl)
            gst_object_unref(pl);
        close(p[0]);
        close(p[1]);
        return SAFECAM_ERR_INTERNAL;
    }
    struct live_viewer *lv = g_new0(struct live_viewer, 1);
    lv->svc = svc;
    lv->stream = stream;
    lv->pipeline = pl;
    lv->wfd = p[1];
    svc->lives = g_list_append(svc->lives, lv);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pl), "sink");
    GstElement *src = gst_bin_get_by_name(GST_BIN(pl), "src");
    GstBus *bus = gst_element_get_bus(pl);
    lv->bus_watch = gst_bus_add_watch(bus, live_bus_cb, lv);
    gst_object_unref(bus);
    int rc = SAFECAM_ERR_INTERNAL;
    if (sink && src) {
        g_object_set(sink, "fd", lv->wfd, NULL);
        if (gst_element_set_state(pl, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
            lv->consumer = media_feeder_attach(svc, stream, src, LIVE_QUEUE_MAX_BYTES, TRUE);
            if (lv->consumer)
                rc = 0;
        }
    }
    if (sink)
        gst_object_unref(sink);
    if (src)
        gst_object_unref(src);
    if (rc != 0) {
        live_viewer_close(lv);
        close(p[0]);
        return rc;
    }
    svc_demand_check(svc); /* the pipeline wakes now, not at the next housekeeping tick */
    *fd_out = p[0];
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* On demand: the pipeline runs only while something consumes video                                 */

/* RTSP consumers, live viewers and pending snapshots. Main loop. */
static guint svc_demand(media_service *svc)
{
    guint n = g_list_length(svc->snaps) + g_list_length(svc->lives) + (svc->motion_on ? 1 : 0);
    for (int i = 0; i < MEDIA_STREAMS; i++)
        n += feeder_consumers(&svc->feeders[i]);
    return n;
}

/* Pause (idle) or play the capture pipeline and the source pipeline. Paused live sources produce
 * nothing and a paused file source holds its position, so an idle camera decodes and encodes nothing. */
static void pipeline_idle_set(media_service *svc, gboolean idle)
{
    if (!svc->pipeline || svc->idle == idle)
        return;
    GstState target = idle ? GST_STATE_PAUSED : GST_STATE_PLAYING;
    if (idle && svc->srcpipe)
        gst_element_set_state(svc->srcpipe, target);
    if (gst_element_set_state(svc->pipeline, target) == GST_STATE_CHANGE_FAILURE) {
        svc_fail(svc, idle ? "cannot pause the pipeline" : "cannot resume the pipeline");
        return;
    }
    if (!idle && svc->srcpipe && gst_element_set_state(svc->srcpipe, target) == GST_STATE_CHANGE_FAILURE) {
        svc_fail(svc, "cannot resume the source");
        return;
    }
    svc->idle = idle;
    svc->last_frames = g_atomic_int_get(&svc->frames);
    svc->last_progress_us = g_get_monotonic_time();
    log_info("video: pipeline %s", idle ? "idle (no viewer, no encoder runs)" : "playing (a consumer came)");
}

/* Main loop: wake the pipeline for a consumer, let it idle IDLE_AFTER_US after the last one left. Only a
 * source known to work (state playing) idles, so a failing source keeps being detected and retried. */
static void svc_demand_check(media_service *svc)
{
    gint64 now = g_get_monotonic_time();
    guint demand = svc_demand(svc);
    if (demand)
        svc->last_demand_us = now;
    if (svc->passthrough) {
        /* raw frames are needed by the sub stream's encoder, snapshots and motion analysis only */
        gboolean want =
            feeder_consumers(&svc->feeders[MEDIA_STREAM_SUB]) > 0 || svc->snaps != NULL || svc->motion_on;
        if (!want)
            g_atomic_int_set(&svc->decode_gate, 0);
        else
            (void)g_atomic_int_compare_and_exchange(&svc->decode_gate, 0, 1);
    }
    if (!svc->pipeline || svc->state != SVC_PLAYING || svc->fail_idle)
        return;
    if (demand && svc->idle)
        pipeline_idle_set(svc, FALSE);
    else if (!demand && !svc->idle && now - svc->last_demand_us > IDLE_AFTER_US)
        pipeline_idle_set(svc, TRUE);
}

/* While idle nothing reads the source: notice a file or device that went away anyway. */
static void svc_idle_source_check(media_service *svc)
{
    if (!svc->idle || svc->opts.source.kind == MEDIA_SOURCE_TESTSRC)
        return;
    if (access(svc->opts.source.path, R_OK) != 0)
        svc_fail(svc, svc->opts.source.kind == MEDIA_SOURCE_FILE ? "source file is gone" : "source device is gone");
}

/* ------------------------------------------------------------------------------------------------ */
/* Housekeeping: state, stalls, dead viewers, snapshot deadlines                                   */

static gboolean housekeeping_cb(gpointer user)
{
    media_service *svc = user;
    gint64 now = g_get_monotonic_time();
    if (svc->pipeline && svc->state != SVC_RETRYING && svc->idle) {
        svc_idle_source_check(svc);
    } else if (svc->pipeline && svc->state != SVC_RETRYING) {
        gint frames = g_atomic_int_get(&svc->frames);
        if (frames != svc->last_frames) {
            svc->last_frames = frames;
            svc->last_progress_us = now;
            if (svc->state != SVC_PLAYING) {
                if (svc->error_reported)
                    log_info("video: source recovered after %lld s",
                             (long long)((now - svc->failed_since_us) / G_USEC_PER_SEC));
                else
                    log_info("video: playing");
                svc->state = SVC_PLAYING;
                svc->backoff_ms = MEDIA_BACKOFF_MIN_MS;
                svc->error_reported = FALSE;
            }
        } else if (now - svc->last_progress_us > STALL_US) {
            svc_fail(svc, "no frames from the source for 5 s");
        }
    }
    GList *l = svc->lives;
    while (l) {
        GList *next = l->next;
        struct live_viewer *lv = l->data;
        if (lv->failed || media_feeder_consumer_dead(svc, lv->stream, lv->consumer))
            live_viewer_close(lv);
        l = next;
    }
    snaps_expire(svc, FALSE);
    svc_demand_check(svc);
    return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------------------------------ */
/* Public API                                                                                       */

int media_service_new(const struct media_service_options *opts, const struct config_stream *stream,
                      media_service **out)
{
    *out = NULL;
    if (!opts || !stream || opts->rtsps_port < 1 || opts->rtsps_port > 65535)
        return SAFECAM_ERR_INVAL;
    media_service *svc = g_new0(media_service, 1);
    svc->opts = *opts;
    svc->stream = *stream;
    svc->backoff_ms = MEDIA_BACKOFF_MIN_MS;
    for (int i = 0; i < MEDIA_STREAMS; i++) {
        svc->feeders[i].svc = svc;
        g_mutex_init(&svc->feeders[i].lock);
        svc->feeders[i].consumers = g_ptr_array_new();
    }
    g_mutex_init(&svc->motion_lock);
    svc->housekeeping = g_timeout_add(HOUSEKEEPING_MS, housekeeping_cb, svc);
    svc->state = SVC_STARTING;
    pipeline_start_or_fail(svc);
    *out = svc;
    return 0;
}

void media_service_free(media_service *svc)
{
    if (!svc)
        return;
    if (svc->rtsp) {
        media_rtsp_close_all(svc->rtsp);
        media_rtsp_free(svc->rtsp);
    }
    while (svc->lives)
        live_viewer_close(svc->lives->data);
    snaps_expire(svc, TRUE);
    pipeline_stop(svc);
    if (svc->housekeeping)
        g_source_remove(svc->housekeeping);
    if (svc->retry_timer)
        g_source_remove(svc->retry_timer);
    if (svc->fail_idle)
        g_source_remove(svc->fail_idle);
    /* A demand check queued by an RTSP thread must not run on a freed service. */
    for (int k = 0; k < 64 && g_idle_remove_by_data(svc); k++)
        ;
    for (int i = 0; i < MEDIA_STREAMS; i++) {
        struct feeder *f = &svc->feeders[i];
        for (guint k = 0; k < f->consumers->len; k++)
            consumer_free(g_ptr_array_index(f->consumers, k));
        g_ptr_array_free(f->consumers, TRUE);
        gst_caps_replace(&f->caps, NULL);
        g_mutex_clear(&f->lock);
    }
    if (svc->cert)
        g_object_unref(svc->cert);
    g_mutex_clear(&svc->motion_lock);
    g_free(svc);
}

int media_service_tls_set(media_service *svc, const char *cert_pem, const char *key_pem)
{
    if (svc->rtsp)
        return 0;
    if (!cert_pem || !key_pem)
        return SAFECAM_ERR_INVAL;
    size_t cl = strlen(cert_pem), kl = strlen(key_pem);
    if (cl > 64 * 1024 || kl > 64 * 1024)
        return SAFECAM_ERR_TOOBIG;
    char *pem = g_malloc(cl + kl + 2);
    memcpy(pem, cert_pem, cl);
    pem[cl] = '\n';
    memcpy(pem + cl + 1, key_pem, kl + 1);
    GError *err = NULL;
    GTlsCertificate *cert = g_tls_certificate_new_from_pem(pem, -1, &err);
    volatile char *v = pem;
    for (size_t i = 0; i < cl + kl + 2; i++)
        v[i] = 0;
    g_free(pem);
    if (!cert) {
        log_err("device certificate refused: %s", err ? err->message : "?");
        g_clear_error(&err);
        return SAFECAM_ERR_CRYPTO;
    }
    const struct media_feeder_ops feed = media_feeder_ops_of(svc);
    int rc = media_rtsp_new(&feed, &svc->opts.vault, cert, svc->opts.bind, svc->opts.rtsps_port, svc->opts.listen_fd,
                            svc->stream.sub_enabled, svc->opts.auth_cache_s, &svc->rtsp);
    if (rc != 0) {
        g_object_unref(cert);
        return rc;
    }
    svc->cert = cert;
    return 0;
}

int media_service_rtsps_ready(const media_service *svc)
{
    return svc->rtsp != NULL;
}

int media_service_apply(media_service *svc, const struct config_stream *stream)
{
    if (!stream)
        return SAFECAM_ERR_INVAL;
    if (memcmp(stream, &svc->stream, sizeof *stream) == 0)
        return 0;
    log_info("video: applying %dx%d@%d %d kbit/s, keyframe every %d s, sub stream %s", stream->width,
             stream->height, stream->fps, stream->bitrate_kbps, stream->keyframe_interval_s,
             stream->sub_enabled ? "on" : "off");
    pipeline_stop(svc);
    if (svc->fail_idle) {
        g_source_remove(svc->fail_idle);
        svc->fail_idle = 0;
    }
    if (svc->retry_timer) {
        g_source_remove(svc->retry_timer);
        svc->retry_timer = 0;
    }
    while (svc->lives)
        live_viewer_close(svc->lives->data);
    snaps_expire(svc, TRUE);
    for (int i = 0; i < MEDIA_STREAMS; i++) {
        g_mutex_lock(&svc->feeders[i].lock);
        gst_caps_replace(&svc->feeders[i].caps, NULL);
        g_mutex_unlock(&svc->feeders[i].lock);
    }
    svc->stream = *stream;
    if (svc->rtsp) {
        media_rtsp_close_all(svc->rtsp);
        media_rtsp_sub_set(svc->rtsp, stream->sub_enabled);
    }
    svc->state = SVC_STARTING;
    svc->backoff_ms = MEDIA_BACKOFF_MIN_MS;
    pipeline_start_or_fail(svc);
    return 0;
}

json_t *media_service_status(media_service *svc)
{
    static const char *const names[] = {"starting", "playing", "retrying"};
    static const char *const stream_names[MEDIA_STREAMS] = {"main", "sub"};
    const char *pipeline = !svc->pipeline ? "stopped" : svc->idle ? "idle" : "playing";
    json_t *streams = json_object();
    int running = 0;
    for (int i = 0; i < MEDIA_STREAMS; i++) {
        struct feeder *f = &svc->feeders[i];
        g_mutex_lock(&f->lock);
        guint consumers = f->consumers->len;
        gboolean has_encoder = f->valve != NULL; /* pass-through main: no encoder */
        g_mutex_unlock(&f->lock);
        gboolean pt = i == MEDIA_STREAM_MAIN && svc->passthrough;
        if (!has_encoder && !pt && consumers == 0)
            continue;
        gboolean on = has_encoder && consumers > 0 && svc->pipeline && !svc->idle;
        running += on ? 1 : 0;
        json_object_set_new(streams, stream_names[i],
                            json_pack("{s:i,s:s,s:s}", "consumers", (int)consumers, "encoder",
                                      pt ? "none" : on ? "running" : "stopped", "mode",
                                      pt ? "passthrough" : "encode"));
    }
    json_t *st = json_pack("{s:b,s:o,s:s,s:s,s:i,s:i,s:s,s:i,s:s,s:o}", "ok", 1, "stream",
                           config_stream_to_json(&svc->stream), "state", names[svc->state], "source",
                           media_source_kind_name(svc->opts.source.kind), "rtsp_clients",
                           svc->rtsp ? (int)media_rtsp_client_count(svc->rtsp) : 0, "live_viewers",
                           (int)g_list_length(svc->lives), "pipeline", pipeline, "encoders_running", running,
                           "encoder", encoder_element(svc->stream.encoder), "streams", streams);
    if (st) {
        json_object_set_new(st, "main_mode", json_string(svc->passthrough ? "passthrough" : "encode"));
        if (svc->reencode_reason[0])
            json_object_set_new(st, "reencode_reason", json_string(svc->reencode_reason));
        json_object_set_new(st, "recording", json_boolean(media_recorder_active(svc->recorder)));
        json_object_set_new(st, "motion_analysis", json_boolean(svc->motion_on));
    }
    if (st && svc->state == SVC_RETRYING && svc->fail_reason[0])
        json_object_set_new(st, "error", json_string(svc->fail_reason));
    return st;
}

/* ---------------- the feeder as seen by the RTSP server (rtsp.c) ---------------- */

static guint feeder_ops_attach(void *ctx, int stream, GstElement *appsrc, guint64 max_bytes,
                               gboolean cut_on_overflow)
{
    return media_feeder_attach(ctx, stream, appsrc, max_bytes, cut_on_overflow);
}

static void feeder_ops_detach(void *ctx, int stream, guint id)
{
    media_feeder_detach(ctx, stream, id);
}

static void feeder_ops_request_keyframe(void *ctx, int stream)
{
    media_feeder_request_keyframe(ctx, stream);
}

struct media_feeder_ops media_feeder_ops_of(media_service *svc)
{
    return (struct media_feeder_ops){.attach = feeder_ops_attach,
                                     .detach = feeder_ops_detach,
                                     .request_keyframe = feeder_ops_request_keyframe,
                                     .ctx = svc};
}
