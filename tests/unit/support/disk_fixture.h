/* Test helpers for core/disk: temporary folders, torrents with known content
 * and hashes built in memory, a disk pool on a private loop, and a loop runner
 * that waits for callbacks with a timeout. */
#ifndef SW_TEST_DISK_FIXTURE_H
#define SW_TEST_DISK_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "disk/disk.h"

typedef struct fx_file {
    const char *name; /* path under the torrent's folder, '/'-separated */
    int64_t size;
    bool pad;
} fx_file;

typedef struct fx_torrent {
    sw_torrent_info *ti;
    uint8_t *data; /* the whole torrent's bytes (pad ranges are zero) */
    int64_t total;
    int piece_length;
} fx_torrent;

/* Builds a multi-file torrent "name" (single-file if single is true and there
 * is one file) with pseudo-random content from seed. Returns 0 or an error. */
int fx_make_torrent(fx_torrent *t, const char *name, const fx_file *files, int nfiles,
                    int piece_length, uint32_t seed, bool single);
void fx_torrent_free(fx_torrent *t);

typedef struct fx_env {
    uv_loop_t loop;
    sw_disk_pool *pool;
    char dir[256]; /* a fresh temporary folder */
    int closed;
} fx_env;

/* threads/file_limit 0 = defaults; max_pending 0 = default. */
int fx_env_init(fx_env *e, int threads, int file_limit, int64_t max_pending);
/* Closes the pool, runs the loop until its close callback, checks the loop
 * has no handles left (returns false otherwise) and removes the folder. */
bool fx_env_done(fx_env *e);
/* Runs the loop until *counter >= target or timeout_ms passes. */
bool fx_run_until(fx_env *e, const int *counter, int target, int timeout_ms);

/* What a job callback saw; fx_capture_cb takes every buffer it is given. */
typedef struct fx_result {
    int calls;
    int error;
    sw_disk_op op;
    int file;
    bool passed;
    int64_t read_back;
    uint8_t *buf;
    size_t len;
    uint8_t *have;
    size_t have_len;
    int num_have;
    bool resume_accepted;
    int resume_error;
    sw_disk_resume *resume;
} fx_result;

void fx_capture_cb(sw_disk_result *res, void *user);
void fx_result_clear(fx_result *r);

/* Counts calls in an int. */
void fx_count_cb(sw_disk_result *res, void *user);

/* Writes every block (block bytes, pads included) of the torrent and waits;
 * returns the first error or 0. order: 0 forward, 1 reverse, 2 shuffled. */
int fx_write_all(fx_env *e, sw_storage *st, const fx_torrent *t, int block, int order,
                 uint32_t seed);
/* Hashes every piece and waits; returns the number that passed (or < 0). */
int fx_hash_all(fx_env *e, sw_storage *st, const fx_torrent *t);
/* Waits for one job submitted with fx_capture_cb on r. */
bool fx_wait_one(fx_env *e, fx_result *r);

/* A malloc'd copy of len bytes. */
uint8_t *fx_dup(const void *p, size_t len);
/* dir + '/' + rel, malloc'd. */
char *fx_path(const char *dir, const char *rel);
bool fx_exists(const char *path);
int64_t fx_file_size(const char *path); /* -1 if missing */
int64_t fx_file_blocks(const char *path);
int fx_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file (malloc'd) or NULL. */
uint8_t *fx_read_file(const char *path, size_t *len_out);
void fx_rm_rf(const char *path);
/* Counts entries (recursively) under path, folders included. */
int fx_count_entries(const char *path);

#endif
