/* group_del.c — test group DEL, deletion of user data (QCVN 135 G9, EN 303 645 5.11-1, 5.11-4): seed data,
 * delete one item selectively, erase the device back to its factory state, and check that deletions ask for
 * a confirmation and report their result (DEL-01..DEL-04) — through the profile's declared deletion
 * endpoints, only with --allow-destructive, consent.destructive and consent.deletion / consent.factory_reset.
 * Trust level: every answer of the device is untrusted (capped buffers, jansson, bounded waits). */
#include "check_internal.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEL_ID_MAX 96

/* 1 when doc holds, at most 6 levels deep, an object whose "id" (string or integer) equals id. */
static int has_id(json_t *doc, const char *id, int depth)
{
    if (doc == NULL || depth > 6)
        return 0;
    if (json_is_array(doc)) {
        size_t i;
        json_t *v;
        json_array_foreach(doc, i, v) {
            if (has_id(v, id, depth + 1))
                return 1;
        }
        return 0;
    }
    if (!json_is_object(doc))
        return 0;
    json_t *v = json_object_get(doc, "id");
    char txt[DEL_ID_MAX] = "";
    if (json_is_string(v))
        IGN_STRLCPY(txt, json_string_value(v), sizeof txt);
    else if (json_is_integer(v))
        IGN_FMT(txt, sizeof txt, "%lld", (long long)json_integer_value(v));
    if (txt[0] && strcmp(txt, id) == 0)
        return 1;
    const char *key;
    json_object_foreach(doc, key, v) {
        if (has_id(v, id, depth + 1))
            return 1;
    }
    return 0;
}

/* Send one declared request; "{id}" in the path replaced by id; with confirm, the profile's confirm_field set
 * to true in the body. Evidence line; returns the status (0 on transport error); *doc gets the JSON answer. */
static long del_send(struct check_ctx *c, struct check_result *r, struct check_session *s,
                     const struct check_request *q, const char *id, int confirm, const char *note, json_t **doc,
                     size_t *body_len)
{
    const struct check_profile *p = c->prof;
    char path[CHECK_PATH + DEL_ID_MAX];
    const char *ph = strstr(q->path, "{id}");
    if (ph != NULL && id != NULL)
        IGN_FMT(path, sizeof path, "%.*s%s%s", (int)(ph - q->path), q->path, id, ph + 4);
    else
        IGN_STRLCPY(path, q->path, sizeof path);
    char *body = NULL;
    int with_body = strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0;
    if (with_body) {
        json_t *b = q->body[0] ? json_loads(q->body, 0, NULL) : json_object();
        if (json_is_object(b)) {
            if (confirm)
                json_object_set_new(b, p->del_confirm_field, json_true());
            else
                json_object_del(b, p->del_confirm_field);
            body = json_dumps(b, JSON_COMPACT);
        }
        json_decref(b);
    }
    struct check_http_resp h;
    int rc = check_http_session(c, s, q->method, path, body ? body : (with_body ? "{}" : NULL), &h);
    free(body);
    long st = rc == 0 ? h.status : 0;
    check_evidence(c, r, "%s %s [admin session%s] -> %ld", q->method, path, note, st);
    if (doc)
        *doc = NULL;
    if (body_len)
        *body_len = rc == 0 ? h.body_len : 0;
    if (rc == 0 && doc && !h.body_truncated && h.body_len > 0)
        *doc = json_loadb(h.body, h.body_len, JSON_REJECT_DUPLICATES, NULL);
    check_http_resp_free(&h);
    return st;
}

/* Seed one item; its id into id (DEL_ID_MAX). 0 or error (evidence written). */
static int del_seed(struct check_ctx *c, struct check_result *r, struct check_session *s, char *id)
{
    json_t *doc = NULL;
    id[0] = '\0';
    long st = del_send(c, r, s, &c->prof->del_seed, NULL, 0, ", seed", &doc, NULL);
    json_t *v = json_object_get(doc, "id");
    if (json_is_string(v) && json_string_length(v) < DEL_ID_MAX && json_string_length(v) > 0) {
        IGN_STRLCPY(id, json_string_value(v), DEL_ID_MAX);
        for (char *k = id; *k; k++)
            if ((unsigned char)*k <= 0x20 || *k == '/' || *k == '?' || *k == '#' || *k == '%' || *k == 0x7f)
                id[0] = '\0';
    } else if (json_is_integer(v)) {
        IGN_FMT(id, DEL_ID_MAX, "%lld", (long long)json_integer_value(v));
    }
    json_decref(doc);
    if (st < 200 || st > 299 || id[0] == '\0') {
        check_evidence(c, r, "the seed request did not answer 2xx with an \"id\"");
        return SAFECAM_ERR_PROTO;
    }
    check_evidence(c, r, "seeded item id %s", id);
    return 0;
}

/* 1 listed, 0 not listed, -1 the list could not be read. */
static int del_listed(struct check_ctx *c, struct check_result *r, struct check_session *s, const char *id)
{
    json_t *doc = NULL;
    long st = del_send(c, r, s, &c->prof->del_list, NULL, 0, ", list", &doc, NULL);
    int out = (st == 200 && doc != NULL) ? has_id(doc, id, 0) : -1;
    json_decref(doc);
    if (out >= 0)
        check_evidence(c, r, "item %s %s", id, out ? "listed" : "not listed");
    return out;
}

/* Declared endpoints and the specific consent; sets NEEDS_EVIDENCE and returns 0 when the test cannot run. */
static int del_gate(struct check_ctx *c, struct check_result *r, int need_one)
{
    const struct check_profile *p = c->prof;
    if (p->del_seed.path[0] == '\0' || p->del_list.path[0] == '\0' || (need_one && p->del_one.path[0] == '\0') ||
        c->web_port == 0) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No deletion endpoints declared (profile deletion.seed, deletion.list%s); "
                      "ask the vendor for a test log of creating, listing and deleting recordings and snapshots",
                      need_one ? ", deletion.delete_one" : "");
        return 0;
    }
    if (!p->consent_deletion) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The profile does not consent to writing and deleting data (consent.deletion)");
        return 0;
    }
    return 1;
}

static int del_login(struct check_ctx *c, struct check_result *r, struct check_session *s)
{
    int rc = check_admin_login(c, r, s);
    if (rc != 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "Admin login failed (%s)", safecam_err_name(rc));
    return rc;
}

void check_t_del01(struct check_ctx *c, struct check_result *r)
{
    struct check_session s;
    char id[DEL_ID_MAX];
    if (!del_gate(c, r, 0) || del_login(c, r, &s) != 0)
        return;
    if (del_seed(c, r, &s, id) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Data could not be seeded through deletion.seed");
    } else {
        int l = del_listed(c, r, &s, id);
        if (l == 1)
            check_verdict(r, CHECK_PASS, "Seeded an item and found it in the declared list");
        else
            check_verdict(r, CHECK_INCONCLUSIVE, "The seeded item is %s the declared list",
                          l == 0 ? "not in" : "unreadable from");
    }
    (void)check_logout(c, &s);
}

void check_t_del02(struct check_ctx *c, struct check_result *r)
{
    struct check_session s;
    char a[DEL_ID_MAX], b[DEL_ID_MAX];
    if (!del_gate(c, r, 1) || del_login(c, r, &s) != 0)
        return;
    if (del_seed(c, r, &s, a) != 0 || del_seed(c, r, &s, b) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Data could not be seeded through deletion.seed");
        goto out;
    }
    long st = del_send(c, r, &s, &c->prof->del_one, a, 1, ", confirmed", NULL, NULL);
    if (st < 200 || st > 299) {
        check_verdict(r, CHECK_FAIL, "The confirmed deletion of one item was refused (%ld)", st);
        goto out;
    }
    int la = del_listed(c, r, &s, a), lb = del_listed(c, r, &s, b);
    if (la < 0 || lb < 0)
        check_verdict(r, CHECK_INCONCLUSIVE, "The declared list could not be read after the deletion");
    else if (la == 1)
        check_verdict(r, CHECK_FAIL, "The deleted item is still listed after a %ld answer", st);
    else if (lb == 0)
        check_verdict(r, CHECK_FAIL, "Deleting one item also removed another one: deletion is not selective");
    else
        check_verdict(r, CHECK_PASS, "One item deleted (%ld), the other kept", st);
out:
    (void)check_logout(c, &s);
}

/* SHA-256 key id of the web certificate's public key, hex into out (65 bytes); "" when unknown. */
static void web_key_id(struct check_ctx *c, char *out, size_t out_size)
{
    out[0] = '\0';
    int fd = -1;
    if (!c->web_tls || check_tls_global_init() != 0 ||
        check_tcp_connect(c, c->web_port, c->opt->timeout_s * 1000, &fd) != 0)
        return;
    gnutls_certificate_credentials_t x = NULL;
    gnutls_session_t s = NULL;
    gnutls_x509_crt_t crt = NULL;
    if (gnutls_certificate_allocate_credentials(&x) < 0 || gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
        gnutls_set_default_priority(s) < 0 || gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x) < 0)
        goto out;
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, (unsigned)c->opt->timeout_s * 1000u);
    int hr;
    do {
        hr = gnutls_handshake(s);
    } while (hr < 0 && !gnutls_error_is_fatal(hr));
    if (hr < 0)
        goto out;
    unsigned n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
    unsigned char kid[64];
    size_t klen = sizeof kid;
    if (peers == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0 ||
        gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0 ||
        gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, kid, &klen) < 0 || klen * 2 + 1 > out_size)
        goto out;
    for (size_t i = 0; i < klen; i++)
        IGN_FMT(out + 2 * i, out_size - 2 * i, "%02x", kid[i]);
    (void)gnutls_bye(s, GNUTLS_SHUT_RDWR);
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (s)
        gnutls_deinit(s);
    if (x)
        gnutls_certificate_free_credentials(x);
    close(fd);
}

void check_t_del03(struct check_ctx *c, struct check_result *r)
{
    struct check_profile *p = c->prof;
    if (p->del_reset.path[0] == '\0' || c->web_port == 0) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "No factory-reset endpoint declared (profile deletion.factory_reset); "
                      "ask the vendor for a test log of a full erase (crypto-erase, initial password back, new TLS key)");
        return;
    }
    if (!p->consent_factory_reset) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The profile does not consent to a factory erase (consent.factory_reset)");
        return;
    }
    if (p->initial_password == NULL) {
        check_verdict(r, CHECK_NEEDS_EVIDENCE, "The label's initial password is not in the profile "
                      "(credentials.initial_password_env): the factory state cannot be checked");
        return;
    }
    struct check_session s;
    if (del_login(c, r, &s) != 0)
        return;
    char key_before[129], key_after[129], id[DEL_ID_MAX] = "";
    web_key_id(c, key_before, sizeof key_before);
    check_evidence(c, r, "TLS public key SHA-256 before: %s", key_before[0] ? key_before : "(not read)");
    if (p->del_seed.path[0] && p->del_list.path[0] && p->consent_deletion && del_seed(c, r, &s, id) != 0)
        id[0] = '\0';
    long st = del_send(c, r, &s, &p->del_reset, NULL, 1, ", confirmed", NULL, NULL);
    if (st < 200 || st > 299) {
        check_verdict(r, CHECK_INCONCLUSIVE, "The confirmed factory reset was not accepted (%ld)", st);
        (void)check_logout(c, &s);
        return;
    }
    /* the device may restart: wait (bounded) for the port to close, then to answer again */
    int64_t t0 = safecam_time_mono_ms(), limit = (int64_t)c->opt->max_wait_s * 1000;
    int fd = -1;
    while (safecam_time_mono_ms() - t0 < 2000 && safecam_time_mono_ms() - t0 < limit) {
        if (check_tcp_connect(c, c->web_port, 500, &fd) != 0)
            break;
        close(fd);
        check_sleep_ms(100, &c->wait_other_ms);
    }
    int up = 0;
    while (safecam_time_mono_ms() - t0 < limit) {
        if (check_tcp_connect(c, c->web_port, 500, &fd) == 0) {
            close(fd);
            up = 1;
            break;
        }
        check_sleep_ms(250, &c->wait_other_ms);
    }
    if (!up) {
        check_verdict(r, CHECK_FAIL, "The device did not come back within %d s (--max-wait) after the reset",
                      c->opt->max_wait_s);
        return;
    }
    check_evidence(c, r, "web port answering %lld ms after the reset", (long long)(safecam_time_mono_ms() - t0));
    web_key_id(c, key_after, sizeof key_after);
    check_evidence(c, r, "TLS public key SHA-256 after: %s", key_after[0] ? key_after : "(not read)");
    int rc_init = check_login(c, r, p->admin.username, p->initial_password, NULL, &s, NULL);
    int init_ok = rc_init == 0 || rc_init == SAFECAM_ERR_STATE;
    check_evidence(c, r, "login with the label's initial password -> %s", init_ok ? "accepted" : safecam_err_name(rc_init));
    struct check_session s2;
    int rc_lab = check_login(c, r, p->admin.username, c->admin_pw, NULL, &s2, NULL);
    check_evidence(c, r, "login with the lab's admin password -> %s", rc_lab == 0 ? "accepted" : safecam_err_name(rc_lab));
    if (rc_lab == SAFECAM_ERR_DENIED)
        check_fail_record(c, p->admin.username);
    int listed = -1, restored = 0;
    /* give the lab its admin password back so the tests after this one can log in */
    if (init_ok && rc_lab != 0 && p->pwchange_path[0]) {
        long pst = check_password_change(c, &s, p->admin.username, p->initial_password, c->admin_pw, NULL);
        check_evidence(c, r, "initial password changed back to the lab's admin password -> %ld", pst);
        restored = pst >= 200 && pst <= 299;
    }
    if (init_ok && id[0] && (!s.change_required || restored))
        listed = del_listed(c, r, &s, id);
    if (init_ok)
        (void)check_logout(c, &s);
    if (rc_lab == 0) {
        (void)check_logout(c, &s2);
        check_verdict(r, CHECK_FAIL, "After the factory reset the lab's admin password still works: the accounts were "
                      "not erased");
    } else if (!init_ok) {
        check_verdict(r, CHECK_FAIL, "After the factory reset the label's initial password does not work (%s)",
                      safecam_err_name(rc_init));
    } else if (listed == 1) {
        check_verdict(r, CHECK_FAIL, "The item seeded before the reset is still listed after it");
    } else if (key_before[0] && key_after[0] && strcmp(key_before, key_after) == 0) {
        check_verdict(r, CHECK_FAIL, "The TLS key is the same after the factory reset (no new key)");
    } else if (!key_before[0] || !key_after[0]) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Factory state reached (initial password back, lab password refused) but "
                      "the TLS key could not be compared");
    } else {
        check_verdict(r, CHECK_PASS, "Factory state reached: initial password back, lab password refused, new TLS key%s",
                      listed == 0 ? ", seeded data gone" : "");
    }
}

void check_t_del04(struct check_ctx *c, struct check_result *r)
{
    const struct check_profile *p = c->prof;
    struct check_session s;
    char id[DEL_ID_MAX];
    if (!del_gate(c, r, 1) || del_login(c, r, &s) != 0)
        return;
    if (del_seed(c, r, &s, id) != 0) {
        check_verdict(r, CHECK_INCONCLUSIVE, "Data could not be seeded through deletion.seed");
        goto out;
    }
    long st = del_send(c, r, &s, &p->del_one, id, 0, ", without confirmation", NULL, NULL);
    int l = del_listed(c, r, &s, id);
    if ((st >= 200 && st <= 299) || l == 0) {
        check_verdict(r, CHECK_FAIL, "A deletion without the confirmation field (%s) was carried out (%ld)",
                      p->del_confirm_field, st);
        goto out;
    }
    if (st < 400 || st > 499) {
        check_verdict(r, CHECK_FAIL, "A deletion without confirmation got %ld instead of a clear 4xx refusal", st);
        goto out;
    }
    if (p->del_reset.path[0] && p->consent_factory_reset) {
        long rs = del_send(c, r, &s, &p->del_reset, NULL, 0, ", factory reset without confirmation", NULL, NULL);
        if (rs < 400 || rs > 499) {
            check_verdict(r, CHECK_FAIL, "A factory reset without the confirmation field was not refused (%ld)", rs);
            goto out;
        }
    }
    json_t *doc = NULL;
    size_t blen = 0;
    st = del_send(c, r, &s, &p->del_one, id, 1, ", confirmed", &doc, &blen);
    int explicit_result = doc != NULL && (json_is_object(doc) ? json_object_size(doc) > 0 : json_is_array(doc));
    json_decref(doc);
    l = del_listed(c, r, &s, id);
    if (st < 200 || st > 299)
        check_verdict(r, CHECK_FAIL, "The confirmed deletion was refused (%ld)", st);
    else if (l != 0)
        check_verdict(r, CHECK_FAIL, "The confirmed deletion answered %ld but the item is %s", st,
                      l == 1 ? "still listed" : "not verifiable");
    else if (!explicit_result)
        check_verdict(r, CHECK_FAIL, "The confirmed deletion answered %ld without reporting its result (empty body, "
                      "%zu bytes)", st, blen);
    else
        check_verdict(r, CHECK_PASS, "A deletion without confirmation was refused (4xx); the confirmed one answered %ld "
                      "with its result", st);
out:
    (void)check_logout(c, &s);
}
