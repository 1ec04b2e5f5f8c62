/* Unit tests for the bencode decoder and encoder (core/base). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cswarm/bencode.h>

#define TORRENT_INFO                                                                               \
    "d6:lengthi12345e4:name8:file.bin12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAe"
#define TORRENT "d8:announce20:http://t.example/ann4:info" TORRENT_INFO "e"

static sw_bdoc *decode_ok(const char *s, size_t len, unsigned flags)
{
    sw_bdecode_opts opts = {.flags = flags};
    sw_bdecode_error err = {-1, 99};
    sw_bdoc *doc = NULL;
    int rc = sw_bdecode(s, len, &opts, &doc, &err);
    if (rc != 0)
        print_error("decode of \"%.*s\" failed: %s at %zu\n", (int)len, s, sw_err_name(rc),
                    err.offset);
    assert_int_equal(rc, 0);
    assert_int_equal(err.code, 0);
    assert_non_null(doc);
    return doc;
}

static sw_bdoc *decode_str(const char *s)
{
    return decode_ok(s, strlen(s), 0);
}

static void expect_error_opts(const char *s, size_t len, const sw_bdecode_opts *opts, int code,
                              size_t offset)
{
    sw_bdecode_error err = {0, 0};
    sw_bdoc *doc = (sw_bdoc *)(uintptr_t)1; /* must stay untouched on failure */
    int rc = sw_bdecode(s, len, opts, &doc, &err);
    if (rc != code || err.offset != offset)
        print_error("input \"%.*s\": got %s at %zu, want %s at %zu\n", (int)(len > 60 ? 60 : len),
                    s, sw_err_name(rc), err.offset, sw_err_name(code), offset);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_int_equal(err.offset, offset);
    assert_ptr_equal(doc, (sw_bdoc *)(uintptr_t)1);
}

static void expect_error(const char *s, unsigned flags, int code, size_t offset)
{
    sw_bdecode_opts opts = {.flags = flags};
    expect_error_opts(s, strlen(s), &opts, code, offset);
}

/* Encodes n alone and returns the bytes (caller frees). */
static uint8_t *reencode(sw_bnode n, size_t *len_out)
{
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_node(enc, n), 0);
    uint8_t *out = NULL;
    assert_int_equal(sw_benc_finish(enc, &out, len_out), 0);
    sw_benc_free(enc);
    return out;
}

static void assert_bytes(const uint8_t *got, size_t got_len, const char *want)
{
    if (got_len != strlen(want) || memcmp(got, want, got_len) != 0)
        print_error("got \"%.*s\", want \"%s\"\n", (int)got_len, (const char *)got, want);
    assert_int_equal(got_len, strlen(want));
    assert_memory_equal(got, want, got_len);
}

static void finish_expect(sw_bencoder *enc, const char *want)
{
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(sw_benc_finish(enc, &out, &len), 0);
    assert_bytes(out, len, want);
    free(out);
    sw_benc_free(enc);
}

/* ---- decoding ---- */

static void test_scalars(void **state)
{
    (void)state;
    sw_bdoc *doc = decode_str("i42e");
    sw_bnode n = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_type_of(n), SW_BNODE_INT);
    assert_true(sw_bnode_is(n, SW_BNODE_INT));
    assert_int_equal(sw_bnode_int(n), 42);
    assert_null(sw_bnode_str(n, NULL));
    assert_int_equal(sw_bnode_len(n), 0);
    assert_int_equal(sw_bdoc_node_count(doc), 1);
    sw_bdoc_free(doc);

    doc = decode_str("i-7e");
    assert_int_equal(sw_bnode_int(sw_bdoc_root(doc)), -7);
    sw_bdoc_free(doc);

    doc = decode_str("i0e");
    assert_int_equal(sw_bnode_int(sw_bdoc_root(doc)), 0);
    assert_true(sw_bnode_is(sw_bdoc_root(doc), SW_BNODE_INT));
    sw_bdoc_free(doc);

    doc = decode_str("4:spam");
    n = sw_bdoc_root(doc);
    size_t len = 99;
    const char *s = sw_bnode_str(n, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(s, "spam", 4);
    assert_true(sw_bnode_str_eq(n, "spam"));
    assert_false(sw_bnode_str_eq(n, "spa"));
    assert_false(sw_bnode_str_eq(n, "spams"));
    assert_false(sw_bnode_str_eq(n, NULL));
    assert_int_equal(sw_bnode_int(n), 0);
    sw_bdoc_free(doc);

    doc = decode_str("0:");
    n = sw_bdoc_root(doc);
    assert_non_null(sw_bnode_str(n, &len));
    assert_int_equal(len, 0);
    assert_true(sw_bnode_str_eq(n, ""));
    sw_bdoc_free(doc);

    /* Strings are binary: a NUL inside is data. */
    static const char bin[] = "3:a\0b";
    doc = decode_ok(bin, sizeof bin - 1, SW_BDECODE_STRICT);
    s = sw_bnode_str(sw_bdoc_root(doc), &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    assert_false(sw_bnode_str_eq(sw_bdoc_root(doc), "a"));
    sw_bdoc_free(doc);
}

static void test_int_limits(void **state)
{
    (void)state;
    sw_bdoc *doc = decode_ok("i9223372036854775807e", 21, SW_BDECODE_STRICT);
    assert_int_equal(sw_bnode_int(sw_bdoc_root(doc)), INT64_MAX);
    sw_bdoc_free(doc);
    doc = decode_ok("i-9223372036854775808e", 22, SW_BDECODE_STRICT);
    assert_true(sw_bnode_int(sw_bdoc_root(doc)) == INT64_MIN);
    sw_bdoc_free(doc);

    expect_error("i9223372036854775808e", 0, SW_ERR_BENCODE_INT_OVERFLOW, 0);
    expect_error("i-9223372036854775809e", 0, SW_ERR_BENCODE_INT_OVERFLOW, 0);
    expect_error("i99999999999999999999999999e", 0, SW_ERR_BENCODE_INT_OVERFLOW, 0);
    expect_error("li1ei18446744073709551616ee", 0, SW_ERR_BENCODE_INT_OVERFLOW, 4);
    /* Leading zeros do not count towards overflow (lenient mode). */
    doc = decode_str("i00000000000000000000000009223372036854775807e");
    assert_int_equal(sw_bnode_int(sw_bdoc_root(doc)), INT64_MAX);
    sw_bdoc_free(doc);
}

static void test_list_nesting(void **state)
{
    (void)state;
    const char *in = "l4:spami42eli1ei2eed1:ai-1eelee";
    sw_bdoc *doc = decode_ok(in, strlen(in), SW_BDECODE_STRICT);
    sw_bnode root = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_type_of(root), SW_BNODE_LIST);
    assert_int_equal(sw_bnode_len(root), 5);
    assert_true(sw_bnode_str_eq(sw_bnode_list_at(root, 0), "spam"));
    assert_int_equal(sw_bnode_int(sw_bnode_list_at(root, 1)), 42);
    sw_bnode inner = sw_bnode_list_at(root, 2);
    assert_int_equal(sw_bnode_len(inner), 2);
    assert_int_equal(sw_bnode_int(sw_bnode_list_at(inner, 0)), 1);
    assert_int_equal(sw_bnode_int(sw_bnode_list_at(inner, 1)), 2);
    sw_bnode d = sw_bnode_list_at(root, 3);
    assert_int_equal(sw_bnode_type_of(d), SW_BNODE_DICT);
    assert_int_equal(sw_bnode_len(d), 1);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_get(d, "a")), -1);
    sw_bnode empty = sw_bnode_list_at(root, 4);
    assert_int_equal(sw_bnode_type_of(empty), SW_BNODE_LIST);
    assert_int_equal(sw_bnode_len(empty), 0);
    assert_int_equal(sw_bnode_type_of(sw_bnode_list_at(empty, 0)), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_list_at(root, 5)), SW_BNODE_NONE);
    /* list, str, int, list, int, int, dict, key, int, list */
    assert_int_equal(sw_bdoc_node_count(doc), 10);
    /* Offsets point at each node's first byte. */
    assert_int_equal(sw_bnode_offset(root), 0);
    assert_int_equal(sw_bnode_offset(sw_bnode_list_at(root, 1)), 7);
    assert_int_equal(sw_bnode_offset(inner), 11);
    assert_int_equal(sw_bnode_offset(d), 19);
    /* list_at on a dict is a wrong-type access. */
    assert_int_equal(sw_bnode_type_of(sw_bnode_list_at(d, 0)), SW_BNODE_NONE);
    sw_bdoc_free(doc);

    doc = decode_str("de");
    assert_int_equal(sw_bnode_type_of(sw_bdoc_root(doc)), SW_BNODE_DICT);
    assert_int_equal(sw_bnode_len(sw_bdoc_root(doc)), 0);
    sw_bdoc_free(doc);
}

static void test_list_random_access(void **state)
{
    (void)state;
    /* Items with subtrees of different sizes, visited in every order the
     * position cache has to handle: forward, backward, repeated, jumps. */
    char in[4096];
    size_t at = 0;
    in[at++] = 'l';
    for (int i = 0; i < 50; i++) {
        if (i % 3 == 0)
            at += (size_t)snprintf(in + at, sizeof in - at, "li%de1:xe", i);
        else if (i % 3 == 1)
            at += (size_t)snprintf(in + at, sizeof in - at, "d1:ki%dee", i);
        else
            at += (size_t)snprintf(in + at, sizeof in - at, "i%de", i);
    }
    in[at++] = 'e';
    sw_bdoc *doc = decode_ok(in, at, SW_BDECODE_STRICT);
    sw_bnode root = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_len(root), 50);
    int order[] = {0, 1, 2, 10, 10, 9, 49, 48, 0, 25, 26, 3, 49};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        int i = order[k];
        sw_bnode item = sw_bnode_list_at(root, (size_t)i);
        int64_t v;
        if (i % 3 == 0)
            v = sw_bnode_int(sw_bnode_list_at(item, 0));
        else if (i % 3 == 1)
            v = sw_bnode_int(sw_bnode_dict_get(item, "k"));
        else
            v = sw_bnode_int(item);
        assert_int_equal(v, i);
    }
    for (int i = 49; i >= 0; i--)
        assert_int_not_equal(sw_bnode_type_of(sw_bnode_list_at(root, (size_t)i)), SW_BNODE_NONE);
    sw_bdoc_free(doc);
}

static void test_dict_lookup(void **state)
{
    (void)state;
    sw_bdoc *doc = decode_ok(TORRENT, strlen(TORRENT), SW_BDECODE_STRICT);
    sw_bnode root = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_len(root), 2);
    assert_true(sw_bnode_str_eq(sw_bnode_dict_get(root, "announce"), "http://t.example/ann"));
    sw_bnode info = sw_bnode_dict_get(root, "info");
    assert_int_equal(sw_bnode_type_of(info), SW_BNODE_DICT);
    assert_int_equal(sw_bnode_len(info), 4);

    int64_t v = 0;
    assert_true(sw_bnode_dict_get_int(info, "piece length", &v));
    assert_int_equal(v, 16384);
    assert_true(sw_bnode_dict_get_int(info, "length", &v));
    assert_int_equal(v, 12345);
    const char *s = NULL;
    size_t len = 0;
    assert_true(sw_bnode_dict_get_str(info, "name", &s, &len));
    assert_int_equal(len, 8);
    assert_memory_equal(s, "file.bin", 8);
    assert_true(sw_bnode_dict_get_str(info, "pieces", &s, NULL));

    /* Typed lookups: wrong type or missing key leave *out alone. */
    v = 77;
    assert_false(sw_bnode_dict_get_int(info, "name", &v));
    assert_false(sw_bnode_dict_get_int(info, "missing", &v));
    assert_int_equal(v, 77);
    s = "keep";
    assert_false(sw_bnode_dict_get_str(info, "length", &s, &len));
    assert_string_equal(s, "keep");

    /* Misses: absent key, prefix of a key, key extended, value not key. */
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(root, "announce-list")), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(info, "piece")), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(info, "piecess")), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(info, "file.bin")), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(root, "")), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(root, NULL)), SW_BNODE_NONE);
    /* Lookup on a non-dict. */
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_get(sw_bnode_dict_get(root, "announce"), "x")),
                     SW_BNODE_NONE);

    /* dict_at in input order. */
    sw_bnode k, val;
    assert_true(sw_bnode_dict_at(info, 2, &k, &val));
    assert_true(sw_bnode_str_eq(k, "piece length"));
    assert_int_equal(sw_bnode_int(val), 16384);
    assert_true(sw_bnode_dict_at(info, 0, &k, &val));
    assert_true(sw_bnode_str_eq(k, "length"));
    assert_true(sw_bnode_dict_at(info, 3, &k, NULL));
    assert_true(sw_bnode_str_eq(k, "pieces"));
    assert_false(sw_bnode_dict_at(info, 4, &k, &val));
    assert_int_equal(sw_bnode_type_of(k), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(val), SW_BNODE_NONE);
    assert_false(sw_bnode_dict_at(sw_bnode_dict_get(root, "announce"), 0, &k, &val));
    sw_bdoc_free(doc);

    /* Binary keys, the empty key, and nested lookups. */
    static const char bin[] = "d0:i1e2:\0\1i2e2:\0\2d1:xi3eee";
    doc = decode_ok(bin, sizeof bin - 1, SW_BDECODE_STRICT);
    root = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_find(root, "", 0)), 1);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_get(root, "")), 1);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_find(root, "\0\1", 2)), 2);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_get(sw_bnode_dict_find(root, "\0\2", 2), "x")), 3);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_find(root, "\0", 1)), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bnode_dict_find(root, NULL, 1)), SW_BNODE_NONE);
    sw_bdoc_free(doc);
}

static void test_none_nodes(void **state)
{
    (void)state;
    sw_bdoc *doc = decode_str("d1:ad1:bi5eee");
    sw_bnode root = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_get(sw_bnode_dict_get(root, "a"), "b")), 5);

    /* A chain of lookups through a miss stays a none node. */
    sw_bnode miss = sw_bnode_dict_get(sw_bnode_dict_get(sw_bnode_dict_get(root, "x"), "a"), "b");
    assert_int_equal(sw_bnode_type_of(miss), SW_BNODE_NONE);
    assert_true(sw_bnode_is(miss, SW_BNODE_NONE));
    assert_int_equal(miss.index, -1);
    assert_int_equal(sw_bnode_int(miss), 0);
    assert_int_equal(sw_bnode_len(miss), 0);
    size_t len = 5;
    assert_null(sw_bnode_str(miss, &len));
    assert_int_equal(len, 0);
    assert_false(sw_bnode_str_eq(miss, ""));
    assert_int_equal(sw_bnode_offset(miss), 0);
    const uint8_t *raw = (const uint8_t *)"x";
    assert_false(sw_bnode_raw(miss, &raw, &len));
    assert_null(raw);
    assert_int_equal(len, 0);
    assert_int_equal(sw_bnode_type_of(sw_bnode_list_at(miss, 0)), SW_BNODE_NONE);
    sw_bnode k, v;
    assert_false(sw_bnode_dict_at(miss, 0, &k, &v));
    int64_t iv = 3;
    assert_false(sw_bnode_dict_get_int(miss, "a", &iv));
    assert_int_equal(iv, 3);
    assert_false(sw_bnode_dict_get_str(miss, "a", NULL, NULL));

    /* Out-of-range indexes and a NULL document behave like none nodes. */
    sw_bnode bogus = {doc, 1000};
    assert_int_equal(sw_bnode_type_of(bogus), SW_BNODE_NONE);
    sw_bnode nodoc = {NULL, 0};
    assert_int_equal(sw_bnode_type_of(nodoc), SW_BNODE_NONE);
    assert_int_equal(sw_bnode_type_of(sw_bdoc_root(NULL)), SW_BNODE_NONE);
    assert_int_equal(sw_bdoc_node_count(NULL), 0);
    assert_int_equal(sw_bdoc_first_violation(NULL).code, 0);
    sw_bdoc_free(NULL);
    sw_bdoc_free(doc);
}

static void test_raw_spans(void **state)
{
    (void)state;
    sw_bdoc *doc = decode_ok(TORRENT, strlen(TORRENT), SW_BDECODE_STRICT);
    sw_bnode root = sw_bdoc_root(doc);
    const uint8_t *raw = NULL;
    size_t len = 0;
    assert_true(sw_bnode_raw(root, &raw, &len));
    assert_ptr_equal(raw, (const uint8_t *)TORRENT);
    assert_int_equal(len, strlen(TORRENT));

    sw_bnode info = sw_bnode_dict_get(root, "info");
    assert_true(sw_bnode_raw(info, &raw, &len));
    assert_bytes(raw, len, TORRENT_INFO);
    assert_int_equal(sw_bnode_offset(info), strstr(TORRENT, "d6:length") - TORRENT);

    sw_bnode k;
    assert_true(sw_bnode_dict_at(info, 1, &k, NULL));
    assert_true(sw_bnode_raw(k, &raw, &len));
    assert_bytes(raw, len, "4:name");
    assert_true(sw_bnode_raw(sw_bnode_dict_get(info, "piece length"), &raw, &len));
    assert_bytes(raw, len, "i16384e");
    sw_bdoc_free(doc);

    /* Lenient mode: the raw span is the original text, not a canonical one. */
    doc = decode_str("ld2:zzi03e1:ai1eee");
    assert_true(sw_bnode_raw(sw_bnode_list_at(sw_bdoc_root(doc), 0), &raw, &len));
    assert_bytes(raw, len, "d2:zzi03e1:ai1ee");
    sw_bdoc_free(doc);
}

struct error_case {
    const char *in;
    int code;
    size_t offset;
};

static void test_errors(void **state)
{
    (void)state;
    /* Malformed in either mode. */
    static const struct error_case cases[] = {
        {"", SW_ERR_BENCODE_EOF, 0},
        {"i", SW_ERR_BENCODE_EOF, 1},
        {"i12", SW_ERR_BENCODE_EOF, 3},
        {"i-", SW_ERR_BENCODE_EOF, 2},
        {"ie", SW_ERR_BENCODE_BAD_INT, 1},
        {"i-e", SW_ERR_BENCODE_BAD_INT, 2},
        {"i--1e", SW_ERR_BENCODE_BAD_INT, 2},
        {"i+1e", SW_ERR_BENCODE_BAD_INT, 1},
        {"i 1e", SW_ERR_BENCODE_BAD_INT, 1},
        {"i1x2e", SW_ERR_BENCODE_BAD_INT, 2},
        {"i1.5e", SW_ERR_BENCODE_BAD_INT, 2},
        {"i-0e", SW_ERR_BENCODE_LEADING_ZERO, 2},
        {"i-01e", SW_ERR_BENCODE_LEADING_ZERO, 2},
        {"i9223372036854775808e", SW_ERR_BENCODE_INT_OVERFLOW, 0},
        {"x", SW_ERR_BENCODE_SYNTAX, 0},
        {"e", SW_ERR_BENCODE_SYNTAX, 0},
        {"-3:abc", SW_ERR_BENCODE_SYNTAX, 0},
        {"lxe", SW_ERR_BENCODE_SYNTAX, 1},
        {"l", SW_ERR_BENCODE_EOF, 1},
        {"li1e", SW_ERR_BENCODE_EOF, 4},
        {"d", SW_ERR_BENCODE_EOF, 1},
        {"d1:a", SW_ERR_BENCODE_EOF, 4},
        {"d1:ae", SW_ERR_BENCODE_SYNTAX, 4},
        {"d1:ai1e1:be", SW_ERR_BENCODE_SYNTAX, 10},
        {"di1ei2ee", SW_ERR_BENCODE_KEY_NOT_STRING, 1},
        {"dlee", SW_ERR_BENCODE_KEY_NOT_STRING, 1},
        {"d1:ai1edei1ee", SW_ERR_BENCODE_KEY_NOT_STRING, 7},
        {"dxe", SW_ERR_BENCODE_SYNTAX, 1},
        {"3", SW_ERR_BENCODE_EOF, 1},
        {"3:ab", SW_ERR_BENCODE_EOF, 0},
        {"l5:abce", SW_ERR_BENCODE_EOF, 1},
        {"3x", SW_ERR_BENCODE_BAD_STRING_LENGTH, 1},
        {"l1:a12xe", SW_ERR_BENCODE_BAD_STRING_LENGTH, 6},
        {"99999999999999:ab", SW_ERR_BENCODE_EOF, 0},
        {"9223372036854775807:ab", SW_ERR_BENCODE_EOF, 0},
        {"9223372036854775808:ab", SW_ERR_BENCODE_BAD_STRING_LENGTH, 0},
        {"l99999999999999999999999:e", SW_ERR_BENCODE_BAD_STRING_LENGTH, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(cases[i].in, 0, cases[i].code, cases[i].offset);
        expect_error(cases[i].in, SW_BDECODE_STRICT, cases[i].code, cases[i].offset);
    }
}

static void test_empty_input(void **state)
{
    (void)state;
    expect_error_opts(NULL, 0, NULL, SW_ERR_BENCODE_EOF, 0);
    expect_error_opts("i1e", 0, NULL, SW_ERR_BENCODE_EOF, 0);
    /* Bad arguments. */
    sw_bdoc *doc = NULL;
    assert_int_equal(sw_bdecode("i1e", 3, NULL, NULL, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_bdecode(NULL, 3, NULL, &doc, NULL), SW_ERR_INVALID_ARG);
    sw_bdecode_opts bad = {.max_depth = -1};
    assert_int_equal(sw_bdecode("i1e", 3, &bad, &doc, NULL), SW_ERR_INVALID_ARG);
    bad = (sw_bdecode_opts){.max_nodes = -5};
    assert_int_equal(sw_bdecode("i1e", 3, &bad, &doc, NULL), SW_ERR_INVALID_ARG);
    assert_null(doc);
    /* err_out is optional and opts may be NULL. */
    assert_int_equal(sw_bdecode("x", 1, NULL, &doc, NULL), SW_ERR_BENCODE_SYNTAX);
    assert_int_equal(sw_bdecode("i1e", 3, NULL, &doc, NULL), 0);
    sw_bdoc_free(doc);
}

static char *nested_lists(int depth, size_t *len_out)
{
    char *s = malloc((size_t)depth * 2 + 1);
    assert_non_null(s);
    memset(s, 'l', (size_t)depth);
    memset(s + depth, 'e', (size_t)depth);
    *len_out = (size_t)depth * 2;
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    size_t len;
    char *s = nested_lists(100, &len);
    sw_bdoc *doc = decode_ok(s, len, 0);
    assert_int_equal(sw_bdoc_node_count(doc), 100);
    sw_bdoc_free(doc);
    free(s);

    s = nested_lists(101, &len);
    expect_error_opts(s, len, NULL, SW_ERR_BENCODE_DEPTH, 100);
    sw_bdecode_opts opts = {.max_depth = 101};
    assert_int_equal(sw_bdecode(s, len, &opts, &doc, NULL), 0);
    sw_bdoc_free(doc);
    free(s);

    const char *three = "ld1:aleee";
    opts.max_depth = 3;
    assert_int_equal(sw_bdecode(three, strlen(three), &opts, &doc, NULL), 0);
    sw_bdoc_free(doc);
    opts.max_depth = 2;
    expect_error_opts(three, strlen(three), &opts, SW_ERR_BENCODE_DEPTH, 5);
    /* Scalars are not nesting. */
    opts.max_depth = 1;
    assert_int_equal(sw_bdecode("li1e1:ae", 8, &opts, &doc, NULL), 0);
    sw_bdoc_free(doc);

    /* A deep input far past the limit fails fast, without recursion. */
    s = nested_lists(1000000, &len);
    expect_error_opts(s, len, NULL, SW_ERR_BENCODE_DEPTH, 100);
    opts.max_depth = 1000000;
    assert_int_equal(sw_bdecode(s, len, &opts, &doc, NULL), 0);
    assert_int_equal(sw_bdoc_node_count(doc), 1000000);
    /* Re-encoding a deep document does not recurse either. */
    size_t out_len;
    uint8_t *out = reencode(sw_bdoc_root(doc), &out_len);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, s, len);
    free(out);
    sw_bdoc_free(doc);
    free(s);
}

static void test_node_limit(void **state)
{
    (void)state;
    sw_bdecode_opts opts = {.max_nodes = 3};
    sw_bdoc *doc = NULL;
    assert_int_equal(sw_bdecode("li1ei2ee", 8, &opts, &doc, NULL), 0);
    assert_int_equal(sw_bdoc_node_count(doc), 3);
    sw_bdoc_free(doc);
    expect_error_opts("li1ei2ei3ee", 11, &opts, SW_ERR_BENCODE_TOO_MANY_NODES, 7);
    /* Keys count as nodes. */
    expect_error_opts("d1:ai1e1:bi2ee", 14, &opts, SW_ERR_BENCODE_TOO_MANY_NODES, 7);

    /* The default limit is 2,000,000 nodes: a list of 1,999,999 empty
     * strings fits, one more does not. */
    size_t n = 1999999;
    size_t len = 2 + 2 * (n + 1);
    char *s = malloc(len);
    assert_non_null(s);
    s[0] = 'l';
    for (size_t i = 0; i <= n; i++)
        memcpy(s + 1 + 2 * i, "0:", 2);
    s[len - 1] = 'e';
    expect_error_opts(s, len, NULL, SW_ERR_BENCODE_TOO_MANY_NODES, 1 + 2 * n);
    s[len - 3] = 'e'; /* drop the last string */
    assert_int_equal(sw_bdecode(s, len - 2, NULL, &doc, NULL), 0);
    assert_int_equal(sw_bdoc_node_count(doc), 2000000);
    assert_int_equal(sw_bnode_len(sw_bdoc_root(doc)), n);
    assert_true(sw_bnode_str_eq(sw_bnode_list_at(sw_bdoc_root(doc), n - 1), ""));
    sw_bdoc_free(doc);
    free(s);
}

struct violation_case {
    const char *in;
    int code;
    size_t offset;
};

static void test_strict_vs_lenient(void **state)
{
    (void)state;
    static const struct violation_case cases[] = {
        {"i03e", SW_ERR_BENCODE_LEADING_ZERO, 1},
        {"i00e", SW_ERR_BENCODE_LEADING_ZERO, 1},
        {"03:abc", SW_ERR_BENCODE_LEADING_ZERO, 0},
        {"00:", SW_ERR_BENCODE_LEADING_ZERO, 0},
        {"li1e01:ae", SW_ERR_BENCODE_LEADING_ZERO, 4},
        {"d1:bi1e1:ai2ee", SW_ERR_BENCODE_KEY_ORDER, 7},
        {"d2:abi1e1:ai2ee", SW_ERR_BENCODE_KEY_ORDER, 8},
        {"d1:ai1e1:ai2ee", SW_ERR_BENCODE_DUPLICATE_KEY, 7},
        {"i1e ", SW_ERR_BENCODE_TRAILING, 3},
        {"1:a1:b", SW_ERR_BENCODE_TRAILING, 3},
        {"dee", SW_ERR_BENCODE_TRAILING, 2},
        /* Only the first violation is recorded. */
        {"d1:bi01e1:ai1ee  ", SW_ERR_BENCODE_LEADING_ZERO, 5},
        {"ld1:bi1e1:ai2ee01:xe", SW_ERR_BENCODE_KEY_ORDER, 8},
        /* Keys are compared as unsigned bytes: 0xff sorts after 'z'. */
        {"d1:\xff"
         "i1e1:zi2ee",
         SW_ERR_BENCODE_KEY_ORDER, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct violation_case *c = &cases[i];
        sw_bdoc *doc = decode_ok(c->in, strlen(c->in), 0);
        sw_bdecode_error v = sw_bdoc_first_violation(doc);
        if (v.code != c->code || v.offset != c->offset)
            print_error("%s: violation %s at %zu\n", c->in, sw_err_name(v.code), v.offset);
        assert_int_equal(v.code, c->code);
        assert_int_equal(v.offset, c->offset);
        sw_bdoc_free(doc);
        expect_error(c->in, SW_BDECODE_STRICT, c->code, c->offset);
    }

    /* Canonical input has no violation; sorting is by bytes, shorter first. */
    const char *ok = "d1:ai1e2:aai2e1:bi3e1:\xffi4ee";
    sw_bdoc *doc = decode_ok(ok, strlen(ok), SW_BDECODE_STRICT);
    assert_int_equal(sw_bdoc_first_violation(doc).code, 0);
    sw_bdoc_free(doc);
    doc = decode_str(ok);
    assert_int_equal(sw_bdoc_first_violation(doc).code, 0);
    sw_bdoc_free(doc);

    /* Lenient values: leading zeros parse, duplicates resolve to the first,
     * trailing bytes are not part of the document. */
    doc = decode_str("d1:ai1e1:ai2e1:c03:xyze");
    sw_bnode root = sw_bdoc_root(doc);
    assert_int_equal(sw_bnode_int(sw_bnode_dict_get(root, "a")), 1);
    assert_true(sw_bnode_str_eq(sw_bnode_dict_get(root, "c"), "xyz"));
    assert_int_equal(sw_bnode_len(root), 3);
    sw_bdoc_free(doc);
    doc = decode_str("i007etrailing");
    assert_int_equal(sw_bnode_int(sw_bdoc_root(doc)), 7);
    const uint8_t *raw;
    size_t len;
    assert_true(sw_bnode_raw(sw_bdoc_root(doc), &raw, &len));
    assert_int_equal(len, 5);
    assert_int_equal(sw_bdoc_node_count(doc), 1);
    sw_bdoc_free(doc);
}

/* ---- encoding ---- */

static void test_encode_types(void **state)
{
    (void)state;
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_list_begin(enc), 0);
    assert_int_equal(sw_benc_int(enc, 0), 0);
    assert_int_equal(sw_benc_int(enc, -42), 0);
    assert_int_equal(sw_benc_int(enc, INT64_MAX), 0);
    assert_int_equal(sw_benc_int(enc, INT64_MIN), 0);
    assert_int_equal(sw_benc_str(enc, "", 0), 0);
    assert_int_equal(sw_benc_str(enc, NULL, 0), 0);
    assert_int_equal(sw_benc_str(enc, "a\0b", 3), 0);
    assert_int_equal(sw_benc_cstr(enc, "spam"), 0);
    assert_int_equal(sw_benc_list_begin(enc), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw_benc_raw(enc, "d1:xi1ee", 8), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(sw_benc_finish(enc, &out, &len), 0);
    static const char want[] = "li0ei-42ei9223372036854775807ei-9223372036854775808e0:0:3:a\0b"
                               "4:spamleded1:xi1eee";
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(out, want, len);
    sw_benc_free(enc); /* the buffer now belongs to us */

    /* Integers survive the round trip exactly. */
    sw_bdoc *doc = decode_ok((const char *)out, len, SW_BDECODE_STRICT);
    sw_bnode root = sw_bdoc_root(doc);
    assert_true(sw_bnode_int(sw_bnode_list_at(root, 2)) == INT64_MAX);
    assert_true(sw_bnode_int(sw_bnode_list_at(root, 3)) == INT64_MIN);
    sw_bdoc_free(doc);
    free(out);

    /* A bare scalar is a complete document. */
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_int(enc, 7), 0);
    finish_expect(enc, "i7e");
    sw_benc_free(NULL);
}

/* Writes the five entries of a dict in the order given by perm. */
static void encode_perm(const int *perm, uint8_t **out, size_t *len)
{
    static const char *keys[] = {"b", "a", "ab", "\xff", "aa"};
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    for (int i = 0; i < 5; i++) {
        int k = perm[i];
        assert_int_equal(sw_benc_ckey(enc, keys[k]), 0);
        if (k == 2) { /* a nested dict, itself shuffled */
            assert_int_equal(sw_benc_dict_begin(enc), 0);
            assert_int_equal(sw_benc_ckey(enc, "z"), 0);
            assert_int_equal(sw_benc_list_begin(enc), 0);
            assert_int_equal(sw_benc_int(enc, k), 0);
            assert_int_equal(sw_benc_end(enc), 0);
            assert_int_equal(sw_benc_ckey(enc, "m"), 0);
            assert_int_equal(sw_benc_cstr(enc, "mid"), 0);
            assert_int_equal(sw_benc_key(enc, "", 0), 0);
            assert_int_equal(sw_benc_int(enc, -1), 0);
            assert_int_equal(sw_benc_end(enc), 0);
        } else {
            assert_int_equal(sw_benc_int(enc, k), 0);
        }
    }
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw_benc_finish(enc, out, len), 0);
    sw_benc_free(enc);
}

static void test_encode_canonical_order(void **state)
{
    (void)state;
    static const char want[] = "d1:ai1e2:aai4e2:abd0:i-1e1:m3:mid1:zli2eee1:bi0e1:\xffi3ee";
    /* Every one of the 120 insertion orders gives the same bytes. */
    int perm[5] = {0, 1, 2, 3, 4};
    int count = 0;
    for (;;) {
        uint8_t *out;
        size_t len;
        encode_perm(perm, &out, &len);
        assert_bytes(out, len, want);
        sw_bdoc *doc = decode_ok((const char *)out, len, SW_BDECODE_STRICT);
        sw_bdoc_free(doc);
        free(out);
        count++;
        /* next permutation */
        int i = 3;
        while (i >= 0 && perm[i] > perm[i + 1])
            i--;
        if (i < 0)
            break;
        int j = 4;
        while (perm[j] < perm[i])
            j--;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        for (int a = i + 1, b = 4; a < b; a++, b--) {
            t = perm[a];
            perm[a] = perm[b];
            perm[b] = t;
        }
    }
    assert_int_equal(count, 120);

    /* A larger dict in reverse order, inside a list. */
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_list_begin(enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    for (int i = 999; i >= 0; i--) {
        char key[8];
        snprintf(key, sizeof key, "%04d", i);
        assert_int_equal(sw_benc_ckey(enc, key), 0);
        assert_int_equal(sw_benc_int(enc, i), 0);
    }
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    uint8_t *out;
    size_t len;
    assert_int_equal(sw_benc_finish(enc, &out, &len), 0);
    sw_benc_free(enc);
    sw_bdoc *doc = decode_ok((const char *)out, len, SW_BDECODE_STRICT);
    sw_bnode d = sw_bnode_list_at(sw_bdoc_root(doc), 0);
    assert_int_equal(sw_bnode_len(d), 1000);
    for (size_t i = 0; i < 1000; i++) {
        sw_bnode v;
        assert_true(sw_bnode_dict_at(d, i, NULL, &v));
        assert_int_equal(sw_bnode_int(v), (int64_t)i);
    }
    sw_bdoc_free(doc);
    free(out);
}

static void test_encode_duplicate_key(void **state)
{
    (void)state;
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "a"), 0);
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw_benc_ckey(enc, "b"), 0);
    assert_int_equal(sw_benc_int(enc, 2), 0);
    assert_int_equal(sw_benc_ckey(enc, "a"), 0);
    assert_int_equal(sw_benc_int(enc, 3), 0);
    assert_int_equal(sw_benc_end(enc), SW_ERR_INVALID_ARG);
    /* Sticky: every later call reports the first error. */
    assert_int_equal(sw_benc_int(enc, 4), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_end(enc), SW_ERR_INVALID_ARG);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(sw_benc_finish(enc, &out, &len), SW_ERR_INVALID_ARG);
    assert_null(out);
    sw_benc_free(enc);

    /* Duplicates found in the already-sorted fast path, in a nested dict. */
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "x"), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "k"), 0);
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw_benc_ckey(enc, "k"), 0);
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw_benc_end(enc), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_finish(enc, &out, &len), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    /* The same key in different dicts is fine. */
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "k"), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "k"), 0);
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    finish_expect(enc, "d1:kd1:ki1eee");
}

static sw_bencoder *new_enc(void)
{
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    return enc;
}

static void test_encode_misuse(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t len = 0;

    sw_bencoder *enc = new_enc(); /* key outside a dict */
    assert_int_equal(sw_benc_ckey(enc, "a"), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_int(enc, 1), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* key in a list */
    assert_int_equal(sw_benc_list_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "a"), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* value in a dict without a key */
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_int(enc, 1), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* container as a dict value needs a key too */
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_list_begin(enc), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* two keys in a row */
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "a"), 0);
    assert_int_equal(sw_benc_ckey(enc, "b"), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* end with a key waiting for its value */
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "a"), 0);
    assert_int_equal(sw_benc_end(enc), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* end with nothing open */
    assert_int_equal(sw_benc_end(enc), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* two top-level values */
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw_benc_int(enc, 2), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_finish(enc, &out, &len), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* finish with nothing written, then with a container open */
    assert_int_equal(sw_benc_finish(enc, &out, &len), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_list_begin(enc), 0);
    assert_int_equal(sw_benc_finish(enc, &out, &len), SW_ERR_INVALID_ARG);
    /* An early finish is not sticky: the value can still be completed. */
    assert_int_equal(sw_benc_end(enc), 0);
    finish_expect(enc, "le");

    enc = new_enc(); /* use after finish */
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw_benc_finish(enc, &out, &len), 0);
    free(out);
    assert_int_equal(sw_benc_int(enc, 2), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_finish(enc, &out, &len), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);

    enc = new_enc(); /* bad pointers */
    assert_int_equal(sw_benc_str(enc, NULL, 3), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);
    enc = new_enc();
    assert_int_equal(sw_benc_cstr(enc, NULL), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);
    enc = new_enc();
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, NULL), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);
    enc = new_enc();
    assert_int_equal(sw_benc_raw(enc, "", 0), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);
    enc = new_enc();
    sw_bnode none = {NULL, -1};
    assert_int_equal(sw_benc_node(enc, none), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);
    assert_int_equal(sw_benc_new(NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_int(NULL, 1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_key(NULL, "a", 1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_end(NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_benc_finish(NULL, &out, &len), SW_ERR_INVALID_ARG);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *canonical[] = {
        TORRENT,
        "i0e",
        "i-9223372036854775808e",
        "0:",
        "le",
        "de",
        "l4:spami42eli1ei2eed1:ai-1eelee",
        ("d0:le1:ad0:dee2:aai1e1:\xff"
         "0:e"), /* split: "\xff0" would be one hex escape */
        "lllleeee",
    };
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        const char *in = canonical[i];
        sw_bdoc *doc = decode_ok(in, strlen(in), SW_BDECODE_STRICT);
        size_t len;
        uint8_t *out = reencode(sw_bdoc_root(doc), &len);
        assert_bytes(out, len, in);
        free(out);
        sw_bdoc_free(doc);
    }

    /* Lenient input comes back canonical. */
    sw_bdoc *doc = decode_str("d1:bli03e002:xye1:ad1:zi1e1:yi2eee  ");
    size_t len;
    uint8_t *out = reencode(sw_bdoc_root(doc), &len);
    assert_bytes(out, len, "d1:ad1:yi2e1:zi1ee1:bli3e2:xyee");
    free(out);
    sw_bdoc_free(doc);

    /* Duplicate keys (lenient) cannot be re-encoded. */
    doc = decode_str("d1:ai1e1:ai2ee");
    sw_bencoder *enc = new_enc();
    assert_int_equal(sw_benc_node(enc, sw_bdoc_root(doc)), SW_ERR_INVALID_ARG);
    sw_benc_free(enc);
    sw_bdoc_free(doc);

    /* A sub-node re-encoded as a value of a new dict, next to raw bytes. */
    doc = decode_ok(TORRENT, strlen(TORRENT), SW_BDECODE_STRICT);
    sw_bnode info = sw_bnode_dict_get(sw_bdoc_root(doc), "info");
    const uint8_t *raw;
    size_t raw_len;
    assert_true(sw_bnode_raw(info, &raw, &raw_len));
    enc = new_enc();
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "z"), 0);
    assert_int_equal(sw_benc_node(enc, info), 0);
    assert_int_equal(sw_benc_ckey(enc, "c"), 0);
    assert_int_equal(sw_benc_node(enc, sw_bnode_dict_get(info, "name")), 0);
    assert_int_equal(sw_benc_ckey(enc, "r"), 0);
    assert_int_equal(sw_benc_raw(enc, raw, raw_len), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    finish_expect(enc, "d1:c8:file.bin1:r" TORRENT_INFO "1:z" TORRENT_INFO "e");
    sw_bdoc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_int_limits),
        cmocka_unit_test(test_list_nesting),
        cmocka_unit_test(test_list_random_access),
        cmocka_unit_test(test_dict_lookup),
        cmocka_unit_test(test_none_nodes),
        cmocka_unit_test(test_raw_spans),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_strict_vs_lenient),
        cmocka_unit_test(test_encode_types),
        cmocka_unit_test(test_encode_canonical_order),
        cmocka_unit_test(test_encode_duplicate_key),
        cmocka_unit_test(test_encode_misuse),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
