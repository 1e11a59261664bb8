/* fuzz_http_body.c — libFuzzer target for lib/http's JSON body parser (http_json_body_parse) with the
 * schemas the web routes use, plus the open (stream settings) mode. Input is untrusted request bodies.
 * First byte picks the schema; the rest is the body. Invariants: on success the result is an object that
 * fits the schema; on failure *out is NULL and the error code is a known string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/http.h"

static const char *const roles[] = {"admin", "operator", "viewer", NULL};
static const struct http_field login[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 64, NULL},
    {"password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
};
static const struct http_field user[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 32, NULL},
    {"password", HTTP_FIELD_STRING, 1, 1, 1024, NULL},
    {"role", HTTP_FIELD_STRING, 1, 1, 16, roles},
};
static const struct http_field settings[] = {
    {"lockout_threshold", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"session_idle_s", HTTP_FIELD_INT, 0, 0, 1000000000L, NULL},
    {"enabled", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
};

static int code_known(const char *c)
{
    static const char *const codes[] = {"payload_too_large", "invalid_json", "unknown_field", "missing_field",
                                        "invalid_field"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (c && strcmp(c, codes[i]) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct http_field *schema = NULL;
    size_t n = 0;
    switch (data[0] % 4) {
    case 0: schema = login; n = 2; break;
    case 1: schema = user; n = 3; break;
    case 2: schema = settings; n = 3; break;
    default: break; /* open object */
    }
    json_t *out = NULL;
    struct http_body_error err;
    int rc = http_json_body_parse((const char *)data + 1, size - 1, HTTP_JSON_BODY_MAX_BYTES, schema, n, &out, &err);
    if (rc == 0) {
        if (!json_is_object(out))
            abort();
        if (schema) {
            const char *key;
            json_t *val;
            json_object_foreach(out, key, val) {
                int known = 0;
                for (size_t i = 0; i < n; i++)
                    known |= strcmp(key, schema[i].name) == 0;
                if (!known)
                    abort();
            }
        }
        http_json_wipe(out);
    } else {
        if (out || !code_known(err.code) || strlen(err.field) >= sizeof(err.field))
            abort();
    }
    return 0;
}
