/* Fuzzes the NAT-PMP reply parser: an accepted reply has a known op, and
 * a successful mapping or address reply had all its bytes present. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/natpmp_msg.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_natpmp: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_natpmp_reply r;
    int rc = sw__natpmp_parse_reply(data, size, &r);
    if (rc < 0) {
        CHECK(rc == SW_ERR_PROTOCOL);
        return 0;
    }
    CHECK(size >= 8 && data[0] == 0 && data[1] >= 128);
    CHECK(r.op <= SW_NATPMP_OP_MAP_TCP && r.op == data[1] - 128);
    if (r.result == 0)
        CHECK(size >= (r.op == SW_NATPMP_OP_EXTERNAL ? 12u : 16u));
    CHECK(sw__natpmp_result_text(r.result) != NULL);
    return 0;
}
