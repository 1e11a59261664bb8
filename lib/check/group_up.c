/* group_up.c — test group UP, update management (QCVN 135 G3, EN 303 645 5.3): tampered copies of the
 * vendor's bundle (UP-03) and an older validly signed bundle (UP-04) uploaded through the declared endpoint
 * with an admin session; the upload refused without authentication (UP-05).
 * Trust level: the bundle files come from the lab's profile (trusted input, size-capped); every answer of
 * the device is untrusted and only read through capped buffers and jansson. The vendor's good bundle is
 * never uploaded as it is (that would install it). */
#include "check_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void check_t_up05(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (p->update_path[0] == '\0' || c->web_port == 0) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No update upload endpoint declared (profile update.path); ask the vendor "
                      "how updates are uploaded");
        return;
    }
    static const char probe[] = "qcvn-check: not an update bundle";
    struct check_http_req q = {.port = c->web_port, .tls = c->web_tls, .method = p->update_method, .path = p->update_path,
                               .body = probe, .content_type = "application/octet-stream"};
    struct check_http_resp h;
    check_pace(c);
    int rc = check_http(c, &q, &h);
    check_http_evidence(c, r, &q, &h);
    if (rc != 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "No answer from the update endpoint");
    else if (h.status == 401 || h.status == 403)
        check_verdict(r, CHECK_PASS, "Update upload without authentication refused (%ld)", h.status);
    else if (h.status >= 200 && h.status < 300)
        check_verdict(r, CHECK_FAIL, "Update upload accepted without authentication (%ld)", h.status);
    else if (h.status == 404 || h.status == 405)
        check_verdict(r, CHECK_INCONCLUSIVE, "The declared update endpoint does not exist (%ld)", h.status);
    else
        check_verdict(r, CHECK_FAIL, "Update upload without authentication was not refused as unauthenticated (%ld): "
                      "the body was examined before authentication", h.status);
    check_http_resp_free(&h);
}

#define UPD_BUNDLE_MAX ((size_t)256 * 1024 * 1024) /* largest bundle file read into memory */
#define UPD_SC_HDR 24u                            /* safecam bundle header (docs/update-bundle.md) */
#define UPD_SC_SIG 64u

static int bundle_read(const char *path, unsigned char **out, size_t *len, char *err, size_t err_size)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        IGN_FMT(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return SAFECAM_ERR_IO;
    }
    struct stat st;
    int rc = SAFECAM_ERR_IO;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        IGN_FMT(err, err_size, "%s is not a regular file", path);
        goto out;
    }
    if (st.st_size < 2 || (size_t)st.st_size > UPD_BUNDLE_MAX) {
        IGN_FMT(err, err_size, "%s: size %lld outside 2 .. %zu bytes", path, (long long)st.st_size, UPD_BUNDLE_MAX);
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    size_t n = (size_t)st.st_size;
    buf = malloc(n);
    if (buf == NULL) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            IGN_FMT(err, err_size, "%s: read failed", path);
            goto out;
        }
        got += (size_t)k;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

/* The device's version facts from the profile's version path: an object with whichever of the known
 * keys the answer carries; NULL when none (or no answer). */
static json_t *version_facts(struct check_ctx *c, struct check_result *r, struct check_session *s, const char *path)
{
    static const char *const keys[] = {"firmware_version", "version", "running_slot", "slots", "security_version",
                                       "active", "floor", NULL};
    struct check_http_resp h;
    json_t *facts = NULL;
    if (check_http_session(c, s, "GET", path, NULL, &h) != 0 || h.status != 200 || h.body_truncated) {
        check_evidence(c, r, "GET %s -> %ld (version facts unavailable)", path, h.status);
        goto out;
    }
    json_t *doc = json_loadb(h.body, h.body_len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(doc)) {
        facts = json_object();
        for (size_t i = 0; keys[i] && facts; i++) {
            json_t *v = json_object_get(doc, keys[i]);
            if (v != NULL)
                json_object_set(facts, keys[i], v);
        }
        if (facts && json_object_size(facts) == 0) {
            json_decref(facts);
            facts = NULL;
        }
    }
    json_decref(doc);
out:
    check_http_resp_free(&h);
    return facts;
}

static void facts_evidence(struct check_ctx *c, struct check_result *r, const char *when, const json_t *facts)
{
    json_t *show = json_object();
    if (show == NULL)
        return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)facts, key, v) {
        if (strcmp(key, "slots") == 0 && json_is_object(v)) {
            /* per slot: version and security version only (keeps the line short) */
            json_t *sl = json_object();
            const char *sk;
            json_t *sv;
            json_object_foreach(v, sk, sv) {
                if (sl && json_is_object(sv))
                    json_object_set_new(sl, sk, json_pack("{s:O?,s:O?}", "version", json_object_get(sv, "version"),
                                                          "security_version", json_object_get(sv, "security_version")));
            }
            if (sl)
                json_object_set_new(show, key, sl);
        } else {
            json_object_set(show, key, v);
        }
    }
    char *txt = json_dumps(show, JSON_COMPACT | JSON_SORT_KEYS);
    if (txt) {
        check_evidence(c, r, "device version %s: %.600s", when, txt);
        free(txt);
    }
    json_decref(show);
}

struct variant {
    const char *name;
    unsigned char *data;      /* shared with the vendor's bundle: no copy is made */
    size_t len;               /* bytes sent (a prefix for the truncated copy) */
    size_t flip;              /* byte flipped (xor 0x01) while this variant is sent; SIZE_MAX = none */
    long status;
    char code[64];
    int accepted, refused, other;
};

/* Upload one variant; fills status/code and the classification. */
static void upload(struct check_ctx *c, struct check_result *r, struct check_session *s, struct variant *v)
{
    const struct check_profile *p = c->prof;
    struct check_http_req q = {.port = c->web_port,
                               .tls = c->web_tls,
                               .method = p->update_method,
                               .path = p->update_path,
                               .body = (const char *)v->data,
                               .body_len = v->len,
                               .content_type = p->update_content_type[0] ? p->update_content_type
                                                                         : "application/octet-stream",
                               .cookie = s->cookie[0] ? s->cookie : NULL,
                               .csrf_header = p->csrf_header,
                               .csrf = s->csrf};
    if (strcmp(p->login_type, "basic") == 0) {
        q.basic_user = p->admin.username;
        q.basic_pass = c->admin_pw;
    }
    struct check_http_resp h;
    check_pace(c);
    if (v->flip != SIZE_MAX)
        v->data[v->flip] ^= 0x01;
    int rc = check_http(c, &q, &h);
    if (v->flip != SIZE_MAX)
        v->data[v->flip] ^= 0x01; /* back to the vendor's bytes */
    v->status = rc == 0 ? h.status : 0;
    v->code[0] = '\0';
    if (rc == 0 && h.body_len > 0) {
        json_t *doc = json_loadb(h.body, h.body_len, 0, NULL);
        const char *e = json_string_value(json_object_get(doc, "error"));
        if (e != NULL)
            check_printable(v->code, sizeof v->code, e, strlen(e));
        json_decref(doc);
    }
    if (rc != 0)
        check_evidence(c, r, "%s: %s %s (%zu bytes) -> no answer (%s)", v->name, q.method, q.path, v->len, h.err);
    else
        check_evidence(c, r, "%s: %s %s (%zu bytes, admin session) -> %ld%s%s (%lld ms)", v->name, q.method, q.path,
                       v->len, h.status, v->code[0] ? " error=" : "", v->code, (long long)h.ms);
    v->accepted = rc == 0 && h.status >= 200 && h.status < 300;
    v->refused = rc == 0 && h.status >= 400 && h.status < 500 && h.status != 401 && h.status != 403 &&
                 h.status != 404 && h.status != 405 && h.status != 409 && h.status != 429;
    v->other = !v->accepted && !v->refused;
    check_http_resp_free(&h);
}

static int update_preconditions(struct check_ctx *c, struct check_result *r, const char *file, const char *what)
{
    const struct check_profile *p = c->prof;
    if (p->update_path[0] == '\0' || c->web_port == 0) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No update upload endpoint declared (profile update.path)");
        return 0;
    }
    if (file[0] == '\0') {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No %s given (profile update.%s); ask the vendor for one", what,
                      file == p->update_bundle_file ? "bundle_file" : "older_bundle_file");
        return 0;
    }
    return 1;
}

/* Shared body: uploads n variants with an admin session, compares the version facts before and after. */
static void run_uploads(struct check_ctx *c, struct check_result *r, struct variant *v, size_t n, const char *label)
{
    const struct check_profile *p = c->prof;
    const char *vpath = p->update_version_path[0] ? p->update_version_path : p->authed_path;
    struct check_session s;
    json_t *before = NULL, *after = NULL, *data = NULL;
    int rc = check_admin_login(c, r, &s);
    if (rc != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed (%s)", safecam_err_name(rc));
        return;
    }
    if (vpath[0])
        before = version_facts(c, r, &s, vpath);
    if (before)
        facts_evidence(c, r, "before", before);
    size_t accepted = 0, refused = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        upload(c, r, &s, &v[i]);
        accepted += (size_t)v[i].accepted;
        refused += (size_t)v[i].refused;
        other += (size_t)v[i].other;
        if (v[i].accepted)
            break; /* the device took it: it may be installing/restarting now */
    }
    if (before && accepted == 0) {
        after = version_facts(c, r, &s, vpath);
        if (after)
            facts_evidence(c, r, "after", after);
    }
    (void)check_logout(c, &s);
    data = json_array();
    for (size_t i = 0; i < n && data; i++)
        json_array_append_new(data, json_pack("{s:s,s:I,s:s}", "variant", v[i].name, "status", (json_int_t)v[i].status,
                                              "error", v[i].code));
    r->data = json_pack("{s:o?}", "uploads", data);
    int changed = before && after && !json_equal(before, after);
    if (accepted)
        check_verdict(r, CHECK_FAIL, "The device accepted %s (2xx)", label);
    else if (changed)
        check_verdict(r, CHECK_FAIL, "The upload was answered as refused but the device's version facts changed");
    else if (other)
        check_verdict(r, CHECK_INCONCLUSIVE, "%zu of %zu upload(s) got neither acceptance nor a clear refusal (see the "
                      "status per upload: no answer, 401/403 session, 404/405, 409 busy, 429, 5xx)", other, n);
    else if (!before || !after)
        check_verdict(r, CHECK_INCONCLUSIVE, "Every upload was refused (4xx) but the firmware version could not be read "
                      "before and after (profile update.version_path or auth.authenticated_probe)");
    else
        check_verdict(r, CHECK_PASS, "All %zu upload(s) of %s refused (4xx) and the firmware/slot versions unchanged",
                      refused, label);
    json_decref(before);
    json_decref(after);
}

/* UP-03 — QCVN 135 G3 / EN 303 645 5.3-9, 5.3-10: tampered bundles refused, version unchanged. */
void check_t_up03(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (!update_preconditions(c, r, p->update_bundle_file, "vendor-signed bundle"))
        return;
    unsigned char *good = NULL;
    size_t len = 0;
    char err[CHECK_PATH + 96];
    err[0] = '\0';
    if (bundle_read(p->update_bundle_file, &good, &len, err, sizeof err) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Cannot read the profile's bundle: %s", err);
        return;
    }
    /* where to flip: the safecam layout when the file has it, else early/late positions */
    size_t sig_at = len / 16, pay_at = len - 1 - len / 4, man_at = len / 8;
    int sc = 0;
    if (len > UPD_SC_HDR + UPD_SC_SIG && memcmp(good, "SCUPDATE", 8) == 0) {
        size_t mlen = (size_t)good[12] << 24 | (size_t)good[13] << 16 | (size_t)good[14] << 8 | (size_t)good[15];
        if (mlen > 0 && UPD_SC_HDR + mlen + UPD_SC_SIG < len) {
            sc = 1;
            man_at = UPD_SC_HDR + mlen / 2;
            sig_at = UPD_SC_HDR + mlen + UPD_SC_SIG / 2;
            size_t pay0 = UPD_SC_HDR + mlen + UPD_SC_SIG;
            pay_at = pay0 + (len - pay0) / 2;
        }
    }
    check_evidence(c, r, "vendor bundle: %zu bytes%s; the bundle itself is never uploaded", len,
                   sc ? " (safecam layout: header, manifest, signature, payloads)" : " (layout unknown: positions by size)");
    struct variant v[4];
    memset(v, 0, sizeof v);
    const char *names[4] = {"payload byte flipped", "manifest byte flipped", "signature byte flipped",
                            "truncated (last quarter cut)"};
    size_t at[4] = {pay_at, man_at, sig_at, SIZE_MAX};
    for (size_t i = 0; i < 4; i++) {
        v[i].name = names[i];
        v[i].data = good;
        v[i].len = i < 3 ? len : len - len / 4;
        v[i].flip = at[i];
        if (i < 3)
            check_evidence(c, r, "variant '%s': byte %zu xor 0x01", names[i], at[i]);
        else
            check_evidence(c, r, "variant '%s': first %zu of %zu bytes", names[i], v[i].len, len);
    }
    run_uploads(c, r, v, 4, "tampered copies of the vendor's bundle");
    free(good);
}

/* UP-04 — QCVN 135 G3 / EN 303 645 5.3-9, 5.3-10: a validly signed older bundle (lower security version)
 * is refused. The profile naming the older bundle is the vendor's consent to upload it. */
void check_t_up04(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    if (!update_preconditions(c, r, p->update_older_bundle_file, "older vendor-signed bundle"))
        return;
    struct variant v;
    memset(&v, 0, sizeof v);
    char err[CHECK_PATH + 96];
    err[0] = '\0';
    if (bundle_read(p->update_older_bundle_file, &v.data, &v.len, err, sizeof err) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Cannot read the profile's older bundle: %s", err);
        return;
    }
    v.name = "older signed bundle";
    v.flip = SIZE_MAX;
    run_uploads(c, r, &v, 1, "the older (downgrade) bundle");
    free(v.data);
}
