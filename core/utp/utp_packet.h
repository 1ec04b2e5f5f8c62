/* The uTP (BEP 29) packet codec: the version 1 header, the extension chain
 * and the selective ACK bitmask. Pure functions over byte spans; no state,
 * no allocation, safe on any thread. Included through "utp/utp.h".
 *
 * Wire layout (all fields big-endian):
 *   0  type (high nibble) | version (low nibble)
 *   1  first extension type (0 = none)
 *   2  connection id (16 bits)
 *   4  timestamp, microseconds (32)
 *   8  timestamp difference, microseconds (32)
 *   12 advertised receive window, bytes (32)
 *   16 seq_nr (16)
 *   18 ack_nr (16)
 *   20 extensions: {next type, length, length bytes}..., then the payload */
#ifndef SW_CORE_UTP_PACKET_H
#define SW_CORE_UTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_UTP_VERSION 1
#define SW_UTP_HEADER_SIZE 20
/* Extension types. Only the selective ACK is interpreted; every other type
 * (libtorrent's close reason is 3) is skipped by its length. */
#define SW_UTP_EXT_NONE 0
#define SW_UTP_EXT_SACK 1
/* A selective ACK bitmask is 1..SW_UTP_SACK_MAX_BYTES bytes (its length is
 * one byte). BEP 29 says "a multiple of 4", which cswarm sends, but
 * libtorrent sends any length, so any non-zero length is accepted. */
#define SW_UTP_SACK_MAX_BYTES 255

typedef enum sw_utp_type {
    SW_UTP_ST_DATA = 0,
    SW_UTP_ST_FIN = 1,
    SW_UTP_ST_STATE = 2,
    SW_UTP_ST_RESET = 3,
    SW_UTP_ST_SYN = 4,
    SW_UTP_ST_COUNT = 5
} sw_utp_type;

typedef struct sw_utp_header {
    uint8_t type; /* sw_utp_type */
    uint8_t version;
    uint8_t extension; /* first extension type, as on the wire */
    uint16_t conn_id;
    uint32_t timestamp_us;
    uint32_t timestamp_diff_us;
    uint32_t wnd_size;
    uint16_t seq_nr;
    uint16_t ack_nr;
} sw_utp_header;

/* A parsed packet. Pointers borrow the input buffer. */
typedef struct sw_utp_packet {
    sw_utp_header h;
    const uint8_t *sack;     /* the first selective ACK bitmask, or NULL */
    size_t sack_len;         /* bytes in it: 1..255 */
    unsigned num_extensions; /* extensions walked, known or not */
    const uint8_t *payload;
    size_t payload_len;
} sw_utp_packet;

/* Why a datagram was refused. */
typedef enum sw_utp_parse_error {
    SW_UTP_PARSE_OK = 0,
    SW_UTP_PARSE_SHORT,         /* fewer than 20 bytes */
    SW_UTP_PARSE_VERSION,       /* version is not 1 */
    SW_UTP_PARSE_TYPE,          /* type above ST_SYN */
    SW_UTP_PARSE_EXT_TRUNCATED, /* an extension runs past the end */
    SW_UTP_PARSE_SACK_LENGTH,   /* an empty selective ACK */
    SW_UTP_PARSE_EXT_TOO_MANY   /* more extensions than a sane packet carries */
} sw_utp_parse_error;

/* At most this many extensions are walked; more is refused (each costs only
 * two bytes, so a long chain is a cheap way to waste our time). */
#define SW_UTP_MAX_EXTENSIONS 16

/* Cheap demultiplexing test for a shared UDP socket: at least a header, version
 * 1 and a known type. DHT messages ('d...') and UDP tracker replies (action
 * 0..3 in a big-endian 32-bit word, so a zero first byte) never pass. */
bool sw__utp_packet_looks_like_utp(const uint8_t *data, size_t len);

/* Parses and validates one datagram. Returns 0 and fills *out, or
 * SW_ERR_PROTOCOL with the reason in *why_out (which may be NULL). */
int sw__utp_packet_parse(const uint8_t *data, size_t len, sw_utp_packet *out,
                         sw_utp_parse_error *why_out);

/* The bytes sw__utp_header_write emits for a header with a selective ACK of
 * sack_len bytes (0 = none). */
size_t sw__utp_header_size(size_t sack_len);

/* Writes h (and, if sack_len > 0, a selective ACK extension holding sack) to
 * out, which must have sw__utp_header_size(sack_len) bytes; h->extension is
 * ignored and set from sack_len. sack_len is 0 or up to
 * SW_UTP_SACK_MAX_BYTES (cswarm's own are multiples of 4). Returns the bytes written. */
size_t sw__utp_header_write(uint8_t *out, const sw_utp_header *h, const uint8_t *sack,
                            size_t sack_len);

/* Selective ACK bit helpers. Bit i stands for seq_nr ack_nr + 2 + i; bits are
 * numbered from the least significant bit of the first byte. */
static inline bool sw__utp_sack_bit(const uint8_t *mask, size_t i)
{
    return (mask[i >> 3] >> (i & 7)) & 1u;
}
static inline void sw__utp_sack_set(uint8_t *mask, size_t i)
{
    mask[i >> 3] = (uint8_t)(mask[i >> 3] | (1u << (i & 7)));
}

/* Sequence number arithmetic modulo 2^16: a < b when b is ahead of a by less
 * than half the space. */
static inline bool sw__utp_seq_less(uint16_t a, uint16_t b)
{
    return a != b && (uint16_t)(b - a) < 0x8000u;
}

/* Name of a packet type for logs ("ST_DATA", ...; "?" when out of range). */
const char *sw__utp_type_name(unsigned type);

#endif
