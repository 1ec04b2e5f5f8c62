/* uTP path MTU discovery (BEP 29 leaves it to the implementation; this is
 * the scheme libtorrent uses). A socket sends its data in packets of the
 * floor size, a size known (or assumed, the configured packet size) to get
 * through. Now and then one new data packet is made larger, the probe, and
 * sent with the don't-fragment bit: its ACK proves the larger size and makes
 * it the floor; its loss, or the kernel refusing it (UV_EMSGSIZE, larger than
 * the link or the path MTU the kernel learned from ICMP), lowers the ceiling.
 * A lost probe says nothing about congestion, so the window is left alone,
 * and its data goes again as an ordinary packet that the IP layer may
 * fragment. The first probe of a search tries the ceiling itself (most paths
 * take a full Ethernet frame, loopback takes anything), later ones the middle
 * of what is left: a binary search that ends when floor and ceiling are
 * UTP_MTU_RESOLUTION apart, and starts over after UTP_MTU_RESTART_MS. */
#include <string.h>

#include "utp_internal.h"

/* The search ends when floor and ceiling are this close (bytes). */
#define UTP_MTU_RESOLUTION 16u
/* A finished search starts over after this long: routes change. */
#define UTP_MTU_RESTART_MS (10u * 60u * 1000u)
/* IPv6 headers are 20 bytes longer than IPv4's. */
#define UTP_IPV6_EXTRA 20u

static bool is_loopback(const sw_endpoint *ep)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (ep->family == AF_INET)
        return ep->addr[0] == 127;
    return ep->family == AF_INET6 && memcmp(ep->addr, v6_loopback, 16) == 0;
}

static uint32_t clamp_size(uint32_t size)
{
    if (size < UTP_MIN_PACKET_SIZE)
        return UTP_MIN_PACKET_SIZE;
    return size > UTP_MAX_PACKET_SIZE ? UTP_MAX_PACKET_SIZE : size;
}

void sw__utp_mtu_set_floor(sw_utp_socket *s, uint32_t size)
{
    s->packet_size = size;
    s->max_payload = size - SW_UTP_HEADER_SIZE;
}

static bool search_done(const sw_utp_socket *s)
{
    return s->mtu_ceiling < s->packet_size + UTP_MTU_RESOLUTION;
}

static void start_search(sw_utp_socket *s)
{
    s->mtu_ceiling = s->mtu_max;
    s->mtu_first_probe = true;
    s->mtu_restart_ms = 0;
}

/* After each probe: schedule the restart once the search is over. */
static void search_step(sw_utp_socket *s)
{
    s->mtu_probing = false;
    if (search_done(s) && s->ctx->cfg.mtu_discovery)
        s->mtu_restart_ms = uv_now(s->ctx->loop) + UTP_MTU_RESTART_MS;
}

void sw__utp_mtu_init(sw_utp_socket *s)
{
    const sw_utp_config *c = &s->ctx->cfg;
    bool loop = is_loopback(&s->remote);
    uint32_t max = c->max_packet_size;
    if (s->remote.family == AF_INET6 && max > UTP_MIN_PACKET_SIZE + UTP_IPV6_EXTRA)
        max -= UTP_IPV6_EXTRA;
    uint32_t start = loop ? c->loopback_packet_size : c->packet_size;
    if (loop && start > max)
        max = start; /* loopback takes what the remote reads */
    max = clamp_size(max);
    if (start > max)
        start = max;
    sw__utp_mtu_set_floor(s, clamp_size(start));
    s->mtu_max = max;
    start_search(s);
    if (!c->mtu_discovery)
        s->mtu_ceiling = s->packet_size;
}

uint32_t sw__utp_mtu_probe_size(sw_utp_socket *s, uint64_t now_ms)
{
    if (!s->ctx->cfg.mtu_discovery || s->mtu_probing)
        return 0;
    if (s->mtu_restart_ms && now_ms >= s->mtu_restart_ms)
        start_search(s);
    if (search_done(s))
        return 0;
    if (s->mtu_first_probe)
        return s->mtu_ceiling;
    return s->packet_size + (s->mtu_ceiling - s->packet_size + 1) / 2;
}

void sw__utp_mtu_probe_sent(sw_utp_socket *s, utp_out_pkt *p)
{
    p->mtu_probe = true;
    s->mtu_probing = true;
    s->mtu_first_probe = false; /* a raised ceiling sets it again */
    s->mtu_probe_seq = p->seq;
    s->ctx->stats.mtu_probes++;
}

void sw__utp_mtu_probe_acked(sw_utp_socket *s, utp_out_pkt *p)
{
    if (!p->mtu_probe || !s->mtu_probing || p->seq != s->mtu_probe_seq)
        return;
    p->mtu_probe = false;
    uint32_t size = SW_UTP_HEADER_SIZE + p->payload_len;
    if (size > s->packet_size)
        sw__utp_mtu_set_floor(s, size);
    if (s->mtu_ceiling < s->packet_size)
        s->mtu_ceiling = s->packet_size;
    search_step(s);
}

void sw__utp_mtu_probe_failed(sw_utp_socket *s, utp_out_pkt *p, bool too_big)
{
    if (!p->mtu_probe)
        return;
    p->mtu_probe = false;
    if (too_big)
        s->ctx->stats.mtu_probes_toobig++;
    else
        s->ctx->stats.mtu_probes_lost++;
    uint32_t size = SW_UTP_HEADER_SIZE + p->payload_len;
    if (size - 1 < s->mtu_ceiling)
        s->mtu_ceiling = size - 1;
    if (s->mtu_ceiling < s->packet_size)
        s->mtu_ceiling = s->packet_size;
    if (s->mtu_probing && p->seq == s->mtu_probe_seq)
        search_step(s);
}

void sw__utp_mtu_raise_ceiling(sw_utp_socket *s, uint32_t ceiling)
{
    ceiling = clamp_size(ceiling);
    if (!is_loopback(&s->remote) || ceiling <= s->mtu_max)
        return;
    s->mtu_max = ceiling;
    if (!s->ctx->cfg.mtu_discovery) {
        sw__utp_mtu_set_floor(s, ceiling);
        s->mtu_ceiling = ceiling;
        return;
    }
    /* A probe in flight finishes on its own; the new search starts at
     * the new ceiling. */
    s->mtu_ceiling = ceiling;
    s->mtu_first_probe = true;
    s->mtu_restart_ms = 0;
}
