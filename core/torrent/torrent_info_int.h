/* Private to the metainfo loader in core/torrent: the layout of
 * sw_torrent_info and the steps that fill it. Other code uses the accessors
 * in <cswarm/torrent_info.h>. */
#ifndef SW_CORE_TORRENT_TORRENT_INFO_INT_H
#define SW_CORE_TORRENT_TORRENT_INFO_INT_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/torrent_info_int.h is internal to cswarm"
#endif
#endif

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cswarm/bencode.h>
#include <cswarm/torrent_info.h>

#include "file_layout.h"
#include "str_arena.h"

struct sw_torrent_info {
    atomic_int refs;
    sw__arena arena; /* every string and array below, except buf */

    uint8_t *buf; /* owned copy of the input: a whole .torrent or an info dict */
    size_t buf_len;
    bool has_metainfo;   /* buf is a whole .torrent */
    const uint8_t *info; /* the info dictionary's bytes, inside buf */
    size_t info_len;

    sw_info_hashes hashes;
    const char *name; /* sanitised */
    bool multi_file;
    bool hybrid;
    bool is_private;

    sw_file_entry *files;
    sw__file_layout layout;
    const uint8_t *piece_hashes; /* 20 * num_pieces bytes, inside buf */

    sw_announce_entry *trackers;
    int num_trackers;
    const char **web_seeds;
    int num_web_seeds;
    const char **http_seeds;
    int num_http_seeds;
    sw_dht_node_entry *dht_nodes;
    int num_dht_nodes;

    int64_t creation_date;
    const char *comment;    /* NULL if absent */
    const char *created_by; /* NULL if absent */
};

/* Effective limits, with the defaults filled in. */
typedef struct sw__load_limits {
    int64_t max_size;
    int64_t max_pieces;
    int max_files;
} sw__load_limits;

void sw__load_limits_from_opts(const sw_load_opts *opts, sw__load_limits *out);

/* Fills err (may be NULL) with code, offset and a printf-style message, and
 * returns code. */
int sw__metainfo_error(sw_error_detail *err, int code, int64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Parses the info dictionary into ti: name, piece length and hashes, files
 * (sanitised, de-duplicated, laid out), private flag, hybrid check. ti->info,
 * ti->info_len and ti->hashes must be set. */
int sw__info_parse(sw_torrent_info *ti, sw_bnode info, const sw__load_limits *limits,
                   sw_error_detail *err);

/* Reads the file list ("files", or "length" for a single file) into
 * ti->files, with sanitised paths (before de-duplication). ti->name must be
 * set. */
int sw__info_parse_files(sw_torrent_info *ti, sw_bnode info, const sw__load_limits *limits,
                         sw_error_detail *err);

/* Joins the sanitised string nodes comps[0..n) to prefix (NULL or "" for
 * none): "prefix/c1/c2". Components that sanitise to nothing are dropped; if
 * all are, the result is prefix + "/" + fallback, or NULL when fallback is
 * NULL. The result comes from arena, or from malloc when arena is NULL.
 * Returns 0, SW_ERR_NOMEM, or SW_ERR_METAINFO_BAD_PATH when a component is
 * not a string. */
int sw__path_join_nodes(sw__arena *arena, const char *prefix, const sw_bnode *comps, size_t n,
                        const char *fallback, char **path_out);

/* For a hybrid torrent: checks that the v2 "file tree" describes the same
 * files as the v1 list, each piece-aligned (BEP 52). Returns 0 or
 * SW_ERR_METAINFO_BAD_V2 / SW_ERR_NOMEM. */
int sw__hybrid_check(sw_torrent_info *ti, sw_bnode info, const sw__load_limits *limits,
                     sw_error_detail *err);

/* Reads what lies outside the info dictionary: trackers (BEP 12), web seeds
 * (BEP 19), HTTP seeds (BEP 17), DHT nodes (BEP 5), creation date, comment,
 * created by. Malformed optional entries are skipped, not fatal. */
int sw__metainfo_parse_extras(sw_torrent_info *ti, sw_bnode root, sw_error_detail *err);

/* A NUL-terminated, well-formed UTF-8 copy of a string node's bytes, from
 * the arena (invalid bytes become U+FFFD, NULs are dropped); NULL if n is not
 * a string or memory runs out (*oom set). */
const char *sw__text_from_node(sw_torrent_info *ti, sw_bnode n, bool *oom);

/* Copies the child nodes of a list or dict (values only) into an array, in
 * order, so they can be visited with nested lookups at linear cost. For a
 * dict, keys_out (may be NULL) gets the keys. Returns 0 or SW_ERR_NOMEM;
 * free the arrays with free(). */
int sw__bnode_children(sw_bnode container, sw_bnode **values_out, sw_bnode **keys_out,
                       size_t *count_out);

#endif
