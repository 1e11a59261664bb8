/* test_onvif.c — lib/onvif: the parse limits (DOCTYPE, entities, 10,000-deep nesting, oversize, NUL/UTF-16),
 * the envelope (SOAP 1.2 and 1.1), the UsernameToken fields, the dispatcher (unknown action, missing Security,
 * one auth call, public GetSystemDateAndTime) and the answers (escaping, rtsps:// URI without credentials). The
 * seed corpus in fuzz/corpus/onvif_soap is real client traffic and is parsed here too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/onvif.h"

#define ENV12 "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
#define SEC_DIGEST                                                                                            \
    "<s:Header><wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"          \
    "wssecurity-secext-1.0.xsd\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"        \
    "wssecurity-utility-1.0.xsd\"><wsse:UsernameToken><wsse:Username>nvr1</wsse:Username><wsse:Password "     \
    "Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#"              \
    "PasswordDigest\">tuOSpGlFlIXsozq4HFNeeGeFLEI=</wsse:Password><wsse:Nonce>LKqI6G/AikKCQrN0zqZFlg=="      \
    "</wsse:Nonce><wsu:Created>2026-12-06T23:50:00Z</wsu:Created></wsse:UsernameToken></wsse:Security>"     \
    "</s:Header>"
#define BODY(op) "<s:Body>" op "</s:Body></s:Envelope>"

static int parse_str(const char *s, struct onvif_request *r)
{
    return onvif_request_parse(s, strlen(s), r);
}

static void test_parse_ok_digest(void **state)
{
    (void)state;
    struct onvif_request r;
    assert_int_equal(parse_str(ENV12 SEC_DIGEST BODY("<GetStreamUri xmlns=\"" ONVIF_NS_MEDIA "\"><ProfileToken> "
                                                     "main </ProfileToken></GetStreamUri>"),
                               &r),
                     0);
    assert_int_equal(r.soap_version, 12);
    assert_int_equal(r.op, ONVIF_OP_GET_STREAM_URI);
    assert_string_equal(r.profile_token, "main");
    assert_true(r.sec.present);
    assert_string_equal(r.sec.username, "nvr1");
    assert_string_equal(r.sec.password_type, "digest");
    assert_string_equal(r.sec.password, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    assert_string_equal(r.sec.nonce_b64, "LKqI6G/AikKCQrN0zqZFlg==");
    assert_string_equal(r.sec.created, "2026-12-06T23:50:00Z");
    onvif_request_clear(&r);
    assert_int_equal(r.sec.password[0], 0);
}

static void test_parse_soap11_text(void **state)
{
    (void)state;
    struct onvif_request r;
    const char *m = "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Header><Security "
                    "xmlns=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">"
                    "<UsernameToken><Username>v</Username><Password>pw</Password></UsernameToken></Security>"
                    "</e:Header><e:Body><GetHostname xmlns=\"" ONVIF_NS_DEVICE "\"/></e:Body></e:Envelope>";
    assert_int_equal(parse_str(m, &r), 0);
    assert_int_equal(r.soap_version, 11);
    assert_int_equal(r.op, ONVIF_OP_GET_HOSTNAME);
    assert_string_equal(r.sec.password_type, "text"); /* no Type: the WSS default */
    onvif_request_clear(&r);
}

static void test_parse_refuses_doctype_and_entities(void **state)
{
    (void)state;
    struct onvif_request r;
    const char *lol = "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                      ENV12 BODY("<GetHostname xmlns=\"" ONVIF_NS_DEVICE "\">&b;</GetHostname>");
    assert_int_equal(parse_str(lol, &r), SAFECAM_ERR_INVAL);
    const char *xxe = "<!DOCTYPE e SYSTEM \"file:///etc/passwd\">" ENV12 BODY("<GetHostname xmlns=\"" ONVIF_NS_DEVICE "\"/>");
    assert_int_equal(parse_str(xxe, &r), SAFECAM_ERR_INVAL);
    /* an undeclared entity reference (no DOCTYPE): malformed, never expanded */
    const char *undecl = ENV12 BODY("<GetHostname xmlns=\"" ONVIF_NS_DEVICE "\">&xxe;</GetHostname>");
    assert_int_equal(parse_str(undecl, &r), SAFECAM_ERR_INVAL);
    /* comments and CDATA pass */
    const char *cm = "<!-- hi -->" ENV12 BODY("<GetHostname xmlns=\"" ONVIF_NS_DEVICE "\"><![CDATA[x]]></GetHostname>");
    assert_int_equal(parse_str(cm, &r), 0);
    assert_int_equal(r.op, ONVIF_OP_GET_HOSTNAME);
}

static void test_parse_depth_and_size(void **state)
{
    (void)state;
    struct onvif_request r;
    /* 10,000 deep: refused by the pre-scan, before libxml2 */
    struct safecam_buf b;
    safecam_buf_init(&b, 1u << 20, 0);
    assert_int_equal(safecam_buf_add(&b, ENV12 "<s:Body>", strlen(ENV12 "<s:Body>")), 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(safecam_buf_add(&b, "<a>", 3), 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(safecam_buf_add(&b, "</a>", 4), 0);
    assert_int_equal(safecam_buf_add(&b, "</s:Body></s:Envelope>", 22), 0);
    assert_int_equal(onvif_request_parse(b.data, ONVIF_BODY_MAX_BYTES, &r), SAFECAM_ERR_INVAL);
    assert_int_equal(onvif_request_parse(b.data, b.len, &r), SAFECAM_ERR_TOOBIG);
    safecam_buf_free(&b);
    /* 40 deep (over ONVIF_DEPTH_MAX, small): refused */
    safecam_buf_init(&b, 1u << 16, 0);
    assert_int_equal(safecam_buf_add(&b, ENV12 "<s:Body><GetHostname xmlns=\"" ONVIF_NS_DEVICE "\">",
                                     strlen(ENV12 "<s:Body><GetHostname xmlns=\"" ONVIF_NS_DEVICE "\">")),
                     0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(safecam_buf_add(&b, "<a>", 3), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(safecam_buf_add(&b, "</a>", 4), 0);
    assert_int_equal(safecam_buf_add(&b, "</GetHostname></s:Body></s:Envelope>", 36), 0);
    assert_int_equal(onvif_request_parse(b.data, b.len, &r), SAFECAM_ERR_INVAL);
    safecam_buf_free(&b);
    /* one byte over the cap: refused without a parse; UTF-16 (NUL bytes): refused */
    char *big = calloc(1, ONVIF_BODY_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, ' ', ONVIF_BODY_MAX_BYTES + 1);
    assert_int_equal(onvif_request_parse(big, ONVIF_BODY_MAX_BYTES + 1, &r), SAFECAM_ERR_TOOBIG);
    free(big);
    static const char utf16[] = "\xff\xfe<\0s\0:\0E\0";
    assert_int_equal(onvif_request_parse(utf16, sizeof utf16 - 1, &r), SAFECAM_ERR_INVAL);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    struct onvif_request r;
    static const char *const bad[] = {
        "",
        "<",
        "not xml",
        "<Envelope/>",                                            /* no SOAP namespace */
        ENV12 "</s:Envelope>",                                    /* no Body */
        ENV12 "<s:Body></s:Body></s:Envelope>",                   /* no operation */
        ENV12 BODY("<A xmlns=\"x\"/><B xmlns=\"x\"/>"),           /* two operations */
        ENV12 "<s:Body><a/></s:Body><s:Body><a/></s:Body></s:Envelope>", /* two Bodies */
        ENV12 BODY("<GetHostname xmlns=\"" ONVIF_NS_DEVICE "\">"), /* unclosed */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_str(bad[i], &r), SAFECAM_ERR_INVAL);
    /* an over-long Username is refused, not cut */
    char m[2048];
    char user[200];
    memset(user, 'u', sizeof user - 1);
    user[sizeof user - 1] = 0;
    snprintf(m, sizeof m,
             ENV12 "<s:Header><Security xmlns=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"
                   "wssecurity-secext-1.0.xsd\"><UsernameToken><Username>%s</Username></UsernameToken>"
                   "</Security></s:Header>" BODY("<GetHostname xmlns=\"" ONVIF_NS_DEVICE "\"/>"),
             user);
    assert_int_equal(parse_str(m, &r), SAFECAM_ERR_INVAL);
}

/* ---- dispatcher ---- */
struct ctx {
    int auth_calls;
    int accept;
};

static int auth_stub(void *c, const struct onvif_security *sec)
{
    struct ctx *x = c;
    x->auth_calls++;
    return x->accept && strcmp(sec->username, "nvr1") == 0 ? 0 : SAFECAM_ERR_DENIED;
}

static int facts_stub(void *c, enum onvif_op op, struct onvif_facts *f)
{
    (void)c;
    (void)op;
    f->manufacturer = "Safe<cam>";
    f->model = "SC-1 \"&\"";
    f->firmware = "0.1.0";
    f->serial = "SN1";
    f->hardware_id = "hw";
    f->hostname = "cam";
    f->mac = "02:00:00:00:00:01";
    f->host = "192.0.2.10";
    f->address = "192.0.2.10";
    f->https_port = 443;
    f->rtsps_port = 18322;
    f->main = (struct onvif_stream_facts){1, 1280, 720, 25, 2000, 25};
    f->sub = (struct onvif_stream_facts){1, 640, 360, 25, 500, 25};
    f->now = 1796601600; /* 2026-12-06 */
    return 0;
}

static const char *dispatch(const char *msg, struct ctx *x, unsigned *status, struct safecam_buf *out)
{
    safecam_buf_init(out, ONVIF_ANSWER_MAX_BYTES, 0);
    assert_int_equal(onvif_dispatch(msg, strlen(msg), auth_stub, facts_stub, x, out, status), 0);
    return safecam_buf_str(out);
}

static void test_dispatch(void **state)
{
    (void)state;
    struct ctx x = {0, 1};
    unsigned st = 0;
    struct safecam_buf out;
    /* GetSystemDateAndTime: no Security, no auth call */
    const char *a = dispatch(ENV12 BODY("<GetSystemDateAndTime xmlns=\"" ONVIF_NS_DEVICE "\"/>"), &x, &st, &out);
    assert_int_equal(st, 200);
    assert_int_equal(x.auth_calls, 0);
    assert_non_null(strstr(a, "<tt:Year>2026</tt:Year>"));
    safecam_buf_free(&out);
    /* GetStreamUri without Security: NotAuthorized, no auth call */
    a = dispatch(ENV12 BODY("<GetStreamUri xmlns=\"" ONVIF_NS_MEDIA "\"><ProfileToken>main</ProfileToken></GetStreamUri>"),
                 &x, &st, &out);
    assert_int_equal(st, 400);
    assert_non_null(strstr(a, "ter:NotAuthorized"));
    assert_null(strstr(a, "rtsps://"));
    assert_int_equal(x.auth_calls, 0);
    safecam_buf_free(&out);
    /* with Security: one auth call, the rtsps:// URI without credentials */
    a = dispatch(ENV12 SEC_DIGEST BODY("<GetStreamUri xmlns=\"" ONVIF_NS_MEDIA "\"><ProfileToken>main</ProfileToken>"
                                       "</GetStreamUri>"),
                 &x, &st, &out);
    assert_int_equal(st, 200);
    assert_int_equal(x.auth_calls, 1);
    assert_non_null(strstr(a, "<tt:Uri>rtsps://192.0.2.10:18322/stream1</tt:Uri>"));
    assert_null(strstr(a, "@"));
    safecam_buf_free(&out);
    /* refused by the verifier: NotAuthorized */
    x.accept = 0;
    a = dispatch(ENV12 SEC_DIGEST BODY("<GetProfiles xmlns=\"" ONVIF_NS_MEDIA "\"/>"), &x, &st, &out);
    assert_int_equal(st, 400);
    assert_non_null(strstr(a, "ter:NotAuthorized"));
    assert_int_equal(x.auth_calls, 2);
    safecam_buf_free(&out);
    x.accept = 1;
    /* unknown action (a user change): ActionNotSupported, checked before auth */
    a = dispatch(ENV12 SEC_DIGEST BODY("<SetUser xmlns=\"" ONVIF_NS_DEVICE "\"/>"), &x, &st, &out);
    assert_int_equal(st, 500);
    assert_non_null(strstr(a, "ter:ActionNotSupported"));
    safecam_buf_free(&out);
    /* malformed: Sender fault 400 */
    a = dispatch("<x", &x, &st, &out);
    assert_int_equal(st, 400);
    assert_non_null(strstr(a, "env:Sender"));
    safecam_buf_free(&out);
    /* profiles: real numbers, escaped facts */
    a = dispatch(ENV12 SEC_DIGEST BODY("<GetProfiles xmlns=\"" ONVIF_NS_MEDIA "\"/>"), &x, &st, &out);
    assert_int_equal(st, 200);
    assert_non_null(strstr(a, "<trt:Profiles token=\"main\""));
    assert_non_null(strstr(a, "<trt:Profiles token=\"sub\""));
    assert_non_null(strstr(a, "<tt:Width>640</tt:Width>"));
    assert_non_null(strstr(a, "<tt:BitrateLimit>2000</tt:BitrateLimit>"));
    safecam_buf_free(&out);
    a = dispatch(ENV12 SEC_DIGEST BODY("<GetDeviceInformation xmlns=\"" ONVIF_NS_DEVICE "\"/>"), &x, &st, &out);
    assert_non_null(strstr(a, "<tds:Manufacturer>Safe&lt;cam&gt;</tds:Manufacturer>"));
    assert_non_null(strstr(a, "<tds:Model>SC-1 &quot;&amp;&quot;</tds:Model>"));
    safecam_buf_free(&out);
    /* unknown profile token */
    a = dispatch(ENV12 SEC_DIGEST BODY("<GetProfile xmlns=\"" ONVIF_NS_MEDIA "\"><ProfileToken>x</ProfileToken></GetProfile>"),
                 &x, &st, &out);
    assert_int_equal(st, 400);
    assert_non_null(strstr(a, "ter:NoProfile"));
    safecam_buf_free(&out);
    /* SOAP 1.1 fault shape */
    a = dispatch("<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body><Reboot xmlns=\""
                 ONVIF_NS_DEVICE "\"/></e:Body></e:Envelope>", &x, &st, &out);
    assert_non_null(strstr(a, "<faultcode>env:Server</faultcode>"));
    assert_non_null(strstr(a, "http://schemas.xmlsoap.org/soap/envelope/"));
    safecam_buf_free(&out);
}

/* Every seed message parses or is refused without a crash; the valid ones are known operations. */
static void test_seed_corpus(void **state)
{
    (void)state;
    const char *src = getenv("SAFECAM_SRCDIR");
    if (!src)
        skip();
    static const char *const names[] = {"get_profiles.xml", "get_stream_uri.xml", "soap11_text.xml",
                                        "get_vec_options.xml", "doctype_entities.xml"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/fuzz/corpus/onvif_soap/%s", src, names[i]);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        struct onvif_request r;
        int rc = onvif_request_parse(buf, n, &r);
        if (strcmp(names[i], "doctype_entities.xml") == 0) {
            assert_int_equal(rc, SAFECAM_ERR_INVAL);
        } else {
            assert_int_equal(rc, 0);
            assert_int_not_equal(r.op, ONVIF_OP_UNKNOWN);
            assert_true(r.sec.present);
        }
        onvif_request_clear(&r);
    }
}

static int probe_file(const char *name, struct onvif_probe *p)
{
    const char *src = getenv("SAFECAM_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz/corpus/onvif_probe/%s", src ? src : ".", name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return onvif_probe_parse(buf, n, p);
}

/* WS-Discovery Probe: the types we answer, the ones we do not, and the same parse limits. */
static void test_probe(void **state)
{
    (void)state;
    if (!getenv("SAFECAM_SRCDIR"))
        skip();
    struct onvif_probe p;
    assert_int_equal(probe_file("libonvif_probe_device.xml", &p), 0);
    assert_true(p.is_probe && p.matches);
    assert_string_equal(p.message_id, "uuid:6bbdae2d-f229-42c8-a27b-93880fb80826");
    assert_int_equal(probe_file("nvt_probe.xml", &p), 0);
    assert_true(p.is_probe && p.matches);
    assert_int_equal(probe_file("empty_types.xml", &p), 0);
    assert_true(p.is_probe && p.matches);
    /* what Debian's onvif-util -a and the npm onvif package send (captured on the link in test_discovery.py) */
    assert_int_equal(probe_file("onvif_util_nvt_probe.xml", &p), 0);
    assert_true(p.is_probe && p.matches);
    assert_string_equal(p.message_id, "urn:uuid:b9dbcb3a-c979-339d-bf33-66afb85fdadf");
    assert_int_equal(probe_file("npm_onvif_probe.xml", &p), 0);
    assert_true(p.is_probe && p.matches);
    assert_int_equal(probe_file("printer_probe.xml", &p), 0);
    assert_true(p.is_probe && !p.matches);
    /* the same hardened parse: DOCTYPE, oversize, SOAP 1.1 */
    const char *dt = "<!DOCTYPE x [<!ENTITY a \"a\">]><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">"
                     "<s:Body><Probe xmlns=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"/></s:Body></s:Envelope>";
    assert_int_equal(onvif_probe_parse(dt, strlen(dt), &p), SAFECAM_ERR_INVAL);
    assert_false(p.is_probe);
    char *big = calloc(1, ONVIF_PROBE_MAX_BYTES + 1);
    assert_non_null(big);
    assert_int_equal(onvif_probe_parse(big, ONVIF_PROBE_MAX_BYTES + 1, &p), SAFECAM_ERR_TOOBIG);
    free(big);
    const char *s11 = "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body><Probe xmlns=\""
                      "http://schemas.xmlsoap.org/ws/2005/04/discovery\"/></e:Body></e:Envelope>";
    assert_int_equal(onvif_probe_parse(s11, strlen(s11), &p), SAFECAM_ERR_INVAL);
}

/* WS-Discovery messages: https XAddrs only, escaped values, RelatesTo, stable UUID; the budgets. */
static void test_discovery(void **state)
{
    (void)state;
    char uuid[37], uuid2[37], other[37];
    onvif_discovery_uuid("SC100-0001", "02:00:00:00:00:01", uuid);
    onvif_discovery_uuid("SC100-0001", "02:00:00:00:00:01", uuid2);
    onvif_discovery_uuid("SC100-0002", "02:00:00:00:00:01", other);
    assert_string_equal(uuid, uuid2);
    assert_string_not_equal(uuid, other);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '8'); /* version 8 */
    struct onvif_discovery_facts f = {.endpoint_uuid = uuid, .xaddr_host = "192.0.2.7", .model = "SC 100<&>",
                                      .https_port = 8443, .instance_id = 7, .message_number = 1,
                                      .message_uuid = other};
    struct safecam_buf b;
    safecam_buf_init(&b, ONVIF_DISCOVERY_MESSAGE_MAX_BYTES, 0);
    assert_int_equal(onvif_discovery_write(ONVIF_DISCOVERY_PROBE_MATCHES, &f, "urn:uuid:<x>", &b), 0);
    const char *m = safecam_buf_str(&b);
    assert_non_null(strstr(m, "<wsa:RelatesTo>urn:uuid:&lt;x&gt;</wsa:RelatesTo>"));
    assert_non_null(strstr(m, "<wsd:XAddrs>https://192.0.2.7:8443/onvif/device_service</wsd:XAddrs>"));
    assert_null(strstr(m, "http://192"));
    assert_non_null(strstr(m, "onvif://www.onvif.org/name/SC%20100%3C%26%3E"));
    assert_non_null(strstr(m, "dn:NetworkVideoTransmitter tds:Device"));
    /* what the camera sends parses with the camera's own hardened parser (well-formed, SOAP 1.2) */
    struct onvif_probe p;
    assert_int_equal(onvif_probe_parse(b.data, b.len, &p), 0);
    assert_false(p.is_probe);
    safecam_buf_free(&b);
    assert_int_equal(onvif_discovery_write(ONVIF_DISCOVERY_PROBE_MATCHES, &f, "", &b), SAFECAM_ERR_INVAL);
    assert_int_equal(onvif_discovery_write(ONVIF_DISCOVERY_BYE, &f, NULL, &b), 0);
    assert_null(strstr(safecam_buf_str(&b), "XAddrs"));
    safecam_buf_free(&b);
    f.endpoint_uuid = "not-a-uuid";
    assert_int_equal(onvif_discovery_write(ONVIF_DISCOVERY_HELLO, &f, NULL, &b), SAFECAM_ERR_INVAL);

    /* budgets: a source gets its burst then 2/s; all sources together 10/s */
    struct onvif_discovery_limits l;
    onvif_discovery_limits_init(&l, 1000);
    unsigned char a[4] = {192, 0, 2, 1};
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += onvif_discovery_reply_allow(&l, a, sizeof a, 1000);
    assert_int_equal(ok, ONVIF_DISCOVERY_SOURCE_BURST);
    assert_true(onvif_discovery_reply_allow(&l, a, sizeof a, 1500)); /* 0.5 s = one token at 2/s */
    assert_false(onvif_discovery_reply_allow(&l, a, sizeof a, 1500));
    ok = 0;
    for (int i = 0; i < 200; i++) {
        unsigned char s[4] = {10, 0, (unsigned char)(i >> 8), (unsigned char)i};
        ok += onvif_discovery_reply_allow(&l, s, sizeof s, 1500);
    }
    assert_true(ok <= (int)ONVIF_DISCOVERY_REPLIES_PER_S);
    ok = 0;
    for (int i = 0; i < 1000; i++)
        ok += onvif_discovery_parse_allow(&l, 2000);
    assert_true(ok <= (int)ONVIF_DISCOVERY_PARSE_PER_S);
    assert_false(onvif_discovery_reply_allow(&l, a, 0, 3000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok_digest),
        cmocka_unit_test(test_parse_soap11_text),
        cmocka_unit_test(test_parse_refuses_doctype_and_entities),
        cmocka_unit_test(test_parse_depth_and_size),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_seed_corpus),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_discovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
