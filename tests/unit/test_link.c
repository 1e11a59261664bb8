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
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

/* descriptors queued with an entry are the queue's: closed when the entry leaves, and on a refused push */
static int fds_open(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* Descriptors open on a memfd of that name ("/memfd:NAME (deleted)"). */
static int memfds_named(const char *name)
{
    char want[64], path[300], got[128];
    snprintf(want, sizeof want, "/memfd:%s (deleted)", name);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
        ssize_t l = readlink(path, got, sizeof got - 1);
        if (l > 0) {
            got[l] = '\0';
            n += strcmp(got, want) == 0;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void test_queue_fds(void **state)
{
    (void)state;
    struct link_queue q;
    int base = fds_open();
    assert_int_equal(link_queue_init(&q, 2, 100), 0);
    assert_int_equal(link_queue_push_fd(&q, "a", "x", 0, memfd_create("t", MFD_CLOEXEC)), 0);
    assert_int_equal(link_queue_push_fd(&q, "b", "x", 0, memfd_create("t", MFD_CLOEXEC)), 0);
    assert_int_equal(fds_open(), base + 2);
    assert_int_equal(link_queue_push_fd(&q, "c", "x", 0, memfd_create("t", MFD_CLOEXEC)), 1); /* a dropped */
    assert_int_equal(fds_open(), base + 2);
    char big[200];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(link_queue_push_fd(&q, big, NULL, 0, memfd_create("t", MFD_CLOEXEC)), SAFECAM_ERR_TOOBIG);
    assert_int_equal(fds_open(), base + 2);
    assert_true(link_queue_peek(&q)->fd >= 0);
    link_queue_pop(&q);
    assert_int_equal(fds_open(), base + 1);
    assert_int_equal(link_queue_push(&q, "d", NULL, 0), 0);
    assert_int_equal(link_queue_peek(&q)->fd >= 0, 1);
    link_queue_pop(&q);
    assert_int_equal(link_queue_peek(&q)->fd, -1); /* a push without a descriptor */
    link_queue_free(&q);
    assert_int_equal(fds_open(), base);
}

/* The engine's side of an upload of a sealed segment: asked once, waited for, one clear copy per attempt,
 * answers for another segment ignored, a vault refusal drops the entry. The WebDAV URL is a closed port on
 * loopback, so every PUT fails at once. */
static int decrypt_asked;
static char decrypt_id[40];
static int fake_decrypt(void *user, int sealed_fd, const char *idhex)
{
    (void)user;
    assert_true(fcntl(sealed_fd, F_GETFD) >= 0); /* the engine's sealed descriptor, still open */
    decrypt_asked++;
    snprintf(decrypt_id, sizeof decrypt_id, "%s", idhex);
    return 0;
}

static int audits_failed, audits_gone;
static void count_audit(void *user, const char *type, const char *detail)
{
    (void)user;
    audits_failed += strcmp(type, "link_upload_failed") == 0 && strstr(detail, "why=refused_by_vault");
    audits_gone += strcmp(type, "link_upload_failed") == 0 && strstr(detail, "why=deleted_on_the_camera");
}

static json_t *dav_stats(link_engine *e)
{
    json_t *st = link_engine_stats(e);
    json_t *dav = json_incref(json_object_get(st, "webdav"));
    json_decref(st);
    return dav;
}

static void test_engine_sealed_upload(void **state)
{
    (void)state;
    static const char id[] = "00112233445566778899aabbccddeeff";
    char dir[] = "/tmp/safecam-test-link-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int base = fds_open();
    link_engine *e = link_engine_new(dir, "cam-1", count_audit, NULL);
    assert_non_null(e);
    assert_int_equal(link_engine_upload_mode(e), -1); /* no WebDAV folder */
    json_t *s = json_pack("{s:{s:s,s:s}}", "webdav", "url", "https://127.0.0.1:9/dav/", "ca_pem", real_ca);
    assert_int_equal(link_engine_configure(e, s), 0);
    assert_int_equal(link_engine_upload_mode(e), LINK_UPLOAD_MOTION); /* the default */
    json_object_set_new(json_object_get(s, "webdav"), "upload", json_string("all"));
    assert_int_equal(link_engine_configure(e, s), 0);
    assert_int_equal(link_engine_upload_mode(e), LINK_UPLOAD_ALL);
    json_decref(s);
    link_engine_decrypt_set(e, fake_decrypt, NULL);
    int engine_fds = fds_open();

    assert_int_equal(link_engine_upload_sealed(e, "0011", "a.mp4", 0, memfd_create("s", MFD_CLOEXEC)), SAFECAM_ERR_INVAL);
    assert_int_equal(link_engine_upload_sealed(e, id, "../a.mp4", 0, memfd_create("s", MFD_CLOEXEC)), SAFECAM_ERR_INVAL);
    assert_int_equal(fds_open(), engine_fds); /* refused: closed */
    /* a sealed segment is a file on the camera's storage (a memfd has no link: it would count as deleted) */
    char seg[64];
    snprintf(seg, sizeof seg, "%s/seg", dir);
    assert_int_equal(link_engine_upload_sealed(e, id, "a.mp4", 1, open(seg, O_RDWR | O_CREAT | O_CLOEXEC, 0600)), 0);
    link_engine_step(e, 0);
    assert_int_equal(decrypt_asked, 1);
    assert_string_equal(decrypt_id, id);
    link_engine_step(e, 0);
    assert_int_equal(decrypt_asked, 1); /* asked: the answer is awaited, not asked again */

    link_engine_upload_clear(e, "ffffffffffffffffffffffffffffffff", memfd_create("other", MFD_CLOEXEC));
    assert_int_equal(memfds_named("other"), 0); /* for another segment: closed */

    int clear = memfd_create("clear", MFD_CLOEXEC);
    assert_int_equal(write(clear, "mp4", 3), 3);
    link_engine_upload_clear(e, id, clear);
    assert_int_equal(memfds_named("clear"), 1);
    /* the PUT runs over a few steps without blocking, and fails (closed port): the clear copy is gone, the entry
     * stays */
    json_t *dav = NULL;
    for (int i = 0; i < 250; i++) {
        link_engine_step(e, 0);
        json_decref(dav);
        dav = dav_stats(e);
        if (json_integer_value(json_object_get(dav, "failures")) >= 1)
            break;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    assert_int_equal(memfds_named("clear"), 0);
    assert_int_equal(json_integer_value(json_object_get(dav, "queued")), 1);
    assert_true(json_integer_value(json_object_get(dav, "failures")) >= 1);
    json_decref(dav);
    engine_fds = fds_open() - 1; /* the multi handle's own descriptors stay; the sealed one leaves below */

    /* after the back-off (at most 200 ms after one failure) the next attempt asks for a new clear copy */
    for (int i = 0; i < 100 && decrypt_asked < 2; i++) {
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        link_engine_step(e, 0);
    }
    assert_int_equal(decrypt_asked, 2);
    /* the vault refuses it (deleted or damaged meanwhile): dropped, audited, the sealed descriptor closed */
    link_engine_upload_clear(e, id, -1);
    dav = dav_stats(e);
    assert_int_equal(json_integer_value(json_object_get(dav, "queued")), 0);
    json_decref(dav);
    assert_int_equal(audits_failed, 1);
    assert_int_equal(fds_open(), engine_fds); /* the sealed descriptor closed with its entry */

    /* a segment deleted on the camera while it waits: its descriptor is let go (the storage gets its blocks back),
     * the entry leaves the queue, audited, and the vault is never asked for it */
    int asked = decrypt_asked;
    assert_int_equal(link_engine_upload_sealed(e, id, "b.mp4", 1, open(seg, O_RDONLY | O_CLOEXEC)), 0);
    assert_int_equal(unlink(seg), 0);
    for (int i = 0; i < 150 && fds_open() > engine_fds; i++) { /* looked for once a second */
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        link_engine_step(e, 0);
    }
    assert_int_equal(fds_open(), engine_fds);
    link_engine_step(e, 0);
    dav = dav_stats(e);
    assert_int_equal(json_integer_value(json_object_get(dav, "queued")), 0);
    json_decref(dav);
    assert_int_equal(decrypt_asked, asked);
    assert_int_equal(audits_gone, 1);

    /* files in clear (captures) held together are bounded: 5 MiB fits, a second 5 MiB does not */
    int a = memfd_create("jpeg", MFD_CLOEXEC), b = memfd_create("jpeg", MFD_CLOEXEC);
    assert_int_equal(ftruncate(a, 5L << 20), 0);
    assert_int_equal(ftruncate(b, 5L << 20), 0);
    assert_int_equal(link_engine_upload_fd(e, "a.jpg", a), 0);
    int before = fds_open();
    assert_int_equal(link_engine_upload_fd(e, "b.jpg", b), SAFECAM_ERR_TOOBIG);
    assert_int_equal(fds_open(), before - 1); /* refused: closed */
    assert_int_equal(link_engine_upload_fd(e, "../c.jpg", memfd_create("jpeg", MFD_CLOEXEC)), SAFECAM_ERR_INVAL);
    assert_int_equal(fds_open(), before - 1);

    /* new settings drop what they no longer want: "motion" keeps the motion segment and the capture, a removed
     * folder keeps nothing (the descriptors closed) */
    json_t *st = json_pack("{s:{s:s,s:s,s:s}}", "webdav", "url", "https://127.0.0.1:9/dav/", "ca_pem", real_ca,
                           "upload", "all");
    assert_int_equal(link_engine_configure(e, st), 0);
    int m = open(seg, O_RDWR | O_CREAT | O_CLOEXEC, 0600), c = open(seg, O_RDONLY | O_CLOEXEC);
    assert_int_equal(link_engine_upload_sealed(e, "11111111111111111111111111111111", "m.mp4", 1, m), 0);
    assert_int_equal(link_engine_upload_sealed(e, "22222222222222222222222222222222", "c.mp4", 0, c), 0);
    dav = dav_stats(e);
    long queued = (long)json_integer_value(json_object_get(dav, "queued"));
    json_decref(dav);
    json_object_set_new(json_object_get(st, "webdav"), "upload", json_string("motion"));
    assert_int_equal(link_engine_configure(e, st), 0);
    dav = dav_stats(e);
    assert_int_equal(json_integer_value(json_object_get(dav, "queued")), queued - 1);
    json_decref(dav);
    json_decref(st);
    st = json_pack("{s:s}", "data_location", "vn");
    assert_int_equal(link_engine_configure(e, st), 0);
    json_decref(st);
    assert_int_equal(link_engine_upload_mode(e), -1);
    json_t *all = link_engine_stats(e);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(all, "webdav"), "queued")), 0);
    json_decref(all);
    assert_int_equal(unlink(seg), 0);
    link_engine_free(e);
    assert_true(fds_open() <= base);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_good),   cmocka_unit_test(test_validate_urls),
        cmocka_unit_test(test_validate_ca),     cmocka_unit_test(test_validate_crlf_nul),
        cmocka_unit_test(test_validate_other),  cmocka_unit_test(test_queue),
        cmocka_unit_test(test_backoff),         cmocka_unit_test(test_queue_fds),
        cmocka_unit_test(test_engine_sealed_upload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
