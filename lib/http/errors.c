/* errors.c — a peer's refusal (vault, supervisor) turned into the client's answer by one table: the code the
 * peer may send, the HTTP status, the code the client sees and the fields that may travel with it. A code not
 * in the table is 500 internal, and no other field of the peer's reply ever reaches the client.
 * Trust level: network-facing; the refusal comes from a more trusted peer but is still checked (printable,
 * bounded). In the manner of OpenBSD httpd's error table. */
#include <string.h>

#include "http_internal.h"

/* Fields a row lets through (bits). */
#define PASS_FIELD 0x01u       /* "field": printable, at most 48 bytes */
#define PASS_MIN_MAX 0x02u     /* "min", "max": numbers; "rule": "range" or "even" */
#define PASS_REASONS 0x04u     /* "reasons": at most 32 printable strings of at most 40 bytes */
#define PASS_RETRY_AFTER 0x08u /* "retry_after": 1..86400 s, also sent as the Retry-After header */

struct http_error_row {
    const char *code;                    /* as the peer sends it */
    unsigned status;                     /* HTTP status */
    const char *answer;                  /* "error" as the client sees it */
    unsigned pass;                       /* PASS_* */
    const char *fixed_key, *fixed_value; /* one constant field added, or NULL */
};

static const struct http_error_row error_rows[] = {
    {"invalid_credentials", MHD_HTTP_UNAUTHORIZED, "invalid_credentials", 0, NULL, NULL},
    {"no_session", MHD_HTTP_UNAUTHORIZED, "unauthorized", 0, NULL, NULL},
    {"locked", MHD_HTTP_TOO_MANY_REQUESTS, "locked", PASS_RETRY_AFTER, NULL, NULL},
    /* The vault's hash workers are at their admission budget (docs/lockout.md): nothing was verified or counted. */
    {"busy", MHD_HTTP_TOO_MANY_REQUESTS, "busy", PASS_RETRY_AFTER, NULL, NULL},
    {"forbidden", MHD_HTTP_FORBIDDEN, "forbidden", 0, NULL, NULL},
    {"not_found", MHD_HTTP_NOT_FOUND, "not_found", 0, NULL, NULL},
    {"exists", MHD_HTTP_CONFLICT, "exists", 0, NULL, NULL},
    {"last_admin", MHD_HTTP_CONFLICT, "last_admin", 0, NULL, NULL},
    {"ca_not_installed", MHD_HTTP_CONFLICT, "ca_not_installed", 0, NULL, NULL},
    {"too_many_users", MHD_HTTP_CONFLICT, "too_many_users", 0, NULL, NULL},
    {"too_many_integrations", MHD_HTTP_CONFLICT, "too_many_integrations", 0, NULL, NULL},
    {"invalid_username", MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_username", 0, NULL, NULL},
    {"invalid_role", MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_role", 0, NULL, NULL},
    {"password_policy", MHD_HTTP_UNPROCESSABLE_CONTENT, "password_policy", PASS_REASONS, NULL, NULL},
    {"invalid_setting", MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_setting", PASS_FIELD | PASS_MIN_MAX, NULL,
     NULL},
    {"unknown_field", MHD_HTTP_BAD_REQUEST, "unknown_field", PASS_FIELD, NULL, NULL},
    {"invalid_json", MHD_HTTP_BAD_REQUEST, "invalid_json", 0, NULL, NULL},
    /* The vault refused a value the gate let through (e.g. a password over PASSWORD_MAX_BYTES): the client's
     * fault, never a 500. */
    {"invalid_request", MHD_HTTP_BAD_REQUEST, "invalid_field", PASS_FIELD, NULL, NULL},
    {"invalid_type", MHD_HTTP_BAD_REQUEST, "invalid_parameter", 0, "parameter", "type"},
    {"unavailable", MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", 0, NULL, NULL},
};

static const struct http_error_row *error_row_find(const char *code)
{
    for (size_t i = 0; code && i < SAFECAM_ARRAY_LEN(error_rows); i++)
        if (strcmp(error_rows[i].code, code) == 0)
            return &error_rows[i];
    return NULL;
}

/* Copy the allowed fields of refusal into out. Returns 0, or SAFECAM_ERR_NOMEM. */
static int error_fields_copy(const struct http_error_row *row, const json_t *refusal, json_t *out,
                             json_int_t *retry_after)
{
    int bad = 0;
    if (row->pass & PASS_FIELD) {
        const char *field = http_jstr(refusal, "field");
        if (field && http_printable_ascii(field, 48))
            bad |= json_object_set_new(out, "field", json_string(field));
    }
    if (row->pass & PASS_MIN_MAX) {
        const json_t *mn = json_object_get(refusal, "min");
        const json_t *mx = json_object_get(refusal, "max");
        if (json_is_number(mn))
            bad |= json_object_set_new(out, "min", json_deep_copy(mn));
        if (json_is_number(mx))
            bad |= json_object_set_new(out, "max", json_deep_copy(mx));
        const char *rule = http_jstr(refusal, "rule");
        if (rule && (strcmp(rule, "range") == 0 || strcmp(rule, "even") == 0))
            bad |= json_object_set_new(out, "rule", json_string(rule));
    }
    if (row->pass & PASS_REASONS) {
        json_t *reasons = json_array();
        size_t i;
        const json_t *v;
        json_array_foreach(json_object_get(refusal, "reasons"), i, v)
        {
            if (i >= 32)
                break;
            if (reasons && json_is_string(v) && http_printable_ascii(json_string_value(v), 40))
                json_array_append_new(reasons, json_string(json_string_value(v)));
        }
        bad |= json_object_set_new(out, "reasons", reasons);
    }
    if (row->pass & PASS_RETRY_AFTER) {
        json_int_t ra = json_integer_value(json_object_get(refusal, "retry_after"));
        if (ra < 1)
            ra = 1;
        if (ra > 86400)
            ra = 86400;
        *retry_after = ra;
        bad |= json_object_set_new(out, "retry_after", json_integer(ra));
    }
    if (row->fixed_key)
        bad |= json_object_set_new(out, row->fixed_key, json_string(row->fixed_value));
    return bad ? SAFECAM_ERR_NOMEM : 0;
}

enum MHD_Result http_reply_refusal(struct req *r, const json_t *refusal)
{
    const struct http_error_row *row = error_row_find(http_jstr(refusal, "error"));
    if (!row)
        return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_t *out = json_pack("{s:s}", "error", row->answer);
    json_int_t retry_after = 0;
    if (!out || error_fields_copy(row, refusal, out, &retry_after) != 0) {
        json_decref(out);
        return MHD_NO;
    }
    if (!retry_after)
        return http_reply_json(r, row->status, out);
    char buf[24];
    if (safecam_fmt(buf, sizeof(buf), "%lld", (long long)retry_after) != 0) {
        json_decref(out);
        return MHD_NO;
    }
    return http_reply_json_h(r, row->status, out, "Retry-After", buf);
}
