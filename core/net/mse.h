/* Private to core/net: Message Stream Encryption (MSE/PE), the obfuscation
 * handshake BitTorrent clients run before the BitTorrent handshake.
 *
 * sw_mse_rc4 is the stream cipher both sides switch to (RC4 with the first
 * 1024 keystream bytes dropped, as MSE asks). sw_mse_hs is the handshake as
 * a pure state machine: bytes from the remote go in, bytes for the remote
 * come out, no I/O and no timers, so the stream wrapper (stream_mse.c), the
 * unit tests and the fuzzer all drive the same code.
 *
 * Threading: a handshake or cipher object belongs to one thread at a time. */
#ifndef SW_CORE_NET_MSE_H
#define SW_CORE_NET_MSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* crypto_provide / crypto_select bits. */
#define SW_MSE_PLAINTEXT 0x01u
#define SW_MSE_RC4 0x02u

/* Limits from the MSE specification. */
#define SW_MSE_KEY_LEN 96    /* Ya, Yb and S: 768 bits */
#define SW_MSE_MAX_PAD 512   /* PadA..PadD */
#define SW_MSE_SYNC_REQ1 628 /* req1 hash must end within this many bytes */
#define SW_MSE_SYNC_VC 616   /* Yb + PadB + ENCRYPT(VC) */
#define SW_MSE_MAX_IA 65535

typedef struct sw_mse_rc4 {
    uint8_t s[256];
    uint8_t i, j;
} sw_mse_rc4;

/* Keys the cipher (any key length 1..256); does not drop anything. */
void sw__mse_rc4_init(sw_mse_rc4 *rc, const uint8_t *key, size_t key_len);
/* XORs len bytes of keystream into in, writing out (may equal in). */
void sw__mse_rc4_apply(sw_mse_rc4 *rc, const uint8_t *in, uint8_t *out, size_t len);
/* Advances the keystream by len bytes. */
void sw__mse_rc4_skip(sw_mse_rc4 *rc, size_t len);

/* Finds a torrent by HASH('req2', info_hash): writes the info-hash to
 * skey_out and returns true if one matches. */
typedef bool (*sw_mse_find_skey_cb)(void *user, const uint8_t req2[20], uint8_t skey_out[20]);

typedef struct sw_mse_hs_config {
    bool initiator;
    uint8_t skey[20]; /* initiator: the info-hash it dials for */
    /* Initiator: the methods it offers; responder: the methods it accepts. */
    uint32_t allowed;
    /* Responder: pick RC4 when both are offered and allowed. */
    bool prefer_rc4;
    /* Responder: finds the torrent (required). */
    sw_mse_find_skey_cb find_skey;
    void *find_user;
    /* Largest random PadA/PadB this side sends (tests set 0 for speed). */
    unsigned max_pad;
} sw_mse_hs_config;

typedef struct sw_mse_hs sw_mse_hs;

/* A new handshake; the initiator's first message is queued at once. Returns
 * 0, SW_ERR_NOMEM or SW_ERR_CRYPTO. */
int sw__mse_hs_new(const sw_mse_hs_config *cfg, sw_mse_hs **hs_out);
void sw__mse_hs_free(sw_mse_hs *hs);
/* Feeds bytes received from the remote. Returns 0 (more may be needed, or
 * done), SW_ERR_HANDSHAKE for a malformed or unsupported handshake (the
 * connection should be dropped), SW_ERR_INFO_HASH_MISMATCH when no torrent
 * matches, SW_ERR_NOMEM or SW_ERR_CRYPTO. Bytes after the handshake are kept
 * (decrypted) as leftover payload. */
int sw__mse_hs_input(sw_mse_hs *hs, const uint8_t *data, size_t len);
/* Bytes to send now: *out points into the handshake (valid until the next
 * call), *len_out may be 0. Taking them empties the queue. */
void sw__mse_hs_output(sw_mse_hs *hs, const uint8_t **out, size_t *len_out);
bool sw__mse_hs_done(const sw_mse_hs *hs);
/* After done: the selected method (SW_MSE_PLAINTEXT or SW_MSE_RC4), the
 * torrent's info-hash and the payload already received (IA and anything
 * after it, decrypted). */
uint32_t sw__mse_hs_method(const sw_mse_hs *hs);
const uint8_t *sw__mse_hs_skey(const sw_mse_hs *hs);
void sw__mse_hs_leftover(const sw_mse_hs *hs, const uint8_t **data, size_t *len);
/* After done: the payload ciphers (meaningful for SW_MSE_RC4). */
void sw__mse_hs_ciphers(const sw_mse_hs *hs, sw_mse_rc4 *send_out, sw_mse_rc4 *recv_out);

#endif
