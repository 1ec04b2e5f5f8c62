/* The tracker protocols as pure functions over bytes: HTTP announce and
 * scrape responses (BEP 3, BEP 23 compact peers, BEP 7 peers6, BEP 24
 * external ip, BEP 48 scrape), announce and scrape URLs, and the UDP tracker
 * packets (BEP 15). No sockets, no clocks, no global state; safe on any
 * thread. Included through tracker.h.
 *
 * Parsers validate everything they read: a response that is not what the
 * protocol says gives SW_ERR_TRACKER_BAD_RESPONSE and a one-line reason, never
 * an assertion. Text the tracker sends (failure reason, warning) is copied,
 * cut to SW_TRACKER_MAX_MESSAGE bytes and has control characters replaced by
 * '?', so it is safe to print and to put in an alert. */
#ifndef SW_CORE_TRACKER_PROTO_H
#define SW_CORE_TRACKER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define SW_TRACKER_HASH_LEN 20
/* Longest tracker text kept (failure reason, warning message), NUL excluded. */
#define SW_TRACKER_MAX_MESSAGE 1024
/* Longest tracker id kept; a longer one is ignored. */
#define SW_TRACKER_MAX_TRACKER_ID 256
/* Intervals above this many seconds are clamped to it, so that a broken or
 * hostile tracker cannot silence a torrent for years. */
#define SW_TRACKER_MAX_INTERVAL 86400
/* Room for a one-line parser error. */
#define SW_TRACKER_ERRLEN 128

/* Events, numbered as in BEP 15 (and the tracker alerts). */
typedef enum sw_tracker_event {
    SW_TRACKER_EVENT_NONE = 0,
    SW_TRACKER_EVENT_COMPLETED = 1,
    SW_TRACKER_EVENT_STARTED = 2,
    SW_TRACKER_EVENT_STOPPED = 3
} sw_tracker_event;

/* "started", "completed", "stopped", or "" for none. */
const char *sw__tracker_event_name(sw_tracker_event e);

/* A peer address from a tracker. Same layout and conventions as core/net's
 * sw_endpoint (family AF_INET or AF_INET6, address in network byte order,
 * IPv4 in the first 4 bytes, unused bytes zero, port in host byte order), so
 * the session can copy one into the other field by field. */
typedef struct sw_tracker_peer {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
} sw_tracker_peer;

/* ---- HTTP responses (tracker_response.c) ---- */

/* A parsed announce response. Counts and intervals are -1 when the tracker
 * did not send them. Owns its strings and peer array: release with
 * sw__announce_response_free. */
typedef struct sw_announce_response {
    int64_t interval;     /* seconds, 0..SW_TRACKER_MAX_INTERVAL, or -1 */
    int64_t min_interval; /* seconds, 0..SW_TRACKER_MAX_INTERVAL, or -1 */
    int64_t complete;     /* seeds, or -1 */
    int64_t incomplete;   /* downloaders, or -1 */
    int64_t downloaded;   /* completed downloads ever, or -1 */
    char *failure_reason; /* NULL unless the tracker refused the request */
    char *warning_message;
    char *tracker_id; /* NUL-terminated copy; tracker_id_len bytes (may hold NULs) */
    size_t tracker_id_len;
    sw_tracker_peer *peers; /* "peers" (compact or dictionaries) then "peers6" */
    size_t num_peers;
    /* Entries skipped: dictionary peers without a numeric ip or a port in
     * 1..65535, compact entries with port 0, and trailing bytes of a compact
     * string that do not make a whole entry (counted as one). */
    size_t num_ignored;
    sw_tracker_peer external_ip; /* BEP 24; family 0 if absent (port 0) */
} sw_announce_response;

/* Parses an HTTP announce response body. Returns 0 for any well-formed
 * response dictionary, including a refusal (failure_reason set: the other
 * fields are then whatever the tracker added); the caller owns *out and frees
 * it with sw__announce_response_free. Otherwise returns
 * SW_ERR_TRACKER_BAD_RESPONSE (not bencode, not a dictionary, a known key
 * with the wrong type) or SW_ERR_NOMEM, writes a reason into err (may be
 * NULL) and leaves *out zeroed. A missing peer list is an empty one;
 * negative intervals and counts read as absent. */
int sw__tracker_parse_announce(const uint8_t *buf, size_t len, sw_announce_response *out,
                               char err[SW_TRACKER_ERRLEN]);
void sw__announce_response_free(sw_announce_response *r);

/* A parsed scrape response for one info-hash (BEP 48). */
typedef struct sw_scrape_response {
    int64_t complete;     /* or -1 */
    int64_t incomplete;   /* or -1 */
    int64_t downloaded;   /* or -1 */
    char *failure_reason; /* NULL unless refused; free with sw__scrape_response_free */
} sw_scrape_response;

/* Parses a scrape response and picks the entry of info_hash. Returns 0 with
 * the counts or with failure_reason set, or SW_ERR_TRACKER_BAD_RESPONSE (also
 * when "files" has no entry for info_hash) / SW_ERR_NOMEM with err written and
 * *out zeroed. */
int sw__tracker_parse_scrape(const uint8_t *buf, size_t len,
                             const uint8_t info_hash[SW_TRACKER_HASH_LEN], sw_scrape_response *out,
                             char err[SW_TRACKER_ERRLEN]);
void sw__scrape_response_free(sw_scrape_response *r);

/* Decodes compact peers: 6-byte (IPv4) or 18-byte (IPv6) address/port
 * entries, as in "peers", "peers6" and UDP announce replies. Writes up to
 * len / stride entries to out (which must have room for them), skipping
 * entries with port 0. Returns how many were written. family is AF_INET or
 * AF_INET6. */
size_t sw__tracker_decode_compact(const uint8_t *p, size_t len, int family, sw_tracker_peer *out);

/* Copies tracker text for display: at most SW_TRACKER_MAX_MESSAGE bytes,
 * control characters replaced by '?', NUL-terminated. NULL on NOMEM. */
char *sw__tracker_text_copy(const void *s, size_t len);

/* ---- URLs (announce_url.c) ---- */

typedef enum sw_tracker_url_kind {
    SW_TRACKER_URL_HTTP = 1,
    SW_TRACKER_URL_HTTPS = 2,
    SW_TRACKER_URL_UDP = 3
} sw_tracker_url_kind;

/* Everything one announce says about us. The URL builder and the UDP packet
 * builder read the same struct. */
typedef struct sw_announce_params {
    uint8_t info_hash[SW_TRACKER_HASH_LEN];
    uint8_t peer_id[SW_TRACKER_HASH_LEN];
    uint16_t port;                               /* our listen port */
    int64_t uploaded, downloaded, left, corrupt; /* bytes; negative values are sent as 0 */
    sw_tracker_event event;
    int num_want;           /* peers wanted; < 0 leaves it to the tracker */
    uint32_t key;           /* stable per torrent and session (BEP 7) */
    const char *tracker_id; /* from an earlier reply to this tracker, or NULL */
    size_t tracker_id_len;
    bool support_crypto; /* &supportcrypto=1: we accept encrypted connections */
    bool require_crypto; /* &requirecrypto=1: we accept only encrypted ones */
    const char *ip;      /* &ip= (announce_ip), or NULL/"" */
    const char *ipv4;    /* &ipv4= , or NULL/"" */
    const char *ipv6;    /* &ipv6= , or NULL/"" */
} sw_announce_params;

/* The kind of a tracker URL from its scheme (case-insensitive), or
 * SW_ERR_TRACKER_BAD_URL for another scheme, no host, or bytes that cannot
 * be in a URL (spaces, control characters). */
int sw__tracker_url_kind(const char *url, sw_tracker_url_kind *kind_out);

/* Splits "scheme://[user@]host[:port]/..." into host (IPv6 without
 * brackets) and port (default_port if none). SW_ERR_TRACKER_BAD_URL if there
 * is no host, the port is not 1..65535 or host does not fit host_len. */
int sw__tracker_url_host_port(const char *url, uint16_t default_port, char *host, size_t host_len,
                              uint16_t *port_out);

/* Appends data percent-encoded: A-Z a-z 0-9 - . _ ~ stay, every other byte
 * becomes %XX (upper-case hex). */
int sw__tracker_url_escape(sw_buf *out, const void *data, size_t len);

/* The full announce URL: base plus info_hash, peer_id, port, uploaded,
 * downloaded, left, corrupt, compact=1, no_peer_id=1, event (when not none),
 * numwant (when >= 0), key (8 upper-case hex digits), trackerid, and the
 * optional crypto and ip parameters. base may already have a query string.
 * On success *url_out is a NUL-terminated heap string (free()). */
int sw__tracker_announce_url(const char *base, const sw_announce_params *p, char **url_out);

/* The scrape URL for an HTTP(S) announce URL (BEP 48): the last path
 * segment must begin with "announce", which becomes "scrape"; the info_hash
 * is added to the query. SW_ERR_TRACKER_NO_SCRAPE if the URL does not allow
 * it. */
int sw__tracker_scrape_url(const char *announce, const uint8_t info_hash[SW_TRACKER_HASH_LEN],
                           char **url_out);

/* ---- UDP packets (udp_packet.c), BEP 15 ---- */

#define SW_UDP_TRACKER_PROTOCOL_ID 0x41727101980ull
#define SW_UDP_TRACKER_CONNECT_LEN 16
#define SW_UDP_TRACKER_ANNOUNCE_LEN 98
/* BEP 15: "up to about 74 torrents can be scraped at once". */
#define SW_UDP_TRACKER_MAX_SCRAPE 74

enum sw_udp_tracker_action {
    SW_UDP_ACTION_CONNECT = 0,
    SW_UDP_ACTION_ANNOUNCE = 1,
    SW_UDP_ACTION_SCRAPE = 2,
    SW_UDP_ACTION_ERROR = 3
};

void sw__udp_tracker_build_connect(uint8_t out[SW_UDP_TRACKER_CONNECT_LEN], uint32_t tid);
/* The 98-byte announce. The IP field carries p->ip only when it is a
 * numeric IPv4 address; num_want < 0 is sent as -1 (tracker default). */
void sw__udp_tracker_build_announce(uint8_t out[SW_UDP_TRACKER_ANNOUNCE_LEN], uint64_t conn_id,
                                    uint32_t tid, const sw_announce_params *p);
/* A scrape of n info-hashes (1..SW_UDP_TRACKER_MAX_SCRAPE); out needs
 * 16 + 20 * n bytes. Returns the length, or 0 if n is out of range. */
size_t sw__udp_tracker_build_scrape(uint8_t *out, uint64_t conn_id, uint32_t tid,
                                    const uint8_t (*hashes)[SW_TRACKER_HASH_LEN], size_t n);

/* Whether a datagram looks like a tracker reply (at least 8 bytes, action
 * 0..3); if so its action and transaction id. For routing incoming packets
 * before the transaction is known. */
bool sw__udp_tracker_peek(const uint8_t *pkt, size_t len, uint32_t *action_out, uint32_t *tid_out);

/* A validated reply. Pointers borrow from the packet. */
typedef struct sw_udp_tracker_reply {
    uint32_t action;
    uint32_t transaction_id;
    uint64_t connection_id; /* connect */
    uint32_t interval;      /* announce: seconds */
    uint32_t leechers;      /* announce */
    uint32_t seeders;       /* announce */
    const uint8_t *peers;   /* announce: compact entries (6 or 18 bytes each) */
    size_t peers_len;       /* whole entries only */
    size_t peers_trailing;  /* bytes after the last whole entry */
    int peer_family;        /* AF_INET or AF_INET6, from the sender's family */
    const uint8_t *scrape;  /* scrape: 12-byte seeders/completed/leechers entries */
    size_t num_scrape;
    const uint8_t *message; /* error: the tracker's text, not NUL-terminated */
    size_t message_len;
} sw_udp_tracker_reply;

/* Parses a reply to a request with transaction id tid and action action,
 * received from an address of sender_family (AF_INET/AF_INET6, which fixes
 * the compact peer size). Returns 0 for the expected reply,
 * SW_ERR_TRACKER_FAILURE for an error reply with this tid (message set), or
 * SW_ERR_TRACKER_BAD_RESPONSE (too short, another transaction id, another
 * action) with err written. */
int sw__udp_tracker_parse(const uint8_t *pkt, size_t len, int sender_family, uint32_t tid,
                          uint32_t action, sw_udp_tracker_reply *out, char err[SW_TRACKER_ERRLEN]);

#endif
