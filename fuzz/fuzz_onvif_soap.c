/* fuzz_onvif_soap.c — libFuzzer target for lib/onvif: the hardened SOAP parse and the dispatcher with a stub
 * verifier (accepts the username "nvr1") and fixed facts, so the answers are built too. Input is an untrusted
 * request body. Invariants: no crash or leak; every answer is a complete envelope with a status the dispatcher
 * documents; a refused parse never reaches the verifier. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecam/onvif.h"

static int auth_calls;

static int auth_stub(void *ctx, const struct onvif_security *sec)
{
    (void)ctx;
    auth_calls++;
    return strcmp(sec->username, "nvr1") == 0 ? 0 : SAFECAM_ERR_DENIED;
}

static int facts_stub(void *ctx, enum onvif_op op, struct onvif_facts *f)
{
    (void)ctx;
    (void)op;
    f->manufacturer = "safecam";
    f->model = "m<&>";
    f->firmware = "1";
    f->serial = "s";
    f->hardware_id = "h";
    f->hostname = "cam";
    f->mac = "02:00:00:00:00:01";
    f->host = "[2001:db8::1]";
    f->address = "2001:db8::1";
    f->https_port = 8443;
    f->rtsps_port = 8322;
    f->main = (struct onvif_stream_facts){1, 1280, 720, 25, 2000, 25};
    f->sub = (struct onvif_stream_facts){1, 640, 360, 25, 500, 25};
    f->now = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct onvif_request req;
    int prc = onvif_request_parse((const char *)data, size, &req);
    onvif_request_clear(&req);
    struct safecam_buf out;
    safecam_buf_init(&out, ONVIF_ANSWER_MAX_BYTES, 0);
    unsigned status = 0;
    int before = auth_calls;
    if (onvif_dispatch((const char *)data, size, auth_stub, facts_stub, NULL, &out, &status) != 0)
        abort();
    if (prc != 0 && auth_calls != before)
        abort();
    if (status != 200 && status != 400 && status != 413 && status != 500 && status != 503)
        abort();
    if (!strstr(safecam_buf_str(&out), "</env:Envelope>"))
        abort();
    safecam_buf_free(&out);
    return 0;
}
