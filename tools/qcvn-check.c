/* qcvn-check.c — command line of the QCVN 135 conformance checker: parses options, loads the
 * profile, runs lib/check against one target or a list of targets (bounded parallel children), writes
 * the reports and exits 0 (no mandatory FAIL), 1 (a mandatory FAIL) or 2 (usage or run error).
 * Trust level: runs as the lab's user; contacts only the addresses named on its command line. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safecam/check.h"

#define IGN_STRLCPY(...) do { if (safecam_strlcpy(__VA_ARGS__) != 0) { } } while (0)

static void usage(FILE *f)
{
    fputs("usage: qcvn-check --target HOST [--profile FILE] [--out DIR] [--format json,html,sarif,junit]\n"
          "                  [--https-port N] [--rtsps-port N] [--ports all|common|declared|LIST] [--udp]\n"
          "                  [--delay MS] [--timeout S] [--allow-destructive] [--lang vi|en]\n"
          "                  [--measure-lockout] [--max-wait S] [--pw-full] [--only|--skip ID,ID...] [--quiet]\n"
          "       qcvn-check --targets FILE [--parallel N] [same options]   (fleet: one report per line of FILE)\n"
          "       qcvn-check --profile-template | --list-tests | --version\n"
          "       qcvn-check dossier --profile FILE --out DIR [--report REPORT.json] [--bundle FILE] [--sbom FILE]\n"
          "                  [--force]   (the lab dossier: ICS, IXIT, firmware identity, in Vietnamese and English)\n"
          "Audits an IP camera against QCVN 135:2024/BTTTT (EN 303 645, TS 103 701) and writes a verdict report.\n"
          "Exit: 0 no mandatory test FAILs, 1 one does, 2 usage or run error. See docs/qcvn-check.md.\n",
          f);
}

/* One error line on stderr and exit code 2 (fmt is always a literal). */
#define die2(fmt, arg) (fprintf(stderr, "qcvn-check: " fmt "\n", arg), 2)

/* Split *cur at sep: returns the field and advances *cur (NULL at the end). No strtok. */
static char *next_field(char **cur, char sep)
{
    char *s = *cur;
    if (s == NULL)
        return NULL;
    char *e = strchr(s, sep);
    if (e) {
        *e = '\0';
        *cur = e + 1;
    } else {
        *cur = NULL;
    }
    return s;
}

static int parse_formats(const char *s, unsigned *out)
{
    *out = 0;
    char buf[128];
    if (safecam_strlcpy(buf, s, sizeof buf) != 0)
        return -1;
    char *cur = buf;
    for (char *t; (t = next_field(&cur, ',')) != NULL;) {
        if (t[0] == '\0')
            continue;
        if (strcmp(t, "json") == 0)
            *out |= CHECK_FMT_JSON;
        else if (strcmp(t, "html") == 0)
            *out |= CHECK_FMT_HTML;
        else if (strcmp(t, "sarif") == 0)
            *out |= CHECK_FMT_SARIF;
        else if (strcmp(t, "junit") == 0)
            *out |= CHECK_FMT_JUNIT;
        else
            return -1;
    }
    return *out ? 0 : -1;
}

static int parse_ports(const char *s, struct check_options *o)
{
    if (strcmp(s, "all") == 0) {
        o->ports_mode = CHECK_PORTS_ALL;
        return 0;
    }
    if (strcmp(s, "declared") == 0) {
        o->ports_mode = CHECK_PORTS_DECLARED;
        return 0;
    }
    if (strcmp(s, "common") == 0) {
        o->ports_mode = CHECK_PORTS_COMMON;
        return 0;
    }
    o->ports_mode = CHECK_PORTS_LIST;
    o->n_ports = 0;
    char buf[4096];
    if (safecam_strlcpy(buf, s, sizeof buf) != 0)
        return -1;
    char *cur = buf;
    for (char *t; (t = next_field(&cur, ',')) != NULL;) {
        char *dash = strchr(t, '-');
        long a, b;
        if (dash) {
            *dash = '\0';
            if (safecam_parse_long(t, 1, 65535, &a) != 0 || safecam_parse_long(dash + 1, 1, 65535, &b) != 0 || b < a)
                return -1;
        } else {
            if (safecam_parse_long(t, 1, 65535, &a) != 0)
                return -1;
            b = a;
        }
        for (long p = a; p <= b; p++) {
            if (o->n_ports >= SAFECAM_ARRAY_LEN(o->ports))
                return -1;
            o->ports[o->n_ports++] = (int)p;
        }
    }
    return o->n_ports ? 0 : -1;
}

/* One device: load profile, run, write; returns the exit code. */
static int audit_one(struct check_options *o, const char *profile_path, const char *out, unsigned formats)
{
    struct check_profile prof;
    char err[512];
    if (profile_path) {
        if (check_profile_load(profile_path, &prof, err, sizeof err) != 0) {
            fprintf(stderr, "qcvn-check: %s\n", err);
            return 2;
        }
    } else {
        check_profile_defaults(&prof);
    }
    char recovery[1024];
    if (snprintf(recovery, sizeof recovery, "%s/RECOVERY-admin-password.txt", out) < (int)sizeof recovery)
        o->recovery_file = recovery;
    if (safecam_mkdir_p(out, 0755) != 0) {
        check_profile_free(&prof);
        return die2("cannot create the output directory %s", out);
    }
    json_t *rep = NULL;
    int rc = check_run(o, &prof, &rep);
    check_profile_free(&prof);
    if (rc == SAFECAM_ERR_NOTFOUND)
        return die2("target %s does not resolve to an address", o->target);
    if (rc != 0)
        return die2("run failed (%s)", safecam_err_name(rc));
    rc = check_report_write(rep, out, formats, o->lang);
    int code = check_report_has_mandatory_fail(rep) ? 1 : 0;
    if (rc != 0) {
        json_decref(rep);
        return die2("cannot write the report into %s", out);
    }
    const json_t *s = json_object_get(rep, "summary");
    const json_t *t = json_object_get(rep, "timing");
    if (o->progress || code)
        fprintf(stderr,
                "qcvn-check: %s: mandatory FAIL %lld / undecided %lld / PASS %lld; all: PASS %lld, FAIL %lld, "
                "INCONCLUSIVE %lld, NOT_APPLICABLE %lld, NEEDS_EVIDENCE %lld; %lld s (waits %lld s); report in %s\n",
                o->target, json_integer_value(json_object_get(s, "mandatory_fail")),
                json_integer_value(json_object_get(s, "mandatory_undecided")),
                json_integer_value(json_object_get(s, "mandatory_pass")),
                json_integer_value(json_object_get(s, "PASS")), json_integer_value(json_object_get(s, "FAIL")),
                json_integer_value(json_object_get(s, "INCONCLUSIVE")),
                json_integer_value(json_object_get(s, "NOT_APPLICABLE")),
                json_integer_value(json_object_get(s, "NEEDS_EVIDENCE")),
                json_integer_value(json_object_get(t, "total_ms")) / 1000,
                (json_integer_value(json_object_get(t, "pacing_wait_ms")) +
                 json_integer_value(json_object_get(t, "lockout_wait_ms")) +
                 json_integer_value(json_object_get(t, "other_wait_ms"))) / 1000,
                out);
    json_decref(rep);
    return code;
}

/* qcvn-check dossier: the lab dossier of one profile (lib/check/dossier.c). Exit 0, or 2 with one line. */
static int dossier_main(int argc, char **argv)
{
    struct check_dossier_opts d = {0};
    const char *profile = NULL;
    enum { D_PROFILE = 256, D_OUT, D_REPORT, D_BUNDLE, D_SBOM, D_FORCE, D_HELP };
    static const struct option lo[] = {
        {"profile", required_argument, NULL, D_PROFILE}, {"out", required_argument, NULL, D_OUT},
        {"report", required_argument, NULL, D_REPORT},   {"bundle", required_argument, NULL, D_BUNDLE},
        {"sbom", required_argument, NULL, D_SBOM},       {"force", no_argument, NULL, D_FORCE},
        {"help", no_argument, NULL, D_HELP},             {NULL, 0, NULL, 0},
    };
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case D_PROFILE: profile = optarg; break;
        case D_OUT: d.out_dir = optarg; break;
        case D_REPORT: d.report_path = optarg; break;
        case D_BUNDLE: d.bundle_path = optarg; break;
        case D_SBOM: d.sbom_path = optarg; break;
        case D_FORCE: d.force = 1; break;
        case D_HELP: usage(stdout); return 0;
        default:
            fprintf(stderr, "qcvn-check: dossier: unknown or incomplete option \"%s\" (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        return die2("dossier: unexpected argument \"%s\" (see --help)", argv[optind]);
    if (profile == NULL || d.out_dir == NULL)
        return die2("%s", "dossier: --profile FILE and --out DIR are required (see --help)");
    struct check_profile prof;
    char err[768];
    if (check_profile_load_flags(profile, CHECK_PROFILE_NO_SECRETS, &prof, err, sizeof err) != 0) {
        fprintf(stderr, "qcvn-check: %s\n", err);
        return 2;
    }
    int rc = check_dossier_write(&prof, &d, err, sizeof err);
    check_profile_free(&prof);
    if (rc != 0) {
        fprintf(stderr, "qcvn-check: %s\n", err);
        return 2;
    }
    fprintf(stderr, "qcvn-check: dossier in %s (dossier.vi.html, dossier.en.html, dossier.json)\n", d.out_dir);
    return 0;
}

struct fleet_entry {
    char target[256];
    char profile[1024];
    char dir[1100];
    pid_t pid;
    int code;
};

static int fleet(struct check_options *o, const char *file, const char *default_profile, const char *out,
                 unsigned formats, int parallel)
{
    char *buf = NULL;
    size_t len = 0;
    if (safecam_file_read(file, 1024 * 1024, &buf, &len) != 0)
        return die2("cannot read the targets file %s", file);
    struct fleet_entry *ents = calloc(4096, sizeof *ents);
    size_t n = 0;
    if (ents == NULL) {
        free(buf);
        return die2("%s", "out of memory");
    }
    char *cur = buf;
    int lineno = 0;
    for (char *line; (line = next_field(&cur, '\n')) != NULL;) {
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0' || *line == '\r')
            continue;
        char host[256] = "", prof[1024] = "";
        if (sscanf(line, "%255s %1023s", host, prof) < 1 || n >= 4096) {
            fprintf(stderr, "qcvn-check: %s:%d: expected \"HOST [PROFILE]\"\n", file, lineno);
            free(buf);
            free(ents);
            return 2;
        }
        struct fleet_entry *e = &ents[n];
        IGN_STRLCPY(e->target, host, sizeof e->target);
        if (prof[0])
            IGN_STRLCPY(e->profile, prof, sizeof e->profile);
        else if (default_profile)
            IGN_STRLCPY(e->profile, default_profile, sizeof e->profile);
        char safe[256];
        size_t k = 0;
        for (const char *c = host; *c && k + 1 < sizeof safe; c++)
            safe[k++] = (char)((*c == '/' || *c == ':' || *c == '%') ? '_' : *c);
        safe[k] = '\0';
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            if (strcmp(ents[j].target, host) == 0)
                dup++;
        if (dup)
            (void)snprintf(e->dir, sizeof e->dir, "%s/%s_%d", out, safe, dup + 1);
        else
            (void)snprintf(e->dir, sizeof e->dir, "%s/%s", out, safe);
        n++;
    }
    free(buf);
    if (n == 0) {
        free(ents);
        return die2("the targets file %s lists no target", file);
    }
    size_t next = 0, running = 0, done = 0;
    o->progress = 0;
    while (done < n) {
        while (running < (size_t)parallel && next < n) {
            struct fleet_entry *e = &ents[next++];
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                e->code = 2;
                done++;
                continue;
            }
            if (pid == 0) {
                o->target = e->target;
                _exit(audit_one(o, e->profile[0] ? e->profile : NULL, e->dir, formats | CHECK_FMT_JSON));
            }
            e->pid = pid;
            running++;
        }
        int status = 0;
        pid_t w = waitpid(-1, &status, 0);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (ents[i].pid == w) {
                ents[i].code = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
                ents[i].pid = 0;
                running--;
                done++;
                fprintf(stderr, "qcvn-check: [%zu/%zu] %s -> %s\n", done, n, ents[i].target,
                        ents[i].code == 0 ? "no mandatory FAIL" : (ents[i].code == 1 ? "mandatory FAIL" : "error"));
            }
        }
    }
    json_t *entries = json_array();
    int worst = 0, any_fail = 0, any_err = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_pack("{s:s,s:s}", "target", ents[i].target, "dir", ents[i].dir + strlen(out) + 1);
        char path[1200];
        (void)snprintf(path, sizeof path, "%s/report.json", ents[i].dir);
        json_t *rep = ents[i].code <= 1 ? json_load_file(path, 0, NULL) : NULL;
        if (rep)
            json_object_set_new(e, "report", rep);
        else
            json_object_set_new(e, "error", json_string("audit failed (see stderr)"));
        json_array_append_new(entries, e);
        any_fail |= ents[i].code == 1;
        any_err |= ents[i].code == 2;
    }
    if (check_fleet_write(entries, out, o->lang) != 0)
        any_err = 1;
    json_decref(entries);
    free(ents);
    worst = any_err ? 2 : (any_fail ? 1 : 0);
    fprintf(stderr, "qcvn-check: fleet of %zu device(s): summary in %s/fleet.json and fleet.html\n", n, out);
    return worst;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "dossier") == 0)
        return dossier_main(argc - 1, argv + 1);
    struct check_options o;
    check_options_defaults(&o);
    o.progress = isatty(STDERR_FILENO);
    const char *profile = NULL, *out = "qcvn-report", *targets = NULL;
    unsigned formats = CHECK_FMT_JSON | CHECK_FMT_HTML;
    int parallel = 4;
    enum {
        O_TARGET = 256, O_TARGETS, O_PROFILE, O_OUT, O_FORMAT, O_HTTPS, O_RTSPS, O_PORTS, O_DELAY, O_TIMEOUT,
        O_DESTR, O_LANG, O_TEMPLATE, O_LIST, O_MEASURE, O_MAXWAIT, O_PWFULL, O_ONLY, O_UDP, O_QUIET, O_PARALLEL,
        O_HELP, O_VERSION, O_SKIP,
    };
    static const struct option lo[] = {
        {"target", required_argument, NULL, O_TARGET},   {"targets", required_argument, NULL, O_TARGETS},
        {"profile", required_argument, NULL, O_PROFILE}, {"out", required_argument, NULL, O_OUT},
        {"format", required_argument, NULL, O_FORMAT},   {"https-port", required_argument, NULL, O_HTTPS},
        {"rtsps-port", required_argument, NULL, O_RTSPS}, {"ports", required_argument, NULL, O_PORTS},
        {"delay", required_argument, NULL, O_DELAY},     {"timeout", required_argument, NULL, O_TIMEOUT},
        {"allow-destructive", no_argument, NULL, O_DESTR}, {"lang", required_argument, NULL, O_LANG},
        {"profile-template", no_argument, NULL, O_TEMPLATE}, {"list-tests", no_argument, NULL, O_LIST},
        {"measure-lockout", no_argument, NULL, O_MEASURE}, {"max-wait", required_argument, NULL, O_MAXWAIT},
        {"pw-full", no_argument, NULL, O_PWFULL},        {"only", required_argument, NULL, O_ONLY},
        {"udp", no_argument, NULL, O_UDP},               {"quiet", no_argument, NULL, O_QUIET},
        {"parallel", required_argument, NULL, O_PARALLEL}, {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION}, {"skip", required_argument, NULL, O_SKIP},       {NULL, 0, NULL, 0},
    };
    int ch;
    long v;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_TARGET: o.target = optarg; break;
        case O_TARGETS: targets = optarg; break;
        case O_PROFILE: profile = optarg; break;
        case O_OUT: out = optarg; break;
        case O_FORMAT:
            if (parse_formats(optarg, &formats) != 0)
                return die2("--format: expected a comma list of json, html, sarif, junit, got \"%s\"", optarg);
            break;
        case O_HTTPS:
            if (safecam_parse_long(optarg, 1, 65535, &v) != 0)
                return die2("--https-port: expected 1..65535, got \"%s\"", optarg);
            o.https_port = (int)v;
            break;
        case O_RTSPS:
            if (safecam_parse_long(optarg, 1, 65535, &v) != 0)
                return die2("--rtsps-port: expected 1..65535, got \"%s\"", optarg);
            o.rtsps_port = (int)v;
            break;
        case O_PORTS:
            if (parse_ports(optarg, &o) != 0)
                return die2("--ports: expected all, common, declared or a list like 80,443,8000-8100, got \"%s\"", optarg);
            break;
        case O_DELAY:
            if (safecam_parse_long(optarg, 0, 60000, &v) != 0)
                return die2("--delay: expected milliseconds 0..60000, got \"%s\"", optarg);
            o.delay_ms = (int)v;
            break;
        case O_TIMEOUT:
            if (safecam_parse_long(optarg, 1, 300, &v) != 0)
                return die2("--timeout: expected seconds 1..300, got \"%s\"", optarg);
            o.timeout_s = (int)v;
            break;
        case O_MAXWAIT:
            if (safecam_parse_long(optarg, 0, 7200, &v) != 0)
                return die2("--max-wait: expected seconds 0..7200, got \"%s\"", optarg);
            o.max_wait_s = (int)v;
            break;
        case O_PARALLEL:
            if (safecam_parse_long(optarg, 1, 64, &v) != 0)
                return die2("--parallel: expected 1..64, got \"%s\"", optarg);
            parallel = (int)v;
            break;
        case O_DESTR: o.allow_destructive = 1; break;
        case O_LANG:
            if (strcmp(optarg, "vi") != 0 && strcmp(optarg, "en") != 0)
                return die2("--lang: expected vi or en, got \"%s\"", optarg);
            o.lang = optarg;
            break;
        case O_MEASURE: o.measure_lockout = 1; break;
        case O_PWFULL: o.pw_full = 1; break;
        case O_ONLY:
            for (const char *p = optarg; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == ','))
                    return die2("--only: expected test IDs like SC-02,IF-01, got \"%s\"", optarg);
            o.only = optarg;
            break;
        case O_SKIP:
            for (const char *p = optarg; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == ','))
                    return die2("--skip: expected test IDs like BF-01,SM-05, got \"%s\"", optarg);
            o.skip = optarg;
            break;
        case O_UDP: o.udp = 1; break;
        case O_QUIET: o.progress = 0; break;
        case O_TEMPLATE: fputs(check_profile_template(), stdout); return 0;
        case O_LIST: {
            size_t n;
            const struct check_test *t = check_catalogue(&n);
            for (size_t i = 0; i < n; i++)
                printf("%-6s %-4s %-11s %-13s %-9s %s\n", t[i].id, t[i].group,
                       t[i].level == CHECK_MANDATORY ? "mandatory" : "recommended", t[i].en303645,
                       t[i].run ? "automated" : "evidence", t[i].title_en);
            return 0;
        }
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: printf("qcvn-check %s\n", SAFECAM_VERSION); return 0;
        default:
            if (optind > 0 && optind <= argc)
                fprintf(stderr, "qcvn-check: unknown or incomplete option \"%s\" (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        return die2("unexpected argument \"%s\" (see --help)", argv[optind]);
    if ((o.target == NULL) == (targets == NULL))
        return die2("%s", "give exactly one of --target HOST or --targets FILE (see --help)");
    signal(SIGPIPE, SIG_IGN);
    if (targets)
        return fleet(&o, targets, profile, out, formats, parallel);
    return audit_one(&o, profile, out, formats);
}
