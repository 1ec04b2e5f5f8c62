/* A pool of open file descriptors shared by every storage of a disk pool:
 * looked up by (storage, file index), least recently used closed first once
 * the limit is reached. A descriptor in use by a worker is never closed under
 * it; the limit may be exceeded by the descriptors in use at once (at most
 * one per worker). Files open read-only until a write needs read-write.
 * Opening happens outside the pool's lock so a slow open does not stall the
 * other workers. */
#include "disk_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

struct sw_file_handle {
    const sw_storage *owner;
    int index;
    int fd;
    bool writable;
    bool stale; /* replaced or closed while in use: close on last release */
    int users;
    sw_file_handle *hnext;               /* hash chain (not for stale entries) */
    sw_file_handle *lru_prev, *lru_next; /* most recent at head (not stale) */
};

struct sw_file_pool {
    uv_mutex_t mu;
    int limit;
    int open;     /* descriptors open, stale ones included */
    int max_open; /* high-water mark */
    size_t nbuckets;
    sw_file_handle **buckets;
    sw_file_handle *lru_head, *lru_tail;
};

static size_t bucket_of(const sw_file_pool *fp, const sw_storage *st, int index)
{
    uint64_t h = (uint64_t)(uintptr_t)st * 0x9E3779B97F4A7C15ull ^ (uint64_t)(unsigned)index;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)h & (fp->nbuckets - 1);
}

int sw__disk_fpool_new(int limit, sw_file_pool **fp_out)
{
    sw_file_pool *fp = calloc(1, sizeof *fp);
    if (!fp)
        return SW_ERR_NOMEM;
    fp->limit = limit < 1 ? 1 : limit;
    fp->nbuckets = 16;
    while (fp->nbuckets < (size_t)fp->limit * 2 && fp->nbuckets < (1u << 20))
        fp->nbuckets <<= 1;
    fp->buckets = calloc(fp->nbuckets, sizeof *fp->buckets);
    if (!fp->buckets || uv_mutex_init(&fp->mu) != 0) {
        free(fp->buckets);
        free(fp);
        return SW_ERR_NOMEM;
    }
    *fp_out = fp;
    return 0;
}

void sw__disk_fpool_free(sw_file_pool *fp)
{
    if (!fp)
        return;
    sw_file_handle *h = fp->lru_head;
    while (h) {
        sw_file_handle *next = h->lru_next;
        close(h->fd);
        free(h);
        h = next;
    }
    free(fp->buckets);
    uv_mutex_destroy(&fp->mu);
    free(fp);
}

/* ---- list surgery (fp->mu held) ---- */

static void lru_unlink(sw_file_pool *fp, sw_file_handle *h)
{
    if (h->lru_prev)
        h->lru_prev->lru_next = h->lru_next;
    else
        fp->lru_head = h->lru_next;
    if (h->lru_next)
        h->lru_next->lru_prev = h->lru_prev;
    else
        fp->lru_tail = h->lru_prev;
    h->lru_prev = h->lru_next = NULL;
}

static void lru_push_front(sw_file_pool *fp, sw_file_handle *h)
{
    h->lru_prev = NULL;
    h->lru_next = fp->lru_head;
    if (fp->lru_head)
        fp->lru_head->lru_prev = h;
    else
        fp->lru_tail = h;
    fp->lru_head = h;
}

static void hash_unlink(sw_file_pool *fp, sw_file_handle *h)
{
    sw_file_handle **pp = &fp->buckets[bucket_of(fp, h->owner, h->index)];
    while (*pp && *pp != h)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = h->hnext;
    h->hnext = NULL;
}

static sw_file_handle *find(sw_file_pool *fp, const sw_storage *st, int index)
{
    sw_file_handle *h = fp->buckets[bucket_of(fp, st, index)];
    while (h && !(h->owner == st && h->index == index))
        h = h->hnext;
    return h;
}

/* Takes h out of the lookup structures. Returns its descriptor if it can be
 * closed now (the caller closes it after unlocking), or -1 if it is in use
 * and will close on its last release. */
static int retire(sw_file_pool *fp, sw_file_handle *h)
{
    hash_unlink(fp, h);
    lru_unlink(fp, h);
    if (h->users > 0) {
        h->stale = true;
        return -1;
    }
    int fd = h->fd;
    free(h);
    fp->open--;
    return fd;
}

/* Closes least recently used idle descriptors down to the limit. Fills
 * fds[] (up to max) with descriptors to close after unlocking. */
static int evict(sw_file_pool *fp, int *fds, int max)
{
    int n = 0;
    sw_file_handle *h = fp->lru_tail;
    while (h && fp->open > fp->limit && n < max) {
        sw_file_handle *prev = h->lru_prev;
        if (h->users == 0)
            fds[n++] = retire(fp, h);
        h = prev;
    }
    return n;
}

static void close_all(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int sw__disk_fpool_acquire(sw_file_pool *fp, sw_storage *st, int index, bool write,
                           sw_file_handle **h_out, int *fd_out, sw_disk_error *err)
{
    int to_close[8];
    int nclose = 0;
    uv_mutex_lock(&fp->mu);
    sw_file_handle *h = find(fp, st, index);
    if (h && (h->writable || !write)) {
        h->users++;
        lru_unlink(fp, h);
        lru_push_front(fp, h);
        uv_mutex_unlock(&fp->mu);
        *h_out = h;
        *fd_out = h->fd;
        return 0;
    }
    uv_mutex_unlock(&fp->mu);

    int fd = -1;
    int rc = sw__disk_storage_open_file(st, index, write, &fd, err);
    if (rc)
        return rc;
    sw_file_handle *nh = calloc(1, sizeof *nh);
    if (!nh) {
        close(fd);
        sw__disk_set_error(err, SW_ERR_NOMEM, SW_DISK_OP_OPEN, index);
        return SW_ERR_NOMEM;
    }

    uv_mutex_lock(&fp->mu);
    h = find(fp, st, index);
    if (h && (h->writable || !write)) {
        /* Another worker opened it meanwhile; use theirs. */
        h->users++;
        lru_unlink(fp, h);
        lru_push_front(fp, h);
        uv_mutex_unlock(&fp->mu);
        close(fd);
        free(nh);
        *h_out = h;
        *fd_out = h->fd;
        return 0;
    }
    if (h) /* read-only, replaced by the read-write one */
        to_close[nclose++] = retire(fp, h);
    nh->owner = st;
    nh->index = index;
    nh->fd = fd;
    nh->writable = write;
    nh->users = 1;
    size_t b = bucket_of(fp, st, index);
    nh->hnext = fp->buckets[b];
    fp->buckets[b] = nh;
    lru_push_front(fp, nh);
    fp->open++;
    nclose += evict(fp, to_close + nclose, (int)(sizeof to_close / sizeof *to_close) - nclose);
    if (fp->open > fp->max_open)
        fp->max_open = fp->open;
    uv_mutex_unlock(&fp->mu);
    close_all(to_close, nclose);
    *h_out = nh;
    *fd_out = fd;
    return 0;
}

void sw__disk_fpool_release(sw_file_pool *fp, sw_file_handle *h)
{
    int fd = -1;
    int to_close[8];
    int nclose = 0;
    uv_mutex_lock(&fp->mu);
    h->users--;
    if (h->users == 0 && h->stale) {
        fd = h->fd;
        free(h);
        fp->open--;
    } else if (h->users == 0) {
        nclose = evict(fp, to_close, (int)(sizeof to_close / sizeof *to_close));
    }
    uv_mutex_unlock(&fp->mu);
    if (fd >= 0)
        close(fd);
    close_all(to_close, nclose);
}

void sw__disk_fpool_close(sw_file_pool *fp, const sw_storage *st, int index)
{
    for (;;) {
        int to_close[32];
        int nclose = 0;
        bool more = false;
        uv_mutex_lock(&fp->mu);
        sw_file_handle *h = fp->lru_head;
        while (h) {
            sw_file_handle *next = h->lru_next;
            if (h->owner == st && (index < 0 || h->index == index)) {
                if (nclose == (int)(sizeof to_close / sizeof *to_close)) {
                    more = true;
                    break;
                }
                to_close[nclose++] = retire(fp, h);
            }
            h = next;
        }
        uv_mutex_unlock(&fp->mu);
        close_all(to_close, nclose);
        if (!more)
            return;
    }
}

void sw__disk_fpool_counts(sw_file_pool *fp, int *open_out, int *max_open_out)
{
    uv_mutex_lock(&fp->mu);
    *open_out = fp->open;
    *max_open_out = fp->max_open;
    uv_mutex_unlock(&fp->mu);
}
