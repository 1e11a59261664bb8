/* validate.c — checks of the linked-service settings before anything is kept: URL schemes (https://,
 * mqtts:// only), the admin's CA (GnuTLS parses it), no CR/LF/NUL in anything that reaches a protocol,
 * retention in range. Pure functions. Trust level: input from an admin over the network.
 * QCVN 135 G8 / EN 303 645 5.5-1 (no clear-text link is accepted). */
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "safecam/core.h"
#include "safecam/link.h"

int link_string_clean(const char *s, size_t len)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return 0;
    return safecam_utf8_valid(s, len);
}

int link_ca_pem_valid(const char *pem, size_t len)
{
    if (!pem || len == 0 || len > LINK_CA_PEM_MAX)
        return 0;
    gnutls_x509_crt_t certs[LINK_CA_CERTS_MAX];
    unsigned n = LINK_CA_CERTS_MAX;
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)len};
    int rc = gnutls_x509_crt_list_import(certs, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0)
        return 0;
    for (unsigned i = 0; i < (unsigned)rc && i < LINK_CA_CERTS_MAX; i++)
        gnutls_x509_crt_deinit(certs[i]);
    return rc >= 1;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("/-._~%!$&'()*+,;=:@", c) != NULL);
}

int link_url_parse(const char *url, const char *scheme, char *host_out, size_t host_size, int *port_out,
                   char *path_out, size_t path_size)
{
    if (!url || !scheme || !host_out || !port_out || !path_out)
        return SAFECAM_ERR_INVAL;
    size_t sl = strlen(scheme), ul = strlen(url);
    if (ul > LINK_URL_MAX || !link_string_clean(url, ul) || strncmp(url, scheme, sl) != 0 ||
        strncmp(url + sl, "://", 3) != 0)
        return SAFECAM_ERR_INVAL;
    const char *p = url + sl + 3;
    const char *host_end;
    const char *h = p;
    size_t hl;
    if (*p == '[') { /* IPv6 literal */
        host_end = strchr(p, ']');
        if (!host_end)
            return SAFECAM_ERR_INVAL;
        h = p + 1;
        hl = (size_t)(host_end - h);
        for (size_t i = 0; i < hl; i++)
            if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f') || (h[i] >= 'A' && h[i] <= 'F') ||
                  h[i] == ':' || h[i] == '.'))
                return SAFECAM_ERR_INVAL;
        p = host_end + 1;
    } else {
        while (host_char(*p))
            p++;
        hl = (size_t)(p - h);
    }
    if (hl == 0 || hl >= host_size)
        return SAFECAM_ERR_INVAL;
    memcpy(host_out, h, hl);
    host_out[hl] = '\0';
    int port = strcmp(scheme, "mqtts") == 0 ? 8883 : 443;
    if (*p == ':') {
        p++;
        long v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) {
            v = v * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || v < 1 || v > 65535)
            return SAFECAM_ERR_INVAL;
        port = (int)v;
    }
    if (*p != '\0' && *p != '/')
        return SAFECAM_ERR_INVAL; /* user info (@), query, fragment, junk */
    const char *path = *p ? p : "/";
    for (const char *c = path; *c; c++)
        if (!path_char(*c))
            return SAFECAM_ERR_INVAL;
    if (strstr(path, "/../") || (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
        return SAFECAM_ERR_INVAL;
    if (safecam_strlcpy(path_out, path, path_size) != 0)
        return SAFECAM_ERR_INVAL;
    *port_out = port;
    return 0;
}

static int set_field(char *field, size_t field_size, const char *a, const char *b)
{
    if (field && field_size && safecam_fmt(field, field_size, "%s%s%s", a, b ? "." : "", b ? b : "") != 0)
        field[0] = '\0';
    return SAFECAM_ERR_INVAL;
}

static int clean_string_member(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) <= max &&
           link_string_clean(json_string_value(v), json_string_length(v));
}

static int validate_service(const char *svc, const json_t *o, char *field, size_t field_size)
{
    int mqtt = strcmp(svc, "mqtt") == 0;
    if (!json_is_object(o))
        return set_field(field, field_size, svc, NULL);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        char host[256], path[LINK_URL_MAX + 1];
        int port;
        if (strcmp(key, "url") == 0) {
            if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
                link_url_parse(json_string_value(v), mqtt ? "mqtts" : "https", host, sizeof host, &port, path,
                               sizeof path) != 0 ||
                (mqtt && strcmp(path, "/") != 0))
                return set_field(field, field_size, svc, key);
        } else if (strcmp(key, "ca_pem") == 0) {
            if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
                !link_ca_pem_valid(json_string_value(v), json_string_length(v)))
                return set_field(field, field_size, svc, key);
        } else if (strcmp(key, "username") == 0 || strcmp(key, "password") == 0) {
            if (!clean_string_member(v, LINK_FIELD_MAX))
                return set_field(field, field_size, svc, key);
            /* a user name travels in an HTTP Basic header or an MQTT CONNECT: no ':' for Basic */
            if (!mqtt && strcmp(key, "username") == 0 && strchr(json_string_value(v), ':'))
                return set_field(field, field_size, svc, key);
        } else if (mqtt && strcmp(key, "topic") == 0) {
            if (!clean_string_member(v, LINK_FIELD_MAX) || json_string_length(v) == 0 ||
                strpbrk(json_string_value(v), "+#") || json_string_value(v)[0] == '$')
                return set_field(field, field_size, svc, key);
        } else if (!mqtt && strcmp(key, "upload") == 0) {
            if (link_upload_mode_parse(json_string_value(v)) < 0)
                return set_field(field, field_size, svc, key);
        } else if (!mqtt && strcmp(key, "retention_days") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < LINK_RETENTION_DAYS_MIN ||
                json_integer_value(v) > LINK_RETENTION_DAYS_MAX)
                return set_field(field, field_size, svc, key);
        } else {
            return set_field(field, field_size, svc, key);
        }
    }
    return 0;
}

int link_upload_mode_parse(const char *s)
{
    static const char *const names[] = {[LINK_UPLOAD_OFF] = "off", [LINK_UPLOAD_MOTION] = "motion",
                                        [LINK_UPLOAD_ALL] = "all"};
    for (int i = 0; s && i < (int)SAFECAM_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int link_settings_validate(const json_t *in, char *field, size_t field_size)
{
    if (field && field_size)
        field[0] = '\0';
    if (!json_is_object(in))
        return set_field(field, field_size, "body", NULL);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        if (strcmp(key, "mqtt") == 0 || strcmp(key, "webdav") == 0) {
            if (validate_service(key, v, field, field_size) != 0)
                return SAFECAM_ERR_INVAL;
        } else if (strcmp(key, "data_location") == 0) {
            const char *s = json_string_value(v);
            if (!s || (strcmp(s, "vn") != 0 && strcmp(s, "other") != 0 && strcmp(s, "unset") != 0))
                return set_field(field, field_size, key, NULL);
        } else {
            return set_field(field, field_size, "body", NULL);
        }
    }
    return 0;
}
