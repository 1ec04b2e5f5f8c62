/* The peer wire protocol codec: BEP 3 messages, the BEP 6 fast extension,
 * BEP 10 extended messages and handshake, BEP 20 peer ids.
 *
 * Everything here is a pure function over byte spans: no sockets, no event
 * loop, no clocks. The peer connection feeds received bytes in and sends the
 * bytes the builders append to an sw_buf.
 *
 * Receiving, in order:
 *   1. sw_wire_hs_reader: the 68-byte handshake, fed incrementally. It stops
 *      once after the first 48 bytes (SW_WIRE_HS_HAVE_INFO_HASH) so that a
 *      listening socket can look up the torrent before the peer id arrives.
 *   2. sw_wire_parser: the message stream. sw__wire_parser_next() consumes
 *      bytes and returns at most one complete message per call as a typed
 *      sw_wire_msg. Lengths are checked per message id as soon as the 5-byte
 *      header is in, before any payload is buffered.
 *   3. sw__wire_msg_check(): the checks that need torrent facts (piece index
 *      in range, block inside the piece, request size, fast/extension
 *      messages only when negotiated).
 *
 * Errors: network input is never asserted on. A violation returns
 * SW_ERR_HANDSHAKE (handshake), SW_ERR_PROTOCOL or SW_ERR_MESSAGE_TOO_LARGE,
 * with a one-line reason kept in the reader/parser (or written to a caller
 * buffer by the check helpers). After an error a reader or parser stays
 * failed: later calls return the same code.
 *
 * Threading: no global state. A reader or parser belongs to one connection
 * and is used by one thread at a time (the network thread). */
#ifndef SW_CORE_PEER_WIRE_H
#define SW_CORE_PEER_WIRE_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/peer/wire.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/bencode.h>
#include <cswarm/torrent_info.h>

#include "base/base.h"

/* ------------------------------------------------------------------------ */
/* Constants                                                                */

#define SW_WIRE_PSTR "BitTorrent protocol"
#define SW_WIRE_PSTRLEN 19
#define SW_WIRE_HANDSHAKE_LEN 68
/* pstrlen + pstr + reserved + info-hash: enough to pick the torrent. */
#define SW_WIRE_HANDSHAKE_INFO_HASH_END 48
#define SW_PEER_ID_LEN 20

/* The block size every current client requests (BEP 3). */
#define SW_WIRE_BLOCK_SIZE 16384u
/* Defaults for sw_wire_parser_opts. */
#define SW_WIRE_DEFAULT_MAX_BLOCK SW_WIRE_BLOCK_SIZE
#define SW_WIRE_DEFAULT_MAX_MESSAGE (1u << 20)
/* BEP 6 suggests 10 pieces; this bounds what sw__wire_allowed_fast_set does. */
#define SW_WIRE_ALLOWED_FAST_MAX 1024u

/* Message ids on the wire. */
enum sw_wire_id {
    SW_WIRE_ID_CHOKE = 0,
    SW_WIRE_ID_UNCHOKE = 1,
    SW_WIRE_ID_INTERESTED = 2,
    SW_WIRE_ID_NOT_INTERESTED = 3,
    SW_WIRE_ID_HAVE = 4,
    SW_WIRE_ID_BITFIELD = 5,
    SW_WIRE_ID_REQUEST = 6,
    SW_WIRE_ID_PIECE = 7,
    SW_WIRE_ID_CANCEL = 8,
    SW_WIRE_ID_PORT = 9, /* BEP 5: DHT port */
    SW_WIRE_ID_SUGGEST = 13,
    SW_WIRE_ID_HAVE_ALL = 14,
    SW_WIRE_ID_HAVE_NONE = 15,
    SW_WIRE_ID_REJECT = 16,
    SW_WIRE_ID_ALLOWED_FAST = 17,
    SW_WIRE_ID_EXTENDED = 20, /* BEP 10 */
};

/* Extended message id 0 is the BEP 10 handshake. */
#define SW_WIRE_EXT_HANDSHAKE_ID 0

/* Features advertised in the handshake's reserved bytes. */
enum sw_wire_feature {
    SW_WIRE_FEATURE_EXTENSION = 1u << 0, /* BEP 10: reserved[5] & 0x10 */
    SW_WIRE_FEATURE_FAST = 1u << 1,      /* BEP 6:  reserved[7] & 0x04 */
    SW_WIRE_FEATURE_DHT = 1u << 2,       /* BEP 5:  reserved[7] & 0x01 */
};

/* ------------------------------------------------------------------------ */
/* Handshake (wire_handshake.c)                                             */

typedef struct sw_peer_id {
    uint8_t v[SW_PEER_ID_LEN];
} sw_peer_id;

typedef struct sw_wire_handshake {
    uint8_t reserved[8];
    sw_sha1 info_hash;
    sw_peer_id peer_id;
} sw_wire_handshake;

/* Sets the reserved bits for `features` (SW_WIRE_FEATURE_*), leaving other
 * bits as they are. */
void sw__wire_reserved_set(uint8_t reserved[8], unsigned features);
/* The SW_WIRE_FEATURE_* bits present in `reserved`. */
unsigned sw__wire_reserved_features(const uint8_t reserved[8]);

/* Writes the 68 handshake bytes. */
void sw__wire_handshake_write(const sw_wire_handshake *hs, uint8_t out[SW_WIRE_HANDSHAKE_LEN]);
/* Appends the 68 handshake bytes. Returns 0 or SW_ERR_NOMEM. */
int sw__wire_build_handshake(sw_buf *out, const sw_wire_handshake *hs);

typedef enum sw_wire_hs_state {
    SW_WIRE_HS_NEED_MORE = 0,  /* all input consumed; feed more */
    SW_WIRE_HS_HAVE_INFO_HASH, /* 48 bytes in: reserved + info_hash valid */
    SW_WIRE_HS_COMPLETE,       /* 68 bytes in: everything valid */
} sw_wire_hs_state;

/* Incremental handshake reader. Zero it or call sw__wire_hs_reader_init. */
typedef struct sw_wire_hs_reader {
    uint8_t bytes[SW_WIRE_HANDSHAKE_LEN];
    size_t have;
    int error;
    sw_wire_handshake hs; /* filled as its parts arrive */
    char reason[96];
} sw_wire_hs_reader;

void sw__wire_hs_reader_init(sw_wire_hs_reader *r);
/* Consumes handshake bytes from data[0..len) and reports progress through
 * *state_out. It consumes no byte past the handshake, and stops right after
 * byte 48 so SW_WIRE_HS_HAVE_INFO_HASH is reported exactly once; feed the rest
 * (data + *consumed_out) again. The pstrlen byte and protocol string are
 * checked as they arrive, so a foreign protocol fails at its first byte.
 * Returns 0, or SW_ERR_HANDSHAKE with sw__wire_hs_reader_error() saying why. */
int sw__wire_hs_reader_feed(sw_wire_hs_reader *r, const uint8_t *data, size_t len,
                            size_t *consumed_out, sw_wire_hs_state *state_out);
/* The parsed handshake; info_hash/reserved valid from HAVE_INFO_HASH on,
 * peer_id once COMPLETE. */
const sw_wire_handshake *sw__wire_hs_reader_result(const sw_wire_hs_reader *r);
/* One-line reason for the last error ("" if none). */
const char *sw__wire_hs_reader_error(const sw_wire_hs_reader *r);

/* ------------------------------------------------------------------------ */
/* Message stream parser (wire_parse.c)                                     */

typedef enum sw_wire_msg_kind {
    SW_WIRE_MSG_NONE = 0, /* no complete message yet */
    SW_WIRE_MSG_KEEPALIVE,
    SW_WIRE_MSG_CHOKE,
    SW_WIRE_MSG_UNCHOKE,
    SW_WIRE_MSG_INTERESTED,
    SW_WIRE_MSG_NOT_INTERESTED,
    SW_WIRE_MSG_HAVE,
    SW_WIRE_MSG_BITFIELD,
    SW_WIRE_MSG_REQUEST,
    SW_WIRE_MSG_PIECE,
    SW_WIRE_MSG_CANCEL,
    SW_WIRE_MSG_PORT,
    SW_WIRE_MSG_SUGGEST,
    SW_WIRE_MSG_HAVE_ALL,
    SW_WIRE_MSG_HAVE_NONE,
    SW_WIRE_MSG_REJECT,
    SW_WIRE_MSG_ALLOWED_FAST,
    SW_WIRE_MSG_EXTENDED,
    SW_WIRE_MSG_UNKNOWN,
} sw_wire_msg_kind;

/* One received message. Fields not used by a kind are zero.
 *   have, suggest, allowed_fast:  index
 *   request, cancel, reject:      index, begin, length
 *   piece:                        index, begin, data/len = the block
 *   bitfield:                     data/len = the raw bitfield bytes
 *   port:                         port
 *   extended:                     ext_id, data/len = payload after ext_id
 *   unknown:                      id, data/len = payload after the id
 * `data` points either into the caller's input span (when the whole message
 * was in one span: no copy) or into the parser's own buffer; either way it is
 * valid until the next call on the parser or until the caller's span is
 * released, whichever comes first. */
typedef struct sw_wire_msg {
    sw_wire_msg_kind kind;
    uint8_t id; /* message id on the wire (not set for keep-alive) */
    uint8_t ext_id;
    uint16_t port;
    uint32_t index;
    uint32_t begin;
    uint32_t length;
    const uint8_t *data;
    size_t len;
} sw_wire_msg;

typedef struct sw_wire_parser_opts {
    /* Largest piece block accepted; a longer piece message is
     * SW_ERR_MESSAGE_TOO_LARGE. Default SW_WIRE_DEFAULT_MAX_BLOCK. */
    uint32_t max_block;
    /* Largest bitfield, extended or unknown message (length prefix value).
     * Default SW_WIRE_DEFAULT_MAX_MESSAGE. */
    uint32_t max_message;
    /* Piece count if known, 0 if not yet (magnet). When known a bitfield must
     * be exactly 1 + ceil(num_pieces / 8) long with zero spare bits. */
    uint32_t num_pieces;
} sw_wire_parser_opts;

void sw__wire_parser_opts_init(sw_wire_parser_opts *o);

typedef struct sw_wire_parser {
    sw_wire_parser_opts opts;
    int state;      /* internal */
    uint8_t hdr[4]; /* partial length prefix */
    size_t hdr_have;
    uint32_t msg_len; /* length prefix of the current message */
    uint8_t id;       /* id of the current message */
    sw_buf payload;   /* payload of the current message, accumulated */
    int error;
    char reason[128];
} sw_wire_parser;

/* opts may be NULL for defaults. Allocates nothing until a message has to be
 * accumulated across calls. Returns 0 or SW_ERR_INVALID_ARG (a limit of 0). */
int sw__wire_parser_init(sw_wire_parser *p, const sw_wire_parser_opts *opts);
void sw__wire_parser_free(sw_wire_parser *p);
/* Sets the piece count once the metadata is known (takes effect for the next
 * message whose header has not been read yet). */
void sw__wire_parser_set_num_pieces(sw_wire_parser *p, uint32_t num_pieces);

/* Consumes bytes from data[0..len) up to the end of the next complete
 * message and returns it in *msg_out. If the input ends before a message is
 * complete, everything is consumed (buffered) and msg_out->kind is
 * SW_WIRE_MSG_NONE. Call in a loop, advancing data by *consumed_out, until
 * it returns NONE with all input consumed:
 *
 *     while (len > 0) {
 *         rc = sw__wire_parser_next(p, data, len, &used, &msg);
 *         if (rc < 0) disconnect(sw__wire_parser_error(p));
 *         data += used; len -= used;
 *         if (msg.kind != SW_WIRE_MSG_NONE) handle(&msg);
 *     }
 *
 * Returns 0, SW_ERR_PROTOCOL, SW_ERR_MESSAGE_TOO_LARGE or SW_ERR_NOMEM. */
int sw__wire_parser_next(sw_wire_parser *p, const uint8_t *data, size_t len, size_t *consumed_out,
                         sw_wire_msg *msg_out);
/* One-line reason for the last error ("" if none). */
const char *sw__wire_parser_error(const sw_wire_parser *p);
/* True between messages (no partial message buffered). */
bool sw__wire_parser_at_boundary(const sw_wire_parser *p);
/* A printable name for a kind ("piece", "have_all", ...). */
const char *sw__wire_msg_kind_name(sw_wire_msg_kind kind);

/* ------------------------------------------------------------------------ */
/* Checks against torrent facts (wire_check.c)                              */

typedef struct sw_wire_torrent_facts {
    uint32_t num_pieces;        /* 0 = not known yet: index checks are skipped */
    uint32_t piece_length;      /* bytes in every piece but the last */
    uint32_t last_piece_length; /* bytes in the last piece */
    /* Largest block a peer may request from us. Default SW_WIRE_BLOCK_SIZE:
     * BEP 3 notes clients close connections asking for more. */
    uint32_t max_request;
    /* SW_WIRE_FEATURE_* both sides advertised: fast-extension messages
     * without FAST and extended messages without EXTENSION are violations. */
    unsigned features;
} sw_wire_torrent_facts;

/* Fills facts from a torrent's geometry (max_request = SW_WIRE_BLOCK_SIZE,
 * features = 0). Pass num_pieces 0 while the metadata is unknown. */
void sw__wire_facts_init(sw_wire_torrent_facts *f, uint32_t num_pieces, uint32_t piece_length,
                         uint32_t last_piece_length);
/* The size of piece `index` (0 if out of range). */
uint32_t sw__wire_piece_size(const sw_wire_torrent_facts *f, uint32_t index);
/* index < num_pieces (true when num_pieces is unknown). */
bool sw__wire_valid_piece_index(const sw_wire_torrent_facts *f, uint32_t index);
/* A block inside its piece: 0 < length <= max_length and
 * begin + length <= piece size. Needs known num_pieces. */
bool sw__wire_valid_block(const sw_wire_torrent_facts *f, uint32_t index, uint32_t begin,
                          uint32_t length, uint32_t max_length);
/* Checks a parsed message against the torrent and the negotiated features.
 * Returns 0, or SW_ERR_PROTOCOL with a one-line reason written to
 * reason[0..reason_len) (reason may be NULL). */
int sw__wire_msg_check(const sw_wire_msg *m, const sw_wire_torrent_facts *f, char *reason,
                       size_t reason_len);

/* ------------------------------------------------------------------------ */
/* Builders (wire_build.c). Each appends one framed message to `out` and      */
/* returns 0 or SW_ERR_NOMEM (out unchanged on failure).                      */

int sw__wire_build_keepalive(sw_buf *out);
/* Any message with no payload: choke, unchoke, interested, not interested,
 * have all, have none. */
int sw__wire_build_simple(sw_buf *out, uint8_t id);
int sw__wire_build_choke(sw_buf *out);
int sw__wire_build_unchoke(sw_buf *out);
int sw__wire_build_interested(sw_buf *out);
int sw__wire_build_not_interested(sw_buf *out);
int sw__wire_build_have_all(sw_buf *out);
int sw__wire_build_have_none(sw_buf *out);
int sw__wire_build_have(sw_buf *out, uint32_t index);
int sw__wire_build_suggest(sw_buf *out, uint32_t index);
int sw__wire_build_allowed_fast(sw_buf *out, uint32_t index);
int sw__wire_build_bitfield(sw_buf *out, const sw_bitfield *bf);
int sw__wire_build_bitfield_raw(sw_buf *out, const uint8_t *raw, size_t len);
int sw__wire_build_request(sw_buf *out, uint32_t index, uint32_t begin, uint32_t length);
int sw__wire_build_cancel(sw_buf *out, uint32_t index, uint32_t begin, uint32_t length);
int sw__wire_build_reject(sw_buf *out, uint32_t index, uint32_t begin, uint32_t length);
int sw__wire_build_piece(sw_buf *out, uint32_t index, uint32_t begin, const uint8_t *block,
                         size_t len);
/* Only the 13-byte header of a piece message whose block of `len` bytes the
 * caller sends next from its own buffer (to write a disk buffer unchanged). */
int sw__wire_build_piece_header(sw_buf *out, uint32_t index, uint32_t begin, size_t len);
int sw__wire_build_port(sw_buf *out, uint16_t port);
int sw__wire_build_extended(sw_buf *out, uint8_t ext_id, const uint8_t *payload, size_t len);
/* Any id with a raw payload (len 0 is fine). */
int sw__wire_build_raw(sw_buf *out, uint8_t id, const uint8_t *payload, size_t len);
/* Re-frames a parsed message (any kind but NONE; SW_ERR_INVALID_ARG else). */
int sw__wire_build_msg(sw_buf *out, const sw_wire_msg *m);

/* ------------------------------------------------------------------------ */
/* BEP 10 extended handshake (wire_ext.c)                                   */

typedef struct sw_wire_ext_entry {
    const char *name; /* NUL-terminated */
    uint8_t id;       /* 0 = the extension is disabled */
} sw_wire_ext_entry;

/* Keys of the extended handshake dictionary. Fields whose has_* flag is
 * false are absent. When built by hand (for sw__wire_ext_handshake_encode)
 * every pointer is the caller's; when filled by sw__wire_ext_handshake_parse
 * `m` and its names are owned by the struct: release with
 * sw__wire_ext_handshake_free. */
typedef struct sw_wire_ext_handshake {
    sw_wire_ext_entry *m; /* "m": extension name -> message id */
    size_t m_count;
    bool has_port;
    uint16_t port; /* "p": TCP listen port (1..65535) */
    bool has_client;
    char client[128];   /* "v": client name and version, truncated, NUL-ended */
    uint8_t yourip_len; /* 0, 4 or 16 */
    uint8_t yourip[16]; /* "yourip": how the sender sees the receiver */
    bool has_ipv4;
    uint8_t ipv4[4];
    bool has_ipv6;
    uint8_t ipv6[16];
    bool has_reqq;
    uint32_t reqq; /* "reqq": requests the sender queues without dropping */
    bool has_metadata_size;
    int64_t metadata_size; /* BEP 9 "metadata_size" (> 0) */
    bool has_upload_only;
    bool upload_only; /* BEP 21 "upload_only" */
    void *owned_;     /* internal: storage of a parsed handshake */
} sw_wire_ext_handshake;

void sw__wire_ext_handshake_init(sw_wire_ext_handshake *hs);
void sw__wire_ext_handshake_free(sw_wire_ext_handshake *hs);
/* The id the peer gave extension `name` (false if absent or 0). */
bool sw__wire_ext_handshake_find(const sw_wire_ext_handshake *hs, const char *name,
                                 uint8_t *id_out);

/* Writes the handshake's keys into the dictionary currently open in enc, so
 * a caller can add more keys (plugins) before closing it; the encoder sorts
 * keys at close. Returns 0 or the encoder's error. */
int sw__wire_ext_handshake_encode(sw_bencoder *enc, const sw_wire_ext_handshake *hs);
/* Appends a complete extended message (id 20, ext id 0) with the handshake
 * dictionary. Returns 0, SW_ERR_NOMEM or SW_ERR_INVALID_ARG. */
int sw__wire_build_ext_handshake(sw_buf *out, const sw_wire_ext_handshake *hs);

/* Parses a received handshake payload (the bytes after the ext id). Keys
 * with the wrong type or out-of-range values are ignored, as BEP 10 asks for
 * unknown keys; `m` entries with an id outside 0..255 are dropped. Returns 0,
 * SW_ERR_PROTOCOL (not a bencoded dictionary) or SW_ERR_NOMEM. `out` is
 * initialised by the call; free it even on error. */
int sw__wire_ext_handshake_parse(const uint8_t *payload, size_t len, sw_wire_ext_handshake *out);
/* Same, from a dictionary the caller already decoded (to share one decode
 * with plugins' on_extension_handshake). */
int sw__wire_ext_handshake_from_node(sw_bnode dict, sw_wire_ext_handshake *out);

/* ------------------------------------------------------------------------ */
/* BEP 6 allowed-fast set (allowed_fast.c)                                  */

/* The canonical allowed-fast set for a peer at IPv4 address `ipv4` (host
 * byte order, e.g. 0x7f000001 for 127.0.0.1), exactly as BEP 6 specifies:
 * k = min(k, num_pieces, SW_WIRE_ALLOWED_FAST_MAX) indices written to
 * set_out in generation order, the count to *count_out. BEP 6 defines no
 * set for IPv6 peers. Returns 0 or SW_ERR_CRYPTO. */
int sw__wire_allowed_fast_set(const sw_sha1 *info_hash, uint32_t ipv4, uint32_t num_pieces,
                              uint32_t k, uint32_t *set_out, size_t *count_out);

/* ------------------------------------------------------------------------ */
/* BEP 20 peer ids (peer_id.c)                                              */

/* The 8-byte Azureus-style prefix "-SWvvvv-" of cswarm's peer ids, from the
 * library version (each of major, minor, patch, 0 as one character: 0-9 then
 * A-Z). out must hold 9 bytes (NUL-terminated). */
void sw__peer_id_prefix(char out[9]);
/* A peer id: the prefix then 12 characters from [0-9A-Za-z] chosen by
 * `random12`. Deterministic, for tests. */
void sw__peer_id_from_random(const uint8_t random12[12], sw_peer_id *out);
/* A fresh peer id from the system's random source. Returns 0 or
 * SW_ERR_CRYPTO. */
int sw__peer_id_generate(sw_peer_id *out);
/* Writes a printable client name and version guessed from the id's
 * encoding, e.g. "libtorrent 1.2.3", "Transmission 3.0.0", "aria2 1.35.0",
 * "cswarm 0.1.0", always NUL-terminated and printable ASCII. Returns true if
 * the client was recognised; otherwise writes "unknown" plus the id's
 * printable prefix and returns false. */
bool sw__peer_id_client_name(const sw_peer_id *id, char *out, size_t out_len);

#endif
