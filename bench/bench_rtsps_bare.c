/* bench_rtsps_bare.c — the peer for bench/media_rtsps.sh: a bare gst-rtsp-server RTSPS server doing what
 * safecam-media does with its product defaults: /stream1 test pattern + clock, x264 zerolatency ultrafast
 * 720p25 2 Mbit/s, keyframe every second; /stream2 the same scaled to 640x360 at 500 kbit/s. Shared media,
 * built when the first viewer comes and torn down after the last (gst-rtsp-server's own on-demand), TCP-
 * interleaved only, TLS with the given certificate (policy from G_TLS_GNUTLS_PRIORITY), one Basic user.
 * With FILE, /stream1 is the pass-through peer: filesrc ! qtdemux ! h264parse ! rtph264pay.
 * Benchmark harness only; never installed on a camera.
 * Usage: bench_rtsps_bare PORT CERT_PEM KEY_PEM USER PASSWORD [FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench_rtsps_bare PORT CERT_PEM KEY_PEM USER PASSWORD [FILE]\n");
        return 2;
    }
    gst_init(NULL, NULL);
    GError *err = NULL;
    GTlsCertificate *cert = g_tls_certificate_new_from_files(argv[2], argv[3], &err);
    if (!cert) {
        fprintf(stderr, "bench_rtsps_bare: certificate: %s\n", err ? err->message : "?");
        return 1;
    }
    GstRTSPServer *server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, argv[1]);
    GstRTSPAuth *auth = gst_rtsp_auth_new();
    gst_rtsp_auth_set_tls_certificate(auth, cert);
    GstRTSPToken *token = gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "user", NULL);
    gchar *basic = gst_rtsp_auth_make_basic(argv[4], argv[5]);
    gst_rtsp_auth_add_basic(auth, basic, token);
    g_free(basic);
    gst_rtsp_token_unref(token);
    gst_rtsp_server_set_auth(server, auth);

    static const char *const pattern =
        "videotestsrc is-live=true pattern=smpte horizontal-speed=2 ! "
        "video/x-raw,format=I420,width=1280,height=720,framerate=25/1,pixel-aspect-ratio=1/1 ! "
        "clockoverlay halignment=right valignment=bottom shaded-background=true font-desc=\"Sans 20\" "
        "time-format=\"%Y-%m-%d %H:%M:%S\" ! queue leaky=downstream max-size-buffers=3 max-size-bytes=0 "
        "max-size-time=0 ! ";
    gchar *main_launch =
        argc == 7 ? g_strdup_printf("( filesrc location=\"%s\" ! qtdemux ! h264parse config-interval=-1 ! "
                                    "rtph264pay name=pay0 pt=96 config-interval=-1 aggregate-mode=zero-latency )",
                                    argv[6])
                  : g_strdup_printf("( %s x264enc tune=zerolatency speed-preset=ultrafast bitrate=2000 "
                                    "key-int-max=25 bframes=0 ! video/x-h264,profile=constrained-baseline ! "
                                    "h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1 "
                                    "aggregate-mode=zero-latency )",
                                    pattern);
    gchar *sub_launch = g_strdup_printf(
        "( %s videoscale ! video/x-raw,width=640,height=360,pixel-aspect-ratio=1/1 ! x264enc tune=zerolatency "
        "speed-preset=ultrafast bitrate=500 key-int-max=25 bframes=0 ! video/x-h264,profile=constrained-baseline ! "
        "h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1 aggregate-mode=zero-latency )",
        pattern);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    const gchar *launches[2] = {main_launch, sub_launch};
    const gchar *paths[2] = {"/stream1", "/stream2"};
    for (int i = 0; i < 2; i++) {
        GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
        gst_rtsp_media_factory_set_launch(f, launches[i]);
        gst_rtsp_media_factory_set_shared(f, TRUE);
        gst_rtsp_media_factory_set_protocols(f, GST_RTSP_LOWER_TRANS_TCP);
        gst_rtsp_media_factory_add_role(f, "user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN, TRUE,
                                        GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, NULL);
        gst_rtsp_mount_points_add_factory(mounts, paths[i], f);
    }
    g_free(main_launch);
    g_free(sub_launch);
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, NULL) == 0) {
        fprintf(stderr, "bench_rtsps_bare: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    fprintf(stderr, "bench_rtsps_bare: listening on 127.0.0.1:%s\n", argv[1]);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    g_main_loop_run(loop);
    return 0;
}
