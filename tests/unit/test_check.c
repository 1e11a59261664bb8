/* test_check.c — unit tests of lib/check: device-answer parsers (RTSP, Set-Cookie, security.txt,
 * banners, the ServerHello of a real OpenSSL server to the raw TLS 1.2 ClientHello), verdict rules (weak
 * TLS suites, token entropy), the strict profile parser, the catalogue, the default-credential data file
 * and the report renderers. Trust level: test code. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
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
        /* phases and prerequisites: a prerequisite exists, runs, and comes no later than its dependant */
        assert_true(t[i].phase < CHECK_PHASE_COUNT);
        if (t[i].run != NULL && strcmp(t[i].id, "SC-01") != 0) {
            const struct check_test *pre = check_catalogue_find(t[i].prereq);
            assert_non_null(pre);
            assert_non_null(pre->run);
            assert_true(pre->phase <= t[i].phase);
            assert_true(pre < &t[i] || pre->phase < t[i].phase);
        }
        /* only the lockout test locks an account, and nothing runs after it */
        assert_int_equal(t[i].phase == CHECK_PHASE_LOCKS, strcmp(t[i].id, "BF-01") == 0);
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

/* ---- Vietnamese report: every fixed phrase of a reason has a translation ---- */

/* The printf conversions of fmt ("%d", "%.0f", "%zu", ...) concatenated into out. */
static void conversions(const char *fmt, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        const char *q = p + 1;
        while (*q && strchr("-+ #0123456789.hlzjt", *q))
            q++;
        if (*q == '\0')
            break;
        size_t l = (size_t)(q - p + 1);
        if (o + l + 1 < size) {
            memcpy(out + o, p, l);
            o += l;
            out[o] = '\0';
        }
        p = q;
    }
}

static void test_i18n_table_conversions_match(void **state)
{
    (void)state;
    assert_true(check_i18n_vi_count() > 150);
    for (size_t i = 0; i < check_i18n_vi_count(); i++) {
        char a[128], b[128];
        conversions(check_i18n_vi_key(i, 0), a, sizeof a);
        conversions(check_i18n_vi_key(i, 1), b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("conversions differ: \"%s\" vs \"%s\"", check_i18n_vi_key(i, 0), check_i18n_vi_key(i, 1));
        assert_string_not_equal(check_i18n_vi_key(i, 0), check_i18n_vi_key(i, 1));
    }
}

/* Reads the string-literal argument that starts at p (adjacent literals concatenated) into out;
 * returns the position after it, or NULL when p does not start with a literal. */
static const char *literal_at(const char *p, char *out, size_t size)
{
    size_t o = 0;
    int any = 0;
    out[0] = '\0';
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (*p != '"')
            return any ? p : NULL;
        any = 1;
        for (p++; *p && *p != '"'; p++) {
            char ch = *p;
            if (ch == '\\' && p[1]) {
                p++;
                ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            }
            if (o + 1 < size)
                out[o++] = ch;
        }
        out[o] = '\0';
        if (*p == '"')
            p++;
    }
}

/* Every reason format given to check_verdict() and every phrase given to check_absent() in lib/check
 * has a Vietnamese entry: the Vietnamese report has no English sentence. */
static void test_i18n_every_reason_translated(void **state)
{
    (void)state;
    const char *src = getenv("SAFECAM_SRCDIR");
    if (src == NULL)
        skip();
    /* run.c and every test group file (group_*.c): a new group is covered without touching this list */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/lib/check", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char files[64][64];
    size_t nfiles = 0;
    snprintf(files[nfiles++], sizeof files[0], "run.c");
    for (struct dirent *e = readdir(d); e != NULL && nfiles < 64; e = readdir(d)) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "group_", 6) == 0 && l > 2 && l < sizeof files[0] &&
            strcmp(e->d_name + l - 2, ".c") == 0)
            memcpy(files[nfiles++], e->d_name, l + 1); /* l + 1 <= sizeof files[0] */
    }
    closedir(d);
    assert_true(nfiles > 8);
    size_t seen = 0, missing = 0;
    for (size_t f = 0; f < nfiles; f++) {
        char path[sizeof dir + sizeof files[0] + 1];
        int pl = snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        assert_true(pl > 0 && (size_t)pl < sizeof path);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        static char text[1 << 20];
        size_t n = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
        text[n] = '\0';
        static const char *const calls[] = {"check_verdict(", "check_absent("};
        for (size_t k = 0; k < 2; k++) {
            for (const char *p = strstr(text, calls[k]); p; p = strstr(p + 1, calls[k])) {
                /* skip the declaration/definition and argument lists: the literal after the 2nd (verdict)
                 * or 3rd (absent) comma at depth 1 */
                const char *q = p + strlen(calls[k]);
                int commas = 0, depth = 1, need = k == 0 ? 2 : 3;
                while (*q && depth > 0 && commas < need) {
                    if (*q == '(')
                        depth++;
                    else if (*q == ')')
                        depth--;
                    else if (*q == ',' && depth == 1)
                        commas++;
                    else if (*q == '"')
                        break;
                    q++;
                }
                if (commas < need)
                    continue;
                char lit[1024];
                if (literal_at(q, lit, sizeof lit) == NULL)
                    continue; /* a variable (e.g. check_absent's own formats) */
                seen++;
                if (check_i18n_vi(lit) == NULL) {
                    missing++;
                    print_error("untranslated reason key in %s: \"%s\"\n", files[f], lit);
                }
            }
        }
    }
    assert_true(seen > 150);
    assert_int_equal(missing, 0);
}

/* ---- BF-03 statistics, device-answer parsers ---- */

double check_mann_whitney_p(const int64_t *a, size_t na, const int64_t *b, size_t nb, double *u);

static void test_mann_whitney(void **state)
{
    (void)state;
    double u;
    const int64_t lo[6] = {10, 11, 12, 13, 14, 15}, hi[6] = {100, 101, 102, 103, 104, 105};
    /* complete separation of 6+6: the smallest two-sided exact p, 2 / C(12,6) */
    assert_true(fabs(check_mann_whitney_p(lo, 6, hi, 6, &u) - 2.0 / 924.0) < 1e-9);
    assert_true(u == 0.0);
    const int64_t a[6] = {10, 30, 50, 70, 90, 110}, b[6] = {20, 40, 60, 80, 100, 120};
    assert_true(check_mann_whitney_p(a, 6, b, 6, &u) > 0.5); /* interleaved: no difference */
    const int64_t same[6] = {5, 5, 5, 5, 5, 5};
    assert_true(check_mann_whitney_p(same, 6, same, 6, &u) > 0.99); /* ties */
    int64_t big[11] = {0};
    assert_true(check_mann_whitney_p(big, 11, big, 11, &u) == 1.0); /* over 20 samples: not computed */
}

/* SC-02 raw probe: the ServerHello of a real `openssl s_server -cipher ECDHE-ARIA256-GCM-SHA384` (OpenSSL
 * 3.0, Debian 12) answering a TLS 1.2 ClientHello (32-byte session id, suite 0xC061), and its
 * handshake_failure alert when only an ARIA suite it does not have is offered. */
static const unsigned char openssl_server_hello_aria[] = {
    0x16, 0x03, 0x03, 0x00, 0x59, 0x02, 0x00, 0x00, 0x55, 0x03, 0x03, 0x71, 0xc7, 0x40, 0x6e, 0x02, 0x6c, 0xdc,
    0xe1, 0xb5, 0x7c, 0x2e, 0xfc, 0x6e, 0x1d, 0x4e, 0x50, 0x05, 0x3a, 0xdb, 0x3b, 0x49, 0xb2, 0x89, 0x0c, 0xba,
    0xc5, 0x50, 0xae, 0xcd, 0x2b, 0x80, 0xd2, 0x20, 0xff, 0xba, 0x2d, 0xd6, 0x1b, 0xb9, 0xb3, 0x44, 0x8c, 0xf9,
    0x60, 0xee, 0xe4, 0xb9, 0x53, 0xa4, 0x6d, 0xb2, 0x29, 0x4d, 0x9b, 0x8e, 0x7f, 0x33, 0xa1, 0x45, 0x72, 0x39,
    0xd7, 0xc2, 0x49, 0xca, 0xc0, 0x61, 0x00, 0x00, 0x0d, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0b, 0x00, 0x04,
    0x03, 0x00, 0x01, 0x02};
static const unsigned char openssl_alert_handshake_failure[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};

static void test_tls_server_hello(void **state)
{
    (void)state;
    struct check_tls_server_hello sh;
    assert_int_equal(check_tls_server_hello_parse(openssl_server_hello_aria, sizeof openssl_server_hello_aria, &sh), 0);
    assert_int_equal(sh.alert, 0);
    assert_int_equal(sh.version, 0x0303);
    assert_int_equal(sh.suite, 0xC061);
    assert_int_equal(sh.compression, 0);
    /* every shorter prefix through the compression byte asks for more */
    for (size_t n = 0; n < 5 + 4 + 2 + 32 + 1 + 32 + 3; n++)
        assert_int_equal(check_tls_server_hello_parse(openssl_server_hello_aria, n, &sh), 1);
    /* the same ServerHello split over two handshake records */
    unsigned char split[sizeof openssl_server_hello_aria + 5];
    size_t first = 20, body = sizeof openssl_server_hello_aria - 5;
    memcpy(split, "\x16\x03\x03\x00", 4);
    split[4] = (unsigned char)first;
    memcpy(split + 5, openssl_server_hello_aria + 5, first);
    memcpy(split + 5 + first, "\x16\x03\x03\x00", 4);
    split[9 + first] = (unsigned char)(body - first);
    memcpy(split + 10 + first, openssl_server_hello_aria + 5 + first, body - first);
    assert_int_equal(check_tls_server_hello_parse(split, sizeof split, &sh), 0);
    assert_int_equal(sh.suite, 0xC061);
    assert_int_equal(check_tls_server_hello_parse(openssl_alert_handshake_failure,
                                                  sizeof openssl_alert_handshake_failure, &sh), 0);
    assert_int_equal(sh.alert, 1);
    assert_int_equal(sh.alert_level, 2);
    assert_int_equal(sh.alert_desc, 40);
    /* not TLS, or a handshake that is not a ServerHello, or a session id over 32 bytes */
    static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    assert_int_equal(check_tls_server_hello_parse((const unsigned char *)http, sizeof http - 1, &sh), SAFECAM_ERR_PROTO);
    unsigned char bad[sizeof openssl_server_hello_aria];
    memcpy(bad, openssl_server_hello_aria, sizeof bad);
    bad[5] = 0x0b; /* Certificate first */
    assert_int_equal(check_tls_server_hello_parse(bad, sizeof bad, &sh), SAFECAM_ERR_PROTO);
    memcpy(bad, openssl_server_hello_aria, sizeof bad);
    bad[43] = 33;
    assert_int_equal(check_tls_server_hello_parse(bad, sizeof bad, &sh), SAFECAM_ERR_PROTO);
}

static void test_tls12_client_hello(void **state)
{
    (void)state;
    static const uint16_t suites[] = {0xC060, 0xC061};
    unsigned char rnd[32], out[512];
    size_t len = 0;
    memset(rnd, 0x5a, sizeof rnd);
    assert_int_equal(check_tls12_client_hello_build(suites, 2, rnd, out, sizeof out, &len), 0);
    /* one handshake record holding one ClientHello whose lengths add up */
    assert_int_equal(out[0], 0x16);
    assert_int_equal((out[3] << 8) | out[4], len - 5);
    assert_int_equal(out[5], 0x01);
    assert_int_equal((out[6] << 16) | (out[7] << 8) | out[8], len - 9);
    assert_int_equal((out[9] << 8) | out[10], 0x0303);
    assert_memory_equal(out + 11, rnd, 32);
    assert_int_equal(out[43], 0);                        /* no session id */
    assert_int_equal((out[44] << 8) | out[45], 6);       /* 2 suites + the renegotiation SCSV */
    assert_int_equal((out[46] << 8) | out[47], 0xC060);
    assert_int_equal((out[50] << 8) | out[51], 0x00ff);
    assert_int_equal((out[54] << 8) | out[55], len - 56); /* extensions to the end */
    assert_int_equal(check_tls12_client_hello_build(suites, 0, rnd, out, sizeof out, &len), SAFECAM_ERR_INVAL);
    assert_int_equal(check_tls12_client_hello_build(suites, 2, rnd, out, 40, &len), SAFECAM_ERR_TOOBIG);
}

static void test_mqtt_connack(void **state)
{
    (void)state;
    int code;
    const unsigned char ok[] = {0x20, 0x02, 0x00, 0x00}, refused[] = {0x20, 0x02, 0x00, 0x05};
    const unsigned char v5[] = {0x20, 0x03, 0x00, 0x87, 0x00};
    assert_int_equal(check_mqtt_connack_parse(ok, sizeof ok, &code), 0);
    assert_int_equal(code, 0);
    assert_int_equal(check_mqtt_connack_parse(refused, sizeof refused, &code), 0);
    assert_int_equal(code, 5);
    assert_int_equal(check_mqtt_connack_parse(v5, sizeof v5, &code), 0);
    assert_int_equal(code, 0x87);
    const unsigned char http[] = "HTTP/1.1 400";
    assert_int_not_equal(check_mqtt_connack_parse(http, sizeof http - 1, &code), 0);
    const unsigned char shortp[] = {0x20, 0x02, 0x00};
    assert_int_not_equal(check_mqtt_connack_parse(shortp, sizeof shortp, &code), 0);
    const unsigned char badlen[] = {0x20, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00};
    assert_int_not_equal(check_mqtt_connack_parse(badlen, sizeof badlen, &code), 0);
}

static void test_ftp_reply(void **state)
{
    (void)state;
    int code;
    const char one[] = "220 (vsFTPd 3.0.3)\r\n";
    assert_int_equal(check_ftp_reply_parse(one, strlen(one), &code), 0);
    assert_int_equal(code, 220);
    const char multi[] = "220-Welcome\r\n220-to the camera\r\n220 ready\r\n";
    assert_int_equal(check_ftp_reply_parse(multi, strlen(multi), &code), 0);
    assert_int_equal(code, 220);
    const char open_multi[] = "220-Welcome\r\n220-more\r\n";
    assert_int_not_equal(check_ftp_reply_parse(open_multi, strlen(open_multi), &code), 0);
    const char partial[] = "230 Login succ";
    assert_int_not_equal(check_ftp_reply_parse(partial, strlen(partial), &code), 0);
    const char two[] = "331 Please specify the password.\r\n230 Login successful.\r\n";
    assert_int_equal(check_ftp_reply_parse(two, strlen(two), &code), 0);
    assert_int_equal(code, 230);
}

static void test_snmp_sysdescr(void **state)
{
    (void)state;
    /* GetResponse, community public, sysDescr.0 = "Linux cam 5.10.110" */
    const unsigned char ans[] = {0x30, 0x37, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c', 0xa2, 0x2a,
                                 0x02, 0x04, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x1c,
                                 0x30, 0x1a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x04, 0x0e,
                                 'L', 'i', 'n', 'u', 'x', ' ', 'c', 'a', 'm', ' ', '5', '.', '1', '0'};
    char out[64];
    assert_int_equal(check_snmp_first_string_parse(ans, sizeof ans, out, sizeof out), 0);
    assert_string_equal(out, "Linux cam 5.10");
    assert_true(check_banner_has_version(out));
    assert_int_not_equal(check_snmp_first_string_parse(ans, sizeof ans - 3, out, sizeof out), 0); /* truncated */
    unsigned char bad[sizeof ans];
    memcpy(bad, ans, sizeof ans);
    bad[13] = 0xa0; /* a GetRequest, not a response */
    assert_int_not_equal(check_snmp_first_string_parse(bad, sizeof bad, out, sizeof out), 0);
}

static void test_wsd_match(void **state)
{
    (void)state;
    static const char pm[] =
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
        "xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"><s:Body><d:ProbeMatches><d:ProbeMatch>"
        "<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>\n  onvif://www.onvif.org/type/video_encoder\n"
        "</d:Scopes><d:XAddrs>https://[2001:db8::1]/onvif/device_service  http://192.0.2.7:8080/onvif/device_service"
        "</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>";
    struct check_wsd_match m;
    assert_int_equal(check_wsd_match_parse(pm, strlen(pm), &m), 0);
    assert_string_equal(m.types, "dn:NetworkVideoTransmitter");
    assert_string_equal(m.scopes, "onvif://www.onvif.org/type/video_encoder");
    assert_string_equal(m.xaddrs, "https://[2001:db8::1]/onvif/device_service http://192.0.2.7:8080/onvif/device_service");
    char first[64];
    assert_int_equal(check_wsd_xaddrs_cleartext(m.xaddrs, first, sizeof first), 1);
    assert_string_equal(first, "http://192.0.2.7:8080/onvif/device_service");
    assert_int_equal(check_wsd_xaddrs_cleartext("https://a/ https://b/", first, sizeof first), 0);
    assert_string_equal(first, "");
    /* truncated inside the XAddrs text: what arrived is read, nothing past the length */
    const char *x = strstr(pm, "https://[");
    assert_int_equal(check_wsd_match_parse(pm, (size_t)(x - pm) + 8, &m), 0);
    assert_string_equal(m.xaddrs, "https://");
    /* not a match: a Probe, an empty element, garbage, nothing */
    static const char probe[] = "<e:Envelope><e:Body><d:Probe/><d:XAddrs>http://x/</d:XAddrs></e:Body></e:Envelope>";
    assert_int_not_equal(check_wsd_match_parse(probe, strlen(probe), &m), 0);
    assert_string_equal(m.xaddrs, "");
    static const char empty[] = "<d:ProbeMatch/><d:ProbeMatches>";
    assert_int_not_equal(check_wsd_match_parse(empty, strlen(empty), &m), 0);
    assert_int_not_equal(check_wsd_match_parse("<<<<", 4, &m), 0);
    assert_int_not_equal(check_wsd_match_parse(NULL, 0, &m), 0);
    /* a Hello (wsdd's announcement) counts: it carries the XAddrs too */
    static const char hello[] = "<wsd:Hello><wsd:Types>wsdp:Device pub:Computer</wsd:Types>"
                                "<wsd:XAddrs>http://10.0.0.1:5357/u</wsd:XAddrs></wsd:Hello>";
    assert_int_equal(check_wsd_match_parse(hello, strlen(hello), &m), 0);
    assert_int_equal(check_wsd_xaddrs_cleartext(m.xaddrs, first, sizeof first), 1);
    /* the endpoint address inside the match (for a Resolve), not one from the header */
    static const char pm2[] = "<s:Header><w:ReplyTo><w:Address>urn:header</w:Address></w:ReplyTo></s:Header>"
                              "<d:ProbeMatch><w:EndpointReference><w:Address> urn:uuid:ab-12 </w:Address>"
                              "</w:EndpointReference><d:Types>wsdp:Device</d:Types></d:ProbeMatch>";
    assert_int_equal(check_wsd_match_parse(pm2, strlen(pm2), &m), 0);
    assert_string_equal(m.address, "urn:uuid:ab-12");
    assert_string_equal(m.xaddrs, "");
    /* SSDP SERVER header */
    static const char ssdp[] = "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nserver: Debian DLNADOC/1.50 UPnP/1.0 "
                               "MiniDLNA/1.3.0\r\nLOCATION: http://10.0.0.1:8200/rootDesc.xml\r\n\r\n";
    char srv[64];
    assert_int_equal(check_ssdp_server_parse(ssdp, strlen(ssdp), srv, sizeof srv), 0);
    assert_string_equal(srv, "Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0");
    assert_int_not_equal(check_ssdp_server_parse("M-SEARCH * HTTP/1.1\r\nSERVER: x/1\r\n", 31, srv, sizeof srv), 0);
    assert_int_not_equal(check_ssdp_server_parse(ssdp, 20, srv, sizeof srv), 0); /* cut before the header */
}

static void test_body_version(void **state)
{
    (void)state;
    char ex[64];
    const char a[] = "<html><p>Firmware version 2.4.1</p></html>";
    assert_int_equal(check_body_version_find(a, strlen(a), ex, sizeof ex), 1);
    assert_non_null(strstr(ex, "2.4.1"));
    const char b[] = "<hr><center>nginx/1.22.1</center>";
    assert_int_equal(check_body_version_find(b, strlen(b), ex, sizeof ex), 1);
    const char c[] = "<html><head><title>Camera admin</title></head><body>Log in</body></html>";
    assert_int_equal(check_body_version_find(c, strlen(c), ex, sizeof ex), 0);
    const char d[] = "<html><a href=\"HTTP/1.1\">x</a> HTTP/1.1 was used</html>"; /* protocol names are not products */
    assert_int_equal(check_body_version_find(d, strlen(d), ex, sizeof ex), 0);
    const char e[] = "<meta name=\"generator\" content=\"CamOS 5.2\">";
    assert_int_equal(check_body_version_find(e, strlen(e), ex, sizeof ex), 1);
    const char f[] = "<img src=\"/img/logo-2.png\">"; /* markup only */
    assert_int_equal(check_body_version_find(f, strlen(f), ex, sizeof ex), 0);
}

/* ---- CSAF 2.0 (VM-03) ---- */

static char *read_src(const char *rel, size_t *len)
{
    const char *src = getenv("SAFECAM_SRCDIR");
    if (src == NULL)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", src, rel);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    static char buf[2][64 * 1024];
    static int which;
    char *b = buf[which++ & 1];
    *len = fread(b, 1, sizeof buf[0] - 1, fp);
    b[*len] = '\0';
    fclose(fp);
    return b;
}

#define PM_OK "{\"canonical_url\":\"https://v.example/.well-known/csaf/provider-metadata.json\"," \
    "\"last_updated\":\"2026-01-01T00:00:00Z\",\"list_on_CSAF_aggregators\":false,\"metadata_version\":\"2.0\"," \
    "\"mirror_on_CSAF_aggregators\":true,\"publisher\":{\"category\":\"vendor\",\"name\":\"V\",\"namespace\":" \
    "\"https://v.example\"},\"role\":\"csaf_provider\",\"distributions\":[{\"rolie\":{\"feeds\":[{\"tlp_label\":" \
    "\"WHITE\",\"url\":\"https://v.example/feed.json\"}]}}]}"

static void test_csaf_provider(void **state)
{
    (void)state;
    struct check_csaf_provider pm;
    char field[64];
    assert_int_equal(check_csaf_provider_parse(PM_OK, strlen(PM_OK), &pm, field, sizeof field), 0);
    assert_string_equal(pm.publisher_name, "V");
    assert_string_equal(pm.role, "csaf_provider");
    assert_int_equal(pm.n_distributions, 1);
    assert_string_equal(pm.rolie_feed_url, "https://v.example/feed.json");
    assert_string_equal(pm.directory_url, "");
    /* every required member, removed one at a time, is named */
    static const struct {
        const char *from, *to, *field;
    } cut[] = {
        {"\"canonical_url\"", "\"x_canonical_url\"", "canonical_url"},
        {"https://v.example/.well-known", "http://v.example/.well-known", "canonical_url"},
        {"\"last_updated\"", "\"x_last_updated\"", "last_updated"},
        {"\"list_on_CSAF_aggregators\":false", "\"list_on_CSAF_aggregators\":\"no\"", "list_on_CSAF_aggregators"},
        {"\"metadata_version\":\"2.0\"", "\"metadata_version\":\"1.2\"", "metadata_version"},
        {"\"mirror_on_CSAF_aggregators\"", "\"x_mirror\"", "mirror_on_CSAF_aggregators"},
        {"\"publisher\":{", "\"x_publisher\":{", "publisher"},
        {"\"category\":\"vendor\"", "\"x_category\":\"vendor\"", "publisher.category"},
        {"\"name\":\"V\"", "\"name\":\"\"", "publisher.name"},
        {"\"namespace\"", "\"x_namespace\"", "publisher.namespace"},
        {"\"role\":\"csaf_provider\"", "\"role\":\"boss\"", "role"},
        {"\"distributions\":[", "\"distributions\":{\"a\":[", "JSON"}, /* unbalanced: not JSON */
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        char doc[2048];
        const char *at = strstr(PM_OK, cut[i].from);
        assert_non_null(at);
        snprintf(doc, sizeof doc, "%.*s%s%s", (int)(at - PM_OK), PM_OK, cut[i].to, at + strlen(cut[i].from));
        assert_int_equal(check_csaf_provider_parse(doc, strlen(doc), &pm, field, sizeof field), SAFECAM_ERR_INVAL);
        assert_string_equal(field, cut[i].field);
    }
    assert_int_equal(check_csaf_provider_parse("<html></html>", 13, &pm, field, sizeof field), SAFECAM_ERR_INVAL);
    assert_string_equal(field, "JSON");
    assert_int_equal(check_csaf_provider_parse("[]", 2, &pm, field, sizeof field), SAFECAM_ERR_INVAL);
    static char big[CHECK_CSAF_MAX + 2];
    memset(big, ' ', sizeof big);
    assert_int_equal(check_csaf_provider_parse(big, sizeof big, &pm, field, sizeof field), SAFECAM_ERR_TOOBIG);
    /* the file safecamd serves */
    size_t len = 0;
    const char *served = read_src("security/provider-metadata.json", &len);
    if (served != NULL) {
        assert_int_equal(check_csaf_provider_parse(served, len, &pm, field, sizeof field), 0);
        assert_string_equal(pm.publisher_name, "safecam developers");
        assert_string_equal(pm.directory_url, "https://safecam.invalid/.well-known/csaf/white/");
    }
}

#define ADV_OK "{\"document\":{\"category\":\"csaf_security_advisory\",\"csaf_version\":\"2.0\",\"title\":\"T\"," \
    "\"publisher\":{\"category\":\"vendor\",\"name\":\"V\",\"namespace\":\"https://v.example\"},\"tracking\":{" \
    "\"id\":\"V-2026-1\",\"status\":\"final\",\"version\":\"2\"}},\"product_tree\":{},\"vulnerabilities\":[{}]}"

static void test_csaf_advisory(void **state)
{
    (void)state;
    struct check_csaf_advisory a;
    char field[64];
    assert_int_equal(check_csaf_advisory_parse(ADV_OK, strlen(ADV_OK), &a, field, sizeof field), 0);
    assert_string_equal(a.id, "V-2026-1");
    assert_string_equal(a.status, "final");
    assert_int_equal(a.n_vulnerabilities, 1);
    static const struct {
        const char *from, *to, *field;
    } cut[] = {
        {"\"csaf_version\":\"2.0\"", "\"csaf_version\":\"1.0\"", "document.csaf_version"},
        {"\"title\"", "\"x_title\"", "document.title"},
        {"\"id\":", "\"x_id\":", "document.tracking.id"},
        {"\"status\":\"final\"", "\"status\":\"done\"", "document.tracking.status"},
        {"\"version\":\"2\"", "\"x_version\":\"2\"", "document.tracking.version"},
        {"\"product_tree\"", "\"x_product_tree\"", "product_tree"},
        {"\"vulnerabilities\":[{}]", "\"vulnerabilities\":[]", "vulnerabilities"},
        {"{\"document\":", "{\"x_document\":", "document"},
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        char doc[2048];
        const char *at = strstr(ADV_OK, cut[i].from);
        assert_non_null(at);
        snprintf(doc, sizeof doc, "%.*s%s%s", (int)(at - ADV_OK), ADV_OK, cut[i].to, at + strlen(cut[i].from));
        assert_int_equal(check_csaf_advisory_parse(doc, strlen(doc), &a, field, sizeof field), SAFECAM_ERR_INVAL);
        assert_string_equal(field, cut[i].field);
    }
    size_t len = 0;
    const char *adv = read_src("security/advisories/safecam-2026-001.json", &len);
    if (adv != NULL) {
        assert_int_equal(check_csaf_advisory_parse(adv, len, &a, field, sizeof field), 0);
        assert_string_equal(a.id, "SAFECAM-2026-001");
        assert_string_equal(a.category, "csaf_informational_advisory");
    }
}

static void test_csaf_feeds(void **state)
{
    (void)state;
    char out[256];
    size_t n = 0;
    const char *feed = "{\"feed\":{\"entry\":[{\"id\":\"a\"},{\"content\":{\"src\":\"https://d/white/2026/a.json\"}}]}}";
    assert_int_equal(check_csaf_rolie_first(feed, strlen(feed), out, sizeof out, &n), 0);
    assert_string_equal(out, "https://d/white/2026/a.json");
    assert_int_equal(n, 2);
    const char *empty = "{\"feed\":{\"entry\":[]}}";
    assert_int_equal(check_csaf_rolie_first(empty, strlen(empty), out, sizeof out, &n), SAFECAM_ERR_NOTFOUND);
    assert_int_equal(check_csaf_rolie_first("{}", 2, out, sizeof out, &n), SAFECAM_ERR_INVAL);
    const char *idx = "../etc/passwd\r\n/abs.json\nhttps://x/y.json\n\n2026/safecam-2026-001.json\r\nz.json";
    assert_int_equal(check_csaf_index_first(idx, strlen(idx), out, sizeof out, &n), 0);
    assert_string_equal(out, "2026/safecam-2026-001.json");
    assert_int_equal(n, 5);
    assert_int_equal(check_csaf_index_first("\n\n", 2, out, sizeof out, &n), SAFECAM_ERR_NOTFOUND);
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
        cmocka_unit_test(test_i18n_table_conversions_match), cmocka_unit_test(test_i18n_every_reason_translated),
        cmocka_unit_test(test_mann_whitney),    cmocka_unit_test(test_mqtt_connack),
        cmocka_unit_test(test_ftp_reply),       cmocka_unit_test(test_body_version),
        cmocka_unit_test(test_snmp_sysdescr), cmocka_unit_test(test_wsd_match),
        cmocka_unit_test(test_csaf_provider), cmocka_unit_test(test_csaf_advisory),
        cmocka_unit_test(test_csaf_feeds), cmocka_unit_test(test_tls_server_hello),
        cmocka_unit_test(test_tls12_client_hello),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
