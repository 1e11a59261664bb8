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

/* ONVIF services (docs/onvif.md): both off by default. config.json "onvif": {"enabled": bool,
 * "discovery": bool}; discovery answers only while enabled is on too. QCVN 135 G6 / EN 303 645 5.6-1. */
struct config_onvif {
    int enabled;   /* 0/1: /onvif/device_service and /onvif/media_service on the HTTPS port */
    int discovery; /* 0/1: WS-Discovery on UDP 3702 */
};

/* Recording of the main stream to local storage (lib/media/record.c, docs/recording.md). config.json:
 * "recording": {"mode": "off"|"continuous"|"events", "segment_seconds": 2..600 (60), "retention_days":
 * 0..3650 (0 = no age limit; default 30), "max_bytes": 0 or 1 MiB..1 TiB (0 = no size limit beyond the free
 * space; default 0), "pre_roll_s": 0..60 (5), "post_roll_s": 0..600 (10), "motion_sensitivity": 1..100 (50;
 * higher finds smaller or fainter motion, used in "events" mode)}. Off by default.
 * QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. */
#define CONFIG_RECORDING_SEGMENT_MIN_S 2
#define CONFIG_RECORDING_SEGMENT_MAX_S 600
#define CONFIG_RECORDING_RETENTION_MAX_DAYS 3650
#define CONFIG_RECORDING_MAX_BYTES_MIN (1LL * 1024 * 1024)
#define CONFIG_RECORDING_MAX_BYTES_MAX (1024LL * 1024 * 1024 * 1024)
#define CONFIG_RECORDING_SENSITIVITY_MIN 1
#define CONFIG_RECORDING_SENSITIVITY_MAX 100
#define CONFIG_RECORDING_SENSITIVITY_DEFAULT 50
enum config_recording_mode { CONFIG_RECORDING_OFF = 0, CONFIG_RECORDING_CONTINUOUS = 1, CONFIG_RECORDING_EVENTS = 2 };
struct config_recording {
    int mode;               /* enum config_recording_mode */
    int segment_seconds;    /* CONFIG_RECORDING_SEGMENT_MIN_S..MAX_S */
    int retention_days;     /* 0..CONFIG_RECORDING_RETENTION_MAX_DAYS, 0 = no age limit */
    long long max_bytes;    /* 0 or CONFIG_RECORDING_MAX_BYTES_MIN..MAX */
    int pre_roll_s;         /* 0..60 */
    int post_roll_s;        /* 0..600 */
    int motion_sensitivity; /* CONFIG_RECORDING_SENSITIVITY_MIN..MAX */
};

struct config {
    struct config_stream stream;
    struct config_update update;
    struct config_privacy privacy;
    struct config_onvif onvif;
    struct config_recording recording;
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

/* Apply {"enabled"?: bool, "discovery"?: bool} onto *o, all-or-nothing; any other key or type is refused
 * (code "unknown_field" / "invalid_setting" with field). Errors: SAFECAM_ERR_INVAL with *err filled. */
int config_onvif_apply_json(struct config_onvif *o, const json_t *obj, struct config_error *err) SAFECAM_WUR;
json_t *config_onvif_to_json(const struct config_onvif *o);
/* Apply a partial "recording" object onto *rec (all-or-nothing; ranges above; errors as for the stream). */
int config_recording_apply_json(struct config_recording *rec, const json_t *obj, struct config_error *err) SAFECAM_WUR;
json_t *config_recording_to_json(const struct config_recording *rec);
/* "off", "continuous", "events". */
const char *config_recording_mode_name(int mode);

/* Load DIR/config.json; falls back to DIR/config.json.last-good when the main file is missing or
 * corrupt, and to defaults when neither exists (a fresh device). SAFECAM_ERR_INVAL only when a file
 * exists but neither copy is valid (the caller then uses defaults and logs it). */
int config_load(const char *state_dir, struct config *cfg) SAFECAM_WUR;
/* Save atomically (mode 0600); the previous valid file becomes config.json.last-good. */
int config_save(const char *state_dir, const struct config *cfg) SAFECAM_WUR;

#endif
