/* test_config.c — stream setting ranges, all-or-nothing apply, atomic save and last-known-good (lib/config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safecam/config.h"

static void test_apply_ranges(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    struct config_error err;
    json_t *ok = json_pack("{s:i,s:i,s:b}", "width", 640, "height", 360, "sub_enabled", 0);
    assert_int_equal(config_stream_apply_json(&cfg.stream, ok, &err), 0);
    assert_int_equal(cfg.stream.width, 640);
    assert_int_equal(cfg.stream.sub_enabled, 0);
    json_decref(ok);

    /* out of range: nothing changes, the range is reported */
    struct config_stream before = cfg.stream;
    json_t *bad = json_pack("{s:i,s:i}", "height", 480, "fps", 500);
    assert_int_equal(config_stream_apply_json(&cfg.stream, bad, &err), SAFECAM_ERR_INVAL);
    assert_string_equal(err.field, "fps");
    assert_string_equal(err.code, "invalid_setting");
    assert_int_equal(err.min, 1);
    assert_int_equal(err.max, 30);
    assert_string_equal(err.rule, "range");
    assert_memory_equal(&before, &cfg.stream, sizeof before);
    json_decref(bad);

    /* inside the range but odd: the rule broken is "even", not the range (issue 11) */
    bad = json_pack("{s:i}", "width", 1281);
    assert_int_equal(config_stream_apply_json(&cfg.stream, bad, &err), SAFECAM_ERR_INVAL);
    assert_string_equal(err.field, "width");
    assert_string_equal(err.rule, "even");
    assert_memory_equal(&before, &cfg.stream, sizeof before);
    json_decref(bad);

    const char *cases[] = {"{\"width\":641}", "{\"width\":\"640\"}", "{\"bitrate_kbps\":-1}",
                           "{\"sub_enabled\":1}", "{\"cmd\":\"reboot\"}", "{\"fps\":1.5}"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(config_stream_apply_json(&cfg.stream, j, &err), SAFECAM_ERR_INVAL);
        json_decref(j);
    }
    assert_int_equal(config_stream_apply_json(&cfg.stream, NULL, &err), SAFECAM_ERR_INVAL);
}

static void test_encoder_setting(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    struct config_error err;
    assert_int_equal(cfg.stream.encoder, CONFIG_ENCODER_X264);
    json_t *j = config_stream_to_json(&cfg.stream);
    assert_string_equal(json_string_value(json_object_get(j, "encoder")), "x264");
    json_decref(j);

    j = json_loads("{\"encoder\":\"v4l2h264enc\"}", 0, NULL);
    assert_int_equal(config_stream_apply_json(&cfg.stream, j, &err), 0);
    json_decref(j);
    assert_int_equal(cfg.stream.encoder, CONFIG_ENCODER_V4L2);
    j = config_stream_to_json(&cfg.stream);
    assert_string_equal(json_string_value(json_object_get(j, "encoder")), "v4l2h264enc");
    json_decref(j);

    /* refused, all-or-nothing, with the field named */
    const char *bad[] = {"{\"encoder\":\"x265\"}", "{\"encoder\":\"X264\"}", "{\"encoder\":\"\"}",
                         "{\"encoder\":1}", "{\"encoder\":null}", "{\"encoder\":\"x264enc\"}",
                         "{\"fps\":10,\"encoder\":\"vaapih264enc\"}", "{\"encoder\":\"v4l2h264enc \"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config_stream before = cfg.stream;
        j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(config_stream_apply_json(&cfg.stream, j, &err), SAFECAM_ERR_INVAL);
        assert_string_equal(err.field, "encoder");
        assert_string_equal(err.code, "invalid_setting");
        assert_memory_equal(&before, &cfg.stream, sizeof before);
        json_decref(j);
    }
    j = json_loads("{\"encoder\":\"x264\"}", 0, NULL);
    assert_int_equal(config_stream_apply_json(&cfg.stream, j, &err), 0);
    json_decref(j);
    assert_int_equal(cfg.stream.encoder, CONFIG_ENCODER_X264);
    assert_string_equal(config_encoder_name(CONFIG_ENCODER_V4L2), "v4l2h264enc");
    assert_null(config_encoder_name(7));
    assert_int_equal(config_encoder_parse(NULL), -1);
}

static void test_save_load_last_good(void **state)
{
    (void)state;
    char dir[] = "/tmp/safecam-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct config cfg, got;
    /* fresh device: defaults */
    assert_int_equal(config_load(dir, &got), 0);
    assert_int_equal(got.stream.width, 1280);
    config_defaults(&cfg);
    cfg.stream.fps = 10;
    assert_int_equal(config_save(dir, &cfg), 0);
    cfg.stream.fps = 15;
    assert_int_equal(config_save(dir, &cfg), 0);
    assert_int_equal(config_load(dir, &got), 0);
    assert_int_equal(got.stream.fps, 15);
    /* corrupt the main file (power cut mid-write on a non-atomic fs): the last-good copy is used */
    char path[300];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"version\":1,\"stream\":{\"fps\":", f);
    fclose(f);
    assert_int_equal(config_load(dir, &got), 0);
    assert_int_equal(got.stream.fps, 10);
    char good[320];
    snprintf(good, sizeof good, "%s.last-good", path);
    unlink(path);
    unlink(good);
    rmdir(dir);
}

/* The "update" section (online check settings): defaults off, ranges, URL/path allowlists, round trip. */
static void test_update_settings(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    assert_int_equal(cfg.update.online_enabled, 0);
    assert_int_equal(cfg.update.auto_install, 0);
    assert_int_equal(cfg.update.check_interval_s, 86400);
    assert_int_equal(cfg.update.max_bundle_bytes, 512L * 1024 * 1024);
    struct config_error err;
    json_t *ok = json_pack("{s:b,s:s,s:s,s:i,s:i}", "online_enabled", 1, "server_url", "https://127.0.0.1:8999/fw",
                           "ca_file", "/etc/safecam/vendor-ca.pem", "check_interval_s", 7200, "max_bundle_bytes",
                           2 * 1024 * 1024);
    assert_int_equal(config_update_apply_json(&cfg.update, ok, &err), 0);
    json_decref(ok);
    assert_int_equal(cfg.update.online_enabled, 1);
    assert_string_equal(cfg.update.server_url, "https://127.0.0.1:8999/fw");
    assert_int_equal(cfg.update.max_bundle_bytes, 2 * 1024 * 1024);

    struct config_update before = cfg.update;
    const char *bad[] = {
        "{\"server_url\":\"http://127.0.0.1/\"}",           /* not HTTPS */
        "{\"server_url\":\"https://\"}",                     /* no host */
        "{\"server_url\":\"https://a b/\"}",                 /* space */
        "{\"server_url\":\"https://h/?x=1\"}",               /* query */
        "{\"ca_file\":\"relative/ca.pem\"}",                 /* not absolute */
        "{\"ca_file\":\"/etc/../root/ca.pem\"}",             /* dot-dot */
        "{\"check_interval_s\":60}",                         /* too often */
        "{\"max_bundle_bytes\":1073741824}",                 /* over the hard cap */
        "{\"auto_install\":1}",                              /* not a bool */
        "{\"online_enabled\":true,\"server_url\":\"\"}",     /* enabled without a server */
        "{\"shell\":\"reboot\"}",                            /* unknown */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(config_update_apply_json(&cfg.update, j, &err), SAFECAM_ERR_INVAL);
        assert_memory_equal(&before, &cfg.update, sizeof before);
        json_decref(j);
    }
    json_t *j = json_loads("{\"check_interval_s\":60}", 0, NULL);
    assert_int_equal(config_update_apply_json(&cfg.update, j, &err), SAFECAM_ERR_INVAL);
    assert_string_equal(err.field, "check_interval_s");
    assert_int_equal(err.min, 3600);
    json_decref(j);

    /* saved and loaded back; a file with a broken update section falls back to the last good copy */
    char dir[] = "/tmp/safecam-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(config_save(dir, &cfg), 0);
    struct config got;
    assert_int_equal(config_load(dir, &got), 0);
    assert_memory_equal(&got.update, &cfg.update, sizeof got.update);
    assert_int_equal(config_save(dir, &cfg), 0);
    char path[300], good[320];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(good, sizeof good, "%s.last-good", path);
    FILE *f = fopen(path, "w");
    fputs("{\"version\":1,\"update\":{\"server_url\":\"ftp://x\"}}", f);
    fclose(f);
    assert_int_equal(config_load(dir, &got), 0);
    assert_string_equal(got.update.server_url, "https://127.0.0.1:8999/fw");
    unlink(path);
    unlink(good);
    rmdir(dir);
}

static void test_privacy(void **state)
{
    (void)state;
    char dir[] = "/tmp/safecam-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct config cfg, got;
    config_defaults(&cfg);
    assert_string_equal(cfg.privacy.data_location, "device_only");
    assert_int_equal(cfg.privacy.acknowledged, 0);
    struct config_error err;
    json_t *ok = json_pack("{s:b,s:s}", "acknowledged", 1, "data_location", "vietnam");
    assert_int_equal(config_privacy_apply_json(&cfg.privacy, ok, 1700000000, &err), 0);
    json_decref(ok);
    assert_int_equal(cfg.privacy.acknowledged, 1);
    assert_int_equal(cfg.privacy.acknowledged_at, 1700000000);
    assert_string_equal(cfg.privacy.data_location, "vietnam");
    /* refused: nothing changes */
    struct config_privacy before = cfg.privacy;
    const char *bad[] = {"{\"data_location\":\"usa\"}", "{\"acknowledged\":\"yes\"}", "{\"x\":1}",
                         "{\"data_location\":\"vietnam;reboot\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(config_privacy_apply_json(&cfg.privacy, j, 1, &err), SAFECAM_ERR_INVAL);
        json_decref(j);
        assert_memory_equal(&before, &cfg.privacy, sizeof before);
    }
    /* survives save/load */
    assert_int_equal(config_save(dir, &cfg), 0);
    assert_int_equal(config_load(dir, &got), 0);
    assert_int_equal(got.privacy.acknowledged, 1);
    assert_int_equal(got.privacy.acknowledged_at, 1700000000);
    assert_string_equal(got.privacy.data_location, "vietnam");
    char path[300];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

/* Recording settings: defaults (off), ranges, all-or-nothing refusals, save/load. QCVN 135 G7, G9. */
static void test_recording(void **state)
{
    (void)state;
    char dir[] = "/tmp/safecam-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct config cfg, got;
    config_defaults(&cfg);
    assert_int_equal(cfg.recording.mode, CONFIG_RECORDING_OFF);
    assert_int_equal(cfg.recording.segment_seconds, 60);
    struct config_error err;
    json_t *ok = json_pack("{s:s,s:i,s:i,s:I}", "mode", "continuous", "segment_seconds", 2, "retention_days", 7,
                           "max_bytes", (json_int_t)(1024 * 1024));
    assert_int_equal(config_recording_apply_json(&cfg.recording, ok, &err), 0);
    json_decref(ok);
    assert_int_equal(cfg.recording.mode, CONFIG_RECORDING_CONTINUOUS);
    assert_int_equal(cfg.recording.segment_seconds, 2);
    assert_int_equal(cfg.recording.motion_sensitivity, CONFIG_RECORDING_SENSITIVITY_DEFAULT);
    struct config_recording before = cfg.recording;
    const char *bad[] = {"{\"segment_seconds\":1}",  "{\"segment_seconds\":601}", "{\"retention_days\":-1}",
                         "{\"retention_days\":3651}", "{\"max_bytes\":5}",          "{\"mode\":\"always\"}",
                         "{\"pre_roll_s\":61}",       "{\"post_roll_s\":601}",      "{\"mode\":1}",
                         "{\"segment_seconds\":\"5\"}", "{\"x\":1}",
                         "{\"segment_seconds\":5,\"post_roll_s\":-1}", "{\"motion_sensitivity\":0}",
                         "{\"motion_sensitivity\":101}", "{\"motion_sensitivity\":\"50\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(config_recording_apply_json(&cfg.recording, j, &err), SAFECAM_ERR_INVAL);
        json_decref(j);
        assert_memory_equal(&before, &cfg.recording, sizeof before);
    }
    assert_int_equal(config_save(dir, &cfg), 0);
    assert_int_equal(config_load(dir, &got), 0);
    assert_memory_equal(&got.recording, &cfg.recording, sizeof cfg.recording);
    char path[300];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recording),
        cmocka_unit_test(test_apply_ranges),
        cmocka_unit_test(test_encoder_setting),
        cmocka_unit_test(test_save_load_last_good),
        cmocka_unit_test(test_privacy),
        cmocka_unit_test(test_update_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
