/* gate.c — the one gate in front of every handler: the request-target decoded and normalised once, repeated
 * critical headers refused, the route table (the rows of every routes_<area>.c, deny by default), declared
 * query keys only, body framing and size before a byte is read, Origin, the session (asked of the vault, fail
 * closed), the role, the pending password change, CSRF and the content type. Trust level: network-facing;
 * everything it reads is untrusted. QCVN 135 G1, G6, G11 / EN 303 645 5.1-1, 5.6, 5.13-1. */
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "safecam/vault_client.h"

const char *http_jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int role_level(const char *role)
{
    if (!role)
        return 0;
    if (strcmp(role, "admin") == 0)
        return ROLE_ADMIN;
    if (strcmp(role, "operator") == 0)
        return ROLE_OPERATOR;
    if (strcmp(role, "viewer") == 0)
        return ROLE_VIEWER;
    return 0;
}

static int method_changes_state(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
           strcmp(m, "DELETE") == 0;
}

int http_printable_ascii(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

const char *http_req_header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The session id from the Cookie header: 0 and filled, SAFECAM_ERR_NOTFOUND (none or malformed),
 * SAFECAM_ERR_INVAL (cookie tossing: our cookie twice). */
int http_session_cookie(struct req *r, char out[HTTP_TOKEN_HEX_BYTES + 1])
{
    out[0] = '\0';
    const char *ck = http_req_header(r, MHD_HTTP_HEADER_COOKIE);
    if (!ck)
        return SAFECAM_ERR_NOTFOUND;
    char val[HTTP_TOKEN_HEX_BYTES + 8];
    int rc = http_cookie_find(ck, strlen(ck), HTTP_SESSION_COOKIE, val, sizeof(val));
    if (rc == SAFECAM_ERR_INVAL)
        return rc;
    if (rc != 0 || !http_token_hex_valid(val, strlen(val)))
        return SAFECAM_ERR_NOTFOUND;
    memcpy(out, val, HTTP_TOKEN_HEX_BYTES + 1);
    sodium_memzero(val, sizeof(val));
    return 0;
}

int http_req_body_parse(struct req *r, const struct http_field *schema, size_t n, json_t **out)
{
    struct http_body_error err;
    int rc = http_json_body_parse(safecam_buf_str(&r->body), r->body.len, r->route->body_max, schema, n, out,
                                  &err);
    if (rc == 0)
        return 0;
    if (rc == SAFECAM_ERR_TOOBIG)
        http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large");
    else if (err.field[0])
        http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, err.code, "field", err.field);
    else
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, err.code ? err.code : "invalid_json");
    return rc;
}

/* A schema with no field: with n = 0 only {} passes. */
static const struct http_field no_fields[1] = {{"", HTTP_FIELD_BOOL, 0, 0, 0, NULL}};

int http_req_body_empty(struct req *r)
{
    json_t *in = NULL;
    int rc = http_req_body_parse(r, no_fields, 0, &in);
    json_decref(in);
    return rc;
}

static const struct http_field confirm_schema[] = {
    {"confirm", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
};

/* A destructive request without an explicit confirmation changes nothing. QCVN 135 G9 / EN 303 645 5.11-1. */
int http_req_confirm_parse(struct req *r)
{
    json_t *in = NULL;
    if (http_req_body_parse(r, confirm_schema, SAFECAM_ARRAY_LEN(confirm_schema), &in) != 0)
        return -1;
    int ok = json_is_true(json_object_get(in, "confirm"));
    json_decref(in);
    if (!ok) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "confirmation_required");
        return -1;
    }
    return 0;
}

/* The route table: the concatenation of every area's rows, looked up in this order (a path's rows live in
 * one area, so the order between areas changes no answer). */
static const struct route_set *const route_sets[] = {
    &http_routes_session, &http_routes_users,  &http_routes_settings, &http_routes_system,
    &http_routes_video,   &http_routes_update, &http_routes_captures, &http_routes_integrations,
    &http_routes_onvif, &http_routes_recordings,
};

struct hdr_count {
    unsigned cookie, clen, csrf, ctype, host, origin, te;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    struct hdr_count *c = cls;
    if (!key)
        return MHD_YES;
    if (strcasecmp(key, "Cookie") == 0)
        c->cookie++;
    else if (strcasecmp(key, "Content-Length") == 0)
        c->clen++;
    else if (strcasecmp(key, "X-CSRF-Token") == 0)
        c->csrf++;
    else if (strcasecmp(key, "Content-Type") == 0)
        c->ctype++;
    else if (strcasecmp(key, "Host") == 0)
        c->host++;
    else if (strcasecmp(key, "Origin") == 0)
        c->origin++;
    else if (strcasecmp(key, "Transfer-Encoding") == 0)
        c->te++;
    return MHD_YES;
}

/* Look the path up. 404 when nothing matches; 405 (with Allow) when only the method is wrong. */
static enum MHD_Result route_lookup(struct req *r, const char *method)
{
    const char *m = r->is_head ? "GET" : method;
    char allow[96] = "";
    int path_known = 0;
    char param[sizeof(r->param)];
    for (size_t s = 0; s < SAFECAM_ARRAY_LEN(route_sets); s++) {
        const struct route *routes = route_sets[s]->rows;
        for (size_t i = 0; i < route_sets[s]->n; i++) {
            if (!http_route_match(routes[i].pattern, r->path, param, sizeof(param)))
                continue;
            /* ONVIF off: its paths do not exist (404 like any unknown path, never 405) */
            if ((routes[i].flags & R_SOAP) && !http_onvif_enabled(r))
                continue;
            path_known = 1;
            if (strcmp(routes[i].method, m) == 0) {
                r->route = &routes[i];
                memcpy(r->param, param, sizeof(param));
                return MHD_YES;
            }
            size_t al = strlen(allow);
            if (al + strlen(routes[i].method) + 3 < sizeof(allow)) {
                if (al)
                    memcpy(allow + al, ", ", 3), al += 2;
                memcpy(allow + al, routes[i].method, strlen(routes[i].method) + 1);
            }
        }
    }
    if (!path_known && strncmp(r->path, "/api/", 5) != 0 && strncmp(r->path, "/.well-known/", 13) != 0) {
        r->file = http_static_find(r->srv, r->path);
        if (r->file) {
            if (strcmp(m, "GET") == 0) {
                r->route = &http_static_route;
                return MHD_YES;
            }
            path_known = 1;
            memcpy(allow, "GET", 4);
        }
    }
    if (!path_known)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    if (strstr(allow, "GET") && !strstr(allow, "HEAD")) {
        size_t al = strlen(allow);
        if (al + 7 < sizeof(allow))
            memcpy(allow + al, ", HEAD", 7);
    }
    return http_reply_json_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
                             json_pack("{s:s}", "error", "method_not_allowed"), "Allow", allow);
}

enum MHD_Result http_gate(struct req *r, const char *method)
{
    http_server *srv = r->srv;
    /* 1. the request-target, decoded once and normalised, before anything looks at it */
    if (r->target_too_long)
        return http_reply_error(r, MHD_HTTP_URI_TOO_LONG, "uri_too_long");
    int rc = http_target_parse(r->target, r->path, sizeof(r->path), &r->query);
    if (rc == SAFECAM_ERR_TOOBIG)
        return http_reply_error(r, MHD_HTTP_URI_TOO_LONG, "uri_too_long");
    if (rc != 0) {
        /* tell a bad path from a bad query */
        const char *q = strchr(r->target, '?');
        char tmp[HTTP_PATH_MAX_BYTES];
        size_t plen = q ? (size_t)(q - r->target) : strlen(r->target);
        if (!memchr(r->target, '#', plen) && http_path_normalize(r->target, plen, tmp, sizeof(tmp)) == 0)
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query");
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_path");
    }
    /* 2. repeated critical headers: ambiguity an attacker could play with */
    struct hdr_count hc;
    memset(&hc, 0, sizeof(hc));
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hc);
    if (hc.cookie > 1 || hc.clen > 1 || hc.csrf > 1 || hc.ctype > 1 || hc.host > 1 || hc.origin > 1 ||
        hc.te > 1)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "repeated_header");
    /* 3. the route table */
    r->is_head = strcmp(method, "HEAD") == 0;
    if (route_lookup(r, method) != MHD_YES || r->answered)
        return r->answered ? MHD_YES : MHD_NO;
    const struct route *rt = r->route;
    /* 4. query parameters: only those the route declares (no hidden auth= style switches) */
    for (size_t i = 0; i < r->query.n; i++) {
        int ok = 0;
        for (size_t k = 0; rt->query_keys && rt->query_keys[k]; k++)
            if (strcmp(r->query.params[i].key, rt->query_keys[k]) == 0)
                ok = 1;
        if (!ok)
            return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "unknown_parameter", "parameter",
                                          r->query.params[i].key);
    }
    /* 5. body framing and size, refused before a byte of the body is read */
    if (hc.te)
        return http_reply_error(r, MHD_HTTP_LENGTH_REQUIRED, "length_required");
    const char *cl = http_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long clen = 0;
    if (cl && safecam_parse_long(cl, 0, LONG_MAX, &clen) != 0)
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large");
    if ((size_t)clen > rt->body_max)
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large");
    /* 6. cross-site requests: a foreign Origin never changes state (the login included) */
    int changes = method_changes_state(method);
    const char *origin = http_req_header(r, "Origin");
    if (changes &&
        !http_origin_allowed(origin, http_req_header(r, MHD_HTTP_HEADER_HOST), srv->bind_addr, srv->port))
        return http_reply_error(r, MHD_HTTP_FORBIDDEN, "csrf");
    if (rt->flags & R_SOAP) {
        /* SOAP 1.2 (application/soap+xml) or 1.1 (text/xml); authenticated inside by WS-Security */
        const char *ct = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct || (strncasecmp(ct, "application/soap+xml", 20) != 0 && strncasecmp(ct, "text/xml", 8) != 0 &&
                    strncasecmp(ct, "application/xml", 15) != 0))
            return http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        return MHD_YES;
    }
    int need_json =
        (rt->flags & R_BODY) && !http_content_type_json(http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE));
    if (rt->flags & R_PUBLIC)
        return need_json ? http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                         : MHD_YES;
    /* 7. the session (checked by the vault; fail closed when it cannot answer) */
    rc = http_session_cookie(r, r->session_id);
    if (rc == SAFECAM_ERR_INVAL)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_cookie");
    if (rc != 0 && (rt->flags & R_DIGEST) && http_onvif_enabled(r)) {
        /* no session: a recorder's integration account by HTTP Digest (read-only GET routes, no CSRF) */
        if (http_digest_auth(r) != 0)
            return r->answered ? MHD_YES : MHD_NO;
        return role_level(r->role) >= rt->min_role && role_level(r->role) != 0
                   ? MHD_YES
                   : http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden");
    }
    if (rc != 0)
        return http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized");
    const char *csrf = http_req_header(r, "X-CSRF-Token");
    int csrf_syntax_ok = csrf && http_token_hex_valid(csrf, strlen(csrf));
    struct vault_session_facts facts;
    json_t *refusal = NULL;
    rc = vault_client_session_check(srv->vault, r->session_id, changes && csrf_syntax_ok ? csrf : NULL, 1,
                                    &facts, &refusal);
    if (rc != 0)
        return http_reply_unavailable(r);
    enum MHD_Result ret = MHD_YES;
    if (refusal) {
        ret = http_reply_refusal(r, refusal); /* no_session: 401 unauthorized */
        goto out;
    }
    if (!facts.username[0] || !facts.role[0]) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
        goto out;
    }
    http_conn_trust(srv, r->conn); /* an authenticated session: never evicted by newcomers */
    memcpy(r->username, facts.username, sizeof(r->username));
    memcpy(r->role, facts.role, sizeof(r->role));
    r->pw_change = facts.password_change_required;
    if (facts.csrf_token[0] && http_token_hex_valid(facts.csrf_token, strlen(facts.csrf_token)))
        memcpy(r->csrf_echo, facts.csrf_token, HTTP_TOKEN_HEX_BYTES + 1);
    /* 8. role */
    if (role_level(r->role) < rt->min_role || role_level(r->role) == 0) {
        ret = http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden");
        goto out;
    }
    /* 9. the initial password must be changed first: only the own password change, the session
     * read and the logout go through (QCVN 135 G1 / EN 303 645 5.1-1) */
    if (r->pw_change) {
        int ok = (rt->flags & R_PWCHANGE_OK) != 0;
        if (ok && (rt->flags & R_SELF) && strcmp(r->param, r->username) != 0)
            ok = 0;
        if (!ok) {
            ret = http_reply_error(r, MHD_HTTP_FORBIDDEN, "password_change_required");
            goto out;
        }
    }
    /* 10. CSRF: the token the vault issued with this session, on every state-changing request */
    if (changes && !(rt->flags & R_NO_CSRF) && !facts.csrf_ok) {
        ret = http_reply_error(r, MHD_HTTP_FORBIDDEN, "csrf");
        goto out;
    }
    /* 11. bodies are JSON only (checked before a byte of the body is read) */
    if (need_json)
        ret = http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
out:
    json_decref(refusal);
    sodium_memzero(&facts, sizeof(facts));
    return ret;
}
