/* Unit tests for MSE/PE (core/net/mse_*.c): RC4 against published vectors,
 * full handshakes between two in-memory ends for each method, and
 * malformed or hostile handshakes that must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/sha.h"
#include "net/mse.h"
#include "net/net.h"

static void rc4_vector(const char *key, const char *plain, const uint8_t *expect)
{
    sw_mse_rc4 rc;
    sw__mse_rc4_init(&rc, (const uint8_t *)key, strlen(key));
    uint8_t out[64];
    sw__mse_rc4_apply(&rc, (const uint8_t *)plain, out, strlen(plain));
    assert_memory_equal(out, expect, strlen(plain));
}

static void test_rc4_vectors(void **state)
{
    (void)state;
    static const uint8_t v1[] = {0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3};
    static const uint8_t v2[] = {0x10, 0x21, 0xBF, 0x04, 0x20};
    static const uint8_t v3[] = {0x45, 0xA0, 0x1F, 0x64, 0x5F, 0xC3, 0x5B,
                                 0x38, 0x35, 0x52, 0x54, 0x4B, 0x9B, 0xF5};
    rc4_vector("Key", "Plaintext", v1);
    rc4_vector("Wiki", "pedia", v2);
    rc4_vector("Secret", "Attack at dawn", v3);
    /* skip is the same as encrypting zeros and dropping them. */
    sw_mse_rc4 a, b;
    sw__mse_rc4_init(&a, (const uint8_t *)"Key", 3);
    b = a;
    sw__mse_rc4_skip(&a, 1024);
    uint8_t zeros[1024] = {0};
    sw__mse_rc4_apply(&b, zeros, zeros, sizeof zeros);
    assert_memory_equal(&a, &b, sizeof a);
}

static const uint8_t the_hash[20] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                     11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

static bool find_the_hash(void *user, const uint8_t req2[20], uint8_t skey_out[20])
{
    (void)user;
    uint8_t msg[24];
    memcpy(msg, "req2", 4);
    memcpy(msg + 4, the_hash, 20);
    sw_sha1 d;
    assert_int_equal(sw__sha1(msg, sizeof msg, &d), 0);
    if (memcmp(&d, req2, 20) != 0)
        return false;
    memcpy(skey_out, the_hash, 20);
    return true;
}

typedef struct pair {
    sw_mse_hs *a, *b;
    int rc_a, rc_b;
} pair;

static void make_pair(pair *p, uint32_t offer, uint32_t accept, bool prefer_rc4, unsigned pad,
                      const uint8_t skey[20])
{
    sw_mse_hs_config ca = {.initiator = true, .allowed = offer, .max_pad = pad};
    memcpy(ca.skey, skey, 20);
    sw_mse_hs_config cb = {
        .allowed = accept, .prefer_rc4 = prefer_rc4, .find_skey = find_the_hash, .max_pad = pad};
    assert_int_equal(sw__mse_hs_new(&ca, &p->a), 0);
    assert_int_equal(sw__mse_hs_new(&cb, &p->b), 0);
    p->rc_a = p->rc_b = 0;
}

/* Moves bytes both ways, `chunk` at a time, until nothing moves; bytes
 * from b are optionally altered at offset tamper_at (for malformed tests). */
static void run_pair(pair *p, size_t chunk, long tamper_at, uint8_t tamper_xor)
{
    size_t a_sent = 0;
    for (int round = 0; round < 2000; round++) {
        const uint8_t *out;
        size_t len;
        bool moved = false;
        sw__mse_hs_output(p->a, &out, &len);
        uint8_t *copy = malloc(len + 1);
        memcpy(copy, out, len);
        if (tamper_at >= 0 && (size_t)tamper_at >= a_sent && (size_t)tamper_at < a_sent + len)
            copy[(size_t)tamper_at - a_sent] ^= tamper_xor;
        a_sent += len;
        for (size_t off = 0; off < len && p->rc_b == 0; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            p->rc_b = sw__mse_hs_input(p->b, copy + off, n);
            moved = true;
        }
        free(copy);
        sw__mse_hs_output(p->b, &out, &len);
        for (size_t off = 0; off < len && p->rc_a == 0; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            p->rc_a = sw__mse_hs_input(p->a, out + off, n);
            moved = true;
        }
        if (!moved || p->rc_a < 0 || p->rc_b < 0)
            break;
    }
}

static void free_pair(pair *p)
{
    sw__mse_hs_free(p->a);
    sw__mse_hs_free(p->b);
}

static void check_ciphers_match(pair *p)
{
    sw_mse_rc4 a_send, a_recv, b_send, b_recv;
    sw__mse_hs_ciphers(p->a, &a_send, &a_recv);
    sw__mse_hs_ciphers(p->b, &b_send, &b_recv);
    uint8_t msg[32] = "payload from the initiator";
    uint8_t enc[32];
    sw__mse_rc4_apply(&a_send, msg, enc, sizeof msg);
    assert_memory_not_equal(enc, msg, sizeof msg);
    sw__mse_rc4_apply(&b_recv, enc, enc, sizeof msg);
    assert_memory_equal(enc, msg, sizeof msg);
    sw__mse_rc4_apply(&b_send, msg, enc, sizeof msg);
    sw__mse_rc4_apply(&a_recv, enc, enc, sizeof msg);
    assert_memory_equal(enc, msg, sizeof msg);
}

static void test_handshake_methods(void **state)
{
    (void)state;
    static const struct {
        uint32_t offer, accept;
        bool prefer_rc4;
        uint32_t expect;
        size_t chunk;
        unsigned pad;
    } cases[] = {
        {3, 3, true, SW_MSE_RC4, 4096, 512}, {3, 3, false, SW_MSE_PLAINTEXT, 1, 512},
        {2, 3, false, SW_MSE_RC4, 7, 0},     {1, 3, true, SW_MSE_PLAINTEXT, 4096, 512},
        {3, 2, false, SW_MSE_RC4, 33, 100},  {3, 1, true, SW_MSE_PLAINTEXT, 96, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pair p;
        make_pair(&p, cases[i].offer, cases[i].accept, cases[i].prefer_rc4, cases[i].pad, the_hash);
        run_pair(&p, cases[i].chunk, -1, 0);
        assert_int_equal(p.rc_a, 0);
        assert_int_equal(p.rc_b, 0);
        assert_true(sw__mse_hs_done(p.a));
        assert_true(sw__mse_hs_done(p.b));
        assert_int_equal(sw__mse_hs_method(p.a), cases[i].expect);
        assert_int_equal(sw__mse_hs_method(p.b), cases[i].expect);
        assert_memory_equal(sw__mse_hs_skey(p.b), the_hash, 20);
        check_ciphers_match(&p);
        const uint8_t *left;
        size_t left_len;
        sw__mse_hs_leftover(p.b, &left, &left_len);
        assert_int_equal(left_len, 0);
        free_pair(&p);
    }
}

static void test_no_common_method(void **state)
{
    (void)state;
    pair p;
    make_pair(&p, SW_MSE_PLAINTEXT, SW_MSE_RC4, false, 0, the_hash);
    run_pair(&p, 4096, -1, 0);
    assert_int_equal(p.rc_b, SW_ERR_HANDSHAKE);
    assert_false(sw__mse_hs_done(p.b));
    free_pair(&p);
}

static void test_unknown_torrent(void **state)
{
    (void)state;
    uint8_t other[20];
    memset(other, 0x77, sizeof other);
    pair p;
    make_pair(&p, 3, 3, false, 0, other);
    run_pair(&p, 4096, -1, 0);
    assert_int_equal(p.rc_b, SW_ERR_INFO_HASH_MISMATCH);
    free_pair(&p);
}

/* Step 3 from the initiator with PadA of 0 bytes: Ya(96) req1(20)
 * req2^req3(20) then ENCRYPT(VC 8, provide 4, len(PadC) 2, len(IA) 2).
 * RC4 is a XOR, so flipping ciphertext bits flips the decrypted fields. */
static void test_tampered_step3(void **state)
{
    (void)state;
    static const struct {
        long at;
        uint8_t xor_;
        int expect;
    } cases[] = {
        {96 + 40 + 3, 0x01, SW_ERR_HANDSHAKE},      /* VC not zero */
        {96 + 40 + 11, 0x03, SW_ERR_HANDSHAKE},     /* crypto_provide now 0 */
        {96 + 40 + 12, 0x04, SW_ERR_HANDSHAKE},     /* len(PadC) 1024 > 512 */
        {96 + 5, 0x80, SW_ERR_HANDSHAKE},           /* req1 never found */
        {96 + 25, 0x10, SW_ERR_INFO_HASH_MISMATCH}, /* SKEY hash */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pair p;
        make_pair(&p, 3, 3, false, 0, the_hash);
        run_pair(&p, 4096, cases[i].at, cases[i].xor_);
        if (cases[i].at == 96 + 5) {
            /* Without req1 the responder waits for up to 628 bytes. */
            assert_int_equal(p.rc_b, 0);
            uint8_t junk[700];
            memset(junk, 0x5a, sizeof junk);
            p.rc_b = sw__mse_hs_input(p.b, junk, sizeof junk);
        }
        assert_int_equal(p.rc_b, cases[i].expect);
        assert_false(sw__mse_hs_done(p.b));
        /* A failed handshake stays failed. */
        assert_int_equal(sw__mse_hs_input(p.b, (const uint8_t *)"x", 1), SW_ERR_HANDSHAKE);
        free_pair(&p);
    }
}

static void test_bad_public_keys(void **state)
{
    (void)state;
    uint8_t key[96];
    static const uint8_t fills[] = {0x00, 0xff};
    for (int initiator = 0; initiator < 2; initiator++) {
        for (size_t f = 0; f < sizeof fills; f++) {
            sw_mse_hs_config c = {.initiator = initiator, .allowed = 3, .find_skey = find_the_hash};
            memcpy(c.skey, the_hash, 20);
            sw_mse_hs *hs;
            assert_int_equal(sw__mse_hs_new(&c, &hs), 0);
            memset(key, fills[f], sizeof key);
            /* 0 and anything >= P are refused; 1 too. */
            assert_int_equal(sw__mse_hs_input(hs, key, sizeof key), SW_ERR_HANDSHAKE);
            sw__mse_hs_free(hs);
        }
        sw_mse_hs_config c = {.initiator = initiator, .allowed = 3, .find_skey = find_the_hash};
        sw_mse_hs *hs;
        assert_int_equal(sw__mse_hs_new(&c, &hs), 0);
        memset(key, 0, sizeof key);
        key[95] = 1;
        assert_int_equal(sw__mse_hs_input(hs, key, sizeof key), SW_ERR_HANDSHAKE);
        sw__mse_hs_free(hs);
    }
}

/* A valid key followed by garbage: each side gives up at its sync limit
 * (628 bytes for the responder, 616 for the initiator), not later. */
static void test_sync_limits(void **state)
{
    (void)state;
    for (int initiator = 0; initiator < 2; initiator++) {
        sw_mse_hs_config peer_cfg = {.initiator = true, .allowed = 3};
        sw_mse_hs *peer;
        assert_int_equal(sw__mse_hs_new(&peer_cfg, &peer), 0);
        const uint8_t *pub;
        size_t pub_len;
        sw__mse_hs_output(peer, &pub, &pub_len);
        assert_int_equal(pub_len, 96);
        sw_mse_hs_config c = {.initiator = initiator, .allowed = 3, .find_skey = find_the_hash};
        sw_mse_hs *hs;
        assert_int_equal(sw__mse_hs_new(&c, &hs), 0);
        assert_int_equal(sw__mse_hs_input(hs, pub, 96), 0);
        size_t limit = initiator ? 616 : 628;
        uint8_t junk[1];
        junk[0] = 0xa5;
        size_t total = 96;
        int rc = 0;
        while (rc == 0 && total < 2000) {
            rc = sw__mse_hs_input(hs, junk, 1);
            total++;
        }
        assert_int_equal(rc, SW_ERR_HANDSHAKE);
        assert_int_equal(total, limit);
        sw__mse_hs_free(hs);
        sw__mse_hs_free(peer);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rc4_vectors),      cmocka_unit_test(test_handshake_methods),
        cmocka_unit_test(test_no_common_method), cmocka_unit_test(test_unknown_torrent),
        cmocka_unit_test(test_tampered_step3),   cmocka_unit_test(test_bad_public_keys),
        cmocka_unit_test(test_sync_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
