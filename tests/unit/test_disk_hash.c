/* core/disk: piece hashing off the loop thread. Single-pass hashing when
 * blocks arrive in order, out of order (kept until the gap fills) and with
 * several workers writing one piece at once; read-back when blocks were not
 * kept; pass/fail against the torrent's hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "disk_fixture.h"

typedef struct env_torrent {
    fx_env e;
    fx_torrent t;
    sw_storage *st;
} env_torrent;

static void setup_et(env_torrent *et, int threads, int64_t max_pending, const fx_file *files,
                     int nfiles, int piece_length)
{
    assert_int_equal(fx_make_torrent(&et->t, "h", files, nfiles, piece_length, 17, false), 0);
    assert_int_equal(fx_env_init(&et->e, threads, 0, max_pending), 0);
    assert_int_equal(
        sw__disk_storage_new(et->e.pool, et->t.ti, et->e.dir, SW_STORAGE_SPARSE, &et->st), 0);
}

static void teardown_et(env_torrent *et)
{
    sw__disk_storage_unref(et->st);
    assert_true(fx_env_done(&et->e));
    fx_torrent_free(&et->t);
}

static const fx_file k_files[] = {
    {"a.bin", 300000, false},
    {"b.bin", 123457, false},
    {"c/d.bin", 700001, false},
};

static void hashing_in_order(int order, int threads, int64_t max_pending, bool expect_read_back)
{
    env_torrent et;
    setup_et(&et, threads, max_pending, k_files, 3, 1 << 17);
    int npieces = sw_torrent_info_num_pieces(et.t.ti);
    assert_int_equal(fx_write_all(&et.e, et.st, &et.t, 16384, order, 99), 0);
    assert_int_equal(fx_hash_all(&et.e, et.st, &et.t), npieces);
    sw_disk_stats s;
    sw__disk_pool_stats(et.e.pool, &s);
    assert_int_equal(s.hash_jobs, npieces);
    assert_int_equal(s.hash_failures, 0);
    assert_int_equal(s.pending_bytes, 0);
    if (expect_read_back) {
        assert_true(s.bytes_hashed_read_back > 0);
    } else {
        assert_int_equal(s.bytes_hashed_read_back, 0);
        assert_int_equal(s.bytes_hashed_incremental, et.t.total);
    }
    teardown_et(&et);
}

static void test_in_order_single_pass(void **state)
{
    (void)state;
    hashing_in_order(0, 1, 0, false);
}

static void test_reverse_order_kept_until_gap_fills(void **state)
{
    (void)state;
    hashing_in_order(1, 1, 0, false);
}

static void test_shuffled_several_workers(void **state)
{
    (void)state;
    /* Four workers write blocks of the same pieces at once. */
    for (int round = 0; round < 3; round++)
        hashing_in_order(2, 4, 0, false);
}

static void test_no_budget_reads_back(void **state)
{
    (void)state;
    /* Nothing may be kept: out-of-order blocks are read back from disk. */
    hashing_in_order(1, 2, -1, true);
    hashing_in_order(2, 4, -1, true);
}

static void test_small_budget_mixes_both(void **state)
{
    (void)state;
    hashing_in_order(2, 3, 40000, true);
}

static void write_sync(env_torrent *et, int piece, int64_t off, const uint8_t *data, size_t len)
{
    fx_result r = {0};
    assert_int_equal(sw__disk_write(et->st, piece, off, fx_dup(data, len), len, fx_capture_cb, &r),
                     0);
    assert_true(fx_wait_one(&et->e, &r));
    assert_int_equal(r.error, 0);
    fx_result_clear(&r);
}

static fx_result hash_sync(env_torrent *et, int piece)
{
    fx_result r = {0};
    assert_int_equal(sw__disk_hash(et->st, piece, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(&et->e, &r));
    assert_int_equal(r.error, 0);
    return r;
}

static void test_fail_then_pass_after_rewrite(void **state)
{
    (void)state;
    env_torrent et;
    setup_et(&et, 2, 0, k_files, 3, 1 << 17);
    const int plen = 1 << 17;
    uint8_t *piece = fx_dup(et.t.data + plen, plen);
    piece[5000] ^= 0x40; /* one bad byte from a bad peer */
    for (int off = 0; off < plen; off += 16384)
        write_sync(&et, 1, off, piece + off, 16384);
    fx_result r = hash_sync(&et, 1);
    assert_false(r.passed);
    assert_int_equal(r.read_back, 0);
    fx_result_clear(&r);

    /* The piece is downloaded again; the old incremental state is gone. */
    for (int off = 0; off < plen; off += 16384)
        write_sync(&et, 1, off, et.t.data + plen + off, 16384);
    r = hash_sync(&et, 1);
    assert_true(r.passed);
    assert_int_equal(r.read_back, 0);
    fx_result_clear(&r);
    free(piece);
    teardown_et(&et);
}

static void test_duplicate_block_forces_read_back(void **state)
{
    (void)state;
    env_torrent et;
    setup_et(&et, 1, 0, k_files, 3, 1 << 17);
    const int plen = 1 << 17;
    const uint8_t *d = et.t.data + 2 * plen;
    write_sync(&et, 2, 0, d, 16384);
    write_sync(&et, 2, 16384, d + 16384, 16384);
    write_sync(&et, 2, 0, d, 16384);           /* again (end-game duplicate) */
    write_sync(&et, 2, 8192, d + 8192, 16384); /* overlapping, not block-aligned */
    for (int off = 32768; off < plen; off += 16384)
        write_sync(&et, 2, off, d + off, 16384);
    fx_result r = hash_sync(&et, 2);
    assert_true(r.passed);
    assert_int_equal(r.read_back, plen);
    fx_result_clear(&r);
    teardown_et(&et);
}

static void test_unwritten_piece_fails_without_error(void **state)
{
    (void)state;
    env_torrent et;
    setup_et(&et, 1, 0, k_files, 3, 1 << 17);
    fx_result r = hash_sync(&et, 0); /* no file at all */
    assert_false(r.passed);
    fx_result_clear(&r);
    /* Half of a piece written: the rest is a hole of zeros. */
    write_sync(&et, 3, 0, et.t.data + 3 * (1 << 17), 16384);
    r = hash_sync(&et, 3);
    assert_false(r.passed);
    fx_result_clear(&r);
    teardown_et(&et);
}

static void test_pad_tail_needs_no_read_back(void **state)
{
    (void)state;
    /* The pad file fills the rest of piece 0 from a block boundary, so the
     * engine never writes it: the hash covers it as zeros. */
    const fx_file files[] = {
        {"x.bin", 16384 * 3, false},
        {".pad/x", 16384 * 5, true},
        {"y.bin", 1000, false},
    };
    env_torrent et;
    setup_et(&et, 2, 0, files, 3, 16384 * 8);
    for (int off = 0; off < 16384 * 3; off += 16384)
        write_sync(&et, 0, off, et.t.data + off, 16384);
    write_sync(&et, 1, 0, et.t.data + 16384 * 8, 1000);
    fx_result r = hash_sync(&et, 0);
    assert_true(r.passed);
    assert_int_equal(r.read_back, 0);
    fx_result_clear(&r);
    r = hash_sync(&et, 1);
    assert_true(r.passed);
    fx_result_clear(&r);
    teardown_et(&et);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_single_pass),
        cmocka_unit_test(test_reverse_order_kept_until_gap_fills),
        cmocka_unit_test(test_shuffled_several_workers),
        cmocka_unit_test(test_no_budget_reads_back),
        cmocka_unit_test(test_small_budget_mixes_both),
        cmocka_unit_test(test_fail_then_pass_after_rewrite),
        cmocka_unit_test(test_duplicate_block_forces_read_back),
        cmocka_unit_test(test_unwritten_piece_fails_without_error),
        cmocka_unit_test(test_pad_tail_needs_no_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
