/* Torrent creation: walking the source path into a sorted file list, and
 * BEP 47 pad files. The rules (what is included, symlinks, order) are stated
 * in <cswarm/create.h>. */
#include "create_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cswarm/error.h>

/* Deeper folder trees than this are refused rather than risking the stack. */
#define WALK_MAX_DEPTH 256

int sw__create_fail(sw_error_detail *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->offset = -1;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void sw__create_layout_free(sw__create_layout *layout)
{
    if (!layout)
        return;
    for (size_t i = 0; i < layout->num_files; i++) {
        free(layout->files[i].disk_path);
        free(layout->files[i].rel_path);
    }
    free(layout->files);
    memset(layout, 0, sizeof *layout);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + 1 + b + 1);
    if (!s)
        return NULL;
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, name, b + 1);
    return s;
}

/* Takes ownership of disk_path and rel_path, also on failure. */
static int layout_push(sw__create_layout *layout, char *disk_path, char *rel_path, int64_t size,
                       bool pad)
{
    if (layout->num_files == layout->cap_files) {
        size_t cap = layout->cap_files ? layout->cap_files * 2 : 16;
        sw__create_file *f = realloc(layout->files, cap * sizeof *f);
        if (!f) {
            free(disk_path);
            free(rel_path);
            return SW_ERR_NOMEM;
        }
        layout->files = f;
        layout->cap_files = cap;
    }
    layout->files[layout->num_files++] =
        (sw__create_file){.disk_path = disk_path, .rel_path = rel_path, .size = size, .pad = pad};
    return 0;
}

/* The folders currently being walked, to detect symlink cycles. */
typedef struct walk_stack {
    dev_t dev[WALK_MAX_DEPTH];
    ino_t ino[WALK_MAX_DEPTH];
    int depth;
} walk_stack;

static int walk_dir(sw__create_layout *layout, walk_stack *stack, const char *disk_dir,
                    const char *rel_dir, const struct stat *dir_st, sw_error_detail *err)
{
    for (int i = 0; i < stack->depth; i++)
        if (stack->dev[i] == dir_st->st_dev && stack->ino[i] == dir_st->st_ino)
            return sw__create_fail(err, -ELOOP, "create: '%s' links back to a folder above it",
                                   disk_dir);
    if (stack->depth == WALK_MAX_DEPTH)
        return sw__create_fail(err, SW_ERR_LIMIT, "create: folders nested too deeply at '%s'",
                               disk_dir);
    stack->dev[stack->depth] = dir_st->st_dev;
    stack->ino[stack->depth] = dir_st->st_ino;
    stack->depth++;

    int rc = 0;
    DIR *d = opendir(disk_dir);
    if (!d) {
        rc = -errno;
        sw__create_fail(err, rc, "create: cannot open folder '%s': %s", disk_dir, sw_strerror(rc));
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                rc = -errno;
                sw__create_fail(err, rc, "create: cannot read folder '%s': %s", disk_dir,
                                sw_strerror(rc));
            }
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *disk = join_path(disk_dir, de->d_name);
        char *rel = rel_dir ? join_path(rel_dir, de->d_name) : strdup(de->d_name);
        if (!disk || !rel) {
            free(disk);
            free(rel);
            rc = sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
            break;
        }
        struct stat st;
        /* stat, not lstat: links are followed, so a dangling one fails here. */
        if (stat(disk, &st) != 0) {
            rc = -errno;
            sw__create_fail(err, rc, "create: cannot stat '%s': %s", disk, sw_strerror(rc));
            free(disk);
            free(rel);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(layout, stack, disk, rel, &st, err);
            free(disk);
            free(rel);
            if (rc)
                break;
        } else if (S_ISREG(st.st_mode)) {
            rc = layout_push(layout, disk, rel, (int64_t)st.st_size, false);
            if (rc) {
                sw__create_fail(err, rc, "create: out of memory");
                break;
            }
        } else {
            /* FIFOs, sockets, devices: nothing to share. */
            free(disk);
            free(rel);
        }
    }
    if (d)
        closedir(d);
out:
    stack->depth--;
    return rc;
}

/* strcmp order of the whole relative path. */
static int cmp_whole_path(const void *a, const void *b)
{
    const sw__create_file *fa = a, *fb = b;
    return strcmp(fa->rel_path, fb->rel_path);
}

/* Component-wise order: the same as comparing the paths bytewise with '/'
 * ranked below every other byte, since a shorter component that is a prefix
 * of a longer one sorts first. */
static int cmp_components(const void *a, const void *b)
{
    const unsigned char *x = (const unsigned char *)((const sw__create_file *)a)->rel_path;
    const unsigned char *y = (const unsigned char *)((const sw__create_file *)b)->rel_path;
    for (;; x++, y++) {
        unsigned cx = *x == '/' ? 1u : (*x ? (unsigned)*x + 1u : 0u);
        unsigned cy = *y == '/' ? 1u : (*y ? (unsigned)*y + 1u : 0u);
        if (cx != cy)
            return cx < cy ? -1 : 1;
        if (!cx)
            return 0;
    }
}

static const char *last_component(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int sw__create_walk(const char *path, bool canonical_order, sw__create_layout *layout_out,
                    sw_error_detail *err)
{
    sw__create_layout layout = {0};
    struct stat st;
    if (stat(path, &st) != 0) {
        int rc = -errno;
        return sw__create_fail(err, rc, "create: cannot stat '%s': %s", path, sw_strerror(rc));
    }
    int rc = 0;
    if (S_ISREG(st.st_mode)) {
        char *disk = strdup(path);
        char *rel = strdup(last_component(path));
        rc = layout_push(&layout, disk, rel, (int64_t)st.st_size, false);
        if (!rc && (!disk || !rel))
            rc = SW_ERR_NOMEM;
        if (rc) {
            sw__create_layout_free(&layout);
            return sw__create_fail(err, rc, "create: out of memory");
        }
    } else if (S_ISDIR(st.st_mode)) {
        layout.multi_file = true;
        walk_stack *stack = calloc(1, sizeof *stack);
        if (!stack)
            return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
        rc = walk_dir(&layout, stack, path, NULL, &st, err);
        free(stack);
        if (rc) {
            sw__create_layout_free(&layout);
            return rc;
        }
        if (layout.num_files == 0)
            return sw__create_fail(err, SW_ERR_CREATE_NO_FILES,
                                   "create: no regular file under '%s'", path);
        qsort(layout.files, layout.num_files, sizeof *layout.files,
              canonical_order ? cmp_components : cmp_whole_path);
    } else {
        return sw__create_fail(err, SW_ERR_CREATE_NO_FILES,
                               "create: '%s' is neither a regular file nor a folder", path);
    }
    int64_t offset = 0;
    for (size_t i = 0; i < layout.num_files; i++) {
        layout.files[i].offset = offset;
        offset += layout.files[i].size;
    }
    layout.total_size = offset;
    *layout_out = layout;
    return 0;
}

int sw__create_add_pads(sw__create_layout *layout, int64_t piece_size, sw_error_detail *err)
{
    sw__create_layout out = {.multi_file = layout->multi_file};
    int64_t offset = 0;
    size_t i;
    for (i = 0; i < layout->num_files; i++) {
        sw__create_file *f = &layout->files[i];
        int64_t misalign = offset % piece_size;
        if (f->size > 0 && misalign != 0) {
            int64_t pad = piece_size - misalign;
            char *rel = malloc(32);
            if (!rel)
                goto nomem;
            snprintf(rel, 32, ".pad/%" PRId64, pad);
            if (layout_push(&out, NULL, rel, pad, true))
                goto nomem;
            out.files[out.num_files - 1].offset = offset;
            offset += pad;
        }
        if (layout_push(&out, f->disk_path, f->rel_path, f->size, false))
            goto nomem_moved;
        f->disk_path = f->rel_path = NULL;
        out.files[out.num_files - 1].offset = offset;
        offset += f->size;
    }
    out.total_size = offset;
    sw__create_layout_free(layout);
    *layout = out;
    return 0;

nomem_moved:
    /* layout_push freed this file's strings. */
    layout->files[i].disk_path = layout->files[i].rel_path = NULL;
nomem:
    /* Entries already moved to out are freed with it; the rest with layout. */
    sw__create_layout_free(&out);
    return sw__create_fail(err, SW_ERR_NOMEM, "create: out of memory");
}
