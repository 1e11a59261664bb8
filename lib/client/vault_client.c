/* vault_client.c — the typed vault calls (include/safecam/vault_client.h): each builds its request body here,
 * once, and copies typed fields out of the reply. Runs in web and media (unprivileged, network-facing); the
 * vault's replies are treated as untrusted (typed, size-checked copies only). */
#include "safecam/vault_client.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safecam/proto.h"

/* Zero every string member of obj (passwords, session ids, tokens), then drop the reference. */
static void body_wipe_free(json_t *obj)
{
    if (!obj)
        return;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (json_is_string(val) && json_string_length(val) > 0)
            sodium_memzero((char *)(uintptr_t)json_string_value(val), json_string_length(val));
    }
    json_decref(obj);
}

/* Copy reply[key] into dst when it is a string shorter than dst_size; else dst = "". */
static void copy_str(const json_t *reply, const char *key, char *dst, size_t dst_size)
{
    const json_t *v = json_object_get(reply, key);
    dst[0] = '\0';
    if (json_is_string(v) && safecam_strlcpy(dst, json_string_value(v), dst_size) != 0)
        dst[0] = '\0';
}

/* Copy a token only when it is exactly VAULT_CLIENT_TOKEN_HEX characters long. */
static void copy_token(const json_t *reply, const char *key, char dst[VAULT_CLIENT_TOKEN_HEX + 1])
{
    const json_t *v = json_object_get(reply, key);
    dst[0] = '\0';
    if (json_is_string(v) && json_string_length(v) == VAULT_CLIENT_TOKEN_HEX &&
        strlen(json_string_value(v)) == VAULT_CLIENT_TOKEN_HEX)
        memcpy(dst, json_string_value(v), VAULT_CLIENT_TOKEN_HEX + 1);
}

/* Send body (stolen, wiped afterwards; NULL = out of memory) and split the answer. */
static int call(ipc_client *c, uint16_t type, json_t *body, int timeout_ms, json_t **reply, json_t **refusal)
{
    *reply = NULL;
    if (!body) {
        *refusal = NULL;
        return SAFECAM_ERR_NOMEM;
    }
    int rc = ipc_client_request(c, type, body, -1, timeout_ms, reply, NULL, refusal);
    body_wipe_free(body);
    return rc;
}

/* A call whose only result is ok or a refusal. */
static int call_plain(ipc_client *c, uint16_t type, json_t *body, json_t **refusal)
{
    json_t *reply = NULL;
    int rc = call(c, type, body, VAULT_CLIENT_TIMEOUT_MS, &reply, refusal);
    json_decref(reply);
    return rc;
}

/* A call returning one member of the reply (new reference; an empty array when absent or mistyped). */
static int call_member(ipc_client *c, uint16_t type, json_t *body, const char *member, int want_array,
                       json_t **out, json_t **refusal)
{
    json_t *reply = NULL;
    *out = NULL;
    int rc = call(c, type, body, VAULT_CLIENT_TIMEOUT_MS, &reply, refusal);
    if (rc == 0 && reply) {
        json_t *v = json_object_get(reply, member);
        if (want_array ? json_is_array(v) : json_is_object(v))
            *out = json_incref(v);
        else
            *out = want_array ? json_array() : json_object();
        if (!*out)
            rc = SAFECAM_ERR_NOMEM;
    }
    json_decref(reply);
    return rc;
}

int vault_client_login(ipc_client *c, const char *user, const char *password, const char *source,
                       struct vault_login_result *out, json_t **refusal)
{
    if (!out || !refusal || !user || !password || !source)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    json_t *reply = NULL;
    int rc = call(c, PROTO_VAULT_LOGIN,
                  json_pack("{s:s,s:s,s:s}", "username", user, "password", password, "source", source),
                  VAULT_CLIENT_TIMEOUT_MS, &reply, refusal);
    if (rc == 0 && reply) {
        copy_token(reply, "session_id", out->session_id);
        copy_token(reply, "csrf_token", out->csrf_token);
        copy_str(reply, "username", out->username, sizeof(out->username));
        copy_str(reply, "role", out->role, sizeof(out->role));
        out->password_change_required = json_is_true(json_object_get(reply, "password_change_required"));
    }
    body_wipe_free(reply); /* the session id and token inside */
    return rc;
}

int vault_client_session_check(ipc_client *c, const char *session_id, const char *csrf_token, int touch,
                               struct vault_session_facts *out, json_t **refusal)
{
    if (!out || !refusal || !session_id)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    json_t *body = json_pack("{s:s,s:b}", "session_id", session_id, "touch", touch ? 1 : 0);
    if (body && csrf_token && json_object_set_new(body, "csrf_token", json_string(csrf_token)) != 0) {
        body_wipe_free(body);
        body = NULL;
    }
    json_t *reply = NULL;
    int rc = call(c, PROTO_VAULT_SESSION_CHECK, body, VAULT_CLIENT_TIMEOUT_MS, &reply, refusal);
    if (rc == 0 && reply) {
        copy_str(reply, "username", out->username, sizeof(out->username));
        copy_str(reply, "role", out->role, sizeof(out->role));
        out->password_change_required = json_is_true(json_object_get(reply, "password_change_required"));
        out->csrf_ok = json_is_true(json_object_get(reply, "csrf_ok"));
        copy_token(reply, "csrf_token", out->csrf_token);
    }
    body_wipe_free(reply);
    return rc;
}

int vault_client_session_end(ipc_client *c, const char *session_id, const char *source, json_t **refusal)
{
    if (!refusal || !session_id || !source)
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_SESSION_END,
                      json_pack("{s:s,s:s}", "session_id", session_id, "source", source), refusal);
}

int vault_client_password_change(ipc_client *c, const char *session_id, const char *user, const char *current,
                                 const char *new_password, const char *source, json_t **refusal)
{
    if (!refusal || !session_id || !user || !current || !new_password || !source)
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_PASSWORD_CHANGE,
                      json_pack("{s:s,s:s,s:s,s:s,s:s}", "session_id", session_id, "username", user,
                                "current_password", current, "new_password", new_password, "source", source),
                      refusal);
}

int vault_client_user_list(ipc_client *c, const char *session_id, json_t **users, json_t **refusal)
{
    if (!users || !refusal || !session_id)
        return SAFECAM_ERR_INVAL;
    return call_member(c, PROTO_VAULT_USER_LIST, json_pack("{s:s}", "session_id", session_id), "users", 1,
                       users, refusal);
}

int vault_client_user_create(ipc_client *c, const char *session_id, const char *user, const char *password,
                             const char *role, json_t **refusal)
{
    if (!refusal || !session_id || !user || !password || !role)
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_USER_CREATE,
                      json_pack("{s:s,s:s,s:s,s:s}", "session_id", session_id, "username", user, "password",
                                password, "role", role),
                      refusal);
}

int vault_client_user_update(ipc_client *c, const char *session_id, const char *user, const char *role,
                             json_t **refusal)
{
    if (!refusal || !session_id || !user || !role)
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_USER_UPDATE,
                      json_pack("{s:s,s:s,s:s}", "session_id", session_id, "role", role, "username", user),
                      refusal);
}

int vault_client_user_delete(ipc_client *c, const char *session_id, const char *user, json_t **refusal)
{
    if (!refusal || !session_id || !user)
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_USER_DELETE,
                      json_pack("{s:s,s:s}", "session_id", session_id, "username", user), refusal);
}

int vault_client_settings_get(ipc_client *c, const char *session_id, json_t **settings, json_t **refusal)
{
    if (!settings || !refusal || !session_id)
        return SAFECAM_ERR_INVAL;
    return call_member(c, PROTO_VAULT_SETTINGS_GET, json_pack("{s:s}", "session_id", session_id), "settings",
                       0, settings, refusal);
}

int vault_client_settings_set(ipc_client *c, const char *session_id, const json_t *settings, json_t **refusal)
{
    if (!refusal || !session_id || !json_is_object(settings))
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_SETTINGS_SET,
                      json_pack("{s:s,s:O}", "session_id", session_id, "settings", settings), refusal);
}

int vault_client_linked_get(ipc_client *c, const char *session_id, json_t **linked, json_t **refusal)
{
    if (!linked || !refusal || !session_id)
        return SAFECAM_ERR_INVAL;
    return call_member(c, PROTO_VAULT_LINKED_GET, json_pack("{s:s}", "session_id", session_id), "linked", 0,
                       linked, refusal);
}

int vault_client_linked_set(ipc_client *c, const char *session_id, const json_t *linked, json_t **refusal)
{
    if (!refusal || !session_id || !json_is_object(linked))
        return SAFECAM_ERR_INVAL;
    return call_plain(c, PROTO_VAULT_LINKED_SET, json_pack("{s:s,s:O}", "session_id", session_id, "linked", linked),
                      refusal);
}

int vault_client_audit_record(ipc_client *c, const char *type, const char *actor, const char *source,
                              const char *detail, int timeout_ms)
{
    if (!type || !actor)
        return SAFECAM_ERR_INVAL;
    json_t *reply = NULL, *refusal = NULL;
    json_t *body = json_pack("{s:s,s:s,s:s}", "type", type, "actor", actor, "detail", detail ? detail : "");
    if (body && source && json_object_set_new(body, "source", json_string(source)) != 0) {
        json_decref(body);
        body = NULL;
    }
    int rc = call(c, PROTO_VAULT_AUDIT_RECORD, body, timeout_ms, &reply, &refusal);
    if (rc == 0 && refusal)
        rc = SAFECAM_ERR_DENIED;
    json_decref(reply);
    json_decref(refusal);
    return rc;
}

int vault_client_audit_query(ipc_client *c, const char *session_id, const struct vault_audit_filter *filter,
                             json_t **events, json_t **refusal)
{
    if (!events || !refusal || !session_id || !filter)
        return SAFECAM_ERR_INVAL;
    *events = NULL;
    *refusal = NULL;
    json_t *body = json_pack("{s:s}", "session_id", session_id);
    int bad = !body;
    if (!bad && filter->since >= 0)
        bad |= json_object_set_new(body, "since", json_integer(filter->since));
    if (!bad && filter->until >= 0)
        bad |= json_object_set_new(body, "until", json_integer(filter->until));
    if (!bad && filter->limit >= 0)
        bad |= json_object_set_new(body, "limit", json_integer(filter->limit));
    if (!bad && filter->type)
        bad |= json_object_set_new(body, "type", json_string(filter->type));
    if (bad) {
        body_wipe_free(body);
        return SAFECAM_ERR_NOMEM;
    }
    return call_member(c, PROTO_VAULT_AUDIT_QUERY, body, "events", 1, events, refusal);
}

int vault_client_audit_call(ipc_client *c, unsigned short type, const char *session_id, const json_t *fields,
                            json_t **reply, int *fd_out, json_t **refusal)
{
    if (!reply || !refusal || !session_id)
        return SAFECAM_ERR_INVAL;
    *reply = NULL;
    *refusal = NULL;
    if (fd_out)
        *fd_out = -1;
    if (type != PROTO_VAULT_AUDIT_VERIFY && type != PROTO_VAULT_AUDIT_EXPORT)
        return SAFECAM_ERR_INVAL;
    json_t *body = json_pack("{s:s}", "session_id", session_id);
    if (body && fields && json_object_update(body, (json_t *)(uintptr_t)fields) != 0) {
        body_wipe_free(body);
        body = NULL;
    }
    if (!body)
        return SAFECAM_ERR_NOMEM;
    int rc = ipc_client_request(c, type, body, -1, VAULT_CLIENT_CAPTURE_TIMEOUT_MS, reply, fd_out, refusal);
    body_wipe_free(body);
    return rc;
}

int vault_client_tls_credentials(ipc_client *c, int timeout_ms, char **cert_pem, char **key_pem,
                                 size_t *key_len)
{
    if (!cert_pem || !key_pem || !key_len)
        return SAFECAM_ERR_INVAL;
    *cert_pem = NULL;
    *key_pem = NULL;
    *key_len = 0;
    json_t *reply = NULL, *refusal = NULL;
    int rc = call(c, PROTO_VAULT_TLS_CREDENTIALS, json_object(), timeout_ms, &reply, &refusal);
    if (rc != 0)
        goto out;
    const json_t *k = json_object_get(reply, "key_pem");
    const json_t *crt = json_object_get(reply, "cert_pem");
    if (refusal || !json_is_string(k) || !json_is_string(crt)) {
        rc = SAFECAM_ERR_PROTO;
        goto out;
    }
    size_t kl = json_string_length(k);
    *key_pem = sodium_malloc(kl + 1);
    *cert_pem = strdup(json_string_value(crt));
    if (!*key_pem || !*cert_pem) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    memcpy(*key_pem, json_string_value(k), kl + 1);
    *key_len = kl;
    rc = 0;
out:
    if (rc != 0) {
        if (*key_pem)
            sodium_free(*key_pem);
        free(*cert_pem);
        *key_pem = NULL;
        *cert_pem = NULL;
    }
    body_wipe_free(reply); /* the key's copy inside the reply */
    json_decref(refusal);
    return rc;
}

int vault_client_auth_check(ipc_client *c, const char *user, const char *password, const char *source,
                            const char *surface, int timeout_ms, char *role, size_t role_size,
                            int *password_change_required, json_t **refusal)
{
    if (!user || !password || !source || !surface || !role || !password_change_required || !refusal)
        return SAFECAM_ERR_INVAL;
    json_t *reply = NULL;
    int rc = call(c, PROTO_VAULT_AUTH_CHECK,
                  json_pack("{s:s,s:s,s:s,s:s}", "username", user, "password", password, "source", source,
                            "surface", surface),
                  timeout_ms, &reply, refusal);
    if (rc == 0 && reply) {
        const json_t *r = json_object_get(reply, "role");
        if (!json_is_string(r) || safecam_strlcpy(role, json_string_value(r), role_size) != 0)
            rc = SAFECAM_ERR_PROTO;
        else
            *password_change_required = json_is_true(json_object_get(reply, "password_change_required"));
    }
    json_decref(reply);
    return rc;
}

int vault_client_capture_call(ipc_client *c, unsigned short type, const char *session_id, const char *actor,
                              const char *source, const json_t *fields, int fd_in, json_t **reply,
                              int *fd_out, json_t **refusal)
{
    if (!reply || !refusal || !session_id)
        return SAFECAM_ERR_INVAL;
    *reply = NULL;
    *refusal = NULL;
    if (fd_out)
        *fd_out = -1;
    if (type != PROTO_VAULT_CAPTURE_STORE && type != PROTO_VAULT_CAPTURE_LIST &&
        type != PROTO_VAULT_CAPTURE_GET && type != PROTO_VAULT_CAPTURE_DELETE &&
        type != PROTO_VAULT_RECORDING_OPEN)
        return SAFECAM_ERR_INVAL;
    json_t *body = json_pack("{s:s}", "session_id", session_id);
    int bad = !body;
    if (!bad && fields)
        bad |= json_object_update(body, (json_t *)(uintptr_t)fields);
    if (!bad && actor)
        bad |= json_object_set_new(body, "actor", json_string(actor));
    if (!bad && source)
        bad |= json_object_set_new(body, "source", json_string(source));
    if (bad) {
        body_wipe_free(body);
        return SAFECAM_ERR_NOMEM;
    }
    int rc =
        ipc_client_request(c, type, body, fd_in, VAULT_CLIENT_CAPTURE_TIMEOUT_MS, reply, fd_out, refusal);
    body_wipe_free(body);
    return rc;
}

int vault_client_wsse_verify(ipc_client *c, const char *username, const char *password_type, const char *password,
                             const char *nonce_b64, const char *created, const char *source, json_t **out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (!username || !password_type || !password || !source)
        return SAFECAM_ERR_INVAL;
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "username", username, "password_type", password_type,
                             "password", password, "source", source);
    int bad = !body;
    if (!bad && nonce_b64)
        bad |= json_object_set_new(body, "nonce", json_string(nonce_b64));
    if (!bad && created)
        bad |= json_object_set_new(body, "created", json_string(created));
    if (bad) {
        body_wipe_free(body);
        return SAFECAM_ERR_NOMEM;
    }
    json_t *reply = NULL, *refusal = NULL;
    int rc = call(c, PROTO_VAULT_WSSE_VERIFY, body, VAULT_CLIENT_TIMEOUT_MS, &reply, &refusal);
    if (rc == 0 && refusal) {
        *out = refusal;
        json_decref(reply);
        return SAFECAM_ERR_DENIED;
    }
    json_decref(refusal);
    if (rc == 0 && reply) {
        const json_t *u = json_object_get(reply, "username"), *r = json_object_get(reply, "role");
        if (!json_is_string(u) || !json_is_string(r) || json_string_length(u) > VAULT_CLIENT_USERNAME_MAX ||
            json_string_length(r) >= VAULT_CLIENT_ROLE_MAX) {
            json_decref(reply);
            return SAFECAM_ERR_PROTO;
        }
        *out = reply;
        return 0;
    }
    json_decref(reply);
    return rc != 0 ? rc : SAFECAM_ERR_PROTO;
}

int vault_client_digest_call(ipc_client *c, unsigned short type, const struct vault_client_digest *d,
                             int timeout_ms, char *role, size_t role_size, json_t **refusal)
{
    if (!refusal)
        return SAFECAM_ERR_INVAL;
    *refusal = NULL;
    if ((type != PROTO_VAULT_DIGEST_CHECK && type != PROTO_VAULT_HTTP_DIGEST_CHECK) || !d || !d->username ||
        !d->realm || !d->nonce || !d->uri || !d->method || !d->response || !d->source || !role || !role_size)
        return SAFECAM_ERR_INVAL;
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "username", d->username, "realm", d->realm, "nonce",
                             d->nonce, "uri", d->uri, "method", d->method, "response", d->response, "source",
                             d->source);
    int bad = !body;
    const struct {
        const char *key, *value;
    } opt[] = {{"algorithm", d->algorithm}, {"qop", d->qop}, {"nc", d->nc}, {"cnonce", d->cnonce}};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0] && !bad; i++)
        if (opt[i].value)
            bad |= json_object_set_new(body, opt[i].key, json_string(opt[i].value));
    if (bad) {
        body_wipe_free(body);
        return SAFECAM_ERR_NOMEM;
    }
    json_t *reply = NULL;
    int rc = call(c, type, body, timeout_ms, &reply, refusal);
    if (rc == 0 && reply) {
        const json_t *r = json_object_get(reply, "role");
        if (!json_is_string(r) || safecam_strlcpy(role, json_string_value(r), role_size) != 0)
            rc = SAFECAM_ERR_PROTO;
    }
    json_decref(reply);
    return rc;
}

int vault_client_digest_check(ipc_client *c, const char *username, const char *realm, const char *nonce,
                              const char *uri, const char *method, const char *response, const char *qop,
                              const char *nc, const char *cnonce, const char *source, int timeout_ms, char *role,
                              size_t role_size, json_t **refusal)
{
    const struct vault_client_digest d = {.username = username, .realm = realm, .nonce = nonce, .uri = uri,
                                          .method = method, .response = response, .qop = qop, .nc = nc,
                                          .cnonce = cnonce, .source = source};
    return vault_client_digest_call(c, PROTO_VAULT_DIGEST_CHECK, &d, timeout_ms, role, role_size, refusal);
}

int vault_client_integration_call(ipc_client *c, unsigned short op, const char *session_id, const char *name,
                                  const char *source, json_t **reply, json_t **refusal)
{
    if (!reply || !refusal)
        return SAFECAM_ERR_INVAL;
    *reply = NULL;
    *refusal = NULL;
    if (!session_id || (op != PROTO_VAULT_INTEGRATION_LIST && !name) ||
        (op != PROTO_VAULT_INTEGRATION_LIST && op != PROTO_VAULT_INTEGRATION_CREATE &&
         op != PROTO_VAULT_INTEGRATION_ROTATE && op != PROTO_VAULT_INTEGRATION_DELETE))
        return SAFECAM_ERR_INVAL;
    json_t *body = json_pack("{s:s}", "session_id", session_id);
    int bad = !body;
    if (!bad && op != PROTO_VAULT_INTEGRATION_LIST)
        bad |= json_object_set_new(body, "username", json_string(name));
    if (!bad && op != PROTO_VAULT_INTEGRATION_LIST && source)
        bad |= json_object_set_new(body, "source", json_string(source));
    if (bad) {
        body_wipe_free(body);
        return SAFECAM_ERR_NOMEM;
    }
    return call(c, op, body, VAULT_CLIENT_TIMEOUT_MS, reply, refusal);
}
