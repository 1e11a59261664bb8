/* test_link.c — cmocka tests for lib/link's pure parts: settings validation (every 422 case of
 * docs/linked-services.md), URL parsing, the bounded queue (order, drop oldest first, byte bound) and the
 * jittered back-off (within its bound, never a tight loop). Trust level: test code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "safecam/core.h"
#include "safecam/link.h"

/* A self-signed CA (P-256, made once with openssl req -x509 for this test; parsing is what is checked). */
static const char real_ca[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBjDCCATGgAwIBAgIUeJTLU/aednX3i24Q9iA81uEEonMwCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPc2FmZWNhbS10ZXN0LWNhMCAXDTI2MTIwNjIzMjk1NVoYDzIx\n"
    "MjYxMTEyMjMyOTU1WjAaMRgwFgYDVQQDDA9zYWZlY2FtLXRlc3QtY2EwWTATBgcq\n"
    "hkjOPQIBBggqhkjOPQMBBwNCAARoJ5e2FVIWKDbSfj99M2DBUaLWAtn9lUl6dGK2\n"
    "EO+zIoArGvWpP9uDNEAym9c/BXBAKeob/UU4Xf/pj1qRJpHho1MwUTAdBgNVHQ4E\n"
    "FgQU1eP+hIX2lAkEI1LiIf5insD5QLQwHwYDVR0jBBgwFoAU1eP+hIX2lAkEI1Li\n"
    "If5insD5QLQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA9zh1\n"
    "gnx2ySK5ejYXFntp7EwtKhxrF6gVC9mm+oCXlcoCIQDvbONdow3Dpvz5pue6GX9D\n"
    "e8kTQ3/wpGv9CVPnGiVUYA==\n"
    "-----END CERTIFICATE-----\n";

static json_t *good(void)
{
    return json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:i},s:s}", "mqtt", "url",
                     "mqtts://broker.example:8883", "ca_pem", real_ca, "username", "cam", "password", "pw",
                     "topic", "home/cams", "webdav", "url", "https://nas.example/dav/cam/", "ca_pem", real_ca,
                     "username", "cam", "password", "pw", "retention_days", 30, "data_location", "vn");
}

static void expect_refused(json_t *in, const char *field)
{
    char got[64];
    assert_int_equal(link_settings_validate(in, got, sizeof got), SAFECAM_ERR_INVAL);
    assert_string_equal(got, field);
    json_decref(in);
}

static void test_validate_good(void **state)
{
    (void)state;
    json_t *in = good();
    char field[64];
    assert_int_equal(link_settings_validate(in, field, sizeof field), 0);
    json_decref(in);
    in = json_pack("{s:s}", "data_location", "unset");
    assert_int_equal(link_settings_validate(in, field, sizeof field), 0);
    json_decref(in);
}

static void set_str(json_t *in, const char *svc, const char *key, const char *v)
{
    json_object_set_new(json_object_get(in, svc), key, json_string(v));
}

static void test_validate_urls(void **state)
{
    (void)state;
    const char *bad_dav[] = {"http://nas/dav", "ftp://nas/", "https://", "https://u:p@nas/", "https://nas:0/",
                             "https://nas:70000/", "https://nas/a b", "https://nas/\r\nX: y", "https://nas/?q=1",
                             "https://nas/a/../b", "mqtts://nas/"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(bad_dav); i++) {
        json_t *in = good();
        set_str(in, "webdav", "url", bad_dav[i]);
        expect_refused(in, "webdav.url");
    }
    const char *bad_mqtt[] = {"mqtt://broker:1883", "https://broker", "mqtts://broker/path", "mqtts://a@b",
                              "mqtts://broker:"};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(bad_mqtt); i++) {
        json_t *in = good();
        set_str(in, "mqtt", "url", bad_mqtt[i]);
        expect_refused(in, "mqtt.url");
    }
    char host[256], path[600];
    int port;
    assert_int_equal(link_url_parse("https://[::1]:8443/dav/", "https", host, sizeof host, &port, path, sizeof path), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8443);
    assert_string_equal(path, "/dav/");
    assert_int_equal(link_url_parse("mqtts://127.0.0.1", "mqtts", host, sizeof host, &port, path, sizeof path), 0);
    assert_int_equal(port, 8883);
}

static void test_validate_ca(void **state)
{
    (void)state;
    json_t *in = good();
    set_str(in, "webdav", "ca_pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    expect_refused(in, "webdav.ca_pem");
    in = good();
    set_str(in, "mqtt", "ca_pem", "hello");
    expect_refused(in, "mqtt.ca_pem");
    assert_int_equal(link_ca_pem_valid(real_ca, strlen(real_ca)), 1);
    assert_int_equal(link_ca_pem_valid("", 0), 0);
}

static void test_validate_crlf_nul(void **state)
{
    (void)state;
    const char *fields[][2] = {{"mqtt", "topic"}, {"mqtt", "username"}, {"mqtt", "password"},
                               {"webdav", "username"}, {"webdav", "password"}};
    const char *vals[] = {"a\rb", "a\nb", "a\r\nPUBLISH x"};
    for (size_t f = 0; f < SAFECAM_ARRAY_LEN(fields); f++)
        for (size_t v = 0; v < SAFECAM_ARRAY_LEN(vals); v++) {
            json_t *in = good();
            set_str(in, fields[f][0], fields[f][1], vals[v]);
            char want[64];
            snprintf(want, sizeof want, "%s.%s", fields[f][0], fields[f][1]);
            expect_refused(in, want);
        }
    /* NUL inside a JSON string (\u0000) */
    json_t *in = good();
    json_object_set_new(json_object_get(in, "mqtt"), "topic", json_stringn("a\0b", 3));
    expect_refused(in, "mqtt.topic");
    in = good();
    json_object_set_new(json_object_get(in, "webdav"), "url", json_stringn("https://nas/\0x", 14));
    expect_refused(in, "webdav.url");
    in = good();
    set_str(in, "mqtt", "topic", "cams/#");
    expect_refused(in, "mqtt.topic");
    in = good();
    set_str(in, "webdav", "username", "a:b");
    expect_refused(in, "webdav.username");
}

static void test_validate_other(void **state)
{
    (void)state;
    json_t *in = good();
    json_object_set_new(json_object_get(in, "webdav"), "retention_days", json_integer(0));
    expect_refused(in, "webdav.retention_days");
    in = good();
    json_object_set_new(json_object_get(in, "webdav"), "retention_days", json_integer(3651));
    expect_refused(in, "webdav.retention_days");
    in = good();
    json_object_set_new(json_object_get(in, "webdav"), "retention_days", json_string("30"));
    expect_refused(in, "webdav.retention_days");
    in = good();
    json_object_set_new(json_object_get(in, "webdav"), "upload", json_string("motion"));
    assert_int_equal(link_settings_validate(in, NULL, 0), 0);
    json_object_set_new(json_object_get(in, "webdav"), "upload", json_string("all"));
    assert_int_equal(link_settings_validate(in, NULL, 0), 0);
    json_object_set_new(json_object_get(in, "webdav"), "upload", json_string("off"));
    assert_int_equal(link_settings_validate(in, NULL, 0), 0);
    json_decref(in);
    in = good();
    json_object_set_new(json_object_get(in, "webdav"), "upload", json_string("everything"));
    expect_refused(in, "webdav.upload");
    in = good();
    json_object_set_new(json_object_get(in, "webdav"), "upload", json_true());
    expect_refused(in, "webdav.upload");
    in = good();
    json_object_set_new(json_object_get(in, "mqtt"), "upload", json_string("all"));
    expect_refused(in, "mqtt.upload");
    in = good();
    json_object_set_new(in, "data_location", json_string("mars"));
    expect_refused(in, "data_location");
    in = good();
    json_object_set_new(in, "extra", json_true());
    expect_refused(in, "body");
    in = good();
    json_object_set_new(json_object_get(in, "mqtt"), "retain", json_true());
    expect_refused(in, "mqtt.retain");
}

static void test_queue(void **state)
{
    (void)state;
    struct link_queue q;
    assert_int_equal(link_queue_init(&q, 3, 1000), 0);
    assert_null(link_queue_peek(&q));
    assert_int_equal(link_queue_push(&q, "e1", NULL, 1), 0);
    assert_int_equal(link_queue_push(&q, "e2", NULL, 2), 0);
    assert_int_equal(link_queue_push(&q, "e3", "x", 3), 0);
    assert_int_equal(link_queue_push(&q, "e4", NULL, 4), 1); /* full: e1, the oldest, goes */
    assert_int_equal(q.dropped, 1);
    assert_string_equal(link_queue_peek(&q)->a, "e2");
    link_queue_pop(&q);
    assert_string_equal(link_queue_peek(&q)->a, "e3");
    assert_string_equal(link_queue_peek(&q)->b, "x");
    link_queue_pop(&q);
    assert_string_equal(link_queue_peek(&q)->a, "e4");
    link_queue_pop(&q);
    assert_null(link_queue_peek(&q));
    link_queue_pop(&q); /* popping an empty queue is harmless */
    link_queue_free(&q);

    /* the byte bound */
    assert_int_equal(link_queue_init(&q, 100, 10), 0);
    assert_int_equal(link_queue_push(&q, "aaaa", NULL, 0), 0);
    assert_int_equal(link_queue_push(&q, "bbbb", NULL, 0), 0);
    assert_int_equal(link_queue_push(&q, "cccc", NULL, 0), 1);
    assert_int_equal(q.bytes, 8);
    assert_int_equal(link_queue_push(&q, "01234567890", NULL, 0), SAFECAM_ERR_TOOBIG);
    assert_int_equal(q.count, 2);
    assert_string_equal(link_queue_peek(&q)->a, "bbbb");
    link_queue_free(&q);

    /* wrap-around keeps order over many pushes */
    assert_int_equal(link_queue_init(&q, 7, 1 << 20), 0);
    int next = 0;
    char buf[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        assert_true(link_queue_push(&q, buf, NULL, i) >= 0);
        if (i % 3 == 0) {
            int expect = i - (int)q.count + 1;
            long got = -1;
            assert_int_equal(safecam_parse_long(link_queue_peek(&q)->a, 0, 100000, &got), 0);
            assert_int_equal(got, expect);
            link_queue_pop(&q);
        }
        next = i;
    }
    (void)next;
    link_queue_free(&q);
}

static void test_backoff(void **state)
{
    (void)state;
    struct safecam_backoff b;
    safecam_backoff_reset(&b);
    int64_t now = 1000000;
    int sum = 0;
    for (int i = 0; i < 200; i++) {
        int bound = b.delay_ms < SAFECAM_BACKOFF_MIN_MS ? SAFECAM_BACKOFF_MIN_MS : b.delay_ms;
        int w = link_backoff_failed(&b, now);
        assert_true(w >= SAFECAM_BACKOFF_MIN_MS);
        assert_true(w <= bound);
        assert_true(w <= SAFECAM_BACKOFF_MAX_MS);
        assert_int_equal(b.next_ms, now + w);
        assert_false(safecam_backoff_due(&b, now + w - 1));
        assert_true(safecam_backoff_due(&b, now + w));
        now += w;
        sum += w;
    }
    /* 200 failures cannot happen within 30 s: the mean wait at the cap is about 2.5 s */
    assert_true(sum > 200 * 1000);
    assert_int_equal(b.failures, 200);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_good),   cmocka_unit_test(test_validate_urls),
        cmocka_unit_test(test_validate_ca),     cmocka_unit_test(test_validate_crlf_nul),
        cmocka_unit_test(test_validate_other),  cmocka_unit_test(test_queue),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
