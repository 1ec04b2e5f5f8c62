/* Fuzz target for loading saved settings (session load_state reads this from
 * a file it does not trust). Beyond "no crash", it checks:
 *  - a failed load changes nothing (all or nothing);
 *  - a successful load survives a round trip: saving everything and loading
 *    it into fresh settings gives the same values, and saving only the
 *    non-default values does too;
 *  - the same bytes given as a --set assignment never crash, and a failed
 *    assignment changes nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/settings.h>

#include "base/base.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_settings_state: invariant failed: %s (line %d)\n", #cond,        \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const sw_settings *a, const sw_settings *b)
{
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        if (!sw__settings_same(a, b, (sw_setting_id)i))
            return false;
    }
    return true;
}

static void check_round_trip(const sw_settings *s, unsigned flags)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(sw_settings_save_buf(s, SW_SETTINGS_CAT_ALL, flags, &buf, &len) == 0);
    sw_settings *t = NULL;
    CHECK(sw_settings_new(&t) == 0);
    CHECK(sw_settings_load_buf(t, buf, len, SW_SETTINGS_CAT_ALL, NULL) == 0);
    CHECK(same(s, t));
    sw_settings_free(t);
    free(buf);
}

static void fuzz_load(const uint8_t *data, size_t size)
{
    sw_settings *s = NULL, *before = NULL;
    CHECK(sw_settings_new(&s) == 0);
    /* Start from non-default values so "nothing changed" is meaningful. */
    CHECK(sw_settings_set_int(s, SW_SET_ACTIVE_DOWNLOADS, 42) == 0);
    CHECK(sw_settings_set_str(s, SW_SET_USER_AGENT, "fuzz") == 0);
    CHECK(sw_settings_copy(s, &before) == 0);

    /* Category selection from the first byte, so filtering is fuzzed too. */
    uint32_t categories = size > 0 && (data[0] & 1) ? SW_SETTINGS_CAT_SESSION : SW_SETTINGS_CAT_ALL;
    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc = sw_settings_load_buf(s, data, size, categories, &err);
    if (rc != 0) {
        CHECK(rc < 0);
        CHECK(err.code == rc);
        CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
        CHECK(same(s, before));
    } else {
        check_round_trip(s, SW_SETTINGS_SAVE_ALL);
        check_round_trip(s, 0);
    }
    sw_settings_free(before);
    sw_settings_free(s);
}

static void fuzz_assignment(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    sw_settings *s = NULL, *before = NULL;
    CHECK(sw_settings_new(&s) == 0);
    CHECK(sw_settings_copy(s, &before) == 0);
    int rc = sw_settings_apply_assignment(s, text);
    if (rc != 0)
        CHECK(same(s, before));
    else
        check_round_trip(s, 0);
    sw_settings_free(before);
    sw_settings_free(s);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size);
    fuzz_assignment(data, size);
    return 0;
}
