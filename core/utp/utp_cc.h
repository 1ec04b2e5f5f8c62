/* uTP congestion control pieces, kept pure so they can be tested alone:
 * the round-trip estimator behind the packet timeout, the base-delay history
 * that turns raw one-way timestamp differences into queuing delay, and the
 * LEDBAT window. Internal to core/utp (tests include it directly); no
 * threading concerns (plain values owned by one socket). */
#ifndef SW_CORE_UTP_CC_H
#define SW_CORE_UTP_CC_H

#include <stdbool.h>
#include <stdint.h>

/* ---- round-trip time (BEP 29 "timeouts") ---- */

typedef struct sw_utp_rtt {
    uint32_t rtt_us;
    uint32_t var_us;
    bool valid; /* false until the first sample */
} sw_utp_rtt;

/* The timeout before any sample exists (BEP 29: 1000 ms). */
#define SW_UTP_INITIAL_TIMEOUT_MS 1000

/* Feeds one round trip of a packet that was sent once:
 *   delta = rtt - sample; var += (|delta| - var) / 4; rtt += (sample - rtt) / 8 */
void sw__utp_rtt_sample(sw_utp_rtt *r, uint32_t sample_us);
/* max(rtt + 4 * var, min_timeout_ms) in milliseconds, or the initial
 * timeout (but at least min_timeout_ms) before the first sample. */
uint32_t sw__utp_rtt_timeout_ms(const sw_utp_rtt *r, uint32_t min_timeout_ms);

/* ---- base delay history ---- */

/* Minutes of per-minute minimums the base delay is the minimum of. */
#define SW_UTP_DELAY_HISTORY 3

/* Raw samples are differences of two unsynchronised 32-bit microsecond
 * clocks, so only differences between samples mean anything and every
 * comparison wraps. The base is the lowest sample of the last few minutes;
 * a sample minus the base is the queuing delay. */
typedef struct sw_utp_delay_hist {
    uint32_t minute_min[SW_UTP_DELAY_HISTORY];
    unsigned cur;          /* the bucket of the running minute */
    uint32_t base;         /* minimum over the buckets */
    uint64_t bucket_start; /* ms when the running minute began */
    bool valid;
} sw_utp_delay_hist;

void sw__utp_delay_hist_init(sw_utp_delay_hist *h);
/* Adds a raw sample taken at now_ms and returns it minus the base. */
uint32_t sw__utp_delay_hist_add(sw_utp_delay_hist *h, uint32_t sample, uint64_t now_ms);

/* ---- LEDBAT window ---- */

typedef struct sw_utp_cc_params {
    uint32_t target_delay_us; /* utp_target_delay */
    uint32_t gain_bytes;      /* utp_gain_factor: most growth per RTT */
    uint32_t loss_percent;    /* utp_loss_multiplier */
    uint32_t packet_bytes;    /* payload of a full packet (one "MSS") */
    uint32_t max_window;      /* a ceiling for the window, bytes */
} sw_utp_cc_params;

typedef struct sw_utp_cc {
    int64_t cwnd_fp;   /* window in bytes, 16 fractional bits */
    uint32_t ssthresh; /* 0 = none yet */
    bool slow_start;
} sw_utp_cc;

/* Starts with a window of initial_bytes, in slow start. */
void sw__utp_cc_init(sw_utp_cc *cc, uint32_t initial_bytes);
uint32_t sw__utp_cc_window(const sw_utp_cc *cc);
/* An ACK covered acked_bytes of payload. delay_us is the filtered queuing
 * delay, in_flight_before the bytes in flight before the ACK and
 * in_flight_after what is left. Grows or shrinks the window:
 *   gain = gain_bytes * (target - delay) / target * acked / in_flight_before
 * and in slow start by acked_bytes, until the delay reaches the target (the
 * window then halves: it doubled while that sample was on its way) or the
 * window passes ssthresh. A window the sender does not fill does not grow.
 * Returns true when the sample was above target. */
bool sw__utp_cc_on_ack(sw_utp_cc *cc, const sw_utp_cc_params *p, uint32_t acked_bytes,
                       uint32_t delay_us, uint32_t in_flight_before, uint32_t in_flight_after);
/* A packet was lost: window *= loss_percent / 100 (at least one packet),
 * slow start ends. */
void sw__utp_cc_on_loss(sw_utp_cc *cc, const sw_utp_cc_params *p);
/* The retransmission timer fired. idle: nothing was in flight (the direction
 * is quiet), so the window only decays; otherwise it falls to one packet and
 * slow start begins again. */
void sw__utp_cc_on_timeout(sw_utp_cc *cc, const sw_utp_cc_params *p, bool idle);

#endif
