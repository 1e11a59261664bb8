/* db.c — the vault's SQLite store DIR/vault.db: schema, provisioning, open/close, the transaction helpers,
 * the clock and the audit helper, and the checks of names that go into it. The leaf of lib/vault: users.c,
 * settings.c, session.c and lockout.c build on it, it calls none of them. Runs in the vault process and
 * safecam-provision only; the file is mode 0600 and holds only Argon2id hashes and SHA-256 digests of
 * session tokens. QCVN 135 G1, brute force and sessions / EN 303 645 5.1-1..5.1-5. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/seal.h"
#include "safecam/statedir.h"
#include "vault_internal.h"

#define VAULT_SCHEMA_VERSION "1"
#define VAULT_BUSY_TIMEOUT_MS 5000

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users("
    "  username TEXT PRIMARY KEY NOT NULL,"
    "  role TEXT NOT NULL CHECK(role IN ('admin','operator','viewer')),"
    "  hash TEXT NOT NULL,"
    "  password_change_required INTEGER NOT NULL DEFAULT 1,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sessions("
    "  id_hash TEXT PRIMARY KEY NOT NULL," /* hex SHA-256 of the raw 256-bit id */
    "  csrf_hash TEXT NOT NULL,"           /* hex SHA-256 of the raw 256-bit CSRF token */
    "  username TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(username);"
    "CREATE TABLE IF NOT EXISTS login_failures("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, source TEXT NOT NULL, t INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS login_failures_pair ON login_failures(account, source, t);"
    "CREATE INDEX IF NOT EXISTS login_failures_account ON login_failures(account, t);"
    "CREATE TABLE IF NOT EXISTS lockouts("
    "  account TEXT NOT NULL, source TEXT NOT NULL, locked_until INTEGER NOT NULL,"
    "  PRIMARY KEY(account, source));"
    "CREATE TABLE IF NOT EXISTS known_sources("
    "  account TEXT NOT NULL, source TEXT NOT NULL, last_success INTEGER NOT NULL,"
    "  PRIMARY KEY(account, source));"
    "CREATE TABLE IF NOT EXISTS account_ceiling("
    "  account TEXT PRIMARY KEY NOT NULL, hit_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_mark(k INTEGER PRIMARY KEY CHECK (k = 1), anchor_id INTEGER NOT NULL,"
    " anchor_prev BLOB NOT NULL, head_id INTEGER NOT NULL, head_hash BLOB NOT NULL, mac BLOB NOT NULL);"
    /* captures (capture.c): created on every open, so databases made before captures existed get it */
    "CREATE TABLE IF NOT EXISTS captures("
    "  id TEXT PRIMARY KEY NOT NULL," /* 32 lower-case hex; the file is DIR/captures/<id>.sealed */
    "  created_at INTEGER NOT NULL,"
    "  size INTEGER NOT NULL);"
    /* integration accounts (integrations.c): created on every open, so older databases get it */
    "CREATE TABLE IF NOT EXISTS integrations("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  role TEXT NOT NULL CHECK(role = 'viewer'),"
    "  secret_sealed BLOB NOT NULL," /* seal.h, label "integration:<name>", under the storage key */
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL DEFAULT 0);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '" VAULT_SCHEMA_VERSION "');";

/* ---------------- validation ---------------- */

int vault_username_valid(const char *name)
{
    if (!name)
        return 0;
    size_t n = strnlen(name, VAULT_USERNAME_MAX + 1);
    if (n < 1 || n > VAULT_USERNAME_MAX)
        return 0;
    if (name[0] < 'a' || name[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int vault_role_valid(const char *role)
{
    return role &&
           (strcmp(role, "admin") == 0 || strcmp(role, "operator") == 0 || strcmp(role, "viewer") == 0);
}

int vault_source_valid(const char *source)
{
    if (!source)
        return 0;
    size_t n = strnlen(source, VAULT_SOURCE_MAX + 1);
    if (n < 1 || n > VAULT_SOURCE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = source[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == ':' || c == '%' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int vault_hash_valid(const char *hash)
{
    return hash && strnlen(hash, VAULT_HASH_BYTES) < VAULT_HASH_BYTES && strncmp(hash, "$argon2id$", 10) == 0;
}

/* ---------------- small db helpers ---------------- */

/* Here, in the leaf, because users.c (one namespace with people) and integrations.c both ask it. */
int vault_integration_is(vault *v, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (!v || !vault_username_valid(name))
        return 0;
    if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM integrations WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}


int64_t vault_now(const vault *v)
{
    if (v && v->clock_fn)
        return v->clock_fn(v->clock_ctx);
    return safecam_time_now();
}

void vault_clock_set(vault *v, int64_t (*fn)(void *ctx), void *ctx)
{
    if (!v)
        return;
    v->clock_fn = fn;
    v->clock_ctx = ctx;
}

void vault_wsse_nonce_capacity_set(vault *v, size_t capacity)
{
    if (v && !v->wsse_nonces)
        v->wsse_nonce_capacity = capacity;
}

void vault_audit(vault *v, const char *type, const char *actor, const char *source, const char *detail)
{
    if (!v || !v->audit)
        return;
    int rc = audit_event_record(v->audit, type, actor, source, detail);
    if (rc != 0)
        log_err("audit: cannot record %s event: %s", type, safecam_err_name(rc));
}

static int db_exec_raw(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_err("vault.db: %s", err ? err : "error");
        sqlite3_free(err);
        return SAFECAM_ERR_IO;
    }
    return 0;
}

int vault_db_exec(vault *v, const char *sql)
{
    return db_exec_raw(v->db, sql);
}

int vault_db_begin(vault *v)
{
    return db_exec_raw(v->db, "BEGIN IMMEDIATE");
}

int vault_db_commit(vault *v)
{
    return db_exec_raw(v->db, "COMMIT");
}

void vault_db_rollback(vault *v)
{
    if (!sqlite3_get_autocommit(v->db))
        (void)db_exec_raw(v->db, "ROLLBACK");
}

static int db_open_path(const char *path, int create, sqlite3 **out)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        log_err("vault.db: cannot open: %s", db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return SAFECAM_ERR_IO;
    }
    sqlite3_busy_timeout(db, VAULT_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 1);
    int rc = db_exec_raw(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
                             "PRAGMA trusted_schema=OFF;");
    if (rc == 0)
        rc = db_exec_raw(db, schema_sql);
    if (rc != 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int db_path(const char *state_dir, char *out, size_t out_size)
{
    return safecam_path_join(out, out_size, state_dir, STATEDIR_VAULT_DB);
}

/* ---------------- provisioning ---------------- */

static void unlink_db_files(const char *path)
{
    char side[4200];
    (void)unlink(path);
    if (safecam_fmt(side, sizeof side, "%s-wal", path) == 0)
        (void)unlink(side);
    if (safecam_fmt(side, sizeof side, "%s-shm", path) == 0)
        (void)unlink(side);
}

int vault_store_provision(const char *state_dir, const char *username, const char *hash, int force)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    if (!state_dir || !vault_username_valid(username) || !vault_hash_valid(hash))
        return SAFECAM_ERR_INVAL;
    rc = db_path(state_dir, path, sizeof path);
    if (rc != 0)
        return rc;
    char dir[4096];
    if ((rc = safecam_path_join(dir, sizeof dir, state_dir, STATEDIR_VAULT_DIR)) != 0)
        return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_err("vault: cannot create %s: %s", STATEDIR_VAULT_DIR, strerror(errno));
        return SAFECAM_ERR_IO;
    }

    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!force) {
            /* An existing db with users is a provisioned device; an empty one may be reused. */
            rc = db_open_path(path, 0, &db);
            if (rc != 0)
                return SAFECAM_ERR_EXISTS;
            int users = 0;
            if (sqlite3_prepare_v2(db, "SELECT count(*) FROM users", -1, &st, NULL) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW)
                users = sqlite3_column_int(st, 0);
            else
                users = 1;
            sqlite3_finalize(st);
            st = NULL;
            sqlite3_close(db);
            db = NULL;
            if (users > 0)
                return SAFECAM_ERR_EXISTS;
        }
        unlink_db_files(path);
    }

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        log_err("vault.db: cannot create: %s", strerror(errno));
        return errno == EEXIST ? SAFECAM_ERR_EXISTS : SAFECAM_ERR_IO;
    }
    close(fd);

    rc = db_open_path(path, 1, &db);
    if (rc != 0)
        goto out;
    if (chmod(path, 0600) != 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO users(username, role, hash, password_change_required, created) "
                           "VALUES(?, 'admin', ?, 1, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, safecam_time_now());
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
out:
    sqlite3_finalize(st);
    if (db)
        sqlite3_close(db);
    if (rc != 0)
        unlink_db_files(path);
    return rc;
}

/* ---------------- open / close ---------------- */

/* The per-device CSRF key: created once with the store and kept in meta sealed under the storage key
 * (label "csrf_key"), never in clear: a copy of vault.db alone forges no token. CSRF tokens are derived
 * from it and the session id (session.c), so the vault can hand a reloaded page its token without
 * storing tokens. A store from before the walls kept the key in clear ('csrf_key'): it is sealed and the
 * clear row removed in one transaction, so existing sessions keep their tokens. */
static int meta_get(vault *v, const char *key, char **out)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (sqlite3_prepare_v2(v->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = SAFECAM_ERR_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *val = (const char *)sqlite3_column_text(st, 0);
        rc = val && (*out = strdup(val)) != NULL ? 0 : SAFECAM_ERR_NOMEM;
    }
    sqlite3_finalize(st);
    return rc;
}

static int csrf_key_store_sealed(vault *v, const uint8_t *storage_key)
{
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char *hex = NULL;
    sqlite3_stmt *st = NULL;
    int rc = seal_data_seal(storage_key, "csrf_key", v->csrf_key, sizeof v->csrf_key, &sealed, &sealed_len);
    if (rc != 0)
        return rc;
    rc = SAFECAM_ERR_NOMEM;
    if (!(hex = malloc(sealed_len * 2 + 1)))
        goto out;
    sodium_bin2hex(hex, sealed_len * 2 + 1, sealed, sealed_len);
    rc = SAFECAM_ERR_IO;
    if (sqlite3_exec(v->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(v->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('csrf_key_sealed', ?)", -1,
                           &st, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE ||
        sqlite3_exec(v->db, "DELETE FROM meta WHERE key = 'csrf_key'", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(st);
    free(hex);
    free(sealed);
    return rc;
}

static int csrf_key_load(vault *v, const uint8_t *storage_key)
{
    char *val = NULL;
    uint8_t *bin = NULL, *pt = NULL;
    size_t bin_len = 0, pt_len = 0;
    int rc = meta_get(v, "csrf_key_sealed", &val);
    if (rc == 0) {
        size_t n = strlen(val);
        rc = SAFECAM_ERR_NOMEM;
        if (!(bin = malloc(n / 2 + 1)))
            goto out;
        rc = SAFECAM_ERR_CRYPTO;
        if (sodium_hex2bin(bin, n / 2 + 1, val, n, NULL, &bin_len, NULL) != 0 ||
            seal_data_open(storage_key, "csrf_key", bin, bin_len, &pt, &pt_len) != 0 ||
            pt_len != sizeof v->csrf_key) {
            log_err("vault: the sealed CSRF key does not open under this device's storage key");
            goto out;
        }
        memcpy(v->csrf_key, pt, sizeof v->csrf_key);
        rc = 0;
        goto out;
    }
    if (rc != SAFECAM_ERR_NOTFOUND)
        goto out;
    rc = meta_get(v, "csrf_key", &val);
    if (rc == 0) {
        /* a store from before the walls: seal the key it already has */
        if (strlen(val) != 64 || sodium_hex2bin(v->csrf_key, sizeof v->csrf_key, val, 64, NULL, &bin_len, NULL) != 0 ||
            bin_len != sizeof v->csrf_key) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        log_info("vault: the CSRF key is now sealed under the storage key");
    } else if (rc == SAFECAM_ERR_NOTFOUND) {
        randombytes_buf(v->csrf_key, sizeof v->csrf_key);
    } else {
        goto out;
    }
    rc = csrf_key_store_sealed(v, storage_key);
out:
    if (val)
        sodium_memzero(val, strlen(val));
    free(val);
    free(bin);
    if (pt)
        sodium_free(pt);
    return rc;
}

int vault_open(const char *state_dir, audit_log *audit, const uint8_t *storage_key, vault **out)
{
    char path[4096];
    vault *v = NULL;
    int rc;

    if (!state_dir || !storage_key || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (sodium_init() < 0)
        return SAFECAM_ERR_INTERNAL;
    rc = db_path(state_dir, path, sizeof path);
    if (rc != 0)
        return rc;
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return SAFECAM_ERR_NOTFOUND;
    if (!S_ISREG(sb.st_mode))
        return SAFECAM_ERR_IO;

    v = calloc(1, sizeof *v);
    if (!v)
        return SAFECAM_ERR_NOMEM;
    v->audit = audit;
    rc = safecam_strlcpy(v->state_dir, state_dir, sizeof v->state_dir);
    if (rc != 0)
        goto out;
    if ((sb.st_mode & 0777) != 0600 && chmod(path, 0600) != 0) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    rc = db_open_path(path, 0, &v->db);
    if (rc != 0)
        goto out;
    rc = device_identity_load(state_dir, &v->device);
    if (rc != 0) {
        log_err("vault: cannot load the device identity: %s", safecam_err_name(rc));
        goto out;
    }
    v->have_device = 1;
    rc = csrf_key_load(v, storage_key);
    if (rc != 0)
        goto out;
    /* the audit chain: a failure is logged and the vault serves on (events are still recorded, unchained,
     * and the next verification reports them) */
    if (audit && vault_audit_chain_start(v, storage_key) != 0)
        log_err("vault: the audit log is not chained this run");

    /* The dummy hash answers for unknown usernames so that they cost one Argon2id verify too. */
    uint8_t rnd[32];
    char rnd_hex[65];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(rnd_hex, sizeof rnd_hex, rnd, sizeof rnd);
    rc = vault_password_hash(rnd_hex, v->dummy_hash);
    sodium_memzero(rnd, sizeof rnd);
    sodium_memzero(rnd_hex, sizeof rnd_hex);
    if (rc != 0)
        goto out;
    *out = v;
    v = NULL;
out:
    vault_close(v);
    return rc;
}

void vault_close(vault *v)
{
    if (!v)
        return;
    if (v->db)
        sqlite3_close(v->db);
    wsse_nonce_cache_free(v->wsse_nonces);
    sodium_memzero(v, sizeof *v);
    free(v);
}

