/* proto.h — the message types exchanged between safecam processes and the JSON each carries.
 * This file is the contract between supervisor, vault, web and media. Every request body is a JSON
 * object; every reply body is either {"ok":true, ...fields} or {"error":"<code>", ...fields}.
 * Strings are UTF-8. Times are Unix seconds. Durations are seconds.
 * "source" is the client's address as text ("127.0.0.1", "::1"), never taken from a header.
 *
 * Errors any vault request may answer besides those listed per message:
 *   invalid_request (+ "field")  malformed body: wrong type, over-long, unknown key
 *   password_change_required     admin-only request from a session whose initial password is unchanged
 *   unavailable                  the vault cannot serve it now (e.g. the TLS key cannot be unsealed)
 * USER_CREATE may also answer too_many_users; password_policy reasons include same_as_current.
 * AUDIT_RECORD accepts from peers only the types the vault does not record itself (config_change,
 * stream_error, update_*, data_delete, ...), so a peer cannot forge login or lockout events. */
#ifndef SAFECAM_PROTO_H
#define SAFECAM_PROTO_H

/* ---------------- supervisor <-> every child ---------------- */
enum {
    /* sup -> child. {} -> {"ok":true}. Sent every 2 s; a child that misses 3 in a row is restarted. */
    PROTO_SUP_HEARTBEAT = 1,
    /* sup -> child. {"peer":"vault"|"web"|"media"} + fd: a fresh channel to that peer. A child replaces
     * any older channel to the same peer. Sent at start and whenever the peer is restarted. */
    PROTO_SUP_CHANNEL = 2,
    /* sup -> child. {} -> {"ok":true}: stop cleanly (child exits 0 after replying). */
    PROTO_SUP_SHUTDOWN = 3,
    /* web -> sup. {"stream": {...}} validated stream settings to persist and push to media.
     * -> {"ok":true} | {"error":"invalid_setting","field","min","max"} */
    PROTO_SUP_MEDIA_CONFIG = 4,
    /* sup -> media. {"stream": {...}, "recording"?: {...}}: apply new stream settings (restart the pipeline
     * when they changed) and the recording settings (lib/media/record.c). */
    PROTO_SUP_MEDIA_APPLY = 5,
};

/* ---------------- requests served by the vault ---------------- */
enum {
    /* web. {"username","password","source"}
     * -> {"ok":true,"session_id":hex64,"csrf_token":hex64,"username","role","password_change_required":bool}
     *  | {"error":"invalid_credentials"} | {"error":"locked","retry_after":N} | {"error":"busy","retry_after":N}
     * Unknown user and wrong password answer alike (a dummy Argon2id verify runs). The verify runs on the
     * vault's hash workers: the answer may come after answers to later requests (match it by id); busy =
     * beyond the admission budget, nothing verified or counted (docs/lockout.md). Records
     * login_success / login_failure / lockout audit events. QCVN 135 G1, brute force; EN 303 645 5.1-5. */
    PROTO_VAULT_LOGIN = 100,
    /* media (RTSP Basic), web. {"username","password","source","surface":"rtsp"}
     * -> {"ok":true,"username","role","password_change_required":bool} | invalid_credentials | locked | busy.
     * Same lockout counters and admission budget as PROTO_VAULT_LOGIN. No session is created. */
    PROTO_VAULT_AUTH_CHECK = 101,
    /* web. {"session_id", "csrf_token"?: str, "touch": bool}
     * -> {"ok":true,"username","role","password_change_required":bool,"csrf_ok":bool,"csrf_token":hex64}
     *  | {"error":"no_session"}  (unknown, expired by idle or absolute timeout, or ended)
     * csrf_ok is true only when csrf_token was given and matches (constant-time). touch=true resets the
     * idle timer. csrf_token is the session's token (derived from the session id with a per-device key,
     * never stored), so GET /api/v1/session can give a reloaded page its token back. */
    PROTO_VAULT_SESSION_CHECK = 102,
    /* web. {"session_id","source"} -> {"ok":true} (also when already gone). Records session_end. */
    PROTO_VAULT_SESSION_END = 103,
    /* web. {"session_id","username","current_password","new_password","source"}
     * current_password is the acting user's own password (re-authentication).
     * -> {"ok":true} | invalid_credentials | locked | no_session | forbidden (non-admin, other user)
     *  | not_found | {"error":"password_policy","reasons":[codes]} | busy (+ retry_after)
     * Ends every other session of `username`; clears password_change_required. Hashed on the vault's hash
     * workers: answered late, like PROTO_VAULT_LOGIN. */
    PROTO_VAULT_PASSWORD_CHANGE = 104,
    /* web. {"session_id"} -> {"ok":true,"users":[{"username","role","password_change_required"}]}
     * admin only (forbidden otherwise). */
    PROTO_VAULT_USER_LIST = 105,
    /* web. {"session_id","username","password","role"} admin only.
     * -> ok | forbidden | exists | invalid_username | invalid_role | password_policy(+reasons) */
    PROTO_VAULT_USER_CREATE = 106,
    /* web. {"session_id","username","role"} admin only -> ok | forbidden | not_found | invalid_role
     * | last_admin */
    PROTO_VAULT_USER_UPDATE = 107,
    /* web. {"session_id","username"} admin only -> ok | forbidden | not_found | last_admin.
     * Ends that user's sessions. */
    PROTO_VAULT_USER_DELETE = 108,
    /* web. {"session_id"} (admin) -> {"ok":true,"settings":{...}} see PROTO_VAULT_SETTINGS_SET. */
    PROTO_VAULT_SETTINGS_GET = 109,
    /* web. {"session_id","settings":{subset of: lockout_threshold, lockout_window_s,
     * lockout_duration_s, account_hourly_limit, session_idle_s, session_absolute_s,
     * password_min_length}} admin only. All or nothing.
     * -> ok | forbidden | {"error":"invalid_setting","field","min","max"} | {"error":"unknown_field","field"} */
    PROTO_VAULT_SETTINGS_SET = 110,
    /* web, media, supervisor. {"type","actor","source","detail"} — type from the allowlist in
     * audit.h; detail is short text without secrets. -> ok | invalid_type */
    PROTO_VAULT_AUDIT_RECORD = 111,
    /* web. {"session_id","since"?,"until"?,"type"?,"limit"?(1..1000, default 100)} admin only.
     * -> {"ok":true,"events":[{"id","time","type","actor","source","detail"}]} newest first. */
    PROTO_VAULT_AUDIT_QUERY = 112,
    /* web, media. {} -> {"ok":true,"cert_pem","key_pem"}: the device TLS certificate and its private
     * key unsealed from factory/tls.key.sealed. QCVN 135 G4. */
    PROTO_VAULT_TLS_CREDENTIALS = 113,
    /* ---- captures: stored snapshots, the camera's user data (QCVN 135 G9/G10, EN 303 645 5.11-1) ----
     * Each capture is a JPEG sealed under the storage key (seal.h, label "capture:<id>") in
     * DIR/captures/<id>.sealed, listed in vault.db; a factory reset destroys the key (crypto-erase).
     * id: 32 lower-case hex digits (random). Limits: 4 MiB per capture, VAULT_CAPTURES_MAX items. */
    /* web. {"session_id","actor","source"} + fd (a memfd or regular file holding the JPEG, read with
     * pread from offset 0 up to 4 MiB + 1) -> {"ok":true,"capture":{"id","created_at","size"}}
     *  | {"error":"forbidden"|"invalid_request"|"too_large"|"storage_full"|"storage"} (admin only) */
    PROTO_VAULT_CAPTURE_STORE = 114,
    /* web. {"session_id"} -> {"ok":true,"captures":[{"id","created_at","size"}, ...]} newest first (any role) */
    PROTO_VAULT_CAPTURE_LIST = 115,
    /* web. {"session_id","id"} -> {"ok":true,"size"} + fd (memfd with the JPEG, read to EOF)
     *  | {"error":"not_found"|"invalid_request"} (any role) */
    PROTO_VAULT_CAPTURE_GET = 116,
    /* web. {"session_id","id"|"all":true,"actor","source"} (admin) -> {"ok":true,"deleted":N}
     *  | {"error":"forbidden"|"not_found"|"invalid_request"|"storage"}. The file is overwritten before
     *  it is unlinked; audit event data_delete. */
    PROTO_VAULT_CAPTURE_DELETE = 117,
    /* ---- ONVIF and recorders (docs/integrations.md; QCVN 135 G1, brute force / EN 303 645 5.1) ---- */
    /* web. WS-Security UsernameToken check for ONVIF. {"username","password_type":"digest"|"text","password",
     * "nonce"?: base64 (<=128), "created"?: ISO 8601 UTC (<=40), "source"}
     * -> {"ok":true,"username","role","password_change_required":bool}
     *  | {"error":"unauthorized"} (wrong, unknown, missing/malformed nonce or Created)
     *  | {"error":"replay"} (nonce accepted before) | {"error":"stale"} (Created outside +-300 s)
     *  | {"error":"locked","retry_after":N} | {"error":"busy","retry_after":N} | invalid_request(+field).
     * digest: integration accounts only (their sealed secret), checked in the loop; text: a person's password
     * against its Argon2id hash on the hash workers (answered late, like LOGIN) or an integration's secret.
     * Every refusal but busy/invalid_request counts toward the same lockout (surface "onvif"); audited. */
    PROTO_VAULT_WSSE_VERIFY = 130,
    /* web. {"session_id"} (admin) -> {"ok":true,"integrations":[{"username","role","created_at","last_used_at"}]} */
    PROTO_VAULT_INTEGRATION_LIST = 131,
    /* web. {"session_id","username","source"?} (admin) -> {"ok":true,"username","secret"}
     *  | invalid_username | exists | too_many_integrations. The secret is sent this once. */
    PROTO_VAULT_INTEGRATION_CREATE = 132,
    /* web. {"session_id","username","source"?} (admin) -> {"ok":true,"username","secret"} | not_found */
    PROTO_VAULT_INTEGRATION_ROTATE = 133,
    /* web. {"session_id","username","source"?} (admin) -> {"ok":true} | not_found | invalid_username */
    PROTO_VAULT_INTEGRATION_DELETE = 134,
    /* media. RTSP Digest for an integration account: {"username","realm","nonce","uri","method","response",
     * "qop"?,"nc"?,"cnonce"?,"source"} -> {"ok":true,"username","role"} | invalid_credentials | locked
     *  | invalid_request. The expected response is computed from the sealed secret inside the vault. */
    PROTO_VAULT_DIGEST_CHECK = 135,
    /* web. HTTP Digest (RFC 7616) for an integration account fetching the snapshot URI of GetSnapshotUri:
     * {"username","realm","nonce","uri","method","response","algorithm"?: "MD5"|"SHA-256","qop":"auth","nc",
     * "cnonce","source"} -> {"ok":true,"username","role"} | invalid_credentials | locked | busy
     * | invalid_request. The nonce is web's (made, bound to time and authenticated there, lib/http/digest.c);
     * the vault recomputes the response from the sealed secret and accepts each (nonce, nc) once within
     * PROTO_HTTP_DIGEST_NONCE_S. Every refusal but busy/invalid_request counts toward the same lockout
     * (surface "http"); audited. */
    PROTO_VAULT_HTTP_DIGEST_CHECK = 170,
    /* ---- recordings (QCVN 135 G7/G9; lib/vault/recording.c, format include/safecam/record.h) ---- */
    /* media. {"id": 32 hex, "start_ms": 0..} -> {"ok":true,"key","wrapped"} (base64, 32 and 76 bytes): a fresh
     * segment key and its form wrapped under the storage key (label "recording:<id>:<start_ms>"). */
    PROTO_VAULT_RECORDING_KEY = 118,
    /* web. {"session_id","id"} + fd (the sealed segment file, from media) -> {"ok":true,"size","complete"} + fd
     * (memfd with the clear MP4, offset 0) | {"error":"sealed_mismatch"} (another id, edited, other key)
     * | invalid_request | storage (any role) */
    PROTO_VAULT_RECORDING_OPEN = 119,
    /* media. {"id","start_ms","end_ms","event":"motion"|null} + fd (the finished sealed segment, read-only) ->
     * {"ok":true,"forwarded":bool}: handed on to the link process (PROTO_LINK_UPLOAD) when it runs, without a
     * wait (a link process that stops reading loses the notice, counted); nothing kept by the vault. */
    PROTO_VAULT_RECORDING_SEALED = 122,
    /* link. {"id"} + fd (a sealed segment it was handed) -> as PROTO_VAULT_RECORDING_OPEN, without a session:
     * the clear MP4 in a memfd, for one upload (docs/linked-services.md "Uploads"). */
    PROTO_VAULT_RECORDING_DECRYPT = 123,
    /* ---- linked services (docs/linked-services.md), sealed under the storage key (vault/linked.sealed) ---- */
    /* web. {"session_id"} (admin) -> {"ok":true,"linked":{"data_location","mqtt":{...,"password_set"},
     * "webdav":{...,"password_set"}}}: never a password. */
    PROTO_VAULT_LINKED_GET = 120,
    /* web. {"session_id","linked":{...}} (admin): the shape of link_settings_validate; all or nothing.
     * -> ok | {"error":"invalid_setting","field"} | {"error":"storage"} */
    PROTO_VAULT_LINKED_SET = 121,
    /* ---- the tamper-evident audit log (docs/audit.md; QCVN 135 G10) ---- */
    /* web. {"session_id","cached"?:bool} (admin) -> {"ok":true,"verification":{"status":"intact","events",
     * "head":{"id","hash"}} | {"status":"broken","first_bad_id","reason"} | {"status":"unknown"}}; cached: the
     * result of the last walk (at start or the last request) instead of a new one. */
    PROTO_VAULT_AUDIT_VERIFY = 140,
    /* web. {"session_id"} (admin) -> {"ok":true,"size"} + fd (memfd: JSON lines, the last one the device
     * key's signature over the bytes before it) | {"error":"unavailable"} */
    PROTO_VAULT_AUDIT_EXPORT = 141,
};

/* ---------------- requests served by media ---------------- */
enum {
    /* web. {"session_id"?} -> {"ok":true,"content_type":"image/jpeg"} + fd: read the JPEG to EOF. */
    PROTO_MEDIA_SNAPSHOT = 200,
    /* web. {"stream":"main"|"sub"} -> {"ok":true,"content_type":"video/mp4; codecs=..."} + fd: a
     * never-ending fragmented MP4 (init segment first); closing the fd ends it. */
    PROTO_MEDIA_LIVE_OPEN = 201,
    /* web. {} -> {"ok":true,"stream":{current settings},"state":"playing"|"retrying"|...} */
    PROTO_MEDIA_STATUS = 202,
    /* ---- recordings (lib/media/record.c; QCVN 135 G7, G9) ---- */
    /* web. {"from_ms","to_ms","event"?:"motion"} -> {"ok":true,"recordings":[{"id","start_ms","end_ms","bytes",
     * "complete","event":"motion"|null}],"next_from"?}: segments overlapping [from, to) (with "event": motion
     * segments only), oldest first, at most 1000. */
    PROTO_MEDIA_RECORDING_LIST = 203,
    /* web. {"id"} -> {"ok":true} + fd: the sealed segment file, read-only (web hands it to the vault,
     * PROTO_VAULT_RECORDING_OPEN) | {"error":"not_found"|"invalid_request"|"unavailable"} */
    PROTO_MEDIA_RECORDING_FD = 204,
    /* web (admin checked by web and CSRF). {"ids":[id...]} or {"from_ms","to_ms"} -> {"ok":true,"deleted":[id],
     * "failed":[{"id","error"}]}: each file overwritten, fsync'd, unlinked, then its index row. */
    PROTO_MEDIA_RECORDING_DELETE = 205,
};

/* ---------------- requests served by the update process (no listening socket) ----------------
 * The web process never writes slots: it streams the upload into a pipe whose read end it hands to the
 * update process, which verifies while it writes the inactive slot (lib/update, bounded memory). */
enum {
    /* web. {"size": bytes (Content-Length) or -1 if unknown, "actor", "source"} (exactly these keys)
     * + fd (read end of the upload pipe, must be a FIFO)
     * -> {"ok":true,"session":N} reading started; N identifies this install session in STATUS
     *  | {"error":"busy"} an install runs or a new slot awaits its health check
     *  | {"error":"too_large","max":N} size over config.json update.max_bundle_bytes
     *  | {"error":"io"} the staging area cannot be opened | invalid_request (+ "field":"fd") | internal.
     * Refusals before a session opens are audited (update_refused) but do not replace the last result.
     * The update process closes the pipe at its first refusal (web's next write gets EPIPE). */
    PROTO_UPDATE_BEGIN = 300,
    /* web. {} -> {"ok":true,
     *   "state": "idle"|"receiving"|"installed"|"refused"   this process's current/last session,
     *   "session": N, "received_bytes", "total_bytes",
     *   "result": {"error"?: refusal code (update_reason_name), "version"?, "slot"?: "A"|"B"},
     *   "last": update_last_result_read() object {"state","reason","version","slot","received","total",
     *           "time"} (absent when nothing was ever installed or refused),
     *   "slots": {"A": {"version"|null,"security_version","valid","good","factory","installed_at",
     *                   "running","active"}, "B": {...}},
     *   "running", "active", "trying": "A"|"B"|null, "floor": anti-rollback security version,
     *   "health": "ok"|"slot_damaged" (the booted slot failed its integrity check at start),
     *   "online": {"enabled","auto_install","job":"idle"|"checking"|"installing","last_check": Unix s,
     *              "error"?: code of the last failed check,
     *              "latest"?: {"version","security_version","size","available"}}}
     * ("slots"/"running"/"active"/"trying"/"floor" are absent when the slot state cannot be read.) */
    PROTO_UPDATE_STATUS = 301,
    /* web. {"actor","source"} -> {"ok":true,"available":bool,"version","security_version","size"}
     * | {"error": not_configured (online check off or no server_url) | busy (a check or online install
     *   runs) | server_untrusted (TLS refused: unknown CA, wrong host name, expired; also audited)
     *   | server_unreachable | bad_server_answer | invalid_request}.
     * Checks the vendor's update server now (HTTPS, pinned vendor CA), re-reading config.json first.
     * The reply is deferred until the check is done (at most ~30 s). */
    PROTO_UPDATE_CHECK = 302,
    /* web. {"actor","source"} -> {"ok":true,"state":"receiving","version","session":N}: the download
     * and install of what the last check found started (admin approval); poll STATUS.
     * | {"error": no_update_available | busy | not_configured | internal | invalid_request}. */
    PROTO_UPDATE_APPLY = 303,
};

/* ---------------- requests served by the supervisor (from web and from the update process) ---------------- */
enum {
    /* web -> sup. {} -> {"ok":true,"privacy":{"acknowledged","acknowledged_at","data_location"}} */
    PROTO_SUP_PRIVACY_GET = 7,
    /* web -> sup. {"privacy":{"acknowledged"?: bool, "data_location"?: "device_only"|"vietnam"}}
     * -> {"ok":true,"privacy":{...}} | {"error":"invalid_setting"|"unknown_field","field"} */
    PROTO_SUP_PRIVACY_SET = 8,
    /* web -> sup. {} -> {"ok":true,"update":{"online_enabled": bool, "server_url": str ("" = none),
     * "auto_install": bool, "check_interval_s": N, "ca_installed": bool}}: the online update settings of
     * config.json (section "update"). ca_installed: the pinned vendor CA file (update.ca_file, default
     * DIR/factory/update-ca.pem, written by safecam-provision --update-ca) exists. Neither the CA path nor
     * max_bundle_bytes travels: both are set at provisioning only. QCVN 135 G3 / EN 303 645 5.3-4. */
    PROTO_SUP_UPDATE_CONFIG_GET = 9,
    /* web -> sup. {"update":{subset of: online_enabled (bool), server_url ("https://..." or ""),
     * auto_install (bool), check_interval_s (CONFIG_UPDATE_INTERVAL_MIN_S..MAX_S)}} all or nothing
     * -> {"ok":true,"update":{... as GET}}
     *  | {"error":"invalid_setting","field"(,"min","max")} (a URL that is not https://, online_enabled
     *    without a server_url, an interval out of range, a wrong type)
     *  | {"error":"unknown_field","field"} (any other key, including ca_file and max_bundle_bytes)
     *  | {"error":"ca_not_installed"} online_enabled would be true but no vendor CA file exists
     *  | {"error":"invalid_json"} | {"error":"storage"}. Nothing changes on refusal. safecam-update
     * re-reads config.json for every check and upload and at least every 30 s when idle. */
    PROTO_SUP_UPDATE_CONFIG_SET = 10,
    /* update -> sup. {"reason"} -> {"ok":true}: a new slot is ready; restart the device (here: stop the
     * children and re-exec safecamd, which then boots the new slot and counts the attempt). */
    PROTO_SUP_REBOOT = 6,
    /* web -> sup. {"actor","source"} -> {"ok":true}: erase everything back to the factory state
     * (QCVN 135 G9 / EN 303 645 5.11-1): the supervisor answers, stops every child, runs
     * vault_factory_reset() (crypto-erase: new storage key, new TLS key, users back to the label's
     * initial password, configuration, audit log and captures gone; identity, vendor keys, update state
     * and slots kept) and restarts. The web process checks the admin session, CSRF token and the
     * {"confirm":true} body before it asks. */
    PROTO_SUP_FACTORY_RESET = 11,
    /* web, media, update -> sup. {"peer":"vault"|"media"|"update"} -> {"ok":true} | {"error":"invalid_request","field":"peer"}
     * | {"error":"busy"} | {"error":"peer_down"}: the child's channel to that peer died (peer closed it,
     * broken framing, I/O error). The supervisor makes a fresh pair and hands one end to each side
     * (PROTO_SUP_CHANNEL), as when a peer restarts. The child asks with back-off (100 ms doubling to 5 s);
     * the supervisor re-pairs one child with its own back-off (SUPERVISOR_RENEW_MIN_MS doubling to _MAX_MS
     * while renewals follow each other; "busy" sooner), and not while the peer is down (wired when it
     * starts). QCVN 135 G8 / EN 303 645 5.9-1. */
    PROTO_SUP_CHANNEL_RENEW = 12,
    /* web -> sup. {} -> {"ok":true,"onvif":{"enabled": bool, "discovery": bool},"https_port":N,"rtsps_port":N}:
     * the ONVIF settings of config.json (section "onvif", both off by default) and the ports the ONVIF answers
     * put in their URIs. docs/onvif.md. QCVN 135 G6 / EN 303 645 5.6-1. */
    PROTO_SUP_ONVIF_GET = 13,
    /* web -> sup. {"onvif":{"enabled"?: bool, "discovery"?: bool}} all or nothing -> as PROTO_SUP_ONVIF_GET
     *  | {"error":"invalid_setting"|"unknown_field","field"} | {"error":"invalid_json"} | {"error":"storage"}.
     * Nothing changes on refusal. */
    PROTO_SUP_ONVIF_SET = 14,
    /* web -> sup. {} -> {"ok":true,"recording":{"mode","segment_seconds","retention_days","max_bytes",
     * "pre_roll_s","post_roll_s","motion_sensitivity"}} (config.json section "recording", config.h). QCVN 135 G7, G9. */
    PROTO_SUP_RECORDING_GET = 15,
    /* web -> sup. {"recording":{subset}} all or nothing -> {"ok":true,"recording":{...}}
     *  | {"error":"invalid_setting","field","min","max"} | {"error":"unknown_field","field"} | invalid_json
     *  | storage. Saved, then pushed to media with the stream settings (PROTO_SUP_MEDIA_APPLY). */
    PROTO_SUP_RECORDING_SET = 16,
    /* vault -> sup. {"configured": bool} -> {"ok":true}: whether at least one linked service (MQTT or WebDAV)
     * is configured. Sent when the vault starts and after each PROTO_VAULT_LINKED_SET; the supervisor runs the
     * link child (safecam-link) only while it is true and sends it PROTO_SUP_SHUTDOWN at once when it turns
     * false. docs/linked-services.md. QCVN 135 G6 / EN 303 645 5.6-1 (nothing runs that is not used). */
    PROTO_SUP_LINK_STATE = 28,
};

/* ---------------- the linked-service process (safecam-link, docs/linked-services.md) ---------------- */
/* How long a web-issued HTTP Digest nonce is accepted, seconds (lib/http/digest.c and the vault's replay cache). */
#define PROTO_HTTP_DIGEST_NONCE_S 300

enum {
    /* link -> vault. {} -> {"ok":true,"linked":{"data_location","mqtt"?:{"url","ca_pem","username","password",
     * "topic"},"webdav"?:{...,"password","retention_days"}}}: the stored settings WITH the passwords. Served to
     * the link peer only (the web peer gets PROTO_VAULT_LINKED_GET, which never carries a password). Asked each
     * time the link process gets a new vault channel. QCVN 135 G7 / EN 303 645 5.4-1, 5.8-2. */
    PROTO_VAULT_LINK_SETTINGS = 160,
    /* vault -> link. {"linked":{... as PROTO_VAULT_LINK_SETTINGS}} -> {"ok":true} | {"error":"invalid_setting",
     * "field"}: new settings after a PROTO_VAULT_LINKED_SET (connections restart with them). */
    PROTO_LINK_CONFIGURE = 161,
    /* vault -> link. {"event":{"type","time"}} -> {"ok":true}: an audit event the vault appended (login_failure,
     * lockout, motion, device_start, process_restart, update_install, update_refused, stream_error), for the MQTT
     * broker. Only these two fields travel (docs/linked-services.md "Events"): never the actor (a user name),
     * the source address or the detail. The link process queues it (bounded, oldest dropped and counted). */
    PROTO_LINK_EVENT = 162,
    /* web -> link. {"session_id"} (admin: checked by web with the vault first) -> {"ok":true,"removed":[...],
     * "failed":[{"name","why"}]}: delete everything uploaded to WebDAV and clear the retained MQTT messages. */
    PROTO_LINK_DELETE = 163,
    /* vault -> link. {"id","start_ms","end_ms","event"} + fd (sealed segment, read-only; as
     * PROTO_VAULT_RECORDING_SEALED) -> {"ok":true,"queued":bool}: queued for WebDAV when webdav.upload wants
     * it (off | motion | all). The link process asks the vault to decrypt it only when its turn comes. */
    PROTO_LINK_UPLOAD = 164,
    /* vault -> link. {"id","created_at"} + fd (the memfd with the JPEG an admin just stored as a capture, read
     * from offset 0) -> {"ok":true,"queued":bool}: queued for WebDAV unless webdav.upload is off. */
    PROTO_LINK_UPLOAD_CAPTURE = 165,
};

#endif
