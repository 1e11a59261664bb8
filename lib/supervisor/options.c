/* options.c — safecamd's command line and --config file (struct supervisor_options, supervisor_run.h).
 * Every value is checked here, before anything starts: an address literal (never a name to resolve),
 * ports 1-65535 and distinct, a known source, a readable file source. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "safecam/config.h"
#include "safecam/core.h"
#include "safecam/supervisor_run.h"

void supervisor_options_usage(FILE *f)
{
    fprintf(f, "usage: safecamd --state-dir DIR [--config FILE] [--source SPEC] [--bind ADDR]\n"
               "                [--https-port N] [--rtsps-port N] [--ui-dir DIR] [--no-media] [--rtsp-digest]\n"
               "                [--boot-timeout SECONDS]\n"
               "  SPEC: testsrc (default) | file:PATH | v4l2:/dev/videoN\n");
}

static int fail_usage(const char *what)
{
    fprintf(stderr, "safecamd: %s\n", what);
    return SUPERVISOR_OPTIONS_USAGE;
}

static int bind_addr_valid(const char *s)
{
    /* An address literal only: digits, hex, '.', ':' — never a name to resolve. */
    if (!*s || strlen(s) > 45)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '.' ||
              *p == ':'))
            return 0;
    return 1;
}

static int source_valid(const char *s)
{
    if (strcmp(s, "testsrc") == 0)
        return 1;
    if (strncmp(s, "file:", 5) == 0 && s[5] != '\0')
        return 1;
    if (strncmp(s, "v4l2:/dev/video", 15) == 0 && s[15] >= '0' && s[15] <= '9')
        return 1;
    return 0;
}

/* --config FILE: a JSON object with any of bind, https_port, rtsps_port, source, ui_dir, rtsp_digest (bool).
 * Command-line options given explicitly win (they are applied after). */
static int options_load_file(const char *path, struct supervisor_options *opts)
{
    char *text = NULL;
    size_t len = 0;
    if (safecam_file_read(path, CONFIG_MAX_BYTES, &text, &len) != 0) {
        fprintf(stderr, "safecamd: cannot read config file %s\n", path);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!json_is_object(root)) {
        fprintf(stderr, "safecamd: config file %s: invalid JSON (line %d)\n", path, jerr.line);
        json_decref(root);
        return -1;
    }
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "bind") == 0 && json_is_string(v)) {
            rc = safecam_strlcpy(opts->bind, json_string_value(v), sizeof opts->bind);
        } else if (strcmp(key, "source") == 0 && json_is_string(v)) {
            rc = safecam_strlcpy(opts->source, json_string_value(v), sizeof opts->source);
        } else if (strcmp(key, "ui_dir") == 0 && json_is_string(v)) {
            rc = safecam_strlcpy(opts->ui_dir, json_string_value(v), sizeof opts->ui_dir);
        } else if (strcmp(key, "https_port") == 0 && json_is_integer(v)) {
            opts->https_port = (long)json_integer_value(v);
        } else if (strcmp(key, "rtsp_digest") == 0 && json_is_boolean(v)) {
            opts->rtsp_digest = json_is_true(v);
        } else if (strcmp(key, "rtsps_port") == 0 && json_is_integer(v)) {
            opts->rtsps_port = (long)json_integer_value(v);
        } else {
            fprintf(stderr, "safecamd: config file %s: unknown or mistyped field \"%s\"\n", path, key);
            rc = -1;
        }
        if (rc != 0)
            break;
    }
    json_decref(root);
    return rc == 0 ? 0 : -1;
}

int supervisor_options_parse(int argc, char **argv, struct supervisor_options *out)
{
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 'S'},
        {"bind", required_argument, NULL, 'b'},
        {"https-port", required_argument, NULL, 'H'},
        {"rtsps-port", required_argument, NULL, 'R'},
        {"ui-dir", required_argument, NULL, 'u'},
        {"no-media", no_argument, NULL, 'n'},
        {"rtsp-digest", no_argument, NULL, 'D'},
        {"boot-timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* First pass: --config only, so the command line can override it. */
    const char *config_path = NULL;
    optind = 0; /* glibc: 0 starts a fresh scan (the parser may run more than once in a process) */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
        if (c == 'c')
            config_path = optarg;
    struct supervisor_options *opts = out;
    memset(opts, 0, sizeof *opts);
    opts->https_port = 8443;
    opts->rtsps_port = 8322;
    opts->boot_timeout_s = SUPERVISOR_BOOT_TIMEOUT_DEFAULT_S;
    if (safecam_strlcpy(opts->bind, "127.0.0.1", sizeof opts->bind) != 0 ||
        safecam_strlcpy(opts->source, "testsrc", sizeof opts->source) != 0)
        return SUPERVISOR_OPTIONS_USAGE;
    if (config_path && options_load_file(config_path, opts) != 0)
        return SUPERVISOR_OPTIONS_USAGE;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (safecam_strlcpy(opts->state_dir, optarg, sizeof opts->state_dir) != 0)
                return fail_usage("--state-dir: path too long");
            break;
        case 'c':
            break;
        case 'S':
            if (safecam_strlcpy(opts->source, optarg, sizeof opts->source) != 0)
                return fail_usage("--source: too long");
            break;
        case 'b':
            if (safecam_strlcpy(opts->bind, optarg, sizeof opts->bind) != 0)
                return fail_usage("--bind: not an IP address");
            break;
        case 'H':
            if (safecam_parse_long(optarg, 1, 65535, &opts->https_port) != 0)
                return fail_usage("--https-port: expected a port number 1-65535");
            break;
        case 'R':
            if (safecam_parse_long(optarg, 1, 65535, &opts->rtsps_port) != 0)
                return fail_usage("--rtsps-port: expected a port number 1-65535");
            break;
        case 'u':
            if (safecam_strlcpy(opts->ui_dir, optarg, sizeof opts->ui_dir) != 0)
                return fail_usage("--ui-dir: path too long");
            break;
        case 'n':
            opts->no_media = 1;
            break;
        case 'D':
            opts->rtsp_digest = 1;
            break;
        case 'T':
            if (safecam_parse_long(optarg, 5, 3600, &opts->boot_timeout_s) != 0)
                return fail_usage("--boot-timeout: expected seconds 5-3600");
            break;
        case 'h':
            supervisor_options_usage(stdout);
            return SUPERVISOR_OPTIONS_HELP;
        default:
            fprintf(stderr, "safecamd: unknown or incomplete option '%s' (see --help)\n", argv[optind - 1]);
            return SUPERVISOR_OPTIONS_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "safecamd: unexpected argument '%s'\n", argv[optind]);
        return SUPERVISOR_OPTIONS_USAGE;
    }
    if (!opts->state_dir[0])
        return fail_usage("--state-dir DIR is required");
    if (!bind_addr_valid(opts->bind))
        return fail_usage("--bind: not an IP address literal");
    if (opts->https_port < 1 || opts->https_port > 65535 || opts->rtsps_port < 1 || opts->rtsps_port > 65535)
        return fail_usage("port out of range 1-65535");
    if (opts->https_port == opts->rtsps_port)
        return fail_usage("--https-port and --rtsps-port must differ");
    if (!source_valid(opts->source))
        return fail_usage("--source: expected testsrc, file:PATH or v4l2:/dev/videoN");
    if (strncmp(opts->source, "file:", 5) == 0 && access(opts->source + 5, R_OK) != 0) {
        fprintf(stderr, "safecamd: --source: cannot read %s\n", opts->source + 5);
        return SUPERVISOR_OPTIONS_USAGE;
    }
    return SUPERVISOR_OPTIONS_OK;
}
