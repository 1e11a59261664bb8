/* link.h — linked services (an MQTT broker for events, a WebDAV folder for uploads), both over TLS with the
 * server certificate verified against a CA the admin installs. Pure parts (settings validation, the bounded
 * queue, the jittered back-off) and the engine that holds the connections (lib/link/engine.c).
 * Trust level: the settings come from an admin over the network (validated here before anything is kept);
 * the services' answers are untrusted. QCVN 135 G8 (encryption in transit to linked services, resilience),
 * G9 (deletion on linked services) / EN 303 645 5.5-1, 5.9-1, 5.11-1. docs/linked-services.md. */
#ifndef SAFECAM_LINK_H
#define SAFECAM_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "safecam/backoff.h"

#define LINK_URL_MAX 512
#define LINK_FIELD_MAX 256     /* username, password, topic prefix (bytes) */
#define LINK_CA_PEM_MAX 65536  /* an admin's CA bundle (bytes) */
#define LINK_CA_CERTS_MAX 16   /* certificates in that bundle */
#define LINK_RETENTION_DAYS_MIN 1
#define LINK_RETENTION_DAYS_MAX 3650

/* ---- settings validation (validate.c) ----
 * Check a PUT /api/v1/settings/linked body: {"mqtt":{"url","ca_pem","username","password","topic"},
 * "webdav":{"url","ca_pem","username","password","retention_days","upload"},"data_location":"vn"|"other"|"unset"}.
 * Every member optional; unknown members refused. mqtt.url must be mqtts://host[:port], webdav.url
 * https://host[:port][/path]; no user info in a URL; a CA must parse as 1..16 PEM certificates
 * (gnutls_x509_crt_list_import); CR, LF or NUL in any string that reaches a protocol refused; MQTT topic
 * without wildcards (+ #); retention_days in [1, 3650]; upload one of link_upload_mode_parse's names. Returns 0, or SAFECAM_ERR_INVAL with the dotted name
 * of the first bad field in field (e.g. "webdav.url", field_size >= 32). Touches nothing. */
int link_settings_validate(const json_t *in, char *field, size_t field_size);

/* Which recording segments the camera uploads to WebDAV (webdav.upload): none, the motion segments of the
 * "events" recording mode (the default), or every segment. */
enum link_upload_mode { LINK_UPLOAD_OFF = 0, LINK_UPLOAD_MOTION = 1, LINK_UPLOAD_ALL = 2 };
#define LINK_UPLOAD_DEFAULT LINK_UPLOAD_MOTION
/* "off" | "motion" | "all" -> the mode; -1 for anything else (NULL included). */
int link_upload_mode_parse(const char *s);

/* Parse an https:// or mqtts:// URL (scheme given without "://"). host_out gets the host (brackets removed
 * for IPv6), *port_out the port (default 443 / 8883), path_out the path ("/" when none). 0 or
 * SAFECAM_ERR_INVAL. */
int link_url_parse(const char *url, const char *scheme, char *host_out, size_t host_size, int *port_out,
                   char *path_out, size_t path_size);

/* 1 when s (len bytes) holds no CR, LF or NUL and is valid UTF-8, else 0. */
int link_string_clean(const char *s, size_t len);

/* 1 when pem parses as 1..LINK_CA_CERTS_MAX X.509 certificates, else 0. */
int link_ca_pem_valid(const char *pem, size_t len);

/* ---- bounded FIFO (queue.c) ----
 * Entries of up to two strings and a descriptor (an event: its JSON; an upload: local path and remote name, or
 * a recording id, the remote name and the sealed segment's fd), at most max_items and max_bytes of strings
 * together. A push into a full queue drops the OLDEST entries first (the newest event is the one the owner
 * wants) and counts them in dropped. Order is kept. One thread owns a queue. */
struct link_queue_entry {
    char *a;
    char *b; /* may be NULL */
    int fd;  /* owned by the entry (closed when it leaves the queue), or -1 */
    size_t bytes;
    int64_t t; /* caller's time (e.g. Unix seconds) */
};

struct link_queue {
    struct link_queue_entry *items; /* ring of max_items */
    size_t max_items, max_bytes;
    size_t head, count, bytes;
    uint64_t dropped; /* entries dropped since creation */
};

/* 0, SAFECAM_ERR_INVAL (zero sizes) or SAFECAM_ERR_NOMEM. */
int link_queue_init(struct link_queue *q, size_t max_items, size_t max_bytes);
void link_queue_free(struct link_queue *q);
/* Copy a (and b, may be NULL) in at the tail. Returns the number of old entries dropped to make room (>= 0),
 * SAFECAM_ERR_TOOBIG when the entry alone exceeds max_bytes (nothing changed), SAFECAM_ERR_NOMEM. */
int link_queue_push(struct link_queue *q, const char *a, const char *b, int64_t t);
/* The same with a descriptor the queue takes (closed by the queue on every path, errors included). */
int link_queue_push_fd(struct link_queue *q, const char *a, const char *b, int64_t t, int fd);
/* The oldest entry, NULL when empty; valid until the next push or pop. */
const struct link_queue_entry *link_queue_peek(const struct link_queue *q);
/* Drop the oldest entry (after its delivery was acknowledged). */
void link_queue_pop(struct link_queue *q);
/* Keep only the entries keep(entry, user) says 1 for, in order; the others are freed (descriptors closed).
 * Returns how many were removed (not counted in dropped). */
size_t link_queue_filter(struct link_queue *q, int (*keep)(const struct link_queue_entry *, void *), void *user);

/* ---- back-off with full jitter (queue.c) ----
 * An attempt failed at now_ms: the exponential bound comes from safecam_backoff_failed (100 ms doubling to
 * 5 s, include/safecam/backoff.h); the wait actually used is drawn uniformly in [SAFECAM_BACKOFF_MIN_MS,
 * bound] (full jitter, so cameras that lost the same broker do not come back in step). Returns the wait in ms;
 * b->next_ms is set to now_ms + that wait. */
int link_backoff_failed(struct safecam_backoff *b, int64_t now_ms);

/* ---- the engine (engine.c) ---- */
typedef struct link_engine link_engine;

/* Called for every event the engine wants in the audit log (type such as "link_tls_refused",
 * "link_queue_dropped", "link_connected", "link_delete"; detail without secrets). */
typedef void (*link_audit_fn)(void *user, const char *type, const char *detail);

/* Create an engine that keeps its state (CA files, the list of uploaded names and topics used) in dir
 * (0700, created). device_id names the camera in the topic and in remote file names. NULL on failure. */
link_engine *link_engine_new(const char *dir, const char *device_id, link_audit_fn audit, void *user);
void link_engine_free(link_engine *e);
/* Apply settings (the shape of link_settings_validate, with the secrets in clear: handed over IPC at connect
 * time only and wiped here when replaced). Connections restart. 0 or SAFECAM_ERR_INVAL. */
int link_engine_configure(link_engine *e, const json_t *settings);
/* Queue an event (a JSON object, published as one MQTT message, QoS 1). Returns link_queue_push's value. */
int link_engine_event(link_engine *e, const json_t *event);
/* Queue a file for upload as name (a plain file name, [A-Za-z0-9._-], at most 128 bytes). The local file is
 * read at upload time and never removed by the engine. */
int link_engine_upload(link_engine *e, const char *path, const char *name);

/* Sealed recording segments (the supervised process): the engine holds the sealed descriptor and asks for the
 * clear copy only when the segment's turn comes, so at most one clear segment exists at a time.
 * decrypt(user, sealed_fd, idhex) must send the request and return 0 without waiting (the answer comes back
 * through link_engine_upload_clear), or an error (retried after the back-off). sealed_fd stays the engine's. */
typedef int (*link_decrypt_fn)(void *user, int sealed_fd, const char *idhex);
void link_engine_decrypt_set(link_engine *e, link_decrypt_fn decrypt, void *user);
/* Queue sealed segment idhex (32 hex; motion: 1 for a motion segment) for upload as name (rules of
 * link_engine_upload); takes sealed_fd (closed on every path). Returns link_queue_push's value, or
 * SAFECAM_ERR_INVAL. New settings (link_engine_configure) drop the entries they no longer want. */
int link_engine_upload_sealed(link_engine *e, const char *idhex, const char *name, int motion, int sealed_fd);
/* The answer to a decrypt request: clear_fd (a memfd with the MP4, taken by the engine) for segment idhex;
 * LINK_CLEAR_REFUSED when the vault refused it (the segment is dropped from the queue and audited: retrying cannot
 * help); LINK_CLEAR_RETRY when it could not now (busy, storage): asked again after the back-off. An answer for
 * anything but the segment at the head, asked for, is closed and ignored. */
#define LINK_CLEAR_REFUSED (-1)
#define LINK_CLEAR_RETRY (-2)
void link_engine_upload_clear(link_engine *e, const char *idhex, int clear_fd);
/* Queue a file already in clear (a capture's JPEG in a memfd) for upload as name; takes fd (closed on every
 * path), read from offset 0 at each attempt. Such files held together are bounded (LINK_CLEAR_QUEUE_BYTES):
 * beyond it SAFECAM_ERR_TOOBIG, nothing queued. Else link_queue_push's value. */
#define LINK_CLEAR_QUEUE_BYTES (8L * 1024 * 1024)
int link_engine_upload_fd(link_engine *e, const char *name, int fd);

/* webdav.upload of the settings applied (enum link_upload_mode), or -1 when no WebDAV folder is configured. */
int link_engine_upload_mode(const link_engine *e);
/* Do what is due (connect, publish, upload, retention), waiting at most wait_ms for the broker's socket.
 * Never loops without bound: one connection attempt per service per call at most, and only when due. */
void link_engine_step(link_engine *e, int wait_ms);
/* Remove everything uploaded (WebDAV DELETE of each name in the list) and clear the retained messages on
 * the topics used. Returns {"removed":[...],"failed":[{"name","why"}]}; the caller owns it. */
json_t *link_engine_delete_all(link_engine *e);
/* Delete remote files older than retention_days at now (Unix seconds). Returns the number deleted. */
int link_engine_retention_run(link_engine *e, int64_t now);
/* Counters: {"mqtt":{"connected","attempts","delivered","queued","dropped","tls_refused"},
 * "webdav":{"attempts","uploaded","queued","failures","last_status"}}. The caller owns it. */
json_t *link_engine_stats(link_engine *e);

#endif
