/* settings.c — the vault's tunable security settings in vault.db (lockout, session timeouts, password
 * length), each with its range and default; changes are all-or-nothing and audited. Runs in the vault
 * process. QCVN 135 G1 / EN 303 645 5.1-5. */
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

