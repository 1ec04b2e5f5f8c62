/* Private to core/peer: the peer connection's layout and the functions its
 * files share. Other modules use swarm.h. */
#ifndef SW_CORE_PEER_CONN_INT_H
#define SW_CORE_PEER_CONN_INT_H

#include "swarm.h"

enum sw_peer_state {
    SW_PEER_CONNECTING = 0, /* outgoing TCP connect in progress */
    SW_PEER_HANDSHAKE,      /* waiting for the peer's handshake */
    SW_PEER_ACTIVE,         /* handshake done, exchanging messages */
    SW_PEER_CLOSING,        /* stream and jobs winding down */
};

/* A block we asked the peer for. */
typedef struct sw_out_req {
    sw_picker_block block;
    uint32_t begin, length;
    uint64_t sent_ms;
} sw_out_req;

/* A block the peer asked us for. */
typedef struct sw_in_req {
    uint32_t index, begin, length;
    bool reading;   /* a disk read is in flight */
    bool cancelled; /* cancelled while reading: drop the data */
} sw_in_req;

/* A disk buffer shared by several outgoing piece messages (one read serves
 * a run of contiguous requests); freed when the last slice is written. */
typedef struct sw_shared_buf {
    int refs;
    uint8_t *data;
} sw_shared_buf;

/* One piece of outgoing bytes. Small messages are built in place (data ==
 * inline storage grown with the buffer); block data is a slice of a disk
 * buffer sent without a copy. */
typedef struct sw_send_chunk {
    struct sw_send_chunk *next;
    uint8_t *data;
    size_t len;
    size_t cap;            /* > 0: a small-message buffer that may still grow */
    sw_shared_buf *shared; /* data is a slice of this buffer, not owned */
} sw_send_chunk;

/* Received blocks of one piece waiting to be written as one job: blocks
 * that arrive in order are copied end to end and written together. */
typedef struct sw_write_batch {
    uint8_t *buf; /* NULL when empty */
    size_t len, cap;
    int piece;
    uint32_t begin;
} sw_write_batch;

#define SW_PEER_SEND_BATCH 64             /* chunks per write */
#define SW_PEER_WRITE_BATCH (1024 * 1024) /* most bytes per disk write */
#define SW_PEER_READ_BATCH (1024 * 1024)  /* most bytes per disk read */
#define SW_PEER_RECV_BUF (256 * 1024)     /* receive buffer */
#define SW_PEER_MAX_ALLOWED_FAST 32       /* allowed-fast pieces kept per peer */

struct sw_peer_conn {
    sw_peer_env *env;
    sw_swarm *swarm;      /* NULL until the handshake names the torrent */
    sw_peer_entry *entry; /* identity in the picker; set with swarm */
    sw_stream *stream;    /* NULL once closed */
    sw_peer_conn *prev, *next;
    uint32_t id;
    int state;
    bool outgoing;
    bool counted_half_open;
    sw_endpoint remote;

    /* handshake */
    sw_wire_hs_reader hs;
    bool sent_handshake;
    bool got_handshake;
    sw_peer_id peer_id;
    unsigned features; /* SW_WIRE_FEATURE_* both sides support */
    char client[64];
    sw_wire_parser parser;
    uint8_t *rbuf;

    /* the peer's side */
    sw_bitfield have;
    bool avail_seed; /* its availability is counted as a seed */
    bool counted;    /* its availability is in the picker */
    bool peer_choking, peer_interested;
    bool upload_only;
    uint32_t reqq; /* most requests it queues (extension handshake) */
    uint32_t allowed_fast[SW_PEER_MAX_ALLOWED_FAST];
    int num_allowed_fast;
    int suggested; /* last suggested piece, -1 if none */
    bool got_bitfield_msg;
    bool sent_allowed_fast;
    uint32_t af_out[10]; /* allowed-fast pieces we offered it */
    int num_af_out;

    /* our side */
    bool am_choking, am_interested;
    bool optimistic;
    uint64_t last_unchoke_ms, last_optimistic_ms;

    /* our requests to it */
    sw_out_req *out;
    int num_out, cap_out;
    int desired_queue;
    bool slow_start;
    int64_t prev_rate;
    bool snubbed;
    uint64_t last_block_ms;
    int64_t queued_disk_bytes;
    sw_write_batch wbatch;
    bool read_paused; /* waiting for disk writes to drain */
    bool read_stopped_by_us;

    /* its requests to us */
    sw_in_req *in;
    int num_in, cap_in;
    int reads_in_flight;
    size_t reading_bytes;

    /* sending */
    sw_send_chunk *send_head, *send_tail;
    size_t send_bytes;      /* queued, not yet handed to the stream */
    size_t write_bytes;     /* handed to the stream, not yet completed */
    /* Bytes of quota waited for in the bandwidth queue (0: not waiting). */
    int64_t bw_wait_up, bw_wait_down;
    sw_send_chunk *writing; /* chunks of the write in flight */
    bool write_in_flight;

    /* bookkeeping */
    int pending_jobs; /* disk jobs whose callback will name this connection */
    uint64_t connected_ms, last_recv_ms, last_send_ms, last_payload_ms;
    sw_xfer_stats stats;
    sw_xfer_rates rates;
    int close_error;
    const char *close_op;
    bool freed_stream;
    void *plugins; /* plugin state (core/session), NULL if none */

    /* super seeding (super_seed.c): pieces shown to it (no bits when it was
     * greeted as by a plain seed) and the one it was shown last (-1) */
    sw_bitfield ss_revealed;
    int ss_piece;
    bool ss_counted; /* ss_piece is counted in the swarm's ss_shown */
};

/* peer_conn.c */
sw_peer_conn *sw__peer_conn_alloc(sw_peer_env *env);
/* Frees the connection if nothing refers to it any more. */
void sw__peer_conn_maybe_free(sw_peer_conn *pc);
/* Outgoing connection to a peer-list entry of a swarm. */
int sw__peer_conn_connect(sw_swarm *sw, sw_peer_entry *e);
/* Attaches pc to a swarm (entry found or added); false refuses the peer. */
bool sw__peer_conn_attach(sw_peer_conn *pc, sw_swarm *sw);
void sw__peer_conn_tick(sw_peer_conn *pc);
bool sw__peer_conn_is_seed(const sw_peer_conn *pc);

/* peer_conn_recv.c */
void sw__peer_conn_start_reading(sw_peer_conn *pc);
void sw__peer_conn_resume_reading(sw_peer_conn *pc);
/* Takes the peer's pieces out of the picker's availability. */
void sw__peer_uncount(sw_peer_conn *pc);

/* peer_conn_send.c */
/* Reserves n bytes at the end of the send queue for a small message. */
int sw__peer_send_reserve(sw_peer_conn *pc, size_t n, uint8_t **space_out);
/* Appends a complete message built in a scratch sw_buf. */
int sw__peer_send_buf(sw_peer_conn *pc, const sw_buf *b);
/* Queues a block buffer (taking it, malloc'd). */
int sw__peer_send_owned(sw_peer_conn *pc, uint8_t *data, size_t len);
/* Queues len bytes at data, a slice of shared (taking one reference). */
int sw__peer_send_slice(sw_peer_conn *pc, sw_shared_buf *shared, uint8_t *data, size_t len);
void sw__shared_buf_unref(sw_shared_buf *b);
/* Starts a write if none is in flight. */
void sw__peer_send_flush(sw_peer_conn *pc);
void sw__peer_send_free_all(sw_peer_conn *pc);
int sw__peer_send_simple(sw_peer_conn *pc, uint8_t id);
int sw__peer_send_have(sw_peer_conn *pc, uint32_t index);
int sw__peer_send_request(sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length);
int sw__peer_send_cancel(sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length);
int sw__peer_send_reject(sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length);
void sw__peer_send_handshake(sw_peer_conn *pc);
/* Bitfield (or have_all/have_none), extension handshake, allowed-fast. */
void sw__peer_send_greeting(sw_peer_conn *pc);
void sw__peer_choke(sw_peer_conn *pc);
void sw__peer_unchoke(sw_peer_conn *pc);

/* peer_conn_request.c: downloading from the peer */
void sw__peer_update_interest(sw_peer_conn *pc);
void sw__peer_request_more(sw_peer_conn *pc);
void sw__peer_on_piece(sw_peer_conn *pc, const sw_wire_msg *m);
/* The bookkeeping of a piece message (counters, its request, snubbing,
 * the picker); true with the block when its data is to be stored. */
bool sw__peer_block_arrived(sw_peer_conn *pc, uint32_t index, uint32_t begin, size_t len,
                            sw_picker_block *b_out);
/* Where the block goes in the write batch (a batch it does not continue is
 * flushed first); NULL when out of memory. */
uint8_t *sw__peer_block_slot(sw_peer_conn *pc, uint32_t index, uint32_t begin, size_t len);
/* The block in its slot is complete: it joins the batch. */
void sw__peer_block_commit(sw_peer_conn *pc, sw_picker_block b, size_t len);
void sw__peer_on_reject(sw_peer_conn *pc, const sw_wire_msg *m);
void sw__peer_on_choked(sw_peer_conn *pc);
/* Gives back every outstanding request (disconnect, snub). */
void sw__peer_abort_requests(sw_peer_conn *pc, bool send_cancel);
/* Removes the outstanding request for b, sending a cancel (end-game). */
void sw__peer_cancel_block(sw_peer_conn *pc, sw_picker_block b);
void sw__peer_request_tick(sw_peer_conn *pc);
/* Submits the blocks waiting in the write batch. */
void sw__peer_flush_writes(sw_peer_conn *pc);

/* peer_conn_serve.c: uploading to the peer */
void sw__peer_on_request(sw_peer_conn *pc, const sw_wire_msg *m);
void sw__peer_on_cancel(sw_peer_conn *pc, const sw_wire_msg *m);
/* Starts disk reads for queued requests while the send queue has room. */
void sw__peer_serve_more(sw_peer_conn *pc);
/* We choked the peer: drop (and with fast, reject) its queued requests. */
void sw__peer_drop_requests(sw_peer_conn *pc);

/* peer_conn_ext.c */
void sw__peer_send_ext_handshake(sw_peer_conn *pc);
void sw__peer_on_extended(sw_peer_conn *pc, const sw_wire_msg *m);

/* super_seed.c */
/* Greets pc as a super seeder (have_none and one HAVE); false when the swarm
 * is not super seeding and pc gets the plain greeting. */
bool sw__super_seed_greet(sw_peer_conn *pc);
/* Whether pc may be served piece (it was shown the piece, or it is not
 * under super seeding). */
bool sw__super_seed_allows(const sw_peer_conn *pc, uint32_t piece);
/* pc announced piece (after its set was updated). */
void sw__super_seed_on_have(sw_peer_conn *pc, uint32_t piece);
/* pc is closing: drops its super-seeding state. */
void sw__super_seed_conn_closed(sw_peer_conn *pc);

/* swarm.c */
/* Finds or adds the peer-list entry for ep. */
int sw__swarm_entry(sw_swarm *sw, const sw_endpoint *ep, uint8_t source, sw_peer_entry **e_out);
/* A block finished writing; hashes the piece when it is complete. */
void sw__swarm_block_written(sw_swarm *sw, sw_picker_block b, int error, sw_disk_op op, int file);
/* A disk job failed: the torrent stops with an error (unless aborted). */
void sw__swarm_disk_error(sw_swarm *sw, int error, sw_disk_op op, int file);
/* The peer-list entry for pc's peer whose availability changed. */
void sw__swarm_conn_closed(sw_swarm *sw, sw_peer_conn *pc);
void sw__swarm_emit(sw_swarm *sw, sw_peer_conn *pc, sw_alert_type type, int error, const char *op);
void sw__env_emit(sw_peer_env *env, sw_peer_conn *pc, sw_alert_type type, int error,
                  const char *op);
void sw__swarm_release_ref(sw_swarm *sw);

/* Settings shortcuts. */
#define SW_ENV_INT(env, ID) sw__settings_int((env)->settings, SW_SET_##ID)
#define SW_ENV_BOOL(env, ID) sw__settings_bool((env)->settings, SW_SET_##ID)

#endif
