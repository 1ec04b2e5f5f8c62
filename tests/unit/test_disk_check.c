/* core/disk: checking files on add and on force_recheck: missing files,
 * partial data found and kept, a corrupted piece found, progress reports,
 * and checks spread over several workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_fixture.h"

static bool bit(const uint8_t *b, int i)
{
    return (b[i >> 3] >> (7 - (i & 7))) & 1;
}

typedef struct progress {
    int calls;
    int last;
    int total;
    bool monotonic;
} progress;

/* The check's user pointer is shared by its progress and completion
 * callbacks, so one struct carries both. */
typedef struct check_run {
    fx_result r; /* first member: fx_capture_cb sees an fx_result */
    progress p;
} check_run;

static void on_progress(int checked, int n, void *user)
{
    progress *p = &((check_run *)user)->p;
    p->calls++;
    if (checked < p->last)
        p->monotonic = false;
    p->last = checked;
    p->total = n;
}

static check_run check_sync(fx_env *e, sw_storage *st, const void *resume, size_t len)
{
    check_run c = {0};
    c.p.monotonic = true;
    assert_int_equal(sw__disk_check(st, resume, len, on_progress, fx_capture_cb, &c), 0);
    assert_true(fx_run_until(e, &c.r.calls, 1, 60000));
    return c;
}

static const fx_file k_files[] = {
    {"one.bin", 200000, false},
    {"two/a.bin", 333333, false},
    {"two/b.bin", 1, false},
    {"three.bin", 90000, false},
};

static void test_nothing_on_disk(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "c", k_files, 4, 32768, 3, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    check_run c = check_sync(&e, st, NULL, 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    assert_int_equal(c.r.error, 0);
    assert_int_equal(c.r.num_have, 0);
    assert_int_equal(c.r.have_len, (size_t)(n + 7) / 8);
    for (int i = 0; i < n; i++)
        assert_false(bit(c.r.have, i));
    assert_false(c.r.resume_accepted);
    assert_true(c.p.monotonic);
    assert_true(c.p.calls >= 1);
    assert_int_equal(c.p.last, n);
    assert_int_equal(c.p.total, n);
    /* Checking never creates anything. */
    assert_int_equal(fx_count_entries(e.dir), 0);
    fx_result_clear(&c.r);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_partial_data_found_and_kept(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "c", k_files, 4, 32768, 4, false), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 3, 0, 0), 0);

    /* A previous run left: one.bin complete, two/a.bin half written (then
     * cut short), nothing else. */
    char *cdir = fx_path(e.dir, "c");
    char *dir = fx_path(e.dir, "c/two");
    assert_int_equal(mkdir(cdir, 0755), 0);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *one = fx_path(e.dir, "c/one.bin");
    char *two = fx_path(e.dir, "c/two/a.bin");
    assert_int_equal(fx_write_file(one, t.data, 200000), 0);
    assert_int_equal(fx_write_file(two, t.data + 200000, 150000), 0);

    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    check_run c = check_sync(&e, st, NULL, 0);
    assert_int_equal(c.r.error, 0);
    /* Pieces wholly inside the data present: [0, 350000) -> pieces 0..9. */
    int expect = 0;
    for (int i = 0; i < n; i++) {
        int64_t end = (int64_t)(i + 1) * 32768;
        bool want = end <= 350000;
        assert_int_equal(bit(c.r.have, i), want);
        expect += want;
    }
    assert_int_equal(c.r.num_have, expect);
    /* The data is still there, untouched. */
    assert_int_equal(fx_file_size(two), 150000);

    /* Download the rest; the old data is kept and everything verifies. */
    for (int i = 0; i < n; i++) {
        if (bit(c.r.have, i))
            continue;
        int psize = sw_torrent_info_piece_size(t.ti, i);
        fx_result w = {0};
        assert_int_equal(sw__disk_write(st, i, 0,
                                        fx_dup(t.data + (int64_t)i * 32768, (size_t)psize),
                                        (size_t)psize, fx_capture_cb, &w),
                         0);
        assert_true(fx_wait_one(&e, &w));
        assert_int_equal(w.error, 0);
    }
    assert_int_equal(fx_hash_all(&e, st, &t), n);
    fx_result_clear(&c.r);
    c = check_sync(&e, st, NULL, 0);
    assert_int_equal(c.r.num_have, n);
    fx_result_clear(&c.r);

    free(dir);
    free(cdir);
    free(one);
    free(two);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_recheck_finds_corrupted_piece(void **state)
{
    (void)state;
    /* Large enough (12 MiB) that check runners yield and requeue. */
    const fx_file files[] = {{"big.bin", 12 << 20, false}, {"small.bin", 4097, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "r", files, 2, 1 << 16, 8, false), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 4, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 1 << 16, 0, 0), 0);
    assert_int_equal(fx_hash_all(&e, st, &t), n);

    check_run c = check_sync(&e, st, NULL, 0);
    assert_int_equal(c.r.error, 0);
    assert_int_equal(c.r.num_have, n);
    fx_result_clear(&c.r);

    /* Flip one byte of piece 77 behind the engine's back. */
    char *big = fx_path(e.dir, "r/big.bin");
    int fd = open(big, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b = (uint8_t)(t.data[77 * 65536 + 1234] ^ 1);
    assert_int_equal(pwrite(fd, &b, 1, 77 * 65536 + 1234), 1);
    close(fd);

    c = check_sync(&e, st, NULL, 0);
    assert_int_equal(c.r.error, 0);
    assert_int_equal(c.r.num_have, n - 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(bit(c.r.have, i), i != 77);
    assert_int_equal(c.p.last, n);
    assert_true(c.p.monotonic);
    fx_result_clear(&c.r);

    free(big);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

typedef struct order_log {
    int seq;
    int check_at;
    int max_write_at;
    int min_read_at;
    fx_result check;
} order_log;

static void on_ordered_write(sw_disk_result *res, void *user)
{
    order_log *l = user;
    assert_int_equal(res->error, 0);
    l->max_write_at = ++l->seq;
}

static void on_ordered_read(sw_disk_result *res, void *user)
{
    order_log *l = user;
    assert_int_equal(res->error, 0);
    int at = ++l->seq;
    if (!l->min_read_at || at < l->min_read_at)
        l->min_read_at = at;
}

static void on_ordered_check(sw_disk_result *res, void *user)
{
    order_log *l = user;
    l->check_at = ++l->seq;
    fx_capture_cb(res, &l->check);
}

static void test_check_is_a_fence(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "c", k_files, 4, 32768, 5, false), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 4, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    order_log l = {0};
    /* Writes, then a check, then reads: the check sees every write, and no
     * read starts before the check is done. */
    for (int i = 0; i < n; i++) {
        int psize = sw_torrent_info_piece_size(t.ti, i);
        assert_int_equal(sw__disk_write(st, i, 0,
                                        fx_dup(t.data + (int64_t)i * 32768, (size_t)psize),
                                        (size_t)psize, on_ordered_write, &l),
                         0);
    }
    assert_int_equal(sw__disk_check(st, NULL, 0, NULL, on_ordered_check, &l), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(sw__disk_read(st, i, 0, 100, on_ordered_read, &l), 0);
    assert_true(fx_run_until(&e, &l.seq, 2 * n + 1, 60000));
    assert_int_equal(l.check.num_have, n);
    assert_true(l.check_at > l.max_write_at);
    assert_true(l.min_read_at > l.check_at);
    fx_result_clear(&l.check);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_on_disk),
        cmocka_unit_test(test_partial_data_found_and_kept),
        cmocka_unit_test(test_recheck_finds_corrupted_piece),
        cmocka_unit_test(test_check_is_a_fence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
