/* Unit tests for the piece picker (core/peer/picker.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "peer/picker.h"

#define BS SW_PICKER_BLOCK_SIZE

/* Peers are opaque identities: addresses of distinct objects. */
static char peer_objs[16];
#define PEER(n) ((void *)&peer_objs[n])
#define A PEER(0)
#define B PEER(1)
#define C PEER(2)

static void check(const sw_picker *p)
{
    const char *what = NULL;
    int rc = sw__picker_check_invariants(p, &what);
    if (rc != 0)
        fail_msg("picker invariant broken: %s", what ? what : "?");
}

static sw_picker *make(int n, int piece_length, int64_t total, uint64_t seed)
{
    sw_picker *p = NULL;
    assert_int_equal(sw__picker_new(n, piece_length, total, seed, &p), 0);
    assert_non_null(p);
    check(p);
    return p;
}

static void set_bit(uint8_t *bits, int i)
{
    bits[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static sw_picker_block blk(int piece, int block)
{
    return (sw_picker_block){piece, block};
}

/* Picks for peer; bits NULL means the peer is a seed. */
static int pick(sw_picker *p, void *peer, const uint8_t *bits, int want, unsigned flags,
                sw_picker_block *out, int max_out)
{
    sw_pick_params pp;
    sw__pick_params_init(&pp);
    pp.peer = peer;
    pp.bits = bits;
    pp.has_all = bits == NULL;
    pp.num_blocks = want;
    pp.flags = flags;
    int n = -1;
    assert_int_equal(sw__picker_pick(p, &pp, out, max_out, &n), 0);
    check(p);
    return n;
}

static void request_all(sw_picker *p, void *peer, const sw_picker_block *b, int n, int speed)
{
    for (int k = 0; k < n; k++)
        assert_int_equal(sw__picker_mark_requested(p, b[k], peer, speed), 0);
    check(p);
}

static void receive_and_write(sw_picker *p, sw_picker_block b, void *peer, bool *complete)
{
    void *others[SW_PICKER_MAX_REQUESTERS];
    int n = -1;
    assert_int_equal(sw__picker_mark_received(p, b, peer, others, &n), 0);
    assert_int_equal(sw__picker_mark_finished(p, b, complete), 0);
    check(p);
}

static void download_piece(sw_picker *p, int piece, void *peer)
{
    int nb = sw__picker_blocks_in_piece(p, piece);
    bool complete = false;
    for (int j = 0; j < nb; j++) {
        assert_false(complete);
        receive_and_write(p, blk(piece, j), peer, &complete);
    }
    assert_true(complete);
    assert_int_equal(sw__picker_piece_passed(p, piece), 0);
    check(p);
}

/* ---- geometry ------------------------------------------------------------ */

static void test_geometry(void **state)
{
    (void)state;
    /* 40000-byte pieces are not a multiple of 16 KiB: blocks 16384, 16384,
     * 7232. The last piece holds 20000 bytes: 16384 + 3616. */
    sw_picker *p = make(3, 40000, 100000, 1);
    assert_int_equal(sw__picker_num_pieces(p), 3);
    assert_int_equal(sw__picker_piece_size(p, 0), 40000);
    assert_int_equal(sw__picker_piece_size(p, 2), 20000);
    assert_int_equal(sw__picker_piece_size(p, 3), 0);
    assert_int_equal(sw__picker_blocks_in_piece(p, 0), 3);
    assert_int_equal(sw__picker_blocks_in_piece(p, 2), 2);
    assert_int_equal(sw__picker_block_size(p, blk(0, 1)), BS);
    assert_int_equal(sw__picker_block_size(p, blk(0, 2)), 7232);
    assert_int_equal(sw__picker_block_size(p, blk(2, 1)), 3616);
    assert_int_equal(sw__picker_block_size(p, blk(2, 2)), 0);
    assert_int_equal(sw__picker_block_size(p, blk(-1, 0)), 0);

    sw_picker_block b;
    assert_int_equal(sw__picker_block_from_wire(p, 0, 0, BS, &b), 0);
    assert_int_equal(b.piece, 0);
    assert_int_equal(b.block, 0);
    assert_int_equal(sw__picker_block_from_wire(p, 0, 2 * BS, 7232, &b), 0);
    assert_int_equal(b.block, 2);
    assert_int_equal(sw__picker_block_from_wire(p, 2, BS, 3616, &b), 0);
    assert_int_equal(b.piece, 2);
    assert_int_equal(b.block, 1);
    assert_int_equal(sw__picker_block_from_wire(p, 0, 2 * BS, BS, &b), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_block_from_wire(p, 0, 100, BS, &b), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_block_from_wire(p, 0, -BS, BS, &b), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_block_from_wire(p, 0, 3 * BS, BS, &b), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_block_from_wire(p, 3, 0, BS, &b), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_block_from_wire(p, 2, BS, BS, &b), SW_ERR_INVALID_ARG);
    sw__picker_free(p);

    sw_picker *bad = NULL;
    assert_int_equal(sw__picker_new(0, BS, 1, 0, &bad), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_new(2, 0, 1, 0, &bad), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_new(2, BS, BS, 0, &bad), SW_ERR_INVALID_ARG); /* no last piece */
    assert_int_equal(sw__picker_new(2, BS, 2 * BS + 1, 0, &bad), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_new(2, BS, 0, 0, &bad), SW_ERR_INVALID_ARG);
    assert_null(bad);
    sw__picker_free(NULL);
}

static void test_one_piece_torrent(void **state)
{
    (void)state;
    sw_picker *p = make(1, 2 * BS, 20000, 7);
    sw_picker_block out[8];
    int n = pick(p, A, NULL, 8, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 0);
    assert_int_equal(out[0].block, 0);
    assert_int_equal(out[1].block, 1);
    assert_int_equal(sw__picker_block_size(p, out[1]), 20000 - BS);
    request_all(p, A, out, n, SW_PICKER_SPEED_NONE);
    assert_int_equal(sw__picker_piece_state(p, 0), SW_PICKER_PIECE_DOWNLOADING);
    assert_true(sw__picker_in_end_game(p));

    bool complete = true;
    receive_and_write(p, out[0], A, &complete);
    assert_false(complete);
    receive_and_write(p, out[1], A, &complete);
    assert_true(complete);
    assert_int_equal(sw__picker_piece_state(p, 0), SW_PICKER_PIECE_HASH_PENDING);
    assert_int_equal(pick(p, B, NULL, 8, 0, out, 8), 0);
    assert_false(sw__picker_is_finished(p));

    assert_int_equal(sw__picker_piece_passed(p, 0), 0);
    check(p);
    assert_int_equal(sw__picker_piece_state(p, 0), SW_PICKER_PIECE_HAVE);
    assert_true(sw__picker_is_seed(p));
    assert_true(sw__picker_is_finished(p));
    assert_int_equal(sw__picker_num_have(p), 1);
    assert_int_equal(sw__picker_num_partial(p), 0);
    sw_picker_progress pr;
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.total_bytes, 20000);
    assert_int_equal(pr.have_bytes, 20000);
    assert_int_equal(pr.done_bytes, 20000);
    assert_int_equal(pick(p, A, NULL, 8, 0, out, 8), 0);
    sw__picker_free(p);
}

/* ---- ordering ------------------------------------------------------------ */

static void test_rarest_first(void **state)
{
    (void)state;
    /* One block per piece; piece i is had by 8 - i peers. */
    sw_picker *p = make(8, BS, 8 * BS, 3);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8 - i; k++)
            assert_int_equal(sw__picker_inc_have(p, i), 0);
    sw_picker_block out[8];
    for (int expect = 7; expect >= 4; expect--) {
        assert_int_equal(pick(p, A, NULL, 1, 0, out, 8), 1);
        assert_int_equal(out[0].piece, expect);
        request_all(p, A, out, 1, 0);
    }
    /* Order kept up to date by single HAVEs: piece 3 becomes the most common
     * and piece 0 the rarest. */
    for (int k = 0; k < 10; k++)
        assert_int_equal(sw__picker_inc_have(p, 3), 0);
    for (int k = 0; k < 8; k++)
        assert_int_equal(sw__picker_dec_have(p, 0), 0);
    check(p);
    assert_int_equal(sw__picker_availability(p, 0), 0);
    assert_int_equal(sw__picker_dec_have(p, 0), SW_ERR_INVALID_ARG);
    int n = pick(p, A, NULL, 3, 0, out, 8);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].piece, 0);
    assert_int_equal(out[1].piece, 2);
    assert_int_equal(out[2].piece, 1);

    /* A peer lacking the rare pieces gets the rarest it has. */
    uint8_t bits[1] = {0};
    set_bit(bits, 1);
    set_bit(bits, 3);
    assert_int_equal(pick(p, B, bits, 2, 0, out, 8), 2);
    assert_int_equal(out[0].piece, 1);
    assert_int_equal(out[1].piece, 3);
    sw__picker_free(p);
}

static void test_random_tie_break(void **state)
{
    (void)state;
    /* Equally rare pieces: each seed picks one at random, the same seed the
     * same one, and over many seeds every piece comes up. */
    int seen[16] = {0};
    for (uint64_t seed = 1; seed <= 400; seed++) {
        int first = -1;
        for (int rep = 0; rep < 2; rep++) {
            sw_picker *p = make(16, BS, 16 * BS, seed);
            for (int i = 0; i < 16; i++)
                assert_int_equal(sw__picker_inc_have(p, i), 0);
            sw_picker_block out[1];
            assert_int_equal(pick(p, A, NULL, 1, 0, out, 1), 1);
            if (rep == 0)
                first = out[0].piece;
            else
                assert_int_equal(out[0].piece, first);
            sw__picker_free(p);
        }
        seen[first]++;
    }
    for (int i = 0; i < 16; i++)
        assert_true(seen[i] > 0);
}

static void test_priorities(void **state)
{
    (void)state;
    /* Piece 1 is the rarest but priority 1; piece 2 is common but priority
     * 7; piece 3 priority 3; piece 0 is not wanted at all. */
    sw_picker *p = make(6, BS, 6 * BS, 5);
    uint32_t avail[6] = {1, 1, 5, 4, 3, 2};
    for (int i = 0; i < 6; i++)
        for (uint32_t k = 0; k < avail[i]; k++)
            sw__picker_inc_have(p, i);
    assert_int_equal(sw__picker_set_piece_priority(p, 0, 0), 0);
    assert_int_equal(sw__picker_set_piece_priority(p, 2, 7), 0);
    assert_int_equal(sw__picker_set_piece_priority(p, 3, 3), 0);
    assert_int_equal(sw__picker_set_piece_priority(p, 3, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_set_piece_priority(p, 6, 1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_piece_priority(p, 2), 7);
    assert_int_equal(sw__picker_piece_priority(p, 6), -1);
    assert_int_equal(sw__picker_num_wanted(p), 5);
    assert_false(sw__picker_is_wanted(p, 0));
    assert_true(sw__picker_is_wanted(p, 1));
    check(p);

    sw_picker_block out[8];
    int n = pick(p, A, NULL, 8, 0, out, 8);
    assert_int_equal(n, 5);
    int expect[5] = {2, 3, 1, 5, 4};
    for (int k = 0; k < 5; k++)
        assert_int_equal(out[k].piece, expect[k]);

    /* A downloading piece set to priority 0 is no longer picked. */
    request_all(p, A, out, 1, 0);
    assert_int_equal(sw__picker_set_piece_priority(p, 2, 0), 0);
    check(p);
    n = pick(p, B, NULL, 8, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 4);
    for (int k = 0; k < n; k++)
        assert_int_not_equal(out[k].piece, 2);

    /* Bulk priorities: an invalid value changes nothing. */
    uint8_t prio[6] = {1, 1, 1, 1, 1, 9};
    assert_int_equal(sw__picker_set_priorities(p, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_piece_priority(p, 3), 3);
    prio[5] = 6;
    assert_int_equal(sw__picker_set_priorities(p, prio), 0);
    check(p);
    uint8_t got[6];
    sw__picker_get_priorities(p, got);
    assert_memory_equal(got, prio, 6);
    assert_int_equal(pick(p, A, NULL, 1, 0, out, 8), 1);
    assert_int_equal(out[0].piece, 5);

    /* Finished means every wanted piece: priority 0 pieces do not count. */
    uint8_t only_two[6] = {0, 0, 0, 1, 1, 0};
    assert_int_equal(sw__picker_set_priorities(p, only_two), 0);
    assert_false(sw__picker_is_finished(p));
    assert_int_equal(sw__picker_we_have(p, 3), 0);
    assert_int_equal(sw__picker_we_have(p, 4), 0);
    check(p);
    assert_true(sw__picker_is_finished(p));
    assert_false(sw__picker_is_seed(p));
    sw__picker_free(p);
}

static void test_sequential(void **state)
{
    (void)state;
    sw_picker *p = make(10, BS, 10 * BS, 9);
    for (int i = 0; i < 10; i++)
        for (int k = 0; k < 10 - i; k++)
            sw__picker_inc_have(p, i); /* high indices rarest */
    sw_picker_block out[10];
    int n = pick(p, A, NULL, 3, SW_PICK_SEQUENTIAL, out, 10);
    assert_int_equal(n, 3);
    for (int k = 0; k < 3; k++)
        assert_int_equal(out[k].piece, k);
    n = pick(p, A, NULL, 2, SW_PICK_SEQUENTIAL | SW_PICK_REVERSE, out, 10);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 9);
    assert_int_equal(out[1].piece, 8);

    /* Priority still comes first; pieces had are skipped. */
    assert_int_equal(sw__picker_set_piece_priority(p, 8, 7), 0);
    assert_int_equal(sw__picker_we_have(p, 0), 0);
    assert_int_equal(sw__picker_we_have(p, 2), 0);
    check(p);
    n = pick(p, A, NULL, 3, SW_PICK_SEQUENTIAL, out, 10);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].piece, 8);
    assert_int_equal(out[1].piece, 1);
    assert_int_equal(out[2].piece, 3);

    /* Peer's set respected. */
    uint8_t bits[2] = {0, 0};
    set_bit(bits, 5);
    set_bit(bits, 7);
    n = pick(p, B, bits, 5, SW_PICK_SEQUENTIAL, out, 10);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 5);
    assert_int_equal(out[1].piece, 7);

    /* Partial pieces in index order too. */
    sw_picker_block busy[2] = {blk(6, 0), blk(4, 0)};
    request_all(p, C, busy, 2, 0);
    assert_int_equal(sw__picker_set_piece_priority(p, 8, 1), 0);
    n = pick(p, B, NULL, 2, SW_PICK_SEQUENTIAL | SW_PICK_PRIORITIZE_PARTIALS, out, 10);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 1);
    assert_int_equal(out[1].piece, 3);
    sw__picker_free(p);

    /* Several blocks per piece: in sequential mode partial pieces go by
     * index, not by progress (piece 5 is further along than piece 2). */
    p = make(6, 4 * BS, 24 * BS, 10);
    sw_picker_block started[4] = {blk(5, 0), blk(5, 1), blk(5, 2), blk(2, 0)};
    request_all(p, C, started, 4, 0);
    n = pick(p, B, NULL, 2, SW_PICK_SEQUENTIAL | SW_PICK_PRIORITIZE_PARTIALS, out, 10);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 2);
    assert_int_equal(out[0].block, 1);
    assert_int_equal(out[1].piece, 2);
    assert_int_equal(out[1].block, 2);
    n = pick(p, B, NULL, 1, SW_PICK_SEQUENTIAL | SW_PICK_PRIORITIZE_PARTIALS | SW_PICK_REVERSE, out,
             10);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 5);
    n = pick(p, B, NULL, 1, SW_PICK_PRIORITIZE_PARTIALS, out, 10);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 5);
    assert_int_equal(out[0].block, 3);
    sw__picker_free(p);
    p = make(10, BS, 10 * BS, 9);
    for (int i = 0; i < 10; i++)
        for (int k = 0; k < 10 - i; k++)
            sw__picker_inc_have(p, i);

    /* Reverse rarest-first: most common first. */
    n = pick(p, B, NULL, 1, SW_PICK_REVERSE, out, 10);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 0);
    sw__picker_free(p);
}

static void test_partial_preference(void **state)
{
    (void)state;
    /* Four blocks per piece; piece 7 rarest, piece 0 most common. */
    sw_picker *p = make(8, 4 * BS, 32 * BS, 11);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8 - i; k++)
            sw__picker_inc_have(p, i);
    sw_picker_block first[2] = {blk(0, 0), blk(0, 1)};
    request_all(p, A, first, 2, 0);
    assert_int_equal(sw__picker_num_partial(p), 1);

    sw_picker_block out[8];
    int n = pick(p, B, NULL, 2, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 0);
    assert_int_equal(out[0].block, 2);
    assert_int_equal(out[1].piece, 0);
    assert_int_equal(out[1].block, 3);
    /* More than the partial holds: the rest comes from the rarest piece. */
    n = pick(p, B, NULL, 4, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 4);
    assert_int_equal(out[2].piece, 7);
    assert_int_equal(out[2].block, 0);

    /* Without the preference rarity wins. */
    n = pick(p, B, NULL, 2, 0, out, 8);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 7);

    /* Higher priority beats a partial piece. */
    assert_int_equal(sw__picker_set_piece_priority(p, 3, 2), 0);
    n = pick(p, B, NULL, 1, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 3);

    /* Of two partials, the one further along first. */
    assert_int_equal(sw__picker_set_piece_priority(p, 3, 1), 0);
    sw_picker_block more[3] = {blk(5, 0), blk(5, 1), blk(5, 2)};
    request_all(p, C, more, 3, 0);
    n = pick(p, B, NULL, 1, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 5);
    assert_int_equal(out[0].block, 3);
    sw__picker_free(p);
}

static void test_speed_affinity(void **state)
{
    (void)state;
    sw_picker *p = make(4, 4 * BS, 16 * BS, 13);
    sw_picker_block slow[2] = {blk(1, 0), blk(1, 1)};
    sw_picker_block fast[1] = {blk(2, 0)};
    request_all(p, A, slow, 2, SW_PICKER_SPEED_SLOW);
    request_all(p, B, fast, 1, SW_PICKER_SPEED_FAST);
    sw_picker_partial_info info;
    assert_int_equal(sw__picker_partial_info(p, 0, &info), 0);
    assert_int_equal(info.piece, 1);
    assert_int_equal(info.speed, SW_PICKER_SPEED_SLOW);
    assert_int_equal(info.requested, 2);
    assert_int_equal(info.blocks, 4);
    assert_int_equal(sw__picker_partial_info(p, 2, &info), SW_ERR_INVALID_ARG);

    sw_pick_params pp;
    sw__pick_params_init(&pp);
    pp.peer = C;
    pp.has_all = true;
    pp.num_blocks = 1;
    sw_picker_block out[4];
    int n = 0;
    pp.speed = SW_PICKER_SPEED_FAST;
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 2);
    pp.speed = SW_PICKER_SPEED_SLOW;
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), 0);
    assert_int_equal(out[0].piece, 1);
    pp.speed = SW_PICKER_SPEED_NONE; /* no class: the piece further along */
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), 0);
    assert_int_equal(out[0].piece, 1);
    sw__picker_free(p);
}

/* ---- end-game -------------------------------------------------------------- */

static void test_end_game(void **state)
{
    (void)state;
    /* Piece 2 is had only by C; A and B have pieces 0 and 1. */
    sw_picker *p = make(3, 2 * BS, 6 * BS, 17);
    uint8_t ab[1] = {0}, c_bits[1] = {0};
    set_bit(ab, 0);
    set_bit(ab, 1);
    set_bit(c_bits, 2);
    sw__picker_inc_bitfield(p, ab);
    sw__picker_inc_bitfield(p, ab);
    sw__picker_inc_bitfield(p, c_bits);

    sw_picker_block out[8];
    int n = pick(p, A, ab, 8, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 4);
    request_all(p, A, out, n, 0);
    assert_false(sw__picker_in_end_game(p)); /* piece 2 still free */

    /* Strict: B may not duplicate while a block is free anywhere. */
    assert_int_equal(pick(p, B, ab, 8, SW_PICK_PRIORITIZE_PARTIALS, out, 8), 0);
    /* Non-strict: B has nothing free to fetch, so it may. */
    n = pick(p, B, ab, 8, SW_PICK_NONSTRICT_END_GAME, out, 8);
    assert_int_equal(n, 4);

    n = pick(p, C, c_bits, 8, 0, out, 8);
    assert_int_equal(n, 2);
    request_all(p, C, out, n, 0);
    assert_true(sw__picker_in_end_game(p));

    /* End-game: B duplicates A's four blocks, once each. */
    n = pick(p, B, ab, 8, 0, out, 8);
    assert_int_equal(n, 4);
    for (int k = 0; k < n; k++)
        assert_true(out[k].piece < 2);
    request_all(p, B, out, n, 0);
    /* A never gets its own blocks back; with the cap at two a third peer
     * only gets C's blocks, which have one requester. */
    assert_int_equal(pick(p, A, ab, 8, 0, out, 8), 0);
    n = pick(p, PEER(3), NULL, 8, 0, out, 8);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].piece, 2);
    assert_int_equal(out[1].piece, 2);
    /* Raising the cap lets a third peer in, least-duplicated first: C's
     * piece 2 blocks have one requester. */
    sw_pick_params pp;
    sw__pick_params_init(&pp);
    pp.peer = PEER(3);
    pp.has_all = true;
    pp.num_blocks = 8;
    pp.max_requesters = 3;
    assert_int_equal(sw__picker_pick(p, &pp, out, 8, &n), 0);
    assert_int_equal(n, 6);
    assert_int_equal(out[0].piece, 2);
    assert_int_equal(out[1].piece, 2);
    request_all(p, PEER(3), out, n, 0);
    pp.max_requesters = 4;
    assert_int_equal(sw__picker_pick(p, &pp, out, 8, &n), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_mark_requested(p, blk(0, 0), PEER(4), 0), SW_ERR_LIMIT);
    assert_int_equal(sw__picker_mark_requested(p, blk(0, 0), A, 0), SW_ERR_EXISTS);

    /* B delivers block (0,0): A and peer 3 are to be cancelled. */
    void *others[SW_PICKER_MAX_REQUESTERS];
    int n_others = -1;
    assert_int_equal(sw__picker_mark_received(p, blk(0, 0), B, others, &n_others), 0);
    check(p);
    assert_int_equal(n_others, 2);
    assert_true((others[0] == A && others[1] == PEER(3)) ||
                (others[0] == PEER(3) && others[1] == A));
    void *req[SW_PICKER_MAX_REQUESTERS];
    int n_req = -1;
    assert_int_equal(sw__picker_requesters(p, blk(0, 0), req, &n_req), 0);
    assert_int_equal(n_req, 0);
    /* A's copy arrives anyway: a duplicate. */
    assert_int_equal(sw__picker_mark_received(p, blk(0, 0), A, others, &n_others), SW_ERR_EXISTS);
    assert_int_equal(n_others, 0);
    assert_int_equal(sw__picker_abort_request(p, blk(0, 0), A), SW_ERR_NOT_FOUND);
    assert_int_equal(sw__picker_requesters(p, blk(0, 1), req, &n_req), 0);
    assert_int_equal(n_req, 3);
    assert_int_equal(req[0], A);
    sw__picker_free(p);
}

/* ---- requests ------------------------------------------------------------ */

static void test_abort_requeue(void **state)
{
    (void)state;
    sw_picker *p = make(2, 3 * BS, 6 * BS, 19);
    sw_picker_block out[6];
    int n = pick(p, A, NULL, 3, 0, out, 6);
    assert_int_equal(n, 3);
    int piece = out[0].piece;
    request_all(p, A, out, n, 0);
    sw_picker_block_state st;
    int nreq = -1;
    assert_int_equal(sw__picker_block_state(p, blk(piece, 1), &st, &nreq), 0);
    assert_int_equal(st, SW_PICKER_BLOCK_REQUESTED);
    assert_int_equal(nreq, 1);

    /* Rejected: back to free and picked again (partial first). */
    assert_int_equal(sw__picker_abort_request(p, blk(piece, 1), A), 0);
    check(p);
    assert_int_equal(sw__picker_block_state(p, blk(piece, 1), &st, &nreq), 0);
    assert_int_equal(st, SW_PICKER_BLOCK_NONE);
    assert_int_equal(sw__picker_abort_request(p, blk(piece, 1), A), SW_ERR_NOT_FOUND);
    assert_int_equal(sw__picker_abort_request(p, blk(piece, 1), B), SW_ERR_NOT_FOUND);
    assert_int_equal(sw__picker_abort_request(p, blk(1 - piece, 0), A), SW_ERR_NOT_FOUND);
    n = pick(p, B, NULL, 1, SW_PICK_PRIORITIZE_PARTIALS, out, 6);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, piece);
    assert_int_equal(out[0].block, 1);

    /* A disconnects: all its requests go, the piece is no longer partial. */
    int aborted = -1;
    sw__picker_abort_peer(p, A, &aborted);
    check(p);
    assert_int_equal(aborted, 2);
    assert_int_equal(sw__picker_num_partial(p), 0);
    assert_int_equal(sw__picker_piece_state(p, piece), SW_PICKER_PIECE_NONE);

    /* Data from a peer whose request was aborted is still accepted. */
    request_all(p, A, &(sw_picker_block){piece, 0}, 1, 0);
    sw__picker_abort_peer(p, A, NULL);
    void *others[SW_PICKER_MAX_REQUESTERS];
    int n_others = -1;
    assert_int_equal(sw__picker_mark_received(p, blk(piece, 0), A, others, &n_others), 0);
    assert_int_equal(n_others, 0);
    assert_int_equal(sw__picker_mark_requested(p, blk(piece, 0), B, 0), SW_ERR_EXISTS);
    /* A failed write frees the block again. */
    assert_int_equal(sw__picker_mark_write_failed(p, blk(piece, 0)), 0);
    check(p);
    assert_int_equal(sw__picker_mark_write_failed(p, blk(piece, 0)), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_piece_state(p, piece), SW_PICKER_PIECE_NONE);

    /* Forgetting a peer clears it as a sender too. */
    assert_int_equal(sw__picker_mark_received(p, blk(piece, 2), A, others, &n_others), 0);
    void *senders[3] = {B, B, B};
    assert_int_equal(sw__picker_get_downloaders(p, piece, senders, 3), 0);
    assert_null(senders[0]);
    assert_ptr_equal(senders[2], A);
    sw__picker_forget_peer(p, A);
    check(p);
    assert_int_equal(sw__picker_get_downloaders(p, piece, senders, 3), 0);
    assert_null(senders[2]);
    /* Receiving needs no request; finishing a requested block does. */
    request_all(p, B, &(sw_picker_block){piece, 1}, 1, 0);
    assert_int_equal(sw__picker_mark_finished(p, blk(piece, 1), NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_mark_finished(p, blk(piece, 2), NULL), 0);
    assert_int_equal(sw__picker_mark_finished(p, blk(piece, 2), NULL), SW_ERR_EXISTS);
    check(p);
    sw__picker_free(p);
}

static void test_hash_failure(void **state)
{
    (void)state;
    sw_picker *p = make(2, 3 * BS, 6 * BS, 23);
    sw_picker_block mine[2] = {blk(0, 0), blk(0, 2)};
    request_all(p, A, mine, 2, 0);
    request_all(p, B, &(sw_picker_block){0, 1}, 1, 0);
    bool complete = false;
    assert_int_equal(sw__picker_piece_passed(p, 0), SW_ERR_INVALID_ARG);
    receive_and_write(p, blk(0, 0), A, &complete);
    receive_and_write(p, blk(0, 1), B, &complete);
    assert_int_equal(sw__picker_piece_failed(p, 0, NULL, 0, NULL), SW_ERR_INVALID_ARG);
    receive_and_write(p, blk(0, 2), A, &complete);
    assert_true(complete);

    void *peers[4] = {NULL, NULL, NULL, NULL};
    int n = -1;
    assert_int_equal(sw__picker_piece_failed(p, 0, peers, 1, &n), 0);
    check(p);
    assert_int_equal(n, 2); /* two distinct senders, room for one */
    assert_true(peers[0] == A || peers[0] == B);
    assert_null(peers[1]);
    assert_int_equal(sw__picker_piece_state(p, 0), SW_PICKER_PIECE_FAILED);
    assert_int_equal(sw__picker_piece_fail_count(p, 0), 1);
    assert_int_equal(sw__picker_piece_failed(p, 0, peers, 4, &n), SW_ERR_INVALID_ARG);

    /* Who sent what stays available while the piece is failed. */
    void *senders[3];
    assert_int_equal(sw__picker_get_downloaders(p, 0, senders, 3), 0);
    assert_ptr_equal(senders[0], A);
    assert_ptr_equal(senders[1], B);
    assert_ptr_equal(senders[2], A);

    /* Not picked, not requestable, late data is a duplicate. */
    sw_picker_block out[8];
    n = pick(p, C, NULL, 8, SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 3);
    for (int k = 0; k < n; k++)
        assert_int_equal(out[k].piece, 1);
    assert_int_equal(sw__picker_mark_requested(p, blk(0, 0), C, 0), SW_ERR_INVALID_ARG);
    void *others[SW_PICKER_MAX_REQUESTERS];
    int n_others;
    assert_int_equal(sw__picker_mark_received(p, blk(0, 0), C, others, &n_others), SW_ERR_EXISTS);
    assert_int_equal(sw__picker_piece_passed(p, 0), SW_ERR_INVALID_ARG);

    /* Restored: every block free and the piece picked again. */
    assert_int_equal(sw__picker_restore_piece(p, 0), 0);
    check(p);
    assert_int_equal(sw__picker_restore_piece(p, 0), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_piece_state(p, 0), SW_PICKER_PIECE_NONE);
    assert_int_equal(sw__picker_get_downloaders(p, 0, senders, 3), 0);
    assert_null(senders[0]);
    assert_null(senders[1]);
    assert_int_equal(sw__picker_set_piece_priority(p, 1, 0), 0);
    n = pick(p, C, NULL, 8, 0, out, 8);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].piece, 0);

    /* The second attempt passes; the fail count remains. */
    request_all(p, C, out, n, 0);
    download_piece(p, 0, C);
    assert_int_equal(sw__picker_piece_fail_count(p, 0), 1);
    assert_true(sw__picker_have(p, 0));
    assert_true(sw__picker_is_finished(p));
    sw__picker_free(p);
}

/* ---- availability -------------------------------------------------------- */

static void test_have_all_have_none(void **state)
{
    (void)state;
    sw_picker *p = make(4, BS, 4 * BS, 29);
    sw__picker_inc_have_all(p);
    sw__picker_inc_have_all(p);
    assert_int_equal(sw__picker_num_seeds(p), 2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sw__picker_availability(p, i), 2);
    assert_int_equal(sw__picker_availability(p, 4), 0);
    /* A HAVE NONE peer adds nothing; its later HAVEs count one by one. */
    for (int i = 0; i < 4; i++)
        if (i != 2)
            assert_int_equal(sw__picker_inc_have(p, i), 0);
    assert_int_equal(sw__picker_availability(p, 2), 2);
    assert_int_equal(sw__picker_availability(p, 0), 3);
    sw_picker_block out[4];
    assert_int_equal(pick(p, A, NULL, 1, 0, out, 4), 1);
    assert_int_equal(out[0].piece, 2);

    assert_int_equal(sw__picker_dec_have_all(p), 0);
    assert_int_equal(sw__picker_dec_have_all(p), 0);
    assert_int_equal(sw__picker_dec_have_all(p), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_num_seeds(p), 0);
    assert_int_equal(sw__picker_availability(p, 0), 1);
    assert_int_equal(sw__picker_availability(p, 2), 0);
    check(p);
    sw__picker_free(p);
}

static void test_peer_leaving(void **state)
{
    (void)state;
    /* 10 pieces: two bitfield bytes whose spare bits are set and ignored. */
    sw_picker *p = make(10, BS, 10 * BS, 31);
    uint8_t x[2] = {0xF0, 0xFF}; /* pieces 0-3, 8, 9 + spare bits */
    uint8_t y[2] = {0x0F, 0x00}; /* pieces 4-7 */
    uint8_t z[2] = {0xFF, 0xC0}; /* all ten */
    assert_int_equal(sw__picker_inc_bitfield(p, x), 0);
    assert_int_equal(sw__picker_inc_bitfield(p, y), 0);
    assert_int_equal(sw__picker_inc_bitfield(p, z), 0);
    assert_int_equal(sw__picker_availability(p, 0), 2);
    assert_int_equal(sw__picker_availability(p, 4), 2);
    assert_int_equal(sw__picker_availability(p, 9), 2);
    sw_picker_block out[10];
    assert_int_equal(pick(p, A, NULL, 10, 0, out, 10), 10);

    /* y leaves: pieces 4-7 become the rarest. */
    assert_int_equal(sw__picker_dec_bitfield(p, y), 0);
    check(p);
    assert_int_equal(sw__picker_availability(p, 4), 1);
    assert_int_equal(sw__picker_availability(p, 0), 2);
    int n = pick(p, A, NULL, 4, 0, out, 10);
    assert_int_equal(n, 4);
    for (int k = 0; k < 4; k++)
        assert_true(out[k].piece >= 4 && out[k].piece <= 7);

    assert_int_equal(sw__picker_dec_bitfield(p, x), 0);
    assert_int_equal(sw__picker_dec_bitfield(p, z), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(sw__picker_availability(p, i), 0);
    /* A leave that would take a count below zero is refused as a whole. */
    assert_int_equal(sw__picker_inc_bitfield(p, x), 0);
    assert_int_equal(sw__picker_dec_bitfield(p, z), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_availability(p, 0), 1);
    assert_int_equal(sw__picker_availability(p, 9), 1);
    assert_int_equal(sw__picker_availability(p, 4), 0);
    assert_int_equal(sw__picker_inc_bitfield(p, NULL), SW_ERR_INVALID_ARG);
    check(p);
    sw__picker_free(p);
}

/* ---- accounting ---------------------------------------------------------- */

static void test_progress_accounting(void **state)
{
    (void)state;
    /* Pieces of 40000 bytes (blocks 16384, 16384, 7232), last piece 20000
     * (16384 + 3616); piece 1 not wanted. */
    sw_picker *p = make(3, 40000, 100000, 37);
    assert_int_equal(sw__picker_set_piece_priority(p, 1, 0), 0);
    sw_picker_progress pr;
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.total_bytes, 100000);
    assert_int_equal(pr.wanted_bytes, 60000);
    assert_int_equal(pr.have_bytes, 0);
    assert_int_equal(pr.done_bytes, 0);
    assert_int_equal(pr.wanted_done_bytes, 0);

    bool complete;
    receive_and_write(p, blk(0, 0), A, &complete);
    receive_and_write(p, blk(0, 2), A, &complete);
    receive_and_write(p, blk(1, 0), A, &complete); /* unwanted piece */
    void *others[SW_PICKER_MAX_REQUESTERS];
    int n_others;
    assert_int_equal(sw__picker_mark_received(p, blk(2, 1), A, others, &n_others), 0);
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.done_bytes, 16384 + 7232 + 16384); /* writing not counted */
    assert_int_equal(pr.wanted_done_bytes, 16384 + 7232);
    assert_int_equal(sw__picker_mark_finished(p, blk(2, 1), &complete), 0);
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.wanted_done_bytes, 16384 + 7232 + 3616);

    receive_and_write(p, blk(2, 0), A, &complete);
    assert_true(complete);
    assert_int_equal(sw__picker_piece_passed(p, 2), 0);
    check(p);
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.have_bytes, 20000);
    assert_int_equal(pr.wanted_have_bytes, 20000);
    assert_int_equal(pr.wanted_done_bytes, 20000 + 16384 + 7232);
    assert_int_equal(pr.done_bytes, 20000 + 16384 + 7232 + 16384);
    assert_false(sw__picker_is_finished(p));

    receive_and_write(p, blk(0, 1), A, &complete);
    assert_true(complete);
    assert_int_equal(sw__picker_piece_passed(p, 0), 0);
    check(p);
    assert_true(sw__picker_is_finished(p));
    assert_false(sw__picker_is_seed(p));
    assert_int_equal(sw__picker_num_have(p), 2);
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.wanted_have_bytes, 60000);
    assert_int_equal(pr.wanted_done_bytes, 60000);
    assert_int_equal(pr.have_bytes, 60000);
    assert_int_equal(pr.done_bytes, 60000 + 16384);
    sw__picker_free(p);
}

static void test_last_piece_short_blocks(void **state)
{
    (void)state;
    /* Last piece: one full block and 1 byte. */
    sw_picker *p = make(3, 4 * BS, 8 * BS + BS + 1, 41);
    assert_int_equal(sw__picker_set_piece_priority(p, 0, 0), 0);
    assert_int_equal(sw__picker_set_piece_priority(p, 1, 0), 0);
    sw_picker_block out[8];
    int n = pick(p, A, NULL, 8, 0, out, 8);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].piece, 2);
    assert_int_equal(sw__picker_block_size(p, out[1]), 1);
    request_all(p, A, out, n, 0);
    download_piece(p, 2, A);
    sw_picker_progress pr;
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.have_bytes, BS + 1);
    assert_int_equal(pr.wanted_bytes, BS + 1);
    assert_true(sw__picker_is_finished(p));
    sw__picker_free(p);
}

static void test_whole_pieces(void **state)
{
    (void)state;
    sw_picker *p = make(4, 4 * BS, 16 * BS, 43);
    request_all(p, A, &(sw_picker_block){0, 0}, 1, 0);
    sw_picker_block out[8];
    /* B may not join A's piece: a whole new piece, past num_blocks. */
    int n = pick(p, B, NULL, 1, SW_PICK_WHOLE_PIECES | SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 4);
    for (int k = 0; k < 4; k++) {
        assert_int_not_equal(out[k].piece, 0);
        assert_int_equal(out[k].piece, out[0].piece);
        assert_int_equal(out[k].block, k);
    }
    /* Same without partial preference (inline partial handling). */
    n = pick(p, B, NULL, 1, SW_PICK_WHOLE_PIECES, out, 8);
    assert_int_equal(n, 4);
    assert_int_not_equal(out[0].piece, 0);
    /* A finishes its own piece. */
    n = pick(p, A, NULL, 1, SW_PICK_WHOLE_PIECES | SW_PICK_PRIORITIZE_PARTIALS, out, 8);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].piece, 0);
    assert_int_equal(out[0].block, 1);
    /* max_out still bounds the answer. */
    n = pick(p, B, NULL, 1, SW_PICK_WHOLE_PIECES, out, 2);
    assert_int_equal(n, 2);
    sw__picker_free(p);
}

/* ---- file priorities ------------------------------------------------------- */

static void test_file_priorities(void **state)
{
    (void)state;
    /* 5 pieces of 100 bytes. */
    sw_picker_file_range files[] = {
        {.offset = 0, .size = 150, .priority = 1},
        {.offset = 150, .size = 10, .priority = 7, .pad = true},
        {.offset = 160, .size = 0, .priority = 7},   /* empty */
        {.offset = 160, .size = 140, .priority = 4}, /* pieces 1-2 */
        {.offset = 300, .size = 150, .priority = 0}, /* pieces 3-4 */
        {.offset = 450, .size = 30, .priority = 5, .pad = true},
        {.offset = 480, .size = 20, .priority = 2},
    };
    uint8_t prio[5];
    assert_int_equal(sw__picker_file_priorities(files, 7, 100, 5, prio), 0);
    uint8_t expect[5] = {1, 4, 4, 0, 2};
    assert_memory_equal(prio, expect, 5);

    /* A piece of padding only stays unwanted. */
    sw_picker_file_range padded[] = {
        {.offset = 0, .size = 100, .priority = 3},
        {.offset = 100, .size = 100, .priority = 3, .pad = true},
        {.offset = 200, .size = 50, .priority = 6},
    };
    uint8_t three[3];
    assert_int_equal(sw__picker_file_priorities(padded, 3, 100, 3, three), 0);
    assert_int_equal(three[0], 3);
    assert_int_equal(three[1], 0);
    assert_int_equal(three[2], 6);

    /* Bad input leaves the output alone. */
    memset(prio, 0xAA, sizeof prio);
    sw_picker_file_range bad_prio = {.offset = 0, .size = 10, .priority = 8};
    sw_picker_file_range bad_size = {.offset = 0, .size = -1, .priority = 1};
    sw_picker_file_range past_end = {.offset = 450, .size = 51, .priority = 1};
    sw_picker_file_range neg_off = {.offset = -1, .size = 1, .priority = 1};
    assert_int_equal(sw__picker_file_priorities(&bad_prio, 1, 100, 5, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_file_priorities(&bad_size, 1, 100, 5, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_file_priorities(&past_end, 1, 100, 5, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_file_priorities(&neg_off, 1, 100, 5, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_file_priorities(NULL, 1, 100, 5, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_file_priorities(files, 7, 0, 5, prio), SW_ERR_INVALID_ARG);
    assert_int_equal(prio[0], 0xAA);
    assert_int_equal(sw__picker_file_priorities(NULL, 0, 100, 5, prio), 0);
    assert_int_equal(prio[0], 0);

    /* Applied to a picker. */
    sw_picker *p = make(5, 100, 500, 47);
    assert_int_equal(sw__picker_file_priorities(files, 7, 100, 5, prio), 0);
    assert_int_equal(sw__picker_set_priorities(p, prio), 0);
    check(p);
    assert_int_equal(sw__picker_num_wanted(p), 4);
    sw_picker_progress pr;
    sw__picker_progress(p, &pr);
    assert_int_equal(pr.wanted_bytes, 400);
    sw__picker_free(p);
}

/* ---- resume and have ------------------------------------------------------- */

static void test_resume_we_have(void **state)
{
    (void)state;
    sw_picker *p = make(10, 2 * BS, 20 * BS, 53);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sw__picker_we_have(p, i), 0);
    assert_int_equal(sw__picker_we_have(p, 2), 0); /* idempotent */
    /* A partial piece from resume data: block 0 of piece 6 is written. */
    bool complete = true;
    assert_int_equal(sw__picker_mark_finished(p, blk(6, 0), &complete), 0);
    assert_false(complete);
    check(p);
    assert_int_equal(sw__picker_num_have(p), 5);
    assert_int_equal(sw__picker_piece_state(p, 6), SW_PICKER_PIECE_DOWNLOADING);
    sw_picker_block out[4];
    int n = pick(p, A, NULL, 3, SW_PICK_SEQUENTIAL | SW_PICK_PRIORITIZE_PARTIALS, out, 4);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].piece, 6); /* the partial first */
    assert_int_equal(out[0].block, 1);
    assert_int_equal(out[1].piece, 5);
    assert_int_equal(out[2].piece, 5);

    /* we_have on a downloading piece drops its requests and record. */
    request_all(p, A, out, n, 0);
    assert_int_equal(sw__picker_we_have(p, 5), 0);
    check(p);
    assert_int_equal(sw__picker_piece_state(p, 5), SW_PICKER_PIECE_HAVE);
    assert_int_equal(sw__picker_num_partial(p), 1);
    sw_picker_block_state st;
    assert_int_equal(sw__picker_block_state(p, blk(5, 0), &st, NULL), 0);
    assert_int_equal(st, SW_PICKER_BLOCK_FINISHED);
    assert_int_equal(sw__picker_mark_requested(p, blk(5, 0), A, 0), SW_ERR_INVALID_ARG);

    /* A recheck found piece 1 bad. */
    assert_int_equal(sw__picker_we_dont_have(p, 1), 0);
    check(p);
    n = pick(p, A, NULL, 1, SW_PICK_SEQUENTIAL, out, 4);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].piece, 1);
    assert_int_equal(sw__picker_num_have(p), 5);
    sw__picker_free(p);
}

/* ---- misuse -------------------------------------------------------------- */

static bool has_even(const void *ctx, int piece)
{
    (void)ctx;
    return piece % 2 == 0;
}

static void test_bad_arguments(void **state)
{
    (void)state;
    sw_picker *p = make(4, BS, 4 * BS, 59);
    assert_int_equal(sw__picker_inc_have(p, -1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_inc_have(p, 4), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_mark_requested(p, blk(0, 1), A, 0), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_mark_requested(p, blk(0, 0), NULL, 0), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_mark_finished(p, blk(4, 0), NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_we_have(p, 4), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_piece_passed(p, -3), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_restore_piece(p, 9), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_get_downloaders(p, 4, NULL, 0), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_block_state(p, blk(0, -1), NULL, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__picker_piece_state(p, 99), SW_PICKER_PIECE_NONE);
    assert_false(sw__picker_have(p, -1));
    assert_false(sw__picker_is_wanted(p, 4));

    sw_pick_params pp;
    sw__pick_params_init(&pp);
    sw_picker_block out[4];
    int n;
    pp.num_blocks = 2;
    pp.has_all = true;
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), SW_ERR_INVALID_ARG); /* no peer */
    pp.peer = A;
    pp.has_all = false;
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), SW_ERR_INVALID_ARG); /* no set */
    pp.has_fn = has_even;
    pp.max_requesters = 0;
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), SW_ERR_INVALID_ARG);
    pp.max_requesters = 1;
    pp.num_blocks = 4;
    assert_int_equal(sw__picker_pick(p, &pp, out, 4, &n), 0);
    assert_int_equal(n, 2); /* the predicate is honoured */
    for (int k = 0; k < n; k++)
        assert_int_equal(out[k].piece % 2, 0);
    assert_int_equal(sw__picker_pick(p, &pp, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    check(p);
    sw__picker_free(p);
}

/* ---- randomized model check ---------------------------------------------- */

#define SIM_PIECES 150
#define SIM_PEERS 6

typedef struct sim_peer {
    uint8_t bits[(SIM_PIECES + 7) / 8];
    bool joined;
    bool seed;
} sim_peer;

static uint64_t sim_rng = 0x1234567;

static uint32_t sim_rand(uint32_t n)
{
    sim_rng ^= sim_rng << 13;
    sim_rng ^= sim_rng >> 7;
    sim_rng ^= sim_rng << 17;
    return (uint32_t)(sim_rng % n);
}

static bool sim_has(const sim_peer *sp, int i)
{
    return sp->seed || ((sp->bits[i / 8] >> (7 - i % 8)) & 1);
}

/* Checks a pick's answer against the picker's own queries: distinct blocks,
 * of wanted pieces the peer has, free (or a valid duplicate in end-game),
 * and, for a plain rarest-first pick, the first block's piece is the best
 * (priority, availability) candidate. */
static void verify_pick(const sw_picker *p, const sim_peer *sp, void *peer, unsigned flags,
                        const sw_picker_block *out, int n, bool was_end_game)
{
    bool any_dup = false;
    for (int k = 0; k < n; k++) {
        for (int j = 0; j < k; j++)
            assert_false(out[j].piece == out[k].piece && out[j].block == out[k].block);
        assert_true(sw__picker_is_wanted(p, out[k].piece));
        assert_true(sim_has(sp, out[k].piece));
        sw_picker_piece_state ps = sw__picker_piece_state(p, out[k].piece);
        assert_true(ps == SW_PICKER_PIECE_NONE || ps == SW_PICKER_PIECE_DOWNLOADING);
        sw_picker_block_state st;
        int nreq;
        assert_int_equal(sw__picker_block_state(p, out[k], &st, &nreq), 0);
        if (st == SW_PICKER_BLOCK_REQUESTED) {
            any_dup = true;
            assert_true(nreq < SW_PICKER_DEFAULT_MAX_REQUESTERS);
            void *req[SW_PICKER_MAX_REQUESTERS];
            int nr;
            sw__picker_requesters(p, out[k], req, &nr);
            for (int r = 0; r < nr; r++)
                assert_ptr_not_equal(req[r], peer);
        } else {
            assert_int_equal(st, SW_PICKER_BLOCK_NONE);
        }
    }
    if (any_dup)
        assert_true(was_end_game);
    if (n == 0 || any_dup || (flags & ~SW_PICK_NONSTRICT_END_GAME) != 0)
        return;
    int best_prio = -1;
    uint32_t best_avail = UINT32_MAX;
    for (int i = 0; i < sw__picker_num_pieces(p); i++) {
        if (!sw__picker_is_wanted(p, i) || !sim_has(sp, i))
            continue;
        sw_picker_piece_state ps = sw__picker_piece_state(p, i);
        if (ps != SW_PICKER_PIECE_NONE && ps != SW_PICKER_PIECE_DOWNLOADING)
            continue;
        bool free_block = false;
        for (int j = 0; j < sw__picker_blocks_in_piece(p, i) && !free_block; j++) {
            sw_picker_block_state st;
            sw__picker_block_state(p, blk(i, j), &st, NULL);
            free_block = st == SW_PICKER_BLOCK_NONE;
        }
        if (!free_block)
            continue;
        int prio = sw__picker_piece_priority(p, i);
        uint32_t avail = sw__picker_availability(p, i);
        if (prio > best_prio || (prio == best_prio && avail < best_avail)) {
            best_prio = prio;
            best_avail = avail;
        }
    }
    assert_int_equal(sw__picker_piece_priority(p, out[0].piece), best_prio);
    assert_int_equal(sw__picker_availability(p, out[0].piece), best_avail);
}

static void test_randomized_model(void **state)
{
    (void)state;
    /* 3 blocks per piece, short last piece. */
    sw_picker *p =
        make(SIM_PIECES, 3 * BS - 100, (int64_t)(SIM_PIECES - 1) * (3 * BS - 100) + 5000, 61);
    sim_peer peers[SIM_PEERS];
    memset(peers, 0, sizeof peers);
    unsigned flag_sets[] = {0,
                            SW_PICK_PRIORITIZE_PARTIALS,
                            SW_PICK_SEQUENTIAL | SW_PICK_PRIORITIZE_PARTIALS,
                            SW_PICK_REVERSE,
                            SW_PICK_WHOLE_PIECES,
                            SW_PICK_NONSTRICT_END_GAME};
    int picks = 0, dup_picks = 0, passes = 0;
    for (int step = 0; step < 6000; step++) {
        int who = (int)sim_rand(SIM_PEERS);
        sim_peer *sp = &peers[who];
        void *peer = PEER(who);
        uint32_t op = sim_rand(100);
        if (!sp->joined) {
            sp->seed = sim_rand(4) == 0;
            if (sp->seed) {
                sw__picker_inc_have_all(p);
            } else {
                memset(sp->bits, 0, sizeof sp->bits);
                for (int i = 0; i < SIM_PIECES; i++)
                    if (sim_rand(3) == 0)
                        set_bit(sp->bits, i);
                assert_int_equal(sw__picker_inc_bitfield(p, sp->bits), 0);
            }
            sp->joined = true;
        } else if (op < 3) { /* leaves */
            sw__picker_abort_peer(p, peer, NULL);
            if (sp->seed)
                assert_int_equal(sw__picker_dec_have_all(p), 0);
            else
                assert_int_equal(sw__picker_dec_bitfield(p, sp->bits), 0);
            sp->joined = false;
        } else if (op < 10) { /* HAVE */
            int i = (int)sim_rand(SIM_PIECES);
            if (!sp->seed && !sim_has(sp, i)) {
                set_bit(sp->bits, i);
                assert_int_equal(sw__picker_inc_have(p, i), 0);
            }
        } else if (op < 40) { /* pick and request */
            sw_picker_block out[12];
            unsigned flags = flag_sets[sim_rand(6)];
            sw_pick_params pp;
            sw__pick_params_init(&pp);
            pp.peer = peer;
            pp.has_all = sp->seed;
            pp.bits = sp->bits;
            pp.num_blocks = 1 + (int)sim_rand(6);
            pp.flags = flags;
            pp.speed = (int)sim_rand(4);
            bool eg = sw__picker_in_end_game(p);
            int n = -1;
            assert_int_equal(sw__picker_pick(p, &pp, out, 12, &n), 0);
            check(p);
            verify_pick(p, sp, peer, flags, out, n, eg || (flags & SW_PICK_NONSTRICT_END_GAME));
            for (int k = 0; k < n; k++) {
                sw_picker_block_state st;
                sw__picker_block_state(p, out[k], &st, NULL);
                dup_picks += st == SW_PICKER_BLOCK_REQUESTED;
                assert_int_equal(sw__picker_mark_requested(p, out[k], peer, pp.speed), 0);
            }
            picks++;
        } else if (op < 75) { /* a requested block arrives and is written */
            if (sw__picker_num_partial(p) == 0)
                continue;
            sw_picker_partial_info info;
            sw__picker_partial_info(p, (int)sim_rand((uint32_t)sw__picker_num_partial(p)), &info);
            int j = (int)sim_rand((uint32_t)info.blocks);
            void *req[SW_PICKER_MAX_REQUESTERS];
            int nr;
            sw__picker_requesters(p, blk(info.piece, j), req, &nr);
            if (nr == 0)
                continue;
            void *others[SW_PICKER_MAX_REQUESTERS];
            int no;
            assert_int_equal(sw__picker_mark_received(p, blk(info.piece, j), req[0], others, &no),
                             0);
            assert_int_equal(no, nr - 1);
            check(p);
            if (sim_rand(10) == 0) {
                assert_int_equal(sw__picker_mark_write_failed(p, blk(info.piece, j)), 0);
            } else {
                bool complete = false;
                assert_int_equal(sw__picker_mark_finished(p, blk(info.piece, j), &complete), 0);
                if (complete) {
                    if (sim_rand(8) == 0) {
                        int ns;
                        assert_int_equal(sw__picker_piece_failed(p, info.piece, NULL, 0, &ns), 0);
                        assert_true(ns >= 1);
                        check(p);
                        assert_int_equal(sw__picker_restore_piece(p, info.piece), 0);
                    } else {
                        assert_int_equal(sw__picker_piece_passed(p, info.piece), 0);
                        passes++;
                    }
                }
            }
        } else if (op < 85) { /* a request is rejected */
            if (sw__picker_num_partial(p) == 0)
                continue;
            sw_picker_partial_info info;
            sw__picker_partial_info(p, (int)sim_rand((uint32_t)sw__picker_num_partial(p)), &info);
            int j = (int)sim_rand((uint32_t)info.blocks);
            void *req[SW_PICKER_MAX_REQUESTERS];
            int nr;
            sw__picker_requesters(p, blk(info.piece, j), req, &nr);
            if (nr > 0)
                assert_int_equal(sw__picker_abort_request(p, blk(info.piece, j), req[nr - 1]), 0);
        } else if (op < 93) { /* priority change */
            assert_int_equal(
                sw__picker_set_piece_priority(p, (int)sim_rand(SIM_PIECES), (int)sim_rand(8)), 0);
        } else if (op < 95) { /* file-priority style bulk change */
            uint8_t prio[SIM_PIECES];
            for (int i = 0; i < SIM_PIECES; i++)
                prio[i] = (uint8_t)(sim_rand(5) == 0 ? 0 : 1 + sim_rand(7));
            assert_int_equal(sw__picker_set_priorities(p, prio), 0);
        } else if (op < 97) { /* recheck: lose a piece */
            assert_int_equal(sw__picker_we_dont_have(p, (int)sim_rand(SIM_PIECES)), 0);
        } else {
            assert_int_equal(sw__picker_we_have(p, (int)sim_rand(SIM_PIECES)), 0);
        }
        check(p);
    }
    /* The walk reached the interesting states. */
    assert_true(picks > 1000);
    assert_true(passes > 10);
    assert_true(dup_picks > 0);
    sw__picker_free(p);
}

/* ---- scale sanity -------------------------------------------------------- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_large_torrent(void **state)
{
    (void)state;
    /* 100,000 pieces of 256 KiB, 40 peers with random halves, 2 seeds. */
    enum { N = 100000, PEERS = 40 };
    sw_picker *p = make(N, 16 * BS, (int64_t)N * 16 * BS, 67);
    static uint8_t bits[PEERS][(N + 7) / 8];
    uint64_t r = 99;
    for (int k = 0; k < PEERS; k++) {
        for (size_t j = 0; j < sizeof bits[k]; j++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            bits[k][j] = (uint8_t)(r >> 56);
        }
        assert_int_equal(sw__picker_inc_bitfield(p, bits[k]), 0);
    }
    sw__picker_inc_have_all(p);
    sw__picker_inc_have_all(p);
    sw_picker_block out[64];
    double t0 = now_sec();
    int n = pick(p, A, NULL, 16, 0, out, 64); /* includes the order rebuild */
    double t_first = now_sec() - t0;
    assert_int_equal(n, 16);

    enum { ROUNDS = 2000 };
    t0 = now_sec();
    int total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int k = round % PEERS;
        sw_pick_params pp;
        sw__pick_params_init(&pp);
        pp.peer = PEER(1 + k % 15);
        pp.bits = bits[k];
        pp.num_blocks = 8;
        assert_int_equal(sw__picker_pick(p, &pp, out, 64, &n), 0);
        for (int j = 0; j < n; j++)
            assert_int_equal(sw__picker_mark_requested(p, out[j], pp.peer, 0), 0);
        total += n;
        if (round % 100 == 0) /* HAVEs keep arriving */
            assert_int_equal(sw__picker_inc_have(p, round * 7 % N), 0);
    }
    double t_picks = now_sec() - t0;
    assert_int_equal(total, ROUNDS * 8);
    check(p);
    print_message("picker 100k pieces: first pick (rebuild) %.2f ms, %.1f us per 8-block pick "
                  "with %d partial pieces\n",
                  t_first * 1e3, t_picks / ROUNDS * 1e6, sw__picker_num_partial(p));
    sw__picker_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_one_piece_torrent),
        cmocka_unit_test(test_rarest_first),
        cmocka_unit_test(test_random_tie_break),
        cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_partial_preference),
        cmocka_unit_test(test_speed_affinity),
        cmocka_unit_test(test_end_game),
        cmocka_unit_test(test_abort_requeue),
        cmocka_unit_test(test_hash_failure),
        cmocka_unit_test(test_have_all_have_none),
        cmocka_unit_test(test_peer_leaving),
        cmocka_unit_test(test_progress_accounting),
        cmocka_unit_test(test_last_piece_short_blocks),
        cmocka_unit_test(test_whole_pieces),
        cmocka_unit_test(test_file_priorities),
        cmocka_unit_test(test_resume_we_have),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_randomized_model),
        cmocka_unit_test(test_large_torrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
