/* The info dictionary: name, piece length and hashes, files, private flag,
 * and the v1/hybrid/v2 decision (BEP 3, 27, 52). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha.h"
#include "path_dedupe.h"
#include "path_sanitize.h"
#include "torrent_info_int.h"

/* BEP 52 pieces are powers of two of at least one 16 KiB block. */
#define V2_MIN_PIECE_LENGTH (16 * 1024)

static int64_t at(sw_bnode n)
{
    return (int64_t)sw_bnode_offset(n);
}

/* Refuses v2-only torrents and unknown meta versions; sets ti->hybrid. */
static int parse_version(sw_torrent_info *ti, sw_bnode info, sw_error_detail *err)
{
    sw_bnode version = sw_bnode_dict_get(info, "meta version");
    sw_bnode pieces = sw_bnode_dict_get(info, "pieces");
    sw_bnode tree = sw_bnode_dict_get(info, "file tree");
    int64_t v = sw_bnode_is(version, SW_BNODE_INT) ? sw_bnode_int(version) : 1;

    if (v > 2)
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_V2, at(version),
                                  "unsupported meta version %" PRId64, v);
    if (sw_bnode_is(pieces, SW_BNODE_NONE)) {
        if (v == 2 || sw_bnode_is(tree, SW_BNODE_DICT))
            return sw__metainfo_error(err, SW_ERR_METAINFO_V2_ONLY, at(info),
                                      "v2-only torrent (BEP 52): it has no v1 piece hashes, and "
                                      "only v1 and hybrid v1+v2 torrents are supported");
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_PIECES, at(info),
                                  "info dictionary has no 'pieces'");
    }
    if (!sw_bnode_is(pieces, SW_BNODE_STR))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_PIECES, at(pieces),
                                  "'pieces' is not a string");
    ti->hybrid = v == 2;
    if (ti->hybrid && !sw_bnode_is(tree, SW_BNODE_DICT))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_V2,
                                  at(sw_bnode_is(tree, SW_BNODE_NONE) ? info : tree),
                                  "meta version 2 without a 'file tree' dictionary");
    return 0;
}

static int parse_piece_length(sw_torrent_info *ti, sw_bnode info, int *out, sw_error_detail *err)
{
    sw_bnode pl = sw_bnode_dict_get(info, "piece length");
    if (!sw_bnode_is(pl, SW_BNODE_INT))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_PIECE_LENGTH,
                                  at(sw_bnode_is(pl, SW_BNODE_NONE) ? info : pl), "%s",
                                  sw_bnode_is(pl, SW_BNODE_NONE)
                                      ? "info dictionary has no 'piece length'"
                                      : "'piece length' is not an integer");
    int64_t v = sw_bnode_int(pl);
    if (v <= 0 || v > SW_TORRENT_MAX_PIECE_LENGTH)
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_PIECE_LENGTH, at(pl),
                                  "piece length %" PRId64 " is outside 1..%d", v,
                                  SW_TORRENT_MAX_PIECE_LENGTH);
    if (ti->hybrid && (v < V2_MIN_PIECE_LENGTH || (v & (v - 1)) != 0))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_V2, at(pl),
                                  "hybrid torrent with piece length %" PRId64
                                  ", not a power of two of at least 16 KiB",
                                  v);
    *out = (int)v;
    return 0;
}

/* The torrent's name as one sanitised component. A name that sanitises to
 * nothing ("", ".", "..") becomes the info-hash in hex, as libtorrent does, so
 * it still names a folder of its own. */
static int parse_name(sw_torrent_info *ti, sw_bnode info, sw_error_detail *err)
{
    sw_bnode name = sw_bnode_dict_get(info, "name.utf-8");
    if (!sw_bnode_is(name, SW_BNODE_STR))
        name = sw_bnode_dict_get(info, "name");
    if (!sw_bnode_is(name, SW_BNODE_STR))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_NAME,
                                  at(sw_bnode_is(name, SW_BNODE_NONE) ? info : name), "%s",
                                  sw_bnode_is(name, SW_BNODE_NONE) ? "info dictionary has no 'name'"
                                                                   : "'name' is not a string");
    size_t len;
    const char *s = sw_bnode_str(name, &len);
    char comp[SW_PATH_COMPONENT_MAX + 1];
    int n = sw__path_sanitize_component(s, len, comp);
    if (n < 0)
        return n;
    if (n == 0) {
        sw_hex_encode(ti->hashes.v1.v, SW_SHA1_LEN, comp);
        n = 2 * SW_SHA1_LEN;
    }
    ti->name = sw__arena_strndup(&ti->arena, comp, (size_t)n);
    return ti->name ? 0 : SW_ERR_NOMEM;
}

static int lay_out(sw_torrent_info *ti, sw_bnode info, int piece_length,
                   const sw__load_limits *limits, sw_error_detail *err)
{
    int bad = -1;
    int rc = sw__layout_init(&ti->layout, ti->files, ti->layout.num_files, piece_length, &bad);
    if (rc == SW_ERR_METAINFO_BAD_FILE_LENGTH)
        return sw__metainfo_error(err, rc, at(info),
                                  "file sizes add up to more than 2^63-1 bytes (at file %d)", bad);
    if (rc == SW_ERR_METAINFO_TOO_LARGE)
        return sw__metainfo_error(err, rc, at(info), "too many pieces for the total size");
    if (rc)
        return rc;
    if (ti->layout.total_size == 0)
        return sw__metainfo_error(err, SW_ERR_METAINFO_EMPTY, at(info),
                                  "every file is empty: the torrent holds no data");
    if (ti->layout.num_pieces > limits->max_pieces)
        return sw__metainfo_error(err, SW_ERR_METAINFO_TOO_LARGE, at(info),
                                  "%d pieces, more than the limit of %" PRId64,
                                  ti->layout.num_pieces, limits->max_pieces);
    return 0;
}

static int parse_piece_hashes(sw_torrent_info *ti, sw_bnode info, sw_error_detail *err)
{
    sw_bnode pieces = sw_bnode_dict_get(info, "pieces");
    size_t len;
    const char *hashes = sw_bnode_str(pieces, &len);
    if (len % SW_SHA1_LEN != 0)
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_PIECES, at(pieces),
                                  "'pieces' is %zu bytes, not a multiple of 20", len);
    if (len / SW_SHA1_LEN != (size_t)ti->layout.num_pieces)
        return sw__metainfo_error(err, SW_ERR_METAINFO_PIECE_COUNT, at(pieces),
                                  "'pieces' holds %zu hashes, but %" PRId64
                                  " bytes in pieces of %d need %d",
                                  len / SW_SHA1_LEN, ti->layout.total_size, ti->layout.piece_length,
                                  ti->layout.num_pieces);
    ti->piece_hashes = (const uint8_t *)hashes;
    return 0;
}

int sw__info_parse(sw_torrent_info *ti, sw_bnode info, const sw__load_limits *limits,
                   sw_error_detail *err)
{
    int piece_length = 0;
    int rc = parse_version(ti, info, err);
    if (rc == 0)
        rc = parse_piece_length(ti, info, &piece_length, err);
    if (rc == 0)
        rc = parse_name(ti, info, err);
    if (rc == 0)
        rc = sw__info_parse_files(ti, info, limits, err);
    if (rc == 0)
        rc = lay_out(ti, info, piece_length, limits, err);
    if (rc == 0)
        rc = parse_piece_hashes(ti, info, err);
    if (rc == 0 && ti->hybrid)
        rc = sw__hybrid_check(ti, info, limits, err);
    if (rc)
        return rc;

    /* BEP 27 says private=1; any non-zero value is taken as private, which
     * errs on the side of not leaking peers. */
    int64_t priv = 0;
    ti->is_private = sw_bnode_dict_get_int(info, "private", &priv) && priv != 0;

    if (ti->hybrid) {
        rc = sw__sha256(ti->info, ti->info_len, &ti->hashes.v2);
        if (rc)
            return rc;
        ti->hashes.has_v2 = true;
    }
    return sw__paths_dedupe(ti->files, ti->layout.num_files, &ti->arena);
}
