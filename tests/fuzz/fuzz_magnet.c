/* Fuzzes the magnet link parser. Every accepted link must write back
 * (sw_magnet_to_string) and re-parse to an equal magnet with the same hashes
 * and counts, and writing that again must give the same text. Rejected links
 * must come with a filled, bounded error. The base32 decoder gets the same
 * bytes: whatever it accepts must re-encode to the input, up to case and
 * padding. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/magnet.h>

#include "base/base.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_magnet: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_base32(const uint8_t *data, size_t size)
{
    if (size > 256)
        return;
    uint8_t out[256];
    size_t n;
    if (sw__base32_decode((const char *)data, size, out, sizeof out, &n) != 0)
        return;
    char enc[512];
    size_t unpadded = size;
    while (unpadded > 0 && data[unpadded - 1] == '=')
        unpadded--;
    sw__base32_encode(out, n, unpadded != size, enc);
    CHECK(strlen(enc) == size);
    for (size_t i = 0; i < size; i++)
        CHECK(enc[i] == toupper(data[i]));
}

static void check_same(const sw_magnet *a, const sw_magnet *b)
{
    const sw_info_hashes *ha = sw_magnet_hashes(a), *hb = sw_magnet_hashes(b);
    CHECK(ha->has_v1 == hb->has_v1 && ha->has_v2 == hb->has_v2);
    CHECK(ha->has_v1 || ha->has_v2);
    CHECK(!ha->has_v1 || memcmp(ha->v1.v, hb->v1.v, SW_SHA1_LEN) == 0);
    CHECK(!ha->has_v2 || memcmp(ha->v2.v, hb->v2.v, SW_SHA256_LEN) == 0);
    CHECK(sw_magnet_num_trackers(a) == sw_magnet_num_trackers(b));
    CHECK(sw_magnet_num_web_seeds(a) == sw_magnet_num_web_seeds(b));
    CHECK(sw_magnet_num_peers(a) == sw_magnet_num_peers(b));
    CHECK(sw_magnet_num_select_ranges(a) == sw_magnet_num_select_ranges(b));
    CHECK(sw_magnet_equal(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_base32(data, size);

    sw_magnet *m = NULL;
    sw_error_detail err;
    int rc = sw_magnet_parse((const char *)data, size, &m, &err);
    if (rc != 0) {
        CHECK(rc < 0 && err.code == rc && m == NULL);
        CHECK(err.offset >= -1 && err.offset <= (int64_t)size);
        size_t msg_len = strnlen(err.message, sizeof err.message);
        CHECK(msg_len > 0 && msg_len < sizeof err.message);
        CHECK(strchr(err.message, '\n') == NULL);
        return 0;
    }
    CHECK(err.code == 0);
    CHECK(sw_magnet_num_trackers(m) <= SW_MAGNET_MAX_TRACKERS);
    CHECK(sw_magnet_num_select_ranges(m) <= SW_MAGNET_MAX_SELECT_RANGES);
    for (int i = 1; i < sw_magnet_num_select_ranges(m); i++)
        CHECK(sw_magnet_select_range(m, i - 1)->last + 1 < sw_magnet_select_range(m, i)->first);

    char *link = NULL;
    size_t len = 0;
    CHECK(sw_magnet_to_string(m, &link, &len) == 0);
    CHECK(len <= SW_MAGNET_MAX_LEN && strlen(link) == len);

    sw_magnet *back = NULL;
    rc = sw_magnet_parse(link, len, &back, &err);
    if (rc != 0)
        fprintf(stderr, "fuzz_magnet: re-parse failed: %s at %lld: %s\n", err.message,
                (long long)err.offset, link);
    CHECK(rc == 0);
    check_same(m, back);

    char *again = NULL;
    CHECK(sw_magnet_to_string(back, &again, NULL) == 0);
    CHECK(strcmp(link, again) == 0);

    sw_magnet *copy = NULL;
    CHECK(sw_magnet_clone(m, &copy) == 0);
    check_same(m, copy);

    free(again);
    free(link);
    sw_magnet_free(copy);
    sw_magnet_free(back);
    sw_magnet_free(m);
    return 0;
}
