/* csaf.c — parsers of the CSAF 2.0 files VM-03 reads from the device (QCVN 135 G2 / EN 303 645 5.2-1,
 * 5.2-2): provider-metadata.json (CSAF 2.0 section 7.1.20), a CSAF document (sections 3 and 4), a ROLIE
 * feed and an index.txt of a directory distribution. Pure functions: no I/O, no allocation kept.
 * Trust level: every byte is from the device (hostile); read through jansson with a size cap, copied
 * printable and truncated into fixed fields. Fuzzed by fuzz/fuzz_check_csaf.c. */
#include "check_internal.h"

#include <string.h>

static void field_set(char *field, size_t size, const char *name)
{
    if (size > 0)
        IGN_STRLCPY(field, name, size);
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL) {
        if (size)
            dst[0] = '\0';
        return;
    }
    check_printable(dst, size, s, json_string_length(v));
}

/* A non-empty string member. */
static const json_t *need_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) > 0 ? v : NULL;
}

static json_t *load_object(const char *buf, size_t len, int *rc, char *field, size_t field_size)
{
    if (len > CHECK_CSAF_MAX) {
        field_set(field, field_size, "size");
        *rc = SAFECAM_ERR_TOOBIG;
        return NULL;
    }
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        field_set(field, field_size, "JSON");
        *rc = SAFECAM_ERR_INVAL;
        return NULL;
    }
    *rc = 0;
    return doc;
}

int check_csaf_provider_parse(const char *buf, size_t len, struct check_csaf_provider *out, char *field,
                              size_t field_size)
{
    memset(out, 0, sizeof *out);
    field_set(field, field_size, "");
    int rc;
    json_t *doc = load_object(buf, len, &rc, field, field_size);
    if (doc == NULL)
        return rc;
    const char *bad = NULL;
    const json_t *pub = json_object_get(doc, "publisher");
    const json_t *cu = need_str(doc, "canonical_url");
    const char *mv = json_string_value(json_object_get(doc, "metadata_version"));
    const char *role = json_string_value(json_object_get(doc, "role"));
    if (cu == NULL || strncmp(json_string_value(cu), "https://", 8) != 0)
        bad = "canonical_url";
    else if (need_str(doc, "last_updated") == NULL)
        bad = "last_updated";
    else if (!json_is_boolean(json_object_get(doc, "list_on_CSAF_aggregators")))
        bad = "list_on_CSAF_aggregators";
    else if (mv == NULL || strcmp(mv, "2.0") != 0)
        bad = "metadata_version";
    else if (!json_is_boolean(json_object_get(doc, "mirror_on_CSAF_aggregators")))
        bad = "mirror_on_CSAF_aggregators";
    else if (!json_is_object(pub))
        bad = "publisher";
    else if (need_str(pub, "category") == NULL)
        bad = "publisher.category";
    else if (need_str(pub, "name") == NULL)
        bad = "publisher.name";
    else if (need_str(pub, "namespace") == NULL)
        bad = "publisher.namespace";
    else if (role == NULL || (strcmp(role, "csaf_publisher") != 0 && strcmp(role, "csaf_provider") != 0 &&
                              strcmp(role, "csaf_trusted_provider") != 0))
        bad = "role";
    if (bad != NULL) {
        field_set(field, field_size, bad);
        json_decref(doc);
        return SAFECAM_ERR_INVAL;
    }
    copy_str(out->canonical_url, sizeof out->canonical_url, cu);
    copy_str(out->publisher_name, sizeof out->publisher_name, json_object_get(pub, "name"));
    copy_str(out->publisher_category, sizeof out->publisher_category, json_object_get(pub, "category"));
    copy_str(out->role, sizeof out->role, json_object_get(doc, "role"));
    const json_t *dist = json_object_get(doc, "distributions");
    if (dist != NULL && !json_is_array(dist)) {
        field_set(field, field_size, "distributions");
        json_decref(doc);
        return SAFECAM_ERR_INVAL;
    }
    out->n_distributions = json_array_size(dist);
    for (size_t i = 0; i < out->n_distributions && i < 64; i++) {
        const json_t *d = json_array_get(dist, i);
        const json_t *du = need_str(d, "directory_url");
        if (du != NULL && out->directory_url[0] == '\0')
            copy_str(out->directory_url, sizeof out->directory_url, du);
        const json_t *feeds = json_object_get(json_object_get(d, "rolie"), "feeds");
        for (size_t k = 0; k < json_array_size(feeds) && k < 64 && out->rolie_feed_url[0] == '\0'; k++) {
            const json_t *fu = need_str(json_array_get(feeds, k), "url");
            if (fu != NULL)
                copy_str(out->rolie_feed_url, sizeof out->rolie_feed_url, fu);
        }
    }
    json_decref(doc);
    return 0;
}

int check_csaf_advisory_parse(const char *buf, size_t len, struct check_csaf_advisory *out, char *field,
                              size_t field_size)
{
    memset(out, 0, sizeof *out);
    field_set(field, field_size, "");
    int rc;
    json_t *doc = load_object(buf, len, &rc, field, field_size);
    if (doc == NULL)
        return rc;
    const char *bad = NULL;
    const json_t *d = json_object_get(doc, "document");
    const json_t *tr = json_object_get(d, "tracking");
    const char *cv = json_string_value(json_object_get(d, "csaf_version"));
    const char *st = json_string_value(json_object_get(tr, "status"));
    const char *cat = json_string_value(json_object_get(d, "category"));
    int full = cat != NULL && (strcmp(cat, "csaf_security_advisory") == 0 || strcmp(cat, "csaf_vex") == 0);
    const json_t *vulns = json_object_get(doc, "vulnerabilities");
    if (!json_is_object(d))
        bad = "document";
    else if (cv == NULL || strcmp(cv, "2.0") != 0)
        bad = "document.csaf_version";
    else if (cat == NULL || cat[0] == '\0')
        bad = "document.category";
    else if (need_str(d, "title") == NULL)
        bad = "document.title";
    else if (!json_is_object(json_object_get(d, "publisher")))
        bad = "document.publisher";
    else if (!json_is_object(tr))
        bad = "document.tracking";
    else if (need_str(tr, "id") == NULL)
        bad = "document.tracking.id";
    else if (st == NULL || (strcmp(st, "draft") != 0 && strcmp(st, "interim") != 0 && strcmp(st, "final") != 0))
        bad = "document.tracking.status";
    else if (need_str(tr, "version") == NULL)
        bad = "document.tracking.version";
    else if (full && !json_is_object(json_object_get(doc, "product_tree")))
        bad = "product_tree";
    else if ((full && json_array_size(vulns) == 0) || (vulns != NULL && !json_is_array(vulns)))
        bad = "vulnerabilities";
    if (bad != NULL) {
        field_set(field, field_size, bad);
        json_decref(doc);
        return SAFECAM_ERR_INVAL;
    }
    copy_str(out->id, sizeof out->id, json_object_get(tr, "id"));
    copy_str(out->category, sizeof out->category, json_object_get(d, "category"));
    copy_str(out->status, sizeof out->status, json_object_get(tr, "status"));
    copy_str(out->version, sizeof out->version, json_object_get(tr, "version"));
    out->n_vulnerabilities = json_array_size(vulns);
    json_decref(doc);
    return 0;
}

int check_csaf_rolie_first(const char *buf, size_t len, char *url, size_t url_size, size_t *n_entries)
{
    if (url_size)
        url[0] = '\0';
    *n_entries = 0;
    int rc;
    char dummy[8];
    json_t *doc = load_object(buf, len, &rc, dummy, sizeof dummy);
    if (doc == NULL)
        return rc;
    const json_t *entries = json_object_get(json_object_get(doc, "feed"), "entry");
    if (!json_is_array(entries)) {
        json_decref(doc);
        return SAFECAM_ERR_INVAL;
    }
    *n_entries = json_array_size(entries);
    rc = SAFECAM_ERR_NOTFOUND;
    for (size_t i = 0; i < *n_entries && i < 1024 && rc != 0; i++) {
        const json_t *e = json_array_get(entries, i);
        const json_t *src = need_str(json_object_get(e, "content"), "src");
        const json_t *links = json_object_get(e, "link");
        for (size_t k = 0; src == NULL && k < json_array_size(links) && k < 16; k++)
            src = need_str(json_array_get(links, k), "href");
        if (src != NULL) {
            copy_str(url, url_size, src);
            rc = 0;
        }
    }
    json_decref(doc);
    return rc;
}

int check_csaf_index_first(const char *buf, size_t len, char *name, size_t name_size, size_t *n_lines)
{
    if (name_size)
        name[0] = '\0';
    *n_lines = 0;
    if (len > CHECK_CSAF_MAX)
        return SAFECAM_ERR_TOOBIG;
    int found = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((eol ? eol : end) - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (l > 0) {
            (*n_lines)++;
            int ok = !found && l < name_size && p[0] != '/' && memmem(p, l, "..", 2) == NULL &&
                     memmem(p, l, "://", 3) == NULL;
            for (size_t i = 0; ok && i < l; i++)
                if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] >= 0x7f || p[i] == '?' || p[i] == '#')
                    ok = 0;
            if (ok) {
                memcpy(name, p, l);
                name[l] = '\0';
                found = 1;
            }
        }
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return found ? 0 : SAFECAM_ERR_NOTFOUND;
}
