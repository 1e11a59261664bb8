/* onvif.h — ONVIF Profile S device and media services over SOAP (hand-written, no gSOAP): a hardened parse of
 * the SOAP 1.2 / 1.1 envelope (libxml2 without network, DTDs or entity expansion; any DOCTYPE refused; depth and
 * size capped before the parse), the WS-Security UsernameToken header, a dispatcher by body element name and
 * namespace, and the answers, every value XML-escaped. Pure: no socket, no file, no clock of its own (the
 * caller passes the facts and the time), so it is unit-tested and fuzzed as it runs in the web process.
 * Trust level: every byte of a request is untrusted. No operation changes users, network or security settings.
 * QCVN 135 G1 (authentication through the caller's one call), G6 (read-only surface), G11 / EN 303 645 5.1,
 * 5.6, 5.13-1. docs/onvif.md. */
#ifndef SAFECAM_ONVIF_H
#define SAFECAM_ONVIF_H

#include <stddef.h>

#include "safecam/core.h"

#define ONVIF_BODY_MAX_BYTES (64u * 1024u)  /* a request body over this is refused before any parse */
#define ONVIF_DEPTH_MAX 32                  /* element nesting; ONVIF requests nest 6 deep at most */
#define ONVIF_ANSWER_MAX_BYTES (64u * 1024u) /* an answer never grows beyond this */
#define ONVIF_TOKEN_MAX 64                  /* bytes of a ProfileToken / ConfigurationToken, NUL included */
#define ONVIF_USERNAME_MAX 65               /* bytes of a UsernameToken Username, NUL included */
#define ONVIF_PASSWORD_MAX 257              /* bytes of a Password (text or base64 digest), NUL included */
#define ONVIF_NONCE_MAX 129                 /* bytes of a base64 Nonce, NUL included */
#define ONVIF_CREATED_MAX 40                /* bytes of a wsu:Created timestamp, NUL included */

#define ONVIF_NS_DEVICE "http://www.onvif.org/ver10/device/wsdl"
#define ONVIF_NS_MEDIA "http://www.onvif.org/ver10/media/wsdl"

enum onvif_op {
    ONVIF_OP_UNKNOWN = 0, /* a body element we do not serve: ter:ActionNotSupported */
    ONVIF_OP_GET_SYSTEM_DATE_AND_TIME,
    ONVIF_OP_GET_DEVICE_INFORMATION,
    ONVIF_OP_GET_CAPABILITIES,
    ONVIF_OP_GET_SERVICES,
    ONVIF_OP_GET_DEVICE_SERVICE_CAPABILITIES,
    ONVIF_OP_GET_SCOPES,
    ONVIF_OP_GET_NETWORK_INTERFACES,
    ONVIF_OP_GET_HOSTNAME,
    ONVIF_OP_GET_PROFILES,
    ONVIF_OP_GET_PROFILE,
    ONVIF_OP_GET_VIDEO_SOURCES,
    ONVIF_OP_GET_VIDEO_SOURCE_CONFIGURATIONS,
    ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATIONS,
    ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATION_OPTIONS,
    ONVIF_OP_GET_STREAM_URI,
    ONVIF_OP_GET_SNAPSHOT_URI,
    ONVIF_OP_GET_MEDIA_SERVICE_CAPABILITIES,
};

/* The WS-Security UsernameToken of the request, as sent (nothing verified here). password_type is "digest"
 * (…#PasswordDigest), "text" (…#PasswordText or no Type, the WSS default) or "" (any other Type: refused by
 * the caller). Wiped by onvif_request_clear(). */
struct onvif_security {
    int present; /* a UsernameToken with a Username was found */
    char username[ONVIF_USERNAME_MAX];
    char password_type[8];
    char password[ONVIF_PASSWORD_MAX];
    char nonce_b64[ONVIF_NONCE_MAX];
    char created[ONVIF_CREATED_MAX];
};

struct onvif_request {
    int soap_version; /* 12 (http://www.w3.org/2003/05/soap-envelope) or 11 (schemas.xmlsoap.org) */
    enum onvif_op op;
    char profile_token[ONVIF_TOKEN_MAX]; /* GetProfile, GetStreamUri, GetSnapshotUri, options: "" if absent */
    char config_token[ONVIF_TOKEN_MAX];  /* GetVideoEncoderConfigurationOptions ConfigurationToken */
    struct onvif_security sec;
};

/* Faults (ONVIF Core 5.11): code, subcode, HTTP status of the SOAP 1.2 binding. */
enum onvif_fault {
    ONVIF_FAULT_MALFORMED = 1,      /* env:Sender ter:WellFormed, 400 (also DOCTYPE, depth, not SOAP) */
    ONVIF_FAULT_TOO_BIG,            /* env:Sender ter:WellFormed "too large", 413 */
    ONVIF_FAULT_ACTION_NOT_SUPPORTED, /* env:Receiver ter:ActionNotSupported, 500 as the binding says */
    ONVIF_FAULT_NOT_AUTHORIZED,     /* env:Sender ter:NotAuthorized, 400 */
    ONVIF_FAULT_NO_PROFILE,         /* env:Sender ter:InvalidArgVal/ter:NoProfile, 400 */
    ONVIF_FAULT_NO_CONFIG,          /* env:Sender ter:InvalidArgVal/ter:NoConfig, 400 */
    ONVIF_FAULT_UNAVAILABLE,        /* env:Receiver ter:Action "service unavailable", 503 (a peer is down) */
};

/* One stream as the media service shows it. */
struct onvif_stream_facts {
    int enabled;      /* 0: the profile is not listed */
    int width, height; /* pixels */
    int fps;          /* frames per second */
    int bitrate_kbps; /* kbit/s */
    int gov_length;   /* frames between keyframes */
};

/* What the answers tell, gathered by the caller. Strings are borrowed, may be "" but not NULL, and are
 * escaped here. host: how the client reached us, as put in a URI ("192.0.2.1" or "[2001:db8::1]"), taken
 * from the connection's local address, never from a request header. */
struct onvif_facts {
    const char *manufacturer, *model, *firmware, *serial, *hardware_id, *hostname, *mac, *host, *address;
    unsigned https_port, rtsps_port;
    struct onvif_stream_facts main, sub;
    long long now; /* Unix seconds, UTC */
};

/* Initialise libxml2 once, from the main thread, before any thread parses (libxml2 2.9 is not safe to initialise
 * from two threads at once). Idempotent. */
void onvif_init(void);

/* Parse a request body of len bytes (not NUL-terminated necessarily). 0: *out filled (op may be
 * ONVIF_OP_UNKNOWN). SAFECAM_ERR_TOOBIG: len > ONVIF_BODY_MAX_BYTES (nothing parsed). SAFECAM_ERR_INVAL:
 * malformed XML, a DOCTYPE or entity declaration, a byte 0 (UTF-16/32 are refused: UTF-8 only), nesting over
 * ONVIF_DEPTH_MAX, not a SOAP envelope, no body element or a field over its cap. *out is cleared first;
 * soap_version is set as soon as the envelope is known (12 otherwise). Call onvif_request_clear() after. */
int onvif_request_parse(const char *body, size_t len, struct onvif_request *out) SAFECAM_WUR;
/* Wipe the request (the password it may carry). */
void onvif_request_clear(struct onvif_request *req);
/* 1 when op may run without authentication (GetSystemDateAndTime only, ONVIF Core 5.9.4.1 PRE_AUTH). */
int onvif_op_public(enum onvif_op op);
/* The op's element name ("GetProfiles"), "" for ONVIF_OP_UNKNOWN. */
const char *onvif_op_name(enum onvif_op op);

/* The answer to a parsed, authorised request: appends a whole SOAP envelope to out (initialised by the caller
 * with max ONVIF_ANSWER_MAX_BYTES) and sets *status (200, or the fault's). An unknown op or token answers
 * its fault. Errors: SAFECAM_ERR_TOOBIG / NOMEM from the buffer (out emptied). */
int onvif_answer_write(const struct onvif_request *req, const struct onvif_facts *f, struct safecam_buf *out,
                       unsigned *status) SAFECAM_WUR;
/* A fault envelope in SOAP soap_version (12 or 11) for f; *status as listed at enum onvif_fault. */
int onvif_fault_write(int soap_version, enum onvif_fault f, struct safecam_buf *out, unsigned *status) SAFECAM_WUR;

/* Verifies a UsernameToken for the dispatcher: 0 accepted, SAFECAM_ERR_DENIED refused (any reason),
 * SAFECAM_ERR_IO / TIMEOUT when the verifier cannot answer. ctx: the caller's. */
typedef int (*onvif_auth_fn)(void *ctx, const struct onvif_security *sec);
/* Gathers the facts the answer to op needs: 0, or an error (answered as ONVIF_FAULT_UNAVAILABLE). For the
 * public GetSystemDateAndTime only f->now is read, so an unauthenticated request costs no peer call. */
typedef int (*onvif_facts_fn)(void *ctx, enum onvif_op op, struct onvif_facts *f);

/* The whole request: parse, refuse (fault), authenticate with ONE call to auth unless the op is public,
 * then answer. The envelope goes to out, the HTTP status to *status; 0, or the buffer's error. The request
 * (and its password) is wiped before return. */
int onvif_dispatch(const char *body, size_t len, onvif_auth_fn auth, onvif_facts_fn facts, void *ctx,
                   struct safecam_buf *out, unsigned *status) SAFECAM_WUR;

/* ---- WS-Discovery (UDP 3702) ---- */
#define ONVIF_PROBE_MAX_BYTES 8192 /* a datagram over this is refused before any parse */
#define ONVIF_MESSAGE_ID_MAX 128   /* bytes of a wsa:MessageID, NUL included */

struct onvif_probe {
    int is_probe; /* the body is a wsd:Probe */
    int matches;  /* no Types, empty Types, dn:NetworkVideoTransmitter or tds:Device; no Scopes filter */
    char message_id[ONVIF_MESSAGE_ID_MAX]; /* printable ASCII, "" when absent (then not answered) */
};

/* Parse a WS-Discovery datagram with the same hardened parse as onvif_request_parse (SOAP 1.2 only). 0: *out
 * filled (a parsed non-Probe has is_probe 0); SAFECAM_ERR_TOOBIG over ONVIF_PROBE_MAX_BYTES; SAFECAM_ERR_INVAL
 * malformed (as for requests). */
int onvif_probe_parse(const char *msg, size_t len, struct onvif_probe *out) SAFECAM_WUR;

/* ---- WS-Discovery responder messages and limits (lib/onvif/discovery.c; the process is daemon/discovery.c) ----
 * Pure: the caller passes the facts, the time and the probe's size. docs/onvif.md "WS-Discovery".
 * QCVN 135 G6 (off by default, https only) / EN 303 645 5.6-1, 5.6-2. */
#define ONVIF_DISCOVERY_PORT 3702
#define ONVIF_DISCOVERY_GROUP4 "239.255.255.250"
#define ONVIF_DISCOVERY_MESSAGE_MAX_BYTES 4096u /* a Hello, Bye or ProbeMatches never grows beyond this */
#define ONVIF_DISCOVERY_AMPLIFICATION_MAX 4u    /* a ProbeMatches is sent only if <= 4 x the probe's bytes */
#define ONVIF_DISCOVERY_REPLIES_PER_S 10u       /* replies per second, all sources together (burst as much) */
#define ONVIF_DISCOVERY_SOURCE_PER_S 2u         /* replies per second to one source address (burst 4) */
#define ONVIF_DISCOVERY_SOURCE_BURST 4u
#define ONVIF_DISCOVERY_PARSE_PER_S 100u        /* datagrams parsed per second at most (the rest dropped) */
#define ONVIF_DISCOVERY_SOURCES 64u             /* per-source buckets kept (least recently used replaced) */
#define ONVIF_DISCOVERY_SUMMARY_MS 60000        /* refusals are logged as one summary at most this often */

/* What the messages tell; strings borrowed, escaped here. endpoint_uuid: "xxxxxxxx-xxxx-..." (36 chars);
 * xaddr_host: an IPv4 literal or "[v6]"; model names the scopes (percent-encoded). */
struct onvif_discovery_facts {
    const char *endpoint_uuid, *xaddr_host, *model;
    unsigned https_port;
    unsigned long long instance_id; /* AppSequence InstanceId: grows with each start (Unix seconds) */
    unsigned long long message_number;
    const char *message_uuid; /* this message's own MessageID (36 chars, fresh for each message) */
};

enum onvif_discovery_kind {
    ONVIF_DISCOVERY_HELLO = 1, /* multicast at start */
    ONVIF_DISCOVERY_BYE,       /* multicast at stop */
    ONVIF_DISCOVERY_PROBE_MATCHES, /* unicast answer; relates_to = the probe's MessageID */
};

/* Append one whole SOAP 1.2 envelope of kind to out (max ONVIF_DISCOVERY_MESSAGE_MAX_BYTES). XAddrs are
 * https:// only. relates_to is read for PROBE_MATCHES only (must be non-empty). 0, SAFECAM_ERR_INVAL, or the
 * buffer's error (out emptied). */
int onvif_discovery_write(enum onvif_discovery_kind kind, const struct onvif_discovery_facts *f,
                          const char *relates_to, struct safecam_buf *out) SAFECAM_WUR;

/* A stable endpoint UUID for the device: a keyed BLAKE2b of serial and MAC laid out as an RFC 9562 version 8
 * UUID (lower case, 36 chars + NUL into out[37]). The same identity gives the same UUID across restarts. */
void onvif_discovery_uuid(const char *serial, const char *mac, char out[37]);

/* Why a datagram got no answer; counted, summarised at most once a minute by the caller. */
enum onvif_discovery_drop {
    ONVIF_DROP_OVERSIZED = 0, /* over ONVIF_PROBE_MAX_BYTES */
    ONVIF_DROP_MALFORMED,     /* onvif_probe_parse refused it, or no MessageID */
    ONVIF_DROP_NOT_PROBE,     /* parsed, but not a Probe (another client's Hello, a ProbeMatches, ...) */
    ONVIF_DROP_NO_MATCH,      /* a Probe for other types or with a Scopes filter */
    ONVIF_DROP_RATE,          /* over the total, per-source or parse budget */
    ONVIF_DROP_AMPLIFICATION, /* the answer would exceed ONVIF_DISCOVERY_AMPLIFICATION_MAX x the probe */
    ONVIF_DROP_SOURCE,        /* a source that cannot be answered (port 0, multicast, broadcast, unspecified) */
    ONVIF_DROP_KINDS
};
const char *onvif_discovery_drop_name(enum onvif_discovery_drop d);

/* Token buckets for replies: one for all sources, one per source address (bytes of the address, up to 16),
 * one for parse work. Times are monotonic milliseconds from the caller. */
struct onvif_discovery_bucket {
    double tokens;
    long long at_ms;
};
struct onvif_discovery_limits {
    struct onvif_discovery_bucket total, parse;
    struct {
        unsigned char addr[16];
        size_t len;
        struct onvif_discovery_bucket b;
        long long used_ms;
    } src[ONVIF_DISCOVERY_SOURCES];
};
void onvif_discovery_limits_init(struct onvif_discovery_limits *l, long long now_ms);
/* 1 when one more datagram may be parsed now (takes a token), 0 when over the parse budget. */
int onvif_discovery_parse_allow(struct onvif_discovery_limits *l, long long now_ms);
/* 1 when a reply to source addr (alen bytes) may be sent now (takes a token from both buckets), else 0. */
int onvif_discovery_reply_allow(struct onvif_discovery_limits *l, const void *addr, size_t alen, long long now_ms);

/* Append s to out with &, <, >, " and ' escaped; bytes below 0x20 other than tab, CR, LF are dropped. */
int onvif_xml_escape_add(struct safecam_buf *out, const char *s) SAFECAM_WUR;

#endif
