/* core/disk: resume data. Encode/decode round trip, malformed records, and
 * the check that trusts valid resume data (no hashing) but falls back to a
 * full check when the info-hash, a file's size or its mtime changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk_fixture.h"

static bool bit(const uint8_t *b, int i)
{
    return (b[i >> 3] >> (7 - (i & 7))) & 1;
}

/* ---- pure encode/decode ---- */

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t pieces[3] = {0xA5, 0xFF, 0x80};
    int64_t sizes[2] = {123, 0};
    int64_t mtimes[2] = {1700000000, 0};
    sw_disk_resume r = {
        .pieces = pieces,
        .pieces_len = 3,
        .save_path = "/data/dl",
        .num_files = 2,
        .file_sizes = sizes,
        .file_mtimes = mtimes,
    };
    memset(r.info_hash.v, 0xAB, SW_SHA1_LEN);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(sw__disk_resume_encode(&r, &buf, &len), 0);
    sw_disk_resume *back = NULL;
    assert_int_equal(sw__disk_resume_decode(buf, len, &back), 0);
    assert_memory_equal(back->info_hash.v, r.info_hash.v, SW_SHA1_LEN);
    assert_int_equal(back->pieces_len, 3);
    assert_memory_equal(back->pieces, pieces, 3);
    assert_string_equal(back->save_path, "/data/dl");
    assert_int_equal(back->num_files, 2);
    assert_int_equal(back->file_sizes[0], 123);
    assert_int_equal(back->file_mtimes[0], 1700000000);
    assert_int_equal(back->file_sizes[1], 0);
    sw__disk_resume_free(back);
    free(buf);
}

static void test_engine_keys_alongside(void **state)
{
    (void)state;
    /* The engine writes its own keys into the same dictionary. */
    uint8_t pieces[1] = {0xC0};
    int64_t zero = 0;
    sw_disk_resume r = {
        .pieces = pieces,
        .pieces_len = 1,
        .num_files = 1,
        .file_sizes = &zero,
        .file_mtimes = &zero,
    };
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "zz-priorities"), 0);
    assert_int_equal(sw_benc_list_begin(enc), 0);
    assert_int_equal(sw_benc_int(enc, 4), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw__disk_resume_write(enc, &r), 0);
    assert_int_equal(sw_benc_ckey(enc, "added_time"), 0);
    assert_int_equal(sw_benc_int(enc, 42), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(sw_benc_finish(enc, &buf, &len), 0);
    sw_benc_free(enc);
    sw_disk_resume *back = NULL;
    assert_int_equal(sw__disk_resume_decode(buf, len, &back), 0);
    assert_null(back->save_path);
    assert_int_equal(back->pieces[0], 0xC0);
    sw__disk_resume_free(back);
    free(buf);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "i5e",
        "le",
        "d",
        "de",
        "d11:file-format13:cswarm resumee",
        /* wrong format name */
        "d10:file sizeslli1ei2eee11:file-format6:other!12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* wrong version */
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni2e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* short info-hash */
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash19:"
        "aaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* pieces not a string */
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:piecesi1ee",
        /* no file sizes */
        "d11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* empty file list */
        "d10:file sizesle11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* a pair with one value */
        "d10:file sizeslli1eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* a negative size */
        "d10:file sizesl"
        "li-1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* a string where an int belongs */
        "d10:file sizesll1:1i2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
        /* save_path of the wrong type */
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "9:save_pathi3ee",
        /* truncated */
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaa",
        /* an integer that overflows */
        "d10:file sizeslli99999999999999999999999ei2eee11:file-format13:cswarm resume"
        "12:file-versioni1e9:info-hash20:aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "e",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sw_disk_resume *r = NULL;
        int rc = sw__disk_resume_decode(bad[i], strlen(bad[i]), &r);
        if (rc != SW_ERR_RESUME_DATA)
            fprintf(stderr, "case %zu: %d\n", i, rc);
        assert_int_equal(rc, SW_ERR_RESUME_DATA);
        assert_null(r);
    }
    /* save_path with an embedded NUL byte */
    static const char nul[] =
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "9:save_path3:a\0be";
    sw_disk_resume *r = NULL;
    assert_int_equal(sw__disk_resume_decode(nul, sizeof nul - 1, &r), SW_ERR_RESUME_DATA);
    /* and the same record, well-formed, is accepted */
    static const char good[] =
        "d10:file sizeslli1ei2eee11:file-format13:cswarm resume12:file-versioni1e9:info-hash20:"
        "aaaaaaaaaaaaaaaaaaaa6:pieces1:\x80"
        "9:save_path3:abce";
    assert_int_equal(sw__disk_resume_decode(good, sizeof good - 1, &r), 0);
    assert_string_equal(r->save_path, "abc");
    sw__disk_resume_free(r);
}

/* ---- with storage ---- */

static const fx_file k_files[] = {
    {"a.bin", 100000, false},
    {"b.bin", 50000, false},
    {"c.bin", 70000, false},
};

typedef struct resume_env {
    fx_env e;
    fx_torrent t;
    sw_storage *st;
    int n;
} resume_env;

static void setup_written(resume_env *re, bool write_c)
{
    assert_int_equal(fx_make_torrent(&re->t, "res", k_files, 3, 16384, 31, false), 0);
    assert_int_equal(fx_env_init(&re->e, 2, 0, 0), 0);
    assert_int_equal(
        sw__disk_storage_new(re->e.pool, re->t.ti, re->e.dir, SW_STORAGE_SPARSE, &re->st), 0);
    re->n = sw_torrent_info_num_pieces(re->t.ti);
    for (int i = 0; i < re->n; i++) {
        int64_t start = (int64_t)i * 16384;
        if (!write_c && start + 16384 > 150000)
            continue; /* leave c.bin (and the piece shared with b.bin) unwritten */
        int psize = sw_torrent_info_piece_size(re->t.ti, i);
        fx_result w = {0};
        assert_int_equal(sw__disk_write(re->st, i, 0, fx_dup(re->t.data + start, (size_t)psize),
                                        (size_t)psize, fx_capture_cb, &w),
                         0);
        assert_true(fx_wait_one(&re->e, &w));
        assert_int_equal(w.error, 0);
    }
}

static void teardown_env(resume_env *re)
{
    sw__disk_storage_unref(re->st);
    assert_true(fx_env_done(&re->e));
    fx_torrent_free(&re->t);
}

/* Runs a check and returns the result and the bytes it read back. */
static fx_result run_check(resume_env *re, const uint8_t *resume, size_t len, int64_t *read_out)
{
    sw_disk_stats before, after;
    sw__disk_pool_stats(re->e.pool, &before);
    fx_result r = {0};
    assert_int_equal(sw__disk_check(re->st, resume, len, NULL, fx_capture_cb, &r), 0);
    assert_true(fx_wait_one(&re->e, &r));
    assert_int_equal(r.error, 0);
    sw__disk_pool_stats(re->e.pool, &after);
    *read_out = after.bytes_hashed_read_back - before.bytes_hashed_read_back;
    return r;
}

/* Checks, then saves resume data for what the check found. */
static uint8_t *check_and_save(resume_env *re, size_t *len_out, fx_result *check_out)
{
    int64_t read = 0;
    *check_out = run_check(re, NULL, 0, &read);
    fx_result s = {0};
    assert_int_equal(
        sw__disk_save_resume(re->st, check_out->have, check_out->have_len, fx_capture_cb, &s), 0);
    assert_true(fx_wait_one(&re->e, &s));
    assert_int_equal(s.error, 0);
    assert_non_null(s.resume);
    assert_int_equal(s.resume->num_files, 3);
    assert_int_equal(s.resume->file_sizes[0], 100000);
    assert_true(s.resume->file_mtimes[0] > 0);
    uint8_t *buf = NULL;
    assert_int_equal(sw__disk_resume_encode(s.resume, &buf, len_out), 0);
    fx_result_clear(&s);
    return buf;
}

static void test_resume_skips_hashing(void **state)
{
    (void)state;
    resume_env re;
    setup_written(&re, false);
    size_t len = 0;
    fx_result first;
    uint8_t *buf = check_and_save(&re, &len, &first);
    assert_true(first.num_have > 0 && first.num_have < re.n);

    int64_t read = -1;
    fx_result second = run_check(&re, buf, len, &read);
    assert_true(second.resume_accepted);
    assert_int_equal(second.resume_error, 0);
    assert_int_equal(read, 0); /* nothing hashed */
    assert_int_equal(second.num_have, first.num_have);
    assert_memory_equal(second.have, first.have, first.have_len);

    fx_result_clear(&first);
    fx_result_clear(&second);
    free(buf);
    teardown_env(&re);
}

static void expect_fallback(resume_env *re, const uint8_t *buf, size_t len, const fx_result *truth)
{
    int64_t read = 0;
    fx_result r = run_check(re, buf, len, &read);
    assert_false(r.resume_accepted);
    assert_int_equal(r.resume_error, SW_ERR_RESUME_DATA);
    assert_true(read > 0); /* a full check ran */
    if (truth) {
        assert_int_equal(r.num_have, truth->num_have);
        assert_memory_equal(r.have, truth->have, truth->have_len);
    }
    fx_result_clear(&r);
}

static void test_changed_mtime_invalidates(void **state)
{
    (void)state;
    resume_env re;
    setup_written(&re, true);
    size_t len = 0;
    fx_result truth;
    uint8_t *buf = check_and_save(&re, &len, &truth);
    assert_int_equal(truth.num_have, re.n);

    /* Touch b.bin: same size, another mtime. */
    char *b = fx_path(re.e.dir, "res/b.bin");
    struct timespec ts[2] = {{.tv_sec = 1000000, .tv_nsec = 0}, {.tv_sec = 1000000, .tv_nsec = 0}};
    assert_int_equal(utimensat(AT_FDCWD, b, ts, 0), 0);
    expect_fallback(&re, buf, len, &truth);
    free(b);
    fx_result_clear(&truth);
    free(buf);
    teardown_env(&re);
}

static void test_changed_size_invalidates(void **state)
{
    (void)state;
    resume_env re;
    setup_written(&re, true);
    size_t len = 0;
    fx_result truth;
    uint8_t *buf = check_and_save(&re, &len, &truth);

    /* c.bin loses its tail; the full check then finds the lost pieces. */
    char *c = fx_path(re.e.dir, "res/c.bin");
    struct stat sb;
    assert_int_equal(stat(c, &sb), 0);
    assert_int_equal(truncate(c, 30000), 0);
    struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, c, ts, 0), 0); /* same mtime: only size differs */
    int64_t read = 0;
    fx_result r = run_check(&re, buf, len, &read);
    assert_false(r.resume_accepted);
    assert_true(read > 0);
    assert_true(r.num_have < truth.num_have);
    assert_true(bit(r.have, 0));
    assert_false(bit(r.have, re.n - 1));
    fx_result_clear(&r);
    free(c);
    fx_result_clear(&truth);
    free(buf);
    teardown_env(&re);
}

static void test_wrong_torrent_or_garbage_invalidates(void **state)
{
    (void)state;
    resume_env re;
    setup_written(&re, true);
    size_t len = 0;
    fx_result truth;
    uint8_t *buf = check_and_save(&re, &len, &truth);

    sw_disk_resume *r = NULL;
    assert_int_equal(sw__disk_resume_decode(buf, len, &r), 0);
    r->info_hash.v[0] ^= 1;
    uint8_t *other = NULL;
    size_t other_len = 0;
    assert_int_equal(sw__disk_resume_encode(r, &other, &other_len), 0);
    expect_fallback(&re, other, other_len, &truth);
    free(other);

    r->info_hash.v[0] ^= 1;
    r->pieces_len--; /* bitfield of the wrong length */
    assert_int_equal(sw__disk_resume_encode(r, &other, &other_len), 0);
    expect_fallback(&re, other, other_len, &truth);
    free(other);
    sw__disk_resume_free(r);

    expect_fallback(&re, (const uint8_t *)"garbage", 7, &truth);
    fx_result_clear(&truth);
    free(buf);
    teardown_env(&re);
}

static void test_unclaimed_file_may_change(void **state)
{
    (void)state;
    /* c.bin holds no verified piece, so changing it keeps the data valid. */
    resume_env re;
    setup_written(&re, false);
    size_t len = 0;
    fx_result truth;
    uint8_t *buf = check_and_save(&re, &len, &truth);
    char *c = fx_path(re.e.dir, "res/c.bin");
    assert_int_equal(fx_write_file(c, "x", 1), 0);
    int64_t read = -1;
    fx_result r = run_check(&re, buf, len, &read);
    assert_true(r.resume_accepted);
    assert_int_equal(read, 0);
    fx_result_clear(&r);
    free(c);
    fx_result_clear(&truth);
    free(buf);
    teardown_env(&re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_engine_keys_alongside),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_resume_skips_hashing),
        cmocka_unit_test(test_changed_mtime_invalidates),
        cmocka_unit_test(test_changed_size_invalidates),
        cmocka_unit_test(test_wrong_torrent_or_garbage_invalidates),
        cmocka_unit_test(test_unclaimed_file_may_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
