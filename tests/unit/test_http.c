/* test_http.c — unit tests (cmocka) of lib/http's pure parsers: request-target normalisation, query,
 * route patterns, Cookie header, CSRF token syntax, Origin check, Content-Type and JSON bodies.
 * Every attack case here is a concrete input (QCVN 135 G11; attack cases A2, A3, A5, A7, A11). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "safecam/http.h"

static int norm(const char *raw, char *out, size_t out_size)
{
    return http_path_normalize(raw, strlen(raw), out, out_size);
}

static void test_path_ok(void **state)
{
    (void)state;
    char out[HTTP_PATH_MAX_BYTES];
    assert_int_equal(norm("/", out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    assert_int_equal(norm("/api/v1/session", out, sizeof(out)), 0);
    assert_string_equal(out, "/api/v1/session");
    assert_int_equal(norm("/api/v1/users/%61dmin/password", out, sizeof(out)), 0);
    assert_string_equal(out, "/api/v1/users/admin/password");
    assert_int_equal(norm("/app.js", out, sizeof(out)), 0);
    assert_int_equal(norm("/.well-known/security.txt", out, sizeof(out)), 0);
}

static void test_path_traversal(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "api",
        "//",
        "/api//v1",
        "/api/v1/",
        "/..",
        "/../etc/passwd",
        "/a/./b",
        "/a/.",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2E%2E/x",
        "/a/%2e/b",
        "/a%2fb",
        "/a%2Fb",
        "/a%5cb",
        "/a\\b",
        "/a%00b",
        "/a%",
        "/a%4",
        "/a%zz",
        "/a%252e%252e/x", /* double encoding: %25 never decodes */
        "/caf\xc3\xa9",
        "/a b",
        "/a\tb",
        "/a\rb",
        "/a\"b",
        "/a<b>",
        "/a%0d%0aSet-Cookie:x",
        "/a%7f",
        "/a%c3%a9",
        "/a?b",
        "/a#b",
        "*",
        "https://evil/",
    };
    char out[HTTP_PATH_MAX_BYTES];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = norm(bad[i], out, sizeof(out));
        if (rc == 0)
            fail_msg("accepted bad path %zu: %s", i, bad[i]);
        assert_string_equal(out, "");
    }
}

static void test_path_too_long(void **state)
{
    (void)state;
    char raw[600];
    raw[0] = '/';
    memset(raw + 1, 'a', sizeof(raw) - 2);
    raw[sizeof(raw) - 1] = '\0';
    char out[HTTP_PATH_MAX_BYTES];
    assert_int_equal(norm(raw, out, sizeof(out)), SAFECAM_ERR_TOOBIG);
    /* exactly at the cap */
    raw[HTTP_PATH_MAX_BYTES - 1] = '\0';
    assert_int_equal(norm(raw, out, sizeof(out)), 0);
    raw[HTTP_PATH_MAX_BYTES] = '\0';
    raw[HTTP_PATH_MAX_BYTES - 1] = 'a';
    assert_int_equal(norm(raw, out, sizeof(out)), SAFECAM_ERR_TOOBIG);
    /* small output buffer */
    char small[4];
    assert_int_equal(norm("/abcdef", small, sizeof(small)), SAFECAM_ERR_TOOBIG);
}

static void test_query(void **state)
{
    (void)state;
    struct http_query q;
    assert_int_equal(http_query_parse("", 0, &q), 0);
    assert_int_equal(q.n, 0);
    const char *s = "since=10&limit=5&type=login_failure";
    assert_int_equal(http_query_parse(s, strlen(s), &q), 0);
    assert_int_equal(q.n, 3);
    assert_string_equal(http_query_get(&q, "since"), "10");
    assert_string_equal(http_query_get(&q, "limit"), "5");
    assert_string_equal(http_query_get(&q, "type"), "login_failure");
    assert_null(http_query_get(&q, "until"));
    s = "a=%41+b&c=";
    assert_int_equal(http_query_parse(s, strlen(s), &q), 0);
    assert_string_equal(http_query_get(&q, "a"), "A b");
    assert_string_equal(http_query_get(&q, "c"), "");

    static const char *const bad[] = {
        "a=1&a=2", /* parameter pollution */
        "&a=1", "a=1&", "a=1&&b=2", "=1", "a", "A=1", "a-b=1", "a=%00", "a=%0a", "a=%", "a=%g0",
        "a=\xc3\xa9", "a=<x>", "a=1 2", "a=\"x\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (http_query_parse(bad[i], strlen(bad[i]), &q) == 0)
            fail_msg("accepted bad query %zu: %s", i, bad[i]);
        assert_int_equal(q.n, 0);
    }
    char many[200] = "";
    for (int i = 0; i < HTTP_QUERY_PARAMS_MAX + 1; i++) {
        char part[16];
        assert_int_equal(safecam_fmt(part, sizeof(part), "%sk%d=1", i ? "&" : "", i), 0);
        strncat(many, part, sizeof(many) - strlen(many) - 1);
    }
    assert_int_equal(http_query_parse(many, strlen(many), &q), SAFECAM_ERR_TOOBIG);
    char longv[300];
    memcpy(longv, "a=", 2);
    memset(longv + 2, 'x', sizeof(longv) - 3);
    longv[sizeof(longv) - 1] = '\0';
    assert_int_equal(http_query_parse(longv, strlen(longv), &q), SAFECAM_ERR_TOOBIG);
}

static void test_target(void **state)
{
    (void)state;
    char path[HTTP_PATH_MAX_BYTES];
    struct http_query q;
    assert_int_equal(http_target_parse("/api/v1/events?limit=3", path, sizeof(path), &q), 0);
    assert_string_equal(path, "/api/v1/events");
    assert_string_equal(http_query_get(&q, "limit"), "3");
    assert_int_equal(http_target_parse("/api/v1/events", path, sizeof(path), &q), 0);
    assert_int_equal(q.n, 0);
    assert_int_not_equal(http_target_parse("/api/v1/events?limit=3#x", path, sizeof(path), &q), 0);
    assert_int_not_equal(http_target_parse("/api/v1/events?a=1&a=2", path, sizeof(path), &q), 0);
    assert_string_equal(path, "");
    assert_int_not_equal(http_target_parse("/..%2f..%2fetc/passwd", path, sizeof(path), &q), 0);
    char big[HTTP_TARGET_MAX_BYTES + 10];
    big[0] = '/';
    memset(big + 1, 'a', sizeof(big) - 2);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(http_target_parse(big, path, sizeof(path), &q), SAFECAM_ERR_TOOBIG);
}

static void test_route_match(void **state)
{
    (void)state;
    char p[64];
    assert_true(http_route_match("/api/v1/users", "/api/v1/users", NULL, 0));
    assert_false(http_route_match("/api/v1/users", "/api/v1/users/x", NULL, 0));
    assert_false(http_route_match("/api/v1/users", "/api/v1/user", NULL, 0));
    assert_true(http_route_match("/api/v1/users/{name}/password", "/api/v1/users/admin/password", p, sizeof(p)));
    assert_string_equal(p, "admin");
    assert_true(http_route_match("/api/v1/users/{name}", "/api/v1/users/bob.k-2_x", p, sizeof(p)));
    assert_string_equal(p, "bob.k-2_x");
    assert_false(http_route_match("/api/v1/users/{name}", "/api/v1/users/Admin", p, sizeof(p)));
    assert_false(http_route_match("/api/v1/users/{name}", "/api/v1/users/a;b", p, sizeof(p)));
    assert_false(http_route_match("/api/v1/users/{name}", "/api/v1/users/a/password", p, sizeof(p)));
    assert_string_equal(p, "");
    assert_false(http_route_match("/api/v1/users/{name}/password", "/api/v1/users//password", p, sizeof(p)));
    char small[4];
    assert_false(http_route_match("/u/{name}", "/u/abcdef", small, sizeof(small)));
    assert_false(http_route_match("/u/{name}", "/u/abc", NULL, 0));
}

static int cookie(const char *h, char *out, size_t n)
{
    return http_cookie_find(h, strlen(h), HTTP_SESSION_COOKIE, out, n);
}

/* HTTP Digest nonces: made and checked with one key, at most lifetime_s old, never from the future; a
 * changed byte, another key or a malformed text is refused. */
static void test_digest_nonce(void **state)
{
    (void)state;
    uint8_t key[HTTP_DIGEST_KEY_BYTES] = {7}, other[HTTP_DIGEST_KEY_BYTES] = {8};
    char n[HTTP_DIGEST_NONCE_HEX + 1], n2[HTTP_DIGEST_NONCE_HEX + 1];
    assert_int_equal(http_digest_nonce_make(key, 5000, n), 0);
    assert_int_equal(strlen(n), HTTP_DIGEST_NONCE_HEX);
    assert_int_equal(http_digest_nonce_make(key, 5000, n2), 0);
    assert_string_not_equal(n, n2); /* random part */
    assert_int_equal(http_digest_nonce_check(key, n, 5000, 300), 0);
    assert_int_equal(http_digest_nonce_check(key, n, 5300, 300), 0);
    assert_int_equal(http_digest_nonce_check(key, n, 5301, 300), SAFECAM_ERR_DENIED);
    assert_int_equal(http_digest_nonce_check(key, n, 4999, 300), SAFECAM_ERR_DENIED);
    assert_int_equal(http_digest_nonce_check(other, n, 5000, 300), SAFECAM_ERR_DENIED);
    n[20] = n[20] == 'a' ? 'b' : 'a';
    assert_int_equal(http_digest_nonce_check(key, n, 5000, 300), SAFECAM_ERR_DENIED);
    assert_int_equal(http_digest_nonce_check(key, "00", 5000, 300), SAFECAM_ERR_DENIED);
    memset(n2, 'z', HTTP_DIGEST_NONCE_HEX);
    assert_int_equal(http_digest_nonce_check(key, n2, 5000, 300), SAFECAM_ERR_DENIED);
    assert_int_equal(http_digest_nonce_make(key, -1, n), SAFECAM_ERR_INVAL);
}

static void test_cookie(void **state)
{
    (void)state;
    char v[80];
    assert_int_equal(cookie("safecam_session=abc", v, sizeof(v)), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(cookie("a=1; safecam_session=xyz; b=2", v, sizeof(v)), 0);
    assert_string_equal(v, "xyz");
    assert_int_equal(cookie("a=1;safecam_session=\"q\"", v, sizeof(v)), 0);
    assert_string_equal(v, "q");
    assert_int_equal(cookie("safecam_session=", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(cookie("xsafecam_session=1; safecam_sessionx=2", v, sizeof(v)), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(cookie("", v, sizeof(v)), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(cookie(";;; ;", v, sizeof(v)), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(cookie("junk; =x; a", v, sizeof(v)), SAFECAM_ERR_NOTFOUND);
    /* cookie tossing: the same name twice */
    assert_int_equal(cookie("safecam_session=a; safecam_session=b", v, sizeof(v)), SAFECAM_ERR_INVAL);
    assert_int_equal(cookie("safecam_session=a\r\nX: y", v, sizeof(v)), SAFECAM_ERR_INVAL);
    assert_int_equal(cookie("safecam_session=\xc3\xa9", v, sizeof(v)), SAFECAM_ERR_INVAL);
    char small[4];
    assert_int_equal(cookie("safecam_session=abcdef", small, sizeof(small)), SAFECAM_ERR_TOOBIG);
    char *huge = malloc(HTTP_COOKIE_HEADER_MAX_BYTES + 2);
    assert_non_null(huge);
    memset(huge, 'a', HTTP_COOKIE_HEADER_MAX_BYTES + 1);
    huge[HTTP_COOKIE_HEADER_MAX_BYTES + 1] = '\0';
    assert_int_equal(cookie(huge, v, sizeof(v)), SAFECAM_ERR_INVAL);
    free(huge);
}

static void test_token(void **state)
{
    (void)state;
    const char *good = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_true(http_token_hex_valid(good, strlen(good)));
    assert_false(http_token_hex_valid(good, 63));
    assert_false(http_token_hex_valid("", 0));
    assert_false(http_token_hex_valid(NULL, 64));
    char t[65];
    memcpy(t, good, 65);
    t[10] = 'A';
    assert_false(http_token_hex_valid(t, 64));
    t[10] = 'g';
    assert_false(http_token_hex_valid(t, 64));
    t[10] = '\0';
    assert_false(http_token_hex_valid(t, 64));
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(http_origin_allowed(NULL, "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_true(http_origin_allowed("https://127.0.0.1:8443", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_true(http_origin_allowed("https://CAM.local:8443", "cam.local:8443", "0.0.0.0", 8443));
    assert_true(http_origin_allowed("https://cam.local", "cam.local", "0.0.0.0", 443));
    assert_true(http_origin_allowed("https://cam.local:443", "cam.local", "0.0.0.0", 443));
    assert_true(http_origin_allowed("https://[::1]:8443", "[::1]:8443", "::1", 8443));
    /* bind address match even when Host is something else */
    assert_true(http_origin_allowed("https://127.0.0.1:8443", "other:1", "127.0.0.1", 8443));
    /* refused */
    assert_false(http_origin_allowed("https://evil.example", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://evil.example:8443", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("http://127.0.0.1:8443", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://127.0.0.1:9999", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("null", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://127.0.0.1:8443/", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://u@127.0.0.1:8443", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://127.0.0.1:8443.evil", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://127.0.0.1:08443x", "127.0.0.1:8443", "127.0.0.1", 8443));
    assert_false(http_origin_allowed("https://127.0.0.1:0", "127.0.0.1:0", "0.0.0.0", 8443));
    assert_false(http_origin_allowed("https://127.0.0.1:70000", "127.0.0.1:70000", "0.0.0.0", 8443));
    /* Host "localhost" grants nothing by itself: Origin must still match */
    assert_false(http_origin_allowed("https://evil.example:8443", "localhost:8443", "0.0.0.0", 8443));
    /* no bind match when bound to any address */
    assert_false(http_origin_allowed("https://0.0.0.0:8443", "cam:8443", "0.0.0.0", 8443));
}

static void test_content_type(void **state)
{
    (void)state;
    assert_true(http_content_type_json("application/json"));
    assert_true(http_content_type_json("Application/JSON"));
    assert_true(http_content_type_json("application/json; charset=utf-8"));
    assert_true(http_content_type_json("application/json;charset=UTF-8"));
    assert_true(http_content_type_json("application/json; charset=\"utf-8\""));
    assert_false(http_content_type_json(NULL));
    assert_false(http_content_type_json(""));
    assert_false(http_content_type_json("text/plain"));
    assert_false(http_content_type_json("application/x-www-form-urlencoded"));
    assert_false(http_content_type_json("application/jsonx"));
    assert_false(http_content_type_json("application/json; charset=latin1"));
    assert_false(http_content_type_json("application/json; boundary=x"));
    assert_false(http_content_type_json("application/json, text/plain"));
}

static const char *const roles[] = {"admin", "operator", "viewer", NULL};
static const struct http_field schema[] = {
    {"username", HTTP_FIELD_STRING, 1, 1, 32, NULL},
    {"role", HTTP_FIELD_STRING, 1, 1, 16, roles},
    {"count", HTTP_FIELD_INT, 0, 1, 10, NULL},
    {"enabled", HTTP_FIELD_BOOL, 0, 0, 0, NULL},
};

static int body(const char *b, json_t **out, struct http_body_error *err)
{
    return http_json_body_parse(b, strlen(b), HTTP_JSON_BODY_MAX_BYTES, schema, 4, out, err);
}

static void expect_body_error(const char *b, const char *code, const char *field)
{
    json_t *out = (json_t *)1;
    struct http_body_error err;
    int rc = body(b, &out, &err);
    if (rc == 0)
        fail_msg("accepted body: %s", b);
    assert_null(out);
    assert_string_equal(err.code, code);
    if (field)
        assert_string_equal(err.field, field);
}

static void test_body(void **state)
{
    (void)state;
    json_t *out = NULL;
    struct http_body_error err;
    assert_int_equal(body("{\"username\":\"bob\",\"role\":\"viewer\"}", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "username")), "bob");
    json_decref(out);
    assert_int_equal(body("{\"username\":\"bob\",\"role\":\"admin\",\"count\":10,\"enabled\":false}", &out, &err), 0);
    http_json_wipe(out);

    expect_body_error("", "invalid_json", NULL);
    expect_body_error("{", "invalid_json", NULL);
    expect_body_error("[]", "invalid_json", NULL);
    expect_body_error("\"x\"", "invalid_json", NULL);
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\"} x", "invalid_json", NULL);
    expect_body_error("{\"username\":\"bob\",\"username\":\"eve\",\"role\":\"viewer\"}", "invalid_json", NULL);
    expect_body_error("{\"username\":\"b\xff\",\"role\":\"viewer\"}", "invalid_json", NULL);
    expect_body_error("{\"username\":\"b\\u0000x\",\"role\":\"viewer\"}", "invalid_json", NULL);
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"is_admin\":true}", "unknown_field", "is_admin");
    /* A3: a client-declared login type is not a field of ours */
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"loginType\":\"special\"}", "unknown_field",
                      "loginType");
    expect_body_error("{\"role\":\"viewer\"}", "missing_field", "username");
    expect_body_error("{\"username\":\"bob\",\"role\":\"root\"}", "invalid_field", "role");
    expect_body_error("{\"username\":\"\",\"role\":\"viewer\"}", "invalid_field", "username");
    expect_body_error("{\"username\":1,\"role\":\"viewer\"}", "invalid_field", "username");
    expect_body_error("{\"username\":null,\"role\":\"viewer\"}", "invalid_field", "username");
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"count\":11}", "invalid_field", "count");
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"count\":1.5}", "invalid_field", "count");
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"count\":\"1\"}", "invalid_field", "count");
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"count\":99999999999999999999999}",
                      "invalid_json", NULL);
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"enabled\":1}", "invalid_field", "enabled");
    expect_body_error("{\"username\":\"bob\",\"role\":\"viewer\",\"x\\\"y\":1}", "unknown_field", "x?y");

    /* size cap */
    char *big = malloc(HTTP_JSON_BODY_MAX_BYTES + 100);
    assert_non_null(big);
    memset(big, ' ', HTTP_JSON_BODY_MAX_BYTES + 99);
    big[0] = '{';
    big[HTTP_JSON_BODY_MAX_BYTES + 98] = '}';
    big[HTTP_JSON_BODY_MAX_BYTES + 99] = '\0';
    out = NULL;
    assert_int_equal(body(big, &out, &err), SAFECAM_ERR_TOOBIG);
    assert_string_equal(err.code, "payload_too_large");
    free(big);
}

static void test_body_nested(void **state)
{
    (void)state;
    /* deep nesting within the size cap must be refused, not crash */
    char b[HTTP_JSON_BODY_MAX_BYTES];
    size_t n = 0;
    memcpy(b, "{\"username\":", 12);
    n = 12;
    while (n < sizeof(b) / 2 + 12)
        b[n++] = '[';
    b[n] = '\0';
    json_t *out = NULL;
    struct http_body_error err;
    assert_int_not_equal(body(b, &out, &err), 0);
    assert_null(out);
}

static void test_body_open(void **state)
{
    (void)state;
    json_t *out = NULL;
    struct http_body_error err;
    const char *ok = "{\"fps\":25,\"codec\":\"h264\",\"audio\":false}";
    assert_int_equal(http_json_body_parse(ok, strlen(ok), 4096, NULL, 0, &out, &err), 0);
    json_decref(out);
    static const char *const bad[] = {
        "{\"fps\":[1]}", "{\"fps\":{\"a\":1}}", "{\"fps\":1.5}", "{\"Fps\":1}", "{\"f-s\":1}", "{\"fps\":null}",
        "{\"s\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
        ("{\"a1\":1,\"a2\":1,\"a3\":1,\"a4\":1,\"a5\":1,\"a6\":1,\"a7\":1,\"a8\":1,\"a9\":1,\"b1\":1,\"b2\":1,"
         "\"b3\":1,\"b4\":1,\"b5\":1,\"b6\":1,\"b7\":1,\"b8\":1}"), /* one string: 17 keys */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (http_json_body_parse(bad[i], strlen(bad[i]), 4096, NULL, 0, &out, &err) == 0)
            fail_msg("accepted open body %zu", i);
        assert_null(out);
    }
}

static void test_json_wipe(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:i}", "password", "hunter2hunter2", "n", 1);
    assert_non_null(o);
    json_incref(o); /* keep it alive to look at the wiped bytes */
    const char *p = json_string_value(json_object_get(o, "password"));
    http_json_wipe(o);
    for (size_t i = 0; i < 14; i++)
        assert_int_equal(p[i], 0);
    json_decref(o);
    http_json_wipe(NULL);
}

/* http_sbom_read: a CycloneDX JSON object is read; a missing file, a file over the cap, invalid JSON, duplicate
 * keys or another JSON document are refused with their codes and no buffer. */
static void sbom_file_write(const char *path, const char *text, size_t pad)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', f);
    fclose(f);
}

static void test_sbom_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/safecam-sbom-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sbom.cdx.json", dir);
    char *data = (char *)1;
    size_t len = 1;
    assert_int_equal(http_sbom_read(path, &data, &len), SAFECAM_ERR_NOTFOUND);
    assert_null(data);
    assert_int_equal(len, 0);

    const char *good = "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\"}";
    sbom_file_write(path, good, 0);
    assert_int_equal(http_sbom_read(path, &data, &len), 0);
    assert_int_equal(len, strlen(good));
    assert_string_equal(data, good);
    free(data);

    const char *bad[] = {"{\"bomFormat\":\"SPDX\"}", "[\"CycloneDX\"]", "{\"bomFormat\":\"CycloneDX\"",
                         "{\"bomFormat\":\"CycloneDX\",\"bomFormat\":\"CycloneDX\"}", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sbom_file_write(path, bad[i], 0);
        data = (char *)1;
        assert_int_equal(http_sbom_read(path, &data, &len), SAFECAM_ERR_INVAL);
        assert_null(data);
    }
    sbom_file_write(path, good, HTTP_SBOM_MAX_BYTES); /* valid JSON, one byte per space, over the cap */
    assert_int_equal(http_sbom_read(path, &data, &len), SAFECAM_ERR_TOOBIG);
    assert_null(data);
    assert_int_equal(http_sbom_read(NULL, &data, &len), SAFECAM_ERR_INVAL);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_nonce),
        cmocka_unit_test(test_path_ok),      cmocka_unit_test(test_path_traversal),
        cmocka_unit_test(test_path_too_long), cmocka_unit_test(test_query),
        cmocka_unit_test(test_target),       cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_cookie),       cmocka_unit_test(test_token),
        cmocka_unit_test(test_origin),       cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_body),         cmocka_unit_test(test_body_nested),
        cmocka_unit_test(test_body_open),    cmocka_unit_test(test_json_wipe),
        cmocka_unit_test(test_sbom_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
