/* Torrent creation, internal pieces: the file walk and layout
 * (create_files.c), parallel piece hashing (create_hash.c) and metainfo
 * encoding (create_encode.c), tied together by create.c. Not for use outside
 * core/torrent. */
#ifndef SW_CORE_TORRENT_CREATE_INTERNAL_H
#define SW_CORE_TORRENT_CREATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/create.h>

/* One entry of the torrent's file list, in torrent order. */
typedef struct sw__create_file {
    char *disk_path; /* path to open (NULL for a pad file) */
    char *rel_path;  /* '/'-separated path below the torrent's folder; for a
                        single-file torrent the file's name */
    int64_t size;
    int64_t offset; /* of the file's first byte in the torrent */
    bool pad;       /* BEP 47 pad file: zeros, never read */
} sw__create_file;

typedef struct sw__create_layout {
    sw__create_file *files;
    size_t num_files;
    size_t cap_files;
    int64_t total_size;
    bool multi_file; /* the source was a folder */
} sw__create_layout;

/* Fills err (may be NULL) with code and a printf-style message; returns code. */
int sw__create_fail(sw_error_detail *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Walks path (a file or a folder) and builds the sorted file list, without
 * pad files. canonical_order selects component-wise order (for pad mode)
 * instead of whole-path strcmp order. */
int sw__create_walk(const char *path, bool canonical_order, sw__create_layout *layout_out,
                    sw_error_detail *err);
/* Inserts BEP 47 pad files so that every non-empty file starts on a multiple
 * of piece_size, and recomputes offsets. Multi-file layouts only. */
int sw__create_add_pads(sw__create_layout *layout, int64_t piece_size, sw_error_detail *err);
void sw__create_layout_free(sw__create_layout *layout);

/* Hashes every piece of layout into pieces_out (num_pieces * 20 bytes). */
int sw__create_hash(const sw__create_layout *layout, int64_t piece_size, int num_threads,
                    sw_create_progress_cb progress, void *progress_user, uint8_t *pieces_out,
                    sw_error_detail *err);

/* Encodes the .torrent for a hashed layout. name is the torrent's name. */
int sw__create_encode(const sw_create_params *params, const sw__create_layout *layout,
                      const char *name, int64_t piece_size, const uint8_t *pieces,
                      size_t num_pieces, uint8_t **buf_out, size_t *len_out, sw_error_detail *err);

#endif
