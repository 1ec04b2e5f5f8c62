/* A sized bit array that knows BitTorrent's piece bitfields.
 *
 * Bits are stored as on the wire: byte 0 holds bits 0..7, the high bit first.
 * Spare bits past `size` in the last byte are always zero, and the number of
 * set bits is cached, so count/all/none are O(1).
 *
 * Size 0 means "piece count not known yet" (a magnet link before its
 * metadata). A peer may still say HaveAll or HaveNone then: sw__bitfield_set_all
 * and sw__bitfield_clear_all on a size-0 bitfield record that as a hint, which
 * sw__bitfield_all / sw__bitfield_none / sw__bitfield_get report, and which
 * sw__bitfield_resize applies once the size is known. A raw BITFIELD message
 * received before the size is known must be kept by the caller and passed to
 * sw__bitfield_from_raw later: its length and spare bits can only be checked
 * against the real piece count.
 *
 * Ownership: the struct owns `bits` (free with sw__bitfield_free). A zeroed
 * struct is a valid empty bitfield. Index arguments out of range are ignored by
 * setters and read as clear by getters; callers validate network input first.
 *
 * Threading: one thread at a time per bitfield; no global state. */
#ifndef SW_CORE_BASE_BITFIELD_H
#define SW_CORE_BASE_BITFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sw_bitfield_hint {
    SW_BITFIELD_HINT_NONE_KNOWN = 0, /* no hint: nothing said */
    SW_BITFIELD_HINT_HAVE_ALL = 1,
    SW_BITFIELD_HINT_HAVE_NONE = 2,
};

typedef struct sw_bitfield {
    uint8_t *bits;  /* sw__bitfield_raw_len(size) bytes, or NULL when size is 0 */
    uint32_t size;  /* number of bits; 0 = not known yet */
    uint32_t count; /* cached number of set bits */
    uint8_t hint;   /* enum sw_bitfield_hint; only meaningful while size is 0 */
} sw_bitfield;

/* Bytes needed for `size` bits: ceil(size / 8). */
static inline size_t sw__bitfield_raw_len(uint32_t size)
{
    return ((size_t)size + 7) / 8;
}

void sw__bitfield_init(sw_bitfield *bf);
/* A bitfield of `size` clear bits. Returns 0 or SW_ERR_NOMEM. */
int sw__bitfield_init_size(sw_bitfield *bf, uint32_t size);
void sw__bitfield_free(sw_bitfield *bf);
/* Changes the size. Bits below both sizes are kept, new bits are clear; a
 * pending have-all/have-none hint is applied instead when growing from 0.
 * Returns 0 or SW_ERR_NOMEM (bitfield unchanged). */
int sw__bitfield_resize(sw_bitfield *bf, uint32_t size);
/* Replaces dst's content with a copy of src. dst must be initialised. */
int sw__bitfield_copy(sw_bitfield *dst, const sw_bitfield *src);

bool sw__bitfield_get(const sw_bitfield *bf, uint32_t index);
void sw__bitfield_set(sw_bitfield *bf, uint32_t index);
void sw__bitfield_clear(sw_bitfield *bf, uint32_t index);
/* Set or clear every bit; with size 0 these record the HaveAll/HaveNone hint. */
void sw__bitfield_set_all(sw_bitfield *bf);
void sw__bitfield_clear_all(sw_bitfield *bf);

uint32_t sw__bitfield_count(const sw_bitfield *bf);
/* Set bits in [begin, end) (end is clamped to size). */
uint32_t sw__bitfield_count_range(const sw_bitfield *bf, uint32_t begin, uint32_t end);
/* Every bit set (or, with size 0, the have-all hint). */
bool sw__bitfield_all(const sw_bitfield *bf);
/* No bit set (with size 0: true unless the have-all hint is set). */
bool sw__bitfield_none(const sw_bitfield *bf);

/* The first set (clear) bit at or after `from`; false if there is none. */
bool sw__bitfield_find_next_set(const sw_bitfield *bf, uint32_t from, uint32_t *index_out);
bool sw__bitfield_find_next_clear(const sw_bitfield *bf, uint32_t from, uint32_t *index_out);

/* Loads a peer's bitfield of `size` bits from wire bytes. `len` must be
 * exactly sw__bitfield_raw_len(size) and the spare bits zero, otherwise
 * SW_ERR_PROTOCOL (bitfield unchanged). size 0 is SW_ERR_INVALID_ARG.
 * Returns 0, SW_ERR_PROTOCOL, SW_ERR_INVALID_ARG or SW_ERR_NOMEM. */
int sw__bitfield_from_raw(sw_bitfield *bf, const uint8_t *raw, size_t len, uint32_t size);
/* Writes the wire bytes: sw__bitfield_raw_len(size) bytes into out. */
void sw__bitfield_to_raw(const sw_bitfield *bf, uint8_t *out);
/* The wire bytes in place (NULL when size is 0). */
static inline const uint8_t *sw__bitfield_bytes(const sw_bitfield *bf)
{
    return bf->bits;
}

/* Invariant check for debug assertions: cached count and spare bits agree
 * with the storage. */
bool sw__bitfield_is_valid(const sw_bitfield *bf);

#endif
