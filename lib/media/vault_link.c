/* vault_link.c — the media process's channel to the vault: RTSP credential checks, the device TLS credentials,
 * segment keys, and audit events and finished segments (sent from a worker thread, bounded queue). Runs in safecam-media (network-facing); the
 * vault decides, this file only asks, through the typed calls of lib/client over the one IPC client
 * (lib/ipc/client.c: a timed lock shared by RTSP client threads and the main loop, and the channel swap). */
#include <glib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safecam/ipc_client.h"
#include "safecam/media.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

#define VAULT_AUTH_TIMEOUT_MS 10000
#define VAULT_SHORT_TIMEOUT_MS 3000
#define VAULT_LOCK_WAIT_MS 20000
#define AUDIT_QUEUE_MAX 64

struct media_vault_link {
    ipc_client *client; /* the channel to the vault, shared by RTSP client threads and the main loop */
    GThreadPool *pool; /* one worker: audit events and finished segments, in order */
};

static int link_auth_check(void *ctx, const char *username, const char *password, const char *source,
                           char *role, size_t role_size, int *pcr)
{
    media_vault_link *l = ctx;
    json_t *refusal = NULL;
    int rc = vault_client_auth_check(l->client, username, password, source, "rtsp", VAULT_AUTH_TIMEOUT_MS, role,
                                     role_size, pcr, &refusal);
    if (rc == 0 && refusal) {
        const char *err = json_string_value(json_object_get(refusal, "error"));
        rc = !err                                      ? SAFECAM_ERR_PROTO
             : strcmp(err, "locked") == 0              ? SAFECAM_ERR_LOCKED
             : strcmp(err, "busy") == 0                ? SAFECAM_ERR_BUSY /* the vault's hash workers are full */
             : strcmp(err, "invalid_credentials") == 0 ? SAFECAM_ERR_DENIED
             : strcmp(err, "invalid_request") == 0     ? SAFECAM_ERR_INVAL /* e.g. an over-long password: 401 */
                                                       : SAFECAM_ERR_INTERNAL;
    }
    json_decref(refusal);
    return rc;
}

static int link_digest_check(void *ctx, const char *username, const char *realm, const char *nonce, const char *uri,
                             const char *method, const char *response, const char *qop, const char *nc,
                             const char *cnonce, const char *source, char *role, size_t role_size)
{
    media_vault_link *l = ctx;
    json_t *refusal = NULL;
    int rc = vault_client_digest_check(l->client, username, realm, nonce, uri, method, response, qop, nc, cnonce,
                                       source, VAULT_AUTH_TIMEOUT_MS, role, role_size, &refusal);
    if (rc == 0 && refusal) {
        const char *err = json_string_value(json_object_get(refusal, "error"));
        rc = !err                                      ? SAFECAM_ERR_PROTO
             : strcmp(err, "locked") == 0              ? SAFECAM_ERR_LOCKED
             : strcmp(err, "invalid_credentials") == 0 ? SAFECAM_ERR_DENIED
             : strcmp(err, "invalid_request") == 0     ? SAFECAM_ERR_INVAL
                                                       : SAFECAM_ERR_INTERNAL;
    }
    json_decref(refusal);
    return rc;
}

/* Audit events and finished segments go to the vault from a worker thread, so a slow vault never stalls the
 * main loop (and with it the supervisor's heartbeats). The queue is bounded; beyond it a job is dropped with a
 * log line. */
struct vault_job {
    uint16_t type; /* PROTO_VAULT_AUDIT_RECORD or PROTO_VAULT_RECORDING_SEALED */
    json_t *body;
    int fd; /* the sealed segment (RECORDING_SEALED), else -1 */
};

static void job_free(struct vault_job *j)
{
    json_decref(j->body);
    if (j->fd >= 0)
        close(j->fd);
    g_free(j);
}

static void vault_worker(gpointer data, gpointer user)
{
    media_vault_link *l = user;
    struct vault_job *j = data;
    if (j->type == PROTO_VAULT_AUDIT_RECORD) {
        const char *type = json_string_value(json_object_get(j->body, "type"));
        int rc = vault_client_audit_record(l->client, type, "media",
                                           json_string_value(json_object_get(j->body, "source")),
                                           json_string_value(json_object_get(j->body, "detail")),
                                           VAULT_SHORT_TIMEOUT_MS);
        if (rc != 0)
            log_warn("audit: cannot record %s (%s)", type,
                     rc == SAFECAM_ERR_DENIED ? "refused" : safecam_err_name(rc));
    } else {
        json_t *reply = NULL, *refusal = NULL;
        int rc = ipc_client_request(l->client, j->type, j->body, j->fd, VAULT_SHORT_TIMEOUT_MS, &reply, NULL,
                                    &refusal);
        if (rc != 0 || refusal)
            log_debug("recordings: the vault was not told of a finished segment (%s)",
                      rc ? safecam_err_name(rc) : "refused");
        json_decref(reply);
        json_decref(refusal);
    }
    job_free(j);
}

/* Queue a job; takes body and fd (both released when the queue is full). */
static void vault_job_push(media_vault_link *l, uint16_t type, json_t *body, int fd, const char *what)
{
    struct vault_job *j = body ? g_try_new0(struct vault_job, 1) : NULL;
    if (!j) {
        json_decref(body);
        if (fd >= 0)
            close(fd);
        return;
    }
    *j = (struct vault_job){type, body, fd};
    if (!l->pool || g_thread_pool_unprocessed(l->pool) >= AUDIT_QUEUE_MAX ||
        !g_thread_pool_push(l->pool, j, NULL)) {
        log_warn("vault: queue full, %s not sent", what);
        job_free(j);
    }
}

static void link_audit(void *ctx, const char *type, const char *source, const char *detail)
{
    json_t *body = json_pack("{s:s,s:s?,s:s}", "type", type, "source", source, "detail", detail ? detail : "");
    vault_job_push(ctx, PROTO_VAULT_AUDIT_RECORD, body, -1, type);
}

static void link_segment_sealed(void *ctx, const char *idhex, int64_t start_ms, int64_t end_ms, const char *event,
                                int fd)
{
    json_t *body = json_pack("{s:s,s:I,s:I,s:s?}", "id", idhex, "start_ms", (json_int_t)start_ms, "end_ms",
                             (json_int_t)end_ms, "event", event);
    vault_job_push(ctx, PROTO_VAULT_RECORDING_SEALED, body, fd, "a finished segment");
}

int media_vault_link_new(media_vault_link **out)
{
    *out = NULL;
    media_vault_link *l = g_try_new0(media_vault_link, 1);
    if (!l)
        return SAFECAM_ERR_NOMEM;
    if (sodium_init() < 0 || ipc_client_new(VAULT_LOCK_WAIT_MS, 0, &l->client) != 0) {
        log_err("cannot set up the vault client");
        g_free(l);
        return SAFECAM_ERR_NOMEM;
    }
    l->pool = g_thread_pool_new(vault_worker, l, 1, FALSE, NULL);
    *out = l;
    return 0;
}

void media_vault_link_free(media_vault_link *l)
{
    if (!l)
        return;
    if (l->pool)
        g_thread_pool_free(l->pool, TRUE, TRUE); /* waits for the event being sent (<= 3 s) */
    ipc_client_free(l->client);
    g_free(l);
}

void media_vault_link_channel_set(media_vault_link *l, int fd)
{
    if (ipc_client_channel_set(l->client, fd) != 0) /* the client owns fd, also on error */
        log_warn("vault channel refused");
}

int media_vault_link_lost(media_vault_link *l)
{
    return l ? ipc_client_channel_lost(l->client) : 0;
}

/* A segment key from the vault (PROTO_VAULT_RECORDING_KEY): base64 key and wrapped key, both wiped here. */
static int link_recording_key(void *ctx, const char *idhex, int64_t start_ms, uint8_t key[32], uint8_t wrapped[76])
{
    media_vault_link *l = ctx;
    json_t *reply = NULL, *refusal = NULL;
    json_t *body = json_pack("{s:s,s:I}", "id", idhex, "start_ms", (json_int_t)start_ms);
    int rc = body ? ipc_client_request(l->client, PROTO_VAULT_RECORDING_KEY, body, -1, VAULT_SHORT_TIMEOUT_MS, &reply,
                                       NULL, &refusal)
                  : SAFECAM_ERR_NOMEM;
    json_decref(body);
    if (rc == 0 && refusal)
        rc = SAFECAM_ERR_DENIED;
    const char *kb = rc == 0 ? json_string_value(json_object_get(reply, "key")) : NULL;
    const char *wb = rc == 0 ? json_string_value(json_object_get(reply, "wrapped")) : NULL;
    size_t kl = 0, wl = 0;
    if (rc == 0 && (!kb || !wb ||
                    sodium_base642bin(key, 32, kb, strlen(kb), NULL, &kl, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
                    sodium_base642bin(wrapped, 76, wb, strlen(wb), NULL, &wl, NULL, sodium_base64_VARIANT_ORIGINAL) !=
                        0 ||
                    kl != 32 || wl != 76))
        rc = SAFECAM_ERR_PROTO;
    if (rc != 0)
        sodium_memzero(key, 32);
    if (kb)
        sodium_memzero((void *)kb, strlen(kb)); /* the reply's copy of the key */
    json_decref(reply);
    json_decref(refusal);
    return rc;
}

struct media_vault_ops media_vault_link_ops(media_vault_link *l)
{
    return (struct media_vault_ops){
        .auth_check = link_auth_check, .audit = link_audit, .digest_check = link_digest_check,
        .recording_key = link_recording_key, .segment_sealed = link_segment_sealed, .ctx = l};
}

int media_vault_link_tls_load(media_vault_link *l, media_service *svc)
{
    char *cert = NULL, *key = NULL;
    size_t key_len = 0;
    int rc = vault_client_tls_credentials(l->client, VAULT_SHORT_TIMEOUT_MS, &cert, &key, &key_len);
    if (rc == 0) {
        rc = media_service_tls_set(svc, cert, key);
        sodium_free(key); /* wipes */
        free(cert);
    }
    return rc;
}
