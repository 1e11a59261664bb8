/* fuzz_check_profile.c — libFuzzer target for the strict profile (ICS/IXIT) parser and the dossier built on it
 * (lib/check/dossier.c: ICS, IXIT, HTML).
 * Invariants: no crash or leak; on error one line starting "profile: "; on success the echo shows
 * credentials only as "provided"/"absent"; the ICS is built or refused with one line naming a field; the HTML
 * of a built dossier holds no raw '<' from the profile (every ICS justification is escaped). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct check_profile p;
    char err[256];
    if (check_profile_parse((const char *)data, size, "/nonexistent", &p, err, sizeof err) != 0) {
        if (strncmp(err, "profile: ", 9) != 0 || strchr(err, '\n') != NULL)
            abort();
        return 0;
    }
    json_t *echo = check_profile_echo(&p);
    /* credentials appear in the echo only as "provided"/"absent" */
    json_t *cr = json_object_get(echo, "credentials");
    const char *k;
    json_t *v;
    json_object_foreach(cr, k, v) {
        const char *sv = json_string_value(v);
        if (sv == NULL || (strcmp(sv, "provided") != 0 && strcmp(sv, "absent") != 0))
            abort();
    }
    char *txt = json_dumps(echo, 0);
    free(txt);
    json_decref(echo);
    json_t *ics = NULL;
    char ierr[512];
    if (check_ics_build(&p, &ics, ierr, sizeof ierr) != 0) {
        if (ics != NULL || strncmp(ierr, "profile: ", 9) != 0 || strchr(ierr, '\n') != NULL)
            abort();
    } else {
        json_t *d = json_pack("{s:O,s:o,s:{s:s}}", "ics", ics, "ixit", check_ixit_build(&p, ics), "firmware",
                              "version", p.firmware);
        for (int l = 0; d != NULL && l < 2; l++) {
            char *h = check_dossier_html(d, l ? "vi" : "en");
            if (h != NULL && strstr(h, "<script") != NULL)
                abort();
            free(h);
        }
        json_decref(d);
        json_decref(ics);
    }
    check_profile_free(&p);
    return 0;
}
