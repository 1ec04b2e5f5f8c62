/* Saved DHT state (our node id and the good nodes of the routing table, so
 * a restart rejoins without routers) and BEP 51 sample_infohashes queries. */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_internal.h"

/* Nodes saved at most (the good ones closest to us first). */
#define SW_DHT_STATE_MAX_NODES 200

int sw__dht_save_state(const sw_dht *dht, sw_bencoder *enc)
{
    sw_dht_contact *near = malloc(SW_DHT_STATE_MAX_NODES * sizeof *near);
    if (!near)
        return SW_ERR_NOMEM;
    size_t n = sw__dht_routing_closest(&dht->rt, &dht->self, SW_DHT_STATE_MAX_NODES,
                                       SW_DHT_CLOSEST_CONFIRMED, uv_now(dht->loop), near);
    sw_buf nodes = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = sw__krpc_node_append(&nodes, &near[i].id, &near[i].ep);
    free(near);
    if (rc == 0)
        rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw_benc_ckey(enc, "node-id");
    if (rc == 0)
        rc = sw_benc_str(enc, dht->self.v, SW_DHT_ID_LEN);
    if (rc == 0)
        rc = sw_benc_ckey(enc, dht->family == AF_INET6 ? "nodes6" : "nodes");
    if (rc == 0)
        rc = sw_benc_str(enc, nodes.data ? nodes.data : (const uint8_t *)"", nodes.len);
    if (rc == 0)
        rc = sw_benc_end(enc);
    sw__buf_free(&nodes);
    return rc;
}

bool sw__dht_state_node_id(sw_bnode state, sw_sha1 *id_out)
{
    const char *s;
    size_t len;
    if (!sw_bnode_dict_get_str(state, "node-id", &s, &len) || len != SW_DHT_ID_LEN)
        return false;
    memcpy(id_out->v, s, SW_DHT_ID_LEN);
    return true;
}

int sw__dht_load_nodes(sw_dht *dht, sw_bnode state)
{
    const char *s;
    size_t len;
    if (!sw_bnode_dict_get_str(state, dht->family == AF_INET6 ? "nodes6" : "nodes", &s, &len))
        return 0;
    sw_krpc_bytes nodes = {(const uint8_t *)s, len};
    size_t count = sw__krpc_node_count(nodes, dht->family);
    if (count > SW_DHT_STATE_MAX_NODES)
        count = SW_DHT_STATE_MAX_NODES;
    int queued = 0;
    for (size_t i = 0; i < count; i++) {
        sw_sha1 id;
        sw_endpoint ep;
        sw__krpc_node_at(nodes, dht->family, i, &id, &ep);
        struct sockaddr_storage ss;
        sw__endpoint_to_sockaddr(&ep, &ss);
        if (sw__dht_add_node(dht, (const struct sockaddr *)&ss) == 0)
            queued++;
    }
    return queued;
}

/* ---- BEP 51 queries ---- */

typedef struct sample_req {
    sw_dht_samples_cb cb;
    void *user;
} sample_req;

static void sample_answer(sw_dht *dht, sw_dht_txn *txn, const sw_krpc_msg *r, int status)
{
    sample_req *req = txn->ctx;
    if (status == SW_DHT_TXN_SLOW)
        return;
    if (status != 0 || !(r->has & SW_KRPC_HAS_SAMPLES)) {
        /* A reply without "samples" comes from a node that does not know
         * the method and answered it like find_node. */
        req->cb(req->user, status != 0 ? status : SW_ERR_NOT_SUPPORTED, NULL);
        free(req);
        return;
    }
    sw_dht_samples res;
    memset(&res, 0, sizeof res);
    size_t n = r->samples.len / SW_DHT_ID_LEN;
    sw_sha1 *samples = malloc((n ? n : 1) * sizeof *samples);
    if (!samples) {
        req->cb(req->user, SW_ERR_NOMEM, NULL);
        free(req);
        return;
    }
    memcpy(samples, r->samples.p, n * SW_DHT_ID_LEN);
    res.samples = samples;
    res.n = n;
    res.num = (r->has & SW_KRPC_HAS_NUM) ? r->num : (int64_t)n;
    res.interval = (r->has & SW_KRPC_HAS_INTERVAL) ? r->interval : 0;
    sw_krpc_bytes nodes = dht->family == AF_INET6 ? r->nodes6 : r->nodes;
    res.nodes = sw__krpc_node_count(nodes, dht->family);
    req->cb(req->user, 0, &res);
    free(samples);
    free(req);
}

int sw__dht_sample_infohashes(sw_dht *dht, const struct sockaddr *node, const sw_sha1 *target,
                              sw_dht_samples_cb cb, void *user)
{
    if (!node || !target || !cb)
        return SW_ERR_INVALID_ARG;
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_endpoint ep;
    if (sw__endpoint_from_sockaddr(&ep, node) != 0 || ep.family != dht->family || ep.port == 0)
        return SW_ERR_INVALID_ARG;
    sample_req *req = calloc(1, sizeof *req);
    if (!req)
        return SW_ERR_NOMEM;
    req->cb = cb;
    req->user = user;
    sw_krpc_msg q;
    memset(&q, 0, sizeof q);
    q.method = SW_KRPC_SAMPLE_INFOHASHES;
    q.target = *target;
    q.has = SW_KRPC_HAS_TARGET;
    if (!sw__dht_query(dht, &q, &ep, NULL, sample_answer, req, NULL)) {
        free(req);
        return SW_ERR_IO;
    }
    return 0;
}
