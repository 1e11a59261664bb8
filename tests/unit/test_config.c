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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_ranges),
        cmocka_unit_test(test_save_load_last_good),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
