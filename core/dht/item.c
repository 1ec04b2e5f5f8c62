/* BEP 44 item keys and signatures: Ed25519 through OpenSSL's EVP_PKEY
 * interface, over the exact byte layout the BEP prescribes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/base.h"
#include "dht/dht.h"
#include "dht/store.h"

void sw__dht_item_target_immutable(const uint8_t *v, size_t v_len, sw_sha1 *out)
{
    if (sw__sha1(v, v_len, out) != 0)
        memset(out, 0, sizeof *out);
}

void sw__dht_item_target_mutable(const uint8_t *k, const uint8_t *salt, size_t salt_len,
                                 sw_sha1 *out)
{
    uint8_t buf[SW_DHT_PK_LEN + SW_DHT_SALT_MAX];
    if (salt_len > SW_DHT_SALT_MAX)
        salt_len = SW_DHT_SALT_MAX; /* callers reject longer salts first */
    memcpy(buf, k, SW_DHT_PK_LEN);
    if (salt_len)
        memcpy(buf + SW_DHT_PK_LEN, salt, salt_len);
    if (sw__sha1(buf, SW_DHT_PK_LEN + salt_len, out) != 0)
        memset(out, 0, sizeof *out);
}

int sw__dht_item_signed_bytes(const uint8_t *salt, size_t salt_len, int64_t seq, const uint8_t *v,
                              size_t v_len, sw_buf *out)
{
    char head[64];
    int rc = 0;
    if (salt_len > 0) {
        int n = snprintf(head, sizeof head, "4:salt%zu:", salt_len);
        rc = sw__buf_append(out, head, (size_t)n);
        if (rc == 0)
            rc = sw__buf_append(out, salt, salt_len);
    }
    if (rc == 0) {
        int n = snprintf(head, sizeof head, "3:seqi%" PRId64 "e1:v", seq);
        rc = sw__buf_append(out, head, (size_t)n);
    }
    if (rc == 0)
        rc = sw__buf_append(out, v, v_len);
    return rc;
}

bool sw__dht_item_verify(const uint8_t *k, const uint8_t *sig, const uint8_t *salt, size_t salt_len,
                         int64_t seq, const uint8_t *v, size_t v_len)
{
    sw_buf msg = {0};
    bool ok = false;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL;
    if (sw__dht_item_signed_bytes(salt, salt_len, seq, v, v_len, &msg) != 0)
        goto out;
    key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k, SW_DHT_PK_LEN);
    ctx = EVP_MD_CTX_new();
    if (!key || !ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
        goto out;
    ok = EVP_DigestVerify(ctx, sig, SW_DHT_SIG_LEN, msg.data, msg.len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    sw__buf_free(&msg);
    return ok;
}

int sw__dht_item_sign(const uint8_t seed[32], const uint8_t *salt, size_t salt_len, int64_t seq,
                      const uint8_t *v, size_t v_len, uint8_t sig_out[SW_DHT_SIG_LEN])
{
    sw_buf msg = {0};
    int rc = sw__dht_item_signed_bytes(salt, salt_len, seq, v, v_len, &msg);
    if (rc != 0)
        return rc;
    rc = SW_ERR_CRYPTO;
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sig_len = SW_DHT_SIG_LEN;
    if (key && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
        EVP_DigestSign(ctx, sig_out, &sig_len, msg.data, msg.len) == 1 && sig_len == SW_DHT_SIG_LEN)
        rc = 0;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    sw__buf_free(&msg);
    return rc;
}

int sw__dht_item_public_key(const uint8_t seed[32], uint8_t pk_out[SW_DHT_PK_LEN])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    size_t len = SW_DHT_PK_LEN;
    int rc = key && EVP_PKEY_get_raw_public_key(key, pk_out, &len) == 1 && len == SW_DHT_PK_LEN
                 ? 0
                 : SW_ERR_CRYPTO;
    EVP_PKEY_free(key);
    return rc;
}
