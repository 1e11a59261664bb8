/* config.c — typed configuration with ranges, strict JSON, atomic save and last-known-good fallback.
 * Runs in the supervisor; the input it validates may come from the web process (untrusted). */
#include "safecam/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safecam/statedir.h"

struct int_field {
    const char *name;
    size_t offset;
    long min;
    long max;
    int even;
};

static const struct int_field stream_fields[] = {
    {"width", offsetof(struct config_stream, width), 160, 1920, 1},
    {"height", offsetof(struct config_stream, height), 120, 1080, 1},
    {"fps", offsetof(struct config_stream, fps), 1, 30, 0},
    {"bitrate_kbps", offsetof(struct config_stream, bitrate_kbps), 100, 8000, 0},
    {"keyframe_interval_s", offsetof(struct config_stream, keyframe_interval_s), 1, 10, 0},
};

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stream.width = 1280;
    cfg->stream.height = 720;
    cfg->stream.fps = 25;
    cfg->stream.bitrate_kbps = 2000;
    cfg->stream.keyframe_interval_s = 1;
    cfg->stream.sub_enabled = 1;
    cfg->update.online_enabled = 0;
    cfg->update.auto_install = 0;
    cfg->update.check_interval_s = CONFIG_UPDATE_INTERVAL_DEFAULT_S;
    cfg->update.max_bundle_bytes = CONFIG_UPDATE_MAX_BUNDLE_MAX;
    memcpy(cfg->privacy.data_location, "device_only", sizeof "device_only");
    cfg->recording.mode = CONFIG_RECORDING_OFF;
    cfg->recording.segment_seconds = 60;
    cfg->recording.retention_days = 30;
    cfg->recording.max_bytes = 0;
    cfg->recording.pre_roll_s = 5;
    cfg->recording.post_roll_s = 10;
    cfg->recording.motion_sensitivity = CONFIG_RECORDING_SENSITIVITY_DEFAULT;
}

const char *config_encoder_name(int encoder)
{
    switch (encoder) {
    case CONFIG_ENCODER_X264:
        return "x264";
    case CONFIG_ENCODER_V4L2:
        return "v4l2h264enc";
    }
    return NULL;
}

int config_encoder_parse(const char *name)
{
    if (!name)
        return -1;
    for (int e = CONFIG_ENCODER_X264; e <= CONFIG_ENCODER_V4L2; e++)
        if (strcmp(name, config_encoder_name(e)) == 0)
            return e;
    return -1;
}

static void set_err(struct config_error *err, const char *code, const char *field, long min, long max)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    if (safecam_strlcpy(err->code, code, sizeof err->code) != 0)
        err->code[0] = '\0';
    if (field && safecam_strlcpy(err->field, field, sizeof err->field) != 0)
        err->field[0] = '\0';
    err->min = min;
    err->max = max;
}

int config_stream_apply_json(struct config_stream *stream, const json_t *obj, struct config_error *err)
{
    if (!stream || !json_is_object(obj)) {
        set_err(err, "invalid_json", NULL, 0, 0);
        return SAFECAM_ERR_INVAL;
    }
    struct config_stream next = *stream;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (strcmp(key, "sub_enabled") == 0) {
            if (!json_is_boolean(val)) {
                set_err(err, "invalid_setting", key, 0, 1);
                return SAFECAM_ERR_INVAL;
            }
            next.sub_enabled = json_is_true(val);
            continue;
        }
        if (strcmp(key, "encoder") == 0) {
            int e = json_is_string(val) ? config_encoder_parse(json_string_value(val)) : -1;
            if (e < 0) {
                set_err(err, "invalid_setting", key, 0, 0);
                return SAFECAM_ERR_INVAL;
            }
            next.encoder = e;
            continue;
        }
        const struct int_field *f = NULL;
        for (size_t i = 0; i < SAFECAM_ARRAY_LEN(stream_fields); i++)
            if (strcmp(key, stream_fields[i].name) == 0)
                f = &stream_fields[i];
        if (!f) {
            set_err(err, "unknown_field", key, 0, 0);
            return SAFECAM_ERR_INVAL;
        }
        if (!json_is_integer(val) || json_integer_value(val) < f->min || json_integer_value(val) > f->max ||
            (f->even && (json_integer_value(val) % 2) != 0)) {
            set_err(err, "invalid_setting", key, f->min, f->max);
            /* Say the rule that was broken: an odd width inside 160..1920 is refused for being odd. */
            int in_range = json_is_integer(val) && json_integer_value(val) >= f->min &&
                                     json_integer_value(val) <= f->max;
            if (err && safecam_strlcpy(err->rule, in_range ? "even" : "range", sizeof err->rule) != 0)
                err->rule[0] = '\0';
            return SAFECAM_ERR_INVAL;
        }
        *(int *)((char *)&next + f->offset) = (int)json_integer_value(val);
    }
    *stream = next;
    return 0;
}

json_t *config_stream_to_json(const struct config_stream *s)
{
    const char *enc = config_encoder_name(s->encoder);
    return json_pack("{s:i,s:i,s:i,s:i,s:i,s:b,s:s}", "width", s->width, "height", s->height, "fps", s->fps,
                     "bitrate_kbps", s->bitrate_kbps, "keyframe_interval_s", s->keyframe_interval_s,
                     "sub_enabled", s->sub_enabled, "encoder", enc ? enc : "x264");
}

/* "https://" + printable ASCII without spaces, quotes or backslashes. */
static int update_url_valid(const char *s)
{
    size_t n = strlen(s);
    if (n <= 8 || n >= CONFIG_UPDATE_URL_MAX || strncmp(s, "https://", 8) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '#' || c == '?')
            return 0;
    }
    return 1;
}

/* Absolute, printable, no "." / ".." segment, no empty segment. */
static int update_path_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n >= CONFIG_UPDATE_PATH_MAX || s[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            return 0;
        if (c == '/') {
            const char *seg = s + i + 1;
            if (*seg == '/' || *seg == '\0' || strncmp(seg, "./", 2) == 0 || strcmp(seg, ".") == 0 ||
                strncmp(seg, "../", 3) == 0 || strcmp(seg, "..") == 0)
                return 0;
        }
    }
    return 1;
}

int config_update_apply_json(struct config_update *u, const json_t *obj, struct config_error *err)
{
    if (!u || !json_is_object(obj)) {
        set_err(err, "invalid_json", NULL, 0, 0);
        return SAFECAM_ERR_INVAL;
    }
    struct config_update next = *u;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (strcmp(key, "online_enabled") == 0 || strcmp(key, "auto_install") == 0) {
            if (!json_is_boolean(val)) {
                set_err(err, "invalid_setting", key, 0, 1);
                return SAFECAM_ERR_INVAL;
            }
            *(key[0] == 'o' ? &next.online_enabled : &next.auto_install) = json_is_true(val);
        } else if (strcmp(key, "server_url") == 0 || strcmp(key, "ca_file") == 0) {
            int url = key[0] == 's';
            const char *v = json_is_string(val) ? json_string_value(val) : NULL;
            if (!v || (v[0] && !(url ? update_url_valid(v) : update_path_valid(v))) ||
                safecam_strlcpy(url ? next.server_url : next.ca_file, v,
                                url ? sizeof next.server_url : sizeof next.ca_file) != 0) {
                set_err(err, "invalid_setting", key, 0, 0);
                return SAFECAM_ERR_INVAL;
            }
        } else if (strcmp(key, "check_interval_s") == 0 || strcmp(key, "max_bundle_bytes") == 0) {
            int iv = key[0] == 'c';
            long min = iv ? CONFIG_UPDATE_INTERVAL_MIN_S : CONFIG_UPDATE_MAX_BUNDLE_MIN;
            long max = iv ? CONFIG_UPDATE_INTERVAL_MAX_S : CONFIG_UPDATE_MAX_BUNDLE_MAX;
            if (!json_is_integer(val) || json_integer_value(val) < min || json_integer_value(val) > max) {
                set_err(err, "invalid_setting", key, min, max);
                return SAFECAM_ERR_INVAL;
            }
            *(iv ? &next.check_interval_s : &next.max_bundle_bytes) = (long)json_integer_value(val);
        } else {
            set_err(err, "unknown_field", key, 0, 0);
            return SAFECAM_ERR_INVAL;
        }
    }
    if (next.online_enabled && !next.server_url[0]) {
        set_err(err, "invalid_setting", "server_url", 0, 0);
        return SAFECAM_ERR_INVAL;
    }
    *u = next;
    return 0;
}

json_t *config_update_to_json(const struct config_update *u)
{
    return json_pack("{s:b,s:s,s:s,s:b,s:I,s:I}", "online_enabled", u->online_enabled, "server_url", u->server_url,
                     "ca_file", u->ca_file, "auto_install", u->auto_install, "check_interval_s",
                     (json_int_t)u->check_interval_s, "max_bundle_bytes", (json_int_t)u->max_bundle_bytes);
}

int config_privacy_apply_json(struct config_privacy *privacy, const json_t *obj, long long now,
                              struct config_error *err)
{
    if (!privacy || !json_is_object(obj)) {
        set_err(err, "invalid_json", NULL, 0, 0);
        return SAFECAM_ERR_INVAL;
    }
    struct config_privacy next = *privacy;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (strcmp(key, "acknowledged") == 0) {
            if (!json_is_boolean(val)) {
                set_err(err, "invalid_setting", key, 0, 1);
                return SAFECAM_ERR_INVAL;
            }
            if (json_is_true(val) && !next.acknowledged)
                next.acknowledged_at = now;
            if (!json_is_true(val))
                next.acknowledged_at = 0;
            next.acknowledged = json_is_true(val);
        } else if (strcmp(key, "data_location") == 0) {
            const char *v = json_string_value(val);
            if (!v || (strcmp(v, "device_only") != 0 && strcmp(v, "vietnam") != 0)) {
                set_err(err, "invalid_setting", key, 0, 0);
                return SAFECAM_ERR_INVAL;
            }
            if (safecam_strlcpy(next.data_location, v, sizeof next.data_location) != 0)
                return SAFECAM_ERR_INVAL;
        } else if (strcmp(key, "acknowledged_at") == 0 && json_is_integer(val) && json_integer_value(val) >= 0) {
            /* accepted only from the stored file (the API never sends it: see the supervisor) */
            next.acknowledged_at = (long long)json_integer_value(val);
        } else {
            set_err(err, "unknown_field", key, 0, 0);
            return SAFECAM_ERR_INVAL;
        }
    }
    *privacy = next;
    return 0;
}

int config_onvif_apply_json(struct config_onvif *o, const json_t *obj, struct config_error *err)
{
    memset(err, 0, sizeof(*err));
    if (!o || !json_is_object(obj)) {
        memcpy(err->code, "invalid_json", sizeof "invalid_json");
        return SAFECAM_ERR_INVAL;
    }
    struct config_onvif next = *o;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        int *slot = strcmp(key, "enabled") == 0 ? &next.enabled : strcmp(key, "discovery") == 0 ? &next.discovery : NULL;
        if (!slot) {
            memcpy(err->code, "unknown_field", sizeof "unknown_field");
            if (safecam_strlcpy(err->field, key, sizeof err->field) != 0)
                err->field[0] = '\0';
            return SAFECAM_ERR_INVAL;
        }
        if (!json_is_boolean(val)) {
            memcpy(err->code, "invalid_setting", sizeof "invalid_setting");
            if (safecam_strlcpy(err->field, key, sizeof err->field) != 0)
                err->field[0] = '\0';
            return SAFECAM_ERR_INVAL;
        }
        *slot = json_is_true(val);
    }
    *o = next;
    return 0;
}

json_t *config_onvif_to_json(const struct config_onvif *o)
{
    return json_pack("{s:b,s:b}", "enabled", o->enabled, "discovery", o->discovery);
}

json_t *config_privacy_to_json(const struct config_privacy *p)
{
    return json_pack("{s:b,s:I,s:s}", "acknowledged", p->acknowledged, "acknowledged_at",
                     (json_int_t)p->acknowledged_at, "data_location", p->data_location);
}

const char *config_recording_mode_name(int mode)
{
    return mode == CONFIG_RECORDING_CONTINUOUS ? "continuous" : mode == CONFIG_RECORDING_EVENTS ? "events" : "off";
}

int config_recording_apply_json(struct config_recording *rec, const json_t *obj, struct config_error *err)
{
    static const struct {
        const char *name;
        long long min, max;
    } ranges[] = {
        {"segment_seconds", CONFIG_RECORDING_SEGMENT_MIN_S, CONFIG_RECORDING_SEGMENT_MAX_S},
        {"retention_days", 0, CONFIG_RECORDING_RETENTION_MAX_DAYS},
        {"max_bytes", 0, CONFIG_RECORDING_MAX_BYTES_MAX},
        {"pre_roll_s", 0, 60},
        {"post_roll_s", 0, 600},
        {"motion_sensitivity", CONFIG_RECORDING_SENSITIVITY_MIN, CONFIG_RECORDING_SENSITIVITY_MAX},
    };
    if (!rec || !json_is_object(obj)) {
        set_err(err, "invalid_json", NULL, 0, 0);
        return SAFECAM_ERR_INVAL;
    }
    struct config_recording next = *rec;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (strcmp(key, "mode") == 0) {
            const char *v = json_string_value(val);
            int m = !v ? -1
                    : strcmp(v, "off") == 0        ? CONFIG_RECORDING_OFF
                    : strcmp(v, "continuous") == 0 ? CONFIG_RECORDING_CONTINUOUS
                    : strcmp(v, "events") == 0     ? CONFIG_RECORDING_EVENTS
                                                   : -1;
            if (m < 0) {
                set_err(err, "invalid_setting", key, 0, 0);
                return SAFECAM_ERR_INVAL;
            }
            next.mode = m;
            continue;
        }
        size_t i = 0;
        while (i < SAFECAM_ARRAY_LEN(ranges) && strcmp(key, ranges[i].name) != 0)
            i++;
        if (i == SAFECAM_ARRAY_LEN(ranges)) {
            set_err(err, "unknown_field", key, 0, 0);
            return SAFECAM_ERR_INVAL;
        }
        long long v = json_is_integer(val) ? (long long)json_integer_value(val) : -1;
        int bad = !json_is_integer(val) || v < ranges[i].min || v > ranges[i].max;
        if (!bad && i == 2 && v != 0 && v < CONFIG_RECORDING_MAX_BYTES_MIN)
            bad = 1;
        if (bad) {
            set_err(err, "invalid_setting", key, (long)(i == 2 ? CONFIG_RECORDING_MAX_BYTES_MIN : ranges[i].min),
                    (long)ranges[i].max);
            return SAFECAM_ERR_INVAL;
        }
        switch (i) {
        case 0:
            next.segment_seconds = (int)v;
            break;
        case 1:
            next.retention_days = (int)v;
            break;
        case 2:
            next.max_bytes = v;
            break;
        case 3:
            next.pre_roll_s = (int)v;
            break;
        case 4:
            next.post_roll_s = (int)v;
            break;
        default:
            next.motion_sensitivity = (int)v;
            break;
        }
    }
    *rec = next;
    return 0;
}

json_t *config_recording_to_json(const struct config_recording *r)
{
    return json_pack("{s:s,s:i,s:i,s:I,s:i,s:i,s:i}", "mode", config_recording_mode_name(r->mode),
                     "segment_seconds", r->segment_seconds, "retention_days", r->retention_days, "max_bytes",
                     (json_int_t)r->max_bytes, "pre_roll_s", r->pre_roll_s, "post_roll_s", r->post_roll_s,
                     "motion_sensitivity", r->motion_sensitivity);
}

static int config_parse_text(const char *text, size_t len, struct config *cfg)
{
    json_error_t jerr;
    if (!safecam_utf8_valid(text, len))
        return SAFECAM_ERR_INVAL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return SAFECAM_ERR_INVAL;
    int rc = SAFECAM_ERR_INVAL;
    struct config next;
    config_defaults(&next);
    const char *key;
    json_t *val;
    if (!json_is_object(root))
        goto out;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "version") == 0) {
            if (!json_is_integer(val) || json_integer_value(val) != 1)
                goto out;
        } else if (strcmp(key, "stream") == 0) {
            struct config_error e;
            if (config_stream_apply_json(&next.stream, val, &e) != 0)
                goto out;
        } else if (strcmp(key, "update") == 0) {
            struct config_error e;
            if (config_update_apply_json(&next.update, val, &e) != 0)
                goto out;
        } else if (strcmp(key, "privacy") == 0) {
            struct config_error e;
            if (config_privacy_apply_json(&next.privacy, val, 0, &e) != 0)
                goto out;
        } else if (strcmp(key, "onvif") == 0) {
            struct config_error e;
            if (config_onvif_apply_json(&next.onvif, val, &e) != 0)
                goto out;
        } else if (strcmp(key, "recording") == 0) {
            struct config_error e;
            if (config_recording_apply_json(&next.recording, val, &e) != 0)
                goto out;
        } else {
            goto out;
        }
    }
    *cfg = next;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int config_load_file(const char *path, struct config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    int rc = safecam_file_read(path, CONFIG_MAX_BYTES, &text, &len);
    if (rc != 0)
        return rc;
    rc = config_parse_text(text, len, cfg);
    free(text);
    return rc;
}

int config_load(const char *state_dir, struct config *cfg)
{
    char path[PATH_MAX], good[PATH_MAX];
    config_defaults(cfg);
    if (safecam_path_join(path, sizeof path, state_dir, STATEDIR_CONFIG) != 0 ||
        safecam_fmt(good, sizeof good, "%s.last-good", path) != 0)
        return SAFECAM_ERR_TOOBIG;
    int rc = config_load_file(path, cfg);
    if (rc == 0)
        return 0;
    int rc2 = config_load_file(good, cfg);
    if (rc2 == 0) {
        log_warn("config.json %s; using the last-known-good copy", rc == SAFECAM_ERR_NOTFOUND ? "missing" : "invalid");
        return 0;
    }
    config_defaults(cfg);
    if (rc == SAFECAM_ERR_NOTFOUND && rc2 == SAFECAM_ERR_NOTFOUND)
        return 0;
    return SAFECAM_ERR_INVAL;
}

int config_save(const char *state_dir, const struct config *cfg)
{
    char path[PATH_MAX], good[PATH_MAX];
    if (safecam_path_join(path, sizeof path, state_dir, STATEDIR_CONFIG) != 0 ||
        safecam_fmt(good, sizeof good, "%s.last-good", path) != 0)
        return SAFECAM_ERR_TOOBIG;
    json_t *stream = config_stream_to_json(&cfg->stream);
    json_t *update = config_update_to_json(&cfg->update);
    json_t *privacy = config_privacy_to_json(&cfg->privacy);
    json_t *onvif = config_onvif_to_json(&cfg->onvif);
    json_t *recording = config_recording_to_json(&cfg->recording);
    if (!stream || !update || !privacy || !onvif || !recording) {
        json_decref(stream);
        json_decref(update);
        json_decref(privacy);
        json_decref(onvif);
        json_decref(recording);
        return SAFECAM_ERR_NOMEM;
    }
    /* json_pack steals the references, also on failure (jansson >= 2.9). */
    json_t *root = json_pack("{s:i,s:o,s:o,s:o,s:o,s:o}", "version", 1, "stream", stream, "update", update,
                             "privacy", privacy, "onvif", onvif, "recording", recording);
    if (!root)
        return SAFECAM_ERR_NOMEM;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return SAFECAM_ERR_NOMEM;
    /* Keep the current valid file as last-known-good before replacing it. */
    struct config current;
    if (config_load_file(path, &current) == 0) {
        char *old = NULL;
        size_t old_len = 0;
        if (safecam_file_read(path, CONFIG_MAX_BYTES, &old, &old_len) == 0) {
            int grc = safecam_file_write_atomic(good, old, old_len, 0644);
            free(old);
            if (grc != 0) {
                free(text);
                return grc;
            }
        }
    }
    int rc = safecam_file_write_atomic(path, text, strlen(text), 0644);
    free(text);
    return rc;
}
