/* service.c — the update process's service: web's requests (upload through a pipe, status, online check and
 * apply), the one install at a time, the online worker thread (libcurl blocks), the audit queue to the
 * vault, the start-up health check of the running slot and the restart request to the supervisor.
 * Runs in safecam-update (no listening socket); every byte of a bundle is untrusted until the verifier
 * (bundle.c) has checked it; web's requests are typed and validated here. QCVN 135 G3 / EN 303 645 5.3-2,
 * 5.3-3, 5.3-4, 5.3-7, 5.3-9, 5.3-10, 5.3-13, 5.3-16; G8 (a slot that is not healthy is never committed).
 *
 * The caller's loop (daemon/update.c) answers heartbeats while an upload streams in: the pipe is read
 * non-blocking, at most UPLOAD_SLICE_BYTES per turn. Health check of a freshly installed slot (see
 * docs/update-bundle.md "Health check on this PC build"): at start, when the booted slot is the one on
 * probation, its files are verified against the signed manifest (update_slot_verify); a damaged slot
 * makes this process ask for a restart at once, so the boot counter runs down and update_boot_select()
 * rolls back to the previous slot. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/ipc.h"
#include "safecam/proto.h"
#include "safecam/statedir.h"
#include "safecam/update.h"
#include "safecam/update_service.h"

#define UPLOAD_CHUNK_BYTES (64u * 1024u)
#define UPLOAD_SLICE_BYTES (1024u * 1024u) /* per loop turn, so heartbeats are answered meanwhile */
#define UPLOAD_IDLE_MAX_MS 60000           /* a stalled upload is abandoned (truncated) */
#define REBOOT_DELAY_MS 1500               /* lets web answer the upload before the restart */
#define DAMAGED_REBOOT_DELAY_MS 300        /* the channels arrive; well before the first health round */
#define AUDIT_QUEUE_MAX 64
#define REBOOT_AUDIT_WAIT_MS 5000 /* a restart waits at most this long for the vault channel to take its events */
#define REBOOT_AUDIT_POLL_MS 100
#define FIRST_CHECK_MIN_S 300 /* first periodic online check 5..10 min after start */
#define ONLINE_TIMEOUT_S 600
#define ONLINE_CONNECT_TIMEOUT_S 10
#define ONLINE_CHECK_TIMEOUT_S 30
#define FIELD_MAX 64
#define CONFIG_RELOAD_MS 30000 /* config.json re-read while idle */

enum up_state { UP_IDLE, UP_RECEIVING, UP_INSTALLED, UP_REFUSED };
enum job_kind { JOB_NONE, JOB_CHECK, JOB_INSTALL };

struct audit_item {
    char type[24];
    char actor[FIELD_MAX];
    char source[FIELD_MAX];
    char detail[256];
};

/* Who an install session acts for: the event callback's context. */
struct actor_ctx {
    struct update_service *app;
    char actor[FIELD_MAX];
    char source[FIELD_MAX];
};

struct update_service {
    const char *state_dir;
    char model[UPDATE_NAME_MAX + 1];
    struct config cfg;
    int sup, web, vault; /* channels, borrowed from the caller (update_service_channel_set); -1: none */
    uint32_t next_id;
    int64_t next_reload_ms;

    /* the one install at a time: upload from web or online install */
    enum up_state state;
    uint32_t session_no;
    enum update_reason reason;
    char version[UPDATE_VERSION_MAX + 1];
    char slot;
    uint64_t received, total;
    update_session *sess;
    int pipe_fd;
    int64_t last_data_ms;
    struct actor_ctx up_actor;
    int64_t reboot_at_ms; /* 0: none */
    int reboot_sent;
    int slot_damaged; /* the booted slot failed its integrity check */

    /* audit events go to the vault from the main thread; any thread may queue them */
    pthread_mutex_t q_mu;
    struct audit_item queue[AUDIT_QUEUE_MAX];
    unsigned q_len;

    /* online check / install worker */
    pthread_mutex_t job_mu;
    pthread_t job_thread;
    int job_running; /* a thread exists (joined when it reports done) */
    enum job_kind job;
    int job_done;
    int done_pipe[2];
    uint32_t check_reply_id; /* web's PROTO_UPDATE_CHECK awaiting its answer, 0 = none */
    struct actor_ctx job_actor;
    struct update_online_opts oopts;
    char url[CONFIG_UPDATE_URL_MAX];
    char ca[PATH_MAX];
    int check_rc;
    struct update_online_info info; /* result of the last successful check */
    int have_info;
    int64_t last_check_time;
    char last_check_error[32];
    int install_rc;
    enum update_reason install_reason;
    int64_t next_check_ms; /* 0: periodic checks off */
};

/* ---------------------------------------------------------------- audit */

static void audit_queue(struct update_service *a, const char *type, const char *actor, const char *source,
                        const char *detail)
{
    pthread_mutex_lock(&a->q_mu);
    if (a->q_len == AUDIT_QUEUE_MAX) {
        log_warn("update: audit queue full; dropping the oldest event");
        memmove(&a->queue[0], &a->queue[1], sizeof a->queue[0] * (AUDIT_QUEUE_MAX - 1));
        a->q_len--;
    }
    struct audit_item *it = &a->queue[a->q_len];
    memset(it, 0, sizeof *it);
    if (safecam_strlcpy(it->type, type, sizeof it->type) == 0 &&
        safecam_strlcpy(it->actor, actor ? actor : "update", sizeof it->actor) == 0 &&
        safecam_strlcpy(it->source, source ? source : "", sizeof it->source) == 0 &&
        safecam_strlcpy(it->detail, detail ? detail : "", sizeof it->detail) == 0)
        a->q_len++;
    pthread_mutex_unlock(&a->q_mu);
}

/* Send what is queued (fire and forget: the vault's replies are read and dropped by the loop). */
static void audit_flush(struct update_service *a)
{
    if (a->vault < 0)
        return;
    pthread_mutex_lock(&a->q_mu);
    unsigned sent = 0;
    for (; sent < a->q_len; sent++) {
        const struct audit_item *it = &a->queue[sent];
        json_t *body = json_pack("{s:s,s:s,s:s}", "type", it->type, "actor", it->actor, "detail", it->detail);
        if (body && it->source[0])
            json_object_set_new(body, "source", json_string(it->source));
        int rc = body ? ipc_send(a->vault, PROTO_VAULT_AUDIT_RECORD, 0, a->next_id++, body, -1)
                      : SAFECAM_ERR_NOMEM;
        json_decref(body);
        if (rc != 0) {
            log_warn("update: cannot reach the vault for the audit log (%s)", safecam_err_name(rc));
            if (rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_IO) {
                /* the owner of the channel sees it end and closes it */
                (void)shutdown(a->vault, SHUT_RDWR);
                a->vault = -1;
            }
            break;
        }
    }
    memmove(&a->queue[0], &a->queue[sent], sizeof a->queue[0] * (a->q_len - sent));
    a->q_len -= sent;
    pthread_mutex_unlock(&a->q_mu);
}

/* lib/update's event hook: installs and refusals as their audit types; rollback/good as update_install. */
static void on_update_event(void *ctx, const char *type, const char *detail)
{
    struct actor_ctx *ac = ctx;
    int known = strcmp(type, "update_install") == 0 || strcmp(type, "update_refused") == 0;
    char line[256];
    if (safecam_fmt(line, sizeof line, "%s%s%s", known ? "" : type, known ? "" : ": ",
                    detail ? detail : "") != 0)
        line[0] = '\0';
    log_info("update: %s %s", type, detail ? detail : "");
    audit_queue(ac->app, known ? type : "update_install", ac->actor, ac->source, line);
}

/* ---------------------------------------------------------------- state for the API */

static json_t *slot_json(const struct update_status *st, int i)
{
    const struct update_slot_info *s = &st->slots[i];
    char name = i ? 'B' : 'A';
    return json_pack("{s:o,s:I,s:b,s:b,s:b,s:I,s:b,s:b}", "version",
                     s->valid ? json_string(s->version) : json_null(), "security_version",
                     (json_int_t)s->security_version, "valid", s->valid, "good", s->good, "factory",
                     s->factory, "installed_at", (json_int_t)s->installed_at, "running", st->booted == name,
                     "active", st->active == name);
}

static json_t *slot_name(char c)
{
    return c == 'A' || c == 'B' ? json_stringn(&c, 1) : json_null();
}

static const char *up_state_name(enum up_state s)
{
    switch (s) {
    case UP_RECEIVING:
        return "receiving";
    case UP_INSTALLED:
        return "installed";
    case UP_REFUSED:
        return "refused";
    default:
        return "idle";
    }
}

static json_t *status_json(struct update_service *a)
{
    struct update_status st;
    json_t *out = json_pack("{s:b,s:s,s:I}", "ok", 1, "state", up_state_name(a->state), "session",
                            (json_int_t)a->session_no);
    if (!out)
        return NULL;
    if (a->sess)
        update_session_progress(a->sess, &a->received, &a->total);
    json_object_set_new(out, "received_bytes", json_integer((json_int_t)a->received));
    json_object_set_new(out, "total_bytes", json_integer((json_int_t)a->total));
    json_t *result = json_object();
    if (a->state == UP_REFUSED)
        json_object_set_new(result, "error", json_string(update_reason_name(a->reason)));
    if (a->version[0])
        json_object_set_new(result, "version", json_string(a->version));
    if (a->slot)
        json_object_set_new(result, "slot", slot_name(a->slot));
    json_object_set_new(out, "result", result);
    char *last = NULL;
    if (update_last_result_read(a->state_dir, &last) == 0) {
        json_t *l = json_loads(last, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(l))
            json_object_set_new(out, "last", l);
        else
            json_decref(l);
    }
    free(last);
    if (update_slots_status(a->state_dir, &st) == 0) {
        json_object_set_new(out, "slots",
                            json_pack("{s:o,s:o}", "A", slot_json(&st, 0), "B", slot_json(&st, 1)));
        json_object_set_new(out, "running", slot_name(st.booted ? st.booted : st.active));
        json_object_set_new(out, "active", slot_name(st.active));
        json_object_set_new(out, "trying", slot_name(st.trying));
        json_object_set_new(out, "floor", json_integer((json_int_t)st.floor));
    }
    json_object_set_new(out, "health", json_string(a->slot_damaged ? "slot_damaged" : "ok"));
    pthread_mutex_lock(&a->job_mu);
    json_t *online = json_pack("{s:b,s:b,s:s,s:I}", "enabled", a->cfg.update.online_enabled, "auto_install",
                               a->cfg.update.auto_install, "job",
                               a->job == JOB_CHECK     ? "checking"
                               : a->job == JOB_INSTALL ? "installing"
                                                       : "idle",
                               "last_check", (json_int_t)a->last_check_time);
    if (online && a->have_info)
        json_object_set_new(online, "latest",
                            json_pack("{s:s,s:I,s:I,s:b}", "version", a->info.version, "security_version",
                                      (json_int_t)a->info.security_version, "size", (json_int_t)a->info.size,
                                      "available", a->info.available));
    if (online && a->last_check_error[0])
        json_object_set_new(online, "error", json_string(a->last_check_error));
    pthread_mutex_unlock(&a->job_mu);
    if (online)
        json_object_set_new(out, "online", online);
    return out;
}

static void schedule_next_check(struct update_service *a, int first);

/* Re-read config.json (the online settings may have been changed through the API since the start:
 * PUT /api/v1/settings/update). Turning the online check on, or changing its interval, schedules the
 * next periodic check afresh (5-10 min from now); turning it off stops them. */
static void config_reload(struct update_service *a)
{
    int was_on = a->cfg.update.online_enabled;
    long was_iv = a->cfg.update.check_interval_s;
    if (config_load(a->state_dir, &a->cfg) != 0)
        log_warn("update: config.json unreadable; online check off");
    if (a->cfg.update.online_enabled != was_on || a->cfg.update.check_interval_s != was_iv) {
        log_info("update: online check %s", a->cfg.update.online_enabled ? "on" : "off");
        schedule_next_check(a, 1);
    }
}

/* ---------------------------------------------------------------- install bookkeeping */

static int install_busy(struct update_service *a)
{
    pthread_mutex_lock(&a->job_mu);
    int busy = a->job == JOB_INSTALL;
    pthread_mutex_unlock(&a->job_mu);
    return busy || a->sess != NULL || a->reboot_at_ms != 0;
}

static void refuse_early(struct update_service *a, const char *actor, const char *source, enum update_reason r,
                         const char *via)
{
    char detail[160];
    if (safecam_fmt(detail, sizeof detail, "reason=%s via=%s", update_reason_name(r), via) != 0)
        detail[0] = '\0';
    log_info("update: refused before reading (%s)", detail);
    audit_queue(a, "update_refused", actor, source, detail);
}

static void install_succeeded(struct update_service *a, const char *version, char slot)
{
    a->state = UP_INSTALLED;
    a->reason = UPDATE_OK;
    if (safecam_strlcpy(a->version, version, sizeof a->version) != 0)
        a->version[0] = '\0';
    a->slot = slot;
    a->reboot_at_ms = safecam_time_mono_ms() + REBOOT_DELAY_MS;
    log_info("update: version %s installed in slot %c; restarting into it", a->version, slot);
}

static void upload_end(struct update_service *a, int finish)
{
    if (a->pipe_fd >= 0) {
        close(a->pipe_fd); /* web's next write gets EPIPE: it stops sending */
        a->pipe_fd = -1;
    }
    if (!a->sess)
        return;
    int rc = finish ? update_session_finish(a->sess) : SAFECAM_ERR_STATE;
    update_session_progress(a->sess, &a->received, &a->total);
    const struct update_manifest *m = update_session_manifest(a->sess);
    if (m && safecam_strlcpy(a->version, m->version, sizeof a->version) != 0)
        a->version[0] = '\0';
    a->slot = update_session_slot(a->sess);
    if (rc == 0) {
        install_succeeded(a, m ? m->version : "", a->slot);
    } else {
        a->state = UP_REFUSED;
        a->reason = update_session_reason(a->sess);
        if (a->reason == UPDATE_OK)
            a->reason = UPDATE_TRUNCATED; /* stopped before the end (update_session_free records it) */
    }
    update_session_free(a->sess); /* records "truncated" when the stream stopped early */
    a->sess = NULL;
}

/* Read what the upload pipe holds (bounded per turn), feed the verifier. */
static void upload_readable(struct update_service *a)
{
    unsigned char buf[UPLOAD_CHUNK_BYTES];
    size_t done = 0;
    while (a->sess && done < UPLOAD_SLICE_BYTES) {
        ssize_t n = read(a->pipe_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            log_warn("update: upload pipe: %s", strerror(errno));
            upload_end(a, 0);
            return;
        }
        if (n == 0) {
            upload_end(a, 1); /* end of the upload: completeness, then the slot switch */
            return;
        }
        a->last_data_ms = safecam_time_mono_ms();
        done += (size_t)n;
        if (update_session_feed(a->sess, buf, (size_t)n) != 0) {
            upload_end(a, 0); /* refused: stop reading now */
            return;
        }
    }
}

/* ---------------------------------------------------------------- requests from web */

static int str_field(const json_t *body, const char *key, size_t max, const char **out)
{
    const json_t *v = json_object_get(body, key);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return SAFECAM_ERR_INVAL;
    for (const char *p = json_string_value(v); *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return SAFECAM_ERR_INVAL;
    *out = json_string_value(v);
    return 0;
}

/* Only the listed keys, each present. */
static int keys_exact(const json_t *body, const char *const *keys, size_t n)
{
    if (!json_is_object(body) || json_object_size(body) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(body, keys[i]))
            return 0;
    return 1;
}

static uint64_t bundle_cap(const struct update_service *a)
{
    return (uint64_t)a->cfg.update.max_bundle_bytes;
}

static int h_begin(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct update_service *a = ctx;
    (void)peer;
    (void)reply_fd;
    static const char *const keys[] = {"size", "actor", "source"};
    const char *actor = NULL, *source = NULL;
    const json_t *size = json_object_get(req->body, "size");
    if (!keys_exact(req->body, keys, 3) || !json_is_integer(size) || json_integer_value(size) < -1 ||
        str_field(req->body, "actor", FIELD_MAX - 1, &actor) != 0 ||
        str_field(req->body, "source", FIELD_MAX - 1, &source) != 0) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    struct stat sb;
    if (req->fd < 0 || fstat(req->fd, &sb) != 0 || !S_ISFIFO(sb.st_mode)) {
        *reply = json_pack("{s:s,s:s}", "error", "invalid_request", "field", "fd");
        return 0;
    }
    config_reload(a); /* the size cap may have been reconfigured */
    if (install_busy(a)) {
        refuse_early(a, actor, source, UPDATE_BUSY, "upload");
        *reply = json_pack("{s:s}", "error", "busy");
        return 0;
    }
    if (json_integer_value(size) > (json_int_t)bundle_cap(a)) {
        refuse_early(a, actor, source, UPDATE_TOO_LARGE, "upload");
        *reply = json_pack("{s:s,s:I}", "error", "too_large", "max", (json_int_t)bundle_cap(a));
        return 0;
    }
    struct actor_ctx *ac = &a->up_actor;
    ac->app = a;
    if (safecam_strlcpy(ac->actor, actor, sizeof ac->actor) != 0 ||
        safecam_strlcpy(ac->source, source, sizeof ac->source) != 0)
        return SAFECAM_ERR_INVAL;
    struct update_session_opts so = {
        .model = a->model, .max_bundle_bytes = bundle_cap(a), .event = on_update_event, .event_ctx = ac};
    int rc = update_session_new(a->state_dir, &so, &a->sess);
    if (rc == SAFECAM_ERR_STATE) {
        refuse_early(a, actor, source, UPDATE_BUSY, "upload");
        *reply = json_pack("{s:s}", "error", "busy");
        return 0;
    }
    if (rc != 0) {
        log_err("update: cannot open an install session: %s", safecam_err_name(rc));
        refuse_early(a, actor, source, UPDATE_IO, "upload");
        *reply = json_pack("{s:s}", "error", "io");
        return 0;
    }
    a->pipe_fd = fcntl(req->fd, F_DUPFD_CLOEXEC, 3);
    if (a->pipe_fd < 0 || fcntl(a->pipe_fd, F_SETFL, O_NONBLOCK) != 0) {
        upload_end(a, 0);
        *reply = json_pack("{s:s}", "error", "internal");
        return 0;
    }
    a->session_no++;
    a->state = UP_RECEIVING;
    a->reason = UPDATE_OK;
    a->version[0] = '\0';
    a->slot = update_session_slot(a->sess);
    a->received = a->total = 0;
    a->last_data_ms = safecam_time_mono_ms();
    log_info("update: receiving an upload from %s (%s)", actor, source);
    *reply = json_pack("{s:b,s:I}", "ok", 1, "session", (json_int_t)a->session_no);
    return 0;
}

static int h_status(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    (void)reply_fd;
    if (json_object_size(req->body) != 0) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    *reply = status_json(ctx);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

/* ---------------------------------------------------------------- online worker */

static int device_model_read(const char *state_dir, char *out, size_t out_size)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = safecam_path_join(path, sizeof path, state_dir, STATEDIR_DEVICE_JSON);
    if (rc == 0)
        rc = safecam_file_read(path, 16 * 1024, &text, &len);
    if (rc != 0)
        return rc;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    const json_t *m = json_object_get(j, "model");
    rc = json_is_string(m) && update_name_valid(json_string_value(m))
             ? safecam_strlcpy(out, json_string_value(m), out_size)
             : SAFECAM_ERR_INVAL;
    json_decref(j);
    return rc;
}

static void *job_main(void *arg)
{
    struct update_service *a = arg;
    pthread_mutex_lock(&a->job_mu);
    enum job_kind kind = a->job;
    struct update_online_opts o = a->oopts;
    struct update_online_info info = a->info;
    pthread_mutex_unlock(&a->job_mu);
    if (kind == JOB_CHECK) {
        struct update_online_info got;
        memset(&got, 0, sizeof got);
        o.timeout_s = ONLINE_CHECK_TIMEOUT_S;
        int rc = update_online_check(a->state_dir, &o, a->model, &got);
        pthread_mutex_lock(&a->job_mu);
        a->check_rc = rc;
        a->last_check_time = safecam_time_now();
        if (rc == 0) {
            a->info = got;
            a->have_info = 1;
        }
        pthread_mutex_unlock(&a->job_mu);
    } else {
        struct update_session_opts so = {.model = a->model,
                                         .max_bundle_bytes = bundle_cap(a),
                                         .event = on_update_event,
                                         .event_ctx = &a->job_actor};
        enum update_reason r = UPDATE_INTERNAL;
        int rc = update_online_install(a->state_dir, &o, &so, &info, &r);
        pthread_mutex_lock(&a->job_mu);
        a->install_rc = rc;
        a->install_reason = rc == 0 ? UPDATE_OK : r;
        pthread_mutex_unlock(&a->job_mu);
    }
    pthread_mutex_lock(&a->job_mu);
    a->job_done = 1;
    pthread_mutex_unlock(&a->job_mu);
    char c = 1;
    if (write(a->done_pipe[1], &c, 1) != 1)
        log_warn("update: cannot wake the main loop");
    return NULL;
}

/* Start a worker job. Returns 0, SAFECAM_ERR_STATE when one runs, SAFECAM_ERR_NOTFOUND when the online
 * check is not configured. */
static int job_start(struct update_service *a, enum job_kind kind, const char *actor, const char *source)
{
    if (kind == JOB_INSTALL && install_busy(a))
        return SAFECAM_ERR_STATE;
    pthread_mutex_lock(&a->job_mu);
    int running = a->job_running;
    pthread_mutex_unlock(&a->job_mu);
    if (running)
        return SAFECAM_ERR_STATE;
    if (!a->cfg.update.online_enabled || !a->cfg.update.server_url[0])
        return SAFECAM_ERR_NOTFOUND;
    if (safecam_strlcpy(a->url, a->cfg.update.server_url, sizeof a->url) != 0)
        return SAFECAM_ERR_INVAL;
    int rc = a->cfg.update.ca_file[0]
                 ? safecam_strlcpy(a->ca, a->cfg.update.ca_file, sizeof a->ca)
                 : safecam_path_join(a->ca, sizeof a->ca, a->state_dir, CONFIG_UPDATE_CA_DEFAULT);
    if (rc != 0)
        return rc;
    a->job_actor.app = a;
    if (safecam_strlcpy(a->job_actor.actor, actor, sizeof a->job_actor.actor) != 0 ||
        safecam_strlcpy(a->job_actor.source, source ? source : "", sizeof a->job_actor.source) != 0)
        return SAFECAM_ERR_INVAL;
    pthread_mutex_lock(&a->job_mu);
    a->oopts = (struct update_online_opts){.base_url = a->url,
                                           .ca_file = a->ca,
                                           .timeout_s = ONLINE_TIMEOUT_S,
                                           .connect_timeout_s = ONLINE_CONNECT_TIMEOUT_S};
    a->job = kind;
    a->job_done = 0;
    a->job_running = 1;
    pthread_mutex_unlock(&a->job_mu);
    if (kind == JOB_INSTALL) {
        a->session_no++;
        a->state = UP_RECEIVING;
        a->reason = UPDATE_OK;
        a->received = a->total = 0;
        if (safecam_strlcpy(a->version, a->info.version, sizeof a->version) != 0)
            a->version[0] = '\0';
        a->slot = 0;
    }
    if (pthread_create(&a->job_thread, NULL, job_main, a) != 0) {
        pthread_mutex_lock(&a->job_mu);
        a->job = JOB_NONE;
        a->job_running = 0;
        pthread_mutex_unlock(&a->job_mu);
        if (kind == JOB_INSTALL)
            a->state = UP_IDLE;
        return SAFECAM_ERR_INTERNAL;
    }
    return 0;
}

static const char *check_error_code(int rc)
{
    if (rc == SAFECAM_ERR_DENIED)
        return "server_untrusted"; /* TLS: unknown CA, wrong host name, expired... */
    if (rc == SAFECAM_ERR_INVAL || rc == SAFECAM_ERR_TOOBIG)
        return "bad_server_answer";
    return "server_unreachable";
}

static json_t *check_reply(struct update_service *a)
{
    if (a->check_rc != 0)
        return json_pack("{s:s}", "error", check_error_code(a->check_rc));
    return json_pack("{s:b,s:b,s:s,s:I,s:I}", "ok", 1, "available", a->info.available, "version",
                     a->info.version, "security_version", (json_int_t)a->info.security_version, "size",
                     (json_int_t)a->info.size);
}

static void send_reply(int fd, uint16_t type, uint32_t id, json_t *body)
{
    if (fd >= 0 && body && ipc_send(fd, type, IPC_FLAG_REPLY, id, body, -1) != 0)
        log_warn("update: cannot answer web");
    json_decref(body);
}

/* The worker finished: record, tell web if it waits, install automatically when configured. */
static void job_finished(struct update_service *a)
{
    char c;
    while (read(a->done_pipe[0], &c, 1) == 1)
        ;
    pthread_mutex_lock(&a->job_mu);
    int done = a->job_done;
    enum job_kind kind = a->job;
    pthread_mutex_unlock(&a->job_mu);
    if (!done)
        return;
    pthread_join(a->job_thread, NULL);
    pthread_mutex_lock(&a->job_mu);
    a->job_running = 0;
    a->job = JOB_NONE;
    pthread_mutex_unlock(&a->job_mu);
    char detail[200];
    if (kind == JOB_CHECK) {
        if (a->check_rc != 0) {
            const char *code = check_error_code(a->check_rc);
            if (safecam_strlcpy(a->last_check_error, code, sizeof a->last_check_error) != 0)
                a->last_check_error[0] = '\0';
            if (safecam_fmt(detail, sizeof detail, "reason=%s via=online server=%s", code, a->url) != 0)
                detail[0] = '\0';
            log_warn("update: online check failed: %s", code);
            if (a->check_rc == SAFECAM_ERR_DENIED) /* a server we must not trust: worth an audit event */
                audit_queue(a, "update_refused", a->job_actor.actor, a->job_actor.source, detail);
        } else {
            a->last_check_error[0] = '\0';
            log_info("update: online check: latest %s (security version %u)%s", a->info.version,
                     (unsigned)a->info.security_version, a->info.available ? ", available" : "");
            if (a->info.available) {
                if (safecam_fmt(detail, sizeof detail, "available: version=%s security_version=%u via=online",
                                a->info.version, (unsigned)a->info.security_version) != 0)
                    detail[0] = '\0';
                audit_queue(a, "update_install", a->job_actor.actor, a->job_actor.source, detail);
            }
        }
        if (a->check_reply_id) {
            send_reply(a->web, PROTO_UPDATE_CHECK, a->check_reply_id, check_reply(a));
            a->check_reply_id = 0;
        }
        if (a->check_rc == 0 && a->info.available && a->cfg.update.auto_install) {
            log_info("update: installing %s automatically (auto_install)", a->info.version);
            int rc = job_start(a, JOB_INSTALL, "auto_install", NULL);
            if (rc != 0)
                log_warn("update: automatic install not started: %s", safecam_err_name(rc));
        }
    } else {
        if (a->install_rc == 0) {
            struct update_status st;
            char slot = update_slots_status(a->state_dir, &st) == 0 ? st.trying : 0;
            install_succeeded(a, a->info.version, slot);
        } else {
            a->state = UP_REFUSED;
            a->reason = a->install_reason == UPDATE_OK ? UPDATE_IO : a->install_reason;
            if (a->install_rc == SAFECAM_ERR_DENIED || a->install_rc == SAFECAM_ERR_IO) {
                /* the download itself failed (TLS, transfer): no session recorded it */
                if (safecam_fmt(detail, sizeof detail, "reason=%s via=online version=%s",
                                check_error_code(a->install_rc), a->info.version) != 0)
                    detail[0] = '\0';
                if (a->install_reason == UPDATE_INTERNAL || a->install_reason == UPDATE_OK)
                    audit_queue(a, "update_refused", a->job_actor.actor, a->job_actor.source, detail);
            }
            log_warn("update: online install failed: %s", update_reason_name(a->reason));
        }
    }
}

/* PROTO_UPDATE_CHECK is answered when the worker is done (deferred reply with the request's id). */
static void handle_check(struct update_service *a, const ipc_msg *req)
{
    static const char *const keys[] = {"actor", "source"};
    const char *actor = NULL, *source = NULL;
    if (!keys_exact(req->body, keys, 2) || str_field(req->body, "actor", FIELD_MAX - 1, &actor) != 0 ||
        str_field(req->body, "source", FIELD_MAX - 1, &source) != 0) {
        send_reply(a->web, req->type, req->id, json_pack("{s:s}", "error", "invalid_request"));
        return;
    }
    if (a->check_reply_id) {
        send_reply(a->web, req->type, req->id, json_pack("{s:s}", "error", "busy"));
        return;
    }
    config_reload(a);
    int rc = job_start(a, JOB_CHECK, actor, source);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        send_reply(a->web, req->type, req->id, json_pack("{s:s}", "error", "not_configured"));
        return;
    }
    if (rc != 0) {
        send_reply(a->web, req->type, req->id, json_pack("{s:s}", "error", "busy"));
        return;
    }
    a->check_reply_id = req->id;
}

static int h_apply(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    struct update_service *a = ctx;
    (void)peer;
    (void)reply_fd;
    static const char *const keys[] = {"actor", "source"};
    const char *actor = NULL, *source = NULL;
    if (!keys_exact(req->body, keys, 2) || str_field(req->body, "actor", FIELD_MAX - 1, &actor) != 0 ||
        str_field(req->body, "source", FIELD_MAX - 1, &source) != 0) {
        *reply = json_pack("{s:s}", "error", "invalid_request");
        return 0;
    }
    pthread_mutex_lock(&a->job_mu);
    int have = a->have_info && a->info.available;
    pthread_mutex_unlock(&a->job_mu);
    if (!have) {
        *reply = json_pack("{s:s}", "error", "no_update_available");
        return 0;
    }
    int rc = job_start(a, JOB_INSTALL, actor, source);
    if (rc == SAFECAM_ERR_STATE) {
        refuse_early(a, actor, source, UPDATE_BUSY, "online");
        *reply = json_pack("{s:s}", "error", "busy");
    } else if (rc == SAFECAM_ERR_NOTFOUND) {
        *reply = json_pack("{s:s}", "error", "not_configured");
    } else if (rc != 0) {
        *reply = json_pack("{s:s}", "error", "internal");
    } else {
        log_info("update: installing %s from the update server (approved by %s)", a->info.version, actor);
        *reply = json_pack("{s:b,s:s,s:s,s:I}", "ok", 1, "state", "receiving", "version", a->info.version,
                           "session", (json_int_t)a->session_no);
    }
    return 0;
}

static const struct ipc_route web_routes[] = {
    {.type = PROTO_UPDATE_BEGIN, .allowed_peers = IPC_PEER_WEB, .handler = h_begin},
    {.type = PROTO_UPDATE_STATUS, .allowed_peers = IPC_PEER_WEB, .handler = h_status},
    {.type = PROTO_UPDATE_APPLY, .allowed_peers = IPC_PEER_WEB, .handler = h_apply},
};

/* ---------------------------------------------------------------- start-up health check */

/* A freshly installed slot on probation must verify byte for byte against its signed manifest before
 * this process lets the supervisor count the start as healthy. A damaged slot: ask for a restart now,
 * so the boot counter runs down and update_boot_select() rolls back (QCVN 135 G3 / G8). */
static void health_check(struct update_service *a)
{
    struct update_status st;
    if (update_slots_status(a->state_dir, &st) != 0) {
        log_warn("update: cannot read the slot state");
        return;
    }
    char booted = st.booted ? st.booted : st.active;
    int rc = update_slot_verify(a->state_dir, booted);
    if (rc == 0) {
        log_info("update: running slot %c verified%s", booted, st.trying == booted ? " (on probation)" : "");
        return;
    }
    a->slot_damaged = 1;
    char detail[160];
    int probation = st.trying && st.trying == booted;
    if (safecam_fmt(detail, sizeof detail,
                    "event=health_check slot=%c reason=slot_damaged error=%s action=%s", booted,
                    safecam_err_name(rc), probation ? "restart" : "none") != 0)
        detail[0] = '\0';
    log_err("update: running slot %c does not match its signed manifest (%s)", booted, safecam_err_name(rc));
    audit_queue(a, "update_refused", "update", NULL, detail);
    if (probation) /* never becomes healthy: restart (after the audit event is out), count the attempt */
        a->reboot_at_ms = safecam_time_mono_ms() + DAMAGED_REBOOT_DELAY_MS;
}

static void maybe_reboot(struct update_service *a)
{
    int64_t now = safecam_time_mono_ms();
    if (!a->reboot_at_ms || a->reboot_sent || now < a->reboot_at_ms)
        return;
    audit_flush(a);
    pthread_mutex_lock(&a->q_mu);
    unsigned unsent = a->q_len;
    pthread_mutex_unlock(&a->q_mu);
    if (unsent && now < a->reboot_at_ms + REBOOT_AUDIT_WAIT_MS)
        return; /* no vault channel yet (just started): the events must not be lost with the restart */
    if (unsent)
        log_warn("update: restarting with %u audit event(s) the vault never took", unsent);
    json_t *body = json_pack("{s:s}", "reason", a->slot_damaged ? "slot_damaged" : "update_installed");
    int rc = body ? ipc_send(a->sup, PROTO_SUP_REBOOT, 0, a->next_id++, body, -1) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0)
        log_err("update: cannot ask the supervisor to restart: %s", safecam_err_name(rc));
    else
        log_info("update: restart requested");
    a->reboot_sent = rc == 0;
}

static void schedule_next_check(struct update_service *a, int first)
{
    if (!a->cfg.update.online_enabled) {
        a->next_check_ms = 0;
        return;
    }
    long s;
    if (first)
        s = FIRST_CHECK_MIN_S + (long)randombytes_uniform(FIRST_CHECK_MIN_S);
    else if (a->cfg.update.check_interval_s == CONFIG_UPDATE_INTERVAL_DEFAULT_S)
        s = update_online_next_delay_s(); /* 24 h +/- 1 h */
    else
        s = a->cfg.update.check_interval_s - a->cfg.update.check_interval_s / 24 +
            (long)randombytes_uniform((uint32_t)(a->cfg.update.check_interval_s / 12 + 1));
    a->next_check_ms = safecam_time_mono_ms() + (int64_t)s * 1000;
}

/* ---------------------------------------------------------------- the service's interface */

int update_service_new(const char *state_dir, update_service **out)
{
    int rc = 0;
    update_service *a = NULL;
    if (!state_dir || !out) {
        rc = SAFECAM_ERR_INVAL;
        goto out;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    a->state_dir = state_dir;
    a->sup = a->web = a->vault = a->pipe_fd = -1;
    a->done_pipe[0] = a->done_pipe[1] = -1;
    a->next_id = 1;
    pthread_mutex_init(&a->q_mu, NULL);
    pthread_mutex_init(&a->job_mu, NULL);
    if (pipe2(a->done_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_err("update: pipe: %s", strerror(errno));
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    rc = device_model_read(state_dir, a->model, sizeof a->model);
    if (rc != 0) {
        log_err("update: cannot read the device model from %s", STATEDIR_DEVICE_JSON);
        goto out;
    }
    /* session numbers start at random so web can tell a restarted update process from its session */
    a->session_no = randombytes_uniform(1u << 30);
    config_reload(a);
    a->next_reload_ms = safecam_time_mono_ms() + CONFIG_RELOAD_MS;
    *out = a;
    a = NULL;
out:
    update_service_free(a);
    return rc;
}

void update_service_start(update_service *svc)
{
    health_check(svc);
    schedule_next_check(svc, 1);
}

const char *update_service_model(const update_service *svc)
{
    return svc->model;
}

int update_service_online_enabled(const update_service *svc)
{
    return svc->cfg.update.online_enabled;
}

void update_service_channel_set(update_service *svc, unsigned peer, int fd)
{
    if (peer == IPC_PEER_SUPERVISOR) {
        svc->sup = fd;
    } else if (peer == IPC_PEER_VAULT) {
        svc->vault = fd;
    } else if (peer == IPC_PEER_WEB) {
        svc->web = fd;
        svc->check_reply_id = 0; /* a pending CHECK belonged to the old web process */
    }
}

const struct ipc_route *update_service_web_routes(size_t *n_out)
{
    *n_out = SAFECAM_ARRAY_LEN(web_routes);
    return web_routes;
}

int update_service_check_request(update_service *svc, int fd, const ipc_msg *msg)
{
    if (msg->type != PROTO_UPDATE_CHECK || (msg->flags & IPC_FLAG_REPLY))
        return 0;
    if (svc->web != fd)
        svc->web = fd;
    handle_check(svc, msg);
    return 1;
}

void update_service_vault_reply(update_service *svc, const ipc_msg *msg)
{
    (void)svc;
    if (!json_is_true(json_object_get(msg->body, "ok")))
        log_warn("update: the vault refused an audit record");
}

void update_service_violation(update_service *svc, unsigned peer)
{
    if (peer == IPC_PEER_WEB)
        audit_queue(svc, "protocol_violation", "web", NULL, "receiver=update peer=web");
}

int update_service_tick(update_service *a, int *timeout_ms)
{
    audit_flush(a);
    maybe_reboot(a);
    int64_t now = safecam_time_mono_ms();
    if (a->sess && now - a->last_data_ms > UPLOAD_IDLE_MAX_MS) {
        log_warn("update: upload stalled for %d s; abandoned", UPLOAD_IDLE_MAX_MS / 1000);
        upload_end(a, 0);
    }
    if (now >= a->next_reload_ms) { /* settings changed through the API take effect while idle */
        pthread_mutex_lock(&a->job_mu);
        int busy = a->job_running;
        pthread_mutex_unlock(&a->job_mu);
        if (!busy && !a->sess)
            config_reload(a);
        a->next_reload_ms = now + CONFIG_RELOAD_MS;
    }
    if (a->next_check_ms && now >= a->next_check_ms) {
        config_reload(a);
        int rc = job_start(a, JOB_CHECK, "periodic_check", NULL);
        if (rc != 0 && rc != SAFECAM_ERR_STATE)
            log_warn("update: periodic check not started: %s", safecam_err_name(rc));
        schedule_next_check(a, 0);
    }
    if (a->reboot_at_ms && !a->reboot_sent) {
        int64_t left = a->reboot_at_ms - now;
        if (left < REBOOT_AUDIT_POLL_MS) /* due: waiting (bounded) for the vault channel, without spinning */
            left = left < 0 ? REBOOT_AUDIT_POLL_MS : left;
        *timeout_ms = left < *timeout_ms ? (int)left : *timeout_ms;
    }
    return 0;
}

size_t update_service_pollfds(update_service *svc, struct pollfd *pfd, size_t max)
{
    if (max < 2)
        return 0;
    pfd[0] = (struct pollfd){.fd = svc->pipe_fd, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = svc->done_pipe[0], .events = POLLIN};
    return 2;
}

void update_service_pollfds_ready(update_service *svc, const struct pollfd *pfd, size_t n)
{
    if (n < 2)
        return;
    if (pfd[0].revents && svc->pipe_fd == pfd[0].fd && svc->pipe_fd >= 0)
        upload_readable(svc);
    if (pfd[1].revents)
        job_finished(svc);
}

int update_service_stop(update_service *a)
{
    if (a->sess)
        upload_end(a, 0); /* an unfinished upload is refused (truncated) and its staging removed */
    audit_flush(a);
    pthread_mutex_lock(&a->job_mu);
    int running = a->job_running;
    pthread_mutex_unlock(&a->job_mu);
    if (running) {
        /* A download in progress cannot be interrupted cleanly; the next boot_select() removes its
         * staging dir and the flock dies with the process. */
        log_warn("update: stopping during an online transfer");
        return 1;
    }
    return 0;
}

void update_service_free(update_service *svc)
{
    if (!svc)
        return;
    if (svc->sess)
        update_session_free(svc->sess);
    if (svc->pipe_fd >= 0)
        close(svc->pipe_fd);
    if (svc->done_pipe[0] >= 0)
        close(svc->done_pipe[0]);
    if (svc->done_pipe[1] >= 0)
        close(svc->done_pipe[1]);
    pthread_mutex_destroy(&svc->q_mu);
    pthread_mutex_destroy(&svc->job_mu);
    free(svc);
}
