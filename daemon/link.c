/* link.c — safecam-link, the linked-service process (lib/link): wiring only.
 * Today it runs in its standalone form, driven by JSON lines on stdin and answering JSON lines on stdout
 * (tests/system/test_linked.py, bench/link_recovery.py): {"cmd":"configure","settings":{...}},
 * {"cmd":"event","event":{...}}, {"cmd":"upload","path","name"}, {"cmd":"delete"}, {"cmd":"stats"},
 * {"cmd":"retention","now":T}. Audit events come out as {"audit":TYPE,"detail":...}. Its row in the
 * supervisor's child table (its own user, seccomp, Landlock; secrets handed over IPC from the vault) is
 * planned: docs/linked-services.md. Trust level: stdin is the caller's (a test, the supervisor later).
 * QCVN 135 G8, G9 / EN 303 645 5.5-1, 5.9-1, 5.11-1. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "safecam/core.h"
#include "safecam/link.h"

#define LINE_MAX_BYTES (256 * 1024)

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void emit(json_t *o)
{
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!txt)
        return;
    fputs(txt, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(txt);
}

static void on_audit(void *user, const char *type, const char *detail)
{
    (void)user;
    emit(json_pack("{s:s,s:s}", "audit", type, "detail", detail));
}

static void handle(link_engine *e, const char *line, size_t len)
{
    json_error_t err;
    json_t *in = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    const char *cmd = json_string_value(json_object_get(in, "cmd"));
    if (!cmd) {
        emit(json_pack("{s:s}", "error", "bad_request"));
    } else if (strcmp(cmd, "configure") == 0) {
        char field[64];
        const json_t *s = json_object_get(in, "settings");
        if (link_settings_validate(s, field, sizeof field) != 0)
            emit(json_pack("{s:s,s:s}", "error", "invalid_setting", "field", field));
        else if (link_engine_configure(e, s) != 0)
            emit(json_pack("{s:s}", "error", "configure_failed"));
        else
            emit(json_pack("{s:b}", "ok", 1));
    } else if (strcmp(cmd, "event") == 0) {
        int rc = link_engine_event(e, json_object_get(in, "event"));
        emit(rc >= 0 ? json_pack("{s:b,s:i}", "ok", 1, "dropped", rc) : json_pack("{s:s}", "error", "bad_event"));
    } else if (strcmp(cmd, "upload") == 0) {
        int rc = link_engine_upload(e, json_string_value(json_object_get(in, "path")),
                                    json_string_value(json_object_get(in, "name")));
        emit(rc >= 0 ? json_pack("{s:b,s:i}", "ok", 1, "dropped", rc) : json_pack("{s:s}", "error", "bad_upload"));
    } else if (strcmp(cmd, "delete") == 0) {
        emit(json_pack("{s:o}", "deleted", link_engine_delete_all(e)));
    } else if (strcmp(cmd, "stats") == 0) {
        emit(json_pack("{s:o}", "stats", link_engine_stats(e)));
    } else if (strcmp(cmd, "retention") == 0) {
        json_int_t now = json_integer_value(json_object_get(in, "now"));
        emit(json_pack("{s:i}", "retention_deleted", link_engine_retention_run(e, now ? now : safecam_time_now())));
    } else {
        emit(json_pack("{s:s}", "error", "unknown_cmd"));
    }
    if (in)
        sodium_memzero((void *)line, len); /* the settings line held passwords */
    json_decref(in);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *device_id = NULL;
    int standalone = 0;
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"device-id", required_argument, NULL, 'i'},
                                         {"standalone", no_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'i')
            device_id = optarg;
        else if (c == 's')
            standalone = 1;
        else
            return 2;
    }
    if (!standalone || !dir || !device_id) {
        fprintf(stderr, "usage: safecam-link --standalone --dir DIR --device-id ID\n");
        return 2;
    }
    safecam_log_init("safecam-link", SAFECAM_LOG_INFO);
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    link_engine *e = link_engine_new(dir, device_id, on_audit, NULL);
    if (!e) {
        fprintf(stderr, "safecam-link: cannot start in %s\n", dir);
        return 1;
    }
    char *buf = malloc(LINE_MAX_BYTES);
    size_t have = 0;
    int eof = 0;
    while (!stop_flag && buf) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int n = eof ? 0 : poll(&p, 1, 20);
        if (n > 0) {
            ssize_t r = read(STDIN_FILENO, buf + have, LINE_MAX_BYTES - have);
            if (r <= 0)
                eof = 1;
            else
                have += (size_t)r;
            char *nl;
            while ((nl = memchr(buf, '\n', have)) != NULL) {
                size_t l = (size_t)(nl - buf);
                handle(e, buf, l);
                memmove(buf, nl + 1, have - l - 1);
                have -= l + 1;
            }
            if (have == LINE_MAX_BYTES)
                have = 0; /* a line too long: dropped */
        }
        if (eof)
            break;
        link_engine_step(e, 30);
    }
    if (buf) {
        sodium_memzero(buf, LINE_MAX_BYTES);
        free(buf);
    }
    link_engine_free(e);
    return 0;
}
