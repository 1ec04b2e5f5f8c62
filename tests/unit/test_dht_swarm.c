/* A local DHT of cswarm nodes on 127.0.0.1 (and a smaller one on ::1), all
 * in one loop, each on its own UDP socket: they bootstrap from one router
 * node, find an announced torrent, round-trip immutable and mutable items,
 * answer BEP 51 samples, and keep a read-only node out of their tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dht/dht.h"
#include "dht/dht_id.h"
#include "dht_fixture.h"

#define SWARM 60

typedef struct done_rec {
    int calls;
    int status;
    sw_dht_lookup_stats stats;
} done_rec;

static void on_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    done_rec *d = user;
    d->calls++;
    d->status = status;
    d->stats = *stats;
}

static bool one_done(void *arg)
{
    return ((done_rec *)arg)->calls > 0;
}

typedef struct peers_rec {
    uint16_t want_port;
    bool found;
    int batches;
} peers_rec;

static void on_peers(void *user, const sw_sha1 *ih, const sw_endpoint *peers, size_t n)
{
    (void)ih;
    peers_rec *p = user;
    p->batches++;
    for (size_t i = 0; i < n; i++)
        if (peers[i].port == p->want_port)
            p->found = true;
}

typedef struct peers_lookup {
    peers_rec peers;
    done_rec done;
} peers_lookup;

static void on_lookup_peers(void *user, const sw_sha1 *ih, const sw_endpoint *peers, size_t n)
{
    on_peers(&((peers_lookup *)user)->peers, ih, peers, n);
}

static void on_lookup_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    on_done(&((peers_lookup *)user)->done, status, stats);
}

typedef struct item_rec {
    int calls;
    int status;
    bool found;
    uint8_t v[1000];
    size_t v_len;
    int64_t seq;
    bool is_mutable;
} item_rec;

static void on_item(void *user, int status, const sw_dht_item *item,
                    const sw_dht_lookup_stats *stats)
{
    (void)stats;
    item_rec *r = user;
    r->calls++;
    r->status = status;
    r->found = item != NULL;
    if (item) {
        memcpy(r->v, item->v, item->v_len);
        r->v_len = item->v_len;
        r->seq = item->seq;
        r->is_mutable = item->is_mutable;
    }
}

static bool item_done(void *arg)
{
    return ((item_rec *)arg)->calls > 0;
}

typedef struct swarm {
    uv_loop_t loop;
    dfx_node *nodes;
    int n;
} swarm;

/* Every node knows k others and has finished looking into the regions
 * of the id space it knew too little of. */
static bool settled(void *arg)
{
    swarm *s = arg;
    for (int i = 0; i < s->n; i++) {
        sw_dht_stats st;
        sw__dht_get_stats(s->nodes[i].dht, &st);
        if (st.nodes < 8 || st.lookups > 0)
            return false;
    }
    return true;
}

/* Starts n nodes; node 0 is the router every other node bootstraps from.
 * They join one after another, as nodes do: each bootstrap starts when the
 * previous one has finished. */
static void swarm_start(swarm *s, int n, int family)
{
    assert_int_equal(uv_loop_init(&s->loop), 0);
    s->nodes = calloc((size_t)n, sizeof *s->nodes);
    s->n = n;
    for (int i = 0; i < n; i++)
        assert_int_equal(dfx_node_start(&s->nodes[i], &s->loop, family, NULL, NULL), 0);
    for (int i = 1; i < n; i++) {
        done_rec boot = {0};
        assert_int_equal(
            sw__dht_add_router(s->nodes[i].dht, (const struct sockaddr *)&s->nodes[0].addr), 0);
        assert_int_equal(sw__dht_bootstrap(s->nodes[i].dht, on_done, &boot), 0);
        assert_true(dfx_run_until(&s->loop, one_done, &boot, 10000));
        assert_int_equal(boot.status, 0);
    }
    assert_true(dfx_run_until(&s->loop, settled, s, 20000));
}

static void swarm_stop(swarm *s)
{
    for (int i = 0; i < s->n; i++)
        dfx_node_close(&s->nodes[i]);
    assert_int_equal(dfx_close_loop(&s->loop, 5000), 0);
    for (int i = 0; i < s->n; i++)
        assert_true(dfx_node_closed(&s->nodes[i]));
    free(s->nodes);
}

/* On a failure: the nodes closest to a key and what each stores. */
static void dump_ranks(swarm *s, const sw_sha1 *ih)
{
    int order[256];
    for (int i = 0; i < s->n; i++)
        order[i] = i;
    for (int i = 0; i < s->n; i++)
        for (int j = i + 1; j < s->n; j++)
            if (sw__dht_id_closer(ih, sw__dht_node_id(s->nodes[order[j]].dht),
                                  sw__dht_node_id(s->nodes[order[i]].dht)) < 0) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    for (int r = 0; r < 12 && r < s->n; r++) {
        sw_dht_stats st;
        sw__dht_get_stats(s->nodes[order[r]].dht, &st);
        printf("# rank %d: node %d port %u torrents %zu items %zu table %zu\n", r, order[r],
               s->nodes[order[r]].port, st.torrents, st.items, st.nodes);
    }
}

/* Announces ih from node `from` and finds it from node `to`. */
static void announce_and_find(swarm *s, int from, int to, const sw_sha1 *ih, uint16_t port)
{
    done_rec ann = {0};
    assert_int_equal(sw__dht_announce(s->nodes[from].dht, ih, port, 0, NULL, on_done, &ann), 0);
    assert_true(dfx_run_until(&s->loop, one_done, &ann, 20000));
    assert_int_equal(ann.status, 0);
    /* The k closest nodes took it. */
    assert_int_equal(ann.stats.stored, 8);

    peers_lookup pl = {.peers.want_port = port};
    uint64_t sent_before = s->nodes[to].sent;
    assert_int_equal(sw__dht_get_peers(s->nodes[to].dht, ih, on_lookup_peers, on_lookup_done, &pl),
                     0);
    assert_true(dfx_run_until(&s->loop, one_done, &pl.done, 20000));
    assert_int_equal(pl.done.status, 0);
    if (!pl.peers.found) {
        dump_ranks(s, ih);
        printf("# lookup: asked %d answered %d\n", pl.done.stats.queried, pl.done.stats.responses);
    }
    assert_true(pl.peers.found);
    printf("# get_peers in a %d-node DHT: %d nodes asked, %d answered, %llu datagrams sent\n", s->n,
           pl.done.stats.queried, pl.done.stats.responses,
           (unsigned long long)(s->nodes[to].sent - sent_before));
}

static void test_swarm_ipv4(void **state)
{
    (void)state;
    swarm s;
    swarm_start(&s, SWARM, AF_INET);

    /* Peers. */
    sw_sha1 ih;
    memset(ih.v, 0x3c, 20);
    announce_and_find(&s, 5, 40, &ih, 51413);

    /* Immutable item: put from one node, get from another. */
    static const char value[] = "d4:name12:cswarm items5:valueli1ei2ei3eee";
    sw_sha1 target;
    done_rec put = {0};
    assert_int_equal(sw__dht_put_immutable(s.nodes[7].dht, (const uint8_t *)value, sizeof value - 1,
                                           &target, on_done, &put),
                     0);
    assert_true(dfx_run_until(&s.loop, one_done, &put, 20000));
    assert_int_equal(put.status, 0);
    assert_int_equal(put.stats.stored, 8);
    item_rec got = {0};
    assert_int_equal(sw__dht_get_immutable(s.nodes[33].dht, &target, on_item, &got), 0);
    assert_true(dfx_run_until(&s.loop, item_done, &got, 20000));
    assert_int_equal(got.status, 0);
    if (!got.found) {
        printf("# put from port %u, get from port %u\n", s.nodes[7].port, s.nodes[33].port);
        dump_ranks(&s, &target);
    }
    assert_true(got.found);
    assert_false(got.is_mutable);
    assert_int_equal(got.v_len, sizeof value - 1);
    assert_memory_equal(got.v, value, got.v_len);

    /* An item nobody stored is not found (status 0, no item). */
    sw_sha1 missing;
    memset(missing.v, 0xee, 20);
    item_rec none = {0};
    assert_int_equal(sw__dht_get_immutable(s.nodes[12].dht, &missing, on_item, &none), 0);
    assert_true(dfx_run_until(&s.loop, item_done, &none, 20000));
    assert_int_equal(none.status, 0);
    assert_false(none.found);

    /* Mutable item with salt: seq chosen from the DHT (1, then 2). */
    uint8_t seed[32], pk[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0xa0 + i);
    assert_int_equal(sw__dht_item_public_key(seed, pk), 0);
    static const char v1[] = "11:first value", v2[] = "l6:secondi2ee";
    done_rec mp = {0};
    assert_int_equal(sw__dht_put_mutable(s.nodes[20].dht, seed, (const uint8_t *)"chan", 4,
                                         (const uint8_t *)v1, sizeof v1 - 1, -1, on_done, &mp),
                     0);
    assert_true(dfx_run_until(&s.loop, one_done, &mp, 20000));
    assert_int_equal(mp.stats.stored, 8);
    item_rec mg = {0};
    assert_int_equal(
        sw__dht_get_mutable(s.nodes[50].dht, pk, (const uint8_t *)"chan", 4, on_item, &mg), 0);
    assert_true(dfx_run_until(&s.loop, item_done, &mg, 20000));
    assert_true(mg.found && mg.is_mutable);
    assert_int_equal(mg.seq, 1);
    assert_int_equal(mg.v_len, sizeof v1 - 1);
    assert_memory_equal(mg.v, v1, mg.v_len);
    /* Another writer of the same key (say, the owner on another machine). */
    done_rec mp2 = {0};
    assert_int_equal(sw__dht_put_mutable(s.nodes[45].dht, seed, (const uint8_t *)"chan", 4,
                                         (const uint8_t *)v2, sizeof v2 - 1, -1, on_done, &mp2),
                     0);
    assert_true(dfx_run_until(&s.loop, one_done, &mp2, 20000));
    assert_int_equal(mp2.stats.stored, 8);
    item_rec mg2 = {0};
    assert_int_equal(
        sw__dht_get_mutable(s.nodes[3].dht, pk, (const uint8_t *)"chan", 4, on_item, &mg2), 0);
    assert_true(dfx_run_until(&s.loop, item_done, &mg2, 20000));
    assert_int_equal(mg2.seq, 2);
    assert_memory_equal(mg2.v, v2, sizeof v2 - 1);
    /* An explicit older seq is refused by the nodes holding seq 2 (a node
     * the earlier put missed may take it), and readers still get seq 2. */
    done_rec old = {0};
    assert_int_equal(sw__dht_put_mutable(s.nodes[9].dht, seed, (const uint8_t *)"chan", 4,
                                         (const uint8_t *)v1, sizeof v1 - 1, 1, on_done, &old),
                     0);
    assert_true(dfx_run_until(&s.loop, one_done, &old, 20000));
    assert_true(old.stats.stored < 4);
    item_rec mg3 = {0};
    assert_int_equal(
        sw__dht_get_mutable(s.nodes[31].dht, pk, (const uint8_t *)"chan", 4, on_item, &mg3), 0);
    assert_true(dfx_run_until(&s.loop, item_done, &mg3, 20000));
    assert_int_equal(mg3.seq, 2);
    /* The wrong salt is another item, which does not exist. */
    item_rec ms = {0};
    assert_int_equal(
        sw__dht_get_mutable(s.nodes[3].dht, pk, (const uint8_t *)"chat", 4, on_item, &ms), 0);
    assert_true(dfx_run_until(&s.loop, item_done, &ms, 20000));
    assert_false(ms.found);

    swarm_stop(&s);
}

typedef struct sample_rec {
    int calls;
    int status;
    bool has_ih;
    int64_t num;
    sw_sha1 want;
} sample_rec;

static void on_samples(void *user, int status, const sw_dht_samples *res)
{
    sample_rec *r = user;
    r->calls++;
    r->status = status;
    if (res) {
        r->num = res->num;
        for (size_t i = 0; i < res->n; i++)
            r->has_ih |= memcmp(res->samples[i].v, r->want.v, 20) == 0;
    }
}

static bool sample_done(void *arg)
{
    return ((sample_rec *)arg)->calls > 0;
}

static bool contains_id(const sw_dht *dht, const sw_sha1 *id)
{
    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw__dht_save_state(dht, enc), 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_benc_finish(enc, &buf, &len), 0);
    sw_benc_free(enc);
    bool found = false;
    for (size_t i = 0; i + 20 <= len; i++)
        if (memcmp(buf + i, id->v, 20) == 0)
            found = true;
    free(buf);
    return found;
}

static void test_read_only_and_samples(void **state)
{
    (void)state;
    swarm s;
    swarm_start(&s, 20, AF_INET);
    sw_sha1 ih;
    memset(ih.v, 0x5a, 20);
    done_rec ann = {0};
    assert_int_equal(sw__dht_announce(s.nodes[2].dht, &ih, 7777, 0, NULL, on_done, &ann), 0);
    assert_true(dfx_run_until(&s.loop, one_done, &ann, 20000));
    assert_int_equal(ann.stats.stored, 8);

    /* BEP 51: the node closest to ih (other than the announcer, which does
     * not announce to itself) holds it. */
    int closest = -1;
    for (int i = 0; i < s.n; i++)
        if (i != 2 && (closest < 0 || sw__dht_id_closer(&ih, sw__dht_node_id(s.nodes[i].dht),
                                                        sw__dht_node_id(s.nodes[closest].dht)) < 0))
            closest = i;
    int asker = closest == 1 ? 3 : 1;
    sample_rec sr = {.want = ih};
    assert_int_equal(sw__dht_sample_infohashes(s.nodes[asker].dht,
                                               (const struct sockaddr *)&s.nodes[closest].addr, &ih,
                                               on_samples, &sr),
                     0);
    assert_true(dfx_run_until(&s.loop, sample_done, &sr, 10000));
    assert_int_equal(sr.status, 0);
    if (!sr.has_ih) {
        dump_ranks(&s, &ih);
        printf("# announce: asked %d answered %d stored %d\n", ann.stats.queried,
               ann.stats.responses, ann.stats.stored);
    }
    assert_true(sr.has_ih);
    assert_int_equal(sr.num, 1);

    /* A read-only node looks things up but never enters a routing table. */
    dfx_node ro;
    sw_dht_settings set;
    dfx_loopback_settings(&set);
    set.read_only = true;
    assert_int_equal(dfx_node_start(&ro, &s.loop, AF_INET, &set, NULL), 0);
    assert_int_equal(sw__dht_add_router(ro.dht, (const struct sockaddr *)&s.nodes[0].addr), 0);
    done_rec boot = {0};
    assert_int_equal(sw__dht_bootstrap(ro.dht, on_done, &boot), 0);
    assert_true(dfx_run_until(&s.loop, one_done, &boot, 20000));
    assert_true(dfx_node_table_size(&ro) >= 8);
    peers_lookup pl = {.peers.want_port = 7777};
    assert_int_equal(sw__dht_get_peers(ro.dht, &ih, on_lookup_peers, on_lookup_done, &pl), 0);
    assert_true(dfx_run_until(&s.loop, one_done, &pl.done, 20000));
    assert_true(pl.peers.found);
    /* Its announce is refused by itself: read-only nodes store nothing. */
    for (int i = 0; i < s.n; i++) {
        sw_dht_stats st;
        sw__dht_get_stats(s.nodes[i].dht, &st);
        assert_false(contains_id(s.nodes[i].dht, sw__dht_node_id(ro.dht)));
    }
    dfx_node_close(&ro);
    swarm_stop(&s);
    assert_true(dfx_node_closed(&ro));
}

static void test_swarm_ipv6(void **state)
{
    (void)state;
    /* Skip where the host has no IPv6 loopback. */
    uv_loop_t probe;
    uv_loop_init(&probe);
    dfx_node p;
    int rc = dfx_node_start(&p, &probe, AF_INET6, NULL, NULL);
    if (rc == 0)
        dfx_node_close(&p);
    dfx_close_loop(&probe, 1000);
    if (rc != 0)
        skip();
    swarm s;
    swarm_start(&s, 16, AF_INET6);
    sw_sha1 ih;
    memset(ih.v, 0x66, 20);
    announce_and_find(&s, 3, 12, &ih, 6969);
    swarm_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swarm_ipv4),
        cmocka_unit_test(test_read_only_and_samples),
        cmocka_unit_test(test_swarm_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
