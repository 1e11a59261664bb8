/* audit.h — the security event log (SQLite, DIR/audit.db), separate from the operational log.
 * QCVN 135 brute force (each lockout an event), G3 (update refusals), G8 (process restarts);
 * EN 303 645 5.1-5. Never stores a password, hash, token or key: callers pass short facts only.
 * Implemented in lib/audit/audit.c. Several processes may open the same file (WAL, busy timeout). */
#ifndef SAFECAM_AUDIT_H
#define SAFECAM_AUDIT_H

#include <jansson.h>
#include <stdint.h>
#include "safecam/core.h"

/* Typed events (the allowlist). audit_type_valid() accepts exactly these. */
#define AUDIT_LOGIN_SUCCESS "login_success"
#define AUDIT_LOGIN_FAILURE "login_failure"
#define AUDIT_LOCKOUT "lockout"
#define AUDIT_SESSION_END "session_end"       /* logout, timeout, ended by password change */
#define AUDIT_PASSWORD_CHANGE "password_change"
#define AUDIT_USER_CREATE "user_create"
#define AUDIT_USER_UPDATE "user_update"
#define AUDIT_USER_DELETE "user_delete"
#define AUDIT_INTEGRATION_CREATE "integration_create" /* integration accounts (docs/integrations.md) */
#define AUDIT_INTEGRATION_ROTATE "integration_rotate"
#define AUDIT_INTEGRATION_DELETE "integration_delete"
#define AUDIT_CONFIG_CHANGE "config_change"
#define AUDIT_PROCESS_RESTART "process_restart"
#define AUDIT_PROTOCOL_VIOLATION "protocol_violation"
#define AUDIT_UPDATE_INSTALL "update_install"
#define AUDIT_UPDATE_REFUSED "update_refused"
#define AUDIT_STREAM_ERROR "stream_error"
#define AUDIT_MOTION "motion" /* motion started ("events" recording; at most one per post-roll window) */
#define AUDIT_DATA_DELETE "data_delete"
#define AUDIT_FACTORY_RESET "factory_reset"
#define AUDIT_DEVICE_START "device_start"
#define AUDIT_SANDBOX_VIOLATION "sandbox_violation" /* a child killed by its syscall filter */
#define AUDIT_CONNECTION_FLOOD "connection_flood"   /* connections refused or cut, summed per interval */
#define AUDIT_LOG_TRUNCATED "log_truncated" /* retention dropped the oldest rows: range + last dropped hash */
#define AUDIT_LOG_CHAINED "log_chained"     /* rows older than the hash chain were chained at this start */
#define AUDIT_LOG_TAMPERED "log_tampered"   /* the chain did not verify at start (first broken link) */
/* The link process's own events (lib/link, docs/linked-services.md): the only types it may record. */
#define AUDIT_LINK_CONNECTED "link_connected"
#define AUDIT_LINK_DISCONNECTED "link_disconnected"
#define AUDIT_LINK_REFUSED "link_refused"         /* the broker's CONNACK refused the camera */
#define AUDIT_LINK_TLS_REFUSED "link_tls_refused" /* a certificate from another CA or for another name */
#define AUDIT_LINK_UPLOAD_FAILED "link_upload_failed"
#define AUDIT_LINK_QUEUE_DROPPED "link_queue_dropped"
#define AUDIT_LINK_RETENTION "link_retention"
#define AUDIT_LINK_DELETE "link_delete"

#define AUDIT_FIELD_MAX_BYTES 256 /* actor, source; detail up to 1024 bytes */
#define AUDIT_DETAIL_MAX_BYTES 1024
#define AUDIT_QUERY_LIMIT_MAX 1000

typedef struct audit_log audit_log;

#define AUDIT_HASH_BYTES 32u    /* BLAKE2b-256 link of the chain */
#define AUDIT_MAC_BYTES 32u     /* keyed BLAKE2b-256 of the head */
#define AUDIT_KEY_BYTES 32u     /* the device storage key the head MAC key is derived from */
#define AUDIT_ROWS_MAX_DEFAULT 100000
#define AUDIT_AGE_MAX_DEFAULT_S (400LL * 86400) /* rows older than this are dropped (clock permitting) */

/* The MACed head of the chain (docs/audit.md): the chain starts at anchor_id with anchor_prev as the
 * previous hash (all zero for a chain's first row, else the hash of the last row retention dropped) and
 * ends at head_id / head_hash (head_id 0: no row yet). mac = keyed BLAKE2b over all of it. */
struct audit_head {
    int64_t anchor_id;
    uint8_t anchor_prev[AUDIT_HASH_BYTES];
    int64_t head_id;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    uint8_t mac[AUDIT_MAC_BYTES];
};

/* Called after every committed append with the new head (the vault keeps a copy in vault.db, so a
 * rollback or deletion of audit.db is seen). */
typedef void (*audit_head_saved_fn)(void *ctx, const struct audit_head *head);

/* Called after every event audit_event_record committed, with its type and time (Unix seconds). Nothing else
 * of the event is handed on (actor and source name people; detail may too). */
typedef void (*audit_appended_fn)(void *ctx, const char *type, int64_t time);

/* Outcome of audit_log_verify. reason: NULL when intact, else "altered", "inserted", "deleted" or
 * "head_mismatch"; first_bad_id is the first row that does not verify (or the first missing id). */
struct audit_verify_result {
    int intact;
    int64_t events; /* rows verified */
    int64_t head_id;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    int64_t first_bad_id;
    const char *reason; /* static string */
};

/* Open (create if needed, mode 0600) the log at path. *out owned by caller (audit_log_close). */
int audit_log_open(const char *path, audit_log **out) SAFECAM_WUR;
/* Set (fn NULL: clear) the hook called after each appended event (the vault feeds the link process with it:
 * docs/linked-services.md "Events"). It runs in the appending thread and must not block. */
void audit_log_on_append(audit_log *log, audit_appended_fn fn, void *ctx);
void audit_log_close(audit_log *log);

/* Turn the hash chain on (the vault only: the one writer of a chained log). key: the device storage key;
 * the head MAC key is derived from it (keyed BLAKE2b, label "safecam audit head v1") into locked memory.
 * Rows written before the chain existed (hash NULL, an old audit.db) are chained now from a zero hash and a
 * log_chained event says where. saved (may be NULL) is called after each append. 0, or an error code. */
int audit_log_chain_enable(audit_log *log, const uint8_t key[AUDIT_KEY_BYTES], audit_head_saved_fn saved,
                           void *ctx) SAFECAM_WUR;

/* Retention (defaults AUDIT_ROWS_MAX_DEFAULT rows, AUDIT_AGE_MAX_DEFAULT_S): tests set small values.
 * rows_max >= 16, age_max_s >= 1. When rows are dropped, a log_truncated event records the dropped id
 * range and the hash of the last dropped row, and the head's anchor moves to the new first row. */
int audit_log_retention_set(audit_log *log, int64_t rows_max, int64_t age_max_s);

/* Walk the chain from its anchor to its head, streaming (one row in memory), and check the head MAC.
 * mark: the head the vault saved in vault.db (NULL = none): audit.db must still reach it. Needs the chain
 * enabled. Reads only. 0 with *out filled (intact or broken), or an error code (I/O). */
int audit_log_verify(audit_log *log, const struct audit_head *mark, struct audit_verify_result *out) SAFECAM_WUR;

/* 1 when mark's MAC is right under this log's key, else 0. */
int audit_head_valid(audit_log *log, const struct audit_head *mark);

/* Stream every row of the chain, oldest first, to fn (id, time, type, actor, source, detail may be NULL,
 * hash hex). Stops at the first non-zero return of fn, which it returns. For the signed export. */
typedef int (*audit_row_fn)(void *ctx, int64_t id, int64_t time, const char *type, const char *actor,
                            const char *source, const char *detail, const char *hash_hex);
int audit_log_rows(audit_log *log, audit_row_fn fn, void *ctx) SAFECAM_WUR;

/* The canonical link: out = BLAKE2b-256(prev || "SCA1" || id(8, big-endian) || time(8) || for each of
 * type, actor, source, detail: 0x00 (NULL) or 0x01 + length(4, big-endian) + bytes). */
int audit_link_hash(const uint8_t prev[AUDIT_HASH_BYTES], int64_t id, int64_t time, const char *type,
                    const char *actor, const char *source, const char *detail, uint8_t out[AUDIT_HASH_BYTES]);

/* The boot loader's inbox (docs/audit.md "One writer"): safecamd running as a boot loader starts no vault while
 * its slot image runs, so it leaves its events (slot image restarts, rollbacks, verified-boot refusals) in the
 * table inbox; the vault moves them into the chain, oldest first, with actor AUDIT_INBOX_ACTOR, at start and at
 * each housekeeping. Rows there are not under the MAC until moved. add: SAFECAM_ERR_INVAL on a bad type or
 * detail. drain: at most max rows; returns how many were chained (>= 0) or an error code; needs the chain. */
#define AUDIT_INBOX_ACTOR "boot-loader"
int audit_inbox_add(audit_log *log, const char *type, const char *detail) SAFECAM_WUR;
int audit_inbox_drain(audit_log *log, unsigned max);

/* 1 if type is in the allowlist above, else 0. */
int audit_type_valid(const char *type);

/* Append one event stamped now. actor/source/detail may be NULL; over-long fields or invalid UTF-8 ->
 * SAFECAM_ERR_INVAL; unknown type -> SAFECAM_ERR_INVAL. */
int audit_event_record(audit_log *log, const char *type, const char *actor, const char *source,
                       const char *detail) SAFECAM_WUR;

struct audit_filter {
    int64_t since;    /* Unix seconds, 0 = no bound */
    int64_t until;    /* Unix seconds, 0 = no bound */
    const char *type; /* NULL = all types */
    unsigned limit;   /* 1..AUDIT_QUERY_LIMIT_MAX, 0 = 100 */
};

/* Query events newest first into a new JSON array *events_out (caller decrefs) of objects
 * {"id","time"(Unix s),"time_text"(RFC 3339),"type","actor","source","detail"}. */
int audit_event_query(audit_log *log, const struct audit_filter *filter, json_t **events_out) SAFECAM_WUR;

#endif
