/* The read-only accessors of sw_torrent_info. A loaded torrent never
 * changes, so these need no locking. */
#include "torrent.h"
#include "torrent_info_int.h"

const sw_info_hashes *sw_torrent_info_hashes(const sw_torrent_info *ti)
{
    return &ti->hashes;
}

const char *sw_torrent_info_name(const sw_torrent_info *ti)
{
    return ti->name;
}

int64_t sw_torrent_info_total_size(const sw_torrent_info *ti)
{
    return ti->layout.total_size;
}

int sw_torrent_info_piece_length(const sw_torrent_info *ti)
{
    return ti->layout.piece_length;
}

int sw_torrent_info_num_pieces(const sw_torrent_info *ti)
{
    return ti->layout.num_pieces;
}

int sw_torrent_info_piece_size(const sw_torrent_info *ti, int piece)
{
    return sw__layout_piece_size(&ti->layout, piece);
}

const uint8_t *sw_torrent_info_piece_hash(const sw_torrent_info *ti, int piece)
{
    if (piece < 0 || piece >= ti->layout.num_pieces)
        return NULL;
    return ti->piece_hashes + (size_t)piece * SW_SHA1_LEN;
}

int sw_torrent_info_num_files(const sw_torrent_info *ti)
{
    return ti->layout.num_files;
}

const sw_file_entry *sw_torrent_info_file(const sw_torrent_info *ti, int index)
{
    if (index < 0 || index >= ti->layout.num_files)
        return NULL;
    return &ti->files[index];
}

bool sw_torrent_info_is_multi_file(const sw_torrent_info *ti)
{
    return ti->multi_file;
}

bool sw_torrent_info_is_hybrid(const sw_torrent_info *ti)
{
    return ti->hybrid;
}

int sw_torrent_info_map_block(const sw_torrent_info *ti, int piece, int64_t offset, int64_t size,
                              sw_file_slice *out, int max)
{
    return sw__layout_map_block(&ti->layout, piece, offset, size, out, max);
}

bool sw_torrent_info_file_pieces(const sw_torrent_info *ti, int index, int *first_out,
                                 int *last_out)
{
    return sw__layout_file_pieces(&ti->layout, index, first_out, last_out);
}

int sw_torrent_info_num_trackers(const sw_torrent_info *ti)
{
    return ti->num_trackers;
}

const sw_announce_entry *sw_torrent_info_tracker(const sw_torrent_info *ti, int i)
{
    return i >= 0 && i < ti->num_trackers ? &ti->trackers[i] : NULL;
}

int sw_torrent_info_num_web_seeds(const sw_torrent_info *ti)
{
    return ti->num_web_seeds;
}

const char *sw_torrent_info_web_seed(const sw_torrent_info *ti, int i)
{
    return i >= 0 && i < ti->num_web_seeds ? ti->web_seeds[i] : NULL;
}

int sw_torrent_info_num_http_seeds(const sw_torrent_info *ti)
{
    return ti->num_http_seeds;
}

const char *sw_torrent_info_http_seed(const sw_torrent_info *ti, int i)
{
    return i >= 0 && i < ti->num_http_seeds ? ti->http_seeds[i] : NULL;
}

int sw_torrent_info_num_dht_nodes(const sw_torrent_info *ti)
{
    return ti->num_dht_nodes;
}

const sw_dht_node_entry *sw_torrent_info_dht_node(const sw_torrent_info *ti, int i)
{
    return i >= 0 && i < ti->num_dht_nodes ? &ti->dht_nodes[i] : NULL;
}

bool sw_torrent_info_is_private(const sw_torrent_info *ti)
{
    return ti->is_private;
}

int64_t sw_torrent_info_creation_date(const sw_torrent_info *ti)
{
    return ti->creation_date;
}

const char *sw_torrent_info_comment(const sw_torrent_info *ti)
{
    return ti->comment;
}

const char *sw_torrent_info_created_by(const sw_torrent_info *ti)
{
    return ti->created_by;
}

const uint8_t *sw_torrent_info_info_section(const sw_torrent_info *ti, size_t *len_out)
{
    if (len_out)
        *len_out = ti->info_len;
    return ti->info;
}

const uint8_t *sw_torrent_info_metainfo(const sw_torrent_info *ti, size_t *len_out)
{
    if (len_out)
        *len_out = ti->has_metainfo ? ti->buf_len : 0;
    return ti->has_metainfo ? ti->buf : NULL;
}

const sw__file_layout *sw__torrent_info_layout(const sw_torrent_info *ti)
{
    return &ti->layout;
}
