/* routes_system.c — the device (identity, firmware version, support period, A/B slots), the audit log
 * (admin), security.txt (RFC 9116) and the factory reset (admin, confirmed, done by the supervisor with every
 * child stopped). Trust level: network-facing. QCVN 135 G3, G6, G9, G12 / EN 303 645 5.2, 5.3-13, 5.11-1. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_internal.h"
#include "safecam/device.h"
#include "safecam/proto.h"
#include "safecam/vault_client.h"

static int query_long(struct req *r, const char *key, long min, long max, long *out, int *present)
{
    const char *v = http_query_get(&r->query, key);
    *present = v != NULL;
    if (!v)
        return 0;
    return safecam_parse_long(v, min, max, out);
}

static json_t *chain_status(struct req *r);

static enum MHD_Result h_events(struct req *r)
{
    static const char *const keys[] = {"since", "until", "limit"};
    static const long mins[] = {0, 0, 1};
    static const long maxs[] = {4102444800L, 4102444800L, 1000};
    long values[3] = {-1, -1, -1};
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(keys); i++) {
        long v = 0;
        int present = 0;
        if (query_long(r, keys[i], mins[i], maxs[i], &v, &present) != 0)
            return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", keys[i]);
        if (present)
            values[i] = v;
    }
    const char *type = http_query_get(&r->query, "type");
    if (type) {
        size_t n = strlen(type);
        int ok = n > 0 && n <= 32;
        for (size_t i = 0; ok && i < n; i++)
            ok = (type[i] >= 'a' && type[i] <= 'z') || type[i] == '_';
        if (!ok)
            return http_reply_error_field(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "parameter", "type");
    }
    struct vault_audit_filter filter = {
        .since = values[0], .until = values[1], .limit = values[2], .type = type};
    json_t *events = NULL, *refusal = NULL;
    int rc = vault_client_audit_query(r->srv->vault, r->session_id, &filter, &events, &refusal);
    enum MHD_Result ret;
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else
        ret = http_reply_json(r, MHD_HTTP_OK, json_pack("{s:O, s:o}", "events", events, "chain", chain_status(r)));
    json_decref(events);
    json_decref(refusal);
    return ret;
}

/* The audit chain's status as the vault last found it (at start or the last verification); a tampered log
 * shows here beside its events (docs/audit.md). */
static json_t *chain_status(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL, *fields = json_pack("{s:b}", "cached", 1);
    json_t *out = NULL;
    if (fields && vault_client_audit_call(r->srv->vault, PROTO_VAULT_AUDIT_VERIFY, r->session_id, fields, &reply,
                                          NULL, &refusal) == 0 &&
        !refusal)
        out = json_incref(json_object_get(reply, "verification"));
    json_decref(fields);
    json_decref(reply);
    json_decref(refusal);
    return out ? out : json_pack("{s:s}", "status", "unknown");
}

/* GET /api/v1/events/verify (admin): walk the whole chain now. */
static enum MHD_Result h_events_verify(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL;
    int rc = vault_client_audit_call(r->srv->vault, PROTO_VAULT_AUDIT_VERIFY, r->session_id, NULL, &reply, NULL,
                                     &refusal);
    enum MHD_Result ret;
    const json_t *v = json_object_get(reply, "verification");
    if (rc != 0)
        ret = http_reply_unavailable(r);
    else if (refusal)
        ret = http_reply_refusal(r, refusal);
    else if (!json_is_object(v))
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    else
        ret = http_reply_json(r, MHD_HTTP_OK, json_incref((json_t *)v));
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

/* GET /api/v1/events/export (admin): the rows and the chain as JSON lines signed with the device key. */
static enum MHD_Result h_events_export(struct req *r)
{
    json_t *reply = NULL, *refusal = NULL;
    int fd = -1;
    int rc = vault_client_audit_call(r->srv->vault, PROTO_VAULT_AUDIT_EXPORT, r->session_id, NULL, &reply, &fd,
                                     &refusal);
    enum MHD_Result ret;
    const json_t *size = json_object_get(reply, "size");
    struct stat sb;
    if (rc != 0) {
        ret = http_reply_unavailable(r);
    } else if (refusal) {
        ret = http_reply_refusal(r, refusal);
    } else if (fd < 0 || !json_is_integer(size) || json_integer_value(size) < 1 || fstat(fd, &sb) != 0 ||
               !S_ISREG(sb.st_mode) || sb.st_size != (off_t)json_integer_value(size)) {
        ret = http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    } else {
        struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd); /* owns fd */
        fd = -1;
        if (resp) {
            http_security_headers_add(resp, 0);
            MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
            MHD_add_response_header(resp, "Content-Disposition", "attachment; filename=\"audit-export.jsonl\"");
        }
        ret = http_reply_queue(r, MHD_HTTP_OK, resp);
    }
    if (fd >= 0)
        close(fd);
    json_decref(reply);
    json_decref(refusal);
    return ret;
}

static enum MHD_Result h_device(struct req *r)
{
    struct device_identity id;
    memset(&id, 0, sizeof(id));
    if (device_identity_load(r->srv->state_dir, &id) != 0)
        return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal");
    json_t *out =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "model", id.model, "serial", id.serial, "mac", id.mac,
                  "firmware_version", SAFECAM_VERSION, "product", id.product[0] ? id.product : "safecam",
                  "api_version", 1, "support_until", SAFECAM_SUPPORT_UNTIL);
    if (out)
        http_update_device_fields(r->srv->update, out); /* slots A/B and the running one */
    return http_reply_json(r, MHD_HTTP_OK, out);
}

static int host_header_safe(const char *h)
{
    if (!h)
        return 0;
    size_t n = strnlen(h, 256);
    if (n == 0 || n >= 256)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == ':' || c == '[' || c == ']'))
            return 0;
    }
    return 1;
}

/* RFC 9116. Expires is computed at run time, one year ahead. */
static enum MHD_Result h_security_txt(struct req *r)
{
    char expires[32];
    if (safecam_time_rfc3339(safecam_time_now() + 365LL * 24 * 3600, expires, sizeof(expires)) != 0)
        return MHD_NO;
    const char *host = http_req_header(r, MHD_HTTP_HEADER_HOST);
    char hostbuf[300];
    if (!host_header_safe(host)) {
        int v6 = strchr(r->srv->bind_addr, ':') != NULL;
        if (safecam_fmt(hostbuf, sizeof(hostbuf), v6 ? "[%s]:%u" : "%s:%u", r->srv->bind_addr,
                        r->srv->port) != 0)
            return MHD_NO;
        host = hostbuf;
    }
    char text[1024];
    if (safecam_fmt(text, sizeof(text),
                    "Contact: mailto:security@safecam.invalid\n"
                    "Expires: %s\n"
                    "Policy: https://safecam.invalid/SECURITY.md\n"
                    "Preferred-Languages: vi, en\n"
                    "Canonical: https://%s/.well-known/security.txt\n",
                    expires, host) != 0)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    return http_reply_queue(r, MHD_HTTP_OK, resp);
}

/* The software bill of materials (CycloneDX 1.5, made at build time from what the executables link: tools/sbom.py),
 * read by the web process before its walls. QCVN 135 G3 / EN 303 645 5.3-x: an admin can check the camera's
 * components against published vulnerabilities. */
static enum MHD_Result h_sbom(struct req *r)
{
    if (!r->srv->sbom)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->srv->sbom_len, (void *)r->srv->sbom, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/vnd.cyclonedx+json; version=1.5");
    return http_reply_queue(r, MHD_HTTP_OK, resp);
}

/* CSAF 2.0 provider metadata (security/provider-metadata.json, the same content; tests/system/test_csaf.py keeps
 * them equal): where the vendor publishes its machine-readable advisories. Public, like security.txt.
 * QCVN 135 G2 / EN 303 645 5.2-1. */
static const char csaf_provider_metadata[] =
    "{\"canonical_url\":\"https://safecam.invalid/.well-known/csaf/provider-metadata.json\",\"distributions\":["
    "{\"directory_url\":\"https://safecam.invalid/.well-known/csaf/white/\"}],\"last_updated\":\"2026-12-06T00:0"
    "0:00.000Z\",\"list_on_CSAF_aggregators\":true,\"metadata_version\":\"2.0\",\"mirror_on_CSAF_aggregators\":tru"
    "e,\"publisher\":{\"category\":\"vendor\",\"name\":\"safecam developers\",\"namespace\":\"https://safecam.invalid\""
    ",\"contact_details\":\"security@safecam.invalid\"},\"role\":\"csaf_publisher\"}";

static enum MHD_Result h_csaf_provider_metadata(struct req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof(csaf_provider_metadata) - 1, (void *)csaf_provider_metadata, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    http_security_headers_add(resp, 0);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return http_reply_queue(r, MHD_HTTP_OK, resp);
}

static enum MHD_Result h_factory_reset(struct req *r)
{
    if (http_req_confirm_parse(r) != 0)
        return r->answered ? MHD_YES : MHD_NO;
    enum MHD_Result ret;
    json_t *reply = http_sup_relay(r, PROTO_SUP_FACTORY_RESET,
                                   json_pack("{s:s, s:s}", "actor", r->username, "source", r->source), &ret);
    if (!reply)
        return ret;
    json_decref(reply);
    return http_reply_json(
        r, MHD_HTTP_ACCEPTED,
        json_pack("{s:s, s:s}", "state", "resetting", "message",
                  "Erasing all data and keys; the camera restarts with the label's initial password"));
}

static const char *const events_keys[] = {"since", "until", "type", "limit", NULL};

static const struct route rows[] = {
    {"GET", "/api/v1/events", ROLE_ADMIN, 0, 0, events_keys, h_events},
    {"GET", "/api/v1/events/verify", ROLE_ADMIN, 0, 0, NULL, h_events_verify},
    {"GET", "/api/v1/events/export", ROLE_ADMIN, 0, 0, NULL, h_events_export},
    {"GET", "/api/v1/device", ROLE_VIEWER, 0, 0, NULL, h_device},
    {"GET", "/.well-known/security.txt", ROLE_PUBLIC, R_PUBLIC, 0, NULL, h_security_txt},
    {"GET", "/.well-known/csaf/provider-metadata.json", ROLE_PUBLIC, R_PUBLIC, 0, NULL, h_csaf_provider_metadata},
    {"GET", "/api/v1/system/sbom", ROLE_ADMIN, 0, 0, NULL, h_sbom},
    {"POST", "/api/v1/system/factory-reset", ROLE_ADMIN, R_BODY, 64, NULL, h_factory_reset},
};

const struct route_set http_routes_system = {rows, SAFECAM_ARRAY_LEN(rows)};
