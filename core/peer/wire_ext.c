/* The BEP 10 extended handshake dictionary: "m" (extension name -> id), "p",
 * "v", "yourip", "ipv4", "ipv6", "reqq", and the BEP 9 / BEP 21 keys
 * "metadata_size" and "upload_only". */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* Bounds what one peer's handshake can make us keep: ids are one byte, so a
 * well-behaved peer never needs more names than this. */
#define MAX_M_ENTRIES 256
#define MAX_M_NAME 128
#define MAX_M_SCAN 1024

void sw__wire_ext_handshake_init(sw_wire_ext_handshake *hs)
{
    memset(hs, 0, sizeof *hs);
}

void sw__wire_ext_handshake_free(sw_wire_ext_handshake *hs)
{
    free(hs->owned_);
    sw__wire_ext_handshake_init(hs);
}

bool sw__wire_ext_handshake_find(const sw_wire_ext_handshake *hs, const char *name, uint8_t *id_out)
{
    for (size_t i = 0; i < hs->m_count; i++) {
        if (hs->m[i].name && strcmp(hs->m[i].name, name) == 0) {
            if (hs->m[i].id == 0)
                return false;
            *id_out = hs->m[i].id;
            return true;
        }
    }
    return false;
}

int sw__wire_ext_handshake_encode(sw_bencoder *enc, const sw_wire_ext_handshake *hs)
{
    int rc = sw_benc_ckey(enc, "m");
    if (rc == 0)
        rc = sw_benc_dict_begin(enc);
    for (size_t i = 0; rc == 0 && i < hs->m_count; i++) {
        if (!hs->m[i].name)
            return SW_ERR_INVALID_ARG;
        rc = sw_benc_ckey(enc, hs->m[i].name);
        if (rc == 0)
            rc = sw_benc_int(enc, hs->m[i].id);
    }
    if (rc == 0)
        rc = sw_benc_end(enc);
    if (rc == 0 && hs->has_port) {
        rc = sw_benc_ckey(enc, "p");
        if (rc == 0)
            rc = sw_benc_int(enc, hs->port);
    }
    if (rc == 0 && hs->has_client) {
        rc = sw_benc_ckey(enc, "v");
        if (rc == 0)
            rc = sw_benc_cstr(enc, hs->client);
    }
    if (rc == 0 && (hs->yourip_len == 4 || hs->yourip_len == 16)) {
        rc = sw_benc_ckey(enc, "yourip");
        if (rc == 0)
            rc = sw_benc_str(enc, hs->yourip, hs->yourip_len);
    }
    if (rc == 0 && hs->has_ipv4) {
        rc = sw_benc_ckey(enc, "ipv4");
        if (rc == 0)
            rc = sw_benc_str(enc, hs->ipv4, sizeof hs->ipv4);
    }
    if (rc == 0 && hs->has_ipv6) {
        rc = sw_benc_ckey(enc, "ipv6");
        if (rc == 0)
            rc = sw_benc_str(enc, hs->ipv6, sizeof hs->ipv6);
    }
    if (rc == 0 && hs->has_reqq) {
        rc = sw_benc_ckey(enc, "reqq");
        if (rc == 0)
            rc = sw_benc_int(enc, hs->reqq);
    }
    if (rc == 0 && hs->has_metadata_size) {
        rc = sw_benc_ckey(enc, "metadata_size");
        if (rc == 0)
            rc = sw_benc_int(enc, hs->metadata_size);
    }
    if (rc == 0 && hs->has_upload_only) {
        rc = sw_benc_ckey(enc, "upload_only");
        if (rc == 0)
            rc = sw_benc_int(enc, hs->upload_only ? 1 : 0);
    }
    return rc;
}

int sw__wire_build_ext_handshake(sw_buf *out, const sw_wire_ext_handshake *hs)
{
    sw_bencoder *enc;
    int rc = sw_benc_new(&enc);
    if (rc < 0)
        return rc;
    rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw__wire_ext_handshake_encode(enc, hs);
    if (rc == 0)
        rc = sw_benc_end(enc);
    uint8_t *dict = NULL;
    size_t dict_len = 0;
    if (rc == 0)
        rc = sw_benc_finish(enc, &dict, &dict_len);
    sw_benc_free(enc);
    if (rc < 0)
        return rc == SW_ERR_NOMEM ? rc : SW_ERR_INVALID_ARG;
    rc = sw__wire_build_extended(out, SW_WIRE_EXT_HANDSHAKE_ID, dict, dict_len);
    free(dict);
    return rc;
}

/* A name we keep: non-empty, bounded, no NUL (names are C strings here). */
static bool usable_name(const char *name, size_t len)
{
    return len > 0 && len <= MAX_M_NAME && memchr(name, '\0', len) == NULL;
}

static bool usable_id(sw_bnode v)
{
    if (!sw_bnode_is(v, SW_BNODE_INT))
        return false;
    int64_t id = sw_bnode_int(v);
    return id >= 0 && id <= 255;
}

/* True if an earlier entry of m (before index i) has the same key: a
 * lenient decode keeps duplicate keys, and as for lookups the first wins. */
static bool seen_before(sw_bnode m, size_t i, const char *name, size_t len)
{
    for (size_t j = 0; j < i; j++) {
        sw_bnode k, v;
        size_t klen;
        if (!sw_bnode_dict_at(m, j, &k, &v))
            continue;
        const char *key = sw_bnode_str(k, &klen);
        if (key && klen == len && memcmp(key, name, len) == 0)
            return true;
    }
    return false;
}

/* Whether entry i of m is one we keep; sets its name. */
static bool keep_entry(sw_bnode m, size_t i, const char **name_out, size_t *len_out,
                       uint8_t *id_out)
{
    sw_bnode k, v;
    if (!sw_bnode_dict_at(m, i, &k, &v))
        return false;
    size_t len;
    const char *name = sw_bnode_str(k, &len);
    if (!name || !usable_name(name, len) || !usable_id(v) || seen_before(m, i, name, len))
        return false;
    *name_out = name;
    *len_out = len;
    *id_out = (uint8_t)sw_bnode_int(v);
    return true;
}

/* Copies "m" into one allocation: the entry array followed by the names. */
static int parse_m(sw_bnode m, sw_wire_ext_handshake *out)
{
    if (!sw_bnode_is(m, SW_BNODE_DICT))
        return 0;
    size_t n = 0, names = 0;
    /* Bounded scan: a hostile dictionary with many keys costs at most
     * MAX_M_SCAN entries (each checked against the earlier ones). */
    size_t total = sw_bnode_len(m);
    if (total > MAX_M_SCAN)
        total = MAX_M_SCAN;
    for (size_t i = 0; i < total && n < MAX_M_ENTRIES; i++) {
        const char *name;
        size_t len;
        uint8_t id;
        if (!keep_entry(m, i, &name, &len, &id))
            continue;
        n++;
        names += len + 1;
    }
    if (n == 0)
        return 0;
    char *block = malloc(n * sizeof(sw_wire_ext_entry) + names);
    if (!block)
        return SW_ERR_NOMEM;
    sw_wire_ext_entry *entries = (sw_wire_ext_entry *)(void *)block;
    char *pool = block + n * sizeof(sw_wire_ext_entry);
    size_t j = 0;
    for (size_t i = 0; i < total && j < n; i++) {
        const char *name;
        size_t len;
        uint8_t id;
        if (!keep_entry(m, i, &name, &len, &id))
            continue;
        memcpy(pool, name, len);
        pool[len] = '\0';
        entries[j].name = pool;
        entries[j].id = id;
        pool += len + 1;
        j++;
    }
    out->owned_ = block;
    out->m = entries;
    out->m_count = j;
    return 0;
}

/* Copies "v", cut to fit without splitting a UTF-8 sequence. */
static void parse_client(sw_bnode v, sw_wire_ext_handshake *out)
{
    size_t len;
    const char *s = sw_bnode_str(v, &len);
    if (!s)
        return;
    const char *nul = memchr(s, '\0', len);
    if (nul)
        len = (size_t)(nul - s);
    if (len >= sizeof out->client) {
        len = sizeof out->client - 1;
        while (len > 0 && ((uint8_t)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out->client, s, len);
    out->client[len] = '\0';
    out->has_client = true;
}

static bool get_fixed_str(sw_bnode dict, const char *key, uint8_t *dst, size_t want)
{
    const char *s;
    size_t len;
    if (!sw_bnode_dict_get_str(dict, key, &s, &len) || len != want)
        return false;
    memcpy(dst, s, want);
    return true;
}

int sw__wire_ext_handshake_from_node(sw_bnode dict, sw_wire_ext_handshake *out)
{
    sw__wire_ext_handshake_init(out);
    if (!sw_bnode_is(dict, SW_BNODE_DICT))
        return SW_ERR_PROTOCOL;
    int rc = parse_m(sw_bnode_dict_get(dict, "m"), out);
    if (rc < 0)
        return rc;

    int64_t v;
    if (sw_bnode_dict_get_int(dict, "p", &v) && v > 0 && v <= 65535) {
        out->has_port = true;
        out->port = (uint16_t)v;
    }
    parse_client(sw_bnode_dict_get(dict, "v"), out);

    const char *s;
    size_t len;
    if (sw_bnode_dict_get_str(dict, "yourip", &s, &len) && (len == 4 || len == 16)) {
        memcpy(out->yourip, s, len);
        out->yourip_len = (uint8_t)len;
    }
    out->has_ipv4 = get_fixed_str(dict, "ipv4", out->ipv4, sizeof out->ipv4);
    out->has_ipv6 = get_fixed_str(dict, "ipv6", out->ipv6, sizeof out->ipv6);

    if (sw_bnode_dict_get_int(dict, "reqq", &v) && v > 0 && v <= UINT32_MAX) {
        out->has_reqq = true;
        out->reqq = (uint32_t)v;
    }
    if (sw_bnode_dict_get_int(dict, "metadata_size", &v) && v > 0) {
        out->has_metadata_size = true;
        out->metadata_size = v;
    }
    if (sw_bnode_dict_get_int(dict, "upload_only", &v)) {
        out->has_upload_only = true;
        out->upload_only = v != 0;
    }
    return 0;
}

int sw__wire_ext_handshake_parse(const uint8_t *payload, size_t len, sw_wire_ext_handshake *out)
{
    sw__wire_ext_handshake_init(out);
    /* Lenient decoding: peers' dictionaries are not always canonical, and
     * BEP 10 only asks that what we need be there. */
    sw_bdecode_opts opts = {.flags = 0, .max_depth = 32, .max_nodes = 1 << 16};
    sw_bdoc *doc;
    int rc = sw_bdecode(payload, len, &opts, &doc, NULL);
    if (rc == SW_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return SW_ERR_PROTOCOL;
    rc = sw__wire_ext_handshake_from_node(sw_bdoc_root(doc), out);
    sw_bdoc_free(doc);
    return rc;
}
