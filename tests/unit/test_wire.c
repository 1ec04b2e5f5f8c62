/* Unit tests for the peer wire codec (core/peer/wire.h): handshake, message
 * framing in any chunking, length rules per id, semantic checks, builders,
 * the BEP 10 extended handshake, BEP 6 allowed-fast sets, BEP 20 peer ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "peer/peer.h"

/* ---- helpers ---------------------------------------------------------- */

/* How a stream is cut into spans: fixed-size pieces, or pseudo-random sizes
 * from a seed (size 0 = everything at once). */
typedef struct chunking {
    size_t fixed;
    uint32_t seed;
} chunking;

static size_t next_chunk(chunking *c, size_t remaining)
{
    size_t n;
    if (c->fixed == 0 && c->seed == 0) {
        n = remaining;
    } else if (c->fixed) {
        n = c->fixed;
    } else {
        c->seed = c->seed * 1103515245u + 12345u;
        n = 1 + (c->seed >> 16) % 40;
    }
    return n < remaining ? n : remaining;
}

typedef struct parse_result {
    int rc;            /* 0 or the parser's error */
    sw_buf transcript; /* every message re-framed by the builders */
    sw_wire_msg_kind kinds[64];
    size_t count;
    size_t zero_copy; /* messages whose data pointed into the input */
    char reason[128];
} parse_result;

static void result_free(parse_result *r)
{
    sw__buf_free(&r->transcript);
}

/* Parses `data` in spans chosen by `c`, re-framing every message. */
static void parse_stream(const sw_wire_parser_opts *opts, const uint8_t *data, size_t len,
                         chunking c, parse_result *r)
{
    memset(r, 0, sizeof *r);
    sw_wire_parser p;
    assert_int_equal(sw__wire_parser_init(&p, opts), 0);
    size_t pos = 0;
    while (pos < len && r->rc == 0) {
        size_t span = next_chunk(&c, len - pos);
        const uint8_t *s = data + pos;
        size_t left = span;
        while (left > 0) {
            size_t used = 0;
            sw_wire_msg m;
            int rc = sw__wire_parser_next(&p, s, left, &used, &m);
            if (rc < 0) {
                r->rc = rc;
                snprintf(r->reason, sizeof r->reason, "%s", sw__wire_parser_error(&p));
                break;
            }
            assert_true(used <= left);
            if (m.kind == SW_WIRE_MSG_NONE) {
                assert_int_equal(used, left);
            } else {
                assert_true(r->count < 64);
                r->kinds[r->count++] = m.kind;
                if (m.data && m.data >= s && m.data < s + left)
                    r->zero_copy++;
                assert_int_equal(sw__wire_build_msg(&r->transcript, &m), 0);
            }
            s += used;
            left -= used;
        }
        pos += span;
    }
    sw__wire_parser_free(&p);
}

static sw_wire_parser_opts opts_with_pieces(uint32_t num_pieces)
{
    sw_wire_parser_opts o;
    sw__wire_parser_opts_init(&o);
    o.num_pieces = num_pieces;
    return o;
}

/* Parses a single message given as raw bytes; returns the parser's code. */
static int parse_one(const sw_wire_parser_opts *opts, const uint8_t *data, size_t len,
                     sw_wire_msg *m_out, size_t *used_out)
{
    sw_wire_parser p;
    assert_int_equal(sw__wire_parser_init(&p, opts), 0);
    size_t used = 0;
    int rc = sw__wire_parser_next(&p, data, len, &used, m_out);
    if (used_out)
        *used_out = used;
    sw__wire_parser_free(&p);
    return rc;
}

/* A framed message <len><id><payload> with an arbitrary declared length. */
static size_t frame_raw(uint8_t *out, uint32_t declared, uint8_t id, size_t payload_len)
{
    sw__store_be32(out, declared);
    out[4] = id;
    memset(out + 5, 0, payload_len);
    return 5 + payload_len;
}

/* ---- handshake -------------------------------------------------------- */

static void make_handshake(sw_wire_handshake *hs)
{
    memset(hs, 0, sizeof *hs);
    sw__wire_reserved_set(hs->reserved,
                          SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST | SW_WIRE_FEATURE_DHT);
    for (int i = 0; i < 20; i++) {
        hs->info_hash.v[i] = (uint8_t)(0xA0 + i);
        hs->peer_id.v[i] = (uint8_t)('a' + i);
    }
}

static void test_reserved_bits(void **state)
{
    (void)state;
    uint8_t r[8] = {0};
    sw__wire_reserved_set(r, SW_WIRE_FEATURE_EXTENSION);
    assert_int_equal(r[5], 0x10);
    sw__wire_reserved_set(r, SW_WIRE_FEATURE_FAST);
    assert_int_equal(r[7], 0x04);
    sw__wire_reserved_set(r, SW_WIRE_FEATURE_DHT);
    assert_int_equal(r[7], 0x05);
    assert_int_equal(sw__wire_reserved_features(r),
                     SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST | SW_WIRE_FEATURE_DHT);
    /* libtorrent's usual reserved bytes: other bits don't confuse us. */
    const uint8_t lt[8] = {0, 0, 0, 0, 0, 0x18, 0, 0x05};
    assert_int_equal(sw__wire_reserved_features(lt),
                     SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST | SW_WIRE_FEATURE_DHT);
    const uint8_t none[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xFF, 0xFA};
    assert_int_equal(sw__wire_reserved_features(none), 0);
}

static void test_handshake_bytes(void **state)
{
    (void)state;
    sw_wire_handshake hs;
    make_handshake(&hs);
    sw_buf b;
    sw__buf_init(&b);
    assert_int_equal(sw__wire_build_handshake(&b, &hs), 0);
    assert_int_equal(b.len, 68);
    assert_int_equal(b.data[0], 19);
    assert_memory_equal(b.data + 1, "BitTorrent protocol", 19);
    assert_memory_equal(b.data + 20, hs.reserved, 8);
    assert_memory_equal(b.data + 28, hs.info_hash.v, 20);
    assert_memory_equal(b.data + 48, hs.peer_id.v, 20);
    sw__buf_free(&b);
}

static void test_handshake_bulk_and_trailing(void **state)
{
    (void)state;
    sw_wire_handshake hs;
    make_handshake(&hs);
    uint8_t bytes[68 + 5];
    sw__wire_handshake_write(&hs, bytes);
    /* An unchoke right behind the handshake must not be consumed. */
    sw__store_be32(bytes + 68, 1);
    bytes[72] = SW_WIRE_ID_UNCHOKE;

    sw_wire_hs_reader r;
    sw__wire_hs_reader_init(&r);
    size_t used;
    sw_wire_hs_state st;
    assert_int_equal(sw__wire_hs_reader_feed(&r, bytes, sizeof bytes, &used, &st), 0);
    assert_int_equal(st, SW_WIRE_HS_HAVE_INFO_HASH);
    assert_int_equal(used, 48);
    assert_memory_equal(sw__wire_hs_reader_result(&r)->info_hash.v, hs.info_hash.v, 20);
    assert_int_equal(sw__wire_reserved_features(sw__wire_hs_reader_result(&r)->reserved),
                     SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST | SW_WIRE_FEATURE_DHT);
    size_t used2;
    assert_int_equal(sw__wire_hs_reader_feed(&r, bytes + 48, sizeof bytes - 48, &used2, &st), 0);
    assert_int_equal(st, SW_WIRE_HS_COMPLETE);
    assert_int_equal(used2, 20);
    assert_memory_equal(sw__wire_hs_reader_result(&r)->peer_id.v, hs.peer_id.v, 20);
    /* Done: further bytes are left alone. */
    assert_int_equal(sw__wire_hs_reader_feed(&r, bytes + 68, 5, &used, &st), 0);
    assert_int_equal(used, 0);
    assert_int_equal(st, SW_WIRE_HS_COMPLETE);
}

static void test_handshake_byte_at_a_time(void **state)
{
    (void)state;
    sw_wire_handshake hs;
    make_handshake(&hs);
    uint8_t bytes[68];
    sw__wire_handshake_write(&hs, bytes);
    sw_wire_hs_reader r;
    sw__wire_hs_reader_init(&r);
    int info_hash_events = 0;
    sw_wire_hs_state st = SW_WIRE_HS_NEED_MORE;
    for (size_t i = 0; i < 68; i++) {
        size_t used;
        assert_int_equal(sw__wire_hs_reader_feed(&r, bytes + i, 1, &used, &st), 0);
        assert_int_equal(used, 1);
        if (st == SW_WIRE_HS_HAVE_INFO_HASH) {
            info_hash_events++;
            assert_int_equal(i, 47);
        } else if (i < 67) {
            assert_int_equal(st, SW_WIRE_HS_NEED_MORE);
        }
    }
    assert_int_equal(info_hash_events, 1);
    assert_int_equal(st, SW_WIRE_HS_COMPLETE);
    assert_memory_equal(sw__wire_hs_reader_result(&r)->peer_id.v, hs.peer_id.v, 20);
}

static void test_handshake_malformed(void **state)
{
    (void)state;
    sw_wire_handshake hs;
    make_handshake(&hs);
    uint8_t good[68];
    sw__wire_handshake_write(&hs, good);
    size_t used;
    sw_wire_hs_state st;
    sw_wire_hs_reader r;

    /* Wrong pstrlen fails on the first byte (an MSE stream, HTTP, ...). */
    uint8_t bad[68];
    memcpy(bad, good, 68);
    bad[0] = 18;
    sw__wire_hs_reader_init(&r);
    assert_int_equal(sw__wire_hs_reader_feed(&r, bad, 1, &used, &st), SW_ERR_HANDSHAKE);
    assert_non_null(strstr(sw__wire_hs_reader_error(&r), "19"));
    /* Sticky. */
    assert_int_equal(sw__wire_hs_reader_feed(&r, good, 68, &used, &st), SW_ERR_HANDSHAKE);

    /* Wrong protocol string, last character. */
    memcpy(bad, good, 68);
    bad[19] = 'L';
    sw__wire_hs_reader_init(&r);
    assert_int_equal(sw__wire_hs_reader_feed(&r, bad, 68, &used, &st), SW_ERR_HANDSHAKE);
    assert_non_null(strstr(sw__wire_hs_reader_error(&r), "byte 19"));

    /* HTTP request on the BitTorrent port. */
    sw__wire_hs_reader_init(&r);
    assert_int_equal(
        sw__wire_hs_reader_feed(&r, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, &used, &st),
        SW_ERR_HANDSHAKE);

    /* Truncated: 67 bytes are not a handshake yet. */
    sw__wire_hs_reader_init(&r);
    assert_int_equal(sw__wire_hs_reader_feed(&r, good, 47, &used, &st), 0);
    assert_int_equal(st, SW_WIRE_HS_NEED_MORE);
    assert_int_equal(sw__wire_hs_reader_feed(&r, good + 47, 1, &used, &st), 0);
    assert_int_equal(st, SW_WIRE_HS_HAVE_INFO_HASH);
    assert_int_equal(sw__wire_hs_reader_feed(&r, good + 48, 19, &used, &st), 0);
    assert_int_equal(st, SW_WIRE_HS_NEED_MORE);
}

/* ---- message round trips ---------------------------------------------- */

static const uint8_t block[16384] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

/* One of every message kind, as the builders write them, for 20 pieces. */
static void build_every_message(sw_buf *b, sw_wire_msg_kind *kinds, size_t *count)
{
    size_t n = 0;
    sw_bitfield bf;
    assert_int_equal(sw__bitfield_init_size(&bf, 20), 0);
    sw__bitfield_set(&bf, 0);
    sw__bitfield_set(&bf, 19);
    const uint8_t ext_payload[] = "d1:md6:ut_pexi2eee";
    const uint8_t unknown_payload[] = {0xDE, 0xAD};

    assert_int_equal(sw__wire_build_bitfield(b, &bf), 0);
    kinds[n++] = SW_WIRE_MSG_BITFIELD;
    assert_int_equal(sw__wire_build_keepalive(b), 0);
    kinds[n++] = SW_WIRE_MSG_KEEPALIVE;
    assert_int_equal(sw__wire_build_choke(b), 0);
    kinds[n++] = SW_WIRE_MSG_CHOKE;
    assert_int_equal(sw__wire_build_unchoke(b), 0);
    kinds[n++] = SW_WIRE_MSG_UNCHOKE;
    assert_int_equal(sw__wire_build_interested(b), 0);
    kinds[n++] = SW_WIRE_MSG_INTERESTED;
    assert_int_equal(sw__wire_build_not_interested(b), 0);
    kinds[n++] = SW_WIRE_MSG_NOT_INTERESTED;
    assert_int_equal(sw__wire_build_have(b, 7), 0);
    kinds[n++] = SW_WIRE_MSG_HAVE;
    assert_int_equal(sw__wire_build_request(b, 3, 16384, 16384), 0);
    kinds[n++] = SW_WIRE_MSG_REQUEST;
    assert_int_equal(sw__wire_build_piece(b, 3, 16384, block, sizeof block), 0);
    kinds[n++] = SW_WIRE_MSG_PIECE;
    assert_int_equal(sw__wire_build_piece(b, 4, 0, block, 10), 0);
    kinds[n++] = SW_WIRE_MSG_PIECE;
    assert_int_equal(sw__wire_build_cancel(b, 3, 16384, 16384), 0);
    kinds[n++] = SW_WIRE_MSG_CANCEL;
    assert_int_equal(sw__wire_build_port(b, 6881), 0);
    kinds[n++] = SW_WIRE_MSG_PORT;
    assert_int_equal(sw__wire_build_suggest(b, 11), 0);
    kinds[n++] = SW_WIRE_MSG_SUGGEST;
    assert_int_equal(sw__wire_build_have_all(b), 0);
    kinds[n++] = SW_WIRE_MSG_HAVE_ALL;
    assert_int_equal(sw__wire_build_have_none(b), 0);
    kinds[n++] = SW_WIRE_MSG_HAVE_NONE;
    assert_int_equal(sw__wire_build_reject(b, 2, 0, 16384), 0);
    kinds[n++] = SW_WIRE_MSG_REJECT;
    assert_int_equal(sw__wire_build_allowed_fast(b, 19), 0);
    kinds[n++] = SW_WIRE_MSG_ALLOWED_FAST;
    assert_int_equal(sw__wire_build_extended(b, 0, ext_payload, sizeof ext_payload - 1), 0);
    kinds[n++] = SW_WIRE_MSG_EXTENDED;
    assert_int_equal(sw__wire_build_extended(b, 3, NULL, 0), 0);
    kinds[n++] = SW_WIRE_MSG_EXTENDED;
    assert_int_equal(sw__wire_build_raw(b, 42, unknown_payload, sizeof unknown_payload), 0);
    kinds[n++] = SW_WIRE_MSG_UNKNOWN;
    assert_int_equal(sw__wire_build_raw(b, 200, NULL, 0), 0);
    kinds[n++] = SW_WIRE_MSG_UNKNOWN;
    sw__bitfield_free(&bf);
    *count = n;
}

static void test_every_message_roundtrips(void **state)
{
    (void)state;
    sw_buf stream;
    sw__buf_init(&stream);
    sw_wire_msg_kind kinds[64];
    size_t count;
    build_every_message(&stream, kinds, &count);
    sw_wire_parser_opts o = opts_with_pieces(20);

    parse_result bulk;
    parse_stream(&o, stream.data, stream.len, (chunking){0, 0}, &bulk);
    assert_int_equal(bulk.rc, 0);
    assert_int_equal(bulk.count, count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(bulk.kinds[i], kinds[i]);
    /* Re-framing what was parsed gives back the exact stream. */
    assert_int_equal(bulk.transcript.len, stream.len);
    assert_memory_equal(bulk.transcript.data, stream.data, stream.len);
    /* In one span every payload is handed out in place. */
    assert_int_equal(bulk.zero_copy, 5); /* bitfield, 2 pieces, ext, unknown */
    result_free(&bulk);
    sw__buf_free(&stream);
}

static void test_chunking_does_not_matter(void **state)
{
    (void)state;
    sw_buf stream;
    sw__buf_init(&stream);
    sw_wire_msg_kind kinds[64];
    size_t count;
    build_every_message(&stream, kinds, &count);
    sw_wire_parser_opts o = opts_with_pieces(20);

    parse_result bulk;
    parse_stream(&o, stream.data, stream.len, (chunking){0, 0}, &bulk);
    const chunking ways[] = {{1, 0},  {2, 0},    {3, 0}, {4, 0}, {5, 0}, {7, 0},
                             {13, 0}, {4096, 0}, {0, 1}, {0, 2}, {0, 99}};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        parse_result r;
        parse_stream(&o, stream.data, stream.len, ways[w], &r);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.count, bulk.count);
        assert_memory_equal(r.kinds, bulk.kinds, bulk.count * sizeof bulk.kinds[0]);
        assert_int_equal(r.transcript.len, bulk.transcript.len);
        assert_memory_equal(r.transcript.data, bulk.transcript.data, bulk.transcript.len);
        result_free(&r);
    }
    result_free(&bulk);
    sw__buf_free(&stream);
}

static void test_decoded_fields(void **state)
{
    (void)state;
    sw_buf b;
    sw__buf_init(&b);
    sw_wire_msg m;
    size_t used;
    sw_wire_parser_opts o = opts_with_pieces(0);

    assert_int_equal(sw__wire_build_request(&b, 0x01020304, 0x4000, 0x2000), 0);
    assert_int_equal(parse_one(&o, b.data, b.len, &m, &used), 0);
    assert_int_equal(used, 17);
    assert_int_equal(m.kind, SW_WIRE_MSG_REQUEST);
    assert_int_equal(m.id, SW_WIRE_ID_REQUEST);
    assert_int_equal(m.index, 0x01020304);
    assert_int_equal(m.begin, 0x4000);
    assert_int_equal(m.length, 0x2000);

    sw__buf_clear(&b);
    assert_int_equal(sw__wire_build_piece(&b, 9, 32768, block, 100), 0);
    assert_int_equal(parse_one(&o, b.data, b.len, &m, &used), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_PIECE);
    assert_int_equal(m.index, 9);
    assert_int_equal(m.begin, 32768);
    assert_int_equal(m.len, 100);
    assert_int_equal(m.length, 100);
    assert_ptr_equal(m.data, b.data + 13); /* zero copy */

    sw__buf_clear(&b);
    assert_int_equal(sw__wire_build_port(&b, 51413), 0);
    assert_int_equal(parse_one(&o, b.data, b.len, &m, &used), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_PORT);
    assert_int_equal(m.port, 51413);

    sw__buf_clear(&b);
    const uint8_t payload[] = "xyz";
    assert_int_equal(sw__wire_build_extended(&b, 7, payload, 3), 0);
    assert_int_equal(parse_one(&o, b.data, b.len, &m, &used), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_EXTENDED);
    assert_int_equal(m.ext_id, 7);
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.data, "xyz", 3);

    /* The piece header builder frames a block sent separately. */
    sw__buf_clear(&b);
    assert_int_equal(sw__wire_build_piece_header(&b, 1, 2, 100), 0);
    assert_int_equal(b.len, 13);
    assert_int_equal(sw__load_be32(b.data), 109);
    assert_int_equal(sw__buf_append(&b, block, 100), 0);
    assert_int_equal(parse_one(&o, b.data, b.len, &m, &used), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_PIECE);
    assert_int_equal(m.len, 100);
    sw__buf_free(&b);
}

static void test_piece_accumulated_across_spans(void **state)
{
    (void)state;
    sw_buf b;
    sw__buf_init(&b);
    assert_int_equal(sw__wire_build_piece(&b, 1, 0, block, sizeof block), 0);
    sw_wire_parser p;
    assert_int_equal(sw__wire_parser_init(&p, NULL), 0);
    sw_wire_msg m;
    size_t used;
    /* First half: buffered, no message. */
    assert_int_equal(sw__wire_parser_next(&p, b.data, b.len / 2, &used, &m), 0);
    assert_int_equal(used, b.len / 2);
    assert_int_equal(m.kind, SW_WIRE_MSG_NONE);
    assert_false(sw__wire_parser_at_boundary(&p));
    assert_int_equal(sw__wire_parser_next(&p, b.data + b.len / 2, b.len - b.len / 2, &used, &m), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_PIECE);
    assert_int_equal(m.len, sizeof block);
    assert_memory_equal(m.data, block, sizeof block);
    assert_true(sw__wire_parser_at_boundary(&p));
    sw__wire_parser_free(&p);
    sw__buf_free(&b);
}

/* ---- malformed input -------------------------------------------------- */

static void test_wrong_length_per_id(void **state)
{
    (void)state;
    static const struct {
        uint8_t id;
        uint32_t len;
    } cases[] = {
        {SW_WIRE_ID_CHOKE, 2},          {SW_WIRE_ID_UNCHOKE, 5},      {SW_WIRE_ID_INTERESTED, 2},
        {SW_WIRE_ID_NOT_INTERESTED, 3}, {SW_WIRE_ID_HAVE, 4},         {SW_WIRE_ID_HAVE, 6},
        {SW_WIRE_ID_HAVE, 1},           {SW_WIRE_ID_REQUEST, 12},     {SW_WIRE_ID_REQUEST, 14},
        {SW_WIRE_ID_REQUEST, 17},       {SW_WIRE_ID_CANCEL, 9},       {SW_WIRE_ID_REJECT, 12},
        {SW_WIRE_ID_PIECE, 8},          {SW_WIRE_ID_PIECE, 1},        {SW_WIRE_ID_PORT, 2},
        {SW_WIRE_ID_PORT, 5},           {SW_WIRE_ID_SUGGEST, 6},      {SW_WIRE_ID_HAVE_ALL, 2},
        {SW_WIRE_ID_HAVE_NONE, 5},      {SW_WIRE_ID_ALLOWED_FAST, 3}, {SW_WIRE_ID_EXTENDED, 1},
        {SW_WIRE_ID_BITFIELD, 1},
    };
    sw_wire_parser_opts o = opts_with_pieces(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t msg[64];
        size_t n = frame_raw(msg, cases[i].len, cases[i].id, cases[i].len - 1);
        sw_wire_msg m;
        /* The header alone is enough to reject: nothing of the payload is
         * needed (or buffered). */
        sw_wire_parser p;
        assert_int_equal(sw__wire_parser_init(&p, &o), 0);
        size_t used;
        int rc = sw__wire_parser_next(&p, msg, 5, &used, &m);
        if (rc != SW_ERR_PROTOCOL)
            fail_msg("id %u len %u: got %d", cases[i].id, cases[i].len, rc);
        assert_non_null(strstr(sw__wire_parser_error(&p), "length"));
        assert_int_equal(p.payload.cap, 0);
        sw__wire_parser_free(&p);
        /* Whole message in one span: same verdict. */
        assert_int_equal(parse_one(&o, msg, n, &m, NULL), SW_ERR_PROTOCOL);
    }
}

static void test_oversized(void **state)
{
    (void)state;
    sw_wire_parser_opts o = opts_with_pieces(0);
    uint8_t hdr[5];
    sw_wire_msg m;
    size_t used;

    /* Piece with a block one byte over the limit. */
    sw__store_be32(hdr, 9 + SW_WIRE_BLOCK_SIZE + 1);
    hdr[4] = SW_WIRE_ID_PIECE;
    assert_int_equal(parse_one(&o, hdr, 5, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);
    /* Exactly the limit is fine (needs more bytes). */
    sw__store_be32(hdr, 9 + SW_WIRE_BLOCK_SIZE);
    assert_int_equal(parse_one(&o, hdr, 5, &m, &used), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_NONE);

    /* Extended and unknown messages over max_message. */
    sw__store_be32(hdr, SW_WIRE_DEFAULT_MAX_MESSAGE + 1);
    hdr[4] = SW_WIRE_ID_EXTENDED;
    assert_int_equal(parse_one(&o, hdr, 5, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);
    hdr[4] = 99;
    assert_int_equal(parse_one(&o, hdr, 5, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);
    hdr[4] = SW_WIRE_ID_BITFIELD;
    assert_int_equal(parse_one(&o, hdr, 5, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);

    /* An absurd length prefix fails after 4 bytes, before the id. */
    sw__store_be32(hdr, 0xFFFFFFF0u);
    assert_int_equal(parse_one(&o, hdr, 4, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);
    sw_wire_parser p;
    assert_int_equal(sw__wire_parser_init(&p, &o), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sw__wire_parser_next(&p, hdr + i, 1, &used, &m), 0);
        assert_int_equal(m.kind, SW_WIRE_MSG_NONE);
    }
    assert_int_equal(sw__wire_parser_next(&p, hdr + 3, 1, &used, &m), SW_ERR_MESSAGE_TOO_LARGE);
    /* Sticky. */
    uint8_t ka[4] = {0};
    assert_int_equal(sw__wire_parser_next(&p, ka, 4, &used, &m), SW_ERR_MESSAGE_TOO_LARGE);
    sw__wire_parser_free(&p);

    /* Configurable limits. */
    sw_wire_parser_opts small = o;
    small.max_block = 1024;
    small.max_message = 100;
    sw__store_be32(hdr, 9 + 1025);
    hdr[4] = SW_WIRE_ID_PIECE;
    assert_int_equal(parse_one(&small, hdr, 5, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);
    sw__store_be32(hdr, 101);
    hdr[4] = SW_WIRE_ID_EXTENDED;
    assert_int_equal(parse_one(&small, hdr, 5, &m, &used), SW_ERR_MESSAGE_TOO_LARGE);
    sw__store_be32(hdr, 100);
    assert_int_equal(parse_one(&small, hdr, 5, &m, &used), 0);

    sw_wire_parser_opts zero = o;
    zero.max_block = 0;
    assert_int_equal(sw__wire_parser_init(&p, &zero), SW_ERR_INVALID_ARG);
}

static void test_bitfield_length_and_spare_bits(void **state)
{
    (void)state;
    sw_wire_parser_opts o = opts_with_pieces(10); /* 2 bytes, 6 spare bits */
    uint8_t msg[8];
    sw_wire_msg m;
    size_t used;

    sw__store_be32(msg, 3);
    msg[4] = SW_WIRE_ID_BITFIELD;
    msg[5] = 0xFF;
    msg[6] = 0xC0;
    assert_int_equal(parse_one(&o, msg, 7, &m, &used), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_BITFIELD);
    assert_int_equal(m.len, 2);

    msg[6] = 0xC1; /* a spare bit */
    assert_int_equal(parse_one(&o, msg, 7, &m, &used), SW_ERR_PROTOCOL);
    msg[6] = 0xE0;
    assert_int_equal(parse_one(&o, msg, 7, &m, &used), SW_ERR_PROTOCOL);

    /* One byte short or long: rejected at the header. */
    sw__store_be32(msg, 2);
    assert_int_equal(parse_one(&o, msg, 5, &m, &used), SW_ERR_PROTOCOL);
    sw__store_be32(msg, 4);
    assert_int_equal(parse_one(&o, msg, 5, &m, &used), SW_ERR_PROTOCOL);

    /* Piece count unknown (magnet): any sane length is accepted and the
     * piece count set later applies to the next message. */
    sw_wire_parser p;
    assert_int_equal(sw__wire_parser_init(&p, NULL), 0);
    sw__store_be32(msg, 4);
    msg[5] = 0xFF;
    msg[6] = 0xFF;
    msg[7] = 0x01;
    assert_int_equal(sw__wire_parser_next(&p, msg, 8, &used, &m), 0);
    assert_int_equal(m.kind, SW_WIRE_MSG_BITFIELD);
    assert_int_equal(m.len, 3);
    sw__wire_parser_set_num_pieces(&p, 10);
    assert_int_equal(sw__wire_parser_next(&p, msg, 8, &used, &m), SW_ERR_PROTOCOL);
    sw__wire_parser_free(&p);
}

static void test_truncated_stream(void **state)
{
    (void)state;
    sw_buf b;
    sw__buf_init(&b);
    assert_int_equal(sw__wire_build_have(&b, 5), 0);
    assert_int_equal(sw__wire_build_request(&b, 1, 2, 3), 0);
    /* Every proper prefix of the second message yields only the first. */
    for (size_t cut = 9; cut < b.len; cut++) {
        parse_result r;
        sw_wire_parser_opts o = opts_with_pieces(0);
        parse_stream(&o, b.data, cut, (chunking){0, 0}, &r);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.count, 1);
        assert_int_equal(r.kinds[0], SW_WIRE_MSG_HAVE);
        result_free(&r);
    }
    sw__buf_free(&b);
}

/* ---- semantic checks -------------------------------------------------- */

static void test_msg_check(void **state)
{
    (void)state;
    /* 10 pieces of 64 KiB, the last one 1000 bytes. */
    sw_wire_torrent_facts f;
    sw__wire_facts_init(&f, 10, 65536, 1000);
    f.features = SW_WIRE_FEATURE_FAST | SW_WIRE_FEATURE_EXTENSION;
    char why[128];
    sw_wire_msg m;

    memset(&m, 0, sizeof m);
    m.kind = SW_WIRE_MSG_HAVE;
    m.index = 9;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    m.index = 10;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    assert_non_null(strstr(why, "piece 10 of 10"));

    m.kind = SW_WIRE_MSG_REQUEST;
    m.index = 0;
    m.begin = 65536 - 16384;
    m.length = 16384;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    m.begin += 1; /* runs past the piece */
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    m.begin = 0;
    m.length = 16385; /* bigger than we serve */
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    assert_non_null(strstr(why, "exceeds"));
    m.length = 0;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    /* Last piece is short. */
    m.index = 9;
    m.length = 1000;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    m.length = 1001;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    /* begin + length wrapping around 32 bits. */
    m.index = 0;
    m.begin = 0xFFFFF000u;
    m.length = 0x2000;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);

    /* Pieces may be larger than requests we serve (our own requests). */
    m.kind = SW_WIRE_MSG_PIECE;
    m.index = 1;
    m.begin = 0;
    m.length = 32768;
    m.len = 32768;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    m.begin = 65536 - 100;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    m.begin = 0;
    m.length = 0;
    m.len = 0;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);

    /* Fast-extension messages need the FAST bit on both sides. */
    memset(&m, 0, sizeof m);
    m.kind = SW_WIRE_MSG_HAVE_ALL;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    f.features = 0;
    const sw_wire_msg_kind fast[] = {SW_WIRE_MSG_HAVE_ALL, SW_WIRE_MSG_HAVE_NONE,
                                     SW_WIRE_MSG_SUGGEST, SW_WIRE_MSG_REJECT,
                                     SW_WIRE_MSG_ALLOWED_FAST};
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++) {
        m.kind = fast[i];
        assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
        assert_non_null(strstr(why, "fast extension"));
    }
    m.kind = SW_WIRE_MSG_EXTENDED;
    assert_int_equal(sw__wire_msg_check(&m, &f, NULL, 0), SW_ERR_PROTOCOL);
    m.kind = SW_WIRE_MSG_CHOKE;
    assert_int_equal(sw__wire_msg_check(&m, &f, NULL, 0), 0);

    /* Before the metadata: have is accepted, requests are not. */
    sw__wire_facts_init(&f, 0, 0, 0);
    m.kind = SW_WIRE_MSG_HAVE;
    m.index = 123456;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    m.kind = SW_WIRE_MSG_REQUEST;
    m.length = 16384;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);

    /* Bitfield against the known piece count. */
    sw__wire_facts_init(&f, 10, 65536, 1000);
    const uint8_t bits[2] = {0xFF, 0xC0};
    memset(&m, 0, sizeof m);
    m.kind = SW_WIRE_MSG_BITFIELD;
    m.data = bits;
    m.len = 2;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), 0);
    const uint8_t spare[2] = {0xFF, 0xE0};
    m.data = spare;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);
    m.len = 1;
    assert_int_equal(sw__wire_msg_check(&m, &f, why, sizeof why), SW_ERR_PROTOCOL);

    assert_int_equal(sw__wire_piece_size(&f, 0), 65536);
    assert_int_equal(sw__wire_piece_size(&f, 9), 1000);
    assert_int_equal(sw__wire_piece_size(&f, 10), 0);
}

/* ---- extended handshake ----------------------------------------------- */

static void test_ext_handshake_roundtrip(void **state)
{
    (void)state;
    sw_wire_ext_entry m[] = {{"ut_metadata", 2}, {"ut_pex", 1}, {"lt_donthave", 0}};
    sw_wire_ext_handshake hs;
    sw__wire_ext_handshake_init(&hs);
    hs.m = m;
    hs.m_count = 3;
    hs.has_port = true;
    hs.port = 6881;
    hs.has_client = true;
    snprintf(hs.client, sizeof hs.client, "cswarm 0.1.0");
    hs.yourip_len = 4;
    memcpy(hs.yourip, "\x7f\x00\x00\x01", 4);
    hs.has_ipv4 = true;
    memcpy(hs.ipv4, "\x0a\x00\x00\x02", 4);
    hs.has_ipv6 = true;
    memset(hs.ipv6, 0x20, 16);
    hs.has_reqq = true;
    hs.reqq = 500;
    hs.has_metadata_size = true;
    hs.metadata_size = 31235;
    hs.has_upload_only = true;
    hs.upload_only = true;

    sw_buf b;
    sw__buf_init(&b);
    assert_int_equal(sw__wire_build_ext_handshake(&b, &hs), 0);

    sw_wire_msg msg;
    sw_wire_parser_opts o = opts_with_pieces(0);
    assert_int_equal(parse_one(&o, b.data, b.len, &msg, NULL), 0);
    assert_int_equal(msg.kind, SW_WIRE_MSG_EXTENDED);
    assert_int_equal(msg.ext_id, SW_WIRE_EXT_HANDSHAKE_ID);
    /* Canonical bencode: keys sorted. */
    assert_true(msg.len > 2 && msg.data[0] == 'd');
    assert_non_null(memmem(msg.data, msg.len, "1:md11:lt_donthavei0e", 21));

    sw_wire_ext_handshake got;
    assert_int_equal(sw__wire_ext_handshake_parse(msg.data, msg.len, &got), 0);
    assert_int_equal(got.m_count, 3);
    uint8_t id;
    assert_true(sw__wire_ext_handshake_find(&got, "ut_metadata", &id));
    assert_int_equal(id, 2);
    assert_true(sw__wire_ext_handshake_find(&got, "ut_pex", &id));
    assert_int_equal(id, 1);
    assert_false(sw__wire_ext_handshake_find(&got, "lt_donthave", &id)); /* 0 = disabled */
    assert_false(sw__wire_ext_handshake_find(&got, "nope", &id));
    assert_true(got.has_port);
    assert_int_equal(got.port, 6881);
    assert_true(got.has_client);
    assert_string_equal(got.client, "cswarm 0.1.0");
    assert_int_equal(got.yourip_len, 4);
    assert_memory_equal(got.yourip, "\x7f\x00\x00\x01", 4);
    assert_true(got.has_ipv4);
    assert_memory_equal(got.ipv4, "\x0a\x00\x00\x02", 4);
    assert_true(got.has_ipv6);
    assert_memory_equal(got.ipv6, hs.ipv6, 16);
    assert_true(got.has_reqq);
    assert_int_equal(got.reqq, 500);
    assert_true(got.has_metadata_size);
    assert_int_equal(got.metadata_size, 31235);
    assert_true(got.has_upload_only);
    assert_true(got.upload_only);
    sw__wire_ext_handshake_free(&got);
    sw__buf_free(&b);
}

static void test_ext_handshake_spec_example(void **state)
{
    (void)state;
    /* The encoded example from the libtorrent extension protocol document. */
    const char *ex = "d1:md11:LT_metadatai1e6:ut_pexi2ee1:pi6881e1:v12:uTorrent 1.2e";
    sw_wire_ext_handshake hs;
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)ex, strlen(ex), &hs), 0);
    uint8_t id;
    assert_true(sw__wire_ext_handshake_find(&hs, "LT_metadata", &id));
    assert_int_equal(id, 1);
    assert_true(sw__wire_ext_handshake_find(&hs, "ut_pex", &id));
    assert_int_equal(id, 2);
    assert_int_equal(hs.port, 6881);
    assert_string_equal(hs.client, "uTorrent 1.2");
    assert_false(hs.has_reqq);
    assert_int_equal(hs.yourip_len, 0);
    sw__wire_ext_handshake_free(&hs);
}

static void test_ext_handshake_malformed(void **state)
{
    (void)state;
    sw_wire_ext_handshake hs;
    const char *not_dict = "li1ei2ee";
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)not_dict, strlen(not_dict), &hs),
                     SW_ERR_PROTOCOL);
    sw__wire_ext_handshake_free(&hs);
    const char *garbage = "d1:m";
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)garbage, strlen(garbage), &hs),
                     SW_ERR_PROTOCOL);
    sw__wire_ext_handshake_free(&hs);
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)"", 0, &hs), SW_ERR_PROTOCOL);
    sw__wire_ext_handshake_free(&hs);

    /* Wrong types and out-of-range values are ignored, good keys kept. */
    const char *odd = "d1:md1:ai300e1:bi-1e1:c3:str0:i4e6:ut_pexi1ee"
                      "1:pi70000e4:reqqi-5e6:yourip3:abc1:vi5e4:ipv41:x"
                      "13:metadata_sizei0ee";
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)odd, strlen(odd), &hs), 0);
    assert_int_equal(hs.m_count, 1);
    assert_string_equal(hs.m[0].name, "ut_pex");
    assert_false(hs.has_port);
    assert_false(hs.has_reqq);
    assert_int_equal(hs.yourip_len, 0);
    assert_false(hs.has_client);
    assert_false(hs.has_ipv4);
    assert_false(hs.has_metadata_size);
    sw__wire_ext_handshake_free(&hs);

    /* Duplicate names (kept by the lenient decoder): the first wins, so the
     * handshake can be encoded again. */
    const char *dup = "d1:md6:ut_pexi1e6:ut_pexi2e6:ut_pexi3eee";
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)dup, strlen(dup), &hs), 0);
    assert_int_equal(hs.m_count, 1);
    assert_int_equal(hs.m[0].id, 1);
    sw_buf again;
    sw__buf_init(&again);
    assert_int_equal(sw__wire_build_ext_handshake(&again, &hs), 0);
    sw__buf_free(&again);
    sw__wire_ext_handshake_free(&hs);

    /* "m" not a dict: no entries, not an error. */
    const char *m_list = "d1:mli1eee";
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)m_list, strlen(m_list), &hs), 0);
    assert_int_equal(hs.m_count, 0);
    sw__wire_ext_handshake_free(&hs);
}

static void test_ext_handshake_client_truncated_on_utf8_boundary(void **state)
{
    (void)state;
    /* 126 ASCII bytes then "µ" (2 bytes) then more: the cut at 127 bytes
     * would split "µ", so it is dropped whole. */
    char v[200];
    memset(v, 'a', 126);
    memcpy(v + 126, "\xc2\xb5zzzz", 6);
    char dict[300];
    int n = snprintf(dict, sizeof dict, "d1:v132:%.*se", 132, v);
    sw_wire_ext_handshake hs;
    assert_int_equal(sw__wire_ext_handshake_parse((const uint8_t *)dict, (size_t)n, &hs), 0);
    assert_true(hs.has_client);
    assert_int_equal(strlen(hs.client), 126);
    sw__wire_ext_handshake_free(&hs);
}

static void test_ext_handshake_encode_with_extra_keys(void **state)
{
    (void)state;
    sw_wire_ext_entry m[] = {{"ut_metadata", 3}};
    sw_wire_ext_handshake hs;
    sw__wire_ext_handshake_init(&hs);
    hs.m = m;
    hs.m_count = 1;
    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "zz_plugin"), 0); /* a plugin's key */
    assert_int_equal(sw_benc_int(enc, 1), 0);
    assert_int_equal(sw__wire_ext_handshake_encode(enc, &hs), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    uint8_t *out;
    size_t len;
    assert_int_equal(sw_benc_finish(enc, &out, &len), 0);
    sw_benc_free(enc);
    const char *want = "d1:md11:ut_metadatai3ee9:zz_plugini1ee";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);
}

/* ---- allowed fast ----------------------------------------------------- */

static void test_allowed_fast_bep6_vectors(void **state)
{
    (void)state;
    sw_sha1 ih;
    memset(ih.v, 0xAA, sizeof ih.v);
    const uint32_t ip = (80u << 24) | (4u << 16) | (4u << 8) | 200u;
    uint32_t set[16];
    size_t n;

    assert_int_equal(sw__wire_allowed_fast_set(&ih, ip, 1313, 7, set, &n), 0);
    const uint32_t want7[] = {1059, 431, 808, 1217, 287, 376, 1188};
    assert_int_equal(n, 7);
    assert_memory_equal(set, want7, sizeof want7);

    assert_int_equal(sw__wire_allowed_fast_set(&ih, ip, 1313, 9, set, &n), 0);
    const uint32_t want9[] = {1059, 431, 808, 1217, 287, 376, 1188, 353, 508};
    assert_int_equal(n, 9);
    assert_memory_equal(set, want9, sizeof want9);

    /* Only the /24 matters. */
    assert_int_equal(sw__wire_allowed_fast_set(&ih, ip ^ 0xFF, 1313, 7, set, &n), 0);
    assert_memory_equal(set, want7, sizeof want7);
    assert_int_equal(sw__wire_allowed_fast_set(&ih, ip ^ 0x100, 1313, 7, set, &n), 0);
    assert_memory_not_equal(set, want7, sizeof want7);

    /* k larger than the torrent: every piece exactly once. */
    assert_int_equal(sw__wire_allowed_fast_set(&ih, ip, 5, 10, set, &n), 0);
    assert_int_equal(n, 5);
    uint32_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(set[i] < 5);
        seen |= 1u << set[i];
    }
    assert_int_equal(seen, 0x1F);
    assert_int_equal(sw__wire_allowed_fast_set(&ih, ip, 0, 10, set, &n), 0);
    assert_int_equal(n, 0);
}

/* ---- peer ids --------------------------------------------------------- */

static sw_peer_id pid(const char *s)
{
    sw_peer_id id;
    memset(id.v, 'x', sizeof id.v);
    memcpy(id.v, s, strlen(s) < 20 ? strlen(s) : 20);
    return id;
}

static void expect_client(const char *id_text, bool known, const char *want)
{
    sw_peer_id id = pid(id_text);
    char name[64];
    assert_int_equal(sw__peer_id_client_name(&id, name, sizeof name), known);
    assert_string_equal(name, want);
}

static void test_peer_id_generate(void **state)
{
    (void)state;
    char prefix[9];
    sw__peer_id_prefix(prefix);
    char want[9];
    snprintf(want, sizeof want, "-SW%d%d%d0-", SW_VERSION_MAJOR, SW_VERSION_MINOR,
             SW_VERSION_PATCH);
    assert_string_equal(prefix, want);

    uint8_t rnd[12] = {0, 1, 9, 10, 35, 36, 61, 62, 255, 128, 7, 100};
    sw_peer_id id;
    sw__peer_id_from_random(rnd, &id);
    assert_memory_equal(id.v, prefix, 8);
    assert_memory_equal(id.v + 8, "019AZaz0747c", 12);

    sw_peer_id a, b;
    assert_int_equal(sw__peer_id_generate(&a), 0);
    assert_int_equal(sw__peer_id_generate(&b), 0);
    assert_memory_equal(a.v, prefix, 8);
    assert_memory_not_equal(a.v, b.v, 20);
    for (int i = 8; i < 20; i++) {
        bool alnum = (a.v[i] >= '0' && a.v[i] <= '9') || (a.v[i] >= 'A' && a.v[i] <= 'Z') ||
                     (a.v[i] >= 'a' && a.v[i] <= 'z');
        assert_true(alnum);
    }
    char name[64];
    assert_true(sw__peer_id_client_name(&a, name, sizeof name));
    char own[32];
    snprintf(own, sizeof own, "cswarm %d.%d.%d", SW_VERSION_MAJOR, SW_VERSION_MINOR,
             SW_VERSION_PATCH);
    assert_string_equal(name, own);
}

static void test_peer_id_client_names(void **state)
{
    (void)state;
    expect_client("-LT20B0-", true, "libtorrent 2.0.11");
    expect_client("-LT1230-", true, "libtorrent 1.2.3");
    expect_client("-TR3000-", true, "Transmission 3.00");
    expect_client("-TR294Z-", true, "Transmission 2.94+");
    expect_client("-qB4250-", true, "qBittorrent 4.2.5");
    expect_client("-UT3550-", true, "uTorrent 3.5.5");
    expect_client("-UT355W-", true, "uTorrent 3.5.5.32");
    expect_client("-AZ2060-", true, "Azureus 2.0.6");
    expect_client("-SW0100-", true, "cswarm 0.1.0");
    expect_client("A2-1-35-0-", true, "aria2 1.35.0");
    expect_client("M4-3-6--", true, "Mainline 4.3.6");
    expect_client("M4-20-8-", true, "Mainline 4.20.8");
    expect_client("S58B-----", true, "Shadow 5.8.11");
    expect_client("T03I-----", true, "BitTornado 0.3.18");
    expect_client("XBT054d-", true, "XBT Client 0.5.4 (debug)");
    expect_client("-ZZ1234-", false, "unknown (-ZZ1234-)");
    sw_peer_id raw;
    memset(raw.v, 0, sizeof raw.v);
    raw.v[0] = 0xFF;
    char name[64];
    assert_false(sw__peer_id_client_name(&raw, name, sizeof name));
    assert_string_equal(name, "unknown (........)");
    /* Small output buffers are cut, still terminated. */
    sw_peer_id lt = pid("-LT1230-");
    char tiny[5];
    assert_true(sw__peer_id_client_name(&lt, tiny, sizeof tiny));
    assert_string_equal(tiny, "libt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_handshake_bytes),
        cmocka_unit_test(test_handshake_bulk_and_trailing),
        cmocka_unit_test(test_handshake_byte_at_a_time),
        cmocka_unit_test(test_handshake_malformed),
        cmocka_unit_test(test_every_message_roundtrips),
        cmocka_unit_test(test_chunking_does_not_matter),
        cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_piece_accumulated_across_spans),
        cmocka_unit_test(test_wrong_length_per_id),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_bitfield_length_and_spare_bits),
        cmocka_unit_test(test_truncated_stream),
        cmocka_unit_test(test_msg_check),
        cmocka_unit_test(test_ext_handshake_roundtrip),
        cmocka_unit_test(test_ext_handshake_spec_example),
        cmocka_unit_test(test_ext_handshake_malformed),
        cmocka_unit_test(test_ext_handshake_client_truncated_on_utf8_boundary),
        cmocka_unit_test(test_ext_handshake_encode_with_extra_keys),
        cmocka_unit_test(test_allowed_fast_bep6_vectors),
        cmocka_unit_test(test_peer_id_generate),
        cmocka_unit_test(test_peer_id_client_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
