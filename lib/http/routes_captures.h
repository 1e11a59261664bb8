/* routes_captures.h — private to lib/http: the web side of captures (stored snapshots, the camera's user
 * data). The gate (gate.c) has checked the session, the role and (for POST/DELETE) the CSRF token; the
 * routes in routes_captures.c do the IPC calls (lib/client: media snapshot, vault PROTO_VAULT_CAPTURE_*) and
 * these helpers do the rest: spooling the media JPEG into a memfd for the vault, checking the vault's
 * answers and fd, and building the JSON answers from allowlisted fields only.
 * Trust level: network-facing process; it never sees the storage key (the vault seals and unseals).
 * QCVN 135 G9, G10 / EN 303 645 5.11-1. Contract: include/safecam/proto.h (114..117). */
#ifndef SAFECAM_HTTP_ROUTES_CAPTURES_H
#define SAFECAM_HTTP_ROUTES_CAPTURES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CAPTURE_ID_HEX 32                         /* = VAULT_CAPTURE_ID_HEX */
#define HTTP_CAPTURE_MAX_BYTES (4u * 1024u * 1024u)    /* = VAULT_CAPTURE_MAX_BYTES */

/* 1 if id is exactly HTTP_CAPTURE_ID_HEX lower-case hex digits (anything else is answered 404). */
int http_capture_id_valid(const char *id);

/* Read the JPEG the media process writes into src_fd (a pipe, read to EOF) into a new memfd (MFD_CLOEXEC,
 * offset 0, *memfd_out owned by the caller). Waits at most timeout_ms in all; at most max_bytes.
 * src_fd is not closed. Errors: SAFECAM_ERR_TOOBIG (over max_bytes), SAFECAM_ERR_TIMEOUT,
 * SAFECAM_ERR_INVAL (empty, or not starting with the JPEG SOI marker FF D8 FF), SAFECAM_ERR_IO. */
int http_capture_spool(int src_fd, size_t max_bytes, int timeout_ms, int *memfd_out);

/* A capture-specific vault refusal as (HTTP status, body): storage_full -> 507 {"error":"storage_full"},
 * too_large -> 507 {"error":"too_large"}, storage -> 500 {"error":"storage"}. Returns 0 (and *out NULL)
 * for any other reply: server.c relays those (no_session, forbidden, not_found, ...) as usual. */
unsigned http_capture_error(const json_t *reply, json_t **out);

/* 201 {"id","created_at","size"} from a vault STORE {"ok":true,"capture":{...}}; 500 internal when the
 * reply lacks a well-formed capture. *out is the body (new reference). */
unsigned http_capture_store_answer(const json_t *reply, json_t **out);

/* 200 {"captures":[{"id","created_at","size"}...]} from a vault LIST reply (malformed items dropped). */
unsigned http_capture_list_answer(const json_t *reply, json_t **out);

/* Check the fd a vault GET reply carries: a regular file (memfd) of exactly the reply's "size" bytes,
 * 1..HTTP_CAPTURE_MAX_BYTES. 0 and *size_out, or SAFECAM_ERR_PROTO. */
int http_capture_fd_check(int fd, const json_t *reply, uint64_t *size_out);

/* The Content-Disposition value for a download: attachment; filename="capture-<id>.jpg" (id valid). */
int http_capture_disposition(const char *id, char *out, size_t out_size);

/* 200 {"deleted":N,"result":"deleted"} (+ "id" when id is not NULL) from a vault DELETE reply. */
unsigned http_capture_delete_answer(const json_t *reply, const char *id, json_t **out);

#endif
