/* textbuf.c — the bounded text buffer the HTML/XML renderers of lib/check write into (report.c, dossier.c):
 * appends never fail on their own, a sticky error is checked once at the end, and check_sb_esc escapes every
 * string that came from a device, a profile or a report.
 * Trust level: pure string handling; its input is untrusted text. */
#include "check_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_SB_MAX_BYTES ((size_t)64 * 1024 * 1024)

void check_sb_add(struct check_sb *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (!b->started) {
        safecam_buf_init(&b->buf, CHECK_SB_MAX_BYTES, 0);
        b->started = 1;
    }
    if (safecam_buf_add(&b->buf, s, n) != 0)
        b->err = 1; /* the buffer is already freed */
}

void check_sb_puts(struct check_sb *b, const char *s)
{
    check_sb_add(b, s, strlen(s));
}

void check_sb_printf(struct check_sb *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    check_sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void check_sb_esc(struct check_sb *b, const char *s)
{
    if (s == NULL)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '<': check_sb_puts(b, "&lt;"); break;
        case '>': check_sb_puts(b, "&gt;"); break;
        case '&': check_sb_puts(b, "&amp;"); break;
        case '"': check_sb_puts(b, "&quot;"); break;
        case '\'': check_sb_puts(b, "&#39;"); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                check_sb_puts(b, "?");
            else
                check_sb_add(b, s, 1);
        }
    }
}

char *check_sb_done(struct check_sb *b)
{
    if (b->err)
        return NULL;
    return b->started ? safecam_buf_take(&b->buf) : NULL;
}

const char *check_js(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

const char *check_L(const char *lang, const char *en, const char *vi)
{
    return lang && strcmp(lang, "vi") == 0 ? vi : en;
}
