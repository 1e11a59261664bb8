/* update.h — signed firmware update bundles: format, streaming verification, trust store, A/B slots.
 * Trust level: parses untrusted bundles (uploaded over HTTPS or downloaded from the vendor server);
 * nothing in a bundle is believed before its Ed25519 signature verifies against a trusted, unrevoked
 * vendor key. QCVN 135 G3 / EN 303 645 5.3-2, 5.3-3, 5.3-7, 5.3-9, 5.3-10, 5.3-13, 5.3-16; G8 (an
 * interrupted install never leaves the camera unbootable). Implemented in lib/update/. The byte layout
 * is documented in docs/update-bundle.md; keep the two in step.
 *
 * Bundle layout (all integers big-endian):
 *   header   24 bytes: "SCUPDATE" | u16 format (1) | u16 flags (0) | u32 manifest_len | key_id[8]
 *   manifest manifest_len bytes of strict JSON (1..UPDATE_MANIFEST_MAX_BYTES)
 *   sig      64 bytes: Ed25519 detached signature (libsodium crypto_sign_detached) over header||manifest
 *   payloads the bytes of each payload, in manifest order, sizes from the manifest; nothing after.
 *
 * State dir layout owned by this module (next to statedir.h's names):
 *   DIR/factory/update-keys/<key_id>.pub   trusted vendor public keys (safecam-provision --update-pubkey)
 *   DIR/update/state.json                  slot pointer, boot-attempt counter, anti-rollback floor,
 *                                          revoked key IDs (one file, always written atomically)
 *   DIR/update/last.json                   result of the last install attempt (for the API)
 *   DIR/update/lock                        flock()ed by the one install session allowed at a time
 *   DIR/slots/A, DIR/slots/B               slot trees: payload files, manifest.json of the bundle and
 *                                          bundle.head (header||manifest||signature, for verified boot)
 *   DIR/slots/X.staging                    where an upload streams before it is verified complete
 * DIR/update/ must survive a factory reset (it holds the anti-rollback floor and the revocations). */
#ifndef SAFECAM_UPDATE_H
#define SAFECAM_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "safecam/core.h"

/* ---- format constants ---- */
#define UPDATE_MAGIC "SCUPDATE"
#define UPDATE_MAGIC_BYTES 8u
#define UPDATE_FORMAT_VERSION 1u
#define UPDATE_HEADER_BYTES 24u
#define UPDATE_KEY_ID_BYTES 8u          /* first 8 bytes of SHA-256(public key) */
#define UPDATE_KEY_ID_HEX_BYTES 17u     /* 16 hex digits + NUL */
#define UPDATE_PUBLIC_KEY_BYTES 32u
#define UPDATE_SECRET_KEY_BYTES 64u
#define UPDATE_SIG_BYTES 64u
#define UPDATE_MANIFEST_MAX_BYTES (64u * 1024u)
#define UPDATE_PAYLOADS_MAX 8u
#define UPDATE_MODELS_MAX 16u
#define UPDATE_REVOKE_MAX 16u
#define UPDATE_NAME_MAX 64u             /* payload / model names: [A-Za-z0-9._-]{1,64}, not "." or ".." */
#define UPDATE_VERSION_MAX 64u          /* MAJOR.MINOR.PATCH[-PRERELEASE] */
#define UPDATE_PAYLOAD_MAX_BYTES (4ull * 1024 * 1024 * 1024) /* hard cap per payload: 4 GiB */
#define UPDATE_BUNDLE_MAX_BYTES_DEFAULT (512ull * 1024 * 1024) /* default total cap: 512 MiB */
#define UPDATE_BOOT_ATTEMPTS_DEFAULT 3u /* starts a new slot gets to pass its health check */
#define UPDATE_KEYS_MAX 16u             /* trusted keys loaded from factory/update-keys */
#define UPDATE_PUBFILE_MAX_BYTES 4096u

#define UPDATE_DIR_KEYS "factory/update-keys"
#define UPDATE_DIR_STATE "update"
#define UPDATE_STATE_JSON "update/state.json"
#define UPDATE_LAST_JSON "update/last.json"
#define UPDATE_LOCK "update/lock"
#define UPDATE_DIR_SLOTS "slots"

/* Why a bundle was refused: stable codes, used verbatim in API errors, audit details and by
 * `safecam-sign verify`. update_reason_name() gives the lower_snake_case string. */
enum update_reason {
    UPDATE_OK = 0,
    UPDATE_BAD_SIGNATURE,     /* "bad_signature": signature does not verify (tampered header/manifest/sig) */
    UPDATE_UNTRUSTED_KEY,     /* "untrusted_key": key_id not trusted, or revoked */
    UPDATE_WRONG_MODEL,       /* "wrong_model": this device's model is not in "models" */
    UPDATE_ROLLBACK,          /* "rollback": security_version below the installed floor */
    UPDATE_HASH_MISMATCH,     /* "hash_mismatch": a payload's SHA-256 differs from the manifest */
    UPDATE_TRUNCATED,         /* "truncated": the stream ended early (includes an empty upload) */
    UPDATE_TOO_LARGE,         /* "too_large": over a size cap (manifest, payload, bundle) */
    UPDATE_MALFORMED_MANIFEST,/* "malformed_manifest": signed, but the manifest breaks a rule */
    UPDATE_MALFORMED_BUNDLE,  /* "malformed_bundle": bad magic/format/flags, or bytes after the last payload */
    UPDATE_IO,                /* "io": a read/write/rename failed */
    UPDATE_NO_SPACE,          /* "no_space": the disk filled up while staging */
    UPDATE_BUSY,              /* "busy": another install runs, or a new slot still awaits its health check */
    UPDATE_INTERNAL,          /* "internal": allocation or library failure */
};
const char *update_reason_name(enum update_reason r);
/* The SAFECAM_ERR_* a function returns together with reason r (CRYPTO, DENIED, INVAL, TOOBIG, IO, STATE...). */
int update_reason_err(enum update_reason r);
/* HTTP status for POST /api/v1/system/update answering with {"error": update_reason_name(r)}:
 * 202 for UPDATE_OK, 413 too_large, 409 busy, 507 no_space, 500 io/internal, 422 for every other refusal. */
int update_reason_http_status(enum update_reason r);

/* ---- the manifest ---- */
struct update_payload {
    char name[UPDATE_NAME_MAX + 1];
    uint64_t size;                  /* bytes */
    unsigned char sha256[32];
};

struct update_manifest {
    unsigned format;                                   /* 1 */
    unsigned n_models;
    char models[UPDATE_MODELS_MAX][UPDATE_NAME_MAX + 1];
    char version[UPDATE_VERSION_MAX + 1];
    uint32_t security_version;                         /* anti-rollback counter */
    int64_t build_time;                                /* Unix seconds */
    char key_id[UPDATE_KEY_ID_HEX_BYTES];              /* hex, must equal the header's key_id */
    unsigned n_payloads;                               /* 1..UPDATE_PAYLOADS_MAX */
    struct update_payload payloads[UPDATE_PAYLOADS_MAX];
    unsigned n_revoke;                                 /* key IDs this bundle revokes */
    char revoke[UPDATE_REVOKE_MAX][UPDATE_KEY_ID_HEX_BYTES];
    uint64_t payload_total;                            /* sum of payload sizes, bytes */
};

/* Parse len bytes of manifest JSON strictly: UTF-8, no duplicate or unknown keys, every field typed
 * and within its limit (see docs/update-bundle.md), payload names unique, a bundle may not revoke its
 * own key. Runs only on signed manifests in the device path, but is safe on any input (fuzzed by
 * fuzz/fuzz_bundle_manifest.c). Errors: SAFECAM_ERR_TOOBIG (len over cap), SAFECAM_ERR_INVAL. */
int update_manifest_parse(const char *json, size_t len, struct update_manifest *out) SAFECAM_WUR;
/* 1 if s is a strict version "MAJOR.MINOR.PATCH[-PRE]" (no leading zeros, <= 9 digits each, PRE is
 * [0-9A-Za-z.-]{1,32}), else 0. */
int update_version_valid(const char *s);
/* 1 if s matches [A-Za-z0-9._-]{1,64} and is not "." or "..", else 0. */
int update_name_valid(const char *s);

/* ---- keys and the trust store ---- */
/* key_id of a public key: hex of the first 8 bytes of SHA-256(pk), into out (>= 17 bytes). */
void update_key_id(const unsigned char pk[UPDATE_PUBLIC_KEY_BYTES], char out[UPDATE_KEY_ID_HEX_BYTES]);

/* A public key file (.pub) is strict JSON, at most UPDATE_PUBFILE_MAX_BYTES:
 *   {"format":"safecam-update-pubkey","version":1,"key_id":HEX16,"public_key":BASE64(32 bytes),
 *    "comment":STRING(<=128, optional),"demo":BOOL(optional)}
 * key_id must match the key. Parses into pk; *demo_out (may be NULL) gets the demo flag.
 * Errors: SAFECAM_ERR_IO/NOTFOUND, SAFECAM_ERR_TOOBIG, SAFECAM_ERR_INVAL. */
int update_pubkey_read(const char *path, unsigned char pk[UPDATE_PUBLIC_KEY_BYTES], int *demo_out) SAFECAM_WUR;
/* Write a .pub file for pk (mode 0644, atomically). comment may be NULL. */
int update_pubkey_write(const char *path, const unsigned char pk[UPDATE_PUBLIC_KEY_BYTES],
                        const char *comment, int demo) SAFECAM_WUR;

typedef struct update_trust update_trust;

/* An empty trust store (*out owned by the caller: update_trust_free). */
int update_trust_new(update_trust **out) SAFECAM_WUR;
void update_trust_free(update_trust *t);
/* Add one key. Adding a key_id already present is a no-op. SAFECAM_ERR_TOOBIG past UPDATE_KEYS_MAX. */
int update_trust_add(update_trust *t, const unsigned char pk[UPDATE_PUBLIC_KEY_BYTES]) SAFECAM_WUR;
/* Mark key_id (hex) revoked: a bundle signed by it is refused as untrusted_key. */
int update_trust_revoke(update_trust *t, const char *key_id_hex) SAFECAM_WUR;
/* Load the device's trust store: every DIR/factory/update-keys/<id>.pub plus the revocations in
 * DIR/update/state.json. A malformed .pub file is skipped with a log line (fail closed for that key).
 * Zero keys is not an error here (every bundle is then refused as untrusted_key). */
int update_trust_load(const char *state_dir, update_trust **out) SAFECAM_WUR;
/* Number of (unrevoked) trusted keys. */
unsigned update_trust_count(const update_trust *t);

/* Install the vendor public key at pub_path into DIR/factory/update-keys/<key_id>.pub (dir 0755, file
 * 0644, atomic). Used by `safecam-provision --update-pubkey FILE` (repeatable: key rotation).
 * Refuses a malformed file (SAFECAM_ERR_INVAL) and a key revoked on this device (SAFECAM_ERR_DENIED).
 * Installing the same key twice is a no-op. QCVN 135 G3 / EN 303 645 5.3-10. */
int update_trust_key_install(const char *state_dir, const char *pub_path) SAFECAM_WUR;

/* ---- streaming verifier (bounded memory: header + manifest + signature, <= 64 KiB + 88 bytes) ---- */
/* Where payload bytes go once the manifest has been verified. All three may be NULL (verify only).
 * begin is called once per payload before its bytes, write with each verified-so-far chunk (the hash
 * is checked when the payload ends), end after the last byte when its hash matched.
 * Return 0 or a negative SAFECAM_ERR_*; set *reason to UPDATE_IO / UPDATE_NO_SPACE on failure. */
struct update_sink {
    void *ctx;
    int (*begin)(void *ctx, const struct update_payload *p, enum update_reason *reason);
    int (*write)(void *ctx, const unsigned char *data, size_t len, enum update_reason *reason);
    int (*end)(void *ctx, const struct update_payload *p, enum update_reason *reason);
};

struct update_verify_opts {
    const char *model;              /* device model that must be in "models"; NULL = do not check (vendor tool) */
    uint32_t min_security_version;  /* refuse security_version below this (anti-rollback floor) */
    uint64_t max_bundle_bytes;      /* whole-bundle cap; 0 = UPDATE_BUNDLE_MAX_BYTES_DEFAULT */
    struct update_sink sink;        /* optional */
};

typedef struct update_verifier update_verifier;

/* trust must outlive the verifier. *out owned by caller (update_verifier_free). */
int update_verifier_new(const update_trust *trust, const struct update_verify_opts *opts,
                        update_verifier **out) SAFECAM_WUR;
void update_verifier_free(update_verifier *v);
/* Feed the next len bytes of the stream. The signature, key, model, anti-rollback and size checks run
 * as soon as header+manifest+signature are in, before any payload byte reaches the sink. After the
 * first refusal every call returns the same error (sticky). Returns 0 or the SAFECAM_ERR_* of
 * update_verifier_reason(). */
int update_verifier_feed(update_verifier *v, const void *data, size_t len) SAFECAM_WUR;
/* End of stream: 0 only when every payload arrived complete with a matching hash and nothing extra.
 * Else UPDATE_TRUNCATED (or the earlier sticky refusal). */
int update_verifier_finish(update_verifier *v) SAFECAM_WUR;
enum update_reason update_verifier_reason(const update_verifier *v);
/* The verified manifest, or NULL until the signature and the manifest checks have passed. */
const struct update_manifest *update_verifier_manifest(const update_verifier *v);
/* Raw manifest bytes (verified) for storing beside an installed slot; NULL before verification. */
const char *update_verifier_manifest_json(const update_verifier *v, size_t *len_out);
/* Write the verified bundle head (header || manifest || signature, exactly as received) to fd. Kept
 * beside an installed slot as UPDATE_SLOT_HEAD so the boot loader can check the slot's signature
 * again before it runs it. Errors: SAFECAM_ERR_INVAL (not verified yet), SAFECAM_ERR_IO. */
int update_verifier_head_write(const update_verifier *v, int fd) SAFECAM_WUR;
/* Bytes consumed so far (also after a refusal: what was read up to it), and the expected total (0 until the
 * manifest is verified). */
void update_verifier_progress(const update_verifier *v, uint64_t *received, uint64_t *total);
/* Unverified look at a header (24 bytes): manifest_len and key_id hex. For `safecam-sign inspect`. */
int update_header_parse(const unsigned char hdr[UPDATE_HEADER_BYTES], uint32_t *manifest_len,
                        char key_id_hex[UPDATE_KEY_ID_HEX_BYTES]) SAFECAM_WUR;

/* ---- writing bundles (vendor side: safecam-sign, tests) ---- */
struct update_build_payload {
    const char *name;   /* [A-Za-z0-9._-]{1,64} */
    const char *path;   /* file read twice: hash, then copy */
};
struct update_build_spec {
    const char *const *models; unsigned n_models;
    const char *version;
    uint32_t security_version;
    int64_t build_time;
    const struct update_build_payload *payloads; unsigned n_payloads;
    const char *const *revoke; unsigned n_revoke;       /* key IDs (hex) to revoke; may be 0 */
};
/* Write a complete signed bundle to out_fd. sk is a libsodium Ed25519 secret key (64 bytes). The
 * manifest is produced by the same rules update_manifest_parse() enforces (checked before signing).
 * Errors: SAFECAM_ERR_INVAL (a spec field breaks a rule), SAFECAM_ERR_IO, SAFECAM_ERR_TOOBIG. */
int update_bundle_write(const struct update_build_spec *spec, const unsigned char sk[UPDATE_SECRET_KEY_BYTES],
                        int out_fd) SAFECAM_WUR;

/* ---- A/B slots: the `dir` install backend ----
 * The state file is the only pointer: a slot becomes bootable only by an atomic rewrite of
 * DIR/update/state.json after all its checks passed. Boot protocol (U-Boot bootcount / RAUC style):
 *   install finish : state.trying = X, attempts_left = N        (X is staged and complete)
 *   each start     : update_boot_select(): trying with attempts_left > 0 -> boot X, attempts_left--;
 *                    trying with 0 left -> roll back to the active slot (event "update_rollback")
 *   health check ok: update_boot_mark_good(): active = X, trying = none, floor = max(floor, X.sv)
 * A RAUC/U-Boot board maps the same four steps to `rauc install` / BOOT_ORDER + BOOT_x_LEFT /
 * `rauc status mark-good` (docs/update-bundle.md "Hooks for real boards"). */
struct update_slot_info {
    int valid;                                  /* 1 when the slot holds a complete installed image */
    int good;                                   /* passed a health check at least once */
    int factory;                                /* the image that shipped (no bundle on disk) */
    char version[UPDATE_VERSION_MAX + 1];
    uint32_t security_version;
    int64_t installed_at;                       /* Unix seconds, 0 for factory */
};

struct update_status {
    char active;            /* 'A' or 'B': last known-good slot */
    char trying;            /* 'A'/'B' while a new slot awaits its health check, else 0 */
    char booted;            /* the slot chosen by the last update_boot_select(), 0 if none yet */
    unsigned attempts_left;
    uint32_t floor;         /* anti-rollback floor: highest security_version that was marked good */
    unsigned n_revoked;
    char revoked[UPDATE_REVOKE_MAX * 4][UPDATE_KEY_ID_HEX_BYTES];
    struct update_slot_info slots[2]; /* [0] = A, [1] = B */
};
#define UPDATE_REVOKED_MAX (UPDATE_REVOKE_MAX * 4)

/* Event callback: type is one of "update_install", "update_refused" (audit.h names) or
 * "update_rollback"/"update_good" (informational; record them as update_install with the detail);
 * detail is a short "key=value ..." line without secrets. ctx is opaque. */
typedef void (*update_event_fn)(void *ctx, const char *type, const char *detail);

/* Read DIR/update/state.json (created on first use: slot A = the factory image, version
 * SAFECAM_VERSION, security_version 0, good). Errors: SAFECAM_ERR_IO, SAFECAM_ERR_INVAL (corrupt). */
int update_slots_status(const char *state_dir, struct update_status *out) SAFECAM_WUR;
/* The "bootloader" step, called once per start by the supervisor before it starts the children.
 * Chooses the slot to run (see above), persists the attempt counter, writes the choice to *slot_out
 * ('A'/'B'), sets *rolled_back to 1 when it fell back. A trying slot whose files do not match its
 * manifest sizes is abandoned at once. Also removes what an interrupted install left behind (staging
 * trees, temp files). QCVN 135 G3 / G8. */
int update_boot_select(const char *state_dir, char *slot_out, int *rolled_back,
                       update_event_fn ev, void *ev_ctx) SAFECAM_WUR;
/* Health check passed (safecamd up and serving HTTPS): commit the booted slot as active, raise the
 * anti-rollback floor. A no-op when the booted slot is already active. */
int update_boot_mark_good(const char *state_dir, update_event_fn ev, void *ev_ctx) SAFECAM_WUR;
/* (update_boot_mark_good never waits for the update lock: SAFECAM_ERR_STATE while an install holds it;
 * call it again later.) */
/* ---- verified boot of a slot image (the PC build's boot loader, daemon/safecamd.c) ----
 * A bundle whose payloads include UPDATE_IMAGE_ENTRY is a bootable image: its executables (the names
 * update_payload_executable() accepts) are installed mode 0755, everything else 0644. At each start the
 * boot loader authenticates the chosen slot and then runs DIR/slots/X/safecamd; a bundle without an
 * entry point is data only and the boot loader's own (factory) binaries keep running.
 * docs/update-bundle.md "The PC boot chain". */
#define UPDATE_IMAGE_ENTRY "safecamd"
#define UPDATE_SLOT_HEAD "bundle.head"
/* 1 if a payload of this name is one of the image's executables (safecamd, safecam-vault, safecam-web,
 * safecam-media, safecam-update), else 0. */
int update_payload_executable(const char *name);
/* Verified boot: check slot X exactly as its bundle was checked at install: the stored head's
 * signature against the device's trusted, unrevoked keys, the device model, then every payload file's
 * size and SHA-256 streamed from disk (bounded memory). The anti-rollback floor is not applied (it was
 * at install, and the active slot defines it). 0 when authentic; otherwise SAFECAM_ERR_* with
 * *reason_out (may be NULL) set: bad_signature, untrusted_key, wrong_model, hash_mismatch, truncated
 * (a file shorter than listed), malformed_bundle (a file longer, or a missing head), io.
 * A factory slot returns SAFECAM_ERR_NOTFOUND (nothing to authenticate: it is the boot loader itself).
 * QCVN 135 G3 / EN 303 645 5.3-9 (and 5.7-1: the boot loader only runs what was verified). */
int update_slot_authenticate(const char *state_dir, char slot, enum update_reason *reason_out) SAFECAM_WUR;
/* The slot the last update_boot_select() chose failed before its health check in a way another start
 * cannot mend (verified boot refused it): drop it now and fall back to the active slot, as the boot
 * counter would after the last attempt. reason is "slot_damaged" or "health_check_failed" (the
 * last.json reason and the rollback event's detail). *slot_out gets the slot to run instead. A no-op
 * returning the active slot when nothing is trying. */
int update_boot_abandon(const char *state_dir, const char *reason, char *slot_out, update_event_fn ev,
                        void *ev_ctx) SAFECAM_WUR;
/* Path of a slot's tree (DIR/slots/A or B) into out. */
int update_slot_path(const char *state_dir, char slot, char *out, size_t out_size) SAFECAM_WUR;
/* Full check of an installed slot: its manifest.json parses and every payload file has the listed
 * size and SHA-256. 0 when consistent, SAFECAM_ERR_CRYPTO/INVAL/IO/NOTFOUND otherwise. Factory
 * slots are consistent by definition. */
int update_slot_verify(const char *state_dir, char slot) SAFECAM_WUR;

/* ---- install session: what POST /api/v1/system/update and the online path call ----
 * s = update_session_new(); update_session_feed() each chunk as it arrives; update_session_finish().
 * Memory stays bounded whatever the upload size. At most one session per state dir (flock); a
 * second one, or one while a new slot awaits its health check, is refused with UPDATE_BUSY.
 * On any refusal the staging dir is removed and the slot state is unchanged. */
struct update_session_opts {
    const char *model;              /* NULL: read "model" from DIR/factory/device.json */
    uint64_t max_bundle_bytes;      /* 0 = UPDATE_BUNDLE_MAX_BYTES_DEFAULT */
    unsigned boot_attempts;         /* 0 = UPDATE_BOOT_ATTEMPTS_DEFAULT */
    update_event_fn event;          /* optional: audit hook (each refusal and install) */
    void *event_ctx;
};

typedef struct update_session update_session;

/* Errors: SAFECAM_ERR_STATE (busy; *out NULL), SAFECAM_ERR_NOTFOUND (no model), SAFECAM_ERR_IO.
 * *out owned by caller: update_session_free() (which aborts an unfinished session). */
int update_session_new(const char *state_dir, const struct update_session_opts *opts,
                       update_session **out) SAFECAM_WUR;
int update_session_feed(update_session *s, const void *data, size_t len) SAFECAM_WUR;
/* Verify completeness, move the staged tree into the inactive slot and arm it for the next start
 * (state.trying). 0 on success. On refusal see update_session_reason(). */
int update_session_finish(update_session *s) SAFECAM_WUR;
void update_session_free(update_session *s);
enum update_reason update_session_reason(const update_session *s);
/* Progress: bytes received / expected total (0 until the manifest is verified). */
void update_session_progress(const update_session *s, uint64_t *received, uint64_t *total);
/* The verified manifest (NULL before). */
const struct update_manifest *update_session_manifest(const update_session *s);
/* The slot being written ('A'/'B'). */
char update_session_slot(const update_session *s);

/* Install a whole bundle file through a session (used by tests and the online path). */
int update_install_file(const char *state_dir, const struct update_session_opts *opts, const char *path,
                        enum update_reason *reason_out) SAFECAM_WUR;

/* Last install result, as JSON text for GET /api/v1/system/update:
 * {"state":S,"reason":CODE|null,"version":STR|null,"slot":"A"|"B"|null,"received":N,"total":N,"time":UNIX}
 * S: "idle" (never), "receiving" (a session is open), "failed" (reason = an update_reason name, or
 * "health_check_failed"/"slot_damaged" after an automatic rollback, or "interrupted" when the camera
 * stopped (power cut, kill) while a session was open), "pending_reboot" (installed in the
 * inactive slot, starts at the next start), "installed" (the new slot passed its health check).
 * Caller frees *json_out. */
int update_last_result_read(const char *state_dir, char **json_out) SAFECAM_WUR;

/* ---- online check (libcurl, HTTPS only, pinned vendor CA) ----
 * The server publishes <base_url>/<model>/latest.json:
 *   {"version":STR,"security_version":N,"bundle":NAME,"size":N}   (a hint only: the bundle is verified)
 * and the bundle at <base_url>/<model>/<NAME>. */
struct update_online_opts {
    const char *base_url;           /* "https://..." only */
    const char *ca_file;            /* pinned vendor CA (PEM); the system store is never used */
    long timeout_s;                 /* whole transfer; 0 = 600 */
    long connect_timeout_s;         /* 0 = 15 */
};
struct update_online_info {
    char version[UPDATE_VERSION_MAX + 1];
    uint32_t security_version;
    char bundle[UPDATE_NAME_MAX + 1];
    uint64_t size;
    int available;                  /* 1 when newer than the active slot and not below the floor */
};
/* Fetch and check latest.json. SAFECAM_ERR_DENIED on any TLS failure (untrusted, wrong host name,
 * expired), SAFECAM_ERR_IO on other transfer errors, SAFECAM_ERR_INVAL on a malformed answer. */
int update_online_check(const char *state_dir, const struct update_online_opts *o, const char *model,
                        struct update_online_info *out) SAFECAM_WUR;
/* Download info->bundle and stream it straight into an install session. reason_out gets the refusal. */
int update_online_install(const char *state_dir, const struct update_online_opts *o,
                          const struct update_session_opts *sopts, const struct update_online_info *info,
                          enum update_reason *reason_out) SAFECAM_WUR;
/* Seconds until the next periodic check: 24 h +/- up to 1 h of random jitter (EN 303 645 5.3-4). */
long update_online_next_delay_s(void);

#endif
