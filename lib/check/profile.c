/* profile.c — strict parser of the device profile (ICS/IXIT, schema qcvn-check-profile/1).
 * Trust level: the profile comes from the lab, but it is parsed like untrusted input: size cap,
 * allowlisted keys at every level, typed and range-checked values, one error line naming the field. */
#include "check_internal.h"

#include <ctype.h>
#include <libgen.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct perr {
    char *buf;
    size_t size;
    int set;
    unsigned flags; /* CHECK_PROFILE_* of the load */
};

static void perr_set(struct perr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr_set(struct perr *e, const char *fmt, ...)
{
    if (e->set)
        return;
    e->set = 1;
    if (e->buf == NULL || e->size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->buf, e->size, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->buf[0] = '\0';
    /* One line, whatever the profile's keys contain (a key with "\n" was echoed: found by
     * fuzz/fuzz_check_profile.c, input kept in fuzz/corpus/check_profile/). */
    for (char *p = e->buf; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
}

/* Reject keys not in the NULL-terminated allowlist. */
static int keys_allowed(json_t *obj, const char *where, const char *const *allowed, struct perr *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok) {
            perr_set(e, "profile: %s%s%s: unknown field", where, where[0] ? "." : "", key);
            return SAFECAM_ERR_INVAL;
        }
    }
    return 0;
}

static int get_obj(json_t *parent, const char *key, const char *where, json_t **out, struct perr *e)
{
    *out = NULL;
    json_t *v = json_object_get(parent, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        perr_set(e, "profile: %s%s%s: must be an object", where, where[0] ? "." : "", key);
        return SAFECAM_ERR_INVAL;
    }
    *out = v;
    return 0;
}

/* Optional string field copied into dst (dst_size). Rejects control characters and overlong values. */
static int get_str(json_t *parent, const char *key, const char *where, char *dst, size_t dst_size,
                   struct perr *e)
{
    json_t *v = json_object_get(parent, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        perr_set(e, "profile: %s%s%s: must be a string", where, where[0] ? "." : "", key);
        return SAFECAM_ERR_INVAL;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len >= dst_size) {
        perr_set(e, "profile: %s%s%s: longer than %zu bytes", where, where[0] ? "." : "", key, dst_size - 1);
        return SAFECAM_ERR_INVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            perr_set(e, "profile: %s%s%s: control character not allowed", where, where[0] ? "." : "", key);
            return SAFECAM_ERR_INVAL;
        }
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int get_long(json_t *parent, const char *key, const char *where, long min, long max, long *dst,
                    struct perr *e)
{
    json_t *v = json_object_get(parent, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        perr_set(e, "profile: %s%s%s: must be an integer %ld..%ld", where, where[0] ? "." : "", key, min, max);
        return SAFECAM_ERR_INVAL;
    }
    *dst = (long)json_integer_value(v);
    return 0;
}

static int get_bool(json_t *parent, const char *key, const char *where, int *dst, struct perr *e)
{
    json_t *v = json_object_get(parent, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        perr_set(e, "profile: %s%s%s: must be true or false", where, where[0] ? "." : "", key);
        return SAFECAM_ERR_INVAL;
    }
    *dst = json_is_true(v) ? 1 : 0;
    return 0;
}

static int path_ok(const char *p)
{
    if (p[0] == '\0')
        return 1;
    if (p[0] != '/')
        return 0;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

static int method_ok(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};
    if (m[0] == '\0')
        return 1;
    for (size_t i = 0; ok[i]; i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

static int field_name_ok(const char *s)
{
    for (const char *c = s; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
            return 0;
    return 1;
}

static int get_path(json_t *parent, const char *key, const char *where, char *dst, size_t n, struct perr *e)
{
    int rc = get_str(parent, key, where, dst, n, e);
    if (rc != 0)
        return rc;
    if (!path_ok(dst)) {
        perr_set(e, "profile: %s.%s: must be an absolute path starting with '/' without spaces", where, key);
        return SAFECAM_ERR_INVAL;
    }
    return 0;
}

static int get_method(json_t *parent, const char *key, const char *where, char *dst, size_t n, struct perr *e)
{
    int rc = get_str(parent, key, where, dst, n, e);
    if (rc != 0)
        return rc;
    if (!method_ok(dst)) {
        perr_set(e, "profile: %s.%s: must be one of GET HEAD POST PUT PATCH DELETE", where, key);
        return SAFECAM_ERR_INVAL;
    }
    return 0;
}

static int get_field(json_t *parent, const char *key, const char *where, char *dst, size_t n, struct perr *e)
{
    int rc = get_str(parent, key, where, dst, n, e);
    if (rc != 0)
        return rc;
    if (!field_name_ok(dst)) {
        perr_set(e, "profile: %s.%s: may hold only letters, digits, '_', '-', '.'", where, key);
        return SAFECAM_ERR_INVAL;
    }
    return 0;
}

/* A file path: relative ones resolve against base_dir. */
static int get_file(json_t *parent, const char *key, const char *where, const char *base_dir, char *dst,
                    size_t n, struct perr *e)
{
    char tmp[CHECK_PATH];
    tmp[0] = '\0';
    int rc = get_str(parent, key, where, tmp, sizeof tmp, e);
    if (rc != 0)
        return rc;
    if (tmp[0] == '\0') {
        dst[0] = '\0';
        return 0;
    }
    if (tmp[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
        rc = safecam_strlcpy(dst, tmp, n);
    else
        rc = safecam_path_join(dst, n, base_dir, tmp);
    if (rc != 0) {
        perr_set(e, "profile: %s.%s: path too long", where, key);
        return SAFECAM_ERR_INVAL;
    }
    return 0;
}

static int secret_dup(const char *s, size_t len, char **out)
{
    char *p = sodium_malloc(len + 1);
    if (p == NULL)
        return SAFECAM_ERR_NOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    *out = p;
    return 0;
}

/* A password: either "password" (inline) or "password_env" (name of an environment variable). */
static int get_secret(json_t *obj, const char *pkey, const char *ekey, const char *where, char **out,
                      int *present, struct perr *e)
{
    json_t *v = json_object_get(obj, pkey);
    json_t *ev = json_object_get(obj, ekey);
    if (v != NULL && ev != NULL) {
        perr_set(e, "profile: %s: give either %s or %s, not both", where, pkey, ekey);
        return SAFECAM_ERR_INVAL;
    }
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) > 256) {
            perr_set(e, "profile: %s.%s: must be a string of at most 256 bytes", where, pkey);
            return SAFECAM_ERR_INVAL;
        }
        if (!safecam_utf8_valid(json_string_value(v), json_string_length(v))) {
            perr_set(e, "profile: %s.%s: must be valid UTF-8 without NUL", where, pkey);
            return SAFECAM_ERR_INVAL;
        }
        *present = 1;
        if (e->flags & CHECK_PROFILE_NO_SECRETS)
            return 0;
        return secret_dup(json_string_value(v), json_string_length(v), out);
    }
    if (ev != NULL && !json_is_null(ev)) {
        if (!json_is_string(ev) || json_string_length(ev) == 0 || json_string_length(ev) > 64 ||
            !field_name_ok(json_string_value(ev))) {
            perr_set(e, "profile: %s.%s: must name an environment variable", where, ekey);
            return SAFECAM_ERR_INVAL;
        }
        if (e->flags & CHECK_PROFILE_NO_SECRETS) {
            *present = 1;
            return 0;
        }
        const char *val = getenv(json_string_value(ev));
        if (val == NULL) {
            perr_set(e, "profile: %s.%s: environment variable %s is not set", where, ekey, json_string_value(ev));
            return SAFECAM_ERR_INVAL;
        }
        size_t len = strlen(val);
        if (len > 256) {
            perr_set(e, "profile: %s.%s: value longer than 256 bytes", where, ekey);
            return SAFECAM_ERR_INVAL;
        }
        *present = 1;
        return secret_dup(val, len, out);
    }
    return 0;
}

static int parse_cred(json_t *creds, const char *key, struct check_cred *c, struct perr *e)
{
    json_t *o = NULL;
    char where[64];
    if (safecam_fmt(where, sizeof where, "credentials.%s", key) != 0)
        return SAFECAM_ERR_INTERNAL;
    int rc = get_obj(creds, key, "credentials", &o, e);
    if (rc != 0 || o == NULL)
        return rc;
    static const char *const k[] = {"username", "password", "password_env", NULL};
    if ((rc = keys_allowed(o, where, k, e)) != 0)
        return rc;
    if ((rc = get_str(o, "username", where, c->username, sizeof c->username, e)) != 0)
        return rc;
    if (c->username[0] == '\0') {
        perr_set(e, "profile: %s.username: required", where);
        return SAFECAM_ERR_INVAL;
    }
    int present = 0;
    if ((rc = get_secret(o, "password", "password_env", where, &c->password, &present, e)) != 0)
        return rc;
    if (!present) {
        perr_set(e, "profile: %s.password: required (or password_env)", where);
        return SAFECAM_ERR_INVAL;
    }
    c->present = 1;
    return 0;
}

void check_profile_defaults(struct check_profile *p)
{
    memset(p, 0, sizeof *p);
    /* The generic defaults follow INTERFACES.md; a profile overrides every one. */
    IGN_STRLCPY(p->login_type, "none", sizeof p->login_type);
    IGN_STRLCPY(p->user_field, "username", sizeof p->user_field);
    IGN_STRLCPY(p->pass_field, "password", sizeof p->pass_field);
    IGN_STRLCPY(p->pwchange_current_field, "current_password", sizeof p->pwchange_current_field);
    IGN_STRLCPY(p->pwchange_new_field, "new_password", sizeof p->pwchange_new_field);
    IGN_STRLCPY(p->logout_method, "DELETE", sizeof p->logout_method);
    IGN_STRLCPY(p->pwchange_method, "PUT", sizeof p->pwchange_method);
    IGN_STRLCPY(p->update_method, "POST", sizeof p->update_method);
    IGN_STRLCPY(p->restart_method, "POST", sizeof p->restart_method);
    IGN_STRLCPY(p->del_seed.method, "POST", sizeof p->del_seed.method);
    IGN_STRLCPY(p->del_list.method, "GET", sizeof p->del_list.method);
    IGN_STRLCPY(p->del_one.method, "DELETE", sizeof p->del_one.method);
    IGN_STRLCPY(p->del_reset.method, "POST", sizeof p->del_reset.method);
    IGN_STRLCPY(p->del_confirm_field, "confirm", sizeof p->del_confirm_field);
    p->lockout_threshold = 5;   /* Decision 724: 5 failures within 30 s -> 5 min */
    p->lockout_window_s = 30;
    p->lockout_duration_s = 300;
    p->idle_timeout_s = 900;
    p->absolute_timeout_s = 28800;
}

void check_profile_free(struct check_profile *p)
{
    if (p->admin.password)
        sodium_free(p->admin.password);
    if (p->user.password)
        sodium_free(p->user.password);
    if (p->initial_password)
        sodium_free(p->initial_password);
    json_decref(p->ics);
    check_profile_defaults(p);
}

static int parse_services(json_t *root, struct check_profile *p, struct perr *e)
{
    json_t *arr = json_object_get(root, "services");
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        perr_set(e, "profile: services: must be an array");
        return SAFECAM_ERR_INVAL;
    }
    if (json_array_size(arr) > CHECK_MAX_SERVICES) {
        perr_set(e, "profile: services: at most %d entries", CHECK_MAX_SERVICES);
        return SAFECAM_ERR_INVAL;
    }
    p->services_declared = 1;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        char where[32];
        if (safecam_fmt(where, sizeof where, "services[%zu]", i) != 0)
            return SAFECAM_ERR_INTERNAL;
        if (!json_is_object(s)) {
            perr_set(e, "profile: %s: must be an object", where);
            return SAFECAM_ERR_INVAL;
        }
        static const char *const k[] = {"port", "protocol", "service", "purpose", NULL};
        int rc = keys_allowed(s, where, k, e);
        if (rc != 0)
            return rc;
        struct check_service *sv = &p->services[p->n_services];
        long port = 0;
        if ((rc = get_long(s, "port", where, 1, 65535, &port, e)) != 0)
            return rc;
        if (port == 0) {
            perr_set(e, "profile: %s.port: required", where);
            return SAFECAM_ERR_INVAL;
        }
        sv->port = (int)port;
        char proto[8] = "tcp", kind[16] = "";
        if ((rc = get_str(s, "protocol", where, proto, sizeof proto, e)) != 0)
            return rc;
        if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
            perr_set(e, "profile: %s.protocol: must be \"tcp\" or \"udp\"", where);
            return SAFECAM_ERR_INVAL;
        }
        sv->udp = strcmp(proto, "udp") == 0;
        if ((rc = get_str(s, "service", where, kind, sizeof kind, e)) != 0)
            return rc;
        if (kind[0] == '\0') {
            perr_set(e, "profile: %s.service: required (http https rtsp rtsps ssh telnet ftp tls onvif other)", where);
            return SAFECAM_ERR_INVAL;
        }
        int k2 = check_service_kind_parse(kind);
        if (k2 < 0) {
            perr_set(e, "profile: %s.service: must be one of http https rtsp rtsps ssh telnet ftp tls onvif other",
                     where);
            return SAFECAM_ERR_INVAL;
        }
        sv->kind = (enum check_service_kind)k2;
        if ((rc = get_str(s, "purpose", where, sv->purpose, sizeof sv->purpose, e)) != 0)
            return rc;
        for (size_t j = 0; j < p->n_services; j++) {
            if (p->services[j].port == sv->port && p->services[j].udp == sv->udp) {
                perr_set(e, "profile: %s.port: %d/%s declared twice", where, sv->port, proto);
                return SAFECAM_ERR_INVAL;
            }
        }
        p->n_services++;
    }
    return 0;
}

static int parse_endpoints(json_t *root, struct check_profile *p, struct perr *e)
{
    json_t *arr = json_object_get(root, "protected_endpoints");
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > CHECK_MAX_ENDPOINTS) {
        perr_set(e, "profile: protected_endpoints: must be an array of at most %d entries", CHECK_MAX_ENDPOINTS);
        return SAFECAM_ERR_INVAL;
    }
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        char where[40];
        if (safecam_fmt(where, sizeof where, "protected_endpoints[%zu]", i) != 0)
            return SAFECAM_ERR_INTERNAL;
        if (!json_is_object(s)) {
            perr_set(e, "profile: %s: must be an object", where);
            return SAFECAM_ERR_INVAL;
        }
        static const char *const k[] = {"method", "path", "body", "admin_only", NULL};
        int rc = keys_allowed(s, where, k, e);
        if (rc != 0)
            return rc;
        struct check_endpoint *ep = &p->endpoints[p->n_endpoints];
        IGN_STRLCPY(ep->method, "GET", sizeof ep->method);
        if ((rc = get_method(s, "method", where, ep->method, sizeof ep->method, e)) != 0 ||
            (rc = get_path(s, "path", where, ep->path, sizeof ep->path, e)) != 0)
            return rc;
        if (ep->path[0] == '\0') {
            perr_set(e, "profile: %s.path: required", where);
            return SAFECAM_ERR_INVAL;
        }
        json_t *body = json_object_get(s, "body");
        if (body != NULL && !json_is_null(body)) {
            if (!json_is_object(body) && !json_is_array(body)) {
                perr_set(e, "profile: %s.body: must be a JSON object or array", where);
                return SAFECAM_ERR_INVAL;
            }
            char *txt = json_dumps(body, JSON_COMPACT);
            if (txt == NULL)
                return SAFECAM_ERR_NOMEM;
            rc = safecam_strlcpy(ep->body, txt, sizeof ep->body);
            free(txt);
            if (rc != 0) {
                perr_set(e, "profile: %s.body: longer than %zu bytes", where, sizeof ep->body - 1);
                return SAFECAM_ERR_INVAL;
            }
        }
        if ((rc = get_bool(s, "admin_only", where, &ep->admin_only, e)) != 0)
            return rc;
        p->n_endpoints++;
    }
    return 0;
}

/* One deletion request {method, path, body?}; where is "deletion.<key>". */
static int parse_request(json_t *parent, const char *key, struct check_request *q, struct perr *e)
{
    json_t *o = NULL;
    char where[48];
    if (safecam_fmt(where, sizeof where, "deletion.%s", key) != 0)
        return SAFECAM_ERR_INTERNAL;
    int rc = get_obj(parent, key, "deletion", &o, e);
    if (rc != 0 || o == NULL)
        return rc;
    static const char *const k[] = {"method", "path", "body", NULL};
    if ((rc = keys_allowed(o, where, k, e)) != 0 ||
        (rc = get_method(o, "method", where, q->method, sizeof q->method, e)) != 0 ||
        (rc = get_path(o, "path", where, q->path, sizeof q->path, e)) != 0)
        return rc;
    json_t *body = json_object_get(o, "body");
    if (body != NULL && !json_is_null(body)) {
        if (!json_is_object(body)) {
            perr_set(e, "profile: %s.body: must be a JSON object", where);
            return SAFECAM_ERR_INVAL;
        }
        char *txt = json_dumps(body, JSON_COMPACT);
        if (txt == NULL)
            return SAFECAM_ERR_NOMEM;
        rc = safecam_strlcpy(q->body, txt, sizeof q->body);
        free(txt);
        if (rc != 0) {
            perr_set(e, "profile: %s.body: longer than %zu bytes", where, sizeof q->body - 1);
            return SAFECAM_ERR_INVAL;
        }
    }
    return 0;
}

static int parse_deletion(json_t *root, struct check_profile *p, struct perr *e)
{
    json_t *o = NULL;
    int rc = get_obj(root, "deletion", "", &o, e);
    if (rc != 0 || o == NULL)
        return rc;
    static const char *const k[] = {"seed", "list", "delete_one", "factory_reset", "confirm_field", NULL};
    if ((rc = keys_allowed(o, "deletion", k, e)) != 0 || (rc = parse_request(o, "seed", &p->del_seed, e)) != 0 ||
        (rc = parse_request(o, "list", &p->del_list, e)) != 0 ||
        (rc = parse_request(o, "delete_one", &p->del_one, e)) != 0 ||
        (rc = parse_request(o, "factory_reset", &p->del_reset, e)) != 0 ||
        (rc = get_field(o, "confirm_field", "deletion", p->del_confirm_field, sizeof p->del_confirm_field, e)) != 0)
        return rc;
    return 0;
}

/* "ics": the vendor's statement per clause (check.h); keys must be clauses of the catalogue, values objects with
 * a known status and printable justifications of at most CHECK_ICS_TEXT_MAX bytes. */
static int parse_ics(json_t *root, struct check_profile *p, struct perr *e)
{
    json_t *ics = NULL;
    int rc = get_obj(root, "ics", "", &ics, e);
    if (rc != 0 || ics == NULL)
        return rc;
    if (json_object_size(ics) > CHECK_ICS_MAX_ENTRIES) {
        perr_set(e, "profile: ics: more than %d entries", CHECK_ICS_MAX_ENTRIES);
        return SAFECAM_ERR_INVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(ics, key, v) {
        char where[64];
        if (!check_ics_clause_known(key)) {
            perr_set(e, "profile: ics.%.40s: not a clause of the catalogue (a test ID like PW-01 or an EN 303 645 "
                        "provision like 5.1-1; see qcvn-check --list-tests)", key);
            return SAFECAM_ERR_INVAL;
        }
        IGN_FMT(where, sizeof where, "ics.%s", key);
        if (!json_is_object(v)) {
            perr_set(e, "profile: %s: must be an object {status, en, vi}", where);
            return SAFECAM_ERR_INVAL;
        }
        static const char *const ki[] = {"status", "en", "vi", NULL};
        if ((rc = keys_allowed(v, where, ki, e)) != 0)
            return rc;
        char status[32] = "", text[CHECK_ICS_TEXT_MAX + 1];
        if ((rc = get_str(v, "status", where, status, sizeof status, e)) != 0 ||
            (rc = get_str(v, "en", where, text, sizeof text, e)) != 0 ||
            (rc = get_str(v, "vi", where, text, sizeof text, e)) != 0)
            return rc;
        if (status[0] && check_ics_status_parse(status) < 0) {
            perr_set(e, "profile: %s.status: must be \"supported\", \"not_supported\" or \"not_applicable\"", where);
            return SAFECAM_ERR_INVAL;
        }
    }
    p->ics = json_deep_copy(ics);
    if (p->ics == NULL) {
        perr_set(e, "profile: ics: out of memory");
        return SAFECAM_ERR_NOMEM;
    }
    return 0;
}

static int parse_auth(json_t *root, struct check_profile *p, struct perr *e)
{
    json_t *a = NULL, *o = NULL;
    int rc = get_obj(root, "auth", "", &a, e);
    if (rc != 0 || a == NULL)
        return rc;
    static const char *const k[] = {"login", "logout", "password_change", "authenticated_probe", "events",
                                    "lockout", "sessions", "roles", NULL};
    if ((rc = keys_allowed(a, "auth", k, e)) != 0)
        return rc;
    if ((rc = get_obj(a, "login", "auth", &o, e)) != 0)
        return rc;
    if (o != NULL) {
        static const char *const kl[] = {"type", "path", "username_field", "password_field", "csrf_field",
                                         "csrf_header", "session_cookie", "change_required_field", NULL};
        if ((rc = keys_allowed(o, "auth.login", kl, e)) != 0 ||
            (rc = get_str(o, "type", "auth.login", p->login_type, sizeof p->login_type, e)) != 0 ||
            (rc = get_path(o, "path", "auth.login", p->login_path, sizeof p->login_path, e)) != 0 ||
            (rc = get_field(o, "username_field", "auth.login", p->user_field, sizeof p->user_field, e)) != 0 ||
            (rc = get_field(o, "password_field", "auth.login", p->pass_field, sizeof p->pass_field, e)) != 0 ||
            (rc = get_field(o, "csrf_field", "auth.login", p->csrf_field, sizeof p->csrf_field, e)) != 0 ||
            (rc = get_field(o, "csrf_header", "auth.login", p->csrf_header, sizeof p->csrf_header, e)) != 0 ||
            (rc = get_field(o, "session_cookie", "auth.login", p->session_cookie, sizeof p->session_cookie, e)) != 0 ||
            (rc = get_field(o, "change_required_field", "auth.login", p->change_required_field,
                            sizeof p->change_required_field, e)) != 0)
            return rc;
        if (strcmp(p->login_type, "json") != 0 && strcmp(p->login_type, "basic") != 0 &&
            strcmp(p->login_type, "none") != 0) {
            perr_set(e, "profile: auth.login.type: must be \"json\", \"basic\" or \"none\"");
            return SAFECAM_ERR_INVAL;
        }
        if (strcmp(p->login_type, "none") != 0 && p->login_path[0] == '\0') {
            perr_set(e, "profile: auth.login.path: required when type is %s", p->login_type);
            return SAFECAM_ERR_INVAL;
        }
    }
    if ((rc = get_obj(a, "logout", "auth", &o, e)) != 0)
        return rc;
    if (o != NULL) {
        static const char *const kl[] = {"method", "path", NULL};
        if ((rc = keys_allowed(o, "auth.logout", kl, e)) != 0 ||
            (rc = get_method(o, "method", "auth.logout", p->logout_method, sizeof p->logout_method, e)) != 0 ||
            (rc = get_path(o, "path", "auth.logout", p->logout_path, sizeof p->logout_path, e)) != 0)
            return rc;
    }
    if ((rc = get_obj(a, "password_change", "auth", &o, e)) != 0)
        return rc;
    if (o != NULL) {
        static const char *const kl[] = {"method", "path", "current_field", "new_field", NULL};
        if ((rc = keys_allowed(o, "auth.password_change", kl, e)) != 0 ||
            (rc = get_method(o, "method", "auth.password_change", p->pwchange_method, sizeof p->pwchange_method, e)) != 0 ||
            (rc = get_path(o, "path", "auth.password_change", p->pwchange_path, sizeof p->pwchange_path, e)) != 0 ||
            (rc = get_field(o, "current_field", "auth.password_change", p->pwchange_current_field,
                            sizeof p->pwchange_current_field, e)) != 0 ||
            (rc = get_field(o, "new_field", "auth.password_change", p->pwchange_new_field,
                            sizeof p->pwchange_new_field, e)) != 0)
            return rc;
    }
    if ((rc = get_path(a, "authenticated_probe", "auth", p->authed_path, sizeof p->authed_path, e)) != 0 ||
        (rc = get_path(a, "events", "auth", p->events_path, sizeof p->events_path, e)) != 0)
        return rc;
    if ((rc = get_obj(a, "lockout", "auth", &o, e)) != 0)
        return rc;
    if (o != NULL) {
        static const char *const kl[] = {"threshold", "window_s", "duration_s", "scope", NULL};
        char scope[16] = "source";
        if ((rc = get_str(o, "scope", "auth.lockout", scope, sizeof scope, e)) != 0)
            return rc;
        if (strcmp(scope, "source") != 0 && strcmp(scope, "account") != 0) {
            perr_set(e, "profile: auth.lockout.scope: must be \"source\" or \"account\"");
            return SAFECAM_ERR_INVAL;
        }
        p->lockout_per_account = strcmp(scope, "account") == 0;
        if ((rc = keys_allowed(o, "auth.lockout", kl, e)) != 0 ||
            (rc = get_long(o, "threshold", "auth.lockout", 1, 100, &p->lockout_threshold, e)) != 0 ||
            (rc = get_long(o, "window_s", "auth.lockout", 1, 86400, &p->lockout_window_s, e)) != 0 ||
            (rc = get_long(o, "duration_s", "auth.lockout", 1, 86400, &p->lockout_duration_s, e)) != 0)
            return rc;
    }
    if ((rc = get_obj(a, "sessions", "auth", &o, e)) != 0)
        return rc;
    if (o != NULL) {
        static const char *const kl[] = {"idle_timeout_s", "absolute_timeout_s", NULL};
        if ((rc = keys_allowed(o, "auth.sessions", kl, e)) != 0 ||
            (rc = get_long(o, "idle_timeout_s", "auth.sessions", 1, 604800, &p->idle_timeout_s, e)) != 0 ||
            (rc = get_long(o, "absolute_timeout_s", "auth.sessions", 1, 2592000, &p->absolute_timeout_s, e)) != 0)
            return rc;
    }
    json_t *roles = json_object_get(a, "roles");
    if (roles != NULL && !json_is_null(roles)) {
        if (!json_is_array(roles) || json_array_size(roles) == 0 || json_array_size(roles) > 16) {
            perr_set(e, "profile: auth.roles: must be a non-empty array of at most 16 role names");
            return SAFECAM_ERR_INVAL;
        }
        size_t i;
        json_t *r;
        json_array_foreach(roles, i, r) {
            if (!json_is_string(r) || json_string_length(r) == 0 || json_string_length(r) > 32 ||
                !field_name_ok(json_string_value(r))) {
                perr_set(e, "profile: auth.roles[%zu]: must be a role name", i);
                return SAFECAM_ERR_INVAL;
            }
        }
        p->single_role = json_array_size(roles) == 1;
    }
    return 0;
}

static int profile_parse(const char *buf, size_t len, const char *base_dir, unsigned flags, struct check_profile *p,
                         char *err, size_t err_size)
{
    struct perr e = {err, err_size, 0, flags};
    json_t *root = NULL;
    int rc = SAFECAM_ERR_INVAL;
    if (err && err_size)
        err[0] = '\0';
    check_profile_defaults(p);
    if (sodium_init() < 0) {
        perr_set(&e, "profile: libsodium failed to initialise");
        return SAFECAM_ERR_INTERNAL;
    }
    if (buf == NULL || len > CHECK_PROFILE_MAX_BYTES) {
        perr_set(&e, "profile: larger than %d bytes", CHECK_PROFILE_MAX_BYTES);
        return SAFECAM_ERR_TOOBIG;
    }
    json_error_t je;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        perr_set(&e, "profile: not valid JSON at line %d column %d: %s", je.line, je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        perr_set(&e, "profile: top level must be an object");
        goto out;
    }
    static const char *const k[] = {"schema", "device", "services", "auth", "protected_endpoints", "rtsp",
                                    "tls", "credentials", "documents", "update", "factory_state",
                                    "consent", "comment", "restart", "deletion", "ics", NULL};
    if ((rc = keys_allowed(root, "", k, &e)) != 0)
        goto out;
    rc = SAFECAM_ERR_INVAL;
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_string(schema) || strcmp(json_string_value(schema), CHECK_PROFILE_SCHEMA) != 0) {
        perr_set(&e, "profile: schema: must be \"%s\"", CHECK_PROFILE_SCHEMA);
        goto out;
    }
    json_t *o = NULL;
    if ((rc = get_obj(root, "device", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const kd[] = {"vendor", "model", "firmware_version", "serial", "mac", NULL};
        if ((rc = keys_allowed(o, "device", kd, &e)) != 0 ||
            (rc = get_str(o, "vendor", "device", p->vendor, sizeof p->vendor, &e)) != 0 ||
            (rc = get_str(o, "model", "device", p->model, sizeof p->model, &e)) != 0 ||
            (rc = get_str(o, "firmware_version", "device", p->firmware, sizeof p->firmware, &e)) != 0 ||
            (rc = get_str(o, "serial", "device", p->serial, sizeof p->serial, &e)) != 0 ||
            (rc = get_str(o, "mac", "device", p->mac, sizeof p->mac, &e)) != 0)
            goto out;
    }
    if ((rc = parse_services(root, p, &e)) != 0 || (rc = parse_auth(root, p, &e)) != 0 ||
        (rc = parse_endpoints(root, p, &e)) != 0)
        goto out;
    if ((rc = get_obj(root, "rtsp", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const kr[] = {"paths", NULL};
        if ((rc = keys_allowed(o, "rtsp", kr, &e)) != 0)
            goto out;
        json_t *paths = json_object_get(o, "paths");
        if (paths != NULL) {
            rc = SAFECAM_ERR_INVAL;
            if (!json_is_array(paths) || json_array_size(paths) > CHECK_MAX_RTSP_PATHS) {
                perr_set(&e, "profile: rtsp.paths: must be an array of at most %d paths", CHECK_MAX_RTSP_PATHS);
                goto out;
            }
            size_t i;
            json_t *v;
            json_array_foreach(paths, i, v) {
                if (!json_is_string(v) || json_string_length(v) >= CHECK_STR || !path_ok(json_string_value(v)) ||
                    json_string_length(v) == 0) {
                    perr_set(&e, "profile: rtsp.paths[%zu]: must be a path starting with '/'", i);
                    goto out;
                }
                memcpy(p->rtsp_paths[p->n_rtsp_paths], json_string_value(v), json_string_length(v) + 1);
                p->n_rtsp_paths++;
            }
        }
    }
    if ((rc = get_obj(root, "tls", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const kt[] = {"cafile", "pinned_pubkey", NULL};
        if ((rc = keys_allowed(o, "tls", kt, &e)) != 0 ||
            (rc = get_file(o, "cafile", "tls", base_dir, p->tls_cafile, sizeof p->tls_cafile, &e)) != 0 ||
            (rc = get_str(o, "pinned_pubkey", "tls", p->tls_pinned_pubkey, sizeof p->tls_pinned_pubkey, &e)) != 0)
            goto out;
        if (p->tls_pinned_pubkey[0] && strncmp(p->tls_pinned_pubkey, "sha256//", 8) != 0) {
            rc = SAFECAM_ERR_INVAL;
            perr_set(&e, "profile: tls.pinned_pubkey: must start with \"sha256//\"");
            goto out;
        }
    }
    if ((rc = get_obj(root, "documents", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const kdoc[] = {"disclosure_policy_url", "disclosure_policy_file", "manual_url",
                                           "manual_file", NULL};
        if ((rc = keys_allowed(o, "documents", kdoc, &e)) != 0 ||
            (rc = get_str(o, "disclosure_policy_url", "documents", p->doc_policy_url, sizeof p->doc_policy_url, &e)) != 0 ||
            (rc = get_file(o, "disclosure_policy_file", "documents", base_dir, p->doc_policy_file,
                           sizeof p->doc_policy_file, &e)) != 0 ||
            (rc = get_str(o, "manual_url", "documents", p->doc_manual_url, sizeof p->doc_manual_url, &e)) != 0 ||
            (rc = get_file(o, "manual_file", "documents", base_dir, p->doc_manual_file, sizeof p->doc_manual_file,
                           &e)) != 0)
            goto out;
    }
    if ((rc = get_obj(root, "update", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const ku[] = {"method", "path", "bundle_file", "older_bundle_file", "content_type",
                                         "version_path", NULL};
        if ((rc = keys_allowed(o, "update", ku, &e)) != 0 ||
            (rc = get_method(o, "method", "update", p->update_method, sizeof p->update_method, &e)) != 0 ||
            (rc = get_path(o, "path", "update", p->update_path, sizeof p->update_path, &e)) != 0 ||
            (rc = get_file(o, "bundle_file", "update", base_dir, p->update_bundle_file,
                           sizeof p->update_bundle_file, &e)) != 0 ||
            (rc = get_file(o, "older_bundle_file", "update", base_dir, p->update_older_bundle_file,
                           sizeof p->update_older_bundle_file, &e)) != 0 ||
            (rc = get_str(o, "content_type", "update", p->update_content_type, sizeof p->update_content_type,
                          &e)) != 0 ||
            (rc = get_path(o, "version_path", "update", p->update_version_path, sizeof p->update_version_path,
                           &e)) != 0)
            goto out;
        for (const char *ct = p->update_content_type; *ct; ct++) {
            if ((unsigned char)*ct < 0x20 || (unsigned char)*ct > 0x7e) {
                rc = SAFECAM_ERR_INVAL;
                perr_set(&e, "profile: update.content_type: must be printable ASCII");
                goto out;
            }
        }
    }
    if ((rc = get_bool(root, "factory_state", "", &p->factory_state, &e)) != 0)
        goto out;
    if ((rc = get_obj(root, "consent", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const kc[] = {"destructive", "restart", "deletion", "factory_reset", NULL};
        if ((rc = keys_allowed(o, "consent", kc, &e)) != 0 ||
            (rc = get_bool(o, "destructive", "consent", &p->consent_destructive, &e)) != 0 ||
            (rc = get_bool(o, "restart", "consent", &p->consent_restart, &e)) != 0 ||
            (rc = get_bool(o, "deletion", "consent", &p->consent_deletion, &e)) != 0 ||
            (rc = get_bool(o, "factory_reset", "consent", &p->consent_factory_reset, &e)) != 0)
            goto out;
    }
    if ((rc = parse_deletion(root, p, &e)) != 0 || (rc = parse_ics(root, p, &e)) != 0)
        goto out;
    if ((rc = get_obj(root, "restart", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const krs[] = {"method", "path", "compare", NULL};
        if ((rc = keys_allowed(o, "restart", krs, &e)) != 0 ||
            (rc = get_method(o, "method", "restart", p->restart_method, sizeof p->restart_method, &e)) != 0 ||
            (rc = get_path(o, "path", "restart", p->restart_path, sizeof p->restart_path, &e)) != 0)
            goto out;
        json_t *cmp = json_object_get(o, "compare");
        if (cmp != NULL) {
            rc = SAFECAM_ERR_INVAL;
            if (!json_is_array(cmp) || json_array_size(cmp) > CHECK_MAX_RESTART_COMPARE) {
                perr_set(&e, "profile: restart.compare: must be an array of at most %d paths", CHECK_MAX_RESTART_COMPARE);
                goto out;
            }
            size_t i;
            json_t *v;
            json_array_foreach(cmp, i, v) {
                if (!json_is_string(v) || json_string_length(v) >= CHECK_PATH || json_string_length(v) == 0 ||
                    !path_ok(json_string_value(v))) {
                    perr_set(&e, "profile: restart.compare[%zu]: must be a path starting with '/'", i);
                    goto out;
                }
                memcpy(p->restart_compare[p->n_restart_compare], json_string_value(v), json_string_length(v) + 1);
                p->n_restart_compare++;
            }
            rc = 0;
        }
    }
    json_t *comment = json_object_get(root, "comment");
    if (comment != NULL && !json_is_string(comment)) {
        rc = SAFECAM_ERR_INVAL;
        perr_set(&e, "profile: comment: must be a string");
        goto out;
    }
    if ((rc = get_obj(root, "credentials", "", &o, &e)) != 0)
        goto out;
    if (o != NULL) {
        static const char *const kc[] = {"admin", "user", "initial_password", "initial_password_env", NULL};
        int present = 0;
        if ((rc = keys_allowed(o, "credentials", kc, &e)) != 0 || (rc = parse_cred(o, "admin", &p->admin, &e)) != 0 ||
            (rc = parse_cred(o, "user", &p->user, &e)) != 0 ||
            (rc = get_secret(o, "initial_password", "initial_password_env", "credentials", &p->initial_password,
                             &present, &e)) != 0)
            goto out;
        p->initial_declared = present;
        if (p->user.present && p->admin.present && strcmp(p->user.username, p->admin.username) == 0) {
            rc = SAFECAM_ERR_INVAL;
            perr_set(&e, "profile: credentials.user.username: must differ from the admin user");
            goto out;
        }
    }
    if ((p->admin.present || p->user.present || p->initial_declared) && strcmp(p->login_type, "none") == 0) {
        rc = SAFECAM_ERR_INVAL;
        perr_set(&e, "profile: auth.login: credentials are given but no login surface is declared");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        if (!e.set)
            perr_set(&e, "profile: invalid (%s)", safecam_err_name(rc));
        check_profile_free(p);
    }
    json_decref(root);
    return rc;
}

int check_profile_parse(const char *buf, size_t len, const char *base_dir, struct check_profile *p, char *err,
                        size_t err_size)
{
    return profile_parse(buf, len, base_dir, 0, p, err, err_size);
}

int check_profile_load(const char *path, struct check_profile *out, char *err, size_t err_size)
{
    return check_profile_load_flags(path, 0, out, err, err_size);
}

int check_profile_load_flags(const char *path, unsigned flags, struct check_profile *out, char *err, size_t err_size)
{
    char *buf = NULL;
    size_t len = 0;
    check_profile_defaults(out);
    int rc = safecam_file_read(path, CHECK_PROFILE_MAX_BYTES, &buf, &len);
    if (rc != 0) {
        if (err && err_size)
            IGN_FMT(err, err_size, "profile: %s: cannot read (%s)", path,
                              rc == SAFECAM_ERR_TOOBIG ? "larger than 256 KiB" : "no such readable file");
        return rc;
    }
    char dirbuf[CHECK_PATH];
    if (safecam_strlcpy(dirbuf, path, sizeof dirbuf) != 0) {
        free(buf);
        if (err && err_size)
            IGN_FMT(err, err_size, "profile: path too long");
        return SAFECAM_ERR_INVAL;
    }
    rc = profile_parse(buf, len, dirname(dirbuf), flags, out, err, err_size);
    sodium_memzero(buf, len);
    free(buf);
    if (rc == 0)
        IGN_STRLCPY(out->source_path, path, sizeof out->source_path);
    return rc;
}

json_t *check_profile_echo(const struct check_profile *p)
{
    json_t *o = json_object();
    json_t *svcs = json_array();
    for (size_t i = 0; i < p->n_services; i++) {
        json_array_append_new(svcs, json_pack("{s:i,s:s,s:s,s:s}", "port", p->services[i].port, "protocol",
                                              p->services[i].udp ? "udp" : "tcp", "service",
                                              check_service_kind_name(p->services[i].kind), "purpose",
                                              p->services[i].purpose));
    }
    json_t *eps = json_array();
    for (size_t i = 0; i < p->n_endpoints; i++)
        json_array_append_new(eps, json_pack("{s:s,s:s,s:b}", "method", p->endpoints[i].method, "path",
                                             p->endpoints[i].path, "admin_only", p->endpoints[i].admin_only));
    json_t *rtsp = json_array();
    for (size_t i = 0; i < p->n_rtsp_paths; i++)
        json_array_append_new(rtsp, json_string(p->rtsp_paths[i]));
    json_object_set_new(o, "source", json_string(p->source_path[0] ? p->source_path : "(none: discovery)"));
    json_object_set_new(o, "device", json_pack("{s:s,s:s,s:s,s:s,s:s}", "vendor", p->vendor, "model", p->model,
                                               "firmware_version", p->firmware, "serial", p->serial, "mac", p->mac));
    json_object_set_new(o, "services_declared", json_boolean(p->services_declared));
    json_object_set_new(o, "services", svcs);
    json_object_set_new(o, "login", json_pack("{s:s,s:s}", "type", p->login_type, "path", p->login_path));
    json_object_set_new(o, "lockout", json_pack("{s:I,s:I,s:I}", "threshold", (json_int_t)p->lockout_threshold,
                                                "window_s", (json_int_t)p->lockout_window_s, "duration_s",
                                                (json_int_t)p->lockout_duration_s));
    json_object_set_new(o, "sessions", json_pack("{s:I,s:I}", "idle_timeout_s", (json_int_t)p->idle_timeout_s,
                                                 "absolute_timeout_s", (json_int_t)p->absolute_timeout_s));
    json_object_set_new(o, "protected_endpoints", eps);
    json_object_set_new(o, "rtsp_paths", rtsp);
    json_object_set_new(o, "credentials",
                        json_pack("{s:s,s:s,s:s}", "admin", p->admin.present ? "provided" : "absent", "user",
                                  p->user.present ? "provided" : "absent", "initial_password",
                                  p->initial_password ? "provided" : "absent"));
    json_object_set_new(o, "documents", json_pack("{s:s,s:s,s:s,s:s}", "disclosure_policy_url", p->doc_policy_url,
                                                  "disclosure_policy_file", p->doc_policy_file, "manual_url",
                                                  p->doc_manual_url, "manual_file", p->doc_manual_file));
    json_object_set_new(o, "update", json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "method", p->update_method, "path",
                                               p->update_path, "bundle_file", p->update_bundle_file,
                                               "older_bundle_file", p->update_older_bundle_file, "content_type",
                                               p->update_content_type, "version_path", p->update_version_path));
    json_object_set_new(o, "factory_state", json_boolean(p->factory_state));
    json_object_set_new(o, "consent_destructive", json_boolean(p->consent_destructive));
    json_object_set_new(o, "consent_restart", json_boolean(p->consent_restart));
    json_t *cmp = json_array();
    for (size_t i = 0; i < p->n_restart_compare && cmp; i++)
        json_array_append_new(cmp, json_string(p->restart_compare[i]));
    json_object_set_new(o, "restart", json_pack("{s:s,s:s,s:o?}", "method", p->restart_method, "path", p->restart_path,
                                                "compare", cmp));
    json_object_set_new(o, "deletion",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seed_method", p->del_seed.method, "seed_path",
                                  p->del_seed.path, "list_path", p->del_list.path, "delete_one_method",
                                  p->del_one.method, "delete_one_path", p->del_one.path, "factory_reset_method",
                                  p->del_reset.method, "factory_reset_path", p->del_reset.path, "confirm_field",
                                  p->del_confirm_field, "list_method", p->del_list.method));
    json_object_set_new(o, "consent_deletion", json_boolean(p->consent_deletion));
    json_object_set_new(o, "consent_factory_reset", json_boolean(p->consent_factory_reset));
    json_object_set_new(o, "ics_entries", json_integer((json_int_t)json_object_size(p->ics)));
    return o;
}

const char *check_profile_template(void)
{
    return "{\n"
           "  \"schema\": \"qcvn-check-profile/1\",\n"
           "  \"comment\": \"ICS/IXIT for qcvn-check. Remove what the device does not have. See docs/qcvn-check.md.\",\n"
           "  \"device\": {\n"
           "    \"vendor\": \"Example Ltd\",\n"
           "    \"model\": \"CAM-1000\",\n"
           "    \"firmware_version\": \"1.0.0\",\n"
           "    \"serial\": \"(from the label; IF-02 looks for it in unauthenticated answers)\",\n"
           "    \"mac\": \"aa:bb:cc:dd:ee:ff\"\n"
           "  },\n"
           "  \"services\": [\n"
           "    {\"port\": 443, \"protocol\": \"tcp\", \"service\": \"https\", \"purpose\": \"admin API and web UI\"},\n"
           "    {\"port\": 322, \"protocol\": \"tcp\", \"service\": \"rtsps\", \"purpose\": \"video\"}\n"
           "  ],\n"
           "  \"auth\": {\n"
           "    \"login\": {\"type\": \"json\", \"path\": \"/api/v1/session\", \"username_field\": \"username\",\n"
           "              \"password_field\": \"password\", \"csrf_field\": \"csrf_token\", \"csrf_header\": \"X-CSRF-Token\",\n"
           "              \"session_cookie\": \"\", \"change_required_field\": \"password_change_required\"},\n"
           "    \"logout\": {\"method\": \"DELETE\", \"path\": \"/api/v1/session\"},\n"
           "    \"password_change\": {\"method\": \"PUT\", \"path\": \"/api/v1/users/{user}/password\",\n"
           "                        \"current_field\": \"current_password\", \"new_field\": \"new_password\"},\n"
           "    \"authenticated_probe\": \"/api/v1/device\",\n"
           "    \"events\": \"/api/v1/events\",\n"
           "    \"lockout\": {\"threshold\": 5, \"window_s\": 30, \"duration_s\": 300},\n"
           "    \"sessions\": {\"idle_timeout_s\": 900, \"absolute_timeout_s\": 28800},\n"
           "    \"roles\": [\"admin\", \"viewer\"]\n"
           "  },\n"
           "  \"protected_endpoints\": [\n"
           "    {\"method\": \"GET\", \"path\": \"/api/v1/device\", \"admin_only\": false},\n"
           "    {\"method\": \"GET\", \"path\": \"/api/v1/users\", \"admin_only\": true}\n"
           "  ],\n"
           "  \"rtsp\": {\"paths\": [\"/stream1\"]},\n"
           "  \"tls\": {\"cafile\": \"device-ca.pem\", \"pinned_pubkey\": \"\"},\n"
           "  \"credentials\": {\n"
           "    \"admin\": {\"username\": \"admin\", \"password_env\": \"QCVN_ADMIN_PASSWORD\"},\n"
           "    \"user\": {\"username\": \"viewer\", \"password_env\": \"QCVN_USER_PASSWORD\"},\n"
           "    \"initial_password_env\": \"QCVN_INITIAL_PASSWORD\"\n"
           "  },\n"
           "  \"documents\": {\"disclosure_policy_url\": \"https://example.com/security\", \"disclosure_policy_file\": \"SECURITY.md\",\n"
           "                \"manual_url\": \"\", \"manual_file\": \"\"},\n"
           "  \"update\": {\"method\": \"POST\", \"path\": \"/api/v1/update\", \"bundle_file\": \"\",\n"
           "             \"older_bundle_file\": \"\", \"content_type\": \"application/octet-stream\", \"version_path\": \"\"},\n"
           "  \"factory_state\": false,\n"
           "  \"restart\": {\"method\": \"POST\", \"path\": \"\", \"compare\": []},\n"
           "  \"deletion\": {\"seed\": {\"method\": \"POST\", \"path\": \"\", \"body\": {}},\n"
           "               \"list\": {\"method\": \"GET\", \"path\": \"\"},\n"
           "               \"delete_one\": {\"method\": \"DELETE\", \"path\": \"/api/v1/recordings/{id}\"},\n"
           "               \"factory_reset\": {\"method\": \"POST\", \"path\": \"\"}, \"confirm_field\": \"confirm\"},\n"
           "  \"consent\": {\"destructive\": false, \"restart\": false, \"deletion\": false, \"factory_reset\": false},\n"
           "  \"ics\": {\n"
           "    \"PW-01\": {\"status\": \"supported\", \"en\": \"No default credential: each unit gets its own password at the factory.\",\n"
           "              \"vi\": \"Không có thông tin đăng nhập mặc định: mỗi thiết bị được cấp mật khẩu riêng khi xuất xưởng.\"},\n"
           "    \"SC-03\": {\"status\": \"not_applicable\", \"en\": \"The device has no SSH server.\", \"vi\": \"Thiết bị không có máy chủ SSH.\"}\n"
           "  }\n"
           "}\n";
}
