/*
 * bad_extractor — an extractor that breaks its contract, for the checker
 * to fail: it answers every input, binary junk too, with the same text
 * and no error, and its sniff claims a type it never declared.
 */
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

static const rk_extract_format formats[] = {
    {"text/x-bad", ".bad", NULL},
    {NULL, NULL, NULL},
};

static const char *bx_sniff(void *ctx, const void *head, size_t len) { return "image/png"; }

static int bx_extract(void *ctx, const rk_extract_request *rq, const rk_extract_sink *out,
                      rk_err *err)
{
    static const char text[] = "ragkernel says yes to anything";
    return out->text(out->ud, text, sizeof text - 1);
}

static int bx_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    *ctx = NULL;
    return RK_OK;
}

static void bx_destroy(void *ctx) {}

static const rk_extractor_vtable vtable = {
    .struct_size = sizeof(rk_extractor_vtable),
    .formats = formats,
    .sniff = bx_sniff,
    .extract = bx_extract,
};

static const rk_plugin desc = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_EXTRACTOR,
    .name = "bad_extractor",
    .version = "0.1.0",
    .description = "test: an extractor that accepts junk and sniffs wrongly",
    .create = bx_create,
    .destroy = bx_destroy,
    .vtable = &vtable,
};

RK_PLUGIN_DEFINE(desc)
