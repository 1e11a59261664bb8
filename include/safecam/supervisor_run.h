/* supervisor_run.h — the running supervisor (safecamd): its options, its children (one per row of the child
 * table, sandbox.h) and the settings it keeps for them. daemon/safecamd.c is the wiring: it parses the
 * options, runs the boot chain and turns the loop; everything it calls is here (lib/supervisor/
 * options.c, children.c, settings.c). Single-threaded: one struct supervisor, used only by the loop.
 * QCVN 135 G8 (self-recovery) / EN 303 645 5.9-1; the walls: QCVN 135 G5 / EN 303 645 5.6-x. */
#ifndef SAFECAM_SUPERVISOR_RUN_H
#define SAFECAM_SUPERVISOR_RUN_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "safecam/audit.h"
#include "safecam/config.h"
#include "safecam/ipc.h"
#include "safecam/sandbox.h"
#include "safecam/supervisor.h"

#define SUPERVISOR_HEARTBEAT_INTERVAL_MS 2000
#define SUPERVISOR_SHUTDOWN_GRACE_MS 5000      /* SHUTDOWN, then SIGTERM, then SIGKILL after this */
#define SUPERVISOR_BOOT_TIMEOUT_DEFAULT_S 120  /* a new slot image must pass its health check within this */
#define SUPERVISOR_FACTORY_RESET_DELAY_MS 1000 /* web sends its 202 before every child stops */
#define SUPERVISOR_CHILDREN 6u                 /* rows of the child table */
#define SUPERVISOR_CHILD_FD 3                  /* a child's channel to the supervisor */
#define SUPERVISOR_LISTEN_FD 4                 /* web, media: the listening socket handed down */
#define SUPERVISOR_RENEW_MIN_MS 100   /* PROTO_SUP_CHANNEL_RENEW: the first gap between re-pairs of one child, */
#define SUPERVISOR_RENEW_MAX_MS 5000  /* doubling up to this while renewals follow each other, */
#define SUPERVISOR_RENEW_QUIET_MS 10000 /* back to the minimum after this long without one */

/* ---- options (lib/supervisor/options.c) ---- */

struct supervisor_options {
    char state_dir[PATH_MAX];
    char bind[64];               /* an IP address literal, never a name */
    char source[PATH_MAX + 16];  /* testsrc | file:PATH | v4l2:/dev/videoN */
    char ui_dir[PATH_MAX];       /* "" = web's default */
    long https_port, rtsps_port; /* 1-65535, different */
    long boot_timeout_s;         /* 5-3600 */
    int no_media;
    int rtsp_digest; /* --rtsp-digest / config "rtsp_digest": media offers RTSP Digest (integration accounts) */
};

enum supervisor_options_result {
    SUPERVISOR_OPTIONS_OK = 0,
    SUPERVISOR_OPTIONS_HELP = 1,  /* --help: usage printed on stdout; exit 0 */
    SUPERVISOR_OPTIONS_USAGE = 2, /* bad input: one line on stderr said what; exit 2 */
};

/* Parse safecamd's command line into *out (--config FILE first, then the command line over it).
 * Returns an enum supervisor_options_result. Reads the config file and checks a file: source is readable;
 * writes nothing. */
int supervisor_options_parse(int argc, char **argv, struct supervisor_options *out);
void supervisor_options_usage(FILE *f);

/* ---- the children (lib/supervisor/children.c) ---- */

struct supervisor_child {
    const struct supervisor_row *row; /* its row in the child table (role, user, peers, walls) */
    const char *name;                 /* row->role: "vault", "web", "media", "update" */
    int enabled;
    int available; /* its executable was found (discovery: started only when the settings ask) */
    uid_t uid; /* the row's user when the supervisor runs as root */
    gid_t gid;
    pid_t pid;     /* -1 when not running */
    int fd;        /* supervisor end of the child's channel, -1 when down */
    int listen_fd; /* web, media: the listening socket the supervisor bound for it, or -1 */
    struct supervisor_restart restart;
    struct supervisor_heartbeat hb;
    int64_t renew_at_ms; /* monotonic time of the last PROTO_SUP_CHANNEL_RENEW served, 0 = none */
    int renew_gap_ms;    /* the least time before the next one is served (SUPERVISOR_RENEW_MIN_MS..MAX_MS) */
};

/* Audit events the supervisor sends the vault (the one writer of the chained log, docs/audit.md); kept
 * while the vault is down (at start, during its restart), oldest dropped beyond the bound and counted. */
#define SUPERVISOR_AUDIT_QUEUE_MAX 64u
struct supervisor_audit_item {
    char type[32];
    char detail[AUDIT_FIELD_MAX_BYTES];
};

struct supervisor {
    struct supervisor_options opts;
    char exe_dir[PATH_MAX]; /* where safecam-vault, ... are */
    int separated;          /* started as root: every child under its own user (the walls) */
    struct supervisor_child children[SUPERVISOR_CHILDREN]; /* table order: vault first */
    struct supervisor_audit_item audit_queue[SUPERVISOR_AUDIT_QUEUE_MAX]; /* not yet sent to the vault */
    unsigned audit_queued, audit_dropped;
    struct config config; /* the settings web may change through the supervisor (settings.c) */
    uint32_t next_msg_id;
    int reboot_requested;        /* update installed a slot, or a factory reset finished */
    int64_t factory_reset_at_ms; /* 0, or when the requested factory reset starts (monotonic) */
    char factory_reset_actor[AUDIT_FIELD_MAX_BYTES], factory_reset_source[AUDIT_FIELD_MAX_BYTES];
};

/* One child per table row; as root each gets its row's user and group (missing user: one line, 1).
 * Finds the helper executables (SAFECAM_LIBEXEC or safecamd's own directory); media and update are
 * optional (a warning, then disabled), vault and web are required. Returns 0 or 1 (line printed). */
int supervisor_children_init(struct supervisor *s);
/* As root: bind the HTTPS and RTSPS ports for web and media (handed down as fd 4), so a privileged port
 * works with no capability in the children and survives their restarts. 0, or an error code (logged). */
int supervisor_listen_open(struct supervisor *s);
/* Start every enabled child that is down and whose back-off has passed, in table order. */
void supervisor_children_start_due(struct supervisor *s, int64_t now_ms);
/* After SIGCHLD: reap, audit a seccomp kill as sandbox_violation, schedule restarts. */
void supervisor_children_reap(struct supervisor *s);
/* A child's channel is readable: a heartbeat reply, or a request dispatched to settings.c's routes.
 * A malformed or unallowed message kills the child (audited as protocol_violation). */
void supervisor_child_readable(struct supervisor *s, struct supervisor_child *c);
/* One heartbeat interval: send, wait, or kill a hung child. */
void supervisor_heartbeats_tick(struct supervisor *s);
/* Every enabled child running and answering its heartbeat. */
int supervisor_children_healthy(const struct supervisor *s);
/* SHUTDOWN to each (reverse table order), SIGKILL after SUPERVISOR_SHUTDOWN_GRACE_MS; channels closed. */
void supervisor_children_shutdown(struct supervisor *s);
/* Start or stop the WS-Discovery child after the ONVIF settings changed (or were loaded): it runs only while
 * config.onvif.enabled and .discovery are both on and its executable exists. Turning it off sends it
 * PROTO_SUP_SHUTDOWN at once (it says Bye and exits; not restarted). docs/onvif.md "WS-Discovery".
 * QCVN 135 G6 / EN 303 645 5.6-1 (off by default). */
void supervisor_discovery_apply(struct supervisor *s);
/* Start or stop the link child (safecam-link) after the vault said whether a linked service is configured
 * (PROTO_SUP_LINK_STATE): it runs only while one is and its user and executable exist. Turning it off sends it
 * PROTO_SUP_SHUTDOWN at once (not restarted). docs/linked-services.md. QCVN 135 G6 / EN 303 645 5.6-1. */
void supervisor_link_apply(struct supervisor *s, int configured);
/* Send the current stream settings to media, when it runs. */
void supervisor_media_config_push(struct supervisor *s);
/* An audit event with actor "supervisor", sent to the vault over its channel (PROTO_VAULT_AUDIT_RECORD): at
 * once when the vault runs, else queued (SUPERVISOR_AUDIT_QUEUE_MAX) and sent when it starts. */
void supervisor_audit_note(struct supervisor *s, const char *type, const char *detail);
/* sd_notify(3)'s datagram to $NOTIFY_SOCKET ("READY=1", "WATCHDOG=1", ...); nothing when unset. */
void supervisor_notify(const char *msg);

/* ---- settings kept by the supervisor (lib/supervisor/settings.c) ---- */

/* The requests children may send the supervisor: stream, privacy and online-update settings, factory reset
 * (from web), reboot (from update). ctx is the struct supervisor. Every setting is validated by lib/config
 * all-or-nothing and saved before it is answered; a refusal changes nothing. */
extern const struct ipc_route supervisor_settings_routes[];

/* PROTO_SUP_CHANNEL_RENEW (lib/supervisor/children.c): the asking child (peer: IPC_PEER_WEB, _MEDIA or _UPDATE) lost
 * its channel to req's "peer"; a fresh pair goes to both sides when that peer runs and the child's row links
 * to it. ctx is the struct supervisor. Answers as include/safecam/proto.h says; returns 0 (or the error of
 * sending a channel, SAFECAM_ERR_IO / _CLOSED). QCVN 135 G8 / EN 303 645 5.9-1. */
int supervisor_channel_renew(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd);
extern const size_t supervisor_settings_routes_len;

#endif
