/* Web seed URL building, piece-to-file range plans and Content-Range
 * parsing (core/peer/web_seed.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <cswarm/error.h>
#include <cswarm/torrent_info.h>

#include <stdlib.h>

#include <cswarm/alert.h>
#include <cswarm/session.h>
#include <cswarm/torrent.h>

#include "peer/web_seed.h"
#include "session_fixture.h"

/* Appends "N:" + n bytes of s. */
static size_t put_str(char *out, size_t at, const char *s, size_t n)
{
    at += (size_t)sprintf(out + at, "%zu:", n);
    memcpy(out + at, s, n);
    return at + n;
}

static sw_torrent_info *load(const char *buf, size_t len)
{
    sw_torrent_info *ti = NULL;
    assert_int_equal(sw_torrent_info_load(buf, len, NULL, &ti, NULL), 0);
    return ti;
}

/* Single file "a b+c.bin", 40 bytes, pieces of 16. */
static sw_torrent_info *single_file(void)
{
    char buf[512];
    size_t at = (size_t)sprintf(buf, "d4:infod6:lengthi40e4:name");
    at = put_str(buf, at, "a b+c.bin", 9);
    at += (size_t)sprintf(buf + at, "12:piece lengthi16e6:pieces60:");
    memset(buf + at, 'h', 60);
    at += 60;
    at += (size_t)sprintf(buf + at, "ee");
    return load(buf, at);
}

/* Multi-file "dir \xc3\xa9": a.txt 10, a pad of 6, x 5, "sub/b c" 20:
 * 41 bytes, pieces of 16 (16, 16, 9). */
static sw_torrent_info *multi_file(void)
{
    char buf[1024];
    size_t at = (size_t)sprintf(buf, "d4:infod5:filesl"
                                     "d6:lengthi10e4:pathl5:a.txtee"
                                     "d4:attr1:p6:lengthi6e4:pathl4:.pad1:6ee"
                                     "d6:lengthi5e4:pathl1:xee"
                                     "d6:lengthi20e4:pathl3:sub3:b cee"
                                     "e4:name");
    at = put_str(buf, at, "dir \xc3\xa9", 6);
    at += (size_t)sprintf(buf + at, "12:piece lengthi16e6:pieces60:");
    memset(buf + at, 'h', 60);
    at += 60;
    at += (size_t)sprintf(buf + at, "ee");
    return load(buf, at);
}

static void test_single_file_url(void **state)
{
    (void)state;
    sw_torrent_info *ti = single_file();
    char url[128];
    size_t len = 0;
    /* A URL ending in '/' gets the name, escaped. */
    assert_int_equal(sw__web_seed_file_url(ti, "http://h:8/x/", 0, url, sizeof url, &len), 0);
    assert_string_equal(url, "http://h:8/x/a%20b%2Bc.bin");
    assert_int_equal(len, strlen(url));
    /* Otherwise the URL is the file itself. */
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/f.bin", 0, url, sizeof url, NULL), 0);
    assert_string_equal(url, "http://h/f.bin");
    /* Too small a buffer: an error and an empty string, never a cut URL. */
    char small[16];
    assert_int_equal(sw__web_seed_file_url(ti, "http://h:8/x/", 0, small, sizeof small, NULL),
                     SW_ERR_LIMIT);
    assert_string_equal(small, "");
    /* Exactly fitting (with its NUL) works. */
    char exact[sizeof "http://h/f.bin"];
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/f.bin", 0, exact, sizeof exact, NULL), 0);
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/f.bin", 0, exact, sizeof exact - 1, NULL),
                     SW_ERR_LIMIT);
    assert_int_equal(sw__web_seed_file_url(ti, "", 0, url, sizeof url, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/", 1, url, sizeof url, NULL),
                     SW_ERR_INVALID_ARG);
    sw_torrent_info_unref(ti);
}

static void test_multi_file_url(void **state)
{
    (void)state;
    sw_torrent_info *ti = multi_file();
    char url[256];
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/base/", 0, url, sizeof url, NULL), 0);
    assert_string_equal(url, "http://h/base/dir%20%C3%A9/a.txt");
    /* A '/' is added between the URL and the name when missing. */
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/base", 3, url, sizeof url, NULL), 0);
    assert_string_equal(url, "http://h/base/dir%20%C3%A9/sub/b%20c");
    /* Pad files have no URL. */
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/", 1, url, sizeof url, NULL),
                     SW_ERR_INVALID_ARG);
    assert_int_equal(sw__web_seed_file_url(ti, "http://h/", 9, url, sizeof url, NULL),
                     SW_ERR_INVALID_ARG);
    sw_torrent_info_unref(ti);
}

static void test_plan(void **state)
{
    (void)state;
    sw_torrent_info *ti = multi_file();
    sw_web_seed_range r[4];
    /* Piece 0: a.txt then the pad, which is skipped. */
    assert_int_equal(sw__web_seed_plan(ti, 0, 0, 16, r, 4), 1);
    assert_int_equal(r[0].file_index, 0);
    assert_int_equal(r[0].file_offset, 0);
    assert_int_equal(r[0].size, 10);
    assert_int_equal(r[0].run_offset, 0);
    /* Piece 1 crosses from x into "sub/b c". */
    assert_int_equal(sw__web_seed_plan(ti, 1, 0, 16, r, 4), 2);
    assert_int_equal(r[0].file_index, 2);
    assert_int_equal(r[0].file_offset, 0);
    assert_int_equal(r[0].size, 5);
    assert_int_equal(r[0].run_offset, 0);
    assert_int_equal(r[1].file_index, 3);
    assert_int_equal(r[1].file_offset, 0);
    assert_int_equal(r[1].size, 11);
    assert_int_equal(r[1].run_offset, 5);
    /* A run inside a piece, starting in the pad: run offsets stay relative
     * to the run so the pad's zeros keep their place. */
    assert_int_equal(sw__web_seed_plan(ti, 0, 8, 8, r, 4), 1);
    assert_int_equal(r[0].file_offset, 8);
    assert_int_equal(r[0].size, 2);
    assert_int_equal(r[0].run_offset, 0);
    /* The last, short piece. */
    assert_int_equal(sw__web_seed_plan(ti, 2, 0, 9, r, 4), 1);
    assert_int_equal(r[0].file_index, 3);
    assert_int_equal(r[0].file_offset, 11);
    assert_int_equal(r[0].size, 9);
    /* Too few slots: the count needed, only max written. */
    memset(r, 0, sizeof r);
    assert_int_equal(sw__web_seed_plan(ti, 1, 0, 16, r, 1), 2);
    assert_int_equal(r[1].size, 0);
    assert_int_equal(sw__web_seed_plan(ti, 1, 0, 16, NULL, 0), 2);
    /* Outside the piece. */
    assert_true(sw__web_seed_plan(ti, 2, 0, 10, r, 4) < 0);
    assert_true(sw__web_seed_plan(ti, 3, 0, 1, r, 4) < 0);
    assert_true(sw__web_seed_plan(ti, 0, -1, 1, r, 4) < 0);
    sw_torrent_info_unref(ti);
}

static int cr(const char *s, int64_t *a, int64_t *b, int64_t *t)
{
    return sw__http_parse_content_range(s, strlen(s), a, b, t);
}

static void test_content_range(void **state)
{
    (void)state;
    int64_t a = 7, b = 7, t = 7;
    assert_int_equal(cr("bytes 0-499/1234", &a, &b, &t), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 499);
    assert_int_equal(t, 1234);
    assert_int_equal(cr("  Bytes  10-10/*\r\n", &a, &b, &t), 0);
    assert_int_equal(a, 10);
    assert_int_equal(b, 10);
    assert_int_equal(t, -1);
    assert_int_equal(cr("bytes 999999999999999999-999999999999999999/*", &a, &b, &t), 0);
    /* Only len bytes are read: the tail after it does not count. */
    assert_int_equal(sw__http_parse_content_range("bytes 1-2/3XYZ", 11, &a, &b, &t), 0);
    assert_int_equal(t, 3);

    static const char *const bad[] = {
        "",
        "bytes",
        "bytes ",
        "bytes0-1/2",
        "bits 0-1/2",
        "bytes */1234",
        "bytes 5-4/10",
        "bytes 0-10/10",
        "bytes 0-1",
        "bytes 0-1/",
        "bytes -1-2/3",
        "bytes 0--2/3",
        "bytes 0-1/2 x",
        "bytes 0 -1/2",
        "bytes 1000000000000000000-1000000000000000001/*",
        "bytes 0-1/99999999999999999999",
        "bytes 0x1-2/3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = b = t = 7;
        if (cr(bad[i], &a, &b, &t) != SW_ERR_INVALID_ARG)
            fail_msg("accepted \"%s\"", bad[i]);
        /* Outputs untouched on failure. */
        assert_int_equal(a, 7);
        assert_int_equal(t, 7);
    }
    assert_int_equal(sw__http_parse_content_range(NULL, 0, &a, &b, &t), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__http_parse_content_range("bytes 0-1/2", 11, NULL, &b, &t),
                     SW_ERR_INVALID_ARG);
}

/* The handle functions, and a url-list entry whose server refuses the
 * connection: a url_seed alert naming it, no crash, the torrent goes on. */
static void test_handle_api(void **state)
{
    (void)state;
    char buf[512];
    size_t at = (size_t)sprintf(buf, "d4:infod6:lengthi40e4:name");
    at = put_str(buf, at, "ws.bin", 6);
    at += (size_t)sprintf(buf + at, "12:piece lengthi16e6:pieces60:");
    memset(buf + at, 'h', 60);
    at += 60;
    at += (size_t)sprintf(buf + at, "e8:url-list");
    at = put_str(buf, at, "http://127.0.0.1:1/w/", 21);
    at += (size_t)sprintf(buf + at, "e");
    sw_torrent_info *ti = load(buf, at);

    sfx_dir dir;
    sfx_dir_make(&dir);
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_torrent_handle h = sfx_add(ses, ti, dir.path);

    char *list = NULL;
    int count = -1;
    assert_int_equal(sw_torrent_url_seeds(h, &list, &count), 0);
    assert_int_equal(count, 1);
    assert_string_equal(list, "http://127.0.0.1:1/w/");
    free(list);
    assert_int_equal(sw_torrent_add_url_seed(h, "ftp://x/"), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_add_url_seed(h, ""), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_add_url_seed(h, "http://127.0.0.1:1/second"), 0);
    assert_int_equal(sw_torrent_add_url_seed(h, "http://127.0.0.1:1/second"), 0);
    assert_int_equal(sw_torrent_url_seeds(h, &list, &count), 0);
    assert_int_equal(count, 2);
    assert_string_equal(list, "http://127.0.0.1:1/w/\nhttp://127.0.0.1:1/second");
    free(list);
    assert_int_equal(sw_torrent_remove_url_seed(h, "http://127.0.0.1:1/second"), 0);
    assert_int_equal(sw_torrent_remove_url_seed(h, "http://127.0.0.1:1/second"), SW_ERR_NOT_FOUND);

    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_URL_SEED, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_string_equal(a->payload.tracker.url, "http://127.0.0.1:1/w/");
    assert_true(a->error < 0);
    sw_alert_free(a);

    sw_torrent_handle bad = {0};
    assert_int_equal(sw_torrent_add_url_seed(bad, "http://x/"), SW_ERR_INVALID_HANDLE);
    sw_session_free(ses);
    sfx_dir_remove(&dir);
    sw_torrent_info_unref(ti);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_file_url),
        cmocka_unit_test(test_multi_file_url),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_handle_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
