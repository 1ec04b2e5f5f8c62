#include "str_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A one-file torrent needs about a hundred bytes of strings: the first block is
 * small (a session may hold tens of thousands of torrents) and each next one
 * doubles up to 64 KiB, so a million-file torrent still costs a few thousand
 * mallocs, not a million. */
#define FIRST_BLOCK_SIZE 128u
#define BLOCK_SIZE (64u * 1024u)
#define ALIGN 16u

struct sw__arena_block {
    sw__arena_block *next;
    size_t used;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

static sw__arena_block *block_new(size_t cap, sw__arena_block *next)
{
    if (cap > SIZE_MAX - sizeof(sw__arena_block))
        return NULL;
    sw__arena_block *b = malloc(sizeof *b + cap);
    if (!b)
        return NULL;
    b->next = next;
    b->used = 0;
    b->cap = cap;
    return b;
}

void *sw__arena_alloc(sw__arena *a, size_t n)
{
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0)
        need = ALIGN;
    sw__arena_block *b = a->head;
    if (!b || b->cap - b->used < need) {
        if (need > BLOCK_SIZE / 4) {
            /* A large request gets a block of its own, linked behind the
             * current one so the current block's free space is not lost. */
            sw__arena_block *big = block_new(need, b ? b->next : NULL);
            if (!big)
                return NULL;
            big->used = need;
            if (b)
                b->next = big;
            else
                a->head = big;
            return big->data;
        }
        size_t cap = b ? b->cap * 2 : FIRST_BLOCK_SIZE;
        if (cap > BLOCK_SIZE)
            cap = BLOCK_SIZE;
        while (cap < need)
            cap *= 2;
        b = block_new(cap, a->head);
        if (!b)
            return NULL;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *sw__arena_calloc(sw__arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = sw__arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *sw__arena_strndup(sw__arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = sw__arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void sw__arena_free(sw__arena *a)
{
    sw__arena_block *b = a->head;
    while (b) {
        sw__arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
