/* Fuzz target for a whole peer connection: the bytes a remote peer sends
 * are fed to an incoming connection of a torrent through an in-memory
 * stream, so the handshake, every message handler, requests served from
 * disk and blocks written to disk run as they do on a socket. Whatever the
 * input, the connection must end cleanly (no leak, no stale job, no handle
 * left on the loop).
 *
 * Input layout:
 *   byte 0     flags: bit 0 prepend a valid handshake for the torrent;
 *              bits 1-7 seed for the read chunk sizes
 *   rest       the byte stream from the peer
 *
 * The torrent has three pieces of 16 KiB (the last one shorter); the
 * swarm has pieces 0 and 1 and wants piece 2. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "disk/disk.h"
#include "net/net.h"
#include "peer/peer.h"

#define PIECE 16384
#define TOTAL (2 * PIECE + 7232)

/* ---- an in-memory stream ---- */

typedef struct pending_write {
    sw_stream_write_cb cb;
    void *user;
} pending_write;

typedef struct mem_stream {
    sw_stream base;
    bool reading;
    bool close_requested;
    sw_stream_close_cb close_cb;
    pending_write *writes;
    size_t nwrites, cap;
    size_t bytes_written;
} mem_stream;

static int ms_read_start(sw_stream *s)
{
    ((mem_stream *)s)->reading = true;
    return 0;
}

static int ms_read_stop(sw_stream *s)
{
    ((mem_stream *)s)->reading = false;
    return 0;
}

static int ms_write(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                    void *user)
{
    mem_stream *m = (mem_stream *)s;
    if (m->nwrites == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        pending_write *w = realloc(m->writes, cap * sizeof *w);
        if (!w)
            return SW_ERR_NOMEM;
        m->writes = w;
        m->cap = cap;
    }
    for (unsigned i = 0; i < nbufs; i++) {
        /* Touch every byte, as a socket would read them. */
        volatile uint8_t sink = 0;
        for (size_t k = 0; k < bufs[i].len; k += 4096)
            sink ^= (uint8_t)bufs[i].base[k];
        (void)sink;
        m->bytes_written += bufs[i].len;
    }
    m->writes[m->nwrites++] = (pending_write){cb, user};
    return 0;
}

static void ms_close(sw_stream *s, sw_stream_close_cb cb)
{
    mem_stream *m = (mem_stream *)s;
    m->close_requested = true;
    m->close_cb = cb;
}

static size_t ms_queue(const sw_stream *s)
{
    (void)s;
    return 0;
}

static const sw_stream_ops mem_ops = {ms_read_start, ms_read_stop, ms_write, ms_close, ms_queue};

/* Completes pending writes, then a requested close. Returns true once the
 * stream is gone (freed). */
static bool ms_pump(mem_stream *m)
{
    while (m->nwrites > 0) {
        pending_write w = m->writes[0];
        memmove(m->writes, m->writes + 1, (m->nwrites - 1) * sizeof *m->writes);
        m->nwrites--;
        w.cb(&m->base, m->close_requested ? UV_ECANCELED : 0, w.user);
    }
    if (m->close_requested) {
        if (m->close_cb)
            m->close_cb(&m->base);
        free(m->writes);
        free(m);
        return true;
    }
    return false;
}

/* ---- the torrent and its environment (made once) ---- */

static uv_loop_t loop;
static sw_disk_pool *pool;
static sw_torrent_info *ti;
static sw_storage *storage;
static char dir[64];

static sw_torrent_info *make_torrent(uint8_t *data)
{
    for (int i = 0; i < TOTAL; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 9));
    uint8_t hashes[3 * 20];
    for (int p = 0; p < 3; p++) {
        int len = p < 2 ? PIECE : TOTAL - 2 * PIECE;
        sw__sha1(data + p * PIECE, (size_t)len, (sw_sha1 *)(hashes + 20 * p));
    }
    sw_bencoder *enc;
    uint8_t *buf;
    size_t len;
    if (sw_benc_new(&enc) < 0)
        abort();
    sw_benc_dict_begin(enc);
    sw_benc_ckey(enc, "info");
    sw_benc_dict_begin(enc);
    sw_benc_ckey(enc, "length");
    sw_benc_int(enc, TOTAL);
    sw_benc_ckey(enc, "name");
    sw_benc_cstr(enc, "f.bin");
    sw_benc_ckey(enc, "piece length");
    sw_benc_int(enc, PIECE);
    sw_benc_ckey(enc, "pieces");
    sw_benc_str(enc, hashes, sizeof hashes);
    sw_benc_end(enc);
    sw_benc_end(enc);
    if (sw_benc_finish(enc, &buf, &len) < 0)
        abort();
    sw_benc_free(enc);
    sw_torrent_info *t = NULL;
    if (sw_torrent_info_load(buf, len, NULL, &t, NULL) < 0)
        abort();
    free(buf);
    return t;
}

static void setup_once(void)
{
    if (pool)
        return;
    snprintf(dir, sizeof dir, "/tmp/sw-fuzz-peer-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    static uint8_t data[TOTAL];
    ti = make_torrent(data);
    char path[128];
    snprintf(path, sizeof path, "%s/f.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, TOTAL, f) != TOTAL)
        abort();
    fclose(f);
    if (uv_loop_init(&loop) < 0)
        abort();
    sw_disk_pool_opts o;
    sw__disk_pool_opts_init(&o);
    o.aio_threads = 1;
    if (sw__disk_pool_new(&loop, &o, &pool) < 0)
        abort();
    if (sw__disk_storage_new(pool, ti, dir, SW_STORAGE_SPARSE, &storage) < 0)
        abort();
}

/* ---- one run ---- */

typedef struct run {
    sw_swarm swarm;
    bool released;
} run;

static sw_swarm *find_swarm(void *ctx, const sw_sha1 *ih)
{
    run *r = ctx;
    return memcmp(ih, &r->swarm.info_hash, sizeof *ih) == 0 ? &r->swarm : NULL;
}

static void on_released(void *owner)
{
    ((run *)owner)->released = true;
}

static const sw_swarm_ops ops = {.released = on_released};

/* Runs the loop until cond holds, at most a few seconds. */
static void spin(bool (*cond)(void *), void *arg)
{
    for (int i = 0; i < 5000 && !cond(arg); i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (!cond(arg))
            usleep(200);
    }
    if (!cond(arg))
        abort(); /* something never completed: a stuck job or connection */
}

static bool no_conns(void *arg)
{
    return sw__peer_env_live_conns(arg) == 0;
}

static bool is_released(void *arg)
{
    return ((run *)arg)->released;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup_once();
    sw_settings *settings;
    if (sw_settings_new(&settings) < 0)
        abort();
    sw_peer_env env;
    memset(&env, 0, sizeof env);
    sw__peer_env_init(&env);
    env.loop = &loop;
    env.settings = settings;
    env.disk = pool;
    memcpy(env.peer_id.v, "-SW0100-fuzzfuzzfuzz", 20);
    env.listen_port = 6881;
    env.now_ms = uv_now(&loop);
    env.find_swarm = find_swarm;
    run r;
    memset(&r, 0, sizeof r);
    env.ctx = &r;
    if (sw__swarm_init(&r.swarm, &env, ti, storage, &ops, &r) < 0)
        abort();
    sw__swarm_set_have(&r.swarm, 0);
    sw__swarm_set_have(&r.swarm, 1);
    sw__swarm_checked(&r.swarm, NULL, 0);
    sw__swarm_set_active(&r.swarm, true);

    mem_stream *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->base.ops = &mem_ops;
    m->base.type = SW_SOCKET_TCP;
    sw__endpoint_from_ip(&m->base.remote, "127.0.0.2", 51413);
    sw__peer_env_accept(&env, &m->base);

    uint8_t flags = data[0];
    uint8_t hs[SW_WIRE_HANDSHAKE_LEN];
    size_t hs_len = 0;
    if (flags & 1) {
        sw_wire_handshake h;
        memset(&h, 0, sizeof h);
        sw__wire_reserved_set(h.reserved, SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST);
        h.info_hash = r.swarm.info_hash;
        memcpy(h.peer_id.v, "-XX0000-remotepeer00", 20);
        sw__wire_handshake_write(&h, hs);
        hs_len = sizeof hs;
    }
    /* The stream: the handshake (if any), then the input, in chunks. */
    size_t total = hs_len + size - 1;
    uint8_t *stream = malloc(total ? total : 1);
    if (!stream)
        abort();
    memcpy(stream, hs, hs_len);
    memcpy(stream + hs_len, data + 1, size - 1);
    uint32_t seed = (uint32_t)(flags >> 1) * 2654435761u + 1;
    size_t off = 0;
    bool gone = false;
    while (off < total && !gone) {
        if (!m->reading) {
            gone = ms_pump(m);
            uv_run(&loop, UV_RUN_NOWAIT);
            if (!gone && !m->reading)
                break; /* paused for good (nothing drains it here) */
            continue;
        }
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 300;
        if (chunk > total - off)
            chunk = total - off;
        uv_buf_t buf;
        m->base.alloc_cb(&m->base, chunk, &buf);
        size_t n = buf.len < chunk ? buf.len : chunk;
        memcpy(buf.base, stream + off, n);
        off += n;
        m->base.read_cb(&m->base, (ssize_t)n, &buf);
        gone = ms_pump(m);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    free(stream);
    /* Let disk jobs the input started (reads to serve, writes, hashes)
     * finish and their answers go out before the peer hangs up. */
    for (int idle = 0, i = 0; !gone && idle < 3 && i < 5000; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        gone = ms_pump(m);
        sw_disk_stats ds;
        sw__disk_pool_stats(pool, &ds);
        idle = ds.queued_jobs == 0 ? idle + 1 : 0;
        if (idle == 0)
            usleep(100);
    }
    if (!gone && getenv("SW_FUZZ_PEER_DEBUG"))
        fprintf(stderr, "fuzz_peer: %zu bytes in, %zu out\n", total, m->bytes_written);
    if (!gone && !m->close_requested)
        m->base.read_cb(&m->base, UV_EOF, NULL); /* the peer hangs up */
    if (!gone)
        gone = ms_pump(m);
    spin(no_conns, &env);
    sw__swarm_close(&r.swarm);
    spin(is_released, &r);
    sw__swarm_free(&r.swarm);
    sw_settings_free(settings);
    return 0;
}
