/* BEP 14 announces: an HTTP-like request "BT-SEARCH * HTTP/1.1" with Host,
 * Port, one or more Infohash headers and an optional cookie, sent to the
 * LSD multicast group. The parser walks the datagram line by line with
 * explicit bounds; it accepts CRLF or bare LF line ends, as senders vary. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cswarm/torrent_info.h>

#include "lsd_msg.h"

#define REQUEST_LINE "BT-SEARCH * HTTP/1.1"
/* The longest header line accepted (an Infohash line is 50 bytes). */
#define MAX_LINE 256

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    size_t n = strlen(want);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(name[i]) != want[i])
            return false;
    return true;
}

/* The next line of data[*pos..len) without its line end. false when no
 * line end is left (an unterminated message) or the line is too long. */
static bool next_line(const uint8_t *data, size_t len, size_t *pos, const char **line,
                      size_t *line_len)
{
    size_t start = *pos;
    for (size_t i = start; i < len && i - start <= MAX_LINE; i++) {
        if (data[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && data[end - 1] == '\r')
            end--;
        *line = (const char *)data + start;
        *line_len = end - start;
        *pos = i + 1;
        return true;
    }
    return false;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static bool parse_port(const char *v, size_t n, uint16_t *out)
{
    if (n == 0 || n > 5)
        return false;
    unsigned long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (unsigned long)(v[i] - '0');
    }
    if (x == 0 || x > 65535)
        return false;
    *out = (uint16_t)x;
    return true;
}

int sw__lsd_parse(const uint8_t *data, size_t len, sw_lsd_msg *out)
{
    if (!data || !out)
        return SW_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    if (len > SW_LSD_MAX_MESSAGE)
        return SW_ERR_PROTOCOL;
    size_t pos = 0;
    const char *line;
    size_t n;
    if (!next_line(data, len, &pos, &line, &n) || n != strlen(REQUEST_LINE) ||
        memcmp(line, REQUEST_LINE, n) != 0)
        return SW_ERR_PROTOCOL;
    bool have_port = false, ended = false;
    while (next_line(data, len, &pos, &line, &n)) {
        if (n == 0) {
            ended = true;
            break;
        }
        const char *colon = memchr(line, ':', n);
        if (!colon)
            return SW_ERR_PROTOCOL;
        const char *name = line;
        size_t name_len = (size_t)(colon - line);
        const char *val = colon + 1;
        size_t val_len = n - name_len - 1;
        trim(&name, &name_len);
        trim(&val, &val_len);
        if (name_is(name, name_len, "port")) {
            if (have_port || !parse_port(val, val_len, &out->port))
                return SW_ERR_PROTOCOL;
            have_port = true;
        } else if (name_is(name, name_len, "infohash")) {
            if (val_len != 40 || out->num_hashes == SW_LSD_MAX_HASHES)
                return SW_ERR_PROTOCOL;
            if (!sw_hex_decode(val, val_len, out->hashes[out->num_hashes].v, 20))
                return SW_ERR_PROTOCOL;
            out->num_hashes++;
        } else if (name_is(name, name_len, "cookie")) {
            if (val_len > SW_LSD_MAX_COOKIE || out->has_cookie)
                return SW_ERR_PROTOCOL;
            memcpy(out->cookie, val, val_len);
            out->cookie[val_len] = '\0';
            out->has_cookie = true;
        }
        /* Host and headers we do not know are ignored (forward
         * compatibility, as BEP 14 asks). */
    }
    if (!ended || !have_port || out->num_hashes == 0)
        return SW_ERR_PROTOCOL;
    return 0;
}

int sw__lsd_format(char *buf, size_t cap, int family, uint16_t port, const sw_sha1 *hashes,
                   size_t n, const char *cookie, size_t *len_out)
{
    if (!buf || !hashes || !len_out || n == 0 || n > SW_LSD_MAX_HASHES || port == 0 ||
        (family != AF_INET && family != AF_INET6))
        return SW_ERR_INVALID_ARG;
    if (cookie) {
        size_t cl = strlen(cookie);
        if (cl > SW_LSD_MAX_COOKIE)
            return SW_ERR_INVALID_ARG;
        for (size_t i = 0; i < cl; i++)
            if (cookie[i] < 0x21 || cookie[i] > 0x7e)
                return SW_ERR_INVALID_ARG;
    }
    size_t used = 0;
    int w = snprintf(buf, cap, "%s\r\nHost: %s:%d\r\nPort: %u\r\n", REQUEST_LINE,
                     family == AF_INET ? SW_LSD_GROUP_V4 : "[" SW_LSD_GROUP_V6 "]", SW_LSD_PORT,
                     (unsigned)port);
    if (w < 0 || (size_t)w >= cap)
        return SW_ERR_LIMIT;
    used = (size_t)w;
    for (size_t i = 0; i < n; i++) {
        char hex[41];
        sw_hex_encode(hashes[i].v, 20, hex);
        hex[40] = '\0';
        w = snprintf(buf + used, cap - used, "Infohash: %s\r\n", hex);
        if (w < 0 || (size_t)w >= cap - used)
            return SW_ERR_LIMIT;
        used += (size_t)w;
    }
    if (cookie) {
        w = snprintf(buf + used, cap - used, "cookie: %s\r\n", cookie);
        if (w < 0 || (size_t)w >= cap - used)
            return SW_ERR_LIMIT;
        used += (size_t)w;
    }
    w = snprintf(buf + used, cap - used, "\r\n\r\n");
    if (w < 0 || (size_t)w >= cap - used)
        return SW_ERR_LIMIT;
    used += (size_t)w;
    *len_out = used;
    return 0;
}
