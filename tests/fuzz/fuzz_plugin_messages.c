/* Fuzzes the standard plugins' message parsers with the same bytes: BEP 9
 * ut_metadata, BEP 11 ut_pex and BEP 28 tracker exchange. What parses must
 * hold together: a ut_metadata piece lies inside the input, ut_pex contacts
 * are bounded and have ports, every tracker URL is acceptable, and a pex
 * message built from the parsed contacts parses back to the same contacts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SW_PLUGIN_BUILTIN 1
#include <cswarm/plugin.h>

#include "../../plugins/lt_tex/tex_msg.h"
#include "../../plugins/ut_metadata/ut_metadata_msg.h"
#include "../../plugins/ut_pex/pex_msg.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_plugin_messages: check failed: %s (line %d)\n", #cond,           \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ut_metadata(const uint8_t *data, size_t size)
{
    ut_metadata_msg m;
    if (ut_metadata_msg_parse(data, size, &m) != 0)
        return;
    CHECK(m.piece >= 0);
    CHECK(m.data >= data && m.data + m.data_len == data + size);
}

static void check_ut_pex(const uint8_t *data, size_t size)
{
    ut_pex_msg *m = malloc(sizeof *m);
    if (!m)
        return;
    if (ut_pex_msg_parse(data, size, m) == 0) {
        CHECK(m->num_added >= 0 && m->num_added <= UT_PEX_MAX_PARSED);
        CHECK(m->num_dropped >= 0 && m->num_dropped <= UT_PEX_MAX_PARSED);
        for (int i = 0; i < m->num_added; i++)
            CHECK(m->added[i].ep.port != 0);
        uint8_t *buf;
        size_t len;
        if (ut_pex_msg_build(m->added, m->num_added, m->dropped, m->num_dropped, &buf, &len) ==
            0) {
            ut_pex_msg *again = malloc(sizeof *again);
            if (again) {
                CHECK(ut_pex_msg_parse(buf, len, again) == 0);
                CHECK(again->num_added == m->num_added);
                CHECK(again->num_dropped == m->num_dropped);
                free(again);
            }
            free(buf);
        }
    }
    free(m);
}

static void check_lt_tex(const uint8_t *data, size_t size)
{
    lt_tex_msg m;
    if (lt_tex_msg_parse(data, size, &m) == 0) {
        CHECK(m.num_urls <= LT_TEX_MAX_URLS);
        for (int i = 0; i < m.num_urls; i++)
            CHECK(lt_tex_url_ok(m.urls[i], strlen(m.urls[i])));
    }
    lt_tex_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_ut_metadata(data, size);
    check_ut_pex(data, size);
    check_lt_tex(data, size);
    return 0;
}
