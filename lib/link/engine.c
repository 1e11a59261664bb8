/* engine.c — the connections to the linked services: events to an MQTT broker (libmosquitto, TLS with the
 * admin's CA, hostname verified, TLS >= 1.2, QoS 1, one message in flight so order is kept) and uploads to a
 * WebDAV folder (libcurl over HTTPS, peer and host verified), their own retention there, deletion of
 * everything uploaded, and reconnection with jittered exponential back-off. One thread owns an engine.
 * Trust level: the services' answers are untrusted; the settings were validated (validate.c) and hold the
 * secrets in clear only here, in memory, wiped when replaced. State kept in dir: the CA files (public) and
 * state.json (names uploaded with their times, topics used: no secret).
 * QCVN 135 G8 (encryption in transit, resilience), G9 (deletion on linked services) / EN 303 645 5.5-1,
 * 5.9-1, 5.11-1. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mosquitto.h>
#include <sodium.h>

#include "safecam/core.h"
#include "safecam/link.h"
#include "safecam/record.h"

#define EVENT_QUEUE_ITEMS 256
#define EVENT_QUEUE_BYTES (1024 * 1024)
#define UPLOAD_QUEUE_ITEMS 64
#define UPLOAD_QUEUE_BYTES (64 * 1024)
#define UPLOADED_MAX 10000            /* names remembered for deletion and retention */
#define MQTT_CONNACK_TIMEOUT_MS 10000 /* a broker that accepts TCP but never answers CONNECT */
#define UPLOAD_FILE_MAX (256L * 1024 * 1024)
#define RETENTION_EVERY_MS (3600 * 1000)
/* The first string of an upload entry held by descriptor: CLEAR_ENTRY for a file in clear (a capture), or
 * "sealed:m:<id>" / "sealed:c:<id>" for a sealed motion / continuous segment; any other string is a local path
 * (the standalone form). */
#define CLEAR_ENTRY "clear"
#define SEALED_PREFIX "sealed:"
#define SEALED_PREFIX_LEN (sizeof SEALED_PREFIX - 1)
#define SEALED_ID_OFFSET (SEALED_PREFIX_LEN + 2)
#define GONE_SCAN_EVERY_MS 1000
#define RETENTION_PER_STEP 1 /* blocking DELETEs per step of the hourly retention */
#define DELETE_TIMEOUT_MS 3000L /* one DELETE, connection included */
#define UPLOAD_STALL_BYTES_PER_S 512L /* an upload slower than this ... */
#define UPLOAD_STALL_S 30L            /* ... for this long is given up (and tried again after the back-off) */
#define DECRYPT_WAIT_MS 10000 /* a clear copy asked of the vault and not come: asked again */

struct creds {
    char *username; /* NULL: none */
    char *password;
};

struct mqtt_side {
    int configured;
    char host[256];
    int port;
    char ca_file[512];
    char topic[LINK_FIELD_MAX + 80];
    struct creds cr;
    struct mosquitto *m;
    int connected, connecting;
    int64_t connect_deadline;
    int inflight, inflight_mid;
    int clearing, clearing_mid; /* an empty retained message of a deletion */
    struct safecam_backoff bo;
    uint64_t attempts, delivered, tls_refused, connects;
};

struct dav_put {
    CURLM *multi; /* made at the first upload, kept */
    CURL *c;      /* NULL: none in flight */
    FILE *f;
    char name[136];   /* the queue entry's name (its b) */
    char remote[256]; /* <device id>_<name> */
};

struct webdav_side {
    int configured;
    char base[LINK_URL_MAX + 2]; /* ends in '/' */
    char ca_file[512];
    struct creds cr;
    int retention_days;
    int upload_mode;             /* enum link_upload_mode */
    int clear_fd;                /* the clear copy of the sealed segment at the head of the queue, or -1 */
    char asked_id[RECORD_ID_HEX + 1]; /* the segment whose clear copy was asked for ("" = none) */
    char clear_id[RECORD_ID_HEX + 1]; /* the segment clear_fd belongs to */
    int64_t asked_ms;            /* when (monotonic) */
    int64_t gone_scan_ms;        /* the last look for sealed segments deleted on the camera meanwhile */
    struct dav_put put;          /* the upload in flight */
    int retention_deleted_last;  /* deleted by the last retention pass */
    struct safecam_backoff bo;
    uint64_t attempts, uploaded, failures, tls_refused;
    long last_status;
    int64_t last_retention_ms;
};

struct link_engine {
    char dir[400];
    char device_id[64];
    link_audit_fn audit;
    void *user;
    link_decrypt_fn decrypt;
    void *decrypt_user;
    json_t *state; /* {"uploaded":[{"name","t"}],"topics":[...]} */
    struct link_queue events, uploads;
    struct mqtt_side mq;
    struct webdav_side dav;
};

static void audit_ev(link_engine *e, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void dav_put_abort(link_engine *e);
static void dav_put_cancel(link_engine *e);

/* The segment id of a sealed entry, or NULL for any other entry. */
static const char *entry_sealed_id(const struct link_queue_entry *q)
{
    return q && q->a && strncmp(q->a, SEALED_PREFIX, SEALED_PREFIX_LEN) == 0 && strlen(q->a) == SEALED_ID_OFFSET + RECORD_ID_HEX
               ? q->a + SEALED_ID_OFFSET
               : NULL;
}

/* A local path (the standalone form's uploads): kept by a deletion, which cancels only the camera's own. */
static int entry_is_path(const struct link_queue_entry *q, void *user)
{
    (void)user;
    return q->fd < 0 && !entry_sealed_id(q);
}

/* Whether the settings applied still want an entry queued before (webdav.upload, or the folder removed). Local
 * paths (the standalone form) are always kept. */
static int entry_wanted(const struct link_queue_entry *q, void *user)
{
    const link_engine *e = user;
    int mode = e->dav.configured ? e->dav.upload_mode : -1;
    if (entry_sealed_id(q))
        return mode == LINK_UPLOAD_ALL || (mode == LINK_UPLOAD_MOTION && q->a[SEALED_PREFIX_LEN] == 'm');
    if (q->fd >= 0 && strcmp(q->a, CLEAR_ENTRY) == 0)
        return mode == LINK_UPLOAD_ALL || mode == LINK_UPLOAD_MOTION;
    return 1;
}
static int retention_some(link_engine *e, int64_t now, int max_tries);
static void audit_ev(link_engine *e, const char *type, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (n < 0)
        detail[0] = '\0';
    log_info("link: %s %s", type, detail);
    if (e->audit)
        e->audit(e->user, type, detail);
}

static void creds_clear(struct creds *c)
{
    if (c->username) {
        sodium_memzero(c->username, strlen(c->username));
        free(c->username);
    }
    if (c->password) {
        sodium_memzero(c->password, strlen(c->password));
        free(c->password);
    }
    c->username = c->password = NULL;
}

static int creds_set(struct creds *c, const json_t *o)
{
    creds_clear(c);
    const char *u = json_string_value(json_object_get(o, "username"));
    const char *p = json_string_value(json_object_get(o, "password"));
    if (u && *u && !(c->username = strdup(u)))
        return SAFECAM_ERR_NOMEM;
    if (p && *p && !(c->password = strdup(p)))
        return SAFECAM_ERR_NOMEM;
    return 0;
}

static int state_save(link_engine *e)
{
    char path[512];
    if (safecam_path_join(path, sizeof path, e->dir, "state.json") != 0)
        return SAFECAM_ERR_TOOBIG;
    char *txt = json_dumps(e->state, JSON_COMPACT);
    if (!txt)
        return SAFECAM_ERR_NOMEM;
    int rc = safecam_file_write_atomic(path, txt, strlen(txt), 0600);
    free(txt);
    if (rc != 0)
        log_warn("link: cannot write %s", path);
    return rc;
}

static void state_load(link_engine *e)
{
    char path[512];
    char *txt = NULL;
    size_t len = 0;
    json_t *st = NULL;
    if (safecam_path_join(path, sizeof path, e->dir, "state.json") == 0 &&
        safecam_file_read(path, 4 * 1024 * 1024, &txt, &len) == 0) {
        st = json_loadb(txt, len, JSON_REJECT_DUPLICATES, NULL);
        free(txt);
    }
    if (!json_is_object(st) || !json_is_array(json_object_get(st, "uploaded")) ||
        !json_is_array(json_object_get(st, "topics"))) {
        json_decref(st);
        st = json_pack("{s:[],s:[]}", "uploaded", "topics");
    }
    json_decref(e->state);
    e->state = st;
}

link_engine *link_engine_new(const char *dir, const char *device_id, link_audit_fn audit, void *user)
{
    if (!dir || !device_id || !*device_id || strlen(device_id) >= 64)
        return NULL;
    for (const char *c = device_id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_' || *c == '.'))
            return NULL;
    link_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (safecam_strlcpy(e->dir, dir, sizeof e->dir) != 0 || safecam_mkdir_p(dir, 0700) != 0 ||
        safecam_strlcpy(e->device_id, device_id, sizeof e->device_id) != 0 ||
        link_queue_init(&e->events, EVENT_QUEUE_ITEMS, EVENT_QUEUE_BYTES) != 0 ||
        link_queue_init(&e->uploads, UPLOAD_QUEUE_ITEMS, UPLOAD_QUEUE_BYTES) != 0) {
        link_queue_free(&e->events);
        free(e);
        return NULL;
    }
    e->audit = audit;
    e->user = user;
    e->dav.clear_fd = -1;
    safecam_backoff_reset(&e->mq.bo);
    safecam_backoff_reset(&e->dav.bo);
    state_load(e);
    static int lib_started;
    if (!lib_started) {
        mosquitto_lib_init();
        curl_global_init(CURL_GLOBAL_DEFAULT);
        lib_started = 1;
    }
    return e;
}

static void mqtt_drop(link_engine *e)
{
    if (e->mq.m) {
        mosquitto_disconnect(e->mq.m);
        mosquitto_destroy(e->mq.m);
    }
    e->mq.m = NULL;
    if (e->mq.connected)
        audit_ev(e, "link_disconnected", "service=mqtt");
    e->mq.connected = e->mq.connecting = 0;
    e->mq.inflight = 0; /* the message at the head is sent again after reconnection (QoS 1) */
}

/* Sealed segments deleted on the camera while they wait (retention, an admin): their descriptors kept the deleted
 * files' blocks allocated, which a camera short of storage needs back. Closed here; the entries leave the queue,
 * audited, when they reach its head. */
static void sealed_gone_release(link_engine *e)
{
    struct link_queue *q = &e->uploads;
    for (size_t i = 0; i < q->count; i++) {
        struct link_queue_entry *it = &q->items[(q->head + i) % q->max_items];
        struct stat st;
        if (it->fd >= 0 && entry_sealed_id(it) && fstat(it->fd, &st) == 0 &&
            st.st_nlink == 0) {
            close(it->fd);
            it->fd = -1;
        }
    }
}

/* Forget the clear copy asked for or held for the head of the upload queue. */
static void dav_clear_drop(link_engine *e)
{
    if (e->dav.clear_fd >= 0)
        close(e->dav.clear_fd);
    e->dav.clear_fd = -1;
    e->dav.asked_id[0] = '\0';
    e->dav.clear_id[0] = '\0';
}

void link_engine_free(link_engine *e)
{
    if (!e)
        return;
    mqtt_drop(e);
    creds_clear(&e->mq.cr);
    creds_clear(&e->dav.cr);
    dav_put_abort(e);
    if (e->dav.put.multi)
        curl_multi_cleanup(e->dav.put.multi);
    dav_clear_drop(e);
    link_queue_free(&e->events);
    link_queue_free(&e->uploads);
    json_decref(e->state);
    free(e);
}

static int ca_write(link_engine *e, const char *name, const json_t *o, char *out, size_t out_size)
{
    const char *pem = json_string_value(json_object_get(o, "ca_pem"));
    if (!pem || safecam_path_join(out, out_size, e->dir, name) != 0)
        return SAFECAM_ERR_INVAL;
    return safecam_file_write_atomic(out, pem, strlen(pem), 0600);
}

int link_engine_configure(link_engine *e, const json_t *settings)
{
    char field[64];
    if (!e || link_settings_validate(settings, field, sizeof field) != 0)
        return SAFECAM_ERR_INVAL;
    dav_put_cancel(e); /* an upload in flight restarts with the new settings, if they still want it */
    dav_clear_drop(e);
    mqtt_drop(e);
    creds_clear(&e->mq.cr);
    creds_clear(&e->dav.cr);
    e->mq.configured = e->dav.configured = 0;
    const json_t *mq = json_object_get(settings, "mqtt");
    const char *url = json_string_value(json_object_get(mq, "url"));
    const char *topic = json_string_value(json_object_get(mq, "topic"));
    char path[LINK_URL_MAX + 1];
    if (url && topic) {
        if (link_url_parse(url, "mqtts", e->mq.host, sizeof e->mq.host, &e->mq.port, path, sizeof path) != 0 ||
            ca_write(e, "mqtt-ca.pem", mq, e->mq.ca_file, sizeof e->mq.ca_file) != 0 ||
            safecam_fmt(e->mq.topic, sizeof e->mq.topic, "%s/%s", topic, e->device_id) != 0 ||
            creds_set(&e->mq.cr, mq) != 0)
            return SAFECAM_ERR_INVAL;
        e->mq.configured = 1;
        safecam_backoff_reset(&e->mq.bo);
    }
    const json_t *dav = json_object_get(settings, "webdav");
    url = json_string_value(json_object_get(dav, "url"));
    if (url) {
        char host[256];
        int port;
        size_t ul = strlen(url);
        if (link_url_parse(url, "https", host, sizeof host, &port, path, sizeof path) != 0 ||
            safecam_fmt(e->dav.base, sizeof e->dav.base, "%s%s", url, (ul && url[ul - 1] == '/') ? "" : "/") != 0 ||
            ca_write(e, "webdav-ca.pem", dav, e->dav.ca_file, sizeof e->dav.ca_file) != 0 ||
            creds_set(&e->dav.cr, dav) != 0)
            return SAFECAM_ERR_INVAL;
        json_int_t days = json_integer_value(json_object_get(dav, "retention_days"));
        e->dav.retention_days = days > 0 ? (int)days : 30;
        const char *mode = json_string_value(json_object_get(dav, "upload"));
        e->dav.upload_mode = mode ? link_upload_mode_parse(mode) : LINK_UPLOAD_DEFAULT;
        e->dav.configured = 1;
        e->dav.last_retention_ms = safecam_time_mono_ms();
        safecam_backoff_reset(&e->dav.bo);
    }
    size_t gone = link_queue_filter(&e->uploads, entry_wanted, e);
    if (gone)
        log_info("link: %zu queued upload(s) dropped: the new settings do not want them", gone);
    return 0;
}

/* ---- MQTT ---- */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    link_engine *e = obj;
    e->mq.connecting = 0;
    if (rc == 0) {
        e->mq.connected = 1;
        e->mq.connects++;
        safecam_backoff_reset(&e->mq.bo);
        audit_ev(e, "link_connected", "service=mqtt attempts=%llu", (unsigned long long)e->mq.attempts);
    } else {
        audit_ev(e, "link_refused", "service=mqtt connack=%d", rc);
    }
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m, (void)rc;
    link_engine *e = obj;
    if (e->mq.connected)
        audit_ev(e, "link_disconnected", "service=mqtt");
    e->mq.connected = 0;
    e->mq.inflight = 0;
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    link_engine *e = obj;
    if (e->mq.clearing && mid == e->mq.clearing_mid) {
        e->mq.clearing = 0;
        return;
    }
    if (e->mq.inflight && mid == e->mq.inflight_mid) {
        e->mq.inflight = 0;
        if (e->events.count) {
            link_queue_pop(&e->events);
            e->mq.delivered++;
        }
    }
}

static void mqtt_failed(link_engine *e, const char *why)
{
    int was_down = e->mq.bo.failures > 0;
    mqtt_drop(e);
    int wait = link_backoff_failed(&e->mq.bo, safecam_time_mono_ms());
    if (!was_down)
        log_warn("link: mqtt %s, retrying with back-off (next in %d ms)", why, wait);
}

static void mqtt_attempt(link_engine *e)
{
    struct mqtt_side *s = &e->mq;
    s->attempts++;
    char client_id[96];
    if (safecam_fmt(client_id, sizeof client_id, "safecam-%s", e->device_id) != 0)
        return;
    s->m = mosquitto_new(client_id, true, e);
    if (!s->m) {
        mqtt_failed(e, "cannot allocate");
        return;
    }
    mosquitto_int_option(s->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(s->m, on_connect);
    mosquitto_disconnect_callback_set(s->m, on_disconnect);
    mosquitto_publish_callback_set(s->m, on_publish);
    /* TLS: the admin's CA only, peer verified, hostname checked (tls_insecure false); tls_version NULL lets
     * libmosquitto refuse TLS 1.0 and 1.1 and negotiate 1.2 or 1.3. */
    if (mosquitto_tls_set(s->m, s->ca_file, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS ||
        mosquitto_tls_opts_set(s->m, 1 /* SSL_VERIFY_PEER */, NULL, NULL) != MOSQ_ERR_SUCCESS ||
        mosquitto_tls_insecure_set(s->m, false) != MOSQ_ERR_SUCCESS ||
        (s->cr.username && mosquitto_username_pw_set(s->m, s->cr.username, s->cr.password) != MOSQ_ERR_SUCCESS)) {
        mqtt_failed(e, "TLS setup failed");
        return;
    }
    int rc = mosquitto_connect(s->m, s->host, s->port, 30);
    if (rc == MOSQ_ERR_TLS) {
        s->tls_refused++;
        audit_ev(e, "link_tls_refused", "service=mqtt host=%s", s->host);
        mqtt_failed(e, "TLS handshake refused (certificate)");
        return;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        mqtt_failed(e, "connect failed");
        return;
    }
    s->connecting = 1;
    s->connect_deadline = safecam_time_mono_ms() + MQTT_CONNACK_TIMEOUT_MS;
}

static void mqtt_topic_remember(link_engine *e, const char *topic)
{
    json_t *topics = json_object_get(e->state, "topics");
    size_t i;
    json_t *v;
    json_array_foreach(topics, i, v) if (json_is_string(v) && strcmp(json_string_value(v), topic) == 0) return;
    json_array_append_new(topics, json_string(topic));
    (void)state_save(e);
}

static void mqtt_step(link_engine *e, int wait_ms)
{
    struct mqtt_side *s = &e->mq;
    if (!s->configured)
        return;
    int64_t now = safecam_time_mono_ms();
    if (!s->m) {
        if (!safecam_backoff_due(&s->bo, now))
            return;
        mqtt_attempt(e);
        if (!s->m)
            return;
    }
    if (s->connected && !s->inflight && e->events.count) {
        const struct link_queue_entry *h = link_queue_peek(&e->events);
        int mid = 0;
        mqtt_topic_remember(e, s->topic);
        int rc = mosquitto_publish(s->m, &mid, s->topic, (int)strlen(h->a), h->a, 1, true);
        if (rc == MOSQ_ERR_SUCCESS) {
            s->inflight = 1;
            s->inflight_mid = mid;
        } else {
            mqtt_failed(e, "publish failed");
            return;
        }
    }
    int rc = mosquitto_loop(s->m, wait_ms, 1);
    if (rc == MOSQ_ERR_TLS) {
        s->tls_refused++;
        audit_ev(e, "link_tls_refused", "service=mqtt host=%s", s->host);
        mqtt_failed(e, "TLS refused");
        return;
    }
    if (rc != MOSQ_ERR_SUCCESS || (!s->connected && !s->connecting)) {
        mqtt_failed(e, "connection lost");
        return;
    }
    if (s->connecting && safecam_time_mono_ms() > s->connect_deadline)
        mqtt_failed(e, "no CONNACK");
}

/* ---- WebDAV ---- */

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p, (void)u;
    return sz * n;
}

/* One request to base+name; method "PUT" (body from the file fd) or "DELETE". Returns the HTTP status, or
 * -1 (transport), -2 (the server's certificate refused). */
/* A configured easy handle for method on name (body: an upload of body_len bytes read from it), or NULL. */
static CURL *dav_easy(link_engine *e, const char *method, const char *name, FILE *body, long body_len)
{
    struct webdav_side *s = &e->dav;
    char url[LINK_URL_MAX + 256];
    if (safecam_fmt(url, sizeof url, "%s%s", s->base, name) != 0)
        return NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    int bad = 0;
    bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    if (body) { /* an upload runs beside the loop: no total bound (a big segment on a slow uplink), a stall bound */
        bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, UPLOAD_STALL_BYTES_PER_S) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, UPLOAD_STALL_S) != CURLE_OK;
    } else { /* a DELETE blocks the loop: short enough for the supervisor's heartbeats (3 x 2 s) */
        bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, DELETE_TIMEOUT_MS) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, DELETE_TIMEOUT_MS) != CURLE_OK;
    }
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "safecam-link/" SAFECAM_VERSION) != CURLE_OK;
    if (s->cr.username) {
        bad |= curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_USERNAME, s->cr.username) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_PASSWORD, s->cr.password ? s->cr.password : "") != CURLE_OK;
    }
    if (body) {
        bad |= curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_READDATA, body) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len) != CURLE_OK;
    } else {
        bad |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L) != CURLE_OK;
    }
    if (bad) {
        curl_easy_cleanup(c);
        return NULL;
    }
    return c;
}

/* The HTTP status of a finished transfer; -2 for a refused certificate, -1 for any other failure. */
static long dav_status(CURL *c, CURLcode rc)
{
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CONNECT_ERROR)
        status = -2;
    return status;
}

/* One blocking request (DELETE: retention, bounded per run, and deletion on request). */
static long dav_request(link_engine *e, const char *method, const char *name, FILE *body, long body_len)
{
    CURL *c = dav_easy(e, method, name, body, body_len);
    if (!c)
        return -1;
    long status = dav_status(c, curl_easy_perform(c));
    curl_easy_cleanup(c);
    return status;
}

/* The upload in flight, driven without blocking from link_engine_step (curl's multi interface): the process's
 * loop keeps answering the supervisor's heartbeats and the broker while a segment of many megabytes goes out. */
static void dav_put_abort(link_engine *e)
{
    struct dav_put *t = &e->dav.put;
    if (t->c) {
        curl_multi_remove_handle(t->multi, t->c);
        curl_easy_cleanup(t->c);
    }
    if (t->f)
        fclose(t->f);
    t->c = NULL;
    t->f = NULL;
}

static void uploaded_remember(link_engine *e, const char *remote);

/* Stop the upload in flight before its end: the server may have the whole file already (the answer was not read),
 * so its name joins the list of uploads, which retention and deletion go through (404 there counts as gone). */
static void dav_put_cancel(link_engine *e)
{
    if (e->dav.put.c)
        uploaded_remember(e, e->dav.put.remote);
    dav_put_abort(e);
}

static void uploaded_remember(link_engine *e, const char *remote)
{
    json_t *up = json_object_get(e->state, "uploaded");
    for (size_t i = json_array_size(up); i-- > 0;) { /* once per name (a cancelled upload sent again) */
        const char *n = json_string_value(json_object_get(json_array_get(up, i), "name"));
        if (n && strcmp(n, remote) == 0)
            json_array_remove(up, i);
    }
    while (json_array_size(up) >= UPLOADED_MAX)
        json_array_remove(up, 0);
    json_array_append_new(up, json_pack("{s:s,s:I}", "name", remote, "t", (json_int_t)safecam_time_now()));
    (void)state_save(e);
}

/* The end of an upload: status as dav_status. The head is popped only if it is still the entry that was sent (a
 * full queue may have dropped it meanwhile). */
static void dav_put_done(link_engine *e, long status)
{
    struct webdav_side *s = &e->dav;
    const struct link_queue_entry *h = link_queue_peek(&e->uploads);
    int same = h && h->b && strcmp(h->b, s->put.name) == 0;
    int64_t now = safecam_time_mono_ms();
    s->last_status = status;
    if (status >= 200 && status < 300) {
        uploaded_remember(e, s->put.remote);
        if (same)
            link_queue_pop(&e->uploads);
        s->uploaded++;
        if (s->bo.failures)
            audit_ev(e, "link_connected", "service=webdav attempts=%llu", (unsigned long long)s->attempts);
        safecam_backoff_reset(&s->bo);
        return;
    }
    s->failures++;
    if (status == -2) {
        s->tls_refused++;
        audit_ev(e, "link_tls_refused", "service=webdav");
    } else if (s->bo.failures == 0) {
        audit_ev(e, "link_upload_failed", "service=webdav name=%s status=%ld", s->put.name, status);
    }
    /* 507, 5xx, any refusal or a lost connection: the entry stays at the head (the local copy is kept) */
    link_backoff_failed(&s->bo, now);
}

/* Start the PUT of f (size bytes) as the head entry; takes f. */
static void dav_put_start(link_engine *e, const struct link_queue_entry *h, const char *remote, FILE *f, long size)
{
    struct dav_put *t = &e->dav.put;
    rewind(f); /* from the start: a descriptor shared with another process has its offset anywhere */
    if (!t->multi)
        t->multi = curl_multi_init();
    t->f = f;
    if (safecam_strlcpy(t->name, h->b, sizeof t->name) != 0 || safecam_strlcpy(t->remote, remote, sizeof t->remote) != 0 ||
        !t->multi || !(t->c = dav_easy(e, "PUT", remote, f, size)) || curl_multi_add_handle(t->multi, t->c) != CURLM_OK) {
        dav_put_abort(e);
        dav_put_done(e, -1);
        return;
    }
    int running = 0;
    (void)curl_multi_perform(t->multi, &running); /* the connection starts now; the rest at the next steps */
}

/* Drive the upload in flight without blocking; finish it when curl says it is done. */
static void dav_put_poll(link_engine *e)
{
    struct dav_put *t = &e->dav.put;
    int running = 0;
    CURLMcode mc = curl_multi_perform(t->multi, &running);
    if (mc == CURLM_OK && running)
        return;
    CURLcode rc = CURLE_FAILED_INIT;
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(t->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == t->c)
            rc = m->data.result;
    long status = dav_status(t->c, rc);
    dav_put_abort(e); /* the handle and the file, done with */
    dav_put_done(e, status);
}

static void dav_step(link_engine *e)
{
    struct webdav_side *s = &e->dav;
    int64_t now = safecam_time_mono_ms();
    if (now - s->gone_scan_ms >= GONE_SCAN_EVERY_MS) { /* also with no folder configured: the blocks go back */
        s->gone_scan_ms = now;
        sealed_gone_release(e);
    }
    if (!s->configured)
        return;
    if (s->put.c) {
        dav_put_poll(e);
        return;
    }
    if (now - s->last_retention_ms >= RETENTION_EVERY_MS) {
        /* a few DELETEs per step (each a blocking request of its own): the rest a second later */
        int more = retention_some(e, safecam_time_now(), RETENTION_PER_STEP);
        s->last_retention_ms = more ? now - RETENTION_EVERY_MS + 1000 : now;
    }
    const struct link_queue_entry *h = link_queue_peek(&e->uploads);
    if (s->clear_fd >= 0 && (!h || h->fd < 0 || !entry_sealed_id(h) || strcmp(entry_sealed_id(h), s->clear_id) != 0))
        dav_clear_drop(e); /* the copy of a segment that left the queue meanwhile (dropped when full, or refused) */
    if (h && h->fd < 0 && entry_sealed_id(h)) {
        audit_ev(e, "link_upload_failed", "service=webdav name=%s why=deleted_on_the_camera", h->b);
        link_queue_pop(&e->uploads);
        dav_clear_drop(e);
        return;
    }
    if (!h || !safecam_backoff_due(&s->bo, now))
        return;
    char remote[256];
    if (safecam_fmt(remote, sizeof remote, "%s_%s", e->device_id, h->b) != 0) {
        link_queue_pop(&e->uploads);
        return;
    }
    int fd;
    if (h->fd >= 0 && strcmp(h->a, CLEAR_ENTRY) == 0) { /* a file in clear (a capture): read again at each try */
        s->attempts++;
        fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);
    } else if (h->fd >= 0) { /* a sealed segment: its clear copy first, asked of the vault (answered asynchronously) */
        const char *id = entry_sealed_id(h);
        struct stat hs;
        if (s->clear_fd < 0 && fstat(h->fd, &hs) == 0 && hs.st_nlink == 0) {
            sealed_gone_release(e); /* deleted on the camera: never ask the vault; it leaves at the next step */
            return;
        }
        if (s->clear_fd < 0) {
            if (s->asked_id[0] && strcmp(s->asked_id, id) == 0 && now - s->asked_ms < DECRYPT_WAIT_MS)
                return; /* the answer is on its way */
            s->attempts++;
            if (!e->decrypt || e->decrypt(e->decrypt_user, h->fd, id) != 0 ||
                safecam_strlcpy(s->asked_id, id, sizeof s->asked_id) != 0) {
                s->asked_id[0] = '\0';
                s->failures++;
                link_backoff_failed(&s->bo, now);
                return;
            }
            s->asked_ms = now;
            return;
        }
        fd = s->clear_fd; /* one attempt per clear copy: a retry asks again (never two clear copies held) */
        s->clear_fd = -1;
        s->asked_id[0] = s->clear_id[0] = '\0';
    } else {
        s->attempts++;
        fd = open(h->a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    struct stat st;
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > UPLOAD_FILE_MAX) {
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        audit_ev(e, "link_upload_failed", "service=webdav name=%s why=unreadable", h->b);
        link_queue_pop(&e->uploads); /* nothing to send: retrying cannot help */
        return;
    }
    dav_put_start(e, h, remote, f, (long)st.st_size);
}

/* Delete remote files older than retention_days, at most max_tries DELETE requests. Returns 1 when old names
 * remain (tried later), 0 when none. */
static int retention_some(link_engine *e, int64_t now, int max_tries)
{
    json_t *up = json_object_get(e->state, "uploaded");
    int64_t limit = now - (int64_t)e->dav.retention_days * 86400;
    int deleted = 0, tries = 0, more = 0;
    for (size_t i = 0; i < json_array_size(up);) {
        json_t *it = json_array_get(up, i);
        json_int_t t = json_integer_value(json_object_get(it, "t"));
        const char *name = json_string_value(json_object_get(it, "name"));
        if (!name || t > limit) {
            i++;
            continue;
        }
        if (tries++ >= max_tries) {
            more = 1;
            break;
        }
        long st = dav_request(e, "DELETE", name, NULL, 0);
        if ((st >= 200 && st < 300) || st == 404) {
            json_array_remove(up, i);
            deleted++;
        } else {
            i++;
        }
    }
    if (deleted) {
        (void)state_save(e);
        audit_ev(e, "link_retention", "service=webdav deleted=%d", deleted);
    }
    e->dav.retention_deleted_last = deleted;
    return more;
}

int link_engine_retention_run(link_engine *e, int64_t now)
{
    if (!e || !e->dav.configured || e->dav.put.c)
        return 0;
    (void)retention_some(e, now, 1000);
    return e->dav.retention_deleted_last;
}

/* ---- public ---- */

int link_engine_event(link_engine *e, const json_t *event)
{
    if (!e || !json_is_object(event))
        return SAFECAM_ERR_INVAL;
    char *txt = json_dumps(event, JSON_COMPACT);
    if (!txt)
        return SAFECAM_ERR_NOMEM;
    int rc = link_queue_push(&e->events, txt, NULL, safecam_time_now());
    free(txt);
    if (rc > 0)
        audit_ev(e, "link_queue_dropped", "service=mqtt dropped=%d total=%llu", rc,
                 (unsigned long long)e->events.dropped);
    return rc;
}

/* A remote file name: [A-Za-z0-9._-], 1..128 bytes, not starting with '.'. */
static int upload_name_valid(const char *name)
{
    if (!name || !*name || strlen(name) > 128 || name[0] == '.')
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_' || *c == '.'))
            return 0;
    return 1;
}

/* Queue an upload entry (takes fd); the oldest entries dropped to make room are audited. */
static int upload_push(link_engine *e, const char *a, const char *name, int fd)
{
    int rc = link_queue_push_fd(&e->uploads, a, name, safecam_time_now(), fd);
    if (rc > 0)
        audit_ev(e, "link_queue_dropped", "service=webdav dropped=%d total=%llu", rc,
                 (unsigned long long)e->uploads.dropped);
    return rc;
}

int link_engine_upload(link_engine *e, const char *path, const char *name)
{
    if (!e || !path || !upload_name_valid(name))
        return SAFECAM_ERR_INVAL;
    return upload_push(e, path, name, -1);
}

void link_engine_decrypt_set(link_engine *e, link_decrypt_fn decrypt, void *user)
{
    if (!e)
        return;
    e->decrypt = decrypt;
    e->decrypt_user = user;
}

int link_engine_upload_sealed(link_engine *e, const char *idhex, const char *name, int motion, int sealed_fd)
{
    if (!e || !idhex || strlen(idhex) != RECORD_ID_HEX || strspn(idhex, "0123456789abcdef") != RECORD_ID_HEX ||
        !upload_name_valid(name) || sealed_fd < 0) {
        if (sealed_fd >= 0)
            close(sealed_fd);
        return SAFECAM_ERR_INVAL;
    }
    char a[SEALED_ID_OFFSET + RECORD_ID_HEX + 1];
    if (safecam_fmt(a, sizeof a, "%s%c:%s", SEALED_PREFIX, motion ? 'm' : 'c', idhex) != 0) {
        close(sealed_fd);
        return SAFECAM_ERR_INVAL;
    }
    return upload_push(e, a, name, sealed_fd);
}

void link_engine_upload_clear(link_engine *e, const char *idhex, int clear_fd)
{
    if (!e)
        return;
    const struct link_queue_entry *h = link_queue_peek(&e->uploads);
    if (!h || h->fd < 0 || !idhex || !e->dav.asked_id[0] || strcmp(e->dav.asked_id, idhex) != 0 ||
        !entry_sealed_id(h) || strcmp(entry_sealed_id(h), idhex) != 0) {
        if (clear_fd >= 0)
            close(clear_fd); /* late, or for a segment no longer at the head */
        return;
    }
    e->dav.asked_id[0] = '\0';
    if (clear_fd == LINK_CLEAR_RETRY) {
        e->dav.failures++;
        link_backoff_failed(&e->dav.bo, safecam_time_mono_ms());
        return;
    }
    if (clear_fd < 0) {
        audit_ev(e, "link_upload_failed", "service=webdav name=%s why=refused_by_vault", h->b);
        link_queue_pop(&e->uploads); /* deleted meanwhile, or damaged: retrying cannot help */
        return;
    }
    if (e->dav.clear_fd >= 0)
        close(e->dav.clear_fd);
    e->dav.clear_fd = clear_fd;
    memcpy(e->dav.clear_id, idhex, RECORD_ID_HEX + 1); /* idhex equals asked_id: RECORD_ID_HEX long */
}

int link_engine_upload_fd(link_engine *e, const char *name, int fd)
{
    struct stat st;
    if (!e || !upload_name_valid(name) || fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return SAFECAM_ERR_INVAL;
    }
    /* the files in clear already waiting, bounded together: a folder that is down must not fill the memory */
    long held = st.st_size;
    for (size_t i = 0; i < e->uploads.count; i++) {
        const struct link_queue_entry *q = &e->uploads.items[(e->uploads.head + i) % e->uploads.max_items];
        struct stat qs;
        if (q->fd >= 0 && strcmp(q->a, CLEAR_ENTRY) == 0 && fstat(q->fd, &qs) == 0)
            held += qs.st_size;
    }
    if (held > LINK_CLEAR_QUEUE_BYTES) {
        close(fd);
        audit_ev(e, "link_queue_dropped", "service=webdav dropped=1 why=clear_files_bound name=%s", name);
        return SAFECAM_ERR_TOOBIG;
    }
    return upload_push(e, CLEAR_ENTRY, name, fd);
}

int link_engine_upload_mode(const link_engine *e)
{
    return e && e->dav.configured ? e->dav.upload_mode : -1;
}

void link_engine_step(link_engine *e, int wait_ms)
{
    if (!e)
        return;
    dav_step(e);
    if (e->mq.configured)
        mqtt_step(e, wait_ms);
}

/* Connect to the broker now if needed, bounded by deadline (monotonic ms) and 3 attempts. 1 when connected. */
static int mqtt_connect_now(link_engine *e, int64_t deadline)
{
    int tries = 0;
    while (!e->mq.connected && safecam_time_mono_ms() < deadline) {
        if (!e->mq.m) {
            if (tries++ >= 3)
                break;
            mqtt_attempt(e);
            if (!e->mq.m)
                continue;
        }
        if (mosquitto_loop(e->mq.m, 100, 1) != MOSQ_ERR_SUCCESS)
            mqtt_drop(e);
    }
    return e->mq.connected;
}

json_t *link_engine_delete_all(link_engine *e)
{
    json_t *out = json_pack("{s:[],s:[]}", "removed", "failed");
    if (!e || !out)
        return out;
    json_t *removed = json_object_get(out, "removed"), *failed = json_object_get(out, "failed");
    /* what waits to be uploaded would land right after the deletion: cancelled first (the upload in flight too,
     * whose file is then deleted below if it reached the server) */
    dav_put_cancel(e);
    dav_clear_drop(e);
    size_t cancelled = link_queue_filter(&e->uploads, entry_is_path, NULL);
    if (cancelled)
        log_info("link: %zu queued upload(s) cancelled by the deletion", cancelled);
    /* WebDAV: every name in the list, removed from it once the server confirms (404: already gone) */
    json_t *up = json_object_get(e->state, "uploaded");
    for (size_t i = 0; i < json_array_size(up) && i < UPLOADED_MAX;) {
        const char *name = json_string_value(json_object_get(json_array_get(up, i), "name"));
        long st = name && e->dav.configured ? dav_request(e, "DELETE", name, NULL, 0) : -1;
        if ((st >= 200 && st < 300) || st == 404) {
            json_array_append_new(removed, json_pack("{s:s,s:s}", "service", "webdav", "name", name));
            json_array_remove(up, i);
        } else {
            json_array_append_new(failed, json_pack("{s:s,s:s?,s:s}", "service", "webdav", "name", name, "why",
                                                    !e->dav.configured ? "not configured"
                                                    : st == -2         ? "certificate refused"
                                                    : st < 0           ? "unreachable"
                                                                       : "refused by the server"));
            i++;
        }
    }
    /* MQTT: an empty retained message on each topic used clears what the broker keeps */
    json_t *topics = json_object_get(e->state, "topics");
    int64_t deadline = safecam_time_mono_ms() + 5000;
    int up_mq = e->mq.configured && json_array_size(topics) ? mqtt_connect_now(e, deadline) : 0;
    for (size_t i = 0; i < json_array_size(topics);) {
        const char *topic = json_string_value(json_array_get(topics, i));
        int done = 0;
        if (up_mq && topic) {
            int mid = 0;
            e->mq.clearing = 1;
            e->mq.clearing_mid = -1;
            if (mosquitto_publish(e->mq.m, &mid, topic, 0, NULL, 1, true) == MOSQ_ERR_SUCCESS) {
                e->mq.clearing_mid = mid;
                while (e->mq.clearing && e->mq.connected && safecam_time_mono_ms() < deadline + 5000)
                    if (mosquitto_loop(e->mq.m, 100, 1) != MOSQ_ERR_SUCCESS)
                        break;
                done = !e->mq.clearing;
            }
            e->mq.clearing = 0;
        }
        if (done) {
            json_array_append_new(removed, json_pack("{s:s,s:s}", "service", "mqtt", "topic", topic));
            json_array_remove(topics, i);
        } else {
            json_array_append_new(failed, json_pack("{s:s,s:s?,s:s}", "service", "mqtt", "topic", topic, "why",
                                                    e->mq.configured ? "broker unreachable" : "not configured"));
            i++;
        }
    }
    (void)state_save(e);
    audit_ev(e, "link_delete", "removed=%zu failed=%zu", json_array_size(removed), json_array_size(failed));
    return out;
}

json_t *link_engine_stats(link_engine *e)
{
    if (!e)
        return NULL;
    return json_pack("{s:{s:b,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "mqtt", "connected",
                     e->mq.connected, "attempts", (json_int_t)e->mq.attempts, "delivered",
                     (json_int_t)e->mq.delivered, "queued", (json_int_t)e->events.count, "dropped",
                     (json_int_t)e->events.dropped, "tls_refused", (json_int_t)e->mq.tls_refused, "connects",
                     (json_int_t)e->mq.connects, "webdav", "attempts", (json_int_t)e->dav.attempts, "uploaded",
                     (json_int_t)e->dav.uploaded, "queued", (json_int_t)e->uploads.count, "failures",
                     (json_int_t)e->dav.failures, "last_status", (json_int_t)e->dav.last_status, "tls_refused",
                     (json_int_t)e->dav.tls_refused, "remote_files",
                     (json_int_t)json_array_size(json_object_get(e->state, "uploaded")));
}
