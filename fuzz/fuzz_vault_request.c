/* fuzz_vault_request.c — libFuzzer target for the vault's request handlers (lib/vault/service.c) behind
 * the real dispatch table: every body a less trusted process (web, media) can send.
 * Input layout: byte 0 picks the message type (index into the vault's table, or a raw number when
 * >= the table size), byte 1 the sending peer bits, the rest is the JSON body (strict decode as ipc.c).
 * Invariants: no crash or leak; every reply is a JSON object with "ok":true or a string "error"; no reply
 * ever holds a password hash; a refused peer never reaches a handler. A real vault runs in a temp dir
 * (Argon2id cost lowered via the test-only setter so a run does thousands of requests). */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "safecam/audit.h"
#include "safecam/ipc.h"
#include "safecam/proto.h"
#include "safecam/statedir.h"
#include "safecam/vault.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vault_service svc;
static int chan[2] = {-1, -1};
static char dir[64];
static uint8_t fuzz_storage_key[32]; /* random per run: the CSRF key is sealed under it */

static int write_text(const char *name, const char *text)
{
    char path[256];
    if (safecam_path_join(path, sizeof path, dir, name) != 0)
        return -1;
    return safecam_file_write_atomic(path, text, strlen(text), 0600);
}

static void cleanup(void)
{
    static const char *const names[] = {STATEDIR_VAULT_DB,    STATEDIR_VAULT_DB "-wal", STATEDIR_VAULT_DB "-shm",
                                        STATEDIR_AUDIT_DB,    STATEDIR_AUDIT_DB "-wal", STATEDIR_AUDIT_DB "-shm",
                                        STATEDIR_DEVICE_JSON, STATEDIR_FACTORY,         STATEDIR_VAULT_DIR};
    char path[256];
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(names); i++)
        if (safecam_path_join(path, sizeof path, dir, names[i]) == 0 && unlink(path) != 0)
            (void)rmdir(path);
    (void)rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char hash[VAULT_HASH_BYTES], path[256];
    audit_log *audit = NULL;
    vault *v = NULL;
    safecam_log_init("fuzz", SAFECAM_LOG_ERR);
    if (sodium_init() < 0)
        abort();
    vault_argon2_cost_set_for_tests(1, 8 * 1024);
    snprintf(dir, sizeof dir, "/tmp/fuzz_vault.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    if (safecam_path_join(path, sizeof path, dir, STATEDIR_FACTORY) != 0 || mkdir(path, 0700) != 0)
        abort();
    if (write_text(STATEDIR_DEVICE_JSON,
                   "{\"serial\":\"SC7Q2KX9\",\"model\":\"SC-100\",\"mac\":\"02:5c:aa:10:20:30\","
                   "\"product\":\"safecam\",\"provisioned_at\":1700000000}") != 0)
        abort();
    randombytes_buf(fuzz_storage_key, sizeof fuzz_storage_key);
    if (vault_password_hash("Qx7#vLp2!mZr-fuzz", hash) != 0 ||
        vault_store_provision(dir, "admin", hash, 0) != 0)
        abort();
    if (safecam_path_join(path, sizeof path, dir, STATEDIR_AUDIT_DB) != 0 ||
        audit_log_open(path, &audit) != 0 || vault_open(dir, audit, fuzz_storage_key, &v) != 0)
        abort();
    if (ipc_channel_pair(chan) != 0)
        abort();
    svc = (struct vault_service){.v = v, .audit = audit, .state_dir = dir, .storage_key = NULL};
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct ipc_dispatcher *d = vault_service_dispatcher();
    const struct ipc_rule *routes = d->rules;
    size_t n_routes = d->n;
    struct ipc_channel_state st = {0}; /* a fresh channel per input */
    if (size < 2 || size > 4096)
        return 0;
    uint16_t type = data[0] < n_routes ? routes[data[0]].type : data[0];
    unsigned peer = data[1] & 0x1f;
    json_error_t err;
    json_t *body =
        json_loadb((const char *)data + 2, size - 2, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &err);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    ipc_msg req = {.type = type, .flags = 0, .id = 1, .body = body, .fd = -1};
    int allowed = 0;
    for (size_t i = 0; i < n_routes; i++)
        if (routes[i].type == type && (routes[i].allowed_peers & peer))
            allowed = 1;
    int rc = ipc_dispatcher_run(d, &st, &svc, peer, chan[0], &req);
    if (!allowed) {
        if (rc != SAFECAM_ERR_PROTO)
            abort();
    } else {
        ipc_msg reply = {.fd = -1};
        if (rc != 0 || ipc_recv(chan[1], &reply, 1000) != 0)
            abort();
        json_t *ok = json_object_get(reply.body, "ok");
        json_t *e = json_object_get(reply.body, "error");
        if (!(json_is_true(ok) || json_is_string(e)))
            abort();
        char *text = json_dumps(reply.body, 0);
        if (!text || strstr(text, "$argon2"))
            abort();
        free(text);
        ipc_msg_clear(&reply);
    }
    json_decref(body);
    return 0;
}
