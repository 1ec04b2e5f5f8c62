#include "sha.h"

#include <stdlib.h>

#include <openssl/evp.h>

#include <cswarm/error.h>

struct sw_hasher {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
};

static int hasher_new(const EVP_MD *md, sw_hasher **h_out)
{
    sw_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return SW_ERR_NOMEM;
    h->md = md;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        sw__hasher_free(h);
        return SW_ERR_CRYPTO;
    }
    *h_out = h;
    return 0;
}

int sw__hasher_new_sha1(sw_hasher **h_out)
{
    return hasher_new(EVP_sha1(), h_out);
}

int sw__hasher_new_sha256(sw_hasher **h_out)
{
    return hasher_new(EVP_sha256(), h_out);
}

int sw__hasher_update(sw_hasher *h, const void *data, size_t len)
{
    return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : SW_ERR_CRYPTO;
}

int sw__hasher_final(sw_hasher *h, uint8_t *digest_out)
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->ctx, digest_out, &n) != 1)
        return SW_ERR_CRYPTO;
    return EVP_DigestInit_ex(h->ctx, h->md, NULL) == 1 ? 0 : SW_ERR_CRYPTO;
}

void sw__hasher_free(sw_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int sw__sha1(const void *data, size_t len, sw_sha1 *out)
{
    return EVP_Digest(data, len, out->v, NULL, EVP_sha1(), NULL) == 1 ? 0 : SW_ERR_CRYPTO;
}

int sw__sha256(const void *data, size_t len, sw_sha256 *out)
{
    return EVP_Digest(data, len, out->v, NULL, EVP_sha256(), NULL) == 1 ? 0 : SW_ERR_CRYPTO;
}
