/* Hybrid torrents (BEP 52 v1+v2) are used through their v1 half. They are
 * only accepted when the v2 "file tree" describes the same files as the v1
 * list, in the same order, each non-empty file starting on a piece boundary:
 * then both halves describe the same bytes and the v2 info-hash may be
 * announced for the same swarm. libtorrent refuses inconsistent hybrids too. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "torrent_info_int.h"

#define MAX_TREE_DEPTH 100

typedef struct tree_walk {
    sw_torrent_info *ti;
    sw_error_detail *err;
    int next_file;                 /* v1 cursor: next file to match */
    sw_bnode path[MAX_TREE_DEPTH]; /* keys from the root to the current node */
    int depth;
} tree_walk;

static int64_t at(sw_bnode n)
{
    return (int64_t)sw_bnode_offset(n);
}

static int bad(tree_walk *w, sw_bnode n, const char *what)
{
    return sw__metainfo_error(w->err, SW_ERR_METAINFO_BAD_V2, at(n), "file tree: %s", what);
}

/* The next v1 file that occupies a place in v2's tree (pads do not). */
static const sw_file_entry *next_v1_file(tree_walk *w)
{
    const sw__file_layout *l = &w->ti->layout;
    while (w->next_file < l->num_files && (w->ti->files[w->next_file].flags & SW_FILE_PAD))
        w->next_file++;
    return w->next_file < l->num_files ? &w->ti->files[w->next_file++] : NULL;
}

static int check_leaf(tree_walk *w, sw_bnode props)
{
    if (!sw_bnode_is(props, SW_BNODE_DICT))
        return bad(w, props, "file properties are not a dictionary");
    size_t attr_len;
    const char *attr = sw_bnode_str(sw_bnode_dict_get(props, "attr"), &attr_len);
    bool symlink = attr && memchr(attr, 'l', attr_len) != NULL;
    int64_t length = 0;
    if (!symlink) {
        if (!sw_bnode_dict_get_int(props, "length", &length) || length < 0)
            return bad(w, props, "missing or negative 'length'");
        size_t root_len = 0;
        sw_bnode_dict_get_str(props, "pieces root", NULL, &root_len);
        if (length > 0 && root_len != SW_SHA256_LEN)
            return bad(w, props, "missing or malformed 'pieces root'");
    }

    const sw_file_entry *fe = next_v1_file(w);
    if (!fe)
        return bad(w, props, "holds more files than the v1 file list");
    char *v2_path;
    int rc = sw__path_join_nodes(NULL, w->ti->multi_file ? w->ti->name : NULL, w->path,
                                 (size_t)w->depth, "_", &v2_path);
    if (rc)
        return rc;
    int index = (int)(fe - w->ti->files);
    if (strcmp(v2_path, fe->path) != 0 || fe->size != length) {
        rc = sw__metainfo_error(w->err, SW_ERR_METAINFO_BAD_V2, at(props),
                                "v1 file %d (%s, %" PRId64 " bytes) does not match the file "
                                "tree's %s (%" PRId64 " bytes)",
                                index, fe->path, fe->size, v2_path, length);
        free(v2_path);
        return rc;
    }
    free(v2_path);
    if (fe->size > 0 && fe->offset % w->ti->layout.piece_length != 0)
        return sw__metainfo_error(w->err, SW_ERR_METAINFO_BAD_V2, at(props),
                                  "v1 file %d does not start on a piece boundary", index);
    return 0;
}

static int walk(tree_walk *w, sw_bnode dir)
{
    sw_bnode *values, *keys;
    size_t n;
    int rc = sw__bnode_children(dir, &values, &keys, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t key_len;
        sw_bnode_str(keys[i], &key_len);
        if (key_len == 0 || !sw_bnode_is(values[i], SW_BNODE_DICT)) {
            rc = bad(w, values[i], "an entry has an empty name or is not a dictionary");
            break;
        }
        if (w->depth == MAX_TREE_DEPTH) {
            rc = bad(w, values[i], "nested too deeply");
            break;
        }
        w->path[w->depth++] = keys[i];
        sw_bnode k, props;
        size_t klen = 1;
        /* A file is a dictionary holding only the key "". */
        if (sw_bnode_len(values[i]) == 1 && sw_bnode_dict_at(values[i], 0, &k, &props) &&
            sw_bnode_str(k, &klen) && klen == 0)
            rc = check_leaf(w, props);
        else
            rc = walk(w, values[i]);
        w->depth--;
    }
    free(values);
    free(keys);
    return rc;
}

int sw__hybrid_check(sw_torrent_info *ti, sw_bnode info, const sw__load_limits *limits,
                     sw_error_detail *err)
{
    (void)limits;
    sw_bnode tree = sw_bnode_dict_get(info, "file tree");
    tree_walk *w = calloc(1, sizeof *w);
    if (!w)
        return SW_ERR_NOMEM;
    w->ti = ti;
    w->err = err;
    int rc = walk(w, tree);
    if (rc == 0 && next_v1_file(w) != NULL)
        rc = bad(w, tree, "holds fewer files than the v1 file list");
    free(w);
    return rc;
}
