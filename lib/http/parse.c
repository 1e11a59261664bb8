/* parse.c — pure parsers of untrusted HTTP input for the web process: request-target and query,
 * Cookie header, CSRF token syntax, Origin check, Content-Type and JSON bodies against a field schema.
 * No I/O, no global state: unit-tested in tests/unit/test_http.c and fuzzed in fuzz/fuzz_http_*.c. */
#include "safecam/http.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 3986 pchar without '%' (unreserved / sub-delims / ':' / '@'). */
static int is_pchar(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL);
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int http_path_normalize(const char *raw, size_t len, char *out, size_t out_size)
{
    if (!raw || !out || out_size == 0)
        return SAFECAM_ERR_INVAL;
    out[0] = '\0';
    size_t cap = out_size < HTTP_PATH_MAX_BYTES ? out_size : HTTP_PATH_MAX_BYTES;
    if (len == 0 || raw[0] != '/')
        return SAFECAM_ERR_INVAL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '%') {
            if (i + 2 >= len)
                goto bad;
            int hi = hex_val((unsigned char)raw[i + 1]);
            int lo = hex_val((unsigned char)raw[i + 2]);
            if (hi < 0 || lo < 0)
                goto bad;
            c = (unsigned char)(hi * 16 + lo);
            /* Decoded once: the byte must be an ordinary path character; never '/', '%', '\\', NUL. */
            if (!is_pchar(c))
                goto bad;
            i += 2;
        } else if (c != '/' && !is_pchar(c)) {
            goto bad;
        }
        if (o + 1 >= cap) {
            out[0] = '\0';
            return SAFECAM_ERR_TOOBIG;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (strcmp(out, "/") == 0)
        return 0;
    /* Every segment between raw slashes: non-empty, not "." nor "..". Decoded bytes are never '/'
     * so the slashes in out are exactly the raw ones. */
    const char *seg = out + 1;
    for (;;) {
        size_t n = strcspn(seg, "/");
        if (n == 0)
            goto bad;
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            goto bad;
        if (seg[n] == '\0')
            break;
        seg += n + 1;
    }
    return 0;
bad:
    out[0] = '\0';
    return SAFECAM_ERR_INVAL;
}

static int is_key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int http_query_parse(const char *raw, size_t len, struct http_query *out)
{
    if (!out)
        return SAFECAM_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return 0;
    if (!raw)
        return SAFECAM_ERR_INVAL;
    if (len > HTTP_QUERY_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    size_t i = 0;
    int rc = SAFECAM_ERR_INVAL;
    while (i <= len) {
        size_t end = i;
        while (end < len && raw[end] != '&')
            end++;
        if (end == i)
            goto out; /* empty pair ("&&", leading or trailing '&') */
        if (out->n >= HTTP_QUERY_PARAMS_MAX) {
            rc = SAFECAM_ERR_TOOBIG;
            goto out;
        }
        struct http_query_param *p = &out->params[out->n];
        size_t k = 0;
        size_t j = i;
        while (j < end && raw[j] != '=') {
            if (!is_key_char((unsigned char)raw[j]))
                goto out;
            if (k + 1 >= sizeof(p->key)) {
                rc = SAFECAM_ERR_TOOBIG;
                goto out;
            }
            p->key[k++] = raw[j++];
        }
        p->key[k] = '\0';
        if (k == 0 || j >= end)
            goto out; /* no key, or no '=' */
        j++;          /* '=' */
        size_t v = 0;
        for (; j < end; j++) {
            unsigned char c = (unsigned char)raw[j];
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                if (j + 2 >= end)
                    goto out;
                int hi = hex_val((unsigned char)raw[j + 1]);
                int lo = hex_val((unsigned char)raw[j + 2]);
                if (hi < 0 || lo < 0)
                    goto out;
                c = (unsigned char)(hi * 16 + lo);
                if (c < 0x20 || c > 0x7e)
                    goto out;
                j += 2;
            } else if (!is_pchar(c) && c != '/' && c != '?') {
                goto out;
            }
            if (v + 1 >= sizeof(p->value)) {
                rc = SAFECAM_ERR_TOOBIG;
                goto out;
            }
            p->value[v++] = (char)c;
        }
        p->value[v] = '\0';
        for (size_t m = 0; m < out->n; m++) {
            if (strcmp(out->params[m].key, p->key) == 0)
                goto out; /* repeated key: parameter pollution */
        }
        out->n++;
        if (end == len)
            break;
        i = end + 1;
        if (i == len)
            goto out; /* trailing '&' */
    }
    return 0;
out:
    memset(out, 0, sizeof(*out));
    return rc;
}

const char *http_query_get(const struct http_query *q, const char *key)
{
    if (!q || !key)
        return NULL;
    for (size_t i = 0; i < q->n && i < HTTP_QUERY_PARAMS_MAX; i++)
        if (strcmp(q->params[i].key, key) == 0)
            return q->params[i].value;
    return NULL;
}

int http_target_parse(const char *target, char *path, size_t path_size, struct http_query *query)
{
    if (!target || !path || path_size == 0 || !query)
        return SAFECAM_ERR_INVAL;
    path[0] = '\0';
    memset(query, 0, sizeof(*query));
    size_t len = strnlen(target, HTTP_TARGET_MAX_BYTES + 1);
    if (len > HTTP_TARGET_MAX_BYTES)
        return SAFECAM_ERR_TOOBIG;
    if (memchr(target, '#', len))
        return SAFECAM_ERR_INVAL;
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    int rc = http_path_normalize(target, plen, path, path_size);
    if (rc != 0)
        return rc;
    if (q) {
        rc = http_query_parse(q + 1, len - plen - 1, query);
        if (rc != 0) {
            path[0] = '\0';
            return rc;
        }
    }
    return 0;
}

static int is_param_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int http_route_match(const char *pattern, const char *path, char *param, size_t param_size)
{
    if (!pattern || !path)
        return 0;
    if (param && param_size)
        param[0] = '\0';
    const char *p = pattern;
    const char *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            if (!pe || !param || param_size == 0)
                return 0;
            size_t n = strcspn(s, "/");
            if (n == 0 || n >= param_size)
                return 0;
            for (size_t i = 0; i < n; i++)
                if (!is_param_char((unsigned char)s[i]))
                    return 0;
            memcpy(param, s, n);
            param[n] = '\0';
            p = pe + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p != '\0' || *s != '\0') {
        if (param && param_size)
            param[0] = '\0';
        return 0;
    }
    return 1;
}

static int is_cookie_name_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

int http_cookie_find(const char *header, size_t len, const char *name, char *out, size_t out_size)
{
    if (!header || !name || !out || out_size == 0)
        return SAFECAM_ERR_INVAL;
    out[0] = '\0';
    if (len > HTTP_COOKIE_HEADER_MAX_BYTES)
        return SAFECAM_ERR_INVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)header[i];
        if (c < 0x20 || c > 0x7e)
            return SAFECAM_ERR_INVAL;
    }
    size_t name_len = strlen(name);
    const char *val = NULL;
    size_t val_len = 0;
    int found = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && header[end] != ';')
            end++;
        /* trim the pair */
        size_t a = i;
        size_t b = end;
        while (a < b && header[a] == ' ')
            a++;
        while (b > a && header[b - 1] == ' ')
            b--;
        const char *eq = memchr(header + a, '=', b - a);
        if (eq) {
            size_t na = a;
            size_t nb = (size_t)(eq - header);
            while (nb > na && header[nb - 1] == ' ')
                nb--;
            int name_ok = nb > na;
            for (size_t k = na; k < nb; k++)
                if (!is_cookie_name_char((unsigned char)header[k]))
                    name_ok = 0;
            if (name_ok && nb - na == name_len && memcmp(header + na, name, name_len) == 0) {
                if (found)
                    return SAFECAM_ERR_INVAL; /* the same cookie twice: cookie tossing */
                found = 1;
                size_t va = (size_t)(eq - header) + 1;
                size_t vb = b;
                while (va < vb && header[va] == ' ')
                    va++;
                if (vb - va >= 2 && header[va] == '"' && header[vb - 1] == '"') {
                    va++;
                    vb--;
                }
                val = header + va;
                val_len = vb - va;
            }
        }
        i = end + 1;
    }
    if (!found)
        return SAFECAM_ERR_NOTFOUND;
    if (val_len >= out_size)
        return SAFECAM_ERR_TOOBIG;
    memcpy(out, val, val_len);
    out[val_len] = '\0';
    return 0;
}

int http_token_hex_valid(const char *s, size_t len)
{
    if (!s || len != HTTP_TOKEN_HEX_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

/* Split "HOST[:PORT]" or "[V6][:PORT]" (len bytes) into host (without brackets) and port. */
static int hostport_parse(const char *s, size_t len, char *host, size_t host_size, unsigned long *port)
{
    if (len == 0 || len >= 300)
        return 0;
    size_t hlen;
    const char *h;
    const char *rest;
    if (s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return 0;
        h = s + 1;
        hlen = (size_t)(rb - h);
        if (hlen == 0)
            return 0;
        for (size_t i = 0; i < hlen; i++) {
            unsigned char c = (unsigned char)h[i];
            if (hex_val(c) < 0 && c != ':' && c != '.')
                return 0;
        }
        rest = rb + 1;
    } else {
        h = s;
        hlen = 0;
        while (hlen < len && s[hlen] != ':')
            hlen++;
        if (hlen == 0)
            return 0;
        for (size_t i = 0; i < hlen; i++) {
            unsigned char c = (unsigned char)h[i];
            if (!is_alnum(c) && c != '.' && c != '-')
                return 0;
        }
        rest = s + hlen;
    }
    size_t rlen = len - (size_t)(rest - s);
    if (rlen > 0) {
        if (rest[0] != ':' || rlen < 2 || rlen > 6)
            return 0;
        unsigned long p = 0;
        for (size_t i = 1; i < rlen; i++) {
            if (rest[i] < '0' || rest[i] > '9')
                return 0;
            p = p * 10 + (unsigned long)(rest[i] - '0');
        }
        if (p == 0 || p > 65535)
            return 0;
        *port = p;
    }
    if (hlen >= host_size)
        return 0;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return 1;
}

int http_origin_allowed(const char *origin, const char *host, const char *bind_addr, unsigned port)
{
    if (!origin)
        return 1;
    static const char scheme[] = "https://";
    size_t olen = strnlen(origin, HTTP_HEADER_VALUE_MAX_BYTES + 1);
    if (olen > HTTP_HEADER_VALUE_MAX_BYTES || olen <= sizeof(scheme) - 1)
        return 0;
    if (strncasecmp(origin, scheme, sizeof(scheme) - 1) != 0)
        return 0;
    char ohost[256];
    unsigned long oport = 443;
    if (!hostport_parse(origin + sizeof(scheme) - 1, olen - (sizeof(scheme) - 1), ohost, sizeof(ohost), &oport))
        return 0;
    if (host) {
        char hhost[256];
        unsigned long hport = 443;
        size_t hlen = strnlen(host, HTTP_HEADER_VALUE_MAX_BYTES + 1);
        if (hlen <= HTTP_HEADER_VALUE_MAX_BYTES && hostport_parse(host, hlen, hhost, sizeof(hhost), &hport) &&
            strcasecmp(hhost, ohost) == 0 && hport == oport)
            return 1;
    }
    if (bind_addr && bind_addr[0] && strcmp(bind_addr, "0.0.0.0") != 0 && strcmp(bind_addr, "::") != 0 &&
        strcasecmp(bind_addr, ohost) == 0 && oport == port)
        return 1;
    return 0;
}

int http_content_type_json(const char *value)
{
    if (!value)
        return 0;
    static const char base[] = "application/json";
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, base, sizeof(base) - 1) != 0)
        return 0;
    p += sizeof(base) - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 1;
    if (*p != ';')
        return 0;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    static const char cs[] = "charset=";
    if (strncasecmp(p, cs, sizeof(cs) - 1) != 0)
        return 0;
    p += sizeof(cs) - 1;
    if (strncasecmp(p, "utf-8", 5) == 0)
        p += 5;
    else if (strncasecmp(p, "\"utf-8\"", 7) == 0)
        p += 7;
    else
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0';
}

static void err_set(struct http_body_error *err, const char *code, const char *field)
{
    if (!err)
        return;
    err->code = code;
    err->field[0] = '\0';
    if (!field)
        return;
    /* The name may come from the attacker: keep printable ASCII only, bounded. */
    size_t o = 0;
    for (size_t i = 0; field[i] && o + 1 < sizeof(err->field); i++) {
        unsigned char c = (unsigned char)field[i];
        err->field[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    err->field[o] = '\0';
}

#define OPEN_KEYS_MAX 16
#define OPEN_KEY_MAX_BYTES 32
#define OPEN_STRING_MAX_BYTES 64

static int open_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > OPEN_KEY_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_key_char((unsigned char)k[i]))
            return 0;
    return 1;
}

static int field_value_ok(const struct http_field *f, const json_t *v)
{
    switch (f->type) {
    case HTTP_FIELD_STRING: {
        if (!json_is_string(v))
            return 0;
        size_t n = json_string_length(v);
        if ((long)n < f->min || (long)n > f->max)
            return 0;
        if (f->enum_values) {
            const char *s = json_string_value(v);
            for (size_t i = 0; f->enum_values[i]; i++)
                if (strcmp(s, f->enum_values[i]) == 0)
                    return 1;
            return 0;
        }
        return 1;
    }
    case HTTP_FIELD_INT: {
        if (!json_is_integer(v))
            return 0;
        json_int_t x = json_integer_value(v);
        return x >= f->min && x <= f->max;
    }
    case HTTP_FIELD_BOOL:
        return json_is_boolean(v);
    case HTTP_FIELD_OBJECT:
        return json_is_object(v) && (long)json_object_size(v) >= f->min && (long)json_object_size(v) <= f->max;
    }
    return 0;
}

int http_json_body_parse(const char *body, size_t len, size_t max_len, const struct http_field *schema,
                         size_t n, json_t **out, struct http_body_error *err)
{
    if (out)
        *out = NULL;
    err_set(err, "invalid_json", NULL);
    if (!out || (!body && len))
        return SAFECAM_ERR_INVAL;
    if (len > max_len) {
        err_set(err, "payload_too_large", NULL);
        return SAFECAM_ERR_TOOBIG;
    }
    if (len == 0 || !safecam_utf8_valid(body, len))
        return SAFECAM_ERR_INVAL;
    json_error_t jerr;
    json_t *obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return SAFECAM_ERR_INVAL;
    if (!json_is_object(obj))
        goto bad_json;
    const char *key;
    json_t *val;
    if (!schema) {
        if (json_object_size(obj) > OPEN_KEYS_MAX) {
            err_set(err, "invalid_json", NULL);
            goto bad;
        }
        json_object_foreach(obj, key, val) {
            if (!open_key_ok(key)) {
                err_set(err, "unknown_field", key);
                goto bad;
            }
            int ok = json_is_integer(val) || json_is_boolean(val) ||
                     (json_is_string(val) && json_string_length(val) <= OPEN_STRING_MAX_BYTES);
            if (!ok) {
                err_set(err, "invalid_field", key);
                goto bad;
            }
        }
        *out = obj;
        err_set(err, NULL, NULL);
        return 0;
    }
    json_object_foreach(obj, key, val) {
        int known = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(key, schema[i].name) == 0)
                known = 1;
        if (!known) {
            err_set(err, "unknown_field", key);
            goto bad;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, schema[i].name);
        if (!v) {
            if (schema[i].required) {
                err_set(err, "missing_field", schema[i].name);
                goto bad;
            }
            continue;
        }
        if (!field_value_ok(&schema[i], v)) {
            err_set(err, "invalid_field", schema[i].name);
            goto bad;
        }
    }
    *out = obj;
    err_set(err, NULL, NULL);
    return 0;
bad_json:
    err_set(err, "invalid_json", NULL);
bad:
    http_json_wipe(obj);
    return SAFECAM_ERR_INVAL;
}

void http_json_wipe(json_t *obj)
{
    if (!obj)
        return;
    if (json_is_object(obj)) {
        const char *key;
        json_t *val;
        json_object_foreach(obj, key, val) {
            if (json_is_string(val) && json_string_length(val) > 0)
                sodium_memzero((char *)json_string_value(val), json_string_length(val));
        }
    }
    json_decref(obj);
}
