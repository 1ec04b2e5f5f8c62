/* BEP 33 DHT scrape: a get_peers lookup whose queries carry scrape=1; the
 * seed (BFsd) and downloader (BFpe) bloom filters of every answer are
 * ORed together and the population of each union estimated at the end. A
 * peer stored on several nodes counts once, since filters hold addresses.
 * Peers in the answers are not reported: a scrape only counts. */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_internal.h"

static void fill_scrape(sw_dht_traversal *t, sw_krpc_msg *q)
{
    (void)t;
    q->scrape = true;
    q->has |= SW_KRPC_HAS_SCRAPE;
}

static bool scrape_reply(sw_dht_traversal *t, sw_dht_trav_node *n, const sw_krpc_msg *r)
{
    (void)n;
    if (r->has & SW_KRPC_HAS_BFSD)
        sw__dht_bloom_union(t->bloom, r->bf_seeds.p);
    if (r->has & SW_KRPC_HAS_BFPE)
        sw__dht_bloom_union(t->bloom + SW_DHT_BLOOM_LEN, r->bf_peers.p);
    return false;
}

static void deliver_scrape(sw_dht_traversal *t)
{
    double seeds = 0, downloaders = 0;
    if (t->status == 0) {
        seeds = sw__dht_bloom_estimate(t->bloom);
        downloaders = sw__dht_bloom_estimate(t->bloom + SW_DHT_BLOOM_LEN);
    }
    if (t->scrape_done)
        t->scrape_done(t->user, t->status, seeds, downloaders, &t->stats);
}

static const sw_dht_trav_ops scrape_ops = {
    .method = SW_KRPC_GET_PEERS,
    .fill_query = fill_scrape,
    .on_reply = scrape_reply,
    .deliver = deliver_scrape,
};

int sw__dht_scrape(sw_dht *dht, const sw_sha1 *info_hash, sw_dht_scrape_cb done, void *user)
{
    if (!info_hash)
        return SW_ERR_INVALID_ARG;
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_dht_traversal *t = sw__dht_trav_new(dht, &scrape_ops, info_hash, user);
    if (!t)
        return SW_ERR_NOMEM;
    t->bloom = calloc(2, SW_DHT_BLOOM_LEN);
    if (!t->bloom) {
        sw__dht_trav_free(t);
        return SW_ERR_NOMEM;
    }
    t->scrape_done = done;
    sw__dht_trav_start(t);
    return 0;
}
