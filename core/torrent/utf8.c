#include "utf8.h"

#include <string.h>

int sw__utf8_decode(const uint8_t *s, size_t len, uint32_t *cp_out)
{
    uint8_t b0 = s[0];
    int n;
    uint32_t cp, min;
    if (b0 < 0x80) {
        if (cp_out)
            *cp_out = b0;
        return 1;
    } else if ((b0 & 0xE0) == 0xC0) {
        n = 2;
        cp = b0 & 0x1F;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3;
        cp = b0 & 0x0F;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4;
        cp = b0 & 0x07;
        min = 0x10000;
    } else {
        return 0; /* continuation byte or 0xF8..0xFF */
    }
    if (len < (size_t)n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp_out)
        *cp_out = cp;
    return n;
}

bool sw__utf8_is_valid(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] == 0)
            return false;
        int n = sw__utf8_decode(p + i, len - i, NULL);
        if (n == 0)
            return false;
        i += (size_t)n;
    }
    return true;
}

size_t sw__utf8_sanitize_text(const char *s, size_t len, char *out)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        if (p[i] == 0) {
            i++;
            continue;
        }
        int n = sw__utf8_decode(p + i, len - i, NULL);
        if (n == 0) {
            memcpy(out + o, replacement, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, p + i, (size_t)n);
        o += (size_t)n;
        i += (size_t)n;
    }
    out[o] = '\0';
    return o;
}

size_t sw__utf8_floor(const char *s, size_t len, size_t max)
{
    if (max >= len)
        return len;
    size_t n = max;
    /* Back off over continuation bytes: s[n] must begin a character. */
    while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}
