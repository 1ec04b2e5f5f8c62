/* KRPC decoding: one bencoded dictionary per datagram (BEP 5), with the
 * fields of BEP 32, 42, 43, 44 and 51. Every field is type- and
 * length-checked here so the node never sees a value it has to distrust. */
#include <stdlib.h>
#include <string.h>

#include "dht/krpc.h"

static const struct {
    sw_krpc_method method;
    const char *name;
} method_names[] = {
    {SW_KRPC_PING, "ping"},
    {SW_KRPC_FIND_NODE, "find_node"},
    {SW_KRPC_GET_PEERS, "get_peers"},
    {SW_KRPC_ANNOUNCE_PEER, "announce_peer"},
    {SW_KRPC_GET, "get"},
    {SW_KRPC_PUT, "put"},
    {SW_KRPC_SAMPLE_INFOHASHES, "sample_infohashes"},
};

const char *sw__krpc_method_name(sw_krpc_method m)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (method_names[i].method == m)
            return method_names[i].name;
    return NULL;
}

static sw_krpc_method method_from(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (strlen(method_names[i].name) == len && memcmp(method_names[i].name, s, len) == 0)
            return method_names[i].method;
    return SW_KRPC_UNKNOWN;
}

/* A string field of length in [min, max]; false if absent or wrong. */
static bool get_bytes(sw_bnode dict, const char *key, size_t min, size_t max, sw_krpc_bytes *out)
{
    const char *s;
    size_t len;
    if (!sw_bnode_dict_get_str(dict, key, &s, &len) || len < min || len > max)
        return false;
    out->p = (const uint8_t *)s;
    out->len = len;
    return true;
}

static bool get_id(sw_bnode dict, const char *key, sw_sha1 *out)
{
    sw_krpc_bytes b;
    if (!get_bytes(dict, key, SW_DHT_ID_LEN, SW_DHT_ID_LEN, &b))
        return false;
    memcpy(out->v, b.p, SW_DHT_ID_LEN);
    return true;
}

/* A compact list truncated to whole entries of `unit` bytes. */
static bool get_packed(sw_bnode dict, const char *key, size_t unit, sw_krpc_bytes *out)
{
    if (!get_bytes(dict, key, 0, SIZE_MAX, out))
        return false;
    out->len -= out->len % unit;
    return true;
}

static unsigned parse_want(sw_bnode list)
{
    unsigned want = 0;
    size_t n = sw_bnode_len(list);
    for (size_t i = 0; i < n; i++) {
        sw_bnode e = sw_bnode_list_at(list, i);
        if (sw_bnode_str_eq(e, "n4"))
            want |= SW_KRPC_WANT_N4;
        else if (sw_bnode_str_eq(e, "n6"))
            want |= SW_KRPC_WANT_N6;
        /* BEP 32: other strings are ignored. */
    }
    return want;
}

/* "values": a list of compact peers; entries of other lengths or types are
 * skipped, and at most SW_KRPC_MAX_VALUES are kept. */
static int parse_values(sw_bnode list, sw_krpc_msg *msg)
{
    size_t n = sw_bnode_len(list);
    if (n > SW_KRPC_MAX_VALUES)
        n = SW_KRPC_MAX_VALUES;
    msg->has |= SW_KRPC_HAS_VALUES;
    if (n == 0)
        return 0;
    msg->values = calloc(n, sizeof *msg->values);
    if (!msg->values)
        return SW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = sw_bnode_str(sw_bnode_list_at(list, i), &len);
        if (s && sw__krpc_peer_read((const uint8_t *)s, len, &msg->values[msg->num_values]) &&
            msg->values[msg->num_values].port != 0)
            msg->num_values++;
    }
    return 0;
}

/* The item value must be exactly as a canonical encoder would write it,
 * since its bytes are hashed and signed (BEP 44). */
static bool is_canonical(sw_krpc_bytes v)
{
    sw_bdecode_opts opts = {SW_BDECODE_STRICT, SW_KRPC_MAX_DEPTH, SW_KRPC_MAX_NODES};
    sw_bdoc *doc;
    if (sw_bdecode(v.p, v.len, &opts, &doc, NULL) != 0)
        return false;
    sw_bdoc_free(doc);
    return true;
}

/* Fields shared by query arguments and response values. Wrong types are
 * treated as absent; the per-method checks decide what is required. */
static int parse_body(sw_bnode d, sw_krpc_msg *msg)
{
    if (get_id(d, "target", &msg->target) || get_id(d, "info_hash", &msg->target))
        msg->has |= SW_KRPC_HAS_TARGET;
    if (get_bytes(d, "token", 1, SW_KRPC_MAX_TOKEN, &msg->token))
        msg->has |= SW_KRPC_HAS_TOKEN;
    int64_t iv;
    if (sw_bnode_dict_get_int(d, "port", &iv) && iv > 0 && iv <= 65535) {
        msg->port = (uint16_t)iv;
        msg->has |= SW_KRPC_HAS_PORT;
    }
    if (sw_bnode_dict_get_int(d, "implied_port", &iv)) {
        msg->implied_port = iv != 0;
        msg->has |= SW_KRPC_HAS_IMPLIED_PORT;
    }
    sw_bnode want = sw_bnode_dict_get(d, "want");
    if (sw_bnode_is(want, SW_BNODE_LIST)) {
        msg->want = parse_want(want);
        msg->has |= SW_KRPC_HAS_WANT;
    }
    if (get_packed(d, "nodes", SW_KRPC_NODE4_LEN, &msg->nodes))
        msg->has |= SW_KRPC_HAS_NODES;
    if (get_packed(d, "nodes6", SW_KRPC_NODE6_LEN, &msg->nodes6))
        msg->has |= SW_KRPC_HAS_NODES6;
    sw_bnode values = sw_bnode_dict_get(d, "values");
    if (sw_bnode_is(values, SW_BNODE_LIST)) {
        int rc = parse_values(values, msg);
        if (rc != 0)
            return rc;
    }
    const uint8_t *raw;
    size_t raw_len;
    if (sw_bnode_raw(sw_bnode_dict_get(d, "v"), &raw, &raw_len)) {
        msg->v.p = raw;
        msg->v.len = raw_len;
        msg->has |= SW_KRPC_HAS_V;
    }
    if (get_bytes(d, "k", SW_DHT_PK_LEN, SW_DHT_PK_LEN, &msg->k))
        msg->has |= SW_KRPC_HAS_K;
    if (get_bytes(d, "sig", SW_DHT_SIG_LEN, SW_DHT_SIG_LEN, &msg->sig))
        msg->has |= SW_KRPC_HAS_SIG;
    if (sw_bnode_dict_get_int(d, "seq", &msg->seq))
        msg->has |= SW_KRPC_HAS_SEQ;
    if (sw_bnode_dict_get_int(d, "cas", &msg->cas))
        msg->has |= SW_KRPC_HAS_CAS;
    /* Salt length is the node's check (error 207), not a decoding error. */
    if (get_bytes(d, "salt", 0, SIZE_MAX, &msg->salt))
        msg->has |= SW_KRPC_HAS_SALT;
    if (get_packed(d, "samples", SW_DHT_ID_LEN, &msg->samples))
        msg->has |= SW_KRPC_HAS_SAMPLES;
    if (sw_bnode_dict_get_int(d, "num", &msg->num))
        msg->has |= SW_KRPC_HAS_NUM;
    if (sw_bnode_dict_get_int(d, "interval", &msg->interval))
        msg->has |= SW_KRPC_HAS_INTERVAL;
    if (sw_bnode_dict_get_int(d, "scrape", &iv)) {
        msg->scrape = iv != 0;
        msg->has |= SW_KRPC_HAS_SCRAPE;
    }
    if (sw_bnode_dict_get_int(d, "seed", &iv)) {
        msg->seed = iv != 0;
        msg->has |= SW_KRPC_HAS_SEED;
    }
    /* Filters of another size are ignored: they cannot be merged. */
    if (get_bytes(d, "BFsd", SW_KRPC_BLOOM_LEN, SW_KRPC_BLOOM_LEN, &msg->bf_seeds))
        msg->has |= SW_KRPC_HAS_BFSD;
    if (get_bytes(d, "BFpe", SW_KRPC_BLOOM_LEN, SW_KRPC_BLOOM_LEN, &msg->bf_peers))
        msg->has |= SW_KRPC_HAS_BFPE;
    return 0;
}

/* What each query must carry beyond "id". */
static bool query_args_ok(const sw_krpc_msg *m)
{
    switch (m->method) {
    case SW_KRPC_PING:
    case SW_KRPC_UNKNOWN:
        return true;
    case SW_KRPC_FIND_NODE:
    case SW_KRPC_GET_PEERS:
    case SW_KRPC_GET:
    case SW_KRPC_SAMPLE_INFOHASHES:
        return (m->has & SW_KRPC_HAS_TARGET) != 0;
    case SW_KRPC_ANNOUNCE_PEER:
        return (m->has & SW_KRPC_HAS_TARGET) && (m->has & SW_KRPC_HAS_TOKEN) &&
               ((m->has & SW_KRPC_HAS_PORT) || m->implied_port);
    case SW_KRPC_PUT:
        if (!(m->has & SW_KRPC_HAS_TOKEN) || !(m->has & SW_KRPC_HAS_V) || !is_canonical(m->v))
            return false;
        if (m->has & (SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_SEQ | SW_KRPC_HAS_SALT))
            return (m->has & SW_KRPC_HAS_K) && (m->has & SW_KRPC_HAS_SIG) &&
                   (m->has & SW_KRPC_HAS_SEQ) && m->seq >= 0;
        return true;
    }
    return false;
}

static int decode_root(sw_bnode root, sw_krpc_msg *msg)
{
    if (!sw_bnode_is(root, SW_BNODE_DICT))
        return SW_ERR_DHT_MALFORMED;
    if (!get_bytes(root, "t", 1, SW_KRPC_MAX_TID, &msg->tid))
        return SW_ERR_DHT_MALFORMED;
    sw_krpc_bytes y;
    if (!get_bytes(root, "y", 1, 1, &y))
        return SW_ERR_DHT_MALFORMED;

    if (get_bytes(root, "v", 0, SW_KRPC_MAX_TID, &msg->version))
        msg->has |= SW_KRPC_HAS_VERSION;
    sw_krpc_bytes ip;
    if (get_bytes(root, "ip", SW_KRPC_PEER4_LEN, SW_KRPC_PEER6_LEN, &ip) &&
        sw__krpc_peer_read(ip.p, ip.len, &msg->ip))
        msg->has |= SW_KRPC_HAS_IP;
    int64_t ro;
    msg->read_only = sw_bnode_dict_get_int(root, "ro", &ro) && ro == 1;

    switch (y.p[0]) {
    case 'q': {
        sw_krpc_bytes q;
        if (!get_bytes(root, "q", 1, 64, &q))
            return SW_ERR_DHT_MALFORMED;
        msg->type = SW_KRPC_QUERY;
        msg->method_name = q;
        msg->method = method_from((const char *)q.p, q.len);
        sw_bnode a = sw_bnode_dict_get(root, "a");
        if (!sw_bnode_is(a, SW_BNODE_DICT) || !get_id(a, "id", &msg->id))
            return SW_ERR_DHT_MALFORMED;
        int rc = parse_body(a, msg);
        if (rc != 0)
            return rc;
        return query_args_ok(msg) ? 0 : SW_ERR_DHT_MALFORMED;
    }
    case 'r': {
        sw_bnode r = sw_bnode_dict_get(root, "r");
        if (!sw_bnode_is(r, SW_BNODE_DICT) || !get_id(r, "id", &msg->id))
            return SW_ERR_DHT_MALFORMED;
        msg->type = SW_KRPC_RESPONSE;
        return parse_body(r, msg);
    }
    case 'e': {
        sw_bnode e = sw_bnode_dict_get(root, "e");
        sw_bnode code = sw_bnode_list_at(e, 0);
        if (!sw_bnode_is(code, SW_BNODE_INT))
            return SW_ERR_DHT_MALFORMED;
        msg->type = SW_KRPC_ERROR;
        msg->error_code = sw_bnode_int(code);
        size_t len;
        const char *text = sw_bnode_str(sw_bnode_list_at(e, 1), &len);
        if (text) {
            msg->error_msg.p = (const uint8_t *)text;
            msg->error_msg.len = len;
        }
        return 0;
    }
    default:
        return SW_ERR_DHT_MALFORMED;
    }
}

int sw__krpc_decode(const uint8_t *buf, size_t len, sw_krpc_msg *msg)
{
    memset(msg, 0, sizeof *msg);
    if (!buf || len == 0 || len > SW_KRPC_MAX_PACKET || buf[0] != 'd')
        return SW_ERR_DHT_MALFORMED;
    sw_bdecode_opts opts = {0, SW_KRPC_MAX_DEPTH, SW_KRPC_MAX_NODES};
    sw_bdoc *doc;
    int rc = sw_bdecode(buf, len, &opts, &doc, NULL);
    if (rc != 0)
        return rc == SW_ERR_NOMEM ? rc : SW_ERR_DHT_MALFORMED;
    msg->doc_ = doc;
    rc = decode_root(sw_bdoc_root(doc), msg);
    if (rc != 0) {
        /* Keep what a 203 reply needs (tid points into buf, not into doc). */
        sw_krpc_type type = msg->type == SW_KRPC_QUERY ? SW_KRPC_QUERY : 0;
        sw_krpc_bytes tid = type ? msg->tid : (sw_krpc_bytes){NULL, 0};
        sw__krpc_msg_release(msg);
        msg->type = type;
        msg->tid = tid;
        return rc;
    }
    return 0;
}

void sw__krpc_msg_release(sw_krpc_msg *msg)
{
    if (!msg)
        return;
    sw_bdoc_free(msg->doc_);
    free(msg->values);
    memset(msg, 0, sizeof *msg);
}
