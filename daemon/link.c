/* link.c — safecam-link, the linked-service process (lib/link): wiring only. Two forms:
 * - supervised (--state-dir DIR --ipc-fd N): a child of safecamd with its own row in the child table (user
 *   safecam-link, seccomp, Landlock: lib/supervisor/child_table.c), started only while a linked service is
 *   configured. It asks the vault for the settings and their passwords over its vault channel
 *   (PROTO_VAULT_LINK_SETTINGS), takes new ones pushed by the vault (PROTO_LINK_CONFIGURE), the audit
 *   events the vault appends (PROTO_LINK_EVENT) and the finished recording segments, sealed (PROTO_LINK_UPLOAD;
 *   their clear copy is asked of the vault one at a time, PROTO_VAULT_RECORDING_DECRYPT), and keeps everything
 *   it was told in memory only; its
 *   directory DIR/link/ holds the admin's CA files and the list of what it uploaded (no secret).
 * - standalone (--standalone --dir DIR --device-id ID), driven by JSON lines on stdin and answering JSON
 * lines on stdout (tests/system/test_linked.py, bench/link_recovery.py):
 * {"cmd":"configure","settings":{...}},
 *   {"cmd":"event","event":{...}}, {"cmd":"upload","path","name"}, {"cmd":"delete"}, {"cmd":"stats"},
 *   {"cmd":"retention","now":T}. Audit events come out as {"audit":TYPE,"detail":...}.
 * Trust level: the vault channel is trusted for settings and events (the vault validated them; they are
 * validated again here); the services' answers are untrusted (lib/link). docs/linked-services.md.
 * QCVN 135 G7, G8, G9 / EN 303 645 5.5-1, 5.8-2, 5.9-1, 5.11-1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "safecam/audit.h"
#include "safecam/core.h"
#include "safecam/device.h"
#include "safecam/ipc_child.h"
#include "safecam/link.h"
#include "safecam/proto.h"
#include "safecam/record.h"
#include "safecam/sandbox.h"
#include "safecam/statedir.h"

#define LINE_MAX_BYTES (256 * 1024)

static void emit(json_t *o)
{
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!txt)
        return;
    fputs(txt, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(txt);
}

static void on_audit(void *user, const char *type, const char *detail)
{
    (void)user;
    emit(json_pack("{s:s,s:s}", "audit", type, "detail", detail));
}

static void handle(link_engine *e, const char *line, size_t len)
{
    json_error_t err;
    json_t *in = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    const char *cmd = json_string_value(json_object_get(in, "cmd"));
    if (!cmd) {
        emit(json_pack("{s:s}", "error", "bad_request"));
    } else if (strcmp(cmd, "configure") == 0) {
        char field[64];
        const json_t *s = json_object_get(in, "settings");
        if (link_settings_validate(s, field, sizeof field) != 0)
            emit(json_pack("{s:s,s:s}", "error", "invalid_setting", "field", field));
        else if (link_engine_configure(e, s) != 0)
            emit(json_pack("{s:s}", "error", "configure_failed"));
        else
            emit(json_pack("{s:b}", "ok", 1));
    } else if (strcmp(cmd, "event") == 0) {
        int rc = link_engine_event(e, json_object_get(in, "event"));
        emit(rc >= 0 ? json_pack("{s:b,s:i}", "ok", 1, "dropped", rc)
                     : json_pack("{s:s}", "error", "bad_event"));
    } else if (strcmp(cmd, "upload") == 0) {
        int rc = link_engine_upload(e, json_string_value(json_object_get(in, "path")),
                                    json_string_value(json_object_get(in, "name")));
        emit(rc >= 0 ? json_pack("{s:b,s:i}", "ok", 1, "dropped", rc)
                     : json_pack("{s:s}", "error", "bad_upload"));
    } else if (strcmp(cmd, "delete") == 0) {
        emit(json_pack("{s:o}", "deleted", link_engine_delete_all(e)));
    } else if (strcmp(cmd, "stats") == 0) {
        emit(json_pack("{s:o}", "stats", link_engine_stats(e)));
    } else if (strcmp(cmd, "retention") == 0) {
        json_int_t now = json_integer_value(json_object_get(in, "now"));
        emit(json_pack("{s:i}", "retention_deleted",
                       link_engine_retention_run(e, now ? now : safecam_time_now())));
    } else {
        emit(json_pack("{s:s}", "error", "unknown_cmd"));
    }
    if (in)
        sodium_memzero((void *)line, len); /* the settings line held passwords */
    json_decref(in);
}

/* ---- the supervised form ---- */

/* Every JSON value freed is wiped first: the passwords pass through jansson strings. */
static void *wipe_malloc(size_t size)
{
    return malloc(size);
}

static void wipe_free(void *p)
{
    if (!p)
        return;
    sodium_memzero(p, malloc_usable_size(p));
    free(p);
}

struct link_proc {
    link_engine *e;
    ipc_child *child;
    uint32_t next_id;
    uint32_t decrypt_id;                  /* the PROTO_VAULT_RECORDING_DECRYPT in flight (0 = none) */
    char decrypt_idhex[RECORD_ID_HEX + 1]; /* its segment */
    int configured;               /* settings were applied at least once */
    int64_t audit_window_ms;      /* start of the current minute of the audit budget (monotonic) */
    unsigned audit_in_window;     /* events recorded in it */
    unsigned long audit_withheld; /* events over the budget (or not handed over) since the last recorded */
};

/* The engine's events into the audit log (PROTO_VAULT_AUDIT_RECORD; the vault takes link_* types only from
 * this process). Best effort, never a wait (ipc_send_nowait), and at most LINK_AUDIT_PER_MIN a minute: a
 * broker that flaps must not push the security events out of the log's retention. Events withheld are
 * counted, and the count rides on the next event recorded ("withheld=N"). QCVN 135 G10 / EN 303 645 5.7. */
#define LINK_AUDIT_PER_MIN 12

static void on_engine_audit(void *user, const char *type, const char *detail)
{
    struct link_proc *p = user;
    int64_t now = safecam_time_mono_ms();
    if (p->audit_window_ms == 0 || now - p->audit_window_ms >= 60000) {
        p->audit_window_ms = now;
        p->audit_in_window = 0;
    }
    int fd = p->child ? ipc_child_fd(p->child, IPC_PEER_VAULT) : -1;
    if (fd < 0 || p->audit_in_window >= LINK_AUDIT_PER_MIN) {
        p->audit_withheld++;
        return;
    }
    char d[AUDIT_DETAIL_MAX_BYTES];
    int rc = p->audit_withheld ? safecam_fmt(d, sizeof d, "%s withheld=%lu", detail, p->audit_withheld)
                               : safecam_fmt(d, sizeof d, "%s", detail);
    json_t *body = rc == 0 ? json_pack("{s:s,s:s}", "type", type, "detail", d) : NULL;
    if (body && ipc_send_nowait(fd, PROTO_VAULT_AUDIT_RECORD, 0, p->next_id++, body, -1) == 0) {
        p->audit_in_window++;
        p->audit_withheld = 0;
    } else {
        p->audit_withheld++;
    }
    json_decref(body);
}

static int apply_settings(struct link_proc *p, const json_t *linked)
{
    char field[64];
    if (link_settings_validate(linked, field, sizeof field) != 0) {
        log_warn("link: the settings from the vault were refused (field %s)", field);
        return SAFECAM_ERR_INVAL;
    }
    int rc = link_engine_configure(p->e, linked);
    if (rc == 0) {
        p->configured = 1;
        log_info("link: settings applied (mqtt %s, webdav %s)",
                 json_object_get(json_object_get(linked, "mqtt"), "url") ? "on" : "off",
                 json_object_get(json_object_get(linked, "webdav"), "url") ? "on" : "off");
    }
    return rc;
}

/* vault -> link: new settings (with their passwords). */
static int h_configure(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    (void)reply_fd;
    const json_t *linked = json_object_get(req->body, "linked");
    if (json_object_size(req->body) != 1 || !json_is_object(linked)) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "linked");
        return 0;
    }
    *reply = apply_settings(ctx, linked) == 0 ? json_pack("{s:b}", "ok", 1)
                                              : json_pack("{s:s}", "error", "invalid_setting");
    return 0;
}

/* vault -> link: an audit event for the broker ({"type","time"}: nothing else is published). */
static int h_event(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct link_proc *p = ctx;
    (void)peer;
    (void)reply_fd;
    const json_t *ev = json_object_get(req->body, "event");
    const char *type = json_string_value(json_object_get(ev, "type"));
    const json_t *t = json_object_get(ev, "time");
    if (json_object_size(req->body) != 1 || json_object_size(ev) != 2 || !audit_type_valid(type) ||
        !json_is_integer(t) || json_integer_value(t) < 0) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "event");
        return 0;
    }
    json_t *out = json_pack("{s:s,s:O}", "type", type, "time", t);
    int rc = out ? link_engine_event(p->e, out) : SAFECAM_ERR_NOMEM;
    json_decref(out);
    *reply = rc >= 0 ? json_pack("{s:b}", "ok", 1) : json_pack("{s:s}", "error", "bad_event");
    return 0;
}

/* web -> link: delete everything uploaded and clear the retained messages (web checked the admin session
 * and CSRF, and audits it). -> {"ok":true,"removed":[...],"failed":[...]}. Runs to the end in this loop: each
 * WebDAV request and the broker's PUBACKs are bounded (lib/link). */
static int h_delete(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct link_proc *p = ctx;
    (void)peer;
    (void)reply_fd;
    if (json_object_size(req->body) != 0) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "body");
        return 0;
    }
    json_t *out = link_engine_delete_all(p->e);
    if (!out)
        return SAFECAM_ERR_NOMEM;
    json_object_set_new(out, "ok", json_true());
    *reply = out;
    return 0;
}

/* Queue what the vault handed over as <UTC time>_<kind>_<id>.<ext> (sorts by time in a folder listing): a sealed
 * segment (motion >= 0) or a capture in clear (motion < 0). Takes a copy of fd. -> link_queue_push's value or an
 * error. */
static int upload_queue(struct link_proc *p, time_t t, const char *kind, const char *id, const char *ext, int motion,
                        int fd)
{
    struct tm tm;
    char when[32], name[128];
    if (!gmtime_r(&t, &tm) || strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm) == 0 ||
        safecam_fmt(name, sizeof name, "%s_%s_%s.%s", when, kind, id, ext) != 0 ||
        (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
        return SAFECAM_ERR_INVAL;
    return motion >= 0 ? link_engine_upload_sealed(p->e, id, name, motion, fd) /* take fd */
                       : link_engine_upload_fd(p->e, name, fd);
}

/* vault -> link: a finished sealed segment from media, with its descriptor. Queued when webdav.upload wants it
 * (all, or motion and this is a motion segment); its clear copy is asked of the vault only at its turn. */
static int h_upload(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct link_proc *p = ctx;
    (void)peer;
    (void)reply_fd;
    const char *idhex = json_string_value(json_object_get(req->body, "id"));
    const json_t *start = json_object_get(req->body, "start_ms");
    const json_t *ev = json_object_get(req->body, "event");
    int motion = json_is_string(ev) && strcmp(json_string_value(ev), "motion") == 0;
    if (!idhex || strlen(idhex) != RECORD_ID_HEX || !json_is_integer(start) || json_integer_value(start) < 0 ||
        (ev && !json_is_null(ev) && !motion) || req->fd < 0) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "id");
        return 0;
    }
    int mode = link_engine_upload_mode(p->e);
    if (mode != LINK_UPLOAD_ALL && !(mode == LINK_UPLOAD_MOTION && motion)) {
        *reply = json_pack("{s:b,s:b}", "ok", 1, "queued", 0);
        return 0;
    }
    int rc = upload_queue(p, (time_t)(json_integer_value(start) / 1000), motion ? "motion" : "continuous", idhex,
                          "mp4", motion, req->fd);
    *reply = rc >= 0 ? json_pack("{s:b,s:b}", "ok", 1, "queued", 1)
                     : json_pack("{s:s,s:s}", "error", "invalid_request", "field", "id");
    return 0;
}

/* vault -> link: a capture an admin just stored (its JPEG in a memfd), for WebDAV unless uploads are off. */
static int h_upload_capture(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct link_proc *p = ctx;
    (void)peer;
    (void)reply_fd;
    const char *cid = json_string_value(json_object_get(req->body, "id"));
    const json_t *created = json_object_get(req->body, "created_at");
    if (!cid || strlen(cid) != 32 || strspn(cid, "0123456789abcdef") != 32 || !json_is_integer(created) ||
        json_integer_value(created) < 0 || req->fd < 0) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "id");
        return 0;
    }
    int mode = link_engine_upload_mode(p->e);
    if (mode < 0 || mode == LINK_UPLOAD_OFF) {
        *reply = json_pack("{s:b,s:b}", "ok", 1, "queued", 0);
        return 0;
    }
    int rc = upload_queue(p, (time_t)json_integer_value(created), "capture", cid, "jpg", -1, req->fd);
    *reply = json_pack("{s:b,s:b}", "ok", 1, "queued", rc >= 0);
    return 0;
}

/* The engine wants the clear copy of the sealed segment at the head of its queue: ask the vault, without a
 * wait (the answer comes to on_vault_reply). */
static int decrypt_ask(void *user, int sealed_fd, const char *idhex)
{
    struct link_proc *p = user;
    int fd = p->child ? ipc_child_fd(p->child, IPC_PEER_VAULT) : -1;
    json_t *body = fd >= 0 ? json_pack("{s:s}", "id", idhex) : NULL;
    uint32_t id = p->next_id++;
    int rc = !body ? SAFECAM_ERR_CLOSED : ipc_send_nowait(fd, PROTO_VAULT_RECORDING_DECRYPT, 0, id, body, sealed_fd);
    json_decref(body);
    if (rc == 0 && safecam_strlcpy(p->decrypt_idhex, idhex, sizeof p->decrypt_idhex) == 0)
        p->decrypt_id = id;
    return rc;
}

static const struct ipc_route web_routes[] = {
    {PROTO_LINK_DELETE, IPC_PEER_WEB, h_delete},
};

static const struct ipc_route vault_routes[] = {
    {PROTO_LINK_CONFIGURE, IPC_PEER_VAULT, h_configure},
    {PROTO_LINK_EVENT, IPC_PEER_VAULT, h_event},
    {PROTO_LINK_UPLOAD, IPC_PEER_VAULT, h_upload},
    {PROTO_LINK_UPLOAD_CAPTURE, IPC_PEER_VAULT, h_upload_capture},
};

/* The vault's answers: to PROTO_VAULT_LINK_SETTINGS, and to PROTO_VAULT_RECORDING_DECRYPT (a memfd, or a
 * refusal: the segment was deleted or damaged meanwhile; any other answer is left to the engine's re-ask). */
static void on_vault_reply(void *ctx, unsigned peer, ipc_msg *msg)
{
    struct link_proc *p = ctx;
    (void)peer;
    if (msg->type == PROTO_VAULT_RECORDING_DECRYPT) {
        /* matched by the segment the answer names, so a slow answer to an earlier ask still serves; the engine
         * ignores (and closes) one for a segment no longer asked for */
        const char *idhex = json_string_value(json_object_get(msg->body, "id"));
        const char *err = json_string_value(json_object_get(msg->body, "error"));
        if (!idhex)
            idhex = msg->id == p->decrypt_id ? p->decrypt_idhex : "";
        if (json_is_true(json_object_get(msg->body, "ok")) && msg->fd >= 0) {
            link_engine_upload_clear(p->e, idhex, msg->fd);
            msg->fd = -1; /* the engine's now */
        } else if (err && (strcmp(err, "sealed_mismatch") == 0 || strcmp(err, "invalid_request") == 0)) {
            link_engine_upload_clear(p->e, idhex, LINK_CLEAR_REFUSED);
        } else {
            log_debug("link: the vault did not decrypt a segment for upload yet (%s)", err ? err : "no descriptor");
            link_engine_upload_clear(p->e, idhex, LINK_CLEAR_RETRY);
        }
        return;
    }
    if (msg->type != PROTO_VAULT_LINK_SETTINGS)
        return;
    const json_t *linked = json_object_get(msg->body, "linked");
    if (!json_is_object(linked)) {
        const char *err = json_string_value(json_object_get(msg->body, "error"));
        log_warn("link: the vault did not give the settings (%s)", err ? err : "no answer");
        return;
    }
    (void)apply_settings(ctx, linked);
}

/* A new vault channel: ask for the settings (again: the vault may have been restarted). */
static void on_channel_changed(void *ctx, unsigned peer, int fd)
{
    struct link_proc *p = ctx;
    if (peer != IPC_PEER_VAULT || fd < 0)
        return;
    json_t *body = json_object();
    if (!body || ipc_send(fd, PROTO_VAULT_LINK_SETTINGS, 0, p->next_id++, body, -1) != 0)
        log_warn("link: cannot ask the vault for the settings");
    json_decref(body);
}

static int on_tick(void *ctx, int *timeout_ms)
{
    struct link_proc *p = ctx;
    link_engine_step(p->e, 0);
    *timeout_ms = 50; /* the broker's socket and the back-off timers are served every 50 ms at most */
    return 0;
}

static int run_supervised(const char *state_dir, long ipc_fd)
{
    struct stat sb;
    if (fstat((int)ipc_fd, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        fprintf(stderr, "safecam-link: --ipc-fd %ld is not a socket\n", ipc_fd);
        return 2;
    }
    (void)fcntl((int)ipc_fd, F_SETFD, FD_CLOEXEC);
    json_set_alloc_funcs(wipe_malloc, wipe_free);
    safecam_log_init("link", SAFECAM_LOG_INFO);
    umask(077);
    if (sodium_init() < 0)
        return 1;
    struct device_identity id;
    if (device_identity_load(state_dir, &id) != 0) {
        log_err("link: the device identity cannot be read");
        return 1;
    }
    char dir[4096];
    if (safecam_path_join(dir, sizeof dir, state_dir, STATEDIR_LINK) != 0)
        return 1;
    /* The walls: its own user, the syscalls of a network client, the system and DIR/link/ only. */
    const struct sandbox_paths walls = {.state_dir = state_dir};
    if (sandbox_child_enter("link", &walls) != 0)
        return 1;
    const volatile sig_atomic_t *stop_flag = ipc_child_signals_install();
    static struct link_proc p = {.next_id = 1};
    /* the engine's events (link_connected, link_tls_refused, link_queue_dropped, ...; no secret in them) are
     * logged by the engine and recorded in the audit log through the vault */
    p.e = link_engine_new(dir, id.serial, on_engine_audit, &p);
    if (!p.e) {
        log_err("link: cannot start in %s", dir);
        return 1;
    }
    link_engine_decrypt_set(p.e, decrypt_ask, &p);
    const struct ipc_child_peer peers[] = {
        {.peer = IPC_PEER_VAULT,
         .routes = vault_routes,
         .n_routes = SAFECAM_ARRAY_LEN(vault_routes),
         .on_reply = on_vault_reply},
        {.peer = IPC_PEER_WEB, .routes = web_routes, .n_routes = SAFECAM_ARRAY_LEN(web_routes)},
    };
    const struct ipc_child_config cc = {
        .role = "link",
        .sup_fd = (int)ipc_fd,
        .channel_peers = IPC_PEER_VAULT | IPC_PEER_WEB,
        .peers = peers,
        .n_peers = SAFECAM_ARRAY_LEN(peers),
        .channel_changed = on_channel_changed,
        .ctx = &p,
    };
    if (ipc_child_new(&cc, &p.child) != 0) {
        link_engine_free(p.e);
        return 1;
    }
    log_info("link: ready (device %s)", id.serial);
    const struct ipc_child_loop loop = {.signalled = stop_flag, .timeout_ms = 50, .tick = on_tick};
    int rc = ipc_child_run(p.child, &loop);
    if (rc != 0)
        log_err("link: supervisor channel: %s; exiting", safecam_err_name(rc));
    log_info("link: stopped");
    ipc_child_free(p.child);
    p.child = NULL; /* the engine's last events (link_disconnected, from link_engine_free) are only logged */
    link_engine_free(p.e);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *device_id = NULL, *state_dir = NULL;
    long ipc_fd = -1;
    int standalone = 0;
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},    {"device-id", required_argument, NULL, 'i'},
        {"standalone", no_argument, NULL, 's'},   {"state-dir", required_argument, NULL, 'S'},
        {"ipc-fd", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'i')
            device_id = optarg;
        else if (c == 's')
            standalone = 1;
        else if (c == 'S')
            state_dir = optarg;
        else if (c == 'f' && safecam_parse_long(optarg, 3, 1023, &ipc_fd) == 0)
            continue;
        else
            return 2;
    }
    if (!standalone && state_dir && ipc_fd >= 0)
        return run_supervised(state_dir, ipc_fd);
    if (!standalone || !dir || !device_id) {
        fprintf(stderr, "usage: safecam-link --state-dir DIR --ipc-fd N\n"
                        "       safecam-link --standalone --dir DIR --device-id ID\n");
        return 2;
    }
    safecam_log_init("safecam-link", SAFECAM_LOG_INFO);
    if (sodium_init() < 0)
        return 1;
    const volatile sig_atomic_t *stop_flag = ipc_child_signals_install();
    link_engine *e = link_engine_new(dir, device_id, on_audit, NULL);
    if (!e) {
        fprintf(stderr, "safecam-link: cannot start in %s\n", dir);
        return 1;
    }
    char *buf = malloc(LINE_MAX_BYTES);
    size_t have = 0;
    int eof = 0;
    while (!*stop_flag && buf) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int n = eof ? 0 : poll(&p, 1, 20);
        if (n > 0) {
            ssize_t r = read(STDIN_FILENO, buf + have, LINE_MAX_BYTES - have);
            if (r <= 0)
                eof = 1;
            else
                have += (size_t)r;
            char *nl;
            while ((nl = memchr(buf, '\n', have)) != NULL) {
                size_t l = (size_t)(nl - buf);
                handle(e, buf, l);
                memmove(buf, nl + 1, have - l - 1);
                have -= l + 1;
            }
            if (have == LINE_MAX_BYTES)
                have = 0; /* a line too long: dropped */
        }
        if (eof)
            break;
        link_engine_step(e, 30);
    }
    if (buf) {
        sodium_memzero(buf, LINE_MAX_BYTES);
        free(buf);
    }
    link_engine_free(e);
    return 0;
}
