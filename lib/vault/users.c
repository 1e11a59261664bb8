/* users.c — the vault's user accounts in vault.db: look-up, list, create (password policy), role change,
 * delete (with the account's sessions and lockout counters), new hash. Runs in the vault process; the
 * caller (vault_service) has checked that the actor is an admin. QCVN 135 G1 / EN 303 645 5.1-1..5.1-4. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safecam/statedir.h"
#include "vault_internal.h"

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
    if (!vault_hash_valid(hash))
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
    if (rc == 0 || vault_integration_is(v, username)) /* one namespace with integration accounts */
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

