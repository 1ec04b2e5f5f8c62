/* What a .torrent holds outside its info dictionary: trackers (BEP 12),
 * web seeds (BEP 19), HTTP seeds (BEP 17), DHT nodes (BEP 5), creation date,
 * comment and creator. None of it is needed to download, so malformed
 * entries are skipped rather than failing the load. */
#include <stdlib.h>
#include <string.h>

#include "torrent_info_int.h"
#include "utf8.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A usable URL from a string node: surrounding white space trimmed, not
 * empty, well-formed UTF-8 without control characters. */
static bool url_text(sw_bnode n, const char **s_out, size_t *len_out)
{
    size_t len;
    const char *s = sw_bnode_str(n, &len);
    if (!s)
        return false;
    while (len && is_space(*s)) {
        s++;
        len--;
    }
    while (len && is_space(s[len - 1]))
        len--;
    if (len == 0 || !sw__utf8_is_valid(s, len))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return false;
    *s_out = s;
    *len_out = len;
    return true;
}

/* A list of unique URLs, bounded so that a hostile torrent cannot make the
 * quadratic duplicate check expensive. */
typedef struct url_list {
    const char **urls;
    int *tiers; /* NULL unless collecting trackers */
    int count;
} url_list;

static int url_add(sw_torrent_info *ti, url_list *l, sw_bnode n, int tier)
{
    const char *s;
    size_t len;
    if (!url_text(n, &s, &len) || l->count >= SW_TORRENT_MAX_URLS)
        return 0;
    for (int i = 0; i < l->count; i++)
        if (strlen(l->urls[i]) == len && memcmp(l->urls[i], s, len) == 0)
            return 0;
    const char *copy = sw__arena_strndup(&ti->arena, s, len);
    if (!copy)
        return SW_ERR_NOMEM;
    l->urls[l->count] = copy;
    if (l->tiers)
        l->tiers[l->count] = tier;
    l->count++;
    return 0;
}

static int url_list_init(url_list *l, bool with_tiers)
{
    l->count = 0;
    l->urls = malloc(SW_TORRENT_MAX_URLS * sizeof *l->urls);
    l->tiers = with_tiers ? malloc(SW_TORRENT_MAX_URLS * sizeof *l->tiers) : NULL;
    if (!l->urls || (with_tiers && !l->tiers)) {
        free(l->urls);
        free(l->tiers);
        return SW_ERR_NOMEM;
    }
    return 0;
}

static void url_list_free(url_list *l)
{
    free(l->urls);
    free(l->tiers);
}

/* BEP 12: announce-list is a list of tiers, each a list of URLs. Tiers that
 * end up empty are dropped and the rest numbered from 0. "announce" is used
 * only when announce-list yields no URL. A URL is kept once, at its first
 * place. */
static int parse_trackers(sw_torrent_info *ti, sw_bnode root)
{
    url_list l;
    int rc = url_list_init(&l, true);
    if (rc)
        return rc;
    sw_bnode tiers = sw_bnode_dict_get(root, "announce-list");
    size_t ntiers = sw_bnode_is(tiers, SW_BNODE_LIST) ? sw_bnode_len(tiers) : 0;
    int tier = 0;
    for (size_t t = 0; t < ntiers && rc == 0; t++) {
        sw_bnode *urls;
        size_t n;
        sw_bnode list = sw_bnode_list_at(tiers, t);
        if (!sw_bnode_is(list, SW_BNODE_LIST))
            continue;
        rc = sw__bnode_children(list, &urls, NULL, &n);
        if (rc)
            break;
        int before = l.count;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = url_add(ti, &l, urls[i], tier);
        free(urls);
        if (l.count > before)
            tier++;
    }
    if (rc == 0 && l.count == 0)
        rc = url_add(ti, &l, sw_bnode_dict_get(root, "announce"), 0);
    if (rc == 0 && l.count > 0) {
        ti->trackers = sw__arena_calloc(&ti->arena, (size_t)l.count, sizeof *ti->trackers);
        if (!ti->trackers)
            rc = SW_ERR_NOMEM;
        for (int i = 0; rc == 0 && i < l.count; i++) {
            ti->trackers[i].url = l.urls[i];
            ti->trackers[i].tier = l.tiers[i];
        }
        if (rc == 0)
            ti->num_trackers = l.count;
    }
    url_list_free(&l);
    return rc;
}

/* BEP 19 url-list and BEP 17 httpseeds: a single string or a list of them. */
static int parse_url_key(sw_torrent_info *ti, sw_bnode root, const char *key,
                         const char ***urls_out, int *count_out)
{
    url_list l;
    int rc = url_list_init(&l, false);
    if (rc)
        return rc;
    sw_bnode v = sw_bnode_dict_get(root, key);
    if (sw_bnode_is(v, SW_BNODE_STR)) {
        rc = url_add(ti, &l, v, 0);
    } else if (sw_bnode_is(v, SW_BNODE_LIST)) {
        sw_bnode *items;
        size_t n;
        rc = sw__bnode_children(v, &items, NULL, &n);
        if (rc == 0) {
            for (size_t i = 0; rc == 0 && i < n; i++)
                rc = url_add(ti, &l, items[i], 0);
            free(items);
        }
    }
    if (rc == 0 && l.count > 0) {
        const char **urls = sw__arena_alloc(&ti->arena, (size_t)l.count * sizeof *urls);
        if (!urls) {
            rc = SW_ERR_NOMEM;
        } else {
            memcpy(urls, l.urls, (size_t)l.count * sizeof *urls);
            *urls_out = urls;
            *count_out = l.count;
        }
    }
    url_list_free(&l);
    return rc;
}

/* BEP 5: "nodes" is a list of [host, port] pairs. */
static int parse_nodes(sw_torrent_info *ti, sw_bnode root)
{
    sw_bnode nodes = sw_bnode_dict_get(root, "nodes");
    if (!sw_bnode_is(nodes, SW_BNODE_LIST) || sw_bnode_len(nodes) == 0)
        return 0;
    sw_bnode *items;
    size_t n;
    int rc = sw__bnode_children(nodes, &items, NULL, &n);
    if (rc)
        return rc;
    if (n > SW_TORRENT_MAX_URLS)
        n = SW_TORRENT_MAX_URLS;
    ti->dht_nodes = sw__arena_calloc(&ti->arena, n, sizeof *ti->dht_nodes);
    if (!ti->dht_nodes)
        rc = SW_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sw_bnode pair = items[i];
        const char *host;
        size_t host_len;
        sw_bnode port = sw_bnode_list_at(pair, 1);
        if (!sw_bnode_is(pair, SW_BNODE_LIST) || sw_bnode_len(pair) != 2 ||
            !url_text(sw_bnode_list_at(pair, 0), &host, &host_len) ||
            !sw_bnode_is(port, SW_BNODE_INT) || sw_bnode_int(port) < 1 ||
            sw_bnode_int(port) > 65535)
            continue;
        sw_dht_node_entry *e = &ti->dht_nodes[ti->num_dht_nodes];
        e->host = sw__arena_strndup(&ti->arena, host, host_len);
        if (!e->host) {
            rc = SW_ERR_NOMEM;
            break;
        }
        e->port = (int)sw_bnode_int(port);
        ti->num_dht_nodes++;
    }
    free(items);
    return rc;
}

/* A text field, preferring its ".utf-8" variant. */
static int parse_text(sw_torrent_info *ti, sw_bnode root, const char *key, const char *utf8_key,
                      const char **out)
{
    bool oom = false;
    sw_bnode v = sw_bnode_dict_get(root, utf8_key);
    if (!sw_bnode_is(v, SW_BNODE_STR))
        v = sw_bnode_dict_get(root, key);
    *out = sw__text_from_node(ti, v, &oom);
    return oom ? SW_ERR_NOMEM : 0;
}

int sw__metainfo_parse_extras(sw_torrent_info *ti, sw_bnode root, sw_error_detail *err)
{
    (void)err;
    int rc = parse_trackers(ti, root);
    if (rc == 0)
        rc = parse_url_key(ti, root, "url-list", &ti->web_seeds, &ti->num_web_seeds);
    if (rc == 0)
        rc = parse_url_key(ti, root, "httpseeds", &ti->http_seeds, &ti->num_http_seeds);
    if (rc == 0)
        rc = parse_nodes(ti, root);
    if (rc == 0)
        rc = parse_text(ti, root, "comment", "comment.utf-8", &ti->comment);
    if (rc == 0)
        rc = parse_text(ti, root, "created by", "created by.utf-8", &ti->created_by);
    int64_t date = 0;
    if (sw_bnode_dict_get_int(root, "creation date", &date) && date > 0)
        ti->creation_date = date;
    return rc;
}
