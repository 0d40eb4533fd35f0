/*
 * fuzz_s3xml — S3 responses (storage_s3/s3_xml.c) read as the plugin reads
 * them: a ListObjectsV2 page (s3_list.c: IsTruncated, the continuation
 * token, each Contents' Key), an error (Code, Message) and a multipart
 * initiate (UploadId). The body is an exact-size buffer, as curl hands it.
 */
#include "fuzz.h"

#include "s3_xml.h"

static void text(const char *xml, size_t len, const char *tag)
{
    size_t pos = 0;
    char *out = NULL;
    if (s3_xml_text(xml, len, tag, &pos, &out) == 1) {
        if (pos > len)
            abort();
        (void)strlen(out);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = fz_dup(data, size, 0);
    text(xml, size, "IsTruncated");
    text(xml, size, "NextContinuationToken");
    text(xml, size, "Code");
    text(xml, size, "Message");
    text(xml, size, "UploadId");
    size_t pos = 0, s, e;
    while (s3_xml_element(xml, size, "Contents", &pos, &s, &e)) {
        if (s > e || e > size || pos > size)
            abort();
        size_t kp = s;
        char *key = NULL;
        if (s3_xml_text(xml, e, "Key", &kp, &key) == 1)
            (void)strlen(key);
        free(key);
    }
    s3_buf b = {0};
    char *dec = s3_xml_decode(xml, size);
    if (dec) {
        s3_xml_escape(&b, dec);
        free(dec);
    }
    s3_buf_free(&b);
    free(xml);
    return 0;
}
