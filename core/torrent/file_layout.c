#include "file_layout.h"

#include <limits.h>

int sw__layout_init(sw__file_layout *layout, sw_file_entry *files, int num_files, int piece_length,
                    int *bad_file_out)
{
    if (bad_file_out)
        *bad_file_out = -1;
    if (piece_length <= 0 || num_files < 0)
        return SW_ERR_INVALID_ARG;
    int64_t total = 0;
    for (int i = 0; i < num_files; i++) {
        if (files[i].size < 0 || files[i].size > INT64_MAX - total) {
            if (bad_file_out)
                *bad_file_out = i;
            return SW_ERR_METAINFO_BAD_FILE_LENGTH;
        }
        files[i].offset = total;
        total += files[i].size;
    }
    int64_t pieces = total / piece_length + (total % piece_length != 0);
    if (pieces > INT_MAX)
        return SW_ERR_METAINFO_TOO_LARGE;
    layout->files = files;
    layout->num_files = num_files;
    layout->total_size = total;
    layout->piece_length = piece_length;
    layout->num_pieces = (int)pieces;
    return 0;
}

int sw__layout_piece_size(const sw__file_layout *layout, int piece)
{
    if (piece < 0 || piece >= layout->num_pieces)
        return 0;
    int64_t start = (int64_t)piece * layout->piece_length;
    int64_t left = layout->total_size - start;
    return left < layout->piece_length ? (int)left : layout->piece_length;
}

int sw__layout_file_at(const sw__file_layout *layout, int64_t pos)
{
    if (pos < 0 || pos >= layout->total_size)
        return -1;
    /* The last file starting at or before pos. Offsets never decrease, and an
     * empty file shares its offset with the next one, so the last candidate
     * is the non-empty file that holds pos. */
    int lo = 0, hi = layout->num_files - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (layout->files[mid].offset <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int sw__layout_map_block(const sw__file_layout *layout, int piece, int64_t offset, int64_t size,
                         sw_file_slice *out, int max)
{
    int piece_size = sw__layout_piece_size(layout, piece);
    if (piece_size == 0 || offset < 0 || size < 0 || offset > piece_size ||
        size > piece_size - offset)
        return SW_ERR_INVALID_ARG;
    if (size == 0)
        return 0;
    int64_t pos = (int64_t)piece * layout->piece_length + offset;
    int64_t end = pos + size;
    int count = 0;
    for (int f = sw__layout_file_at(layout, pos); pos < end; f++) {
        const sw_file_entry *fe = &layout->files[f];
        if (fe->size == 0)
            continue;
        int64_t in_file = pos - fe->offset;
        int64_t n = fe->size - in_file;
        if (n > end - pos)
            n = end - pos;
        if (count < max && out) {
            out[count].file_index = f;
            out[count].offset = in_file;
            out[count].size = n;
        }
        count++;
        pos += n;
    }
    return count;
}

bool sw__layout_file_pieces(const sw__file_layout *layout, int index, int *first_out, int *last_out)
{
    if (index < 0 || index >= layout->num_files || layout->files[index].size == 0)
        return false;
    const sw_file_entry *fe = &layout->files[index];
    if (first_out)
        *first_out = (int)(fe->offset / layout->piece_length);
    if (last_out)
        *last_out = (int)((fe->offset + fe->size - 1) / layout->piece_length);
    return true;
}
