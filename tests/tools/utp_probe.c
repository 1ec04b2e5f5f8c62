/* utp_probe: a minimal BitTorrent peer over cswarm's uTP sockets (core/utp),
 * without the session, for wire-compatibility tests against other clients.
 *
 *   utp_probe fetch PORT INFO_HASH_HEX DATA_FILE PIECE_LENGTH
 *       Connects to 127.0.0.1:PORT over uTP, exchanges BitTorrent handshakes,
 *       says interested, downloads every block of the torrent whose content
 *       is DATA_FILE and compares it with the file. Exits 0 when all of it
 *       arrived intact.
 *   utp_probe serve INFO_HASH_HEX DATA_FILE PIECE_LENGTH
 *       Accepts uTP connections on 127.0.0.1 (the port is printed), answers
 *       the handshake, announces every piece, unchokes and serves requests
 *       from DATA_FILE. Stops when stdin reaches end of file.
 *
 * One JSON object per line on stdout reports progress ("listening",
 * "handshake", "done", "error"). A 120 s watchdog ends a stuck run. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utp/utp.h"

#define BLOCK 16384u
#define PIPELINE 64u

typedef struct conn conn;

typedef struct probe {
    uv_loop_t loop;
    uv_udp_t udp;
    uv_pipe_t in;
    uv_timer_t watchdog;
    uv_timer_t drain; /* after the fetch: wait for the FIN exchange */
    uint64_t fetched;
    double fetch_secs;
    int drain_ticks;
    sw_utp_ctx *ctx;
    bool serve;
    uint8_t info_hash[20];
    uint8_t *data;
    uint64_t size;
    uint32_t piece_len;
    uint32_t num_pieces;
    uint8_t rbuf[65536];
    conn *conns;
    int exit_code;
    bool stopping;
    uint64_t start_ns;
} probe;

struct conn {
    probe *p;
    sw_utp_socket *s;
    conn *next;
    uint8_t *buf; /* received, not yet parsed */
    size_t len, cap;
    bool got_handshake;
    bool choked;
    /* fetch */
    uint8_t *have_block; /* per block: 0 missing, 1 requested, 2 received */
    uint32_t num_blocks;
    uint32_t next_block;
    uint32_t outstanding;
    uint64_t received;
    bool done;
    /* serve */
    uint64_t served;
    char rd[65536];
};

static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void stop(probe *p, int code);
static void on_conn_closed(sw_utp_socket *s);
static void on_drain(uv_timer_t *t);

/* ---- writing ---- */

static void on_written(sw_utp_socket *s, int status, void *user)
{
    (void)s;
    (void)status;
    free(user);
}

/* Sends hdr (copied) followed by body (borrowed from the probe's data). */
static void send_msg(conn *c, const uint8_t *hdr, size_t hdr_len, const uint8_t *body,
                     size_t body_len)
{
    uint8_t *h = malloc(hdr_len);
    if (!h)
        return;
    memcpy(h, hdr, hdr_len);
    uv_buf_t bufs[2] = {uv_buf_init((char *)h, (unsigned)hdr_len),
                        uv_buf_init((char *)body, (unsigned)body_len)};
    if (sw__utp_write(c->s, bufs, body_len ? 2 : 1, on_written, h) < 0)
        free(h);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void send_simple(conn *c, uint8_t id)
{
    uint8_t m[5];
    put32(m, 1);
    m[4] = id;
    send_msg(c, m, 5, NULL, 0);
}

static void send_handshake(conn *c)
{
    uint8_t hs[68] = {19};
    memcpy(hs + 1, "BitTorrent protocol", 19);
    memcpy(hs + 28, c->p->info_hash, 20);
    memcpy(hs + 48, "-SW0001-utpprobe0000", 20);
    send_msg(c, hs, sizeof hs, NULL, 0);
}

static uint32_t piece_size(const probe *p, uint32_t index)
{
    uint64_t start = (uint64_t)index * p->piece_len;
    uint64_t left = p->size - start;
    return left < p->piece_len ? (uint32_t)left : p->piece_len;
}

/* ---- fetching ---- */

static void request_more(conn *c)
{
    probe *p = c->p;
    while (!c->choked && c->outstanding < PIPELINE && c->next_block < c->num_blocks) {
        uint32_t b = c->next_block++;
        if (c->have_block[b] != 0)
            continue;
        uint64_t off = (uint64_t)b * BLOCK;
        uint32_t index = (uint32_t)(off / p->piece_len);
        uint32_t begin = (uint32_t)(off % p->piece_len);
        uint32_t len = BLOCK;
        if (begin + len > piece_size(p, index))
            len = piece_size(p, index) - begin;
        uint8_t m[17];
        put32(m, 13);
        m[4] = 6;
        put32(m + 5, index);
        put32(m + 9, begin);
        put32(m + 13, len);
        send_msg(c, m, sizeof m, NULL, 0);
        c->have_block[b] = 1;
        c->outstanding++;
    }
}

static void on_choke_change(conn *c, bool choked)
{
    c->choked = choked;
    if (choked) {
        /* Requests are dropped on choke: ask again after the unchoke. */
        for (uint32_t b = 0; b < c->num_blocks; b++)
            if (c->have_block[b] == 1)
                c->have_block[b] = 0;
        c->outstanding = 0;
        c->next_block = 0;
    } else {
        request_more(c);
    }
}

static void on_piece(conn *c, const uint8_t *msg, uint32_t len)
{
    probe *p = c->p;
    if (len < 9)
        return;
    uint32_t index = get32(msg + 1), begin = get32(msg + 5);
    uint32_t n = len - 9;
    uint64_t off = (uint64_t)index * p->piece_len + begin;
    if (index >= p->num_pieces || begin % BLOCK || off + n > p->size) {
        emit("{\"event\":\"error\",\"why\":\"piece out of range\"}");
        stop(p, 1);
        return;
    }
    if (memcmp(p->data + off, msg + 9, n) != 0) {
        emit("{\"event\":\"error\",\"why\":\"data mismatch at %" PRIu64 "\"}", off);
        stop(p, 1);
        return;
    }
    uint32_t b = (uint32_t)(off / BLOCK);
    if (c->have_block[b] == 1)
        c->outstanding--;
    if (c->have_block[b] != 2) {
        c->have_block[b] = 2;
        c->received += n;
    }
    if (c->received == p->size && !c->done) {
        c->done = true;
        p->fetched = c->received;
        p->fetch_secs = (double)(uv_hrtime() - p->start_ns) / 1e9;
        /* Close gracefully and report once the FIN exchange is over. */
        sw__utp_close(c->s, on_conn_closed);
        uv_timer_start(&p->drain, on_drain, 20, 20);
        return;
    }
    request_more(c);
}

/* ---- serving ---- */

static void send_bitfield(conn *c)
{
    probe *p = c->p;
    uint32_t nbytes = (p->num_pieces + 7) / 8;
    uint8_t *m = calloc(1, 5 + nbytes);
    if (!m)
        return;
    put32(m, 1 + nbytes);
    m[4] = 5;
    for (uint32_t i = 0; i < p->num_pieces; i++)
        m[5 + i / 8] |= (uint8_t)(0x80u >> (i % 8));
    send_msg(c, m, 5 + nbytes, NULL, 0);
    free(m);
}

static void on_request(conn *c, const uint8_t *msg, uint32_t len)
{
    probe *p = c->p;
    if (len != 13)
        return;
    uint32_t index = get32(msg + 1), begin = get32(msg + 5), n = get32(msg + 9);
    if (index >= p->num_pieces || n > BLOCK || (uint64_t)begin + n > piece_size(p, index))
        return;
    uint8_t hdr[13];
    put32(hdr, 9 + n);
    hdr[4] = 7;
    put32(hdr + 5, index);
    put32(hdr + 9, begin);
    send_msg(c, hdr, sizeof hdr, p->data + (uint64_t)index * p->piece_len + begin, n);
    c->served += n;
}

/* ---- parsing ---- */

static void handle_message(conn *c, const uint8_t *msg, uint32_t len)
{
    if (len == 0)
        return; /* keep-alive */
    switch (msg[0]) {
    case 0:
        if (!c->p->serve)
            on_choke_change(c, true);
        break;
    case 1:
        if (!c->p->serve)
            on_choke_change(c, false);
        break;
    case 6:
        if (c->p->serve)
            on_request(c, msg, len);
        break;
    case 7:
        if (!c->p->serve)
            on_piece(c, msg, len);
        break;
    default:
        break; /* have, bitfield, interested, ...: nothing to do */
    }
}

static void parse(conn *c)
{
    probe *p = c->p;
    size_t pos = 0;
    if (!c->got_handshake) {
        if (c->len < 68)
            return;
        if (c->buf[0] != 19 || memcmp(c->buf + 1, "BitTorrent protocol", 19) != 0 ||
            memcmp(c->buf + 28, p->info_hash, 20) != 0) {
            emit("{\"event\":\"error\",\"why\":\"bad handshake\"}");
            stop(p, 1);
            return;
        }
        c->got_handshake = true;
        char id[41];
        for (int i = 0; i < 20; i++)
            snprintf(id + 2 * i, 3, "%02x", c->buf[48 + i]);
        emit("{\"event\":\"handshake\",\"peer_id\":\"%s\"}", id);
        pos = 68;
        if (p->serve) {
            send_handshake(c);
            send_bitfield(c);
            send_simple(c, 1); /* unchoke */
        } else {
            send_simple(c, 2); /* interested */
        }
    }
    while (c->len - pos >= 4) {
        uint32_t len = get32(c->buf + pos);
        if (len > BLOCK + 64 && len > (p->num_pieces + 7) / 8 + 1) {
            emit("{\"event\":\"error\",\"why\":\"message too long\"}");
            stop(p, 1);
            return;
        }
        if (c->len - pos - 4 < len)
            break;
        handle_message(c, c->buf + pos + 4, len);
        if (p->stopping)
            return;
        pos += 4 + len;
    }
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
}

static void on_alloc(sw_utp_socket *s, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = sw__utp_socket_data(s);
    *buf = uv_buf_init(c->rd, sizeof c->rd);
}

static void on_conn_closed(sw_utp_socket *s)
{
    conn *c = sw__utp_socket_data(s);
    probe *p = c->p;
    conn **pp = &p->conns;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    free(c->buf);
    free(c->have_block);
    free(c);
}

static void on_read(sw_utp_socket *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = sw__utp_socket_data(s);
    if (nread < 0) {
        if (c->p->serve)
            emit("{\"event\":\"closed\",\"served\":%" PRIu64 ",\"why\":\"%s\"}", c->served,
                 uv_err_name((int)nread));
        else if (!c->done) {
            emit("{\"event\":\"error\",\"why\":\"%s\"}", uv_err_name((int)nread));
            stop(c->p, 1);
        }
        sw__utp_close(s, on_conn_closed);
        return;
    }
    if (c->len + (size_t)nread > c->cap) {
        size_t cap = (c->len + (size_t)nread) * 2;
        uint8_t *b = realloc(c->buf, cap);
        if (!b) {
            stop(c->p, 1);
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, buf->base, (size_t)nread);
    c->len += (size_t)nread;
    parse(c);
}

static conn *conn_new(probe *p, sw_utp_socket *s)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->p = p;
    c->s = s;
    c->choked = true;
    c->next = p->conns;
    p->conns = c;
    sw__utp_socket_set_data(s, c);
    return c;
}

static void on_connect(sw_utp_socket *s, int status)
{
    conn *c = sw__utp_socket_data(s);
    if (status < 0) {
        emit("{\"event\":\"error\",\"why\":\"connect: %s\"}", uv_err_name(status));
        stop(c->p, 1);
        return;
    }
    emit("{\"event\":\"connected\"}");
    sw__utp_read_start(s, on_alloc, on_read);
    send_handshake(c);
}

static void on_accept(void *user, sw_utp_socket *s)
{
    probe *p = user;
    conn *c = conn_new(p, s);
    if (!c) {
        sw__utp_close(s, NULL);
        return;
    }
    emit("{\"event\":\"accepted\"}");
    sw__utp_read_start(s, on_alloc, on_read);
}

/* ---- UDP plumbing ---- */

/* UTP_PROBE_TRACE=1 in the environment logs every datagram's header. */
static bool trace;

static void trace_packet(const char *dir, const uint8_t *data, size_t len)
{
    sw_utp_packet pk;
    sw_utp_parse_error why;
    if (!trace)
        return;
    if (sw__utp_packet_parse(data, len, &pk, &why) != 0) {
        fprintf(stderr, "%.6f %s unparsable (%d), %zu bytes\n", (double)uv_hrtime() / 1e9, dir,
                (int)why, len);
        return;
    }
    fprintf(stderr, "%.6f %s %-8s id %5u seq %5u ack %5u wnd %8u diff %10u sack %zu payload %zu\n",
            (double)uv_hrtime() / 1e9, dir, sw__utp_type_name(pk.h.type), pk.h.conn_id, pk.h.seq_nr,
            pk.h.ack_nr, pk.h.wnd_size, pk.h.timestamp_diff_us, pk.sack_len, pk.payload_len);
}

static int udp_send(void *user, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    probe *p = user;
    trace_packet("out", data, len);
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(&p->udp, &b, 1, to);
    return rc < 0 ? rc : 0;
}

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    probe *p = h->data;
    *buf = uv_buf_init((char *)p->rbuf, sizeof p->rbuf);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
    (void)flags;
    probe *p = h->data;
    if (nread > 0)
        trace_packet("in ", (const uint8_t *)buf->base, (size_t)nread);
    if (nread > 0 && addr && p->ctx)
        sw__utp_on_packet(p->ctx, (const uint8_t *)buf->base, (size_t)nread, addr);
}

/* ---- lifetime ---- */

static void stop(probe *p, int code)
{
    if (p->stopping)
        return;
    p->stopping = true;
    p->exit_code = code;
    sw_utp_stats st;
    sw__utp_ctx_stats(p->ctx, &st);
    emit("{\"event\":\"stats\",\"packets_in\":%" PRIu64 ",\"packets_out\":%" PRIu64
         ",\"invalid_in\":%" PRIu64 ",\"resent\":%" PRIu64 ",\"timeouts\":%" PRIu64
         ",\"mtu_probes\":%" PRIu64 ",\"mtu_probes_lost\":%" PRIu64 "}",
         st.packets_in, st.packets_out, st.invalid_pkts_in, st.packet_resend, st.timeout,
         st.mtu_probes, st.mtu_probes_lost + st.mtu_probes_toobig);
    for (conn *c = p->conns; c; c = c->next)
        sw__utp_close(c->s, on_conn_closed);
    sw__utp_ctx_close(p->ctx, NULL, NULL);
    p->ctx = NULL;
    uv_close((uv_handle_t *)&p->udp, NULL);
    uv_close((uv_handle_t *)&p->watchdog, NULL);
    uv_close((uv_handle_t *)&p->drain, NULL);
    if (p->serve)
        uv_close((uv_handle_t *)&p->in, NULL);
}

static void on_drain(uv_timer_t *t)
{
    probe *p = t->data;
    sw_utp_stats st;
    sw__utp_ctx_stats(p->ctx, &st);
    bool fin = st.num_sockets == 0;
    if (!fin && ++p->drain_ticks < 250)
        return;
    emit("{\"event\":\"done\",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"fin_exchanged\":%s,"
         "\"packets_out\":%" PRIu64 ",\"packets_in\":%" PRIu64 ",\"invalid_in\":%" PRIu64 "}",
         p->fetched, p->fetch_secs, fin ? "true" : "false", st.packets_out, st.packets_in,
         st.invalid_pkts_in);
    stop(p, 0);
}

static void on_watchdog(uv_timer_t *t)
{
    emit("{\"event\":\"error\",\"why\":\"watchdog\"}");
    stop(t->data, 2);
}

static void on_stdin_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    probe *p = h->data;
    *buf = uv_buf_init((char *)p->rbuf, 256);
}

static void on_stdin(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        stop(st->data, 0);
}

static int load_file(probe *p, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p->data = malloc(n > 0 ? (size_t)n : 1);
    int rc = p->data && n > 0 && fread(p->data, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
    fclose(f);
    p->size = (uint64_t)n;
    return rc;
}

static int parse_hash(uint8_t out[20], const char *hex)
{
    if (strlen(hex) != 40)
        return -1;
    for (int i = 0; i < 20; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: utp_probe fetch PORT INFO_HASH DATA_FILE PIECE_LENGTH\n"
                    "       utp_probe serve INFO_HASH DATA_FILE PIECE_LENGTH\n");
    return 64;
}

int main(int argc, char **argv)
{
    static probe p;
    int port = 0;
    const char *hash, *file, *plen;
    if (argc == 6 && strcmp(argv[1], "fetch") == 0) {
        port = atoi(argv[2]);
        hash = argv[3];
        file = argv[4];
        plen = argv[5];
    } else if (argc == 5 && strcmp(argv[1], "serve") == 0) {
        p.serve = true;
        hash = argv[2];
        file = argv[3];
        plen = argv[4];
    } else {
        return usage();
    }
    trace = getenv("UTP_PROBE_TRACE") != NULL;
    p.piece_len = (uint32_t)strtoul(plen, NULL, 10);
    if (parse_hash(p.info_hash, hash) != 0 || load_file(&p, file) != 0 || p.piece_len == 0 ||
        p.piece_len % BLOCK)
        return usage();
    p.num_pieces = (uint32_t)((p.size + p.piece_len - 1) / p.piece_len);

    uv_loop_init(&p.loop);
    uv_udp_init(&p.loop, &p.udp);
    p.udp.data = &p;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    if (uv_udp_bind(&p.udp, (struct sockaddr *)&sa, 0) != 0)
        return 1;
    int bufsize = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&p.udp, &bufsize);
    bufsize = 4 << 20;
    uv_send_buffer_size((uv_handle_t *)&p.udp, &bufsize);
    uv_udp_recv_start(&p.udp, on_udp_alloc, on_udp_recv);

    sw_utp_config cfg;
    sw__utp_config_init(&cfg);
    cfg.send = udp_send;
    cfg.on_accept = p.serve ? on_accept : NULL;
    cfg.user = &p;
    if (sw__utp_ctx_new(&p.loop, &cfg, &p.ctx) != 0)
        return 1;
    uv_timer_init(&p.loop, &p.watchdog);
    p.watchdog.data = &p;
    uv_timer_start(&p.watchdog, on_watchdog, 120000, 0);
    uv_timer_init(&p.loop, &p.drain);
    p.drain.data = &p;
    p.start_ns = uv_hrtime();

    if (p.serve) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        uv_udp_getsockname(&p.udp, (struct sockaddr *)&ss, &len);
        emit("{\"event\":\"listening\",\"port\":%d}", ntohs(((struct sockaddr_in *)&ss)->sin_port));
        uv_pipe_init(&p.loop, &p.in, 0);
        p.in.data = &p;
        uv_pipe_open(&p.in, 0);
        uv_read_start((uv_stream_t *)&p.in, on_stdin_alloc, on_stdin);
    } else {
        sw_endpoint to;
        sw__endpoint_from_ip(&to, "127.0.0.1", (uint16_t)port);
        sw_utp_socket *s;
        if (sw__utp_connect(p.ctx, &to, on_connect, NULL, &s) != 0)
            return 1;
        conn *c = conn_new(&p, s);
        c->num_blocks = (uint32_t)((p.size + BLOCK - 1) / BLOCK);
        c->have_block = calloc(c->num_blocks, 1);
    }
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    free(p.data);
    return p.exit_code;
}
