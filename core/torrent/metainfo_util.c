/* Small helpers the metainfo loader's steps share: error details, limits,
 * text copies and child arrays of bencode containers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torrent_info_int.h"
#include "utf8.h"

#define DEFAULT_MAX_SIZE ((int64_t)64 * 1024 * 1024)
#define DEFAULT_MAX_PIECES ((int64_t)8000000)
#define DEFAULT_MAX_FILES 1000000

void sw__load_limits_from_opts(const sw_load_opts *opts, sw__load_limits *out)
{
    out->max_size = opts && opts->max_size > 0 ? opts->max_size : DEFAULT_MAX_SIZE;
    out->max_pieces = opts && opts->max_pieces > 0 ? opts->max_pieces : DEFAULT_MAX_PIECES;
    out->max_files = opts && opts->max_files > 0 ? opts->max_files : DEFAULT_MAX_FILES;
}

int sw__metainfo_error(sw_error_detail *err, int code, int64_t offset, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* One line, whatever the format arguments held. */
    for (char *p = err->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return code;
}

const char *sw__text_from_node(sw_torrent_info *ti, sw_bnode n, bool *oom)
{
    size_t len;
    const char *s = sw_bnode_str(n, &len);
    if (!s)
        return NULL;
    if (len > (SIZE_MAX - 1) / 3) {
        *oom = true;
        return NULL;
    }
    char *out = sw__arena_alloc(&ti->arena, 3 * len + 1);
    if (!out) {
        *oom = true;
        return NULL;
    }
    sw__utf8_sanitize_text(s, len, out);
    return out;
}

int sw__bnode_children(sw_bnode container, sw_bnode **values_out, sw_bnode **keys_out,
                       size_t *count_out)
{
    bool is_dict = sw_bnode_is(container, SW_BNODE_DICT);
    size_t n = sw_bnode_len(container);
    sw_bnode *values = malloc((n ? n : 1) * sizeof *values);
    sw_bnode *keys = is_dict && keys_out ? malloc((n ? n : 1) * sizeof *keys) : NULL;
    if (!values || (is_dict && keys_out && !keys)) {
        free(values);
        free(keys);
        return SW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (is_dict) {
            sw_bnode k;
            sw_bnode_dict_at(container, i, &k, &values[i]);
            if (keys)
                keys[i] = k;
        } else {
            values[i] = sw_bnode_list_at(container, i);
        }
    }
    *values_out = values;
    if (keys_out)
        *keys_out = keys;
    *count_out = n;
    return 0;
}
