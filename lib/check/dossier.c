/* dossier.c — the lab dossier of a device (qcvn-check dossier): the ICS (implementation conformance statement:
 * every QCVN 135 row of the catalogue and every EN 303 645 provision it names, supported / not supported / not
 * applicable with the vendor's justification), the IXIT (implementation extra information for testing: interfaces,
 * ports, authentication, update, secret storage, deletion, test hooks), the firmware identity (SHA-256 of the bundle,
 * the SBOM and its component count, the version) and the checker's own report, as JSON and as one printable HTML
 * per language (a page per QCVN test group, laid out like an ETSI TS 103 701 assessment).
 * Trust level: runs on the lab's machine; the profile is parsed strictly by profile.c, the report and the SBOM are
 * size-capped JSON files read with jansson and only their expected members used; every string reaches HTML escaped. */
#include "check_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOSSIER_SCHEMA "qcvn-check-dossier/1"
#define DOSSIER_JSON_MAX ((size_t)32 * 1024 * 1024) /* report.json, SBOM */
#define DOSSIER_IMAGE_MAX ((uint64_t)8 * 1024 * 1024 * 1024) /* firmware bundle or image hashed */
#define DOSSIER_MAX_PROVISIONS 128

/* ---- ICS statuses and clauses ---- */

static const char *const status_names[] = {"supported", "not_supported", "not_applicable"};

int check_ics_status_parse(const char *s)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(status_names); i++)
        if (s != NULL && strcmp(s, status_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *check_ics_status_name(enum check_ics_status s)
{
    return (size_t)s < SAFECAM_ARRAY_LEN(status_names) ? status_names[s] : "not_supported";
}

static const char *status_label(const char *s, const char *lang)
{
    switch (check_ics_status_parse(s)) {
    case CHECK_ICS_SUPPORTED: return check_L(lang, "Supported", "Có hỗ trợ");
    case CHECK_ICS_NOT_SUPPORTED: return check_L(lang, "Not supported", "Không hỗ trợ");
    case CHECK_ICS_NOT_APPLICABLE: return check_L(lang, "Not applicable", "Không áp dụng");
    }
    return s;
}

/* "5.1-12" -> 5, 1, 12; "6-3" -> 6, 0, 3. 0, or -1 when it is not a provision number. */
static int provision_split(const char *s, size_t len, int v[3])
{
    int part = 0, have = 0;
    v[0] = v[1] = v[2] = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (v[part] > 99)
                return -1;
            v[part] = v[part] * 10 + (c - '0');
            have = 1;
        } else if (c == '.' && part == 0 && have) {
            part = 1;
            have = 0;
        } else if (c == '-' && part < 2 && have) {
            part = 2;
            have = 0;
        } else {
            return -1;
        }
    }
    return part == 2 && have ? 0 : -1;
}

static int provision_cmp(const void *a, const void *b)
{
    int x[3], y[3];
    if (provision_split(a, strlen(a), x) != 0 || provision_split(b, strlen(b), y) != 0)
        return strcmp(a, b);
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* 1 when the comma list of provisions ("5.1-3, 5.4-1") names prov. */
static int list_has(const char *list, const char *prov)
{
    size_t pl = strlen(prov);
    for (const char *s = list; s != NULL && *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && t[-1] == ' ')
            t--;
        if ((size_t)(t - s) == pl && memcmp(s, prov, pl) == 0)
            return 1;
        s = e;
    }
    return 0;
}

size_t check_en303645_provisions(char (*out)[CHECK_PROVISION_LEN], size_t cap)
{
    char all[DOSSIER_MAX_PROVISIONS][CHECK_PROVISION_LEN];
    size_t n_all = 0, n_tests;
    const struct check_test *t = check_catalogue(&n_tests);
    for (size_t i = 0; i < n_tests; i++) {
        for (const char *s = t[i].en303645; *s;) {
            while (*s == ' ' || *s == ',')
                s++;
            const char *e = s;
            while (*e && *e != ',' && *e != ' ')
                e++;
            size_t len = (size_t)(e - s);
            int v[3];
            if (len > 0 && len < CHECK_PROVISION_LEN && provision_split(s, len, v) == 0) {
                int dup = 0;
                for (size_t k = 0; k < n_all && !dup; k++)
                    dup = strlen(all[k]) == len && memcmp(all[k], s, len) == 0;
                if (!dup && n_all < DOSSIER_MAX_PROVISIONS) {
                    memcpy(all[n_all], s, len);
                    all[n_all][len] = '\0';
                    n_all++;
                }
            }
            s = e;
        }
    }
    qsort(all, n_all, sizeof all[0], provision_cmp);
    for (size_t i = 0; i < n_all && i < cap; i++)
        memcpy(out[i], all[i], CHECK_PROVISION_LEN);
    return n_all;
}

int check_ics_clause_known(const char *key)
{
    if (key == NULL)
        return 0;
    if (check_catalogue_find(key) != NULL)
        return 1;
    char prov[DOSSIER_MAX_PROVISIONS][CHECK_PROVISION_LEN];
    size_t n = check_en303645_provisions(prov, DOSSIER_MAX_PROVISIONS);
    for (size_t i = 0; i < n && i < DOSSIER_MAX_PROVISIONS; i++)
        if (strcmp(prov[i], key) == 0)
            return 1;
    return 0;
}

/* ---- the ICS ---- */

/* The profile's statement for a clause: 0 with the three strings, or the name of the first missing member
 * ("" = the whole entry) in *missing. */
static int ics_entry(const struct check_profile *p, const char *key, const char **status, const char **en,
                     const char **vi, const char **missing)
{
    const json_t *e = json_object_get(p->ics, key);
    *status = *en = *vi = NULL;
    if (!json_is_object(e)) {
        *missing = "";
        return -1;
    }
    *status = json_string_value(json_object_get(e, "status"));
    *en = json_string_value(json_object_get(e, "en"));
    *vi = json_string_value(json_object_get(e, "vi"));
    *missing = *status == NULL || check_ics_status_parse(*status) < 0 ? "status"
               : *en == NULL || (*en)[0] == '\0'                     ? "en"
               : *vi == NULL || (*vi)[0] == '\0'                     ? "vi"
                                                                     : NULL;
    return *missing ? -1 : 0;
}

static void count_status(json_t *counts, const char *status)
{
    json_t *c = json_object_get(counts, status);
    json_object_set_new(counts, status, json_integer(json_integer_value(c) + 1));
}

int check_ics_build(const struct check_profile *p, json_t **out, char *err, size_t err_size)
{
    *out = NULL;
    if (err && err_size)
        err[0] = '\0';
    static const struct {
        const char *field;
        size_t off;
    } head[] = {{"vendor", offsetof(struct check_profile, vendor)},
                {"model", offsetof(struct check_profile, model)},
                {"firmware_version", offsetof(struct check_profile, firmware)}};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(head); i++) {
        if (((const char *)p + head[i].off)[0] == '\0') {
            if (err)
                IGN_FMT(err, err_size, "profile: device.%s: missing; the ICS needs it to identify the device under test",
                        head[i].field);
            return SAFECAM_ERR_INVAL;
        }
    }
    size_t n_tests;
    const struct check_test *t = check_catalogue(&n_tests);
    json_t *ics = json_object(), *rows = json_array(), *provs = json_array();
    json_t *cq = json_pack("{s:i,s:i,s:i}", "supported", 0, "not_supported", 0, "not_applicable", 0);
    json_t *cp = json_pack("{s:i,s:i,s:i}", "supported", 0, "not_supported", 0, "not_applicable", 0);
    if (ics == NULL || rows == NULL || provs == NULL || cq == NULL || cp == NULL)
        goto nomem;
    json_object_set_new(ics, "qcvn", rows);
    json_object_set_new(ics, "en303645", provs);
    json_object_set_new(ics, "counts", json_pack("{s:o,s:o}", "qcvn", cq, "en303645", cp));
    for (size_t i = 0; i < n_tests; i++) {
        const char *st, *en, *vi, *missing;
        if (ics_entry(p, t[i].id, &st, &en, &vi, &missing) != 0) {
            if (err)
                IGN_FMT(err, err_size, "profile: ics.%s%s%s: missing; the ICS needs it for QCVN 135 %s %s (EN 303 645 %s)",
                        t[i].id, missing[0] ? "." : "", missing, t[i].group, t[i].id, t[i].en303645);
            json_decref(ics);
            return SAFECAM_ERR_INVAL;
        }
        json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "clause", t[i].id, "group", t[i].group,
                              "title_en", t[i].title_en, "title_vi", t[i].title_vi, "level",
                              t[i].level == CHECK_MANDATORY ? "mandatory" : "recommended", "en303645", t[i].en303645,
                              "ts103701", t[i].ts103701, "status", st, "justification_en", en, "justification_vi", vi,
                              "tested_by", t[i].run ? "qcvn-check" : "vendor evidence");
        if (r == NULL || json_array_append_new(rows, r) != 0)
            goto nomem;
        count_status(cq, st);
    }
    char prov[DOSSIER_MAX_PROVISIONS][CHECK_PROVISION_LEN];
    size_t n_prov = check_en303645_provisions(prov, DOSSIER_MAX_PROVISIONS);
    for (size_t k = 0; k < n_prov && k < DOSSIER_MAX_PROVISIONS; k++) {
        json_t *mapped = json_array();
        int n_map = 0, n_na = 0, mand_ns = 0;
        char why_en[1024] = "", why_vi[1536] = "";
        size_t le = 0, lv = 0;
        for (size_t i = 0; i < n_tests && mapped; i++) {
            if (!list_has(t[i].en303645, prov[k]))
                continue;
            const char *st, *en, *vi, *missing;
            if (ics_entry(p, t[i].id, &st, &en, &vi, &missing) != 0)
                continue; /* not reached: every row was checked above */
            json_array_append_new(mapped, json_string(t[i].id));
            n_map++;
            int s = check_ics_status_parse(st);
            n_na += s == CHECK_ICS_NOT_APPLICABLE;
            mand_ns |= s == CHECK_ICS_NOT_SUPPORTED && t[i].level == CHECK_MANDATORY;
            int a = snprintf(why_en + le, sizeof why_en - le, "%s%s %s", n_map > 1 ? ", " : "", t[i].id,
                             status_label(st, "en"));
            if (a > 0 && (size_t)a < sizeof why_en - le)
                le += (size_t)a;
            int b = snprintf(why_vi + lv, sizeof why_vi - lv, "%s%s: %s", n_map > 1 ? "; " : "", t[i].id,
                             status_label(st, "vi"));
            if (b > 0 && (size_t)b < sizeof why_vi - lv)
                lv += (size_t)b;
        }
        if (mapped == NULL)
            goto nomem;
        const char *st, *en, *vi, *missing;
        json_t *r;
        if (json_object_get(p->ics, prov[k]) != NULL) {
            if (ics_entry(p, prov[k], &st, &en, &vi, &missing) != 0) {
                if (err)
                    IGN_FMT(err, err_size, "profile: ics.%s.%s: missing; the ICS needs it for EN 303 645 provision %s",
                            prov[k], missing, prov[k]);
                json_decref(mapped);
                json_decref(ics);
                return SAFECAM_ERR_INVAL;
            }
            r = json_pack("{s:s,s:s,s:s,s:s,s:o,s:b}", "provision", prov[k], "status", st, "justification_en", en,
                          "justification_vi", vi, "qcvn", mapped, "derived", 0);
        } else {
            st = n_na == n_map ? "not_applicable" : mand_ns ? "not_supported" : "supported";
            char e2[1200], v2[1800];
            IGN_FMT(e2, sizeof e2, "From the QCVN 135 rows that map to it: %s.", why_en);
            IGN_FMT(v2, sizeof v2, "Suy ra từ các mục QCVN 135 tương ứng: %s.", why_vi);
            r = json_pack("{s:s,s:s,s:s,s:s,s:o,s:b}", "provision", prov[k], "status", st, "justification_en", e2,
                          "justification_vi", v2, "qcvn", mapped, "derived", 1);
        }
        if (r == NULL || json_array_append_new(provs, r) != 0)
            goto nomem;
        count_status(cp, st);
    }
    *out = ics;
    return 0;
nomem:
    json_decref(ics);
    if (err)
        IGN_FMT(err, err_size, "dossier: out of memory");
    return SAFECAM_ERR_NOMEM;
}

/* ---- the IXIT ---- */

/* The file name of a path the profile resolved on the lab's machine (its directories are no device fact). */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static json_t *request_json(const char *method, const char *path)
{
    return path[0] ? json_pack("{s:s,s:s}", "method", method, "path", path) : json_null();
}

/* The ICS rows of one QCVN group, as the IXIT quotes them (secret storage G4, deletion G9). */
static json_t *statements_of(const json_t *ics, const char *group)
{
    json_t *a = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(ics, "qcvn"), i, r) {
        if (strcmp(check_js(r, "group"), group) == 0)
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "clause", check_js(r, "clause"), "title_en",
                                               check_js(r, "title_en"), "title_vi", check_js(r, "title_vi"), "status",
                                               check_js(r, "status"), "justification_en", check_js(r, "justification_en"),
                                               "justification_vi", check_js(r, "justification_vi")));
    }
    return a;
}

json_t *check_ixit_build(const struct check_profile *p, const json_t *ics)
{
    json_t *svcs = json_array(), *rtsp = json_array(), *eps = json_array(), *cmp = json_array();
    for (size_t i = 0; i < p->n_services && svcs; i++)
        json_array_append_new(svcs, json_pack("{s:i,s:s,s:s,s:s}", "port", p->services[i].port, "protocol",
                                              p->services[i].udp ? "udp" : "tcp", "service",
                                              check_service_kind_name(p->services[i].kind), "purpose",
                                              p->services[i].purpose));
    for (size_t i = 0; i < p->n_rtsp_paths && rtsp; i++)
        json_array_append_new(rtsp, json_string(p->rtsp_paths[i]));
    for (size_t i = 0; i < p->n_endpoints && eps; i++)
        json_array_append_new(eps, json_pack("{s:s,s:s,s:b}", "method", p->endpoints[i].method, "path",
                                             p->endpoints[i].path, "admin_only", p->endpoints[i].admin_only));
    for (size_t i = 0; i < p->n_restart_compare && cmp; i++)
        json_array_append_new(cmp, json_string(p->restart_compare[i]));
    json_t *login = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", p->login_type, "path", p->login_path,
                              "username_field", p->user_field, "password_field", p->pass_field, "csrf_field",
                              p->csrf_field, "csrf_header", p->csrf_header, "session_cookie", p->session_cookie,
                              "change_required_field", p->change_required_field);
    json_t *auth = json_pack("{s:o,s:o,s:o,s:{s:I,s:I,s:I,s:s},s:{s:I,s:I},s:b}", "login", login, "logout",
                             request_json(p->logout_method, p->logout_path), "password_change",
                             p->pwchange_path[0] ? json_pack("{s:s,s:s,s:s,s:s}", "method", p->pwchange_method, "path",
                                                             p->pwchange_path, "current_field", p->pwchange_current_field,
                                                             "new_field", p->pwchange_new_field)
                                                 : json_null(),
                             "lockout", "threshold", (json_int_t)p->lockout_threshold, "window_s",
                             (json_int_t)p->lockout_window_s, "duration_s", (json_int_t)p->lockout_duration_s, "scope",
                             p->lockout_per_account ? "account" : "source", "sessions", "idle_timeout_s",
                             (json_int_t)p->idle_timeout_s, "absolute_timeout_s", (json_int_t)p->absolute_timeout_s,
                             "single_role", p->single_role);
    json_t *update = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "method", p->update_method, "path", p->update_path,
                               "content_type", p->update_content_type[0] ? p->update_content_type : "application/octet-stream",
                               "version_path", p->update_version_path[0] ? p->update_version_path : p->authed_path,
                               "bundle_file", base_name(p->update_bundle_file), "older_bundle_file",
                               base_name(p->update_older_bundle_file));
    if (update)
        json_object_set_new(update, "statements", statements_of(ics, "G3"));
    json_t *del = json_pack("{s:o,s:o,s:o,s:o,s:s,s:o}", "seed", request_json(p->del_seed.method, p->del_seed.path),
                            "list", request_json(p->del_list.method, p->del_list.path), "delete_one",
                            request_json(p->del_one.method, p->del_one.path), "factory_reset",
                            request_json(p->del_reset.method, p->del_reset.path), "confirm_field", p->del_confirm_field,
                            "statements", statements_of(ics, "G9"));
    json_t *hooks = json_pack(
        "{s:s,s:s,s:o,s:{s:s,s:s,s:s,s:s,s:s},s:b,s:{s:b,s:b,s:b,s:b},s:o,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s}}",
        "authenticated_probe", p->authed_path, "events", p->events_path, "protected_endpoints", eps, "accounts",
        "admin", p->admin.present ? p->admin.username : "", "admin_password", p->admin.present ? "provided" : "absent",
        "user", p->user.present ? p->user.username : "", "user_password", p->user.present ? "provided" : "absent",
        "initial_password", p->initial_declared ? "provided" : "absent", "factory_state", p->factory_state, "consent",
        "destructive", p->consent_destructive, "restart", p->consent_restart, "deletion", p->consent_deletion,
        "factory_reset", p->consent_factory_reset, "restart",
        p->restart_path[0] ? json_pack("{s:s,s:s,s:o}", "method", p->restart_method, "path", p->restart_path, "compare",
                                       json_incref(cmp))
                           : json_null(),
        "tls", "cafile", base_name(p->tls_cafile), "pinned_pubkey", p->tls_pinned_pubkey, "documents",
        "disclosure_policy_url", p->doc_policy_url, "disclosure_policy_file", base_name(p->doc_policy_file), "manual_url",
        p->doc_manual_url, "manual_file", base_name(p->doc_manual_file));
    json_decref(cmp);
    json_t *ixit = json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:{s:o,s:b,s:o},s:o,s:o,s:o,s:o,s:o}", "device", "vendor",
                             p->vendor, "model", p->model, "firmware_version", p->firmware, "serial", p->serial, "mac",
                             p->mac, "interfaces", "services", svcs, "services_declared", p->services_declared,
                             "rtsp_paths", rtsp, "authentication", auth, "update", update, "secret_storage",
                             statements_of(ics, "G4"), "deletion", del, "test_hooks", hooks);
    return ixit;
}

/* ---- firmware identity, SBOM, report ---- */

#define DERR(...) do { if (err) IGN_FMT(err, err_size, __VA_ARGS__); } while (0)

/* SHA-256 (hex, 65 bytes) and size of a file read in 64 KiB pieces, at most DOSSIER_IMAGE_MAX bytes. */
static int file_sha256(const char *path, char hex[65], uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return SAFECAM_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SAFECAM_ERR_IO;
    }
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    static unsigned char buf[65536];
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = SAFECAM_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > DOSSIER_IMAGE_MAX) {
            rc = SAFECAM_ERR_TOOBIG;
            break;
        }
        crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
    }
    close(fd);
    if (rc != 0)
        return rc;
    unsigned char md[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, md);
    sodium_bin2hex(hex, 65, md, sizeof md);
    *bytes = total;
    return 0;
}

static void buf_sha256(const char *data, size_t len, char hex[65])
{
    unsigned char md[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(md, (const unsigned char *)data, len);
    sodium_bin2hex(hex, 65, md, sizeof md);
}

/* Read a JSON file of at most DOSSIER_JSON_MAX bytes: *text (malloc'd, the exact bytes copied into the dossier) and
 * *doc (parsed). what names it in errors ("--report"). */
static int json_file_load(const char *path, const char *what, char **text, size_t *len, json_t **doc, char *err,
                          size_t err_size)
{
    int rc = safecam_file_read(path, DOSSIER_JSON_MAX, text, len);
    if (rc != 0) {
        DERR("%s %s: cannot read (%s)", what, path, rc == SAFECAM_ERR_TOOBIG ? "larger than 32 MiB" : "no such readable file");
        return rc;
    }
    json_error_t je;
    *doc = json_loadb(*text, *len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(*doc)) {
        if (*doc != NULL)
            DERR("%s %s: the top level must be a JSON object", what, path);
        else
            DERR("%s %s: not valid JSON at line %d: %.80s", what, path, je.line, je.text);
        json_decref(*doc);
        *doc = NULL;
        free(*text);
        *text = NULL;
        return SAFECAM_ERR_INVAL;
    }
    return 0;
}

/* The SBOM facts: CycloneDX JSON with a components array (tools/sbom.py writes CycloneDX 1.5). */
static int sbom_facts(const json_t *sbom, const char *text, size_t len, const char *path, json_t **out, char *err,
                      size_t err_size)
{
    const json_t *comps = json_object_get(sbom, "components");
    if (strcmp(check_js(sbom, "bomFormat"), "CycloneDX") != 0 || !json_is_array(comps)) {
        DERR("--sbom %s: not a CycloneDX SBOM (bomFormat \"CycloneDX\" and a components array)", path);
        return SAFECAM_ERR_INVAL;
    }
    const json_t *subject = json_object_get(json_object_get(sbom, "metadata"), "component");
    char hex[65];
    buf_sha256(text, len, hex);
    *out = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s}", "file", "sbom.cdx.json", "sha256", hex, "bytes",
                     (json_int_t)len, "components", (json_int_t)json_array_size(comps), "spec_version",
                     check_js(sbom, "specVersion"), "subject_name", check_js(subject, "name"), "subject_version",
                     check_js(subject, "version"), "serial_number", check_js(sbom, "serialNumber"));
    return *out ? 0 : SAFECAM_ERR_NOMEM;
}

/* What the dossier keeps of a qcvn-check report: its identity, summary and one line per result. */
static int report_facts(const json_t *rep, const char *text, size_t len, const char *path, json_t **out, char *err,
                        size_t err_size)
{
    const json_t *results = json_object_get(rep, "results");
    if (strcmp(check_js(rep, "schema"), CHECK_REPORT_SCHEMA) != 0 || !json_is_array(results)) {
        DERR("--report %s: not a qcvn-check report (schema \"%s\" and a results array)", path, CHECK_REPORT_SCHEMA);
        return SAFECAM_ERR_INVAL;
    }
    json_t *rs = json_object();
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
        const char *id = check_js(r, "id");
        const char *v = check_js(r, "verdict");
        if (check_catalogue_find(id) == NULL || check_verdict_parse(v) < 0)
            continue; /* a report of another catalogue version: only the rows this one knows */
        json_object_set_new(rs, id, json_pack("{s:s,s:s,s:s}", "verdict", v, "reason", check_js(r, "reason"),
                                              "reason_vi", check_js(r, "reason_vi")));
    }
    char hex[65];
    buf_sha256(text, len, hex);
    const json_t *tgt = json_object_get(rep, "target");
    *out = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:O*,s:O*,s:o}", "file", "report.json", "sha256", hex, "bytes",
                     (json_int_t)len, "tool_version", check_js(json_object_get(rep, "tool"), "version"), "target",
                     check_js(tgt, "host"), "address", check_js(tgt, "address"), "started", check_js(rep, "started"),
                     "finished", check_js(rep, "finished"), "summary", json_object_get(rep, "summary"), "device",
                     json_object_get(rep, "device"), "results", rs);
    return *out ? 0 : SAFECAM_ERR_NOMEM;
}

/* ---- HTML ---- */

static void kv_row(struct check_sb *b, const char *label, const char *value)
{
    check_sb_puts(b, "<tr><th>");
    check_sb_esc(b, label);
    check_sb_puts(b, "</th><td>");
    check_sb_esc(b, value && value[0] ? value : "—");
    check_sb_puts(b, "</td></tr>\n");
}

static void request_cell(struct check_sb *b, const json_t *q)
{
    if (!json_is_object(q)) {
        check_sb_puts(b, "—");
        return;
    }
    check_sb_puts(b, "<code>");
    check_sb_esc(b, check_js(q, "method"));
    check_sb_puts(b, " ");
    check_sb_esc(b, check_js(q, "path"));
    check_sb_puts(b, "</code>");
}

static void request_row(struct check_sb *b, const char *label, const json_t *q)
{
    check_sb_puts(b, "<tr><th>");
    check_sb_esc(b, label);
    check_sb_puts(b, "</th><td>");
    request_cell(b, q);
    check_sb_puts(b, "</td></tr>\n");
}

static const char *yes_no(int v, const char *lang)
{
    return v ? check_L(lang, "yes", "có") : check_L(lang, "no", "không");
}

/* The ICS statements a section of the IXIT quotes (G3, G4, G9 rows). */
static void statements_table(struct check_sb *b, const json_t *st, const char *lang)
{
    int vi = strcmp(lang, "vi") == 0;
    check_sb_printf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
                    check_L(lang, "Clause", "Mục"), check_L(lang, "Requirement", "Yêu cầu"),
                    check_L(lang, "Statement", "Công bố"), check_L(lang, "Justification", "Giải trình"));
    size_t i;
    json_t *r;
    json_array_foreach(st, i, r) {
        check_sb_puts(b, "<tr><td class=\"id\">");
        check_sb_esc(b, check_js(r, "clause"));
        check_sb_puts(b, "</td><td>");
        check_sb_esc(b, check_js(r, vi ? "title_vi" : "title_en"));
        check_sb_printf(b, "</td><td class=\"st %s\">", check_js(r, "status"));
        check_sb_esc(b, status_label(check_js(r, "status"), lang));
        check_sb_puts(b, "</td><td>");
        check_sb_esc(b, check_js(r, vi ? "justification_vi" : "justification_en"));
        check_sb_puts(b, "</td></tr>\n");
    }
    check_sb_puts(b, "</tbody></table>\n");
}

static void login_kind(struct check_sb *b, const char *type, const char *lang)
{
    if (strcmp(type, "json") == 0)
        check_sb_esc(b, check_L(lang, "user name and password posted as JSON over HTTPS; cookie session; CSRF token",
                                "tên đăng nhập và mật khẩu gửi dạng JSON qua HTTPS; phiên bằng cookie; mã chống CSRF"));
    else if (strcmp(type, "basic") == 0)
        check_sb_esc(b, check_L(lang, "HTTP Basic", "HTTP Basic"));
    else
        check_sb_esc(b, check_L(lang, "none declared", "không khai báo"));
}

static void section_ixit(struct check_sb *b, const json_t *x, const char *lang)
{
    const json_t *itf = json_object_get(x, "interfaces"), *auth = json_object_get(x, "authentication");
    const json_t *up = json_object_get(x, "update"), *del = json_object_get(x, "deletion");
    const json_t *hk = json_object_get(x, "test_hooks");
    size_t i;
    json_t *v;
    check_sb_printf(b, "<div class=\"page\" id=\"ixit\"><h2>3. %s</h2>\n<p>%s</p>\n",
                    check_L(lang, "Implementation extra information for testing (IXIT)",
                            "Thông tin bổ sung để thử nghiệm (IXIT)"),
                    check_L(lang, "What the laboratory needs to run the tests, as the vendor declares it in the profile.",
                            "Những thông tin phòng thử nghiệm cần để tiến hành thử nghiệm, theo khai báo của nhà sản xuất "
                            "trong hồ sơ thiết bị."));
    check_sb_printf(b, "<h3>3.1 %s</h3>\n<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
                    check_L(lang, "Interfaces and ports", "Giao diện và cổng dịch vụ"), check_L(lang, "Port", "Cổng"),
                    check_L(lang, "Transport", "Giao thức truyền tải"), check_L(lang, "Service", "Dịch vụ"),
                    check_L(lang, "Purpose", "Mục đích"));
    json_array_foreach(json_object_get(itf, "services"), i, v) {
        check_sb_printf(b, "<tr><td>%lld</td><td>", (long long)json_integer_value(json_object_get(v, "port")));
        check_sb_esc(b, check_js(v, "protocol"));
        check_sb_puts(b, "</td><td>");
        check_sb_esc(b, check_js(v, "service"));
        check_sb_puts(b, "</td><td>");
        check_sb_esc(b, check_js(v, "purpose"));
        check_sb_puts(b, "</td></tr>\n");
    }
    if (json_array_size(json_object_get(itf, "services")) == 0)
        check_sb_printf(b, "<tr><td colspan=\"4\">%s</td></tr>\n",
                        check_L(lang, "No service declared.", "Không khai báo dịch vụ nào."));
    check_sb_puts(b, "</tbody></table>\n<table>\n");
    check_sb_puts(b, "<tr><th>");
    check_sb_esc(b, check_L(lang, "RTSP stream paths", "Đường dẫn luồng RTSP"));
    check_sb_puts(b, "</th><td>");
    json_array_foreach(json_object_get(itf, "rtsp_paths"), i, v) {
        check_sb_puts(b, i ? ", <code>" : "<code>");
        check_sb_esc(b, json_string_value(v));
        check_sb_puts(b, "</code>");
    }
    check_sb_puts(b, "</td></tr>\n</table>\n");

    const json_t *lg = json_object_get(auth, "login"), *lo = json_object_get(auth, "lockout");
    const json_t *se = json_object_get(auth, "sessions"), *pc = json_object_get(auth, "password_change");
    check_sb_printf(b, "<h3>3.2 %s</h3>\n<table>\n", check_L(lang, "Authentication mechanisms", "Cơ chế xác thực"));
    check_sb_printf(b, "<tr><th>%s</th><td>", check_L(lang, "Web login", "Đăng nhập web"));
    login_kind(b, check_js(lg, "type"), lang);
    if (check_js(lg, "path")[0]) {
        check_sb_puts(b, ": <code>");
        check_sb_esc(b, check_js(lg, "path"));
        check_sb_puts(b, "</code>");
    }
    check_sb_puts(b, "</td></tr>\n");
    char fields[400];
    IGN_FMT(fields, sizeof fields, "%s / %s; CSRF: %s → %s; %s", check_js(lg, "username_field"),
            check_js(lg, "password_field"), check_js(lg, "csrf_field")[0] ? check_js(lg, "csrf_field") : "—",
            check_js(lg, "csrf_header")[0] ? check_js(lg, "csrf_header") : "—",
            check_js(lg, "change_required_field")[0] ? check_js(lg, "change_required_field") : "—");
    kv_row(b, check_L(lang, "Login fields (user / password; CSRF; forced change)",
                      "Trường đăng nhập (tên / mật khẩu; CSRF; buộc đổi mật khẩu)"), fields);
    request_row(b, check_L(lang, "Logout", "Đăng xuất"), json_object_get(auth, "logout"));
    request_row(b, check_L(lang, "Password change", "Đổi mật khẩu"), pc);
    char lock[200];
    IGN_FMT(lock, sizeof lock, "%lld / %lld s → %lld s (%s)", (long long)json_integer_value(json_object_get(lo, "threshold")),
            (long long)json_integer_value(json_object_get(lo, "window_s")),
            (long long)json_integer_value(json_object_get(lo, "duration_s")),
            strcmp(check_js(lo, "scope"), "account") == 0 ? check_L(lang, "per account and source", "theo tài khoản và nguồn")
                                                          : check_L(lang, "per source", "theo nguồn"));
    kv_row(b, check_L(lang, "Lockout (failures / window → duration)", "Khóa đăng nhập (số lần sai / khoảng thời gian → thời gian khóa)"),
           lock);
    char ses[160];
    IGN_FMT(ses, sizeof ses, "%lld s / %lld s", (long long)json_integer_value(json_object_get(se, "idle_timeout_s")),
            (long long)json_integer_value(json_object_get(se, "absolute_timeout_s")));
    kv_row(b, check_L(lang, "Session timeouts (idle / absolute)", "Thời hạn phiên (không hoạt động / tuyệt đối)"), ses);
    kv_row(b, check_L(lang, "Single administrator role only", "Chỉ có một vai trò quản trị"),
           yes_no(json_is_true(json_object_get(auth, "single_role")), lang));
    check_sb_puts(b, "</table>\n");

    check_sb_printf(b, "<h3>3.3 %s</h3>\n<table>\n", check_L(lang, "Update mechanism", "Cơ chế cập nhật"));
    json_t *uq = request_json(check_js(up, "method"), check_js(up, "path"));
    request_row(b, check_L(lang, "Bundle upload (administrator)", "Tải lên gói cập nhật (quản trị viên)"), uq);
    json_decref(uq);
    kv_row(b, check_L(lang, "Upload content type", "Kiểu nội dung khi tải lên"), check_js(up, "content_type"));
    kv_row(b, check_L(lang, "Version report", "Đường dẫn báo phiên bản"), check_js(up, "version_path"));
    kv_row(b, check_L(lang, "Signed bundle for UP-03", "Gói đã ký dùng cho UP-03"), check_js(up, "bundle_file"));
    kv_row(b, check_L(lang, "Older signed bundle for UP-04", "Gói đã ký có phiên bản cũ hơn, dùng cho UP-04"),
           check_js(up, "older_bundle_file"));
    check_sb_puts(b, "</table>\n");
    statements_table(b, json_object_get(up, "statements"), lang);

    check_sb_printf(b, "<h3>3.4 %s</h3>\n", check_L(lang, "Storage of secrets", "Lưu trữ tham số bảo mật nhạy cảm"));
    statements_table(b, json_object_get(x, "secret_storage"), lang);

    check_sb_printf(b, "<h3>3.5 %s</h3>\n<table>\n", check_L(lang, "Deletion", "Xóa dữ liệu"));
    request_row(b, check_L(lang, "Create an item (seed)", "Tạo một mục dữ liệu (dữ liệu mẫu)"), json_object_get(del, "seed"));
    request_row(b, check_L(lang, "List the items", "Liệt kê các mục dữ liệu"), json_object_get(del, "list"));
    request_row(b, check_L(lang, "Delete one item", "Xóa một mục dữ liệu"), json_object_get(del, "delete_one"));
    request_row(b, check_L(lang, "Factory reset (full erase)", "Khôi phục cài đặt gốc (xóa toàn bộ)"),
                json_object_get(del, "factory_reset"));
    kv_row(b, check_L(lang, "Confirmation field", "Trường xác nhận"), check_js(del, "confirm_field"));
    check_sb_puts(b, "</table>\n");
    statements_table(b, json_object_get(del, "statements"), lang);

    const json_t *acc = json_object_get(hk, "accounts"), *con = json_object_get(hk, "consent");
    const json_t *tls = json_object_get(hk, "tls"), *doc = json_object_get(hk, "documents");
    check_sb_printf(b, "<h3>3.6 %s</h3>\n<table>\n",
                    check_L(lang, "Test hooks the laboratory needs", "Điều kiện và điểm truy cập phục vụ thử nghiệm"));
    kv_row(b, check_L(lang, "Authenticated probe (device information)", "Yêu cầu cần phiên đăng nhập (thông tin thiết bị)"),
           check_js(hk, "authenticated_probe"));
    kv_row(b, check_L(lang, "Security event log", "Nhật ký sự kiện an ninh"), check_js(hk, "events"));
    char a[300];
    IGN_FMT(a, sizeof a, "%s (%s: %s)", check_js(acc, "admin")[0] ? check_js(acc, "admin") : "—",
            check_L(lang, "password", "mật khẩu"),
            strcmp(check_js(acc, "admin_password"), "provided") == 0 ? check_L(lang, "given to the lab separately", "bàn giao riêng cho phòng thử nghiệm")
                                                                     : check_L(lang, "not given", "chưa cung cấp"));
    kv_row(b, check_L(lang, "Administrator account", "Tài khoản quản trị"), a);
    IGN_FMT(a, sizeof a, "%s (%s: %s)", check_js(acc, "user")[0] ? check_js(acc, "user") : "—",
            check_L(lang, "password", "mật khẩu"),
            strcmp(check_js(acc, "user_password"), "provided") == 0 ? check_L(lang, "given to the lab separately", "bàn giao riêng cho phòng thử nghiệm")
                                                                    : check_L(lang, "not given", "chưa cung cấp"));
    kv_row(b, check_L(lang, "Low-privilege account", "Tài khoản quyền thấp"), a);
    kv_row(b, check_L(lang, "Label initial password", "Mật khẩu ban đầu trên nhãn"),
           strcmp(check_js(acc, "initial_password"), "provided") == 0 ? check_L(lang, "given to the lab separately", "bàn giao riêng cho phòng thử nghiệm")
                                                                     : check_L(lang, "not given", "chưa cung cấp"));
    kv_row(b, check_L(lang, "Unit delivered in factory state", "Mẫu thử ở trạng thái xuất xưởng"),
           yes_no(json_is_true(json_object_get(hk, "factory_state")), lang));
    char c[300];
    IGN_FMT(c, sizeof c, "%s: %s; %s: %s; %s: %s; %s: %s", check_L(lang, "destructive tests", "phép thử phá hủy"),
            yes_no(json_is_true(json_object_get(con, "destructive")), lang), check_L(lang, "restart", "khởi động lại"),
            yes_no(json_is_true(json_object_get(con, "restart")), lang), check_L(lang, "deletion", "xóa dữ liệu"),
            yes_no(json_is_true(json_object_get(con, "deletion")), lang),
            check_L(lang, "factory reset", "khôi phục cài đặt gốc"),
            yes_no(json_is_true(json_object_get(con, "factory_reset")), lang));
    kv_row(b, check_L(lang, "Vendor consent", "Sự đồng ý của nhà sản xuất"), c);
    request_row(b, check_L(lang, "Restart request", "Yêu cầu khởi động lại"), json_object_get(hk, "restart"));
    kv_row(b, check_L(lang, "Device certificate: CA file", "Chứng thư thiết bị: tệp CA"), check_js(tls, "cafile"));
    kv_row(b, check_L(lang, "Device certificate: pinned key", "Chứng thư thiết bị: khóa công khai được ghim"),
           check_js(tls, "pinned_pubkey"));
    kv_row(b, check_L(lang, "Vulnerability disclosure policy", "Chính sách công bố lỗ hổng"),
           check_js(doc, "disclosure_policy_url")[0] ? check_js(doc, "disclosure_policy_url") : check_js(doc, "disclosure_policy_file"));
    kv_row(b, check_L(lang, "User manual", "Hướng dẫn sử dụng"),
           check_js(doc, "manual_url")[0] ? check_js(doc, "manual_url") : check_js(doc, "manual_file"));
    check_sb_puts(b, "</table>\n");
    check_sb_printf(b, "<h4>%s</h4>\n<table><thead><tr><th>%s</th><th>%s</th></tr></thead><tbody>\n",
                    check_L(lang, "Protected endpoints (refused without authentication)",
                            "Điểm cuối được bảo vệ (bị từ chối khi chưa xác thực)"),
                    check_L(lang, "Request", "Yêu cầu"), check_L(lang, "Administrator only", "Chỉ quản trị viên"));
    json_array_foreach(json_object_get(hk, "protected_endpoints"), i, v) {
        check_sb_puts(b, "<tr><td>");
        request_cell(b, v);
        check_sb_puts(b, "</td><td>");
        check_sb_esc(b, yes_no(json_is_true(json_object_get(v, "admin_only")), lang));
        check_sb_puts(b, "</td></tr>\n");
    }
    check_sb_puts(b, "</tbody></table>\n</div>\n");
}

static const char *const dossier_css =
    "@page{size:A4;margin:15mm 12mm}\n"
    "body{font-family:'Noto Serif','DejaVu Serif',Georgia,serif;margin:2em auto;color:#111;max-width:1100px;line-height:1.35}\n"
    "h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.25em;border-bottom:2px solid #333;padding-bottom:.1em}"
    "h3{font-size:1.05em;margin-top:1.4em}h4{font-size:1em}\n"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #999;padding:.25em .45em;"
    "text-align:left;vertical-align:top;font-size:.88em}th{background:#eee}thead{display:table-header-group}\n"
    "tr{break-inside:avoid;page-break-inside:avoid}code{font-size:.95em;word-break:break-all}\n"
    ".st{font-weight:bold;white-space:nowrap}.supported{color:#0a6b0a}.not_supported{color:#b00000}"
    ".not_applicable{color:#555}\n"
    ".v{font-weight:bold;white-space:nowrap}.PASS{color:#0a6b0a}.FAIL{color:#b00000}.INCONCLUSIVE{color:#a06000}"
    ".NOT_APPLICABLE{color:#555}.NEEDS_EVIDENCE{color:#1f4fa0}\n"
    ".id{white-space:nowrap}.small{font-size:.85em;color:#333}.note{border-left:4px solid #a06000;padding:.2em .6em;background:#fff8e8}\n"
    "div.page{margin-top:2.5em}\n"
    "@media print{body{margin:0;max-width:none}div.page{break-before:page;page-break-before:always;margin-top:0}"
    "a{color:inherit;text-decoration:none}}\n";

/* The group order of the catalogue (first appearance), at most 16 groups. */
static size_t catalogue_groups(const char *groups[16])
{
    size_t n_tests, n = 0;
    const struct check_test *t = check_catalogue(&n_tests);
    for (size_t i = 0; i < n_tests; i++) {
        size_t k;
        for (k = 0; k < n && strcmp(groups[k], t[i].group) != 0; k++)
            ;
        if (k == n && n < 16)
            groups[n++] = t[i].group;
    }
    return n;
}

static void verdict_cell(struct check_sb *b, const json_t *res, const char *lang)
{
    if (!json_is_object(res)) {
        check_sb_puts(b, "<td>—</td>");
        return;
    }
    const char *v = check_js(res, "verdict");
    check_sb_printf(b, "<td><span class=\"v %s\">", v);
    check_sb_esc(b, check_verdict_label(v, lang));
    check_sb_puts(b, "</span><br><span class=\"small\">");
    if (strcmp(lang, "vi") == 0 && check_js(res, "reason_vi")[0])
        check_sb_esc(b, check_js(res, "reason_vi"));
    else if (strcmp(lang, "vi") == 0)
        check_sb_reason_vi(b, check_js(res, "reason"));
    else
        check_sb_esc(b, check_js(res, "reason"));
    check_sb_puts(b, "</span></td>");
}

static void section_firmware(struct check_sb *b, const json_t *fw, const char *lang)
{
    const json_t *bun = json_object_get(fw, "bundle"), *sb = json_object_get(fw, "sbom");
    check_sb_printf(b, "<div class=\"page\" id=\"firmware\"><h2>4. %s</h2>\n<table>\n",
                    check_L(lang, "Firmware identity", "Thông tin định danh firmware"));
    kv_row(b, check_L(lang, "Firmware version (declared)", "Phiên bản firmware (khai báo)"), check_js(fw, "version"));
    if (json_is_object(bun)) {
        kv_row(b, check_L(lang, "Bundle or image file", "Tệp gói cập nhật hoặc ảnh firmware"), check_js(bun, "file"));
        check_sb_printf(b, "<tr><th>SHA-256</th><td><code>%s</code></td></tr>\n", check_js(bun, "sha256"));
        check_sb_printf(b, "<tr><th>%s</th><td>%lld</td></tr>\n", check_L(lang, "Size (bytes)", "Kích thước (byte)"),
                        (long long)json_integer_value(json_object_get(bun, "bytes")));
    } else {
        kv_row(b, check_L(lang, "Bundle or image file", "Tệp gói cập nhật hoặc ảnh firmware"),
               check_L(lang, "not given (qcvn-check dossier --bundle FILE)", "chưa cung cấp (qcvn-check dossier --bundle TỆP)"));
    }
    if (json_is_object(sb)) {
        kv_row(b, check_L(lang, "Software bill of materials (SBOM)", "Danh mục thành phần phần mềm (SBOM)"),
               "sbom.cdx.json");
        char spec[96];
        IGN_FMT(spec, sizeof spec, "CycloneDX %s", check_js(sb, "spec_version"));
        kv_row(b, check_L(lang, "SBOM format", "Định dạng SBOM"), spec);
        check_sb_printf(b, "<tr><th>%s</th><td>%lld</td></tr>\n", check_L(lang, "Components", "Số thành phần"),
                        (long long)json_integer_value(json_object_get(sb, "components")));
        char subj[300];
        IGN_FMT(subj, sizeof subj, "%s %s", check_js(sb, "subject_name"), check_js(sb, "subject_version"));
        kv_row(b, check_L(lang, "SBOM subject", "Đối tượng của SBOM"), subj);
        check_sb_printf(b, "<tr><th>%s</th><td><code>%s</code></td></tr>\n",
                        check_L(lang, "SHA-256 of the SBOM", "SHA-256 của SBOM"), check_js(sb, "sha256"));
    } else {
        kv_row(b, check_L(lang, "Software bill of materials (SBOM)", "Danh mục thành phần phần mềm (SBOM)"),
               check_L(lang, "not given (qcvn-check dossier --sbom FILE)", "chưa cung cấp (qcvn-check dossier --sbom TỆP)"));
    }
    check_sb_puts(b, "</table>\n</div>\n");
}

static void section_report(struct check_sb *b, const json_t *rep, const char *lang)
{
    check_sb_printf(b, "<div class=\"page\" id=\"report\"><h2>5. %s</h2>\n",
                    check_L(lang, "The checker's report of the device", "Báo cáo của qcvn-check về thiết bị"));
    if (!json_is_object(rep)) {
        check_sb_printf(b, "<p>%s</p>\n</div>\n",
                        check_L(lang, "No report was given (qcvn-check dossier --report REPORT.json).",
                                "Không kèm báo cáo (qcvn-check dossier --report REPORT.json)."));
        return;
    }
    const json_t *sum = json_object_get(rep, "summary");
    check_sb_puts(b, "<table>\n");
    kv_row(b, check_L(lang, "Target", "Địa chỉ thử nghiệm"), check_js(rep, "target"));
    char per[200];
    IGN_FMT(per, sizeof per, "%s — %s", check_js(rep, "started"), check_js(rep, "finished"));
    kv_row(b, check_L(lang, "Test period", "Thời gian thử nghiệm"), per);
    kv_row(b, check_L(lang, "qcvn-check version", "Phiên bản qcvn-check"), check_js(rep, "tool_version"));
    kv_row(b, check_L(lang, "Full report (copied)", "Báo cáo đầy đủ (bản sao)"), "report.json");
    check_sb_printf(b, "<tr><th>SHA-256</th><td><code>%s</code></td></tr>\n", check_js(rep, "sha256"));
    check_sb_puts(b, "</table>\n");
    long long mf = json_integer_value(json_object_get(sum, "mandatory_fail"));
    long long mu = json_integer_value(json_object_get(sum, "mandatory_undecided"));
    long long mp = json_integer_value(json_object_get(sum, "mandatory_pass"));
    check_sb_printf(b, "<p class=\"v %s\">%s: %lld %s · %lld %s · %lld %s</p>\n", mf ? "FAIL" : mu ? "INCONCLUSIVE" : "PASS",
                    check_L(lang, "Mandatory tests", "Phép thử bắt buộc"), mf, check_L(lang, "FAIL", "KHÔNG ĐẠT"), mu,
                    check_L(lang, "not yet decided", "chưa kết luận"), mp, check_L(lang, "PASS", "ĐẠT"));
    /* the verdicts per QCVN group, in the catalogue's group order */
    check_sb_printf(b, "<table><thead><tr><th>%s</th>", check_L(lang, "Group", "Nhóm"));
    static const char *const vn[] = {"PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "NEEDS_EVIDENCE"};
    for (size_t k = 0; k < SAFECAM_ARRAY_LEN(vn); k++) {
        check_sb_puts(b, "<th>");
        check_sb_esc(b, check_verdict_label(vn[k], lang));
        check_sb_puts(b, "</th>");
    }
    check_sb_puts(b, "</tr></thead><tbody>\n");
    const char *groups[16];
    size_t n_groups = catalogue_groups(groups);
    const json_t *by_group = json_object_get(sum, "groups");
    for (size_t g = 0; g < n_groups; g++) {
        const json_t *row = json_object_get(by_group, groups[g]);
        if (!json_is_object(row))
            continue;
        check_sb_printf(b, "<tr><td>%s — ", groups[g]);
        check_sb_esc(b, check_group_title(groups[g], lang));
        check_sb_puts(b, "</td>");
        for (size_t k = 0; k < SAFECAM_ARRAY_LEN(vn); k++)
            check_sb_printf(b, "<td>%lld</td>", (long long)json_integer_value(json_object_get(row, vn[k])));
        check_sb_puts(b, "</tr>\n");
    }
    check_sb_puts(b, "</tbody></table>\n");
    check_sb_printf(b, "<p>%s</p>\n",
                    check_L(lang, "Each verdict with its reason stands beside the vendor's statement in the group pages "
                                  "of section 1; the evidence lines are in report.json.",
                            "Kết luận và lý do của từng phép thử được đặt cạnh công bố của nhà sản xuất trong các trang "
                            "theo nhóm ở mục 1; các dòng bằng chứng nằm trong report.json."));
    check_sb_puts(b, "</div>\n");
}

char *check_dossier_html(const json_t *d, const char *lang)
{
    struct check_sb b = {0};
    int vi = lang != NULL && strcmp(lang, "vi") == 0;
    lang = vi ? "vi" : "en";
    const json_t *dev = json_object_get(json_object_get(d, "ixit"), "device");
    const json_t *ics = json_object_get(d, "ics"), *rep = json_object_get(d, "report");
    const json_t *results = json_object_get(rep, "results");
    check_sb_printf(&b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n<title>", lang);
    check_sb_esc(&b, check_L(lang, "Lab dossier", "Hồ sơ thử nghiệm"));
    check_sb_puts(&b, " — ");
    check_sb_esc(&b, check_js(dev, "vendor"));
    check_sb_puts(&b, " ");
    check_sb_esc(&b, check_js(dev, "model"));
    check_sb_puts(&b, "</title>\n<style>\n");
    check_sb_puts(&b, dossier_css);
    check_sb_puts(&b, "</style></head><body>\n<div class=\"cover\" id=\"cover\"><h1>");
    check_sb_esc(&b, check_L(lang, "Lab dossier — QCVN 135:2024/BTTTT", "Hồ sơ thử nghiệm — QCVN 135:2024/BTTTT"));
    check_sb_printf(&b, "</h1>\n<p>%s</p>\n<table>\n",
                    check_L(lang, "IP surveillance cameras — basic information security requirements. ETSI EN 303 645 "
                                  "V2.1.1, assessed per ETSI TS 103 701.",
                            "Thiết bị camera giám sát sử dụng giao thức Internet – Các yêu cầu an toàn thông tin cơ bản. "
                            "ETSI EN 303 645 V2.1.1, đánh giá theo ETSI TS 103 701."));
    kv_row(&b, check_L(lang, "Vendor", "Nhà sản xuất"), check_js(dev, "vendor"));
    kv_row(&b, check_L(lang, "Model", "Kiểu (model)"), check_js(dev, "model"));
    kv_row(&b, check_L(lang, "Firmware version", "Phiên bản firmware"), check_js(dev, "firmware_version"));
    kv_row(&b, check_L(lang, "Serial number", "Số sê-ri"), check_js(dev, "serial"));
    kv_row(&b, check_L(lang, "Written", "Ngày lập"), check_js(d, "generated"));
    char tool[96];
    IGN_FMT(tool, sizeof tool, "qcvn-check %s", check_js(json_object_get(d, "tool"), "version"));
    kv_row(&b, check_L(lang, "Written by", "Lập bằng"), tool);
    check_sb_puts(&b, "</table>\n");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(d, "notes"), i, v) {
        check_sb_puts(&b, "<p class=\"note\">");
        check_sb_esc(&b, check_js(v, vi ? "vi" : "en"));
        check_sb_puts(&b, "</p>\n");
    }
    const json_t *cq = json_object_get(json_object_get(ics, "counts"), "qcvn");
    const json_t *cp = json_object_get(json_object_get(ics, "counts"), "en303645");
    check_sb_printf(&b, "<h2>%s</h2>\n<table><thead><tr><th></th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
                    check_L(lang, "Summary of the ICS", "Tóm tắt bản công bố (ICS)"), status_label("supported", lang),
                    status_label("not_supported", lang), status_label("not_applicable", lang));
    const struct {
        const char *en, *vi;
        const json_t *c;
    } crow[] = {{"QCVN 135 rows", "Mục của QCVN 135", cq}, {"EN 303 645 provisions", "Điều khoản EN 303 645", cp}};
    for (size_t k = 0; k < SAFECAM_ARRAY_LEN(crow); k++)
        check_sb_printf(&b, "<tr><th>%s</th><td>%lld</td><td>%lld</td><td>%lld</td></tr>\n", check_L(lang, crow[k].en, crow[k].vi),
                        (long long)json_integer_value(json_object_get(crow[k].c, "supported")),
                        (long long)json_integer_value(json_object_get(crow[k].c, "not_supported")),
                        (long long)json_integer_value(json_object_get(crow[k].c, "not_applicable")));
    check_sb_printf(&b, "</tbody></table>\n<h2>%s</h2>\n<ol>\n", check_L(lang, "Contents", "Mục lục"));
    check_sb_printf(&b, "<li><a href=\"#ics\">%s</a></li>\n",
                    check_L(lang, "Implementation conformance statement (ICS), one page per QCVN test group",
                            "Bản công bố tính năng thực hiện (ICS), mỗi nhóm phép thử QCVN một trang"));
    check_sb_printf(&b, "<li><a href=\"#en303645\">%s</a></li>\n",
                    check_L(lang, "ICS per ETSI EN 303 645 provision", "ICS theo từng điều khoản ETSI EN 303 645"));
    check_sb_printf(&b, "<li><a href=\"#ixit\">%s</a></li>\n",
                    check_L(lang, "Implementation extra information for testing (IXIT)", "Thông tin bổ sung để thử nghiệm (IXIT)"));
    check_sb_printf(&b, "<li><a href=\"#firmware\">%s</a></li>\n", check_L(lang, "Firmware identity", "Thông tin định danh firmware"));
    check_sb_printf(&b, "<li><a href=\"#report\">%s</a></li>\n</ol>\n</div>\n",
                    check_L(lang, "The checker's report of the device", "Báo cáo của qcvn-check về thiết bị"));

    /* 1. the ICS, a page per QCVN group */
    const char *groups[16];
    size_t n_groups = catalogue_groups(groups);
    for (size_t g = 0; g < n_groups; g++) {
        check_sb_printf(&b, "<div class=\"page group\" id=\"%s\">", g == 0 ? "ics" : groups[g]);
        if (g == 0)
            check_sb_printf(&b, "<h2>1. %s</h2>\n<p>%s</p>\n",
                            check_L(lang, "Implementation conformance statement (ICS)", "Bản công bố tính năng thực hiện (ICS)"),
                            check_L(lang, "For each QCVN 135 row: the vendor's statement (supported, not supported, not "
                                          "applicable) and its justification; beside it the verdict of qcvn-check when a "
                                          "report is attached.",
                                    "Với mỗi mục của QCVN 135: công bố của nhà sản xuất (có hỗ trợ, không hỗ trợ, không áp "
                                    "dụng) kèm giải trình; bên cạnh là kết luận của qcvn-check khi có kèm báo cáo."));
        check_sb_printf(&b, "<h3>1.%zu %s — ", g + 1, groups[g]);
        check_sb_esc(&b, check_group_title(groups[g], lang));
        check_sb_printf(&b, "</h3>\n<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>",
                        check_L(lang, "Clause", "Mục"), check_L(lang, "Requirement", "Yêu cầu"),
                        check_L(lang, "References", "Tham chiếu"), check_L(lang, "Statement", "Công bố"),
                        check_L(lang, "Justification", "Giải trình"));
        check_sb_printf(&b, "<th>%s</th></tr></thead><tbody>\n", check_L(lang, "qcvn-check verdict", "Kết luận của qcvn-check"));
        json_array_foreach(json_object_get(ics, "qcvn"), i, v) {
            if (strcmp(check_js(v, "group"), groups[g]) != 0)
                continue;
            const char *id = check_js(v, "clause");
            check_sb_puts(&b, "<tr class=\"ics-row\" id=\"ics-");
            check_sb_esc(&b, id);
            check_sb_puts(&b, "\" data-clause=\"");
            check_sb_esc(&b, id);
            check_sb_puts(&b, "\"><td class=\"id\">");
            check_sb_esc(&b, id);
            check_sb_puts(&b, "</td><td>");
            check_sb_esc(&b, check_js(v, vi ? "title_vi" : "title_en"));
            check_sb_puts(&b, "<br><span class=\"small\">");
            check_sb_esc(&b, strcmp(check_js(v, "level"), "mandatory") == 0 ? check_L(lang, "mandatory", "bắt buộc")
                                                                             : check_L(lang, "recommended", "khuyến nghị"));
            check_sb_puts(&b, "</span></td><td class=\"small\">EN 303 645 ");
            check_sb_esc(&b, check_js(v, "en303645"));
            check_sb_puts(&b, "<br>TS 103 701: ");
            if (vi)
                check_sb_ts_vi(&b, check_js(v, "ts103701"));
            else
                check_sb_esc(&b, check_js(v, "ts103701"));
            check_sb_printf(&b, "</td><td class=\"st %s\">", check_js(v, "status"));
            check_sb_esc(&b, status_label(check_js(v, "status"), lang));
            check_sb_puts(&b, "</td><td>");
            check_sb_esc(&b, check_js(v, vi ? "justification_vi" : "justification_en"));
            check_sb_puts(&b, "</td>");
            verdict_cell(&b, json_object_get(results, id), lang);
            check_sb_puts(&b, "</tr>\n");
        }
        check_sb_puts(&b, "</tbody></table>\n</div>\n");
    }

    /* 2. per EN 303 645 provision */
    check_sb_printf(&b, "<div class=\"page\" id=\"en303645\"><h2>2. %s</h2>\n<p>%s</p>\n",
                    check_L(lang, "ICS per ETSI EN 303 645 provision", "ICS theo từng điều khoản ETSI EN 303 645"),
                    check_L(lang, "Every provision the QCVN 135 rows map to. A provision the vendor did not state on its "
                                  "own is derived from those rows: supported unless a mandatory row is not supported, not "
                                  "applicable when every row is.",
                            "Mọi điều khoản mà các mục QCVN 135 tham chiếu tới. Điều khoản nào nhà sản xuất không công bố "
                            "riêng thì được suy ra từ các mục đó: có hỗ trợ, trừ khi có mục bắt buộc không hỗ trợ; không "
                            "áp dụng khi mọi mục đều không áp dụng."));
    check_sb_printf(&b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
                    check_L(lang, "Provision", "Điều khoản"), check_L(lang, "Statement", "Công bố"),
                    check_L(lang, "Justification", "Giải trình"), check_L(lang, "QCVN 135 rows", "Mục QCVN 135"));
    json_array_foreach(json_object_get(ics, "en303645"), i, v) {
        const char *pv = check_js(v, "provision");
        check_sb_puts(&b, "<tr class=\"ics-row\" id=\"ics-en-");
        check_sb_esc(&b, pv);
        check_sb_puts(&b, "\" data-provision=\"");
        check_sb_esc(&b, pv);
        check_sb_puts(&b, "\"><td class=\"id\">");
        check_sb_esc(&b, pv);
        check_sb_printf(&b, "</td><td class=\"st %s\">", check_js(v, "status"));
        check_sb_esc(&b, status_label(check_js(v, "status"), lang));
        check_sb_puts(&b, "</td><td>");
        check_sb_esc(&b, check_js(v, vi ? "justification_vi" : "justification_en"));
        check_sb_puts(&b, "</td><td>");
        size_t k;
        json_t *q;
        json_array_foreach(json_object_get(v, "qcvn"), k, q) {
            if (k)
                check_sb_puts(&b, ", ");
            check_sb_puts(&b, "<a href=\"#ics-");
            check_sb_esc(&b, json_string_value(q));
            check_sb_puts(&b, "\">");
            check_sb_esc(&b, json_string_value(q));
            check_sb_puts(&b, "</a>");
        }
        check_sb_puts(&b, "</td></tr>\n");
    }
    check_sb_puts(&b, "</tbody></table>\n</div>\n");

    section_ixit(&b, json_object_get(d, "ixit"), lang);
    section_firmware(&b, json_object_get(d, "firmware"), lang);
    section_report(&b, rep, lang);
    check_sb_puts(&b, "</body></html>\n");
    return check_sb_done(&b);
}

/* ---- writing ---- */

static void note_add(json_t *notes, const char *en, const char *vi)
{
    json_array_append_new(notes, json_pack("{s:s,s:s}", "en", en, "vi", vi));
}

/* Where the declared identity and the attached evidence disagree (shown on the cover). */
static void notes_build(json_t *notes, const struct check_profile *p, const json_t *rep_facts, const json_t *sbom_facts)
{
    char en[600], vi[800];
    const json_t *rdev = json_object_get(rep_facts, "device");
    const char *rf = check_js(rdev, "firmware_version"), *rm = check_js(rdev, "model");
    if (rep_facts && ((rf[0] && strcmp(rf, p->firmware) != 0) || (rm[0] && strcmp(rm, p->model) != 0))) {
        IGN_FMT(en, sizeof en, "The attached report was made with a profile of %s %s, not of %s %s.", rm, rf, p->model,
                p->firmware);
        IGN_FMT(vi, sizeof vi, "Báo cáo kèm theo được lập với hồ sơ của %s %s, không phải của %s %s.", rm, rf, p->model,
                p->firmware);
        note_add(notes, en, vi);
    }
    const char *said = check_js(json_object_get(rdev, "reported"), "firmware_version");
    if (said[0] && strcmp(said, p->firmware) != 0) {
        IGN_FMT(en, sizeof en, "The device under test reported firmware %s; the profile declares %s.", said, p->firmware);
        IGN_FMT(vi, sizeof vi, "Thiết bị được thử nghiệm tự báo firmware %s; hồ sơ khai báo %s.", said, p->firmware);
        note_add(notes, en, vi);
    }
    const char *sv = check_js(sbom_facts, "subject_version");
    if (sbom_facts && sv[0] && strcmp(sv, p->firmware) != 0) {
        IGN_FMT(en, sizeof en, "The SBOM describes version %s; the profile declares %s.", sv, p->firmware);
        IGN_FMT(vi, sizeof vi, "SBOM mô tả phiên bản %s; hồ sơ khai báo %s.", sv, p->firmware);
        note_add(notes, en, vi);
    }
}

static int write_text(const char *dir, const char *name, const char *s, size_t len)
{
    if (s == NULL)
        return SAFECAM_ERR_NOMEM;
    char path[PATH_MAX];
    int rc = safecam_path_join(path, sizeof path, dir, name);
    return rc != 0 ? rc : safecam_file_write_atomic(path, s, len, 0644);
}

static int write_owned(const char *dir, const char *name, char *s)
{
    int rc = write_text(dir, name, s, s ? strlen(s) : 0);
    free(s);
    return rc;
}

/* 0 when dir has no entry, 1 when it has some, -1 when it cannot be read. */
static int dir_has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int any = 0;
    for (struct dirent *e; !any && (e = readdir(d)) != NULL;)
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

int check_dossier_write(const struct check_profile *p, const struct check_dossier_opts *o, char *err, size_t err_size)
{
    if (err && err_size)
        err[0] = '\0';
    if (o == NULL || o->out_dir == NULL || o->out_dir[0] == '\0') {
        DERR("dossier: --out DIR is required");
        return SAFECAM_ERR_INVAL;
    }
    char out[PATH_MAX];
    if (safecam_strlcpy(out, o->out_dir, sizeof out - 32) != 0) {
        DERR("dossier: --out: path too long");
        return SAFECAM_ERR_INVAL;
    }
    for (size_t l = strlen(out); l > 1 && out[l - 1] == '/'; l--)
        out[l - 1] = '\0';
    /* the output first: a refusal must come before any work */
    struct stat st;
    int exists = lstat(out, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        DERR("dossier: --out %s exists and is not a directory", out);
        return SAFECAM_ERR_EXISTS;
    }
    int full = exists ? dir_has_entries(out) : 0;
    if (full < 0) {
        DERR("dossier: --out %s: cannot read the directory", out);
        return SAFECAM_ERR_IO;
    }
    if (full && !o->force) {
        DERR("dossier: --out %s is not empty (--force replaces an earlier dossier)", out);
        return SAFECAM_ERR_EXISTS;
    }
    if (full) {
        char marker[PATH_MAX];
        if (safecam_path_join(marker, sizeof marker, out, "dossier.json") != 0 || access(marker, F_OK) != 0) {
            DERR("dossier: --out %s holds no earlier dossier (no dossier.json): not replaced even with --force", out);
            return SAFECAM_ERR_EXISTS;
        }
    }

    json_t *ics = NULL, *sbom = NULL, *rep = NULL, *sbom_f = NULL, *rep_f = NULL, *bundle_f = NULL, *d = NULL;
    char *sbom_text = NULL, *rep_text = NULL;
    size_t sbom_len = 0, rep_len = 0;
    char tmp[PATH_MAX] = "";
    int rc = check_ics_build(p, &ics, err, err_size);
    if (rc != 0)
        goto done;
    if (o->bundle_path) {
        char hex[65];
        uint64_t bytes = 0;
        rc = file_sha256(o->bundle_path, hex, &bytes);
        if (rc != 0) {
            DERR("--bundle %s: %s", o->bundle_path, rc == SAFECAM_ERR_TOOBIG ? "larger than 8 GiB" : "cannot read the file");
            goto done;
        }
        bundle_f = json_pack("{s:s,s:s,s:I}", "file", base_name(o->bundle_path), "sha256", hex, "bytes", (json_int_t)bytes);
    }
    if (o->sbom_path) {
        if ((rc = json_file_load(o->sbom_path, "--sbom", &sbom_text, &sbom_len, &sbom, err, err_size)) != 0 ||
            (rc = sbom_facts(sbom, sbom_text, sbom_len, o->sbom_path, &sbom_f, err, err_size)) != 0)
            goto done;
    }
    if (o->report_path) {
        if ((rc = json_file_load(o->report_path, "--report", &rep_text, &rep_len, &rep, err, err_size)) != 0 ||
            (rc = report_facts(rep, rep_text, rep_len, o->report_path, &rep_f, err, err_size)) != 0)
            goto done;
    }
    char now[32] = "";
    IGN_RFC3339(safecam_time_now(), now, sizeof now);
    json_t *notes = json_array();
    notes_build(notes, p, rep_f, sbom_f);
    json_t *ixit = check_ixit_build(p, ics);
    d = json_pack("{s:s,s:{s:s,s:s},s:s,s:{s:s,s:s,s:s},s:O,s:o,s:{s:s,s:o?,s:o?},s:o?,s:o}", "schema", DOSSIER_SCHEMA,
                  "tool", "name", "qcvn-check", "version", SAFECAM_VERSION, "generated", now, "regulation", "qcvn",
                  "QCVN 135:2024/BTTTT", "en303645", "ETSI EN 303 645 V2.1.1", "ts103701", "ETSI TS 103 701 V1.1.1", "ics",
                  ics, "ixit", ixit, "firmware", "version", p->firmware, "bundle", bundle_f, "sbom", json_incref(sbom_f),
                  "report", json_incref(rep_f), "notes", notes);
    bundle_f = NULL; /* stolen by json_pack */
    if (d == NULL) {
        rc = SAFECAM_ERR_NOMEM;
        DERR("dossier: out of memory");
        goto done;
    }

    /* everything into a temporary directory beside out, then one rename */
    char parent[PATH_MAX];
    IGN_STRLCPY(parent, out, sizeof parent);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        if (safecam_mkdir_p(parent, 0755) != 0) {
            rc = SAFECAM_ERR_IO;
            DERR("dossier: cannot create %s", parent);
            goto done;
        }
    }
    IGN_FMT(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
    if (tmp[0] == '\0' || mkdtemp(tmp) == NULL) {
        tmp[0] = '\0';
        rc = SAFECAM_ERR_IO;
        DERR("dossier: cannot create a temporary directory beside %s", out);
        goto done;
    }
    (void)chmod(tmp, 0755);
    if ((rc = write_owned(tmp, "dossier.json", json_dumps(d, JSON_INDENT(2)))) != 0 ||
        (rc = write_owned(tmp, "dossier.vi.html", check_dossier_html(d, "vi"))) != 0 ||
        (rc = write_owned(tmp, "dossier.en.html", check_dossier_html(d, "en"))) != 0 ||
        (sbom_text && (rc = write_text(tmp, "sbom.cdx.json", sbom_text, sbom_len)) != 0) ||
        (rep_text && (rc = write_text(tmp, "report.json", rep_text, rep_len)) != 0)) {
        DERR("dossier: cannot write into %s (%s)", tmp, safecam_err_name(rc));
        goto done;
    }
    if (full) {
        /* swap the earlier dossier out in one step, then remove it */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) != 0) {
            rc = SAFECAM_ERR_IO;
            DERR("dossier: cannot replace %s (%s)", out, strerror(errno));
            goto done;
        }
    } else {
        if (exists && rmdir(out) != 0 && errno != ENOENT) {
            rc = SAFECAM_ERR_IO;
            DERR("dossier: cannot replace the empty directory %s", out);
            goto done;
        }
        if (rename(tmp, out) != 0) {
            rc = SAFECAM_ERR_IO;
            DERR("dossier: cannot rename %s to %s (%s)", tmp, out, strerror(errno));
            goto done;
        }
        tmp[0] = '\0';
    }
    rc = 0;
done:
    if (tmp[0] != '\0' && safecam_path_remove(tmp) != 0 && rc == 0) {
        rc = SAFECAM_ERR_IO;
        DERR("dossier: written, but the earlier dossier (now %s) could not be removed", tmp);
    }
    json_decref(ics);
    json_decref(d);
    json_decref(bundle_f);
    json_decref(sbom_f);
    json_decref(rep_f);
    json_decref(sbom);
    json_decref(rep);
    free(sbom_text);
    free(rep_text);
    return rc;
}
