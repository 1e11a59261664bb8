/* routes_integrations.c — integration accounts for recorders and ONVIF clients (admin only): list (never the
 * secret), create and rotate (the camera-generated secret is answered exactly once, here), delete. The vault
 * checks the admin's session again, generates and seals the secret and audits each change; only allowlisted
 * fields of its answers leave the device. Trust level: network-facing. QCVN 135 G1 / EN 303 645 5.1-1, 5.1-4;
 * docs/integrations.md. */
#include <string.h>

#include "http_internal.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

/* The vault's answer to create/rotate: {"username","secret"} after checking both are printable and bounded.
 * The vault's reply (with the secret) is wiped before it is freed. */
static enum MHD_Result answer_secret(struct req *r, int rc, json_t *reply, json_t *refusal, unsigned status)
{
    enum MHD_Result ret;
    if (rc != 0) {
        ret = http_reply_unavailable(r);
    } else if (refusal) {
        ret = http_reply_refusal(r, refusal);
    } else {
        const char *name = http_jstr(reply, "username");
        const char *secret = http_jstr(reply, "secret");
        if (!name || !secret || !http_printable_ascii(name, 32) || !http_printable_ascii(secret, 128) ||
            strlen(secret) < 20)
            ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        else
            ret = http_reply_json(r, status, json_pack("{s:s,s:s,s:s}", "username", name, "role", "viewer",
                                                       "secret", secret));
    }
    http_json_wipe(reply);
    json_decref(refusal);
    return ret;
}

static const struct http_field create_schema[] = {
    {"name", HTTP_FIELD_STRING, 1, 1, 32, NULL},
};

static enum MHD_Result h_create(struct req *r)
{
    json_t *in = NULL, *reply = NULL, *refusal = NULL;
    char name[64];
    if (http_req_body_parse(r, create_schema, SAFECAM_ARRAY_LEN(create_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    int bad = safecam_strlcpy(name, http_jstr(in, "name"), sizeof name) != 0;
    json_decref(in);
    if (bad)
        return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "field", "name");
    int rc = vault_client_integration_call(r->srv->vault, PROTO_VAULT_INTEGRATION_CREATE, r->session_id, name,
                                           r->source, &reply, &refusal);
    return answer_secret(r, rc, reply, refusal, MHD_HTTP_CREATED);
}

static enum MHD_Result h_rotate(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL;
    int rc = vault_client_integration_call(r->srv->vault, PROTO_VAULT_INTEGRATION_ROTATE, r->session_id, r->param,
                                           r->source, &reply, &refusal);
    return answer_secret(r, rc, reply, refusal, MHD_HTTP_OK);
}

static enum MHD_Result h_delete(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL;
    int rc = vault_client_integration_call(r->srv->vault, PROTO_VAULT_INTEGRATION_DELETE, r->session_id, r->param,
                                           r->source, &reply, &refusal);
    json_decref(reply);
    enum MHD_Result ret;
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else
        ret = http_reply_empty(r, MHD_HTTP_NO_CONTENT, NULL, NULL);
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_list(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL;
    int rc = vault_client_integration_call(r->srv->vault, PROTO_VAULT_INTEGRATION_LIST, r->session_id, NULL, NULL,
                                           &reply, &refusal);
    if (rc != 0 || refusal) {
        json_decref(reply);
        enum MHD_Result ret = rc != 0 ? http_reply_unavailable(r) : http_reply_refusal(r, refusal);
        json_decref(refusal);
        return ret;
    }
    /* Allowlist: name, role, two times. Never a secret, whatever the vault's answer holds. */
    json_t *out = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(reply, "integrations"), i, u)
    {
        const char *name = http_jstr(u, "username");
        const char *role = http_jstr(u, "role");
        if (!out || !name || !role || !http_printable_ascii(name, 32) || !http_printable_ascii(role, 16))
            continue;
        json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:I}", "username", name, "role", role, "created_at",
                                             json_integer_value(json_object_get(u, "created_at")), "last_used_at",
                                             json_integer_value(json_object_get(u, "last_used_at"))));
    }
    json_decref(reply);
    return http_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "integrations", out ? out : json_array()));
}

static const struct route rows[] = {
    {"GET", "/api/v1/integrations", ROLE_ADMIN, 0, 0, NULL, h_list},
    {"POST", "/api/v1/integrations", ROLE_ADMIN, R_BODY, 1024, NULL, h_create},
    {"POST", "/api/v1/integrations/{name}/rotate", ROLE_ADMIN, 0, 0, NULL, h_rotate},
    {"DELETE", "/api/v1/integrations/{name}", ROLE_ADMIN, 0, 0, NULL, h_delete},
};

const struct route_set http_routes_integrations = {rows, SAFECAM_ARRAY_LEN(rows)};
