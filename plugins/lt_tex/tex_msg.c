/* Tracker exchange message parsing and building (see tex_msg.h). */
#include <stdlib.h>
#include <string.h>

#include "tex_msg.h"

SW_PLUGIN_INIT3

bool lt_tex_url_ok(const char *url, size_t len)
{
    if (len == 0 || len > LT_TEX_MAX_URL)
        return false;
    if (!(len > 7 && memcmp(url, "http://", 7) == 0) &&
        !(len > 8 && memcmp(url, "https://", 8) == 0) &&
        !(len > 6 && memcmp(url, "udp://", 6) == 0))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return false;
    return true;
}

void lt_tex_msg_free(lt_tex_msg *m)
{
    for (int i = 0; i < m->num_urls; i++)
        sw_plugin_free(m->urls[i]);
    m->num_urls = 0;
}

int lt_tex_msg_parse(const uint8_t *payload, size_t len, lt_tex_msg *out)
{
    memset(out, 0, sizeof *out);
    sw_bdecode_opts opts = {0, 3, 4096};
    sw_bdoc *doc;
    int rc = sw_bdecode(payload, len, &opts, &doc, NULL);
    if (rc == SW_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return SW_ERR_PROTOCOL;
    sw_bnode root = sw_bdoc_root(doc);
    sw_bnode added = sw_bnode_dict_get(root, "added");
    if (!sw_bnode_is(root, SW_BNODE_DICT) ||
        (sw_bnode_type_of(added) != SW_BNODE_NONE && !sw_bnode_is(added, SW_BNODE_LIST))) {
        sw_bdoc_free(doc);
        return SW_ERR_PROTOCOL;
    }
    size_t n = sw_bnode_len(added);
    for (size_t i = 0; i < n && out->num_urls < LT_TEX_MAX_URLS; i++) {
        size_t ulen;
        const char *u = sw_bnode_str(sw_bnode_list_at(added, i), &ulen);
        if (!u || !lt_tex_url_ok(u, ulen))
            continue;
        char *copy = sw_plugin_malloc(ulen + 1);
        if (!copy) {
            rc = SW_ERR_NOMEM;
            break;
        }
        memcpy(copy, u, ulen);
        copy[ulen] = '\0';
        out->urls[out->num_urls++] = copy;
    }
    sw_bdoc_free(doc);
    return rc;
}

int lt_tex_msg_build(const char *const *urls, int n, uint8_t **buf_out, size_t *len_out)
{
    sw_bencoder *enc;
    int rc = sw_benc_new(&enc);
    if (rc < 0)
        return rc;
    rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw_benc_ckey(enc, "added");
    if (rc == 0)
        rc = sw_benc_list_begin(enc);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = sw_benc_cstr(enc, urls[i]);
    if (rc == 0)
        rc = sw_benc_end(enc);
    if (rc == 0)
        rc = sw_benc_end(enc);
    if (rc == 0)
        rc = sw_benc_finish(enc, buf_out, len_out);
    sw_benc_free(enc);
    return rc;
}

static int cmp_url(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void lt_tex_list_hash(const char **urls, int n, uint8_t out[20])
{
    qsort(urls, (size_t)n, sizeof *urls, cmp_url);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += strlen(urls[i]);
    char *all = sw_plugin_malloc(total + 1);
    if (!all) {
        memset(out, 0, 20);
        return;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(urls[i]);
        memcpy(all + off, urls[i], l);
        off += l;
    }
    sw_plugin_sha1(all, total, out);
    sw_plugin_free(all);
}
