/* Content-Range parsing for web seed answers; see web_seed.h. */
#include "web_seed.h"

#include <stdbool.h>

#include "base/base.h"

/* 18 decimal digits stay below INT64_MAX, so no overflow check is needed
 * beyond the digit count; no torrent is anywhere near that large. */
#define MAX_DIGITS 18

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads a decimal number at s[*pos..len); false if none or too long. */
static bool read_number(const char *s, size_t len, size_t *pos, int64_t *out)
{
    size_t start = *pos;
    int64_t v = 0;
    while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
        if (*pos - start == MAX_DIGITS)
            return false;
        v = v * 10 + (s[*pos] - '0');
        (*pos)++;
    }
    if (*pos == start)
        return false;
    *out = v;
    return true;
}

static bool lower_eq(char c, char want)
{
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    return c == want;
}

int sw__http_parse_content_range(const char *value, size_t len, int64_t *first_out,
                                 int64_t *last_out, int64_t *total_out)
{
    if (!value || !first_out || !last_out || !total_out)
        return SW_ERR_INVALID_ARG;
    size_t p = 0;
    while (p < len && is_space(value[p]))
        p++;
    static const char unit[] = "bytes";
    for (size_t i = 0; i < sizeof unit - 1; i++, p++)
        if (p >= len || !lower_eq(value[p], unit[i]))
            return SW_ERR_INVALID_ARG;
    if (p >= len || !is_space(value[p]))
        return SW_ERR_INVALID_ARG;
    while (p < len && is_space(value[p]))
        p++;
    int64_t first, last, total = -1;
    if (!read_number(value, len, &p, &first))
        return SW_ERR_INVALID_ARG;
    if (p >= len || value[p] != '-')
        return SW_ERR_INVALID_ARG;
    p++;
    if (!read_number(value, len, &p, &last))
        return SW_ERR_INVALID_ARG;
    if (p >= len || value[p] != '/')
        return SW_ERR_INVALID_ARG;
    p++;
    if (p < len && value[p] == '*')
        p++;
    else if (!read_number(value, len, &p, &total))
        return SW_ERR_INVALID_ARG;
    while (p < len && (is_space(value[p]) || value[p] == '\r' || value[p] == '\n'))
        p++;
    if (p != len)
        return SW_ERR_INVALID_ARG;
    if (first > last || (total >= 0 && last >= total))
        return SW_ERR_INVALID_ARG;
    *first_out = first;
    *last_out = last;
    *total_out = total;
    return 0;
}
