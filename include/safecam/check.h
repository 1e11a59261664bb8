/* check.h — qcvn-check: audits an IP camera over the network against QCVN 135:2024/BTTTT (EN 303 645,
 * assessed the TS 103 701 way) and writes a per-test verdict report with evidence.
 * Trust level: runs on the lab's machine as an ordinary user; every byte from the device is untrusted
 * and goes through a size-capped parser. The profile (ICS/IXIT) is trusted input from the lab but is
 * still parsed strictly. Implemented in lib/check/. */
#ifndef SAFECAM_CHECK_H
#define SAFECAM_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "safecam/core.h"

#define CHECK_REPORT_SCHEMA "qcvn-check-report/1"
#define CHECK_PROFILE_SCHEMA "qcvn-check-profile/1"
#define CHECK_PROFILE_MAX_BYTES (256 * 1024)

/* ------------------------------------------------------------------------------------------------
 * Verdicts (REQUIREMENTS.md): PASS, FAIL, INCONCLUSIVE (the device answered neither way),
 * NOT_APPLICABLE (profile declares the feature absent), NEEDS_EVIDENCE (only vendor documents decide).
 * ---------------------------------------------------------------------------------------------- */
enum check_verdict {
    CHECK_PASS = 0,
    CHECK_FAIL,
    CHECK_INCONCLUSIVE,
    CHECK_NOT_APPLICABLE,
    CHECK_NEEDS_EVIDENCE,
};
#define CHECK_VERDICT_COUNT 5
/* Stable upper-case name ("PASS", ...). */
const char *check_verdict_name(enum check_verdict v);
/* Parse a verdict name; -1 when unknown. */
int check_verdict_parse(const char *s);

enum check_level { CHECK_MANDATORY = 0, CHECK_RECOMMENDED = 1 };

/* What a test needs to run (bit set). */
enum check_needs {
    CHECK_NEEDS_NONE = 0,
    CHECK_NEEDS_PROFILE = 1u << 0,     /* declarations in the profile */
    CHECK_NEEDS_ADMIN = 1u << 1,       /* admin credentials */
    CHECK_NEEDS_USER = 1u << 2,        /* low-privilege credentials */
    CHECK_NEEDS_INITIAL = 1u << 3,     /* label initial password, device in factory state */
    CHECK_NEEDS_DESTRUCTIVE = 1u << 4, /* --allow-destructive and the profile's consent */
    CHECK_NEEDS_GATEWAY = 1u << 5,     /* checker acting as the device's gateway */
    CHECK_NEEDS_BUNDLE = 1u << 6,      /* vendor-signed update bundle */
    CHECK_NEEDS_DOCS = 1u << 7,        /* vendor documents */
};

/* When a test runs (the run order is derived from it, then catalogue order): discovery first, then the
 * tests that need no credentials, then the authenticated ones, then those that spend deliberate failed
 * logins (paced), and the lockout test last (it locks an account). */
enum check_phase {
    CHECK_PHASE_DISCOVERY = 0,
    CHECK_PHASE_UNAUTHENTICATED,
    CHECK_PHASE_AUTHENTICATED,
    CHECK_PHASE_FAILED_LOGINS,
    CHECK_PHASE_LOCKS,
    CHECK_PHASE_COUNT
};

/* ------------------------------------------------------------------------------------------------
 * Profile (ICS/IXIT), schema "qcvn-check-profile/1", documented in docs/qcvn-check.md.
 * ---------------------------------------------------------------------------------------------- */
#define CHECK_MAX_SERVICES 32
#define CHECK_MAX_ENDPOINTS 32
#define CHECK_MAX_RTSP_PATHS 8
#define CHECK_STR 128
#define CHECK_PATH 512

enum check_service_kind {
    CHECK_SVC_UNKNOWN = 0,
    CHECK_SVC_HTTP,
    CHECK_SVC_HTTPS,
    CHECK_SVC_RTSP,
    CHECK_SVC_RTSPS,
    CHECK_SVC_SSH,
    CHECK_SVC_TELNET,
    CHECK_SVC_FTP,
    CHECK_SVC_TLS,  /* TLS, inner protocol unknown */
    CHECK_SVC_ONVIF,
    CHECK_SVC_OTHER,
    CHECK_SVC_MQTT,  /* MQTT in clear */
    CHECK_SVC_MQTTS, /* MQTT inside TLS */
    CHECK_SVC_SIP,   /* SIP over TCP */
};
const char *check_service_kind_name(enum check_service_kind k);
/* -1 when the name is not one of the kinds above. */
int check_service_kind_parse(const char *s);

struct check_service {
    int port;               /* 1..65535 */
    int udp;                /* 0 = tcp, 1 = udp */
    enum check_service_kind kind;
    char purpose[CHECK_STR];
};

struct check_endpoint {
    char method[8];         /* GET, HEAD, POST, PUT, PATCH, DELETE */
    char path[CHECK_PATH];  /* starts with '/' */
    char body[CHECK_PATH];  /* optional JSON body sent with the probe ("" = none) */
    int admin_only;         /* a low-privilege user must be refused too (SC-06) */
};

/* A credential. username is plain; password lives in sodium_malloc memory, wiped on free. */
struct check_cred {
    int present;
    char username[CHECK_STR];
    char *password; /* sodium_malloc'd, NUL-terminated, or NULL */
};

struct check_profile {
    char source_path[CHECK_PATH];
    char vendor[CHECK_STR], model[CHECK_STR], firmware[CHECK_STR], serial[CHECK_STR], mac[CHECK_STR];
    struct check_service services[CHECK_MAX_SERVICES];
    size_t n_services;
    int services_declared; /* 1 when the profile lists its services (IF-01 can compare) */

    /* web authentication surface */
    char login_type[16];     /* "json" (POST JSON, cookie session), "basic" (HTTP Basic), "none" */
    char login_path[CHECK_PATH];
    char user_field[32], pass_field[32];
    char csrf_field[32];     /* JSON field of the login answer carrying the CSRF token ("" = none) */
    char csrf_header[64];    /* header to send it back in */
    char session_cookie[64]; /* cookie name ("" = any cookie set at login) */
    char change_required_field[64]; /* login answer field true when the initial password must change */
    char logout_method[8], logout_path[CHECK_PATH];
    char pwchange_method[8], pwchange_path[CHECK_PATH]; /* "{user}" replaced by the user name */
    char pwchange_current_field[32], pwchange_new_field[32];
    char authed_path[CHECK_PATH]; /* a GET that needs a session (device info) */
    char events_path[CHECK_PATH]; /* audit events list (BF-05) */
    long lockout_threshold, lockout_window_s, lockout_duration_s;
    int lockout_per_account;  /* "scope": "account": failures count per account (and source) */
    long idle_timeout_s, absolute_timeout_s;
    int single_role;         /* the device has only the admin role (SC-06 not applicable) */

    struct check_endpoint endpoints[CHECK_MAX_ENDPOINTS]; /* protected configuration endpoints */
    size_t n_endpoints;
    char rtsp_paths[CHECK_MAX_RTSP_PATHS][CHECK_STR];
    size_t n_rtsp_paths;

    char tls_cafile[CHECK_PATH];    /* PEM to verify the device certificate ("" = pin on first use) */
    char tls_pinned_pubkey[CHECK_STR]; /* "sha256//BASE64" */

    char doc_policy_url[CHECK_PATH], doc_policy_file[CHECK_PATH];
    char doc_manual_url[CHECK_PATH], doc_manual_file[CHECK_PATH];

    char update_method[8], update_path[CHECK_PATH], update_bundle_file[CHECK_PATH];
    char update_content_type[64];              /* upload Content-Type (default application/octet-stream) */
    char update_older_bundle_file[CHECK_PATH]; /* validly signed bundle with a lower security version (UP-04) */
    char update_version_path[CHECK_PATH];      /* admin GET reporting firmware/slot versions (default authenticated_probe) */
#define CHECK_MAX_RESTART_COMPARE 8
    char restart_method[8], restart_path[CHECK_PATH]; /* admin request that restarts the device (RS-01) */
    char restart_compare[CHECK_MAX_RESTART_COMPARE][CHECK_PATH]; /* admin GETs whose JSON must survive it */
    size_t n_restart_compare;
    int consent_restart;     /* vendor consents to RS-01 restarting the device */
    /* G9 deletion (DEL-01..04): admin requests; body is compact JSON ("" = none); "{id}" in a path is
     * replaced by the id the seed request answered */
    struct check_request {
        char method[8];
        char path[CHECK_PATH];
        char body[CHECK_PATH];
    } del_seed, del_list, del_one, del_reset;
    char del_confirm_field[32]; /* field set to true in delete_one / factory_reset bodies to confirm */
    int consent_deletion;       /* vendor consents to DEL-01/02/04 writing and deleting data */
    int consent_factory_reset;  /* vendor consents to DEL-03 erasing the device */

    int factory_state;       /* device delivered in factory state: PW-03 may change the initial password */
    int consent_destructive; /* vendor consents to destructive tests (also needs --allow-destructive) */

    struct check_cred admin, user;
    char *initial_password; /* sodium_malloc'd or NULL */
    int initial_declared;   /* the profile gives the initial password (inline or by environment variable) */

    /* The vendor's implementation conformance statement ("ics"): object keyed by a catalogue ID ("PW-01") or an
     * EN 303 645 provision the catalogue names ("5.1-1"), each {"status": "supported" | "not_supported" |
     * "not_applicable", "en": justification, "vi": the same in Vietnamese}. Types and keys are checked by the
     * parser; which entries are present is checked by check_ics_build (the dossier). Owned; NULL = none. */
    json_t *ics;
};

/* ICS entries: at most CHECK_ICS_MAX_ENTRIES, each justification at most CHECK_ICS_TEXT_MAX bytes (1000 characters
 * of any script in UTF-8). */
#define CHECK_ICS_MAX_ENTRIES 256
#define CHECK_ICS_TEXT_MAX 4000

/* Load and strictly validate a profile. On error returns SAFECAM_ERR_INVAL / _TOOBIG / _IO and writes
 * one line naming the field and the fault into err (err_size bytes). Unknown keys are errors.
 * On success *out owns sodium_malloc'd secrets: release with check_profile_free(). */
int check_profile_load(const char *path, struct check_profile *out, char *err, size_t err_size) SAFECAM_WUR;
/* Same with flags: CHECK_PROFILE_NO_SECRETS reads no password (neither inline nor from the environment): the
 * credentials are only marked present (password NULL), for tools that document the device (the dossier). */
#define CHECK_PROFILE_NO_SECRETS 1u
int check_profile_load_flags(const char *path, unsigned flags, struct check_profile *out, char *err,
                             size_t err_size) SAFECAM_WUR;
/* Same, from a buffer (len bytes, at most CHECK_PROFILE_MAX_BYTES). base_dir resolves relative file
 * paths (may be NULL). Used by the fuzzer. */
int check_profile_parse(const char *buf, size_t len, const char *base_dir, struct check_profile *out,
                        char *err, size_t err_size) SAFECAM_WUR;
/* Fill the defaults used without a profile (safe discovery; no credentials). */
void check_profile_defaults(struct check_profile *p);
/* Wipe and free the secrets; p is left in the defaults state. */
void check_profile_free(struct check_profile *p);
/* The annotated template printed by --profile-template (static string). */
const char *check_profile_template(void);
/* Profile echo for reports: every declaration, credentials only as "provided"/"absent". New ref. */
json_t *check_profile_echo(const struct check_profile *p);

/* ------------------------------------------------------------------------------------------------
 * Device-answer parsers (fuzzed).
 * ---------------------------------------------------------------------------------------------- */
#define CHECK_RTSP_MAX_RESPONSE 16384
#define CHECK_RTSP_MAX_HEADERS 64

struct check_rtsp_response {
    int status;              /* 100..599 */
    long cseq;               /* -1 when absent */
    int n_headers;
    char server[CHECK_STR];
    char www_authenticate[CHECK_STR];
    char public_methods[CHECK_STR];
    char content_type[64];
    long content_length;     /* -1 when absent */
};
/* Parse the status line and headers of an RTSP response (len bytes, at most CHECK_RTSP_MAX_RESPONSE).
 * SAFECAM_ERR_INVAL for anything not "RTSP/1.x NNN ..." CRLF headers CRLF CRLF; values truncated to
 * their fields; never reads past len. */
int check_rtsp_response_parse(const char *buf, size_t len, struct check_rtsp_response *out) SAFECAM_WUR;

/* Parse one Set-Cookie header value into name and flags. */
struct check_cookie {
    char name[64];
    size_t value_len;
    char value[512];
    int secure, httponly;
    char samesite[16]; /* "" when absent */
};
int check_cookie_parse(const char *header_value, struct check_cookie *out) SAFECAM_WUR;

/* Estimated entropy in bits of a token from its length and character classes (SM-02). */
double check_token_entropy_bits(const char *token);

/* Parse security.txt (RFC 9116) text: sets *has_contact, *has_policy and *expires (Unix s, 0 = none).
 * SAFECAM_ERR_INVAL when no line parses. */
int check_securitytxt_parse(const char *text, size_t len, int *has_contact, int *has_policy,
                            int64_t *expires) SAFECAM_WUR;

/* ---- CSAF 2.0 (VM-03, QCVN 135 G2 / EN 303 645 5.2-1, 5.2-2; lib/check/csaf.c) ---- */
#define CHECK_CSAF_MAX (64 * 1024) /* largest provider metadata / ROLIE feed / advisory read (bytes) */
/* What VM-03 reports of a provider-metadata.json (CSAF 2.0 section 7.1.20). Strings are printable copies
 * of device bytes, truncated to their fields. */
struct check_csaf_provider {
    char canonical_url[CHECK_PATH];
    char publisher_name[CHECK_STR];
    char publisher_category[32];
    char role[32];
    size_t n_distributions;
    char directory_url[CHECK_PATH]; /* the first distributions[].directory_url ("" = none) */
    char rolie_feed_url[CHECK_PATH]; /* the first distributions[].rolie.feeds[].url ("" = none) */
};
/* Parse len bytes (<= CHECK_CSAF_MAX) of provider metadata and check its required members:
 * canonical_url (https URL), last_updated, list_on_CSAF_aggregators and mirror_on_CSAF_aggregators
 * (booleans), metadata_version "2.0", publisher {category, name, namespace}, role (csaf_publisher,
 * csaf_provider or csaf_trusted_provider). 0, or SAFECAM_ERR_INVAL with field (field_size bytes) naming
 * the first missing or invalid member ("publisher.namespace"), or "JSON" for text that is not a JSON
 * object, or SAFECAM_ERR_TOOBIG over the cap. Pure function, no I/O. */
int check_csaf_provider_parse(const char *buf, size_t len, struct check_csaf_provider *out, char *field,
                              size_t field_size) SAFECAM_WUR;
struct check_csaf_advisory {
    char id[CHECK_STR];      /* document.tracking.id */
    char category[64];       /* document.category */
    char status[32];         /* draft, interim, final */
    char version[32];
    size_t n_vulnerabilities;
};
/* Parse a CSAF 2.0 document: document.csaf_version "2.0", document.category, document.title,
 * document.publisher, document.tracking {id, status (draft|interim|final), version}; for the
 * csaf_security_advisory and csaf_vex profiles also product_tree and a non-empty vulnerabilities array.
 * Errors as check_csaf_provider_parse ("document.tracking.id"). Pure function. */
int check_csaf_advisory_parse(const char *buf, size_t len, struct check_csaf_advisory *out, char *field,
                              size_t field_size) SAFECAM_WUR;
/* The first advisory named by a ROLIE feed (feed.entry[].content.src, else the entry's link href) into
 * url (url_size bytes), and the number of entries; 0, or SAFECAM_ERR_INVAL/NOTFOUND (no entry). */
int check_csaf_rolie_first(const char *buf, size_t len, char *url, size_t url_size, size_t *n_entries) SAFECAM_WUR;
/* The first file named in a CSAF index.txt (one relative path per line) into name, and the line count;
 * SAFECAM_ERR_NOTFOUND when none; names with "..", a scheme or control bytes are skipped. */
int check_csaf_index_first(const char *buf, size_t len, char *name, size_t name_size, size_t *n_lines) SAFECAM_WUR;

/* 1 when value looks like a version banner ("nginx/1.22.1", "Python/3.11", "Boa 0.94"). */
int check_banner_has_version(const char *value);

/* IF-02 (QCVN G6, EN 303 645 5.6-2): find a product version disclosed in the text of an HTML or plain
 * page body (len bytes, untrusted, not NUL-terminated; only the first 256 KiB are read): "name/1.2"
 * (not HTTP/ or RTSP/), "version 1.2" / "firmware 1.2" / "ver. 1.2" (any case), or a generator meta tag
 * with a version. Markup inside <...> is skipped except the content attribute of a meta generator tag.
 * Returns 1 and copies a printable excerpt (at most out_size-1 bytes) into out, or 0. */
int check_body_version_find(const char *body, size_t len, char *out, size_t out_size);

/* SC-01/SC-04/SC-05 (QCVN G5, EN 303 645 5.5-1, 5.5-4): parse an MQTT CONNACK (3.1.1 or 5) from the
 * first len bytes a broker sent (untrusted). 0 with *return_code (0 = accepted; 3.1.1 codes 1..5 or an
 * MQTT 5 reason code >= 0x80 = refused); SAFECAM_ERR_PROTO when it is not a CONNACK. */
int check_mqtt_connack_parse(const unsigned char *buf, size_t len, int *return_code) SAFECAM_WUR;

/* SC-04/SC-05 (QCVN G5, EN 303 645 5.5-4): the reply code of the last complete FTP reply in buf (len
 * bytes, untrusted; multi-line replies "123-..." up to "123 ..." are skipped to their end). 0 with *code
 * 100..599; SAFECAM_ERR_PROTO when no complete reply is found. */
int check_ftp_reply_parse(const char *buf, size_t len, int *code) SAFECAM_WUR;

/* IF-02 (QCVN G6, EN 303 645 5.6-2): the value of the first variable binding of an SNMP v1/v2c
 * GetResponse (len bytes, untrusted BER) when it is an OCTET STRING (sysDescr), copied printable into out
 * (at most out_size-1 bytes). 0, or SAFECAM_ERR_PROTO when the datagram is not such an answer. */
int check_snmp_first_string_parse(const unsigned char *buf, size_t len, char *out, size_t out_size) SAFECAM_WUR;

/* SC-02 (QCVN G5, EN 303 645 5.5-1): suites the TLS library cannot offer (ARIA) are probed with a
 * hand-built TLS 1.2 ClientHello. check_tls12_client_hello_build writes one TLS record holding a ClientHello
 * (legacy version TLS 1.2, random[32] from the caller's CSPRNG, empty session id, suites[n] then
 * TLS_EMPTY_RENEGOTIATION_INFO_SCSV, null compression; extensions supported_groups, ec_point_formats,
 * signature_algorithms, no server name) into out (cap bytes); *len gets its size. 0, SAFECAM_ERR_INVAL
 * when n is 0 or over CHECK_TLS_HELLO_MAX_SUITES, SAFECAM_ERR_TOOBIG when cap is too small. */
#define CHECK_TLS_HELLO_MAX_SUITES 64
int check_tls12_client_hello_build(const uint16_t *suites, size_t n, const unsigned char random[32],
                                   unsigned char *out, size_t cap, size_t *len) SAFECAM_WUR;
/* The first answer of a server to that ClientHello. */
struct check_tls_server_hello {
    int alert;              /* 1: an alert record came first (alert_level, alert_desc) */
    int alert_level, alert_desc;
    unsigned version;       /* ServerHello legacy_version, e.g. 0x0303 */
    unsigned suite;         /* the chosen cipher suite */
    unsigned compression;
};
/* Parse buf (len bytes read so far from the server, untrusted): TLS records, the handshake ones
 * reassembled up to the ServerHello's compression method (at most 80 bytes kept). 0 with out filled
 * (a ServerHello, or an alert that came before it); 1 when the bytes end before either is complete (read
 * more); SAFECAM_ERR_PROTO when the bytes are not TLS records or the first handshake message is not a
 * well-formed ServerHello. */
int check_tls_server_hello_parse(const unsigned char *buf, size_t len, struct check_tls_server_hello *out) SAFECAM_WUR;

/* What a WS-Discovery answer announces (element texts, printable, whitespace collapsed, truncated). */
struct check_wsd_match {
    char xaddrs[256]; /* space-separated transport addresses of the device service */
    char types[128];  /* QNames of the device types */
    char scopes[256]; /* scope URIs */
    char address[128]; /* the endpoint reference address (urn:uuid:...), for a Resolve */
};

/* SC-04 (QCVN G5, EN 303 645 5.5-1/5.5-4): read a WS-Discovery ProbeMatches, ResolveMatches or Hello
 * datagram (len bytes, untrusted, not NUL-terminated; only the first 16 KiB are read) with a bounded
 * scanner, no XML library: the text of the first XAddrs, Types, Scopes and Address elements inside the
 * ProbeMatch/ResolveMatch/Hello element (any namespace prefix).
 * 0 when the datagram is such a message (out filled, fields possibly empty); SAFECAM_ERR_PROTO otherwise
 * (out all empty). */
int check_wsd_match_parse(const char *buf, size_t len, struct check_wsd_match *out) SAFECAM_WUR;

/* 1 when a space-separated XAddrs list names an http:// (cleartext) transport address, copying that
 * address into first (at most first_size-1 bytes); 0 otherwise. */
int check_wsd_xaddrs_cleartext(const char *xaddrs, char *first, size_t first_size);

/* SC-01/IF-02: the value of the SERVER header of an SSDP answer (len bytes, untrusted) copied printable
 * into out (at most out_size-1 bytes). 0, or SAFECAM_ERR_PROTO when the datagram is no "HTTP/1.1 200"
 * answer or has no SERVER header. */
int check_ssdp_server_parse(const char *buf, size_t len, char *out, size_t out_size) SAFECAM_WUR;

/* TLS suite classification (SC-02): 1 when the IANA/GnuTLS suite name is weak (CBC, RC4, 3DES, NULL,
 * EXPORT, anon, static RSA key exchange). */
int check_tls_suite_weak(const char *name);

/* ------------------------------------------------------------------------------------------------
 * Test catalogue and run.
 * ---------------------------------------------------------------------------------------------- */
struct check_ctx;

struct check_result {
    enum check_verdict verdict;
    char reason[768];
    char reason_vi[1024]; /* the same reason in Vietnamese ("" when its phrase has no translation) */
    json_t *evidence;    /* array of strings, redacted; owned by the result */
    json_t *data;        /* optional structured facts (object) or NULL */
    int64_t duration_ms;
};

struct check_test {
    const char *id;          /* REQUIREMENTS.md ID, e.g. "SC-02" */
    const char *title_en;
    const char *title_vi;
    const char *group;       /* QCVN group "G1".."G11", "DOC" */
    const char *en303645;    /* provisions, e.g. "5.5-1" */
    const char *ts103701;    /* TS 103 701 test group / case */
    enum check_level level;
    unsigned needs;          /* enum check_needs bits */
    const char *ask_vendor;  /* what the lab asks for when NEEDS_EVIDENCE */
    void (*run)(struct check_ctx *ctx, struct check_result *r); /* NULL: NEEDS_EVIDENCE */
    enum check_phase phase;  /* when it runs */
    const char *prereq;      /* the test whose discoveries it builds on (runs first, even when not
                                selected), or NULL */
};
/* The catalogue (by QCVN group; the run order derives from each row's phase); *n gets its length. Static data. */
const struct check_test *check_catalogue(size_t *n);
const struct check_test *check_catalogue_find(const char *id);
/* PW-01's built-in list of well-known defaults (data/check/default-credentials.txt): entry count, and
 * entry i's user (field 0) or password (field 1, "" = empty); NULL past the end. Static strings. */
size_t check_default_creds_count(void);
const char *check_default_cred(size_t i, int field);

/* Report language: the Vietnamese text of a fixed English phrase or reason format (a key of the table in
 * lib/check/i18n_vi.c), or NULL when there is none. Static strings. check_i18n_vi_count/_key walk the
 * table (vi 0 = English key, 1 = Vietnamese text) for the unit test. */
const char *check_i18n_vi(const char *en);
size_t check_i18n_vi_count(void);
const char *check_i18n_vi_key(size_t i, int vi);

/* Title of a QCVN group in the language ("vi" or "en"). */
const char *check_group_title(const char *group, const char *lang);

/* DEFAULT = ALL: every TCP port 1-65535 plus the UDP probes; COMMON: the common camera ports + declared */
enum check_ports_mode { CHECK_PORTS_DEFAULT = 0, CHECK_PORTS_DECLARED, CHECK_PORTS_LIST, CHECK_PORTS_ALL,
                        CHECK_PORTS_COMMON };

#define CHECK_FMT_JSON 1u
#define CHECK_FMT_HTML 2u
#define CHECK_FMT_SARIF 4u
#define CHECK_FMT_JUNIT 8u

struct check_options {
    const char *target;        /* host name or address given on the command line */
    int https_port, rtsps_port; /* 0 = from profile / discovery */
    enum check_ports_mode ports_mode;
    int ports[1024];           /* CHECK_PORTS_LIST */
    size_t n_ports;
    int udp;                   /* also send the UDP probes */
    int delay_ms;              /* pause between requests to the device */
    int timeout_s;             /* per network operation */
    int allow_destructive;
    int measure_lockout;       /* BF-01: wait out the lockout to measure its duration */
    int max_wait_s;            /* cap on any single deliberate wait (lockout, idle timeout) */
    int pw_full;               /* PW-01: the full default list instead of the top entries */
    int progress;              /* print progress lines on stderr */
    const char *only;          /* comma list of test IDs to run ("" / NULL = all) */
    const char *skip;          /* comma list of test IDs not to run */
    const char *lang;          /* "vi" or "en" */
    const char *recovery_file; /* where SM-06 writes a temporary admin password it could not undo (0600) */
};
void check_options_defaults(struct check_options *o);

/* Run the catalogue against one target. *report_out gets a new JSON report (schema
 * CHECK_REPORT_SCHEMA); the caller releases it with json_decref. Returns SAFECAM_ERR_INVAL on bad
 * options, SAFECAM_ERR_NOTFOUND when the target does not resolve; device misbehaviour is never an
 * error here, it becomes INCONCLUSIVE/FAIL verdicts. Touches only the resolved target address. */
int check_run(const struct check_options *opt, struct check_profile *profile, json_t **report_out) SAFECAM_WUR;

/* 1 when the report has a FAIL on a mandatory test. */
int check_report_has_mandatory_fail(const json_t *report);

/* Write the report in the formats (CHECK_FMT_* bits) into dir as report.json, report.html,
 * report.sarif, report.junit.xml. lang "vi"/"en" for the HTML. */
int check_report_write(const json_t *report, const char *dir, unsigned formats, const char *lang) SAFECAM_WUR;
/* Renderers, each returning a malloc'd NUL-terminated string (caller frees) or NULL on memory error. */
char *check_report_html(const json_t *report, const char *lang);
char *check_report_sarif(const json_t *report);
char *check_report_junit(const json_t *report);
/* Fleet summary over per-device reports (array of report objects or null for failed runs). */
int check_fleet_write(json_t *entries, const char *dir, const char *lang) SAFECAM_WUR;

/* ------------------------------------------------------------------------------------------------
 * The lab dossier (lib/check/dossier.c): what a Vietnamese test lab asks for before a QCVN 135 assessment,
 * in Vietnamese and English — the ICS (implementation conformance statement, TS 103 701), the IXIT
 * (implementation extra information for testing), the firmware identity and the checker's own report.
 * ---------------------------------------------------------------------------------------------- */
enum check_ics_status { CHECK_ICS_SUPPORTED = 0, CHECK_ICS_NOT_SUPPORTED, CHECK_ICS_NOT_APPLICABLE };
/* "supported", "not_supported", "not_applicable" -> the status; -1 for anything else. */
int check_ics_status_parse(const char *s);
const char *check_ics_status_name(enum check_ics_status s);
/* The EN 303 645 provisions the catalogue names (the union of its en303645 fields, e.g. "5.1-1"), unique,
 * in the standard's order; at most cap are written to out (each NUL-terminated); returns how many exist. */
#define CHECK_PROVISION_LEN 12
size_t check_en303645_provisions(char (*out)[CHECK_PROVISION_LEN], size_t cap);
/* 1 when key is a catalogue test ID or one of the provisions above (the keys the profile's "ics" takes). */
int check_ics_clause_known(const char *key);

/* Build the ICS of a profile: *out gets a new object {"qcvn": [one row per catalogue test, in catalogue order:
 * clause, group, titles, level, en303645, ts103701, status, justification_en, justification_vi],
 * "en303645": [one row per provision of check_en303645_provisions: provision, status, justifications, qcvn (the
 * test IDs mapped to it), derived (1 when the profile gave no entry of its own: supported unless a mapped
 * mandatory test is not_supported; not_applicable when every mapped test is)], "counts"}.
 * Every QCVN 135 row needs ics.<ID> with status, en and vi, and the header needs device.vendor, device.model
 * and device.firmware_version: the first missing one makes it return SAFECAM_ERR_INVAL with one line in err
 * (err_size bytes) naming the field and the clause. Implements the ICS of TS 103 701 for QCVN 135 G1-G11. */
int check_ics_build(const struct check_profile *p, json_t **out, char *err, size_t err_size) SAFECAM_WUR;
/* The IXIT of a profile (new object): device, interfaces (services, RTSP paths), authentication, update,
 * secret storage (the ICS statements of G4), deletion, test hooks (probe paths, accounts by name, consents).
 * Never a password: credentials appear as "provided"/"absent". NULL only when out of memory. */
json_t *check_ixit_build(const struct check_profile *p, const json_t *ics);

struct check_dossier_opts {
    const char *out_dir;     /* created; must not exist or be empty unless force */
    const char *report_path; /* a report.json of qcvn-check (schema CHECK_REPORT_SCHEMA), or NULL */
    const char *bundle_path; /* firmware bundle or image: its SHA-256 and size, or NULL */
    const char *sbom_path;   /* CycloneDX JSON SBOM (tools/sbom.py), copied with its component count, or NULL */
    int force;               /* replace a non-empty out_dir */
};
/* Write the dossier of a loaded profile into o->out_dir: dossier.json (schema "qcvn-check-dossier/1"),
 * dossier.vi.html, dossier.en.html, and copies report.json and sbom.cdx.json when given. Everything is
 * written into a temporary directory beside out_dir and renamed into place, so a failure leaves no partial
 * dossier. 0, or SAFECAM_ERR_INVAL (missing ICS field, bad report or SBOM), _EXISTS (non-empty out_dir
 * without force), _IO, _TOOBIG (report or SBOM over 32 MiB), with one line in err. */
int check_dossier_write(const struct check_profile *p, const struct check_dossier_opts *o, char *err,
                        size_t err_size) SAFECAM_WUR;
/* The printable HTML of a dossier object in lang ("vi" or "en"): malloc'd (caller frees), NULL on memory error. */
char *check_dossier_html(const json_t *dossier, const char *lang);

#endif
