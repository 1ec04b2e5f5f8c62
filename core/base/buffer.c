#include "buffer.h"

#include <stdlib.h>
#include <string.h>

#include <cswarm/error.h>

void sw__buf_init(sw_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sw__buf_free(sw_buf *b)
{
    free(b->data);
    sw__buf_init(b);
}

void sw__buf_clear(sw_buf *b)
{
    b->len = 0;
}

int sw__buf_reserve(sw_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return SW_ERR_NOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    /* Grow by half again so a run of small appends stays amortised O(1). */
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 3 * 2) {
            cap = need;
            break;
        }
        cap += cap / 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return SW_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sw__buf_extend(sw_buf *b, size_t n, uint8_t **space_out)
{
    int rc = sw__buf_reserve(b, n);
    if (rc < 0)
        return rc;
    *space_out = b->data + b->len;
    b->len += n;
    return 0;
}

int sw__buf_append(sw_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t *p;
    int rc = sw__buf_extend(b, n, &p);
    if (rc < 0)
        return rc;
    memcpy(p, data, n);
    return 0;
}

int sw__buf_append_u8(sw_buf *b, uint8_t v)
{
    return sw__buf_append(b, &v, 1);
}

int sw__buf_append_be16(sw_buf *b, uint16_t v)
{
    uint8_t tmp[2];
    sw__store_be16(tmp, v);
    return sw__buf_append(b, tmp, sizeof tmp);
}

int sw__buf_append_be32(sw_buf *b, uint32_t v)
{
    uint8_t tmp[4];
    sw__store_be32(tmp, v);
    return sw__buf_append(b, tmp, sizeof tmp);
}

void sw__buf_consume(sw_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void sw__buf_detach(sw_buf *b, uint8_t **data_out, size_t *len_out)
{
    *data_out = b->data;
    *len_out = b->len;
    sw__buf_init(b);
}
