/* RFC 4648 base32 (the "A-Z2-7" alphabet, not base32hex). Magnet links carry
 * SHA-1 info-hashes in this form as an alternative to hex (BEP 9).
 *
 * Pure functions over caller buffers; no allocation, no global state, safe
 * from any thread. */
#ifndef SW_CORE_BASE_BASE32_H
#define SW_CORE_BASE_BASE32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters sw__base32_encode writes for len bytes, without the NUL. With
 * pad, the length is rounded up to a multiple of 8 with '='. */
size_t sw__base32_encoded_len(size_t len, bool pad);

/* Writes the upper-case encoding of data and a terminating NUL: out must hold
 * sw__base32_encoded_len(len, pad) + 1 bytes. */
void sw__base32_encode(const uint8_t *data, size_t len, bool pad, char *out);

/* Decodes in[0..in_len) into out (capacity out_cap), writing the byte count to
 * *len_out. Letters may be upper or lower case. Padding is optional, but if
 * present it must be complete (a multiple of 8 characters in all). Only the
 * canonical form is accepted: a length no encoder produces, or a final
 * character whose unused low bits are not zero, is refused.
 * Returns 0, SW_ERR_INVALID_ARG for malformed input, or SW_ERR_LIMIT if the
 * result would not fit in out_cap. */
int sw__base32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *len_out);

#endif
