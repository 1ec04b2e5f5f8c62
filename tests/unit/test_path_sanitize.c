/* Unit tests for the path rules of core/torrent: component sanitising, the
 * Windows name rules, duplicate renaming, UTF-8 helpers and hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "torrent/torrent.h"

/* Sanitises in[0..len) and checks the result (NULL = dropped). */
static void check_len(const char *in, size_t len, const char *want)
{
    char out[SW_PATH_COMPONENT_MAX + 1];
    memset(out, 'Z', sizeof out);
    int n = sw__path_sanitize_component(in, len, out);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, strlen(out));
    if (!want) {
        if (n != 0)
            print_error("expected \"%.*s\" to be dropped, got \"%s\"\n", (int)len, in, out);
        assert_int_equal(n, 0);
        return;
    }
    assert_string_equal(out, want);
    /* Whatever comes out is a safe single component. */
    assert_true(sw__path_is_safe(out));
    assert_null(strchr(out, '/'));
}

static void check(const char *in, const char *want)
{
    check_len(in, strlen(in), want);
}

static void test_plain_names_unchanged(void **state)
{
    (void)state;
    check("file.txt", "file.txt");
    check(".hidden", ".hidden");
    check("with space", "with space");
    check("a..b", "a..b");
    check("...a", "...a");
    check("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
          "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80");
    check("C:x", "C:x"); /* legal on POSIX; kept so names match other clients */
}

static void test_dot_and_empty_components_dropped(void **state)
{
    (void)state;
    check("", NULL);
    check(".", NULL);
    check("..", NULL);
    /* A direction mark cannot smuggle a ".." past the check. */
    check(".\xE2\x80\x8E.", NULL);
    check("\xE2\x80\xAE", NULL);
}

static void test_separators_replaced(void **state)
{
    (void)state;
    check("/", "_");
    check("a/b", "a_b");
    check("/etc/passwd", "_etc_passwd");
    check("..\\..\\win.ini", ".._.._win.ini");
    check("../x", ".._x");
    check("\\", "_");
}

static void test_nul_and_control_replaced(void **state)
{
    (void)state;
    check_len("a\0b", 3, "a_b");
    check_len("\0", 1, "_");
    check("tab\there", "tab_here");
    check("new\nline", "new_line");
    check("del\x7f", "del_");
    check("esc\x1b[31m", "esc_[31m");
}

static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    check("bad\xFFname", "bad_name");
    check("\xC3", "_");                     /* truncated sequence */
    check("\xC0\xAF", "__");                /* overlong '/' */
    check("\xE0\x80\xAF", "___");           /* overlong '/' */
    check("\xED\xA0\x80", "___");           /* surrogate */
    check("\xF4\x90\x80\x80", "____");      /* above U+10FFFF */
    check("\x80x", "_x");                   /* stray continuation byte */
    check("ok\xC3\xA9\xC3", "ok\xC3\xA9_"); /* good then truncated */
}

static void test_direction_overrides_removed(void **state)
{
    (void)state;
    /* "exe.txt" displayed, "txt.exe" stored: the override goes. */
    check("photo\xE2\x80\xAEgpj.exe", "photogpj.exe");
    check("a\xE2\x81\xA6"
          "b",
          "ab");
}

static void test_windows_reserved_names(void **state)
{
    (void)state;
    check("CON", "CON_");
    check("con", "con_");
    check("Prn", "Prn_");
    check("AUX", "AUX_");
    check("NUL", "NUL_");
    check("nul.txt", "nul_.txt");
    check("CON.tar.gz", "CON_.tar.gz");
    check("COM1", "COM1_");
    check("com9.log", "com9_.log");
    check("LPT1", "LPT1_");
    check("lpt9", "lpt9_");
    check("COM0", "COM0_");
    check("COM\xC2\xB9", "COM\xC2\xB9_");
    check("CONIN$", "CONIN$_");
    check("conout$.x", "conout$_.x");
    check("CON .txt", "CON_ .txt");
    /* Not reserved. */
    check("CONSOLE", "CONSOLE");
    check("COM10", "COM10");
    check("LPT", "LPT");
    check("xCON", "xCON");
    check("NULL", "NULL");
    check("aux_", "aux_");
    assert_true(sw__path_is_windows_reserved("aux.c", 5));
    assert_false(sw__path_is_windows_reserved("auxc", 4));
    assert_false(sw__path_is_windows_reserved("", 0));
}

static void test_trailing_dots_and_spaces(void **state)
{
    (void)state;
    check("name.", "name_");
    check("name ", "name_");
    check("name. .", "name___");
    check("...", "___");
    check(" ", "_");
    check("CON.", "CON__");
    check("CON ", "CON__");
    check(" lead", " lead");
}

static void test_overlong_truncated_keeping_extension(void **state)
{
    (void)state;
    char in[600], want[300];
    memset(in, 'a', 400);
    memcpy(in + 400, ".mkv", 5);
    memset(want, 'a', 251);
    memcpy(want + 251, ".mkv", 5);
    check_len(in, 404, want);

    /* No extension: a plain cut. */
    memset(in, 'b', 300);
    memset(want, 'b', 255);
    want[255] = '\0';
    check_len(in, 300, want);

    /* The cut never splits a multi-byte character. */
    for (int i = 0; i < 150; i++)
        memcpy(in + 2 * i, "\xC3\xA9", 2);
    memcpy(in + 300, ".txt", 4);
    char out[SW_PATH_COMPONENT_MAX + 1];
    int n = sw__path_sanitize_component(in, 304, out);
    assert_true(n > 0 && n <= SW_PATH_COMPONENT_MAX);
    assert_true(sw__utf8_is_valid(out, (size_t)n));
    assert_string_equal(out + n - 4, ".txt");
    assert_int_equal(n, 250 + 4); /* 125 two-byte characters fit before ".txt" */

    /* A long "extension" is not kept. */
    memset(in, 'c', 100);
    in[100] = '.';
    memset(in + 101, 'd', 199);
    n = sw__path_sanitize_component(in, 300, out);
    assert_int_equal(n, SW_PATH_COMPONENT_MAX);
    assert_int_equal(out[100], '.');

    /* Exactly 255 bytes is kept as is. */
    memset(in, 'e', 255);
    memset(want, 'e', 255);
    want[255] = '\0';
    check_len(in, 255, want);

    /* A cut that ends in a space gets it neutralised. */
    memset(in, 'f', 254);
    in[254] = ' ';
    memset(in + 255, 'g', 20);
    n = sw__path_sanitize_component(in, 275, out);
    assert_int_equal(n, 255);
    assert_int_equal(out[254], '_');
}

static void test_huge_component(void **state)
{
    (void)state;
    size_t len = 1u << 20;
    char *in = malloc(len);
    assert_non_null(in);
    memset(in, '/', len);
    char out[SW_PATH_COMPONENT_MAX + 1];
    int n = sw__path_sanitize_component(in, len, out);
    assert_int_equal(n, SW_PATH_COMPONENT_MAX);
    assert_true(sw__path_is_safe(out));
    free(in);
}

static void test_extension_start(void **state)
{
    (void)state;
    assert_int_equal(sw__path_extension_start("a.txt", 5), 1);
    assert_int_equal(sw__path_extension_start("a.b.c", 5), 3);
    assert_int_equal(sw__path_extension_start(".bashrc", 7), 7);
    assert_int_equal(sw__path_extension_start("noext", 5), 5);
    assert_int_equal(sw__path_extension_start("x.", 2), 1);
}

static void test_path_is_safe(void **state)
{
    (void)state;
    assert_true(sw__path_is_safe("a"));
    assert_true(sw__path_is_safe("a/b/c.txt"));
    assert_false(sw__path_is_safe(""));
    assert_false(sw__path_is_safe(NULL));
    assert_false(sw__path_is_safe("/a"));
    assert_false(sw__path_is_safe("a//b"));
    assert_false(sw__path_is_safe("a/"));
    assert_false(sw__path_is_safe("a/../b"));
    assert_false(sw__path_is_safe(".."));
    assert_false(sw__path_is_safe("./a"));
    assert_false(sw__path_is_safe("a\\b"));
    assert_false(sw__path_is_safe("a\x01"));
    assert_false(sw__path_is_safe("bad\xFF"));
}

/* ---- duplicates ---- */

static void dedupe(sw_file_entry *files, int n, sw__arena *arena)
{
    assert_int_equal(sw__paths_dedupe(files, n, arena), 0);
}

static void test_dedupe_exact_duplicates(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    sw_file_entry f[4] = {
        {.path = "t/a.txt"}, {.path = "t/a.txt"}, {.path = "t/a.txt"}, {.path = "t/b"}};
    dedupe(f, 4, &arena);
    assert_string_equal(f[0].path, "t/a.txt");
    assert_string_equal(f[1].path, "t/a.1.txt");
    assert_string_equal(f[2].path, "t/a.2.txt");
    assert_string_equal(f[3].path, "t/b");
    sw__arena_free(&arena);
}

static void test_dedupe_case_insensitive(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    sw_file_entry f[3] = {{.path = "t/ReadMe"}, {.path = "t/README"}, {.path = "T/readme"}};
    dedupe(f, 3, &arena);
    assert_string_equal(f[0].path, "t/ReadMe");
    assert_string_equal(f[1].path, "t/README.1");
    assert_string_equal(f[2].path, "T/readme.2");
    sw__arena_free(&arena);
}

static void test_dedupe_file_vs_folder(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    /* "t/d" is a file and also the folder of "t/d/x": the file moves. */
    sw_file_entry f[3] = {{.path = "t/d"}, {.path = "t/d/x"}, {.path = "t/D"}};
    dedupe(f, 3, &arena);
    assert_string_equal(f[0].path, "t/d.1");
    assert_string_equal(f[1].path, "t/d/x");
    assert_string_equal(f[2].path, "t/D.2");
    sw__arena_free(&arena);
}

static void test_dedupe_suffix_taken(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    sw_file_entry f[3] = {{.path = "t/a.1.txt"}, {.path = "t/a.txt"}, {.path = "t/a.txt"}};
    dedupe(f, 3, &arena);
    assert_string_equal(f[0].path, "t/a.1.txt");
    assert_string_equal(f[1].path, "t/a.txt");
    assert_string_equal(f[2].path, "t/a.2.txt");
    sw__arena_free(&arena);
}

static void test_dedupe_pad_files_exempt(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    sw_file_entry f[4] = {{.path = "t/a"},
                          {.path = "t/.pad/100", .flags = SW_FILE_PAD},
                          {.path = "t/b"},
                          {.path = "t/.pad/100", .flags = SW_FILE_PAD}};
    dedupe(f, 4, &arena);
    assert_string_equal(f[1].path, "t/.pad/100");
    assert_string_equal(f[3].path, "t/.pad/100");
    sw__arena_free(&arena);
}

static void test_dedupe_long_name_stays_within_limit(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    char name[300] = "t/";
    memset(name + 2, 'x', 251);
    memcpy(name + 253, ".txt", 5); /* last component: 255 bytes */
    sw_file_entry f[2] = {{.path = name}, {.path = name}};
    dedupe(f, 2, &arena);
    assert_string_equal(f[0].path, name);
    assert_true(sw__path_is_safe(f[1].path));
    assert_int_equal(strlen(f[1].path), 2 + 255);
    assert_string_equal(f[1].path + strlen(f[1].path) - 6, ".1.txt");
    sw__arena_free(&arena);
}

static void test_dedupe_many_same_name_is_fast(void **state)
{
    (void)state;
    /* 20000 files of one name: with a per-name counter this is linear. */
    enum { N = 20000 };
    sw__arena arena = SW__ARENA_INIT;
    sw_file_entry *f = calloc(N, sizeof *f);
    assert_non_null(f);
    for (int i = 0; i < N; i++)
        f[i].path = "t/same.bin";
    dedupe(f, N, &arena);
    assert_string_equal(f[N - 1].path, "t/same.19999.bin");
    for (int i = 1; i < N; i += 997) {
        char want[64];
        snprintf(want, sizeof want, "t/same.%d.bin", i);
        assert_string_equal(f[i].path, want);
    }
    free(f);
    sw__arena_free(&arena);
}

/* ---- UTF-8, hex, arena ---- */

static void test_utf8_decode(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(sw__utf8_decode((const uint8_t *)"A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(sw__utf8_decode((const uint8_t *)"\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(sw__utf8_decode((const uint8_t *)"\xF0\x9F\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(sw__utf8_decode((const uint8_t *)"\xF0\x9F\x98", 3, &cp), 0);
    assert_int_equal(sw__utf8_decode((const uint8_t *)"\xC1\xBF", 2, &cp), 0);
    assert_int_equal(sw__utf8_decode((const uint8_t *)"\xFF", 1, &cp), 0);
    assert_true(sw__utf8_is_valid("", 0));
    assert_false(sw__utf8_is_valid("a\0b", 3));
    assert_int_equal(sw__utf8_floor("a\xC3\xA9", 3, 2), 1);
    assert_int_equal(sw__utf8_floor("a\xC3\xA9", 3, 3), 3);
    assert_int_equal(sw__utf8_floor("a\xC3\xA9", 3, 9), 3);
}

static void test_utf8_sanitize_text(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(sw__utf8_sanitize_text("ok", 2, out), 2);
    assert_string_equal(out, "ok");
    sw__utf8_sanitize_text("a\xFF"
                           "b\0c",
                           5, out);
    assert_string_equal(out, "a\xEF\xBF\xBD"
                             "bc");
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t bytes[4] = {0x00, 0x9f, 0xAB, 0xff};
    char hex[9];
    sw_hex_encode(bytes, 4, hex);
    assert_string_equal(hex, "009fabff");
    uint8_t back[4];
    assert_true(sw_hex_decode("009FabfF", 8, back, 4));
    assert_memory_equal(back, bytes, 4);
    assert_false(sw_hex_decode("009fabf", 7, back, 4));
    assert_false(sw_hex_decode("009fabfg", 8, back, 4));
    assert_false(sw_hex_decode(" 09fabff", 8, back, 4));
    assert_true(sw_hex_decode("", 0, back, 0));
}

static void test_arena(void **state)
{
    (void)state;
    sw__arena arena = SW__ARENA_INIT;
    char *s = sw__arena_strndup(&arena, "hello", 3);
    assert_string_equal(s, "hel");
    void *big = sw__arena_alloc(&arena, 1u << 20);
    assert_non_null(big);
    memset(big, 1, 1u << 20);
    for (int i = 0; i < 10000; i++) {
        uint64_t *p = sw__arena_calloc(&arena, 3, sizeof *p);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        assert_int_equal(p[0] | p[1] | p[2], 0);
    }
    assert_string_equal(s, "hel");
    assert_null(sw__arena_calloc(&arena, SIZE_MAX / 2, 4));
    sw__arena_free(&arena);
    sw__arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_names_unchanged),
        cmocka_unit_test(test_dot_and_empty_components_dropped),
        cmocka_unit_test(test_separators_replaced),
        cmocka_unit_test(test_nul_and_control_replaced),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_direction_overrides_removed),
        cmocka_unit_test(test_windows_reserved_names),
        cmocka_unit_test(test_trailing_dots_and_spaces),
        cmocka_unit_test(test_overlong_truncated_keeping_extension),
        cmocka_unit_test(test_huge_component),
        cmocka_unit_test(test_extension_start),
        cmocka_unit_test(test_path_is_safe),
        cmocka_unit_test(test_dedupe_exact_duplicates),
        cmocka_unit_test(test_dedupe_case_insensitive),
        cmocka_unit_test(test_dedupe_file_vs_folder),
        cmocka_unit_test(test_dedupe_suffix_taken),
        cmocka_unit_test(test_dedupe_pad_files_exempt),
        cmocka_unit_test(test_dedupe_long_name_stays_within_limit),
        cmocka_unit_test(test_dedupe_many_same_name_is_fast),
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_utf8_sanitize_text),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
