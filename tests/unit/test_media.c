/* test_media.c — unit tests of lib/media's pure helpers: --source parsing, the RTSP Basic header parser,
 * the H.264 codecs string, the timecode geometry, the RTSP request framer (every refusal path) and the
 * TLS connection the RTSPS front makes.
 * Runs in the test process only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "safecam/media.h"
#include "../../lib/media/media_internal.h"

static void test_source_parse(void **state)
{
    (void)state;
    struct media_source s;
    const char *why = NULL;
    assert_int_equal(media_source_parse("testsrc", &s, &why), 0);
    assert_int_equal(s.kind, MEDIA_SOURCE_TESTSRC);
    assert_int_equal(media_source_parse("file:/tmp/a b.mp4", &s, &why), 0);
    assert_int_equal(s.kind, MEDIA_SOURCE_FILE);
    assert_string_equal(s.path, "/tmp/a b.mp4");
    assert_int_equal(media_source_parse("v4l2:/dev/video0", &s, &why), 0);
    assert_int_equal(s.kind, MEDIA_SOURCE_V4L2);
    assert_string_equal(s.path, "/dev/video0");
    assert_int_equal(media_source_parse("v4l2:/dev/video255", &s, &why), 0);
    const char *bad[] = {"",
                         "TESTSRC",
                         "testsrc ",
                         "file:",
                         "file:a\nb",
                         "file:\x1b[31m",
                         "v4l2:",
                         "v4l2:/dev/video",
                         "v4l2:/dev/video256",
                         "v4l2:/dev/video01",
                         "v4l2:/dev/video-1",
                         "v4l2:/dev/sda",
                         "v4l2:/dev/video0/../sda",
                         "rtsp://x",
                         "http://x",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        why = NULL;
        assert_int_equal(media_source_parse(bad[i], &s, &why), SAFECAM_ERR_INVAL);
        assert_non_null(why);
        assert_null(strchr(why, '\n'));
    }
    char longp[2000];
    memset(longp, 'a', sizeof longp);
    memcpy(longp, "file:", 5);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(media_source_parse(longp, &s, &why), SAFECAM_ERR_INVAL);
    assert_int_equal(media_source_parse(NULL, &s, &why), SAFECAM_ERR_INVAL);
    assert_string_equal(media_source_kind_name(MEDIA_SOURCE_V4L2), "v4l2");
}

/* RTSP Digest Authorization headers (integration accounts): fields, quoting, bounds, duplicates. */
static void test_digest_auth_parse(void **state)
{
    (void)state;
    struct digest_auth d;
    assert_int_equal(digest_auth_parse("Digest username=\"nvr1\", realm=\"safecam\", nonce=\"0123\", "
                                             "uri=\"rtsps://127.0.0.1:8322/stream1\", response=\"abcd\", "
                                             "algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"",
                                             &d),
                     0);
    assert_string_equal(d.username, "nvr1");
    assert_string_equal(d.uri, "rtsps://127.0.0.1:8322/stream1");
    assert_string_equal(d.qop, "auth");
    assert_string_equal(d.nc, "00000001");
    assert_string_equal(d.algorithm, "MD5");
    /* RFC 2069 form: no qop */
    assert_int_equal(digest_auth_parse("Digest username=\"a\",realm=\"r\",nonce=\"n\",uri=\"/\",response=\"x\"", &d),
                     0);
    assert_string_equal(d.qop, "");
    static const char *const bad[] = {
        "Basic YWRtaW46cGFzcw==",
        "Digest ",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\"",                           /* no response */
        "Digest username=\"a\", username=\"b\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\"", /* twice */
        "Digest username=\"a, realm=\"r\"",                                                     /* open quote */
        "Digest username=\"a\x01\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\"",        /* control */
        "Digest username \"a\"",
        "Digest =x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(digest_auth_parse(bad[i], &d), SAFECAM_ERR_INVAL);
        assert_string_equal(d.username, "");
    }
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "Digest username=\"", 17);
    assert_int_equal(digest_auth_parse(big, &d), SAFECAM_ERR_TOOBIG);
    /* the nonce count: 8 hex digits, not zero */
    uint32_t nc = 0;
    assert_int_equal(digest_nc_parse("00000001", &nc), 0);
    assert_int_equal(nc, 1);
    assert_int_equal(digest_nc_parse("FFFFFFFF", &nc), 0);
    assert_int_equal(nc, 0xffffffffu);
    static const char *const bad_nc[] = {"00000000", "1", "000000001", "0000000g", "", "-0000001"};
    for (size_t i = 0; i < sizeof bad_nc / sizeof bad_nc[0]; i++)
        assert_int_equal(digest_nc_parse(bad_nc[i], &nc), SAFECAM_ERR_INVAL);
}

static void test_basic_auth_parse(void **state)
{
    (void)state;
    char u[MEDIA_RTSP_USERNAME_MAX + 1], p[MEDIA_RTSP_PASSWORD_MAX + 1];
    /* "admin:S3cret:with:colons" */
    assert_int_equal(
        media_basic_auth_parse("Basic YWRtaW46UzNjcmV0OndpdGg6Y29sb25z", u, sizeof u, p, sizeof p), 0);
    assert_string_equal(u, "admin");
    assert_string_equal(p, "S3cret:with:colons");
    assert_int_equal(media_basic_auth_parse("basic   dTpw", u, sizeof u, p, sizeof p), 0); /* "u:p" */
    assert_string_equal(u, "u");
    assert_string_equal(p, "p");
    /* UTF-8 password "ü:ñ" -> user "ü" is refused (usernames are printable ASCII) */
    assert_int_equal(media_basic_auth_parse("Basic w7w6w7E=", u, sizeof u, p, sizeof p), SAFECAM_ERR_INVAL);
    /* "u:pässword" valid UTF-8 */
    assert_int_equal(media_basic_auth_parse("Basic dTpww6Rzc3dvcmQ=", u, sizeof u, p, sizeof p), 0);
    assert_string_equal(p, "p\xc3\xa4ssword");
    const char *bad[] = {"Digest dTpw",     /* other scheme */
                         "Basic",           /* no credentials */
                         "Basic ",          /* empty */
                         "Basic dTpw=",     /* bad length */
                         "Basic dTp=",      /* non-canonical: unused bits set */
                         "Basic dT=w",      /* padding in the middle */
                         "Basic dTp\nw",    /* control character */
                         "Basic dTpw dTpw", /* two tokens */
                         "Basic dXNlcg==",  /* "user": no colon */
                         "Basic OnBhc3M=",  /* ":pass": empty user */
                         "Basic dXNlcjo=",  /* "user:": empty password */
                         "Basic dSB4OnA=",  /* "u x:p": space in user */
                         "Basic dTpwAHg=",  /* "u:p\0x": NUL in password */
                         "Basic dTpwG3g=",  /* "u:p\x1bx": control char in password */
                         "Basic dTr/",      /* "u:\xff": invalid UTF-8 */
                         "Basic ****",      NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_not_equal(media_basic_auth_parse(bad[i], u, sizeof u, p, sizeof p), 0);
        assert_string_equal(u, "");
        assert_string_equal(p, "");
    }
    /* over the header cap */
    char big[MEDIA_RTSP_AUTH_HEADER_MAX + 16];
    memset(big, 'A', sizeof big);
    memcpy(big, "Basic ", 6);
    big[sizeof big - 1] = '\0';
    assert_int_equal(media_basic_auth_parse(big, u, sizeof u, p, sizeof p), SAFECAM_ERR_TOOBIG);
    /* output too small */
    char tiny[2];
    assert_int_not_equal(media_basic_auth_parse("Basic YWRtaW46cA==", tiny, sizeof tiny, p, sizeof p), 0);
    assert_int_not_equal(media_basic_auth_parse(NULL, u, sizeof u, p, sizeof p), 0);
}

static void test_codecs_string(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(media_h264_codecs_string("constrained-baseline", "3.1", out, sizeof out), 0);
    assert_string_equal(out, "avc1.42E01F");
    assert_int_equal(media_h264_codecs_string("high", "4", out, sizeof out), 0);
    assert_string_equal(out, "avc1.640028");
    assert_int_equal(media_h264_codecs_string("main", NULL, out, sizeof out), 0);
    assert_string_equal(out, "avc1.4D401F");
    assert_int_equal(media_h264_codecs_string("weird", "3", out, sizeof out), SAFECAM_ERR_INVAL);
    assert_int_equal(media_h264_codecs_string("main", "3.x", out, sizeof out), SAFECAM_ERR_INVAL);
    assert_int_equal(media_h264_codecs_string("main", "9", out, sizeof out), SAFECAM_ERR_INVAL);
    assert_int_equal(media_h264_codecs_string("main", "3", out, 4), SAFECAM_ERR_INVAL);
}

static void test_timecode_geometry(void **state)
{
    (void)state;
    int widths[] = {160, 320, 640, 1280, 1920};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        int bs = media_timecode_block_px(widths[i]);
        assert_true(bs >= 2 && bs % 2 == 0);
        assert_true(bs * MEDIA_TIMECODE_BLOCKS <= widths[i]);
    }
}

/* ---- framer ---- */

static struct media_rtsp_framer fr;
static uint8_t outbuf[65536 + MEDIA_RTSP_HEADER_MAX];

static int feed(const char *s, size_t len, size_t *olen)
{
    return media_rtsp_framer_feed(&fr, (const uint8_t *)s, len, outbuf, sizeof outbuf, olen);
}

static void test_framer_passes_valid_traffic(void **state)
{
    (void)state;
    const char req[] = "DESCRIBE rtsps://h/stream1 RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Basic dTpw\r\n\r\n"
                       "SET_PARAMETER rtsps://h/stream1 RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 5\r\n\r\nhello"
                       "$\x01\x00\x03"
                       "abc"
                       "OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n\r\n";
    size_t len = sizeof req - 1, olen = 0;
    media_rtsp_framer_init(&fr);
    assert_int_equal(feed(req, len, &olen), 0);
    assert_int_equal(olen, len);
    assert_memory_equal(outbuf, req, len);
    assert_int_equal(fr.requests, 3);
    /* byte by byte gives the same output */
    media_rtsp_framer_init(&fr);
    uint8_t acc[512];
    size_t total = 0;
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(feed(req + i, 1, &olen), 0);
        memcpy(acc + total, outbuf, olen);
        total += olen;
    }
    assert_int_equal(total, len);
    assert_memory_equal(acc, req, len);
    /* a header is held back until complete */
    media_rtsp_framer_init(&fr);
    assert_int_equal(feed("OPTIONS * RTSP/1.0\r\nCSe", 23, &olen), 0);
    assert_int_equal(olen, 0);
}

static int refuse(const char *req, size_t len)
{
    size_t olen = 0;
    media_rtsp_framer_init(&fr);
    return feed(req, len, &olen);
}
#define REFUSE(lit) refuse(lit, sizeof(lit) - 1)

static void test_framer_refusals(void **state)
{
    (void)state;
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\n\r\n"), 400);                       /* no CSeq */
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n"), 400); /* twice */
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: -1\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 99999999999999999999\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1x\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n folded\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno colon\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n: v\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX\x01Y: v\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nSession: a\r\nSession: b\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n"),
                     400);
    assert_int_equal(REFUSE("SETUP x RTSP/1.0\r\nCSeq: 1\r\nTransport: a\r\nTransport: b\r\n\r\n"), 400);
    assert_int_equal(
        REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 4097\r\n\r\n"), 413);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999999\r\n\r\n"), 413);
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -1\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS * RTSP/3.0\r\nCSeq: 1\r\n\r\n"), 505);
    assert_int_equal(REFUSE("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS *\r\nCSeq: 1\r\n\r\n"), 400);
    assert_int_equal(REFUSE("options * RTSP/1.0\r\nCSeq: 1\r\n\r\n"), 400);
    assert_int_equal(REFUSE("OPTIONS\x00 * RTSP/1.0\r\n"), 400);
    /* too many lines, too long a line, too big a header block */
    char big[MEDIA_RTSP_HEADER_MAX * 2];
    size_t n = 0;
    n += (size_t)snprintf(big, sizeof big, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n");
    for (int i = 0; i < MEDIA_RTSP_LINES_MAX; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: v\r\n", i);
    assert_int_equal(refuse(big, n), 431);
    memset(big, 'a', sizeof big);
    memcpy(big, "OPTIONS /", 9);
    assert_int_equal(refuse(big, MEDIA_RTSP_LINE_MAX + 100), 431);
    n = (size_t)snprintf(big, sizeof big, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n");
    for (int i = 0; i < 6; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: ", i);
        memset(big + n, 'v', 1500);
        n += 1500;
        memcpy(big + n, "\r\n", 2);
        n += 2;
    }
    assert_int_equal(refuse(big, n), 431);
    /* CSeq is known for the refusal response when it was parsed */
    assert_int_equal(REFUSE("OPTIONS * RTSP/1.0\r\nCSeq: 7\r\nSession: a\r\nSession: b\r\n\r\n"), 400);
    assert_int_equal(fr.cseq, 7);
    /* a too-small output buffer is refused, not overflowed */
    size_t olen;
    media_rtsp_framer_init(&fr);
    assert_int_equal(media_rtsp_framer_feed(&fr, (const uint8_t *)"x", 1, outbuf, 10, &olen), 400);
}

/* safecam-media's command line: defaults, every value, --help, and each refusal (exit 2, nothing started). */
static int parse_argv(struct media_process_options *o, const char *const *args)
{
    char *argv[24];
    int argc = 0;
    argv[argc++] = (char *)"safecam-media";
    for (; *args && argc < 23; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return media_process_options_parse(argc, argv, o);
}

/* A viewer's first frame is stamped with its pipeline's running time. Between the clock and the base time
 * (PAUSED -> PLAYING) that was the clock's absolute time, and the viewer's sink held its video for a day:
 * one in four of eight concurrent RTSPS viewers got no frame. The element here has its clock and no base
 * time, as in that window. */
static void test_running_time_only_when_playing(void **state)
{
    (void)state;
    gst_init(NULL, NULL);
    GstElement *p = gst_pipeline_new(NULL);
    GstClock *clock = gst_system_clock_obtain();
    assert_true(gst_element_set_clock(p, clock));
    assert_int_equal(gst_element_get_base_time(p), 0);
    assert_true(gst_clock_get_time(clock) > 0);
    assert_false(GST_CLOCK_TIME_IS_VALID(media_running_time_now(p)));
    assert_int_not_equal(gst_element_set_state(p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    assert_int_equal(gst_element_get_state(p, NULL, NULL, 5 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    GstClockTime t = media_running_time_now(p);
    assert_true(GST_CLOCK_TIME_IS_VALID(t));
    assert_true(t < 60 * GST_SECOND);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(clock);
    gst_object_unref(p);
}

/* Each RTSPS connection's TLS layer holds no certificate database. With the default one, glib-networking
 * parsed the system trust store into every connection: 4 MiB of heap per viewer (bench/README.md). */
static void test_front_tls_has_no_database(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    GSocket *sock = g_socket_new_from_fd(sv[0], NULL);
    assert_non_null(sock);
    GSocketConnection *conn = g_socket_connection_factory_create_connection(sock);
    GError *err = NULL;
    GIOStream *tls = media_front_tls_new(G_IO_STREAM(conn), NULL, &err);
    assert_non_null(tls);
    assert_null(err);
    assert_null(g_tls_connection_get_database(G_TLS_CONNECTION(tls)));
    GTlsAuthenticationMode mode = G_TLS_AUTHENTICATION_REQUIRED;
    g_object_get(tls, "authentication-mode", &mode, NULL);
    assert_int_equal(mode, G_TLS_AUTHENTICATION_NONE);
    g_object_unref(tls);
    g_object_unref(conn);
    g_object_unref(sock);
    close(sv[1]);
}

static void test_process_options(void **state)
{
    (void)state;
    int chan[2], tcp, pipefd[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, chan), 0);
    tcp = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(tcp >= 0);
    assert_int_equal(pipe(pipefd), 0);
    char ipc[16], notsock[16], unbound[16];
    snprintf(ipc, sizeof ipc, "%d", chan[0]);
    snprintf(notsock, sizeof notsock, "%d", pipefd[0]);
    snprintf(unbound, sizeof unbound, "%d", tcp); /* a TCP socket that is not listening */
    struct media_process_options o;

    const char *const plain[] = {"--state-dir", "/tmp", "--ipc-fd", ipc, NULL};
    assert_int_equal(parse_argv(&o, plain), MEDIA_OPTIONS_OK);
    assert_string_equal(o.state_dir, "/tmp");
    assert_int_equal(o.ipc_fd, chan[0]);
    assert_int_equal(o.service.source.kind, MEDIA_SOURCE_TESTSRC);
    assert_string_equal(o.service.bind, "127.0.0.1");
    assert_int_equal(o.service.rtsps_port, MEDIA_RTSPS_PORT_DEFAULT);
    assert_int_equal(o.service.listen_fd, -1);
    assert_int_equal(o.service.auth_cache_s, 0);

    const char *const all[] = {"--state-dir", "/tmp", "--ipc-fd", ipc, "--bind", "::1", "--rtsps-port", "8322",
                               "--source", "testsrc", NULL};
    assert_int_equal(parse_argv(&o, all), MEDIA_OPTIONS_OK);
    assert_string_equal(o.service.bind, "::1");
    assert_int_equal(o.service.rtsps_port, 8322);

    const char *const help[] = {"--help", NULL};
    assert_int_equal(parse_argv(&o, help), MEDIA_OPTIONS_HELP);

    const char *const refused[][12] = {
        {NULL},                                                      /* nothing required given */
        {"--state-dir", "/tmp", NULL},                               /* no --ipc-fd */
        {"--ipc-fd", ipc, NULL},                                     /* no --state-dir */
        {"--state-dir", "/nonexistent-dir", "--ipc-fd", ipc, NULL},  /* not a directory */
        {"--state-dir", "/tmp", "--ipc-fd", notsock, NULL},          /* a pipe, not a channel */
        {"--state-dir", "/tmp", "--ipc-fd", "2", NULL},              /* below 3 */
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--listen-fd", unbound, NULL}, /* not listening */
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--rtsps-port", "0", NULL},
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--rtsps-port", "65536", NULL},
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--bind", "camera.local", NULL}, /* a name, never resolved */
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--source", "rtsp://elsewhere", NULL},
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--source", "file:/nonexistent.mp4", NULL},
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "--frobnicate", "1", NULL},
        {"--state-dir", "/tmp", "--ipc-fd", ipc, "stray", NULL},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (parse_argv(&o, refused[i]) != MEDIA_OPTIONS_USAGE)
            fail_msg("refusal %zu accepted", i);

    assert_int_equal(setenv("SAFECAM_MEDIA_AUTH_CACHE_S", "999999", 1), 0); /* above the built-in maximum */
    assert_int_equal(parse_argv(&o, plain), MEDIA_OPTIONS_USAGE);
    assert_int_equal(setenv("SAFECAM_MEDIA_AUTH_CACHE_S", "2", 1), 0);
    assert_int_equal(parse_argv(&o, plain), MEDIA_OPTIONS_OK);
    assert_int_equal(o.service.auth_cache_s, 2);
    assert_int_equal(unsetenv("SAFECAM_MEDIA_AUTH_CACHE_S"), 0);
    close(chan[0]);
    close(chan[1]);
    close(tcp);
    close(pipefd[0]);
    close(pipefd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_parse),
        cmocka_unit_test(test_basic_auth_parse),
        cmocka_unit_test(test_digest_auth_parse),
        cmocka_unit_test(test_codecs_string),
        cmocka_unit_test(test_timecode_geometry),
        cmocka_unit_test(test_framer_passes_valid_traffic),
        cmocka_unit_test(test_framer_refusals),
        cmocka_unit_test(test_process_options),
        cmocka_unit_test(test_running_time_only_when_playing),
        cmocka_unit_test(test_front_tls_has_no_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
