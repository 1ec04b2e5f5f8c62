/* core/filter: the IP and port filters (public API in
 * <cswarm/ip_filter.h>) and the range map behind them. This is the module's
 * one public face inside core/. Not for embedders or plugins.
 *
 * A range map gives every key of [0, max] a flags word. It is stored as the
 * sorted start keys of its ranges with their flags: the first start is
 * always 0, and neighbouring ranges never share flags, so the map is the
 * fewest ranges that describe it. Keys are 128-bit (hi, lo) so one map type
 * serves IPv4 (max 2^32-1), IPv6 (max 2^128-1) and ports (max 65535).
 *
 * Threading: plain data, no locking. */
#ifndef SW_CORE_FILTER_H
#define SW_CORE_FILTER_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/filter/filter.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/ip_filter.h>

typedef struct sw_range_key {
    uint64_t hi, lo;
} sw_range_key;

typedef struct sw_range_entry {
    sw_range_key start;
    uint32_t flags;
} sw_range_entry;

typedef struct sw_range_map {
    sw_range_entry *v; /* sorted by start; v[0].start == 0 */
    size_t n, cap;
    sw_range_key max; /* the largest key */
} sw_range_map;

/* range_map.c */
/* One range [0, max] with flags 0. */
int sw__range_map_init(sw_range_map *m, sw_range_key max);
void sw__range_map_free(sw_range_map *m);
int sw__range_map_copy(sw_range_map *dst, const sw_range_map *src);
/* Sets the flags of [first, last]; SW_ERR_INVALID_ARG if first > last or
 * last > max. */
int sw__range_map_add(sw_range_map *m, sw_range_key first, sw_range_key last, uint32_t flags);
uint32_t sw__range_map_access(const sw_range_map *m, sw_range_key key);
/* The last key of range i (the next start minus one, or max). */
sw_range_key sw__range_map_end(const sw_range_map *m, size_t i);
int sw__range_key_cmp(sw_range_key a, sw_range_key b);

struct sw_ip_filter {
    sw_range_map v4, v6;
};

struct sw_port_filter {
    sw_range_map ports;
};

/* ip_filter.c */
/* The flags of a binary address: family 4 (4 bytes) or 6 (16 bytes, an
 * IPv4-mapped one is looked up as IPv4). Unknown families are allowed. */
uint32_t sw__ip_filter_access_raw(const sw_ip_filter *f, int family, const uint8_t *addr);
/* Whether any address has flags other than 0. */
bool sw__ip_filter_is_empty(const sw_ip_filter *f);

/* ip_filter_load.c: one line of a range list. */
typedef struct sw_ip_rule {
    int family; /* 4 or 6 */
    uint8_t first[16], last[16];
    uint32_t flags;
} sw_ip_rule;

/* Longest line sw__ip_filter_parse_line reads. */
#define SW_IP_FILTER_MAX_LINE 1024

/* Reads one line (no newline; a trailing '\r' is ignored): 1 with *out
 * filled, 0 for a blank or comment line, SW_ERR_INVALID_ARG if malformed. */
int sw__ip_filter_parse_line(const char *line, size_t len, sw_ip_rule *out);

#endif
