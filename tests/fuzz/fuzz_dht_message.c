/* Fuzz target for DHT messages: the KRPC decoder (whatever it accepts must
 * re-encode and decode to the same message) and a whole node answering the
 * datagram (queries, replies to nothing, BEP 44 puts with signature checks).
 *
 * The node lives for the whole run on a loop that never runs, so its clock
 * stands still (its write token never rotates); rate limits are off so
 * every input reaches the handlers. Queries that carry a token are fed a
 * second time with the node's real token, so announce_peer and put get
 * past the token check into the store and signature code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "dht/dht.h"
#include "dht/krpc.h"

static uint8_t token[SW_KRPC_MAX_TOKEN];
static size_t token_len;

static int discard(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    (void)to;
    /* Every datagram the node sends must itself decode. */
    sw_krpc_msg m;
    if (sw__krpc_decode(data, len, &m) != 0)
        abort();
    if (m.type == SW_KRPC_RESPONSE && (m.has & SW_KRPC_HAS_TOKEN)) {
        memcpy(token, m.token.p, m.token.len);
        token_len = m.token.len;
    }
    sw__krpc_msg_release(&m);
    *(size_t *)user += 1;
    return 0;
}

static const struct sockaddr *source(void)
{
    static struct sockaddr_in from;
    from.sin_family = AF_INET;
    from.sin_port = htons(6881);
    from.sin_addr.s_addr = htonl(0x01020304);
    return (const struct sockaddr *)&from;
}

static sw_dht *node(void)
{
    static uv_loop_t loop;
    static sw_dht *dht;
    static size_t sent;
    if (!dht) {
        uv_loop_init(&loop);
        sw_dht_config cfg;
        sw__dht_config_init(&cfg, &loop, AF_INET, discard, &sent);
        cfg.settings.block_ratelimit = 0;
        cfg.settings.upload_rate_limit = 0;
        if (sw__dht_new(&cfg, &dht) != 0)
            abort();
        static const char ask[] = "d1:ad2:id20:abcdefghij01234567899:info_hash20:"
                                  "mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe";
        sw__dht_on_packet(dht, (const uint8_t *)ask, sizeof ask - 1, source());
        if (token_len == 0)
            abort();
    }
    return dht;
}

static void check_round_trip(const sw_krpc_msg *m)
{
    if (m->type == SW_KRPC_QUERY && m->method == SW_KRPC_UNKNOWN)
        return; /* we never send methods we do not know */
    sw_buf out = {0};
    if (sw__krpc_encode(m, &out) != 0)
        abort();
    sw_krpc_msg again;
    if (sw__krpc_decode(out.data, out.len, &again) != 0)
        abort();
    if (again.type != m->type || again.method != m->method || again.has != m->has ||
        again.tid.len != m->tid.len || memcmp(again.tid.p, m->tid.p, m->tid.len) != 0 ||
        memcmp(again.id.v, m->id.v, 20) != 0 || again.num_values != m->num_values ||
        again.v.len != m->v.len || again.error_code != m->error_code)
        abort();
    sw__krpc_msg_release(&again);
    sw__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same query with the node's valid token. */
static void feed_with_token(sw_dht *dht, sw_krpc_msg *m)
{
    m->token = (sw_krpc_bytes){token, token_len};
    sw_buf out = {0};
    if (sw__krpc_encode(m, &out) == 0)
        sw__dht_on_packet(dht, out.data, out.len, source());
    sw__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_dht *dht = node();
    sw_krpc_msg m;
    if (sw__krpc_decode(data, size, &m) == 0) {
        check_round_trip(&m);
        if (m.type == SW_KRPC_QUERY && (m.has & SW_KRPC_HAS_TOKEN))
            feed_with_token(dht, &m);
        sw__krpc_msg_release(&m);
    }
    sw__dht_on_packet(dht, data, size, source());
    return 0;
}
