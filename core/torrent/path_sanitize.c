#include "path_sanitize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/error.h>

#include "utf8.h"

static bool is_direction_control(uint32_t cp)
{
    return cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Step 1: invalid bytes, separators and control characters become '_',
 * direction controls vanish. Never grows the text. Returns the new length. */
static size_t clean_characters(const char *in, size_t len, char *out)
{
    const uint8_t *p = (const uint8_t *)in;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        int n = sw__utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            out[o++] = '_';
            i++;
            continue;
        }
        if (cp < 0x20 || cp == 0x7F || cp == '/' || cp == '\\')
            out[o++] = '_';
        else if (!is_direction_control(cp)) {
            memcpy(out + o, p + i, (size_t)n);
            o += (size_t)n;
        }
        i += (size_t)n;
    }
    return o;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool equal_upper(const char *s, size_t len, const char *upper)
{
    size_t n = strlen(upper);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_upper(s[i]) != upper[i])
            return false;
    return true;
}

/* The part of a name Windows compares against its device names: up to the
 * first '.', without trailing spaces. */
static size_t windows_base_len(const char *name, size_t len)
{
    const char *dot = memchr(name, '.', len);
    size_t n = dot ? (size_t)(dot - name) : len;
    while (n > 0 && name[n - 1] == ' ')
        n--;
    return n;
}

bool sw__path_is_windows_reserved(const char *name, size_t len)
{
    static const char *const fixed[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
    /* Windows also treats the superscript digits 1, 2, 3 as port numbers. */
    static const char *const digits[] = {"0", "1", "2", "3",        "4",        "5",       "6",
                                         "7", "8", "9", "\xC2\xB9", "\xC2\xB2", "\xC2\xB3"};
    size_t n = windows_base_len(name, len);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (equal_upper(name, n, fixed[i]))
            return true;
    if (n < 4 || !(equal_upper(name, 3, "COM") || equal_upper(name, 3, "LPT")))
        return false;
    for (size_t i = 0; i < sizeof digits / sizeof digits[0]; i++)
        if (equal_upper(name + 3, n - 3, digits[i]))
            return true;
    return false;
}

size_t sw__path_extension_start(const char *c, size_t len)
{
    size_t lower = len > SW_PATH_EXTENSION_MAX ? len - SW_PATH_EXTENSION_MAX : 0;
    for (size_t i = len; i > lower; i--) {
        if (c[i - 1] == '.')
            return i - 1 == 0 ? len : i - 1;
    }
    return len;
}

static void replace_trailing_dots_and_spaces(char *s, size_t len)
{
    for (size_t i = len; i > 0 && (s[i - 1] == '.' || s[i - 1] == ' '); i--)
        s[i - 1] = '_';
}

int sw__path_sanitize_component(const char *in, size_t len, char *out)
{
    /* Room for the cleaned text plus the '_' a reserved name may get. */
    char stack_buf[1024];
    char *t = stack_buf;
    if (len + 2 > sizeof stack_buf) {
        t = malloc(len + 2);
        if (!t)
            return SW_ERR_NOMEM;
    }
    size_t m = clean_characters(in, len, t);

    if (m == 0 || (m == 1 && t[0] == '.') || (m == 2 && t[0] == '.' && t[1] == '.')) {
        if (t != stack_buf)
            free(t);
        out[0] = '\0';
        return 0;
    }

    if (sw__path_is_windows_reserved(t, m)) {
        size_t at = windows_base_len(t, m);
        memmove(t + at + 1, t + at, m - at);
        t[at] = '_';
        m++;
    }
    replace_trailing_dots_and_spaces(t, m);

    size_t n;
    if (m <= SW_PATH_COMPONENT_MAX) {
        memcpy(out, t, m);
        n = m;
    } else {
        size_t ext = sw__path_extension_start(t, m);
        size_t ext_len = m - ext;
        size_t stem = sw__utf8_floor(t, ext, SW_PATH_COMPONENT_MAX - ext_len);
        memcpy(out, t, stem);
        memcpy(out + stem, t + ext, ext_len);
        n = stem + ext_len;
        /* Cutting may have left a dot or space at the end again. */
        replace_trailing_dots_and_spaces(out, n);
    }
    out[n] = '\0';
    if (t != stack_buf)
        free(t);
    return (int)n;
}

bool sw__path_is_safe(const char *path)
{
    if (!path || !*path || path[0] == '/' || !sw__utf8_is_valid(path, strlen(path)))
        return false;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n > SW_PATH_COMPONENT_MAX)
            return false;
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c < 0x20 || c == 0x7F || c == '\\')
                return false;
        }
        if (!slash)
            return true;
        p = slash + 1;
    }
}
