/* rtsp-noauth.c — a deliberately NON-COMPLIANT RTSP server for qcvn-check's system tests: plain RTSP
 * (no TLS) and no authentication, on 127.0.0.1 only. Test fixture, never shipped.
 * usage: rtsp-noauth PORT [PATH]   (PATH default /stream1) */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: rtsp-noauth PORT [PATH]\n");
        return 2;
    }
    const char *path = argc > 2 ? argv[2] : "/stream1";
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GstRTSPServer *server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server, "127.0.0.1");
    gst_rtsp_server_set_service(server, argv[1]);
    GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
    GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(factory,
        "( videotestsrc is-live=true ! video/x-raw,format=I420,width=160,height=120,framerate=5/1 ! jpegenc ! "
        "rtpjpegpay name=pay0 pt=26 )");
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    gst_rtsp_mount_points_add_factory(mounts, path, factory);
    g_object_unref(mounts);
    if (gst_rtsp_server_attach(server, NULL) == 0) {
        fprintf(stderr, "rtsp-noauth: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    g_main_loop_run(loop);
    return 0;
}
