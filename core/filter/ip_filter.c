/* The IP filter: one range map for IPv4 and one for IPv6, keyed by the
 * address read as a big-endian number. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static sw_range_key key_of(int family, const uint8_t *addr)
{
    sw_range_key k = {0, 0};
    if (family == 4) {
        k.lo = (uint64_t)addr[0] << 24 | (uint64_t)addr[1] << 16 | (uint64_t)addr[2] << 8 | addr[3];
    } else {
        k.hi = load_be64(addr);
        k.lo = load_be64(addr + 8);
    }
    return k;
}

static void bytes_of(int family, sw_range_key k, uint8_t out[16])
{
    memset(out, 0, 16);
    if (family == 4) {
        out[0] = (uint8_t)(k.lo >> 24);
        out[1] = (uint8_t)(k.lo >> 16);
        out[2] = (uint8_t)(k.lo >> 8);
        out[3] = (uint8_t)k.lo;
    } else {
        store_be64(out, k.hi);
        store_be64(out + 8, k.lo);
    }
}

static bool is_v4_mapped(const uint8_t *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, 12) == 0;
}

int sw_ip_filter_new(sw_ip_filter **f_out)
{
    if (!f_out)
        return SW_ERR_INVALID_ARG;
    sw_ip_filter *f = malloc(sizeof *f);
    if (!f)
        return SW_ERR_NOMEM;
    sw_range_key max4 = {0, UINT32_MAX}, max6 = {UINT64_MAX, UINT64_MAX};
    int rc = sw__range_map_init(&f->v4, max4);
    if (rc < 0) {
        free(f);
        return rc;
    }
    rc = sw__range_map_init(&f->v6, max6);
    if (rc < 0) {
        sw__range_map_free(&f->v4);
        free(f);
        return rc;
    }
    *f_out = f;
    return 0;
}

void sw_ip_filter_free(sw_ip_filter *f)
{
    if (!f)
        return;
    sw__range_map_free(&f->v4);
    sw__range_map_free(&f->v6);
    free(f);
}

int sw_ip_filter_clone(const sw_ip_filter *f, sw_ip_filter **f_out)
{
    if (!f || !f_out)
        return SW_ERR_INVALID_ARG;
    sw_ip_filter *c = malloc(sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    int rc = sw__range_map_copy(&c->v4, &f->v4);
    if (rc < 0) {
        free(c);
        return rc;
    }
    rc = sw__range_map_copy(&c->v6, &f->v6);
    if (rc < 0) {
        sw__range_map_free(&c->v4);
        free(c);
        return rc;
    }
    *f_out = c;
    return 0;
}

int sw_ip_filter_add_rule_bytes(sw_ip_filter *f, int family, const uint8_t *first,
                                const uint8_t *last, uint32_t flags)
{
    if (!f || !first || !last || (family != 4 && family != 6))
        return SW_ERR_INVALID_ARG;
    sw_range_map *m = family == 4 ? &f->v4 : &f->v6;
    return sw__range_map_add(m, key_of(family, first), key_of(family, last), flags);
}

/* Numeric text to a family and bytes (strict: inet_pton). */
static int parse_addr(const char *text, int *family_out, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, text, out) == 1) {
        *family_out = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out) == 1) {
        *family_out = 6;
        return 0;
    }
    return SW_ERR_INVALID_ARG;
}

int sw_ip_filter_add_rule(sw_ip_filter *f, const char *first, const char *last, uint32_t flags)
{
    if (!f || !first || !last)
        return SW_ERR_INVALID_ARG;
    int fa, fb;
    uint8_t a[16], b[16];
    if (parse_addr(first, &fa, a) < 0 || parse_addr(last, &fb, b) < 0 || fa != fb)
        return SW_ERR_INVALID_ARG;
    return sw_ip_filter_add_rule_bytes(f, fa, a, b, flags);
}

uint32_t sw__ip_filter_access_raw(const sw_ip_filter *f, int family, const uint8_t *addr)
{
    if (family == 6 && is_v4_mapped(addr))
        return sw__range_map_access(&f->v4, key_of(4, addr + 12));
    if (family == 4)
        return sw__range_map_access(&f->v4, key_of(4, addr));
    if (family == 6)
        return sw__range_map_access(&f->v6, key_of(6, addr));
    return 0;
}

bool sw__ip_filter_is_empty(const sw_ip_filter *f)
{
    return f->v4.n == 1 && f->v4.v[0].flags == 0 && f->v6.n == 1 && f->v6.v[0].flags == 0;
}

int sw_ip_filter_access(const sw_ip_filter *f, const char *addr, uint32_t *flags_out)
{
    if (!f || !addr || !flags_out)
        return SW_ERR_INVALID_ARG;
    int family;
    uint8_t a[16];
    if (parse_addr(addr, &family, a) < 0)
        return SW_ERR_INVALID_ARG;
    *flags_out = sw__ip_filter_access_raw(f, family, a);
    return 0;
}

int sw_ip_filter_export(const sw_ip_filter *f, int family, sw_ip_range **ranges_out,
                        size_t *count_out)
{
    if (!f || !ranges_out || !count_out || (family != 4 && family != 6))
        return SW_ERR_INVALID_ARG;
    const sw_range_map *m = family == 4 ? &f->v4 : &f->v6;
    sw_ip_range *v = calloc(m->n, sizeof *v);
    if (!v)
        return SW_ERR_NOMEM;
    int af = family == 4 ? AF_INET : AF_INET6;
    for (size_t i = 0; i < m->n; i++) {
        sw_ip_range *r = &v[i];
        r->family = family;
        r->flags = m->v[i].flags;
        bytes_of(family, m->v[i].start, r->first);
        bytes_of(family, sw__range_map_end(m, i), r->last);
        inet_ntop(af, r->first, r->first_str, sizeof r->first_str);
        inet_ntop(af, r->last, r->last_str, sizeof r->last_str);
    }
    *ranges_out = v;
    *count_out = m->n;
    return 0;
}
