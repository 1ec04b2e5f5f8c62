/* Fuzz target for the bencode decoder and encoder. Beyond "no crash", it
 * checks the invariants that tie the two together:
 *  - strict and lenient decoding agree: lenient success with no violation
 *    means strict success, and a lenient violation is exactly the strict
 *    error (same code, same offset);
 *  - re-encoding a decoded document gives canonical bencode, which decodes in
 *    strict mode and re-encodes to the same bytes;
 *  - input accepted in strict mode re-encodes to itself, byte for byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/bencode.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_bencode: invariant failed: %s (line %d)\n", #cond, __LINE__);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes n; returns 0 and the bytes, or the encoder's error. */
static int reencode(sw_bnode n, uint8_t **out, size_t *len)
{
    sw_bencoder *enc = NULL;
    int rc = sw_benc_new(&enc);
    if (rc)
        return rc;
    rc = sw_benc_node(enc, n);
    if (rc == 0)
        rc = sw_benc_finish(enc, out, len);
    sw_benc_free(enc);
    return rc;
}

/* Touches every accessor on every node so that reads are sanitizer-checked. */
static void walk(const sw_bdoc *doc)
{
    size_t count = sw_bdoc_node_count(doc);
    for (size_t i = 0; i < count; i++) {
        sw_bnode n = {doc, (int32_t)i};
        const uint8_t *raw;
        size_t raw_len, len;
        CHECK(sw_bnode_raw(n, &raw, &raw_len));
        CHECK(raw_len > 0);
        volatile uint8_t sink = raw[0] ^ raw[raw_len - 1];
        (void)sink;
        switch (sw_bnode_type_of(n)) {
        case SW_BNODE_STR: {
            const char *s = sw_bnode_str(n, &len);
            CHECK(s != NULL && len < raw_len);
            break;
        }
        case SW_BNODE_LIST:
            len = sw_bnode_len(n);
            if (len) {
                CHECK(sw_bnode_type_of(sw_bnode_list_at(n, len - 1)) != SW_BNODE_NONE);
                CHECK(sw_bnode_type_of(sw_bnode_list_at(n, 0)) != SW_BNODE_NONE);
            }
            CHECK(sw_bnode_type_of(sw_bnode_list_at(n, len)) == SW_BNODE_NONE);
            break;
        case SW_BNODE_DICT:
            len = sw_bnode_len(n);
            for (size_t k = 0; k < len; k++) {
                sw_bnode key, value;
                CHECK(sw_bnode_dict_at(n, k, &key, &value));
                size_t klen;
                const char *ks = sw_bnode_str(key, &klen);
                CHECK(ks != NULL);
                CHECK(sw_bnode_type_of(value) != SW_BNODE_NONE);
                /* Lookup finds a value with this key (the first one if the
                 * key is duplicated, so only the key is compared). */
                sw_bnode found = sw_bnode_dict_find(n, ks, klen);
                CHECK(found.index <= value.index);
                CHECK(sw_bnode_type_of(found) != SW_BNODE_NONE);
            }
            break;
        case SW_BNODE_INT:
            (void)sw_bnode_int(n);
            break;
        case SW_BNODE_NONE:
            CHECK(!"a decoded node has no type");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Low limits keep each run fast while still reaching the limit paths. */
    sw_bdecode_opts lenient = {.max_depth = 64, .max_nodes = 100000};
    sw_bdecode_opts strict = lenient;
    strict.flags = SW_BDECODE_STRICT;

    sw_bdoc *ldoc = NULL, *sdoc = NULL;
    sw_bdecode_error lerr, serr;
    int lrc = sw_bdecode(data, size, &lenient, &ldoc, &lerr);
    int src = sw_bdecode(data, size, &strict, &sdoc, &serr);
    CHECK(lrc == lerr.code && src == serr.code);
    CHECK(lrc <= 0 && src <= 0);

    if (src == 0)
        CHECK(lrc == 0 && sw_bdoc_first_violation(ldoc).code == 0);
    if (lrc != 0) {
        CHECK(src != 0);
        CHECK(lerr.offset <= size);
    }
    if (lrc == 0) {
        sw_bdecode_error v = sw_bdoc_first_violation(ldoc);
        if (v.code == 0) {
            CHECK(src == 0);
        } else {
            CHECK(src == v.code && serr.offset == v.offset);
        }
        walk(ldoc);

        uint8_t *out = NULL;
        size_t out_len = 0;
        int rc = reencode(sw_bdoc_root(ldoc), &out, &out_len);
        /* Only duplicate keys (accepted leniently) can stop a re-encode. */
        CHECK(rc == 0 || (rc == SW_ERR_INVALID_ARG && v.code != 0));
        if (rc == 0) {
            sw_bdoc *again = NULL;
            sw_bdecode_error err;
            sw_bdecode_opts deep = {
                .flags = SW_BDECODE_STRICT, .max_depth = 64, .max_nodes = 100000};
            CHECK(sw_bdecode(out, out_len, &deep, &again, &err) == 0);
            CHECK(sw_bdoc_node_count(again) == sw_bdoc_node_count(ldoc));
            uint8_t *out2 = NULL;
            size_t out2_len = 0;
            CHECK(reencode(sw_bdoc_root(again), &out2, &out2_len) == 0);
            CHECK(out2_len == out_len && memcmp(out, out2, out_len) == 0);
            if (src == 0)
                CHECK(out_len == size && memcmp(out, data, size) == 0);
            free(out2);
            sw_bdoc_free(again);
            free(out);
        }
    }
    sw_bdoc_free(ldoc);
    sw_bdoc_free(sdoc);
    return 0;
}
