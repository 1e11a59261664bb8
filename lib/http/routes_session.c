/* routes_session.c — log in, read the own session, log out. The vault decides (Argon2id, lockout, session
 * ids); this file only carries the answer into a Secure, HttpOnly, SameSite=Strict cookie and a CSRF token.
 * Trust level: network-facing; the login is the one state-changing route without a session.
 * QCVN 135 G1, G2, G6 / EN 303 645 5.1, 5.6. */
#include <sodium.h>
#include <string.h>

#include "http_internal.h"
#include "safecam/vault_client.h"

static const struct http_field login_schema[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 64, NULL},
    {"password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
};

/* The previous session presented with a login is ended: the new id replaces it (no fixation). */
static void login_previous_end(struct req *r, const char *new_id)
{
    char old[HTTP_TOKEN_HEX_BYTES + 1];
    if (http_session_cookie(r, old) == 0 && strcmp(old, new_id) != 0) {
        json_t *refusal = NULL;
        if (vault_client_session_end(r->srv->vault, old, r->source, &refusal) != 0)
            log_warn("could not end the previous session at login");
        json_decref(refusal);
    }
    sodium_memzero(old, sizeof(old));
}

static enum MHD_Result h_login(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, login_schema, SAFECAM_ARRAY_LEN(login_schema), &in) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    struct vault_login_result res;
    json_t *refusal = NULL;
    int rc = vault_client_login(r->srv->vault, http_jstr(in, "username"), http_jstr(in, "password"),
                                r->source, &res, &refusal);
    http_json_wipe(in);
    enum MHD_Result ret;
    char cookie[160] = "";
    if (rc != 0) {
        ret = http_reply_unavailable(r);
        goto out;
    }
    if (refusal) {
        ret = http_reply_refusal(r, refusal);
        goto out;
    }
    if (!http_token_hex_valid(res.session_id, strlen(res.session_id)) ||
        !http_token_hex_valid(res.csrf_token, strlen(res.csrf_token))) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        goto out;
    }
    login_previous_end(r, res.session_id);
    if (safecam_fmt(cookie, sizeof(cookie), "%s=%s%s", HTTP_SESSION_COOKIE, res.session_id,
                    SESSION_COOKIE_ATTRS) != 0)
        cookie[0] = '\0';
    json_t *out = json_pack("{s:s,s:b}", "csrf_token", res.csrf_token, "password_change_required",
                            res.password_change_required);
    if (out && res.username[0] && http_printable_ascii(res.username, 64))
        json_object_set_new(out, "username", json_string(res.username));
    if (out && res.role[0] && http_printable_ascii(res.role, 16))
        json_object_set_new(out, "role", json_string(res.role));
    ret = http_reply_json_h(r, MHD_HTTP_OK, out, MHD_HTTP_HEADER_SET_COOKIE, cookie);
out:
    sodium_memzero(cookie, sizeof(cookie));
    sodium_memzero(&res, sizeof(res));
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_session_get(struct req *r)
{
    json_t *out = json_pack("{s:s,s:s,s:b}", "username", r->username, "role", r->role,
                            "password_change_required", r->pw_change);
    if (out && r->csrf_echo[0])
        json_object_set_new(out, "csrf_token", json_string(r->csrf_echo));
    return http_reply_json(r, MHD_HTTP_OK, out);
}

static enum MHD_Result h_logout(struct req *r)
{
    json_t *refusal = NULL;
    int rc = vault_client_session_end(r->srv->vault, r->session_id, r->source, &refusal);
    enum MHD_Result ret;
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else
        ret = http_reply_empty(r, MHD_HTTP_NO_CONTENT, MHD_HTTP_HEADER_SET_COOKIE,
                               HTTP_SESSION_COOKIE "=" SESSION_COOKIE_ATTRS "; Max-Age=0");
    json_decref(refusal);
    return ret;
}

static const struct route rows[] = {
    {"POST", "/api/v1/session", ROLE_PUBLIC, R_PUBLIC | R_NO_CSRF | R_BODY, 2048, NULL, h_login},
    {"GET", "/api/v1/session", ROLE_VIEWER, R_PWCHANGE_OK, 0, NULL, h_session_get},
    {"DELETE", "/api/v1/session", ROLE_VIEWER, R_PWCHANGE_OK, 0, NULL, h_logout},
};

const struct route_set http_routes_session = {rows, SAFECAM_ARRAY_LEN(rows)};
