/* rtsp.c — the RTSP layer behind the TLS front (front.c): gst-rtsp-server with a
 * GstRTSPAuth subclass that checks Basic credentials with the vault (result cached per connection as a
 * keyed hash, never the password), per-connection session pools (a session ID is only valid on the
 * connection that created it), TCP-interleaved transport only (RTP stays inside TLS), and limits on
 * connections per source address, in total and per stream. Runs in the media process and parses
 * untrusted network input (through gst-rtsp-server). QCVN 135 G1, G5, G6, G7, G11 / EN 303 645 5.1-5,
 * 5.5-1, 5.6-x, 5.8-1, 5.13-1; attack cases A6, A13. */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gst/rtsp-server/rtsp-server.h>

#include "media_internal.h"

#define REALM "safecam"
#define RTSP_BUSY_RETRY_AFTER_S "2" /* seconds, on every 503: about two Argon2id verifies queued ahead */
#define CLIENT_THREADS 4
#define DIGEST_BYTES 32

struct media_rtsp {
    struct media_feeder_ops feed;
    struct media_vault_ops vault;
    GstRTSPServer *server;
    GstRTSPMountPoints *mounts;
    GstRTSPAuth *auth;
    struct media_front *front;
    gint64 cache_us; /* how long a connection's verified credentials hold */
    GMutex lock;
    unsigned per_stream[MEDIA_STREAMS];
    int sub_mounted;
    guint64 next_serial;
    guint8 hmac_key[32];
};

/* Per-connection state, attached to the GstRTSPClient. Touched by that client's thread, and by the
 * closed/finalize paths (under r->lock for the counters). */
struct client_state {
    struct media_rtsp *r;
    guint64 serial;
    char ip[64];
    unsigned streams; /* bit i: counted as a viewer of stream i */
    GstRTSPToken *token;
    guint8 digest[DIGEST_BYTES];
    gint64 verified_us;
    char username[MEDIA_RTSP_USERNAME_MAX + 1];
    char nonce[33]; /* RTSP Digest nonce of this connection: 128 random bits (libsodium) as hex */
    guint32 digest_nc; /* the highest nonce count accepted with that nonce (0: none yet) */
};

static GQuark client_quark(void)
{
    static GQuark q;
    if (!q)
        q = g_quark_from_static_string("safecam-rtsp-client");
    return q;
}

static void client_release(struct client_state *cs)
{
    struct media_rtsp *r = cs->r;
    g_mutex_lock(&r->lock);
    for (int i = 0; i < MEDIA_STREAMS; i++)
        if ((cs->streams & (1u << i)) && r->per_stream[i] > 0)
            r->per_stream[i]--;
    cs->streams = 0;
    g_mutex_unlock(&r->lock);
}

static void client_state_free(gpointer p)
{
    struct client_state *cs = p;
    client_release(cs);
    if (cs->token)
        gst_rtsp_token_unref(cs->token);
    gnutls_memset(cs, 0, sizeof *cs);
    g_free(cs);
}

static struct client_state *client_state_get(GstRTSPClient *client)
{
    return client ? g_object_get_qdata(G_OBJECT(client), client_quark()) : NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* The GstRTSPAuth subclass                                                                         */

typedef struct {
    GstRTSPAuth parent;
    struct media_rtsp *r;
} MediaRtspAuth;

typedef struct {
    GstRTSPAuthClass parent_class;
} MediaRtspAuthClass;

GType media_rtsp_auth_get_type(void);
G_DEFINE_TYPE(MediaRtspAuth, media_rtsp_auth, GST_TYPE_RTSP_AUTH)

static void send_status(GstRTSPContext *ctx, GstRTSPStatusCode code)
{
    if (!ctx->response || !ctx->client)
        return;
    gst_rtsp_message_init_response(ctx->response, code, gst_rtsp_status_as_text(code), ctx->request);
    if (code == GST_RTSP_STS_UNAUTHORIZED) {
        /* Digest first when offered (integration accounts, docs/integrations.md), with this connection's nonce:
         * a response computed for it is worthless on any other connection. */
        struct client_state *cs = client_state_get(ctx->client);
        if (cs && cs->nonce[0] && cs->r->vault.offer_digest && cs->r->vault.digest_check) {
            char ch[160];
            if (safecam_fmt(ch, sizeof ch, "Digest realm=\"" REALM "\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"",
                            cs->nonce) == 0)
                gst_rtsp_message_add_header(ctx->response, GST_RTSP_HDR_WWW_AUTHENTICATE, ch);
        }
        gst_rtsp_message_add_header(ctx->response, GST_RTSP_HDR_WWW_AUTHENTICATE,
                                    "Basic realm=\"" REALM "\"");
    }
    if (code == GST_RTSP_STS_SERVICE_UNAVAILABLE)
        gst_rtsp_message_add_header(ctx->response, GST_RTSP_HDR_RETRY_AFTER, RTSP_BUSY_RETRY_AFTER_S);
    gst_rtsp_client_send_message(ctx->client, ctx->session, ctx->response);
}

static gboolean client_close_cb(gpointer p)
{
    gst_rtsp_client_close(GST_RTSP_CLIENT(p));
    return G_SOURCE_REMOVE;
}

/* Close a client from its own main context, after the current request has been answered. */
static void client_close_later(GstRTSPClient *client)
{
    GMainContext *mc = g_main_context_get_thread_default();
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, client_close_cb, g_object_ref(client), g_object_unref);
    g_source_attach(src, mc);
    g_source_unref(src);
}

static int ct_equal(const guint8 *a, const guint8 *b, size_t n)
{
    guint8 d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (guint8)(a[i] ^ b[i]);
    return d == 0;
}

/* Make sure ctx carries a token: from this connection's cache, or verified by the vault now.
 * On failure the error response is sent here and FALSE returned. */
static gboolean ensure_authenticated(MediaRtspAuth *self, GstRTSPContext *ctx)
{
    if (ctx->token)
        return TRUE;
    struct client_state *cs = client_state_get(ctx->client);
    if (!cs || !ctx->request) {
        send_status(ctx, GST_RTSP_STS_UNAUTHORIZED);
        return FALSE;
    }
    const gchar *hdr = NULL;
    if (gst_rtsp_message_get_header(ctx->request, GST_RTSP_HDR_AUTHORIZATION, (gchar **)&hdr, 0) !=
            GST_RTSP_OK ||
        !hdr) {
        send_status(ctx, GST_RTSP_STS_UNAUTHORIZED);
        return FALSE;
    }
    const gchar *second = NULL;
    size_t hlen = strlen(hdr);
    if (gst_rtsp_message_get_header(ctx->request, GST_RTSP_HDR_AUTHORIZATION, (gchar **)&second, 1) ==
            GST_RTSP_OK ||
        hlen > MEDIA_RTSP_AUTH_HEADER_MAX) {
        send_status(ctx, GST_RTSP_STS_UNAUTHORIZED);
        return FALSE;
    }
    guint8 digest[DIGEST_BYTES];
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, self->r->hmac_key, sizeof self->r->hmac_key, hdr, hlen, digest) !=
        0) {
        send_status(ctx, GST_RTSP_STS_INTERNAL_SERVER_ERROR);
        return FALSE;
    }
    gint64 now = g_get_monotonic_time();
    /* Basic: the same header on the same connection is served from the cache. Digest never is: each request
     * carries a new nc, and the same header again is a replay. */
    int is_digest = strncasecmp(hdr, "Digest ", 7) == 0;
    if (!is_digest && cs->token && now - cs->verified_us < self->r->cache_us &&
        ct_equal(digest, cs->digest, DIGEST_BYTES)) {
        ctx->token = cs->token;
        return TRUE;
    }
    /* A different or expired credential: forget the cached one and ask the vault. */
    gboolean had_token = cs->token != NULL;
    if (cs->token) {
        gst_rtsp_token_unref(cs->token);
        cs->token = NULL;
    }
    gnutls_memset(cs->digest, 0, sizeof cs->digest);

    char user[MEDIA_RTSP_USERNAME_MAX + 1], pass[MEDIA_RTSP_PASSWORD_MAX + 1];
    char role[32] = "";
    int pcr = 0;
    int rc;
    const struct media_vault_ops *ops = &self->r->vault;
    guint32 nc = 0;
    if (is_digest) {
        /* RTSP Digest (integration accounts only; the vault recomputes the response from the sealed secret).
         * The nonce must be this connection's, qop=auth with a nonce count above every one accepted on it (a
         * replayed request is refused), the uri the request line's own (RFC 7616 3.4.6); the response covers
         * the request's method. */
        struct digest_auth d;
        const gchar *req_uri = NULL;
        rc = digest_auth_parse(hdr, &d);
        if (rc == 0 && (!ops->offer_digest || !ops->digest_check || strcmp(d.realm, REALM) != 0 ||
                        strlen(d.nonce) != 32 || !ct_equal((const guint8 *)d.nonce, (const guint8 *)cs->nonce, 32) ||
                        (d.algorithm[0] && strcasecmp(d.algorithm, "MD5") != 0) || strcmp(d.qop, "auth") != 0 ||
                        !d.cnonce[0] || digest_nc_parse(d.nc, &nc) != 0 || nc <= cs->digest_nc ||
                        gst_rtsp_message_parse_request(ctx->request, NULL, &req_uri, NULL) != GST_RTSP_OK ||
                        !req_uri || strcmp(d.uri, req_uri) != 0))
            rc = SAFECAM_ERR_DENIED;
        if (rc == 0 && safecam_strlcpy(user, d.username, sizeof user) != 0)
            rc = SAFECAM_ERR_INVAL;
        if (rc == 0) {
            const gchar *method = gst_rtsp_method_as_text(ctx->method);
            rc = ops->digest_check(ops->ctx, d.username, d.realm, d.nonce, d.uri, method ? method : "",
                                   d.response, d.qop, d.nc, d.cnonce, cs->ip, role, sizeof role);
        }
        if (rc == 0)
            cs->digest_nc = nc;
        gnutls_memset(&d, 0, sizeof d);
    } else {
        rc = media_basic_auth_parse(hdr, user, sizeof user, pass, sizeof pass);
        if (rc == 0)
            rc = ops->auth_check ? ops->auth_check(ops->ctx, user, pass, cs->ip, role, sizeof role, &pcr)
                                 : SAFECAM_ERR_INTERNAL;
    }
    gnutls_memset(pass, 0, sizeof pass);
    if (rc == SAFECAM_ERR_INVAL || rc == SAFECAM_ERR_TOOBIG || rc == SAFECAM_ERR_DENIED ||
        rc == SAFECAM_ERR_LOCKED) {
        log_info("rtsp: authentication refused for a client at %s (%s)", cs->ip,
                 rc == SAFECAM_ERR_LOCKED ? "locked" : "invalid credentials");
        send_status(ctx, GST_RTSP_STS_UNAUTHORIZED);
        if (had_token)
            client_close_later(ctx->client); /* its credentials no longer hold: end its stream too */
        return FALSE;
    }
    if (rc == SAFECAM_ERR_BUSY) {
        /* The vault's hash workers are at their admission budget: answered at once, nothing counted. RTSP/1.0
         * has no 429: 503 with Retry-After (RFC 2326 12.39) is its "come back later" (docs/lockout.md). */
        log_info("rtsp: credential check for a client at %s deferred (vault busy)", cs->ip);
        send_status(ctx, GST_RTSP_STS_SERVICE_UNAVAILABLE);
        return FALSE;
    }
    if (rc != 0) {
        log_warn("rtsp: cannot verify credentials (vault: %s)", safecam_err_name(rc));
        send_status(ctx, GST_RTSP_STS_SERVICE_UNAVAILABLE);
        return FALSE;
    }
    if (pcr) {
        /* The initial password must be changed (over HTTPS) before the camera serves video. QCVN 135 G1. */
        send_status(ctx, GST_RTSP_STS_FORBIDDEN);
        if (had_token)
            client_close_later(ctx->client);
        return FALSE;
    }
    cs->token = gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, role, NULL);
    memcpy(cs->digest, digest, DIGEST_BYTES);
    cs->verified_us = now;
    if (safecam_strlcpy(cs->username, user, sizeof cs->username) != 0)
        cs->username[0] = '\0';
    ctx->token = cs->token;
    /* The front door keeps this connection from now on, whatever floods arrive. */
    GstRTSPConnection *rc_conn = gst_rtsp_client_get_connection(ctx->client);
    GSocket *rc_sock = rc_conn ? gst_rtsp_connection_get_read_socket(rc_conn) : NULL;
    if (rc_sock)
        media_front_trust(self->r->front, g_socket_get_fd(rc_sock));
    return TRUE;
}

static gboolean media_rtsp_auth_check(GstRTSPAuth *auth, GstRTSPContext *ctx, const gchar *check)
{
    MediaRtspAuth *self = (MediaRtspAuth *)auth;
    if (g_str_equal(check, GST_RTSP_AUTH_CHECK_CONNECT))
        return TRUE; /* connections arrive through the TLS front, already admitted */
    if (g_str_equal(check, GST_RTSP_AUTH_CHECK_URL)) {
        if (ctx->method == GST_RTSP_OPTIONS)
            return TRUE;
        return ensure_authenticated(self, ctx);
    }
    if (g_str_equal(check, GST_RTSP_AUTH_CHECK_MEDIA_FACTORY_ACCESS) ||
        g_str_equal(check, GST_RTSP_AUTH_CHECK_MEDIA_FACTORY_CONSTRUCT))
        return ensure_authenticated(self, ctx);
    /* Client-chosen transport settings (multicast destinations, ...) and anything unknown: refused. */
    return FALSE;
}

static gboolean media_rtsp_auth_authenticate(GstRTSPAuth *auth, GstRTSPContext *ctx)
{
    (void)auth;
    (void)ctx;
    return TRUE; /* all work happens in check (ensure_authenticated) */
}

static void media_rtsp_auth_class_init(MediaRtspAuthClass *klass)
{
    GstRTSPAuthClass *ac = GST_RTSP_AUTH_CLASS(klass);
    ac->check = media_rtsp_auth_check;
    ac->authenticate = media_rtsp_auth_authenticate;
}

static void media_rtsp_auth_init(MediaRtspAuth *self)
{
    self->r = NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* Clients, limits, media                                                                           */

static int stream_of_uri(const GstRTSPUrl *uri)
{
    if (!uri || !uri->abspath)
        return -1;
    const char *p = uri->abspath;
    if (g_str_has_prefix(p, "/stream1") && (p[8] == '\0' || p[8] == '/'))
        return MEDIA_STREAM_MAIN;
    if (g_str_has_prefix(p, "/stream2") && (p[8] == '\0' || p[8] == '/'))
        return MEDIA_STREAM_SUB;
    return -1;
}

static GstRTSPStatusCode on_pre_setup(GstRTSPClient *client, GstRTSPContext *ctx, gpointer user)
{
    struct media_rtsp *r = user;
    struct client_state *cs = client_state_get(client);
    int s = stream_of_uri(ctx->uri);
    if (!cs || s < 0)
        return GST_RTSP_STS_NOT_FOUND;
    GstRTSPStatusCode code = GST_RTSP_STS_OK;
    g_mutex_lock(&r->lock);
    if (!(cs->streams & (1u << s))) {
        if (r->per_stream[s] >= MEDIA_RTSP_VIEWERS_PER_STREAM_MAX) {
            code = GST_RTSP_STS_SERVICE_UNAVAILABLE;
        } else {
            r->per_stream[s]++;
            cs->streams |= 1u << s;
        }
    }
    g_mutex_unlock(&r->lock);
    if (code != GST_RTSP_STS_OK)
        log_warn("rtsp: viewer limit reached on stream%d (client %s)", s + 1, cs->ip);
    return code;
}

static void on_play(GstRTSPClient *client, GstRTSPContext *ctx, gpointer user)
{
    (void)client;
    struct media_rtsp *r = user;
    int s = stream_of_uri(ctx->uri);
    if (s >= 0)
        r->feed.request_keyframe(r->feed.ctx, s); /* a new viewer starts decoding at once */
}

static void on_client_closed(GstRTSPClient *client, gpointer user)
{
    (void)user;
    struct client_state *cs = client_state_get(client);
    if (cs)
        client_release(cs);
}

/* Rewrite one header's "rtsp://" URLs to "rtsps://" (every connection arrives through the TLS front,
 * which gst-rtsp-server does not know about). Bounded: at most 8 URLs in one header. */
static void header_rtsps(GstRTSPMessage *msg, GstRTSPHeaderField field)
{
    gchar *val = NULL;
    if (gst_rtsp_message_get_header(msg, field, &val, 0) != GST_RTSP_OK || !val || !strstr(val, "rtsp://"))
        return;
    GString *out = g_string_sized_new(strlen(val) + 16);
    const char *p = val;
    for (int n = 0; n < 8; n++) {
        const char *hit = strstr(p, "rtsp://");
        if (!hit)
            break;
        g_string_append_len(out, p, hit - p);
        g_string_append(out, "rtsps://");
        p = hit + strlen("rtsp://");
    }
    g_string_append(out, p);
    gst_rtsp_message_remove_header(msg, field, -1);
    gst_rtsp_message_take_header(msg, field, g_string_free(out, FALSE));
}

/* Every message to a client: no "Server:" banner (QCVN 135 G6 / EN 303 645 5.6-x: nothing names the
 * software), and the URLs the client will use next (Content-Base of DESCRIBE, RTP-Info of PLAY) say
 * rtsps://. */
static void on_send_message(GstRTSPClient *client, GstRTSPContext *ctx, GstRTSPMessage *msg, gpointer user)
{
    (void)client;
    (void)ctx;
    (void)user;
    if (!msg)
        return;
    gst_rtsp_message_remove_header(msg, GST_RTSP_HDR_SERVER, -1);
    header_rtsps(msg, GST_RTSP_HDR_CONTENT_BASE);
    header_rtsps(msg, GST_RTSP_HDR_CONTENT_LOCATION);
    header_rtsps(msg, GST_RTSP_HDR_RTP_INFO);
}

static void on_client_connected(GstRTSPServer *server, GstRTSPClient *client, gpointer user)
{
    (void)server;
    struct media_rtsp *r = user;
    struct client_state *cs = g_new0(struct client_state, 1);
    cs->r = r;
    GstRTSPConnection *conn = gst_rtsp_client_get_connection(client);
    const gchar *ip = conn ? gst_rtsp_connection_get_ip(conn) : NULL;
    if (safecam_strlcpy(cs->ip, ip ? ip : "?", sizeof cs->ip) != 0)
        cs->ip[0] = '\0';
    g_mutex_lock(&r->lock);
    cs->serial = ++r->next_serial;
    g_mutex_unlock(&r->lock);
    {
        unsigned char n[16];
        randombytes_buf(n, sizeof n); /* the Digest nonce, bound to this connection */
        sodium_bin2hex(cs->nonce, sizeof cs->nonce, n, sizeof n);
    }
    g_object_set_qdata_full(G_OBJECT(client), client_quark(), cs, client_state_free);

    /* Session IDs are bound to this connection: each connection has its own pool, so an ID from
     * another connection is simply "454 Session Not Found" here. One session per connection. */
    GstRTSPSessionPool *pool = gst_rtsp_session_pool_new();
    gst_rtsp_session_pool_set_max_sessions(pool, 1);
    gst_rtsp_client_set_session_pool(client, pool);
    g_object_unref(pool);
    gst_rtsp_client_set_content_length_limit(client, MEDIA_RTSP_CONTENT_LENGTH_MAX);

    g_signal_connect(client, "closed", G_CALLBACK(on_client_closed), r);
    g_signal_connect(client, "pre-setup-request", G_CALLBACK(on_pre_setup), r);
    g_signal_connect(client, "play-request", G_CALLBACK(on_play), r);
    g_signal_connect(client, "send-message", G_CALLBACK(on_send_message), r);
}

struct media_link {
    struct media_feeder_ops feed;
    int stream;
    guint consumer;
};

static void on_media_unprepared(GstRTSPMedia *media, gpointer user)
{
    (void)media;
    struct media_link *ml = user;
    if (ml->consumer) {
        ml->feed.detach(ml->feed.ctx, ml->stream, ml->consumer);
        ml->consumer = 0;
    }
}

static void media_link_free(gpointer data, GClosure *closure)
{
    (void)closure;
    struct media_link *ml = data;
    if (ml->consumer)
        ml->feed.detach(ml->feed.ctx, ml->stream, ml->consumer);
    g_free(ml);
}

static void on_media_configure(GstRTSPMediaFactory *factory, GstRTSPMedia *media, gpointer user)
{
    (void)factory;
    struct media_rtsp *r = user;
    int stream = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(factory), "safecam-stream"));
    GstElement *bin = gst_rtsp_media_get_element(media);
    GstElement *src = bin ? gst_bin_get_by_name(GST_BIN(bin), "src") : NULL;
    if (src) {
        struct media_link *ml = g_new0(struct media_link, 1);
        ml->feed = r->feed;
        ml->stream = stream;
        /* RTSP viewers that fall behind skip to the next keyframe (2 MB of backlog). */
        ml->consumer = r->feed.attach(r->feed.ctx, stream, src, 2u << 20, FALSE);
        g_signal_connect_data(media, "unprepared", G_CALLBACK(on_media_unprepared), ml, media_link_free, 0);
        gst_object_unref(src);
    }
    if (bin)
        gst_object_unref(bin);
}

static GstRTSPMediaFactory *factory_new(struct media_rtsp *r, int stream)
{
    GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
    /* The feeder stamps every access unit (service.c, consumer_timestamp) and h264parse already puts SPS
     * and PPS in front of every IDR: the payloader adds none of its own (config-interval=0). With -1 it
     * re-sent them before each IDR slice, between the slices of one frame, and ffmpeg's parser cut the
     * frame in two there (a stray packet without timestamp, "concealing ... errors in I frame"). */
    gst_rtsp_media_factory_set_launch(f, "( appsrc name=src is-live=true format=time do-timestamp=true "
                                         "block=false ! rtph264pay name=pay0 pt=96 config-interval=0 "
                                         "aggregate-mode=zero-latency )");
    /* One media (appsrc + payloader) per client, all fed by the one encoder output: each viewer starts at
     * its own keyframe (a shared media would hand a second viewer the middle of a GOP). */
    gst_rtsp_media_factory_set_shared(f, FALSE);
    gst_rtsp_media_factory_set_protocols(f, GST_RTSP_LOWER_TRANS_TCP); /* RTP inside the TLS connection */
    gst_rtsp_media_factory_set_latency(f, 0);
    g_object_set_data(G_OBJECT(f), "safecam-stream", GINT_TO_POINTER(stream));
    g_signal_connect(f, "media-configure", G_CALLBACK(on_media_configure), r);
    return f;
}

void media_rtsp_sub_set(struct media_rtsp *r, int enabled)
{
    if (enabled && !r->sub_mounted) {
        gst_rtsp_mount_points_add_factory(r->mounts, "/stream2", factory_new(r, MEDIA_STREAM_SUB));
        r->sub_mounted = 1;
    } else if (!enabled && r->sub_mounted) {
        gst_rtsp_mount_points_remove_factory(r->mounts, "/stream2");
        r->sub_mounted = 0;
    }
}

int media_rtsp_new(const struct media_feeder_ops *feed, const struct media_vault_ops *vault, GTlsCertificate *cert,
                   const char *bind, int port, int listen_fd, int sub_enabled, int auth_cache_s, struct media_rtsp **out)
{
    *out = NULL;
    struct media_rtsp *r = g_new0(struct media_rtsp, 1);
    r->feed = *feed;
    r->vault = *vault;
    if (auth_cache_s < 1 || auth_cache_s > MEDIA_RTSP_AUTH_CACHE_S)
        auth_cache_s = MEDIA_RTSP_AUTH_CACHE_S;
    r->cache_us = (gint64)auth_cache_s * G_USEC_PER_SEC;
    g_mutex_init(&r->lock);
    if (gnutls_rnd(GNUTLS_RND_KEY, r->hmac_key, sizeof r->hmac_key) != 0) {
        media_rtsp_free(r);
        return SAFECAM_ERR_CRYPTO;
    }
    r->server = gst_rtsp_server_new();
    gst_rtsp_server_set_content_length_limit(r->server, MEDIA_RTSP_CONTENT_LENGTH_MAX);

    MediaRtspAuth *auth = g_object_new(media_rtsp_auth_get_type(), NULL);
    auth->r = r;
    r->auth = GST_RTSP_AUTH(auth);
    gst_rtsp_auth_set_supported_methods(r->auth, GST_RTSP_AUTH_BASIC);
    gst_rtsp_auth_set_realm(r->auth, REALM);
    gst_rtsp_server_set_auth(r->server, r->auth);

    GstRTSPThreadPool *tp = gst_rtsp_server_get_thread_pool(r->server);
    gst_rtsp_thread_pool_set_max_threads(tp, CLIENT_THREADS);
    g_object_unref(tp);

    r->mounts = gst_rtsp_server_get_mount_points(r->server);
    gst_rtsp_mount_points_add_factory(r->mounts, "/stream1", factory_new(r, MEDIA_STREAM_MAIN));
    media_rtsp_sub_set(r, sub_enabled);
    g_signal_connect(r->server, "client-connected", G_CALLBACK(on_client_connected), r);

    int rc = media_front_new(r->server, cert, &r->vault, bind, port, listen_fd, &r->front);
    if (rc != 0) {
        media_rtsp_free(r);
        return rc;
    }
    log_info("rtsps: listening on %s port %d (TLS, Basic%s auth via the vault)", bind, port,
             r->vault.offer_digest && r->vault.digest_check ? " and Digest" : "");
    *out = r;
    return 0;
}

static GstRTSPFilterResult remove_all(GstRTSPServer *server, GstRTSPClient *client, gpointer user)
{
    (void)server;
    (void)client;
    (void)user;
    return GST_RTSP_FILTER_REMOVE;
}

void media_rtsp_close_all(struct media_rtsp *r)
{
    if (r && r->server)
        (void)gst_rtsp_server_client_filter(r->server, remove_all, NULL);
}

unsigned media_rtsp_client_count(struct media_rtsp *r)
{
    return r->front ? media_front_count(r->front) : 0;
}

void media_rtsp_free(struct media_rtsp *r)
{
    if (!r)
        return;
    media_front_stop(r->front);
    if (r->mounts)
        g_object_unref(r->mounts);
    if (r->server)
        g_object_unref(r->server);
    if (r->auth)
        g_object_unref(r->auth);
    /* Clients still alive hold a pointer to r in their state: keep the counters valid. A process
     * only frees this at exit, after every client was closed. */
    gnutls_memset(r->hmac_key, 0, sizeof r->hmac_key);
}
