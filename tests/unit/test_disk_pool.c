/* core/disk: the worker pool's contract (every callback exactly once, on the
 * loop thread, also when aborted at shutdown), fences, storage abort, and the
 * storage-wide operations move_storage, rename_file and delete_files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_fixture.h"

static const fx_file k_files[] = {
    {"a.bin", 70000, false},
    {"dir/b.bin", 50000, false},
    {"dir/deeper/c.bin", 30000, false},
};

/* ---- callback accounting ---- */

typedef struct tally {
    uv_thread_t loop_thread;
    int calls;
    int wrong_thread;
    int ok;
    int aborted;
    int other;
} tally;

typedef struct slot {
    tally *t;
    int calls;
} slot;

static void on_slot(sw_disk_result *res, void *user)
{
    slot *s = user;
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &s->t->loop_thread))
        s->t->wrong_thread++;
    s->calls++;
    s->t->calls++;
    if (res->error == 0)
        s->t->ok++;
    else if (res->error == SW_ERR_ABORTED)
        s->t->aborted++;
    else {
        fprintf(stderr, "unexpected: job %d error %s op %s file %d\n", (int)res->kind,
                sw_err_name(res->error), sw__disk_op_name(res->op), res->file_index);
        s->t->other++;
    }
}

static void test_shutdown_with_queued_jobs(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "s", k_files, 3, 16384, 1, false), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);

    /* The files exist first: jobs on one storage run in no fixed order, so
     * a read queued beside the first write could otherwise find no file. */
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 0, 0), 0);

    enum { ROUNDS = 20 };
    int per_round = 3 * n + 1;
    slot *slots = calloc((size_t)(ROUNDS * per_round), sizeof *slots);
    tally ta = {.loop_thread = uv_thread_self()};
    int k = 0, writes = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < n; i++) {
            int psize = sw_torrent_info_piece_size(t.ti, i);
            slots[k].t = &ta;
            assert_int_equal(sw__disk_write(st, i, 0,
                                            fx_dup(t.data + (int64_t)i * 16384, (size_t)psize),
                                            (size_t)psize, on_slot, &slots[k++]),
                             0);
            writes++;
            slots[k].t = &ta;
            assert_int_equal(sw__disk_read(st, i, 0, 1000, on_slot, &slots[k++]), 0);
            slots[k].t = &ta;
            assert_int_equal(sw__disk_hash(st, i, on_slot, &slots[k++]), 0);
        }
        slots[k].t = &ta;
        assert_int_equal(sw__disk_check(st, NULL, 0, NULL, on_slot, &slots[k++]), 0);
    }
    /* Dropping the storage now is fine: queued jobs hold references. */
    sw__disk_storage_unref(st);
    sw__disk_pool_close(e.pool, NULL, NULL);
    e.pool = NULL;
    /* Run until every callback came; the pool frees itself after them. */
    assert_true(fx_run_until(&e, &ta.calls, k, 30000));
    uv_run(&e.loop, UV_RUN_DEFAULT); /* nothing but the closing handle left */
    assert_int_equal(ta.calls, k);
    print_message("shutdown: %d jobs, %d done, %d aborted\n", k, ta.ok, ta.aborted);
    for (int i = 0; i < k; i++)
        assert_int_equal(slots[i].calls, 1);
    assert_int_equal(ta.wrong_thread, 0);
    assert_int_equal(ta.other, 0);
    /* Writes are never dropped: data the engine received reaches the disk. */
    assert_true(ta.ok >= writes);
    assert_true(fx_env_done(&e));
    free(slots);
    fx_torrent_free(&t);
}

static int g_closed;

static void on_closed(void *user)
{
    (void)user;
    g_closed++;
}

static void test_submit_after_close_is_refused(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "s", k_files, 3, 16384, 1, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    g_closed = 0;
    sw__disk_pool_close(e.pool, on_closed, NULL);
    int calls = 0;
    uint8_t *buf = malloc(100);
    assert_int_equal(sw__disk_write(st, 0, 0, buf, 100, fx_count_cb, &calls), SW_ERR_ABORTED);
    free(buf); /* a refused write leaves the buffer with the caller */
    assert_int_equal(sw__disk_read(st, 0, 0, 100, fx_count_cb, &calls), SW_ERR_ABORTED);
    assert_int_equal(sw__disk_fence(st, fx_count_cb, &calls), SW_ERR_ABORTED);
    sw__disk_storage_unref(st);
    e.pool = NULL;
    assert_true(fx_run_until(&e, &g_closed, 1, 30000));
    assert_int_equal(calls, 0);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

/* ---- fences ---- */

typedef struct seq_log {
    int seq;
    int last_write;
    int fence_at;
    int first_after;
} seq_log;

static void on_seq_write(sw_disk_result *res, void *user)
{
    (void)res;
    seq_log *l = user;
    l->last_write = ++l->seq;
}

static void on_seq_fence(sw_disk_result *res, void *user)
{
    assert_int_equal(res->error, 0);
    seq_log *l = user;
    l->fence_at = ++l->seq;
}

static void on_seq_after(sw_disk_result *res, void *user)
{
    (void)res;
    seq_log *l = user;
    int at = ++l->seq;
    if (!l->first_after)
        l->first_after = at;
}

static void test_fence_orders_jobs(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "s", k_files, 3, 16384, 1, false), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 4, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    for (int rep = 0; rep < 5; rep++) {
        seq_log l = {0};
        for (int i = 0; i < n; i++) {
            int psize = sw_torrent_info_piece_size(t.ti, i);
            assert_int_equal(sw__disk_write(st, i, 0,
                                            fx_dup(t.data + (int64_t)i * 16384, (size_t)psize),
                                            (size_t)psize, on_seq_write, &l),
                             0);
        }
        assert_int_equal(sw__disk_fence(st, on_seq_fence, &l), 0);
        for (int i = 0; i < n; i++)
            assert_int_equal(sw__disk_hash(st, i, on_seq_after, &l), 0);
        assert_true(fx_run_until(&e, &l.seq, 2 * n + 1, 30000));
        assert_true(l.fence_at > l.last_write);
        assert_true(l.first_after > l.fence_at);
    }
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_storage_abort(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "s", k_files, 3, 16384, 1, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 0, 0), 0);
    sw__disk_storage_abort(st);
    fx_result rd = {0}, del = {0};
    assert_int_equal(sw__disk_read(st, 0, 0, 100, fx_capture_cb, &rd), 0);
    assert_int_equal(sw__disk_delete_files(st, fx_capture_cb, &del), 0);
    assert_true(fx_wait_one(&e, &rd));
    assert_true(fx_wait_one(&e, &del));
    assert_int_equal(rd.error, SW_ERR_ABORTED);
    assert_int_equal(del.error, 0); /* changes to the disk still happen */
    assert_int_equal(fx_count_entries(e.dir), 0);
    fx_result_clear(&rd);
    fx_result_clear(&del);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

/* ---- move / rename / delete ---- */

static void run_op(fx_env *e, int rc, fx_result *r)
{
    assert_int_equal(rc, 0);
    assert_true(fx_wait_one(e, r));
}

static void expect_tree(const char *root, const fx_torrent *t, const char *name)
{
    int64_t off = 0;
    for (int i = 0; i < 3; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s/%s", name, k_files[i].name);
        char *p = fx_path(root, rel);
        size_t len = 0;
        uint8_t *d = fx_read_file(p, &len);
        assert_non_null(d);
        assert_int_equal(len, (size_t)k_files[i].size);
        assert_memory_equal(d, t->data + off, len);
        off += k_files[i].size;
        free(d);
        free(p);
    }
}

static void move_and_verify(const char *to_root, bool cross_fs)
{
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "mv", k_files, 3, 16384, 41, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    char *from = fx_path(e.dir, "from");
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, from, SW_STORAGE_SPARSE, &st), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 2, 3), 0);
    /* Someone else's file in the save path stays where it is. */
    char *mine = fx_path(from, "mv/dir/not-the-torrents.txt");
    assert_int_equal(fx_write_file(mine, "keep", 4), 0);
    char *b = fx_path(from, "mv/dir/b.bin");
    struct stat before;
    assert_int_equal(stat(b, &before), 0);

    fx_result r = {0};
    run_op(&e, sw__disk_move_storage(st, to_root, SW_MOVE_FAIL_IF_EXIST, fx_capture_cb, &r), &r);
    assert_int_equal(r.error, 0);
    fx_result_clear(&r);
    expect_tree(to_root, &t, "mv");
    char *sp = sw__disk_storage_save_path(st);
    assert_string_equal(sp, to_root);
    free(sp);
    assert_false(fx_exists(b));
    assert_true(fx_exists(mine));
    char *deeper = fx_path(from, "mv/dir/deeper");
    assert_false(fx_exists(deeper)); /* emptied, so removed */
    free(deeper);
    char *nb = fx_path(to_root, "mv/dir/b.bin");
    struct stat after;
    assert_int_equal(stat(nb, &after), 0);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec); /* resume data stays valid */
    if (cross_fs)
        assert_true(after.st_dev != before.st_dev);
    free(nb);

    /* The storage works at its new place. */
    assert_int_equal(fx_hash_all(&e, st, &t), sw_torrent_info_num_pieces(t.ti));
    fx_result rd = {0};
    run_op(&e, sw__disk_read(st, 4, 69000 - 4 * 16384, 2000, fx_capture_cb, &rd), &rd);
    assert_int_equal(rd.error, 0);
    assert_memory_equal(rd.buf, t.data + 69000, 2000);
    fx_result_clear(&rd);

    /* Moving back onto a tree that has the files fails with fail_if_exist
     * and changes nothing. */
    char *blocker = fx_path(from, "mv/a.bin");
    assert_int_equal(fx_write_file(blocker, "x", 1), 0);
    run_op(&e, sw__disk_move_storage(st, from, SW_MOVE_FAIL_IF_EXIST, fx_capture_cb, &r), &r);
    assert_int_equal(r.error, SW_ERR_EXISTS);
    assert_int_equal(r.file, 0);
    fx_result_clear(&r);
    expect_tree(to_root, &t, "mv");
    /* dont_replace keeps the target's a.bin and drops ours. */
    run_op(&e, sw__disk_move_storage(st, from, SW_MOVE_DONT_REPLACE, fx_capture_cb, &r), &r);
    assert_int_equal(r.error, 0);
    fx_result_clear(&r);
    assert_int_equal(fx_file_size(blocker), 1);
    char *moved_b = fx_path(from, "mv/dir/b.bin");
    assert_int_equal(fx_file_size(moved_b), 50000);
    free(moved_b);
    char *gone = fx_path(to_root, "mv");
    assert_false(fx_exists(gone));
    free(gone);

    free(blocker);
    free(b);
    free(mine);
    free(from);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_move_storage_same_fs(void **state)
{
    (void)state;
    char to[] = "/tmp/sw-disk-move-XXXXXX";
    assert_non_null(mkdtemp(to));
    char *target = fx_path(to, "new/place");
    move_and_verify(target, false);
    free(target);
    fx_rm_rf(to);
}

static void test_move_storage_across_fs(void **state)
{
    (void)state;
    struct stat a, b;
    if (stat("/dev/shm", &a) != 0 || stat("/tmp", &b) != 0 || a.st_dev == b.st_dev) {
        print_message("skipped: /dev/shm is not a separate file system here\n");
        return;
    }
    char to[] = "/dev/shm/sw-disk-move-XXXXXX";
    if (!mkdtemp(to)) {
        print_message("skipped: cannot create a folder in /dev/shm\n");
        return;
    }
    char *target = fx_path(to, "x");
    move_and_verify(target, true);
    free(target);
    fx_rm_rf(to);
}

static void test_rename_file(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "rn", k_files, 3, 16384, 43, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 0, 0), 0);

    int calls = 0;
    assert_int_equal(sw__disk_rename_file(st, 1, "../escape", fx_count_cb, &calls),
                     SW_ERR_INVALID_ARG);
    assert_int_equal(sw__disk_rename_file(st, 1, "/abs", fx_count_cb, &calls), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__disk_rename_file(st, 3, "x", fx_count_cb, &calls), SW_ERR_INVALID_ARG);

    fx_result r = {0};
    run_op(&e, sw__disk_rename_file(st, 1, "rn/other/name.bin", fx_capture_cb, &r), &r);
    assert_int_equal(r.error, 0);
    fx_result_clear(&r);
    char *np = fx_path(e.dir, "rn/other/name.bin");
    assert_int_equal(fx_file_size(np), 50000);
    char *old_dir_file = fx_path(e.dir, "rn/dir/b.bin");
    assert_false(fx_exists(old_dir_file));
    char *fp = sw__disk_storage_file_path(st, 1);
    assert_string_equal(fp, "rn/other/name.bin");
    free(fp);
    /* Reads and hashes follow the new name. */
    assert_int_equal(fx_hash_all(&e, st, &t), sw_torrent_info_num_pieces(t.ti));

    /* A path another file of the torrent has is refused. */
    run_op(&e, sw__disk_rename_file(st, 1, "rn/a.bin", fx_capture_cb, &r), &r);
    assert_int_equal(r.error, SW_ERR_EXISTS);
    assert_int_equal(r.file, 1);
    fx_result_clear(&r);
    /* So is a path holding someone else's file. */
    char *foreign = fx_path(e.dir, "rn/foreign.txt");
    assert_int_equal(fx_write_file(foreign, "mine", 4), 0);
    run_op(&e, sw__disk_rename_file(st, 2, "rn/foreign.txt", fx_capture_cb, &r), &r);
    assert_int_equal(r.error, SW_ERR_EXISTS);
    fx_result_clear(&r);
    assert_int_equal(fx_file_size(foreign), 4);
    assert_int_equal(calls, 0);

    free(foreign);
    free(np);
    free(old_dir_file);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_delete_files_only_the_torrents(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "del", k_files, 3, 16384, 45, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    char *other = fx_path(e.dir, "unrelated.txt");
    assert_int_equal(fx_write_file(other, "x", 1), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 0, 0), 0);
    char *foreign = fx_path(e.dir, "del/dir/notes.txt");
    assert_int_equal(fx_write_file(foreign, "keep me", 7), 0);

    fx_result r = {0};
    run_op(&e, sw__disk_delete_files(st, fx_capture_cb, &r), &r);
    assert_int_equal(r.error, 0);
    fx_result_clear(&r);
    /* Left: save path, unrelated.txt, del/, del/dir/, del/dir/notes.txt. */
    assert_true(fx_exists(other));
    assert_true(fx_exists(foreign));
    assert_int_equal(fx_count_entries(e.dir), 4);
    char *deeper = fx_path(e.dir, "del/dir/deeper");
    assert_false(fx_exists(deeper));
    free(deeper);

    /* Deleting again (nothing there) is not an error. */
    run_op(&e, sw__disk_delete_files(st, fx_capture_cb, &r), &r);
    assert_int_equal(r.error, 0);
    fx_result_clear(&r);
    assert_int_equal(unlink(foreign), 0);
    run_op(&e, sw__disk_delete_files(st, fx_capture_cb, &r), &r);
    assert_int_equal(fx_count_entries(e.dir), 1);
    fx_result_clear(&r);

    free(other);
    free(foreign);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shutdown_with_queued_jobs),
        cmocka_unit_test(test_submit_after_close_is_refused),
        cmocka_unit_test(test_fence_orders_jobs),
        cmocka_unit_test(test_storage_abort),
        cmocka_unit_test(test_move_storage_same_fs),
        cmocka_unit_test(test_move_storage_across_fs),
        cmocka_unit_test(test_rename_file),
        cmocka_unit_test(test_delete_files_only_the_torrents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
