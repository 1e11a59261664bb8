/* report.c — renders the JSON report as a self-contained, printable HTML test report (TS 103 701
 * layout, Vietnamese or English), SARIF 2.1.0 and JUnit XML, and writes the fleet summary.
 * Trust level: the report holds device-supplied strings (banners, bodies): every one is escaped. */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *check_verdict_label(const char *v, const char *lang)
{
    if (!(lang && strcmp(lang, "vi") == 0))
        return v;
    if (strcmp(v, "PASS") == 0) return "ĐẠT";
    if (strcmp(v, "FAIL") == 0) return "KHÔNG ĐẠT";
    if (strcmp(v, "INCONCLUSIVE") == 0) return "CHƯA KẾT LUẬN";
    if (strcmp(v, "NOT_APPLICABLE") == 0) return "KHÔNG ÁP DỤNG";
    if (strcmp(v, "NEEDS_EVIDENCE") == 0) return "CẦN BẰNG CHỨNG";
    return v;
}

/* The fixed openings of the reasons the runner writes, in Vietnamese; the rest of a reason (device
 * facts, names) is copied as is. */
void check_sb_reason_vi(struct check_sb *b, const char *en)
{
    static const char *const tr[][2] = {
        {"Not testable over the network by qcvn-check; ask the vendor for: ",
         "qcvn-check không thể thử qua mạng; đề nghị nhà sản xuất cung cấp: "},
        {"Destructive test not run (needs --allow-destructive and the profile's consent); ask the vendor for: ",
         "Không chạy phép thử có tính phá hủy (cần --allow-destructive và sự đồng ý trong hồ sơ); đề nghị nhà sản "
         "xuất cung cấp: "},
        {"Not run: needs admin credentials (profile credentials.admin)",
         "Không chạy: cần thông tin đăng nhập quản trị (credentials.admin trong hồ sơ)"},
        {"Not run: the admin account is locked by an earlier test",
         "Không chạy: tài khoản quản trị đã bị khóa bởi một phép thử trước"},
    };
    for (size_t k = 0; k < SAFECAM_ARRAY_LEN(tr); k++) {
        size_t l = strlen(tr[k][0]);
        if (strncmp(en, tr[k][0], l) == 0) {
            check_sb_esc(b, tr[k][1]);
            check_sb_esc(b, en + l);
            return;
        }
    }
    const char *np = strstr(en, " (the profile declares none)");
    if (np != NULL && np[strlen(" (the profile declares none)")] == '\0') {
        check_sb_esc(b, "Không áp dụng: hồ sơ thiết bị khai báo không có tính năng này — ");
        check_sb_esc(b, en);
        return;
    }
    if (strstr(en, ", but the profile does not declare it absent: ") != NULL) {
        check_sb_esc(b, "Chưa kết luận: không tìm thấy hoặc không dùng được tính năng, và hồ sơ không khai báo là không có — ");
        check_sb_esc(b, en);
        return;
    }
    check_sb_esc(b, en);
}

/* The TS 103 701 reference in Vietnamese: "Test group 5.1-1 (conceptual + functional)" ->
 * "Nhóm phép thử 5.1-1 (khái niệm + chức năng)"; anything else is copied as is. */
void check_sb_ts_vi(struct check_sb *b, const char *en)
{
    static const char *const tr[][2] = {{"Test group", "Nhóm phép thử"}, {"conceptual", "khái niệm"},
                                        {"functional", "chức năng"}};
    char out[512] = "";
    size_t o = 0;
    for (const char *p = en; *p && o + 32 < sizeof out;) {
        size_t k;
        for (k = 0; k < SAFECAM_ARRAY_LEN(tr); k++) {
            size_t l = strlen(tr[k][0]);
            if (strncmp(p, tr[k][0], l) == 0) {
                size_t vl = strlen(tr[k][1]); /* < 32: fits, as o + 32 < sizeof out */
                memcpy(out + o, tr[k][1], vl);
                o += vl;
                p += l;
                break;
            }
        }
        if (k == SAFECAM_ARRAY_LEN(tr))
            out[o++] = *p++;
    }
    out[o] = '\0';
    check_sb_esc(b, out);
}

char *check_report_html(const json_t *rep, const char *lang)
{
    struct check_sb b = {0};
    const json_t *dev = json_object_get(rep, "device");
    const json_t *tgt = json_object_get(rep, "target");
    const json_t *sum = json_object_get(rep, "summary");
    const json_t *tim = json_object_get(rep, "timing");
    int vi = lang && strcmp(lang, "vi") == 0;
    check_sb_printf(&b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n", vi ? "vi" : "en");
    check_sb_puts(&b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    check_sb_esc(&b, check_L(lang, "QCVN 135:2024/BTTTT test report", "Báo cáo thử nghiệm QCVN 135:2024/BTTTT"));
    check_sb_puts(&b, " — ");
    check_sb_esc(&b, check_js(tgt, "host"));
    check_sb_puts(&b, "</title>\n<style>\n"
                "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em;color:#111;max-width:1100px}\n"
                "h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.2em;border-bottom:2px solid #333;margin-top:2em}\n"
                "table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #999;padding:.3em .5em;"
                "text-align:left;vertical-align:top;font-size:.92em}th{background:#eee}\n"
                ".v{font-weight:bold;white-space:nowrap}.PASS{color:#0a6b0a}.FAIL{color:#b00000}.INCONCLUSIVE{color:#a06000}"
                ".NOT_APPLICABLE{color:#555}.NEEDS_EVIDENCE{color:#1f4fa0}\n"
                "pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.4em;font-size:.85em;margin:.3em 0}\n"
                ".test{page-break-inside:avoid;border:1px solid #ccc;padding:.5em 1em;margin:1em 0}\n"
                "@media print{body{margin:0}.test{border:none;border-top:1px solid #999}a{color:inherit}}\n"
                "</style></head><body>\n<h1>");
    check_sb_esc(&b, check_L(lang, "Test report — QCVN 135:2024/BTTTT (ETSI EN 303 645, assessed per ETSI TS 103 701)",
                 "Báo cáo thử nghiệm — QCVN 135:2024/BTTTT (ETSI EN 303 645, đánh giá theo ETSI TS 103 701)"));
    check_sb_puts(&b, "</h1>\n<p>");
    check_sb_esc(&b, check_L(lang, "Generated by", "Tạo bởi"));
    check_sb_printf(&b, " qcvn-check %s</p>\n", check_js(json_object_get(rep, "tool"), "version"));

    check_sb_printf(&b, "<h2>1. %s</h2>\n<table>\n", check_L(lang, "Device under test", "Thiết bị được thử nghiệm"));
    const char *rows[][3] = {{"vendor", "Vendor", "Nhà sản xuất"},
                             {"model", "Model", "Kiểu (model)"},
                             {"firmware_version", "Firmware version", "Phiên bản firmware"},
                             {"serial", "Serial number", "Số sê-ri"}};
    const json_t *said = json_object_get(dev, "reported");
    check_sb_printf(&b, "<tr><th></th><th>%s</th><th>%s</th></tr>\n", check_L(lang, "Declared (profile)", "Khai báo (hồ sơ)"),
              check_L(lang, "Reported by the device", "Thiết bị tự báo"));
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(rows); i++) {
        check_sb_puts(&b, "<tr><th>");
        check_sb_esc(&b, check_L(lang, rows[i][1], rows[i][2]));
        check_sb_puts(&b, "</th><td>");
        check_sb_esc(&b, check_js(dev, rows[i][0])[0] ? check_js(dev, rows[i][0]) : "—");
        const char *d = check_js(said, rows[i][0]);
        int mism = d[0] && check_js(dev, rows[i][0])[0] && strcmp(d, check_js(dev, rows[i][0])) != 0;
        check_sb_printf(&b, "</td><td%s>", mism ? " class=\"v FAIL\"" : "");
        check_sb_esc(&b, d[0] ? d : "—");
        if (mism)
            check_sb_printf(&b, " (%s)", check_L(lang, "MISMATCH", "KHÔNG KHỚP"));
        check_sb_puts(&b, "</td></tr>\n");
    }
    if (said == NULL && check_js(dev, "reported_unavailable")[0]) {
        check_sb_printf(&b, "<tr><th></th><td colspan=\"2\">%s: ", check_L(lang, "Not asked to the device", "Chưa hỏi thiết bị"));
        const char *why = check_js(dev, "reported_unavailable");
        const char *why_vi = check_i18n_vi(why);
        check_sb_esc(&b, lang && strcmp(lang, "vi") == 0 && why_vi ? why_vi : why);
        check_sb_puts(&b, "</td></tr>\n");
    }
    check_sb_printf(&b, "<tr><th>%s</th><td>", check_L(lang, "Target", "Địa chỉ thử nghiệm"));
    check_sb_esc(&b, check_js(tgt, "host"));
    check_sb_puts(&b, " (");
    check_sb_esc(&b, check_js(tgt, "address"));
    check_sb_puts(&b, ")</td></tr>\n");
    check_sb_printf(&b, "<tr><th>%s</th><td>", check_L(lang, "Test period", "Thời gian thử nghiệm"));
    check_sb_esc(&b, check_js(rep, "started"));
    check_sb_puts(&b, " — ");
    check_sb_esc(&b, check_js(rep, "finished"));
    check_sb_printf(&b, " (%lld s; %s %lld s)</td></tr>\n", (long long)json_integer_value(json_object_get(tim, "total_ms")) / 1000,
              check_L(lang, "of which pacing/lockout waits", "trong đó chờ giãn cách/khóa"),
              (long long)(json_integer_value(json_object_get(tim, "pacing_wait_ms")) +
                          json_integer_value(json_object_get(tim, "lockout_wait_ms"))) / 1000);
    check_sb_puts(&b, "</table>\n");

    check_sb_printf(&b, "<h2>2. %s</h2>\n", check_L(lang, "Summary per QCVN group", "Tóm tắt theo nhóm yêu cầu QCVN"));
    {
        long long mf = json_integer_value(json_object_get(sum, "mandatory_fail"));
        long long mu = json_integer_value(json_object_get(sum, "mandatory_undecided"));
        long long mp = json_integer_value(json_object_get(sum, "mandatory_pass"));
        /* green only when no mandatory test FAILs or is undecided */
        const char *cls = mf ? "FAIL" : mu ? "INCONCLUSIVE" : "PASS";
        check_sb_printf(&b, "<p class=\"v %s\">%s: ", cls, check_L(lang, "Overall (mandatory tests)", "Kết luận chung (phép thử bắt buộc)"));
        check_sb_printf(&b, "%lld %s · %lld %s · %lld %s</p>\n", mf, check_L(lang, "FAIL", "KHÔNG ĐẠT"), mu,
                  check_L(lang, "not yet decided (INCONCLUSIVE + NEEDS_EVIDENCE)", "chưa kết luận (CHƯA KẾT LUẬN + CẦN BẰNG CHỨNG)"),
                  mp, check_L(lang, "PASS", "ĐẠT"));
        check_sb_printf(&b, "<p>%s</p>\n",
                  mf ? check_L(lang, "At least one mandatory test FAILED: the device does not conform.",
                         "Có ít nhất một phép thử bắt buộc KHÔNG ĐẠT: thiết bị không phù hợp.")
                     : mu ? check_L(lang, "No mandatory test failed, but conformity is NOT established: the undecided tests "
                                    "need the evidence or inputs named in their results.",
                              "Không có phép thử bắt buộc nào không đạt, nhưng CHƯA xác lập được sự phù hợp: các phép "
                              "thử chưa kết luận cần bằng chứng hoặc dữ liệu nêu trong kết quả của chúng.")
                          : check_L(lang, "Every mandatory test passed.", "Mọi phép thử bắt buộc đều đạt."));
    }
    check_sb_puts(&b, "<table><tr><th>");
    check_sb_esc(&b, check_L(lang, "Group", "Nhóm"));
    static const char *const vn[] = {"PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "NEEDS_EVIDENCE"};
    for (size_t i = 0; i < 5; i++) {
        check_sb_puts(&b, "</th><th>");
        check_sb_esc(&b, check_verdict_label(vn[i], lang));
    }
    check_sb_puts(&b, "</th></tr>\n");
    static const char *const order[] = {"G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "G10", "G11", "DOC"};
    const json_t *groups = json_object_get(sum, "groups");
    for (size_t gi = 0; gi < SAFECAM_ARRAY_LEN(order); gi++) {
        const json_t *g = json_object_get(groups, order[gi]);
        if (g == NULL)
            continue;
        check_sb_printf(&b, "<tr><td>%s — ", order[gi]);
        check_sb_esc(&b, check_group_title(order[gi], lang));
        check_sb_puts(&b, "</td>");
        for (size_t i = 0; i < 5; i++) {
            long long n = json_integer_value(json_object_get(g, vn[i]));
            check_sb_printf(&b, "<td class=\"%s\">%lld</td>", n && i == 1 ? "v FAIL" : "", n);
        }
        check_sb_puts(&b, "</tr>\n");
    }
    check_sb_puts(&b, "</table>\n");

    check_sb_printf(&b, "<h2>3. %s</h2>\n", check_L(lang, "Test results", "Kết quả từng phép thử"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(rep, "results"), i, t) {
        const char *v = check_js(t, "verdict");
        check_sb_printf(&b, "<div class=\"test\" id=\"%s\"><h3>", check_js(t, "id"));
        check_sb_esc(&b, check_js(t, "id"));
        check_sb_puts(&b, " — ");
        check_sb_esc(&b, vi ? check_js(t, "title_vi") : check_js(t, "title_en"));
        check_sb_printf(&b, " <span class=\"v %s\">[", v);
        check_sb_esc(&b, check_verdict_label(v, lang));
        check_sb_puts(&b, "]</span></h3>\n<table>");
        check_sb_printf(&b, "<tr><th>%s</th><td>", check_L(lang, "QCVN group", "Nhóm QCVN"));
        check_sb_esc(&b, check_js(t, "group"));
        check_sb_printf(&b, "</td><th>EN 303 645</th><td>");
        check_sb_esc(&b, check_js(t, "en303645"));
        check_sb_printf(&b, "</td></tr><tr><th>TS 103 701</th><td>");
        if (vi)
            check_sb_ts_vi(&b, check_js(t, "ts103701"));
        else
            check_sb_esc(&b, check_js(t, "ts103701"));
        check_sb_printf(&b, "</td><th>%s</th><td>", check_L(lang, "Level", "Mức"));
        check_sb_esc(&b, strcmp(check_js(t, "level"), "mandatory") == 0 ? check_L(lang, "mandatory", "bắt buộc") : check_L(lang, "recommended", "khuyến nghị"));
        check_sb_printf(&b, "</td></tr><tr><th>%s</th><td colspan=\"3\">", check_L(lang, "Result", "Kết quả"));
        if (vi && check_js(t, "reason_vi")[0])
            check_sb_esc(&b, check_js(t, "reason_vi"));
        else if (vi)
            check_sb_reason_vi(&b, check_js(t, "reason"));
        else
            check_sb_esc(&b, check_js(t, "reason"));
        check_sb_puts(&b, "</td></tr></table>\n");
        json_t *ev = json_object_get(t, "evidence");
        if (json_array_size(ev)) {
            check_sb_printf(&b, "<details%s><summary>%s (%zu)</summary><pre>", strcmp(v, "FAIL") == 0 ? " open" : "",
                      check_L(lang, "Evidence", "Bằng chứng"), json_array_size(ev));
            size_t k;
            json_t *e;
            json_array_foreach(ev, k, e) {
                check_sb_esc(&b, json_string_value(e));
                check_sb_puts(&b, "\n");
            }
            check_sb_puts(&b, "</pre></details>\n");
        }
        check_sb_puts(&b, "</div>\n");
    }
    /* the long profile echo last, as an annex */
    check_sb_printf(&b, "<h2>4. %s</h2>\n<pre>", check_L(lang, "Profile (ICS/IXIT) as used", "Hồ sơ thiết bị (ICS/IXIT) đã dùng"));
    char *pe = json_dumps(json_object_get(rep, "profile"), JSON_INDENT(2) | JSON_SORT_KEYS);
    check_sb_esc(&b, pe);
    free(pe);
    check_sb_puts(&b, "</pre>\n");
    check_sb_puts(&b, "</body></html>\n");
    return check_sb_done(&b);
}

char *check_report_sarif(const json_t *rep)
{
    json_t *rules = json_array();
    json_t *results = json_array();
    const json_t *tgt = json_object_get(rep, "target");
    char uri[160];
    IGN_FMT(uri, sizeof uri, "%s://%s:%lld/", json_is_true(json_object_get(tgt, "web_tls")) ? "https" : "http",
                      check_js(tgt, "address"), (long long)json_integer_value(json_object_get(tgt, "web_port")));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(rep, "results"), i, t) {
        const char *v = check_js(t, "verdict");
        json_t *rule = json_pack("{s:s,s:s,s:{s:s},s:{s:s},s:{s:s,s:s,s:s,s:s,s:s}}", "id", check_js(t, "id"), "name",
                                 check_js(t, "id"), "shortDescription", "text", check_js(t, "title_en"), "fullDescription", "text",
                                 check_js(t, "title_vi"), "properties", "qcvnGroup", check_js(t, "group"), "en303645",
                                 check_js(t, "en303645"), "ts103701", check_js(t, "ts103701"), "level", check_js(t, "level"), "titleVi",
                                 check_js(t, "title_vi"));
        json_array_append_new(rules, rule);
        const char *level = "none", *kind = "pass";
        if (strcmp(v, "FAIL") == 0) {
            kind = "fail";
            level = strcmp(check_js(t, "level"), "mandatory") == 0 ? "error" : "warning";
        } else if (strcmp(v, "INCONCLUSIVE") == 0) {
            kind = "review";
            level = "note";
        } else if (strcmp(v, "NEEDS_EVIDENCE") == 0) {
            kind = "review";
            level = "note";
        } else if (strcmp(v, "NOT_APPLICABLE") == 0) {
            kind = "notApplicable";
        }
        char msg[1024];
        IGN_FMT(msg, sizeof msg, "%s: %s", v, check_js(t, "reason"));
        json_t *res = json_pack("{s:s,s:I,s:s,s:s,s:{s:s},s:[{s:{s:{s:s}}}],s:{s:s,s:O}}", "ruleId", check_js(t, "id"),
                                "ruleIndex", (json_int_t)i, "kind", kind, "level", level, "message", "text", msg,
                                "locations", "physicalLocation", "artifactLocation", "uri", uri, "properties", "verdict",
                                v, "evidence", json_object_get(t, "evidence"));
        json_array_append_new(results, res);
    }
    json_t *sarif = json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s,s:o}},s:o,s:[{s:b}]}]}", "$schema",
                              "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs", "tool",
                              "driver", "name", "qcvn-check", "version", check_js(json_object_get(rep, "tool"), "version"),
                              "informationUri", "https://example.invalid/safecam/docs/qcvn-check.md", "rules", rules,
                              "results", results, "invocations", "executionSuccessful", 1);
    char *s = sarif ? json_dumps(sarif, JSON_INDENT(2)) : NULL;
    json_decref(sarif);
    return s;
}

char *check_report_junit(const json_t *rep)
{
    struct check_sb b = {0};
    const json_t *sum = json_object_get(rep, "summary");
    long long total = json_array_size(json_object_get(rep, "results"));
    check_sb_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    check_sb_printf(&b, "<testsuites name=\"qcvn-check\" tests=\"%lld\" failures=\"%lld\" time=\"%.3f\">\n", total,
              (long long)json_integer_value(json_object_get(sum, "FAIL")),
              (double)json_integer_value(json_object_get(json_object_get(rep, "timing"), "total_ms")) / 1000.0);
    static const char *const order[] = {"G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "G10", "G11", "DOC"};
    for (size_t gi = 0; gi < SAFECAM_ARRAY_LEN(order); gi++) {
        const json_t *g = json_object_get(json_object_get(sum, "groups"), order[gi]);
        if (g == NULL)
            continue;
        long long tests = 0;
        static const char *const vn[] = {"PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "NEEDS_EVIDENCE"};
        for (size_t k = 0; k < 5; k++)
            tests += json_integer_value(json_object_get(g, vn[k]));
        check_sb_printf(&b, "  <testsuite name=\"%s ", order[gi]);
        check_sb_esc(&b, check_group_title(order[gi], "en"));
        check_sb_printf(&b, "\" tests=\"%lld\" failures=\"%lld\" skipped=\"%lld\">\n", tests,
                  (long long)json_integer_value(json_object_get(g, "FAIL")),
                  tests - json_integer_value(json_object_get(g, "FAIL")) - json_integer_value(json_object_get(g, "PASS")));
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(rep, "results"), i, t) {
            if (strcmp(check_js(t, "group"), order[gi]) != 0)
                continue;
            const char *v = check_js(t, "verdict");
            check_sb_puts(&b, "    <testcase classname=\"qcvn135.");
            check_sb_esc(&b, order[gi]);
            check_sb_puts(&b, "\" name=\"");
            check_sb_esc(&b, check_js(t, "id"));
            check_sb_puts(&b, " ");
            check_sb_esc(&b, check_js(t, "title_en"));
            check_sb_printf(&b, "\" time=\"%.3f\">\n", (double)json_integer_value(json_object_get(t, "duration_ms")) / 1000.0);
            if (strcmp(v, "FAIL") == 0) {
                check_sb_puts(&b, "      <failure type=\"");
                check_sb_esc(&b, check_js(t, "level"));
                check_sb_puts(&b, "\" message=\"");
                check_sb_esc(&b, check_js(t, "reason"));
                check_sb_puts(&b, "\"/>\n");
            } else if (strcmp(v, "PASS") != 0) {
                check_sb_puts(&b, "      <skipped message=\"");
                check_sb_esc(&b, v);
                check_sb_puts(&b, ": ");
                check_sb_esc(&b, check_js(t, "reason"));
                check_sb_puts(&b, "\"/>\n");
            }
            check_sb_puts(&b, "      <system-out>");
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(t, "evidence"), k, e) {
                check_sb_esc(&b, json_string_value(e));
                check_sb_puts(&b, "\n");
            }
            check_sb_puts(&b, "</system-out>\n    </testcase>\n");
        }
        check_sb_puts(&b, "  </testsuite>\n");
    }
    check_sb_puts(&b, "</testsuites>\n");
    return check_sb_done(&b);
}

static int write_str(const char *dir, const char *name, char *s)
{
    if (s == NULL)
        return SAFECAM_ERR_NOMEM;
    char path[CHECK_PATH];
    int rc = safecam_path_join(path, sizeof path, dir, name);
    if (rc == 0)
        rc = safecam_file_write_atomic(path, s, strlen(s), 0644);
    free(s);
    return rc;
}

int check_report_write(const json_t *rep, const char *dir, unsigned formats, const char *lang)
{
    int rc = safecam_mkdir_p(dir, 0755);
    if (rc != 0)
        return rc;
    if ((formats & CHECK_FMT_JSON) && (rc = write_str(dir, "report.json", json_dumps(rep, JSON_INDENT(2)))) != 0)
        return rc;
    if ((formats & CHECK_FMT_HTML) && (rc = write_str(dir, "report.html", check_report_html(rep, lang))) != 0)
        return rc;
    if ((formats & CHECK_FMT_SARIF) && (rc = write_str(dir, "report.sarif", check_report_sarif(rep))) != 0)
        return rc;
    if ((formats & CHECK_FMT_JUNIT) && (rc = write_str(dir, "report.junit.xml", check_report_junit(rep))) != 0)
        return rc;
    return 0;
}

int check_fleet_write(json_t *entries, const char *dir, const char *lang)
{
    json_t *fleet = json_object();
    json_t *devs = json_array();
    int failing = 0, errors = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        json_t *rep = json_object_get(e, "report");
        json_t *d = json_pack("{s:s,s:s}", "target", check_js(e, "target"), "dir", check_js(e, "dir"));
        if (json_is_object(rep)) {
            json_t *sum = json_object_get(rep, "summary");
            int mf = json_integer_value(json_object_get(sum, "mandatory_fail")) > 0;
            int mu = json_integer_value(json_object_get(sum, "mandatory_undecided")) > 0;
            failing += mf;
            json_object_set_new(d, "result", json_string(mf ? "FAIL" : mu ? "UNDECIDED" : "PASS"));
            json_object_set(d, "summary", sum);
            json_object_set(d, "device", json_object_get(rep, "device"));
            json_object_set(d, "total_ms", json_object_get(json_object_get(rep, "timing"), "total_ms"));
        } else {
            errors++;
            json_object_set_new(d, "result", json_string("ERROR"));
            json_object_set_new(d, "error", json_string(check_js(e, "error")));
        }
        json_array_append_new(devs, d);
    }
    json_object_set_new(fleet, "schema", json_string("qcvn-check-fleet/1"));
    json_object_set_new(fleet, "devices", json_integer((json_int_t)json_array_size(entries)));
    json_object_set_new(fleet, "failing", json_integer(failing));
    json_object_set_new(fleet, "errors", json_integer(errors));
    json_object_set_new(fleet, "results", devs);
    int rc = safecam_mkdir_p(dir, 0755);
    if (rc == 0)
        rc = write_str(dir, "fleet.json", json_dumps(fleet, JSON_INDENT(2)));
    if (rc == 0) {
        struct check_sb b = {0};
        check_sb_printf(&b, "<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\"><title>qcvn-check fleet</title>"
                  "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #999;padding:.3em .6em}.FAIL,.ERROR{color:#b00000;font-weight:bold}"
                  ".PASS{color:#0a6b0a;font-weight:bold}</style></head><body><h1>%s</h1><table><tr><th>%s</th><th>%s</th>"
                  "<th>FAIL</th><th>%s</th></tr>\n", lang && strcmp(lang, "vi") == 0 ? "vi" : "en",
                  check_L(lang, "Fleet summary — QCVN 135:2024/BTTTT", "Tổng hợp nhiều thiết bị — QCVN 135:2024/BTTTT"),
                  check_L(lang, "Target", "Thiết bị"), check_L(lang, "Result", "Kết quả"), check_L(lang, "Report", "Báo cáo"));
        json_array_foreach(devs, i, e) {
            check_sb_puts(&b, "<tr><td>");
            check_sb_esc(&b, check_js(e, "target"));
            check_sb_printf(&b, "</td><td class=\"%s\">%s</td><td>%lld</td><td><a href=\"", check_js(e, "result"), check_js(e, "result"),
                      (long long)json_integer_value(json_object_get(json_object_get(e, "summary"), "FAIL")));
            check_sb_esc(&b, check_js(e, "dir"));
            check_sb_puts(&b, "/report.html\">report</a></td></tr>\n");
        }
        check_sb_puts(&b, "</table></body></html>\n");
        rc = write_str(dir, "fleet.html", check_sb_done(&b));
    }
    json_decref(fleet);
    return rc;
}
