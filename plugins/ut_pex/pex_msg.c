/* BEP 11 message parsing and building (see pex_msg.h). */
#include <string.h>

#include "pex_msg.h"

SW_PLUGIN_INIT3

bool ut_pex_same_endpoint(const sw_plugin_endpoint *a, const sw_plugin_endpoint *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->addr, b->addr, a->family == SW_PLUGIN_IPV4 ? 4 : 16) == 0;
}

static void read_contact(const uint8_t *p, bool v6, sw_plugin_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    size_t alen = v6 ? 16 : 4;
    ep->family = v6 ? SW_PLUGIN_IPV6 : SW_PLUGIN_IPV4;
    memcpy(ep->addr, p, alen);
    ep->port = (uint16_t)(p[alen] << 8 | p[alen + 1]);
}

/* Reads one list (added or dropped, of one family); flags may be NULL. */
static int read_list(sw_bnode dict, const char *key, const char *flags_key, bool v6,
                     ut_pex_contact *added, int *num_added, sw_plugin_endpoint *dropped,
                     int *num_dropped)
{
    sw_bnode v = sw_bnode_dict_get(dict, key);
    if (sw_bnode_type_of(v) == SW_BNODE_NONE)
        return 0;
    size_t len;
    const char *s = sw_bnode_str(v, &len);
    size_t size = v6 ? 18 : 6;
    if (!s || len % size != 0)
        return SW_ERR_PROTOCOL;
    size_t n = len / size;
    const char *f = NULL;
    size_t flen = 0;
    if (flags_key && sw_bnode_dict_get_str(dict, flags_key, &f, &flen) && flen != n)
        f = NULL; /* flags that do not match the contacts are ignored */
    for (size_t i = 0; i < n; i++) {
        sw_plugin_endpoint ep;
        read_contact((const uint8_t *)s + i * size, v6, &ep);
        if (ep.port == 0)
            continue;
        if (added) {
            if (*num_added >= UT_PEX_MAX_PARSED)
                break;
            added[*num_added].ep = ep;
            added[*num_added].flags = f ? (uint8_t)f[i] : 0;
            (*num_added)++;
        } else {
            if (*num_dropped >= UT_PEX_MAX_PARSED)
                break;
            dropped[(*num_dropped)++] = ep;
        }
    }
    return 0;
}

int ut_pex_msg_parse(const uint8_t *payload, size_t len, ut_pex_msg *out)
{
    memset(out, 0, sizeof *out);
    sw_bdecode_opts opts = {0, 2, 64};
    sw_bdoc *doc;
    int rc = sw_bdecode(payload, len, &opts, &doc, NULL);
    if (rc == SW_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return SW_ERR_PROTOCOL;
    sw_bnode root = sw_bdoc_root(doc);
    rc = sw_bnode_is(root, SW_BNODE_DICT) ? 0 : SW_ERR_PROTOCOL;
    if (rc == 0)
        rc = read_list(root, "added", "added.f", false, out->added, &out->num_added, NULL, NULL);
    if (rc == 0)
        rc = read_list(root, "added6", "added6.f", true, out->added, &out->num_added, NULL, NULL);
    if (rc == 0)
        rc = read_list(root, "dropped", NULL, false, NULL, NULL, out->dropped, &out->num_dropped);
    if (rc == 0)
        rc = read_list(root, "dropped6", NULL, true, NULL, NULL, out->dropped, &out->num_dropped);
    sw_bdoc_free(doc);
    return rc;
}

/* Appends the contacts of one family as a compact string (and the flags
 * string when flags is non-NULL). */
static int write_list(sw_bencoder *enc, const char *key, const char *flags_key, bool v6,
                      const sw_plugin_endpoint *eps, const uint8_t *flags, int n, size_t stride)
{
    size_t size = v6 ? 18 : 6;
    uint8_t fam = v6 ? SW_PLUGIN_IPV6 : SW_PLUGIN_IPV4;
    int count = 0;
    for (int i = 0; i < n; i++) {
        const sw_plugin_endpoint *ep = (const sw_plugin_endpoint *)((const char *)eps + i * stride);
        count += ep->family == fam;
    }
    if (count == 0)
        return 0;
    uint8_t *buf = sw_plugin_malloc((size_t)count * size);
    uint8_t *fbuf = flags ? sw_plugin_malloc((size_t)count) : NULL;
    if (!buf || (flags && !fbuf)) {
        sw_plugin_free(buf);
        sw_plugin_free(fbuf);
        return SW_ERR_NOMEM;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        const sw_plugin_endpoint *ep = (const sw_plugin_endpoint *)((const char *)eps + i * stride);
        if (ep->family != fam)
            continue;
        uint8_t *p = buf + (size_t)k * size;
        memcpy(p, ep->addr, size - 2);
        p[size - 2] = (uint8_t)(ep->port >> 8);
        p[size - 1] = (uint8_t)ep->port;
        if (fbuf)
            fbuf[k] = *(const uint8_t *)((const char *)flags + i * stride);
        k++;
    }
    int rc = sw_benc_ckey(enc, key);
    if (rc == 0)
        rc = sw_benc_str(enc, buf, (size_t)count * size);
    if (rc == 0 && fbuf) {
        rc = sw_benc_ckey(enc, flags_key);
        if (rc == 0)
            rc = sw_benc_str(enc, fbuf, (size_t)count);
    }
    sw_plugin_free(buf);
    sw_plugin_free(fbuf);
    return rc;
}

int ut_pex_msg_build(const ut_pex_contact *added, int num_added, const sw_plugin_endpoint *dropped,
                     int num_dropped, uint8_t **buf_out, size_t *len_out)
{
    sw_bencoder *enc;
    int rc = sw_benc_new(&enc);
    if (rc < 0)
        return rc;
    rc = sw_benc_dict_begin(enc);
    const sw_plugin_endpoint *aeps = num_added ? &added[0].ep : NULL;
    const uint8_t *aflags = num_added ? &added[0].flags : NULL;
    if (rc == 0)
        rc = write_list(enc, "added", "added.f", false, aeps, aflags, num_added, sizeof *added);
    if (rc == 0)
        rc = write_list(enc, "added6", "added6.f", true, aeps, aflags, num_added, sizeof *added);
    if (rc == 0)
        rc = write_list(enc, "dropped", NULL, false, dropped, NULL, num_dropped, sizeof *dropped);
    if (rc == 0)
        rc = write_list(enc, "dropped6", NULL, true, dropped, NULL, num_dropped, sizeof *dropped);
    if (rc == 0)
        rc = sw_benc_end(enc);
    if (rc == 0)
        rc = sw_benc_finish(enc, buf_out, len_out);
    sw_benc_free(enc);
    return rc;
}
