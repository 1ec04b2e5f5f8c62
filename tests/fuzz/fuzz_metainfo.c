/* Fuzz target for the metainfo loader: arbitrary bytes go to
 * sw_torrent_info_load and, as a bare info dictionary, to
 * sw_torrent_info_from_info_dict. Whatever loads must keep every promise of
 * <cswarm/torrent_info.h>: safe relative paths, a contiguous layout, piece
 * count matching the size, and map_block slices that add up to each piece. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cswarm/torrent_info.h>

#include "torrent/torrent.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_metainfo: invariant failed: %s (line %d)\n", #cond, __LINE__);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_text(const char *s)
{
    if (s)
        CHECK(sw__utf8_is_valid(s, strlen(s)));
}

static void check_path(const char *path)
{
    CHECK(sw__path_is_safe(path));
    CHECK(path[0] != '/');
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p++)
        CHECK(!((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')));
}

static void walk(const sw_torrent_info *ti)
{
    const sw_info_hashes *ih = sw_torrent_info_hashes(ti);
    CHECK(ih->has_v1);
    CHECK(ih->has_v2 == sw_torrent_info_is_hybrid(ti));
    const char *name = sw_torrent_info_name(ti);
    CHECK(name && *name && !strchr(name, '/'));
    check_path(name);

    int64_t total = sw_torrent_info_total_size(ti);
    int pl = sw_torrent_info_piece_length(ti);
    int np = sw_torrent_info_num_pieces(ti);
    CHECK(total > 0 && pl > 0 && np > 0);
    CHECK((int64_t)np == (total + pl - 1) / pl);

    int nf = sw_torrent_info_num_files(ti);
    CHECK(nf >= 1);
    CHECK(sw_torrent_info_is_multi_file(ti) || nf == 1);
    int64_t offset = 0;
    for (int i = 0; i < nf; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(ti, i);
        CHECK(fe != NULL);
        check_path(fe->path);
        CHECK(fe->offset == offset && fe->size >= 0);
        offset += fe->size;
        if (fe->flags & SW_FILE_SYMLINK) {
            CHECK(fe->size == 0);
            check_path(fe->symlink_target);
        } else {
            CHECK(fe->symlink_target == NULL);
        }
        int first, last;
        if (sw_torrent_info_file_pieces(ti, i, &first, &last))
            CHECK(fe->size > 0 && 0 <= first && first <= last && last < np);
        else
            CHECK(fe->size == 0);
    }
    CHECK(offset == total);
    CHECK(sw_torrent_info_file(ti, nf) == NULL && sw_torrent_info_file(ti, -1) == NULL);

    /* Non-pad paths are unique, ignoring ASCII case; checked pairwise for
     * small torrents only, to keep the fuzzer fast. */
    for (int i = 0; i < nf && nf <= 64; i++)
        for (int j = i + 1; j < nf; j++) {
            const sw_file_entry *a = sw_torrent_info_file(ti, i);
            const sw_file_entry *b = sw_torrent_info_file(ti, j);
            if (!((a->flags | b->flags) & SW_FILE_PAD))
                CHECK(strcasecmp(a->path, b->path) != 0);
        }

    sw_file_slice slices[8];
    for (int p = 0; p < np; p++) {
        int ps = sw_torrent_info_piece_size(ti, p);
        CHECK(ps > 0 && ps <= pl);
        CHECK(sw_torrent_info_piece_hash(ti, p) != NULL);
        int need = sw_torrent_info_map_block(ti, p, 0, ps, NULL, 0);
        CHECK(need >= 1);
        sw_file_slice *out = need <= 8 ? slices : malloc((size_t)need * sizeof *out);
        CHECK(out != NULL);
        CHECK(sw_torrent_info_map_block(ti, p, 0, ps, out, need) == need);
        int64_t sum = 0;
        for (int k = 0; k < need; k++) {
            const sw_file_entry *fe = sw_torrent_info_file(ti, out[k].file_index);
            CHECK(fe != NULL && out[k].size > 0 && out[k].offset >= 0);
            CHECK(out[k].offset + out[k].size <= fe->size);
            CHECK(fe->offset + out[k].offset == (int64_t)p * pl + sum);
            sum += out[k].size;
        }
        CHECK(sum == ps);
        if (out != slices)
            free(out);
    }
    CHECK(sw_torrent_info_piece_size(ti, np) == 0);
    CHECK(sw_torrent_info_map_block(ti, np, 0, 1, slices, 8) < 0);
    CHECK(sw_torrent_info_map_block(ti, 0, 0, (int64_t)pl + 1, slices, 8) < 0);

    for (int i = 0; i < sw_torrent_info_num_trackers(ti); i++) {
        const sw_announce_entry *e = sw_torrent_info_tracker(ti, i);
        CHECK(e && e->url && *e->url && e->tier >= 0);
        check_text(e->url);
    }
    for (int i = 0; i < sw_torrent_info_num_web_seeds(ti); i++)
        check_text(sw_torrent_info_web_seed(ti, i));
    for (int i = 0; i < sw_torrent_info_num_http_seeds(ti); i++)
        check_text(sw_torrent_info_http_seed(ti, i));
    for (int i = 0; i < sw_torrent_info_num_dht_nodes(ti); i++) {
        const sw_dht_node_entry *n = sw_torrent_info_dht_node(ti, i);
        CHECK(n && n->port > 0 && n->port < 65536);
        check_text(n->host);
    }
    check_text(sw_torrent_info_comment(ti));
    check_text(sw_torrent_info_created_by(ti));
    (void)sw_torrent_info_creation_date(ti);
    (void)sw_torrent_info_is_private(ti);

    size_t info_len;
    const uint8_t *info = sw_torrent_info_info_section(ti, &info_len);
    CHECK(info && info_len >= 2 && info[0] == 'd' && info[info_len - 1] == 'e');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Small limits keep each run fast without hiding code paths. */
    sw_load_opts opts = {.max_size = 1 << 20, .max_pieces = 1 << 16, .max_files = 1 << 12};
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    if (sw_torrent_info_load(data, size, &opts, &ti, &err) == 0) {
        walk(ti);
        size_t info_len;
        const uint8_t *info = sw_torrent_info_info_section(ti, &info_len);
        /* The info section alone loads as BEP 9 metadata with the same hash. */
        sw_torrent_info *again = NULL;
        CHECK(sw_torrent_info_from_info_dict(info, info_len, &sw_torrent_info_hashes(ti)->v1, &opts,
                                             &again, NULL) == 0);
        CHECK(sw_torrent_info_num_files(again) == sw_torrent_info_num_files(ti));
        sw_torrent_info_unref(again);
        sw_torrent_info_unref(ti);
    } else {
        CHECK(err.code < 0 && err.message[0] != '\0');
        CHECK(strlen(err.message) < sizeof err.message);
    }
    ti = NULL;
    if (sw_torrent_info_from_info_dict(data, size, NULL, &opts, &ti, NULL) == 0) {
        walk(ti);
        sw_torrent_info_unref(ti);
    }
    return 0;
}
