/* Unit tests for what a DHT node stores for others: write tokens (bound to
 * the address, rotating secret), announced peers (limits, expiry, random
 * selection, BEP 51 samples) and BEP 44 items (immutable keys, mutable
 * signatures with the BEP's test vectors, seq and CAS rules, limits). */
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
#include "dht/store.h"

#define MIN_MS (60u * 1000u)

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (uint8_t)b;
    }
}

static sw_endpoint ep4(const char *ip, uint16_t port)
{
    sw_endpoint ep;
    assert_int_equal(sw__endpoint_from_ip(&ep, ip, port), 0);
    return ep;
}

static sw_sha1 ih(unsigned n)
{
    sw_sha1 id;
    memset(&id, 0, sizeof id);
    id.v[0] = (uint8_t)(n >> 8);
    id.v[1] = (uint8_t)n;
    return id;
}

/* ---- tokens ---- */

static void test_tokens(void **state)
{
    (void)state;
    sw_dht_tokens t;
    sw__dht_tokens_init(&t, 0);
    sw_endpoint a = ep4("1.2.3.4", 6881), a_other_port = ep4("1.2.3.4", 9999);
    sw_endpoint b = ep4("1.2.3.5", 6881);
    uint8_t tok[SW_DHT_TOKEN_LEN];
    sw__dht_token_make(&t, &a, tok);
    assert_true(sw__dht_token_check(&t, &a, tok, sizeof tok));
    /* Bound to the address, not the port. */
    assert_true(sw__dht_token_check(&t, &a_other_port, tok, sizeof tok));
    assert_false(sw__dht_token_check(&t, &b, tok, sizeof tok));
    assert_false(sw__dht_token_check(&t, &a, tok, sizeof tok - 1));
    uint8_t forged[SW_DHT_TOKEN_LEN];
    memcpy(forged, tok, sizeof forged);
    forged[0] ^= 1;
    assert_false(sw__dht_token_check(&t, &a, forged, sizeof forged));
    /* Still good after one rotation (5-10 minutes old), not after two. */
    sw__dht_tokens_tick(&t, 4 * MIN_MS);
    assert_true(sw__dht_token_check(&t, &a, tok, sizeof tok));
    sw__dht_tokens_tick(&t, 5 * MIN_MS);
    assert_true(sw__dht_token_check(&t, &a, tok, sizeof tok));
    sw__dht_tokens_tick(&t, 10 * MIN_MS);
    assert_false(sw__dht_token_check(&t, &a, tok, sizeof tok));
    /* IPv6 tokens work the same way. */
    sw_endpoint v6;
    assert_int_equal(sw__endpoint_from_ip(&v6, "2001:db8::1", 1), 0);
    sw__dht_token_make(&t, &v6, tok);
    assert_true(sw__dht_token_check(&t, &v6, tok, sizeof tok));
    assert_false(sw__dht_token_check(&t, &a, tok, sizeof tok));
}

/* ---- peers ---- */

static void test_peer_store(void **state)
{
    (void)state;
    sw_dht_peer_store s;
    sw__dht_peers_init(&s, 3, 4);
    sw_sha1 h1 = ih(1);
    sw_endpoint out[16];
    assert_int_equal(sw__dht_peers_get(&s, &h1, AF_INET, 16, out), 0);
    for (unsigned i = 0; i < 6; i++) {
        sw_endpoint p = ep4("10.0.0.1", (uint16_t)(1000 + i));
        assert_int_equal(sw__dht_peers_announce(&s, &h1, &p, i * 1000), 0);
    }
    /* Four kept per info-hash: the two oldest were replaced. */
    size_t n = sw__dht_peers_get(&s, &h1, AF_INET, 16, out);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i].port >= 1002);
    /* A repeat refreshes, not duplicates. */
    sw_endpoint again = ep4("10.0.0.1", 1005);
    assert_int_equal(sw__dht_peers_announce(&s, &h1, &again, 9000), 0);
    assert_int_equal(sw__dht_peers_get(&s, &h1, AF_INET, 16, out), 4);
    /* The reply size limit is honoured, and IPv6 peers are not IPv4 ones. */
    assert_int_equal(sw__dht_peers_get(&s, &h1, AF_INET, 2, out), 2);
    assert_int_equal(sw__dht_peers_get(&s, &h1, AF_INET6, 16, out), 0);

    /* Three torrents at most: a newcomer displaces a one-peer torrent. */
    sw_sha1 h2 = ih(2), h3 = ih(3), h4 = ih(4), h5 = ih(5);
    sw_endpoint p = ep4("10.0.0.2", 1);
    assert_int_equal(sw__dht_peers_announce(&s, &h2, &p, 10000), 0);
    assert_int_equal(sw__dht_peers_announce(&s, &h3, &p, 11000), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(sw__dht_peers_announce(&s, &h4, &p, 12000), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(sw__dht_peers_get(&s, &h2, AF_INET, 16, out), 0); /* oldest single */
    assert_int_equal(sw__dht_peers_get(&s, &h1, AF_INET, 16, out), 4); /* busiest kept */
    /* With every torrent holding more than one peer, a newcomer loses. */
    sw_endpoint q = ep4("10.0.0.3", 2);
    assert_int_equal(sw__dht_peers_announce(&s, &h3, &q, 13000), 0);
    assert_int_equal(sw__dht_peers_announce(&s, &h4, &q, 13000), 0);
    assert_int_equal(sw__dht_peers_announce(&s, &h5, &p, 14000), SW_ERR_LIMIT);

    /* BEP 51 samples: the stored info-hashes, each once. */
    sw_sha1 sample[8];
    size_t ns = sw__dht_peers_sample(&s, 8, sample);
    assert_int_equal(ns, 3);
    for (size_t i = 0; i < ns; i++)
        for (size_t j = i + 1; j < ns; j++)
            assert_memory_not_equal(sample[i].v, sample[j].v, 20);
    assert_int_equal(sw__dht_peers_sample(&s, 2, sample), 2);

    /* Expiry drops old peers and then empty torrents. */
    sw__dht_peers_expire(&s, 12500 + SW_DHT_PEER_LIFETIME_MS, SW_DHT_PEER_LIFETIME_MS);
    assert_int_equal(s.n, 2); /* h1 had only peers from before 12500 */
    sw__dht_peers_expire(&s, 20000 + SW_DHT_PEER_LIFETIME_MS, SW_DHT_PEER_LIFETIME_MS);
    assert_int_equal(s.n, 0);
    sw__dht_peers_free(&s);
}

static void test_peer_random_selection(void **state)
{
    (void)state;
    sw_dht_peer_store s;
    sw__dht_peers_init(&s, 10, 500);
    sw_sha1 h = ih(7);
    for (unsigned i = 0; i < 200; i++) {
        sw_endpoint p = ep4("10.1.0.1", (uint16_t)(2000 + i));
        assert_int_equal(sw__dht_peers_announce(&s, &h, &p, 1), 0);
    }
    /* Repeated replies of 20 out of 200 do not always give the same 20. */
    sw_endpoint out[20];
    bool seen[200] = {0};
    for (int round = 0; round < 20; round++) {
        assert_int_equal(sw__dht_peers_get(&s, &h, AF_INET, 20, out), 20);
        for (int i = 0; i < 20; i++)
            seen[out[i].port - 2000] = true;
    }
    int distinct = 0;
    for (int i = 0; i < 200; i++)
        distinct += seen[i];
    assert_true(distinct > 40);
    sw__dht_peers_free(&s);
}

/* ---- items ---- */

/* BEP 44 test vectors. */
static const char *PK = "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548";
static const char *SIG1 = "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff"
                          "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01";
static const char *SIG2 = "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d"
                          "df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08";
#define HELLO "12:Hello World!"

static void test_bep44_vectors(void **state)
{
    (void)state;
    uint8_t pk[32], sig1[64], sig2[64], want[20];
    unhex(PK, pk, 32);
    unhex(SIG1, sig1, 64);
    unhex(SIG2, sig2, 64);
    const uint8_t *v = (const uint8_t *)HELLO;
    size_t vlen = strlen(HELLO);

    sw_buf buf = {0};
    assert_int_equal(sw__dht_item_signed_bytes(NULL, 0, 1, v, vlen, &buf), 0);
    assert_int_equal(buf.len, strlen("3:seqi1e1:v12:Hello World!"));
    assert_memory_equal(buf.data, "3:seqi1e1:v12:Hello World!", buf.len);
    sw__buf_clear(&buf);
    assert_int_equal(sw__dht_item_signed_bytes((const uint8_t *)"foobar", 6, 1, v, vlen, &buf), 0);
    assert_memory_equal(buf.data, "4:salt6:foobar3:seqi1e1:v12:Hello World!", buf.len);
    sw__buf_free(&buf);

    sw_sha1 target;
    sw__dht_item_target_mutable(pk, NULL, 0, &target);
    unhex("4a533d47ec9c7d95b1ad75f576cffc641853b750", want, 20);
    assert_memory_equal(target.v, want, 20);
    sw__dht_item_target_mutable(pk, (const uint8_t *)"foobar", 6, &target);
    unhex("411eba73b6f087ca51a3795d9c8c938d365e32c1", want, 20);
    assert_memory_equal(target.v, want, 20);
    sw__dht_item_target_immutable(v, vlen, &target);
    unhex("e5f96f6f38320f0f33959cb4d3d656452117aadb", want, 20);
    assert_memory_equal(target.v, want, 20);

    assert_true(sw__dht_item_verify(pk, sig1, NULL, 0, 1, v, vlen));
    assert_true(sw__dht_item_verify(pk, sig2, (const uint8_t *)"foobar", 6, 1, v, vlen));
    /* Any change breaks it: seq, salt, value, signature. */
    assert_false(sw__dht_item_verify(pk, sig1, NULL, 0, 2, v, vlen));
    assert_false(sw__dht_item_verify(pk, sig1, (const uint8_t *)"foobar", 6, 1, v, vlen));
    assert_false(sw__dht_item_verify(pk, sig1, NULL, 0, 1, (const uint8_t *)"12:Hello World?", 15));
    sig1[10] ^= 1;
    assert_false(sw__dht_item_verify(pk, sig1, NULL, 0, 1, v, vlen));
}

static void test_sign_own_key(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sig[64];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(sw__dht_item_public_key(seed, pk), 0);
    const uint8_t *v = (const uint8_t *)"d1:ai1ee";
    assert_int_equal(sw__dht_item_sign(seed, (const uint8_t *)"s", 1, 42, v, 8, sig), 0);
    assert_true(sw__dht_item_verify(pk, sig, (const uint8_t *)"s", 1, 42, v, 8));
    assert_false(sw__dht_item_verify(pk, sig, NULL, 0, 42, v, 8));
    /* Ed25519 is deterministic: the same input signs the same. */
    uint8_t sig2[64];
    assert_int_equal(sw__dht_item_sign(seed, (const uint8_t *)"s", 1, 42, v, 8, sig2), 0);
    assert_memory_equal(sig, sig2, 64);
}

static void test_item_store(void **state)
{
    (void)state;
    sw_dht_item_store s;
    sw__dht_items_init(&s, 3);
    uint8_t pk[32], sig[64];
    unhex(PK, pk, 32);
    unhex(SIG1, sig, 64);
    const uint8_t *v = (const uint8_t *)HELLO;
    size_t vlen = strlen(HELLO);

    sw_sha1 t_imm;
    sw__dht_item_target_immutable(v, vlen, &t_imm);
    assert_int_equal(sw__dht_items_put_immutable(&s, &t_imm, v, vlen, 1000), 0);
    const sw_dht_item_rec *r = sw__dht_items_find(&s, &t_imm);
    assert_non_null(r);
    assert_false(r->is_mutable);
    assert_int_equal(r->v_len, vlen);
    assert_memory_equal(r->v, v, vlen);
    /* Again: refreshed, not duplicated. */
    assert_int_equal(sw__dht_items_put_immutable(&s, &t_imm, v, vlen, 2000), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(r->stored_ms, 2000);

    sw_sha1 t_mut;
    sw__dht_item_target_mutable(pk, NULL, 0, &t_mut);
    assert_int_equal(
        sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 5, NULL, 0, v, vlen, false, 0, 1000), 0);
    r = sw__dht_items_find(&s, &t_mut);
    assert_true(r->is_mutable);
    assert_int_equal(r->seq, 5);
    /* Lower seq: refused. Same seq, other value: refused. Same seq and
     * value: refreshed. */
    assert_int_equal(
        sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 4, NULL, 0, v, vlen, false, 0, 1000),
        SW_ERR_DHT_SEQ_OUTDATED);
    assert_int_equal(sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 5, NULL, 0,
                                               (const uint8_t *)"1:x", 3, false, 0, 1000),
                     SW_ERR_DHT_SEQ_OUTDATED);
    assert_int_equal(
        sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 5, NULL, 0, v, vlen, false, 0, 3000), 0);
    assert_int_equal(r->stored_ms, 3000);
    /* CAS must name the stored seq. */
    assert_int_equal(sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 6, NULL, 0,
                                               (const uint8_t *)"1:y", 3, true, 4, 3000),
                     SW_ERR_DHT_CAS_MISMATCH);
    assert_int_equal(sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 6, NULL, 0,
                                               (const uint8_t *)"1:y", 3, true, 5, 3000),
                     0);
    r = sw__dht_items_find(&s, &t_mut);
    assert_int_equal(r->seq, 6);
    assert_memory_equal(r->v, "1:y", 3);
    /* CAS is ignored when nothing is stored yet. */
    sw_sha1 t_salt;
    sw__dht_item_target_mutable(pk, (const uint8_t *)"foobar", 6, &t_salt);
    assert_int_equal(sw__dht_items_put_mutable(&s, &t_salt, pk, sig, 1, (const uint8_t *)"foobar",
                                               6, v, vlen, true, 99, 4000),
                     0);
    assert_int_equal(sw__dht_items_find(&s, &t_salt)->salt_len, 6);
    /* Limits. */
    uint8_t big[SW_DHT_ITEM_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(sw__dht_items_put_immutable(&s, &t_imm, big, sizeof big, 1),
                     SW_ERR_DHT_ITEM_TOO_LARGE);
    uint8_t salt[SW_DHT_SALT_MAX + 1] = {0};
    assert_int_equal(
        sw__dht_items_put_mutable(&s, &t_mut, pk, sig, 9, salt, sizeof salt, v, vlen, false, 0, 1),
        SW_ERR_DHT_SALT_TOO_LARGE);
    /* A fourth item evicts the one stored longest ago (the immutable one,
     * last refreshed at 2000). */
    sw_sha1 t4;
    sw__dht_item_target_immutable((const uint8_t *)"1:z", 3, &t4);
    assert_int_equal(sw__dht_items_put_immutable(&s, &t4, (const uint8_t *)"1:z", 3, 5000), 0);
    assert_int_equal(s.n, 3);
    assert_null(sw__dht_items_find(&s, &t_imm));
    /* Expiry. */
    sw__dht_items_expire(&s, 4500 + SW_DHT_ITEM_LIFETIME_MS, SW_DHT_ITEM_LIFETIME_MS);
    assert_int_equal(s.n, 1);
    assert_non_null(sw__dht_items_find(&s, &t4));
    sw__dht_items_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_peer_store),
        cmocka_unit_test(test_peer_random_selection),
        cmocka_unit_test(test_bep44_vectors),
        cmocka_unit_test(test_sign_own_key),
        cmocka_unit_test(test_item_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
