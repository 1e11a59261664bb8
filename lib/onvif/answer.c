/* answer.c — the answers of lib/onvif: hand-written SOAP envelopes for the device and media operations of
 * onvif.h, faults, and the dispatcher that calls the caller's authentication once. Every value from the
 * facts is XML-escaped; URIs carry no credentials. Trust level: the facts come from the web process (the
 * camera's own settings), the request from the network. QCVN 135 G1, G6 / EN 303 645 5.1, 5.6. */
#include <string.h>
#include <time.h>

#include "safecam/onvif.h"

#define NS_DECLS                                                                                              \
    " xmlns:tds=\"" ONVIF_NS_DEVICE "\" xmlns:trt=\"" ONVIF_NS_MEDIA "\""                                    \
    " xmlns:tt=\"http://www.onvif.org/ver10/schema\" xmlns:ter=\"http://www.onvif.org/ver10/error\""

static const char *env_ns(int v)
{
    return v == 11 ? "http://schemas.xmlsoap.org/soap/envelope/" : "http://www.w3.org/2003/05/soap-envelope";
}

int onvif_xml_escape_add(struct safecam_buf *out, const char *s)
{
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        const char *rep = NULL;
        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"')
            rep = "&quot;";
        else if (c == '\'')
            rep = "&apos;";
        else if (c == 0 || (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            rep = "";
        if (!rep)
            continue;
        if (p > run) {
            int rc = safecam_buf_add(out, run, (size_t)(p - run));
            if (rc != 0)
                return rc;
        }
        if (c == 0)
            return 0;
        if (rep[0]) {
            int rc = safecam_buf_add(out, rep, strlen(rep));
            if (rc != 0)
                return rc;
        }
        run = p + 1;
    }
}

/* A small writer: each call appends; the first error sticks and later calls do nothing. */
struct w {
    struct safecam_buf *b;
    int rc;
};

static void lit(struct w *w, const char *s)
{
    if (w->rc == 0)
        w->rc = safecam_buf_add(w->b, s, strlen(s));
}

static void esc(struct w *w, const char *s)
{
    if (w->rc == 0)
        w->rc = onvif_xml_escape_add(w->b, s ? s : "");
}

static void num(struct w *w, long long v)
{
    if (w->rc == 0)
        w->rc = safecam_buf_addf(w->b, "%lld", v);
}

/* <tag>escaped text</tag> */
static void elem(struct w *w, const char *tag, const char *text)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, ">");
    esc(w, text);
    lit(w, "</");
    lit(w, tag);
    lit(w, ">");
}

static void elem_num(struct w *w, const char *tag, long long v)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, ">");
    num(w, v);
    lit(w, "</");
    lit(w, tag);
    lit(w, ">");
}

static void envelope_open(struct w *w, int v)
{
    lit(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<env:Envelope xmlns:env=\"");
    lit(w, env_ns(v));
    lit(w, "\"" NS_DECLS "><env:Body>");
}

static void envelope_close(struct w *w)
{
    lit(w, "</env:Body></env:Envelope>\n");
}

/* scheme://host[:port]path, the port left out when it is the scheme's default */
static void uri(struct w *w, const char *scheme, const struct onvif_facts *f, unsigned port, unsigned dflt,
                const char *path)
{
    esc(w, scheme);
    lit(w, "://");
    esc(w, f->host);
    if (port != dflt) {
        lit(w, ":");
        num(w, port);
    }
    esc(w, path);
}

static void xaddr(struct w *w, const char *tag, const struct onvif_facts *f, const char *path)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, ">");
    uri(w, "https", f, f->https_port, 443, path);
    lit(w, "</");
    lit(w, tag);
    lit(w, ">");
}

int onvif_fault_write(int soap_version, enum onvif_fault f, struct safecam_buf *out, unsigned *status)
{
    const char *code = "Sender", *sub = "ter:WellFormed", *sub2 = NULL, *reason = "malformed request";
    unsigned st = 400;
    switch (f) {
    case ONVIF_FAULT_MALFORMED:
        break;
    case ONVIF_FAULT_TOO_BIG:
        reason = "request too large";
        st = 413;
        break;
    case ONVIF_FAULT_ACTION_NOT_SUPPORTED:
        code = "Receiver";
        sub = "ter:ActionNotSupported";
        reason = "action not supported";
        st = 500;
        break;
    case ONVIF_FAULT_NOT_AUTHORIZED:
        sub = "ter:NotAuthorized";
        reason = "sender not authorized";
        break;
    case ONVIF_FAULT_NO_PROFILE:
        sub = "ter:InvalidArgVal";
        sub2 = "ter:NoProfile";
        reason = "no such profile";
        break;
    case ONVIF_FAULT_NO_CONFIG:
        sub = "ter:InvalidArgVal";
        sub2 = "ter:NoConfig";
        reason = "no such configuration";
        break;
    case ONVIF_FAULT_UNAVAILABLE:
    default:
        code = "Receiver";
        sub = "ter:Action";
        reason = "service unavailable";
        st = 503;
        break;
    }
    struct w w = {out, 0};
    envelope_open(&w, soap_version);
    if (soap_version == 11) {
        /* SOAP 1.1: faultcode is env:Client / env:Server; the ONVIF subcode goes in the detail */
        lit(&w, "<env:Fault><faultcode>env:");
        lit(&w, strcmp(code, "Sender") == 0 ? "Client" : "Server");
        lit(&w, "</faultcode><faultstring>");
        lit(&w, reason);
        lit(&w, "</faultstring><detail><tt:Subcode xmlns:tt=\"http://www.onvif.org/ver10/schema\">");
        lit(&w, sub2 ? sub2 : sub);
        lit(&w, "</tt:Subcode></detail></env:Fault>");
    } else {
        lit(&w, "<env:Fault><env:Code><env:Value>env:");
        lit(&w, code);
        lit(&w, "</env:Value><env:Subcode><env:Value>");
        lit(&w, sub);
        lit(&w, "</env:Value>");
        if (sub2) {
            lit(&w, "<env:Subcode><env:Value>");
            lit(&w, sub2);
            lit(&w, "</env:Value></env:Subcode>");
        }
        lit(&w, "</env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">");
        lit(&w, reason);
        lit(&w, "</env:Text></env:Reason></env:Fault>");
    }
    envelope_close(&w);
    *status = st;
    return w.rc;
}

static const struct onvif_stream_facts *profile_find(const struct onvif_facts *f, const char *token)
{
    if (strcmp(token, "main") == 0 && f->main.enabled)
        return &f->main;
    if (strcmp(token, "sub") == 0 && f->sub.enabled)
        return &f->sub;
    return NULL;
}

static void video_source_config(struct w *w, const char *tag, const struct onvif_facts *f, int use_count)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, " token=\"vsc0\"><tt:Name>camera</tt:Name>");
    elem_num(w, "tt:UseCount", use_count);
    lit(w, "<tt:SourceToken>vs0</tt:SourceToken><tt:Bounds x=\"0\" y=\"0\" width=\"");
    num(w, f->main.width);
    lit(w, "\" height=\"");
    num(w, f->main.height);
    lit(w, "\"/></");
    lit(w, tag);
    lit(w, ">");
}

static void encoder_config(struct w *w, const char *tag, const char *name, const struct onvif_stream_facts *s)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, " token=\"vec_");
    lit(w, name);
    lit(w, "\"><tt:Name>");
    lit(w, name);
    lit(w, "</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Resolution>");
    elem_num(w, "tt:Width", s->width);
    elem_num(w, "tt:Height", s->height);
    lit(w, "</tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl>");
    elem_num(w, "tt:FrameRateLimit", s->fps);
    lit(w, "<tt:EncodingInterval>1</tt:EncodingInterval>");
    elem_num(w, "tt:BitrateLimit", s->bitrate_kbps);
    lit(w, "</tt:RateControl><tt:H264>");
    elem_num(w, "tt:GovLength", s->gov_length);
    lit(w, "<tt:H264Profile>Baseline</tt:H264Profile></tt:H264><tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type>"
           "<tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL>"
           "<tt:AutoStart>false</tt:AutoStart></tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout></");
    lit(w, tag);
    lit(w, ">");
}

static void profile(struct w *w, const char *tag, const char *name, const struct onvif_facts *f,
                    const struct onvif_stream_facts *s, int use_count)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, " token=\"");
    lit(w, name);
    lit(w, "\" fixed=\"true\"><tt:Name>");
    lit(w, name);
    lit(w, "</tt:Name>");
    video_source_config(w, "tt:VideoSourceConfiguration", f, use_count);
    encoder_config(w, "tt:VideoEncoderConfiguration", name, s);
    lit(w, "</");
    lit(w, tag);
    lit(w, ">");
}

static void date_time(struct w *w, const char *tag, const struct tm *tm)
{
    lit(w, "<");
    lit(w, tag);
    lit(w, "><tt:Time>");
    elem_num(w, "tt:Hour", tm->tm_hour);
    elem_num(w, "tt:Minute", tm->tm_min);
    elem_num(w, "tt:Second", tm->tm_sec);
    lit(w, "</tt:Time><tt:Date>");
    elem_num(w, "tt:Year", tm->tm_year + 1900LL);
    elem_num(w, "tt:Month", tm->tm_mon + 1LL);
    elem_num(w, "tt:Day", tm->tm_mday);
    lit(w, "</tt:Date></");
    lit(w, tag);
    lit(w, ">");
}

static void service(struct w *w, const char *ns, const struct onvif_facts *f, const char *path, int minor)
{
    lit(w, "<tds:Service><tds:Namespace>");
    lit(w, ns);
    lit(w, "</tds:Namespace>");
    xaddr(w, "tds:XAddr", f, path);
    lit(w, "<tds:Version><tt:Major>2</tt:Major>");
    elem_num(w, "tt:Minor", minor);
    lit(w, "</tds:Version></tds:Service>");
}

static void device_capabilities_inner(struct w *w)
{
    lit(w, "<tds:Network IPFilter=\"false\" ZeroConfiguration=\"false\" IPVersion6=\"false\" DynDNS=\"false\" "
           "Dot11Configuration=\"false\" HostnameFromDHCP=\"false\" NTP=\"0\"/>"
           "<tds:Security TLS1.0=\"false\" TLS1.1=\"false\" TLS1.2=\"true\" OnboardKeyGeneration=\"false\" "
           "AccessPolicyConfig=\"false\" DefaultAccessPolicy=\"false\" Dot1X=\"false\" "
           "RemoteUserHandling=\"false\" X.509Token=\"false\" SAMLToken=\"false\" KerberosToken=\"false\" "
           "UsernameToken=\"true\" HttpDigest=\"false\" RELToken=\"false\"/>"
           "<tds:System DiscoveryResolve=\"false\" DiscoveryBye=\"true\" RemoteDiscovery=\"false\" "
           "SystemBackup=\"false\" SystemLogging=\"false\" FirmwareUpgrade=\"false\" HttpFirmwareUpgrade=\"false\" "
           "HttpSystemBackup=\"false\" HttpSystemLogging=\"false\" HttpSupportInformation=\"false\"/>");
}

static void media_capabilities_inner(struct w *w)
{
    lit(w, "<trt:ProfileCapabilities MaximumNumberOfProfiles=\"2\"/>"
           "<trt:StreamingCapabilities RTPMulticast=\"false\" RTP_TCP=\"true\" RTP_RTSP_TCP=\"true\" "
           "NonAggregateControl=\"false\" NoRTSPStreaming=\"false\"/>");
}

int onvif_answer_write(const struct onvif_request *req, const struct onvif_facts *f, struct safecam_buf *out,
                       unsigned *status)
{
    const struct onvif_stream_facts *prof = NULL;
    const char *prof_name = req->profile_token;
    switch (req->op) {
    case ONVIF_OP_UNKNOWN:
        return onvif_fault_write(req->soap_version, ONVIF_FAULT_ACTION_NOT_SUPPORTED, out, status);
    case ONVIF_OP_GET_PROFILE:
    case ONVIF_OP_GET_STREAM_URI:
    case ONVIF_OP_GET_SNAPSHOT_URI:
        prof = profile_find(f, req->profile_token);
        if (!prof)
            return onvif_fault_write(req->soap_version, ONVIF_FAULT_NO_PROFILE, out, status);
        break;
    case ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATION_OPTIONS:
        /* by ConfigurationToken (vec_main, vec_sub) or ProfileToken; neither: the main stream's */
        if (req->config_token[0]) {
            prof_name = strcmp(req->config_token, "vec_main") == 0  ? "main"
                        : strcmp(req->config_token, "vec_sub") == 0 ? "sub"
                                                                     : "";
            prof = profile_find(f, prof_name);
            if (!prof)
                return onvif_fault_write(req->soap_version, ONVIF_FAULT_NO_CONFIG, out, status);
        } else if (req->profile_token[0]) {
            prof = profile_find(f, req->profile_token);
            if (!prof)
                return onvif_fault_write(req->soap_version, ONVIF_FAULT_NO_PROFILE, out, status);
        } else {
            prof = &f->main;
        }
        break;
    default:
        break;
    }
    int use_count = 1 + (f->sub.enabled ? 1 : 0);
    struct w w = {out, 0};
    envelope_open(&w, req->soap_version);
    switch (req->op) {
    case ONVIF_OP_GET_SYSTEM_DATE_AND_TIME: {
        time_t t = (time_t)f->now;
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            memset(&tm, 0, sizeof tm);
        lit(&w, "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual"
                "</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0"
                "</tt:TZ></tt:TimeZone>");
        date_time(&w, "tt:UTCDateTime", &tm);
        date_time(&w, "tt:LocalDateTime", &tm);
        lit(&w, "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>");
        break;
    }
    case ONVIF_OP_GET_DEVICE_INFORMATION:
        lit(&w, "<tds:GetDeviceInformationResponse>");
        elem(&w, "tds:Manufacturer", f->manufacturer);
        elem(&w, "tds:Model", f->model);
        elem(&w, "tds:FirmwareVersion", f->firmware);
        elem(&w, "tds:SerialNumber", f->serial);
        elem(&w, "tds:HardwareId", f->hardware_id);
        lit(&w, "</tds:GetDeviceInformationResponse>");
        break;
    case ONVIF_OP_GET_CAPABILITIES:
        lit(&w, "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device>");
        xaddr(&w, "tt:XAddr", f, "/onvif/device_service");
        lit(&w, "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration>"
                "<tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network><tt:System>"
                "<tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>"
                "<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>"
                "<tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>"
                "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions>"
                "</tt:System><tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>true</tt:TLS1.2>"
                "<tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false"
                "</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken>"
                "<tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security>"
                "</tt:Device><tt:Media>");
        xaddr(&w, "tt:XAddr", f, "/onvif/media_service");
        lit(&w, "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
                "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
                "</tds:Capabilities></tds:GetCapabilitiesResponse>");
        break;
    case ONVIF_OP_GET_SERVICES:
        lit(&w, "<tds:GetServicesResponse>");
        service(&w, ONVIF_NS_DEVICE, f, "/onvif/device_service", 60);
        service(&w, ONVIF_NS_MEDIA, f, "/onvif/media_service", 60);
        lit(&w, "</tds:GetServicesResponse>");
        break;
    case ONVIF_OP_GET_DEVICE_SERVICE_CAPABILITIES:
        lit(&w, "<tds:GetServiceCapabilitiesResponse><tds:Capabilities>");
        device_capabilities_inner(&w);
        lit(&w, "</tds:Capabilities></tds:GetServiceCapabilitiesResponse>");
        break;
    case ONVIF_OP_GET_MEDIA_SERVICE_CAPABILITIES:
        lit(&w, "<trt:GetServiceCapabilitiesResponse><trt:Capabilities SnapshotUri=\"true\" Rotation=\"false\" "
                "VideoSourceMode=\"false\" OSD=\"false\">");
        media_capabilities_inner(&w);
        lit(&w, "</trt:Capabilities></trt:GetServiceCapabilitiesResponse>");
        break;
    case ONVIF_OP_GET_SCOPES:
        lit(&w, "<tds:GetScopesResponse>");
        lit(&w, "<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/Profile/Streaming"
                "</tt:ScopeItem></tds:Scopes>");
        lit(&w, "<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/type/"
                "video_encoder</tt:ScopeItem></tds:Scopes>");
        lit(&w, "<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/hardware/");
        esc(&w, f->model);
        lit(&w, "</tt:ScopeItem></tds:Scopes>");
        lit(&w, "<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/name/");
        esc(&w, f->model);
        lit(&w, "</tt:ScopeItem></tds:Scopes></tds:GetScopesResponse>");
        break;
    case ONVIF_OP_GET_NETWORK_INTERFACES:
        lit(&w, "<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"eth0\"><tt:Enabled>true"
                "</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>");
        elem(&w, "tt:HwAddress", f->mac);
        lit(&w, "<tt:MTU>1500</tt:MTU></tt:Info><tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>");
        elem(&w, "tt:Address", f->address);
        lit(&w, "<tt:PrefixLength>32</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config>"
                "</tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>");
        break;
    case ONVIF_OP_GET_HOSTNAME:
        lit(&w, "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>");
        elem(&w, "tt:Name", f->hostname);
        lit(&w, "</tds:HostnameInformation></tds:GetHostnameResponse>");
        break;
    case ONVIF_OP_GET_PROFILES:
        lit(&w, "<trt:GetProfilesResponse>");
        profile(&w, "trt:Profiles", "main", f, &f->main, use_count);
        if (f->sub.enabled)
            profile(&w, "trt:Profiles", "sub", f, &f->sub, use_count);
        lit(&w, "</trt:GetProfilesResponse>");
        break;
    case ONVIF_OP_GET_PROFILE:
        lit(&w, "<trt:GetProfileResponse>");
        profile(&w, "trt:Profile", prof == &f->main ? "main" : "sub", f, prof, use_count);
        lit(&w, "</trt:GetProfileResponse>");
        break;
    case ONVIF_OP_GET_VIDEO_SOURCES:
        lit(&w, "<trt:GetVideoSourcesResponse><trt:VideoSources token=\"vs0\">");
        elem_num(&w, "tt:Framerate", f->main.fps);
        lit(&w, "<tt:Resolution>");
        elem_num(&w, "tt:Width", f->main.width);
        elem_num(&w, "tt:Height", f->main.height);
        lit(&w, "</tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>");
        break;
    case ONVIF_OP_GET_VIDEO_SOURCE_CONFIGURATIONS:
        lit(&w, "<trt:GetVideoSourceConfigurationsResponse>");
        video_source_config(&w, "trt:Configurations", f, use_count);
        lit(&w, "</trt:GetVideoSourceConfigurationsResponse>");
        break;
    case ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATIONS:
        lit(&w, "<trt:GetVideoEncoderConfigurationsResponse>");
        encoder_config(&w, "trt:Configurations", "main", &f->main);
        if (f->sub.enabled)
            encoder_config(&w, "trt:Configurations", "sub", &f->sub);
        lit(&w, "</trt:GetVideoEncoderConfigurationsResponse>");
        break;
    case ONVIF_OP_GET_VIDEO_ENCODER_CONFIGURATION_OPTIONS:
        /* Read-only: the one resolution and rate the stream has now (settings change through the API). */
        lit(&w, "<trt:GetVideoEncoderConfigurationOptionsResponse><trt:Options><tt:QualityRange><tt:Min>5</tt:Min>"
                "<tt:Max>5</tt:Max></tt:QualityRange><tt:H264><tt:ResolutionsAvailable>");
        elem_num(&w, "tt:Width", prof->width);
        elem_num(&w, "tt:Height", prof->height);
        lit(&w, "</tt:ResolutionsAvailable><tt:GovLengthRange>");
        elem_num(&w, "tt:Min", prof->gov_length);
        elem_num(&w, "tt:Max", prof->gov_length);
        lit(&w, "</tt:GovLengthRange><tt:FrameRateRange>");
        elem_num(&w, "tt:Min", prof->fps);
        elem_num(&w, "tt:Max", prof->fps);
        lit(&w, "</tt:FrameRateRange><tt:EncodingIntervalRange><tt:Min>1</tt:Min><tt:Max>1</tt:Max>"
                "</tt:EncodingIntervalRange><tt:H264ProfilesSupported>Baseline</tt:H264ProfilesSupported>"
                "</tt:H264></trt:Options></trt:GetVideoEncoderConfigurationOptionsResponse>");
        break;
    case ONVIF_OP_GET_STREAM_URI:
        lit(&w, "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>");
        uri(&w, "rtsps", f, f->rtsps_port, 322, prof == &f->main ? "/stream1" : "/stream2");
        lit(&w, "</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
                "</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>");
        break;
    case ONVIF_OP_GET_SNAPSHOT_URI:
        lit(&w, "<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>");
        uri(&w, "https", f, f->https_port, 443, "/api/v1/video/snapshot.jpg");
        lit(&w, "</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false"
                "</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
                "</trt:GetSnapshotUriResponse>");
        break;
    case ONVIF_OP_UNKNOWN:
    default:
        break;
    }
    envelope_close(&w);
    *status = 200;
    return w.rc;
}

int onvif_dispatch(const char *body, size_t len, onvif_auth_fn auth, onvif_facts_fn facts, void *ctx,
                   struct safecam_buf *out, unsigned *status)
{
    struct onvif_request req;
    int rc = onvif_request_parse(body, len, &req);
    int v = req.soap_version;
    int arc = 0;
    if (rc == SAFECAM_ERR_TOOBIG) {
        rc = onvif_fault_write(v, ONVIF_FAULT_TOO_BIG, out, status);
    } else if (rc != 0) {
        rc = onvif_fault_write(v, ONVIF_FAULT_MALFORMED, out, status);
    } else if (req.op == ONVIF_OP_UNKNOWN) {
        rc = onvif_fault_write(v, ONVIF_FAULT_ACTION_NOT_SUPPORTED, out, status);
    } else if (!onvif_op_public(req.op) && (!req.sec.present || !req.sec.password_type[0] || !auth)) {
        rc = onvif_fault_write(v, ONVIF_FAULT_NOT_AUTHORIZED, out, status);
    } else if (!onvif_op_public(req.op) && (arc = auth(ctx, &req.sec)) != 0) {
        /* one call decides; nothing here checks a password */
        rc = onvif_fault_write(v, arc == SAFECAM_ERR_DENIED ? ONVIF_FAULT_NOT_AUTHORIZED : ONVIF_FAULT_UNAVAILABLE,
                               out, status);
    } else {
        struct onvif_facts f;
        memset(&f, 0, sizeof f);
        if (!facts || facts(ctx, req.op, &f) != 0)
            rc = onvif_fault_write(v, ONVIF_FAULT_UNAVAILABLE, out, status);
        else
            rc = onvif_answer_write(&req, &f, out, status);
    }
    onvif_request_clear(&req);
    return rc;
}
