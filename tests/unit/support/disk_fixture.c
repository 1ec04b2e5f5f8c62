#include "disk_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cswarm/bencode.h>

#include "base/base.h"

/* ---- torrents ---- */

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static int put_path(sw_bencoder *enc, const char *name)
{
    int rc = sw_benc_list_begin(enc);
    const char *p = name;
    while (rc == 0) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        rc = sw_benc_str(enc, p, n);
        if (!slash)
            break;
        p = slash + 1;
    }
    return rc ? rc : sw_benc_end(enc);
}

int fx_make_torrent(fx_torrent *t, const char *name, const fx_file *files, int nfiles,
                    int piece_length, uint32_t seed, bool single)
{
    memset(t, 0, sizeof *t);
    int64_t total = 0;
    for (int i = 0; i < nfiles; i++)
        total += files[i].size;
    t->total = total;
    t->piece_length = piece_length;
    t->data = calloc((size_t)(total ? total : 1), 1);
    if (!t->data)
        return SW_ERR_NOMEM;
    uint32_t s = seed ? seed : 1;
    int64_t pos = 0;
    for (int i = 0; i < nfiles; i++) {
        for (int64_t k = 0; k < files[i].size; k++)
            t->data[pos + k] = files[i].pad ? 0 : (uint8_t)xorshift(&s);
        pos += files[i].size;
    }
    int64_t npieces = (total + piece_length - 1) / piece_length;
    uint8_t *hashes = malloc((size_t)(npieces ? npieces : 1) * SW_SHA1_LEN);
    for (int64_t p = 0; p < npieces; p++) {
        int64_t off = p * piece_length;
        int64_t len = total - off < piece_length ? total - off : piece_length;
        sw__sha1(t->data + off, (size_t)len, (sw_sha1 *)(hashes + p * SW_SHA1_LEN));
    }

    sw_bencoder *enc = NULL;
    int rc = sw_benc_new(&enc);
    if (rc == 0) {
        sw_benc_dict_begin(enc);
        sw_benc_ckey(enc, "info");
        sw_benc_dict_begin(enc);
        if (single && nfiles == 1) {
            sw_benc_ckey(enc, "length");
            sw_benc_int(enc, files[0].size);
        } else {
            sw_benc_ckey(enc, "files");
            sw_benc_list_begin(enc);
            for (int i = 0; i < nfiles; i++) {
                sw_benc_dict_begin(enc);
                if (files[i].pad) {
                    sw_benc_ckey(enc, "attr");
                    sw_benc_cstr(enc, "p");
                }
                sw_benc_ckey(enc, "length");
                sw_benc_int(enc, files[i].size);
                sw_benc_ckey(enc, "path");
                put_path(enc, files[i].name);
                sw_benc_end(enc);
            }
            sw_benc_end(enc);
        }
        sw_benc_ckey(enc, "name");
        sw_benc_cstr(enc, name);
        sw_benc_ckey(enc, "piece length");
        sw_benc_int(enc, piece_length);
        sw_benc_ckey(enc, "pieces");
        sw_benc_str(enc, hashes, (size_t)npieces * SW_SHA1_LEN);
        sw_benc_end(enc);
        sw_benc_end(enc);
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = sw_benc_finish(enc, &buf, &len);
        if (rc == 0) {
            sw_error_detail err;
            rc = sw_torrent_info_load(buf, len, NULL, &t->ti, &err);
            if (rc)
                fprintf(stderr, "fx_make_torrent: %s\n", err.message);
        }
        free(buf);
        sw_benc_free(enc);
    }
    free(hashes);
    if (rc) {
        free(t->data);
        t->data = NULL;
    }
    return rc;
}

void fx_torrent_free(fx_torrent *t)
{
    if (t->ti)
        sw_torrent_info_unref(t->ti);
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* ---- environment ---- */

int fx_env_init(fx_env *e, int threads, int file_limit, int64_t max_pending)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/sw-disk-test-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    int rc = uv_loop_init(&e->loop);
    if (rc)
        return rc;
    sw_disk_pool_opts o;
    sw__disk_pool_opts_init(&o);
    o.aio_threads = threads;
    o.file_pool_size = file_limit;
    o.max_pending_bytes = max_pending;
    return sw__disk_pool_new(&e->loop, &o, &e->pool);
}

static void on_pool_closed(void *user)
{
    fx_env *e = user;
    e->closed = 1;
}

static void walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "fx_env_done: handle type %d still open\n", (int)h->type);
}

bool fx_env_done(fx_env *e)
{
    bool ok = true;
    if (e->pool) {
        sw__disk_pool_close(e->pool, on_pool_closed, e);
        ok = fx_run_until(e, &e->closed, 1, 30000);
        e->pool = NULL;
    }
    uv_run(&e->loop, UV_RUN_NOWAIT);
    if (uv_loop_close(&e->loop) != 0) {
        uv_walk(&e->loop, walk_cb, NULL);
        ok = false;
    }
    fx_rm_rf(e->dir);
    return ok;
}

static void on_timeout(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

bool fx_run_until(fx_env *e, const int *counter, int target, int timeout_ms)
{
    if (*counter >= target)
        return true;
    uv_timer_t timer;
    int expired = 0;
    uv_timer_init(&e->loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, on_timeout, (uint64_t)timeout_ms, 0);
    while (*counter < target && !expired)
        uv_run(&e->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, on_timer_closed);
    uv_run(&e->loop, UV_RUN_NOWAIT); /* let the timer's close finish */
    return *counter >= target;
}

/* ---- results ---- */

void fx_capture_cb(sw_disk_result *res, void *user)
{
    fx_result *r = user;
    r->calls++;
    r->error = res->error;
    r->op = res->op;
    r->file = res->file_index;
    r->passed = res->hash_passed;
    r->read_back = res->hash_read_back;
    if (res->buffer) {
        free(r->buf);
        r->buf = res->buffer;
        r->len = res->length;
        res->buffer = NULL;
    }
    if (res->have) {
        free(r->have);
        r->have = res->have;
        r->have_len = res->have_len;
        res->have = NULL;
    }
    r->num_have = res->num_have;
    r->resume_accepted = res->resume_accepted;
    r->resume_error = res->resume_error;
    if (res->resume) {
        sw__disk_resume_free(r->resume);
        r->resume = res->resume;
        res->resume = NULL;
    }
}

void fx_result_clear(fx_result *r)
{
    free(r->buf);
    free(r->have);
    sw__disk_resume_free(r->resume);
    memset(r, 0, sizeof *r);
}

void fx_count_cb(sw_disk_result *res, void *user)
{
    (void)res;
    (*(int *)user)++;
}

bool fx_wait_one(fx_env *e, fx_result *r)
{
    return fx_run_until(e, &r->calls, 1, 30000);
}

typedef struct write_tally {
    int done;
    int first_error;
} write_tally;

static void on_write(sw_disk_result *res, void *user)
{
    write_tally *w = user;
    w->done++;
    if (res->error && !w->first_error)
        w->first_error = res->error;
}

int fx_write_all(fx_env *e, sw_storage *st, const fx_torrent *t, int block, int order,
                 uint32_t seed)
{
    int npieces = sw_torrent_info_num_pieces(t->ti);
    int per_piece = (t->piece_length + block - 1) / block;
    int max = npieces * per_piece;
    int *idx = malloc((size_t)max * sizeof *idx);
    int n = 0;
    for (int p = 0; p < npieces; p++) {
        int psize = sw_torrent_info_piece_size(t->ti, p);
        for (int off = 0; off < psize; off += block)
            idx[n++] = p * per_piece + off / block;
    }
    if (order == 1) {
        for (int i = 0; i < n / 2; i++) {
            int tmp = idx[i];
            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = tmp;
        }
    } else if (order == 2) {
        uint32_t s = seed ? seed : 7;
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(xorshift(&s) % (uint32_t)(i + 1));
            int tmp = idx[i];
            idx[i] = idx[j];
            idx[j] = tmp;
        }
    }
    write_tally w = {0};
    int submitted = 0;
    for (int i = 0; i < n; i++) {
        int p = idx[i] / per_piece;
        int off = (idx[i] % per_piece) * block;
        int psize = sw_torrent_info_piece_size(t->ti, p);
        size_t len = (size_t)(psize - off < block ? psize - off : block);
        uint8_t *buf = fx_dup(t->data + (int64_t)p * t->piece_length + off, len);
        int rc = sw__disk_write(st, p, off, buf, len, on_write, &w);
        if (rc) {
            free(buf);
            free(idx);
            fx_run_until(e, &w.done, submitted, 30000);
            return rc;
        }
        submitted++;
    }
    free(idx);
    if (!fx_run_until(e, &w.done, submitted, 60000))
        return SW_ERR_TIMEOUT;
    return w.first_error;
}

typedef struct hash_tally {
    int done;
    int passed;
    int first_error;
} hash_tally;

static void on_hash(sw_disk_result *res, void *user)
{
    hash_tally *h = user;
    h->done++;
    if (res->error && !h->first_error)
        h->first_error = res->error;
    if (!res->error && res->hash_passed)
        h->passed++;
}

int fx_hash_all(fx_env *e, sw_storage *st, const fx_torrent *t)
{
    int npieces = sw_torrent_info_num_pieces(t->ti);
    hash_tally h = {0};
    for (int p = 0; p < npieces; p++) {
        int rc = sw__disk_hash(st, p, on_hash, &h);
        if (rc)
            return rc;
    }
    if (!fx_run_until(e, &h.done, npieces, 60000))
        return SW_ERR_TIMEOUT;
    return h.first_error ? h.first_error : h.passed;
}

/* ---- files ---- */

uint8_t *fx_dup(const void *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, p, len);
    return c;
}

char *fx_path(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s/%s", dir, rel);
    return s;
}

bool fx_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

int64_t fx_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

int64_t fx_file_blocks(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_blocks * 512 : -1;
}

int fx_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = len ? write(fd, data, len) : 0;
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

uint8_t *fx_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    *len_out = got;
    return buf;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void fx_rm_rf(const char *path)
{
    /* Undo permission changes a test may have left so everything can go. */
    nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int g_count;

static int count_entries_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)sb;
    (void)flag;
    if (ftw->level > 0)
        g_count++;
    return 0;
}

int fx_count_entries(const char *path)
{
    g_count = 0;
    if (nftw(path, count_entries_cb, 16, FTW_PHYS) != 0)
        return -1;
    return g_count;
}
