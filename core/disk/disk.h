/* core/disk: torrent storage and the disk/hash worker pool. This is the
 * module's one public face inside core/. Not for embedders or plugins.
 *
 * Threads. A disk pool belongs to one libuv loop (the network thread). It runs
 * a fixed set of worker threads that do every file read, write, hash, check,
 * move and delete; no function in this header does file I/O on the calling
 * thread. Each submitted job carries a callback and a user pointer; the
 * callback runs exactly once, on the loop thread, from a uv_async_t that the
 * pool owns (wake-ups coalesce). That holds for jobs that fail, are aborted
 * (error SW_ERR_ABORTED) or are still queued when the pool closes.
 * Following libuv: a submit function that returns an error never calls the
 * callback, and a successful submit never calls it synchronously.
 *
 * Call every function here from the loop thread, except where a comment says
 * otherwise.
 *
 * Ordering. Jobs on one storage run concurrently and in no fixed order, except
 * around fences: a fence job (save_resume, check, move_storage, rename_file,
 * delete_files, release_files, fence) starts only after every job submitted
 * before it on the same storage has finished, and jobs submitted after it
 * start only once it has finished. Jobs of other storages are not held.
 *
 * Ownership. The pool owns its threads, queue, file-descriptor pool and async
 * handle; sw__disk_pool_close() releases them and frees the pool in its close
 * callback (never earlier: libuv's close rule). A storage is reference counted
 * (the creator holds one reference; every queued job holds one) and keeps a
 * reference to its sw_torrent_info. Every storage must be released before the
 * pool's close callback runs. Buffers: a write job takes its buffer (freed by
 * the pool with free()); buffers in a result (read data, have bitfield,
 * resume record) are freed by the pool after the callback returns unless the
 * callback takes them by setting the result's pointer to NULL.
 *
 * Hashing. Every piece is hashed on a worker. Blocks written in offset order
 * are hashed from the write buffer as they arrive (single pass: no read-back);
 * a block that arrives ahead of a gap is kept until the gap fills, within a
 * pool-wide budget (max_pending_bytes). When the hash job runs, whatever the
 * incremental hash did not cover is read back from disk. Memory bound: at most
 * max_pending_bytes of kept blocks, plus one SHA-1 context (under 1 KiB) per
 * piece that has been written to but not yet hashed, plus one read-back
 * scratch buffer (1 MiB) per worker. A piece is never reported as passed
 * unless the SHA-1 of its bytes matches the torrent.
 *
 * Errors. A failed job reports a negative code (libuv/system codes such as
 * UV_ENOSPC, UV_EACCES, UV_EIO pass through; cswarm's own SW_ERR_*), the
 * operation that failed and the file index, so the torrent can go to an
 * error state with an alert. Nothing here aborts the process. */
#ifndef SW_CORE_DISK_H
#define SW_CORE_DISK_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/disk/disk.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/bencode.h>
#include <cswarm/error.h>
#include <cswarm/torrent_info.h>

typedef struct sw_disk_pool sw_disk_pool;
typedef struct sw_storage sw_storage;

/* ---- pool ---- */

typedef struct sw_disk_pool_opts {
    int aio_threads;           /* worker threads; 0 = default (4), clamped to 1..64 */
    int file_pool_size;        /* open file descriptors kept; 0 = default (40) */
    int64_t max_pending_bytes; /* out-of-order blocks kept for hashing, pool-wide;
                                  0 = default (32 MiB), negative = keep none */
} sw_disk_pool_opts;

void sw__disk_pool_opts_init(sw_disk_pool_opts *opts);

/* Creates a pool on loop and starts its threads. opts may be NULL. */
int sw__disk_pool_new(uv_loop_t *loop, const sw_disk_pool_opts *opts, sw_disk_pool **pool_out);

typedef void (*sw_disk_pool_close_cb)(void *user);

/* Stops accepting jobs (later submits return SW_ERR_ABORTED), finishes the
 * jobs that change the disk (writes, moves, renames, deletes, fences), aborts
 * the rest (reads, hashes, checks, resume saves) with SW_ERR_ABORTED, joins the
 * threads, closes the async handle and frees the pool; then calls cb (may be
 * NULL) on the loop thread. Every job callback runs before cb. Call once. */
void sw__disk_pool_close(sw_disk_pool *pool, sw_disk_pool_close_cb cb, void *user);

/* Counters for cache_status-like reporting. Any thread. */
typedef struct sw_disk_stats {
    int64_t queued_jobs; /* queued + running now */
    int64_t blocks_written, blocks_read;
    int64_t bytes_written, bytes_read;
    int64_t hash_jobs, hash_failures;
    int64_t bytes_hashed_incremental; /* hashed from write buffers */
    int64_t bytes_hashed_read_back;   /* read back from disk to hash */
    int64_t pending_bytes;            /* out-of-order blocks kept now */
    int open_files, max_open_files;   /* file pool now / high-water mark */

    /* For cache_status. blocks_written/blocks_read above count jobs (one
     * job may carry up to 1 MiB); these count 16 KiB blocks. */
    int64_t write_blocks, read_blocks;
    int64_t queued_write_bytes;             /* in write jobs not yet run */
    int64_t queue_length, read_queue_length; /* waiting for a worker, not running */
    /* Totals in microseconds and how many runs they cover. Queue time is
     * from entering the job queue to a worker taking the job; a job's time
     * is its run on a worker. Hash covers hash jobs and file checking. */
    int64_t queue_samples, queue_us;
    int64_t job_samples, job_us;
    int64_t read_samples, read_us;
    int64_t write_samples, write_us;
    int64_t hash_samples, hash_us;
} sw_disk_stats;

void sw__disk_pool_stats(sw_disk_pool *pool, sw_disk_stats *out);

/* Holds the workers before their next job while paused (jobs already
 * running finish), so tests can watch jobs pile up as behind a slow disk.
 * Closing the pool ends the pause. Any thread. */
void sw__disk_pool_set_paused(sw_disk_pool *pool, bool paused);

/* ---- storage ---- */

typedef enum sw_storage_mode {
    SW_STORAGE_SPARSE = 0, /* files are extended with ftruncate (holes) */
    SW_STORAGE_ALLOCATE,   /* files are fully allocated (posix_fallocate) */
} sw_storage_mode;

/* A storage maps a torrent onto files under save_path. Nothing is touched on
 * disk until a job needs it: files (and their parent folders, and save_path
 * itself) are created by the first write, pad files never. Every path must
 * resolve beneath save_path: a file path that is not a plain relative path,
 * or that runs through a symbolic link or a non-directory, is refused. On
 * success the caller holds one reference. */
int sw__disk_storage_new(sw_disk_pool *pool, sw_torrent_info *ti, const char *save_path,
                         sw_storage_mode mode, sw_storage **st_out);
sw_storage *sw__disk_storage_ref(sw_storage *st);
/* Drops a reference; the last one closes the storage's open files. */
void sw__disk_storage_unref(sw_storage *st);
/* Makes jobs on st that are still queued, or submitted later, and that only
 * read (read, hash, check, save_resume) complete with SW_ERR_ABORTED; jobs that
 * change the disk still run. For a torrent that is being removed. */
void sw__disk_storage_abort(sw_storage *st);
/* A malloc'd copy of the current save path (changes after move_storage), or
 * NULL on out of memory. Any thread. */
char *sw__disk_storage_save_path(sw_storage *st);
/* A malloc'd copy of file index's current path relative to the save path
 * (changes after rename_file). Any thread. */
char *sw__disk_storage_file_path(sw_storage *st, int index);
sw_torrent_info *sw__disk_storage_info(const sw_storage *st);

/* ---- jobs ---- */

typedef enum sw_disk_job_kind {
    SW_DISK_JOB_WRITE = 1,
    SW_DISK_JOB_READ,
    SW_DISK_JOB_HASH,
    SW_DISK_JOB_CHECK,
    SW_DISK_JOB_SAVE_RESUME,
    SW_DISK_JOB_MOVE,
    SW_DISK_JOB_RENAME,
    SW_DISK_JOB_DELETE,
    SW_DISK_JOB_RELEASE,
    SW_DISK_JOB_FENCE,
} sw_disk_job_kind;

/* The operation that failed, for alerts ("write: No space left on device"). */
typedef enum sw_disk_op {
    SW_DISK_OP_NONE = 0,
    SW_DISK_OP_OPEN,
    SW_DISK_OP_READ,
    SW_DISK_OP_WRITE,
    SW_DISK_OP_TRUNCATE,
    SW_DISK_OP_ALLOCATE,
    SW_DISK_OP_MKDIR,
    SW_DISK_OP_STAT,
    SW_DISK_OP_RENAME,
    SW_DISK_OP_COPY,
    SW_DISK_OP_REMOVE,
    SW_DISK_OP_FSYNC,
    SW_DISK_OP_HASH,
} sw_disk_op;

/* "open", "read", ...; never NULL. Any thread. */
const char *sw__disk_op_name(sw_disk_op op);

typedef struct sw_disk_resume sw_disk_resume;

typedef struct sw_disk_result {
    sw_disk_job_kind kind;
    sw_storage *storage; /* borrowed for the callback */
    int error;           /* 0, SW_ERR_ABORTED, SW_ERR_*, or a libuv/system code */
    sw_disk_op op;       /* what failed, when error != 0 */
    int file_index;      /* which file failed, or -1 */

    int piece;      /* write, read, hash */
    int64_t offset; /* write, read: offset in the piece */
    size_t length;  /* write, read: bytes */

    uint8_t *buffer; /* read: length bytes (take: set to NULL, free()) */

    bool hash_passed;       /* hash: SHA-1 matched the torrent */
    sw_sha1 digest;         /* hash: SHA-1 of the piece as found on disk */
    int64_t hash_read_back; /* hash: bytes read back from disk to finish it */

    uint8_t *have;          /* check: bitfield, wire bit order, ceil(n/8) bytes (take: NULL) */
    size_t have_len;        /* check */
    int num_have;           /* check: pieces that passed */
    bool resume_accepted;   /* check: pieces came from resume data, nothing hashed */
    int resume_error;       /* check: why resume data was rejected (0 if none given) */
    sw_disk_resume *resume; /* save_resume: the record (take: NULL, sw__disk_resume_free) */
} sw_disk_result;

/* Job completion, on the loop thread. res and its storage are borrowed. */
typedef void (*sw_disk_cb)(sw_disk_result *res, void *user);
/* Check progress, on the loop thread, zero or more times before the check's
 * completion callback (coalesced: it reports the latest count). It gets the
 * check job's user pointer. */
typedef void (*sw_disk_progress_cb)(int pieces_checked, int num_pieces, void *user);

/* Writes len bytes of buf at (piece, offset), splitting across files with
 * pwritev; takes buf (malloc'd) on success, the caller keeps it on error. The
 * block must lie inside the piece. The block also feeds the piece's
 * incremental SHA-1. */
int sw__disk_write(sw_storage *st, int piece, int64_t offset, uint8_t *buf, size_t len,
                   sw_disk_cb cb, void *user);
/* Reads len bytes at (piece, offset) into a new buffer (res->buffer). A file
 * that is missing or too short is an error (UV_ENOENT / UV_EOF); pad ranges
 * read as zeros. */
int sw__disk_read(sw_storage *st, int piece, int64_t offset, size_t len, sw_disk_cb cb, void *user);
/* Finishes the SHA-1 of piece and compares it with the torrent. Submit it
 * after every write to the piece has completed. The incremental state of the
 * piece is dropped, so the piece can be written again after a failure. Data
 * missing on disk means a failed hash, not an error. */
int sw__disk_hash(sw_storage *st, int piece, sw_disk_cb cb, void *user);

/* Checks the files (a fence; the storage's later jobs wait for it). With
 * resume data (bencoded, copied; may be NULL) that matches the torrent and the
 * files' sizes and mtimes, its pieces are taken without hashing; otherwise
 * every piece is read and hashed, spread over the workers. Missing files mean
 * missing pieces, not an error. Existing data is never changed. */
int sw__disk_check(sw_storage *st, const void *resume, size_t resume_len,
                   sw_disk_progress_cb progress, sw_disk_cb cb, void *user);
/* Snapshots resume data (a fence, so earlier writes are on disk first): the
 * given have bitfield (copied; ceil(num_pieces/8) bytes), the save path, and
 * the size and mtime of every file. Result in res->resume. */
int sw__disk_save_resume(sw_storage *st, const uint8_t *have, size_t have_len, sw_disk_cb cb,
                         void *user);

typedef enum sw_move_flags {
    SW_MOVE_ALWAYS_REPLACE = 0, /* replace files that exist in the target */
    SW_MOVE_FAIL_IF_EXIST = 1,  /* fail with SW_ERR_EXISTS, changing nothing */
    SW_MOVE_DONT_REPLACE = 2,   /* keep the target's file; the source is removed */
} sw_move_flags;

/* Moves the torrent's files to new_save_path (rename; across file systems
 * copy + fsync + remove, keeping mtimes), then removes the folders left empty.
 * On failure, files already moved are moved back and the save path is
 * unchanged. */
int sw__disk_move_storage(sw_storage *st, const char *new_save_path, sw_move_flags flags,
                          sw_disk_cb cb, void *user);
/* Renames file index to new_path (relative to the save path, '/'-separated,
 * no "." or ".." components). The file is renamed on disk if it exists. */
int sw__disk_rename_file(sw_storage *st, int index, const char *new_path, sw_disk_cb cb,
                         void *user);
/* Deletes the torrent's files and then the folders under the save path that
 * held them, if empty; never anything else. */
int sw__disk_delete_files(sw_storage *st, sw_disk_cb cb, void *user);
/* Closes the storage's open files (e.g. on pause). */
int sw__disk_release_files(sw_storage *st, sw_disk_cb cb, void *user);
/* Completes once every job submitted before it on st has finished. */
int sw__disk_fence(sw_storage *st, sw_disk_cb cb, void *user);

/* ---- resume data ----
 *
 * A bencoded dictionary with these keys (others are ignored on read, so the
 * engine can add its own, e.g. priorities and peers):
 *   "file-format"  "cswarm resume"
 *   "file-version" 1
 *   "info-hash"    20 bytes (v1)
 *   "pieces"       have bitfield, wire bit order
 *   "save_path"    string (optional)
 *   "file sizes"   list of [size, mtime seconds], one per file of the torrent
 * Pure functions on memory; any thread. */
struct sw_disk_resume {
    sw_sha1 info_hash;
    uint8_t *pieces;
    size_t pieces_len;
    char *save_path; /* NUL-terminated, or NULL */
    int num_files;
    int64_t *file_sizes;
    int64_t *file_mtimes;
};

/* Limits applied while reading resume data. */
#define SW_DISK_RESUME_MAX_FILES 1000000
#define SW_DISK_RESUME_MAX_PIECES 8000000
#define SW_DISK_RESUME_MAX_PATH 4096

/* Writes the keys above into the dictionary enc has open. */
int sw__disk_resume_write(sw_bencoder *enc, const sw_disk_resume *r);
/* Encodes r as a complete dictionary; *buf_out is malloc'd. */
int sw__disk_resume_encode(const sw_disk_resume *r, uint8_t **buf_out, size_t *len_out);
/* Reads a record from a decoded dictionary. SW_ERR_RESUME_DATA if a key is
 * missing, has the wrong type or is out of range. */
int sw__disk_resume_read(sw_bnode dict, sw_disk_resume **r_out);
/* Decodes bencoded bytes (bounded) and reads the record. */
int sw__disk_resume_decode(const void *buf, size_t len, sw_disk_resume **r_out);
void sw__disk_resume_free(sw_disk_resume *r);

#endif
