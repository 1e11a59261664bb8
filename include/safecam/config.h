/* config.h — typed, validated, non-secret configuration (DIR/config.json) and the daemon's options file.
 * Runs in the supervisor (owner of config.json) and anywhere settings are validated. Atomic writes with a
 * last-known-good copy: QCVN 135 G8 / EN 303 645 5.9-1. Input validation: G11 / EN 303 645 5.13-1. */
#ifndef SAFECAM_CONFIG_H
#define SAFECAM_CONFIG_H

#include <jansson.h>
#include "safecam/core.h"

#define CONFIG_MAX_BYTES (64u * 1024u)

/* Video stream settings. Ranges (inclusive) are in config.c's table and reported on refusal. */
struct config_stream {
    int width;           /* pixels, 160..1920, even */
    int height;          /* pixels, 120..1080, even */
    int fps;             /* frames per second, 1..30 */
    int bitrate_kbps;    /* main stream kbit/s, 100..8000 */
    int keyframe_interval_s; /* seconds between keyframes, 1..10 */
    int sub_enabled;     /* 0/1: 640x360 sub stream on /stream2 */
};

struct config {
    struct config_stream stream;
};

/* A refusal: which field, and its allowed range (min/max valid only for numeric fields). */
struct config_error {
    char field[64];
    char code[32]; /* "invalid_setting", "unknown_field", "invalid_json" */
    long min;
    long max;
};

/* Defaults: 1280x720 at 25 fps, 2000 kbit/s, keyframe every 1 s, sub stream on. */
void config_defaults(struct config *cfg);

/* Apply a partial stream settings object onto *stream (all-or-nothing: *stream is unchanged on error).
 * Accepted keys: width, height, fps, bitrate_kbps, keyframe_interval_s, sub_enabled (bool).
 * Errors: SAFECAM_ERR_INVAL with *err filled. */
int config_stream_apply_json(struct config_stream *stream, const json_t *obj, struct config_error *err) SAFECAM_WUR;
/* New JSON object for the stream settings (caller decrefs). */
json_t *config_stream_to_json(const struct config_stream *stream);

/* Load DIR/config.json; falls back to DIR/config.json.last-good when the main file is missing or
 * corrupt, and to defaults when neither exists (a fresh device). SAFECAM_ERR_INVAL only when a file
 * exists but neither copy is valid (the caller then uses defaults and logs it). */
int config_load(const char *state_dir, struct config *cfg) SAFECAM_WUR;
/* Save atomically (mode 0600); the previous valid file becomes config.json.last-good. */
int config_save(const char *state_dir, const struct config *cfg) SAFECAM_WUR;

#endif
