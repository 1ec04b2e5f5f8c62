/* Single-pass piece hashing. Each piece being written has a SHA-1 context and
 * a position: bytes [0, hashed) have been fed to it. A block written at that
 * position is hashed straight from the write buffer; a block further on is
 * kept (its buffer taken from the write job, within the pool's
 * max_pending_bytes budget) until the gap before it fills. Pad-file ranges
 * are hashed as zeros as soon as the position reaches them. When the piece's
 * hash job runs, whatever is still missing is read back from disk.
 *
 * Concurrency: two workers may write blocks of one piece at once. Each block
 * is written to disk first, then the worker takes the piece's mutex, so the
 * hash always advances in offset order. A block that lands on bytes already
 * hashed (a duplicate or overlapping write) makes the incremental state
 * unreliable: it is marked invalid and the hash job re-reads the whole piece.
 *
 * Lifetime: the table of pieces is guarded by the storage's mutex; a piece
 * entry is counted while a worker uses it, and the hash job detaches it so
 * that later writes (after a failed hash) start afresh. */
#include "disk_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct pending_block {
    struct pending_block *next; /* sorted by offset */
    int64_t offset;
    size_t len;
    uint8_t *buf;
} pending_block;

struct sw_piece_hash {
    sw_piece_hash *next; /* bucket chain */
    int piece;
    int users;     /* guarded by st->mu */
    bool detached; /* guarded by st->mu */
    uv_mutex_t mu; /* guards everything below */
    sw_hasher *h;
    int64_t hashed;
    bool invalid;
    pending_block *pending;
};

static const uint8_t zeros[16384];

/* ---- table (st->mu held) ---- */

#define FIRST_TABLE_SIZE 16

static size_t slot(const sw_storage *st, int piece)
{
    return (size_t)((uint32_t)piece * 2654435761u) & (size_t)(st->pieces_cap - 1);
}

/* NULL while the table does not exist: it is made on the first piece
 * hashed incrementally, since most torrents of a large session never hash
 * anything (seeds). */
static sw_piece_hash **find_slot(sw_storage *st, int piece)
{
    if (!st->pieces)
        return NULL;
    sw_piece_hash **pp = &st->pieces[slot(st, piece)];
    while (*pp && (*pp)->piece != piece)
        pp = &(*pp)->next;
    return pp;
}

static void grow(sw_storage *st)
{
    int cap = st->pieces_cap * 2;
    sw_piece_hash **nb = calloc((size_t)cap, sizeof *nb);
    if (!nb)
        return; /* longer chains, still correct */
    sw_piece_hash **old = st->pieces;
    int old_cap = st->pieces_cap;
    st->pieces = nb;
    st->pieces_cap = cap;
    for (int i = 0; i < old_cap; i++) {
        sw_piece_hash *e = old[i];
        while (e) {
            sw_piece_hash *next = e->next;
            size_t s = slot(st, e->piece);
            e->next = nb[s];
            nb[s] = e;
            e = next;
        }
    }
    free(old);
}

static void free_pending(sw_disk_pool *pool, sw_piece_hash *ph)
{
    pending_block *b = ph->pending;
    while (b) {
        pending_block *next = b->next;
        atomic_fetch_sub(&pool->pending_bytes, (int_fast64_t)b->len);
        free(b->buf);
        free(b);
        b = next;
    }
    ph->pending = NULL;
}

static void piece_free(sw_disk_pool *pool, sw_piece_hash *ph)
{
    free_pending(pool, ph);
    sw__hasher_free(ph->h);
    uv_mutex_destroy(&ph->mu);
    free(ph);
}

static sw_piece_hash *acquire(sw_storage *st, int piece, bool create)
{
    uv_mutex_lock(&st->mu);
    if (!st->pieces && create) {
        st->pieces = calloc(FIRST_TABLE_SIZE, sizeof *st->pieces);
        st->pieces_cap = st->pieces ? FIRST_TABLE_SIZE : 0;
    }
    sw_piece_hash **pp = find_slot(st, piece);
    sw_piece_hash *ph = pp ? *pp : NULL;
    if (!ph && pp && create) {
        ph = calloc(1, sizeof *ph);
        if (ph && (sw__hasher_new_sha1(&ph->h) != 0 || uv_mutex_init(&ph->mu) != 0)) {
            sw__hasher_free(ph->h);
            free(ph);
            ph = NULL;
        }
        if (ph) {
            ph->piece = piece;
            *pp = ph;
            if (++st->pieces_count > st->pieces_cap)
                grow(st);
        }
    }
    if (ph)
        ph->users++;
    uv_mutex_unlock(&st->mu);
    return ph;
}

/* Takes the piece out of the table (for its hash job). */
static sw_piece_hash *detach(sw_storage *st, int piece)
{
    uv_mutex_lock(&st->mu);
    sw_piece_hash **pp = find_slot(st, piece);
    sw_piece_hash *ph = pp ? *pp : NULL;
    if (ph) {
        *pp = ph->next;
        ph->next = NULL;
        ph->detached = true;
        ph->users++;
        st->pieces_count--;
    }
    uv_mutex_unlock(&st->mu);
    return ph;
}

static void put(sw_storage *st, sw_piece_hash *ph)
{
    uv_mutex_lock(&st->mu);
    bool last = --ph->users == 0 && ph->detached;
    uv_mutex_unlock(&st->mu);
    if (last)
        piece_free(st->pool, ph);
}

void sw__disk_hash_free_all(sw_storage *st)
{
    for (int i = 0; i < st->pieces_cap; i++) {
        sw_piece_hash *ph = st->pieces[i];
        while (ph) {
            sw_piece_hash *next = ph->next;
            piece_free(st->pool, ph);
            ph = next;
        }
        st->pieces[i] = NULL;
    }
    st->pieces_count = 0;
}

/* ---- advancing (ph->mu held) ---- */

static int hash_zeros(sw_hasher *h, int64_t n)
{
    while (n > 0) {
        size_t k = n > (int64_t)sizeof zeros ? sizeof zeros : (size_t)n;
        int rc = sw__hasher_update(h, zeros, k);
        if (rc)
            return rc;
        n -= (int64_t)k;
    }
    return 0;
}

/* If the position sits at the start of a pad file, returns its length in this
 * piece (hashed as zeros without waiting for anyone to write them). */
static int64_t pad_run_at(sw_storage *st, int piece, int64_t pos, int64_t piece_size)
{
    if (!st->has_pad || pos >= piece_size)
        return 0;
    sw_file_slice s;
    int n = sw_torrent_info_map_block(st->ti, piece, pos, piece_size - pos, &s, 1);
    if (n < 1)
        return 0;
    const sw_file_entry *fe = sw_torrent_info_file(st->ti, s.file_index);
    return (fe->flags & SW_FILE_PAD) ? s.size : 0;
}

static void invalidate(sw_disk_pool *pool, sw_piece_hash *ph)
{
    ph->invalid = true;
    free_pending(pool, ph);
}

/* Feeds kept blocks and pad runs that continue the hashed prefix. */
static int advance(sw_storage *st, sw_piece_hash *ph, int64_t piece_size)
{
    sw_disk_pool *pool = st->pool;
    for (;;) {
        pending_block *b = ph->pending;
        if (b && b->offset < ph->hashed) {
            invalidate(pool, ph);
            return 0;
        }
        if (b && b->offset == ph->hashed) {
            int rc = sw__hasher_update(ph->h, b->buf, b->len);
            if (rc)
                return rc;
            ph->hashed += (int64_t)b->len;
            atomic_fetch_add(&pool->n_hashed_incremental, (int_fast64_t)b->len);
            atomic_fetch_sub(&pool->pending_bytes, (int_fast64_t)b->len);
            ph->pending = b->next;
            free(b->buf);
            free(b);
            continue;
        }
        int64_t pad = pad_run_at(st, ph->piece, ph->hashed, piece_size);
        if (pad > 0) {
            int rc = hash_zeros(ph->h, pad);
            if (rc)
                return rc;
            ph->hashed += pad;
            continue;
        }
        return 0;
    }
}

/* Keeps a block that lies ahead of the hashed prefix, if the budget allows
 * and it does not overlap a kept block. */
static void keep_block(sw_storage *st, sw_piece_hash *ph, int64_t offset, uint8_t **buf, size_t len)
{
    sw_disk_pool *pool = st->pool;
    pending_block **pp = &ph->pending;
    while (*pp && (*pp)->offset < offset)
        pp = &(*pp)->next;
    pending_block *prev_end_check = ph->pending;
    /* Overlap with the block before or after the insertion point? */
    for (; prev_end_check && prev_end_check != *pp; prev_end_check = prev_end_check->next)
        if (prev_end_check->offset + (int64_t)prev_end_check->len > offset) {
            invalidate(pool, ph);
            return;
        }
    if (*pp && (*pp)->offset < offset + (int64_t)len) {
        invalidate(pool, ph);
        return;
    }
    int64_t now = atomic_fetch_add(&pool->pending_bytes, (int_fast64_t)len) + (int64_t)len;
    if (now > pool->max_pending_bytes) {
        atomic_fetch_sub(&pool->pending_bytes, (int_fast64_t)len);
        return; /* over budget: the hash job reads this range back */
    }
    pending_block *b = malloc(sizeof *b);
    if (!b) {
        atomic_fetch_sub(&pool->pending_bytes, (int_fast64_t)len);
        return;
    }
    b->offset = offset;
    b->len = len;
    b->buf = *buf;
    *buf = NULL;
    b->next = *pp;
    *pp = b;
}

int sw__disk_hash_on_write(sw_disk_worker *w, sw_storage *st, int piece, int64_t offset,
                           uint8_t **buf, size_t len)
{
    (void)w;
    sw_piece_hash *ph = acquire(st, piece, true);
    if (!ph)
        return 0; /* no memory for the context: the hash job reads the piece back */
    int64_t piece_size = sw_torrent_info_piece_size(st->ti, piece);
    int rc = 0;
    uv_mutex_lock(&ph->mu);
    if (ph->invalid) {
        /* nothing: the hash job re-reads the piece */
    } else if (offset == ph->hashed) {
        rc = sw__hasher_update(ph->h, *buf, len);
        if (rc == 0) {
            ph->hashed += (int64_t)len;
            atomic_fetch_add(&st->pool->n_hashed_incremental, (int_fast64_t)len);
            rc = advance(st, ph, piece_size);
        }
    } else if (offset > ph->hashed) {
        keep_block(st, ph, offset, buf, len);
    } else {
        invalidate(st->pool, ph);
    }
    if (rc)
        invalidate(st->pool, ph);
    uv_mutex_unlock(&ph->mu);
    put(st, ph);
    return 0;
}

int sw__disk_hash_range_from_disk(sw_disk_worker *w, sw_storage *st, int piece, int64_t from,
                                  int64_t to, sw_hasher *h, bool *complete_out, sw_disk_error *err)
{
    while (from < to) {
        size_t n =
            (size_t)(to - from) < SW_DISK_SCRATCH_SIZE ? (size_t)(to - from) : SW_DISK_SCRATCH_SIZE;
        struct iovec v = {.iov_base = w->scratch, .iov_len = n};
        sw_disk_error e = {0};
        int rc = sw__disk_storage_io(st, false, piece, from, &v, 1, n, &e);
        if (rc == UV_ENOENT || rc == UV_EOF) {
            *complete_out = false; /* the data is not there: the piece fails */
            return 0;
        }
        if (rc) {
            if (err)
                *err = e;
            return rc;
        }
        atomic_fetch_add(&st->pool->n_hashed_read_back, (int_fast64_t)n);
        atomic_fetch_add(&st->pool->n_bytes_read, (int_fast64_t)n);
        rc = sw__hasher_update(h, w->scratch, n);
        if (rc) {
            sw__disk_set_error(err, rc, SW_DISK_OP_HASH, -1);
            return rc;
        }
        from += (int64_t)n;
    }
    return 0;
}

/* Completes ph's hash from its position (ph->mu held). */
static int finish_from(sw_disk_worker *w, sw_storage *st, sw_piece_hash *ph, int64_t piece_size,
                       int64_t *read_back, bool *complete, sw_disk_error *err)
{
    sw_disk_pool *pool = st->pool;
    uint8_t dummy[SW_SHA1_LEN];
    if (ph->invalid) {
        int rc = sw__hasher_final(ph->h, dummy); /* resets the context */
        if (rc)
            return rc;
        ph->hashed = 0;
        free_pending(pool, ph);
    }
    int64_t pos = ph->hashed;
    while (pos < piece_size && *complete) {
        pending_block *b = ph->pending;
        if (b && b->offset == pos) {
            int rc = sw__hasher_update(ph->h, b->buf, b->len);
            if (rc)
                return rc;
            atomic_fetch_add(&pool->n_hashed_incremental, (int_fast64_t)b->len);
            pos += (int64_t)b->len;
            ph->pending = b->next;
            atomic_fetch_sub(&pool->pending_bytes, (int_fast64_t)b->len);
            free(b->buf);
            free(b);
            continue;
        }
        int64_t end = b ? b->offset : piece_size;
        if (end > piece_size)
            end = piece_size;
        int rc = sw__disk_hash_range_from_disk(w, st, ph->piece, pos, end, ph->h, complete, err);
        if (rc)
            return rc;
        *read_back += end - pos;
        pos = end;
    }
    return 0;
}

int sw__disk_hash_finish(sw_disk_worker *w, sw_storage *st, int piece, sw_sha1 *digest_out,
                         int64_t *read_back_out, bool *complete_out, sw_disk_error *err)
{
    int64_t piece_size = sw_torrent_info_piece_size(st->ti, piece);
    int64_t read_back = 0;
    bool complete = true;
    int rc;
    sw_piece_hash *ph = detach(st, piece);
    if (ph) {
        uv_mutex_lock(&ph->mu);
        rc = finish_from(w, st, ph, piece_size, &read_back, &complete, err);
        if (rc == 0)
            rc = sw__hasher_final(ph->h, digest_out->v);
        uv_mutex_unlock(&ph->mu);
        put(st, ph);
    } else {
        sw_hasher *h = NULL;
        rc = sw__hasher_new_sha1(&h);
        if (rc == 0)
            rc = sw__disk_hash_range_from_disk(w, st, piece, 0, piece_size, h, &complete, err);
        if (rc == 0)
            rc = sw__hasher_final(h, digest_out->v);
        sw__hasher_free(h);
        if (rc == 0 && complete)
            read_back = piece_size;
    }
    if (rc && err && err->code == 0)
        sw__disk_set_error(err, rc, SW_DISK_OP_HASH, -1);
    *read_back_out = read_back;
    *complete_out = complete;
    return rc;
}
