/* store.c — the vault's SQLite store DIR/vault.db (users, sessions, lockout counters, settings):
 * provisioning, open/close, users and settings. Runs in the vault process and safecam-provision only;
 * the file is mode 0600 and holds only Argon2id hashes and SHA-256 digests of session tokens.
 * QCVN 135 G1, brute force and sessions / EN 303 645 5.1-1..5.1-5. */
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
    /* captures (capture.c): created on every open, so databases made before captures existed get it */
    "CREATE TABLE IF NOT EXISTS captures("
    "  id TEXT PRIMARY KEY NOT NULL," /* 32 lower-case hex; the file is DIR/captures/<id>.sealed */
    "  created_at INTEGER NOT NULL,"
    "  size INTEGER NOT NULL);"
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

static int hash_valid(const char *hash)
{
    return hash && strnlen(hash, VAULT_HASH_BYTES) < VAULT_HASH_BYTES && strncmp(hash, "$argon2id$", 10) == 0;
}

/* ---------------- small db helpers ---------------- */

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

    if (!state_dir || !vault_username_valid(username) || !hash_valid(hash))
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
    sodium_memzero(v, sizeof *v);
    free(v);
}

/* ---------------- users ---------------- */

int vault_user_get(vault *v, const char *username, char hash[VAULT_HASH_BYTES], char role[VAULT_ROLE_MAX],
                   int *pcr)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(v->db, "SELECT hash, role, password_change_required FROM users WHERE username = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        rc = SAFECAM_ERR_NOTFOUND;
        goto out;
    }
    if (s != SQLITE_ROW) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    const char *h = (const char *)sqlite3_column_text(st, 0);
    const char *r = (const char *)sqlite3_column_text(st, 1);
    rc = 0;
    if (hash)
        rc = safecam_strlcpy(hash, h ? h : "", VAULT_HASH_BYTES);
    if (rc == 0 && role)
        rc = safecam_strlcpy(role, r ? r : "", VAULT_ROLE_MAX);
    if (pcr)
        *pcr = sqlite3_column_int(st, 2) != 0;
out:
    sqlite3_finalize(st);
    return rc;
}

int vault_user_set_hash(vault *v, const char *username, const char *hash, int pcr)
{
    sqlite3_stmt *st = NULL;
    if (!hash_valid(hash))
        return SAFECAM_ERR_INVAL;
    if (sqlite3_prepare_v2(v->db,
                           "UPDATE users SET hash = ?, password_change_required = ? WHERE username = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, pcr ? 1 : 0);
    sqlite3_bind_text(st, 3, username, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    if (rc == 0 && sqlite3_changes(v->db) != 1)
        rc = SAFECAM_ERR_NOTFOUND;
    sqlite3_finalize(st);
    return rc;
}

int vault_user_list(vault *v, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = NULL;
    int rc = 0, s;
    if (!v || !out)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    if (sqlite3_prepare_v2(v->db,
                           "SELECT username, role, password_change_required FROM users ORDER BY username", -1,
                           &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    arr = json_array();
    if (!arr) {
        rc = SAFECAM_ERR_NOMEM;
        goto out;
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *u = json_pack("{s:s, s:s, s:b}", "username", (const char *)sqlite3_column_text(st, 0), "role",
                              (const char *)sqlite3_column_text(st, 1), "password_change_required",
                              sqlite3_column_int(st, 2) != 0);
        if (!u || json_array_append_new(arr, u) != 0) {
            rc = SAFECAM_ERR_NOMEM;
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    sqlite3_finalize(st);
    return rc;
}

static int count_query(vault *v, const char *sql, long *n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->db, sql, -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    int rc = SAFECAM_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int count_admins(vault *v, long *n)
{
    return count_query(v, "SELECT count(*) FROM users WHERE role = 'admin'", n);
}

static int count_users(vault *v, long *n)
{
    return count_query(v, "SELECT count(*) FROM users", n);
}

/* Run the password policy with the device identity as context (declared in vault_internal.h). */
int vault_policy_check(vault *v, const char *username, const char *password,
                       const char *reasons[PASSWORD_REASONS_MAX + 1], size_t *n_reasons)
{
    struct vault_settings s;
    int rc = vault_settings_get(v, &s);
    if (rc != 0)
        return rc;
    struct password_policy pol = {.min_length = (unsigned)s.password_min_length};
    struct password_context ctx = {
        .username = username,
        .serial = v->have_device ? v->device.serial : NULL,
        .mac = v->have_device ? v->device.mac : NULL,
        .model = v->have_device ? v->device.model : NULL,
        .product = v->have_device && v->device.product[0] ? v->device.product : SAFECAM_PRODUCT_NAME,
    };
    *n_reasons = 0;
    rc = password_policy_check(&pol, &ctx, password, reasons, n_reasons);
    if (*n_reasons > PASSWORD_REASONS_MAX)
        *n_reasons = PASSWORD_REASONS_MAX;
    reasons[*n_reasons] = NULL;
    if (rc == SAFECAM_ERR_POLICY && *n_reasons == 0) {
        reasons[0] = "policy";
        reasons[1] = NULL;
        *n_reasons = 1;
    }
    return rc;
}

int vault_user_create(vault *v, const char *username, const char *password, const char *role,
                      const char *actor, const char *reasons[PASSWORD_REASONS_MAX + 1], size_t *n_reasons)
{
    char hash[VAULT_HASH_BYTES];
    sqlite3_stmt *st = NULL;
    int rc;
    if (!v || !password || !reasons || !n_reasons)
        return SAFECAM_ERR_INVAL;
    *n_reasons = 0;
    reasons[0] = NULL;
    if (!vault_username_valid(username))
        return SAFECAM_ERR_INVAL;
    if (!vault_role_valid(role))
        return SAFECAM_ERR_STATE;
    rc = vault_user_get(v, username, NULL, NULL, NULL);
    if (rc == 0)
        return SAFECAM_ERR_EXISTS;
    if (rc != SAFECAM_ERR_NOTFOUND)
        return rc;
    long users = 0;
    rc = count_users(v, &users);
    if (rc != 0)
        return rc;
    if (users >= VAULT_USERS_MAX)
        return SAFECAM_ERR_TOOBIG;
    rc = vault_policy_check(v, username, password, reasons, n_reasons);
    if (rc != 0)
        return rc;
    rc = vault_password_hash(password, hash);
    if (rc != 0)
        goto out;
    if (sqlite3_prepare_v2(v->db,
                           "INSERT INTO users(username, role, hash, password_change_required, created) "
                           "VALUES(?, ?, ?, 1, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, vault_now(v));
    int s = sqlite3_step(st);
    if (s == SQLITE_CONSTRAINT_PRIMARYKEY || s == SQLITE_CONSTRAINT) {
        rc = SAFECAM_ERR_EXISTS;
        goto out;
    }
    rc = s == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    if (rc == 0) {
        /* A new account starts with a clean slate (failures counted under this name while unknown). */
        if (lockout_forget_account(v, username) != 0)
            log_warn("vault: cannot clear old lockout rows of a new user");
        char detail[64];
        if (safecam_fmt(detail, sizeof detail, "user=%s role=%s", username, role) != 0)
            detail[0] = '\0';
        vault_audit(v, AUDIT_USER_CREATE, actor, NULL, detail);
    }
out:
    sqlite3_finalize(st);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int vault_user_update(vault *v, const char *username, const char *role, const char *actor)
{
    char old_role[VAULT_ROLE_MAX];
    sqlite3_stmt *st = NULL;
    long admins = 0;
    int rc;
    if (!v || !username)
        return SAFECAM_ERR_INVAL;
    if (!vault_role_valid(role))
        return SAFECAM_ERR_STATE;
    rc = vault_db_begin(v);
    if (rc != 0)
        return rc;
    rc = vault_user_get(v, username, NULL, old_role, NULL);
    if (rc != 0)
        goto out;
    if (strcmp(old_role, "admin") == 0 && strcmp(role, "admin") != 0) {
        rc = count_admins(v, &admins);
        if (rc != 0)
            goto out;
        if (admins <= 1) {
            rc = SAFECAM_ERR_DENIED;
            goto out;
        }
    }
    if (sqlite3_prepare_v2(v->db, "UPDATE users SET role = ? WHERE username = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, username, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    if (rc == 0)
        rc = vault_db_commit(v);
out:
    sqlite3_finalize(st);
    if (rc != 0) {
        vault_db_rollback(v);
        return rc;
    }
    char detail[80];
    if (safecam_fmt(detail, sizeof detail, "user=%s role=%s->%s", username, old_role, role) != 0)
        detail[0] = '\0';
    vault_audit(v, AUDIT_USER_UPDATE, actor, NULL, detail);
    return 0;
}

int vault_user_delete(vault *v, const char *username, const char *actor)
{
    char role[VAULT_ROLE_MAX];
    sqlite3_stmt *st = NULL;
    long admins = 0;
    int rc;
    if (!v || !username)
        return SAFECAM_ERR_INVAL;
    rc = vault_user_get(v, username, NULL, role, NULL);
    if (rc != 0)
        return rc;
    if (strcmp(role, "admin") == 0) {
        rc = count_admins(v, &admins);
        if (rc != 0)
            return rc;
        if (admins <= 1)
            return SAFECAM_ERR_DENIED;
    }
    rc = session_end_user(v, username, NULL, "user_deleted");
    if (rc != 0)
        return rc;
    rc = vault_db_begin(v);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(v->db, "DELETE FROM users WHERE username = ?", -1, &st, NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : SAFECAM_ERR_IO;
    if (rc == 0)
        rc = lockout_forget_account(v, username);
    if (rc == 0)
        rc = vault_db_commit(v);
out:
    sqlite3_finalize(st);
    if (rc != 0) {
        vault_db_rollback(v);
        return rc;
    }
    char detail[64];
    if (safecam_fmt(detail, sizeof detail, "user=%s", username) != 0)
        detail[0] = '\0';
    vault_audit(v, AUDIT_USER_DELETE, actor, NULL, detail);
    return 0;
}

/* ---------------- settings ---------------- */

struct setting_def {
    const char *name;
    size_t offset;
    long min, max, def;
};

#define SETTING(n, lo, hi, d)                                                                                \
    {                                                                                                        \
#n, offsetof(struct vault_settings, n), lo, hi, d                                                    \
    }
static const struct setting_def setting_defs[] = {
    SETTING(lockout_threshold, 3, 20, 5),
    SETTING(lockout_window_s, 10, 3600, 30),
    SETTING(lockout_duration_s, 60, 86400, 300),
    SETTING(account_hourly_limit, 10, 10000, 100),
    SETTING(session_idle_s, 60, 86400, 900),
    SETTING(session_absolute_s, 300, 604800, 28800),
    SETTING(password_min_length, PASSWORD_MIN_LENGTH_FLOOR, PASSWORD_MIN_LENGTH_CEIL, 8),
};
#undef SETTING

static long *setting_field(struct vault_settings *s, const struct setting_def *d)
{
    return (long *)(void *)((char *)s + d->offset);
}

static const struct setting_def *setting_find(const char *name)
{
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(setting_defs); i++)
        if (strcmp(setting_defs[i].name, name) == 0)
            return &setting_defs[i];
    return NULL;
}

int vault_settings_get(vault *v, struct vault_settings *out)
{
    sqlite3_stmt *st = NULL;
    int s;
    if (!v || !out)
        return SAFECAM_ERR_INVAL;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(setting_defs); i++)
        *setting_field(out, &setting_defs[i]) = setting_defs[i].def;
    if (sqlite3_prepare_v2(v->db, "SELECT name, value FROM settings", -1, &st, NULL) != SQLITE_OK)
        return SAFECAM_ERR_IO;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const struct setting_def *d = name ? setting_find(name) : NULL;
        long val = (long)sqlite3_column_int64(st, 1);
        /* A stored value out of range (tampering, old version) falls back to the default: fail safe. */
        if (d && val >= d->min && val <= d->max)
            *setting_field(out, d) = val;
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return SAFECAM_ERR_IO;
    if (out->session_idle_s > out->session_absolute_s)
        out->session_idle_s = out->session_absolute_s;
    return 0;
}

int vault_settings_to_json(const struct vault_settings *s, json_t **out)
{
    if (!s || !out)
        return SAFECAM_ERR_INVAL;
    json_t *o = json_object();
    if (!o)
        return SAFECAM_ERR_NOMEM;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(setting_defs); i++) {
        long val = *setting_field((struct vault_settings *)(uintptr_t)s, &setting_defs[i]);
        if (json_object_set_new(o, setting_defs[i].name, json_integer(val)) != 0) {
            json_decref(o);
            return SAFECAM_ERR_NOMEM;
        }
    }
    *out = o;
    return 0;
}

int vault_settings_set_json(vault *v, const json_t *subset, const char *actor, const char **bad_field,
                            long *min, long *max)
{
    struct vault_settings cur;
    sqlite3_stmt *st = NULL;
    const char *key;
    json_t *val;
    char detail[AUDIT_DETAIL_MAX_BYTES];
    size_t dlen = 0;
    int rc;

    if (!v || !json_is_object(subset) || !bad_field || !min || !max)
        return SAFECAM_ERR_INVAL;
    *bad_field = NULL;
    rc = vault_settings_get(v, &cur);
    if (rc != 0)
        return rc;
    /* Validate everything first: all or nothing. */
    json_object_foreach((json_t *)(uintptr_t)subset, key, val)
    {
        const struct setting_def *d = setting_find(key);
        if (!d) {
            *bad_field = key;
            return SAFECAM_ERR_NOTFOUND;
        }
        if (!json_is_integer(val) || json_integer_value(val) < d->min || json_integer_value(val) > d->max) {
            *bad_field = d->name;
            *min = d->min;
            *max = d->max;
            return SAFECAM_ERR_INVAL;
        }
        *setting_field(&cur, d) = (long)json_integer_value(val);
    }
    if (cur.session_idle_s > cur.session_absolute_s) {
        const struct setting_def *d = json_object_get(subset, "session_idle_s")
                                          ? setting_find("session_idle_s")
                                          : setting_find("session_absolute_s");
        *bad_field = d->name;
        if (strcmp(d->name, "session_idle_s") == 0) {
            *min = d->min;
            *max = cur.session_absolute_s;
        } else {
            *min = cur.session_idle_s > d->min ? cur.session_idle_s : d->min;
            *max = d->max;
        }
        return SAFECAM_ERR_INVAL;
    }
    if (json_object_size(subset) == 0)
        return 0;
    rc = vault_db_begin(v);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(v->db, "INSERT OR REPLACE INTO settings(name, value) VALUES(?, ?)", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = SAFECAM_ERR_IO;
        goto out;
    }
    detail[0] = '\0';
    json_object_foreach((json_t *)(uintptr_t)subset, key, val)
    {
        const struct setting_def *d = setting_find(key);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, json_integer_value(val));
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = SAFECAM_ERR_IO;
            goto out;
        }
        int n = snprintf(detail + dlen, sizeof detail - dlen, "%s%s=%lld", dlen ? " " : "", d->name,
                         (long long)json_integer_value(val));
        if (n > 0 && (size_t)n < sizeof detail - dlen)
            dlen += (size_t)n;
    }
    rc = vault_db_commit(v);
out:
    sqlite3_finalize(st);
    if (rc != 0) {
        vault_db_rollback(v);
        return rc;
    }
    vault_audit(v, AUDIT_CONFIG_CHANGE, actor, NULL, detail);
    return 0;
}
