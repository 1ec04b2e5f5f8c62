/* The file list of an info dictionary: BEP 3 "files"/"length", BEP 47
 * attributes, pad files and symlinks, with every path sanitised. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path_sanitize.h"
#include "torrent_info_int.h"

/* BitComet's pad files predate BEP 47 and are marked by name only. */
#define BITCOMET_PAD_PREFIX "_____padding_file_"

int sw__path_join_nodes(sw__arena *arena, const char *prefix, const sw_bnode *comps, size_t n,
                        const char *fallback, char **path_out)
{
    size_t prefix_len = prefix ? strlen(prefix) : 0;
    /* Each sanitised component is at most SW_PATH_COMPONENT_MAX bytes and
     * never longer than its input plus one byte. */
    size_t cap = prefix_len + 2 + (fallback ? strlen(fallback) : 0);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (!sw_bnode_str(comps[i], &len))
            return SW_ERR_METAINFO_BAD_PATH;
        cap += 1 + (len < SW_PATH_COMPONENT_MAX ? len + 1 : SW_PATH_COMPONENT_MAX);
    }
    char *buf = malloc(cap);
    if (!buf)
        return SW_ERR_NOMEM;
    size_t o = 0;
    if (prefix_len) {
        memcpy(buf, prefix, prefix_len);
        o = prefix_len;
    }
    bool any = false;
    char comp[SW_PATH_COMPONENT_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = sw_bnode_str(comps[i], &len);
        int c = sw__path_sanitize_component(s, len, comp);
        if (c < 0) {
            free(buf);
            return c;
        }
        if (c == 0)
            continue;
        if (o)
            buf[o++] = '/';
        memcpy(buf + o, comp, (size_t)c);
        o += (size_t)c;
        any = true;
    }
    if (!any) {
        if (!fallback) {
            free(buf);
            *path_out = NULL;
            return 0;
        }
        if (o)
            buf[o++] = '/';
        memcpy(buf + o, fallback, strlen(fallback));
        o += strlen(fallback);
    }
    buf[o] = '\0';
    if (!arena) {
        *path_out = buf;
        return 0;
    }
    char *path = sw__arena_strndup(arena, buf, o);
    free(buf);
    if (!path)
        return SW_ERR_NOMEM;
    *path_out = path;
    return 0;
}

static unsigned parse_attr(sw_bnode dict)
{
    unsigned flags = 0;
    size_t len;
    const char *attr = sw_bnode_str(sw_bnode_dict_get(dict, "attr"), &len);
    /* Unknown attribute characters are ignored (BEP 47). */
    for (size_t i = 0; attr && i < len; i++) {
        switch (attr[i]) {
        case 'p':
            flags |= SW_FILE_PAD;
            break;
        case 'h':
            flags |= SW_FILE_HIDDEN;
            break;
        case 'x':
            flags |= SW_FILE_EXECUTABLE;
            break;
        case 'l':
            flags |= SW_FILE_SYMLINK;
            break;
        }
    }
    return flags;
}

/* n if it is a non-empty list of strings, else a none node. */
static sw_bnode string_list(sw_bnode n)
{
    sw_bnode none = {n.doc, -1};
    size_t count = sw_bnode_len(n);
    if (!sw_bnode_is(n, SW_BNODE_LIST) || count == 0)
        return none;
    for (size_t i = 0; i < count; i++)
        if (!sw_bnode_is(sw_bnode_list_at(n, i), SW_BNODE_STR))
            return none;
    return n;
}

static int join_list(sw_torrent_info *ti, const char *prefix, sw_bnode list, const char *fallback,
                     const char **path_out)
{
    sw_bnode *comps;
    size_t n;
    int rc = sw__bnode_children(list, &comps, NULL, &n);
    if (rc)
        return rc;
    char *path = NULL;
    rc = sw__path_join_nodes(&ti->arena, prefix, comps, n, fallback, &path);
    if (rc == 0)
        *path_out = path;
    free(comps);
    return rc;
}

/* BEP 47 symlinks: the target is relative to the torrent's root, so it is
 * given in the same coordinates as file paths (under the name folder for a
 * multi-file torrent). A symlink without a usable target is a plain file.
 * Symlinks take no room in the torrent's data, whatever "length" says. */
static int parse_symlink(sw_torrent_info *ti, sw_bnode dict, const char *root, sw_file_entry *fe)
{
    if (!(fe->flags & SW_FILE_SYMLINK))
        return 0;
    sw_bnode target = string_list(sw_bnode_dict_get(dict, "symlink path"));
    const char *path = NULL;
    if (sw_bnode_is(target, SW_BNODE_LIST)) {
        int rc = join_list(ti, root, target, NULL, &path);
        if (rc)
            return rc;
    }
    if (!path) {
        fe->flags &= ~(unsigned)SW_FILE_SYMLINK;
        return 0;
    }
    fe->symlink_target = path;
    return 0;
}

static int parse_length(sw_bnode dict, const sw_file_entry *fe, int index, int64_t *size_out,
                        sw_error_detail *err)
{
    if (fe->flags & SW_FILE_SYMLINK) {
        *size_out = 0;
        return 0;
    }
    sw_bnode len = sw_bnode_dict_get(dict, "length");
    if (!sw_bnode_is(len, SW_BNODE_INT))
        return sw__metainfo_error(
            err, SW_ERR_METAINFO_BAD_FILE_LENGTH,
            (int64_t)sw_bnode_offset(sw_bnode_is(len, SW_BNODE_NONE) ? dict : len), "file %d: %s",
            index, sw_bnode_is(len, SW_BNODE_NONE) ? "no 'length'" : "'length' is not an integer");
    int64_t v = sw_bnode_int(len);
    if (v < 0)
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_FILE_LENGTH,
                                  (int64_t)sw_bnode_offset(len),
                                  "file %d: negative length %" PRId64, index, v);
    *size_out = v;
    return 0;
}

static bool last_component_starts_with(const char *path, const char *prefix)
{
    const char *last = strrchr(path, '/');
    last = last ? last + 1 : path;
    return strncmp(last, prefix, strlen(prefix)) == 0;
}

static int parse_file(sw_torrent_info *ti, sw_bnode dict, int index, sw_file_entry *fe,
                      sw_error_detail *err)
{
    if (!sw_bnode_is(dict, SW_BNODE_DICT))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_FILES, (int64_t)sw_bnode_offset(dict),
                                  "file %d is not a dictionary", index);
    fe->flags = parse_attr(dict);
    int rc = parse_symlink(ti, dict, ti->name, fe);
    if (rc)
        return rc;
    rc = parse_length(dict, fe, index, &fe->size, err);
    if (rc)
        return rc;
    sw_bnode_dict_get_int(dict, "mtime", &fe->mtime);

    /* Prefer the UTF-8 variant when it is usable: it is more likely to be
     * correctly encoded. */
    sw_bnode path = string_list(sw_bnode_dict_get(dict, "path.utf-8"));
    if (sw_bnode_is(path, SW_BNODE_NONE))
        path = sw_bnode_dict_get(dict, "path");
    if (sw_bnode_is(path, SW_BNODE_LIST) && sw_bnode_len(path) > 0) {
        rc = join_list(ti, ti->name, path, "_", &fe->path);
        if (rc == SW_ERR_METAINFO_BAD_PATH)
            return sw__metainfo_error(err, rc, (int64_t)sw_bnode_offset(path),
                                      "file %d: path holds a non-string", index);
        if (rc)
            return rc;
    } else if (fe->flags & SW_FILE_PAD) {
        /* BEP 47 lets pad files omit their path. */
        char pad[64];
        snprintf(pad, sizeof pad, "%s/.pad/%" PRId64, ti->name, fe->size);
        fe->path = sw__arena_strndup(&ti->arena, pad, strlen(pad));
        if (!fe->path)
            return SW_ERR_NOMEM;
    } else {
        sw_bnode at = sw_bnode_is(path, SW_BNODE_NONE) ? dict : path;
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_PATH, (int64_t)sw_bnode_offset(at),
                                  "file %d: %s", index,
                                  sw_bnode_is(path, SW_BNODE_NONE)   ? "no 'path'"
                                  : sw_bnode_is(path, SW_BNODE_LIST) ? "empty 'path'"
                                                                     : "'path' is not a list");
    }
    if (last_component_starts_with(fe->path, BITCOMET_PAD_PREFIX))
        fe->flags |= SW_FILE_PAD;
    return 0;
}

static int parse_single_file(sw_torrent_info *ti, sw_bnode info, sw_error_detail *err)
{
    sw_file_entry *fe = sw__arena_calloc(&ti->arena, 1, sizeof *fe);
    if (!fe)
        return SW_ERR_NOMEM;
    fe->path = ti->name;
    fe->flags = parse_attr(info);
    int rc = parse_symlink(ti, info, NULL, fe);
    if (rc)
        return rc;
    sw_bnode len = sw_bnode_dict_get(info, "length");
    if (sw_bnode_is(len, SW_BNODE_NONE) && !(fe->flags & SW_FILE_SYMLINK))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_FILES, (int64_t)sw_bnode_offset(info),
                                  "info dictionary has neither 'files' nor 'length'");
    rc = parse_length(info, fe, 0, &fe->size, err);
    if (rc)
        return rc;
    sw_bnode_dict_get_int(info, "mtime", &fe->mtime);
    ti->files = fe;
    ti->layout.num_files = 1;
    ti->multi_file = false;
    return 0;
}

int sw__info_parse_files(sw_torrent_info *ti, sw_bnode info, const sw__load_limits *limits,
                         sw_error_detail *err)
{
    sw_bnode files = sw_bnode_dict_get(info, "files");
    if (sw_bnode_is(files, SW_BNODE_NONE))
        return parse_single_file(ti, info, err);
    if (!sw_bnode_is(files, SW_BNODE_LIST))
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_FILES, (int64_t)sw_bnode_offset(files),
                                  "'files' is not a list");
    size_t n = sw_bnode_len(files);
    if (n == 0)
        return sw__metainfo_error(err, SW_ERR_METAINFO_BAD_FILES, (int64_t)sw_bnode_offset(files),
                                  "'files' is empty");
    if (n > (size_t)limits->max_files)
        return sw__metainfo_error(err, SW_ERR_METAINFO_TOO_LARGE, (int64_t)sw_bnode_offset(files),
                                  "%zu files, more than the limit of %d", n, limits->max_files);
    sw_bnode *nodes;
    int rc = sw__bnode_children(files, &nodes, NULL, &n);
    if (rc)
        return rc;
    ti->files = sw__arena_calloc(&ti->arena, n, sizeof *ti->files);
    if (!ti->files) {
        free(nodes);
        return SW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = parse_file(ti, nodes[i], (int)i, &ti->files[i], err);
    free(nodes);
    if (rc)
        return rc;
    ti->layout.num_files = (int)n;
    ti->multi_file = true;
    return 0;
}
