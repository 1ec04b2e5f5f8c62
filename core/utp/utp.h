/* core/utp: uTP (BEP 29) sockets with LEDBAT congestion control. This is the
 * module's one public face inside core/. Not for embedders or plugins.
 *
 * Context. One sw_utp_ctx per UDP socket. The context never owns that
 * socket: it sends through cfg.send and the owner feeds it every datagram
 * through sw__utp_on_packet, which says whether the datagram was uTP, so one
 * UDP socket can carry uTP, DHT and UDP tracker traffic.
 *
 * Sockets. An sw_utp_socket is a reliable byte stream, shaped like a libuv
 * stream so that core/net can wrap it as an sw_stream:
 *   - reads: sw__utp_read_start(s, alloc_cb, read_cb) delivers in-order data
 *     (nread > 0), then UV_EOF after the remote's FIN, or an error
 *     (UV_ECONNRESET, UV_ETIMEDOUT, ...) after which the owner closes. Data
 *     not read stays buffered up to cfg.recv_buffer_size and the advertised
 *     window shrinks with it, so sw__utp_read_stop is back-pressure. An
 *     alloc_cb that returns an empty buffer gets read_cb(UV_ENOBUFS) and
 *     reading stops until the next sw__utp_read_start.
 *   - writes: sw__utp_write(s, bufs, n, cb, user) queues the bytes by
 *     reference; they must stay valid until cb. cb(s, 0, user) runs once every
 *     byte has been copied into a packet (sent, or held for coalescing);
 *     packets are made only while the congestion and receive windows have
 *     room, so sw__utp_write_queue_size growing is the back-pressure signal.
 *     Writes complete in order.
 *   - connect: sw__utp_connect returns the socket at once; cb(s, 0) on the
 *     remote's answer, or cb(s, UV_ECONNREFUSED / UV_ETIMEDOUT); then close.
 *   - accept: an incoming SYN makes a socket handed to cfg.on_accept (NULL =
 *     incoming connections are refused with ST_RESET).
 *   - close: sw__utp_close(s, cb) cancels queued writes (UV_ECANCELED), runs
 *     cb, and from then on s belongs to the context: data already in packets
 *     is still delivered, then a FIN is exchanged (bounded by timeouts).
 *     The owner must not touch s after cb.
 * Every callback runs on the loop thread, never from inside the call that
 * registered it (deferred to the context's dispatch, an idle handle), and the
 * close callback is the last one a socket makes.
 *
 * Wiring it up. The session: one context per UDP socket, cfg.send writing
 * with uv_udp_try_send (on UV_EAGAIN either queue the datagram or return
 * UV_EAGAIN and call sw__utp_ctx_writable when the socket drains),
 * optionally cfg.flush for sendmmsg / UDP GSO; every received datagram goes
 * to sw__utp_on_packet first, then to the DHT and the UDP tracker client;
 * sw__utp_config_from_settings on start and on settings changes
 * (sw__utp_ctx_set_config); cfg.on_accept NULL when enable_incoming_utp is
 * off. core/net, as an sw_stream of type SW_SOCKET_UTP: read_start ->
 * sw__utp_read_start with adapters forwarding to the stream's
 * alloc_cb/read_cb, read_stop -> sw__utp_read_stop, write -> sw__utp_write,
 * close -> sw__utp_close, write_queue_size -> sw__utp_write_queue_size,
 * remote -> sw__utp_socket_remote; the wrapper sits in the socket's data.
 *
 * Threading: everything here runs on the thread of the loop the context was
 * created on (the network thread). */
#ifndef SW_CORE_UTP_H
#define SW_CORE_UTP_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/utp/utp.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/error.h>
#include <cswarm/settings.h>

#include "net/net.h"
#include "utp_packet.h"

typedef struct sw_utp_ctx sw_utp_ctx;
typedef struct sw_utp_socket sw_utp_socket;

/* ---- context ---- */

/* Sends one datagram of len bytes to `to`; data is only valid during the
 * call. Returns 0 when sent (or queued by the owner), UV_EAGAIN / UV_ENOBUFS
 * when the UDP socket's buffer is full (the packet is kept and sent again
 * later, see sw__utp_ctx_writable), or another negative error (counted; the
 * packet counts as lost). */
typedef int (*sw_utp_send_fn)(void *user, const struct sockaddr *to, const uint8_t *data,
                              size_t len);
/* A new incoming connection; the callee owns s (and must close it). The
 * socket is connected already; set data and start reading. */
typedef void (*sw_utp_accept_fn)(void *user, sw_utp_socket *s);
/* Optional. Called once the context has handed over a round of datagrams
 * (after each dispatch pass and timer tick, and after sends made while a
 * datagram was being received), so the owner can queue datagrams in send
 * (returning 0) and write them together here with sendmmsg or UDP
 * segmentation offload. */
typedef void (*sw_utp_flush_fn)(void *user);

typedef struct sw_utp_config {
    sw_utp_send_fn send;        /* required */
    sw_utp_accept_fn on_accept; /* NULL: refuse incoming SYNs */
    sw_utp_flush_fn flush;      /* NULL: every send goes out on its own */
    /* Optional. Sends a path MTU probe: like send, but with the IP
     * don't-fragment bit set for this datagram (IP_MTU_DISCOVER), returning
     * UV_EMSGSIZE when it is larger than the local link or the path MTU the
     * kernel knows. NULL: probes go through send. */
    sw_utp_send_fn send_probe;
    void *user; /* passed to send, on_accept and flush */

    /* The utp_* session settings (same names, same units). */
    uint32_t target_delay_ms;    /* utp_target_delay */
    uint32_t gain_factor;        /* utp_gain_factor, bytes per RTT */
    uint32_t min_timeout_ms;     /* utp_min_timeout */
    uint32_t syn_resends;        /* utp_syn_resends */
    uint32_t fin_resends;        /* utp_fin_resends */
    uint32_t num_resends;        /* utp_num_resends */
    uint32_t connect_timeout_ms; /* utp_connect_timeout: a whole connection attempt */
    uint32_t loss_multiplier;    /* utp_loss_multiplier, percent */

    /* Path MTU discovery. A socket starts sending datagrams (uTP header +
     * payload) of packet_size bytes (loopback_packet_size to a loopback
     * address), sizes every path takes. With mtu_discovery it then probes
     * larger sizes, up to max_packet_size (the largest UDP payload of a
     * 1500-byte Ethernet frame over IPv4 by default; 20 bytes less to IPv6
     * remotes): one data packet at a time is made the probe size and sent
     * with don't-fragment (send_probe). An acknowledged probe raises the
     * size in use (the floor); a lost one, or one the kernel refuses with
     * UV_EMSGSIZE, lowers the ceiling without counting as congestion; the
     * next probe is halfway between, until they are 16 bytes apart. The
     * search starts over every ten minutes (paths change). */
    uint32_t packet_size;
    uint32_t loopback_packet_size;
    uint32_t max_packet_size;
    bool mtu_discovery;
    /* Received bytes a socket buffers (in order but unread, plus out of
     * order); the advertised window is what is left of it. */
    uint32_t recv_buffer_size;
    /* Hold a partial packet while data is in flight, so small writes
     * coalesce (Nagle). */
    bool nagle;
    /* An idle connected socket sends an ACK this often (NAT keep-alive);
     * 0 = never. */
    uint32_t keepalive_ms;
    /* At most this many sockets (incoming SYNs beyond it are ignored). */
    uint32_t max_sockets;
    /* Seed for connection ids and initial sequence numbers; 0 = from the
     * system's random source. */
    uint64_t rng_seed;
} sw_utp_config;

/* Defaults: the settings' defaults, packet_size 1400, loopback 1400,
 * max_packet_size 1472, MTU discovery on, recv_buffer_size 2 MiB, Nagle on, keep-alive 29 s, 4096
 * sockets. */
void sw__utp_config_init(sw_utp_config *cfg);
/* Copies the utp_* settings from s into cfg (leaves the rest alone). */
void sw__utp_config_from_settings(sw_utp_config *cfg, const sw_settings *s);

/* Creates a context on loop. cfg is copied. */
int sw__utp_ctx_new(uv_loop_t *loop, const sw_utp_config *cfg, sw_utp_ctx **ctx_out);
/* Replaces the configuration (e.g. after a settings change); existing
 * sockets keep their packet size. */
void sw__utp_ctx_set_config(sw_utp_ctx *ctx, const sw_utp_config *cfg);
/* Feeds one received datagram. Returns true if it was uTP (handled, or
 * dropped as malformed/unexpected and counted), false if the caller should
 * offer it to another protocol. */
bool sw__utp_on_packet(sw_utp_ctx *ctx, const uint8_t *data, size_t len,
                       const struct sockaddr *from);
/* The owner's UDP socket can take datagrams again after a send returned
 * UV_EAGAIN: stalled sockets resume now (otherwise they retry within a
 * millisecond). */
void sw__utp_ctx_writable(sw_utp_ctx *ctx);
/* Closes the context: sockets still owned by someone have their writes
 * cancelled and are dropped without a close callback (close them first to
 * get one), lingering closed sockets are dropped, then cb(user) runs once the
 * handles are closed and ctx is freed. cb may be NULL. */
void sw__utp_ctx_close(sw_utp_ctx *ctx, void (*cb)(void *user), void *user);

/* Counters, as libtorrent's utp_status and uTP session counters. */
typedef struct sw_utp_stats {
    /* sockets by state */
    uint32_t num_sockets; /* all, including the finished ones not yet freed */
    uint32_t num_idle;    /* connected, nothing in flight */
    uint32_t num_syn_sent;
    uint32_t num_connected; /* connected with data in flight */
    uint32_t num_fin_sent;
    uint32_t num_close_wait; /* closed by the owner, finishing the FIN exchange */
    /* events since the context was created */
    uint64_t packet_loss;
    uint64_t timeout;
    uint64_t packets_in;
    uint64_t packets_out;
    uint64_t fast_retransmit;
    uint64_t packet_resend;
    uint64_t samples_above_target;
    uint64_t samples_below_target;
    uint64_t payload_pkts_in;
    uint64_t payload_pkts_out;
    uint64_t invalid_pkts_in;
    uint64_t redundant_pkts_in;
    uint64_t send_failures;     /* send callbacks that failed (not EAGAIN) */
    uint64_t send_stalls;       /* send callbacks that returned EAGAIN/ENOBUFS */
    uint64_t mtu_probes;        /* path MTU probes sent */
    uint64_t mtu_probes_lost;   /* ... lost (not counted in packet_loss) */
    uint64_t mtu_probes_toobig; /* ... refused with UV_EMSGSIZE */
} sw_utp_stats;

void sw__utp_ctx_stats(const sw_utp_ctx *ctx, sw_utp_stats *out);

/* ---- sockets ---- */

typedef void (*sw_utp_connect_cb)(sw_utp_socket *s, int status);
typedef void (*sw_utp_alloc_cb)(sw_utp_socket *s, size_t suggested, uv_buf_t *buf);
typedef void (*sw_utp_read_cb)(sw_utp_socket *s, ssize_t nread, const uv_buf_t *buf);
typedef void (*sw_utp_write_cb)(sw_utp_socket *s, int status, void *user);
typedef void (*sw_utp_close_cb)(sw_utp_socket *s);

/* Starts a connection to `to` (its SYN goes out from the dispatch). data is
 * the owner's pointer (sw__utp_socket_data). */
int sw__utp_connect(sw_utp_ctx *ctx, const sw_endpoint *to, sw_utp_connect_cb cb, void *data,
                    sw_utp_socket **s_out);
int sw__utp_read_start(sw_utp_socket *s, sw_utp_alloc_cb alloc_cb, sw_utp_read_cb read_cb);
int sw__utp_read_stop(sw_utp_socket *s);
/* bufs (the array) may be reused at once; the bytes must stay valid until
 * cb. Errors: UV_EPIPE after the stream ended (FIN exchanged, reset, timed
 * out), SW_ERR_ABORTED after close, SW_ERR_NOMEM. */
int sw__utp_write(sw_utp_socket *s, const uv_buf_t *bufs, unsigned nbufs, sw_utp_write_cb cb,
                  void *user);
/* Bytes handed to sw__utp_write and not yet copied into packets. */
size_t sw__utp_write_queue_size(const sw_utp_socket *s);
/* Idempotent. */
void sw__utp_close(sw_utp_socket *s, sw_utp_close_cb cb);
/* Like sw__utp_close, but drops unsent data and ends the connection with an
 * ST_RESET at once (the remote sees UV_ECONNRESET); for peers we ban or
 * drop hard. */
void sw__utp_abort(sw_utp_socket *s, sw_utp_close_cb cb);

/* Lets s use datagrams of up to `size` bytes (clamped to what a UDP
 * datagram holds) if the remote is a loopback address, whose link takes
 * 64 KiB datagrams, and size is larger than the current limit. Only for a
 * remote known to read large datagrams (another cswarm): many uTP
 * implementations read at most about 1500 bytes, and a datagram cut short
 * by the reader's buffer is not a loss MTU discovery could see. With
 * mtu_discovery the size becomes the ceiling of a new search whose first
 * probe is that size (one round trip when the path takes it); without, the
 * size is used at once. Packets already made keep their size. */
void sw__utp_socket_raise_loopback_packet_size(sw_utp_socket *s, uint32_t size);

void *sw__utp_socket_data(const sw_utp_socket *s);
void sw__utp_socket_set_data(sw_utp_socket *s, void *data);
const sw_endpoint *sw__utp_socket_remote(const sw_utp_socket *s);
bool sw__utp_socket_outgoing(const sw_utp_socket *s);

typedef enum sw_utp_state {
    SW_UTP_STATE_SYN_SENT,
    SW_UTP_STATE_CONNECTED,
    SW_UTP_STATE_FIN_SENT,
    SW_UTP_STATE_DONE, /* FINs exchanged */
    SW_UTP_STATE_ERROR /* reset, refused or timed out */
} sw_utp_state;

/* A snapshot for diagnostics and tests. */
typedef struct sw_utp_socket_info {
    sw_utp_state state;
    uint16_t recv_id, send_id;
    uint32_t cwnd; /* congestion window, bytes */
    uint32_t ssthresh;
    bool slow_start;
    uint32_t remote_window; /* the remote's advertised window */
    uint32_t in_flight;     /* bytes sent and not acknowledged */
    uint32_t rtt_us, rtt_var_us;
    uint32_t timeout_ms;
    uint32_t queuing_delay_us;           /* last filtered one-way delay of our packets */
    uint32_t packet_size;                /* datagram size in use (the MTU floor) */
    uint32_t mtu_ceiling;                /* largest size the MTU search may try */
    bool mtu_searching;                  /* probes are still to be made */
    uint32_t recv_buffered;              /* bytes buffered on the receive side */
    uint64_t bytes_sent, bytes_received; /* payload */
    uint64_t packets_resent;
} sw_utp_socket_info;

void sw__utp_socket_info(const sw_utp_socket *s, sw_utp_socket_info *out);

#endif
