/* Torrent metainfo (.torrent files, BEP 3/12/17/19/27/47/52).
 *
 * An sw_torrent_info is immutable once loaded and reference counted
 * (sw_torrent_info_ref / sw_torrent_info_unref, atomic), so any thread may
 * read it and the session may share it with the caller. Strings and arrays
 * returned by accessors borrow from it and live as long as it does.
 *
 * File paths are sanitised while loading: every path is relative, uses '/'
 * separators, has no empty, "." or ".." components, is valid UTF-8, has no
 * component over 255 bytes and no name reserved on Windows, and no two files
 * share a path; joined to any save path, no file can land outside it.
 * For multi-file torrents the torrent's name is the first component.
 *
 * v1 and hybrid (v1+v2) torrents load and are used as v1: the info-hash is the
 * SHA-1 over the exact bytes of the info dictionary, v2 keys included, and
 * BEP 47 pad files are honoured. Pure v2 torrents are refused with
 * SW_ERR_METAINFO_V2_ONLY. */
#ifndef CSWARM_TORRENT_INFO_H
#define CSWARM_TORRENT_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_SHA1_LEN 20
#define SW_SHA256_LEN 32

typedef struct sw_sha1 {
    uint8_t v[SW_SHA1_LEN];
} sw_sha1;

typedef struct sw_sha256 {
    uint8_t v[SW_SHA256_LEN];
} sw_sha256;

/* The info-hashes of a torrent: v1 (SHA-1) and, for hybrid/v2, SHA-256. */
typedef struct sw_info_hashes {
    bool has_v1;
    bool has_v2;
    sw_sha1 v1;
    sw_sha256 v2;
} sw_info_hashes;

/* A detailed error: the code says what, message says where and why. */
typedef struct sw_error_detail {
    int code;          /* negative SW_ERR_*, or 0 */
    int64_t offset;    /* byte offset in the input, or -1 if not applicable */
    char message[256]; /* one line, NUL-terminated */
} sw_error_detail;

enum sw_file_flags {
    SW_FILE_PAD = 1u << 0,        /* BEP 47 'p': padding, never written to disk */
    SW_FILE_HIDDEN = 1u << 1,     /* 'h' */
    SW_FILE_EXECUTABLE = 1u << 2, /* 'x' */
    SW_FILE_SYMLINK = 1u << 3,    /* 'l' */
};

typedef struct sw_file_entry {
    const char *path;           /* sanitised relative path, '/'-separated */
    int64_t size;               /* bytes */
    int64_t offset;             /* offset of the file's first byte in the torrent */
    unsigned flags;             /* SW_FILE_* */
    const char *symlink_target; /* for SW_FILE_SYMLINK, sanitised; else NULL */
    int64_t mtime;              /* 0 if absent */
} sw_file_entry;

/* A piece of a byte range that falls in one file. */
typedef struct sw_file_slice {
    int file_index;
    int64_t offset; /* within the file */
    int64_t size;
} sw_file_slice;

typedef struct sw_announce_entry {
    const char *url;
    int tier; /* 0-based BEP 12 tier */
} sw_announce_entry;

typedef struct sw_dht_node_entry {
    const char *host;
    int port;
} sw_dht_node_entry;

typedef struct sw_load_opts {
    int64_t max_size;   /* whole .torrent size limit; 0 = default (64 MiB) */
    int64_t max_pieces; /* 0 = default (8,000,000) */
    int max_files;      /* 0 = default (1,000,000) */
} sw_load_opts;

typedef struct sw_torrent_info sw_torrent_info;

/* Loads a .torrent from memory (the bytes are copied). opts and err may be
 * NULL. On success the caller holds one reference to *ti_out. */
SW_API int sw_torrent_info_load(const void *buf, size_t len, const sw_load_opts *opts,
                                sw_torrent_info **ti_out, sw_error_detail *err);
/* Loads a .torrent file; the message names the file. */
SW_API int sw_torrent_info_load_file(const char *path, const sw_load_opts *opts,
                                     sw_torrent_info **ti_out, sw_error_detail *err);
/* Builds a torrent from a bare info dictionary (metadata received from peers,
 * BEP 9). If expected is non-NULL, the SHA-1 of the bytes must equal it. */
SW_API int sw_torrent_info_from_info_dict(const void *info, size_t len, const sw_sha1 *expected,
                                          const sw_load_opts *opts, sw_torrent_info **ti_out,
                                          sw_error_detail *err);
SW_API sw_torrent_info *sw_torrent_info_ref(sw_torrent_info *ti);
SW_API void sw_torrent_info_unref(sw_torrent_info *ti);

SW_API const sw_info_hashes *sw_torrent_info_hashes(const sw_torrent_info *ti);
SW_API const char *sw_torrent_info_name(const sw_torrent_info *ti);
SW_API int64_t sw_torrent_info_total_size(const sw_torrent_info *ti);
SW_API int sw_torrent_info_piece_length(const sw_torrent_info *ti);
SW_API int sw_torrent_info_num_pieces(const sw_torrent_info *ti);
/* Size of piece i (the last one may be shorter). */
SW_API int sw_torrent_info_piece_size(const sw_torrent_info *ti, int piece);
/* The 20-byte SHA-1 of piece i. */
SW_API const uint8_t *sw_torrent_info_piece_hash(const sw_torrent_info *ti, int piece);
SW_API int sw_torrent_info_num_files(const sw_torrent_info *ti);
SW_API const sw_file_entry *sw_torrent_info_file(const sw_torrent_info *ti, int index);
/* True for a multi-file torrent (files live under a folder named after it). */
SW_API bool sw_torrent_info_is_multi_file(const sw_torrent_info *ti);
SW_API bool sw_torrent_info_is_hybrid(const sw_torrent_info *ti);

/* Maps size bytes at (piece, offset) to file slices, writing at most max
 * slices. Returns the number of slices needed (may exceed max), or a negative
 * error for a range outside the torrent. Pad files are included (with their
 * index) so callers can skip them. */
SW_API int sw_torrent_info_map_block(const sw_torrent_info *ti, int piece, int64_t offset,
                                     int64_t size, sw_file_slice *out, int max);
/* The first and last piece (inclusive) touching file index. Returns false for
 * an empty file or bad index. */
SW_API bool sw_torrent_info_file_pieces(const sw_torrent_info *ti, int index, int *first_out,
                                        int *last_out);

SW_API int sw_torrent_info_num_trackers(const sw_torrent_info *ti);
SW_API const sw_announce_entry *sw_torrent_info_tracker(const sw_torrent_info *ti, int i);
SW_API int sw_torrent_info_num_web_seeds(const sw_torrent_info *ti);  /* BEP 19 url-list */
SW_API const char *sw_torrent_info_web_seed(const sw_torrent_info *ti, int i);
SW_API int sw_torrent_info_num_http_seeds(const sw_torrent_info *ti); /* BEP 17 httpseeds */
SW_API const char *sw_torrent_info_http_seed(const sw_torrent_info *ti, int i);
SW_API int sw_torrent_info_num_dht_nodes(const sw_torrent_info *ti);
SW_API const sw_dht_node_entry *sw_torrent_info_dht_node(const sw_torrent_info *ti, int i);

SW_API bool sw_torrent_info_is_private(const sw_torrent_info *ti);
SW_API int64_t sw_torrent_info_creation_date(const sw_torrent_info *ti); /* 0 if absent */
SW_API const char *sw_torrent_info_comment(const sw_torrent_info *ti);   /* NULL if absent */
SW_API const char *sw_torrent_info_created_by(const sw_torrent_info *ti);

/* The exact bytes of the info dictionary (what the v1 info-hash covers). */
SW_API const uint8_t *sw_torrent_info_info_section(const sw_torrent_info *ti, size_t *len_out);
/* The whole .torrent as loaded (NULL for sw_torrent_info_from_info_dict). */
SW_API const uint8_t *sw_torrent_info_metainfo(const sw_torrent_info *ti, size_t *len_out);

/* Hex helpers for hashes: out must hold 2*len+1 bytes. */
SW_API void sw_hex_encode(const uint8_t *data, size_t len, char *out);
/* Decodes exactly 2*len hex digits. Returns false on a bad digit. */
SW_API bool sw_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
