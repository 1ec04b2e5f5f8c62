#include "path_dedupe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/error.h>

#include "path_sanitize.h"
#include "utf8.h"

/* An open-addressing set of paths (files and folders), compared ignoring
 * ASCII case. Entries borrow their text from the file list or the arena. */
typedef struct path_entry {
    const char *s; /* NULL = empty slot */
    size_t len;
    uint64_t hash;
    /* The next counter to try when a file collides with this entry, so n
     * files of the same name cost O(n) rather than O(n^2) probes. */
    unsigned next_suffix;
} path_entry;

typedef struct path_set {
    path_entry *slots;
    size_t mask;
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
    return h;
}

static bool equal_folded(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

/* The slot holding s, or the empty slot where it would go. */
static path_entry *set_slot(path_set *set, const char *s, size_t len, uint64_t h)
{
    size_t i = (size_t)h & set->mask;
    for (;;) {
        path_entry *e = &set->slots[i];
        if (!e->s || (e->hash == h && e->len == len && equal_folded(e->s, s, len)))
            return e;
        i = (i + 1) & set->mask;
    }
}

static void set_put(path_entry *slot, const char *s, size_t len, uint64_t h)
{
    slot->s = s;
    slot->len = len;
    slot->hash = h;
    slot->next_suffix = 1;
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

int sw__paths_dedupe(sw_file_entry *files, int num_files, sw__arena *arena)
{
    /* Every file adds itself and at most one entry per folder above it. */
    size_t entries = 0;
    for (int i = 0; i < num_files; i++) {
        if (files[i].flags & SW_FILE_PAD)
            continue;
        entries++;
        for (const char *p = files[i].path; *p; p++)
            entries += *p == '/';
    }
    size_t cap = 16;
    while (cap < 2 * entries + 2)
        cap *= 2;
    path_set set = {calloc(cap, sizeof(path_entry)), cap - 1};
    if (!set.slots)
        return SW_ERR_NOMEM;

    /* Folders first, so a file can never take a folder's name. */
    for (int i = 0; i < num_files; i++) {
        if (files[i].flags & SW_FILE_PAD)
            continue;
        const char *p = files[i].path;
        for (const char *q = strchr(p, '/'); q; q = strchr(q + 1, '/')) {
            size_t len = (size_t)(q - p);
            uint64_t h = hash_folded(p, len);
            path_entry *slot = set_slot(&set, p, len, h);
            if (!slot->s)
                set_put(slot, p, len, h);
        }
    }

    int rc = 0;
    char *tmp = NULL;
    size_t tmp_cap = 0;
    for (int i = 0; i < num_files && rc == 0; i++) {
        if (files[i].flags & SW_FILE_PAD)
            continue;
        const char *p = files[i].path;
        size_t len = strlen(p);
        uint64_t h = hash_folded(p, len);
        path_entry *slot = set_slot(&set, p, len, h);
        if (!slot->s) {
            set_put(slot, p, len, h);
            continue;
        }
        path_entry *original = slot;
        if (len + 24 > tmp_cap) {
            free(tmp);
            tmp_cap = len + 24;
            tmp = malloc(tmp_cap);
            if (!tmp) {
                rc = SW_ERR_NOMEM;
                break;
            }
        }
        for (unsigned n = original->next_suffix;; n++) {
            size_t nlen = suffixed_path(p, len, n, tmp);
            uint64_t nh = hash_folded(tmp, nlen);
            path_entry *nslot = set_slot(&set, tmp, nlen, nh);
            if (nslot->s)
                continue;
            char *renamed = sw__arena_strndup(arena, tmp, nlen);
            if (!renamed) {
                rc = SW_ERR_NOMEM;
                break;
            }
            original->next_suffix = n + 1;
            set_put(nslot, renamed, nlen, nh);
            files[i].path = renamed;
            break;
        }
    }
    free(tmp);
    free(set.slots);
    return rc;
}
