/* Fuzz target for the peer wire codec: the message parser (fed whole and in
 * input-derived chunks, which must agree), the handshake reader, the
 * semantic checks and the extended handshake parser.
 *
 * Input layout:
 *   byte 0     piece count (0 = unknown, as for a magnet link)
 *   byte 1     limits: max_block = 32 * (b + 1), max_message = 16 * (b + 1) + 16
 *   bytes 2-3  seed for the chunk sizes of the second pass
 *   rest       the byte stream from the peer */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer/peer.h"

typedef struct pass {
    int rc;
    sw_buf transcript; /* every message re-framed by the builders */
    size_t messages;
    size_t consumed_at_last_msg;
} pass;

static void check_message(const sw_wire_msg *m, uint32_t num_pieces)
{
    sw_wire_torrent_facts f;
    /* Pieces of 64 bytes, the last one 40: small enough that random
     * offsets land inside and outside. */
    sw__wire_facts_init(&f, num_pieces, 64, 40);
    f.features = SW_WIRE_FEATURE_FAST | (num_pieces % 2 ? SW_WIRE_FEATURE_EXTENSION : 0);
    char why[128];
    (void)sw__wire_msg_check(m, &f, why, sizeof why);

    if (m->kind == SW_WIRE_MSG_BITFIELD && num_pieces > 0) {
        /* The parser already checked length and spare bits: the bitfield
         * loader must agree. */
        sw_bitfield bf;
        sw__bitfield_init(&bf);
        if (sw__bitfield_from_raw(&bf, m->data, m->len, num_pieces) != 0)
            abort();
        if (!sw__bitfield_is_valid(&bf))
            abort();
        sw__bitfield_free(&bf);
    }
    if (m->kind == SW_WIRE_MSG_EXTENDED && m->ext_id == SW_WIRE_EXT_HANDSHAKE_ID) {
        sw_wire_ext_handshake hs;
        if (sw__wire_ext_handshake_parse(m->data, m->len, &hs) == 0) {
            /* What we parsed must build again. */
            sw_buf b;
            sw__buf_init(&b);
            if (sw__wire_build_ext_handshake(&b, &hs) != 0)
                abort();
            sw__buf_free(&b);
        }
        sw__wire_ext_handshake_free(&hs);
    }
}

static void run_pass(const sw_wire_parser_opts *opts, const uint8_t *data, size_t len,
                     uint32_t seed, bool chunked, pass *out)
{
    memset(out, 0, sizeof *out);
    sw_wire_parser p;
    if (sw__wire_parser_init(&p, opts) != 0)
        abort();
    size_t pos = 0;
    while (pos < len && out->rc == 0) {
        size_t span = len - pos;
        if (chunked) {
            seed = seed * 1103515245u + 12345u;
            size_t n = 1 + (seed >> 16) % 97;
            if (n < span)
                span = n;
        }
        size_t off = 0;
        while (off < span) {
            size_t used = 0;
            sw_wire_msg m;
            int rc = sw__wire_parser_next(&p, data + pos + off, span - off, &used, &m);
            if (rc < 0) {
                out->rc = rc;
                if (sw__wire_parser_error(&p)[0] == '\0')
                    abort(); /* every error says why */
                break;
            }
            if (used > span - off)
                abort();
            off += used;
            if (m.kind == SW_WIRE_MSG_NONE) {
                if (off != span)
                    abort();
                continue;
            }
            out->messages++;
            out->consumed_at_last_msg = pos + off;
            if (sw__wire_build_msg(&out->transcript, &m) != 0)
                abort();
            check_message(&m, opts->num_pieces);
        }
        pos += span;
    }
    sw__wire_parser_free(&p);
}

static void fuzz_handshake(const uint8_t *data, size_t len, uint32_t seed)
{
    sw_wire_hs_reader whole, bytes;
    sw__wire_hs_reader_init(&whole);
    sw__wire_hs_reader_init(&bytes);
    size_t used;
    sw_wire_hs_state st_whole = SW_WIRE_HS_NEED_MORE, st_bytes = SW_WIRE_HS_NEED_MORE;
    int rc_whole = 0, rc_bytes = 0;
    size_t pos = 0;
    while (rc_whole == 0 && pos < len) {
        rc_whole = sw__wire_hs_reader_feed(&whole, data + pos, len - pos, &used, &st_whole);
        if (rc_whole == 0 && used == 0)
            break;
        pos += rc_whole == 0 ? used : 0;
    }
    size_t pos2 = 0;
    while (rc_bytes == 0 && pos2 < len) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 11;
        if (n > len - pos2)
            n = len - pos2;
        rc_bytes = sw__wire_hs_reader_feed(&bytes, data + pos2, n, &used, &st_bytes);
        if (rc_bytes == 0 && used == 0)
            break;
        pos2 += rc_bytes == 0 ? used : 0;
    }
    if (rc_whole != rc_bytes || (rc_whole == 0 && pos != pos2))
        abort();
    if (rc_whole == 0 && st_whole == SW_WIRE_HS_COMPLETE &&
        memcmp(sw__wire_hs_reader_result(&whole), sw__wire_hs_reader_result(&bytes),
               sizeof(sw_wire_handshake)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    sw_wire_parser_opts opts;
    sw__wire_parser_opts_init(&opts);
    opts.num_pieces = data[0];
    opts.max_block = 32u * (data[1] + 1u);
    opts.max_message = 16u * (data[1] + 1u) + 16u;
    uint32_t seed = (uint32_t)data[2] | (uint32_t)data[3] << 8;
    const uint8_t *stream = data + 4;
    size_t len = size - 4;

    pass whole, chunked;
    run_pass(&opts, stream, len, seed, false, &whole);
    run_pass(&opts, stream, len, seed, true, &chunked);
    /* Same messages, same verdict, however the bytes arrive. */
    if (whole.rc != chunked.rc || whole.messages != chunked.messages ||
        whole.transcript.len != chunked.transcript.len ||
        (whole.transcript.len &&
         memcmp(whole.transcript.data, chunked.transcript.data, whole.transcript.len) != 0))
        abort();
    /* Re-framing the parsed messages gives back exactly the bytes read. */
    if (whole.transcript.len != whole.consumed_at_last_msg ||
        (whole.transcript.len && memcmp(whole.transcript.data, stream, whole.transcript.len) != 0))
        abort();
    sw__buf_free(&whole.transcript);
    sw__buf_free(&chunked.transcript);

    fuzz_handshake(stream, len, seed);
    return 0;
}
