/*
 * docname — owns the rule for the characters of a stored filename. A
 * filename is shown back to people (listings, Content-Disposition on
 * download, answers' sources), so it must display as what it is: no
 * control characters that a terminal or a log would act on, and no
 * bidirectional controls, which reorder how the rest of the name is drawn
 * ("report<U+202E>fdp.exe" shows as "reportexe.pdf": the "Trojan Source"
 * trick). One rule in one place, so no transport can let a name through
 * that another would refuse. A NUL never arrives here: a transport that
 * decodes %00 refuses it before the name becomes a C string.
 */
#include "docname.h"

#include "textnorm.h"

/* A bidirectional formatting control at p (U+202A..U+202E, U+2066..U+2069
 * as UTF-8), or 0. p is NUL-terminated, so p[2] is only read after p[1]
 * matched a continuation byte. */
static unsigned bidi_control(const unsigned char *p)
{
    if (p[0] != 0xE2)
        return 0;
    if (p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE)
        return 0x2000u + (p[2] - 0x80u);
    if (p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9)
        return 0x2040u + (p[2] - 0x80u);
    return 0;
}

int docname_chars_ok(const char *name, size_t n, rk_err *err)
{
    const unsigned char *u = (const unsigned char *)name;
    for (size_t i = 0; i < n; i++)
        if (u[i] < 0x20 || u[i] == 0x7F)
            return rk_fail(err, RK_ERR_INVALID,
                           "filename contains control characters (byte 0x%02X)", u[i]);
    if (!tn_utf8_valid(name, n))
        return rk_fail(err, RK_ERR_INVALID, "filename is not UTF-8");
    for (size_t i = 0; i < n; i++) {
        if (u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
            return rk_fail(err, RK_ERR_INVALID,
                           "filename contains control characters (U+%04X)", u[i + 1]);
        unsigned b = bidi_control(u + i);
        if (b)
            return rk_fail(err, RK_ERR_INVALID,
                           "filename contains a bidirectional control character "
                           "(U+%04X), which would make it display as another name",
                           b);
    }
    return RK_OK;
}
