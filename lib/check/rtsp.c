/* rtsp.c — RTSP(S) probes: DESCRIBE through GStreamer's GstRTSPConnection (speaks RTSP over TLS,
 * Basic credentials), and hand-written OPTIONS parsed by check_rtsp_response_parse.
 * Trust level: answers are hostile; GStreamer parses DESCRIBE answers, our parser the raw ones. */
#include "check_internal.h"

#include <gst/gst.h>
#include <gst/rtsp/gstrtspconnection.h>
#include <gst/rtsp/gstrtspurl.h>
#include <stdio.h>
#include <string.h>

static void gst_once(void)
{
    static int done;
    if (!done) {
        gst_init(NULL, NULL);
        done = 1;
    }
}

int check_rtsp_describe(struct check_ctx *c, int port, int tls, const char *path, const char *user, const char *pw,
                        struct check_rtsp_result *out)
{
    memset(out, 0, sizeof *out);
    gst_once();
    char urlstr[CHECK_PATH + 128];
    GstRTSPUrl *url = NULL;
    GstRTSPConnection *conn = NULL;
    GstRTSPMessage *req = NULL, *resp = NULL;
    int rc = SAFECAM_ERR_IO;
    int64_t t0 = safecam_time_mono_ms();
    if (safecam_fmt(urlstr, sizeof urlstr, "%s://%s:%d%s", tls ? "rtsps" : "rtsp", c->url_host, port, path) != 0)
        return SAFECAM_ERR_INVAL;
    if (gst_rtsp_url_parse(urlstr, &url) != GST_RTSP_OK) {
        IGN_STRLCPY(out->err, "bad url", sizeof out->err);
        return SAFECAM_ERR_INVAL;
    }
    if (gst_rtsp_connection_create(url, &conn) != GST_RTSP_OK)
        goto out;
    if (tls)
        (void)gst_rtsp_connection_set_tls_validation_flags(conn, (GTlsCertificateFlags)0);
    GstRTSPResult gr = gst_rtsp_connection_connect_usec(conn, (gint64)c->opt->timeout_s * G_USEC_PER_SEC);
    if (gr != GST_RTSP_OK) {
        gchar *s = gst_rtsp_strresult(gr);
        IGN_FMT(out->err, sizeof out->err, "connect: %s", s ? s : "error");
        g_free(s);
        goto out;
    }
    if (user != NULL && gst_rtsp_connection_set_auth(conn, GST_RTSP_AUTH_BASIC, user, pw ? pw : "") != GST_RTSP_OK)
        goto out;
    if (gst_rtsp_message_new_request(&req, GST_RTSP_DESCRIBE, urlstr) != GST_RTSP_OK)
        goto out;
    /* no CSeq here: GstRTSPConnection writes its own, and a second one is a malformed request (400) */
    gst_rtsp_message_add_header(req, GST_RTSP_HDR_ACCEPT, "application/sdp");
    gst_rtsp_message_add_header(req, GST_RTSP_HDR_USER_AGENT, "qcvn-check/" SAFECAM_VERSION);
    gr = gst_rtsp_connection_send_usec(conn, req, (gint64)c->opt->timeout_s * G_USEC_PER_SEC);
    if (gr != GST_RTSP_OK) {
        gchar *s = gst_rtsp_strresult(gr);
        IGN_FMT(out->err, sizeof out->err, "send: %s", s ? s : "error");
        g_free(s);
        goto out;
    }
    if (gst_rtsp_message_new(&resp) != GST_RTSP_OK)
        goto out;
    gr = gst_rtsp_connection_receive_usec(conn, resp, (gint64)c->opt->timeout_s * G_USEC_PER_SEC);
    if (gr != GST_RTSP_OK) {
        gchar *s = gst_rtsp_strresult(gr);
        IGN_FMT(out->err, sizeof out->err, "receive: %s", s ? s : "error");
        g_free(s);
        goto out;
    }
    if (gst_rtsp_message_get_type(resp) != GST_RTSP_MESSAGE_RESPONSE) {
        IGN_STRLCPY(out->err, "answer is not an RTSP response", sizeof out->err);
        goto out;
    }
    GstRTSPStatusCode code;
    const gchar *reason = NULL;
    GstRTSPVersion ver;
    if (gst_rtsp_message_parse_response(resp, &code, &reason, &ver) != GST_RTSP_OK)
        goto out;
    out->ok = 1;
    out->status = (int)code;
    gchar *v = NULL;
    if (gst_rtsp_message_get_header(resp, GST_RTSP_HDR_SERVER, &v, 0) == GST_RTSP_OK && v)
        check_printable(out->server, sizeof out->server, v, strlen(v));
    if (gst_rtsp_message_get_header(resp, GST_RTSP_HDR_WWW_AUTHENTICATE, &v, 0) == GST_RTSP_OK && v)
        check_printable(out->www_auth, sizeof out->www_auth, v, strlen(v));
    if (gst_rtsp_message_get_header(resp, GST_RTSP_HDR_CONTENT_TYPE, &v, 0) == GST_RTSP_OK && v)
        check_printable(out->content_type, sizeof out->content_type, v, strlen(v));
    guint8 *body = NULL;
    guint blen = 0;
    if (gst_rtsp_message_get_body(resp, &body, &blen) == GST_RTSP_OK)
        out->body_len = blen;
    rc = 0;
out:
    out->ms = safecam_time_mono_ms() - t0;
    if (req)
        gst_rtsp_message_free(req);
    if (resp)
        gst_rtsp_message_free(resp);
    if (conn) {
        (void)gst_rtsp_connection_close(conn);
        gst_rtsp_connection_free(conn);
    }
    gst_rtsp_url_free(url);
    return rc;
}

int check_rtsp_options_raw(struct check_ctx *c, int port, int tls, struct check_rtsp_response *out, char *raw,
                           size_t raw_cap)
{
    return check_raw_probe(c, port, tls, NULL, c->opt->timeout_s * 1000, out, raw, raw_cap);
}

int check_raw_probe(struct check_ctx *c, int port, int tls, const char *reqtxt, int timeout_ms,
                    struct check_rtsp_response *out, char *raw, size_t raw_cap)
{
    struct check_conn k;
    char req[256];
    char buf[CHECK_RTSP_MAX_RESPONSE];
    size_t got = 0;
    memset(out, 0, sizeof *out);
    if (raw_cap)
        raw[0] = '\0';
    if (reqtxt != NULL) {
        if (safecam_strlcpy(req, reqtxt, sizeof req) != 0)
            return SAFECAM_ERR_INVAL;
    } else if (safecam_fmt(req, sizeof req, "OPTIONS rtsp://%s:%d/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: qcvn-check\r\n\r\n",
                           c->url_host, port) != 0) {
        return SAFECAM_ERR_INVAL;
    }
    int rc = check_conn_open(c, port, tls, &k);
    if (rc != 0)
        return rc;
    rc = check_conn_write(&k, req, strlen(req));
    if (rc == 0)
        rc = check_conn_read(&k, buf, sizeof buf, &got, 1, timeout_ms);
    check_conn_close(&k);
    if (raw_cap)
        check_printable(raw, raw_cap, buf, got < 120 ? got : 120);
    if (got == 0)
        return rc != 0 ? rc : SAFECAM_ERR_CLOSED;
    return check_rtsp_response_parse(buf, got, out);
}
