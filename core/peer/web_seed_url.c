/* Web seed URLs and range plans (BEP 19); see web_seed.h. */
#include "web_seed.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* RFC 3986 unreserved characters pass through; every other byte (UTF-8
 * included) is percent-encoded, so a path component can never add a '/',
 * '?' or '#' of its own to the URL. */
static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

typedef struct url_buf {
    char *out;
    size_t cap;
    size_t len;
    bool overflow;
} url_buf;

static void put_bytes(url_buf *b, const char *s, size_t n)
{
    if (b->overflow || n >= b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->out + b->len, s, n);
    b->len += n;
}

/* Appends s[0..n) percent-encoded; '/' is kept only when keep_slash. */
static void put_escaped(url_buf *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            put_bytes(b, (const char *)&s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put_bytes(b, e, 3);
        }
    }
}

int sw__web_seed_file_url(const sw_torrent_info *ti, const char *base, int file_index, char *out,
                          size_t cap, size_t *len_out)
{
    if (!ti || !base || !base[0] || !out || cap == 0)
        return SW_ERR_INVALID_ARG;
    out[0] = '\0';
    const sw_file_entry *fe = sw_torrent_info_file(ti, file_index);
    if (!fe || (fe->flags & SW_FILE_PAD))
        return SW_ERR_INVALID_ARG;
    url_buf b = {out, cap, 0, false};
    size_t blen = strlen(base);
    bool slash = base[blen - 1] == '/';
    put_bytes(&b, base, blen);
    if (!sw_torrent_info_is_multi_file(ti)) {
        if (slash) {
            const char *name = sw_torrent_info_name(ti);
            put_escaped(&b, name, strlen(name), false);
        }
    } else {
        if (!slash)
            put_bytes(&b, "/", 1);
        /* The sanitised path starts with the torrent's name and uses '/'
         * between components; each component is escaped on its own. */
        put_escaped(&b, fe->path, strlen(fe->path), true);
    }
    if (b.overflow) {
        out[0] = '\0';
        return SW_ERR_LIMIT;
    }
    out[b.len] = '\0';
    if (len_out)
        *len_out = b.len;
    return 0;
}

int sw__web_seed_plan(const sw_torrent_info *ti, int piece, int64_t offset, int64_t size,
                      sw_web_seed_range *out, int max)
{
    if (!ti || max < 0 || (max > 0 && !out))
        return SW_ERR_INVALID_ARG;
    int n = sw_torrent_info_map_block(ti, piece, offset, size, NULL, 0);
    if (n < 0)
        return n;
    sw_file_slice stack[16];
    sw_file_slice *slices = stack;
    if (n > (int)(sizeof stack / sizeof stack[0])) {
        slices = malloc((size_t)n * sizeof *slices);
        if (!slices)
            return SW_ERR_NOMEM;
    }
    int got = sw_torrent_info_map_block(ti, piece, offset, size, slices, n);
    int count = 0;
    int64_t run = 0;
    for (int i = 0; i < got && i < n; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(ti, slices[i].file_index);
        if (fe && !(fe->flags & SW_FILE_PAD)) {
            if (count < max) {
                out[count].file_index = slices[i].file_index;
                out[count].file_offset = slices[i].offset;
                out[count].size = slices[i].size;
                out[count].run_offset = run;
            }
            count++;
        }
        run += slices[i].size;
    }
    if (slices != stack)
        free(slices);
    return count;
}
