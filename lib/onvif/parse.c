/* parse.c — the hardened SOAP parse of lib/onvif: size cap and a byte pre-scan (no NUL, no "<!" other than a
 * comment or CDATA, so no DOCTYPE and no entity declaration ever reaches libxml2; nesting counted) before
 * xmlReadMemory with XML_PARSE_NONET and without NOENT / DTDLOAD / DTDATTR / HUGE; then the envelope, the
 * WS-Security UsernameToken and the body element. Trust level: untrusted bytes in, fixed-size fields out.
 * QCVN 135 G11 / EN 303 645 5.13-1 (XXE, billion laughs, deep nesting). */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sodium.h>

#include "safecam/onvif.h"

#define NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define WSS_TYPE_DIGEST "#PasswordDigest"
#define WSS_TYPE_TEXT "#PasswordText"

struct op_row {
    const char *ns;
    const char *name;
    enum onvif_op op;
};

static const struct op_row ops[] = {
    {ONVIF_NS_DEVICE, "GetSystemDateAndTime", ONVIF_OP_GET_SYSTEM_DATE_AND_TIME},
    {ONVIF_NS_DEVICE, "GetDeviceInformation", ONVIF_OP_GET_DEVICE_INFORMATION},
    {ONVIF_NS_DEVICE, "GetCapabilities", ONVIF_OP_GET_CAPABILITIES},
    {ONVIF_NS_DEVICE, "GetServices", ONVIF_OP_GET_SERVICES},
    {ONVIF_NS_DEVICE, "GetServiceCapabilities", ONVIF_OP_GET_DEVICE_SERVICE_CAPABILITIES},
    {ONVIF_NS_DEVICE, "GetScopes", ONVIF_OP_GET_SCOPES},
    {ONVIF_NS_DEVICE, "GetNetworkInterfaces", ONVIF_OP_GET_NETWORK_INTERFACES},
    {ONVIF_NS_DEVICE, "GetHostname", ONVIF_OP_GET_HOSTNAME},
    {ONVIF_NS_MEDIA, "GetProfiles", ONVIF_OP_GET_PROFILES},
    {ONVIF_NS_MEDIA, "GetProfile", ONVIF_OP_GET_PROFILE},
    {ONVIF_NS_MEDIA, "GetVideoSources", ONVIF_OP_GET_VIDEO_SOURCES},
    {ONVIF_NS_MEDIA, "GetVideoSourceConfigurations", ONVIF_OP_GET_VIDEO_SOURCE_CONFIGURATIONS},
    {ONVIF_NS_MEDIA, "GetVideoEncoderConfigurations", ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATIONS},
    {ONVIF_NS_MEDIA, "GetVideoEncoderConfigurationOptions", ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATION_OPTIONS},
    {ONVIF_NS_MEDIA, "GetStreamUri", ONVIF_OP_GET_STREAM_URI},
    {ONVIF_NS_MEDIA, "GetSnapshotUri", ONVIF_OP_GET_SNAPSHOT_URI},
    {ONVIF_NS_MEDIA, "GetServiceCapabilities", ONVIF_OP_GET_MEDIA_SERVICE_CAPABILITIES},
};

const char *onvif_op_name(enum onvif_op op)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(ops); i++)
        if (ops[i].op == op)
            return ops[i].name;
    return "";
}

void onvif_init(void)
{
    xmlInitParser();
}

int onvif_op_public(enum onvif_op op)
{
    return op == ONVIF_OP_GET_SYSTEM_DATE_AND_TIME;
}

void onvif_request_clear(struct onvif_request *req)
{
    if (req)
        sodium_memzero(req, sizeof(*req));
}

static int is_name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

/* The byte pre-scan: 0 or SAFECAM_ERR_INVAL. Refuses a NUL byte (so no UTF-16/32), any "<!" that is not
 * "<!--" or "<![CDATA[" (DOCTYPE, ENTITY, ELEMENT...), and nesting deeper than ONVIF_DEPTH_MAX counted from
 * start and end tags outside comments and CDATA (a quoted ">" or "/>" can only make the count err low; the
 * tree walk after the parse checks again). Linear in len. */
static int prescan(const char *s, size_t len)
{
    int depth = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            return SAFECAM_ERR_INVAL;
        if (c != '<') {
            i++;
            continue;
        }
        if (i + 1 >= len)
            return SAFECAM_ERR_INVAL;
        unsigned char n = (unsigned char)s[i + 1];
        if (n == '!') {
            const char *end;
            size_t rest = len - i;
            if (rest >= 4 && memcmp(s + i, "<!--", 4) == 0)
                end = "-->";
            else if (rest >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0)
                end = "]]>";
            else
                return SAFECAM_ERR_INVAL;
            const char *p = memmem(s + i + 4, len - i - 4, end, 3);
            if (!p)
                return SAFECAM_ERR_INVAL;
            if (memchr(s + i, 0, (size_t)(p - (s + i))))
                return SAFECAM_ERR_INVAL;
            i = (size_t)(p - s) + 3;
            continue;
        }
        if (n == '/') {
            depth--;
        } else if (n != '?' && is_name_start(n)) {
            /* find the tag's end to see whether it closes itself */
            const char *gt = memchr(s + i, '>', len - i);
            if (!gt)
                return SAFECAM_ERR_INVAL;
            if (!(gt > s + i + 1 && gt[-1] == '/'))
                depth++;
            if (depth > ONVIF_DEPTH_MAX)
                return SAFECAM_ERR_INVAL;
        }
        i++;
    }
    return 0;
}

static int ns_is(const xmlNode *n, const char *ns)
{
    return n && n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static int name_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *first_element(const xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* The text of an element (its direct text and CDATA children), trimmed of XML whitespace, into out:
 * 0, or SAFECAM_ERR_INVAL when it does not fit. */
static int text_copy(const xmlNode *el, char *out, size_t out_size)
{
    size_t len = 0;
    out[0] = '\0';
    for (const xmlNode *c = el->children; c; c = c->next) {
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        size_t cl = strlen((const char *)c->content);
        if (len + cl >= out_size) {
            sodium_memzero(out, out_size);
            return SAFECAM_ERR_INVAL;
        }
        memcpy(out + len, c->content, cl);
        len += cl;
        out[len] = '\0';
    }
    size_t a = 0;
    while (a < len && (out[a] == ' ' || out[a] == '\t' || out[a] == '\r' || out[a] == '\n'))
        a++;
    while (len > a && (out[len - 1] == ' ' || out[len - 1] == '\t' || out[len - 1] == '\r' ||
                       out[len - 1] == '\n'))
        len--;
    memmove(out, out + a, len - a);
    out[len - a] = '\0';
    return 0;
}

/* The tree again, depth-bounded (the pre-scan's count is an estimate): 0 or SAFECAM_ERR_INVAL. Iterative. */
static int depth_check(const xmlNode *root)
{
    int depth = 1;
    const xmlNode *n = root;
    size_t steps = 0;
    while (n) {
        if (++steps > ONVIF_BODY_MAX_BYTES)
            return SAFECAM_ERR_INVAL;
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            if (++depth > ONVIF_DEPTH_MAX)
                return SAFECAM_ERR_INVAL;
            continue;
        }
        while (n && !n->next && n != root) {
            n = n->parent;
            depth--;
        }
        if (!n || n == root)
            break;
        n = n->next;
    }
    return 0;
}

/* The one hardened parse (SOAP and WS-Discovery): pre-scan, then libxml2 with NONET and without NOENT,
 * DTDLOAD, DTDATTR, DTDVALID or HUGE (libxml2's own depth and size limits stay on), errors not printed, the
 * encoding forced to UTF-8; no subset; depth checked on the tree. The document (xmlFreeDoc) or NULL. The caller
 * has checked len against its cap. */
static xmlDocPtr hardened_read(const char *body, size_t len)
{
    if (len == 0 || len > ONVIF_BODY_MAX_BYTES || prescan(body, len) != 0)
        return NULL;
    xmlDocPtr doc = xmlReadMemory(body, (int)len, "soap.xml", "UTF-8",
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (!doc)
        return NULL;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (doc->intSubset || doc->extSubset || !root || depth_check(root) != 0) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static int security_parse(const xmlNode *sec, struct onvif_security *out)
{
    const xmlNode *tok = NULL;
    for (const xmlNode *c = sec->children; c; c = c->next)
        if (name_is(c, "UsernameToken") && ns_is(c, NS_WSSE)) {
            if (tok)
                return SAFECAM_ERR_INVAL; /* two tokens: ambiguous */
            tok = c;
        }
    if (!tok)
        return 0; /* a Security header without a UsernameToken: as if absent */
    int have_user = 0, have_pw = 0, have_nonce = 0, have_created = 0;
    for (const xmlNode *c = tok->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(c, "Username") && ns_is(c, NS_WSSE)) {
            if (have_user++ || text_copy(c, out->username, sizeof out->username) != 0)
                return SAFECAM_ERR_INVAL;
        } else if (name_is(c, "Password") && ns_is(c, NS_WSSE)) {
            if (have_pw++ || text_copy(c, out->password, sizeof out->password) != 0)
                return SAFECAM_ERR_INVAL;
            xmlChar *type = xmlGetProp(c, (const xmlChar *)"Type");
            const char *t = (const char *)type;
            size_t tl = t ? strlen(t) : 0;
            if (!t || (tl >= sizeof WSS_TYPE_TEXT - 1 &&
                       strcmp(t + tl - (sizeof WSS_TYPE_TEXT - 1), WSS_TYPE_TEXT) == 0))
                memcpy(out->password_type, "text", 5);
            else if (tl >= sizeof WSS_TYPE_DIGEST - 1 &&
                     strcmp(t + tl - (sizeof WSS_TYPE_DIGEST - 1), WSS_TYPE_DIGEST) == 0)
                memcpy(out->password_type, "digest", 7);
            else
                out->password_type[0] = '\0'; /* unknown type: the caller refuses */
            xmlFree(type);
        } else if (name_is(c, "Nonce") && ns_is(c, NS_WSSE)) {
            if (have_nonce++ || text_copy(c, out->nonce_b64, sizeof out->nonce_b64) != 0)
                return SAFECAM_ERR_INVAL;
        } else if (name_is(c, "Created") && ns_is(c, NS_WSU)) {
            if (have_created++ || text_copy(c, out->created, sizeof out->created) != 0)
                return SAFECAM_ERR_INVAL;
        }
    }
    out->present = have_user && out->username[0];
    return 0;
}

/* A token argument (ProfileToken, ConfigurationToken) of the operation element: first occurrence, any
 * namespace prefix of the operation's own namespace. */
static int arg_copy(const xmlNode *op, const char *name, char *out, size_t out_size)
{
    for (const xmlNode *c = op->children; c; c = c->next)
        if (name_is(c, name))
            return text_copy(c, out, out_size);
    return 0;
}

int onvif_request_parse(const char *body, size_t len, struct onvif_request *out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    out->soap_version = 12;
    if (!body)
        return SAFECAM_ERR_INVAL;
    if (len > ONVIF_BODY_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    xmlDocPtr doc = hardened_read(body, len);
    if (!doc)
        return SAFECAM_ERR_INVAL;
    int rc = SAFECAM_ERR_INVAL;
    const xmlNode *env = xmlDocGetRootElement(doc);
    if (!name_is(env, "Envelope"))
        goto out;
    if (ns_is(env, NS_SOAP12))
        out->soap_version = 12;
    else if (ns_is(env, NS_SOAP11))
        out->soap_version = 11;
    else
        goto out;
    const char *soap_ns = out->soap_version == 12 ? NS_SOAP12 : NS_SOAP11;
    const xmlNode *header = NULL, *bodyel = NULL;
    for (const xmlNode *c = env->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(c, "Header") && ns_is(c, soap_ns) && !header && !bodyel)
            header = c;
        else if (name_is(c, "Body") && ns_is(c, soap_ns) && !bodyel)
            bodyel = c;
        else
            goto out; /* anything else, a second Header or Body, or Header after Body */
    }
    if (!bodyel)
        goto out;
    if (header) {
        int seen = 0;
        for (const xmlNode *c = header->children; c; c = c->next)
            if (name_is(c, "Security") && ns_is(c, NS_WSSE)) {
                if (seen++ || security_parse(c, &out->sec) != 0)
                    goto out;
            }
    }
    const xmlNode *op = first_element(bodyel->children);
    if (!op || first_element(op->next))
        goto out; /* exactly one operation element */
    out->op = ONVIF_OP_UNKNOWN;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(ops); i++)
        if (name_is(op, ops[i].name) && ns_is(op, ops[i].ns))
            out->op = ops[i].op;
    if (arg_copy(op, "ProfileToken", out->profile_token, sizeof out->profile_token) != 0 ||
        arg_copy(op, "ConfigurationToken", out->config_token, sizeof out->config_token) != 0)
        goto out;
    rc = 0;
out:
    xmlFreeDoc(doc);
    if (rc != 0) {
        int v = out->soap_version;
        onvif_request_clear(out);
        out->soap_version = v;
    }
    return rc;
}

/* ---- WS-Discovery Probe (docs/onvif.md "WS-Discovery") ---- */

#define NS_WSD "http://schemas.xmlsoap.org/ws/2005/04/discovery"
#define NS_WSA "http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_ONVIF_NETWORK "http://www.onvif.org/ver10/network/wsdl"

/* Is the QName token (prefix:local or local) one we answer: dn:NetworkVideoTransmitter, or tds:Device (what
 * libonvif probes for)? The prefix is resolved on el. */
static int probe_type_matches(xmlDocPtr doc, const xmlNode *el, const char *tok, size_t n)
{
    char q[128];
    if (n == 0 || n >= sizeof q)
        return 0;
    memcpy(q, tok, n);
    q[n] = '\0';
    char *colon = strchr(q, ':');
    const char *local = colon ? colon + 1 : q;
    if (colon)
        *colon = '\0';
    xmlNsPtr ns = xmlSearchNs(doc, (xmlNodePtr)el, colon ? (const xmlChar *)q : NULL);
    const char *href = ns && ns->href ? (const char *)ns->href : "";
    return (strcmp(local, "NetworkVideoTransmitter") == 0 && strcmp(href, NS_ONVIF_NETWORK) == 0) ||
           (strcmp(local, "Device") == 0 && strcmp(href, ONVIF_NS_DEVICE) == 0);
}

int onvif_probe_parse(const char *msg, size_t len, struct onvif_probe *out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if (!msg)
        return SAFECAM_ERR_INVAL;
    if (len > ONVIF_PROBE_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    xmlDocPtr doc = hardened_read(msg, len);
    if (!doc)
        return SAFECAM_ERR_INVAL;
    int rc = SAFECAM_ERR_INVAL;
    const xmlNode *env = xmlDocGetRootElement(doc);
    if (!name_is(env, "Envelope") || !ns_is(env, NS_SOAP12))
        goto out;
    const xmlNode *header = NULL, *bodyel = NULL;
    for (const xmlNode *c = env->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(c, "Header") && ns_is(c, NS_SOAP12) && !header && !bodyel)
            header = c;
        else if (name_is(c, "Body") && ns_is(c, NS_SOAP12) && !bodyel)
            bodyel = c;
        else
            goto out;
    }
    if (!bodyel)
        goto out;
    for (const xmlNode *c = header ? header->children : NULL; c; c = c->next)
        if (name_is(c, "MessageID") && ns_is(c, NS_WSA)) {
            if (out->message_id[0] || text_copy(c, out->message_id, sizeof out->message_id) != 0)
                goto out;
            for (const char *p = out->message_id; *p; p++)
                if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                    goto out;
        }
    const xmlNode *op = first_element(bodyel->children);
    if (!op || first_element(op->next))
        goto out;
    rc = 0;
    if (!name_is(op, "Probe") || !ns_is(op, NS_WSD))
        goto out; /* not a Probe: parsed, not answered */
    out->is_probe = 1;
    const xmlNode *types = NULL;
    for (const xmlNode *c = op->children; c; c = c->next)
        if (name_is(c, "Types") && ns_is(c, NS_WSD))
            types = c;
        else if (name_is(c, "Scopes") && ns_is(c, NS_WSD)) {
            char sc[8];
            if (text_copy(c, sc, sizeof sc) != 0 || sc[0]) {
                out->is_probe = 1;
                out->matches = 0; /* scoped probes: we match no scope filter (none is configured) */
                goto out;
            }
        }
    char tbuf[512];
    if (!types) {
        out->matches = 1;
    } else if (text_copy(types, tbuf, sizeof tbuf) != 0) {
        rc = SAFECAM_ERR_INVAL;
    } else if (!tbuf[0]) {
        out->matches = 1;
    } else {
        const char *p = tbuf;
        while (*p && !out->matches) {
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
                p++;
            size_t n = strcspn(p, " \t\r\n");
            if (n && probe_type_matches(doc, types, p, n))
                out->matches = 1;
            p += n;
        }
    }
out:
    xmlFreeDoc(doc);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
