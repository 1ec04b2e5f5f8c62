/* The byte layout of a torrent: its files laid end to end, cut into pieces of
 * piece_length bytes (the last one shorter). Pure arithmetic over a file
 * array that the caller owns; safe to use from any thread once built. */
#ifndef SW_CORE_TORRENT_FILE_LAYOUT_H
#define SW_CORE_TORRENT_FILE_LAYOUT_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/file_layout.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stdint.h>

#include <cswarm/torrent_info.h>

typedef struct sw__file_layout {
    const sw_file_entry *files; /* offsets set by sw__layout_init */
    int num_files;
    int64_t total_size;
    int piece_length;
    int num_pieces;
} sw__file_layout;

/* Sets files[i].offset from the sizes, and fills *layout. Fails with
 * SW_ERR_METAINFO_BAD_FILE_LENGTH for a negative size or a total above
 * INT64_MAX, SW_ERR_INVALID_ARG for piece_length <= 0, and
 * SW_ERR_METAINFO_TOO_LARGE when the piece count would not fit an int. On
 * failure *bad_file_out (may be NULL) gets the offending file index, or -1. */
int sw__layout_init(sw__file_layout *layout, sw_file_entry *files, int num_files, int piece_length,
                    int *bad_file_out);

/* Size of piece i, or 0 for an index out of range. */
int sw__layout_piece_size(const sw__file_layout *layout, int piece);

/* The index of the file holding byte pos of the torrent (never an empty
 * file), or -1 if pos is outside [0, total_size). O(log n). */
int sw__layout_file_at(const sw__file_layout *layout, int64_t pos);

/* See sw_torrent_info_map_block. Errors: SW_ERR_INVALID_ARG. */
int sw__layout_map_block(const sw__file_layout *layout, int piece, int64_t offset, int64_t size,
                         sw_file_slice *out, int max);

/* See sw_torrent_info_file_pieces. */
bool sw__layout_file_pieces(const sw__file_layout *layout, int index, int *first_out,
                            int *last_out);

#endif
