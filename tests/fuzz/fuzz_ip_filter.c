/* Fuzzes the range-list loader and the filter it fills. The input is a
 * blocklist file. Every line the loader accepts must parse the same way on
 * its own; after loading, the filter's IPv4 and IPv6 exports must be
 * canonical (ascending, contiguous from the lowest to the highest address,
 * neighbours with different flags), and each range's first and last
 * address must look up to its flags. Loading the same text into a clone
 * must give the same exports (loading is deterministic). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/ip_filter.h>

#include "filter/filter.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ip_filter: check failed: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_export(const sw_ip_filter *f, int family, sw_ip_range **out, size_t *n_out)
{
    sw_ip_range *r = NULL;
    size_t n = 0;
    CHECK(sw_ip_filter_export(f, family, &r, &n) == 0);
    CHECK(n >= 1);
    size_t alen = family == 4 ? 4 : 16;
    uint8_t zero[16] = {0}, ones[16];
    memset(ones, 0xff, sizeof ones);
    CHECK(memcmp(r[0].first, zero, alen) == 0);
    CHECK(memcmp(r[n - 1].last, ones, alen) == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(memcmp(r[i].first, r[i].last, alen) <= 0);
        /* IPv4-mapped addresses look up the IPv4 rules instead. */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (family == 4 || memcmp(r[i].first, mapped, 12) != 0)
            CHECK(sw__ip_filter_access_raw(f, family, r[i].first) == r[i].flags);
        if (family == 4 || memcmp(r[i].last, mapped, 12) != 0)
            CHECK(sw__ip_filter_access_raw(f, family, r[i].last) == r[i].flags);
        if (i > 0) {
            CHECK(r[i - 1].flags != r[i].flags);
            /* Contiguous: the previous last plus one is this first. */
            uint8_t next[16];
            memcpy(next, r[i - 1].last, alen);
            for (size_t k = alen; k > 0; k--)
                if (++next[k - 1] != 0)
                    break;
            CHECK(memcmp(next, r[i].first, alen) == 0);
        }
    }
    *out = r;
    *n_out = n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t pos = 0, accepted = 0;
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
        sw_ip_rule r;
        int rc = sw__ip_filter_parse_line(text + pos, len, &r);
        CHECK(rc == 0 || rc == 1 || rc == SW_ERR_INVALID_ARG);
        if (rc == 1) {
            CHECK(r.family == 4 || r.family == 6);
            CHECK(memcmp(r.first, r.last, r.family == 4 ? 4 : 16) <= 0);
            accepted++;
        }
        pos += len + (nl ? 1 : 0);
    }

    sw_ip_filter *f = NULL, *g = NULL;
    CHECK(sw_ip_filter_new(&f) == 0);
    sw_ip_filter_load_result res;
    CHECK(sw_ip_filter_load(f, text, size, &res) == 0);
    CHECK(res.rules == accepted);
    CHECK((res.malformed == 0) == (res.first_bad_line == 0));
    CHECK(sw_ip_filter_new(&g) == 0);
    CHECK(sw_ip_filter_load(g, text, size, NULL) == 0);
    for (int family = 4; family <= 6; family += 2) {
        sw_ip_range *a, *b;
        size_t na, nb;
        check_export(f, family, &a, &na);
        check_export(g, family, &b, &nb);
        CHECK(na == nb);
        CHECK(memcmp(a, b, na * sizeof *a) == 0);
        free(a);
        free(b);
    }
    sw_ip_filter_free(f);
    sw_ip_filter_free(g);
    return 0;
}
