/* Test helpers for core/utp: a "node" is a UDP socket on 127.0.0.1 with a
 * uTP context on it, as the session will run one. Its send path can drop,
 * duplicate, reorder or refuse (UV_EAGAIN) datagrams on a fixed schedule, so
 * loss tests are deterministic. Everything runs on one loop. */
#ifndef SW_TEST_UTP_FIXTURE_H
#define SW_TEST_UTP_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "utp/utp.h"

typedef struct utp_node utp_node;
typedef void (*utp_node_accept_fn)(utp_node *n, sw_utp_socket *s);

struct utp_node {
    uv_loop_t *loop;
    uv_udp_t udp;
    sw_utp_ctx *ctx;
    sw_endpoint ep; /* where the node listens */
    utp_node_accept_fn on_accept;
    void *user;
    bool feed_utp; /* false: received datagrams are ignored (a dead peer) */

    /* Impairments on the send path, applied to the n-th datagram sent
     * (counting from 1): every drop_every-th is dropped, every
     * reorder_every-th is held back and sent after the next one, every
     * dup_every-th is sent twice, every eagain_every-th is refused with
     * UV_EAGAIN (not sent). 0 = off. */
    uint32_t drop_every, reorder_every, dup_every, eagain_every;
    uint64_t sends, dropped, reordered, duplicated, refused;
    uint64_t datagrams_in, bytes_out;

    /* batch: datagrams are queued by the send callback and written with one
     * sendmmsg per flush (the context's flush callback). */
    bool batch;
    bool gso; /* with batch: runs of equal-size datagrams to one address go
               * out as one UDP_SEGMENT send */
    struct utp_batch *queue;
    uint64_t flushes;

    /* A bottleneck: datagrams leave at most at rate_bps bytes per second
     * through an unbounded FIFO, so a sender that overfills it sees the
     * queueing delay grow (what LEDBAT reacts to). 0 = off. */
    uint32_t rate_bps;
    struct utp_link *link;

    uint8_t *held; /* a datagram held back: sent after the next or in 5 ms */
    size_t held_len;
    struct sockaddr_storage held_to;
    uv_timer_t hold_timer;

    int open_handles;
    bool udp_closed;
    bool ctx_closed;
    uint8_t rbuf[65536];
};

/* Binds to 127.0.0.1 on a free port. cfg NULL = sw__utp_config_init
 * defaults; cfg->send/on_accept/user are replaced by the node's. on_accept
 * NULL = refuse incoming connections. */
int utp_node_init(utp_node *n, uv_loop_t *loop, const sw_utp_config *cfg,
                  utp_node_accept_fn on_accept);
/* Closes the context (dropping what is left) and the UDP socket. Run the loop
 * afterwards until utp_node_closed. */
void utp_node_close(utp_node *n);
bool utp_node_closed(const utp_node *n);

/* Runs the loop until done(arg) is true or timeout_ms passes (returns
 * false then). */
bool utp_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg, int timeout_ms);
/* Runs the loop for ms milliseconds. */
void utp_run_for(uv_loop_t *loop, int ms);
/* Closes every handle left and the loop; false if the loop stays busy. */
bool utp_loop_done(uv_loop_t *loop);

/* Milliseconds a datagram entering the bottleneck now would wait. */
double utp_node_queue_delay_ms(const utp_node *n);

/* Deterministic test data: byte i of stream seed. */
void utp_fill_pattern(uint8_t *dst, size_t len, uint64_t offset, uint32_t seed);

#endif
