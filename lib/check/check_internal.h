/* check_internal.h — shared state and helpers of lib/check (not installed).
 * Trust level: as check.h; everything read from the device is untrusted. */
#ifndef SAFECAM_CHECK_INTERNAL_H
#define SAFECAM_CHECK_INTERNAL_H

#include <stdint.h>
#include "safecam/check.h"

#define CHECK_MAX_OPEN 256
#define CHECK_BODY_MAX (256 * 1024)
#define CHECK_HDRS_MAX (32 * 1024)
#define CHECK_MAX_SECRETS 16
#define CHECK_MAX_FAILS 512
#define CHECK_PW_BUF 272

/* Calls whose failure only means an empty/short string in evidence (the callee leaves "" then). */
#define IGN_STRLCPY(...) do { if (safecam_strlcpy(__VA_ARGS__) != 0) { } } while (0)
#define IGN_FMT(...) do { if (safecam_fmt(__VA_ARGS__) != 0) { } } while (0)
#define IGN_RFC3339(...) do { if (safecam_time_rfc3339(__VA_ARGS__) != 0) { } } while (0)

struct check_port {
    int port;
    int udp;
    int open;                 /* TCP: connect succeeded; UDP: answered */
    int declared;
    enum check_service_kind kind;
    char banner[160];         /* sanitized first bytes / classification note */
};

struct check_ctx {
    const struct check_options *opt;
    struct check_profile *prof;
    char host[64];            /* numeric address, the only one ever contacted */
    char url_host[72];        /* host as written in URLs ([v6]) */
    int family;
    struct check_port ports[CHECK_MAX_OPEN];
    size_t n_ports;
    int scanned;              /* SC-01 ran */
    int scan_count;           /* ports probed */
    int scan_all;             /* 1..65535 */
    int udp_probed;
    int web_port, web_tls;    /* the admin HTTP(S) surface (0 = none) */
    int web_basic;            /* SC-01: GET / on the web surface asked for HTTP Basic (401) */
    char pin[CHECK_STR];      /* sha256//... of the web certificate, trust on first use */
    json_t *tls;              /* object: "port" -> facts (SC-02) */
    json_t *verdicts;         /* object: test id -> verdict name, for tests that build on others */
    /* the admin password currently valid (the profile's, or a temporary one after a change) */
    char *admin_pw;           /* sodium_malloc'd, CHECK_PW_BUF bytes */
    char *tmp_pw[4];          /* temporary passwords set by the checker (sodium_malloc'd) */
    int admin_state;          /* 0 unknown, 1 login works, -1 refused */
    const char *secrets[CHECK_MAX_SECRETS]; /* strings redacted from every evidence line */
    size_t n_secrets;
    int64_t fails[CHECK_MAX_FAILS];   /* mono ms of each deliberate failed login */
    char fail_acct[CHECK_MAX_FAILS][32]; /* the account it was against */
    size_t n_fails;
    int64_t wait_pacing_ms, wait_lockout_ms, wait_other_ms;
    int locked;               /* BF-01 locked the admin account */
    /* the last certificate-verification note written into a result's evidence (printed when it changes) */
    const struct check_result *tls_note_res;
    char tls_note_last[160];
    size_t test_index, test_total;
};

/* ---- text output (textbuf.c): a bounded buffer (64 MiB) with a sticky error, so renderers write on and check
 * once at the end; check_sb_done returns the malloc'd text (caller frees) or NULL after any error ---- */
struct check_sb {
    struct safecam_buf buf;
    int started;
    int err;
};
void check_sb_add(struct check_sb *b, const char *s, size_t n);
void check_sb_puts(struct check_sb *b, const char *s);
/* One formatted piece of at most 1023 bytes (longer output is cut). */
void check_sb_printf(struct check_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTML/XML escape of s (NULL = nothing); control bytes other than newline and tab become '?'. */
void check_sb_esc(struct check_sb *b, const char *s);
char *check_sb_done(struct check_sb *b);
/* The string member k of o, or "" (never NULL). */
const char *check_js(const json_t *o, const char *k);
/* vi when lang is "vi", else en. */
const char *check_L(const char *lang, const char *en, const char *vi);
/* report.c: a verdict name as shown in lang ("ĐẠT" for PASS in vi), and the TS 103 701 reference
 * ("Test group 5.1-1 (functional)") escaped in Vietnamese. */
const char *check_verdict_label(const char *v, const char *lang);
void check_sb_ts_vi(struct check_sb *b, const char *en);
/* A result's English reason escaped in Vietnamese: its fixed opening translated, device facts as they are. */
void check_sb_reason_vi(struct check_sb *b, const char *en);

/* ---- absent features ----
 * NOT_APPLICABLE means the profile declares the feature absent; when discovery merely did not find or
 * could not use it, the verdict is INCONCLUSIVE with the reason. */
enum check_feature {
    CHECK_FEAT_WEB,   /* an HTTP(S) surface */
    CHECK_FEAT_LOGIN, /* a web login (auth.login) */
    CHECK_FEAT_TLS,   /* any TLS service */
    CHECK_FEAT_RTSP,  /* an RTSP(S) service */
    CHECK_FEAT_AUTH,  /* any password surface: web login or RTSP */
};
/* 1 when a loaded profile declares the feature absent (services listed without one, or auth.login none). */
int check_declared_absent(const struct check_ctx *c, enum check_feature f);
/* Sets NOT_APPLICABLE ("<what> (the profile declares none)") or INCONCLUSIVE with the reason. */
void check_absent(struct check_ctx *c, struct check_result *r, enum check_feature f, const char *what);

/* ---- evidence ---- */
void check_evidence(struct check_ctx *c, struct check_result *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void check_verdict(struct check_result *r, enum check_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void check_secret_add(struct check_ctx *c, const char *s);
/* Sleep ms, counted in the given wait bucket (may be NULL). */
void check_sleep_ms(int64_t ms, int64_t *bucket);
/* Pause --delay between requests. */
void check_pace(struct check_ctx *c);

/* ---- raw connections (TCP, optionally TLS without verification) ---- */
struct check_conn {
    int fd;
    int tls;
    void *session;  /* gnutls_session_t */
    void *xcred;    /* gnutls_certificate_credentials_t */
};
int check_tcp_connect(const struct check_ctx *c, int port, int timeout_ms, int *fd_out) SAFECAM_WUR;
int check_conn_open(const struct check_ctx *c, int port, int tls, struct check_conn *k) SAFECAM_WUR;
int check_conn_write(struct check_conn *k, const void *buf, size_t len) SAFECAM_WUR;
/* Read into buf (cap bytes, NUL-terminated so cap-1 data) until close, timeout, cap, or (stop_hdr) the
 * end of a header block. *got gets the byte count. 0 when anything or nothing was read before close;
 * SAFECAM_ERR_TIMEOUT when nothing came before the timeout. */
int check_conn_read(struct check_conn *k, char *buf, size_t cap, size_t *got, int stop_hdr, int timeout_ms);
/* stop_hdr values: 0 read to close/timeout/cap; CHECK_READ_HDR end of a header block; CHECK_READ_LINE
 * the first complete line (banners); CHECK_READ_FTP a complete FTP reply (multi-line replies included) */
enum { CHECK_READ_HDR = 1, CHECK_READ_LINE = 2, CHECK_READ_FTP = 3 };
void check_conn_close(struct check_conn *k);
/* Nonblocking TCP connect scan of ports[n] (SC-01), only to the resolved target: open[i] set to 1 when
 * the connect succeeded. Bounded in rate (512 in flight, at most 512 per 25 ms) and time (3 min);
 * *scanned gets how many of the ports were probed. */
int check_scan_tcp(const struct check_ctx *c, const int *ports, size_t n, unsigned char *open, int timeout_ms,
                   size_t *scanned) SAFECAM_WUR;
/* Send one UDP datagram and wait for an answer; 1 answered, 0 no answer / refused, <0 error. */
int check_udp_probe(const struct check_ctx *c, int port, const void *pkt, size_t len, char *ans, size_t cap,
                    size_t *got, int timeout_ms);
/* SC-01 (QCVN G5, EN 303 645 5.6-1): discovery daemons (SSDP, WS-Discovery) often listen only on their
 * multicast group. Send one datagram to the IPv4 group:port (e.g. 239.255.255.250:1900) out of the
 * interface that carries the target's route, with TTL 1 (it cannot leave the link), and wait at most
 * timeout_ms for an answer whose source address is the target (answers of other hosts are dropped, at most
 * 32 datagrams read). 1 answered (ans/got filled), 0 none, <0 error; 0 for an IPv6 or loopback target. */
int check_udp_mcast_probe(const struct check_ctx *c, const char *group, int port, const void *pkt, size_t len,
                          char *ans, size_t cap, size_t *got, int timeout_ms);
/* Printable, bounded rendering of device bytes for evidence (evidence.c). */
void check_printable(char *dst, size_t dst_size, const char *src, size_t len);

/* ---- TLS probing (tls.c) ---- */
/* Quick check: 1 when a default GnuTLS handshake succeeds on the port. */
int check_tls_detect(const struct check_ctx *c, int port);
/* Full SC-02 probe: versions, suites, certificate. *facts new JSON object. 0, or error when the
 * endpoint does not speak TLS at all. */
int check_tls_probe(struct check_ctx *c, int port, json_t **facts) SAFECAM_WUR;
/* TLS global init (idempotent). */
int check_tls_global_init(void) SAFECAM_WUR;

/* ---- HTTP (http.c) ---- */
struct check_http_req {
    int port;
    int tls;
    const char *method;
    const char *path;
    const char *body;          /* JSON, or NULL */
    size_t body_len;           /* bytes of body (binary uploads); 0 = strlen(body) */
    const char *content_type;  /* default application/json when body */
    const char *cookie;        /* "name=value" or NULL */
    const char *csrf_header;   /* header name or NULL */
    const char *csrf;          /* token */
    const char *basic_user, *basic_pass;
    const char *extra_header;  /* one raw "Name: value" or NULL */
    size_t body_max;           /* bytes of body kept (0 = CHECK_BODY_MAX - 1); more sets body_truncated */
};
struct check_http_resp {
    int ok;                    /* transport worked and a status arrived */
    long status;
    char *hdrs;                /* raw header block of the final response, capped */
    size_t hdrs_len;
    char *body;                /* capped at CHECK_BODY_MAX, NUL-terminated */
    size_t body_len;
    int body_truncated;
    int64_t ms;                /* total time */
    char err[192];
    char tls_note[160];        /* how the certificate was checked */
};
int check_http(struct check_ctx *c, const struct check_http_req *q, struct check_http_resp *r) SAFECAM_WUR;
void check_http_resp_free(struct check_http_resp *r);
/* Header value of the first (index 0) or nth header named name into out; 1 found, 0 not. */
int check_http_header(const struct check_http_resp *r, const char *name, int nth, char *out, size_t out_size);
/* One evidence line "METHOD path -> status (ms)"; for HTTPS, before it, a line saying how the device
 * certificate was verified (CA file, pinned key, or not verified in discovery mode) the first time in a
 * result and whenever that changes. */
void check_http_evidence(struct check_ctx *c, struct check_result *res, const struct check_http_req *q,
                         const struct check_http_resp *r);
int check_http_global_init(void) SAFECAM_WUR;

/* ---- web sessions on the declared login surface (auth.c) ---- */
struct check_session {
    char cookie[640];         /* "name=value" */
    char csrf[256];
    int change_required;
    long status;
    int64_t ms;
};
/* Log in; 0 with a session on 2xx; SAFECAM_ERR_DENIED on 401/403; SAFECAM_ERR_LOCKED on 429 or a
 * lockout answer; SAFECAM_ERR_IO on transport errors. Evidence of the exchange goes into res (may be
 * NULL). counts_fail: register a deliberate failure for pacing. */
int check_login(struct check_ctx *c, struct check_result *res, const char *user, const char *pw,
                const char *preset_cookie, struct check_session *s, struct check_http_resp *raw) SAFECAM_WUR;
/* Best effort: the result only matters to SM-04, which checks the session afterwards. */
int check_logout(struct check_ctx *c, struct check_session *s);
/* Before a deliberate wrong-password attempt: wait so at most threshold-1 failures fall into any
 * lockout window (PW-01, BF-03 pacing). */
void check_fail_budget_wait(struct check_ctx *c, const char *account);
void check_fail_record(struct check_ctx *c, const char *account);
/* Mono ms of the last failure that counts for account's lockout (0 = none). */
int64_t check_fail_last(const struct check_ctx *c, const char *account);
/* Admin session with the current admin password; 0 or error. */
int check_admin_login(struct check_ctx *c, struct check_result *res, struct check_session *s) SAFECAM_WUR;
/* Authenticated request with a session. */
int check_http_session(struct check_ctx *c, struct check_session *s, const char *method, const char *path,
                       const char *body, struct check_http_resp *r) SAFECAM_WUR;
/* Change a password through the declared endpoint; returns the HTTP status or <0. */
long check_password_change(struct check_ctx *c, struct check_session *s, const char *user, const char *cur,
                           const char *next, struct check_http_resp *raw);
/* 1 when a web login surface was found and the profile does not declare auth.login.type "none". */
int check_login_declared(const struct check_ctx *c);
/* A strong temporary password from the CSPRNG (24 characters, four classes), kept in c->tmp_pw (sodium
 * memory, freed with the context) and redacted from evidence; NULL when the 4 slots are used or on ENOMEM. */
char *check_password_temp(struct check_ctx *c);
/* Put the lab's admin password back after a change to tmp (PW-05, SM-06): through session s, else a new
 * session logged in with tmp. When the device refuses, c->admin_pw becomes tmp and tmp goes to the recovery
 * file (0600), never to evidence. Returns the HTTP status of the last attempt (<0 on a local error). */
long check_admin_password_restore(struct check_ctx *c, struct check_result *r, struct check_session *s,
                                  const char *tmp);

/* ---- RTSP (rtsp.c) ---- */
struct check_rtsp_result {
    int ok;                   /* a response arrived */
    int status;
    char server[CHECK_STR];
    char www_auth[CHECK_STR];
    char err[192];
    int64_t ms;
    char content_type[64];
    size_t body_len;
};
/* DESCRIBE url path over GstRTSPConnection (TLS when tls), optionally with Basic credentials. */
int check_rtsp_describe(struct check_ctx *c, int port, int tls, const char *path, const char *user, const char *pw,
                        struct check_rtsp_result *out);
/* Raw OPTIONS on a (TLS or plain) connection parsed by check_rtsp_response_parse; 0 when an RTSP
 * response arrived. */
int check_rtsp_options_raw(struct check_ctx *c, int port, int tls, struct check_rtsp_response *out, char *raw,
                           size_t raw_cap);
/* Same with an explicit timeout (ms) and request text (NULL = OPTIONS); used by the classifier. */
int check_raw_probe(struct check_ctx *c, int port, int tls, const char *req, int timeout_ms,
                    struct check_rtsp_response *out, char *raw, size_t raw_cap);

/* ---- probe helpers shared by the test groups (probe.c, a leaf) ---- */
/* Timeout (ms) of one probe: --timeout, at most 2000. */
int check_probe_timeout_ms(const struct check_ctx *c);
/* SC-01 (QCVN G5, EN 303 645 5.6-1): identify what speaks on the open TCP port p (banner first, then RTSP,
 * SIP, HTTP in clear, then TLS, then MQTT); sets p->kind and p->banner (printable, capped). */
void check_port_classify(struct check_ctx *c, struct check_port *p);
/* MQTT 3.1.1 CONNECT without user name or password (clean session, client id "qcvn-check"), then
 * DISCONNECT. 1 the broker accepted it, 0 it refused (CONNACK code in *code), -1 no CONNACK. */
int check_mqtt_connect_anon(struct check_ctx *c, int port, int tls, int *code);
/* FTP: read the greeting, send USER anonymous / PASS, read the reply. 1 logged in (230), 0 refused,
 * -1 no usable answer; last gets the printable last reply line. Bounded: 3 reads of the probe timeout. */
int check_ftp_login_anon(struct check_ctx *c, int port, char *last, size_t last_size);
/* Send len bytes of data on a new (TLS when tls) connection and read the answer's header block: first gets
 * its first line (printable, at most 100 bytes) or why there is none, *ms the time taken. 0, or
 * SAFECAM_ERR_TIMEOUT when nothing came, or the connect error. */
int check_raw_exchange(struct check_ctx *c, int port, int tls, const char *data, size_t len, char *first,
                       size_t fcap, int64_t *ms);
/* Status code of a first line "PROTO NNN ..." (proto e.g. "HTTP/1.", "RTSP/1.0"), 0 when it is not one. */
int check_raw_status(const char *first, const char *proto);
/* Banner prefixes SC-01 writes for multicast discovery answers (read by SC-04 and IF-02). */
#define CHECK_WSD_BANNER "WS-Discovery ProbeMatch XAddrs: "
#define CHECK_SSDP_BANNER "SSDP SERVER: "

/* ---- tests: one file per test group (group_<id>.c), run through the catalogue rows ---- */
void check_t_sc01(struct check_ctx *, struct check_result *);
void check_t_sc02(struct check_ctx *, struct check_result *);
void check_t_sc04(struct check_ctx *, struct check_result *);
void check_t_sc05(struct check_ctx *, struct check_result *);
void check_t_sc06(struct check_ctx *, struct check_result *);
void check_t_sc08(struct check_ctx *, struct check_result *);
void check_t_if01(struct check_ctx *, struct check_result *);
void check_t_if02(struct check_ctx *, struct check_result *);
void check_t_if04(struct check_ctx *, struct check_result *);
void check_t_iv01(struct check_ctx *, struct check_result *);
void check_t_iv02(struct check_ctx *, struct check_result *);
void check_t_vm01(struct check_ctx *, struct check_result *);
void check_t_vm02(struct check_ctx *, struct check_result *);
void check_t_vm03(struct check_ctx *, struct check_result *);
void check_t_pw01(struct check_ctx *, struct check_result *);
void check_t_pw02(struct check_ctx *, struct check_result *);
void check_t_pw03(struct check_ctx *, struct check_result *);
void check_t_pw04(struct check_ctx *, struct check_result *);
void check_t_pw05(struct check_ctx *, struct check_result *);
void check_t_pw06(struct check_ctx *, struct check_result *);
void check_t_bf01(struct check_ctx *, struct check_result *);
void check_t_bf03(struct check_ctx *, struct check_result *);
void check_t_bf05(struct check_ctx *, struct check_result *);
void check_t_sm01(struct check_ctx *, struct check_result *);
void check_t_sm02(struct check_ctx *, struct check_result *);
void check_t_sm03(struct check_ctx *, struct check_result *);
void check_t_sm04(struct check_ctx *, struct check_result *);
void check_t_sm05(struct check_ctx *, struct check_result *);
void check_t_sm06(struct check_ctx *, struct check_result *);
void check_t_up05(struct check_ctx *, struct check_result *);
void check_t_up03(struct check_ctx *, struct check_result *);
void check_t_up04(struct check_ctx *, struct check_result *);
void check_t_rs01(struct check_ctx *, struct check_result *);
void check_t_del01(struct check_ctx *, struct check_result *);
void check_t_del02(struct check_ctx *, struct check_result *);
void check_t_del03(struct check_ctx *, struct check_result *);
void check_t_del04(struct check_ctx *, struct check_result *);

/* Exact two-sided Mann-Whitney U test (BF-03): p value of a[na] against b[nb] answer times (ms),
 * na + nb <= 20 (else 1.0); *u gets U of a. */
double check_mann_whitney_p(const int64_t *a, size_t na, const int64_t *b, size_t nb, double *u);

/* Helpers for tests */
const struct check_port *check_port_find(const struct check_ctx *c, int port, int udp);
/* How HTTPS requests verify the device certificate now (static string; same text as the evidence). */
const char *check_http_tls_mode(const struct check_ctx *c);
/* Verdict of an earlier test, -1 when it did not run. */
int check_prior_verdict(const struct check_ctx *c, const char *id);

#endif
