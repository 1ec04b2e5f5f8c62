/* SHA-1 and SHA-256 over OpenSSL's EVP interface. A context belongs to one
 * thread at a time. Functions return 0 or SW_ERR_CRYPTO / SW_ERR_NOMEM. */
#ifndef SW_CORE_BASE_SHA_H
#define SW_CORE_BASE_SHA_H

#include <stddef.h>
#include <stdint.h>

#include <cswarm/torrent_info.h>

typedef struct sw_hasher sw_hasher;

int sw__hasher_new_sha1(sw_hasher **h_out);
int sw__hasher_new_sha256(sw_hasher **h_out);
int sw__hasher_update(sw_hasher *h, const void *data, size_t len);
/* Writes the digest (20 or 32 bytes) and resets the context for reuse. */
int sw__hasher_final(sw_hasher *h, uint8_t *digest_out);
void sw__hasher_free(sw_hasher *h);

/* One-shot digests. */
int sw__sha1(const void *data, size_t len, sw_sha1 *out);
int sw__sha256(const void *data, size_t len, sw_sha256 *out);

#endif
