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
 * Odd names are neutralised rather than refused, the same way on every
 * platform (details in core/torrent/path_sanitize.h and path_dedupe.h):
 *   - "", "." and ".." components are dropped (a path left with none gets
 *     "_"; a name left with none becomes the v1 info-hash in hex);
 *   - '/', '\' and control characters inside a component become '_';
 *   - bytes that are not well-formed UTF-8 become '_' (one per byte), and
 *     Unicode direction overrides are removed;
 *   - Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$,
 *     CONOUT$, with or without an extension) get a '_' after the device part
 *     ("con.txt" -> "con_.txt"); trailing dots and spaces become '_';
 *   - a component over 255 bytes is cut at a character boundary, keeping an
 *     extension of up to 32 bytes;
 *   - a file whose path equals an earlier file's or a folder's, ignoring
 *     ASCII case, is renamed "stem.N.ext" (libtorrent's scheme). Pad files
 *     are exempt: they are never written and may share a path.
 * Pad files (BEP 47 attr "p", or BitComet's "_____padding_file_" names)
 * without a path get "NAME/.pad/SIZE".
 * Text fields (comment, created by) are made well-formed UTF-8 (U+FFFD for
 * bad bytes). Tracker, web seed and node entries that are empty, not UTF-8
 * or hold control characters are skipped.
 *
 * Validation: piece length 1..SW_TORRENT_MAX_PIECE_LENGTH, file lengths >= 0,
 * total size > 0 and <= INT64_MAX, exactly ceil(total / piece length) piece
 * hashes. Errors fill sw_error_detail: code, the byte offset of the offending
 * bencode node (or of the dictionary lacking a key), and a one-line message.
 *
 * v1 and hybrid (v1+v2) torrents load and are used as v1: the info-hash is the
 * SHA-1 over the exact bytes of the info dictionary, v2 keys included, and
 * BEP 47 pad files are honoured. A hybrid's v2 "file tree" must describe the
 * same files as its v1 list, piece-aligned (else SW_ERR_METAINFO_BAD_V2), and
 * then its v2 info-hash (SHA-256 of the same bytes) is set too. Pure v2
 * torrents are refused with SW_ERR_METAINFO_V2_ONLY. */
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

/* Largest piece length accepted (1 GiB, the most the torrent creator
 * makes); it keeps piece sizes and in-piece offsets within an int. */
#define SW_TORRENT_MAX_PIECE_LENGTH (1 << 30)
/* At most this many trackers, web seeds, HTTP seeds and DHT nodes (each) are
 * kept from one .torrent; further entries are ignored. */
#define SW_TORRENT_MAX_URLS 1024

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
    const char *path; /* sanitised relative path, '/'-separated */
    int64_t size;     /* bytes; always 0 for a symlink */
    int64_t offset;   /* offset of the file's first byte in the torrent */
    unsigned flags;   /* SW_FILE_* */
    /* For SW_FILE_SYMLINK: the target, sanitised and relative to the save
     * path like path itself (so under the name folder of a multi-file
     * torrent); else NULL. A symlink entry without a usable target is loaded
     * as a plain (empty) file. */
    const char *symlink_target;
    int64_t mtime; /* 0 if absent */
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
 * NULL. On success the caller holds one reference to *ti_out; on failure
 * *ti_out is untouched and err (if given) says what and where. */
SW_API int sw_torrent_info_load(const void *buf, size_t len, const sw_load_opts *opts,
                                sw_torrent_info **ti_out, sw_error_detail *err);
/* Loads a .torrent file; the message names the file ("PATH: ..."). A file
 * that cannot be read gives SW_ERR_IO. */
SW_API int sw_torrent_info_load_file(const char *path, const sw_load_opts *opts,
                                     sw_torrent_info **ti_out, sw_error_detail *err);
/* Builds a torrent from a bare info dictionary (metadata received from peers,
 * BEP 9). If expected is non-NULL, the SHA-1 of the bytes must equal it
 * (else SW_ERR_METAINFO_HASH_MISMATCH). Such a torrent has no trackers, web
 * seeds, nodes, comment or dates. */
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
/* The 20-byte SHA-1 of piece i, or NULL for an index out of range. */
SW_API const uint8_t *sw_torrent_info_piece_hash(const sw_torrent_info *ti, int piece);
/* Files in torrent order, pad files included (check SW_FILE_PAD). */
SW_API int sw_torrent_info_num_files(const sw_torrent_info *ti);
/* NULL for an index out of range. */
SW_API const sw_file_entry *sw_torrent_info_file(const sw_torrent_info *ti, int index);
/* True for a multi-file torrent (files live under a folder named after it). */
SW_API bool sw_torrent_info_is_multi_file(const sw_torrent_info *ti);
SW_API bool sw_torrent_info_is_hybrid(const sw_torrent_info *ti);

/* Maps size bytes at (piece, offset) to file slices, in order, writing at
 * most max slices (out may be NULL when max is 0). Returns the number of
 * slices needed (may exceed max), or SW_ERR_INVALID_ARG for a range outside
 * the piece. Pad files are included (with their index) so callers can skip
 * them; empty files never appear. The slice sizes add up to size. */
SW_API int sw_torrent_info_map_block(const sw_torrent_info *ti, int piece, int64_t offset,
                                     int64_t size, sw_file_slice *out, int max);
/* The first and last piece (inclusive) touching file index. Returns false for
 * an empty file or bad index. */
SW_API bool sw_torrent_info_file_pieces(const sw_torrent_info *ti, int index, int *first_out,
                                        int *last_out);

/* Trackers in announce order: BEP 12 tiers (0, 1, ... without gaps) from
 * announce-list, or "announce" alone as tier 0 when announce-list gives
 * none. Each URL appears once, white space trimmed. Accessors taking an
 * index return NULL when it is out of range. */
SW_API int sw_torrent_info_num_trackers(const sw_torrent_info *ti);
SW_API const sw_announce_entry *sw_torrent_info_tracker(const sw_torrent_info *ti, int i);
SW_API int sw_torrent_info_num_web_seeds(const sw_torrent_info *ti); /* BEP 19 url-list */
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
/* Decodes exactly 2*len hex digits (either case); false if hex_len is not
 * 2*len or a digit is bad (out may then be partly written). */
SW_API bool sw_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
