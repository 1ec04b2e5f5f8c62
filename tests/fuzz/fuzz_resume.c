/* Fuzzes the resume data reader (a file input). Beyond "no crash": a record
 * that is accepted must have consistent arrays and must encode again and
 * decode to an equal record; a rejected one must return a negative code and
 * no record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/disk.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_resume: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_record(const sw_disk_resume *a, const sw_disk_resume *b)
{
    CHECK(memcmp(a->info_hash.v, b->info_hash.v, SW_SHA1_LEN) == 0);
    CHECK(a->pieces_len == b->pieces_len);
    CHECK(a->pieces_len == 0 || memcmp(a->pieces, b->pieces, a->pieces_len) == 0);
    CHECK((a->save_path == NULL) == (b->save_path == NULL));
    CHECK(!a->save_path || strcmp(a->save_path, b->save_path) == 0);
    CHECK(a->num_files == b->num_files);
    for (int i = 0; i < a->num_files; i++) {
        CHECK(a->file_sizes[i] == b->file_sizes[i]);
        CHECK(a->file_mtimes[i] == b->file_mtimes[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_disk_resume *r = NULL;
    int rc = sw__disk_resume_decode(data, size, &r);
    if (rc != 0) {
        CHECK(rc < 0);
        CHECK(r == NULL);
        return 0;
    }
    CHECK(r != NULL);
    CHECK(r->num_files > 0 && r->num_files <= SW_DISK_RESUME_MAX_FILES);
    CHECK(r->pieces != NULL);
    CHECK(r->pieces_len <= ((size_t)SW_DISK_RESUME_MAX_PIECES + 7) / 8);
    CHECK(!r->save_path || strlen(r->save_path) <= SW_DISK_RESUME_MAX_PATH);
    for (int i = 0; i < r->num_files; i++)
        CHECK(r->file_sizes[i] >= 0);

    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(sw__disk_resume_encode(r, &buf, &len) == 0);
    sw_disk_resume *again = NULL;
    CHECK(sw__disk_resume_decode(buf, len, &again) == 0);
    same_record(r, again);
    sw__disk_resume_free(again);
    free(buf);
    sw__disk_resume_free(r);
    return 0;
}
