/* test_check.c — unit tests of lib/check: device-answer parsers (RTSP, Set-Cookie, security.txt,
 * banners), verdict rules (weak TLS suites, token entropy), the strict profile parser, the
 * catalogue, the default-credential data file and the report renderers. Trust level: test code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/check.h"

static void test_rtsp_parse_ok(void **state)
{
    (void)state;
    const char *r = "RTSP/1.0 401 Unauthorized\r\nCSeq: 7\r\nServer: cam/1.2\r\n"
                    "WWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n";
    struct check_rtsp_response o;
    assert_int_equal(check_rtsp_response_parse(r, strlen(r), &o), 0);
    assert_int_equal(o.status, 401);
    assert_int_equal(o.cseq, 7);
    assert_string_equal(o.server, "cam/1.2");
    assert_string_equal(o.www_authenticate, "Basic realm=\"x\"");
    assert_int_equal(o.content_length, 0);
    assert_int_equal(o.n_headers, 4);
}

static void test_rtsp_parse_bad(void **state)
{
    (void)state;
    struct check_rtsp_response o;
    const char *bad[] = {
        "HTTP/1.1 200 OK\r\n\r\n",                 /* not RTSP */
        "RTSP/1.0 2000 OK\r\n\r\n",                /* 4-digit status */
        "RTSP/1.0 099 X\r\n\r\n",                  /* out of range */
        "RTSP/1.0 200 OK\r\nCSeq: 1\r\n",          /* no end of headers */
        "RTSP/1.0 200 OK\r\nNoColonHere\r\n\r\n",  /* header without colon */
        "RTSP/1.0 200 OK\r\nBad Name: x\r\n\r\n",  /* space in the name */
        "RTSP/1.0 200",                            /* truncated */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(check_rtsp_response_parse(bad[i], strlen(bad[i]), &o), 0);
    assert_int_not_equal(check_rtsp_response_parse(NULL, 10, &o), 0);
    /* too many headers */
    char big[8192];
    size_t off = (size_t)snprintf(big, sizeof big, "RTSP/1.0 200 OK\r\n");
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(big + off, sizeof big - off, "X%d: y\r\n", i);
    off += (size_t)snprintf(big + off, sizeof big - off, "\r\n");
    assert_int_equal(check_rtsp_response_parse(big, off, &o), SAFECAM_ERR_TOOBIG);
    /* over the size cap */
    char *huge = calloc(1, CHECK_RTSP_MAX_RESPONSE + 10);
    assert_non_null(huge);
    memcpy(huge, "RTSP/1.0 200 OK\r\n", 17);
    assert_int_not_equal(check_rtsp_response_parse(huge, CHECK_RTSP_MAX_RESPONSE + 10, &o), 0);
    free(huge);
    /* absurd CSeq becomes -1, not an overflow */
    const char *r = "RTSP/1.0 200 OK\r\nCSeq: 99999999999999999999999\r\n\r\n";
    assert_int_equal(check_rtsp_response_parse(r, strlen(r), &o), 0);
    assert_int_equal(o.cseq, -1);
}

static void test_cookie_parse(void **state)
{
    (void)state;
    struct check_cookie c;
    assert_int_equal(check_cookie_parse("sid=abc123; Path=/; Secure; HttpOnly; SameSite=Strict", &c), 0);
    assert_string_equal(c.name, "sid");
    assert_string_equal(c.value, "abc123");
    assert_true(c.secure && c.httponly);
    assert_string_equal(c.samesite, "Strict");
    assert_int_equal(check_cookie_parse("sid=x; path=/", &c), 0);
    assert_false(c.secure || c.httponly);
    assert_string_equal(c.samesite, "");
    assert_int_not_equal(check_cookie_parse("novalue; Secure", &c), 0);
    assert_int_not_equal(check_cookie_parse("=x", &c), 0);
}

static void test_entropy(void **state)
{
    (void)state;
    assert_true(check_token_entropy_bits("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") >= 255.0);
    assert_true(check_token_entropy_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 8.0);
    assert_true(check_token_entropy_bits("12345") < 128.0);
    assert_true(check_token_entropy_bits("Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4") >= 128.0);
}

static void test_securitytxt(void **state)
{
    (void)state;
    const char *t = "# comment\nContact: mailto:sec@example.com\nExpires: 2099-01-01T00:00:00Z\nPolicy: https://x/p\n";
    int c, p;
    int64_t e;
    assert_int_equal(check_securitytxt_parse(t, strlen(t), &c, &p, &e), 0);
    assert_true(c && p);
    assert_true(e > 4000000000LL);
    const char *u = "Expires: not-a-date\n";
    assert_int_equal(check_securitytxt_parse(u, strlen(u), &c, &p, &e), 0);
    assert_false(c);
    assert_int_equal(e, 0);
    assert_int_not_equal(check_securitytxt_parse("<html>nope</html>", 17, &c, &p, &e), 0);
}

static void test_banner_and_suites(void **state)
{
    (void)state;
    assert_true(check_banner_has_version("nginx/1.22.1"));
    assert_true(check_banner_has_version("BaseHTTP/0.6 Python/3.11.2"));
    assert_true(check_banner_has_version("Boa 0.94.13"));
    assert_false(check_banner_has_version("GStreamer RTSP server"));
    assert_false(check_banner_has_version("safecamd"));
    assert_true(check_tls_suite_weak("TLS_RSA_AES_128_CBC_SHA1"));
    assert_true(check_tls_suite_weak("TLS_ECDHE_RSA_AES_256_CBC_SHA1"));
    assert_true(check_tls_suite_weak("TLS_RSA_AES_128_GCM_SHA256")); /* no forward secrecy */
    assert_true(check_tls_suite_weak("TLS_ECDHE_RSA_ARCFOUR_128_SHA1"));
    assert_true(check_tls_suite_weak("TLS_RSA_3DES_EDE_CBC_SHA1"));
    assert_true(check_tls_suite_weak("TLS_ECDHE_ECDSA_NULL_SHA1"));
    assert_true(check_tls_suite_weak("TLS_DH_ANON_AES_128_GCM_SHA256"));
    assert_false(check_tls_suite_weak("TLS_ECDHE_ECDSA_AES_128_GCM_SHA256"));
    assert_false(check_tls_suite_weak("TLS_ECDHE_RSA_CHACHA20_POLY1305"));
    assert_false(check_tls_suite_weak("TLS_AES_256_GCM_SHA384"));
    assert_false(check_tls_suite_weak("TLS_CHACHA20_POLY1305_SHA256"));
}

static int parse_err(const char *doc, char *err, size_t n)
{
    struct check_profile p;
    int rc = check_profile_parse(doc, strlen(doc), NULL, &p, err, n);
    if (rc == 0)
        check_profile_free(&p);
    return rc;
}

static void test_profile_errors(void **state)
{
    (void)state;
    char err[256];
    static const struct {
        const char *doc, *needle;
    } cases[] = {
        {"{", "not valid JSON"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"schema\":\"x\"}", "not valid JSON"}, /* duplicate key */
        {"{\"schema\":\"qcvn-check-profile/2\"}", "schema"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"extra\":1}", "extra: unknown field"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"services\":[{\"port\":65536,\"service\":\"http\"}]}", "services[0].port"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"services\":[{\"port\":1,\"service\":\"http\"},{\"port\":1,\"service\":\"ftp\"}]}", "declared twice"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"services\":[{\"port\":1}]}", "services[0].service: required"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"services\":[{\"port\":1,\"service\":\"http\",\"protocol\":\"sctp\"}]}", "protocol"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"auth\":{\"login\":{\"type\":\"magic\",\"path\":\"/\"}}}", "auth.login.type"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"auth\":{\"lockout\":{\"threshold\":0}}}", "auth.lockout.threshold"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"auth\":{\"lockout\":{\"scope\":\"world\"}}}", "auth.lockout.scope"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"auth\":{\"logout\":{\"method\":\"TRACE\"}}}", "auth.logout.method"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"credentials\":{\"admin\":{\"username\":\"a\",\"password\":\"x\"}}}",
         "no login surface"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"credentials\":{\"admin\":{\"username\":\"a\",\"password_env\":"
         "\"QCVN_UNIT_NO_SUCH_VAR\"}},\"auth\":{\"login\":{\"type\":\"basic\",\"path\":\"/\"}}}",
         "QCVN_UNIT_NO_SUCH_VAR is not set"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"rtsp\":{\"paths\":[\"stream\"]}}", "rtsp.paths[0]"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"tls\":{\"pinned_pubkey\":\"md5//x\"}}", "tls.pinned_pubkey"},
        {"{\"schema\":\"qcvn-check-profile/1\",\"factory_state\":\"yes\"}", "factory_state"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        assert_int_not_equal(parse_err(cases[i].doc, err, sizeof err), 0);
        if (strstr(err, cases[i].needle) == NULL)
            fail_msg("case %zu: \"%s\" does not name \"%s\"", i, err, cases[i].needle);
        assert_null(strchr(err, '\n'));
    }
}

static void test_profile_demo_and_echo(void **state)
{
    (void)state;
    const char *src = getenv("SAFECAM_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/check/profiles/safecamd-demo.json", src ? src : ".");
    setenv("QCVN_ADMIN_PASSWORD", "Unit#Admin-Secret-1", 1);
    setenv("QCVN_USER_PASSWORD", "Unit#User-Secret-2", 1);
    setenv("QCVN_INITIAL_PASSWORD", "Unit#Init-Secret-3", 1);
    struct check_profile p;
    char err[256] = "";
    int rc = check_profile_load(path, &p, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_true(p.admin.present && p.user.present && p.initial_password != NULL);
    assert_string_equal(p.admin.password, "Unit#Admin-Secret-1");
    assert_int_equal(p.n_services, 2);
    assert_true(p.lockout_per_account);
    assert_int_equal(p.lockout_threshold, 5);
    json_t *echo = check_profile_echo(&p);
    char *txt = json_dumps(echo, 0);
    assert_non_null(txt);
    assert_null(strstr(txt, "Secret"));
    assert_non_null(strstr(txt, "provided"));
    free(txt);
    json_decref(echo);
    check_profile_free(&p);
    assert_null(p.admin.password);
    /* the template parses too (with the env vars it names) */
    struct check_profile t;
    rc = check_profile_parse(check_profile_template(), strlen(check_profile_template()), NULL, &t, err, sizeof err);
    if (rc != 0)
        fail_msg("template: %s", err);
    check_profile_free(&t);
}

static void test_catalogue(void **state)
{
    (void)state;
    size_t n;
    const struct check_test *t = check_catalogue(&n);
    assert_true(n > 60);
    int automated = 0;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].title_en);
        assert_non_null(t[i].title_vi);
        assert_true(strlen(t[i].title_vi) > 5);
        assert_true(t[i].group[0] == 'G' || strcmp(t[i].group, "DOC") == 0);
        assert_non_null(t[i].en303645);
        assert_non_null(t[i].ts103701);
        if (t[i].run == NULL)
            assert_non_null(t[i].ask_vendor);
        else
            automated++;
        assert_ptr_equal(check_catalogue_find(t[i].id), &t[i]);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(t[i].id, t[j].id);
    }
    assert_true(automated >= 28);
    assert_null(check_catalogue_find("XX-99"));
}

static void test_default_creds_file_in_sync(void **state)
{
    (void)state;
    const char *src = getenv("SAFECAM_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/check/default-credentials.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    size_t i = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        const char *pw = strcmp(tab + 1, "(empty)") == 0 ? "" : tab + 1;
        assert_true(i < check_default_creds_count());
        assert_string_equal(line, check_default_cred(i, 0));
        assert_string_equal(pw, check_default_cred(i, 1));
        i++;
    }
    fclose(f);
    assert_int_equal(i, check_default_creds_count());
    assert_null(check_default_cred(i, 0));
}

static json_t *sample_report(const char *verdict, const char *level)
{
    return json_pack("{s:s,s:{s:s},s:{s:s,s:s,s:i,s:b},s:{s:I,s:I,s:I},s:{s:i,s:i,s:i,s:i,s:i,s:i,s:{s:{s:i,s:i,s:i,s:i,s:i}}},"
                     "s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:i}]}",
                     "schema", CHECK_REPORT_SCHEMA, "tool", "version", "0", "target", "host", "cam", "address",
                     "127.0.0.1", "web_port", 8443, "web_tls", 1, "timing", "total_ms", (json_int_t)1000,
                     "pacing_wait_ms", (json_int_t)0, "lockout_wait_ms", (json_int_t)0, "summary", "PASS", 0, "FAIL",
                     strcmp(verdict, "FAIL") == 0, "INCONCLUSIVE", 0, "NOT_APPLICABLE", 0, "NEEDS_EVIDENCE", 0,
                     "mandatory_fail", strcmp(verdict, "FAIL") == 0 && strcmp(level, "mandatory") == 0, "groups", "G5",
                     "PASS", 0, "FAIL", 1, "INCONCLUSIVE", 0, "NOT_APPLICABLE", 0, "NEEDS_EVIDENCE", 0, "results", "id",
                     "SC-02", "title_en", "TLS <quality>", "title_vi", "Chất lượng TLS", "group", "G5", "en303645",
                     "5.5-1", "ts103701", "Test group 5.5-1", "level", level, "verdict", verdict, "reason",
                     "weak & old", "evidence", "<script>alert(1)</script> \"q\"", "duration_ms", 5);
}

static void test_reports(void **state)
{
    (void)state;
    json_t *rep = sample_report("FAIL", "mandatory");
    assert_non_null(rep);
    assert_true(check_report_has_mandatory_fail(rep));
    char *html = check_report_html(rep, "vi");
    assert_non_null(html);
    assert_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "&lt;script&gt;"));
    assert_non_null(strstr(html, "KHÔNG ĐẠT"));
    assert_non_null(strstr(html, "TLS &lt;quality&gt;") == NULL ? strstr(html, "Chất lượng TLS") : html);
    /* Vietnamese report: the TS 103 701 reference is translated, the profile echo comes after the summary */
    assert_non_null(strstr(html, "Nhóm phép thử 5.5-1"));
    assert_null(strstr(html, "Test group"));
    free(html);
    json_object_set_new(json_array_get(json_object_get(rep, "results"), 0), "reason",
                        json_string("Not run: needs admin credentials (profile credentials.admin)"));
    html = check_report_html(rep, "vi");
    assert_non_null(html);
    assert_non_null(strstr(html, "Không chạy: cần thông tin đăng nhập quản trị"));
    assert_null(strstr(html, "Not run:"));
    assert_true(strstr(html, "Hồ sơ thiết bị (ICS/IXIT)") > strstr(html, "Tóm tắt theo nhóm"));
    free(html);
    /* device identity: declared beside reported, a mismatch flagged */
    json_object_set_new(rep, "device", json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "vendor", "V", "model", "CAM-1",
                                                 "firmware_version", "1.0.0", "serial", "S1", "reported", "model",
                                                 "CAM-1", "firmware_version", "2.0.0", "serial", "S1"));
    html = check_report_html(rep, "en");
    assert_non_null(html);
    assert_non_null(strstr(html, "Reported by the device"));
    const char *mm = strstr(html, "2.0.0 (MISMATCH)");
    assert_non_null(mm);
    assert_null(strstr(mm + strlen("2.0.0 (MISMATCH)"), "(MISMATCH)")); /* model and serial agree */
    free(html);
    char *sarif = check_report_sarif(rep);
    assert_non_null(sarif);
    json_t *s = json_loads(sarif, 0, NULL);
    assert_non_null(s);
    assert_string_equal(json_string_value(json_object_get(s, "version")), "2.1.0");
    json_t *res0 = json_array_get(json_object_get(json_array_get(json_object_get(s, "runs"), 0), "results"), 0);
    assert_string_equal(json_string_value(json_object_get(res0, "level")), "error");
    json_decref(s);
    free(sarif);
    char *junit = check_report_junit(rep);
    assert_non_null(junit);
    assert_non_null(strstr(junit, "<failure"));
    assert_null(strstr(junit, "<script>"));
    free(junit);
    json_decref(rep);
    rep = sample_report("FAIL", "recommended");
    assert_false(check_report_has_mandatory_fail(rep));
    json_decref(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtsp_parse_ok),   cmocka_unit_test(test_rtsp_parse_bad),
        cmocka_unit_test(test_cookie_parse),    cmocka_unit_test(test_entropy),
        cmocka_unit_test(test_securitytxt),     cmocka_unit_test(test_banner_and_suites),
        cmocka_unit_test(test_profile_errors),  cmocka_unit_test(test_profile_demo_and_echo),
        cmocka_unit_test(test_catalogue),       cmocka_unit_test(test_default_creds_file_in_sync),
        cmocka_unit_test(test_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
