/* static.c — the static web UI: every allowed file under the UI directory read once at start into memory
 * (names from a charset allowlist, known types only, no symlinks, bounded count, size and depth) and served
 * from there; nothing on disk is opened per request. The directory is --ui-dir, or by default the tree's ui/
 * when the program runs from its build tree, else the installed one (SAFECAM_UI_INSTALL_DIR).
 * Trust level: network-facing; a request only selects among the loaded files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_internal.h"

#define STATIC_FILE_MAX_BYTES ((size_t)2 * 1024 * 1024)
#define STATIC_TOTAL_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define STATIC_FILES_MAX 256
#define STATIC_DEPTH_MAX 3

const struct static_file *http_static_find(const http_server *srv, const char *path)
{
    const char *p = strcmp(path, "/") == 0 ? "/index.html" : path;
    for (size_t i = 0; i < srv->n_files; i++)
        if (strcmp(srv->files[i].path, p) == 0)
            return &srv->files[i];
    return NULL;
}

static enum MHD_Result h_static(struct req *r)
{
    const struct static_file *f = r->file;
    if (!f)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found");
    struct MHD_Response *resp = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    http_security_headers_add(resp, 1);
    MHD_add_response_header(resp, "Content-Type", f->ctype);
    return http_reply_queue(r, MHD_HTTP_OK, resp);
}

static const char *ctype_for(const char *name)
{
    static const struct {
        const char *ext;
        const char *ctype;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < SAFECAM_ARRAY_LEN(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].ctype;
    return NULL;
}

static int static_name_ok(const char *name)
{
    if (!name[0] || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return strlen(name) < 96;
}

static int static_load_dir(http_server *srv, int dir_fd, const char *prefix, int depth)
{
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        close(dir_fd);
        return SAFECAM_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!static_name_ok(e->d_name))
            continue;
        char rel[HTTP_PATH_MAX_BYTES];
        if (safecam_fmt(rel, sizeof(rel), "%s/%s", prefix, e->d_name) != 0)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) != 0) {
            close(fd);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 < STATIC_DEPTH_MAX)
                (void)static_load_dir(srv, fd, rel, depth + 1);
            else
                close(fd);
            continue;
        }
        const char *ct = ctype_for(e->d_name);
        if (!S_ISREG(st.st_mode) || !ct || (size_t)st.st_size > STATIC_FILE_MAX_BYTES ||
            srv->files_bytes + (size_t)st.st_size > STATIC_TOTAL_MAX_BYTES ||
            srv->n_files >= STATIC_FILES_MAX) {
            close(fd);
            continue;
        }
        unsigned char *data = malloc((size_t)st.st_size + 1);
        size_t got = 0;
        while (data && got < (size_t)st.st_size) {
            ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
        if (!data || got != (size_t)st.st_size) {
            free(data);
            continue;
        }
        struct static_file *f = &srv->files[srv->n_files];
        memcpy(f->path, rel, strlen(rel) + 1);
        f->ctype = ct;
        f->data = data;
        f->len = got;
        srv->n_files++;
        srv->files_bytes += got;
    }
    closedir(d);
    return 0;
}

#ifndef SAFECAM_UI_INSTALL_DIR
#define SAFECAM_UI_INSTALL_DIR "/usr/share/safecam/ui"
#endif

int http_ui_dir_default(char *out, size_t out_size)
{
#if defined(SAFECAM_BUILD_ROOT) && defined(SAFECAM_SOURCE_UI_DIR)
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    size_t root_len = strlen(SAFECAM_BUILD_ROOT);
    if (n > 0) {
        exe[n] = '\0';
        if ((size_t)n > root_len && strncmp(exe, SAFECAM_BUILD_ROOT, root_len) == 0 && exe[root_len] == '/')
            return safecam_strlcpy(out, SAFECAM_SOURCE_UI_DIR, out_size);
    }
#endif
    return safecam_strlcpy(out, SAFECAM_UI_INSTALL_DIR, out_size);
}

#ifndef SAFECAM_SBOM_INSTALL_PATH
#define SAFECAM_SBOM_INSTALL_PATH "/usr/share/safecam/sbom.cdx.json"
#endif

int http_sbom_path_default(char *out, size_t out_size)
{
#if defined(SAFECAM_BUILD_ROOT)
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    size_t root_len = strlen(SAFECAM_BUILD_ROOT);
    if (n > 0) {
        exe[n] = '\0';
        if ((size_t)n > root_len && strncmp(exe, SAFECAM_BUILD_ROOT, root_len) == 0 && exe[root_len] == '/')
            return safecam_path_join(out, out_size, SAFECAM_BUILD_ROOT, "sbom.cdx.json");
    }
#endif
    return safecam_strlcpy(out, SAFECAM_SBOM_INSTALL_PATH, out_size);
}

int http_sbom_read(const char *path, char **out, size_t *out_len)
{
    if (!path || !out || !out_len)
        return SAFECAM_ERR_INVAL;
    *out = NULL;
    *out_len = 0;
    if (access(path, F_OK) != 0)
        return errno == ENOENT ? SAFECAM_ERR_NOTFOUND : SAFECAM_ERR_IO;
    char *data = NULL;
    size_t len = 0;
    int rc = safecam_file_read(path, HTTP_SBOM_MAX_BYTES, &data, &len);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *fmt = json_is_object(doc) ? json_string_value(json_object_get(doc, "bomFormat")) : NULL;
    int ok = fmt && strcmp(fmt, "CycloneDX") == 0;
    json_decref(doc);
    if (!ok) {
        free(data);
        return SAFECAM_ERR_INVAL;
    }
    *out = data;
    *out_len = len;
    return 0;
}

void http_static_load(http_server *srv)
{
    if (!srv->ui_dir[0] && http_ui_dir_default(srv->ui_dir, sizeof(srv->ui_dir)) != 0) {
        log_warn("default UI directory path too long; static UI not served");
        return;
    }
    srv->files = calloc(STATIC_FILES_MAX, sizeof(*srv->files));
    if (!srv->files)
        return;
    int fd = open(srv->ui_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("UI directory not readable; static UI not served");
        return;
    }
    (void)static_load_dir(srv, fd, "", 0);
    log_info("static UI: %zu files, %zu bytes from %s", srv->n_files, srv->files_bytes, srv->ui_dir);
}

const struct route http_static_route = {"GET", "/*", ROLE_PUBLIC, R_PUBLIC, 0, NULL, h_static};

void http_static_free(http_server *srv)
{
    for (size_t i = 0; i < srv->n_files; i++)
        free(srv->files[i].data);
    free(srv->files);
    srv->files = NULL;
    srv->n_files = 0;
}
