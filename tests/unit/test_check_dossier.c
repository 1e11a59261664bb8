/* test_check_dossier.c — unit tests of the lab dossier (lib/check/dossier.c): the ICS builder on safecamd's own
 * profile (every catalogue row and every provision exactly once), the missing-field errors naming the field and
 * the clause, the derived provision statements, the profile's "ics" parser, HTML escaping of profile strings, and
 * the output directory rules (no partial dossier, no overwrite without --force). Trust level: test code. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/check.h"

/* safecamd's demo profile as a JSON object (its "ics" is the statement under test). */
static json_t *demo_json(void)
{
    const char *src = getenv("SAFECAM_SRCDIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/check/profiles/safecamd-demo.json", src);
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    return j;
}

/* Parse a profile object the way check_profile_load would; 0 or the parser's error (err). */
static int parse_json(const json_t *j, struct check_profile *p, char *err, size_t err_size)
{
    char *txt = json_dumps(j, 0);
    assert_non_null(txt);
    int rc = check_profile_parse(txt, strlen(txt), "/nonexistent", p, err, err_size);
    free(txt);
    return rc;
}

static int setup_env(void **state)
{
    (void)state;
    /* the demo profile names its passwords by environment variable; the dossier never reads them */
    setenv("QCVN_ADMIN_PASSWORD", "Unit-Test-Admin-9x", 1);
    setenv("QCVN_USER_PASSWORD", "Unit-Test-Viewer-9x", 1);
    setenv("QCVN_INITIAL_PASSWORD", "Unit-Test-Label-9x", 1);
    return 0;
}

static void test_ics_of_safecamd_profile(void **state)
{
    (void)state;
    json_t *j = demo_json();
    struct check_profile p;
    char err[512];
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    json_t *ics = NULL;
    assert_int_equal(check_ics_build(&p, &ics, err, sizeof err), 0);
    assert_non_null(ics);
    /* every catalogue row exactly once, in catalogue order, with a status and both justifications */
    size_t n;
    const struct check_test *t = check_catalogue(&n);
    json_t *rows = json_object_get(ics, "qcvn");
    assert_int_equal(json_array_size(rows), n);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rows, i);
        assert_string_equal(json_string_value(json_object_get(r, "clause")), t[i].id);
        assert_true(check_ics_status_parse(json_string_value(json_object_get(r, "status"))) >= 0);
        assert_true(strlen(json_string_value(json_object_get(r, "justification_en"))) > 10);
        assert_true(strlen(json_string_value(json_object_get(r, "justification_vi"))) > 10);
    }
    /* every provision the catalogue names exactly once, and nothing else */
    char prov[128][CHECK_PROVISION_LEN];
    size_t np = check_en303645_provisions(prov, 128);
    assert_true(np > 30 && np <= 128);
    json_t *pr = json_object_get(ics, "en303645");
    assert_int_equal(json_array_size(pr), np);
    for (size_t k = 0; k < np; k++) {
        assert_string_equal(json_string_value(json_object_get(json_array_get(pr, k), "provision")), prov[k]);
        for (size_t m = 0; m < k; m++)
            assert_string_not_equal(prov[m], prov[k]);
        int named = 0;
        for (size_t i = 0; i < n && !named; i++)
            named = strstr(t[i].en303645, prov[k]) != NULL;
        assert_true(named);
    }
    /* the standard's order: 5.3-9 before 5.3-10, 5.13-1 before 6-1 */
    size_t i9 = np, i10 = np, i13 = np, i61 = np;
    for (size_t k = 0; k < np; k++) {
        i9 = strcmp(prov[k], "5.3-9") == 0 ? k : i9;
        i10 = strcmp(prov[k], "5.3-10") == 0 ? k : i10;
        i13 = strcmp(prov[k], "5.13-1") == 0 ? k : i13;
        i61 = strcmp(prov[k], "6-1") == 0 ? k : i61;
    }
    assert_true(i9 < i10 && i10 < np);
    assert_true(i13 < i61 && i61 < np);
    /* counts add up */
    json_t *cq = json_object_get(json_object_get(ics, "counts"), "qcvn");
    assert_int_equal(json_integer_value(json_object_get(cq, "supported")) +
                         json_integer_value(json_object_get(cq, "not_supported")) +
                         json_integer_value(json_object_get(cq, "not_applicable")),
                     n);
    json_decref(ics);
    check_profile_free(&p);
    json_decref(j);
}

/* Remove member (NULL = the whole entry) of ics.<clause>, build, and expect one line naming field and clause. */
static void expect_missing(const char *clause, const char *member, const char *want1, const char *want2)
{
    json_t *j = demo_json();
    json_t *ics = json_object_get(j, "ics");
    if (member)
        json_object_del(json_object_get(ics, clause), member);
    else
        json_object_del(ics, clause);
    struct check_profile p;
    char err[512];
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    json_t *out = (json_t *)1;
    assert_int_equal(check_ics_build(&p, &out, err, sizeof err), SAFECAM_ERR_INVAL);
    assert_null(out);
    assert_non_null(strstr(err, want1));
    assert_non_null(strstr(err, want2));
    assert_null(strchr(err, '\n'));
    check_profile_free(&p);
    json_decref(j);
}

static void test_ics_missing_fields(void **state)
{
    (void)state;
    expect_missing("PW-02", "vi", "ics.PW-02.vi: missing", "QCVN 135 G1 PW-02");
    expect_missing("SC-05", NULL, "ics.SC-05: missing", "QCVN 135 G5 SC-05 (EN 303 645 5.5-4, 5.5-5)");
    expect_missing("DOC-03", "status", "ics.DOC-03.status", "QCVN 135 DOC DOC-03");
    expect_missing("UP-03", "en", "ics.UP-03.en", "G3 UP-03");
    /* the header */
    json_t *j = demo_json();
    json_object_del(json_object_get(j, "device"), "firmware_version");
    struct check_profile p;
    char err[512];
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    json_t *out = NULL;
    assert_int_equal(check_ics_build(&p, &out, err, sizeof err), SAFECAM_ERR_INVAL);
    assert_non_null(strstr(err, "device.firmware_version: missing"));
    check_profile_free(&p);
    json_decref(j);
}

static json_t *provision_row(json_t *ics, const char *prov)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(ics, "en303645"), i, r)
        if (strcmp(json_string_value(json_object_get(r, "provision")), prov) == 0)
            return r;
    fail_msg("provision %s not in the ICS", prov);
    return NULL;
}

static void test_ics_derived_provisions(void **state)
{
    (void)state;
    json_t *j = demo_json();
    json_t *ics_in = json_object_get(j, "ics");
    /* a mandatory row not supported makes its provisions not supported */
    json_object_set_new(json_object_get(ics_in, "PW-01"), "status", json_string("not_supported"));
    /* a recommended row not supported does not: VM-02 (recommended) is 5.2-1 beside mandatory VM-01 */
    json_object_set_new(json_object_get(ics_in, "VM-02"), "status", json_string("not_supported"));
    /* an explicit provision statement wins */
    json_object_set_new(ics_in, "5.13-1", json_pack("{s:s,s:s,s:s}", "status", "supported", "en", "Own statement.",
                                                    "vi", "Công bố riêng."));
    struct check_profile p;
    char err[512];
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    json_t *ics = NULL;
    assert_int_equal(check_ics_build(&p, &ics, err, sizeof err), 0);
    json_t *r = provision_row(ics, "5.1-1");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "not_supported");
    assert_true(json_is_true(json_object_get(r, "derived")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "justification_en")), "PW-01 Not supported"));
    assert_non_null(strstr(json_string_value(json_object_get(r, "justification_vi")), "PW-01: Không hỗ trợ"));
    r = provision_row(ics, "5.2-1");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "supported");
    /* IF-06 is the only row of 5.6-3 and the profile says not applicable */
    r = provision_row(ics, "5.6-3");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "not_applicable");
    r = provision_row(ics, "5.13-1");
    assert_false(json_is_true(json_object_get(r, "derived")));
    assert_string_equal(json_string_value(json_object_get(r, "justification_vi")), "Công bố riêng.");
    assert_true(json_array_size(json_object_get(r, "qcvn")) >= 6);
    json_decref(ics);
    check_profile_free(&p);
    json_decref(j);
}

static void test_ics_profile_parser(void **state)
{
    (void)state;
    struct {
        const char *ics;
        const char *want;
    } bad[] = {
        {"{\"XX-99\": {\"status\": \"supported\", \"en\": \"a\", \"vi\": \"b\"}}", "ics.XX-99: not a clause"},
        {"{\"5.3-1\": {\"status\": \"supported\", \"en\": \"a\", \"vi\": \"b\"}}", "ics.5.3-1: not a clause"},
        {"{\"PW-01\": {\"status\": \"yes\", \"en\": \"a\", \"vi\": \"b\"}}", "ics.PW-01.status: must be"},
        {"{\"PW-01\": {\"status\": \"supported\", \"en\": 3}}", "ics.PW-01.en: must be a string"},
        {"{\"PW-01\": {\"status\": \"supported\", \"note\": \"x\"}}", "ics.PW-01.note: unknown field"},
        {"{\"PW-01\": \"supported\"}", "ics.PW-01: must be an object"},
        {"{\"PW-01\": {\"en\": \"a\\u0001b\"}}", "ics.PW-01.en: control character"},
        {"[]", "ics: must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "{\"schema\": \"qcvn-check-profile/1\", \"ics\": %s}", bad[i].ics);
        struct check_profile p;
        char err[256];
        assert_int_equal(check_profile_parse(buf, strlen(buf), NULL, &p, err, sizeof err), SAFECAM_ERR_INVAL);
        if (strstr(err, bad[i].want) == NULL)
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, bad[i].want);
    }
    /* a provision the catalogue names is a valid key; absent statuses are for the builder to report */
    const char *ok = "{\"schema\": \"qcvn-check-profile/1\", \"ics\": {\"5.1-1\": {\"status\": \"supported\", "
                     "\"en\": \"a\", \"vi\": \"b\"}, \"SC-03\": {}}}";
    struct check_profile p;
    char err[256];
    assert_int_equal(check_profile_parse(ok, strlen(ok), NULL, &p, err, sizeof err), 0);
    assert_int_equal(json_object_size(p.ics), 2);
    check_profile_free(&p);
    assert_null(p.ics);
    assert_true(check_ics_clause_known("6-1"));
    assert_false(check_ics_clause_known("5.1"));
    assert_false(check_ics_clause_known(""));
}

static void test_html_escapes_profile_strings(void **state)
{
    (void)state;
    json_t *j = demo_json();
    json_object_set_new(json_object_get(json_object_get(j, "ics"), "SS-01"), "vi",
                        json_string("<script>alert(1)</script> & \"x\""));
    json_object_set_new(json_object_get(j, "device"), "vendor", json_string("<img src=x onerror=alert(2)>"));
    json_object_set_new(json_array_get(json_object_get(j, "services"), 0), "purpose", json_string("</td><b>bold"));
    struct check_profile p;
    char err[512];
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    json_t *ics = NULL;
    assert_int_equal(check_ics_build(&p, &ics, err, sizeof err), 0);
    json_t *d = json_pack("{s:o,s:o,s:{s:s}}", "ics", ics, "ixit", check_ixit_build(&p, ics), "firmware", "version",
                          p.firmware);
    json_incref(ics); /* check_ixit_build only reads it; d holds the reference json_pack stole */
    json_decref(ics);
    assert_non_null(d);
    for (int l = 0; l < 2; l++) {
        char *h = check_dossier_html(d, l ? "vi" : "en");
        assert_non_null(h);
        assert_null(strstr(h, "<script"));
        assert_null(strstr(h, "<img"));
        assert_null(strstr(h, "<b>bold"));
        assert_non_null(strstr(h, "&lt;img src=x onerror=alert(2)&gt;"));
        assert_non_null(strstr(h, "&lt;/td&gt;&lt;b&gt;bold"));
        if (l)
            assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
        free(h);
    }
    json_decref(d);
    check_profile_free(&p);
    json_decref(j);
}

static void test_dossier_write_rules(void **state)
{
    (void)state;
    char base[] = "/tmp/test_check_dossier.XXXXXX";
    assert_non_null(mkdtemp(base));
    char out[256];
    snprintf(out, sizeof out, "%s/out", base);
    json_t *j = demo_json();
    struct check_profile p;
    char err[512];
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    struct check_dossier_opts o = {.out_dir = out};
    assert_int_equal(check_dossier_write(&p, &o, err, sizeof err), 0);
    char f[320];
    snprintf(f, sizeof f, "%s/dossier.vi.html", out);
    assert_int_equal(access(f, R_OK), 0);
    snprintf(f, sizeof f, "%s/dossier.json", out);
    json_t *d = json_load_file(f, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(d, "schema")), "qcvn-check-dossier/1");
    /* never a password, even though the environment holds them */
    char *all = json_dumps(d, 0);
    assert_null(strstr(all, "Unit-Test-"));
    free(all);
    json_decref(d);
    /* a non-empty directory: refused without force; with force an earlier dossier is replaced */
    assert_int_equal(check_dossier_write(&p, &o, err, sizeof err), SAFECAM_ERR_EXISTS);
    assert_non_null(strstr(err, "not empty"));
    o.force = 1;
    assert_int_equal(check_dossier_write(&p, &o, err, sizeof err), 0);
    /* ... but a directory that holds something else is not, even with force */
    char other[256];
    snprintf(other, sizeof other, "%s/other", base);
    assert_int_equal(mkdir(other, 0755), 0);
    snprintf(f, sizeof f, "%s/keep.txt", other);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    o.out_dir = other;
    assert_int_equal(check_dossier_write(&p, &o, err, sizeof err), SAFECAM_ERR_EXISTS);
    assert_int_equal(access(f, F_OK), 0);
    check_profile_free(&p);
    /* a missing field: no dossier and no temporary directory left behind */
    json_object_del(json_object_get(j, "ics"), "IV-02");
    assert_int_equal(parse_json(j, &p, err, sizeof err), 0);
    char fresh[256];
    snprintf(fresh, sizeof fresh, "%s/fresh", base);
    o.out_dir = fresh;
    o.force = 0;
    assert_int_equal(check_dossier_write(&p, &o, err, sizeof err), SAFECAM_ERR_INVAL);
    assert_non_null(strstr(err, "ics.IV-02"));
    assert_int_not_equal(access(fresh, F_OK), 0);
    /* a bad SBOM fails the same way */
    json_t *fixed = demo_json();
    check_profile_free(&p);
    assert_int_equal(parse_json(fixed, &p, err, sizeof err), 0);
    snprintf(f, sizeof f, "%s/not-an-sbom.json", base);
    fp = fopen(f, "w");
    assert_non_null(fp);
    fputs("{\"bomFormat\": \"SPDX\"}", fp);
    fclose(fp);
    o.sbom_path = f;
    assert_int_equal(check_dossier_write(&p, &o, err, sizeof err), SAFECAM_ERR_INVAL);
    assert_non_null(strstr(err, "not a CycloneDX SBOM"));
    assert_int_not_equal(access(fresh, F_OK), 0);
    /* nothing but what the test made: no temporary directory of a failed write is left */
    DIR *dir = opendir(base);
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        assert_null(strstr(e->d_name, ".tmp-"));
        n++;
    }
    closedir(dir);
    assert_int_equal(n, 3); /* out, other, not-an-sbom.json */
    assert_int_equal(safecam_path_remove(base), 0);
    check_profile_free(&p);
    json_decref(fixed);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ics_of_safecamd_profile),   cmocka_unit_test(test_ics_missing_fields),
        cmocka_unit_test(test_ics_derived_provisions),    cmocka_unit_test(test_ics_profile_parser),
        cmocka_unit_test(test_html_escapes_profile_strings), cmocka_unit_test(test_dossier_write_rules),
    };
    return cmocka_run_group_tests(tests, setup_env, NULL);
}
