/* Writing magnet links: the canonical form of an sw_magnet, and the magnet of
 * a loaded torrent. */
#include "magnet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sw__magnet_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

size_t sw__magnet_escaped_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += sw__magnet_is_unreserved((unsigned char)s[i]) ? 1 : 3;
    return n;
}

/* Appends to out, or only counts when out is NULL, so measuring and writing
 * share one code path and can never disagree. */
typedef struct link_writer {
    char *out;
    size_t n;
} link_writer;

static void put(link_writer *w, const char *s, size_t len)
{
    if (w->out)
        memcpy(w->out + w->n, s, len);
    w->n += len;
}

static void put_str(link_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_escaped(link_writer *w, const char *s, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sw__magnet_is_unreserved(c)) {
            put(w, (const char *)&c, 1);
        } else {
            char esc[3] = {'%', digits[c >> 4], digits[c & 15]};
            put(w, esc, 3);
        }
    }
}

static void put_param(link_writer *w, const char *key, const char *value)
{
    put(w, "&", 1);
    put_str(w, key);
    put(w, "=", 1);
    put_escaped(w, value, strlen(value));
}

static size_t write_link(const sw_magnet *m, char *out)
{
    link_writer w = {out, 0};
    const sw_info_hashes *h = &m->hashes;
    put_str(&w, "magnet:?");
    if (h->has_v1) {
        char hex[2 * SW_SHA1_LEN + 1];
        sw_hex_encode(h->v1.v, sizeof h->v1.v, hex);
        put_str(&w, "xt=urn:btih:");
        put(&w, hex, 2 * SW_SHA1_LEN);
    }
    if (h->has_v2) {
        char hex[2 * SW_SHA256_LEN + 1];
        sw_hex_encode(h->v2.v, sizeof h->v2.v, hex);
        if (h->has_v1)
            put(&w, "&", 1);
        /* Multihash prefix: 0x12 = sha2-256, 0x20 = 32-byte digest. */
        put_str(&w, "xt=urn:btmh:1220");
        put(&w, hex, 2 * SW_SHA256_LEN);
    }
    if (m->name)
        put_param(&w, "dn", m->name);
    for (int i = 0; i < m->trackers.count; i++)
        put_param(&w, "tr", m->trackers.items[i]);
    for (int i = 0; i < m->web_seeds.count; i++)
        put_param(&w, "ws", m->web_seeds.items[i]);
    for (int i = 0; i < m->num_peers; i++) {
        const sw_magnet_peer *p = &m->peers[i];
        bool v6 = p->kind == SW_MAGNET_PEER_IPV6;
        char port[8];
        int port_len = snprintf(port, sizeof port, ":%d", p->port);
        put_str(&w, "&x.pe=");
        if (v6)
            put_escaped(&w, "[", 1);
        put_escaped(&w, p->host, strlen(p->host));
        if (v6)
            put_escaped(&w, "]", 1);
        put_escaped(&w, port, (size_t)port_len);
    }
    for (int i = 0; i < m->num_ranges; i++) {
        const sw_magnet_file_range *r = &m->ranges[i];
        char item[32];
        int item_len = r->first == r->last
                           ? snprintf(item, sizeof item, "%d", r->first)
                           : snprintf(item, sizeof item, "%d-%d", r->first, r->last);
        put_str(&w, i == 0 ? "&so=" : ",");
        put(&w, item, (size_t)item_len);
    }
    return w.n;
}

size_t sw__magnet_link_len(const sw_magnet *m)
{
    if (!m->hashes.has_v1 && !m->hashes.has_v2)
        return 0;
    return write_link(m, NULL);
}

int sw_magnet_to_string(const sw_magnet *m, char **link_out, size_t *len_out)
{
    if (!m || !link_out)
        return SW_ERR_INVALID_ARG;
    size_t len = sw__magnet_link_len(m);
    if (len == 0)
        return SW_ERR_MAGNET_NO_HASH;
    if (len > SW_MAGNET_MAX_LEN)
        return SW_ERR_LIMIT;
    char *s = malloc(len + 1);
    if (!s)
        return SW_ERR_NOMEM;
    size_t written = write_link(m, s);
    s[written] = '\0';
    *link_out = s;
    if (len_out)
        *len_out = written;
    return 0;
}

/* Adds url with add() if the link stays within SW_MAGNET_MAX_LEN and the
 * count limit; a URL that does not fit is skipped, not an error. *link_len
 * tracks the length of the link written so far. */
static int add_if_fits(sw_magnet *m, int (*add)(sw_magnet *, const char *),
                       int (*count)(const sw_magnet *), const char *url, size_t key_len,
                       size_t *link_len)
{
    if (!url || !*url)
        return 0;
    size_t extra = 2 + key_len + sw__magnet_escaped_len(url, strlen(url)); /* "&" key "=" */
    if (*link_len + extra > SW_MAGNET_MAX_LEN)
        return 0;
    int before = count(m);
    int rc = add(m, url);
    if (rc == SW_ERR_LIMIT)
        return 0;
    if (rc < 0)
        return rc;
    if (count(m) > before)
        *link_len += extra;
    return 0;
}

int sw_magnet_from_torrent_info(const sw_torrent_info *ti, sw_magnet **m_out)
{
    if (!ti || !m_out)
        return SW_ERR_INVALID_ARG;
    sw_magnet *m;
    int rc = sw_magnet_new(&m);
    if (rc < 0)
        return rc;
    rc = sw_magnet_set_hashes(m, sw_torrent_info_hashes(ti));
    if (rc == 0)
        rc = sw_magnet_set_name(m, sw_torrent_info_name(ti));
    size_t link_len = rc == 0 ? sw__magnet_link_len(m) : 0;
    if (rc == 0 && link_len > SW_MAGNET_MAX_LEN)
        rc = SW_ERR_LIMIT; /* cannot happen for a sanitised name, but stay exact */
    int n = sw_torrent_info_num_trackers(ti);
    for (int i = 0; rc == 0 && i < n; i++) {
        const sw_announce_entry *e = sw_torrent_info_tracker(ti, i);
        if (e)
            rc =
                add_if_fits(m, sw_magnet_add_tracker, sw_magnet_num_trackers, e->url, 2, &link_len);
    }
    n = sw_torrent_info_num_web_seeds(ti);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = add_if_fits(m, sw_magnet_add_web_seed, sw_magnet_num_web_seeds,
                         sw_torrent_info_web_seed(ti, i), 2, &link_len);
    if (rc < 0) {
        sw_magnet_free(m);
        return rc;
    }
    *m_out = m;
    return 0;
}
