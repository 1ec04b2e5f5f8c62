/* Rate limits: token buckets refilled from the time elapsed whenever quota
 * is asked for (so a limit holds at any tick interval), and a bandwidth
 * queue of connections that found a bucket empty. One short timer wakes
 * the queue when the emptiest bucket it waits on will have refilled; each
 * waiting connection then tries again (serving reads for uploads, sending
 * requests for downloads). Payload bytes are what the limits count:
 * uploads at the disk read that feeds the piece messages, downloads at the
 * request that asks for the block. */
#include <stdlib.h>
#include <string.h>

#include "mixed_mode.h"
#include "peer_limits.h"

#define NS_PER_S 1000000000ull
/* A bucket holds at most this long's worth of quota (and at least one
 * block), so an idle spell buys only a short burst. */
#define BURST_MS 200
#define MIN_BURST (16 * 1024)
/* A limited upload reads about this fraction of a second's quota at once. */
#define BATCH_DIVISOR 20

struct sw_bw_timer {
    uv_timer_t timer;
    sw_peer_env *env;
    bool closed;
};

/* Stands for the timer once it is closed, so nothing starts another. */
static struct sw_bw_timer closed_timer = {.closed = true};

static int64_t burst(int limit)
{
    int64_t b = (int64_t)limit * BURST_MS / 1000;
    return b > MIN_BURST ? b : MIN_BURST;
}

void sw__bw_refill(sw_bw_bucket *b, int limit, uint64_t now_ns)
{
    if (limit <= 0 || b->last_ns == 0) {
        b->tokens = 0;
        b->last_ns = now_ns;
        return;
    }
    if (now_ns <= b->last_ns)
        return;
    uint64_t dt = now_ns - b->last_ns;
    if (dt > NS_PER_S) {
        dt = NS_PER_S;
        b->last_ns = now_ns - NS_PER_S;
    }
    /* limit < 2^31 and dt <= 1e9 < 2^30: the product fits. */
    int64_t add = (int64_t)((uint64_t)limit * dt / NS_PER_S);
    if (add <= 0)
        return; /* not a whole byte yet: the time is kept, not lost */
    b->tokens += add;
    b->last_ns += (uint64_t)add * NS_PER_S / (uint64_t)limit;
    int64_t cap = burst(limit);
    if (b->tokens > cap) {
        b->tokens = cap;
        b->last_ns = now_ns;
    }
}

/* Nanoseconds until the bucket holds a positive balance again. */
static uint64_t wait_ns(const sw_bw_bucket *b, int limit)
{
    if (limit <= 0 || b->tokens > 0)
        return 0;
    uint64_t need = (uint64_t)(1 - b->tokens);
    return need * NS_PER_S / (uint64_t)limit + 1;
}

static bool is_local(const sw_endpoint *ep)
{
    const uint8_t *a = ep->addr;
    if (ep->family == AF_INET)
        return a[0] == 10 || a[0] == 127 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
               (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254);
    if (ep->family == AF_INET6) {
        static const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return memcmp(a, loopback, 16) == 0 || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
               (a[0] & 0xfe) == 0xfc;
    }
    return false;
}

static bool exempt(const sw_peer_conn *pc)
{
    return SW_ENV_BOOL(pc->env, IGNORE_LIMITS_ON_LOCAL_NETWORK) && is_local(&pc->remote);
}

static int session_limit(const sw_peer_conn *pc, bool up)
{
    const sw_peer_env *env = pc->env;
    /* rate_limit_utp off: uTP peers pass the session's buckets (their own
     * congestion control yields to other traffic). */
    if (pc->stream && pc->stream->type == SW_SOCKET_UTP && !SW_ENV_BOOL(env, RATE_LIMIT_UTP))
        return 0;
    return up ? SW_ENV_INT(env, UPLOAD_RATE_LIMIT) : SW_ENV_INT(env, DOWNLOAD_RATE_LIMIT);
}

static void wake_queue(uv_timer_t *t)
{
    struct sw_bw_timer *bt = t->data;
    sw_peer_env *env = bt->env;
    env->now_ms = uv_now(env->loop);
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next) {
        sw_peer_conn *pc = sw->conns;
        while (pc) {
            sw_peer_conn *next = pc->next;
            bool up = pc->bw_wait_up > 0, down = pc->bw_wait_down > 0;
            pc->bw_wait_up = pc->bw_wait_down = 0;
            if (pc->state == SW_PEER_ACTIVE && (up || down)) {
                if (up)
                    sw__peer_serve_more(pc);
                if (down && pc->state == SW_PEER_ACTIVE)
                    sw__peer_request_more(pc);
                if (pc->state == SW_PEER_ACTIVE)
                    sw__peer_send_flush(pc);
            }
            pc = next;
        }
    }
}

static void schedule(sw_peer_env *env, uint64_t ns)
{
    struct sw_bw_timer *bt = env->bw_timer;
    if (!bt) {
        bt = calloc(1, sizeof *bt);
        if (!bt)
            return;
        uv_timer_init(env->loop, &bt->timer);
        bt->timer.data = bt;
        bt->env = env;
        env->bw_timer = bt;
    }
    if (bt->closed || uv_is_active((uv_handle_t *)&bt->timer))
        return;
    uint64_t ms = (ns + 999999) / 1000000;
    if (ms < 1)
        ms = 1;
    uv_timer_start(&bt->timer, wake_queue, ms, 0);
}

bool sw__peer_bw_take(sw_peer_conn *pc, bool up, int64_t n)
{
    sw_swarm *sw = pc->swarm;
    sw_peer_env *env = pc->env;
    int slimit = session_limit(pc, up);
    int tlimit = up ? sw->cfg.upload_limit : sw->cfg.download_limit;
    /* TCP peers' share while uTP peers are active (mixed_mode.c). */
    int mlimit =
        sw__mixed_mode_applies(pc) ? (up ? env->mixed_tcp_limit_up : env->mixed_tcp_limit_down) : 0;
    if ((slimit <= 0 && tlimit <= 0 && mlimit <= 0) || exempt(pc))
        return true;
    sw_bw_bucket *sb = up ? &env->up_bw : &env->down_bw;
    sw_bw_bucket *tb = up ? &sw->up_bw : &sw->down_bw;
    sw_bw_bucket *mb = up ? &env->mixed_tcp_up_bw : &env->mixed_tcp_down_bw;
    uint64_t now = uv_hrtime();
    sw__bw_refill(sb, slimit, now);
    sw__bw_refill(tb, tlimit, now);
    sw__bw_refill(mb, mlimit, now);
    uint64_t ws = wait_ns(sb, slimit), wt = wait_ns(tb, tlimit), wm = wait_ns(mb, mlimit);
    if (ws > 0 || wt > 0 || wm > 0) {
        if (up)
            pc->bw_wait_up = n;
        else
            pc->bw_wait_down = n;
        uint64_t w = ws > wt ? ws : wt;
        schedule(env, w > wm ? w : wm);
        return false;
    }
    /* Quota may run into debt, which the next refills repay. */
    if (slimit > 0)
        sb->tokens -= n;
    if (tlimit > 0)
        tb->tokens -= n;
    if (mlimit > 0)
        mb->tokens -= n;
    return true;
}

size_t sw__peer_bw_batch(const sw_peer_conn *pc, size_t max)
{
    int slimit = session_limit(pc, true);
    int tlimit = pc->swarm ? pc->swarm->cfg.upload_limit : 0;
    int limit = slimit > 0 && (tlimit <= 0 || slimit < tlimit) ? slimit : tlimit;
    int mlimit = sw__mixed_mode_applies(pc) ? pc->env->mixed_tcp_limit_up : 0;
    if (mlimit > 0 && (limit <= 0 || mlimit < limit))
        limit = mlimit;
    if (limit <= 0 || exempt(pc))
        return max;
    size_t b = (size_t)limit / BATCH_DIVISOR;
    if (b < MIN_BURST)
        b = MIN_BURST;
    return b < max ? b : max;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void sw__peer_bw_close(sw_peer_env *env)
{
    struct sw_bw_timer *bt = env->bw_timer;
    if (!bt) {
        env->bw_timer = &closed_timer;
        return;
    }
    if (bt->closed)
        return;
    bt->closed = true;
    uv_close((uv_handle_t *)&bt->timer, on_timer_closed);
    env->bw_timer = &closed_timer;
}

void sw__peer_env_bw_queue(const sw_peer_env *env, sw_bw_queue_stats *out)
{
    memset(out, 0, sizeof *out);
    for (const sw_swarm *sw = env->swarms; sw; sw = sw->next) {
        for (const sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
            if (pc->bw_wait_up > 0) {
                out->up_peers++;
                out->up_bytes += pc->bw_wait_up;
            }
            if (pc->bw_wait_down > 0) {
                out->down_peers++;
                out->down_bytes += pc->bw_wait_down;
            }
        }
    }
}
