/* Fuzzes the Content-Range parser of web seed answers. Whatever it accepts
 * must satisfy FIRST <= LAST (< TOTAL when known), and printing the values
 * back in canonical form must parse to the same numbers. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cswarm/error.h>

#include "peer/web_seed.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_content_range: check failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t first, last, total;
    int rc = sw__http_parse_content_range((const char *)data, size, &first, &last, &total);
    if (rc != 0) {
        CHECK(rc == SW_ERR_INVALID_ARG);
        return 0;
    }
    CHECK(first >= 0 && first <= last);
    CHECK(total == -1 || (total > last));
    char again[96];
    int n = total < 0
                ? snprintf(again, sizeof again, "bytes %" PRId64 "-%" PRId64 "/*", first, last)
                : snprintf(again, sizeof again, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, first,
                           last, total);
    CHECK(n > 0 && (size_t)n < sizeof again);
    int64_t f2, l2, t2;
    CHECK(sw__http_parse_content_range(again, (size_t)n, &f2, &l2, &t2) == 0);
    CHECK(f2 == first && l2 == last && t2 == total);
    return 0;
}
