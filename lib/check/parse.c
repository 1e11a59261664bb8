/* parse.c — small parsers of device answers (RTSP status and headers, Set-Cookie, security.txt,
 * version banners) and the pure classification rules behind the verdicts.
 * Trust level: every input here comes from the audited device and is hostile; each parser has a size
 * cap, never reads past its length and copies only into fixed fields. Fuzzed (fuzz/fuzz_check_*). */
#include "check_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void copy_trim(char *dst, size_t dst_size, const char *s, size_t len)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    if (len >= dst_size)
        len = dst_size - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        dst[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
    }
    dst[len] = '\0';
}

static long parse_small_long(const char *s, size_t len)
{
    long v = 0;
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == len || !isdigit((unsigned char)s[i]))
        return -1;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        if (v > 100000000L)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    return i == len ? v : -1;
}

int check_rtsp_response_parse(const char *buf, size_t len, struct check_rtsp_response *out)
{
    memset(out, 0, sizeof *out);
    out->cseq = -1;
    out->content_length = -1;
    if (buf == NULL || len > CHECK_RTSP_MAX_RESPONSE || len < 13)
        return SAFECAM_ERR_INVAL;
    if (memcmp(buf, "RTSP/1.", 7) != 0 || !isdigit((unsigned char)buf[7]) || buf[8] != ' ')
        return SAFECAM_ERR_INVAL;
    if (!isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) || !isdigit((unsigned char)buf[11]))
        return SAFECAM_ERR_INVAL;
    if (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
        return SAFECAM_ERR_INVAL;
    int status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (status < 100 || status > 599)
        return SAFECAM_ERR_INVAL;
    out->status = status;
    /* find end of the status line */
    size_t pos = 12;
    while (pos < len && buf[pos] != '\n')
        pos++;
    if (pos >= len)
        return SAFECAM_ERR_INVAL;
    pos++;
    int ended = 0;
    while (pos < len) {
        size_t start = pos;
        while (pos < len && buf[pos] != '\n')
            pos++;
        if (pos >= len)
            break; /* incomplete line */
        size_t line_len = pos - start;
        pos++;
        if (line_len > 0 && buf[start + line_len - 1] == '\r')
            line_len--;
        if (line_len == 0) {
            ended = 1;
            break;
        }
        if (out->n_headers >= CHECK_RTSP_MAX_HEADERS)
            return SAFECAM_ERR_TOOBIG;
        const char *colon = memchr(buf + start, ':', line_len);
        if (colon == NULL || colon == buf + start)
            return SAFECAM_ERR_INVAL;
        size_t name_len = (size_t)(colon - (buf + start));
        for (size_t i = 0; i < name_len; i++) {
            char ch = buf[start + i];
            if (!(isalnum((unsigned char)ch) || ch == '-' || ch == '_'))
                return SAFECAM_ERR_INVAL;
        }
        const char *val = colon + 1;
        size_t val_len = line_len - name_len - 1;
        out->n_headers++;
#define HDR_IS(n) (name_len == sizeof(n) - 1 && strncasecmp(buf + start, n, name_len) == 0)
        if (HDR_IS("CSeq"))
            out->cseq = parse_small_long(val, val_len);
        else if (HDR_IS("Server"))
            copy_trim(out->server, sizeof out->server, val, val_len);
        else if (HDR_IS("WWW-Authenticate") && out->www_authenticate[0] == '\0')
            copy_trim(out->www_authenticate, sizeof out->www_authenticate, val, val_len);
        else if (HDR_IS("Public"))
            copy_trim(out->public_methods, sizeof out->public_methods, val, val_len);
        else if (HDR_IS("Content-Type"))
            copy_trim(out->content_type, sizeof out->content_type, val, val_len);
        else if (HDR_IS("Content-Length"))
            out->content_length = parse_small_long(val, val_len);
#undef HDR_IS
    }
    return ended ? 0 : SAFECAM_ERR_INVAL;
}

int check_cookie_parse(const char *hv, struct check_cookie *out)
{
    memset(out, 0, sizeof *out);
    if (hv == NULL)
        return SAFECAM_ERR_INVAL;
    size_t len = strnlen(hv, 4096);
    if (len >= 4096)
        return SAFECAM_ERR_TOOBIG;
    const char *p = hv;
    const char *end = hv + len;
    while (p < end && *p == ' ')
        p++;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if (eq == NULL || (semi != NULL && semi < eq) || eq == p)
        return SAFECAM_ERR_INVAL;
    size_t nlen = (size_t)(eq - p);
    if (nlen >= sizeof out->name)
        return SAFECAM_ERR_TOOBIG;
    memcpy(out->name, p, nlen);
    out->name[nlen] = '\0';
    const char *v = eq + 1;
    const char *vend = semi ? semi : end;
    while (vend > v && (vend[-1] == ' ' || vend[-1] == '\r'))
        vend--;
    out->value_len = (size_t)(vend - v);
    if (out->value_len >= sizeof out->value)
        return SAFECAM_ERR_TOOBIG;
    memcpy(out->value, v, out->value_len);
    out->value[out->value_len] = '\0';
    p = semi;
    while (p != NULL && p < end) {
        p++; /* skip ';' */
        while (p < end && *p == ' ')
            p++;
        const char *aend = memchr(p, ';', (size_t)(end - p));
        size_t alen = (size_t)((aend ? aend : end) - p);
        while (alen > 0 && (p[alen - 1] == ' ' || p[alen - 1] == '\r'))
            alen--;
        if (alen == 6 && strncasecmp(p, "Secure", 6) == 0)
            out->secure = 1;
        else if (alen == 8 && strncasecmp(p, "HttpOnly", 8) == 0)
            out->httponly = 1;
        else if (alen > 9 && strncasecmp(p, "SameSite=", 9) == 0)
            copy_trim(out->samesite, sizeof out->samesite, p + 9, alen - 9);
        p = aend;
    }
    return 0;
}

double check_token_entropy_bits(const char *t)
{
    if (t == NULL)
        return 0.0;
    size_t len = strnlen(t, 4096);
    int lower = 0, upper = 0, digit = 0, other = 0, hexonly = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (islower(ch)) {
            lower = 1;
            if (ch > 'f')
                hexonly = 0;
        } else if (isupper(ch)) {
            upper = 1;
            if (ch > 'F')
                hexonly = 0;
        } else if (isdigit(ch)) {
            digit = 1;
        } else {
            other = 1;
            hexonly = 0;
        }
    }
    double alphabet;
    if (hexonly && !(lower && upper))
        alphabet = (lower || upper) ? 16.0 : 10.0;
    else
        alphabet = (lower ? 26.0 : 0) + (upper ? 26.0 : 0) + (digit ? 10.0 : 0) + (other ? 2.0 : 0);
    if (alphabet < 2.0)
        return 0.0;
    /* A run of one repeated character carries no entropy: count distinct characters as a ceiling. */
    int seen[256] = {0};
    size_t distinct = 0;
    for (size_t i = 0; i < len; i++)
        if (!seen[(unsigned char)t[i]]++)
            distinct++;
    if (distinct < 4)
        return (double)distinct;
    return (double)len * log2(alphabet);
}

static int64_t parse_rfc3339(const char *s)
{
    int y, mo, d, h, mi, se;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6)
        return 0;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : (int64_t)t;
}

int check_securitytxt_parse(const char *text, size_t len, int *has_contact, int *has_policy, int64_t *expires)
{
    *has_contact = 0;
    *has_policy = 0;
    *expires = 0;
    if (text == NULL || len > 65536)
        return SAFECAM_ERR_INVAL;
    int fields = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t start = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        size_t l = pos - start;
        pos++;
        if (l > 0 && text[start + l - 1] == '\r')
            l--;
        if (l == 0 || text[start] == '#')
            continue;
        char line[512];
        if (l >= sizeof line)
            continue;
        memcpy(line, text + start, l);
        line[l] = '\0';
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        const char *val = colon + 1;
        while (*val == ' ')
            val++;
        if (strcasecmp(line, "Contact") == 0 && *val) {
            *has_contact = 1;
            fields++;
        } else if (strcasecmp(line, "Policy") == 0 && *val) {
            *has_policy = 1;
            fields++;
        } else if (strcasecmp(line, "Expires") == 0) {
            *expires = parse_rfc3339(val);
            fields++;
        } else if (strcasecmp(line, "Encryption") == 0 || strcasecmp(line, "Acknowledgments") == 0 ||
                   strcasecmp(line, "Preferred-Languages") == 0 || strcasecmp(line, "Canonical") == 0 ||
                   strcasecmp(line, "Hiring") == 0 || strcasecmp(line, "CSAF") == 0) {
            fields++;
        }
    }
    return fields > 0 ? 0 : SAFECAM_ERR_INVAL;
}

int check_banner_has_version(const char *v)
{
    if (v == NULL)
        return 0;
    size_t len = strnlen(v, 1024);
    /* product/1.2, product 1.2.3, vX.Y */
    for (size_t i = 0; i + 2 < len; i++) {
        unsigned char c0 = (unsigned char)v[i];
        if ((c0 == '/' || c0 == ' ' || c0 == 'v' || c0 == 'V' || c0 == '-' || c0 == '_') &&
            isdigit((unsigned char)v[i + 1])) {
            size_t j = i + 1;
            while (j < len && isdigit((unsigned char)v[j]))
                j++;
            if (c0 == '/' && j > i + 1)
                return 1;
            if (j < len && v[j] == '.' && j + 1 < len && isdigit((unsigned char)v[j + 1]))
                return 1;
        }
    }
    return 0;
}

int check_tls_suite_weak(const char *name)
{
    if (name == NULL)
        return 1;
    static const char *const weak[] = {"_CBC", "ARCFOUR", "RC4", "3DES", "DES_", "NULL", "EXPORT", "ANON",
                                       "anon", "MD5", NULL};
    for (size_t i = 0; weak[i]; i++)
        if (strstr(name, weak[i]) != NULL)
            return 1;
    /* TLS 1.3 suites ("TLS_AES_128_GCM_SHA256") carry no key exchange and are forward secret. */
    if (strncmp(name, "TLS_AES_", 8) == 0 || strncmp(name, "TLS_CHACHA20_", 13) == 0)
        return 0;
    /* static RSA key exchange: no forward secrecy */
    if (strncmp(name, "TLS_RSA_", 8) == 0 || strncmp(name, "RSA_", 4) == 0)
        return 1;
    return 0;
}

static int is_ver_at(const char *t, size_t len, size_t j)
{
    /* digits '.' digit at t[j] */
    size_t k = j;
    while (k < len && k < j + 6 && isdigit((unsigned char)t[k]))
        k++;
    return k > j && k + 1 < len && t[k] == '.' && isdigit((unsigned char)t[k + 1]);
}

static void excerpt(const char *t, size_t len, size_t at, char *out, size_t out_size)
{
    size_t s = at > 24 ? at - 24 : 0;
    size_t e = at + 24 < len ? at + 24 : len;
    size_t o = 0;
    for (size_t i = s; i < e && o + 1 < out_size; i++) {
        unsigned char ch = (unsigned char)t[i];
        out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
    }
    out[o] = '\0';
}

int check_body_version_find(const char *body, size_t len, char *out, size_t out_size)
{
    if (out_size > 0)
        out[0] = '\0';
    if (body == NULL || out == NULL || out_size == 0)
        return 0;
    if (len > 256 * 1024)
        len = 256 * 1024;
    /* text without markup, positions kept for the excerpt */
    char *t = malloc(len + 1);
    if (t == NULL)
        return 0;
    int in_tag = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = body[i];
        if (ch == '<') {
            in_tag = 1;
            /* <meta name="generator" content="X 1.2">: keep the content attribute */
            if (i + 5 < len && strncasecmp(body + i, "<meta", 5) == 0) {
                const char *end = memchr(body + i, '>', len - i);
                size_t tl = end ? (size_t)(end - (body + i)) : len - i;
                char tag[512];
                size_t cl = tl < sizeof tag - 1 ? tl : sizeof tag - 1;
                memcpy(tag, body + i, cl);
                tag[cl] = '\0';
                if (strcasestr(tag, "generator") != NULL) {
                    const char *cv = strcasestr(tag, "content=");
                    if (cv != NULL && check_banner_has_version(cv + 8)) {
                        excerpt(body, len, i + (size_t)(cv - tag), out, out_size);
                        free(t);
                        return 1;
                    }
                }
            }
        }
        t[i] = in_tag ? ' ' : ch;
        if (ch == '>')
            in_tag = 0;
    }
    t[len] = '\0';
    int found = 0;
    for (size_t i = 1; i + 2 < len && !found; i++) {
        if (t[i] == '/' && is_ver_at(t, len, i + 1) && isalpha((unsigned char)t[i - 1])) {
            size_t s = i;
            while (s > 0 && (isalnum((unsigned char)t[s - 1]) || t[s - 1] == '-' || t[s - 1] == '_'))
                s--;
            if (i - s >= 2 && !((i - s == 4 && (strncasecmp(t + s, "HTTP", 4) == 0 || strncasecmp(t + s, "RTSP", 4) == 0)))) {
                excerpt(t, len, i, out, out_size);
                found = 1;
            }
            continue;
        }
        static const char *const words[] = {"version", "firmware", "ver.", "build"};
        for (size_t w = 0; w < sizeof words / sizeof words[0] && !found; w++) {
            size_t wl = strlen(words[w]);
            if (i + wl >= len || strncasecmp(t + i, words[w], wl) != 0 || isalpha((unsigned char)t[i - 1]))
                continue;
            size_t j = i + wl;
            while (j < len && j < i + wl + 3 && (t[j] == ' ' || t[j] == ':' || t[j] == 'v' || t[j] == 'V'))
                j++;
            if (is_ver_at(t, len, j)) {
                excerpt(t, len, i, out, out_size);
                found = 1;
            }
        }
    }
    free(t);
    return found;
}

int check_mqtt_connack_parse(const unsigned char *buf, size_t len, int *return_code)
{
    *return_code = -1;
    if (buf == NULL || len < 4 || buf[0] != 0x20)
        return SAFECAM_ERR_PROTO;
    /* remaining length: variable byte integer, at most 4 bytes */
    size_t rem = 0, i = 1;
    for (unsigned shift = 0; i < len && i < 5; i++, shift += 7) {
        rem |= (size_t)(buf[i] & 0x7f) << shift;
        if ((buf[i] & 0x80) == 0)
            break;
    }
    if (i >= len || i >= 5 || (buf[i] & 0x80))
        return SAFECAM_ERR_PROTO;
    i++;
    if (rem < 2 || rem > 256 || i + 2 > len)
        return SAFECAM_ERR_PROTO;
    if (buf[i] & 0xfe) /* connect acknowledge flags: only session present may be set */
        return SAFECAM_ERR_PROTO;
    *return_code = buf[i + 1];
    return 0;
}

int check_ftp_reply_parse(const char *buf, size_t len, int *code)
{
    *code = 0;
    if (buf == NULL)
        return SAFECAM_ERR_PROTO;
    size_t pos = 0;
    int open_multi = 0, last = 0;
    while (pos < len) {
        const char *eol = memchr(buf + pos, '\n', len - pos);
        if (eol == NULL)
            break; /* an incomplete line is not a reply */
        size_t l = (size_t)(eol - (buf + pos));
        const char *ln = buf + pos;
        if (l >= 3 && isdigit((unsigned char)ln[0]) && isdigit((unsigned char)ln[1]) && isdigit((unsigned char)ln[2])) {
            int c = (ln[0] - '0') * 100 + (ln[1] - '0') * 10 + (ln[2] - '0');
            char sep = l > 3 ? ln[3] : ' ';
            if (c >= 100 && c < 600) {
                if (sep == '-' && open_multi == 0)
                    open_multi = c;
                else if ((sep == ' ' || sep == '\r') && (open_multi == 0 || open_multi == c)) {
                    open_multi = 0;
                    last = c;
                }
            }
        }
        pos += l + 1;
    }
    if (last == 0)
        return SAFECAM_ERR_PROTO;
    *code = last;
    return 0;
}

/* One BER TLV at buf[*pos] (bounded by end): tag, content start and length. 0 or -1. */
static int ber_tlv(const unsigned char *buf, size_t end, size_t *pos, unsigned *tag, size_t *start, size_t *clen)
{
    size_t p = *pos;
    if (p + 2 > end)
        return -1;
    *tag = buf[p++];
    size_t l = buf[p++];
    if (l & 0x80) {
        size_t nb = l & 0x7f;
        if (nb == 0 || nb > 3 || p + nb > end)
            return -1;
        l = 0;
        for (size_t i = 0; i < nb; i++)
            l = (l << 8) | buf[p++];
    }
    if (l > end - p)
        return -1;
    *start = p;
    *clen = l;
    *pos = p + l;
    return 0;
}

int check_snmp_first_string_parse(const unsigned char *buf, size_t len, char *out, size_t out_size)
{
    if (out_size > 0)
        out[0] = '\0';
    if (buf == NULL || out == NULL || out_size == 0)
        return SAFECAM_ERR_PROTO;
    unsigned tag;
    size_t pos = 0, st, cl;
    /* Message ::= SEQUENCE { version INTEGER, community OCTET STRING, GetResponse-PDU [2] } */
    if (ber_tlv(buf, len, &pos, &tag, &st, &cl) != 0 || tag != 0x30)
        return SAFECAM_ERR_PROTO;
    size_t end = st + cl;
    pos = st;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x02)
        return SAFECAM_ERR_PROTO;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x04)
        return SAFECAM_ERR_PROTO;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0xa2)
        return SAFECAM_ERR_PROTO;
    end = st + cl;
    pos = st;
    for (int i = 0; i < 3; i++) /* request-id, error-status, error-index */
        if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x02)
            return SAFECAM_ERR_PROTO;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x30) /* VarBindList */
        return SAFECAM_ERR_PROTO;
    pos = st;
    end = st + cl;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x30) /* VarBind */
        return SAFECAM_ERR_PROTO;
    pos = st;
    end = st + cl;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x06) /* name */
        return SAFECAM_ERR_PROTO;
    if (ber_tlv(buf, end, &pos, &tag, &st, &cl) != 0 || tag != 0x04) /* value */
        return SAFECAM_ERR_PROTO;
    size_t o = 0;
    for (size_t i = 0; i < cl && o + 1 < out_size; i++) {
        unsigned char ch = buf[st + i];
        out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
    }
    out[o] = '\0';
    return 0;
}

#define WSD_SCAN_MAX 16384
#define WSD_NAME_MAX 64

/* Is buf[i] the start tag '<prefix:local ...>' or '<local>' with the given local name? On success *text is
 * the offset after its '>' (an empty element '<x/>' does not match). */
static int wsd_start_tag(const char *buf, size_t len, size_t i, const char *local, size_t *text)
{
    if (buf[i] != '<' || i + 1 >= len || buf[i + 1] == '/' || buf[i + 1] == '?' || buf[i + 1] == '!')
        return 0;
    size_t j = i + 1, name_start = j, local_start = j;
    while (j < len && j - name_start < WSD_NAME_MAX &&
           (isalnum((unsigned char)buf[j]) || buf[j] == ':' || buf[j] == '_' || buf[j] == '-' || buf[j] == '.')) {
        if (buf[j] == ':')
            local_start = j + 1;
        j++;
    }
    size_t ll = strlen(local);
    if (j >= len || j - local_start != ll || strncmp(buf + local_start, local, ll) != 0)
        return 0;
    if (buf[j] != '>' && buf[j] != ' ' && buf[j] != '\t' && buf[j] != '\r' && buf[j] != '\n' && buf[j] != '/')
        return 0;
    /* to the end of the tag, bounded by the input */
    while (j < len && buf[j] != '>')
        j++;
    if (j >= len || buf[j - 1] == '/')
        return 0;
    *text = j + 1;
    return 1;
}

/* The text of the first element named local, whitespace collapsed, printable; 1 when the element exists. */
static int wsd_elem_text(const char *buf, size_t len, const char *local, char *out, size_t out_size)
{
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        size_t t;
        if (!wsd_start_tag(buf, len, i, local, &t))
            continue;
        size_t o = 0;
        int space = 0;
        for (; t < len && buf[t] != '<'; t++) {
            unsigned char ch = (unsigned char)buf[t];
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
                space = o > 0;
                continue;
            }
            if (space && o + 1 < out_size)
                out[o++] = ' ';
            space = 0;
            if (o + 1 < out_size)
                out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        out[o] = '\0';
        return 1;
    }
    return 0;
}

int check_wsd_match_parse(const char *buf, size_t len, struct check_wsd_match *out)
{
    if (out == NULL)
        return SAFECAM_ERR_PROTO;
    memset(out, 0, sizeof *out);
    if (buf == NULL)
        return SAFECAM_ERR_PROTO;
    if (len > WSD_SCAN_MAX)
        len = WSD_SCAN_MAX;
    static const char *const kinds[] = {"ProbeMatch", "ResolveMatch", "Hello"};
    size_t at = len;
    for (size_t i = 0; i < len && at == len; i++)
        for (size_t k = 0; k < SAFECAM_ARRAY_LEN(kinds); k++) {
            size_t t;
            if (wsd_start_tag(buf, len, i, kinds[k], &t)) {
                at = t;
                break;
            }
        }
    if (at == len)
        return SAFECAM_ERR_PROTO;
    buf += at;
    len -= at;
    (void)wsd_elem_text(buf, len, "XAddrs", out->xaddrs, sizeof out->xaddrs);
    (void)wsd_elem_text(buf, len, "Types", out->types, sizeof out->types);
    (void)wsd_elem_text(buf, len, "Scopes", out->scopes, sizeof out->scopes);
    (void)wsd_elem_text(buf, len, "Address", out->address, sizeof out->address);
    return 0;
}

int check_wsd_xaddrs_cleartext(const char *xaddrs, char *first, size_t first_size)
{
    if (first != NULL && first_size > 0)
        first[0] = '\0';
    if (xaddrs == NULL)
        return 0;
    const char *s = xaddrs;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t n = strcspn(s, " ");
        if (n >= 7 && strncasecmp(s, "http://", 7) == 0) {
            if (first != NULL && first_size > 0) {
                size_t c = n < first_size - 1 ? n : first_size - 1;
                memcpy(first, s, c);
                first[c] = '\0';
            }
            return 1;
        }
        s += n;
    }
    return 0;
}

int check_ssdp_server_parse(const char *buf, size_t len, char *out, size_t out_size)
{
    if (out == NULL || out_size == 0)
        return SAFECAM_ERR_PROTO;
    out[0] = '\0';
    if (buf == NULL || len < 12 || strncmp(buf, "HTTP/1.1 200", 12) != 0)
        return SAFECAM_ERR_PROTO;
    if (len > WSD_SCAN_MAX)
        len = WSD_SCAN_MAX;
    for (size_t i = 0; i + 8 <= len; i++) {
        if (buf[i] != '\n' || strncasecmp(buf + i + 1, "SERVER:", 7) != 0)
            continue;
        size_t t = i + 8;
        while (t < len && (buf[t] == ' ' || buf[t] == '\t'))
            t++;
        size_t o = 0;
        for (; t < len && buf[t] != '\r' && buf[t] != '\n' && o + 1 < out_size; t++) {
            unsigned char ch = (unsigned char)buf[t];
            out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        out[o] = '\0';
        return 0;
    }
    return SAFECAM_ERR_PROTO;
}

/* ---- service kinds (profile services, SC-01 classification) ---- */

static const char *const kind_names[] = {"unknown", "http", "https", "rtsp", "rtsps", "ssh",
                                         "telnet", "ftp", "tls", "onvif", "other",
                                         "mqtt", "mqtts", "sip"};

const char *check_service_kind_name(enum check_service_kind k)
{
    if ((size_t)k >= SAFECAM_ARRAY_LEN(kind_names))
        return "unknown";
    return kind_names[k];
}

int check_service_kind_parse(const char *s)
{
    for (size_t i = 1; i < SAFECAM_ARRAY_LEN(kind_names); i++)
        if (strcmp(s, kind_names[i]) == 0)
            return (int)i;
    return -1;
}
