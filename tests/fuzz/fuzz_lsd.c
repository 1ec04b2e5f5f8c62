/* Fuzzes the BEP 14 announce parser. An accepted message must hold a port
 * and 1..SW_LSD_MAX_HASHES hashes and a bounded cookie, and formatting it
 * again must parse back to the same port, hashes and cookie. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "session/lsd_msg.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_lsd: check failed: %s (line %d)\n", #cond, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_lsd_msg m;
    int rc = sw__lsd_parse(data, size, &m);
    if (rc < 0) {
        CHECK(rc == SW_ERR_PROTOCOL);
        return 0;
    }
    CHECK(m.port != 0);
    CHECK(m.num_hashes >= 1 && m.num_hashes <= SW_LSD_MAX_HASHES);
    CHECK(!m.has_cookie || strlen(m.cookie) <= SW_LSD_MAX_COOKIE);
    /* A cookie with spaces or control bytes is read but never written. */
    const char *cookie = m.has_cookie && printable(m.cookie) && m.cookie[0] ? m.cookie : NULL;
    char buf[SW_LSD_MAX_MESSAGE];
    size_t len;
    CHECK(sw__lsd_format(buf, sizeof buf, AF_INET, m.port, m.hashes, m.num_hashes, cookie, &len) ==
          0);
    sw_lsd_msg again;
    CHECK(sw__lsd_parse((const uint8_t *)buf, len, &again) == 0);
    CHECK(again.port == m.port && again.num_hashes == m.num_hashes);
    CHECK(memcmp(again.hashes, m.hashes, m.num_hashes * sizeof m.hashes[0]) == 0);
    CHECK(again.has_cookie == (cookie != NULL));
    if (cookie)
        CHECK(strcmp(again.cookie, cookie) == 0);
    return 0;
}
