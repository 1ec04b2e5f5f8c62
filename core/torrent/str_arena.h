/* A bump allocator for the many small strings and arrays a loaded torrent
 * holds. Everything allocated from one arena is freed at once by
 * sw__arena_free; pointers never move. One thread at a time. */
#ifndef SW_CORE_TORRENT_STR_ARENA_H
#define SW_CORE_TORRENT_STR_ARENA_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/torrent/str_arena.h is internal to cswarm"
#endif
#endif

#include <stddef.h>

typedef struct sw__arena_block sw__arena_block;

typedef struct sw__arena {
    sw__arena_block *head; /* the block being filled; older blocks follow */
} sw__arena;

#define SW__ARENA_INIT                                                                             \
    {                                                                                              \
        NULL                                                                                       \
    }

/* n bytes aligned for any scalar type, uninitialised; NULL when out of
 * memory or n overflows. n == 0 returns a valid unique pointer. */
void *sw__arena_alloc(sw__arena *a, size_t n);
/* Like sw__arena_alloc, but zero-filled and for count elements of size each. */
void *sw__arena_calloc(sw__arena *a, size_t count, size_t size);
/* A NUL-terminated copy of s[0..len). */
char *sw__arena_strndup(sw__arena *a, const char *s, size_t len);
void sw__arena_free(sw__arena *a);

#endif
