/* config.h — typed, validated, non-secret configuration (DIR/config.json) and the daemon's options file.
 * Runs in the supervisor (owner of config.json) and anywhere settings are validated. Atomic writes with a
 * last-known-good copy: QCVN 135 G8 / EN 303 645 5.9-1. Input validation: G11 / EN 303 645 5.13-1. */
#ifndef SAFECAM_CONFIG_H
#define SAFECAM_CONFIG_H

#include <jansson.h>
#include "safecam/core.h"

#define CONFIG_MAX_BYTES (64u * 1024u)

/* The H.264 encoder element the media pipeline uses (config.json "stream": {"encoder": NAME}). */
enum config_encoder {
    CONFIG_ENCODER_X264 = 0, /* "x264": x264enc, software (default) */
    CONFIG_ENCODER_V4L2 = 1, /* "v4l2h264enc": a V4L2 stateful (memory-to-memory) hardware encoder */
};

/* Video stream settings. Ranges (inclusive) are in config.c's table and reported on refusal. */
struct config_stream {
    int width;           /* pixels, 160..1920, even */
    int height;          /* pixels, 120..1080, even */
    int fps;             /* frames per second, 1..30 */
    int bitrate_kbps;    /* main stream kbit/s, 100..8000 */
    int keyframe_interval_s; /* seconds between keyframes, 1..10 */
    int sub_enabled;     /* 0/1: 640x360 sub stream on /stream2 */
    int encoder;         /* enum config_encoder; JSON "x264" (default) or "v4l2h264enc" */
};

/* "x264" / "v4l2h264enc" for an enum config_encoder value (NULL for an unknown one). */
const char *config_encoder_name(int encoder);
/* The enum config_encoder value named name, or -1 (unknown names are refused, never guessed). */
int config_encoder_parse(const char *name);

/* Firmware updates: the online check against the vendor's update server (docs/update-bundle.md section 6).
 * Off unless configured. config.json: "update": {"online_enabled": bool, "server_url": "https://...",
 * "ca_file": absolute path of the pinned vendor CA (PEM), "auto_install": bool, "check_interval_s": N,
 * "max_bundle_bytes": N}. Read by the update process (safecam-update). QCVN 135 G3 / EN 303 645 5.3-4. */
#define CONFIG_UPDATE_URL_MAX 256                /* bytes incl. NUL */
#define CONFIG_UPDATE_PATH_MAX 256               /* bytes incl. NUL */
#define CONFIG_UPDATE_CA_DEFAULT "factory/update-ca.pem" /* relative to the state dir */
#define CONFIG_UPDATE_INTERVAL_MIN_S 3600L       /* hourly at most */
#define CONFIG_UPDATE_INTERVAL_MAX_S 2592000L    /* 30 days */
#define CONFIG_UPDATE_INTERVAL_DEFAULT_S 86400L  /* daily, with jitter */
#define CONFIG_UPDATE_MAX_BUNDLE_MIN (1024L * 1024L)          /* 1 MiB */
#define CONFIG_UPDATE_MAX_BUNDLE_MAX (512L * 1024L * 1024L)   /* 512 MiB = UPDATE_BUNDLE_MAX_BYTES_DEFAULT */
struct config_update {
    int online_enabled;                       /* 0/1, default 0 */
    char server_url[CONFIG_UPDATE_URL_MAX];   /* "https://HOST[:PORT][/PATH]" printable ASCII, "" = none */
    char ca_file[CONFIG_UPDATE_PATH_MAX];     /* absolute path, "" = DIR/CONFIG_UPDATE_CA_DEFAULT */
    int auto_install;                         /* 0/1, default 0: install only on the admin's approval */
    long check_interval_s;                    /* CONFIG_UPDATE_INTERVAL_MIN_S..MAX_S, default daily */
    long max_bundle_bytes;                    /* CONFIG_UPDATE_MAX_BUNDLE_MIN..MAX, default the maximum */
};

/* Privacy notice state (QCVN 135 G7 / Decision 724): acknowledged once at first setup, with the owner's
 * choice of where data may be stored and processed. */
struct config_privacy {
    int acknowledged;          /* 0/1 */
    long long acknowledged_at; /* Unix seconds, 0 when not acknowledged */
    char data_location[16];    /* "device_only" (default) or "vietnam" */
};

struct config {
    struct config_stream stream;
    struct config_update update;
    struct config_privacy privacy;
};

/* A refusal: which field, and its allowed range (min/max valid only for numeric fields). */
struct config_error {
    char field[64];
    char code[32]; /* "invalid_setting", "unknown_field", "invalid_json" */
    long min;
    long max;
    char rule[16]; /* the rule the value broke: "range" (min..max), "even" (in range, odd), "" otherwise */
};

/* Defaults: 1280x720 at 25 fps, 2000 kbit/s, keyframe every 1 s, sub stream on; online update check off. */
void config_defaults(struct config *cfg);

/* Apply a partial stream settings object onto *stream (all-or-nothing: *stream is unchanged on error).
 * Accepted keys: width, height, fps, bitrate_kbps, keyframe_interval_s, sub_enabled (bool), encoder
 * (string: "x264" or "v4l2h264enc"; anything else is code "invalid_setting", field "encoder", min 0, max 0).
 * Errors: SAFECAM_ERR_INVAL with *err filled. */
int config_stream_apply_json(struct config_stream *stream, const json_t *obj, struct config_error *err) SAFECAM_WUR;
/* New JSON object for the stream settings (caller decrefs). */
json_t *config_stream_to_json(const struct config_stream *stream);

/* Apply a partial "update" settings object onto *u (all-or-nothing). Keys: see struct config_update.
 * server_url must start with "https://" and be printable ASCII without spaces; ca_file must be an
 * absolute path without ".." segments. Errors: SAFECAM_ERR_INVAL with *err filled. */
int config_update_apply_json(struct config_update *u, const json_t *obj, struct config_error *err) SAFECAM_WUR;
/* New JSON object for the update settings (caller decrefs). */
json_t *config_update_to_json(const struct config_update *u);

/* Apply {"acknowledged": bool, "data_location": "device_only"|"vietnam"} (both optional) onto *privacy,
 * all-or-nothing; acknowledged_at is stamped with `now` when acknowledged turns true. Errors as above. */
int config_privacy_apply_json(struct config_privacy *privacy, const json_t *obj, long long now,
                              struct config_error *err) SAFECAM_WUR;
json_t *config_privacy_to_json(const struct config_privacy *privacy);

/* Load DIR/config.json; falls back to DIR/config.json.last-good when the main file is missing or
 * corrupt, and to defaults when neither exists (a fresh device). SAFECAM_ERR_INVAL only when a file
 * exists but neither copy is valid (the caller then uses defaults and logs it). */
int config_load(const char *state_dir, struct config *cfg) SAFECAM_WUR;
/* Save atomically (mode 0600); the previous valid file becomes config.json.last-good. */
int config_save(const char *state_dir, const struct config *cfg) SAFECAM_WUR;

#endif
