/* Private to core/disk: the structures shared by the pool, storage, file pool,
 * hashing, checking and file-system operations. Other modules use disk.h. */
#ifndef SW_CORE_DISK_INTERNAL_H
#define SW_CORE_DISK_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/base.h"
#include "disk.h"

/* Internal job kinds, after the public ones. */
enum {
    SW_DISK_JOB_CHECK_RUNNER = 100, /* hashes a share of a check's pieces */
    SW_DISK_JOB_PROGRESS,           /* a check's progress note (never queued) */
};

/* Read-back and check reads go through this much memory per worker. */
#define SW_DISK_SCRATCH_SIZE (1u << 20)

typedef struct sw_disk_error {
    int code;
    sw_disk_op op;
    int file;
} sw_disk_error;

typedef struct sw_check_ctx sw_check_ctx;
typedef struct sw_file_pool sw_file_pool;
typedef struct sw_file_handle sw_file_handle;
typedef struct sw_piece_hash sw_piece_hash;

/* Running totals of where the workers' time goes (disk_stats.c). */
typedef struct sw_disk_timing {
    atomic_int_fast64_t queued_write_bytes; /* write jobs submitted, not yet run */
    atomic_int_fast64_t write_blocks;       /* 16 KiB blocks written (partial ones count) */
    atomic_int_fast64_t read_blocks;        /* 16 KiB blocks read for peers */
    atomic_int_fast64_t queue_samples, queue_us; /* jobs taken off the queue, their wait */
    atomic_int_fast64_t job_samples, job_us;     /* job runs and their time */
    atomic_int_fast64_t read_samples, read_us;
    atomic_int_fast64_t write_samples, write_us;
    atomic_int_fast64_t hash_samples, hash_us; /* hash jobs and check runs */
} sw_disk_timing;

typedef struct sw_disk_job {
    struct sw_disk_job *next; /* in exactly one list: queue, held, or completions */
    int kind;                 /* sw_disk_job_kind or an internal kind */
    bool fence;
    sw_storage *st; /* holds a reference, except check runners and progress notes */
    sw_disk_cb cb;
    void *user;

    int piece;
    int64_t offset;
    uint8_t *buf; /* write data, owned */
    size_t len;

    char *path; /* move target / rename target, owned */
    int file_index;
    int flags;
    uint8_t *blob; /* check resume bytes / save_resume have, owned */
    size_t blob_len;
    sw_check_ctx *check;

    sw_disk_result res;
    uint64_t queued_ns; /* uv_hrtime() when it last entered the queue (disk_stats.c) */
} sw_disk_job;

/* One worker thread's private state. */
typedef struct sw_disk_worker {
    sw_disk_pool *pool;
    uv_thread_t thread;
    uint8_t *scratch; /* SW_DISK_SCRATCH_SIZE bytes */
} sw_disk_worker;

struct sw_disk_pool {
    uv_loop_t *loop;
    uv_async_t async;

    uv_mutex_t mu; /* guards everything below up to the counters */
    uv_cond_t cv;
    sw_disk_job *queue_head, *queue_tail;
    sw_disk_job *done_head, *done_tail;
    int64_t active; /* jobs queued or running (sum of storages' inflight) */
    bool stopping;
    bool paused; /* sw__disk_pool_set_paused: workers take no job */
    int workers_exited;

    sw_disk_pool_close_cb close_cb;
    void *close_user;
    bool joined;

    int nworkers;
    sw_disk_worker *workers;
    sw_file_pool *files;
    int64_t max_pending_bytes;

    atomic_bool stop_flag; /* mirrors stopping for lock-free checks */
    atomic_int_fast64_t pending_bytes;
    atomic_int_fast64_t n_blocks_written, n_blocks_read, n_bytes_written, n_bytes_read;
    atomic_int_fast64_t n_hash_jobs, n_hash_failures;
    atomic_int_fast64_t n_hashed_incremental, n_hashed_read_back;

    /* Timing and queue figures for cache_status (disk_stats.c). The
     * queue lengths are guarded by mu; the rest are atomics that workers add
     * to and any thread reads (relaxed: each is a counter on its own). */
    int64_t queue_len, read_queue_len; /* jobs waiting in the queue, not running */
    sw_disk_timing timing;
};

struct sw_storage {
    sw_disk_pool *pool;
    sw_torrent_info *ti;
    atomic_int refs;
    atomic_bool aborted;
    atomic_bool empty_files_done;
    sw_storage_mode mode;
    bool has_pad;

    uv_mutex_t mu; /* guards save_path, paths and the piece table */
    char *save_path;
    char **paths;           /* per file, relative, owned */
    sw_piece_hash **pieces; /* hash table of pieces being hashed incrementally */
    int pieces_cap;         /* buckets, a power of two */
    int pieces_count;

    /* Scheduling, guarded by pool->mu. */
    int inflight; /* jobs of this storage queued or running */
    bool fenced;  /* a fence is waiting, queued or running */
    sw_disk_job *fence_waiting;
    sw_disk_job *held_head, *held_tail;
};

/* ---- disk_pool.c ---- */
/* Queues job (loop thread); SW_ERR_ABORTED once the pool is stopping. The job
 * gets a storage reference on success. */
int sw__disk_submit(sw_disk_job *job);
/* Allocates a zeroed job for st. */
sw_disk_job *sw__disk_job_new(sw_storage *st, int kind, sw_disk_cb cb, void *user);
/* Frees a job that was never submitted (not its storage reference). */
void sw__disk_job_free(sw_disk_job *job);
/* Worker side, called without pool->mu: a job is finished; releases a fence it
 * holds and posts its completion to the loop (unless it is internal). */
void sw__disk_job_finished(sw_disk_pool *pool, sw_disk_job *job);
/* Worker side: puts a running job back at the tail of the queue (its
 * inflight count carries over), for fairness between long jobs. */
void sw__disk_job_requeue(sw_disk_pool *pool, sw_disk_job *job);
/* Worker side: queues an internal job for st, bypassing st's fence (used by a
 * check, which holds the fence itself). */
void sw__disk_job_spawn(sw_disk_pool *pool, sw_disk_job *job);
/* Worker side: posts a check's progress note if it is not already pending. */
void sw__disk_post_progress(sw_disk_pool *pool, sw_disk_job *note, atomic_bool *pending);
bool sw__disk_should_abort(const sw_storage *st);

/* ---- disk_stats.c ---- */
void sw__disk_timing_init(sw_disk_timing *t);
/* pool->mu held: job enters the queue list / leaves it for a worker. */
void sw__disk_stats_enqueued_locked(sw_disk_pool *pool, sw_disk_job *job);
void sw__disk_stats_dequeued_locked(sw_disk_pool *pool, sw_disk_job *job);
/* Worker side: a job of kind carrying len bytes ran for run_ns and ended
 * with error (not called for jobs aborted unrun). */
void sw__disk_stats_job_ran(sw_disk_pool *pool, int kind, size_t len, int error, uint64_t run_ns);
/* Fills the queue and timing fields of out. Any thread. */
void sw__disk_pool_timing_stats(sw_disk_pool *pool, sw_disk_stats *out);

/* ---- jobs.c: running jobs on a worker ---- */
/* Runs job; returns false if the job lives on (requeued or parked). */
bool sw__disk_run_job(sw_disk_worker *w, sw_disk_job *job);

/* ---- check.c ---- */
sw_check_ctx *sw__disk_check_ctx_new(sw_disk_progress_cb progress, void *user);
void sw__disk_check_ctx_free(sw_check_ctx *ctx);
/* The kickoff of a check job (a fence). Returns false if runners were spawned. */
bool sw__disk_check_start(sw_disk_worker *w, sw_disk_job *job);
bool sw__disk_check_run(sw_disk_worker *w, sw_disk_job *runner);
/* Loop thread: deliver a progress note. */
void sw__disk_check_deliver_progress(sw_disk_job *note);

/* ---- storage.c ---- */
/* Byte range I/O at (piece, offset) over the files. iov describes len bytes.
 * Reads: a missing file gives UV_ENOENT, a short file UV_EOF; pad ranges read
 * as zeros. Writes skip pad ranges. */
int sw__disk_storage_io(sw_storage *st, bool write, int piece, int64_t offset,
                        const struct iovec *iov, int iovcnt, size_t len, sw_disk_error *err);
/* Opens (creating when write) file index beneath the save path. */
int sw__disk_storage_open_file(sw_storage *st, int index, bool write, int *fd_out,
                               sw_disk_error *err);
/* Creates the torrent's empty files once (after the first write). */
int sw__disk_storage_create_empty_files(sw_storage *st, sw_disk_error *err);

/* ---- fs_path.c: path safety ---- */
/* True for a relative '/'-separated path with no empty, "." or ".." part. */
bool sw__disk_path_is_safe(const char *rel);
/* Opens a directory (O_PATH); with create, makes it and its parents first. */
int sw__disk_open_root(const char *path, bool create, int *fd_out, sw_disk_op *op_out);
/* Walks rel's folders beneath rootfd without following symbolic links
 * (creating them when create) and returns the folder that holds the last
 * component (*parent_out, to close) and that component (*leaf_out, pointing
 * into rel). */
int sw__disk_walk_parent(int rootfd, const char *rel, bool create, int *parent_out,
                         const char **leaf_out, sw_disk_op *op_out);
/* Removes the folders of rel (deepest first) beneath rootfd while empty. */
void sw__disk_remove_empty_parents(int rootfd, const char *rel);

/* ---- file_pool.c ---- */
int sw__disk_fpool_new(int limit, sw_file_pool **fp_out);
void sw__disk_fpool_free(sw_file_pool *fp);
/* A descriptor for (st, index), opened read-write if write. Keep it until
 * sw__disk_fpool_release. */
int sw__disk_fpool_acquire(sw_file_pool *fp, sw_storage *st, int index, bool write,
                           sw_file_handle **h_out, int *fd_out, sw_disk_error *err);
void sw__disk_fpool_release(sw_file_pool *fp, sw_file_handle *h);
/* Closes st's descriptors (index -1: all of them). Ones in use close on
 * release. */
void sw__disk_fpool_close(sw_file_pool *fp, const sw_storage *st, int index);
void sw__disk_fpool_counts(sw_file_pool *fp, int *open_out, int *max_open_out);

/* ---- piece_hash.c: incremental SHA-1 ---- */
/* After a successful write: feeds the block to the piece's hash, or keeps it
 * (taking *buf, setting it to NULL) if it lies ahead of a gap. */
int sw__disk_hash_on_write(sw_disk_worker *w, sw_storage *st, int piece, int64_t offset,
                           uint8_t **buf, size_t len);
/* Finishes the piece's SHA-1, reading back what the incremental hash did not
 * cover. *complete_out is false if data was missing on disk. */
int sw__disk_hash_finish(sw_disk_worker *w, sw_storage *st, int piece, sw_sha1 *digest_out,
                         int64_t *read_back_out, bool *complete_out, sw_disk_error *err);
/* Hashes [from, piece end) of piece from disk into h. */
int sw__disk_hash_range_from_disk(sw_disk_worker *w, sw_storage *st, int piece, int64_t from,
                                  int64_t to, sw_hasher *h, bool *complete_out, sw_disk_error *err);
void sw__disk_hash_free_all(sw_storage *st);

/* ---- fs_ops.c ---- */
void sw__disk_do_move(sw_disk_worker *w, sw_disk_job *job);
void sw__disk_do_rename(sw_disk_worker *w, sw_disk_job *job);
void sw__disk_do_delete(sw_disk_worker *w, sw_disk_job *job);
/* stat of file index: size and mtime, or *exists_out false. */
int sw__disk_stat_file(sw_storage *st, int index, bool *exists_out, int64_t *size_out,
                       int64_t *mtime_out, sw_disk_error *err);

/* ---- resume.c ---- */
void sw__disk_do_save_resume(sw_disk_job *job);
/* Validates resume bytes against st and the files on disk; on success
 * *have_out (ceil(n/8) bytes) is malloc'd. */
int sw__disk_resume_validate(sw_storage *st, const uint8_t *buf, size_t len, uint8_t **have_out);

/* Small helpers. */
static inline void sw__disk_set_error(sw_disk_error *err, int code, sw_disk_op op, int file)
{
    if (err) {
        err->code = code;
        err->op = op;
        err->file = file;
    }
}

static inline size_t sw__disk_bitfield_len(int num_pieces)
{
    return ((size_t)num_pieces + 7) / 8;
}

static inline bool sw__disk_bit_get(const uint8_t *bits, int i)
{
    return (bits[i >> 3] >> (7 - (i & 7))) & 1;
}

static inline void sw__disk_bit_set(uint8_t *bits, int i)
{
    bits[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
}

#endif
