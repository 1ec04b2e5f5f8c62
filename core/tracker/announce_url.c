/* Tracker URLs: scheme and host checks, percent-encoding, and the announce
 * and scrape request URLs of HTTP(S) trackers (BEP 3, BEP 7, BEP 48). */
#include "tracker_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool url_byte_ok(unsigned char c)
{
    /* Bytes >= 0x80 may be an internationalised host name; curl deals with
     * those. Spaces and control characters never belong in a URL. */
    return c > 0x20 && c != 0x7f;
}

/* Start of what follows "scheme://", or NULL. */
static const char *after_scheme(const char *url)
{
    const char *p = strstr(url, "://");
    return p ? p + 3 : NULL;
}

int sw__tracker_url_kind(const char *url, sw_tracker_url_kind *kind_out)
{
    if (!url || !*url)
        return SW_ERR_TRACKER_BAD_URL;
    for (const char *c = url; *c; c++)
        if (!url_byte_ok((unsigned char)*c))
            return SW_ERR_TRACKER_BAD_URL;
    const char *rest = after_scheme(url);
    if (!rest)
        return SW_ERR_TRACKER_BAD_URL;
    size_t scheme_len = (size_t)(rest - 3 - url);
    sw_tracker_url_kind kind;
    if (scheme_len == 4 && strncasecmp(url, "http", 4) == 0)
        kind = SW_TRACKER_URL_HTTP;
    else if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
        kind = SW_TRACKER_URL_HTTPS;
    else if (scheme_len == 3 && strncasecmp(url, "udp", 3) == 0)
        kind = SW_TRACKER_URL_UDP;
    else
        return SW_ERR_TRACKER_BAD_URL;
    char host[256];
    uint16_t port;
    if (sw__tracker_url_host_port(url, 80, host, sizeof host, &port) != 0)
        return SW_ERR_TRACKER_BAD_URL;
    *kind_out = kind;
    return 0;
}

int sw__tracker_url_host_port(const char *url, uint16_t default_port, char *host, size_t host_len,
                              uint16_t *port_out)
{
    const char *p = after_scheme(url);
    if (!p)
        return SW_ERR_TRACKER_BAD_URL;
    size_t auth_len = strcspn(p, "/?#");
    /* Skip user information: the host follows the last '@' of the authority. */
    for (size_t i = auth_len; i > 0; i--) {
        if (p[i - 1] == '@') {
            p += i;
            auth_len -= i;
            break;
        }
    }
    const char *h, *port_text = NULL;
    size_t hlen;
    if (auth_len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', auth_len);
        if (!close)
            return SW_ERR_TRACKER_BAD_URL;
        h = p + 1;
        hlen = (size_t)(close - h);
        size_t used = (size_t)(close + 1 - p);
        if (used < auth_len) {
            if (p[used] != ':')
                return SW_ERR_TRACKER_BAD_URL;
            port_text = p + used + 1;
        }
    } else {
        const char *colon = memchr(p, ':', auth_len);
        h = p;
        hlen = colon ? (size_t)(colon - p) : auth_len;
        if (colon)
            port_text = colon + 1;
    }
    if (hlen == 0 || hlen >= host_len)
        return SW_ERR_TRACKER_BAD_URL;
    uint32_t port = default_port;
    if (port_text) {
        const char *end = p + auth_len;
        if (port_text == end)
            return SW_ERR_TRACKER_BAD_URL;
        port = 0;
        for (const char *c = port_text; c < end; c++) {
            if (*c < '0' || *c > '9')
                return SW_ERR_TRACKER_BAD_URL;
            port = port * 10 + (uint32_t)(*c - '0');
            if (port > 65535)
                return SW_ERR_TRACKER_BAD_URL;
        }
    }
    if (port == 0)
        return SW_ERR_TRACKER_BAD_URL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port_out = (uint16_t)port;
    return 0;
}

int sw__tracker_url_escape(sw_buf *out, const void *data, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const uint8_t *p = data;
    uint8_t *dst;
    /* Worst case three bytes each; reserve once. */
    int rc = sw__buf_reserve(out, len * 3);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            sw__buf_extend(out, 1, &dst);
            dst[0] = c;
        } else {
            sw__buf_extend(out, 3, &dst);
            dst[0] = '%';
            dst[1] = hex[c >> 4];
            dst[2] = hex[c & 15];
        }
    }
    return 0;
}

static int append_str(sw_buf *b, const char *s)
{
    return sw__buf_append(b, s, strlen(s));
}

static int append_param(sw_buf *b, const char *name, const void *value, size_t len)
{
    int rc = append_str(b, "&");
    if (rc == 0)
        rc = append_str(b, name);
    if (rc == 0)
        rc = append_str(b, "=");
    if (rc == 0)
        rc = sw__tracker_url_escape(b, value, len);
    return rc;
}

static int append_int(sw_buf *b, const char *name, int64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, v < 0 ? 0 : v);
    return append_param(b, name, num, strlen(num));
}

/* Hands the buffer out as a C string. */
static int finish(sw_buf *b, char **url_out)
{
    int rc = sw__buf_append_u8(b, 0);
    if (rc != 0) {
        sw__buf_free(b);
        return rc;
    }
    uint8_t *data;
    size_t len;
    sw__buf_detach(b, &data, &len);
    *url_out = (char *)data;
    return 0;
}

/* Starts a URL with base and the first query parameter name=, choosing '?'
 * or '&' so that the existing query string (if any) is kept. */
static int begin_query(sw_buf *b, const char *base, const char *first_name)
{
    /* A fragment is never sent to the server; leave it out. */
    size_t blen = strcspn(base, "#");
    const char *q = memchr(base, '?', blen);
    const char *sep = !q ? "?" : (base[blen - 1] == '?' || base[blen - 1] == '&') ? "" : "&";
    int rc = sw__buf_append(b, base, blen);
    if (rc == 0)
        rc = append_str(b, sep);
    if (rc == 0)
        rc = append_str(b, first_name);
    if (rc == 0)
        rc = append_str(b, "=");
    return rc;
}

int sw__tracker_announce_url(const char *base, const sw_announce_params *p, char **url_out)
{
    if (!base || !*base || !p || !url_out)
        return SW_ERR_INVALID_ARG;
    sw_buf b;
    sw__buf_init(&b);
    int rc = begin_query(&b, base, "info_hash");
    if (rc == 0)
        rc = sw__tracker_url_escape(&b, p->info_hash, SW_TRACKER_HASH_LEN);
    if (rc == 0)
        rc = append_param(&b, "peer_id", p->peer_id, SW_TRACKER_HASH_LEN);
    if (rc == 0)
        rc = append_int(&b, "port", p->port);
    if (rc == 0)
        rc = append_int(&b, "uploaded", p->uploaded);
    if (rc == 0)
        rc = append_int(&b, "downloaded", p->downloaded);
    if (rc == 0)
        rc = append_int(&b, "left", p->left);
    if (rc == 0)
        rc = append_int(&b, "corrupt", p->corrupt);
    if (rc == 0)
        rc = append_str(&b, "&compact=1&no_peer_id=1");
    const char *ev = sw__tracker_event_name(p->event);
    if (rc == 0 && *ev)
        rc = append_param(&b, "event", ev, strlen(ev));
    if (rc == 0 && p->num_want >= 0)
        rc = append_int(&b, "numwant", p->num_want);
    char key[9];
    snprintf(key, sizeof key, "%08" PRIX32, p->key);
    if (rc == 0)
        rc = append_param(&b, "key", key, 8);
    if (rc == 0 && p->tracker_id && p->tracker_id_len > 0)
        rc = append_param(&b, "trackerid", p->tracker_id, p->tracker_id_len);
    if (rc == 0 && (p->support_crypto || p->require_crypto))
        rc = append_str(&b, "&supportcrypto=1");
    if (rc == 0 && p->require_crypto)
        rc = append_str(&b, "&requirecrypto=1");
    if (rc == 0 && p->ip && *p->ip)
        rc = append_param(&b, "ip", p->ip, strlen(p->ip));
    if (rc == 0 && p->ipv4 && *p->ipv4)
        rc = append_param(&b, "ipv4", p->ipv4, strlen(p->ipv4));
    if (rc == 0 && p->ipv6 && *p->ipv6)
        rc = append_param(&b, "ipv6", p->ipv6, strlen(p->ipv6));
    if (rc != 0) {
        sw__buf_free(&b);
        return rc;
    }
    return finish(&b, url_out);
}

int sw__tracker_scrape_url(const char *announce, const uint8_t info_hash[SW_TRACKER_HASH_LEN],
                           char **url_out)
{
    sw_tracker_url_kind kind;
    if (sw__tracker_url_kind(announce, &kind) != 0 || kind == SW_TRACKER_URL_UDP)
        return SW_ERR_TRACKER_NO_SCRAPE;
    const char *rest = after_scheme(announce);
    const char *path = rest + strcspn(rest, "/?#");
    if (*path != '/')
        return SW_ERR_TRACKER_NO_SCRAPE;
    const char *path_end = path + strcspn(path, "?#");
    const char *seg = path_end;
    while (seg[-1] != '/')
        seg--;
    static const char word[] = "announce";
    if ((size_t)(path_end - seg) < sizeof word - 1 || memcmp(seg, word, sizeof word - 1) != 0)
        return SW_ERR_TRACKER_NO_SCRAPE;
    /* A fragment is never sent to the server; leave it out. */
    const char *query_end = path_end + strcspn(path_end, "#");

    sw_buf base;
    sw__buf_init(&base);
    int rc = sw__buf_append(&base, announce, (size_t)(seg - announce));
    if (rc == 0)
        rc = append_str(&base, "scrape");
    if (rc == 0)
        rc = sw__buf_append(&base, seg + sizeof word - 1,
                            (size_t)(query_end - seg) - (sizeof word - 1));
    if (rc == 0)
        rc = sw__buf_append_u8(&base, 0);
    if (rc != 0) {
        sw__buf_free(&base);
        return rc;
    }
    sw_buf b;
    sw__buf_init(&b);
    rc = begin_query(&b, (const char *)base.data, "info_hash");
    sw__buf_free(&base);
    if (rc == 0)
        rc = sw__tracker_url_escape(&b, info_hash, SW_TRACKER_HASH_LEN);
    if (rc != 0) {
        sw__buf_free(&b);
        return rc;
    }
    return finish(&b, url_out);
}
