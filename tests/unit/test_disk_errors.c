/* core/disk: disk errors come back as job errors with the file and the
 * operation, never a crash, and never a piece claimed from partial data.
 *
 * Disk full: a 128 KiB tmpfs is mounted for the test when the process may
 * mount (root in a container with CAP_SYS_ADMIN); otherwise that case is
 * skipped with a message. RLIMIT_FSIZE (with SIGXFSZ ignored, so writes fail
 * with EFBIG) runs everywhere and covers the same path: a write or a size
 * change that the file system refuses.
 *
 * Permission denied: root bypasses file modes, so the EACCES case runs only
 * for other users; the ENOTDIR case (a regular file standing where a folder
 * belongs) fails the same way for everyone and always runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_fixture.h"

static fx_result write_piece(fx_env *e, sw_storage *st, const fx_torrent *t, int piece)
{
    int psize = sw_torrent_info_piece_size(t->ti, piece);
    fx_result r = {0};
    uint8_t *buf = fx_dup(t->data + (int64_t)piece * t->piece_length, (size_t)psize);
    assert_int_equal(sw__disk_write(st, piece, 0, buf, (size_t)psize, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(e, &r));
    return r;
}

static fx_result hash_piece(fx_env *e, sw_storage *st, int piece)
{
    fx_result r = {0};
    assert_int_equal(sw__disk_hash(st, piece, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(e, &r));
    return r;
}

static const fx_file k_two[] = {{"a.bin", 40000, false}, {"sub/b.bin", 40000, false}};

static void test_file_where_folder_belongs(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "t", k_two, 2, 16384, 2, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    char *blocker = fx_path(e.dir, "t");
    assert_int_equal(fx_write_file(blocker, "not a folder", 12), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);

    fx_result r = write_piece(&e, st, &t, 0);
    assert_int_equal(r.error, UV_ENOTDIR);
    assert_int_equal(r.op, SW_DISK_OP_OPEN);
    assert_int_equal(r.file, 0);
    assert_string_equal(sw__disk_op_name(r.op), "open");
    fx_result_clear(&r);
    r = hash_piece(&e, st, 0);
    assert_false(r.passed); /* never claimed */
    fx_result_clear(&r);
    /* A check reports the conflict instead of calling the pieces missing. */
    r = (fx_result){0};
    assert_int_equal(sw__disk_check(st, NULL, 0, NULL, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(&e, &r));
    assert_int_equal(r.error, UV_ENOTDIR);
    assert_true(r.file == 0 || r.file == 1);
    fx_result_clear(&r);

    /* Once the user clears the conflict, the same storage works. */
    assert_int_equal(unlink(blocker), 0);
    assert_int_equal(fx_write_all(&e, st, &t, 16384, 0, 0), 0);
    assert_int_equal(fx_hash_all(&e, st, &t), sw_torrent_info_num_pieces(t.ti));

    free(blocker);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_symlink_cannot_redirect_writes(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "t", k_two, 2, 16384, 2, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    char *save = fx_path(e.dir, "save");
    char *outside = fx_path(e.dir, "outside");
    char *link = fx_path(e.dir, "save/t");
    assert_int_equal(mkdir(save, 0755), 0);
    assert_int_equal(mkdir(outside, 0755), 0);
    assert_int_equal(symlink(outside, link), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, save, SW_STORAGE_SPARSE, &st), 0);
    fx_result r = write_piece(&e, st, &t, 0);
    assert_true(r.error == UV_ENOTDIR || r.error == UV_ELOOP);
    assert_int_equal(r.file, 0);
    assert_int_equal(fx_count_entries(outside), 0);
    fx_result_clear(&r);
    free(save);
    free(outside);
    free(link);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_permission_denied(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        print_message("skipped EACCES case: root bypasses file modes "
                      "(the ENOTDIR case covers the same path)\n");
        return;
    }
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "t", k_two, 2, 16384, 2, false), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    assert_int_equal(chmod(e.dir, 0500), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);
    fx_result r = write_piece(&e, st, &t, 0);
    assert_int_equal(r.error, UV_EACCES);
    assert_int_equal(r.op, SW_DISK_OP_MKDIR);
    assert_int_equal(r.file, 0);
    fx_result_clear(&r);
    assert_int_equal(chmod(e.dir, 0700), 0);
    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

static void test_disk_full_tmpfs(void **state)
{
    (void)state;
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);
    char *mnt = fx_path(e.dir, "small");
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=128k") != 0) {
        print_message("skipped tmpfs disk-full case: cannot mount (%s); "
                      "the RLIMIT_FSIZE case covers the same path\n",
                      strerror(errno));
        free(mnt);
        assert_true(fx_env_done(&e));
        return;
    }
    const fx_file files[] = {{"big.bin", 1 << 20, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "big.bin", files, 1, 1 << 16, 6, true), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, mnt, SW_STORAGE_SPARSE, &st), 0);
    bool *failed = calloc((size_t)n, sizeof *failed);
    int nfailed = 0;
    for (int i = 0; i < n; i++) {
        fx_result r = write_piece(&e, st, &t, i);
        if (r.error) {
            assert_int_equal(r.error, UV_ENOSPC);
            assert_int_equal(r.op, SW_DISK_OP_WRITE);
            assert_int_equal(r.file, 0);
            failed[i] = true;
            nfailed++;
        }
        fx_result_clear(&r);
    }
    assert_true(nfailed > 0 && nfailed < n);
    for (int i = 0; i < n; i++) {
        fx_result r = hash_piece(&e, st, i);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.passed, !failed[i]);
        fx_result_clear(&r);
    }
    sw__disk_storage_unref(st);

    /* Allocate mode asks for the whole file up front and is refused. */
    const fx_file other[] = {{"alloc.bin", 1 << 20, false}};
    fx_torrent t2;
    assert_int_equal(fx_make_torrent(&t2, "alloc.bin", other, 1, 1 << 16, 6, true), 0);
    assert_int_equal(sw__disk_storage_new(e.pool, t2.ti, mnt, SW_STORAGE_ALLOCATE, &st), 0);
    fx_result r = write_piece(&e, st, &t2, 0);
    assert_int_equal(r.error, UV_ENOSPC);
    assert_int_equal(r.op, SW_DISK_OP_ALLOCATE);
    fx_result_clear(&r);
    sw__disk_storage_unref(st);

    /* Closing the pool releases every descriptor; then unmount and remove
     * what the first removal pass could not (the mount point). */
    assert_true(fx_env_done(&e));
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
    fx_rm_rf(e.dir);
    free(mnt);
    free(failed);
    fx_torrent_free(&t);
    fx_torrent_free(&t2);
}

static struct rlimit g_saved_fsize;

static int restore_fsize(void **state)
{
    (void)state;
    setrlimit(RLIMIT_FSIZE, &g_saved_fsize);
    signal(SIGXFSZ, SIG_DFL);
    return 0;
}

static void test_file_size_limit(void **state)
{
    (void)state;
    const fx_file files[] = {{"f.bin", 1 << 20, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "f.bin", files, 1, 1 << 16, 12, true), 0);
    int n = sw_torrent_info_num_pieces(t.ti);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 2, 0, 0), 0);

    /* One file already at full size (from an earlier run), one to create. */
    char *sub = fx_path(e.dir, "existing");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *existing = fx_path(e.dir, "existing/f.bin");
    uint8_t *zeros = calloc(1, 1 << 20);
    assert_int_equal(fx_write_file(existing, zeros, 1 << 20), 0);
    free(zeros);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &g_saved_fsize), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = g_saved_fsize;
    lim.rlim_cur = 256 << 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    sw_storage *fresh = NULL, *old = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &fresh), 0);
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, sub, SW_STORAGE_SPARSE, &old), 0);

    /* Growing a new file to 1 MiB is refused. */
    fx_result r = write_piece(&e, fresh, &t, 0);
    assert_int_equal(r.error, UV_EFBIG);
    assert_int_equal(r.op, SW_DISK_OP_TRUNCATE);
    assert_int_equal(r.file, 0);
    fx_result_clear(&r);

    /* In the full-size file, writes below the limit work, above it fail. */
    for (int i = 0; i < n; i++) {
        r = write_piece(&e, old, &t, i);
        bool below = (int64_t)(i + 1) * (1 << 16) <= (256 << 10);
        if (below) {
            assert_int_equal(r.error, 0);
        } else {
            assert_int_equal(r.error, UV_EFBIG);
            assert_int_equal(r.op, SW_DISK_OP_WRITE);
        }
        fx_result_clear(&r);
        r = hash_piece(&e, old, i);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.passed, below); /* zeros from before, never claimed */
        fx_result_clear(&r);
    }
    restore_fsize(NULL);

    sw__disk_storage_unref(fresh);
    sw__disk_storage_unref(old);
    free(sub);
    free(existing);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_where_folder_belongs),
        cmocka_unit_test(test_symlink_cannot_redirect_writes),
        cmocka_unit_test(test_permission_denied),
        cmocka_unit_test(test_disk_full_tmpfs),
        cmocka_unit_test_teardown(test_file_size_limit, restore_fsize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
