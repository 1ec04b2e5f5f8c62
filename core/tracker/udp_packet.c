/* UDP tracker packets (BEP 15): request builders and the reply parser. All
 * integers are big-endian. Replies may be longer than the fields we read
 * ("do not expect packets to be exactly of a certain size"), so only the
 * minimum lengths are checked. */
#include "tracker_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void store_be64(uint8_t *p, uint64_t v)
{
    sw__store_be32(p, (uint32_t)(v >> 32));
    sw__store_be32(p + 4, (uint32_t)v);
}

static uint64_t load_be64(const uint8_t *p)
{
    return (uint64_t)sw__load_be32(p) << 32 | sw__load_be32(p + 4);
}

static uint64_t clamp_u64(int64_t v)
{
    return v < 0 ? 0 : (uint64_t)v;
}

void sw__udp_tracker_build_connect(uint8_t out[SW_UDP_TRACKER_CONNECT_LEN], uint32_t tid)
{
    store_be64(out, SW_UDP_TRACKER_PROTOCOL_ID);
    sw__store_be32(out + 8, SW_UDP_ACTION_CONNECT);
    sw__store_be32(out + 12, tid);
}

void sw__udp_tracker_build_announce(uint8_t out[SW_UDP_TRACKER_ANNOUNCE_LEN], uint64_t conn_id,
                                    uint32_t tid, const sw_announce_params *p)
{
    store_be64(out, conn_id);
    sw__store_be32(out + 8, SW_UDP_ACTION_ANNOUNCE);
    sw__store_be32(out + 12, tid);
    memcpy(out + 16, p->info_hash, SW_TRACKER_HASH_LEN);
    memcpy(out + 36, p->peer_id, SW_TRACKER_HASH_LEN);
    store_be64(out + 56, clamp_u64(p->downloaded));
    store_be64(out + 64, clamp_u64(p->left));
    store_be64(out + 72, clamp_u64(p->uploaded));
    sw__store_be32(out + 80, (uint32_t)p->event);
    /* The IP field is 0 (use the sender's address) unless announce_ip is a
     * numeric IPv4 address; kept in network order as it is on the wire. */
    uint8_t ip[4] = {0, 0, 0, 0};
    if (p->ip && *p->ip && inet_pton(AF_INET, p->ip, ip) != 1)
        memset(ip, 0, sizeof ip);
    memcpy(out + 84, ip, 4);
    sw__store_be32(out + 88, p->key);
    sw__store_be32(out + 92, p->num_want < 0 ? 0xffffffffu : (uint32_t)p->num_want);
    sw__store_be16(out + 96, p->port);
}

size_t sw__udp_tracker_build_scrape(uint8_t *out, uint64_t conn_id, uint32_t tid,
                                    const uint8_t (*hashes)[SW_TRACKER_HASH_LEN], size_t n)
{
    if (n == 0 || n > SW_UDP_TRACKER_MAX_SCRAPE)
        return 0;
    store_be64(out, conn_id);
    sw__store_be32(out + 8, SW_UDP_ACTION_SCRAPE);
    sw__store_be32(out + 12, tid);
    for (size_t i = 0; i < n; i++)
        memcpy(out + 16 + 20 * i, hashes[i], SW_TRACKER_HASH_LEN);
    return 16 + 20 * n;
}

bool sw__udp_tracker_peek(const uint8_t *pkt, size_t len, uint32_t *action_out, uint32_t *tid_out)
{
    if (!pkt || len < 8)
        return false;
    uint32_t action = sw__load_be32(pkt);
    if (action > SW_UDP_ACTION_ERROR)
        return false;
    *action_out = action;
    *tid_out = sw__load_be32(pkt + 4);
    return true;
}

static int bad(char *err, const char *msg)
{
    if (err)
        snprintf(err, SW_TRACKER_ERRLEN, "%s", msg);
    return SW_ERR_TRACKER_BAD_RESPONSE;
}

int sw__udp_tracker_parse(const uint8_t *pkt, size_t len, int sender_family, uint32_t tid,
                          uint32_t action, sw_udp_tracker_reply *out, char err[SW_TRACKER_ERRLEN])
{
    memset(out, 0, sizeof *out);
    if (err)
        err[0] = '\0';
    if (!pkt || len < 8)
        return bad(err, "UDP reply shorter than 8 bytes");
    uint32_t got_action = sw__load_be32(pkt);
    uint32_t got_tid = sw__load_be32(pkt + 4);
    if (got_tid != tid)
        return bad(err, "UDP reply with another transaction id");
    out->action = got_action;
    out->transaction_id = got_tid;
    if (got_action == SW_UDP_ACTION_ERROR) {
        out->message = pkt + 8;
        out->message_len = len - 8;
        if (err)
            snprintf(err, SW_TRACKER_ERRLEN, "tracker error reply");
        return SW_ERR_TRACKER_FAILURE;
    }
    if (got_action != action)
        return bad(err, "UDP reply with another action");
    switch (action) {
    case SW_UDP_ACTION_CONNECT:
        if (len < 16)
            return bad(err, "UDP connect reply shorter than 16 bytes");
        out->connection_id = load_be64(pkt + 8);
        return 0;
    case SW_UDP_ACTION_ANNOUNCE: {
        if (len < 20)
            return bad(err, "UDP announce reply shorter than 20 bytes");
        out->interval = sw__load_be32(pkt + 8);
        out->leechers = sw__load_be32(pkt + 12);
        out->seeders = sw__load_be32(pkt + 16);
        out->peer_family = sender_family == AF_INET6 ? AF_INET6 : AF_INET;
        size_t stride = out->peer_family == AF_INET6 ? 18 : 6;
        size_t body = len - 20;
        out->peers = pkt + 20;
        out->peers_len = body / stride * stride;
        out->peers_trailing = body % stride;
        return 0;
    }
    case SW_UDP_ACTION_SCRAPE:
        /* 8 bytes is the documented minimum; a reply without even one entry
         * tells us nothing, so the caller checks num_scrape. */
        out->scrape = pkt + 8;
        out->num_scrape = (len - 8) / 12;
        return 0;
    default:
        return bad(err, "UDP request action not supported");
    }
}
