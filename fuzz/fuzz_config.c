/* fuzz_config.c — libFuzzer target for configuration validation (lib/config): stream, update and privacy
 * sections as the supervisor receives them from the web process or reads them from config.json. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "safecam/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CONFIG_MAX_BYTES)
        return 0;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return 0;
    struct config cfg, before;
    config_defaults(&cfg);
    before = cfg;
    struct config_error err;
    if (config_stream_apply_json(&cfg.stream, json_object_get(root, "stream"), &err) != 0 &&
        memcmp(&cfg.stream, &before.stream, sizeof cfg.stream) != 0)
        __builtin_trap(); /* a refusal must change nothing */
    if (config_update_apply_json(&cfg.update, json_object_get(root, "update"), &err) != 0 &&
        memcmp(&cfg.update, &before.update, sizeof cfg.update) != 0)
        __builtin_trap();
    if (config_privacy_apply_json(&cfg.privacy, json_object_get(root, "privacy"), 1, &err) != 0 &&
        memcmp(&cfg.privacy, &before.privacy, sizeof cfg.privacy) != 0)
        __builtin_trap();
    json_t *s = config_stream_to_json(&cfg.stream);
    json_t *p = config_privacy_to_json(&cfg.privacy);
    json_decref(s);
    json_decref(p);
    json_decref(root);
    return 0;
}
