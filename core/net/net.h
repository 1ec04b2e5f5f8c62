/* core/net: addresses, listen sockets and the stream abstraction that peer
 * connections read and write through. This is the module's one public face
 * inside core/. Not for embedders or plugins.
 *
 * Streams. An sw_stream is a reliable byte stream to one remote endpoint.
 * TCP (stream_tcp.c) and uTP (stream_utp.c) exist; encrypted (MSE) and proxied
 * streams will implement the same sw_stream_ops table, so peer connections
 * never see what carries their bytes. The read side follows libuv: the owner
 * supplies alloc_cb/read_cb, reading starts with sw__stream_read_start and
 * stops (back-pressure) with sw__stream_read_stop. Writes take an iovec array
 * whose buffers must stay valid until the write callback; writes complete in
 * order. Close is asynchronous: the close callback is the last callback the
 * stream makes, and the stream's memory is freed right after it returns.
 *
 * Threading: every function here runs on the loop's thread (the network
 * thread). The address helpers are pure and may run on any thread. */
#ifndef SW_CORE_NET_H
#define SW_CORE_NET_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/net/net.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/alert.h>
#include <cswarm/error.h>

/* ---- endpoints (addr.c) ---- */

/* An IPv4 or IPv6 address and a port, compact and comparable with memcmp
 * once zero-initialised (sw__endpoint_* always zero unused bytes). */
typedef struct sw_endpoint {
    uint8_t family;   /* AF_INET or AF_INET6; 0 = unset */
    uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
    uint16_t port;    /* host byte order */
} sw_endpoint;

/* Longest text sw__endpoint_format writes, NUL included ("[v6]:port"). */
#define SW_ENDPOINT_STRLEN 56

/* From a socket address; SW_ERR_INVALID_ARG for another family. IPv4-mapped
 * IPv6 addresses become IPv4. */
int sw__endpoint_from_sockaddr(sw_endpoint *ep, const struct sockaddr *sa);
/* To a socket address (sizeof(struct sockaddr_storage) is enough room). */
void sw__endpoint_to_sockaddr(const sw_endpoint *ep, struct sockaddr_storage *ss);
/* Parses a numeric address ("1.2.3.4", "::1", "[::1]") and a port. */
int sw__endpoint_from_ip(sw_endpoint *ep, const char *ip, uint16_t port);
/* Parses "1.2.3.4:6881" or "[::1]:6881" (numeric only). */
int sw__endpoint_parse(sw_endpoint *ep, const char *text);
/* "1.2.3.4:6881" / "[::1]:6881" into out (SW_ENDPOINT_STRLEN bytes). */
void sw__endpoint_format(const sw_endpoint *ep, char *out, size_t out_len);
/* The address alone ("1.2.3.4", "::1"). */
void sw__endpoint_format_ip(const sw_endpoint *ep, char *out, size_t out_len);
bool sw__endpoint_equal(const sw_endpoint *a, const sw_endpoint *b);
/* Same address, any port. */
bool sw__endpoint_same_ip(const sw_endpoint *a, const sw_endpoint *b);
/* The IPv4 address in host byte order (0 for IPv6). */
uint32_t sw__endpoint_ipv4(const sw_endpoint *ep);
/* A hash of the address and port, for hash tables. */
uint32_t sw__endpoint_hash(const sw_endpoint *ep);
/* Fills an alert's peer description (ip text and port). */
void sw__endpoint_to_alert_peer(const sw_endpoint *ep, sw_alert_peer *out);

/* ---- streams (stream.c, stream_tcp.c) ---- */

typedef struct sw_stream sw_stream;

typedef void (*sw_stream_alloc_cb)(sw_stream *s, size_t suggested, uv_buf_t *buf);
/* nread > 0: data in buf; 0: nothing (not an error); < 0: UV_EOF or an error,
 * after which the owner closes the stream. */
typedef void (*sw_stream_read_cb)(sw_stream *s, ssize_t nread, const uv_buf_t *buf);
typedef void (*sw_stream_write_cb)(sw_stream *s, int status, void *user);
typedef void (*sw_stream_close_cb)(sw_stream *s);
typedef void (*sw_stream_connect_cb)(sw_stream *s, int status);

typedef struct sw_stream_ops {
    int (*read_start)(sw_stream *s);
    int (*read_stop)(sw_stream *s);
    int (*write)(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                 void *user);
    void (*close)(sw_stream *s, sw_stream_close_cb cb);
    /* Bytes handed to write and not yet given to the kernel. */
    size_t (*write_queue_size)(const sw_stream *s);
} sw_stream_ops;

struct sw_stream {
    const sw_stream_ops *ops;
    void *data; /* the owner's; never touched by the stream */
    sw_stream_alloc_cb alloc_cb;
    sw_stream_read_cb read_cb;
    sw_endpoint remote;
    sw_endpoint local;
    sw_socket_type type;
    bool outgoing;
    bool closing;
};

/* Starts delivering data to s->alloc_cb/s->read_cb (set them first). */
int sw__stream_read_start(sw_stream *s);
int sw__stream_read_stop(sw_stream *s);
/* Writes bufs in order; cb(s, status, user) runs exactly once unless this
 * returns an error. The bytes behind bufs stay the caller's and must stay
 * valid until cb; the uv_buf_t array itself may be reused at once. */
int sw__stream_write(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                     void *user);
/* Closes s: pending writes complete with UV_ECANCELED, then cb (may be NULL)
 * runs, then s is freed. Idempotent: a second call does nothing. */
void sw__stream_close(sw_stream *s, sw_stream_close_cb cb);
size_t sw__stream_write_queue_size(const sw_stream *s);

/* Starts a TCP connection to `to`. The stream exists at once (*s_out) so the
 * caller can close it to give up; cb(s, 0) once connected or cb(s, error) on
 * failure (then close it). bind_to may be NULL (the OS picks). */
int sw__stream_tcp_connect(uv_loop_t *loop, const sw_endpoint *to, const sw_endpoint *bind_to,
                           sw_stream_connect_cb cb, void *data, sw_stream **s_out);

/* uTP streams (stream_utp.c) over core/utp sockets of a context that the
 * session owns. */
typedef struct sw_utp_ctx sw_utp_ctx;
typedef struct sw_utp_socket sw_utp_socket;
/* Starts a uTP connection to `to` through ctx, like sw__stream_tcp_connect:
 * the stream exists at once, cb(s, 0) once the remote answered, or
 * cb(s, UV_ECONNREFUSED / UV_ETIMEDOUT / ...) (then close it). local (may be
 * NULL) is recorded as the stream's local endpoint (the UDP socket's).
 * SW_ERR_NOT_SUPPORTED when ctx is NULL. */
int sw__stream_utp_connect(sw_utp_ctx *ctx, const sw_endpoint *to, const sw_endpoint *local,
                           sw_stream_connect_cb cb, void *data, sw_stream **s_out);
/* Wraps a connected socket (an accepted one) as a stream; the stream owns
 * sock from now on. */
int sw__stream_utp_wrap(sw_utp_socket *sock, const sw_endpoint *local, sw_stream **s_out);
/* The remote is known to read datagrams of any size (it is cswarm): over a
 * loopback uTP stream, send it large ones (far fewer packets per byte).
 * Does nothing for other streams. */
void sw__stream_utp_remote_reads_large(sw_stream *s);

/* ---- encrypted streams (stream_mse.c) ---- */

/* Finds a torrent by HASH('req2', info_hash) for an incoming MSE handshake;
 * writes its info-hash to info_hash_out and returns true if one matches. */
typedef bool (*sw_stream_mse_find_cb)(void *user, const uint8_t req2[20],
                                      uint8_t info_hash_out[20]);

typedef struct sw_stream_mse_params {
    uv_loop_t *loop;
    /* Outgoing: run the MSE handshake for info_hash. Incoming: detect a
     * plaintext BitTorrent handshake or answer an MSE one. */
    bool outgoing;
    uint8_t info_hash[20];
    /* Incoming: whether a plaintext BitTorrent handshake is accepted. */
    bool accept_plaintext;
    /* allowed_enc_level: 1 plaintext, 2 RC4, 3 both (what is offered or
     * accepted after the MSE handshake). */
    int allowed_level;
    bool prefer_rc4;
    sw_stream_mse_find_cb find;
    void *find_user;
} sw_stream_mse_params;

/* Wraps inner (connected; the wrapper owns it from now on and sets its
 * data/alloc/read callbacks) in a stream that runs the MSE handshake before
 * any payload moves. Writes made before the handshake completes are held
 * and sent after it; reads deliver only payload. A failed handshake is
 * reported to the read callback as SW_ERR_HANDSHAKE (or
 * SW_ERR_INFO_HASH_MISMATCH) once reading starts. On error inner is left
 * to the caller. */
int sw__stream_mse_wrap(sw_stream *inner, const sw_stream_mse_params *p, sw_stream **s_out);
/* Whether s is an MSE wrapper whose remote completed an MSE handshake
 * (*rc4_out, may be NULL: RC4 was selected rather than plaintext). */
bool sw__stream_mse_encrypted(const sw_stream *s, bool *rc4_out);
/* Whether s is an MSE wrapper whose MSE handshake has not completed (a
 * connection closed in this state failed at the encryption layer). */
bool sw__stream_mse_pending(const sw_stream *s);
/* Whether a BitTorrent handshake for info_hash may follow on s: false only
 * when s completed an MSE handshake for another torrent (its SKEY). */
bool sw__stream_mse_allows_info_hash(const sw_stream *s, const uint8_t info_hash[20]);
/* The transport under s: the inner stream of an MSE wrapper, else s. */
sw_stream *sw__stream_transport(sw_stream *s);

/* ---- listen sockets (listen.c) ---- */

typedef struct sw_listener sw_listener;
/* A new connection; the callee owns the stream (and must close it). */
typedef void (*sw_listener_accept_cb)(void *user, sw_stream *s);
/* An accept failed (e.g. out of descriptors); the listener keeps going. */
typedef void (*sw_listener_error_cb)(void *user, int error);

/* Binds and listens on ep (port 0 = the OS picks; IPv6 sockets are
 * IPv6-only so an IPv4 socket may share the port). Returns 0 or a libuv
 * error (UV_EADDRINUSE, UV_EADDRNOTAVAIL, ...), with the failing operation
 * ("bind", "listen") in *op_out (may be NULL). */
int sw__listener_new(uv_loop_t *loop, const sw_endpoint *ep, sw_listener_accept_cb accept_cb,
                     sw_listener_error_cb error_cb, void *user, sw_listener **l_out,
                     const char **op_out);
/* The endpoint actually bound (with the OS-chosen port). */
const sw_endpoint *sw__listener_endpoint(const sw_listener *l);
/* Stops listening and frees l once its handle is closed; cb(user) then runs
 * (cb may be NULL). */
void sw__listener_close(sw_listener *l, void (*cb)(void *user), void *user);

#endif
