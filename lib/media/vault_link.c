/* vault_link.c — the media process's channel to the vault: RTSP credential checks, the device TLS credentials
 * and audit events (sent from a worker thread, bounded queue). Runs in safecam-media (network-facing); the
 * vault decides, this file only asks. Any thread may call it: one lock serialises the channel. */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "safecam/ipc.h"
#include "safecam/media.h"
#include "safecam/proto.h"

#define VAULT_AUTH_TIMEOUT_MS 10000
#define VAULT_SHORT_TIMEOUT_MS 3000
#define AUDIT_QUEUE_MAX 64

struct media_vault_link {
    GMutex lock; /* serialises every use of fd (RTSP client threads + main loop) */
    int fd;
    GThreadPool *audit_pool;
};

static void wipe_json_string(json_t *s)
{
    if (json_is_string(s)) {
        volatile char *p = (volatile char *)json_string_value(s);
        size_t n = json_string_length(s);
        for (size_t i = 0; i < n; i++)
            p[i] = 0;
    }
}

static int vault_call(media_vault_link *l, uint16_t type, const json_t *body, json_t **reply, int timeout_ms)
{
    g_mutex_lock(&l->lock);
    int rc = l->fd >= 0 ? ipc_call(l->fd, type, body, -1, reply, NULL, timeout_ms) : SAFECAM_ERR_CLOSED;
    if (rc == SAFECAM_ERR_PROTO || rc == SAFECAM_ERR_CLOSED || rc == SAFECAM_ERR_TIMEOUT) {
        /* A channel that timed out may deliver a late reply: drop it, the supervisor sends a fresh one. */
        if (l->fd >= 0) {
            log_warn("vault channel unusable (%s): dropped", safecam_err_name(rc));
            close(l->fd);
            l->fd = -1;
        }
    }
    g_mutex_unlock(&l->lock);
    return rc;
}

static int link_auth_check(void *ctx, const char *username, const char *password, const char *source,
                           char *role, size_t role_size, int *pcr)
{
    json_t *reply = NULL;
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "username", username, "password", password, "source",
                             source, "surface", "rtsp");
    if (!body)
        return SAFECAM_ERR_NOMEM;
    int rc = vault_call(ctx, PROTO_VAULT_AUTH_CHECK, body, &reply, VAULT_AUTH_TIMEOUT_MS);
    wipe_json_string(json_object_get(body, "password"));
    json_decref(body);
    if (rc != 0)
        return rc;
    const char *err = json_string_value(json_object_get(reply, "error"));
    const char *r = json_string_value(json_object_get(reply, "role"));
    json_t *p = json_object_get(reply, "password_change_required");
    if (err) {
        rc = strcmp(err, "locked") == 0                ? SAFECAM_ERR_LOCKED
             : strcmp(err, "invalid_credentials") == 0 ? SAFECAM_ERR_DENIED
             : strcmp(err, "invalid_request") == 0 ? SAFECAM_ERR_INVAL /* e.g. an over-long password: 401 */
                                                   : SAFECAM_ERR_INTERNAL;
    } else if (json_is_true(json_object_get(reply, "ok")) && r && safecam_strlcpy(role, r, role_size) == 0) {
        *pcr = json_is_true(p) ? 1 : 0;
        rc = 0;
    } else {
        rc = SAFECAM_ERR_PROTO;
    }
    json_decref(reply);
    return rc;
}

/* Audit events go to the vault from a worker thread, so a slow vault never stalls the main loop (and with
 * it the supervisor's heartbeats). The queue is bounded; beyond it events are dropped with a log line. */
static void audit_worker(gpointer data, gpointer user)
{
    json_t *body = data;
    json_t *reply = NULL;
    int rc = vault_call(user, PROTO_VAULT_AUDIT_RECORD, body, &reply, VAULT_SHORT_TIMEOUT_MS);
    if (rc != 0 || json_object_get(reply, "error"))
        log_warn("audit: cannot record %s (%s)", json_string_value(json_object_get(body, "type")),
                 rc ? safecam_err_name(rc) : "refused");
    json_decref(body);
    json_decref(reply);
}

static void link_audit(void *ctx, const char *type, const char *source, const char *detail)
{
    media_vault_link *l = ctx;
    json_t *body = json_pack("{s:s,s:s,s:s?,s:s}", "type", type, "actor", "media", "source", source, "detail",
                             detail ? detail : "");
    if (!body)
        return;
    if (!l->audit_pool || g_thread_pool_unprocessed(l->audit_pool) >= AUDIT_QUEUE_MAX ||
        !g_thread_pool_push(l->audit_pool, body, NULL)) {
        log_warn("audit: queue full, %s not recorded", type);
        json_decref(body);
    }
}

int media_vault_link_new(media_vault_link **out)
{
    media_vault_link *l = g_try_new0(media_vault_link, 1);
    if (!l)
        return SAFECAM_ERR_NOMEM;
    g_mutex_init(&l->lock);
    l->fd = -1;
    l->audit_pool = g_thread_pool_new(audit_worker, l, 1, FALSE, NULL);
    *out = l;
    return 0;
}

void media_vault_link_free(media_vault_link *l)
{
    if (!l)
        return;
    if (l->audit_pool)
        g_thread_pool_free(l->audit_pool, TRUE, TRUE); /* waits for the event being sent (<= 3 s) */
    g_mutex_lock(&l->lock);
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    g_mutex_unlock(&l->lock);
    g_mutex_clear(&l->lock);
    g_free(l);
}

void media_vault_link_channel_set(media_vault_link *l, int fd)
{
    g_mutex_lock(&l->lock);
    if (l->fd >= 0)
        close(l->fd);
    l->fd = fd;
    g_mutex_unlock(&l->lock);
}

struct media_vault_ops media_vault_link_ops(media_vault_link *l)
{
    return (struct media_vault_ops){.auth_check = link_auth_check, .audit = link_audit, .ctx = l};
}

int media_vault_link_tls_load(media_vault_link *l, media_service *svc)
{
    json_t *reply = NULL;
    int rc = vault_call(l, PROTO_VAULT_TLS_CREDENTIALS, NULL, &reply, VAULT_SHORT_TIMEOUT_MS);
    if (rc == 0) {
        json_t *cert = json_object_get(reply, "cert_pem"), *key = json_object_get(reply, "key_pem");
        if (json_is_string(cert) && json_is_string(key))
            rc = media_service_tls_set(svc, json_string_value(cert), json_string_value(key));
        else
            rc = SAFECAM_ERR_PROTO;
        wipe_json_string(key);
    }
    json_decref(reply);
    return rc;
}
