/* Unit tests for the metainfo loader (core/torrent): torrents are built with
 * the bencode encoder, or written by hand when they must be malformed in ways
 * the encoder refuses. Fixture .torrent files made by real tools live in
 * tests/data/. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/bencode.h>
#include <cswarm/torrent_info.h>

#include "base/sha.h"
#include "torrent/torrent.h"

/* ---- a small torrent builder ---- */

typedef struct tfile {
    const char *path; /* components separated by '|'; NULL = no "path" key */
    int64_t length;
    bool no_length;
    const char *attr;    /* BEP 47 attr, or NULL */
    const char *symlink; /* '|'-separated symlink path, or NULL */
    const char *path_utf8;
} tfile;

typedef struct tspec {
    const char *name; /* NULL = no "name" */
    const char *name_utf8;
    int64_t piece_length; /* 0 = 16384 */
    bool no_piece_length;
    int64_t length; /* single-file torrent when nfiles == 0 and !files_empty */
    tfile files[12];
    int nfiles;
    bool files_empty;
    int extra_hashes; /* hashes beyond (or, negative, short of) the right count */
    bool no_pieces;
    int64_t meta_version; /* 0 = absent */
    bool private_;
    void (*info_extra)(sw_bencoder *enc, const struct tspec *s);
    void (*root_extra)(sw_bencoder *enc, const struct tspec *s);
    const void *ctx;
} tspec;

static int64_t spec_piece_length(const tspec *s)
{
    return s->piece_length ? s->piece_length : 16384;
}

static int64_t spec_total(const tspec *s)
{
    if (!s->nfiles)
        return s->length;
    int64_t t = 0;
    for (int i = 0; i < s->nfiles; i++) {
        const tfile *f = &s->files[i];
        bool symlink = f->attr && strchr(f->attr, 'l') && f->symlink;
        if (!symlink)
            t += f->length;
    }
    return t;
}

static void put_path(sw_bencoder *enc, const char *key, const char *path)
{
    sw_benc_ckey(enc, key);
    sw_benc_list_begin(enc);
    while (path) {
        const char *bar = strchr(path, '|');
        size_t n = bar ? (size_t)(bar - path) : strlen(path);
        sw_benc_str(enc, path, n);
        path = bar ? bar + 1 : NULL;
    }
    sw_benc_end(enc);
}

static void put_hashes(sw_bencoder *enc, int64_t count)
{
    uint8_t *h = calloc((size_t)(count > 0 ? count : 1), SW_SHA1_LEN);
    assert_non_null(h);
    for (int64_t i = 0; i < count * SW_SHA1_LEN; i++)
        h[i] = (uint8_t)(i * 7 + i / SW_SHA1_LEN);
    sw_benc_ckey(enc, "pieces");
    sw_benc_str(enc, h, (size_t)(count * SW_SHA1_LEN));
    free(h);
}

static void put_info(sw_bencoder *enc, const tspec *s)
{
    sw_benc_dict_begin(enc);
    if (s->name) {
        sw_benc_ckey(enc, "name");
        sw_benc_cstr(enc, s->name);
    }
    if (s->name_utf8) {
        sw_benc_ckey(enc, "name.utf-8");
        sw_benc_cstr(enc, s->name_utf8);
    }
    if (!s->no_piece_length) {
        sw_benc_ckey(enc, "piece length");
        sw_benc_int(enc, spec_piece_length(s));
    }
    if (s->nfiles || s->files_empty) {
        sw_benc_ckey(enc, "files");
        sw_benc_list_begin(enc);
        for (int i = 0; i < s->nfiles; i++) {
            const tfile *f = &s->files[i];
            sw_benc_dict_begin(enc);
            if (!f->no_length) {
                sw_benc_ckey(enc, "length");
                sw_benc_int(enc, f->length);
            }
            if (f->path)
                put_path(enc, "path", f->path);
            if (f->path_utf8)
                put_path(enc, "path.utf-8", f->path_utf8);
            if (f->attr) {
                sw_benc_ckey(enc, "attr");
                sw_benc_cstr(enc, f->attr);
            }
            if (f->symlink)
                put_path(enc, "symlink path", f->symlink);
            sw_benc_end(enc);
        }
        sw_benc_end(enc);
    } else {
        sw_benc_ckey(enc, "length");
        sw_benc_int(enc, s->length);
    }
    if (!s->no_pieces) {
        int64_t total = spec_total(s), pl = spec_piece_length(s);
        int64_t count = total > 0 && pl > 0 ? (total + pl - 1) / pl : 0;
        put_hashes(enc, count + s->extra_hashes);
    }
    if (s->meta_version) {
        sw_benc_ckey(enc, "meta version");
        sw_benc_int(enc, s->meta_version);
    }
    if (s->private_) {
        sw_benc_ckey(enc, "private");
        sw_benc_int(enc, 1);
    }
    if (s->info_extra)
        s->info_extra(enc, s);
    sw_benc_end(enc);
}

static uint8_t *finish(sw_bencoder *enc, size_t *len)
{
    uint8_t *buf = NULL;
    int rc = sw_benc_finish(enc, &buf, len);
    if (rc)
        print_error("encoder: %s\n", sw_err_name(rc));
    assert_int_equal(rc, 0);
    sw_benc_free(enc);
    return buf;
}

static uint8_t *build(const tspec *s, size_t *len)
{
    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    sw_benc_dict_begin(enc);
    sw_benc_ckey(enc, "info");
    put_info(enc, s);
    if (s->root_extra)
        s->root_extra(enc, s);
    sw_benc_end(enc);
    return finish(enc, len);
}

static uint8_t *build_info(const tspec *s, size_t *len)
{
    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    put_info(enc, s);
    return finish(enc, len);
}

static sw_torrent_info *load_ok(const void *buf, size_t len)
{
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    int rc = sw_torrent_info_load(buf, len, NULL, &ti, &err);
    if (rc)
        print_error("load failed: %s: %s (offset %lld)\n", sw_err_name(rc), err.message,
                    (long long)err.offset);
    assert_int_equal(rc, 0);
    assert_int_equal(err.code, 0);
    assert_non_null(ti);
    return ti;
}

static sw_torrent_info *load_spec(const tspec *s)
{
    size_t len;
    uint8_t *buf = build(s, &len);
    sw_torrent_info *ti = load_ok(buf, len);
    free(buf);
    return ti;
}

/* Loading fails with code; returns the error detail for further checks. */
static sw_error_detail load_fail_buf(const void *buf, size_t len, const sw_load_opts *opts,
                                     int code)
{
    sw_torrent_info *ti = (sw_torrent_info *)(uintptr_t)0x1;
    sw_error_detail err;
    int rc = sw_torrent_info_load(buf, len, opts, &ti, &err);
    if (rc != code)
        print_error("expected %s, got %s: %s\n", sw_err_name(code), sw_err_name(rc), err.message);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_true(err.message[0] != '\0');
    assert_null(strchr(err.message, '\n'));
    assert_ptr_equal(ti, (sw_torrent_info *)(uintptr_t)0x1); /* untouched */
    return err;
}

static sw_error_detail load_fail(const tspec *s, int code)
{
    size_t len;
    uint8_t *buf = build(s, &len);
    sw_error_detail err = load_fail_buf(buf, len, NULL, code);
    free(buf);
    return err;
}

static sw_error_detail load_fail_str(const char *bencoded, int code)
{
    return load_fail_buf(bencoded, strlen(bencoded), NULL, code);
}

/* Every invariant a loaded torrent promises, checked the slow way. */
static void check_invariants(const sw_torrent_info *ti)
{
    int64_t total = sw_torrent_info_total_size(ti);
    int pl = sw_torrent_info_piece_length(ti);
    int np = sw_torrent_info_num_pieces(ti);
    assert_true(total > 0 && pl > 0);
    assert_int_equal(np, (total + pl - 1) / pl);
    int64_t offset = 0;
    for (int i = 0; i < sw_torrent_info_num_files(ti); i++) {
        const sw_file_entry *fe = sw_torrent_info_file(ti, i);
        assert_true(sw__path_is_safe(fe->path));
        assert_int_equal(fe->offset, offset);
        offset += fe->size;
        if (sw_torrent_info_is_multi_file(ti)) {
            size_t n = strlen(sw_torrent_info_name(ti));
            assert_memory_equal(fe->path, sw_torrent_info_name(ti), n);
            assert_int_equal(fe->path[n], '/');
        }
        if (fe->flags & SW_FILE_SYMLINK)
            assert_true(sw__path_is_safe(fe->symlink_target));
        else
            assert_null(fe->symlink_target);
    }
    assert_int_equal(offset, total);
    int64_t covered = 0;
    for (int p = 0; p < np; p++) {
        sw_file_slice slices[16];
        int ps = sw_torrent_info_piece_size(ti, p);
        int n = sw_torrent_info_map_block(ti, p, 0, ps, slices, 16);
        assert_true(n >= 1 && n <= 16);
        int64_t sum = 0;
        for (int k = 0; k < n; k++) {
            const sw_file_entry *fe = sw_torrent_info_file(ti, slices[k].file_index);
            assert_non_null(fe);
            assert_true(slices[k].size > 0);
            assert_true(slices[k].offset >= 0 && slices[k].offset + slices[k].size <= fe->size);
            assert_int_equal(fe->offset + slices[k].offset, (int64_t)p * pl + sum);
            sum += slices[k].size;
        }
        assert_int_equal(sum, ps);
        covered += sum;
        assert_non_null(sw_torrent_info_piece_hash(ti, p));
    }
    assert_int_equal(covered, total);
    assert_null(sw_torrent_info_piece_hash(ti, np));
    assert_null(sw_torrent_info_piece_hash(ti, -1));
    assert_null(sw_torrent_info_file(ti, sw_torrent_info_num_files(ti)));
}

/* ---- well-formed torrents ---- */

static void test_single_file(void **state)
{
    (void)state;
    tspec s = {.name = "file.bin", .length = 100000};
    size_t len;
    uint8_t *buf = build(&s, &len);
    sw_torrent_info *ti = load_ok(buf, len);

    assert_string_equal(sw_torrent_info_name(ti), "file.bin");
    assert_false(sw_torrent_info_is_multi_file(ti));
    assert_false(sw_torrent_info_is_hybrid(ti));
    assert_int_equal(sw_torrent_info_total_size(ti), 100000);
    assert_int_equal(sw_torrent_info_piece_length(ti), 16384);
    assert_int_equal(sw_torrent_info_num_pieces(ti), 7);
    assert_int_equal(sw_torrent_info_piece_size(ti, 0), 16384);
    assert_int_equal(sw_torrent_info_piece_size(ti, 6), 100000 - 6 * 16384);
    assert_int_equal(sw_torrent_info_piece_size(ti, 7), 0);
    assert_int_equal(sw_torrent_info_num_files(ti), 1);
    const sw_file_entry *fe = sw_torrent_info_file(ti, 0);
    assert_string_equal(fe->path, "file.bin");
    assert_int_equal(fe->size, 100000);
    assert_int_equal(fe->flags, 0);
    const uint8_t *h = sw_torrent_info_piece_hash(ti, 1);
    assert_int_equal(h[0], (uint8_t)(20 * 7 + 1));

    /* The info-hash covers exactly the info dictionary's bytes. */
    size_t info_len;
    const uint8_t *info = sw_torrent_info_info_section(ti, &info_len);
    assert_true(info_len > 0 && info[0] == 'd' && info[info_len - 1] == 'e');
    assert_int_equal(info - sw_torrent_info_metainfo(ti, NULL), strlen("d4:info"));
    assert_int_equal(info_len, len - strlen("d4:info") - 1);
    sw_sha1 want;
    assert_int_equal(sw__sha1(buf + 7, len - 8, &want), 0);
    const sw_info_hashes *ih = sw_torrent_info_hashes(ti);
    assert_true(ih->has_v1);
    assert_false(ih->has_v2);
    assert_memory_equal(ih->v1.v, want.v, SW_SHA1_LEN);
    size_t meta_len;
    assert_memory_equal(sw_torrent_info_metainfo(ti, &meta_len), buf, len);
    assert_int_equal(meta_len, len);

    assert_int_equal(sw_torrent_info_num_trackers(ti), 0);
    assert_null(sw_torrent_info_comment(ti));
    assert_null(sw_torrent_info_created_by(ti));
    assert_int_equal(sw_torrent_info_creation_date(ti), 0);
    assert_false(sw_torrent_info_is_private(ti));
    check_invariants(ti);
    sw_torrent_info_unref(ti);
    free(buf);
}

static void test_multi_file_layout(void **state)
{
    (void)state;
    tspec s = {.name = "album",
               .piece_length = 100,
               .files = {{.path = "a.txt", .length = 150},
                         {.path = "empty", .length = 0},
                         {.path = "sub|b.txt", .length = 30},
                         {.path = "sub|c.txt", .length = 20},
                         {.path = "z", .length = 101}},
               .nfiles = 5};
    sw_torrent_info *ti = load_spec(&s);
    assert_true(sw_torrent_info_is_multi_file(ti));
    assert_int_equal(sw_torrent_info_total_size(ti), 301);
    assert_int_equal(sw_torrent_info_num_pieces(ti), 4);
    assert_int_equal(sw_torrent_info_piece_size(ti, 3), 1);
    const char *paths[] = {"album/a.txt", "album/empty", "album/sub/b.txt", "album/sub/c.txt",
                           "album/z"};
    int64_t offsets[] = {0, 150, 150, 180, 200};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(sw_torrent_info_file(ti, i)->path, paths[i]);
        assert_int_equal(sw_torrent_info_file(ti, i)->offset, offsets[i]);
    }

    /* Piece 1 = bytes 100..199: a.txt 100..150, b.txt whole, c.txt whole;
     * the empty file never appears. */
    sw_file_slice sl[8];
    int n = sw_torrent_info_map_block(ti, 1, 0, 100, sl, 8);
    assert_int_equal(n, 3);
    assert_int_equal(sl[0].file_index, 0);
    assert_int_equal(sl[0].offset, 100);
    assert_int_equal(sl[0].size, 50);
    assert_int_equal(sl[1].file_index, 2);
    assert_int_equal(sl[1].offset, 0);
    assert_int_equal(sl[1].size, 30);
    assert_int_equal(sl[2].file_index, 3);
    assert_int_equal(sl[2].size, 20);

    /* A block inside one piece, and asking for the count only. */
    n = sw_torrent_info_map_block(ti, 1, 60, 25, sl, 8);
    assert_int_equal(n, 2);
    assert_int_equal(sl[0].file_index, 2);
    assert_int_equal(sl[0].offset, 10);
    assert_int_equal(sl[0].size, 20);
    assert_int_equal(sl[1].file_index, 3);
    assert_int_equal(sl[1].offset, 0);
    assert_int_equal(sl[1].size, 5);
    assert_int_equal(sw_torrent_info_map_block(ti, 1, 0, 100, NULL, 0), 3);
    assert_int_equal(sw_torrent_info_map_block(ti, 1, 0, 100, sl, 1), 3);
    assert_int_equal(sl[0].file_index, 0);
    assert_int_equal(sw_torrent_info_map_block(ti, 1, 0, 0, sl, 8), 0);

    /* Out of range. */
    assert_int_equal(sw_torrent_info_map_block(ti, 4, 0, 1, sl, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_map_block(ti, -1, 0, 1, sl, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_map_block(ti, 3, 0, 2, sl, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_map_block(ti, 0, -1, 2, sl, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_map_block(ti, 0, 99, 2, sl, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_map_block(ti, 0, 0, -1, sl, 8), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_map_block(ti, 0, INT64_MAX, INT64_MAX, sl, 8),
                     SW_ERR_INVALID_ARG);

    int first, last;
    assert_true(sw_torrent_info_file_pieces(ti, 0, &first, &last));
    assert_int_equal(first, 0);
    assert_int_equal(last, 1);
    assert_false(sw_torrent_info_file_pieces(ti, 1, &first, &last)); /* empty */
    assert_true(sw_torrent_info_file_pieces(ti, 3, &first, &last));
    assert_int_equal(first, 1);
    assert_int_equal(last, 1);
    assert_true(sw_torrent_info_file_pieces(ti, 4, &first, &last));
    assert_int_equal(first, 2);
    assert_int_equal(last, 3);
    assert_false(sw_torrent_info_file_pieces(ti, 5, &first, &last));
    assert_false(sw_torrent_info_file_pieces(ti, -1, &first, &last));
    check_invariants(ti);
    sw_torrent_info_unref(ti);
}

static void test_utf8_variants_preferred(void **state)
{
    (void)state;
    tspec s = {.name = "legacy\xE9",
               .name_utf8 = "caf\xC3\xA9",
               .files = {{.path = "old\xE9", .path_utf8 = "n\xC3\xA9w", .length = 5},
                         {.path = "only-path", .length = 5}},
               .nfiles = 2};
    sw_torrent_info *ti = load_spec(&s);
    assert_string_equal(sw_torrent_info_name(ti), "caf\xC3\xA9");
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, "caf\xC3\xA9/n\xC3\xA9w");
    assert_string_equal(sw_torrent_info_file(ti, 1)->path, "caf\xC3\xA9/only-path");
    sw_torrent_info_unref(ti);

    /* Without the UTF-8 variants, invalid bytes are replaced. */
    tspec s2 = {.name = "legacy\xE9", .files = {{.path = "old\xE9", .length = 5}}, .nfiles = 1};
    ti = load_spec(&s2);
    assert_string_equal(sw_torrent_info_name(ti), "legacy_");
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, "legacy_/old_");
    sw_torrent_info_unref(ti);
}

static void put_str_list(sw_bencoder *enc, const char *const *items)
{
    sw_benc_list_begin(enc);
    for (; *items; items++)
        sw_benc_cstr(enc, *items);
    sw_benc_end(enc);
}

static void root_trackers(sw_bencoder *enc, const tspec *s)
{
    (void)s;
    sw_benc_ckey(enc, "announce");
    sw_benc_cstr(enc, "http://ignored/announce");
    sw_benc_ckey(enc, "announce-list");
    sw_benc_list_begin(enc);
    put_str_list(enc, (const char *const[]){"http://a/ann", " udp://b:80 ", NULL});
    put_str_list(enc, (const char *const[]){"", "http://a/ann", "bad\x01url", "\xFF", NULL});
    sw_benc_int(enc, 5); /* not a tier */
    put_str_list(enc, (const char *const[]){"http://c/ann", "udp://b:80", "http://d/ann", NULL});
    sw_benc_end(enc);
}

static void test_announce_list_tiers(void **state)
{
    (void)state;
    tspec s = {.name = "x", .length = 10, .root_extra = root_trackers};
    sw_torrent_info *ti = load_spec(&s);
    const char *urls[] = {"http://a/ann", "udp://b:80", "http://c/ann", "http://d/ann"};
    int tiers[] = {0, 0, 1, 1};
    assert_int_equal(sw_torrent_info_num_trackers(ti), 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(sw_torrent_info_tracker(ti, i)->url, urls[i]);
        assert_int_equal(sw_torrent_info_tracker(ti, i)->tier, tiers[i]);
    }
    assert_null(sw_torrent_info_tracker(ti, 4));
    assert_null(sw_torrent_info_tracker(ti, -1));
    sw_torrent_info_unref(ti);
}

static void root_announce_only(sw_bencoder *enc, const tspec *s)
{
    sw_benc_ckey(enc, "announce");
    sw_benc_cstr(enc, "http://only/announce");
    if (s->ctx) {
        /* An announce-list that yields nothing. */
        sw_benc_ckey(enc, "announce-list");
        sw_benc_list_begin(enc);
        put_str_list(enc, (const char *const[]){"", "  ", NULL});
        sw_benc_list_begin(enc);
        sw_benc_end(enc);
        sw_benc_end(enc);
    }
}

static void test_announce_fallback(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        tspec s = {.name = "x",
                   .length = 10,
                   .root_extra = root_announce_only,
                   .ctx = variant ? "empty list" : NULL};
        sw_torrent_info *ti = load_spec(&s);
        assert_int_equal(sw_torrent_info_num_trackers(ti), 1);
        assert_string_equal(sw_torrent_info_tracker(ti, 0)->url, "http://only/announce");
        assert_int_equal(sw_torrent_info_tracker(ti, 0)->tier, 0);
        sw_torrent_info_unref(ti);
    }
}

static void root_seeds_and_more(sw_bencoder *enc, const tspec *s)
{
    if (s->ctx) {
        sw_benc_ckey(enc, "url-list");
        sw_benc_cstr(enc, "http://ws/one");
        sw_benc_ckey(enc, "httpseeds");
        sw_benc_cstr(enc, "http://hs/seed");
        sw_benc_ckey(enc, "comment");
        sw_benc_cstr(enc, "bad\xFF");
        return;
    }
    sw_benc_ckey(enc, "url-list");
    put_str_list(enc,
                 (const char *const[]){"http://ws/a/", "", "http://ws/b/", "http://ws/a/", NULL});
    sw_benc_ckey(enc, "httpseeds");
    put_str_list(enc, (const char *const[]){"http://hs/1", "http://hs/2", NULL});
    sw_benc_ckey(enc, "nodes");
    sw_benc_list_begin(enc);
    sw_benc_list_begin(enc);
    sw_benc_cstr(enc, "router.example");
    sw_benc_int(enc, 6881);
    sw_benc_end(enc);
    sw_benc_list_begin(enc); /* bad port */
    sw_benc_cstr(enc, "x");
    sw_benc_int(enc, 70000);
    sw_benc_end(enc);
    sw_benc_list_begin(enc); /* host not a string */
    sw_benc_int(enc, 1);
    sw_benc_int(enc, 1);
    sw_benc_end(enc);
    sw_benc_cstr(enc, "not a pair");
    sw_benc_list_begin(enc);
    sw_benc_cstr(enc, "10.0.0.1");
    sw_benc_int(enc, 1);
    sw_benc_end(enc);
    sw_benc_end(enc);
    sw_benc_ckey(enc, "creation date");
    sw_benc_int(enc, 1700000000);
    sw_benc_ckey(enc, "comment");
    sw_benc_cstr(enc, "plain");
    sw_benc_ckey(enc, "comment.utf-8");
    sw_benc_cstr(enc, "pr\xC3\xA9"
                      "f\xC3\xA9r\xC3\xA9");
    sw_benc_ckey(enc, "created by");
    sw_benc_cstr(enc, "tool 1.0");
}

static void test_seeds_nodes_and_text(void **state)
{
    (void)state;
    tspec s = {.name = "x", .length = 10, .root_extra = root_seeds_and_more, .private_ = true};
    sw_torrent_info *ti = load_spec(&s);
    assert_int_equal(sw_torrent_info_num_web_seeds(ti), 2);
    assert_string_equal(sw_torrent_info_web_seed(ti, 0), "http://ws/a/");
    assert_string_equal(sw_torrent_info_web_seed(ti, 1), "http://ws/b/");
    assert_null(sw_torrent_info_web_seed(ti, 2));
    assert_int_equal(sw_torrent_info_num_http_seeds(ti), 2);
    assert_string_equal(sw_torrent_info_http_seed(ti, 1), "http://hs/2");
    assert_int_equal(sw_torrent_info_num_dht_nodes(ti), 2);
    assert_string_equal(sw_torrent_info_dht_node(ti, 0)->host, "router.example");
    assert_int_equal(sw_torrent_info_dht_node(ti, 0)->port, 6881);
    assert_string_equal(sw_torrent_info_dht_node(ti, 1)->host, "10.0.0.1");
    assert_null(sw_torrent_info_dht_node(ti, 2));
    assert_int_equal(sw_torrent_info_creation_date(ti), 1700000000);
    assert_string_equal(sw_torrent_info_comment(ti), "pr\xC3\xA9"
                                                     "f\xC3\xA9r\xC3\xA9");
    assert_string_equal(sw_torrent_info_created_by(ti), "tool 1.0");
    assert_true(sw_torrent_info_is_private(ti));
    sw_torrent_info_unref(ti);

    tspec s2 = {.name = "x", .length = 10, .root_extra = root_seeds_and_more, .ctx = "strings"};
    ti = load_spec(&s2);
    assert_int_equal(sw_torrent_info_num_web_seeds(ti), 1);
    assert_string_equal(sw_torrent_info_web_seed(ti, 0), "http://ws/one");
    assert_int_equal(sw_torrent_info_num_http_seeds(ti), 1);
    assert_string_equal(sw_torrent_info_http_seed(ti, 0), "http://hs/seed");
    assert_string_equal(sw_torrent_info_comment(ti), "bad\xEF\xBF\xBD");
    assert_false(sw_torrent_info_is_private(ti));
    sw_torrent_info_unref(ti);
}

static void test_pad_files_and_attributes(void **state)
{
    (void)state;
    tspec s = {.name = "t",
               .piece_length = 16384,
               .files = {{.path = "a", .length = 1000},
                         {.path = ".pad|15384", .length = 15384, .attr = "p"},
                         {.path = "run.sh", .length = 10, .attr = "xh?"},
                         {.length = 16374, .attr = "p"}, /* pad without a path */
                         {.path = "link", .length = 999, .attr = "l", .symlink = "..|a"},
                         {.path = "dangling", .length = 7, .attr = "l"}, /* no target */
                         {.path = "_____padding_file_0_bitcomet", .length = 1},
                         {.path = "b", .length = 5}},
               .nfiles = 8};
    sw_torrent_info *ti = load_spec(&s);
    assert_int_equal(sw_torrent_info_num_files(ti), 8);
    const sw_file_entry *f = sw_torrent_info_file(ti, 0);
    assert_int_equal(f->flags, 0);
    f = sw_torrent_info_file(ti, 1);
    assert_int_equal(f->flags, SW_FILE_PAD);
    assert_string_equal(f->path, "t/.pad/15384");
    f = sw_torrent_info_file(ti, 2);
    assert_int_equal(f->flags, SW_FILE_EXECUTABLE | SW_FILE_HIDDEN);
    assert_int_equal(f->offset, 16384);
    f = sw_torrent_info_file(ti, 3);
    assert_int_equal(f->flags, SW_FILE_PAD);
    assert_string_equal(f->path, "t/.pad/16374");
    f = sw_torrent_info_file(ti, 4);
    assert_int_equal(f->flags, SW_FILE_SYMLINK);
    assert_int_equal(f->size, 0); /* symlinks take no space, whatever length says */
    assert_string_equal(f->symlink_target, "t/a");
    assert_int_equal(f->offset, 32768);
    f = sw_torrent_info_file(ti, 5);
    assert_int_equal(f->flags, 0);
    assert_int_equal(f->size, 7);
    assert_null(f->symlink_target);
    f = sw_torrent_info_file(ti, 6);
    assert_int_equal(f->flags, SW_FILE_PAD);
    assert_int_equal(sw_torrent_info_total_size(ti), 32768 + 7 + 1 + 5);
    /* map_block reports pad files so callers can skip them. */
    sw_file_slice sl[4];
    assert_int_equal(sw_torrent_info_map_block(ti, 0, 0, 16384, sl, 4), 2);
    assert_int_equal(sl[1].file_index, 1);
    check_invariants(ti);
    sw_torrent_info_unref(ti);
}

static void test_hostile_paths_neutralised(void **state)
{
    (void)state;
    tspec s = {.name = "t",
               .files = {{.path = "..|..|etc|passwd", .length = 1},
                         {.path = "/", .length = 1},
                         {.path = ".|..|", .length = 1},
                         {.path = "C:\\Windows|system32", .length = 1},
                         {.path = "CON|aux.txt", .length = 1},
                         {.path = "trail. ", .length = 1},
                         {.path = "Dup", .length = 1},
                         {.path = "dup", .length = 1},
                         {.path = "dir|x", .length = 1},
                         {.path = "DIR", .length = 1}},
               .nfiles = 10};
    sw_torrent_info *ti = load_spec(&s);
    const char *want[] = {"t/etc/passwd",    "t/_",       "t/_.1", "t/C:_Windows/system32",
                          "t/CON_/aux_.txt", "t/trail__", "t/Dup", "t/dup.1",
                          "t/dir/x",         "t/DIR.1"};
    for (int i = 0; i < 10; i++)
        assert_string_equal(sw_torrent_info_file(ti, i)->path, want[i]);
    check_invariants(ti);
    sw_torrent_info_unref(ti);
}

static void test_hostile_names(void **state)
{
    (void)state;
    /* A name that sanitises to nothing becomes the info-hash in hex. */
    const char *names[] = {"..", ".", ""};
    for (int i = 0; i < 3; i++) {
        tspec s = {.name = names[i], .files = {{.path = "f", .length = 3}}, .nfiles = 1};
        sw_torrent_info *ti = load_spec(&s);
        char hex[41];
        sw_hex_encode(sw_torrent_info_hashes(ti)->v1.v, 20, hex);
        assert_string_equal(sw_torrent_info_name(ti), hex);
        char path[64];
        snprintf(path, sizeof path, "%s/f", hex);
        assert_string_equal(sw_torrent_info_file(ti, 0)->path, path);
        sw_torrent_info_unref(ti);
    }
    tspec s = {.name = "/", .length = 3};
    sw_torrent_info *ti = load_spec(&s);
    assert_string_equal(sw_torrent_info_name(ti), "_");
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, "_");
    sw_torrent_info_unref(ti);

    tspec s2 = {.name = "../../x", .files = {{.path = "f", .length = 3}}, .nfiles = 1};
    ti = load_spec(&s2);
    assert_string_equal(sw_torrent_info_name(ti), ".._.._x");
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, ".._.._x/f");
    sw_torrent_info_unref(ti);

    tspec s3 = {.name = "nul", .length = 3};
    ti = load_spec(&s3);
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, "nul_");
    sw_torrent_info_unref(ti);
}

static void test_binary_path_components(void **state)
{
    (void)state;
    /* NUL and separators inside components, written by hand. */
    const char t[] = "d4:infod5:filesld6:lengthi1e4:pathl3:a\0b3:c/de"
                     "ee4:name1:n12:piece lengthi16e6:pieces20:AAAAAAAAAAAAAAAAAAAAee";
    sw_torrent_info *ti = load_ok(t, sizeof t - 1);
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, "n/a_b/c_d");
    sw_torrent_info_unref(ti);
}

static void test_refcount(void **state)
{
    (void)state;
    tspec s = {.name = "x", .length = 10};
    sw_torrent_info *ti = load_spec(&s);
    assert_ptr_equal(sw_torrent_info_ref(ti), ti);
    assert_ptr_equal(sw_torrent_info_ref(ti), ti);
    sw_torrent_info_unref(ti);
    sw_torrent_info_unref(ti);
    assert_string_equal(sw_torrent_info_name(ti), "x"); /* one reference left */
    sw_torrent_info_unref(ti);
    sw_torrent_info_unref(NULL);
    assert_null(sw_torrent_info_ref(NULL));
}

/* ---- hybrid and v2 ---- */

typedef struct tree_file {
    const char *key; /* '|'-separated under the tree root */
    int64_t length;
} tree_file;

/* Writes a "file tree" for a list of files sorted the way the tree sorts. */
static void put_tree_level(sw_bencoder *enc, const tree_file *files, int n, int depth)
{
    sw_benc_dict_begin(enc);
    for (int i = 0; i < n;) {
        /* Component at this depth. */
        const char *p = files[i].key;
        for (int d = 0; d < depth; d++)
            p = strchr(p, '|') + 1;
        const char *bar = strchr(p, '|');
        size_t clen = bar ? (size_t)(bar - p) : strlen(p);
        sw_benc_key(enc, p, clen);
        if (!bar) {
            sw_benc_dict_begin(enc);
            sw_benc_key(enc, "", 0);
            sw_benc_dict_begin(enc);
            sw_benc_ckey(enc, "length");
            sw_benc_int(enc, files[i].length);
            if (files[i].length > 0) {
                uint8_t root[32];
                memset(root, 0x5A, sizeof root);
                sw_benc_ckey(enc, "pieces root");
                sw_benc_str(enc, root, sizeof root);
            }
            sw_benc_end(enc);
            sw_benc_end(enc);
            i++;
            continue;
        }
        int j = i;
        while (j < n) {
            const char *q = files[j].key;
            for (int d = 0; d < depth; d++)
                q = strchr(q, '|') + 1;
            if (strncmp(q, p, clen) != 0 || q[clen] != '|')
                break;
            j++;
        }
        put_tree_level(enc, files + i, j - i, depth + 1);
        i = j;
    }
    sw_benc_end(enc);
}

static void info_file_tree(sw_bencoder *enc, const tspec *s)
{
    const tree_file *tree = s->ctx;
    int n = 0;
    while (tree[n].key)
        n++;
    sw_benc_ckey(enc, "file tree");
    put_tree_level(enc, tree, n, 0);
}

static const tree_file hybrid_tree[] = {
    {"a.bin", 20000}, {"empty", 0}, {"sub|b.bin", 16384}, {"sub|c.bin", 5}, {NULL, 0}};

static tspec hybrid_spec(void)
{
    tspec s = {.name = "hy",
               .piece_length = 16384,
               .meta_version = 2,
               .files = {{.path = "a.bin", .length = 20000},
                         {.path = ".pad|12768", .length = 12768, .attr = "p"},
                         {.path = "empty", .length = 0},
                         {.path = "sub|b.bin", .length = 16384},
                         {.path = "sub|c.bin", .length = 5}},
               .nfiles = 5,
               .info_extra = info_file_tree,
               .ctx = hybrid_tree};
    return s;
}

static void test_hybrid_loads_as_v1(void **state)
{
    (void)state;
    tspec s = hybrid_spec();
    size_t len;
    uint8_t *buf = build(&s, &len);
    sw_torrent_info *ti = load_ok(buf, len);
    assert_true(sw_torrent_info_is_hybrid(ti));
    const sw_info_hashes *ih = sw_torrent_info_hashes(ti);
    assert_true(ih->has_v1);
    assert_true(ih->has_v2);
    size_t info_len;
    const uint8_t *info = sw_torrent_info_info_section(ti, &info_len);
    sw_sha1 v1;
    sw_sha256 v2;
    assert_int_equal(sw__sha1(info, info_len, &v1), 0);
    assert_int_equal(sw__sha256(info, info_len, &v2), 0);
    assert_memory_equal(ih->v1.v, v1.v, 20);
    assert_memory_equal(ih->v2.v, v2.v, 32);
    assert_int_equal(sw_torrent_info_num_files(ti), 5);
    assert_true(sw_torrent_info_file(ti, 1)->flags & SW_FILE_PAD);
    assert_int_equal(sw_torrent_info_file(ti, 3)->offset, 32768);
    assert_int_equal(sw_torrent_info_num_pieces(ti), 4);
    check_invariants(ti);
    sw_torrent_info_unref(ti);
    free(buf);
}

static void test_hybrid_inconsistent_refused(void **state)
{
    (void)state;
    static const tree_file wrong_size[] = {
        {"a.bin", 20001}, {"empty", 0}, {"sub|b.bin", 16384}, {"sub|c.bin", 5}, {NULL, 0}};
    static const tree_file wrong_name[] = {
        {"a.bin", 20000}, {"empty", 0}, {"sub|B.bin", 16384}, {"sub|c.bin", 5}, {NULL, 0}};
    static const tree_file missing[] = {
        {"a.bin", 20000}, {"empty", 0}, {"sub|b.bin", 16384}, {NULL, 0}};
    static const tree_file extra[] = {{"a.bin", 20000}, {"empty", 0}, {"sub|b.bin", 16384},
                                      {"sub|c.bin", 5}, {"z", 1},     {NULL, 0}};
    const tree_file *trees[] = {wrong_size, wrong_name, missing, extra};
    for (int i = 0; i < 4; i++) {
        tspec s = hybrid_spec();
        s.ctx = trees[i];
        load_fail(&s, SW_ERR_METAINFO_BAD_V2);
    }

    /* Files not piece-aligned (no pad file). */
    static const tree_file two[] = {{"a", 100}, {"b", 100}, {NULL, 0}};
    tspec s = {.name = "hy",
               .meta_version = 2,
               .files = {{.path = "a", .length = 100}, {.path = "b", .length = 100}},
               .nfiles = 2,
               .info_extra = info_file_tree,
               .ctx = two};
    sw_error_detail err = load_fail(&s, SW_ERR_METAINFO_BAD_V2);
    assert_non_null(strstr(err.message, "piece boundary"));

    /* v2 needs a power-of-two piece length of at least 16 KiB. */
    s = hybrid_spec();
    s.piece_length = 3 * 16384;
    load_fail(&s, SW_ERR_METAINFO_BAD_V2);

    /* meta version 2 without a file tree. */
    s = hybrid_spec();
    s.info_extra = NULL;
    load_fail(&s, SW_ERR_METAINFO_BAD_V2);
}

static void test_v2_only_refused(void **state)
{
    (void)state;
    tspec s = hybrid_spec();
    s.no_pieces = true;
    sw_error_detail err = load_fail(&s, SW_ERR_METAINFO_V2_ONLY);
    assert_non_null(strstr(err.message, "v2"));
    /* A file tree without pieces, even with no meta version. */
    s.meta_version = 0;
    load_fail(&s, SW_ERR_METAINFO_V2_ONLY);
    /* An unknown future version. */
    s = hybrid_spec();
    s.meta_version = 3;
    load_fail(&s, SW_ERR_METAINFO_BAD_V2);
}

static void test_single_file_hybrid(void **state)
{
    (void)state;
    static const tree_file one[] = {{"solo.bin", 40000}, {NULL, 0}};
    tspec s = {.name = "solo.bin",
               .length = 40000,
               .meta_version = 2,
               .info_extra = info_file_tree,
               .ctx = one};
    sw_torrent_info *ti = load_spec(&s);
    assert_true(sw_torrent_info_hashes(ti)->has_v2);
    assert_false(sw_torrent_info_is_multi_file(ti));
    sw_torrent_info_unref(ti);
}

/* ---- BEP 9 metadata ---- */

static void test_from_info_dict(void **state)
{
    (void)state;
    tspec s = {.name = "m", .files = {{.path = "a", .length = 40000}}, .nfiles = 1};
    size_t len;
    uint8_t *info = build_info(&s, &len);
    sw_sha1 good;
    assert_int_equal(sw__sha1(info, len, &good), 0);

    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    assert_int_equal(sw_torrent_info_from_info_dict(info, len, &good, NULL, &ti, &err), 0);
    assert_memory_equal(sw_torrent_info_hashes(ti)->v1.v, good.v, 20);
    assert_null(sw_torrent_info_metainfo(ti, NULL));
    size_t got_len;
    assert_memory_equal(sw_torrent_info_info_section(ti, &got_len), info, len);
    assert_int_equal(got_len, len);
    assert_int_equal(sw_torrent_info_num_trackers(ti), 0);
    check_invariants(ti);
    sw_torrent_info_unref(ti);

    /* Without an expected hash. */
    ti = NULL;
    assert_int_equal(sw_torrent_info_from_info_dict(info, len, NULL, NULL, &ti, NULL), 0);
    sw_torrent_info_unref(ti);

    sw_sha1 bad = good;
    bad.v[19] ^= 1;
    ti = NULL;
    assert_int_equal(sw_torrent_info_from_info_dict(info, len, &bad, NULL, &ti, &err),
                     SW_ERR_METAINFO_HASH_MISMATCH);
    assert_null(ti);
    assert_int_equal(err.code, SW_ERR_METAINFO_HASH_MISMATCH);

    /* A whole .torrent is not an info dictionary: it has no pieces. */
    size_t tlen;
    uint8_t *whole = build(&s, &tlen);
    assert_int_equal(sw_torrent_info_from_info_dict(whole, tlen, NULL, NULL, &ti, &err),
                     SW_ERR_METAINFO_BAD_PIECES);
    free(whole);
    free(info);
}

/* ---- malformed input ---- */

static void test_not_a_torrent(void **state)
{
    (void)state;
    sw_error_detail err = load_fail_str("i42e", SW_ERR_METAINFO_NOT_DICT);
    assert_int_equal(err.offset, 0);
    load_fail_str("le", SW_ERR_METAINFO_NOT_DICT);
    load_fail_buf("", 0, NULL, SW_ERR_BENCODE_EOF);
    load_fail_str("de", SW_ERR_METAINFO_NO_INFO);
    err = load_fail_str("d4:infoi1ee", SW_ERR_METAINFO_NO_INFO);
    assert_int_equal(err.offset, 7);
    err = load_fail_str("d4:infod4:name1:x", SW_ERR_BENCODE_EOF);
    assert_int_equal(err.offset, 17);
    err = load_fail_str("d4:infod4:name1:x12:piece lengthi1x", SW_ERR_BENCODE_BAD_INT);
    assert_true(err.offset >= 33);
    assert_non_null(strstr(err.message, "bencod"));
}

static void test_missing_and_wrong_keys(void **state)
{
    (void)state;
    tspec s = {.length = 10};
    sw_error_detail err = load_fail(&s, SW_ERR_METAINFO_BAD_NAME);
    assert_int_equal(err.offset, 7); /* the info dictionary lacking it */

    load_fail_str("d4:infod4:namei5e12:piece lengthi16e6:pieces0:6:lengthi1eee",
                  SW_ERR_METAINFO_BAD_NAME);

    s = (tspec){.name = "x", .length = 10, .no_piece_length = true};
    load_fail(&s, SW_ERR_METAINFO_BAD_PIECE_LENGTH);
    load_fail_str("d4:infod6:lengthi1e4:name1:x12:piece length2:166:pieces20:"
                  "AAAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_PIECE_LENGTH);

    s = (tspec){.name = "x", .length = 10, .no_pieces = true};
    load_fail(&s, SW_ERR_METAINFO_BAD_PIECES);
    load_fail_str("d4:infod6:lengthi1e4:name1:x12:piece lengthi16e6:piecesi0eee",
                  SW_ERR_METAINFO_BAD_PIECES);

    /* Neither files nor length. */
    load_fail_str("d4:infod4:name1:x12:piece lengthi16e6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_FILES);
    /* length of the wrong type. */
    load_fail_str("d4:infod6:length1:14:name1:x12:piece lengthi16e6:pieces20:"
                  "AAAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_FILE_LENGTH);
}

static void test_bad_piece_lengths(void **state)
{
    (void)state;
    int64_t bad[] = {0, -16384, (int64_t)SW_TORRENT_MAX_PIECE_LENGTH + 1, INT64_MAX};
    for (int i = 0; i < 4; i++) {
        char t[256];
        snprintf(t, sizeof t,
                 "d4:infod6:lengthi10e4:name1:x12:piece lengthi%" PRId64
                 "e6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
                 bad[i]);
        load_fail_str(t, SW_ERR_METAINFO_BAD_PIECE_LENGTH);
    }
    /* The largest allowed works; a piece length of 1 works too. */
    tspec s = {.name = "x", .length = 3, .piece_length = SW_TORRENT_MAX_PIECE_LENGTH};
    sw_torrent_info *ti = load_spec(&s);
    assert_int_equal(sw_torrent_info_num_pieces(ti), 1);
    assert_int_equal(sw_torrent_info_piece_size(ti, 0), 3);
    sw_torrent_info_unref(ti);
    s.piece_length = 1;
    ti = load_spec(&s);
    assert_int_equal(sw_torrent_info_num_pieces(ti), 3);
    check_invariants(ti);
    sw_torrent_info_unref(ti);
}

static void test_piece_count_mismatch(void **state)
{
    (void)state;
    tspec s = {.name = "x", .length = 16385, .extra_hashes = 1};
    sw_error_detail err = load_fail(&s, SW_ERR_METAINFO_PIECE_COUNT);
    assert_non_null(strstr(err.message, "3 hashes"));
    s.extra_hashes = -1;
    load_fail(&s, SW_ERR_METAINFO_PIECE_COUNT);
    /* Not a whole number of hashes. */
    load_fail_str("d4:infod6:lengthi10e4:name1:x12:piece lengthi16e6:pieces19:"
                  "AAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_PIECES);
}

static void test_bad_file_lengths(void **state)
{
    (void)state;
    const char t[] = "d4:infod6:lengthi-1e4:name1:x12:piece lengthi16e6:pieces0:ee";
    sw_error_detail err = load_fail_str(t, SW_ERR_METAINFO_BAD_FILE_LENGTH);
    assert_int_equal(t[err.offset], 'i'); /* points at the integer */
    assert_int_equal(err.offset, strstr(t, "i-1e") - t);

    tspec s = {.name = "x", .files = {{.path = "a", .length = -5}}, .nfiles = 1};
    load_fail(&s, SW_ERR_METAINFO_BAD_FILE_LENGTH);
    s.files[0] = (tfile){.path = "a", .no_length = true};
    load_fail(&s, SW_ERR_METAINFO_BAD_FILE_LENGTH);

    /* Sizes that overflow int64 when added up. */
    s = (tspec){.name = "x",
                .files = {{.path = "a", .length = INT64_MAX}, {.path = "b", .length = 2}},
                .nfiles = 2,
                .no_pieces = true};
    char big[512];
    snprintf(big, sizeof big,
             "d4:infod5:filesld6:lengthi%" PRId64 "e4:pathl1:aeed6:lengthi2e4:pathl1:beee"
             "4:name1:x12:piece lengthi1073741824e6:pieces0:ee",
             INT64_MAX);
    err = load_fail_str(big, SW_ERR_METAINFO_BAD_FILE_LENGTH);
    assert_non_null(strstr(err.message, "add up"));

    /* A huge total with small pieces: too many pieces. */
    snprintf(big, sizeof big,
             "d4:infod6:lengthi%" PRId64 "e4:name1:x12:piece lengthi1e6:pieces0:ee",
             (int64_t)1 << 40);
    load_fail_str(big, SW_ERR_METAINFO_TOO_LARGE);
}

static void test_bad_file_lists(void **state)
{
    (void)state;
    tspec s = {.name = "x", .files_empty = true};
    load_fail(&s, SW_ERR_METAINFO_BAD_FILES);
    load_fail_str("d4:infod5:files3:abc4:name1:x12:piece lengthi16e6:pieces0:ee",
                  SW_ERR_METAINFO_BAD_FILES);
    load_fail_str("d4:infod5:filesli1ee4:name1:x12:piece lengthi16e6:pieces0:ee",
                  SW_ERR_METAINFO_BAD_FILES);
    /* No path, a path that is not a list, an empty path, a non-string
     * component. */
    s = (tspec){.name = "x", .files = {{.length = 1}}, .nfiles = 1};
    load_fail(&s, SW_ERR_METAINFO_BAD_PATH);
    load_fail_str("d4:infod5:filesld6:lengthi1e4:path1:aee4:name1:x12:piece lengthi16e"
                  "6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_PATH);
    load_fail_str("d4:infod5:filesld6:lengthi1e4:pathleee4:name1:x12:piece lengthi16e"
                  "6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_PATH);
    load_fail_str("d4:infod5:filesld6:lengthi1e4:pathl1:ai3eeee4:name1:x12:piece lengthi16e"
                  "6:pieces20:AAAAAAAAAAAAAAAAAAAAee",
                  SW_ERR_METAINFO_BAD_PATH);
}

static void test_empty_torrent(void **state)
{
    (void)state;
    tspec s = {.name = "x", .files = {{.path = "a"}, {.path = "b"}}, .nfiles = 2};
    load_fail(&s, SW_ERR_METAINFO_EMPTY);
    s = (tspec){.name = "x", .length = 0};
    load_fail(&s, SW_ERR_METAINFO_EMPTY);
}

static void test_limits(void **state)
{
    (void)state;
    tspec s = {.name = "x",
               .files = {{.path = "a", .length = 1},
                         {.path = "b", .length = 1},
                         {.path = "c", .length = 1}},
               .nfiles = 3,
               .piece_length = 1};
    size_t len;
    uint8_t *buf = build(&s, &len);
    sw_load_opts opts = {.max_files = 2};
    load_fail_buf(buf, len, &opts, SW_ERR_METAINFO_TOO_LARGE);
    opts = (sw_load_opts){.max_pieces = 2};
    load_fail_buf(buf, len, &opts, SW_ERR_METAINFO_TOO_LARGE);
    opts = (sw_load_opts){.max_size = (int64_t)len - 1};
    load_fail_buf(buf, len, &opts, SW_ERR_METAINFO_TOO_LARGE);
    opts = (sw_load_opts){.max_size = (int64_t)len, .max_files = 3, .max_pieces = 3};
    sw_torrent_info *ti = NULL;
    assert_int_equal(sw_torrent_info_load(buf, len, &opts, &ti, NULL), 0);
    sw_torrent_info_unref(ti);
    free(buf);

    assert_int_equal(sw_torrent_info_load(NULL, 5, NULL, &ti, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_info_load("de", 2, NULL, NULL, NULL), SW_ERR_INVALID_ARG);
}

static void test_many_files_load_in_linear_time(void **state)
{
    (void)state;
    /* 100k files: every step must be linear (a quadratic walk of the file
     * list, or of the duplicate check, takes minutes here). */
    enum { N = 100000 };
    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    sw_benc_dict_begin(enc);
    sw_benc_ckey(enc, "info");
    sw_benc_dict_begin(enc);
    sw_benc_ckey(enc, "name");
    sw_benc_cstr(enc, "many");
    sw_benc_ckey(enc, "piece length");
    sw_benc_int(enc, 16384);
    sw_benc_ckey(enc, "files");
    sw_benc_list_begin(enc);
    for (int i = 0; i < N; i++) {
        char dir[16], file[32];
        snprintf(dir, sizeof dir, "d%d", i / 1000);
        snprintf(file, sizeof file, i % 10 ? "f%d.bin" : "same.bin", i);
        sw_benc_dict_begin(enc);
        sw_benc_ckey(enc, "length");
        sw_benc_int(enc, 1000);
        sw_benc_ckey(enc, "path");
        sw_benc_list_begin(enc);
        sw_benc_cstr(enc, dir);
        sw_benc_cstr(enc, file);
        sw_benc_end(enc);
        sw_benc_end(enc);
    }
    sw_benc_end(enc);
    put_hashes(enc, ((int64_t)N * 1000 + 16383) / 16384);
    sw_benc_end(enc);
    sw_benc_end(enc);
    size_t len;
    uint8_t *buf = finish(enc, &len);

    clock_t start = clock();
    sw_torrent_info *ti = load_ok(buf, len);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    assert_int_equal(sw_torrent_info_num_files(ti), N);
    assert_string_equal(sw_torrent_info_file(ti, 0)->path, "many/d0/same.bin");
    assert_string_equal(sw_torrent_info_file(ti, 10)->path, "many/d0/same.1.bin");
    assert_string_equal(sw_torrent_info_file(ti, N - 1)->path, "many/d99/f99999.bin");
    sw_torrent_info_unref(ti);
    free(buf);
    if (seconds > 20)
        print_error("loading %d files took %.1f s\n", N, seconds);
    assert_true(seconds < 20);
}

/* ---- files on disk ---- */

static void test_load_file_errors(void **state)
{
    (void)state;
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    assert_int_equal(sw_torrent_info_load_file("/nonexistent/x.torrent", NULL, &ti, &err),
                     SW_ERR_IO);
    assert_int_equal(err.code, SW_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/x.torrent: "));

    char path[] = "/tmp/sw_test_torrent_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fputs("d4:infod6:lengthi-1e4:name1:x12:piece lengthi16e6:pieces0:ee", f);
    fclose(f);
    assert_int_equal(sw_torrent_info_load_file(path, NULL, &ti, &err),
                     SW_ERR_METAINFO_BAD_FILE_LENGTH);
    assert_memory_equal(err.message, path, strlen(path));
    assert_memory_equal(err.message + strlen(path), ": file 0: negative length -1",
                        strlen(": file 0: negative length -1") + 1);
    assert_int_equal(err.offset, 16); /* the "i-1e" */
    sw_load_opts opts = {.max_size = 10};
    assert_int_equal(sw_torrent_info_load_file(path, &opts, &ti, &err), SW_ERR_METAINFO_TOO_LARGE);
    assert_non_null(strstr(err.message, path));
    unlink(path);
    assert_null(ti);
}

/* Fixture torrents made by mktorrent, transmission-create and libtorrent
 * (tests/data/make_metainfo_fixtures.py); the expected values are what those
 * tools and libtorrent report. */
typedef struct fixture {
    const char *file;
    const char *info_hash;
    const char *info_hash_v2; /* NULL if not hybrid */
    int num_files;
    int num_pad;
    int64_t total;
    int piece_length;
    int num_pieces;
    const char *first_path;
} fixture;

static const fixture fixtures[] = {
    {"metainfo/mktorrent_multi.torrent", "925e8b4426fd0dfc1ffd0f78ab6996742319f742", NULL, 4, 0,
     45001, 32768, 2, "payload/a.txt"},
    {"metainfo/mktorrent_single.torrent", "90911cda51d4215a1087431fd007de5cc5fefe10", NULL, 1, 0,
     50000, 32768, 2, "single.bin"},
    {"metainfo/transmission_multi.torrent", "31e66f97ee34e848889ae916e13597b29d015ced", NULL, 3, 0,
     45001, 16384, 3, "payload/a.txt"},
    {"metainfo/transmission_single.torrent", "d046d38ee2b24ff0373689e491643c2dbf55182d", NULL, 1, 0,
     50000, 16384, 4, "single.bin"},
    {"metainfo/libtorrent_v1_multi.torrent", "fc94765ab08246efb03ba112756e4ebde137e213", NULL, 4, 0,
     45001, 16384, 3, "payload/empty.dat"},
    {"metainfo/libtorrent_hybrid_multi.torrent", "c0d0eb6a28702cdc5a5824e471c22a7ac1d4bcc3",
     "8d7c4e0b67fe2110206b91c76d8fe8a0fcc7009d266aedfdbcbe608360eafb1c", 7, 3, 81920, 16384, 5,
     "payload/a.txt"},
    {"metainfo/libtorrent_hybrid_single.torrent", "baab0163600018e99f8625cde9bfb3ab00aff499",
     "73669844b599f52eb84db978fa2c214a2837cff0570f2f794cc035bf08e88f7f", 1, 0, 50000, 16384, 4,
     "single.bin"},
};

static void test_real_tool_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const fixture *fx = &fixtures[i];
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SW_TEST_DATA_DIR, fx->file);
        sw_torrent_info *ti = NULL;
        sw_error_detail err;
        int rc = sw_torrent_info_load_file(path, NULL, &ti, &err);
        if (rc)
            print_error("%s: %s\n", fx->file, err.message);
        assert_int_equal(rc, 0);
        char hex[65];
        sw_hex_encode(sw_torrent_info_hashes(ti)->v1.v, 20, hex);
        assert_string_equal(hex, fx->info_hash);
        assert_int_equal(sw_torrent_info_hashes(ti)->has_v2, fx->info_hash_v2 != NULL);
        assert_int_equal(sw_torrent_info_is_hybrid(ti), fx->info_hash_v2 != NULL);
        if (fx->info_hash_v2) {
            sw_hex_encode(sw_torrent_info_hashes(ti)->v2.v, 32, hex);
            assert_string_equal(hex, fx->info_hash_v2);
        }
        assert_int_equal(sw_torrent_info_num_files(ti), fx->num_files);
        int pads = 0;
        for (int k = 0; k < fx->num_files; k++)
            pads += (sw_torrent_info_file(ti, k)->flags & SW_FILE_PAD) != 0;
        assert_int_equal(pads, fx->num_pad);
        assert_int_equal(sw_torrent_info_total_size(ti), fx->total);
        assert_int_equal(sw_torrent_info_piece_length(ti), fx->piece_length);
        assert_int_equal(sw_torrent_info_num_pieces(ti), fx->num_pieces);
        assert_string_equal(sw_torrent_info_file(ti, 0)->path, fx->first_path);
        check_invariants(ti);
        sw_torrent_info_unref(ti);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_file),
        cmocka_unit_test(test_multi_file_layout),
        cmocka_unit_test(test_utf8_variants_preferred),
        cmocka_unit_test(test_announce_list_tiers),
        cmocka_unit_test(test_announce_fallback),
        cmocka_unit_test(test_seeds_nodes_and_text),
        cmocka_unit_test(test_pad_files_and_attributes),
        cmocka_unit_test(test_hostile_paths_neutralised),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_binary_path_components),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_hybrid_loads_as_v1),
        cmocka_unit_test(test_hybrid_inconsistent_refused),
        cmocka_unit_test(test_v2_only_refused),
        cmocka_unit_test(test_single_file_hybrid),
        cmocka_unit_test(test_from_info_dict),
        cmocka_unit_test(test_not_a_torrent),
        cmocka_unit_test(test_missing_and_wrong_keys),
        cmocka_unit_test(test_bad_piece_lengths),
        cmocka_unit_test(test_piece_count_mismatch),
        cmocka_unit_test(test_bad_file_lengths),
        cmocka_unit_test(test_bad_file_lists),
        cmocka_unit_test(test_empty_torrent),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_many_files_load_in_linear_time),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_real_tool_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
