/* Torrent creation: file walk and order, piece sizes, hashing (checked against
 * SHA-1 computed here straight from the bytes written), trackers, web seeds,
 * flags, pad files, errors, threads and progress. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <cswarm/bencode.h>
#include <cswarm/create.h>
#include <cswarm/torrent_info.h>

#define KIB 1024

/* ---- a scratch folder with known content ---- */

typedef struct fixture {
    char root[256];
} fixture;

static int make_fixture(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->root, sizeof fx->root, "%s/sw_create_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(fx->root));
    *state = fx;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int free_fixture(void **state)
{
    fixture *fx = *state;
    nftw(fx->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void path_in(const fixture *fx, const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", fx->root, rel);
}

/* Deterministic bytes for a file: differs per seed and per position. */
static uint8_t *pattern(size_t size, unsigned seed)
{
    uint8_t *b = malloc(size ? size : 1);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

static void mkdirs_for(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
}

static void write_bytes(const char *path, const uint8_t *data, size_t size)
{
    mkdirs_for(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (size)
        assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* A file to put in the fixture: relative path, size, content seed. */
typedef struct spec_file {
    const char *rel;
    size_t size;
} spec_file;

static void write_files(const fixture *fx, const char *dir, const spec_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s/%s", fx->root, dir, files[i].rel);
        uint8_t *b = pattern(files[i].size, (unsigned)i + 1);
        write_bytes(p, b, files[i].size);
        free(b);
    }
}

/* The torrent's byte stream for files in torrent order ("" = pad of size). */
typedef struct stream {
    uint8_t *data;
    size_t len;
} stream;

static void stream_add(stream *s, const uint8_t *data, size_t n)
{
    s->data = realloc(s->data, s->len + n + 1);
    assert_non_null(s->data);
    if (data)
        memcpy(s->data + s->len, data, n);
    else
        memset(s->data + s->len, 0, n);
    s->len += n;
}

/* Appends the content write_files gave files[index]. */
static void stream_add_spec(stream *s, const spec_file *files, size_t index)
{
    uint8_t *b = pattern(files[index].size, (unsigned)index + 1);
    stream_add(s, b, files[index].size);
    free(b);
}

/* Checks every piece hash in ti against SHA-1 over the expected stream. */
static void expect_piece_hashes(const sw_torrent_info *ti, const stream *s, int64_t piece_len)
{
    assert_int_equal(sw_torrent_info_total_size(ti), (int64_t)s->len);
    assert_int_equal(sw_torrent_info_piece_length(ti), piece_len);
    int n = (int)((s->len + (size_t)piece_len - 1) / (size_t)piece_len);
    assert_int_equal(sw_torrent_info_num_pieces(ti), n);
    for (int i = 0; i < n; i++) {
        size_t off = (size_t)i * (size_t)piece_len;
        size_t len = s->len - off < (size_t)piece_len ? s->len - off : (size_t)piece_len;
        uint8_t md[20];
        unsigned mdlen = 0;
        assert_int_equal(EVP_Digest(s->data + off, len, md, &mdlen, EVP_sha1(), NULL), 1);
        assert_memory_equal(sw_torrent_info_piece_hash(ti, i), md, 20);
    }
}

/* ---- creating and inspecting ---- */

typedef struct created {
    uint8_t *buf;
    size_t len;
    sw_torrent_info *ti;
    sw_bdoc *doc;
    sw_bnode root, info;
} created;

static void create_ok(const sw_create_params *p, created *c)
{
    sw_error_detail err;
    memset(c, 0, sizeof *c);
    int rc = sw_create_torrent(p, &c->buf, &c->len, &err);
    if (rc)
        fail_msg("create failed: %s (%s)", sw_err_name(rc), err.message);
    assert_int_equal(
        sw_bdecode(c->buf, c->len, &(sw_bdecode_opts){.flags = SW_BDECODE_STRICT}, &c->doc, NULL),
        0);
    c->root = sw_bdoc_root(c->doc);
    c->info = sw_bnode_dict_get(c->root, "info");
    assert_true(sw_bnode_is(c->info, SW_BNODE_DICT));
    rc = sw_torrent_info_load(c->buf, c->len, NULL, &c->ti, &err);
    if (rc)
        fail_msg("load failed: %s (%s)", sw_err_name(rc), err.message);
}

static void created_free(created *c)
{
    sw_torrent_info_unref(c->ti);
    sw_bdoc_free(c->doc);
    free(c->buf);
}

/* The keys of a dict joined with ',' in their encoded order. */
static void dict_keys(sw_bnode dict, char *out, size_t cap)
{
    out[0] = 0;
    for (size_t i = 0; i < sw_bnode_len(dict); i++) {
        sw_bnode k, v;
        assert_true(sw_bnode_dict_at(dict, i, &k, &v));
        size_t n;
        const char *s = sw_bnode_str(k, &n);
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%.*s", i ? "," : "", (int)n, s);
    }
}

static void expect_str(sw_bnode n, const char *want)
{
    size_t len;
    const char *s = sw_bnode_str(n, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(s, want, len);
}

/* A file entry's "path" list joined with '/'. */
static void joined_path(sw_bnode entry, char *out, size_t cap)
{
    sw_bnode path = sw_bnode_dict_get(entry, "path");
    out[0] = 0;
    for (size_t i = 0; i < sw_bnode_len(path); i++) {
        size_t n;
        const char *s = sw_bnode_str(sw_bnode_list_at(path, i), &n);
        assert_non_null(s);
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%.*s", i ? "/" : "", (int)n, s);
    }
}

/* ---- tests ---- */

static void single_file(size_t size, int64_t piece, int64_t expect_piece, void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "data.bin", p, sizeof p);
    uint8_t *data = pattern(size, 7);
    write_bytes(p, data, size);

    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = piece;
    created c;
    create_ok(&params, &c);

    char keys[256];
    dict_keys(c.info, keys, sizeof keys);
    assert_string_equal(keys, "length,name,piece length,pieces");
    dict_keys(c.root, keys, sizeof keys);
    assert_string_equal(keys, "created by,info"); /* no date, no tracker by default */
    expect_str(sw_bnode_dict_get(c.root, "created by"), "cswarm/" SW_VERSION_STRING);
    expect_str(sw_bnode_dict_get(c.info, "name"), "data.bin");

    assert_false(sw_torrent_info_is_multi_file(c.ti));
    assert_false(sw_torrent_info_is_private(c.ti));
    assert_int_equal(sw_torrent_info_creation_date(c.ti), 0);
    assert_int_equal(sw_torrent_info_num_files(c.ti), 1);
    assert_int_equal(sw_torrent_info_file(c.ti, 0)->size, (int64_t)size);
    stream s = {.data = data, .len = size};
    expect_piece_hashes(c.ti, &s, expect_piece);
    created_free(&c);
    free(data);
}

static void test_single_file_partial_last_piece(void **state)
{
    single_file(100000, 16 * KIB, 16 * KIB, state); /* 6 full pieces + 1696 bytes */
}

static void test_single_file_exact_pieces(void **state)
{
    single_file(4 * 32 * KIB, 32 * KIB, 32 * KIB, state);
}

static void test_single_file_auto_piece(void **state)
{
    /* 40 MiB / 2048 = 20 KiB -> the next power of two is 32 KiB. */
    single_file(40 * KIB * KIB, 0, 32 * KIB, state);
}

static void test_single_byte(void **state)
{
    single_file(1, 0, 16 * KIB, state);
}

static const spec_file nested[] = {
    {"a.txt", 5},   {"a-b/q", 20000}, {"a/r", 17000}, {"sub/deep/f.bin", 40000},
    {".hidden", 3}, {"empty", 0},     {"B/z", 1},     {".hid/in", 16 * KIB},
};
/* strcmp order of the paths above: the torrent's file order. */
static const size_t nested_order[] = {7, 4, 6, 1, 0, 2, 5, 3};

static void test_nested_folder(void **state)
{
    fixture *fx = *state;
    size_t n = sizeof nested / sizeof nested[0];
    write_files(fx, "tree", nested, n);
    char p[512];
    path_in(fx, "tree/emptydir", p, sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
    path_in(fx, "tree/", p, sizeof p); /* a trailing slash does not change the name */

    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = 16 * KIB;
    created c;
    create_ok(&params, &c);

    char keys[256];
    dict_keys(c.info, keys, sizeof keys);
    assert_string_equal(keys, "files,name,piece length,pieces");
    expect_str(sw_bnode_dict_get(c.info, "name"), "tree");
    assert_true(sw_torrent_info_is_multi_file(c.ti));

    sw_bnode files = sw_bnode_dict_get(c.info, "files");
    assert_int_equal(sw_bnode_len(files), n);
    assert_int_equal(sw_torrent_info_num_files(c.ti), (int)n);
    stream s = {0};
    for (size_t i = 0; i < n; i++) {
        const spec_file *want = &nested[nested_order[i]];
        sw_bnode entry = sw_bnode_list_at(files, i);
        dict_keys(entry, keys, sizeof keys);
        assert_string_equal(keys, "length,path");
        char got[256];
        joined_path(entry, got, sizeof got);
        assert_string_equal(got, want->rel);
        int64_t len = -1;
        assert_true(sw_bnode_dict_get_int(entry, "length", &len));
        assert_int_equal(len, (int64_t)want->size);

        const sw_file_entry *fe = sw_torrent_info_file(c.ti, (int)i);
        char full[300];
        snprintf(full, sizeof full, "tree/%s", want->rel);
        assert_string_equal(fe->path, full);
        assert_int_equal(fe->size, (int64_t)want->size);
        assert_int_equal(fe->flags, 0);
        stream_add_spec(&s, nested, nested_order[i]);
    }
    expect_piece_hashes(c.ti, &s, 16 * KIB);
    created_free(&c);
    free(s.data);
}

static void test_same_input_same_bytes(void **state)
{
    fixture *fx = *state;
    write_files(fx, "tree", nested, sizeof nested / sizeof nested[0]);
    char p[512];
    path_in(fx, "tree", p, sizeof p);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = 16 * KIB;

    uint8_t *first = NULL;
    size_t first_len = 0;
    assert_int_equal(sw_create_torrent(&params, &first, &first_len, NULL), 0);
    /* Different thread counts split the work differently: same result. */
    const int threads[] = {1, 2, 3, 8, 0};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        params.num_threads = threads[i];
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), 0);
        assert_int_equal(len, first_len);
        assert_memory_equal(buf, first, len);
        free(buf);
    }
    free(first);
}

static void test_many_threads_many_pieces(void **state)
{
    /* 9 MiB over several files with 16 KiB pieces: several claims per
     * thread, pieces crossing file boundaries, hashed by 4 threads. */
    fixture *fx = *state;
    const spec_file files[] = {{"x/1", 3 * KIB * KIB + 5},
                               {"x/2", 1},
                               {"y", 4 * KIB * KIB - 7},
                               {"z", 2 * KIB * KIB + 100}};
    write_files(fx, "big", files, 4);
    char p[512];
    path_in(fx, "big", p, sizeof p);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = 16 * KIB;
    params.num_threads = 4;
    created c;
    create_ok(&params, &c);
    stream s = {0};
    for (size_t i = 0; i < 4; i++)
        stream_add_spec(&s, files, i);
    expect_piece_hashes(c.ti, &s, 16 * KIB);
    created_free(&c);
    free(s.data);
}

static void test_auto_piece_size_rule(void **state)
{
    (void)state;
    assert_int_equal(sw_create_auto_piece_size(0), 16 * KIB);
    assert_int_equal(sw_create_auto_piece_size(1), 16 * KIB);
    assert_int_equal(sw_create_auto_piece_size(16 * KIB * 2048), 16 * KIB);
    assert_int_equal(sw_create_auto_piece_size(16 * KIB * 2048 + 1), 32 * KIB);
    assert_int_equal(sw_create_auto_piece_size(1LL << 30), 512 * KIB); /* 2048 pieces */
    assert_int_equal(sw_create_auto_piece_size((1LL << 30) + 1), 1024 * KIB);
    assert_int_equal(sw_create_auto_piece_size(2LL << 30), 1024 * KIB);
    assert_int_equal(sw_create_auto_piece_size(32LL << 30), 16 * KIB * KIB);
    assert_int_equal(sw_create_auto_piece_size(1LL << 40), 16 * KIB * KIB); /* clamped */
}

static void test_bad_piece_size(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"abc", 3);
    const int64_t bad[] = {8 * KIB, 3 * 16 * KIB, 16 * KIB + 1, 1, -16 * KIB, 1LL << 31};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_create_params params;
        sw_create_params_init(&params);
        params.path = p;
        params.piece_size = bad[i];
        uint8_t *buf = NULL;
        size_t len = 0;
        sw_error_detail err;
        assert_int_equal(sw_create_torrent(&params, &buf, &len, &err),
                         SW_ERR_CREATE_BAD_PIECE_SIZE);
        assert_int_equal(err.code, SW_ERR_CREATE_BAD_PIECE_SIZE);
        assert_true(err.message[0] != 0);
        assert_null(buf);
    }
}

static void test_trackers_in_tiers(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"abc", 3);
    const sw_announce_entry trackers[] = {
        {"http://a/announce", 1}, {"http://b/announce", 0}, {"udp://c:80/announce", 1},
        {"http://d/announce", 0}, {"http://e/announce", 5},
    };
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.trackers = trackers;
    params.num_trackers = 5;
    created c;
    create_ok(&params, &c);
    expect_str(sw_bnode_dict_get(c.root, "announce"), "http://b/announce");
    sw_bnode al = sw_bnode_dict_get(c.root, "announce-list");
    assert_int_equal(sw_bnode_len(al), 3);
    const char *want[3][2] = {{"http://b/announce", "http://d/announce"},
                              {"http://a/announce", "udp://c:80/announce"},
                              {"http://e/announce", NULL}};
    for (size_t t = 0; t < 3; t++) {
        sw_bnode tier = sw_bnode_list_at(al, t);
        assert_int_equal(sw_bnode_len(tier), want[t][1] ? 2 : 1);
        for (size_t i = 0; i < sw_bnode_len(tier); i++)
            expect_str(sw_bnode_list_at(tier, i), want[t][i]);
    }
    /* Tiers renumbered 0.. in the loaded torrent. */
    assert_int_equal(sw_torrent_info_num_trackers(c.ti), 5);
    const int tiers[] = {0, 0, 1, 1, 2};
    const char *urls[] = {"http://b/announce", "http://d/announce", "http://a/announce",
                          "udp://c:80/announce", "http://e/announce"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(sw_torrent_info_tracker(c.ti, i)->url, urls[i]);
        assert_int_equal(sw_torrent_info_tracker(c.ti, i)->tier, tiers[i]);
    }
    created_free(&c);

    /* One tracker: "announce" only, as mktorrent writes it. */
    params.num_trackers = 1;
    create_ok(&params, &c);
    expect_str(sw_bnode_dict_get(c.root, "announce"), "http://a/announce");
    assert_false(sw_bnode_is(sw_bnode_dict_get(c.root, "announce-list"), SW_BNODE_LIST));
    assert_int_equal(sw_torrent_info_num_trackers(c.ti), 1);
    created_free(&c);
}

static void test_web_seeds(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"abc", 3);
    const char *seeds[] = {"http://w1/files/", "http://w2/f"};
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.web_seeds = seeds;
    params.num_web_seeds = 1;
    created c;
    create_ok(&params, &c);
    expect_str(sw_bnode_dict_get(c.root, "url-list"), "http://w1/files/");
    assert_int_equal(sw_torrent_info_num_web_seeds(c.ti), 1);
    assert_string_equal(sw_torrent_info_web_seed(c.ti, 0), seeds[0]);
    created_free(&c);

    params.num_web_seeds = 2;
    create_ok(&params, &c);
    sw_bnode list = sw_bnode_dict_get(c.root, "url-list");
    assert_int_equal(sw_bnode_len(list), 2);
    expect_str(sw_bnode_list_at(list, 1), "http://w2/f");
    assert_int_equal(sw_torrent_info_num_web_seeds(c.ti), 2);
    assert_string_equal(sw_torrent_info_web_seed(c.ti, 1), seeds[1]);
    created_free(&c);
}

static void test_private_comment_creator_date(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"abc", 3);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    created plain;
    create_ok(&params, &plain);

    params.is_private = true;
    params.comment = "a comment";
    params.created_by = "tester 1.0";
    params.creation_date = 1234567890;
    created c;
    create_ok(&params, &c);
    char keys[256];
    dict_keys(c.info, keys, sizeof keys);
    assert_string_equal(keys, "length,name,piece length,pieces,private");
    int64_t priv = 0;
    assert_true(sw_bnode_dict_get_int(c.info, "private", &priv));
    assert_int_equal(priv, 1);
    assert_true(sw_torrent_info_is_private(c.ti));
    assert_string_equal(sw_torrent_info_comment(c.ti), "a comment");
    assert_string_equal(sw_torrent_info_created_by(c.ti), "tester 1.0");
    assert_int_equal(sw_torrent_info_creation_date(c.ti), 1234567890);
    /* private is in the info dictionary; the rest is not. */
    assert_memory_not_equal(sw_torrent_info_hashes(c.ti)->v1.v,
                            sw_torrent_info_hashes(plain.ti)->v1.v, 20);
    created_free(&c);

    params.is_private = false;
    params.created_by = "";
    params.creation_date = SW_CREATE_DATE_NOW;
    int64_t before = (int64_t)time(NULL);
    create_ok(&params, &c);
    int64_t after = (int64_t)time(NULL);
    assert_false(sw_bnode_is(sw_bnode_dict_get(c.root, "created by"), SW_BNODE_STR));
    int64_t date = sw_torrent_info_creation_date(c.ti);
    assert_true(date >= before && date <= after);
    assert_memory_equal(sw_torrent_info_hashes(c.ti)->v1.v, sw_torrent_info_hashes(plain.ti)->v1.v,
                        20);
    created_free(&c);
    created_free(&plain);
}

static void test_name_override(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"abc", 3);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.name = "renamed";
    created c;
    create_ok(&params, &c);
    assert_string_equal(sw_torrent_info_name(c.ti), "renamed");
    created_free(&c);
}

static void test_dot_path_named_after_folder(void **state)
{
    fixture *fx = *state;
    write_files(fx, "folder", nested, 2);
    char dir[512], cwd[1024];
    path_in(fx, "folder", dir, sizeof dir);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = ".";
    created c;
    create_ok(&params, &c);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(sw_torrent_info_name(c.ti), "folder");
    assert_int_equal(sw_torrent_info_num_files(c.ti), 2);
    created_free(&c);
}

static const spec_file padded[] = {
    {"b/two", 20000}, {"a-b/x", 16 * KIB}, /* exactly one piece: the next file needs no pad */
    {"a.txt", 5},     {"empty", 0},        {"a/y", 3 * KIB}, {"z", 40000},
};

static void test_pad_files(void **state)
{
    fixture *fx = *state;
    write_files(fx, "pads", padded, sizeof padded / sizeof padded[0]);
    char p[512];
    path_in(fx, "pads", p, sizeof p);
    const int64_t piece = 16 * KIB;
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = piece;
    params.pad_files = true;
    created c;
    create_ok(&params, &c);

    /* Component order a/y < a-b/x < a.txt < b/two < empty < z; a pad before
     * every non-empty file that would start mid-piece; none at the end, none
     * for the empty file (which keeps its place before the pad). */
    struct {
        const char *path;
        int64_t size;
        int spec; /* index in padded[], -1 for a pad */
    } want[] = {
        {"a/y", 3 * KIB, 4}, {".pad/13312", piece - 3 * KIB, -1},   {"a-b/x", 16 * KIB, 1},
        {"a.txt", 5, 2},     {".pad/16379", piece - 5, -1},         {"b/two", 20000, 0},
        {"empty", 0, 3},     {".pad/12768", 2 * piece - 20000, -1}, {"z", 40000, 5},
    };
    size_t n = sizeof want / sizeof want[0];
    sw_bnode files = sw_bnode_dict_get(c.info, "files");
    assert_int_equal(sw_bnode_len(files), n);
    assert_int_equal(sw_torrent_info_num_files(c.ti), (int)n);
    stream s = {0};
    for (size_t i = 0; i < n; i++) {
        sw_bnode entry = sw_bnode_list_at(files, i);
        char got[256], keys[64];
        joined_path(entry, got, sizeof got);
        assert_string_equal(got, want[i].path);
        dict_keys(entry, keys, sizeof keys);
        const sw_file_entry *fe = sw_torrent_info_file(c.ti, (int)i);
        assert_int_equal(fe->size, want[i].size);
        if (want[i].spec < 0) {
            assert_string_equal(keys, "attr,length,path");
            expect_str(sw_bnode_dict_get(entry, "attr"), "p");
            assert_true(fe->flags & SW_FILE_PAD);
            stream_add(&s, NULL, (size_t)want[i].size);
        } else {
            assert_string_equal(keys, "length,path");
            assert_false(fe->flags & SW_FILE_PAD);
            if (fe->size > 0)
                assert_int_equal(fe->offset % piece, 0);
            stream_add_spec(&s, padded, (size_t)want[i].spec);
        }
    }
    expect_piece_hashes(c.ti, &s, piece);
    created_free(&c);
    free(s.data);
}

static void test_pad_files_single_file_has_none(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "one", p, sizeof p);
    uint8_t *data = pattern(50000, 3);
    write_bytes(p, data, 50000);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = 16 * KIB;
    params.pad_files = true;
    created c;
    create_ok(&params, &c);
    assert_false(sw_torrent_info_is_multi_file(c.ti));
    stream s = {.data = data, .len = 50000};
    expect_piece_hashes(c.ti, &s, 16 * KIB);
    created_free(&c);
    free(data);
}

static void test_symlinks_followed_special_files_skipped(void **state)
{
    fixture *fx = *state;
    const spec_file files[] = {{"real/data", 30000}};
    write_files(fx, "t", files, 1);
    char p[512], target[512];
    path_in(fx, "t/link", p, sizeof p);
    assert_int_equal(symlink("real/data", p), 0);
    path_in(fx, "t/linkdir", p, sizeof p);
    assert_int_equal(symlink("real", p), 0);
    path_in(fx, "t/fifo", p, sizeof p);
    assert_int_equal(mkfifo(p, 0644), 0);
    path_in(fx, "t", target, sizeof target);

    sw_create_params params;
    sw_create_params_init(&params);
    params.path = target;
    params.piece_size = 16 * KIB;
    created c;
    create_ok(&params, &c);
    assert_int_equal(sw_torrent_info_num_files(c.ti), 3);
    assert_string_equal(sw_torrent_info_file(c.ti, 0)->path, "t/link");
    assert_string_equal(sw_torrent_info_file(c.ti, 1)->path, "t/linkdir/data");
    assert_string_equal(sw_torrent_info_file(c.ti, 2)->path, "t/real/data");
    stream s = {0};
    for (int i = 0; i < 3; i++)
        stream_add_spec(&s, files, 0);
    expect_piece_hashes(c.ti, &s, 16 * KIB);
    created_free(&c);
    free(s.data);
}

static int create_err(const char *path, sw_error_detail *err)
{
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = path;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = sw_create_torrent(&params, &buf, &len, err);
    assert_null(buf);
    return rc;
}

static void test_walk_errors(void **state)
{
    fixture *fx = *state;
    char p[512];
    sw_error_detail err;

    path_in(fx, "emptydir", p, sizeof p);
    mkdir(p, 0755);
    path_in(fx, "emptydir/sub", p, sizeof p);
    mkdir(p, 0755);
    path_in(fx, "emptydir", p, sizeof p);
    assert_int_equal(create_err(p, &err), SW_ERR_CREATE_NO_FILES);
    assert_int_equal(err.code, SW_ERR_CREATE_NO_FILES);

    path_in(fx, "zeros/a", p, sizeof p);
    write_bytes(p, NULL, 0);
    path_in(fx, "zeros", p, sizeof p);
    assert_int_equal(create_err(p, &err), SW_ERR_CREATE_NO_FILES);

    path_in(fx, "missing", p, sizeof p);
    assert_int_equal(create_err(p, &err), -ENOENT);
    assert_non_null(strstr(err.message, "missing"));

    path_in(fx, "dangling/ok", p, sizeof p);
    write_bytes(p, (const uint8_t *)"x", 1);
    path_in(fx, "dangling/bad", p, sizeof p);
    assert_int_equal(symlink("nowhere", p), 0);
    path_in(fx, "dangling", p, sizeof p);
    assert_int_equal(create_err(p, &err), -ENOENT);
    assert_non_null(strstr(err.message, "bad"));

    path_in(fx, "loop/sub/f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"x", 1);
    path_in(fx, "loop/sub/up", p, sizeof p);
    assert_int_equal(symlink("..", p), 0);
    path_in(fx, "loop", p, sizeof p);
    assert_int_equal(create_err(p, &err), -ELOOP);
}

static void test_bad_params(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    write_bytes(p, (const uint8_t *)"abc", 3);
    uint8_t *buf = NULL;
    size_t len = 0;

    sw_create_params params;
    memset(&params, 0, sizeof params); /* not initialised */
    params.path = p;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), SW_ERR_INVALID_ARG);

    sw_create_params_init(&params);
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), SW_ERR_INVALID_ARG);
    params.path = p;
    assert_int_equal(sw_create_torrent(&params, NULL, &len, NULL), SW_ERR_INVALID_ARG);

    const sw_announce_entry no_url[] = {{NULL, 0}};
    params.trackers = no_url;
    params.num_trackers = 1;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), SW_ERR_INVALID_ARG);
    const sw_announce_entry neg_tier[] = {{"http://x/", -1}};
    params.trackers = neg_tier;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), SW_ERR_INVALID_ARG);
    params.num_trackers = 0;

    params.name = "a/b";
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), SW_ERR_INVALID_ARG);
    params.name = NULL;
    params.creation_date = -5;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), SW_ERR_INVALID_ARG);
    assert_null(buf);
}

typedef struct progress_log {
    int calls;
    int last_done;
    int total;
    int cancel_after; /* 0 = never */
    bool monotonic;
    /* For the file-change test: what to do to which file on the first call. */
    const char *mutate_path;
    off_t mutate_size;
} progress_log;

static int on_progress(void *user, int done, int total)
{
    progress_log *log = user;
    if (done < log->last_done || done > total)
        log->monotonic = false;
    log->last_done = done;
    log->total = total;
    log->calls++;
    if (log->mutate_path && log->calls == 1)
        assert_int_equal(truncate(log->mutate_path, log->mutate_size), 0);
    return log->cancel_after && log->calls >= log->cancel_after;
}

static void test_progress_and_cancel(void **state)
{
    fixture *fx = *state;
    char p[512];
    path_in(fx, "f", p, sizeof p);
    uint8_t *data = pattern(10 * KIB * KIB, 9);
    write_bytes(p, data, 10 * KIB * KIB);
    free(data);

    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    params.piece_size = 16 * KIB;
    params.num_threads = 2;
    params.progress = on_progress;
    progress_log log = {.monotonic = true};
    params.progress_user = &log;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), 0);
    free(buf);
    assert_true(log.calls >= 2);
    assert_true(log.monotonic);
    assert_int_equal(log.total, 640);
    assert_int_equal(log.last_done, 640);

    progress_log cancel = {.monotonic = true, .cancel_after = 1};
    params.progress_user = &cancel;
    params.num_threads = 1;
    sw_error_detail err;
    buf = NULL;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, &err), SW_ERR_ABORTED);
    assert_int_equal(err.code, SW_ERR_ABORTED);
    assert_null(buf);
    assert_int_equal(cancel.calls, 1);
}

/* One thread hashes in claimed runs of 4 MiB and reports progress between
 * them, so a change made in the first progress call hits a later run. */
static void file_changed(const char *victim_rel, off_t new_size, void **state)
{
    fixture *fx = *state;
    const spec_file files[] = {{"a", 6 * KIB * KIB}, {"b", 1 * KIB * KIB}};
    write_files(fx, "chg", files, 2);
    char dir[512], victim[512];
    path_in(fx, "chg", dir, sizeof dir);
    path_in(fx, victim_rel, victim, sizeof victim);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = dir;
    params.piece_size = 16 * KIB;
    params.num_threads = 1;
    params.progress = on_progress;
    progress_log log = {.monotonic = true, .mutate_path = victim, .mutate_size = new_size};
    params.progress_user = &log;
    uint8_t *buf = NULL;
    size_t len = 0;
    sw_error_detail err;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, &err), SW_ERR_CREATE_FILE_CHANGED);
    assert_null(buf);
    assert_non_null(strstr(err.message, victim));
}

static void test_file_shrinks_while_hashing(void **state)
{
    file_changed("chg/a", 5 * KIB * KIB, state); /* read while open: ends early */
}

static void test_file_grows_while_hashing(void **state)
{
    file_changed("chg/b", 2 * KIB * KIB, state); /* not opened yet: size differs */
}

static void test_write_file(void **state)
{
    fixture *fx = *state;
    write_files(fx, "tree", nested, sizeof nested / sizeof nested[0]);
    char p[512], out[512];
    path_in(fx, "tree", p, sizeof p);
    path_in(fx, "out.torrent", out, sizeof out);
    sw_create_params params;
    sw_create_params_init(&params);
    params.path = p;
    sw_error_detail err;
    assert_int_equal(sw_create_torrent_file(&params, out, &err), 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(sw_create_torrent(&params, &buf, &len, NULL), 0);

    sw_torrent_info *ti = NULL;
    assert_int_equal(sw_torrent_info_load_file(out, NULL, &ti, &err), 0);
    size_t file_len = 0;
    const uint8_t *file_bytes = sw_torrent_info_metainfo(ti, &file_len);
    assert_int_equal(file_len, len);
    assert_memory_equal(file_bytes, buf, len);
    sw_torrent_info_unref(ti);
    free(buf);

    /* Only out.torrent was added next to the source folder. */
    DIR *d = opendir(fx->root);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            entries++;
    closedir(d);
    assert_int_equal(entries, 2);

    path_in(fx, "no/such/dir/out.torrent", out, sizeof out);
    assert_int_equal(sw_create_torrent_file(&params, out, &err), -ENOENT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, make_fixture, free_fixture)
    const struct CMUnitTest tests[] = {
        T(test_single_file_partial_last_piece),
        T(test_single_file_exact_pieces),
        T(test_single_file_auto_piece),
        T(test_single_byte),
        T(test_nested_folder),
        T(test_same_input_same_bytes),
        T(test_many_threads_many_pieces),
        cmocka_unit_test(test_auto_piece_size_rule),
        T(test_bad_piece_size),
        T(test_trackers_in_tiers),
        T(test_web_seeds),
        T(test_private_comment_creator_date),
        T(test_name_override),
        T(test_dot_path_named_after_folder),
        T(test_pad_files),
        T(test_pad_files_single_file_has_none),
        T(test_symlinks_followed_special_files_skipped),
        T(test_walk_errors),
        T(test_bad_params),
        T(test_progress_and_cancel),
        T(test_file_shrinks_while_hashing),
        T(test_file_grows_while_hashing),
        T(test_write_file),
    };
#undef T
    return cmocka_run_group_tests_name("create", tests, NULL, NULL);
}
