/* Torrent creation: writing the metainfo. The info dictionary holds only
 * files/length, name, piece length, pieces and (when set) private, exactly
 * what mktorrent writes, so equal content and options give equal info-hashes.
 * The encoder sorts keys, so they are added here in reading order. */
#include "create_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cswarm/bencode.h>
#include <cswarm/version.h>

#define DEFAULT_CREATED_BY "cswarm/" SW_VERSION_STRING

/* Writes a '/'-separated path as a list of its components. */
static void encode_path(sw_bencoder *enc, const char *rel_path)
{
    sw_benc_list_begin(enc);
    const char *p = rel_path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        sw_benc_str(enc, p, n);
        if (!slash)
            break;
        p = slash + 1;
    }
    sw_benc_end(enc);
}

static void encode_info(sw_bencoder *enc, const sw_create_params *params,
                        const sw__create_layout *layout, const char *name, int64_t piece_size,
                        const uint8_t *pieces, size_t num_pieces)
{
    sw_benc_dict_begin(enc);
    if (layout->multi_file) {
        sw_benc_ckey(enc, "files");
        sw_benc_list_begin(enc);
        for (size_t i = 0; i < layout->num_files; i++) {
            const sw__create_file *f = &layout->files[i];
            sw_benc_dict_begin(enc);
            if (f->pad) {
                sw_benc_ckey(enc, "attr");
                sw_benc_cstr(enc, "p");
            }
            sw_benc_ckey(enc, "length");
            sw_benc_int(enc, f->size);
            sw_benc_ckey(enc, "path");
            encode_path(enc, f->rel_path);
            sw_benc_end(enc);
        }
        sw_benc_end(enc);
    } else {
        sw_benc_ckey(enc, "length");
        sw_benc_int(enc, layout->total_size);
    }
    sw_benc_ckey(enc, "name");
    sw_benc_cstr(enc, name);
    sw_benc_ckey(enc, "piece length");
    sw_benc_int(enc, piece_size);
    sw_benc_ckey(enc, "pieces");
    sw_benc_str(enc, pieces, num_pieces * SW_SHA1_LEN);
    if (params->is_private) {
        sw_benc_ckey(enc, "private");
        sw_benc_int(enc, 1);
    }
    sw_benc_end(enc);
}

/* Tracker indices ordered by tier, keeping the caller's order within a tier. */
static int *trackers_by_tier(const sw_create_params *params)
{
    int n = params->num_trackers;
    int *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return NULL;
    for (int i = 0; i < n; i++) {
        int j = i;
        /* Insertion sort: stable, and tracker lists are short. */
        while (j > 0 && params->trackers[order[j - 1]].tier > params->trackers[i].tier) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    return order;
}

static void encode_trackers(sw_bencoder *enc, const sw_create_params *params, const int *order)
{
    const sw_announce_entry *t = params->trackers;
    sw_benc_ckey(enc, "announce");
    sw_benc_cstr(enc, t[order[0]].url);
    if (params->num_trackers < 2)
        return;
    sw_benc_ckey(enc, "announce-list");
    sw_benc_list_begin(enc);
    for (int i = 0; i < params->num_trackers; i++) {
        if (i == 0 || t[order[i]].tier != t[order[i - 1]].tier) {
            if (i > 0)
                sw_benc_end(enc);
            sw_benc_list_begin(enc);
        }
        sw_benc_cstr(enc, t[order[i]].url);
    }
    sw_benc_end(enc);
    sw_benc_end(enc);
}

static void encode_web_seeds(sw_bencoder *enc, const sw_create_params *params)
{
    sw_benc_ckey(enc, "url-list");
    if (params->num_web_seeds == 1) {
        /* A lone web seed as a plain string, as BEP 19 allows and mktorrent
         * and libtorrent write it. */
        sw_benc_cstr(enc, params->web_seeds[0]);
        return;
    }
    sw_benc_list_begin(enc);
    for (int i = 0; i < params->num_web_seeds; i++)
        sw_benc_cstr(enc, params->web_seeds[i]);
    sw_benc_end(enc);
}

int sw__create_encode(const sw_create_params *params, const sw__create_layout *layout,
                      const char *name, int64_t piece_size, const uint8_t *pieces,
                      size_t num_pieces, uint8_t **buf_out, size_t *len_out, sw_error_detail *err)
{
    int *order = NULL;
    if (params->num_trackers > 0) {
        order = trackers_by_tier(params);
        if (!order)
            return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
    }
    sw_bencoder *enc = NULL;
    int rc = sw_benc_new(&enc);
    if (rc) {
        free(order);
        return sw__create_fail(err, rc, "create: out of memory");
    }

    /* Encoder errors are sticky: only sw_benc_finish's result matters. */
    sw_benc_dict_begin(enc);
    if (order)
        encode_trackers(enc, params, order);
    if (params->comment) {
        sw_benc_ckey(enc, "comment");
        sw_benc_cstr(enc, params->comment);
    }
    const char *created_by = params->created_by ? params->created_by : DEFAULT_CREATED_BY;
    if (created_by[0]) {
        sw_benc_ckey(enc, "created by");
        sw_benc_cstr(enc, created_by);
    }
    int64_t date = params->creation_date;
    if (date == SW_CREATE_DATE_NOW)
        date = (int64_t)time(NULL);
    if (date != 0) {
        sw_benc_ckey(enc, "creation date");
        sw_benc_int(enc, date);
    }
    sw_benc_ckey(enc, "info");
    encode_info(enc, params, layout, name, piece_size, pieces, num_pieces);
    if (params->num_web_seeds > 0)
        encode_web_seeds(enc, params);
    sw_benc_end(enc);

    uint8_t *buf = NULL;
    size_t len = 0;
    rc = sw_benc_finish(enc, &buf, &len);
    sw_benc_free(enc);
    free(order);
    if (rc)
        return sw__create_fail(err, rc, "create: encoding the metainfo failed: %s",
                               sw_strerror(rc));
    *buf_out = buf;
    *len_out = len;
    return 0;
}
