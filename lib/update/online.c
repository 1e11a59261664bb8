/* online.c — the periodic/on-demand update check against the vendor server (libcurl, HTTPS only,
 * certificate and host name verified against a pinned vendor CA, never the system store).
 * Trust level: talks to the network; what it downloads is a hint (latest.json) or a bundle that goes
 * through the same streaming verifier as an upload. QCVN 135 G3 / EN 303 645 5.3-4, 5.3-7, 5.3-9. */
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/update.h"
#include "update_internal.h"

#define URL_MAX 1024u
#define LATEST_MAX_BYTES 4096u

static int online_init(void)
{
    static int done;
    if (!done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return SAFECAM_ERR_INTERNAL;
        done = 1;
    }
    return sodium_init() < 0 ? SAFECAM_ERR_INTERNAL : 0;
}

static int base_url_valid(const char *u)
{
    if (!u || strncmp(u, "https://", 8) != 0 || strlen(u) > URL_MAX / 2)
        return 0;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

/* Hardened easy handle: https only, no redirects, no proxy from the environment, pinned CA, TLS >= 1.2. */
static CURL *online_handle(const struct update_online_opts *o, const char *url)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    int bad = 0;
    bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : 15L) !=
           CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 600L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 64L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "safecam-update/" SAFECAM_VERSION) != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(c);
        return NULL;
    }
    return c;
}

static int curl_err(CURLcode cc)
{
    switch (cc) {
    case CURLE_OK: return 0;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return SAFECAM_ERR_DENIED;
    case CURLE_OPERATION_TIMEDOUT: return SAFECAM_ERR_TIMEOUT;
    default: return SAFECAM_ERR_IO;
    }
}

struct membuf {
    char data[LATEST_MAX_BYTES + 1];
    size_t len;
    int overflow;
};

static size_t mem_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct membuf *b = ud;
    size_t n = size * nmemb;
    if (n > LATEST_MAX_BYTES - b->len) {
        b->overflow = 1;
        return 0; /* aborts the transfer */
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

/* -1, 0, 1 like strcmp, for two strict versions (prerelease sorts before the release). */
static int version_cmp(const char *a, const char *b)
{
    unsigned long va[3] = {0}, vb[3] = {0};
    const char *pa = a, *pb = b;
    for (int i = 0; i < 3; i++) {
        va[i] = strtoul(pa, (char **)&pa, 10);
        vb[i] = strtoul(pb, (char **)&pb, 10);
        if (va[i] != vb[i])
            return va[i] < vb[i] ? -1 : 1;
        if (*pa == '.')
            pa++;
        if (*pb == '.')
            pb++;
    }
    int ra = *pa == '\0', rb = *pb == '\0';
    if (ra != rb)
        return ra ? 1 : -1;
    int c = strcmp(pa, pb);
    return c < 0 ? -1 : c > 0;
}

static int latest_parse(const char *data, size_t len, struct update_online_info *out)
{
    static const char *const allowed[] = {"version", "security_version", "bundle", "size"};
    json_error_t jerr;
    int rc = SAFECAM_ERR_INVAL;
    if (!safecam_utf8_valid(data, len))
        return SAFECAM_ERR_INVAL;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root) || json_object_size(root) != 4)
        goto out;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        int ok = 0;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(allowed); i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            goto out;
    }
    const json_t *v = json_object_get(root, "version"), *sv = json_object_get(root, "security_version"),
                 *b = json_object_get(root, "bundle"), *sz = json_object_get(root, "size");
    if (!json_is_string(v) || safecam_strlcpy(out->version, json_string_value(v), sizeof out->version) != 0 ||
        !update_version_valid(out->version))
        goto out;
    if (!json_is_integer(sv) || json_integer_value(sv) < 0 || json_integer_value(sv) > (json_int_t)UINT32_MAX)
        goto out;
    out->security_version = (uint32_t)json_integer_value(sv);
    if (!json_is_string(b) || safecam_strlcpy(out->bundle, json_string_value(b), sizeof out->bundle) != 0 ||
        !update_name_valid(out->bundle))
        goto out;
    if (!json_is_integer(sz) || json_integer_value(sz) <= 0 ||
        (uint64_t)json_integer_value(sz) > UPDATE_PAYLOAD_MAX_BYTES)
        goto out;
    out->size = (uint64_t)json_integer_value(sz);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int update_online_check(const char *state_dir, const struct update_online_opts *o, const char *model,
                        struct update_online_info *out)
{
    char url[URL_MAX];
    struct membuf *buf = NULL;
    CURL *c = NULL;
    int rc;
    if (!state_dir || !o || !o->ca_file || !out || !base_url_valid(o->base_url) || !update_name_valid(model))
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if ((rc = online_init()) != 0)
        return rc;
    if ((rc = safecam_fmt(url, sizeof url, "%s/%s/latest.json", o->base_url, model)) != 0)
        return rc;
    buf = calloc(1, sizeof *buf);
    c = buf ? online_handle(o, url) : NULL;
    if (!c) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    if (curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, buf) != CURLE_OK) {
        rc = SAFECAM_ERR_INTERNAL;
        goto out;
    }
    CURLcode cc = curl_easy_perform(c);
    if (buf->overflow) {
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    if ((rc = curl_err(cc)) != 0) {
        log_warn("update: online check failed: %s", curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    rc = latest_parse(buf->data, buf->len, out);
    if (rc != 0)
        goto out;
    struct update_status st;
    rc = update_slots_status(state_dir, &st);
    if (rc != 0)
        goto out;
    const struct update_slot_info *act = &st.slots[st.active == 'B'];
    out->available = version_cmp(out->version, act->version) > 0 && out->security_version >= st.floor &&
                     out->security_version >= act->security_version;
out:
    if (c)
        curl_easy_cleanup(c);
    free(buf);
    return rc;
}

struct dl_ctx {
    const char *state_dir;
    const struct update_session_opts *sopts;
    CURL *c;
    update_session *s;       /* opened at the first body byte of a 200 answer over verified TLS */
    int open_rc;
    int refused;
    uint64_t got;
    uint64_t cap;
};

static size_t dl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct dl_ctx *d = ud;
    size_t n = size * nmemb;
    if (!d->s) {
        long status = 0;
        curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            return n; /* an error page: discarded, the status decides below */
        d->open_rc = update_session_new(d->state_dir, d->sopts, &d->s);
        if (d->open_rc != 0)
            return 0;
    }
    d->got += n;
    if (d->got > d->cap || update_session_feed(d->s, ptr, n) != 0) {
        d->refused = 1;
        return 0;
    }
    return n;
}

int update_online_install(const char *state_dir, const struct update_online_opts *o,
                          const struct update_session_opts *sopts, const struct update_online_info *info,
                          enum update_reason *reason_out)
{
    char url[URL_MAX];
    char model[UPDATE_NAME_MAX + 1];
    CURL *c = NULL;
    enum update_reason reason = UPDATE_INTERNAL;
    int rc;
    struct dl_ctx d = {.state_dir = state_dir, .sopts = sopts};
    if (reason_out)
        *reason_out = UPDATE_INTERNAL;
    if (!state_dir || !o || !o->ca_file || !info || !base_url_valid(o->base_url) || !update_name_valid(info->bundle))
        return SAFECAM_ERR_INVAL;
    if ((rc = online_init()) != 0)
        return rc;
    if (sopts && sopts->model)
        rc = safecam_strlcpy(model, sopts->model, sizeof model);
    else
        rc = update_device_model(state_dir, model, sizeof model);
    if (rc != 0 || !update_name_valid(model) ||
        safecam_fmt(url, sizeof url, "%s/%s/%s", o->base_url, model, info->bundle) != 0)
        return rc != 0 ? rc : SAFECAM_ERR_INVAL;
    d.cap = sopts && sopts->max_bundle_bytes ? sopts->max_bundle_bytes : UPDATE_BUNDLE_MAX_BYTES_DEFAULT;
    c = online_handle(o, url);
    d.c = c;
    if (!c || curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dl_write) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &d) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)d.cap) != CURLE_OK) {
        rc = SAFECAM_ERR_INTERNAL;
        goto out;
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (d.open_rc != 0) {
        rc = d.open_rc;
        reason = rc == SAFECAM_ERR_STATE ? UPDATE_BUSY : UPDATE_IO;
        goto out;
    }
    if (d.refused) {
        reason = update_session_reason(d.s);
        if (reason == UPDATE_OK) /* over the byte cap before the manifest said so */
            reason = UPDATE_TOO_LARGE;
        rc = update_reason_err(reason);
        goto out;
    }
    if (cc == CURLE_FILESIZE_EXCEEDED) {
        reason = UPDATE_TOO_LARGE;
        rc = SAFECAM_ERR_TOOBIG;
        goto out;
    }
    if ((rc = curl_err(cc)) != 0 || status != 200 || !d.s) {
        log_warn("update: download failed: %s (HTTP %ld)", curl_easy_strerror(cc), status);
        if (rc == 0)
            rc = SAFECAM_ERR_IO;
        reason = UPDATE_IO;
        goto out;
    }
    rc = update_session_finish(d.s);
    reason = update_session_reason(d.s);
out:
    if (c)
        curl_easy_cleanup(c);
    update_session_free(d.s);
    if (reason_out)
        *reason_out = rc == 0 ? UPDATE_OK : reason;
    return rc;
}

long update_online_next_delay_s(void)
{
    if (sodium_init() < 0)
        return 86400;
    return 86400 - 3600 + (long)randombytes_uniform(7200);
}
