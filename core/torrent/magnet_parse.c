/* Reading magnet links. The link is scanned once, left to right; each known
 * parameter's value is percent-decoded into a scratch buffer and handed to
 * the same checked setters embedders use (magnet.c). The first problem stops
 * the parse and is reported with its byte offset in the link. */
#include "magnet_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"

typedef enum param_kind {
    PARAM_UNKNOWN,
    PARAM_XT,
    PARAM_DN,
    PARAM_TR,
    PARAM_WS,
    PARAM_PEER,
    PARAM_SELECT,
} param_kind;

typedef struct magnet_parser {
    const char *link;
    size_t len;
    sw_error_detail *err;
    sw_magnet *m;
    char *scratch; /* decoded value of the current parameter, NUL-terminated */
    /* The current parameter, for messages and offsets. */
    const char *key;
    size_t key_len;
    size_t value_offset; /* of the raw value in link */
    size_t raw_value_len;
    bool value_has_escapes; /* decoded offsets differ from raw ones */
} magnet_parser;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
fail(magnet_parser *p, int code, int64_t offset, const char *fmt, ...)
{
    if (p->err) {
        p->err->code = code;
        p->err->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Offset in the link of byte i of the decoded value. Exact when the value had
 * no escapes (decoding kept every byte in place), otherwise the value's
 * start. */
static int64_t value_offset_at(const magnet_parser *p, size_t i)
{
    if (!p->value_has_escapes)
        return (int64_t)(p->value_offset + i);
    return (int64_t)p->value_offset;
}

/* Matches "name" and the indexed forms "name.1", "name.22", ... (BEP 9 lets
 * a link carry several numbered xt/tr/... values). */
static bool key_is(const char *key, size_t key_len, const char *name)
{
    size_t n = strlen(name);
    if (key_len < n || strncasecmp(key, name, n) != 0)
        return false;
    if (key_len == n)
        return true;
    if (key_len < n + 2 || key[n] != '.')
        return false;
    for (size_t i = n + 1; i < key_len; i++) {
        if (key[i] < '0' || key[i] > '9')
            return false;
    }
    return true;
}

static param_kind classify_key(const char *key, size_t key_len)
{
    static const struct {
        const char *name;
        param_kind kind;
    } keys[] = {
        {"xt", PARAM_XT}, {"dn", PARAM_DN},     {"tr", PARAM_TR},
        {"ws", PARAM_WS}, {"x.pe", PARAM_PEER}, {"so", PARAM_SELECT},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (key_is(key, key_len, keys[i].name))
            return keys[i].kind;
    }
    return PARAM_UNKNOWN;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes the current raw value into p->scratch; returns the decoded
 * length through *len_out. */
static int decode_value(magnet_parser *p, bool plus_is_space, size_t *len_out)
{
    const char *raw = p->link + p->value_offset;
    size_t n = 0;
    for (size_t i = 0; i < p->raw_value_len; i++) {
        char c = raw[i];
        if (c == '%') {
            int hi = i + 1 < p->raw_value_len ? hex_digit(raw[i + 1]) : -1;
            int lo = i + 2 < p->raw_value_len ? hex_digit(raw[i + 2]) : -1;
            int64_t at = (int64_t)(p->value_offset + i);
            if (hi < 0 || lo < 0)
                return fail(p, SW_ERR_MAGNET_BAD_ESCAPE, at,
                            "'%%' in %.*s is not followed by two hex digits", (int)p->key_len,
                            p->key);
            if (hi == 0 && lo == 0)
                return fail(p, SW_ERR_MAGNET_BAD_ESCAPE, at, "%%00 (NUL) in %.*s", (int)p->key_len,
                            p->key);
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        p->scratch[n++] = c;
    }
    p->scratch[n] = '\0';
    *len_out = n;
    return 0;
}

static bool has_prefix_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

static int parse_btih(magnet_parser *p, const char *h, size_t len, int64_t at)
{
    sw_sha1 hash;
    if (len == 2 * SW_SHA1_LEN) {
        if (!sw_hex_decode(h, len, hash.v, sizeof hash.v))
            return fail(p, SW_ERR_MAGNET_BAD_HASH, at, "btih info-hash has a non-hex digit");
    } else if (len == 32) {
        size_t got = 0;
        if (sw__base32_decode(h, len, hash.v, sizeof hash.v, &got) != 0 || got != sizeof hash.v)
            return fail(p, SW_ERR_MAGNET_BAD_HASH, at, "btih info-hash is not valid base32");
    } else {
        return fail(p, SW_ERR_MAGNET_BAD_HASH, at,
                    "btih info-hash must be 40 hex or 32 base32 characters, not %zu", len);
    }
    sw_info_hashes *hs = &p->m->hashes;
    if (hs->has_v1 && memcmp(hs->v1.v, hash.v, sizeof hash.v) != 0)
        return fail(p, SW_ERR_MAGNET_BAD_HASH, at, "a second, different btih info-hash");
    hs->has_v1 = true;
    hs->v1 = hash;
    return 0;
}

static int parse_btmh(magnet_parser *p, const char *h, size_t len, int64_t at)
{
    /* Multihash: 0x12 (sha2-256), 0x20 (32 bytes), then the digest. */
    if (len != 4 + 2 * SW_SHA256_LEN || memcmp(h, "1220", 4) != 0)
        return fail(p, SW_ERR_MAGNET_BAD_HASH, at,
                    "btmh info-hash must be a SHA2-256 multihash: 1220 and 64 hex digits");
    sw_sha256 hash;
    if (!sw_hex_decode(h + 4, 2 * SW_SHA256_LEN, hash.v, sizeof hash.v))
        return fail(p, SW_ERR_MAGNET_BAD_HASH, at, "btmh info-hash has a non-hex digit");
    sw_info_hashes *hs = &p->m->hashes;
    if (hs->has_v2 && memcmp(hs->v2.v, hash.v, sizeof hash.v) != 0)
        return fail(p, SW_ERR_MAGNET_BAD_HASH, at, "a second, different btmh info-hash");
    hs->has_v2 = true;
    hs->v2 = hash;
    return 0;
}

static int parse_xt(magnet_parser *p, const char *v, size_t len)
{
    static const size_t urn_len = 9; /* "urn:btih:" and "urn:btmh:" */
    int64_t at = value_offset_at(p, urn_len);
    if (has_prefix_ci(v, len, "urn:btih:"))
        return parse_btih(p, v + urn_len, len - urn_len, at);
    if (has_prefix_ci(v, len, "urn:btmh:"))
        return parse_btmh(p, v + urn_len, len - urn_len, at);
    return 0; /* another network's exact topic (sha1, ed2k, ...) */
}

static int parse_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return -1;
    int port = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
}

static int limit_or_nomem(magnet_parser *p, int rc, const char *what, int max)
{
    if (rc == SW_ERR_LIMIT)
        return fail(p, rc, (int64_t)p->value_offset, "more than %d %s", max, what);
    return fail(p, rc, (int64_t)p->value_offset, "%s", sw_strerror(rc));
}

static int parse_peer(magnet_parser *p, const char *v, size_t len)
{
    int64_t at = (int64_t)p->value_offset;
    const char *host, *colon;
    size_t host_len;
    if (len > 0 && v[0] == '[') {
        const char *close = memchr(v, ']', len);
        if (!close || close + 1 == v + len || close[1] != ':')
            return fail(p, SW_ERR_MAGNET_BAD_PEER, at, "x.pe must be [ipv6]:port");
        host = v + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
        if (!memchr(host, ':', host_len))
            return fail(p, SW_ERR_MAGNET_BAD_PEER, at, "only IPv6 addresses go in brackets");
    } else {
        colon = NULL;
        for (size_t i = len; i > 0; i--) {
            if (v[i - 1] == ':') {
                colon = v + i - 1;
                break;
            }
        }
        if (!colon)
            return fail(p, SW_ERR_MAGNET_BAD_PEER, at, "x.pe must be host:port");
        host = v;
        host_len = (size_t)(colon - v);
        if (memchr(host, ':', host_len))
            return fail(p, SW_ERR_MAGNET_BAD_PEER, at, "an IPv6 x.pe address needs brackets");
    }
    const char *port_str = colon + 1;
    int port = parse_port(port_str, (size_t)(v + len - port_str));
    if (port < 0)
        return fail(p, SW_ERR_MAGNET_BAD_PEER, value_offset_at(p, (size_t)(port_str - v)),
                    "x.pe port must be a number from 1 to 65535");
    char host_buf[256];
    if (host_len == 0 || host_len >= sizeof host_buf)
        return fail(p, SW_ERR_MAGNET_BAD_PEER, at, "x.pe host is empty or too long");
    memcpy(host_buf, host, host_len);
    host_buf[host_len] = '\0';
    int rc = sw_magnet_add_peer(p->m, host_buf, port);
    if (rc == SW_ERR_MAGNET_BAD_PEER)
        return fail(p, rc, at, "x.pe host is not an IP address or host name");
    if (rc < 0)
        return limit_or_nomem(p, rc, "x.pe peers", SW_MAGNET_MAX_PEERS);
    return 0;
}

/* Reads a file index at *s; advances *s past its digits. */
static bool parse_index(const char **s, const char *end, int *out)
{
    const char *q = *s;
    int64_t v = 0;
    if (q == end || *q < '0' || *q > '9')
        return false;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        v = v * 10 + (*q - '0');
        if (v > SW_MAGNET_MAX_FILE_INDEX)
            return false;
    }
    *s = q;
    *out = (int)v;
    return true;
}

static int parse_select(magnet_parser *p, const char *v, size_t len)
{
    const char *end = v + len;
    if (len == 0)
        return fail(p, SW_ERR_MAGNET_BAD_SELECT, (int64_t)p->value_offset, "so= is empty");
    for (const char *s = v;;) {
        int64_t at = value_offset_at(p, (size_t)(s - v));
        int first, last;
        if (!parse_index(&s, end, &first))
            return fail(p, SW_ERR_MAGNET_BAD_SELECT, at,
                        "so= expects file indices (0 to %d) and ranges like 4-7",
                        SW_MAGNET_MAX_FILE_INDEX);
        last = first;
        if (s < end && *s == '-') {
            s++;
            if (!parse_index(&s, end, &last))
                return fail(p, SW_ERR_MAGNET_BAD_SELECT, at,
                            "so= range needs an end index (0 to %d)", SW_MAGNET_MAX_FILE_INDEX);
            if (last < first)
                return fail(p, SW_ERR_MAGNET_BAD_SELECT, at,
                            "so= range %d-%d ends before it starts", first, last);
        }
        int rc = sw_magnet_add_select_range(p->m, first, last);
        if (rc < 0)
            return limit_or_nomem(p, rc, "so= file ranges", SW_MAGNET_MAX_SELECT_RANGES);
        if (s == end)
            return 0;
        if (*s != ',')
            return fail(p, SW_ERR_MAGNET_BAD_SELECT, value_offset_at(p, (size_t)(s - v)),
                        "unexpected character in so=");
        s++;
    }
}

static int parse_param(magnet_parser *p, param_kind kind)
{
    size_t len = 0;
    int rc = decode_value(p, kind == PARAM_DN, &len);
    if (rc < 0)
        return rc;
    const char *v = p->scratch;
    switch (kind) {
    case PARAM_XT:
        return parse_xt(p, v, len);
    case PARAM_DN:
        /* The first name wins; later ones belong to other xt's in
         * multi-torrent links, which cswarm does not open as one. */
        if (len == 0 || p->m->name)
            return 0;
        rc = sw_magnet_set_name(p->m, v);
        return rc < 0 ? limit_or_nomem(p, rc, "", 0) : 0;
    case PARAM_TR:
        rc = len ? sw_magnet_add_tracker(p->m, v) : 0;
        return rc < 0 ? limit_or_nomem(p, rc, "trackers", SW_MAGNET_MAX_TRACKERS) : 0;
    case PARAM_WS:
        rc = len ? sw_magnet_add_web_seed(p->m, v) : 0;
        return rc < 0 ? limit_or_nomem(p, rc, "web seeds", SW_MAGNET_MAX_WEB_SEEDS) : 0;
    case PARAM_PEER:
        return parse_peer(p, v, len);
    case PARAM_SELECT:
        return parse_select(p, v, len);
    case PARAM_UNKNOWN:
        break;
    }
    return 0;
}

static int check_envelope(magnet_parser *p)
{
    static const char scheme[] = "magnet:";
    const size_t scheme_len = sizeof scheme - 1;
    if (p->len > SW_MAGNET_MAX_LEN)
        return fail(p, SW_ERR_LIMIT, SW_MAGNET_MAX_LEN,
                    "magnet link is %zu bytes, more than the %d allowed", p->len,
                    SW_MAGNET_MAX_LEN);
    if (p->len == 0)
        return fail(p, SW_ERR_MAGNET_NOT_MAGNET, 0, "empty link");
    if (p->len < scheme_len || strncasecmp(p->link, scheme, scheme_len) != 0)
        return fail(p, SW_ERR_MAGNET_NOT_MAGNET, 0, "does not start with \"magnet:\"");
    if (p->len == scheme_len || p->link[scheme_len] != '?')
        return fail(p, SW_ERR_MAGNET_NOT_MAGNET, (int64_t)scheme_len,
                    "expected '?' after \"magnet:\"");
    for (size_t i = 0; i < p->len; i++) {
        unsigned char c = (unsigned char)p->link[i];
        if (c < 0x20 || c == 0x7f)
            return fail(p, SW_ERR_MAGNET_BAD_ESCAPE, (int64_t)i,
                        "raw control character 0x%02X; it must be percent-encoded", c);
    }
    return 0;
}

static int parse_link(magnet_parser *p)
{
    int rc = check_envelope(p);
    if (rc < 0)
        return rc;
    p->scratch = malloc(p->len + 1);
    if (!p->scratch)
        return fail(p, SW_ERR_NOMEM, -1, "out of memory");
    rc = sw_magnet_new(&p->m);
    if (rc < 0)
        return fail(p, rc, -1, "out of memory");

    size_t pos = sizeof "magnet:?" - 1;
    while (pos < p->len) {
        const char *seg = p->link + pos;
        const char *amp = memchr(seg, '&', p->len - pos);
        size_t seg_len = amp ? (size_t)(amp - seg) : p->len - pos;
        const char *eq = memchr(seg, '=', seg_len);
        p->key = seg;
        p->key_len = eq ? (size_t)(eq - seg) : seg_len;
        p->value_offset = eq ? pos + p->key_len + 1 : pos + seg_len;
        p->raw_value_len = eq ? seg_len - p->key_len - 1 : 0;
        p->value_has_escapes = memchr(p->link + p->value_offset, '%', p->raw_value_len) != NULL;
        param_kind kind = classify_key(p->key, p->key_len);
        if (kind != PARAM_UNKNOWN) {
            rc = parse_param(p, kind);
            if (rc < 0)
                return rc;
        }
        pos += seg_len + 1;
    }

    if (!p->m->hashes.has_v1 && !p->m->hashes.has_v2)
        return fail(p, SW_ERR_MAGNET_NO_HASH, -1, "no xt=urn:btih: or xt=urn:btmh: info-hash");
    size_t canonical = sw__magnet_link_len(p->m);
    if (canonical > SW_MAGNET_MAX_LEN)
        return fail(p, SW_ERR_LIMIT, -1,
                    "magnet link would be %zu bytes once re-encoded, more than the %d allowed",
                    canonical, SW_MAGNET_MAX_LEN);
    return 0;
}

int sw_magnet_parse(const char *link, size_t len, sw_magnet **m_out, sw_error_detail *err)
{
    magnet_parser p = {.link = link, .len = len, .err = err};
    if (err)
        *err = (sw_error_detail){.code = 0, .offset = -1};
    if (!m_out)
        return SW_ERR_INVALID_ARG;
    if (!link)
        return fail(&p, SW_ERR_INVALID_ARG, -1, "no link given");
    int rc = parse_link(&p);
    free(p.scratch);
    if (rc < 0) {
        sw_magnet_free(p.m);
        return rc;
    }
    *m_out = p.m;
    return 0;
}
