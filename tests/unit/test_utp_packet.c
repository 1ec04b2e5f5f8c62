/* Unit tests for the uTP codec (header v1, extension chain, selective ACK),
 * including malformed datagrams, and for the pure congestion-control pieces:
 * RTT estimator, base delay history and the LEDBAT window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utp/utp.h"
#include "utp/utp_cc.h"

static const sw_utp_header sample_header = {
    .type = SW_UTP_ST_DATA,
    .conn_id = 0xbeef,
    .timestamp_us = 0x01020304,
    .timestamp_diff_us = 0xa0b0c0d0,
    .wnd_size = 1048576,
    .seq_nr = 0xfffe,
    .ack_nr = 7,
};

/* ---- codec ---- */

static void test_header_layout(void **state)
{
    (void)state;
    uint8_t buf[SW_UTP_HEADER_SIZE];
    assert_int_equal(sw__utp_header_write(buf, &sample_header, NULL, 0), 20);
    /* BEP 29: type in the high nibble, version in the low one. */
    static const uint8_t expect[20] = {0x01, 0x00, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0,
                                       0xc0, 0xd0, 0x00, 0x10, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x07};
    assert_memory_equal(buf, expect, 20);
}

static void test_roundtrip_with_payload(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = sw__utp_header_write(buf, &sample_header, NULL, 0);
    memcpy(buf + n, "payload", 7);
    sw_utp_packet p;
    sw_utp_parse_error why = SW_UTP_PARSE_SHORT;
    assert_int_equal(sw__utp_packet_parse(buf, n + 7, &p, &why), 0);
    assert_int_equal(why, SW_UTP_PARSE_OK);
    assert_int_equal(p.h.type, SW_UTP_ST_DATA);
    assert_int_equal(p.h.version, 1);
    assert_int_equal(p.h.conn_id, 0xbeef);
    assert_int_equal(p.h.timestamp_us, 0x01020304);
    assert_int_equal(p.h.timestamp_diff_us, 0xa0b0c0d0);
    assert_int_equal(p.h.wnd_size, 1048576);
    assert_int_equal(p.h.seq_nr, 0xfffe);
    assert_int_equal(p.h.ack_nr, 7);
    assert_null(p.sack);
    assert_int_equal(p.payload_len, 7);
    assert_memory_equal(p.payload, "payload", 7);
    assert_ptr_equal(p.payload, buf + 20);
}

static void test_roundtrip_sack(void **state)
{
    (void)state;
    uint8_t mask[8] = {0};
    sw__utp_sack_set(mask, 0);  /* ack_nr + 2 */
    sw__utp_sack_set(mask, 9);  /* ack_nr + 11 */
    sw__utp_sack_set(mask, 63); /* ack_nr + 65 */
    assert_int_equal(mask[0], 0x01);
    assert_int_equal(mask[1], 0x02);
    assert_int_equal(mask[7], 0x80);
    uint8_t buf[64];
    sw_utp_header h = sample_header;
    h.type = SW_UTP_ST_STATE;
    size_t n = sw__utp_header_write(buf, &h, mask, sizeof mask);
    assert_int_equal(n, sw__utp_header_size(8));
    assert_int_equal(n, 30);
    assert_int_equal(buf[1], SW_UTP_EXT_SACK);
    assert_int_equal(buf[20], 0);
    assert_int_equal(buf[21], 8);
    sw_utp_packet p;
    assert_int_equal(sw__utp_packet_parse(buf, n, &p, NULL), 0);
    assert_non_null(p.sack);
    assert_int_equal(p.sack_len, 8);
    assert_int_equal(p.payload_len, 0);
    assert_true(sw__utp_sack_bit(p.sack, 0));
    assert_false(sw__utp_sack_bit(p.sack, 1));
    assert_true(sw__utp_sack_bit(p.sack, 9));
    assert_true(sw__utp_sack_bit(p.sack, 63));
}

static size_t build(uint8_t *buf, uint8_t first_ext, const uint8_t *tail, size_t tail_len)
{
    sw_utp_header h = sample_header;
    size_t n = sw__utp_header_write(buf, &h, NULL, 0);
    buf[1] = first_ext;
    if (tail_len)
        memcpy(buf + n, tail, tail_len);
    return n + tail_len;
}

static void expect_error(const uint8_t *buf, size_t len, sw_utp_parse_error why)
{
    sw_utp_packet p;
    sw_utp_parse_error got = SW_UTP_PARSE_OK;
    assert_int_equal(sw__utp_packet_parse(buf, len, &p, &got), SW_ERR_PROTOCOL);
    assert_int_equal(got, why);
}

static void test_unknown_extensions_skipped(void **state)
{
    (void)state;
    uint8_t buf[128];
    /* close reason (3, 4 bytes) -> unknown 77 (0 bytes) -> SACK (4 bytes),
     * then 3 bytes of payload. */
    static const uint8_t tail[] = {77, 4, 0, 0, 0, 9, 1, 0, 0, 4, 0xff, 0, 0, 0, 'a', 'b', 'c'};
    size_t n = build(buf, 3, tail, sizeof tail);
    sw_utp_packet p;
    assert_int_equal(sw__utp_packet_parse(buf, n, &p, NULL), 0);
    assert_int_equal(p.num_extensions, 3);
    assert_non_null(p.sack);
    assert_int_equal(p.sack_len, 4);
    assert_int_equal(p.sack[0], 0xff);
    assert_int_equal(p.payload_len, 3);
    assert_memory_equal(p.payload, "abc", 3);
}

static void test_sack_any_length(void **state)
{
    (void)state;
    /* libtorrent sends (span + 7) / 8 bytes, not a multiple of 4: 1, 3, 5
     * and 255 bytes all parse. */
    static const size_t lens[] = {1, 3, 5, 255};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t buf[SW_UTP_HEADER_SIZE + 2 + 255 + 4];
        uint8_t tail[2 + 255 + 4];
        tail[0] = 0;
        tail[1] = (uint8_t)lens[i];
        memset(tail + 2, 0x5a, lens[i]);
        memcpy(tail + 2 + lens[i], "tail", 4);
        size_t n = build(buf, 1, tail, 2 + lens[i] + 4);
        sw_utp_packet p;
        assert_int_equal(sw__utp_packet_parse(buf, n, &p, NULL), 0);
        assert_int_equal(p.sack_len, lens[i]);
        assert_int_equal(p.sack[lens[i] - 1], 0x5a);
        assert_int_equal(p.payload_len, 4);
        assert_memory_equal(p.payload, "tail", 4);
    }
}

static void test_second_sack_ignored(void **state)
{
    (void)state;
    uint8_t buf[128];
    static const uint8_t tail[] = {1, 4, 0xaa, 0, 0, 0, 0, 4, 0x55, 0, 0, 0};
    size_t n = build(buf, 1, tail, sizeof tail);
    sw_utp_packet p;
    assert_int_equal(sw__utp_packet_parse(buf, n, &p, NULL), 0);
    assert_int_equal(p.sack[0], 0xaa);
    assert_int_equal(p.payload_len, 0);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = sw__utp_header_write(buf, &sample_header, NULL, 0);

    for (size_t len = 0; len < 20; len++)
        expect_error(buf, len, SW_UTP_PARSE_SHORT);

    buf[0] = (uint8_t)((SW_UTP_ST_DATA << 4) | 0);
    expect_error(buf, n, SW_UTP_PARSE_VERSION);
    buf[0] = (uint8_t)((SW_UTP_ST_DATA << 4) | 2);
    expect_error(buf, n, SW_UTP_PARSE_VERSION);
    for (unsigned t = 5; t < 16; t++) {
        buf[0] = (uint8_t)((t << 4) | 1);
        expect_error(buf, n, SW_UTP_PARSE_TYPE);
    }

    /* An extension announced with no room for its two header bytes. */
    n = build(buf, 1, NULL, 0);
    expect_error(buf, n, SW_UTP_PARSE_EXT_TRUNCATED);
    static const uint8_t one[] = {0};
    n = build(buf, 1, one, 1);
    expect_error(buf, n, SW_UTP_PARSE_EXT_TRUNCATED);
    /* A length running past the end. */
    static const uint8_t long_len[] = {0, 8, 1, 2, 3, 4};
    n = build(buf, 1, long_len, sizeof long_len);
    expect_error(buf, n, SW_UTP_PARSE_EXT_TRUNCATED);
    static const uint8_t unknown_long[] = {0, 255, 1, 2};
    n = build(buf, 9, unknown_long, sizeof unknown_long);
    expect_error(buf, n, SW_UTP_PARSE_EXT_TRUNCATED);
    /* A second extension truncated. */
    static const uint8_t chain_cut[] = {1, 4, 0, 0, 0, 0, 0};
    n = build(buf, 1, chain_cut, sizeof chain_cut);
    expect_error(buf, n, SW_UTP_PARSE_EXT_TRUNCATED);

    /* An empty selective ACK. */
    static const uint8_t sack0[] = {0, 0};
    n = build(buf, 1, sack0, sizeof sack0);
    expect_error(buf, n, SW_UTP_PARSE_SACK_LENGTH);

    /* A chain of empty unknown extensions longer than we walk. */
    uint8_t chain[2 * (SW_UTP_MAX_EXTENSIONS + 1)];
    for (size_t i = 0; i < sizeof chain; i += 2) {
        chain[i] = 5;
        chain[i + 1] = 0;
    }
    chain[sizeof chain - 2] = 0;
    n = build(buf, 5, chain, sizeof chain);
    expect_error(buf, n, SW_UTP_PARSE_EXT_TOO_MANY);
    /* Exactly the limit is fine. */
    n = build(buf, 5, chain + 2, sizeof chain - 2);
    sw_utp_packet p;
    assert_int_equal(sw__utp_packet_parse(buf, n, &p, NULL), 0);
    assert_int_equal(p.num_extensions, SW_UTP_MAX_EXTENSIONS);

    /* NULL why_out is allowed. */
    assert_int_equal(sw__utp_packet_parse(buf, 3, &p, NULL), SW_ERR_PROTOCOL);
}

static void test_demux(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t n = sw__utp_header_write(buf, &sample_header, NULL, 0);
    assert_true(sw__utp_packet_looks_like_utp(buf, n));
    assert_false(sw__utp_packet_looks_like_utp(buf, n - 1));
    /* A DHT query and a UDP tracker reply are never taken for uTP. */
    const char *dht = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_false(sw__utp_packet_looks_like_utp((const uint8_t *)dht, strlen(dht)));
    static const uint8_t tracker[20] = {0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x07, 0x08};
    assert_false(sw__utp_packet_looks_like_utp(tracker, sizeof tracker));
    assert_string_equal(sw__utp_type_name(SW_UTP_ST_SYN), "ST_SYN");
    assert_string_equal(sw__utp_type_name(9), "?");
}

static void test_seq_wrap(void **state)
{
    (void)state;
    assert_true(sw__utp_seq_less(1, 2));
    assert_false(sw__utp_seq_less(2, 1));
    assert_false(sw__utp_seq_less(5, 5));
    assert_true(sw__utp_seq_less(0xffff, 0));
    assert_true(sw__utp_seq_less(0xfff0, 0x0010));
    assert_false(sw__utp_seq_less(0x0010, 0xfff0));
}

/* ---- congestion control ---- */

static void test_rtt(void **state)
{
    (void)state;
    sw_utp_rtt r = {0};
    assert_int_equal(sw__utp_rtt_timeout_ms(&r, 500), 1000);
    assert_int_equal(sw__utp_rtt_timeout_ms(&r, 1500), 1500);
    sw__utp_rtt_sample(&r, 100000);
    assert_int_equal(r.rtt_us, 100000);
    assert_int_equal(r.var_us, 50000);
    /* 100 + 4 * 50 = 300 ms, below the floor. */
    assert_int_equal(sw__utp_rtt_timeout_ms(&r, 500), 500);
    sw__utp_rtt_sample(&r, 900000);
    /* delta = -800000: var += (800000 - 50000) / 4; rtt += 800000 / 8. */
    assert_int_equal(r.var_us, 237500);
    assert_int_equal(r.rtt_us, 200000);
    assert_int_equal(sw__utp_rtt_timeout_ms(&r, 500), 1150);
}

static void test_delay_history(void **state)
{
    (void)state;
    sw_utp_delay_hist h;
    sw__utp_delay_hist_init(&h);
    /* Samples near the 32-bit wrap: differences still come out right. */
    uint32_t base = 0xfffffff0u;
    assert_int_equal(sw__utp_delay_hist_add(&h, base, 0), 0);
    assert_int_equal(sw__utp_delay_hist_add(&h, base + 100, 10), 100);
    assert_int_equal(sw__utp_delay_hist_add(&h, base + 5000, 20), 5000);
    assert_int_equal(sw__utp_delay_hist_add(&h, base - 10, 30), 0); /* a new base */
    assert_int_equal(sw__utp_delay_hist_add(&h, base + 90, 40), 100);
    /* Each minute starts a new bucket; the old minimum is remembered for
     * SW_UTP_DELAY_HISTORY minutes, then forgotten. */
    uint64_t t = 60000;
    for (int m = 1; m < SW_UTP_DELAY_HISTORY; m++, t += 60000)
        assert_int_equal(sw__utp_delay_hist_add(&h, base + 1000, t), 1010);
    assert_int_equal(sw__utp_delay_hist_add(&h, base + 1000, t), 0);
    assert_int_equal(sw__utp_delay_hist_add(&h, base + 1200, t + 1), 200);
}

static sw_utp_cc_params params(void)
{
    return (sw_utp_cc_params){
        .target_delay_us = 100000,
        .gain_bytes = 3000,
        .loss_percent = 50,
        .packet_bytes = 1000,
        .max_window = 1000000,
    };
}

static void test_cc_slow_start(void **state)
{
    (void)state;
    sw_utp_cc_params p = params();
    sw_utp_cc cc;
    sw__utp_cc_init(&cc, 10000);
    assert_true(cc.slow_start);
    /* A full window acked with no delay doubles it. */
    assert_false(sw__utp_cc_on_ack(&cc, &p, 10000, 0, 10000, 0));
    assert_int_equal(sw__utp_cc_window(&cc), 20000);
    assert_false(sw__utp_cc_on_ack(&cc, &p, 20000, 10000, 20000, 0));
    assert_int_equal(sw__utp_cc_window(&cc), 40000);
    /* The first sample at the target ends slow start and halves the window
     * (on target: no further change). */
    assert_true(sw__utp_cc_on_ack(&cc, &p, 1000, 100000, 40000, 19000));
    assert_false(cc.slow_start);
    assert_int_equal(cc.ssthresh, 20000);
    assert_int_equal(sw__utp_cc_window(&cc), 20000);
    /* While the window is small the linear gain may beat doubling. */
    sw__utp_cc_init(&cc, 2000);
    sw__utp_cc_on_ack(&cc, &p, 2000, 0, 2000, 0);
    assert_int_equal(sw__utp_cc_window(&cc), 5000);
    /* Slow start stops short of ssthresh. */
    sw__utp_cc_init(&cc, 10000);
    cc.ssthresh = 15000;
    sw__utp_cc_on_ack(&cc, &p, 10000, 0, 10000, 0);
    assert_false(cc.slow_start);
    assert_int_equal(sw__utp_cc_window(&cc), 13000);
}

static void test_cc_linear(void **state)
{
    (void)state;
    sw_utp_cc_params p = params();
    sw_utp_cc cc;
    sw__utp_cc_init(&cc, 10000);
    cc.slow_start = false;
    /* Zero delay, a whole window acked: + gain_bytes. */
    sw__utp_cc_on_ack(&cc, &p, 10000, 0, 10000, 0);
    assert_int_equal(sw__utp_cc_window(&cc), 13000);
    /* Half the target: + half the gain scaled by the acked share. */
    sw__utp_cc_on_ack(&cc, &p, 6500, 50000, 13000, 6500);
    assert_int_equal(sw__utp_cc_window(&cc), 13750);
    /* Twice the target: shrinks by the gain. */
    sw__utp_cc_on_ack(&cc, &p, 13750, 200000, 13750, 0);
    assert_int_equal(sw__utp_cc_window(&cc), 10750);
    /* An application-limited sender (window far from full) does not grow. */
    sw__utp_cc_on_ack(&cc, &p, 1000, 0, 1000, 0);
    assert_int_equal(sw__utp_cc_window(&cc), 10750);
    /* ... but still shrinks on delay. */
    sw__utp_cc_on_ack(&cc, &p, 1000, 300000, 1000, 0);
    assert_true(sw__utp_cc_window(&cc) < 10750);
}

static void test_cc_loss_timeout(void **state)
{
    (void)state;
    sw_utp_cc_params p = params();
    sw_utp_cc cc;
    sw__utp_cc_init(&cc, 64000);
    sw__utp_cc_on_loss(&cc, &p);
    assert_int_equal(sw__utp_cc_window(&cc), 32000);
    assert_false(cc.slow_start);
    p.loss_percent = 80;
    sw__utp_cc_on_loss(&cc, &p);
    assert_int_equal(sw__utp_cc_window(&cc), 25600);
    /* Never below one packet. */
    sw__utp_cc_init(&cc, 1500);
    sw__utp_cc_on_loss(&cc, &p);
    assert_int_equal(sw__utp_cc_window(&cc), 1200);
    sw__utp_cc_on_loss(&cc, &p);
    assert_int_equal(sw__utp_cc_window(&cc), 1000);
    /* A timeout with data in flight: one packet and slow start again. */
    sw__utp_cc_init(&cc, 50000);
    cc.slow_start = false;
    sw__utp_cc_on_timeout(&cc, &p, false);
    assert_int_equal(sw__utp_cc_window(&cc), 1000);
    assert_true(cc.slow_start);
    /* An idle timeout only decays the window. */
    sw__utp_cc_init(&cc, 30000);
    sw__utp_cc_on_timeout(&cc, &p, true);
    assert_int_equal(sw__utp_cc_window(&cc), 20000);
    /* The ceiling holds. */
    sw__utp_cc_init(&cc, 999000);
    sw__utp_cc_on_ack(&cc, &p, 999000, 0, 999000, 0);
    assert_int_equal(sw__utp_cc_window(&cc), 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),   cmocka_unit_test(test_roundtrip_with_payload),
        cmocka_unit_test(test_roundtrip_sack),  cmocka_unit_test(test_unknown_extensions_skipped),
        cmocka_unit_test(test_sack_any_length), cmocka_unit_test(test_second_sack_ignored),
        cmocka_unit_test(test_malformed),       cmocka_unit_test(test_demux),
        cmocka_unit_test(test_seq_wrap),        cmocka_unit_test(test_rtt),
        cmocka_unit_test(test_delay_history),   cmocka_unit_test(test_cc_slow_start),
        cmocka_unit_test(test_cc_linear),       cmocka_unit_test(test_cc_loss_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
