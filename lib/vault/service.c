/* service.c — the vault process's IPC request handlers and their dispatch table (who may ask what).
 * Runs in the vault process; every request body comes from a less trusted process (web, media) and is
 * checked field by field (allowlisted keys, types, lengths) and for its meaning (admin-only requests
 * carry a session id whose role the vault checks itself). Never answers with a hash or a stored secret
 * other than the TLS key to its two consumers. Contract: include/safecam/proto.h. */
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/link.h"
#include "safecam/proto.h"
#include "safecam/record.h"
#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "safecam/vault_workers.h"
#include "vault_internal.h"

#define TLS_FILE_MAX_BYTES (64u * 1024u)

/* ---------------- reply helpers ---------------- */

static json_t *reply_error(const char *code)
{
    return json_pack("{s:s}", "error", code);
}

static json_t *reply_field_error(const char *code, const char *field)
{
    return json_pack("{s:s, s:s}", "error", code, "field", field);
}

static json_t *reply_ok(void)
{
    return json_pack("{s:b}", "ok", 1);
}

/* ---------------- request field checks ---------------- */

/* Every key of body must be in allowed (NULL-terminated). Returns the first foreign key or NULL. */
static const char *body_foreign_key(const json_t *body, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)(uintptr_t)body, key, val)
    {
        (void)val;
        int found = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0)
                found = 1;
        if (!found)
            return key;
    }
    return NULL;
}

/* Fetch a string field of at most max bytes (valid UTF-8, no NUL). *out NULL when absent and optional.
 * Returns 0 or SAFECAM_ERR_INVAL. */
static int field_str(const json_t *body, const char *key, size_t max, int required, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v)
        return required ? SAFECAM_ERR_INVAL : 0;
    if (!json_is_string(v))
        return SAFECAM_ERR_INVAL;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len > max || strlen(s) != len || !safecam_utf8_valid(s, len))
        return SAFECAM_ERR_INVAL;
    *out = s;
    return 0;
}

static int field_bool(const json_t *body, const char *key, int def, int *out)
{
    json_t *v = json_object_get(body, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return SAFECAM_ERR_INVAL;
    *out = json_is_true(v);
    return 0;
}

/* Check a request's keys and that it is an object. *reply is set on refusal. */
static int body_check(const ipc_msg *req, const char *const *allowed, json_t **reply)
{
    if (!json_is_object(req->body)) {
        *reply = reply_error("invalid_request");
        return SAFECAM_ERR_INVAL;
    }
    const char *foreign = body_foreign_key(req->body, allowed);
    if (foreign) {
        *reply = reply_field_error("invalid_request", "unknown_field");
        return SAFECAM_ERR_INVAL;
    }
    return 0;
}

#define GET_STR(key, max, req_, var)                                                                         \
    do {                                                                                                     \
        if (field_str(req->body, key, max, req_, &(var)) != 0) {                                             \
            *reply = reply_field_error("invalid_request", key);                                              \
            return 0;                                                                                        \
        }                                                                                                    \
    } while (0)

/* The admin the dispatcher checked for this request (IPC_ADMIN rows), as the audited actor; taken once (cleared),
 * so no later request can inherit it. On failure *reply is set and the function returns non-zero. */
static int caller_actor(struct vault_service *svc, char actor[VAULT_USERNAME_MAX + 1], json_t **reply)
{
    int rc = !svc->caller[0] || safecam_strlcpy(actor, svc->caller, VAULT_USERNAME_MAX + 1) != 0;
    svc->caller[0] = '\0';
    if (rc) {
        *reply = reply_error("internal");
        return 1;
    }
    return 0;
}

static json_t *reasons_reply(const char *const *reasons, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (reasons[i])
            json_array_append_new(arr, json_string(reasons[i]));
    return json_pack("{s:s, s:o}", "error", "password_policy", "reasons", arr ? arr : json_array());
}

/* ---------------- logins ---------------- */

static json_t *auth_failure_reply(int rc, int64_t retry_after)
{
    if (rc == SAFECAM_ERR_DENIED)
        return reply_error("invalid_credentials");
    if (rc == SAFECAM_ERR_LOCKED)
        return json_pack("{s:s, s:I}", "error", "locked", "retry_after", (json_int_t)retry_after);
    if (rc == SAFECAM_ERR_BUSY)
        return json_pack("{s:s, s:I}", "error", "busy", "retry_after",
                         (json_int_t)(retry_after > 0 ? retry_after : 1));
    if (rc == SAFECAM_ERR_INVAL)
        return reply_error("invalid_request");
    return reply_error("internal");
}

static json_t *login_reply(const struct vault_auth *a, int create_session)
{
    if (create_session)
        return json_pack("{s:b, s:s, s:s, s:s, s:s, s:b}", "ok", 1, "session_id", a->session_id, "csrf_token",
                         a->csrf_token, "username", a->username, "role", a->role, "password_change_required",
                         a->password_change_required);
    return json_pack("{s:b, s:s, s:s, s:b}", "ok", 1, "username", a->username, "role", a->role,
                     "password_change_required", a->password_change_required);
}

/* The answer to a password change (the same for the inline and the deferred path). */
static json_t *pwchange_reply(int rc, const char *const *reasons, size_t n, int not_found_user, int64_t retry)
{
    switch (rc) {
    case 0:
        return reply_ok();
    case SAFECAM_ERR_POLICY:
        return reasons_reply(reasons, n);
    case SAFECAM_ERR_NOTFOUND:
        return reply_error(not_found_user ? "not_found" : "no_session");
    case SAFECAM_ERR_STATE:
        return reply_error("forbidden");
    default:
        return auth_failure_reply(rc, retry);
    }
}

static json_t *pwchange_finish_reply(struct vault_service *svc, struct vault_pwchange_work *w)
{
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0;
    int rc = vault_pwchange_finish(svc->v, w, reasons, &n, &retry, &nf);
    return pwchange_reply(rc, reasons, n, nf, retry);
}

/* A login or RTSP check on its way through the hash workers: where its answer goes, what it holds of the
 * admission budget, and the login itself (password inside until the worker wiped it). */
struct login_job {
    unsigned peer;
    unsigned gen; /* svc->channel_gen of the peer when the request came */
    uint16_t type;
    uint32_t id;
    int pwchange; /* 1: p holds a password change, else w a login */
    struct vault_admission_ticket ticket;
    char adm_src[VAULT_SOURCE_MAX + 1]; /* the admission key (the source key) */
    struct vault_login_work w;
    struct vault_pwchange_work p;
};

static void login_job_free(struct login_job *job)
{
    if (!job)
        return;
    sodium_memzero(job, sizeof *job);
    free(job);
}

static void login_job_run(void *p)
{
    struct login_job *job = p;
    if (job->pwchange)
        vault_pwchange_work_run(&job->p);
    else
        vault_login_work_run(&job->w);
}

static void login_job_discard(void *p)
{
    login_job_free(p);
}

static int peer_bit(unsigned peer)
{
    for (int i = 0; i < 8; i++)
        if (peer == (1u << i))
            return i;
    return -1;
}

static unsigned channel_gen_of(const struct vault_service *svc, unsigned peer)
{
    int b = peer_bit(peer);
    return b < 0 ? 0 : svc->channel_gen[b];
}

void vault_service_channel_changed(struct vault_service *svc, unsigned peer)
{
    int b = svc ? peer_bit(peer) : -1;
    if (b >= 0)
        svc->channel_gen[b]++;
}

/* Admit a prepared job for its source (trusted: it may use the reserve) and hand it to a hash worker (in the
 * trusted lane when lane_trusted). Returns 0 when the job is queued (the answer goes out late, by message id: the
 * caller returns IPC_HANDLER_DEFERRED), else the refusal (busy, invalid) with *retry set; the caller then frees
 * the job and answers at once. */
static int job_defer(struct vault_service *svc, unsigned peer, const ipc_msg *req, struct login_job *job,
                     const char *src, int trusted, int lane_trusted, int64_t *retry)
{
    if (safecam_strlcpy(job->adm_src, src, sizeof job->adm_src) != 0)
        return SAFECAM_ERR_INVAL;
    int rc = vault_admission_enter(svc->admission, job->adm_src, trusted, &job->ticket, retry);
    if (rc != 0)
        return rc;
    job->peer = peer;
    job->gen = channel_gen_of(svc, peer);
    job->type = req->type;
    job->id = req->id;
    rc = vault_workers_submit(svc->workers, job, lane_trusted);
    if (rc != 0) {
        vault_admission_leave(svc->admission, job->adm_src, &job->ticket);
        *retry = 1;
    }
    return rc;
}

/* A WS-Security answer says "unauthorized" where a login says "invalid_credentials" (include/safecam/proto.h). */
static json_t *wsse_reply_map(json_t *reply)
{
    const char *e = json_string_value(json_object_get(reply, "error"));
    if (e && strcmp(e, "invalid_credentials") == 0) {
        json_decref(reply);
        return reply_error("unauthorized");
    }
    return reply;
}

/* The deferred path: checks and lockout now, admission, then the verify on a worker. */
static int login_deferred(struct vault_service *svc, unsigned peer, const ipc_msg *req, const char *user,
                          const char *pw, const char *source, const char *surface, int create_session,
                          json_t **reply)
{
    int64_t retry = 0;
    struct login_job *job = calloc(1, sizeof *job);
    if (!job)
        return SAFECAM_ERR_NOMEM;
    int rc = vault_login_begin(svc->v, user, pw, source, surface, create_session, &job->w, &retry);
    if (rc == 0)
        rc = job_defer(svc, peer, req, job, job->w.src, job->w.trusted, job->w.lane_trusted, &retry);
    if (rc == 0)
        return IPC_HANDLER_DEFERRED;
    /* Refused at once (invalid, locked, busy): counted neither as a failure nor as a success. */
    login_job_free(job);
    *reply = auth_failure_reply(rc, retry);
    return 0;
}

static int login_common(struct vault_service *svc, unsigned peer, const ipc_msg *req, json_t **reply,
                        int create_session)
{
    static const char *const keys[] = {"username", "password", "source", "surface", NULL};
    const char *user = NULL, *pw = NULL, *source = NULL, *surface = NULL;
    struct vault_auth a;
    if (body_check(req, keys, reply) != 0)
        return 0;
    GET_STR("username", 64, 1, user);
    GET_STR("password", PASSWORD_MAX_BYTES, 1, pw);
    GET_STR("source", VAULT_SOURCE_MAX, 1, source);
    GET_STR("surface", 16, 0, surface);
    const char *surf = surface ? surface : (create_session ? "web" : "rtsp");
    /* An integration account (no session, no web login): its sealed secret, compared in the loop. */
    if (!create_session && svc->storage_key && vault_integration_is(svc->v, user)) {
        int rc = vault_integration_auth(svc->v, svc->storage_key, user, pw, source, surf, &a);
        *reply = rc == 0 ? login_reply(&a, 0) : auth_failure_reply(rc, a.retry_after);
        sodium_memzero(&a, sizeof a);
        return *reply ? 0 : SAFECAM_ERR_NOMEM;
    }
    if (svc->workers && svc->admission)
        return login_deferred(svc, peer, req, user, pw, source, surf, create_session, reply);
    int rc = vault_login(svc->v, user, pw, source, surf, create_session, &a);
    if (rc != 0) {
        *reply = auth_failure_reply(rc, a.retry_after);
        return 0;
    }
    *reply = login_reply(&a, create_session);
    sodium_memzero(&a, sizeof a);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

int vault_service_workers_start(struct vault_service *svc)
{
    if (!svc || !svc->v || !svc->channel_fd || svc->workers)
        return SAFECAM_ERR_INVAL;
    const struct vault_admission_limits lim = {
        .per_source = VAULT_ADMIT_PER_SOURCE, .global = VAULT_ADMIT_GLOBAL, .reserve = VAULT_ADMIT_RESERVE};
    int rc = vault_admission_new(&lim, NULL, NULL, &svc->admission);
    if (rc == 0)
        rc = vault_workers_new(VAULT_HASH_WORKERS, VAULT_HASH_WORKERS_UNTRUSTED,
                               VAULT_ADMIT_GLOBAL + VAULT_ADMIT_RESERVE, login_job_run, &svc->workers);
    if (rc != 0) {
        vault_admission_free(svc->admission);
        svc->admission = NULL;
    }
    return rc;
}

int vault_service_workers_fd(const struct vault_service *svc)
{
    return svc ? vault_workers_fd(svc->workers) : -1;
}

#define FINISH_BATCH 16

void vault_service_workers_finish(struct vault_service *svc)
{
    void *done[FINISH_BATCH];
    if (!svc || !svc->workers)
        return;
    size_t n = vault_workers_take(svc->workers, done, FINISH_BATCH);
    for (size_t i = 0; i < n; i++) {
        struct login_job *job = done[i];
        json_t *reply;
        vault_admission_leave(svc->admission, job->adm_src, &job->ticket);
        if (job->pwchange) {
            reply = pwchange_finish_reply(svc, &job->p); /* wipes job->p */
        } else {
            struct vault_auth a;
            int create_session = job->w.create_session;
            int frc = vault_login_finish(svc->v, &job->w, &a); /* wipes job->w */
            reply = frc == 0 ? login_reply(&a, create_session) : auth_failure_reply(frc, a.retry_after);
            sodium_memzero(&a, sizeof a);
            if (job->type == PROTO_VAULT_WSSE_VERIFY)
                reply = wsse_reply_map(reply);
        }
        /* Only on the channel the request came on: a restarted peer numbers its requests anew. The work is
         * complete either way (audited; a session nobody received expires by itself). */
        int fd = -1;
        if (svc->channel_fd && job->gen == channel_gen_of(svc, job->peer))
            fd = svc->channel_fd(svc->channel_ctx, job->peer);
        int rc = ipc_reply_send(fd, job->type, job->id, reply ? reply : json_pack("{s:s}", "error", "internal"));
        if (rc == SAFECAM_ERR_CLOSED)
            log_info("vault: the channel of %s changed before its answer was ready; answer dropped",
                     ipc_peer_name(job->peer));
        else if (rc != 0)
            log_warn("vault: cannot answer %s (type %u): %s", ipc_peer_name(job->peer), (unsigned)job->type,
                     safecam_err_name(rc));
        login_job_free(job);
    }
}

void vault_service_workers_stop(struct vault_service *svc)
{
    if (!svc)
        return;
    vault_workers_free(svc->workers, login_job_discard);
    svc->workers = NULL;
    vault_admission_free(svc->admission);
    svc->admission = NULL;
}

static int h_login(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)reply_fd;
    return login_common(ctx, peer, req, reply, 1);
}

static int h_auth_check(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)reply_fd;
    return login_common(ctx, peer, req, reply, 0);
}

/* ---------------- sessions ---------------- */

static int h_session_check(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "csrf_token", "touch", NULL};
    struct vault_service *svc = ctx;
    const char *sid = NULL, *csrf = NULL;
    int touch = 0;
    struct vault_session_info info;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    GET_STR("session_id", 256, 1, sid);
    GET_STR("csrf_token", 256, 0, csrf);
    if (field_bool(req->body, "touch", 0, &touch) != 0) {
        *reply = reply_field_error("invalid_request", "touch");
        return 0;
    }
    int rc = vault_session_check(svc->v, sid, csrf, touch, &info);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        *reply = reply_error("no_session");
        return 0;
    }
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:b, s:s, s:s, s:b, s:b, s:s}", "ok", 1, "username", info.username, "role", info.role,
                       "password_change_required", info.password_change_required, "csrf_ok", info.csrf_ok,
                       "csrf_token", info.csrf_token);
    sodium_memzero(&info, sizeof info);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_session_end(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "source", NULL};
    struct vault_service *svc = ctx;
    const char *sid = NULL, *source = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    GET_STR("session_id", 256, 1, sid);
    GET_STR("source", VAULT_SOURCE_MAX, 0, source);
    if (source && !vault_source_valid(source)) {
        *reply = reply_field_error("invalid_request", "source");
        return 0;
    }
    int rc = vault_session_end(svc->v, sid, source);
    if (rc != 0)
        return rc;
    *reply = reply_ok();
    return 0;
}

static int h_password_change(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id",   "username", "current_password",
                                       "new_password", "source",   NULL};
    struct vault_service *svc = ctx;
    const char *sid = NULL, *user = NULL, *cur = NULL, *fresh = NULL, *source = NULL;
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    int64_t retry = 0;
    int nf = 0, rc;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    GET_STR("session_id", 256, 1, sid);
    GET_STR("username", 64, 1, user);
    GET_STR("current_password", PASSWORD_MAX_BYTES, 1, cur);
    /* new_password: any length up to the IPC cap reaches the policy, which answers too_long */
    GET_STR("new_password", VAULT_NEW_PASSWORD_MAX, 1, fresh);
    GET_STR("source", VAULT_SOURCE_MAX, 1, source);
    if (svc->workers && svc->admission) {
        /* The three Argon2id operations (current password, same-as-current, new hash) on a hash worker. */
        struct login_job *job = calloc(1, sizeof *job);
        if (!job)
            return SAFECAM_ERR_NOMEM;
        job->pwchange = 1;
        rc = vault_pwchange_begin(svc->v, sid, user, cur, fresh, source, &job->p, &retry, &nf);
        if (rc == 0) /* an authenticated request: it may use the reserve */
            rc = job_defer(svc, peer, req, job, job->p.src, 1, 1, &retry);
        if (rc == 0)
            return IPC_HANDLER_DEFERRED;
        login_job_free(job);
        reasons[0] = NULL;
        *reply = pwchange_reply(rc, reasons, 0, nf, retry);
        return 0;
    }
    rc = vault_password_change(svc->v, sid, user, cur, fresh, source, reasons, &n, &retry, &nf);
    *reply = pwchange_reply(rc, reasons, n, nf, retry);
    return 0;
}

/* ---------------- users ---------------- */

static int h_user_list(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    json_t *users = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    int rc = vault_user_list(svc->v, &users);
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:b, s:o}", "ok", 1, "users", users);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_user_create(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "username", "password", "role", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    const char *user = NULL, *pw = NULL, *role = NULL;
    const char *reasons[PASSWORD_REASONS_MAX + 1];
    size_t n = 0;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    if (field_str(req->body, "username", 64, 1, &user) != 0 || !vault_username_valid(user)) {
        *reply = reply_error("invalid_username");
        return 0;
    }
    if (field_str(req->body, "role", 16, 1, &role) != 0 || !vault_role_valid(role)) {
        *reply = reply_error("invalid_role");
        return 0;
    }
    GET_STR("password", 4096, 1, pw);
    int rc = vault_user_create(svc->v, user, pw, role, actor, reasons, &n);
    switch (rc) {
    case 0:
        *reply = reply_ok();
        break;
    case SAFECAM_ERR_EXISTS:
        *reply = reply_error("exists");
        break;
    case SAFECAM_ERR_TOOBIG:
        *reply = reply_error("too_many_users");
        break;
    case SAFECAM_ERR_INVAL:
        *reply = reply_error("invalid_username");
        break;
    case SAFECAM_ERR_STATE:
        *reply = reply_error("invalid_role");
        break;
    case SAFECAM_ERR_POLICY:
        *reply = reasons_reply(reasons, n);
        break;
    default:
        return rc;
    }
    return 0;
}

static int h_user_update(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "username", "role", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    const char *user = NULL, *role = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    if (field_str(req->body, "username", 64, 1, &user) != 0 || !vault_username_valid(user)) {
        *reply = reply_error("not_found");
        return 0;
    }
    if (field_str(req->body, "role", 16, 1, &role) != 0 || !vault_role_valid(role)) {
        *reply = reply_error("invalid_role");
        return 0;
    }
    int rc = vault_user_update(svc->v, user, role, actor);
    switch (rc) {
    case 0:
        *reply = reply_ok();
        break;
    case SAFECAM_ERR_NOTFOUND:
        *reply = reply_error("not_found");
        break;
    case SAFECAM_ERR_STATE:
        *reply = reply_error("invalid_role");
        break;
    case SAFECAM_ERR_DENIED:
        *reply = reply_error("last_admin");
        break;
    default:
        return rc;
    }
    return 0;
}

static int h_user_delete(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "username", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    const char *user = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    if (field_str(req->body, "username", 64, 1, &user) != 0 || !vault_username_valid(user)) {
        *reply = reply_error("not_found");
        return 0;
    }
    int rc = vault_user_delete(svc->v, user, actor);
    switch (rc) {
    case 0:
        *reply = reply_ok();
        break;
    case SAFECAM_ERR_NOTFOUND:
        *reply = reply_error("not_found");
        break;
    case SAFECAM_ERR_DENIED:
        *reply = reply_error("last_admin");
        break;
    default:
        return rc;
    }
    return 0;
}

/* ---------------- settings ---------------- */

static int h_settings_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    struct vault_settings s;
    json_t *o = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    int rc = vault_settings_get(svc->v, &s);
    if (rc == 0)
        rc = vault_settings_to_json(&s, &o);
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:b, s:o}", "ok", 1, "settings", o);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_settings_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "settings", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    const char *bad = NULL;
    long min = 0, max = 0;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    json_t *subset = json_object_get(req->body, "settings");
    if (!json_is_object(subset)) {
        *reply = reply_field_error("invalid_request", "settings");
        return 0;
    }
    int rc = vault_settings_set_json(svc->v, subset, actor, &bad, &min, &max);
    if (rc == SAFECAM_ERR_INVAL && bad)
        *reply = json_pack("{s:s, s:s, s:I, s:I}", "error", "invalid_setting", "field", bad, "min",
                           (json_int_t)min, "max", (json_int_t)max);
    else if (rc == SAFECAM_ERR_NOTFOUND && bad)
        *reply = json_pack("{s:s, s:s}", "error", "unknown_field", "field", bad);
    else if (rc == 0)
        *reply = reply_ok();
    else
        return rc;
    return 0;
}

/* ---------------- linked services (linked.c) ---------------- */

static int h_linked_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", NULL};
    struct vault_service *svc = ctx;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    if (!svc->storage_key || !svc->state_dir) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    json_t *o = NULL;
    if (vault_linked_get(svc->state_dir, svc->storage_key, &o) != 0) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    *reply = json_pack("{s:b, s:o}", "ok", 1, "linked", o);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_linked_set(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "linked", NULL};
    struct vault_service *svc = ctx;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    if (!svc->storage_key || !svc->state_dir) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    char field[64];
    int rc = vault_linked_set(svc->state_dir, svc->storage_key, json_object_get(req->body, "linked"), field,
                              sizeof field);
    if (rc == SAFECAM_ERR_INVAL)
        *reply = json_pack("{s:s, s:s}", "error", "invalid_setting", "field", field[0] ? field : "linked");
    else if (rc != 0)
        *reply = json_pack("{s:s}", "error", "storage");
    else
        *reply = reply_ok();
    if (rc == 0)
        vault_service_link_notify(svc); /* the link process starts, stops or takes the new settings */
    return 0;
}

void vault_service_link_notify(struct vault_service *svc)
{
    static uint32_t next_id = 1u << 30; /* the vault's own requests: ids apart from its peers' */
    json_t *full = NULL;
    if (!svc || !svc->storage_key || !svc->state_dir || !svc->channel_fd ||
        vault_linked_full(svc->state_dir, svc->storage_key, &full) != 0) {
        log_warn("linked services: the stored settings cannot be read; the link process is not told");
        return;
    }
    int configured = vault_linked_configured(full);
    svc->link_upload_mode = vault_linked_upload_mode(full);
    json_t *note = json_pack("{s:b}", "configured", configured);
    int sup = svc->channel_fd(svc->channel_ctx, IPC_PEER_SUPERVISOR);
    if (!note || sup < 0 || ipc_send(sup, PROTO_SUP_LINK_STATE, 0, next_id++, note, -1) != 0)
        log_warn("linked services: cannot tell the supervisor");
    json_decref(note);
    int link = svc->channel_fd(svc->channel_ctx, IPC_PEER_LINK);
    if (configured && link >= 0) {
        json_t *body = json_pack("{s:O}", "linked", full);
        if (!body || ipc_send(link, PROTO_LINK_CONFIGURE, 0, next_id++, body, -1) != 0)
            log_warn("linked services: cannot send the new settings to the link process");
        json_decref(body);
    }
    json_decref(full);
}

/* What was not handed to the link process (its queue full, or gone): counted, and said in one line a minute
 * at most, so a stalled link process cannot fill the log. One per kind of push; used by the loop's thread only. */
struct link_miss {
    const char *what; /* plural noun for the log line */
    unsigned long count;
    int64_t last_said_ms;
};

static void link_miss_note(struct link_miss *m, int rc)
{
    m->count++;
    int64_t now = safecam_time_mono_ms();
    if (m->last_said_ms != 0 && now - m->last_said_ms < 60000)
        return;
    log_warn("linked services: %lu %s not handed to the link process (last: %s)", m->count, m->what,
             safecam_err_name(rc));
    m->last_said_ms = now;
    m->count = 0;
}

void vault_service_link_event(void *ctx, const char *type, int64_t time)
{
    static uint32_t next_id = 1u << 31; /* the vault's own pushes: ids apart from its peers' */
    /* the events the owner is told about (docs/linked-services.md "Events"); the rest stays in the log, and
     * the data_delete of POST /api/v1/linked/delete does not put a retained message straight back */
    static const char *const sent[] = {AUDIT_LOGIN_FAILURE,   AUDIT_LOCKOUT,        AUDIT_MOTION,
                                       AUDIT_DEVICE_START,    AUDIT_PROCESS_RESTART, AUDIT_UPDATE_INSTALL,
                                       AUDIT_UPDATE_REFUSED,  AUDIT_STREAM_ERROR};
    struct vault_service *svc = ctx;
    int wanted = 0;
    for (size_t i = 0; type && i < SAFECAM_ARRAY_LEN(sent); i++)
        wanted |= strcmp(type, sent[i]) == 0;
    int link = wanted && svc && svc->channel_fd ? svc->channel_fd(svc->channel_ctx, IPC_PEER_LINK) : -1;
    if (link < 0)
        return; /* no link process: no linked service configured (or it is restarting) */
    /* Best effort, never a wait: logins queue behind this loop, and a link process that stops reading
     * (a stalled broker) must not slow them. */
    static struct link_miss miss = {.what = "event(s)"};
    json_t *body = json_pack("{s:{s:s,s:I}}", "event", "type", type, "time", (json_int_t)time);
    int rc = body ? ipc_send_nowait(link, PROTO_LINK_EVENT, 0, next_id++, body, -1) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc != 0)
        link_miss_note(&miss, rc);
}

/* link. {} -> {"ok":true,"linked":{... with the passwords}}: the one place a password leaves the vault. */
static int h_link_settings(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {NULL};
    struct vault_service *svc = ctx;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    json_t *full = NULL;
    if (!svc->storage_key || !svc->state_dir || vault_linked_full(svc->state_dir, svc->storage_key, &full) != 0) {
        *reply = json_pack("{s:s}", "error", "storage");
        return 0;
    }
    *reply = json_pack("{s:b, s:o}", "ok", 1, "linked", full);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

/* ---------------- audit ---------------- */

/* Event types only the vault itself records (a peer cannot forge a login or a lockout). */
static int audit_type_vault_owned(const char *type)
{
    static const char *const owned[] = {AUDIT_LOGIN_SUCCESS, AUDIT_LOGIN_FAILURE,   AUDIT_LOCKOUT,
                                        AUDIT_SESSION_END,   AUDIT_PASSWORD_CHANGE, AUDIT_USER_CREATE,
                                        AUDIT_USER_UPDATE,   AUDIT_USER_DELETE,
                                        AUDIT_INTEGRATION_CREATE, AUDIT_INTEGRATION_ROTATE,
                                        AUDIT_INTEGRATION_DELETE};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(owned); i++)
        if (strcmp(type, owned[i]) == 0)
            return 1;
    return 0;
}

static int h_audit_record(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"type", "actor", "source", "detail", NULL};
    struct vault_service *svc = ctx;
    const char *type = NULL, *actor = NULL, *source = NULL, *detail = NULL;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    /* the link process records its engine's events and nothing else (it faces remote services) */
    if (field_str(req->body, "type", 64, 1, &type) != 0 || !audit_type_valid(type) ||
        audit_type_vault_owned(type) || (peer == IPC_PEER_LINK && strncmp(type, "link_", 5) != 0)) {
        *reply = reply_error("invalid_type");
        return 0;
    }
    GET_STR("actor", AUDIT_FIELD_MAX_BYTES, 0, actor);
    GET_STR("source", AUDIT_FIELD_MAX_BYTES, 0, source);
    GET_STR("detail", AUDIT_DETAIL_MAX_BYTES, 0, detail);
    if (!svc->audit)
        return SAFECAM_ERR_STATE;
    /* The sending process is recorded as the actor when it names none. */
    int rc = audit_event_record(svc->audit, type, actor ? actor : ipc_peer_name(peer), source, detail);
    if (rc == SAFECAM_ERR_INVAL) {
        *reply = reply_error("invalid_request");
        return 0;
    }
    if (rc != 0)
        return rc;
    *reply = reply_ok();
    return 0;
}

static int field_int(const json_t *body, const char *key, long long min, long long max, long long *out)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 1; /* absent */
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return SAFECAM_ERR_INVAL;
    *out = json_integer_value(v);
    return 0;
}

static int h_audit_query(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "since", "until", "type", "limit", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    struct audit_filter f = {0};
    long long n = 0;
    json_t *events = NULL;
    int rc;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    if ((rc = field_int(req->body, "since", 0, INT64_MAX, &n)) < 0) {
        *reply = reply_field_error("invalid_request", "since");
        return 0;
    }
    if (rc == 0)
        f.since = n;
    if ((rc = field_int(req->body, "until", 0, INT64_MAX, &n)) < 0) {
        *reply = reply_field_error("invalid_request", "until");
        return 0;
    }
    if (rc == 0)
        f.until = n;
    if ((rc = field_int(req->body, "limit", 1, AUDIT_QUERY_LIMIT_MAX, &n)) < 0) {
        *reply = reply_field_error("invalid_request", "limit");
        return 0;
    }
    f.limit = rc == 0 ? (unsigned)n : 100;
    if (field_str(req->body, "type", 64, 0, &f.type) != 0 || (f.type && !audit_type_valid(f.type))) {
        *reply = reply_error("invalid_type");
        return 0;
    }
    if (!svc->audit)
        return SAFECAM_ERR_STATE;
    rc = audit_event_query(svc->audit, &f, &events);
    if (rc == SAFECAM_ERR_INVAL) {
        *reply = reply_error("invalid_request");
        return 0;
    }
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:b, s:o}", "ok", 1, "events", events);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_audit_verify(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "cached", NULL};
    struct vault_service *svc = ctx;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    json_t *cached = json_object_get(req->body, "cached");
    if (cached && !json_is_boolean(cached)) {
        *reply = reply_field_error("invalid_request", "cached");
        return 0;
    }
    if (!svc->v)
        return SAFECAM_ERR_STATE;
    json_t *status = NULL;
    if (json_is_true(cached)) {
        status = vault_audit_status_json(svc->v);
    } else {
        struct audit_verify_result r;
        int rc = vault_audit_verify(svc->v, &r);
        if (rc != 0) {
            *reply = reply_error("unavailable");
            return 0;
        }
        status = vault_audit_result_json(&r);
    }
    if (!status)
        return SAFECAM_ERR_NOMEM;
    *reply = json_pack("{s:b, s:o}", "ok", 1, "verification", status);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_audit_export(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", NULL};
    struct vault_service *svc = ctx;
    (void)peer;
    if (body_check(req, keys, reply) != 0)
        return 0;
    if (!svc->v || !svc->storage_key)
        return SAFECAM_ERR_STATE;
    int fd = -1;
    int64_t size = 0;
    if (vault_audit_export(svc->v, svc->storage_key, &fd, &size) != 0) {
        *reply = reply_error("unavailable");
        return 0;
    }
    *reply = json_pack("{s:b, s:I}", "ok", 1, "size", (json_int_t)size);
    if (!*reply) {
        close(fd);
        return SAFECAM_ERR_NOMEM;
    }
    *reply_fd = fd; /* the dispatcher closes it once sent */
    return 0;
}

/* ---------------- TLS credentials ---------------- */

static int h_tls_credentials(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {NULL};
    struct vault_service *svc = ctx;
    char path[4096];
    char *cert = NULL, *sealed = NULL;
    size_t cert_len = 0, sealed_len = 0, key_len = 0;
    uint8_t *key = NULL;
    int rc;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    if (!svc->storage_key || !svc->state_dir)
        return SAFECAM_ERR_STATE;
    rc = safecam_path_join(path, sizeof path, svc->state_dir, STATEDIR_TLS_CERT);
    if (rc == 0)
        rc = safecam_file_read(path, TLS_FILE_MAX_BYTES, &cert, &cert_len);
    if (rc == 0)
        rc = safecam_path_join(path, sizeof path, svc->state_dir, STATEDIR_TLS_KEY_SEALED);
    if (rc == 0)
        rc = safecam_file_read(path, TLS_FILE_MAX_BYTES, &sealed, &sealed_len);
    if (rc == 0)
        rc = seal_data_open(svc->storage_key, "tls.key", (const uint8_t *)sealed, sealed_len, &key, &key_len);
    if (rc != 0) {
        log_err("vault: cannot provide the TLS credentials: %s", safecam_err_name(rc));
        *reply = reply_error("unavailable");
        rc = 0;
        goto out;
    }
    if (!safecam_utf8_valid(cert, cert_len) || !safecam_utf8_valid((const char *)key, key_len)) {
        *reply = reply_error("unavailable");
        goto out;
    }
    *reply = json_pack("{s:b, s:s%, s:s%}", "ok", 1, "cert_pem", cert, cert_len, "key_pem", (const char *)key,
                       key_len);
    rc = *reply ? 0 : SAFECAM_ERR_NOMEM;
out:
    free(cert);
    free(sealed);
    if (key) {
        sodium_memzero(key, key_len);
        sodium_free(key);
    }
    return rc;
}

/* ---------------- captures (capture.c; QCVN 135 G9, G10) ---------------- */

/* The optional "actor" and "source" of a capture request: strings, source an address as text.
 * The audited actor is the session's user (checked by the dispatcher: IPC_ADMIN), never the claimed one. */
static int capture_actor_source(const ipc_msg *req, json_t **reply, const char **source)
{
    const char *actor = NULL;
    if (field_str(req->body, "actor", VAULT_USERNAME_MAX, 0, &actor) != 0) {
        *reply = reply_field_error("invalid_request", "actor");
        return 1;
    }
    if (field_str(req->body, "source", VAULT_SOURCE_MAX, 0, source) != 0 ||
        (*source && !vault_source_valid(*source))) {
        *reply = reply_field_error("invalid_request", "source");
        return 1;
    }
    return 0;
}

/* A capture just stored: its JPEG to the link process for WebDAV, if one runs and uploads are on. Never a wait;
 * refused pushes are counted (link_miss_note). */
static void capture_hand_to_link(struct vault_service *svc, const struct vault_capture *c)
{
    static uint32_t next_id = (1u << 31) | (1u << 29);
    static struct link_miss miss = {.what = "capture(s)"};
    int link = svc->channel_fd ? svc->channel_fd(svc->channel_ctx, IPC_PEER_LINK) : -1;
    int mode = svc->link_upload_mode;
    if (link < 0 || (mode != LINK_UPLOAD_MOTION && mode != LINK_UPLOAD_ALL))
        return; /* no folder, or uploads off: the link process gets no picture */
    /* what was stored, unsealed into a memfd of the vault's own (not web's, which web could still change) */
    int fd = -1;
    int64_t size = 0;
    json_t *body = NULL;
    int rc = vault_capture_open(svc->v, svc->storage_key, c->id, &fd, &size);
    if (rc == 0)
        body = json_pack("{s:s,s:I}", "id", c->id, "created_at", (json_int_t)c->created_at);
    if (rc == 0)
        rc = body ? ipc_send_nowait(link, PROTO_LINK_UPLOAD_CAPTURE, 0, next_id++, body, fd) : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        link_miss_note(&miss, rc);
}

static int h_capture_store(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "actor", "source", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    const char *source = NULL;
    struct vault_capture c;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0 ||
        capture_actor_source(req, reply, &source) != 0)
        return 0;
    if (req->fd < 0) {
        *reply = reply_field_error("invalid_request", "fd");
        return 0;
    }
    if (!svc->storage_key || !svc->v)
        return SAFECAM_ERR_STATE;
    int rc = vault_capture_store(svc->v, svc->storage_key, req->fd, &c);
    switch (rc) {
    case 0:
        capture_hand_to_link(svc, &c);
        *reply = json_pack("{s:b, s:{s:s, s:I, s:I}}", "ok", 1, "capture", "id", c.id, "created_at",
                           (json_int_t)c.created_at, "size", (json_int_t)c.size);
        return *reply ? 0 : SAFECAM_ERR_NOMEM;
    case SAFECAM_ERR_INVAL:
        *reply = reply_error("invalid_request");
        break;
    case SAFECAM_ERR_TOOBIG:
        *reply = reply_error("too_large");
        break;
    case SAFECAM_ERR_STATE:
        *reply = reply_error("storage_full");
        break;
    default:
        *reply = reply_error("storage");
        break;
    }
    return 0;
}

static int h_capture_list(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", NULL};
    struct vault_service *svc = ctx;
    json_t *list = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    int rc = vault_capture_list(svc->v, &list);
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:b, s:o}", "ok", 1, "captures", list);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_capture_get(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "id", NULL};
    struct vault_service *svc = ctx;
    const char *id = NULL;
    int fd = -1;
    int64_t size = 0;
    (void)peer;
    if (body_check(req, keys, reply) != 0)
        return 0;
    if (field_str(req->body, "id", VAULT_CAPTURE_ID_HEX, 1, &id) != 0 || !vault_capture_id_valid(id)) {
        *reply = reply_field_error("invalid_request", "id");
        return 0;
    }
    if (!svc->storage_key || !svc->v)
        return SAFECAM_ERR_STATE;
    int rc = vault_capture_open(svc->v, svc->storage_key, id, &fd, &size);
    if (rc == SAFECAM_ERR_NOTFOUND) {
        *reply = reply_error("not_found");
        return 0;
    }
    if (rc != 0) {
        *reply = reply_error("storage");
        return 0;
    }
    *reply = json_pack("{s:b, s:I}", "ok", 1, "size", (json_int_t)size);
    if (!*reply) {
        close(fd);
        return SAFECAM_ERR_NOMEM;
    }
    *reply_fd = fd; /* the dispatcher closes it once sent */
    return 0;
}

static int h_capture_delete(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "id", "all", "actor", "source", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    const char *id = NULL, *source = NULL;
    int all = 0;
    long deleted = 0;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0 ||
        capture_actor_source(req, reply, &source) != 0)
        return 0;
    if (field_str(req->body, "id", VAULT_CAPTURE_ID_HEX, 0, &id) != 0 || (id && !vault_capture_id_valid(id))) {
        *reply = reply_field_error("invalid_request", "id");
        return 0;
    }
    /* exactly one of {"id"} and {"all":true}: a delete never widens by omission */
    if (field_bool(req->body, "all", 0, &all) != 0 || (all && id) || (!all && !id) ||
        (json_object_get(req->body, "all") && !all)) {
        *reply = reply_field_error("invalid_request", "all");
        return 0;
    }
    int rc = vault_capture_delete(svc->v, all ? NULL : id, actor, source, &deleted);
    switch (rc) {
    case 0:
        *reply = json_pack("{s:b, s:I}", "ok", 1, "deleted", (json_int_t)deleted);
        return *reply ? 0 : SAFECAM_ERR_NOMEM;
    case SAFECAM_ERR_NOTFOUND:
        *reply = reply_error("not_found");
        break;
    case SAFECAM_ERR_INVAL:
        *reply = reply_field_error("invalid_request", "id");
        break;
    default:
        *reply = reply_error("storage");
        break;
    }
    return 0;
}

/* ---------------- ONVIF WS-Security and integration accounts (integrations.c, wsse.c) ---------------- */

static int h_wsse_verify(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"username", "password_type", "password", "nonce", "created", "source", NULL};
    struct vault_service *svc = ctx;
    const char *user = NULL, *type = NULL, *pw = NULL, *nonce = NULL, *created = NULL, *source = NULL;
    struct vault_auth a;
    const char *why = NULL;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    GET_STR("username", LOGIN_NAME_MAX_BYTES, 1, user);
    GET_STR("password_type", 8, 1, type);
    GET_STR("password", PASSWORD_MAX_BYTES, 1, pw);
    GET_STR("nonce", WSSE_NONCE_B64_MAX, 0, nonce);
    GET_STR("created", WSSE_CREATED_MAX, 0, created);
    GET_STR("source", VAULT_SOURCE_MAX, 1, source);
    if (!vault_source_valid(source)) {
        *reply = reply_field_error("invalid_request", "source");
        return 0;
    }
    if (!svc->v || !svc->storage_key)
        return SAFECAM_ERR_STATE;
    if (strcmp(type, "text") == 0) {
        /* A person's password against its Argon2id hash (the login path, surface onvif), or an integration's
         * secret: both answer like an RTSP check, mapped to this message's error names. */
        if (!vault_integration_is(svc->v, user) && svc->workers && svc->admission) {
            int rc = login_deferred(svc, peer, req, user, pw, source, "onvif", 0, reply);
            if (rc == 0 && *reply)
                *reply = wsse_reply_map(*reply);
            return rc;
        }
        int rc = vault_integration_is(svc->v, user)
                     ? vault_integration_auth(svc->v, svc->storage_key, user, pw, source, "onvif", &a)
                     : vault_login(svc->v, user, pw, source, "onvif", 0, &a);
        *reply = wsse_reply_map(rc == 0 ? login_reply(&a, 0) : auth_failure_reply(rc, a.retry_after));
        sodium_memzero(&a, sizeof a);
        return *reply ? 0 : SAFECAM_ERR_NOMEM;
    }
    if (strcmp(type, "digest") != 0) {
        *reply = reply_field_error("invalid_request", "password_type");
        return 0;
    }
    int rc = vault_wsse_digest_check(svc->v, svc->storage_key, user, nonce, created, pw, source, &a, &why);
    switch (rc) {
    case 0:
        *reply = login_reply(&a, 0);
        break;
    case SAFECAM_ERR_LOCKED:
        *reply = json_pack("{s:s, s:I}", "error", "locked", "retry_after", (json_int_t)a.retry_after);
        break;
    case SAFECAM_ERR_BUSY:
        *reply = json_pack("{s:s, s:I}", "error", "busy", "retry_after", (json_int_t)(WSSE_WINDOW_S / 10));
        break;
    case SAFECAM_ERR_EXISTS:
        *reply = reply_error("replay");
        break;
    case SAFECAM_ERR_TIMEOUT:
        *reply = reply_error("stale");
        break;
    case SAFECAM_ERR_DENIED:
        *reply = reply_error("unauthorized");
        break;
    case SAFECAM_ERR_INVAL:
        *reply = reply_error("invalid_request");
        break;
    default:
        sodium_memzero(&a, sizeof a);
        return rc;
    }
    sodium_memzero(&a, sizeof a);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

/* RTSP Digest (PROTO_VAULT_DIGEST_CHECK, from media) and HTTP Digest (PROTO_VAULT_HTTP_DIGEST_CHECK, from web:
 * SHA-256 or MD5, each (nonce, nc) once). One check, vault_integration_digest_check; the message says which. */
static int h_digest_check(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"username", "realm", "nonce", "uri", "method", "response", "algorithm",
                                       "qop", "nc", "cnonce", "source", NULL};
    struct vault_service *svc = ctx;
    struct vault_digest_request d = {0};
    struct vault_auth a;
    const char *why = "";
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    GET_STR("username", LOGIN_NAME_MAX_BYTES, 1, d.username);
    GET_STR("realm", 64, 1, d.realm);
    GET_STR("nonce", 128, 1, d.nonce);
    GET_STR("uri", 1024, 1, d.uri);
    GET_STR("method", 32, 1, d.method);
    GET_STR("response", VAULT_DIGEST_HEX_MAX, 1, d.response);
    GET_STR("algorithm", 16, 0, d.algorithm);
    GET_STR("qop", 16, 0, d.qop);
    GET_STR("nc", 16, 0, d.nc);
    GET_STR("cnonce", 128, 0, d.cnonce);
    GET_STR("source", VAULT_SOURCE_MAX, 1, d.source);
    if (req->type == PROTO_VAULT_HTTP_DIGEST_CHECK) {
        d.surface = "http";
        d.replay_window_s = PROTO_HTTP_DIGEST_NONCE_S;
    }
    if (!svc->v || !svc->storage_key)
        return SAFECAM_ERR_STATE;
    int rc = vault_integration_digest_check(svc->v, svc->storage_key, &d, &a, &why);
    *reply = rc == 0 ? json_pack("{s:b, s:s, s:s}", "ok", 1, "username", a.username, "role", a.role)
                     : auth_failure_reply(rc, a.retry_after);
    sodium_memzero(&a, sizeof a);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_integration_list(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", NULL};
    struct vault_service *svc = ctx;
    char actor[VAULT_USERNAME_MAX + 1];
    json_t *list = NULL;
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    int rc = vault_integration_list(svc->v, &list);
    if (rc != 0)
        return rc;
    *reply = json_pack("{s:b, s:o}", "ok", 1, "integrations", list);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

/* create, rotate, delete: the same body and error names. */
static int integration_change(struct vault_service *svc, const ipc_msg *req, json_t **reply, int op)
{
    static const char *const keys[] = {"session_id", "username", "source", NULL};
    char actor[VAULT_USERNAME_MAX + 1];
    char *secret = NULL;
    const char *name = NULL, *source = NULL;
    if (body_check(req, keys, reply) != 0 || caller_actor(svc, actor, reply) != 0)
        return 0;
    if (field_str(req->body, "username", LOGIN_NAME_MAX_BYTES, 1, &name) != 0 || !vault_username_valid(name)) {
        *reply = reply_error("invalid_username");
        return 0;
    }
    if (field_str(req->body, "source", VAULT_SOURCE_MAX, 0, &source) != 0 ||
        (source && !vault_source_valid(source))) {
        *reply = reply_field_error("invalid_request", "source");
        return 0;
    }
    if (!svc->v || !svc->storage_key)
        return SAFECAM_ERR_STATE;
    int rc;
    if (op == 2) {
        rc = vault_integration_delete(svc->v, name, actor, source);
    } else {
        secret = sodium_malloc(VAULT_INTEGRATION_SECRET_BUF);
        if (!secret)
            return SAFECAM_ERR_NOMEM;
        rc = op == 0 ? vault_integration_create(svc->v, svc->storage_key, name, actor, source, secret)
                     : vault_integration_rotate(svc->v, svc->storage_key, name, actor, source, secret);
    }
    switch (rc) {
    case 0:
        *reply = secret ? json_pack("{s:b, s:s, s:s}", "ok", 1, "username", name, "secret", secret) : reply_ok();
        break;
    case SAFECAM_ERR_INVAL:
        *reply = reply_error("invalid_username");
        break;
    case SAFECAM_ERR_EXISTS:
        *reply = reply_error("exists");
        break;
    case SAFECAM_ERR_NOTFOUND:
        *reply = reply_error("not_found");
        break;
    case SAFECAM_ERR_TOOBIG:
        *reply = reply_error("too_many_integrations");
        break;
    default:
        break;
    }
    if (secret)
        sodium_free(secret); /* wipes */
    if (rc != 0 && !*reply)
        return rc;
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

static int h_integration_create(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    (void)reply_fd;
    return integration_change(ctx, req, reply, 0);
}

static int h_integration_rotate(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    (void)reply_fd;
    return integration_change(ctx, req, reply, 1);
}

static int h_integration_delete(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    (void)peer;
    (void)reply_fd;
    return integration_change(ctx, req, reply, 2);
}

/* ---------------- the table ---------------- */

#define SUP IPC_PEER_SUPERVISOR
#define WEB IPC_PEER_WEB
#define MEDIA IPC_PEER_MEDIA

/* The session hook of the dispatcher (IPC_NEEDS_SESSION, IPC_ADMIN rows): the session's user and role, and the
 * user kept in svc->caller for the handler that runs next (the audited actor). */
static int service_session_check(void *ctx, const char *session_id, struct ipc_session *out)
{
    struct vault_service *svc = ctx;
    struct vault_session_info info;
    svc->caller[0] = '\0';
    if (!svc->v)
        return SAFECAM_ERR_STATE;
    int rc = vault_session_check(svc->v, session_id, NULL, 0, &info);
    if (rc == 0 && (safecam_strlcpy(out->username, info.username, sizeof(out->username)) != 0 ||
                    safecam_strlcpy(out->role, info.role, sizeof(out->role)) != 0 ||
                    safecam_strlcpy(svc->caller, info.username, sizeof(svc->caller)) != 0))
        rc = SAFECAM_ERR_INTERNAL;
    if (rc == 0)
        out->password_change_required = info.password_change_required;
    sodium_memzero(&info, sizeof info);
    return rc;
}

/* Who may ask what, and the policy the dispatcher enforces first (lib/ipc: IPC_ADMIN = a live admin session
 * without a pending password change; IPC_NEEDS_SESSION = any such session; IPC_ONCE = once per channel). */
/* ---------------- recordings (recording.c; QCVN 135 G7, G9) ---------------- */

/* media. {"id","start_ms"} -> {"ok":true,"key","wrapped"} (base64): a fresh key for one segment, which the media
 * process holds only while it writes that segment. */
static int h_recording_key(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"id", "start_ms", NULL};
    struct vault_service *svc = ctx;
    const char *idhex = NULL;
    long long start = 0;
    uint8_t id[RECORD_ID_BYTES], key[RECORD_KEY_BYTES], wrapped[RECORD_WRAPPED_BYTES];
    char kb[sodium_base64_ENCODED_LEN(RECORD_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char wb[sodium_base64_ENCODED_LEN(RECORD_WRAPPED_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    if (field_str(req->body, "id", RECORD_ID_HEX, 1, &idhex) != 0 || record_id_parse(idhex, id) != 0) {
        *reply = reply_field_error("invalid_request", "id");
        return 0;
    }
    if (field_int(req->body, "start_ms", 0, 253402300799999LL, &start) != 0) {
        *reply = reply_field_error("invalid_request", "start_ms");
        return 0;
    }
    if (!svc->storage_key)
        return SAFECAM_ERR_STATE;
    int rc = vault_recording_key_new(svc->storage_key, id, (int64_t)start, key, wrapped);
    if (rc != 0) {
        *reply = reply_error("unavailable");
        return 0;
    }
    sodium_bin2base64(kb, sizeof kb, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(wb, sizeof wb, wrapped, sizeof wrapped, sodium_base64_VARIANT_ORIGINAL);
    *reply = json_pack("{s:b, s:s, s:s}", "ok", 1, "key", kb, "wrapped", wb);
    sodium_memzero(key, sizeof key);
    sodium_memzero(kb, sizeof kb);
    return *reply ? 0 : SAFECAM_ERR_NOMEM;
}

/* web. {"session_id","id"} + fd (the sealed segment, from media) -> {"ok":true,"size","complete"} + memfd with
 * the clear MP4 | {"error":"invalid_request"|"sealed_mismatch"|"storage"}. */
/* The sealed segment of req->fd decrypted into a memfd for *reply_fd, if its header names req's "id". */
static int recording_decrypt_reply(struct vault_service *svc, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    const char *idhex = NULL;
    uint8_t id[RECORD_ID_BYTES];
    uint64_t size = 0;
    int fd = -1, complete = 0;
    if (field_str(req->body, "id", RECORD_ID_HEX, 1, &idhex) != 0 || record_id_parse(idhex, id) != 0) {
        *reply = reply_field_error("invalid_request", "id");
        return 0;
    }
    if (req->fd < 0) {
        *reply = reply_field_error("invalid_request", "fd");
        return 0;
    }
    if (!svc->storage_key)
        return SAFECAM_ERR_STATE;
    int rc = vault_recording_open(svc->storage_key, req->fd, id, &fd, &size, &complete);
    if (rc == SAFECAM_ERR_CRYPTO || rc == SAFECAM_ERR_INVAL) {
        log_warn("recordings: a segment file was refused (edited, renamed or sealed under another key)");
        *reply = reply_error("sealed_mismatch");
        return 0;
    }
    if (rc != 0) {
        *reply = reply_error("storage");
        return 0;
    }
    *reply = json_pack("{s:b, s:I, s:b}", "ok", 1, "size", (json_int_t)size, "complete", complete);
    if (!*reply) {
        close(fd);
        return SAFECAM_ERR_NOMEM;
    }
    *reply_fd = fd;
    return 0;
}

static int h_recording_open(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"session_id", "id", NULL};
    (void)peer;
    if (body_check(req, keys, reply) != 0)
        return 0;
    return recording_decrypt_reply(ctx, req, reply, reply_fd);
}

/* The link process's copy for an upload: the same, without a session (it holds none), for a segment this process
 * handed it (PROTO_LINK_UPLOAD, the latest VAULT_LINK_FORWARDED_MAX) and at most once per
 * VAULT_LINK_DECRYPT_MIN_MS: a compromised link process gets no other recording and cannot keep the vault's loop
 * (which serves logins) decrypting. The answer names the segment. */
static int h_recording_decrypt(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"id", NULL};
    struct vault_service *svc = ctx;
    const char *idhex = json_string_value(json_object_get(req->body, "id"));
    (void)peer;
    if (body_check(req, keys, reply) != 0)
        return 0;
    int handed = 0;
    for (unsigned i = 0; idhex && i < VAULT_LINK_FORWARDED_MAX; i++)
        handed |= svc->link_forwarded[i][0] && strcmp(svc->link_forwarded[i], idhex) == 0;
    int64_t now = safecam_time_mono_ms();
    if (!handed) {
        *reply = json_pack("{s:s,s:s}", "error", "sealed_mismatch", "id", idhex ? idhex : "");
        return 0;
    }
    if (svc->link_decrypt_last_ms && now - svc->link_decrypt_last_ms < VAULT_LINK_DECRYPT_MIN_MS) {
        *reply = json_pack("{s:s,s:s}", "error", "busy", "id", idhex);
        return 0;
    }
    svc->link_decrypt_last_ms = now;
    int rc = recording_decrypt_reply(svc, req, reply, reply_fd);
    if (rc == 0 && *reply)
        json_object_set_new(*reply, "id", json_string(idhex));
    return rc;
}

/* A finished segment from media: handed on to the link process, sealed, if it runs. Never a wait: the vault's
 * loop serves logins; a link process that stops reading loses the notice (counted, said once a minute). */
static int h_recording_sealed(void *ctx, unsigned peer, const ipc_msg *req, json_t **reply, int *reply_fd)
{
    static const char *const keys[] = {"id", "start_ms", "end_ms", "event", NULL};
    static uint32_t next_id = (1u << 31) | (1u << 30); /* the vault's own pushes of segments */
    static struct link_miss miss = {.what = "finished segment(s)"};
    struct vault_service *svc = ctx;
    const char *idhex = NULL;
    uint8_t id[RECORD_ID_BYTES];
    (void)peer;
    (void)reply_fd;
    if (body_check(req, keys, reply) != 0)
        return 0;
    const json_t *ev = json_object_get(req->body, "event");
    if (field_str(req->body, "id", RECORD_ID_HEX, 1, &idhex) != 0 || record_id_parse(idhex, id) != 0 ||
        !json_is_integer(json_object_get(req->body, "start_ms")) ||
        json_integer_value(json_object_get(req->body, "start_ms")) < 0 ||
        !json_is_integer(json_object_get(req->body, "end_ms")) ||
        json_integer_value(json_object_get(req->body, "end_ms")) < json_integer_value(json_object_get(req->body, "start_ms")) ||
        (ev && !json_is_null(ev) && !(json_is_string(ev) && strcmp(json_string_value(ev), "motion") == 0)) ||
        req->fd < 0) {
        *reply = reply_field_error("invalid_request", "id");
        return 0;
    }
    int fl = fcntl(req->fd, F_GETFL);
    struct stat st;
    if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY || fstat(req->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *reply = reply_field_error("invalid_request", "fd"); /* the sealed file, read-only, and nothing else */
        return 0;
    }
    /* only what the stored settings want goes to the link process: nothing while uploads are off or no folder
     * is configured (it then serves MQTT alone and gets no video) */
    int link = svc->channel_fd ? svc->channel_fd(svc->channel_ctx, IPC_PEER_LINK) : -1;
    int mode = svc->link_upload_mode;
    int motion = ev && json_is_string(ev);
    if (mode != LINK_UPLOAD_ALL && !(mode == LINK_UPLOAD_MOTION && motion))
        link = -1;
    int rc = link >= 0 ? ipc_send_nowait(link, PROTO_LINK_UPLOAD, 0, next_id++, req->body, req->fd) : 0;
    if (link >= 0 && rc == 0) {
        memcpy(svc->link_forwarded[svc->link_forwarded_next], idhex, RECORD_ID_HEX + 1);
        svc->link_forwarded_next = (svc->link_forwarded_next + 1) % VAULT_LINK_FORWARDED_MAX;
    }
    if (rc != 0)
        link_miss_note(&miss, rc);
    *reply = json_pack("{s:b, s:b}", "ok", 1, "forwarded", link >= 0 && rc == 0);
    return 0;
}

static const struct ipc_rule vault_rules[] = {
    {PROTO_VAULT_LOGIN, WEB, 0, h_login},
    {PROTO_VAULT_AUTH_CHECK, WEB | MEDIA, 0, h_auth_check},
    {PROTO_VAULT_SESSION_CHECK, WEB, 0, h_session_check},
    {PROTO_VAULT_SESSION_END, WEB, 0, h_session_end},
    {PROTO_VAULT_PASSWORD_CHANGE, WEB, 0, h_password_change}, /* the own password also while its change is pending */
    {PROTO_VAULT_USER_LIST, WEB, IPC_ADMIN, h_user_list},
    {PROTO_VAULT_USER_CREATE, WEB, IPC_ADMIN, h_user_create},
    {PROTO_VAULT_USER_UPDATE, WEB, IPC_ADMIN, h_user_update},
    {PROTO_VAULT_USER_DELETE, WEB, IPC_ADMIN, h_user_delete},
    {PROTO_VAULT_SETTINGS_GET, WEB, IPC_ADMIN, h_settings_get},
    {PROTO_VAULT_SETTINGS_SET, WEB, IPC_ADMIN, h_settings_set},
    {PROTO_VAULT_AUDIT_RECORD, WEB | MEDIA | SUP | IPC_PEER_UPDATE | IPC_PEER_LINK, 0, h_audit_record},
    {PROTO_VAULT_AUDIT_QUERY, WEB, IPC_ADMIN, h_audit_query},
    {PROTO_VAULT_AUDIT_VERIFY, WEB, IPC_ADMIN, h_audit_verify},
    {PROTO_VAULT_AUDIT_EXPORT, WEB, IPC_ADMIN, h_audit_export},
    {PROTO_VAULT_TLS_CREDENTIALS, WEB | MEDIA, 0, h_tls_credentials},
    {PROTO_VAULT_CAPTURE_STORE, WEB, IPC_ADMIN, h_capture_store},
    {PROTO_VAULT_CAPTURE_LIST, WEB, IPC_NEEDS_SESSION, h_capture_list},
    {PROTO_VAULT_CAPTURE_GET, WEB, IPC_NEEDS_SESSION, h_capture_get},
    {PROTO_VAULT_CAPTURE_DELETE, WEB, IPC_ADMIN, h_capture_delete},
    {PROTO_VAULT_WSSE_VERIFY, WEB, 0, h_wsse_verify},
    {PROTO_VAULT_DIGEST_CHECK, MEDIA, 0, h_digest_check},
    {PROTO_VAULT_HTTP_DIGEST_CHECK, WEB, 0, h_digest_check},
    {PROTO_VAULT_INTEGRATION_LIST, WEB, IPC_ADMIN, h_integration_list},
    {PROTO_VAULT_INTEGRATION_CREATE, WEB, IPC_ADMIN, h_integration_create},
    {PROTO_VAULT_INTEGRATION_ROTATE, WEB, IPC_ADMIN, h_integration_rotate},
    {PROTO_VAULT_INTEGRATION_DELETE, WEB, IPC_ADMIN, h_integration_delete},
    {PROTO_VAULT_RECORDING_KEY, MEDIA, 0, h_recording_key},
    {PROTO_VAULT_RECORDING_OPEN, WEB, IPC_NEEDS_SESSION, h_recording_open},
    {PROTO_VAULT_RECORDING_SEALED, MEDIA, 0, h_recording_sealed},
    {PROTO_VAULT_RECORDING_DECRYPT, IPC_PEER_LINK, 0, h_recording_decrypt},
    {PROTO_VAULT_LINKED_GET, WEB, IPC_ADMIN, h_linked_get},
    {PROTO_VAULT_LINKED_SET, WEB, IPC_ADMIN, h_linked_set},
    {PROTO_VAULT_LINK_SETTINGS, IPC_PEER_LINK, 0, h_link_settings}, /* the secrets: to the link peer only */
};

static const struct ipc_dispatcher vault_dispatcher = {vault_rules, SAFECAM_ARRAY_LEN(vault_rules),
                                                       service_session_check};

const struct ipc_dispatcher *vault_service_dispatcher(void)
{
    return &vault_dispatcher;
}
