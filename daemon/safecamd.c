/* safecamd.c — the supervisor: starts vault, web, media and update with fork+exec, wires their
 * socketpairs, sends heartbeats, restarts a dead or hung child with back-off and records it in the audit
 * log; selects the A/B slot at start and marks it good once every child answers.
 * Trust level: never parses network data; the only inputs it takes from children are typed settings
 * messages from web (stream, privacy, update settings — validated by lib/config, all-or-nothing) and a
 * restart request from update. QCVN 135 G8 (self-recovery) / EN 303 645 5.9-1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/boot.h"
#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/proto.h"
#include "safecam/sandbox.h"
#include "safecam/supervisor.h"
#include "safecam/statedir.h"
#include "safecam/update.h"
#include "safecam/vault.h"

#define HEARTBEAT_INTERVAL_MS 2000
#define SHUTDOWN_GRACE_MS 5000
#define STABLE_RUN_MS SUPERVISOR_STABLE_RUN_MS /* the boot loader resets its image back-off after this */
#define CHILD_FD 3
#define LISTEN_FD 4 /* a handed-down listening socket, in web and media */
#define LISTEN_FD_ARG "4"
#define BOOT_TIMEOUT_DEFAULT_S 120 /* a new slot image must pass its health check within this */

extern char **environ;

struct options {
    char state_dir[PATH_MAX];
    char bind[64];
    char source[PATH_MAX + 16];
    char ui_dir[PATH_MAX];
    long https_port;
    long rtsps_port;
    long boot_timeout_s;
    int no_media;
};

struct child {
    const struct supervisor_row *row; /* its row in the child table (role, user, peers, walls) */
    const char *name;      /* row->role: "vault", "web", "media", "update" */
    const char *exe_name;  /* row->exe_name: "safecam-vault", ... */
    unsigned peer;         /* row->peer: IPC_PEER_* */
    int enabled;
    uid_t uid;             /* the row's user when the supervisor runs as root */
    gid_t gid;
    pid_t pid;
    int fd;                /* supervisor end of the child's channel, -1 when down */
    int listen_fd;         /* web, media: the listening socket the supervisor bound for it, or -1 */
    struct supervisor_restart restart; /* back-off (lib/supervisor) */
    struct supervisor_heartbeat hb;     /* watchdog (lib/supervisor) */
};

/* One entry per row of the child table, in its order (vault first: the others depend on it). */
#define N_CHILDREN 4u
static struct child children[N_CHILDREN];
/* Running as root: every child under its own user (the walls). Otherwise one user for all. */
static int separated;

static struct options opts;
static char exe_dir[PATH_MAX];
static audit_log *audit;
static struct config config;
static uint32_t next_msg_id = 1;

static void usage(FILE *f)
{
    fprintf(f, "usage: safecamd --state-dir DIR [--config FILE] [--source SPEC] [--bind ADDR]\n"
               "                [--https-port N] [--rtsps-port N] [--ui-dir DIR] [--no-media]\n"
               "                [--boot-timeout SECONDS]\n"
               "  SPEC: testsrc (default) | file:PATH | v4l2:/dev/videoN\n");
}

static int fail_usage(const char *what)
{
    fprintf(stderr, "safecamd: %s\n", what);
    return 2;
}

static int bind_addr_valid(const char *s)
{
    /* An address literal only: digits, hex, '.', ':' — never a name to resolve. */
    if (!*s || strlen(s) > 45)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
              *p == '.' || *p == ':'))
            return 0;
    return 1;
}

static int source_valid(const char *s)
{
    if (strcmp(s, "testsrc") == 0)
        return 1;
    if (strncmp(s, "file:", 5) == 0 && s[5] != '\0')
        return 1;
    if (strncmp(s, "v4l2:/dev/video", 15) == 0 && s[15] >= '0' && s[15] <= '9')
        return 1;
    return 0;
}

/* --config FILE: a JSON object with any of bind, https_port, rtsps_port, source, ui_dir.
 * Command-line options given explicitly win (they are applied after). */
static int options_load_file(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (safecam_file_read(path, CONFIG_MAX_BYTES, &text, &len) != 0) {
        fprintf(stderr, "safecamd: cannot read config file %s\n", path);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!json_is_object(root)) {
        fprintf(stderr, "safecamd: config file %s: invalid JSON (line %d)\n", path, jerr.line);
        json_decref(root);
        return -1;
    }
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "bind") == 0 && json_is_string(v)) {
            rc = safecam_strlcpy(opts.bind, json_string_value(v), sizeof opts.bind);
        } else if (strcmp(key, "source") == 0 && json_is_string(v)) {
            rc = safecam_strlcpy(opts.source, json_string_value(v), sizeof opts.source);
        } else if (strcmp(key, "ui_dir") == 0 && json_is_string(v)) {
            rc = safecam_strlcpy(opts.ui_dir, json_string_value(v), sizeof opts.ui_dir);
        } else if (strcmp(key, "https_port") == 0 && json_is_integer(v)) {
            opts.https_port = (long)json_integer_value(v);
        } else if (strcmp(key, "rtsps_port") == 0 && json_is_integer(v)) {
            opts.rtsps_port = (long)json_integer_value(v);
        } else {
            fprintf(stderr, "safecamd: config file %s: unknown or mistyped field \"%s\"\n", path, key);
            rc = -1;
        }
        if (rc != 0)
            break;
    }
    json_decref(root);
    return rc == 0 ? 0 : -1;
}

static int options_parse(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 'S'},    {"bind", required_argument, NULL, 'b'},
        {"https-port", required_argument, NULL, 'H'}, {"rtsps-port", required_argument, NULL, 'R'},
        {"ui-dir", required_argument, NULL, 'u'},    {"no-media", no_argument, NULL, 'n'},
        {"boot-timeout", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* First pass: --config only, so the command line can override it. */
    const char *config_path = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
        if (c == 'c')
            config_path = optarg;
    memset(&opts, 0, sizeof opts);
    opts.https_port = 8443;
    opts.rtsps_port = 8322;
    opts.boot_timeout_s = BOOT_TIMEOUT_DEFAULT_S;
    if (safecam_strlcpy(opts.bind, "127.0.0.1", sizeof opts.bind) != 0 ||
        safecam_strlcpy(opts.source, "testsrc", sizeof opts.source) != 0)
        return 2;
    if (config_path && options_load_file(config_path) != 0)
        return 2;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (safecam_strlcpy(opts.state_dir, optarg, sizeof opts.state_dir) != 0)
                return fail_usage("--state-dir: path too long");
            break;
        case 'c':
            break;
        case 'S':
            if (safecam_strlcpy(opts.source, optarg, sizeof opts.source) != 0)
                return fail_usage("--source: too long");
            break;
        case 'b':
            if (safecam_strlcpy(opts.bind, optarg, sizeof opts.bind) != 0)
                return fail_usage("--bind: not an IP address");
            break;
        case 'H':
            if (safecam_parse_long(optarg, 1, 65535, &opts.https_port) != 0)
                return fail_usage("--https-port: expected a port number 1-65535");
            break;
        case 'R':
            if (safecam_parse_long(optarg, 1, 65535, &opts.rtsps_port) != 0)
                return fail_usage("--rtsps-port: expected a port number 1-65535");
            break;
        case 'u':
            if (safecam_strlcpy(opts.ui_dir, optarg, sizeof opts.ui_dir) != 0)
                return fail_usage("--ui-dir: path too long");
            break;
        case 'n':
            opts.no_media = 1;
            break;
        case 'T':
            if (safecam_parse_long(optarg, 5, 3600, &opts.boot_timeout_s) != 0)
                return fail_usage("--boot-timeout: expected seconds 5-3600");
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "safecamd: unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "safecamd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!opts.state_dir[0])
        return fail_usage("--state-dir DIR is required");
    if (!bind_addr_valid(opts.bind))
        return fail_usage("--bind: not an IP address literal");
    if (opts.https_port < 1 || opts.https_port > 65535 || opts.rtsps_port < 1 || opts.rtsps_port > 65535)
        return fail_usage("port out of range 1-65535");
    if (opts.https_port == opts.rtsps_port)
        return fail_usage("--https-port and --rtsps-port must differ");
    if (!source_valid(opts.source))
        return fail_usage("--source: expected testsrc, file:PATH or v4l2:/dev/videoN");
    if (strncmp(opts.source, "file:", 5) == 0 && access(opts.source + 5, R_OK) != 0) {
        fprintf(stderr, "safecamd: --source: cannot read %s\n", opts.source + 5);
        return 2;
    }
    return 0;
}

static int state_dir_check(void)
{
    struct stat st;
    if (stat(opts.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "safecamd: state dir %s does not exist (run safecam-provision first)\n", opts.state_dir);
        return 1;
    }
    return 0;
}

/* Started as root, the supervisor binds the HTTPS and RTSPS ports itself and hands each listening socket
 * down (fd 4): the children run without any capability, so a privileged port (443, 322) is bound here,
 * and the socket outlives a child's restart. */
static int listen_socket_open(const char *addr, long port, int *out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof *s4;
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof *s6;
    } else {
        return SAFECAM_ERR_INVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        log_err("cannot listen on %s port %ld: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return SAFECAM_ERR_IO;
    }
    *out = fd;
    return 0;
}

static int listen_sockets_open(void)
{
    for (size_t i = 0; separated && i < N_CHILDREN; i++) {
        struct child *c = &children[i];
        long port = c->peer == IPC_PEER_WEB ? opts.https_port : c->peer == IPC_PEER_MEDIA ? opts.rtsps_port : 0;
        if (port && c->enabled && listen_socket_open(opts.bind, port, &c->listen_fd) != 0)
            return 1;
    }
    return 0;
}

/* The children, one per row of the child table; as root each gets its row's user (the walls). */
static int children_init(void)
{
    const struct supervisor_row *rows = NULL;
    if (supervisor_rows(&rows) != N_CHILDREN) {
        fprintf(stderr, "safecamd: the child table has an unexpected number of rows\n");
        return 1;
    }
    separated = geteuid() == 0;
    for (size_t i = 0; i < N_CHILDREN; i++) {
        struct child *c = &children[i];
        *c = (struct child){.row = &rows[i], .name = rows[i].role, .exe_name = rows[i].exe_name,
                            .peer = rows[i].peer, .enabled = 1, .pid = -1, .fd = -1, .listen_fd = -1};
        supervisor_restart_init(&c->restart);
        if (separated && supervisor_row_ids(c->row, &c->uid, &c->gid) != 0) {
            fprintf(stderr, "safecamd: user %s is missing or unfit (create the camera's users with "
                            "scripts/create-users, or install the package)\n", c->row->user);
            return 1;
        }
    }
    return 0;
}

/* What provisioning must have made, then the state directory's ownership (repaired as root, checked
 * otherwise; a camera from before the walls is migrated). */
static int state_dir_walls(void)
{
    /* provisioning first (vault.db may still be where a camera from before the walls kept it) */
    const char *needed[] = {STATEDIR_DEVICE_JSON, STATEDIR_STORAGE_KEY, STATEDIR_TLS_CERT, STATEDIR_TLS_KEY_SEALED,
                            STATEDIR_VAULT_DB};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(needed); i++) {
        char p[PATH_MAX], legacy[PATH_MAX];
        int missing = safecam_path_join(p, sizeof p, opts.state_dir, needed[i]) != 0 || access(p, R_OK) != 0;
        if (missing && strcmp(needed[i], STATEDIR_VAULT_DB) == 0)
            missing = safecam_path_join(legacy, sizeof legacy, opts.state_dir, STATEDIR_LEGACY_VAULT_DB) != 0 ||
                      access(legacy, R_OK) != 0;
        if (missing) {
            fprintf(stderr, "safecamd: state dir %s is not provisioned (missing %s; run safecam-provision)\n",
                    opts.state_dir, needed[i]);
            return 1;
        }
    }
    if (statedir_walls_apply(opts.state_dir, separated) != 0) {
        fprintf(stderr, "safecamd: the state dir %s does not have the ownership and modes the walls need "
                        "(see the line above)\n", opts.state_dir);
        return 1;
    }
    if (separated)
        log_info("privilege separation: each child runs as its own user (safecam-vault, safecam-web, "
                 "safecam-media, safecam-update) with seccomp and Landlock");
    else
        log_warn("not started as root: running without privilege separation (every child shares uid %u; "
                 "seccomp, Landlock and no_new_privs still apply)", (unsigned)geteuid());
    return 0;
}

static void audit_note(const char *type, const char *detail)
{
    if (!audit)
        return;
    if (audit_event_record(audit, type, "supervisor", NULL, detail) != 0)
        log_warn("audit: cannot record %s", type);
}

/* Update slot events (boot selection, rollback, health check passed) as audit events. */
static void update_event_note(void *ctx, const char *type, const char *detail)
{
    (void)ctx;
    char line[AUDIT_DETAIL_MAX_BYTES];
    const char *atype = audit_type_valid(type) ? type : AUDIT_UPDATE_INSTALL;
    if (safecam_fmt(line, sizeof line, "%s%s%s", audit_type_valid(type) ? "" : type,
                    audit_type_valid(type) ? "" : ": ", detail ? detail : "") != 0)
        line[0] = '\0';
    log_info("update: %s %s", type, detail ? detail : "");
    audit_note(atype, line);
}

/* ---- child processes ---- */

static struct child *child_by_peer(unsigned peer)
{
    for (size_t i = 0; i < N_CHILDREN; i++)
        if (children[i].peer == peer)
            return &children[i];
    return NULL;
}

static int child_running(const struct child *c)
{
    return c->pid > 0 && c->fd >= 0;
}

/* Environment for children: an allowlist, nothing else inherited. */
static char **child_env_build(void)
{
    static const char *const keep[] = {"PATH=", "LANG=", "TZ=", "ASAN_OPTIONS=", "UBSAN_OPTIONS=",
                                       "LSAN_OPTIONS=", "SAFECAM_", "GST_", "G_MESSAGES_DEBUG=",
                                       "G_TLS_GNUTLS_PRIORITY=", "XDG_RUNTIME_DIR="};
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (char **e = environ; *e; e++)
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(keep); i++)
            if (strncmp(*e, keep[i], strlen(keep[i])) == 0) {
                env[k++] = *e;
                break;
            }
    env[k] = NULL;
    return env;
}

static int child_argv_build(const struct child *c, char *argv[16], char bufs[4][PATH_MAX + 32])
{
    int n = 0;
    if (safecam_path_join(bufs[0], sizeof bufs[0], exe_dir, c->exe_name) != 0)
        return -1;
    argv[n++] = bufs[0];
    argv[n++] = (char *)"--state-dir";
    argv[n++] = opts.state_dir;
    argv[n++] = (char *)"--ipc-fd";
    argv[n++] = (char *)"3";
    if (c->peer == IPC_PEER_WEB) {
        if (safecam_fmt(bufs[1], sizeof bufs[1], "%ld", opts.https_port) != 0)
            return -1;
        argv[n++] = (char *)"--bind";
        argv[n++] = opts.bind;
        argv[n++] = (char *)"--https-port";
        argv[n++] = bufs[1];
        if (opts.ui_dir[0]) {
            argv[n++] = (char *)"--ui-dir";
            argv[n++] = opts.ui_dir;
        }
    } else if (c->peer == IPC_PEER_MEDIA) {
        if (safecam_fmt(bufs[1], sizeof bufs[1], "%ld", opts.rtsps_port) != 0)
            return -1;
        argv[n++] = (char *)"--bind";
        argv[n++] = opts.bind;
        argv[n++] = (char *)"--rtsps-port";
        argv[n++] = bufs[1];
        argv[n++] = (char *)"--source";
        argv[n++] = opts.source;
    }
    if (c->listen_fd >= 0) {
        argv[n++] = (char *)"--listen-fd";
        argv[n++] = (char *)LISTEN_FD_ARG;
    }
    argv[n] = NULL;
    return 0;
}

static int send_channel(struct child *to, unsigned peer, int fd)
{
    json_t *body = json_pack("{s:s}", "peer", ipc_peer_name(peer));
    if (!body)
        return SAFECAM_ERR_NOMEM;
    int rc = ipc_send(to->fd, PROTO_SUP_CHANNEL, 0, next_msg_id++, body, fd);
    json_decref(body);
    return rc;
}

/* Give a freshly started child a new channel to each running peer its row links it to. */
static void child_links_wire(struct child *c)
{
    for (size_t i = 0; i < N_CHILDREN; i++) {
        struct child *other = &children[i];
        if (other == c || !(c->row->links & other->peer) || !child_running(other))
            continue;
        int sv[2];
        if (ipc_channel_pair(sv) != 0) {
            log_err("socketpair failed: %s", strerror(errno));
            continue;
        }
        int rc1 = send_channel(c, other->peer, sv[0]);
        int rc2 = send_channel(other, c->peer, sv[1]);
        if (rc1 != 0 || rc2 != 0)
            log_warn("could not wire %s <-> %s", c->name, other->name);
        close(sv[0]);
        close(sv[1]);
    }
}

static void child_config_push(struct child *c)
{
    if (c->peer != IPC_PEER_MEDIA || !child_running(c))
        return;
    json_t *stream = config_stream_to_json(&config.stream);
    json_t *body = stream ? json_pack("{s:o}", "stream", stream) : NULL;
    if (!body)
        return;
    if (ipc_send(c->fd, PROTO_SUP_MEDIA_APPLY, 0, next_msg_id++, body, -1) != 0)
        log_warn("could not send stream settings to media");
    json_decref(body);
}

static int child_start(struct child *c)
{
    int sv[2];
    if (ipc_channel_pair(sv) != 0)
        return SAFECAM_ERR_IO;
    char *argv[16];
    char bufs[4][PATH_MAX + 32];
    char **env = child_env_build();
    if (!env || child_argv_build(c, argv, bufs) != 0) {
        free(env);
        close(sv[0]);
        close(sv[1]);
        return SAFECAM_ERR_INTERNAL;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        free(env);
        close(sv[0]);
        close(sv[1]);
        return SAFECAM_ERR_IO;
    }
    if (pid == 0) {
        /* Child: channel on fd 3, stdin from /dev/null, every other descriptor closed. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        if (dup2(sv[1], CHILD_FD) < 0)
            _exit(127);
        /* the child must not outlive its supervisor (a killed supervisor leaves no orphan on a port) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        if (c->listen_fd >= 0 && dup2(c->listen_fd, LISTEN_FD) != LISTEN_FD)
            _exit(127);
        closefrom(c->listen_fd >= 0 ? LISTEN_FD + 1 : CHILD_FD + 1);
        /* its own user for good, before exec: the child raises the rest of its walls itself */
        if (separated && sandbox_identity_switch(c->uid, c->gid) != 0)
            _exit(127);
        execve(argv[0], argv, env);
        fprintf(stderr, "safecamd: cannot exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(env);
    close(sv[1]);
    c->pid = pid;
    c->fd = sv[0];
    supervisor_restart_started(&c->restart, safecam_time_mono_ms());
    supervisor_heartbeat_reset(&c->hb);
    log_info("started %s (pid %d)", c->name, (int)pid);
    child_links_wire(c);
    child_config_push(c);
    return 0;
}

/* A child went away (exit, signal, protocol violation or missed heartbeats): schedule its restart. */
static void child_down(struct child *c, const char *why)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    int delay = supervisor_restart_down(&c->restart, safecam_time_mono_ms());
    char detail[256];
    if (safecam_fmt(detail, sizeof detail, "%s %s; restart #%u in %d ms", c->name, why, c->restart.restarts,
                    delay) != 0)
        detail[0] = '\0';
    log_warn("%s", detail);
    audit_note(AUDIT_PROCESS_RESTART, detail);
}

static void child_kill(struct child *c, const char *why)
{
    if (c->pid > 0)
        kill(c->pid, SIGKILL);
    /* The reap in children_reap() finishes the bookkeeping; close the channel now. */
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    log_warn("killed %s: %s", c->name, why);
}

static void children_reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < N_CHILDREN; i++) {
            struct child *c = &children[i];
            if (c->pid != pid)
                continue;
            c->pid = -1;
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
                /* SECCOMP_RET_KILL_PROCESS: a call outside the row's allowlist (sandbox.h) */
                char detail[128];
                if (safecam_fmt(detail, sizeof detail, "process=%s killed by its syscall filter (SIGSYS)",
                                c->name) != 0)
                    detail[0] = '\0';
                log_err("%s", detail);
                audit_note(AUDIT_SANDBOX_VIOLATION, detail);
            }
            char why[64];
            int frc = WIFSIGNALED(status)
                          ? safecam_fmt(why, sizeof why, "killed by signal %d", WTERMSIG(status))
                          : safecam_fmt(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
            if (frc != 0)
                why[0] = '\0';
            child_down(c, why);
        }
    }
}

/* ---- messages from children ---- */

static int handle_media_config(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)reply_fd;
    json_t *stream = json_object_get(req->body, "stream");
    struct config next = config;
    struct config_error err;
    if (json_object_size(req->body) != 1 || config_stream_apply_json(&next.stream, stream, &err) != 0) {
        if (json_object_size(req->body) != 1 || !stream)
            *reply = json_pack("{s:s}", "error", "invalid_json");
        else if (strcmp(err.code, "invalid_setting") == 0)
            *reply = json_pack("{s:s,s:s,s:I,s:I}", "error", "invalid_setting", "field", err.field, "min",
                               (json_int_t)err.min, "max", (json_int_t)err.max);
        else
            *reply = json_pack("{s:s,s:s}", "error", err.code, "field", err.field);
        return 0;
    }
    if (config_save(opts.state_dir, &next) != 0) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    config = next;
    child_config_push(child_by_peer(IPC_PEER_MEDIA));
    *reply = json_pack("{s:b,s:o}", "ok", 1, "stream", config_stream_to_json(&config.stream));
    return 0;
}

static int handle_privacy_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "privacy", config_privacy_to_json(&config.privacy));
    return 0;
}

static int handle_privacy_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)reply_fd;
    json_t *in = json_object_get(req->body, "privacy");
    struct config next = config;
    struct config_error err;
    if (json_object_size(req->body) != 1 || !json_is_object(in) || json_object_get(in, "acknowledged_at")) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    if (config_privacy_apply_json(&next.privacy, in, safecam_time_now(), &err) != 0) {
        *reply = json_pack("{s:s,s:s}", "error", err.code, "field", err.field);
        return 0;
    }
    if (config_save(opts.state_dir, &next) != 0) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    config = next;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "privacy", config_privacy_to_json(&config.privacy));
    return 0;
}

/* The online update settings as the API shows them: no CA path, no bundle cap (provisioning only). */
static json_t *update_settings_json(void)
{
    char ca[PATH_MAX];
    int have_ca = (config.update.ca_file[0]
                       ? safecam_strlcpy(ca, config.update.ca_file, sizeof ca)
                       : safecam_path_join(ca, sizeof ca, opts.state_dir, CONFIG_UPDATE_CA_DEFAULT)) == 0 &&
                  access(ca, R_OK) == 0;
    return json_pack("{s:b,s:s,s:b,s:I,s:b}", "online_enabled", config.update.online_enabled, "server_url",
                     config.update.server_url, "auto_install", config.update.auto_install, "check_interval_s",
                     (json_int_t)config.update.check_interval_s, "ca_installed", have_ca);
}

static int handle_update_config_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "update", update_settings_json());
    return 0;
}

/* web -> sup: online_enabled, server_url, auto_install, check_interval_s (QCVN 135 G3 / EN 303 645 5.3-4).
 * The CA file and the bundle cap are provisioning-only; a refusal changes nothing. */
static int handle_update_config_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)reply_fd;
    static const char *const settable[] = {"online_enabled", "server_url", "auto_install", "check_interval_s"};
    json_t *in = json_object_get(req->body, "update");
    struct config next = config;
    struct config_error err;
    if (json_object_size(req->body) != 1 || !json_is_object(in)) {
        *reply = json_pack("{s:s}", "error", "invalid_json");
        return 0;
    }
    const char *key;
    json_t *val;
    json_object_foreach(in, key, val) {
        int ok = 0;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(settable); i++)
            ok |= strcmp(key, settable[i]) == 0;
        if (!ok) {
            *reply = json_pack("{s:s,s:s}", "error", "unknown_field", "field", key);
            return 0;
        }
    }
    if (config_update_apply_json(&next.update, in, &err) != 0) {
        if (strcmp(err.code, "invalid_setting") == 0 && err.max > err.min)
            *reply = json_pack("{s:s,s:s,s:I,s:I}", "error", err.code, "field", err.field, "min",
                               (json_int_t)err.min, "max", (json_int_t)err.max);
        else
            *reply = json_pack("{s:s,s:s}", "error", err.code, "field", err.field);
        return 0;
    }
    if (next.update.online_enabled) {
        char ca[PATH_MAX];
        int rc = next.update.ca_file[0]
                     ? safecam_strlcpy(ca, next.update.ca_file, sizeof ca)
                     : safecam_path_join(ca, sizeof ca, opts.state_dir, CONFIG_UPDATE_CA_DEFAULT);
        if (rc != 0 || access(ca, R_OK) != 0) {
            *reply = json_pack("{s:s}", "error", "ca_not_installed");
            return 0;
        }
    }
    if (config_save(opts.state_dir, &next) != 0) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    config = next;
    *reply = json_pack("{s:b,s:o}", "ok", 1, "update", update_settings_json());
    return 0;
}

static int reboot_requested;

/* The update process installed a new slot: restart everything so the new slot boots and is counted. */
static int handle_reboot(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)req;
    (void)reply_fd;
    reboot_requested = 1;
    audit_note(AUDIT_UPDATE_INSTALL, "restarting to boot the new slot");
    *reply = json_pack("{s:b}", "ok", 1);
    return 0;
}

/* Factory reset (QCVN 135 G9): answered now, carried out a moment later (so web can send its 202) with
 * every child stopped: vault_factory_reset(), then a restart. */
#define FACTORY_RESET_DELAY_MS 1000
static int64_t factory_reset_at_ms;
static char factory_reset_actor[AUDIT_FIELD_MAX_BYTES], factory_reset_source[AUDIT_FIELD_MAX_BYTES];

static int handle_factory_reset(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)ctx;
    (void)peer;
    (void)reply_fd;
    json_t *a = json_object_get(req->body, "actor"), *s = json_object_get(req->body, "source");
    if (json_object_size(req->body) != 2 || !json_is_string(a) || !json_is_string(s) ||
        safecam_strlcpy(factory_reset_actor, json_string_value(a), sizeof factory_reset_actor) != 0 ||
        safecam_strlcpy(factory_reset_source, json_string_value(s), sizeof factory_reset_source) != 0) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    if (!factory_reset_at_ms) {
        factory_reset_at_ms = safecam_time_mono_ms() + FACTORY_RESET_DELAY_MS;
        log_warn("factory reset requested by %s from %s", factory_reset_actor, factory_reset_source);
        audit_note(AUDIT_FACTORY_RESET, "requested: erasing everything and restarting");
    }
    *reply = json_pack("{s:b}", "ok", 1);
    return 0;
}

static const struct ipc_route supervisor_routes[] = {
    {PROTO_SUP_FACTORY_RESET, IPC_PEER_WEB, handle_factory_reset},
    {PROTO_SUP_MEDIA_CONFIG, IPC_PEER_WEB, handle_media_config},
    {PROTO_SUP_REBOOT, IPC_PEER_UPDATE, handle_reboot},
    {PROTO_SUP_PRIVACY_GET, IPC_PEER_WEB, handle_privacy_get},
    {PROTO_SUP_PRIVACY_SET, IPC_PEER_WEB, handle_privacy_set},
    {PROTO_SUP_UPDATE_CONFIG_GET, IPC_PEER_WEB, handle_update_config_get},
    {PROTO_SUP_UPDATE_CONFIG_SET, IPC_PEER_WEB, handle_update_config_set},
};

static void child_readable(struct child *c)
{
    ipc_msg msg;
    int rc = ipc_recv(c->fd, &msg, 0);
    if (rc == SAFECAM_ERR_TIMEOUT)
        return;
    if (rc != 0) {
        if (rc == SAFECAM_ERR_PROTO) {
            audit_note(AUDIT_PROTOCOL_VIOLATION, c->name);
            child_kill(c, "malformed message");
        } else {
            /* Channel closed: the child is exiting; SIGCHLD does the rest. */
            close(c->fd);
            c->fd = -1;
            if (c->pid > 0)
                kill(c->pid, SIGKILL);
        }
        return;
    }
    if (msg.flags & IPC_FLAG_REPLY) {
        if (msg.type == PROTO_SUP_HEARTBEAT)
            (void)supervisor_heartbeat_answer(&c->hb, msg.id);
        ipc_msg_clear(&msg);
        return;
    }
    rc = ipc_dispatch(supervisor_routes, SAFECAM_ARRAY_LEN(supervisor_routes), NULL, c->peer, c->fd, &msg);
    ipc_msg_clear(&msg);
    if (rc == SAFECAM_ERR_PROTO) {
        audit_note(AUDIT_PROTOCOL_VIOLATION, c->name);
        child_kill(c, "message type not allowed");
    } else if (rc == SAFECAM_ERR_TIMEOUT) {
        audit_note(AUDIT_PROTOCOL_VIOLATION, c->name);
        child_kill(c, "does not read its replies");
    } else if (rc != 0) {
        child_kill(c, "channel error");
    }
}

static void heartbeats_send(void)
{
    for (size_t i = 0; i < N_CHILDREN; i++) {
        struct child *c = &children[i];
        if (!child_running(c))
            continue;
        switch (supervisor_heartbeat_tick(&c->hb, next_msg_id)) {
        case SUPERVISOR_HEARTBEAT_KILL:
            child_kill(c, "missed heartbeats");
            break;
        case SUPERVISOR_HEARTBEAT_SEND:
            next_msg_id++;
            if (ipc_send(c->fd, PROTO_SUP_HEARTBEAT, 0, c->hb.id, NULL, -1) != 0)
                child_kill(c, "heartbeat send failed");
            break;
        case SUPERVISOR_HEARTBEAT_WAIT:
            break;
        }
    }
}

/* systemd watchdog / readiness (sd_notify protocol), only when NOTIFY_SOCKET is set.
 * The watchdog is fed only while every enabled child answers its heartbeat. */
static void sd_notify_send(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@'))
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

static int all_children_healthy(void)
{
    for (size_t i = 0; i < N_CHILDREN; i++)
        if (children[i].enabled &&
            (!child_running(&children[i]) || !supervisor_heartbeat_healthy(&children[i].hb)))
            return 0;
    return 1;
}

static void shutdown_children(void)
{
    for (size_t i = N_CHILDREN; i-- > 0;) {
        struct child *c = &children[i];
        if (child_running(c) && ipc_send(c->fd, PROTO_SUP_SHUTDOWN, 0, next_msg_id++, NULL, -1) != 0)
            kill(c->pid, SIGTERM);
        else if (c->pid > 0)
            kill(c->pid, SIGTERM);
    }
    int64_t deadline = safecam_time_mono_ms() + SHUTDOWN_GRACE_MS;
    for (;;) {
        int alive = 0;
        for (size_t i = 0; i < N_CHILDREN; i++) {
            struct child *c = &children[i];
            if (c->pid > 0) {
                if (waitpid(c->pid, NULL, WNOHANG) == c->pid)
                    c->pid = -1;
                else
                    alive++;
            }
        }
        if (!alive)
            break;
        if (safecam_time_mono_ms() > deadline) {
            for (size_t i = 0; i < N_CHILDREN; i++)
                if (children[i].pid > 0) {
                    kill(children[i].pid, SIGKILL);
                    waitpid(children[i].pid, NULL, 0);
                    children[i].pid = -1;
                }
            break;
        }
        usleep(20000);
    }
    for (size_t i = 0; i < N_CHILDREN; i++)
        if (children[i].fd >= 0) {
            close(children[i].fd);
            children[i].fd = -1;
        }
}

static int exe_dir_find(void)
{
    const char *env = getenv(BOOT_ENV_LIBEXEC);
    if (env && *env)
        return safecam_strlcpy(exe_dir, env, sizeof exe_dir);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return SAFECAM_ERR_IO;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return SAFECAM_ERR_IO;
    *slash = '\0';
    return safecam_strlcpy(exe_dir, self, sizeof exe_dir);
}

/* ---- the PC boot chain (lib/boot): A/B slot choice, verified boot, the boot watchdog ---- */

static void boot_audit_note(void *ctx, const char *type, const char *detail)
{
    (void)ctx;
    audit_note(type, detail);
}

int main(int argc, char **argv)
{
    safecam_log_init("safecamd", SAFECAM_LOG_INFO);
    int rc = options_parse(argc, argv);
    if (rc != 0)
        return rc;
    if (state_dir_check() != 0 || children_init() != 0)
        return 1;
    if (exe_dir_find() != 0) {
        fprintf(stderr, "safecamd: cannot locate the helper executables\n");
        return 1;
    }
    for (size_t i = 0; i < N_CHILDREN; i++) {
        char p[PATH_MAX];
        if (children[i].peer == IPC_PEER_MEDIA && opts.no_media) {
            children[i].enabled = 0;
            continue;
        }
        if (safecam_path_join(p, sizeof p, exe_dir, children[i].exe_name) != 0 || access(p, X_OK) != 0) {
            if (children[i].peer == IPC_PEER_MEDIA || children[i].peer == IPC_PEER_UPDATE) {
                log_warn("%s not found: running without it", children[i].exe_name);
                children[i].enabled = 0;
                continue;
            }
            fprintf(stderr, "safecamd: missing helper executable %s\n", p);
            return 1;
        }
    }
    if (vault_factory_reset_pending(opts.state_dir)) {
        /* A factory reset was cut short (power loss): finish it before anything reads the old state. */
        log_warn("an interrupted factory reset is being finished");
        if (vault_factory_reset(opts.state_dir, NULL, NULL) != 0) {
            fprintf(stderr, "safecamd: the interrupted factory reset cannot be finished\n");
            return 1;
        }
    }
    if (state_dir_walls() != 0)
        return 1;
    if (config_load(opts.state_dir, &config) != 0)
        log_warn("config.json and its last-good copy are invalid: using defaults");

    char audit_path[PATH_MAX];
    if (safecam_path_join(audit_path, sizeof audit_path, opts.state_dir, STATEDIR_AUDIT_DB) != 0 ||
        audit_log_open(audit_path, &audit) != 0) {
        fprintf(stderr, "safecamd: cannot open the audit log in %s\n", opts.state_dir);
        return 1;
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        fprintf(stderr, "safecamd: signalfd: %s\n", strerror(errno));
        return 1;
    }

    /* A/B slots: count this start against a freshly installed slot, roll back when it never became
     * healthy (QCVN 135 G3 / EN 303 645 5.3-x); run a slot's own image when it has one. The slot is
     * marked good once every child answers. */
    const struct boot_config boot = {
        .state_dir = opts.state_dir,
        .boot_timeout_s = opts.boot_timeout_s,
        .argv = argv,
        .mask = &mask,
        .signal_fd = sfd,
        .event = update_event_note,
        .note = boot_audit_note,
    };
    struct boot_result booted;
    if (boot_chain_run(&boot, &booted) == 0 && booted.exit_now)
        exit(booted.exit_status); /* a slot image stopped for good */
    int slot_image = getenv(BOOT_ENV_SLOT) != NULL;
    if (listen_sockets_open() != 0) {
        fprintf(stderr, "safecamd: cannot listen on the HTTPS or RTSPS port (see the line above)\n");
        return 1;
    }
    audit_note(AUDIT_DEVICE_START, slot_image ? "safecamd " SAFECAM_VERSION " (slot image)" : "safecamd " SAFECAM_VERSION);
    int slot_marked_good = 0;
    log_info("safecamd %s: state %s, https %s:%ld, rtsps %s:%ld, source %s", SAFECAM_VERSION, opts.state_dir,
             opts.bind, opts.https_port, opts.bind, opts.rtsps_port, opts.source);

    int64_t next_hb = safecam_time_mono_ms() + HEARTBEAT_INTERVAL_MS;
    int ready_sent = 0;
    int stop = 0;
    while (!stop && !reboot_requested) {
        int64_t now = safecam_time_mono_ms();
        if (factory_reset_at_ms && now >= factory_reset_at_ms)
            break;
        /* Start what is due: vault first (the others depend on it), in table order. */
        for (size_t i = 0; i < N_CHILDREN; i++) {
            struct child *c = &children[i];
            if (c->enabled && c->pid < 0 && supervisor_restart_due(&c->restart, now)) {
                if (child_start(c) != 0) {
                    log_err("cannot start %s", c->name);
                    supervisor_restart_retry(&c->restart, now);
                }
            }
        }
        if (now >= next_hb) {
            heartbeats_send();
            if (all_children_healthy()) {
                if (!ready_sent) {
                    sd_notify_send("READY=1");
                    ready_sent = 1;
                }
                if (!slot_marked_good) {
                    int mrc = update_boot_mark_good(opts.state_dir, update_event_note, NULL);
                    if (mrc == SAFECAM_ERR_STATE) {
                        /* an install holds the update lock: try again next round */
                    } else {
                        if (mrc != 0)
                            log_warn("update: cannot mark the running slot good: %s", safecam_err_name(mrc));
                        slot_marked_good = 1;
                    }
                }
                sd_notify_send("WATCHDOG=1");
            }
            next_hb = now + HEARTBEAT_INTERVAL_MS;
        }

        struct pollfd pfds[1 + N_CHILDREN];
        struct child *owners[1 + N_CHILDREN];
        nfds_t n = 0;
        pfds[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
        owners[n++] = NULL;
        int64_t wake = next_hb;
        if (factory_reset_at_ms && factory_reset_at_ms < wake)
            wake = factory_reset_at_ms;
        for (size_t i = 0; i < N_CHILDREN; i++) {
            struct child *c = &children[i];
            if (c->fd >= 0) {
                pfds[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
                owners[n++] = c;
            }
            if (c->enabled && c->pid < 0 && c->restart.next_start_ms < wake)
                wake = c->restart.next_start_ms;
        }
        int timeout = (int)(wake - safecam_time_mono_ms());
        if (timeout < 0)
            timeout = 0;
        int pr = poll(pfds, n, timeout);
        if (pr < 0 && errno != EINTR) {
            log_err("poll: %s", strerror(errno));
            break;
        }
        if (pr <= 0)
            continue;
        if (pfds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    children_reap();
                else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                    stop = 1;
            }
        }
        for (nfds_t k = 1; k < n; k++) {
            if (owners[k]->fd == pfds[k].fd && (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                child_readable(owners[k]);
        }
    }
    int factory_reset = !stop && !reboot_requested && factory_reset_at_ms;
    log_info(factory_reset ? "factory reset: stopping every process" :
             reboot_requested ? "restarting for the new slot" : "stopping");
    sd_notify_send(reboot_requested || factory_reset ? "RELOADING=1" : "STOPPING=1");
    shutdown_children();
    audit_log_close(audit);
    audit = NULL;
    close(sfd);
    if (factory_reset) {
        /* With every child stopped nothing holds vault.db or audit.db open. A failure leaves the pending
         * marker: the restart below tries again before anything else starts. */
        if (vault_factory_reset(opts.state_dir, factory_reset_actor, factory_reset_source) == 0)
            log_warn("factory reset done: restarting with the initial password");
        reboot_requested = 1;
    }
    if (reboot_requested && slot_image) {
        /* A slot image: its boot loader chooses the slot again. */
        return BOOT_EXIT_REBOOT;
    }
    if (reboot_requested) {
        /* The "reboot" of this PC build: exec ourselves again with the same arguments. */
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        char self[PATH_MAX];
        if (safecam_path_join(self, sizeof self, exe_dir, "safecamd") == 0)
            execv(self, argv);
        log_err("cannot re-exec safecamd: %s", strerror(errno));
        return 1;
    }
    return 0;
}
