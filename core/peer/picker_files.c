/* Piece picker: file priorities to piece priorities. */
#include "picker_internal.h"

int sw__picker_file_priorities(const sw_picker_file_range *files, int num_files, int piece_length,
                               int num_pieces, uint8_t *piece_prio_out)
{
    if (piece_length < 1 || num_pieces < 1 || num_files < 0 || (num_files > 0 && !files) ||
        !piece_prio_out)
        return SW_ERR_INVALID_ARG;
    int64_t span = (int64_t)num_pieces * piece_length;
    /* Check everything first so the output is only written on success. */
    for (int f = 0; f < num_files; f++) {
        const sw_picker_file_range *fr = &files[f];
        if (fr->priority < 0 || fr->priority > SW_PICKER_PRIORITY_MAX || fr->offset < 0 ||
            fr->size < 0 || fr->offset > span || fr->size > span - fr->offset)
            return SW_ERR_INVALID_ARG;
    }
    for (int i = 0; i < num_pieces; i++)
        piece_prio_out[i] = 0;
    /* Files are contiguous, so this touches each piece about once plus one
     * per file boundary. */
    for (int f = 0; f < num_files; f++) {
        const sw_picker_file_range *fr = &files[f];
        if (fr->pad || fr->size == 0 || fr->priority == 0)
            continue;
        int64_t first = fr->offset / piece_length;
        int64_t last = (fr->offset + fr->size - 1) / piece_length;
        for (int64_t i = first; i <= last; i++)
            if (piece_prio_out[i] < fr->priority)
                piece_prio_out[i] = (uint8_t)fr->priority;
    }
    return 0;
}
