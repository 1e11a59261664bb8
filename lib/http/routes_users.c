/* routes_users.c — the accounts: list, create, change role, delete (admin), and a password change (the own
 * one, also while the initial password must still be changed, or any as admin). The vault checks the admin's
 * session and role again and applies the password policy; only allowlisted fields of its answers leave the
 * device. Trust level: network-facing. QCVN 135 G1, G2 / EN 303 645 5.1-1, 5.1-4. */
#include <string.h>

#include "http_internal.h"
#include "safecam/vault_client.h"

static const char *const roles_enum[] = {"admin", "operator", "viewer", NULL};

/* The common ending of a call that answers 204, or the refusal, or 503. refusal is released. */
static enum MHD_Result answer_plain(struct req *r, int rc, json_t *refusal, unsigned ok_status,
                                    json_t *ok_body)
{
    enum MHD_Result ret;
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else if (!ok_body)
        ret = http_reply_empty(r, ok_status, NULL, NULL);
    else {
        ret = http_reply_json(r, ok_status, ok_body); /* takes ok_body */
        ok_body = NULL;
    }
    json_decref(ok_body);
    json_decref(refusal);
    return ret;
}

static const struct http_field password_schema[] = {
    {"current_password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
    {"new_password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
};

static enum MHD_Result h_password(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, password_schema, SAFECAM_ARRAY_LEN(password_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    json_t *refusal = NULL;
    int rc = vault_client_password_change(r->srv->vault, r->session_id, r->param,
                                          http_jstr(in, "current_password"), http_jstr(in, "new_password"),
                                          r->source, &refusal);
    http_json_wipe(in);
    return answer_plain(r, rc, refusal, MHD_HTTP_NO_CONTENT, NULL);
}

static enum MHD_Result h_users_list(struct req *r)
{
    json_t *users = NULL, *refusal = NULL;
    int rc = vault_client_user_list(r->srv->vault, r->session_id, &users, &refusal);
    if (rc != 0 || refusal) {
        json_decref(users);
        return answer_plain(r, rc, refusal, MHD_HTTP_OK, NULL);
    }
    /* Allowlist the fields that leave the device: never anything but name, role, flag. */
    json_t *out = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        const char *name = http_jstr(u, "username");
        const char *role = http_jstr(u, "role");
        if (!name || !role)
            continue;
        json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "username", name, "role", role,
                                             "password_change_required",
                                             json_is_true(json_object_get(u, "password_change_required"))));
    }
    json_decref(users);
    return http_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "users", out));
}

static const struct http_field user_create_schema[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 32, NULL},
    {"password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
    {"role", HTTP_FIELD_STRING, 1, 1, 16, roles_enum},
};

static enum MHD_Result h_user_create(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, user_create_schema, SAFECAM_ARRAY_LEN(user_create_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char name[64];
    char role[16];
    if (safecam_strlcpy(name, http_jstr(in, "username"), sizeof(name)) != 0 ||
        safecam_strlcpy(role, http_jstr(in, "role"), sizeof(role)) != 0) {
        http_json_wipe(in);
        return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "field", "username");
    }
    json_t *refusal = NULL;
    int rc = vault_client_user_create(r->srv->vault, r->session_id, name, http_jstr(in, "password"), role,
                                      &refusal);
    http_json_wipe(in);
    return answer_plain(r, rc, refusal, MHD_HTTP_CREATED,
                        json_pack("{s:s,s:s}", "username", name, "role", role));
}

static const struct http_field user_update_schema[] = {
    {"role", HTTP_FIELD_STRING, 1, 1, 16, roles_enum},
};

static enum MHD_Result h_user_update(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, user_update_schema, SAFECAM_ARRAY_LEN(user_update_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    char role[16];
    int bad = safecam_strlcpy(role, http_jstr(in, "role"), sizeof(role)) != 0;
    json_decref(in);
    if (bad)
        return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "field", "role");
    json_t *refusal = NULL;
    int rc = vault_client_user_update(r->srv->vault, r->session_id, r->param, role, &refusal);
    return answer_plain(r, rc, refusal, MHD_HTTP_OK,
                        json_pack("{s:s,s:s}", "username", r->param, "role", role));
}

static enum MHD_Result h_user_delete(struct req *r)
{
    json_t *refusal = NULL;
    int rc = vault_client_user_delete(r->srv->vault, r->session_id, r->param, &refusal);
    return answer_plain(r, rc, refusal, MHD_HTTP_NO_CONTENT, NULL);
}

static const struct route rows[] = {
    {"PUT", "/api/v1/users/{name}/password", ROLE_VIEWER, R_PWCHANGE_OK | R_SELF | R_BODY,
     HTTP_JSON_BODY_MAX_BYTES, NULL, h_password},
    {"GET", "/api/v1/users", ROLE_ADMIN, 0, 0, NULL, h_users_list},
    {"POST", "/api/v1/users", ROLE_ADMIN, R_BODY, HTTP_JSON_BODY_MAX_BYTES, NULL, h_user_create},
    {"PATCH", "/api/v1/users/{name}", ROLE_ADMIN, R_BODY, 1024, NULL, h_user_update},
    {"DELETE", "/api/v1/users/{name}", ROLE_ADMIN, 0, 0, NULL, h_user_delete},
};

const struct route_set http_routes_users = {rows, SAFECAM_ARRAY_LEN(rows)};
