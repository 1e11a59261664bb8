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
#define AUDIT_DATA_DELETE "data_delete"
#define AUDIT_FACTORY_RESET "factory_reset"
#define AUDIT_DEVICE_START "device_start"
#define AUDIT_SANDBOX_VIOLATION "sandbox_violation" /* a child killed by its syscall filter */
#define AUDIT_CONNECTION_FLOOD "connection_flood"   /* connections refused or cut, summed per interval */

#define AUDIT_FIELD_MAX_BYTES 256 /* actor, source; detail up to 1024 bytes */
#define AUDIT_DETAIL_MAX_BYTES 1024
#define AUDIT_QUERY_LIMIT_MAX 1000

typedef struct audit_log audit_log;

/* Open (create if needed, mode 0600) the log at path. *out owned by caller (audit_log_close). */
int audit_log_open(const char *path, audit_log **out) SAFECAM_WUR;
void audit_log_close(audit_log *log);

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
