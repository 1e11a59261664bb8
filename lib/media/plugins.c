/* plugins.c — the GStreamer plugins the media process loads: named here, read from the plugin directory fixed
 * at build time, and only those its video source needs. GStreamer's registry is off (GST_REGISTRY_DISABLE):
 * without it, a first start scanned every installed plugin inside this process (its allowlist has no fork for
 * the scanner helper) and kept all of them mapped — 611 libraries and 130 MB RSS against 80 and 38 MB on the
 * next start — and it needed a writable registry file. The test pattern's clock (pango, cairo, X11 client
 * libraries) is loaded for the test pattern only; a decoder only for sources that may need one.
 * Main thread, after gst_init. QCVN 135 G6 (minimal attack surface) / EN 303 645 5.6-1. */
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

#include "media_internal.h"
#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/media.h"

#ifndef MEDIA_GST_PLUGINS_DIR
#error "MEDIA_GST_PLUGINS_DIR must name GStreamer's plugin directory (lib/media/meson.build sets it)"
#endif

#define KIND(k) (1u << (k))
#define ALL_KINDS (KIND(MEDIA_SOURCE_TESTSRC) | KIND(MEDIA_SOURCE_FILE) | KIND(MEDIA_SOURCE_V4L2))

struct media_plugin {
    const char *name;  /* libgstNAME.so */
    unsigned kinds;    /* KIND() of the sources that load it */
    int optional;      /* 1: its absence only removes a feature (the clock, one encoder) */
    const char *why;
};

static const struct media_plugin media_plugins[] = {
    {"coreelements", ALL_KINDS, 0, "queue, tee, valve, filesrc, fdsink, fakesink, identity"},
    {"app", ALL_KINDS, 0, "appsrc and appsink (RTSP feeders, live view, snapshots)"},
    {"videoconvertscale", ALL_KINDS, 0, "videoconvert, videoscale"},
    {"videoparsersbad", ALL_KINDS, 0, "h264parse"},
    {"x264", ALL_KINDS, 1, "x264enc (the software encoder; a device may have only v4l2h264enc)"},
    {"jpeg", ALL_KINDS, 0, "jpegenc (snapshots), jpegdec (MJPEG cameras)"},
    {"isomp4", ALL_KINDS, 0, "mp4mux (live view), qtdemux (file source)"},
    {"rtp", ALL_KINDS, 0, "rtph264pay"},
    {"rtpmanager", ALL_KINDS, 0, "rtpbin and its parts, used by the RTSP server"},
    {"videorate", KIND(MEDIA_SOURCE_FILE) | KIND(MEDIA_SOURCE_V4L2), 0, "videorate (a source at another rate)"},
    {"videotestsrc", KIND(MEDIA_SOURCE_TESTSRC), 0, "the test pattern"},
    {"pango", KIND(MEDIA_SOURCE_TESTSRC), 1, "clockoverlay on the test pattern"},
    {"playback", KIND(MEDIA_SOURCE_FILE) | KIND(MEDIA_SOURCE_V4L2), 0, "parsebin, decodebin"},
    {"typefindfunctions", KIND(MEDIA_SOURCE_FILE) | KIND(MEDIA_SOURCE_V4L2), 0, "type finding for decodebin"},
    /* openh264dec, not libav's avdec_h264: libgstlibav links libavfilter, which maps X11, cairo, pango, VA-API
     * and VDPAU client libraries (177 in all); openh264 maps 25 and decodes Main and High profile footage. */
    {"openh264", KIND(MEDIA_SOURCE_FILE) | KIND(MEDIA_SOURCE_V4L2), 0, "openh264dec (re-encoding, snapshots)"},
    {"video4linux2", KIND(MEDIA_SOURCE_V4L2), 0, "v4l2src, v4l2h264enc"},
};

/* Load libgstNAME.so into the default registry (once: GStreamer keeps a loaded plugin). 0, or
 * SAFECAM_ERR_NOTFOUND when the file is absent or does not load. */
static int plugin_load(const char *name)
{
    GstPlugin *have = gst_registry_find_plugin(gst_registry_get(), name);
    if (have) {
        gst_object_unref(have);
        return 0;
    }
    char path[512];
    if (safecam_fmt(path, sizeof path, "%s/libgst%s.so", MEDIA_GST_PLUGINS_DIR, name) != 0)
        return SAFECAM_ERR_NOTFOUND;
    GError *err = NULL;
    GstPlugin *p = gst_plugin_load_file(path, &err);
    if (!p) {
        log_warn("video: GStreamer plugin %s not loaded: %s", name, err ? err->message : "unknown error");
        g_clear_error(&err);
        return SAFECAM_ERR_NOTFOUND;
    }
    gst_object_unref(p);
    return 0;
}

/* The elements every pipeline uses, and the ones of each source kind (service.c, rtsp.c). */
static const char *const elements_common[] = {"h264parse", "rtph264pay", "mp4mux",       "jpegenc", "appsrc",
                                              "appsink",   "videoconvert", "videoscale", "valve",   "tee",
                                              "queue",     "fdsink",     "rtpbin"};
static const char *const elements_testsrc[] = {"videotestsrc"};
static const char *const elements_file[] = {"filesrc", "parsebin", "decodebin", "qtdemux", "videorate", "openh264dec"};
static const char *const elements_v4l2[] = {"v4l2src", "decodebin", "videorate"};

static int elements_present(const char *const *names, size_t n, const char **missing)
{
    for (size_t i = 0; i < n; i++) {
        GstElementFactory *f = gst_element_factory_find(names[i]);
        if (!f) {
            if (missing)
                *missing = names[i];
            return SAFECAM_ERR_NOTFOUND;
        }
        gst_object_unref(f);
    }
    return 0;
}

static int elements_check(enum media_source_kind kind, const char **missing)
{
    int rc = elements_present(elements_common, SAFECAM_ARRAY_LEN(elements_common), missing);
    if (rc != 0)
        return rc;
    switch (kind) {
    case MEDIA_SOURCE_TESTSRC:
        return elements_present(elements_testsrc, SAFECAM_ARRAY_LEN(elements_testsrc), missing);
    case MEDIA_SOURCE_FILE:
        return elements_present(elements_file, SAFECAM_ARRAY_LEN(elements_file), missing);
    case MEDIA_SOURCE_V4L2:
        return elements_present(elements_v4l2, SAFECAM_ARRAY_LEN(elements_v4l2), missing);
    }
    return SAFECAM_ERR_INVAL;
}

int media_plugins_load(enum media_source_kind kind, const char **missing)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(media_plugins); i++) {
        const struct media_plugin *p = &media_plugins[i];
        if (!(p->kinds & KIND(kind)))
            continue;
        if (plugin_load(p->name) != 0 && !p->optional) {
            if (missing)
                *missing = p->name;
            return SAFECAM_ERR_NOTFOUND;
        }
    }
    return elements_check(kind, missing);
}

int media_plugins_load_encoder(int encoder)
{
    return plugin_load(encoder == CONFIG_ENCODER_V4L2 ? "video4linux2" : "x264");
}
