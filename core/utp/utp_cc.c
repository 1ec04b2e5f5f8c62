/* uTP round-trip estimation, base delay history and the LEDBAT window. */
#include "utp_cc.h"

/* ---- round-trip time ---- */

void sw__utp_rtt_sample(sw_utp_rtt *r, uint32_t sample_us)
{
    if (!r->valid) {
        /* The first sample stands for the mean, with half of it as the
         * deviation (as TCP does, RFC 6298). */
        r->rtt_us = sample_us;
        r->var_us = sample_us / 2;
        r->valid = true;
        return;
    }
    int64_t delta = (int64_t)r->rtt_us - sample_us;
    if (delta < 0)
        delta = -delta;
    r->var_us = (uint32_t)((int64_t)r->var_us + (delta - (int64_t)r->var_us) / 4);
    r->rtt_us = (uint32_t)((int64_t)r->rtt_us + ((int64_t)sample_us - (int64_t)r->rtt_us) / 8);
}

uint32_t sw__utp_rtt_timeout_ms(const sw_utp_rtt *r, uint32_t min_timeout_ms)
{
    uint32_t t;
    if (!r->valid)
        t = SW_UTP_INITIAL_TIMEOUT_MS;
    else
        t = (uint32_t)(((uint64_t)r->rtt_us + 4ull * r->var_us + 999) / 1000);
    return t > min_timeout_ms ? t : min_timeout_ms;
}

/* ---- base delay history ---- */

#define MINUTE_MS 60000u

/* a < b on the wrapping 32-bit clock difference. */
static bool wrap_less(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

void sw__utp_delay_hist_init(sw_utp_delay_hist *h)
{
    *h = (sw_utp_delay_hist){0};
}

static void recompute_base(sw_utp_delay_hist *h)
{
    h->base = h->minute_min[h->cur];
    for (unsigned i = 0; i < SW_UTP_DELAY_HISTORY; i++)
        if (wrap_less(h->minute_min[i], h->base))
            h->base = h->minute_min[i];
}

uint32_t sw__utp_delay_hist_add(sw_utp_delay_hist *h, uint32_t sample, uint64_t now_ms)
{
    if (!h->valid) {
        for (unsigned i = 0; i < SW_UTP_DELAY_HISTORY; i++)
            h->minute_min[i] = sample;
        h->base = sample;
        h->cur = 0;
        h->bucket_start = now_ms;
        h->valid = true;
        return 0;
    }
    if (now_ms - h->bucket_start >= MINUTE_MS) {
        /* A new minute: the oldest bucket is forgotten, so a base that drifted
         * (clock drift, a route change) is replaced within a few minutes. */
        h->cur = (h->cur + 1) % SW_UTP_DELAY_HISTORY;
        h->minute_min[h->cur] = sample;
        h->bucket_start = now_ms;
        recompute_base(h);
    }
    if (wrap_less(sample, h->minute_min[h->cur]))
        h->minute_min[h->cur] = sample;
    if (wrap_less(sample, h->base))
        h->base = sample;
    return sample - h->base;
}

/* ---- LEDBAT ---- */

#define FP_ONE (1ll << 16)

void sw__utp_cc_init(sw_utp_cc *cc, uint32_t initial_bytes)
{
    cc->cwnd_fp = (int64_t)initial_bytes * FP_ONE;
    cc->ssthresh = 0;
    cc->slow_start = true;
}

uint32_t sw__utp_cc_window(const sw_utp_cc *cc)
{
    int64_t w = cc->cwnd_fp / FP_ONE;
    return w > 0 ? (uint32_t)w : 0;
}

static void clamp(sw_utp_cc *cc, const sw_utp_cc_params *p)
{
    if (cc->cwnd_fp < 0)
        cc->cwnd_fp = 0;
    if (p->max_window && cc->cwnd_fp > (int64_t)p->max_window * FP_ONE)
        cc->cwnd_fp = (int64_t)p->max_window * FP_ONE;
}

bool sw__utp_cc_on_ack(sw_utp_cc *cc, const sw_utp_cc_params *p, uint32_t acked_bytes,
                       uint32_t delay_us, uint32_t in_flight_before, uint32_t in_flight_after)
{
    if (acked_bytes == 0 || in_flight_before == 0)
        return false;
    int64_t target = p->target_delay_us ? p->target_delay_us : 1;
    bool above = (int64_t)delay_us >= target;
    if (above && cc->slow_start) {
        /* The window doubled during the round trip this sample took to come
         * back: the half before it is the one that reached the target. */
        cc->cwnd_fp /= 2;
        int64_t floor = (int64_t)p->packet_bytes * FP_ONE;
        if (cc->cwnd_fp < floor)
            cc->cwnd_fp = floor;
        cc->ssthresh = sw__utp_cc_window(cc);
        cc->slow_start = false;
    }
    /* Only a window the sender fills says anything about the path; an
     * application-limited sender must not inflate it. */
    int64_t window = sw__utp_cc_window(cc);
    bool saturated = (int64_t)in_flight_after + acked_bytes + p->packet_bytes > window;
    if (!saturated && !above)
        return above;

    /* Fixed point, 16 fractional bits. */
    int64_t window_factor = ((int64_t)acked_bytes * FP_ONE) / in_flight_before;
    int64_t delay_factor = ((target - (int64_t)delay_us) * FP_ONE) / target;
    int64_t linear = ((window_factor * delay_factor) / FP_ONE) * (int64_t)p->gain_bytes;
    int64_t gain = linear;
    if (cc->slow_start && saturated) {
        int64_t exponential = (int64_t)acked_bytes * FP_ONE;
        if (cc->ssthresh && (cc->cwnd_fp + exponential) / FP_ONE > cc->ssthresh)
            cc->slow_start = false; /* growing past the threshold would overshoot */
        else if (exponential > linear)
            gain = exponential;
    }
    if (!saturated && gain > 0)
        gain = 0; /* shrink on delay, never grow an unused window */
    cc->cwnd_fp += gain;
    clamp(cc, p);
    return above;
}

void sw__utp_cc_on_loss(sw_utp_cc *cc, const sw_utp_cc_params *p)
{
    int64_t w = cc->cwnd_fp / 100 * (int64_t)p->loss_percent;
    int64_t floor = (int64_t)p->packet_bytes * FP_ONE;
    cc->cwnd_fp = w > floor ? w : floor;
    cc->slow_start = false;
    cc->ssthresh = sw__utp_cc_window(cc);
    clamp(cc, p);
}

void sw__utp_cc_on_timeout(sw_utp_cc *cc, const sw_utp_cc_params *p, bool idle)
{
    int64_t one = (int64_t)p->packet_bytes * FP_ONE;
    if (idle && cc->cwnd_fp >= one) {
        int64_t w = cc->cwnd_fp * 2 / 3;
        cc->cwnd_fp = w > one ? w : one;
        return;
    }
    cc->cwnd_fp = one;
    cc->slow_start = true; /* ssthresh (if any) ends it before new loss */
}
