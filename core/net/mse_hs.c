/* The MSE handshake as a state machine (see mse.h). Both sides keep the raw
 * bytes received so far in one buffer and parse from its start, because the
 * random pads make every field's position depend on a search: the responder
 * finds HASH('req1', S) within the first 628 bytes, the initiator finds the
 * encrypted verification constant within the first 616. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "base/sha.h"
#include "mse.h"
#include "net.h"

/* The 768-bit safe prime of the MSE specification; the generator is 2. */
static const char mse_prime_hex[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E34"
    "04DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000"
    "090563";

/* A private exponent of 160 bits, as the specification recommends. */
#define MSE_PRIVATE_BITS 160
#define MSE_VC_LEN 8
/* VC, crypto_provide/select and len(PadC/PadD). */
#define MSE_FIXED_LEN (MSE_VC_LEN + 4 + 2)

enum mse_state {
    MSE_WAIT_KEY, /* waiting for the remote's 96-byte public key */
    MSE_SYNC,     /* responder: req1 hash; initiator: encrypted VC */
    MSE_DONE,
    MSE_FAILED,
};

struct sw_mse_hs {
    sw_mse_hs_config cfg;
    enum mse_state state;
    BIGNUM *priv;
    uint8_t pub[SW_MSE_KEY_LEN];
    uint8_t secret[SW_MSE_KEY_LEN];
    uint8_t skey[20];
    uint32_t method;
    sw_mse_rc4 send, recv;
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_len, out_cap, out_taken;
    uint8_t *leftover;
    size_t leftover_len, leftover_cap;
    /* Responder: HASH('req1', S). Initiator: ENCRYPT(VC) to search for. */
    uint8_t sync[20];
    size_t sync_len;
};

static int buf_append(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (n > *cap - *len) {
        size_t want = *cap ? *cap : 256;
        while (want - *len < n)
            want *= 2;
        uint8_t *nb = realloc(*buf, want);
        if (!nb)
            return SW_ERR_NOMEM;
        *buf = nb;
        *cap = want;
    }
    if (n)
        memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

static int out_append(sw_mse_hs *hs, const void *data, size_t n)
{
    return buf_append(&hs->out, &hs->out_len, &hs->out_cap, data, n);
}

/* SHA-1 of a 4-byte label, S and optionally SKEY. */
static int hash_label(const char *label, const uint8_t secret[SW_MSE_KEY_LEN], const uint8_t *skey,
                      uint8_t out[20])
{
    uint8_t msg[4 + SW_MSE_KEY_LEN + 20];
    size_t n = 0;
    memcpy(msg, label, 4);
    n += 4;
    if (secret) {
        memcpy(msg + n, secret, SW_MSE_KEY_LEN);
        n += SW_MSE_KEY_LEN;
    }
    if (skey) {
        memcpy(msg + n, skey, 20);
        n += 20;
    }
    sw_sha1 d;
    int rc = sw__sha1(msg, n, &d);
    if (rc == 0)
        memcpy(out, &d, 20);
    return rc;
}

static int cipher_init(sw_mse_rc4 *rc, const char *label, const uint8_t *secret,
                       const uint8_t *skey)
{
    uint8_t key[20];
    int r = hash_label(label, secret, skey, key);
    if (r < 0)
        return r;
    sw__mse_rc4_init(rc, key, sizeof key);
    sw__mse_rc4_skip(rc, 1024);
    return 0;
}

static int random_pad(sw_mse_hs *hs)
{
    uint8_t pad[SW_MSE_MAX_PAD];
    unsigned max = hs->cfg.max_pad > SW_MSE_MAX_PAD ? SW_MSE_MAX_PAD : hs->cfg.max_pad;
    uint16_t r = 0;
    if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
        return SW_ERR_CRYPTO;
    size_t n = max ? r % (max + 1) : 0;
    if (n && RAND_bytes(pad, (int)n) != 1)
        return SW_ERR_CRYPTO;
    return out_append(hs, pad, n);
}

static int make_key_pair(sw_mse_hs *hs)
{
    BIGNUM *p = NULL, *g = NULL, *y = NULL;
    BN_CTX *ctx = BN_CTX_new();
    int rc = SW_ERR_CRYPTO;
    hs->priv = BN_new();
    y = BN_new();
    g = BN_new();
    if (!ctx || !hs->priv || !y || !g || !BN_hex2bn(&p, mse_prime_hex) || !BN_set_word(g, 2))
        goto out;
    if (!BN_rand(hs->priv, MSE_PRIVATE_BITS, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
        goto out;
    if (!BN_mod_exp(y, g, hs->priv, p, ctx) || BN_bn2binpad(y, hs->pub, SW_MSE_KEY_LEN) < 0)
        goto out;
    rc = 0;
out:
    BN_free(p);
    BN_free(g);
    BN_free(y);
    BN_CTX_free(ctx);
    return rc;
}

/* S from the remote's public key; SW_ERR_HANDSHAKE for a degenerate key
 * (0, 1, P-1 or anything not below P), which would make S guessable. */
static int compute_secret(sw_mse_hs *hs, const uint8_t remote[SW_MSE_KEY_LEN])
{
    BIGNUM *p = NULL, *y = BN_bin2bn(remote, SW_MSE_KEY_LEN, NULL), *s = BN_new();
    BIGNUM *pm1 = BN_new();
    BN_CTX *ctx = BN_CTX_new();
    int rc = SW_ERR_CRYPTO;
    if (!y || !s || !pm1 || !ctx || !BN_hex2bn(&p, mse_prime_hex) ||
        !BN_sub(pm1, p, BN_value_one()))
        goto out;
    if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) {
        rc = SW_ERR_HANDSHAKE;
        goto out;
    }
    if (!BN_mod_exp(s, y, hs->priv, p, ctx) || BN_bn2binpad(s, hs->secret, SW_MSE_KEY_LEN) < 0)
        goto out;
    rc = 0;
out:
    BN_free(p);
    BN_free(y);
    BN_free(s);
    BN_free(pm1);
    BN_CTX_free(ctx);
    /* The private key is not needed once S is known. */
    BN_clear_free(hs->priv);
    hs->priv = NULL;
    return rc;
}

int sw__mse_hs_new(const sw_mse_hs_config *cfg, sw_mse_hs **hs_out)
{
    sw_mse_hs *hs = calloc(1, sizeof *hs);
    if (!hs)
        return SW_ERR_NOMEM;
    hs->cfg = *cfg;
    hs->state = MSE_WAIT_KEY;
    int rc = make_key_pair(hs);
    if (rc == 0 && cfg->initiator) {
        memcpy(hs->skey, cfg->skey, 20);
        rc = out_append(hs, hs->pub, SW_MSE_KEY_LEN);
        if (rc == 0)
            rc = random_pad(hs);
    }
    if (rc < 0) {
        sw__mse_hs_free(hs);
        return rc;
    }
    *hs_out = hs;
    return 0;
}

void sw__mse_hs_free(sw_mse_hs *hs)
{
    if (!hs)
        return;
    BN_clear_free(hs->priv);
    free(hs->in);
    free(hs->out);
    free(hs->leftover);
    free(hs);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Initiator, on Yb: step 3 (req1, req2 xor req3, ENCRYPT(VC, provide,
 * len(PadC)=0, len(IA)=0)); the payload waits for crypto_select. */
static int initiator_got_key(sw_mse_hs *hs)
{
    int rc = compute_secret(hs, hs->in);
    uint8_t req1[20], req2[20], req3[20];
    if (rc == 0)
        rc = hash_label("req1", hs->secret, NULL, req1);
    if (rc == 0)
        rc = hash_label("req2", NULL, hs->skey, req2);
    if (rc == 0)
        rc = hash_label("req3", hs->secret, NULL, req3);
    if (rc == 0)
        rc = cipher_init(&hs->send, "keyA", hs->secret, hs->skey);
    if (rc == 0)
        rc = cipher_init(&hs->recv, "keyB", hs->secret, hs->skey);
    if (rc < 0)
        return rc;
    for (int k = 0; k < 20; k++)
        req2[k] ^= req3[k];
    uint8_t msg[MSE_FIXED_LEN + 2] = {0};
    put_u32(msg + MSE_VC_LEN, hs->cfg.allowed);
    sw__mse_rc4_apply(&hs->send, msg, msg, sizeof msg);
    if ((rc = out_append(hs, req1, 20)) < 0 || (rc = out_append(hs, req2, 20)) < 0 ||
        (rc = out_append(hs, msg, sizeof msg)) < 0)
        return rc;
    /* The remote's ENCRYPT(VC): the first 8 keystream bytes of keyB. */
    sw_mse_rc4 probe = hs->recv;
    memset(hs->sync, 0, MSE_VC_LEN);
    sw__mse_rc4_apply(&probe, hs->sync, hs->sync, MSE_VC_LEN);
    hs->sync_len = MSE_VC_LEN;
    hs->state = MSE_SYNC;
    return 0;
}

/* Responder, on Ya: step 2 (Yb, PadB). */
static int responder_got_key(sw_mse_hs *hs)
{
    int rc = compute_secret(hs, hs->in);
    if (rc == 0)
        rc = out_append(hs, hs->pub, SW_MSE_KEY_LEN);
    if (rc == 0)
        rc = random_pad(hs);
    if (rc == 0)
        rc = hash_label("req1", hs->secret, NULL, hs->sync);
    if (rc < 0)
        return rc;
    hs->sync_len = 20;
    hs->state = MSE_SYNC;
    return 0;
}

/* Where the sync pattern starts at or after offset 96, or -1. */
static long find_sync(const sw_mse_hs *hs)
{
    for (size_t at = SW_MSE_KEY_LEN; at + hs->sync_len <= hs->in_len; at++)
        if (memcmp(hs->in + at, hs->sync, hs->sync_len) == 0)
            return (long)at;
    return -1;
}

/* Moves in[from..] to the leftover payload, decrypting it if RC4 was
 * selected, and finishes the handshake. */
static int finish(sw_mse_hs *hs, size_t from)
{
    size_t n = hs->in_len - from;
    uint8_t *rest = hs->in + from;
    if (hs->method == SW_MSE_RC4)
        sw__mse_rc4_apply(&hs->recv, rest, rest, n);
    int rc = buf_append(&hs->leftover, &hs->leftover_len, &hs->leftover_cap, rest, n);
    if (rc < 0)
        return rc;
    hs->in_len = 0;
    hs->state = MSE_DONE;
    return 0;
}

static uint32_t choose_method(const sw_mse_hs *hs, uint32_t provide)
{
    uint32_t both = provide & hs->cfg.allowed & (SW_MSE_PLAINTEXT | SW_MSE_RC4);
    if (both == (SW_MSE_PLAINTEXT | SW_MSE_RC4))
        return hs->cfg.prefer_rc4 ? SW_MSE_RC4 : SW_MSE_PLAINTEXT;
    return both;
}

/* Responder, after the req1 hash at `at`: the SKEY hash, then
 * ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA).
 * Returns 1 when more bytes are needed. */
static int responder_parse(sw_mse_hs *hs, size_t at)
{
    size_t pos = at + 20;
    if (hs->in_len < pos + 20 + MSE_FIXED_LEN)
        return 1;
    if (!hs->method) {
        /* Not yet keyed: identify the torrent. */
        uint8_t req2[20], req3[20];
        int rc = hash_label("req3", hs->secret, NULL, req3);
        if (rc < 0)
            return rc;
        for (int k = 0; k < 20; k++)
            req2[k] = hs->in[pos + k] ^ req3[k];
        if (!hs->cfg.find_skey || !hs->cfg.find_skey(hs->cfg.find_user, req2, hs->skey))
            return SW_ERR_INFO_HASH_MISMATCH;
        if ((rc = cipher_init(&hs->recv, "keyA", hs->secret, hs->skey)) < 0 ||
            (rc = cipher_init(&hs->send, "keyB", hs->secret, hs->skey)) < 0)
            return rc;
        hs->method = 0xffffffffu; /* keyed; the real method comes below */
    }
    pos += 20;
    /* Parse with a copy of the cipher until every field is here. */
    sw_mse_rc4 c = hs->recv;
    uint8_t fixed[MSE_FIXED_LEN];
    sw__mse_rc4_apply(&c, hs->in + pos, fixed, sizeof fixed);
    static const uint8_t zero_vc[MSE_VC_LEN];
    if (memcmp(fixed, zero_vc, MSE_VC_LEN) != 0)
        return SW_ERR_HANDSHAKE;
    uint32_t provide = get_u32(fixed + MSE_VC_LEN);
    size_t pad_c = (size_t)fixed[12] << 8 | fixed[13];
    if (pad_c > SW_MSE_MAX_PAD)
        return SW_ERR_HANDSHAKE;
    uint32_t method = choose_method(hs, provide);
    if (!method)
        return SW_ERR_HANDSHAKE;
    pos += MSE_FIXED_LEN;
    if (hs->in_len < pos + pad_c + 2)
        return 1;
    sw__mse_rc4_skip(&c, pad_c);
    uint8_t ia_len_b[2];
    sw__mse_rc4_apply(&c, hs->in + pos + pad_c, ia_len_b, 2);
    size_t ia_len = (size_t)ia_len_b[0] << 8 | ia_len_b[1];
    pos += pad_c + 2;
    if (hs->in_len < pos + ia_len)
        return 1;
    /* Everything is here: IA is always RC4, the rest follows the method. */
    hs->recv = c;
    uint8_t *ia = hs->in + pos;
    sw__mse_rc4_apply(&hs->recv, ia, ia, ia_len);
    int rc = buf_append(&hs->leftover, &hs->leftover_len, &hs->leftover_cap, ia, ia_len);
    if (rc < 0)
        return rc;
    hs->method = method;
    uint8_t reply[MSE_FIXED_LEN] = {0};
    put_u32(reply + MSE_VC_LEN, method);
    sw__mse_rc4_apply(&hs->send, reply, reply, sizeof reply);
    if ((rc = out_append(hs, reply, sizeof reply)) < 0)
        return rc;
    return finish(hs, pos + ia_len);
}

/* Initiator, after ENCRYPT(VC) at `at`: crypto_select, len(PadD), PadD. */
static int initiator_parse(sw_mse_hs *hs, size_t at)
{
    if (hs->in_len < at + MSE_FIXED_LEN)
        return 1;
    sw_mse_rc4 c = hs->recv;
    uint8_t fixed[MSE_FIXED_LEN];
    sw__mse_rc4_apply(&c, hs->in + at, fixed, sizeof fixed);
    uint32_t select = get_u32(fixed + MSE_VC_LEN);
    size_t pad_d = (size_t)fixed[12] << 8 | fixed[13];
    /* Exactly one method, and one that was offered. */
    if ((select != SW_MSE_PLAINTEXT && select != SW_MSE_RC4) || !(select & hs->cfg.allowed) ||
        pad_d > SW_MSE_MAX_PAD)
        return SW_ERR_HANDSHAKE;
    if (hs->in_len < at + MSE_FIXED_LEN + pad_d)
        return 1;
    sw__mse_rc4_skip(&c, pad_d);
    hs->recv = c;
    hs->method = select;
    return finish(hs, at + MSE_FIXED_LEN + pad_d);
}

static int step(sw_mse_hs *hs)
{
    if (hs->state == MSE_WAIT_KEY) {
        if (hs->in_len < SW_MSE_KEY_LEN)
            return 1;
        int rc = hs->cfg.initiator ? initiator_got_key(hs) : responder_got_key(hs);
        if (rc < 0)
            return rc;
    }
    if (hs->state != MSE_SYNC)
        return 1;
    long at = find_sync(hs);
    size_t limit = hs->cfg.initiator ? SW_MSE_SYNC_VC : SW_MSE_SYNC_REQ1;
    if (at < 0)
        return hs->in_len >= limit ? SW_ERR_HANDSHAKE : 1;
    if ((size_t)at + hs->sync_len > limit)
        return SW_ERR_HANDSHAKE;
    if (hs->cfg.initiator)
        return initiator_parse(hs, (size_t)at);
    return responder_parse(hs, (size_t)at);
}

int sw__mse_hs_input(sw_mse_hs *hs, const uint8_t *data, size_t len)
{
    if (hs->state == MSE_FAILED)
        return SW_ERR_HANDSHAKE;
    if (hs->state == MSE_DONE) {
        /* Late bytes are payload (the wrapper normally takes them itself). */
        uint8_t *tmp = malloc(len ? len : 1);
        if (!tmp)
            return SW_ERR_NOMEM;
        memcpy(tmp, data, len);
        if (hs->method == SW_MSE_RC4)
            sw__mse_rc4_apply(&hs->recv, tmp, tmp, len);
        int rc = buf_append(&hs->leftover, &hs->leftover_len, &hs->leftover_cap, tmp, len);
        free(tmp);
        return rc;
    }
    int rc = buf_append(&hs->in, &hs->in_len, &hs->in_cap, data, len);
    if (rc < 0)
        return rc;
    rc = step(hs);
    if (rc < 0) {
        hs->state = MSE_FAILED;
        return rc;
    }
    return 0;
}

void sw__mse_hs_output(sw_mse_hs *hs, const uint8_t **out, size_t *len_out)
{
    /* The previous output was taken: drop it now. */
    if (hs->out_taken) {
        memmove(hs->out, hs->out + hs->out_taken, hs->out_len - hs->out_taken);
        hs->out_len -= hs->out_taken;
        hs->out_taken = 0;
    }
    *out = hs->out;
    *len_out = hs->out_len;
    hs->out_taken = hs->out_len;
}

bool sw__mse_hs_done(const sw_mse_hs *hs)
{
    return hs->state == MSE_DONE;
}

uint32_t sw__mse_hs_method(const sw_mse_hs *hs)
{
    return hs->state == MSE_DONE ? hs->method : 0;
}

const uint8_t *sw__mse_hs_skey(const sw_mse_hs *hs)
{
    return hs->skey;
}

void sw__mse_hs_leftover(const sw_mse_hs *hs, const uint8_t **data, size_t *len)
{
    *data = hs->leftover;
    *len = hs->leftover_len;
}

void sw__mse_hs_ciphers(const sw_mse_hs *hs, sw_mse_rc4 *send_out, sw_mse_rc4 *recv_out)
{
    *send_out = hs->send;
    *recv_out = hs->recv;
}
