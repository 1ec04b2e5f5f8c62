#include "path_dedupe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/error.h>

#include "path_sanitize.h"
#include "utf8.h"

/* A set of paths (files and folders), compared ignoring ASCII case. Entries
 * live in a growing array and borrow their text from the file list or the
 * arena; the open-addressing table holds only entry numbers, which keeps it
 * small and cache-friendly for torrents with many files. */
typedef struct path_entry {
    const char *s;
    size_t len;
    uint64_t hash;
    /* The next counter to try when a file collides with this entry, so n
     * files of the same name cost O(n) rather than O(n^2) probes. */
    unsigned next_suffix;
} path_entry;

typedef struct path_set {
    uint32_t *slots; /* entry number + 1; 0 = empty */
    size_t mask;
    path_entry *entries;
    size_t count;
    size_t cap;
} path_set;

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static uint64_t hash_folded(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= fold((unsigned char)s[i]);
        h *= 0x100000001b3u;
    }
    return h ^ (h >> 29); /* the table indexes by low bits */
}

static bool equal_folded(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

/* The slot holding s, or the empty slot where it would go. */
static uint32_t *set_slot(const path_set *set, const char *s, size_t len, uint64_t h)
{
    size_t i = (size_t)h & set->mask;
    for (;;) {
        uint32_t *slot = &set->slots[i];
        if (*slot == 0)
            return slot;
        const path_entry *e = &set->entries[*slot - 1];
        if (e->hash == h && e->len == len && equal_folded(e->s, s, len))
            return slot;
        i = (i + 1) & set->mask;
    }
}

static int set_grow(path_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 1024;
    if (cap > UINT32_MAX / 2)
        return SW_ERR_NOMEM;
    path_entry *entries = realloc(set->entries, cap * sizeof *entries);
    if (!entries)
        return SW_ERR_NOMEM;
    set->entries = entries;
    set->cap = cap;
    /* Keep the table at most half full. */
    size_t slots = 2 * cap;
    uint32_t *table = calloc(slots, sizeof *table);
    if (!table)
        return SW_ERR_NOMEM;
    free(set->slots);
    set->slots = table;
    set->mask = slots - 1;
    for (size_t i = 0; i < set->count; i++) {
        const path_entry *e = &set->entries[i];
        *set_slot(set, e->s, e->len, e->hash) = (uint32_t)i + 1;
    }
    return 0;
}

/* Adds s unless present. Returns 0 or SW_ERR_NOMEM. */
static int set_add(path_set *set, const char *s, size_t len, uint64_t h)
{
    if (*set_slot(set, s, len, h) != 0)
        return 0;
    if (set->count == set->cap) {
        int rc = set_grow(set);
        if (rc)
            return rc;
    }
    set->entries[set->count] = (path_entry){s, len, h, 1};
    set->count++;
    *set_slot(set, s, len, h) = (uint32_t)set->count;
    return 0;
}

/* Builds "<dir/><stem>.<n><ext>" for path, cutting the stem so the last
 * component stays within SW_PATH_COMPONENT_MAX bytes. out must hold
 * strlen(path) + 24 bytes. */
static size_t suffixed_path(const char *path, size_t len, unsigned n, char *out)
{
    const char *slash = memrchr(path, '/', len);
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *last = path + dir_len;
    size_t last_len = len - dir_len;
    size_t ext = sw__path_extension_start(last, last_len);
    size_t ext_len = last_len - ext;

    char counter[16];
    int clen = snprintf(counter, sizeof counter, ".%u", n);
    size_t room = SW_PATH_COMPONENT_MAX - ext_len - (size_t)clen;
    size_t stem = sw__utf8_floor(last, ext, room);

    size_t o = 0;
    memcpy(out + o, path, dir_len + stem);
    o += dir_len + stem;
    memcpy(out + o, counter, (size_t)clen);
    o += (size_t)clen;
    memcpy(out + o, last + ext, ext_len);
    o += ext_len;
    out[o] = '\0';
    return o;
}

/* Adds every folder above path ("a", "a/b" for "a/b/c"). */
static int add_folders(path_set *set, const char *path)
{
    for (const char *q = strchr(path, '/'); q; q = strchr(q + 1, '/')) {
        size_t len = (size_t)(q - path);
        int rc = set_add(set, path, len, hash_folded(path, len));
        if (rc)
            return rc;
    }
    return 0;
}

/* Renames file fe, which collides with entry number `hit`, to the first free
 * "stem.N.ext". */
static int rename_file(path_set *set, size_t hit, sw_file_entry *fe, sw__arena *arena)
{
    size_t len = strlen(fe->path);
    char *tmp = malloc(len + 24);
    if (!tmp)
        return SW_ERR_NOMEM;
    int rc = 0;
    for (unsigned n = set->entries[hit].next_suffix;; n++) {
        size_t nlen = suffixed_path(fe->path, len, n, tmp);
        uint64_t nh = hash_folded(tmp, nlen);
        if (*set_slot(set, tmp, nlen, nh) != 0)
            continue;
        char *renamed = sw__arena_strndup(arena, tmp, nlen);
        if (!renamed) {
            rc = SW_ERR_NOMEM;
            break;
        }
        set->entries[hit].next_suffix = n + 1;
        rc = set_add(set, renamed, nlen, nh);
        fe->path = renamed;
        break;
    }
    free(tmp);
    return rc;
}

int sw__paths_dedupe(sw_file_entry *files, int num_files, sw__arena *arena)
{
    path_set set = {0};
    int rc = set_grow(&set);

    /* Folders first, so a file can never take a folder's name. Files of one
     * folder usually come together: skip the walk when the folder is the
     * previous file's. */
    const char *prev = NULL;
    size_t prev_dir = 0;
    for (int i = 0; rc == 0 && i < num_files; i++) {
        if (files[i].flags & SW_FILE_PAD)
            continue;
        const char *p = files[i].path;
        const char *slash = strrchr(p, '/');
        size_t dir = slash ? (size_t)(slash - p) : 0;
        if (prev && dir == prev_dir && memcmp(p, prev, dir) == 0)
            continue;
        rc = add_folders(&set, p);
        prev = p;
        prev_dir = dir;
    }

    for (int i = 0; rc == 0 && i < num_files; i++) {
        if (files[i].flags & SW_FILE_PAD)
            continue;
        const char *p = files[i].path;
        size_t len = strlen(p);
        uint64_t h = hash_folded(p, len);
        uint32_t hit = *set_slot(&set, p, len, h);
        if (hit == 0)
            rc = set_add(&set, p, len, h);
        else
            rc = rename_file(&set, hit - 1, &files[i], arena);
    }
    free(set.slots);
    free(set.entries);
    return rc;
}
