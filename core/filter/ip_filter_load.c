/* Reading range lists (blocklist files) into an IP filter: the eMule/DAT
 * format ("first - last , access , description"), the P2P format
 * ("description:first-last") and bare "first - last" lines. Every read is
 * bounded by the line's length; nothing is assumed NUL-terminated. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

/* eMule's access levels: up to this one a range is blocked. */
#define DAT_BLOCK_LEVEL 127

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

/* IPv4 as blocklists write it: four decimal octets of 1..3 digits, leading
 * zeros allowed ("001.002.003.000"), which inet_pton refuses. */
static bool parse_v4(const char *s, size_t len, uint8_t out[4])
{
    size_t pos = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (pos >= len || s[pos] != '.')
                return false;
            pos++;
        }
        unsigned v = 0;
        size_t digits = 0;
        while (pos < len && s[pos] >= '0' && s[pos] <= '9' && digits < 3) {
            v = v * 10 + (unsigned)(s[pos] - '0');
            pos++;
            digits++;
        }
        if (digits == 0 || v > 255)
            return false;
        out[part] = (uint8_t)v;
    }
    return pos == len;
}

static bool parse_v6(const char *s, size_t len, uint8_t out[16])
{
    char buf[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1;
}

static bool parse_addr(const char *s, size_t len, bool v4_only, int *family, uint8_t out[16])
{
    trim(&s, &len);
    memset(out, 0, 16);
    if (parse_v4(s, len, out)) {
        *family = 4;
        return true;
    }
    if (!v4_only && parse_v6(s, len, out)) {
        *family = 6;
        return true;
    }
    return false;
}

/* "first - last": addresses never contain '-', so the first one splits. */
static bool parse_range(const char *s, size_t len, bool v4_only, sw_ip_rule *out)
{
    const char *dash = memchr(s, '-', len);
    if (!dash)
        return false;
    size_t alen = (size_t)(dash - s);
    int fa, fb;
    if (!parse_addr(s, alen, v4_only, &fa, out->first) ||
        !parse_addr(dash + 1, len - alen - 1, v4_only, &fb, out->last) || fa != fb)
        return false;
    size_t n = fa == 4 ? 4 : 16;
    if (memcmp(out->first, out->last, n) > 0)
        return false;
    out->family = fa;
    return true;
}

/* The access level of a DAT line: decimal digits, 0..255 (eMule's range). */
static bool parse_level(const char *s, size_t len, unsigned *out)
{
    trim(&s, &len);
    if (len == 0 || len > 3)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 255)
        return false;
    *out = v;
    return true;
}

int sw__ip_filter_parse_line(const char *line, size_t len, sw_ip_rule *out)
{
    if (!line || len > SW_IP_FILTER_MAX_LINE)
        return SW_ERR_INVALID_ARG;
    trim(&line, &len);
    if (len == 0 || line[0] == '#' || (len >= 2 && line[0] == '/' && line[1] == '/'))
        return 0;
    memset(out, 0, sizeof *out);
    const char *comma = memchr(line, ',', len);
    if (comma) {
        size_t rlen = (size_t)(comma - line);
        const char *rest = comma + 1;
        size_t rest_len = len - rlen - 1;
        const char *comma2 = memchr(rest, ',', rest_len);
        size_t level_len = comma2 ? (size_t)(comma2 - rest) : rest_len;
        unsigned level;
        if (!parse_range(line, rlen, false, out) || !parse_level(rest, level_len, &level))
            return SW_ERR_INVALID_ARG;
        out->flags = level <= DAT_BLOCK_LEVEL ? SW_FILTER_BLOCKED : 0;
        return 1;
    }
    if (parse_range(line, len, false, out)) {
        out->flags = SW_FILTER_BLOCKED;
        return 1;
    }
    /* P2P: the description may hold ':' itself; the range follows the
     * last one. */
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (line[i - 1] == ':') {
            colon = line + i - 1;
            break;
        }
    }
    if (colon) {
        size_t off = (size_t)(colon - line) + 1;
        if (parse_range(colon + 1, len - off, true, out)) {
            out->flags = SW_FILTER_BLOCKED;
            return 1;
        }
    }
    return SW_ERR_INVALID_ARG;
}

static int rule_cmp(const void *pa, const void *pb)
{
    const sw_ip_rule *a = pa, *b = pb;
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->first, b->first, 16);
}

int sw_ip_filter_load(sw_ip_filter *f, const char *text, size_t len,
                      sw_ip_filter_load_result *res_out)
{
    if (!f || (!text && len > 0))
        return SW_ERR_INVALID_ARG;
    sw_ip_filter_load_result res = {0, 0, 0};
    sw_ip_rule *rules = NULL;
    size_t n = 0, cap = 0;
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        sw_ip_rule r;
        int rc = sw__ip_filter_parse_line(text + pos, llen, &r);
        if (rc < 0) {
            if (res.malformed++ == 0)
                res.first_bad_line = lineno;
        } else if (rc > 0) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                sw_ip_rule *v = realloc(rules, ncap * sizeof *v);
                if (!v) {
                    free(rules);
                    return SW_ERR_NOMEM;
                }
                rules = v;
                cap = ncap;
            }
            rules[n++] = r;
        }
        pos += llen + (nl ? 1 : 0);
    }
    /* Rules that all set the same flags give the same filter in any order:
     * applied in address order, each one lands at the end of the map. With
     * mixed flags file order decides, so it is kept. */
    bool same = true;
    for (size_t i = 1; i < n && same; i++)
        same = rules[i].flags == rules[0].flags;
    if (same && n > 1)
        qsort(rules, n, sizeof *rules, rule_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = sw_ip_filter_add_rule_bytes(f, rules[i].family, rules[i].first, rules[i].last,
                                         rules[i].flags);
        if (rc == 0)
            res.rules++;
    }
    free(rules);
    if (rc < 0)
        return rc;
    if (res_out)
        *res_out = res;
    return 0;
}
