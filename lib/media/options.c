/* options.c — safecam-media's command line (struct media_process_options, media.h). Every value is checked
 * here, before the sandbox and GStreamer start: descriptors 3-1023 of the right kind (the supervisor's
 * channel a SOCK_SEQPACKET socket, the RTSPS listener a listening TCP socket), a known source and a readable
 * file source, an existing state directory, an address literal, a port 1-65535. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/core.h"
#include "safecam/media.h"

void media_process_options_usage(FILE *f)
{
    fprintf(f,
            "usage: safecam-media --state-dir DIR --ipc-fd N [--source SPEC] [--bind ADDR] [--rtsps-port N]\n"
            "                     [--listen-fd N] [--rtsp-digest]\n"
            "  SPEC: testsrc (default) | file:PATH | v4l2:/dev/videoN\n");
}

/* One line on stderr: what was refused, then the offending value when there is one. */
static int fail_usage(const char *what, const char *arg)
{
    fprintf(stderr, "safecam-media: %s%s\n", what, arg ? arg : "");
    return MEDIA_OPTIONS_USAGE;
}

static int socket_is(int fd, int want_type, int want_listening)
{
    int type = 0, listening = 0;
    socklen_t tl = sizeof type, ll = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != want_type)
        return 0;
    if (want_listening && (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening))
        return 0;
    return 1;
}

int media_process_options_parse(int argc, char **argv, struct media_process_options *out)
{
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, 's'}, {"ipc-fd", required_argument, NULL, 'i'},
        {"source", required_argument, NULL, 'S'},    {"bind", required_argument, NULL, 'b'},
        {"rtsps-port", required_argument, NULL, 'R'}, {"listen-fd", required_argument, NULL, 'L'},
        {"rtsp-digest", no_argument, NULL, 'D'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *source = "testsrc", *bind = "127.0.0.1";
    long ipc_fd = -1, port = MEDIA_RTSPS_PORT_DEFAULT, listen_fd = -1;
    memset(out, 0, sizeof *out);
    out->ipc_fd = -1;
    out->service.listen_fd = -1;
    opterr = 0;
    optind = 1; /* callable more than once (the unit test) */
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            out->state_dir = optarg;
            break;
        case 'i':
            if (safecam_parse_long(optarg, 3, 1023, &ipc_fd) != 0)
                return fail_usage("--ipc-fd: expected a descriptor number 3-1023", NULL);
            break;
        case 'S':
            source = optarg;
            break;
        case 'b':
            bind = optarg;
            break;
        case 'R':
            if (safecam_parse_long(optarg, 1, 65535, &port) != 0)
                return fail_usage("--rtsps-port: expected a port number 1-65535", NULL);
            break;
        case 'L':
            if (safecam_parse_long(optarg, 3, 1023, &listen_fd) != 0)
                return fail_usage("--listen-fd: expected a descriptor number 3-1023", NULL);
            break;
        case 'D':
            out->service.rtsp_digest = 1;
            break;
        case 'h':
            return MEDIA_OPTIONS_HELP;
        default:
            return fail_usage("unknown or incomplete option (see --help): ", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail_usage("unexpected argument: ", argv[optind]);
    const char *why = NULL;
    if (media_source_parse(source, &out->service.source, &why) != 0)
        return fail_usage("--source: ", why);
    if (out->service.source.kind == MEDIA_SOURCE_FILE && access(out->service.source.path, R_OK) != 0)
        return fail_usage("--source: cannot read ", out->service.source.path);
    if (!out->state_dir || ipc_fd < 0)
        return fail_usage("--state-dir DIR and --ipc-fd N are required", NULL);
    struct stat st;
    if (stat(out->state_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail_usage("--state-dir: not a directory: ", out->state_dir);
    if (listen_fd >= 0) {
        if (!socket_is((int)listen_fd, SOCK_STREAM, 1))
            return fail_usage("--listen-fd: not a listening TCP socket", NULL);
        out->service.listen_fd = (int)listen_fd;
    }
    if (!media_bind_addr_valid(bind) || safecam_strlcpy(out->service.bind, bind, sizeof out->service.bind) != 0)
        return fail_usage("--bind: not an IP address literal", NULL);
    out->service.rtsps_port = (int)port;
    if (!socket_is((int)ipc_fd, SOCK_SEQPACKET, 0))
        return fail_usage("--ipc-fd: not a SOCK_SEQPACKET channel", NULL);
    out->ipc_fd = (int)ipc_fd;
    /* Tests shorten the per-connection credential cache (never beyond the built-in maximum). */
    const char *cache = getenv("SAFECAM_MEDIA_AUTH_CACHE_S");
    long cache_s = 0;
    if (cache && safecam_parse_long(cache, 1, MEDIA_RTSP_AUTH_CACHE_S, &cache_s) != 0)
        return fail_usage("SAFECAM_MEDIA_AUTH_CACHE_S: expected 1 to the built-in maximum", NULL);
    out->service.auth_cache_s = (int)cache_s;
    return MEDIA_OPTIONS_OK;
}
