/* discovery.c — the WS-Discovery responder's pure parts: the Hello, Bye and ProbeMatches envelopes (https://
 * XAddrs only, every value escaped), the device's stable endpoint UUID, and the token buckets that bound
 * parse work and replies in total and per source. No socket, no file, no clock of its own: the process
 * (daemon/discovery.c) passes the facts and the time. docs/onvif.md "WS-Discovery".
 * QCVN 135 G6 / EN 303 645 5.6-1, 5.6-2 (off by default, no amplification). */
#include <string.h>

#include <sodium.h>

#include "safecam/onvif.h"

#define NS_DECL                                                                                              \
    "xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "                                                 \
    "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" "                                        \
    "xmlns:wsd=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" "                                         \
    "xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\" "                                                  \
    "xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\""
#define ACTION_BASE "http://schemas.xmlsoap.org/ws/2005/04/discovery/"
#define TO_DISCOVERY "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
#define TO_ANONYMOUS "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

/* Append s percent-encoded as a scope path segment (RFC 3986 unreserved bytes kept), then escaped. */
static int scope_add(struct safecam_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char seg[3 * 64 + 1];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 3 < sizeof seg; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~') {
            seg[n++] = (char)*p;
        } else {
            seg[n++] = '%';
            seg[n++] = hex[*p >> 4];
            seg[n++] = hex[*p & 15];
        }
    }
    seg[n] = '\0';
    return onvif_xml_escape_add(out, n ? seg : "camera");
}

static int uuid_ok(const char *u)
{
    if (!u || strlen(u) != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        char c = u[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

int onvif_discovery_write(enum onvif_discovery_kind kind, const struct onvif_discovery_facts *f,
                          const char *relates_to, struct safecam_buf *out)
{
    if (!f || !out || !uuid_ok(f->endpoint_uuid) || !uuid_ok(f->message_uuid) || !f->xaddr_host ||
        !f->xaddr_host[0] || !f->model || f->https_port == 0 || f->https_port > 65535)
        return SAFECAM_ERR_INVAL;
    if (kind == ONVIF_DISCOVERY_PROBE_MATCHES && (!relates_to || !relates_to[0]))
        return SAFECAM_ERR_INVAL;
    const char *action = kind == ONVIF_DISCOVERY_HELLO           ? "Hello"
                         : kind == ONVIF_DISCOVERY_BYE           ? "Bye"
                         : kind == ONVIF_DISCOVERY_PROBE_MATCHES ? "ProbeMatches"
                                                                 : NULL;
    if (!action)
        return SAFECAM_ERR_INVAL;
    int rc =
        safecam_buf_addf(out,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><env:Envelope " NS_DECL "><env:Header>"
                         "<wsa:MessageID>urn:uuid:%s</wsa:MessageID>",
                         f->message_uuid);
    if (rc == 0 && kind == ONVIF_DISCOVERY_PROBE_MATCHES) {
        rc = safecam_buf_addf(out, "<wsa:RelatesTo>");
        rc = rc ? rc : onvif_xml_escape_add(out, relates_to);
        rc = rc ? rc : safecam_buf_addf(out, "</wsa:RelatesTo>");
    }
    rc = rc ? rc
            : safecam_buf_addf(out,
                               "<wsa:To>%s</wsa:To><wsa:Action>" ACTION_BASE "%s</wsa:Action>"
                               "<wsd:AppSequence InstanceId=\"%llu\" MessageNumber=\"%llu\"/></env:Header>"
                               "<env:Body><wsd:%s>%s<wsa:EndpointReference><wsa:Address>urn:uuid:%s"
                               "</wsa:Address></wsa:EndpointReference>",
                               kind == ONVIF_DISCOVERY_PROBE_MATCHES ? TO_ANONYMOUS : TO_DISCOVERY, action,
                               f->instance_id, f->message_number, action,
                               kind == ONVIF_DISCOVERY_PROBE_MATCHES ? "<wsd:ProbeMatch>" : "",
                               f->endpoint_uuid);
    if (rc == 0 && kind != ONVIF_DISCOVERY_BYE) {
        rc = safecam_buf_addf(
            out, "<wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types><wsd:Scopes>"
                 "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/type/video_encoder "
                 "onvif://www.onvif.org/name/");
        rc = rc ? rc : scope_add(out, f->model);
        rc = rc ? rc : safecam_buf_addf(out, " onvif://www.onvif.org/hardware/");
        rc = rc ? rc : scope_add(out, f->model);
        rc = rc ? rc : safecam_buf_addf(out, "</wsd:Scopes><wsd:XAddrs>https://");
        rc = rc ? rc : onvif_xml_escape_add(out, f->xaddr_host);
        rc = rc ? rc
                : safecam_buf_addf(out,
                                   ":%u/onvif/device_service</wsd:XAddrs><wsd:MetadataVersion>1"
                                   "</wsd:MetadataVersion>",
                                   f->https_port);
    }
    rc = rc ? rc
            : safecam_buf_addf(out, "%s</wsd:%s></env:Body></env:Envelope>",
                               kind == ONVIF_DISCOVERY_PROBE_MATCHES ? "</wsd:ProbeMatch>" : "", action);
    if (rc != 0)
        safecam_buf_free(out);
    return rc;
}

void onvif_discovery_uuid(const char *serial, const char *mac, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    static const unsigned char key[] = "safecam ws-discovery endpoint v1";
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, sizeof key - 1, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)(serial ? serial : ""),
                              strlen(serial ? serial : "") + 1);
    crypto_generichash_update(&st, (const unsigned char *)(mac ? mac : ""), strlen(mac ? mac : ""));
    crypto_generichash_final(&st, h, sizeof h);
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x80); /* version 8 (RFC 9562: vendor-specific) */
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80); /* variant 10 */
    size_t n = 0;
    for (size_t i = 0; i < sizeof h; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[h[i] >> 4];
        out[n++] = hex[h[i] & 15];
    }
    out[n] = '\0';
}

const char *onvif_discovery_drop_name(enum onvif_discovery_drop d)
{
    static const char *const names[ONVIF_DROP_KINDS] = {"oversized", "malformed",     "not_probe", "no_match",
                                                        "rate",      "amplification", "source"};
    return (unsigned)d < ONVIF_DROP_KINDS ? names[d] : "";
}

/* Refill at rate per second up to burst, then take one token if there is one. */
static int bucket_take(struct onvif_discovery_bucket *b, double rate, double burst, long long now_ms)
{
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) * rate / 1000.0;
        if (b->tokens > burst)
            b->tokens = burst;
        b->at_ms = now_ms;
    }
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

void onvif_discovery_limits_init(struct onvif_discovery_limits *l, long long now_ms)
{
    memset(l, 0, sizeof *l);
    l->total = (struct onvif_discovery_bucket){ONVIF_DISCOVERY_REPLIES_PER_S, now_ms};
    l->parse = (struct onvif_discovery_bucket){ONVIF_DISCOVERY_PARSE_PER_S, now_ms};
}

int onvif_discovery_parse_allow(struct onvif_discovery_limits *l, long long now_ms)
{
    return bucket_take(&l->parse, ONVIF_DISCOVERY_PARSE_PER_S, ONVIF_DISCOVERY_PARSE_PER_S, now_ms);
}

int onvif_discovery_reply_allow(struct onvif_discovery_limits *l, const void *addr, size_t alen,
                                long long now_ms)
{
    if (!l || !addr || alen == 0 || alen > sizeof l->src[0].addr)
        return 0;
    size_t slot = 0;
    int found = 0;
    for (size_t i = 0; i < ONVIF_DISCOVERY_SOURCES; i++) {
        if (l->src[i].len == alen && memcmp(l->src[i].addr, addr, alen) == 0) {
            slot = i;
            found = 1;
            break;
        }
        if (l->src[i].used_ms < l->src[slot].used_ms || (l->src[i].len == 0 && l->src[slot].len != 0))
            slot = i; /* the least recently used (or a free) slot */
    }
    if (!found) {
        memcpy(l->src[slot].addr, addr, alen);
        l->src[slot].len = alen;
        l->src[slot].b = (struct onvif_discovery_bucket){ONVIF_DISCOVERY_SOURCE_BURST, now_ms};
    }
    l->src[slot].used_ms = now_ms;
    int t_ok = bucket_take(&l->total, ONVIF_DISCOVERY_REPLIES_PER_S, ONVIF_DISCOVERY_REPLIES_PER_S, now_ms);
    int s_ok =
        bucket_take(&l->src[slot].b, ONVIF_DISCOVERY_SOURCE_PER_S, ONVIF_DISCOVERY_SOURCE_BURST, now_ms);
    if (t_ok && s_ok)
        return 1;
    if (t_ok) /* a refusal by one bucket gives the other its token back */
        l->total.tokens += 1.0;
    if (s_ok)
        l->src[slot].b.tokens += 1.0;
    return 0;
}
