/* Private to core/utp: the layouts of the context and the socket, and the
 * functions the module's files share. Everything runs on the loop thread. */
#ifndef SW_CORE_UTP_INTERNAL_H
#define SW_CORE_UTP_INTERNAL_H

#include "utp.h"
#include "utp_cc.h"

/* Most packets in flight per socket: far below half the 16-bit sequence
 * space, so sequence comparisons stay unambiguous. */
#define UTP_MAX_OUT_PACKETS 8192u
/* Largest selective ACK we send (covers 1024 packets past a hole). */
#define UTP_SACK_SEND_MAX 128u
/* Smallest datagram we accept as a configured packet size. */
#define UTP_MIN_PACKET_SIZE 150u
/* Largest datagram (UDP over IPv4 carries at most 65507 bytes). */
#define UTP_MAX_PACKET_SIZE 65507u
/* Dispatch ticks: timeouts and keep-alives are checked this often (ms).
 * Packet timeouts are at least utp_min_timeout (500 ms). */
#define UTP_TICK_MS 20u
/* Sends refused with UV_EAGAIN are retried after this long (ms) unless the
 * owner calls sw__utp_ctx_writable first. */
#define UTP_STALL_RETRY_MS 1u
/* Most packets one socket sends in one dispatch pass: a large window is
 * spread over loop iterations, interleaved with reading and other sockets. */
#define UTP_MAX_BURST 64u
/* Duplicate ACKs (or selectively ACKed packets past a hole) before a packet
 * counts as lost (BEP 29). */
#define UTP_DUP_ACK_LIMIT 3u

/* A packet we sent and must keep until it is acknowledged. The header is
 * rebuilt on every transmission (timestamps, ack_nr and window change). */
typedef struct utp_out_pkt {
    uint64_t sent_us; /* last transmission */
    uint16_t seq;
    uint16_t next_seq_at_send; /* our seq_nr when it last went out: ACKs of
                                * packets from there on prove it was lost */
    uint16_t payload_len;
    uint16_t capacity; /* payload room */
    uint8_t type;      /* ST_DATA or ST_FIN */
    uint8_t transmissions;
    bool need_resend; /* lost or timed out: not in flight, waiting to go again */
    bool in_flight;   /* counted in the socket's in_flight */
    bool mtu_probe;   /* the path MTU probe (first transmission, not lost yet) */
    uint8_t buf[];    /* SW_UTP_HEADER_SIZE bytes of header room, then the payload */
} utp_out_pkt;

/* Received payload: in-order chunks queue for the reader; out-of-order ones
 * wait in the reorder ring. */
typedef struct utp_in_pkt {
    struct utp_in_pkt *next;
    uint32_t len;
    uint32_t off; /* bytes already handed to the reader */
    uint8_t data[];
} utp_in_pkt;

typedef struct utp_write_req {
    struct utp_write_req *next;
    sw_utp_write_cb cb;
    void *user;
    int status;
    unsigned nbufs;
    unsigned idx; /* buffer being copied */
    size_t off;   /* bytes of bufs[idx] already copied */
    size_t remaining;
    uv_buf_t bufs[];
} utp_write_req;

struct sw_utp_socket {
    sw_utp_ctx *ctx;
    void *data;
    sw_endpoint remote;
    struct sockaddr_storage remote_sa;
    uint16_t recv_id; /* the id on packets we receive (our hash key) */
    uint16_t send_id; /* the id on packets we send */
    sw_utp_state state;
    bool outgoing;

    /* ctx bookkeeping */
    struct sw_utp_socket *hash_next;
    struct sw_utp_socket *prev, *next; /* every socket */
    struct sw_utp_socket *dirty_next;
    bool dirty;
    bool stalled; /* a send hit UV_EAGAIN; retry when writable */

    /* the owner's side */
    bool attached;        /* the owner holds s (until its close callback) */
    bool close_requested; /* sw__utp_close was called */
    bool close_cb_done;
    bool reading;
    bool accept_pending;  /* on_accept not called yet */
    bool connect_pending; /* connect callback not called yet */
    bool connect_ready;   /* ... and its result is known */
    int connect_status;
    sw_utp_connect_cb connect_cb;
    sw_utp_alloc_cb alloc_cb;
    sw_utp_read_cb read_cb;
    sw_utp_close_cb close_cb;
    int error; /* why the connection failed (UV_*), 0 = it did not */
    bool eof_delivered;
    bool error_delivered;

    /* sending */
    uint32_t packet_size;        /* datagram size */
    uint32_t max_payload;        /* packet_size - header */
    uint16_t seq_nr;             /* next sequence number to use */
    uint16_t acked_seq_nr;       /* everything up to this is acknowledged */
    uint16_t fast_resend_seq_nr; /* lowest seq not yet fast-resent */
    uint16_t loss_seq_nr;        /* losses at or below this belong to a handled event */
    utp_out_pkt **out;           /* ring indexed by seq & out_mask; NULL until needed */
    uint32_t out_mask;
    uint32_t in_flight;    /* payload bytes sent and not acked (resends excluded) */
    uint32_t resend_count; /* packets with need_resend */
    uint16_t resend_from;  /* no packet below this needs a resend */
    utp_out_pkt *partial;  /* a packet being filled (Nagle), no seq yet */
    utp_write_req *wq_head, *wq_tail;
    size_t wq_bytes;
    utp_write_req *done_head, *done_tail; /* completed, callbacks pending */
    bool fin_wanted;                      /* send a FIN once everything before it is out */
    bool fin_sent;
    bool fin_acked;
    uint16_t fin_seq;
    uint16_t syn_seq;
    uint32_t syn_sends;
    uint64_t syn_sent_us;
    uint32_t dup_acks;
    /* path MTU discovery (utp_mtu.c); packet_size is the floor */
    uint32_t mtu_ceiling;    /* the search tries sizes up to this */
    uint32_t mtu_max;        /* the ceiling a new search starts from */
    bool mtu_first_probe;    /* the next probe tries the ceiling itself */
    bool mtu_probing;        /* a probe is in flight */
    uint16_t mtu_probe_seq;  /* ... with this sequence number */
    uint64_t mtu_restart_ms; /* loop time when a finished search starts over */
    sw_utp_cc cc;
    uint32_t adv_wnd; /* the remote's receive window */
    sw_utp_rtt rtt;
    uint32_t num_timeouts; /* consecutive */
    uint64_t timeout_at;   /* ms: retransmission / SYN deadline, 0 = none */
    uint64_t last_send_ms;
    uint64_t connect_started_ms;
    uint64_t linger_until; /* ms: after our FIN is acked, wait this long for theirs */
    bool confirmed;        /* the remote answered (an accepted SYN may be spoofed) */
    bool probe;            /* send one packet into a closed window */

    /* delay measurement */
    uint32_t reply_micro;         /* our clock minus their timestamp, last packet */
    sw_utp_delay_hist delay_hist; /* of the delays the remote reports for our packets */
    uint32_t recent_delay[3];
    unsigned recent_idx;
    uint32_t last_delay_us;

    /* receiving */
    uint16_t ack_nr; /* last in-order seq received */
    bool got_fin;
    uint16_t eof_seq;
    bool eof_reached;              /* everything up to the FIN arrived */
    utp_in_pkt *rq_head, *rq_tail; /* in order, not yet read */
    uint32_t rq_bytes;
    utp_in_pkt **reorder; /* ring by seq & reorder_mask; NULL until needed */
    uint32_t reorder_mask;
    uint32_t reorder_count;
    uint32_t reorder_bytes;
    uint16_t reorder_max; /* highest seq in the ring (valid while count > 0) */
    bool ack_needed;
    uint32_t last_wnd_sent;

    uint64_t bytes_sent, bytes_received, packets_resent;
};

struct sw_utp_ctx {
    uv_loop_t *loop;
    sw_utp_config cfg;
    uv_timer_t tick;
    uv_idle_t idle;
    uv_timer_t retry; /* stalled sends try again shortly */
    int open_handles;
    bool idle_active;
    bool tick_active;
    bool retry_active;
    bool closing;
    void (*close_cb)(void *user);
    void *close_user;

    sw_utp_socket **buckets; /* hash of (remote, recv_id) */
    uint32_t bucket_mask;
    uint32_t count;
    sw_utp_socket *all;
    sw_utp_socket *dirty_head, *dirty_tail;
    bool any_stalled;
    bool unflushed;   /* datagrams sent since the last flush callback */
    bool in_dispatch; /* inside the idle or tick callback (they flush at the end) */
    uint64_t rng;
    sw_utp_stats stats;
};

/* utp_ctx.c */
uint32_t sw__utp_random(sw_utp_ctx *ctx);
uint64_t sw__utp_now_us(void);
/* Queues s for the dispatch (sending, ACKs and owner callbacks). */
void sw__utp_mark_dirty(sw_utp_socket *s);
sw_utp_socket *sw__utp_lookup(sw_utp_ctx *ctx, const sw_endpoint *ep, uint16_t recv_id);
/* Adds s (ids set) to the table and the list of sockets. */
int sw__utp_register(sw_utp_ctx *ctx, sw_utp_socket *s);
/* Removes s from both (sw__utp_socket_free does it). */
void sw__utp_unregister(sw_utp_ctx *ctx, sw_utp_socket *s);
/* Sends one datagram; returns the send callback's status. */
int sw__utp_send_raw(sw_utp_ctx *ctx, sw_utp_socket *s, const struct sockaddr *to,
                     const uint8_t *data, size_t len);
/* Sends a path MTU probe through cfg.send_probe (set); UV_EMSGSIZE = not
 * sent, too large to leave with don't-fragment. */
int sw__utp_send_raw_probe(sw_utp_ctx *ctx, sw_utp_socket *s, const struct sockaddr *to,
                           const uint8_t *data, size_t len);

/* utp_socket.c */
sw_utp_socket *sw__utp_socket_new(sw_utp_ctx *ctx, const sw_endpoint *remote);
/* Unlinks and frees s and everything it holds. */
void sw__utp_socket_free(sw_utp_socket *s);
/* Marks the connection failed with err (UV_*); owner learns through its
 * callbacks. */
void sw__utp_socket_fail(sw_utp_socket *s, int err);
/* Runs s's share of the dispatch; returns false if s was freed. */
bool sw__utp_socket_dispatch(sw_utp_socket *s);
/* Whether the protocol side has finished (nothing more to exchange). */
bool sw__utp_socket_finished(const sw_utp_socket *s);
uint32_t sw__utp_recv_window(const sw_utp_socket *s);
/* Copies up to max bytes of queued writes to dst; writes fully copied move to
 * the completed list. Returns the bytes copied. */
size_t sw__utp_take_write_bytes(sw_utp_socket *s, uint8_t *dst, size_t max);
/* Completes every queued (not yet packetized) write with status. */
void sw__utp_cancel_writes(sw_utp_socket *s, int status);

/* utp_mtu.c */
/* Sets s's packet size, ceiling and search from the config and the remote. */
void sw__utp_mtu_init(sw_utp_socket *s);
/* The datagram size the next new packet should probe, or 0 for no probe now
 * (no search running, a probe in flight, or the ceiling reached). */
uint32_t sw__utp_mtu_probe_size(sw_utp_socket *s, uint64_t now_ms);
/* p was made as the probe and is about to go out for the first time. */
void sw__utp_mtu_probe_sent(sw_utp_socket *s, utp_out_pkt *p);
/* The probe was acknowledged: its size becomes the floor. */
void sw__utp_mtu_probe_acked(sw_utp_socket *s, utp_out_pkt *p);
/* The probe was lost (too_big: refused by the kernel with UV_EMSGSIZE): the
 * ceiling drops below its size; p becomes an ordinary packet. */
void sw__utp_mtu_probe_failed(sw_utp_socket *s, utp_out_pkt *p, bool too_big);
/* A new search up to ceiling (a loopback remote known to read large
 * datagrams). */
void sw__utp_mtu_raise_ceiling(sw_utp_socket *s, uint32_t ceiling);
/* Sets the packet size in use (floor) and the payload that goes with it. */
void sw__utp_mtu_set_floor(sw_utp_socket *s, uint32_t size);

/* utp_recv.c */
/* Handles a packet addressed to s. */
void sw__utp_socket_incoming(sw_utp_socket *s, const sw_utp_packet *p, uint64_t now_us);
/* Sets up an accepting socket from a SYN. */
void sw__utp_socket_accept_syn(sw_utp_socket *s, const sw_utp_packet *p);

/* utp_send.c */
/* Sends what the windows allow: resends, new data, the FIN; then an ACK if
 * one is owed. */
void sw__utp_socket_flush(sw_utp_socket *s);
/* Sends a header-only packet of type (ST_STATE / ST_RESET / ST_SYN) now. */
void sw__utp_send_control(sw_utp_socket *s, uint8_t type);
/* Timers: retransmission, SYN and FIN resends, keep-alive, lingering. */
void sw__utp_socket_tick(sw_utp_socket *s, uint64_t now_ms);
/* The packet with seq in the send ring, or NULL. */
utp_out_pkt *sw__utp_out_at(const sw_utp_socket *s, uint16_t seq);
/* Frees the packet with seq (acknowledged), keeping the counters right. */
void sw__utp_out_remove(sw_utp_socket *s, uint16_t seq);
/* Marks p for retransmission (out of flight). */
void sw__utp_mark_lost(sw_utp_socket *s, utp_out_pkt *p);
/* The congestion parameters for s from the context's config. */
void sw__utp_cc_params(const sw_utp_socket *s, sw_utp_cc_params *p);
uint32_t sw__utp_packet_timeout_ms(const sw_utp_socket *s);

#endif
