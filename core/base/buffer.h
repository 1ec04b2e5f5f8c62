/* A growable byte buffer (sw_buf) and big-endian load/store helpers.
 *
 * sw_buf owns its heap storage: data[0..len) is the content, cap the
 * allocated size. A zeroed struct (or sw__buf_init) is an empty buffer that
 * has allocated nothing; sw__buf_free releases the storage and leaves an empty
 * buffer. Appends grow the storage geometrically and return SW_ERR_NOMEM (the
 * content unchanged) if that fails. Pointers into data are invalidated by any
 * call that may grow the buffer.
 *
 * Threading: a buffer is used by one thread at a time; no global state. */
#ifndef SW_CORE_BASE_BUFFER_H
#define SW_CORE_BASE_BUFFER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} sw_buf;

void sw__buf_init(sw_buf *b);
void sw__buf_free(sw_buf *b);
/* Empties the buffer but keeps its storage for reuse. */
void sw__buf_clear(sw_buf *b);
/* Makes room for at least `extra` more bytes without another allocation. */
int sw__buf_reserve(sw_buf *b, size_t extra);
/* Appends n bytes of uninitialised space and returns where they start
 * through *space_out (valid until the buffer next grows). */
int sw__buf_extend(sw_buf *b, size_t n, uint8_t **space_out);
int sw__buf_append(sw_buf *b, const void *data, size_t n);
int sw__buf_append_u8(sw_buf *b, uint8_t v);
int sw__buf_append_be16(sw_buf *b, uint16_t v);
int sw__buf_append_be32(sw_buf *b, uint32_t v);
/* Drops the first n bytes (all of them if n >= len), moving the rest down. */
void sw__buf_consume(sw_buf *b, size_t n);
/* Hands the storage to the caller (free with free()); the buffer is left
 * empty. *data_out is NULL if nothing was ever allocated. */
void sw__buf_detach(sw_buf *b, uint8_t **data_out, size_t *len_out);

static inline uint16_t sw__load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t sw__load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void sw__store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void sw__store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
