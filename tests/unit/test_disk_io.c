/* core/disk: block reads and writes across file boundaries, pad files,
 * sparse and allocate modes, the open-file pool's limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk_fixture.h"

static void write_block(fx_env *e, sw_storage *st, const fx_torrent *t, int piece, int64_t off,
                        size_t len, fx_result *r)
{
    uint8_t *buf = fx_dup(t->data + (int64_t)piece * t->piece_length + off, len);
    assert_int_equal(sw__disk_write(st, piece, off, buf, len, fx_capture_cb, r), 0);
    assert_true(fx_wait_one(e, r));
}

static void test_write_read_across_files(void **state)
{
    (void)state;
    /* Files that start and end mid-block, an empty file and a one-byte file,
     * so blocks span up to four files. */
    const fx_file files[] = {
        {"a.bin", 10000, false},     {"b/one.bin", 1, false}, {"b/empty.bin", 0, false},
        {"b/c/d.bin", 30000, false}, {"e.bin", 7000, false},
    };
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "multi", files, 5, 16384, 11, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 3, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);

    /* Nothing exists before the first write. */
    assert_int_equal(fx_count_entries(e.dir), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 2, 5), 0);

    /* The files hold exactly the torrent's bytes. */
    int64_t off = 0;
    for (int i = 0; i < 5; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "multi/%s", files[i].name);
        char *p = fx_path(e.dir, rel);
        size_t len = 0;
        uint8_t *data = fx_read_file(p, &len);
        assert_non_null(data);
        assert_int_equal(len, (size_t)files[i].size);
        assert_memory_equal(data, t.data + off, len ? len : 0);
        off += files[i].size;
        free(data);
        free(p);
    }

    /* Reads of odd ranges spanning several files. */
    struct {
        int piece;
        int64_t off;
        size_t len;
    } ranges[] = {{0, 9990, 6000}, {0, 0, 16384}, {2, 100, 14000}, {2, 0, 47001 - 32768}};
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        fx_result r = {0};
        assert_int_equal(
            sw__disk_read(st, ranges[i].piece, ranges[i].off, ranges[i].len, fx_capture_cb, &r), 0);
        assert_true(fx_wait_one(&e, &r));
        assert_int_equal(r.error, 0);
        assert_int_equal(r.len, ranges[i].len);
        assert_memory_equal(r.buf, t.data + (int64_t)ranges[i].piece * 16384 + ranges[i].off,
                            ranges[i].len);
        fx_result_clear(&r);
    }
    assert_int_equal(fx_hash_all(&e, st, &t), 3);

    /* A range outside the piece is refused up front, without a callback. */
    int calls = 0;
    assert_int_equal(sw__disk_read(st, 0, 16000, 1000, fx_count_cb, &calls), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__disk_read(st, 3, 0, 10, fx_count_cb, &calls), SW_ERR_INVALID_ARG);
    uint8_t *buf = malloc(10);
    assert_int_equal(sw__disk_write(st, -1, 0, buf, 10, fx_count_cb, &calls), SW_ERR_INVALID_ARG);
    free(buf); /* still ours after a failed submit */
    assert_int_equal(calls, 0);

    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_empty_file_created_by_first_write(void **state)
{
    (void)state;
    const fx_file files[] = {{"x.bin", 5000, false}, {"sub/empty", 0, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "t", files, 2, 16384, 3, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    fx_result r = {0};
    write_block(&e, st, &t, 0, 0, 5000, &r);
    assert_int_equal(r.error, 0);
    char *p = fx_path(e.dir, "t/sub/empty");
    assert_int_equal(fx_file_size(p), 0);
    free(p);
    fx_result_clear(&r);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_pad_files_never_touch_disk(void **state)
{
    (void)state;
    /* BEP 47 layout: each file padded to the piece boundary. */
    const fx_file files[] = {
        {"one.bin", 20000, false},     {".pad/12768", 32768 - 20000, true},
        {"two.bin", 16384 + 5, false}, {".pad/16379", 16384 - 5, true},
        {"three.bin", 100, false},
    };
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "padded", files, 5, 16384, 9, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 0, 0), 0);
    assert_int_equal(fx_hash_all(&e, st, &t), sw_torrent_info_num_pieces(t.ti));

    char *pad = fx_path(e.dir, "padded/.pad");
    assert_false(fx_exists(pad));
    free(pad);
    char *two = fx_path(e.dir, "padded/two.bin");
    assert_int_equal(fx_file_size(two), 16384 + 5);
    free(two);

    /* Pad ranges read as zeros. */
    fx_result r = {0};
    assert_int_equal(sw__disk_read(st, 1, 0, 16384, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(&e, &r));
    assert_int_equal(r.error, 0);
    assert_memory_equal(r.buf, t.data + 16384, 16384);
    for (int i = 20000 - 16384; i < 16384; i++)
        assert_int_equal(r.buf[i], 0);
    fx_result_clear(&r);

    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void sparse_or_allocate(sw_storage_mode mode, int64_t *size_out, int64_t *blocks_out)
{
    const fx_file files[] = {{"big.bin", 4 << 20, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "big.bin", files, 1, 1 << 18, 4, true), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, mode, &st), 0);
    fx_result r = {0};
    write_block(&e, st, &t, 3, 16384, 16384, &r);
    assert_int_equal(r.error, 0);
    char *p = fx_path(e.dir, "big.bin");
    *size_out = fx_file_size(p);
    *blocks_out = fx_file_blocks(p);
    free(p);
    fx_result_clear(&r);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_sparse_vs_allocate(void **state)
{
    (void)state;
    int64_t size = 0, blocks = 0;
    sparse_or_allocate(SW_STORAGE_SPARSE, &size, &blocks);
    assert_int_equal(size, 4 << 20);
    assert_true(blocks < (1 << 20)); /* a hole, not 4 MiB of blocks */
    sparse_or_allocate(SW_STORAGE_ALLOCATE, &size, &blocks);
    assert_int_equal(size, 4 << 20);
    assert_true(blocks >= (4 << 20));
}

static void test_file_pool_limit(void **state)
{
    (void)state;
    enum { NFILES = 64 };
    fx_file files[NFILES];
    char names[NFILES][32];
    for (int i = 0; i < NFILES; i++) {
        snprintf(names[i], sizeof names[i], "d%d/f%02d.bin", i % 4, i);
        files[i] = (fx_file){names[i], 5000 + i, false};
    }
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "many", files, NFILES, 16384, 21, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 4, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 2, 77), 0);
    /* Reading back every piece goes through every file again. */
    assert_int_equal(fx_hash_all(&e, st, &t), sw_torrent_info_num_pieces(t.ti));
    sw_disk_stats s;
    sw__disk_pool_stats(e.pool, &s);
    assert_true(s.max_open_files <= 4);
    assert_true(s.open_files > 0);

    fx_result r = {0};
    assert_int_equal(sw__disk_release_files(st, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(&e, &r));
    sw__disk_pool_stats(e.pool, &s);
    assert_int_equal(s.open_files, 0);
    fx_result_clear(&r);

    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_read_missing_file_is_an_error(void **state)
{
    (void)state;
    const fx_file files[] = {{"a", 1000, false}, {"b", 1000, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "m", files, 2, 16384, 5, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    fx_result r = {0};
    assert_int_equal(sw__disk_read(st, 0, 0, 2000, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(&e, &r));
    assert_int_equal(r.error, UV_ENOENT);
    assert_int_equal(r.op, SW_DISK_OP_OPEN);
    assert_int_equal(r.file, 0);
    assert_null(r.buf);
    fx_result_clear(&r);
    /* A read that does not create anything. */
    assert_int_equal(fx_count_entries(e.dir), 0);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_across_files),
        cmocka_unit_test(test_empty_file_created_by_first_write),
        cmocka_unit_test(test_pad_files_never_touch_disk),
        cmocka_unit_test(test_sparse_vs_allocate),
        cmocka_unit_test(test_file_pool_limit),
        cmocka_unit_test(test_read_missing_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
