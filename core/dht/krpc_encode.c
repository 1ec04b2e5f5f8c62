/* KRPC encoding: writes an sw_krpc_msg as one canonical bencoded dictionary.
 * The encoder sorts dictionary keys itself, so fields are written in the
 * order that reads best. */
#include <stdlib.h>
#include <string.h>

#include "dht/krpc.h"

static int put_bytes(sw_bencoder *e, const char *key, sw_krpc_bytes b)
{
    int rc = sw_benc_ckey(e, key);
    return rc ? rc : sw_benc_str(e, b.p ? b.p : (const uint8_t *)"", b.len);
}

static int put_int(sw_bencoder *e, const char *key, int64_t v)
{
    int rc = sw_benc_ckey(e, key);
    return rc ? rc : sw_benc_int(e, v);
}

static int put_id(sw_bencoder *e, const char *key, const sw_sha1 *id)
{
    return put_bytes(e, key, (sw_krpc_bytes){id->v, SW_DHT_ID_LEN});
}

static int put_values(sw_bencoder *e, const sw_krpc_msg *m)
{
    int rc = sw_benc_ckey(e, "values");
    if (rc == 0)
        rc = sw_benc_list_begin(e);
    for (size_t i = 0; rc == 0 && i < m->num_values; i++) {
        uint8_t tmp[SW_KRPC_PEER6_LEN];
        size_t n = sw__krpc_peer_write(tmp, &m->values[i]);
        rc = sw_benc_str(e, tmp, n);
    }
    return rc ? rc : sw_benc_end(e);
}

static int put_want(sw_bencoder *e, unsigned want)
{
    int rc = sw_benc_ckey(e, "want");
    if (rc == 0)
        rc = sw_benc_list_begin(e);
    if (rc == 0 && (want & SW_KRPC_WANT_N4))
        rc = sw_benc_cstr(e, "n4");
    if (rc == 0 && (want & SW_KRPC_WANT_N6))
        rc = sw_benc_cstr(e, "n6");
    return rc ? rc : sw_benc_end(e);
}

/* The "a" or "r" dictionary. In queries the target of get_peers and
 * announce_peer is called "info_hash". */
static int put_body(sw_bencoder *e, const sw_krpc_msg *m)
{
    uint32_t has = m->has;
    int rc = put_id(e, "id", &m->id);
    if (rc == 0 && (has & SW_KRPC_HAS_TARGET)) {
        bool ih = m->type == SW_KRPC_QUERY &&
                  (m->method == SW_KRPC_GET_PEERS || m->method == SW_KRPC_ANNOUNCE_PEER);
        rc = put_id(e, ih ? "info_hash" : "target", &m->target);
    }
    if (rc == 0 && (has & SW_KRPC_HAS_TOKEN))
        rc = put_bytes(e, "token", m->token);
    if (rc == 0 && (has & SW_KRPC_HAS_PORT))
        rc = put_int(e, "port", m->port);
    if (rc == 0 && (has & SW_KRPC_HAS_IMPLIED_PORT))
        rc = put_int(e, "implied_port", m->implied_port ? 1 : 0);
    if (rc == 0 && (has & SW_KRPC_HAS_WANT))
        rc = put_want(e, m->want);
    if (rc == 0 && (has & SW_KRPC_HAS_NODES))
        rc = put_bytes(e, "nodes", m->nodes);
    if (rc == 0 && (has & SW_KRPC_HAS_NODES6))
        rc = put_bytes(e, "nodes6", m->nodes6);
    if (rc == 0 && (has & SW_KRPC_HAS_VALUES))
        rc = put_values(e, m);
    if (rc == 0 && (has & SW_KRPC_HAS_V)) {
        rc = sw_benc_ckey(e, "v");
        if (rc == 0)
            rc = sw_benc_raw(e, m->v.p, m->v.len);
    }
    if (rc == 0 && (has & SW_KRPC_HAS_K))
        rc = put_bytes(e, "k", m->k);
    if (rc == 0 && (has & SW_KRPC_HAS_SIG))
        rc = put_bytes(e, "sig", m->sig);
    if (rc == 0 && (has & SW_KRPC_HAS_SEQ))
        rc = put_int(e, "seq", m->seq);
    if (rc == 0 && (has & SW_KRPC_HAS_CAS))
        rc = put_int(e, "cas", m->cas);
    if (rc == 0 && (has & SW_KRPC_HAS_SALT))
        rc = put_bytes(e, "salt", m->salt);
    if (rc == 0 && (has & SW_KRPC_HAS_SAMPLES))
        rc = put_bytes(e, "samples", m->samples);
    if (rc == 0 && (has & SW_KRPC_HAS_NUM))
        rc = put_int(e, "num", m->num);
    if (rc == 0 && (has & SW_KRPC_HAS_INTERVAL))
        rc = put_int(e, "interval", m->interval);
    if (rc == 0 && (has & SW_KRPC_HAS_SCRAPE))
        rc = put_int(e, "scrape", m->scrape ? 1 : 0);
    if (rc == 0 && (has & SW_KRPC_HAS_SEED))
        rc = put_int(e, "seed", m->seed ? 1 : 0);
    if (rc == 0 && (has & SW_KRPC_HAS_BFSD))
        rc = put_bytes(e, "BFsd", m->bf_seeds);
    if (rc == 0 && (has & SW_KRPC_HAS_BFPE))
        rc = put_bytes(e, "BFpe", m->bf_peers);
    return rc;
}

static bool lengths_ok(const sw_krpc_msg *m)
{
    uint32_t has = m->has;
    if (m->tid.len == 0 || m->tid.len > SW_KRPC_MAX_TID || !m->tid.p)
        return false;
    if ((has & SW_KRPC_HAS_K) && m->k.len != SW_DHT_PK_LEN)
        return false;
    if ((has & SW_KRPC_HAS_SIG) && m->sig.len != SW_DHT_SIG_LEN)
        return false;
    if ((has & SW_KRPC_HAS_V) && (m->v.len == 0 || !m->v.p))
        return false;
    if ((has & SW_KRPC_HAS_NODES) && m->nodes.len % SW_KRPC_NODE4_LEN != 0)
        return false;
    if ((has & SW_KRPC_HAS_NODES6) && m->nodes6.len % SW_KRPC_NODE6_LEN != 0)
        return false;
    if ((has & SW_KRPC_HAS_SAMPLES) && m->samples.len % SW_DHT_ID_LEN != 0)
        return false;
    if ((has & SW_KRPC_HAS_BFSD) && m->bf_seeds.len != SW_KRPC_BLOOM_LEN)
        return false;
    if ((has & SW_KRPC_HAS_BFPE) && m->bf_peers.len != SW_KRPC_BLOOM_LEN)
        return false;
    if ((has & SW_KRPC_HAS_IP) && m->ip.family != AF_INET && m->ip.family != AF_INET6)
        return false;
    if (m->type == SW_KRPC_QUERY && !sw__krpc_method_name(m->method))
        return false;
    return m->type == SW_KRPC_QUERY || m->type == SW_KRPC_RESPONSE || m->type == SW_KRPC_ERROR;
}

static int encode(sw_bencoder *e, const sw_krpc_msg *m)
{
    int rc = sw_benc_dict_begin(e);
    if (rc == 0)
        rc = put_bytes(e, "t", m->tid);
    if (rc == 0 && (m->has & SW_KRPC_HAS_VERSION))
        rc = put_bytes(e, "v", m->version);
    if (rc == 0 && (m->has & SW_KRPC_HAS_IP)) {
        uint8_t tmp[SW_KRPC_PEER6_LEN];
        size_t n = sw__krpc_peer_write(tmp, &m->ip);
        rc = put_bytes(e, "ip", (sw_krpc_bytes){tmp, n});
    }
    if (rc == 0 && m->read_only && m->type == SW_KRPC_QUERY)
        rc = put_int(e, "ro", 1);
    switch (m->type) {
    case SW_KRPC_QUERY:
        if (rc == 0)
            rc = put_bytes(e, "y", (sw_krpc_bytes){(const uint8_t *)"q", 1});
        if (rc == 0) {
            const char *name = sw__krpc_method_name(m->method);
            rc = put_bytes(e, "q", (sw_krpc_bytes){(const uint8_t *)name, strlen(name)});
        }
        if (rc == 0)
            rc = sw_benc_ckey(e, "a");
        break;
    case SW_KRPC_RESPONSE:
        if (rc == 0)
            rc = put_bytes(e, "y", (sw_krpc_bytes){(const uint8_t *)"r", 1});
        if (rc == 0)
            rc = sw_benc_ckey(e, "r");
        break;
    case SW_KRPC_ERROR:
        if (rc == 0)
            rc = put_bytes(e, "y", (sw_krpc_bytes){(const uint8_t *)"e", 1});
        if (rc == 0)
            rc = sw_benc_ckey(e, "e");
        if (rc == 0)
            rc = sw_benc_list_begin(e);
        if (rc == 0)
            rc = sw_benc_int(e, m->error_code);
        if (rc == 0)
            rc = sw_benc_str(e, m->error_msg.p ? m->error_msg.p : (const uint8_t *)"",
                             m->error_msg.len);
        if (rc == 0)
            rc = sw_benc_end(e);
        return rc ? rc : sw_benc_end(e);
    }
    if (rc == 0)
        rc = sw_benc_dict_begin(e);
    if (rc == 0)
        rc = put_body(e, m);
    if (rc == 0)
        rc = sw_benc_end(e);
    return rc ? rc : sw_benc_end(e);
}

int sw__krpc_encode(const sw_krpc_msg *m, sw_buf *out)
{
    if (!m || !out || !lengths_ok(m))
        return SW_ERR_INVALID_ARG;
    sw_bencoder *e;
    int rc = sw_benc_new(&e);
    if (rc != 0)
        return rc;
    rc = encode(e, m);
    uint8_t *data = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = sw_benc_finish(e, &data, &len);
    sw_benc_free(e);
    if (rc == 0)
        rc = sw__buf_append(out, data, len);
    free(data);
    return rc;
}
