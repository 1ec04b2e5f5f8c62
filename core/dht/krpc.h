/* KRPC messages of the mainline DHT (BEP 5) and its extensions: IPv6 node
 * lists and "want" (BEP 32), the "ip" field (BEP 42), the read-only flag
 * (BEP 43), get/put of items (BEP 44) and sample_infohashes (BEP 51).
 *
 * These are pure functions over bytes: no sockets, no clock, no global state.
 *
 * Decoding. sw__krpc_decode() reads one datagram into an sw_krpc_msg. Byte
 * fields (sw_krpc_bytes) point into the caller's buffer, which must outlive
 * the message; the decoded peer list ("values") is owned by the message.
 * Release every successfully decoded message with sw__krpc_msg_release().
 * Input is bounded (SW_KRPC_MAX_PACKET bytes, SW_KRPC_MAX_NODES bencode
 * nodes, SW_KRPC_MAX_DEPTH levels) and every field is checked for type and
 * length before it is used; a field of the wrong type counts as absent
 * unless the method requires it.
 *
 * Encoding. sw__krpc_encode() writes the message described by an
 * sw_krpc_msg (the same struct, with `has` naming the optional fields to
 * write) as canonical bencode. Byte fields and `values` are borrowed.
 *
 * Threading: none of this keeps state; any thread may call it. */
#ifndef SW_CORE_DHT_KRPC_H
#define SW_CORE_DHT_KRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/bencode.h>
#include <cswarm/torrent_info.h>

#include "base/buffer.h"
#include "net/net.h"

#define SW_DHT_ID_LEN 20
#define SW_DHT_K 8
/* BEP 33 scrape bloom filters: 2048 bits. */
#define SW_KRPC_BLOOM_LEN 256

/* A compact node is a 20-byte id and a compact address (BEP 5, BEP 32). */
#define SW_KRPC_NODE4_LEN 26
#define SW_KRPC_NODE6_LEN 38
#define SW_KRPC_PEER4_LEN 6
#define SW_KRPC_PEER6_LEN 18

/* Bounds on what the decoder accepts. A DHT datagram is normally below
 * 1500 bytes (BEP 32 asks senders to stay within 1024). */
#define SW_KRPC_MAX_PACKET 8192
#define SW_KRPC_MAX_NODES 4096
#define SW_KRPC_MAX_DEPTH 64
#define SW_KRPC_MAX_TID 32
#define SW_KRPC_MAX_TOKEN 64
/* Peers kept from one "values" list; the rest are ignored. */
#define SW_KRPC_MAX_VALUES 256

/* BEP 44 limits. */
#define SW_DHT_ITEM_MAX 1000
#define SW_DHT_SALT_MAX 64
#define SW_DHT_PK_LEN 32
#define SW_DHT_SIG_LEN 64

/* KRPC error codes (BEP 5, BEP 44). */
enum {
    SW_KRPC_E_GENERIC = 201,
    SW_KRPC_E_SERVER = 202,
    SW_KRPC_E_PROTOCOL = 203,
    SW_KRPC_E_METHOD = 204,
    SW_KRPC_E_TOO_BIG = 205,
    SW_KRPC_E_SIGNATURE = 206,
    SW_KRPC_E_SALT = 207,
    SW_KRPC_E_CAS = 301,
    SW_KRPC_E_SEQ = 302,
};

typedef enum sw_krpc_type {
    SW_KRPC_QUERY = 1,
    SW_KRPC_RESPONSE,
    SW_KRPC_ERROR,
} sw_krpc_type;

typedef enum sw_krpc_method {
    SW_KRPC_UNKNOWN = 0, /* a method we do not implement ("q" kept in method_name) */
    SW_KRPC_PING,
    SW_KRPC_FIND_NODE,
    SW_KRPC_GET_PEERS,
    SW_KRPC_ANNOUNCE_PEER,
    SW_KRPC_GET,
    SW_KRPC_PUT,
    SW_KRPC_SAMPLE_INFOHASHES,
} sw_krpc_method;

/* Optional fields present in a message (sw_krpc_msg.has). */
enum {
    SW_KRPC_HAS_TARGET = 1u << 0, /* "target", or "info_hash" (get_peers, announce_peer) */
    SW_KRPC_HAS_TOKEN = 1u << 1,
    SW_KRPC_HAS_PORT = 1u << 2,
    SW_KRPC_HAS_IMPLIED_PORT = 1u << 3,
    SW_KRPC_HAS_WANT = 1u << 4,
    SW_KRPC_HAS_NODES = 1u << 5,
    SW_KRPC_HAS_NODES6 = 1u << 6,
    SW_KRPC_HAS_VALUES = 1u << 7,
    SW_KRPC_HAS_V = 1u << 8,
    SW_KRPC_HAS_K = 1u << 9,
    SW_KRPC_HAS_SIG = 1u << 10,
    SW_KRPC_HAS_SEQ = 1u << 11,
    SW_KRPC_HAS_CAS = 1u << 12,
    SW_KRPC_HAS_SALT = 1u << 13,
    SW_KRPC_HAS_SAMPLES = 1u << 14,
    SW_KRPC_HAS_NUM = 1u << 15,
    SW_KRPC_HAS_INTERVAL = 1u << 16,
    SW_KRPC_HAS_IP = 1u << 17,      /* top-level "ip" (BEP 42) */
    SW_KRPC_HAS_VERSION = 1u << 18, /* top-level "v" (client version) */
    SW_KRPC_HAS_SCRAPE = 1u << 19,  /* get_peers "scrape" (BEP 33) */
    SW_KRPC_HAS_SEED = 1u << 20,    /* announce_peer "seed" (BEP 33) */
    SW_KRPC_HAS_BFSD = 1u << 21,    /* get_peers response "BFsd" (BEP 33) */
    SW_KRPC_HAS_BFPE = 1u << 22,    /* get_peers response "BFpe" (BEP 33) */
};

/* "want" flags (BEP 32). */
enum {
    SW_KRPC_WANT_N4 = 1u << 0,
    SW_KRPC_WANT_N6 = 1u << 1,
};

typedef struct sw_krpc_bytes {
    const uint8_t *p;
    size_t len;
} sw_krpc_bytes;

typedef struct sw_krpc_msg {
    sw_krpc_type type;
    sw_krpc_bytes tid;     /* "t", 1..SW_KRPC_MAX_TID bytes */
    sw_krpc_bytes version; /* top-level "v" when SW_KRPC_HAS_VERSION */
    bool read_only;        /* BEP 43 "ro": 1 */
    sw_endpoint ip;        /* BEP 42 "ip" when SW_KRPC_HAS_IP */

    /* Queries. method_name is the raw "q" string. */
    sw_krpc_method method;
    sw_krpc_bytes method_name;

    /* Query arguments ("a") or response values ("r"). id is required in
     * both; every other field is present when its SW_KRPC_HAS_ bit is set. */
    uint32_t has;
    sw_sha1 id;
    sw_sha1 target;
    sw_krpc_bytes token;  /* 1..SW_KRPC_MAX_TOKEN bytes */
    uint16_t port;        /* announce_peer, 1..65535 */
    bool implied_port;    /* announce_peer */
    unsigned want;        /* SW_KRPC_WANT_* */
    sw_krpc_bytes nodes;  /* a multiple of 26 bytes (a trailing partial entry is dropped) */
    sw_krpc_bytes nodes6; /* a multiple of 38 bytes */
    sw_endpoint *values;  /* peers; owned when decoded, borrowed when encoding */
    size_t num_values;
    sw_krpc_bytes v;   /* an item value: one complete bencoded value */
    sw_krpc_bytes k;   /* SW_DHT_PK_LEN bytes */
    sw_krpc_bytes sig; /* SW_DHT_SIG_LEN bytes */
    int64_t seq;
    int64_t cas;
    sw_krpc_bytes salt;    /* at most SW_DHT_SALT_MAX bytes when decoded */
    sw_krpc_bytes samples; /* a multiple of 20 bytes */
    int64_t num;
    int64_t interval;
    bool scrape;            /* BEP 33: the asker wants BFsd and BFpe */
    bool seed;              /* BEP 33: the announcer is a seed */
    sw_krpc_bytes bf_seeds; /* "BFsd", SW_KRPC_BLOOM_LEN bytes */
    sw_krpc_bytes bf_peers; /* "BFpe", SW_KRPC_BLOOM_LEN bytes */

    /* Errors ("e"). */
    int64_t error_code;
    sw_krpc_bytes error_msg;

    sw_bdoc *doc_; /* private: the decoded document */
} sw_krpc_msg;

/* Decodes one datagram. Returns 0 (release the message afterwards) or
 * SW_ERR_DHT_MALFORMED / SW_ERR_NOMEM; on failure nothing needs releasing.
 * When a query was recognised but its arguments are wrong, msg->type is
 * SW_KRPC_QUERY and msg->tid is set (pointing into buf) so the caller can
 * answer with a protocol error (203); otherwise msg->type is 0. The "v" of
 * a put query must be canonical bencode (BEP 44) or the query is malformed. */
int sw__krpc_decode(const uint8_t *buf, size_t len, sw_krpc_msg *msg);
void sw__krpc_msg_release(sw_krpc_msg *msg);

/* Encodes m (type, tid, method for queries, the fields in m->has, and
 * read_only / version / ip) as canonical bencode appended to out. Values are
 * written as 6- or 18-byte strings by their family. Returns 0,
 * SW_ERR_INVALID_ARG (missing tid or method, bad field lengths) or
 * SW_ERR_NOMEM. */
int sw__krpc_encode(const sw_krpc_msg *m, sw_buf *out);

/* The "q" string of a method (NULL for SW_KRPC_UNKNOWN). */
const char *sw__krpc_method_name(sw_krpc_method m);

/* ---- compact encodings (krpc_compact.c) ---- */

/* The compact length of one node or peer of a family (AF_INET/AF_INET6). */
size_t sw__krpc_node_len(int family);
size_t sw__krpc_peer_len(int family);

/* Writes ep's compact form (address then big-endian port) to out, which
 * has room for sw__krpc_peer_len(ep->family) bytes. Returns bytes written. */
size_t sw__krpc_peer_write(uint8_t *out, const sw_endpoint *ep);
/* Reads a 6-byte (IPv4) or 18-byte (IPv6) compact address; false for any
 * other length. */
bool sw__krpc_peer_read(const uint8_t *p, size_t len, sw_endpoint *ep);

/* Appends one compact node (id then address) to out. */
int sw__krpc_node_append(sw_buf *out, const sw_sha1 *id, const sw_endpoint *ep);
/* Number of complete nodes of a family in a compact node string. */
size_t sw__krpc_node_count(sw_krpc_bytes nodes, int family);
/* The i-th node of a compact node string (i < sw__krpc_node_count). */
void sw__krpc_node_at(sw_krpc_bytes nodes, int family, size_t i, sw_sha1 *id_out,
                      sw_endpoint *ep_out);

#endif
