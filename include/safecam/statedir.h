/* statedir.h — the layout of a camera's state directory (--state-dir). One place for every name.
 *
 *   DIR/factory/            written once by safecam-provision; survives factory reset
 *       device.json         {"serial","model","mac","product","provisioned_at"} (public identity)
 *       storage.key         32 random bytes, mode 0600: the device storage key. Stand-in for an OTP
 *                           fuse or secure element on a real SoC (docs/THREAT-MODEL.md).
 *       tls.crt             device TLS certificate (PEM, ECDSA P-256), public
 *       tls.key.sealed      device TLS private key (PEM) sealed under storage.key (seal.h)
 *       initial_admin.json  {"username","hash"}: Argon2id hash of the label password, for factory reset
 *   DIR/vault/              the vault's own directory (user safecam-vault, 0700 when run as root)
 *       vault.db            users, sessions (hashed IDs), lockout counters, security settings, the sealed
 *                           CSRF key (SQLite)
 *       audit.db            audit log (SQLite; the supervisor writes to it too)
 *   DIR/config.json         non-secret settings (stream, services), atomic writes + config.json.last-good
 *   DIR/captures/           stored snapshots, each <id>.sealed under storage.key (vault); gone at factory reset
 *   DIR/run/                runtime files (pid, sockets), 0700
 *   DIR/media-cache/        the media process's GStreamer registry (user safecam-media)
 *   DIR/link/               the link process's own directory (user safecam-link, 0700): the admin's CA files for
 *                           the linked services (public), state.json (names uploaded, topics used). No secret.
 * Cameras provisioned before the walls kept vault.db and audit.db in DIR itself; the supervisor moves
 * them into DIR/vault/ at its first start (statedir_walls_apply).
 *   DIR/factory-reset.pending   present while a factory reset runs; the next start finishes it
 */
#ifndef SAFECAM_STATEDIR_H
#define SAFECAM_STATEDIR_H

#define STATEDIR_FACTORY "factory"
#define STATEDIR_DEVICE_JSON "factory/device.json"
#define STATEDIR_STORAGE_KEY "factory/storage.key"
#define STATEDIR_TLS_CERT "factory/tls.crt"
#define STATEDIR_TLS_KEY_SEALED "factory/tls.key.sealed"
#define STATEDIR_INITIAL_ADMIN "factory/initial_admin.json"
#define STATEDIR_VAULT_DIR "vault"
#define STATEDIR_VAULT_DB "vault/vault.db"
#define STATEDIR_AUDIT_DB "vault/audit.db"
#define STATEDIR_LEGACY_VAULT_DB "vault.db" /* before the walls: migrated into DIR/vault/ */
#define STATEDIR_LEGACY_AUDIT_DB "audit.db"
#define STATEDIR_MEDIA_CACHE "media-cache"
#define STATEDIR_LINK "link" /* safecam-link's own directory (docs/linked-services.md) */
/* Outside the state directory: the media process's memory-backed scratch directory, set as its XDG_RUNTIME_DIR.
 * ORC makes the file it maps its generated code from there; on a full state disk, touching that mapping faulted
 * with SIGBUS. Its own Landlock rule in lib/supervisor/child_table.c. */
#define MEDIA_SCRATCH_DIR "/dev/shm"
#define STATEDIR_CONFIG "config.json"
#define STATEDIR_CAPTURES "captures"
#define STATEDIR_RECORDINGS "recordings" /* sealed recording segments and their index (media) */
#define STATEDIR_RESET_PENDING "factory-reset.pending" /* a factory reset in progress (vault_factory_reset) */
#define STATEDIR_RUN "run"

#define SAFECAM_PRODUCT_NAME "safecam"
#define SAFECAM_ADMIN_USER "admin"

#endif
