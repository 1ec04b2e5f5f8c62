/* What a DHT node keeps for others: write tokens (BEP 5), announced peers
 * per info-hash (BEP 5) and stored items (BEP 44), each with limits and
 * expiry; plus BEP 44's signing rules (item.c).
 *
 * Pure data structures: time is passed in (milliseconds), no I/O. One
 * thread at a time. */
#ifndef SW_CORE_DHT_STORE_H
#define SW_CORE_DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/torrent_info.h>

#include "base/buffer.h"
#include "dht/krpc.h"
#include "net/net.h"

/* ---- write tokens (token.c) ---- */

/* A token is the start of SHA-1(secret || address bytes). The secret
 * changes every SW_DHT_TOKEN_ROTATE_MS and the previous one is still
 * accepted, so a token lives between 5 and 10 minutes (BEP 5). */
#define SW_DHT_TOKEN_LEN 8
#define SW_DHT_TOKEN_ROTATE_MS (5u * 60u * 1000u)

typedef struct sw_dht_tokens {
    uint8_t current[16];
    uint8_t previous[16];
    uint64_t rotated_ms;
} sw_dht_tokens;

void sw__dht_tokens_init(sw_dht_tokens *t, uint64_t now_ms);
/* Rotates the secret when it is due. */
void sw__dht_tokens_tick(sw_dht_tokens *t, uint64_t now_ms);
/* Forces a rotation (tests, and the tick). */
void sw__dht_tokens_rotate(sw_dht_tokens *t, uint64_t now_ms);
void sw__dht_token_make(const sw_dht_tokens *t, const sw_endpoint *from,
                        uint8_t out[SW_DHT_TOKEN_LEN]);
bool sw__dht_token_check(const sw_dht_tokens *t, const sw_endpoint *from, const uint8_t *token,
                         size_t len);

/* ---- announced peers (peer_store.c) ---- */

/* Announces expire after this long without a repeat. */
#define SW_DHT_PEER_LIFETIME_MS (30u * 60u * 1000u)

typedef struct sw_dht_peer_rec {
    sw_endpoint ep;
    uint64_t added_ms;
    bool seed; /* BEP 33: its last announce said "seed" */
} sw_dht_peer_rec;

typedef struct sw_dht_torrent_rec {
    sw_sha1 info_hash;
    sw_dht_peer_rec *peers;
    int n_peers, cap_peers;
    uint64_t last_announce_ms;
} sw_dht_torrent_rec;

typedef struct sw_dht_peer_store {
    sw_dht_torrent_rec **torrents; /* sorted by info-hash */
    size_t n, cap;
    int max_torrents; /* dht_max_torrents */
    int max_peers;    /* dht_max_peers, per info-hash */
} sw_dht_peer_store;

void sw__dht_peers_init(sw_dht_peer_store *s, int max_torrents, int max_peers);
void sw__dht_peers_free(sw_dht_peer_store *s);
/* Stores (or refreshes) ep under info_hash. A full store drops the torrent
 * with the fewest peers (the oldest among equals) to make room for a new
 * info-hash, unless the new one would be the smallest anyway (then
 * SW_ERR_LIMIT); a full torrent replaces its oldest peer. */
int sw__dht_peers_announce(sw_dht_peer_store *s, const sw_sha1 *info_hash, const sw_endpoint *ep,
                           uint64_t now_ms);
/* Up to max peers of a family for info_hash (a random selection when there
 * are more); returns the count. */
size_t sw__dht_peers_get(const sw_dht_peer_store *s, const sw_sha1 *info_hash, int family,
                         size_t max, sw_endpoint *out);
/* BEP 33: whether the stored ep of info_hash seeds (after an announce). */
void sw__dht_peers_set_seed(sw_dht_peer_store *s, const sw_sha1 *info_hash, const sw_endpoint *ep,
                            bool seed);
/* BEP 33: adds the addresses of info_hash's peers of a family to the seed
 * or the downloader filter (256 bytes each, not cleared first); returns
 * false when the info-hash has none. */
bool sw__dht_peers_bloom(const sw_dht_peer_store *s, const sw_sha1 *info_hash, int family,
                         uint8_t *bf_seeds, uint8_t *bf_peers);
/* Drops peers older than lifetime_ms and torrents left empty. */
void sw__dht_peers_expire(sw_dht_peer_store *s, uint64_t now_ms, uint64_t lifetime_ms);
/* BEP 51: up to max info-hashes, a random selection when there are more. */
size_t sw__dht_peers_sample(const sw_dht_peer_store *s, size_t max, sw_sha1 *out);

/* ---- stored items (item_store.c) ---- */

/* BEP 44: items may expire after two hours without a new put. */
#define SW_DHT_ITEM_LIFETIME_MS (2u * 60u * 60u * 1000u)

typedef struct sw_dht_item_rec {
    sw_sha1 target;
    bool is_mutable;
    uint8_t *v; /* the bencoded value */
    size_t v_len;
    uint8_t k[SW_DHT_PK_LEN];
    uint8_t sig[SW_DHT_SIG_LEN];
    int64_t seq;
    uint8_t salt[SW_DHT_SALT_MAX];
    size_t salt_len;
    uint64_t stored_ms;
} sw_dht_item_rec;

typedef struct sw_dht_item_store {
    sw_dht_item_rec **items; /* sorted by target */
    size_t n, cap;
    int max_items; /* dht_max_dht_items */
} sw_dht_item_store;

void sw__dht_items_init(sw_dht_item_store *s, int max_items);
void sw__dht_items_free(sw_dht_item_store *s);
const sw_dht_item_rec *sw__dht_items_find(const sw_dht_item_store *s, const sw_sha1 *target);
/* Stores an immutable item under SHA-1(v) (the caller computed target). */
int sw__dht_items_put_immutable(sw_dht_item_store *s, const sw_sha1 *target, const uint8_t *v,
                                size_t v_len, uint64_t now_ms);
/* Stores a mutable item whose signature the caller has verified. Applies
 * BEP 44's rules against a stored item: cas (when has_cas) must equal its
 * seq (SW_ERR_DHT_CAS_MISMATCH); seq must be higher, or equal with the same
 * value, which only refreshes it (else SW_ERR_DHT_SEQ_OUTDATED). A full
 * store evicts the item stored longest ago. */
int sw__dht_items_put_mutable(sw_dht_item_store *s, const sw_sha1 *target, const uint8_t *k,
                              const uint8_t *sig, int64_t seq, const uint8_t *salt, size_t salt_len,
                              const uint8_t *v, size_t v_len, bool has_cas, int64_t cas,
                              uint64_t now_ms);
void sw__dht_items_expire(sw_dht_item_store *s, uint64_t now_ms, uint64_t lifetime_ms);

/* ---- BEP 44 signing (item.c) ---- */

void sw__dht_item_target_immutable(const uint8_t *v, size_t v_len, sw_sha1 *out);
void sw__dht_item_target_mutable(const uint8_t *k, const uint8_t *salt, size_t salt_len,
                                 sw_sha1 *out);
/* The bytes that are signed: ["4:salt" len ":" salt] "3:seqi" seq "e1:v" v. */
int sw__dht_item_signed_bytes(const uint8_t *salt, size_t salt_len, int64_t seq, const uint8_t *v,
                              size_t v_len, sw_buf *out);
/* Ed25519 verification through OpenSSL. */
bool sw__dht_item_verify(const uint8_t *k, const uint8_t *sig, const uint8_t *salt, size_t salt_len,
                         int64_t seq, const uint8_t *v, size_t v_len);
/* Signs with the 32-byte Ed25519 private key (seed). SW_ERR_CRYPTO on
 * failure. */
int sw__dht_item_sign(const uint8_t seed[32], const uint8_t *salt, size_t salt_len, int64_t seq,
                      const uint8_t *v, size_t v_len, uint8_t sig_out[SW_DHT_SIG_LEN]);
/* (sw__dht_item_public_key is declared in dht.h.) */

#endif
